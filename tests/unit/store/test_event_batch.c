/* Batched claims and results of events, the payloads kept apart (schema
 * v2) and the migration of a v1 store, the WAL checkpoint apart. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "tests/unit/store/helpers.h"
#include "util/banned.h"
#include "util/error.h"

static const char payload[] = "{\"object_kind\":\"push\",\"after\":\"abc\"}";

static void add(struct zh_store *s, const char *key, int64_t now)
{
	struct zh_error err = {0};

	assert_ok(zh_store_event_add(NULL, NULL, s, key, "push", payload,
				     strlen(payload), now, &err),
		  &err);
}

static void claim_batch_in_order(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_event ev[4];
	struct zh_error err = {0};
	size_t n = 9, i;

	assert_int_equal(
	    zh_store_event_claim_batch(ev, 4, &n, f->s, 0, 1000, &err),
	    ZH_ENOTFOUND);
	assert_int_equal(n, 0);
	add(f->s, "a", 10);
	add(f->s, "b", 11);
	add(f->s, "c", 12);
	/* not due yet before it was received */
	assert_int_equal(
	    zh_store_event_claim_batch(ev, 4, &n, f->s, 9, 1000, &err),
	    ZH_ENOTFOUND);
	assert_ok(zh_store_event_claim_batch(ev, 2, &n, f->s, 100, 1000, &err),
		  &err);
	assert_int_equal(n, 2);
	assert_string_equal(ev[0].key, "a");
	assert_string_equal(ev[1].key, "b");
	for (i = 0; i < n; i++) {
		assert_int_equal(ev[i].state, ZH_STORE_EVENT_WORKING);
		assert_int_equal(ev[i].attempts, 1);
		assert_int_equal(ev[i].lease_until_ms, 1100);
		assert_false(ev[i].interrupted);
		assert_int_equal(ev[i].payload_len, strlen(payload));
		assert_string_equal(ev[i].payload, payload);
	}
	/* the lease of "a" runs out: it comes first, interrupted, then c */
	{
		struct zh_store_event more[4];
		size_t m;

		assert_ok(
		    zh_store_event_done(f->s, ev[1].id, false, "ok", 200, &err),
		    &err);
		assert_ok(zh_store_event_claim_batch(more, 4, &m, f->s, 1100,
						     1000, &err),
			  &err);
		assert_int_equal(m, 2);
		assert_string_equal(more[0].key, "a");
		assert_true(more[0].interrupted);
		assert_int_equal(more[0].attempts, 2);
		assert_string_equal(more[1].key, "c");
		assert_false(more[1].interrupted);
		for (i = 0; i < m; i++)
			zh_store_event_dispose(&more[i]);
	}
	for (i = 0; i < n; i++)
		zh_store_event_dispose(&ev[i]);
}

static void done_batch_and_unclaim(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_event ev[3], e;
	struct zh_store_event_result r[3];
	struct zh_error err = {0};
	int64_t pending;
	size_t n, i;

	add(f->s, "a", 10);
	add(f->s, "b", 11);
	add(f->s, "c", 12);
	assert_ok(zh_store_event_claim_batch(ev, 3, &n, f->s, 100, 1000, &err),
		  &err);
	assert_int_equal(n, 3);
	/* c goes back untouched: due as before, its attempt not counted */
	assert_ok(zh_store_event_unclaim(f->s, &ev[2], 150, &err), &err);
	assert_int_equal(zh_store_event_unclaim(f->s, &ev[2], 150, &err),
			 ZH_ENOTFOUND);
	assert_ok(zh_store_event_get(&e, f->s, ev[2].id, &err), &err);
	assert_int_equal(e.state, ZH_STORE_EVENT_NEW);
	assert_int_equal(e.attempts, 0);
	assert_int_equal(e.next_try_ms, 12);
	zh_store_event_dispose(&e);

	r[0] = (struct zh_store_event_result){ev[0].id, false, "no rule"};
	r[1] = (struct zh_store_event_result){ev[1].id, true, NULL};
	r[2] = (struct zh_store_event_result){999, false, "gone"};
	assert_ok(zh_store_event_done_batch(f->s, r, 3, 200, &err), &err);
	assert_ok(zh_store_event_done_batch(f->s, r, 0, 200, &err), &err);
	assert_ok(zh_store_event_get(&e, f->s, ev[0].id, &err), &err);
	assert_int_equal(e.state, ZH_STORE_EVENT_DONE);
	assert_string_equal(e.result, "no rule");
	assert_int_equal(e.updated_ms, 200);
	assert_int_equal(e.lease_until_ms, 0);
	assert_string_equal(e.payload, payload);
	zh_store_event_dispose(&e);
	assert_ok(zh_store_event_get(&e, f->s, ev[1].id, &err), &err);
	assert_int_equal(e.state, ZH_STORE_EVENT_FAILED);
	assert_null(e.result);
	zh_store_event_dispose(&e);
	assert_ok(zh_store_events_pending(&pending, f->s, &err), &err);
	assert_int_equal(pending, 1);
	for (i = 0; i < n; i++)
		zh_store_event_dispose(&ev[i]);

	/* pruning drops the payloads with their events; keys free again */
	assert_ok(zh_store_events_prune(&pending, f->s, 11, &err), &err);
	assert_int_equal(pending, 1);
	assert_int_equal(zh_store_event_get(&e, f->s, r[0].id, &err),
			 ZH_ENOTFOUND);
	{
		int64_t id;
		bool dup = true;

		assert_ok(zh_store_event_add(&id, &dup, f->s, "a", "push", "{}",
					     2, 300, &err),
			  &err);
		assert_false(dup);
		assert_ok(zh_store_event_get(&e, f->s, id, &err), &err);
		assert_string_equal(e.payload, "{}");
		zh_store_event_dispose(&e);
	}
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
}

