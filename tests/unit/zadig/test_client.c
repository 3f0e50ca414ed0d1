/* The client against a tiny in-process HTTP server (libmicrohttpd on
 * 127.0.0.1, ephemeral port): keep-alive, retries, caps, timeouts,
 * refused connections, and the token staying out of error messages. */
#include <setjmp.h>
#include <stdarg.h>
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
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "util/banned.h"
#include "util/error.h"
#include "util/value.h"
#include "zadig/zadig.h"

#define TOKEN "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.sig-123456"

struct reply {
	unsigned status;
	const char *body;
	long delay_ms;
	size_t chunked; /* > 0: send this many bytes of 'x', chunked */
};

struct upload {
	char data[8192];
	size_t len;
};

struct server {
	struct MHD_Daemon *d;
	unsigned short port;
	pthread_mutex_t lock;
	struct reply replies[8];
	size_t nreplies, next;
	int requests, connections;
	/* the last request */
	char method[16], path[512], auth[512], agent[128], accept[128];
	char ctype[128], query_key[128], query_task[32], body[8192];
	size_t body_len;
};

static struct server srv;

static void copy(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "");
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static ssize_t chunk_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	size_t total = (size_t)(uintptr_t)cls;
	size_t n = max < 512 ? max : 512;

	if (pos >= total)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n > total - pos)
		n = total - (size_t)pos;
	memset(buf, 'x', n);
	return (ssize_t)n;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload_data,
			       size_t *upload_size, void **con_cls)
{
	struct upload *up = *con_cls;
	struct MHD_Response *resp;
	struct reply r;
	const char *auth;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (!up) {
		if (!(up = calloc(1, sizeof(*up))))
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		if (n > sizeof(up->data) - 1 - up->len)
			n = sizeof(up->data) - 1 - up->len;
		memcpy(up->data + up->len, upload_data, n);
		up->len += n;
		*upload_size = 0;
		return MHD_YES;
	}
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	pthread_mutex_lock(&srv.lock);
	srv.requests++;
	copy(srv.method, sizeof(srv.method), method);
	copy(srv.path, sizeof(srv.path), url);
	copy(srv.auth, sizeof(srv.auth), auth);
	copy(srv.agent, sizeof(srv.agent),
	     MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent"));
	copy(srv.accept, sizeof(srv.accept),
	     MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"));
	copy(srv.ctype, sizeof(srv.ctype),
	     MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"));
	copy(srv.query_key, sizeof(srv.query_key),
	     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
					 "workflowKey"));
	copy(srv.query_task, sizeof(srv.query_task),
	     MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "task_id"));
	memcpy(srv.body, up->data, up->len);
	srv.body[up->len] = '\0';
	srv.body_len = up->len;
	r = srv.replies[srv.next < srv.nreplies ? srv.next : srv.nreplies - 1];
	srv.next++;
	pthread_mutex_unlock(&srv.lock);

	/* Zadig answers a bad token with 401 and no body. */
	if (!auth || strcmp(auth, "Bearer " TOKEN))
		r = (struct reply){401, "", 0, 0};
	if (r.delay_ms)
		sleep_ms(r.delay_ms);
	if (r.chunked)
		resp = MHD_create_response_from_callback(
		    MHD_SIZE_UNKNOWN, 1024, chunk_reader,
		    (void *)(uintptr_t)r.chunked, NULL);
	else
		resp = MHD_create_response_from_buffer(
		    strlen(r.body), (void *)r.body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(c, r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

static void notify(void *cls, struct MHD_Connection *c, void **socket_context,
		   enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)c;
	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&srv.lock);
		srv.connections++;
		pthread_mutex_unlock(&srv.lock);
	}
}

static int setup(void **state)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	(void)state;
	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.lock, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, notify, NULL, MHD_OPTION_END);
	if (!srv.d)
		return -1;
	info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port)
		return -1;
	srv.port = info->port;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(srv.d);
	pthread_mutex_destroy(&srv.lock);
	return 0;
}

