/* Delivering a trigger whose earlier request may have reached Zadig
 * (design.md §8): reconciled with the commitId lookup before it is sent
 * again. Against the tests' tiny Zadig (tests/unit/zadig/stub.h), which
 * answers each route as the test says and counts what it was asked. */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "config/config.h"
#include "flow/deliver.h"
#include "store/store.h"
#include "tests/unit/store/helpers.h"
#include "tests/unit/zadig/stub.h"
#include "util/error.h"

#include "util/banned.h"

#define LOOKUP "/api/directory/workflowTask"
#define CREATE "/api/directory/workflowTask/create"
#define DETAIL "/api/directory/workflowTask/id/*"
#define COMMIT "0123456789abcdef0123456789abcdef01234567"

/* A lookup answer's entry for task id of workflow wf, made at (unix s). */
static const char *entry_at(char *buf, size_t n, const char *wf, int id,
			    int64_t at)
{
	snprintf(buf, n,
		 "{\"task_id\":%d,\"create_time\":%lld,\"start_time\":0,"
		 "\"end_time\":0,\"status\":\"running\",\"url\":\"http://z/v1/"
		 "projects/detail/p/pipelines/multi/%s/%d\"}",
		 id, (long long)at, wf, id);
	return buf;
}

/* The same, made now. */
static const char *entry(char *buf, size_t n, const char *wf, int id)
{
	return entry_at(buf, n, wf, id, (int64_t)time(NULL));
}

struct fx {
	char *dir;
	struct zh_config *cfg;
	struct zh_store *store;
	struct zh_flow f;
	char log[8192];
};

static void log_line(void *ctx, const char *line)
{
	struct fx *x = ctx;
	size_t n = strlen(x->log);

	snprintf(x->log + n, sizeof(x->log) - n, "%s\n", line);
}

static int setup(void **state)
{
	struct zh_error err = {0};
	struct fx *x = calloc(1, sizeof(*x));
	char yaml[512];
	int n;

	assert_non_null(x);
	n = snprintf(yaml, sizeof(yaml),
		     "zadig: { url: \"http://127.0.0.1:%u\", token: t, "
		     "timeout: 1s }\n"
		     "poll: { interval: 200ms }\n"
		     "rules:\n"
		     "  - name: dev\n"
		     "    branches: [\"*\"]\n"
		     "    workflow: { name: wf, env: dev, targets: "
		     "[{ name: s, repos: [r] }] }\n",
		     stub_start());
	x->dir = tmpdir_new();
	if (zh_config_parse(&x->cfg, "t.yaml", yaml, (size_t)n, NULL, &err) <
		0 ||
	    zh_store_open(&x->store, x->dir, &err) < 0)
		fail_msg("%s", err.msg);
	x->f.cfg = x->cfg;
	x->f.store = x->store;
	x->f.log = log_line;
	x->f.log_ctx = x;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	zh_flow_dispose(&x->f);
	zh_store_free(x->store);
	zh_config_free(x->cfg);
	tmpdir_remove(x->dir);
	free(x);
	stub_stop();
	return 0;
}

/* Record the trigger of rule for COMMIT on branch (its body builds
 * repository r from that branch). */
static int64_t add_rule(struct fx *x, const char *branch, const char *rule)
{
	char ref[128], body[512];
	struct zh_store_trigger_spec spec = {
	    .repo = "g/r",
	    .ref = ref,
	    .commit = COMMIT,
	    .rule = rule,
	    .workflow = "wf",
	    .method = "POST",
	    .path = CREATE,
	    .body = body,
	};
	struct zh_error err = {0};
	bool existed = true;
	int64_t id = 0;

	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	snprintf(body, sizeof(body),
		 "{\"workflow_name\":\"wf\",\"env_name\":\"dev\","
		 "\"targets\":[{\"name\":\"s\",\"service_type\":\"k8s\","
		 "\"build\":{\"repos\":[{\"repo_name\":\"r\",\"branch\":"
		 "\"%s\",\"pr\":0}]}}]}",
		 branch);
	assert_ok(zh_store_trigger_add(&id, &existed, x->store, &spec,
				       zh_store_now_ms(), &err),
		  &err);
	assert_false(existed);
	return id;
}

static int64_t add(struct fx *x, const char *branch)
{
	return add_rule(x, branch, "dev");
}

/* Trigger id was sent and Zadig made task_id for it. */
static void created(struct fx *x, int64_t id, int64_t task_id)
{
	struct zh_store_trigger t = {0};
	struct zh_error err = {0};

	assert_ok(zh_store_trigger_claim_id(&t, x->store, id, zh_store_now_ms(),
					    60000, &err),
		  &err);
	assert_ok(zh_store_trigger_created(x->store, &t, task_id, "http://z/t",
					   10000, zh_store_now_ms(), &err),
		  &err);
	zh_store_trigger_dispose(&t);
}

/* Zadig's detail of task id of wf: built from branch (NULL: a detail
 * without targets, as for a workflow of release images). */
