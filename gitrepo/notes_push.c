#include "gitrepo/notes_push.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "gitrepo/internal.h"
#include "gitrepo/notes.h"

#include "util/banned.h"

#define HEXSZ 40
#define PUSH_TRIES 5
#define LOCAL_TRIES 8
/* updates of a ref found locked, a moment apart, before it is said to be
 * locked (a writer holds a ref's lock for a moment) */
#define LOCKED_TRIES 3
/* as notes.c: a note over this is not ours to rewrite */
#define NOTE_MAX (1024 * 1024)
#define REBUILD_REF "refs/zadig-hook/notes-rebuild"
#define REBUILD_MESSAGE "Notes merged by zadig-hook"

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

/* Point name at id (forced), once more after removing a lock a killed
 * writer left on it (zh_ref_lock_remove_stale). libgit2's code. */
static int create_ref(git_repository *repo, const char *name, const git_oid *id,
		      const char *log)
{
	git_reference *ref = NULL;
	int rc = git_reference_create(&ref, repo, name, id, 1, log);

	if (rc == GIT_ELOCKED && zh_ref_lock_remove_stale(repo, name))
		rc = git_reference_create(&ref, repo, name, id, 1, log);
	git_reference_free(ref);
	return rc;
}

/* Network trouble is ZH_ENET, anything else libgit2 reports ZH_EGIT. */
static int git_code(void)
{
	const git_error *e = git_error_last();

	if (e && (e->klass == GIT_ERROR_NET || e->klass == GIT_ERROR_SSL ||
		  e->klass == GIT_ERROR_SSH || e->klass == GIT_ERROR_HTTP))
		return ZH_ENET;
	return ZH_EGIT;
}

static void pause_a_little(unsigned attempt)
{
	struct timespec ts;
	unsigned long ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* jitter: two writers that collided must not collide again */
	ms = 10UL * (attempt + 1) +
	     (unsigned long)(((uint64_t)ts.tv_nsec ^ (uint64_t)getpid()) %
			     (50UL * (attempt + 1)));
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	nanosleep(&ts, NULL);
}

/* The remote as given: the urls to use and what to call it in messages. */
struct target {
	char *url;     /* to fetch from */
	char *pushurl; /* to push to */
	char label[256];
	/* secrets that must not reach a message: the password, and the
	 * password a url carries in its user information */
	const char *password;
	char *url_secret[2];
	const char *username;
};

static void target_dispose(struct target *t)
{
	free(t->url);
	free(t->pushurl);
	free(t->url_secret[0]);
	free(t->url_secret[1]);
	memset(t, 0, sizeof(*t));
}

/* The password of "scheme://user:password@host/...", malloc'd, or NULL. */
static char *userinfo_secret(const char *url)
{
	const char *p = url ? strstr(url, "://") : NULL;
	const char *at, *colon;
	size_t auth;

	if (!p)
		return NULL;
	p += 3;
	auth = strcspn(p, "/?#");
	for (at = NULL; auth > 0; auth--)
		if (p[auth - 1] == '@') {
			at = p + auth - 1;
			break;
		}
	if (!at)
		return NULL;
	colon = memchr(p, ':', (size_t)(at - p));
	if (!colon || colon + 1 == at)
		return NULL;
	return strndup(colon + 1, (size_t)(at - colon - 1));
}

/* url without its user information, for messages. */
static void redact(char *buf, size_t size, const char *url)
{
	const char *p = strstr(url, "://");
	const char *at = NULL;
	size_t auth, i;

	if (p) {
		auth = strcspn(p + 3, "/?#");
		for (i = auth; i > 0; i--)
			if (p[3 + i - 1] == '@') {
				at = p + 3 + i;
				break;
			}
	}
	if (at)
		snprintf(buf, size, "%.*s%s", (int)(p + 3 - url), url, at);
	else
		snprintf(buf, size, "%s", url);
}

static void scrub_one(char *msg, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *p;

	if (n == 0)
		return;
	while ((p = strstr(msg, secret)))
		memset(p, '*', n);
}

/* Whatever libgit2 wrote, no secret leaves in err. */
static int scrub(struct zh_error *err, const struct target *t, int rc)
{
	if (err) {
		scrub_one(err->msg, t->password);
		scrub_one(err->msg, t->url_secret[0]);
		scrub_one(err->msg, t->url_secret[1]);
	}
	return rc;
}

static int config_string(char **out, git_config *cfg, const char *key)
{
	git_buf b = {0};
	int rc;

	*out = NULL;
	rc = git_config_get_string_buf(&b, cfg, key);
	if (rc == 0) {
		*out = strdup(b.ptr);
		rc = *out ? 0 : ZH_ENOMEM;
	}
	git_buf_dispose(&b);
	return rc;
}

