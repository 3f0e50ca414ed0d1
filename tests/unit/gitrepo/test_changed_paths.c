#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>

#include "gitfix.h"
#include "gitrepo/gitrepo.h"
#include "util/error.h"

#include "util/banned.h"

#define ZERO "0000000000000000000000000000000000000000"

#define assert_ok(call)                                                        \
	do {                                                                   \
		int rc_ = (call);                                              \
		if (rc_ != 0)                                                  \
			fail_msg("%s: %d %s", #call, rc_, err.msg);            \
	} while (0)

struct fx {
	char *tmp;
	char *w; /* a work tree with HEAD -> main */
	struct zh_repo *r;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct zh_error err = {0};

	f->tmp = fx_tmpdir();
	f->w = fx_path(f->tmp, "w");
	free(fx_git(f->tmp, "init", "-q", "-b", "main", f->w, NULL));
	assert_ok(zh_repo_open(&f->r, f->w, false, &err));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	zh_repo_free(f->r);
	fx_rmrf(f->tmp);
	free(f->tmp);
	free(f->w);
	free(f);
	return 0;
}

static void rm_path(const char *dir, const char *rel)
{
	char *p = fx_path(dir, rel);
	const char *argv[] = {"rm", "-rf", p, NULL};

	assert_int_equal(fx_run(NULL, NULL, argv), 0);
	free(p);
}

static void print_paths(const struct zh_paths *p)
{
	size_t i;

	for (i = 0; i < p->len; i++)
		print_message("  got '%s'\n", p->items[i]);
}

/* want: NULL-terminated list. */
static void expect_ref(struct zh_repo *r, const char *ref, const char *old,
		       const char *new, bool all, const char *const *want)
{
	struct zh_error err = {0};
	struct zh_paths p;
	size_t n = 0;

	assert_ok(zh_repo_changed_paths_ref(&p, r, ref, old, new, &err));
	while (want[n])
		n++;
	if (p.len != n)
		print_paths(&p);
	assert_int_equal(p.len, n);
	for (n = 0; want[n]; n++)
		assert_string_equal(p.items[n], want[n]);
	assert_int_equal(p.all, all);
	zh_paths_dispose(&p);
}

static void expect(struct zh_repo *r, const char *old, const char *new,
		   bool all, const char *const *want)
{
	expect_ref(r, NULL, old, new, all, want);
}

/* Our paths must be exactly git's, in git's order. */
static void expect_like_git(struct zh_repo *r, const char *dir, const char *old,
			    const char *new)
{
	const char *argv[] = {"git", "-C",	     dir, "diff", "--name-only",
			      "-z",  "--no-renames", old, new,	  NULL};
	struct zh_error err = {0};
	struct zh_paths p;
	char *out, *s;
	size_t len, i = 0;

	assert_int_equal(fx_run(&out, &len, argv), 0);
	assert_ok(zh_repo_changed_paths(&p, r, old, new, &err));
	for (s = out; s < out + len; s += strlen(s) + 1, i++) {
		if (i >= p.len)
			fail_msg("%s..%s: missing '%s'", old, new, s);
		if (strcmp(s, p.items[i]) != 0)
			fail_msg("%s..%s: git '%s', we '%s'", old, new, s,
				 p.items[i]);
	}
	if (i != p.len)
		fail_msg("%s..%s: extra '%s'", old, new, p.items[i]);
	assert_false(p.all);
	zh_paths_dispose(&p);
	free(out);
}

static void basic_changes(void **state)
{
	struct fx *f = *state;
	char *c[12];
	int n = 0;

	fx_write(f->w, "a.txt", "a\n");
	fx_write(f->w, "d/1", "1\n");
	fx_write(f->w, "d/e/2", "2\n");
	fx_write(f->w, "t", "file\n");
	fx_write(f->w, "keep/k", "k\n");
	c[n++] = fx_commit(f->w, "base");
	/* 1: modified file */
	fx_write(f->w, "a.txt", "a2\n");
	c[n++] = fx_commit(f->w, "modify");
	expect(f->r, c[0], c[1], false, (const char *[]){"a.txt", NULL});
	/* 2: added directory: every file below it */
	fx_write(f->w, "new/x", "x\n");
	fx_write(f->w, "new/sub/y", "y\n");
	c[n++] = fx_commit(f->w, "add dir");
	expect(f->r, c[1], c[2], false,
	       (const char *[]){"new/sub/y", "new/x", NULL});
	/* 3: deleted directory */
	rm_path(f->w, "d");
	c[n++] = fx_commit(f->w, "delete dir");
	expect(f->r, c[2], c[3], false, (const char *[]){"d/1", "d/e/2", NULL});
	/* 4: a rename is both paths */
	free(fx_git(f->w, "mv", "a.txt", "b.txt", NULL));
	c[n++] = fx_commit(f->w, "rename");
	expect(f->r, c[3], c[4], false,
	       (const char *[]){"a.txt", "b.txt", NULL});
	/* 5: file -> directory and back: both sides */
	rm_path(f->w, "t");
	fx_write(f->w, "t/inner", "i\n");
	c[n++] = fx_commit(f->w, "file to dir");
	expect(f->r, c[4], c[5], false, (const char *[]){"t", "t/inner", NULL});
	expect(f->r, c[5], c[4], false, (const char *[]){"t", "t/inner", NULL});
	/* 6: spaces and UTF-8, taken as bytes */
	fx_write(f->w, "dir with space/naïve ü.txt", "u\n");
	fx_write(f->w, "日本/ファイル 1", "j\n");
	c[n++] = fx_commit(f->w, "unicode");
	expect(f->r, c[5], c[6], false,
	       (const char *[]){"dir with space/naïve ü.txt", "日本/ファイル 1",
				NULL});
	fx_write(f->w, "dir with space/naïve ü.txt", "u2\n");
	c[n++] = fx_commit(f->w, "unicode 2");
	expect(f->r, c[6], c[7], false,
	       (const char *[]){"dir with space/naïve ü.txt", NULL});
	/* 7: mode change only; a symlink */
	{
		char *p = fx_path(f->w, "b.txt");

		assert_int_equal(chmod(p, 0755), 0);
		free(p);
		p = fx_path(f->w, "link");
		assert_int_equal(symlink("b.txt", p), 0);
		free(p);
	}
	c[n++] = fx_commit(f->w, "mode");
	expect(f->r, c[7], c[8], false,
	       (const char *[]){"b.txt", "link", NULL});
	/* 8: nothing changed; same commit */
	c[n++] = fx_commit(f->w, "empty");
	expect(f->r, c[8], c[9], false, (const char *[]){NULL});
	expect(f->r, c[9], c[9], false, (const char *[]){NULL});
	/* many steps at once, both directions */
	expect_like_git(f->r, f->w, c[0], c[9]);
	expect_like_git(f->r, f->w, c[9], c[0]);
	expect_like_git(f->r, f->w, c[2], c[7]);
	while (n > 0)
		free(c[--n]);
}

/* Sorting: "a.b" < "a/..." < "a0" as git orders trees and as strcmp
 * orders full paths. */
static void tree_order(void **state)
{
	struct fx *f = *state;
	char *c0, *c1;

	fx_write(f->w, "z", "z\n");
	c0 = fx_commit(f->w, "base");
	fx_write(f->w, "a.b", "1\n");
	fx_write(f->w, "a/x", "2\n");
	fx_write(f->w, "a0", "3\n");
	fx_write(f->w, "a-", "4\n");
	fx_write(f->w, "a/-", "5\n");
	c1 = fx_commit(f->w, "names");
	expect(f->r, c0, c1, false,
	       (const char *[]){"a-", "a.b", "a/-", "a/x", "a0", NULL});
	expect_like_git(f->r, f->w, c0, c1);
	free(c0);
	free(c1);
}

static void submodule_entry(void **state)
{
	struct fx *f = *state;
	char *c0, *c1, *c2;

	fx_write(f->w, "a", "a\n");
	c0 = fx_commit(f->w, "base");
	/* a gitlink is a path of its own; it is never entered */
	free(fx_git(f->w, "update-index", "--add", "--cacheinfo",
		    "160000,1111111111111111111111111111111111111111,sub/m",
		    NULL));
	free(fx_git(f->w, "commit", "-q", "-m", "sub", NULL));
	c1 = fx_git(f->w, "rev-parse", "HEAD", NULL);
	free(fx_git(f->w, "update-index", "--cacheinfo",
		    "160000,2222222222222222222222222222222222222222,sub/m",
		    NULL));
	free(fx_git(f->w, "commit", "-q", "-m", "sub2", NULL));
	c2 = fx_git(f->w, "rev-parse", "HEAD", NULL);
	expect(f->r, c0, c1, false, (const char *[]){"sub/m", NULL});
	expect(f->r, c1, c2, false, (const char *[]){"sub/m", NULL});
	expect_like_git(f->r, f->w, c0, c2);
	free(c0);
	free(c1);
	free(c2);
}

static void merge_commit(void **state)
{
	struct fx *f = *state;
	struct zh_error err = {0};
	struct zh_commit_info ci;
	char *c0, *merge;

	fx_write(f->w, "a", "a\n");
	c0 = fx_commit(f->w, "base");
	free(fx_git(f->w, "checkout", "-q", "-b", "side", NULL));
	fx_write(f->w, "side/s", "s\n");
	free(fx_commit(f->w, "side"));
	free(fx_git(f->w, "checkout", "-q", "main", NULL));
	fx_write(f->w, "m", "m\n");
	free(fx_commit(f->w, "main"));
	free(fx_git(f->w, "merge", "-q", "--no-ff", "-m", "merge", "side",
		    NULL));
	merge = fx_git(f->w, "rev-parse", "HEAD", NULL);
	/* callers diff a merge against its first parent */
	assert_ok(zh_repo_commit(&ci, f->r, merge, &err));
	assert_int_equal(ci.nparents, 2);
	expect(f->r, ci.first_parent, merge, false,
	       (const char *[]){"side/s", NULL});
	expect_like_git(f->r, f->w, ci.first_parent, merge);
	zh_commit_info_dispose(&ci);
	free(c0);
	free(merge);
}

static void new_branches(void **state)
{
	struct fx *f = *state;
	char *c1, *c2, *feat, *orphan;

	fx_write(f->w, "a", "a\n");
	fx_write(f->w, "d/b", "b\n");
	c1 = fx_commit(f->w, "c1");
	/* a ref created at main's commit: nothing changed */
	expect(f->r, ZERO, c1, false, (const char *[]){NULL});
	expect(f->r, NULL, c1, false, (const char *[]){NULL});
	expect(f->r, "", c1, false, (const char *[]){NULL});
	/* the first push of main itself (HEAD's branch): everything */
	expect_ref(f->r, "refs/heads/main", ZERO, c1, true,
		   (const char *[]){"a", "d/b", NULL});
	/* a branch off main, main moved on: diff from the merge base */
	free(fx_git(f->w, "checkout", "-q", "-b", "feature", NULL));
	fx_write(f->w, "f", "f\n");
	feat = fx_commit(f->w, "feature");
	free(fx_git(f->w, "checkout", "-q", "main", NULL));
	fx_write(f->w, "m", "m\n");
	c2 = fx_commit(f->w, "c2");
	expect(f->r, ZERO, feat, false, (const char *[]){"f", NULL});
	expect_ref(f->r, "refs/heads/feature", ZERO, feat, false,
		   (const char *[]){"f", NULL});
	/* an older main commit pushed as a new branch: below HEAD */
	expect(f->r, ZERO, c1, false, (const char *[]){NULL});
	/* unrelated history: no merge base, everything */
	free(fx_git(f->w, "checkout", "-q", "--orphan", "lone", NULL));
	free(fx_git(f->w, "rm", "-q", "-rf", ".", NULL));
	fx_write(f->w, "o/1", "1\n");
	fx_write(f->w, "o/2", "2\n");
	orphan = fx_commit(f->w, "orphan");
	free(fx_git(f->w, "checkout", "-q", "main", NULL));
	expect(f->r, ZERO, orphan, true, (const char *[]){"o/1", "o/2", NULL});
	/* unborn HEAD: everything */
	free(fx_git(f->w, "symbolic-ref", "HEAD", "refs/heads/nothing", NULL));
	expect(f->r, ZERO, c2, true, (const char *[]){"a", "d/b", "m", NULL});
	/* detached HEAD: its commit is the default */
	free(fx_git(f->w, "update-ref", "--no-deref", "HEAD", c1, NULL));
	expect(f->r, ZERO, feat, false, (const char *[]){"f", NULL});
	free(c1);
	free(c2);
	free(feat);
	free(orphan);
}

/* A ref whose old object is no commit (a tag moved from a blob or a
 * tree onto a commit) changes like a new one: from the merge base with
 * HEAD, or every path without one. A new object that is no commit is an
 * error naming it. */
static void old_not_a_commit(void **state)
{
	struct fx *f = *state;
	struct zh_error err = {0};
	struct zh_paths p;
	char *c1, *feat, *orphan, *blob, *tree, *atag, *want;

	fx_write(f->w, "a", "a\n");
	fx_write(f->w, "d/b", "b\n");
	c1 = fx_commit(f->w, "c1");
	blob = fx_git(f->w, "rev-parse", "HEAD:a", NULL);
	tree = fx_git(f->w, "rev-parse", "HEAD^{tree}", NULL);
	free(fx_git(f->w, "tag", "-a", "-m", "t", "tb", blob, NULL));
	atag = fx_git(f->w, "rev-parse", "tb", NULL);
	free(fx_git(f->w, "checkout", "-q", "-b", "feature", NULL));
	fx_write(f->w, "f", "f\n");
	feat = fx_commit(f->w, "feature");
	free(fx_git(f->w, "checkout", "-q", "main", NULL));
	fx_write(f->w, "m", "m\n");
	free(fx_commit(f->w, "c2"));
	expect_ref(f->r, "refs/tags/bt", blob, feat, false,
		   (const char *[]){"f", NULL});
	expect_ref(f->r, "refs/tags/bt", tree, feat, false,
		   (const char *[]){"f", NULL});
	expect_ref(f->r, "refs/tags/bt", atag, feat, false,
		   (const char *[]){"f", NULL});
	expect(f->r, blob, c1, false, (const char *[]){NULL});
	/* no merge base: every path */
	free(fx_git(f->w, "checkout", "-q", "--orphan", "lone", NULL));
	free(fx_git(f->w, "rm", "-q", "-rf", ".", NULL));
	fx_write(f->w, "o/1", "1\n");
	orphan = fx_commit(f->w, "orphan");
	free(fx_git(f->w, "checkout", "-q", "main", NULL));
	expect_ref(f->r, "refs/tags/bt", blob, orphan, true,
		   (const char *[]){"o/1", NULL});
	/* the new side must be a commit; the message names the object */
	assert_int_equal(zh_repo_changed_paths(&p, f->r, c1, blob, &err),
			 ZH_EINVALID);
	want = malloc(strlen(blob) + 32);
	assert_non_null(want);
	snprintf(want, strlen(blob) + 32, "'%s' is not a commit", blob);
	assert_string_equal(err.msg, want);
	zh_paths_dispose(&p);
	assert_int_equal(zh_repo_changed_paths(&p, f->r, blob, tree, &err),
			 ZH_EINVALID);
	snprintf(want, strlen(tree) + 32, "'%s' is not a commit", tree);
	assert_string_equal(err.msg, want);
	zh_paths_dispose(&p);
	free(want);
	free(c1);
	free(feat);
	free(orphan);
	free(blob);
	free(tree);
	free(atag);
}

/* n commits on ref (from commit "from", or a new root when NULL) with
 * git fast-import, each writing path; committer times t0 + step,
 * t0 + 2 * step, ... Returns the tip (malloc'd). */
static char *chain_step(const char *dir, const char *ref, const char *from,
			unsigned n, long long t0, long long step,
			const char *path)
{
	char *stream = fx_path(dir, "../stream"), cmd[4096], *tip;
	const char *argv[] = {"sh", "-c", cmd, NULL};
	FILE *f = fopen(stream, "w");
	unsigned i;

	assert_non_null(f);
	for (i = 1; i <= n; i++) {
		fprintf(f,
			"commit %s\nmark :%u\ncommitter T <t@e> %lld +0000\n"
			"data 2\nc\n",
			ref, i, t0 + (long long)i * step);
		if (i > 1)
			fprintf(f, "from :%u\n", i - 1);
		else if (from)
			fprintf(f, "from %s\n", from);
		fprintf(f, "M 644 inline %s\ndata %d\n%u\n\n", path,
			snprintf(NULL, 0, "%u", i) + 1, i);
	}
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd),
		 "git -C '%s' fast-import --quiet --force <'%s'", dir, stream);
	assert_int_equal(fx_run(NULL, NULL, argv), 0);
	tip = fx_git(dir, "rev-parse", ref, NULL);
	free(stream);
	return tip;
}

