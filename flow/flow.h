/* What the programs share: a Zadig client made from the config, and a
 * push event read from a repository (design.md §4, §5). */
#ifndef ZH_FLOW_FLOW_H
#define ZH_FLOW_FLOW_H

#include <stdbool.h>

#include "config/config.h"
#include "gitrepo/gitrepo.h"
#include "mapping/mapping.h"
#include "util/error.h"
#include "zadig/zadig.h"

/* A Zadig client for cfg->zadig. Returns 0, ZH_EAUTH when the token
 * file cannot be read (err: cfg->zadig.token_error's kind of message;
 * like a token Zadig refuses, a trigger then stays queued) or the
 * client's errors. Free with zh_zadig_free. */
int zh_flow_zadig_new(struct zh_zadig **out, const struct zh_config *cfg,
		      struct zh_error *err);

/* The state directory: state_dir, else <git-dir>/zadig-hook. malloc'd;
 * NULL when out of memory. */
char *zh_flow_state_dir(const struct zh_config *cfg, struct zh_repo *r);

/* The modes of what is created in the state directory (util/perm.h): the
 * repository's core.sharedRepository when the directory is the
 * repository's own (<git-dir>/zadig-hook), so that every user of its
 * group can use the store; 0 (as made, the user's own) for a state_dir
 * of the configuration, whose modes are its administrator's to choose. */
int zh_flow_state_shared(const struct zh_config *cfg, struct zh_repo *r);

/* A ref update read from a repository: the event and the memory behind
 * its borrowed strings. */
struct zh_flow_event {
	struct zh_event ev;
	struct zh_commit_info tip;
	struct zh_paths paths;
	char *repo_name;
	char *ref;
	char before[65];
	char after[65];
};

/* Fill out for the update of ref from old_hex to new_hex in r (either id
 * may be zeros/NULL: create or delete), as design.md §4.2 and §5 read it:
 * refs/tags/ is a tag event, anything else a push; the tip's message and
 * author; the changed paths. repo_root as in zh_repo_name.
 * from_parent: old_hex is new's first parent ("" for a root commit, which
 * then changes every path), not the ref's previous value.
 * Returns 0, ZH_EINVALID, ZH_ENOTFOUND or ZH_EGIT. Dispose with
 * zh_flow_event_dispose. */
int zh_flow_event_read(struct zh_flow_event *out, struct zh_repo *r,
		       const char *repo_root, const char *ref,
		       const char *old_hex, const char *new_hex, bool from_parent,
		       struct zh_error *err);
void zh_flow_event_dispose(struct zh_flow_event *e);

#endif
