/* fake-zadig: the Zadig Open API endpoints (/api and /openapi). */
#include "tests/fake-zadig/fake.h"

#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/banned.h"

#define PRODUCT_PREFIX "/api/directory/workflowTask"
#define CUSTOM_TASK "/openapi/workflows/custom/task"

static const char *header(const struct fz_request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

static const char *query(const struct fz_request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The string member key, or NULL when absent or not a string. */
static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool nonempty(const char *s)
{
	return s && *s;
}

/* Member key if present and not null. */
static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* Parses a decimal integer occupying all of s. */
static bool parse_id(long long *out, const char *s)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !errno && !*end;
}

static void reply_success(struct fz_reply *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "message", json_object_new_string("success"));
	fz_reply_json(r, 200, o);
}

/* Product restart and cancel answered differently across versions. */
static void reply_product_success(struct fz_reply *r, struct fz_server *s)
{
	json_object *o;

	if (s->cur.gen == FZ_V115) {
		reply_success(r);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "resultCode", json_object_new_int(0));
	json_object_object_add(o, "errorMsg",
			       json_object_new_string("success"));
	fz_reply_json(r, 200, o);
}

/* Product restart and cancel fail as the real server's do: HTTP 200,
 * resultCode 500 "fail", whatever the reason (not the seed's 6164/6163
 * business errors). */
static void reply_product_fail(struct fz_reply *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "resultCode", json_object_new_int(500));
	json_object_object_add(o, "errorMsg", json_object_new_string("fail"));
	fz_reply_json(r, 200, o);
}

static void reply_created(struct fz_reply *r, const struct fz_task *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "project_name",
			       json_object_new_string(t->project));
	json_object_object_add(o, "workflow_name",
			       json_object_new_string(t->workflow));
	json_object_object_add(o, "task_id", json_object_new_int64(t->id));
	fz_reply_json(r, 200, o);
}

static int check_array(json_object *body, const char *key, char *why, size_t n,
		       json_object **out)
{
	json_object *v = jget(body, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_array)) {
		snprintf(why, n, "%s must be an array", key);
		return -1;
	}
	*out = v;
	return 0;
}

static int check_target(json_object *tg, size_t i, char *why, size_t n)
{
	json_object *build, *repos, *st, *pr;
	size_t j, m;

	if (!json_object_is_type(tg, json_type_object)) {
		snprintf(why, n, "targets[%zu] must be an object", i);
		return -1;
	}
	if (!nonempty(jstr(tg, "name"))) {
		snprintf(why, n, "targets[%zu].name is required", i);
		return -1;
	}
	st = jget(tg, "service_type");
	if (st && (!json_object_is_type(st, json_type_string) ||
		   (strcmp(json_object_get_string(st), "k8s") &&
		    strcmp(json_object_get_string(st), "helm")))) {
		snprintf(why, n,
			 "targets[%zu].service_type must be k8s or helm", i);
		return -1;
	}
	build = jget(tg, "build");
	if (!build || !json_object_is_type(build, json_type_object)) {
		snprintf(why, n, "targets[%zu].build is required", i);
		return -1;
	}
	repos = jget(build, "repos");
	if (!repos || !json_object_is_type(repos, json_type_array) ||
	    !json_object_array_length(repos)) {
		snprintf(why, n, "targets[%zu].build.repos is required", i);
		return -1;
	}
	m = json_object_array_length(repos);
	for (j = 0; j < m; j++) {
		json_object *repo = json_object_array_get_idx(repos, j);

		if (!json_object_is_type(repo, json_type_object) ||
		    !nonempty(jstr(repo, "repo_name"))) {
			snprintf(why, n,
				 "targets[%zu].build.repos[%zu].repo_name is "
				 "required",
				 i, j);
			return -1;
		}
		if (!nonempty(jstr(repo, "branch"))) {
			snprintf(why, n,
				 "targets[%zu].build.repos[%zu].branch is "
				 "required",
				 i, j);
			return -1;
		}
		pr = jget(repo, "pr");
		if (pr && !json_object_is_type(pr, json_type_int)) {
			snprintf(why, n,
				 "targets[%zu].build.repos[%zu].pr must be an "
				 "integer",
				 i, j);
			return -1;
		}
	}
	return 0;
}

