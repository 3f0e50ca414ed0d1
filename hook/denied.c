/* What the pushing user is told when the state store cannot be written
 * for want of permission: git runs the hook as that user, so a store
 * another user made is often the cause (hook.h: zh_hook_say_denied). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hook/hook.h"
#include "util/perm.h"

#include "util/banned.h"

/* The first of state (or its parent, when it is missing) and the files
 * of the store in it that this user may not write, into path and st;
 * false when there is none (the store failed for another reason). */
static bool denied_path(char *path, size_t size, const char *state,
			struct stat *st)
{
	static const char *const files[] = {
	    "",
	    "state.db",
	    "state.db-wal",
	    "state.db-shm",
	    "poller.lock",
	    "poller.log",
	    "spool",
	};
	size_t i;
	char *slash;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, size, "%s%s%s", state, *files[i] ? "/" : "",
			 files[i]);
		if (stat(path, st) != 0) {
			if (i || errno != ENOENT ||
			    !(slash = strrchr(path, '/')) || slash == path)
				continue;
			*slash = '\0';
			if (stat(path, st) != 0)
				return false;
		}
		if (access(path, S_ISDIR(st->st_mode) ? W_OK | X_OK
						      : R_OK | W_OK) != 0 &&
		    (errno == EACCES || errno == EPERM))
			return true;
	}
	return false;
}

void zh_hook_say_denied(const char *state, bool own, int shared,
			const char *config)
{
	char path[PATH_MAX + 32], me[320], whose[640], dir[PATH_MAX] = "";
	char fix[4 * PATH_MAX + 512], cmd[4 * PATH_MAX + 320];
	const char *slash = strrchr(state, '/');
	struct stat st, gst;

	if (!denied_path(path, sizeof(path), state, &st))
		return;
	if (own) {
		/* the repository's group: its git directory's */
		snprintf(dir, sizeof(dir), "%.*s",
			 slash ? (int)(slash - state) : 0, state);
		if (!dir[0] || stat(dir, &gst) != 0)
			gst.st_gid = getegid();
		zh_perm_group_fix(cmd, sizeof(cmd), dir, gst.st_gid);
		snprintf(fix, sizeof(fix), "%s (as root): %s",
			 shared ? "give the repository's group back what an "
				  "earlier zadig-hook or another user's "
				  "program made"
				: "share the repository with its group: git "
				  "config core.sharedRepository group, then",
			 cmd);
	} else {
		snprintf(
		    fix, sizeof(fix),
		    "state_dir '%s' (%s) must let every pushing user "
		    "write: push as one user, or leave state_dir unset, so "
		    "that each repository's store follows its "
		    "core.sharedRepository",
		    state, config ? config : "the configuration");
	}
	zh_perm_user(me, sizeof(me), geteuid());
	zh_perm_describe(whose, sizeof(whose), &st);
	zh_hook_say("the hook runs as the pushing user, %s, who cannot write "
		    "'%s' (%s): %s",
		    me, path, whose, fix);
}