static void detail(int id, const char *branch)
{
	char path[128];

	snprintf(path, sizeof(path),
		 "/api/directory/workflowTask/id/%d/"
		 "pipelines/wf",
		 id);
	if (!branch) {
		stub_route("GET", path, 200, -1, 0,
			   "{\"workflow_name\":\"wf\",\"env_name\":\"\","
			   "\"status\":\"running\"}");
		return;
	}
	stub_route("GET", path, 200, -1, 0,
		   "{\"workflow_name\":\"wf\",\"env_name\":\"\","
		   "\"status\":\"running\",\"targets\":[{\"name\":\"s\","
		   "\"service_type\":\"k8s\",\"build\":{\"repos\":[{"
		   "\"repo_name\":\"r\",\"branch\":\"%s\",\"pr\":0}]}}]}",
		   branch);
}

/* A process claimed trigger id, sent it and died before it stored the
 * answer: its lease has run out. */
static void interrupt(struct fx *x, int64_t id)
{
	struct zh_store_trigger t = {0};
	struct zh_error err = {0};

	assert_ok(zh_store_trigger_claim_id(&t, x->store, id, zh_store_now_ms(),
					    1, &err),
		  &err);
	zh_store_trigger_dispose(&t);
	stub_sleep_ms(5);
}

static struct zh_flow_result deliver(struct fx *x, int64_t id)
{
	struct zh_flow_result res;
	struct zh_error err = {0};

	assert_ok(zh_flow_deliver_id(&res, &x->f, id, &err), &err);
	return res;
}

static void assert_state(struct fx *x, int64_t id,
			 enum zh_store_trigger_state want, int64_t task_id)
{
	struct zh_store_trigger t = {0};
	struct zh_error err = {0};

	assert_ok(zh_store_trigger_get(&t, x->store, id, &err), &err);
	assert_int_equal(t.state, want);
	assert_int_equal(t.task_id, task_id);
	zh_store_trigger_dispose(&t);
}

/* The lookup answers with the task: taken, nothing sent. */
static void lookup_finds_the_task(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "main");
	char e[512];

	stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
		   entry(e, sizeof(e), "wf", 3));
	detail(3, NULL);
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 3);
	assert_int_equal(stub_asked("POST", CREATE), 0);
	assert_state(x, id, ZH_STORE_CREATED, 3);
	assert_contains(x->log, "was sent before: found wf #3");
}

/* Zadig's clock is behind ours (by two minutes, by a day): the task it
 * lists, made before the trigger was recorded by its clock, is the
 * trigger's all the same. Where it was ignored, and the retry made a
 * second task. */
static void zadig_clock_behind_found(void **state)
{
	static const int64_t behind[] = {120, 86400 - 600};
	struct fx *x = *state;
	struct zh_flow_result res;
	char branch[32], e[512];
	size_t i;

	for (i = 0; i < sizeof(behind) / sizeof(behind[0]); i++) {
		int64_t id;

		stub_reset();
		snprintf(branch, sizeof(branch), "f/%zu", i);
		id = add(x, branch);
		stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
			   entry_at(e, sizeof(e), "wf", 5 + (int)i,
				    (int64_t)time(NULL) - behind[i]));
		detail(5 + (int)i, branch);
		stub_route("POST", CREATE, 200, -1, 0,
			   "{\"project_name\":\"p\",\"workflow_name\":"
			   "\"wf\",\"task_id\":9}");
		interrupt(x, id);
		res = deliver(x, id);
		assert_int_equal(res.outcome, ZH_FLOW_CREATED);
		assert_int_equal(res.task_id, 5 + (int)i);
		assert_int_equal(stub_asked("POST", CREATE), 0);
	}
}

/* The lookup of a trigger whose rule names a project names it too
 * (?projectName=, as on the create and the details: older servers need
 * it for users who are not admins). */
static void lookup_names_the_project(void **state)
{
	struct fx *x = *state;
	struct zh_store_trigger_spec spec = {
	    .repo = "g/r",
	    .ref = "refs/heads/p",
	    .commit = COMMIT,
	    .rule = "dev",
	    .workflow = "wf",
	    .project = "voting",
	    .method = "POST",
	    .path = CREATE "?projectName=voting",
	    .body = "{\"workflow_name\":\"wf\",\"env_name\":\"dev\","
		    "\"product_tmpl_name\":\"voting\"}",
	};
	struct zh_flow_result res;
	struct zh_error err = {0};
	bool existed = true;
	int64_t id = 0, id2 = add(x, "main");

	assert_ok(zh_store_trigger_add(&id, &existed, x->store, &spec,
				       zh_store_now_ms(), &err),
		  &err);
	stub_route("GET", LOOKUP, 200, -1, 0, "[]");
	stub_route("POST", CREATE, 200, -1, 0,
		   "{\"project_name\":\"voting\",\"workflow_name\":\"wf\","
		   "\"task_id\":1}");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(stub_asked_query("GET", LOOKUP,
					  "commitId=" COMMIT
					  "&projectName=voting"),
			 1);
	interrupt(x, id2);
	res = deliver(x, id2);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(stub_asked_query("GET", LOOKUP, "commitId=" COMMIT),
			 1);
}

