#include "webhook/gitlab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <pthread.h>

#include "util/banned.h"

static void commit_dispose(struct zh_gitlab_commit *c)
{
	size_t i;

	free(c->id);
	free(c->message);
	free(c->author);
	free(c->author_email);
	for (i = 0; i < c->npaths; i++)
		free(c->paths[i]);
	free(c->paths);
	memset(c, 0, sizeof(*c));
}

void zh_gitlab_event_dispose(struct zh_gitlab_event *e)
{
	size_t i;

	if (!e)
		return;
	free(e->object_kind);
	free(e->project);
	free(e->user_name);
	free(e->user_email);
	free(e->ref);
	free(e->before);
	free(e->after);
	free(e->checkout_sha);
	for (i = 0; i < e->ncommits; i++)
		commit_dispose(&e->commits[i]);
	free(e->commits);
	free(e->action);
	free(e->source_branch);
	free(e->target_branch);
	free(e->oldrev);
	commit_dispose(&e->last_commit);
	memset(e, 0, sizeof(*e));
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

/* A tokener per thread, reset between parses: a new one costs its
 * allocations (state stack, string buffer) on every request. Freed when
 * the thread ends; one whose string buffer grew past TOK_KEEP (a huge
 * string in a body) is freed after its parse instead of kept. */
#define TOK_KEEP (64 * 1024)
static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;
static bool tok_keyed;

static void tok_free(void *p)
{
	json_tokener_free(p);
}

static void tok_init(void)
{
	tok_keyed = pthread_key_create(&tok_key, tok_free) == 0;
}

static json_tokener *tok_get(void)
{
	json_tokener *tok;

	pthread_once(&tok_once, tok_init);
	if (tok_keyed && (tok = pthread_getspecific(tok_key))) {
		pthread_setspecific(tok_key, NULL);
		return tok;
	}
	return json_tokener_new_ex(ZH_GITLAB_MAX_DEPTH);
}

static void tok_put(json_tokener *tok)
{
	if (tok_keyed && tok->pb->size <= TOK_KEEP &&
	    pthread_setspecific(tok_key, tok) == 0) {
		json_tokener_reset(tok);
		return;
	}
	json_tokener_free(tok);
}

/* Parse the whole of body as one JSON object; trailing data other than
 * white space is an error. */
static int parse_json(json_object **out, const char *body, size_t len,
		      struct zh_error *err)
{
	json_tokener *tok;
	json_object *o = NULL;
	enum json_tokener_error je;
	size_t end, i;

	*out = NULL;
	if (len > (size_t)INT32_MAX)
		return zh_error_set(err, ZH_EINVALID, "body is too large");
	if (memchr(body, '\0', len))
		return zh_error_set(err, ZH_EINVALID,
				    "body is not JSON: it holds a NUL byte");
	if (!(tok = tok_get()))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	o = json_tokener_parse_ex(tok, body, (int)len);
	je = json_tokener_get_error(tok);
	if (!o && je == json_tokener_continue)
		je = json_tokener_error_parse_eof;
	end = json_tokener_get_parse_end(tok);
	tok_put(tok);
	if (!o || je != json_tokener_success) {
		json_object_put(o);
		return zh_error_set(err, ZH_EINVALID, "body is not JSON: %s",
				    json_tokener_error_desc(je));
	}
	for (i = end; i < len; i++)
		if (!strchr(" \t\r\n", body[i])) {
			json_object_put(o);
			return zh_error_set(err, ZH_EINVALID,
					    "body is not JSON: trailing data "
					    "after the object");
		}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return zh_error_set(err, ZH_EINVALID,
				    "body is not a JSON object");
	}
	*out = o;
	return 0;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* Copy string field key of o into *out: missing or null leaves NULL
 * (an error when required), another type is an error. */
static int str_field(char **out, json_object *o, const char *key,
		     const char *where, bool required, struct zh_error *err)
{
	json_object *v = get(o, key);

	*out = NULL;
	if (!v) {
		if (required)
			return zh_error_set(err, ZH_EINVALID,
					    "missing field '%s%s'", where, key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return zh_error_set(err, ZH_EINVALID,
				    "field '%s%s' is not a string", where, key);
	if (!(*out = strdup(json_object_get_string(v))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	return 0;
}

static int int_field(int64_t *out, bool *present, json_object *o,
		     const char *key, const char *where, bool required,
		     struct zh_error *err)
{
	json_object *v = get(o, key);

	*out = 0;
	if (present)
		*present = v != NULL;
	if (!v) {
		if (required)
			return zh_error_set(err, ZH_EINVALID,
					    "missing field '%s%s'", where, key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return zh_error_set(err, ZH_EINVALID,
				    "field '%s%s' is not an integer", where,
				    key);
	errno = 0;
	*out = json_object_get_int64(v);
	return 0;
}

static int add_paths(struct zh_gitlab_commit *c, json_object *list,
		     const char *key, struct zh_error *err)
{
	size_t i, n;
	char **p;

	if (!list)
		return 0;
	if (!json_object_is_type(list, json_type_array))
		return zh_error_set(err, ZH_EINVALID,
				    "field 'commits[].%s' is not a list", key);
	n = json_object_array_length(list);
	if (!n)
		return 0;
	if (!(p = realloc(c->paths, (c->npaths + n) * sizeof(*p))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	c->paths = p;
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(list, i);

		if (!v || !json_object_is_type(v, json_type_string))
			return zh_error_set(err, ZH_EINVALID,
					    "field 'commits[].%s' holds a "
					    "non-string",
					    key);
		if (!(c->paths[c->npaths] = strdup(json_object_get_string(v))))
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		c->npaths++;
	}
	return 0;
}

static int commit_read(struct zh_gitlab_commit *c, json_object *o,
		       const char *where, bool id_required, bool with_paths,
		       struct zh_error *err)
{
	json_object *author = get(o, "author");
	int rc;

	if (!o || !json_object_is_type(o, json_type_object)) {
		if (id_required)
			return zh_error_set(err, ZH_EINVALID,
					    "missing field '%sid'", where);
		return 0;
	}
	if ((rc = str_field(&c->id, o, "id", where, id_required, err)) < 0 ||
	    (rc = str_field(&c->message, o, "message", where, false, err)) <
		0 ||
	    (rc = str_field(&c->author, author, "name", "author.", false,
			    err)) < 0 ||
	    (rc = str_field(&c->author_email, author, "email", "author.", false,
			    err)) < 0)
		return rc;
	if (!with_paths)
		return 0;
	if ((rc = add_paths(c, get(o, "added"), "added", err)) < 0 ||
	    (rc = add_paths(c, get(o, "modified"), "modified", err)) < 0 ||
	    (rc = add_paths(c, get(o, "removed"), "removed", err)) < 0)
		return rc;
	return 0;
}

static int read_push(struct zh_gitlab_event *e, json_object *o,
		     struct zh_error *err)
{
	json_object *commits = get(o, "commits");
	bool present;
	size_t i, n;
	int rc;

	if ((rc = str_field(&e->ref, o, "ref", "", true, err)) < 0 ||
	    (rc = str_field(&e->before, o, "before", "", true, err)) < 0 ||
	    (rc = str_field(&e->after, o, "after", "", true, err)) < 0 ||
	    (rc = str_field(&e->checkout_sha, o, "checkout_sha", "", false,
			    err)) < 0)
		return rc;
	if (commits && !json_object_is_type(commits, json_type_array))
		return zh_error_set(err, ZH_EINVALID,
				    "field 'commits' is not a list");
	n = commits ? json_object_array_length(commits) : 0;
	if (n && !(e->commits = calloc(n, sizeof(*e->commits))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		rc = commit_read(&e->commits[i],
				 json_object_array_get_idx(commits, i),
				 "commits[].", true, true, err);
		e->ncommits++;
		if (rc < 0)
			return rc;
	}
	if ((rc = int_field(&e->total_commits, &present, o,
			    "total_commits_count", "", false, err)) < 0)
		return rc;
	if (!present || e->total_commits < (int64_t)e->ncommits)
		e->total_commits = (int64_t)e->ncommits;
	return 0;
}

static int read_mr(struct zh_gitlab_event *e, json_object *o,
		   struct zh_error *err)
{
	static const char w[] = "object_attributes.";
	json_object *a = get(o, "object_attributes");
	bool needs_commit;
	int rc;

	if (!a || !json_object_is_type(a, json_type_object))
		return zh_error_set(err, ZH_EINVALID,
				    "missing field 'object_attributes'");
	if ((rc = str_field(&e->action, a, "action", w, true, err)) < 0 ||
	    (rc = int_field(&e->mr_iid, NULL, a, "iid", w, true, err)) < 0 ||
	    (rc = str_field(&e->source_branch, a, "source_branch", w, true,
			    err)) < 0 ||
	    (rc = str_field(&e->target_branch, a, "target_branch", w, true,
			    err)) < 0 ||
	    (rc = str_field(&e->oldrev, a, "oldrev", w, false, err)) < 0)
		return rc;
	needs_commit = strcmp(e->action, "open") == 0 ||
		       strcmp(e->action, "reopen") == 0 ||
		       strcmp(e->action, "update") == 0;
	return commit_read(&e->last_commit, get(a, "last_commit"),
			   "object_attributes.last_commit.", needs_commit,
			   false, err);
}

int zh_gitlab_parse(struct zh_gitlab_event *out, const char *body, size_t len,
		    struct zh_error *err)
{
	json_object *o = NULL, *project;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = parse_json(&o, body, len, err)) < 0)
		return rc;
	if ((rc = str_field(&out->object_kind, o, "object_kind", "", true,
			    err)) < 0)
		goto out;
	if (strcmp(out->object_kind, "push") == 0)
		out->kind = ZH_GITLAB_PUSH;
	else if (strcmp(out->object_kind, "tag_push") == 0)
		out->kind = ZH_GITLAB_TAG_PUSH;
	else if (strcmp(out->object_kind, "merge_request") == 0)
		out->kind = ZH_GITLAB_MERGE_REQUEST;
	else
		goto out; /* not ours: nothing else is required */
	project = get(o, "project");
	if ((rc = str_field(&out->project, project, "path_with_namespace",
			    "project.", true, err)) < 0)
		goto out;
	if (out->kind == ZH_GITLAB_MERGE_REQUEST) {
		json_object *user = get(o, "user");

		if ((rc = str_field(&out->user_name, user, "name", "user.",
				    false, err)) < 0 ||
		    (rc = str_field(&out->user_email, user, "email", "user.",
				    false, err)) < 0 ||
		    (rc = read_mr(out, o, err)) < 0)
			goto out;
	} else {
		if ((rc = str_field(&out->user_name, o, "user_name", "", false,
				    err)) < 0 ||
		    (rc = str_field(&out->user_email, o, "user_email", "",
				    false, err)) < 0 ||
		    (rc = read_push(out, o, err)) < 0)
			goto out;
	}
out:
	json_object_put(o);
	return rc;
}

int zh_gitlab_parse_zadig(char **workflow, int64_t *task_id, const char *body,
			  size_t len, struct zh_error *err)
{
	json_object *o = NULL, *w;
	int rc;

	*workflow = NULL;
	*task_id = 0;
	if ((rc = parse_json(&o, body, len, err)) < 0)
		return rc;
	w = get(o, "workflow");
	if (!w || !json_object_is_type(w, json_type_object)) {
		rc = zh_error_set(err, ZH_EINVALID, "missing field 'workflow'");
		goto out;
	}
	if ((rc = int_field(task_id, NULL, w, "task_id", "workflow.", true,
			    err)) < 0 ||
	    (rc = str_field(workflow, w, "workflow_name", "workflow.", true,
			    err)) < 0)
		goto out;
out:
	if (rc < 0) {
		free(*workflow);
		*workflow = NULL;
	}
	json_object_put(o);
	return rc;
}
