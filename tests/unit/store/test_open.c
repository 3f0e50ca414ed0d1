#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/internal.h"
#include "store/store.h"
#include "tests/unit/store/helpers.h"
#include "util/banned.h"
#include "util/error.h"

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static void creates_dir_and_schema(void **state)
{
	char *tmp = tmpdir_new();
	char *dir = join(tmp, "a/b/state");
	char *db = join(dir, "state.db");
	struct zh_error err = {0};
	struct zh_store *s;
	struct stat st;
	int v = -1;

	(void)state;
	s = open_ok(dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(db, &st), 0);
	assert_string_equal(zh_store_path(s), db);
	assert_ok(zh_store_schema_version(&v, s, &err), &err);
	assert_int_equal(v, ZH_STORE_SCHEMA_VERSION);
	assert_ok(zh_store_ping(s, 1000, 0, &err), &err);
	assert_ok(zh_store_ping(s, 1001, 64 * 1024, &err), &err);
	zh_store_free(s);
	zh_store_free(NULL);
	free(db);
	free(dir);
	tmpdir_remove(tmp);
}

static void reopen_keeps_data(void **state)
{
	char *dir = tmpdir_new();
	char *dir_slash = join(dir, "");
	struct zh_store_trigger_spec sp = spec_for("c1", "dev");
	struct zh_error err = {0};
	struct zh_store *s;
	char *v = NULL;
	int64_t id, id2;
	bool existed;

	(void)state;
	s = open_ok(dir);
	assert_ok(zh_store_trigger_add(&id, &existed, s, &sp, 1, &err), &err);
	assert_false(existed);
	assert_ok(
	    zh_store_meta_set(s, "commit_lookup_disabled:http://z", "1", &err),
	    &err);
	zh_store_free(s);

	/* a trailing slash names the same store */
	s = open_ok(dir_slash);
	assert_ok(zh_store_trigger_add(&id2, &existed, s, &sp, 2, &err), &err);
	assert_true(existed);
	assert_int_equal(id, id2);
	assert_ok(
	    zh_store_meta_get(&v, s, "commit_lookup_disabled:http://z", &err),
	    &err);
	assert_string_equal(v, "1");
	free(v);
	zh_store_free(s);
	free(dir_slash);
	tmpdir_remove(dir);
}

static void meta_get_set_delete(void **state)
{
	char *dir = tmpdir_new();
	struct zh_error err = {0};
	struct zh_store *s = open_ok(dir);
	char *v = NULL;

	(void)state;
	assert_int_equal(zh_store_meta_get(&v, s, "k", &err), ZH_ENOTFOUND);
	assert_null(v);
	assert_ok(zh_store_meta_set(s, "k", "one", &err), &err);
	assert_ok(zh_store_meta_set(s, "k", "two", &err), &err);
	assert_ok(zh_store_meta_get(&v, s, "k", &err), &err);
	assert_string_equal(v, "two");
	free(v);
	assert_ok(zh_store_meta_set(s, "k", NULL, &err), &err);
	assert_int_equal(zh_store_meta_get(&v, s, "k", &err), ZH_ENOTFOUND);
	assert_int_equal(zh_store_meta_set(s, NULL, "x", &err), ZH_EINVALID);
	zh_store_free(s);
	tmpdir_remove(dir);
}

/* Another connection holds the write lock: a write waits for the busy
 * timeout set (not the 5 s of zh_store_open) and fails with ZH_EBUSY, the
 * code the hook spools a push on. */