/* chain_step with times t0 + 1, t0 + 2, ... */
static char *chain(const char *dir, const char *ref, const char *from,
		   unsigned n, long long t0, const char *path)
{
	return chain_step(dir, ref, from, n, t0, 1, path);
}

/* A new branch longer than the merge-base walk's bound (64 commits on
 * its side, 256 on HEAD's): the base is HEAD's commit, so the cost does
 * not grow with the branch. */
static void bounded_base(void **state)
{
	struct fx *f = *state;
	char *c1, *lng, *c2, *lone, *ahead, *shrt, *shrt_in, *mid, *few;

	fx_write(f->w, "a", "a\n");
	fx_write(f->w, "d/b", "b\n");
	c1 = fx_commit(f->w, "c1");
	/* 300 commits from main's tip: HEAD's commit is the exact base */
	lng = chain(f->w, "refs/heads/long", c1, 300, 2000000000, "l/x");
	expect(f->r, ZERO, lng, false, (const char *[]){"l/x", NULL});
	expect_ref(f->r, "refs/heads/long", ZERO, lng, false,
		   (const char *[]){"l/x", NULL});
	/* an older commit of the long branch, pushed as a new branch */
	shrt_in = fx_git(f->w, "rev-parse", "long~101", NULL);
	expect(f->r, ZERO, shrt_in, false, (const char *[]){"l/x", NULL});
	/* main moved on (newer than the branch): the long branch is compared
	 * with HEAD's commit, so main's change shows up too */
	c2 = chain(f->w, "refs/heads/main", c1, 1, 2100000000, "m");
	expect(f->r, ZERO, lng, false, (const char *[]){"l/x", "m", NULL});
	/* a short branch still finds its merge base through the walk */
	shrt = chain(f->w, "refs/heads/short", c1, 3, 2000000000, "s");
	expect(f->r, ZERO, shrt, false, (const char *[]){"s", NULL});
	/* the branch's own side stops at 64 commits: one of 100 off the
	 * moved HEAD is compared with HEAD's commit, one of 60 still finds
	 * its base */
	mid = chain(f->w, "refs/heads/mid", c1, 100, 2000000000, "i");
	expect(f->r, ZERO, mid, false, (const char *[]){"i", "m", NULL});
	few = chain(f->w, "refs/heads/few", c1, 60, 2000000000, "e");
	expect(f->r, ZERO, few, false, (const char *[]){"e", NULL});
	/* HEAD 300 commits past the fork: HEAD's side hits the bound,
	 * the base is HEAD's commit (its paths the branch lacks count) */
	free(fx_git(f->w, "update-ref", "refs/heads/main", lng, NULL));
	expect(f->r, ZERO, shrt, false, (const char *[]){"l/x", "s", NULL});
	expect(f->r, ZERO, c1, false, (const char *[]){"l/x", NULL});
	/* within the bound, an older main commit has nothing changed */
	expect(f->r, ZERO, shrt_in, false, (const char *[]){NULL});
	ahead = chain(f->w, "refs/heads/main", c1, 300, 2200000000, "h");
	expect(f->r, ZERO, shrt, false, (const char *[]){"h", "s", NULL});
	/* a long unrelated history is compared with HEAD's commit too; a
	 * short one has no base (new_branches) */
	lone = chain(f->w, "refs/heads/lone", NULL, 300, 2300000000, "o");
	expect(f->r, ZERO, lone, false,
	       (const char *[]){"a", "d/b", "h", "o", NULL});
	free(c1);
	free(lng);
	free(c2);
	free(shrt);
	free(shrt_in);
	free(ahead);
	free(lone);
	free(mid);
	free(few);
}