static int check_product_body(json_object *body, char *why, size_t n)
{
	static const char *const image_keys[] = {"image", "service_name",
						 "service_module"};
	json_object *targets, *images, *cb, *v;
	size_t i, k, len;

	if (!nonempty(jstr(body, "workflow_name"))) {
		snprintf(why, n, "workflow_name is required");
		return -1;
	}
	if (!nonempty(jstr(body, "env_name"))) {
		snprintf(why, n, "env_name is required");
		return -1;
	}
	if (check_array(body, "targets", why, n, &targets) ||
	    check_array(body, "release_images", why, n, &images))
		return -1;
	if ((!targets || !json_object_array_length(targets)) &&
	    (!images || !json_object_array_length(images))) {
		snprintf(why, n, "targets or release_images is required");
		return -1;
	}
	len = targets ? json_object_array_length(targets) : 0;
	for (i = 0; i < len; i++)
		if (check_target(json_object_array_get_idx(targets, i), i, why,
				 n))
			return -1;
	len = images ? json_object_array_length(images) : 0;
	for (i = 0; i < len; i++) {
		json_object *img = json_object_array_get_idx(images, i);

		for (k = 0; k < 3; k++) {
			if (!json_object_is_type(img, json_type_object) ||
			    !nonempty(jstr(img, image_keys[k]))) {
				snprintf(why, n,
					 "release_images[%zu].%s is required",
					 i, image_keys[k]);
				return -1;
			}
		}
	}
	cb = jget(body, "callback");
	if (cb) {
		if (!json_object_is_type(cb, json_type_object) ||
		    !nonempty(jstr(cb, "callback_url"))) {
			snprintf(why, n, "callback.callback_url is required");
			return -1;
		}
		v = jget(cb, "callback_vars");
		if (v && !json_object_is_type(v, json_type_object)) {
			snprintf(why, n,
				 "callback.callback_vars must be an "
				 "object");
			return -1;
		}
	}
	v = jget(body, "product_tmpl_name");
	if (v && !json_object_is_type(v, json_type_string)) {
		snprintf(why, n, "product_tmpl_name must be a string");
		return -1;
	}
	return 0;
}

static const char *const ERR_CREATE = "新建或更新wokflow失败";

/* The 40 hex digits text starts with, into out (41 bytes). */
static bool take_oid(char *out, const char *text)
{
	size_t i;

	for (i = 0; i < 40; i++)
		if (!isxdigit((unsigned char)text[i]))
			return false;
	memcpy(out, text, 40);
	out[40] = '\0';
	return true;
}

/* The commit ref of git directory dir names, from its loose ref file or
 * its packed-refs; false when neither has it. */
static bool read_ref(char *out, const char *dir, const char *ref)
{
	char path[4096], line[1024];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, ref);
	if ((f = fopen(path, "r"))) {
		found = fgets(line, sizeof(line), f) && take_oid(out, line);
		fclose(f);
		if (found)
			return true;
	}
	snprintf(path, sizeof(path), "%s/packed-refs", dir);
	if (!(f = fopen(path, "r")))
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = strlen(line) > 41 && line[40] == ' ' &&
			!strcmp(line + 41, ref) && take_oid(out, line);
	}
	fclose(f);
	return found;
}

/* The commit a product create builds, as Zadig knows it: where the
 * branch of its first target's first repository is now, in
 * <repo_root>/<repo_name>.git or <repo_root>/<repo_name>/.git. */
static bool built_commit(char *out, const struct fz_server *s,
			 json_object *targets)
{
	json_object *tg, *repos, *repo;
	const char *name, *branch;
	char dir[4096], ref[1024];

	if (!s->repo_root || !targets || !json_object_array_length(targets))
		return false;
	tg = json_object_array_get_idx(targets, 0);
	repos = jget(jget(tg, "build"), "repos");
	repo = json_object_array_get_idx(repos, 0);
	name = jstr(repo, "repo_name");
	branch = jstr(repo, "branch");
	if (!nonempty(name) || !nonempty(branch) || strstr(name, "..") ||
	    strstr(branch, ".."))
		return false;
	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	snprintf(dir, sizeof(dir), "%s/%s.git", s->repo_root, name);
	if (read_ref(out, dir, ref))
		return true;
	snprintf(dir, sizeof(dir), "%s/%s/.git", s->repo_root, name);
	return read_ref(out, dir, ref);
}

