#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>

#include "gitfix.h"
#include "gitrepo/gitrepo.h"
#include "gitrepo/notes.h"
#include "util/error.h"

#include "util/banned.h"

/* Fail with the library's message, not just its code. */
#define assert_ok(call)                                                        \
	do {                                                                   \
		int rc_ = (call);                                              \
		if (rc_ != 0)                                                  \
			fail_msg("%s: %d %s", #call, rc_, err.msg);            \
	} while (0)

static int setup(void **state)
{
	*state = fx_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	fx_rmrf(*state);
	free(*state);
	return 0;
}

/* ---- lines ----------------------------------------------------------- */

/* parse then format gives the line back */
static void round_trip(const char *line)
{
	struct zh_error err = {0};
	struct zh_note_line l;
	char *s = NULL;

	assert_ok(zh_note_line_parse(&l, line, strlen(line), &err));
	assert_ok(zh_note_line_format(&s, &l, &err));
	assert_string_equal(s, line);
	free(s);
	zh_note_line_dispose(&l);
}

static void not_a_task_line(const char *line)
{
	struct zh_error err = {0};
	struct zh_note_line l;

	if (zh_note_line_parse(&l, line, strlen(line), &err) != ZH_EINVALID)
		fail_msg("parsed as a task line: '%s'", line);
	assert_null(l.status);
	assert_int_equal(l.nfields, 0);
}

static void line_parse_format(void **state)
{
	struct zh_error err = {0};
	struct zh_note_line l;
	const char *s;
	char *out = NULL;

	(void)state;
	s = "passed voting-dev #49 http://zadig.example.com/v1/projects/"
	    "detail/voting/pipelines/multi/voting-dev/49?display_name=x "
	    "duration=36s tests=24/24 rule=dev";
	assert_ok(zh_note_line_parse(&l, s, strlen(s), &err));
	assert_string_equal(l.status, "passed");
	assert_string_equal(l.workflow, "voting-dev");
	assert_int_equal(l.task_id, 49);
	assert_int_equal(l.nfields, 3);
	assert_string_equal(l.fields[1].key, "tests");
	assert_string_equal(l.fields[1].value, "24/24");
	assert_string_equal(zh_note_line_get(&l, "rule"), "dev");
	assert_null(zh_note_line_get(&l, "nope"));
	zh_note_line_dispose(&l);
	zh_note_line_dispose(NULL);
	round_trip(s);

	s = "queued build #- - rule=dev";
	assert_ok(zh_note_line_parse(&l, s, strlen(s), &err));
	assert_int_equal(l.task_id, -1);
	assert_string_equal(l.url, "-");
	zh_note_line_dispose(&l);
	round_trip(s);

	s = "rejected build #- - error=\"6540 bad \\\"x\\\" \\\\ y\" rule=dev";
	assert_ok(zh_note_line_parse(&l, s, strlen(s), &err));
	assert_string_equal(l.fields[0].value, "6540 bad \"x\" \\ y");
	zh_note_line_dispose(&l);
	round_trip(s);
	round_trip("unknown wf #0 https://z/0");
	round_trip("created wf #3 zadig+https://z/3");
	round_trip("passed wf #12 https://z/12 note=\"\" k=a=b");

	/* a trailing CR is not part of the line */
	s = "passed wf #1 http://z/1\r";
	assert_ok(zh_note_line_parse(&l, s, strlen(s), &err));
	assert_string_equal(l.url, "http://z/1");
	zh_note_line_dispose(&l);

	not_a_task_line("");
	not_a_task_line("Reviewed-by: Bob");
	not_a_task_line("looks good #1 to me");
	not_a_task_line("merged via #3 today");
	not_a_task_line("merged via #3 :// x=http://y");
	not_a_task_line("passed wf #1 http:// a=b");
	not_a_task_line("passed wf #1  http://z/1");
	not_a_task_line("passed wf #1 http://z/1 ");
	not_a_task_line("passed wf #x http://z/1");
	not_a_task_line("passed wf #12a http://z/1");
	not_a_task_line("passed wf 12 http://z/1");
	not_a_task_line("passed wf #1 http://z/1 novalue");
	not_a_task_line("passed wf #1 http://z/1 e=\"open");
	not_a_task_line("passed wf #1 http://z/1 e=\"a\\n\"");
	not_a_task_line("passed wf #1 http://z/1 e=\"a\"b");
	not_a_task_line("passed wf #99999999999999999999 http://z/1");

	/* building a line: values are quoted, control characters go */
	{
		struct zh_note_field f[2] = {{"error", "6540 not\nfound \"x\""},
					     {"rule", "dev"}};
		struct zh_note_line b = {"rejected", "build", -1, NULL, f, 2};

		assert_ok(zh_note_line_format(&out, &b, &err));
		assert_string_equal(out, "rejected build #- - error=\"6540 not "
					 "found \\\"x\\\"\" rule=dev");
		free(out);
		b.status = "Bad status";
		assert_int_equal(zh_note_line_format(&out, &b, &err),
				 ZH_EINVALID);
		assert_null(out);
		assert_string_equal(err.msg, "bad task status 'Bad status'");
		b.status = "passed";
		b.url = "not-an-url";
		assert_int_equal(zh_note_line_format(&out, &b, &err),
				 ZH_EINVALID);
		b.url = NULL;
		b.workflow = "two words";
		assert_int_equal(zh_note_line_format(&out, &b, &err),
				 ZH_EINVALID);
		b.workflow = "build";
		f[1].key = "bad key";
		assert_int_equal(zh_note_line_format(&out, &b, &err),
				 ZH_EINVALID);
	}
}

/* ---- merge ----------------------------------------------------------- */

static struct zh_note_line L(const char *status, const char *wf, long long id,
			     const char *url, struct zh_note_field *f,
			     size_t nf) {
	struct zh_note_line l = {(char *)status, (char *)wf, id,
				 (char *)url,	 f,	     nf};

	return l;
}

static void
merge_expect(const char *old, const struct zh_note_line *lines, size_t n,
	     const char *want, bool want_changed)
{
	struct zh_error err = {0};
	char *out = NULL;
	bool changed;

	assert_ok(zh_note_merge(&out, &changed, old, lines, n, &err));
	assert_string_equal(out, want);
	if (changed != want_changed)
		fail_msg("changed is %d for '%s'", changed, want);
	free(out);
}

/* Statuses as Zadig names them: notRun, wait_for_approval,
 * debug_before... (zadig-api-notes.md); still one word of letters,
 * digits, '_' and '-'. */
static void line_zadig_statuses(void **state)
{
	static const char *const good[] = {"notRun",
					   "wait_for_approval",
					   "waitforapprove",
					   "debug_before",
					   "wait_for_manual_error_handling",
					   "Passed",
					   "RUNNING",
					   "x-1"};
	static const char *const bad[] = {
	    "not run", "", "a\tb", "a\x7f", "a/b", "a.b", "\xc3\xa9t\xc3\xa9"};
	struct zh_error err = {0};
	struct zh_note_line b = {NULL, "wf", 7, "http://z/7", NULL, 0};
	struct zh_note_line l;
	char line[128], *out = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		b.status = (char *)good[i];
		assert_ok(zh_note_line_format(&out, &b, &err));
		snprintf(line, sizeof(line), "%s wf #7 http://z/7", good[i]);
		assert_string_equal(out, line);
		free(out);
		assert_ok(zh_note_line_parse(&l, line, strlen(line), &err));
		assert_string_equal(l.status, good[i]);
		zh_note_line_dispose(&l);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b.status = (char *)bad[i];
		out = NULL;
		if (zh_note_line_format(&out, &b, &err) != ZH_EINVALID)
			fail_msg("status '%s' formatted", bad[i]);
		assert_null(out);
		snprintf(line, sizeof(line), "%s wf #7 http://z/7", bad[i]);
		not_a_task_line(line);
	}
	/* a newer status replaces the line of the task, whatever its case */
	b.status = "notRun";
	merge_expect("running wf #7 http://z/7\n", &b, 1,
		     "notRun wf #7 http://z/7\n", true);
	merge_expect("notRun wf #7 http://z/7\n", &b, 1,
		     "notRun wf #7 http://z/7\n", false);
}

