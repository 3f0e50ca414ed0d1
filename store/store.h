/* The durable state store of design.md §8: one SQLite database
 * `<state_dir>/state.db` holding received webhook events, triggers (fired
 * rules waiting for, or done with, Zadig), every known Zadig task and a few
 * per-server flags.
 *
 * Several processes (hook, detached poller, receiver, `git zadig`) use one
 * store at once: the database runs in WAL mode, waits up to 5 s for a lock
 * (busy_timeout; zh_store_set_busy_timeout changes it) and every change is
 * one statement or one short
 * BEGIN IMMEDIATE ... COMMIT. Commits are synchronous=FULL: once a function
 * that writes has returned 0, the change survives a crash or a power loss
 * (the receiver replies 202 only after zh_store_event_add returned). The
 * exceptions are the claims and results of events (zh_store_event_claim,
 * _done, _retry): redoing one is harmless, and a flush per event would cap
 * the receiver at a few hundred events a second.
 *
 * One struct zh_store may be shared by the threads of a process: every call
 * holds the handle's mutex. A handle must not be used across fork(); open a
 * new one in the child.
 *
 * Times are milliseconds since the Unix epoch, passed in by the caller
 * (zh_store_now_ms gives the current one) so that tests control the clock.
 * They are the wall clock's (several processes, a reboot), which may be
 * set back: a due time or a lease further ahead of now, by more than a
 * minute, than the store ever sets one (a back-off, a lease, a task's poll
 * interval) was set before such a step and counts as now (the claims and
 * zh_store_tasks_due).
 *
 * Nothing secret goes in: callers never pass a token (request bodies,
 * errors and payloads are stored as given).
 *
 * Errors: ZH_ESTORE for anything SQLite reports, with messages such as
 *   "cannot open state store '/x/state.db': Permission denied"
 *   "state store '/x/state.db' is corrupt: file is not a database"
 *   "state store '/x/state.db' is full: database or disk is full"
 * ZH_EBUSY when another connection held the lock longer than the busy
 * timeout ("state store '/x/state.db' is busy: cannot ...": wherever
 * ZH_ESTORE may come, ZH_EBUSY may too; trying again later can work),
 * ZH_ENOTFOUND when the asked-for row does not exist or nothing is due,
 * ZH_ENOMEM, ZH_EINVALID for bad arguments. sqlite3 objects never leave
 * store/. */
#ifndef ZH_STORE_STORE_H
#define ZH_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Schema version this build writes (PRAGMA user_version). */
#define ZH_STORE_SCHEMA_VERSION 5

/* Length of a trigger key (hex characters, without the NUL). */
#define ZH_STORE_KEY_LEN 32

/* zh_store_lock_poller: another process holds the lock. */
#define ZH_STORE_LOCK_HELD 1

struct zh_store;

/* ---- opening ---- */

/* Open (creating when missing) the store of state directory dir: creates dir
 * and its missing parents with mode 0700, opens `<dir>/state.db` and brings
 * its schema up to ZH_STORE_SCHEMA_VERSION. Returns 0 or ZH_ESTORE
 * ("cannot open state store ...": directory or file not creatable or not
 * writable; "... is corrupt: ..." for a damaged file or one that is not a
 * database; a schema newer than this build), ZH_EINVALID or ZH_ENOMEM.
 * Free *out with zh_store_free. */
int zh_store_open(struct zh_store **out, const char *dir, struct zh_error *err);

/* zh_store_open for the store of a repository several users push to:
 * shared is its core.sharedRepository (util/perm.h; 0 is zh_store_open).
 * What it creates, the directories, the database and (by SQLite, in the
 * database's mode) its WAL and index, get the modes git gives its own
 * files there (group: directories 2770, files 0660), so that the hook of
 * any user of the group can use the store; those an earlier run of this
 * user made are set so too. */
int zh_store_open_shared(struct zh_store **out, const char *dir, int shared,
			 struct zh_error *err);

/* Whether rc says the store did not take a change: broken (ZH_ESTORE) or
 * locked by another process past the busy timeout (ZH_EBUSY). Either way
 * the change may go through later: callers that retry take both. */
static inline bool zh_store_failed(int rc)
{
	return rc == ZH_ESTORE || rc == ZH_EBUSY;
}

/* Close the store. NULL-safe. */
void zh_store_free(struct zh_store *s);

/* How long from now on a call waits for a lock another connection holds
 * before it fails with ZH_EBUSY: ms (<= 0: not at all) instead of the 5 s
 * zh_store_open sets. For a program with a deadline of its own (the
 * hook). */
void zh_store_set_busy_timeout(struct zh_store *s, int64_t ms);

/* Path of the database file ("<dir>/state.db"); owned by the store. */
const char *zh_store_path(const struct zh_store *s);

/* The schema version of the open database. Returns 0 or ZH_ESTORE. */
int zh_store_schema_version(int *version, struct zh_store *s,
			    struct zh_error *err);

/* Prove the store is writable (GET /healthz): commits a small write;
 * with probe_bytes > 0 first one of that many bytes (then shrinks it
 * back), to prove that an event of that size fits again. Returns 0,
 * ZH_ENOMEM or ZH_ESTORE. */
