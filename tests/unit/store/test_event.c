#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "tests/unit/store/helpers.h"
#include "util/banned.h"
#include "util/error.h"

struct fx {
	char *dir;
	struct zh_store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->dir = tmpdir_new();
	f->s = open_ok(f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	zh_store_free(f->s);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static const char payload[] = "{\"object_kind\":\"push\",\"after\":\"abc\"}";

static void add_and_duplicate(void **state)
{
	struct fx *f = *state;
	struct zh_store_event e;
	struct zh_error err = {0};
	int64_t id, id2, n;
	bool dup;

	assert_ok(zh_store_event_add(&id, &dup, f->s, "uuid-1", "push", payload,
				     strlen(payload), 100, &err),
		  &err);
	assert_false(dup);
	assert_true(id > 0);
	assert_ok(zh_store_event_add(&id2, &dup, f->s, "uuid-1", "push",
				     payload, strlen(payload), 200, &err),
		  &err);
	assert_true(dup);
	assert_int_equal(id2, 0);
	assert_ok(zh_store_events_pending(&n, f->s, &err), &err);
	assert_int_equal(n, 1);
	assert_ok(zh_store_event_get(&e, f->s, id, &err), &err);
	assert_string_equal(e.key, "uuid-1");
	assert_string_equal(e.kind, "push");
	assert_string_equal(e.payload, payload);
	assert_int_equal(e.payload_len, strlen(payload));
	assert_int_equal(e.state, ZH_STORE_EVENT_NEW);
	assert_int_equal(e.received_ms, 100);
	zh_store_event_dispose(&e);
	zh_store_event_dispose(NULL);
	assert_int_equal(zh_store_event_get(&e, f->s, 999, &err), ZH_ENOTFOUND);
	assert_int_equal(zh_store_event_add(NULL, NULL, f->s, "", "push",
					    payload, 1, 1, &err),
			 ZH_EINVALID);
	assert_int_equal(
	    zh_store_event_add(NULL, NULL, f->s, "k", "push", NULL, 0, 1, &err),
	    ZH_EINVALID);
}

static void claim_lease_done(void **state)
{
	struct fx *f = *state;
	struct zh_store_event e, e2;
	struct zh_error err = {0};
	int64_t id1, id2, n;

	assert_int_equal(zh_store_event_claim(&e, f->s, 0, 1000, &err),
			 ZH_ENOTFOUND);
	assert_ok(zh_store_event_add(&id1, NULL, f->s, "a", "push", payload,
				     strlen(payload), 100, &err),
		  &err);
	assert_ok(zh_store_event_add(&id2, NULL, f->s, "b", "tag_push", payload,
				     strlen(payload), 100, &err),
		  &err);
	/* oldest first */
	assert_ok(zh_store_event_claim(&e, f->s, 100, 1000, &err), &err);
	assert_int_equal(e.id, id1);
	assert_int_equal(e.state, ZH_STORE_EVENT_WORKING);
	assert_int_equal(e.attempts, 1);
	assert_int_equal(e.lease_until_ms, 1100);
	assert_false(e.interrupted);
	assert_ok(zh_store_event_claim(&e2, f->s, 100, 1000, &err), &err);
	assert_int_equal(e2.id, id2);
	assert_string_equal(e2.kind, "tag_push");
	assert_ok(
	    zh_store_event_done(f->s, e2.id, false, "2 triggers", 150, &err),
	    &err);
	zh_store_event_dispose(&e2);
	/* nothing else until the first worker's lease runs out */
	assert_int_equal(zh_store_event_claim(&e2, f->s, 1099, 1000, &err),
			 ZH_ENOTFOUND);
	/* its worker crashed: taken again, flagged */
	assert_ok(zh_store_event_claim(&e2, f->s, 1100, 1000, &err), &err);
	assert_int_equal(e2.id, id1);
	assert_true(e2.interrupted);
	assert_int_equal(e2.attempts, 2);
	/* the old claim cannot put it back */
	assert_int_equal(zh_store_event_retry(f->s, &e, "late", 1200, &err),
			 ZH_ENOTFOUND);
	zh_store_event_dispose(&e);
	/* a failed try goes back with a back-off */
	assert_ok(zh_store_event_retry(f->s, &e2, "fetch failed", 2000, &err),
		  &err);
	assert_ok(zh_store_event_get(&e, f->s, id1, &err), &err);
	assert_int_equal(e.state, ZH_STORE_EVENT_NEW);
	assert_string_equal(e.result, "fetch failed");
	assert_true(e.next_try_ms >= 2000 + 1600 &&
		    e.next_try_ms <= 2000 + 2400);
	zh_store_event_dispose(&e2);
	assert_int_equal(
	    zh_store_event_claim(&e2, f->s, e.next_try_ms - 1, 1000, &err),
	    ZH_ENOTFOUND);
	assert_ok(zh_store_event_claim(&e2, f->s, e.next_try_ms, 0, &err),
		  &err);
	assert_false(e2.interrupted);
	assert_int_equal(e2.lease_until_ms, e.next_try_ms + 60000);
	assert_ok(zh_store_event_done(f->s, e2.id, true, "bad payload",
				      e.next_try_ms, &err),
		  &err);
	zh_store_event_dispose(&e);
	zh_store_event_dispose(&e2);
	assert_ok(zh_store_event_get(&e, f->s, id1, &err), &err);
	assert_int_equal(e.state, ZH_STORE_EVENT_FAILED);
	zh_store_event_dispose(&e);
	assert_ok(zh_store_events_pending(&n, f->s, &err), &err);
	assert_int_equal(n, 0);
	assert_int_equal(zh_store_event_done(f->s, 999, false, NULL, 0, &err),
			 ZH_ENOTFOUND);

	/* pruning forgets old finished deliveries only */
	assert_ok(zh_store_event_add(NULL, NULL, f->s, "c", "push", payload,
				     strlen(payload), 5000, &err),
		  &err);
	assert_ok(zh_store_events_prune(&n, f->s, 5000, &err), &err);
	assert_int_equal(n, 2);
	assert_ok(zh_store_events_pending(&n, f->s, &err), &err);
	assert_int_equal(n, 1);
	assert_ok(zh_store_events_prune(NULL, f->s, 5000, &err), &err);
}

/* The clock set back (NTP fixing a fast one) after an event was
 * received, retried or claimed by it: a next try or a lease further ahead
 * than any the store sets counts as now, so no event waits for the size
 * of the step. */
static void claim_after_a_step_back(void **state)
{
	struct fx *f = *state;
	const int64_t fast = 1700000000000, hour = 3600000;
	struct zh_store_event e, e2;
	struct zh_error err = {0};
	int64_t id1, id2;

	assert_ok(zh_store_event_add(&id1, NULL, f->s, "a", "push", payload,
				     strlen(payload), fast, &err),
		  &err);
	/* received by the fast clock: due now by the fixed one */
	assert_ok(zh_store_event_claim(&e, f->s, fast - hour, 1000, &err),
		  &err);
	assert_int_equal(e.id, id1);
	assert_false(e.interrupted);
	assert_ok(zh_store_event_retry(f->s, &e, "down", fast - hour, &err),
		  &err);
	zh_store_event_dispose(&e);
	/* a retry's own back-off is waited for */
	assert_int_equal(
	    zh_store_event_claim(&e, f->s, fast - hour + 1, 1000, &err),
	    ZH_ENOTFOUND);
	assert_ok(
	    zh_store_event_claim(&e, f->s, fast - hour + 300000, 1000, &err),
	    &err);
	assert_ok(zh_store_event_done(f->s, e.id, false, "ok",
				      fast - hour + 300000, &err),
		  &err);
	zh_store_event_dispose(&e);

	/* a worker's lease taken by the fast clock: expired now */
	assert_ok(zh_store_event_add(&id2, NULL, f->s, "b", "push", payload,
				     strlen(payload), fast, &err),
		  &err);
	assert_ok(zh_store_event_claim(&e, f->s, fast, 1000, &err), &err);
	assert_int_equal(e.id, id2);
	assert_int_equal(
	    zh_store_event_claim(&e2, f->s, fast - 500, 1000, &err),
	    ZH_ENOTFOUND);
	assert_ok(zh_store_event_claim(&e2, f->s, fast - hour, 1000, &err),
		  &err);
	assert_int_equal(e2.id, id2);
	assert_true(e2.interrupted);
	zh_store_event_dispose(&e);
	zh_store_event_dispose(&e2);
}

#define NTHREADS 8
#define PER_THREAD 50

struct worker {
	struct zh_store *s;
	int n;
	int added, dups, failed;
};

static void *add_events(void *arg)
{
	struct worker *w = arg;
	struct zh_error err = {0};
	char key[32];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		bool dup;

		/* half the keys are shared by every thread */
		if (i % 2)
			snprintf(key, sizeof(key), "t%d-%d", w->n, i);
		else
			snprintf(key, sizeof(key), "shared-%d", i);
		if (zh_store_event_add(NULL, &dup, w->s, key, "push", payload,
				       strlen(payload), 1, &err))
			w->failed++;
		else if (dup)
			w->dups++;
		else
			w->added++;
	}
	return NULL;
}

static void threads_share_a_handle(void **state)
{
	struct fx *f = *state;
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct zh_error err = {0};
	int added = 0, dups = 0, i;
	int64_t n;

	for (i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].s = f->s;
		w[i].n = i;
		assert_int_equal(
		    pthread_create(&th[i], NULL, add_events, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failed, 0);
		added += w[i].added;
		dups += w[i].dups;
	}
	assert_int_equal(added, NTHREADS * PER_THREAD / 2 + PER_THREAD / 2);
	assert_int_equal(dups, (NTHREADS - 1) * PER_THREAD / 2);
	assert_ok(zh_store_events_pending(&n, f->s, &err), &err);
	assert_int_equal(n, added);
}

/* The disk fills up (a file size limit stands in for it): adds fail with a
 * clear error, nothing crashes, what was stored stays readable. */
static void full_disk_is_an_error(void **state)
{
	struct fx *f = *state;
	int status;
	pid_t pid;

	zh_store_free(f->s);
	f->s = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {256 * 1024, 256 * 1024};
		struct zh_error err = {0};
		struct zh_store *s = NULL;
		struct zh_store_event e;
		static char big[16384];
		char key[32];
		int i, r = 0;

		signal(SIGXFSZ, SIG_IGN);
		memset(big, 'x', sizeof(big) - 1);
		if (zh_store_open(&s, f->dir, &err))
			_exit(2);
		if (setrlimit(RLIMIT_FSIZE, &rl))
			_exit(3);
		for (i = 0; i < 1000; i++) {
			snprintf(key, sizeof(key), "k%d", i);
			r = zh_store_event_add(NULL, NULL, s, key, "push", big,
					       strlen(big), 1, &err);
			if (r)
				break;
		}
		if (r != ZH_ESTORE || i == 0)
			_exit(4);
		if (!strstr(err.msg, "state store '"))
			_exit(5);
		/* earlier events are intact */
		if (zh_store_event_get(&e, s, 1, &err) || !e.payload ||
		    strcmp(e.payload, big))
			_exit(6);
		zh_store_event_dispose(&e);
		zh_store_free(s);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	f->s = open_ok(f->dir);
}

/* The receiver's committer: many deliveries, one transaction; a key twice
 * stores the first; claims take them in the order received, then a
 * retried one once its back-off is over. */
static void add_batch_and_order(void **state)
{
	struct fx *f = *state;
	struct zh_store_event_in in[4] = {
	    {.key = "k1", .kind = "push", .now_ms = 10},
	    {.key = "k2", .kind = "push", .now_ms = 11},
	    {.key = "k1", .kind = "push", .now_ms = 12},
	    {.key = "k3", .kind = "tag_push", .now_ms = 12},
	};
	struct zh_store_event e = {0};
	struct zh_error err = {0};
	int64_t n;
	size_t i;

	for (i = 0; i < 4; i++) {
		in[i].payload = payload;
		in[i].payload_len = strlen(payload);
	}
	assert_ok(zh_store_event_add_batch(in, 4, f->s, &err), &err);
	assert_false(in[0].duplicate);
	assert_true(in[0].id > 0 && in[1].id > in[0].id);
	assert_true(in[2].duplicate);
	assert_int_equal(in[2].id, 0);
	assert_true(in[3].id > in[1].id);
	assert_ok(zh_store_events_pending(&n, f->s, &err), &err);
	assert_int_equal(n, 3);
	assert_ok(zh_store_event_add_batch(in, 0, f->s, &err), &err);
	in[1].key = "";
	assert_int_equal(zh_store_event_add_batch(in, 2, f->s, &err),
			 ZH_EINVALID);
	in[1].key = "k2";

	/* k1 fails once: k2 and k3 go before it */
	assert_ok(zh_store_event_claim(&e, f->s, 100, 1000, &err), &err);
	assert_string_equal(e.key, "k1");
	assert_ok(zh_store_event_retry(f->s, &e, "later", 100, &err), &err);
	zh_store_event_dispose(&e);
	assert_ok(zh_store_event_claim(&e, f->s, 100, 1000, &err), &err);
	assert_string_equal(e.key, "k2");
	assert_ok(zh_store_event_done(f->s, e.id, false, NULL, 100, &err),
		  &err);
	zh_store_event_dispose(&e);
	assert_ok(zh_store_event_claim(&e, f->s, 100, 1000, &err), &err);
	assert_string_equal(e.key, "k3");
	assert_string_equal(e.payload, payload);
	assert_ok(zh_store_event_done(f->s, e.id, false, NULL, 100, &err),
		  &err);
	zh_store_event_dispose(&e);
	assert_int_equal(zh_store_event_claim(&e, f->s, 100, 1000, &err),
			 ZH_ENOTFOUND);
	assert_ok(zh_store_event_claim(&e, f->s, 5000, 1000, &err), &err);
	assert_string_equal(e.key, "k1");
	assert_int_equal(e.attempts, 2);
	zh_store_event_dispose(&e);
}

/* An event stored settled (done): never claimed, its result kept, its
 * key still deduplicates, its payload not written; pruned like others. */
static void add_settled(void **state)
{
	struct fx *f = *state;
	struct zh_store_event_in in[2] = {
	    {.key = "s1",
	     .kind = "push",
	     .now_ms = 10,
	     .done = "no rule matches"},
	    {.key = "n1", .kind = "push", .now_ms = 10},
	};
	struct zh_store_event e = {0};
	struct zh_error err = {0};
	int64_t n;

	in[0].payload = in[1].payload = payload;
	in[0].payload_len = in[1].payload_len = strlen(payload);
	assert_ok(zh_store_event_add_batch(in, 2, f->s, &err), &err);
	assert_true(in[0].id > 0 && !in[0].duplicate);
	assert_ok(zh_store_events_pending(&n, f->s, &err), &err);
	assert_int_equal(n, 1);
	assert_ok(zh_store_event_get(&e, f->s, in[0].id, &err), &err);
	assert_int_equal(e.state, ZH_STORE_EVENT_DONE);
	assert_string_equal(e.result, "no rule matches");
	assert_int_equal(e.payload_len, 0);
	assert_int_equal(e.received_ms, 10);
	zh_store_event_dispose(&e);
	assert_ok(zh_store_event_claim(&e, f->s, 100, 1000, &err), &err);
	assert_string_equal(e.key, "n1");
	assert_string_equal(e.payload, payload);
	zh_store_event_dispose(&e);
	assert_int_equal(zh_store_event_claim(&e, f->s, 100, 1000, &err),
			 ZH_ENOTFOUND);
	/* redelivered, settled or not: a duplicate */
	in[1].key = "s1";
	in[1].done = NULL;
	assert_ok(zh_store_event_add_batch(&in[1], 1, f->s, &err), &err);
	assert_true(in[1].duplicate);
	assert_ok(zh_store_events_prune(&n, f->s, 11, &err), &err);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(add_and_duplicate, setup, teardown),
	    cmocka_unit_test_setup_teardown(claim_lease_done, setup, teardown),
	    cmocka_unit_test_setup_teardown(claim_after_a_step_back, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(add_batch_and_order, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(add_settled, setup, teardown),
	    cmocka_unit_test_setup_teardown(threads_share_a_handle, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(full_disk_is_an_error, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