static void merge_rules(void **state)
{
	struct zh_note_field dev[] = {{"rule", "dev"}};
	struct zh_note_field prod[] = {{"rule", "prod"}};
	struct zh_note_field done[] = {{"duration", "36s"}, {"rule", "dev"}};
	struct zh_note_field rej[] = {{"error", "6540 workflow not found"},
				      {"rule", "dev"}};
	struct zh_note_line l[4];

	(void)state;
	/* nothing to merge */
	merge_expect(NULL, NULL, 0, "", false);
	merge_expect("free text", NULL, 0, "free text", false);

	/* a new line */
	l[0] = L("created", "wf", 49, "http://z/49", dev, 1);
	merge_expect(NULL, l, 1, "created wf #49 http://z/49 rule=dev\n", true);
	merge_expect("", l, 1, "created wf #49 http://z/49 rule=dev\n", true);

	/* a newer status replaces the line of the task */
	l[0] = L("passed", "wf", 49, "http://z/49", done, 2);
	merge_expect("running wf #49 http://z/49 rule=dev\n", l, 1,
		     "passed wf #49 http://z/49 duration=36s rule=dev\n", true);

	/* the same line again changes nothing, the text stays as it was */
	l[0] = L("running", "wf", 49, "http://z/49", dev, 1);
	merge_expect("running wf #49 http://z/49 rule=dev", l, 1,
		     "running wf #49 http://z/49 rule=dev", false);

	/* sorted by workflow, then task id as a number */
	l[0] = L("passed", "b", 10, "http://z/b10", NULL, 0);
	l[1] = L("passed", "b", 9, "http://z/b9", NULL, 0);
	l[2] = L("failed", "a", 30, "http://z/a30", NULL, 0);
	merge_expect("running c #1 http://z/c1\n", l, 3,
		     "failed a #30 http://z/a30\n"
		     "passed b #9 http://z/b9\n"
		     "passed b #10 http://z/b10\n"
		     "running c #1 http://z/c1\n",
		     true);

	/* the task replaces the queued line of its rule only */
	l[0] = L("created", "wf", 50, "http://z/50", dev, 1);
	merge_expect("queued wf #- - rule=dev\nqueued wf #- - rule=prod\n", l,
		     1,
		     "queued wf #- - rule=prod\n"
		     "created wf #50 http://z/50 rule=dev\n",
		     true);

	/* rejected replaces queued of the same rule */
	l[0] = L("rejected", "wf", -1, "-", rej, 2);
	merge_expect("queued wf #- - rule=dev\n", l, 1,
		     "rejected wf #- - error=\"6540 workflow not found\" "
		     "rule=dev\n",
		     true);

	/* queued after the task exists is stale */
	l[0] = L("queued", "wf", -1, NULL, dev, 1);
	merge_expect("passed wf #50 http://z/50 rule=dev\n", l, 1,
		     "passed wf #50 http://z/50 rule=dev\n", false);
	l[0] = L("queued", "wf", -1, NULL, prod, 1);
	merge_expect("passed wf #50 http://z/50 rule=dev\n", l, 1,
		     "queued wf #- - rule=prod\n"
		     "passed wf #50 http://z/50 rule=dev\n",
		     true);

	/* queued then the task in one merge */
	l[0] = L("queued", "wf", -1, NULL, dev, 1);
	l[1] = L("created", "wf", 51, "http://z/51", dev, 1);
	merge_expect(NULL, l, 2, "created wf #51 http://z/51 rule=dev\n", true);

	/* unknown lines stay, after the tasks, in their order; blank lines
	 * go */
	l[0] = L("passed", "a", 1, "http://z/a1", NULL, 0);
	merge_expect("Reviewed by Bob\n\npassed b #2 http://z/b2\n"
		     "looks good #1 to me\n",
		     l, 1,
		     "passed a #1 http://z/a1\n"
		     "passed b #2 http://z/b2\n"
		     "Reviewed by Bob\n"
		     "looks good #1 to me\n",
		     true);

	/* a later line of one merge wins */
	l[0] = L("running", "wf", 7, "http://z/7", NULL, 0);
	l[1] = L("passed", "wf", 7, "http://z/7", NULL, 0);
	merge_expect(NULL, l, 2, "passed wf #7 http://z/7\n", true);

	/* a bad line fails the merge */
	{
		struct zh_error err = {0};
		char *out = (char *)1;
		bool ch;

		l[0] = L("passed", "", 7, "http://z/7", NULL, 0);
		assert_int_equal(zh_note_merge(&out, &ch, NULL, l, 1, &err),
				 ZH_EINVALID);
		assert_null(out);
	}
}