static void script(const struct reply *r, size_t n)
{
	pthread_mutex_lock(&srv.lock);
	memcpy(srv.replies, r, n * sizeof(*r));
	srv.nreplies = n;
	srv.next = 0;
	srv.requests = 0;
	srv.connections = 0;
	pthread_mutex_unlock(&srv.lock);
}

static struct zh_zadig *client(unsigned short port, const char *token,
			       struct zh_zadig_opts *o)
{
	struct zh_zadig_opts def = {0};
	struct zh_zadig *z = NULL;
	struct zh_error err = {0};
	char url[64];

	if (!o) {
		def.get_retries = -1;
		o = &def;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u//", port);
	o->url = url;
	o->token = token;
	if (!o->retry_base_ms)
		o->retry_base_ms = 10;
	if (zh_zadig_new(&z, o, &err) < 0)
		fail_msg("%s", err.msg);
	o->url = NULL;
	return z;
}

static void no_token(const struct zh_error *err)
{
	assert_null(strstr(err->msg, TOKEN));
	assert_null(strstr(err->msg, "c2VjcmV0"));
}

static const char detail_body[] =
    "{\"workflow_name\":\"wf\",\"env_name\":\"\",\"status\":\"running\"}";

static void keep_alive_and_requests(void **state)
{
	const struct reply r[] = {
	    {200,
	     "[{\"task_id\":49,\"status\":\"passed\",\"url\":\"http://z/v1/"
	     "projects/detail/p/pipelines/multi/wf/49\"}]",
	     0, 0},
	    {200, detail_body, 0, 0},
	    {200, "{\"message\":\"success\"}", 0, 0},
	    {200,
	     "{\"task_id\":3,\"workflow_name\":\"cw\",\"status\":"
	     "\"passed\",\"project_name\":\"p\",\"stages\":[]}",
	     0, 0},
	    {200,
	     "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
	     "\"task_id\":50}",
	     0, 0},
	    {200, "{\"message\":\"success\"}", 0, 0},
	    {200, "{\"message\":\"success\"}", 0, 0},
	};
	struct zh_zadig *z = client(srv.port, TOKEN, NULL);
	struct zh_zadig_task_list l;
	struct zh_zadig_task t;
	struct zh_zadig_created c;
	struct zh_zadig_repo repo = {"app", "main", 0};
	struct zh_zadig_target tg = {"svc", NULL, &repo, 1};
	struct zh_zadig_product_req req = {0};
	struct zh_error err = {0};
	char base[64], url[128];

	(void)state;
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", srv.port);
	assert_string_equal(zh_zadig_base_url(z), base);
	script(r, sizeof(r) / sizeof(r[0]));

	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "abc123", NULL, &err),
			 0);
	assert_int_equal(l.len, 1);
	assert_int_equal(l.items[0].task_id, 49);
	zh_zadig_task_list_dispose(&l);
	assert_string_equal(srv.method, "GET");
	assert_string_equal(srv.path, "/api/directory/workflowTask");
	assert_string_equal(srv.auth, "Bearer " TOKEN);
	assert_string_equal(srv.accept, "application/json");
	assert_non_null(strstr(srv.agent, "zadig-hook/"));

	assert_int_equal(zh_zadig_product_detail(&t, z, "wf", 49, "p", &err),
			 0);
	assert_string_equal(t.status, "running");
	assert_string_equal(t.raw_json, detail_body);
	assert_non_null(strstr(t.url, "/v1/projects/detail/p/pipelines/multi/"
				      "wf/49"));
	zh_zadig_task_dispose(&t);
	assert_string_equal(srv.path,
			    "/api/directory/workflowTask/id/49/pipelines/wf");

	assert_int_equal(zh_zadig_product_cancel(z, "wf", 49, NULL, &err), 0);
	assert_string_equal(srv.method, "POST");
	assert_string_equal(srv.path, "/api/directory/workflowTask/id/49/"
				      "pipelines/wf/cancel");

	/* the custom detail GET carries the v1.15 JSON body */
	assert_int_equal(zh_zadig_custom_detail(&t, z, "cw", 3, &err), 0);
	assert_true(t.custom);
	assert_string_equal(t.status, "passed");
	zh_zadig_task_dispose(&t);
	assert_string_equal(srv.method, "GET");
	assert_string_equal(srv.query_key, "cw");
	assert_string_equal(srv.query_task, "3");
	assert_string_equal(srv.ctype, "application/json");
	assert_non_null(strstr(srv.body, "\"workflow_key\": \"cw\""));

	req.workflow_name = "wf";
	req.env_name = "dev";
	req.project = "p";
	req.targets = &tg;
	req.ntargets = 1;
	assert_int_equal(zh_zadig_product_create(&c, z, &req, &err), 0);
	assert_int_equal(c.task_id, 50);
	snprintf(url, sizeof(url),
		 "%s/v1/projects/detail/p/pipelines/multi/"
		 "wf/50",
		 base);
	assert_string_equal(c.url, url);
	zh_zadig_created_dispose(&c);
	assert_string_equal(srv.method, "POST");
	assert_string_equal(srv.path, "/api/directory/workflowTask/create");
	assert_non_null(strstr(srv.body, "\"product_tmpl_name\": \"p\""));

	assert_int_equal(zh_zadig_custom_cancel(z, "cw", 3, &err), 0);
	assert_string_equal(srv.method, "DELETE");
	assert_string_equal(srv.query_key, "cw");
	assert_non_null(strstr(srv.body, "\"task_id\": 3"));

	assert_int_equal(
	    zh_zadig_custom_approve(z, "cw", 3, "deploy", true, "lgtm", &err),
	    0);
	assert_string_equal(srv.method, "POST");
	assert_string_equal(srv.path, "/openapi/workflows/custom/task/approve");
	assert_non_null(strstr(srv.body, "\"approve\": true"));

	/* seven calls, one TCP connection */
	assert_int_equal(srv.requests, 7);
	assert_int_equal(srv.connections, 1);
	zh_zadig_free(z);
}

