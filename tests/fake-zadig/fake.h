/* fake-zadig: an in-memory imitation of the Zadig Open API for end-to-end
 * tests and the demo. See README.md for the behaviours it imitates. */
#ifndef FAKE_ZADIG_FAKE_H
#define FAKE_ZADIG_FAKE_H

#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct MHD_Connection;

enum fz_kind { FZ_PRODUCT, FZ_CUSTOM };
enum fz_gen { FZ_V115, FZ_V117, FZ_V118 };

/* One workflow task, product or custom. */
struct fz_task {
	struct fz_task *next;
	enum fz_kind kind;
	char *workflow;
	long long id;
	char *status;
	int reads; /* detail reads since the (re)start */
	char *commit;
	char *project;
	char *env;
	json_object *targets;	     /* product: as sent */
	json_object *release_images; /* product: as sent */
	char *callback_url;	     /* product: NULL without callback */
	json_object *callback_vars;  /* product: NULL or as sent */
	json_object *inputs;	     /* custom: as sent */
	long long create_time, start_time, end_time;
	bool restarted;	    /* restarted tasks never call back again */
	bool callback_done; /* the one callback was queued */
	bool approved;
	char *verdict; /* "approve" / "reject" once decided */
	char *comment;
	long long verdict_time;
};

/* One injected fault (POST /__fake/fault). */
struct fz_fault {
	struct fz_fault *next;
	char *method; /* "*" for any */
	char *path;   /* prefix */
	int status;   /* 0: no canned reply */
	char *body;   /* NULL: empty */
	char *content_type;
	long delay_ms;
	bool drop;
	long times; /* -1: forever */
};

/* A completion callback waiting for the worker thread. */
struct fz_callback {
	struct fz_callback *next;
	char *url;
	char *body;
};

struct fz_settings {
	enum fz_gen gen;
	int steps;
	char final[32];
};

struct fz_server {
	pthread_mutex_t lock; /* guards everything below except stop and log */
	pthread_cond_t cb_cond;
	atomic_int stop;
	const char *token;
	const char *forbidden;
	char base_url[512];
	/* NULL, or where the repositories a product task builds are
	 * (<repo_root>/<repo_name>.git or <repo_root>/<repo_name>/.git):
	 * a task is the commit its first repository's branch is at when it
	 * is created, as Zadig knows the commit it built */
	const char *repo_root;
	struct fz_settings start, cur;
	struct fz_task *tasks, *tasks_tail;
	struct fz_fault *faults;
	json_object *requests; /* array of request records */
	struct fz_callback *cb_head, *cb_tail;
	bool cb_stop;
	FILE *log;
};

/* The reply a handler decides on; body is malloc'd or NULL. */
struct fz_reply {
	int status;
	const char *content_type;
	char *body;
	size_t len;
	bool drop;
	char ctype_buf[128]; /* for a content type that is not a literal */
};

/* What the access handler collected about one request. */
struct fz_request {
	const char *method;
	const char *path; /* decoded, for routing */
	char *raw_path;	  /* as sent, for the request log */
	char *raw_query;  /* as sent, "" when none */
	const char *body; /* NULL when none */
	size_t body_len;
	struct MHD_Connection *conn;
};

/* state.c */
const char *fz_gen_name(enum fz_gen gen);
int fz_gen_parse(enum fz_gen *out, const char *s);
bool fz_status_final(const char *status);
void fz_server_init(struct fz_server *s);
void fz_server_dispose(struct fz_server *s);
void fz_state_reset(struct fz_server *s);
struct fz_task *fz_task_find(struct fz_server *s, enum fz_kind kind,
			     const char *workflow, long long id);
struct fz_task *fz_task_add(struct fz_server *s, enum fz_kind kind,
			    const char *workflow, long long id);
void fz_task_set_status(struct fz_server *s, struct fz_task *t,
			const char *status);
void fz_task_advance(struct fz_server *s, struct fz_task *t);
void fz_task_restart(struct fz_task *t);
char *fz_task_url(struct fz_server *s, const struct fz_task *t);
json_object *fz_task_images(const struct fz_task *t);
json_object *fz_task_summary(struct fz_server *s, const struct fz_task *t);
bool fz_fault_take(struct fz_fault *out, struct fz_server *s,
		   const char *method, const char *path);
void fz_fault_dispose(struct fz_fault *f);
void fz_record(struct fz_server *s, json_object *rec);
void fz_log(struct fz_server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *fz_xstrdup(const char *s);
char *fz_json_dump(json_object *o, size_t *len);
json_object *fz_json_parse(const char *text, size_t len);
void fz_reply_json(struct fz_reply *r, int status, json_object *o);
void fz_reply_json_pretty(struct fz_reply *r, int status, json_object *o);
void fz_reply_text(struct fz_reply *r, int status, const char *ctype,
		   const char *text);
void fz_reply_zerr(struct fz_reply *r, int status, int code, const char *msg,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void fz_reply_internal(struct fz_reply *r, const char *description);
void fz_reply_proxied(struct fz_reply *r, int code, const char *msg,
		      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void fz_sleep_ms(struct fz_server *s, long ms);

/* api.c */
void fz_api_handle(struct fz_reply *r, struct fz_server *s,
		   const struct fz_request *rq);

/* control.c */
void fz_control_handle(struct fz_reply *r, struct fz_server *s,
		       const struct fz_request *rq);

/* callback.c */
void fz_callback_queue(struct fz_server *s, const struct fz_task *t);
void *fz_callback_worker(void *arg);

#endif
