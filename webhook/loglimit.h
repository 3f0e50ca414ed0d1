/* A limit on log lines a flood could multiply (a refused request each):
 * at most ZH_WH_LOGLIMIT_PER_S a second, the rest counted, and the count
 * said in one line once its second is over, so that the log tells what
 * happened without a flood filling the disk. Thread-safe; never on the
 * path of an accepted event. */
#ifndef ZH_WEBHOOK_LOGLIMIT_H
#define ZH_WEBHOOK_LOGLIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define ZH_WH_LOGLIMIT_PER_S 5

struct zh_wh_loglimit {
	pthread_mutex_t lock;
	int64_t window_ms;     /* when the current second began */
	unsigned logged;       /* lines in it */
	unsigned long skipped; /* lines not logged, not said yet */
};

void zh_wh_loglimit_init(struct zh_wh_loglimit *l);
void zh_wh_loglimit_dispose(struct zh_wh_loglimit *l);

/* Whether a line may be logged at now_ms. *report gets the number of
 * lines not logged in the seconds before, to be said first (0: none). */
bool zh_wh_loglimit_take(struct zh_wh_loglimit *l, int64_t now_ms,
			 unsigned long *report);

/* The number of lines not logged to be said now, at now_ms, when their
 * second is over (0: none, or not yet); a periodic caller's, so that the
 * count of a flood's last second is said without another line. */
unsigned long zh_wh_loglimit_flush(struct zh_wh_loglimit *l, int64_t now_ms);

#endif