int zh_store_ping(struct zh_store *s, int64_t now_ms, size_t probe_bytes,
		  struct zh_error *err);

/* Current wall-clock time in milliseconds since the epoch. */
int64_t zh_store_now_ms(void);

/* A fresh random key of ZH_STORE_KEY_LEN hex characters into out
 * (NUL-terminated). Returns 0 or ZH_EIO when no randomness is available. */
int zh_store_new_key(char out[ZH_STORE_KEY_LEN + 1], struct zh_error *err);

/* Delay before try number attempts+1 after attempts failed ones: 1 s,
 * doubling per attempt, at most 5 min, spread by +-20 % jitter chosen by
 * random (any value; the same inputs give the same result) and never above
 * 5 min. attempts < 1 counts as 1. Pure. */
int64_t zh_store_backoff_ms(int attempts, unsigned random);

/* ---- triggers: one fired rule, before and after Zadig accepted it ---- */

enum zh_store_trigger_state {
	ZH_STORE_QUEUED,   /* waiting for a (next) try */
	ZH_STORE_SENDING,  /* claimed by a process that is sending it */
	ZH_STORE_CREATED,  /* Zadig created task_id; a task row exists */
	ZH_STORE_REJECTED, /* Zadig refused it for good (last_error) */
};

/* "queued", "sending", "created", "rejected" (static strings). */
const char *zh_store_trigger_state_name(enum zh_store_trigger_state st);

/* What zh_store_trigger_add records. Strings are copied; only project, body
 * and key may be NULL. */
struct zh_store_trigger_spec {
	const char *repo;   /* repository name (design.md 4.1) */
	const char *ref;    /* full ref name, refs/heads/main */
	const char *commit; /* the commit id the rule fired on */
	const char *rule;   /* rule name */
	const char *workflow;
	bool custom; /* custom workflow (else product workflow) */
	const char *project;
	const char *method; /* the rendered Zadig request: "POST" */
	const char *path;   /* path and query from the Zadig base URL */
	const char *body;   /* JSON text; never holds a token */
	const char *key;    /* the trigger key already used in the body's
			     * callback URL, or NULL to have one generated */
	bool force;	    /* `git zadig trigger`: an explicit request that is
			     * never deduplicated (stored as a new trigger even
			     * when the same repo, ref, commit and rule exist) */
	int64_t due_ms;	    /* when another process may first claim it (0:
			     * at once); the recorder itself claims it by id
			     * at any time (zh_store_trigger_claim_id) */
};

struct zh_store_trigger { /* all strings malloc'd; see dispose */
	int64_t id;
	char *key; /* ZH_STORE_KEY_LEN hex characters, for callback URLs */
	char *repo, *ref, *commit, *rule;
	char *workflow;
	bool custom;
	bool forced;   /* added with spec.force */
	char *project; /* may be NULL */
	char *method, *path;
	char *body; /* may be NULL */
	enum zh_store_trigger_state state;
	int attempts; /* tries started (claims), including the current one */
	int64_t next_try_ms;
	int64_t lease_until_ms;
	char *last_error; /* may be NULL */
	int64_t task_id;  /* 0 until created */
	char *url;	  /* task URL once created, else NULL */
	int64_t created_ms, updated_ms;
	bool interrupted; /* set by a claim: the trigger was 'sending' by a
			   * process that never finished (lease expired). The
			   * request may have reached Zadig: reconcile (commitId
			   * lookup) before sending it again */
};

/* Free the members and zero the struct. NULL-safe. */
void zh_store_trigger_dispose(struct zh_store_trigger *t);

struct zh_store_trigger_list {
	struct zh_store_trigger *items;
	size_t len;
};
void zh_store_trigger_list_dispose(struct zh_store_trigger_list *l);

/* Record a fired rule as a queued trigger, due at now_ms (or spec->due_ms
 * when later), keyed by (repo, ref, commit, rule). When that key is already
 * stored (re-run hook, redelivered event, restart) nothing changes, *existed
 * is set and *id names the existing trigger: the caller must not send it
 * again. With spec->force the trigger is always new. Either output may be
 * NULL. Returns 0, ZH_EINVALID (missing field), ZH_ESTORE or ZH_ENOMEM. */
int zh_store_trigger_add(int64_t *id, bool *existed, struct zh_store *s,
			 const struct zh_store_trigger_spec *spec,
			 int64_t now_ms, struct zh_error *err);

/* zh_store_trigger_add for specs[0..n) in one transaction (one flush
 * for a push of many refs, or a ref firing many rules): out[i] says what
 * became of specs[i]. All or nothing: on an error nothing is recorded and
 * out is zeroed. A spec that repeats an earlier one of the same call is
 * the same trigger (existed). Returns what zh_store_trigger_add does. */
struct zh_store_trigger_added {
	int64_t id;
	bool existed;
};
int zh_store_trigger_add_many(struct zh_store_trigger_added *out,
			      struct zh_store *s,
			      const struct zh_store_trigger_spec *specs,
			      size_t n, int64_t now_ms, struct zh_error *err);

