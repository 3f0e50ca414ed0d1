/* webhook/metrics.c: the Prometheus text of the receiver's counters. A
 * scrape of the latency histogram is consistent whenever it comes: the
 * buckets never fall, and le="+Inf" and _count are the same number, not
 * below a bucket (a scrape between an observation's bucket and its count
 * showed a bucket above +Inf). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "webhook/metrics.h"

#include "util/banned.h"

#define H "zadig_webhook_zadig_request_seconds"

/* The histogram of one scrape: the cumulative buckets in order (+Inf
 * last) and _count. */
struct hist {
	unsigned long long bucket[ZH_METRICS_NBUCKETS + 1];
	size_t nbuckets;
	unsigned long long count;
	bool has_count;
};

static void scrape(struct hist *h, struct zh_metrics *m)
{
	struct zh_buf b;
	const char *p;

	memset(h, 0, sizeof(*h));
	zh_buf_init(&b, 1024 * 1024);
	assert_int_equal(zh_metrics_render(&b, m, 0), 0);
	for (p = zh_buf_cstr(&b); p && *p;
	     p = strchr(p, '\n'), p = p ? p + 1 : p) {
		const char *v;

		if (strncmp(p, H "_bucket{", strlen(H "_bucket{")) == 0) {
			assert_true(h->nbuckets < ZH_METRICS_NBUCKETS + 1);
			v = strchr(p, ' ');
			assert_non_null(v);
			h->bucket[h->nbuckets++] = strtoull(v + 1, NULL, 10);
		} else if (strncmp(p, H "_count ", strlen(H "_count ")) == 0) {
			h->count = strtoull(p + strlen(H "_count "), NULL, 10);
			h->has_count = true;
		}
	}
	zh_buf_dispose(&b);
	assert_int_equal(h->nbuckets, ZH_METRICS_NBUCKETS + 1);
	assert_true(h->has_count);
}

/* What Prometheus requires of every scrape. */
static bool consistent(const struct hist *h)
{
	size_t i;

	for (i = 1; i < h->nbuckets; i++)
		if (h->bucket[i] < h->bucket[i - 1])
			return false;
	return h->bucket[h->nbuckets - 1] == h->count;
}

static void observations(void **state)
{
	static struct zh_metrics m;
	struct hist h;

	(void)state;
	zh_metrics_init(&m);
	scrape(&h, &m);
	assert_true(consistent(&h));
	assert_int_equal(h.count, 0);
	zh_metrics_observe(&m, 3000);	     /* 3 ms: le 0.005 */
	zh_metrics_observe(&m, 700000);	     /* 0.7 s: le 1 */
	zh_metrics_observe(&m, 20000000ULL); /* 20 s: +Inf only */
	scrape(&h, &m);
	assert_true(consistent(&h));
	assert_int_equal(h.bucket[0], 1);
	assert_int_equal(h.bucket[ZH_METRICS_NBUCKETS - 1], 2); /* le 10 */
	assert_int_equal(h.bucket[ZH_METRICS_NBUCKETS], 3);	/* +Inf */
	assert_int_equal(h.count, 3);
}

/* An observation a scrape meets half made: its bucket counted, nothing
 * else yet (as the latency_buckets counters alone hold it). +Inf and
 * _count come from the same counters as the buckets, so the scrape is
 * consistent all the same. */
static void observation_half_made(void **state)
{
	static struct zh_metrics m;
	struct hist h;

	(void)state;
	zh_metrics_init(&m);
	atomic_fetch_add(&m.latency_buckets[0], 1);
	scrape(&h, &m);
	assert_true(consistent(&h));
	assert_int_equal(h.bucket[0], 1);
	assert_int_equal(h.count, 1);
}

static atomic_bool stop;

static void *observer(void *arg)
{
	struct zh_metrics *m = arg;
	uint64_t us = 0;

	while (!atomic_load(&stop))
		zh_metrics_observe(m, (us = (us * 7 + 13) % 30000000ULL));
	return NULL;
}

/* Scrapes while two threads observe: every one consistent. */
static void scrapes_racing_observations(void **state)
{
	static struct zh_metrics m;
	pthread_t t[2];
	struct hist h;
	int i;

	(void)state;
	zh_metrics_init(&m);
	atomic_store(&stop, false);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, observer, &m), 0);
	for (i = 0; i < 2000; i++) {
		scrape(&h, &m);
		assert_true(consistent(&h));
	}
	atomic_store(&stop, true);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	scrape(&h, &m);
	assert_true(consistent(&h));
	assert_true(h.count > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(observations),
	    cmocka_unit_test(observation_half_made),
	    cmocka_unit_test(scrapes_racing_observations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
