/* Events: webhook deliveries the receiver accepted, and their workers. */
#include "store/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define DEFAULT_LEASE_MS 60000

#define EVENT_COLS                                                             \
	"id, delivery_key, kind, payload, state, attempts, next_try_ms, "      \
	"lease_until_ms, received_ms, updated_ms, result"

static const char *const state_names[] = {
    [ZH_STORE_EVENT_NEW] = "new",
    [ZH_STORE_EVENT_WORKING] = "working",
    [ZH_STORE_EVENT_DONE] = "done",
    [ZH_STORE_EVENT_FAILED] = "failed",
};

static enum zh_store_event_state parse_state(const unsigned char *t)
{
	size_t i;

	for (i = 0; t && i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (!strcmp((const char *)t, state_names[i]))
			return (enum zh_store_event_state)i;
	return ZH_STORE_EVENT_NEW;
}

void zh_store_event_dispose(struct zh_store_event *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->kind);
	free(e->payload);
	free(e->result);
	memset(e, 0, sizeof(*e));
}

static int read_row(struct zh_store_event *out, sqlite3_stmt *st,
		    struct zh_error *err)
{
	bool oom = false;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->key = store_col_dup(st, 1, &oom);
	out->kind = store_col_dup(st, 2, &oom);
	out->payload = store_col_dup(st, 3, &oom);
	out->payload_len = (size_t)sqlite3_column_bytes(st, 3);
	out->state = parse_state(sqlite3_column_text(st, 4));
	out->attempts = sqlite3_column_int(st, 5);
	out->next_try_ms = sqlite3_column_int64(st, 6);
	out->lease_until_ms = sqlite3_column_int64(st, 7);
	out->received_ms = sqlite3_column_int64(st, 8);
	out->updated_ms = sqlite3_column_int64(st, 9);
	out->result = store_col_dup(st, 10, &oom);
	if (oom) {
		zh_store_event_dispose(out);
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	}
	return 0;
}

/* One zh_store_event_add waiting in the group-commit queue (or one item
 * of zh_store_event_add_batch); lives on the caller's stack or heap until
 * done is set. */
struct event_req {
	struct zh_store_event_in *in;
	int ret;
	struct zh_error err;
	bool done;
	struct event_req *next;
};

/* Write a batch of requests in one transaction: one disk flush for all.
 * A failure fails the whole batch (each caller answers 503 and GitLab
 * delivers again). No RETURNING: SQLite would build a temporary table for
 * it on every statement. next_try_ms is the time received, so that a
 * claim takes events in the order they became due straight off the
 * events_due index. */
static const char insert_sql[] =
    "INSERT INTO events (delivery_key, kind, payload, next_try_ms, "
    "received_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?4, ?4) "
    "ON CONFLICT (delivery_key) DO NOTHING";

static void write_batch(struct zh_store *s, struct event_req *batch)
{
	struct zh_error e = {0};
	struct event_req *r;
	sqlite3_stmt *st = NULL;
	int rc, ret;

	store_lock(s);
	if ((ret = store_begin(s, &e)))
		goto out;
	ret = store_cached(&st, s, insert_sql, &e);
	if (ret)
		goto out;
	for (r = batch; r; r = r->next) {
		struct zh_store_event_in *in = r->in;

		store_bind_text(st, 1, in->key);
		store_bind_text(st, 2, in->kind);
		sqlite3_bind_text(st, 3, in->payload, (int)in->payload_len,
				  SQLITE_STATIC);
		store_bind_int(st, 4, in->now_ms);
		rc = sqlite3_step(st);
		store_release(st);
		if (rc != SQLITE_DONE) {
			ret = store_fail(s, rc, "store an event", &e);
			goto out;
		}
		in->duplicate = sqlite3_changes(s->db) == 0;
		in->id = in->duplicate ? 0 : sqlite3_last_insert_rowid(s->db);
	}
	ret = store_commit(s, &e);
out:
	store_release(st);
	if (ret)
		store_rollback(s);
	store_unlock(s);
	for (r = batch; r; r = r->next) {
		r->ret = ret;
		if (ret) {
			r->err = e;
			r->in->id = 0;
			r->in->duplicate = false;
		}
	}
}

static int check_in(const struct zh_store_event_in *in, struct zh_error *err)
{
	if (!in->key || !*in->key || !in->kind || !*in->kind || !in->payload)
		return zh_error_set(err, ZH_EINVALID,
				    "event lacks a key, kind or payload");
	if (in->payload_len > 0x7fffffff)
		return zh_error_set(err, ZH_ETOOBIG, "event payload too big");
	return 0;
}

