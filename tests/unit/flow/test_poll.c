/* zh_flow_poll and zh_flow_refresh_commit against the tests' tiny Zadig
 * (tests/unit/zadig/stub.h): an answer for one task that
 * names no status is that task's failed poll (it backs off, its note line
 * keeps the status it had), never the round's, so the other tasks are
 * still polled and the task is not due again at once. */
#include <pthread.h>
#include <setjmp.h>
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
#include "tests/unit/zadig/stub.h"
#include "util/error.h"

#include "util/banned.h"

#define COMMIT "0123456789abcdef0123456789abcdef01234567"

/* What Zadig answers for the detail of task 1 of each workflow. */
static const struct answer {
	const char *workflow;
	const char *body;
} answers[] = {
    {"wf-bad", "{\"task_id\":1,\"workflow_name\":\"wf-bad\"}"},
    {"wf-empty", "{\"task_id\":1,\"workflow_name\":\"wf-empty\","
		 "\"status\":\"\"}"},
    {"wf-good", "{\"task_id\":1,\"workflow_name\":\"wf-good\","
		"\"status\":\"passed\"}"},
};
#define NANSWERS (sizeof(answers) / sizeof(answers[0]))

#define LOOKUP "/api/directory/workflowTask"
#define DETAIL "/api/directory/workflowTask/id/1/pipelines/"

struct fx {
	char *dir;
	struct zh_config *cfg;
	struct zh_store *store;
	struct zh_flow f;
	char logged[8][256];
	size_t nlogged;
};

/* Zadig answers the details of answers[] and the commitId lookup with
 * lookup; any other request with 404. */
static void zadig(const char *lookup)
{
	char path[128];
	size_t i;

	stub_reset();
	for (i = 0; i < NANSWERS; i++) {
		snprintf(path, sizeof(path), DETAIL "%s", answers[i].workflow);
		stub_route("GET", path, 200, -1, 0, "%s", answers[i].body);
	}
	stub_route("GET", LOOKUP, 200, -1, 0, "%s", lookup);
}

static void log_line(void *ctx, const char *line)
{
	struct fx *x = ctx;

	if (x->nlogged < sizeof(x->logged) / sizeof(x->logged[0]))
		snprintf(x->logged[x->nlogged++], sizeof(x->logged[0]), "%s",
			 line);
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
		     "timeout: 5s }\n"
		     "poll: { interval: 10s, max_interval: 2m }\n"
		     "rules:\n"
		     "  - name: dev\n"
		     "    branches: [main]\n"
		     "    workflow: { name: wf, env: dev, targets: [{ name: s, "
		     "repos: [r] }] }\n",
		     stub_start());
	zadig("[]"); /* nobody else's tasks */
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
	stub_stop();
	zh_store_free(x->store);
	zh_config_free(x->cfg);
	tmpdir_remove(x->dir);
	free(x);
	return 0;
}

/* How many times the detail of task 1 of answers[i] was asked for. */
static int details(size_t i)
{
	char path[128];

	snprintf(path, sizeof(path), DETAIL "%s", answers[i].workflow);
	return stub_asked("GET", path);
}

/* Task 1 of each workflow, running, of one commit, due since due_ms (the
 * tasks without a status come first). Returns the row ids. */
static void add_tasks(struct fx *x, int64_t ids[NANSWERS], int64_t due_ms)
{
	struct zh_error err = {0};
	size_t i;

	for (i = 0; i < NANSWERS; i++) {
		struct zh_store_task t;

		memset(&t, 0, sizeof(t));
		t.workflow = (char *)answers[i].workflow;
		t.task_id = 1;
		t.repo = "g/r";
		t.ref = "refs/heads/main";
		t.commit = COMMIT;
		t.rule = "dev";
		t.status = "running";
		t.next_poll_ms = due_ms + (int64_t)i;
		assert_ok(zh_store_task_upsert(&ids[i], x->store, &t,
					       zh_store_now_ms(), &err),
			  &err);
	}
}

static struct zh_store_task get(struct fx *x, int64_t id)
{
	struct zh_store_task t;
	struct zh_error err = {0};

	assert_ok(zh_store_task_get(&t, x->store, id, &err), &err);
	return t;
}

/* What a task without a status in Zadig's answer comes to: still running
 * for us, not final, and not due again before poll.interval. */
static void backed_off(struct fx *x, int64_t id, int64_t before)
{
	struct zh_store_task t = get(x, id);

	assert_string_equal(t.status, "running");
	assert_false(t.final);
	assert_int_equal(t.poll_interval_ms, 10000);
	assert_true(t.next_poll_ms >= before + 10000);
	zh_store_task_dispose(&t);
}

static void a_reply_without_status_fails_only_its_task(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t ids[NANSWERS], before = zh_store_now_ms();
	int n = -1;
	size_t i;

	add_tasks(x, ids, before - 5000);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(n, 3);
	assert_int_equal(x->f.tally.polled, 1);
	assert_int_equal(x->f.tally.unpolled, 2);
	backed_off(x, ids[0], before);
	backed_off(x, ids[1], before);
	t = get(x, ids[2]);
	assert_string_equal(t.status, "passed");
	assert_true(t.final);
	zh_store_task_dispose(&t);
	/* said once per task, naming it and what was wrong */
	assert_int_equal(x->nlogged, 2);
	assert_contains(x->logged[0], "wf-bad #1");
	assert_contains(x->logged[0], "no status");
	assert_contains(x->logged[1], "wf-empty #1");

	/* the next round finds nothing due: no request, no line */
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(n, 0);
	for (i = 0; i < NANSWERS; i++)
		assert_int_equal(details(i), 1);
	assert_int_equal(x->nlogged, 2);

	/* due again: a second failure doubles the wait */
	assert_ok(zh_store_task_update(x->store, ids[0], "running", NULL, false,
				       before - 5000, 10000, before, &err),
		  &err);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(n, 1);
	t = get(x, ids[0]);
	assert_int_equal(t.poll_interval_ms, 20000);
	assert_true(t.next_poll_ms >= before + 20000);
	zh_store_task_dispose(&t);
}

/* `git zadig status --live` and the receiver's callbacks: every task of
 * the commit is asked about. */