static void get_retries(void **state)
{
	const struct reply r[] = {
	    {503, "", 0, 0},
	    {502, "<html>bad gateway</html>", 0, 0},
	    {200, "[]", 0, 0},
	};
	const struct reply busy[] = {{503, "", 0, 0}};
	struct zh_zadig *z = client(srv.port, TOKEN, NULL);
	struct zh_zadig_task_list l;
	struct zh_error err = {0};

	(void)state;
	script(r, 3);
	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "abc", NULL, &err), 0);
	assert_int_equal(l.len, 0);
	assert_int_equal(srv.requests, 3);

	/* default: two extra tries, then the last answer counts */
	script(busy, 1);
	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "abc", NULL, &err),
			 ZH_EZADIG);
	assert_int_equal(srv.requests, 3);
	assert_int_equal(err.http, 503);
	assert_string_equal(err.msg, "zadig answered HTTP 503 with no body");
	zh_zadig_free(z);
}

static void post_not_retried(void **state)
{
	const struct reply r[] = {{503, "", 0, 0}, {200, "{}", 0, 0}};
	struct zh_zadig *z = client(srv.port, TOKEN, NULL);
	struct zh_zadig_custom_req req = {"p", "w", NULL};
	struct zh_zadig_created c;
	struct zh_error err = {0};

	(void)state;
	script(r, 2);
	assert_int_equal(zh_zadig_custom_create(&c, z, &req, &err), ZH_EZADIG);
	assert_int_equal(err.http, 503);
	assert_int_equal(srv.requests, 1);
	script(r, 2);
	assert_int_equal(zh_zadig_product_restart(z, "w", 1, NULL, &err),
			 ZH_EZADIG);
	assert_int_equal(srv.requests, 1);
	script(r, 2);
	assert_int_equal(zh_zadig_custom_cancel(z, "w", 1, &err), ZH_EZADIG);
	assert_int_equal(srv.requests, 1);
	zh_zadig_free(z);
}

