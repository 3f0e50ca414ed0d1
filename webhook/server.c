/* The HTTP side of the receiver (design.md §6): libmicrohttpd with two
 * internal epoll threads. A request only checks, stores and answers: it
 * never calls Zadig or git, so GitLab's 10 s delivery timeout is never
 * at risk and the reply tells the truth about durability.
 *
 * Storing waits for a disk flush (milliseconds), so an HTTP thread never
 * waits for it: the request's connection is suspended and handed to the
 * committer thread, which stores everything queued meanwhile in one
 * transaction (one flush for all the connections) and resumes them; the
 * HTTP thread then answers. */
#include "webhook/webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <pthread.h>

#include "mapping/mapping.h"
#include "util/buf.h"
#include "webhook/auth.h"
#include "webhook/gitlab.h"

#include "util/banned.h"

/* Headers of one connection; bodies are kept in our own capped buffer.
 * libmicrohttpd clears the whole of it before each request of a kept
 * connection: 64 KiB was 4% of the receiver's CPU under load. 16 KiB
 * takes a POST with up to HEADERS_MAX of headers (GitLab sends ~1 KB);
 * more is answered 431. */
#define CONNECTION_MEMORY (16 * 1024)
/* Header bytes a POST may bring: the rest of CONNECTION_MEMORY is room
 * for the answer's headers. Past ~15 KB libmicrohttpd read the headers
 * but had no room left to answer: an event stored and accepted would
 * reach its sender as a dropped connection. */
#define HEADERS_MAX (12 * 1024)
#define CONNECTION_TIMEOUT_S 30
#define CONNECTION_LIMIT 512
/* Of those, one client address may hold this many: one client holding
 * idle connections (or trickling a byte into each before the timeout)
 * kept every other waiting for CONNECTION_TIMEOUT_S, GitLab included.
 * GitLab's deliveries are answered in milliseconds: 128 at once is far
 * more than it sends. */
#define CONNECTION_LIMIT_PER_CLIENT 128
/* /healthz after a refused event: a write this big must fit again */
#define HEALTH_PROBE_BYTES (64 * 1024)
/* An oversized body is read and dropped up to this much past max_body
 * before the 413: a client still sending then reads the answer, where a
 * connection closed on unread data would give it a reset instead. Beyond,
 * the 413 goes at once and the connection closes. */
#define DRAIN_MAX (1024 * 1024)
/* Events per transaction at most (more wait for the next one). */
#define BATCH_MAX 256
/* A batch the store was busy for (another process held its lock past
 * the busy timeout) is tried again this long after, doubling to the
 * second. */
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 1000
/* A try to store waits this long at most, for the store's other users
 * in this process (a worker waiting for another process's lock) and
 * another process's lock together: the store's busy timeout. */
#define STORE_WAIT_MS 5000
/* zh_wh_server_drain: how long past its own limit it waits for the
 * answers to a batch the store was still busy for, given up then */
#define GIVEN_UP_MS 500
/* /healthz while the store is busy */
#define BUSY_TEXT                                                              \
	"state store busy: another process holds its lock; events wait for "   \
	"it\n"
/* WAL pages (4 KiB) after which the checkpointer copies the WAL back into
 * the database (SQLite's own threshold). */
#define CKPT_PAGES 1000

struct request;

struct zh_wh_server {
	struct zh_webhook *w;
	struct MHD_Daemon *mhd;
	int fd;
	/* the committer's queue */
	pthread_t committer;
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct request *qhead, **qtail;
	bool qstop;    /* asked to stop once the queue is empty */
	bool qrunning; /* else requests are stored on the HTTP thread */
	bool started;  /* the committer thread exists */
	/* the committer holds a batch of events the store is busy for: a
	 * GET is answered at once, not queued behind it (under qlock) */
	bool store_busy;
	/* zh_wh_server_drain's limit (zh_wh_mono_ms), 0 before: a batch the
	 * store is still busy for then is answered 503 (under qlock) */
	int64_t give_up_at;
	/* the checkpointer: WAL back into the database, off the commits'
	 * path (zh_store_checkpoint_apart) */
	pthread_t ckpt;
	pthread_cond_t ckcond;
	bool ckstop, ckstarted;
	/* connections with a request on the way: accepted and not yet
	 * past a request, or in one (zh_wh_server_drain waits for them) */
	atomic_int busy;
};

/* What a connection is doing (its socket context): busy from its accept
 * until its request is answered and again from its next request's
 * headers; idle in between (a kept-alive connection) */
struct conn {
	bool busy;
};

/* Set once stopping: answers close their connection, so that a
 * kept-alive client sends its next request to the next receiver. */
static atomic_bool draining;

enum route {
	ROUTE_GITLAB,
	ROUTE_CALLBACK,
	ROUTE_ZADIG,
	ROUTE_HEALTH,  /* GET /healthz: probed by the committer */
	ROUTE_METRICS, /* GET /metrics: the queue depth read by it */
};

enum store_phase {
	STORE_NONE,
	STORE_PENDING, /* queued for the committer, connection suspended */
	STORE_DONE,    /* stored (or refused): answer it */
};

struct request {
	enum route route;
	struct zh_wh_conf *conf; /* one config for the whole request */
	struct zh_buf body;
	size_t max;
	size_t dropped; /* of a body over max (DRAIN_MAX) */
	bool too_big;
	bool answered;
	/* storing the event (store_phase) */
	struct MHD_Connection *conn;
	enum store_phase phase;
	char *key, *kind;
	struct zh_gitlab_event *ev; /* the parse, for the worker */
	bool settled;		    /* stored done: no worker needed */
	char result[320];	    /* when settled (zh_wh_settled) */
	const char *why;	    /* GET /healthz: the answer's text */
	int64_t depth;		    /* GET /metrics: queue depth, < 0 unknown */
	unsigned new_status;
	int store_rc;
	bool duplicate;
	struct request *next; /* in the committer's queue */
};

/* Lines held by this thread (zh_wh_log_hold): a worker's batch. */
static _Thread_local char *log_buf;
static _Thread_local size_t log_size, log_len;

static void log_write(const char *text, size_t len)
{
	/* stderr is unbuffered: one write for the lot, so that threads do
	 * not interleave within a line */
	fwrite(text, 1, len, stderr);
}

void zh_wh_log_hold(char *buf, size_t size)
{
	zh_wh_log_flush();
	log_buf = buf;
	log_size = size;
	log_len = 0;
}

void zh_wh_log_flush(void)
{
	if (log_buf && log_len)
		log_write(log_buf, log_len);
	log_buf = NULL;
	log_size = log_len = 0;
}

