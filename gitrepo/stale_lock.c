/* Lock files a killed writer left behind (gitrepo/internal.h). */
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gitrepo/internal.h"

#include "util/banned.h"

/* refs/ is a few levels deep (refs/heads/team/topic); deeper is not
 * walked */
#define MAX_DEPTH 16

bool zh_lockfile_remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    time(NULL) - st.st_mtime < ZH_STALE_LOCK_S)
		return false;
	return unlink(path) == 0;
}

static size_t walk(char *path, size_t len, int depth)
{
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	if (depth > MAX_DEPTH || !(d = opendir(path)))
		return 0;
	while ((e = readdir(d))) {
		size_t k = strlen(e->d_name);
		struct stat st;
		bool dir;

		if (e->d_name[0] == '.' || len + 1 + k >= PATH_MAX)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, e->d_name, k + 1);
		/* some file systems do not give the type */
		dir = e->d_type == DT_DIR ||
		      (e->d_type == DT_UNKNOWN && lstat(path, &st) == 0 &&
		       S_ISDIR(st.st_mode));
		if (dir)
			n += walk(path, len + 1 + k, depth + 1);
		else if (k > 5 && strcmp(e->d_name + k - 5, ".lock") == 0)
			n += zh_lockfile_remove_stale(path);
		path[len] = '\0';
	}
	closedir(d);
	return n;
}

bool zh_ref_lock_path(char *buf, size_t size, git_repository *repo,
		      const char *refname)
{
	const char *dir = git_repository_commondir(repo);
	int n;

	n = snprintf(buf, size, "%s%s%s.lock", dir,
		     dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", refname);
	return n > 0 && (size_t)n < size;
}

int zh_notes_ref_locked(struct zh_error *err, const char *refname,
			const char *lockfile)
{
	return zh_error_set(err, ZH_EGIT,
			    "notes ref '%s' is locked: '%s' exists (a git "
			    "process writing it, or one that was killed: such "
			    "a lock is removed once %d minutes old)",
			    refname, lockfile, ZH_STALE_LOCK_S / 60);
}

bool zh_ref_lock_remove_stale(git_repository *repo, const char *refname)
{
	char path[PATH_MAX];

	return zh_ref_lock_path(path, sizeof(path), repo, refname) &&
	       zh_lockfile_remove_stale(path);
}

size_t zh_ref_locks_remove_stale(const char *git_dir)
{
	char path[PATH_MAX];
	size_t len, n;
	int w;

	w = snprintf(path, sizeof(path), "%s", git_dir);
	if (w < 0 || (size_t)w + sizeof("/packed-refs.lock") >= sizeof(path))
		return 0;
	len = (size_t)w;
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	memcpy(path + len, "/packed-refs.lock", sizeof("/packed-refs.lock"));
	n = zh_lockfile_remove_stale(path);
	memcpy(path + len, "/refs", sizeof("/refs"));
	return n + walk(path, len + 5, 0);
}
