#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/internal.h"
#include "store/store.h"
#include "tests/unit/store/helpers.h"
#include "util/banned.h"
#include "util/error.h"

static struct zh_store_task task_for(const char *workflow, int64_t task_id,
				     const char *commit)
{
	struct zh_store_task t;

	memset(&t, 0, sizeof(t));
	t.workflow = (char *)workflow;
	t.task_id = task_id;
	t.repo = "group/voting-app";
	t.ref = "refs/heads/main";
	t.commit = (char *)commit;
	return t;
}

static void upsert_fills_and_updates(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_task t = task_for("wf", 49, "c1"), got;
	struct zh_error err = {0};
	int64_t id, id2;

	t.rule = "dev";
	t.url = "http://z/49";
	t.next_poll_ms = 500;
	t.poll_interval_ms = 10000;
	assert_ok(zh_store_task_upsert(&id, f->s, &t, 100, &err), &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.status, "created");
	assert_int_equal(got.gen, 1);
	assert_int_equal(got.noted_gen, 0);
	assert_int_equal(got.next_poll_ms, 500);
	zh_store_task_dispose(&got);

	/* the commitId lookup finds it: no rule, newer status */
	t.rule = NULL;
	t.status = "running";
	t.url = NULL;
	t.next_poll_ms = 900;
	assert_ok(zh_store_task_upsert(&id2, f->s, &t, 200, &err), &err);
	assert_int_equal(id, id2);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.status, "running");
	assert_string_equal(got.rule, "dev"); /* kept */
	assert_string_equal(got.url, "http://z/49");
	assert_int_equal(got.gen, 2);
	assert_int_equal(got.next_poll_ms, 900);
	assert_int_equal(got.created_ms, 100);
	assert_int_equal(got.updated_ms, 200);
	zh_store_task_dispose(&got);

	/* the same again changes nothing a note shows */
	assert_ok(zh_store_task_upsert(NULL, f->s, &t, 300, &err), &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_int_equal(got.gen, 2);
	zh_store_task_dispose(&got);

	/* no status: schedule untouched */
	t.status = NULL;
	t.next_poll_ms = 1;
	assert_ok(zh_store_task_upsert(NULL, f->s, &t, 400, &err), &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_int_equal(got.next_poll_ms, 900);
	assert_string_equal(got.status, "running");
	zh_store_task_dispose(&got);
	zh_store_task_dispose(NULL);

	t.workflow = NULL;
	assert_int_equal(zh_store_task_upsert(NULL, f->s, &t, 1, &err),
			 ZH_EINVALID);
	assert_int_equal(zh_store_task_get(&got, f->s, 999, &err),
			 ZH_ENOTFOUND);
}

/* What Zadig says it just created (`git zadig trigger`) for a commit is
 * that commit's task now: a row of the same id held for another commit
 * is an older task whose id Zadig gave out again, replaced as if new;
 * one of the same commit is updated as zh_store_task_upsert does. */
static void created_replaces_a_reused_id(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_task t = task_for("wf", 1, "c1"), got;
	struct zh_error err = {0};
	int64_t id, id2;

	t.rule = "dev";
	t.url = "http://z/1";
	t.status = "passed";
	t.extra = "tests=24/24";
	t.final = true;
	assert_ok(zh_store_task_upsert(&id, f->s, &t, 100, &err), &err);

	t = task_for("wf", 1, "c2");
	t.rule = "dev";
	t.url = "http://z/1b";
	t.next_poll_ms = 5000;
	t.poll_interval_ms = 1000;
	assert_ok(zh_store_task_created(&id2, f->s, &t, 4000, &err), &err);
	assert_int_equal(id2, id);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.commit, "c2");
	assert_string_equal(got.status, "created");
	assert_string_equal(got.url, "http://z/1b");
	assert_null(got.extra);
	assert_false(got.final);
	assert_int_equal(got.next_poll_ms, 5000);
	assert_int_equal(got.poll_interval_ms, 1000);
	assert_int_equal(got.created_ms, 4000);
	assert_int_equal(got.gen, 2);
	zh_store_task_dispose(&got);

	/* named for c2 again (no rule): the same task */
	t.rule = NULL;
	t.status = "running";
	t.url = NULL;
	assert_ok(zh_store_task_created(NULL, f->s, &t, 4500, &err), &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.status, "running");
	assert_string_equal(got.rule, "dev");
	assert_string_equal(got.url, "http://z/1b");
	assert_int_equal(got.created_ms, 4000);
	zh_store_task_dispose(&got);

	/* created for c3: #1 is c3's now */
	t.commit = "c3";
	t.ref = NULL;
	assert_ok(zh_store_task_created(NULL, f->s, &t, 6000, &err), &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.commit, "c3");
	assert_null(got.rule);
	assert_null(got.ref);
	assert_null(got.url);
	assert_string_equal(got.status, "running");
	assert_int_equal(got.created_ms, 6000);
	zh_store_task_dispose(&got);

	t.workflow = NULL;
	assert_int_equal(zh_store_task_created(NULL, f->s, &t, 1, &err),
			 ZH_EINVALID);
}