void zh_wh_log(const char *fmt, ...)
{
	char line[2048 + 16], *p;
	size_t n;
	va_list ap;
	int k;

	memcpy(line, "zadig-webhook: ", 15);
	va_start(ap, fmt);
	k = vsnprintf(line + 15, 2048, fmt, ap);
	va_end(ap);
	n = 15 + (k < 0 ? 0 : (size_t)k < 2048 ? (size_t)k : 2047);
	/* names and refs come from payloads: a newline in one must not
	 * start a forged log line */
	for (p = line + 15; p < line + n; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	line[n++] = '\n';
	if (log_buf && n <= log_size) {
		if (log_len + n > log_size) {
			log_write(log_buf, log_len);
			log_len = 0;
		}
		memcpy(log_buf + log_len, line, n);
		log_len += n;
		return;
	}
	log_write(line, n);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *type, const char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (atomic_load_explicit(&draining, memory_order_relaxed))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

/* {"error": msg} with msg escaped for JSON. */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status,
				   const char *msg)
{
	struct zh_buf b;
	enum MHD_Result ok;

	zh_buf_init(&b, 4096);
	zh_buf_puts(&b, "{\"error\":");
	zh_buf_json_str(&b, msg);
	zh_buf_puts(&b, "}\n");
	ok = reply(c, status, "application/json", zh_buf_cstr(&b));
	zh_buf_dispose(&b);
	return ok;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status,
				  const char *json)
{
	return reply(c, status, "application/json", json);
}

/* {"id": key, "status": "accepted"}: a handled event or notification.
 * Keys are printable ASCII (zh_webhook_key_valid), '"' and '\\' among
 * them. */
static enum MHD_Result reply_accepted(struct MHD_Connection *c, unsigned status,
				      const char *key)
{
	struct zh_buf b;
	enum MHD_Result ok;

	zh_buf_init(&b, 1024);
	zh_buf_puts(&b, "{\"id\":");
	zh_buf_json_str(&b, key);
	zh_buf_puts(&b, ",\"status\":\"accepted\"}\n");
	ok = reply_json(c, status, zh_buf_cstr(&b));
	zh_buf_dispose(&b);
	return ok;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static void reject(struct zh_webhook *w, enum zh_reject_reason why)
{
	atomic_fetch_add(&w->metrics.rejected[why], 1);
}

static const char *route_path(enum route r)
{
	switch (r) {
	case ROUTE_GITLAB:
		return "/webhook/gitlab";
	case ROUTE_CALLBACK:
		return "/callback/zadig";
	case ROUTE_ZADIG:
		return "/webhook/zadig";
	case ROUTE_HEALTH:
		return "/healthz";
	case ROUTE_METRICS:
		return "/metrics";
	}
	return "?";
}

/* "<what>: N more <unit>s not logged": the lines a limit kept back. */
static void say_not_logged(const char *what, const char *unit, unsigned long n)
{
	if (n)
		zh_wh_log("%s: %lu more %s%s not logged (at most %d lines a "
			  "second)",
			  what, n, unit, n == 1 ? "" : "s",
			  ZH_WH_LOGLIMIT_PER_S);
}

/* Whether a line of l's may be logged now (webhook/loglimit.h); those it
 * kept back in the seconds before are said first. */
static bool may_log(struct zh_wh_loglimit *l, const char *what,
		    const char *unit)
{
	unsigned long report;
	bool ok = zh_wh_loglimit_take(l, zh_store_now_ms(), &report);

	say_not_logged(what, unit, report);
	return ok;
}

void zh_wh_log_refused_flush(struct zh_webhook *w)
{
	int64_t now = zh_store_now_ms();

	say_not_logged("refused", "request",
		       zh_wh_loglimit_flush(&w->refused, now));
	say_not_logged("http", "message",
		       zh_wh_loglimit_flush(&w->http_log, now));
}

/* The client's address, as text, into buf. */
static void client_address(char *buf, size_t size, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	const void *in = NULL;

	if (sa && sa->sa_family == AF_INET)
		in = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa && sa->sa_family == AF_INET6)
		in =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (!in || !inet_ntop(sa->sa_family, in, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

/* Answer a refused request status with {"error": msg}, and log it, so
 * that what a sender's page shows (GitLab's webhook log) can be found:
 * method, path, status, why (the reason the metrics count it under, or
 * what else), the client's address and msg; never a header's value, the
 * query or the body. At most a few lines a second (webhook/loglimit.h):
 * a flood fills no disk. A reply that could not be queued is not
 * logged (the drain of an oversized body asks again). */
static enum MHD_Result refuse(struct zh_webhook *w, struct MHD_Connection *c,
			      const char *method, const char *path,
			      unsigned status, const char *why, const char *msg)
{
	enum MHD_Result ok = reply_error(c, status, msg);
	char addr[INET6_ADDRSTRLEN];

	if (ok == MHD_YES && may_log(&w->refused, "refused", "request")) {
		client_address(addr, sizeof(addr), c);
		zh_wh_log("refused: %s %.200s %u (%s) from %s: %s", method,
			  path, status, why, addr, msg);
	}
	return ok;
}

/* The 413 of q: its limit named, for GitLab's hook log. */
static enum MHD_Result refuse_too_big(struct zh_webhook *w,
				      struct MHD_Connection *c,
				      const char *method, const char *path,
				      const struct request *q)
{
	char msg[96];

	snprintf(msg, sizeof(msg),
		 "body larger than webhook.max_body (%zu bytes)", q->max);
	return refuse(w, c, method, path, MHD_HTTP_CONTENT_TOO_LARGE, "too_big",
		      msg);
}

/* ---- GET ---- */

/* Probe the store for GET /healthz: 0 when it takes a write. After a
 * refused event (a full disk may still have room for a small probe in the
 * store's free pages) the probe writes what a big event needs, and the
 * store is healthy again once that fits. Runs where the store is written
 * (the committer), never on an HTTP thread: a store another process
 * holds locked, or a slow flush, would hold up every request. A lock
 * held past the busy timeout is said as such: the store is not full. */
static int health_probe(struct zh_webhook *w, const char **why)
{
	struct zh_error err = {0};
	bool failing = atomic_load(&w->intake_failing);
	int rc;

	if ((rc = zh_store_ping(w->store, zh_store_now_ms(),
				failing ? HEALTH_PROBE_BYTES : 0, &err)) < 0) {
		zh_wh_log("healthz: %s", err.msg);
		*why = rc == ZH_EBUSY ? BUSY_TEXT
		       : failing      ? "state store refuses new events\n"
				      : "state store not writable\n";
		return -1;
	}
	if (failing)
		atomic_store(&w->intake_failing, false);
	*why = "ok\n";
	return 0;
}

static enum MHD_Result answer_health(struct MHD_Connection *c,
				     const struct request *q)
{
	return reply(
	    c, q->store_rc < 0 ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK,
	    "text/plain", q->why);
}

/* Triggers not delivered plus events not processed, -1 when the store
 * cannot say. Read by the committer, as the health probe is: the store
 * is one connection, and while another thread waits for a lock another
 * process holds, a read here would wait with it. */
static int64_t queue_depth(struct zh_webhook *w)
{
	int64_t q = 0, e = 0;

	if (zh_store_queue_depth(&q, w->store, NULL) < 0 ||
	    zh_store_events_pending(&e, w->store, NULL) < 0)
		return -1;
	return q + e;
}

static enum MHD_Result metrics(struct zh_webhook *w, struct MHD_Connection *c,
			       int64_t depth)
{
	struct zh_buf b;
	enum MHD_Result ok;

	zh_buf_init(&b, 1024 * 1024);
	if (zh_metrics_render(&b, &w->metrics, depth) < 0) {
		zh_buf_dispose(&b);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				   "cannot render metrics");
	}
	ok =
	    reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", zh_buf_cstr(&b));
	zh_buf_dispose(&b);
	return ok;
}

/* ---- POST /webhook/gitlab ---- */

static bool handled_event(const char *ev)
{
	return ev && (strcmp(ev, "Push Hook") == 0 ||
		      strcmp(ev, "Tag Push Hook") == 0 ||
		      strcmp(ev, "Merge Request Hook") == 0 ||
		      strcmp(ev, "System Hook") == 0);
}

/* Count and log q once the store took it (store_rc, duplicate), err
 * what it said: where it is decided, since a sender that gave up waiting
 * (GitLab after 10 s) never reads the answer. */
static void stored_counted(struct zh_webhook *w, const struct request *q,
			   const struct zh_error *err)
{
	if (q->store_rc == ZH_EBUSY) {
		/* still busy when the receiver stopped */
		reject(w, ZH_REJECT_STORE);
		zh_wh_log("key=%s result=refused: %s; not stored: the receiver "
			  "stopped first",
			  q->key, err->msg);
	} else if (q->store_rc < 0) {
		reject(w, ZH_REJECT_STORE);
		zh_wh_log("key=%s result=refused: %s", q->key, err->msg);
	} else if (q->duplicate) {
		atomic_fetch_add(&w->metrics.duplicates, 1);
		zh_wh_log("key=%s result=duplicate", q->key);
	} else {
		atomic_fetch_add(&w->metrics.accepted, 1);
	}
}

/* The answer once the committer stored q: 202 (or new_status) new,
 * 200 duplicate, 503 store. */
static enum MHD_Result answer_stored(struct MHD_Connection *c,
				     const struct request *q)
{
	if (q->store_rc == ZH_EBUSY)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "the state store is busy (another process "
				   "holds it locked) and the receiver stopped "
				   "first: the event is not stored, send it "
				   "again");
	if (q->store_rc < 0)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "the state store cannot take the event");
	if (q->duplicate)
		return reply_json(c, MHD_HTTP_OK,
				  "{\"status\":\"duplicate\"}\n");
	return reply_accepted(c, q->new_status, q->key);
}

/* What the store is given for q, received at now_ms. */
static void event_in(struct zh_store_event_in *in, const struct request *q,
		     int64_t now_ms)
{
	memset(in, 0, sizeof(*in));
	in->key = q->key;
	in->kind = q->kind;
	in->payload = q->body.ptr ? q->body.ptr : "";
	in->payload_len = q->body.len;
	in->now_ms = now_ms;
	in->done = q->settled ? q->result : NULL;
}

/* The stored event q, fresh: settled at once (its log line, as a
 * worker would write it), or handed to the workers with its parse. */
static void stored_fresh(struct zh_webhook *w, struct request *q, int64_t id)
{
	if (q->settled) {
		zh_wh_log_settled(q->key, q->ev, q->result);
		return;
	}
	if (q->ev && id > 0) {
		zh_wh_parsed_put(&w->parsed, id, q->ev,
				 sizeof(*q->ev) + zh_gitlab_event_bytes(q->ev));
		q->ev = NULL;
	}
}

static bool is_get(const struct request *q)
{
	return q->route == ROUTE_HEALTH || q->route == ROUTE_METRICS;
}

enum enqueued {
	ENQUEUED,
	ENQ_STOPPED, /* the committer has stopped */
	ENQ_BUSY,    /* a GET, while the store is busy (store_busy) */
};

/* Hand q to the committer with its connection suspended (answered when
 * it is resumed), unless it has stopped, or q is a GET and the store is
 * busy: that is answered at once. */
static enum enqueued enqueue(struct zh_wh_server *s, struct MHD_Connection *c,
			     struct request *q)
{
	q->conn = c;
	pthread_mutex_lock(&s->qlock);
	if (!s->qrunning || (s->store_busy && is_get(q))) {
		pthread_mutex_unlock(&s->qlock);
		return s->qrunning ? ENQ_BUSY : ENQ_STOPPED;
	}
	q->phase = STORE_PENDING;
	MHD_suspend_connection(c);
	*s->qtail = q;
	s->qtail = &q->next;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	return ENQUEUED;
}

/* GET /healthz: probed by the committer (health_probe), or here once it
 * has stopped; busy at once while it waits for a busy store. */
static enum MHD_Result healthz(struct zh_wh_server *s, struct MHD_Connection *c,
			       struct request *q)
{
	q->route = ROUTE_HEALTH;
	switch (enqueue(s, c, q)) {
	case ENQUEUED:
		return MHD_YES;
	case ENQ_BUSY:
		q->store_rc = ZH_EBUSY;
		q->why = BUSY_TEXT;
		break;
	case ENQ_STOPPED:
		q->store_rc = health_probe(s->w, &q->why);
		break;
	}
	return answer_health(c, q);
}

/* GET /metrics: the queue depth read by the committer, or here once it
 * has stopped; none while it waits for a busy store. */
static enum MHD_Result metrics_get(struct zh_wh_server *s,
				   struct MHD_Connection *c, struct request *q)
{
	q->route = ROUTE_METRICS;
	switch (enqueue(s, c, q)) {
	case ENQUEUED:
		return MHD_YES;
	case ENQ_BUSY:
		return metrics(s->w, c, -1);
	case ENQ_STOPPED:
		break;
	}
	return metrics(s->w, c, queue_depth(s->w));
}

/* Store the event durably, then answer (answer_stored). Normally queued
 * for the committer with the connection suspended (answered when it is
 * resumed); stored here when the committer has stopped. */
static enum MHD_Result store_event(struct zh_wh_server *s,
				   struct MHD_Connection *c, struct request *q,
				   const char *key, const char *kind,
				   unsigned new_status)
{
	struct zh_store_event_in in;
	struct zh_error err = {0};

	q->key = strdup(key);
	q->kind = strdup(kind);
	if (!q->key || !q->kind)
		return MHD_NO;
	q->new_status = new_status;
	if (enqueue(s, c, q) == ENQUEUED)
		return MHD_YES;
	event_in(&in, q, zh_store_now_ms());
	q->store_rc = zh_store_event_add_in(&in, s->w->store, &err);
	q->duplicate = in.duplicate;
	if (q->store_rc != ZH_EBUSY)
		atomic_store(&s->w->intake_failing, q->store_rc < 0);
	stored_counted(s->w, q, &err);
	if (q->store_rc == 0 && !q->duplicate) {
		stored_fresh(s->w, q, in.id);
		if (!q->settled)
			zh_wh_wake(s->w, true, false);
	}
	q->phase = STORE_DONE;
	return answer_stored(c, q);
}

/* Answer the GET q (its connection suspended) without the store, busy:
 * after which it is not ours. */
static void answer_get_busy(struct request *q)
{
	struct MHD_Connection *c = q->conn;

	q->store_rc = ZH_EBUSY;
	q->why = BUSY_TEXT;
	q->depth = -1;
	q->phase = STORE_DONE;
	MHD_resume_connection(c);
}

/* The store is busy: the GETs queued behind the committer are answered
 * at once, and those coming from now on are not queued (enqueue) until
 * store_busy is set back. */
static void store_busy(struct zh_wh_server *s)
{
	struct request *gets = NULL, **gt = &gets, **p, *q;

	pthread_mutex_lock(&s->qlock);
	s->store_busy = true;
	for (p = &s->qhead; (q = *p);) {
		if (!is_get(q)) {
			p = &q->next;
			continue;
		}
		*p = q->next;
		q->next = NULL;
		*gt = q;
		gt = &q->next;
	}
	s->qtail = p;
	pthread_mutex_unlock(&s->qlock);
	while ((q = gets)) {
		gets = q->next;
		answer_get_busy(q);
	}
}

/* How long a try to store may wait for the store: STORE_WAIT_MS or,
 * once zh_wh_server_drain has begun, what is left of it when less; -2
 * when that is over or the committer is stopping. */
static int64_t store_wait(struct zh_wh_server *s)
{
	int64_t left = STORE_WAIT_MS, rest;

	pthread_mutex_lock(&s->qlock);
	rest = s->give_up_at ? s->give_up_at - zh_wh_mono_ms() : left;
	if (s->qstop || rest <= 0)
		left = -2;
	else if (rest < left)
		left = rest;
	pthread_mutex_unlock(&s->qlock);
	return left;
}

/* Sleep ms, less when zh_wh_server_drain's limit comes first. */
static void pause_ms(struct zh_wh_server *s, int64_t ms)
{
	int64_t until = zh_wh_mono_ms() + ms, now;

	pthread_mutex_lock(&s->qlock);
	while (!s->qstop && (now = zh_wh_mono_ms()) < until &&
	       (!s->give_up_at || now < s->give_up_at))
		zh_wh_cond_wait_ms(&s->qcond, &s->qlock,
				   (s->give_up_at && s->give_up_at < until
					? s->give_up_at
					: until) -
				       now);
	pthread_mutex_unlock(&s->qlock);
}

/* The nev events in, first tried at t0, were refused by a busy store
 * (another process held its lock past the busy timeout): tried again
 * 100 ms later, doubling to a second, until the store takes them or
 * refuses them for another reason, their connections suspended all the
 * while. A sender that gives up waiting (GitLab, after 10 s) finds them
 * stored all the same, a resend a duplicate. Only the receiver stopping
 * ends the wait (zh_wh_server_drain's limit): then ZH_EBUSY. */
static int store_when_free(struct zh_wh_server *s, struct zh_store_event_in *in,
			   size_t nev, int64_t t0, struct zh_error *err)
{
	int64_t delay = RETRY_MIN_MS, wait;
	int rc = ZH_EBUSY;

	zh_wh_log("the state store is busy: %zu event%s wait%s for it (%s)",
		  nev, nev == 1 ? "" : "s", nev == 1 ? "s" : "", err->msg);
	store_busy(s);
	for (;;) {
		pause_ms(s, delay);
		if ((wait = store_wait(s)) == -2)
			break;
		rc = zh_store_event_add_batch_wait(in, nev, wait, s->w->store,
						   err);
		if (rc != ZH_EBUSY)
			break;
		delay = delay * 2 < RETRY_MAX_MS ? delay * 2 : RETRY_MAX_MS;
	}
	pthread_mutex_lock(&s->qlock);
	s->store_busy = false;
	pthread_mutex_unlock(&s->qlock);
	if (rc == 0)
		zh_wh_log("the state store took %zu event%s after %.1f s", nev,
			  nev == 1 ? "" : "s",
			  (double)(zh_wh_mono_ms() - t0) / 1000);
	return rc;
}

/* Store the events of q[0..*n) in one transaction (in, nev), waiting for
 * a busy store as long as it takes (store_when_free); the GETs among q
 * do not wait with them: answered and taken out of q. Once stopping,
 * what came in the drain's last moments gets a short try. */
static int store_batch(struct zh_wh_server *s, struct request **q, size_t *n,
		       struct zh_store_event_in *in, size_t nev,
		       struct zh_error *err)
{
	int64_t t0 = zh_wh_mono_ms(), wait = store_wait(s);
	size_t i, k;
	int rc;

	rc = zh_store_event_add_batch_wait(
	    in, nev, wait < GIVEN_UP_MS ? GIVEN_UP_MS : wait, s->w->store, err);
	if (rc != ZH_EBUSY)
		return rc;
	for (i = k = 0; i < *n; i++) {
		if (is_get(q[i]))
			answer_get_busy(q[i]);
		else
			q[k++] = q[i];
	}
	*n = k;
	return wait == -2 ? rc : store_when_free(s, in, nev, t0, err);
}

/* Store up to BATCH_MAX queued requests from *list in one transaction,
 * then resume their connections (after which they are not ours). */
static void commit_some(struct zh_wh_server *s, struct request **list)
{
	struct zh_store_event_in in[BATCH_MAX];
	struct MHD_Connection *conn[BATCH_MAX];
	char logs[16384];
	struct request *q[BATCH_MAX];
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms();
	size_t n = 0, nev = 0, nhealth = 0, nmetrics = 0, i, e;
	const char *why = NULL;
	bool fresh = false;
	int rc = 0, hrc = 0;
	int64_t depth = -1;

	for (; *list && n < BATCH_MAX; *list = (*list)->next, n++) {
		q[n] = *list;
		if (q[n]->route == ROUTE_HEALTH)
			nhealth++;
		else if (q[n]->route == ROUTE_METRICS)
			nmetrics++;
		else
			event_in(&in[nev++], q[n], now);
	}
	if (nev) {
		rc = store_batch(s, q, &n, in, nev, &err);
		/* busy is not full: /healthz does not say so */
		if (rc != ZH_EBUSY)
			atomic_store(&s->w->intake_failing, rc < 0);
		/* the GETs left (none once the store was busy) */
		for (i = 0, nhealth = nmetrics = 0; i < n; i++) {
			nhealth += q[i]->route == ROUTE_HEALTH;
			nmetrics += q[i]->route == ROUTE_METRICS;
		}
	}
	/* one probe answers every health check queued meanwhile */
	if (nhealth)
		hrc = health_probe(s->w, &why);
	/* and one read of the queue depth every scrape */
	if (nmetrics)
		depth = queue_depth(s->w);
	/* the batch's log lines in one write, before the replies */
	zh_wh_log_hold(logs, sizeof(logs));
	for (i = 0, e = 0; i < n; i++) {
		conn[i] = q[i]->conn;
		q[i]->phase = STORE_DONE;
		if (q[i]->route == ROUTE_HEALTH) {
			q[i]->store_rc = hrc;
			q[i]->why = why;
			continue;
		}
		if (q[i]->route == ROUTE_METRICS) {
			q[i]->depth = depth;
			continue;
		}
		q[i]->store_rc = rc;
		q[i]->duplicate = in[e].duplicate;
		stored_counted(s->w, q[i], &err);
		if (rc == 0 && !in[e].duplicate) {
			stored_fresh(s->w, q[i], in[e].id);
			fresh = fresh || !q[i]->settled;
		}
		e++;
	}
	zh_wh_log_flush();
	if (fresh)
		zh_wh_wake(s->w, true, false);
	for (i = 0; i < n; i++)
		MHD_resume_connection(conn[i]);
	if (zh_store_wal_pages(s->w->store) >= CKPT_PAGES) {
		pthread_mutex_lock(&s->qlock);
		pthread_cond_signal(&s->ckcond);
		pthread_mutex_unlock(&s->qlock);
	}
}

/* Checkpoints the WAL when it has grown (told by the committer; the
 * workers' commits are seen within a second) or, once, when idle. */
static void *checkpointer(void *arg)
{
	struct zh_wh_server *s = arg;
	int pages, done_at = 0;

	prctl(PR_SET_NAME, "zh-ckpt", 0, 0, 0);
	pthread_mutex_lock(&s->qlock);
	while (!s->ckstop) {
		struct zh_error err = {0};

		pages = zh_store_wal_pages(s->w->store);
		if (pages < CKPT_PAGES) {
			if (zh_wh_cond_wait_ms(&s->ckcond, &s->qlock, 1000) ==
				0 ||
			    s->ckstop)
				continue;
			pages = zh_store_wal_pages(s->w->store);
			if (!pages || pages == done_at)
				continue;
		}
		pthread_mutex_unlock(&s->qlock);
		if (zh_store_checkpoint(s->w->store, &err) < 0)
			zh_wh_log("checkpoint: %s", err.msg);
		done_at = pages;
		pthread_mutex_lock(&s->qlock);
		/* no busy loop while a reader holds the WAL */
		if (zh_store_wal_pages(s->w->store) >= pages && !s->ckstop)
			zh_wh_cond_wait_ms(&s->ckcond, &s->qlock, 100);
	}
	pthread_mutex_unlock(&s->qlock);
	return NULL;
}

static void *committer(void *arg)
{
	struct zh_wh_server *s = arg;
	struct request *list;

	/* shown by top -H and read by bench/receiver.sh */
	prctl(PR_SET_NAME, "zh-commit", 0, 0, 0);
	for (;;) {
		pthread_mutex_lock(&s->qlock);
		while (!s->qhead && !s->qstop)
			pthread_cond_wait(&s->qcond, &s->qlock);
		list = s->qhead;
		s->qhead = NULL;
		s->qtail = &s->qhead;
		if (!list) {
			/* stopping and nothing left: later requests store
			 * on their own thread */
			s->qrunning = false;
			pthread_mutex_unlock(&s->qlock);
			return NULL;
		}
		pthread_mutex_unlock(&s->qlock);
		while (list)
			commit_some(s, &list);
	}
}

/* What a worker is to read of q's event, in place of its body: the
 * fields the parse keeps, as a body of the same kind (zh_gitlab_compact;
 * a 2.6 KB push is ~840 bytes, a 6.4 KB merge request ~520), so that the
 * commit that stores it writes a fraction of the pages. Left as it came
 * when that fails. */
static void compact_body(struct request *q)
{
	struct zh_buf b;

	zh_buf_init(&b, q->max);
	if (zh_gitlab_compact(&b, q->ev) < 0) {
		zh_buf_dispose(&b);
		return;
	}
	zh_buf_dispose(&q->body);
	q->body = b;
}

static enum MHD_Result gitlab(struct zh_wh_server *s, struct MHD_Connection *c,
			      struct request *q)
{
	struct zh_webhook *w = s->w;
	const struct zh_config *cfg = q->conf->cfg;
	struct zh_gitlab_event *ev;
	struct zh_error err = {0};
	const char *key;
	char bkey[ZH_WEBHOOK_BODY_KEY_LEN + 1];
	char ukey[256]; /* a UUID of 200 characters at most, ':', 16 */
	bool by_uuid;
	int rc;

	if (cfg->webhook.signing_key &&
	    zh_webhook_verify_signature(
		cfg->webhook.signing_key, header(c, "webhook-id"),
		header(c, "webhook-timestamp"), header(c, "webhook-signature"),
		q->body.ptr ? q->body.ptr : "", q->body.len,
		(int64_t)time(NULL), &err) < 0) {
		reject(w, ZH_REJECT_SIGNATURE);
		return refuse(w, c, "POST", route_path(q->route),
			      MHD_HTTP_UNAUTHORIZED, "signature", err.msg);
	}
	if (!handled_event(header(c, "X-Gitlab-Event"))) {
		atomic_fetch_add(&w->metrics.ignored, 1);
		return reply_json(c, MHD_HTTP_ACCEPTED,
				  "{\"status\":\"ignored\"}\n");
	}
	/* kept in q (freed with it) until the committer hands it on */
	if (!(q->ev = ev = malloc(sizeof(*ev))))
		return MHD_NO;
	rc = zh_gitlab_parse(ev, q->body.ptr ? q->body.ptr : "", q->body.len,
			     &err);
	if (rc < 0) {
		reject(w, ZH_REJECT_BAD_JSON);
		return refuse(w, c, "POST", route_path(q->route),
			      MHD_HTTP_BAD_REQUEST, "bad_json", err.msg);
	}
	if (ev->kind == ZH_GITLAB_OTHER) {
		atomic_fetch_add(&w->metrics.ignored, 1);
		return reply_json(c, MHD_HTTP_ACCEPTED,
				  "{\"status\":\"ignored\"}\n");
	}
	key = header(c, "Idempotency-Key");
	if ((by_uuid = !key || !*key))
		key = header(c, "X-Gitlab-Event-UUID");
	if (key && *key && !zh_webhook_key_valid(key)) {
		reject(w, ZH_REJECT_BAD_JSON);
		return refuse(w, c, "POST", route_path(q->route),
			      MHD_HTTP_BAD_REQUEST, "bad_json",
			      "invalid delivery key (Idempotency-Key or "
			      "X-Gitlab-Event-UUID)");
	}
	if (!key || !*key || by_uuid)
		zh_webhook_body_key(bkey, q->body.ptr ? q->body.ptr : "",
				    q->body.len);
	if (!key || !*key) {
		key = bkey;
	} else if (by_uuid) {
		/* GitLab gives every hook a request causes that request's
		 * UUID (a bot pushing two branches in answer to a webhook
		 * sends two events with one): the body tells them apart,
		 * and a Resend carries the same body */
		snprintf(ukey, sizeof(ukey), "%s:%.16s", key, bkey + 7);
		key = ukey;
	}
	/* judged by the configuration it arrived under */
	q->settled = zh_wh_settled(cfg, ev, q->result, sizeof(q->result));
	if (!q->settled)
		compact_body(q);
	return store_event(s, c, q, key, ev->object_kind, MHD_HTTP_ACCEPTED);
}

/* ---- POST /callback/zadig ---- */

static bool callback_valid(const struct zh_config *cfg, const char *k,
			   const char *s)
{
	char *want = NULL;
	bool ok;

	if (!cfg->webhook.secret || !k || !*k || !s || !*s ||
	    zh_mapping_sign(&want, cfg->webhook.secret, k) < 0)
		return false;
	ok = zh_webhook_secret_equal(s, want);
	free(want);
	return ok;
}

/* Hand a verified hint to the workers (work.c, take_hints), which do its
 * store work: never here, where a store another process holds locked
 * would hold up every request. One that does not fit is dropped: counted,
 * and logged at the first drop, then once a minute at most. */
static void queue_hint(struct zh_webhook *w, enum zh_wh_hint_kind kind,
		       const char *key, const char *workflow, int64_t task_id)
{
	unsigned long report = 0;

	if (zh_wh_hints_put(&w->hints, kind, key, workflow, task_id,
			    zh_store_now_ms(), &report) == 0) {
		zh_wh_wake(w, true, false);
		return;
	}
	atomic_fetch_add(&w->metrics.hints_dropped, 1);
	if (report)
		zh_wh_log("the queue of hints is full: %lu callback%s or "
			  "notification%s dropped (the poll rounds still "
			  "find their tasks' status)",
			  report, report == 1 ? "" : "s",
			  report == 1 ? "" : "s");
}

/* ---- POST /webhook/zadig ---- */

static enum MHD_Result zadig_notify(struct zh_wh_server *s,
				    struct MHD_Connection *c, struct request *q)
{
	struct zh_webhook *w = s->w;
	struct zh_error err = {0};
	char *wf = NULL;
	int64_t id;
	const char *uuid = header(c, "X-Zadig-Event-UUID");
	char key[300];

	if (zh_gitlab_parse_zadig(&wf, &id, q->body.ptr ? q->body.ptr : "",
				  q->body.len, &err) < 0) {
		reject(w, ZH_REJECT_BAD_JSON);
		return refuse(w, c, "POST", route_path(q->route),
			      MHD_HTTP_BAD_REQUEST, "bad_json", err.msg);
	}
	if (!wf) { /* not about a workflow task */
		atomic_fetch_add(&w->metrics.ignored, 1);
		return reply_json(c, MHD_HTTP_OK, "{\"status\":\"ignored\"}\n");
	}
	if (uuid && *uuid) {
		if (!zh_webhook_key_valid(uuid)) {
			free(wf);
			reject(w, ZH_REJECT_BAD_JSON);
			return refuse(w, c, "POST", route_path(q->route),
				      MHD_HTTP_BAD_REQUEST, "bad_json",
				      "invalid X-Zadig-Event-UUID");
		}
		snprintf(key, sizeof(key), "zadig:%s", uuid);
	} else {
		char bkey[ZH_WEBHOOK_BODY_KEY_LEN + 1];

		zh_webhook_body_key(bkey, q->body.ptr ? q->body.ptr : "",
				    q->body.len);
		snprintf(key, sizeof(key), "zadig:%s", bkey);
	}
	/* stored (and deduplicated by its key) by a worker: the answer
	 * does not wait for the store */
	queue_hint(w, ZH_WH_HINT_NOTIFY, key, wf, id);
	free(wf);
	return reply_accepted(c, MHD_HTTP_OK, key);
}

/* ---- dispatch ---- */

static unsigned long long content_length(struct MHD_Connection *c, bool *has)
{
	const char *v = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n;
	char *end;

	*has = false;
	if (!v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v)
		return 0;
	*has = true;
	return n;
}

/* A body of n bytes is so far past max_body (DRAIN_MAX) that the 413 goes
 * at once rather than after reading it. */
static bool past_drain(const struct request *q, unsigned long long n)
{
	return n > q->max && n - q->max > DRAIN_MAX;
}

/* c's state, NULL when libmicrohttpd had no memory for it. */
static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void conn_busy(struct zh_wh_server *s, struct MHD_Connection *c,
		      bool busy)
{
	struct conn *k = conn_of(c);

	if (!k || k->busy == busy)
		return;
	k->busy = busy;
	atomic_fetch_add(&s->busy, busy ? 1 : -1);
}

static void notify_conn(void *cls, struct MHD_Connection *c,
			void **socket_context,
			enum MHD_ConnectionNotificationCode toe)
{
	struct zh_wh_server *s = cls;
	struct conn *k = *socket_context;

	(void)c;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		/* its request is on the way (without the memory, the
		 * connection is just not waited for) */
		if ((k = malloc(sizeof(*k)))) {
			k->busy = true;
			atomic_fetch_add(&s->busy, 1);
		}
		*socket_context = k;
		return;
	}
	if (k && k->busy)
		atomic_fetch_sub(&s->busy, 1);
	free(k);
	*socket_context = NULL;
}

