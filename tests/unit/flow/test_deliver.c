/* zh_flow_deliver_id when another process has the trigger: what the hook
 * tells the pusher about a trigger it just recorded but a running poller
 * (of an earlier push) claimed first. Nothing here reaches the network: a
 * trigger someone else holds is never sent. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(being_sent_elsewhere, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(created_elsewhere, setup, teardown),
	    cmocka_unit_test_setup_teardown(rejected_elsewhere, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
