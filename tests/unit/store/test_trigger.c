#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "tests/unit/store/helpers.h"
#include "util/banned.h"
#include "util/error.h"

static void add_dedupes_by_key(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_trigger t;
	struct zh_error err = {0};
	int64_t id1, id2, id3, id4, n;
	bool existed;

	assert_ok(zh_store_trigger_add(&id1, &existed, f->s, &sp, 100, &err),
		  &err);
	assert_false(existed);
	assert_true(id1 > 0);
	/* re-run hook: same key, nothing new */
	assert_ok(zh_store_trigger_add(&id2, &existed, f->s, &sp, 200, &err),
		  &err);
	assert_true(existed);
	assert_int_equal(id1, id2);
	/* another rule on the same commit is another trigger */
	sp.rule = "prod";
	assert_ok(zh_store_trigger_add(&id3, &existed, f->s, &sp, 300, &err),
		  &err);
	assert_false(existed);
	assert_true(id3 != id1);
	/* git zadig trigger: explicit, never deduplicated */
	sp.rule = "dev";
	sp.force = true;
	assert_ok(zh_store_trigger_add(&id4, &existed, f->s, &sp, 400, &err),
		  &err);
	assert_false(existed);
	assert_true(id4 != id1 && id4 != id3);
	assert_ok(zh_store_queue_depth(&n, f->s, &err), &err);
	assert_int_equal(n, 3);

	assert_ok(zh_store_trigger_get(&t, f->s, id1, &err), &err);
	assert_string_equal(t.repo, "group/voting-app");
	assert_string_equal(t.ref, "refs/heads/main");
	assert_string_equal(t.commit, "c1");
	assert_string_equal(t.rule, "dev");
	assert_string_equal(t.workflow, "voting-workflow-dev");
	assert_string_equal(t.project, "voting");
	assert_string_equal(t.method, "POST");
	assert_non_null(strstr(t.path, "workflowTask/create"));
	assert_string_equal(t.body,
			    "{\"workflow_name\":\"voting-workflow-dev\"}");
	assert_int_equal(t.state, ZH_STORE_QUEUED);
	assert_int_equal(t.attempts, 0);
	assert_int_equal(t.next_try_ms, 100);
	assert_int_equal(t.created_ms, 100);
	assert_false(t.forced);
	assert_false(t.custom);
	assert_null(t.last_error);
	assert_null(t.url);
	assert_int_equal(strlen(t.key), ZH_STORE_KEY_LEN);
	zh_store_trigger_dispose(&t);
	assert_ok(zh_store_trigger_get(&t, f->s, id4, &err), &err);
	assert_true(t.forced);
	zh_store_trigger_dispose(&t);
	zh_store_trigger_dispose(NULL);

	assert_int_equal(zh_store_trigger_get(&t, f->s, 9999, &err),
			 ZH_ENOTFOUND);
	sp.commit = NULL;
	assert_int_equal(
	    zh_store_trigger_add(&id1, &existed, f->s, &sp, 1, &err),
	    ZH_EINVALID);
}

/* zh_store_trigger_add_many is all or nothing: a spec refused midway
 * (its key already names a trigger) leaves none of the call's triggers
 * behind, nor does a spec lacking a field. */
static void add_many_all_or_nothing(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp[3] = {spec_for("m1", "dev"),
					      spec_for("m2", "dev"),
					      spec_for("m3", "dev")};
	struct zh_store_trigger_added out[3];
	struct zh_store_trigger t;
	struct zh_error err = {0};
	char key[ZH_STORE_KEY_LEN + 1];
	int64_t id, n;

	assert_ok(zh_store_new_key(key, &err), &err);
	sp[0].key = key;
	assert_ok(zh_store_trigger_add(&id, NULL, f->s, &sp[0], 1, &err), &err);
	sp[0].key = NULL;
	sp[0].commit = "m0";
	sp[2].key = key; /* m3 under m1's key */
	assert_int_equal(zh_store_trigger_add_many(out, f->s, sp, 3, 2, &err),
			 ZH_EINVALID);
	assert_contains(err.msg, "already used");
	assert_int_equal(out[0].id, 0);
	assert_ok(zh_store_queue_depth(&n, f->s, &err), &err);
	assert_int_equal(n, 1);

	sp[2].key = NULL;
	sp[2].rule = NULL;
	assert_int_equal(zh_store_trigger_add_many(out, f->s, sp, 3, 2, &err),
			 ZH_EINVALID);
	assert_ok(zh_store_queue_depth(&n, f->s, &err), &err);
	assert_int_equal(n, 1);

	sp[2].rule = "dev";
	assert_ok(zh_store_trigger_add_many(out, f->s, sp, 3, 3, &err), &err);
	assert_ok(zh_store_queue_depth(&n, f->s, &err), &err);
	assert_int_equal(n, 4);
	assert_ok(zh_store_trigger_get(&t, f->s, out[1].id, &err), &err);
	assert_string_equal(t.commit, "m2");
	assert_int_equal(t.created_ms, 3);
	zh_store_trigger_dispose(&t);
	assert_int_equal(zh_store_trigger_add_many(out, f->s, sp, 0, 3, &err),
			 0);
}

