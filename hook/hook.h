/* zadig-hook internals shared by its source files. */
#ifndef ZH_HOOK_HOOK_H
#define ZH_HOOK_HOOK_H

#include <stdbool.h>

#include "config/config.h"
#include "gitrepo/gitrepo.h"
#include "util/error.h"

#define PROG "zadig-hook"

/* `zadig-hook install <repo> [--config FILE] [--force]` */
int zh_hook_install(const char *repo_path, const char *config, bool force,
		    struct zh_error *err);

/* `zadig-hook poll`: deliver, poll and note until nothing is pending.
 * Exits quietly when another poller holds the store's lock. */
int zh_hook_poll(const char *git_dir, const char *config,
		 struct zh_error *err);

/* Start `zadig-hook poll` fully detached (new session, stdio closed,
 * stderr to <state_dir>/poller.log), so that git push returns at once. */
void zh_hook_spawn_poller(const char *git_dir, const char *config,
			  const char *state_dir);

/* Load the config for repository r (--config, $ZADIG_HOOK_CONFIG, git
 * config zadig.config, /etc/zadig-hook/config.yaml); errors of the file
 * are appended to err's message. */
int zh_hook_load_config(struct zh_config **out, struct zh_repo *r,
			const char *explicit_path, struct zh_error *err);

#endif