static int query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A store written by schema v1 (payload inline) keeps its events and its
 * triggers through v2 and v3. */
static void migrates_v1(void **state)
{
	char *dir = tmpdir_new();
	char path[4096];
	struct zh_store *s;
	struct zh_store_event e;
	struct zh_error err = {0};
	sqlite3 *db;
	int v;
	bool dup = false;

	(void)state;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db,
		"PRAGMA journal_mode = WAL;"
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
		"INSERT INTO events (delivery_key, kind, payload, next_try_ms,"
		"  received_ms, updated_ms) VALUES ('old-1', 'push', "
		"  '{\"object_kind\":\"push\"}', 5, 5, 5);"
		"CREATE TABLE triggers ("
		"  id INTEGER PRIMARY KEY,"
		"  repo TEXT NOT NULL, ref TEXT NOT NULL,"
		"  commit_id TEXT NOT NULL, rule TEXT NOT NULL,"
		"  dedupe TEXT NOT NULL DEFAULT '',"
		"  trigger_key TEXT NOT NULL UNIQUE,"
		"  workflow TEXT NOT NULL, custom INTEGER NOT NULL DEFAULT 0,"
		"  project TEXT, method TEXT NOT NULL, path TEXT NOT NULL,"
		"  body TEXT,"
		"  state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN"
		"    ('queued', 'sending', 'created', 'rejected')),"
		"  attempts INTEGER NOT NULL DEFAULT 0,"
		"  next_try_ms INTEGER NOT NULL DEFAULT 0,"
		"  lease_until_ms INTEGER NOT NULL DEFAULT 0,"
		"  last_error TEXT, task_id INTEGER, url TEXT,"
		"  noted_state TEXT NOT NULL DEFAULT '',"
		"  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
		"  UNIQUE (repo, ref, commit_id, rule, dedupe)"
		");"
		"CREATE INDEX triggers_due ON triggers (state, next_try_ms);"
		"CREATE INDEX triggers_commit ON triggers (commit_id);"
		"INSERT INTO triggers (repo, ref, commit_id, rule, trigger_key,"
		"  workflow, method, path, state, task_id, created_ms,"
		"  updated_ms) VALUES ('r', 'refs/heads/main', 'c1', 'build',"
		"  'tk-1', 'wf', 'POST', '/p', 'created', 42, 7, 8);"
		"CREATE TABLE tasks ("
		"  id INTEGER PRIMARY KEY,"
		"  workflow TEXT NOT NULL, custom INTEGER NOT NULL,"
		"  task_id INTEGER NOT NULL, project TEXT,"
		"  repo TEXT, ref TEXT, commit_id TEXT, rule TEXT,"
		"  status TEXT NOT NULL, url TEXT, extra TEXT,"
		"  final INTEGER NOT NULL DEFAULT 0,"
		"  next_poll_ms INTEGER NOT NULL DEFAULT 0,"
		"  poll_interval_ms INTEGER NOT NULL DEFAULT 0,"
		"  gen INTEGER NOT NULL DEFAULT 1,"
		"  noted_gen INTEGER NOT NULL DEFAULT 0,"
		"  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
		"  UNIQUE (workflow, custom, task_id)"
		");"
		"INSERT INTO tasks (workflow, custom, task_id, status, final,"
		"  gen, noted_gen, created_ms, updated_ms) VALUES ('wf', 0, 42,"
		"  'passed', 1, 2, 2, 7, 9);"
		"PRAGMA user_version = 1;");
	sqlite3_close(db);

	s = open_ok(dir);
	assert_ok(zh_store_schema_version(&v, s, &err), &err);
	assert_int_equal(v, ZH_STORE_SCHEMA_VERSION);
	assert_ok(zh_store_event_claim(&e, s, 100, 1000, &err), &err);
	assert_string_equal(e.key, "old-1");
	assert_string_equal(e.payload, "{\"object_kind\":\"push\"}");
	zh_store_event_dispose(&e);
	/* the old key still deduplicates */
	assert_ok(zh_store_event_add(NULL, &dup, s, "old-1", "push", "{}", 2,
				     200, &err),
		  &err);
	assert_true(dup);
	zh_store_free(s);

	/* v3 rebuilt both tables: the rows are kept, the states checked */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    query_int(db, "SELECT task_id FROM triggers WHERE trigger_key = "
			  "'tk-1' AND state = 'created' AND created_ms = 7"),
	    42);
	/* v5 indexed the settled rows by age: the old ones are found */
	assert_int_equal(
	    query_int(db, "SELECT count(*) FROM triggers INDEXED BY "
			  "triggers_settled WHERE (state = 'created' OR "
			  "state = 'rejected') AND updated_ms < 10"),
	    1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM tasks INDEXED BY "
				       "tasks_final WHERE final = 1 AND "
				       "updated_ms < 10"),
			 1);
	assert_int_equal(sqlite3_exec(db, "UPDATE triggers SET state = 'bogus'",
				      NULL, NULL, NULL),
			 SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "UPDATE events SET state = 'bogus'",
				      NULL, NULL, NULL),
			 SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "UPDATE events SET state = 'failed'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	tmpdir_remove(dir);
}