/* The lookup fails (502, three tries): nothing is sent; the trigger stays
 * queued, reconciled again on each try, until the lookup answers. */
static void lookup_fails_nothing_resent(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "feature/a");
	int i;

	stub_route("GET", LOOKUP, 502, -1, 0, "<html>502 Bad Gateway</html>");
	stub_route("POST", CREATE, 200, -1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":7}");
	interrupt(x, id);
	for (i = 0; i < 2; i++) {
		res = deliver(x, id);
		assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
		assert_contains(res.message, "502");
		assert_int_equal(stub_asked("POST", CREATE), 0);
		assert_int_equal(stub_asked("GET", LOOKUP), 3 * (i + 1));
		assert_state(x, id, ZH_STORE_QUEUED, 0);
	}
	/* the lookup answers, without the task: now it is sent */
	stub_reset();
	stub_route("GET", LOOKUP, 200, -1, 0, "[]");
	stub_route("POST", CREATE, 200, -1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":7}");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 7);
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
	assert_int_equal(stub_asked("POST", CREATE), 1);
	assert_state(x, id, ZH_STORE_CREATED, 7);
}

/* r2: the create timed out (Zadig made the task, slowly); the lookup of
 * the retry fails: no second request, no second task. */
static void timed_out_then_lookup_fails(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "main");

	stub_route("POST", CREATE, 200, 1, 1500,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":1}");
	stub_route("GET", LOOKUP, 502, 3, 0, "{\"message\":\"bad gateway\"}");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	assert_contains(res.message, "did not answer within");
	stub_sleep_ms(1100); /* zadig.timeout: the earlier request's time */
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	assert_int_equal(stub_asked("POST", CREATE), 1);
	assert_int_equal(stub_asked("GET", LOOKUP), 3);
	assert_state(x, id, ZH_STORE_QUEUED, 0);
}

/* r1: the lookup lists only the task another trigger of the commit holds
 * (same workflow, same branch, another rule): not this one's; it is sent
 * and gets its own task. */
static void task_of_another_trigger_not_taken(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t other = add_rule(x, "main", "dev2"), id = add(x, "main");
	char e[512];

	created(x, other, 1);
	stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
		   entry(e, sizeof(e), "wf", 1));
	detail(1, "main");
	stub_route("POST", CREATE, 200, -1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":2}");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 2);
	assert_int_equal(stub_asked("POST", CREATE), 1);
	assert_state(x, id, ZH_STORE_CREATED, 2);
	assert_state(x, other, ZH_STORE_CREATED, 1);
}

/* The one task of the commit was built from another branch (started by
 * someone else, or for another ref): not this trigger's. */
static void task_of_another_branch_not_taken(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "feature/a");
	char e[512];

	stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
		   entry(e, sizeof(e), "wf", 1));
	detail(1, "main");
	stub_route("POST", CREATE, 200, -1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":2}");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 2);
	assert_int_equal(stub_asked("POST", CREATE), 1);
}

/* Two tasks of the commit, the later one built from this trigger's
 * branch: that one is taken, nothing is sent. */
static void own_task_of_two_taken(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "feature/a");
	char e1[512], e2[512];

	stub_route("GET", LOOKUP, 200, -1, 0, "[%s,%s]",
		   entry(e1, sizeof(e1), "wf", 1),
		   entry(e2, sizeof(e2), "wf", 2));
	detail(1, "main");
	detail(2, "feature/a");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 2);
	assert_int_equal(stub_asked("POST", CREATE), 0);
	assert_state(x, id, ZH_STORE_CREATED, 2);
}

/* A task the lookup found earlier (stored without a rule, under the ref
 * of the task that was being polled) and now found as this trigger's:
 * it becomes the trigger's, ref and rule included. */
static void found_task_becomes_the_triggers(void **state)
{
	struct fx *x = *state;
	struct zh_store_task st = {0}, got = {0};
	struct zh_flow_result res;
	struct zh_error err = {0};
	int64_t id = add(x, "feature/a");
	char e[512];

	st.workflow = "wf";
	st.task_id = 1;
	st.repo = "g/r";
	st.ref = "refs/heads/main";
	st.commit = COMMIT;
	st.status = "running";
	assert_ok(
	    zh_store_task_upsert(NULL, x->store, &st, zh_store_now_ms(), &err),
	    &err);
	stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
		   entry(e, sizeof(e), "wf", 1));
	detail(1, "feature/a");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 1);
	assert_int_equal(stub_asked("POST", CREATE), 0);
	assert_ok(zh_store_task_find(&got, x->store, "wf", false, 1, &err),
		  &err);
	assert_string_equal(got.rule, "dev");
	assert_string_equal(got.ref, "refs/heads/feature/a");
	zh_store_task_dispose(&got);
}