/* A product and a custom workflow may share a name, and Zadig numbers
 * their tasks apart: wf #1 of each are two tasks (the store keeps
 * (workflow, custom, task id)), told apart by kind=custom. Product
 * first. */
static void merge_kinds(void **state)
{
	struct zh_note_field dev[] = {{"rule", "dev"}};
	struct zh_note_field cust[] = {{"kind", "custom"}, {"rule", "cust"}};
	struct zh_note_line l[3];
	const char *both = "passed wf #1 http://z/p1 rule=dev\n"
			   "running wf #1 http://z/c1 kind=custom rule=cust\n";

	(void)state;
	/* the custom task's line does not replace the product task's */
	l[0] = L("running", "wf", 1, "http://z/c1", cust, 2);
	merge_expect("passed wf #1 http://z/p1 rule=dev\n", l, 1, both, true);
	merge_expect(both, l, 1, both, false);
	/* nor the other way round, and the product line goes first */
	l[0] = L("passed", "wf", 1, "http://z/p1", dev, 1);
	merge_expect("running wf #1 http://z/c1 kind=custom rule=cust\n", l, 1,
		     both, true);
	/* each replaces its own line */
	l[0] = L("failed", "wf", 1, "http://z/c1", cust, 2);
	l[1] = L("passed", "wf", 1, "http://z/p1", dev, 1);
	merge_expect(both, l, 2,
		     "passed wf #1 http://z/p1 rule=dev\n"
		     "failed wf #1 http://z/c1 kind=custom rule=cust\n",
		     true);
	/* both from nothing, in either order, and each queued line goes */
	l[0] = L("queued", "wf", -1, NULL, cust + 1, 1);
	l[1] = L("running", "wf", 1, "http://z/c1", cust, 2);
	l[2] = L("passed", "wf", 1, "http://z/p1", dev, 1);
	merge_expect("queued wf #- - rule=dev\n", l, 3, both, true);
	merge_expect(NULL, l + 1, 2, both, true);
	/* sorted by workflow, task id, then kind */
	l[0] = L("running", "wf", 2, "http://z/c2", cust, 2);
	merge_expect(both, l, 1,
		     "passed wf #1 http://z/p1 rule=dev\n"
		     "running wf #1 http://z/c1 kind=custom rule=cust\n"
		     "running wf #2 http://z/c2 kind=custom rule=cust\n",
		     true);
}

/* Found by fuzz/fuzz_notes: lines that undo each other's change (two
 * answers for one task in a batch, merged again on top of a writer that
 * already wrote the same result) change nothing, so no notes commit. */
static void merge_undone(void **state)
{
	struct zh_note_line l[2];

	(void)state;
	l[0] = L("running", "wf", 7, "http://z/7", NULL, 0);
	l[1] = L("passed", "wf", 7, "http://z/7", NULL, 0);
	merge_expect("passed wf #7 http://z/7\n", l, 2,
		     "passed wf #7 http://z/7\n", false);
	/* a text that is not in order yet does change */
	merge_expect("passed wf #7 http://z/7\npassed a #1 http://z/a1\n", l, 2,
		     "passed a #1 http://z/a1\npassed wf #7 http://z/7\n",
		     true);
}

