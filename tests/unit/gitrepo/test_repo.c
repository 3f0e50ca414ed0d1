#include <ctype.h>
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

#include "gitfix.h"
#include "gitrepo/gitrepo.h"
#include "gitrepo/internal.h"
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

/* A non-bare repository at tmp/rel with one commit on main. */
static char *make_work(const char *tmp, const char *rel)
{
	char *dir = fx_path(tmp, rel);

	free(fx_git(tmp, "init", "-q", "-b", "main", dir, NULL));
	fx_write(dir, "a.txt", "a\n");
	free(fx_commit(dir, "first"));
	return dir;
}

static char *make_bare(const char *tmp, const char *rel)
{
	char *dir = fx_path(tmp, rel);

	free(fx_git(tmp, "init", "-q", "--bare", "-b", "main", dir, NULL));
	return dir;
}

static void open_errors(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = (struct zh_repo *)1;
	char *plain = fx_path(*state, "plain");

	fx_write(*state, "plain/x", "x");
	assert_int_equal(zh_repo_open(&r, plain, false, &err), ZH_ENOTFOUND);
	assert_null(r);
	{
		char want[600];

		snprintf(want, sizeof(want), "'%s' is not a git repository",
			 plain);
		assert_string_equal(err.msg, want);
	}
	assert_int_equal(zh_repo_open(&r, "/nonexistent/zh", true, &err),
			 ZH_ENOTFOUND);
	zh_repo_free(NULL);
	free(plain);
}

static void open_discover(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *work = make_work(*state, "proj");
	char *sub = fx_path(work, "deep/er");
	char *name = NULL;

	fx_write(work, "deep/er/f", "f");
	/* without discover a subdirectory is not a repository */
	assert_int_equal(zh_repo_open(&r, sub, false, &err), ZH_ENOTFOUND);
	assert_ok(zh_repo_open(&r, sub, true, &err));
	assert_false(zh_repo_is_bare(r));
	assert_non_null(strstr(zh_repo_git_dir(r), "/proj/.git/"));
	assert_ok(zh_repo_name(&name, r, NULL, &err));
	assert_string_equal(name, "proj");
	free(name);
	zh_repo_free(r);
	free(sub);
	free(work);
}

static void open_git_dir_env(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *bare = make_bare(*state, "srv/app.git");
	char *work = make_work(*state, "other");
	char *cwd = getcwd(NULL, 0);

	/* git exports GIT_DIR to subcommands: it wins over the directory */
	assert_int_equal(chdir(work), 0);
	setenv("GIT_DIR", bare, 1);
	assert_ok(zh_repo_open(&r, ".", true, &err));
	assert_true(zh_repo_is_bare(r));
	assert_non_null(strstr(zh_repo_git_dir(r), "/srv/app.git/"));
	zh_repo_free(r);
	/* GIT_WORK_TREE too (libgit2's FROM_ENV would refuse it) */
	setenv("GIT_DIR", "other/.git", 1);
	setenv("GIT_WORK_TREE", "other", 1);
	assert_int_equal(chdir(*state), 0);
	assert_ok(zh_repo_open(&r, ".", true, &err));
	assert_false(zh_repo_is_bare(r));
	zh_repo_free(r);
	unsetenv("GIT_WORK_TREE");
	/* without discover the path is taken literally */
	setenv("GIT_DIR", bare, 1);
	assert_int_equal(zh_repo_open(&r, ".", false, &err), ZH_ENOTFOUND);
	unsetenv("GIT_DIR");
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	free(bare);
	free(work);
}

static void check_name(const char *path, const char *root, const char *want)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *name = NULL;

	assert_ok(zh_repo_open(&r, path, false, &err));
	assert_ok(zh_repo_name(&name, r, root, &err));
	assert_string_equal(name, want);
	free(name);
	zh_repo_free(r);
}

