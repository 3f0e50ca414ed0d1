/* Events: webhook deliveries the receiver accepted, and their workers. */
#include "store/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define DEFAULT_LEASE_MS 60000

/* An event with its payload (kept in event_payloads, same id: claims and
 * results then rewrite small rows only). */
#define EVENT_SELECT                                                           \
	"SELECT e.id, e.delivery_key, e.kind, coalesce(p.payload, ''), "       \
	"e.state, e.attempts, e.next_try_ms, e.lease_until_ms, "               \
	"e.received_ms, e.updated_ms, e.result FROM events e "                 \
	"LEFT JOIN event_payloads p ON p.id = e.id WHERE e.id = ?1"

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
    "INSERT INTO events (delivery_key, kind, next_try_ms, "
    "received_ms, updated_ms) VALUES (?1, ?2, ?3, ?3, ?3) "
    "ON CONFLICT (delivery_key) DO NOTHING";
static const char insert_done_sql[] =
    "INSERT INTO events (delivery_key, kind, next_try_ms, "
    "received_ms, updated_ms, state, result) "
    "VALUES (?1, ?2, ?3, ?3, ?3, 'done', ?4) "
    "ON CONFLICT (delivery_key) DO NOTHING";
static const char insert_payload_sql[] =
    "INSERT INTO event_payloads (id, payload) VALUES (?1, ?2)";

static void write_batch(struct zh_store *s, struct event_req *batch,
			int64_t wait_ms)
{
	struct zh_error e = {0};
	struct event_req *r;
	sqlite3_stmt *nst = NULL, *dst = NULL, *pst = NULL, *st;
	int64_t until = store_mono_ms() + wait_ms;
	bool short_wait = false;
	int rc, ret;

	if (wait_ms < 0) {
		store_lock(s);
	} else if ((ret =
			store_lock_within(s, wait_ms, "store an event", &e))) {
		goto failed;
	} else if ((wait_ms = until - store_mono_ms()) < s->busy_ms) {
		/* what is left, for this transaction only: the connection
		 * is the store's */
		short_wait = true;
		sqlite3_busy_timeout(s->db, wait_ms > 0 ? (int)wait_ms : 0);
	}
	if ((ret = store_begin(s, &e)))
		goto out;
	if ((ret = store_cached(&nst, s, insert_sql, &e)) ||
	    (ret = store_cached(&dst, s, insert_done_sql, &e)) ||
	    (ret = store_cached(&pst, s, insert_payload_sql, &e)))
		goto out;
	for (r = batch; r; r = r->next) {
		struct zh_store_event_in *in = r->in;

		/* static: the statements are reset before the call returns */
		st = in->done ? dst : nst;
		sqlite3_bind_text(st, 1, in->key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, in->kind, -1, SQLITE_STATIC);
		store_bind_int(st, 3, in->now_ms);
		if (in->done)
			sqlite3_bind_text(st, 4, in->done, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		store_release(st);
		if (rc != SQLITE_DONE) {
			ret = store_fail(s, rc, "store an event", &e);
			goto out;
		}
		in->duplicate = sqlite3_changes(s->db) == 0;
		in->id = in->duplicate ? 0 : sqlite3_last_insert_rowid(s->db);
		/* a settled event's payload is never read: not written */
		if (in->duplicate || in->done)
			continue;
		store_bind_int(pst, 1, in->id);
		sqlite3_bind_text(pst, 2, in->payload, (int)in->payload_len,
				  SQLITE_STATIC);
		rc = sqlite3_step(pst);
		store_release(pst);
		if (rc != SQLITE_DONE) {
			ret = store_fail(s, rc, "store an event", &e);
			goto out;
		}
	}
	ret = store_commit(s, &e);
out:
	store_release(nst);
	store_release(dst);
	store_release(pst);
	if (ret)
		store_rollback(s);
	if (short_wait)
		sqlite3_busy_timeout(s->db, s->busy_ms);
	store_unlock(s);
failed:
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
	return zh_store_event_add_batch_wait(items, n, -1, s, err);
}

int zh_store_event_add_batch_wait(struct zh_store_event_in *items, size_t n,
				  int64_t wait_ms, struct zh_store *s,
				  struct zh_error *err)
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
	write_batch(s, reqs, wait_ms);
	ret = reqs[0].ret;
	if (ret && err)
		*err = reqs[0].err;
	free(reqs);
	return ret;
}

int zh_store_event_add_in(struct zh_store_event_in *in, struct zh_store *s,
			  struct zh_error *err)
{
	struct event_req r, *batch, *b, *next;
	int ret;