static int resolve_target(struct target *t, git_repository *repo,
			  const char *remote, const char *username,
			  const char *password, struct zh_error *err)
{
	git_config *cfg = NULL;
	char key[512];
	int valid = 0, rc = 0;

	memset(t, 0, sizeof(*t));
	t->username = username;
	t->password = password;
	if (!remote || !*remote)
		return zh_error_set(err, ZH_EINVALID, "no remote to push to");
	if (strpbrk(remote, "/:")) {
		/* a url or a path */
		redact(t->label, sizeof(t->label), remote);
		if (!(t->url = strdup(remote)) ||
		    !(t->pushurl = strdup(remote))) {
			rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
		t->url_secret[0] = userinfo_secret(remote);
		goto out;
	}
	snprintf(t->label, sizeof(t->label), "%s", remote);
	if (git_remote_name_is_valid(&valid, remote) < 0 || !valid ||
	    strlen(remote) > 400) {
		rc = zh_error_set(err, ZH_EINVALID,
				  "'%.200s' is not a remote name or url",
				  remote);
		goto out;
	}
	/* read the config, not git_remote_lookup: its url.*.insteadOf
	 * lookup leaks in libgit2 1.5 (see remote.c) */
	if (git_repository_config_snapshot(&cfg, repo) < 0) {
		rc = zh_error_set(err, ZH_EGIT, "cannot read the config: %s",
				  git_msg());
		goto out;
	}
	snprintf(key, sizeof(key), "remote.%s.url", remote);
	rc = config_string(&t->url, cfg, key);
	if (rc == GIT_ENOTFOUND) {
		rc = zh_error_set(err, ZH_ENOTFOUND, "no remote '%s'", remote);
		goto out;
	}
	if (rc == 0) {
		snprintf(key, sizeof(key), "remote.%s.pushurl", remote);
		rc = config_string(&t->pushurl, cfg, key);
		if (rc == GIT_ENOTFOUND)
			rc = (t->pushurl = strdup(t->url)) ? 0 : ZH_ENOMEM;
	}
	if (rc == ZH_ENOMEM) {
		rc = zh_error_set(err, rc, "out of memory");
		goto out;
	}
	if (rc < 0) {
		rc = zh_error_set(err, ZH_EGIT, "cannot read remote '%s': %s",
				  remote, git_msg());
		goto out;
	}
	t->url_secret[0] = userinfo_secret(t->url);
	t->url_secret[1] = userinfo_secret(t->pushurl);
out:
	git_config_free(cfg);
	scrub(err, t, rc);
	if (rc < 0)
		target_dispose(t);
	return rc;
}

/* One connection's callbacks' state: creds first, so that the payload
 * zh_remote_callbacks_init sets points at the whole struct too. */
struct conn {
	struct zh_remote_creds creds;
	bool rejected;
	char status[256];
};

static int on_update(const char *refname, const char *status, void *payload)
{
	struct conn *c = payload;

	(void)refname;
	if (status) {
		c->rejected = true;
		snprintf(c->status, sizeof(c->status), "%s", status);
	}
	return 0;
}

/* The commit name points at; *has false when the ref does not exist. */
static int read_ref(git_oid *id, bool *has, git_repository *repo,
		    const char *name, struct zh_error *err)
{
	int rc = git_reference_name_to_id(id, repo, name);

	*has = rc == 0;
	if (rc == 0 || rc == GIT_ENOTFOUND)
		return 0;
	return zh_error_set(err, ZH_EGIT, "cannot read '%s': %s", name,
			    git_msg());
}

/* Step 1: the remote's notes commit into *rid (*has false when it has
 * none), its objects fetched into the local repository. */
static int fetch_remote(git_oid *rid, bool *has, git_repository *repo,
			const struct target *t, const char *name,
			struct zh_error *err)
{
	char spec[1200];
	char *specs[] = {spec};
	git_strarray refspecs = {specs, 1};
	const git_remote_head **heads;
	git_remote_callbacks cb;
	git_fetch_options fo;
	git_remote *rm = NULL;
	git_reference *ref = NULL;
	git_odb *odb = NULL;
	struct zh_remote_creds c = {t->url, t->username, t->password, 0};
	size_t i, n = 0;
	int rc = 0;

	*has = false;
	zh_remote_callbacks_init(&cb, &c);
	if (zh_remote_new(&rm, repo, t->url) < 0 ||
	    git_remote_connect(rm, GIT_DIRECTION_FETCH, &cb, NULL, NULL) < 0) {
		rc = zh_error_set(err, git_code(), "cannot reach '%s': %s",
				  t->label, git_msg());
		goto out;
	}
	if (git_remote_ls(&heads, &n, rm) < 0) {
		rc = zh_error_set(err, git_code(),
				  "cannot list the refs of '%s': %s", t->label,
				  git_msg());
		goto out;
	}
	for (i = 0; i < n; i++)
		if (strcmp(heads[i]->name, name) == 0) {
			git_oid_cpy(rid, &heads[i]->oid);
			*has = true;
			break;
		}
	if (!*has) {
		/* a stale copy must not look like the remote's notes */
		if (git_reference_lookup(&ref, repo,
					 ZH_NOTES_PUSH_REMOTE_REF) == 0)
			git_reference_delete(ref);
		goto out;
	}
	if ((rc = git_repository_odb(&odb, repo)) < 0) {
		rc = zh_error_set(err, ZH_EGIT, "cannot open objects: %s",
				  git_msg());
		goto out;
	}
	if (!git_odb_exists(odb, rid)) {
		snprintf(spec, sizeof(spec), "+%s:%s", name,
			 ZH_NOTES_PUSH_REMOTE_REF);
		git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
		fo.callbacks = cb;
		fo.prune = GIT_FETCH_NO_PRUNE;
		fo.update_fetchhead = 0;
		fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
		rc = git_remote_fetch(rm, &refspecs, &fo,
				      "zadig-hook: fetch notes");
		/* a lock a killed fetch left on the ref fetched into: once
		 * stale, it goes and the fetch is tried again */
		if (rc < 0 &&
		    zh_ref_lock_remove_stale(repo, ZH_NOTES_PUSH_REMOTE_REF))
			rc = git_remote_fetch(rm, &refspecs, &fo,
					      "zadig-hook: fetch notes");
		if (rc < 0) {
			rc = zh_error_set(err, git_code(),
					  "cannot fetch notes '%s' from '%s': "
					  "%s",
					  name, t->label, git_msg());
			goto out;
		}
		if (!git_odb_exists(odb, rid)) {
			rc = zh_error_set(err, ZH_EGIT,
					  "fetch of notes '%s' from '%s' did "
					  "not bring their commit",
					  name, t->label);
			goto out;
		}
	}
	/* the ref keeps the fetched objects from being pruned */
	if (create_ref(repo, ZH_NOTES_PUSH_REMOTE_REF, rid,
		       "zadig-hook: remote notes") < 0)
		rc = zh_error_set(err, ZH_EGIT, "cannot write '%s': %s",
				  ZH_NOTES_PUSH_REMOTE_REF, git_msg());
out:
	if (rm)
		git_remote_disconnect(rm);
	git_reference_free(ref);
	git_odb_free(odb);
	git_remote_free(rm);
	return scrub(err, t, rc);
}

/* ---- rebuilding the local notes on top of the remote's ------------- */

struct collect {
	git_repository *repo;
	struct zh_notes_batch *b;
	git_tree *base; /* NULL: every note counts */
	int rc;
	struct zh_error *err;
};

/* The blob of commit hex's note in tree, flat or fanned out. */
static bool note_blob(git_oid *out, const git_tree *tree, const char *hex)
{
	char path[HEXSZ + 24];
	git_tree_entry *e = NULL;
	int depth;

	for (depth = 0; depth <= 3; depth++) {
		size_t i, n = 0;

		for (i = 0; i < (size_t)depth; i++) {
			path[n++] = hex[2 * i];
			path[n++] = hex[2 * i + 1];
			path[n++] = '/';
		}
		snprintf(path + n, sizeof(path) - n, "%s", hex + 2 * depth);
		if (git_tree_entry_bypath(&e, tree, path) == 0) {
			bool blob = git_tree_entry_type(e) == GIT_OBJECT_BLOB;

			if (blob)
				git_oid_cpy(out, git_tree_entry_id(e));
			git_tree_entry_free(e);
			if (blob)
				return true;
		}
	}
	return false;
}

/* The commit id a notes tree path names ("ab/cdef..." -> "abcdef..."). */
static bool path_hex(char *hex, const char *path)
{
	size_t n = 0;

	for (; *path; path++) {
		char c = *path;

		if (c == '/')
			continue;
		if (n == HEXSZ ||
		    !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		hex[n++] = c;
	}
	hex[n] = '\0';
	return n == HEXSZ;
}

/* One line of a note, without its newline. */
struct span {
	const char *p;
	size_t len;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The lines of text [p, end), in order, into *out (*n of them). */
static int split_lines(struct span **out, size_t *n, const char *p,
		       const char *end)
{
	struct span *v = NULL;
	size_t cap = 0;

	*n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (*n == cap) {
			size_t c2 = cap ? 2 * cap : 8;
			struct span *w = realloc(v, c2 * sizeof(*v));

			if (!w) {
				free(v);
				return ZH_ENOMEM;
			}
			v = w;
			cap = c2;
		}
		v[(*n)++] = (struct span){p, len};
		p += len + (nl ? 1 : 0);
	}
	*out = v;
	return 0;
}

/* Queue the task lines of the note at path (blob id) that the base's
 * note of the same commit does not have, as they are, into the batch.
 * A line the base has too is one this side did not change: the
 * remote's own line (maybe newer) must stay. */
static int collect_note(struct collect *x, const char *path, const git_oid *id)
{
	struct zh_note_line *lines = NULL;
	struct span *seen = NULL, *text = NULL;
	git_blob *blob = NULL, *bblob = NULL;
	char hex[HEXSZ + 1];
	const char *p;
	size_t n = 0, nseen = 0, ntext = 0, i;
	git_oid old;
	int rc = 0;

	if (!path_hex(hex, path))
		return 0; /* not a note: kept only by the remote's tree */
	if (x->base && note_blob(&old, x->base, hex)) {
		if (git_oid_equal(&old, id))
			return 0;
		if (git_blob_lookup(&bblob, x->repo, &old) < 0)
			return zh_error_set(x->err, ZH_EGIT,
					    "cannot read note of '%s': %s", hex,
					    git_msg());
		p = git_blob_rawcontent(bblob);
		if (git_blob_rawsize(bblob) <= NOTE_MAX) {
			if (split_lines(&seen, &nseen, p,
					p + git_blob_rawsize(bblob)) < 0)
				goto nomem;
			if (nseen)
				qsort(seen, nseen, sizeof(*seen), span_cmp);
		}
	}
	if (git_blob_lookup(&blob, x->repo, id) < 0) {
		rc = zh_error_set(x->err, ZH_EGIT,
				  "cannot read note of '%s': %s", hex,
				  git_msg());
		goto out;
	}
	p = git_blob_rawcontent(blob);
	if (git_blob_rawsize(blob) > NOTE_MAX ||
	    memchr(p, '\0', (size_t)git_blob_rawsize(blob)))
		goto out; /* not a note of ours */
	if (split_lines(&text, &ntext, p, p + git_blob_rawsize(blob)) < 0 ||
	    (ntext && !(lines = calloc(ntext, sizeof(*lines)))))
		goto nomem;
	for (i = 0; i < ntext; i++) {
		if (nseen &&
		    bsearch(&text[i], seen, nseen, sizeof(*seen), span_cmp))
			continue; /* unchanged here since the base */
		rc =
		    zh_note_line_parse(&lines[n], text[i].p, text[i].len, NULL);
		if (rc == ZH_ENOMEM)
			goto nomem;
		if (rc == 0)
			n++;
		rc = 0; /* a person's line: the remote's text keeps its own */
	}
	if (n)
		rc = zh_notes_batch_add(x->b, hex, lines, n, x->err);
	goto out;
nomem:
	rc = zh_error_set(x->err, ZH_ENOMEM, "out of memory");
out:
	for (i = 0; i < n; i++)
		zh_note_line_dispose(&lines[i]);
	free(lines);
	free(text);
	free(seen);
	git_blob_free(blob);
	git_blob_free(bblob);
	return rc;
}

static int walk_cb(const char *root, const git_tree_entry *e, void *payload)
{
	struct collect *x = payload;
	char path[HEXSZ + 64];

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	snprintf(path, sizeof(path), "%s%s", root, git_tree_entry_name(e));
	if ((x->rc = collect_note(x, path, git_tree_entry_id(e))) < 0)
		return -1;
	return 0;
}

/* The task lines of every note the local commit lid changed since base
 * (all its notes without a base), as one batch. */
static int collect_local(struct collect *x, const git_oid *lid,
			 const git_oid *base)
{
	git_commit *lc = NULL, *bc = NULL;
	git_tree *lt = NULL;
	git_diff *diff = NULL;
	size_t i;
	int rc = 0;

	if (git_commit_lookup(&lc, x->repo, lid) < 0 ||
	    git_commit_tree(&lt, lc) < 0 ||
	    (base && (git_commit_lookup(&bc, x->repo, base) < 0 ||
		      git_commit_tree(&x->base, bc) < 0))) {
		rc = zh_error_set(x->err, ZH_EGIT, "cannot read notes: %s",
				  git_msg());
		goto out;
	}
	if (!x->base) {
		x->rc = 0;
		if (git_tree_walk(lt, GIT_TREEWALK_PRE, walk_cb, x) < 0)
			rc = x->rc < 0 ? x->rc
				       : zh_error_set(x->err, ZH_EGIT,
						      "cannot read notes: %s",
						      git_msg());
		goto out;
	}
	/* only differing subtrees are read: the cost follows the change */
	if (git_diff_tree_to_tree(&diff, x->repo, x->base, lt, NULL) < 0) {
		rc = zh_error_set(x->err, ZH_EGIT, "cannot compare notes: %s",
				  git_msg());
		goto out;
	}
	for (i = 0; rc == 0 && i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);

		if (d->status == GIT_DELTA_DELETED ||
		    (d->new_file.mode != GIT_FILEMODE_BLOB &&
		     d->new_file.mode != GIT_FILEMODE_BLOB_EXECUTABLE))
			continue;
		rc = collect_note(x, d->new_file.path, &d->new_file.id);
	}
out:
	git_diff_free(diff);
	git_tree_free(x->base);
	x->base = NULL;
	git_tree_free(lt);
	git_commit_free(bc);
	git_commit_free(lc);
	return rc;
}

/* Step 2 for diverged notes: a commit (*out) on top of the remote's rid
 * that also holds the local changes of lid. */
static int rebuild(git_oid *out, struct zh_repo *r, git_repository *repo,
		   const git_oid *lid, const git_oid *rid, struct zh_error *err)
{
	struct collect x = {repo, NULL, NULL, 0, err};
	git_reference *ref = NULL;
	git_oid base;
	bool has_base;
	int rc;

	rc = git_merge_base(&base, repo, lid, rid);
	if (rc < 0 && rc != GIT_ENOTFOUND)
		return zh_error_set(err, ZH_EGIT,
				    "cannot compare notes histories: %s",
				    git_msg());
	has_base = rc == 0;
	if ((rc = zh_notes_batch_new(&x.b, err)) < 0)
		return rc;
	if ((rc = collect_local(&x, lid, has_base ? &base : NULL)) < 0)
		goto out;
	git_oid_cpy(out, rid);
	if (zh_notes_batch_len(x.b) == 0)
		goto out;
	/* zh_notes_commit writes onto a ref: one that starts at the
	 * remote's commit, private to this merge */
	if (create_ref(repo, REBUILD_REF, rid, "zadig-hook: merge notes") < 0) {
		rc = zh_error_set(err, ZH_EGIT, "cannot write '%s': %s",
				  REBUILD_REF, git_msg());
		goto out;
	}
	if ((rc = zh_notes_commit(r, REBUILD_REF, x.b, REBUILD_MESSAGE, err)) <
	    0)
		goto out;
	if (zh_notes_batch_changed(x.b) &&
	    git_oid_fromstr(out, zh_notes_batch_commit_id(x.b)) < 0)
		rc = zh_error_set(err, ZH_EGIT, "bad notes commit id");
out:
	if (git_reference_lookup(&ref, repo, REBUILD_REF) == 0)
		git_reference_delete(ref);
	git_reference_free(ref);
	zh_notes_batch_free(x.b);
	return rc;
}

/* Move name from old (NULL: must not exist) to id; *moved false when
 * another writer moved it first, or holds its lock (*locked). */
static int move_ref(bool *moved, bool *locked, git_repository *repo,
		    const char *name, const git_oid *id, const git_oid *old,
		    struct zh_error *err)
{
	git_reference *ref = NULL;
	git_oid zero;
	int rc;

	memset(&zero, 0, sizeof(zero));
	/* a zero old id means "must not exist", checked under the lock */
	rc = git_reference_create_matching(&ref, repo, name, id, 1,
					   old ? old : &zero,
					   "zadig-hook: notes from the remote");
	git_reference_free(ref);
	*moved = rc == 0;
	/* a lock a killed writer left: gone for the caller's next try */
	*locked = rc == GIT_ELOCKED && !zh_ref_lock_remove_stale(repo, name);
	if (rc == 0 || rc == GIT_EMODIFIED || rc == GIT_EEXISTS ||
	    rc == GIT_ELOCKED || rc == GIT_ENOTFOUND)
		return 0;
	return zh_error_set(err, ZH_EGIT, "cannot update '%s': %s", name,
			    git_msg());
}

/* zh_notes_push_prepare; *none: done because there is no local notes
 * ref (nothing of ours to push). */
static int push_prepare(bool *done, bool *none, struct zh_repo *r,
			const char *notes_ref, const char *remote,
			const char *username, const char *password,
			struct zh_error *err)
{
	git_repository *repo = zh_repo_raw(r);
	struct target t;
	char name[1024];
	git_oid lid, rid, nid;
	bool has_local, has_remote, moved, locked = false;
	unsigned tries, nlocked = 0;
	int rc;

	*done = false;
	*none = false;
	if ((rc = zh_notes_ref_name(name, sizeof(name), notes_ref, err)) < 0 ||
	    (rc = resolve_target(&t, repo, remote, username, password, err)) <
		0)
		return rc;
	if ((rc = fetch_remote(&rid, &has_remote, repo, &t, name, err)) < 0)
		goto out;
	for (tries = 0;; tries++) {
		nlocked = locked ? nlocked + 1 : 0;
		if (nlocked >= LOCKED_TRIES) {
			char lock[sizeof(name) + 8];

			snprintf(lock, sizeof(lock), "%s.lock", name);
			rc = zh_notes_ref_locked(err, name, lock);
			goto out;
		}
		if (tries >= LOCAL_TRIES) {
			rc = zh_error_set(err, ZH_EGIT,
					  "notes ref '%s' kept changing, gave "
					  "up after %u tries",
					  name, LOCAL_TRIES);
			goto out;
		}
		if (locked)
			pause_a_little(nlocked); /* a writer's moment */
		if ((rc = read_ref(&lid, &has_local, repo, name, err)) < 0)
			goto out;
		*none = !has_local;
		if (!has_remote) {
			*done = !has_local;
			goto out;
		}
		if (has_local && git_oid_equal(&lid, &rid)) {
			*done = true;
			goto out;
		}
		if (has_local) {
			rc = git_graph_descendant_of(repo, &lid, &rid);
			if (rc == 1) {
				rc = 0;
				goto out; /* a fast-forward: push it */
			}
			if (rc == 0)
				rc = git_graph_descendant_of(repo, &rid, &lid);
			if (rc < 0) {
				rc = zh_error_set(err, ZH_EGIT,
						  "cannot compare notes "
						  "histories: %s",
						  git_msg());
				goto out;
			}
		}
		if (!has_local || rc == 1) {
			/* the remote has everything we have, and more */
			rc = move_ref(&moved, &locked, repo, name, &rid,
				      has_local ? &lid : NULL, err);
			if (rc < 0)
				goto out;
			if (moved) {
				*done = true;
				goto out;
			}
			continue;
		}
		if ((rc = rebuild(&nid, r, repo, &lid, &rid, err)) < 0 ||
		    (rc = move_ref(&moved, &locked, repo, name, &nid, &lid,
				   err)) < 0)
			goto out;
		if (moved)
			goto out;
		/* a local writer added notes meanwhile: merge them too */
	}
out:
	rc = scrub(err, &t, rc);
	target_dispose(&t);
	return rc;
}

int zh_notes_push_prepare(bool *done, struct zh_repo *r, const char *notes_ref,
			  const char *remote, const char *username,
			  const char *password, struct zh_error *err)
{
	bool none;

	return push_prepare(done, &none, r, notes_ref, remote, username,
			    password, err);
}

/* The path of a local remote ("/srv/x.git", "file:///srv/x.git"), or
 * NULL for one libgit2 reaches over the network. */
static const char *local_path(const char *url)
{
	if (strncmp(url, "file://", 7) == 0)
		return url + 7;
	return url[0] == '/' ? url : NULL;
}

/* Push to a repository on this machine by hand: libgit2's local
 * transport overwrites the remote ref without comparing it with the value
 * it checked (a concurrent writer's update would be lost) and refuses a
 * non-bare remote. Here the objects go over as one pack and the ref moves
 * by compare-and-swap. */
static int push_local(struct conn *c, git_repository *repo, const char *path,
		      const char *name, const git_oid *lid,
		      const struct target *t, struct zh_error *err)
{
	git_repository *rr = NULL;
	git_odb *odb = NULL, *rodb = NULL;
	git_odb_writepack *wp = NULL;
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	git_reference *ref = NULL;
	git_indexer_progress stats;
	git_buf pack = {0};
	git_oid rid, zero;
	char lock[PATH_MAX];
	unsigned tries;
	bool has;
	int rc;

	memset(&zero, 0, sizeof(zero));
	/* its owner checked as git checks it (safe.directory) */
	if ((rc = zh_git_open(&rr, path, err)) < 0)
		goto out;
	if ((rc = read_ref(&rid, &has, rr, name, err)) < 0)
		goto out;
	if (has && git_oid_equal(&rid, lid))
		goto out;
	if ((rc = git_repository_odb(&odb, repo)) < 0)
		goto fail;
	if (has && (!git_odb_exists(odb, &rid) ||
		    git_graph_descendant_of(repo, lid, &rid) != 1)) {
		c->rejected = true;
		snprintf(c->status, sizeof(c->status), "non-fast-forward");
		goto out;
	}
	if ((rc = git_revwalk_new(&walk, repo)) < 0 ||
	    (rc = git_revwalk_push(walk, lid)) < 0 ||
	    (has && (rc = git_revwalk_hide(walk, &rid)) < 0) ||
	    (rc = git_packbuilder_new(&pb, repo)) < 0)
		goto fail;
	git_packbuilder_set_threads(pb, 1);
	memset(&stats, 0, sizeof(stats));
	if ((rc = git_packbuilder_insert_walk(pb, walk)) < 0 ||
	    (rc = git_packbuilder_write_buf(&pack, pb)) < 0 ||
	    (rc = git_repository_odb(&rodb, rr)) < 0 ||
	    (rc = git_odb_write_pack(&wp, rodb, NULL, NULL)) < 0 ||
	    (rc = wp->append(wp, pack.ptr, pack.size, &stats)) < 0 ||
	    (rc = wp->commit(wp, &stats)) < 0)
		goto fail;
	for (tries = 0;; tries++) {
		/* a zero old id: the ref must still not exist */
		rc = git_reference_create_matching(&ref, rr, name, lid, 1,
						   has ? &rid : &zero,
						   "zadig-hook: push notes");
		git_reference_free(ref);
		ref = NULL;
		if (rc != GIT_ELOCKED || tries + 1 >= LOCKED_TRIES)
			break;
		/* a lock a killed writer left on the remote's ref goes at
		 * once; a writer's own, in a moment */
		if (!zh_ref_lock_remove_stale(rr, name))
			pause_a_little(tries + 1);
	}
	if (rc == GIT_ELOCKED) {
		/* not a race another try wins: say who holds it up */
		if (!zh_ref_lock_path(lock, sizeof(lock), rr, name))
			snprintf(lock, sizeof(lock), "%s.lock", name);
		rc = zh_notes_ref_locked(err, name, lock);
	} else if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS ||
		   rc == GIT_ENOTFOUND) {
		c->rejected = true;
		snprintf(c->status, sizeof(c->status),
			 "the remote ref changed meanwhile");
		rc = 0;
	} else if (rc < 0) {
		goto fail;
	}
	goto out;
fail:
	rc = zh_error_set(err, ZH_EGIT, "cannot push notes '%s' to '%s': %s",
			  name, t->label, git_msg());
out:
	git_reference_free(ref);
	git_buf_dispose(&pack);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	if (wp)
		wp->free(wp);
	git_odb_free(rodb);
	git_odb_free(odb);
	git_repository_free(rr);
	return rc;
}

