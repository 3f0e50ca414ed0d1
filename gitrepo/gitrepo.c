#include "gitrepo/gitrepo.h"
#include "gitrepo/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "util/buf.h"
#include "util/perm.h"

#include "util/banned.h"

struct zh_repo {
	git_repository *repo;
	char *git_dir;
	bool bare;
	bool shared_read; /* shared holds core.sharedRepository */
	int shared;
};

/* A path longer than this is not a path git could check out anyway. */
#define PATH_CAP (64 * 1024)

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

/* libgit2 is initialised once and never shut down: its global state is
 * reference counted and cheap to keep, and a process opens repositories
 * repeatedly (receiver workers). Nothing TLS-related is configured here so
 * that the hook's start-up stays lean (shared/perf-notes.md). */
static void init_libgit2(void)
{
	init_result = git_libgit2_init();
	/* No SHA-1 of every object read, as git itself does not when
	 * reading: the objects were hashed when they were written (by
	 * index-pack for a push). About 5% of `git zadig status`. */
	if (init_result >= 0)
		git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	/* The owner of a repository is checked as git checks it, by
	 * open_checked: libgit2 1.5.1's own check reads safe.directory
	 * itself and crashes on a line without a value ([safe] directory),
	 * which git reads as an empty one. */
	if (init_result >= 0)
		git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
}

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

static int git_fail(struct zh_error *err, const char *what, const char *subj)
{
	return zh_error_set(err, ZH_EGIT, "%s '%s': %s", what, subj, git_msg());
}

