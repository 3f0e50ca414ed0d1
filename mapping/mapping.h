/* design.md §4: which rules fire for one ref update, and the exact Zadig
 * request each one sends. Pure functions over plain structs: no I/O. */
#ifndef ZH_MAPPING_MAPPING_H
#define ZH_MAPPING_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/error.h"
#include "zadig/zadig.h"

/* One ref update (hook) or one GitLab event (receiver). All strings are
 * borrowed. */
struct zh_event {
	enum zh_event_kind kind; /* PUSH, TAG or MERGE_REQUEST */
	const char *repo;        /* design.md §4.1 name */
	const char *ref;         /* refs/heads/x, refs/tags/v1, or MR source */
	const char *before;      /* old id (zeros for a create), may be NULL */
	const char *after;       /* new tip id; zeros/NULL for a delete */
	bool deleted;            /* branch or tag deletion: never fires */
	const char *message;     /* tip commit message */
	const char *author;
	const char *author_email;
	const char *const *paths; /* changed paths */
	size_t npaths;
	bool all_paths;           /* no base to diff against: every path
				     changed (paths may be empty) */
	bool skip_option;         /* push option ci.skip or zadig.skip */
	int64_t mr_iid;           /* merge requests, else 0 */
	const char *mr_source_branch;
	const char *mr_target_branch;
	const char *mr_fork;	   /* a merge request from another project (a
				      fork): that project, else NULL */
	const char *callback_base; /* webhook.public_url or NULL */
	const char *callback_secret; /* webhook.secret, for the HMAC */
};

/* Why a rule did not fire; ZH_FIRE when it does. */
enum zh_verdict {
	ZH_FIRE = 0,
	ZH_SKIP_REPO,
	ZH_SKIP_EVENT,
	ZH_SKIP_BRANCH, /* or tag / MR target branch */
	ZH_SKIP_FORK,	/* a merge request from a fork, forks false */
	ZH_SKIP_PATHS,
	ZH_SKIP_IGNORED_PATHS,
	ZH_SKIP_MARKER, /* [skip ci] etc. in the tip message */
	ZH_SKIP_OPTION, /* push option */
	ZH_SKIP_DELETED,
};

struct zh_rule_verdict {
	const struct zh_rule *rule;
	enum zh_verdict verdict;
	char reason[256]; /* human: "branch 'foo' matches none of [main]" */
};

/* Decide every rule of cfg for ev. out has cfg->nrules entries, in
 * config order (caller frees out->items with free()). */
struct zh_verdict_list {
	struct zh_rule_verdict *items;
	size_t len;
};
int zh_mapping_explain(struct zh_verdict_list *out,
		       const struct zh_config *cfg, const struct zh_event *ev,
		       struct zh_error *err);

/* Whether some rule of cfg may fire for ev, from what is known before a
 * commit is read: ev->deleted, repo, kind, ref, mr_target_branch and
 * mr_fork (paths, message and push options are not looked at). False
 * means no rule fires whatever the commits are: the hook and the receiver
 * ask it first, so that a ref no rule covers costs no walk, diff or
 * fetch. */
bool zh_mapping_may_fire(const struct zh_config *cfg, const struct zh_event *ev);

/* zh_mapping_may_fire for an update of ref (refs/tags/...: a tag event,
 * else a push) in repository repo, as the hook sees it. */
bool zh_mapping_may_fire_ref(const struct zh_config *cfg, const char *repo,
			     const char *ref);

/* One fired rule and the request it sends. */
struct zh_trigger {
	const struct zh_rule *rule; /* borrowed from the config */
	bool custom;
	struct zh_zadig_product_req product; /* when !custom */
	struct zh_zadig_custom_req custom_req; /* when custom */
	char *commit;   /* the tip the trigger is for */
	char *ref;
};

struct zh_trigger_list {
	struct zh_trigger *items;
	size_t len;
};
void zh_trigger_list_dispose(struct zh_trigger_list *l);

/* The triggers for ev: every rule that fires, with variables of §4.3
 * substituted in every string at any depth. trigger_id names the
 * trigger for the callback URL (NULL: no callback even if configured);
 * it is called per fired rule with the rule and returns a malloc'd id.
 * Returns 0, ZH_EINVALID or ZH_ENOMEM. */
typedef char *(*zh_trigger_id_fn)(void *ctx, const struct zh_rule *rule,
				  const struct zh_event *ev);
int zh_mapping_match(struct zh_trigger_list *out, const struct zh_config *cfg,
		     const struct zh_event *ev, zh_trigger_id_fn trigger_id,
		     void *ctx, struct zh_error *err);

/* Glob of design.md §4.2: '*' does not cross '/', '**' does, '?' one
 * character (not '/'), "[...]" classes with ranges and '!'/'^' negation. */
bool zh_glob_match(const char *pattern, const char *s);

/* Check a glob's syntax (unclosed class, ...). 0 or ZH_EINVALID. */
int zh_glob_check(const char *pattern, struct zh_error *err);

/* True when message carries [skip ci], [ci skip] or [skip zadig]. */
bool zh_mapping_has_skip_marker(const char *message);

/* Expand ${REPO} ... ${RULE} of §4.3 in s. Unknown ${NAME}s stay as they
 * are. *out is malloc'd. */
int zh_mapping_expand(char **out, const char *s, const struct zh_event *ev,
		      const struct zh_rule *rule);

/* The HMAC-SHA256 (hex) of trigger_id with secret: the callback's s=.
 * ZH_ENOTFOUND when OpenSSL's libcrypto cannot be loaded (it is loaded
 * on first use). */
int zh_mapping_sign(char **out, const char *secret, const char *trigger_id);

#endif
