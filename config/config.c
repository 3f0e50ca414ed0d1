/* YAML -> struct zh_config, driven by the key table of keys.c.
 *
 * load() builds libyaml's node tree, with marks, from the parser's events;
 * we walk it once, looking every key up in the table by its dotted path,
 * and collect every problem as "FILE:LINE:COL: message" instead of
 * stopping at the first. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config/internal.h"
#include "util/banned.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/value.h"

#define MAX_FILE (4 << 20)
#define MAX_TOKEN_FILE (64 << 10)
#define MAX_STRING (1 << 20)
/* Aliases make a small file a large (or cyclic) tree: bound the walk. */
#define NODE_BUDGET 1000000
/* Of the file (load) and, through aliases, of a free-form value. */
#define MAX_DEPTH 64
#define PATH_MAX_LEN 256
#define DIST_MAX 48 /* longer unknown keys get no suggestion */

struct msg {
	int line, col;
	size_t seq; /* keeps sorting stable */
	char *text;
};

struct msgs {
	struct msg *v;
	size_t len, cap;
};

struct rule_name {
	const char *name; /* borrowed from the rule */
	const char *raw;  /* as written, for messages; borrowed from doc */
	int line;
};

struct ctx {
	const char *name;     /* file name in messages */
	const char *base_dir; /* for a relative token_file; NULL: cwd */
	yaml_document_t *doc;
	struct msgs errs, warns;
	/* why token_file (tok), ca_file (ca) cannot be read: errors only
	 * when errs has one (zh_config_diag lists every error), else
	 * zadig.token_error, zadig.ca_error */
	struct msgs tok, ca;
	struct msgs chk; /* zh_config.check_errors */
	size_t seq;
	long budget;
	bool nomem, too_complex;
	bool too_deep; /* a free-form value nested too deep was reported */
	struct zh_config *cfg;
	struct rule_name *names;
	size_t nnames;
};

/* One object being filled: the top, a rule, a target, a webhook repo. */
struct frame {
	const char *scope; /* "", "rules[]", "rules[].workflow.targets[]" */
	char *base;	   /* the struct of that scope */
	const yaml_node_t *key[ZH_CONFIG_MAX_KEYS]; /* seen, by table index */
	const yaml_node_t *val[ZH_CONFIG_MAX_KEYS]; /* seen and not null */
	char disp[PATH_MAX_LEN]; /* "rules[2]" for messages */
};

/* Trigger-time variables of design.md §4.3: the mapping expands them. */
static const char *const trigger_vars[] = {
    "REPO",   "BRANCH",		  "TAG",
    "REF",    "COMMIT",		  "SHORT_COMMIT",
    "BEFORE", "AUTHOR",		  "AUTHOR_EMAIL",
    "MR_IID", "MR_TARGET_BRANCH", "RULE",
    NULL,
};

static void parse_map(struct ctx *x, struct frame *f, const char *path,
		      const char *disp, const yaml_node_t *map);

/* snprintf for names shown in messages, where truncation is harmless. */
static void fmt(char *buf, size_t n, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void fmt(char *buf, size_t n, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, n, f, ap);
	va_end(ap);
}

/* ---- messages ---- */