static void refresh_goes_past_a_reply_without_status(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t ids[NANSWERS];

	add_tasks(x, ids, zh_store_now_ms() + 60000);
	assert_ok(zh_flow_refresh_commit(&x->f, "g/r", COMMIT, &err), &err);
	assert_int_equal(x->f.tally.polled, 1);
	assert_int_equal(x->f.tally.unpolled, 2);
	t = get(x, ids[2]);
	assert_string_equal(t.status, "passed");
	zh_store_task_dispose(&t);
	t = get(x, ids[0]);
	assert_string_equal(t.status, "running");
	zh_store_task_dispose(&t);
}

/* A task others started, listed by the commitId lookup with an empty
 * status: recorded as created (as one listed without a status), not as
 * "", which no note line can hold (the commit's note was not written). */
static void a_lookup_entry_with_an_empty_status(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t ids[NANSWERS];
	int n = -1;

	zadig("[{\"task_id\":7,\"workflow_name\":\"wf-other\","
	      "\"status\":\"\"}]");
	add_tasks(x, ids, zh_store_now_ms() - 5000);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_ok(zh_store_task_find(&t, x->store, "wf-other", false, 7, &err),
		  &err);
	assert_string_equal(t.status, "created");
	assert_false(t.final);
	assert_string_equal(t.commit, COMMIT);
	zh_store_task_dispose(&t);
}

/* The commitId lookup runs once a round for each commit that has a task
 * of ours due (one with a rule), wherever its tasks come in the round:
 * also when a task others started comes first, and not again when the
 * commit's tasks are not next to each other. */
static void one_lookup_per_commit(void **state)
{
	static const struct {
		const char *commit, *rule;
	} due[] = {
	    {COMMIT, NULL}, /* others' task first */
	    {COMMIT, "dev"},
	    {"1111111111111111111111111111111111111111", "dev"},
	    {COMMIT, "dev"},
	    {"1111111111111111111111111111111111111111", "dev"},
	};
	struct fx *x = *state;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), id;
	int n = -1;
	size_t i;

	for (i = 0; i < sizeof(due) / sizeof(due[0]); i++) {
		struct zh_store_task t;

		memset(&t, 0, sizeof(t));
		t.workflow = "wf-good";
		t.task_id = (int64_t)i + 1;
		t.repo = "g/r";
		t.ref = "refs/heads/main";
		t.commit = (char *)due[i].commit;
		t.rule = (char *)due[i].rule;
		t.status = "running";
		t.next_poll_ms = now - 5000 + (int64_t)i;
		assert_ok(zh_store_task_upsert(&id, x->store, &t, now, &err),
			  &err);
	}
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(n, 5);
	assert_int_equal(stub_asked("GET", LOOKUP), 2);
}

/* The note's tests= of a task: the sum of its reports. Counts that sum
 * past 2^53 (no real run has so many; Zadig's answer is garbage) leave
 * tests= out, where the sum overflowed (signed: undefined behaviour,
 * the sanitizers' abort); so do negative ones. */
static void task_extra_counts(void **state)
{
	struct zh_zadig_test_report r[2048];
	struct zh_zadig_task t;
	char buf[128];
	size_t i;

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(r, 0, sizeof(r));
	t.test_reports = r;
	t.start_time = 100;
	t.end_time = 136;
	r[0].tests = 24;
	r[0].successes = 20;
	r[1].tests = 3;
	r[1].successes = 3;
	t.ntest_reports = 2;
	zh_flow_task_extra(buf, sizeof(buf), &t);
	assert_string_equal(buf, "duration=36s tests=23/27");

	for (i = 0; i < 2048; i++) {
		r[i].tests = (int64_t)1 << 53;
		r[i].successes = (int64_t)1 << 53;
	}
	t.ntest_reports = 2048;
	zh_flow_task_extra(buf, sizeof(buf), &t);
	assert_string_equal(buf, "duration=36s");
	t.ntest_reports = 1;
	zh_flow_task_extra(buf, sizeof(buf), &t);
	assert_string_equal(buf, "duration=36s tests=9007199254740992/"
				 "9007199254740992");

	r[0].tests = 5;
	r[0].successes = -7;
	zh_flow_task_extra(buf, sizeof(buf), &t);
	assert_string_equal(buf, "duration=36s");
}

/* The commitId lookup names the project of the commit's tasks when one
 * of them has one (older Zadig servers need ?projectName= for users who
 * are not admins, as on the task details): in a poll round and in a
 * refresh (`git zadig status --live`, the receiver's hints). */
static void lookup_names_the_project(void **state)
{
	static const char *const projects[] = {NULL, "voting", NULL};
	struct fx *x = *state;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), id;
	int n = -1;
	size_t i;

	for (i = 0; i < 3; i++) {
		struct zh_store_task t;

		memset(&t, 0, sizeof(t));
		t.workflow = "wf-good";
		t.task_id = (int64_t)i + 1;
		t.project = (char *)projects[i];
		t.repo = "g/r";
		t.ref = "refs/heads/main";
		t.commit =
		    i < 2 ? COMMIT : "1111111111111111111111111111111111111111";
		t.rule = "dev";
		t.status = "running";
		t.next_poll_ms = now - 5000 + (int64_t)i;
		assert_ok(zh_store_task_upsert(&id, x->store, &t, now, &err),
			  &err);
	}
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(stub_asked("GET", LOOKUP), 2);
	assert_int_equal(stub_asked_query("GET", LOOKUP,
					  "commitId=" COMMIT
					  "&projectName=voting"),
			 1);
	assert_int_equal(
	    stub_asked_query(
		"GET", LOOKUP,
		"commitId=1111111111111111111111111111111111111111"),
	    1);
	assert_ok(zh_flow_refresh_commit(&x->f, "g/r", COMMIT, &err), &err);
	assert_int_equal(stub_asked_query("GET", LOOKUP,
					  "commitId=" COMMIT
					  "&projectName=voting"),
			 2);
}

/* The commitId lookup adds the tasks others started; a task the store
 * knows keeps what its own detail said: the lookup's entry has no test
 * reports, and a finished task of the commit lost its tests= whenever
 * another of its tasks was still running (design.md §8). */