static void product_create(struct fz_reply *r, struct fz_server *s,
			   const struct fz_request *rq)
{
	json_object *body = fz_json_parse(rq->body, rq->body_len);
	json_object *cb, *vars;
	const char *wf, *project, *commit;
	struct fz_task *t;
	char why[512], built[41];

	/* The Open API front reads the body itself (its error is its own
	 * 500) and hands it to the backend, whose errors it proxies: a
	 * 500 with "[400 BadRequest] {...}" in the description. */
	if (!body || !json_object_is_type(body, json_type_object)) {
		fz_reply_internal(r, "invalid json body");
		goto out;
	}
	if (check_product_body(body, why, sizeof(why))) {
		fz_reply_proxied(r, 6540, ERR_CREATE, "%s", why);
		goto out;
	}
	wf = jstr(body, "workflow_name");
	if (starts_with(wf, "missing-")) {
		fz_reply_proxied(r, 6540, ERR_CREATE, "workflow %s not found",
				 wf);
		goto out;
	}
	project = jstr(body, "product_tmpl_name");
	if (!nonempty(project))
		project = query(rq, "projectName");
	if (!nonempty(project))
		project = "default";
	cb = jget(body, "callback");
	vars = jget(cb, "callback_vars");
	commit = jstr(vars, "commit");
	if (!commit)
		commit = header(rq, "X-Fake-Commit");
	if (!nonempty(commit) && built_commit(built, s, jget(body, "targets")))
		commit = built;

	t = fz_task_add(s, FZ_PRODUCT, wf, 0);
	free(t->project);
	t->project = fz_xstrdup(project);
	free(t->env);
	t->env = fz_xstrdup(jstr(body, "env_name"));
	t->commit = nonempty(commit) ? fz_xstrdup(commit) : NULL;
	t->targets = json_object_get(jget(body, "targets"));
	t->release_images = json_object_get(jget(body, "release_images"));
	if (cb) {
		t->callback_url = fz_xstrdup(jstr(cb, "callback_url"));
		t->callback_vars = json_object_get(vars);
	}
	reply_created(r, t);
out:
	json_object_put(body);
}

static void add_times(json_object *o, const struct fz_task *t)
{
	json_object_object_add(o, "create_time",
			       json_object_new_int64(t->create_time));
	json_object_object_add(o, "start_time",
			       json_object_new_int64(t->start_time));
	json_object_object_add(o, "end_time",
			       json_object_new_int64(t->end_time));
}

static json_object *test_reports(const struct fz_task *t)
{
	json_object *arr = json_object_new_array();
	json_object *rep, *f;
	bool failed = !strcmp(t->status, "failed");
	char url[1024];

	if (strcmp(t->status, "passed") && !failed)
		return arr;
	snprintf(url, sizeof(url),
		 "/v1/projects/detail/%s/pipelines/multi/testcase/%s/%lld/test/"
		 "%s-%lld-test?is_workflow=1&service_name=test&test_type="
		 "function",
		 t->project, t->workflow, t->id, t->workflow, t->id);
	f = json_object_new_object();
	json_object_object_add(f, "tests", json_object_new_int(24));
	json_object_object_add(f, "successes",
			       json_object_new_int(failed ? 20 : 24));
	json_object_object_add(f, "failures",
			       json_object_new_int(failed ? 4 : 0));
	json_object_object_add(f, "skips", json_object_new_int(0));
	json_object_object_add(f, "errors", json_object_new_int(0));
	json_object_object_add(f, "detail_url", json_object_new_string(url));
	rep = json_object_new_object();
	json_object_object_add(rep, "test_name",
			       json_object_new_string("test"));
	json_object_object_add(rep, "function_test_report", f);
	json_object_array_add(arr, rep);
	return arr;
}

/* Exactly the seed's fields: no task id, no times, no url (the commitId
 * lookup has those). */
static json_object *product_detail_json(const struct fz_task *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "workflow_name",
			       json_object_new_string(t->workflow));
	/* The real server leaves env_name empty in task details. */
	json_object_object_add(o, "env_name", json_object_new_string(""));
	json_object_object_add(o, "targets",
			       t->targets ? json_object_get(t->targets)
					  : json_object_new_array());
	json_object_object_add(o, "images", fz_task_images(t));
	json_object_object_add(o, "test_reports", test_reports(t));
	json_object_object_add(o, "status", json_object_new_string(t->status));
	return o;
}