/* Read one trigger by id or by key. Returns 0, ZH_ENOTFOUND or ZH_ESTORE.
 * Dispose *out. */
int zh_store_trigger_get(struct zh_store_trigger *out, struct zh_store *s,
			 int64_t id, struct zh_error *err);
int zh_store_trigger_get_by_key(struct zh_store_trigger *out,
				struct zh_store *s, const char *key,
				struct zh_error *err);

/* Which triggers zh_store_trigger_claim may take. */
struct zh_store_claim {
	int64_t now_ms;
	int64_t lease_ms;    /* time the claimer has to send and record the
			      * result; afterwards others may take it over.
			      * <= 0: 60 s */
	bool ignore_backoff; /* `git zadig sync`: any queued trigger, even one
			      * whose next try is later ... */
	int64_t round_start_ms; /* ... but with ignore_backoff only one last
				 * changed before this time, so that a sync loop
				 * does not take again what failed during it
				 * (set it once per round; <= 0: now_ms) */
};

/* Atomically take one trigger to send: the oldest queued one due
 * (next_try_ms <= now, or any with ignore_backoff), or one 'sending' whose
 * lease expired (out->interrupted); a time set before the clock was set
 * back counts as due (above: further ahead than 5 min or the lease). It becomes
 * 'sending' with lease_until = now + lease and attempts + 1. The caller then
 * calls exactly one of zh_store_trigger_created/_retry/_hold/_reject with the
 * claimed struct. Returns 0, ZH_ENOTFOUND (nothing due) or ZH_ESTORE. Dispose
 * *out. */
int zh_store_trigger_claim(struct zh_store_trigger *out, struct zh_store *s,
			   const struct zh_store_claim *c,
			   struct zh_error *err);

/* Claim one given trigger (the hook claims those it just added), ignoring
 * its back-off. Returns 0, ZH_ENOTFOUND when it does not exist or is not
 * claimable (created, rejected, or being sent by another process within its
 * lease), or ZH_ESTORE. Dispose *out. */
int zh_store_trigger_claim_id(struct zh_store_trigger *out, struct zh_store *s,
			      int64_t id, int64_t now_ms, int64_t lease_ms,
			      struct zh_error *err);

/* Zadig created task task_id (url its page) for claimed trigger t: the
 * trigger becomes 'created' and the task row is added (status "created",
 * first poll at now + poll_interval_ms) in one transaction; a row of that
 * id held for another commit, ref or rule is an older task of a reused id
 * and becomes t's (zh_store_task_created). Recorded even
 * when the claim was lost meanwhile, so that no created task is forgotten;
 * a trigger already created keeps its first task id. Returns 0 or
 * ZH_ESTORE. */
int zh_store_trigger_created(struct zh_store *s,
			     const struct zh_store_trigger *t, int64_t task_id,
			     const char *url, int64_t poll_interval_ms,
			     int64_t now_ms, struct zh_error *err);

/* Whether Zadig task task_id of t's workflow, which the commitId lookup
 * lists for t's commit as made at create_time (unix s, Zadig's clock; 0:
 * not named), is another trigger's than t: one of t's commit created
 * with it, or a task recorded with a rule for another (repo, ref,
 * commit, rule). A task the commitId lookup found and no trigger
 * recorded (no rule) is nobody's; so is a task recorded for another
 * commit that Zadig made at another time than create_time (both known):
 * an older task whose id Zadig gave out again (its ids started again),
 * which t's replaces (zh_store_trigger_found). Returns 0, ZH_EINVALID or
 * ZH_ESTORE. */
int zh_store_task_taken(bool *taken, struct zh_store *s,
			const struct zh_store_trigger *t, int64_t task_id,
			int64_t create_time, struct zh_error *err);

/* Reconciliation found task task_id (url its page, made at create_time
 * by the commitId lookup) as claimed trigger t's: zh_store_trigger_created,
 * unless the task is another trigger's (zh_store_task_taken, checked in
 * the same transaction): then *taken and nothing changes. A task found
 * before without a rule becomes t's: its repo, ref, commit and rule are
 * t's; a row of another commit only when it is an older task of the id
 * (zh_store_task_listed). Returns 0, ZH_EINVALID or ZH_ESTORE. */
int zh_store_trigger_found(bool *taken, struct zh_store *s,
			   const struct zh_store_trigger *t, int64_t task_id,
			   int64_t create_time, const char *url,
			   int64_t poll_interval_ms, int64_t now_ms,
			   struct zh_error *err);

/* Claimed trigger t stays ours until now + lease_ms: for a sender whose
 * work (a reconciliation reading many task details) may outlast the
 * claim's lease. Returns 0 (t->lease_until_ms updated), ZH_ENOTFOUND when
 * the claim was lost or its lease had already ended, or ZH_ESTORE. */
int zh_store_trigger_renew(struct zh_store *s, struct zh_store_trigger *t,
			   int64_t now_ms, int64_t lease_ms,
			   struct zh_error *err);