int zh_store_event_add_batch(struct zh_store_event_in *items, size_t n,
			     struct zh_store *s, struct zh_error *err)
{
	struct event_req *reqs;
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		items[i].duplicate = false;
		items[i].id = 0;
		if ((ret = check_in(&items[i], err)))
			return ret;
	}
	if (!n)
		return 0;
	if (!(reqs = calloc(n, sizeof(*reqs))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		reqs[i].in = &items[i];
		reqs[i].next = i + 1 < n ? &reqs[i + 1] : NULL;
	}
	write_batch(s, reqs);
	ret = reqs[0].ret;
	if (ret && err)
		*err = reqs[0].err;
	free(reqs);
	return ret;
}

int zh_store_event_add(int64_t *id, bool *duplicate, struct zh_store *s,
		       const char *key, const char *kind, const char *payload,
		       size_t payload_len, int64_t now_ms, struct zh_error *err)
{
	struct zh_store_event_in in = {.key = key,
				       .kind = kind,
				       .payload = payload,
				       .payload_len = payload_len,
				       .now_ms = now_ms};
	struct event_req r, *batch, *b, *next;
	int ret;

	if (id)
		*id = 0;
	if (duplicate)
		*duplicate = false;
	if ((ret = check_in(&in, err)))
		return ret;
	memset(&r, 0, sizeof(r));
	r.in = &in;
	pthread_mutex_lock(&s->gc_mu);
	*s->gc_tail = &r;
	s->gc_tail = &r.next;
	/* Whoever finds no leader writes everything queued so far; requests
	 * arriving meanwhile wait for the next leader. */
	while (!r.done) {
		if (s->gc_leader) {
			pthread_cond_wait(&s->gc_cv, &s->gc_mu);
			continue;
		}
		batch = s->gc_head;
		s->gc_head = NULL;
		s->gc_tail = &s->gc_head;
		s->gc_leader = true;
		pthread_mutex_unlock(&s->gc_mu);
		write_batch(s, batch);
		pthread_mutex_lock(&s->gc_mu);
		for (b = batch; b; b = next) {
			next = b->next;
			b->done = true;
		}
		s->gc_leader = false;
		pthread_cond_broadcast(&s->gc_cv);
	}
	pthread_mutex_unlock(&s->gc_mu);
	if (r.ret) {
		if (err)
			*err = r.err;
		return r.ret;
	}
	if (id)
		*id = in.id;
	if (duplicate)
		*duplicate = in.duplicate;
	return 0;
}

/* a crashed worker's event first (few rows are ever 'working'), then the
 * new event due first, read in order off the events_due index: no sort of
 * the whole backlog, however long it grows */
static const char claim_expired_sql[] =
    "SELECT id FROM events WHERE state = 'working' AND lease_until_ms <= ?1 "
    "ORDER BY id LIMIT 1";
static const char claim_due_sql[] =
    "SELECT id FROM events WHERE state = 'new' AND next_try_ms <= ?1 "
    "ORDER BY next_try_ms LIMIT 1";
/* no RETURNING: SQLite would build a temporary table for it */
static const char claim_update_sql[] =
    "UPDATE events SET state = 'working', attempts = attempts + 1, "
    "lease_until_ms = ?2, updated_ms = ?3 WHERE id = ?1";
static const char event_get_sql[] =
    "SELECT " EVENT_COLS " FROM events WHERE id = ?1";

int zh_store_event_claim(struct zh_store_event *out, struct zh_store *s,
			 int64_t now_ms, int64_t lease_ms, struct zh_error *err)
{
	static const char *const pick[] = {claim_expired_sql, claim_due_sql};
	sqlite3_stmt *st = NULL;
	bool interrupted = false;
	int64_t id = 0;
	size_t i;
	int rc, ret;

	memset(out, 0, sizeof(*out));
	if (lease_ms <= 0)
		lease_ms = DEFAULT_LEASE_MS;
	store_lock(s);
	store_sync(s, false);
	if ((ret = store_begin(s, err)))
		goto out;
	for (i = 0; i < 2 && !id; i++) {
		if ((ret = store_cached(&st, s, pick[i], err)))
			goto out;
		store_bind_int(st, 1, now_ms);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			id = sqlite3_column_int64(st, 0);
			interrupted = i == 0;
		} else if (rc != SQLITE_DONE) {
			ret = store_fail(s, rc, "claim an event", err);
			goto out;
		}
		store_release(st);
		st = NULL;
	}
	if (!id) {
		ret = zh_error_set(err, ZH_ENOTFOUND, "no event is due");
		goto out;
	}
	if ((ret = store_cached(&st, s, claim_update_sql, err)))
		goto out;
	store_bind_int(st, 1, id);
	store_bind_int(st, 2, now_ms + lease_ms);
	store_bind_int(st, 3, now_ms);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		ret = store_fail(s, rc, "claim an event", err);
		goto out;
	}
	store_release(st);
	if ((ret = store_cached(&st, s, event_get_sql, err)))
		goto out;
	store_bind_int(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		ret = store_fail(s, rc, "claim an event", err);
		goto out;
	}
	if ((ret = read_row(out, st, err)))
		goto out;
	out->interrupted = interrupted;
	store_release(st);
	st = NULL;
	ret = store_commit(s, err);
