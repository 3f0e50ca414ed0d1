/* The VFS every store connection uses: SQLite's own ("unix"), except that
 * a WAL file that exists and holds data is opened without
 * SQLITE_OPEN_CREATE.
 *
 * SQLite syncs the directory after the first sync of a WAL it opened
 * with the create flag, and it always passes that flag: every process
 * that wrote the store (a hook run, a poller, a CLI verb) paid a second
 * flush, of the directory, on its first commit, although the WAL it
 * wrote had existed for long (the WAL is kept between processes,
 * store.c: configure): 0.2 ms on a fast disk, 4 ms on a slow one
 * (docs/BENCHMARKS.md). The directory flush makes a new file's name
 * durable, so it stays whenever the WAL may be new to the disk: when it
 * does not exist, when it is empty (a process that only read created it,
 * and flushed nothing), and when it disappears between the check and the
 * open (a foreign program's checkpoint on close); the open is then made
 * as SQLite asked. A WAL holding data was flushed by its first writer,
 * directory included, because that writer found it missing or empty.
 * (Linux's journalling file systems make a new name durable with the
 * file's own flush anyway; SQLite's extra flush is for the others.) */
#include "store/internal.h"

#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "util/banned.h"

static sqlite3_vfs vfs;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *registered;

static int wal_open(sqlite3_vfs *self, sqlite3_filename name,
		    sqlite3_file *file, int flags, int *out_flags)
{
	sqlite3_vfs *base = self->pAppData;
	struct stat st;
	int rc;

	if ((flags & SQLITE_OPEN_WAL) && (flags & SQLITE_OPEN_CREATE) && name &&
	    stat(name, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		rc = base->xOpen(base, name, file, flags & ~SQLITE_OPEN_CREATE,
				 out_flags);
		if (rc != SQLITE_CANTOPEN)
			return rc;
	}
	return base->xOpen(base, name, file, flags, out_flags);
}

static void register_vfs(void)
{
	sqlite3_vfs *base;

	if (sqlite3_initialize() != SQLITE_OK || !(base = sqlite3_vfs_find(0)))
		return;
	vfs = *base;
	vfs.pNext = NULL;
	vfs.zName = "zadig-hook";
	vfs.pAppData = base;
	vfs.xOpen = wal_open;
	if (sqlite3_vfs_register(&vfs, 0) == SQLITE_OK)
		registered = vfs.zName;
}

const char *store_vfs(void)
{
	pthread_once(&once, register_vfs);
	return registered; /* NULL (SQLite's default) if it could not be */
}
