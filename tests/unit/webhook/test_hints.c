/* webhook/hints.c: the bounded queue of Zadig's hints between the HTTP
 * threads and the workers. What is put comes out once, in order; what
 * does not fit is dropped and reported, the first time and then once per
 * ZH_WH_HINTS_REPORT_MS; what is left queued is freed by dispose (the
 * sanitizer build's leak check sees the rest). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/error.h"
#include "webhook/hints.h"

#include "util/banned.h"

static size_t count(const struct zh_wh_hint *h)
{
	size_t n = 0;

	for (; h; h = h->next)
		n++;
	return n;
}

static void put_take(void **state)
{
	static struct zh_wh_hints q;
	struct zh_wh_hint *l;
	unsigned long report = 7;

	(void)state;
	zh_wh_hints_init(&q);
	assert_null(zh_wh_hints_take(&q));
	assert_int_equal(
	    zh_wh_hints_put(&q, ZH_WH_HINT_CALLBACK, "k1", NULL, 0, 0, &report),
	    0);
	assert_int_equal(report, 0);
	assert_int_equal(zh_wh_hints_put(&q, ZH_WH_HINT_NOTIFY, "zadig:n-1",
					 "wf-dev", 42, 0, NULL),
			 0);
	l = zh_wh_hints_take(&q);
	assert_int_equal(count(l), 2);
	assert_int_equal(l->kind, ZH_WH_HINT_CALLBACK);
	assert_string_equal(l->key, "k1");
	assert_null(l->workflow);
	assert_int_equal(l->next->kind, ZH_WH_HINT_NOTIFY);
	assert_string_equal(l->next->key, "zadig:n-1");
	assert_string_equal(l->next->workflow, "wf-dev");
	assert_int_equal(l->next->task_id, 42);
	/* taken once */
	assert_null(zh_wh_hints_take(&q));
	zh_wh_hints_free(l);
	zh_wh_hints_free(NULL);
	zh_wh_hints_dispose(&q);
}

static void full_queue_drops_and_reports(void **state)
{
	static struct zh_wh_hints q;
	struct zh_wh_hint *l;
	unsigned long report = 0;
	char key[32];
	size_t i;

	(void)state;
	zh_wh_hints_init(&q);
	for (i = 0; i < ZH_WH_HINTS_MAX; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		assert_int_equal(zh_wh_hints_put(&q, ZH_WH_HINT_CALLBACK, key,
						 NULL, 0, 1000, &report),
				 0);
	}
	/* the first drop is reported at once */
	assert_int_equal(zh_wh_hints_put(&q, ZH_WH_HINT_CALLBACK, "x", NULL, 0,
					 1000, &report),
			 ZH_ETOOBIG);
	assert_int_equal(report, 1);
	/* the next ones within ZH_WH_HINTS_REPORT_MS are only counted */
	for (i = 0; i < 5; i++) {
		assert_int_equal(zh_wh_hints_put(&q, ZH_WH_HINT_NOTIFY, "y",
						 "wf", 1, 2000, &report),
				 ZH_ETOOBIG);
		assert_int_equal(report, 0);
	}
	/* then one report for all of them and this one */
	assert_int_equal(zh_wh_hints_put(&q, ZH_WH_HINT_CALLBACK, "x", NULL, 0,
					 1000 + ZH_WH_HINTS_REPORT_MS, &report),
			 ZH_ETOOBIG);
	assert_int_equal(report, 6);
	/* oldest first, none lost, none twice */
	l = zh_wh_hints_take(&q);
	assert_int_equal(count(l), ZH_WH_HINTS_MAX);
	assert_string_equal(l->key, "k0");
	zh_wh_hints_free(l);
	/* taken: room again */
	assert_int_equal(zh_wh_hints_put(&q, ZH_WH_HINT_CALLBACK, "z", NULL, 0,
					 3000, &report),
			 0);
	zh_wh_hints_dispose(&q); /* frees "z" */
}

static void bytes_bounded(void **state)
{
	static struct zh_wh_hints q;
	size_t n = ZH_WH_HINTS_BYTES / 2;
	char *big = malloc(n);
	unsigned long report = 0;

	(void)state;
	assert_non_null(big);
	memset(big, 'w', n - 1);
	big[n - 1] = '\0';
	zh_wh_hints_init(&q);
	assert_int_equal(
	    zh_wh_hints_put(&q, ZH_WH_HINT_NOTIFY, "a", big, 1, 0, &report), 0);
	/* two such would pass the budget */
	assert_int_equal(
	    zh_wh_hints_put(&q, ZH_WH_HINT_NOTIFY, "b", big, 2, 0, &report),
	    ZH_ETOOBIG);
	assert_int_equal(report, 1);
	/* a small one still fits */
	assert_int_equal(
	    zh_wh_hints_put(&q, ZH_WH_HINT_CALLBACK, "c", NULL, 0, 0, &report),
	    0);
	zh_wh_hints_free(zh_wh_hints_take(&q));
	/* and with the queue emptied the big one fits again */
	assert_int_equal(
	    zh_wh_hints_put(&q, ZH_WH_HINT_NOTIFY, "b", big, 2, 0, &report), 0);
	zh_wh_hints_dispose(&q);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(put_take),
	    cmocka_unit_test(full_queue_drops_and_reports),
	    cmocka_unit_test(bytes_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