/* Every commit with the same committer time (rebase merges, git am,
 * imports): the walk has no time to go by, and HEAD's side must still
 * reach the fork point within its bound. */
static void equal_times(void **state)
{
	struct fx *f = *state;
	const long long t = 2000000000;
	char *fork, *one, *few, *side, *edge, *lng;

	/* shared history longer than either bound */
	fork = chain_step(f->w, "refs/heads/main", NULL, 300, t, 0, "h");
	/* HEAD moved on by 200 commits */
	free(chain_step(f->w, "refs/heads/main", fork, 200, t, 0, "m"));
	one = chain_step(f->w, "refs/heads/one", fork, 1, t, 0, "o");
	expect(f->r, ZERO, one, false, (const char *[]){"o", NULL});
	few = chain_step(f->w, "refs/heads/few", fork, 60, t, 0, "e");
	expect(f->r, ZERO, few, false, (const char *[]){"e", NULL});
	/* the README's promise at its edge: 64 commits of the branch's own,
	 * HEAD 256 commits past the fork */
	side = chain_step(f->w, "refs/heads/side", fork, 256, t, 0, "s");
	free(fx_git(f->w, "update-ref", "refs/heads/main", side, NULL));
	edge = chain_step(f->w, "refs/heads/edge", fork, 64, t, 0, "g");
	expect(f->r, ZERO, edge, false, (const char *[]){"g", NULL});
	/* an older commit of HEAD's branch pushed as a new branch */
	free(one);
	one = fx_git(f->w, "rev-parse", "main~100", NULL);
	expect(f->r, ZERO, one, false, (const char *[]){NULL});
	/* a long branch from HEAD's commit: the walk still stops, the base
	 * is HEAD's commit, which is exact here */
	lng = chain_step(f->w, "refs/heads/long", side, 300, t, 0, "l");
	expect(f->r, ZERO, lng, false, (const char *[]){"l", NULL});
	free(fork);
	free(one);
	free(few);
	free(side);
	free(edge);
	free(lng);
}