static void repo_names(void **state)
{
	const char *tmp = *state;
	char *b1 = make_bare(tmp, "srv/x.git");
	char *b2 = make_bare(tmp, "srv/plain");
	char *b3 = make_bare(tmp, "repos/group/voting-app.git");
	char *b4 = make_bare(tmp, "repos/a/b/c.git");
	char *b5 = make_bare(tmp, "repos2/z.git");
	char *w = make_work(tmp, "work/my proj");
	char *root = fx_path(tmp, "repos");
	char *root_slash = fx_path(tmp, "repos/");
	char *link = fx_path(tmp, "link");
	char *via_link = fx_path(tmp, "link/group/voting-app.git/");
	char *b3_dotgit = fx_path(b3, ".");

	assert_int_equal(symlink(root, link), 0);
	check_name(b1, NULL, "x");
	check_name(b1, "", "x");
	check_name(b2, NULL, "plain");
	check_name(b3, NULL, "voting-app");
	check_name(b3, root, "group/voting-app");
	check_name(b3, root_slash, "group/voting-app");
	check_name(b3_dotgit, root, "group/voting-app");
	/* both sides are resolved: symlinks in either path do not matter */
	check_name(via_link, root, "group/voting-app");
	check_name(b3, link, "group/voting-app");
	check_name(b4, root, "a/b/c");
	{
		/* repo_root "/" names it by its whole path */
		char want[600];

		snprintf(want, sizeof(want), "%.*s", (int)strlen(b4) - 5,
			 b4 + 1);
		check_name(b4, "/", want);
	}
	/* not below repo_root ("repos2" merely shares a prefix) */
	check_name(b5, root, "z");
	check_name(b1, "/nonexistent/root", "x");
	/* a linked work tree is the repository it belongs to, whether that
	 * has a work tree of its own or is bare */
	{
		char *lw = fx_path(tmp, "elsewhere/wt-of-proj");
		char *lb = fx_path(tmp, "elsewhere/wt-of-x");

		free(fx_git(w, "push", "-q", b1, "main", NULL));
		free(fx_git(w, "worktree", "add", "-q", lw, NULL));
		free(fx_git(b1, "worktree", "add", "-q", lb, NULL));
		check_name(lw, NULL, "my proj");
		check_name(lb, NULL, "x");
		check_name(lb, tmp, "srv/x");
		{
			/* and shares its git dir (its state store) */
			struct zh_error err = {0};
			struct zh_repo *r = NULL;

			assert_ok(zh_repo_open(&r, lw, false, &err));
			assert_non_null(strstr(zh_repo_git_dir(r),
					       "/my proj/.git/worktrees/"));
			assert_non_null(
			    strstr(zh_repo_common_dir(r), "/my proj/.git"));
			assert_null(strstr(zh_repo_common_dir(r), "worktrees"));
			zh_repo_free(r);
		}
		free(lw);
		free(lb);
	}
	/* the root itself is no name */
	check_name(w, NULL, "my proj");
	{
		char *wroot = fx_path(tmp, "work");

		check_name(w, wroot, "my proj");
		free(wroot);
	}
	free(b1);
	free(b2);
	free(b3);
	free(b4);
	free(b5);
	free(w);
	free(root);
	free(root_slash);
	free(link);
	free(via_link);
	free(b3_dotgit);
}

static void config_get_set(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *bare = make_bare(*state, "c.git");
	char *v = (char *)1, *cfg;

	assert_ok(zh_repo_open(&r, bare, false, &err));
	assert_ok(zh_repo_config_get(&v, r, "zadig.config", &err));
	assert_null(v);
	assert_ok(zh_repo_config_set(r, "zadig.config",
				     "/etc/zadig hook/ü.yaml", &err));
	assert_ok(zh_repo_config_get(&v, r, "zadig.config", &err));
	assert_string_equal(v, "/etc/zadig hook/ü.yaml");
	free(v);
	/* it went to the repository's own file, as git sees it */
	cfg = fx_git(bare, "config", "--local", "zadig.config", NULL);
	assert_string_equal(cfg, "/etc/zadig hook/ü.yaml");
	free(cfg);
	free(fx_git(bare, "config", "zadig.other", "from git", NULL));
	assert_ok(zh_repo_config_get(&v, r, "zadig.other", &err));
	assert_string_equal(v, "from git");
	free(v);
	assert_int_equal(zh_repo_config_set(r, "novalidkey", "x", &err),
			 ZH_EGIT);
	zh_repo_free(r);
	free(bare);
}

