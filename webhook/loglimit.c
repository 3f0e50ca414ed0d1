#include "webhook/loglimit.h"

#include "util/banned.h"

void zh_wh_loglimit_init(struct zh_wh_loglimit *l)
{
	pthread_mutex_init(&l->lock, NULL);
	l->window_ms = 0;
	l->logged = 0;
	l->skipped = 0;
}

void zh_wh_loglimit_dispose(struct zh_wh_loglimit *l)
{
	pthread_mutex_destroy(&l->lock);
}

bool zh_wh_loglimit_take(struct zh_wh_loglimit *l, int64_t now_ms,
			 unsigned long *report)
{
	bool ok;

	*report = 0;
	pthread_mutex_lock(&l->lock);
	if (!l->logged || now_ms - l->window_ms >= 1000 ||
	    now_ms < l->window_ms) {
		*report = l->skipped;
		l->skipped = 0;
		l->window_ms = now_ms;
		l->logged = 0;
	}
	ok = l->logged < ZH_WH_LOGLIMIT_PER_S;
	if (ok)
		l->logged++;
	else
		l->skipped++;
	pthread_mutex_unlock(&l->lock);
	return ok;
}

unsigned long zh_wh_loglimit_flush(struct zh_wh_loglimit *l, int64_t now_ms)
{
	unsigned long n = 0;

	pthread_mutex_lock(&l->lock);
	if (l->skipped && now_ms - l->window_ms >= 1000) {
		n = l->skipped;
		l->skipped = 0;
	}
	pthread_mutex_unlock(&l->lock);
	return n;
}
