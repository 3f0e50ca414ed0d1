/* Private to gitrepo/: the libgit2 handle behind a struct zh_repo, for the
 * module's other files (notes.c). Never exposed to other modules. */
#ifndef ZH_GITREPO_INTERNAL_H
#define ZH_GITREPO_INTERNAL_H

#include <git2.h>

#include "gitrepo/gitrepo.h"

/* The repository r wraps, owned by r. */
git_repository *zh_repo_raw(struct zh_repo *r);

/* The full notes ref for notes_ref ("zadig", "refs/notes/zadig", or NULL
 * for the default) into buf. ZH_EINVALID when it is not a valid ref. */
int zh_notes_ref_name(char *buf, size_t size, const char *notes_ref,
		      struct zh_error *err);

#endif
