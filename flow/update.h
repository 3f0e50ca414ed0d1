/* The post-receive hook's input: "<old> <new> <ref>" lines. */
#ifndef ZH_FLOW_UPDATE_H
#define ZH_FLOW_UPDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* Start from {0}; each parse replaces (and frees) the ref of the one
 * before; zh_ref_update_dispose frees the last. */
struct zh_ref_update {
	char old_hex[65]; /* 40 (SHA-1) or 64 (SHA-256) lower-case hex */
	char new_hex[65];
	char *ref; /* malloc'd, any length git takes; NULL after a failure */
};

/* Parse one line (len bytes, no newline; a trailing '\r' is ignored):
 * two object ids of the same length (40 or 64 hex digits) and a ref name
 * without spaces or control characters, separated by single spaces.
 * Returns 0, ZH_EINVALID (what is wrong in err) or ZH_ENOMEM. */
int zh_flow_parse_update(struct zh_ref_update *out, const char *line,
			 size_t len, struct zh_error *err);

/* The next update of the hook's input at *cursor (a C string), empty
 * lines skipped; *cursor moves past the line read. Returns 1 (*out set),
 * 0 at the end (*out as it was), or ZH_EINVALID for a malformed line or
 * ZH_ENOMEM (err says why; the next call reads on). */
int zh_flow_next_update(struct zh_ref_update *out, const char **cursor,
			struct zh_error *err);

/* Free u's ref; u is {0} again. NULL-safe. */
void zh_ref_update_dispose(struct zh_ref_update *u);

/* Whether u can fire a rule at all: a branch or tag that was not
 * deleted (notes, merge-request refs, ... are not pushes). */
bool zh_flow_update_may_fire(const struct zh_ref_update *u);

#endif