/* zh_notes_push_send; *none: nothing sent because there is no local
 * notes ref (another process deleted it since prepare). */
static int push_send(bool *rejected, bool *none, struct zh_repo *r,
		     const char *notes_ref, const char *remote,
		     const char *username, const char *password,
		     struct zh_error *err)
{
	git_repository *repo = zh_repo_raw(r);
	struct target t;
	struct conn c = {{NULL, username, password, 0}, false, ""};
	char name[1024], spec[2100];
	char *specs[] = {spec};
	git_strarray refspecs = {specs, 1};
	git_push_options po;
	git_remote *rm = NULL;
	git_oid lid;
	bool has_local;
	int rc;

	*rejected = false;
	*none = false;
	if ((rc = zh_notes_ref_name(name, sizeof(name), notes_ref, err)) < 0 ||
	    (rc = resolve_target(&t, repo, remote, username, password, err)) <
		0)
		return rc;
	if ((rc = read_ref(&lid, &has_local, repo, name, err)) < 0)
		goto out;
	if (!has_local) {
		*none = true;
		goto out;
	}
	snprintf(spec, sizeof(spec), "%s:%s", name, name);
	c.creds.url = t.pushurl;
	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	zh_remote_callbacks_init(&po.callbacks, &c.creds);
	po.callbacks.push_update_reference = on_update;
	/* notes find no delta worth the search (pack_config.c) */
	if (zh_repo_pack_without_deltas(repo) < 0) {
		rc = zh_error_set(err, ZH_EGIT, "cannot push notes '%s': %s",
				  name, git_msg());
		goto out;
	}
	if (local_path(t.pushurl)) {
		rc = push_local(&c, repo, local_path(t.pushurl), name, &lid, &t,
				err);
		if (rc == 0 && c.rejected) {
			*rejected = true;
			zh_error_set(err, ZH_EGIT,
				     "push of notes '%s' to '%s' rejected: %s",
				     name, t.label, c.status);
		}
		goto out;
	}
	if (zh_remote_new(&rm, repo, t.pushurl) < 0) {
		rc = zh_error_set(err, ZH_EGIT, "cannot push to '%s': %s",
				  t.label, git_msg());
		goto out;
	}
	rc = git_remote_push(rm, &refspecs, &po);
	if (rc == GIT_ENONFASTFORWARD) {
		/* checked before sending: the remote moved since the fetch */
		*rejected = true;
		zh_error_set(err, ZH_EGIT,
			     "push of notes '%s' to '%s' rejected: %s", name,
			     t.label, git_msg());
		rc = 0;
	} else if (rc < 0) {
		rc = zh_error_set(err, git_code(),
				  "cannot push notes '%s' to '%s': %s", name,
				  t.label, git_msg());
	} else if (c.rejected) {
		*rejected = true;
		zh_error_set(err, ZH_EGIT,
			     "push of notes '%s' to '%s' rejected: %s", name,
			     t.label, c.status);
	}
out:
	git_remote_free(rm);
	rc = scrub(err, &t, rc);
	target_dispose(&t);
	return rc;
}

