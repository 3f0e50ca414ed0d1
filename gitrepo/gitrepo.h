/* libgit2 access: open a repository, resolve revisions, read the tip
 * commit and the changed paths of a ref update. Costs follow the size of
 * the change, never of the history or the tree (shared/perf-notes.md). */
#ifndef ZH_GITREPO_GITREPO_H
#define ZH_GITREPO_GITREPO_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct zh_repo;

/* Open the repository at path, or discover it from path upwards when
 * discover is true (like git does for a command run in a work tree).
 * A repository another user owns is opened when git's safe.directory
 * lets it in (as git reads it: "*", a path, an empty value; see
 * zh_safe_directory). Returns 0, ZH_ENOTFOUND ("'X' is not a git
 * repository"), ZH_ECONFIG for a repository another user owns that git
 * refuses too (the message names the owner and git's fix, `git config
 * --global --add safe.directory <path>`) or ZH_EGIT. */
int zh_repo_open(struct zh_repo **out, const char *path, bool discover,
		 struct zh_error *err);
void zh_repo_free(struct zh_repo *r);

/* The git directory ("/srv/x.git/" or "/work/.git/"), owned by r. */
const char *zh_repo_git_dir(const struct zh_repo *r);

/* The top of the work tree ("/work/"), or the git directory of a bare
 * repository: where git runs hooks. Owned by r. */
const char *zh_repo_top(const struct zh_repo *r);

/* The git directory the repository's work trees share: the git dir, or
 * for a linked work tree (git worktree add) the main one's. Owned by r. */
const char *zh_repo_common_dir(const struct zh_repo *r);
bool zh_repo_is_bare(const struct zh_repo *r);

/* The repository name of design.md §4.1: the path relative to repo_root
 * when set (and the repository is below it), else the directory name
 * without ".git" (the work tree's directory for a non-bare repository).
 * *out is malloc'd. */
int zh_repo_name(char **out, const struct zh_repo *r, const char *repo_root,
		 struct zh_error *err);

/* A git config value of the repository (e.g. "zadig.config"); *out is
 * malloc'd, or NULL when unset (returns 0 then). */
int zh_repo_config_get(char **out, struct zh_repo *r, const char *key,
		       struct zh_error *err);

/* core.sharedRepository of r as git reads it (util/perm.h: 0 when unset,
 * false or umask, or not a value git takes), read once. What zadig-hook
 * creates in the repository follows it (the notes: zh_notes_commit). */
int zh_repo_shared(struct zh_repo *r);

/* The directory git runs r's hooks from, as git resolves it for the hooks
 * of a push: core.hooksPath (from any config level; "~/" expanded; a
 * relative value is taken from the git dir, where git runs those hooks
 * even in a non-bare repository), else "<git dir>/hooks". No trailing
 * slash; the directory need not exist. *out is malloc'd. ZH_EUSAGE when
 * core.hooksPath is set but empty (git then runs none of r's hooks),
 * ZH_EGIT when the config cannot be read, ZH_ENOMEM. */
int zh_repo_hooks_dir(char **out, struct zh_repo *r, struct zh_error *err);

/* Whether path is inside r: its git dir or its work tree (or below).
 * False when path does not resolve. */
bool zh_repo_contains(const struct zh_repo *r, const char *path);

/* Set a git config value in the repository's own config file. */
int zh_repo_config_set(struct zh_repo *r, const char *key, const char *value,
		       struct zh_error *err);

/* zh_repo_config_get from the repository's own config file alone. */
int zh_repo_config_get_local(char **out, struct zh_repo *r, const char *key,
			     struct zh_error *err);

/* Remove key (every value of it) from the repository's own config file.
 * Returns 1 when it was there, 0 when not, or ZH_EGIT. */
int zh_repo_config_unset(struct zh_repo *r, const char *key,
			 struct zh_error *err);

/* libgit2's object cache, on by default, process-wide. A program that
 * reads each object once (git zadig status) turns it off: every cached
 * commit is fresh memory, and a first touch of a page is what costs here
 * (docs/BENCHMARKS.md). */
void zh_repo_object_cache(bool on);

/* Resolve a revision ("HEAD", "main~2", a full or short id) to a commit;
 * *hex gets the full hex id (41 or 65 bytes incl. NUL).
 * ZH_ENOTFOUND with "unknown revision 'X'" when it does not resolve. */
int zh_repo_resolve(char *hex, size_t hexsize, struct zh_repo *r,
		    const char *rev, struct zh_error *err);

/* Whether rev is a range, "A..B" or "A...B" (a ref name holds no ".."). */
bool zh_rev_is_range(const char *rev);

struct zh_revlist {
	char **ids; /* full hex commit ids */
	size_t len;
};
void zh_revlist_dispose(struct zh_revlist *l);