/* An empty bare repository receiving its first push, as post-receive
 * sees it: the ref is already there. */
static void first_push_bare(void **state)
{
	struct fx *f = *state;
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *bare = fx_path(f->tmp, "srv.git");
	char *tip;

	free(fx_git(f->tmp, "init", "-q", "--bare", "-b", "main", bare, NULL));
	fx_write(f->w, "x/y z", "1\n");
	tip = fx_commit(f->w, "first");
	free(fx_git(f->w, "push", "-q", bare, "main", NULL));
	assert_ok(zh_repo_open(&r, bare, false, &err));
	expect_ref(r, "refs/heads/main", ZERO, tip, true,
		   (const char *[]){"x/y z", NULL});
	/* without the ref name it is a branch at HEAD's commit */
	expect(r, ZERO, tip, false, (const char *[]){NULL});
	zh_repo_free(r);
	free(bare);
	free(tip);
}

static void errors(void **state)
{
	struct fx *f = *state;
	struct zh_error err = {0};
	struct zh_paths p;
	char *c1, *tag;
	const char *unknown = "1234567890123456789012345678901234567890";

	fx_write(f->w, "a", "a\n");
	c1 = fx_commit(f->w, "c1");
	/* an old id we do not have is an error, not a guess */
	assert_int_equal(zh_repo_changed_paths(&p, f->r, unknown, c1, &err),
			 ZH_ENOTFOUND);
	assert_string_equal(
	    err.msg,
	    "unknown revision '1234567890123456789012345678901234567890'");
	assert_int_equal(p.len, 0);
	zh_paths_dispose(&p);
	assert_int_equal(zh_repo_changed_paths(&p, f->r, c1, unknown, &err),
			 ZH_ENOTFOUND);
	zh_paths_dispose(&p);
	assert_int_equal(zh_repo_changed_paths(&p, f->r, c1, ZERO, &err),
			 ZH_EINVALID);
	zh_paths_dispose(&p);
	/* an annotated tag peels to its commit */
	free(fx_git(f->w, "tag", "-a", "-m", "t", "v1", NULL));
	tag = fx_git(f->w, "rev-parse", "v1", NULL);
	expect(f->r, ZERO, tag, false, (const char *[]){NULL});
	expect(f->r, tag, c1, false, (const char *[]){NULL});
	zh_paths_dispose(NULL);
	free(c1);
	free(tag);
}