/* The request line's and headers' bytes as they came. */
static size_t headers_size(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);

	return ci ? ci->header_size : 0;
}

/* The first call for a request: route it, and refuse what can be refused
 * before reading a byte of the body. */
static enum MHD_Result begin(struct zh_wh_server *s, struct MHD_Connection *c,
			     const char *url, const char *method,
			     void **con_cls)
{
	struct zh_webhook *w = s->w;
	bool post = strcmp(method, "POST") == 0;
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	struct request *q;
	const struct zh_config *cfg;
	unsigned long long len;
	bool has_len;
	enum route route;

	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0) {
		if (!get)
			return refuse(w, c, method, url,
				      MHD_HTTP_METHOD_NOT_ALLOWED, "method",
				      "method not allowed");
		if (!(q = calloc(1, sizeof(*q))))
			return MHD_NO;
		*con_cls = q;
		if (url[1] == 'm')
			return metrics_get(s, c, q);
		return healthz(s, c, q);
	}
	if (strcmp(url, "/webhook/gitlab") == 0)
		route = ROUTE_GITLAB;
	else if (strcmp(url, "/callback/zadig") == 0)
		route = ROUTE_CALLBACK;
	else if (strcmp(url, "/webhook/zadig") == 0)
		route = ROUTE_ZADIG;
	else
		return refuse(w, c, method, url, MHD_HTTP_NOT_FOUND,
			      "not_found", "not found");
	if (!post)
		return refuse(w, c, method, url, MHD_HTTP_METHOD_NOT_ALLOWED,
			      "method", "method not allowed");
	if (headers_size(c) > HEADERS_MAX)
		return refuse(w, c, method, url,
			      MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
			      "headers", "request headers larger than 12 KiB");
	if (!(q = calloc(1, sizeof(*q))))
		return MHD_NO;
	q->route = route;
	q->conf = zh_wh_conf_get(w);
	cfg = q->conf->cfg;
	q->max = (size_t)cfg->webhook.max_body;
	zh_buf_init(&q->body, q->max);
	*con_cls = q;

	if (route != ROUTE_CALLBACK)
		atomic_fetch_add(&w->metrics.received, 1);
	switch (route) {
	case ROUTE_GITLAB:
		if (!cfg->webhook.secret ||
		    !zh_webhook_secret_equal(header(c, "X-Gitlab-Token"),
					     cfg->webhook.secret)) {
			reject(w, ZH_REJECT_TOKEN);
			q->answered = true;
			return refuse(w, c, method, url, MHD_HTTP_UNAUTHORIZED,
				      "token", "invalid X-Gitlab-Token");
		}
		break;
	case ROUTE_ZADIG:
		if (!cfg->webhook.zadig_token) {
			q->answered = true;
			return refuse(w, c, method, url, MHD_HTTP_NOT_FOUND,
				      "not_found", "not found");
		}
		if (!zh_webhook_secret_equal(header(c, "X-Zadig-Token"),
					     cfg->webhook.zadig_token)) {
			reject(w, ZH_REJECT_TOKEN);
			q->answered = true;
			return refuse(w, c, method, url, MHD_HTTP_UNAUTHORIZED,
				      "token", "invalid X-Zadig-Token");
		}
		break;
	case ROUTE_HEALTH: /* GETs, routed above */
	case ROUTE_METRICS:
		break;
	case ROUTE_CALLBACK:
		if (!callback_valid(cfg,
				    MHD_lookup_connection_value(
					c, MHD_GET_ARGUMENT_KIND, "k"),
				    MHD_lookup_connection_value(
					c, MHD_GET_ARGUMENT_KIND, "s"))) {
			q->answered = true;
			atomic_fetch_add(
			    &w->metrics.callbacks[ZH_CALLBACK_REFUSED], 1);
			return refuse(w, c, method, url, MHD_HTTP_UNAUTHORIZED,
				      "signature",
				      "invalid callback signature");
		}
		/* verified: 200 whatever the body */
		atomic_fetch_add(&w->metrics.callbacks[ZH_CALLBACK_ACCEPTED],
				 1);
		return MHD_YES;
	}
	len = content_length(c, &has_len);
	if (has_len && len > q->max) {
		reject(w, ZH_REJECT_TOO_BIG);
		q->too_big = true;
		if (!past_drain(q, len))
			return MHD_YES; /* answered once it is read */
		q->answered = true;
		return refuse_too_big(w, c, method, url, q);
	}
	/* the announced size at once: growing from 64 bytes by doubling
	 * costs a push payload seven reallocations (a lie only costs the
	 * difference up to max_body, which it may send anyway) */
	if (has_len && len > 0 && (q->body.ptr = malloc((size_t)len + 1))) {
		q->body.ptr[0] = '\0';
		q->body.cap = (size_t)len + 1;
	}
	return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct zh_wh_server *s = cls;
	struct zh_webhook *w = s->w;
	struct request *q = *con_cls;

	(void)version;
	if (!q) {
		conn_busy(s, c, true);
		return begin(s, c, url, method, con_cls);
	}
	if (q->phase == STORE_DONE) {
		/* resumed by the committer */
		q->phase = STORE_NONE;
		if (q->route == ROUTE_HEALTH)
			return answer_health(c, q);
		if (q->route == ROUTE_METRICS)
			return metrics(w, c, q->depth);
		return answer_stored(c, q);
	}
	if (q->phase == STORE_PENDING)
		return MHD_YES;
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (q->answered)
			return MHD_YES; /* discarded */
		if (!q->too_big && zh_buf_append(&q->body, upload_data, n) == 0)
			return MHD_YES;
		if (q->route == ROUTE_CALLBACK)
			return MHD_YES; /* never read: keep going */
		if (!q->too_big) {
			/* stop storing */
			q->too_big = true;
			q->dropped = q->body.len;
			zh_buf_dispose(&q->body);
			reject(w, ZH_REJECT_TOO_BIG);
		}
		q->dropped += n;
		/* past DRAIN_MAX: answer as soon as MHD lets us */
		if (past_drain(q, q->dropped) &&
		    refuse_too_big(w, c, method, url, q) == MHD_YES)
			q->answered = true;
		return MHD_YES;
	}
	if (q->answered)
		return MHD_YES;
	q->answered = true;
	if (q->too_big)
		return refuse_too_big(w, c, method, url, q);
	switch (q->route) {
	case ROUTE_GITLAB:
		return gitlab(s, c, q);
	case ROUTE_ZADIG:
		return zadig_notify(s, c, q);
	case ROUTE_CALLBACK:
		/* the body is not read for status: the worker makes the
		 * trigger's task due, and the next poll round asks Zadig */
		queue_hint(
		    w, ZH_WH_HINT_CALLBACK,
		    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k"),
		    NULL, 0);
		return reply_json(c, MHD_HTTP_OK, "{\"status\":\"ok\"}\n");
	case ROUTE_HEALTH:  /* answered once probed */
	case ROUTE_METRICS: /* answered once read */
		break;
	}
	return MHD_NO;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct zh_wh_server *s = cls;
	struct request *q = *con_cls;

	(void)toe;
	conn_busy(s, c, false);
	if (!q)
		return;
	zh_buf_dispose(&q->body);
	free(q->key);
	free(q->kind);
	zh_gitlab_event_dispose(q->ev);
	free(q->ev);
	zh_wh_conf_put(s->w, q->conf);
	free(q);
	*con_cls = NULL;
}

