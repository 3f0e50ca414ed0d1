/* Private to gitrepo/: the libgit2 handle behind a struct zh_repo, for the
 * module's other files (notes.c), and what its files share to talk to a
 * remote (remote.c). Never exposed to other modules. */
#ifndef ZH_GITREPO_INTERNAL_H
#define ZH_GITREPO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <git2.h>

#include "gitrepo/gitrepo.h"

/* The repository r wraps, owned by r. */
git_repository *zh_repo_raw(struct zh_repo *r);

/* Open the repository at path (no search upwards), checking its owner as
 * zh_repo_open does; free with git_repository_free. Fails as
 * zh_repo_open. */
int zh_git_open(git_repository **out, const char *path, struct zh_error *err);

/* Whether git's safe.directory lets in the repository git names path
 * (its work tree, else its git dir, without a trailing slash) although
 * another user owns it: the values of the system and global git config
 * and of `git -c`, in git's order and with git's interpolation. */
bool zh_safe_directory(const char *path);

/* The full notes ref for notes_ref ("zadig", "refs/notes/zadig", or NULL
 * for the default) into buf. ZH_EINVALID when it is not a valid ref. */
int zh_notes_ref_name(char *buf, size_t size, const char *notes_ref,
		      struct zh_error *err);

/* The user name and password a remote is offered (either may be NULL: a
 * NULL user name means the url's, a NULL password offers nothing). The
 * password is offered once: a refused one is not asked again. */
struct zh_remote_creds {
	const char *url; /* the configured one: credentials go to its host */
	const char *username, *password;
	int tries;
};

/* A remote of url in repo (anonymous) taken as written: no
 * url.*.insteadOf rewriting, no default fetch refspec. Returns libgit2's
 * code (git_error_last() says why); free with git_remote_free. */
int zh_remote_new(git_remote **out, git_repository *repo, const char *url);

/* Initialise cb (fetch, push or connect callbacks) with the credential
 * callback answering from creds, and creds as the payload. A caller that
 * adds callbacks of its own and needs more state puts creds first in its
 * payload struct, so that the payload points at both. */
void zh_remote_callbacks_init(git_remote_callbacks *cb,
			      struct zh_remote_creds *creds);

/* A writer holds a ref's lock for a moment (git and libgit2 alike): a
 * lock file this old (seconds) was left by one that was killed, and
 * would stop every later update of its ref until someone removed it. */
#define ZH_STALE_LOCK_S 300

/* Remove the lock file at path when it is ZH_STALE_LOCK_S old (a regular
 * file, its modification time); true when it was. */
bool zh_lockfile_remove_stale(const char *path);

/* Remove the lock file of refname (a valid ref name) in repo when it is
 * stale; true when it was (the update may go again at once). */
bool zh_ref_lock_remove_stale(git_repository *repo, const char *refname);

/* The lock file of refname in repo into buf ("<common dir>/<refname>.lock");
 * false when it does not fit. */
bool zh_ref_lock_path(char *buf, size_t size, git_repository *repo,
		      const char *refname);

/* Say in err (ZH_EGIT) that the notes ref refname is locked: lockfile (as
 * the reader should see it: relative to the repository the message is
 * about, or a full path for another one) exists, and when such a lock
 * goes. Returns ZH_EGIT. */
int zh_notes_ref_locked(struct zh_error *err, const char *refname,
			const char *lockfile);

/* Remove the stale ref locks of the repository at git_dir
 * (refs/ ** / *.lock, packed-refs.lock); the number removed. */
size_t zh_ref_locks_remove_stale(const char *git_dir);

/* Make the packs libgit2 builds for repo (its packbuilder) whole
 * objects, without git's delta search: a level of fixed values (the
 * "big file" threshold one byte) is added to repo's configuration, above
 * its files, for the life of the instance; nothing is written. For the
 * packs of notes: a batch's, and a notes push's (gitrepo/pack_config.c
 * says why). A repository that has the level keeps it as it is. Returns
 * libgit2's code. */
int zh_repo_pack_without_deltas(git_repository *repo);

#endif