int zh_notes_push_send(bool *rejected, struct zh_repo *r, const char *notes_ref,
		       const char *remote, const char *username,
		       const char *password, struct zh_error *err)
{
	bool none;

	return push_send(rejected, &none, r, notes_ref, remote, username,
			 password, err);
}

int zh_notes_push(enum zh_notes_pushed *out, struct zh_repo *r,
		  const char *notes_ref, const char *remote,
		  const char *username, const char *password,
		  struct zh_error *err)
{
	char last[sizeof(err->msg)] = "";
	enum zh_notes_pushed ignored;
	unsigned tries;
	bool done, rejected, none;
	int rc;

	if (!out)
		out = &ignored;
	*out = ZH_NOTES_PUSHED_NONE;
	for (tries = 0; tries < PUSH_TRIES; tries++) {
		if (tries)
			pause_a_little(tries);
		if ((rc = push_prepare(&done, &none, r, notes_ref, remote,
				       username, password, err)) < 0)
			return rc;
		if (done) {
			*out = none ? ZH_NOTES_PUSHED_NONE
				    : ZH_NOTES_PUSHED_UP_TO_DATE;
			return 0;
		}
		if ((rc = push_send(&rejected, &none, r, notes_ref, remote,
				    username, password, err)) < 0)
			return rc;
		if (!rejected) {
			*out =
			    none ? ZH_NOTES_PUSHED_NONE : ZH_NOTES_PUSHED_SENT;
			return 0;
		}
		snprintf(last, sizeof(last), "%s", err ? err->msg : "");
	}
	return zh_error_set(err, ZH_EGIT, "%s (after %u tries)", last,
			    PUSH_TRIES);
}

