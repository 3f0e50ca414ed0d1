/* Zadig workflow Open API client: one function per endpoint of
 * shared/seed/zadig-workflow-openapi.md, working with every server
 * generation described in shared/zadig-api-notes.md.
 *
 * json-c is used only inside zadig/. Every request sends
 * "Authorization: Bearer <token>"; the token never appears in an error
 * message, a log line or a process argument.
 *
 * Errors (struct zh_error): err->http holds the HTTP status, err->zadig_code
 * Zadig's business code; err->msg reads e.g.
 *   "zadig 6163: 取消工作流任务失败 (task: build-images:20 is passed, cannot cancel)"
 * Return codes: ZH_EZADIG (Zadig refused: 4xx/5xx with or without a body, or
 * a 200 with a non-zero resultCode), ZH_EAUTH (401/403), ZH_ENET (refused,
 * reset, DNS, TLS), ZH_ETIMEOUT, ZH_ETOOBIG (body over the cap), ZH_EPROTO
 * (2xx body we cannot parse), ZH_ENOTFOUND (commitId lookup gone: see
 * zh_zadig_tasks_by_commit), ZH_ENOMEM, ZH_EINVALID (bad arguments). */
/* For an error Zadig proxied from its backend, err->proxied_http holds the
 * backend's status (zh_zadig_error_status). */
#ifndef ZH_ZADIG_ZADIG_H
#define ZH_ZADIG_ZADIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/value.h"

struct zh_zadig; /* a client: one curl handle reused for every call */

struct zh_zadig_opts {
	const char *url;      /* base URL, http or https, no trailing path */
	const char *token;    /* API token; copied, never logged */
	/* where the token is configured, named when Zadig refuses it
	 * ("zadig.token_file '/etc/zadig-hook/token'"); NULL: zadig.token */
	const char *token_name;
	long timeout_ms;      /* per request; 0 means 10 s */
	long connect_timeout_ms; /* 0 means min(timeout, 5 s) */
	const char *ca_file;  /* optional CA bundle */
	bool insecure;        /* skip TLS verification */
	size_t max_body;      /* response cap; 0 means 8 MiB */
	int get_retries;      /* extra tries for GETs on network/5xx; -1 = 2;
				 never on a TLS certificate or CA file
				 problem, nor on v1.18's 500 "Invalid
				 path" */
	long retry_base_ms;   /* first back-off for GET retries; 0 = 200 ms */
};

/* Create a client. Returns 0 or ZH_EINVALID (bad URL) / ZH_ENOMEM.
 * Free with zh_zadig_free. */
int zh_zadig_new(struct zh_zadig **out, const struct zh_zadig_opts *opts,
		 struct zh_error *err);
void zh_zadig_free(struct zh_zadig *z);

/* Bound every later call of z by deadline_ms (wall-clock milliseconds
 * since the epoch, as zh_store_now_ms; 0: none, the default): the timeout
 * and connect timeout of each try are cut to what is left, a GET is
 * retried only while its back-off and another try fit before it, and a
 * call that finds nothing left fails with ZH_ETIMEOUT before it sends
 * anything (zh_zadig_unsent). */
void zh_zadig_set_deadline(struct zh_zadig *z, int64_t deadline_ms);

/* The base URL the client was made with (no trailing slash). */
const char *zh_zadig_base_url(const struct zh_zadig *z);

/* True when the last call of z failed with ZH_ENET before any byte of
 * its request was sent (DNS, connect, TLS handshake or certificate
 * check), or with ZH_ETIMEOUT because its deadline had come before it
 * was sent: Zadig cannot have acted on it, so a create may be sent again
 * at once. False after an answer, a timeout or a reset, which may have
 * reached Zadig. NULL-safe (false). */
bool zh_zadig_unsent(const struct zh_zadig *z);

/* True when the last call of z was answered 2xx and still could not be
 * used: Zadig's JSON without what the call needed (a create answer
 * without a usable task_id: missing, 0, out of range), or a body over
 * the size cap. Zadig may well have done what was asked (made the task),
 * so a create must not be sent again blindly. False after an error
 * answer, a 2xx that is not JSON (a proxy's page), or no answer.
 * NULL-safe (false). */
bool zh_zadig_answer_unread(const struct zh_zadig *z);

/* ---- requests ---- */

struct zh_zadig_repo { /* one repository of a build target */
	char *repo_name;
	char *branch;
	int64_t pr;
};

struct zh_zadig_target {
	char *name;
	char *service_type; /* "k8s" (default when NULL) or "helm" */
	struct zh_zadig_repo *repos;
	size_t nrepos;
};

struct zh_zadig_kv { /* a flat string pair (callback_vars) */
	char *key;
	char *value;
};