static void lookup_leaves_known_tasks_alone(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), done, due;
	int n = -1;

	memset(&t, 0, sizeof(t));
	t.workflow = "wf-done";
	t.task_id = 3;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = COMMIT;
	t.rule = "dev";
	t.status = "passed";
	t.extra = "duration=36s tests=24/24";
	t.final = true;
	assert_ok(zh_store_task_upsert(&done, x->store, &t, now, &err), &err);
	t.workflow = "wf-good";
	t.task_id = 1;
	t.status = "running";
	t.extra = NULL;
	t.final = false;
	t.next_poll_ms = now - 5000;
	assert_ok(zh_store_task_upsert(&due, x->store, &t, now, &err), &err);
	zadig("[{\"task_id\":3,\"workflow_name\":\"wf-done\","
	      "\"status\":\"running\",\"start_time\":100,"
	      "\"end_time\":0},"
	      "{\"task_id\":1,\"workflow_name\":\"wf-good\","
	      "\"status\":\"running\"}]");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(n, 1);
	/* and once more for wf-good's times: it ended after the first */
	assert_int_equal(stub_asked("GET", LOOKUP), 2);
	t = get(x, done);
	assert_string_equal(t.status, "passed");
	assert_true(t.final);
	assert_string_equal(t.extra, "duration=36s tests=24/24");
	zh_store_task_dispose(&t);
	t = get(x, due);
	assert_string_equal(t.status, "passed");
	zh_store_task_dispose(&t);
}

/* Zadig's ids started again: the detail of a task we recorded names a
 * task made after that (create_time), another task that took the id. Its
 * status is not ours: the row keeps its status, is polled no more (final;
 * "unknown" when it had not ended; reused=1, so that `git zadig sync
 * --all` does not ask about it either), and the log says why. */
static void a_task_made_later_is_another_task(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), done, due;
	long long later = (long long)(now / 1000 + 3600);
	int n = -1;

	stub_route("GET", DETAIL "wf-a", 200, -1, 0,
		   "{\"task_id\":1,\"workflow_name\":\"wf-a\","
		   "\"status\":\"failed\",\"create_time\":%lld}",
		   later);
	stub_route("GET", DETAIL "wf-b", 200, -1, 0,
		   "{\"task_id\":1,\"workflow_name\":\"wf-b\","
		   "\"status\":\"failed\",\"create_time\":%lld}",
		   later);
	memset(&t, 0, sizeof(t));
	t.workflow = "wf-a";
	t.task_id = 1;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = COMMIT;
	t.rule = "dev";
	t.status = "passed";
	t.extra = "tests=24/24";
	t.final = true;
	assert_ok(zh_store_task_upsert(&done, x->store, &t, now, &err), &err);
	t.workflow = "wf-b";
	t.status = "running";
	t.extra = NULL;
	t.final = false;
	t.next_poll_ms = now - 5000;
	assert_ok(zh_store_task_upsert(&due, x->store, &t, now, &err), &err);
	/* their first polls read Zadig's create_time of ours: earlier */
	assert_ok(set_zadig_created(x->store, done, later - 7200, &err), &err);
	assert_ok(set_zadig_created(x->store, due, later - 7200, &err), &err);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	assert_int_equal(n, 2);
	t = get(x, done);
	assert_string_equal(t.status, "passed");
	assert_string_equal(t.extra, "tests=24/24 reused=1");
	assert_true(t.final);
	zh_store_task_dispose(&t);
	t = get(x, due);
	assert_string_equal(t.status, "unknown");
	assert_string_equal(t.extra, "reused=1");
	assert_true(t.final);
	zh_store_task_dispose(&t);
	assert_true(x->nlogged >= 2);
	assert_non_null(strstr(x->logged[0], "is another task now"));
	/* not asked about again */
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	assert_int_equal(n, 0);
	assert_int_equal(stub_asked("GET", DETAIL "*"), 2);
}

/* Zadig's clock a day ahead of ours: its create_time is read once, at
 * the first poll, and only a later detail naming another one is another
 * task. (Compared with our clock, every task was "made later" and given
 * up at its first poll.) */
static void zadig_clock_ahead_is_the_same_task(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), id;
	long long ahead = (long long)(now / 1000 + 86400);
	int n = -1;

	stub_route("GET", DETAIL "wf-a", 200, -1, 0,
		   "{\"task_id\":1,\"workflow_name\":\"wf-a\","
		   "\"status\":\"running\",\"create_time\":%lld}",
		   ahead);
	memset(&t, 0, sizeof(t));
	t.workflow = "wf-a";
	t.task_id = 1;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = COMMIT;
	t.rule = "dev";
	t.next_poll_ms = now - 5000;
	assert_ok(zh_store_task_upsert(&id, x->store, &t, now, &err), &err);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, id);
	assert_string_equal(t.status, "running");
	assert_false(t.final);
	assert_int_equal(t.zadig_created, ahead);
	zh_store_task_dispose(&t);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	t = get(x, id);
	assert_string_equal(t.status, "running");
	assert_false(t.final);
	zh_store_task_dispose(&t);
	assert_int_equal(x->nlogged, 0);
}

/* The lookup of a commit lists a task id the store holds for another
 * commit, made at another time (create_time, Zadig's clock) than the
 * task the store follows under that id (ids started again): the task is
 * this commit's now. */
static void lookup_takes_a_reused_id(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), old, due;
	int n = -1;

	memset(&t, 0, sizeof(t));
	t.workflow = "wf-done";
	t.task_id = 3;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = "fedcba9876543210fedcba9876543210fedcba98";
	t.rule = "dev";
	t.status = "passed";
	t.final = true;
	assert_ok(zh_store_task_upsert(&old, x->store, &t, now, &err), &err);
	t.workflow = "wf-good";
	t.task_id = 1;
	t.commit = COMMIT;
	t.status = "running";
	t.final = false;
	t.next_poll_ms = now - 5000;
	assert_ok(zh_store_task_upsert(&due, x->store, &t, now, &err), &err);
	assert_ok(set_zadig_created(x->store, old, 1000, &err), &err);
	zadig("[{\"task_id\":3,\"workflow_name\":\"wf-done\","
	      "\"status\":\"running\",\"create_time\":5000}]");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, old);
	assert_string_equal(t.commit, COMMIT);
	assert_string_equal(t.status, "running");
	assert_null(t.rule);
	assert_false(t.final);
	assert_int_equal(t.zadig_created, 5000);
	zh_store_task_dispose(&t);
}

