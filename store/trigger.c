/* Triggers: fired rules on their way to Zadig. */
#include "store/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define DEFAULT_LEASE_MS 60000

#define TRIGGER_COLS                                                           \
	"id, trigger_key, repo, ref, commit_id, rule, workflow, custom, "      \
	"dedupe != '', project, method, path, body, state, attempts, "         \
	"next_try_ms, lease_until_ms, last_error, task_id, url, created_ms, "  \
	"updated_ms"

static const char *const state_names[] = {
    [ZH_STORE_QUEUED] = "queued",
    [ZH_STORE_SENDING] = "sending",
    [ZH_STORE_CREATED] = "created",
    [ZH_STORE_REJECTED] = "rejected",
};

const char *zh_store_trigger_state_name(enum zh_store_trigger_state st)
{
	if ((unsigned)st < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[st];
	return "unknown";
}

static enum zh_store_trigger_state parse_state(const unsigned char *t)
{
	size_t i;

	for (i = 0; t && i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (!strcmp((const char *)t, state_names[i]))
			return (enum zh_store_trigger_state)i;
	/* the CHECK constraint keeps other values out */
	return ZH_STORE_QUEUED;
}

void zh_store_trigger_dispose(struct zh_store_trigger *t)
{
	if (!t)
		return;
	free(t->key);
	free(t->repo);
	free(t->ref);
	free(t->commit);
	free(t->rule);
	free(t->workflow);
	free(t->project);
	free(t->method);
	free(t->path);
	free(t->body);
	free(t->last_error);
	free(t->url);
	memset(t, 0, sizeof(*t));
}

void zh_store_trigger_list_dispose(struct zh_store_trigger_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->len; i++)
		zh_store_trigger_dispose(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

/* Fill out from a row of TRIGGER_COLS. */
static int read_row(struct zh_store_trigger *out, sqlite3_stmt *st,
		    struct zh_error *err)
{
	bool oom = false;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->key = store_col_dup(st, 1, &oom);
	out->repo = store_col_dup(st, 2, &oom);
	out->ref = store_col_dup(st, 3, &oom);
	out->commit = store_col_dup(st, 4, &oom);
	out->rule = store_col_dup(st, 5, &oom);
	out->workflow = store_col_dup(st, 6, &oom);
	out->custom = sqlite3_column_int(st, 7) != 0;
	out->forced = sqlite3_column_int(st, 8) != 0;
	out->project = store_col_dup(st, 9, &oom);
	out->method = store_col_dup(st, 10, &oom);
	out->path = store_col_dup(st, 11, &oom);
	out->body = store_col_dup(st, 12, &oom);
	out->state = parse_state(sqlite3_column_text(st, 13));
	out->attempts = sqlite3_column_int(st, 14);
	out->next_try_ms = sqlite3_column_int64(st, 15);
	out->lease_until_ms = sqlite3_column_int64(st, 16);
	out->last_error = store_col_dup(st, 17, &oom);
	out->task_id = sqlite3_column_int64(st, 18);
	out->url = store_col_dup(st, 19, &oom);
	out->created_ms = sqlite3_column_int64(st, 20);
	out->updated_ms = sqlite3_column_int64(st, 21);
	if (oom) {
		zh_store_trigger_dispose(out);
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	}
	return 0;
}

/* Run st (bound) expecting one row into out. */
static int read_one(struct zh_store_trigger *out, struct zh_store *s,
		    sqlite3_stmt *st, const char *what, struct zh_error *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return zh_error_set(err, ZH_ENOTFOUND, "no such trigger");
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, what, err);
	return read_row(out, st, err);
}

/* Run st (bound) appending every row to out. */
static int read_list(struct zh_store_trigger_list *out, struct zh_store *s,
		     sqlite3_stmt *st, struct zh_error *err)
{
	size_t cap = 0;
	void *p;
	int rc, ret;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!(p = store_grow(out->items, &cap, out->len,
				     sizeof(*out->items))))
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		out->items = p;
		if ((ret = read_row(&out->items[out->len], st, err)))
			return ret;
		out->len++;
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, rc, "list triggers", err);
	return 0;
}

