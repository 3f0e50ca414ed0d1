/* Internal to mapping/: the variables of design.md §4.3 resolved once per
 * (event, rule), and the helpers mapping.c shares with expand.c and
 * decide.c. */
#ifndef ZH_MAPPING_EXPAND_H
#define ZH_MAPPING_EXPAND_H

#include "mapping/mapping.h"

/* Every value is borrowed from the event / rule or held inline; never
 * NULL ("" for what the event lacks). */
struct zh_mapping_vars {
	const char *repo, *branch, *tag, *ref, *commit, *before;
	const char *author, *author_email, *mr_target_branch, *rule;
	char short_commit[9];
	char mr_iid[24]; /* "" when the event is not a merge request */
};

void zh_mapping_vars_init(struct zh_mapping_vars *v, const struct zh_event *ev,
			  const struct zh_rule *rule);

/* The branch a build uses: push: the branch of ref; merge request: the
 * source branch, or from a fork (mr_fork) the target branch, which Zadig
 * merges the merge request into; tag: the tag name. Borrowed from ev,
 * never NULL. */
const char *zh_mapping_build_branch(const struct zh_event *ev);

/* zh_mapping_expand with resolved variables; s NULL expands as "".
 * Returns 0, ZH_ENOMEM or ZH_ETOOBIG. */
int zh_mapping_expand_vars(char **out, const char *s,
			   const struct zh_mapping_vars *v);

/* Deep copy of in with every string expanded (map keys untouched);
 * *out is NULL when in is. Free with zh_value_free. */
int zh_mapping_expand_value(struct zh_value **out, const struct zh_value *in,
			    const struct zh_mapping_vars *v);

/* The marker found in message ("[skip ci]", "[ci skip]", "[skip zadig]",
 * as written here in lower case), or NULL. */
const char *zh_mapping_skip_marker(const char *message);

/* Rule r against ev: ZH_FIRE, or why not with a reason for people in
 * reason (sizeof struct zh_rule_verdict.reason). ref_only: only the
 * checks that need no commit (deletion, repo, event, branch or tag), as
 * zh_mapping_may_fire asks. */
enum zh_verdict zh_mapping_decide(char *reason, const struct zh_rule *r,
				  const struct zh_event *ev, bool ref_only);

#endif