static void caller_key_and_lookup_by_key(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c2", "dev");
	struct zh_store_trigger t;
	struct zh_error err = {0};
	char key[ZH_STORE_KEY_LEN + 1];
	int64_t id, id2;
	bool existed;

	assert_ok(zh_store_new_key(key, &err), &err);
	sp.key = key;
	assert_ok(zh_store_trigger_add(&id, &existed, f->s, &sp, 1, &err),
		  &err);
	assert_ok(zh_store_trigger_get_by_key(&t, f->s, key, &err), &err);
	assert_int_equal(t.id, id);
	assert_string_equal(t.key, key);
	zh_store_trigger_dispose(&t);
	assert_int_equal(zh_store_trigger_get_by_key(&t, f->s, "nope", &err),
			 ZH_ENOTFOUND);
	/* a key names one trigger only */
	sp.commit = "c3";
	assert_int_equal(
	    zh_store_trigger_add(&id2, &existed, f->s, &sp, 1, &err),
	    ZH_EINVALID);
	assert_contains(err.msg, "already used");
}

static void claim_lease_and_interrupted(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_claim c = {.now_ms = 1000, .lease_ms = 15000};
	struct zh_store_trigger t, t2;
	struct zh_error err = {0};
	int64_t id;

	assert_int_equal(zh_store_trigger_claim(&t, f->s, &c, &err),
			 ZH_ENOTFOUND);
	assert_ok(zh_store_trigger_add(&id, NULL, f->s, &sp, 1000, &err), &err);
	/* not yet due */
	c.now_ms = 999;
	assert_int_equal(zh_store_trigger_claim(&t, f->s, &c, &err),
			 ZH_ENOTFOUND);
	c.now_ms = 1000;
	assert_ok(zh_store_trigger_claim(&t, f->s, &c, &err), &err);
	assert_int_equal(t.id, id);
	assert_int_equal(t.state, ZH_STORE_SENDING);
	assert_int_equal(t.attempts, 1);
	assert_int_equal(t.lease_until_ms, 16000);
	assert_false(t.interrupted);
	/* held by its lease */
	c.now_ms = 15999;
	assert_int_equal(zh_store_trigger_claim(&t2, f->s, &c, &err),
			 ZH_ENOTFOUND);
	assert_int_equal(
	    zh_store_trigger_claim_id(&t2, f->s, id, 15999, 1000, &err),
	    ZH_ENOTFOUND);
	/* the sender died: after the lease it is taken over, flagged */
	c.now_ms = 16000;
	assert_ok(zh_store_trigger_claim(&t2, f->s, &c, &err), &err);
	assert_int_equal(t2.id, id);
	assert_true(t2.interrupted);
	assert_int_equal(t2.attempts, 2);
	/* the first claimer lost its claim: its result is refused ... */
	assert_int_equal(zh_store_trigger_retry(f->s, &t, "late", 16001, &err),
			 ZH_ENOTFOUND);
	assert_int_equal(zh_store_trigger_reject(f->s, &t, "late", 16001, &err),
			 ZH_ENOTFOUND);
	/* ... except a created task, which is never forgotten */
	assert_ok(zh_store_trigger_created(f->s, &t, 49, "http://z/49", 10000,
					   16002, &err),
		  &err);
	zh_store_trigger_dispose(&t);
	zh_store_trigger_dispose(&t2);
	assert_ok(zh_store_trigger_get(&t, f->s, id, &err), &err);
	assert_int_equal(t.state, ZH_STORE_CREATED);
	assert_int_equal(t.task_id, 49);
	zh_store_trigger_dispose(&t);
	/* nothing left to claim */
	c.now_ms = 1000000;
	assert_int_equal(zh_store_trigger_claim(&t, f->s, &c, &err),
			 ZH_ENOTFOUND);
}

/* A trigger its recorder sends itself (the sync hook): no other process
 * takes it before due_ms, the recorder claims it by id at once; should it
 * never do so, it is anyone's from due_ms on. */
static void held_for_its_recorder(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_claim c = {.now_ms = 1000, .lease_ms = 15000};
	struct zh_store_trigger t;
	struct zh_error err = {0};
	int64_t id, id2;

	sp.due_ms = 6000;
	assert_ok(zh_store_trigger_add(&id, NULL, f->s, &sp, 1000, &err), &err);
	assert_ok(zh_store_trigger_get(&t, f->s, id, &err), &err);
	assert_int_equal(t.next_try_ms, 6000);
	assert_int_equal(t.created_ms, 1000);
	zh_store_trigger_dispose(&t);
	/* a poller finds nothing due until then */
	c.now_ms = 5999;
	assert_int_equal(zh_store_trigger_claim(&t, f->s, &c, &err),
			 ZH_ENOTFOUND);
	/* the recorder takes it right away */
	assert_ok(zh_store_trigger_claim_id(&t, f->s, id, 1001, 15000, &err),
		  &err);
	assert_int_equal(t.state, ZH_STORE_SENDING);
	zh_store_trigger_dispose(&t);

	/* another one the recorder never claimed (it died): due at due_ms */
	sp.rule = "prod";
	assert_ok(zh_store_trigger_add(&id2, NULL, f->s, &sp, 1000, &err),
		  &err);
	c.now_ms = 6000;
	assert_ok(zh_store_trigger_claim(&t, f->s, &c, &err), &err);
	assert_int_equal(t.id, id2);
	zh_store_trigger_dispose(&t);
	/* a due time already past means now */
	sp.rule = "qa";
	sp.due_ms = 10;
	assert_ok(zh_store_trigger_add(&id2, NULL, f->s, &sp, 1000, &err),
		  &err);
	assert_ok(zh_store_trigger_get(&t, f->s, id2, &err), &err);
	assert_int_equal(t.next_try_ms, 1000);
	zh_store_trigger_dispose(&t);
}