static void vreport(struct ctx *x, struct msgs *to, const yaml_mark_t *m,
		    const char *format, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void vreport(struct ctx *x, struct msgs *to, const yaml_mark_t *m,
		    const char *format, va_list ap)
{
	char text[1024];
	int line = m ? (int)m->line + 1 : 1, col = m ? (int)m->column + 1 : 1;
	int n;

	n = snprintf(text, sizeof(text), "%s:%d:%d: ", x->name, line, col);
	if (n < 0 || (size_t)n >= sizeof(text))
		n = 0;
	vsnprintf(text + n, sizeof(text) - (size_t)n, format, ap);
	if (to->len == to->cap) {
		size_t cap = to->cap ? to->cap * 2 : 8;
		struct msg *v = realloc(to->v, cap * sizeof(*v));

		if (!v) {
			x->nomem = true;
			return;
		}
		to->v = v;
		to->cap = cap;
	}
	if (!(to->v[to->len].text = strdup(text))) {
		x->nomem = true;
		return;
	}
	to->v[to->len].line = line;
	to->v[to->len].col = col;
	to->v[to->len].seq = x->seq++;
	to->len++;
}

static void report_to(struct ctx *x, struct msgs *to, const yaml_mark_t *m,
		      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report_to(struct ctx *x, struct msgs *to, const yaml_mark_t *m,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(x, to, m, fmt, ap);
	va_end(ap);
}

static void report(struct ctx *x, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct ctx *x, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(x, &x->errs, m, fmt, ap);
	va_end(ap);
}

static void warn(struct ctx *x, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void warn(struct ctx *x, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(x, &x->warns, m, fmt, ap);
	va_end(ap);
}

static int msg_cmp(const void *a, const void *b)
{
	const struct msg *p = a, *q = b;

	if (p->line != q->line)
		return p->line < q->line ? -1 : 1;
	if (p->col != q->col)
		return p->col < q->col ? -1 : 1;
	return p->seq < q->seq ? -1 : p->seq > q->seq;
}

/* Sort by position and hand the texts over as a char ** array. */
static char **take_msgs(struct msgs *m, size_t *n)
{
	char **out;
	size_t i;

	*n = 0;
	if (!m->len)
		return NULL;
	qsort(m->v, m->len, sizeof(*m->v), msg_cmp);
	if (!(out = calloc(m->len, sizeof(*out))))
		return NULL;
	for (i = 0; i < m->len; i++) {
		out[i] = m->v[i].text;
		m->v[i].text = NULL;
	}
	*n = m->len;
	return out;
}

static void msgs_dispose(struct msgs *m)
{
	size_t i;

	for (i = 0; i < m->len; i++)
		free(m->v[i].text);
	free(m->v);
	m->v = NULL;
	m->len = m->cap = 0;
}

/* ---- the key table ---- */

/* Length of the scope part of path: up to and including the last "[]". */
static size_t scope_len(const char *path)
{
	const char *p, *last = NULL;

	for (p = path; (p = strstr(p, "[]")); p += 2)
		last = p + 2;
	return last ? (size_t)(last - path) : 0;
}

static bool in_scope(const struct zh_config_key *k, const char *scope)
{
	size_t n = scope_len(k->path);

	return n == strlen(scope) && strncmp(k->path, scope, n) == 0;
}

/* Length of the parent path of k: "rules[].workflow" for
 * "rules[].workflow.name", 0 for "zadig". */
static size_t parent_len(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot ? (size_t)(dot - path) : 0;
}

static bool is_child(const struct zh_config_key *k, const char *path)
{
	size_t n = parent_len(k->path);

	return n == strlen(path) && strncmp(k->path, path, n) == 0;
}

static const char *last_name(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot ? dot + 1 : path;
}

static const struct zh_config_key *find_key(const char *path)
{
	size_t i;

	for (i = 0; i < zh_config_nkeys; i++)
		if (strcmp(zh_config_keys[i].path, path) == 0)
			return &zh_config_keys[i];
	return NULL;
}

static size_t key_index(const char *path)
{
	return (size_t)(find_key(path) - zh_config_keys);
}

/* Optimal string alignment distance (edits, with transpositions). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[DIST_MAX + 1][DIST_MAX + 1];

	if (la > DIST_MAX || lb > DIST_MAX)
		return (size_t)-1;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

static void unknown_key(struct ctx *x, const char *path, const char *disp,
			const char *name, const yaml_node_t *kn)
{
	const struct zh_config_key *best = NULL, *elsewhere = NULL;
	size_t i, best_d = 3, len = strlen(name);
	char hint[PATH_MAX_LEN + 64] = "";

	for (i = 0; i < zh_config_nkeys; i++) {
		const struct zh_config_key *k = &zh_config_keys[i];
		size_t d;

		if (!is_child(k, path)) {
			if (!elsewhere && strcmp(last_name(k->path), name) == 0)
				elsewhere = k;
			continue;
		}
		d = edit_distance(name, last_name(k->path));
		if (d < best_d && d < len) {
			best_d = d;
			best = k;
		}
	}
	if (best)
		fmt(hint, sizeof(hint), " (did you mean '%s'?)",
		    last_name(best->path));
	else if (elsewhere && parent_len(elsewhere->path))
		fmt(hint, sizeof(hint), " (it belongs under '%.*s')",
		    (int)parent_len(elsewhere->path), elsewhere->path);
	if (*disp)
		report(x, &kn->start_mark, "unknown key '%s' in '%s'%s", name,
		       disp, hint);
	else
		report(x, &kn->start_mark, "unknown key '%s'%s", name, hint);
}

/* ---- scalars ---- */

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML 1.2 core schema null: "", "~", "null", "Null", "NULL". */
static bool yaml_null(const char *s)
{
	static const char *const nulls[] = {"",	    "~",    "null",
					    "Null", "NULL", NULL};
	size_t i;

	for (i = 0; nulls[i]; i++)
		if (strcmp(s, nulls[i]) == 0)
			return true;
	return false;
}

static bool is_null(const yaml_node_t *n)
{
	return plain(n) && yaml_null(sval(n));
}

static const char *kind(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (is_null(n))
		return "null";
	return "a scalar";
}

/* Spend one node of the budget; false (reported once) when exhausted. */
static bool spend(struct ctx *x, const yaml_node_t *n)
{
	if (--x->budget >= 0)
		return true;
	if (!x->too_complex)
		report(x, &n->start_mark,
		       "document too complex (too many nodes through aliases)");
	x->too_complex = true;
	return false;
}

static const yaml_node_t *node_at(struct ctx *x, int i)
{
	return yaml_document_get_node(x->doc, i);
}

static bool trigger_var(const char *name, size_t n)
{
	size_t i;

	for (i = 0; trigger_vars[i]; i++)
		if (strlen(trigger_vars[i]) == n &&
		    strncmp(trigger_vars[i], name, n) == 0)
			return true;
	return false;
}

/* Replace ${NAME} from the environment, keeping the trigger-time ones.
 * Returns 0 with *out malloc'd, or -1 (reported, *out NULL). */
static int expand(struct ctx *x, const yaml_node_t *n, char **out)
{
	const char *s = sval(n), *p;
	struct zh_buf b;
	int bad = 0, rc;

	*out = NULL;
	if (strlen(s) != n->data.scalar.length) {
		report(x, &n->start_mark, "string contains a NUL byte");
		return -1;
	}
	zh_buf_init(&b, MAX_STRING);
	for (p = s; *p;) {
		const char *name = p + 2, *e = name;
		const char *v;
		char var[PATH_MAX_LEN];

		if (p[0] != '$' || p[1] != '{' ||
		    !(isalpha((unsigned char)*e) || *e == '_')) {
			if ((rc = zh_buf_append(&b, p, 1)))
				goto fail;
			p++;
			continue;
		}
		while (isalnum((unsigned char)*e) || *e == '_')
			e++;
		if (*e != '}' || trigger_var(name, (size_t)(e - name)) ||
		    (size_t)(e - name) >= sizeof(var)) {
			if ((rc = zh_buf_append(&b, p, 2)))
				goto fail;
			p += 2;
			continue;
		}
		fmt(var, sizeof(var), "%.*s", (int)(e - name), name);
		if (!(v = getenv(var))) {
			report(x, &n->start_mark,
			       "environment variable '%s' is not set", var);
			bad = -1;
		} else if ((rc = zh_buf_puts(&b, v))) {
			goto fail;
		}
		p = e + 1;
	}
	if (bad) {
		zh_buf_dispose(&b);
		return -1;
	}
	if ((*out = zh_buf_detach(&b)))
		return 0;
	rc = ZH_ENOMEM;
fail:
	/* May hold a secret from the environment. */
	if (b.ptr)
		explicit_bzero(b.ptr, b.cap);
	zh_buf_dispose(&b);
	if (rc == ZH_ETOOBIG)
		report(x, &n->start_mark, "string longer than %d bytes",
		       MAX_STRING);
	else
		x->nomem = true;
	return -1;
}

static int parse_bool(bool *out, const char *s)
{
	static const char *const yes[] = {"true", "yes", "on", NULL};
	static const char *const no[] = {"false", "no", "off", NULL};
	size_t i;

	for (i = 0; yes[i]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* "sync or async", "push, tag or merge_request" */
static void join_choices(char *out, size_t n, const char *const *c)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; c[i] && len < n; i++) {
		const char *sep = i == 0 ? "" : c[i + 1] ? ", " : " or ";
		int w = snprintf(out + len, n - len, "%s%s", sep, c[i]);

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static int choice(const char *const *c, const char *s)
{
	int i;

	for (i = 0; c[i]; i++)
		if (strcmp(c[i], s) == 0)
			return i;
	return -1;
}

static bool http_url(const char *s)
{
	const char *rest;

	if (strncasecmp(s, "http://", 7) == 0)
		rest = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		rest = s + 8;
	else
		return false;
	return *rest && *rest != '/';
}

/* Whether http(s) URL s names a user (and password) before its host. */
static bool url_userinfo(const char *s)
{
	const char *host = strstr(s, "://") + 3;
	size_t n = strcspn(host, "/");

	return memchr(host, '@', n) != NULL;
}

static bool listen_addr(const char *s)
{
	const char *colon = strrchr(s, ':'), *p;
	long port;
	char *end;

	if (!colon || colon == s)
		return false;
	if (s[0] == '[' && colon[-1] != ']')
		return false;
	if (s[0] != '[') {
		for (p = s; p < colon; p++)
			if (*p == ':' || isspace((unsigned char)*p))
				return false;
	}
	if (!isdigit((unsigned char)colon[1]))
		return false;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return !errno && !*end && port >= 1 && port <= 65535;
}

/* Why s cannot be the notes ref, or NULL when it can: a ref under
 * refs/notes/ by git's rules for ref names (git check-ref-format,
 * libgit2's git_reference_name_is_valid), so that notes never go onto a
 * branch and a name git refuses fails here, not at every run. why gets
 * the reason. */
static const char *notes_ref_problem(char *why, size_t n, const char *s)
{
	static const char prefix[] = "refs/notes/";
	const char *p, *part;
	size_t len = strlen(s), plen;

	if (strncmp(s, prefix, sizeof(prefix) - 1) != 0)
		return "it must be under refs/notes/, like refs/notes/zadig";
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ')
			return "a ref name cannot contain a space";
		if (c < 0x20 || c == 0x7f)
			return "a ref name cannot contain a control character";
		if (strchr("~^:?*[\\", c)) {
			fmt(why, n, "a ref name cannot contain '%c'", c);
			return why;
		}
	}
	if (strstr(s, ".."))
		return "a ref name cannot contain '..'";
	if (strstr(s, "@{"))
		return "a ref name cannot contain '@{'";
	if (strstr(s, "//"))
		return "a ref name cannot contain '//'";
	if (s[len - 1] == '/')
		return "a ref name cannot end with '/'";
	if (s[len - 1] == '.')
		return "a ref name cannot end with '.'";
	for (part = s; *part; part += plen + (part[plen] == '/')) {
		plen = strcspn(part, "/");
		if (*part == '.')
			return "no part of a ref name can start with '.'";
		if (plen >= 5 && strncmp(part + plen - 5, ".lock", 5) == 0)
			return "no part of a ref name can end with '.lock'";
	}
	return NULL;
}

static void *field(char *base, const struct zh_config_key *k)
{
	return base + k->off;
}

static void free_secret(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

static void strlist_dispose(struct zh_strlist *l)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

/* Check and store the scalar value s of key k into base. raw is the text
 * as written (quoted in messages, never the expanded value, which may
 * come from a secret); m and disp locate it. Takes ownership of s. */
static void set_scalar(struct ctx *x, char *base, const struct zh_config_key *k,
		       char *s, const char *raw, const yaml_mark_t *m,
		       const char *disp)
{
	char choices[128], reason[64];
	const char *why;
	int64_t v;
	bool b;
	int i;

	switch (k->type) {
	case ZH_KT_STRING:
		if ((k->flags & ZH_KF_GLOB) && zh_config_glob_check(s, &why)) {
			report(x, m, "invalid glob '%s': %s", raw, why);
			break;
		}
		if ((k->flags & ZH_KF_URL) && !http_url(s)) {
			report(x, m,
			       "%s must start with http:// or https://, "
			       "got '%s'",
			       disp, raw);
			break;
		}
		/* not quoted: that part may be a password */
		if ((k->flags & ZH_KF_URL) && url_userinfo(s)) {
			report(x, m,
			       "%s must not hold a user name or password (the "
			       "part before '@')%s",
			       disp,
			       strcmp(k->path, "zadig.url") == 0
				   ? ": Zadig takes zadig.token"
				   : "");
			break;
		}
		if ((k->flags & ZH_KF_LISTEN) && !listen_addr(s)) {
			report(x, m,
			       "invalid listen address '%s': expected "
			       "host:port",
			       raw);
			break;
		}
		if ((k->flags & ZH_KF_REF) &&
		    (why = notes_ref_problem(reason, sizeof(reason), s))) {
			report(x, m, "invalid %s '%s': %s", disp, raw, why);
			break;
		}
		free_secret(*(char **)field(base, k));
		*(char **)field(base, k) = s;
		return;
	case ZH_KT_BOOL:
		if (parse_bool(&b, s)) {
			report(x, m, "expected a boolean, got '%s'", raw);
			break;
		}
		*(bool *)field(base, k) = b;
		break;
	case ZH_KT_DURATION:
		if (zh_config_parse_duration(&v, s)) {
			if (strspn(s, "0123456789") == strlen(s) && *s)
				report(x, m,
				       "invalid duration '%s': a number needs "
				       "a unit (ms, s, m or h)",
				       raw);
			else
				report(x, m,
				       "invalid duration '%s': expected e.g. "
				       "500ms, 10s, 5m, 24h or 1h30m",
				       raw);
			break;
		}
		if (v < k->min) {
			report(x, m, "%s must be positive, got '%s'", disp,
			       raw);
			break;
		}
		if (v > ZH_CONFIG_MAX_DURATION_MS) {
			report(x, m,
			       "%s must be at most 876000h (100 years), got "
			       "'%s'",
			       disp, raw);
			break;
		}
		*(int64_t *)field(base, k) = v;
		break;
	case ZH_KT_SIZE:
		if (zh_config_parse_size(&v, s)) {
			report(x, m,
			       "invalid size '%s': expected bytes or a unit "
			       "B, KiB, MiB, GiB, KB, MB or GB (e.g. 1MiB)",
			       raw);
			break;
		}
		if (v < k->min) {
			report(x, m, "%s must be positive, got '%s'", disp,
			       raw);
			break;
		}
		*(int64_t *)field(base, k) = v;
		break;
	case ZH_KT_INT: {
		char *end;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (!*s || *end || errno || isspace((unsigned char)*s)) {
			report(x, m, "expected an integer, got '%s'", raw);
			break;
		}
		if (v < k->min || v > k->max) {
			report(x, m,
			       "%s must be between %lld and %lld, got '%s'",
			       disp, (long long)k->min, (long long)k->max, raw);
			break;
		}
		*(int64_t *)field(base, k) = v;
		break;
	}
	case ZH_KT_ENUM:
		if ((i = choice(k->choices, s)) < 0) {
			join_choices(choices, sizeof(choices), k->choices);
			report(x, m, "invalid %s '%s': expected %s", disp, raw,
			       choices);
			break;
		}
		if (k->flags & ZH_KF_ENUM_STR) {
			free(*(char **)field(base, k));
			*(char **)field(base, k) = s;
			return;
		}
		*(int *)field(base, k) = i;
		break;
	default:
		break;
	}
	free(s);
}

/* A list of strings, or one string as a list of one. FLAGS keys turn the
 * items into bits. */
static void set_strlist(struct ctx *x, char *base,
			const struct zh_config_key *k, const yaml_node_t *n,
			const char *disp)
{
	struct zh_strlist l = {NULL, 0};
	const yaml_node_t *one[1];
	const yaml_node_t **items = one;
	size_t count = 1, i;
	unsigned bits = 0;
	bool bad = false;
	char choices[128];

	if (n->type == YAML_MAPPING_NODE) {
		report(x, &n->start_mark,
		       "expected a list of strings, got a mapping");
		return;
	}
	one[0] = n;
	if (n->type == YAML_SEQUENCE_NODE) {
		count = (size_t)(n->data.sequence.items.top -
				 n->data.sequence.items.start);
		items = count ? calloc(count, sizeof(*items)) : one;
		if (!items) {
			x->nomem = true;
			return;
		}
		for (i = 0; i < count; i++)
			items[i] = node_at(x, n->data.sequence.items.start[i]);
		if (count == 0 && k->type == ZH_KT_FLAGS) {
			report(x, &n->start_mark, "%s must not be empty", disp);
			bad = true;
		}
	}
	if (count && !(l.items = calloc(count, sizeof(*l.items)))) {
		x->nomem = true;
		goto out;
	}
	for (i = 0; i < count; i++) {
		const yaml_node_t *it = items[i];
		const char *why;
		char *s;
		int c;

		if (!spend(x, it))
			break;
		if (it->type != YAML_SCALAR_NODE || is_null(it)) {
			report(x, &it->start_mark, "expected a string, got %s",
			       kind(it));
			bad = true;
			continue;
		}
		if (expand(x, it, &s)) {
			bad = true;
			continue;
		}
		if ((k->flags & ZH_KF_GLOB) && zh_config_glob_check(s, &why)) {
			report(x, &it->start_mark, "invalid glob '%s': %s",
			       sval(it), why);
			bad = true;
			free(s);
			continue;
		}
		if (k->type == ZH_KT_FLAGS) {
			if ((c = choice(k->choices, s)) < 0) {
				join_choices(choices, sizeof(choices),
					     k->choices);
				report(x, &it->start_mark,
				       "invalid %s '%s': expected %s", disp,
				       sval(it), choices);
				bad = true;
			} else {
				bits |= 1u << c;
			}
			free(s);
			continue;
		}
		l.items[l.len++] = s;
	}
	if (bad)
		goto out;
	if (k->type == ZH_KT_FLAGS) {
		*(unsigned *)field(base, k) = bits;
	} else {
		strlist_dispose(field(base, k));
		*(struct zh_strlist *)field(base, k) = l;
		l.items = NULL;
		l.len = 0;
	}
out:
	strlist_dispose(&l);
	if (items != one)
		free(items);
}

/* YAML 1.2 core schema scalars, for free-form values. */
#define CORE_TAG "tag:yaml.org,2002:"

static bool yaml_bool(bool *out, const char *s)
{
	static const char *const t[] = {"true", "True", "TRUE", NULL};
	static const char *const f[] = {"false", "False", "FALSE", NULL};
	size_t i;

	for (i = 0; t[i]; i++) {
		if (strcmp(s, t[i]) == 0 || strcmp(s, f[i]) == 0) {
			*out = strcmp(s, t[i]) == 0;
			return true;
		}
	}
	return false;
}

/* [-+]?[0-9]+, 0o[0-7]+ or 0x[0-9a-fA-F]+: 1 with *out set, -1 when it
 * does not fit in int64_t, 0 when s is no integer. */
static int yaml_int(int64_t *out, const char *s)
{
	const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
	unsigned long long u;
	char *end;
	int base = 10;

	if ((s[0] == '0' && s[1] == 'o') || (s[0] == '0' && s[1] == 'x')) {
		d = s + 2;
		base = s[1] == 'o' ? 8 : 16;
	}
	if (!*d || strspn(d, base == 8	  ? "01234567"
			     : base == 16 ? "0123456789abcdefABCDEF"
					  : "0123456789") != strlen(d))
		return 0;
	errno = 0;
	if (base == 10) {
		*out = strtoll(s, &end, 10);
		return errno ? -1 : 1;
	}
	u = strtoull(d, &end, base);
	if (errno || u > INT64_MAX)
		return -1;
	*out = (int64_t)u;
	return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool yaml_float(const char *s)
{
	size_t n;

	if (*s == '-' || *s == '+')
		s++;
	n = strspn(s, "0123456789");
	s += n;
	if (*s == '.') {
		s++;
		if (!n && !strspn(s, "0123456789"))
			return false;
		s += strspn(s, "0123456789");
	} else if (!n) {
		return false;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!(n = strspn(s, "0123456789")))
			return false;
		s += n;
	}
	return !*s;
}

/* .inf, -.Inf, .NaN and the like: floats JSON cannot write. */
static bool yaml_inf_nan(const char *s)
{
	const char *d = (*s == '-' || *s == '+') ? s + 1 : s;

	if (strcmp(d, ".inf") == 0 || strcmp(d, ".Inf") == 0 ||
	    strcmp(d, ".INF") == 0)
		return true;
	return d == s && (strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 ||
			  strcmp(s, ".NAN") == 0);
}

/* The JSON spelling of s, a yaml_float (or a decimal yaml_int): no '+',
 * no leading zeros, a digit on each side of the point; a float keeps a
 * point or an exponent ("1." is 1.0, "!!float 7" 7.0). malloc'd, NULL
 * when out of memory. */
static char *json_number(const char *s, bool is_float)
{
	struct zh_buf b;
	size_t n;

	zh_buf_init(&b, MAX_STRING);
	if (*s == '-' && zh_buf_puts(&b, "-"))
		goto fail;
	if (*s == '-' || *s == '+')
		s++;
	n = strspn(s, "0123456789");
	while (n > 1 && *s == '0') {
		s++;
		n--;
	}
	if (zh_buf_append(&b, n ? s : "0", n ? n : 1))
		goto fail;
	s += n;
	if (*s == '.') {
		n = strspn(++s, "0123456789");
		if (n && (zh_buf_puts(&b, ".") || zh_buf_append(&b, s, n)))
			goto fail;
		s += n;
	}
	if (zh_buf_puts(&b, s))
		goto fail;
	if (is_float && !strpbrk(zh_buf_cstr(&b), ".eE") &&
	    zh_buf_puts(&b, ".0"))
		goto fail;
	return zh_buf_detach(&b);
fail:
	zh_buf_dispose(&b);
	return NULL;
}

/* "!!int" for the core schema's tags, else the tag as written. */
static const char *tag_name(char *buf, size_t n, const char *tag)
{
	if (strncmp(tag, CORE_TAG, strlen(CORE_TAG)) != 0)
		return tag;
	fmt(buf, n, "!!%s", tag + strlen(CORE_TAG));
	return buf;
}

static struct zh_value *string_value(struct ctx *x, const yaml_node_t *n)
{
	struct zh_value *v;
	char *str;

	if (expand(x, n, &str))
		return NULL;
	if (!(v = zh_value_new_string(str)))
		x->nomem = true;
	free(str);
	return v;
}

static struct zh_value *number_value(struct ctx *x, const char *s,
				     bool is_float)
{
	struct zh_value *v = NULL;
	char *t = json_number(s, is_float);

	if (!t || !(v = zh_value_new_number(t)))
		x->nomem = true;
	free(t);
	return v;
}

/* A free-form scalar as YAML 1.2's core schema reads it. An explicit tag
 * decides (!!str, !!int, !!float, !!bool, !!null; "!" is a string) and
 * the text must fit it, whatever the quotes. Untagged, a quoted scalar is
 * a string, and a plain one null, a boolean, an integer or a float when
 * it reads as one (a float and an integer past int64_t as JSON numbers
 * with their own digits), else a string. NULL when reported (or out of
 * memory). */
static struct zh_value *scalar_value(struct ctx *x, const yaml_node_t *n)
{
	const char *s = sval(n), *tag = (const char *)n->tag, *want = NULL;
	struct zh_value *v = NULL;
	bool b, is_int, is_float, dec;
	char name[64];
	int64_t i;
	int r;

	if (strlen(s) != n->data.scalar.length) {
		report(x, &n->start_mark, "string contains a NUL byte");
		return NULL;
	}
	if (tag && strcmp(tag, "!") == 0)
		tag = CORE_TAG "str";
	if ((!tag && !plain(n)) || (tag && strcmp(tag, CORE_TAG "str") == 0))
		return string_value(x, n);
	is_int = tag && strcmp(tag, CORE_TAG "int") == 0;
	is_float = tag && strcmp(tag, CORE_TAG "float") == 0;
	if ((!tag || strcmp(tag, CORE_TAG "null") == 0) && yaml_null(s)) {
		v = zh_value_new(ZH_VALUE_NULL);
		goto out;
	}
	if ((!tag || strcmp(tag, CORE_TAG "bool") == 0) && yaml_bool(&b, s)) {
		v = zh_value_new_bool(b);
		goto out;
	}
	if (!tag || is_int || is_float) {
		r = yaml_int(&i, s);
		dec = r && yaml_float(s); /* decimal digits */
		if (r > 0 && !is_float) {
			v = zh_value_new_int(i);
			goto out;
		}
		if (r < 0 && !dec) {
			report(x, &n->start_mark,
			       "integer '%s' is out of range (quote it for a "
			       "string)",
			       s);
			return NULL;
		}
		/* past int64_t, a decimal integer still has JSON digits */
		if (dec || (!is_int && yaml_float(s))) {
			if (n->data.scalar.length > MAX_STRING) {
				report(x, &n->start_mark,
				       "number longer than %d bytes",
				       MAX_STRING);
				return NULL;
			}
			/* JSON's readers (Zadig's Go) take doubles */
			if (isinf(strtod(s, NULL))) {
				report(x, &n->start_mark,
				       "number '%.40s%s' is out of range of "
				       "JSON's numbers (quote it for a "
				       "string)",
				       s, strlen(s) > 40 ? "..." : "");
				return NULL;
			}
			return number_value(x, s, is_float || !dec);
		}
		if (!is_int && yaml_inf_nan(s)) {
			report(x, &n->start_mark,
			       "invalid number '%s': JSON has no infinity or "
			       "NaN (quote it for a string)",
			       s);
			return NULL;
		}
	}
	if (!tag)
		return string_value(x, n);
	if (strcmp(tag, CORE_TAG "null") == 0)
		want = "null, ~ or nothing";
	else if (strcmp(tag, CORE_TAG "bool") == 0)
		want = "true or false";
	else if (is_int)
		want = "an integer (decimal, 0o octal or 0x hex)";
	else if (is_float)
		want = "a number";
	if (want)
		report(x, &n->start_mark, "invalid %s '%s': expected %s",
		       tag_name(name, sizeof(name), tag), s, want);
	else
		report(x, &n->start_mark,
		       "unsupported tag '%s': free-form values take !!str, "
		       "!!int, !!float, !!bool and !!null",
		       tag_name(name, sizeof(name), tag));
	return NULL;
out:
	if (!v)
		x->nomem = true;
	return v;
}

/* A list or map may carry its own tag, or "!", and no other. */
static bool collection_tag(struct ctx *x, const yaml_node_t *n)
{
	const char *tag = (const char *)n->tag;
	const char *own =
	    n->type == YAML_SEQUENCE_NODE ? CORE_TAG "seq" : CORE_TAG "map";
	char name[64];

	if (!tag || strcmp(tag, "!") == 0 || strcmp(tag, own) == 0)
		return true;
	report(x, &n->start_mark, "unsupported tag '%s' on %s",
	       tag_name(name, sizeof(name), tag), kind(n));
	return false;
}

/* A YAML node as a free-form value (scalars: scalar_value). NULL when
 * something was reported (or out of memory). */
static struct zh_value *to_value(struct ctx *x, const yaml_node_t *n, int depth)
{
	struct zh_value *v = NULL;
	bool bad = false;

	if (!spend(x, n) || x->too_deep)
		return NULL;
	if (depth > MAX_DEPTH) {
		/* once: an alias of a list holding itself would say it at
		 * every leaf of its copies */
		report(x, &n->start_mark, "nesting deeper than %d levels",
		       MAX_DEPTH);
		x->too_deep = true;
		return NULL;
	}
	if (n->type == YAML_SCALAR_NODE) {
		if (!(v = scalar_value(x, n)))
			return NULL;
	} else if (!collection_tag(x, n)) {
		return NULL;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it;

		v = zh_value_new(ZH_VALUE_LIST);
		for (it = n->data.sequence.items.start;
		     v && it < n->data.sequence.items.top; it++) {
			struct zh_value *c =
			    to_value(x, node_at(x, *it), depth + 1);

			if (!c)
				bad = true;
			else if (zh_value_append(v, NULL, c))
				x->nomem = true;
		}
	} else {
		yaml_node_pair_t *p;

		v = zh_value_new(ZH_VALUE_MAP);
		for (p = n->data.mapping.pairs.start;
		     v && p < n->data.mapping.pairs.top; p++) {
			const yaml_node_t *kn = node_at(x, p->key);
			struct zh_value *c;

			if (kn->type != YAML_SCALAR_NODE) {
				report(x, &kn->start_mark,
				       "expected a key, got %s", kind(kn));
				bad = true;
				continue;
			}
			if (zh_value_get(v, sval(kn))) {
				report(x, &kn->start_mark, "duplicate key '%s'",
				       sval(kn));
				bad = true;
				continue;
			}
			if (!(c = to_value(x, node_at(x, p->value), depth + 1)))
				bad = true;
			else if (zh_value_append(v, sval(kn), c))
				x->nomem = true;
		}
	}
	if (!v) {
		x->nomem = true;
		return NULL;
	}
	if (bad) {
		zh_value_free(v);
		return NULL;
	}
	v->line = (int)n->start_mark.line + 1;
	v->col = (int)n->start_mark.column + 1;
	return v;
}

/* ---- objects ---- */

static void apply_defaults(struct ctx *x, const char *scope, char *base)
{
	size_t i;

	for (i = 0; i < zh_config_nkeys; i++) {
		const struct zh_config_key *k = &zh_config_keys[i];
		char *s;

		if (!k->def || !in_scope(k, scope))
			continue;
		if (k->type == ZH_KT_ANY) {
			/* The only free-form default is the empty list. */
			struct zh_value *l = zh_value_new(ZH_VALUE_LIST);

			if (!l)
				x->nomem = true;
			*(struct zh_value **)field(base, k) = l;
			continue;
		}
		if (k->type == ZH_KT_FLAGS) {
			*(unsigned *)field(base, k) =
			    1u << choice(k->choices, k->def);
			continue;
		}
		if (!(s = strdup(k->def))) {
			x->nomem = true;
			continue;
		}
		set_scalar(x, base, k, s, k->def, NULL, k->path);
	}
}

static void free_scope(const char *scope, char *base)
{
	size_t i, j;

	for (i = 0; i < zh_config_nkeys; i++) {
		const struct zh_config_key *k = &zh_config_keys[i];

		if (!in_scope(k, scope))
			continue;
		switch (k->type) {
		case ZH_KT_STRING:
			free_secret(*(char **)field(base, k));
			break;
		case ZH_KT_ENUM:
			if (k->flags & ZH_KF_ENUM_STR)
				free(*(char **)field(base, k));
			break;
		case ZH_KT_STRLIST:
			strlist_dispose(field(base, k));
			break;
		case ZH_KT_ANY:
			zh_value_free(*(struct zh_value **)field(base, k));
			break;
		case ZH_KT_LIST: {
			char sub[PATH_MAX_LEN], *arr;
			size_t n;

			memcpy(&arr, field(base, k), sizeof(arr));
			n = *(size_t *)(base + k->count_off);
			fmt(sub, sizeof(sub), "%s[]", k->path);
			for (j = 0; j < n; j++)
				free_scope(sub, arr + j * k->elem_size);
			free(arr);
			break;
		}
		default:
			break;
		}
	}
}

/* Messages quote a rule's name as written: expanded, it may hold the
 * value of any environment variable. */
static const char *rule_label(const struct frame *f, char *buf, size_t n)
{
	const struct zh_rule *r = (const struct zh_rule *)f->base;
	const yaml_node_t *v = f->val[key_index("rules[].name")];

	if (r->name && v)
		fmt(buf, n, "rule '%s'", sval(v));
	else
		fmt(buf, n, "%s", f->disp);
	return buf;
}

static void check_rule(struct ctx *x, struct frame *f, const yaml_node_t *n)
{
	struct zh_rule *r = (struct zh_rule *)f->base;
	size_t iw = key_index("rules[].workflow");
	size_t ic = key_index("rules[].custom_workflow");
	size_t in = key_index("rules[].name");
	unsigned events = r->events ? r->events : ZH_EVENT_PUSH;
	char label[PATH_MAX_LEN + 16];
	size_t i;

	r->line = (int)n->start_mark.line + 1;
	r->col = (int)n->start_mark.column + 1;
	r->custom = f->val[ic] != NULL;
	rule_label(f, label, sizeof(label));
	/* the mapping reads tags for tag events only, and branches for
	 * pushes and merge requests (their target branch) only */
	if (r->tags.len && !(events & ZH_EVENT_TAG))
		warn(x, &f->key[key_index("rules[].tags")]->start_mark,
		     "%s: tags has no effect: events does not include tag",
		     label);
	if (r->branches.len &&
	    !(events & (ZH_EVENT_PUSH | ZH_EVENT_MERGE_REQUEST)))
		warn(x, &f->key[key_index("rules[].branches")]->start_mark,
		     "%s: branches has no effect: events does not include "
		     "push or merge_request",
		     label);
	if (r->forks && !(events & ZH_EVENT_MERGE_REQUEST))
		warn(x, &f->key[key_index("rules[].forks")]->start_mark,
		     "%s: forks has no effect: events does not include "
		     "merge_request",
		     label);
	/* a new tag's paths are its diff from the merge base with HEAD's
	 * branch: none for a tag on a commit of it, the usual release tag */
	if (events == ZH_EVENT_TAG && r->paths.len)
		warn(x, &f->key[key_index("rules[].paths")]->start_mark,
		     "%s: a tag on a commit of HEAD's branch changes no path, "
		     "so paths lets it fire only for tags on other commits",
		     label);
	if (events == ZH_EVENT_TAG && r->ignore_paths.len)
		warn(x, &f->key[key_index("rules[].ignore_paths")]->start_mark,
		     "%s: a tag on a commit of HEAD's branch changes no path, "
		     "so ignore_paths lets it fire for every such tag",
		     label);
	if (f->val[iw] && f->val[ic])
		report(x, &f->key[ic]->start_mark,
		       "%s has both 'workflow' and 'custom_workflow'; use one",
		       label);
	else if (!f->val[iw] && !f->val[ic])
		report(x, &n->start_mark,
		       "%s needs 'workflow' or 'custom_workflow'", label);

	if (!r->name)
		return;
	if (!*r->name) {
		report(x, &f->val[in]->start_mark,
		       "rule name must not be empty");
		return;
	}
	for (i = 0; r->name[i]; i++) {
		if (isspace((unsigned char)r->name[i]) ||
		    iscntrl((unsigned char)r->name[i])) {
			/* Names go into note lines of single-space fields. */
			report(x, &f->val[in]->start_mark,
			       "rule name '%s' must not contain whitespace",
			       sval(f->val[in]));
			return;
		}
	}
	for (i = 0; i < x->nnames; i++) {
		if (strcmp(x->names[i].name, r->name) == 0) {
			report(x, &f->val[in]->start_mark,
			       "duplicate rule name '%s' (first at line %d)",
			       sval(f->val[in]), x->names[i].line);
			return;
		}
	}
	if (x->nnames % 16 == 0) {
		struct rule_name *v =
		    realloc(x->names, (x->nnames + 16) * sizeof(*v));

		if (!v) {
			x->nomem = true;
			return;
		}
		x->names = v;
	}
	x->names[x->nnames].name = r->name;
	x->names[x->nnames].raw = sval(f->val[in]);
	x->names[x->nnames].line = (int)f->val[in]->start_mark.line + 1;
	x->nnames++;
}

/* The seed calls BuildArgs.repos "must" (Zadig builds a target from its
 * repositories), but the real server differs from that document in
 * places, and earlier versions sent such a target ("build":{"repos":[]}):
 * a warning, and it is sent as ever (what Zadig says of it is the
 * trigger's rejected line). An image deployed without a build is a
 * release image. */
static void check_target(struct ctx *x, struct frame *f, const yaml_node_t *n)
{
	const struct zh_rule_target *t = (const struct zh_rule_target *)f->base;
	const yaml_node_t *r =
	    f->val[key_index("rules[].workflow.targets[].repos")];

	if (t->repos.len)
		return;
	warn(x, r ? &r->start_mark : &n->start_mark,
	     "%s has no 'repos': sent with an empty build.repos, which "
	     "Zadig's API documents as required (release_images deploys an "
	     "image without a build)",
	     f->disp);
}

static void check_webhook_repo(struct ctx *x, struct frame *f,
			       const yaml_node_t *n)
{
	size_t ip = key_index("webhook.repos[].path");
	size_t iu = key_index("webhook.repos[].url");

	if (f->val[ip] && f->val[iu])
		report(x, &f->key[iu]->start_mark,
		       "%s has both 'path' and 'url'; use one", f->disp);
	else if (!f->val[ip] && !f->val[iu])
		report(x, &n->start_mark, "%s needs 'path' or 'url'", f->disp);
}

static void parse_list(struct ctx *x, struct frame *f,
		       const struct zh_config_key *k, const yaml_node_t *n,
		       const char *disp)
{
	size_t count, i;
	char scope[PATH_MAX_LEN], *arr;

	if (n->type != YAML_SEQUENCE_NODE) {
		report(x, &n->start_mark, "expected a list, got %s", kind(n));
		return;
	}
	count =
	    (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!(arr = calloc(count ? count : 1, k->elem_size))) {
		x->nomem = true;
		return;
	}
	/* Stored first, so that freeing the config frees it on any error. */
	memcpy(field(f->base, k), &arr, sizeof(arr));
	*(size_t *)(f->base + k->count_off) = count;
	fmt(scope, sizeof(scope), "%s[]", k->path);
	for (i = 0; i < count; i++) {
		const yaml_node_t *it =
		    node_at(x, n->data.sequence.items.start[i]);
		struct frame *c = calloc(1, sizeof(*c));

		if (!c) {
			x->nomem = true;
			return;
		}
		c->scope = scope;
		c->base = arr + i * k->elem_size;
		fmt(c->disp, sizeof(c->disp), "%s[%zu]", disp, i);
		apply_defaults(x, scope, c->base);
		if (!spend(x, it)) {
			free(c);
			return;
		}
		if (it->type != YAML_MAPPING_NODE) {
			report(x, &it->start_mark, "expected a mapping, got %s",
			       kind(it));
		} else {
			parse_map(x, c, scope, c->disp, it);
			if (strcmp(scope, "rules[]") == 0)
				check_rule(x, c, it);
			else if (strcmp(scope, "rules[].workflow.targets[]") ==
				 0)
				check_target(x, c, it);
			else if (strcmp(scope, "webhook.repos[]") == 0)
				check_webhook_repo(x, c, it);
		}
		free(c);
	}
}

static void set_value(struct ctx *x, struct frame *f,
		      const struct zh_config_key *k, const yaml_node_t *n,
		      const char *path, const char *disp)
{
	static const char *const expected[] = {
	    [ZH_KT_STRING] = "a string",     [ZH_KT_BOOL] = "a boolean",
	    [ZH_KT_DURATION] = "a duration", [ZH_KT_SIZE] = "a size",
	    [ZH_KT_INT] = "an integer",	     [ZH_KT_ENUM] = "a string",
	};
	char *s;

	switch (k->type) {
	case ZH_KT_MAP:
		if (n->type != YAML_MAPPING_NODE)
			report(x, &n->start_mark, "expected a mapping, got %s",
			       kind(n));
		else
			parse_map(x, f, path, disp, n);
		return;
	case ZH_KT_LIST:
		parse_list(x, f, k, n, disp);
		return;
	case ZH_KT_STRLIST:
	case ZH_KT_FLAGS:
		set_strlist(x, f->base, k, n, disp);
		return;
	case ZH_KT_ANY: {
		struct zh_value *v;

		if (n->type != YAML_SEQUENCE_NODE) {
			report(x, &n->start_mark, "expected a list, got %s",
			       kind(n));
			return;
		}
		if (!(v = to_value(x, n, 0)))
			return;
		zh_value_free(*(struct zh_value **)field(f->base, k));
		*(struct zh_value **)field(f->base, k) = v;
		return;
	}
	default:
		break;
	}
	if (n->type != YAML_SCALAR_NODE) {
		report(x, &n->start_mark, "expected %s, got %s",
		       expected[k->type], kind(n));
		return;
	}
	if (expand(x, n, &s))
		return;
	set_scalar(x, f->base, k, s, sval(n), &n->start_mark, disp);
}

static void parse_map(struct ctx *x, struct frame *f, const char *path,
		      const char *disp, const yaml_node_t *map)
{
	yaml_node_pair_t *p;
	size_t i;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = node_at(x, p->key);
		const yaml_node_t *vn = node_at(x, p->value);
		const struct zh_config_key *k = NULL;
		char cpath[PATH_MAX_LEN], cdisp[PATH_MAX_LEN];
		int w;

		if (!spend(x, kn))
			return;
		if (kn->type != YAML_SCALAR_NODE) {
			report(x, &kn->start_mark, "expected a key, got %s",
			       kind(kn));
			continue;
		}
		w = snprintf(cpath, sizeof(cpath), "%s%s%s", path,
			     *path ? "." : "", sval(kn));
		/* A key is one name: "rules[].paths" written at the top
		 * would find that key and store it at an offset meant for
		 * another struct. */
		if (w > 0 && (size_t)w < sizeof(cpath) &&
		    !strpbrk(sval(kn), ".[]"))
			k = find_key(cpath);
		if (!k) {
			unknown_key(x, path, disp, sval(kn), kn);
			continue;
		}
		i = (size_t)(k - zh_config_keys);
		if (f->key[i]) {
			report(x, &kn->start_mark,
			       "duplicate key '%s' (first at line %d)",
			       sval(kn), (int)f->key[i]->start_mark.line + 1);
			continue;
		}
		f->key[i] = kn;
		if (is_null(vn))
			continue;
		f->val[i] = vn;
		fmt(cdisp, sizeof(cdisp), "%s%s%s", disp, *disp ? "." : "",
		    sval(kn));
		set_value(x, f, k, vn, cpath, cdisp);
	}
	for (i = 0; i < zh_config_nkeys; i++) {
		const struct zh_config_key *k = &zh_config_keys[i];

		if ((k->flags & ZH_KF_REQUIRED) && !f->val[i] &&
		    is_child(k, path))
			report(x, &map->start_mark, "%s%s%s is required", disp,
			       *disp ? "." : "", last_name(k->path));
	}
}

/* Path p as named in a file of directory dir (NULL: the working
 * directory): an absolute p as it is. The one rule for every path a
 * configuration names. malloc'd; NULL when out of memory. */
static char *in_dir(const char *dir, const char *p)
{
	const char *home = getenv("HOME");
	size_t n;
	char *s;

	/* "~/" is $HOME, as in git's path values */
	if (p[0] == '~' && p[1] == '/' && home && home[0] == '/') {
		dir = home;
		p += 2;
	}
	if (p[0] == '/' || !dir || !*dir)
		return strdup(p);
	n = strlen(dir) + strlen(p) + 2;
	if ((s = malloc(n)))
		snprintf(s, n, "%s/%s", dir, p);
	return s;
}

/* Read the token from the file at path (named raw at m) into *out.
 * Never quotes it. A problem goes to x->tok. Messages quote the name as
 * written (raw): expanded, it may be a secret, as with
 * "token_file: ${ZADIG_TOKEN}" for "token:". */
static void read_token(struct ctx *x, char **out, const char *path,
		       const char *raw, const yaml_mark_t *m, int64_t *mtime_ns)
{
	char buf[MAX_TOKEN_FILE + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0, i;
	int fd;

	/* O_NONBLOCK: opening a FIFO would wait for a writer (past the
	 * hook's deadline); only a regular file is read, on which the flag
	 * changes nothing. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		report_to(x, &x->tok, m, "cannot read token file '%s': %s", raw,
			  strerror(errno));
		return;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		report_to(x, &x->tok, m,
			  "token file '%s' is not a regular file", raw);
		goto out;
	}
	if (mtime_ns)
		*mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
			    st.st_mtim.tv_nsec;
	/* a group may need it (the pushing users, the receiver's): 0640 */
	if (st.st_mode & S_IROTH)
		warn(x, m,
		     "token file '%s' is readable by every user (chmod "
		     "o-r)",
		     raw);
	while (len < sizeof(buf) &&
	       (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			report_to(x, &x->tok, m,
				  "cannot read token file '%s': %s", raw,
				  strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > MAX_TOKEN_FILE) {
		report_to(x, &x->tok, m, "token file '%s' is too big", raw);
		goto out;
	}
	while (len && isspace((unsigned char)buf[len - 1]))
		len--;
	buf[len] = '\0';
	if (!len) {
		report_to(x, &x->tok, m, "token file '%s' is empty", raw);
		goto out;
	}
	for (i = 0; i < len; i++) {
		/* It goes into an HTTP header as it is. */
		if (iscntrl((unsigned char)buf[i])) {
			report_to(x, &x->tok, m,
				  "token file '%s' must hold the token on "
				  "one line",
				  raw);
			goto out;
		}
	}
	free_secret(*out);
	if (!(*out = strdup(buf)))
		x->nomem = true;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
}

/* token_file at m, written raw: read it, and keep where it was named:
 * for zh_config_token when that failed, and for the receiver, which
 * reloads once the file changes (token_file_changed). */
static void load_token(struct ctx *x, const char *file, const char *raw,
		       const yaml_mark_t *m)
{
	struct zh_config *c = x->cfg;
	char *path = in_dir(x->base_dir, file);

	if (!path) {
		x->nomem = true;
		return;
	}
	read_token(x, &c->zadig.token, path, raw, m, &c->token_src.mtime_ns);
	c->token_src.path = path;
	c->token_src.line = (int)m->line + 1;
	c->token_src.col = (int)m->column + 1;
	if (!(c->token_src.name = strdup(x->name)) ||
	    !(c->token_src.raw = strdup(raw)))
		x->nomem = true;
}

/* ca_file at m, written raw: whether libcurl will be able to load it.
 * Opened and looked at only (O_NONBLOCK: a FIFO is not waited for). A
 * problem goes to x->ca. */
static void check_ca(struct ctx *x, const char *file, const char *raw,
		     const yaml_mark_t *m)
{
	char *path = in_dir(x->base_dir, file);
	struct stat st;
	int fd;

	if (!path) {
		x->nomem = true;
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	free(path);
	if (fd < 0)
		report_to(x, &x->ca, m, "cannot read zadig.ca_file '%s': %s",
			  raw, strerror(errno));
	else if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		report_to(x, &x->ca, m,
			  "zadig.ca_file '%s' is not a regular file", raw);
	else if (st.st_size == 0)
		report_to(x, &x->ca, m, "zadig.ca_file '%s' is empty", raw);
	if (fd >= 0)
		close(fd);
}

/* Where v came from, for a message (its rule's place when unknown). */
static yaml_mark_t value_mark(const struct zh_value *v, const struct zh_rule *r)
{
	yaml_mark_t m = {0, 0, 0};

	m.line = (size_t)((v->line ? v->line : r->line) - 1);
	m.column = (size_t)((v->line ? v->col : r->col) - 1);
	return m;
}

/* Each release image names what the seed calls "must" of it: image,
 * service_name and service_module, strings (they may hold the
 * trigger-time variables). A warning, as for a target without repos
 * (check_target): release_images is sent as written. */
static void check_images(struct ctx *x, const struct zh_rule *r,
			 const char *raw)
{
	static const char *const keys[] = {"image", "service_name",
					   "service_module"};
	const struct zh_value *l = r->workflow.release_images, *v;
	yaml_mark_t m;
	size_t i, k;

	/* (one that is not a list is an error of the configuration) */
	if (!l || l->type != ZH_VALUE_LIST)
		return;
	for (i = 0; i < l->len; i++) {
		m = value_mark(l->items[i], r);
		if (l->items[i]->type != ZH_VALUE_MAP) {
			warn(x, &m,
			     "rule '%s': release_images[%zu] is not a mapping "
			     "of image, service_name and service_module, as "
			     "Zadig's API documents it; sent as written",
			     raw, i);
			continue;
		}
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			v = zh_value_get(l->items[i], keys[k]);
			if (v && v->type == ZH_VALUE_STRING && *v->u.s)
				continue;
			warn(x, &m,
			     "rule '%s': release_images[%zu] has no '%s' (a "
			     "non-empty string), which Zadig's API documents "
			     "as required; sent as written",
			     raw, i, keys[k]);
			break;
		}
	}
}

/* A webhook section is the receiver's: without GitLab's secret (or with
 * an empty one, or an empty zadig_token) it refuses to start (it would
 * let an empty header in); config check says so too (check_errors). */
static void check_receiver(struct ctx *x, struct frame *f)
{
	const yaml_node_t *w = f->val[key_index("webhook")];
	const yaml_node_t *s = f->val[key_index("webhook.secret")];
	const yaml_node_t *zt = f->val[key_index("webhook.zadig_token")];
	const struct zh_config *c = x->cfg;

	if (!w)
		return;
	if (!c->webhook.secret || !*c->webhook.secret)
		report_to(x, &x->chk, s ? &s->start_mark : &w->start_mark,
			  "webhook.secret is required (GitLab's secret token) "
			  "and may not be empty");
	if (zt && c->webhook.zadig_token && !*c->webhook.zadig_token)
		report_to(x, &x->chk, &zt->start_mark,
			  "webhook.zadig_token is empty (leave it out to turn "
			  "/webhook/zadig off)");
}

static void check_top(struct ctx *x, struct frame *f, const yaml_node_t *root)
{
	struct zh_config *c = x->cfg;
	size_t iz = key_index("zadig"), it = key_index("zadig.token");
	size_t itf = key_index("zadig.token_file");
	const yaml_node_t *ca = f->val[key_index("zadig.ca_file")];
	size_t i;

	if (!f->val[iz]) {
		/* The file says nothing of Zadig: point at its start. */
		const yaml_mark_t *m =
		    f->key[iz] ? &f->key[iz]->start_mark : NULL;

		report(x, m, "zadig.url is required");
		report(x, m, "zadig.token or zadig.token_file is required");
	} else if (f->val[it] && f->val[itf]) {
		report(
		    x, &f->key[itf]->start_mark,
		    "zadig.token and zadig.token_file are both set; use one");
	} else if (!f->val[it] && !f->val[itf]) {
		report(x, &f->val[iz]->start_mark,
		       "zadig.token or zadig.token_file is required");
	} else if (f->val[it] && c->zadig.token) {
		for (i = 0; c->zadig.token[i]; i++)
			if (iscntrl((unsigned char)c->zadig.token[i]))
				break;
		if (!*c->zadig.token)
			report(x, &f->val[it]->start_mark,
			       "zadig.token is empty");
		else if (c->zadig.token[i])
			report(x, &f->val[it]->start_mark,
			       "zadig.token contains a control character");
	} else if (f->val[itf] && c->zadig.token_file) {
		load_token(x, c->zadig.token_file, sval(f->val[itf]),
			   &f->val[itf]->start_mark);
	}
	if (ca && c->zadig.ca_file && *c->zadig.ca_file)
		check_ca(x, c->zadig.ca_file, sval(ca), &ca->start_mark);
	if (c->poll.max_interval_ms < c->poll.interval_ms) {
		const yaml_node_t *at = f->val[key_index("poll.max_interval")];

		if (!at)
			at = f->val[key_index("poll.interval")];
		report(x, at ? &at->start_mark : &root->start_mark,
		       "poll.max_interval must not be less than poll.interval");
	}
	if (c->zadig.insecure_skip_tls_verify) {
		const yaml_node_t *at =
		    f->val[key_index("zadig.insecure_skip_tls_verify")];

		/* the README promises it: nobody should run like this unawares */
		warn(x, at ? &at->start_mark : &root->start_mark,
		     "zadig.insecure_skip_tls_verify is true: the TLS "
		     "certificate of zadig is not verified");
	}
	for (i = 0; i < c->nrules; i++) {
		const struct zh_rule *r = &c->rules[i];
		yaml_mark_t m = {0, 0, 0};
		const char *raw = "";
		size_t j;

		if (r->custom || !r->workflow.callback ||
		    (c->webhook.public_url && c->webhook.secret))
			continue;
		for (j = 0; j < x->nnames; j++)
			if (x->names[j].name == r->name)
				raw = x->names[j].raw;
		m.line = (size_t)(r->line - 1);
		m.column = (size_t)(r->col - 1);
		warn(x, &m,
		     "rule '%s' asks for a callback but webhook.public_url "
		     "or webhook.secret is not set; no callback is sent",
		     raw);
	}
	check_receiver(x, f);
	/* Zadig's create needs targets or images: every push the rule
	 * fires for says so and nothing is triggered (check_errors) */
	for (i = 0; i < c->nrules; i++) {
		const struct zh_rule *r = &c->rules[i];
		yaml_mark_t m = {0, 0, 0};
		size_t j;

		if (r->custom)
			continue;
		for (j = 0; j < x->nnames; j++)
			if (x->names[j].name == r->name)
				check_images(x, r, x->names[j].raw);
		if (r->workflow.ntargets || (r->workflow.release_images &&
					     r->workflow.release_images->len))
			continue;
		m.line = (size_t)(r->line - 1);
		m.column = (size_t)(r->col - 1);
		for (j = 0; j < x->nnames; j++)
			if (x->names[j].name == r->name)
				report_to(x, &x->chk, &m,
					  "rule '%s': workflow needs 'targets' "
					  "or 'release_images'",
					  x->names[j].raw);
	}
}

/* Replace every occurrence of secret in the messages: a value quoted in
 * a message (say a token pasted under the wrong key) must not leak it. */
static void redact(struct ctx *x, struct msgs *m, const char *secret)
{
	size_t i, n = strlen(secret);

	/* Short values are too likely to be ordinary words of a message. */
	if (n < 6)
		return;
	for (i = 0; i < m->len; i++) {
		const char *t = m->v[i].text, *p;
		struct zh_buf b;
		char *r;

		if (!strstr(t, secret))
			continue;
		zh_buf_init(&b, MAX_STRING);
		for (; (p = strstr(t, secret)); t = p + n)
			if (zh_buf_append(&b, t, (size_t)(p - t)) ||
			    zh_buf_puts(&b, "<redacted>"))
				break;
		if (p || zh_buf_puts(&b, t) || !(r = zh_buf_detach(&b))) {
			/* Better no message than a leaking one. */
			zh_buf_dispose(&b);
			x->nomem = true;
			m->v[i].text[0] = '\0';
			continue;
		}
		free(m->v[i].text);
		m->v[i].text = r;
	}
}

static void redact_scope(struct ctx *x, const char *scope, char *base)
{
	size_t i, j;

	for (i = 0; i < zh_config_nkeys; i++) {
		const struct zh_config_key *k = &zh_config_keys[i];
		char sub[PATH_MAX_LEN], *arr, *s;

		if (!in_scope(k, scope))
			continue;
		if (k->type == ZH_KT_STRING && (k->flags & ZH_KF_SECRET) &&
		    (s = *(char **)field(base, k))) {
			redact(x, &x->errs, s);
			redact(x, &x->warns, s);
			redact(x, &x->tok, s);
			redact(x, &x->ca, s);
		}
		if (k->type != ZH_KT_LIST)
			continue;
		memcpy(&arr, field(base, k), sizeof(arr));
		fmt(sub, sizeof(sub), "%s[]", k->path);
		for (j = 0; arr && j < *(size_t *)(base + k->count_off); j++)
			redact_scope(x, sub, arr + j * k->elem_size);
	}
}

/* Whether a flow collection ({ } or [ ]) that failed holds a ${NAME}
 * before the failure: its braces are flow indicators, so the variable
 * ended the collection, a mistake that deserves a hint. */
static bool braces_in_flow(const yaml_parser_t *p, const char *text, size_t len)
{
	size_t from = p->context_mark.index, to = p->problem_mark.index, i;

	if (p->error != YAML_PARSER_ERROR || !strstr(p->context, "flow") ||
	    to > len)
		return false;
	for (i = from; i <= to && i + 1 < len; i++)
		if (text[i] == '$' && text[i + 1] == '{')
			return true;
	return false;
}

/* libyaml's own error: where, what, and in which construct. */
static void syntax_error(struct ctx *x, yaml_parser_t *p, const char *text,
			 size_t len)
{
	yaml_mark_t m = p->problem_mark;
	const char *what = p->problem ? p->problem : "syntax error";

	if (p->error == YAML_READER_ERROR) {
		size_t i;

		m.line = m.column = 0;
		for (i = 0; i < p->problem_offset && i < len; i++) {
			if (text[i] == '\n') {
				m.line++;
				m.column = 0;
			} else {
				m.column++;
			}
		}
	}
	if (p->context)
		report(x, &m, "yaml: %s (%s at line %d column %d)%s", what,
		       p->context, (int)p->context_mark.line + 1,
		       (int)p->context_mark.column + 1,
		       braces_in_flow(p, text, len)
			   ? "; quote a ${NAME} inside { } or [ ]: \"${NAME}\""
			   : "");
	else
		report(x, &m, "yaml: %s", what);
}

/* ---- loading ---- */

/* One YAML document as yaml_parser_load builds it, but read from the
 * parser's events by load(), which stops at the first list or map nested
 * deeper than MAX_DEPTH: libyaml's scanner does work in the depth of flow
 * nesting on every token, so 200,000 '[' took minutes before anything
 * looked at the depth. A node's tag is the one written, or NULL. An
 * alias is a node of its own, a copy of the anchored node's struct at the
 * alias's place, sharing (not owning) its contents: messages about the
 * value there point at the alias, not at the anchor. Only doc.nodes is
 * set; free with ydoc_dispose. */
struct ydoc {
	yaml_document_t doc;
	bool *shared; /* by node index - 1: an alias's copy */
	size_t cap;
};

struct anchor {
	char *name;
	int node;
	yaml_mark_t mark;
};

struct loader {
	struct ctx *x;
	struct ydoc *d;
	yaml_document_t *doc;
	struct anchor *anchors;
	size_t nanchors, capanchors;
	/* the lists and maps being read, and a map's key waiting for its
	 * value (0: none) */
	struct {
		int node, key;
	} open[MAX_DEPTH];
	size_t depth;
};

static void ydoc_dispose(struct ydoc *d)
{
	yaml_node_t *n;

	for (n = d->doc.nodes.start; n && n < d->doc.nodes.top; n++) {
		if (d->shared[n - d->doc.nodes.start])
			continue;
		free(n->tag);
		if (n->type == YAML_SCALAR_NODE)
			free(n->data.scalar.value);
		else if (n->type == YAML_SEQUENCE_NODE)
			free(n->data.sequence.items.start);
		else if (n->type == YAML_MAPPING_NODE)
			free(n->data.mapping.pairs.start);
	}
	free(d->doc.nodes.start);
	free(d->shared);
	memset(d, 0, sizeof(*d));
}

/* Grow the array at *start (n used of *cap elements of size) for one
 * more; false when out of memory. */
static bool grow(void **start, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *v;

	if (n < *cap)
		return true;
	if (!(v = realloc(*start, ncap * size)))
		return false;
	*start = v;
	*cap = ncap;
	return true;
}

/* Append n (taking what it owns unless shared, also on failure); its
 * index, or 0 when out of memory. Indexes, not pointers, last while nodes
 * are added. */
static int add_node(struct loader *l, yaml_node_t *n, bool shared)
{
	yaml_document_t *doc = l->doc;
	size_t len = (size_t)(doc->nodes.top - doc->nodes.start);
	size_t cap = l->d->cap, scap = l->d->cap;
	void *start = doc->nodes.start, *sh = l->d->shared;

	if (!grow(&sh, &scap, len, sizeof(bool)))
		goto nomem;
	l->d->shared = sh;
	if (!grow(&start, &cap, len, sizeof(*n)))
		goto nomem;
	l->d->cap = cap;
	doc->nodes.start = start;
	doc->nodes.top = doc->nodes.start + len;
	doc->nodes.end = doc->nodes.start + cap;
	*doc->nodes.top++ = *n;
	l->d->shared[len] = shared;
	return (int)len + 1;
nomem:
	if (!shared) {
		free(n->tag);
		if (n->type == YAML_SCALAR_NODE)
			free(n->data.scalar.value);
	}
	l->x->nomem = true;
	return 0;
}

/* Make node id the next item of the open list, or the next key or value
 * of the open map; the first node is the root. */
static bool add_child(struct loader *l, int id)
{
	yaml_node_t *p;
	size_t n, cap;
	void *start;

	if (!l->depth)
		return true;
	p = &l->doc->nodes.start[l->open[l->depth - 1].node - 1];
	if (p->type == YAML_SEQUENCE_NODE) {
		start = p->data.sequence.items.start;
		n = (size_t)(p->data.sequence.items.top -
			     (yaml_node_item_t *)start);
		cap = (size_t)(p->data.sequence.items.end -
			       (yaml_node_item_t *)start);
		if (!grow(&start, &cap, n, sizeof(yaml_node_item_t)))
			goto nomem;
		p->data.sequence.items.start = start;
		p->data.sequence.items.end = p->data.sequence.items.start + cap;
		p->data.sequence.items.top = p->data.sequence.items.start + n;
		*p->data.sequence.items.top++ = id;
		return true;
	}
	if (!l->open[l->depth - 1].key) {
		l->open[l->depth - 1].key = id;
		return true;
	}
	start = p->data.mapping.pairs.start;
	n = (size_t)(p->data.mapping.pairs.top - (yaml_node_pair_t *)start);
	cap = (size_t)(p->data.mapping.pairs.end - (yaml_node_pair_t *)start);
	if (!grow(&start, &cap, n, sizeof(yaml_node_pair_t)))
		goto nomem;
	p->data.mapping.pairs.start = start;
	p->data.mapping.pairs.end = p->data.mapping.pairs.start + cap;
	p->data.mapping.pairs.top = p->data.mapping.pairs.start + n;
	p->data.mapping.pairs.top->key = l->open[l->depth - 1].key;
	p->data.mapping.pairs.top->value = id;
	p->data.mapping.pairs.top++;
	l->open[l->depth - 1].key = 0;
	return true;
nomem:
	l->x->nomem = true;
	return false;
}

static bool is_open(const struct loader *l, int id)
{
	size_t i;

	for (i = 0; i < l->depth; i++)
		if (l->open[i].node == id)
			return true;
	return false;
}

/* Remember anchor (from event e, may be NULL) for node id. libyaml's
 * loader refuses an anchor defined twice; so does this one. */
static bool add_anchor(struct loader *l, const yaml_char_t *anchor, int id,
		       const yaml_mark_t *m)
{
	void *v = l->anchors;
	struct anchor *a;
	size_t i;

	if (!anchor)
		return true;
	for (i = 0; i < l->nanchors; i++) {
		if (strcmp(l->anchors[i].name, (const char *)anchor) == 0) {
			report(l->x, m,
			       "duplicate anchor '&%s' (first at "
			       "line %d)",
			       (const char *)anchor,
			       (int)l->anchors[i].mark.line + 1);
			return false;
		}
	}
	if (!grow(&v, &l->capanchors, l->nanchors, sizeof(*a))) {
		l->x->nomem = true;
		return false;
	}
	l->anchors = v;
	a = &l->anchors[l->nanchors];
	if (!(a->name = strdup((const char *)anchor))) {
		l->x->nomem = true;
		return false;
	}
	l->nanchors++;
	a->node = id;
	a->mark = *m;
	return true;
}

/* The node of one event: 1 added, 0 the document ended, -1 stop
 * (reported, or out of memory). */
static int load_event(struct loader *l, const yaml_event_t *e)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;
	yaml_node_t n;
	size_t i;
	int id;

	memset(&n, 0, sizeof(n));
	n.start_mark = e->start_mark;
	n.end_mark = e->end_mark;
	switch (e->type) {
	case YAML_ALIAS_EVENT:
		for (i = l->nanchors; i--;)
			if (strcmp(l->anchors[i].name,
				   (const char *)e->data.alias.anchor) == 0)
				break;
		if (i == (size_t)-1) {
			report(l->x, &e->start_mark,
			       "yaml: found undefined alias '*%s'",
			       (const char *)e->data.alias.anchor);
			return -1;
		}
		id = l->anchors[i].node;
		/* A list or map still being read (a cyclic alias) cannot be
		 * copied: the alias is the node itself. */
		if (!is_open(l, id)) {
			n = l->doc->nodes.start[id - 1];
			n.start_mark = e->start_mark;
			n.end_mark = e->end_mark;
			if (!(id = add_node(l, &n, true)))
				return -1;
		}
		return add_child(l, id) ? 1 : -1;
	case YAML_SCALAR_EVENT:
		n.type = YAML_SCALAR_NODE;
		anchor = e->data.scalar.anchor;
		tag = e->data.scalar.tag;
		n.data.scalar.length = e->data.scalar.length;
		n.data.scalar.style = e->data.scalar.style;
		if (!(n.data.scalar.value = malloc(n.data.scalar.length + 1)))
			goto nomem;
		memcpy(n.data.scalar.value, e->data.scalar.value,
		       n.data.scalar.length + 1);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (l->depth == MAX_DEPTH) {
			report(l->x, &e->start_mark,
			       "nesting deeper than %d levels", MAX_DEPTH);
			return -1;
		}
		if (e->type == YAML_SEQUENCE_START_EVENT) {
			n.type = YAML_SEQUENCE_NODE;
			anchor = e->data.sequence_start.anchor;
			tag = e->data.sequence_start.tag;
			n.data.sequence.style = e->data.sequence_start.style;
		} else {
			n.type = YAML_MAPPING_NODE;
			anchor = e->data.mapping_start.anchor;
			tag = e->data.mapping_start.tag;
			n.data.mapping.style = e->data.mapping_start.style;
		}
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		l->depth--;
		return 1;
	case YAML_DOCUMENT_END_EVENT:
		return 0;
	default: /* stream and document start */
		return 1;
	}
	if (tag && !(n.tag = (yaml_char_t *)strdup((const char *)tag))) {
		free(n.data.scalar.value);
		goto nomem;
	}
	if (!(id = add_node(l, &n, false)) || !add_child(l, id) ||
	    !add_anchor(l, anchor, id, &e->start_mark))
		return -1;
	if (n.type != YAML_SCALAR_NODE) {
		l->open[l->depth].node = id;
		l->open[l->depth].key = 0;
		l->depth++;
	}
	return 1;
nomem:
	l->x->nomem = true;
	return -1;
}

/* Load the first document of text into d. Returns 0 when it is complete
 * (a second document, or a syntax error after the first, is reported
 * but the first is still there to check), -1 when it is not: reported,
 * or out of memory. */
static int load(struct ctx *x, struct ydoc *d, const char *text, size_t len)
{
	struct loader l;
	yaml_parser_t parser;
	yaml_event_t e;
	int rc = -1, r = 1;
	bool empty = false;
	size_t i;

	memset(d, 0, sizeof(*d));
	memset(&l, 0, sizeof(l));
	l.x = x;
	l.d = d;
	l.doc = &d->doc;
	if (!yaml_parser_initialize(&parser)) {
		x->nomem = true;
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (r > 0) {
		if (!yaml_parser_parse(&parser, &e)) {
			syntax_error(x, &parser, text, len);
			goto out;
		}
		if (e.type == YAML_STREAM_END_EVENT)
			empty = true;
		r = empty ? 0 : load_event(&l, &e);
		yaml_event_delete(&e);
	}
	if (r < 0)
		goto out;
	rc = 0;
	/* What follows the first document: the end, or another one. */
	if (empty)
		goto out;
	if (!yaml_parser_parse(&parser, &e)) {
		syntax_error(x, &parser, text, len);
		goto out;
	}
	if (e.type == YAML_DOCUMENT_START_EVENT) {
		yaml_event_delete(&e);
		if (!yaml_parser_parse(&parser, &e)) {
			syntax_error(x, &parser, text, len);
			goto out;
		}
		report(x, &e.start_mark, "only one yaml document is allowed");
	}
	yaml_event_delete(&e);
out:
	for (i = 0; i < l.nanchors; i++)
		free(l.anchors[i].name);
	free(l.anchors);
	yaml_parser_delete(&parser);
	return rc;
}

/* A problem of a file the configuration names that only sending to
 * Zadig meets (from: one message at most): into *to when the file loads,
 * among the errors when it does not anyway (every error is listed). */
static void take_deferred(struct ctx *x, struct msgs *from, char **to)
{
	struct msg *m;

	if (!from->len)
		return;
	if (x->errs.len || !to) {
		while (from->len) {
			if (x->errs.len == x->errs.cap) {
				size_t cap = x->errs.cap ? x->errs.cap * 2 : 8;
				struct msg *v =
				    realloc(x->errs.v, cap * sizeof(*v));

				if (!v) {
					x->nomem = true;
					return;
				}
				x->errs.v = v;
				x->errs.cap = cap;
			}
			x->errs.v[x->errs.len++] = from->v[--from->len];
		}
		return;
	}
	m = &from->v[--from->len];
	free(*to);
	*to = m->text;
	m->text = NULL;
}

static int parse(struct zh_config **out, const char *name, const char *base_dir,
		 const char *text, size_t len, struct zh_config_diag *diag,
		 struct zh_error *err)
{
	struct ctx x;
	struct frame *top = NULL;
	struct ydoc doc;
	bool doc_ok = false;
	const yaml_node_t *root = NULL;
	char **msgs;
	size_t n;
	int rc = 0;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.name = name ? name : "<config>";
	x.base_dir = base_dir;
	x.budget = NODE_BUDGET;
	x.doc = &doc.doc;
	if (diag)
		memset(diag, 0, sizeof(*diag));
	if (!(x.cfg = calloc(1, sizeof(*x.cfg))) ||
	    !(top = calloc(1, sizeof(*top)))) {
		x.nomem = true;
		goto out;
	}
	top->scope = "";
	top->base = (char *)x.cfg;
	apply_defaults(&x, "", top->base);
	doc_ok = true;
	if (load(&x, &doc, text, len) < 0)
		goto out;
	root = yaml_document_get_root_node(&doc.doc);
	if (root && root->type != YAML_MAPPING_NODE && !is_null(root)) {
		report(&x, &root->start_mark,
		       "expected a mapping at the top level, got %s",
		       kind(root));
		goto out;
	}
	if (root && root->type == YAML_MAPPING_NODE)
		parse_map(&x, top, "", "", root);
	check_top(&x, top, root);
out:
	if (x.cfg)
		redact_scope(&x, "", (char *)x.cfg);
	if (doc_ok)
		ydoc_dispose(&doc);
	free(top);
	free(x.names);
	take_deferred(&x, &x.tok, x.cfg ? &x.cfg->zadig.token_error : NULL);
	take_deferred(&x, &x.ca, x.cfg ? &x.cfg->zadig.ca_error : NULL);
	/* said once the rest holds (a targets key of the wrong type has
	 * said enough) */
	if (x.cfg && !x.errs.len && x.chk.len &&
	    !(x.cfg->check_errors = take_msgs(&x.chk, &x.cfg->ncheck_errors)))
		x.nomem = true;
	msgs_dispose(&x.chk);
	if (x.nomem) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
	} else if (x.errs.len) {
		msgs = take_msgs(&x.errs, &n);
		rc = zh_error_set(err, ZH_ECONFIG, "%s",
				  msgs ? msgs[0] : "invalid configuration");
		if (diag) {
			diag->msgs = msgs;
			diag->len = n;
		} else {
			for (; n; n--)
				free(msgs[n - 1]);
			free(msgs);
		}
	}
	msgs = take_msgs(&x.warns, &n);
	if (diag) {
		diag->warnings = msgs;
		diag->nwarnings = n;
	} else {
		for (; n; n--)
			free(msgs[n - 1]);
		free(msgs);
	}
	msgs_dispose(&x.errs);
	msgs_dispose(&x.warns);
	msgs_dispose(&x.tok);
	msgs_dispose(&x.ca);
	if (rc)
		zh_config_free(x.cfg);
	else
		*out = x.cfg;
	return rc;
}

int zh_config_parse(struct zh_config **out, const char *name, const char *text,
		    size_t len, struct zh_config_diag *diag,
		    struct zh_error *err)
{
	return parse(out, name, NULL, text, len, diag, err);
}

/* The whole file, capped; *out malloc'd and NUL-terminated. */
static int read_file(char **out, size_t *len, const char *path,
		     struct zh_error *err)
{
	struct zh_buf b;
	char chunk[8192];
	size_t n;
	FILE *fp;
	int rc = 0;

	*out = NULL;
	if (!(fp = fopen(path, "rb")))
		return zh_error_set(err, ZH_ECONFIG, "cannot read '%s': %s",
				    path, strerror(errno));
	zh_buf_init(&b, MAX_FILE);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if ((rc = zh_buf_append(&b, chunk, n))) {
			rc =
			    rc == ZH_ETOOBIG
				? zh_error_set(err, ZH_ECONFIG,
					       "'%s' is too big", path)
				: zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (ferror(fp)) {
		rc = zh_error_set(err, ZH_ECONFIG, "cannot read '%s': %s", path,
				  strerror(errno));
		goto out;
	}
	*len = b.len;
	if (!(*out = zh_buf_detach(&b)))
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
out:
	zh_buf_dispose(&b);
	fclose(fp);
	return rc;
}

/* *p from dir when it is relative ("" and NULL stay as they are). */
static int from_dir(char **p, const char *dir)
{
	char *s;

	if (!*p || !**p || **p == '/')
		return 0;
	if (!(s = in_dir(dir, *p)))
		return ZH_ENOMEM;
	free(*p);
	*p = s;
	return 0;
}

/* The paths of c, written relative to the file's directory dir, as
 * token_file: wherever a program runs (the hook in the git dir, git
 * zadig anywhere), they name the same store, CA and repositories. */
static int paths_from_dir(struct zh_config *c, const char *dir)
{
	size_t i;

	if (from_dir(&c->state_dir, dir) < 0 ||
	    from_dir(&c->zadig.ca_file, dir) < 0 ||
	    from_dir(&c->hook.repo_root, dir) < 0)
		return ZH_ENOMEM;
	for (i = 0; i < c->webhook.nrepos; i++)
		if (from_dir(&c->webhook.repos[i].path, dir) < 0)
			return ZH_ENOMEM;
	return 0;
}

int zh_config_load(struct zh_config **out, const char *path,
		   struct zh_config_diag *diag, struct zh_error *err)
{
	char *text = NULL, *dir = NULL, *slash;
	struct zh_error e = {0};
	size_t len = 0;
	int rc;

	*out = NULL;
	if (diag)
		memset(diag, 0, sizeof(*diag));
	if ((rc = read_file(&text, &len, path, &e))) {
		if (diag && (diag->msgs = calloc(1, sizeof(char *))) &&
		    (diag->msgs[0] = strdup(e.msg)))
			diag->len = 1;
		return zh_error_set(err, rc, "%s", e.msg);
	}
	if (!(dir = strdup(path))) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	if ((slash = strrchr(dir, '/')))
		slash[slash == dir] = '\0';
	else
		dir[0] = '\0';
	rc = parse(out, path, *dir ? dir : NULL, text, len, diag, err);
	if (!rc && (!((*out)->path = strdup(path)) ||
		    (*dir && paths_from_dir(*out, dir) < 0))) {
		zh_config_free(*out);
		*out = NULL;
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
	}
out:
	free(dir);
	free(text);
	return rc;
}

/* The value under key in mapping node map, or NULL. */
static const yaml_node_t *map_value(struct ctx *x, const yaml_node_t *map,
				    const char *key)
{
	const yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = node_at(x, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp(sval(k), key) == 0)
			return node_at(x, p->value);
	}
	return NULL;
}

int zh_config_notes_ref(char **out, const char *path, struct zh_error *err)
{
	const yaml_node_t *v;
	struct ydoc doc;
	struct ctx x;
	char *text = NULL, *s = NULL, reason[64];
	const char *why;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = read_file(&text, &len, path, err)))
		return rc;
	memset(&x, 0, sizeof(x));
	x.name = path;
	x.doc = &doc.doc;
	if (load(&x, &doc, text, len) < 0) {
		if (x.nomem)
			rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		else
			rc = zh_error_set(err, ZH_ECONFIG, "%s",
					  x.errs.len ? x.errs.v[0].text
						     : "not valid yaml");
		goto out;
	}
	/* What follows the first document is not this key's business. */
	msgs_dispose(&x.errs);
	v = map_value(
	    &x, map_value(&x, yaml_document_get_root_node(&doc.doc), "notes"),
	    "ref");
	/* The checks and messages of zh_config_load, for this key alone. */
	if (!v || is_null(v)) {
		if (!(s = strdup("refs/notes/zadig")))
			x.nomem = true;
	} else if (v->type != YAML_SCALAR_NODE) {
		report(&x, &v->start_mark, "expected a string, got %s",
		       kind(v));
	} else if (!expand(&x, v, &s) &&
		   (why = notes_ref_problem(reason, sizeof(reason), s))) {
		report(&x, &v->start_mark, "invalid notes.ref '%s': %s",
		       sval(v), why);
	}
	if (x.nomem)
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
	else if (x.errs.len)
		rc = zh_error_set(err, ZH_ECONFIG, "%s", x.errs.v[0].text);
	if (rc) {
		free(s);
		s = NULL;
	}
	*out = s;
out:
	ydoc_dispose(&doc);
	msgs_dispose(&x.errs);
	msgs_dispose(&x.warns);
	free(text);
	return rc;
}

void zh_config_free(struct zh_config *c)
{
	size_t i;

	if (!c)
		return;
	free_scope("", (char *)c);
	free(c->zadig.token_error);
	free(c->zadig.ca_error);
	for (i = 0; i < c->ncheck_errors; i++)
		free(c->check_errors[i]);
	free(c->check_errors);
	free(c->token_src.path);
	free(c->token_src.name);
	free(c->token_src.raw);
	free(c->path);
	free(c);
}

int zh_config_token(char **out, const struct zh_config *c, struct zh_error *err)
{
	yaml_mark_t m = {0, 0, 0};
	struct ctx x;
	int rc = 0;

	*out = NULL;
	if (c->zadig.token) {
		if (!(*out = strdup(c->zadig.token)))
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		return 0;
	}
	if (!c->token_src.path)
		return zh_error_set(err, ZH_ECONFIG, "%s",
				    c->zadig.token_error
					? c->zadig.token_error
					: "no zadig.token or zadig.token_file");
	memset(&x, 0, sizeof(x));
	x.name = c->token_src.name;
	m.line = (size_t)(c->token_src.line - 1);
	m.column = (size_t)(c->token_src.col - 1);
	read_token(&x, out, c->token_src.path, c->token_src.raw, &m, NULL);
	/* the messages of the load, redacted as they were */
	redact_scope(&x, "", (char *)c);
	if (x.nomem)
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
	else if (x.tok.len)
		rc = zh_error_set(err, ZH_ECONFIG, "%s", x.tok.v[0].text);
	if (rc < 0) {
		free_secret(*out);
		*out = NULL;
	}
	msgs_dispose(&x.tok);
	msgs_dispose(&x.warns);
	msgs_dispose(&x.errs);
	return rc;
}

void zh_config_diag_dispose(struct zh_config_diag *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->len; i++)
		free(d->msgs[i]);
	for (i = 0; i < d->nwarnings; i++)
		free(d->warnings[i]);
	free(d->msgs);
	free(d->warnings);
	memset(d, 0, sizeof(*d));
}

const struct zh_rule *zh_config_rule(const struct zh_config *c,
				     const char *name)
{
	size_t i;

	if (!c || !name)
		return NULL;
	for (i = 0; i < c->nrules; i++)
		if (c->rules[i].name && strcmp(c->rules[i].name, name) == 0)
			return &c->rules[i];
	return NULL;
}