out:
	store_release(st);
	if (ret) {
		zh_store_event_dispose(out);
		store_rollback(s);
	}
	store_sync(s, true);
	store_unlock(s);
	return ret;
}

/* UPDATE one event with sql, a string constant kept prepared (?1 id,
 * ?2 state, ?3 result, ?4 now, ?5 next try, ?6 attempts), not flushed to
 * disk (store_sync); ZH_ENOTFOUND when no row matched. */
static int update(struct zh_store *s, const char *sql, int64_t id,
		  const char *state, const char *result, int64_t now_ms,
		  int64_t next_try_ms, int attempts, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	store_lock(s);
	store_sync(s, false);
	if ((ret = store_cached(&st, s, sql, err)))
		goto out;
	store_bind_int(st, 1, id);
	store_bind_text(st, 2, state);
	store_bind_text(st, 3, result);
	store_bind_int(st, 4, now_ms);
	if (sqlite3_bind_parameter_count(st) >= 6) {
		store_bind_int(st, 5, next_try_ms);
		store_bind_int(st, 6, attempts);
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "update an event", err);
	else if (sqlite3_changes(s->db) == 0)
		ret = zh_error_set(err, ZH_ENOTFOUND,
				   "event %lld is not being worked on",
				   (long long)id);
out:
	store_release(st);
	store_sync(s, true);
	store_unlock(s);
	return ret;
}

int zh_store_event_done(struct zh_store *s, int64_t id, bool failed,
			const char *result, int64_t now_ms,
			struct zh_error *err)
{
	return update(s,
		      "UPDATE events SET state = ?2, result = ?3, "
		      "lease_until_ms = 0, updated_ms = ?4 WHERE id = ?1",
		      id, failed ? "failed" : "done", result, now_ms, 0, 0,
		      err);
}

int zh_store_event_retry(struct zh_store *s, const struct zh_store_event *e,
			 const char *error, int64_t now_ms,
			 struct zh_error *err)
{
	if (!e)
		return zh_error_set(err, ZH_EINVALID, "no event given");
	return update(s,
		      "UPDATE events SET state = ?2, result = ?3, "
		      "lease_until_ms = 0, updated_ms = ?4, next_try_ms = ?5 "
		      "WHERE id = ?1 AND state = 'working' AND attempts = ?6",
		      e->id, "new", error, now_ms,
		      now_ms + zh_store_backoff_ms(e->attempts, store_random()),
		      e->attempts, err);
}

int zh_store_event_get(struct zh_store_event *out, struct zh_store *s,
		       int64_t id, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	memset(out, 0, sizeof(*out));
	store_lock(s);
	ret = store_prepare(
	    &st, s, "SELECT " EVENT_COLS " FROM events WHERE id = ?1", err);
	if (ret)
		goto out;
	store_bind_int(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		ret = zh_error_set(err, ZH_ENOTFOUND, "no event %lld",
				   (long long)id);
	else if (rc != SQLITE_ROW)
		ret = store_fail(s, rc, "read an event", err);
	else
		ret = read_row(out, st, err);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

/* Run a statement returning one integer (?1 bound to arg). */
static int scalar(int64_t *n, struct zh_store *s, const char *sql, int64_t arg,
		  bool changes, const char *what, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	*n = 0;
	store_lock(s);
	if ((ret = store_prepare(&st, s, sql, err)))
		goto out;
	if (sqlite3_bind_parameter_count(st) >= 1)
		store_bind_int(st, 1, arg);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && !changes)
		*n = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE && changes)
		*n = sqlite3_changes(s->db);
	else
		ret = store_fail(s, rc, what, err);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

int zh_store_events_pending(int64_t *n, struct zh_store *s,
			    struct zh_error *err)
{
	return scalar(n, s,
		      "SELECT count(*) FROM events WHERE "
		      "state IN ('new', 'working')",
		      0, false, "count events", err);
}

int zh_store_events_prune(int64_t *n, struct zh_store *s, int64_t before_ms,
			  struct zh_error *err)
{
	int64_t dummy;

	return scalar(n ? n : &dummy, s,
		      "DELETE FROM events WHERE state IN ('done', 'failed') "
		      "AND received_ms < ?1",
		      before_ms, true, "prune events", err);
}