static void resolve_revs(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *w = make_work(*state, "w");
	char *c1 = fx_git(w, "rev-parse", "HEAD", NULL);
	char *c2, *tagged, *tree;
	char hex[65], small[20], shortid[9], upper[41];
	size_t i;

	fx_write(w, "b.txt", "b\n");
	c2 = fx_commit(w, "second");
	free(fx_git(w, "tag", "-a", "-m", "annotated", "v1", c1, NULL));
	free(fx_git(w, "tag", "light", c2, NULL));
	assert_ok(zh_repo_open(&r, w, false, &err));
	assert_ok(zh_repo_resolve(hex, sizeof(hex), r, "HEAD", &err));
	assert_string_equal(hex, c2);
	assert_ok(zh_repo_resolve(hex, sizeof(hex), r, "HEAD~1", &err));
	assert_string_equal(hex, c1);
	assert_ok(zh_repo_resolve(hex, sizeof(hex), r, "main", &err));
	assert_string_equal(hex, c2);
	snprintf(shortid, sizeof(shortid), "%.8s", c1);
	assert_ok(zh_repo_resolve(hex, sizeof(hex), r, shortid, &err));
	assert_string_equal(hex, c1);
	assert_ok(zh_repo_resolve(hex, sizeof(hex), r, c1, &err));
	assert_string_equal(hex, c1);
	/* an annotated tag peels to its commit */
	assert_ok(zh_repo_resolve(hex, sizeof(hex), r, "v1", &err));
	assert_string_equal(hex, c1);
	tagged = fx_git(w, "rev-parse", "v1", NULL);
	assert_string_not_equal(tagged, c1);
	assert_ok(zh_repo_resolve(hex, sizeof(hex), r, tagged, &err));
	assert_string_equal(hex, c1);
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r, "nope", &err),
			 ZH_ENOTFOUND);
	assert_string_equal(err.msg, "unknown revision 'nope'");
	assert_int_equal(
	    zh_repo_resolve(hex, sizeof(hex), r,
			    "0123456789012345678901234567890123456789", &err),
	    ZH_ENOTFOUND);
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r, "main~9", &err),
			 ZH_ENOTFOUND);
	assert_int_equal(
	    zh_repo_resolve(hex, sizeof(hex), r, "HEAD:a.txt", &err),
	    ZH_EINVALID);
	assert_string_equal(err.msg, "'HEAD:a.txt' is not a commit");
	assert_int_equal(zh_repo_resolve(small, sizeof(small), r, "HEAD", &err),
			 ZH_EINVALID);
	/* full ids resolve from the object's header: any case, loose or
	 * packed, and only commits */
	for (i = 0; c1[i]; i++)
		upper[i] = (char)toupper((unsigned char)c1[i]);
	upper[i] = '\0';
	assert_ok(zh_repo_resolve(hex, sizeof(hex), r, upper, &err));
	assert_string_equal(hex, c1);
	tree = fx_git(w, "rev-parse", "HEAD^{tree}", NULL);
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r, tree, &err),
			 ZH_EINVALID);
	zh_repo_free(r);
	free(fx_git(w, "gc", "-q", NULL));
	assert_ok(zh_repo_open(&r, w, false, &err));
	assert_ok(zh_repo_resolve(hex, sizeof(hex), r, c2, &err));
	assert_string_equal(hex, c2);
	assert_ok(zh_repo_resolve(hex, sizeof(hex), r, tagged, &err));
	assert_string_equal(hex, c1);
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r, tree, &err),
			 ZH_EINVALID);
	zh_repo_free(r);
	free(c1);
	free(c2);
	free(tagged);
	free(tree);
	free(w);
}

static void current_branch(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *w = make_work(*state, "w");
	char *bare = make_bare(*state, "b.git");
	char *b = NULL;

	assert_ok(zh_repo_open(&r, w, false, &err));
	assert_ok(zh_repo_current_branch(&b, r, &err));
	assert_string_equal(b, "refs/heads/main");
	free(b);
	free(fx_git(w, "checkout", "-q", "-b", "feature/ü-x", NULL));
	assert_ok(zh_repo_current_branch(&b, r, &err));
	assert_string_equal(b, "refs/heads/feature/ü-x");
	free(b);
	free(fx_git(w, "checkout", "-q", "--detach", NULL));
	b = (char *)1;
	assert_int_equal(zh_repo_current_branch(&b, r, &err), ZH_ENOTFOUND);
	assert_string_equal(err.msg, "HEAD is detached");
	assert_null(b);
	zh_repo_free(r);
	/* an empty repository: HEAD names an unborn branch */
	assert_ok(zh_repo_open(&r, bare, false, &err));
	assert_true(zh_repo_is_bare(r));
	assert_ok(zh_repo_current_branch(&b, r, &err));
	assert_string_equal(b, "refs/heads/main");
	free(b);
	{
		char hex[65];

		assert_int_equal(
		    zh_repo_resolve(hex, sizeof(hex), r, "HEAD", &err),
		    ZH_ENOTFOUND);
	}
	zh_repo_free(r);
	free(w);
	free(bare);
}

