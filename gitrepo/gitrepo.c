#include "gitrepo/gitrepo.h"
#include "gitrepo/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "util/buf.h"

#include "util/banned.h"

struct zh_repo {
	git_repository *repo;
	char *git_dir;
	bool bare;
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
	rc = open_repo(&r->repo, path, discover);
	if (rc == GIT_ENOTFOUND) {
		rc = zh_error_set(err, ZH_ENOTFOUND,
				  "'%s' is not a git repository", path);
		goto out;
	}
	if (rc < 0) {
		/* e.g. a SHA-256 repository ("unsupported extension name
		 * extensions.objectformat") or one owned by another user */
		rc = git_fail(err, "cannot open repository", path);
		goto out;
	}
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

bool zh_repo_is_bare(const struct zh_repo *r)
{
	return r->bare;
}

/* Length of p without trailing slashes (keeps a lone "/"). */
static size_t trim_slashes(const char *p, size_t n)
{
	while (n > 1 && p[n - 1] == '/')
		n--;
	return n;
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
	const char *dir = r->bare ? git_repository_path(r->repo)
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

int zh_repo_config_get(char **out, struct zh_repo *r, const char *key,
		       struct zh_error *err)
{
	git_config *cfg = NULL;
	git_buf buf = {0};
	int rc;

	*out = NULL;
	if (git_repository_config(&cfg, r->repo) < 0) {
		rc = git_fail(err, "cannot read config of", r->git_dir);
		goto out;
	}
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

/* Look rev up and peel it to a commit. A full hex id skips revparse's
 * guessing (it would also try it as a ref name). */
static int lookup_commit(git_commit **out, git_repository *repo,
			 const char *rev, struct zh_error *err)
{
	git_object *obj = NULL, *peeled = NULL;
	git_oid oid;
	int rc;

	*out = NULL;
	if (is_full_hex(rev)) {
		rc = git_oid_fromstr(&oid, rev);
		if (rc == 0)
			rc =
			    git_object_lookup(&obj, repo, &oid, GIT_OBJECT_ANY);
	} else {
		rc = git_revparse_single(&obj, repo, rev);
	}
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) {
		rc = zh_error_set(err, ZH_ENOTFOUND, "unknown revision '%s'",
				  rev);
		goto out;
	}
	if (rc == GIT_EAMBIGUOUS) {
		rc = zh_error_set(err, ZH_EINVALID, "ambiguous revision '%s'",
				  rev);
		goto out;
	}
	if (rc < 0) {
		rc = git_fail(err, "cannot resolve", rev);
		goto out;
	}
	if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0) {
		rc =
		    zh_error_set(err, ZH_EINVALID, "'%s' is not a commit", rev);
		goto out;
	}
	*out = (git_commit *)peeled;
	peeled = NULL;
	rc = 0;
out:
	git_object_free(peeled);
	git_object_free(obj);
	return rc;
}

int zh_repo_resolve(char *hex, size_t hexsize, struct zh_repo *r,
		    const char *rev, struct zh_error *err)
{
	git_commit *c = NULL;
	int rc;

	if (hexsize < GIT_OID_HEXSZ + 1)
		return zh_error_set(err, ZH_EINVALID,
				    "buffer too small for an object id");
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

void zh_commit_info_dispose(struct zh_commit_info *c)
{
	if (!c)
		return;
	free(c->message);
	free(c->author);
	free(c->author_email);
	memset(c, 0, sizeof(*c));
}

int zh_repo_commit(struct zh_commit_info *out, struct zh_repo *r,
		   const char *rev, struct zh_error *err)
{
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
	out->message = dup_str(msg, strlen(msg));
	out->author = dup_str(a->name, strlen(a->name));
	out->author_email = dup_str(a->email, strlen(a->email));
	if (!out->message || !out->author || !out->author_email) {
		zh_commit_info_dispose(out);
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
	}
	git_commit_free(c);
	return rc;
}

/* ---- changed paths: a tree walk that opens only differing subtrees ---- */

struct walk {
	git_repository *repo;
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
	rc = walk_pair(w, ta, tb);
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

/* Find the commit the new ref is compared with when it did not exist:
 * its merge base with HEAD's commit. *has_base false: no base (unborn
 * HEAD, unrelated histories, or ref is HEAD's own branch). */
static int new_ref_base(git_oid *base, bool *has_base, struct zh_repo *r,
			const char *ref, const git_commit *newc,
			struct zh_error *err)
{
	git_reference *head = NULL;
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
	rc = git_merge_base(base, r->repo, git_commit_id(newc), &head_id);
	if (rc == GIT_ENOTFOUND) {
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		rc = git_fail(err, "cannot find merge base with", "HEAD");
		goto out;
	}
	*has_base = true;
out:
	git_reference_free(head);
	return rc;
}

int zh_repo_changed_paths_ref(struct zh_paths *out, struct zh_repo *r,
			      const char *ref, const char *old_hex,
			      const char *new_hex, struct zh_error *err)
{
	struct walk w = {.repo = r->repo, .err = err};
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
		if ((rc = lookup_commit(&oldc, r->repo, old_hex, err)) < 0)
			goto out;
	} else {
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

git_repository *zh_repo_raw(struct zh_repo *r)
{
	return r->repo;
}
