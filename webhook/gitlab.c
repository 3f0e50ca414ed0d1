#include "webhook/gitlab.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "util/buf.h"

#include "util/banned.h"

/* A block of an event's memory; the newest first. */
struct zh_gitlab_mem {
	struct zh_gitlab_mem *next;
	size_t used, cap;
	_Alignas(max_align_t) char data[];
};

/* The first block's size: what an event keeps of its body (816 bytes of
 * the 2.6 KB push fixture, ~260 of a merge request's 6 KB) fits; each
 * next block doubles, or holds what is asked. */
#define MEM_FIRST 1024

/* n bytes aligned to align (a power of two) in *head's newest block, or
 * in a new one; NULL when out of memory. */
static void *mem_alloc(struct zh_gitlab_mem **head, size_t n, size_t align)
{
	struct zh_gitlab_mem *b = *head;
	size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0, cap;

	if (!b || at > b->cap || b->cap - at < n) {
		cap = b ? b->cap * 2 : MEM_FIRST;
		if (cap < n)
			cap = n;
		if (cap > SIZE_MAX - sizeof(*b) ||
		    !(b = malloc(sizeof(*b) + cap)))
			return NULL;
		b->next = *head;
		b->cap = cap;
		*head = b;
		at = 0;
	}
	b->used = at + n;
	return b->data + at;
}

