/* The receiver daemon's shared state (design.md §6): the current config
 * (swapped on SIGHUP), the state store, the counters, and how the HTTP
 * threads wake the workers. Private to webhook/. */
#ifndef ZH_WEBHOOK_WEBHOOK_H
#define ZH_WEBHOOK_WEBHOOK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "store/store.h"
#include "util/error.h"
#include "webhook/gitlab.h"
#include "webhook/hints.h"
#include "webhook/loglimit.h"
#include "webhook/metrics.h"
#include "webhook/parsed.h"

/* A config with the number of threads using it: a reload swaps the
 * current one and the last user of the old one frees it. */
struct zh_wh_conf {
	struct zh_config *cfg;
	int refs; /* under zh_webhook.lock */
};

struct zh_webhook {
	pthread_mutex_t lock; /* conf, tick_now, new_events */
	pthread_cond_t wake;  /* workers wait on it */
	struct zh_wh_conf *conf;
	const char *state_dir;	/* fixed for the process's life */
	struct zh_store *store; /* thread-safe; shared by every thread */
	struct zh_metrics metrics;
	atomic_bool stopping;
	/* the last event insert failed (disk full, store unwritable) and
	 * none succeeded since: /healthz says 503 even when a tiny probe
	 * write still fits */
	atomic_bool intake_failing;
	bool tick_now;		     /* a callback asked for a poll round */
	unsigned long event_gen;     /* bumped when an event is stored or
					a hint queued */
	pthread_mutex_t mirror_lock; /* one fetch at a time */
	struct zh_wh_worker *workers;
	size_t nworkers;
	struct zh_wh_server *server;
	/* the HTTP side's parse of each event, for its worker */
	struct zh_wh_parsed parsed;
	/* Zadig's hints, answered by the HTTP side, for the workers */
	struct zh_wh_hints hints;
	/* the log lines of refused requests (zh_wh_log_refused) */
	struct zh_wh_loglimit refused;
	/* libmicrohttpd's own messages ("Connection was closed by remote
	 * side with incomplete request."): one per connection a client
	 * drops, as many as it likes */
	struct zh_wh_loglimit http_log;
	/* the change time of zadig.token_file a reload was asked for (see
	 * work.c token_file_changed): once per change of the file */
	_Atomic int64_t token_reload_mtime;
};

/* Take a reference to the current config; give it back with
 * zh_wh_conf_put. */
struct zh_wh_conf *zh_wh_conf_get(struct zh_webhook *w);
void zh_wh_conf_put(struct zh_webhook *w, struct zh_wh_conf *c);

/* Make cfg (owned from now on) the current config. */
void zh_wh_conf_set(struct zh_webhook *w, struct zh_config *cfg);

/* Wake the workers: an event was stored or a hint queued (event), or a
 * poll round is wanted now (tick). */
void zh_wh_wake(struct zh_webhook *w, bool event, bool tick);

/* A condition variable whose timed waits (zh_wh_cond_wait_ms) count on
 * the monotonic clock: a wall clock set back (NTP fixing a fast one)
 * does not make a thread sleep for the size of the step. */
void zh_wh_cond_init(pthread_cond_t *c);

/* Wait on c (m locked, as pthread_cond_timedwait) at most ms; c made by
 * zh_wh_cond_init. Returns what pthread_cond_timedwait does. */
int zh_wh_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, int64_t ms);

/* Milliseconds on the monotonic clock, which zh_wh_cond_wait_ms and the
 * receiver's own schedules (deadlines, back-offs, the poll round) count
 * on. */
int64_t zh_wh_mono_ms(void);

/* One line on stderr, "zadig-webhook: " first. Never hand it a secret. */
void zh_wh_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Until zh_wh_log_flush, the calling thread's zh_wh_log lines are
 * gathered in buf (the caller's, size bytes) and written together (one write
 * for a worker's batch instead of one per event); lines beyond a cap are
 * written at once. */
void zh_wh_log_hold(char *buf, size_t size);

/* Write the lines held by this thread and stop holding. */
void zh_wh_log_flush(void);

/* Say how many refused requests were not logged, once their second is
 * over (webhook/loglimit.h); called by the periodic round, so that the
 * count of a flood's last second is not left unsaid. */
void zh_wh_log_refused_flush(struct zh_webhook *w);

/* ---- server.c: the HTTP side ---- */

struct zh_wh_server;

/* Listen on listen ("host:port", "[v6]:port"; port 0 lets the kernel
 * choose) and serve the routes of design.md §6 from internal threads.
 * *port gets the bound port, addr (size >= 64) the printed address.
 * Returns 0, ZH_ECONFIG (bad listen) or ZH_EIO (cannot bind). */
int zh_wh_server_start(struct zh_wh_server **out, struct zh_webhook *w,
		       const char *listen, char *addr, size_t addrsize,
		       int *port, struct zh_error *err);

/* Stop accepting connections (the listening socket closes); answers
 * from now on close their connections. */
void zh_wh_server_quiesce(struct zh_wh_server *s);

/* After zh_wh_server_quiesce: wait up to max_ms for the connections with
 * a request on the way (accepted, or sending one) to be answered; kept-
 * alive connections between requests are not waited for. Returns how
 * many were still busy. */
int zh_wh_server_drain(struct zh_wh_server *s, int64_t max_ms);

/* Finish the requests in progress, stop the threads, free. NULL-safe. */
void zh_wh_server_stop(struct zh_wh_server *s);

/* ---- work.c: the workers ---- */

struct zh_wh_worker;

/* Start n workers taking Zadig's hints (w->hints) and claiming events
 * from the store; worker 0 also runs the periodic round (deliver, poll,
 * notes). Returns 0 or ZH_ENOMEM. */
int zh_wh_workers_start(struct zh_webhook *w, size_t n, struct zh_error *err);

/* Set stopping, wake and join the workers (each finishes its event). */
void zh_wh_workers_stop(struct zh_webhook *w);

/* How long a worker owns a claimed event before another may take it
 * over: 4 x zadig.timeout, between 10 s and 2 min. */
int64_t zh_wh_event_lease_ms(const struct zh_config *cfg);

/* What becomes of GitLab event g when that is known without reading a
 * commit: a merge request action that never fires, or no rule for its
 * project, kind and branch (or tag, or target branch). Then the result
 * for the log line and the store goes to result (size) and it returns
 * true; false: a worker must read the commits. The intake settles such
 * events as it stores them; a worker checks again. */
bool zh_wh_settled(const struct zh_config *cfg, const struct zh_gitlab_event *g,
		   char *result, size_t size);

/* The log line of event key, g, settled with result (zh_wh_settled). */
void zh_wh_log_settled(const char *key, const struct zh_gitlab_event *g,
		       const char *result);

#endif
