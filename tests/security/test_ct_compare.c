/* zh_webhook_secret_equal (X-Gitlab-Token, X-Zadig-Token, callback
 * signatures) must take as long whether the given value differs from the
 * secret in its first byte or in its last: a byte-by-byte compare that
 * stops at the first difference lets an attacker find the secret one
 * byte at a time. With 1 MiB values such a compare is thousands of times
 * faster on a first-byte difference; a constant-time one is not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "webhook/auth.h"

#include "util/banned.h"

#define LEN (1u << 20)
#define TRIALS 31
#define CALLS 4

/* This thread's CPU time: the time other processes (the tests run beside
 * this one) take the CPU from it is not counted. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* *best becomes took when that is less. */
static void keep_min(double *best, double took)
{
	if (took < *best)
		*best = took;
}

static int failures;

static void check(int ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
	if (!ok)
		failures++;
}

int main(void)
{
	char *want = malloc(LEN + 1), *first = malloc(LEN + 1);
	char *last = malloc(LEN + 1), *same = malloc(LEN + 1);
	double mf = 1e9, ml = 1e9, ms = 1e9, hi, lo; /* seconds */
	volatile int sink = 0;
	size_t i;
	int t, c;

	if (!want || !first || !last || !same)
		return 99;
	srand(42);
	for (i = 0; i < LEN; i++)
		want[i] = (char)('a' + rand() % 26);
	want[LEN] = '\0';
	memcpy(first, want, LEN + 1);
	memcpy(last, want, LEN + 1);
	memcpy(same, want, LEN + 1);
	first[0] = first[0] == 'z' ? 'a' : (char)(first[0] + 1);
	last[LEN - 1] = last[LEN - 1] == 'z' ? 'a' : (char)(last[LEN - 1] + 1);

	/* what it must answer */
	check(zh_webhook_secret_equal(same, want), "equal values are equal");
	check(!zh_webhook_secret_equal(first, want), "first byte differs");
	check(!zh_webhook_secret_equal(last, want), "last byte differs");
	check(zh_webhook_secret_equal("s3cret", "s3cret"), "short equal");
	check(!zh_webhook_secret_equal("s3cre", "s3cret"),
	      "a prefix is not equal");
	check(!zh_webhook_secret_equal("s3cret-", "s3cret"),
	      "a longer value is not equal");
	check(!zh_webhook_secret_equal("", "s3cret"), "empty is not equal");
	check(!zh_webhook_secret_equal(NULL, "s3cret"),
	      "NULL given is not equal");
	check(!zh_webhook_secret_equal("s3cret", NULL),
	      "NULL want matches nothing");

	/* how long it takes: interleaved trials, the fastest of each (the
	 * noise of a shared machine only ever adds time) */
	for (t = 0; t < TRIALS; t++) {
		double s;

		s = now_s();
		for (c = 0; c < CALLS; c++)
			sink += zh_webhook_secret_equal(first, want);
		keep_min(&mf, now_s() - s);
		s = now_s();
		for (c = 0; c < CALLS; c++)
			sink += zh_webhook_secret_equal(last, want);
		keep_min(&ml, now_s() - s);
		s = now_s();
		for (c = 0; c < CALLS; c++)
			sink += zh_webhook_secret_equal(same, want);
		keep_min(&ms, now_s() - s);
	}
	hi = mf > ml ? mf : ml;
	hi = hi > ms ? hi : ms;
	lo = mf < ml ? mf : ml;
	lo = lo < ms ? lo : ms;
	printf("# fastest of %d trials of %d calls: first byte differs "
	       "%.3f ms, last byte %.3f ms, equal %.3f ms\n",
	       TRIALS, CALLS, mf * 1e3, ml * 1e3, ms * 1e3);
	check(lo > 0 && hi / lo < 1.5,
	      "the time does not depend on where the values differ");
	free(want);
	free(first);
	free(last);
	free(same);
	return failures ? 1 : 0;
}