static void retry_backs_off(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_claim c = {.lease_ms = 5000};
	struct zh_store_trigger t;
	struct zh_error err = {0};
	int64_t id, now = 10000, n;
	int i;

	assert_ok(zh_store_trigger_add(&id, NULL, f->s, &sp, now, &err), &err);
	for (i = 1; i <= 12; i++) {
		int64_t base = zh_store_backoff_ms(i, 200);

		c.now_ms = now;
		assert_ok(zh_store_trigger_claim(&t, f->s, &c, &err), &err);
		assert_int_equal(t.attempts, i);
		assert_ok(
		    i % 2 ? zh_store_trigger_retry(
				f->s, &t, "connection refused", now, &err)
			  : zh_store_trigger_hold(f->s, &t, "401", now, &err),
		    &err);
		zh_store_trigger_dispose(&t);
		assert_ok(zh_store_trigger_get(&t, f->s, id, &err), &err);
		assert_int_equal(t.state, ZH_STORE_QUEUED);
		assert_string_equal(t.last_error,
				    i % 2 ? "connection refused" : "401");
		assert_int_equal(t.lease_until_ms, 0);
		/* jitter within +-20 %, never over 5 min */
		assert_true(t.next_try_ms >= now + base * 8 / 10);
		assert_true(t.next_try_ms <= now + 300000);
		assert_true(t.next_try_ms <= now + base * 12 / 10);
		/* not due just before its time */
		c.now_ms = t.next_try_ms - 1;
		zh_store_trigger_dispose(&t);
		assert_int_equal(zh_store_trigger_claim(&t, f->s, &c, &err),
				 ZH_ENOTFOUND);
		assert_ok(zh_store_trigger_get(&t, f->s, id, &err), &err);
		now = t.next_try_ms;
		zh_store_trigger_dispose(&t);
	}
	assert_ok(zh_store_queue_depth(&n, f->s, &err), &err);
	assert_int_equal(n, 1);
}

static void reject_is_final(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_claim c = {
	    .now_ms = 5, .ignore_backoff = true, .round_start_ms = 1000000};
	struct zh_store_trigger t;
	struct zh_error err = {0};
	int64_t id, n;

	assert_ok(zh_store_trigger_add(&id, NULL, f->s, &sp, 5, &err), &err);
	assert_ok(zh_store_trigger_claim_id(&t, f->s, id, 5, 0, &err), &err);
	assert_int_equal(t.lease_until_ms, 5 + 60000); /* default lease */
	assert_ok(zh_store_trigger_reject(f->s, &t, "6540 workflow not found",
					  6, &err),
		  &err);
	zh_store_trigger_dispose(&t);
	assert_ok(zh_store_trigger_get(&t, f->s, id, &err), &err);
	assert_int_equal(t.state, ZH_STORE_REJECTED);
	assert_string_equal(t.last_error, "6540 workflow not found");
	assert_string_equal(zh_store_trigger_state_name(t.state), "rejected");
	zh_store_trigger_dispose(&t);
	assert_int_equal(zh_store_trigger_claim(&t, f->s, &c, &err),
			 ZH_ENOTFOUND);
	assert_int_equal(zh_store_trigger_claim_id(&t, f->s, id, 10, 0, &err),
			 ZH_ENOTFOUND);
	assert_ok(zh_store_queue_depth(&n, f->s, &err), &err);
	assert_int_equal(n, 0);
}

static void created_adds_task(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "build-images");
	struct zh_store_trigger t;
	struct zh_store_task task;
	struct zh_store_task_list l;
	struct zh_error err = {0};
	int64_t id;

	sp.custom = true;
	sp.workflow = "test-openapi";
	sp.project = "helm";
	assert_ok(zh_store_trigger_add(&id, NULL, f->s, &sp, 50, &err), &err);
	assert_ok(zh_store_trigger_claim_id(&t, f->s, id, 50, 10000, &err),
		  &err);
	assert_true(t.custom);
	assert_ok(zh_store_trigger_created(f->s, &t, 20, "http://z/t/20", 10000,
					   60, &err),
		  &err);
	zh_store_trigger_dispose(&t);
	assert_ok(
	    zh_store_task_find(&task, f->s, "test-openapi", true, 20, &err),
	    &err);
	assert_string_equal(task.status, "created");
	assert_string_equal(task.repo, "group/voting-app");
	assert_string_equal(task.ref, "refs/heads/main");
	assert_string_equal(task.commit, "c1");
	assert_string_equal(task.rule, "build-images");
	assert_string_equal(task.project, "helm");
	assert_string_equal(task.url, "http://z/t/20");
	assert_true(task.custom);
	assert_false(task.final);
	assert_int_equal(task.next_poll_ms, 10060);
	assert_int_equal(task.poll_interval_ms, 10000);
	assert_int_equal(task.created_ms, 60);
	zh_store_task_dispose(&task);
	/* the product workflow of the same name and id is another task */
	assert_int_equal(
	    zh_store_task_find(&task, f->s, "test-openapi", false, 20, &err),
	    ZH_ENOTFOUND);
	assert_ok(
	    zh_store_tasks_of_commit(&l, f->s, "group/voting-app", "c1", &err),
	    &err);
	assert_int_equal(l.len, 1);
	zh_store_task_list_dispose(&l);
	assert_ok(zh_store_trigger_get(&t, f->s, id, &err), &err);
	assert_int_equal(t.state, ZH_STORE_CREATED);
	assert_string_equal(t.url, "http://z/t/20");
	zh_store_trigger_dispose(&t);
}

