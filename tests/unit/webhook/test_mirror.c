/* gitrepo/mirror.c: mirror directories never leave the state directory;
 * a mirror is created, then updated, from a local "remote". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gitrepo/gitrepo.h"
#include "gitrepo/mirror.h"
#include "tests/unit/gitrepo/gitfix.h"
#include "util/error.h"

#include "util/banned.h"

static void path_ok(const char *project, const char *want)
{
	struct zh_error err = {0};
	char *p = NULL;

	if (zh_repo_mirror_path(&p, "/state", project, &err) != 0)
		fail_msg("'%s': %s", project, err.msg);
	assert_string_equal(p, want);
	free(p);
}

static void path_bad(const char *project)
{
	struct zh_error err = {0};
	char *p = NULL;

	if (zh_repo_mirror_path(&p, "/state", project, &err) != ZH_EINVALID)
		fail_msg("'%s' accepted as '%s'", project, p ? p : "");
	assert_null(p);
}

static void test_paths(void **state)
{
	(void)state;
	path_ok("group/voting-app", "/state/mirrors/group/voting-app.git");
	path_ok("a/b/c.d_e", "/state/mirrors/a/b/c.d_e.git");
	path_ok("we ird/na$me", "/state/mirrors/we_ird/na_me.git");
	path_ok("..a/b..", "/state/mirrors/..a/b...git");
	path_bad("");
	path_bad(NULL);
	path_bad("/etc/passwd");
	path_bad("..");
	path_bad("../x");
	path_bad("a/../../x");
	path_bad("a/..");
	path_bad("a/./b");
	path_bad("./a");
	path_bad("a//b");
	path_bad("a/");
}

static void test_mirror(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *dir = fx_tmpdir(), *remote = fx_path(dir, "remote"),
	     *sd = fx_path(dir, "state"), *c1, *c2, *c3, *c4, *mb, *lock;
	struct timespec old[2];
	char hex[65];
	int fd;

	(void)state;
	mkdir(remote, 0700);
	free(fx_git(remote, "init", "-q", "-b", "main", NULL));
	fx_write(remote, "a.txt", "a\n");
	c1 = fx_commit(remote, "one");
	if (zh_repo_mirror(&r, sd, "g/p", remote, NULL, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_true(zh_repo_is_bare(r));
	assert_non_null(strstr(zh_repo_git_dir(r), "/state/mirrors/g/p.git"));
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r, "main", &err), 0);
	assert_string_equal(hex, c1);
	zh_repo_free(r);

	/* a new commit on a branch and a tag reach the mirror on the next
	 * call */
	free(fx_git(remote, "checkout", "-q", "-b", "feature", NULL));
	fx_write(remote, "b.txt", "b\n");
	c2 = fx_commit(remote, "two");
	free(fx_git(remote, "tag", "v1", NULL));
	free(fx_git(remote, "checkout", "-q", "main", NULL));
	fx_write(remote, "c.txt", "c\n");
	c3 = fx_commit(remote, "three");
	if (zh_repo_mirror(&r, sd, "g/p", remote, NULL, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(
	    zh_repo_resolve(hex, sizeof(hex), r, "refs/heads/feature", &err),
	    0);
	assert_string_equal(hex, c2);
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r, "v1", &err), 0);
	assert_string_equal(hex, c2);
	assert_int_equal(
	    zh_repo_merge_base(hex, sizeof(hex), r, "feature", c3, &err), 0);
	assert_string_equal(hex, c1);
	assert_int_equal(
	    zh_repo_merge_base(hex, sizeof(hex), r, "nope", c3, &err),
	    ZH_ENOTFOUND);
	zh_repo_free(r);

	/* a merge request's head (GitLab keeps a fork's commits there
	 * only) reaches the mirror too; its merge-result ref does not */
	free(fx_git(remote, "update-ref", "refs/merge-requests/3/head", c2,
		    NULL));
	free(fx_git(remote, "update-ref", "refs/merge-requests/3/merge", c3,
		    NULL));
	if (zh_repo_mirror(&r, sd, "g/p", remote, NULL, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r,
					 "refs/merge-requests/3/head", &err),
			 0);
	assert_string_equal(hex, c2);
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r,
					 "refs/merge-requests/3/merge", &err),
			 ZH_ENOTFOUND);
	zh_repo_free(r);

	/* a ref lock a killed fetch left: a fresh one fails the fetch and
	 * stays; once stale (an hour old here) it goes and the fetch goes
	 * through */
	lock = fx_path(dir, "state/mirrors/g/p.git/refs/heads/main.lock");
	fd = open(lock, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
	fx_write(remote, "d.txt", "d\n");
	c4 = fx_commit(remote, "four");
	assert_int_equal(
	    zh_repo_mirror(&r, sd, "g/p", remote, NULL, NULL, &err), ZH_EGIT);
	assert_null(r);
	assert_int_equal(access(lock, F_OK), 0);
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 3600;
	old[1] = old[0];
	assert_int_equal(utimensat(AT_FDCWD, lock, old, 0), 0);
	if (zh_repo_mirror(&r, sd, "g/p", remote, NULL, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(access(lock, F_OK), -1);
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r, "main", &err), 0);
	assert_string_equal(hex, c4);
	zh_repo_free(r);

	/* a mirror whose creation a kill cut short (directories, no HEAD
	 * yet) is finished and fetched */
	fx_write(dir, "state/mirrors/g/r.git/refs/heads/.keep", "");
	fx_write(dir, "state/mirrors/g/r.git/objects/pack/.keep", "");
	if (zh_repo_mirror(&r, sd, "g/r", remote, NULL, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r, "main", &err), 0);
	assert_string_equal(hex, c4);
	zh_repo_free(r);

	/* an unreachable remote is an error naming the project, not the url */
	assert_int_equal(zh_repo_mirror(&r, sd, "g/q", "/nonexistent/repo.git",
					"user", "pa55word", &err),
			 ZH_EGIT);
	assert_null(r);
	assert_null(strstr(err.msg, "pa55word"));
	assert_non_null(strstr(err.msg, "g/q"));

	/* a symbolic link cannot lead a mirror out of the state directory */
	mb = fx_path(dir, "state/mirrors/evil");
	assert_int_equal(symlink(dir, mb), 0);
	assert_int_equal(
	    zh_repo_mirror(&r, sd, "evil/x", remote, NULL, NULL, &err),
	    ZH_EINVALID);
	assert_null(r);

	free(mb);
	free(c1);
	free(c2);
	free(c3);
	free(c4);
	free(lock);
	free(remote);
	free(sd);
	fx_rmrf(dir);
	free(dir);
}

