/* Tasks: Zadig workflow tasks we poll, and what the notes say of them. */
#include "store/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define TASK_COLS                                                              \
	"id, workflow, custom, task_id, project, repo, ref, commit_id, rule, " \
	"status, url, extra, final, next_poll_ms, poll_interval_ms, "          \
	"created_ms, updated_ms, gen, noted_gen, zadig_created"

void zh_store_task_dispose(struct zh_store_task *t)
{
	if (!t)
		return;
	free(t->workflow);
	free(t->project);
	free(t->repo);
	free(t->ref);
	free(t->commit);
	free(t->rule);
	free(t->status);
	free(t->url);
	free(t->extra);
	memset(t, 0, sizeof(*t));
}

void zh_store_task_list_dispose(struct zh_store_task_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->len; i++)
		zh_store_task_dispose(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

void zh_store_commit_list_dispose(struct zh_store_commit_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->len; i++) {
		free(l->items[i].repo);
		free(l->items[i].commit);
	}
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

static int read_row(struct zh_store_task *out, sqlite3_stmt *st,
		    struct zh_error *err)
{
	bool oom = false;

	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	out->workflow = store_col_dup(st, 1, &oom);
	out->custom = sqlite3_column_int(st, 2) != 0;
	out->task_id = sqlite3_column_int64(st, 3);
	out->project = store_col_dup(st, 4, &oom);
	out->repo = store_col_dup(st, 5, &oom);
	out->ref = store_col_dup(st, 6, &oom);
	out->commit = store_col_dup(st, 7, &oom);
	out->rule = store_col_dup(st, 8, &oom);
	out->status = store_col_dup(st, 9, &oom);
	out->url = store_col_dup(st, 10, &oom);
	out->extra = store_col_dup(st, 11, &oom);
	out->final = sqlite3_column_int(st, 12) != 0;
	out->next_poll_ms = sqlite3_column_int64(st, 13);
	out->poll_interval_ms = sqlite3_column_int64(st, 14);
	out->created_ms = sqlite3_column_int64(st, 15);
	out->updated_ms = sqlite3_column_int64(st, 16);
	out->gen = sqlite3_column_int64(st, 17);
	out->noted_gen = sqlite3_column_int64(st, 18);
	out->zadig_created = sqlite3_column_int64(st, 19);
	if (oom) {
		zh_store_task_dispose(out);
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	}
	return 0;
}

static int read_list(struct zh_store_task_list *out, struct zh_store *s,
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
		return store_fail(s, rc, "list tasks", err);
	return 0;
}

int store_task_upsert(int64_t *id, struct zh_store *s,
		      const struct zh_store_task *t, int64_t now_ms,
		      struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if (!t || !t->workflow || !*t->workflow)
		return zh_error_set(err, ZH_EINVALID, "task lacks a workflow");
	/* In DO UPDATE, bare column names are the stored row's values and
	 * every SET expression sees them as they were before the update. */
	ret = store_prepare(
	    &st, s,
	    "INSERT INTO tasks (workflow, custom, task_id, project, repo, "
	    "ref, commit_id, rule, status, url, extra, final, next_poll_ms, "
	    "poll_interval_ms, created_ms, updated_ms, zadig_created) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, coalesce(?9, 'created'), "
	    "?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16) "
	    "ON CONFLICT (workflow, custom, task_id) DO UPDATE SET "
	    "gen = gen + ((?9 IS NOT NULL AND ?9 IS NOT status) OR "
	    "(?10 IS NOT NULL AND ?10 IS NOT url) OR "
	    "(?11 IS NOT NULL AND ?11 IS NOT extra)), "
	    "project = coalesce(?4, project), repo = coalesce(repo, ?5), "
	    "ref = coalesce(ref, ?6), commit_id = coalesce(commit_id, ?7), "
	    "rule = coalesce(rule, ?8), status = coalesce(?9, status), "
	    "url = coalesce(?10, url), extra = coalesce(?11, extra), "
	    "final = CASE WHEN ?9 IS NULL THEN final ELSE ?12 END, "
	    "next_poll_ms = CASE WHEN ?9 IS NULL THEN next_poll_ms "
	    "ELSE ?13 END, "
	    "poll_interval_ms = CASE WHEN ?9 IS NULL THEN poll_interval_ms "
	    "ELSE ?14 END, updated_ms = ?15 "
	    "RETURNING id",
	    err);
	if (ret)
		return ret;
	store_bind_text(st, 1, t->workflow);
	store_bind_int(st, 2, t->custom);
	store_bind_int(st, 3, t->task_id);
	store_bind_text(st, 4, t->project);
	store_bind_text(st, 5, t->repo);
	store_bind_text(st, 6, t->ref);
	store_bind_text(st, 7, t->commit);
	store_bind_text(st, 8, t->rule);
	store_bind_text(st, 9, t->status);
	store_bind_text(st, 10, t->url);
	store_bind_text(st, 11, t->extra);
	store_bind_int(st, 12, t->final);
	store_bind_int(st, 13, t->next_poll_ms);
	store_bind_int(st, 14, t->poll_interval_ms);
	store_bind_int(st, 15, now_ms);
	store_bind_int(st, 16, t->zadig_created);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (id)
			*id = sqlite3_column_int64(st, 0);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "record a task", err);
	sqlite3_finalize(st);
	return ret;
}