/* ---- repositories ---------------------------------------------------- */

static char *make_repo(const char *tmp, char **ids, size_t n)
{
	char *dir = fx_path(tmp, "repo");
	size_t i;

	free(fx_git(tmp, "init", "-q", "-b", "main", dir, NULL));
	for (i = 0; i < n; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%zu", i);
		fx_write(dir, name, name);
		ids[i] = fx_commit(dir, name);
	}
	return dir;
}

static void add(struct zh_notes_batch *b, const char *hex,
		const struct zh_note_line *l, size_t n)
{
	struct zh_error err = {0};

	assert_ok(zh_notes_batch_add(b, hex, l, n, &err));
}

static void expect_note(const char *dir, const char *hex, const char *want)
{
	char *got = fx_git(dir, "notes", "--ref=zadig", "show", hex, NULL);

	assert_string_equal(got, want);
	free(got);
}

static void commit_new_ref(void **state)
{
	struct zh_error err = {0};
	struct zh_notes_batch *b = NULL;
	struct zh_repo *r = NULL;
	struct zh_note_field dev[] = {{"rule", "dev"}};
	struct zh_note_line l[2];
	char *ids[2], *dir, *s, *text = NULL;

	dir = make_repo(*state, ids, 2);
	assert_ok(zh_repo_open(&r, dir, false, &err));
	/* no notes ref yet */
	assert_ok(zh_notes_read(&text, r, NULL, ids[0], &err));
	assert_null(text);
	assert_int_equal(zh_notes_read(&text, r, NULL, "abc", &err),
			 ZH_EINVALID);
	assert_int_equal(zh_notes_read(&text, r, "bad..ref", ids[0], &err),
			 ZH_EINVALID);

	assert_ok(zh_notes_batch_new(&b, &err));
	/* nothing queued: no commit */
	assert_ok(zh_notes_commit(r, "zadig", b, NULL, &err));
	assert_string_equal(zh_notes_batch_commit_id(b), "");
	l[0] = L("created", "voting-dev", 49, "http://z/49", dev, 1);
	l[1] = L("queued", "voting-prod", -1, NULL, NULL, 0);
	add(b, ids[0], l, 2);
	assert_int_equal(zh_notes_batch_add(b, "xyz", l, 1, &err), ZH_EINVALID);
	assert_int_equal(zh_notes_batch_len(b), 1);
	assert_ok(zh_notes_commit(r, "zadig", b, "zadig-hook: notes", &err));
	assert_int_equal(zh_notes_batch_changed(b), 1);
	assert_int_equal(strlen(zh_notes_batch_commit_id(b)), 40);

	s = fx_git(dir, "rev-parse", "refs/notes/zadig", NULL);
	assert_string_equal(s, zh_notes_batch_commit_id(b));
	free(s);
	expect_note(dir, ids[0],
		    "created voting-dev #49 http://z/49 rule=dev\n"
		    "queued voting-prod #- -");
	s = fx_git(dir, "log", "--notes=zadig", "-1", ids[0], NULL);
	assert_non_null(strstr(s, "Notes (zadig):\n    created voting-dev "
				  "#49 http://z/49 rule=dev\n    queued "
				  "voting-prod #- -"));
	free(s);
	s = fx_git(dir, "log", "-1", "--format=%an <%ae>|%P|%s",
		   "refs/notes/zadig", NULL);
	assert_string_equal(s, "zadig-hook <zadig-hook@localhost>||"
			       "zadig-hook: notes");
	free(s);
	s = fx_git(dir, "fsck", "--no-progress", NULL);
	free(s);

	/* the same reads through the library, by each ref spelling */
	assert_ok(zh_notes_read(&text, r, "refs/notes/zadig", ids[0], &err));
	assert_string_equal(text, "created voting-dev #49 http://z/49 "
				  "rule=dev\nqueued voting-prod #- -\n");
	free(text);
	assert_ok(zh_notes_read(&text, r, NULL, ids[1], &err));
	assert_null(text);

	zh_notes_batch_free(b);
	zh_notes_batch_free(NULL);
	zh_repo_free(r);
	free(ids[0]);
	free(ids[1]);
	free(dir);
}

/* A lock file left on the notes ref by a writer that was killed: once
 * five minutes old it is removed and the update goes through; a fresh
 * one (a writer at work) is waited for, then reported as a lock, and
 * left alone. */
