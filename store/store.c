/* Opening the store, its schema, SQLite helpers, meta and small utilities. */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/perm.h"

#include "util/banned.h"

/* Schema migrations: migrations[v] takes a database from user_version v to
 * v + 1. Append only; never edit a released step. */
static const char *const migrations[] = {
    /* v1: the initial schema. */
    "CREATE TABLE triggers ("
    "  id INTEGER PRIMARY KEY,"
    "  repo TEXT NOT NULL, ref TEXT NOT NULL, commit_id TEXT NOT NULL,"
    "  rule TEXT NOT NULL,"
    /* '' for keyed triggers; the trigger key for forced ones, so that an
     * explicit `git zadig trigger` never collides with the key */
    "  dedupe TEXT NOT NULL DEFAULT '',"
    "  trigger_key TEXT NOT NULL UNIQUE,"
    "  workflow TEXT NOT NULL, custom INTEGER NOT NULL DEFAULT 0,"
    "  project TEXT, method TEXT NOT NULL, path TEXT NOT NULL, body TEXT,"
    "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
    "    ('queued', 'sending', 'created', 'rejected')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_try_ms INTEGER NOT NULL DEFAULT 0,"
    "  lease_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT, task_id INTEGER, url TEXT,"
    /* what the commit's note shows for it: '', queued, created, rejected */
    "  noted_state TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  UNIQUE (repo, ref, commit_id, rule, dedupe)"
    ");"
    "CREATE INDEX triggers_due ON triggers (state, next_try_ms);"
    "CREATE INDEX triggers_commit ON triggers (commit_id);"
    "CREATE TABLE tasks ("
    "  id INTEGER PRIMARY KEY,"
    "  workflow TEXT NOT NULL, custom INTEGER NOT NULL,"
    "  task_id INTEGER NOT NULL, project TEXT,"
    "  repo TEXT, ref TEXT, commit_id TEXT, rule TEXT,"
    "  status TEXT NOT NULL, url TEXT, extra TEXT,"
    "  final INTEGER NOT NULL DEFAULT 0,"
    "  next_poll_ms INTEGER NOT NULL DEFAULT 0,"
    "  poll_interval_ms INTEGER NOT NULL DEFAULT 0,"
    "  gen INTEGER NOT NULL DEFAULT 1, noted_gen INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  UNIQUE (workflow, custom, task_id)"
    ");"
    "CREATE INDEX tasks_pending ON tasks (final, next_poll_ms);"
    "CREATE INDEX tasks_commit ON tasks (commit_id);"
    "CREATE INDEX tasks_unnoted ON tasks (repo, commit_id)"
    "  WHERE gen != noted_gen;"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  delivery_key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'new' CHECK (state IN"
    "    ('new', 'working', 'done', 'failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_try_ms INTEGER NOT NULL DEFAULT 0,"
    "  lease_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  result TEXT,"
    "  received_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX events_due ON events (state, next_try_ms);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    "  WITHOUT ROWID;",
    /* v2: the payloads apart from the events' changing state, so that a
     * claim or a result rewrites a small row (many per page), not the
     * page holding a body of a few KB. Same id as the event. */
    "CREATE TABLE event_payloads ("
    "  id INTEGER PRIMARY KEY, payload TEXT NOT NULL"
    ");"
    "INSERT INTO event_payloads (id, payload) SELECT id, payload FROM events;"
    "ALTER TABLE events DROP COLUMN payload;",
    /* v3: the states' CHECKs as comparisons. SQLite checks `state IN
     * (four values)` by building a temporary B-tree of the list, with a
     * pager of its own, on every insert and on every update of a state:
     * 2.6-3.8 us an insert, of the ~40 the receiver spends on an event
     * (docs/BENCHMARKS.md, twelfth measurement). A constraint cannot be
     * altered: both tables are rebuilt, as SQLite documents (new table,
     * copy, drop, rename, indexes again). */
    "CREATE TABLE triggers_v3 ("
    "  id INTEGER PRIMARY KEY,"
    "  repo TEXT NOT NULL, ref TEXT NOT NULL, commit_id TEXT NOT NULL,"
    "  rule TEXT NOT NULL,"
    "  dedupe TEXT NOT NULL DEFAULT '',"
    "  trigger_key TEXT NOT NULL UNIQUE,"
    "  workflow TEXT NOT NULL, custom INTEGER NOT NULL DEFAULT 0,"
    "  project TEXT, method TEXT NOT NULL, path TEXT NOT NULL, body TEXT,"
    "  state TEXT NOT NULL DEFAULT 'queued' CHECK (state = 'queued' OR"
    "    state = 'sending' OR state = 'created' OR state = 'rejected'),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_try_ms INTEGER NOT NULL DEFAULT 0,"
    "  lease_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT, task_id INTEGER, url TEXT,"
    "  noted_state TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  UNIQUE (repo, ref, commit_id, rule, dedupe)"
    ");"
    "INSERT INTO triggers_v3 (id, repo, ref, commit_id, rule, dedupe,"
    "  trigger_key, workflow, custom, project, method, path, body, state,"
    "  attempts, next_try_ms, lease_until_ms, last_error, task_id, url,"
    "  noted_state, created_ms, updated_ms)"
    "  SELECT id, repo, ref, commit_id, rule, dedupe, trigger_key,"
    "  workflow, custom, project, method, path, body, state, attempts,"
    "  next_try_ms, lease_until_ms, last_error, task_id, url, noted_state,"
    "  created_ms, updated_ms FROM triggers;"
    "DROP TABLE triggers;"
    "ALTER TABLE triggers_v3 RENAME TO triggers;"
    "CREATE INDEX triggers_due ON triggers (state, next_try_ms);"
    "CREATE INDEX triggers_commit ON triggers (commit_id);"
    "CREATE TABLE events_v3 ("
    "  id INTEGER PRIMARY KEY,"
    "  delivery_key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'new' CHECK (state = 'new' OR"
    "    state = 'working' OR state = 'done' OR state = 'failed'),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_try_ms INTEGER NOT NULL DEFAULT 0,"
    "  lease_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  result TEXT,"
    "  received_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL"
    ");"
    "INSERT INTO events_v3 (id, delivery_key, kind, state, attempts,"
    "  next_try_ms, lease_until_ms, result, received_ms, updated_ms)"
    "  SELECT id, delivery_key, kind, state, attempts, next_try_ms,"
    "  lease_until_ms, result, received_ms, updated_ms FROM events;"
    "DROP TABLE events;"
    "ALTER TABLE events_v3 RENAME TO events;"
    "CREATE INDEX events_due ON events (state, next_try_ms);",
    /* v4: the triggers whose state no note shows yet, as tasks_unnoted is
     * for tasks. zh_store_commits_to_note, in every hook run and poller
     * round, read every trigger the store ever recorded: a hook run took
     * 141 ms instead of 6.7 with 100,000 of them (docs/BENCHMARKS.md,
     * fifteenth measurement). The condition is the query's, term for term. */
    "CREATE INDEX triggers_unnoted ON triggers (repo, commit_id)"
    "  WHERE CASE state WHEN 'sending' THEN 'queued' ELSE state END"
    "  != noted_state;",
    /* v5: what zh_store_prune may forget, by age: settled triggers and
     * final tasks. Partial, so that a row enters it once, when it settles,
     * and the triggers still being sent or the tasks still polled cost
     * nothing; the conditions are the prune's, term for term. */
    "CREATE INDEX triggers_settled ON triggers (updated_ms)"
    "  WHERE state = 'created' OR state = 'rejected';"
    "CREATE INDEX tasks_final ON tasks (updated_ms) WHERE final = 1;"
    /* and when Zadig says it made the task (create_time, its clock): a
     * detail naming a later one is another task that took the id */
    "ALTER TABLE tasks ADD COLUMN zadig_created INTEGER NOT NULL "
    "DEFAULT 0;",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(NMIGRATIONS == ZH_STORE_SCHEMA_VERSION,
	       "one migration per schema version");

void store_lock(struct zh_store *s)
{
	pthread_mutex_lock(&s->mu);
}

int store_lock_within(struct zh_store *s, int64_t ms, const char *what,
		      struct zh_error *err)
{
	struct timespec ts;

	if (pthread_mutex_trylock(&s->mu) == 0)
		return 0;
	/* the wall clock's: a step while a thread waits here only moves the
	 * end of a wait of seconds */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_mutex_timedlock(&s->mu, &ts) == 0)
		return 0;
	return zh_error_set(err, ZH_EBUSY,
			    "state store '%s' is busy: cannot %s: held by "
			    "another thread of this process",
			    s->path, what);
}

void store_unlock(struct zh_store *s)
{
	pthread_mutex_unlock(&s->mu);
}

int store_fail(struct zh_store *s, int rc, const char *what,
	       struct zh_error *err)
{
	const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
	int sys = s->db ? sqlite3_system_errno(s->db) : 0;

	/* errmsg may describe an older call when rc came from elsewhere */
	if (!msg || !strcmp(msg, "not an error"))
		msg = sqlite3_errstr(rc);
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return zh_error_set(err, ZH_ENOMEM,
				    "out of memory in state "
				    "store '%s'",
				    s->path);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return zh_error_set(err, ZH_ESTORE,
				    "state store '%s' is corrupt: %s", s->path,
				    msg);
	case SQLITE_FULL:
		return zh_error_set(err, ZH_ESTORE,
				    "state store '%s' is full: %s", s->path,
				    msg);
	case SQLITE_READONLY:
		return zh_error_set(err, ZH_ESTORE,
				    "state store '%s' is read-only: %s",
				    s->path, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		/* its own code: trying again later works (the hook spools) */
		return zh_error_set(err, ZH_EBUSY,
				    "state store '%s' is busy: cannot %s: %s",
				    s->path, what, msg);
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		if (sys)
			return zh_error_set(err, ZH_ESTORE,
					    "state store '%s': cannot %s: %s "
					    "(%s)",
					    s->path, what, msg, strerror(sys));
		break;
	}
	return zh_error_set(err, ZH_ESTORE, "state store '%s': cannot %s: %s",
			    s->path, what, msg);
}

int store_prepare(sqlite3_stmt **st, struct zh_store *s, const char *sql,
		  struct zh_error *err)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
		return store_fail(s, rc, "prepare a query", err);
	}
	return 0;
}

