#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "gitfix.h"
#include "gitrepo/gitrepo.h"
#include "gitrepo/notes.h"
#include "gitrepo/notes_push.h"
#include "util/error.h"

#include "util/banned.h"

extern char **environ;

/* Fail with the library's message, not just its code. */
#define assert_ok(call)                                                        \
	do {                                                                   \
		int rc_ = (call);                                              \
		if (rc_ != 0)                                                  \
			fail_msg("%s: %d %s", #call, rc_, err.msg);            \
	} while (0)

/* origin.git (bare) with commits A, B, C on main; work and other are
 * clones of it, as two writers of the notes would have. */
struct fx {
	char *tmp, *origin, *work, *other;
	char *id[3];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *seed;
	size_t i;

	assert_non_null(f);
	f->tmp = fx_tmpdir();
	f->origin = fx_path(f->tmp, "origin.git");
	f->work = fx_path(f->tmp, "work");
	f->other = fx_path(f->tmp, "other");
	seed = fx_path(f->tmp, "seed");
	free(fx_git(f->tmp, "init", "-q", "--bare", "-b", "main", f->origin,
		    NULL));
	free(fx_git(f->tmp, "init", "-q", "-b", "main", seed, NULL));
	for (i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "f%zu", i);
		fx_write(seed, name, name);
		f->id[i] = fx_commit(seed, name);
	}
	free(fx_git(seed, "push", "-q", f->origin, "main", NULL));
	free(fx_git(f->tmp, "clone", "-q", f->origin, f->work, NULL));
	free(fx_git(f->tmp, "clone", "-q", f->origin, f->other, NULL));
	free(seed);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	size_t i;

	fx_rmrf(f->tmp);
	for (i = 0; i < 3; i++)
		free(f->id[i]);
	free(f->tmp);
	free(f->origin);
	free(f->work);
	free(f->other);
	free(f);
	return 0;
}

/* Note "<status> <wf> #<id> http://z/<id>" on commit hex of dir's
 * refs/notes/zadig, through the library like the receiver does. */
static void note(const char *dir, const char *hex, const char *status,
		 const char *wf, long long id)
{
	struct zh_error err = {0};
	struct zh_notes_batch *b = NULL;
	struct zh_repo *r = NULL;
	struct zh_note_line l = {0};
	char url[64];

	snprintf(url, sizeof(url), "http://z/%lld", id);
	l.status = (char *)status;
	l.workflow = (char *)wf;
	l.task_id = id;
	l.url = url;
	assert_ok(zh_repo_open(&r, dir, false, &err));
	assert_ok(zh_notes_batch_new(&b, &err));
	assert_ok(zh_notes_batch_add(b, hex, &l, 1, &err));
	assert_ok(zh_notes_commit(r, NULL, b, NULL, &err));
	zh_notes_batch_free(b);
	zh_repo_free(r);
}

/* A note written with git itself (a person, or another tool). */
static void git_note(const char *dir, const char *hex, const char *text)
{
	fx_write(dir, "../note.txt", text);
	free(fx_git(dir, "notes", "--ref=zadig", "add", "-f", "-F",
		    "../note.txt", hex, NULL));
}

static void expect_note(const char *dir, const char *hex, const char *want)
{
	char *got = fx_git(dir, "notes", "--ref=zadig", "show", hex, NULL);

	assert_string_equal(got, want);
	free(got);
}

static char *ref_of(const char *dir)
{
	return fx_git(dir, "rev-parse", "refs/notes/zadig", NULL);
}

static bool has_ref(const char *dir)
{
	const char *argv[] = {
	    "git", "-C", dir, "rev-parse", "--verify", "-q", "refs/notes/zadig",
	    NULL};

	return fx_run(NULL, NULL, argv) == 0;
}

static void push(const char *dir, const char *remote)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;

	assert_ok(zh_repo_open(&r, dir, false, &err));
	assert_ok(zh_notes_push(NULL, r, NULL, remote, NULL, NULL, &err));
	zh_repo_free(r);
}