/* A commit on parent (hex) whose tree is `depth` directories "a" deep
 * with one file at the bottom, made with libgit2 (git would take a
 * process per level). */
static char *deep_commit(const char *dir, const char *parent, int depth)
{
	git_repository *repo = NULL;
	git_treebuilder *tb = NULL;
	git_oid blob, tree, pid, cid;
	git_tree *t = NULL;
	git_commit *pc = NULL;
	git_signature *sig = NULL;
	char *hex = malloc(GIT_OID_HEXSZ + 1);
	int i;

	assert_non_null(hex);
	assert_int_equal(git_repository_open(&repo, dir), 0);
	assert_int_equal(git_blob_create_from_buffer(&blob, repo, "x\n", 2), 0);
	assert_int_equal(git_treebuilder_new(&tb, repo, NULL), 0);
	assert_int_equal(
	    git_treebuilder_insert(NULL, tb, "f", &blob, GIT_FILEMODE_BLOB), 0);
	assert_int_equal(git_treebuilder_write(&tree, tb), 0);
	for (i = 0; i < depth; i++) {
		git_treebuilder_clear(tb);
		assert_int_equal(git_treebuilder_insert(NULL, tb, "a", &tree,
							GIT_FILEMODE_TREE),
				 0);
		assert_int_equal(git_treebuilder_write(&tree, tb), 0);
	}
	assert_int_equal(git_tree_lookup(&t, repo, &tree), 0);
	assert_int_equal(git_oid_fromstr(&pid, parent), 0);
	assert_int_equal(git_commit_lookup(&pc, repo, &pid), 0);
	assert_int_equal(git_signature_now(&sig, "T", "t@example.com"), 0);
	assert_int_equal(git_commit_create_v(&cid, repo, NULL, sig, sig, NULL,
					     "deep", t, 1, pc),
			 0);
	git_oid_tostr(hex, GIT_OID_HEXSZ + 1, &cid);
	git_signature_free(sig);
	git_commit_free(pc);
	git_tree_free(t);
	git_treebuilder_free(tb);
	git_repository_free(repo);
	return hex;
}