static bool missing(const char *v)
{
	return !v || !*v;
}

/* spec checked; *k its key: spec->key, or a fresh one written to key. */
static int spec_key(const char **k, char key[ZH_STORE_KEY_LEN + 1],
		    const struct zh_store_trigger_spec *spec,
		    struct zh_error *err)
{
	int ret;

	if (!spec || missing(spec->repo) || missing(spec->ref) ||
	    missing(spec->commit) || missing(spec->rule) ||
	    missing(spec->workflow) || missing(spec->method) ||
	    missing(spec->path))
		return zh_error_set(err, ZH_EINVALID,
				    "trigger lacks repo, ref, commit, rule, "
				    "workflow or request");
	*k = spec->key;
	if (!*k) {
		if ((ret = zh_store_new_key(key, err)))
			return ret;
		*k = key;
	} else if (missing(*k)) {
		return zh_error_set(err, ZH_EINVALID, "trigger key is empty");
	}
	return 0;
}

static const char insert_sql[] =
    "INSERT INTO triggers (repo, ref, commit_id, rule, dedupe, "
    "trigger_key, workflow, custom, project, method, path, body, "
    "state, next_try_ms, created_ms, updated_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "'queued', ?14, ?13, ?13) "
    "ON CONFLICT (repo, ref, commit_id, rule, dedupe) DO NOTHING "
    "RETURNING id";

static const char existing_sql[] =
    "SELECT id FROM triggers WHERE repo = ?1 AND ref = ?2 AND "
    "commit_id = ?3 AND rule = ?4 AND dedupe = ''";

/* Insert spec under key k, the store's lock held. Both statements are
 * kept prepared (store_cached): a push of many refs runs them once per
 * fired rule. */
static int add_one(struct zh_store_trigger_added *out, struct zh_store *s,
		   const struct zh_store_trigger_spec *spec, const char *k,
		   int64_t now_ms, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if ((ret = store_cached(&st, s, insert_sql, err)))
		return ret;
	store_bind_text(st, 1, spec->repo);
	store_bind_text(st, 2, spec->ref);
	store_bind_text(st, 3, spec->commit);
	store_bind_text(st, 4, spec->rule);
	store_bind_text(st, 5, spec->force ? k : "");
	store_bind_text(st, 6, k);
	store_bind_text(st, 7, spec->workflow);
	store_bind_int(st, 8, spec->custom);
	store_bind_text(st, 9, spec->project);
	store_bind_text(st, 10, spec->method);
	store_bind_text(st, 11, spec->path);
	store_bind_text(st, 12, spec->body);
	store_bind_int(st, 13, now_ms);
	store_bind_int(st, 14, spec->due_ms > now_ms ? spec->due_ms : now_ms);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	} else if (rc == SQLITE_DONE) {
		/* the key was there: rows are never deleted, so it still is */
		store_release(st);
		out->existed = true;
		if ((ret = store_cached(&st, s, existing_sql, err)))
			return ret;
		store_bind_text(st, 1, spec->repo);
		store_bind_text(st, 2, spec->ref);
		store_bind_text(st, 3, spec->commit);
		store_bind_text(st, 4, spec->rule);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			out->id = sqlite3_column_int64(st, 0);
			rc = SQLITE_DONE;
		}
	}
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		ret = zh_error_set(err, ZH_EINVALID,
				   "trigger key '%s' is already used", k);
	else if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "add a trigger", err);
	store_release(st);
	return ret;
}