static void stale_lock(void **state)
{
	struct zh_error err = {0};
	struct zh_notes_batch *b = NULL;
	struct zh_repo *r = NULL;
	struct zh_note_line l[1];
	struct timespec old[2];
	char *ids[2], *dir, *lock;
	int fd;

	dir = make_repo(*state, ids, 2);
	lock = fx_path(dir, ".git/refs/notes/zadig.lock");
	assert_ok(zh_repo_open(&r, dir, false, &err));
	assert_ok(zh_notes_batch_new(&b, &err));
	l[0] = L("running", "wf", 7, "http://z/7", NULL, 0);
	add(b, ids[0], l, 1);
	assert_ok(zh_notes_commit(r, NULL, b, NULL, &err));
	zh_notes_batch_free(b);

	/* left by a killed writer an hour ago */
	fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123\n", 5), 5);
	close(fd);
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 3600;
	old[1] = old[0];
	assert_int_equal(utimensat(AT_FDCWD, lock, old, 0), 0);
	assert_ok(zh_notes_batch_new(&b, &err));
	l[0] = L("passed", "wf", 7, "http://z/7", NULL, 0);
	add(b, ids[0], l, 1);
	assert_ok(zh_notes_commit(r, NULL, b, NULL, &err));
	assert_int_equal(zh_notes_batch_changed(b), 1);
	assert_int_equal(access(lock, F_OK), -1);
	expect_note(dir, ids[0], "passed wf #7 http://z/7");
	zh_notes_batch_free(b);

	/* a fresh one: not ours to remove */
	fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_ok(zh_notes_batch_new(&b, &err));
	l[0] = L("created", "other", 3, "http://z/o3", NULL, 0);
	add(b, ids[1], l, 1);
	assert_int_equal(zh_notes_commit(r, NULL, b, NULL, &err), ZH_EGIT);
	assert_non_null(strstr(err.msg, "is locked: 'refs/notes/zadig.lock' "
					"exists"));
	assert_int_equal(access(lock, F_OK), 0);
	/* once it is gone, the same batch goes through */
	assert_int_equal(unlink(lock), 0);
	assert_ok(zh_notes_commit(r, NULL, b, NULL, &err));
	expect_note(dir, ids[1], "created other #3 http://z/o3");
	expect_note(dir, ids[0], "passed wf #7 http://z/7");
	zh_notes_batch_free(b);
	zh_repo_free(r);
	free(lock);
	free(ids[0]);
	free(ids[1]);
	free(dir);
}

static void two_batches(void **state)
{
	struct zh_error err = {0};
	struct zh_notes_batch *b = NULL;
	struct zh_repo *r = NULL;
	struct zh_note_field dev[] = {{"rule", "dev"}};
	struct zh_note_line l[1];
	char *ids[3], *dir, *s, first[41];
	size_t i;

	dir = make_repo(*state, ids, 3);
	assert_ok(zh_repo_open(&r, dir, false, &err));
	assert_ok(zh_notes_batch_new(&b, &err));
	l[0] = L("running", "wf", 7, "http://z/7", dev, 1);
	add(b, ids[0], l, 1);
	assert_ok(zh_notes_commit(r, NULL, b, NULL, &err));
	snprintf(first, sizeof(first), "%s", zh_notes_batch_commit_id(b));
	zh_notes_batch_free(b);

	/* the compare-and-swap also works on a packed ref */
	free(fx_git(dir, "pack-refs", "--all", NULL));
	assert_ok(zh_notes_batch_new(&b, &err));
	l[0] = L("passed", "wf", 7, "http://z/7", dev, 1);
	add(b, ids[0], l, 1);
	l[0] = L("created", "other", 3, "http://z/o3", NULL, 0);
	add(b, ids[1], l, 1);
	assert_ok(zh_notes_commit(r, NULL, b, NULL, &err));
	assert_int_equal(zh_notes_batch_changed(b), 2);
	s = fx_git(dir, "rev-parse", "refs/notes/zadig^", NULL);
	assert_string_equal(s, first);
	free(s);
	s = fx_git(dir, "rev-list", "--count", "refs/notes/zadig", NULL);
	assert_string_equal(s, "2");
	free(s);
	s = fx_git(dir, "log", "-1", "--format=%s", "refs/notes/zadig", NULL);
	assert_string_equal(s, "Notes added by zadig-hook");
	free(s);
	expect_note(dir, ids[0], "passed wf #7 http://z/7 rule=dev");
	expect_note(dir, ids[1], "created other #3 http://z/o3");
	zh_notes_batch_free(b);

	/* the same again: nothing changes, no commit */
	assert_ok(zh_notes_batch_new(&b, &err));
	add(b, ids[1], l, 1);
	assert_ok(zh_notes_commit(r, NULL, b, NULL, &err));
	assert_int_equal(zh_notes_batch_changed(b), 0);
	assert_string_equal(zh_notes_batch_commit_id(b), "");
	s = fx_git(dir, "rev-list", "--count", "refs/notes/zadig", NULL);
	assert_string_equal(s, "2");
	free(s);
	zh_notes_batch_free(b);
	zh_repo_free(r);
	for (i = 0; i < 3; i++)
		free(ids[i]);
	free(dir);
}

