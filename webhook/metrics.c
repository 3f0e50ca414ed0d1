#include "webhook/metrics.h"

#include <inttypes.h>
#include <string.h>

#include "util/banned.h"

static const double bounds[ZH_METRICS_NBUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const char *const reasons[ZH_REJECT_NREASONS] = {
    "token", "too_big", "bad_json", "signature", "store"};
static const char *const results[ZH_TRIGGER_NRESULTS] = {"created", "queued",
							 "held", "rejected"};
static const char *const callback_results[ZH_CALLBACK_NRESULTS] = {"accepted",
								   "refused"};

void zh_metrics_init(struct zh_metrics *m)
{
	size_t i;

	atomic_init(&m->received, 0);
	atomic_init(&m->accepted, 0);
	atomic_init(&m->duplicates, 0);
	atomic_init(&m->ignored, 0);
	atomic_init(&m->notes_written, 0);
	atomic_init(&m->hints_dropped, 0);
	atomic_init(&m->latency_sum_us, 0);
	for (i = 0; i < ZH_REJECT_NREASONS; i++)
		atomic_init(&m->rejected[i], 0);
	for (i = 0; i < ZH_TRIGGER_NRESULTS; i++)
		atomic_init(&m->triggers[i], 0);
	for (i = 0; i < ZH_CALLBACK_NRESULTS; i++)
		atomic_init(&m->callbacks[i], 0);
	for (i = 0; i <= ZH_METRICS_NBUCKETS; i++)
		atomic_init(&m->latency_buckets[i], 0);
}

void zh_metrics_observe(struct zh_metrics *m, uint64_t us)
{
	size_t i;

	for (i = 0; i < ZH_METRICS_NBUCKETS; i++)
		if ((double)us <= bounds[i] * 1e6)
			break;
	atomic_fetch_add(&m->latency_buckets[i], 1);
	atomic_fetch_add(&m->latency_sum_us, us);
}

static int counter(struct zh_buf *b, const char *name, const char *help,
		   unsigned long long v)
{
	return zh_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
			     name, help, name, name, v);
}

int zh_metrics_render(struct zh_buf *b, struct zh_metrics *m,
		      int64_t queue_depth)
{
	unsigned long long cum = 0, bucket[ZH_METRICS_NBUCKETS + 1];
	size_t i;
	int rc;

	if ((rc = counter(b, "zadig_webhook_events_received_total",
			  "webhook requests received",
			  atomic_load(&m->received))) < 0 ||
	    (rc = counter(b, "zadig_webhook_events_accepted_total",
			  "events stored for processing",
			  atomic_load(&m->accepted))) < 0 ||
	    (rc = counter(b, "zadig_webhook_events_duplicates_total",
			  "redelivered events (key already stored)",
			  atomic_load(&m->duplicates))) < 0 ||
	    (rc = counter(b, "zadig_webhook_events_ignored_total",
			  "events of kinds that trigger nothing",
			  atomic_load(&m->ignored))) < 0 ||
	    (rc = zh_buf_puts(b, "# HELP zadig_webhook_events_rejected_total "
				 "requests refused, by reason\n"
				 "# TYPE zadig_webhook_events_rejected_total "
				 "counter\n")) < 0)
		return rc;
	for (i = 0; i < ZH_REJECT_NREASONS; i++)
		if ((rc = zh_buf_printf(
			 b,
			 "zadig_webhook_events_rejected_total{reason=\"%s\"} "
			 "%llu\n",
			 reasons[i], atomic_load(&m->rejected[i]))) < 0)
			return rc;
	/* not events: Zadig's callbacks are not in the counts above */
	if ((rc = zh_buf_puts(b, "# HELP zadig_webhook_callbacks_total Zadig "
				 "completion callbacks, by outcome\n"
				 "# TYPE zadig_webhook_callbacks_total "
				 "counter\n")) < 0)
		return rc;
	for (i = 0; i < ZH_CALLBACK_NRESULTS; i++)
		if ((rc = zh_buf_printf(
			 b,
			 "zadig_webhook_callbacks_total{result=\"%s\"} %llu\n",
			 callback_results[i], atomic_load(&m->callbacks[i]))) <
		    0)
			return rc;
	if ((rc = zh_buf_puts(b, "# HELP zadig_webhook_triggers_total fired "
				 "rules sent to Zadig, by outcome\n"
				 "# TYPE zadig_webhook_triggers_total "
				 "counter\n")) < 0)
		return rc;
	for (i = 0; i < ZH_TRIGGER_NRESULTS; i++)
		if ((rc = zh_buf_printf(
			 b,
			 "zadig_webhook_triggers_total{result=\"%s\"} %llu\n",
			 results[i], atomic_load(&m->triggers[i]))) < 0)
			return rc;
	if ((rc = zh_buf_puts(b, "# HELP zadig_webhook_zadig_request_seconds "
				 "latency of Zadig API calls\n"
				 "# TYPE zadig_webhook_zadig_request_seconds "
				 "histogram\n")) < 0)
		return rc;
	/* each bucket read once: the cumulative counts, +Inf and _count
	 * all come from the same reads */
	for (i = 0; i <= ZH_METRICS_NBUCKETS; i++)
		bucket[i] = atomic_load(&m->latency_buckets[i]);
	for (i = 0; i < ZH_METRICS_NBUCKETS; i++) {
		cum += bucket[i];
		if ((rc = zh_buf_printf(
			 b,
			 "zadig_webhook_zadig_request_seconds_bucket{le=\"%g\"}"
			 " %llu\n",
			 bounds[i], cum)) < 0)
			return rc;
	}
	cum += bucket[ZH_METRICS_NBUCKETS];
	if ((rc = zh_buf_printf(
		 b,
		 "zadig_webhook_zadig_request_seconds_bucket{le=\"+Inf\"} "
		 "%llu\n"
		 "zadig_webhook_zadig_request_seconds_sum %.6f\n"
		 "zadig_webhook_zadig_request_seconds_count %llu\n",
		 cum, (double)atomic_load(&m->latency_sum_us) / 1e6, cum)) < 0)
		return rc;
	if (queue_depth >= 0 &&
	    (rc = zh_buf_printf(b,
				"# HELP zadig_webhook_queue_depth triggers "
				"not yet delivered plus events not yet "
				"processed\n"
				"# TYPE zadig_webhook_queue_depth gauge\n"
				"zadig_webhook_queue_depth %" PRId64 "\n",
				queue_depth)) < 0)
		return rc;
	if ((rc = counter(b, "zadig_webhook_notes_written_total",
			  "commit notes written",
			  atomic_load(&m->notes_written))) < 0)
		return rc;
	return counter(b, "zadig_webhook_hints_dropped_total",
		       "Zadig callbacks and notifications answered but not "
		       "acted on (queue full or state store busy)",
		       atomic_load(&m->hints_dropped));
}
