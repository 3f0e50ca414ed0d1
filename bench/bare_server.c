/* bench helper: the ceiling for bench/receiver.sh. A bare libmicrohttpd
 * server set up like zadig-webhook (two internal epoll threads) that reads
 * each POST body, compares X-Gitlab-Token in constant time and replies 202
 * with a fixed body; nothing is parsed or stored.
 *
 * With --durable FILE it is the floor of "durable before the 202" instead:
 * each accepted request's connection is suspended and queued; a flusher
 * thread appends one 64-byte record per queued request to FILE in one
 * write, flushes it (fdatasync), and resumes the connections, which are
 * then answered. Nothing parsed, no database: what libmicrohttpd and the
 * disk cost a receiver that answers only after a flush (--no-sync: the
 * same without the flush). --overwrite writes the records into a 4 MiB
 * ring the file holds before serving, as SQLite reuses its WAL's blocks:
 * an append also flushes the file's new size (a journal commit), an
 * overwrite only the data. --flushers N runs N flusher threads, each
 * taking what is queued when it is free: N flushes in flight at once.
 *
 * usage: bare_server --token T [--port N] [--port-file FILE] [--threads N]
 *                    [--durable FILE [--no-sync] [--overwrite]
 *                    [--flushers 1-8]]
 * Listens on 127.0.0.1 only; SIGTERM or SIGINT stops it. */
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util/banned.h"

static const char accepted[] = "{\"status\":\"accepted\"}\n";
static const char refused[] = "{\"error\":\"invalid X-Gitlab-Token\"}\n";
static const char stopping[] = "{\"error\":\"stopping\"}\n";

/* One request waiting for the flush (--durable). */
struct pending {
	struct MHD_Connection *conn;
	struct pending *next;
};

struct server {
	const char *token;
	struct MHD_Response *ok, *bad, *stopping;
	/* --durable */
	int fd;
	bool sync;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pending *head, **tail;
	bool stop;
	int flushers;	/* --flushers: flushes in flight at once */
	bool overwrite; /* --overwrite: records into a preallocated ring */
	off_t next;	/* --overwrite: where the next batch goes */
};

/* --overwrite: the ring's size, written and flushed before serving */
#define RING (4 << 20)

/* Marks a request whose headers were seen; the body is then drained. */
static int started;

/* The flusher (--durable): everything queued meanwhile in one write and
 * one flush, then the connections resumed. */
static void *flusher(void *arg)
{
	struct server *s = arg;
	char rec[256 * 64];
	struct pending *batch, *p, *next;
	size_t n;
	off_t off;

	memset(rec, 'e', sizeof(rec));
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->head && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->head)
			break;
		batch = s->head;
		s->head = NULL;
		s->tail = &s->head;
		for (n = 0, p = batch; p; p = p->next)
			n++;
		off = s->next;
		if (s->overwrite) {
			if (off + (off_t)n * 64 > RING)
				off = 0;
			s->next = off + (off_t)n * 64;
		}
		pthread_mutex_unlock(&s->lock);
		while (n) {
			size_t k = n < 256 ? n : 256;
			ssize_t w = s->overwrite
					? pwrite(s->fd, rec, k * 64, off)
					: write(s->fd, rec, k * 64);

			if (w != (ssize_t)(k * 64)) {
				perror("bare_server: write");
				exit(1);
			}
			off += (off_t)k * 64;
			n -= k;
		}
		if (s->sync && fdatasync(s->fd) != 0) {
			perror("bare_server: fdatasync");
			exit(1);
		}
		for (p = batch; p; p = next) {
			next = p->next;
			MHD_resume_connection(p->conn);
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static bool token_equal(const char *got, const char *want)
{
	size_t n = strlen(want), i;
	unsigned char d = 0;

	if (!got || strlen(got) != n)
		return false;
	for (i = 0; i < n; i++)
		d |= (unsigned char)(got[i] ^ want[i]);
	return d == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct server *s = cls;
	struct pending *p;
	const char *tok;

	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	if (!*con_cls) {
		*con_cls = &started;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* read and dropped */
		return MHD_YES;
	}
	if (*con_cls != &started) { /* resumed after the flush */
		p = *con_cls;
		*con_cls = &started;
		free(p);
		return MHD_queue_response(c, MHD_HTTP_ACCEPTED, s->ok);
	}
	tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Gitlab-Token");
	if (!token_equal(tok, s->token))
		return MHD_queue_response(c, MHD_HTTP_UNAUTHORIZED, s->bad);
	if (s->fd < 0)
		return MHD_queue_response(c, MHD_HTTP_ACCEPTED, s->ok);
	if (!(p = calloc(1, sizeof(*p))))
		return MHD_NO;
	p->conn = c;
	*con_cls = p;
	pthread_mutex_lock(&s->lock);
	if (s->stop) { /* the flusher is gone: nothing would resume it */
		pthread_mutex_unlock(&s->lock);
		return MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE,
					  s->stopping);
	}
	MHD_suspend_connection(c);
	*s->tail = p;
	s->tail = &p->next;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return MHD_YES;
}

