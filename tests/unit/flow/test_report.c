/* zh_flow_write_notes: a record the notes cannot take (its commit is not
 * a commit id: the receiver once stored a push with "after":"yy") is
 * logged once and marked noted, not retried every round forever, and
 * does not hold up the notes of the others. A line the note cannot take
 * (a status with a space) leaves out only that line, not the commit's
 * other tasks; Zadig's own statuses (notRun) are written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config/config.h"
#include "flow/report.h"
#include "gitrepo/gitrepo.h"
#include "gitrepo/notes.h"
#include "store/store.h"
#include "tests/unit/gitrepo/gitfix.h"
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
	char *dir, *state, *good;
	struct zh_config *cfg;
	struct zh_store *store;
	struct zh_repo *repo;
	struct zh_flow f;
	int bad_lines; /* log lines about the bad record */
	int lines;
	char last[1024]; /* the last log line */
};

static void log_line(void *ctx, const char *line)
{
	struct fx *x = ctx;

	x->lines++;
	snprintf(x->last, sizeof(x->last), "%s", line);
	if (strstr(line, "'yy' is not a commit id") ||
	    strstr(line, "bad task status 'not run'"))
		x->bad_lines++;
}

static void task_of(struct fx *x, const char *workflow, bool custom, int64_t id,
		    const char *status, const char *rule)
{
	struct zh_error err = {0};
	struct zh_store_task t;

	memset(&t, 0, sizeof(t));
	t.workflow = (char *)workflow;
	t.custom = custom;
	t.task_id = id;
	t.status = (char *)status;
	t.repo = "group/voting-app";
	t.ref = "refs/heads/main";
	t.commit = x->good;
	t.rule = (char *)rule;
	t.url = "http://z/t";
	assert_ok(
	    zh_store_task_upsert(NULL, x->store, &t, zh_store_now_ms(), &err),
	    &err);
}

static void task(struct fx *x, const char *workflow, int64_t id,
		 const char *status)
{
	task_of(x, workflow, false, id, status, "dev");
}

static void record(struct fx *x, const char *commit)
{
	struct zh_store_trigger_spec sp = spec_for(commit, "dev");
	struct zh_error err = {0};
	bool existed = true;
	int64_t id;

	assert_ok(zh_store_trigger_add(&id, &existed, x->store, &sp,
				       zh_store_now_ms(), &err),
		  &err);
	assert_false(existed);
}

static int setup(void **state)
{
	struct zh_error err = {0};
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->dir = fx_tmpdir();
	free(fx_git(x->dir, "init", "-q", NULL));
	fx_write(x->dir, "a.c", "a\n");
	x->good = fx_commit(x->dir, "root");
	x->state = fx_path(x->dir, ".git/zadig-state");
	assert_int_equal(mkdir(x->state, 0700), 0);
	assert_ok(zh_config_parse(&x->cfg, "t.yaml", yaml, sizeof(yaml) - 1,
				  NULL, &err),
		  &err);
	assert_ok(zh_store_open(&x->store, x->state, &err), &err);
	assert_ok(zh_repo_open(&x->repo, x->dir, false, &err), &err);
	x->f.cfg = x->cfg;
	x->f.store = x->store;
	x->f.repo = x->repo;
	x->f.log = log_line;
	x->f.log_ctx = x;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	zh_flow_dispose(&x->f);
	zh_repo_free(x->repo);
	zh_store_free(x->store);
	zh_config_free(x->cfg);
	fx_rmrf(x->dir);
	free(x->dir);
	free(x->state);
	free(x->good);
	free(x);
	return 0;
}

static void bad_commit_noted_once(void **state)
{
	struct fx *x = *state;
	struct zh_store_commit_list cl = {0};
	struct zh_error err = {0};
	char *note = NULL;
	size_t n = 0;

	record(x, "yy");
	record(x, x->good);
	assert_ok(zh_flow_write_notes(&n, &x->f, &err), &err);
	/* the good commit got its note, the bad record one log line */
	assert_int_equal(n, 1);
	assert_int_equal(x->bad_lines, 1);
	assert_ok(zh_notes_read(&note, x->repo, NULL, x->good, &err), &err);
	assert_non_null(note);
	assert_contains(note, "queued voting-workflow-dev");
	free(note);
	/* and neither is picked again */
	assert_ok(zh_store_commits_to_note(&cl, x->store, NULL, &err), &err);
	assert_int_equal(cl.len, 0);
	zh_store_commit_list_dispose(&cl);
	n = 7;
	assert_ok(zh_flow_write_notes(&n, &x->f, &err), &err);
	assert_int_equal(n, 0);
	assert_int_equal(x->bad_lines, 1);
	assert_int_equal(x->lines, 1);
}