/* s (n bytes, not NUL-terminated) as a string in *head. */
static char *mem_str(struct zh_gitlab_mem **head, const char *s, size_t n)
{
	char *p = n < SIZE_MAX ? mem_alloc(head, n + 1, 1) : NULL;

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* An array of n elements of size bytes in *head, zeroed. */
static void *mem_array(struct zh_gitlab_mem **head, size_t n, size_t size)
{
	void *p = size && n > SIZE_MAX / size
		      ? NULL
		      : mem_alloc(head, n * size, _Alignof(max_align_t));

	if (p)
		memset(p, 0, n * size);
	return p;
}

static void mem_free(struct zh_gitlab_mem *b)
{
	struct zh_gitlab_mem *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
}

void zh_gitlab_event_dispose(struct zh_gitlab_event *e)
{
	if (!e)
		return;
	mem_free(e->mem);
	memset(e, 0, sizeof(*e));
}

/* One allocation of n bytes as malloc holds it. */
static size_t held(size_t n)
{
	return (n + 16 + 15) & ~(size_t)15;
}

size_t zh_gitlab_event_bytes(const struct zh_gitlab_event *e)
{
	const struct zh_gitlab_mem *b;
	size_t n = 0;

	for (b = e->mem; b; b = b->next)
		n += held(sizeof(*b) + b->cap);
	return n;
}

const char *zh_gitlab_kind_name(enum zh_gitlab_kind k)
{
	switch (k) {
	case ZH_GITLAB_PUSH:
		return "push";
	case ZH_GITLAB_TAG_PUSH:
		return "tag_push";
	case ZH_GITLAB_MERGE_REQUEST:
		return "merge_request";
	default:
		return "other";
	}
}

/* ---- GitLab's events (and Zadig's notification), read with yajl ----
 *
 * The receiver reads every event before it answers, so this is its hot
 * path. json-c built the tree of a whole body (a 2.6 KB push: some ninety
 * values, each with allocations of its own) to take twenty strings out of
 * it: 16 us of the 52 us an event cost (docs/BENCHMARKS.md, twelfth
 * measurement). yajl hands each key and value to the callbacks below,
 * which keep the values an event is read for, noting what each was (a
 * string, an integer, null, another type), and skip the rest. The checks
 * after the parse (take_*) are then those of a tree: the kind decides
 * which fields are required. A key given twice counts once, the last time
 * (as in json-c's objects). Strings are not checked for UTF-8 (neither
 * did json-c): a commit message is data, whatever its bytes. */

enum seen { SEEN_NONE, SEEN_NULL, SEEN_STR, SEEN_INT, SEEN_OTHER };

struct val {
	enum seen seen;
	char *s;   /* SEEN_STR */
	bool nul;  /* s held a NUL (\u0000) where it is cut */
	int64_t i; /* SEEN_INT */
};

enum { ADDED, MODIFIED, REMOVED, NLISTS };
static const char *const list_names[NLISTS] = {"added", "modified", "removed"};

struct list {		/* the paths a commit added, modified or removed */
	enum seen seen; /* SEEN_STR for a list */
	bool bad;	/* a list holding something else than strings */
	bool nul;	/* a string of it held a NUL (\u0000) */
	char **v;
	size_t n, cap;
};

struct rcommit {
	bool object; /* the value was an object */
	struct val id, message, author, author_email;
	struct list lists[NLISTS];
};

struct raw { /* what a body said of the fields an event is read for */
	struct zh_gitlab_mem *mem; /* every string below, the lists' arrays */
	struct val object_kind, event_name, user_name, user_email, ref, before,
	    after, checkout_sha, total_commits;
	struct val project;		   /* project.path_with_namespace */
	struct val project_id;		   /* project.id */
	struct val mr_user, mr_user_email; /* user.name, user.email */
	enum seen commits_seen;		   /* SEEN_STR for a list */
	struct rcommit *commits;
	size_t ncommits, cap;
	bool attrs; /* object_attributes is an object */
	struct val action, iid, source_branch, target_branch, oldrev;
	struct val source_id, target_id; /* source_project_id, ... */
	struct val source;		 /* source.path_with_namespace */
	struct rcommit last; /* object_attributes.last_commit */
	bool workflow;	     /* Zadig's notification: workflow is an object */
	struct val task_id, workflow_name;
};

/* Where the value that comes next goes. */
enum slot_kind {
	SL_SKIP,
	SL_VAL,	     /* v */
	SL_PROJECT,  /* the project object */
	SL_USER,     /* the user object (merge requests) */
	SL_COMMITS,  /* the commits list */
	SL_COMMIT,   /* an element of it */
	SL_AUTHOR,   /* c's author */
	SL_LIST,     /* l, one of c's lists of paths */
	SL_PATH,     /* an element of it */
	SL_ATTRS,    /* object_attributes */
	SL_LAST,     /* its last_commit */
	SL_SOURCE,   /* its source (project) */
	SL_WORKFLOW, /* Zadig's workflow object */
};

/* What a container is read as. */
enum frame_kind {
	FR_SKIP,
	FR_ROOT,
	FR_PROJECT,
	FR_USER,
	FR_COMMITS,
	FR_COMMIT, /* c: an element of commits, or last_commit */
	FR_AUTHOR, /* c's */
	FR_LIST,   /* l */
	FR_ATTRS,
	FR_SOURCE,
	FR_WORKFLOW,
};

struct slot {
	enum slot_kind kind;
	struct val *v;
	struct rcommit *c;
	struct list *l;
};

struct frame {
	enum frame_kind kind;
	struct rcommit *c;
	struct list *l;
	struct slot next; /* in an object, set by its last key */
};

struct reader {
	struct raw *r;
	struct zh_error *err;
	int rc; /* < 0 when a callback stopped the parse (err says why) */
	size_t depth;
	struct frame stack[ZH_GITLAB_MAX_DEPTH];
};

/* (What a key given twice held stays in the event's memory until it is
 * freed: its strings the body's size at most, its lists' arrays a few
 * times that; a string held 32 bytes or more of malloc's each before.) */
static void val_reset(struct val *v)
{
	memset(v, 0, sizeof(*v));
}

static void list_reset(struct list *l)
{
	memset(l, 0, sizeof(*l));
}

static void rcommit_reset(struct rcommit *c)
{
	size_t i;

	val_reset(&c->id);
	val_reset(&c->message);
	val_reset(&c->author);
	val_reset(&c->author_email);
	for (i = 0; i < NLISTS; i++)
		list_reset(&c->lists[i]);
	c->object = false;
}

static void commits_reset(struct raw *r)
{
	size_t i;

	for (i = 0; i < r->ncommits; i++)
		rcommit_reset(&r->commits[i]);
	free(r->commits);
	r->commits = NULL;
	r->ncommits = r->cap = 0;
	r->commits_seen = SEEN_NONE;
}

static void attrs_reset(struct raw *r)
{
	val_reset(&r->action);
	val_reset(&r->iid);
	val_reset(&r->source_branch);
	val_reset(&r->target_branch);
	val_reset(&r->oldrev);
	val_reset(&r->source_id);
	val_reset(&r->target_id);
	val_reset(&r->source);
	rcommit_reset(&r->last);
	r->attrs = false;
}

static void raw_dispose(struct raw *r)
{
	struct val *vals[] = {
	    &r->object_kind, &r->event_name,	&r->user_name,
	    &r->user_email,  &r->ref,		&r->before,
	    &r->after,	     &r->checkout_sha,	&r->project,
	    &r->mr_user,     &r->mr_user_email, &r->total_commits,
	    &r->task_id,     &r->workflow_name,
	};
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		val_reset(vals[i]);
	commits_reset(r);
	attrs_reset(r);
	mem_free(r->mem);
	r->mem = NULL;
}

static int stop(struct reader *rd, int code, const char *msg)
{
	rd->rc = zh_error_set(rd->err, code, "%s", msg);
	return 0;
}

/* The keys read, by the object they are in: a value's place (an offset
 * in struct raw, or in struct rcommit for a commit and its author), or
 * the object or list the key opens. */
struct key {
	const char *name;
	size_t len;
	enum slot_kind kind;
	size_t at; /* SL_VAL: the struct val; SL_LIST: the list's index */
};
#define KEY(name, kind, at)                                                    \
	{                                                                      \
		name, sizeof(name) - 1, kind, at                               \
	}
#define RAW(f) offsetof(struct raw, f)
#define COMMIT(f) offsetof(struct rcommit, f)
static const struct key root_keys[] = {
    KEY("object_kind", SL_VAL, RAW(object_kind)),
    KEY("event_name", SL_VAL, RAW(event_name)),
    KEY("ref", SL_VAL, RAW(ref)),
    KEY("before", SL_VAL, RAW(before)),
    KEY("after", SL_VAL, RAW(after)),
    KEY("checkout_sha", SL_VAL, RAW(checkout_sha)),
    KEY("user_name", SL_VAL, RAW(user_name)),
    KEY("user_email", SL_VAL, RAW(user_email)),
    KEY("total_commits_count", SL_VAL, RAW(total_commits)),
    KEY("project", SL_PROJECT, 0),
    KEY("user", SL_USER, 0),
    KEY("commits", SL_COMMITS, 0),
    KEY("object_attributes", SL_ATTRS, 0),
    KEY("workflow", SL_WORKFLOW, 0),
};
static const struct key project_keys[] = {
    KEY("path_with_namespace", SL_VAL, RAW(project)),
    KEY("id", SL_VAL, RAW(project_id)),
};
static const struct key user_keys[] = {
    KEY("name", SL_VAL, RAW(mr_user)),
    KEY("email", SL_VAL, RAW(mr_user_email)),
};
static const struct key commit_keys[] = {
    KEY("id", SL_VAL, COMMIT(id)),	KEY("message", SL_VAL, COMMIT(message)),
    KEY("author", SL_AUTHOR, 0),	KEY("added", SL_LIST, ADDED),
    KEY("modified", SL_LIST, MODIFIED), KEY("removed", SL_LIST, REMOVED),
};
static const struct key author_keys[] = {
    KEY("name", SL_VAL, COMMIT(author)),
    KEY("email", SL_VAL, COMMIT(author_email)),
};
static const struct key attrs_keys[] = {
    KEY("action", SL_VAL, RAW(action)),
    KEY("iid", SL_VAL, RAW(iid)),
    KEY("source_branch", SL_VAL, RAW(source_branch)),
    KEY("target_branch", SL_VAL, RAW(target_branch)),
    KEY("oldrev", SL_VAL, RAW(oldrev)),
    KEY("last_commit", SL_LAST, 0),
    KEY("source_project_id", SL_VAL, RAW(source_id)),
    KEY("target_project_id", SL_VAL, RAW(target_id)),
    KEY("source", SL_SOURCE, 0),
};
static const struct key source_keys[] = {
    KEY("path_with_namespace", SL_VAL, RAW(source)),
};
static const struct key workflow_keys[] = {
    KEY("task_id", SL_VAL, RAW(task_id)),
    KEY("workflow_name", SL_VAL, RAW(workflow_name)),
};
#undef KEY
#undef RAW
#undef COMMIT

#define KEYS(a)                                                                \
	{                                                                      \
		a, sizeof(a) / sizeof(a[0])                                    \
	}
static const struct {
	const struct key *keys;
	size_t n;
} keys_in[] = {
    [FR_ROOT] = KEYS(root_keys),     [FR_PROJECT] = KEYS(project_keys),
    [FR_USER] = KEYS(user_keys),     [FR_COMMIT] = KEYS(commit_keys),
    [FR_AUTHOR] = KEYS(author_keys), [FR_ATTRS] = KEYS(attrs_keys),
    [FR_SOURCE] = KEYS(source_keys), [FR_WORKFLOW] = KEYS(workflow_keys),
};
#undef KEYS

/* The slot of key in an object read as f. */
static struct slot key_slot(struct reader *rd, const struct frame *f,
			    const unsigned char *key, size_t len)
{
	struct slot s = {.kind = SL_SKIP, .c = f->c};
	const struct key *k = keys_in[f->kind].keys, *end;
	char *base;

	if (!k) /* an object nobody reads (no pointer arithmetic on NULL) */
		return s;
	end = k + keys_in[f->kind].n;
	while (k < end && (k->len != len || memcmp(k->name, key, len) != 0))
		k++;
	if (k == end)
		return s;
	s.kind = k->kind;
	base = f->kind == FR_COMMIT || f->kind == FR_AUTHOR ? (char *)f->c
							    : (char *)rd->r;
	if (k->kind == SL_VAL)
		s.v = (struct val *)(void *)(base + k->at);
	else if (k->kind == SL_LIST)
		s.l = &f->c->lists[k->at];
	return s;
}

/* The slot of the value that comes next, NULL for the top one. */
static struct slot *next_slot(struct reader *rd)
{
	struct frame *f;

	if (!rd->depth)
		return NULL;
	f = &rd->stack[rd->depth - 1];
	switch (f->kind) {
	case FR_COMMITS:
		f->next = (struct slot){.kind = SL_COMMIT};
		break;
	case FR_LIST:
		f->next = (struct slot){.kind = SL_PATH, .l = f->l};
		break;
	case FR_SKIP:
		f->next = (struct slot){.kind = SL_SKIP};
		break;
	default: /* an object: its last key said */
		break;
	}
	return &f->next;
}

/* Array v of n elements (size bytes each, room for *cap) with room for
 * one more: v itself, or v grown (doubling, from 4); NULL when out of
 * memory, v left as it was. */
static void *grown(void *v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 4;
	void *p;

	if (n < *cap)
		return v;
	if (!(p = realloc(v, c * size)))
		return NULL;
	*cap = c;
	return p;
}

static struct rcommit *commit_add(struct reader *rd)
{
	struct raw *r = rd->r;
	struct rcommit *v, *c;

	if (!(v = grown(r->commits, &r->cap, r->ncommits, sizeof(*v)))) {
		stop(rd, ZH_ENOMEM, "out of memory");
		return NULL;
	}
	r->commits = v;
	c = &v[r->ncommits++];
	memset(c, 0, sizeof(*c));
	return c;
}

/* The slot is given a new value: the one before is dropped (a key given
 * twice counts the last time). Elements of a list are added instead. */
static void slot_reset(struct raw *r, const struct slot *sl)
{
	switch (sl->kind) {
	case SL_VAL:
		val_reset(sl->v);
		break;
	case SL_PROJECT:
		val_reset(&r->project);
		break;
	case SL_USER:
		val_reset(&r->mr_user);
		val_reset(&r->mr_user_email);
		break;
	case SL_COMMITS:
		commits_reset(r);
		break;
	case SL_AUTHOR:
		val_reset(&sl->c->author);
		val_reset(&sl->c->author_email);
		break;
	case SL_LIST:
		list_reset(sl->l);
		break;
	case SL_ATTRS:
		attrs_reset(r);
		break;
	case SL_LAST:
		rcommit_reset(&r->last);
		break;
	case SL_SOURCE:
		val_reset(&r->source);
		break;
	case SL_WORKFLOW:
		val_reset(&r->task_id);
		val_reset(&r->workflow_name);
		r->workflow = false;
		break;
	default:
		break;
	}
}

/* A value that is not a container: seen, with its text (a string's, a
 * number's). Where an object or a list is read, it is a wrong type but
 * for null, which counts as missing (as in the checks below). */
static int scalar(void *ctx, enum seen seen, const char *s, size_t len)
{
	struct reader *rd = ctx;
	struct slot *sl = next_slot(rd);
	enum seen other = seen == SEEN_NULL ? SEEN_NULL : SEEN_OTHER;
	struct list *l;
	char **v;

	if (!sl)
		return stop(rd, ZH_EINVALID, "body is not a JSON object");
	slot_reset(rd->r, sl);
	switch (sl->kind) {
	case SL_VAL:
		sl->v->seen = seen;
		if (seen == SEEN_STR &&
		    !(sl->v->s = mem_str(&rd->r->mem, s, len)))
			return stop(rd, ZH_ENOMEM, "out of memory");
		if (seen == SEEN_STR)
			sl->v->nul = memchr(s, '\0', len) != NULL;
		if (seen == SEEN_INT) {
			char num[32];

			/* longer: beyond int64 either way, clamped */
			if (len >= sizeof(num))
				len = sizeof(num) - 1;
			memcpy(num, s, len);
			num[len] = '\0';
			sl->v->i = strtoll(num, NULL, 10);
		}
		break;
	case SL_COMMITS:
		rd->r->commits_seen = other;
		break;
	case SL_LIST:
		sl->l->seen = other;
		break;
	case SL_COMMIT:
		if (!commit_add(rd))
			return 0;
		break;
	case SL_PATH:
		l = sl->l;
		if (seen != SEEN_STR) {
			l->bad = true;
			break;
		}
		if (l->n == l->cap) { /* doubling, from 4 */
			size_t cap = l->cap ? l->cap * 2 : 4;

			if (!(v = mem_array(&rd->r->mem, cap, sizeof(*v))))
				return stop(rd, ZH_ENOMEM, "out of memory");
			if (l->n)
				memcpy(v, l->v, l->n * sizeof(*v));
			l->v = v;
			l->cap = cap;
		}
		if (!(l->v[l->n] = mem_str(&rd->r->mem, s, len)))
			return stop(rd, ZH_ENOMEM, "out of memory");
		if (memchr(s, '\0', len))
			l->nul = true;
		l->n++;
		break;
	default: /* an object read as one: missing */
		break;
	}
	return 1;
}

/* An object (map) or a list starts: the frame it is read as. */
static int open_container(void *ctx, bool map)
{
	struct reader *rd = ctx;
	struct slot *sl = next_slot(rd);
	struct frame f = {.kind = FR_SKIP};
	struct raw *r = rd->r;

	if (rd->depth == ZH_GITLAB_MAX_DEPTH)
		return stop(rd, ZH_EINVALID,
			    "body is not JSON: nested too deep");
	if (!sl) {
		if (!map)
			return stop(rd, ZH_EINVALID,
				    "body is not a JSON object");
		rd->stack[rd->depth++] = (struct frame){.kind = FR_ROOT};
		return 1;
	}
	slot_reset(r, sl);
	switch (sl->kind) {
	case SL_VAL:
		sl->v->seen = SEEN_OTHER;
		break;
	case SL_PROJECT:
		f.kind = map ? FR_PROJECT : FR_SKIP;
		break;
	case SL_USER:
		f.kind = map ? FR_USER : FR_SKIP;
		break;
	case SL_COMMITS:
		r->commits_seen = map ? SEEN_OTHER : SEEN_STR;
		f.kind = map ? FR_SKIP : FR_COMMITS;
		break;
	case SL_COMMIT:
		if (!(f.c = commit_add(rd)))
			return 0;
		f.c->object = map;
		f.kind = map ? FR_COMMIT : FR_SKIP;
		break;
	case SL_AUTHOR:
		f.c = sl->c;
		f.kind = map ? FR_AUTHOR : FR_SKIP;
		break;
	case SL_LIST:
		sl->l->seen = map ? SEEN_OTHER : SEEN_STR;
		f.l = sl->l;
		f.kind = map ? FR_SKIP : FR_LIST;
		break;
	case SL_PATH:
		sl->l->bad = true;
		break;
	case SL_ATTRS:
		r->attrs = map;
		f.kind = map ? FR_ATTRS : FR_SKIP;
		break;
	case SL_LAST:
		r->last.object = map;
		f.c = &r->last;
		f.kind = map ? FR_COMMIT : FR_SKIP;
		break;
	case SL_SOURCE:
		f.kind = map ? FR_SOURCE : FR_SKIP;
		break;
	case SL_WORKFLOW:
		r->workflow = map;
		f.kind = map ? FR_WORKFLOW : FR_SKIP;
		break;
	case SL_SKIP:
		break;
	}
	rd->stack[rd->depth++] = f;
	return 1;
}

static int on_null(void *ctx)
{
	return scalar(ctx, SEEN_NULL, NULL, 0);
}

static int on_boolean(void *ctx, int b)
{
	(void)b;
	return scalar(ctx, SEEN_OTHER, NULL, 0);
}

static int on_number(void *ctx, const char *s, size_t len)
{
	/* an integer as json-c tells one: no fraction, no exponent */
	bool integer = !memchr(s, '.', len) && !memchr(s, 'e', len) &&
		       !memchr(s, 'E', len);

	return scalar(ctx, integer ? SEEN_INT : SEEN_OTHER, s, len);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	return scalar(ctx, SEEN_STR, (const char *)s, len);
}

static int on_start_map(void *ctx)
{
	return open_container(ctx, true);
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct reader *rd = ctx;
	struct frame *f = &rd->stack[rd->depth - 1];

	f->next = key_slot(rd, f, key, len);
	return 1;
}

static int on_start_array(void *ctx)
{
	return open_container(ctx, false);
}

static int on_end(void *ctx)
{
	struct reader *rd = ctx;

	rd->depth--;
	return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

/* yajl's message for the parse's error, in err. */
static int yajl_failed(yajl_handle h, const char *body, size_t len,
		       struct zh_error *err)
{
	unsigned char *m =
	    yajl_get_error(h, 0, (const unsigned char *)body, len);
	size_t n = m ? strlen((char *)m) : 0;
	int rc;

	while (n && strchr(" \t\r\n.", m[n - 1]))
		n--;
	rc = zh_error_set(err, ZH_EINVALID, "body is not JSON: %.*s", (int)n,
			  m ? (char *)m : "");
	if (m)
		yajl_free_error(h, m);
	return rc;
}

/* Read the whole of body (one JSON object; trailing data other than white
 * space is an error) into r. */
static int read_raw(struct raw *r, const char *body, size_t len,
		    struct zh_error *err)
{
	struct reader rd = {.r = r, .err = err};
	yajl_handle h;
	yajl_status st;
	size_t end, i;
	int rc = 0;

	if (memchr(body, '\0', len))
		return zh_error_set(err, ZH_EINVALID,
				    "body is not JSON: it holds a NUL byte");
	if (!(h = yajl_alloc(&callbacks, NULL, &rd)))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	yajl_config(h, yajl_dont_validate_strings, 1);
	/* the end of the object is found below, to name what follows it */
	yajl_config(h, yajl_allow_trailing_garbage, 1);
	st = yajl_parse(h, (const unsigned char *)body, len);
	end = yajl_get_bytes_consumed(h);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st == yajl_status_client_canceled)
		rc = rd.rc;
	else if (st != yajl_status_ok)
		rc = yajl_failed(h, body, len, err);
	yajl_free(h);
	for (i = end; !rc && i < len; i++)
		if (!strchr(" \t\r\n", body[i]))
			rc = zh_error_set(err, ZH_EINVALID,
					  "body is not JSON: trailing data "
					  "after the object");
	return rc;
}

/* ---- the checks of what was read, by kind ---- */

/* v does not hold the type wanted (what: "a string"): missing or null
 * is an error only when required, another type always. */
static int not_taken(const struct val *v, const char *where, const char *key,
		     bool required, const char *what, struct zh_error *err)
{
	if (v->seen == SEEN_NONE || v->seen == SEEN_NULL)
		return required
			   ? zh_error_set(err, ZH_EINVALID,
					  "missing field '%s%s'", where, key)
			   : 0;
	return zh_error_set(err, ZH_EINVALID, "field '%s%s' is not %s", where,
			    key, what);
}

/* Move the string v into *out: missing or null leaves NULL (an error
 * when required), another type is an error, and so is a string holding
 * a NUL (an escaped one, \u0000: a raw one is not JSON), which C would
 * read cut short. */
static int take_str(char **out, struct val *v, const char *where,
		    const char *key, bool required, struct zh_error *err)
{
	*out = NULL;
	if (v->seen != SEEN_STR)
		return not_taken(v, where, key, required, "a string", err);
	if (v->nul)
		return zh_error_set(err, ZH_EINVALID,
				    "field '%s%s' contains a NUL character",
				    where, key);
	*out = v->s;
	v->s = NULL;
	return 0;
}

/* s is an object id: 40 hex digits (SHA-1), or 64 (SHA-256); lowered
 * in place, as git writes them (the store keys commits by their text). */
static bool commit_id(char *s)
{
	size_t i, n = strlen(s);

	if (n != 40 && n != 64)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] >= 'A' && s[i] <= 'F')
			s[i] = (char)(s[i] - 'A' + 'a');
		else if (!((s[i] >= '0' && s[i] <= '9') ||
			   (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* take_str of a commit id: a string that is not one is an error, and so
 * is the zero id unless zero_ok (before and after, where GitLab says "no
 * commit" for a branch created or deleted, as git does). An id that is
 * not a commit's would fire rules, be sent to Zadig and never get its
 * note. */
static int take_id(char **out, struct val *v, const char *where,
		   const char *key, bool required, bool zero_ok,
		   struct zh_error *err)
{
	int rc;

	if ((rc = take_str(out, v, where, key, required, err)) < 0 || !*out)
		return rc;
	if (commit_id(*out) && (zero_ok || strspn(*out, "0") != strlen(*out)))
		return 0;
	*out = NULL;
	return zh_error_set(err, ZH_EINVALID,
			    "field '%s%s' is not a commit id (40 or 64 hex "
			    "digits)",
			    where, key);
}

/* The integer v into *out (0 when not one); *present: v held a value. */
static int take_int(int64_t *out, bool *present, const struct val *v,
		    const char *where, const char *key, bool required,
		    struct zh_error *err)
{
	*out = 0;
	if (present)
		*present = v->seen != SEEN_NONE && v->seen != SEEN_NULL;
	if (v->seen != SEEN_INT)
		return not_taken(v, where, key, required, "an integer", err);
	*out = v->i;
	return 0;
}

/* The list l of paths is one, or missing: anything else is an error. */
static int paths_ok(const struct list *l, const char *key, struct zh_error *err)
{
	if (l->seen == SEEN_NONE || l->seen == SEEN_NULL)
		return 0;
	if (l->seen != SEEN_STR)
		return zh_error_set(err, ZH_EINVALID,
				    "field 'commits[].%s' is not a list", key);
	if (l->bad)
		return zh_error_set(err, ZH_EINVALID,
				    "field 'commits[].%s' holds a non-string",
				    key);
	if (l->nul)
		return zh_error_set(err, ZH_EINVALID,
				    "field 'commits[].%s' contains a NUL "
				    "character",
				    key);
	return 0;
}

static int take_commit(struct zh_gitlab_commit *c, struct rcommit *r,
		       struct zh_gitlab_mem **mem, const char *where,
		       bool id_required, bool with_paths, struct zh_error *err)
{
	size_t i, n = 0;
	int rc;

	if (!r->object) {
		if (id_required)
			return zh_error_set(err, ZH_EINVALID,
					    "missing field '%sid'", where);
		return 0;
	}
	if ((rc = take_id(&c->id, &r->id, where, "id", id_required, false,
			  err)) < 0 ||
	    (rc = take_str(&c->message, &r->message, where, "message", false,
			   err)) < 0 ||
	    (rc = take_str(&c->author, &r->author, "author.", "name", false,
			   err)) < 0 ||
	    (rc = take_str(&c->author_email, &r->author_email, "author.",
			   "email", false, err)) < 0)
		return rc;
	for (i = 0; with_paths && i < NLISTS; i++) {
		if ((rc = paths_ok(&r->lists[i], list_names[i], err)) < 0)
			return rc;
		n += r->lists[i].n; /* none in a missing list */
	}
	if (!n)
		return 0;
	if (!(c->paths = mem_array(mem, n, sizeof(*c->paths))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (i = 0; i < NLISTS; i++) {
		if (r->lists[i].n)
			memcpy(c->paths + c->npaths, r->lists[i].v,
			       r->lists[i].n * sizeof(*c->paths));
		c->npaths += r->lists[i].n;
	}
	return 0;
}

static int take_push(struct zh_gitlab_event *e, struct raw *r,
		     struct zh_error *err)
{
	bool present;
	size_t i;
	int rc;

	if ((rc = take_str(&e->user_name, &r->user_name, "", "user_name", false,
			   err)) < 0 ||
	    (rc = take_str(&e->user_email, &r->user_email, "", "user_email",
			   false, err)) < 0 ||
	    (rc = take_str(&e->ref, &r->ref, "", "ref", true, err)) < 0 ||
	    (rc = take_id(&e->before, &r->before, "", "before", true, true,
			  err)) < 0 ||
	    (rc = take_id(&e->after, &r->after, "", "after", true, true, err)) <
		0 ||
	    (rc = take_id(&e->checkout_sha, &r->checkout_sha, "",
			  "checkout_sha", false, false, err)) < 0)
		return rc;
	if (r->commits_seen == SEEN_OTHER)
		return zh_error_set(err, ZH_EINVALID,
				    "field 'commits' is not a list");
	if (r->ncommits && !(e->commits = mem_array(&r->mem, r->ncommits,
						    sizeof(*e->commits))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (i = 0; i < r->ncommits; i++) {
		rc = take_commit(&e->commits[i], &r->commits[i], &r->mem,
				 "commits[].", true, true, err);
		e->ncommits++;
		if (rc < 0)
			return rc;
	}
	if ((rc = take_int(&e->total_commits, &present, &r->total_commits, "",
			   "total_commits_count", false, err)) < 0)
		return rc;
	if (!present || e->total_commits < (int64_t)e->ncommits)
		e->total_commits = (int64_t)e->ncommits;
	return 0;
}

static int take_mr(struct zh_gitlab_event *e, struct raw *r,
		   struct zh_error *err)
{
	static const char w[] = "object_attributes.";
	bool needs_commit;
	int rc;

	if ((rc = take_str(&e->user_name, &r->mr_user, "user.", "name", false,
			   err)) < 0 ||
	    (rc = take_str(&e->user_email, &r->mr_user_email, "user.", "email",
			   false, err)) < 0)
		return rc;
	if (!r->attrs)
		return zh_error_set(err, ZH_EINVALID,
				    "missing field 'object_attributes'");
	if ((rc = take_str(&e->action, &r->action, w, "action", true, err)) <
		0 ||
	    (rc = take_int(&e->mr_iid, NULL, &r->iid, w, "iid", true, err)) <
		0 ||
	    (rc = take_str(&e->source_branch, &r->source_branch, w,
			   "source_branch", true, err)) < 0 ||
	    (rc = take_str(&e->target_branch, &r->target_branch, w,
			   "target_branch", true, err)) < 0 ||
	    (rc = take_id(&e->oldrev, &r->oldrev, w, "oldrev", false, false,
			  err)) < 0 ||
	    (rc = take_int(&e->source_project_id, NULL, &r->source_id, w,
			   "source_project_id", false, err)) < 0 ||
	    (rc = take_int(&e->target_project_id, NULL, &r->target_id, w,
			   "target_project_id", false, err)) < 0 ||
	    (rc = take_int(&e->project_id, NULL, &r->project_id, "project.",
			   "id", false, err)) < 0 ||
	    (rc = take_str(&e->source_project, &r->source, w,
			   "source.path_with_namespace", false, err)) < 0)
		return rc;
	needs_commit = strcmp(e->action, "open") == 0 ||
		       strcmp(e->action, "reopen") == 0 ||
		       strcmp(e->action, "update") == 0;
	return take_commit(&e->last_commit, &r->last, &r->mem,
			   "object_attributes.last_commit.", needs_commit,
			   false, err);
}

bool zh_gitlab_mr_fork(const struct zh_gitlab_event *e)
{
	if (e->kind != ZH_GITLAB_MERGE_REQUEST)
		return false;
	if (e->source_project_id && e->target_project_id)
		return e->source_project_id != e->target_project_id;
	/* the project whose hook sent it is the target */
	if (e->source_project_id && e->project_id)
		return e->source_project_id != e->project_id;
	return e->source_project && e->project &&
	       strcmp(e->source_project, e->project) != 0;
}

int zh_gitlab_parse(struct zh_gitlab_event *out, const char *body, size_t len,
		    struct zh_error *err)
{
	struct raw r;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if ((rc = read_raw(&r, body, len, err)) < 0)
		goto out;
	/* a system hook's other events (project_create, user_create,
	 * repository_update, ...) name themselves by event_name alone; its
	 * pushes and merge requests carry object_kind too */
	if ((r.object_kind.seen == SEEN_NONE ||
	     r.object_kind.seen == SEEN_NULL) &&
	    r.event_name.seen == SEEN_STR) {
		rc = take_str(&out->object_kind, &r.event_name, "",
			      "event_name", true, err);
		goto out;
	}
	if ((rc = take_str(&out->object_kind, &r.object_kind, "", "object_kind",
			   true, err)) < 0)
		goto out;
	if (strcmp(out->object_kind, "push") == 0)
		out->kind = ZH_GITLAB_PUSH;
	else if (strcmp(out->object_kind, "tag_push") == 0)
		out->kind = ZH_GITLAB_TAG_PUSH;
	else if (strcmp(out->object_kind, "merge_request") == 0)
		out->kind = ZH_GITLAB_MERGE_REQUEST;
	else
		goto out; /* not ours: nothing else is required */
	if ((rc = take_str(&out->project, &r.project, "project.",
			   "path_with_namespace", true, err)) < 0)
		goto out;
	if (out->kind == ZH_GITLAB_MERGE_REQUEST)
		rc = take_mr(out, &r, err);
	else
		rc = take_push(out, &r, err);
out:
	out->mem = r.mem; /* what out took points into it */
	r.mem = NULL;
	raw_dispose(&r);
	return rc;
}

/* ---- Zadig's notification ---- */

int zh_gitlab_parse_zadig(char **workflow, int64_t *task_id, const char *body,
			  size_t len, struct zh_error *err)
{
	static const char w[] = "workflow.";
	struct raw r;
	int rc;

	*workflow = NULL;
	*task_id = 0;
	memset(&r, 0, sizeof(r));
	if ((rc = read_raw(&r, body, len, err)) < 0)
		goto out;
	if (r.object_kind.seen) {
		char *kind = NULL;

		if ((rc = take_str(&kind, &r.object_kind, "", "object_kind",
				   true, err)) < 0)
			goto out;
		if (strcmp(kind, "workflow") != 0)
			goto out; /* another kind of notification */
	}
	if (!r.workflow) {
		rc = zh_error_set(err, ZH_EINVALID, "missing field 'workflow'");
		goto out;
	}
	if ((rc = take_int(task_id, NULL, &r.task_id, w, "task_id", true,
			   err)) < 0 ||
	    (rc = take_str(workflow, &r.workflow_name, w, "workflow_name", true,
			   err)) < 0)
		*task_id = 0;
	else if (!(*workflow =
		       strdup(*workflow))) { /* off the event's memory */
		*task_id = 0;
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
	}
out:
	raw_dispose(&r);
	return rc;
}

/* ---- an event written back, compact ---- */

/* sep"key": (no printf: it is ~3% of the receiver's CPU at two dozen
 * fields an event) */
static int put_key(struct zh_buf *b, const char *sep, const char *key)
{
	int rc;

	if ((rc = zh_buf_puts(b, sep)) < 0 ||
	    (rc = zh_buf_append(b, "\"", 1)) < 0 ||
	    (rc = zh_buf_puts(b, key)) < 0)
		return rc;
	return zh_buf_append(b, "\":", 2);
}

/* ,"key":"v" when v is set (sep: what goes before, "," or "") */
static int put_field(struct zh_buf *b, const char **sep, const char *key,
		     const char *v)
{
	int rc;

	if (!v)
		return 0;
	if ((rc = put_key(b, *sep, key)) < 0)
		return rc;
	*sep = ",";
	return zh_buf_json_raw(b, v);
}

/* {"name":..,"email":..} under key, when either is set */
static int put_person(struct zh_buf *b, const char **sep, const char *key,
		      const char *name, const char *email)
{
	const char *in = "";
	int rc;

	if (!name && !email)
		return 0;
	if ((rc = put_key(b, *sep, key)) < 0 ||
	    (rc = zh_buf_append(b, "{", 1)) < 0 ||
	    (rc = put_field(b, &in, "name", name)) < 0 ||
	    (rc = put_field(b, &in, "email", email)) < 0)
		return rc;
	*sep = ",";
	return zh_buf_append(b, "}", 1);
}

/* A commit as its own object; its paths (added, modified and removed
 * are one list once read) all as "added". */
static int put_commit(struct zh_buf *b, const struct zh_gitlab_commit *c)
{
	const char *sep = "";
	size_t i;
	int rc;

	if ((rc = zh_buf_append(b, "{", 1)) < 0 ||
	    (rc = put_field(b, &sep, "id", c->id)) < 0 ||
	    (rc = put_field(b, &sep, "message", c->message)) < 0 ||
	    (rc = put_person(b, &sep, "author", c->author, c->author_email)) <
		0)
		return rc;
	if (c->npaths) {
		if ((rc = put_key(b, sep, "added")) < 0 ||
		    (rc = zh_buf_append(b, "[", 1)) < 0)
			return rc;
		for (i = 0; i < c->npaths; i++)
			if ((i && (rc = zh_buf_append(b, ",", 1)) < 0) ||
			    (rc = zh_buf_json_raw(b, c->paths[i])) < 0)
				return rc;
		if ((rc = zh_buf_append(b, "]", 1)) < 0)
			return rc;
	}
	return zh_buf_append(b, "}", 1);
}

/* A merge request's source and target projects, when sent. */
static int put_projects(struct zh_buf *b, const struct zh_gitlab_event *e)
{
	int rc;

	if (e->source_project_id &&
	    (rc = zh_buf_printf(b, ",\"source_project_id\":%" PRId64,
				e->source_project_id)) < 0)
		return rc;
	if (e->target_project_id &&
	    (rc = zh_buf_printf(b, ",\"target_project_id\":%" PRId64,
				e->target_project_id)) < 0)
		return rc;
	if (!e->source_project)
		return 0;
	if ((rc = zh_buf_puts(b, ",\"source\":{\"path_with_namespace\":")) <
		0 ||
	    (rc = zh_buf_json_raw(b, e->source_project)) < 0)
		return rc;
	return zh_buf_append(b, "}", 1);
}

int zh_gitlab_compact(struct zh_buf *out, const struct zh_gitlab_event *e)
{
	const char *sep = "";
	size_t i;
	int rc;

	if (e->kind != ZH_GITLAB_PUSH && e->kind != ZH_GITLAB_TAG_PUSH &&
	    e->kind != ZH_GITLAB_MERGE_REQUEST)
		return ZH_EINVALID;
	if ((rc = zh_buf_append(out, "{", 1)) < 0 ||
	    (rc = put_field(out, &sep, "object_kind", e->object_kind)) < 0 ||
	    (rc = zh_buf_puts(out, ",\"project\":{\"path_with_namespace\":")) <
		0 ||
	    (rc = zh_buf_json_raw(out, e->project)) < 0 ||
	    (e->project_id && (rc = zh_buf_printf(out, ",\"id\":%" PRId64,
						  e->project_id)) < 0) ||
	    (rc = zh_buf_append(out, "}", 1)) < 0)
		return rc;
	if (e->kind == ZH_GITLAB_MERGE_REQUEST) {
		const char *in = ","; /* after the iid */

		if ((rc = put_person(out, &sep, "user", e->user_name,
				     e->user_email)) < 0 ||
		    (rc = zh_buf_printf(
			 out, ",\"object_attributes\":{\"iid\":%" PRId64,
			 e->mr_iid)) < 0 ||
		    (rc = put_field(out, &in, "action", e->action)) < 0 ||
		    (rc = put_field(out, &in, "source_branch",
				    e->source_branch)) < 0 ||
		    (rc = put_field(out, &in, "target_branch",
				    e->target_branch)) < 0 ||
		    (rc = put_field(out, &in, "oldrev", e->oldrev)) < 0 ||
		    (rc = put_projects(out, e)) < 0)
			return rc;
		if (e->last_commit.id || e->last_commit.message ||
		    e->last_commit.author || e->last_commit.author_email) {
			if ((rc = zh_buf_puts(out, ",\"last_commit\":")) < 0 ||
			    (rc = put_commit(out, &e->last_commit)) < 0)
				return rc;
		}
		return zh_buf_puts(out, "}}");
	}
	if ((rc = put_field(out, &sep, "user_name", e->user_name)) < 0 ||
	    (rc = put_field(out, &sep, "user_email", e->user_email)) < 0 ||
	    (rc = put_field(out, &sep, "ref", e->ref)) < 0 ||
	    (rc = put_field(out, &sep, "before", e->before)) < 0 ||
	    (rc = put_field(out, &sep, "after", e->after)) < 0 ||
	    (rc = put_field(out, &sep, "checkout_sha", e->checkout_sha)) < 0 ||
	    (rc = zh_buf_printf(out, ",\"total_commits_count\":%" PRId64,
				e->total_commits)) < 0 ||
	    (rc = zh_buf_puts(out, ",\"commits\":[")) < 0)
		return rc;
	for (i = 0; i < e->ncommits; i++)
		if ((i && (rc = zh_buf_append(out, ",", 1)) < 0) ||
		    (rc = put_commit(out, &e->commits[i])) < 0)
			return rc;
	return zh_buf_puts(out, "]}");
}
