/* Request building: pure functions that turn arguments into the exact
 * method, path and JSON body the client sends, so that `--dry-run` shows
 * the real thing. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "util/banned.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/value.h"
#include "zadig/internal.h"
#include "zadig/zadig.h"

/* Paths and bodies are small; the cap only guards against runaway input. */
#define PATH_MAX_LEN (64 * 1024)

#define JSON_FLAGS                                                             \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |                   \
	 JSON_C_TO_STRING_NOSLASHESCAPE)

/* RFC 3986 percent-encoding of everything but the unreserved characters
 * (ALPHA DIGIT - . _ ~), upper-case hex, as curl_easy_escape does; it
 * suits both path segments and query values. Written here so that
 * rendering a request (which the hook does to record a trigger) does not
 * load libcurl (zadig/curl.h). */
char *zh_zadig_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = s ? strlen(s) : 0, i, k = 0;
	char *r;

	if (n > (SIZE_MAX - 1) / 3 || !(r = malloc(3 * n + 1)))
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			r[k++] = (char)c;
		} else {
			r[k++] = '%';
			r[k++] = hex[c >> 4];
			r[k++] = hex[c & 15];
		}
	}
	r[k] = '\0';
	return r;
}

static bool empty(const char *s)
{
	return !s || !*s;
}

/* Append "sep name=escaped(value)" to b. */
static int add_query(struct zh_buf *b, char sep, const char *name,
		     const char *value)
{
	char *e = zh_zadig_escape(value);
	int rc;

	if (!e)
		return ZH_ENOMEM;
	rc = zh_buf_printf(b, "%c%s=%s", sep, name, e);
	free(e);
	return rc;
}

int zh_zadig_append_segment(struct zh_buf *b, const char *seg)
{
	char *e = zh_zadig_escape(seg);
	int rc;

	if (!e)
		return ZH_ENOMEM;
	rc = zh_buf_printf(b, "/%s", e);
	free(e);
	return rc;
}

static int add_str(json_object *o, const char *key, const char *s)
{
	json_object *v = json_object_new_string(s ? s : "");

	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return ZH_ENOMEM;
	}
	return 0;
}

static int add_obj(json_object *o, const char *key, json_object *v)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return ZH_ENOMEM;
	}
	return 0;
}

static int push(json_object *a, json_object *v)
{
	if (!v || json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return ZH_ENOMEM;
	}
	return 0;
}

/* zh_value -> json-c, keeping the order of MAP keys. json-c spells a JSON
 * null as a NULL object, so success is told by the return value. */
static int from_value(json_object **out, const struct zh_value *v)
{
	json_object *o = NULL, *child;
	size_t i;
	int rc;

	*out = NULL;
	if (!v || v->type == ZH_VALUE_NULL)
		return 0;
	switch (v->type) {
	case ZH_VALUE_BOOL:
		o = json_object_new_boolean(v->u.b);
		break;
	case ZH_VALUE_INT:
		o = json_object_new_int64(v->u.i);
		break;
	case ZH_VALUE_STRING:
		o = json_object_new_string(v->u.s ? v->u.s : "");
		break;
	case ZH_VALUE_NUMBER:
		/* written with the digits of the configuration: 2.5 stays
		 * 2.5, 1e3 1e3, an integer past int64_t whole */
		o = json_object_new_double_s(strtod(v->u.s, NULL), v->u.s);
		break;
	case ZH_VALUE_LIST:
	case ZH_VALUE_MAP:
		o = v->type == ZH_VALUE_LIST ? json_object_new_array()
					     : json_object_new_object();
		if (!o)
			return ZH_ENOMEM;
		for (i = 0; i < v->len; i++) {
			if ((rc = from_value(&child, v->items[i])) < 0)
				goto fail;
			rc = v->type == ZH_VALUE_LIST
				 ? json_object_array_add(o, child)
				 : json_object_object_add(o, v->keys[i], child);
			if (rc < 0) {
				json_object_put(child);
				goto fail;
			}
		}
		break;
	default:
		return 0;
	}
	if (!o)
		return ZH_ENOMEM;
	*out = o;
	return 0;
fail:
	json_object_put(o);
	return ZH_ENOMEM;
}

/* A malloc'd copy of text (JSON json-c wrote) that is UTF-8: json-c
 * writes a string's bytes as they are, and a branch, an author or a
 * message from git may hold bytes that are not UTF-8, which would make
 * the body no JSON; each goes as \ufffd. NULL when out of memory. */
static char *utf8_copy(const char *text)
{
	const char *p = text;
	struct zh_buf b;

	while (*p && (unsigned char)*p < 0x80)
		p++;
	if (!*p) /* ASCII, as most bodies are */
		return strdup(text);
	/* at most 6 bytes (\ufffd) a byte */
	zh_buf_init(&b, 6 * strlen(text));
	if (zh_buf_json_utf8(&b, text) < 0) {
		zh_buf_dispose(&b);
		return NULL;
	}
	return zh_buf_detach(&b);
}

