/* webhook/loglimit.c: at most ZH_WH_LOGLIMIT_PER_S lines a second; the
 * lines not logged are counted and said once, by the first line of a
 * later second or by a flush once their second is over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "webhook/loglimit.h"

#include "util/banned.h"

static void limits_and_reports(void **state)
{
	struct zh_wh_loglimit l;
	unsigned long report = 99;
	int64_t t = 1000000;
	int i;

	(void)state;
	zh_wh_loglimit_init(&l);
	for (i = 0; i < ZH_WH_LOGLIMIT_PER_S; i++) {
		assert_true(zh_wh_loglimit_take(&l, t + i, &report));
		assert_int_equal(report, 0);
	}
	for (i = 0; i < 7; i++) {
		assert_false(zh_wh_loglimit_take(&l, t + 500 + i, &report));
		assert_int_equal(report, 0);
	}
	/* not before the second is over */
	assert_int_equal(zh_wh_loglimit_flush(&l, t + 999), 0);
	/* the next second's first line says them first */
	assert_true(zh_wh_loglimit_take(&l, t + 1000, &report));
	assert_int_equal(report, 7);
	for (i = 1; i < ZH_WH_LOGLIMIT_PER_S; i++)
		assert_true(zh_wh_loglimit_take(&l, t + 1001, &report));
	assert_false(zh_wh_loglimit_take(&l, t + 1002, &report));
	assert_false(zh_wh_loglimit_take(&l, t + 1003, &report));
	/* the flood ended: a flush says its last second once */
	assert_int_equal(zh_wh_loglimit_flush(&l, t + 1500), 0);
	assert_int_equal(zh_wh_loglimit_flush(&l, t + 2002), 2);
	assert_int_equal(zh_wh_loglimit_flush(&l, t + 3000), 0);
	assert_true(zh_wh_loglimit_take(&l, t + 9000, &report));
	assert_int_equal(report, 0);
	/* a clock set back starts a new second */
	for (i = 1; i < ZH_WH_LOGLIMIT_PER_S; i++)
		assert_true(zh_wh_loglimit_take(&l, t + 9000, &report));
	assert_false(zh_wh_loglimit_take(&l, t + 9000, &report));
	assert_true(zh_wh_loglimit_take(&l, t, &report));
	assert_int_equal(report, 1);
	zh_wh_loglimit_dispose(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(limits_and_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