static char *dup_str(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* Length of p without trailing slashes (keeps a lone "/"). */
static size_t trim_slashes(const char *p, size_t n)
{
	while (n > 1 && p[n - 1] == '/')
		n--;
	return n;
}

/* libgit2 1.5's set_workdir leaks when the directory does not change,
 * so it is only called for a different one. */
static bool same_dir(const char *workdir, const char *dir)
{
	char *a, *b;
	bool same;

	if (!workdir)
		return false;
	a = realpath(workdir, NULL);
	b = realpath(dir, NULL);
	same = a && b && strcmp(a, b) == 0;
	free(a);
	free(b);
	return same;
}

static int open_repo(git_repository **out, const char *path, bool discover)
{
	const char *gd = getenv("GIT_DIR");
	const char *wt;
	int rc;

	if (!discover || !gd || !*gd)
		return git_repository_open_ext(
		    out, path, discover ? 0 : GIT_REPOSITORY_OPEN_NO_SEARCH,
		    NULL);
	/* git exports GIT_DIR (and GIT_WORK_TREE for --work-tree) to its
	 * subcommands; libgit2 1.5's FROM_ENV refuses GIT_WORK_TREE and
	 * GIT_COMMON_DIR, so open GIT_DIR directly in that case. */
	wt = getenv("GIT_WORK_TREE");
	if (!(wt && *wt) && !getenv("GIT_COMMON_DIR"))
		return git_repository_open_ext(
		    out, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	rc = git_repository_open_ext(out, gd, GIT_REPOSITORY_OPEN_NO_SEARCH,
				     NULL);
	if (rc == 0 && wt && *wt && !same_dir(git_repository_workdir(*out), wt))
		rc = git_repository_set_workdir(*out, wt, 0);
	if (rc < 0) {
		git_repository_free(*out);
		*out = NULL;
	}
	return rc;
}

/* p (libgit2's, with a trailing slash) as git names a directory. */
static char *dir_name(const char *p)
{
	return dup_str(p, trim_slashes(p, strlen(p)));
}

/* Whether git takes path as the current user's (git's
 * is_path_owned_by_current_uid): owned by the effective user, or, for
 * root, by root or by the user sudo runs it for (SUDO_UID). *uid gets the
 * owner; a path that cannot be read counts as the user's here. */
static bool owned_by_me(const char *path, uid_t *uid)
{
	const char *sudo = getenv("SUDO_UID");
	uid_t me = geteuid();
	struct stat st;
	unsigned long v;
	char *end;

	if (lstat(path, &st) != 0)
		return true;
	*uid = st.st_uid;
	if (st.st_uid == me)
		return true;
	if (me != 0 || !sudo || !*sudo)
		return false;
	errno = 0;
	v = strtoul(sudo, &end, 10);
	return !*end && errno == 0 && v == (unsigned long)st.st_uid;
}

/* The first directory of repo whose owner git checks (the work tree, its
 * .git file, the git dir) that git takes as another user's, malloc'd;
 * NULL when there is none (or no memory). */
static char *foreign_dir(git_repository *repo, uid_t *uid)
{
	const char *wd = git_repository_workdir(repo);
	char *p[3] = {NULL, NULL, NULL};
	struct stat st;
	char *found = NULL;
	size_t i;

	if (wd) {
		p[0] = dir_name(wd);
		if (p[0] && (p[1] = malloc(strlen(p[0]) + 6)))
			snprintf(p[1], strlen(p[0]) + 6, "%s/.git", p[0]);
		if (p[1] && (lstat(p[1], &st) != 0 || !S_ISREG(st.st_mode))) {
			free(p[1]);
			p[1] = NULL;
		}
	}
	p[2] = dir_name(git_repository_path(repo));
	for (i = 0; i < 3 && !found; i++)
		if (p[i] && !owned_by_me(p[i], uid)) {
			found = p[i];
			p[i] = NULL;
		}
	for (i = 0; i < 3; i++)
		free(p[i]);
	return found;
}

/* open_repo, with the owner checked as git checks it (libgit2's own check
 * is off, init_libgit2): another user's repository is opened when git's
 * safe.directory lets it in. Returns 0, ZH_ENOTFOUND (no repository; err
 * not set), ZH_ECONFIG (another user's: the message names the owner and
 * git's fix) or ZH_EGIT. */
static int open_checked(git_repository **out, const char *path, bool discover,
			struct zh_error *err)
{
	git_repository *repo = NULL;
	char *dir = NULL, *name = NULL;
	const char *wd;
	uid_t uid = 0;
	int rc = open_repo(&repo, path, discover);

	if (rc == GIT_ENOTFOUND)
		return ZH_ENOTFOUND;
	if (rc < 0)
		return git_fail(err, "cannot open repository", path);
	if (!(dir = foreign_dir(repo, &uid))) {
		*out = repo; /* ours */
		return 0;
	}
	wd = git_repository_workdir(repo);
	name = dir_name(wd ? wd : git_repository_path(repo));
	if (!name) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
	} else if (zh_safe_directory(name)) {
		*out = repo;
		repo = NULL;
		rc = 0;
	} else {
		/* git's words, and the path git compares safe.directory
		 * with: the work tree, else the git dir */
		rc =
		    zh_error_set(err, ZH_ECONFIG,
				 "'%s' is owned by another user (uid %lu); git "
				 "refuses such a repository: git config "
				 "--global --add safe.directory %s",
				 dir, (unsigned long)uid, name);
	}
	free(dir);
	free(name);
	git_repository_free(repo);
	return rc;
}

int zh_git_open(git_repository **out, const char *path, struct zh_error *err)
{
	int rc = open_checked(out, path, false, err);

	if (rc == ZH_ENOTFOUND)
		rc = zh_error_set(err, ZH_ENOTFOUND,
				  "'%s' is not a git repository", path);
	return rc;
}

int zh_repo_open(struct zh_repo **out, const char *path, bool discover,
		 struct zh_error *err)
{
	struct zh_repo *r = NULL;
	const char *gd;
	int rc;

	*out = NULL;
	if (!path || !*path)
		path = ".";
	pthread_once(&init_once, init_libgit2);
	if (init_result < 0)
		return zh_error_set(err, ZH_EGIT,
				    "cannot initialise libgit2: %s", git_msg());
	r = calloc(1, sizeof(*r));
	if (!r)
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	rc = open_checked(&r->repo, path, discover, err);
	if (rc == ZH_ENOTFOUND) {
		rc = zh_error_set(err, ZH_ENOTFOUND,
				  "'%s' is not a git repository", path);
		goto out;
	}
	/* e.g. a SHA-256 repository ("unsupported extension name
	 * extensions.objectformat") */
	if (rc < 0)
		goto out;
	gd = git_repository_path(r->repo);
	r->git_dir = dup_str(gd, strlen(gd));
	if (!r->git_dir) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	r->bare =
	    git_repository_is_bare(r->repo) || !git_repository_workdir(r->repo);
	*out = r;
	r = NULL;
	rc = 0;
out:
	zh_repo_free(r);
	return rc;
}

void zh_repo_free(struct zh_repo *r)
{
	if (!r)
		return;
	git_repository_free(r->repo);
	free(r->git_dir);
	free(r);
}

const char *zh_repo_git_dir(const struct zh_repo *r)
{
	return r->git_dir;
}

const char *zh_repo_top(const struct zh_repo *r)
{
	const char *w = git_repository_workdir(r->repo);

	return w ? w : r->git_dir;
}

const char *zh_repo_common_dir(const struct zh_repo *r)
{
	return git_repository_is_worktree(r->repo)
		   ? git_repository_commondir(r->repo)
		   : r->git_dir;
}

bool zh_repo_is_bare(const struct zh_repo *r)
{
	return r->bare;
}

static bool ends_with_git(const char *p, size_t n)
{
	return n >= 4 && memcmp(p + n - 4, ".git", 4) == 0;
}

/* The last component of dir without ".git"; the parent's name when that
 * leaves nothing (a git dir called just ".git"). */
static char *base_name(const char *dir)
{
	size_t n = trim_slashes(dir, strlen(dir));
	size_t s = n;

	for (;;) {
		size_t e = s, b;

		while (s > 0 && dir[s - 1] != '/')
			s--;
		b = s;
		if (ends_with_git(dir + b, e - b))
			e -= 4;
		if (e > b || b == 0)
			return dup_str(dir + b, e - b);
		/* ".git" alone: step up to the directory above it */
		s = trim_slashes(dir, b);
		if (s <= 1)
			return dup_str(dir + b, e - b);
	}
}

/* The path of dir relative to root when dir is strictly below root, with
 * a trailing ".git" removed; NULL otherwise. Both are already real. */
static char *relative_name(const char *dir, const char *root, bool *nomem)
{
	size_t dn = trim_slashes(dir, strlen(dir));
	size_t rn = trim_slashes(root, strlen(root));
	size_t b = rn;
	char *s;

	*nomem = false;
	if (rn == 1 && root[0] == '/')
		b = 0;
	if (dn <= b + 1 || memcmp(dir, root, b) != 0 || dir[b] != '/')
		return NULL;
	b++;
	if (ends_with_git(dir + b, dn - b))
		dn -= 4;
	while (dn > b && dir[dn - 1] == '/')
		dn--;
	if (dn <= b)
		return NULL;
	s = dup_str(dir + b, dn - b);
	*nomem = !s;
	return s;
}

int zh_repo_name(char **out, const struct zh_repo *r, const char *repo_root,
		 struct zh_error *err)
{
	/* a linked work tree is named as the repository it belongs to:
	 * by its git dir (the main work tree's ".git", or a bare one) */
	const char *dir = git_repository_is_worktree(r->repo)
			      ? zh_repo_common_dir(r)
			  : r->bare ? git_repository_path(r->repo)
				    : git_repository_workdir(r->repo);
	char *real_dir = NULL, *real_root = NULL;
	bool nomem = false;
	int rc = 0;

	*out = NULL;
	real_dir = realpath(dir, NULL);
	if (!real_dir) {
		rc = zh_error_set(err, ZH_EIO, "cannot resolve '%s': %s", dir,
				  strerror(errno));
		goto out;
	}
	if (repo_root && *repo_root) {
		/* an unresolvable repo_root just does not contain the repo */
		real_root = realpath(repo_root, NULL);
		if (real_root)
			*out = relative_name(real_dir, real_root, &nomem);
	}
	if (!*out && !nomem)
		*out = base_name(real_dir);
	if (!*out)
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
out:
	free(real_dir);
	free(real_root);
	return rc;
}

/* The repository's config (all levels), or its own file alone (local):
 * *cfg to free with git_config_free. */
static int open_config(git_config **cfg, struct zh_repo *r, bool local,
		       struct zh_error *err)
{
	git_config *all = NULL;
	int rc = 0;

	*cfg = NULL;
	if (git_repository_config(&all, r->repo) < 0)
		return git_fail(err, "cannot read config of", r->git_dir);
	if (!local) {
		*cfg = all;
		return 0;
	}
	if (git_config_open_level(cfg, all, GIT_CONFIG_LEVEL_LOCAL) < 0)
		rc = git_fail(err, "cannot open config of", r->git_dir);
	git_config_free(all);
	return rc;
}

static int config_get(char **out, struct zh_repo *r, const char *key,
		      bool local, struct zh_error *err)
{
	git_config *cfg = NULL;
	git_buf buf = {0};
	int rc;

	*out = NULL;
	if ((rc = open_config(&cfg, r, local, err)) < 0)
		goto out;
	rc = git_config_get_string_buf(&buf, cfg, key);
	if (rc == GIT_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		rc = git_fail(err, "cannot read config", key);
		goto out;
	}
	*out = dup_str(buf.ptr ? buf.ptr : "", buf.size);
	rc = *out ? 0 : zh_error_set(err, ZH_ENOMEM, "out of memory");
out:
	git_buf_dispose(&buf);
	git_config_free(cfg);
	return rc;
}

int zh_repo_config_get(char **out, struct zh_repo *r, const char *key,
		       struct zh_error *err)
{
	return config_get(out, r, key, false, err);
}

int zh_repo_config_get_local(char **out, struct zh_repo *r, const char *key,
			     struct zh_error *err)
{
	return config_get(out, r, key, true, err);
}

int zh_repo_config_unset(struct zh_repo *r, const char *key,
			 struct zh_error *err)
{
	git_config *local = NULL;
	int rc;

	if ((rc = open_config(&local, r, true, err)) < 0)
		return rc;
	/* every value: a key set twice by hand goes too */
	rc = git_config_delete_multivar(local, key, ".*");
	if (rc == GIT_ENOTFOUND)
		rc = 0;
	else if (rc < 0)
		rc = git_fail(err, "cannot unset config", key);
	else
		rc = 1;
	git_config_free(local);
	return rc;
}

int zh_repo_shared(struct zh_repo *r)
{
	git_config *cfg = NULL;
	git_config_entry *e = NULL;

	if (r->shared_read)
		return r->shared;
	r->shared_read = true;
	r->shared = 0;
	/* a value git would die on (it refuses the push then) counts as
	 * none */
	if (git_repository_config_snapshot(&cfg, r->repo) == 0 &&
	    git_config_get_entry(&e, cfg, "core.sharedRepository") == 0 &&
	    zh_perm_parse(&r->shared, e->value, NULL) < 0)
		r->shared = 0;
	git_config_entry_free(e);
	git_config_free(cfg);
	return r->shared;
}

/* dir/value, or value alone when it is absolute; without trailing
 * slashes. dir ends with '/' (libgit2's git dir). */
static char *join_dir(const char *dir, const char *value)
{
	size_t dn = value[0] == '/' ? 0 : strlen(dir);
	size_t vn = trim_slashes(value, strlen(value));
	char *p = malloc(dn + vn + 1);

	if (!p)
		return NULL;
	memcpy(p, dir, dn);
	memcpy(p + dn, value, vn);
	p[dn + vn] = '\0';
	return p;
}

int zh_repo_hooks_dir(char **out, struct zh_repo *r, struct zh_error *err)
{
	git_config *cfg = NULL;
	git_buf buf = {0};
	const char *value = "hooks";
	int rc;

	*out = NULL;
	if (git_repository_config(&cfg, r->repo) < 0) {
		rc = git_fail(err, "cannot read config of", r->git_dir);
		goto out;
	}
	/* expands "~/" as git does (libgit2 refuses "~user/", so do we) */
	rc = git_config_get_path(&buf, cfg, "core.hooksPath");
	if (rc < 0 && rc != GIT_ENOTFOUND) {
		rc = git_fail(err, "cannot read config", "core.hooksPath");
		goto out;
	}
	if (rc == 0)
		value = buf.ptr ? buf.ptr : "";
	if (!*value) {
		rc = zh_error_set(err, ZH_EUSAGE,
				  "core.hooksPath of '%s' is empty, so git "
				  "runs none of its hooks: unset it or name a "
				  "directory",
				  r->git_dir);
		goto out;
	}
	*out = join_dir(r->git_dir, value);
	rc = *out ? 0 : zh_error_set(err, ZH_ENOMEM, "out of memory");
out:
	git_buf_dispose(&buf);
	git_config_free(cfg);
	return rc;
}

/* Whether path (a real path) is dir or below it. */
static bool is_below(const char *path, const char *dir)
{
	size_t n;
	char *real = dir ? realpath(dir, NULL) : NULL;
	bool below;

	if (!real)
		return false;
	n = trim_slashes(real, strlen(real));
	if (n == 1 && real[0] == '/')
		n = 0;
	below =
	    strncmp(path, real, n) == 0 && (path[n] == '\0' || path[n] == '/');
	free(real);
	return below;
}

bool zh_repo_contains(const struct zh_repo *r, const char *path)
{
	char *real = realpath(path, NULL);
	bool in;

	if (!real)
		return false;
	in = is_below(real, r->git_dir) ||
	     (!r->bare && is_below(real, git_repository_workdir(r->repo)));
	free(real);
	return in;
}

int zh_repo_config_set(struct zh_repo *r, const char *key, const char *value,
		       struct zh_error *err)
{
	git_config *cfg = NULL, *local = NULL;
	int rc = 0;

	if (git_repository_config(&cfg, r->repo) < 0) {
		rc = git_fail(err, "cannot read config of", r->git_dir);
		goto out;
	}
	if (git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL) < 0) {
		rc = git_fail(err, "cannot open config of", r->git_dir);
		goto out;
	}
	if (git_config_set_string(local, key, value) < 0)
		rc = git_fail(err, "cannot set config", key);
out:
	git_config_free(local);
	git_config_free(cfg);
	return rc;
}