/* A row of t's task id that is another commit's, or another trigger's of
 * t's commit (t has a rule, the row another one or another ref), holds an
 * older task whose id Zadig gave out again: it becomes t, as an insert of
 * t would make it (status, schedule, first recorded now), keeping its row
 * id, so that a poll of it under way lands on t's commit. gen moves on:
 * t's commit gets its note; the old commit's note keeps its line. listed
 * (the commitId lookup named t, not a create): only a row of another
 * commit whose task Zadig made at another time than t (both create_times
 * known), as the same task is listed for other commits too. *replaced
 * (may be NULL) says whether a row was. */
static int replace_reused(bool *replaced, struct zh_store *s,
			  const struct zh_store_task *t, bool listed,
			  int64_t now_ms, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if (replaced)
		*replaced = false;
	ret = store_prepare(
	    &st, s,
	    "UPDATE tasks SET repo = ?4, ref = ?5, commit_id = ?6, rule = ?7, "
	    "project = ?8, status = coalesce(?9, 'created'), url = ?10, "
	    "extra = ?11, final = ?12, next_poll_ms = ?13, "
	    "poll_interval_ms = ?14, created_ms = ?15, updated_ms = ?15, "
	    "zadig_created = ?17, "
	    "gen = gen + 1 WHERE workflow = ?1 AND custom = ?2 AND "
	    "task_id = ?3 AND NOT (repo IS ?4 AND commit_id IS ?6 AND "
	    "(?7 IS NULL OR rule IS NULL OR (ref IS ?5 AND rule IS ?7))) "
	    "AND (NOT ?16 OR (commit_id IS NOT ?6 AND ?17 > 0 AND "
	    "zadig_created > 0 AND zadig_created != ?17))",
	    err);
	if (ret)
		return ret;
	store_bind_text(st, 1, t->workflow);
	store_bind_int(st, 2, t->custom);
	store_bind_int(st, 3, t->task_id);
	store_bind_text(st, 4, t->repo);
	store_bind_text(st, 5, t->ref);
	store_bind_text(st, 6, t->commit);
	store_bind_text(st, 7, t->rule);
	store_bind_text(st, 8, t->project);
	store_bind_text(st, 9, t->status);
	store_bind_text(st, 10, t->url);
	store_bind_text(st, 11, t->extra);
	store_bind_int(st, 12, t->final);
	store_bind_int(st, 13, t->next_poll_ms);
	store_bind_int(st, 14, t->poll_interval_ms);
	store_bind_int(st, 15, now_ms);
	store_bind_int(st, 16, listed);
	store_bind_int(st, 17, t->zadig_created);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "record a task", err);
	else if (replaced)
		*replaced = sqlite3_changes(s->db) > 0;
	sqlite3_finalize(st);
	return ret;
}