/* A tree nested deeper than git lets a repository hold (core.maxTreeDepth)
 * is refused with an error, not walked level by level on the stack until
 * the program crashes; one as deep as that limit is read. */
static void deep_trees(void **state)
{
	struct fx *f = *state;
	struct zh_error err = {0};
	struct zh_paths p;
	char *c1, *ok, *deep, want[2 * 2048 + 2];
	int i;

	fx_write(f->w, "a0", "a\n");
	c1 = fx_commit(f->w, "c1");
	ok = deep_commit(f->w, c1, 2047);
	for (i = 0; i < 2047; i++)
		memcpy(want + 2 * i, "a/", 2);
	memcpy(want + 2 * 2047, "f", 2);
	assert_ok(zh_repo_changed_paths(&p, f->r, c1, ok, &err));
	assert_int_equal(p.len, 2);
	assert_string_equal(p.items[0], want); /* '/' sorts before '0' */
	assert_string_equal(p.items[1], "a0");
	zh_paths_dispose(&p);
	deep = deep_commit(f->w, c1, 30000);
	assert_int_equal(zh_repo_changed_paths(&p, f->r, c1, deep, &err),
			 ZH_EINVALID);
	assert_non_null(strstr(err.msg, "nested deeper than 2048 levels"));
	assert_int_equal(p.len, 0);
	zh_paths_dispose(&p);
	assert_int_equal(zh_repo_tree_paths(&p, f->r, deep, &err), ZH_EINVALID);
	zh_paths_dispose(&p);
	free(c1);
	free(ok);
	free(deep);
}

