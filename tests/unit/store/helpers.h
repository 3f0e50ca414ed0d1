/* Temporary state directories and store fixtures for the store tests. */
#ifndef ZH_TESTS_UNIT_STORE_HELPERS_H
#define ZH_TESTS_UNIT_STORE_HELPERS_H

#include "store/store.h"
#include "util/error.h"

/* A fresh directory under /tmp (free() the result). Fails the test when it
 * cannot be made. */
char *tmpdir_new(void);

/* Remove dir and everything below it, then free(dir). NULL-safe. */
void tmpdir_remove(char *dir);

/* Open the store in dir, failing the test with the library's message. */
struct zh_store *open_ok(const char *dir);

/* A cmocka fixture: a store open in a fresh directory. */
struct store_fx {
	char *dir;
	struct zh_store *s;
};

/* cmocka setup: *state = a new struct store_fx. */
int store_setup(void **state);

/* cmocka teardown: close the store, remove its directory, free *state. */
int store_teardown(void **state);

/* A cmocka test run with the store fixture. */
#define store_test(f)                                                          \
	cmocka_unit_test_setup_teardown(f, store_setup, store_teardown)

/* A trigger spec with every field set; commit and rule vary per test. */
struct zh_store_trigger_spec spec_for(const char *commit, const char *rule);

/* Record Zadig's create_time for task row id, unless it has one, as its
 * first poll does (zh_store_task_polled, nothing else changed). Returns
 * what zh_store_task_get or zh_store_task_polled does. */
int set_zadig_created(struct zh_store *s, int64_t id, int64_t create_time,
		      struct zh_error *err);

/* Assert that ret is 0, printing err's message otherwise. */
#define assert_ok(ret, err)                                                    \
	do {                                                                   \
		int ret_ = (ret);                                              \
		if (ret_ != 0)                                                 \
			fail_msg("returned %d: %s", ret_, (err)->msg);         \
	} while (0)

/* Assert that message contains needle, printing the message otherwise. */
#define assert_contains(message, needle)                                       \
	do {                                                                   \
		if (!strstr((message), (needle)))                              \
			fail_msg("'%s' lacks '%s'", (message), (needle));      \
	} while (0)

#endif