/* Serialise o into out->body and set the method and path; takes o. */
static int finish(struct zh_zadig_request *out, const char *method,
		  struct zh_buf *path, json_object *o, struct zh_error *err)
{
	const char *text;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->method = method;
	if (o) {
		text = json_object_to_json_string_ext(o, JSON_FLAGS);
		if (!text || !(out->body = utf8_copy(text))) {
			rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (!(out->path = zh_buf_detach(path)))
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
out:
	json_object_put(o);
	zh_buf_dispose(path);
	if (rc < 0)
		zh_zadig_request_dispose(out);
	return rc;
}

static int nomem(struct zh_buf *path, json_object *o, int rc,
		 struct zh_error *err)
{
	zh_buf_dispose(path);
	json_object_put(o);
	if (rc == ZH_ETOOBIG)
		return zh_error_set(err, ZH_ETOOBIG, "request path too long");
	return zh_error_set(err, ZH_ENOMEM, "out of memory");
}

static json_object *render_target(const struct zh_zadig_target *t)
{
	json_object *o = json_object_new_object();
	json_object *build = NULL, *repos = NULL, *r;
	size_t i;

	if (!o)
		return NULL;
	if (add_str(o, "name", t->name) < 0 ||
	    add_str(o, "service_type",
		    empty(t->service_type) ? "k8s" : t->service_type) < 0)
		goto fail;
	if (!(build = json_object_new_object()) ||
	    !(repos = json_object_new_array()))
		goto fail;
	for (i = 0; i < t->nrepos; i++) {
		if (!(r = json_object_new_object()))
			goto fail;
		if (push(repos, r) < 0) {
			r = NULL;
			goto fail;
		}
		if (add_str(r, "repo_name", t->repos[i].repo_name) < 0 ||
		    add_str(r, "branch", t->repos[i].branch) < 0 ||
		    add_obj(r, "pr", json_object_new_int64(t->repos[i].pr)) < 0)
			goto fail;
	}
	if (add_obj(build, "repos", repos) < 0) {
		repos = NULL;
		goto fail;
	}
	repos = NULL;
	if (add_obj(o, "build", build) < 0) {
		build = NULL;
		goto fail;
	}
	return o;
fail:
	json_object_put(repos);
	json_object_put(build);
	json_object_put(o);
	return NULL;
}

static int check_product(const struct zh_zadig_product_req *req,
			 struct zh_error *err)
{
	size_t i, j;
	bool images;

	if (empty(req->workflow_name))
		return zh_error_set(err, ZH_EINVALID,
				    "product workflow request needs "
				    "'workflow_name'");
	if (empty(req->env_name))
		return zh_error_set(
		    err, ZH_EINVALID,
		    "product workflow request needs 'env_name'");
	if (req->release_images && req->release_images->type != ZH_VALUE_LIST)
		return zh_error_set(err, ZH_EINVALID,
				    "'release_images' must be a list");
	images = req->release_images && req->release_images->len > 0;
	if (req->ntargets == 0 && !images)
		return zh_error_set(err, ZH_EINVALID,
				    "product workflow request needs 'targets' "
				    "or 'release_images'");
	for (i = 0; i < req->ntargets; i++) {
		const struct zh_zadig_target *t = &req->targets[i];

		if (empty(t->name))
			return zh_error_set(err, ZH_EINVALID,
					    "'targets[%zu].name' is empty", i);
		/* none: "build":{"repos":[]}, as configured (config check
		 * warns: the seed calls repos "must") */
		for (j = 0; j < t->nrepos; j++) {
			if (empty(t->repos[j].repo_name))
				return zh_error_set(
				    err, ZH_EINVALID,
				    "'targets[%zu].build.repos[%zu]."
				    "repo_name' is empty",
				    i, j);
			if (empty(t->repos[j].branch))
				return zh_error_set(
				    err, ZH_EINVALID,
				    "'targets[%zu].build.repos[%zu]."
				    "branch' is empty",
				    i, j);
		}
	}
	return 0;
}

int zh_zadig_render_product_create(struct zh_zadig_request *out,
				   const struct zh_zadig_product_req *req,
				   struct zh_error *err)
{
	struct zh_buf path;
	json_object *o = NULL, *a, *cb, *vars;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!req)
		return zh_error_set(err, ZH_EINVALID, "no request");
	if ((rc = check_product(req, err)) < 0)
		return rc;
	zh_buf_init(&path, PATH_MAX_LEN);
	if ((rc = zh_buf_puts(&path, "/api/directory/workflowTask/create")) < 0)
		return nomem(&path, o, rc, err);
	if (!empty(req->project) &&
	    (rc = add_query(&path, '?', "projectName", req->project)) < 0)
		return nomem(&path, o, rc, err);

	rc = ZH_ENOMEM;
	if (!(o = json_object_new_object()))
		return nomem(&path, o, rc, err);
	if (add_str(o, "workflow_name", req->workflow_name) < 0 ||
	    add_str(o, "env_name", req->env_name) < 0)
		return nomem(&path, o, rc, err);
	if (req->ntargets > 0) {
		if (add_obj(o, "targets", a = json_object_new_array()) < 0)
			return nomem(&path, o, rc, err);
		for (i = 0; i < req->ntargets; i++)
			if (push(a, render_target(&req->targets[i])) < 0)
				return nomem(&path, o, rc, err);
	}
	if (req->release_images && req->release_images->len > 0 &&
	    (from_value(&a, req->release_images) < 0 ||
	     add_obj(o, "release_images", a) < 0))
		return nomem(&path, o, rc, err);
	if (!empty(req->callback_url)) {
		if (add_obj(o, "callback", cb = json_object_new_object()) < 0 ||
		    add_str(cb, "callback_url", req->callback_url) < 0 ||
		    add_obj(cb, "callback_vars",
			    vars = json_object_new_object()) < 0)
			return nomem(&path, o, rc, err);
		for (i = 0; i < req->ncallback_vars; i++) {
			const struct zh_zadig_kv *kv = &req->callback_vars[i];

			if (!empty(kv->key) &&
			    add_str(vars, kv->key, kv->value) < 0)
				return nomem(&path, o, rc, err);
		}
	}
	if (!empty(req->project) &&
	    add_str(o, "product_tmpl_name", req->project) < 0)
		return nomem(&path, o, rc, err);
	return finish(out, "POST", &path, o, err);
}

int zh_zadig_render_custom_create(struct zh_zadig_request *out,
				  const struct zh_zadig_custom_req *req,
				  struct zh_error *err)
{
	struct zh_buf path;
	json_object *o = NULL, *in;
	int rc = ZH_ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!req)
		return zh_error_set(err, ZH_EINVALID, "no request");
	if (empty(req->project))
		return zh_error_set(err, ZH_EINVALID,
				    "custom workflow request needs 'project'");
	if (empty(req->workflow_name))
		return zh_error_set(err, ZH_EINVALID,
				    "custom workflow request needs "
				    "'workflow_name'");
	if (req->inputs && req->inputs->type != ZH_VALUE_LIST)
		return zh_error_set(err, ZH_EINVALID,
				    "custom workflow 'inputs' must be a list");
	zh_buf_init(&path, PATH_MAX_LEN);
	if ((rc = zh_buf_puts(&path, "/openapi/workflows/custom/task")) < 0)
		return nomem(&path, o, rc, err);
	rc = ZH_ENOMEM;
	if (!(o = json_object_new_object()))
		return nomem(&path, o, rc, err);
	/* Both name pairs: v1.15-1.17 read *_name, v1.18+ read *_key. */
	if (add_str(o, "project_name", req->project) < 0 ||
	    add_str(o, "project_key", req->project) < 0 ||
	    add_str(o, "workflow_name", req->workflow_name) < 0 ||
	    add_str(o, "workflow_key", req->workflow_name) < 0)
		return nomem(&path, o, rc, err);
	if (req->inputs) {
		if (from_value(&in, req->inputs) < 0)
			return nomem(&path, o, rc, err);
	} else {
		in = json_object_new_array();
	}
	if (add_obj(o, "inputs", in) < 0)
		return nomem(&path, o, rc, err);
	return finish(out, "POST", &path, o, err);
}

