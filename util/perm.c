#include "util/perm.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/banned.h"

/* git_parse_maybe_bool: 1, 0, or -1 when value is no boolean. */
static int parse_bool(const char *v)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on"))
		return 1;
	if (!*v || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
	    !strcasecmp(v, "off"))
		return 0;
	return -1;
}

int zh_perm_parse(int *shared, const char *value, struct zh_error *err)
{
	char *end;
	long i;
	int b;

	*shared = ZH_PERM_UMASK;
	if (!value) {
		*shared = ZH_PERM_GROUP;
		return 0;
	}
	if (!strcmp(value, "umask"))
		return 0;
	if (!strcmp(value, "group")) {
		*shared = ZH_PERM_GROUP;
		return 0;
	}
	if (!strcmp(value, "all") || !strcmp(value, "world") ||
	    !strcmp(value, "everybody")) {
		*shared = ZH_PERM_EVERYBODY;
		return 0;
	}
	errno = 0;
	i = strtol(value, &end, 8);
	if (*end) {
		if ((b = parse_bool(value)) < 0)
			return zh_error_set(err, ZH_EINVALID,
					    "bad core.sharedRepository value "
					    "'%s'",
					    value);
		*shared = b ? ZH_PERM_GROUP : ZH_PERM_UMASK;
		return 0;
	}
	/* 0, 1 and 2 are the old spellings; anything else is a mode */
	switch (i) {
	case 0:
		return 0;
	case 1:
		*shared = ZH_PERM_GROUP;
		return 0;
	case 2:
		*shared = ZH_PERM_EVERYBODY;
		return 0;
	}
	if ((i & 0600) != 0600 || errno)
		return zh_error_set(err, ZH_EINVALID,
				    "bad core.sharedRepository mode '%s': "
				    "the owner of files must always have read "
				    "and write permissions",
				    value);
	/* others never get write; x for directories is added apart */
	*shared = -(int)(i & 0666);
	return 0;
}

mode_t zh_perm_mode(int shared, mode_t mode)
{
	mode_t tweak = (mode_t)(shared < 0 ? -shared : shared);

	if (!shared)
		return mode;
	if (!(mode & S_IWUSR))
		tweak &= ~(mode_t)0222;
	if (mode & S_IXUSR)
		tweak |= (tweak & 0444) >> 2;
	if (shared < 0)
		mode = (mode & ~(mode_t)0777) | tweak;
	else
		mode |= tweak;
	if (S_ISDIR(mode)) {
		mode |= (mode & 0444) >> 2;
		if (mode & 060)
			mode |= S_ISGID;
	}
	return mode;
}

int zh_perm_adjust(const char *path, int shared)
{
	struct stat st;
	mode_t want;

	if (!shared)
		return 0;
	if (stat(path, &st) < 0)
		return -errno;
	want = zh_perm_mode(shared, st.st_mode);
	if (want != st.st_mode && chmod(path, want & 07777) < 0)
		return -errno;
	return 0;
}

int zh_perm_fadjust(int fd, int shared)
{
	struct stat st;
	mode_t want;

	if (!shared)
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	want = zh_perm_mode(shared, st.st_mode);
	if (want != st.st_mode && fchmod(fd, want & 07777) < 0)
		return -errno;
	return 0;
}

mode_t zh_perm_umask(int shared, mode_t mask)
{
	mode_t allow;

	if (!shared)
		return mask;
	/* what zh_perm_mode adds to a directory of 0777 & ~mask */
	allow = (mode_t)(shared < 0 ? -shared : shared);
	allow |= (allow & 0444) >> 2;
	if (shared < 0)
		return 0777 & ~allow;
	return mask & ~allow;
}

void zh_perm_user(char *buf, size_t size, uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	if (pw && pw->pw_name)
		snprintf(buf, size, "uid %u (%s)", (unsigned)uid, pw->pw_name);
	else
		snprintf(buf, size, "uid %u", (unsigned)uid);
}

void zh_perm_describe(char *buf, size_t size, const struct stat *st)
{
	struct group *gr = getgrgid(st->st_gid);
	char user[300];

	zh_perm_user(user, sizeof(user), st->st_uid);
	if (gr && gr->gr_name)
		snprintf(buf, size, "%s, group %u (%s), mode %04o", user,
			 (unsigned)st->st_gid, gr->gr_name,
			 (unsigned)(st->st_mode & 07777));
	else
		snprintf(buf, size, "%s, group %u, mode %04o", user,
			 (unsigned)st->st_gid, (unsigned)(st->st_mode & 07777));
}

void zh_perm_group_fix(char *buf, size_t size, const char *dir, gid_t gid)
{
	struct group *gr = getgrgid(gid);
	char name[300];

	if (gr && gr->gr_name)
		snprintf(name, sizeof(name), "%s", gr->gr_name);
	else
		snprintf(name, sizeof(name), "%u", (unsigned)gid);
	snprintf(buf, size,
		 "chgrp -R %s '%s' && chmod -R g+rwX '%s' && find '%s' -type d "
		 "-exec chmod g+s {} +",
		 name, dir, dir, dir);
}