/* The lookup lists a task but its detail cannot be read: as a failed
 * lookup, nothing is sent and the trigger stays queued. */
static void detail_fails_nothing_resent(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "main");
	char e[512];

	stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
		   entry(e, sizeof(e), "wf", 1));
	stub_route("GET", DETAIL, 502, -1, 0, "<html>502 Bad Gateway</html>");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	assert_contains(res.message, "502");
	assert_int_equal(stub_asked("POST", CREATE), 0);
	assert_state(x, id, ZH_STORE_QUEUED, 0);
}

/* r8: a 404 from the lookup (an ingress's default backend while Zadig
 * restarts) is a failed lookup: nothing is sent, the lookup stays on and
 * is asked again at the next try. */
static void lookup_404_is_a_failed_lookup(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "main");

	stub_route("GET", LOOKUP, 404, 1, 0, "default backend - 404");
	stub_route("GET", LOOKUP, 200, -1, 0, "[]");
	stub_route("POST", CREATE, 200, -1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":1}");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	assert_contains(res.message, "404");
	assert_int_equal(stub_asked("POST", CREATE), 0);
	assert_null(strstr(x->log, "switched off"));
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(stub_asked("GET", LOOKUP), 2);
	assert_int_equal(stub_asked("POST", CREATE), 1);
}

/* The v1.18 answer switches the lookup off (one log line) and the
 * trigger is sent; so is the next one, without asking. A lookup switched
 * off before this answer was the only one that did (a stored "1") is
 * asked again. */
static void invalid_path_switches_lookup_off(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	struct zh_error err = {0};
	int64_t id = add(x, "main"), id2 = add(x, "feature/a");
	char key[128];

	snprintf(key, sizeof(key), "commit_lookup_off:%s", x->cfg->zadig.url);
	assert_ok(zh_store_meta_set(x->store, key, "1", &err), &err);
	stub_route("GET", LOOKUP, 500, -1, 0,
		   "{\"message\":\"Internal Error: \",\"code\":500,"
		   "\"description\":\"Invalid path\"}");
	stub_route("POST", CREATE, 200, 1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":1}");
	stub_route("POST", CREATE, 200, 1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":2}");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 1);
	/* asked once: the answer is not retried */
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
	assert_contains(x->log, "has no commitId lookup (v1.18+): switched "
				"off");
	interrupt(x, id2);
	res = deliver(x, id2);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 2);
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
}

/* A lookup Zadig is slow to answer ends, retries included, within
 * zadig.timeout (1 s here) without a deadline, and by the hook's deadline
 * with one: the trigger stays queued, nothing is sent. Each of its three
 * tries took a whole timeout (and the deadline was set once, as the
 * timeout of every try), so the claim's lease (made for one request's
 * time) ran out, and a push waited three times as long. */
static void slow_lookup_bounded(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	struct timespec a, b;
	int64_t id = add(x, "main"), id2 = add(x, "feature/a");
	long ms;

	stub_route("GET", LOOKUP, 200, -1, 2000, "[]");
	interrupt(x, id);
	clock_gettime(CLOCK_MONOTONIC, &a);
	res = deliver(x, id);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	assert_contains(res.message, "cannot tell whether an earlier request");
	if (ms > 1000 + 400)
		fail_msg("zadig.timeout is 1s; the lookup took %ldms", ms);

	x->f.deadline_ms = zh_store_now_ms() + 600;
	interrupt(x, id2);
	clock_gettime(CLOCK_MONOTONIC, &a);
	res = deliver(x, id2);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	if (ms > 600 + 400)
		fail_msg("the deadline was 600ms away; the lookup took %ldms",
			 ms);
	assert_int_equal(stub_asked("POST", CREATE), 0);
	x->f.deadline_ms = 0;
}

/* r11: a create answered by a gateway (502, 504), or by anything but
 * Zadig itself (a 5xx without Zadig's error body: a proxy's page, an
 * empty panic), may have created the task behind it: not sent again
 * within zadig.timeout, then only after the lookup. */
static void gateway_answer_may_have_created(void **state)
{
	static const struct {
		unsigned status;
		const char *body;
	} answers[] = {
	    {504, "<html>504 Gateway Time-out</html>"},
	    {502, "{\"message\":\"An invalid response was received from "
		  "the upstream server\"}"},
	    {503, "<html>503 Service Temporarily Unavailable</html>"},
	    {500, ""},
	};
	struct fx *x = *state;
	struct zh_flow_result res;
	char branch[32], e[512];
	int64_t id = 0;
	size_t i;

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		stub_reset();
		snprintf(branch, sizeof(branch), "f/%zu", i);
		id = add(x, branch);
		stub_route("POST", CREATE, answers[i].status, 1, 0, "%s",
			   answers[i].body);
		res = deliver(x, id);
		assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
		res = deliver(x, id);
		assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
		assert_string_equal(res.message, "an earlier request may still "
						 "be in progress at zadig");
		assert_int_equal(stub_asked("POST", CREATE), 1);
	}
	/* the last one: Zadig did make it */
	stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
		   entry(e, sizeof(e), "wf", 4));
	detail(4, branch);
	stub_sleep_ms(1100);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 4);
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
	assert_int_equal(stub_asked("POST", CREATE), 1);
}

