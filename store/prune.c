/* Forgetting what is settled: old triggers and tasks their notes show. */
#include <sqlite3.h>

#include "store/internal.h"
#include "store/store.h"
#include "util/banned.h"

/* Rows per transaction: each is a few hundred microseconds of the write
 * lock, which a hook or the receiver may be waiting for. */
#define PRUNE_BATCH 256

/* Read off the partial indexes tasks_final and triggers_settled (named:
 * without statistics SQLite picks tasks_pending and triggers_due, which
 * hold every settled row, however new); the conditions match theirs
 * term for term, so that only rows old enough are read. A
 * created trigger goes once its task is gone: it is the commit's line
 * and the key that keeps the commit from firing twice while the task is
 * still polled or shown unnoted. */
static const char *const prune_sql[] = {
    "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks INDEXED BY "
    "tasks_final WHERE final = 1 "
    "AND updated_ms < ?1 AND gen = noted_gen LIMIT ?2)",
    "DELETE FROM triggers WHERE id IN (SELECT id FROM triggers AS t "
    "INDEXED BY triggers_settled WHERE "
    "(state = 'created' OR state = 'rejected') AND updated_ms < ?1 "
    "AND noted_state = state AND NOT EXISTS (SELECT 1 FROM tasks AS k "
    "WHERE k.workflow = t.workflow AND k.custom = t.custom "
    "AND k.task_id = t.task_id) LIMIT ?2)",
};

/* One transaction of statement sql: *n gets the rows it deleted. */
static int prune_batch(int64_t *n, struct zh_store *s, const char *sql,
		       int64_t before_ms, struct zh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	*n = 0;
	store_lock(s);
	if ((ret = store_begin(s, err)) ||
	    (ret = store_prepare(&st, s, sql, err)))
		goto out;
	store_bind_int(st, 1, before_ms);
	store_bind_int(st, 2, PRUNE_BATCH);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		ret =
		    store_fail(s, rc, "forget settled triggers and tasks", err);
		goto out;
	}
	*n = sqlite3_changes(s->db);
	ret = store_commit(s, err);
out:
	sqlite3_finalize(st);
	if (ret) {
		store_rollback(s);
		*n = 0;
	}
	store_unlock(s);
	return ret;
}

int zh_store_prune(int64_t *n, struct zh_store *s, int64_t before_ms,
		   struct zh_error *err)
{
	int64_t total = 0, got;
	size_t i;
	int ret = 0;

	/* tasks first: their triggers go with them */
	for (i = 0; i < sizeof(prune_sql) / sizeof(prune_sql[0]) && !ret; i++)
		do {
			ret =
			    prune_batch(&got, s, prune_sql[i], before_ms, err);
			total += got;
		} while (!ret && got == PRUNE_BATCH);
	/* the "maybe sent" marks of triggers gone (flow/deliver.c): an id
	 * SQLite gives out again (the table emptied) must not find one */
	if (!ret && total > 0) {
		store_lock(s);
		ret =
		    store_exec(s,
			       "DELETE FROM meta WHERE key LIKE 'maybe_sent:%' "
			       "AND CAST(substr(key, 12) AS INTEGER) NOT IN "
			       "(SELECT id FROM triggers)",
			       err);
		store_unlock(s);
	}
	if (n)
		*n = total;
	return ret;
}