static void is_ancestor(const char *dir, const char *a, const char *b)
{
	free(fx_git(dir, "merge-base", "--is-ancestor", a, b, NULL));
}

/* ---- a remote without notes ------------------------------------------ */

static void push_new_ref(void **state)
{
	struct fx *f = *state;
	char *w, *o, *url;

	/* nothing to push */
	push(f->work, "origin");
	assert_false(has_ref(f->origin));

	note(f->work, f->id[0], "passed", "wf", 1);
	push(f->work, "origin");
	expect_note(f->origin, f->id[0], "passed wf #1 http://z/1");
	w = ref_of(f->work);
	o = ref_of(f->origin);
	assert_string_equal(w, o);
	free(o);

	/* again, by path and by file:// url: nothing changes */
	push(f->work, "origin");
	push(f->work, f->origin);
	assert_non_null(url = malloc(strlen(f->origin) + 8));
	snprintf(url, strlen(f->origin) + 8, "file://%s", f->origin);
	push(f->work, url);
	o = ref_of(f->origin);
	assert_string_equal(w, o);
	free(o);
	free(w);
	free(url);
	free(fx_git(f->origin, "fsck", "--no-progress", NULL));
}

/* The pack a push sends holds whole objects: libgit2's delta search is
 * off for notes (pack_config.c). Three long notes that differ in a few
 * characters would be deltas otherwise. */
static void push_without_deltas(void **state)
{
	struct fx *f = *state;
	char text[512], *pack = fx_path(f->origin, "objects/pack"), *out;
	struct dirent *e;
	size_t i, packs = 0;
	DIR *d;

	for (i = 0; i < 3; i++) {
		memset(text, 'x', 400);
		snprintf(text + 400, sizeof(text) - 400, " note %zu\n", i);
		git_note(f->work, f->id[i], text);
	}
	push(f->work, "origin");
	d = opendir(pack);
	assert_non_null(d);
	while ((e = readdir(d))) {
		char idx[4096];
		size_t n = strlen(e->d_name);

		if (n < 4 || strcmp(e->d_name + n - 4, ".idx") != 0)
			continue;
		snprintf(idx, sizeof(idx), "%s/%s", pack, e->d_name);
		out = fx_git(f->origin, "verify-pack", "-v", idx, NULL);
		if (strstr(out, "chain length"))
			fail_msg("a pushed pack holds deltas:\n%s", out);
		free(out);
		packs++;
	}
	closedir(d);
	assert_true(packs > 0);
	out = fx_git(f->origin, "notes", "--ref=zadig", "show", f->id[2], NULL);
	assert_non_null(strstr(out, " note 2"));
	free(out);
	free(pack);
}

/* Lock files a pusher killed midway left on the refs a push writes (the
 * remote's notes fetched, the merge's own ref, the notes ref, and the
 * notes ref of a remote on this machine, written directly): once stale,
 * each goes and the push goes through. */
static void stale_locks(void **state)
{
	static const char *const locks[] = {
	    "work/.git/refs/zadig-hook/remote-notes.lock",
	    "work/.git/refs/zadig-hook/notes-rebuild.lock",
	    "work/.git/refs/notes/zadig.lock",
	    "origin.git/refs/notes/zadig.lock"};
	struct fx *f = *state;
	struct timespec old[2];
	size_t i;

	note(f->other, f->id[0], "passed", "wf-other", 1);
	free(
	    fx_git(f->other, "push", "-q", "origin", "refs/notes/zadig", NULL));
	note(f->work, f->id[1], "passed", "wf", 5);
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 3600;
	old[1] = old[0];
	for (i = 0; i < sizeof(locks) / sizeof(*locks); i++) {
		char *p = fx_path(f->tmp, locks[i]);

		fx_write(f->tmp, locks[i], "0123\n");
		assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
		free(p);
	}
	push(f->work, "origin");
	expect_note(f->origin, f->id[0], "passed wf-other #1 http://z/1");
	expect_note(f->origin, f->id[1], "passed wf #5 http://z/5");
	expect_note(f->work, f->id[0], "passed wf-other #1 http://z/1");
	for (i = 0; i < sizeof(locks) / sizeof(*locks); i++) {
		char *p = fx_path(f->tmp, locks[i]);

		assert_int_equal(access(p, F_OK), -1);
		free(p);
	}
}