static bool is_full_hex(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return i == GIT_OID_HEXSZ;
}

/* Look rev up. A full hex id skips revparse's guessing (it would also
 * try it as a ref name). */
static int lookup_object(git_object **out, git_repository *repo,
			 const char *rev, struct zh_error *err)
{
	git_oid oid;
	int rc;

	*out = NULL;
	if (is_full_hex(rev)) {
		rc = git_oid_fromstr(&oid, rev);
		if (rc == 0)
			rc = git_object_lookup(out, repo, &oid, GIT_OBJECT_ANY);
	} else {
		rc = git_revparse_single(out, repo, rev);
	}
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return zh_error_set(err, ZH_ENOTFOUND, "unknown revision '%s'",
				    rev);
	if (rc == GIT_EAMBIGUOUS)
		return zh_error_set(err, ZH_EINVALID, "ambiguous revision '%s'",
				    rev);
	if (rc < 0)
		return git_fail(err, "cannot resolve", rev);
	return 0;
}

/* Peel obj (rev) to a commit: 0 with *out NULL when it is an object that
 * peels to none (a blob, a tree, a tag of one). */
static int peel_commit(git_commit **out, git_object *obj, const char *rev,
		       struct zh_error *err)
{
	git_object *peeled = NULL;
	int rc = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);

	*out = NULL;
	if (rc == GIT_EPEEL || rc == GIT_EINVALIDSPEC)
		return 0;
	if (rc < 0)
		return git_fail(err, "cannot read", rev);
	*out = (git_commit *)peeled;
	return 0;
}

/* Look rev up and peel it to a commit. */
static int lookup_commit(git_commit **out, git_repository *repo,
			 const char *rev, struct zh_error *err)
{
	git_object *obj = NULL;
	int rc;

	*out = NULL;
	if ((rc = lookup_object(&obj, repo, rev, err)) == 0 &&
	    (rc = peel_commit(out, obj, rev, err)) == 0 && !*out)
		rc =
		    zh_error_set(err, ZH_EINVALID, "'%s' is not a commit", rev);
	git_object_free(obj);
	return rc;
}

/* Whether the full hex id rev names a commit, from its object header
 * alone (a packed commit is not inflated): resolving an id costs no
 * read of the commit. Anything else (a tag, a missing object) goes the
 * long way. */
static bool commit_by_header(char *hex, size_t hexsize, struct zh_repo *r,
			     const char *rev)
{
	git_odb *odb = NULL;
	git_object_t type;
	git_oid oid;
	size_t len;
	bool yes;

	yes = git_oid_fromstr(&oid, rev) == 0 &&
	      git_repository_odb(&odb, r->repo) == 0 &&
	      git_odb_read_header(&len, &type, odb, &oid) == 0 &&
	      type == GIT_OBJECT_COMMIT;
	git_odb_free(odb);
	if (yes)
		git_oid_tostr(hex, hexsize, &oid);
	return yes;
}

void zh_repo_object_cache(bool on)
{
	pthread_once(&init_once, init_libgit2);
	if (init_result >= 0)
		git_libgit2_opts(GIT_OPT_ENABLE_CACHING, on ? 1 : 0);
}

int zh_repo_resolve(char *hex, size_t hexsize, struct zh_repo *r,
		    const char *rev, struct zh_error *err)
{
	git_commit *c = NULL;
	int rc;

	if (hexsize < GIT_OID_HEXSZ + 1)
		return zh_error_set(err, ZH_EINVALID,
				    "buffer too small for an object id");
	if (is_full_hex(rev) && commit_by_header(hex, hexsize, r, rev))
		return 0;
	rc = lookup_commit(&c, r->repo, rev, err);
	if (rc < 0)
		return rc;
	git_oid_tostr(hex, hexsize, git_commit_id(c));
	git_commit_free(c);
	return 0;
}

