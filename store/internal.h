/* Shared by the files of store/ only: the handle and SQLite helpers. */
#ifndef ZH_STORE_INTERNAL_H
#define ZH_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/store.h"
#include "util/error.h"

struct event_req; /* a zh_store_event_add waiting for a group commit */

/* Prepared statements kept for the hot paths (store_cached): room for
 * every string constant passed to it (17 today). */
#define STORE_CACHE 32

struct zh_store {
	sqlite3 *db;
	char *path;
	/* Serialises every use of db, so that one thread's transaction never
	 * interleaves with another's statements on the shared connection. */
	pthread_mutex_t mu;
	int busy_ms; /* db's busy timeout (zh_store_set_busy_timeout) */
	/* Group commit of zh_store_event_add: requests queue here and one
	 * leader writes them all in a single transaction. */
	pthread_mutex_t gc_mu;
	pthread_cond_t gc_cv;
	struct event_req *gc_head, **gc_tail;
	bool gc_leader;
	/* zh_store_checkpoint_apart: the WAL's size after the last commit
	 * (wal hook), and the connection zh_store_checkpoint uses */
	atomic_int wal_pages;
	pthread_mutex_t ckpt_mu;
	sqlite3 *ckpt_db;
	/* a checkpoint's first pass is done: the next commit copies what is
	 * left (zh_store_checkpoint) */
	atomic_bool ckpt_tail;
	/* the shared use lock of <dir>/store.lock (store.h), or -1 */
	int use_fd;
	/* store_cached: statements by the address of their SQL text */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STORE_CACHE];
};

void store_lock(struct zh_store *s);
void store_unlock(struct zh_store *s);

/* For waits within a process: a wall clock set back does not stretch
 * them. */
int64_t store_mono_ms(void);

/* store_lock, waiting ms at most (another thread of this process may be
 * waiting for another process's lock with it): else ZH_EBUSY ("state
 * store '...' is busy: cannot <what>: held by another thread of this
 * process"). */
int store_lock_within(struct zh_store *s, int64_t ms, const char *what,
		      struct zh_error *err);

/* Turn SQLite result rc of doing `what` into a ZH_ESTORE message naming the
 * store (corrupt, full, read-only and busy get their own wording); returns
 * ZH_ESTORE, ZH_EBUSY for SQLITE_BUSY and SQLITE_LOCKED (a lock another
 * connection held past the busy timeout), or ZH_ENOMEM for SQLITE_NOMEM. */
int store_fail(struct zh_store *s, int rc, const char *what,
	       struct zh_error *err);

/* The name of the VFS store connections open with (store/vfs.c). */
const char *store_vfs(void);
int store_prepare(sqlite3_stmt **st, struct zh_store *s, const char *sql,
		  struct zh_error *err);
int store_exec(struct zh_store *s, const char *sql, struct zh_error *err);
/* store_prepare for the statements run for every event: sql must be a
 * string constant (it is looked up by address), the statement is kept
 * prepared (parsing is most of the cost of a small statement) and must be
 * given back with store_release, never finalized. With the store locked. */
int store_cached(sqlite3_stmt **st, struct zh_store *s, const char *sql,
		 struct zh_error *err);
/* Reset a store_cached statement (NULL-safe), ending its read. */
void store_release(sqlite3_stmt *st);
/* Flush commits to disk (full, the default: synchronous=FULL) or not
 * (synchronous=NORMAL, in WAL mode still atomic; a power cut may lose the
 * last such commits, and the next flushed commit makes them durable too).
 * Only the claims and results of events go unflushed: losing one only
 * makes its event be processed again, which records no trigger twice (a
 * trigger is unique per repo, ref, commit and rule and its own writes are
 * flushed). Call with the store locked; set it back to full before
 * unlocking. */
void store_sync(struct zh_store *s, bool full);
int store_begin(struct zh_store *s, struct zh_error *err);
int store_commit(struct zh_store *s, struct zh_error *err);
void store_rollback(struct zh_store *s);

/* Bind helpers; a NULL string binds SQL NULL. They return the SQLite rc. */
int store_bind_text(sqlite3_stmt *st, int i, const char *v);
int store_bind_int(sqlite3_stmt *st, int i, int64_t v);

/* Copy of text column i, NULL for SQL NULL; sets *oom on allocation
 * failure. */
char *store_col_dup(sqlite3_stmt *st, int i, bool *oom);

/* items (*cap of size bytes each) with room for one past len: itself, or
 * moved to twice the room when full; NULL when out of memory (items is
 * kept, the caller's to free). */
void *store_grow(void *items, size_t *cap, size_t len, size_t size);

/* Insert or update a task row (zh_store_task_upsert) with the store
 * already locked, inside or outside a transaction. */
int store_task_upsert(int64_t *id, struct zh_store *s,
		      const struct zh_store_task *t, int64_t now_ms,
		      struct zh_error *err);

/* zh_store_task_created with the store already locked, inside a
 * transaction; listed: t is what the commitId lookup lists, and a row
 * of another commit is replaced only as zh_store_task_listed would (one
 * not replaced is updated as zh_store_task_upsert does). */
int store_task_created(int64_t *id, struct zh_store *s,
		       const struct zh_store_task *t, bool listed,
		       int64_t now_ms, struct zh_error *err);

/* Random bits for jitter. */
unsigned store_random(void);

/* The longest back-off zh_store_backoff_ms gives, jitter included. */
#define STORE_BACKOFF_CAP_MS (5 * 60 * 1000)

/* Times are the wall clock's, stored for other processes and after a
 * reboot. A due time or lease further ahead of now than this past the
 * longest the store ever sets one (the back-off's cap, a lease's length,
 * a task's poll interval) was set by a clock that has been set back since
 * (NTP fixing a fast clock): it counts as now, so that nothing waits for
 * the size of the step. Short steps (under this) are waited out. */
#define STORE_CLOCK_SLACK_MS 60000
#define STORE_CLOCK_SLACK_SQL "60000"

/* mkdir -p with mode 0700 for missing parts; with shared (util/perm.h)
 * those and dir itself (when ours) get that mode. Returns 0 or -errno. */
int store_mkdirs(const char *dir, int shared);

/* The shared use lock of the store directory dir (store.h), whose
 * database is db (for messages), into *fd (-1 when there is none to
 * take). Returns 0, ZH_EBUSY, ZH_ESTORE (removed meanwhile) or
 * ZH_ENOMEM. */
int store_use_lock(int *fd, const char *dir, int shared, const char *db,
		   struct zh_error *err);

#endif
