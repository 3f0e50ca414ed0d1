/* Zadig's hints (design.md §6) on their way from the HTTP threads, which
 * answer them as soon as they are verified, to the workers, which do what
 * they ask of the state store: a completion callback makes its task due
 * for polling, a workflow notification is stored as an event (its key
 * deduplicates it) whose task a worker then re-reads. An HTTP thread never
 * waits for the store that way: a store another process holds locked
 * holds up no request. A hint only brings a poll forward, so the queue is
 * bounded and a hint that does not fit is dropped: the poll rounds find
 * the task's status all the same. */
#ifndef ZH_WEBHOOK_HINTS_H
#define ZH_WEBHOOK_HINTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Hints waiting for a worker at most, and the bytes of their strings. */
#define ZH_WH_HINTS_MAX 256
#define ZH_WH_HINTS_BYTES ((size_t)256 * 1024)
/* A full queue is logged at its first drop, then at most this often. */
#define ZH_WH_HINTS_REPORT_MS (60LL * 1000)

enum zh_wh_hint_kind {
	ZH_WH_HINT_CALLBACK, /* key: the trigger's key (the callback's k) */
	ZH_WH_HINT_NOTIFY,   /* key: the event's key ("zadig:..."), with the
				notification's workflow and task_id */
};

/* One hint, in one allocation (free() frees it). */
struct zh_wh_hint {
	struct zh_wh_hint *next;
	enum zh_wh_hint_kind kind;
	const char *key;
	const char *workflow; /* a notification's; NULL for a callback */
	int64_t task_id;      /* a notification's */
	size_t bytes;	      /* of its strings */
};

struct zh_wh_hints {
	pthread_mutex_t lock;
	struct zh_wh_hint *head, **tail;
	size_t n, bytes;
	/* drops not reported yet, and when the last report was */
	unsigned long unreported;
	int64_t reported_ms;
	int reports;
};

void zh_wh_hints_init(struct zh_wh_hints *q);

/* Queue a copy of a hint: kind and key, for a notification also workflow
 * and task_id (workflow NULL otherwise). Returns 0; or, with nothing
 * queued, ZH_ETOOBIG when the queue is full (ZH_WH_HINTS_MAX hints, or
 * their strings would pass ZH_WH_HINTS_BYTES) or ZH_ENOMEM. Then *report
 * (may be NULL) is the number of hints dropped since the last report,
 * this one included, when a report is due at now_ms (the first drop, then
 * one every ZH_WH_HINTS_REPORT_MS at most), else 0. */
int zh_wh_hints_put(struct zh_wh_hints *q, enum zh_wh_hint_kind kind,
		    const char *key, const char *workflow, int64_t task_id,
		    int64_t now_ms, unsigned long *report);

/* Take every queued hint, oldest first, linked by next; NULL when there
 * is none. Free them with zh_wh_hints_free. */
struct zh_wh_hint *zh_wh_hints_take(struct zh_wh_hints *q);

/* Free a list of hints (NULL-safe). */
void zh_wh_hints_free(struct zh_wh_hint *list);

/* Free the hints still queued and the lock. */
void zh_wh_hints_dispose(struct zh_wh_hints *q);

#endif