int store_exec(struct zh_store *s, const char *sql, struct zh_error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_fail(s, rc, "update", err);
	return 0;
}

int store_cached(sqlite3_stmt **st, struct zh_store *s, const char *sql,
		 struct zh_error *err)
{
	size_t i;
	int ret;

	for (i = 0; i < STORE_CACHE && s->cache[i].sql; i++)
		if (s->cache[i].sql == sql) {
			*st = s->cache[i].st;
			return 0;
		}
	/* a statement that is not kept would never be finalized */
	if (i == STORE_CACHE)
		return zh_error_set(err, ZH_ESTORE,
				    "state store '%s': more than %d kept "
				    "statements (STORE_CACHE)",
				    s->path, STORE_CACHE);
	if ((ret = store_prepare(st, s, sql, err)))
		return ret;
	s->cache[i].sql = sql;
	s->cache[i].st = *st;
	return 0;
}

void store_release(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

void store_sync(struct zh_store *s, bool full)
{
	static const char sync_full[] = "PRAGMA synchronous = FULL";
	static const char sync_normal[] = "PRAGMA synchronous = NORMAL";
	sqlite3_stmt *st = NULL;

	/* a connection setting, changed under the store's lock only */
	if (store_cached(&st, s, full ? sync_full : sync_normal, NULL) == 0) {
		sqlite3_step(st);
		store_release(st);
	}
}

int store_begin(struct zh_store *s, struct zh_error *err)
{
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_fail(s, rc, "begin a transaction", err);
	return 0;
}

/* One PASSIVE checkpoint on the checkpoint connection (copies what it can
 * without waiting for anyone; a reader in another process only defers the
 * WAL's new start). The first pass of zh_store_checkpoint leaves a tail
 * to copy when the WAL held anything; a tail pass that copied all of the
 * WAL ends it. Called with ckpt_mu held (and the store's lock for a
 * tail). */
static int checkpoint_pass(struct zh_store *s, bool tail)
{
	int log = -1, done = -1;
	int rc = sqlite3_wal_checkpoint_v2(
	    s->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);

	if (rc != SQLITE_OK)
		return rc;
	if (tail && log == done)
		atomic_store(&s->ckpt_tail, false);
	else if (!tail && log > 0)
		atomic_store(&s->ckpt_tail, true);
	return rc;
}

/* The tail of zh_store_checkpoint, by a committer still holding the
 * store's lock; skipped while a checkpoint runs (the next commit tries
 * again). */
static void checkpoint_tail(struct zh_store *s)
{
	if (pthread_mutex_trylock(&s->ckpt_mu) != 0)
		return;
	if (s->ckpt_db && atomic_load(&s->ckpt_tail))
		(void)checkpoint_pass(s, true);
	pthread_mutex_unlock(&s->ckpt_mu);
}

int store_commit(struct zh_store *s, struct zh_error *err)
{
	int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);

	if (rc != SQLITE_OK) {
		/* its code, not ZH_ESTORE: a busy commit is tried again
		 * later (ZH_EBUSY), as any other busy step */
		rc = store_fail(s, rc, "commit", err);
		store_rollback(s);
		return rc;
	}
	if (atomic_load_explicit(&s->ckpt_tail, memory_order_relaxed))
		checkpoint_tail(s);
	return 0;
}

