/* fake-zadig control plane (/__fake/...): no auth, JSON in and out. */
#include "tests/fake-zadig/fake.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static void reply_error(struct fz_reply *r, const char *what)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(what));
	fz_reply_json_pretty(r, 400, o);
}

static void reply_ok(struct fz_reply *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(true));
	fz_reply_json_pretty(r, 200, o);
}

/* Member key of type want; *out NULL when absent or null. Returns -1 when
 * present with another type. */
static int member(json_object **out, json_object *o, const char *key,
		  json_type want)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, want))
		return -1;
	*out = v;
	return 0;
}

/* Called with the lock held. */
static json_object *config_json(struct fz_server *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "generation",
			       json_object_new_string(fz_gen_name(s->cur.gen)));
	json_object_object_add(o, "steps", json_object_new_int(s->cur.steps));
	json_object_object_add(o, "final",
			       json_object_new_string(s->cur.final));
	return o;
}

static void post_config(struct fz_reply *r, struct fz_server *s,
			json_object *body)
{
	json_object *gen, *steps, *fin;
	struct fz_settings next;

	if (member(&gen, body, "generation", json_type_string) ||
	    member(&steps, body, "steps", json_type_int) ||
	    member(&fin, body, "final", json_type_string)) {
		reply_error(r, "generation and final are strings, steps an "
			       "integer");
		return;
	}
	pthread_mutex_lock(&s->lock);
	next = s->cur;
	if (gen && fz_gen_parse(&next.gen, json_object_get_string(gen))) {
		pthread_mutex_unlock(&s->lock);
		reply_error(r, "generation must be v1.15, v1.17 or v1.18");
		return;
	}
	if (steps) {
		int n = json_object_get_int(steps);

		if (n < 1 || n > 1000) {
			pthread_mutex_unlock(&s->lock);
			reply_error(r, "steps must be 1 to 1000");
			return;
		}
		next.steps = n;
	}
	if (fin) {
		const char *f = json_object_get_string(fin);

		if (!*f || strlen(f) >= sizeof(next.final)) {
			pthread_mutex_unlock(&s->lock);
			reply_error(r, "final must be a status name");
			return;
		}
		snprintf(next.final, sizeof(next.final), "%s", f);
	}
	s->cur = next;
	fz_reply_json_pretty(r, 200, config_json(s));
	pthread_mutex_unlock(&s->lock);
}

static void post_fault(struct fz_reply *r, struct fz_server *s,
		       json_object *body)
{
	json_object *method, *path, *status, *fbody, *ctype, *delay, *drop,
	    *times;
	struct fz_fault *f, **pp;

	if (member(&method, body, "method", json_type_string) ||
	    member(&path, body, "path", json_type_string) ||
	    member(&status, body, "status", json_type_int) ||
	    member(&fbody, body, "body", json_type_string) ||
	    member(&ctype, body, "content_type", json_type_string) ||
	    member(&delay, body, "delay_ms", json_type_int) ||
	    member(&drop, body, "drop", json_type_boolean) ||
	    member(&times, body, "times", json_type_int)) {
		reply_error(r, "bad fault: method, path, body, content_type "
			       "are strings; status, delay_ms, times integers; "
			       "drop a boolean");
		return;
	}
	if (status && (json_object_get_int(status) < 100 ||
		       json_object_get_int(status) > 599)) {
		reply_error(r, "status must be 100 to 599");
		return;
	}
	if (times && (json_object_get_int64(times) == 0 ||
		      json_object_get_int64(times) < -1)) {
		reply_error(r, "times must be positive or -1");
		return;
	}
	if (delay && (json_object_get_int64(delay) < 0 ||
		      json_object_get_int64(delay) > 600000)) {
		reply_error(r, "delay_ms must be 0 to 600000");
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->method = fz_xstrdup(method ? json_object_get_string(method) : "*");
	f->path = fz_xstrdup(path ? json_object_get_string(path) : "");
	f->status = status ? json_object_get_int(status) : 0;
	f->body = fbody ? fz_xstrdup(json_object_get_string(fbody)) : NULL;
	f->content_type =
	    ctype ? fz_xstrdup(json_object_get_string(ctype)) : NULL;
	f->delay_ms = delay ? (long)json_object_get_int64(delay) : 0;
	f->drop = drop && json_object_get_boolean(drop);
	f->times = times ? (long)json_object_get_int64(times) : 1;
	pthread_mutex_lock(&s->lock);
	for (pp = &s->faults; *pp; pp = &(*pp)->next)
		;
	*pp = f;
	pthread_mutex_unlock(&s->lock);
	reply_ok(r);
}

static void get_faults(struct fz_reply *r, struct fz_server *s)
{
	json_object *arr = json_object_new_array();
	struct fz_fault *f;

	pthread_mutex_lock(&s->lock);
	for (f = s->faults; f; f = f->next) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "method",
				       json_object_new_string(f->method));
		json_object_object_add(o, "path",
				       json_object_new_string(f->path));
		json_object_object_add(o, "status",
				       json_object_new_int(f->status));
		json_object_object_add(o, "body",
				       f->body ? json_object_new_string(f->body)
					       : NULL);
		json_object_object_add(o, "delay_ms",
				       json_object_new_int64(f->delay_ms));
		json_object_object_add(o, "drop",
				       json_object_new_boolean(f->drop));
		json_object_object_add(o, "times",
				       json_object_new_int64(f->times));
		json_object_array_add(arr, o);
	}
	pthread_mutex_unlock(&s->lock);
	fz_reply_json_pretty(r, 200, arr);
}