/* What the commitId lookup of a commit lists is recorded as found by
 * nobody (no rule) when the store has no row of its id. A row of another
 * commit is the same task listed for that commit too (a create names a
 * branch only), and stays as it is, unless Zadig made the listed task
 * at another time than that row's (both known): an older task whose id
 * Zadig gave out again, which the listed one replaces. */
static void listed_replaces_only_an_older_task(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_task t = task_for("wf", 3, "c1"), got;
	struct zh_error err = {0};
	int64_t id;

	t.rule = "dev";
	t.status = "running";
	t.next_poll_ms = 900;
	assert_ok(zh_store_task_upsert(&id, f->s, &t, 100, &err), &err);

	t = task_for("wf", 3, "c2");
	t.status = "passed";
	t.final = true;
	t.next_poll_ms = 5000;
	/* nothing known of when either was made */
	assert_ok(zh_store_task_listed(f->s, &t, 4000, &err), &err);
	/* the row's known, not the listed one's */
	assert_ok(set_zadig_created(f->s, id, 1000, &err), &err);
	assert_ok(zh_store_task_listed(f->s, &t, 4000, &err), &err);
	/* the same time */
	t.zadig_created = 1000;
	assert_ok(zh_store_task_listed(f->s, &t, 4000, &err), &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.commit, "c1");
	assert_string_equal(got.rule, "dev");
	assert_string_equal(got.status, "running");
	assert_false(got.final);
	assert_int_equal(got.next_poll_ms, 900);
	assert_int_equal(got.created_ms, 100);
	assert_int_equal(got.zadig_created, 1000);
	assert_int_equal(got.gen, 1);
	zh_store_task_dispose(&got);

	/* made later: another task took #3 */
	t.zadig_created = 2000;
	assert_ok(zh_store_task_listed(f->s, &t, 6000, &err), &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.commit, "c2");
	assert_null(got.rule);
	assert_string_equal(got.status, "passed");
	assert_true(got.final);
	assert_int_equal(got.created_ms, 6000);
	assert_int_equal(got.zadig_created, 2000);
	zh_store_task_dispose(&got);

	/* listed again for c2: known, left as it is */
	t.status = "failed";
	assert_ok(zh_store_task_listed(f->s, &t, 7000, &err), &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.status, "passed");
	zh_store_task_dispose(&got);

	/* a new id: recorded, with when Zadig made it */
	t.task_id = 4;
	assert_ok(zh_store_task_listed(f->s, &t, 8000, &err), &err);
	assert_ok(zh_store_task_find(&got, f->s, "wf", false, 4, &err), &err);
	assert_string_equal(got.commit, "c2");
	assert_string_equal(got.status, "failed");
	assert_int_equal(got.zadig_created, 2000);
	zh_store_task_dispose(&got);

	t.commit = NULL;
	assert_int_equal(zh_store_task_listed(f->s, &t, 1, &err), ZH_EINVALID);
}

/* `git zadig retry` restarted a final task: it is polled again from now,
 * as Zadig says it is, and its give-up time starts again; cancel and
 * approve keep the status until the poll. */
static void repoll_follows_a_task_again(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_task t = task_for("wf", 1, "c1"), got;
	struct zh_store_task_list l;
	struct zh_error err = {0};
	int64_t id;

	t.rule = "dev";
	t.status = "failed";
	t.extra = "duration=3s tests=20/24";
	t.final = true;
	t.poll_interval_ms = 60000;
	assert_ok(zh_store_task_upsert(&id, f->s, &t, 100, &err), &err);
	assert_ok(zh_store_task_repoll(f->s, "wf", false, 1, "created", 200,
				       5000, &err),
		  &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.status, "created");
	assert_null(got.extra);
	assert_false(got.final);
	assert_int_equal(got.next_poll_ms, 5000);
	assert_int_equal(got.poll_interval_ms, 200);
	assert_int_equal(got.created_ms, 5000);
	assert_int_equal(got.gen, 2);
	zh_store_task_dispose(&got);
	assert_ok(zh_store_tasks_due(&l, f->s, ZH_STORE_TASKS_DUE, 5000, &err),
		  &err);
	assert_int_equal(l.len, 1);
	zh_store_task_list_dispose(&l);

	assert_ok(zh_store_task_update(f->s, id, "running", "x=1", false, 9000,
				       400, 6000, &err),
		  &err);
	assert_ok(
	    zh_store_task_repoll(f->s, "wf", false, 1, NULL, 200, 7000, &err),
	    &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.status, "running");
	assert_string_equal(got.extra, "x=1");
	assert_int_equal(got.next_poll_ms, 7000);
	assert_int_equal(got.gen, 3);
	zh_store_task_dispose(&got);

	assert_int_equal(
	    zh_store_task_repoll(f->s, "wf", true, 1, NULL, 200, 7000, &err),
	    ZH_ENOTFOUND);
	assert_int_equal(
	    zh_store_task_repoll(f->s, NULL, false, 1, NULL, 200, 7000, &err),
	    ZH_EINVALID);
}