void store_rollback(struct zh_store *s)
{
	/* after some errors SQLite has already rolled back */
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (!v)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int store_bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

void *store_grow(void *items, size_t *cap, size_t len, size_t size)
{
	size_t ncap;

	if (len < *cap)
		return items;
	ncap = *cap ? 2 * *cap : 8;
	if (!(items = realloc(items, ncap * size)))
		return NULL;
	*cap = ncap;
	return items;
}

char *store_col_dup(sqlite3_stmt *st, int i, bool *oom)
{
	const unsigned char *t;
	int n;
	char *p;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	t = sqlite3_column_text(st, i);
	n = sqlite3_column_bytes(st, i);
	if (!t) {
		*oom = true;
		return NULL;
	}
	p = malloc((size_t)n + 1);
	if (!p) {
		*oom = true;
		return NULL;
	}
	memcpy(p, t, (size_t)n);
	p[n] = '\0';
	return p;
}

unsigned store_random(void)
{
	unsigned r;
	struct timespec ts;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	/* jitter only spreads retries: the clock is good enough here */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 16);
}

int store_mkdirs(const char *dir, int shared)
{
	char *p = strdup(dir);
	char *c;
	struct stat st;
	int ret = 0;

	if (!p)
		return -ENOMEM;
	for (c = p + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		if (c[-1] != '/') {
			char save = *c;

			*c = '\0';
			if (mkdir(p, 0700) == 0)
				(void)zh_perm_adjust(p, shared);
			else if (errno != EEXIST) {
				ret = -errno;
				goto out;
			}
			*c = save;
		}
		if (*c == '\0')
			break;
	}
	if (stat(p, &st) < 0)
		ret = -errno;
	else if (!S_ISDIR(st.st_mode))
		ret = -ENOTDIR;
	else if (st.st_uid == geteuid())
		/* made before the repository was shared: its owner's next
		 * run lets the group in */
		(void)zh_perm_adjust(p, shared);
out:
	free(p);
	return ret;
}