/* The same task is listed by the lookup of another commit than the one
 * it was made for: a product create names only a branch, so a task made
 * for one commit (a queued trigger sent after a later push) builds the
 * branch's head; repositories sharing a store share Zadig's tasks. With
 * nothing to tell it from another task of the id (the same create_time,
 * or one side's unknown) it stays its commit's, rule and all: that
 * commit's note was stuck on it. */
static void lookup_leaves_another_commits_task(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), same, unknown, due;
	int n = -1;

	memset(&t, 0, sizeof(t));
	t.workflow = "wf-done";
	t.task_id = 3;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = "fedcba9876543210fedcba9876543210fedcba98";
	t.rule = "dev";
	t.status = "running";
	t.next_poll_ms = now + 60000;
	assert_ok(zh_store_task_upsert(&same, x->store, &t, now, &err), &err);
	assert_ok(set_zadig_created(x->store, same, 1000, &err), &err);
	t.workflow = "wf-new";
	assert_ok(zh_store_task_upsert(&unknown, x->store, &t, now, &err),
		  &err);
	t.workflow = "wf-good";
	t.task_id = 1;
	t.commit = COMMIT;
	t.next_poll_ms = now - 5000;
	assert_ok(zh_store_task_upsert(&due, x->store, &t, now, &err), &err);
	zadig("[{\"task_id\":3,\"workflow_name\":\"wf-done\","
	      "\"status\":\"passed\",\"create_time\":1000},"
	      "{\"task_id\":3,\"workflow_name\":\"wf-new\","
	      "\"status\":\"passed\",\"create_time\":2000}]");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
	t = get(x, same);
	assert_string_equal(t.commit,
			    "fedcba9876543210fedcba9876543210fedcba98");
	assert_string_equal(t.rule, "dev");
	assert_string_equal(t.status, "running");
	assert_int_equal(t.zadig_created, 1000);
	zh_store_task_dispose(&t);
	t = get(x, unknown);
	assert_string_equal(t.commit,
			    "fedcba9876543210fedcba9876543210fedcba98");
	assert_string_equal(t.rule, "dev");
	assert_string_equal(t.status, "running");
	zh_store_task_dispose(&t);
}

/* What another process does to the store while a task's detail is
 * being read: run once Zadig is asked for path. */
struct meanwhile {
	struct fx *x;
	const char *path;
	void (*run)(struct meanwhile *m);
	int64_t id;
	pthread_t th;
};

static void *meanwhile_main(void *p)
{
	struct meanwhile *m = p;
	int i;

	for (i = 0; i < 1000 && stub_asked("GET", m->path) == 0; i++)
		stub_sleep_ms(5);
	m->run(m);
	return NULL;
}

/* Start m; Zadig answers the detail at m->path (status passed) only
 * delay_ms after it is asked, when m has run. */
static void meanwhile_start(struct meanwhile *m, long delay_ms)
{
	stub_route("GET", m->path, 200, -1, delay_ms,
		   "{\"task_id\":1,\"status\":\"passed\"}");
	assert_int_equal(pthread_create(&m->th, NULL, meanwhile_main, m), 0);
}

/* state_keep: the settled tasks of a day ago are forgotten */
static void prune(struct meanwhile *m)
{
	struct zh_error err = {0};
	int64_t n = 0;

	assert_ok(
	    zh_store_prune(&n, m->x->store, zh_store_now_ms() - 86400000, &err),
	    &err);
	assert_int_equal(n, 1);
}

/* `git zadig sync --all` polls every task, finished ones too; a prune
 * of another process (state_keep) forgets a finished one while its
 * detail is read: it is skipped, where the round failed ('no task N',
 * exit 1) after it had polled every task. */
static void a_task_forgotten_while_polled(void **state)
{
	struct fx *x = *state;
	struct meanwhile m = {x, DETAIL "wf-a", prune, 0, 0};
	struct zh_store_task_list l = {0};
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), old, ids[NANSWERS];
	int n = -1;

	memset(&t, 0, sizeof(t));
	t.workflow = "wf-a";
	t.task_id = 1;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = "fedcba9876543210fedcba9876543210fedcba98";
	t.rule = "dev";
	t.status = "passed";
	t.final = true;
	assert_ok(zh_store_task_upsert(&old, x->store, &t,
				       now - 30 * 86400000LL, &err),
		  &err);
	assert_ok(zh_store_tasks_of_commit(&l, x->store, "g/r", t.commit, &err),
		  &err);
	assert_ok(zh_store_mark_noted(x->store, NULL, &l, &err), &err);
	zh_store_task_list_dispose(&l);
	add_tasks(x, ids, now - 5000);
	meanwhile_start(&m, 300);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	pthread_join(m.th, NULL);
	assert_int_equal(zh_store_task_get(&t, x->store, old, &err),
			 ZH_ENOTFOUND);
	t = get(x, ids[2]);
	assert_string_equal(t.status, "passed");
	zh_store_task_dispose(&t);
}

/* `git zadig sync --all` in cron asks Zadig about every task, finished
 * ones too: one that says what it said before has not changed, and is
 * forgotten once state_keep after it ended, where every such poll made
 * it new again and the store kept it for ever. */
