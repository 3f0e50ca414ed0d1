/* dispatch: push event -> fired rules -> state store -> Zadig
 * (design.md §5, §8). Shared by the hook, the poller, `git zadig sync`
 * and the receiver. */
#ifndef ZH_FLOW_DELIVER_H
#define ZH_FLOW_DELIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "gitrepo/gitrepo.h"
#include "mapping/mapping.h"
#include "store/store.h"
#include "util/error.h"
#include "zadig/zadig.h"

/* Log sink: one line, no newline; never handed a secret. */
typedef void (*zh_flow_log_fn)(void *ctx, const char *line);

/* What the programs hold while they deliver and report. */
struct zh_flow {
	const struct zh_config *cfg;
	struct zh_store *store;
	struct zh_zadig *zadig; /* made on first use */
	struct zh_repo *repo;   /* where notes go; may be NULL */
	const char *repo_name;  /* only this repository's notes; may be NULL */
	zh_flow_log_fn log;
	void *log_ctx;
	int64_t deadline_ms; /* 0: none; else no request runs past it */
	/* how a fixed token reaches this program, ending the line of a
	 * token Zadig refused (" (... on SIGHUP)"); may be NULL */
	const char *token_fix;
	/* a commitId lookup of this poll round failed: it asks no more
	 * (zh_flow_poll and zh_flow_refresh_commit set it) */
	bool lookup_failed;
	/* What the calls to Zadig came to (zh_flow_deliver_due, zh_flow_poll,
	 * zh_flow_refresh_commit add to it): `git zadig sync` and `status
	 * --live` report it and fail when something was not done. */
	struct zh_flow_tally {
		int created;  /* triggers Zadig took (or had taken: found) */
		int rejected; /* refused for good (4xx) */
		int queued;   /* not delivered, kept for a retry (held too) */
		int polled;   /* tasks Zadig told us about */
		int unpolled; /* tasks or commit lookups Zadig did not answer */
	} tally;
};

/* Free what zh_flow made (the client); the rest is the caller's. */
void zh_flow_dispose(struct zh_flow *f);

/* One fired rule as recorded in the store. */
struct zh_flow_recorded {
	int64_t trigger_id;
	bool existed; /* already recorded before: not to be sent again */
	char rule[128];
	char workflow[256];
	/* why the rule's request could not be made (then nothing is
	 * recorded for it, trigger_id 0); "" when it was recorded */
	char error[512];
};
struct zh_flow_recorded_list {
	struct zh_flow_recorded *items;
	size_t len;
};

/* How zh_flow_record records. */
enum {
	/* even when the key is known (`git zadig trigger`) */
	ZH_FLOW_RECORD_FORCE = 1,
	/* the caller sends each new trigger itself right away
	 * (zh_flow_deliver_id): others may not take it before the caller's
	 * deadline (else a lease from now), so that the caller's send is
	 * the one (a poller that took it first would leave the caller
	 * nothing to report); should the caller die before, a poller sends
	 * it then */
	ZH_FLOW_RECORD_SENDING = 2,
};

/* Run the mapping for ev and record every fired rule as a trigger, keyed
 * by (repo, ref, commit, rule), as flags (ZH_FLOW_RECORD_*) say. Returns
 * 0, ZH_ESTORE, ZH_EBUSY, ZH_EINVALID or ZH_ENOMEM. Free out->items with
 * free(). */
int zh_flow_record(struct zh_flow_recorded_list *out, struct zh_flow *f,
		   const struct zh_event *ev, unsigned flags,
		   struct zh_error *err);

/* zh_flow_record for evs[0..n) into outs[0..n), in one transaction of the
 * store (one flush for a push of many refs): all or nothing. Free each
 * outs[i].items with free(). */
int zh_flow_record_many(struct zh_flow_recorded_list *outs, struct zh_flow *f,
			const struct zh_event *const *evs, size_t n,
			unsigned flags, struct zh_error *err);

enum zh_flow_outcome {
	ZH_FLOW_CREATED,  /* Zadig made the task */
	ZH_FLOW_QUEUED,   /* not delivered: will retry */
	ZH_FLOW_HELD,     /* 401/403: kept until the token is fixed */
	ZH_FLOW_REJECTED, /* Zadig refused it for good */
	ZH_FLOW_DONE,     /* already delivered by someone else */
};

struct zh_flow_result {
	enum zh_flow_outcome outcome;
	int64_t task_id;
	char workflow[256];
	char url[1024];
	char rule[128];
	char message[512]; /* why, for QUEUED / HELD / REJECTED */
	/* HELD by a 403: the token is valid, its user lacks a permission
	 * (else the token was refused, or cannot be read) */
	bool denied;
};

/* Deliver trigger trigger_id now (the hook, right after recording it).
 * Returns 0 with *res filled, or ZH_ESTORE / ZH_ENOMEM. */
int zh_flow_deliver_id(struct zh_flow_result *res, struct zh_flow *f,
		       int64_t trigger_id, struct zh_error *err);

/* What became of trigger trigger_id so far, sending nothing (the async
 * hook, for a trigger an earlier push recorded): ZH_FLOW_DONE with its
 * task when Zadig created one (task_id 0 while it is queued or being
 * sent), ZH_FLOW_REJECTED with Zadig's message. Returns 0, or
 * ZH_ENOTFOUND / ZH_ESTORE with *res cleared. */
int zh_flow_trigger_result(struct zh_flow_result *res, struct zh_flow *f,
			   int64_t trigger_id, struct zh_error *err);

/* Deliver every due trigger (any queued one with ignore_backoff), until
 * none is left or the deadline passes. *n counts the tries (may be NULL).
 * Returns 0 or ZH_ESTORE. */
int zh_flow_deliver_due(int *n, struct zh_flow *f, bool ignore_backoff,
			struct zh_error *err);

/* Poll tasks (scope as in zh_store_tasks_due), pick up tasks others
 * started with the commitId lookup while the server has it (which also
 * has the times a product task's detail lacks: one lookup more for a
 * product task that ends after the round's lookup listed it), and give up
 * on tasks older than poll.give_up_after. A task whose id Zadig gave to
 * another task keeps its line, gets reused=1 and is polled no more; one
 * that ended keeps its end unless the lookup of its commit lists it. A
 * task Zadig does not answer for (or answers without a status) keeps its
 * status and backs off; one whose change the store refuses does not stop
 * the round, a busy store does. Returns 0, or the first failure (ZH_ESTORE,
 * ZH_EBUSY) in err, the others logged. */
int zh_flow_poll(int *n, struct zh_flow *f, enum zh_store_task_scope scope,
		 struct zh_error *err);

/* Ask Zadig about one commit now (commitId lookup and the known tasks),
 * updating the store (`git zadig status --live`). */
int zh_flow_refresh_commit(struct zh_flow *f, const char *repo,
			   const char *commit, struct zh_error *err);

/* The note line fields of a task: "duration=36s tests=24/24" into buf. */
void zh_flow_task_extra(char *buf, size_t size,
			const struct zh_zadig_task *t);

#endif