	in->duplicate = false;
	in->id = 0;
	if ((ret = check_in(in, err)))
		return ret;
	memset(&r, 0, sizeof(r));
	r.in = in;
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
		write_batch(s, batch, -1);
		pthread_mutex_lock(&s->gc_mu);
		for (b = batch; b; b = next) {
			next = b->next;
			b->done = true;
		}
		s->gc_leader = false;
		pthread_cond_broadcast(&s->gc_cv);
	}
	pthread_mutex_unlock(&s->gc_mu);
	if (r.ret && err)
		*err = r.err;
	return r.ret;
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
	int ret = zh_store_event_add_in(&in, s, err);

	if (id)
		*id = in.id;
	if (duplicate)
		*duplicate = in.duplicate;
	return ret;
}

/* a crashed worker's events first (few rows are ever 'working'), then
 * the new events due first, read in order off the events_due index: no
 * sort of the whole backlog, however long it grows; then those whose
 * time is further ahead (?3) than any the store sets, set by a clock set
 * back since (STORE_CLOCK_SLACK_MS), off the other end of that index
 * (mostly none, found at once) */
static const char claim_expired_sql[] =
    "SELECT id FROM events WHERE state = 'working' AND "
    "(lease_until_ms <= ?1 OR lease_until_ms > ?3) ORDER BY id LIMIT ?2";
static const char claim_due_sql[] =
    "SELECT id FROM events WHERE state = 'new' AND next_try_ms <= ?1 "
    "ORDER BY next_try_ms LIMIT ?2";
static const char claim_stepped_sql[] =
    "SELECT id FROM events WHERE state = 'new' AND next_try_ms > ?3 "
    "ORDER BY next_try_ms DESC LIMIT ?2";
/* no RETURNING: SQLite would build a temporary table for it */
static const char claim_update_sql[] =
    "UPDATE events SET state = 'working', attempts = attempts + 1, "
    "lease_until_ms = ?2, updated_ms = ?3 WHERE id = ?1";
static const char event_get_sql[] = EVENT_SELECT;

/* The ids of up to max events due: expired leases (of lease_ms) first
 * (*nexpired of them), then new ones. */
static int pick(int64_t *ids, size_t *n, size_t *nexpired, struct zh_store *s,
		size_t max, int64_t now_ms, int64_t lease_ms,
		struct zh_error *err)
{
	static const char *const sql[] = {claim_expired_sql, claim_due_sql,
					  claim_stepped_sql};
	const int64_t ahead[] = {lease_ms, 0, STORE_BACKOFF_CAP_MS};
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, ret = 0;

