/* The async hook's spool (hook.mode: async with hook.poll): the hook
 * stores each push as one file `<state_dir>/spool/<ms>-<pid>-<rand>.push`
 * and leaves reading the commits, the mapping, the triggers and the notes
 * to the detached poller, so that the process git waits for needs neither
 * libgit2 nor libcurl nor SQLite (bench/hook_push.sh).
 *
 * A file is written to a temporary name, flushed, renamed and the
 * directory flushed: once zh_spool_write returned 0 the push survives a
 * crash. The poller deletes a file after recording its triggers; reading
 * one twice is harmless (triggers are keyed by repo, ref, commit, rule).
 *
 * Only util/: linked by `zadig-hook` and `git-zadig-full`. */
#ifndef ZH_HOOK_SPOOL_H
#define ZH_HOOK_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

/* One push. Every string malloc'd by zh_spool_read (see dispose); the
 * writer's may be borrowed. */
struct zh_spool_push {
	char *git_dir;	/* absolute path of the repository's git directory */
	char *config;	/* the configuration file the hook used */
	char **options; /* push options (GIT_PUSH_OPTION_<n>) */
	size_t noptions;
	char **updates; /* "<old> <new> <ref>" lines, no newline */
	size_t nupdates;
};

/* Free the members of a push zh_spool_read filled and zero it. NULL-safe. */
void zh_spool_push_dispose(struct zh_spool_push *p);

/* "<state_dir>/spool", malloc'd; NULL when out of memory. */
char *zh_spool_dir(const char *state_dir);

/* Store p durably as a new file of the spool of state_dir (the directories
 * are made, mode 0700; the file is 0600), both in the modes shared gives
 * them (util/perm.h: a repository's core.sharedRepository, or 0). Returns
 * 0, ZH_EIO ("cannot write '...': ...") or ZH_ENOMEM. */
int zh_spool_write(const char *state_dir, int shared,
		   const struct zh_spool_push *p, struct zh_error *err);

/* Replace spool file path by p (the updates a poller has not recorded
 * yet), as durably as zh_spool_write and with the file's times and mode
 * kept: its age is how long the push has been queued. Returns 0, ZH_ENOTFOUND
 * (no such file), ZH_EIO, ZH_ETOOBIG or ZH_ENOMEM. */
int zh_spool_rewrite(const char *path, const struct zh_spool_push *p,
		     struct zh_error *err);

/* The files of the spool of state_dir, oldest first, as full paths in
 * *paths (free each and the array; *n counts them). A missing spool is
 * empty. Returns 0, ZH_EIO or ZH_ENOMEM. */
int zh_spool_list(char ***paths, size_t *n, const char *state_dir,
		  struct zh_error *err);

/* Make directory path (failed/ of a spool) in the mode of the directory
 * it is in: what zh_spool_write gave the spool. Returns 0 (also when it
 * exists) or -1 with errno set. */
int zh_spool_mkdir(const char *path);

/* Whether the spool of state_dir holds a push (cheap: one readdir). */
bool zh_spool_pending(const char *state_dir);

/* Read one spool file. Returns 0, ZH_EIO, ZH_EINVALID (not a spool file
 * or a truncated one) or ZH_ENOMEM. Dispose *out. */
int zh_spool_read(struct zh_spool_push *out, const char *path,
		  struct zh_error *err);

/* Whether one of the n push options asks to skip CI (ci.skip,
 * zadig.skip). */
bool zh_hook_skip_option(const char *const *options, size_t n);

#endif