static void reply_no_task(struct fz_reply *r)
{
	fz_reply_proxied(r, 6161, "获取工作流任务失败", "%s", "");
}

static const char *const ERR_CANCEL = "取消工作流任务失败";
static const char *const ERR_APPROVE = "批准工作流任务失败";
static const char *const NO_DOCS = "mongo: no documents in result";

/* /api/directory/workflowTask/id/:id/pipelines/:name[/restart|/cancel] */
static void product_task(struct fz_reply *r, struct fz_server *s,
			 const struct fz_request *rq, const char *rest)
{
	const char *slash = strchr(rest, '/'), *name, *name_end;
	const char *action = "";
	char idbuf[32], wf[512];
	struct fz_task *t = NULL;
	long long id = 0;
	bool id_ok;
	size_t n;

	if (!slash || !starts_with(slash, "/pipelines/"))
		goto not_found;
	n = (size_t)(slash - rest);
	if (n >= sizeof(idbuf))
		n = sizeof(idbuf) - 1;
	memcpy(idbuf, rest, n);
	idbuf[n] = '\0';
	id_ok = parse_id(&id, idbuf);
	name = slash + strlen("/pipelines/");
	name_end = strchr(name, '/');
	if (name_end) {
		action = name_end + 1;
		if (strcmp(action, "restart") && strcmp(action, "cancel"))
			goto not_found;
		n = (size_t)(name_end - name);
	} else {
		n = strlen(name);
	}
	if (!n || n >= sizeof(wf))
		goto not_found;
	memcpy(wf, name, n);
	wf[n] = '\0';

	if (!*action && strcmp(rq->method, "GET"))
		goto not_found;
	if (*action && strcmp(rq->method, "POST"))
		goto not_found;
	if (!id_ok) {
		fz_reply_zerr(r, 400, 400, "Bad Request", "invalid task id");
		return;
	}
	t = fz_task_find(s, FZ_PRODUCT, wf, id);

	if (!*action) {
		if (!t) {
			reply_no_task(r);
			return;
		}
		fz_task_advance(s, t);
		fz_reply_json(r, 200, product_detail_json(t));
	} else if (!strcmp(action, "restart")) {
		if (!t || (strcmp(t->status, "failed") &&
			   strcmp(t->status, "timeout") &&
			   strcmp(t->status, "cancelled"))) {
			reply_product_fail(r);
		} else {
			fz_task_restart(t);
			reply_product_success(r, s);
		}
	} else {
		if (!t || fz_status_final(t->status)) {
			reply_product_fail(r);
		} else {
			fz_task_set_status(s, t, "cancelled");
			reply_product_success(r, s);
		}
	}
	return;
not_found:
	fz_reply_text(r, 404, "text/plain", "404 page not found");
}

/* GET /api/directory/workflowTask?commitId=: gone in v1.18; earlier, a JSON
 * array served as text/plain of the last 24 hours' product tasks whose
 * commit starts with the (possibly empty) prefix. */
static void product_lookup(struct fz_reply *r, struct fz_server *s,
			   const struct fz_request *rq)
{
	const char *prefix = query(rq, "commitId");
	long long since = (long long)time(NULL) - 24 * 60 * 60;
	json_object *arr;
	struct fz_task *t;

	if (s->cur.gen == FZ_V118) {
		fz_reply_internal(r, "Invalid path");
		return;
	}
	if (!prefix)
		prefix = "";
	arr = json_object_new_array();
	for (t = s->tasks; t; t = t->next) {
		json_object *o;
		char *url;

		if (t->kind != FZ_PRODUCT || t->create_time < since)
			continue;
		if (*prefix && (!t->commit || !starts_with(t->commit, prefix)))
			continue;
		fz_task_advance(s, t);
		o = json_object_new_object();
		url = fz_task_url(s, t);
		json_object_object_add(o, "task_id",
				       json_object_new_int64(t->id));
		add_times(o, t);
		json_object_object_add(o, "status",
				       json_object_new_string(t->status));
		json_object_object_add(o, "url", json_object_new_string(url));
		free(url);
		json_object_array_add(arr, o);
	}
	fz_reply_json(r, 200, arr);
	r->content_type = "text/plain; charset=utf-8";
}