/* A try of claimed trigger t failed in a way worth retrying (network, 5xx,
 * 408, 429): back to 'queued', next try at now + zh_store_backoff_ms(
 * t->attempts, random), error (may be NULL) kept as last_error.
 * zh_store_trigger_hold is the same for 401/403 (kept until a fixed token
 * delivers it; the caller logs loudly). Returns 0, ZH_ENOTFOUND when the
 * claim was lost (another process took the trigger over after the lease
 * expired; nothing changed) or ZH_ESTORE. */
int zh_store_trigger_retry(struct zh_store *s, const struct zh_store_trigger *t,
			   const char *error, int64_t now_ms,
			   struct zh_error *err);
int zh_store_trigger_hold(struct zh_store *s, const struct zh_store_trigger *t,
			  const char *error, int64_t now_ms,
			  struct zh_error *err);

/* Zadig refused claimed trigger t for good (other 4xx): 'rejected' with
 * error (e.g. "6540 <message>") as last_error. Returns 0, ZH_ENOTFOUND when
 * the claim was lost, or ZH_ESTORE. */
int zh_store_trigger_reject(struct zh_store *s,
			    const struct zh_store_trigger *t, const char *error,
			    int64_t now_ms, struct zh_error *err);

/* Triggers of one commit of repo (for its note), oldest first. Returns 0
 * (possibly an empty list) or ZH_ESTORE. Dispose *out. */
int zh_store_triggers_of_commit(struct zh_store_trigger_list *out,
				struct zh_store *s, const char *repo,
				const char *commit, struct zh_error *err);

/* Every trigger not yet delivered ('queued' or 'sending'), oldest first.
 * Returns 0 or ZH_ESTORE. Dispose *out. */
int zh_store_triggers_pending(struct zh_store_trigger_list *out,
			      struct zh_store *s, struct zh_error *err);

/* Number of triggers not yet delivered (queue depth). Returns 0 or
 * ZH_ESTORE. */
int zh_store_queue_depth(int64_t *n, struct zh_store *s, struct zh_error *err);

/* ---- tasks: Zadig workflow tasks, ours or found by commit ---- */

struct zh_store_task { /* strings malloc'd, any may be NULL but workflow
			* and status; see dispose */
	int64_t id;    /* row id */
	char *workflow;
	bool custom;
	int64_t task_id;
	char *project;
	char *repo, *ref, *commit, *rule; /* rule NULL: started by others */
	char *status; /* Zadig's name, "created", or "unknown" */
	char *url;
	char *extra; /* "key=value ..." note fields (duration=36s) */
	bool final;
	int64_t next_poll_ms, poll_interval_ms;
	int64_t created_ms, updated_ms;
	int64_t gen;	   /* bumped whenever status, url or extra change */
	int64_t noted_gen; /* gen last written into the commit's note */
	int64_t zadig_created; /* Zadig's create_time (unix s) of the task
				* this row follows, as first polled or
				* listed by the lookup; 0: not known yet */
};

/* Free the members and zero the struct. NULL-safe. */
void zh_store_task_dispose(struct zh_store_task *t);

struct zh_store_task_list {
	struct zh_store_task *items;
	size_t len;
};
void zh_store_task_list_dispose(struct zh_store_task_list *l);

/* Insert or update the task (t->workflow, t->custom, t->task_id); t->id,
 * created_ms, updated_ms, gen and noted_gen are ignored, zadig_created
 * too but on insert. On insert NULL status means "created". On update non-NULL
 * project/status/url/extra replace the stored ones, repo/ref/commit/rule only
 * fill empty ones (a task found by the commitId lookup does not erase the rule
 * that started it); final, next_poll_ms and poll_interval_ms are replaced only
 * when t->status is given. *id (may be NULL) gets the row id. Returns 0,
 * ZH_EINVALID or ZH_ESTORE. */
int zh_store_task_upsert(int64_t *id, struct zh_store *s,
			 const struct zh_store_task *t, int64_t now_ms,
			 struct zh_error *err);

/* Record task t (as zh_store_task_upsert) that Zadig just created for
 * t->commit: the reply to a create (`git zadig trigger`). A row of the
 * same task id that is another commit's (or, when t has a rule, another
 * ref's or rule's of t's commit) holds an older task whose id Zadig gave
 * out again (Zadig reinstalled, the workflow made again under its name:
 * ids start at 1 again): that row becomes t as an insert would make it
 * (NULL status: "created"; t's schedule; first recorded now_ms; Zadig's
 * create_time t->zadig_created), so that t's commit gets its note and
 * its polls, and the older commit's note keeps the line it has. One
 * transaction. Returns 0, ZH_EINVALID (no workflow, repository or
 * commit) or ZH_ESTORE. */
int zh_store_task_created(int64_t *id, struct zh_store *s,
			  const struct zh_store_task *t, int64_t now_ms,
			  struct zh_error *err);