static void commit_info(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	struct zh_commit_info c;
	char *w = make_work(*state, "w");
	char *c1 = fx_git(w, "rev-parse", "HEAD", NULL);
	char *side, *merge, *c2;
	const char *msg = "Grüße: fix ü [skip ci]\n\nbody line\n  indented\n";

	fx_write(w, "b.txt", "b\n");
	free(fx_git(w, "add", "-A", NULL));
	free(fx_git(w, "commit", "-q", "--cleanup=verbatim", "-m", msg,
		    "--author=Jörg Ü <jörg@example.com>", NULL));
	c2 = fx_git(w, "rev-parse", "HEAD", NULL);
	assert_ok(zh_repo_open(&r, w, false, &err));
	assert_ok(zh_repo_commit(&c, r, "HEAD", &err));
	assert_string_equal(c.id, c2);
	assert_string_equal(c.message, msg);
	assert_string_equal(c.author, "Jörg Ü");
	assert_string_equal(c.author_email, "jörg@example.com");
	assert_int_equal(c.nparents, 1);
	assert_string_equal(c.first_parent, c1);
	zh_commit_info_dispose(&c);
	/* root commit */
	assert_ok(zh_repo_commit(&c, r, c1, &err));
	assert_int_equal(c.nparents, 0);
	assert_string_equal(c.first_parent, "");
	assert_string_equal(c.message, "first\n");
	assert_string_equal(c.author, "t");
	zh_commit_info_dispose(&c);
	/* merge commit */
	free(fx_git(w, "checkout", "-q", "-b", "side", c1, NULL));
	fx_write(w, "s.txt", "s\n");
	side = fx_commit(w, "side");
	free(fx_git(w, "checkout", "-q", "main", NULL));
	free(fx_git(w, "merge", "-q", "--no-ff", "-m", "merge side", "side",
		    NULL));
	merge = fx_git(w, "rev-parse", "HEAD", NULL);
	assert_ok(zh_repo_commit(&c, r, merge, &err));
	assert_int_equal(c.nparents, 2);
	assert_string_equal(c.first_parent, c2);
	zh_commit_info_dispose(&c);
	assert_int_equal(zh_repo_commit(&c, r, "nope", &err), ZH_ENOTFOUND);
	assert_null(c.message);
	zh_commit_info_dispose(&c);
	zh_commit_info_dispose(NULL);
	zh_repo_free(r);
	free(c1);
	free(c2);
	free(side);
	free(merge);
	free(w);
}

/* What `git zadig status` prints of a commit: its id and subject, read
 * from the raw commit when named by its full id, else resolved. */