static void checkpoint_apart(void **state)
{
	struct store_fx *f = *state;
	struct zh_error err = {0};
	char key[32];
	int i;

	zh_store_checkpoint_apart(f->s);
	assert_int_equal(zh_store_wal_pages(f->s), 0);
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		add(f->s, key, i);
	}
	assert_true(zh_store_wal_pages(f->s) > 0);
	assert_ok(zh_store_checkpoint(f->s, &err), &err);
	assert_ok(zh_store_checkpoint(f->s, &err), &err);
	add(f->s, "after", 100);
}

/* A writer committing batches of 2.6 KB events without a pause. */
struct writer {
	struct zh_store *s;
	int batches;
	int rc;
	_Atomic int done;
};

static void *write_on(void *arg)
{
	struct writer *wr = arg;
	struct zh_store_event_in in[32];
	static char big[2600];
	char keys[32][32];
	struct zh_error err = {0};
	int b, i;

	memset(big, 'x', sizeof(big) - 1);
	for (b = 0; b < wr->batches && !wr->rc; b++) {
		for (i = 0; i < 32; i++) {
			snprintf(keys[i], sizeof(keys[i]), "w%d-%d", b, i);
			memset(&in[i], 0, sizeof(in[i]));
			in[i].key = keys[i];
			in[i].kind = "push";
			in[i].payload = big;
			in[i].payload_len = sizeof(big) - 1;
			in[i].now_ms = b;
		}
		wr->rc = zh_store_event_add_batch(in, 32, wr->s, &err);
	}
	wr->done = 1;
	return NULL;
}

static long long wal_size(const char *dir)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/state.db-wal", dir);
	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* While commits never stop, a passive checkpoint alone never reaches the
 * WAL's end and the WAL grows with every commit (~25 MB here); the
 * checkpoint's second pass lets it start over. */
static void checkpoint_bounds_the_wal(void **state)
{
	struct store_fx *f = *state;
	struct writer wr = {.s = f->s, .batches = 150};
	struct zh_error err = {0};
	long long most = 0, now;
	pthread_t t;
	int rounds = 0, pages, last = -1;

	zh_store_checkpoint_apart(f->s);
	assert_int_equal(pthread_create(&t, NULL, write_on, &wr), 0);
	while (!wr.done) {
		/* as the receiver's checkpointer: once per commit that
		 * leaves 200 pages or more */
		if ((pages = zh_store_wal_pages(f->s)) >= 200 &&
		    pages != last) {
			assert_ok(zh_store_checkpoint(f->s, &err), &err);
			last = pages;
			rounds++;
		}
		if ((now = wal_size(f->dir)) > most)
			most = now;
		sched_yield();
	}
	pthread_join(t, NULL);
	assert_int_equal(wr.rc, 0);
	assert_true(rounds > 3);
	/* 150 commits of ~40 pages: 24 MB of WAL without a restart */
	if (most >= 8LL * 1024 * 1024)
		fail_msg("the WAL grew to %lld bytes in %d checkpoints", most,
			 rounds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    store_test(claim_batch_in_order),
	    store_test(done_batch_and_unclaim),
	    cmocka_unit_test(migrates_v1),
	    store_test(checkpoint_apart),
	    store_test(checkpoint_bounds_the_wal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