/* A notes ref a writer holds locked (a fresh lock file: a git process
 * writing it, or one killed less than 5 minutes ago) is said to be
 * locked, and by which file, as the notes code says it of the local ref:
 * the remote's ref was "rejected: the remote ref changed meanwhile
 * (after 5 tries)", tried 5 times in quick succession, and the local one
 * "kept changing". */
static void locked_refs(void **state)
{
	static const char why[] =
	    "' exists (a git process writing it, or one that was killed: "
	    "such a lock is removed once 5 minutes old)";
	struct fx *f = *state;
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *lock = fx_path(f->origin, "refs/notes/zadig.lock");
	char *mine = fx_path(f->work, ".git/refs/notes/zadig.lock");
	char want[1024], url[1024];
	int rc;

	note(f->work, f->id[0], "passed", "wf", 1);
	fx_write(f->origin, "refs/notes/zadig.lock", "0123\n");
	assert_ok(zh_repo_open(&r, f->work, false, &err));
	snprintf(want, sizeof(want),
		 "notes ref 'refs/notes/zadig' is locked: '%s%s", lock, why);
	rc = zh_notes_push(NULL, r, NULL, "origin", NULL, NULL, &err);
	assert_int_equal(rc, ZH_EGIT);
	assert_string_equal(err.msg, want);
	snprintf(url, sizeof(url), "file://%s", f->origin);
	rc = zh_notes_push(NULL, r, NULL, url, NULL, NULL, &err);
	assert_int_equal(rc, ZH_EGIT);
	assert_string_equal(err.msg, want);
	assert_false(has_ref(f->origin));
	/* the writer is done: the push goes through */
	assert_int_equal(unlink(lock), 0);
	push(f->work, "origin");
	expect_note(f->origin, f->id[0], "passed wf #1 http://z/1");

	/* the local ref locked when the remote's notes are to be taken */
	free(fx_git(f->other, "fetch", "-q", "origin",
		    "+refs/notes/zadig:refs/notes/zadig", NULL));
	note(f->other, f->id[1], "passed", "wf-other", 2);
	free(
	    fx_git(f->other, "push", "-q", "origin", "refs/notes/zadig", NULL));
	fx_write(f->work, ".git/refs/notes/zadig.lock", "0123\n");
	rc = zh_notes_push(NULL, r, NULL, "origin", NULL, NULL, &err);
	assert_int_equal(rc, ZH_EGIT);
	snprintf(want, sizeof(want),
		 "notes ref 'refs/notes/zadig' is locked: "
		 "'refs/notes/zadig.lock%s",
		 why);
	assert_string_equal(err.msg, want);
	assert_int_equal(unlink(mine), 0);
	push(f->work, "origin");
	expect_note(f->work, f->id[1], "passed wf-other #2 http://z/2");
	zh_repo_free(r);
	free(lock);
	free(mine);
}

/* What a push did: the receiver logged "pushed" when there was no local
 * notes ref at all (nothing was pushed). */
static void push_says_what_it_did(void **state)
{
	struct fx *f = *state;
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	enum zh_notes_pushed did = ZH_NOTES_PUSHED_SENT;

	assert_ok(zh_repo_open(&r, f->work, false, &err));
	assert_ok(zh_notes_push(&did, r, NULL, "origin", NULL, NULL, &err));
	assert_int_equal(did, ZH_NOTES_PUSHED_NONE);
	/* the remote has notes, we have none: taken, nothing pushed */
	note(f->other, f->id[0], "passed", "wf-other", 1);
	free(
	    fx_git(f->other, "push", "-q", "origin", "refs/notes/zadig", NULL));
	assert_ok(zh_notes_push(&did, r, NULL, "origin", NULL, NULL, &err));
	assert_int_equal(did, ZH_NOTES_PUSHED_NONE);
	note(f->work, f->id[1], "passed", "wf", 2);
	assert_ok(zh_notes_push(&did, r, NULL, "origin", NULL, NULL, &err));
	assert_int_equal(did, ZH_NOTES_PUSHED_SENT);
	assert_ok(zh_notes_push(&did, r, NULL, "origin", NULL, NULL, &err));
	assert_int_equal(did, ZH_NOTES_PUSHED_UP_TO_DATE);
	zh_repo_free(r);
}

