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
#include <stddef.h>

#include "gitrepo/gitrepo.h"
#include "util/error.h"

/* Where the remote's notes commit is fetched to, in the local repository
 * (kept between pushes: it holds the fetched objects). */
#define ZH_NOTES_PUSH_REMOTE_REF "refs/zadig-hook/remote-notes"

/* What zh_notes_push did. */
enum zh_notes_pushed {
	ZH_NOTES_PUSHED_NONE,	    /* no local notes ref: nothing to push */
	ZH_NOTES_PUSHED_UP_TO_DATE, /* the remote had the local notes */
	ZH_NOTES_PUSHED_SENT,	    /* the remote's ref took the local one */
};

/* Push notes_ref (a full ref, a name below refs/notes/, or NULL for the
 * default) of r to remote without force, until it is accepted (a few
 * tries); *out (may be NULL) says what was done:
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
 * notes ref) returns 0 with *out ZH_NOTES_PUSHED_NONE. Non-task lines (a
 * person's remarks) of a note changed on both sides keep only the remote's.
 * Returns 0, ZH_EINVALID (bad notes_ref or remote), ZH_ENOTFOUND (no such
 * remote name; message "no remote 'NAME'"), ZH_ENET (the remote cannot be
 * reached), ZH_EGIT (a libgit2 failure, or the push stayed rejected; the
 * message names the remote's reason; or the local notes ref, or that of a
 * remote on this machine, stayed locked: the message names the lock file, as
 * zh_notes_commit's does, and the push is not tried again) or ZH_ENOMEM. */
int zh_notes_push(enum zh_notes_pushed *out, struct zh_repo *r,
		  const char *notes_ref, const char *remote,
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

/* The commit notes_ref of r points at, as hex into hex (41 bytes
 * suffice); "" when there is no such ref. Returns 0, ZH_EINVALID (bad
 * notes_ref) or ZH_EGIT. */
int zh_notes_head(char *hex, size_t size, struct zh_repo *r,
		  const char *notes_ref, struct zh_error *err);

/* Put the notes of ours (the hex id of a notes commit notes_ref of r
 * pointed at: what this process wrote there) back into notes_ref when
 * the ref lost them, as a process that fetches into the repository with
 * --prune does (a `git clone --mirror` kept current by cron deletes the
 * ref, or resets it to the remote's): a deleted ref points at ours again;
 * a ref that moved to a commit not descending from ours gets a commit on
 * top holding the task lines ours changed since the two last met, merged
 * as zh_notes_push merges the local notes into the remote's. The ref
 * moves by compare-and-swap; the cost follows the lines put back. A ref
 * at ours, or descending from it, is left alone. *restored tells whether
 * the ref moved. Returns 0, ZH_ENOTFOUND (ours is no longer in the
 * repository: its notes cannot be put back), ZH_EINVALID, ZH_EGIT (the
 * notes ref stayed locked, say) or ZH_ENOMEM. */
int zh_notes_restore(bool *restored, struct zh_repo *r, const char *notes_ref,
		     const char *ours, struct zh_error *err);

#endif