/* Reconciliation: a task another trigger holds (created with it, or a
 * task row of another rule) is never recorded for a second one; a task
 * found without a rule becomes the finder's; a forced trigger of the same
 * key does not take the task of the keyed one. */
static void found_only_when_nobody_elses(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_trigger a, b, c;
	struct zh_store_task task = {0};
	struct zh_error err = {0};
	int64_t ida, idb, idc;
	bool taken = true;

	assert_ok(zh_store_trigger_add(&ida, NULL, f->s, &sp, 50, &err), &err);
	sp.ref = "refs/heads/feature/a";
	assert_ok(zh_store_trigger_add(&idb, NULL, f->s, &sp, 50, &err), &err);
	sp.force = true;
	assert_ok(zh_store_trigger_add(&idc, NULL, f->s, &sp, 50, &err), &err);
	assert_ok(zh_store_trigger_claim_id(&a, f->s, ida, 60, 10000, &err),
		  &err);
	assert_ok(zh_store_trigger_claim_id(&b, f->s, idb, 60, 10000, &err),
		  &err);
	assert_ok(zh_store_trigger_claim_id(&c, f->s, idc, 60, 10000, &err),
		  &err);
	assert_ok(zh_store_trigger_created(f->s, &a, 1, "http://z/1", 10000, 70,
					   &err),
		  &err);
	/* task 1 is a's: b and c may not have it */
	assert_ok(zh_store_task_taken(&taken, f->s, &b, 1, 0, &err), &err);
	assert_true(taken);
	assert_ok(zh_store_task_taken(&taken, f->s, &a, 1, 0, &err), &err);
	assert_false(taken);
	assert_ok(zh_store_trigger_found(&taken, f->s, &b, 1, 0, "http://z/1",
					 10000, 80, &err),
		  &err);
	assert_true(taken);
	assert_ok(zh_store_trigger_found(&taken, f->s, &c, 1, 0, "http://z/1",
					 10000, 80, &err),
		  &err);
	assert_true(taken);
	zh_store_trigger_dispose(&b);
	assert_ok(zh_store_trigger_get(&b, f->s, idb, &err), &err);
	assert_int_equal(b.state, ZH_STORE_SENDING);
	assert_int_equal(b.task_id, 0);
	/* task 2, found by the lookup before (no rule, another ref): b's */
	task.workflow = "voting-workflow-dev";
	task.task_id = 2;
	task.repo = "group/voting-app";
	task.ref = "refs/heads/main";
	task.commit = "c1";
	task.status = "running";
	assert_ok(zh_store_task_upsert(NULL, f->s, &task, 85, &err), &err);
	assert_ok(zh_store_task_taken(&taken, f->s, &b, 2, 0, &err), &err);
	assert_false(taken);
	assert_ok(zh_store_trigger_found(&taken, f->s, &b, 2, 0, "http://z/2",
					 10000, 90, &err),
		  &err);
	assert_false(taken);
	zh_store_trigger_dispose(&b);
	assert_ok(zh_store_trigger_get(&b, f->s, idb, &err), &err);
	assert_int_equal(b.state, ZH_STORE_CREATED);
	assert_int_equal(b.task_id, 2);
	assert_ok(zh_store_task_find(&task, f->s, "voting-workflow-dev", false,
				     2, &err),
		  &err);
	assert_string_equal(task.ref, "refs/heads/feature/a");
	assert_string_equal(task.rule, "dev");
	assert_string_equal(task.status, "running");
	zh_store_task_dispose(&task);
	/* and now nobody else's either */
	assert_ok(zh_store_task_taken(&taken, f->s, &c, 2, 0, &err), &err);
	assert_true(taken);
	zh_store_trigger_dispose(&a);
	zh_store_trigger_dispose(&b);
	zh_store_trigger_dispose(&c);
}

/* Zadig's task ids started again (Zadig reinstalled, the workflow made
 * again under its name): a task id created for one commit that the store
 * holds for another is that one's old task, which the new one replaces,
 * polled from the start; the old commit keeps its note (lines stay) but
 * no row. */