static void busy_waits_for_the_timeout_set(void **state)
{
	char *dir = tmpdir_new(), *db = join(dir, "state.db");
	struct zh_error err = {0};
	struct zh_store *s = open_ok(dir);
	sqlite3 *other = NULL;
	int64_t t0, took;

	(void)state;
	assert_int_equal(sqlite3_open(db, &other), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	zh_store_set_busy_timeout(s, 300);
	t0 = zh_store_now_ms();
	assert_int_equal(zh_store_meta_set(s, "k", "v", &err), ZH_EBUSY);
	took = zh_store_now_ms() - t0;
	assert_non_null(strstr(err.msg, "is busy: "));
	assert_true(took >= 250 && took < 3000);
	zh_store_set_busy_timeout(s, 0);
	t0 = zh_store_now_ms();
	assert_int_equal(zh_store_meta_set(s, "k", "v", &err), ZH_EBUSY);
	assert_true(zh_store_now_ms() - t0 < 250);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	assert_ok(zh_store_meta_set(s, "k", "v", &err), &err);
	zh_store_free(s);
	free(db);
	tmpdir_remove(dir);
}

static void *hold_store(void *arg)
{
	struct zh_store *s = arg;

	store_lock(s);
	usleep(1500 * 1000);
	store_unlock(s);
	return NULL;
}

/* The receiver stopping stores its last events waiting for another
 * process's lock only until its drain is over: the wait given, where
 * shorter than the busy timeout, for that call alone, and for another
 * thread of its own (a worker waiting for that lock) too. */
static void event_batch_waits_as_long_as_asked(void **state)
{
	char *dir = tmpdir_new(), *db = join(dir, "state.db");
	struct zh_error err = {0};
	struct zh_store *s = open_ok(dir);
	struct zh_store_event_in in = {
	    .key = "k1", .kind = "push", .payload = "{}", .payload_len = 2};
	sqlite3 *other = NULL;
	pthread_t t;
	int64_t t0, took;

	(void)state;
	assert_int_equal(sqlite3_open(db, &other), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	zh_store_set_busy_timeout(s, 1500);
	t0 = zh_store_now_ms();
	assert_int_equal(zh_store_event_add_batch_wait(&in, 1, 200, s, &err),
			 ZH_EBUSY);
	took = zh_store_now_ms() - t0;
	assert_non_null(strstr(err.msg, "is busy: "));
	assert_true(took >= 150 && took < 1400);
	t0 = zh_store_now_ms();
	assert_int_equal(zh_store_event_add_batch_wait(&in, 1, 0, s, &err),
			 ZH_EBUSY);
	assert_true(zh_store_now_ms() - t0 < 1400);
	/* the busy timeout is back for the next call */
	t0 = zh_store_now_ms();
	assert_int_equal(zh_store_event_add_batch(&in, 1, s, &err), ZH_EBUSY);
	assert_true(zh_store_now_ms() - t0 >= 1400);
	/* longer than the busy timeout: the busy timeout */
	t0 = zh_store_now_ms();
	assert_int_equal(zh_store_event_add_batch_wait(&in, 1, 60000, s, &err),
			 ZH_EBUSY);
	took = zh_store_now_ms() - t0;
	assert_true(took >= 1400 && took < 10000);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);

	/* another thread holds the store */
	assert_int_equal(pthread_create(&t, NULL, hold_store, s), 0);
	usleep(100 * 1000);
	t0 = zh_store_now_ms();
	assert_int_equal(zh_store_event_add_batch_wait(&in, 1, 200, s, &err),
			 ZH_EBUSY);
	took = zh_store_now_ms() - t0;
	assert_non_null(strstr(err.msg, "is busy: cannot store an event: "
					"held by another thread"));
	assert_true(took >= 150 && took < 1200);
	assert_ok(zh_store_event_add_batch(&in, 1, s, &err), &err);
	assert_true(in.id > 0 && !in.duplicate);
	pthread_join(t, NULL);
	zh_store_free(s);
	free(db);
	tmpdir_remove(dir);
}

/* Make db at dir/state.db with the given user_version and no tables. */
static void craft_db(const char *dir, int version)
{
	char *path = join(dir, "state.db");
	char sql[64];
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(path);
}

static void migrates_old_and_refuses_newer(void **state)
{
	char *dir = tmpdir_new();
	char *path = join(dir, "state.db");
	struct zh_error err = {0};
	struct zh_store *s = NULL;
	int v = -1, fd;

	(void)state;
	/* an empty (version 0) file is brought up to date */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	s = open_ok(dir);
	assert_ok(zh_store_schema_version(&v, s, &err), &err);
	assert_int_equal(v, ZH_STORE_SCHEMA_VERSION);
	zh_store_free(s);

	unlink(path);
	craft_db(dir, 99);
	assert_int_equal(zh_store_open(&s, dir, &err), ZH_ESTORE);
	assert_null(s);
	assert_contains(err.msg, "schema version 99, newer");
	assert_contains(err.msg, path);
	free(path);
	tmpdir_remove(dir);
}

static void corrupt_file_is_reported(void **state)
{
	char *dir = tmpdir_new();
	char *path = join(dir, "state.db");
	char want[600];
	char junk[8192];
	struct zh_error err = {0};
	struct zh_store *s = NULL;
	size_t i;
	FILE *f;

	(void)state;
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	assert_int_equal(zh_store_open(&s, dir, &err), ZH_ESTORE);
	assert_null(s);
	snprintf(want, sizeof(want), "state store '%s' is corrupt: ", path);
	assert_memory_equal(err.msg, want, strlen(want));
	free(path);
	tmpdir_remove(dir);
}

static void unusable_dir_is_reported(void **state)
{
	char *tmp = tmpdir_new();
	char *file = join(tmp, "plain");
	char *under_file = join(file, "state");
	char *ro = join(tmp, "ro");
	char *ro_sub = join(ro, "state");
	struct zh_error err = {0};
	struct zh_store *s = NULL;
	FILE *f;

	(void)state;
	/* a path through a regular file: fails as root too */
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(zh_store_open(&s, under_file, &err), ZH_ESTORE);
	assert_null(s);
	assert_contains(err.msg, "cannot open state store '");
	assert_contains(err.msg, "Not a directory");

	if (geteuid() != 0) {
		/* root ignores permissions: only checked as a user */
		assert_int_equal(mkdir(ro, 0500), 0);
		assert_int_equal(zh_store_open(&s, ro_sub, &err), ZH_ESTORE);
		assert_contains(err.msg, "cannot open state store '");
		assert_contains(err.msg, "Permission denied");
		assert_int_equal(zh_store_open(&s, ro, &err), ZH_ESTORE);
		assert_contains(err.msg, "cannot open state store '");
		assert_contains(err.msg, "Permission denied");
		chmod(ro, 0700);
		/* an existing store file we may not write */
		s = open_ok(ro);
		zh_store_free(s);
		s = NULL;
		{
			char *db = join(ro, "state.db");

			assert_int_equal(chmod(db, 0400), 0);
			assert_int_equal(zh_store_open(&s, ro, &err),
					 ZH_ESTORE);
			assert_null(s);
			assert_contains(err.msg, "cannot open state store '");
			assert_contains(err.msg, "read-only");
			free(db);
		}
	}
	assert_int_equal(zh_store_open(&s, "", &err), ZH_EINVALID);
	free(file);
	free(under_file);
	free(ro);
	free(ro_sub);
	tmpdir_remove(tmp);
}

/* OPENERS processes open the store in dir at the same moment and write to
 * it; returns how many failed. */
static int open_at_once(const char *dir)
{
	enum { OPENERS = 6 };
	pid_t pids[OPENERS];
	int go[2], i, status, failed = 0;

	assert_int_equal(pipe(go), 0);
	for (i = 0; i < OPENERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct zh_error err = {0};
			struct zh_store *s = NULL;
			char c;
			int r;

			close(go[1]);
			/* released together when the pipe closes */
			(void)!read(go[0], &c, 1);
			r = zh_store_open(&s, dir, &err);
			if (r == 0)
				r = zh_store_meta_set(s, "k", "v", &err);
			if (r < 0)
				fprintf(stderr, "opener: %s\n", err.msg);
			zh_store_free(s);
			_exit(r < 0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < OPENERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	return failed;
}

/* Processes that open a store nobody created yet, all at the same moment
 * (two hooks of one push into a new repository): each gets the store,
 * none is told it is busy; and again once all have closed it, when the
 * first to come rebuilds the WAL's index from the WAL they left. Several
 * fresh stores, since the race is in the first moments of a file. */
static void first_opens_at_once_all_succeed(void **state)
{
	int round, failed = 0;

	(void)state;
	for (round = 0; round < 12; round++) {
		char *tmp = tmpdir_new();
		char *dir = join(tmp, "state");

		failed += open_at_once(dir);
		failed += open_at_once(dir);
		free(dir);
		tmpdir_remove(tmp);
	}
	assert_int_equal(failed, 0);
}

static void poller_lock_is_exclusive(void **state)
{
	char *dir = tmpdir_new();
	struct zh_error err = {0};
	int fd = -1, fd2 = -1, status;
	pid_t pid;

	(void)state;
	assert_ok(zh_store_lock_poller(&fd, dir, 0, &err), &err);
	assert_true(fd >= 0);
	/* another open of the lock, even in this process, is refused */
	assert_int_equal(zh_store_lock_poller(&fd2, dir, 0, &err),
			 ZH_STORE_LOCK_HELD);
	assert_int_equal(fd2, -1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int cfd = -1;
		int r = zh_store_lock_poller(&cfd, dir, 0, NULL);

		_exit(r == ZH_STORE_LOCK_HELD && cfd == -1 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	zh_store_unlock_poller(fd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int cfd = -1;
		int r = zh_store_lock_poller(&cfd, dir, 0, NULL);

		_exit(r == 0 && cfd >= 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	zh_store_unlock_poller(-1);
	tmpdir_remove(dir);
}

static void backoff_table(void **state)
{
	static const struct {
		int attempts;
		int64_t base;
	} t[] = {
	    {0, 1000},	   {1, 1000},	      {2, 2000},    {3, 4000},
	    {4, 8000},	   {5, 16000},	      {6, 32000},   {7, 64000},
	    {8, 128000},   {9, 256000},	      {10, 300000}, {11, 300000},
	    {100, 300000}, {1000000, 300000},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t lo = zh_store_backoff_ms(t[i].attempts, 0);
		int64_t mid = zh_store_backoff_ms(t[i].attempts, 200);
		int64_t hi = zh_store_backoff_ms(t[i].attempts, 400);

		assert_int_equal(lo, t[i].base * 8 / 10);
		assert_int_equal(mid, t[i].base);
		/* +20 %, but never above 5 minutes */
		assert_int_equal(hi, t[i].base * 12 / 10 > 300000
					 ? 300000
					 : t[i].base * 12 / 10);
		/* pure: same inputs, same result */
		assert_int_equal(zh_store_backoff_ms(t[i].attempts, 12345),
				 zh_store_backoff_ms(t[i].attempts, 12345));
	}
	for (i = 0; i < 1000; i++) {
		int64_t ms = zh_store_backoff_ms(3, (unsigned)rand());

		assert_true(ms >= 3200 && ms <= 4800);
	}
}

/* store_cached keeps every statement it hands out (callers reset them,
 * never finalize them): past its table it refuses, rather than hand out
 * one nobody would finalize; the kept ones still come back, and the
 * store closes cleanly (LeakSanitizer in the ASan build). */
static void kept_statements_are_bounded(void **state)
{
	static char sql[STORE_CACHE + 1][24];
	char *tmp = tmpdir_new();
	struct zh_error err = {0};
	struct zh_store *s;
	sqlite3_stmt *st, *first = NULL;
	size_t i;
	int rc = 0;

	(void)state;
	s = open_ok(tmp);
	store_lock(s);
	for (i = 0; i <= STORE_CACHE; i++) {
		snprintf(sql[i], sizeof(sql[i]), "SELECT %zu", i);
		if ((rc = store_cached(&st, s, sql[i], &err)) < 0)
			break;
		if (i == 0)
			first = st;
	}
	/* refused at the latest once the table is full, not before its
	 * last free slot (the store itself may keep a few already) */
	assert_int_equal(rc, ZH_ESTORE);
	assert_true(i > 0 && i <= STORE_CACHE);
	assert_non_null(strstr(err.msg, "kept statements"));
	assert_int_equal(store_cached(&st, s, sql[0], &err), 0);
	assert_ptr_equal(st, first);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	store_release(st);
	store_unlock(s);
	zh_store_free(s);
	tmpdir_remove(tmp);
}

static void keys_are_random_hex(void **state)
{
	char a[ZH_STORE_KEY_LEN + 1], b[ZH_STORE_KEY_LEN + 1];
	struct zh_error err = {0};
	size_t i;

	(void)state;
	assert_ok(zh_store_new_key(a, &err), &err);
	assert_ok(zh_store_new_key(b, &err), &err);
	assert_int_equal(strlen(a), ZH_STORE_KEY_LEN);
	assert_string_not_equal(a, b);
	for (i = 0; i < ZH_STORE_KEY_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_true(zh_store_now_ms() > 1600000000000LL);
}

/* Remove directory dir and the files in it (a store's: no subdirectory),
 * as uninstall --purge does. Returns 0 or -1. */
static int remove_flat(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' ||
		    (e->d_name[1] && e->d_name[1] != '.'))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	return rmdir(dir);
}

struct opener {
	const char *dir;
	int rc;
	char msg[512];
};

static void *open_in_thread(void *arg)
{
	struct opener *o = arg;
	struct zh_error err = {0};
	struct zh_store *s = NULL;

	o->rc = zh_store_open(&s, o->dir, &err);
	snprintf(o->msg, sizeof(o->msg), "%s", err.msg);
	zh_store_free(s);
	return NULL;
}

/* Every open store holds the shared use lock; removal takes it
 * exclusively, and an open meanwhile waits, then fails once the store was
 * removed rather than make it anew. */
static void removal_waits_for_users_and_stops_opens(void **state)
{
	char *tmp = tmpdir_new();
	char *dir = join(tmp, "state");
	struct zh_error err = {0};
	struct zh_store *s = open_ok(dir);
	struct opener o = {.dir = dir};
	struct timespec tick = {0, 200000000};
	pthread_t t;
	struct stat st;
	int fd = -1;

	(void)state;
	/* an open store: removal must wait */
	assert_int_equal(zh_store_lock_removal(&fd, dir, &err),
			 ZH_STORE_LOCK_HELD);
	assert_int_equal(fd, -1);
	zh_store_free(s);
	assert_ok(zh_store_lock_removal(&fd, dir, &err), &err);
	assert_true(fd >= 0);
	/* an open while removal holds it waits, and fails once it is gone */
	assert_int_equal(pthread_create(&t, NULL, open_in_thread, &o), 0);
	nanosleep(&tick, NULL);
	assert_int_equal(remove_flat(dir), 0);
	zh_store_unlock_removal(fd);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(o.rc, ZH_ESTORE);
	assert_non_null(strstr(o.msg, "was removed while it was being opened"));
	assert_int_equal(stat(dir, &st), -1);
	/* released without removing: the open goes on */
	s = open_ok(dir);
	zh_store_free(s);
	assert_ok(zh_store_lock_removal(&fd, dir, &err), &err);
	o.rc = -1;
	assert_int_equal(pthread_create(&t, NULL, open_in_thread, &o), 0);
	nanosleep(&tick, NULL);
	zh_store_unlock_removal(fd);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(o.rc, 0);
	free(dir);
	tmpdir_remove(tmp);
}

/* A store made before store.lock existed (or by a program run as
 * another user) has none: nobody can hold it, so removal goes on, and
 * makes no file (one made 0600 by root would shut out the pushers). */
static void removal_of_a_store_without_lock_file(void **state)
{
	char *tmp = tmpdir_new();
	char *dir = join(tmp, "state");
	char *lock = join(dir, "store.lock");
	struct zh_error err = {0};
	struct stat st;
	int fd = -2;

	(void)state;
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_ok(zh_store_lock_removal(&fd, dir, &err), &err);
	assert_int_equal(fd, -1);
	assert_int_equal(stat(lock, &st), -1);
	zh_store_unlock_removal(fd);
	free(lock);
	free(dir);
	tmpdir_remove(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(creates_dir_and_schema),
	    cmocka_unit_test(reopen_keeps_data),
	    cmocka_unit_test(meta_get_set_delete),
	    cmocka_unit_test(busy_waits_for_the_timeout_set),
	    cmocka_unit_test(event_batch_waits_as_long_as_asked),
	    cmocka_unit_test(migrates_old_and_refuses_newer),
	    cmocka_unit_test(corrupt_file_is_reported),
	    cmocka_unit_test(unusable_dir_is_reported),
	    cmocka_unit_test(first_opens_at_once_all_succeed),
	    cmocka_unit_test(poller_lock_is_exclusive),
	    cmocka_unit_test(removal_waits_for_users_and_stops_opens),
	    cmocka_unit_test(removal_of_a_store_without_lock_file),
	    cmocka_unit_test(backoff_table),
	    cmocka_unit_test(kept_statements_are_bounded),
	    cmocka_unit_test(keys_are_random_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