/* Zadig's own error answer (its JSON, with a code) says the task was not
 * made: retried at once, without a lookup. */
static void zadig_error_sent_again(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "main");

	stub_route("POST", CREATE, 500, 1, 0,
		   "{\"message\":\"Internal Error: \",\"code\":500,"
		   "\"description\":\"db down\"}");
	stub_route("POST", CREATE, 200, -1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":1}");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	assert_contains(res.message, "db down");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(stub_asked("GET", LOOKUP), 0);
	assert_int_equal(stub_asked("POST", CREATE), 2);
}

/* Zadig's answer to a create its backend refused: HTTP 500 with the
 * backend's error in the description, "[<status>] {<error>}" (printf
 * arguments: the status, the code, the description). */
#define PROXIED                                                                  \
	"{\"code\":500,\"message\":\"Internal Error: \",\"description\":"        \
	"\"[%s] {\\\"code\\\":%d,\\\"description\\\":\\\"%s\\\","                \
	"\\\"extra\\\":{},\\\"message\\\":\\\"新建或更新wokflow失败\\\"," \
	"\\\"type\\\":\\\"error\\\"}\"}"

/* A create the backend refused with a 4xx, proxied in a 500, is refused
 * for good as a plain 400 is: rejected with Zadig's code and text, sent
 * once, where it was retried for 24 hours. */
static void proxied_refusal_is_final(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "main"), id2 = add(x, "feature/a");

	stub_route("POST", CREATE, 500, 1, 0, PROXIED, "400 BadRequest", 6540,
		   "workflow wf not found");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_REJECTED);
	assert_string_equal(res.message, "6540 新建或更新wokflow失败 "
					 "(workflow wf not found)");
	assert_state(x, id, ZH_STORE_REJECTED, 0);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_REJECTED);
	assert_int_equal(stub_asked("POST", CREATE), 1);

	/* the plain form: a 400 with Zadig's error */
	stub_route("POST", CREATE, 400, 1, 0,
		   "{\"type\":\"error\",\"code\":6540,\"message\":\"新建"
		   "或更新wokflow失败\",\"description\":\"workflow wf not "
		   "found\",\"extra\":{}}");
	res = deliver(x, id2);
	assert_int_equal(res.outcome, ZH_FLOW_REJECTED);
	assert_string_equal(res.message, "6540 新建或更新wokflow失败 "
					 "(workflow wf not found)");
	assert_int_equal(stub_asked("POST", CREATE), 2);
}

/* A proxied 5xx of the backend (or a 408, a 429) is retried at once, as
 * Zadig's own 5xx is; a proxied 401 or 403 holds the trigger as an
 * empty 401 or 403 does. */
static void proxied_retry_and_auth(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "main");

	stub_route("POST", CREATE, 500, 1, 0, PROXIED,
		   "500 InternalServerError", 6540, "mongo down");
	stub_route("POST", CREATE, 500, 1, 0, PROXIED, "429 TooManyRequests",
		   6540, "slow down");
	stub_route("POST", CREATE, 500, 1, 0,
		   "{\"code\":500,\"message\":\"Internal Error: \","
		   "\"description\":\"[403 Forbidden] \"}");
	stub_route("POST", CREATE, 200, -1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":1}");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	assert_contains(res.message, "mongo down");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	assert_contains(res.message, "slow down");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_HELD);
	assert_contains(res.message, "403");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(stub_asked("GET", LOOKUP), 0);
	assert_int_equal(stub_asked("POST", CREATE), 4);
}

/* A 404 without Zadig's error (an ingress's default backend, a zadig.url
 * with a wrong path) never reached Zadig: queued, saying so, and sent
 * again at the next try (nothing to wait for or look up), where it was
 * rejected for good. A 404 with Zadig's error is Zadig's refusal. */
static void plain_404_is_not_final(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "main"), id2 = add(x, "feature/a");

	stub_route("POST", CREATE, 404, 1, 0, "default backend - 404");
	stub_route("POST", CREATE, 404, 1, 0, "%s", "");
	stub_route("POST", CREATE, 200, 1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
		   "\"task_id\":1}");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	assert_contains(res.message, "HTTP 404: default backend - 404");
	assert_contains(res.message, "zadig.url");
	assert_state(x, id, ZH_STORE_QUEUED, 0);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	assert_contains(res.message, "zadig.url");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(stub_asked("GET", LOOKUP), 0);
	assert_int_equal(stub_asked("POST", CREATE), 3);

	stub_route("POST", CREATE, 404, 1, 0,
		   "{\"type\":\"error\",\"code\":6540,\"message\":\"not "
		   "found\",\"description\":\"workflow wf\",\"extra\":{}}");
	res = deliver(x, id2);
	assert_int_equal(res.outcome, ZH_FLOW_REJECTED);
	assert_string_equal(res.message, "6540 not found (workflow wf)");
}