int zh_repo_current_branch(char **out, struct zh_repo *r, struct zh_error *err)
{
	git_reference *head = NULL;
	const char *target;
	int rc = 0;

	*out = NULL;
	/* lookup, not resolve: an unborn branch has a symbolic HEAD too */
	if (git_reference_lookup(&head, r->repo, "HEAD") < 0) {
		rc = git_fail(err, "cannot read HEAD of", r->git_dir);
		goto out;
	}
	if (git_reference_type(head) != GIT_REFERENCE_SYMBOLIC) {
		rc = zh_error_set(err, ZH_ENOTFOUND, "HEAD is detached");
		goto out;
	}
	target = git_reference_symbolic_target(head);
	*out = dup_str(target, strlen(target));
	if (!*out)
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
out:
	git_reference_free(head);
	return rc;
}

bool zh_rev_is_range(const char *rev)
{
	return rev && strstr(rev, "..") != NULL;
}

void zh_revlist_dispose(struct zh_revlist *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->len; i++)
		free(l->ids[i]);
	free(l->ids);
	memset(l, 0, sizeof(*l));
}

static int revlist_add(struct zh_revlist *l, size_t *cap, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], **grown;

	if (l->len == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if (!(grown = realloc(l->ids, *cap * sizeof(*grown))))
			return -1;
		l->ids = grown;
	}
	git_oid_tostr(hex, sizeof(hex), id);
	if (!(l->ids[l->len] = dup_str(hex, strlen(hex))))
		return -1;
	l->len++;
	return 0;
}

/* Hide from walk what a and b share: the ancestors of their merge bases
 * (none for unrelated histories). */
static int hide_shared(git_revwalk *walk, git_repository *repo,
		       const git_oid *a, const git_oid *b)
{
	git_oidarray bases = {0};
	size_t i;
	int rc = git_merge_bases(&bases, repo, a, b);

	if (rc == GIT_ENOTFOUND)
		return 0;
	for (i = 0; rc == 0 && i < bases.count; i++)
		rc = git_revwalk_hide(walk, &bases.ids[i]);
	git_oidarray_dispose(&bases);
	return rc;
}

int zh_repo_range(struct zh_revlist *out, struct zh_repo *r, const char *range,
		  struct zh_error *err)
{
	const char *dots = strstr(range, ".."), *right;
	git_commit *a = NULL, *b = NULL;
	git_revwalk *walk = NULL;
	char *left = NULL;
	size_t cap = 0;
	git_oid id;
	bool sym;
	int rc;

	memset(out, 0, sizeof(*out));
	/* git takes ".." for a path, never for HEAD..HEAD */
	if (!dots || !strcmp(range, ".."))
		return zh_error_set(err, ZH_ENOTFOUND, "unknown revision '%s'",
				    range);
	sym = dots[2] == '.';
	right = dots + (sym ? 3 : 2);
	if (!(left = dup_str(range, (size_t)(dots - range))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	if ((rc = lookup_commit(&a, r->repo, *left ? left : "HEAD", err)) < 0 ||
	    (rc = lookup_commit(&b, r->repo, *right ? right : "HEAD", err)) < 0)
		goto out;
	if ((rc = git_revwalk_new(&walk, r->repo)) == 0 &&
	    (rc = git_revwalk_push(walk, git_commit_id(b))) == 0) {
		if (!sym)
			rc = git_revwalk_hide(walk, git_commit_id(a));
		else if ((rc = git_revwalk_push(walk, git_commit_id(a))) == 0)
			rc = hide_shared(walk, r->repo, git_commit_id(a),
					 git_commit_id(b));
	}
	while (rc == 0 && (rc = git_revwalk_next(&id, walk)) == 0)
		if (revlist_add(out, &cap, &id) < 0) {
			rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
	if (rc != GIT_ITEROVER) {
		rc = git_fail(err, "cannot walk", range);
		goto out;
	}
	rc = 0;
out:
	git_revwalk_free(walk);
	git_commit_free(a);
	git_commit_free(b);
	free(left);
	return rc;
}

void zh_commit_info_dispose(struct zh_commit_info *c)
{
	if (!c)
		return;
	free(c->message);
	free(c->author);
	free(c->author_email);
	memset(c, 0, sizeof(*c));
}

/* Whether a commit's encoding header names ISO-8859-1 (as git and iconv
 * spell it: ISO-8859-1, iso8859-1, ISO_8859-1, latin1, latin-1, l1). */
static bool is_latin1(const char *enc)
{
	char n[16];
	size_t k = 0;

	for (; *enc && k < sizeof(n) - 1; enc++)
		if (*enc != '-' && *enc != '_')
			n[k++] = (char)(*enc >= 'A' && *enc <= 'Z' ? *enc + 32
								   : *enc);
	n[k] = '\0';
	return !*enc && (strcmp(n, "iso88591") == 0 ||
			 strcmp(n, "latin1") == 0 || strcmp(n, "l1") == 0);
}

/* s as UTF-8: s itself (copied), or, with latin1 (the commit says
 * ISO-8859-1), each byte >= 0x80 as the code point of its value, as git
 * log shows such a commit; malloc'd. Other encodings are left as they
 * are (a byte that is not UTF-8 goes into a request as U+FFFD). */
static char *text_of(const char *s, bool latin1)
{
	size_t n = strlen(s), extra = 0, i, k = 0;
	char *p;

	if (latin1)
		for (i = 0; i < n; i++)
			extra += (unsigned char)s[i] >= 0x80;
	if (!extra)
		return dup_str(s, n);
	if (!(p = malloc(n + extra + 1)))
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			p[k++] = (char)c;
		} else {
			p[k++] = (char)(0xc0 | c >> 6);
			p[k++] = (char)(0x80 | (c & 0x3f));
		}
	}
	p[k] = '\0';
	return p;
}

int zh_repo_commit(struct zh_commit_info *out, struct zh_repo *r,
		   const char *rev, struct zh_error *err)
{
	const char *enc;
	bool latin1;
	git_commit *c = NULL;
	const git_signature *a;
	const char *msg;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = lookup_commit(&c, r->repo, rev, err);
	if (rc < 0)
		return rc;
	git_oid_tostr(out->id, sizeof(out->id), git_commit_id(c));
	out->nparents = git_commit_parentcount(c);
	if (out->nparents > 0)
		git_oid_tostr(out->first_parent, sizeof(out->first_parent),
			      git_commit_parent_id(c, 0));
	msg = git_commit_message(c);
	a = git_commit_author(c);
	if (!msg)
		msg = "";
	enc = git_commit_message_encoding(c);
	latin1 = enc && is_latin1(enc);
	out->message = text_of(msg, latin1);
	out->author = text_of(a->name, latin1);
	out->author_email = text_of(a->email, latin1);
	if (!out->message || !out->author || !out->author_email) {
		zh_commit_info_dispose(out);
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
	}
	git_commit_free(c);
	return rc;
}

/* Object id's raw data (*out, git_odb_object_free), without the
 * git_object libgit2 would build around it; libgit2's error code. */
static int read_raw(git_odb_object **out, git_repository *repo,
		    const git_oid *id)
{
	git_odb *odb = NULL;
	int rc;

	*out = NULL;
	if ((rc = git_repository_odb(&odb, repo)) == 0)
		rc = git_odb_read(out, odb, id);
	git_odb_free(odb);
	return rc;
}

/* The first line of a commit message (msg up to end), leading blank
 * lines skipped as by git_commit_message and git log; malloc'd. */
static char *subject_of(const char *msg, const char *end)
{
	const char *eol;

	while (msg < end && *msg == '\n')
		msg++;
	eol = memchr(msg, '\n', (size_t)(end - msg));
	return dup_str(msg, (size_t)((eol ? eol : end) - msg));
}

/* The message of a raw commit: after the headers' blank line (a header
 * of several lines continues with a space, so "\n\n" ends them). */
static const char *raw_message(const char *data, const char *end)
{
	const char *p = data;

	while ((p = memchr(p, '\n', (size_t)(end - p))) &&
	       (p + 1 == end || p[1] != '\n'))
		p++;
	return p ? p + 2 : end;
}

int zh_repo_commit_subject(char *id, size_t idsize, char **subject,
			   struct zh_repo *r, const char *rev,
			   struct zh_error *err)
{
	struct zh_commit_info c;
	git_odb_object *o = NULL;
	git_oid oid;
	int rc;