/* Found by the audit: a task Zadig said was notRun was refused, and with
 * it every line of the commit, which was still counted as noted, so no
 * line of it was ever written again. */
static void bad_line_left_out(void **state)
{
	struct fx *x = *state;
	struct zh_store_commit_list cl = {0};
	struct zh_error err = {0};
	char *note = NULL;
	size_t n = 0;

	task(x, "wf-a", 1, "notRun");
	task(x, "wf-b", 2, "not run");
	task(x, "wf-c", 3, "passed");
	assert_ok(zh_flow_write_notes(&n, &x->f, &err), &err);
	assert_int_equal(n, 1);
	assert_ok(zh_notes_read(&note, x->repo, NULL, x->good, &err), &err);
	assert_non_null(note);
	assert_string_equal(note, "notRun wf-a #1 http://z/t rule=dev\n"
				  "passed wf-c #3 http://z/t rule=dev\n");
	free(note);
	/* the bad line is logged once, naming the task and the commit */
	assert_int_equal(x->bad_lines, 1);
	assert_int_equal(x->lines, 1);
	assert_contains(x->last, "wf-b #2");
	assert_contains(x->last, x->good);
	assert_ok(zh_store_commits_to_note(&cl, x->store, NULL, &err), &err);
	assert_int_equal(cl.len, 0);
	zh_store_commit_list_dispose(&cl);

	/* a later status of the other tasks is written as usual */
	task(x, "wf-a", 1, "passed");
	assert_ok(zh_flow_write_notes(&n, &x->f, &err), &err);
	assert_ok(zh_notes_read(&note, x->repo, NULL, x->good, &err), &err);
	assert_string_equal(note, "passed wf-a #1 http://z/t rule=dev\n"
				  "passed wf-c #3 http://z/t rule=dev\n");
	free(note);
	/* said again, as the note it is left out of was written again */
	assert_int_equal(x->lines, 2);
}

/* Found by the audit: a task line past the note's 64 KiB line limit (a
 * lookup listed a task with a 70,000-byte URL) failed every notes write
 * of the store, so no note was written any more. Such a line is left
 * out and logged, as a bad status is. */
static void long_line_left_out(void **state)
{
	struct fx *x = *state;
	struct zh_error err = {0};
	struct zh_store_task t;
	char *note = NULL, *url, *other;
	size_t n = 0;

	other = fx_commit(x->dir, "second");
	url = malloc(70001);
	assert_non_null(url);
	memcpy(url, "http://z/", 9);
	memset(url + 9, 'a', 70000 - 9);
	url[70000] = '\0';
	memset(&t, 0, sizeof(t));
	t.workflow = "other-wf";
	t.task_id = 500;
	t.status = "passed";
	t.repo = "group/voting-app";
	t.commit = x->good;
	t.url = url;
	assert_ok(
	    zh_store_task_upsert(NULL, x->store, &t, zh_store_now_ms(), &err),
	    &err);
	task(x, "wf-a", 1, "passed");
	record(x, other);
	assert_ok(zh_flow_write_notes(&n, &x->f, &err), &err);
	assert_int_equal(n, 2);
	assert_ok(zh_notes_read(&note, x->repo, NULL, x->good, &err), &err);
	assert_string_equal(note, "passed wf-a #1 http://z/t rule=dev\n");
	free(note);
	assert_ok(zh_notes_read(&note, x->repo, NULL, other, &err), &err);
	assert_non_null(note);
	assert_contains(note, "queued voting-workflow-dev");
	free(note);
	assert_int_equal(x->lines, 1);
	assert_contains(x->last, "other-wf #500 left out");
	assert_contains(x->last, "too long");
	free(url);
	free(other);
}

/* Found by the audit: a product and a custom workflow of one name, each
 * with its task #1 on the commit, shared one line: the custom task's
 * replaced the product task's. */