static void body_cap(void **state)
{
	static char big[5001];
	const struct reply r[] = {{200, big, 0, 0}};
	const struct reply chunked[] = {{200, NULL, 0, 5000}};
	const struct reply fits[] = {{200, NULL, 0, 900}};
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z;
	struct zh_zadig_task t;
	struct zh_error err = {0};

	(void)state;
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	o.max_body = 1000;
	o.get_retries = -1;
	z = client(srv.port, TOKEN, &o);

	script(r, 1);
	assert_int_equal(zh_zadig_product_detail(&t, z, "w", 1, NULL, &err),
			 ZH_ETOOBIG);
	assert_non_null(strstr(err.msg, "1000 byte"));
	assert_int_equal(srv.requests, 1); /* not retried */

	script(chunked, 1);
	assert_int_equal(zh_zadig_product_detail(&t, z, "w", 1, NULL, &err),
			 ZH_ETOOBIG);
	assert_non_null(strstr(err.msg, "larger than"));

	/* under the cap: read whole (and not json) */
	script(fits, 1);
	assert_int_equal(zh_zadig_product_detail(&t, z, "w", 1, NULL, &err),
			 ZH_EPROTO);
	zh_zadig_free(z);
}

/* A create Zadig answered 2xx with its JSON but no usable task_id, or
 * with more than the cap: Zadig may have made the task (the caller must
 * not send it again blindly). A page that is not JSON (a proxy's login
 * page) and error answers are not that. */
static void create_answer_unread(void **state)
{
	static char big[5001];
	const struct reply r[] = {
	    {200, "{\"project_name\":\"p\",\"workflow_name\":\"w\"}", 0, 0},
	    {200, "{\"task_id\":1e30}", 0, 0},
	    {200, "{\"task_id\":9223372036854775808}", 0, 0},
	    {200, "<html>Sign in</html>", 0, 0},
	    {200, big, 0, 0},
	    {503, big, 0, 0},
	    {200, "{\"task_id\":5}", 0, 0},
	};
	const int want[] = {ZH_EPROTO,	ZH_EPROTO,  ZH_EPROTO, ZH_EPROTO,
			    ZH_ETOOBIG, ZH_ETOOBIG, 0};
	const bool unread[] = {true, true, true, false, true, false, false};
	struct zh_zadig_custom_req req = {"p", "w", NULL};
	struct zh_zadig_opts o = {0};
	struct zh_zadig_created c;
	struct zh_error err = {0};
	struct zh_zadig *z;
	size_t i;

	(void)state;
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	o.max_body = 1000;
	o.get_retries = -1;
	z = client(srv.port, TOKEN, &o);
	script(r, sizeof(r) / sizeof(r[0]));
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		assert_int_equal(zh_zadig_custom_create(&c, z, &req, &err),
				 want[i]);
		if (zh_zadig_answer_unread(z) != unread[i])
			fail_msg("answer %zu (%s): unread should be %d", i,
				 err.msg, unread[i]);
		zh_zadig_created_dispose(&c);
	}
	assert_false(zh_zadig_answer_unread(NULL));
	zh_zadig_free(z);
}

