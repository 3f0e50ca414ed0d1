/* webhook/parsed.c: the parses the HTTP side keeps for the workers. Every
 * parse put is either taken back or freed by the table (the sanitizer
 * build's leak check sees the rest). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "webhook/parsed.h"

#include "util/banned.h"

/* A parse that owns memory: a real one. */
static struct zh_gitlab_event *event(const char *ref)
{
	struct zh_gitlab_event *ev = calloc(1, sizeof(*ev));
	char body[512];
	int n;

	assert_non_null(ev);
	n = snprintf(body, sizeof(body),
		     "{\"object_kind\": \"push\", \"ref\": \"%s\", "
		     "\"before\": \"%040d\", \"after\": \"%040d\", "
		     "\"project\": {\"path_with_namespace\": \"g/p\"}}",
		     ref, 0, 1);
	assert_true(n > 0 && (size_t)n < sizeof(body));
	assert_int_equal(zh_gitlab_parse(ev, body, (size_t)n, NULL), 0);
	assert_string_equal(ev->ref, ref);
	return ev;
}

static void give_back(struct zh_gitlab_event *ev)
{
	zh_gitlab_event_dispose(ev);
	free(ev);
}

static void put_take(void **state)
{
	static struct zh_wh_parsed p;
	struct zh_gitlab_event *a = event("refs/heads/a"), *got;

	(void)state;
	zh_wh_parsed_init(&p);
	assert_null(zh_wh_parsed_take(&p, 7));
	zh_wh_parsed_put(&p, 7, a, 100);
	assert_int_equal(p.bytes, 100);
	/* the same slot, another event: not it */
	assert_null(zh_wh_parsed_take(&p, 7 + ZH_WH_PARSED_SLOTS));
	got = zh_wh_parsed_take(&p, 7);
	assert_ptr_equal(got, a);
	assert_string_equal(got->ref, "refs/heads/a");
	assert_int_equal(p.bytes, 0);
	/* taken once */
	assert_null(zh_wh_parsed_take(&p, 7));
	give_back(got);
	zh_wh_parsed_dispose(&p);
}

/* A newer event replaces the older one in its slot, which is freed. */
static void replaced(void **state)
{
	static struct zh_wh_parsed p;
	struct zh_gitlab_event *b = event("refs/heads/b"), *got;

	(void)state;
	zh_wh_parsed_init(&p);
	zh_wh_parsed_put(&p, 3, event("refs/heads/old"), 500);
	zh_wh_parsed_put(&p, 3 + ZH_WH_PARSED_SLOTS, b, 200);
	assert_int_equal(p.bytes, 200);
	assert_null(zh_wh_parsed_take(&p, 3));
	got = zh_wh_parsed_take(&p, 3 + ZH_WH_PARSED_SLOTS);
	assert_ptr_equal(got, b);
	give_back(got);
	/* a full table: every slot holds one, the next round replaces them */
	for (int64_t id = 1; id <= 2 * ZH_WH_PARSED_SLOTS; id++)
		zh_wh_parsed_put(&p, id, event("refs/heads/x"), 10);
	assert_int_equal(p.bytes, 10 * ZH_WH_PARSED_SLOTS);
	assert_null(zh_wh_parsed_take(&p, 1));
	got = zh_wh_parsed_take(&p, 2 * ZH_WH_PARSED_SLOTS);
	assert_non_null(got);
	give_back(got);
	zh_wh_parsed_dispose(&p);
}

/* What is kept stays within ZH_WH_PARSED_BYTES of payload: past it an
 * event is not kept (its worker parses the stored payload). */
static void budget(void **state)
{
	static struct zh_wh_parsed p;
	const size_t half = ZH_WH_PARSED_BYTES / 2;
	struct zh_gitlab_event *got;

	(void)state;
	zh_wh_parsed_init(&p);
	zh_wh_parsed_put(&p, 1, event("refs/heads/1"), half);
	zh_wh_parsed_put(&p, 2, event("refs/heads/2"), half);
	assert_int_equal(p.bytes, ZH_WH_PARSED_BYTES);
	zh_wh_parsed_put(&p, 3, event("refs/heads/3"), 1);
	assert_null(zh_wh_parsed_take(&p, 3));
	/* bigger than the whole budget */
	zh_wh_parsed_put(&p, 4, event("refs/heads/4"), ZH_WH_PARSED_BYTES + 1);
	assert_null(zh_wh_parsed_take(&p, 4));
	/* replacing frees the room of the one replaced first */
	zh_wh_parsed_put(&p, 2 + ZH_WH_PARSED_SLOTS, event("refs/heads/5"),
			 half);
	assert_int_equal(p.bytes, ZH_WH_PARSED_BYTES);
	/* a take makes room again */
	got = zh_wh_parsed_take(&p, 1);
	assert_non_null(got);
	give_back(got);
	zh_wh_parsed_put(&p, 3, event("refs/heads/3"), 1);
	got = zh_wh_parsed_take(&p, 3);
	assert_non_null(got);
	give_back(got);
	assert_int_equal(p.bytes, half);
	zh_wh_parsed_dispose(&p);
	assert_int_equal(p.bytes, 0);
}

/* The committer puts while workers take, as in the receiver. */
#define PER_THREAD 20000
static struct zh_wh_parsed shared;
static int taken[4];

static void *taker(void *arg)
{
	int t = (int)(intptr_t)arg;
	int64_t id;

	for (id = t; id < 4 * PER_THREAD; id += 4) {
		struct zh_gitlab_event *ev = zh_wh_parsed_take(&shared, id);

		if (ev) {
			taken[t]++;
			give_back(ev);
		}
	}
	return NULL;
}

static void concurrent(void **state)
{
	pthread_t th[4];
	int64_t id;
	size_t i, kept = 0;
	int t;

	(void)state;
	zh_wh_parsed_init(&shared);
	for (t = 0; t < 4; t++)
		assert_int_equal(
		    pthread_create(&th[t], NULL, taker, (void *)(intptr_t)t),
		    0);
	for (id = 0; id < 4 * PER_THREAD; id++)
		zh_wh_parsed_put(&shared, id, event("refs/heads/c"), 2600);
	for (t = 0; t < 4; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	/* whatever was not taken is still counted, then freed */
	for (i = 0; i < ZH_WH_PARSED_SLOTS; i++)
		kept += shared.slot[i].ev != NULL;
	assert_int_equal(shared.bytes, kept * 2600);
	assert_true(kept +
			(size_t)(taken[0] + taken[1] + taken[2] + taken[3]) <=
		    4 * PER_THREAD);
	zh_wh_parsed_dispose(&shared);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(put_take),
	    cmocka_unit_test(replaced),
	    cmocka_unit_test(budget),
	    cmocka_unit_test(concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
