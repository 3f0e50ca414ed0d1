#include "gitrepo/mirror.h"
#include "gitrepo/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <git2.h>

#include "util/buf.h"

#include "util/banned.h"

extern char **environ;

/* A fetch that brings objects adds a pack, so a mirror fetched before
 * every event of its project gathers one per push, and a lookup of an
 * object an older pack holds searches them all: with 300 packs, 4 ms for
 * one lookup in a fresh process, against 0.2 ms once they are one. Past
 * this many, they are rolled up. */
#define MIRROR_PACKS 16

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

static bool allowed(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int zh_repo_mirror_path(char **out, const char *state_dir, const char *project,
			struct zh_error *err)
{
	struct zh_buf b;
	const char *p, *seg;
	int rc;

	*out = NULL;
	if (!state_dir || !*state_dir)
		return zh_error_set(err, ZH_EINVALID, "no state directory");
	if (!project || !*project || project[0] == '/' ||
	    project[strlen(project) - 1] == '/' || strlen(project) > 1024)
		return zh_error_set(
		    err, ZH_EINVALID,
		    "project name '%.200s' cannot name a mirror",
		    project ? project : "");
	/* every segment must be non-empty and neither "." nor ".." */
	for (seg = project;; seg = p + 1) {
		size_t n;

		p = strchr(seg, '/');
		n = p ? (size_t)(p - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return zh_error_set(err, ZH_EINVALID,
					    "project name '%.200s' cannot "
					    "name a mirror",
					    project);
		if (!p)
			break;
	}
	zh_buf_init(&b, PATH_MAX);
	if ((rc = zh_buf_printf(&b, "%s/mirrors/", state_dir)) < 0)
		goto out;
	for (p = project; *p && rc == 0; p++) {
		char c = *p == '/' || allowed(*p) ? *p : '_';

		rc = zh_buf_append(&b, &c, 1);
	}
	if (rc == 0)
		rc = zh_buf_puts(&b, ".git");
	if (rc < 0) {
		rc = zh_error_set(err, rc, "mirror path too long");
		goto out;
	}
	if (!(*out = zh_buf_detach(&b)))
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
out:
	zh_buf_dispose(&b);
	return rc;
}

/* mkdir -p for the directories of path below base (which must exist or
 * is created too), each 0700. */
static int mkdirs(const char *path, struct zh_error *err)
{
	char *tmp = strdup(path), *p;
	int rc = 0;

	if (!tmp)
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (p = tmp + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		{
			char c = *p;

			*p = '\0';
			if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
				rc = zh_error_set(err, ZH_EIO,
						  "cannot create directory "
						  "'%s': %s",
						  tmp, strerror(errno));
			*p = c;
			if (!c)
				break;
		}
	}
	free(tmp);
	return rc;
}

/* dir must resolve below <state_dir>/mirrors (or to it, allow_equal). */
static int check_inside(const char *state_dir, const char *dir,
			bool allow_equal, struct zh_error *err)
{
	char base[PATH_MAX + 16], real[PATH_MAX];
	char *root;
	size_t n;
	int rc = 0;

	snprintf(base, sizeof(base), "%s/mirrors", state_dir);
	if (!(root = realpath(base, NULL)))
		return zh_error_set(err, ZH_EIO, "cannot resolve '%s': %s",
				    base, strerror(errno));
	if (!realpath(dir, real)) {
		rc = zh_error_set(err, ZH_EIO, "cannot resolve '%s': %s", dir,
				  strerror(errno));
		goto out;
	}
	n = strlen(root);
	if (strncmp(real, root, n) != 0 ||
	    (real[n] != '/' && !(allow_equal && real[n] == '\0')))
		rc = zh_error_set(err, ZH_EINVALID,
				  "mirror '%s' resolves outside '%s'", dir,
				  root);
out:
	free(root);
	return rc;
}

/* Make dir (below base, <state_dir>/mirrors) and its parents one at a
 * time, each checked to resolve inside base before anything is made in
 * it: a symlink already there never leads a mkdir outside state_dir. */
static int mkdirs_inside(const char *state_dir, const char *base,
			 const char *dir, struct zh_error *err)
{
	size_t n = strlen(base);
	char *tmp, *p;
	int rc = 0;

	if (strcmp(dir, base) == 0) /* a project of one segment */
		return 0;
	if (strncmp(dir, base, n) != 0 || dir[n] != '/')
		return zh_error_set(err, ZH_EINVALID,
				    "mirror '%s' is not below '%s'", dir, base);
	if (!(tmp = strdup(dir)))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (p = tmp + n + 1; rc == 0; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			rc = zh_error_set(err, ZH_EIO,
					  "cannot create directory '%s': %s",
					  tmp, strerror(errno));
		else
			rc = check_inside(state_dir, tmp, false, err);
		*p = c;
		if (!c)
			break;
	}
	free(tmp);
	return rc;
}

/* A url on this machine (a path, file://) names a repository whose owner
 * is checked as git checks it (safe.directory), as for every repository
 * opened here: libgit2's local transport does not check it, its own check
 * being off (init_libgit2). */
static int check_local(const char *project, const char *url,
		       struct zh_error *err)
{
	const char *path = strncmp(url, "file://", 7) == 0 ? url + 7
			   : url[0] == '/'		   ? url
							   : NULL;
	git_repository *r = NULL;
	struct zh_error e = {0};
	int rc;

	if (!path)
		return 0;
	rc = zh_git_open(&r, path, &e);
	git_repository_free(r);
	/* none there: the fetch says so, naming the project */
	if (rc == ZH_ENOTFOUND)
		return 0;
	return rc < 0 ? zh_error_set(err, rc,
				     "cannot reach the remote of '%s': %s",
				     project, e.msg)
		      : 0;
}

static int fetch(git_repository *repo, const char *project, const char *url,
		 const char *username, const char *password,
		 struct zh_error *err)
{
	/* GitLab keeps the commits of a merge request from a fork only
	 * under refs/merge-requests/<iid>/head: read like a branch's */
	static char *specs[] = {
	    "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
	    "+refs/merge-requests/*/head:refs/merge-requests/*/head"};
	git_strarray refspecs = {specs, 3};
	git_fetch_options fo;
	git_remote *remote = NULL;
	git_buf head = {0};
	struct zh_remote_creds c = {url, username, password, 0};
	int rc = 0;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	zh_remote_callbacks_init(&fo.callbacks, &c);
	fo.prune = GIT_FETCH_PRUNE;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if (zh_remote_new(&remote, repo, url) < 0 ||
	    git_remote_connect(remote, GIT_DIRECTION_FETCH, &fo.callbacks, NULL,
			       NULL) < 0) {
		rc = zh_error_set(err, ZH_EGIT,
				  "cannot reach the remote of '%s': %s",
				  project, git_msg());
		goto out;
	}
	/* an empty remote has no default branch: HEAD stays as it is */
	if (git_remote_default_branch(&head, remote) == 0 && head.ptr &&
	    strncmp(head.ptr, "refs/heads/", 11) == 0)
		git_repository_set_head(repo, head.ptr);
	rc = git_remote_fetch(remote, &refspecs, &fo, "zadig-hook mirror");
	/* a ref lock a killed fetch left would fail every later one: once
	 * stale, it goes and the fetch is tried again */
	if (rc < 0 && zh_ref_locks_remove_stale(git_repository_path(repo)) > 0)
		rc = git_remote_fetch(remote, &refspecs, &fo,
				      "zadig-hook mirror");
	if (rc < 0)
		rc = zh_error_set(err, ZH_EGIT, "cannot fetch '%s': %s",
				  project, git_msg());
	git_remote_disconnect(remote);
out:
	git_buf_dispose(&head);
	git_remote_free(remote);
	return rc;
}

static size_t count_packs(const char *git_dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	size_t n = 0, k;
	DIR *d;

	if ((size_t)snprintf(path, sizeof(path), "%s/objects/pack", git_dir) >=
		sizeof(path) ||
	    !(d = opendir(path)))
		return 0;
	while ((e = readdir(d)))
		if ((k = strlen(e->d_name)) > 5 &&
		    strcmp(e->d_name + k - 5, ".pack") == 0)
			n++;
	closedir(d);
	return n;
}

/* Whether git, run on a mirror, is given the variable env ("NAME=value")
 * of the receiver's environment: what it needs to find itself and its
 * temporary files, and the locale; nothing else (a token the config
 * reads with ${NAME} is in that environment too). */
static bool git_env_kept(const char *env)
{
	static const char *const keep[] = {
	    "PATH=", "HOME=", "TMPDIR=", "TZ=", "LANG=", "LANGUAGE=", "LC_"};
	size_t i;

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (strncmp(env, keep[i], strlen(keep[i])) == 0)
			return true;
	return false;
}

/* Roll the packs of the mirror at git_dir up once there are more than
 * MIRROR_PACKS: `git repack --geometric=2 -d`, which merges the small
 * packs and the loose objects (the notes written there) and leaves a big
 * pack alone, so it stays cheap however large the repository. git, not
 * libgit2, which has no repack (its pack builder recomputes every delta);
 * run without a shell, with a fixed command line and the environment
 * git_env_kept allows. Best effort: where git is missing or fails, the
 * packs stay and are tried again next time. */
static void roll_up_packs(const char *git_dir)
{
	char arg[PATH_MAX + 16];
	char *argv[] = {"git", arg, "repack", "-d", "-q", "--geometric=2", 0};
	posix_spawn_file_actions_t fa;
	char **env;
	size_t n = 0, i;
	pid_t pid;
	int st;

	if (count_packs(git_dir) <= MIRROR_PACKS ||
	    (size_t)snprintf(arg, sizeof(arg), "--git-dir=%s", git_dir) >=
		sizeof(arg))
		return;
	while (environ[n])
		n++;
	if (!(env = calloc(n + 1, sizeof(*env))))
		return;
	for (i = n = 0; environ[i]; i++)
		if (git_env_kept(environ[i]))
			env[n++] = environ[i];
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "git", &fa, NULL, argv, env) == 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	posix_spawn_file_actions_destroy(&fa);
	free(env);
}

int zh_repo_mirror(struct zh_repo **out, const char *state_dir,
		   const char *project, const char *url, const char *username,
		   const char *password, struct zh_error *err)
{
	git_repository *repo = NULL;
	char *dir = NULL;
	char base[PATH_MAX + 16];
	bool inited = false;
	int rc;

	*out = NULL;
	if (!url || !*url)
		return zh_error_set(err, ZH_EINVALID, "no url for '%s'",
				    project ? project : "");
	if ((rc = zh_repo_mirror_path(&dir, state_dir, project, err)) < 0)
		return rc;
	snprintf(base, sizeof(base), "%s/mirrors", state_dir);
	if ((rc = mkdirs(base, err)) < 0)
		goto out;
	if (git_libgit2_init() < 0) {
		rc = zh_error_set(err, ZH_EGIT, "cannot initialise libgit2: %s",
				  git_msg());
		goto out;
	}
	inited = true;
	if (access(dir, F_OK) == 0) {
		if ((rc = check_inside(state_dir, dir, false, err)) < 0)
			goto out;
		/* one whose creation was cut short (a kill during the init)
		 * is finished now: an init keeps what is there */
		if (git_repository_open_bare(&repo, dir) < 0 &&
		    git_repository_init(&repo, dir, 1) < 0) {
			rc = zh_error_set(err, ZH_EGIT,
					  "cannot open mirror '%s': %s", dir,
					  git_msg());
			goto out;
		}
	} else {
		char *slash = strrchr(dir, '/');

		/* create the parents and check them before the repository */
		*slash = '\0';
		rc = mkdirs_inside(state_dir, base, dir, err);
		*slash = '/';
		if (rc < 0)
			goto out;
		if (git_repository_init(&repo, dir, 1) < 0) {
			rc = zh_error_set(err, ZH_EGIT,
					  "cannot create mirror '%s': %s", dir,
					  git_msg());
			goto out;
		}
		if ((rc = check_inside(state_dir, dir, false, err)) < 0)
			goto out;
	}
	if ((rc = check_local(project, url, err)) < 0 ||
	    (rc = fetch(repo, project, url, username, password, err)) < 0)
		goto out;
	git_repository_free(repo);
	repo = NULL;
	roll_up_packs(dir);
	rc = zh_repo_open(out, dir, false, err);
out:
	git_repository_free(repo);
	if (inited)
		git_libgit2_shutdown();
	free(dir);
	return rc;
}

int zh_repo_merge_base(char *hex, size_t hexsize, struct zh_repo *r,
		       const char *a, const char *b, struct zh_error *err)
{
	char ha[65], hb[65];
	git_oid oa, ob, base;
	int rc;

	if ((rc = zh_repo_resolve(ha, sizeof(ha), r, a, err)) < 0 ||
	    (rc = zh_repo_resolve(hb, sizeof(hb), r, b, err)) < 0)
		return rc;
	if (git_oid_fromstr(&oa, ha) < 0 || git_oid_fromstr(&ob, hb) < 0)
		return zh_error_set(err, ZH_EGIT, "bad object id");
	rc = git_merge_base(&base, zh_repo_raw(r), &oa, &ob);
	if (rc == GIT_ENOTFOUND)
		return zh_error_set(err, ZH_ENOTFOUND,
				    "'%s' and '%s' share no history", a, b);
	if (rc < 0)
		return zh_error_set(err, ZH_EGIT, "cannot find merge base: %s",
				    git_msg());
	if (hexsize < GIT_OID_HEXSZ + 1)
		return zh_error_set(err, ZH_EINVALID, "buffer too small");
	git_oid_tostr(hex, hexsize, &base);
	return 0;
}
