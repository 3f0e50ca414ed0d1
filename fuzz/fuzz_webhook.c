/* Fuzz target: the bodies the receiver is sent (webhook/gitlab.h), a
 * GitLab push, tag push or merge request event and Zadig's workflow
 * notification; both parsers get the whole input.
 *
 * Properties checked beyond the sanitizers: the fields gitlab.h calls
 * required are set on success, a handled kind is the object_kind sent (a
 * system hook's event_name alone never makes one), a failure fills err
 * with its own code, and the event is disposed after a failure too (its
 * contract); an event the receiver stores compact (zh_gitlab_compact)
 * reads back without error into an event that is compact again in the
 * same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"
#include "util/buf.h"
#include "util/error.h"
#include "webhook/gitlab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct zh_gitlab_event *e)
{
	size_t i;

	if (!e->object_kind)
		abort();
	/* the kind is object_kind's, never a system hook's event_name */
	if (e->kind != ZH_GITLAB_OTHER &&
	    strcmp(e->object_kind, zh_gitlab_kind_name(e->kind)) != 0)
		abort();
	switch (e->kind) {
	case ZH_GITLAB_PUSH:
	case ZH_GITLAB_TAG_PUSH:
		if (!e->ref || !e->before || !e->after || !e->project)
			abort();
		if (e->ncommits && !e->commits)
			abort();
		for (i = 0; i < e->ncommits; i++)
			if (!e->commits[i].id)
				abort();
		break;
	case ZH_GITLAB_MERGE_REQUEST:
		if (!e->project || !e->action || !e->source_branch ||
		    !e->target_branch)
			abort();
		break;
	default:
		break;
	}
	(void)zh_gitlab_kind_name(e->kind);
}

/* e's compact form parses, and its event is compact in the same bytes. */
static void check_compact(const struct zh_gitlab_event *e)
{
	struct zh_gitlab_event again;
	struct zh_error err;
	struct zh_buf a, b;

	zh_buf_init(&a, 1 << 24);
	zh_buf_init(&b, 1 << 24);
	if (zh_gitlab_compact(&a, e) != 0)
		abort();
	if (zh_gitlab_parse(&again, a.ptr, a.len, &err) != 0)
		abort();
	if (again.kind != e->kind || zh_gitlab_compact(&b, &again) != 0 ||
	    a.len != b.len || memcmp(a.ptr, b.ptr, a.len) != 0)
		abort();
	zh_gitlab_event_dispose(&again);
	zh_buf_dispose(&a);
	zh_buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_gitlab_event e;
	struct zh_error err;
	char *wf = NULL;
	int64_t task_id = 0;
	int rc;

	memset(&e, 0, sizeof(e));
	zh_error_clear(&err);
	rc = zh_gitlab_parse(&e, (const char *)data, size, &err);
	if (rc == 0) {
		check(&e);
		if (e.kind != ZH_GITLAB_OTHER)
			check_compact(&e);
	} else if (rc > 0 || err.code != rc || !err.msg[0]) {
		abort();
	}
	zh_gitlab_event_dispose(&e);

	zh_error_clear(&err);
	rc = zh_gitlab_parse_zadig(&wf, &task_id, (const char *)data, size,
				   &err);
	/* 0 without a workflow: a notification of another kind, which
	 * names no task */
	if (rc == 0 && !wf && task_id != 0)
		abort();
	if (rc != 0 && (rc > 0 || err.code != rc))
		abort();
	free(wf);
	return 0;
}