static size_t packs(const char *git_dir)
{
	char *dir = fx_path(git_dir, "objects/pack");
	struct dirent *e;
	size_t n = 0, k;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d)))
		if ((k = strlen(e->d_name)) > 5 &&
		    strcmp(e->d_name + k - 5, ".pack") == 0)
			n++;
	closedir(d);
	free(dir);
	return n;
}

/* A fetch per push adds a pack per push: past 16 they are rolled up
 * (git repack --geometric), and every commit is still there. */
static void test_mirror_packs(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *dir = fx_tmpdir(), *remote = fx_path(dir, "remote"),
	     *sd = fx_path(dir, "state"), *first, *last = NULL;
	char hex[65], name[16];
	size_t i, most = 0, n;

	(void)state;
	mkdir(remote, 0700);
	free(fx_git(remote, "init", "-q", "-b", "main", NULL));
	fx_write(remote, "a.txt", "a\n");
	first = fx_commit(remote, "one");
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		fx_write(remote, name, name);
		free(last);
		last = fx_commit(remote, name);
		if (zh_repo_mirror(&r, sd, "g/p", remote, NULL, NULL, &err) !=
		    0)
			fail_msg("%s", err.msg);
		n = packs(zh_repo_git_dir(r));
		most = n > most ? n : most;
		zh_repo_free(r);
	}
	if (most > 17)
		fail_msg("%zu packs at most, past the 16 that start a roll-up",
			 most);
	if (zh_repo_mirror(&r, sd, "g/p", remote, NULL, NULL, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(zh_repo_resolve(hex, sizeof(hex), r, "main", &err), 0);
	assert_string_equal(hex, last);
	assert_int_equal(
	    zh_repo_merge_base(hex, sizeof(hex), r, first, last, &err), 0);
	assert_string_equal(hex, first);
	zh_repo_free(r);
	free(first);
	free(last);
	free(remote);
	free(sd);
	fx_rmrf(dir);
	free(dir);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	size_t n;

	if (!f)
		return NULL;
	s = malloc(65536);
	assert_non_null(s);
	n = fread(s, 1, 65535, f);
	s[n] = 0;
	fclose(f);
	return s;
}

/* The git that rolls the packs up gets no secret of the receiver's
 * environment (a token the config reads with ${NAME}): only what git
 * needs to run. A `git` earlier in PATH records the environment of the
 * repack it is asked for, then runs the real one. */
static void test_mirror_packs_env(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *dir = fx_tmpdir(), *remote = fx_path(dir, "remote"),
	     *sd = fx_path(dir, "state"), *bin = fx_path(dir, "bin"),
	     *log = fx_path(dir, "bin/env.log"), *wrapper, *got;
	char real[4096], script[8192], path[8192], name[16];
	const char *old = getenv("PATH");
	FILE *f;
	size_t i;

	(void)state;
	f = popen("command -v git", "r");
	assert_non_null(f);
	assert_non_null(fgets(real, sizeof(real), f));
	pclose(f);
	real[strcspn(real, "\n")] = 0;
	mkdir(bin, 0700);
	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "[ \"$2\" = repack ] && env >\"$(dirname \"$0\")/env.log\"\n"
		 "exec %s \"$@\"\n",
		 real);
	fx_write(bin, "git", script);
	wrapper = fx_path(bin, "git");
	assert_int_equal(chmod(wrapper, 0700), 0);
	snprintf(path, sizeof(path), "%s:%s", bin, old ? old : "/usr/bin:/bin");
	old = old ? strdup(old) : NULL;
	setenv("PATH", path, 1);
	setenv("ZH_TEST_ZADIG_TOKEN", "s3cret-from-env", 1);
	setenv("ZH_TEST_OTHER", "other-value", 1);

	mkdir(remote, 0700);
	free(fx_git(remote, "init", "-q", "-b", "main", NULL));
	for (i = 0; i < 18; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		fx_write(remote, name, name);
		free(fx_commit(remote, name));
		if (zh_repo_mirror(&r, sd, "g/p", remote, NULL, NULL, &err) !=
		    0)
			fail_msg("%s", err.msg);
		zh_repo_free(r);
	}
	unsetenv("ZH_TEST_OTHER");
	unsetenv("ZH_TEST_ZADIG_TOKEN");
	if (old)
		setenv("PATH", old, 1);
	free((char *)old);

	got = read_all(log);
	if (!got)
		fail_msg("the repack never ran through %s", wrapper);
	if (strstr(got, "s3cret-from-env"))
		fail_msg("a secret reached git repack's environment:\n%s", got);
	if (strstr(got, "other-value"))
		fail_msg("the receiver's whole environment reached git "
			 "repack:\n%s",
			 got);
	assert_non_null(strstr(got, "PATH="));
	free(got);
	free(wrapper);
	free(log);
	free(bin);
	free(remote);
	free(sd);
	fx_rmrf(dir);
	free(dir);
}