/* Record task t that the commitId lookup of t->commit lists (rule NULL;
 * t->zadig_created its create_time, 0 when the lookup names none) when
 * the store has no row of its id. A row of t's commit is left as it is,
 * and so is one of another commit: a task made for one commit is listed
 * for others too (a product create names only a branch, and builds the
 * branch's head; repositories of a shared store share Zadig's tasks).
 * Only a row whose task Zadig made at another time than t (both
 * create_times known, and different) is an older task whose id Zadig
 * gave out again, and becomes t as zh_store_task_created makes it. One
 * transaction. Returns 0, ZH_EINVALID or ZH_ESTORE. */
int zh_store_task_listed(struct zh_store *s, const struct zh_store_task *t,
			 int64_t now_ms, struct zh_error *err);

/* Record a poll result for task row id: status (required), extra (NULL
 * keeps it), whether it is final, and when to poll next. The row's
 * updated_ms becomes now_ms only when status, extra or final change (a
 * finished task polled again still ages towards zh_store_prune). Returns
 * 0, ZH_ENOTFOUND, ZH_EINVALID or ZH_ESTORE. */
int zh_store_task_update(struct zh_store *s, int64_t id, const char *status,
			 const char *extra, bool final, int64_t next_poll_ms,
			 int64_t poll_interval_ms, int64_t now_ms,
			 struct zh_error *err);

/* Record a poll result, as zh_store_task_update does, for task k as a
 * round read it (zh_store_tasks_due), and Zadig's create_time for it (0:
 * not known) unless one is kept already; only while row k->id is still
 * that task: of k's repository and commit, first recorded when k was,
 * with k's create_time. A poll takes its time (Zadig's answer), and
 * meanwhile another process, or the round's own commitId lookup, may
 * have given the row to a new task of the id (zh_store_task_created,
 * zh_store_task_listed, zh_store_task_repoll), or forgotten it
 * (zh_store_prune). Returns 0, ZH_ENOTFOUND (the row is gone or another
 * task's: nothing is written), ZH_EINVALID or ZH_ESTORE. */
int zh_store_task_polled(struct zh_store *s, const struct zh_store_task *k,
			 const char *status, const char *extra, bool final,
			 int64_t create_time, int64_t next_poll_ms,
			 int64_t poll_interval_ms, int64_t now_ms,
			 struct zh_error *err);

/* Zadig took an action on task (workflow, custom, task_id) that changes
 * its state (`git zadig retry` restarted it, cancel, approve): follow it
 * again as a task just created: not final, polled at now_ms and then
 * every poll_interval_ms doubling, its give-up time counted from now_ms
 * (created_ms); status (NULL keeps the stored one and its fields)
 * replaces the stored one and drops its note fields (duration=, tests=
 * of the run before). Returns 0, ZH_ENOTFOUND when the store does not know the
 * task, ZH_EINVALID or ZH_ESTORE. */
int zh_store_task_repoll(struct zh_store *s, const char *workflow, bool custom,
			 int64_t task_id, const char *status,
			 int64_t poll_interval_ms, int64_t now_ms,
			 struct zh_error *err);

/* Read one task by row id, or by (workflow, custom, task_id). Returns 0,
 * ZH_ENOTFOUND or ZH_ESTORE. Dispose *out. */
int zh_store_task_get(struct zh_store_task *out, struct zh_store *s, int64_t id,
		      struct zh_error *err);
int zh_store_task_find(struct zh_store_task *out, struct zh_store *s,
		       const char *workflow, bool custom, int64_t task_id,
		       struct zh_error *err);

enum zh_store_task_scope {
	ZH_STORE_TASKS_DUE,	/* not final and next_poll_ms <= now (or
				 * beyond its interval: a clock set back) */
	ZH_STORE_TASKS_PENDING, /* not final (`git zadig sync`) */
	ZH_STORE_TASKS_ALL,	/* final ones too (`git zadig sync --all`) */
};

/* Tasks to poll, earliest next poll first. Returns 0 or ZH_ESTORE.
 * Dispose *out. */
int zh_store_tasks_due(struct zh_store_task_list *out, struct zh_store *s,
		       enum zh_store_task_scope scope, int64_t now_ms,
		       struct zh_error *err);

/* Tasks of one commit of repo, by workflow then task id. Returns 0 or
 * ZH_ESTORE. Dispose *out. */
int zh_store_tasks_of_commit(struct zh_store_task_list *out, struct zh_store *s,
			     const char *repo, const char *commit,
			     struct zh_error *err);

/* Mark every unfinished task first recorded at or before
 * now - give_up_after_ms as final with status "unknown" (polling gave up).
 * *out (may be NULL) gets those tasks as they are now (dispose it).
 * Returns 0, ZH_ESTORE or ZH_ENOMEM (the tasks are marked all the same). */
int zh_store_tasks_give_up(struct zh_store_task_list *out, struct zh_store *s,
			   int64_t now_ms, int64_t give_up_after_ms,
			   struct zh_error *err);

/* ---- notes bookkeeping ---- */

struct zh_store_commit { /* malloc'd strings */
	char *repo;
	char *commit;
};
struct zh_store_commit_list {
	struct zh_store_commit *items;
	size_t len;
};
void zh_store_commit_list_dispose(struct zh_store_commit_list *l);

