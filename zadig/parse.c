/* Reply checking and JSON -> structs: pure functions, no I/O, so that
 * every reply shape of shared/zadig-api-notes.md is unit-tested. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "util/banned.h"
#include "util/buf.h"
#include "util/error.h"
#include "zadig/internal.h"
#include "zadig/zadig.h"

/* How much of a non-JSON error body we quote. */
#define QUOTE_MAX 200

/* The most of a string of Zadig's we keep (statuses, names, messages):
 * a task line, which holds a few of them, stays far below the 64 KiB a
 * note line may have. */
#define TEXT_MAX 4096

/* The longest url of Zadig's we take for a task's page; longer, the page
 * is built (from names of at most TEXT_MAX bytes). */
#define URL_MAX 2048

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse text[0..len) as one JSON value. Returns 0 and *out (NULL for a
 * JSON null) or -1 when it is not JSON (trailing garbage included). */
static int parse_json(json_object **out, const char *text, size_t len)
{
	json_tokener *tok;
	json_object *o = NULL;
	char *copy;
	size_t end;
	int rc = -1;

	*out = NULL;
	/* json-c wants NUL-terminated input to finish a trailing number. */
	if (!(copy = strndup(text, len)))
		return -1;
	if (!(tok = json_tokener_new()))
		goto out;
	o = json_tokener_parse_ex(tok, copy, -1);
	if (json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	/* A NUL byte is not JSON (the copy would end there). json-c 0.16
	 * reads the NUL that ends an unfinished comment ("{\"a\":{}//")
	 * and reports success with an inner value and a parse end past
	 * the copy (fuzz/fuzz_zadig_reply): not JSON either. */
	end = json_tokener_get_parse_end(tok);
	if (strlen(copy) != len || end > len)
		goto out;
	for (; copy[end]; end++)
		if (!is_space(copy[end]))
			goto out;
	*out = o;
	o = NULL;
	rc = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	free(copy);
	return rc;
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *jcstr(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	if (!v || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jisint(json_object *v)
{
	return v && (json_object_is_type(v, json_type_int) ||
		     json_object_is_type(v, json_type_double));
}

static int64_t jint(json_object *o, const char *key)
{
	json_object *v = jget(o, key);
	int64_t n;

	if (!v || json_object_is_type(v, json_type_null))
		return 0;
	/* json-c also converts numeric strings, which old servers sent. */
	n = json_object_get_int64(v);
	/* json-c saturates what does not fit (1e999999, 2^70) to INT64_MAX:
	 * no id, time or count of Zadig's comes near 2^53, so such a value
	 * is garbage, not task #9223372036854775807 */
	if (n > ((int64_t)1 << 53) || n < -((int64_t)1 << 53))
		return 0;
	return n;
}

/* Zadig's text s, in place, as zh_zadig_clean makes it, cut to
 * TEXT_MAX bytes. NULL-safe. */
static void clean_str(char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (s)
		zh_zadig_clean(s, n + 1, s, n, TEXT_MAX);
}

/* A copy of a string member, cleaned and capped: whatever reads it (a
 * note, a log line, a message, a terminal) gets Zadig's text without the
 * control characters that would drive a terminal or break a line, and
 * short enough for a note line. NULL when absent, *oom on failure. */
static char *jdup(json_object *o, const char *key, bool *oom)
{
	const char *s = jcstr(o, key);
	char *r;

	if (!s)
		return NULL;
	if (!(r = strdup(s)))
		*oom = true;
	clean_str(r);
	return r;
}

static char *dup_or(const char *s, bool *oom)
{
	char *r;

	if (!s)
		return NULL;
	if (!(r = strdup(s)))
		*oom = true;
	return r;
}

static json_object *jarray(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	if (!v || !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* Keep *s when it is a non-empty string, else make it a copy of
 * fallback (NULL stays NULL). */
static void default_str(char **s, const char *fallback, bool *oom)
{
	if (*s && **s)
		return;
	free(*s);
	*s = dup_or(fallback, oom);
}

/* The objects of array a: *n slots of size bytes, zeroed, or NULL when
 * there are none (*oom set when the allocation fails). Fill them with
 * object_at, skipping what it returns NULL for. */
static void *alloc_items(json_object *a, size_t size, size_t *n, bool *oom)
{
	void *items;

	*n = a ? json_object_array_length(a) : 0;
	if (!*n)
		return NULL;
	if (!(items = calloc(*n, size))) {
		*oom = true;
		*n = 0;
	}
	return items;
}

static json_object *object_at(json_object *a, size_t i)
{
	json_object *it = json_object_array_get_idx(a, i);

	return json_object_is_type(it, json_type_object) ? it : NULL;
}

/* The fields every task answer (lookup and both details) names alike. */
static void parse_task_fields(struct zh_zadig_task *t, json_object *o,
			      bool *oom)
{
	t->task_id = jint(o, "task_id");
	t->status = jdup(o, "status", oom);
	t->url = jdup(o, "url", oom);
	t->workflow_name = jdup(o, "workflow_name", oom);
	t->project_name = jdup(o, "project_name", oom);
	t->create_time = jint(o, "create_time");
	t->start_time = jint(o, "start_time");
	t->end_time = jint(o, "end_time");
}

void zh_zadig_clean(char *dst, size_t n, const char *s, size_t len, size_t max)
{
	size_t i = 0, k = 0, m;
	uint32_t cp;

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	while (i < len && k + 1 < n) {
		/* C0, DEL, C1 (U+009B is the CSI of terminals that take 8-bit
		 * controls, and so is a lone byte 0x9B) and bidi controls */
		m = zh_utf8_char_n(s + i, len - i, &cp);
		if (zh_char_is_control(cp)) {
			dst[k++] = ' ';
		} else if (k + m < n) {
			memmove(dst + k, s + i, m);
			k += m;
		} else {
			break;
		}
		i += m;
	}
	while (k > 0 && is_space(dst[k - 1]))
		k--;
	dst[k] = '\0';
}

/* "Internal Error: " reads better without its dangling colon. */
static void clean_message(char *dst, size_t n, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	zh_zadig_clean(dst, n, s ? s : "", len, n - 1);
	len = strlen(dst);
	while (len > 0 && (dst[len - 1] == ':' || is_space(dst[len - 1])))
		dst[--len] = '\0';
}

static int zadig_error(struct zh_error *err, int64_t code, const char *message,
		       const char *description)
{
	char m[256], d[400];
	size_t room = sizeof(err->msg) - 1, used;

	clean_message(m, sizeof(m), message);
	/* the description gets what the message leaves of err->msg, so
	 * that a long one is cut on a character and its ')' stays */
	used = (size_t)snprintf(NULL, 0, "zadig %" PRId64 ": %s ()", code, m);
	room = used < room ? room - used : 0;
	if (room > sizeof(d) - 1)
		room = sizeof(d) - 1;
	zh_zadig_clean(d, sizeof(d), description ? description : "",
		       description ? strlen(description) : 0, room);
	if (err)
		err->zadig_code = (int)code;
	if (*m && *d)
		return zh_error_set(err, ZH_EZADIG,
				    "zadig %" PRId64 ": %s (%s)", code, m, d);
	if (*m || *d)
		return zh_error_set(err, ZH_EZADIG, "zadig %" PRId64 ": %s",
				    code, *m ? m : d);
	return zh_error_set(err, ZH_EZADIG, "zadig %" PRId64 ": no message",
			    code);
}

/* The status a proxied error's description starts with ("[400
 * BadRequest] {...}": what Zadig's backend answered), or 0. */
static int proxied_status(const char *desc)
{
	int i, n = 0;

	if (!desc || desc[0] != '[')
		return 0;
	for (i = 1; i <= 3; i++) {
		if (desc[i] < '0' || desc[i] > '9')
			return 0;
		n = n * 10 + (desc[i] - '0');
	}
	if (desc[4] != ' ' && desc[4] != ']')
		return 0;
	return n >= 100 ? n : 0;
}

/* {"type","message","code","description","extra"} and the 500 fallback,
 * unwrapping a proxied "[400 BadRequest] {json}" description. Returns 0
 * when o is no such object. */
static int business_error(json_object *o, struct zh_error *err)
{
	json_object *code = jget(o, "code"), *inner = NULL;
	const char *msg = jcstr(o, "message");
	const char *desc = jcstr(o, "description");
	const char *brace;
	int rc;

	if (!jisint(code))
		return 0;
	if (desc && desc[0] == '[' && (brace = strstr(desc, "] {")) &&
	    parse_json(&inner, brace + 2, strlen(brace + 2)) == 0 && inner) {
		if (jisint(jget(inner, "code"))) {
			rc = zadig_error(
			    err, json_object_get_int64(jget(inner, "code")),
			    jcstr(inner, "message"),
			    jcstr(inner, "description"));
			json_object_put(inner);
			return rc;
		}
	}
	json_object_put(inner);
	return zadig_error(err, json_object_get_int64(code), msg, desc);
}

/* {"resultCode":N,"errorMsg":"..."}: non-zero N is a failure even on a
 * 200; 401 and 403 are a refused token and a denied permission, as the
 * HTTP statuses are (ZH_EAUTH). Returns 0 otherwise. */
static int result_code_error(json_object *o, struct zh_error *err)
{
	json_object *rcode = jget(o, "resultCode");
	char m[128];
	int64_t n;

	if (!jisint(rcode) || (n = json_object_get_int64(rcode)) == 0)
		return 0;
	if (err)
		err->zadig_code = (int)n;
	if (n != 401 && n != 403)
		return zadig_error(err, n, jcstr(o, "errorMsg"), NULL);
	clean_message(m, sizeof(m), jcstr(o, "errorMsg"));
	if (n == 401)
		return zh_error_set(err, ZH_EAUTH,
				    "zadig refused the token (resultCode "
				    "401%s%s): check zadig.token",
				    *m ? ": " : "", m);
	return zh_error_set(err, ZH_EAUTH,
			    "zadig denied permission (resultCode 403%s%s): "
			    "the token's user may not do this in this project",
			    *m ? ": " : "", m);
}

/* body[*b, *e): the body without the white space around it. */
static void trim_body(size_t *b, size_t *e, const char *body, size_t len)
{
	*b = 0;
	*e = body ? len : 0;
	while (*b < *e && is_space(body[*b]))
		(*b)++;
	while (*e > *b && is_space(body[*e - 1]))
		(*e)--;
}

/* The first line of body[b, e), cleaned and cut for a message. */
static void quote_first_line(char line[QUOTE_MAX + 8], const char *body,
			     size_t b, size_t e)
{
	size_t nl;

	for (nl = b; nl < e && body[nl] != '\n' && body[nl] != '\r'; nl++)
		;
	zh_zadig_clean(line, QUOTE_MAX + 8, body + b, nl - b, QUOTE_MAX);
}

int zh_zadig_check_ack(const char *body, size_t len, struct zh_error *err)
{
	json_object *o = NULL;
	char line[QUOTE_MAX + 8];
	size_t b, e;

	trim_body(&b, &e, body, len);
	if (e == b)
		return 0;
	if (parse_json(&o, body + b, e - b) == 0) {
		json_object_put(o);
		return 0;
	}
	quote_first_line(line, body, b, e);
	return zh_error_set(err, ZH_EPROTO,
			    "zadig answered with something that is not JSON "
			    "(%s): is zadig.url Zadig's own address, not a "
			    "login page or a proxy's?",
			    line);
}

int zh_zadig_check_reply(long http, const char *body, size_t len,
			 struct zh_error *err)
{
	json_object *o = NULL;
	char line[QUOTE_MAX + 8];
	const char *hint;
	size_t b, e;
	int rc = 0, proxied;

	if (err) {
		err->http = (int)http;
		err->zadig_code = 0;
		err->proxied_http = 0;
	}
	trim_body(&b, &e, body, len);
	if (e > b && parse_json(&o, body + b, e - b) < 0)
		o = NULL;
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	/* Zadig's 500 of an error its backend answered: that status says
	 * what became of the request (a 400 is final, a 403 a permission) */
	if (http >= 500 && jisint(jget(o, "code")) &&
	    (proxied = proxied_status(jcstr(o, "description")))) {
		if (err)
			err->proxied_http = proxied;
		if (proxied == 401 || proxied == 403)
			http = proxied;
	}

	if (http >= 200 && http < 300) {
		if (o && !(rc = result_code_error(o, err)) &&
		    jcstr(o, "type") && !strcmp(jcstr(o, "type"), "error"))
			rc = business_error(o, err);
		goto out;
	}
	if (http == 401) {
		rc = zh_error_set(err, ZH_EAUTH,
				  "zadig refused the token (HTTP 401): check "
				  "zadig.token");
		goto out;
	}
	if (http == 403) {
		rc = zh_error_set(
		    err, ZH_EAUTH,
		    "zadig denied permission (HTTP 403): the "
		    "token's user may not do this in this project");
		goto out;
	}
	if (o && ((rc = business_error(o, err)) < 0 ||
		  (rc = result_code_error(o, err)) < 0))
		goto out;
	/* Zadig answers its own 404s with its error; any other (an
	 * ingress's default backend, its router's plain text for a path it
	 * does not have) means the request did not reach Zadig's API */
	hint = http == 404 ? " (no Zadig API at that address: check zadig.url)"
			   : "";
	if (o && jcstr(o, "message") && *jcstr(o, "message")) {
		clean_message(line, sizeof(line), jcstr(o, "message"));
		rc = zh_error_set(err, ZH_EZADIG,
				  "zadig answered HTTP %ld: %s%s", http, line,
				  hint);
		goto out;
	}
	if (e == b) {
		rc = zh_error_set(err, ZH_EZADIG,
				  "zadig answered HTTP %ld with no body%s",
				  http, hint);
		goto out;
	}
	quote_first_line(line, body, b, e);
	rc = zh_error_set(err, ZH_EZADIG, "zadig answered HTTP %ld: %s%s", http,
			  line, hint);
out:
	json_object_put(o);
	return rc;
}

int zh_zadig_error_status(const struct zh_error *err)
{
	if (!err)
		return 0;
	return err->proxied_http ? err->proxied_http : err->http;
}

/* ---- answers -> structs ---- */

static int parse_object(json_object **out, const char *body, size_t len,
			const char *what, struct zh_error *err)
{
	if (parse_json(out, body ? body : "", body ? len : 0) < 0 || !*out ||
	    !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		return zh_error_set(err, ZH_EPROTO,
				    "zadig %s answer is not a json object",
				    what);
	}
	return 0;
}

char *zh_zadig_task_url(const char *base, const char *project, const char *kind,
			const char *workflow, int64_t task_id)
{
	struct zh_buf b;

	if (!base || !project || !*project || !workflow || !*workflow)
		return NULL;
	zh_buf_init(&b, 64 * 1024);
	if (zh_buf_printf(&b, "%s/v1/projects/detail", base) < 0 ||
	    zh_zadig_append_segment(&b, project) < 0 ||
	    zh_buf_printf(&b, "/pipelines/%s", kind) < 0 ||
	    zh_zadig_append_segment(&b, workflow) < 0 ||
	    zh_buf_printf(&b, "/%" PRId64, task_id) < 0) {
		zh_buf_dispose(&b);
		return NULL;
	}
	return zh_buf_detach(&b);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s with its %XX escapes decoded, in place (a %00 stays as it is: a
 * name does not end there). */
static void percent_decode(char *s)
{
	char *w = s;
	int hi, lo;

	for (; *s; s++) {
		if (s[0] == '%' && (hi = hex_digit(s[1])) >= 0 &&
		    (lo = hex_digit(s[2])) >= 0 && (hi || lo)) {
			*w++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* The segment of url after marker, up to the next '/', '?' or end,
 * percent-decoded. */
static char *segment_after(const char *url, const char *marker, bool *oom)
{
	const char *p = strstr(url, marker), *q;
	char *r;

	if (!p)
		return NULL;
	p += strlen(marker);
	for (q = p; *q && *q != '/' && *q != '?'; q++)
		;
	if (q == p)
		return NULL;
	if (!(r = strndup(p, (size_t)(q - p)))) {
		*oom = true;
		return NULL;
	}
	/* decoded, it is Zadig's text again */
	percent_decode(r);
	clean_str(r);
	return r;
}

/* Whether url is a page of Zadig at base that a note can hold: base,
 * '/', then printable ASCII, no longer than URL_MAX. */
static bool zadig_page(const char *url, const char *base)
{
	size_t n = base ? strlen(base) : 0;
	const char *p;

	if (!n || strncmp(url, base, n) != 0 || url[n] != '/' ||
	    strlen(url) > URL_MAX)
		return false;
	for (p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* The web-UI page of task t, for notes and people: Zadig's url when it
 * is a page of base (zadig.url), else, as for a created task, the page
 * built from base and t's project, workflow (of kind) and id; else none.
 * A url of another server, a javascript: one or one with a space (which
 * no note line holds) is not shown: the task is Zadig's at base. */
static void own_url(struct zh_zadig_task *t, const char *base, const char *kind,
		    const char *workflow)
{
	if (t->url && zadig_page(t->url, base))
		return;
	free(t->url);
	t->url = NULL;
	/* NULL too when out of memory: a task with no page is "-" */
	if (t->project_name && *t->project_name && workflow && *workflow &&
	    t->task_id > 0)
		t->url = zh_zadig_task_url(base, t->project_name, kind,
					   workflow, t->task_id);
}

/* The commitId lookup sends no names: read them from the web-UI URL
 * ".../projects/detail/<project>/pipelines/multi/<workflow>/<id>". */
static void names_from_url(struct zh_zadig_task *t, bool *oom)
{
	const char *p;

	if (!t->url)
		return;
	if (!t->project_name)
		t->project_name =
		    segment_after(t->url, "/projects/detail/", oom);
	if (!t->workflow_name && (p = strstr(t->url, "/pipelines/"))) {
		p += strlen("/pipelines/");
		if ((p = strchr(p, '/')))
			t->workflow_name = segment_after(p, "/", oom);
	}
}

bool zh_zadig_lookup_gone(long http, const char *body, size_t len)
{
	json_object *o = NULL;
	const char *desc;
	bool gone;

	if (http != 500 || !body || parse_json(&o, body, len) < 0)
		return false;
	desc = jcstr(o, "description");
	gone = desc && strstr(desc, "Invalid path");
	json_object_put(o);
	return gone;
}

int zh_zadig_parse_task_list(struct zh_zadig_task_list *out, const char *body,
			     size_t len, const char *base, struct zh_error *err)
{
	json_object *a = NULL, *it;
	struct zh_zadig_task *t;
	bool oom = false;
	size_t i, n;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (parse_json(&a, body ? body : "", body ? len : 0) < 0)
		return zh_error_set(err, ZH_EPROTO,
				    "zadig commitId lookup answer is not json");
	/* Go serialises an empty result as null. */
	if (!a)
		return 0;
	if (!json_object_is_type(a, json_type_array)) {
		rc = zh_error_set(err, ZH_EPROTO,
				  "zadig commitId lookup answer is not a list");
		goto out;
	}
	out->items = alloc_items(a, sizeof(*out->items), &n, &oom);
	for (i = 0; i < n; i++) {
		if (!(it = object_at(a, i)))
			continue;
		t = &out->items[out->len++];
		parse_task_fields(t, it, &oom);
		t->raw_json =
		    dup_or(json_object_to_json_string_ext(
			       it, JSON_C_TO_STRING_PLAIN |
				       JSON_C_TO_STRING_NOSLASHESCAPE),
			   &oom);
		names_from_url(t, &oom);
		own_url(t, base, "multi", t->workflow_name);
	}
out:
	json_object_put(a);
	if (oom)
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
	if (rc < 0)
		zh_zadig_task_list_dispose(out);
	return rc;
}

bool zh_zadig_json_object(const char *body, size_t len)
{
	json_object *o = NULL;
	size_t b, e;
	bool is;

	trim_body(&b, &e, body, len);
	if (e == b || parse_json(&o, body + b, e - b) < 0)
		return false;
	is = o && json_object_is_type(o, json_type_object);
	json_object_put(o);
	return is;
}

int zh_zadig_parse_created(struct zh_zadig_created *out, const char *body,
			   size_t len, const char *base, const char *project,
			   const char *workflow, bool custom,
			   struct zh_error *err)
{
	json_object *o;
	bool oom = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = parse_object(&o, body, len, "create", err)) < 0)
		return rc;
	out->task_id = jint(o, "task_id");
	if (out->task_id <= 0) {
		rc = zh_error_set(err, ZH_EPROTO,
				  "zadig create answer has no task_id");
		goto out;
	}
	out->workflow_name = jdup(o, "workflow_name", &oom);
	default_str(&out->workflow_name, workflow, &oom);
	out->project_name = jdup(o, "project_name", &oom);
	default_str(&out->project_name, project, &oom);
	if (!oom && out->project_name && *out->project_name &&
	    out->workflow_name && *out->workflow_name) {
		out->url = zh_zadig_task_url(base, out->project_name,
					     custom ? "custom" : "multi",
					     out->workflow_name, out->task_id);
		oom = !out->url;
	}
	if (oom)
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
out:
	json_object_put(o);
	if (rc < 0)
		zh_zadig_created_dispose(out);
	return rc;
}

/* Relative detail URLs point into the web UI: prefix the base URL. */
static char *absolute(const char *base, const char *url, bool *oom)
{
	size_t n;
	char *r;

	if (!url)
		return NULL;
	if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8) ||
	    !*url)
		return dup_or(url, oom);
	n = strlen(base) + strlen(url) + 2;
	if (!(r = malloc(n))) {
		*oom = true;
		return NULL;
	}
	snprintf(r, n, "%s%s%s", base, url[0] == '/' ? "" : "/", url);
	return r;
}

/* absolute(), cleaned as jdup cleans. */
static char *clean_absolute(const char *base, const char *url, bool *oom)
{
	char *r = absolute(base, url, oom);

	clean_str(r);
	return r;
}

static void parse_reports(struct zh_zadig_task *t, json_object *a,
			  const char *base, bool *oom)
{
	struct zh_zadig_test_report *r;
	json_object *it, *f;
	size_t i, n;

	t->test_reports = alloc_items(a, sizeof(*t->test_reports), &n, oom);
	for (i = 0; i < n; i++) {
		if (!(it = object_at(a, i)))
			continue;
		r = &t->test_reports[t->ntest_reports++];
		r->test_name = jdup(it, "test_name", oom);
		f = jget(it, "function_test_report");
		r->tests = jint(f, "tests");
		r->successes = jint(f, "successes");
		r->failures = jint(f, "failures");
		r->skips = jint(f, "skips");
		r->errors = jint(f, "errors");
		r->detail_url =
		    clean_absolute(base, jcstr(f, "detail_url"), oom);
	}
}

static void parse_images(struct zh_zadig_task *t, json_object *a, bool *oom)
{
	struct zh_zadig_image *m;
	json_object *it;
	size_t i, n;

	t->images = alloc_items(a, sizeof(*t->images), &n, oom);
	for (i = 0; i < n; i++) {
		if (!(it = object_at(a, i)))
			continue;
		m = &t->images[t->nimages++];
		m->image = jdup(it, "image", oom);
		m->service_name = jdup(it, "service_name", oom);
		m->registry_repo = jdup(it, "registry_repo", oom);
	}
}

/* What both task-detail answers share; the task the caller asked for
 * fills an id or workflow name the answer leaves out. */
static void parse_detail_fields(struct zh_zadig_task *t, json_object *o,
				const char *workflow, int64_t task_id,
				bool *oom)
{
	parse_task_fields(t, o, oom);
	if (t->task_id <= 0)
		t->task_id = task_id;
	if (!t->workflow_name)
		t->workflow_name = dup_or(workflow, oom);
	t->task_creator = jdup(o, "task_creator", oom);
}

/* body[0, len) with its control characters escaped: json-c reads them
 * raw inside strings, where JSON wants them written \u001b, and printed
 * raw they would drive the terminal. So are C1 and bidi controls, as the
 * same characters (\u009b, \u202e), and a byte that is not UTF-8 is
 * U+FFFD (\ufffd): the text is UTF-8 JSON. Outside strings (white space,
 * or a comment json-c skips) each but a newline or tab becomes a space.
 * NULL when out of memory. */
static char *escape_controls(const char *body, size_t len)
{
	struct zh_buf b;
	bool in = false, esc = false;
	uint32_t cp;
	size_t i = 0, m, from = 0;
	int rc = 0;

	zh_buf_init(&b, len * 6 + 1);
	while (i < len && rc == 0) {
		m = zh_utf8_char_n(body + i, len - i, &cp);
		if ((zh_char_is_control(cp) || cp >= ZH_UTF8_BYTE) &&
		    (in || (cp != '\n' && cp != '\t'))) {
			rc = zh_buf_append(&b, body + from, i - from);
			if (rc == 0 && !in)
				rc = zh_buf_append(&b, " ", 1);
			else if (rc == 0 && cp >= ZH_UTF8_BYTE)
				rc = zh_buf_append(&b, "\\ufffd", 6);
			else if (rc == 0)
				rc = zh_buf_printf(&b, "\\u%04x", (unsigned)cp);
			from = i + m;
		}
		if (esc)
			esc = false;
		else if (in && cp == '\\')
			esc = true;
		else if (cp == '"')
			in = !in;
		i += m;
	}
	if (rc == 0)
		rc = zh_buf_append(&b, body + from, len - from);
	if (rc < 0) {
		zh_buf_dispose(&b);
		return NULL;
	}
	return zh_buf_detach(&b);
}

/* Keep the answer (for --json) and release o; after a failed allocation
 * free all of t and fail. */
static int detail_done(struct zh_zadig_task *t, json_object *o,
		       const char *body, size_t len, bool oom,
		       struct zh_error *err)
{
	t->raw_json = body ? escape_controls(body, len) : NULL;
	oom = oom || (body && !t->raw_json);
	json_object_put(o);
	if (oom) {
		zh_zadig_task_dispose(t);
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	}
	return 0;
}

int zh_zadig_parse_product_detail(struct zh_zadig_task *out, const char *body,
				  size_t len, const char *base,
				  const char *workflow, int64_t task_id,
				  const char *project, struct zh_error *err)
{
	json_object *o;
	bool oom = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = parse_object(&o, body, len, "task detail", err)) < 0)
		return rc;
	parse_detail_fields(out, o, workflow, task_id, &oom);
	default_str(&out->project_name, project, &oom);
	out->env_name = jdup(o, "env_name", &oom);
	own_url(out, base, "multi", out->workflow_name);
	parse_images(out, jarray(o, "images"), &oom);
	parse_reports(out, jarray(o, "test_reports"), base, &oom);
	return detail_done(out, o, body, len, oom, err);
}

static void parse_approval(struct zh_zadig_approval *ap, json_object *o,
			   bool *oom)
{
	json_object *en = jget(o, "enabled");

	if (!o)
		return;
	ap->enabled = en && json_object_get_boolean(en);
	ap->reject_or_approve = jdup(o, "reject_or_approve", oom);
	if (ap->reject_or_approve && !*ap->reject_or_approve) {
		free(ap->reject_or_approve);
		ap->reject_or_approve = NULL;
	}
	ap->description = jdup(o, "description", oom);
	ap->needed_approvers = jint(o, "needed_approvers");
	ap->timeout_min = jint(o, "timeout");
}

static void parse_jobs(struct zh_zadig_stage *s, json_object *a, bool *oom)
{
	struct zh_zadig_job *j;
	json_object *it;
	size_t i, n;

	s->jobs = alloc_items(a, sizeof(*s->jobs), &n, oom);
	for (i = 0; i < n; i++) {
		if (!(it = object_at(a, i)))
			continue;
		j = &s->jobs[s->njobs++];
		j->name = jdup(it, "name", oom);
		j->type = jdup(it, "type", oom);
		j->status = jdup(it, "status", oom);
		j->start_time = jint(it, "start_time");
		j->end_time = jint(it, "end_time");
	}
}

static void parse_stages(struct zh_zadig_task *t, json_object *a, bool *oom)
{
	struct zh_zadig_stage *s;
	json_object *it;
	size_t i, n;

	t->stages = alloc_items(a, sizeof(*t->stages), &n, oom);
	for (i = 0; i < n; i++) {
		if (!(it = object_at(a, i)))
			continue;
		s = &t->stages[t->nstages++];
		s->name = jdup(it, "name", oom);
		s->status = jdup(it, "status", oom);
		s->start_time = jint(it, "start_time");
		s->end_time = jint(it, "end_time");
		parse_approval(&s->approval, jget(it, "approval"), oom);
		parse_jobs(s, jarray(it, "jobs"), oom);
	}
}

int zh_zadig_parse_custom_detail(struct zh_zadig_task *out, const char *body,
				 size_t len, const char *base,
				 const char *workflow, int64_t task_id,
				 struct zh_error *err)
{
	json_object *o;
	bool oom = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = parse_object(&o, body, len, "custom task detail", err)) < 0)
		return rc;
	out->custom = true;
	parse_detail_fields(out, o, workflow, task_id, &oom);
	out->workflow_key = jdup(o, "workflow_key", &oom);
	if (!out->project_name || !*out->project_name) {
		free(out->project_name);
		out->project_name = jdup(o, "project_key", &oom);
	}
	/* The web UI names custom workflows by their key. */
	own_url(out, base, "custom",
		out->workflow_key ? out->workflow_key : workflow);
	parse_stages(out, jarray(o, "stages"), &oom);
	return detail_done(out, o, body, len, oom, err);
}

/* ---- matching a task with the request that may have made it ---- */

/* Whether the build repositories of targets (targets[].build.repos[])
 * name repository name, and whether one of them is built from branch and
 * pr (absent = 0). */
static void repo_in(bool *named, bool *same, json_object *targets,
		    const char *name, const char *branch, int64_t pr)
{
	size_t i, j, n = targets ? json_object_array_length(targets) : 0;

	for (i = 0; i < n; i++) {
		json_object *repos =
		    jarray(jget(object_at(targets, i), "build"), "repos");
		size_t m = repos ? json_object_array_length(repos) : 0;

		for (j = 0; j < m; j++) {
			json_object *r = object_at(repos, j);
			const char *rn = jcstr(r, "repo_name");
			const char *rb = jcstr(r, "branch");

			if (!rn || strcmp(rn, name))
				continue;
			*named = true;
			if (rb && !strcmp(rb, branch) && jint(r, "pr") == pr)
				*same = true;
		}
	}
}

bool zh_zadig_task_fits_create(const struct zh_zadig_task *t,
			       const char *create_body)
{
	json_object *req = NULL, *task = NULL, *targets, *theirs;
	bool fits = true;
	size_t i, j, n;

	if (!t || !t->raw_json || !create_body ||
	    parse_json(&req, create_body, strlen(create_body)) < 0 ||
	    parse_json(&task, t->raw_json, strlen(t->raw_json)) < 0)
		goto out;
	targets = jarray(req, "targets");
	theirs = jarray(task, "targets");
	n = targets ? json_object_array_length(targets) : 0;
	for (i = 0; fits && i < n; i++) {
		json_object *repos =
		    jarray(jget(object_at(targets, i), "build"), "repos");
		size_t m = repos ? json_object_array_length(repos) : 0;

		for (j = 0; fits && j < m; j++) {
			json_object *r = object_at(repos, j);
			const char *rn = jcstr(r, "repo_name");
			const char *rb = jcstr(r, "branch");
			bool named = false, same = false;

			if (!rn || !rb)
				continue;
			repo_in(&named, &same, theirs, rn, rb, jint(r, "pr"));
			/* a repository the task does not name says nothing */
			fits = !named || same;
		}
	}
out:
	json_object_put(req);
	json_object_put(task);
	return fits;
}
