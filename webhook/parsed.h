/* The HTTP side's parse of each stored event, kept for the worker that
 * claims it, so that the payload is not read and parsed twice (~6 µs
 * for a 2.6 KB push). A table of slots by event id: a newer event replaces
 * an older one in its slot, and all the parses kept stay within a budget
 * of the memory they hold (zh_gitlab_event_bytes); an event not kept, or
 * replaced, is parsed again from the store by its worker, as after a
 * restart. */
#ifndef ZH_WEBHOOK_PARSED_H
#define ZH_WEBHOOK_PARSED_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "webhook/gitlab.h"

/* Enough for the backlog of a burst (events stored faster than the
 * workers claim them: ~1,000 under wrk at 10,000 events/s); with 64, 43%
 * of the events of such a burst were parsed twice. */
#define ZH_WH_PARSED_SLOTS 1024
#define ZH_WH_PARSED_BYTES ((size_t)4 * 1024 * 1024)

struct zh_wh_parsed {
	pthread_mutex_t lock;
	size_t bytes; /* memory the parses kept hold */
	struct {
		int64_t id;
		struct zh_gitlab_event *ev; /* NULL: empty */
		size_t bytes;
	} slot[ZH_WH_PARSED_SLOTS];
};

void zh_wh_parsed_init(struct zh_wh_parsed *p);

/* Keep ev (malloc'd, owned from now on) as the parse of event id, which
 * holds bytes of memory; freed at once when the budget would be passed. */
void zh_wh_parsed_put(struct zh_wh_parsed *p, int64_t id,
		      struct zh_gitlab_event *ev, size_t bytes);

/* The parse of event id kept by zh_wh_parsed_put, or NULL. The caller
 * owns it (zh_gitlab_event_dispose, then free). */
struct zh_gitlab_event *zh_wh_parsed_take(struct zh_wh_parsed *p, int64_t id);

/* Free every parse kept and the lock. */
void zh_wh_parsed_dispose(struct zh_wh_parsed *p);

#endif