/* Notes another process took away from the notes ref (a `git fetch
 * --prune` into a mirror deletes it, or resets it to the remote's) come
 * back from the commit we wrote; a ref that moved on from it is left. */
static void restore_lost_notes(void **state)
{
	struct fx *f = *state;
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char ours[41], theirs[41], head[41];
	bool restored = true;
	char *id;
	int rc;

	assert_ok(zh_repo_open(&r, f->work, false, &err));
	note(f->work, f->id[0], "passed", "wf", 1);
	assert_ok(zh_notes_head(ours, sizeof(ours), r, NULL, &err));
	assert_int_equal(strlen(ours), 40);
	/* at ours: nothing to do */
	assert_ok(zh_notes_restore(&restored, r, NULL, ours, &err));
	assert_false(restored);

	/* deleted: back at ours */
	free(fx_git(f->work, "update-ref", "-d", "refs/notes/zadig", NULL));
	assert_ok(zh_notes_head(head, sizeof(head), r, NULL, &err));
	assert_string_equal(head, "");
	assert_ok(zh_notes_restore(&restored, r, NULL, ours, &err));
	assert_true(restored);
	assert_ok(zh_notes_head(head, sizeof(head), r, NULL, &err));
	assert_string_equal(head, ours);

	/* moved on (a newer note on top): left alone */
	note(f->work, f->id[1], "running", "wf", 2);
	assert_ok(zh_notes_head(head, sizeof(head), r, NULL, &err));
	assert_ok(zh_notes_restore(&restored, r, NULL, ours, &err));
	assert_false(restored);
	id = ref_of(f->work);
	assert_string_equal(id, head);
	free(id);

	/* reset to another writer's notes, which lack ours: ours's lines
	 * go on top of theirs, theirs stay */
	note(f->other, f->id[1], "failed", "wf-other", 7);
	note(f->other, f->id[2], "passed", "wf-other", 8);
	id = ref_of(f->other);
	snprintf(theirs, sizeof(theirs), "%s", id);
	free(id);
	free(fx_git(f->work, "fetch", "-q", f->other,
		    "+refs/notes/zadig:refs/notes/zadig", NULL));
	assert_ok(zh_notes_restore(&restored, r, NULL, head, &err));
	assert_true(restored);
	expect_note(f->work, f->id[0], "passed wf #1 http://z/1");
	expect_note(f->work, f->id[1],
		    "running wf #2 http://z/2\nfailed wf-other #7 http://z/7");
	expect_note(f->work, f->id[2], "passed wf-other #8 http://z/8");
	is_ancestor(f->work, theirs, "refs/notes/zadig");

	/* a commit that is gone cannot be put back */
	rc = zh_notes_restore(&restored, r, NULL,
			      "0123456789abcdef0123456789abcdef01234567", &err);
	assert_int_equal(rc, ZH_ENOTFOUND);
	assert_false(restored);
	assert_non_null(strstr(err.msg, "is no longer in the repository"));
	rc = zh_notes_restore(&restored, r, NULL, "xyz", &err);
	assert_int_equal(rc, ZH_EINVALID);
	zh_repo_free(r);
}

/* ---- a remote with another writer's notes ---------------------------- */