static int user_version(int *v, struct zh_store *s, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if ((ret = store_prepare(&st, s, "PRAGMA user_version", err)))
		return ret;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		ret = store_fail(s, rc, "read the schema version", err);
		goto out;
	}
	*v = sqlite3_column_int(st, 0);
out:
	sqlite3_finalize(st);
	return ret;
}

static int migrate(struct zh_store *s, struct zh_error *err)
{
	char sql[64];
	int v, ret;

	if ((ret = user_version(&v, s, err)))
		return ret;
	/* the common case needs no write lock */
	if (v == NMIGRATIONS)
		return 0;
	if ((ret = store_begin(s, err)))
		return ret;
	/* another process may have migrated while we waited for the lock */
	if ((ret = user_version(&v, s, err)))
		goto out;
	if (v > NMIGRATIONS) {
		ret = zh_error_set(err, ZH_ESTORE,
				   "state store '%s' has schema version %d, "
				   "newer than this zadig-hook knows (%d)",
				   s->path, v, NMIGRATIONS);
		goto out;
	}
	for (; v < NMIGRATIONS; v++)
		if ((ret = store_exec(s, migrations[v], err)))
			goto out;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", NMIGRATIONS);
	if ((ret = store_exec(s, sql, err)))
		goto out;
	ret = store_commit(s, err);
out:
	if (ret)
		store_rollback(s);
	return ret;
}