/* libmicrohttpd's messages, through their own limit: a client dropping
 * connections half-sent gets one each. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct zh_webhook *w = cls;
	char line[1024];
	size_t n;

	if (!may_log(&w->http_log, "http", "message"))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	zh_wh_log("http: %s", line);
}

/* Split "host:port" / "[v6]:port" and bind a listening socket. */
static int bind_listen(int *fd, bool *v6, char *addr, size_t addrsize,
		       int *port, const char *listen_on, struct zh_error *err)
{
	char host[256], serv[16], shown[INET6_ADDRSTRLEN];
	const char *colon;
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int s = -1, one = 1, rc;

	*fd = -1;
	if (listen_on[0] == '[') {
		const char *close = strchr(listen_on, ']');

		if (!close || close[1] != ':' ||
		    (size_t)(close - listen_on - 1) >= sizeof(host))
			return zh_error_set(err, ZH_ECONFIG,
					    "invalid webhook.listen '%s'",
					    listen_on);
		snprintf(host, sizeof(host), "%.*s",
			 (int)(close - listen_on - 1), listen_on + 1);
		colon = close + 1;
	} else {
		colon = strrchr(listen_on, ':');
		if (!colon || (size_t)(colon - listen_on) >= sizeof(host))
			return zh_error_set(err, ZH_ECONFIG,
					    "invalid webhook.listen '%s'",
					    listen_on);
		snprintf(host, sizeof(host), "%.*s", (int)(colon - listen_on),
			 listen_on);
	}
	snprintf(serv, sizeof(serv), "%s", colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, serv, &hints, &res)) != 0)
		return zh_error_set(err, ZH_ECONFIG,
				    "invalid webhook.listen '%s': %s",
				    listen_on, gai_strerror(rc));
	s = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto fail;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(s, res->ai_addr, res->ai_addrlen) < 0 || listen(s, 128) < 0 ||
	    getsockname(s, (struct sockaddr *)&ss, &sl) < 0)
		goto fail;
	*v6 = ss.ss_family == AF_INET6;
	if (*v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, shown, sizeof(shown));
		*port = ntohs(a->sin6_port);
		snprintf(addr, addrsize, "[%s]:%d", shown, *port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, shown, sizeof(shown));
		*port = ntohs(a->sin_port);
		snprintf(addr, addrsize, "%s:%d", shown, *port);
	}
	freeaddrinfo(res);
	*fd = s;
	return 0;