static void created_replaces_a_reused_id(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_trigger a, b;
	struct zh_store_task task;
	struct zh_store_task_list l;
	struct zh_store_trigger_list tl;
	struct zh_store_commit_list cl;
	struct zh_error err = {0};
	int64_t ida, idb, row;

	assert_ok(zh_store_trigger_add(&ida, NULL, f->s, &sp, 50, &err), &err);
	assert_ok(zh_store_trigger_claim_id(&a, f->s, ida, 50, 10000, &err),
		  &err);
	assert_ok(zh_store_trigger_created(f->s, &a, 1, "http://z/1", 10000, 60,
					   &err),
		  &err);
	assert_ok(zh_store_task_find(&task, f->s, "voting-workflow-dev", false,
				     1, &err),
		  &err);
	row = task.id;
	assert_ok(zh_store_task_update(f->s, row, "passed", "tests=24/24", true,
				       0, 10000, 70, &err),
		  &err);
	zh_store_task_dispose(&task);
	assert_ok(
	    zh_store_tasks_of_commit(&l, f->s, "group/voting-app", "c1", &err),
	    &err);
	assert_ok(zh_store_triggers_of_commit(&tl, f->s, "group/voting-app",
					      "c1", &err),
		  &err);
	assert_ok(zh_store_mark_noted(f->s, &tl, &l, &err), &err);
	zh_store_task_list_dispose(&l);
	zh_store_trigger_list_dispose(&tl);

	/* a day later, the next commit's task is #1 again */
	sp.commit = "c2";
	assert_ok(zh_store_trigger_add(&idb, NULL, f->s, &sp, 86400000, &err),
		  &err);
	assert_ok(
	    zh_store_trigger_claim_id(&b, f->s, idb, 86400000, 10000, &err),
	    &err);
	assert_ok(zh_store_trigger_created(f->s, &b, 1, "http://z/1b", 10000,
					   86400010, &err),
		  &err);
	assert_ok(zh_store_task_find(&task, f->s, "voting-workflow-dev", false,
				     1, &err),
		  &err);
	assert_int_equal(task.id, row);
	assert_string_equal(task.commit, "c2");
	assert_string_equal(task.ref, "refs/heads/main");
	assert_string_equal(task.rule, "dev");
	assert_string_equal(task.status, "created");
	assert_string_equal(task.url, "http://z/1b");
	assert_null(task.extra);
	assert_false(task.final);
	assert_int_equal(task.next_poll_ms, 86410010);
	assert_int_equal(task.poll_interval_ms, 10000);
	assert_int_equal(task.created_ms, 86400010);
	zh_store_task_dispose(&task);
	/* polled again, and the new commit's note is to be written */
	assert_ok(
	    zh_store_tasks_due(&l, f->s, ZH_STORE_TASKS_DUE, 86410010, &err),
	    &err);
	assert_int_equal(l.len, 1);
	zh_store_task_list_dispose(&l);
	assert_ok(zh_store_commits_to_note(&cl, f->s, NULL, &err), &err);
	assert_int_equal(cl.len, 1);
	assert_string_equal(cl.items[0].commit, "c2");
	zh_store_commit_list_dispose(&cl);
	assert_ok(
	    zh_store_tasks_of_commit(&l, f->s, "group/voting-app", "c1", &err),
	    &err);
	assert_int_equal(l.len, 0);
	zh_store_task_list_dispose(&l);
	/* a late reply to the same trigger changes nothing */
	assert_ok(zh_store_task_update(f->s, row, "running", NULL, false,
				       86420000, 10000, 86410020, &err),
		  &err);
	assert_ok(zh_store_trigger_created(f->s, &b, 1, "http://z/1b", 10000,
					   86410030, &err),
		  &err);
	assert_ok(zh_store_task_get(&task, f->s, row, &err), &err);
	assert_string_equal(task.status, "running");
	assert_int_equal(task.created_ms, 86400010);
	zh_store_task_dispose(&task);
	zh_store_trigger_dispose(&a);
	zh_store_trigger_dispose(&b);
}

/* Reconciliation after the ids started again: the commitId lookup of c2
 * lists #1, made at another time than the task the store holds for c1
 * under that id (its first poll read when): an older task of that id,
 * not another trigger's; found, it becomes c2's. */
static void found_takes_a_reused_id(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_trigger a, b;
	struct zh_store_task task;
	struct zh_error err = {0};
	int64_t ida, idb;
	bool taken = true;

	assert_ok(zh_store_trigger_add(&ida, NULL, f->s, &sp, 50, &err), &err);
	assert_ok(zh_store_trigger_claim_id(&a, f->s, ida, 50, 10000, &err),
		  &err);
	assert_ok(zh_store_trigger_created(f->s, &a, 1, "http://z/1", 10000, 60,
					   &err),
		  &err);
	assert_ok(zh_store_task_find(&task, f->s, "voting-workflow-dev", false,
				     1, &err),
		  &err);
	assert_ok(set_zadig_created(f->s, task.id, 1000, &err), &err);
	zh_store_task_dispose(&task);
	sp.commit = "c2";
	assert_ok(zh_store_trigger_add(&idb, NULL, f->s, &sp, 100, &err), &err);
	assert_ok(zh_store_trigger_claim_id(&b, f->s, idb, 100, 10000, &err),
		  &err);
	assert_ok(zh_store_task_taken(&taken, f->s, &b, 1, 5000, &err), &err);
	assert_false(taken);
	assert_ok(zh_store_trigger_found(&taken, f->s, &b, 1, 5000,
					 "http://z/1b", 10000, 110, &err),
		  &err);
	assert_false(taken);
	assert_ok(zh_store_task_find(&task, f->s, "voting-workflow-dev", false,
				     1, &err),
		  &err);
	assert_string_equal(task.commit, "c2");
	assert_string_equal(task.status, "created");
	assert_int_equal(task.created_ms, 110);
	assert_int_equal(task.zadig_created, 5000);
	zh_store_task_dispose(&task);
	zh_store_trigger_dispose(&b);
	assert_ok(zh_store_trigger_get(&b, f->s, idb, &err), &err);
	assert_int_equal(b.state, ZH_STORE_CREATED);
	assert_int_equal(b.task_id, 1);
	/* still fenced: c2's task is taken for another trigger of c2 */
	sp.ref = "refs/heads/feature/a";
	zh_store_trigger_dispose(&b);
	assert_ok(zh_store_trigger_add(&idb, NULL, f->s, &sp, 120, &err), &err);
	assert_ok(zh_store_trigger_claim_id(&b, f->s, idb, 120, 10000, &err),
		  &err);
	assert_ok(zh_store_task_taken(&taken, f->s, &b, 1, 5000, &err), &err);
	assert_true(taken);
	zh_store_trigger_dispose(&a);
	zh_store_trigger_dispose(&b);
}

