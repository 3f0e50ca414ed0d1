/* The poller lock: one detached poller per state directory; and the use
 * lock every process using a store holds (store.h). */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/perm.h"

#include "util/banned.h"

int zh_store_lock_poller(int *fd, const char *dir, int shared,
			 struct zh_error *err)
{
	char *path = NULL;
	size_t n;
	int f = -1, e, ret = 0;

	*fd = -1;
	if (!dir || !*dir)
		return zh_error_set(err, ZH_EINVALID,
				    "state store directory is empty");
	n = strlen(dir) + sizeof("/poller.lock");
	path = malloc(n);
	if (!path)
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	snprintf(path, n, "%s/poller.lock", dir);
	/* the directory is there but for the first push: one look */
	if (access(dir, F_OK) != 0 && (e = store_mkdirs(dir, shared)) < 0) {
		ret = zh_error_set(err, ZH_EIO,
				   "cannot create directory '%s': %s", dir,
				   strerror(-e));
		goto out;
	}
	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0) {
		ret = zh_error_set(err, ZH_EIO, "cannot open '%s': %s", path,
				   strerror(errno));
		goto out;
	}
	(void)zh_perm_fadjust(f, shared);
	/* flock, not fcntl locks: those belong to the process, so a second
	 * open of the file in the same process would silently share them */
	while (flock(f, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			ret = ZH_STORE_LOCK_HELD;
			goto out;
		}
		ret = zh_error_set(err, ZH_EIO, "cannot lock '%s': %s", path,
				   strerror(errno));
		goto out;
	}
	*fd = f;
	f = -1;
out:
	if (f >= 0)
		close(f);
	free(path);
	return ret;
}

void zh_store_unlock_poller(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* "<dir>/<name>", malloc'd; NULL when out of memory. */
static char *lock_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int store_use_lock(int *fd, const char *dir, int shared, const char *db,
		   struct zh_error *err)
{
	struct timespec tick = {0, 10000000};
	char *path = lock_path(dir, "store.lock");
	struct stat st;
	int f, waited = 0;

	*fd = -1;
	if (!path)
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	f = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(path);
	if (f < 0)
		return 0; /* best effort: a store this user may only read */
	(void)zh_perm_fadjust(f, shared);
	while (flock(f, LOCK_SH | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			close(f); /* no locks here (ENOLCK): best effort */
			return 0;
		}
		if (waited >= 5000) {
			close(f);
			return zh_error_set(err, ZH_EBUSY,
					    "state store '%s' is busy: it is "
					    "being removed",
					    db);
		}
		nanosleep(&tick, NULL);
		waited += 10;
	}
	/* removed while we waited (uninstall --purge): not made anew */
	if (fstat(f, &st) == 0 && st.st_nlink == 0) {
		close(f);
		return zh_error_set(err, ZH_ESTORE,
				    "state store '%s' was removed while it "
				    "was being opened",
				    db);
	}
	*fd = f;
	return 0;
}

int zh_store_lock_use(int *fd, const char *dir, int shared,
		      struct zh_error *err)
{
	char *db;
	int rc = 0;

	*fd = -1;
	if (!dir || !*dir)
		return zh_error_set(err, ZH_EINVALID,
				    "state store directory is empty");
	if (!(db = lock_path(dir, "state.db")))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	/* the directory is there but for the first push: one look. One
	 * that cannot be made is for the caller's own write to say */
	if (access(dir, F_OK) == 0 || store_mkdirs(dir, shared) == 0)
		rc = store_use_lock(fd, dir, shared, db, err);
	free(db);
	return rc;
}

void zh_store_unlock_use(int fd)
{
	if (fd >= 0)
		close(fd);
}

int zh_store_lock_removal(int *fd, const char *dir, struct zh_error *err)
{
	char *path = lock_path(dir, "store.lock");
	int f, ret = 0;

	*fd = -1;
	if (!path)
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	/* not made here: a store without the file (made before it, or
	 * only read) has no user that holds it, and one made 0600 by root
	 * would shut its pushers out of the lock. Opened for writing: NFS
	 * emulates flock with fcntl locks, whose exclusive lock needs it */
	f = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0) {
		if (errno != ENOENT)
			ret = zh_error_set(err, ZH_EIO, "cannot open '%s': %s",
					   path, strerror(errno));
		goto out;
	}
	while (flock(f, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		/* no locks on this file system (ENOLCK, EOPNOTSUPP): the
		 * users go on without theirs (store_use_lock), so removal
		 * cannot tell either, as before there was a lock */
		ret = errno == EWOULDBLOCK ? ZH_STORE_LOCK_HELD : 0;
		close(f);
		goto out;
	}
	*fd = f;
out:
	free(path);
	return ret;
}

void zh_store_unlock_removal(int fd)
{
	if (fd >= 0)
		close(fd);
}