int zh_store_trigger_add_many(struct zh_store_trigger_added *out,
			      struct zh_store *s,
			      const struct zh_store_trigger_spec *specs,
			      size_t n, int64_t now_ms, struct zh_error *err)
{
	char(*keys)[ZH_STORE_KEY_LEN + 1] = NULL;
	const char **k = NULL;
	size_t i;
	int ret = 0;

	if (n == 0)
		return 0;
	memset(out, 0, n * sizeof(*out));
	if (!(keys = calloc(n, sizeof(*keys))) ||
	    !(k = calloc(n, sizeof(*k)))) {
		ret = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n && ret == 0; i++)
		ret = spec_key(&k[i], keys[i], specs ? &specs[i] : NULL, err);
	if (ret)
		goto out;
	store_lock(s);
	/* one transaction, one flush, however many */
	if ((ret = store_begin(s, err)) == 0) {
		for (i = 0; i < n && ret == 0; i++)
			ret = add_one(&out[i], s, &specs[i], k[i], now_ms, err);
		if (ret)
			store_rollback(s);
		else
			ret = store_commit(s, err);
	}
	store_unlock(s);
out:
	if (ret)
		memset(out, 0, n * sizeof(*out));
	free(keys);
	free(k);
	return ret;
}

int zh_store_trigger_add(int64_t *id, bool *existed, struct zh_store *s,
			 const struct zh_store_trigger_spec *spec,
			 int64_t now_ms, struct zh_error *err)
{
	struct zh_store_trigger_added a;
	int ret = zh_store_trigger_add_many(&a, s, spec, 1, now_ms, err);

	if (id)
		*id = ret ? 0 : a.id;
	if (existed)
		*existed = ret ? false : a.existed;
	return ret;
}