/* The commits of range, newest first as `git log <range>` lists them:
 * for "A..B" those reachable from B and not from A, for "A...B" those
 * reachable from A or B but not from both; a side left out is HEAD.
 * Nothing is capped: a range over the whole history lists all of it.
 * ZH_ENOTFOUND with "unknown revision 'X'" for a side that does not
 * resolve (and for ".."), ZH_EINVALID for a side that is not a commit,
 * ZH_EGIT, ZH_ENOMEM. Free *out with zh_revlist_dispose, also after a
 * failure. */
int zh_repo_range(struct zh_revlist *out, struct zh_repo *r, const char *range,
		  struct zh_error *err);

/* The current branch's full ref name ("refs/heads/main"), malloc'd; the
 * unborn branch of HEAD also counts. ZH_ENOTFOUND when HEAD is detached. */
int zh_repo_current_branch(char **out, struct zh_repo *r, struct zh_error *err);

struct zh_commit_info {
	char id[65];
	char first_parent[65]; /* "" for a root commit */
	char *message;	       /* full message */
	char *author;
	char *author_email;
	size_t nparents;
};
void zh_commit_info_dispose(struct zh_commit_info *c);

/* Read a commit (hex id or revision). */
int zh_repo_commit(struct zh_commit_info *out, struct zh_repo *r,
		   const char *rev, struct zh_error *err);

/* rev's commit id (hex, into id) and subject (*subject, the message's
 * first line; caller frees): what `git zadig status` prints of a commit.
 * Fails as zh_repo_commit. */
int zh_repo_commit_subject(char *id, size_t idsize, char **subject,
			   struct zh_repo *r, const char *rev,
			   struct zh_error *err);

struct zh_paths {
	char **items; /* sorted, unique, '/'-separated, repo-relative */
	size_t len;
	bool all; /* no base: every path of the new tree is listed */
};
void zh_paths_dispose(struct zh_paths *p);

/* The changed paths of a ref update old -> new (design.md §4.2):
 * - old is a commit: the tree diff old -> new;
 * - old is NULL or zeros (a new branch), or an object that is no commit
 *   (a tag moved from a blob or a tree onto a commit): the diff from the
 *   merge base of new with the default branch (HEAD's target) when there
 *   is one and it differs from new; when there is none, every path of
 *   new's tree with out->all set.
 * The diff walks both trees and descends only into subtrees whose ids
 * differ, so its cost follows the change. */
int zh_repo_changed_paths(struct zh_paths *out, struct zh_repo *r,
			  const char *old_hex, const char *new_hex,
			  struct zh_error *err);

/* zh_repo_changed_paths for the update of ref ("refs/heads/main"; NULL
 * when unknown). A new ref that is the branch HEAD names (the first push
 * of the default branch, which post-receive sees already updated) has no
 * base to compare with: every path of new's tree, out->all set. An old
 * id that is not in the repository gives ZH_ENOTFOUND ("unknown revision
 * 'X'"), as does an unknown new id; ZH_EINVALID when new is zero or not a
 * commit; ZH_EGIT when an object cannot be read. Free *out with
 * zh_paths_dispose (also after a failure). */
int zh_repo_changed_paths_ref(struct zh_paths *out, struct zh_repo *r,
			      const char *ref, const char *old_hex,
			      const char *new_hex, struct zh_error *err);

/* Every path of new's tree, out->all set: what a root commit changes.
 * ZH_ENOTFOUND for an unknown commit. Free with zh_paths_dispose. */
int zh_repo_tree_paths(struct zh_paths *out, struct zh_repo *r,
		       const char *new_hex, struct zh_error *err);

/* A notes ref read once for reading the notes of many commits (git zadig
 * status over a long list): the notes tree and its fan-out directories
 * are loaded once and kept, so each read costs one blob, not one parse
 * of the whole notes tree. A snapshot: notes written after the open are
 * not seen. */
struct zh_notes_view;

/* Open the view of notes_ref (a full ref, a name below refs/notes/ like
 * "zadig", or NULL for refs/notes/zadig). A missing notes ref gives a
 * view without notes. ZH_EINVALID for an invalid ref name, ZH_EGIT when
 * the notes cannot be read, ZH_ENOMEM. Free with zh_notes_view_free. */
int zh_notes_view_open(struct zh_notes_view **out, struct zh_repo *r,
		       const char *notes_ref, struct zh_error *err);

/* The note of commit_hex (a full hex id) as zh_notes_read gives it: *out
 * malloc'd (caller frees), NULL when there is none (returns 0 then);
 * ZH_EINVALID for a malformed id, ZH_ETOOBIG for a note over 1 MiB or not
 * text, ZH_EGIT, ZH_ENOMEM. */
int zh_notes_view_read(char **out, struct zh_notes_view *v,
		       const char *commit_hex, struct zh_error *err);

/* NULL-safe. */
void zh_notes_view_free(struct zh_notes_view *v);

/* True for NULL, "" and all-zero object ids (SHA-1 or SHA-256). */
bool zh_oid_is_zero(const char *hex);

#endif