static void timeout(void **state)
{
	const struct reply r[] = {{200, "{}", 1000, 0}};
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z;
	struct zh_zadig_task t;
	struct zh_error err = {0};
	struct timespec a, b;
	long ms;

	(void)state;
	o.timeout_ms = 300;
	o.get_retries = 0;
	z = client(srv.port, TOKEN, &o);
	script(r, 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(zh_zadig_product_detail(&t, z, "w", 1, NULL, &err),
			 ZH_ETIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 250 && ms < 900);
	assert_string_equal(err.msg, "zadig did not answer within 300ms");
	assert_int_equal(err.http, 0);
	/* the request went out: Zadig may still act on it */
	assert_false(zh_zadig_unsent(z));
	zh_zadig_free(z);
}

static long since_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 +
	       (b.tv_nsec - a->tv_nsec) / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A loopback port that takes connections (the kernel completes them) and
 * never answers: nothing accepts them. The socket, to close. */
static int silent_server(unsigned short *port, int backlog)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A server that never answers: a GET ends by the client's deadline, its
 * tries cut to what is left and no retry started that cannot fit, where
 * each of the three tries took the whole timeout (2 s here: 6 s). */
static void deadline_bounds_a_get(void **state)
{
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z;
	struct zh_zadig_task_list l;
	struct zh_zadig_task t;
	struct zh_error err = {0};
	struct timespec a;
	unsigned short port;
	int fd = silent_server(&port, 16);
	long ms;

	(void)state;
	o.timeout_ms = 2000;
	o.get_retries = -1;
	z = client(port, TOKEN, &o);
	zh_zadig_set_deadline(z, wall_ms() + 500);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "abc", NULL, &err),
			 ZH_ETIMEOUT);
	ms = since_ms(&a);
	if (ms < 400 || ms > 500 + 300)
		fail_msg("the deadline was 500ms away; the GET took %ldms", ms);
	assert_non_null(strstr(err.msg, "zadig did not answer within "));
	assert_false(zh_zadig_unsent(z));

	/* the same client, the deadline gone by: nothing is sent */
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(zh_zadig_product_detail(&t, z, "w", 1, NULL, &err),
			 ZH_ETIMEOUT);
	assert_true(since_ms(&a) < 100);
	assert_string_equal(err.msg, "the deadline came before the request "
				     "was sent to zadig");
	assert_int_equal(err.http, 0);
	assert_true(zh_zadig_unsent(z));

	/* the deadline taken off: the timeout alone */
	zh_zadig_free(z);
	o.timeout_ms = 300;
	o.get_retries = 0;
	z = client(port, TOKEN, &o);
	zh_zadig_set_deadline(z, wall_ms() + 100);
	zh_zadig_set_deadline(z, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(zh_zadig_product_detail(&t, z, "w", 1, NULL, &err),
			 ZH_ETIMEOUT);
	ms = since_ms(&a);
	assert_true(ms >= 250 && ms < 900);
	zh_zadig_free(z);
	close(fd);
}

/* Retries still happen while the deadline leaves time for them; one whose
 * back-off and a try would not fit is not made (nor its back-off slept). */
static void deadline_leaves_time_for_retries(void **state)
{
	const struct reply r[] = {
	    {503, "", 0, 0},
	    {503, "", 0, 0},
	    {200, "[]", 0, 0},
	};
	const struct reply busy[] = {{503, "", 0, 0}};
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z;
	struct zh_zadig_task_list l;
	struct zh_error err = {0};
	struct timespec a;

	(void)state;
	o.get_retries = -1;
	o.retry_base_ms = 300;
	z = client(srv.port, TOKEN, &o);
	zh_zadig_set_deadline(z, wall_ms() + 5000);
	script(r, 3);
	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "abc", NULL, &err), 0);
	assert_int_equal(srv.requests, 3);

	/* 300ms of back-off and a try do not fit in 350ms */
	zh_zadig_set_deadline(z, wall_ms() + 350);
	script(busy, 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "abc", NULL, &err),
			 ZH_EZADIG);
	assert_int_equal(err.http, 503);
	assert_int_equal(srv.requests, 1);
	assert_true(since_ms(&a) < 300);
	zh_zadig_free(z);
}

/* The connect timeout given stays whatever the deadline: a connection
 * the server never takes fails after it, not after the request timeout. */