/* A git server over HTTP on 127.0.0.1 that refuses everyone: 401 with a
 * Basic challenge to every request, counting those that brought an
 * Authorization header; with to, it redirects every request there
 * (http://localhost:<to>, the same path) instead. */
struct refuser {
	int fd;
	unsigned short port, to;
	int asked, authorized;
	pthread_t thread;
};

static void *refuse_all(void *arg)
{
	static const char reply[] =
	    "HTTP/1.1 401 Unauthorized\r\n"
	    "WWW-Authenticate: Basic realm=\"git\"\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	struct refuser *g = arg;
	char req[8192];
	size_t n;
	ssize_t k;
	int c;

	while ((c = accept(g->fd, NULL, NULL)) >= 0) {
		n = 0;
		while (n < sizeof(req) - 1 &&
		       (k = read(c, req + n, sizeof(req) - 1 - n)) > 0) {
			n += (size_t)k;
			req[n] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[n] = '\0';
		g->asked++;
		if (strstr(req, "\r\nAuthorization: "))
			g->authorized++;
		if (g->to) {
			char path[4096] = "/", moved[4300];
			int len;

			sscanf(req, "%*s %4095s", path);
			len = snprintf(moved, sizeof(moved),
				       "HTTP/1.1 302 Found\r\nLocation: "
				       "http://localhost:%u%s\r\n"
				       "Content-Length: 0\r\nConnection: "
				       "close\r\n\r\n",
				       g->to, path);
			if (write(c, moved, (size_t)len) < 0)
				break;
		} else if (write(c, reply, sizeof(reply) - 1) < 0) {
			break;
		}
		close(c);
	}
	return NULL;
}

static void refuser_start(struct refuser *g)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	memset(g, 0, sizeof(*g));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(g->fd >= 0);
	assert_int_equal(bind(g->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(g->fd, 16), 0);
	assert_int_equal(getsockname(g->fd, (struct sockaddr *)&a, &len), 0);
	g->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&g->thread, NULL, refuse_all, g), 0);
}