	*subject = NULL;
	/* a full id of a commit: its raw data, not libgit2's parse of every
	 * header (a fifth of `git zadig status` over many commits) */
	if (is_full_hex(rev) && git_oid_fromstr(&oid, rev) == 0 &&
	    read_raw(&o, r->repo, &oid) == 0 &&
	    git_odb_object_type(o) == GIT_OBJECT_COMMIT) {
		const char *data = git_odb_object_data(o);
		const char *end = data + git_odb_object_size(o);

		git_oid_tostr(id, idsize, &oid);
		*subject = subject_of(raw_message(data, end), end);
		rc = 0;
	} else if ((rc = zh_repo_commit(&c, r, rev, err)) == 0) {
		/* a name, an abbreviation or a tag: resolved and peeled */
		snprintf(id, idsize, "%s", c.id);
		*subject = subject_of(c.message, c.message + strlen(c.message));
		zh_commit_info_dispose(&c);
	}
	git_odb_object_free(o);
	if (rc == 0 && !*subject)
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
	return rc;
}

/* ---- changed paths: a tree walk that opens only differing subtrees ---- */

/* Trees nested deeper than this are refused: each level is two frames
 * of the walk on the stack, and a pushed tree 30,000 levels deep (git
 * 2.39 takes it; newer git refuses past core.maxTreeDepth, 2048) overflowed
 * it, crashing the hook or the receiver. */
#define MAX_TREE_DEPTH 2048

struct walk {
	git_repository *repo;
	int depth;	    /* of the current directory */
	struct zh_buf path; /* the current directory, "" or ending in '/' */
	char **items;
	size_t len, cap;
	struct zh_error *err;
};

static bool is_tree(const git_tree_entry *e)
{
	return git_tree_entry_filemode(e) == GIT_FILEMODE_TREE;
}

/* git's tree order (base_name_compare): a directory sorts as if its name
 * ended in '/'. Trees git writes are sorted this way, which lets two of
 * them be merged in one pass. */
static int entry_cmp(const git_tree_entry *a, const git_tree_entry *b)
{
	const char *na = git_tree_entry_name(a), *nb = git_tree_entry_name(b);
	size_t la = strlen(na), lb = strlen(nb);
	size_t n = la < lb ? la : lb;
	int c = memcmp(na, nb, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = n < la ? (unsigned char)na[n] : is_tree(a) ? '/' : '\0';
	cb = n < lb ? (unsigned char)nb[n] : is_tree(b) ? '/' : '\0';
	return ca < cb ? -1 : ca > cb;
}

static int emit(struct walk *w, const char *name)
{
	size_t nlen = strlen(name);
	char *p;

	if (w->len == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		char **items = realloc(w->items, cap * sizeof(*items));

		if (!items)
			return zh_error_set(w->err, ZH_ENOMEM, "out of memory");
		w->items = items;
		w->cap = cap;
	}
	p = malloc(w->path.len + nlen + 1);
	if (!p)
		return zh_error_set(w->err, ZH_ENOMEM, "out of memory");
	memcpy(p, zh_buf_cstr(&w->path), w->path.len);
	memcpy(p + w->path.len, name, nlen + 1);
	w->items[w->len++] = p;
	return 0;
}

static int load_tree(git_tree **out, struct walk *w, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];

	if (git_tree_lookup(out, w->repo, id) == 0)
		return 0;
	git_oid_tostr(hex, sizeof(hex), id);
	return zh_error_set(w->err, ZH_EGIT, "cannot read tree '%s': %s", hex,
			    git_msg());
}

static int walk_pair(struct walk *w, const git_tree *a, const git_tree *b);

/* Enter directory e (a tree entry) of one or both sides. */
static int descend(struct walk *w, const git_tree_entry *ea,
		   const git_tree_entry *eb)
{
	const char *name = git_tree_entry_name(ea ? ea : eb);
	size_t saved = w->path.len;
	git_tree *ta = NULL, *tb = NULL;
	int rc;

	if (w->depth >= MAX_TREE_DEPTH)
		return zh_error_set(w->err, ZH_EINVALID,
				    "trees nested deeper than %d levels below "
				    "'%.200s'",
				    MAX_TREE_DEPTH, zh_buf_cstr(&w->path));
	rc = zh_buf_puts(&w->path, name);
	if (rc == 0)
		rc = zh_buf_puts(&w->path, "/");
	if (rc < 0) {
		rc = zh_error_set(w->err, rc, "path too long below '%s'",
				  zh_buf_cstr(&w->path));
		goto out;
	}
	if (ea && (rc = load_tree(&ta, w, git_tree_entry_id(ea))) < 0)
		goto out;
	if (eb && (rc = load_tree(&tb, w, git_tree_entry_id(eb))) < 0)
		goto out;
	w->depth++;
	rc = walk_pair(w, ta, tb);
	w->depth--;
out:
	w->path.len = saved;
	if (w->path.ptr)
		w->path.ptr[saved] = '\0';
	git_tree_free(ta);
	git_tree_free(tb);
	return rc;
}

/* An entry present on one side only: itself, or every file below it. */
static int one_side(struct walk *w, const git_tree_entry *e)
{
	if (is_tree(e))
		return descend(w, e, NULL);
	return emit(w, git_tree_entry_name(e));
}

/* Merge the sorted entries of a and b (either may be NULL: empty). */
static int walk_pair(struct walk *w, const git_tree *a, const git_tree *b)
{
	size_t na = a ? git_tree_entrycount(a) : 0;
	size_t nb = b ? git_tree_entrycount(b) : 0;
	size_t i = 0, j = 0;
	int rc = 0;

	while (rc == 0 && (i < na || j < nb)) {
		const git_tree_entry *ea =
		    i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *eb =
		    j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int c = !ea ? 1 : !eb ? -1 : entry_cmp(ea, eb);

		if (c < 0) {
			rc = one_side(w, ea);
			i++;
			continue;
		}
		if (c > 0) {
			rc = one_side(w, eb);
			j++;
			continue;
		}
		i++;
		j++;
		if (git_tree_entry_filemode(ea) ==
			git_tree_entry_filemode(eb) &&
		    git_oid_equal(git_tree_entry_id(ea), git_tree_entry_id(eb)))
			continue;
		/* equal names in tree order means both or neither are trees */
		if (is_tree(ea))
			rc = descend(w, ea, eb);
		else
			rc = emit(w, git_tree_entry_name(ea));
	}
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The walk yields sorted unique paths for trees git wrote; a malformed
 * (unsorted) tree must still not break the promise of the header. */
static void sort_unique(struct walk *w)
{
	size_t i, k;

	for (i = 1; i < w->len; i++)
		if (strcmp(w->items[i - 1], w->items[i]) >= 0)
			break;
	if (i >= w->len)
		return;
	qsort(w->items, w->len, sizeof(*w->items), str_cmp);
	for (i = 1, k = 1; i < w->len; i++) {
		if (strcmp(w->items[k - 1], w->items[i]) == 0)
			free(w->items[i]);
		else
			w->items[k++] = w->items[i];
	}
	w->len = k;
}

void zh_paths_dispose(struct zh_paths *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->len; i++)
		free(p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

bool zh_oid_is_zero(const char *hex)
{
	if (!hex)
		return true;
	for (; *hex; hex++)
		if (*hex != '0')
			return false;
	return true;
}

/* ---- the base of a new branch: a bounded merge-base walk ----
 *
 * git_merge_base (libgit2 1.5) walks every commit of the new branch down
 * to the merge base: 1.6 s for a branch of 100,000 commits, in a hook that
 * must take milliseconds. The walk below paints commits from the new tip
 * and from HEAD's commit, newest commit time first (git's
 * paint_down_to_common), and stops at the first commit both reach: the
 * newest common ancestor. The new tip's side may expand at most
 * NEW_WALK_MAX commits, HEAD's side HEAD_WALK_MAX; when a side has walked
 * that far without meeting the other, the base is HEAD's commit itself,
 * so the cost stays bounded whatever the length of the branch. That is
 * exact when the branch was started from HEAD's current commit (the usual
 * long branch: started or rebased there); when HEAD's branch moved on
 * since the fork, the diff also lists the paths HEAD's branch changed
 * meanwhile (rules fire more; only a change both branches made alike
 * goes unseen). When both walks end at root commits without meeting, the
 * histories are unrelated: no base.
 *
 * Each expanded commit is a pack read whose index look-up touches pages
 * of the pack index a fresh process has never touched: ~6 us a commit
 * (docs/BENCHMARKS.md), as much for git. The bounds are the trade: HEAD's
 * side may go 256 commits back (a branch started from a HEAD some days of
 * a busy repository old still finds its base), the branch's own side 64
 * (a first push of more commits than that is nearly always a branch
 * started or rebased on HEAD's current commit, or an import), which keeps
 * a long new branch at ~0.4 ms of walking.
 *
 * Equal commit times (rebase merges, git am, imports) say nothing of which
 * commit is newer; taken in any order, the new tip's side would walk down
 * through the fork point into the shared history and spend its bound
 * there while HEAD's side was still on its way to the fork. So on a tie
 * the commit fewer steps from its tip goes first, a step of the new tip's
 * side counting NEW_STEP of HEAD's: both sides use up their bounds at the
 * same pace, and a fork within both bounds is reached by both before
 * either bound is spent. A commit both sides reached goes before the rest
 * of its time, HEAD's side before the new tip's at an equal count. */
#define NEW_WALK_MAX 64
#define HEAD_WALK_MAX 256
#define NEW_STEP (HEAD_WALK_MAX / NEW_WALK_MAX)

enum { FROM_NEW = 1, FROM_HEAD = 2, FROM_BOTH = 3 };

struct paint {
	git_oid id;
	int64_t time;
	unsigned flags; /* the sides that reached it */
	unsigned done;	/* the flags it was last expanded with */
	bool used;
};

/* A queued commit; its order is fixed when it is queued. */
struct queued {
	size_t slot;
	int64_t time;
	unsigned steps; /* from its tip (NEW_STEP for each of the new tip's
			   side); 0 once both sides reached it */
	unsigned flags; /* the sides that had reached it */
};

struct base_walk {
	git_repository *repo;
	struct paint *slots; /* open addressing on the id */
	size_t nslots, nused;
	struct queued *heap; /* first_out() order */
	size_t nheap, capheap;
	size_t walked[FROM_BOTH + 1];
};

static size_t oid_hash(const git_oid *id)
{
	size_t h;

	memcpy(&h, id->id, sizeof(h));
	return h;
}

/* The slot of id, or where it would go. */
static size_t slot_of(const struct paint *slots, size_t n, const git_oid *id)
{
	size_t j;

	for (j = oid_hash(id) & (n - 1); slots[j].used; j = (j + 1) & (n - 1))
		if (git_oid_equal(&slots[j].id, id))
			break;
	return j;
}

/* Double the table; queued slot indexes move with their entries. */
static int walk_grow(struct base_walk *bw)
{
	size_t n = bw->nslots ? bw->nslots * 2 : 1024, i;
	struct paint *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return ZH_ENOMEM;
	for (i = 0; i < bw->nslots; i++)
		if (bw->slots[i].used)
			slots[slot_of(slots, n, &bw->slots[i].id)] =
			    bw->slots[i];
	for (i = 0; i < bw->nheap; i++)
		bw->heap[i].slot =
		    slot_of(slots, n, &bw->slots[bw->heap[i].slot].id);
	free(bw->slots);
	bw->slots = slots;
	bw->nslots = n;
	return 0;
}

/* Whether a goes before b: the newer commit, on a tie the one fewer
 * steps from its tip, then the one more sides reached. */
static bool first_out(const struct queued *a, const struct queued *b)
{
	if (a->time != b->time)
		return a->time > b->time;
	if (a->steps != b->steps)
		return a->steps < b->steps;
	return a->flags > b->flags;
}

static int heap_push(struct base_walk *bw, const struct queued *q)
{
	size_t i;

	if (bw->nheap == bw->capheap) {
		size_t cap = bw->capheap ? bw->capheap * 2 : 256;
		struct queued *h = realloc(bw->heap, cap * sizeof(*h));

		if (!h)
			return ZH_ENOMEM;
		bw->heap = h;
		bw->capheap = cap;
	}
	i = bw->nheap++;
	bw->heap[i] = *q;
	while (i > 0 && first_out(&bw->heap[i], &bw->heap[(i - 1) / 2])) {
		size_t p = (i - 1) / 2;
		struct queued t = bw->heap[p];

		bw->heap[p] = bw->heap[i];
		bw->heap[i] = t;
		i = p;
	}
	return 0;
}

static struct queued heap_pop(struct base_walk *bw)
{
	struct queued top = bw->heap[0], t;
	size_t i = 0;

	bw->heap[0] = bw->heap[--bw->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < bw->nheap && first_out(&bw->heap[l], &bw->heap[m]))
			m = l;
		if (r < bw->nheap && first_out(&bw->heap[r], &bw->heap[m]))
			m = r;
		if (m == i)
			break;
		t = bw->heap[m];
		bw->heap[m] = bw->heap[i];
		bw->heap[i] = t;
		i = m;
	}
	return top;
}

/* Give commit c (id, time), steps from its tip, the flags and queue it
 * when that is news. */
static int paint(struct base_walk *bw, const git_oid *id, int64_t time,
		 unsigned steps, unsigned flags)
{
	struct queued q;
	struct paint *e;
	size_t j;
	int rc;

	/* keep the table at most half full */
	if (2 * (bw->nused + 1) > bw->nslots && (rc = walk_grow(bw)) < 0)
		return rc;
	j = slot_of(bw->slots, bw->nslots, id);
	e = &bw->slots[j];
	if (!e->used) {
		e->used = true;
		git_oid_cpy(&e->id, id);
		e->time = time;
		bw->nused++;
	}
	if ((e->flags & flags) == flags)
		return 0;
	e->flags |= flags;
	q.slot = j;
	q.time = e->time;
	q.steps = e->flags == FROM_BOTH ? 0 : steps;
	q.flags = e->flags;
	return heap_push(bw, &q);
}

/* Expand the newest queued commit: *found when both sides reached it,
 * *capped when its side has walked as far as it may. */
static int walk_step(git_oid *found, bool *capped, struct base_walk *bw,
		     struct zh_error *err)
{
	struct queued q = heap_pop(bw);
	struct paint *e = &bw->slots[q.slot];
	unsigned flags = e->flags, steps;
	size_t i, n;
	git_commit *c = NULL;
	git_oid id;
	int rc = 0;

	if (flags == e->done)
		return 0; /* queued twice, already expanded with these */
	if (flags == FROM_BOTH) {
		git_oid_cpy(found, &e->id);
		return 1;
	}
	if (++bw->walked[flags] >
	    (flags == FROM_NEW ? NEW_WALK_MAX : HEAD_WALK_MAX)) {
		*capped = true;
		return 0;
	}
	e->done = flags;
	git_oid_cpy(&id, &e->id);
	if (git_commit_lookup(&c, bw->repo, &id) < 0)
		return git_fail(err, "cannot read commit", "merge base");
	n = git_commit_parentcount(c);
	steps = q.steps + (flags == FROM_NEW ? NEW_STEP : 1);
	for (i = 0; rc == 0 && i < n; i++) {
		git_commit *p = NULL;

		if (git_commit_parent(&p, c, (unsigned)i) < 0) {
			rc = git_fail(err, "cannot read commit", "merge base");
			break;
		}
		rc = paint(bw, git_commit_id(p), git_commit_time(p), steps,
			   flags);
		git_commit_free(p);
		if (rc == ZH_ENOMEM)
			rc = zh_error_set(err, rc, "out of memory");
	}
	git_commit_free(c);
	return rc;
}

/* The newest common ancestor of a and b (see above): *has_base false
 * when there is none; HEAD's commit b when the walk hit its bound. */
static int bounded_base(git_oid *base, bool *has_base, git_repository *repo,
			const git_commit *a, const git_commit *b,
			struct zh_error *err)
{
	struct base_walk bw = {.repo = repo};
	bool capped = false;
	int rc;

	*has_base = false;
	if (git_oid_equal(git_commit_id(a), git_commit_id(b))) {
		git_oid_cpy(base, git_commit_id(a));
		*has_base = true;
		return 0;
	}
	if ((rc = paint(&bw, git_commit_id(a), git_commit_time(a), 0,
			FROM_NEW)) < 0 ||
	    (rc = paint(&bw, git_commit_id(b), git_commit_time(b), 0,
			FROM_HEAD)) < 0) {
		rc = zh_error_set(err, rc, "out of memory");
		goto out;
	}
	while (bw.nheap > 0 && !capped) {
		if ((rc = walk_step(base, &capped, &bw, err)) < 0)
			goto out;
		if (rc == 1) {
			*has_base = true;
			rc = 0;
			goto out;
		}
	}
	if (capped) {
		git_oid_cpy(base, git_commit_id(b));
		*has_base = true;
	}
out:
	free(bw.slots);
	free(bw.heap);
	return rc;
}

/* Find the commit the new ref is compared with when it did not exist:
 * its merge base with HEAD's commit (bounded_base). *has_base false: no
 * base (unborn HEAD, unrelated histories, or ref is HEAD's own branch). */
static int new_ref_base(git_oid *base, bool *has_base, struct zh_repo *r,
			const char *ref, const git_commit *newc,
			struct zh_error *err)
{
	git_reference *head = NULL;
	git_commit *headc = NULL;
	git_oid head_id;
	int rc = 0;

	*has_base = false;
	/* the first push of the default branch: comparing it with HEAD
	 * would compare it with itself */
	if (ref && git_reference_lookup(&head, r->repo, "HEAD") == 0 &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
	    strcmp(git_reference_symbolic_target(head), ref) == 0)
		goto out;
	rc = git_reference_name_to_id(&head_id, r->repo, "HEAD");
	if (rc < 0) {
		/* unborn HEAD: no default branch to compare with */
		rc = 0;
		goto out;
	}
	if (git_commit_lookup(&headc, r->repo, &head_id) < 0) {
		rc = git_fail(err, "cannot read commit", "HEAD");
		goto out;
	}
	rc = bounded_base(base, has_base, r->repo, newc, headc, err);
out:
	git_commit_free(headc);
	git_reference_free(head);
	return rc;
}

int zh_repo_changed_paths_ref(struct zh_paths *out, struct zh_repo *r,
			      const char *ref, const char *old_hex,
			      const char *new_hex, struct zh_error *err)
{
	struct walk w = {.repo = r->repo, .err = err};
	git_object *oldo = NULL;
	git_commit *oldc = NULL, *newc = NULL, *basec = NULL;
	git_tree *ta = NULL, *tb = NULL;
	git_oid base;
	bool has_base = true;
	int rc;

	memset(out, 0, sizeof(*out));
	zh_buf_init(&w.path, PATH_CAP);
	if (zh_oid_is_zero(new_hex)) {
		rc = zh_error_set(err, ZH_EINVALID,
				  "no new commit: a deletion has no paths");
		goto out;
	}
	if ((rc = lookup_commit(&newc, r->repo, new_hex, err)) < 0)
		goto out;
	if (!zh_oid_is_zero(old_hex)) {
		/* an old id we do not have (e.g. the object was pruned) is
		 * reported, not guessed around */
		if ((rc = lookup_object(&oldo, r->repo, old_hex, err)) < 0 ||
		    (rc = peel_commit(&oldc, oldo, old_hex, err)) < 0)
			goto out;
	}
	if (!oldc) {
		/* a new ref, or one whose old object is no commit (a tag
		 * moved from a blob or a tree onto a commit) */
		rc = new_ref_base(&base, &has_base, r, ref, newc, err);
		if (rc < 0)
			goto out;
		if (has_base && git_oid_equal(&base, git_commit_id(newc)))
			goto out;
		if (has_base && git_commit_lookup(&basec, r->repo, &base) < 0) {
			rc = git_fail(err, "cannot read commit", "merge base");
			goto out;
		}
	}
	if (git_commit_tree(&tb, newc) < 0) {
		rc = git_fail(err, "cannot read tree of", new_hex);
		goto out;
	}
	if ((oldc || basec) && git_commit_tree(&ta, oldc ? oldc : basec) < 0) {
		rc = git_fail(err, "cannot read tree of",
			      oldc ? old_hex : "merge base");
		goto out;
	}
	out->all = !has_base;
	if (!ta || !git_oid_equal(git_tree_id(ta), git_tree_id(tb)))
		rc = walk_pair(&w, ta, tb);
	if (rc < 0)
		goto out;
	sort_unique(&w);
	out->items = w.items;
	out->len = w.len;
	w.items = NULL;
	w.len = 0;
out:
	if (rc < 0)
		out->all = false;
	while (w.len > 0)
		free(w.items[--w.len]);
	free(w.items);
	zh_buf_dispose(&w.path);
	git_tree_free(ta);
	git_tree_free(tb);
	git_commit_free(oldc);
	git_object_free(oldo);
	git_commit_free(newc);
	git_commit_free(basec);
	return rc;
}

int zh_repo_tree_paths(struct zh_paths *out, struct zh_repo *r,
		       const char *new_hex, struct zh_error *err)
{
	struct walk w = {.repo = r->repo, .err = err};
	git_commit *c = NULL;
	git_tree *t = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	zh_buf_init(&w.path, PATH_CAP);
	if ((rc = lookup_commit(&c, r->repo, new_hex, err)) < 0)
		goto out;
	if (git_commit_tree(&t, c) < 0) {
		rc = git_fail(err, "cannot read tree of", new_hex);
		goto out;
	}
	if ((rc = walk_pair(&w, NULL, t)) < 0)
		goto out;
	sort_unique(&w);
	out->items = w.items;
	out->len = w.len;
	out->all = true;
	w.items = NULL;
	w.len = 0;
out:
	while (w.len > 0)
		free(w.items[--w.len]);
	free(w.items);
	zh_buf_dispose(&w.path);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

int zh_repo_changed_paths(struct zh_paths *out, struct zh_repo *r,
			  const char *old_hex, const char *new_hex,
			  struct zh_error *err)
{
	return zh_repo_changed_paths_ref(out, r, NULL, old_hex, new_hex, err);
}

/* ---- notes view: the notes tree kept for many reads ---- */

/* As gitrepo/notes.c: a note over this is not read. */
#define NOTE_MAX (1024 * 1024)

struct zh_notes_view {
	git_repository *repo;
	git_tree *root; /* NULL when the notes ref does not exist */
	/* the first fan-out level ("ab/"), loaded on first use: a notes
	 * tree over 4 KiB is not in libgit2's object cache, so without this
	 * every read would inflate and parse it again */
	git_tree *fan[256];
	char name[1024];
};

int zh_notes_view_open(struct zh_notes_view **out, struct zh_repo *r,
		       const char *notes_ref, struct zh_error *err)
{
	struct zh_notes_view *v;
	git_commit *tip = NULL;
	git_oid id;
	int rc;

	*out = NULL;
	if (!(v = calloc(1, sizeof(*v))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	v->repo = r->repo;
	if ((rc = zh_notes_ref_name(v->name, sizeof(v->name), notes_ref, err)) <
	    0)
		goto out;
	rc = git_reference_name_to_id(&id, r->repo, v->name);
	if (rc == GIT_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	if (rc < 0 || git_commit_lookup(&tip, r->repo, &id) < 0 ||
	    git_commit_tree(&v->root, tip) < 0) {
		rc = git_fail(err, "cannot read notes", v->name);
		goto out;
	}
out:
	git_commit_free(tip);
	if (rc < 0)
		zh_notes_view_free(v);
	else
		*out = v;
	return rc;
}

void zh_notes_view_free(struct zh_notes_view *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < sizeof(v->fan) / sizeof(v->fan[0]); i++)
		git_tree_free(v->fan[i]);
	git_tree_free(v->root);
	free(v);
}

static int hex_digit(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* The subtree named dir (2 hex digits) of cur, kept in the view when cur
 * is the root; *owned is set when the caller must free it. */
static int fan_tree(git_tree **sub, bool *owned, struct zh_notes_view *v,
		    const git_tree *cur, const char *dir)
{
	const git_tree_entry *e = git_tree_entry_byname(cur, dir);
	int i = hex_digit(dir[0]) * 16 + hex_digit(dir[1]);

	*sub = NULL;
	*owned = cur != v->root;
	if (!e || git_tree_entry_type(e) != GIT_OBJECT_TREE)
		return 0;
	if (!*owned && v->fan[i]) {
		*sub = v->fan[i];
		return 0;
	}
	if (git_tree_lookup(sub, v->repo, git_tree_entry_id(e)) < 0)
		return ZH_EGIT;
	if (!*owned)
		v->fan[i] = *sub;
	return 0;
}

/* Look hex up like git does: a blob named by the rest of the id at this
 * level, else the 2-character directory of the next level. */
static int view_find(git_oid *blob, bool *found, struct zh_notes_view *v,
		     const char *hex)
{
	const git_tree *cur = v->root;
	git_tree *owned_tree = NULL;
	const char *rest = hex;
	int rc = 0;

	*found = false;
	while (cur) {
		const git_tree_entry *e = git_tree_entry_byname(cur, rest);
		git_tree *sub;
		bool owned;
		char dir[3];

		if (e && git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
			git_oid_cpy(blob, git_tree_entry_id(e));
			*found = true;
			break;
		}
		if (strlen(rest) <= 2)
			break;
		memcpy(dir, rest, 2);
		dir[2] = '\0';
		if ((rc = fan_tree(&sub, &owned, v, cur, dir)) < 0)
			break;
		git_tree_free(owned_tree);
		owned_tree = owned ? sub : NULL;
		cur = sub;
		rest += 2;
	}
	git_tree_free(owned_tree);
	return rc;
}

int zh_notes_view_read(char **out, struct zh_notes_view *v,
		       const char *commit_hex, struct zh_error *err)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_odb_object *b = NULL;
	size_t size;
	const char *raw;
	git_oid id;
	bool found;
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; commit_hex && commit_hex[i] && i < GIT_OID_HEXSZ; i++) {
		char c = commit_hex[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			break;
		hex[i] = c;
	}
	if (i != GIT_OID_HEXSZ || commit_hex[i])
		return zh_error_set(err, ZH_EINVALID,
				    "'%.80s' is not a commit id",
				    commit_hex ? commit_hex : "");
	hex[i] = '\0';
	if (!v->root)
		return 0;
	if (view_find(&id, &found, v, hex) < 0 ||
	    (found && read_raw(&b, v->repo, &id) < 0)) {
		rc = git_fail(err, "cannot read notes", v->name);
		goto out;
	}
	rc = 0;
	if (!found)
		goto out;
	size = git_odb_object_size(b);
	raw = git_odb_object_data(b);
	if (git_odb_object_type(b) != GIT_OBJECT_BLOB || size > NOTE_MAX ||
	    memchr(raw, '\0', size)) {
		rc = zh_error_set(err, ZH_ETOOBIG,
				  "note of '%s' is too big or not text", hex);
		goto out;
	}
	if (!(*out = dup_str(raw, (size_t)size)))
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
out:
	git_odb_object_free(b);
	return rc;
}

git_repository *zh_repo_raw(struct zh_repo *r)
{
	return r->repo;
}