static void connect_timeout_kept(void **state)
{
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z;
	struct zh_zadig_task t;
	struct zh_error err = {0};
	struct sockaddr_in sa;
	struct timespec a;
	unsigned short port;
	int fd = silent_server(&port, 0), fill[4], i;
	long ms;

	(void)state;
	/* a full accept queue: the kernel drops further connection tries */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fill[i] >= 0);
		(void)connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	sleep_ms(50);
	o.timeout_ms = 5000;
	o.connect_timeout_ms = 300;
	o.get_retries = 0;
	z = client(port, TOKEN, &o);
	zh_zadig_set_deadline(z, wall_ms() + 4000);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(zh_zadig_product_detail(&t, z, "w", 1, NULL, &err),
			 ZH_ETIMEOUT);
	ms = since_ms(&a);
	if (ms < 250 || ms > 1500)
		fail_msg("connect timeout 300ms; the call took %ldms", ms);
	zh_zadig_free(z);
	for (i = 0; i < 4; i++)
		close(fill[i]);
	close(fd);
}

/* No retry that cannot help: v1.18's 500 "Invalid path" (the commitId
 * lookup is gone) and a CA file that cannot be loaded (configuration),
 * where each was asked three times, with back-off. */
static void no_retry_that_cannot_help(void **state)
{
	const struct reply gone[] = {
	    {500,
	     "{\"message\":\"Internal Error: \",\"code\":500,"
	     "\"description\":\"Invalid path\"}",
	     0, 0},
	};
	const struct reply ok[] = {{200, detail_body, 0, 0}};
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z = NULL;
	struct zh_zadig_task_list l;
	struct zh_zadig_task t;
	struct zh_error err = {0};
	struct timespec a;
	char url[64];

	(void)state;
	o.get_retries = -1;
	o.retry_base_ms = 300;
	z = client(srv.port, TOKEN, &o);
	script(gone, 1);
	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "abc", NULL, &err),
			 ZH_ENOTFOUND);
	assert_int_equal(srv.requests, 1);
	zh_zadig_free(z);

	script(ok, 1);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", srv.port);
	o.url = url;
	o.token = TOKEN;
	o.timeout_ms = 3000;
	o.ca_file = "/nonexistent/zadig-ca.pem";
	assert_int_equal(zh_zadig_new(&z, &o, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(zh_zadig_product_detail(&t, z, "w", 1, NULL, &err),
			 ZH_ENET);
	assert_non_null(strstr(err.msg, "zadig.ca_file"));
	if (since_ms(&a) >= 300 || srv.connections > 1)
		fail_msg("tried again: %ldms, %d connections", since_ms(&a),
			 srv.connections);
	zh_zadig_free(z);
}

static unsigned short closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	unsigned short port;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void refused(void **state)
{
	struct zh_zadig *z = client(closed_port(), TOKEN, NULL);
	struct zh_zadig_task_list l;
	struct zh_error err = {0};

	(void)state;
	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "abc", NULL, &err),
			 ZH_ENET);
	assert_non_null(strstr(err.msg, "cannot reach zadig at "
					"http://127.0.0.1:"));
	assert_non_null(strstr(err.msg, ": connection refused"));
	assert_int_equal(err.http, 0);
	no_token(&err);
	assert_true(zh_zadig_unsent(z));
	zh_zadig_free(z);
	assert_false(zh_zadig_unsent(NULL));
}

/* https:// to a server that speaks plain HTTP: the handshake fails, and
 * no request reached the server, so the client says it was not sent. */
static void tls_failure_unsent(void **state)
{
	const struct reply ok[] = {{200, detail_body, 0, 0}};
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z = NULL, *plain;
	struct zh_zadig_task t;
	struct zh_error err = {0};
	char url[64];

	(void)state;
	script(ok, 1);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", srv.port);
	o.url = url;
	o.token = TOKEN;
	o.timeout_ms = 3000;
	assert_int_equal(zh_zadig_new(&z, &o, &err), 0);
	assert_int_equal(zh_zadig_product_detail(&t, z, "w", 1, NULL, &err),
			 ZH_ENET);
	assert_non_null(strstr(err.msg, url));
	assert_true(zh_zadig_unsent(z));
	assert_int_equal(srv.requests, 0);
	no_token(&err);
	zh_zadig_free(z);

	/* an unreadable zadig.ca_file is named in the message */
	o.ca_file = "/nonexistent/zadig-ca.pem";
	assert_int_equal(zh_zadig_new(&z, &o, &err), 0);
	assert_int_equal(zh_zadig_product_detail(&t, z, "w", 1, NULL, &err),
			 ZH_ENET);
	assert_non_null(strstr(err.msg, "zadig.ca_file "
					"'/nonexistent/zadig-ca.pem'"));
	assert_true(zh_zadig_unsent(z));
	assert_int_equal(srv.requests, 0);
	zh_zadig_free(z);

	/* an answer clears it */
	plain = client(srv.port, TOKEN, NULL);
	assert_int_equal(zh_zadig_product_detail(&t, plain, "w", 1, NULL, &err),
			 0);
	zh_zadig_task_dispose(&t);
	assert_false(zh_zadig_unsent(plain));
	zh_zadig_free(plain);
}