/* Whether the store has a row of t's task id. */
static int task_exists(bool *exists, struct zh_store *s,
		       const struct zh_store_task *t, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	*exists = false;
	ret = store_prepare(&st, s,
			    "SELECT 1 FROM tasks WHERE workflow = ?1 AND "
			    "custom = ?2 AND task_id = ?3",
			    err);
	if (ret)
		return ret;
	store_bind_text(st, 1, t->workflow);
	store_bind_int(st, 2, t->custom);
	store_bind_int(st, 3, t->task_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*exists = true;
	else if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "read a task", err);
	sqlite3_finalize(st);
	return ret;
}

int store_task_created(int64_t *id, struct zh_store *s,
		       const struct zh_store_task *t, bool listed,
		       int64_t now_ms, struct zh_error *err)
{
	int ret;

	if (!t || !t->workflow || !*t->workflow)
		return zh_error_set(err, ZH_EINVALID, "task lacks a workflow");
	if (!t->repo || !t->commit)
		return zh_error_set(err, ZH_EINVALID,
				    "task lacks a repository or commit");
	if ((ret = replace_reused(NULL, s, t, listed, now_ms, err)))
		return ret;
	return store_task_upsert(id, s, t, now_ms, err);
}

/* zh_store_task_created (listed false) or zh_store_task_listed. */
static int task_created(int64_t *id, struct zh_store *s,
			const struct zh_store_task *t, bool listed,
			int64_t now_ms, struct zh_error *err)
{
	bool replaced = false, exists = false;
	int ret;

	if (id)
		*id = 0;
	if (!t || !t->workflow || !*t->workflow)
		return zh_error_set(err, ZH_EINVALID, "task lacks a workflow");
	if (!t->repo || !t->commit)
		return zh_error_set(err, ZH_EINVALID,
				    "task lacks a repository or commit");
	store_lock(s);
	if ((ret = store_begin(s, err)) == 0) {
		if (!listed)
			ret = store_task_created(id, s, t, false, now_ms, err);
		else if ((ret = replace_reused(&replaced, s, t, true, now_ms,
					       err)) == 0 &&
			 !replaced &&
			 (ret = task_exists(&exists, s, t, err)) == 0 &&
			 !exists)
			/* nobody's yet: t's */
			ret = store_task_upsert(id, s, t, now_ms, err);
		if (ret)
			store_rollback(s);
		else
			ret = store_commit(s, err);
	}
	store_unlock(s);
	if (ret && id)
		*id = 0;
	return ret;
}

int zh_store_task_created(int64_t *id, struct zh_store *s,
			  const struct zh_store_task *t, int64_t now_ms,
			  struct zh_error *err)
{
	return task_created(id, s, t, false, now_ms, err);
}

int zh_store_task_listed(struct zh_store *s, const struct zh_store_task *t,
			 int64_t now_ms, struct zh_error *err)
{
	return task_created(NULL, s, t, true, now_ms, err);
}

int zh_store_task_upsert(int64_t *id, struct zh_store *s,
			 const struct zh_store_task *t, int64_t now_ms,
			 struct zh_error *err)
{
	int ret;

	if (id)
		*id = 0;
	store_lock(s);
	ret = store_task_upsert(id, s, t, now_ms, err);
	store_unlock(s);
	return ret;
}

/* zh_store_task_update, or with k zh_store_task_polled: only if row
 * k->id is still the task k was read as. */