static int check_task(const char *workflow, int64_t task_id,
		      struct zh_error *err)
{
	if (empty(workflow))
		return zh_error_set(err, ZH_EINVALID, "no workflow name given");
	if (task_id <= 0)
		return zh_error_set(err, ZH_EINVALID,
				    "invalid task id %" PRId64, task_id);
	return 0;
}

int zh_zadig_render_tasks_by_commit(struct zh_zadig_request *out,
				    const char *commit, const char *project,
				    struct zh_error *err)
{
	struct zh_buf path;
	int rc;

	memset(out, 0, sizeof(*out));
	/* An empty commitId matches every recent task. */
	if (empty(commit))
		return zh_error_set(err, ZH_EINVALID,
				    "empty commit for the commitId lookup");
	zh_buf_init(&path, PATH_MAX_LEN);
	if ((rc = zh_buf_puts(&path, "/api/directory/workflowTask")) < 0 ||
	    (rc = add_query(&path, '?', "commitId", commit)) < 0 ||
	    (!empty(project) &&
	     (rc = add_query(&path, '&', "projectName", project)) < 0))
		return nomem(&path, NULL, rc, err);
	return finish(out, "GET", &path, NULL, err);
}

static int product_path(struct zh_buf *path, const char *workflow,
			int64_t task_id, const char *action,
			const char *project)
{
	int rc;

	if ((rc = zh_buf_printf(
		 path, "/api/directory/workflowTask/id/%" PRId64 "/pipelines",
		 task_id)) < 0 ||
	    (rc = zh_zadig_append_segment(path, workflow)) < 0)
		return rc;
	if (action && (rc = zh_buf_printf(path, "/%s", action)) < 0)
		return rc;
	if (!empty(project) &&
	    (rc = add_query(path, '?', "projectName", project)) < 0)
		return rc;
	return 0;
}