static void refuser_stop(struct refuser *g)
{
	shutdown(g->fd, SHUT_RDWR);
	pthread_join(g->thread, NULL);
	close(g->fd);
}

/* zh_repo_mirror of url fails; its message holds want and none of the
 * texts in bad (NULL-terminated). */
static void mirror_fails(const char *sd, const char *url, const char *user,
			 const char *password, const char *want,
			 const char *const *bad)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;

	if (zh_repo_mirror(&r, sd, "g/p", url, user, password, &err) == 0)
		fail_msg("mirrored from a remote that refuses everyone");
	assert_null(r);
	if (!strstr(err.msg, want))
		fail_msg("'%s' lacks '%s'", err.msg, want);
	for (; *bad; bad++)
		if (strstr(err.msg, *bad))
			fail_msg("'%s' holds '%s'", err.msg, *bad);
}

/* A remote that refuses the configured credentials says so, naming the
 * user (never the password): libgit2's own text, when the credentials
 * callback gives up, read as if none were configured. */
static void test_mirror_credentials_refused(void **state)
{
	static const char *const bad[] = {"s3cret-pw", "no callback set", NULL};
	struct refuser g;
	char *dir = fx_tmpdir(), *sd = fx_path(dir, "state");
	char url[128];

	(void)state;
	refuser_start(&g);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/g/p.git", g.port);
	mirror_fails(sd, url, "oauth2", "s3cret-pw",
		     "cannot reach the remote of 'g/p': the remote refused "
		     "the credentials configured for it (user 'oauth2')",
		     bad);
	/* asked once without, once with them: not again */
	assert_int_equal(g.authorized, 1);
	/* none configured */
	mirror_fails(sd, url, NULL, NULL,
		     "the remote asks for credentials and none are "
		     "configured",
		     bad);
	/* those of the url, refused */
	snprintf(url, sizeof(url), "http://bob:s3cret-pw@127.0.0.1:%u/g/p.git",
		 g.port);
	mirror_fails(sd, url, NULL, NULL,
		     "the remote refused the credentials of its url (user "
		     "'bob')",
		     bad);
	refuser_stop(&g);
	free(sd);
	fx_rmrf(dir);
	free(dir);
}