static int update_task(struct zh_store *s, int64_t id,
		       const struct zh_store_task *k, const char *status,
		       const char *extra, bool final, int64_t create_time,
		       int64_t next_poll_ms, int64_t poll_interval_ms,
		       int64_t now_ms, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if (!status || !*status)
		return zh_error_set(err, ZH_EINVALID, "task status is missing");
	store_lock(s);
	/* updated_ms is the last change, by which a finished task is
	 * forgotten (zh_store_prune) and a note known unwritten since: a
	 * poll that says what the row has is none. A new task of the id
	 * (zh_store_task_created, _listed, _repoll) records it anew:
	 * another commit, first recorded at another time, or Zadig's
	 * create_time reset */
	ret = store_prepare(&st, s,
			    "UPDATE tasks SET gen = gen + (status IS NOT ?2 OR "
			    "(?3 IS NOT NULL AND extra IS NOT ?3)), "
			    "status = ?2, extra = coalesce(?3, extra), "
			    "final = ?4, next_poll_ms = ?5, "
			    "poll_interval_ms = ?6, updated_ms = CASE WHEN "
			    "status IS NOT ?2 OR (?3 IS NOT NULL AND extra IS "
			    "NOT ?3) OR final IS NOT ?4 THEN ?7 ELSE "
			    "updated_ms END, "
			    "zadig_created = CASE WHEN zadig_created = 0 "
			    "THEN ?8 ELSE zadig_created END "
			    "WHERE id = ?1 AND (NOT ?9 OR (repo IS ?10 AND "
			    "commit_id IS ?11 AND created_ms = ?12 AND "
			    "zadig_created = ?13))",
			    err);
	if (ret)
		goto out;
	store_bind_int(st, 1, id);
	store_bind_text(st, 2, status);
	store_bind_text(st, 3, extra);
	store_bind_int(st, 4, final);
	store_bind_int(st, 5, next_poll_ms);
	store_bind_int(st, 6, poll_interval_ms);
	store_bind_int(st, 7, now_ms);
	store_bind_int(st, 8, create_time);
	store_bind_int(st, 9, k != NULL);
	if (k) {
		store_bind_text(st, 10, k->repo);
		store_bind_text(st, 11, k->commit);
		store_bind_int(st, 12, k->created_ms);
		store_bind_int(st, 13, k->zadig_created);
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "update a task", err);
	else if (sqlite3_changes(s->db) == 0)
		ret = k ? zh_error_set(err, ZH_ENOTFOUND,
				       "%s #%lld is no longer the task polled",
				       k->workflow ? k->workflow : "-",
				       (long long)k->task_id)
			: zh_error_set(err, ZH_ENOTFOUND, "no task %lld",
				       (long long)id);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

int zh_store_task_update(struct zh_store *s, int64_t id, const char *status,
			 const char *extra, bool final, int64_t next_poll_ms,
			 int64_t poll_interval_ms, int64_t now_ms,
			 struct zh_error *err)
{
	return update_task(s, id, NULL, status, extra, final, 0, next_poll_ms,
			   poll_interval_ms, now_ms, err);
}

int zh_store_task_polled(struct zh_store *s, const struct zh_store_task *k,
			 const char *status, const char *extra, bool final,
			 int64_t create_time, int64_t next_poll_ms,
			 int64_t poll_interval_ms, int64_t now_ms,
			 struct zh_error *err)
{
	if (!k)
		return zh_error_set(err, ZH_EINVALID, "no task given");
	return update_task(s, k->id, k, status, extra, final, create_time,
			   next_poll_ms, poll_interval_ms, now_ms, err);
}

int zh_store_task_repoll(struct zh_store *s, const char *workflow, bool custom,
			 int64_t task_id, const char *status,
			 int64_t poll_interval_ms, int64_t now_ms,
			 struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if (!workflow || !*workflow)
		return zh_error_set(err, ZH_EINVALID, "workflow is missing");
	store_lock(s);
	ret = store_prepare(&st, s,
			    "UPDATE tasks SET gen = gen + (?4 IS NOT NULL AND "
			    "(?4 IS NOT status OR extra IS NOT NULL)), "
			    "status = coalesce(?4, status), extra = CASE WHEN "
			    "?4 IS NULL THEN extra END, final = 0, "
			    "next_poll_ms = ?6, "
			    "poll_interval_ms = ?5, created_ms = ?6, "
			    "updated_ms = ?6, zadig_created = 0 WHERE "
			    "workflow = ?1 AND "
			    "custom = ?2 AND task_id = ?3",
			    err);
	if (ret)
		goto out;
	store_bind_text(st, 1, workflow);
	store_bind_int(st, 2, custom);
	store_bind_int(st, 3, task_id);
	store_bind_text(st, 4, status);
	store_bind_int(st, 5, poll_interval_ms);
	store_bind_int(st, 6, now_ms);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "update a task", err);
	else if (sqlite3_changes(s->db) == 0)
		ret = zh_error_set(err, ZH_ENOTFOUND, "no task %s #%lld",
				   workflow, (long long)task_id);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

static int get_one(struct zh_store_task *out, struct zh_store *s,
		   sqlite3_stmt *st, struct zh_error *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return zh_error_set(err, ZH_ENOTFOUND, "no such task");
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, "read a task", err);
	return read_row(out, st, err);
}