fail:
	rc = zh_error_set(err, ZH_EIO, "cannot listen on '%s': %s", listen_on,
			  strerror(errno));
	if (s >= 0)
		close(s);
	freeaddrinfo(res);
	return rc;
}

static void server_free(struct zh_wh_server *s)
{
	pthread_cond_destroy(&s->ckcond);
	pthread_cond_destroy(&s->qcond);
	pthread_mutex_destroy(&s->qlock);
	free(s);
}

/* Let the committer store what is queued, then stop it. */
static void stop_committer(struct zh_wh_server *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->qlock);
	s->qstop = true;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	pthread_join(s->committer, NULL);
	s->started = false;
	if (s->ckstarted) {
		pthread_mutex_lock(&s->qlock);
		s->ckstop = true;
		pthread_cond_signal(&s->ckcond);
		pthread_mutex_unlock(&s->qlock);
		pthread_join(s->ckpt, NULL);
		s->ckstarted = false;
	}
}

/* libmicrohttpd's threads: one reads every connection (epoll, nothing
 * blocks) where cores are few; a second where there are cores for it
 * beside the committer, the workers and the clients. On 2 cores a second
 * one only adds wake-ups: 6% more CPU per event (docs/BENCHMARKS.md). */
static unsigned http_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n >= 4 ? 2 : 1;
}