int zh_store_trigger_get(struct zh_store_trigger *out, struct zh_store *s,
			 int64_t id, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	store_lock(s);
	ret = store_prepare(
	    &st, s, "SELECT " TRIGGER_COLS " FROM triggers WHERE id = ?1", err);
	if (!ret) {
		store_bind_int(st, 1, id);
		ret = read_one(out, s, st, "read a trigger", err);
	}
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

int zh_store_trigger_get_by_key(struct zh_store_trigger *out,
				struct zh_store *s, const char *key,
				struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!key)
		return zh_error_set(err, ZH_EINVALID, "trigger key is missing");
	store_lock(s);
	ret = store_prepare(&st, s,
			    "SELECT " TRIGGER_COLS
			    " FROM triggers WHERE trigger_key = ?1",
			    err);
	if (!ret) {
		store_bind_text(st, 1, key);
		ret = read_one(out, s, st, "read a trigger", err);
	}
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

/* Inside a transaction: make trigger id (found in state was) 'sending' and
 * read it into out. */
static int take(struct zh_store_trigger *out, struct zh_store *s, int64_t id,
		const char *was, int64_t now_ms, int64_t lease_ms,
		struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (lease_ms <= 0)
		lease_ms = DEFAULT_LEASE_MS;
	ret = store_prepare(&st, s,
			    "UPDATE triggers SET state = 'sending', "
			    "attempts = attempts + 1, lease_until_ms = ?2, "
			    "updated_ms = ?3 WHERE id = ?1 "
			    "RETURNING " TRIGGER_COLS,
			    err);
	if (ret)
		return ret;
	store_bind_int(st, 1, id);
	store_bind_int(st, 2, now_ms + lease_ms);
	store_bind_int(st, 3, now_ms);
	ret = read_one(out, s, st, "claim a trigger", err);
	if (!ret) {
		int rc = sqlite3_step(st);

		if (rc != SQLITE_DONE) {
			zh_store_trigger_dispose(out);
			ret = store_fail(s, rc, "claim a trigger", err);
		}
	}
	sqlite3_finalize(st);
	if (!ret)
		out->interrupted = was && !strcmp(was, "sending");
	return ret;
}

/* In one transaction: pick the row sel (bound) selects and take it. */
static int claim(struct zh_store_trigger *out, struct zh_store *s,
		 sqlite3_stmt *sel, int64_t now_ms, int64_t lease_ms,
		 struct zh_error *err)
{
	char was[16] = "";
	int64_t id;
	int rc, ret;

	if ((ret = store_begin(s, err)))
		return ret;
	rc = sqlite3_step(sel);
	if (rc == SQLITE_DONE) {
		ret = zh_error_set(err, ZH_ENOTFOUND, "no trigger is due");
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = store_fail(s, rc, "claim a trigger", err);
		goto out;
	}
	id = sqlite3_column_int64(sel, 0);
	if (sqlite3_column_text(sel, 1))
		snprintf(was, sizeof(was), "%s",
			 (const char *)sqlite3_column_text(sel, 1));
	sqlite3_reset(sel);
	if ((ret = take(out, s, id, was, now_ms, lease_ms, err)))
		goto out;
	if ((ret = store_commit(s, err)))
		zh_store_trigger_dispose(out);
out:
	sqlite3_reset(sel);
	if (ret)
		store_rollback(s);
	return ret;
}

int zh_store_trigger_claim(struct zh_store_trigger *out, struct zh_store *s,
			   const struct zh_store_claim *c, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int64_t lease;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!c)
		return zh_error_set(err, ZH_EINVALID, "claim lacks a time");
	store_lock(s);
	/* times further ahead than any we set (?4: the next try, ?5: a
	 * lease, a change) were set before the clock was set back */
	ret = store_prepare(
	    &st, s,
	    "SELECT id, state FROM triggers WHERE "
	    "(state = 'queued' AND CASE WHEN ?2 THEN "
	    "updated_ms < ?3 OR updated_ms > ?1 + " STORE_CLOCK_SLACK_SQL " "
	    "ELSE next_try_ms <= ?1 OR next_try_ms > ?4 END) "
	    "OR (state = 'sending' AND (lease_until_ms <= ?1 OR "
	    "lease_until_ms > ?5)) "
	    "ORDER BY CASE state WHEN 'queued' THEN next_try_ms "
	    "ELSE lease_until_ms END, id LIMIT 1",
	    err);
	if (ret)
		goto out;
	lease = c->lease_ms > 0 ? c->lease_ms : DEFAULT_LEASE_MS;
	store_bind_int(st, 1, c->now_ms);
	store_bind_int(st, 2, c->ignore_backoff);
	store_bind_int(st, 3,
		       c->round_start_ms > 0 ? c->round_start_ms : c->now_ms);
	store_bind_int(
	    st, 4,
	    c->now_ms + STORE_CLOCK_SLACK_MS +
		(lease > STORE_BACKOFF_CAP_MS ? lease : STORE_BACKOFF_CAP_MS));
	store_bind_int(st, 5, c->now_ms + lease + STORE_CLOCK_SLACK_MS);
	ret = claim(out, s, st, c->now_ms, c->lease_ms, err);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

int zh_store_trigger_claim_id(struct zh_store_trigger *out, struct zh_store *s,
			      int64_t id, int64_t now_ms, int64_t lease_ms,
			      struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	store_lock(s);
	ret = store_prepare(&st, s,
			    "SELECT id, state FROM triggers WHERE id = ?1 AND "
			    "(state = 'queued' OR (state = 'sending' AND "
			    "(lease_until_ms <= ?2 OR lease_until_ms > ?3)))",
			    err);
	if (ret)
		goto out;
	store_bind_int(st, 1, id);
	store_bind_int(st, 2, now_ms);
	store_bind_int(st, 3,
		       now_ms + (lease_ms > 0 ? lease_ms : DEFAULT_LEASE_MS) +
			   STORE_CLOCK_SLACK_MS);
	ret = claim(out, s, st, now_ms, lease_ms, err);
	if (ret == ZH_ENOTFOUND)
		zh_error_set(err, ZH_ENOTFOUND,
			     "trigger %lld is not waiting to be sent",
			     (long long)id);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

/* Whether task task_id of t's workflow is held by another trigger than t
 * (created with it) or recorded with a rule and not as t's own task: for
 * another (repo, ref, commit, rule), or for t's by `git zadig trigger`,
 * an explicit request of its own. A row of another commit whose task
 * Zadig made at another time than the one the lookup lists
 * (create_time) is not: an older task of the same id. Without that
 * evidence it is the same task, listed for t's commit too (a create
 * names a branch only). With the store locked. */
static int task_taken(bool *taken, struct zh_store *s,
		      const struct zh_store_trigger *t, int64_t task_id,
		      int64_t create_time, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	*taken = false;
	/* the commit narrows the triggers to those the lookup could list
	 * (an index); the task row is found by its unique key */
	ret = store_prepare(
	    &st, s,
	    "SELECT 1 FROM triggers WHERE commit_id = ?4 AND workflow = ?1 "
	    "AND custom = ?2 AND task_id = ?3 AND state = 'created' AND "
	    "id != ?5 "
	    "UNION ALL SELECT 1 FROM tasks WHERE workflow = ?1 AND "
	    "custom = ?2 AND task_id = ?3 AND rule IS NOT NULL AND NOT "
	    "(commit_id IS NOT ?4 AND ?9 > 0 AND zadig_created > 0 AND "
	    "zadig_created != ?9) AND NOT "
	    "(repo IS ?6 AND ref IS ?7 AND commit_id IS ?4 AND rule IS ?8 "
	    "AND EXISTS (SELECT 1 FROM triggers WHERE id = ?5 AND "
	    "task_id = ?3 AND state = 'created')) "
	    "LIMIT 1",
	    err);
	if (ret)
		return ret;
	store_bind_text(st, 1, t->workflow);
	store_bind_int(st, 2, t->custom);
	store_bind_int(st, 3, task_id);
	store_bind_text(st, 4, t->commit);
	store_bind_int(st, 5, t->id);
	store_bind_text(st, 6, t->repo);
	store_bind_text(st, 7, t->ref);
	store_bind_text(st, 8, t->rule);
	store_bind_int(st, 9, create_time);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*taken = true;
	else if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "look up a task's trigger", err);
	sqlite3_finalize(st);
	return ret;
}

int zh_store_task_taken(bool *taken, struct zh_store *s,
			const struct zh_store_trigger *t, int64_t task_id,
			int64_t create_time, struct zh_error *err)
{
	int ret;

	*taken = false;
	if (!t || !t->workflow || !t->commit)
		return zh_error_set(err, ZH_EINVALID, "no trigger given");
	store_lock(s);
	ret = task_taken(taken, s, t, task_id, create_time, err);
	store_unlock(s);
	return ret;
}

/* zh_store_trigger_created; with taken (zh_store_trigger_found, the
 * lookup listing the task as made at create_time) only when the task is
 * nobody else's, and a task found without a rule becomes t's. */
static int record_created(bool *taken, struct zh_store *s,
			  const struct zh_store_trigger *t, int64_t task_id,
			  int64_t create_time, const char *url,
			  int64_t poll_interval_ms, int64_t now_ms,
			  struct zh_error *err)
{
	struct zh_store_task task;
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if (taken)
		*taken = false;
	if (!t || !t->workflow || (taken && !t->commit))
		return zh_error_set(err, ZH_EINVALID, "no trigger given");
	memset(&task, 0, sizeof(task));
	task.workflow = t->workflow;
	task.custom = t->custom;
	task.task_id = task_id;
	task.project = t->project;
	task.repo = t->repo;
	task.ref = t->ref;
	task.commit = t->commit;
	task.rule = t->rule;
	task.url = (char *)url;
	task.next_poll_ms = now_ms + poll_interval_ms;
	task.poll_interval_ms = poll_interval_ms;
	task.zadig_created = create_time;
	store_lock(s);
	if ((ret = store_begin(s, err)))
		goto out;
	if (taken) {
		if ((ret =
			 task_taken(taken, s, t, task_id, create_time, err)) ||
		    *taken)
			goto out;
		/* found by the lookup of this commit before, under
		 * whatever ref was being polled then: it is this trigger's
		 * task (an older one of another commit is replaced below) */
		ret = store_prepare(
		    &st, s,
		    "UPDATE tasks SET repo = ?4, ref = ?5, commit_id = ?6, "
		    "rule = ?7, gen = gen + 1, updated_ms = ?8 WHERE "
		    "workflow = ?1 AND custom = ?2 AND task_id = ?3 AND "
		    "rule IS NULL AND repo IS ?4 AND commit_id IS ?6",
		    err);
		if (ret)
			goto out;
		store_bind_text(st, 1, t->workflow);
		store_bind_int(st, 2, t->custom);
		store_bind_int(st, 3, task_id);
		store_bind_text(st, 4, t->repo);
		store_bind_text(st, 5, t->ref);
		store_bind_text(st, 6, t->commit);
		store_bind_text(st, 7, t->rule);
		store_bind_int(st, 8, now_ms);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE) {
			ret = store_fail(s, rc, "record a found task", err);
			goto out;
		}
	}
	/* not fenced by the claim: the task exists whoever sent it */
	ret = store_prepare(&st, s,
			    "UPDATE triggers SET state = 'created', "
			    "task_id = ?2, url = ?3, lease_until_ms = 0, "
			    "last_error = NULL, updated_ms = ?4 "
			    "WHERE id = ?1 AND state != 'created'",
			    err);
	if (ret)
		goto out;
	store_bind_int(st, 1, t->id);
	store_bind_int(st, 2, task_id);
	store_bind_text(st, 3, url);
	store_bind_int(st, 4, now_ms);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		ret = store_fail(s, rc, "record a created task", err);
		goto out;
	}
	if ((ret = store_task_created(NULL, s, &task, taken != NULL, now_ms,
				      err)))
		goto out;
	ret = store_commit(s, err);