static void token_stays_secret(void **state)
{
	const struct reply echo[] = {
	    {400,
	     "{\"code\":6000,\"message\":\"bad header Bearer " TOKEN
	     "\",\"description\":\"" TOKEN "\",\"type\":\"error\"}",
	     0, 0},
	};
	const struct reply gone[] = {
	    {500,
	     "{\"code\":500,\"description\":\"Invalid path\","
	     "\"message\":\"Internal Error: \"}",
	     0, 0},
	};
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z, *bad;
	struct zh_zadig_task_list l;
	struct zh_error err = {0};

	(void)state;
	o.get_retries = 0;
	z = client(srv.port, TOKEN, &o);
	script(echo, 1);
	assert_int_equal(zh_zadig_product_restart(z, "w", 1, NULL, &err),
			 ZH_EZADIG);
	assert_int_equal(err.zadig_code, 6000);
	no_token(&err);
	assert_non_null(strstr(err.msg, "***"));

	/* a wrong token: 401, with the server-side hint */
	bad = client(srv.port, "wrong-token", NULL);
	assert_int_equal(zh_zadig_product_cancel(bad, "w", 1, NULL, &err),
			 ZH_EAUTH);
	assert_int_equal(err.http, 401);
	assert_null(strstr(err.msg, "wrong-token"));
	zh_zadig_free(bad);

	/* v1.18+ lookup gone */
	script(gone, 1);
	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "abc", NULL, &err),
			 ZH_ENOTFOUND);
	assert_string_equal(err.msg, "zadig has no commitId lookup (removed "
				     "in v1.18)");
	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "", NULL, &err),
			 ZH_EINVALID);
	zh_zadig_free(z);
}

/* Zadig's text is cut for messages (the description at 399 bytes, the
 * message at 255, a quoted body at 200, the whole message at 511): a
 * token echoed across a cut must not leave its first bytes behind. */
static void token_straddling_a_cut(void **state)
{
	static const struct {
		unsigned status;
		const char *before, *after;
	} shapes[] = {
	    {502, "", " tail"},
	    {200, "", " tail"}, /* an action's answer, not JSON */
	    {400, "{\"code\":6000,\"description\":\"", "\"}"},
	    {400, "{\"code\":6000,\"message\":\"", "\"}"},
	    {400, "{\"code\":6000,\"message\":\"m\",\"description\":\"", "\"}"},
	    {500, "{\"message\":\"", "\"}"},
	    {500, "{\"resultCode\":7,\"errorMsg\":\"", "\"}"},
	};
	static char pad[600], body[1024];
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z;
	struct zh_error err = {0};
	struct reply r = {0, body, 0, 0};
	size_t i, n;

	(void)state;
	o.get_retries = 0;
	z = client(srv.port, TOKEN, &o);
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		for (n = 150; n < 530; n++) {
			memset(pad, 'A', n);
			pad[n] = '\0';
			snprintf(body, sizeof(body), "%s%s%s%s",
				 shapes[i].before, pad, TOKEN, shapes[i].after);
			r.status = shapes[i].status;
			script(&r, 1);
			memset(&err, 0, sizeof(err));
			assert_true(zh_zadig_product_restart(z, "w", 1, NULL,
							     &err) < 0);
			if (strstr(err.msg, "eyJh") || strstr(err.msg, "c2Vj"))
				fail_msg("HTTP %u, %zu bytes before the token: "
					 "%s",
					 shapes[i].status, n, err.msg);
		}
	}
	zh_zadig_free(z);
}