/* The configured credentials go to the configured host only: a remote
 * that redirects to another host (localhost is not 127.0.0.1) does not
 * get them there. */
static void test_mirror_credentials_not_redirected(void **state)
{
	static const char *const bad[] = {"s3cret-pw", NULL};
	struct refuser to, from;
	char *dir = fx_tmpdir(), *sd = fx_path(dir, "state");
	char url[128], want[160];

	(void)state;
	refuser_start(&to);
	refuser_start(&from);
	from.to = to.port;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/g/p.git", from.port);
	snprintf(want, sizeof(want),
		 "redirected to http://localhost:%u, which is not the host "
		 "its credentials are for",
		 to.port);
	mirror_fails(sd, url, "oauth2", "s3cret-pw", want, bad);
	assert_true(to.asked > 0);
	assert_int_equal(to.authorized, 0);
	refuser_stop(&from);
	refuser_stop(&to);
	free(sd);
	fx_rmrf(dir);
	free(dir);
}

/* A symlink already under <state_dir>/mirrors never leads a directory
 * of a new mirror outside state_dir: nothing is made beyond it. */
static void test_mirror_symlink_not_followed(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *dir = fx_tmpdir(), *sd = fx_path(dir, "state"),
	     *mirrors = fx_path(dir, "state/mirrors"),
	     *link = fx_path(dir, "state/mirrors/grp"),
	     *outside = fx_path(dir, "outside"),
	     *made = fx_path(dir, "outside/sub");
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(sd, 0700), 0);
	assert_int_equal(mkdir(mirrors, 0700), 0);
	assert_int_equal(mkdir(outside, 0700), 0);
	assert_int_equal(symlink(outside, link), 0);
	assert_int_not_equal(zh_repo_mirror(&r, sd, "grp/sub/deeper/lib",
					    "http://127.0.0.1:1/r.git", NULL,
					    NULL, &err),
			     0);
	assert_null(r);
	if (!strstr(err.msg, "resolves outside"))
		fail_msg("%s", err.msg);
	assert_int_equal(stat(made, &st), -1);
	free(made);
	free(outside);
	free(link);
	free(mirrors);
	free(sd);
	fx_rmrf(dir);
	free(dir);
}

/* A mirror's url on this machine names a repository whose owner is
 * checked as git checks it: another user's is refused, with git's fix
 * (libgit2's local transport read it, its own check being off). */
static void test_mirror_local_url_of_another_user(void **state)
{
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char *dir = fx_tmpdir(), *remote = fx_path(dir, "remote"),
	     *sd = fx_path(dir, "state"), *home = fx_path(dir, "home"), *c1,
	     *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	mkdir(home, 0700);
	setenv("HOME", home, 1);
	mkdir(remote, 0700);
	free(fx_git(remote, "init", "-q", "-b", "main", NULL));
	fx_write(remote, "a.txt", "a\n");
	c1 = fx_commit(remote, "one");
	{
		char cmd[4200];

		snprintf(cmd, sizeof(cmd), "chown -R 65534:65534 '%s'", remote);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_not_equal(
	    zh_repo_mirror(&r, sd, "g/p", remote, NULL, NULL, &err), 0);
	assert_null(r);
	if (!strstr(err.msg, "is owned by another user"))
		fail_msg("%s", err.msg);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_home);
	free(c1);
	free(home);
	free(sd);
	free(remote);
	fx_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_mirror),
	    cmocka_unit_test(test_mirror_packs),
	    cmocka_unit_test(test_mirror_packs_env),
	    cmocka_unit_test(test_mirror_credentials_refused),
	    cmocka_unit_test(test_mirror_credentials_not_redirected),
	    cmocka_unit_test(test_mirror_symlink_not_followed),
	    cmocka_unit_test(test_mirror_local_url_of_another_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