/* ---- random histories compared with git diff ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

struct files {
	char *buf;
	char **v;
	size_t n;
};

static void ls_files(struct files *fl, const char *dir)
{
	const char *argv[] = {"git", "-C", dir, "ls-files", "-z", NULL};
	size_t len, cap = 0;
	char *s;

	assert_int_equal(fx_run(&fl->buf, &len, argv), 0);
	fl->n = 0;
	fl->v = NULL;
	for (s = fl->buf; s < fl->buf + len; s += strlen(s) + 1) {
		if (fl->n == cap) {
			cap = cap ? cap * 2 : 256;
			fl->v = realloc(fl->v, cap * sizeof(*fl->v));
			assert_non_null(fl->v);
		}
		fl->v[fl->n++] = s;
	}
}

static void random_step(const char *w, unsigned step)
{
	struct files fl;
	unsigned ops = 1 + rnd(6), k;
	char name[256], content[64];

	for (k = 0; k < ops; k++) {
		unsigned op = rnd(10);
		char *pick, *slash;

		ls_files(&fl, w);
		if (fl.n == 0) {
			free(fl.buf);
			free(fl.v);
			fx_write(w, "seed", "s\n");
			continue;
		}
		pick = strdup(fl.v[rnd((unsigned)fl.n)]);
		snprintf(content, sizeof(content), "%u.%u.%u\n", step, k,
			 rnd(1000));
		switch (op) {
		case 0:
		case 1:
		case 2:
		case 3:
			fx_write(w, pick, content);
			break;
		case 4: /* a new file in a new or existing directory */
			snprintf(name, sizeof(name), "d%u/s%u/n%u-%u.txt",
				 rnd(6), rnd(6), step, k);
			fx_write(w, name, content);
			break;
		case 5:
			rm_path(w, pick);
			break;
		case 6: /* a whole directory */
			slash = strrchr(pick, '/');
			if (slash)
				*slash = '\0';
			rm_path(w, pick);
			break;
		case 7: /* file -> directory */
			rm_path(w, pick);
			snprintf(name, sizeof(name), "%s/inner %u", pick, step);
			fx_write(w, name, content);
			break;
		case 8: /* directory -> file */
			slash = strrchr(pick, '/');
			if (slash) {
				*slash = '\0';
				rm_path(w, pick);
				fx_write(w, pick, content);
			}
			break;
		default: { /* mode */
			char *p = fx_path(w, pick);
			struct stat st;

			if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
				assert_int_equal(
				    chmod(p, (st.st_mode & 0100) ? 0644 : 0755),
				    0);
			free(p);
		}
		}
		free(pick);
		free(fl.buf);
		free(fl.v);
		/* the next pick comes from the index: keep it current */
		free(fx_git(w, "add", "-A", NULL));
	}
}

