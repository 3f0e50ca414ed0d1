/* fake-zadig: command line, HTTP daemon and shutdown. */
#include "tests/fake-zadig/fake.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

#define MAX_BODY (4 * 1024 * 1024)

/* Per-request state, created by the URI log callback (which sees the raw
 * URI, query included) and freed when the request completes. */
struct conn_ctx {
	char *raw_path;
	char *raw_query;
	bool started;
	char *body;
	size_t len;
	bool too_big;
};

/* MHD's own messages go to the request log; the one it prints for every
 * connection we drop on purpose is noise. */
__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct fz_server *s = cls;
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "Application reported internal error"))
		return;
	msg[strcspn(msg, "\n")] = '\0';
	fz_log(s, "mhd: %s", msg);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct conn_ctx *c = calloc(1, sizeof(*c));
	const char *q;

	(void)cls;
	(void)conn;
	if (!c)
		abort();
	q = strchr(uri, '?');
	if (q) {
		c->raw_path = strndup(uri, (size_t)(q - uri));
		c->raw_query = fz_xstrdup(q + 1);
	} else {
		c->raw_path = fz_xstrdup(uri);
		c->raw_query = fz_xstrdup("");
	}
	if (!c->raw_path)
		abort();
	return c;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *c = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!c)
		return;
	free(c->raw_path);
	free(c->raw_query);
	free(c->body);
	free(c);
	*con_cls = NULL;
}

static bool append_body(struct conn_ctx *c, const char *data, size_t n)
{
	char *p;

	if (c->too_big || n > MAX_BODY - c->len) {
		c->too_big = true;
		return false;
	}
	p = realloc(c->body, c->len + n + 1);
	if (!p)
		abort();
	c->body = p;
	memcpy(c->body + c->len, data, n);
	c->len += n;
	c->body[c->len] = '\0';
	return true;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn,
				  const struct fz_reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (r->len)
		resp = MHD_create_response_from_buffer(r->len, r->body,
						       MHD_RESPMEM_MUST_COPY);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	if (r->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					r->content_type);
	ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct fz_server *s = cls;
	struct conn_ctx *c = *con_cls;
	struct fz_reply r;
	struct fz_request rq;
	enum MHD_Result ret;

	(void)version;
	if (!c) {
		c = on_uri(NULL, url, conn);
		*con_cls = c;
	}
	if (!c->started) {
		c->started = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* Keep reading past the cap so the client gets the 413. */
		append_body(c, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}

	memset(&r, 0, sizeof(r));
	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = url;
	rq.raw_path = c->raw_path;
	rq.raw_query = c->raw_query;
	rq.body = c->body;
	rq.body_len = c->len;
	rq.conn = conn;
	if (c->too_big) {
		fz_reply_text(&r, 413, "text/plain", "request body too large");
		fz_log(s, "%s %s 413", method, c->raw_path);
	} else if (!strncmp(url, "/__fake/", 8)) {
		fz_control_handle(&r, s, &rq);
	} else {
		fz_api_handle(&r, s, &rq);
	}
	if (r.drop)
		ret = MHD_NO;
	else
		ret = send_reply(conn, &r);
	free(r.body);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: fake-zadig [--listen ADDR] [--port N] [--port-file FILE]"
	       " --token TOKEN\n"
	       "                  [--forbidden-token TOKEN] [--generation "
	       "v1.15|v1.17|v1.18]\n"
	       "                  [--steps N] [--final STATUS] [--base-url URL]"
	       " [--log FILE]\n"
	       "                  [--tls-cert FILE --tls-key FILE]"
	       " [--repo-root DIR]\n");
}

struct options {
	const char *listen;
	long port;
	const char *port_file;
	const char *base_url;
	const char *log;
	const char *tls_cert;
	const char *tls_key;
};

static int parse_long(long *out, const char *s, long lo, long hi)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno || !*s || *end || *out < lo || *out > hi)
		return -1;
	return 0;
}

static int parse_args(struct options *o, struct fz_server *s, int argc,
		      char **argv)
{
	static const struct option longs[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"port", required_argument, NULL, 'p'},
	    {"port-file", required_argument, NULL, 'P'},
	    {"token", required_argument, NULL, 't'},
	    {"forbidden-token", required_argument, NULL, 'F'},
	    {"generation", required_argument, NULL, 'g'},
	    {"steps", required_argument, NULL, 's'},
	    {"final", required_argument, NULL, 'f'},
	    {"base-url", required_argument, NULL, 'b'},
	    {"log", required_argument, NULL, 'L'},
	    {"tls-cert", required_argument, NULL, 'C'},
	    {"tls-key", required_argument, NULL, 'K'},
	    {"repo-root", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long steps;
	int ch;

	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o->listen = optarg;
			break;
		case 'p':
			if (parse_long(&o->port, optarg, 0, 65535))
				goto bad;
			break;
		case 'P':
			o->port_file = optarg;
			break;
		case 't':
			s->token = optarg;
			break;
		case 'F':
			s->forbidden = optarg;
			break;
		case 'g':
			if (fz_gen_parse(&s->start.gen, optarg))
				goto bad;
			break;
		case 's':
			if (parse_long(&steps, optarg, 1, 1000))
				goto bad;
			s->start.steps = (int)steps;
			break;
		case 'f':
			if (!*optarg ||
			    strlen(optarg) >= sizeof(s->start.final))
				goto bad;
			snprintf(s->start.final, sizeof(s->start.final), "%s",
				 optarg);
			break;
		case 'b':
			o->base_url = optarg;
			break;
		case 'L':
			o->log = optarg;
			break;
		case 'C':
			o->tls_cert = optarg;
			break;
		case 'K':
			o->tls_key = optarg;
			break;
		case 'R':
			s->repo_root = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc || !s->token || !*s->token ||
	    !o->tls_cert != !o->tls_key)
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

static int write_port_file(const char *file, unsigned port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", file, (long)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%u\n", port);
	if (fclose(f)) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, file)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The whole of a PEM file as a string (MHD wants them in memory). */
