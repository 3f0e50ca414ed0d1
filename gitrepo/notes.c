#include "gitrepo/notes.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>

#include "gitrepo/internal.h"
#include "util/buf.h"
#include "util/perm.h"

#include "util/banned.h"

#define HEXSZ 40
/* A note is a few lines; anything bigger is not ours to rewrite. */
#define NOTE_MAX (1024 * 1024)
#define LINE_MAX_LEN (64 * 1024)
/* fast-import fans out at 256 notes; the brief and perf-notes.md at
 * about 1000, which keeps small repositories flat and readable. */
#define FANOUT_AT 1000
#define CAS_TRIES 12
/* From this many updates on, objects are written as one pack. */
#define PACK_AT 32
#define SIGNATURE_NAME "zadig-hook"
#define SIGNATURE_EMAIL "zadig-hook@localhost"
#define DEFAULT_MESSAGE "Notes added by zadig-hook"

/* ---- strings --------------------------------------------------------- */

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *dup_s(const char *s)
{
	return dup_n(s, strlen(s));
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Statuses as Zadig names them: "passed", "notRun", "wait_for_approval" */
static bool is_status_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool valid_status(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!is_status_char(s[i]))
			return false;
	return true;
}

static bool valid_word(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] == ' ' || is_ctl((unsigned char)s[i]))
			return false;
	return true;
}

static bool valid_url(const char *s, size_t n)
{
	size_t i;

	if (n == 1 && s[0] == '-')
		return true;
	if (!valid_word(s, n))
		return false;
	/* an absolute URL tells a task line from a person's sentence; s is
	 * not NUL-terminated when parsing */
	for (i = 1; i + 3 < n; i++)
		if (memcmp(s + i, "://", 3) == 0)
			return true;
	return false;
}

static bool valid_key(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!is_key_char(s[i]))
			return false;
	return true;
}

static bool streq_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ---- one line -------------------------------------------------------- */

void zh_note_line_dispose(struct zh_note_line *l)
{
	size_t i;

	if (!l)
		return;
	free(l->status);
	free(l->workflow);
	free(l->url);
	for (i = 0; i < l->nfields; i++) {
		free(l->fields[i].key);
		free(l->fields[i].value);
	}
	free(l->fields);
	memset(l, 0, sizeof(*l));
}

const char *zh_note_line_get(const struct zh_note_line *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->nfields; i++)
		if (l->fields[i].key && strcmp(l->fields[i].key, key) == 0)
			return l->fields[i].value;
	return NULL;
}

struct cur {
	const char *p;
	const char *end;
};

/* After a token: the end of the line, or one space and more text (a
 * double or trailing space is not the format). */
static bool take_sep(struct cur *c)
{
	if (c->p == c->end)
		return true;
	if (*c->p != ' ')
		return false;
	c->p++;
	return c->p < c->end && *c->p != ' ';
}

static bool take_token(struct cur *c, const char **tok, size_t *n)
{
	const char *s = c->p;

	while (c->p < c->end && *c->p != ' ')
		c->p++;
	*tok = s;
	*n = (size_t)(c->p - s);
	return *n > 0 && take_sep(c);
}

static int add_field(struct zh_note_line *l, const char *k, size_t kn, char *v)
{
	struct zh_note_field *f;

	f = realloc(l->fields, (l->nfields + 1) * sizeof(*f));
	if (!f) {
		free(v);
		return ZH_ENOMEM;
	}
	l->fields = f;
	f[l->nfields].key = dup_n(k, kn);
	f[l->nfields].value = v;
	l->nfields++;
	if (!f[l->nfields - 1].key)
		return ZH_ENOMEM;
	return 0;
}

/* A quoted value: \" and \\ are the only escapes. */
static int take_quoted(char **out, struct cur *c)
{
	struct zh_buf b;
	int rc = ZH_EINVALID;

	zh_buf_init(&b, LINE_MAX_LEN);
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		char ch = *c->p++;

		if (ch == '\\') {
			if (c->p == c->end || (*c->p != '"' && *c->p != '\\'))
				goto out;
			ch = *c->p++;
		}
		if (is_ctl((unsigned char)ch))
			goto out;
		if (zh_buf_append(&b, &ch, 1) < 0)
			goto out;
	}
	if (c->p == c->end)
		goto out;
	c->p++;
	if (!take_sep(c))
		goto out;
	*out = zh_buf_detach(&b);
	rc = *out ? 0 : ZH_ENOMEM;
out:
	zh_buf_dispose(&b);
	return rc;
}