static void keeps_git_notes(void **state)
{
	struct zh_error err = {0};
	struct zh_notes_batch *b = NULL;
	struct zh_repo *r = NULL;
	struct zh_note_line l[1];
	char *ids[3], *dir, *s;
	size_t i;

	dir = make_repo(*state, ids, 3);
	free(fx_git(dir, "notes", "--ref", "zadig", "add", "-m",
		    "Reviewed by Bob", ids[0], NULL));
	free(fx_git(dir, "notes", "--ref", "zadig", "add", "-m",
		    "passed wf #2 http://z/2", ids[1], NULL));
	/* a note on a non-commit object is none of ours either */
	free(fx_git(dir, "notes", "--ref", "zadig", "add", "-m", "tree note",
		    "HEAD^{tree}", NULL));
	assert_ok(zh_repo_open(&r, dir, false, &err));
	assert_ok(zh_notes_batch_new(&b, &err));
	l[0] = L("passed", "wf", 1, "http://z/1", NULL, 0);
	add(b, ids[0], l, 1);
	add(b, ids[2], l, 1);
	assert_ok(zh_notes_commit(r, "refs/notes/zadig", b, NULL, &err));
	assert_int_equal(zh_notes_batch_changed(b), 2);
	expect_note(dir, ids[0], "passed wf #1 http://z/1\nReviewed by Bob");
	expect_note(dir, ids[1], "passed wf #2 http://z/2");
	expect_note(dir, ids[2], "passed wf #1 http://z/1");
	expect_note(dir, "HEAD^{tree}", "tree note");
	s = fx_git(dir, "rev-list", "--count", "refs/notes/zadig", NULL);
	assert_string_equal(s, "4");
	free(s);
	zh_notes_batch_free(b);
	zh_repo_free(r);
	for (i = 0; i < 3; i++)
		free(ids[i]);
	free(dir);
}

/* ---- many notes ------------------------------------------------------ */

/* n commits on main, written with libgit2 (a git process per commit
 * would take minutes); ids are malloc'd hex strings. */
static char *make_many(const char *tmp, char ***ids, size_t n)
{
	char *dir = fx_path(tmp, "many");
	git_repository *repo = NULL;
	git_treebuilder *tb = NULL;
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_reference *ref = NULL;
	git_oid tid, id;
	git_commit *parent = NULL;
	size_t i;

	free(fx_git(tmp, "init", "-q", "-b", "main", dir, NULL));
	assert_int_equal(git_repository_open(&repo, dir), 0);
	assert_int_equal(git_treebuilder_new(&tb, repo, NULL), 0);
	assert_int_equal(git_treebuilder_write(&tid, tb), 0);
	assert_int_equal(git_tree_lookup(&tree, repo, &tid), 0);
	*ids = calloc(n, sizeof(**ids));
	assert_non_null(*ids);
	for (i = 0; i < n; i++) {
		const git_commit *parents[1] = {parent};
		char msg[32];

		snprintf(msg, sizeof(msg), "c%zu\n", i);
		assert_int_equal(git_signature_new(&sig, "t", "t@e",
						   1700000000 + (long)i, 0),
				 0);
		assert_int_equal(git_commit_create(&id, repo, NULL, sig, sig,
						   NULL, msg, tree,
						   parent ? 1 : 0, parents),
				 0);
		git_signature_free(sig);
		git_commit_free(parent);
		assert_int_equal(git_commit_lookup(&parent, repo, &id), 0);
		(*ids)[i] = malloc(41);
		assert_non_null((*ids)[i]);
		git_oid_tostr((*ids)[i], 41, &id);
	}
	assert_int_equal(
	    git_reference_create(&ref, repo, "refs/heads/main", &id, 1, NULL),
	    0);
	git_reference_free(ref);
	git_commit_free(parent);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	git_repository_free(repo);
	return dir;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t count_lines(const char *s)
{
	size_t n = *s ? 1 : 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Note all of ids[0..n) on ref with status, one batch; returns seconds. */
static double note_all(struct zh_repo *r, const char *ref, char **ids, size_t n,
		       const char *status)
{
	struct zh_error err = {0};
	struct zh_notes_batch *b = NULL;
	struct zh_note_field f[] = {{"rule", "dev"}};
	double t;
	size_t i;

	assert_ok(zh_notes_batch_new(&b, &err));
	for (i = 0; i < n; i++) {
		char url[64];
		struct zh_note_line l =
		    L(status, "wf", (long long)i, url, f, 1);

		snprintf(url, sizeof(url), "http://z/%zu", i);
		add(b, ids[i], &l, 1);
	}
	t = now();
	assert_ok(zh_notes_commit(r, ref, b, NULL, &err));
	t = now() - t;
	assert_int_equal(zh_notes_batch_changed(b), n);
	zh_notes_batch_free(b);
	return t;
}

static void check_fanned_out(const char *dir, const char *ref, bool want)
{
	char *s = fx_git(dir, "ls-tree", ref, NULL);
	char *line = s;

	while (line && *line) {
		char *nl = strchr(line, '\n');
		bool dir_entry = strstr(line, " tree ") != NULL;
		char *name = strchr(line, '\t');

		assert_non_null(name);
		if (nl)
			*nl = '\0';
		assert_int_equal(dir_entry, want);
		assert_int_equal(strlen(name + 1), want ? 2 : 40);
		line = nl ? nl + 1 : NULL;
	}
	free(s);
}

/* A batch is written as one pack of whole objects: libgit2's delta
 * search, a third of the time of a large batch, is off for it (notes
 * that differ in a few characters would be deltas otherwise), and the
 * repository's configuration is left as it was. */
static void batch_pack_without_deltas(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	struct zh_notes_batch *b = NULL;
	char **ids = NULL, *dir, *pack, *out, *cfg, idx[4096] = "", big[401];
	struct zh_note_field f[] = {{"rule", big}};
	size_t n = 64, i;
	struct dirent *e;
	DIR *d;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	dir = make_many(*state, &ids, n);
	assert_ok(zh_repo_open(&r, dir, false, &err));
	assert_ok(zh_notes_batch_new(&b, &err));
	for (i = 0; i < n; i++) {
		char url[64];
		struct zh_note_line l =
		    L("passed", "wf", (long long)i, url, f, 1);

		snprintf(url, sizeof(url), "http://z/%zu", i);
		add(b, ids[i], &l, 1);
	}
	assert_ok(zh_notes_commit(r, "zadig", b, NULL, &err));
	assert_int_equal(zh_notes_batch_changed(b), n);
	zh_notes_batch_free(b);
	zh_repo_free(r);

	pack = fx_path(dir, ".git/objects/pack");
	d = opendir(pack);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".idx"))
			snprintf(idx, sizeof(idx), "%s/%s", pack, e->d_name);
	closedir(d);
	if (!*idx)
		fail_msg("no pack in %s", pack);
	out = fx_git(dir, "verify-pack", "-v", idx, NULL);
	if (strstr(out, "chain length"))
		fail_msg("the notes pack holds deltas:\n%s", out);
	assert_non_null(strstr(out, "non delta: "));
	free(out);
	cfg = fx_git(dir, "config", "--list", "--local", NULL);
	if (strstr(cfg, "pack."))
		fail_msg("the repository's configuration changed:\n%s", cfg);
	free(cfg);
	out = fx_git(dir, "notes", "--ref=zadig", "show", ids[n - 1], NULL);
	assert_non_null(strstr(out, "passed wf #63 http://z/63 rule="));
	free(out);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(pack);
	free(dir);
}