/* The commitId lookup of c2 lists #1, which c1's trigger holds: a create
 * names a branch only, so c1's task may build c2 (a queued trigger sent
 * after the next push). With nothing that tells it from c1's task (the
 * same create_time, or one side's unknown) it is c1's, taken: c2's
 * trigger is sent, and c1's row stays as it is. */
static void found_leaves_another_commits_task(void **state)
{
	static const int64_t listed[] = {1000, 0, 1000};
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_store_trigger a, b;
	struct zh_store_task task;
	struct zh_error err = {0};
	int64_t ida, idb, row;
	bool taken = false;
	size_t i;

	assert_ok(zh_store_trigger_add(&ida, NULL, f->s, &sp, 50, &err), &err);
	assert_ok(zh_store_trigger_claim_id(&a, f->s, ida, 50, 10000, &err),
		  &err);
	assert_ok(zh_store_trigger_created(f->s, &a, 1, "http://z/1", 10000, 60,
					   &err),
		  &err);
	assert_ok(zh_store_task_find(&task, f->s, "voting-workflow-dev", false,
				     1, &err),
		  &err);
	row = task.id;
	zh_store_task_dispose(&task);
	sp.commit = "c2";
	assert_ok(zh_store_trigger_add(&idb, NULL, f->s, &sp, 100, &err), &err);
	assert_ok(zh_store_trigger_claim_id(&b, f->s, idb, 100, 10000, &err),
		  &err);
	for (i = 0; i < sizeof(listed) / sizeof(listed[0]); i++) {
		/* c1's task polled: its create_time is known from then */
		if (i == 1)
			assert_ok(set_zadig_created(f->s, row, 1000, &err),
				  &err);
		taken = false;
		assert_ok(
		    zh_store_task_taken(&taken, f->s, &b, 1, listed[i], &err),
		    &err);
		assert_true(taken);
		taken = false;
		assert_ok(zh_store_trigger_found(&taken, f->s, &b, 1, listed[i],
						 "http://z/1b", 10000, 110,
						 &err),
			  &err);
		assert_true(taken);
		assert_ok(zh_store_task_get(&task, f->s, row, &err), &err);
		assert_string_equal(task.commit, "c1");
		assert_string_equal(task.rule, "dev");
		assert_string_equal(task.url, "http://z/1");
		assert_int_equal(task.created_ms, 60);
		zh_store_task_dispose(&task);
	}
	zh_store_trigger_dispose(&b);
	assert_ok(zh_store_trigger_get(&b, f->s, idb, &err), &err);
	assert_int_equal(b.state, ZH_STORE_SENDING);
	assert_int_equal(b.task_id, 0);
	zh_store_trigger_dispose(&a);
	zh_store_trigger_dispose(&b);
}

static void sync_round_takes_each_once(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "a");
	struct zh_store_trigger t;
	struct zh_store_trigger_list l;
	struct zh_error err = {0};
	struct zh_store_claim c = {.ignore_backoff = true};
	int64_t id;
	int n = 0;

	assert_ok(zh_store_trigger_add(&id, NULL, f->s, &sp, 100, &err), &err);
	sp.rule = "b";
	assert_ok(zh_store_trigger_add(&id, NULL, f->s, &sp, 100, &err), &err);
	/* both far from due */
	assert_ok(zh_store_trigger_claim_id(&t, f->s, id, 100, 0, &err), &err);
	assert_ok(zh_store_trigger_retry(f->s, &t, "down", 100, &err), &err);
	zh_store_trigger_dispose(&t);

	assert_ok(zh_store_triggers_pending(&l, f->s, &err), &err);
	assert_int_equal(l.len, 2);
	zh_store_trigger_list_dispose(&l);

	/* a sync round at 200: every queued one once, though it fails again */
	c.round_start_ms = 200;
	for (c.now_ms = 200;; c.now_ms++) {
		int r = zh_store_trigger_claim(&t, f->s, &c, &err);

		if (r == ZH_ENOTFOUND)
			break;
		assert_ok(r, &err);
		n++;
		assert_ok(
		    zh_store_trigger_retry(f->s, &t, "down", c.now_ms, &err),
		    &err);
		zh_store_trigger_dispose(&t);
		assert_true(n <= 2);
	}
	assert_int_equal(n, 2);
}

