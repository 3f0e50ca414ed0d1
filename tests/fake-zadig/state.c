/* fake-zadig state: tasks, faults, the request log and reply helpers. */
#include "tests/fake-zadig/fake.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/banned.h"

/* Keep a long-running demo from growing without bound. */
#define MAX_RECORDS 10000

char *fz_xstrdup(const char *s)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		abort();
	return p;
}

const char *fz_gen_name(enum fz_gen gen)
{
	switch (gen) {
	case FZ_V115:
		return "v1.15";
	case FZ_V117:
		return "v1.17";
	case FZ_V118:
		return "v1.18";
	}
	return "?";
}

int fz_gen_parse(enum fz_gen *out, const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "v1.15") || !strcmp(s, "1.15") || !strcmp(s, "v1.16"))
		*out = FZ_V115;
	else if (!strcmp(s, "v1.17") || !strcmp(s, "1.17"))
		*out = FZ_V117;
	else if (!strcmp(s, "v1.18") || !strcmp(s, "1.18"))
		*out = FZ_V118;
	else
		return -1;
	return 0;
}

bool fz_status_final(const char *status)
{
	static const char *const finals[] = {"passed",	  "failed", "timeout",
					     "cancelled", "reject", "skipped",
					     "unstable"};
	size_t i;

	for (i = 0; i < sizeof(finals) / sizeof(finals[0]); i++)
		if (!strcmp(status, finals[i]))
			return true;
	return false;
}

void fz_server_init(struct fz_server *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cb_cond, NULL);
	atomic_init(&s->stop, 0);
	s->requests = json_object_new_array();
}

static void task_free(struct fz_task *t)
{
	if (!t)
		return;
	free(t->workflow);
	free(t->status);
	free(t->commit);
	free(t->project);
	free(t->env);
	json_object_put(t->targets);
	json_object_put(t->release_images);
	free(t->callback_url);
	json_object_put(t->callback_vars);
	json_object_put(t->inputs);
	free(t->verdict);
	free(t->comment);
	free(t);
}

void fz_fault_dispose(struct fz_fault *f)
{
	if (!f)
		return;
	free(f->method);
	free(f->path);
	free(f->body);
	free(f->content_type);
}

static void clear_tasks_and_faults(struct fz_server *s)
{
	while (s->tasks) {
		struct fz_task *t = s->tasks;

		s->tasks = t->next;
		task_free(t);
	}
	s->tasks_tail = NULL;
	while (s->faults) {
		struct fz_fault *f = s->faults;

		s->faults = f->next;
		fz_fault_dispose(f);
		free(f);
	}
}

void fz_server_dispose(struct fz_server *s)
{
	clear_tasks_and_faults(s);
	while (s->cb_head) {
		struct fz_callback *c = s->cb_head;

		s->cb_head = c->next;
		free(c->url);
		free(c->body);
		free(c);
	}
	json_object_put(s->requests);
	s->requests = NULL;
	pthread_cond_destroy(&s->cb_cond);
	pthread_mutex_destroy(&s->lock);
}

/* Called with the lock held. */
void fz_state_reset(struct fz_server *s)
{
	clear_tasks_and_faults(s);
	json_object_put(s->requests);
	s->requests = json_object_new_array();
	s->cur = s->start;
}

struct fz_task *fz_task_find(struct fz_server *s, enum fz_kind kind,
			     const char *workflow, long long id)
{
	struct fz_task *t;

	if (!workflow)
		return NULL;
	for (t = s->tasks; t; t = t->next)
		if (t->kind == kind && t->id == id &&
		    !strcmp(t->workflow, workflow))
			return t;
	return NULL;
}

