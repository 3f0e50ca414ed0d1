/* zh_flow_deliver_id when another process has the trigger: what the hook
 * tells the pusher about a trigger it just recorded but a running poller
 * (of an earlier push) claimed first; and zh_flow_record holding what its
 * caller sends itself, so that a poller does not take it first. Nothing
 * here reaches the network: a trigger someone else holds is never sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "flow/deliver.h"
#include "store/store.h"
#include "tests/unit/store/helpers.h"
#include "util/error.h"

#include "util/banned.h"

static const char yaml[] =
    "zadig: { url: \"http://127.0.0.1:1\", token: t, timeout: 5s }\n"
    "rules:\n"
    "  - name: dev\n"
    "    branches: [main]\n"
    "    workflow: { name: wf, env: dev, targets: [{ name: s, repos: [r] "
    "}] }\n";

struct fx {
	char *dir;
	struct zh_config *cfg;
	struct zh_store *store;
	struct zh_flow f;
	int64_t id;
	struct zh_store_trigger held; /* the poller's claim */
};

static int setup(void **state)
{
	struct zh_store_trigger_spec spec = {
	    .repo = "g/r",
	    .ref = "refs/heads/main",
	    .commit = "0123456789abcdef0123456789abcdef01234567",
	    .rule = "dev",
	    .workflow = "wf",
	    .project = "p",
	    .method = "POST",
	    .path = "/api/workflow/workflowtask",
	    .body = "{}",
	};
	struct zh_error err = {0};
	struct fx *x = calloc(1, sizeof(*x));
	bool existed = true;

	assert_non_null(x);
	x->dir = tmpdir_new();
	if (zh_config_parse(&x->cfg, "t.yaml", yaml, sizeof(yaml) - 1, NULL,
			    &err) < 0 ||
	    zh_store_open(&x->store, x->dir, &err) < 0 ||
	    zh_store_trigger_add(&x->id, &existed, x->store, &spec,
				 zh_store_now_ms(), &err) < 0)
		fail_msg("%s", err.msg);
	assert_false(existed);
	x->f.cfg = x->cfg;
	x->f.store = x->store;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	zh_store_trigger_dispose(&x->held);
	zh_flow_dispose(&x->f);
	zh_store_free(x->store);
	zh_config_free(x->cfg);
	tmpdir_remove(x->dir);
	free(x);
	return 0;
}

/* The poller's claim, as zh_flow_deliver_due takes it. */
static void claim_elsewhere(struct fx *x)
{
	struct zh_error err = {0};

	if (zh_store_trigger_claim_id(&x->held, x->store, x->id,
				      zh_store_now_ms(), 60000, &err) < 0)
		fail_msg("%s", err.msg);
}

/* The hook's zh_flow_deliver_id after that: it answers from the store and
 * never makes a Zadig client (nothing is sent a second time). */
static void deliver_here(struct fx *x, struct zh_flow_result *res)
{
	struct zh_error err = {0};

	assert_int_equal(zh_flow_deliver_id(res, &x->f, x->id, &err), 0);
	assert_null(x->f.zadig);
}

/* Claimed, not yet answered: done here, no task yet ("queued, the poller
 * is sending it"). */
static void being_sent_elsewhere(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;

	claim_elsewhere(x);
	deliver_here(x, &res);
	assert_int_equal(res.outcome, ZH_FLOW_DONE);
	assert_int_equal(res.task_id, 0);
	assert_string_equal(res.rule, "dev");
	assert_string_equal(res.workflow, "wf");
}

/* Answered there: this push's task, with its id and URL ("created"). */
static void created_elsewhere(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	struct zh_error err = {0};

	claim_elsewhere(x);
	assert_int_equal(zh_store_trigger_created(x->store, &x->held, 42,
						  "http://z/t/42", 10000,
						  zh_store_now_ms(), &err),
			 0);
	deliver_here(x, &res);
	assert_int_equal(res.outcome, ZH_FLOW_DONE);
	assert_int_equal(res.task_id, 42);
	assert_string_equal(res.url, "http://z/t/42");
}

/* Refused there: rejected, with Zadig's reason. */
static void rejected_elsewhere(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	struct zh_error err = {0};

	claim_elsewhere(x);
	assert_int_equal(zh_store_trigger_reject(x->store, &x->held,
						 "6540 no such workflow",
						 zh_store_now_ms(), &err),
			 0);
	deliver_here(x, &res);
	assert_int_equal(res.outcome, ZH_FLOW_REJECTED);
	assert_string_equal(res.message, "6540 no such workflow");
}

/* Recorded by a sender (the sync hook): not due for a poller before the
 * sender's deadline, or without one (a receiver worker) a lease from now;
 * recorded by anyone else: due at once. The poller finds only what is due
 * (the fixture's trigger), the sender takes its own by id. */
static void recorded_for_its_sender(void **state)
{
	static const char *const commits[] = {
	    "1111111111111111111111111111111111111111",
	    "2222222222222222222222222222222222222222",
	    "3333333333333333333333333333333333333333",
	};
	struct fx *x = *state;
	struct zh_event ev = {.kind = ZH_EVENT_PUSH,
			      .repo = "g/r",
			      .ref = "refs/heads/main",
			      .message = "m",
			      .all_paths = true};
	struct zh_flow_recorded_list rl[3];
	struct zh_store_claim c = {.lease_ms = 60000};
	struct zh_store_trigger t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms();
	size_t i;

	for (i = 0; i < 3; i++) {
		ev.after = commits[i];
		x->f.deadline_ms = i == 0 ? now + 8000 : 0;
		assert_int_equal(
		    zh_flow_record(&rl[i], &x->f, &ev,
				   i < 2 ? ZH_FLOW_RECORD_SENDING : 0, &err),
		    0);
		assert_int_equal(rl[i].len, 1);
		assert_false(rl[i].items[0].existed);
		assert_int_equal(zh_store_trigger_get(&t, x->store,
						      rl[i].items[0].trigger_id,
						      &err),
				 0);
		if (i == 0) /* the hook: its deadline */
			assert_int_equal(t.next_try_ms, now + 8000);
		else if (i == 1) /* a worker: the lease, 2 x 5 s + 5 s */
			assert_in_range(t.next_try_ms, now + 15000,
					zh_store_now_ms() + 15000);
		else /* the poller's own record: due at once */
			assert_int_equal(t.next_try_ms, t.created_ms);
		zh_store_trigger_dispose(&t);
	}
	/* a poller now: the fixture's trigger and the poller's own record */
	c.now_ms = zh_store_now_ms();
	for (i = 0; i < 2; i++) {
		assert_int_equal(zh_store_trigger_claim(&t, x->store, &c, &err),
				 0);
		assert_true(t.id == x->id || t.id == rl[2].items[0].trigger_id);
		zh_store_trigger_dispose(&t);
	}
	assert_int_equal(zh_store_trigger_claim(&t, x->store, &c, &err),
			 ZH_ENOTFOUND);
	/* the hook takes its own at once */
	assert_int_equal(zh_store_trigger_claim_id(&t, x->store,
						   rl[0].items[0].trigger_id,
						   c.now_ms, 60000, &err),
			 0);
	zh_store_trigger_dispose(&t);
	for (i = 0; i < 3; i++)
		free(rl[i].items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(being_sent_elsewhere, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(created_elsewhere, setup, teardown),
	    cmocka_unit_test_setup_teardown(rejected_elsewhere, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(recorded_for_its_sender, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