/* POST /api/directory/workflowTask/create */
struct zh_zadig_product_req {
	char *workflow_name;
	char *env_name;
	char *project;     /* optional: ?projectName= and product_tmpl_name */
	struct zh_zadig_target *targets;
	size_t ntargets;
	struct zh_value *release_images; /* optional LIST of MAPs, as in seed */
	char *callback_url;              /* optional */
	struct zh_zadig_kv *callback_vars;
	size_t ncallback_vars;
};

/* POST /openapi/workflows/custom/task */
struct zh_zadig_custom_req {
	char *project;       /* sent as project_name and project_key */
	char *workflow_name; /* sent as workflow_name and workflow_key */
	struct zh_value *inputs; /* LIST, the seed's Input list, sent as is */
};

/* Free the members of a request the caller filled with malloc'd strings
 * (and zh_value trees); leaves the struct zeroed. NULL-safe. */
void zh_zadig_product_req_dispose(struct zh_zadig_product_req *r);
void zh_zadig_custom_req_dispose(struct zh_zadig_custom_req *r);

/* A request rendered but not sent: what `git zadig trigger --dry-run`
 * prints and what the client sends. */
struct zh_zadig_request {
	const char *method; /* static string: "GET", "POST", "DELETE" */
	char *path;         /* path and query, URL-encoded, from the base URL */
	char *body;         /* JSON text, or NULL for no body */
};
void zh_zadig_request_dispose(struct zh_zadig_request *r);

/* Build the exact request for an endpoint without sending it.
 * Returns 0, ZH_EINVALID (missing required field, named in err) or
 * ZH_ENOMEM. Caller disposes *out. */
int zh_zadig_render_product_create(struct zh_zadig_request *out,
				   const struct zh_zadig_product_req *req,
				   struct zh_error *err);
int zh_zadig_render_custom_create(struct zh_zadig_request *out,
				  const struct zh_zadig_custom_req *req,
				  struct zh_error *err);

/* ---- results ---- */

struct zh_zadig_created { /* both create endpoints */
	int64_t task_id;
	char *workflow_name;
	char *project_name;
	char *url; /* web-UI page of the task (built from base URL) */
};
void zh_zadig_created_dispose(struct zh_zadig_created *c);

struct zh_zadig_test_report {
	char *test_name;
	int64_t tests, successes, failures, skips, errors;
	char *detail_url; /* absolute (base URL prefixed) */
};

struct zh_zadig_job {
	char *name, *type, *status;
	int64_t start_time, end_time;
};

struct zh_zadig_approval {
	bool enabled;
	char *reject_or_approve; /* "approve", "reject" or NULL */
	char *description;
	int64_t needed_approvers;
	int64_t timeout_min;
};

struct zh_zadig_stage {
	char *name, *status;
	int64_t start_time, end_time;
	struct zh_zadig_approval approval;
	struct zh_zadig_job *jobs;
	size_t njobs;
};

struct zh_zadig_image {
	char *image, *service_name, *registry_repo;
};

/* A task as any endpoint describes it. Fields an endpoint does not send
 * are NULL / 0. status is whatever Zadig said (any string). Every string
 * but raw_json comes cleaned as zh_zadig_task_clean cleans it. */
struct zh_zadig_task {
	int64_t task_id;
	char *workflow_name; /* display name (or the key on old servers) */
	char *workflow_key;  /* custom workflows on v1.18+, else NULL */
	char *project_name;
	char *status;
	char *url;           /* web-UI page, absolute */
	char *env_name;
	char *task_creator;
	int64_t create_time, start_time, end_time; /* unix s, 0 = not yet */
	bool custom;         /* from a custom-workflow endpoint */
	struct zh_zadig_test_report *test_reports;
	size_t ntest_reports;
	struct zh_zadig_image *images;
	size_t nimages;
	struct zh_zadig_stage *stages;
	size_t nstages;
	char *raw_json; /* the response body as received (for --json),
			   control characters in strings escaped */
};
void zh_zadig_task_dispose(struct zh_zadig_task *t);

/* Blank the control characters of every string of t (raw_json aside) in
 * place, as error messages have them, and drop the white space at their
 * ends: Zadig's text, printed for people, must not drive the terminal. */
void zh_zadig_task_clean(struct zh_zadig_task *t);

struct zh_zadig_task_list {
	struct zh_zadig_task *items;
	size_t len;
};
void zh_zadig_task_list_dispose(struct zh_zadig_task_list *l);

/* True when Zadig considers status final (passed, failed, timeout,
 * cancelled, reject, skipped, unstable); unknown strings are not final. */
bool zh_zadig_status_is_final(const char *status);