/* Why the database cannot be opened, in the user's terms: SQLite's last
 * errno is often that of a probe (ENOENT of a journal), not the cause. */
static const char *open_reason(struct zh_store *s, int rc)
{
	char *slash = strrchr(s->path, '/');
	int sys = s->db ? sqlite3_system_errno(s->db) : 0;
	int e = 0;

	/* the directory must be writable too: WAL keeps files beside it */
	if (slash) {
		*slash = '\0';
		if (access(s->path, W_OK | X_OK) < 0)
			e = errno;
		*slash = '/';
	}
	if (!e && access(s->path, F_OK) == 0 &&
	    access(s->path, R_OK | W_OK) < 0)
		e = errno;
	if (e)
		return strerror(e);
	if (sys)
		return strerror(sys);
	return s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
}

/* The first access to the file failed: say why. */
static int open_fail(struct zh_store *s, int rc, struct zh_error *err)
{
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_NOMEM:
	case SQLITE_BUSY:
		return store_fail(s, rc, "open", err);
	}
	return zh_error_set(err, ZH_ESTORE, "cannot open state store '%s': %s",
			    s->path, open_reason(s, rc));
}

int64_t store_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long a connection waits for another one's lock. */
#define BUSY_MS 5000

/* Switch the file to WAL (a no-op once it is). Where another process is
 * creating the same file, or switching it, at the same moment (the two
 * hooks of the first push into a repository), SQLite answers SQLITE_BUSY
 * at once instead of calling the busy handler: tried again, a little
 * later each time, for as long as a lock is waited for. */
static int wal_mode(struct zh_store *s, struct zh_error *err)
{
	struct timespec pause = {0, 500000};
	int64_t until = store_mono_ms() + BUSY_MS;
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if ((ret = store_prepare(&st, s, "PRAGMA journal_mode = WAL", err)))
		return ret;
	while ((rc = sqlite3_step(st)) != SQLITE_ROW &&
	       (rc & 0xff) == SQLITE_BUSY && store_mono_ms() < until) {
		sqlite3_reset(st);
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 16000000L)
			pause.tv_nsec *= 2;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : open_fail(s, rc, err);
}

/* Settings of the connection. The first statement touching the file is
 * the journal mode switch: a file that is not a database fails here. */