static void a_finished_task_polled_again_ages(void **state)
{
	struct fx *x = *state;
	struct zh_store_task_list l = {0};
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), id, n = -1;
	int polled = -1;

	memset(&t, 0, sizeof(t));
	t.workflow = "wf-good";
	t.task_id = 1;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = COMMIT;
	t.rule = "dev";
	t.status = "passed";
	t.extra = "";
	t.final = true;
	assert_ok(zh_store_task_upsert(&id, x->store, &t, now - 30 * 86400000LL,
				       &err),
		  &err);
	assert_ok(zh_store_tasks_of_commit(&l, x->store, "g/r", COMMIT, &err),
		  &err);
	assert_ok(zh_store_mark_noted(x->store, NULL, &l, &err), &err);
	zh_store_task_list_dispose(&l);
	assert_ok(zh_flow_poll(&polled, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	assert_int_equal(polled, 1);
	assert_int_equal(details(2), 1);
	t = get(x, id);
	assert_int_equal(t.updated_ms, now - 30 * 86400000LL);
	zh_store_task_dispose(&t);
	assert_ok(zh_store_prune(&n, x->store, now - 86400000, &err), &err);
	assert_int_equal(n, 1);
}

/* The round's lookup of one commit lists a task id it then polls for
 * another commit, made at another time (Zadig's ids started again): the
 * task is the first commit's now, and the poll of the older one (the
 * round read it before) writes nothing on it, where it wrote 'unknown'
 * (final) onto the new task and the first commit's note never showed its
 * end. */
static void
a_task_reused_in_the_round_is_not_polled_as_the_old_one(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), old, due;
	int n = -1;

	memset(&t, 0, sizeof(t));
	t.workflow = "wf-done";
	t.task_id = 3;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = "fedcba9876543210fedcba9876543210fedcba98";
	t.rule = "dev";
	t.status = "running";
	t.next_poll_ms = now - 4000;
	assert_ok(zh_store_task_upsert(&old, x->store, &t, now, &err), &err);
	assert_ok(set_zadig_created(x->store, old, 1000, &err), &err);
	t.workflow = "wf-good";
	t.task_id = 1;
	t.commit = COMMIT;
	t.next_poll_ms = now - 5000;
	assert_ok(zh_store_task_upsert(&due, x->store, &t, now, &err), &err);
	zadig("[{\"task_id\":3,\"workflow_name\":\"wf-done\","
	      "\"status\":\"running\",\"create_time\":5000}]");
	stub_route("GET", "/api/directory/workflowTask/id/3/pipelines/wf-done",
		   200, -1, 0,
		   "{\"task_id\":3,\"workflow_name\":\"wf-done\","
		   "\"status\":\"running\",\"create_time\":5000}");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, old);
	assert_string_equal(t.commit, COMMIT);
	assert_string_equal(t.status, "running");
	assert_false(t.final);
	assert_int_equal(t.zadig_created, 5000);
	zh_store_task_dispose(&t);
	assert_int_equal(x->nlogged, 0);
}

/* Another process records a create's answer naming the id of a task
 * being polled, for another commit (Zadig's ids started again): the new
 * task becomes that row, and the poll under way writes nothing on it,
 * where it wrote the older task's status and create_time. */
static void replace(struct meanwhile *m)
{
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t id = 0;

	memset(&t, 0, sizeof(t));
	t.workflow = "wf-a";
	t.task_id = 1;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = "fedcba9876543210fedcba9876543210fedcba98";
	t.rule = "dev";
	t.next_poll_ms = zh_store_now_ms() + 60000;
	t.poll_interval_ms = 10000;
	assert_ok(zh_store_task_created(&id, m->x->store, &t, zh_store_now_ms(),
					&err),
		  &err);
	assert_int_equal(id, m->id);
}

static void a_task_replaced_while_polled(void **state)
{
	struct fx *x = *state;
	struct meanwhile m = {x, DETAIL "wf-a", replace, 0, 0};
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms();
	int n = -1;

	memset(&t, 0, sizeof(t));
	t.workflow = "wf-a";
	t.task_id = 1;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = COMMIT;
	t.rule = "dev";
	t.status = "running";
	t.next_poll_ms = now - 5000;
	assert_ok(zh_store_task_upsert(&m.id, x->store, &t, now - 1000, &err),
		  &err);
	meanwhile_start(&m, 300);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	pthread_join(m.th, NULL);
	t = get(x, m.id);
	assert_string_equal(t.commit,
			    "fedcba9876543210fedcba9876543210fedcba98");
	assert_string_equal(t.status, "created");
	assert_false(t.final);
	assert_int_equal(t.zadig_created, 0);
	assert_true(t.next_poll_ms > now + 30000);
	zh_store_task_dispose(&t);
}

/* A task given up after poll.give_up_after gets one line, naming it,
 * its commit and how long it was followed; it used to turn unknown
 * without a word. */
static void a_task_given_up_is_logged(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t id, now = zh_store_now_ms();
	int n = -1;

	memset(&t, 0, sizeof(t));
	t.workflow = "wf-good";
	t.task_id = 7;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = COMMIT;
	t.rule = "dev";
	t.status = "running";
	/* not due (within its interval): only the give-up */
	t.next_poll_ms = now + 3600000;
	t.poll_interval_ms = 3600000;
	assert_ok(
	    zh_store_task_upsert(&id, x->store, &t, now - 25 * 3600000LL, &err),
	    &err);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, id);
	assert_string_equal(t.status, "unknown");
	zh_store_task_dispose(&t);
	assert_int_equal(x->nlogged, 1);
	assert_contains(x->logged[0], "gave up on wf-good #7 of g/r "
				      "refs/heads/main 0123456789ab:");
	assert_contains(x->logged[0], " 25h00m after ");
	assert_contains(x->logged[0], "poll.give_up_after");
	/* once */
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(x->nlogged, 1);
}

/* Task 1 of wf-p, of COMMIT, with the rule dev, due: status, final and
 * extra as given. Zadig's detail of it is the seed's, without task id,
 * times or url (status passed). */
static int64_t add_product(struct fx *x, const char *status, bool final,
			   const char *extra)
{
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t id, now = zh_store_now_ms();

	stub_route("GET", DETAIL "wf-p", 200, -1, 0,
		   "{\"workflow_name\":\"wf-p\",\"env_name\":\"\","
		   "\"targets\":[],\"images\":[],\"test_reports\":[],"
		   "\"status\":\"passed\"}");
	memset(&t, 0, sizeof(t));
	t.workflow = "wf-p";
	t.task_id = 1;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = COMMIT;
	t.rule = "dev";
	t.status = (char *)status;
	t.final = final;
	t.extra = (char *)extra;
	t.next_poll_ms = now - 5000;
	assert_ok(zh_store_task_upsert(&id, x->store, &t, now, &err), &err);
	return id;
}

/* A commitId lookup entry of task 1 of wf-p, as Zadig sends it (no
 * workflow name: the url has it). */
#define P_ENTRY(created, start, end, status)                                   \
	"{\"task_id\":1,\"create_time\":" #created ",\"start_time\":" #start   \
	",\"end_time\":" #end ",\"status\":\"" status "\",\"url\":"            \
	"\"http://z/v1/projects/detail/p/pipelines/multi/wf-p/1\"}"

/* Zadig's product task detail names no times: the round's lookup of the
 * commit listed the task running, the detail says it ended, and one
 * lookup more has its times: the note gets its duration, the store the
 * time Zadig made it. */