	*n = *nexpired = 0;
	for (i = 0; i < 3 && *n < max; i++) {
		if ((ret = store_cached(&st, s, sql[i], err)))
			return ret;
		store_bind_int(st, 1, now_ms);
		store_bind_int(st, 2, (int64_t)(max - *n));
		if (ahead[i])
			store_bind_int(
			    st, 3, now_ms + ahead[i] + STORE_CLOCK_SLACK_MS);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
			ids[(*n)++] = sqlite3_column_int64(st, 0);
		store_release(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_fail(s, rc, "claim an event", err);
		if (i == 0)
			*nexpired = *n;
	}
	return 0;
}

/* Claim event id (in a transaction) and read it into *out. */
static int claim_one(struct zh_store_event *out, struct zh_store *s, int64_t id,
		     int64_t now_ms, int64_t lease_ms, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if ((ret = store_cached(&st, s, claim_update_sql, err)))
		return ret;
	store_bind_int(st, 1, id);
	store_bind_int(st, 2, now_ms + lease_ms);
	store_bind_int(st, 3, now_ms);
	rc = sqlite3_step(st);
	store_release(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, rc, "claim an event", err);
	if ((ret = store_cached(&st, s, event_get_sql, err)))
		return ret;
	store_bind_int(st, 1, id);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		ret = store_fail(s, rc, "claim an event", err);
	else
		ret = read_row(out, st, err);
	store_release(st);
	return ret;
}

int zh_store_event_claim_batch(struct zh_store_event *out, size_t max,
			       size_t *n, struct zh_store *s, int64_t now_ms,
			       int64_t lease_ms, struct zh_error *err)
{
	int64_t *ids;
	size_t got = 0, nexpired = 0, i;
	bool synced = true;
	int ret;

	*n = 0;
	if (!max)
		return zh_error_set(err, ZH_EINVALID, "no room for events");
	memset(out, 0, max * sizeof(*out));
	if (lease_ms <= 0)
		lease_ms = DEFAULT_LEASE_MS;
	if (!(ids = calloc(max, sizeof(*ids))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	store_lock(s);
	/* look before taking the write lock: an idle worker must not hold
	 * up the intake (nor other processes) to find nothing */
	if ((ret = pick(ids, &got, &nexpired, s, 1, now_ms, lease_ms, err)))
		goto out;
	if (!got) {
		ret = zh_error_set(err, ZH_ENOTFOUND, "no event is due");
		goto out;
	}
	synced = false;
	store_sync(s, false);
	if ((ret = store_begin(s, err)))
		goto out;
	/* again inside the transaction: another process may have taken
	 * them meanwhile */
	if ((ret = pick(ids, &got, &nexpired, s, max, now_ms, lease_ms, err)))
		goto out;
	if (!got) {
		ret = zh_error_set(err, ZH_ENOTFOUND, "no event is due");
		goto out;
	}
	for (i = 0; i < got; i++) {
		if ((ret =
			 claim_one(&out[i], s, ids[i], now_ms, lease_ms, err)))
			goto out;
		out[i].interrupted = i < nexpired;
	}
	ret = store_commit(s, err);
out:
	if (ret) {
		for (i = 0; i < got; i++)
			zh_store_event_dispose(&out[i]);
		store_rollback(s);
	} else {
		*n = got;
	}
	if (!synced)
		store_sync(s, true);
	store_unlock(s);
	free(ids);
	return ret;
}

int zh_store_event_claim(struct zh_store_event *out, struct zh_store *s,
			 int64_t now_ms, int64_t lease_ms, struct zh_error *err)
{
	size_t n;

	return zh_store_event_claim_batch(out, 1, &n, s, now_ms, lease_ms, err);
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

static const char done_sql[] =
    "UPDATE events SET state = ?2, result = ?3, lease_until_ms = 0, "
    "updated_ms = ?4 WHERE id = ?1";

int zh_store_event_done_batch(struct zh_store *s,
			      const struct zh_store_event_result *r, size_t n,
			      int64_t now_ms, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, ret;

	if (!n)
		return 0;
	store_lock(s);
	store_sync(s, false);
	if ((ret = store_begin(s, err)))
		goto out;
	if ((ret = store_cached(&st, s, done_sql, err)))
		goto out;
	for (i = 0; i < n; i++) {
		store_bind_int(st, 1, r[i].id);
		sqlite3_bind_text(st, 2, r[i].failed ? "failed" : "done", -1,
				  SQLITE_STATIC);
		if (r[i].result)
			sqlite3_bind_text(st, 3, r[i].result, -1,
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 3);
		store_bind_int(st, 4, now_ms);
		rc = sqlite3_step(st);
		store_release(st);
		if (rc != SQLITE_DONE) {
			ret = store_fail(s, rc, "update an event", err);
			goto out;
		}
	}
	ret = store_commit(s, err);
out:
	if (ret)
		store_rollback(s);
	store_sync(s, true);
	store_unlock(s);
	return ret;
}

int zh_store_event_unclaim(struct zh_store *s, const struct zh_store_event *e,
			   int64_t now_ms, struct zh_error *err)
{
	if (!e)
		return zh_error_set(err, ZH_EINVALID, "no event given");
	/* next_try_ms stays: the event is due as it was, for any worker */
	return update(s,
		      "UPDATE events SET state = ?2, attempts = attempts - 1, "
		      "lease_until_ms = 0, updated_ms = ?4 "
		      "WHERE id = ?1 AND state = 'working' AND attempts = ?6",
		      e->id, "new", NULL, now_ms, 0, e->attempts, err);
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
	if ((ret = store_prepare(&st, s, EVENT_SELECT, err)))
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
	static const char *const sql[] = {
	    "DELETE FROM event_payloads WHERE id IN (SELECT id FROM events "
	    "WHERE state IN ('done', 'failed') AND received_ms < ?1)",
	    "DELETE FROM events WHERE state IN ('done', 'failed') "
	    "AND received_ms < ?1",
	};
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, ret;

	if (n)
		*n = 0;
	store_lock(s);
	if ((ret = store_begin(s, err)))
		goto out;
	for (i = 0; i < 2; i++) {
		if ((ret = store_prepare(&st, s, sql[i], err)))
			goto out;
		store_bind_int(st, 1, before_ms);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE) {
			ret = store_fail(s, rc, "prune events", err);
			goto out;
		}
	}
	if (n)
		*n = sqlite3_changes(s->db);
	ret = store_commit(s, err);
out:
	if (ret) {
		store_rollback(s);
		if (n)
			*n = 0;
	}
	store_unlock(s);
	return ret;
}