/* id <= 0 picks the next id of that workflow: one more than the highest. */
struct fz_task *fz_task_add(struct fz_server *s, enum fz_kind kind,
			    const char *workflow, long long id)
{
	struct fz_task *t;

	if (id <= 0) {
		id = 1;
		for (t = s->tasks; t; t = t->next)
			if (t->kind == kind && !strcmp(t->workflow, workflow) &&
			    t->id >= id)
				id = t->id + 1;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	t->kind = kind;
	t->workflow = fz_xstrdup(workflow);
	t->id = id;
	t->status = fz_xstrdup("created");
	t->project = fz_xstrdup("default");
	t->env = fz_xstrdup("");
	t->create_time = (long long)time(NULL);
	if (s->tasks_tail)
		s->tasks_tail->next = t;
	else
		s->tasks = t;
	s->tasks_tail = t;
	return t;
}

static bool cancelled_while_queued(const struct fz_task *t, const char *status)
{
	return !strcmp(status, "cancelled") && !strcmp(t->status, "created");
}

/* Every status change goes through here so that times and the completion
 * callback stay consistent. Called with the lock held. */
void fz_task_set_status(struct fz_server *s, struct fz_task *t,
			const char *status)
{
	long long now = (long long)time(NULL);
	bool queued = cancelled_while_queued(t, status);

	if (!strcmp(status, "created")) {
		t->start_time = 0;
		t->end_time = 0;
	} else if (!t->start_time && !queued) {
		t->start_time = now;
	}
	if (fz_status_final(status) && !t->end_time)
		t->end_time = now;
	if (!fz_status_final(status))
		t->end_time = 0;
	free(t->status);
	t->status = fz_xstrdup(status);

	/* Zadig calls back once, not for tasks cancelled while queued, tasks
	 * that end skipped, or re-runs after a restart. */
	if (t->kind == FZ_PRODUCT && t->callback_url && !t->restarted &&
	    !t->callback_done && !queued &&
	    (!strcmp(status, "passed") || !strcmp(status, "failed") ||
	     !strcmp(status, "timeout") || !strcmp(status, "cancelled"))) {
		t->callback_done = true;
		fz_callback_queue(s, t);
	}
}

static const char *final_status(struct fz_server *s, const struct fz_task *t)
{
	if (strstr(t->workflow, "fail"))
		return "failed";
	return s->cur.final;
}

/* One detail read: created -> running ... -> final after `steps` reads.
 * Called with the lock held. */
void fz_task_advance(struct fz_server *s, struct fz_task *t)
{
	int steps = s->cur.steps > 0 ? s->cur.steps : 1;

	if (fz_status_final(t->status) || !strcmp(t->status, "waitforapprove"))
		return;
	t->reads++;
	if (strstr(t->workflow, "slow") || t->reads < steps) {
		fz_task_set_status(s, t, "running");
		return;
	}
	if (t->kind == FZ_CUSTOM && strstr(t->workflow, "approval") &&
	    !t->approved) {
		fz_task_set_status(s, t, "waitforapprove");
		return;
	}
	fz_task_set_status(s, t, final_status(s, t));
}

void fz_task_restart(struct fz_task *t)
{
	t->restarted = true;
	t->reads = 0;
	t->start_time = 0;
	t->end_time = 0;
	free(t->status);
	t->status = fz_xstrdup("created");
}

char *fz_task_url(struct fz_server *s, const struct fz_task *t)
{
	size_t n =
	    strlen(s->base_url) + strlen(t->project) + strlen(t->workflow) + 96;
	char *url = malloc(n);

	if (!url)
		abort();
	if (t->kind == FZ_PRODUCT)
		snprintf(url, n,
			 "%s/v1/projects/detail/%s/pipelines/multi/%s/%lld",
			 s->base_url, t->project, t->workflow, t->id);
	else
		snprintf(url, n,
			 "%s/v1/projects/detail/%s/pipelines/custom/%s/%lld",
			 s->base_url, t->project, t->workflow, t->id);
	return url;
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

json_object *fz_task_summary(struct fz_server *s, const struct fz_task *t)
{
	json_object *o = json_object_new_object();
	char *url = fz_task_url(s, t);

	json_object_object_add(o, "kind",
			       json_object_new_string(t->kind == FZ_PRODUCT
							  ? "product"
							  : "custom"));
	json_object_object_add(o, "workflow",
			       json_object_new_string(t->workflow));
	json_object_object_add(o, "task_id", json_object_new_int64(t->id));
	json_object_object_add(o, "status", json_object_new_string(t->status));
	json_object_object_add(o, "commit", str_or_null(t->commit));
	json_object_object_add(o, "project",
			       json_object_new_string(t->project));
	json_object_object_add(o, "callback_url", str_or_null(t->callback_url));
	json_object_object_add(o, "reads", json_object_new_int(t->reads));
	json_object_object_add(o, "restarted",
			       json_object_new_boolean(t->restarted));
	json_object_object_add(o, "create_time",
			       json_object_new_int64(t->create_time));
	json_object_object_add(o, "start_time",
			       json_object_new_int64(t->start_time));
	json_object_object_add(o, "end_time",
			       json_object_new_int64(t->end_time));
	json_object_object_add(o, "url", json_object_new_string(url));
	free(url);
	return o;
}

static bool fault_matches(const struct fz_fault *f, const char *method,
			  const char *path)
{
	if (strcmp(f->method, "*") && strcasecmp(f->method, method))
		return false;
	return !strncmp(path, f->path, strlen(f->path));
}

/* Consume the first matching fault; *out gets a copy the caller disposes. */
bool fz_fault_take(struct fz_fault *out, struct fz_server *s,
		   const char *method, const char *path)
{
	struct fz_fault **pp, *f;
	bool found = false;

	pthread_mutex_lock(&s->lock);
	for (pp = &s->faults; (f = *pp); pp = &f->next) {
		if (!fault_matches(f, method, path))
			continue;
		*out = *f;
		out->next = NULL;
		out->method = fz_xstrdup(f->method);
		out->path = fz_xstrdup(f->path);
		out->body = fz_xstrdup(f->body);
		out->content_type = fz_xstrdup(f->content_type);
		if (f->times > 0 && --f->times == 0) {
			*pp = f->next;
			fz_fault_dispose(f);
			free(f);
		}
		found = true;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* Takes ownership of rec. */
void fz_record(struct fz_server *s, json_object *rec)
{
	pthread_mutex_lock(&s->lock);
	if (json_object_array_length(s->requests) >= MAX_RECORDS)
		json_object_array_del_idx(s->requests, 0, 1);
	json_object_array_add(s->requests, rec);
	pthread_mutex_unlock(&s->lock);
}

void fz_log(struct fz_server *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	flockfile(s->log);
	vfprintf(s->log, fmt, ap);
	fputc('\n', s->log);
	fflush(s->log);
	funlockfile(s->log);
	va_end(ap);
}

char *fz_json_dump(json_object *o, size_t *len)
{
	size_t n = 0;
	const char *text = json_object_to_json_string_length(
	    o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	char *copy = malloc(n + 1);

	if (!copy)
		abort();
	memcpy(copy, text, n);
	copy[n] = '\0';
	if (len)
		*len = n;
	return copy;
}

/* NULL unless text is exactly one JSON value. */
json_object *fz_json_parse(const char *text, size_t len)
{
	struct json_tokener *tok;
	json_object *o;
	size_t used;

	if (!text || !len || len > (size_t)INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		abort();
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	} else {
		used = json_tokener_get_parse_end(tok);
		for (; used < len; used++) {
			if (!strchr(" \t\r\n", text[used])) {
				json_object_put(o);
				o = NULL;
				break;
			}
		}
	}
	json_tokener_free(tok);
	return o;
}

/* Takes ownership of o. */
void fz_reply_json(struct fz_reply *r, int status, json_object *o)
{
	r->status = status;
	r->content_type = "application/json; charset=utf-8";
	r->body = fz_json_dump(o, &r->len);
	json_object_put(o);
}

void fz_reply_text(struct fz_reply *r, int status, const char *ctype,
		   const char *text)
{
	r->status = status;
	r->content_type = ctype;
	r->body = text ? fz_xstrdup(text) : NULL;
	r->len = text ? strlen(text) : 0;
}

/* The control plane's replies, pretty so that tests can grep lines. */
void fz_reply_json_pretty(struct fz_reply *r, int status, json_object *o)
{
	size_t n = 0;
	const char *text = json_object_to_json_string_length(
	    o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		JSON_C_TO_STRING_NOSLASHESCAPE,
	    &n);

	r->status = status;
	r->content_type = "application/json; charset=utf-8";
	r->body = malloc(n + 1);
	if (!r->body)
		abort();
	memcpy(r->body, text, n);
	r->body[n] = '\0';
	r->len = n;
	json_object_put(o);
}

/* Zadig's business error: {"type","code","message","description","extra"}. */
void fz_reply_zerr(struct fz_reply *r, int status, int code, const char *msg,
		   const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char desc[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "type", json_object_new_string("error"));
	json_object_object_add(o, "code", json_object_new_int(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "description", json_object_new_string(desc));
	json_object_object_add(o, "extra", json_object_new_object());
	fz_reply_json(r, status, o);
}

/* Zadig's other failures: HTTP 500 without type and extra. */
void fz_reply_internal(struct fz_reply *r, const char *description)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "code", json_object_new_int(500));
	json_object_object_add(o, "description",
			       json_object_new_string(description));
	json_object_object_add(o, "message",
			       json_object_new_string("Internal Error: "));
	fz_reply_json(r, 500, o);
}

/* A business error of Zadig's backend (aslan) that the Open API front
 * (picket) proxied: HTTP 500 "Internal Error: " whose description is
 * "[400 BadRequest] " and the backend's error, its keys in Go's order. */
void fz_reply_proxied(struct fz_reply *r, int code, const char *msg,
		      const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char desc[1024], *inner, *outer;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "code", json_object_new_int(code));
	json_object_object_add(o, "description", json_object_new_string(desc));
	json_object_object_add(o, "extra", json_object_new_object());
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "type", json_object_new_string("error"));
	inner = fz_json_dump(o, NULL);
	n = strlen(inner) + 32;
	outer = malloc(n);
	if (!outer)
		abort();
	snprintf(outer, n, "[400 BadRequest] %s", inner);
	fz_reply_internal(r, outer);
	free(outer);
	free(inner);
	json_object_put(o);
}

/* Sleeps in short slices so that shutdown is never held up by a delay. */
void fz_sleep_ms(struct fz_server *s, long ms)
{
	while (ms > 0 && !atomic_load(&s->stop)) {
		long slice = ms < 20 ? ms : 20;
		struct timespec ts = {0, slice * 1000000L};

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		ms -= slice;
	}
}

/* What a product task "built": one image per target, else the release
 * images it was given. */
json_object *fz_task_images(const struct fz_task *t)
{
	json_object *arr = json_object_new_array();
	size_t i, n;

	if (t->targets && json_object_array_length(t->targets) > 0) {
		n = json_object_array_length(t->targets);
		for (i = 0; i < n; i++) {
			json_object *tg =
			    json_object_array_get_idx(t->targets, i);
			json_object *name = NULL,
				    *img = json_object_new_object();
			const char *svc = "";
			char ref[512];

			if (json_object_object_get_ex(tg, "name", &name))
				svc = json_object_get_string(name);
			snprintf(ref, sizeof(ref), "registry.local/%s:%lld",
				 svc, t->id);
			json_object_object_add(img, "image",
					       json_object_new_string(ref));
			json_object_object_add(img, "service_name",
					       json_object_new_string(svc));
			json_object_object_add(
			    img, "registry_repo",
			    json_object_new_string("registry.local"));
			json_object_array_add(arr, img);
		}
	} else if (t->release_images) {
		n = json_object_array_length(t->release_images);
		for (i = 0; i < n; i++) {
			json_object *ri =
			    json_object_array_get_idx(t->release_images, i);
			json_object *v, *img = json_object_new_object();

			json_object_object_add(
			    img, "image",
			    json_object_new_string(
				json_object_object_get_ex(ri, "image", &v)
				    ? json_object_get_string(v)
				    : ""));
			json_object_object_add(
			    img, "service_name",
			    json_object_new_string(
				json_object_object_get_ex(ri, "service_name",
							  &v)
				    ? json_object_get_string(v)
				    : ""));
			json_object_object_add(
			    img, "registry_repo",
			    json_object_new_string("registry.local"));
			json_object_array_add(arr, img);
		}
	}
	return arr;
}
