/* The receiver's Prometheus counters (GET /metrics, design.md §6). Every
 * field is a C11 atomic: request threads and workers update them without
 * a lock. */
#ifndef ZH_WEBHOOK_METRICS_H
#define ZH_WEBHOOK_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "util/buf.h"

enum zh_reject_reason {
	ZH_REJECT_TOKEN,
	ZH_REJECT_TOO_BIG,
	ZH_REJECT_BAD_JSON,
	ZH_REJECT_SIGNATURE,
	ZH_REJECT_STORE,
	ZH_REJECT_NREASONS,
};

enum zh_trigger_result {
	ZH_TRIGGER_CREATED,
	ZH_TRIGGER_QUEUED,
	ZH_TRIGGER_HELD,
	ZH_TRIGGER_REJECTED,
	ZH_TRIGGER_NRESULTS,
};

/* POST /callback/zadig: verified (answered 200) or refused (401). */
enum zh_callback_result {
	ZH_CALLBACK_ACCEPTED,
	ZH_CALLBACK_REFUSED,
	ZH_CALLBACK_NRESULTS,
};

/* Upper bounds (seconds) of the latency histogram's buckets. */
#define ZH_METRICS_NBUCKETS 11

struct zh_metrics {
	atomic_ullong received, accepted, duplicates, ignored;
	atomic_ullong rejected[ZH_REJECT_NREASONS];
	atomic_ullong triggers[ZH_TRIGGER_NRESULTS];
	atomic_ullong callbacks[ZH_CALLBACK_NRESULTS];
	atomic_ullong notes_written;
	/* Zadig's hints answered and then dropped: the queue was full, or
	 * the state store did not take them (webhook/hints.h) */
	atomic_ullong hints_dropped;
	/* not cumulative; the last one past the largest bound. No count of
	 * its own: +Inf and _count are their sum, so that a scrape reading
	 * them while an observation is made stays consistent */
	atomic_ullong latency_buckets[ZH_METRICS_NBUCKETS + 1];
	atomic_ullong latency_sum_us;
};

/* Zero every counter. */
void zh_metrics_init(struct zh_metrics *m);

/* One Zadig call (or batch of calls) that took us microseconds. */
void zh_metrics_observe(struct zh_metrics *m, uint64_t us);

/* Append the Prometheus text exposition of m, with queue_depth (triggers
 * not delivered plus events not processed; < 0 when unknown: left out).
 * Returns 0, ZH_ETOOBIG or ZH_ENOMEM. */
int zh_metrics_render(struct zh_buf *out, struct zh_metrics *m,
		      int64_t queue_depth);

#endif