/* A batch (written through a repository of its own) into a repository
 * another user owns, which git's safe.directory = * lets in: opened as
 * the caller's was. Needs root to give the repository away. */
static void batch_in_another_users_repository(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	struct zh_notes_batch *b = NULL;
	char **ids = NULL, *dir, *out;
	const char *chown_argv[] = {"chown", "-R", "65534:65534", NULL, NULL};
	size_t n = 40, i;

	if (geteuid() != 0)
		skip();
	dir = make_many(*state, &ids, n);
	chown_argv[3] = dir;
	assert_int_equal(fx_run(NULL, NULL, chown_argv), 0);
	fx_write(*state, ".gitconfig", "[safe]\n\tdirectory = *\n");
	assert_ok(zh_repo_open(&r, dir, false, &err));
	assert_ok(zh_notes_batch_new(&b, &err));
	for (i = 0; i < n; i++) {
		char url[64];
		struct zh_note_line l =
		    L("passed", "wf", (long long)i, url, NULL, 0);

		snprintf(url, sizeof(url), "http://z/%zu", i);
		add(b, ids[i], &l, 1);
	}
	assert_ok(zh_notes_commit(r, "zadig", b, NULL, &err));
	assert_int_equal(zh_notes_batch_changed(b), n);
	zh_notes_batch_free(b);
	zh_repo_free(r);
	out = fx_git(dir, "notes", "--ref=zadig", "show", ids[n - 1], NULL);
	assert_string_equal(out, "passed wf #39 http://z/39");
	free(out);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(dir);
}

static void many_notes(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char **ids = NULL, *dir, *s, want[128], *text = NULL;
	size_t n = 2000, i;
	double t1000, t2000, tup, tone, tlast;
	static const size_t samples[] = {0, 1, 777, 1000, 1999};

	dir = make_many(*state, &ids, n);
	assert_ok(zh_repo_open(&r, dir, false, &err));

	/* 1000 notes stay flat */
	t1000 = note_all(r, "t1000", ids, 1000, "passed");
	check_fanned_out(dir, "refs/notes/t1000", false);
	/* one more fans the whole tree out */
	tone = note_all(r, "t1000", ids + 1000, 1, "passed");
	check_fanned_out(dir, "refs/notes/t1000", true);
	s = fx_git(dir, "notes", "--ref=t1000", "list", NULL);
	assert_int_equal(count_lines(s), 1001);
	free(s);
	s = fx_git(dir, "notes", "--ref=t1000", "show", ids[3], NULL);
	assert_string_equal(s, "passed wf #3 http://z/3 rule=dev");
	free(s);

	/* 2000 at once: one commit, fanned out */
	t2000 = note_all(r, NULL, ids, n, "running");
	check_fanned_out(dir, "refs/notes/zadig", true);
	s = fx_git(dir, "rev-list", "--count", "refs/notes/zadig", NULL);
	assert_string_equal(s, "1");
	free(s);
	s = fx_git(dir, "notes", "--ref=zadig", "list", NULL);
	assert_int_equal(count_lines(s), n);
	free(s);
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		snprintf(want, sizeof(want),
			 "running wf #%zu http://z/%zu "
			 "rule=dev",
			 samples[i], samples[i]);
		expect_note(dir, ids[samples[i]], want);
	}
	/* and again, every note changing in the fanned-out tree */
	tup = note_all(r, NULL, ids, n, "passed");
	s = fx_git(dir, "notes", "--ref=zadig", "list", NULL);
	assert_int_equal(count_lines(s), n);
	free(s);
	expect_note(dir, ids[1234], "passed wf #1234 http://z/1234 rule=dev");

	/* a tree git itself rewrote still reads and merges */
	free(fx_git(dir, "notes", "--ref=zadig", "add", "-f", "-m", "by git",
		    ids[5], NULL));
	assert_ok(zh_notes_read(&text, r, NULL, ids[5], &err));
	assert_string_equal(text, "by git\n");
	free(text);
	assert_ok(zh_notes_read(&text, r, NULL, ids[6], &err));
	assert_string_equal(text, "passed wf #6 http://z/6 rule=dev\n");
	free(text);
	tlast = note_all(r, NULL, ids + 5, 1, "failed");
	expect_note(dir, ids[5], "failed wf #0 http://z/0 rule=dev\nby git");
	s = fx_git(dir, "notes", "--ref=zadig", "list", NULL);
	assert_int_equal(count_lines(s), n);
	free(s);
	free(fx_git(dir, "fsck", "--no-progress", "--connectivity-only", NULL));

	print_message("zh_notes_commit: 1000 new notes %.1f ms, +1 note with "
		      "fan-out conversion %.1f ms, 2000 new notes %.1f ms, "
		      "2000 updated %.1f ms, 1 of 2000 updated %.1f ms\n",
		      t1000 * 1e3, tone * 1e3, t2000 * 1e3, tup * 1e3,
		      tlast * 1e3);
	zh_repo_free(r);
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(dir);
}