/* A request ends: forget its con_cls (a pending one never resumed). */
static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	if (*con_cls && *con_cls != &started)
		free(*con_cls);
	*con_cls = NULL;
}

static struct MHD_Response *fixed(const char *body)
{
	struct MHD_Response *r;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
					    MHD_RESPMEM_PERSISTENT);
	if (r)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	return r;
}

static long number(const char *v, const char *name)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (end == v || *end || n < 0 || n > 65535) {
		fprintf(stderr, "bare_server: invalid %s '%s'\n", name, v);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	struct server s = {.fd = -1, .sync = true, .flushers = 1};
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	const char *port_file = NULL, *durable = NULL;
	long port = 0, threads = 2;
	pthread_t flush_thread[8];
	sigset_t set;
	int i, sig;

	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--no-sync") == 0) {
			s.sync = false;
			continue;
		}
		if (strcmp(o, "--overwrite") == 0) {
			s.overwrite = true;
			continue;
		}
		if (!v)
			break;
		i++;
		if (strcmp(o, "--token") == 0)
			s.token = v;
		else if (strcmp(o, "--port") == 0)
			port = number(v, "port");
		else if (strcmp(o, "--port-file") == 0)
			port_file = v;
		else if (strcmp(o, "--threads") == 0)
			threads = number(v, "threads");
		else if (strcmp(o, "--durable") == 0)
			durable = v;
		else if (strcmp(o, "--flushers") == 0)
			s.flushers = (int)number(v, "flushers");
		else
			break;
	}
	if (i != argc || !s.token || threads < 1 || s.flushers < 1 ||
	    s.flushers > 8) {
		fputs("usage: bare_server --token T [--port N] [--port-file "
		      "FILE] [--threads N] [--durable FILE [--no-sync] "
		      "[--overwrite] [--flushers 1-8]]\n",
		      stderr);
		return 2;
	}
	if (durable) {
		s.fd = open(durable,
			    O_WRONLY | O_CREAT | O_CLOEXEC |
				(s.overwrite ? O_TRUNC : O_APPEND),
			    0600);
		if (s.fd < 0) {
			perror(durable);
			return 1;
		}
		if (s.overwrite) { /* the ring's blocks exist before serving */
			static char zero[RING];

			if (write(s.fd, zero, RING) != RING || fsync(s.fd)) {
				perror(durable);
				return 1;
			}
		}
		pthread_mutex_init(&s.lock, NULL);
		pthread_cond_init(&s.cond, NULL);
		s.tail = &s.head;
	}
	s.ok = fixed(accepted);
	s.bad = fixed(refused);
	s.stopping = fixed(stopping);
	if (!s.ok || !s.bad || !s.stopping)
		return 1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	{
		struct sockaddr_in sa;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		d = MHD_start_daemon(
		    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			MHD_USE_ITC | MHD_USE_ERROR_LOG |
			(durable ? MHD_ALLOW_SUSPEND_RESUME : 0),
		    0, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, &sa,
		    MHD_OPTION_CONNECTION_TIMEOUT, 30u,
		    MHD_OPTION_CONNECTION_LIMIT, 512u,
		    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
		    /* a pool of one is no pool (and warned about) */
		    threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
		    (unsigned)threads, MHD_OPTION_END);
	}
	for (i = 0; d && durable && i < s.flushers; i++)
		if (pthread_create(&flush_thread[i], NULL, flusher, &s) != 0) {
			fputs("bare_server: cannot start the flusher\n",
			      stderr);
			return 1;
		}
	if (!d) {
		fputs("bare_server: cannot start the server\n", stderr);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (port_file && info) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		if (!(f = fopen(tmp, "w")) ||
		    fprintf(f, "%u\n", (unsigned)info->port) < 0 ||
		    fclose(f) != 0 || rename(tmp, port_file) != 0) {
			fputs("bare_server: cannot write the port file\n",
			      stderr);
			MHD_stop_daemon(d);
			return 1;
		}
	}
	while (sigwait(&set, &sig) != 0)
		;
	if (durable) {
		pthread_mutex_lock(&s.lock);
		s.stop = true;
		pthread_cond_broadcast(&s.cond);
		pthread_mutex_unlock(&s.lock);
		for (i = 0; i < s.flushers; i++)
			pthread_join(flush_thread[i], NULL);
	}
	MHD_stop_daemon(d);
	MHD_destroy_response(s.ok);
	MHD_destroy_response(s.bad);
	MHD_destroy_response(s.stopping);
	return 0;
}