static const char *wf_key(struct fz_server *s)
{
	return s->cur.gen == FZ_V118 ? "workflow_key" : "workflow_name";
}

static void custom_trigger(struct fz_reply *r, struct fz_server *s,
			   const struct fz_request *rq)
{
	json_object *body = fz_json_parse(rq->body, rq->body_len);
	json_object *inputs;
	const char *wf, *project, *commit;
	struct fz_task *t;
	size_t i, n;

	if (!body || !json_object_is_type(body, json_type_object)) {
		fz_reply_zerr(r, 400, 6540, ERR_CREATE, "invalid json body");
		goto out;
	}
	wf = jstr(body, wf_key(s));
	project =
	    jstr(body, s->cur.gen == FZ_V118 ? "project_key" : "project_name");
	if (!nonempty(wf)) {
		fz_reply_zerr(r, 400, 6540, ERR_CREATE, "workflow not found");
		goto out;
	}
	if (!nonempty(project)) {
		fz_reply_zerr(r, 400, 6540, ERR_CREATE, "project not found");
		goto out;
	}
	if (starts_with(wf, "missing-")) {
		fz_reply_zerr(r, 400, 6540, ERR_CREATE, "workflow %s not found",
			      wf);
		goto out;
	}
	inputs = jget(body, "inputs");
	if (!inputs || !json_object_is_type(inputs, json_type_array)) {
		fz_reply_zerr(r, 400, 6540, ERR_CREATE,
			      "inputs must be an array");
		goto out;
	}
	n = json_object_array_length(inputs);
	for (i = 0; i < n; i++) {
		json_object *in = json_object_array_get_idx(inputs, i);

		if (!json_object_is_type(in, json_type_object) ||
		    !nonempty(jstr(in, "job_name")) ||
		    !nonempty(jstr(in, "job_type"))) {
			fz_reply_zerr(r, 400, 6540, ERR_CREATE,
				      "inputs[%zu] needs job_name and job_type",
				      i);
			goto out;
		}
	}
	commit = header(rq, "X-Fake-Commit");
	t = fz_task_add(s, FZ_CUSTOM, wf, 0);
	free(t->project);
	t->project = fz_xstrdup(project);
	t->commit = nonempty(commit) ? fz_xstrdup(commit) : NULL;
	t->inputs = json_object_get(inputs);
	reply_created(r, t);
out:
	json_object_put(body);
}

/* Stage statuses as the real server shows them while a task moves. */
static void stage_statuses(const struct fz_task *t, const char **build,
			   const char **deploy)
{
	const char *st = t->status;

	*build = "";
	*deploy = "";
	if (!strcmp(st, "created"))
		return;
	if (!strcmp(st, "running")) {
		if (t->approved) {
			*build = "passed";
			*deploy = "running";
		} else {
			*build = "running";
		}
	} else if (!strcmp(st, "waitforapprove") || !strcmp(st, "reject")) {
		*build = "passed";
		*deploy = st;
	} else if (!strcmp(st, "passed")) {
		*build = "passed";
		*deploy = "passed";
	} else {
		*build = st;
	}
}

static json_object *stage(const char *name, const char *status, const char *job,
			  const char *type, const struct fz_task *t)
{
	json_object *o = json_object_new_object();
	json_object *jobs = json_object_new_array();
	json_object *j = json_object_new_object();
	long long start = *status ? t->start_time : 0;
	long long end = fz_status_final(status) ? t->end_time : 0;

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "start_time", json_object_new_int64(start));
	json_object_object_add(o, "end_time", json_object_new_int64(end));
	json_object_object_add(j, "name", json_object_new_string(job));
	json_object_object_add(j, "type", json_object_new_string(type));
	json_object_object_add(j, "status", json_object_new_string(status));
	json_object_object_add(j, "start_time", json_object_new_int64(start));
	json_object_object_add(j, "end_time", json_object_new_int64(end));
	json_object_object_add(j, "spec", json_object_new_object());
	json_object_array_add(jobs, j);
	json_object_object_add(o, "jobs", jobs);
	return o;
}