/* Record the trigger of a custom workflow for COMMIT on branch. */
static int64_t add_custom(struct fx *x, const char *branch)
{
	char ref[128];
	struct zh_store_trigger_spec spec = {
	    .repo = "g/r",
	    .ref = ref,
	    .commit = COMMIT,
	    .rule = "dev",
	    .custom = true,
	    .workflow = "cw",
	    .project = "p",
	    .method = "POST",
	    .path = "/openapi/workflows/custom/task",
	    .body = "{\"project_name\":\"p\",\"workflow_name\":\"cw\","
		    "\"inputs\":[]}",
	};
	struct zh_error err = {0};
	bool existed = true;
	int64_t id = 0;

	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	assert_ok(zh_store_trigger_add(&id, &existed, x->store, &spec,
				       zh_store_now_ms(), &err),
		  &err);
	assert_false(existed);
	return id;
}

/* A 2xx create answer of Zadig's whose task_id cannot be read (missing,
 * renamed, 0, negative, 1e30, 2^63) came with a task Zadig most likely
 * made: not sent again (each retry made another task), but looked up
 * once the earlier request's time is over, and logged loudly. */
static void answer_without_task_id_may_have_created(void **state)
{
	static const char *const answers[] = {
	    "{\"project_name\":\"p\",\"workflow_name\":\"wf\"}",
	    "{\"project_name\":\"p\",\"workflow_name\":\"wf\","
	    "\"taskId\":3}",
	    "{\"task_id\":0}",
	    "{\"task_id\":-3}",
	    "{\"task_id\":1e30}",
	    "{\"task_id\":9223372036854775808}",
	};
	struct fx *x = *state;
	struct zh_flow_result res;
	char branch[32], e[512];
	int64_t id = 0;
	size_t i;

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		stub_reset();
		snprintf(branch, sizeof(branch), "f/%zu", i);
		id = add(x, branch);
		stub_route("POST", CREATE, 200, 1, 0, "%s", answers[i]);
		res = deliver(x, id);
		assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
		assert_contains(res.message, "no task_id");
		assert_contains(res.message, "looked up");
		res = deliver(x, id);
		assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
		assert_string_equal(res.message, "an earlier request may still "
						 "be in progress at zadig");
		assert_int_equal(stub_asked("POST", CREATE), 1);
	}
	assert_contains(x->log, "ZADIG ANSWERED WITHOUT A TASK ID for g/r/dev");
	/* the last one: Zadig did make it */
	stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
		   entry(e, sizeof(e), "wf", 4));
	detail(4, branch);
	stub_sleep_ms(1100);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 4);
	assert_int_equal(stub_asked("POST", CREATE), 1);
}

/* Where no lookup can tell (a custom workflow; a server without the
 * lookup) such a trigger is not sent again at all: rejected, saying why,
 * rather than a second task on every retry. */
static void answer_without_task_id_no_lookup(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add_custom(x, "main"), id2 = add(x, "feature/b");

	stub_route("POST", "/openapi/workflows/custom/task", 200, -1, 0,
		   "{\"project_name\":\"p\",\"workflow_name\":\"cw\"}");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_REJECTED);
	assert_contains(res.message, "no task_id");
	assert_contains(res.message, "not sent again");
	assert_state(x, id, ZH_STORE_REJECTED, 0);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_REJECTED);
	assert_int_equal(stub_asked("POST", "/openapi/workflows/custom/task"),
			 1);

	/* v1.18: the lookup is found gone when it is asked */
	stub_route("POST", CREATE, 200, -1, 0, "{\"task_id\":0}");
	stub_route("GET", LOOKUP, 500, -1, 0,
		   "{\"message\":\"Internal Error: \",\"code\":500,"
		   "\"description\":\"Invalid path\"}");
	res = deliver(x, id2);
	assert_int_equal(res.outcome, ZH_FLOW_QUEUED);
	stub_sleep_ms(1100);
	res = deliver(x, id2);
	assert_int_equal(res.outcome, ZH_FLOW_REJECTED);
	assert_contains(res.message, "not sent again");
	assert_int_equal(stub_asked("POST", CREATE), 1);
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
}

/* A 403 is a valid token whose user lacks a permission, not a refused
 * token: held as a 401 is, but said as such, with a hint at
 * workflow.project when the rule names none (older servers need it for
 * users who are not admins); a 401 stays the token's. */
