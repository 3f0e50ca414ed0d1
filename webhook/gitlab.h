/* The bodies the receiver is sent (design.md §6): a GitLab push, tag push
 * or merge request event, and Zadig's workflow notification, read with
 * yajl's event parser into plain structs. Pure functions: no I/O. */
#ifndef ZH_WEBHOOK_GITLAB_H
#define ZH_WEBHOOK_GITLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Bodies nest a few levels; deeper ones are refused. */
#define ZH_GITLAB_MAX_DEPTH 64

enum zh_gitlab_kind {
	ZH_GITLAB_OTHER = 0, /* an object_kind the receiver does not handle */
	ZH_GITLAB_PUSH,
	ZH_GITLAB_TAG_PUSH,
	ZH_GITLAB_MERGE_REQUEST,
};

/* An event's memory: its strings and arrays, in a few blocks freed
 * together (a push's are twenty-five or more; one allocation each cost
 * ~1 us of the receiver's ~30 an event: docs/BENCHMARKS.md, seventeenth
 * measurement). */
struct zh_gitlab_mem;

struct zh_gitlab_commit { /* in the event's mem; any string may be NULL
			   * but id */
	char *id;
	char *message;
	char *author;
	char *author_email;
	char **paths; /* added, modified and removed, in that order */
	size_t npaths;
};

struct zh_gitlab_event { /* strings and arrays in mem; see dispose */
	enum zh_gitlab_kind kind;
	char *object_kind;	      /* as sent; a system hook's event_name
				       * for a body without one */
	char *project;		      /* project.path_with_namespace */
	char *user_name, *user_email; /* the pusher, may be NULL */

	/* push and tag_push */
	char *ref;
	char *before, *after;		  /* zeros for a create / a delete */
	char *checkout_sha;		  /* may be NULL (deletions) */
	struct zh_gitlab_commit *commits; /* as listed: at most 20, oldest
					   * first */
	size_t ncommits;
	int64_t total_commits; /* total_commits_count, or ncommits */

	/* merge_request (object_attributes) */
	char *action; /* open, reopen, update, merge, close, ... */
	int64_t mr_iid;
	char *source_branch, *target_branch;
	char *oldrev; /* present on an update that added commits */
	struct zh_gitlab_commit last_commit; /* id may be NULL */
	/* where the merge request comes from and goes to, and project.id
	 * (the project whose hook sent it): 0 when not sent */
	int64_t source_project_id, target_project_id, project_id;
	char *source_project; /* source.path_with_namespace, may be NULL */

	struct zh_gitlab_mem *mem; /* every string and array above */
};

/* Whether merge request e comes from another project than its own (a
 * fork): told by source_project_id and target_project_id when both were
 * sent, else by source_project_id and project.id, else by
 * source.path_with_namespace against the project's. With none of these
 * (an event an earlier version stored in its compact form without them)
 * it counts as the project's own. */
bool zh_gitlab_mr_fork(const struct zh_gitlab_event *e);

/* Free the members and zero *e. NULL-safe. */
void zh_gitlab_event_dispose(struct zh_gitlab_event *e);

/* Read a GitLab webhook body (len bytes, need not be NUL-terminated).
 * object_kind decides the kind; for push and tag_push ref, before, after
 * and project.path_with_namespace are required (commits[] optional), for
 * merge_request project.path_with_namespace and object_attributes with
 * action, iid, source_branch and target_branch (last_commit.id required
 * for open, reopen and update). Other kinds need only object_kind and are
 * returned as ZH_GITLAB_OTHER, as is a body without object_kind that has
 * a string event_name (a system hook's project_create, user_create, ...).
 * Commit ids (before, after, checkout_sha, commits[].id, oldrev,
 * last_commit.id) must be 40 or 64 hex digits, read in lower case; the
 * zero id only in before and after. A string kept holding a NUL (\u0000)
 * is refused. Returns 0, ZH_EINVALID ("body is not JSON: ...", "missing
 * field 'ref'", "field 'iid' is not an integer", "field 'after' is not a
 * commit id ...", "field 'ref' contains a NUL character") or ZH_ENOMEM.
 * A merge request's source_project_id, target_project_id and
 * source.path_with_namespace are optional. Dispose *out (also after a
 * failure). */
int zh_gitlab_parse(struct zh_gitlab_event *out, const char *body, size_t len,
		    struct zh_error *err);

/* The event e (a push, tag push or merge request that zh_gitlab_parse
 * read) as a GitLab body of the same kind holding only what the parse
 * keeps, appended to out: zh_gitlab_parse reads it back into an event
 * equal to e. What the receiver stores for a worker instead of the whole
 * body (a push's 2.6 KB, mostly fields nothing reads, is ~600 bytes).
 * Returns 0, ZH_EINVALID for an event of another kind, or what
 * zh_buf_append returns. */
struct zh_buf;
int zh_gitlab_compact(struct zh_buf *out, const struct zh_gitlab_event *e);

/* The memory e holds, its own struct aside: every allocation with its
 * bytes and malloc's overhead (16 bytes each, rounded to 16). */
size_t zh_gitlab_event_bytes(const struct zh_gitlab_event *e);

/* Zadig's workflow notification (zadig-api-notes.md):
 * {object_kind: "workflow", workflow: {task_id, workflow_name, ...}}.
 * workflow_name (malloc'd, caller frees) and task_id are required.
 * Another object_kind is no error: 0 with *workflow NULL, nothing to do.
 * Returns 0, ZH_EINVALID or ZH_ENOMEM. */
int zh_gitlab_parse_zadig(char **workflow, int64_t *task_id, const char *body,
			  size_t len, struct zh_error *err);

/* "push", "tag_push", "merge_request", "other". */
const char *zh_gitlab_kind_name(enum zh_gitlab_kind k);

#endif