static void a_product_tasks_duration_comes_from_the_lookup(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t id;
	int n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 200, 1, 0,
		   "[" P_ENTRY(100, 110, 0, "running") "]");
	stub_route("GET", LOOKUP, 200, -1, 0,
		   "[" P_ENTRY(100, 110, 146, "passed") "]");
	id = add_product(x, "running", false, NULL);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, id);
	assert_string_equal(t.status, "passed");
	assert_string_equal(t.extra, "duration=36s");
	assert_int_equal(t.zadig_created, 100);
	zh_store_task_dispose(&t);
	assert_int_equal(stub_asked("GET", LOOKUP), 2);
	assert_int_equal(x->nlogged, 0);
}

/* The round's lookup listed the task ended: no second lookup. */
static void a_product_task_listed_ended_is_not_looked_up_again(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t id;
	int n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 200, -1, 0,
		   "[" P_ENTRY(100, 110, 146, "passed") "]");
	id = add_product(x, "running", false, NULL);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, id);
	assert_string_equal(t.extra, "duration=36s");
	zh_store_task_dispose(&t);
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
	/* `git zadig status --live`: the same */
	assert_ok(zh_flow_refresh_commit(&x->f, "g/r", COMMIT, &err), &err);
	t = get(x, id);
	assert_string_equal(t.extra, "duration=36s");
	zh_store_task_dispose(&t);
	assert_int_equal(stub_asked("GET", LOOKUP), 2);
}

/* v1.18+ has no lookup: no times, so no duration (none is made up), and
 * no lookup is sent for it once the server's was switched off. */
static void without_the_lookup_a_product_task_has_no_duration(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t id;
	int n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 500, -1, 0,
		   "{\"message\":\"Internal Error: \",\"code\":500,"
		   "\"description\":\"Invalid path\"}");
	id = add_product(x, "running", false, NULL);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, id);
	assert_string_equal(t.status, "passed");
	assert_true(t.final);
	assert_string_equal(t.extra, "");
	assert_int_equal(t.zadig_created, 0);
	zh_store_task_dispose(&t);
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
	assert_int_equal(x->nlogged, 1);
	assert_contains(x->logged[0], "has no commitId lookup");
}

/* `git zadig sync --all` polls a finished task again when the lookup no
 * longer lists it (a day later): its duration stays, and no lookup is
 * sent for it. */
static void a_finished_product_task_keeps_its_duration(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t id;
	int n = -1;

	id = add_product(x, "passed", true, "duration=36s tests=24/24");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	t = get(x, id);
	assert_string_equal(t.extra, "duration=36s");
	zh_store_task_dispose(&t);
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
	/* without the round's lookup (it failed): none either */
	stub_reset();
	add_product(x, "passed", true, "tests=24/24 duration=5s");
	stub_route("GET", LOOKUP, 502, -1, 0, "%s", "");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	t = get(x, id);
	assert_string_equal(t.extra, "duration=5s");
	zh_store_task_dispose(&t);
	/* the round's (and its retries) */
	assert_true(stub_asked("GET", LOOKUP) >= 1);
}

/* The lookup names another create_time for a product task's id than
 * the store keeps for it (Zadig's ids started again): the task polled is
 * another one, as with the custom details, which carry it. */
static void a_product_task_made_at_another_time_is_another_task(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t id;
	int n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 200, -1, 0,
		   "[" P_ENTRY(500, 510, 546, "passed") "]");
	id = add_product(x, "running", false, NULL);
	assert_ok(set_zadig_created(x->store, id, 100, &err), &err);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, id);
	assert_string_equal(t.status, "unknown");
	assert_true(t.final);
	assert_int_equal(t.zadig_created, 100);
	zh_store_task_dispose(&t);
	assert_true(x->nlogged >= 1);
	assert_contains(x->logged[0], "is another task now");
}

/* Task 1 of wf, of COMMIT, with the rule dev and project (may be NULL):
 * status, final and extra as given, recorded ago_s seconds ago, Zadig's
 * create_time of it zadig_created (0: none), due. Zadig's detail of it
 * is the seed's, with status says. */
static int64_t add_old(struct fx *x, const char *wf, const char *project,
		       const char *status, bool final, const char *extra,
		       int64_t ago_s, int64_t zadig_created, const char *says)
{
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t id, now = zh_store_now_ms();
	char path[128];

	snprintf(path, sizeof(path), DETAIL "%s", wf);
	stub_route("GET", path, 200, -1, 0,
		   "{\"workflow_name\":\"%s\",\"env_name\":\"\","
		   "\"targets\":[],\"images\":[],\"test_reports\":[],"
		   "\"status\":\"%s\"}",
		   wf, says);
	memset(&t, 0, sizeof(t));
	t.workflow = (char *)wf;
	t.task_id = 1;
	t.project = (char *)project;
	t.repo = "g/r";
	t.ref = "refs/heads/main";
	t.commit = COMMIT;
	t.rule = "dev";
	t.status = (char *)status;
	t.final = final;
	t.extra = (char *)extra;
	t.next_poll_ms = now - 5000;
	assert_ok(
	    zh_store_task_upsert(&id, x->store, &t, now - ago_s * 1000, &err),
	    &err);
	if (zadig_created)
		assert_ok(set_zadig_created(x->store, id, zadig_created, &err),
			  &err);
	return id;
}

/* Zadig's ids started again and the id of a task of ours went to a task
 * of another commit: Zadig's product task detail names neither the
 * commit nor when Zadig made it, but the lookup of our commit, which
 * listed our task (its create_time is kept), lists it no more, ten
 * minutes after Zadig made it. What the detail says is another task's:
 * ours is "unknown" (it had not ended) or keeps its end, reused=1, is
 * logged and is not asked about again. (The detail's status went onto
 * our commit's note.) */