static int parse_line(struct zh_note_line *l, const char *line, size_t len)
{
	struct cur c = {line, line + len};
	const char *t;
	size_t n;

	if (!take_token(&c, &t, &n) || !valid_status(t, n))
		return ZH_EINVALID;
	if (!(l->status = dup_n(t, n)))
		return ZH_ENOMEM;
	if (!take_token(&c, &t, &n) || !valid_word(t, n))
		return ZH_EINVALID;
	if (!(l->workflow = dup_n(t, n)))
		return ZH_ENOMEM;
	if (!take_token(&c, &t, &n) || n < 2 || t[0] != '#')
		return ZH_EINVALID;
	if (n == 2 && t[1] == '-') {
		l->task_id = -1;
	} else {
		size_t i;

		if (n > 19)
			return ZH_EINVALID;
		l->task_id = 0;
		for (i = 1; i < n; i++) {
			if (t[i] < '0' || t[i] > '9')
				return ZH_EINVALID;
			l->task_id = l->task_id * 10 + (t[i] - '0');
		}
	}
	if (!take_token(&c, &t, &n) || !valid_url(t, n))
		return ZH_EINVALID;
	if (!(l->url = dup_n(t, n)))
		return ZH_ENOMEM;
	while (c.p < c.end) {
		const char *k = c.p;
		size_t kn;
		char *v = NULL;
		int rc;

		while (c.p < c.end && is_key_char(*c.p))
			c.p++;
		kn = (size_t)(c.p - k);
		if (kn == 0 || c.p == c.end || *c.p != '=')
			return ZH_EINVALID;
		c.p++;
		if (c.p < c.end && *c.p == '"') {
			if ((rc = take_quoted(&v, &c)) < 0)
				return rc;
		} else {
			if (c.p == c.end || *c.p == ' ') {
				t = c.p;
				n = 0;
				if (!take_sep(&c))
					return ZH_EINVALID;
			} else if (!take_token(&c, &t, &n)) {
				return ZH_EINVALID;
			}
			if (!valid_word(t, n) && n > 0)
				return ZH_EINVALID;
			if (!(v = dup_n(t, n)))
				return ZH_ENOMEM;
		}
		if ((rc = add_field(l, k, kn, v)) < 0)
			return rc;
	}
	return 0;
}

int zh_note_line_parse(struct zh_note_line *out, const char *line, size_t len,
		       struct zh_error *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	rc = parse_line(out, line, len);
	if (rc < 0)
		zh_note_line_dispose(out);
	if (rc == ZH_ENOMEM)
		return zh_error_set(err, rc, "out of memory");
	if (rc < 0)
		return zh_error_set(err, rc, "'%.*s' is not a task line",
				    (int)(len > 80 ? 80 : len), line);
	return 0;
}

static bool needs_quotes(const char *v)
{
	if (!*v)
		return true;
	for (; *v; v++)
		if (*v == ' ' || *v == '"' || *v == '\\' ||
		    is_ctl((unsigned char)*v))
			return true;
	return false;
}

static int put_value(struct zh_buf *b, const char *v)
{
	int rc = 0;

	if (!needs_quotes(v))
		return zh_buf_puts(b, v);
	rc = zh_buf_puts(b, "\"");
	for (; rc == 0 && *v; v++) {
		if (*v == '"' || *v == '\\')
			rc = zh_buf_append(b, "\\", 1);
		if (rc == 0)
			rc = zh_buf_append(
			    b, is_ctl((unsigned char)*v) ? " " : v, 1);
	}
	if (rc == 0)
		rc = zh_buf_puts(b, "\"");
	return rc;
}

int zh_note_line_format(char **out, const struct zh_note_line *l,
			struct zh_error *err)
{
	const char *url = l->url ? l->url : "-";
	struct zh_buf b;
	size_t i;
	int rc;

	*out = NULL;
	if (!l->status || !valid_status(l->status, strlen(l->status)))
		return zh_error_set(err, ZH_EINVALID, "bad task status '%s'",
				    l->status ? l->status : "");
	if (!l->workflow || !valid_word(l->workflow, strlen(l->workflow)))
		return zh_error_set(err, ZH_EINVALID, "bad workflow name '%s'",
				    l->workflow ? l->workflow : "");
	if (l->task_id < -1)
		return zh_error_set(err, ZH_EINVALID, "bad task id '%lld'",
				    l->task_id);
	if (!valid_url(url, strlen(url)))
		return zh_error_set(err, ZH_EINVALID, "bad task url '%s'", url);
	for (i = 0; i < l->nfields; i++) {
		const char *k = l->fields[i].key;

		if (!k || !valid_key(k, strlen(k)))
			return zh_error_set(err, ZH_EINVALID,
					    "bad note field name '%s'",
					    k ? k : "");
	}
	zh_buf_init(&b, LINE_MAX_LEN);
	if (l->task_id < 0)
		rc = zh_buf_printf(&b, "%s %s #- %s", l->status, l->workflow,
				   url);
	else
		rc = zh_buf_printf(&b, "%s %s #%lld %s", l->status, l->workflow,
				   l->task_id, url);
	for (i = 0; rc == 0 && i < l->nfields; i++) {
		rc = zh_buf_printf(&b, " %s=", l->fields[i].key);
		if (rc == 0)
			rc = put_value(
			    &b, l->fields[i].value ? l->fields[i].value : "");
	}
	if (rc == 0 && !(*out = zh_buf_detach(&b)))
		rc = ZH_ENOMEM;
	zh_buf_dispose(&b);
	if (rc == ZH_ETOOBIG)
		return zh_error_set(err, rc, "task line of '%s' is too long",
				    l->workflow);
	if (rc < 0)
		return zh_error_set(err, rc, "out of memory");
	return 0;
}

/* ---- merging --------------------------------------------------------- */

struct entry {
	char *text; /* the line as it is written, no newline */
	struct zh_note_line l;
	bool known; /* a task line (l is valid) */
	bool owned; /* l was parsed here and must be disposed */
	bool gone;
	size_t seq;
};

struct entries {
	struct entry *v;
	size_t len, cap;
};

