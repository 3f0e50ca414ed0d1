/* The modes of files in a repository several users push to, as git makes
 * them: core.sharedRepository (git-config(1)) read as git reads it
 * (git_config_perm), and git's calc_shared_perm and adjust_shared_perm
 * (path.c). git runs the hook as each pushing user, so what one user's
 * hook creates in the repository must let the others of its group in.
 *
 * A "shared" value is what git_config_perm returns: 0 (umask, false: the
 * modes we create with, untouched), ZH_PERM_GROUP (group, true, 1),
 * ZH_PERM_EVERYBODY (all, world, everybody, 2) or a negative -0xxx for an
 * octal mode the files get exactly. */
#ifndef ZH_UTIL_PERM_H
#define ZH_UTIL_PERM_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util/error.h"

#define ZH_PERM_UMASK 0
#define ZH_PERM_GROUP 0660
#define ZH_PERM_EVERYBODY 0664

/* core.sharedRepository's value (NULL: set without a value, which git
 * reads as true) into *shared. Returns 0, or ZH_EINVALID for an octal
 * mode without read and write for the owner (git dies on it; *shared is
 * then 0). */
int zh_perm_parse(int *shared, const char *value, struct zh_error *err);

/* The mode a file or directory (mode with its S_IFMT bits) created with
 * mode gets under shared: git's calc_shared_perm, and for a directory
 * execute wherever read is given, and setgid when the group gets
 * anything, so that what is created in it keeps its group. Pure. */
mode_t zh_perm_mode(int shared, mode_t mode);

/* Give path (fd: an open file's; the other ignores it) the mode of
 * zh_perm_mode when it differs and shared is set; a no-op otherwise.
 * Returns 0 or -errno (EPERM: another user's file, whose owner can fix
 * it). */
int zh_perm_adjust(const char *path, int shared);
int zh_perm_fadjust(int fd, int shared);

/* "uid 65534 (nobody), group 100 (users), mode 2700": whose st is, for
 * a message, into buf (names left out where the system has none). */
void zh_perm_describe(char *buf, size_t size, const struct stat *st);

/* "uid 1000 (alice)" into buf. */
void zh_perm_user(char *buf, size_t size, uid_t uid);

/* The commands that let group gid into directory dir as git's shared
 * files let it (`chgrp -R users 'DIR' && chmod -R g+rwX 'DIR' && find
 * 'DIR' -type d -exec chmod g+s {} +`), into buf. */
void zh_perm_group_fix(char *buf, size_t size, const char *dir, gid_t gid);

/* The umask under which a library creating files with 0666 and
 * directories with 0777 (libgit2: objects 0444, refs 0666, directories
 * 0777) gives them the modes of zh_perm_mode, from mask, the current
 * one: mask itself when shared is 0. (setgid of a new directory comes
 * from its parent, as on Linux for a directory created in a setgid
 * one.) Pure. */
mode_t zh_perm_umask(int shared, mode_t mask);

#endif