static void commit_subjects(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *w = make_work(*state, "w"), *raw = fx_path(*state, "raw");
	char *c1 = fx_git(w, "rev-parse", "HEAD", NULL);
	char *tree = fx_git(w, "rev-parse", "HEAD^{tree}", NULL);
	char *c2, *tag, *odd, *bare, *subject = NULL;
	char id[72], body[1024];
	const struct {
		const char *headers, *message, *subject;
	} cases[] = {
	    /* leading blank lines, as git log skips them */
	    {"", "\n\nafter blanks\nsecond\n", "after blanks"},
	    /* a header over several lines, one of them blank but for the
	     * space that continues it */
	    {"gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQ\n "
	     "-----END PGP SIGNATURE-----\n",
	     "signed\n\nbody\n", "signed"},
	    /* no newline at the end, no message at all */
	    {"", "one line", "one line"},
	    {"", "", ""},
	};
	size_t i;

	fx_write(w, "b.txt", "b\n");
	free(fx_git(w, "add", "-A", NULL));
	free(fx_git(w, "commit", "-q", "--cleanup=verbatim", "-m",
		    "Grüße: fix ü [skip ci]\n\nbody line\n", NULL));
	c2 = fx_git(w, "rev-parse", "HEAD", NULL);
	free(fx_git(w, "tag", "-a", "-m", "tag message", "v1", c1, NULL));
	tag = fx_git(w, "rev-parse", "v1", NULL);
	assert_ok(zh_repo_open(&r, w, false, &err));

	assert_ok(
	    zh_repo_commit_subject(id, sizeof(id), &subject, r, c2, &err));
	assert_string_equal(id, c2);
	assert_string_equal(subject, "Grüße: fix ü [skip ci]");
	free(subject);
	/* names, abbreviations and tags are resolved (a tag peeled) */
	assert_ok(zh_repo_commit_subject(id, sizeof(id), &subject, r, "HEAD~1",
					 &err));
	assert_string_equal(id, c1);
	assert_string_equal(subject, "first");
	free(subject);
	assert_ok(
	    zh_repo_commit_subject(id, sizeof(id), &subject, r, tag, &err));
	assert_string_equal(id, c1);
	assert_string_equal(subject, "first");
	free(subject);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body),
			 "tree %s\nparent %s\nauthor t <t@e> 1700000000 +0000\n"
			 "committer t <t@e> 1700000000 +0000\n%s\n%s",
			 tree, c1, cases[i].headers, cases[i].message);
		if (!*cases[i].message) /* no blank line either */
			body[strlen(body) - 1] = '\0';
		fx_write(*state, "raw", body);
		odd = fx_git(w, "hash-object", "-t", "commit", "-w",
			     "--literally", raw, NULL);
		assert_ok(zh_repo_commit_subject(id, sizeof(id), &subject, r,
						 odd, &err));
		assert_string_equal(id, odd);
		assert_string_equal(subject, cases[i].subject);
		free(subject);
		free(odd);
	}
	/* not a commit, not there, not a revision */
	assert_int_equal(
	    zh_repo_commit_subject(id, sizeof(id), &subject, r, tree, &err),
	    ZH_EINVALID);
	assert_null(subject);
	bare = strdup(c2);
	bare[0] = bare[0] == '0' ? '1' : '0';
	assert_int_equal(
	    zh_repo_commit_subject(id, sizeof(id), &subject, r, bare, &err),
	    ZH_ENOTFOUND);
	assert_int_equal(
	    zh_repo_commit_subject(id, sizeof(id), &subject, r, "nope", &err),
	    ZH_ENOTFOUND);
	assert_null(subject);
	zh_repo_free(r);
	free(bare);
	free(tag);
	free(tree);
	free(c1);
	free(c2);
	free(raw);
	free(w);
}

static void oid_zero(void **state)
{
	(void)state;
	assert_true(zh_oid_is_zero(NULL));
	assert_true(zh_oid_is_zero(""));
	assert_true(zh_oid_is_zero("0000000000000000000000000000000000000000"));
	assert_true(zh_oid_is_zero("000000000000000000000000000000000000000000"
				   "0000000000000000000000"));
	assert_false(
	    zh_oid_is_zero("0000000000000000000000000000000000000001"));
	assert_false(
	    zh_oid_is_zero("1000000000000000000000000000000000000000"));
}

/* libgit2 1.5 cannot read SHA-256 repositories: opening one must fail
 * with a message, not crash or misread objects. That failure leaks
 * pcre2 match data inside libgit2 1.5, so it runs in a child process,
 * keeping the leak out of the sanitizer's report for this program. */
static void sha256_repo(void **state)
{
	char *dir = fx_path(*state, "s256");
	const char *argv[] = {"git", "init", "-q", "--object-format=sha256",
			      dir,   NULL};
	char msg[512] = "";
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (fx_run(NULL, NULL, argv) != 0) {
		free(dir);
		skip();
	}
	fx_write(dir, "f", "f\n");
	free(fx_commit(dir, "c"));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct zh_error err = {0};
		struct zh_repo *r = NULL;
		int rc = zh_repo_open(&r, dir, false, &err);

		if (write(fds[1], err.msg, strlen(err.msg)) < 0)
			_exit(3);
		_exit(rc == ZH_EGIT && !r ? 0 : 1);
	}
	close(fds[1]);
	n = read(fds[0], msg, sizeof(msg) - 1);
	close(fds[0]);
	assert_true(n > 0);
	msg[n] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(strstr(msg, "cannot open repository '"));
	assert_non_null(strstr(msg, "objectformat"));
	free(dir);
}

/* Make path (its directories too) with an age of age_s seconds. */
static void file_aged(const char *dir, const char *rel, time_t age_s)
{
	struct timespec t[2];
	char *p = fx_path(dir, rel);

	fx_write(dir, rel, "x\n");
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age_s;
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
	free(p);
}