out:
	sqlite3_finalize(st);
	if (ret || (taken && *taken))
		store_rollback(s);
	store_unlock(s);
	return ret;
}

int zh_store_trigger_created(struct zh_store *s,
			     const struct zh_store_trigger *t, int64_t task_id,
			     const char *url, int64_t poll_interval_ms,
			     int64_t now_ms, struct zh_error *err)
{
	return record_created(NULL, s, t, task_id, 0, url, poll_interval_ms,
			      now_ms, err);
}

int zh_store_trigger_found(bool *taken, struct zh_store *s,
			   const struct zh_store_trigger *t, int64_t task_id,
			   int64_t create_time, const char *url,
			   int64_t poll_interval_ms, int64_t now_ms,
			   struct zh_error *err)
{
	return record_created(taken, s, t, task_id, create_time, url,
			      poll_interval_ms, now_ms, err);
}

/* Finish the claim on t: back to queued after a back-off, or rejected. */
/* Run st, an UPDATE of claimed trigger t fenced by its state and attempts:
 * no row changed means another process claimed it since (ZH_ENOTFOUND). */
static int step_fenced(struct zh_store *s, sqlite3_stmt *st,
		       const struct zh_store_trigger *t, const char *what,
		       struct zh_error *err)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		return store_fail(s, rc, what, err);
	if (sqlite3_changes(s->db) == 0)
		return zh_error_set(err, ZH_ENOTFOUND,
				    "trigger %lld was taken over by another "
				    "process",
				    (long long)t->id);
	return 0;
}