static void merge_remote_notes(void **state)
{
	struct fx *f = *state;
	char *third = fx_path(f->tmp, "third");
	char *theirs, *w, *o;

	/* another clone noted A, and B with a person's remark */
	note(f->other, f->id[0], "passed", "wf-other", 1);
	git_note(f->other, f->id[1],
		 "running wf #5 http://z/5\nchecked by alice\n");
	free(
	    fx_git(f->other, "push", "-q", "origin", "refs/notes/zadig", NULL));
	theirs = ref_of(f->other);

	/* the receiver: the same task of B (newer), another task of B, C */
	note(f->work, f->id[1], "passed", "wf", 5);
	note(f->work, f->id[1], "passed", "wf", 6);
	note(f->work, f->id[2], "passed", "wf", 7);
	push(f->work, "origin");

	expect_note(f->origin, f->id[0], "passed wf-other #1 http://z/1");
	expect_note(f->origin, f->id[1],
		    "passed wf #5 http://z/5\npassed wf #6 http://z/6\n"
		    "checked by alice");
	expect_note(f->origin, f->id[2], "passed wf #7 http://z/7");
	is_ancestor(f->origin, theirs, "refs/notes/zadig");
	w = ref_of(f->work);
	o = ref_of(f->origin);
	assert_string_equal(w, o);
	free(w);
	free(o);
	free(theirs);

	/* a developer's plain fetch sees them */
	free(fx_git(f->tmp, "clone", "-q", f->origin, third, NULL));
	free(fx_git(third, "fetch", "-q", "origin",
		    "+refs/notes/zadig:refs/notes/zadig", NULL));
	expect_note(third, f->id[1],
		    "passed wf #5 http://z/5\npassed wf #6 http://z/6\n"
		    "checked by alice");
	expect_note(third, f->id[0], "passed wf-other #1 http://z/1");

	/* both change again: the other writer B's task 6, the receiver A.
	 * B is unchanged here since the last push and must not go back. */
	free(fx_git(f->other, "fetch", "-q", "origin",
		    "+refs/notes/zadig:refs/notes/zadig", NULL));
	note(f->other, f->id[1], "failed", "wf", 6);
	free(
	    fx_git(f->other, "push", "-q", "origin", "refs/notes/zadig", NULL));
	note(f->work, f->id[0], "passed", "wf-a", 9);
	push(f->work, "origin");
	expect_note(f->origin, f->id[1],
		    "passed wf #5 http://z/5\nfailed wf #6 http://z/6\n"
		    "checked by alice");
	expect_note(f->origin, f->id[0],
		    "passed wf-a #9 http://z/9\npassed wf-other #1 http://z/1");
	expect_note(f->work, f->id[1],
		    "passed wf #5 http://z/5\nfailed wf #6 http://z/6\n"
		    "checked by alice");

	/* only the remote moved: the local ref fast-forwards to it */
	free(fx_git(f->other, "fetch", "-q", "origin",
		    "+refs/notes/zadig:refs/notes/zadig", NULL));
	note(f->other, f->id[2], "passed", "wf", 8);
	free(
	    fx_git(f->other, "push", "-q", "origin", "refs/notes/zadig", NULL));
	push(f->work, "origin");
	w = ref_of(f->work);
	o = ref_of(f->origin);
	theirs = ref_of(f->other);
	assert_string_equal(w, o);
	assert_string_equal(w, theirs);
	free(w);
	free(o);
	free(theirs);
	free(fx_git(f->origin, "fsck", "--no-progress", NULL));
	free(third);
}

/* A note both change, more than once: only the lines the receiver
 * changed go on top of the remote's. A line of another writer it merged
 * earlier, unchanged by it since, must not bring back the old status
 * over the other writer's newer one. */