/* Only the v1.18 answer (500, "Invalid path" in the description) says
 * the lookup is gone; any other 404 or 500 is a failed lookup (a proxy's
 * default backend while Zadig restarts, a Zadig error). */
static void lookup_gone_only_on_invalid_path(void **state)
{
	const struct reply failed[] = {
	    {404, "default backend - 404", 0, 0},
	    {404, "404 page not found", 0, 0},
	    {404, "{\"code\":404,\"description\":\"Invalid path\"}", 0, 0},
	    {500,
	     "{\"code\":500,\"description\":\"db down\","
	     "\"message\":\"Internal Error: \"}",
	     0, 0},
	    {502, "<html>Invalid path</html>", 0, 0},
	};
	const struct reply gone[] = {
	    {500,
	     "{\"message\":\"Internal Error: \",\"code\":500,"
	     "\"description\":\"Invalid path\"}",
	     0, 0},
	};
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z;
	struct zh_zadig_task_list l;
	struct zh_error err = {0};
	size_t i;

	(void)state;
	o.get_retries = 0;
	z = client(srv.port, TOKEN, &o);
	for (i = 0; i < sizeof(failed) / sizeof(failed[0]); i++) {
		script(&failed[i], 1);
		if (zh_zadig_tasks_by_commit(&l, z, "abc", NULL, &err) !=
		    ZH_EZADIG)
			fail_msg("HTTP %u %s: not a failed lookup: %s",
				 failed[i].status, failed[i].body, err.msg);
		assert_int_equal(err.http, (int)failed[i].status);
	}
	script(gone, 1);
	assert_int_equal(zh_zadig_tasks_by_commit(&l, z, "abc", NULL, &err),
			 ZH_ENOTFOUND);
	zh_zadig_free(z);
}

static void bad_options(void **state)
{
	struct zh_zadig_opts o = {0};
	struct zh_zadig *z = NULL;
	struct zh_error err = {0};

	(void)state;
	assert_int_equal(zh_zadig_new(&z, &o, &err), ZH_EINVALID);
	o.url = "ftp://zadig.example.com";
	assert_int_equal(zh_zadig_new(&z, &o, &err), ZH_EINVALID);
	assert_non_null(strstr(err.msg, "http:// or https://"));
	o.url = "zadig.example.com";
	assert_int_equal(zh_zadig_new(&z, &o, &err), ZH_EINVALID);
	o.url = "https://";
	assert_int_equal(zh_zadig_new(&z, &o, &err), ZH_EINVALID);
	assert_null(z);
	o.url = "HTTPS://zadig.example.com/";
	o.token = TOKEN;
	assert_int_equal(zh_zadig_new(&z, &o, &err), 0);
	assert_string_equal(zh_zadig_base_url(z), "HTTPS://zadig.example.com");
	zh_zadig_free(z);
	zh_zadig_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(keep_alive_and_requests, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(get_retries, setup, teardown),
	    cmocka_unit_test_setup_teardown(post_not_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(body_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(create_answer_unread, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(timeout, setup, teardown),
	    cmocka_unit_test(deadline_bounds_a_get),
	    cmocka_unit_test_setup_teardown(deadline_leaves_time_for_retries,
					    setup, teardown),
	    cmocka_unit_test(connect_timeout_kept),
	    cmocka_unit_test_setup_teardown(no_retry_that_cannot_help, setup,
					    teardown),
	    cmocka_unit_test(refused),
	    cmocka_unit_test_setup_teardown(tls_failure_unsent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(token_stays_secret, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(token_straddling_a_cut, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(lookup_gone_only_on_invalid_path,
					    setup, teardown),
	    cmocka_unit_test(bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