static int finish(struct zh_store *s, const struct zh_store_trigger *t,
		  bool rejected, const char *error, int64_t now_ms,
		  struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (!t)
		return zh_error_set(err, ZH_EINVALID, "no trigger given");
	store_lock(s);
	ret = store_prepare(&st, s,
			    "UPDATE triggers SET state = ?3, next_try_ms = ?4, "
			    "lease_until_ms = 0, last_error = ?5, "
			    "updated_ms = ?6 WHERE id = ?1 AND "
			    "state = 'sending' AND attempts = ?2",
			    err);
	if (ret)
		goto out;
	store_bind_int(st, 1, t->id);
	store_bind_int(st, 2, t->attempts);
	store_bind_text(st, 3, rejected ? "rejected" : "queued");
	store_bind_int(st, 4,
		       rejected ? 0
				: now_ms + zh_store_backoff_ms(t->attempts,
							       store_random()));
	store_bind_text(st, 5, error);
	store_bind_int(st, 6, now_ms);
	ret = step_fenced(s, st, t, "update a trigger", err);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

int zh_store_trigger_renew(struct zh_store *s, struct zh_store_trigger *t,
			   int64_t now_ms, int64_t lease_ms,
			   struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (!t)
		return zh_error_set(err, ZH_EINVALID, "no trigger given");
	if (lease_ms <= 0)
		lease_ms = DEFAULT_LEASE_MS;
	store_lock(s);
	ret = store_prepare(&st, s,
			    "UPDATE triggers SET lease_until_ms = ?3, "
			    "updated_ms = ?4 WHERE id = ?1 AND "
			    "state = 'sending' AND attempts = ?2 AND "
			    "lease_until_ms > ?4",
			    err);
	if (ret)
		goto out;
	store_bind_int(st, 1, t->id);
	store_bind_int(st, 2, t->attempts);
	store_bind_int(st, 3, now_ms + lease_ms);
	store_bind_int(st, 4, now_ms);
	if ((ret = step_fenced(s, st, t, "renew a claim", err)) == 0)
		t->lease_until_ms = now_ms + lease_ms;
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

int zh_store_trigger_retry(struct zh_store *s, const struct zh_store_trigger *t,
			   const char *error, int64_t now_ms,
			   struct zh_error *err)
{
	return finish(s, t, false, error, now_ms, err);
}

int zh_store_trigger_hold(struct zh_store *s, const struct zh_store_trigger *t,
			  const char *error, int64_t now_ms,
			  struct zh_error *err)
{
	/* same schedule as a retry: a fixed token is found by the next try */
	return finish(s, t, false, error, now_ms, err);
}

int zh_store_trigger_reject(struct zh_store *s,
			    const struct zh_store_trigger *t, const char *error,
			    int64_t now_ms, struct zh_error *err)
{
	return finish(s, t, true, error, now_ms, err);
}

/* SELECT sql (one text parameter per non-NULL a, b) into out; keep: sql
 * is a string constant run often (once per commit a note is written
 * for), kept prepared (store_cached). */
static int list(struct zh_store_trigger_list *out, struct zh_store *s,
		const char *sql, bool keep, const char *a, const char *b,
		struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int ret;

	out->items = NULL;
	out->len = 0;
	store_lock(s);
	if ((ret = keep ? store_cached(&st, s, sql, err)
			: store_prepare(&st, s, sql, err)))
		goto out;
	if (a)
		store_bind_text(st, 1, a);
	if (b)
		store_bind_text(st, 2, b);
	ret = read_list(out, s, st, err);
out:
	if (keep)
		store_release(st);
	else
		sqlite3_finalize(st);
	store_unlock(s);
	if (ret)
		zh_store_trigger_list_dispose(out);
	return ret;
}

static const char of_commit_sql[] =
    "SELECT " TRIGGER_COLS " FROM triggers WHERE commit_id = ?2 AND "
    "repo = ?1 ORDER BY id";

int zh_store_triggers_of_commit(struct zh_store_trigger_list *out,
				struct zh_store *s, const char *repo,
				const char *commit, struct zh_error *err)
{
	if (!repo || !commit) {
		out->items = NULL;
		out->len = 0;
		return zh_error_set(err, ZH_EINVALID,
				    "repository or commit missing");
	}
	return list(out, s, of_commit_sql, true, repo, commit, err);
}

int zh_store_triggers_pending(struct zh_store_trigger_list *out,
			      struct zh_store *s, struct zh_error *err)
{
	return list(out, s,
		    "SELECT " TRIGGER_COLS " FROM triggers WHERE "
		    "state IN ('queued', 'sending') ORDER BY id",
		    false, NULL, NULL, err);
}

int zh_store_queue_depth(int64_t *n, struct zh_store *s, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	*n = 0;
	store_lock(s);
	ret = store_prepare(&st, s,
			    "SELECT count(*) FROM triggers WHERE "
			    "state IN ('queued', 'sending')",
			    err);
	if (ret)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		ret = store_fail(s, rc, "count triggers", err);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}