static void merge_changed_lines_only(void **state)
{
	struct fx *f = *state;

	note(f->work, f->id[1], "running", "wf", 5);
	push(f->work, "origin");
	free(fx_git(f->other, "fetch", "-q", "origin",
		    "+refs/notes/zadig:refs/notes/zadig", NULL));
	note(f->other, f->id[1], "running", "wf-other", 1);
	free(
	    fx_git(f->other, "push", "-q", "origin", "refs/notes/zadig", NULL));

	/* the receiver's next change merges the other writer's line */
	note(f->work, f->id[1], "passed", "wf", 5);
	push(f->work, "origin");
	expect_note(f->origin, f->id[1],
		    "passed wf #5 http://z/5\nrunning wf-other #1 http://z/1");

	/* the other writer's task ends; then the receiver adds a task */
	free(fx_git(f->other, "fetch", "-q", "origin",
		    "+refs/notes/zadig:refs/notes/zadig", NULL));
	note(f->other, f->id[1], "passed", "wf-other", 1);
	free(
	    fx_git(f->other, "push", "-q", "origin", "refs/notes/zadig", NULL));
	note(f->work, f->id[1], "running", "wf", 6);
	push(f->work, "origin");
	expect_note(f->origin, f->id[1],
		    "passed wf #5 http://z/5\nrunning wf #6 http://z/6\n"
		    "passed wf-other #1 http://z/1");
	expect_note(f->work, f->id[1],
		    "passed wf #5 http://z/5\nrunning wf #6 http://z/6\n"
		    "passed wf-other #1 http://z/1");
}

/* ---- another writer pushes between our fetch and our push ------------ */

static void race_once(struct fx *f, const char *remote)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	bool done = true, rejected = false;

	note(f->work, f->id[0], "passed", "wf", 1);
	assert_ok(zh_repo_open(&r, f->work, false, &err));
	assert_ok(
	    zh_notes_push_prepare(&done, r, NULL, remote, NULL, NULL, &err));
	assert_false(done);

	note(f->other, f->id[1], "passed", "wf-other", 2);
	free(
	    fx_git(f->other, "push", "-q", "origin", "refs/notes/zadig", NULL));

	assert_ok(
	    zh_notes_push_send(&rejected, r, NULL, remote, NULL, NULL, &err));
	assert_true(rejected);
	assert_non_null(strstr(err.msg, "rejected"));
	expect_note(f->origin, f->id[1], "passed wf-other #2 http://z/2");

	assert_ok(zh_notes_push(NULL, r, NULL, remote, NULL, NULL, &err));
	expect_note(f->origin, f->id[0], "passed wf #1 http://z/1");
	expect_note(f->origin, f->id[1], "passed wf-other #2 http://z/2");
	zh_repo_free(r);
}

static void race(void **state)
{
	race_once(*state, "origin");
}

/* ---- many writers at once -------------------------------------------- */