/* The ref locks killed writers left: old ones anywhere under refs/ and
 * packed-refs.lock go; a fresh lock (a writer at work), a ref that is
 * not a lock and a lock outside refs/ stay. */
static void stale_ref_locks(void **state)
{
	const char *dir = *state;
	char *p;

	file_aged(dir, "refs/heads/team/topic.lock", 3600);
	file_aged(dir, "refs/notes/zadig.lock", ZH_STALE_LOCK_S + 5);
	file_aged(dir, "packed-refs.lock", 3600);
	file_aged(dir, "refs/tags/v1.lock", 2);
	file_aged(dir, "refs/heads/main", 3600);
	file_aged(dir, "index.lock", 3600);
	assert_int_equal(zh_ref_locks_remove_stale(dir), 3);
	p = fx_path(dir, "refs/heads/team/topic.lock");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	p = fx_path(dir, "packed-refs.lock");
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	p = fx_path(dir, "refs/tags/v1.lock");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	p = fx_path(dir, "refs/heads/main");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	p = fx_path(dir, "index.lock");
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	assert_int_equal(zh_ref_locks_remove_stale(dir), 0);
	assert_int_equal(zh_ref_locks_remove_stale("/nonexistent"), 0);
}

/* zh_repo_pack_without_deltas: the packbuilder's settings read from a
 * level above the repository's files; everything else as it was, and a
 * write still lands in the repository's config file. */
static int count_pack(const git_config_entry *e, void *payload)
{
	/* not git_config_foreach_match: libgit2 1.5 leaks the match data of
	 * every name its regex does not match */
	if (strncmp(e->name, "pack.", 5) == 0)
		(*(int *)payload)++;
	return 0;
}

static void pack_config_level(void **state)
{
	const char *dir = *state;
	char *git_dir = fx_path(dir, "p.git"), *got;
	git_repository *repo = NULL;
	git_config *cfg = NULL, *snap = NULL;
	int64_t v;
	int n = 0;

	free(fx_git(dir, "init", "-q", "--bare", git_dir, NULL));
	free(fx_git(git_dir, "config", "pack.windowMemory", "7", NULL));
	free(fx_git(git_dir, "config", "pack.deltaCacheSize", "9", NULL));
	assert_int_equal(git_repository_open(&repo, git_dir), 0);
	assert_int_equal(zh_repo_pack_without_deltas(repo), 0);
	/* again (a second notes push of the same instance): kept as it is */
	assert_int_equal(zh_repo_pack_without_deltas(repo), 0);
	assert_int_equal(git_repository_config_snapshot(&snap, repo), 0);
	assert_int_equal(
	    git_config_get_int64(&v, snap, "pack.bigFileThreshold"), 0);
	assert_int_equal(v, 1);
	/* above the file's 9 */
	assert_int_equal(git_config_get_int64(&v, snap, "pack.deltaCacheSize"),
			 0);
	assert_int_equal(v, 1);
	assert_int_equal(git_config_get_int64(&v, snap, "pack.windowMemory"),
			 0);
	assert_int_equal(v, 7);
	assert_int_equal(git_config_foreach(snap, count_pack, &n), 0);
	assert_int_equal(n, 4);
	git_config_free(snap);
	assert_int_equal(git_repository_config(&cfg, repo), 0);
	assert_int_equal(git_config_set_string(cfg, "zadig.other", "y"), 0);
	git_config_free(cfg);
	git_repository_free(repo);
	got = fx_git(git_dir, "config", "--get", "zadig.other", NULL);
	assert_string_equal(got, "y");
	free(got);
	got = fx_git(git_dir, "config", "--get", "pack.deltaCacheSize", NULL);
	assert_string_equal(got, "9");
	free(got);
	free(git_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_discover, setup, teardown),
	    cmocka_unit_test_setup_teardown(open_git_dir_env, setup, teardown),
	    cmocka_unit_test_setup_teardown(repo_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(config_get_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(resolve_revs, setup, teardown),
	    cmocka_unit_test_setup_teardown(current_branch, setup, teardown),
	    cmocka_unit_test_setup_teardown(commit_info, setup, teardown),
	    cmocka_unit_test_setup_teardown(commit_subjects, setup, teardown),
	    cmocka_unit_test(oid_zero),
	    cmocka_unit_test_setup_teardown(sha256_repo, setup, teardown),
	    cmocka_unit_test_setup_teardown(stale_ref_locks, setup, teardown),
	    cmocka_unit_test_setup_teardown(pack_config_level, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
