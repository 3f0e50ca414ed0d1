/* Test helpers: scratch repositories built with the real git binary. */
#ifndef ZH_TESTS_GITREPO_GITFIX_H
#define ZH_TESTS_GITREPO_GITFIX_H

#include <stddef.h>

/* A fresh directory under /tmp (malloc'd); also points HOME at it and
 * clears the environment git reads, so only our config applies. */
char *fx_tmpdir(void);

/* Remove dir and everything below it (no symlink following). */
void fx_rmrf(const char *dir);

/* Run argv (NULL-terminated); *out (when out is non-NULL) gets
 * stdout, malloc'd, with its length in *outlen. Returns the exit status,
 * -1 when it could not run. */
int fx_run(char **out, size_t *outlen, const char *const *argv);

/* `git -C dir <args...>` (NULL-terminated) with a test identity; fails
 * the test unless it exits 0. Returns stdout (malloc'd), trailing newline
 * removed. */
char *fx_git(const char *dir, ...);

/* Write content to dir/rel, creating parent directories (a file in the
 * way of one is removed). */
void fx_write(const char *dir, const char *rel, const char *content);

/* dir/rel as a malloc'd string. */
char *fx_path(const char *dir, const char *rel);

/* `git add -A` and commit with msg; returns the new HEAD id (malloc'd). */
char *fx_commit(const char *dir, const char *msg);

#endif