int zh_zadig_render_product_detail(struct zh_zadig_request *out,
				   const char *workflow, int64_t task_id,
				   const char *project, struct zh_error *err)
{
	struct zh_buf path;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_task(workflow, task_id, err)) < 0)
		return rc;
	zh_buf_init(&path, PATH_MAX_LEN);
	if ((rc = product_path(&path, workflow, task_id, NULL, project)) < 0)
		return nomem(&path, NULL, rc, err);
	return finish(out, "GET", &path, NULL, err);
}

int zh_zadig_render_product_action(struct zh_zadig_request *out,
				   const char *workflow, int64_t task_id,
				   const char *project, const char *action,
				   struct zh_error *err)
{
	struct zh_buf path;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_task(workflow, task_id, err)) < 0)
		return rc;
	zh_buf_init(&path, PATH_MAX_LEN);
	if ((rc = product_path(&path, workflow, task_id, action, project)) < 0)
		return nomem(&path, NULL, rc, err);
	return finish(out, "POST", &path, NULL, err);
}

/* The query and body every custom-task call shares: both the v1.15-1.17
 * names and the v1.18+ names, since the server ignores unknown keys. */
static int custom_common(struct zh_buf *path, json_object **obj,
			 const char *suffix, const char *workflow,
			 int64_t task_id)
{
	char id[32];
	int rc;

	snprintf(id, sizeof(id), "%" PRId64, task_id);
	if ((rc = zh_buf_printf(path, "/openapi/workflows/custom/task%s",
				suffix)) < 0 ||
	    (rc = add_query(path, '?', "task_id", id)) < 0 ||
	    (rc = add_query(path, '&', "workflow_name", workflow)) < 0 ||
	    (rc = add_query(path, '&', "taskId", id)) < 0 ||
	    (rc = add_query(path, '&', "workflowKey", workflow)) < 0)
		return rc;
	if (!(*obj = json_object_new_object()))
		return ZH_ENOMEM;
	if (add_obj(*obj, "task_id", json_object_new_int64(task_id)) < 0 ||
	    add_str(*obj, "workflow_name", workflow) < 0 ||
	    add_str(*obj, "workflow_key", workflow) < 0)
		return ZH_ENOMEM;
	return 0;
}

int zh_zadig_render_custom_task(struct zh_zadig_request *out,
				const char *method, const char *workflow,
				int64_t task_id, struct zh_error *err)
{
	struct zh_buf path;
	json_object *o = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_task(workflow, task_id, err)) < 0)
		return rc;
	zh_buf_init(&path, PATH_MAX_LEN);
	if ((rc = custom_common(&path, &o, "", workflow, task_id)) < 0)
		return nomem(&path, o, rc, err);
	return finish(out, method, &path, o, err);
}

int zh_zadig_render_custom_approve(struct zh_zadig_request *out,
				   const char *workflow, int64_t task_id,
				   const char *stage, bool approve,
				   const char *comment, struct zh_error *err)
{
	struct zh_buf path;
	json_object *o = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_task(workflow, task_id, err)) < 0)
		return rc;
	if (empty(stage))
		return zh_error_set(err, ZH_EINVALID,
				    "no stage name given for the approval");
	zh_buf_init(&path, PATH_MAX_LEN);
	if ((rc = custom_common(&path, &o, "/approve", workflow, task_id)) <
		0 ||
	    (rc = add_query(&path, '&', "stage_name", stage)) < 0 ||
	    (rc = add_query(&path, '&', "approve",
			    approve ? "true" : "false")) < 0 ||
	    (!empty(comment) &&
	     (rc = add_query(&path, '&', "comment", comment)) < 0))
		return nomem(&path, o, rc, err);
	rc = ZH_ENOMEM;
	if (add_str(o, "stage_name", stage) < 0 ||
	    add_obj(o, "approve", json_object_new_boolean(approve)) < 0 ||
	    add_str(o, "comment", comment) < 0)
		return nomem(&path, o, rc, err);
	return finish(out, "POST", &path, o, err);
}