int zh_wh_server_start(struct zh_wh_server **out, struct zh_webhook *w,
		       const char *listen_on, char *addr, size_t addrsize,
		       int *port, struct zh_error *err)
{
	struct zh_wh_server *s;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	bool v6 = false;
	int rc;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	s->w = w;
	pthread_mutex_init(&s->qlock, NULL);
	zh_wh_cond_init(&s->qcond); /* pause_ms waits on it, timed */
	zh_wh_cond_init(&s->ckcond);
	s->qtail = &s->qhead;
	if ((rc = bind_listen(&s->fd, &v6, addr, addrsize, port, listen_on,
			      err)) < 0) {
		server_free(s);
		return rc;
	}
	s->qrunning = true;
	if (pthread_create(&s->committer, NULL, committer, s) != 0) {
		close(s->fd);
		server_free(s);
		return zh_error_set(err, ZH_ENOMEM,
				    "cannot start the committer thread");
	}
	s->started = true;
	if (pthread_create(&s->ckpt, NULL, checkpointer, s) == 0) {
		s->ckstarted = true;
		zh_store_checkpoint_apart(w->store);
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	/* a pool of one thread is no pool: libmicrohttpd would say so in a
	 * warning at every start, so the option ends the list then */
	s->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER,
	    mhd_log, w, MHD_OPTION_LISTEN_SOCKET, s->fd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned)CONNECTION_LIMIT_PER_CLIENT, MHD_OPTION_NOTIFY_COMPLETED,
	    completed, s, MHD_OPTION_NOTIFY_CONNECTION, notify_conn, s,
	    http_threads() > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
	    http_threads(), MHD_OPTION_END);
	if (!s->mhd) {
		stop_committer(s);
		close(s->fd);
		server_free(s);
		return zh_error_set(err, ZH_EIO,
				    "cannot start the http server on '%s'",
				    listen_on);
	}
	*out = s;
	return 0;
}