static void a_task_the_lookup_lists_no_more_is_another_task(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t run, done, made = zh_store_now_ms() / 1000 - 600;
	int n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 200, -1, 0, "[]");
	run = add_old(x, "wf-r", NULL, "running", false, NULL, 600, made,
		      "passed");
	done = add_old(x, "wf-d", NULL, "failed", true,
		       "duration=36s tests=20/24", 600, made, "failed");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	assert_int_equal(n, 2);
	t = get(x, run);
	assert_string_equal(t.status, "unknown");
	assert_true(t.final);
	assert_string_equal(t.extra, "reused=1");
	zh_store_task_dispose(&t);
	t = get(x, done);
	assert_string_equal(t.status, "failed");
	assert_string_equal(t.extra, "duration=36s tests=20/24 reused=1");
	zh_store_task_dispose(&t);
	assert_int_equal(x->nlogged, 2);
	assert_contains(x->logged[0], " #1 of 0123456789ab is another task "
				      "now (the commitId lookup of the "
				      "commit lists it no more");
	assert_int_equal(stub_asked("GET", DETAIL "*"), 2);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	assert_int_equal(n, 0);
	assert_int_equal(stub_asked("GET", DETAIL "*"), 2);
	/* `git zadig status --live` neither */
	assert_ok(zh_flow_refresh_commit(&x->f, "g/r", COMMIT, &err), &err);
	assert_int_equal(stub_asked("GET", DETAIL "*"), 2);
	t = get(x, run);
	assert_string_equal(t.status, "unknown");
	zh_store_task_dispose(&t);
	/* an action on the id (`git zadig retry`, cancel, approve) follows
	 * it again, as asked */
	assert_ok(zh_store_task_repoll(x->store, "wf-r", false, 1, NULL, 10000,
				       zh_store_now_ms(), &err),
		  &err);
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(n, 1);
	t = get(x, run);
	assert_string_equal(t.status, "passed");
	assert_string_equal(t.extra, "");
	zh_store_task_dispose(&t);
}

/* A task of ours Zadig made over a day ago is no lookup's, ids started
 * again or not: nothing tells. It ended passed, and the detail of the
 * id says failed: the end is kept (only a lookup listing it, or a
 * restart, `git zadig retry`, takes another), and the log says so; the
 * same status is written as ever. A task polling gave up on ("unknown")
 * takes what Zadig says. */
static void a_task_that_ended_keeps_its_end(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t made = zh_store_now_ms() / 1000 - 30 * 3600;
	int64_t other, same, gave_up;
	int n = -1;

	other = add_old(x, "wf-o", NULL, "passed", true,
			"duration=36s tests=24/24", 30 * 3600, made, "failed");
	same = add_old(x, "wf-s", NULL, "passed", true, "duration=36s",
		       30 * 3600, made, "passed");
	gave_up = add_old(x, "wf-u", NULL, "unknown", true, NULL, 30 * 3600,
			  made, "passed");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	assert_int_equal(n, 3);
	t = get(x, other);
	assert_string_equal(t.status, "passed");
	assert_string_equal(t.extra, "duration=36s tests=24/24");
	zh_store_task_dispose(&t);
	t = get(x, same);
	assert_string_equal(t.status, "passed");
	assert_string_equal(t.extra, "duration=36s");
	zh_store_task_dispose(&t);
	t = get(x, gave_up);
	assert_string_equal(t.status, "passed");
	assert_true(t.final);
	zh_store_task_dispose(&t);
	assert_int_equal(x->nlogged, 1);
	assert_contains(x->logged[0], "wf-o #1 of 0123456789ab: zadig says "
				      "failed, the task ended passed: kept");
	/* asked again: the same */
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	t = get(x, other);
	assert_string_equal(t.status, "passed");
	zh_store_task_dispose(&t);
}

/* A task that ended, restarted in Zadig (not by `git zadig retry`): the
 * lookup of its commit lists it, made when ours was, so the detail is
 * ours, running again. */
static void a_task_restarted_in_zadig_is_followed(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	long long made = (long long)(zh_store_now_ms() / 1000 - 3600);
	int64_t id;
	int n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 200, -1, 0,
		   "[{\"task_id\":1,\"create_time\":%lld,\"start_time\":%lld,"
		   "\"end_time\":0,\"status\":\"running\",\"url\":\"http://z/"
		   "v1/projects/detail/p/pipelines/multi/wf-p/1\"}]",
		   made, made + 5);
	id = add_old(x, "wf-p", NULL, "failed", true, "duration=36s", 3600,
		     made, "running");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	t = get(x, id);
	assert_string_equal(t.status, "running");
	assert_false(t.final);
	zh_store_task_dispose(&t);
	assert_int_equal(x->nlogged, 0);
}

/* The lookup is asked with one project of the commit's tasks: it may not
 * list the tasks of another, which are not taken for another's then. */
static void a_lookup_of_another_project_tells_nothing(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t made = zh_store_now_ms() / 1000 - 600, a, b;
	bool p1;
	int n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 200, -1, 0, "[]");
	a = add_old(x, "wf-a", "p1", "running", false, NULL, 600, made,
		    "running");
	b = add_old(x, "wf-b", "p2", "running", false, NULL, 600, made,
		    "running");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
	p1 = stub_asked_query("GET", LOOKUP,
			      "commitId=" COMMIT "&projectName=p1") == 1;
	t = get(x, a);
	assert_string_equal(t.status, p1 ? "unknown" : "running");
	zh_store_task_dispose(&t);
	t = get(x, b);
	assert_string_equal(t.status, p1 ? "running" : "unknown");
	zh_store_task_dispose(&t);
}

/* The commitId lookup fails (a 403 for a token of no admin, a proxy's
 * 502): once in a round is enough. The tasks of a commit whose lookup
 * failed do not each ask again for their times, nor do other commits
 * ask again in that round: 15 tasks that ended, of two commits, cost one
 * lookup a round (they cost 17, every `git zadig sync --all`). */
static void a_failed_lookup_is_not_asked_again_in_the_round(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms(), ids[10];
	char wf[16];
	int i, n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 403, -1, 0, "%s", "");
	for (i = 0; i < 10; i++) {
		snprintf(wf, sizeof(wf), "wf-%d", i);
		ids[i] = add_old(x, wf, NULL, "passed", true, "tests=1/1", 60,
				 0, "passed");
	}
	/* half of them of another commit */
	for (i = 10; i < 15; i++) {
		char path[128];

		snprintf(wf, sizeof(wf), "wf-%d", i);
		snprintf(path, sizeof(path), DETAIL "%s", wf);
		stub_route("GET", path, 200, -1, 0,
			   "{\"workflow_name\":\"%s\",\"status\":"
			   "\"passed\"}",
			   wf);
		memset(&t, 0, sizeof(t));
		t.workflow = wf;
		t.task_id = 1;
		t.repo = "g/r";
		t.commit = "fedcba9876543210fedcba9876543210fedcba98";
		t.rule = "dev";
		t.status = "passed";
		t.final = true;
		assert_ok(zh_store_task_upsert(NULL, x->store, &t, now, &err),
			  &err);
	}
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	assert_int_equal(n, 15);
	assert_int_equal(stub_asked("GET", LOOKUP), 1);
	assert_int_equal(stub_asked("GET", DETAIL "*"), 15);
	assert_int_equal(x->f.tally.unpolled, 1);
	t = get(x, ids[0]);
	assert_string_equal(t.status, "passed");
	zh_store_task_dispose(&t);
	/* the next round asks again, once */
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_ALL, &err), &err);
	assert_int_equal(stub_asked("GET", LOOKUP), 2);
	/* `git zadig status --live` of a commit: once */
	assert_ok(zh_flow_refresh_commit(&x->f, "g/r", COMMIT, &err), &err);
	assert_int_equal(stub_asked("GET", LOOKUP), 3);
}