static void concurrent_pushers(void **state)
{
	struct fx *f = *state;
	char *dirs[4];
	pid_t pids[4];
	int go[2];
	size_t k, i;

	for (k = 0; k < 4; k++) {
		char name[16];

		snprintf(name, sizeof(name), "w%zu", k);
		dirs[k] = fx_path(f->tmp, name);
		free(fx_git(f->tmp, "clone", "-q", f->origin, dirs[k], NULL));
		for (i = 0; i < 3; i++) {
			char wf[16];

			snprintf(wf, sizeof(wf), "wf%zu", k);
			note(dirs[k], f->id[i], "passed", wf, (long long)k);
		}
	}
	assert_int_equal(pipe(go), 0);
	for (k = 0; k < 4; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			struct zh_error err = {0};
			struct zh_repo *r = NULL;
			char c;
			int rc;

			close(go[1]);
			if (read(go[0], &c, 1) < 0)
				_exit(3);
			rc = zh_repo_open(&r, dirs[k], false, &err);
			if (rc == 0)
				rc = zh_notes_push(NULL, r, NULL, "origin",
						   NULL, NULL, &err);
			if (rc != 0)
				fprintf(stderr, "pusher %zu: %s\n", k, err.msg);
			zh_repo_free(r);
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
	for (i = 0; i < 3; i++)
		expect_note(f->origin, f->id[i],
			    "passed wf0 #0 http://z/0\n"
			    "passed wf1 #1 http://z/1\n"
			    "passed wf2 #2 http://z/2\n"
			    "passed wf3 #3 http://z/3");
	free(fx_git(f->origin, "fsck", "--no-progress", NULL));
	for (k = 0; k < 4; k++)
		free(dirs[k]);
}

/* ---- errors ---------------------------------------------------------- */

static void errors(void **state)
{
	struct fx *f = *state;
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	int rc;

	note(f->work, f->id[0], "passed", "wf", 1);
	assert_ok(zh_repo_open(&r, f->work, false, &err));
	rc = zh_notes_push(NULL, r, NULL, "upstream", NULL, NULL, &err);
	assert_int_equal(rc, ZH_ENOTFOUND);
	assert_string_equal(err.msg, "no remote 'upstream'");
	rc = zh_notes_push(NULL, r, NULL, "bad name", NULL, NULL, &err);
	assert_int_equal(rc, ZH_EINVALID);
	rc = zh_notes_push(NULL, r, "bad..ref", "origin", NULL, NULL, &err);
	assert_int_equal(rc, ZH_EINVALID);
	/* nothing listens on port 1; no secret in the message */
	rc = zh_notes_push(NULL, r, NULL,
			   "http://bob:s3cretpw@127.0.0.1:1/x.git", "bob",
			   "hunter22", &err);
	assert_true(rc == ZH_ENET || rc == ZH_EGIT);
	assert_null(strstr(err.msg, "s3cretpw"));
	assert_null(strstr(err.msg, "hunter22"));
	assert_non_null(strstr(err.msg, "'http://127.0.0.1:1/x.git'"));
	zh_repo_free(r);
}

/* ---- over the network: git daemon on loopback ------------------------- */

static pid_t start_daemon(const char *base, int *port)
{
	char portarg[32], basearg[512];
	int tries;

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (tries = 0; tries < 20; tries++) {
		const char *argv[] = {"git",
				      "daemon",
				      "--reuseaddr",
				      "--listen=127.0.0.1",
				      portarg,
				      basearg,
				      "--export-all",
				      "--enable=receive-pack",
				      "--informative-errors",
				      base,
				      NULL};
		struct sockaddr_in a;
		pid_t pid;
		int i, rc;

		*port = 20000 + rand() % 30000;
		snprintf(portarg, sizeof(portarg), "--port=%d", *port);
		snprintf(basearg, sizeof(basearg), "--base-path=%s", base);
		posix_spawn_file_actions_t fa;

		/* quiet: the readiness probe makes it complain */
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
						 0);
		rc = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)argv,
				  environ);
		posix_spawn_file_actions_destroy(&fa);
		if (rc != 0)
			return -1;
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)*port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		for (i = 0; i < 100; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			struct timespec ts = {0, 20000000L};
			int st;

			if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
				close(s);
				return pid;
			}
			close(s);
			if (waitpid(pid, &st, WNOHANG) == pid)
				break; /* port taken: another one */
			nanosleep(&ts, NULL);
		}
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

static void over_git_daemon(void **state)
{
	struct fx *f = *state;
	char url[256];
	pid_t pid;
	int port;

	pid = start_daemon(f->tmp, &port);
	if (pid < 0)
		skip();
	snprintf(url, sizeof(url), "git://127.0.0.1:%d/origin.git", port);
	/* the receiver's clone pushes over the network */
	free(fx_git(f->work, "remote", "set-url", "origin", url, NULL));
	note(f->other, f->id[2], "passed", "wf-first", 3);
	free(
	    fx_git(f->other, "push", "-q", "origin", "refs/notes/zadig", NULL));
	race_once(f, "origin");
	expect_note(f->origin, f->id[2], "passed wf-first #3 http://z/3");
	push(f->work, url);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(push_new_ref, setup, teardown),
	    cmocka_unit_test_setup_teardown(stale_locks, setup, teardown),
	    cmocka_unit_test_setup_teardown(locked_refs, setup, teardown),
	    cmocka_unit_test_setup_teardown(push_says_what_it_did, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(restore_lost_notes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(push_without_deltas, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(merge_remote_notes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(merge_changed_lines_only, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(race, setup, teardown),
	    cmocka_unit_test_setup_teardown(concurrent_pushers, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(over_git_daemon, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