static char *slurp(const char *file)
{
	FILE *f = fopen(file, "r");
	char *p = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			char *q = realloc(p, cap + 65536);

			if (!q || cap > (1u << 20)) {
				free(q ? q : p);
				fclose(f);
				return NULL;
			}
			p = q;
			cap += 65536;
		}
		n = fread(p + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	p[len] = '\0';
	return p;
}

int main(int argc, char **argv)
{
	static struct fz_server srv;
	struct options o = {"127.0.0.1", 0, NULL, NULL, NULL, NULL, NULL};
	struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL}};
	char *cert = NULL, *key = NULL;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	pthread_t worker;
	bool worker_started = false;
	sigset_t sigs;
	unsigned port;
	int sig, rc = 1;

	fz_server_init(&srv);
	srv.start.gen = FZ_V115;
	srv.start.steps = 2;
	snprintf(srv.start.final, sizeof(srv.start.final), "passed");
	srv.log = stderr;
	if (parse_args(&o, &srv, argc, argv)) {
		rc = 2;
		goto out;
	}
	srv.cur = srv.start;
	if (o.tls_cert) {
		/* exit 77: the tests skip (automake's convention) */
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			fprintf(stderr, "fake-zadig: error: this libmicrohttpd "
					"has no TLS support\n");
			rc = 77;
			goto out;
		}
		if (!(cert = slurp(o.tls_cert)) || !(key = slurp(o.tls_key))) {
			fprintf(stderr, "fake-zadig: error: cannot read the "
					"TLS certificate or key\n");
			rc = 2;
			goto out;
		}
		flags |= MHD_USE_TLS;
		tls[0] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
		tls[1] =
		    (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
	}

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, o.listen, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)o.port);
		sa = (struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, o.listen, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)o.port);
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		fprintf(stderr, "fake-zadig: error: bad listen address '%s'\n",
			o.listen);
		rc = 2;
		goto out;
	}
	if (o.log) {
		srv.log = fopen(o.log, "a");
		if (!srv.log) {
			srv.log = stderr;
			fprintf(stderr, "fake-zadig: error: cannot open '%s'\n",
				o.log);
			rc = 2;
			goto out;
		}
	}

	/* Threads inherit this mask, so only sigwait below sees the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (pthread_create(&worker, NULL, fz_callback_worker, &srv)) {
		fprintf(stderr, "fake-zadig: error: cannot start a thread\n");
		goto out;
	}
	worker_started = true;
	d = MHD_start_daemon(flags, (uint16_t)o.port, NULL, NULL, on_access,
			     &srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, &srv,
			     MHD_OPTION_SOCK_ADDR, sa,
			     MHD_OPTION_URI_LOG_CALLBACK, on_uri, &srv,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
			     MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "fake-zadig: error: cannot listen on %s:%ld\n",
			o.listen, o.port);
		goto out;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = info ? info->port : (unsigned)o.port;
	if (o.base_url)
		snprintf(srv.base_url, sizeof(srv.base_url), "%s", o.base_url);
	else if (sa->sa_family == AF_INET6)
		snprintf(srv.base_url, sizeof(srv.base_url), "%s://[%s]:%u",
			 cert ? "https" : "http", o.listen, port);
	else
		snprintf(srv.base_url, sizeof(srv.base_url), "%s://%s:%u",
			 cert ? "https" : "http", o.listen, port);
	if (o.port_file && write_port_file(o.port_file, port)) {
		fprintf(stderr, "fake-zadig: error: cannot write '%s'\n",
			o.port_file);
		goto out;
	}
	printf("listening on %s:%u\n", o.listen, port);
	fflush(stdout);

	while (sigwait(&sigs, &sig))
		;
	fz_log(&srv, "signal %d, stopping", sig);
	rc = 0;
out:
	atomic_store(&srv.stop, 1);
	if (d)
		MHD_stop_daemon(d);
	if (worker_started) {
		pthread_mutex_lock(&srv.lock);
		srv.cb_stop = true;
		pthread_cond_signal(&srv.cb_cond);
		pthread_mutex_unlock(&srv.lock);
		pthread_join(worker, NULL);
	}
	fz_server_dispose(&srv);
	free(cert);
	free(key);
	curl_global_cleanup();
	if (srv.log && srv.log != stderr)
		fclose(srv.log);
	return rc;
}
