/* The unit tests' tiny Zadig (stub.h). */
#include "tests/unit/zadig/stub.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "util/banned.h"

struct route {
	char method[8];
	char path[128];
	unsigned status;
	char body[4096];
	long delay_ms;
	int times;
};

static struct {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	struct route routes[16];
	size_t nroutes;
	char asked[256][192]; /* "METHOD /path" of each request */
	char query[256][256]; /* its query arguments, "k=v&k=v" (decoded) */
	size_t nasked;
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER};

void stub_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static bool fits(const struct route *r, const char *method, const char *url)
{
	size_t n = strlen(r->path);

	if (r->times == 0 || strcmp(r->method, method))
		return false;
	if (n && r->path[n - 1] == '*')
		return !strncmp(r->path, url, n - 1);
	return !strcmp(r->path, url);
}

/* Append one query argument to the query of the request (cls). */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind,
			       const char *key, const char *value)
{
	char *q = cls;
	size_t n = strlen(q);

	(void)kind;
	snprintf(q + n, sizeof(srv.query[0]) - n, "%s%s=%s", n ? "&" : "", key,
		 value ? value : "");
	return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_size, void **con_cls)
{
	static int started;
	struct MHD_Response *resp;
	struct route r = {.status = 404, .body = "404 page not found"};
	enum MHD_Result ret;
	size_t i;

	(void)cls;
	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		*con_cls = &started;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&srv.lock);
	if (srv.nasked < sizeof(srv.asked) / sizeof(srv.asked[0])) {
		srv.query[srv.nasked][0] = '\0';
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg,
					  srv.query[srv.nasked]);
		snprintf(srv.asked[srv.nasked++], sizeof(srv.asked[0]), "%s %s",
			 method, url);
	}
	for (i = 0; i < srv.nroutes; i++) {
		if (fits(&srv.routes[i], method, url)) {
			if (srv.routes[i].times > 0)
				srv.routes[i].times--;
			r = srv.routes[i];
			break;
		}
	}
	pthread_mutex_unlock(&srv.lock);
	if (r.delay_ms)
		stub_sleep_ms(r.delay_ms);
	resp = MHD_create_response_from_buffer(strlen(r.body), r.body,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(c, r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

unsigned short stub_start(void)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	stub_reset();
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
	    NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_END);
	assert_non_null(srv.d);
	info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
	assert_true(info && info->port);
	return info->port;
}

void stub_stop(void)
{
	MHD_stop_daemon(srv.d);
	srv.d = NULL;
	stub_reset();
}

void stub_route(const char *method, const char *path, unsigned status,
		int times, long delay_ms, const char *fmt, ...)
{
	struct route *r;
	va_list ap;

	pthread_mutex_lock(&srv.lock);
	assert_true(srv.nroutes < sizeof(srv.routes) / sizeof(srv.routes[0]));
	r = &srv.routes[srv.nroutes++];
	memset(r, 0, sizeof(*r));
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->status = status;
	r->times = times;
	r->delay_ms = delay_ms;
	va_start(ap, fmt);
	vsnprintf(r->body, sizeof(r->body), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&srv.lock);
}

void stub_reset(void)
{
	pthread_mutex_lock(&srv.lock);
	srv.nroutes = 0;
	srv.nasked = 0;
	pthread_mutex_unlock(&srv.lock);
}

int stub_asked_query(const char *method, const char *path, const char *query)
{
	struct route r = {.times = -1};
	char m[16], u[176];
	size_t i;
	int n = 0;

	snprintf(r.method, sizeof(r.method), "%s", method);
	snprintf(r.path, sizeof(r.path), "%s", path);
	pthread_mutex_lock(&srv.lock);
	for (i = 0; i < srv.nasked; i++)
		if (sscanf(srv.asked[i], "%15s %175s", m, u) == 2 &&
		    fits(&r, m, u) && (!query || !strcmp(srv.query[i], query)))
			n++;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

int stub_asked(const char *method, const char *path)
{
	return stub_asked_query(method, path, NULL);
}