static void get_tasks(struct fz_reply *r, struct fz_server *s)
{
	json_object *arr = json_object_new_array();
	struct fz_task *t;

	pthread_mutex_lock(&s->lock);
	for (t = s->tasks; t; t = t->next)
		json_object_array_add(arr, fz_task_summary(s, t));
	pthread_mutex_unlock(&s->lock);
	fz_reply_json_pretty(r, 200, arr);
}

static void set_str(char **field, json_object *v)
{
	free(*field);
	*field = fz_xstrdup(json_object_get_string(v));
}

/* Sets or creates a task, e.g. one "started by others". */
static void post_task(struct fz_reply *r, struct fz_server *s,
		      json_object *body)
{
	json_object *kind, *wf, *id, *status, *commit = NULL, *project, *ctime,
					      *cb;
	enum fz_kind k = FZ_PRODUCT;
	struct fz_task *t;
	bool clear_commit;

	if (member(&kind, body, "kind", json_type_string) ||
	    member(&wf, body, "workflow", json_type_string) ||
	    member(&id, body, "task_id", json_type_int) ||
	    member(&status, body, "status", json_type_string) ||
	    member(&commit, body, "commit", json_type_string) ||
	    member(&project, body, "project", json_type_string) ||
	    member(&ctime, body, "create_time", json_type_int) ||
	    member(&cb, body, "callback_url", json_type_string)) {
		reply_error(r, "bad task: task_id and create_time are "
			       "integers, the rest strings");
		return;
	}
	if (!wf || !*json_object_get_string(wf)) {
		reply_error(r, "workflow is required");
		return;
	}
	if (kind && !strcmp(json_object_get_string(kind), "custom"))
		k = FZ_CUSTOM;
	else if (kind && strcmp(json_object_get_string(kind), "product")) {
		reply_error(r, "kind must be product or custom");
		return;
	}
	if (status && !*json_object_get_string(status)) {
		reply_error(r, "status must not be empty");
		return;
	}
	clear_commit =
	    json_object_object_get_ex(body, "commit", NULL) && !commit;

	pthread_mutex_lock(&s->lock);
	t = id ? fz_task_find(s, k, json_object_get_string(wf),
			      json_object_get_int64(id))
	       : NULL;
	if (!t)
		t = fz_task_add(s, k, json_object_get_string(wf),
				id ? json_object_get_int64(id) : 0);
	if (commit)
		set_str(&t->commit, commit);
	else if (clear_commit) {
		free(t->commit);
		t->commit = NULL;
	}
	if (project)
		set_str(&t->project, project);
	if (ctime)
		t->create_time = json_object_get_int64(ctime);
	if (cb)
		set_str(&t->callback_url, cb);
	if (status) {
		const char *st = json_object_get_string(status);

		if (!strcmp(st, "created"))
			t->reads = 0;
		else if (!t->reads)
			t->reads = 1;
		fz_task_set_status(s, t, st);
	}
	fz_reply_json_pretty(r, 200, fz_task_summary(s, t));
	pthread_mutex_unlock(&s->lock);
}

void fz_control_handle(struct fz_reply *r, struct fz_server *s,
		       const struct fz_request *rq)
{
	const char *p = rq->path, *m = rq->method;
	bool get = !strcmp(m, "GET"), post = !strcmp(m, "POST");
	json_object *body = NULL;

	if (post && strcmp(p, "/__fake/reset")) {
		body = fz_json_parse(rq->body, rq->body_len);
		if (!body || !json_object_is_type(body, json_type_object)) {
			reply_error(r, "body must be a json object");
			goto out;
		}
	}
	if (get && !strcmp(p, "/__fake/requests")) {
		pthread_mutex_lock(&s->lock);
		fz_reply_json_pretty(r, 200, json_object_get(s->requests));
		pthread_mutex_unlock(&s->lock);
	} else if (post && !strcmp(p, "/__fake/reset")) {
		pthread_mutex_lock(&s->lock);
		fz_state_reset(s);
		pthread_mutex_unlock(&s->lock);
		reply_ok(r);
	} else if (post && !strcmp(p, "/__fake/fault")) {
		post_fault(r, s, body);
	} else if (get && !strcmp(p, "/__fake/faults")) {
		get_faults(r, s);
	} else if (post && !strcmp(p, "/__fake/config")) {
		post_config(r, s, body);
	} else if (get && !strcmp(p, "/__fake/config")) {
		pthread_mutex_lock(&s->lock);
		fz_reply_json_pretty(r, 200, config_json(s));
		pthread_mutex_unlock(&s->lock);
	} else if (get && !strcmp(p, "/__fake/tasks")) {
		get_tasks(r, s);
	} else if (post && !strcmp(p, "/__fake/tasks")) {
		post_task(r, s, body);
	} else {
		fz_reply_text(r, 404, "text/plain", "404 page not found");
	}
out:
	json_object_put(body);
	fz_log(s, "%s %s %d", m, rq->raw_path, r->status);
}
