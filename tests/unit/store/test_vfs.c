/* store/vfs.c: a WAL that holds data is opened without SQLITE_OPEN_CREATE
 * (no directory flush at the first commit); a missing or empty one with it.
 * A recording VFS, registered as SQLite's default before the store's,
 * sees the flags the store's VFS passes down, and counts the flushes of
 * the WAL: zh_store_trigger_add_many makes one however many it adds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "tests/unit/store/helpers.h"
#include "util/banned.h"
#include "util/error.h"

static sqlite3_vfs recorder;
static int wal_opens, wal_creates, wal_syncs;
static int sync_fails; /* what the WAL's next xSync returns, when not 0 */
/* the base VFS's file methods, and a copy counting a WAL's xSync */
static const sqlite3_io_methods *base_methods;
static sqlite3_io_methods wal_methods;

static int record_sync(sqlite3_file *file, int flags)
{
	wal_syncs++;
	if (sync_fails)
		return sync_fails;
	return base_methods->xSync(file, flags);
}

static int record_open(sqlite3_vfs *self, sqlite3_filename name,
		       sqlite3_file *file, int flags, int *out_flags)
{
	sqlite3_vfs *base = self->pAppData;
	int rc;

	if (flags & SQLITE_OPEN_WAL) {
		wal_opens++;
		if (flags & SQLITE_OPEN_CREATE)
			wal_creates++;
	}
	rc = base->xOpen(base, name, file, flags, out_flags);
	if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && file->pMethods) {
		if (!base_methods) {
			base_methods = file->pMethods;
			wal_methods = *base_methods;
			wal_methods.xSync = record_sync;
		}
		/* one unix VFS: every file has the same methods */
		assert_ptr_equal(file->pMethods, base_methods);
		file->pMethods = &wal_methods;
	}
	return rc;
}

static int register_recorder(void **state)
{
	sqlite3_vfs *base;

	(void)state;
	assert_int_equal(sqlite3_initialize(), SQLITE_OK);
	base = sqlite3_vfs_find(0);
	assert_non_null(base);
	recorder = *base;
	recorder.pNext = NULL;
	recorder.zName = "recorder";
	recorder.pAppData = base;
	recorder.xOpen = record_open;
	assert_int_equal(sqlite3_vfs_register(&recorder, 1), SQLITE_OK);
	return 0;
}

/* Open the store in dir, write to it, close it: the WAL opens counted. */
static void open_write_close(const char *dir, int *opens, int *creates)
{
	struct zh_error err = {0};
	struct zh_store *s;

	wal_opens = wal_creates = 0;
	s = open_ok(dir);
	assert_ok(zh_store_meta_set(s, "k", "v", &err), &err);
	zh_store_free(s);
	*opens = wal_opens;
	*creates = wal_creates;
}

static char *wal_of(const char *dir)
{
	size_t n = strlen(dir) + sizeof("/state.db-wal");
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/state.db-wal", dir);
	return p;
}

static void wal_with_data_opens_without_create(void **state)
{
	char *dir = tmpdir_new(), *wal = wal_of(dir);
	struct stat st;
	int opens, creates;

	(void)state;
	/* a new store: its WAL is created, with the flag */
	open_write_close(dir, &opens, &creates);
	assert_int_equal(opens, 1);
	assert_int_equal(creates, 1);
	/* kept by the close (store.c), holding the commits */
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size > 0);
	open_write_close(dir, &opens, &creates);
	assert_int_equal(opens, 1);
	assert_int_equal(creates, 0);

	/* empty: created by a process that flushed nothing */
	assert_int_equal(truncate(wal, 0), 0);
	open_write_close(dir, &opens, &creates);
	assert_int_equal(opens, 1);
	assert_int_equal(creates, 1);

	/* gone (a foreign program's checkpoint on close) */
	assert_int_equal(unlink(wal), 0);
	open_write_close(dir, &opens, &creates);
	assert_int_equal(opens, 1);
	assert_int_equal(creates, 1);
	assert_int_equal(stat(wal, &st), 0);
	free(wal);
	tmpdir_remove(dir);
}

static void data_survives_every_open(void **state)
{
	char *dir = tmpdir_new(), *v = NULL;
	struct zh_error err = {0};
	struct zh_store *s;
	int opens, creates;

	(void)state;
	open_write_close(dir, &opens, &creates);
	open_write_close(dir, &opens, &creates);
	s = open_ok(dir);
	assert_ok(zh_store_meta_get(&v, s, "k", &err), &err);
	assert_non_null(v);
	assert_string_equal(v, "v");
	free(v);
	zh_store_free(s);
	tmpdir_remove(dir);
}

/* Ten triggers (two of them the same) in one call: one flush of the WAL;
 * the same ten one by one: one each. */
static void add_many_flushes_once(void **state)
{
	char *dir = tmpdir_new();
	struct zh_store_trigger_spec sp[10];
	struct zh_store_trigger_added out[10];
	struct zh_error err = {0};
	struct zh_store *s;
	char commits[10][8];
	int64_t id;
	size_t i;

	(void)state;
	s = open_ok(dir);
	for (i = 0; i < 10; i++) {
		snprintf(commits[i], sizeof(commits[i]), "c%zu", i % 9);
		sp[i] = spec_for(commits[i], "dev");
	}
	wal_syncs = 0;
	assert_ok(zh_store_trigger_add_many(out, s, sp, 10, 1, &err), &err);
	assert_int_equal(wal_syncs, 1);
	for (i = 0; i < 9; i++) {
		assert_true(out[i].id > 0);
		assert_false(out[i].existed);
	}
	/* c0 again, in the same call */
	assert_true(out[9].existed);
	assert_int_equal(out[9].id, out[0].id);

	for (i = 0; i < 10; i++)
		sp[i].rule = "prod";
	wal_syncs = 0;
	for (i = 0; i < 10; i++)
		assert_ok(zh_store_trigger_add(&id, NULL, s, &sp[i], 2, &err),
			  &err);
	/* at least one per new trigger */
	assert_in_range(wal_syncs, 9, 100);
	zh_store_free(s);
	tmpdir_remove(dir);
}

/* A commit that SQLite fails as busy is ZH_EBUSY, as store.h promises
 * (the hook spools the push and tries again later), where store_commit
 * answered ZH_ESTORE whatever store_fail said. Nothing of it is kept. */
static void busy_commit_is_busy(void **state)
{
	char *dir = tmpdir_new();
	struct zh_store_trigger_spec sp[2] = {spec_for("c1", "dev"),
					      spec_for("c2", "dev")};
	struct zh_store_trigger_added out[2];
	struct zh_error err = {0};
	struct zh_store *s;
	int rc;

	(void)state;
	s = open_ok(dir);
	sync_fails = SQLITE_BUSY;
	rc = zh_store_trigger_add_many(out, s, sp, 2, 1, &err);
	sync_fails = 0;
	if (rc != ZH_EBUSY)
		fail_msg("returned %d, not ZH_EBUSY: %s", rc, err.msg);
	assert_contains(err.msg, "is busy: cannot commit");
	assert_int_equal(out[0].id, 0);
	/* rolled back: the same call records both afresh */
	assert_ok(zh_store_trigger_add_many(out, s, sp, 2, 2, &err), &err);
	assert_false(out[0].existed);
	assert_false(out[1].existed);
	zh_store_free(s);
	tmpdir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(wal_with_data_opens_without_create),
	    cmocka_unit_test(data_survives_every_open),
	    cmocka_unit_test(add_many_flushes_once),
	    cmocka_unit_test(busy_commit_is_busy),
	};

	return cmocka_run_group_tests(tests, register_recorder, NULL);
}