static json_object *approval(const struct fz_task *t)
{
	json_object *o = json_object_new_object();
	json_object *users = json_object_new_array();

	if (t->verdict) {
		json_object *u = json_object_new_object();

		json_object_object_add(u, "user_name",
				       json_object_new_string("openapi"));
		json_object_object_add(u, "reject_or_approve",
				       json_object_new_string(t->verdict));
		json_object_object_add(
		    u, "comment",
		    json_object_new_string(t->comment ? t->comment : ""));
		json_object_object_add(u, "operation_time",
				       json_object_new_int64(t->verdict_time));
		json_object_array_add(users, u);
	}
	json_object_object_add(
	    o, "enabled",
	    json_object_new_boolean(strstr(t->workflow, "approval") != NULL));
	json_object_object_add(o, "approve_users", users);
	json_object_object_add(o, "timeout", json_object_new_int(120));
	json_object_object_add(o, "needed_approvers", json_object_new_int(1));
	json_object_object_add(o, "description",
			       json_object_new_string("需审核通过方可部署"));
	json_object_object_add(
	    o, "reject_or_approve",
	    json_object_new_string(t->verdict ? t->verdict : ""));
	return o;
}

static json_object *custom_detail_json(struct fz_server *s,
				       const struct fz_task *t)
{
	json_object *o = json_object_new_object();
	json_object *stages = json_object_new_array();
	json_object *deploy;
	const char *bs, *ds;
	char display[600];

	json_object_object_add(o, "task_id", json_object_new_int64(t->id));
	if (s->cur.gen == FZ_V118) {
		/* v1.18 names the workflow by key; workflow_name becomes a
		 * display name, deliberately different here. */
		snprintf(display, sizeof(display), "%s-display", t->workflow);
		json_object_object_add(o, "workflow_key",
				       json_object_new_string(t->workflow));
		json_object_object_add(o, "workflow_name",
				       json_object_new_string(display));
	} else {
		json_object_object_add(o, "workflow_name",
				       json_object_new_string(t->workflow));
	}
	json_object_object_add(o, "params", json_object_new_array());
	json_object_object_add(o, "status", json_object_new_string(t->status));
	json_object_object_add(o, "task_creator",
			       json_object_new_string("openapi"));
	add_times(o, t);
	stage_statuses(t, &bs, &ds);
	json_object_array_add(stages,
			      stage("构建", bs, "build", "zadig-build", t));
	deploy = stage("deploy", ds, "deploy", "zadig-deploy", t);
	json_object_object_add(deploy, "approval", approval(t));
	/* Keep "jobs" last, as the real server orders the stage fields. */
	{
		json_object *jobs = json_object_get(jget(deploy, "jobs"));

		json_object_object_del(deploy, "jobs");
		json_object_object_add(deploy, "jobs", jobs);
	}
	json_object_array_add(stages, deploy);
	json_object_object_add(o, "stages", stages);
	json_object_object_add(o, "project_name",
			       json_object_new_string(t->project));
	if (s->cur.gen == FZ_V118)
		json_object_object_add(o, "project_key",
				       json_object_new_string(t->project));
	return o;
}

/* Where each version reads the custom task's id and workflow from.
 * Returns false after replying 400 to a malformed request; *body_out
 * keeps *wf alive and must be put by the caller. */
static bool custom_args(struct fz_reply *r, struct fz_server *s,
			const struct fz_request *rq, bool from_query,
			long long *id, const char **wf, json_object **body_out)
{
	json_object *body = NULL, *v;

	*id = 0;
	*wf = NULL;
	*body_out = NULL;
	if (from_query) {
		const char *sid =
		    query(rq, s->cur.gen == FZ_V118 ? "taskId" : "task_id");

		*wf = query(rq, s->cur.gen == FZ_V118 ? "workflowKey"
						      : "workflow_name");
		if (sid && !parse_id(id, sid)) {
			fz_reply_text(r, 400, NULL, NULL);
			return false;
		}
		return true;
	}
	if (!rq->body)
		return true;
	body = fz_json_parse(rq->body, rq->body_len);
	if (!body || !json_object_is_type(body, json_type_object)) {
		json_object_put(body);
		fz_reply_text(r, 400, NULL, NULL);
		return false;
	}
	*body_out = body;
	v = jget(body, "task_id");
	if (v && !json_object_is_type(v, json_type_int)) {
		fz_reply_text(r, 400, NULL, NULL);
		return false;
	}
	*id = v ? json_object_get_int64(v) : 0;
	*wf = jstr(body, wf_key(s));
	return true;
}