/* Whether product task t (from zh_zadig_product_detail) may have been
 * made by the create request with body create_body (rendered by
 * zh_zadig_render_product_create): false only when t builds a repository
 * the body builds from another branch or pr (a task someone started for
 * another branch, or the request of another ref). What cannot be told
 * (no targets on either side, a body that is not JSON) fits. */
bool zh_zadig_task_fits_create(const struct zh_zadig_task *t,
			       const char *create_body);

/* ---- endpoints ---- */

/* GET /api/directory/workflowTask?commitId=<commit>. commit must be
 * non-empty (an empty one matches everything). project is optional
 * (&projectName=: older servers need it for users who are not admins).
 * Returns ZH_ENOTFOUND with a clear message when the server no longer
 * has the endpoint (v1.18+: HTTP 500, "Invalid path" in the
 * description); callers switch the lookup off. Any other error answer, a
 * 404 included, is ZH_EZADIG. */
int zh_zadig_tasks_by_commit(struct zh_zadig_task_list *out, struct zh_zadig *z,
			     const char *commit, const char *project,
			     struct zh_error *err);

/* POST /api/directory/workflowTask/create */
int zh_zadig_product_create(struct zh_zadig_created *out, struct zh_zadig *z,
			    const struct zh_zadig_product_req *req,
			    struct zh_error *err);

/* Send a create request rendered earlier by zh_zadig_render_*_create
 * (and kept in the state store), as zh_zadig_product_create (custom
 * false) or zh_zadig_custom_create would. project and workflow name the
 * task for its URL when the reply does not. */
int zh_zadig_send_create(struct zh_zadig_created *out, struct zh_zadig *z,
			 const struct zh_zadig_request *req, bool custom,
			 const char *project, const char *workflow,
			 struct zh_error *err);

/* GET /api/directory/workflowTask/id/:id/pipelines/:name
 * project is optional (?projectName=). */
int zh_zadig_product_detail(struct zh_zadig_task *out, struct zh_zadig *z,
			    const char *workflow, int64_t task_id,
			    const char *project, struct zh_error *err);

/* POST .../restart and POST .../cancel. A 200 with a non-zero resultCode
 * is ZH_EZADIG (ZH_EAUTH for 401 and 403); Zadig says no more than
 * resultCode 500 "fail" of why it did not restart or cancel a task. */
int zh_zadig_product_restart(struct zh_zadig *z, const char *workflow,
			     int64_t task_id, const char *project,
			     struct zh_error *err);
int zh_zadig_product_cancel(struct zh_zadig *z, const char *workflow,
			    int64_t task_id, const char *project,
			    struct zh_error *err);

/* POST /openapi/workflows/custom/task */
int zh_zadig_custom_create(struct zh_zadig_created *out, struct zh_zadig *z,
			   const struct zh_zadig_custom_req *req,
			   struct zh_error *err);

/* GET /openapi/workflows/custom/task (query with both name sets, and the
 * v1.15 JSON body on the GET). */
int zh_zadig_custom_detail(struct zh_zadig_task *out, struct zh_zadig *z,
			   const char *workflow, int64_t task_id,
			   struct zh_error *err);

/* DELETE /openapi/workflows/custom/task (query and JSON body). */
int zh_zadig_custom_cancel(struct zh_zadig *z, const char *workflow,
			   int64_t task_id, struct zh_error *err);

/* POST /openapi/workflows/custom/task/approve */
int zh_zadig_custom_approve(struct zh_zadig *z, const char *workflow,
			    int64_t task_id, const char *stage, bool approve,
			    const char *comment, struct zh_error *err);

/* ---- pure helpers, exposed for tests ---- */

/* Turn an HTTP reply into 0 or an error exactly as the endpoints do:
 * status, body (may be NULL/empty). Fills err. */
int zh_zadig_check_reply(long http, const char *body, size_t len,
			 struct zh_error *err);

/* What Zadig answered a call that failed with err: for an error Zadig
 * proxied from its backend (HTTP 500, "[400 BadRequest] {...}" in the
 * description: err->proxied_http) the backend's status, else the HTTP
 * status (0: no answer). It tells what became of the request (a 4xx was
 * refused, a 5xx may go better later); err->http stays what the logs
 * show. A proxied 401 or 403 is ZH_EAUTH, as a plain one. */
int zh_zadig_error_status(const struct zh_error *err);

/* The 2xx body of an action (restart, cancel, approve): empty or JSON
 * ({"message":"success"}); anything else, say a login page a proxy
 * answered 200 with, means the action never reached Zadig: ZH_EPROTO. */
int zh_zadig_check_ack(const char *body, size_t len, struct zh_error *err);

#endif
