#include "webhook/parsed.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static void parsed_free(struct zh_gitlab_event *ev)
{
	if (!ev)
		return;
	zh_gitlab_event_dispose(ev);
	free(ev);
}

void zh_wh_parsed_init(struct zh_wh_parsed *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
}

void zh_wh_parsed_put(struct zh_wh_parsed *p, int64_t id,
		      struct zh_gitlab_event *ev, size_t bytes)
{
	size_t i = (size_t)id % ZH_WH_PARSED_SLOTS;
	struct zh_gitlab_event *old;

	pthread_mutex_lock(&p->lock);
	old = p->slot[i].ev;
	p->bytes -= p->slot[i].bytes;
	p->slot[i].ev = NULL;
	p->slot[i].bytes = 0;
	if (bytes <= ZH_WH_PARSED_BYTES - p->bytes) {
		p->slot[i].id = id;
		p->slot[i].ev = ev;
		p->slot[i].bytes = bytes;
		p->bytes += bytes;
		ev = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	parsed_free(old);
	parsed_free(ev);
}

struct zh_gitlab_event *zh_wh_parsed_take(struct zh_wh_parsed *p, int64_t id)
{
	size_t i = (size_t)id % ZH_WH_PARSED_SLOTS;
	struct zh_gitlab_event *ev = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->slot[i].ev && p->slot[i].id == id) {
		ev = p->slot[i].ev;
		p->bytes -= p->slot[i].bytes;
		p->slot[i].ev = NULL;
		p->slot[i].bytes = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return ev;
}

void zh_wh_parsed_dispose(struct zh_wh_parsed *p)
{
	size_t i;

	for (i = 0; i < ZH_WH_PARSED_SLOTS; i++)
		parsed_free(p->slot[i].ev);
	memset(p->slot, 0, sizeof(p->slot));
	p->bytes = 0;
	pthread_mutex_destroy(&p->lock);
}