/* Commits whose note is out of date: a task changed (gen != noted_gen) or
 * a trigger's note line changed (queued -> rejected, queued -> created, new)
 * since zh_store_mark_noted. repo NULL means every repository. Returns 0 or
 * ZH_ESTORE. Dispose *out. */
int zh_store_commits_to_note(struct zh_store_commit_list *out,
			     struct zh_store *s, const char *repo,
			     struct zh_error *err);

/* A repository with notes out of date, and when the newest change no
 * note of it shows yet was recorded (the row's last update). */
struct zh_store_unwritten {
	char *repo; /* malloc'd */
	int64_t changed_ms;
};
struct zh_store_unwritten_list {
	struct zh_store_unwritten *items;
	size_t len;
};
void zh_store_unwritten_list_dispose(struct zh_store_unwritten_list *l);

/* The repositories with commits whose note is out of date, as
 * zh_store_commits_to_note finds them, by name: what a notes writer that
 * failed (a notes ref locked) still has to do. Read off the rows no note
 * shows yet (the indexes tasks_unnoted and triggers_unnoted): the rows
 * already noted cost nothing. Returns 0 or ZH_ESTORE. Dispose *out. */
int zh_store_notes_unwritten(struct zh_store_unwritten_list *out,
			     struct zh_store *s, struct zh_error *err);

/* After the note of a commit was written from triggers and tasks (as read
 * by zh_store_triggers_of_commit and zh_store_tasks_of_commit), record what
 * it now says. A row that changed after it was read stays out of date, so
 * the next round rewrites the note. Either list may be NULL. Returns 0 or
 * ZH_ESTORE. */
int zh_store_mark_noted(struct zh_store *s,
			const struct zh_store_trigger_list *triggers,
			const struct zh_store_task_list *tasks,
			struct zh_error *err);

/* Count every row of repo last changed before before_ms as noted, its
 * note unwritten: for a repository whose notes have nowhere to go (the
 * receiver's project with no webhook.repos entry) for that long, so that
 * it is not listed as out of date every round for good and state_keep
 * forgets its rows. A row that changes afterwards is out of date again.
 * Returns 0, ZH_EINVALID or ZH_ESTORE. */
int zh_store_mark_repo_noted(struct zh_store *s, const char *repo,
			     int64_t before_ms, struct zh_error *err);

/* Earliest time something needs doing: a queued trigger's next try, a
 * 'sending' trigger's lease end, an unfinished task's next poll; and in
 * *newest_ms (may be NULL) when the newest of them was recorded (a
 * trigger's or task's creation, not its last try or poll). Returns 0,
 * ZH_ENOTFOUND when nothing is pending (the poller may exit), or
 * ZH_ESTORE. */
int zh_store_next_wakeup(int64_t *at_ms, int64_t *newest_ms, struct zh_store *s,
			 struct zh_error *err);

/* For a process that commits often and cannot wait (the receiver): the
 * commits of s no longer copy the WAL back into the database file when it
 * has grown (SQLite's automatic checkpoint, which holds up the commit
 * that triggers it); the process calls zh_store_checkpoint from a thread
 * of its own instead, watching zh_store_wal_pages. */
void zh_store_checkpoint_apart(struct zh_store *s);

/* Pages in the WAL after s's last commit (0 before any, or without
 * zh_store_checkpoint_apart). */
int zh_store_wal_pages(struct zh_store *s);

/* Copy what the WAL holds back into the database (a PASSIVE checkpoint:
 * it waits for no reader or writer) on a connection of its own, so that
 * s's users go on meanwhile. Returns 0 or ZH_ESTORE. */
int zh_store_checkpoint(struct zh_store *s, struct zh_error *err);

/* ---- events: webhook deliveries the receiver accepted ---- */

enum zh_store_event_state {
	ZH_STORE_EVENT_NEW,	/* accepted, waiting for a worker */
	ZH_STORE_EVENT_WORKING, /* claimed by a worker */
	ZH_STORE_EVENT_DONE,	/* processed */
	ZH_STORE_EVENT_FAILED,	/* given up (result says why) */
};

struct zh_store_event { /* strings malloc'd; see dispose */
	int64_t id;
	char *key;     /* delivery key */
	char *kind;    /* e.g. "push", "tag_push", "merge_request" */
	char *payload; /* the raw body as received (NUL-terminated) */
	size_t payload_len;
	enum zh_store_event_state state;
	int attempts;
	int64_t next_try_ms, lease_until_ms;
	int64_t received_ms, updated_ms;
	char *result;	  /* may be NULL */
	bool interrupted; /* set by a claim: a worker took it before and never
			   * finished (crash) */
};
void zh_store_event_dispose(struct zh_store_event *e);

/* Store an accepted delivery durably (committed to disk on return 0) as
 * 'new'. key is the delivery key (Idempotency-Key or X-Gitlab-Event-UUID;
 * callers prefix other sources, e.g. "zadig:<uuid>", so they never
 * collide); a key already stored sets *duplicate, stores nothing and still
 * returns 0. Concurrent calls from several threads are committed together
 * (one disk flush for all). Returns 0, ZH_EINVALID, ZH_ESTORE (the receiver
 * answers 503) or ZH_ENOMEM. */