/* The clock set back (NTP fixing a fast one) after the times were
 * stored: a next try or a lease further ahead than the back-off's
 * maximum, or the lease's length, could ever put it counts as now, so
 * that nothing waits for the size of the step; one a real back-off or
 * lease puts ahead is still waited for. */
static void clock_stepped_back(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	const int64_t fast = 1700000000000, hour = 3600000;
	struct zh_store_claim c = {.now_ms = fast, .lease_ms = 15000};
	struct zh_store_trigger t, t2;
	struct zh_error err = {0};
	int64_t id, id2;

	/* tried and failed an hour ahead of the real time */
	assert_ok(zh_store_trigger_add(&id, NULL, f->s, &sp, fast, &err), &err);
	assert_ok(zh_store_trigger_claim(&t, f->s, &c, &err), &err);
	assert_ok(zh_store_trigger_retry(f->s, &t, "down", fast, &err), &err);
	zh_store_trigger_dispose(&t);
	/* by the clock before the step, its back-off is still running */
	c.now_ms = fast + 1;
	assert_int_equal(zh_store_trigger_claim(&t, f->s, &c, &err),
			 ZH_ENOTFOUND);
	/* an hour back, it is due now, not in an hour */
	c.now_ms = fast - hour;
	assert_ok(zh_store_trigger_claim(&t, f->s, &c, &err), &err);
	assert_int_equal(t.id, id);
	assert_false(t.interrupted);
	assert_int_equal(t.lease_until_ms, fast - hour + 15000);
	/* and its back-off counts from the new time again */
	assert_ok(zh_store_trigger_retry(f->s, &t, "down", c.now_ms, &err),
		  &err);
	zh_store_trigger_dispose(&t);
	c.now_ms = fast - hour + 1;
	assert_int_equal(zh_store_trigger_claim(&t, f->s, &c, &err),
			 ZH_ENOTFOUND);
	c.now_ms = fast - hour + 300000;
	assert_ok(zh_store_trigger_claim(&t, f->s, &c, &err), &err);
	assert_ok(zh_store_trigger_reject(f->s, &t, "no", c.now_ms, &err),
		  &err);
	zh_store_trigger_dispose(&t);

	/* a sender's lease taken an hour ahead: expired now */
	sp.rule = "prod";
	assert_ok(zh_store_trigger_add(&id2, NULL, f->s, &sp, fast, &err),
		  &err);
	assert_ok(zh_store_trigger_claim_id(&t, f->s, id2, fast, 15000, &err),
		  &err);
	c.now_ms = fast - 1; /* a step within the lease: still held */
	assert_int_equal(zh_store_trigger_claim(&t2, f->s, &c, &err),
			 ZH_ENOTFOUND);
	c.now_ms = fast - hour;
	assert_ok(zh_store_trigger_claim(&t2, f->s, &c, &err), &err);
	assert_int_equal(t2.id, id2);
	assert_true(t2.interrupted);
	zh_store_trigger_dispose(&t2);
	assert_ok(zh_store_trigger_get(&t2, f->s, id2, &err), &err);
	assert_int_equal(t2.lease_until_ms, fast - hour + 15000);
	zh_store_trigger_dispose(&t2);
	zh_store_trigger_dispose(&t);
	assert_int_equal(
	    zh_store_trigger_claim_id(&t, f->s, id2, fast - hour, 15000, &err),
	    ZH_ENOTFOUND);
}

/* `git zadig sync` takes every queued trigger not changed during its
 * round: one changed an hour "later" by a clock since set back too. */
static void sync_round_after_a_step_back(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "a");
	const int64_t fast = 1700000000000, hour = 3600000;
	struct zh_store_claim c = {.ignore_backoff = true};
	struct zh_store_trigger t;
	struct zh_error err = {0};
	int64_t id;

	assert_ok(zh_store_trigger_add(&id, NULL, f->s, &sp, fast, &err), &err);
	assert_ok(zh_store_trigger_claim_id(&t, f->s, id, fast, 0, &err), &err);
	assert_ok(zh_store_trigger_retry(f->s, &t, "down", fast, &err), &err);
	zh_store_trigger_dispose(&t);
	c.now_ms = c.round_start_ms = fast - hour;
	assert_ok(zh_store_trigger_claim(&t, f->s, &c, &err), &err);
	assert_int_equal(t.id, id);
	assert_ok(zh_store_trigger_retry(f->s, &t, "down", c.now_ms, &err),
		  &err);
	zh_store_trigger_dispose(&t);
	/* once per round all the same */
	c.now_ms++;
	assert_int_equal(zh_store_trigger_claim(&t, f->s, &c, &err),
			 ZH_ENOTFOUND);
}