static void entries_dispose(struct entries *e)
{
	size_t i;

	for (i = 0; i < e->len; i++) {
		free(e->v[i].text);
		if (e->v[i].owned)
			zh_note_line_dispose(&e->v[i].l);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static struct entry *entries_push(struct entries *e)
{
	if (e->len == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct entry *v = realloc(e->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		e->v = v;
		e->cap = cap;
	}
	memset(&e->v[e->len], 0, sizeof(e->v[0]));
	e->v[e->len].seq = e->len;
	return &e->v[e->len++];
}

static bool blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static int load_entries(struct entries *e, const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		struct entry *x;

		if (!blank(text, n)) {
			if (!(x = entries_push(e)))
				return ZH_ENOMEM;
			if (!(x->text = dup_n(text, n)))
				return ZH_ENOMEM;
			if (zh_note_line_parse(&x->l, text, n, NULL) == 0)
				x->known = x->owned = true;
		}
		text = nl ? nl + 1 : text + n;
	}
	return 0;
}

static void set_entry(struct entry *x, char *text, const struct zh_note_line *l)
{
	free(x->text);
	if (x->owned)
		zh_note_line_dispose(&x->l);
	x->text = text;
	x->l = *l;
	x->known = true;
	x->owned = false;
}

/* A custom workflow's task (kind=custom), else a product workflow's: a
 * product and a custom workflow may share a name and a task id, and are
 * two tasks (the store keys them by workflow, kind and task id). */
static bool is_custom(const struct zh_note_line *l)
{
	return streq_null(zh_note_line_get(l, "kind"), "custom");
}

/* Apply one new line; text is its formatted form (taken over). */
static int apply_line(struct entries *e, bool *changed,
		      const struct zh_note_line *l, char *text)
{
	const char *rule = zh_note_line_get(l, "rule");
	bool found = false, custom = is_custom(l);
	struct entry *x;
	size_t i;

	if (l->task_id < 0) {
		for (i = 0; i < e->len; i++) {
			x = &e->v[i];
			if (x->known && !x->gone && x->l.task_id >= 0 &&
			    strcmp(x->l.workflow, l->workflow) == 0 &&
			    streq_null(zh_note_line_get(&x->l, "rule"), rule)) {
				free(text);
				return 0;
			}
		}
	}
	for (i = 0; i < e->len; i++) {
		x = &e->v[i];
		if (!x->known || x->gone ||
		    strcmp(x->l.workflow, l->workflow) != 0)
			continue;
		if (l->task_id >= 0
			? (x->l.task_id != l->task_id ||
			   is_custom(&x->l) != custom)
			: (x->l.task_id >= 0 ||
			   !streq_null(zh_note_line_get(&x->l, "rule"), rule)))
			continue;
		if (found) {
			x->gone = true;
			*changed = true;
		} else {
			found = true;
			if (strcmp(x->text, text) != 0) {
				*changed = true;
				set_entry(x, text, l);
				text = NULL;
			}
		}
	}
	if (!found) {
		if (!(x = entries_push(e))) {
			free(text);
			return ZH_ENOMEM;
		}
		set_entry(x, text, l);
		text = NULL;
		*changed = true;
	}
	free(text);
	if (l->task_id < 0)
		return 0;
	/* the task arrived: its queued or rejected line is done */
	for (i = 0; i < e->len; i++) {
		x = &e->v[i];
		if (x->known && !x->gone && x->l.task_id < 0 &&
		    strcmp(x->l.workflow, l->workflow) == 0 &&
		    streq_null(zh_note_line_get(&x->l, "rule"), rule)) {
			x->gone = true;
			*changed = true;
		}
	}
	return 0;
}

static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = *(const struct entry *const *)pa;
	const struct entry *b = *(const struct entry *const *)pb;
	int c = strcmp(a->l.workflow, b->l.workflow);

	if (c)
		return c;
	if (a->l.task_id != b->l.task_id)
		return a->l.task_id < b->l.task_id ? -1 : 1;
	if (a->l.task_id >= 0 && is_custom(&a->l) != is_custom(&b->l))
		return is_custom(&a->l) ? 1 : -1;
	if (a->l.task_id < 0) {
		const char *ra = zh_note_line_get(&a->l, "rule");
		const char *rb = zh_note_line_get(&b->l, "rule");

		if (!ra != !rb)
			return ra ? 1 : -1;
		if (ra && (c = strcmp(ra, rb)))
			return c;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int write_entries(char **out, struct entries *e)
{
	struct entry **known = NULL;
	struct zh_buf b;
	size_t i, nk = 0;
	int rc = 0;

	zh_buf_init(&b, 4 * NOTE_MAX);
	if (e->len && !(known = malloc(e->len * sizeof(*known))))
		return ZH_ENOMEM;
	for (i = 0; i < e->len; i++)
		if (e->v[i].known && !e->v[i].gone)
			known[nk++] = &e->v[i];
	if (nk)
		qsort(known, nk, sizeof(*known), cmp_entry);
	for (i = 0; rc == 0 && i < nk; i++)
		rc = zh_buf_printf(&b, "%s\n", known[i]->text);
	for (i = 0; rc == 0 && i < e->len; i++)
		if (!e->v[i].known)
			rc = zh_buf_printf(&b, "%s\n", e->v[i].text);
	if (rc == 0 && !(*out = zh_buf_detach(&b)))
		rc = ZH_ENOMEM;
	zh_buf_dispose(&b);
	free(known);
	return rc;
}

int zh_note_merge(char **out, bool *changed, const char *old_text,
		  const struct zh_note_line *lines, size_t n,
		  struct zh_error *err)
{
	struct entries e = {0};
	size_t i;
	int rc;

	*out = NULL;
	*changed = false;
	if ((rc = load_entries(&e, old_text)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		char *text;

		if ((rc = zh_note_line_format(&text, &lines[i], err)) < 0)
			goto out;
		if ((rc = apply_line(&e, changed, &lines[i], text)) < 0)
			goto out;
	}
	if (*changed) {
		rc = write_entries(out, &e);
		/* Lines may undo each other's change ("running" then
		 * "passed" over a note that already says "passed"): what
		 * counts is the text, so no notes commit is written. */
		if (rc == 0 && strcmp(*out, old_text ? old_text : "") == 0)
			*changed = false;
	} else if (!(*out = dup_s(old_text ? old_text : "")))
		rc = ZH_ENOMEM;
out:
	entries_dispose(&e);
	if (rc == ZH_ENOMEM || rc == ZH_ETOOBIG)
		return zh_error_set(err, rc,
				    rc == ZH_ENOMEM ? "out of memory"
						    : "note is too big");
	return rc;
}

/* ---- ids, refs and trees --------------------------------------------- */

/* Below, libgit2's GIT_E* codes travel with ZH_ENOMEM, the one code of
 * ours mixed in; libgit2's -10 (GIT_EUNMERGED) never comes from the
 * object and ref calls used here. */

static const char *git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

/* A full hex object id, lowered into hex[HEXSZ + 1]. */
static int norm_hex(char *hex, const char *in, struct zh_error *err)
{
	size_t i;

	if (!in || strlen(in) != HEXSZ)
		goto bad;
	for (i = 0; i < HEXSZ; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			goto bad;
		hex[i] = c;
	}
	hex[HEXSZ] = '\0';
	return 0;
bad:
	return zh_error_set(err, ZH_EINVALID, "'%.80s' is not a commit id",
			    in ? in : "");
}

int zh_notes_ref_name(char *buf, size_t size, const char *notes_ref,
		      struct zh_error *err)
{
	int valid = 0, n;

	if (!notes_ref || !*notes_ref)
		notes_ref = ZH_NOTES_REF_DEFAULT;
	if (strncmp(notes_ref, "refs/", 5) == 0)
		n = snprintf(buf, size, "%s", notes_ref);
	else
		n = snprintf(buf, size, "refs/notes/%s", notes_ref);
	if (n < 0 || (size_t)n >= size ||
	    git_reference_name_is_valid(&valid, buf) < 0 || !valid)
		return zh_error_set(err, ZH_EINVALID,
				    "'%.200s' is not a valid notes ref",
				    notes_ref);
	return 0;
}

static bool is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* The fan-out directory index of a 2-hex name, else -1. */
static int fanout_index(const char *name)
{
	if (strlen(name) != 2 || !is_lower_hex(name, 2))
		return -1;
	return hexval(name[0]) * 16 + hexval(name[1]);
}

static bool is_note_name(const char *name, size_t rest)
{
	return strlen(name) == rest && is_lower_hex(name, rest);
}

static bool is_blob(const git_tree_entry *e)
{
	return e && git_tree_entry_type(e) == GIT_OBJECT_BLOB;
}

static bool is_tree(const git_tree_entry *e)
{
	return e && git_tree_entry_type(e) == GIT_OBJECT_TREE;
}

/* Look hex up like git does: a blob named by the rest of the id at this
 * level, else the 2-character directory of the next level. */
static int find_in_tree(git_oid *blob, bool *found, git_repository *repo,
			const git_tree *root, const char *hex)
{
	git_tree *t = NULL, *sub;
	const git_tree *cur = root;
	const char *rest = hex;
	int rc = 0;

	*found = false;
	for (;;) {
		const git_tree_entry *e = git_tree_entry_byname(cur, rest);
		char dir[3];

		if (is_blob(e)) {
			git_oid_cpy(blob, git_tree_entry_id(e));
			*found = true;
			break;
		}
		if (strlen(rest) <= 2)
			break;
		memcpy(dir, rest, 2);
		dir[2] = '\0';
		e = git_tree_entry_byname(cur, dir);
		if (!is_tree(e))
			break;
		if ((rc = git_tree_lookup(&sub, repo, git_tree_entry_id(e))) <
		    0)
			break;
		git_tree_free(t);
		cur = t = sub;
		rest += 2;
	}
	git_tree_free(t);
	return rc;
}

/* The note text of a blob; *skip when it is no text or too big. */
static int blob_text(char **out, bool *skip, git_repository *repo,
		     const git_oid *id)
{
	git_blob *blob = NULL;
	git_object_size_t size;
	const void *raw;
	int rc;

	*out = NULL;
	*skip = false;
	if ((rc = git_blob_lookup(&blob, repo, id)) < 0)
		return rc;
	size = git_blob_rawsize(blob);
	raw = git_blob_rawcontent(blob);
	if (size > NOTE_MAX || memchr(raw, '\0', (size_t)size)) {
		*skip = true;
	} else if (!(*out = dup_n(raw, (size_t)size))) {
		git_blob_free(blob);
		return ZH_ENOMEM;
	}
	git_blob_free(blob);
	return 0;
}

int zh_notes_read(char **out, struct zh_repo *r, const char *notes_ref,
		  const char *commit_hex, struct zh_error *err)
{
	git_repository *repo = zh_repo_raw(r);
	git_commit *tip = NULL;
	git_tree *tree = NULL;
	char name[1024], hex[HEXSZ + 1];
	git_oid id, blob;
	bool found, skip;
	int rc;

	*out = NULL;
	if ((rc = norm_hex(hex, commit_hex, err)) < 0 ||
	    (rc = zh_notes_ref_name(name, sizeof(name), notes_ref, err)) < 0)
		return rc;
	rc = git_reference_name_to_id(&id, repo, name);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0 || (rc = git_commit_lookup(&tip, repo, &id)) < 0 ||
	    (rc = git_commit_tree(&tree, tip)) < 0 ||
	    (rc = find_in_tree(&blob, &found, repo, tree, hex)) < 0)
		goto out;
	if (found && (rc = blob_text(out, &skip, repo, &blob)) == 0 && skip)
		rc = zh_error_set(err, ZH_ETOOBIG,
				  "note of '%s' is too big or not text", hex);
out:
	git_tree_free(tree);
	git_commit_free(tip);
	if (rc == ZH_ENOMEM)
		return zh_error_set(err, rc, "out of memory");
	if (rc < 0 && rc != ZH_ETOOBIG)
		return zh_error_set(err, ZH_EGIT, "cannot read notes '%s': %s",
				    name, git_msg());
	return rc;
}

/* ---- batch ----------------------------------------------------------- */

struct upd {
	char hex[HEXSZ + 1];
	size_t seq;
	struct zh_note_line *lines;
	size_t n;
};

struct zh_notes_batch {
	struct upd *v;
	size_t len, cap;
	size_t changed;
	char commit_id[HEXSZ + 1];
};

int zh_notes_batch_new(struct zh_notes_batch **out, struct zh_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	return 0;
}

static void upd_dispose(struct upd *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		zh_note_line_dispose(&u->lines[i]);
	free(u->lines);
}

void zh_notes_batch_free(struct zh_notes_batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->len; i++)
		upd_dispose(&b->v[i]);
	free(b->v);
	free(b);
}

static int copy_line(struct zh_note_line *d, const struct zh_note_line *s)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->task_id = s->task_id;
	d->status = dup_s(s->status);
	d->workflow = dup_s(s->workflow);
	d->url = dup_s(s->url ? s->url : "-");
	if (!d->status || !d->workflow || !d->url)
		return ZH_ENOMEM;
	if (s->nfields && !(d->fields = calloc(s->nfields, sizeof(*d->fields))))
		return ZH_ENOMEM;
	for (i = 0; i < s->nfields; i++) {
		d->nfields++;
		d->fields[i].key = dup_s(s->fields[i].key);
		d->fields[i].value =
		    dup_s(s->fields[i].value ? s->fields[i].value : "");
		if (!d->fields[i].key || !d->fields[i].value)
			return ZH_ENOMEM;
	}
	return 0;
}

int zh_notes_batch_add(struct zh_notes_batch *b, const char *commit_hex,
		       const struct zh_note_line *lines, size_t n,
		       struct zh_error *err)
{
	struct upd u = {0};
	size_t i;
	int rc;

	if ((rc = norm_hex(u.hex, commit_hex, err)) < 0)
		return rc;
	/* a bad line fails here, where the caller can tell which */
	for (i = 0; i < n; i++) {
		char *text;

		if ((rc = zh_note_line_format(&text, &lines[i], err)) < 0)
			return rc;
		free(text);
	}
	if (b->len == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct upd *v = realloc(b->v, cap * sizeof(*v));

		if (!v)
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		b->v = v;
		b->cap = cap;
	}
	if (n && !(u.lines = calloc(n, sizeof(*u.lines))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		u.n++;
		if (copy_line(&u.lines[i], &lines[i]) < 0) {
			upd_dispose(&u);
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		}
	}
	u.seq = b->len;
	b->v[b->len++] = u;
	return 0;
}

size_t zh_notes_batch_len(const struct zh_notes_batch *b)
{
	return b ? b->len : 0;
}

size_t zh_notes_batch_changed(const struct zh_notes_batch *b)
{
	return b ? b->changed : 0;
}

const char *zh_notes_batch_commit_id(const struct zh_notes_batch *b)
{
	return b ? b->commit_id : "";
}

/* ---- writing the notes tree ------------------------------------------ */

/* A directory of the notes tree being rewritten: a treebuilder seeded
 * from the old tree, opened only when a note below it changes, so that
 * untouched subtrees keep their ids. */
struct dir {
	git_treebuilder *tb;
	struct dir **child; /* [256] by fan-out name, allocated on demand */
	bool dirty;
};

struct ctx {
	git_repository *repo;
	struct dir *root;
	/* the objects an attempt wrote, for the pack (NULL: loose objects) */
	git_oid *objs;
	size_t nobjs, capobjs;
	bool pack;
};

static int track(struct ctx *x, const git_oid *id)
{
	if (!x->pack)
		return 0;
	if (x->nobjs == x->capobjs) {
		size_t cap = x->capobjs ? x->capobjs * 2 : 64;
		git_oid *v = realloc(x->objs, cap * sizeof(*v));

		if (!v)
			return ZH_ENOMEM;
		x->objs = v;
		x->capobjs = cap;
	}
	git_oid_cpy(&x->objs[x->nobjs++], id);
	return 0;
}

static void dir_free(struct dir *d)
{
	size_t i;

	if (!d)
		return;
	if (d->child)
		for (i = 0; i < 256; i++)
			dir_free(d->child[i]);
	free(d->child);
	git_treebuilder_free(d->tb);
	free(d);
}

static int dir_new(struct dir **out, git_repository *repo,
		   const git_oid *tree_id)
{
	git_tree *tree = NULL;
	struct dir *d;
	int rc;

	*out = NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return ZH_ENOMEM;
	if (tree_id && (rc = git_tree_lookup(&tree, repo, tree_id)) < 0) {
		free(d);
		return rc;
	}
	rc = git_treebuilder_new(&d->tb, repo, tree);
	git_tree_free(tree);
	if (rc < 0) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

/* The fan-out subdirectory idx of d; NULL in *out when there is none and
 * create is false, or when a non-tree entry holds its name. */
static int dir_child(struct dir **out, struct ctx *x, struct dir *d, int idx,
		     bool create)
{
	const git_tree_entry *e;
	char name[3];
	int rc;

	*out = NULL;
	if (d->child && d->child[idx]) {
		*out = d->child[idx];
		return 0;
	}
	snprintf(name, sizeof(name), "%02x", (unsigned)idx);
	e = git_treebuilder_get(d->tb, name);
	if (e && !is_tree(e))
		return 0;
	if (!e && !create)
		return 0;
	if (!d->child && !(d->child = calloc(256, sizeof(*d->child))))
		return ZH_ENOMEM;
	if ((rc = dir_new(&d->child[idx], x->repo,
			  e ? git_tree_entry_id(e) : NULL)) < 0)
		return rc;
	d->child[idx]->dirty = !e;
	*out = d->child[idx];
	return 0;
}

struct loc {
	struct dir *d;
	const char *name; /* points into the id */
};

static int find_note(struct loc *at, git_oid *blob, struct ctx *x,
		     const char *hex)
{
	struct dir *d = x->root;
	const char *rest = hex;
	int rc;

	at->d = NULL;
	for (;;) {
		const git_tree_entry *e = git_treebuilder_get(d->tb, rest);

		if (is_blob(e)) {
			at->d = d;
			at->name = rest;
			git_oid_cpy(blob, git_tree_entry_id(e));
			return 0;
		}
		if (strlen(rest) <= 2)
			return 0;
		rc = dir_child(&d, x, d, hexval(rest[0]) * 16 + hexval(rest[1]),
			       false);
		if (rc < 0 || !d)
			return rc;
		rest += 2;
	}
}

/* Where a note goes: into existing fan-out directories (as git and
 * libgit2 look it up), at the top into a new one when fanout is set. */
static int place_note(struct loc *at, struct ctx *x, const char *hex,
		      bool fanout)
{
	struct dir *d = x->root, *c;
	const char *rest = hex;
	int rc;

	for (;;) {
		if (strlen(rest) <= 2)
			break;
		rc = dir_child(&c, x, d, hexval(rest[0]) * 16 + hexval(rest[1]),
			       d == x->root && fanout);
		if (rc < 0)
			return rc;
		if (!c)
			break;
		d = c;
		rest += 2;
	}
	at->d = d;
	at->name = rest;
	return 0;
}

static int put_note(struct ctx *x, const char *hex, const git_oid *blob,
		    const struct loc *old, bool fanout)
{
	struct loc at;
	int rc;

	if ((rc = place_note(&at, x, hex, fanout)) < 0)
		return rc;
	if (old && old->d &&
	    (old->d != at.d || strcmp(old->name, at.name) != 0)) {
		if ((rc = git_treebuilder_remove(old->d->tb, old->name)) < 0)
			return rc;
		old->d->dirty = true;
	}
	if ((rc = git_treebuilder_insert(NULL, at.d->tb, at.name, blob,
					 GIT_FILEMODE_BLOB)) < 0)
		return rc;
	at.d->dirty = true;
	return 0;
}

static int dir_write(git_oid *out, bool *changed, struct ctx *x, struct dir *d)
{
	bool any = d->dirty;
	size_t i;
	int rc;

	*changed = false;
	for (i = 0; d->child && i < 256; i++) {
		struct dir *c = d->child[i];
		char name[3];
		git_oid id;
		bool ch;

		if (!c)
			continue;
		if ((rc = dir_write(&id, &ch, x, c)) < 0)
			return rc;
		if (!ch)
			continue;
		any = true;
		snprintf(name, sizeof(name), "%02x", (unsigned)i);
		if (git_treebuilder_entrycount(c->tb) == 0) {
			if (git_treebuilder_get(d->tb, name) &&
			    (rc = git_treebuilder_remove(d->tb, name)) < 0)
				return rc;
		} else if ((rc = git_treebuilder_insert(NULL, d->tb, name, &id,
							GIT_FILEMODE_TREE)) <
			   0) {
			return rc;
		}
	}
	if (!any)
		return 0;
	*changed = true;
	if ((rc = git_treebuilder_write(out, d->tb)) < 0)
		return rc;
	return track(x, out);
}

/* Flat notes at the top move into fan-out directories when the tree
 * fans out, so that one lookup rule finds every note. */
static int fan_out_flat(struct ctx *x, const git_tree *base)
{
	size_t i, n = base ? git_tree_entrycount(base) : 0;
	int rc;

	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(base, i);
		const char *name = git_tree_entry_name(e);
		struct loc old = {x->root, name};
		git_oid id;

		if (!is_blob(e) || !is_note_name(name, HEXSZ))
			continue;
		git_oid_cpy(&id, git_tree_entry_id(e));
		/* put_note takes it out of the top level */
		if ((rc = put_note(x, name, &id, &old, true)) < 0)
			return rc;
	}
	return 0;
}

static int cmp_upd(const void *pa, const void *pb)
{
	const struct upd *a = *(const struct upd *const *)pa;
	const struct upd *b = *(const struct upd *const *)pb;
	int c = strcmp(a->hex, b->hex);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* One attempt's result. */
struct attempt {
	git_oid commit;
	bool have_tip;
	git_oid tip;
	size_t changed;
};

/* Merge every update on top of the notes commit the ref names now and
 * write the new notes commit (into the mempack). */
static int build_commit(struct attempt *a, struct ctx *x, const char *name,
			struct upd **order, size_t len, const char *message,
			struct zh_error *err)
{
	git_commit *tip = NULL;
	git_tree *base = NULL, *tree = NULL;
	git_signature *sig = NULL;
	const git_commit *parents[1];
	size_t i, j, flat = 0;
	bool fanout = false, ch;
	git_oid tree_id;
	char *text = NULL;
	int rc;

	a->changed = 0;
	a->have_tip = false;
	x->nobjs = 0;
	rc = git_reference_name_to_id(&a->tip, x->repo, name);
	if (rc == 0) {
		a->have_tip = true;
		if ((rc = git_commit_lookup(&tip, x->repo, &a->tip)) < 0 ||
		    (rc = git_commit_tree(&base, tip)) < 0)
			goto fail;
	} else if (rc != GIT_ENOTFOUND) {
		goto fail;
	}
	if ((rc = dir_new(&x->root, x->repo, base ? git_tree_id(base) : NULL)) <
	    0)
		goto fail;
	for (i = 0; base && i < git_tree_entrycount(base); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(base, i);
		const char *en = git_tree_entry_name(e);

		if (is_tree(e) && fanout_index(en) >= 0)
			fanout = true;
		else if (is_blob(e) && is_note_name(en, HEXSZ))
			flat++;
	}
	if (!fanout && flat + len > FANOUT_AT)
		fanout = true;
	if (fanout && flat && (rc = fan_out_flat(x, base)) < 0)
		goto fail;
	for (i = 0; i < len; i = j) {
		struct loc old;
		git_oid blob, nb;
		bool skip = false, any = false;

		for (j = i;
		     j < len && strcmp(order[j]->hex, order[i]->hex) == 0; j++)
			;
		if ((rc = find_note(&old, &blob, x, order[i]->hex)) < 0)
			goto fail;
		if (old.d && (rc = blob_text(&text, &skip, x->repo, &blob)) < 0)
			goto fail;
		if (skip)
			continue;
		for (; i < j; i++) {
			char *merged;

			rc = zh_note_merge(&merged, &ch, text, order[i]->lines,
					   order[i]->n, err);
			if (rc < 0)
				goto out;
			free(text);
			text = merged;
			any = any || ch;
		}
		if (any) {
			if ((rc = git_blob_create_from_buffer(
				 &nb, x->repo, text, strlen(text))) < 0 ||
			    (rc = track(x, &nb)) < 0 ||
			    (rc = put_note(x, order[j - 1]->hex, &nb, &old,
					   fanout)) < 0)
				goto fail;
			a->changed++;
		}
		free(text);
		text = NULL;
	}
	if (a->changed == 0)
		goto out;
	if ((rc = dir_write(&tree_id, &ch, x, x->root)) < 0 ||
	    (rc = git_tree_lookup(&tree, x->repo, &tree_id)) < 0 ||
	    (rc = git_signature_now(&sig, SIGNATURE_NAME, SIGNATURE_EMAIL)) < 0)
		goto fail;
	parents[0] = tip;
	if ((rc = git_commit_create(&a->commit, x->repo, NULL, sig, sig, NULL,
				    message, tree, tip ? 1 : 0, parents)) < 0 ||
	    (rc = track(x, &a->commit)) < 0)
		goto fail;
	goto out;
fail:
	rc = zh_error_set(err, rc == ZH_ENOMEM ? rc : ZH_EGIT,
			  "cannot write notes '%s': %s", name,
			  rc == ZH_ENOMEM ? "out of memory" : git_msg());
out:
	free(text);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base);
	git_commit_free(tip);
	dir_free(x->root);
	x->root = NULL;
	return rc;
}

/* The objects of the attempt go from the mempack to disk as one pack
 * (perf-notes.md: far cheaper than a loose file per object for a large
 * batch). Only they: git_mempack_dump would pack every object reachable
 * from the new commit, the whole notes tree each time, and
 * git_packbuilder_write measured ten times slower than indexing the
 * buffer through the object database. */
static int write_pack(struct ctx *x, git_odb *odb)
{
	git_packbuilder *pb = NULL;
	git_odb_writepack *wp = NULL;
	git_indexer_progress stats;
	git_buf pack = {0};
	size_t i;
	int rc;

	if ((rc = git_packbuilder_new(&pb, x->repo)) < 0)
		return rc;
	git_packbuilder_set_threads(pb, 1);
	/* newest first, as git orders a pack */
	for (i = x->nobjs; rc == 0 && i > 0; i--)
		rc = git_packbuilder_insert(pb, &x->objs[i - 1], NULL);
	if (rc < 0 || (rc = git_packbuilder_write_buf(&pack, pb)) < 0 ||
	    (rc = git_odb_write_pack(&wp, odb, NULL, NULL)) < 0)
		goto out;
	memset(&stats, 0, sizeof(stats));
	if ((rc = wp->append(wp, pack.ptr, pack.size, &stats)) == 0)
		rc = wp->commit(wp, &stats);
out:
	if (wp)
		wp->free(wp);
	git_buf_dispose(&pack);
	git_packbuilder_free(pb);
	return rc;
}

static void backoff(unsigned attempt)
{
	struct timespec ts;
	unsigned long ms, cap = 5UL << (attempt < 5 ? attempt : 5);
	uint64_t s;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* jitter from the clock and the pid: writers must not march in step */
	s = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^ attempt;
	s ^= s >> 33;
	s *= 0xff51afd7ed558ccdULL;
	s ^= s >> 33;
	ms = 1 + (unsigned long)(s % cap);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	nanosleep(&ts, NULL);
}

int zh_notes_commit(struct zh_repo *r, const char *notes_ref,
		    struct zh_notes_batch *b, const char *message,
		    struct zh_error *err)
{
	git_repository *repo = NULL;
	git_odb *odb = NULL;
	git_odb_backend *mempack = NULL;
	git_reference *ref = NULL;
	struct upd **order = NULL;
	struct ctx x = {0};
	struct attempt a;
	char name[1024], logmsg[256];
	unsigned tries;
	size_t i;
	mode_t mask = 0;
	int rc, shared = 0;

	b->changed = 0;
	b->commit_id[0] = '\0';
	if ((rc = zh_notes_ref_name(name, sizeof(name), notes_ref, err)) < 0)
		return rc;
	if (b->len == 0)
		return 0;
	if (!message)
		message = DEFAULT_MESSAGE;
	if (!(order = malloc(b->len * sizeof(*order))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (i = 0; i < b->len; i++)
		order[i] = &b->v[i];
	qsort(order, b->len, sizeof(*order), cmp_upd);
	/* libgit2 1.5 does not follow core.sharedRepository (it only
	 * applies it to git_repository_init's own directories): in a
	 * repository several users push to, the objects, packs, refs and
	 * their directories must let the others of the group in, as git's
	 * own do. Process-wide: the hook, the poller and git zadig write
	 * from one thread; a receiver's thread creating a file meanwhile
	 * only gets the group's bits too. */
	if ((shared = zh_repo_shared(r))) {
		mask = umask(0);
		umask(zh_perm_umask(shared, mask));
	}
	/* A few notes make a few loose objects, like git notes add (a pack
	 * per small update would only pile up packs), written through the
	 * caller's repository: its object database is open already. A batch
	 * goes through a repository of our own, whose mempack backend must
	 * not catch the caller's later writes. */
	x.pack = b->len >= PACK_AT;
	if (!x.pack)
		repo = zh_repo_raw(r);
	else if ((rc = zh_git_open(&repo, zh_repo_git_dir(r), err)) < 0)
		goto out;
	else if ((rc = zh_repo_pack_without_deltas(repo)) < 0)
		goto fail;
	x.repo = repo;
	if (x.pack && ((rc = git_repository_odb(&odb, repo)) < 0 ||
		       (rc = git_mempack_new(&mempack)) < 0))
		goto fail;
	if (x.pack && (rc = git_odb_add_backend(odb, mempack, 999)) < 0) {
		/* not owned by the odb then */
		mempack->free(mempack);
		mempack = NULL;
		goto fail;
	}
	snprintf(logmsg, sizeof(logmsg), "notes: %.200s", message);
	for (tries = 0;; tries++) {
		if (mempack)
			git_mempack_reset(mempack);
		if ((rc = build_commit(&a, &x, name, order, b->len, message,
				       err)) < 0)
			goto out;
		if (a.changed == 0)
			break;
		if (mempack && (rc = write_pack(&x, odb)) < 0)
			goto fail;
		if (mempack)
			git_mempack_reset(mempack);
		/* A zero old id means "must not exist", checked under the
		 * ref's lock; git_reference_create checks before locking and
		 * could overwrite a writer that created the ref meanwhile. */
		if (!a.have_tip)
			memset(&a.tip, 0, sizeof(a.tip));
		rc = git_reference_create_matching(&ref, repo, name, &a.commit,
						   1, &a.tip, logmsg);
		git_reference_free(ref);
		ref = NULL;
		if (rc == 0) {
			b->changed = a.changed;
			git_oid_tostr(b->commit_id, sizeof(b->commit_id),
				      &a.commit);
			break;
		}
		if (rc != GIT_EMODIFIED && rc != GIT_EEXISTS &&
		    rc != GIT_ELOCKED && rc != GIT_ENOTFOUND)
			goto fail;
		if (rc == GIT_ELOCKED && zh_ref_lock_remove_stale(repo, name))
			continue;
		if (tries + 1 >= CAS_TRIES) {
			if (rc == GIT_ELOCKED) {
				char lock[sizeof(name) + 8];

				snprintf(lock, sizeof(lock), "%s.lock", name);
				rc = zh_notes_ref_locked(err, name, lock);
			} else {
				rc = zh_error_set(
				    err, ZH_EGIT,
				    "notes ref '%s' kept changing, "
				    "gave up after %u tries",
				    name, CAS_TRIES);
			}
			goto out;
		}
		/* another writer moved the ref: redo on top of its commit */
		backoff(tries);
	}
	rc = 0;
	goto out;
fail:
	rc = zh_error_set(err, ZH_EGIT, "cannot write notes '%s': %s", name,
			  git_msg());
out:
	if (mempack)
		git_mempack_reset(mempack);
	git_odb_free(odb);
	if (x.pack)
		git_repository_free(repo);
	if (shared)
		umask(mask);
	free(x.objs);
	free(order);
	return rc;
}