static int configure(struct zh_store *s, struct zh_error *err)
{
	int ret;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_MS);
	s->busy_ms = BUSY_MS;
	if ((ret = wal_mode(s, err)))
		return ret;
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return zh_error_set(err, ZH_ESTORE,
				    "cannot open state store '%s': the file is "
				    "read-only",
				    s->path);
	/* FULL: a commit is on disk when it returns, also in WAL mode. The
	 * receiver replies 202 and the hook tells the pusher "queued" only
	 * after that. */
	if ((ret = store_exec(s, "PRAGMA synchronous = FULL", err)))
		return ret;
	/* the WAL file shrinks back after a burst instead of staying big */
	if ((ret = store_exec(s, "PRAGMA journal_size_limit = 16777216", err)))
		return ret;
	/* 1 MiB of page cache (SQLite's default is 2 MiB): the hot pages
	 * (the B-tree interiors of the keys looked up, the queue's index)
	 * fit with room to spare, and the receiver stays within its memory
	 * budget (docs/BENCHMARKS.md) */
	if ((ret = store_exec(s, "PRAGMA cache_size = -1024", err)))
		return ret;
	if ((ret = store_exec(s, "PRAGMA foreign_keys = ON", err)))
		return ret;
	/* Most connections are short-lived (a hook run, a poller, a CLI
	 * verb): closing the last one would copy the WAL back, fsync the
	 * database and delete the WAL and its index, and the next process
	 * would create them again, syncing the directory and the new WAL's
	 * header before its first commit: ~2.5 ms of every hook run
	 * (docs/BENCHMARKS.md). The WAL stays instead (as after a crash);
	 * the next process reads it back to rebuild the index, ~2 ms per MB,
	 * so it is copied back whenever it passes 64 pages (256 KiB), at
	 * the commit that grows it past that. The receiver checkpoints
	 * from a thread of its own (zh_store_checkpoint_apart). */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
			  (int *)NULL);
	if ((ret = store_exec(s, "PRAGMA wal_autocheckpoint = 64", err)))
		return ret;
	return store_exec(s, "PRAGMA trusted_schema = OFF", err);
}

/* The database file and its WAL and index in the modes of shared: the
 * file made here first, as SQLite would make it 0644 whatever the group
 * needs, and SQLite gives the WAL and the index the file's mode when it
 * creates them. Those an earlier run made (ours) are set too; another
 * user's are left (opening them says what is wrong). */
static void shared_files(const char *db, int shared)
{
	static const char *const suffix[] = {"-wal", "-shm"};
	char path[PATH_MAX];
	size_t i;
	int fd;

	fd = open(db, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		(void)zh_perm_fadjust(fd, shared);
		close(fd);
	}
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++)
		if ((size_t)snprintf(path, sizeof(path), "%s%s", db,
				     suffix[i]) < sizeof(path))
			(void)zh_perm_adjust(path, shared);
}

int zh_store_open(struct zh_store **out, const char *dir, struct zh_error *err)
{
	return zh_store_open_shared(out, dir, 0, err);
}

int zh_store_open_shared(struct zh_store **out, const char *dir, int shared,
			 struct zh_error *err)
{
	struct zh_store *s = NULL;
	size_t n;
	int rc, ret = 0, e;