void zh_wh_server_quiesce(struct zh_wh_server *s)
{
	atomic_store(&draining, true);
	/* closed now, not at the stop: a client connecting while the
	 * requests in flight finish is refused at once, not left in the
	 * backlog to be reset */
	if (s && s->mhd && MHD_quiesce_daemon(s->mhd) != MHD_INVALID_SOCKET &&
	    s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
}

int zh_wh_server_drain(struct zh_wh_server *s, int64_t max_ms)
{
	const struct timespec tick = {0, 10 * 1000 * 1000};
	int64_t until = zh_wh_mono_ms() + max_ms;
	int n = 0;

	if (!s)
		return 0;
	/* a batch the store is still busy for then is given up, answered
	 * 503: those answers are waited for a little longer */
	pthread_mutex_lock(&s->qlock);
	s->give_up_at = until;
	pthread_cond_signal(&s->qcond);
	pthread_mutex_unlock(&s->qlock);
	while ((n = atomic_load(&s->busy)) > 0 &&
	       zh_wh_mono_ms() < until + GIVEN_UP_MS)
		nanosleep(&tick, NULL);
	return n;
}

void zh_wh_server_stop(struct zh_wh_server *s)
{
	if (!s)
		return;
	/* the queued requests are stored and resumed while the HTTP threads
	 * still run to answer them */
	stop_committer(s);
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	/* ours since we passed it in; closed after the threads are gone */
	if (s->fd >= 0)
		close(s->fd);
	server_free(s);
}