static void product_and_custom(void **state)
{
	struct fx *x = *state;
	struct zh_error err = {0};
	char *note = NULL;
	size_t n = 0;

	task_of(x, "wf-dev", true, 1, "running", "cust");
	task_of(x, "wf-dev", false, 1, "passed", "dev");
	assert_ok(zh_flow_write_notes(&n, &x->f, &err), &err);
	assert_ok(zh_notes_read(&note, x->repo, NULL, x->good, &err), &err);
	assert_non_null(note);
	assert_string_equal(
	    note, "passed wf-dev #1 http://z/t rule=dev\n"
		  "running wf-dev #1 http://z/t kind=custom rule=cust\n");
	free(note);
	task_of(x, "wf-dev", true, 1, "failed", "cust");
	assert_ok(zh_flow_write_notes(&n, &x->f, &err), &err);
	assert_ok(zh_notes_read(&note, x->repo, NULL, x->good, &err), &err);
	assert_string_equal(
	    note, "passed wf-dev #1 http://z/t rule=dev\n"
		  "failed wf-dev #1 http://z/t kind=custom rule=cust\n");
	free(note);
	assert_int_equal(x->lines, 0);
}

static void final_noted_task(struct fx *x, int64_t id)
{
	struct zh_error err = {0};
	struct zh_store_task t;

	memset(&t, 0, sizeof(t));
	t.workflow = "wf";
	t.task_id = id;
	t.status = "passed";
	t.final = true;
	t.repo = "group/voting-app";
	t.commit = x->good;
	t.rule = "dev";
	assert_ok(
	    zh_store_task_upsert(NULL, x->store, &t, zh_store_now_ms(), &err),
	    &err);
	assert_ok(zh_flow_write_notes(NULL, &x->f, &err), &err);
}

/* zh_flow_prune forgets what settled longer than state_keep ago, at most
 * once per hour (or per state_keep when shorter) for the store, whoever
 * asks; a clock set back does not stop it; state_keep 0 keeps all. */
static void prune_once_per_period(void **state)
{
	struct fx *x = *state;
	struct zh_error err = {0};
	int64_t n = -1, now = zh_store_now_ms() + 10000;
	char *note = NULL;

	x->f.repo_name = "group/voting-app";
	final_noted_task(x, 1);
	x->cfg->poll.give_up_after_ms = 1000;
	x->cfg->state_keep_ms = 0;
	assert_ok(zh_flow_prune(&n, &x->f, now, &err), &err);
	assert_int_equal(n, 0);
	x->cfg->state_keep_ms = 1000;
	assert_ok(zh_flow_prune(&n, &x->f, now, &err), &err);
	assert_int_equal(n, 1);
	assert_string_equal(x->last, "store: forgot 1 settled triggers and "
				     "tasks older than state_keep");
	assert_ok(zh_notes_read(&note, x->repo, NULL, x->good, &err), &err);
	assert_non_null(note);
	assert_non_null(strstr(note, "passed wf #1 "));
	free(note);

	final_noted_task(x, 2);
	assert_ok(zh_flow_prune(&n, &x->f, now + 999, &err), &err);
	assert_int_equal(n, 0); /* not yet again */
	assert_ok(zh_flow_prune(&n, &x->f, now + 1000, &err), &err);
	assert_int_equal(n, 1);
	/* the clock set back a day: it prunes (nothing that old) and goes on */
	final_noted_task(x, 3);
	assert_ok(zh_flow_prune(&n, &x->f, now - 86400000, &err), &err);
	assert_int_equal(n, 0);
	assert_ok(zh_flow_prune(&n, &x->f, now - 86400000 + 1000, &err), &err);
	assert_int_equal(n, 0);
	assert_ok(zh_flow_prune(&n, &x->f, now + 2000, &err), &err);
	assert_int_equal(n, 1);
}

/* A trigger or task is kept at least poll.give_up_after, state_keep
 * shorter or not: a push the poller keeps spooled that long must find
 * its rows, or its triggers would be recorded and sent again. */
static void prune_keeps_give_up_after(void **state)
{
	struct fx *x = *state;
	struct zh_error err = {0};
	int64_t n = -1, now = zh_store_now_ms();

	x->f.repo_name = "group/voting-app";
	final_noted_task(x, 1);
	x->cfg->state_keep_ms = 1000;
	x->cfg->poll.give_up_after_ms = 60000;
	assert_ok(zh_flow_prune(&n, &x->f, now + 10000, &err), &err);
	assert_int_equal(n, 0);
	assert_ok(zh_flow_prune(&n, &x->f, now + 70000, &err), &err);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(bad_commit_noted_once, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(bad_line_left_out, setup, teardown),
	    cmocka_unit_test_setup_teardown(long_line_left_out, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(product_and_custom, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(prune_once_per_period, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(prune_keeps_give_up_after, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