static void forbidden_is_a_permission(void **state)
{
	struct fx *x = *state;
	struct zh_flow_result res;
	int64_t id = add(x, "main"), id2 = add_custom(x, "custom/a");

	stub_route("POST", CREATE, 403, 1, 0, "%s", "");
	stub_route("POST", CREATE, 401, 1, 0, "%s", "");
	stub_route("POST", "/openapi/workflows/custom/task", 403, 1, 0, "%s",
		   "");
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_HELD);
	assert_true(res.denied);
	assert_contains(res.message, "zadig denied permission (HTTP 403)");
	assert_contains(res.message, "workflow.project");
	assert_contains(x->log, "ZADIG DENIED PERMISSION for g/r/dev: zadig "
				"denied permission (HTTP 403)");
	assert_null(strstr(x->log, "REFUSED THE TOKEN"));
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_HELD);
	assert_false(res.denied);
	assert_contains(res.message, "zadig refused the token (HTTP 401)");
	assert_contains(x->log, "ZADIG REFUSED THE TOKEN for g/r/dev");
	/* the custom workflow names its project: no hint */
	res = deliver(x, id2);
	assert_int_equal(res.outcome, ZH_FLOW_HELD);
	assert_true(res.denied);
	assert_null(strstr(res.message, "workflow.project"));
}

/* A task `git zadig trigger` made (recorded under the trigger's own repo,
 * ref, commit and rule, but held by no trigger) is an explicit request of
 * its own: an interrupted trigger of the push never takes it. */
static void manual_task_not_taken(void **state)
{
	struct fx *x = *state;
	struct zh_store_task st = {0};
	struct zh_flow_result res;
	struct zh_error err = {0};
	int64_t id = add(x, "main");
	char e[512];

	st.workflow = "wf";
	st.task_id = 3;
	st.repo = "g/r";
	st.ref = "refs/heads/main";
	st.commit = COMMIT;
	st.rule = "dev";
	st.next_poll_ms = zh_store_now_ms() + 1000;
	st.poll_interval_ms = 1000;
	assert_ok(
	    zh_store_task_upsert(NULL, x->store, &st, zh_store_now_ms(), &err),
	    &err);
	stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
		   entry(e, sizeof(e), "wf", 3));
	detail(3, "main");
	stub_route(
	    "POST", CREATE, 200, -1, 0,
	    "{\"project_name\":\"p\",\"workflow_name\":\"wf\",\"task_id\":4}");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 4);
	assert_int_equal(stub_asked("POST", CREATE), 1);
}

/* Task 3 of wf, recorded for another commit (rule dev) and first polled
 * when Zadig said it was made at zadig_created. */
static int64_t of_another_commit(struct fx *x, int64_t zadig_created)
{
	struct zh_store_task st = {0};
	struct zh_error err = {0};
	int64_t row;

	st.workflow = "wf";
	st.task_id = 3;
	st.repo = "g/r";
	st.ref = "refs/heads/main";
	st.commit = "fedcba9876543210fedcba9876543210fedcba98";
	st.rule = "dev";
	st.next_poll_ms = zh_store_now_ms() + 60000;
	st.poll_interval_ms = 1000;
	assert_ok(
	    zh_store_task_upsert(&row, x->store, &st, zh_store_now_ms(), &err),
	    &err);
	if (zadig_created)
		assert_ok(set_zadig_created(x->store, row, zadig_created, &err),
			  &err);
	return row;
}

/* The lookup of this trigger's commit lists the task another commit's
 * trigger holds (a create names only a branch: the task built the
 * branch's head), and nothing tells it from that one: it is not this
 * trigger's; it is sent, and the other commit keeps its task.
 * zadig_created: when its first poll says Zadig made it, -1 when the
 * lookup does. */
static void another_commits_task_stays(struct fx *x, int64_t zadig_created)
{
	struct zh_store_task got = {0};
	struct zh_flow_result res;
	struct zh_error err = {0};
	int64_t id = add(x, "main"), row, at = (int64_t)time(NULL);
	char e[512];

	row = of_another_commit(x, zadig_created < 0 ? at : zadig_created);
	stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
		   entry_at(e, sizeof(e), "wf", 3, at));
	detail(3, "main");
	stub_route(
	    "POST", CREATE, 200, -1, 0,
	    "{\"project_name\":\"p\",\"workflow_name\":\"wf\",\"task_id\":4}");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 4);
	assert_int_equal(stub_asked("POST", CREATE), 1);
	assert_state(x, id, ZH_STORE_CREATED, 4);
	assert_ok(zh_store_task_get(&got, x->store, row, &err), &err);
	assert_string_equal(got.commit,
			    "fedcba9876543210fedcba9876543210fedcba98");
	assert_string_equal(got.rule, "dev");
	zh_store_task_dispose(&got);
}

/* made when the lookup says */
static void task_of_another_commit_not_taken(void **state)
{
	another_commits_task_stays(*state, -1);
}

/* not polled yet: its create_time is not known */
static void unpolled_task_of_another_commit_not_taken(void **state)
{
	another_commits_task_stays(*state, 0);
}