int zh_store_task_get(struct zh_store_task *out, struct zh_store *s, int64_t id,
		      struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	store_lock(s);
	ret = store_prepare(
	    &st, s, "SELECT " TASK_COLS " FROM tasks WHERE id = ?1", err);
	if (!ret) {
		store_bind_int(st, 1, id);
		ret = get_one(out, s, st, err);
	}
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

int zh_store_task_find(struct zh_store_task *out, struct zh_store *s,
		       const char *workflow, bool custom, int64_t task_id,
		       struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!workflow)
		return zh_error_set(err, ZH_EINVALID, "workflow is missing");
	store_lock(s);
	ret = store_prepare(&st, s,
			    "SELECT " TASK_COLS " FROM tasks WHERE "
			    "workflow = ?1 AND custom = ?2 AND task_id = ?3",
			    err);
	if (!ret) {
		store_bind_text(st, 1, workflow);
		store_bind_int(st, 2, custom);
		store_bind_int(st, 3, task_id);
		ret = get_one(out, s, st, err);
	}
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

/* SELECT sql with up to two text parameters and one integer (?3); keep:
 * sql is a string constant run often (once per commit a note is written
 * for), kept prepared (store_cached). */
static int list(struct zh_store_task_list *out, struct zh_store *s,
		const char *sql, bool keep, const char *a, const char *b,
		int64_t n, struct zh_error *err)
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
	if (sqlite3_bind_parameter_count(st) >= 3)
		store_bind_int(st, 3, n);
	ret = read_list(out, s, st, err);
out:
	if (keep)
		store_release(st);
	else
		sqlite3_finalize(st);
	store_unlock(s);
	if (ret)
		zh_store_task_list_dispose(out);
	return ret;
}

int zh_store_tasks_due(struct zh_store_task_list *out, struct zh_store *s,
		       enum zh_store_task_scope scope, int64_t now_ms,
		       struct zh_error *err)
{
	const char *sql;

	switch (scope) {
	case ZH_STORE_TASKS_DUE:
		/* or later than its interval can have put it: set before
		 * the clock was set back (STORE_CLOCK_SLACK_MS) */
		sql = "SELECT " TASK_COLS " FROM tasks WHERE final = 0 AND "
		      "(next_poll_ms <= ?3 OR next_poll_ms > ?3 + "
		      "poll_interval_ms + " STORE_CLOCK_SLACK_SQL ") "
		      "ORDER BY next_poll_ms, id";
		break;
	case ZH_STORE_TASKS_PENDING:
		sql = "SELECT " TASK_COLS " FROM tasks WHERE final = 0 "
		      "ORDER BY next_poll_ms, id";
		break;
	case ZH_STORE_TASKS_ALL:
		sql = "SELECT " TASK_COLS " FROM tasks "
		      "ORDER BY final, next_poll_ms, id";
		break;
	default:
		out->items = NULL;
		out->len = 0;
		return zh_error_set(err, ZH_EINVALID, "unknown task scope");
	}
	return list(out, s, sql, false, NULL, NULL, now_ms, err);
}

static const char of_commit_sql[] =
    "SELECT " TASK_COLS " FROM tasks WHERE commit_id = ?2 AND repo = ?1 "
    "ORDER BY workflow, task_id";

int zh_store_tasks_of_commit(struct zh_store_task_list *out, struct zh_store *s,
			     const char *repo, const char *commit,
			     struct zh_error *err)
{
	if (!repo || !commit) {
		out->items = NULL;
		out->len = 0;
		return zh_error_set(err, ZH_EINVALID,
				    "repository or commit missing");
	}
	return list(out, s, of_commit_sql, true, repo, commit, 0, err);
}

int zh_store_tasks_give_up(struct zh_store_task_list *out, struct zh_store *s,
			   int64_t now_ms, int64_t give_up_after_ms,
			   struct zh_error *err)
{
	struct zh_store_task_list l = {0};
	sqlite3_stmt *st = NULL;
	int ret;

