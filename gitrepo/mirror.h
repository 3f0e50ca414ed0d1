/* Bare mirrors of remote repositories under the state directory, for the
 * receiver (design.md §6: webhook.repos[].url), and the merge base a
 * merge request is compared with. */
#ifndef ZH_GITREPO_MIRROR_H
#define ZH_GITREPO_MIRROR_H

#include <stddef.h>

#include "gitrepo/gitrepo.h"
#include "util/error.h"

/* The directory of project's mirror: <state_dir>/mirrors/<project>.git,
 * where project (a GitLab path_with_namespace) keeps only [A-Za-z0-9._-/]
 * (others become '_'). A name that could leave the directory (absolute,
 * empty, a "." or ".." segment, "//", a trailing '/') is refused with
 * ZH_EINVALID, and nothing is created (design.md §9). *out is malloc'd. */
int zh_repo_mirror_path(char **out, const char *state_dir, const char *project,
			struct zh_error *err);

/* Bring project's mirror up to date with url and open it: a bare
 * repository is created (directories mode 0700) when missing, then
 * every branch and tag is fetched (forced, like a mirror clone)
 * (pruning what the remote deleted) and HEAD follows the remote's default
 * branch. username/password (may be NULL) answer an authentication
 * request once. The resolved directory is checked to lie below
 * <state_dir>/mirrors (a symbolic link cannot lead out). Neither url nor
 * the password ever appear in err. Returns 0, ZH_EINVALID (bad project
 * name, or a directory outside the state directory), ZH_EIO or ZH_EGIT
 * (fetch failed). Free *out with zh_repo_free. Not safe to call for one
 * project from two threads at once: the caller serialises. */
int zh_repo_mirror(struct zh_repo **out, const char *state_dir,
		   const char *project, const char *url, const char *username,
		   const char *password, struct zh_error *err);

/* The best common ancestor of commits a and b (hex ids or revisions) into
 * hex (hexsize >= 41). ZH_ENOTFOUND when either is unknown or they share
 * no history, ZH_EGIT. */
int zh_repo_merge_base(char *hex, size_t hexsize, struct zh_repo *r,
		       const char *a, const char *b, struct zh_error *err);

#endif