static void custom_detail(struct fz_reply *r, struct fz_server *s,
			  const struct fz_request *rq)
{
	json_object *body = NULL;
	const char *wf;
	struct fz_task *t;
	long long id;

	if (!custom_args(r, s, rq, s->cur.gen != FZ_V115, &id, &wf, &body))
		goto out;
	t = fz_task_find(s, FZ_CUSTOM, wf, id);
	if (!t) {
		fz_reply_internal(r, NO_DOCS);
		goto out;
	}
	fz_task_advance(s, t);
	fz_reply_json(r, 200, custom_detail_json(s, t));
out:
	json_object_put(body);
}

static void custom_cancel(struct fz_reply *r, struct fz_server *s,
			  const struct fz_request *rq)
{
	json_object *body = NULL;
	const char *wf;
	struct fz_task *t;
	long long id;

	if (!custom_args(r, s, rq, false, &id, &wf, &body))
		goto out;
	t = fz_task_find(s, FZ_CUSTOM, wf, id);
	if (!t)
		fz_reply_zerr(r, 400, 6163, ERR_CANCEL, "%s", NO_DOCS);
	else if (fz_status_final(t->status))
		fz_reply_zerr(r, 400, 6163, ERR_CANCEL,
			      "task: %s:%lld is %s, cannot cancel", t->workflow,
			      t->id, t->status);
	else {
		fz_task_set_status(s, t, "cancelled");
		reply_success(r);
	}
out:
	json_object_put(body);
}

static void custom_approve(struct fz_reply *r, struct fz_server *s,
			   const struct fz_request *rq)
{
	json_object *body = NULL, *v;
	const char *wf, *stage_name, *comment;
	struct fz_task *t;
	bool approve = false;
	long long id;

	if (!custom_args(r, s, rq, false, &id, &wf, &body))
		goto out;
	stage_name = jstr(body, "stage_name");
	comment = jstr(body, "comment");
	v = jget(body, "approve");
	if (v && !json_object_is_type(v, json_type_boolean)) {
		fz_reply_text(r, 400, NULL, NULL);
		goto out;
	}
	approve = v && json_object_get_boolean(v);
	t = fz_task_find(s, FZ_CUSTOM, wf, id);
	if (!t) {
		fz_reply_zerr(r, 400, 6169, ERR_APPROVE, "%s", NO_DOCS);
		goto out;
	}
	if (!stage_name || strcmp(stage_name, "deploy") ||
	    !strstr(t->workflow, "approval")) {
		fz_reply_zerr(
		    r, 400, 6169, ERR_APPROVE,
		    "workflow %s ID %lld stage %s do not need approve",
		    t->workflow, t->id, stage_name ? stage_name : "");
		goto out;
	}
	if (strcmp(t->status, "waitforapprove")) {
		fz_reply_zerr(r, 400, 6169, ERR_APPROVE,
			      "workflow %s ID %lld stage %s is %s, not waiting "
			      "for approval",
			      t->workflow, t->id, stage_name, t->status);
		goto out;
	}
	free(t->verdict);
	t->verdict = fz_xstrdup(approve ? "approve" : "reject");
	free(t->comment);
	t->comment = fz_xstrdup(comment ? comment : "");
	t->verdict_time = (long long)time(NULL);
	if (approve) {
		/* The next detail read finishes the task. */
		t->approved = true;
		t->reads = s->cur.steps > 1 ? s->cur.steps - 1 : 0;
		fz_task_set_status(s, t, "running");
	} else {
		fz_task_set_status(s, t, "reject");
	}
	reply_success(r);
out:
	json_object_put(body);
}