	if (out) {
		out->items = NULL;
		out->len = 0;
	}
	store_lock(s);
	/* every row changes on the first step; the rest reads them back */
	ret = store_prepare(&st, s,
			    "UPDATE tasks SET status = 'unknown', final = 1, "
			    "gen = gen + 1, updated_ms = ?1 "
			    "WHERE final = 0 AND created_ms <= ?2 "
			    "RETURNING " TASK_COLS,
			    err);
	if (ret)
		goto out;
	store_bind_int(st, 1, now_ms);
	store_bind_int(st, 2, now_ms - give_up_after_ms);
	ret = read_list(&l, s, st, err);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	if (ret || !out)
		zh_store_task_list_dispose(&l);
	else
		*out = l;
	return ret;
}

/* What a trigger in state contributes to its commit's note: the same
 * expression as in the index triggers_unnoted (store.c, v4), which SQLite
 * uses only for a query that says the same. */
#define NOTE_STATE_SQL "CASE state WHEN 'sending' THEN 'queued' ELSE state END"

static const char *note_state(enum zh_store_trigger_state st)
{
	return st == ZH_STORE_SENDING ? "queued"
				      : zh_store_trigger_state_name(st);
}

int zh_store_commits_to_note(struct zh_store_commit_list *out,
			     struct zh_store *s, const char *repo,
			     struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	void *p;
	bool oom = false;
	int rc, ret;

	out->items = NULL;
	out->len = 0;
	store_lock(s);
	ret = store_prepare(
	    &st, s,
	    "SELECT repo, commit_id FROM tasks WHERE "
	    "gen != noted_gen AND repo IS NOT NULL AND "
	    "commit_id IS NOT NULL AND (?1 IS NULL OR repo = ?1) "
	    "UNION SELECT repo, commit_id FROM triggers WHERE " NOTE_STATE_SQL
	    " != noted_state AND "
	    "(?1 IS NULL OR repo = ?1) ORDER BY 1, 2",
	    err);
	if (ret)
		goto out;
	store_bind_text(st, 1, repo);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct zh_store_commit *c;

		if (!(p = store_grow(out->items, &cap, out->len,
				     sizeof(*out->items)))) {
			ret = zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
		out->items = p;
		c = &out->items[out->len++];
		c->repo = store_col_dup(st, 0, &oom);
		c->commit = store_col_dup(st, 1, &oom);
		if (oom) {
			ret = zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "list commits to note", err);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	if (ret)
		zh_store_commit_list_dispose(out);
	return ret;
}

void zh_store_unwritten_list_dispose(struct zh_store_unwritten_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->len; i++)
		free(l->items[i].repo);
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

int zh_store_notes_unwritten(struct zh_store_unwritten_list *out,
			     struct zh_store *s, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	void *p;
	bool oom = false;
	int rc, ret;

	out->items = NULL;
	out->len = 0;
	store_lock(s);
	/* the conditions of zh_store_commits_to_note, which the partial
	 * indexes' are */
	ret = store_prepare(
	    &st, s,
	    "SELECT repo, max(u) FROM (SELECT repo, updated_ms AS u FROM "
	    "tasks WHERE gen != noted_gen AND repo IS NOT NULL AND "
	    "commit_id IS NOT NULL "
	    "UNION ALL SELECT repo, updated_ms FROM triggers "
	    "WHERE " NOTE_STATE_SQL
	    " != noted_state) GROUP BY repo ORDER BY repo",
	    err);
	if (ret)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct zh_store_unwritten *u;

		if (!(p = store_grow(out->items, &cap, out->len,
				     sizeof(*out->items)))) {
			ret = zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
		out->items = p;
		u = &out->items[out->len++];
		u->repo = store_col_dup(st, 0, &oom);
		u->changed_ms = sqlite3_column_int64(st, 1);
		if (oom) {
			ret = zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		ret = store_fail(s, rc, "list unwritten notes", err);
out:
	sqlite3_finalize(st);
	store_unlock(s);
	if (ret)
		zh_store_unwritten_list_dispose(out);
	return ret;
}

int zh_store_mark_noted(struct zh_store *s,
			const struct zh_store_trigger_list *triggers,
			const struct zh_store_task_list *tasks,
			struct zh_error *err)
{
	sqlite3_stmt *tr = NULL, *ta = NULL;
	size_t i;
	int rc, ret;

	store_lock(s);
	/* Not flushed to disk on its own: should a crash lose these marks,
	 * the same lines are written again, and an unchanged notes tree
	 * makes no notes commit. The next durable commit (any connection)
	 * flushes them. Saves the hook a disk flush per push. */
	store_sync(s, false);
	if ((ret = store_begin(s, err)))
		goto out;
	ret = store_prepare(
	    &tr, s, "UPDATE triggers SET noted_state = ?2 WHERE id = ?1", err);
	if (ret)
		goto out;
	/* a note never goes back to an older generation of a task */
	ret = store_prepare(&ta, s,
			    "UPDATE tasks SET noted_gen = ?2 WHERE id = ?1 AND "
			    "noted_gen < ?2",
			    err);
	if (ret)
		goto out;
	for (i = 0; triggers && i < triggers->len; i++) {
		store_bind_int(tr, 1, triggers->items[i].id);
		store_bind_text(tr, 2, note_state(triggers->items[i].state));
		rc = sqlite3_step(tr);
		sqlite3_reset(tr);
		if (rc != SQLITE_DONE) {
			ret = store_fail(s, rc, "record a note", err);
			goto out;
		}
	}
	for (i = 0; tasks && i < tasks->len; i++) {
		store_bind_int(ta, 1, tasks->items[i].id);
		store_bind_int(ta, 2, tasks->items[i].gen);
		rc = sqlite3_step(ta);
		sqlite3_reset(ta);
		if (rc != SQLITE_DONE) {
			ret = store_fail(s, rc, "record a note", err);
			goto out;
		}
	}
	ret = store_commit(s, err);
out:
	sqlite3_finalize(tr);
	sqlite3_finalize(ta);
	if (ret)
		store_rollback(s);
	store_sync(s, true);
	store_unlock(s);
	return ret;
}

int zh_store_next_wakeup(int64_t *at_ms, int64_t *newest_ms, struct zh_store *s,
			 struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	*at_ms = 0;
	if (newest_ms)
		*newest_ms = 0;
	store_lock(s);
	ret = store_prepare(
	    &st, s,
	    "SELECT min(t), max(c) FROM ("
	    "SELECT min(next_try_ms) AS t, max(created_ms) AS c FROM triggers "
	    "WHERE state = 'queued' "
	    "UNION ALL SELECT min(lease_until_ms), max(created_ms) "
	    "FROM triggers WHERE state = 'sending' "
	    "UNION ALL SELECT min(next_poll_ms), max(created_ms) FROM tasks "
	    "WHERE final = 0)",
	    err);
	if (ret)
		goto out;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		ret = store_fail(s, rc, "read the schedule", err);
		goto out;
	}
	if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		ret = zh_error_set(err, ZH_ENOTFOUND, "nothing is pending");
	} else {
		*at_ms = sqlite3_column_int64(st, 0);
		if (newest_ms)
			*newest_ms = sqlite3_column_int64(st, 1);
	}
out:
	sqlite3_finalize(st);
	store_unlock(s);
	return ret;
}

int zh_store_mark_repo_noted(struct zh_store *s, const char *repo,
			     int64_t before_ms, struct zh_error *err)
{
	static const char *const sql[] = {
	    "UPDATE tasks SET noted_gen = gen WHERE repo = ?1 AND "
	    "gen != noted_gen AND updated_ms < ?2",
	    "UPDATE triggers SET noted_state = " NOTE_STATE_SQL
	    " WHERE repo = ?1 AND " NOTE_STATE_SQL " != noted_state "
	    "AND updated_ms < ?2",
	};
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc, ret;

	if (!repo)
		return zh_error_set(err, ZH_EINVALID, "repository is missing");
	store_lock(s);
	if ((ret = store_begin(s, err)))
		goto out;
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]) && !ret; i++) {
		if ((ret = store_prepare(&st, s, sql[i], err)))
			break;
		store_bind_text(st, 1, repo);
		store_bind_int(st, 2, before_ms);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			ret = store_fail(s, rc, "record a note", err);
		sqlite3_finalize(st);
		st = NULL;
	}
	if (ret)
		store_rollback(s);
	else
		ret = store_commit(s, err);
out:
	store_unlock(s);
	return ret;
}