/* ---- concurrent writers ---------------------------------------------- */

/* 4 processes note the same n commits on ref at once, each its own line
 * (wf<k> #<k>); every note must end up with all 4 lines. */
static void run_writers(const char *dir, char **ids, size_t n, const char *ref)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *text = NULL;
	int go[2];
	pid_t pids[4];
	size_t i, k;

	assert_int_equal(pipe(go), 0);
	for (k = 0; k < 4; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			struct zh_notes_batch *b = NULL;
			struct zh_repo *cr = NULL;
			char wf[16], url[32], c;
			int rc;

			close(go[1]);
			/* every writer starts at once */
			if (read(go[0], &c, 1) < 0)
				_exit(3);
			snprintf(wf, sizeof(wf), "wf%zu", k);
			snprintf(url, sizeof(url), "http://z/%zu", k);
			rc = zh_repo_open(&cr, dir, false, &err);
			if (rc == 0)
				rc = zh_notes_batch_new(&b, &err);
			for (i = 0; rc == 0 && i < n; i++) {
				struct zh_note_line l =
				    L("passed", wf, (long long)k, url, NULL, 0);

				rc = zh_notes_batch_add(b, ids[i], &l, 1, &err);
			}
			if (rc == 0)
				rc = zh_notes_commit(cr, ref, b, NULL, &err);
			if (rc != 0)
				fprintf(stderr, "writer %zu: %s\n", k, err.msg);
			zh_notes_batch_free(b);
			zh_repo_free(cr);
			_exit(rc == 0 ? 0 : 1);
		}
	}
	close(go[0]);
	close(go[1]);
	for (k = 0; k < 4; k++) {
		int status;

		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_ok(zh_repo_open(&r, dir, false, &err));
	for (i = 0; i < n; i++) {
		assert_ok(zh_notes_read(&text, r, ref, ids[i], &err));
		assert_non_null(text);
		assert_string_equal(text, "passed wf0 #0 http://z/0\n"
					  "passed wf1 #1 http://z/1\n"
					  "passed wf2 #2 http://z/2\n"
					  "passed wf3 #3 http://z/3\n");
		free(text);
	}
	zh_repo_free(r);
}

static void concurrent_writers(void **state)
{
	char *ids[50], *dir, *s;
	size_t i;

	dir = make_repo(*state, ids, 50);
	/* a batch of 50 writes a pack */
	run_writers(dir, ids, 50, "zadig");
	expect_note(dir, ids[49],
		    "passed wf0 #0 http://z/0\n"
		    "passed wf1 #1 http://z/1\n"
		    "passed wf2 #2 http://z/2\n"
		    "passed wf3 #3 http://z/3");
	s = fx_git(dir, "rev-list", "--count", "refs/notes/zadig", NULL);
	assert_string_equal(s, "4");
	free(s);
	/* a batch of 3 writes loose objects */
	run_writers(dir, ids, 3, "small");
	s = fx_git(dir, "rev-list", "--count", "refs/notes/small", NULL);
	assert_string_equal(s, "4");
	free(s);
	free(fx_git(dir, "fsck", "--no-progress", NULL));
	for (i = 0; i < 50; i++)
		free(ids[i]);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(line_parse_format),
	    cmocka_unit_test(line_zadig_statuses),
	    cmocka_unit_test(merge_rules),
	    cmocka_unit_test(merge_undone),
	    cmocka_unit_test(merge_kinds),
	    cmocka_unit_test_setup_teardown(commit_new_ref, setup, teardown),
	    cmocka_unit_test_setup_teardown(two_batches, setup, teardown),
	    cmocka_unit_test_setup_teardown(stale_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(keeps_git_notes, setup, teardown),
	    cmocka_unit_test_setup_teardown(batch_pack_without_deltas, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(many_notes, setup, teardown),
	    cmocka_unit_test_setup_teardown(batch_in_another_users_repository,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_writers, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