static void route(struct fz_reply *r, struct fz_server *s,
		  const struct fz_request *rq)
{
	const char *p = rq->path, *m = rq->method;

	if (!strcmp(p, PRODUCT_PREFIX) && !strcmp(m, "GET"))
		product_lookup(r, s, rq);
	else if (!strcmp(p, PRODUCT_PREFIX "/create") && !strcmp(m, "POST"))
		product_create(r, s, rq);
	else if (starts_with(p, PRODUCT_PREFIX "/id/"))
		product_task(r, s, rq, p + strlen(PRODUCT_PREFIX "/id/"));
	else if (!strcmp(p, CUSTOM_TASK) && !strcmp(m, "GET"))
		custom_detail(r, s, rq);
	else if (!strcmp(p, CUSTOM_TASK) && !strcmp(m, "POST"))
		custom_trigger(r, s, rq);
	else if (!strcmp(p, CUSTOM_TASK) && !strcmp(m, "DELETE"))
		custom_cancel(r, s, rq);
	else if (!strcmp(p, CUSTOM_TASK "/approve") && !strcmp(m, "POST"))
		custom_approve(r, s, rq);
	else
		fz_reply_text(r, 404, "text/plain", "404 page not found");
}

/* 401 for a missing or wrong token, 403 for the forbidden one; both with
 * an empty body, as the real server answers. */
static bool authorized(struct fz_reply *r, struct fz_server *s,
		       const struct fz_request *rq)
{
	const char *auth = header(rq, "Authorization");
	const char *tok;

	if (!auth || strncmp(auth, "Bearer ", 7)) {
		fz_reply_text(r, 401, NULL, NULL);
		return false;
	}
	tok = auth + 7;
	if (s->forbidden && !strcmp(tok, s->forbidden)) {
		fz_reply_text(r, 403, NULL, NULL);
		return false;
	}
	if (strcmp(tok, s->token)) {
		fz_reply_text(r, 401, NULL, NULL);
		return false;
	}
	return true;
}

static json_object *str_or_null(const char *v, size_t len)
{
	return v ? json_object_new_string_len(v, (int)len) : NULL;
}

static void record(struct fz_server *s, const struct fz_request *rq,
		   const struct fz_reply *r)
{
	json_object *o = json_object_new_object();
	const char *auth = header(rq, "Authorization");
	const char *ctype = header(rq, "Content-Type");

	json_object_object_add(o, "direction", json_object_new_string("in"));
	json_object_object_add(o, "method", json_object_new_string(rq->method));
	json_object_object_add(o, "path", json_object_new_string(rq->raw_path));
	json_object_object_add(o, "query",
			       json_object_new_string(rq->raw_query));
	json_object_object_add(o, "authorization",
			       auth ? json_object_new_string(auth) : NULL);
	json_object_object_add(o, "content_type",
			       ctype ? json_object_new_string(ctype) : NULL);
	json_object_object_add(o, "body", str_or_null(rq->body, rq->body_len));
	json_object_object_add(o, "status",
			       json_object_new_int(r->drop ? 0 : r->status));
	if (r->drop)
		json_object_object_add(o, "dropped",
				       json_object_new_boolean(true));
	fz_record(s, o);
}

void fz_api_handle(struct fz_reply *r, struct fz_server *s,
		   const struct fz_request *rq)
{
	struct fz_fault f;
	bool faulted = fz_fault_take(&f, s, rq->method, rq->path);

	if (faulted) {
		if (f.delay_ms > 0)
			fz_sleep_ms(s, f.delay_ms);
		if (f.drop) {
			r->drop = true;
		} else if (f.status) {
			fz_reply_text(r, f.status, NULL, f.body);
			if (f.body && *f.body) {
				snprintf(r->ctype_buf, sizeof(r->ctype_buf),
					 "%s",
					 f.content_type ? f.content_type
							: "application/json");
				r->content_type = r->ctype_buf;
			}
		}
	}
	if (!r->drop && !r->status) {
		if (!starts_with(rq->path, "/api/") &&
		    !starts_with(rq->path, "/openapi/"))
			fz_reply_text(r, 404, "text/plain",
				      "404 page not found");
		else if (authorized(r, s, rq)) {
			pthread_mutex_lock(&s->lock);
			route(r, s, rq);
			pthread_mutex_unlock(&s->lock);
		}
	}
	record(s, rq, r);
	if (r->drop)
		fz_log(s, "%s %s dropped", rq->method, rq->raw_path);
	else
		fz_log(s, "%s %s %d", rq->method, rq->raw_path, r->status);
	if (faulted)
		fz_fault_dispose(&f);
}