int zh_store_event_add(int64_t *id, bool *duplicate, struct zh_store *s,
		       const char *key, const char *kind, const char *payload,
		       size_t payload_len, int64_t now_ms,
		       struct zh_error *err);

/* One delivery for zh_store_event_add_batch: key, kind, payload,
 * payload_len and now_ms as for zh_store_event_add (borrowed, not copied);
 * duplicate and id are set by the call. */
struct zh_store_event_in {
	const char *key, *kind, *payload;
	size_t payload_len;
	int64_t now_ms;
	const char *done; /* stored already 'done' with this result,
			     without the payload (an event nothing can
			     fire for: nobody reads it), else 'new' */
	bool duplicate;	  /* out: the key was stored before (nothing written) */
	int64_t id;	  /* out: the new event's id, 0 for a duplicate */
};

/* zh_store_event_add of one struct zh_store_event_in (a settled event
 * too: see done), committed together with concurrent calls; in->id and
 * in->duplicate set. Returns as zh_store_event_add. */
int zh_store_event_add_in(struct zh_store_event_in *in, struct zh_store *s,
			  struct zh_error *err);

/* What zh_store_event_add does, for n deliveries gathered by the caller
 * (the receiver's committer thread): all stored in one transaction, one
 * disk flush, committed on return 0 (each item's duplicate and id set; a
 * key twice in items stores the first). All or nothing: returns
 * ZH_EINVALID or ZH_ETOOBIG (an item lacks a key, kind or payload, or is
 * too big; nothing written), ZH_ESTORE, ZH_EBUSY (another process held
 * the store locked past the busy timeout) or ZH_ENOMEM. */
int zh_store_event_add_batch(struct zh_store_event_in *items, size_t n,
			     struct zh_store *s, struct zh_error *err);

/* zh_store_event_add_batch, waiting for the store wait_ms at most (< 0:
 * as long as this process's other threads use it, then another
 * process's lock for the busy timeout), this process's other threads
 * using it and another process's lock (never longer than the busy
 * timeout) together, then ZH_EBUSY: for a caller with a deadline of its
 * own (the receiver's committer). */
int zh_store_event_add_batch_wait(struct zh_store_event_in *items, size_t n,
				  int64_t wait_ms, struct zh_store *s,
				  struct zh_error *err);

/* Atomically take an event due: first one 'working' with an expired lease
 * (a crashed worker: out->interrupted), else the 'new' one due first
 * (next_try_ms <= now; a new event is due when received, a retried one
 * after its back-off; ties by id; a time further ahead than the lease or
 * the back-off was set before the clock was set back and counts as due,
 * after those). It becomes 'working' until
 * now + lease_ms (<= 0: 60 s), attempts + 1. The claim is committed
 * without a disk flush (a power cut may undo it: the event is claimed
 * again). Returns 0, ZH_ENOTFOUND or ZH_ESTORE. Dispose *out. */
int zh_store_event_claim(struct zh_store_event *out, struct zh_store *s,
			 int64_t now_ms, int64_t lease_ms,
			 struct zh_error *err);

/* zh_store_event_claim for up to max events (max >= 1) in one
 * transaction: out[0..*n) (out has room for max) in the order
 * zh_store_event_claim would take them one by one. Looks without taking
 * the write lock first, so that finding nothing is cheap. Returns 0
 * (*n >= 1), ZH_ENOTFOUND (*n = 0), ZH_EINVALID, ZH_ESTORE or ZH_ENOMEM.
 * Dispose each out[i] (nothing to dispose after a failure). */
int zh_store_event_claim_batch(struct zh_store_event *out, size_t max,
			       size_t *n, struct zh_store *s, int64_t now_ms,
			       int64_t lease_ms, struct zh_error *err);

/* Give claimed event e back untouched, as a worker that claimed more than
 * it got to: 'new' again, due when it was, the claim's attempt not
 * counted. Not flushed to disk. Returns 0, ZH_ENOTFOUND when it is not
 * e's claim any more (taken over), ZH_EINVALID or ZH_ESTORE. */
int zh_store_event_unclaim(struct zh_store *s, const struct zh_store_event *e,
			   int64_t now_ms, struct zh_error *err);

/* One result for zh_store_event_done_batch (borrowed). */
struct zh_store_event_result {
	int64_t id;
	bool failed;
	const char *result; /* may be NULL */
};

/* zh_store_event_done for n events in one transaction (not flushed to
 * disk either); ids no longer in the store are skipped. Returns 0 or
 * ZH_ESTORE (none recorded). */
int zh_store_event_done_batch(struct zh_store *s,
			      const struct zh_store_event_result *r, size_t n,
			      int64_t now_ms, struct zh_error *err);

/* Finish event id: done (result may be NULL) or, with failed, given up for
 * good. Not flushed to disk (a power cut may undo it: the event is then
 * processed again, and its triggers are known already). Returns 0,
 * ZH_ENOTFOUND or ZH_ESTORE. */
