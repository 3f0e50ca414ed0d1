#include "webhook/hints.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#include "util/banned.h"

void zh_wh_hints_init(struct zh_wh_hints *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	q->tail = &q->head;
}

/* A drop at now_ms: how many to report now (0: not yet). Under q->lock. */
static unsigned long dropped(struct zh_wh_hints *q, int64_t now_ms)
{
	unsigned long n;

	q->unreported++;
	if (q->reports && now_ms - q->reported_ms < ZH_WH_HINTS_REPORT_MS)
		return 0;
	n = q->unreported;
	q->unreported = 0;
	q->reported_ms = now_ms;
	q->reports = 1;
	return n;
}

int zh_wh_hints_put(struct zh_wh_hints *q, enum zh_wh_hint_kind kind,
		    const char *key, const char *workflow, int64_t task_id,
		    int64_t now_ms, unsigned long *report)
{
	size_t klen = strlen(key), wlen = workflow ? strlen(workflow) + 1 : 0;
	size_t bytes = klen + 1 + wlen;
	struct zh_wh_hint *h = NULL;
	unsigned long r;
	int rc = ZH_ETOOBIG;

	if (report)
		*report = 0;
	pthread_mutex_lock(&q->lock);
	if (q->n < ZH_WH_HINTS_MAX && bytes <= ZH_WH_HINTS_BYTES - q->bytes) {
		rc = ZH_ENOMEM;
		h = malloc(sizeof(*h) + bytes);
	}
	if (!h) {
		r = dropped(q, now_ms);
		pthread_mutex_unlock(&q->lock);
		if (report)
			*report = r;
		return rc;
	}
	h->next = NULL;
	h->kind = kind;
	h->task_id = task_id;
	h->bytes = bytes;
	h->key = memcpy((char *)(h + 1), key, klen + 1);
	h->workflow = workflow
			  ? memcpy((char *)(h + 1) + klen + 1, workflow, wlen)
			  : NULL;
	*q->tail = h;
	q->tail = &h->next;
	q->n++;
	q->bytes += bytes;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

struct zh_wh_hint *zh_wh_hints_take(struct zh_wh_hints *q)
{
	struct zh_wh_hint *list;

	pthread_mutex_lock(&q->lock);
	list = q->head;
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
	q->bytes = 0;
	pthread_mutex_unlock(&q->lock);
	return list;
}

void zh_wh_hints_free(struct zh_wh_hint *list)
{
	while (list) {
		struct zh_wh_hint *next = list->next;

		free(list);
		list = next;
	}
}

void zh_wh_hints_dispose(struct zh_wh_hints *q)
{
	zh_wh_hints_free(q->head);
	q->head = NULL;
	q->tail = &q->head;
	q->n = q->bytes = 0;
	pthread_mutex_destroy(&q->lock);
}