/* The round's lookup of the commit listed three tasks running; they
 * ended since, and the first of their own lookups fails: the others do
 * not ask. */
static void a_failed_lookup_for_times_is_not_asked_again(void **state)
{
	struct fx *x = *state;
	struct zh_error err = {0};
	char body[1024];
	size_t len = 0;
	int i, n = -1;

	stub_reset();
	len += (size_t)snprintf(body + len, sizeof(body) - len, "[");
	for (i = 0; i < 3; i++)
		len += (size_t)snprintf(
		    body + len, sizeof(body) - len,
		    "%s{\"task_id\":1,\"create_time\":100,\"start_time\":110,"
		    "\"end_time\":0,\"status\":\"running\",\"url\":\"http://z/"
		    "v1/projects/detail/p/pipelines/multi/wf-%d/1\"}",
		    i ? "," : "", i);
	snprintf(body + len, sizeof(body) - len, "]");
	stub_route("GET", LOOKUP, 200, 1, 0, "%s", body);
	stub_route("GET", LOOKUP, 403, -1, 0, "%s", "");
	for (i = 0; i < 3; i++) {
		char wf[16];

		snprintf(wf, sizeof(wf), "wf-%d", i);
		add_old(x, wf, NULL, "running", false, NULL, 60, 0, "passed");
	}
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	assert_int_equal(n, 3);
	assert_int_equal(stub_asked("GET", LOOKUP), 2);
}

/* The lookup lists the task ended otherwise than its detail says (the
 * detail failed, the lookup passed 110 to 146: a lookup row of another
 * run): no duration is taken from it (it gave duration=36s). */
static void a_duration_only_from_a_row_of_the_same_status(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t id;
	int n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 200, -1, 0,
		   "[" P_ENTRY(100, 110, 146, "passed") "]");
	id = add_old(x, "wf-p", NULL, "running", false, NULL, 60, 0, "failed");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, id);
	assert_string_equal(t.status, "failed");
	assert_string_equal(t.extra, "");
	zh_store_task_dispose(&t);
	/* one lookup more asked whether it ended so since: no */
	assert_int_equal(stub_asked("GET", LOOKUP), 2);
}

/* The lookup lists two tasks of the id for the commit (Zadig's ids
 * started again within its day, and both built the commit): the one made
 * when the store says ours was is ours, whichever comes first; with no
 * time kept, neither is (no duration, no create_time). (The first was
 * taken: ours looked another task.) */
static void of_two_rows_of_the_id_the_one_made_when_ours_was(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t kept;
	int n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 200, -1, 0,
		   "[" P_ENTRY(100, 110, 130, "passed") "," P_ENTRY(
		       500, 510, 546, "passed") "]");
	kept =
	    add_old(x, "wf-p", NULL, "running", false, NULL, 60, 500, "passed");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, kept);
	assert_string_equal(t.status, "passed");
	assert_string_equal(t.extra, "duration=36s");
	assert_int_equal(t.zadig_created, 500);
	zh_store_task_dispose(&t);
	assert_int_equal(x->nlogged, 0);
}

static void of_two_rows_of_the_id_none_when_ours_has_no_time(void **state)
{
	struct fx *x = *state;
	struct zh_store_task t;
	struct zh_error err = {0};
	int64_t unsure;
	int n = -1;

	stub_reset();
	stub_route("GET", LOOKUP, 200, -1, 0,
		   "[" P_ENTRY(100, 110, 130, "passed") "," P_ENTRY(
		       500, 510, 546, "passed") "]");
	unsure =
	    add_old(x, "wf-p", NULL, "running", false, NULL, 60, 0, "passed");
	assert_ok(zh_flow_poll(&n, &x->f, ZH_STORE_TASKS_DUE, &err), &err);
	t = get(x, unsure);
	assert_string_equal(t.status, "passed");
	assert_string_equal(t.extra, "");
	assert_int_equal(t.zadig_created, 0);
	zh_store_task_dispose(&t);
	assert_int_equal(x->nlogged, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		a_reply_without_status_fails_only_its_task, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		refresh_goes_past_a_reply_without_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_lookup_entry_with_an_empty_status,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(a_task_given_up_is_logged, setup,
					    teardown),
	    cmocka_unit_test(task_extra_counts),
	    cmocka_unit_test_setup_teardown(lookup_names_the_project, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(one_lookup_per_commit, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(lookup_leaves_known_tasks_alone,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(a_task_made_later_is_another_task,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(zadig_clock_ahead_is_the_same_task,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(lookup_takes_a_reused_id, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(lookup_leaves_another_commits_task,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(a_task_forgotten_while_polled,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		a_task_reused_in_the_round_is_not_polled_as_the_old_one, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(a_task_replaced_while_polled, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(a_finished_task_polled_again_ages,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		a_product_tasks_duration_comes_from_the_lookup, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		a_product_task_listed_ended_is_not_looked_up_again, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		without_the_lookup_a_product_task_has_no_duration, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		a_finished_product_task_keeps_its_duration, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		a_product_task_made_at_another_time_is_another_task, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		a_task_the_lookup_lists_no_more_is_another_task, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(a_task_that_ended_keeps_its_end,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		a_task_restarted_in_zadig_is_followed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		a_lookup_of_another_project_tells_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		a_failed_lookup_is_not_asked_again_in_the_round, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		a_failed_lookup_for_times_is_not_asked_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		a_duration_only_from_a_row_of_the_same_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		of_two_rows_of_the_id_the_one_made_when_ours_was, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		of_two_rows_of_the_id_none_when_ours_has_no_time, setup,
		teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