	*out = NULL;
	if (!dir || !*dir)
		return zh_error_set(err, ZH_EINVALID,
				    "state store directory is empty");
	s = calloc(1, sizeof(*s));
	if (!s)
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	s->use_fd = -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->gc_mu, NULL);
	pthread_mutex_init(&s->ckpt_mu, NULL);
	pthread_cond_init(&s->gc_cv, NULL);
	s->gc_tail = &s->gc_head;
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	s->path = malloc(n + sizeof("/state.db"));
	if (!s->path) {
		ret = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(s->path, n + sizeof("/state.db"), "%.*s/state.db", (int)n,
		 dir);
	if ((e = store_mkdirs(dir, shared)) < 0) {
		ret = zh_error_set(err, ZH_ESTORE,
				   "cannot open state store '%s': cannot "
				   "create directory '%s': %s",
				   s->path, dir, strerror(-e));
		goto out;
	}
	if ((ret = store_use_lock(&s->use_fd, dir, shared, s->path, err)))
		goto out;
	if (shared)
		shared_files(s->path, shared);
	rc = sqlite3_open_v2(s->path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW,
			     store_vfs());
	if (rc != SQLITE_OK) {
		ret = open_fail(s, rc, err);
		goto out;
	}
	if ((ret = configure(s, err)))
		goto out;
	ret = migrate(s, err);
out:
	if (ret) {
		zh_store_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void zh_store_free(struct zh_store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < STORE_CACHE; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_close_v2(s->db);
	sqlite3_close_v2(s->ckpt_db);
	pthread_mutex_destroy(&s->ckpt_mu);
	pthread_cond_destroy(&s->gc_cv);
	pthread_mutex_destroy(&s->gc_mu);
	pthread_mutex_destroy(&s->mu);
	if (s->use_fd >= 0)
		close(s->use_fd);
	free(s->path);
	free(s);
}

void zh_store_set_busy_timeout(struct zh_store *s, int64_t ms)
{
	/* SQLite takes an int; <= 0 turns the waiting off */
	if (ms > INT_MAX)
		ms = INT_MAX;
	store_lock(s);
	s->busy_ms = ms > 0 ? (int)ms : 0;
	sqlite3_busy_timeout(s->db, s->busy_ms);
	store_unlock(s);
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct zh_store *s = arg;

	(void)db;
	(void)name;
	atomic_store(&s->wal_pages, pages);
	return SQLITE_OK;
}

void zh_store_checkpoint_apart(struct zh_store *s)
{
	store_lock(s);
	/* replaces SQLite's automatic checkpoint (itself a wal hook) */
	sqlite3_wal_hook(s->db, wal_hook, s);
	store_unlock(s);
}

int zh_store_wal_pages(struct zh_store *s)
{
	return atomic_load(&s->wal_pages);
}

int zh_store_checkpoint(struct zh_store *s, struct zh_error *err)
{
	int rc, ret = 0;

	pthread_mutex_lock(&s->ckpt_mu);
	if (!s->ckpt_db) {
		rc = sqlite3_open_v2(s->path, &s->ckpt_db,
				     SQLITE_OPEN_READWRITE |
					 SQLITE_OPEN_FULLMUTEX |
					 SQLITE_OPEN_NOFOLLOW,
				     store_vfs());
		if (rc == SQLITE_OK) {
			sqlite3_busy_timeout(s->ckpt_db, BUSY_MS);
			/* the database file is flushed before the WAL is
			 * reused */
			rc = sqlite3_exec(s->ckpt_db,
					  "PRAGMA synchronous = FULL", NULL,
					  NULL, NULL);
		}
		if (rc != SQLITE_OK) {
			ret = zh_error_set(err, ZH_ESTORE,
					   "state store '%s': cannot open for "
					   "a checkpoint: %s",
					   s->path, sqlite3_errstr(rc));
			sqlite3_close_v2(s->ckpt_db);
			s->ckpt_db = NULL;
			goto out;
		}
	}
	/* The WAL starts over at a commit whose transaction began after a
	 * checkpoint had copied all of it. Under a steady stream of commits
	 * the next one has always begun before a checkpoint ends, so the WAL
	 * would never start over: it grew without bound (520 MB in 10 s of
	 * wrk), each commit allocating new blocks and each page lookup
	 * searching a longer WAL index. So a checkpoint has two passes: this
	 * one copies the bulk without holding anyone up, and the tail (the
	 * frames committed meanwhile) is copied with this process's writers
	 * held off by the store's lock: by the next commit (store_commit),
	 * or here at the next call if nobody has committed since. The
	 * transaction after the tail writes from the WAL's start again. */
	if (atomic_load(&s->ckpt_tail)) {
		if (pthread_mutex_trylock(&s->mu) != 0)
			goto out; /* a writer: its commit copies the tail */
		rc = checkpoint_pass(s, true);
		store_unlock(s);
	} else {
		rc = checkpoint_pass(s, false);
	}
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
		ret = zh_error_set(err, ZH_ESTORE,
				   "state store '%s': cannot checkpoint: %s",
				   s->path, sqlite3_errmsg(s->ckpt_db));
out:
	pthread_mutex_unlock(&s->ckpt_mu);
	return ret;
}

const char *zh_store_path(const struct zh_store *s)
{
	return s->path;
}

int zh_store_schema_version(int *version, struct zh_store *s,
			    struct zh_error *err)
{
	int ret;

	store_lock(s);
	ret = user_version(version, s, err);
	store_unlock(s);
	return ret;
}

int zh_store_meta_get(char **value, struct zh_store *s, const char *key,
		      struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	bool oom = false;
	int rc, ret;

	*value = NULL;
	if (!key)
		return zh_error_set(err, ZH_EINVALID, "meta key is missing");
	store_lock(s);
	if ((ret = store_prepare(&st, s,
				 "SELECT value FROM meta WHERE key = ?1", err)))
		goto out;
	store_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = zh_error_set(err, ZH_ENOTFOUND, "no value for '%s'", key);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = store_fail(s, rc, "read a flag", err);
		goto out;
	}
	*value = store_col_dup(st, 0, &oom);
	if (oom || !*value)
		ret = zh_error_set(err, ZH_ENOMEM, "out of memory");
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

int zh_store_meta_set(struct zh_store *s, const char *key, const char *value,
		      struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if (!key)
		return zh_error_set(err, ZH_EINVALID, "meta key is missing");
	store_lock(s);
	ret = store_prepare(&st, s,
			    value ? "INSERT INTO meta (key, value) "
				    "VALUES (?1, ?2) ON CONFLICT (key) "
				    "DO UPDATE SET value = excluded.value"
				  : "DELETE FROM meta WHERE key = ?1",
			    err);
	if (ret)
		goto out;
	store_bind_text(st, 1, key);
	if (value)
		store_bind_text(st, 2, value);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "write a flag", err);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

int zh_store_ping(struct zh_store *s, int64_t now_ms, size_t probe_bytes,
		  struct zh_error *err)
{
	char v[32];
	int rc;

	snprintf(v, sizeof(v), "%lld", (long long)now_ms);
	if (probe_bytes) {
		char *big = malloc(probe_bytes + 1);

		if (!big)
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		memset(big, 'p', probe_bytes);
		big[probe_bytes] = '\0';
		rc = zh_store_meta_set(s, "healthz", big, err);
		free(big);
		if (rc < 0)
			return rc;
	}
	return zh_store_meta_set(s, "healthz", v, err);
}

int64_t zh_store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int zh_store_new_key(char out[ZH_STORE_KEY_LEN + 1], struct zh_error *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[ZH_STORE_KEY_LEN / 2];
	size_t got = 0;
	ssize_t r;
	size_t i;

	while (got < sizeof(b)) {
		r = getrandom(b + got, sizeof(b) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return zh_error_set(err, ZH_EIO,
					    "cannot get random bytes: %s",
					    strerror(errno));
		}
		got += (size_t)r;
	}
	for (i = 0; i < sizeof(b); i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[ZH_STORE_KEY_LEN] = '\0';
	return 0;
}

int64_t zh_store_backoff_ms(int attempts, unsigned random)
{
	const int64_t cap = STORE_BACKOFF_CAP_MS;
	int64_t base = 1000, ms;
	int i;

	for (i = 1; i < attempts && base < cap; i++)
		base *= 2;
	if (base > cap)
		base = cap;
	ms = base * (800 + (int64_t)(random % 401)) / 1000;
	return ms > cap ? cap : ms;
}