static void random_histories(void **state)
{
	struct fx *f = *state;
	char *c[21], name[128];
	unsigned i, j, k;

	for (i = 0; i < 5; i++)
		for (j = 0; j < 4; j++)
			for (k = 0; k < 10; k++) {
				snprintf(name, sizeof(name),
					 k == 9 ? "d%u/s%u/ü %u.txt"
						: "d%u/s%u/f%u.txt",
					 i, j, k);
				fx_write(f->w, name, name);
			}
	c[0] = fx_commit(f->w, "200 files");
	for (i = 1; i <= 20; i++) {
		random_step(f->w, i);
		snprintf(name, sizeof(name), "step %u", i);
		c[i] = fx_commit(f->w, name);
	}
	for (i = 0; i < 20; i++) {
		expect_like_git(f->r, f->w, c[i], c[i + 1]);
		expect_like_git(f->r, f->w, c[i + 1], c[i]);
	}
	for (i = 0; i < 21; i += 2)
		for (j = i + 3; j < 21; j += 3)
			expect_like_git(f->r, f->w, c[i], c[j]);
	for (i = 0; i <= 20; i++)
		free(c[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(basic_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(tree_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(submodule_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(merge_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(new_branches, setup, teardown),
	    cmocka_unit_test_setup_teardown(bounded_base, setup, teardown),
	    cmocka_unit_test_setup_teardown(equal_times, setup, teardown),
	    cmocka_unit_test_setup_teardown(old_not_a_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(first_push_bare, setup, teardown),
	    cmocka_unit_test_setup_teardown(errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(deep_trees, setup, teardown),
	    cmocka_unit_test_setup_teardown(random_histories, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
