/* zh_store_prune: what the store forgets, and what it keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "tests/unit/store/helpers.h"
#include "util/banned.h"
#include "util/error.h"

#define REPO "group/voting-app"

static void note_commit(struct zh_store *s, const char *commit)
{
	struct zh_store_trigger_list tl;
	struct zh_store_task_list kl;
	struct zh_error err = {0};

	assert_ok(zh_store_triggers_of_commit(&tl, s, REPO, commit, &err),
		  &err);
	assert_ok(zh_store_tasks_of_commit(&kl, s, REPO, commit, &err), &err);
	assert_ok(zh_store_mark_noted(s, &tl, &kl, &err), &err);
	zh_store_trigger_list_dispose(&tl);
	zh_store_task_list_dispose(&kl);
}

/* A trigger of commit/rule added at `at`, then claimed and created as
 * task task_id (0: left queued; -1: rejected) at `at` too. */
static int64_t trigger_at(struct zh_store *s, const char *commit,
			  const char *rule, int64_t task_id, int64_t at)
{
	struct zh_store_trigger_spec sp = spec_for(commit, rule);
	struct zh_store_trigger tr;
	struct zh_error err = {0};
	int64_t id;

	assert_ok(zh_store_trigger_add(&id, NULL, s, &sp, at, &err), &err);
	if (task_id == 0)
		return id;
	assert_ok(zh_store_trigger_claim_id(&tr, s, id, at, 0, &err), &err);
	if (task_id < 0)
		assert_ok(zh_store_trigger_reject(s, &tr, "6540 no", at, &err),
			  &err);
	else
		assert_ok(zh_store_trigger_created(s, &tr, task_id, "u", 1000,
						   at, &err),
			  &err);
	zh_store_trigger_dispose(&tr);
	return id;
}

static void finish(struct zh_store *s, int64_t task_id, int64_t at)
{
	struct zh_store_task t;
	struct zh_error err = {0};

	assert_ok(zh_store_task_find(&t, s, "voting-workflow-dev", false,
				     task_id, &err),
		  &err);
	assert_ok(
	    zh_store_task_update(s, t.id, "passed", NULL, true, 0, 0, at, &err),
	    &err);
	zh_store_task_dispose(&t);
}

static bool trigger_kept(struct zh_store *s, int64_t id)
{
	struct zh_store_trigger t;
	struct zh_error err = {0};
	int rc = zh_store_trigger_get(&t, s, id, &err);

	zh_store_trigger_dispose(&t);
	assert_true(rc == 0 || rc == ZH_ENOTFOUND);
	return rc == 0;
}

static bool task_kept(struct zh_store *s, int64_t task_id)
{
	struct zh_store_task t;
	struct zh_error err = {0};
	int rc = zh_store_task_find(&t, s, "voting-workflow-dev", false,
				    task_id, &err);

	zh_store_task_dispose(&t);
	assert_true(rc == 0 || rc == ZH_ENOTFOUND);
	return rc == 0;
}

/* Only what is settled and shown in its note is forgotten, and only once
 * older than the cut: a queued trigger, a task still polled, a row whose
 * note is not written, and anything newer stay. */
static void forgets_only_settled_and_noted(void **state)
{
	struct store_fx *f = *state;
	struct zh_error err = {0};
	int64_t done, rejected, queued, running, unnoted, young, n = -1;
	bool existed = true;

	done = trigger_at(f->s, "c1", "dev", 1, 100);
	finish(f->s, 1, 150);
	rejected = trigger_at(f->s, "c2", "dev", -1, 100);
	queued = trigger_at(f->s, "c3", "dev", 0, 100);
	running = trigger_at(f->s, "c4", "dev", 4, 100);
	unnoted = trigger_at(f->s, "c5", "dev", 5, 100);
	young = trigger_at(f->s, "c6", "dev", 6, 100);
	finish(f->s, 6, 900);
	note_commit(f->s, "c1");
	note_commit(f->s, "c2");
	note_commit(f->s, "c3");
	note_commit(f->s, "c4");
	note_commit(f->s, "c6");
	finish(f->s, 5, 150); /* its note not written since */

	assert_ok(zh_store_prune(&n, f->s, 500, &err), &err);
	assert_int_equal(n, 3); /* c1's trigger and task, c2's trigger */
	assert_false(trigger_kept(f->s, done));
	assert_false(task_kept(f->s, 1));
	assert_false(trigger_kept(f->s, rejected));
	assert_true(trigger_kept(f->s, queued));
	assert_true(trigger_kept(f->s, running));
	assert_true(task_kept(f->s, 4));
	assert_true(trigger_kept(f->s, unnoted));
	assert_true(task_kept(f->s, 5));
	assert_true(trigger_kept(f->s, young));
	assert_true(task_kept(f->s, 6));

	/* a commit forgotten fires again: a new trigger, not a duplicate */
	{
		struct zh_store_trigger_spec sp = spec_for("c1", "dev");

		assert_ok(
		    zh_store_trigger_add(NULL, &existed, f->s, &sp, 1000, &err),
		    &err);
		assert_false(existed);
	}
	/* a "maybe sent" mark goes with its trigger, others stay */
	{
		char key[64], *v = NULL;

		snprintf(key, sizeof(key), "maybe_sent:%lld",
			 (long long)queued);
		assert_ok(zh_store_meta_set(f->s, key, "1", &err), &err);
		assert_ok(
		    zh_store_meta_set(f->s, "maybe_sent:99999", "1", &err),
		    &err);
		rejected = trigger_at(f->s, "c7", "dev", -1, 100);
		note_commit(f->s, "c7");
		assert_ok(zh_store_prune(&n, f->s, 500, &err), &err);
		assert_int_equal(n, 1);
		assert_ok(zh_store_meta_get(&v, f->s, key, &err), &err);
		free(v);
		assert_int_equal(
		    zh_store_meta_get(&v, f->s, "maybe_sent:99999", &err),
		    ZH_ENOTFOUND);
	}
	/* nothing more to forget: 0 */
	assert_ok(zh_store_prune(&n, f->s, 500, &err), &err);
	assert_int_equal(n, 0);
}

/* A created trigger whose task is still polled stays with it, however
 * old: its line is the task's. */
static void keeps_trigger_of_unfinished_task(void **state)
{
	struct store_fx *f = *state;
	struct zh_error err = {0};
	int64_t id, n = -1;

	id = trigger_at(f->s, "c1", "dev", 9, 100);
	note_commit(f->s, "c1");
	assert_ok(zh_store_prune(&n, f->s, 10000, &err), &err);
	assert_int_equal(n, 0);
	assert_true(trigger_kept(f->s, id));
	finish(f->s, 9, 200);
	note_commit(f->s, "c1");
	assert_ok(zh_store_prune(&n, f->s, 10000, &err), &err);
	assert_int_equal(n, 2);
	assert_false(trigger_kept(f->s, id));
	assert_false(task_kept(f->s, 9));
}

/* Many rows go in several short transactions, all of them in one call. */
static void forgets_in_batches(void **state)
{
	struct store_fx *f = *state;
	struct zh_error err = {0};
	char commit[16];
	int64_t n = -1;
	int i;

	for (i = 0; i < 2500; i++) {
		snprintf(commit, sizeof(commit), "c%d", i);
		trigger_at(f->s, commit, "dev", -1, 100);
		note_commit(f->s, commit);
	}
	assert_ok(zh_store_prune(&n, f->s, 500, &err), &err);
	assert_int_equal(n, 2500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    store_test(forgets_only_settled_and_noted),
	    store_test(keeps_trigger_of_unfinished_task),
	    store_test(forgets_in_batches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
