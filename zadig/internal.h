/* Declarations shared by the files of zadig/ and by its unit tests; not
 * part of the public interface. Nothing here exposes json-c or curl. */
#ifndef ZH_ZADIG_INTERNAL_H
#define ZH_ZADIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "zadig/zadig.h"

/* ---- render.c: the exact request of each endpoint ---- */

/* Percent-encode s for a path segment or a query value (everything but
 * RFC 3986 unreserved characters). Returns a malloc'd string or NULL. */
char *zh_zadig_escape(const char *s);

/* Append "/" and the percent-encoded seg to b. Returns 0, ZH_ENOMEM or
 * ZH_ETOOBIG (b's cap). */
int zh_zadig_append_segment(struct zh_buf *b, const char *seg);

/* GET /api/directory/workflowTask?commitId=[&projectName=]. ZH_EINVALID
 * on an empty commit; project is optional. */
int zh_zadig_render_tasks_by_commit(struct zh_zadig_request *out,
				    const char *commit, const char *project,
				    struct zh_error *err);

/* GET /api/directory/workflowTask/id/:id/pipelines/:name[?projectName=] */
int zh_zadig_render_product_detail(struct zh_zadig_request *out,
				   const char *workflow, int64_t task_id,
				   const char *project, struct zh_error *err);

/* POST .../restart or .../cancel (action), no body. */
int zh_zadig_render_product_action(struct zh_zadig_request *out,
				   const char *workflow, int64_t task_id,
				   const char *project, const char *action,
				   struct zh_error *err);

/* GET (detail) or DELETE (cancel) /openapi/workflows/custom/task with
 * both query name sets and the JSON body. */
int zh_zadig_render_custom_task(struct zh_zadig_request *out,
				const char *method, const char *workflow,
				int64_t task_id, struct zh_error *err);

/* POST /openapi/workflows/custom/task/approve */
int zh_zadig_render_custom_approve(struct zh_zadig_request *out,
				   const char *workflow, int64_t task_id,
				   const char *stage, bool approve,
				   const char *comment, struct zh_error *err);

/* ---- parse.c: bodies -> structs (body need not be NUL-terminated) ---- */

/* Zadig's text s[0, len) for a message or a terminal, into dst (n bytes,
 * always NUL-terminated): at most max bytes, cut on a UTF-8 character
 * boundary, each control character a terminal obeys (ESC, BEL, CR, LF,
 * DEL..., C1 controls as UTF-8 or as a lone byte 0x80-0x9F, bidi
 * controls: zh_char_is_control) a space, no white space at the end. dst
 * may be s (max no less than len). */
void zh_zadig_clean(char *dst, size_t n, const char *s, size_t len, size_t max);

/* The web-UI page of a task:
 * "<base>/v1/projects/detail/<project>/pipelines/<kind>/<workflow>/<id>"
 * with kind "multi" or "custom". NULL when out of memory. */
char *zh_zadig_task_url(const char *base, const char *project, const char *kind,
			const char *workflow, int64_t task_id);

/* Whether an HTTP http answer with body is the one of a server without
 * the commitId lookup (v1.18+): 500 with "Invalid path" in the JSON
 * error's description. */
bool zh_zadig_lookup_gone(long http, const char *body, size_t len);

/* The commitId lookup answer (a JSON array, or null). A task's url is
 * Zadig's when it is a page of base, else the page built from base and
 * the names read from Zadig's url (NULL when it names none). */
int zh_zadig_parse_task_list(struct zh_zadig_task_list *out, const char *body,
			     size_t len, const char *base,
			     struct zh_error *err);

/* Whether body[0, len) is one JSON object (white space around it
 * aside). */
bool zh_zadig_json_object(const char *body, size_t len);

/* A create answer {project_name, workflow_name, task_id}; project and
 * workflow fill what the answer leaves out; custom picks the URL kind. */
int zh_zadig_parse_created(struct zh_zadig_created *out, const char *body,
			   size_t len, const char *base, const char *project,
			   const char *workflow, bool custom,
			   struct zh_error *err);

/* A product-workflow task detail; task_id and project fill what the
 * answer leaves out (project may be NULL). The url is Zadig's when it is
 * a page of base, else built from base, as for the lookup. */
int zh_zadig_parse_product_detail(struct zh_zadig_task *out, const char *body,
				  size_t len, const char *base,
				  const char *workflow, int64_t task_id,
				  const char *project, struct zh_error *err);

/* A custom-workflow task detail. */
int zh_zadig_parse_custom_detail(struct zh_zadig_task *out, const char *body,
				 size_t len, const char *base,
				 const char *workflow, int64_t task_id,
				 struct zh_error *err);

#endif
