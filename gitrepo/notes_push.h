/* Pushing the notes ref to a remote (design.md §3 notes.push, §5, §6):
 * the receiver writes notes into its repository and shares them through
 * the repository's origin. Other writers (another receiver, a hook on
 * another server, a person) may push the same ref, so a push that loses
 * the race fetches the remote notes, puts the local task lines on top of
 * them line by line (zh_note_merge) and pushes again; nobody's lines are
 * lost and the remote ref only ever moves forward. */
#ifndef ZH_GITREPO_NOTES_PUSH_H
#define ZH_GITREPO_NOTES_PUSH_H

#include <stdbool.h>

#include "gitrepo/gitrepo.h"
#include "util/error.h"

/* Where the remote's notes commit is fetched to, in the local repository
 * (kept between pushes: it holds the fetched objects). */
#define ZH_NOTES_PUSH_REMOTE_REF "refs/zadig-hook/remote-notes"

/* Push notes_ref (a full ref, a name below refs/notes/, or NULL for the
 * default) of r to remote without force, until it is accepted (a few
 * tries):
 * 1. the remote's notes ref is fetched (a remote without one is fine);
 * 2. when the local notes commit does not descend from the remote's, the
 *    local notes ref is rebuilt on top of the remote's commit: the task
 *    lines of every note the local side changed since their common
 *    ancestor (every local note when there is none) are merged into the
 *    remote's notes, so a task's local line wins and lines only the
 *    remote has stay; the local ref moves by compare-and-swap. When the
 *    remote's commit descends from the local one, the local ref just
 *    fast-forwards to it and nothing is pushed;
 * 3. <notes_ref>:<notes_ref> is pushed; a rejection because the remote
 *    moved meanwhile (another writer won) starts again at 1.
 * remote is a remote name of r (no '/' or ':'; its url, or pushurl for the
 * push, is used as configured, without url.*.insteadOf rewriting) or a
 * URL or absolute path. username/password (may be NULL) answer one
 * authentication request per connection; neither the password nor a
 * URL's user information ever appears in err. Nothing to push (no local
 * notes ref) returns 0. Non-task lines (a person's remarks) of a note
 * changed on both sides keep only the remote's. Returns 0, ZH_EINVALID
 * (bad notes_ref or remote), ZH_ENOTFOUND (no such remote name; message
 * "no remote 'NAME'"), ZH_ENET (the remote cannot be reached), ZH_EGIT
 * (a libgit2 failure, or the push stayed rejected; the message names the
 * remote's reason; or the local notes ref, or that of a remote on this
 * machine, stayed locked: the message names the lock file, as
 * zh_notes_commit's does, and the push is not tried again) or ZH_ENOMEM. */
int zh_notes_push(struct zh_repo *r, const char *notes_ref, const char *remote,
		  const char *username, const char *password,
		  struct zh_error *err);

/* The two steps zh_notes_push repeats, for callers (and tests) that want
 * to act between them. Same arguments and errors as zh_notes_push.
 *
 * Steps 1 and 2: fetch the remote's notes and make the local notes ref
 * descend from them. *done is true when there is nothing to push (no
 * local notes ref, or the remote has the local commit). */
int zh_notes_push_prepare(bool *done, struct zh_repo *r, const char *notes_ref,
			  const char *remote, const char *username,
			  const char *password, struct zh_error *err);

/* Step 3: push the local notes ref once, without force. *rejected is true
 * (and 0 returned) when the remote refused the update because it is not
 * a fast-forward of the remote's ref (prepare again), or for another
 * reason the remote gave (its text in err->msg, code ZH_EGIT). */
int zh_notes_push_send(bool *rejected, struct zh_repo *r, const char *notes_ref,
		       const char *remote, const char *username,
		       const char *password, struct zh_error *err);

#endif