/* The lookup lists a task id another commit's row holds for a task Zadig
 * made at another time: an older task whose id Zadig gave out again
 * (its ids started again); this trigger's now. */
static void reused_id_of_another_commit_taken(void **state)
{
	struct fx *x = *state;
	struct zh_store_task got = {0};
	struct zh_flow_result res;
	struct zh_error err = {0};
	int64_t id = add(x, "main"), row;
	char e[512];

	row = of_another_commit(x, (int64_t)time(NULL) - 86400);
	stub_route("GET", LOOKUP, 200, -1, 0, "[%s]",
		   entry(e, sizeof(e), "wf", 3));
	detail(3, "main");
	interrupt(x, id);
	res = deliver(x, id);
	assert_int_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(res.task_id, 3);
	assert_int_equal(stub_asked("POST", CREATE), 0);
	assert_state(x, id, ZH_STORE_CREATED, 3);
	assert_ok(zh_store_task_get(&got, x->store, row, &err), &err);
	assert_string_equal(got.commit, COMMIT);
	assert_string_equal(got.rule, "dev");
	assert_string_equal(got.status, "created");
	zh_store_task_dispose(&got);
}

struct second {
	struct fx *x;
	int64_t id;
	struct zh_flow_result res;
	int rc;
};

static void *deliver_in_thread(void *p)
{
	struct second *a = p;
	struct zh_error err = {0};

	a->rc = zh_flow_deliver_id(&a->res, &a->x->f, a->id, &err);
	return NULL;
}

/* A reconciliation that reads many task details outlasts the claim's first
 * lease (2 * zadig.timeout + 5 s, 7 s here): it renews the lease as it
 * goes, so another process does not claim the trigger meanwhile and
 * both send it. */
static void lease_renewed_while_reconciling(void **state)
{
	struct fx *x = *state;
	struct zh_store *s2 = NULL;
	struct zh_flow f2;
	struct zh_flow_result res;
	struct zh_error err = {0};
	int64_t id = add(x, "feature/a");
	char body[4096], e[512];
	size_t n = 0;
	int i;
	pthread_t th;
	struct second a;

	body[n++] = '[';
	for (i = 1; i <= 9; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s%s",
				      i > 1 ? "," : "",
				      entry(e, sizeof(e), "wf", i));
	snprintf(body + n, sizeof(body) - n, "]");
	stub_route("GET", LOOKUP, 200, -1, 0, "%s", body);
	/* each detail answers within zadig.timeout (1 s), slowly */
	stub_route("GET", DETAIL, 200, -1, 900,
		   "{\"workflow_name\":\"wf\",\"env_name\":\"\",\"status\":"
		   "\"running\","
		   "\"targets\":[{\"name\":\"s\",\"build\":{\"repos\":[{"
		   "\"repo_name\":\"r\",\"branch\":\"main\",\"pr\":0}]}}]}");
	stub_route(
	    "POST", CREATE, 200, -1, 0,
	    "{\"project_name\":\"p\",\"workflow_name\":\"wf\",\"task_id\":9}");
	interrupt(x, id);
	assert_ok(zh_store_open(&s2, x->dir, &err), &err);
	memset(&f2, 0, sizeof(f2));
	f2.cfg = x->cfg;
	f2.store = s2;
	a.x = x;
	a.id = id;
	pthread_create(&th, NULL, deliver_in_thread, &a);
	stub_sleep_ms(7500); /* past the first claim's lease */
	assert_ok(zh_flow_deliver_id(&res, &f2, id, &err), &err);
	pthread_join(th, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(a.res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(a.res.task_id, 9);
	assert_int_not_equal(res.outcome, ZH_FLOW_CREATED);
	assert_int_equal(stub_asked("POST", CREATE), 1);
	zh_flow_dispose(&f2);
	zh_store_free(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(lookup_finds_the_task, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(zadig_clock_behind_found, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(lookup_names_the_project, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(lookup_fails_nothing_resent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(timed_out_then_lookup_fails, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(task_of_another_trigger_not_taken,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(task_of_another_branch_not_taken,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(own_task_of_two_taken, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(found_task_becomes_the_triggers,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(detail_fails_nothing_resent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(lookup_404_is_a_failed_lookup,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(invalid_path_switches_lookup_off,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(slow_lookup_bounded, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(gateway_answer_may_have_created,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(zadig_error_sent_again, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(proxied_refusal_is_final, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(proxied_retry_and_auth, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(plain_404_is_not_final, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		answer_without_task_id_may_have_created, setup, teardown),
	    cmocka_unit_test_setup_teardown(answer_without_task_id_no_lookup,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(forbidden_is_a_permission, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(manual_task_not_taken, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(task_of_another_commit_not_taken,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		unpolled_task_of_another_commit_not_taken, setup, teardown),
	    cmocka_unit_test_setup_teardown(reused_id_of_another_commit_taken,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(lease_renewed_while_reconciling,
					    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
