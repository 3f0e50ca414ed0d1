/* The poller lock: one detached poller per state directory. */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
	if ((e = store_mkdirs(dir, shared)) < 0) {
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