int zh_notes_head(char *hex, size_t size, struct zh_repo *r,
		  const char *notes_ref, struct zh_error *err)
{
	char name[1024];
	git_oid id;
	bool has;
	int rc;

	if (size)
		hex[0] = '\0';
	if ((rc = zh_notes_ref_name(name, sizeof(name), notes_ref, err)) < 0 ||
	    (rc = read_ref(&id, &has, zh_repo_raw(r), name, err)) < 0)
		return rc;
	if (has)
		git_oid_tostr(hex, size, &id);
	return 0;
}

int zh_notes_restore(bool *restored, struct zh_repo *r, const char *notes_ref,
		     const char *ours, struct zh_error *err)
{
	git_repository *repo = zh_repo_raw(r);
	git_odb *odb = NULL;
	char name[1024];
	git_oid oid, cur, nid;
	bool has, moved, locked = false, exists;
	unsigned tries, nlocked = 0;
	int rc;

	*restored = false;
	if ((rc = zh_notes_ref_name(name, sizeof(name), notes_ref, err)) < 0)
		return rc;
	if (strlen(ours) != HEXSZ || git_oid_fromstr(&oid, ours) < 0)
		return zh_error_set(err, ZH_EINVALID,
				    "bad notes commit id '%.64s'", ours);
	for (tries = 0;; tries++) {
		nlocked = locked ? nlocked + 1 : 0;
		if (nlocked >= LOCKED_TRIES) {
			char lock[sizeof(name) + 8];

			snprintf(lock, sizeof(lock), "%s.lock", name);
			return zh_notes_ref_locked(err, name, lock);
		}
		if (tries >= LOCAL_TRIES)
			return zh_error_set(err, ZH_EGIT,
					    "notes ref '%s' kept changing, "
					    "gave up after %u tries",
					    name, LOCAL_TRIES);
		if (locked)
			pause_a_little(nlocked); /* a writer's moment */
		if ((rc = read_ref(&cur, &has, repo, name, err)) < 0)
			return rc;
		if (has && git_oid_equal(&cur, &oid))
			return 0;
		if (tries == 0) {
			if (git_repository_odb(&odb, repo) < 0)
				return zh_error_set(err, ZH_EGIT,
						    "cannot read notes: %s",
						    git_msg());
			exists = git_odb_exists(odb, &oid);
			git_odb_free(odb);
			if (!exists)
				return zh_error_set(
				    err, ZH_ENOTFOUND,
				    "notes commit %s is no longer in the "
				    "repository",
				    ours);
		}
		if (has) {
			/* the ref moved on from ours: nothing lost */
			rc = git_graph_descendant_of(repo, &cur, &oid);
			if (rc == 1)
				return 0;
			if (rc < 0)
				return zh_error_set(err, ZH_EGIT,
						    "cannot compare notes "
						    "histories: %s",
						    git_msg());
			/* ours's changes since they last met, on top */
			if ((rc = rebuild(&nid, r, repo, &oid, &cur, err)) < 0)
				return rc;
			if (git_oid_equal(&nid, &cur))
				return 0; /* it holds them all */
		} else {
			git_oid_cpy(&nid, &oid);
		}
		if ((rc = move_ref(&moved, &locked, repo, name, &nid,
				   has ? &cur : NULL, err)) < 0)
			return rc;
		if (moved) {
			*restored = true;
			return 0;
		}
	}
}