static void triggers_of_commit(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_spec sp = spec_for("c1", "a");
	struct zh_store_trigger_list l;
	struct zh_error err = {0};

	assert_ok(zh_store_trigger_add(NULL, NULL, f->s, &sp, 1, &err), &err);
	sp.rule = "b";
	assert_ok(zh_store_trigger_add(NULL, NULL, f->s, &sp, 2, &err), &err);
	sp.commit = "c2";
	assert_ok(zh_store_trigger_add(NULL, NULL, f->s, &sp, 3, &err), &err);
	sp.repo = "other";
	sp.commit = "c1";
	assert_ok(zh_store_trigger_add(NULL, NULL, f->s, &sp, 4, &err), &err);
	assert_ok(zh_store_triggers_of_commit(&l, f->s, "group/voting-app",
					      "c1", &err),
		  &err);
	assert_int_equal(l.len, 2);
	assert_string_equal(l.items[0].rule, "a");
	assert_string_equal(l.items[1].rule, "b");
	zh_store_trigger_list_dispose(&l);
	zh_store_trigger_list_dispose(NULL);
	assert_ok(zh_store_triggers_of_commit(&l, f->s, "x", "c1", &err), &err);
	assert_int_equal(l.len, 0);
	zh_store_trigger_list_dispose(&l);
	/* kept prepared: the first values again, read afresh */
	assert_ok(zh_store_triggers_of_commit(&l, f->s, "group/voting-app",
					      "c1", &err),
		  &err);
	assert_int_equal(l.len, 2);
	zh_store_trigger_list_dispose(&l);
}

#define NKEYS 200

/* Child: add every key and claim what it can; exit 0 when nothing failed.
 * Writes the number of new adds and claims to fd. */
static void race_child(const char *dir, int go, int fd)
{
	struct zh_error err = {0};
	struct zh_store *s = NULL;
	struct zh_store_trigger t;
	struct zh_store_claim c = {.now_ms = 1000, .lease_ms = 600000};
	char commit[32];
	int counts[2] = {0, 0};
	char b;
	int i;

	if (read(go, &b, 1) != 1)
		_exit(2);
	if (zh_store_open(&s, dir, &err))
		goto fail;
	for (i = 0; i < NKEYS; i++) {
		struct zh_store_trigger_spec sp;
		bool existed;

		snprintf(commit, sizeof(commit), "commit-%d", i);
		sp = spec_for(commit, "dev");
		if (zh_store_trigger_add(NULL, &existed, s, &sp, 1000, &err))
			goto fail;
		counts[0] += !existed;
	}
	for (;;) {
		int r = zh_store_trigger_claim(&t, s, &c, &err);

		if (r == ZH_ENOTFOUND)
			break;
		if (r)
			goto fail;
		counts[1]++;
		r = zh_store_trigger_created(s, &t, t.id, "u", 1000, 1001,
					     &err);
		zh_store_trigger_dispose(&t);
		if (r)
			goto fail;
	}
	zh_store_free(s);
	if (write(fd, counts, sizeof(counts)) != (ssize_t)sizeof(counts))
		_exit(2);
	_exit(0);
fail:
	fprintf(stderr, "child: %s\n", err.msg);
	_exit(1);
}

static void two_processes_race(void **state)
{
	struct store_fx *f = *state;
	struct zh_store_trigger_list l;
	struct zh_store_task_list tl;
	struct zh_error err = {0};
	int go[2], res[2], counts[2], adds = 0, claims = 0, status, i;
	pid_t pid[2];
	size_t j;

	/* a connection must not cross fork(): the children open their own */
	zh_store_free(f->s);
	f->s = NULL;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(res), 0);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			close(go[1]);
			close(res[0]);
			race_child(f->dir, go[0], res[1]);
		}
	}
	close(go[0]);
	close(res[1]);
	/* start both at once */
	assert_int_equal(write(go[1], "xx", 2), 2);
	close(go[1]);
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(read(res[0], counts, sizeof(counts)),
				 sizeof(counts));
		adds += counts[0];
		claims += counts[1];
	}
	close(res[0]);
	f->s = open_ok(f->dir);
	/* each key stored once, sent once */
	assert_int_equal(adds, NKEYS);
	assert_int_equal(claims, NKEYS);
	assert_ok(zh_store_triggers_pending(&l, f->s, &err), &err);
	assert_int_equal(l.len, 0);
	zh_store_trigger_list_dispose(&l);
	assert_ok(zh_store_tasks_due(&tl, f->s, ZH_STORE_TASKS_ALL, 0, &err),
		  &err);
	assert_int_equal(tl.len, NKEYS);
	for (j = 0; j < tl.len; j++) {
		struct zh_store_trigger t;

		assert_ok(
		    zh_store_trigger_get(&t, f->s, tl.items[j].task_id, &err),
		    &err);
		assert_int_equal(t.attempts, 1);
		zh_store_trigger_dispose(&t);
	}
	zh_store_task_list_dispose(&tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    store_test(add_dedupes_by_key),
	    store_test(add_many_all_or_nothing),
	    store_test(caller_key_and_lookup_by_key),
	    store_test(claim_lease_and_interrupted),
	    store_test(held_for_its_recorder),
	    store_test(retry_backs_off),
	    store_test(reject_is_final),
	    store_test(created_adds_task),
	    store_test(found_only_when_nobody_elses),
	    store_test(created_replaces_a_reused_id),
	    store_test(found_takes_a_reused_id),
	    store_test(found_leaves_another_commits_task),
	    store_test(sync_round_takes_each_once),
	    store_test(clock_stepped_back),
	    store_test(sync_round_after_a_step_back),
	    store_test(triggers_of_commit),
	    store_test(two_processes_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