int zh_store_event_done(struct zh_store *s, int64_t id, bool failed,
			const char *result, int64_t now_ms,
			struct zh_error *err);

/* Put claimed event e back as 'new', next try after zh_store_backoff_ms(
 * e->attempts) (a mirror fetch failed, ...). Returns 0, ZH_ENOTFOUND when
 * it is not 'working' any more, or ZH_ESTORE. */
int zh_store_event_retry(struct zh_store *s, const struct zh_store_event *e,
			 const char *error, int64_t now_ms,
			 struct zh_error *err);

/* Read one event by id. Returns 0, ZH_ENOTFOUND or ZH_ESTORE. Dispose. */
int zh_store_event_get(struct zh_store_event *out, struct zh_store *s,
		       int64_t id, struct zh_error *err);

/* Number of events not yet finished ('new' or 'working'). */
int zh_store_events_pending(int64_t *n, struct zh_store *s,
			    struct zh_error *err);

/* Delete done and failed events received before before_ms (their keys no
 * longer deduplicate). *n (may be NULL) gets how many. Returns 0 or
 * ZH_ESTORE. */
int zh_store_events_prune(int64_t *n, struct zh_store *s, int64_t before_ms,
			  struct zh_error *err);

/* ---- forgetting what is settled ---- */

/* Delete what the store no longer needs, last changed before before_ms:
 * triggers Zadig took or refused, with the state their commit's note
 * shows, and final tasks whose note shows their last status. A created
 * trigger goes with its task, never before it. Notes keep every line; a
 * forgotten trigger no longer deduplicates, so a later push of the same
 * commit to the same ref fires its rule again. In transactions of a few
 * hundred rows, so that no hook waits long for the store. *n (may be
 * NULL) gets how many rows. Returns 0 or ZH_ESTORE (what was deleted
 * before the error stays deleted). */
int zh_store_prune(int64_t *n, struct zh_store *s, int64_t before_ms,
		   struct zh_error *err);

/* ---- meta: small persistent flags ---- */

/* Read key (e.g. "commit_lookup_disabled:<zadig url>") into *value (free()
 * it). Returns 0, ZH_ENOTFOUND or ZH_ESTORE. */
int zh_store_meta_get(char **value, struct zh_store *s, const char *key,
		      struct zh_error *err);

/* Set key to value, or delete it when value is NULL. Returns 0 or
 * ZH_ESTORE. */
int zh_store_meta_set(struct zh_store *s, const char *key, const char *value,
		      struct zh_error *err);

/* ---- the poller lock ---- */

/* Try to take the exclusive lock `<dir>/poller.lock` (flock, not blocking)
 * that keeps one poller per state directory; creates dir and the file
 * like zh_store_open_shared (shared: 0, or as given to it). Returns 0
 * with *fd the lock's descriptor, ZH_STORE_LOCK_HELD (*fd = -1) when
 * another process holds it, or ZH_EIO. Release with
 * zh_store_unlock_poller (or exit). The descriptor is close-on-exec. */
int zh_store_lock_poller(int *fd, const char *dir, int shared,
			 struct zh_error *err);

/* Release a lock from zh_store_lock_poller. fd < 0 is a no-op. */
void zh_store_unlock_poller(int fd);

/* ---- the use lock ---- */

/* Every open store (zh_store_open_shared until zh_store_free) holds a
 * shared lock (flock) on `<dir>/store.lock`, and a hook that writes to a
 * store's spool without opening it holds one through zh_store_lock_use,
 * so that whoever removes the store (zadig-hook uninstall --purge) can
 * wait for the processes that use it: zh_store_lock_removal. One that
 * finds the lock taken for removal waits (5 s at most, then ZH_EBUSY) and,
 * once it has it, fails when the store was removed meanwhile (ZH_ESTORE:
 * "state store '<dir>/state.db' was removed while it was being opened")
 * rather than make it anew. Best effort where the lock file cannot be
 * opened (a store this user may only read): no lock, no error. */

/* Take the shared use lock of the store in dir (made like
 * zh_store_open_shared makes it), for a process that writes there
 * without opening the store. Returns 0 with *fd its descriptor (-1 when
 * there is none to take), or the errors above (then *fd = -1). Release
 * with zh_store_unlock_use (or exit). Close-on-exec. A directory that
 * cannot be made is no error here: the caller's write says why. */
int zh_store_lock_use(int *fd, const char *dir, int shared,
		      struct zh_error *err);
void zh_store_unlock_use(int fd);

/* Try to take the use lock of the existing store directory dir
 * exclusively (not blocking): 0 with *fd its descriptor, when no process
 * uses the store (*fd = -1 when it has no store.lock, or its file system
 * no locks: nobody can hold it then); ZH_STORE_LOCK_HELD (*fd = -1) while
 * one does; ZH_EIO. Remove the directory while holding it, then
 * zh_store_unlock_removal. */
int zh_store_lock_removal(int *fd, const char *dir, struct zh_error *err);
void zh_store_unlock_removal(int fd);

#endif