/* A poll that tells nothing new (the same status, extra and end) moves
 * the next poll on but not the row's last change (updated_ms), by which
 * it is forgotten state_keep after it ended and which says since when a
 * note is unwritten. */
static void update_changes_updated_only_on_change(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_task t = task_for("wf", 1, "c1"), got;
	struct zh_error err = {0};
	int64_t id;

	t.status = "running";
	assert_ok(zh_store_task_upsert(&id, f->s, &t, 100, &err), &err);
	assert_ok(zh_store_task_update(f->s, id, "running", NULL, false, 900,
				       400, 200, &err),
		  &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_int_equal(got.updated_ms, 100);
	assert_int_equal(got.next_poll_ms, 900);
	assert_int_equal(got.poll_interval_ms, 400);
	zh_store_task_dispose(&got);
	assert_ok(zh_store_task_update(f->s, id, "running", "x=1", false, 900,
				       400, 300, &err),
		  &err);
	assert_ok(zh_store_task_update(f->s, id, "running", "x=1", false, 1900,
				       800, 400, &err),
		  &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_int_equal(got.updated_ms, 300);
	assert_int_equal(got.next_poll_ms, 1900);
	zh_store_task_dispose(&got);
	/* final: a change, even with the same status */
	assert_ok(zh_store_task_update(f->s, id, "running", NULL, true, 0, 800,
				       500, &err),
		  &err);
	assert_ok(zh_store_task_update(f->s, id, "running", "x=1", true, 0, 800,
				       600, &err),
		  &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_int_equal(got.updated_ms, 500);
	zh_store_task_dispose(&got);
}

/* A poll's result lands on the task the round read, never on a new task
 * that took its row meanwhile (another commit's, recorded again by a
 * retry, or one Zadig made at another time), nor on a forgotten one. */
static void polled_only_as_read(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_task t = task_for("wf", 1, "c1"), k, got;
	struct zh_error err = {0};
	int64_t id;

	t.rule = "dev";
	t.status = "running";
	assert_ok(zh_store_task_upsert(&id, f->s, &t, 100, &err), &err);
	assert_ok(zh_store_task_get(&k, f->s, id, &err), &err);
	/* the first poll keeps Zadig's create_time */
	assert_ok(zh_store_task_polled(f->s, &k, "running", "x=1", false, 1000,
				       900, 400, 200, &err),
		  &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_int_equal(got.zadig_created, 1000);
	assert_string_equal(got.extra, "x=1");
	assert_int_equal(got.next_poll_ms, 900);
	zh_store_task_dispose(&got);
	/* read before that poll: it is not what the row follows now */
	assert_int_equal(zh_store_task_polled(f->s, &k, "passed", NULL, true,
					      1000, 900, 400, 300, &err),
			 ZH_ENOTFOUND);
	zh_store_task_dispose(&k);
	assert_ok(zh_store_task_get(&k, f->s, id, &err), &err);
	assert_ok(zh_store_task_polled(f->s, &k, "running", NULL, false, 2000,
				       900, 400, 300, &err),
		  &err);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_int_equal(got.zadig_created, 1000);
	zh_store_task_dispose(&got);

	/* a create answer of c2 names #1: c2's task now */
	t = task_for("wf", 1, "c2");
	t.rule = "dev";
	assert_ok(zh_store_task_created(NULL, f->s, &t, 4000, &err), &err);
	assert_int_equal(zh_store_task_polled(f->s, &k, "passed", NULL, true, 0,
					      900, 400, 4100, &err),
			 ZH_ENOTFOUND);
	zh_store_task_dispose(&k);
	assert_ok(zh_store_task_get(&k, f->s, id, &err), &err);
	assert_string_equal(k.status, "created");
	/* retried: followed again from its start */
	assert_ok(
	    zh_store_task_repoll(f->s, "wf", false, 1, NULL, 200, 5000, &err),
	    &err);
	assert_int_equal(zh_store_task_polled(f->s, &k, "passed", NULL, true,
					      3000, 900, 400, 5100, &err),
			 ZH_ENOTFOUND);
	assert_ok(zh_store_task_get(&got, f->s, id, &err), &err);
	assert_string_equal(got.status, "created");
	assert_false(got.final);
	assert_int_equal(got.zadig_created, 0);
	zh_store_task_dispose(&got);
	zh_store_task_dispose(&k);

	/* forgotten */
	k.id = 999;
	assert_int_equal(zh_store_task_polled(f->s, &k, "passed", NULL, true, 0,
					      900, 400, 6000, &err),
			 ZH_ENOTFOUND);
	assert_int_equal(zh_store_task_polled(f->s, NULL, "passed", NULL, true,
					      0, 900, 400, 6000, &err),
			 ZH_EINVALID);
}

static size_t ids(const struct zh_store_task_list *l, int64_t *out)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		out[i] = l->items[i].task_id;
	return l->len;
}

static void due_and_update(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_task t;
	struct zh_store_task_list l;
	struct zh_error err = {0};
	int64_t id1, id2, id3, got[8];

	t = task_for("wf", 1, "c1");
	t.next_poll_ms = 1000;
	assert_ok(zh_store_task_upsert(&id1, f->s, &t, 0, &err), &err);
	t = task_for("wf", 2, "c1");
	t.next_poll_ms = 500;
	assert_ok(zh_store_task_upsert(&id2, f->s, &t, 0, &err), &err);
	t = task_for("wf", 3, "c2");
	t.status = "passed";
	t.final = true;
	assert_ok(zh_store_task_upsert(&id3, f->s, &t, 0, &err), &err);

	assert_ok(zh_store_tasks_due(&l, f->s, ZH_STORE_TASKS_DUE, 499, &err),
		  &err);
	assert_int_equal(l.len, 0);
	zh_store_task_list_dispose(&l);
	assert_ok(zh_store_tasks_due(&l, f->s, ZH_STORE_TASKS_DUE, 1000, &err),
		  &err);
	assert_int_equal(ids(&l, got), 2);
	assert_int_equal(got[0], 2); /* earliest first */
	assert_int_equal(got[1], 1);
	zh_store_task_list_dispose(&l);
	assert_ok(zh_store_tasks_due(&l, f->s, ZH_STORE_TASKS_PENDING, 0, &err),
		  &err);
	assert_int_equal(l.len, 2);
	zh_store_task_list_dispose(&l);
	assert_ok(zh_store_tasks_due(&l, f->s, ZH_STORE_TASKS_ALL, 0, &err),
		  &err);
	assert_int_equal(l.len, 3);
	zh_store_task_list_dispose(&l);

	assert_ok(zh_store_task_update(f->s, id2, "running", "duration=3s",
				       false, 20000, 20000, 600, &err),
		  &err);
	assert_ok(zh_store_task_update(f->s, id1, "passed",
				       "duration=36s tests=24/24", true, 0, 0,
				       700, &err),
		  &err);
	assert_ok(zh_store_task_get(&t, f->s, id1, &err), &err);
	assert_string_equal(t.status, "passed");
	assert_string_equal(t.extra, "duration=36s tests=24/24");
	assert_true(t.final);
	assert_int_equal(t.gen, 2);
	zh_store_task_dispose(&t);
	/* same status, NULL extra: nothing changes for the note */
	assert_ok(zh_store_task_update(f->s, id2, "running", NULL, false, 40000,
				       40000, 800, &err),
		  &err);
	assert_ok(zh_store_task_get(&t, f->s, id2, &err), &err);
	assert_string_equal(t.extra, "duration=3s");
	assert_int_equal(t.gen, 2);
	assert_int_equal(t.next_poll_ms, 40000);
	zh_store_task_dispose(&t);
	assert_ok(zh_store_tasks_due(&l, f->s, ZH_STORE_TASKS_DUE, 39999, &err),
		  &err);
	assert_int_equal(l.len, 0);
	zh_store_task_list_dispose(&l);

	assert_int_equal(
	    zh_store_task_update(f->s, 999, "x", NULL, false, 0, 0, 0, &err),
	    ZH_ENOTFOUND);
	assert_int_equal(
	    zh_store_task_update(f->s, id1, NULL, NULL, false, 0, 0, 0, &err),
	    ZH_EINVALID);
	assert_int_equal(
	    zh_store_tasks_due(&l, f->s, (enum zh_store_task_scope)42, 0, &err),
	    ZH_EINVALID);
}

/* The clock set back after a poll was scheduled: a next poll further
 * ahead than the task's interval could put it counts as now. */
static void due_after_a_step_back(void **state)
{
	struct store_fx *f = *state;
	const int64_t fast = 1700000000000, hour = 3600000;
	struct zh_store_task t;
	struct zh_store_task_list l;
	struct zh_error err = {0};
	int64_t id;

	t = task_for("wf", 1, "c1");
	assert_ok(zh_store_task_upsert(&id, f->s, &t, fast, &err), &err);
	assert_ok(zh_store_task_update(f->s, id, "running", NULL, false,
				       fast + 10000, 10000, fast, &err),
		  &err);
	/* a step within the interval: waited for */
	assert_ok(
	    zh_store_tasks_due(&l, f->s, ZH_STORE_TASKS_DUE, fast - 5000, &err),
	    &err);
	assert_int_equal(l.len, 0);
	zh_store_task_list_dispose(&l);
	/* an hour back: due now */
	assert_ok(
	    zh_store_tasks_due(&l, f->s, ZH_STORE_TASKS_DUE, fast - hour, &err),
	    &err);
	assert_int_equal(l.len, 1);
	zh_store_task_list_dispose(&l);
}

static void tasks_of_commit_sorted(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_task t;
	struct zh_store_task_list l;
	struct zh_error err = {0};

	t = task_for("zeta", 1, "c1");
	assert_ok(zh_store_task_upsert(NULL, f->s, &t, 0, &err), &err);
	t = task_for("alpha", 10, "c1");
	assert_ok(zh_store_task_upsert(NULL, f->s, &t, 0, &err), &err);
	t = task_for("alpha", 9, "c1");
	assert_ok(zh_store_task_upsert(NULL, f->s, &t, 0, &err), &err);
	t = task_for("alpha", 8, "c2");
	assert_ok(zh_store_task_upsert(NULL, f->s, &t, 0, &err), &err);
	assert_ok(
	    zh_store_tasks_of_commit(&l, f->s, "group/voting-app", "c1", &err),
	    &err);
	assert_int_equal(l.len, 3);
	assert_string_equal(l.items[0].workflow, "alpha");
	assert_int_equal(l.items[0].task_id, 9);
	assert_int_equal(l.items[1].task_id, 10);
	assert_string_equal(l.items[2].workflow, "zeta");
	zh_store_task_list_dispose(&l);
	/* the statement is kept prepared: other values, then the first
	 * again, each read afresh */
	assert_ok(zh_store_tasks_of_commit(&l, f->s, "x", "c1", &err), &err);
	assert_int_equal(l.len, 0);
	zh_store_task_list_dispose(&l);
	assert_ok(
	    zh_store_tasks_of_commit(&l, f->s, "group/voting-app", "c1", &err),
	    &err);
	assert_int_equal(l.len, 3);
	assert_int_equal(l.items[1].task_id, 10);
	zh_store_task_list_dispose(&l);
	zh_store_task_list_dispose(NULL);
}

static size_t commits(struct zh_store *s, const char *repo, char out[][16])
{
	struct zh_store_commit_list l;
	struct zh_error err = {0};
	size_t i, n;

	assert_ok(zh_store_commits_to_note(&l, s, repo, &err), &err);
	for (i = 0; i < l.len && i < 8; i++)
		snprintf(out[i], 16, "%s", l.items[i].commit);
	n = l.len;
	zh_store_commit_list_dispose(&l);
	return n;
}

/* Write c1's note the way the report flow does. */
static void note_commit(struct zh_store *s, const char *commit)
{
	struct zh_store_trigger_list tl;
	struct zh_store_task_list kl;
	struct zh_error err = {0};

	assert_ok(zh_store_triggers_of_commit(&tl, s, "group/voting-app",
					      commit, &err),
		  &err);
	assert_ok(
	    zh_store_tasks_of_commit(&kl, s, "group/voting-app", commit, &err),
	    &err);
	assert_ok(zh_store_mark_noted(s, &tl, &kl, &err), &err);
	zh_store_trigger_list_dispose(&tl);
	zh_store_task_list_dispose(&kl);
}

static void notes_out_of_date(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_trigger tr;
	struct zh_store_task_list stale;
	struct zh_store_task t;
	struct zh_error err = {0};
	char got[8][16];
	int64_t tid, kid;

	assert_int_equal(commits(f->s, NULL, got), 0);
	/* a new queued trigger needs a "queued" line */
	assert_ok(zh_store_trigger_add(&tid, NULL, f->s, &sp, 0, &err), &err);
	assert_int_equal(commits(f->s, NULL, got), 1);
	assert_string_equal(got[0], "c1");
	note_commit(f->s, "c1");
	assert_int_equal(commits(f->s, NULL, got), 0);

	/* sending shows as queued still: no rewrite */
	assert_ok(zh_store_trigger_claim_id(&tr, f->s, tid, 1, 0, &err), &err);
	assert_int_equal(commits(f->s, NULL, got), 0);
	/* created: the task line replaces it */
	assert_ok(zh_store_trigger_created(f->s, &tr, 7, "u", 1000, 2, &err),
		  &err);
	zh_store_trigger_dispose(&tr);
	assert_int_equal(commits(f->s, NULL, got), 1);
	note_commit(f->s, "c1");
	assert_int_equal(commits(f->s, NULL, got), 0);

	/* a status change of a task found for another commit */
	t = task_for("other", 3, "c2");
	assert_ok(zh_store_task_upsert(&kid, f->s, &t, 0, &err), &err);
	assert_int_equal(zh_store_task_find(&t, f->s, "wf", false, 7, &err),
			 ZH_ENOTFOUND);
	assert_ok(
	    zh_store_task_find(&t, f->s, "voting-workflow-dev", false, 7, &err),
	    &err);
	assert_ok(zh_store_task_update(f->s, t.id, "running", NULL, false, 0, 0,
				       3, &err),
		  &err);
	assert_int_equal(commits(f->s, NULL, got), 2);
	assert_string_equal(got[0], "c1");
	assert_string_equal(got[1], "c2");
	assert_int_equal(commits(f->s, "group/voting-app", got), 2);
	assert_int_equal(commits(f->s, "elsewhere", got), 0);

	/* a change after the note was read keeps the commit stale */
	assert_ok(zh_store_tasks_of_commit(&stale, f->s, "group/voting-app",
					   "c1", &err),
		  &err);
	assert_ok(zh_store_task_update(f->s, t.id, "passed", NULL, true, 0, 0,
				       4, &err),
		  &err);
	assert_ok(zh_store_mark_noted(f->s, NULL, &stale, &err), &err);
	zh_store_task_list_dispose(&stale);
	assert_int_equal(commits(f->s, NULL, got), 2);
	note_commit(f->s, "c1");
	note_commit(f->s, "c2");
	assert_int_equal(commits(f->s, NULL, got), 0);
	zh_store_task_dispose(&t);
	(void)kid;

	/* rejected triggers need their line */
	sp.commit = "c3";
	assert_ok(zh_store_trigger_add(&tid, NULL, f->s, &sp, 0, &err), &err);
	note_commit(f->s, "c3");
	assert_ok(zh_store_trigger_claim_id(&tr, f->s, tid, 1, 0, &err), &err);
	assert_ok(zh_store_trigger_reject(f->s, &tr, "6540 nope", 2, &err),
		  &err);
	zh_store_trigger_dispose(&tr);
	assert_int_equal(commits(f->s, NULL, got), 1);
	assert_string_equal(got[0], "c3");
	note_commit(f->s, "c3");
	assert_int_equal(commits(f->s, NULL, got), 0);
}

/* A repository whose notes have nowhere to go is counted as noted in one
 * call; what changes afterwards needs its note again. */
static void repo_marked_noted(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_task t = task_for("wf", 5, "c1"), other;
	struct zh_error err = {0};
	char got[8][16];
	int64_t id;

	assert_ok(zh_store_trigger_add(NULL, NULL, f->s, &sp, 0, &err), &err);
	assert_ok(zh_store_task_upsert(&id, f->s, &t, 0, &err), &err);
	other = task_for("wf", 6, "c9");
	other.repo = "elsewhere";
	assert_ok(zh_store_task_upsert(NULL, f->s, &other, 0, &err), &err);
	assert_int_equal(commits(f->s, NULL, got), 2);
	/* only what is older than the cut (the rows were written at 0) */
	assert_ok(zh_store_mark_repo_noted(f->s, "group/voting-app", 0, &err),
		  &err);
	assert_int_equal(commits(f->s, NULL, got), 2);
	assert_ok(zh_store_mark_repo_noted(f->s, "group/voting-app", 1, &err),
		  &err);
	assert_int_equal(commits(f->s, NULL, got), 1);
	assert_string_equal(got[0], "c9");
	assert_ok(zh_store_task_update(f->s, id, "running", NULL, false, 0, 0,
				       5, &err),
		  &err);
	assert_int_equal(commits(f->s, "group/voting-app", got), 1);
	assert_int_equal(zh_store_mark_repo_noted(f->s, NULL, 1, &err),
			 ZH_EINVALID);
}

static int count_step(void *n)
{
	++*(long *)n;
	return 0;
}

/* SQLite's steps for one zh_store_commits_to_note call. */
static long note_query_steps(struct zh_store *s)
{
	char got[8][16];
	long n = 0;

	sqlite3_progress_handler(s->db, 1, count_step, &n);
	assert_int_equal(commits(s, NULL, got), 1);
	sqlite3_progress_handler(s->db, 0, NULL, NULL);
	return n;
}

/* Which commits need a note is read off the triggers whose state no note
 * shows yet (the index triggers_unnoted), not off every trigger the store
 * ever recorded: 5,000 noted triggers more cost no step more. */
static void notes_to_write_ignore_noted_triggers(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_error err = {0};
	long few, many;
	int64_t tid;

	assert_ok(zh_store_trigger_add(&tid, NULL, f->s, &sp, 0, &err), &err);
	few = note_query_steps(f->s);
	assert_int_equal(
	    sqlite3_exec(
		f->s->db,
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		"FROM n WHERE i < 5000) INSERT INTO triggers (repo, ref, "
		"commit_id, rule, trigger_key, workflow, method, path, state, "
		"noted_state, created_ms, updated_ms) SELECT "
		"'group/voting-app', 'refs/heads/main', printf('%040x', i), "
		"'dev', 'k' || i, 'wf', 'POST', '/p', 'created', 'created', 0, "
		"0 FROM n",
		NULL, NULL, NULL),
	    SQLITE_OK);
	many = note_query_steps(f->s);
	if (many > few + 50)
		fail_msg("%ld steps with 5,000 noted triggers, %ld without",
			 many, few);
}

/* zh_store_notes_unwritten as "repo@changed_ms,..." into buf. */
static const char *unwritten(struct zh_store *s, char *buf, size_t size)
{
	struct zh_store_unwritten_list l;
	struct zh_error err = {0};
	size_t i, n = 0;

	assert_ok(zh_store_notes_unwritten(&l, s, &err), &err);
	buf[0] = '\0';
	for (i = 0; i < l.len && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s@%lld",
				      i ? "," : "", l.items[i].repo,
				      (long long)l.items[i].changed_ms);
	zh_store_unwritten_list_dispose(&l);
	return buf;
}

/* What a poller whose notes write failed still has to do: the
 * repositories whose notes are out of date, each with its newest change
 * (the poller's life is bound by it, as by pending triggers and tasks). */
static void notes_unwritten_by_repository(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_trigger tr;
	struct zh_store_task t = task_for("wf", 1, "c2");
	struct zh_error err = {0};
	char buf[256];
	int64_t tid, kid;
	long few, many;

	assert_string_equal(unwritten(f->s, buf, sizeof(buf)), "");
	assert_ok(zh_store_trigger_add(&tid, NULL, f->s, &sp, 1000, &err),
		  &err);
	assert_string_equal(unwritten(f->s, buf, sizeof(buf)),
			    "group/voting-app@1000");
	note_commit(f->s, "c1");
	assert_string_equal(unwritten(f->s, buf, sizeof(buf)), "");
	/* sending shows as queued: nothing to write */
	assert_ok(zh_store_trigger_claim_id(&tr, f->s, tid, 1500, 0, &err),
		  &err);
	assert_string_equal(unwritten(f->s, buf, sizeof(buf)), "");
	zh_store_trigger_dispose(&tr);

	/* a task of another repository, then a final status of it */
	t.repo = "group/other";
	assert_ok(zh_store_task_upsert(&kid, f->s, &t, 2000, &err), &err);
	assert_ok(zh_store_task_update(f->s, kid, "passed", NULL, true, 0, 0,
				       3000, &err),
		  &err);
	assert_string_equal(unwritten(f->s, buf, sizeof(buf)),
			    "group/other@3000");
	/* a task that names no commit has no note to write */
	t = task_for("wf", 2, NULL);
	t.repo = NULL;
	assert_ok(zh_store_task_upsert(NULL, f->s, &t, 4000, &err), &err);
	assert_string_equal(unwritten(f->s, buf, sizeof(buf)),
			    "group/other@3000");

	/* read off the rows no note shows: 5,000 noted ones cost no step */
	sqlite3_progress_handler(f->s->db, 1, count_step, &few);
	few = 0;
	unwritten(f->s, buf, sizeof(buf));
	sqlite3_progress_handler(f->s->db, 0, NULL, NULL);
	assert_int_equal(
	    sqlite3_exec(
		f->s->db,
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		"FROM n WHERE i < 5000) INSERT INTO triggers (repo, ref, "
		"commit_id, rule, trigger_key, workflow, method, path, state, "
		"noted_state, created_ms, updated_ms) SELECT "
		"'group/voting-app', 'refs/heads/main', printf('%040x', i), "
		"'dev', 'k' || i, 'wf', 'POST', '/p', 'created', 'created', 0, "
		"0 FROM n; "
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
		"FROM n WHERE i < 5000) INSERT INTO tasks (workflow, custom, "
		"task_id, repo, commit_id, status, final, gen, noted_gen, "
		"created_ms, updated_ms) SELECT 'wf', 0, 100 + i, "
		"'group/voting-app', printf('%040x', i), 'passed', 1, 2, 2, "
		"0, 0 FROM n",
		NULL, NULL, NULL),
	    SQLITE_OK);
	many = 0;
	sqlite3_progress_handler(f->s->db, 1, count_step, &many);
	assert_string_equal(unwritten(f->s, buf, sizeof(buf)),
			    "group/other@3000");
	sqlite3_progress_handler(f->s->db, 0, NULL, NULL);
	if (many > few + 50)
		fail_msg("%ld steps with 10,000 noted rows, %ld without", many,
			 few);
	zh_store_unwritten_list_dispose(NULL);
}

static void give_up_and_wakeup(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_task t;
	struct zh_error err = {0};
	struct zh_store_task_list gone = {0};
	int64_t id_old, id_new, at, newest;

	assert_int_equal(zh_store_next_wakeup(&at, &newest, f->s, &err),
			 ZH_ENOTFOUND);
	t = task_for("wf", 1, "c1");
	t.next_poll_ms = 5000;
	assert_ok(zh_store_task_upsert(&id_old, f->s, &t, 1000, &err), &err);
	t = task_for("wf", 2, "c1");
	t.next_poll_ms = 7000;
	assert_ok(zh_store_task_upsert(&id_new, f->s, &t, 5000, &err), &err);
	assert_ok(zh_store_next_wakeup(&at, &newest, f->s, &err), &err);
	assert_int_equal(at, 5000);
	assert_int_equal(newest, 5000);
	assert_ok(zh_store_trigger_add(NULL, NULL, f->s, &sp, 4000, &err),
		  &err);
	assert_ok(zh_store_next_wakeup(&at, NULL, f->s, &err), &err);
	assert_int_equal(at, 4000);

	/* give up after 10 s: only the older task */
	assert_ok(zh_store_tasks_give_up(&gone, f->s, 11000, 10000, &err),
		  &err);
	assert_int_equal(gone.len, 1);
	/* the tasks given up, for a log line each */
	assert_int_equal(gone.items[0].id, id_old);
	assert_string_equal(gone.items[0].workflow, "wf");
	assert_int_equal(gone.items[0].task_id, 1);
	assert_string_equal(gone.items[0].status, "unknown");
	assert_int_equal(gone.items[0].created_ms, 1000);
	zh_store_task_list_dispose(&gone);
	assert_ok(zh_store_task_get(&t, f->s, id_old, &err), &err);
	assert_string_equal(t.status, "unknown");
	assert_true(t.final);
	zh_store_task_dispose(&t);
	assert_ok(zh_store_task_get(&t, f->s, id_new, &err), &err);
	assert_false(t.final);
	zh_store_task_dispose(&t);
	assert_ok(zh_store_tasks_give_up(NULL, f->s, 11000, 10000, &err), &err);
}

/* How new the newest pending work is (a poller's life is bound by it):
 * the latest creation of a trigger not yet delivered or a task not yet
 * final; what is done, or re-polled, does not count. */
static void wakeup_names_the_newest_pending_work(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_trigger tr;
	struct zh_store_task t = task_for("wf", 1, "c1");
	struct zh_error err = {0};
	int64_t id, trig, at, newest;

	t.next_poll_ms = 3000;
	assert_ok(zh_store_task_upsert(&id, f->s, &t, 2000, &err), &err);
	assert_ok(zh_store_trigger_add(&trig, NULL, f->s, &sp, 1000, &err),
		  &err);
	assert_ok(zh_store_next_wakeup(&at, &newest, f->s, &err), &err);
	assert_int_equal(at, 1000);
	assert_int_equal(newest, 2000);
	/* polled again later: still work of 2000 */
	assert_ok(zh_store_task_update(f->s, id, "running", NULL, false, 9000,
				       1000, 8000, &err),
		  &err);
	assert_ok(zh_store_next_wakeup(&at, &newest, f->s, &err), &err);
	assert_int_equal(newest, 2000);
	/* final: only the trigger is left */
	assert_ok(zh_store_task_update(f->s, id, "passed", NULL, true, 0, 1000,
				       8500, &err),
		  &err);
	assert_ok(zh_store_next_wakeup(&at, &newest, f->s, &err), &err);
	assert_int_equal(newest, 1000);
	/* being sent (claimed): pending still */
	assert_ok(zh_store_trigger_claim_id(&tr, f->s, trig, 9000, 60000, &err),
		  &err);
	assert_ok(zh_store_next_wakeup(&at, &newest, f->s, &err), &err);
	assert_int_equal(at, 69000);
	assert_int_equal(newest, 1000);
	/* delivered: its task is the work now, new at 9500 */
	assert_ok(zh_store_trigger_created(f->s, &tr, 7, "http://z/7", 10000,
					   9500, &err),
		  &err);
	zh_store_trigger_dispose(&tr);
	assert_ok(zh_store_next_wakeup(&at, &newest, f->s, &err), &err);
	assert_int_equal(at, 19500);
	assert_int_equal(newest, 9500);
	/* and once it is final nothing is pending */
	assert_ok(
	    zh_store_task_find(&t, f->s, "voting-workflow-dev", false, 7, &err),
	    &err);
	assert_ok(zh_store_task_update(f->s, t.id, "failed", NULL, true, 0,
				       1000, 20000, &err),
		  &err);
	zh_store_task_dispose(&t);
	assert_int_equal(zh_store_next_wakeup(&at, &newest, f->s, &err),
			 ZH_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    store_test(upsert_fills_and_updates),
	    store_test(created_replaces_a_reused_id),
	    store_test(listed_replaces_only_an_older_task),
	    store_test(repoll_follows_a_task_again),
	    store_test(polled_only_as_read),
	    store_test(update_changes_updated_only_on_change),
	    store_test(due_and_update),
	    store_test(tasks_of_commit_sorted),
	    store_test(notes_out_of_date),
	    store_test(repo_marked_noted),
	    store_test(notes_to_write_ignore_noted_triggers),
	    store_test(notes_unwritten_by_repository),
	    store_test(give_up_and_wakeup),
	    store_test(due_after_a_step_back),
	    store_test(wakeup_names_the_newest_pending_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
