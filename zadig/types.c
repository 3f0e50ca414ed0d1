/* Dispose functions of the request and result structs, and the one
 * status rule every poller shares. */
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"
#include "util/value.h"
#include "zadig/internal.h"
#include "zadig/zadig.h"

static void dispose_target(struct zh_zadig_target *t)
{
	size_t i;

	free(t->name);
	free(t->service_type);
	for (i = 0; i < t->nrepos; i++) {
		free(t->repos[i].repo_name);
		free(t->repos[i].branch);
	}
	free(t->repos);
}

void zh_zadig_product_req_dispose(struct zh_zadig_product_req *r)
{
	size_t i;

	if (!r)
		return;
	free(r->workflow_name);
	free(r->env_name);
	free(r->project);
	for (i = 0; i < r->ntargets; i++)
		dispose_target(&r->targets[i]);
	free(r->targets);
	zh_value_free(r->release_images);
	free(r->callback_url);
	for (i = 0; i < r->ncallback_vars; i++) {
		free(r->callback_vars[i].key);
		free(r->callback_vars[i].value);
	}
	free(r->callback_vars);
	memset(r, 0, sizeof(*r));
}

void zh_zadig_custom_req_dispose(struct zh_zadig_custom_req *r)
{
	if (!r)
		return;
	free(r->project);
	free(r->workflow_name);
	zh_value_free(r->inputs);
	memset(r, 0, sizeof(*r));
}

void zh_zadig_request_dispose(struct zh_zadig_request *r)
{
	if (!r)
		return;
	free(r->path);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

void zh_zadig_created_dispose(struct zh_zadig_created *c)
{
	if (!c)
		return;
	free(c->workflow_name);
	free(c->project_name);
	free(c->url);
	memset(c, 0, sizeof(*c));
}

static void dispose_stage(struct zh_zadig_stage *s)
{
	size_t i;

	free(s->name);
	free(s->status);
	free(s->approval.reject_or_approve);
	free(s->approval.description);
	for (i = 0; i < s->njobs; i++) {
		free(s->jobs[i].name);
		free(s->jobs[i].type);
		free(s->jobs[i].status);
	}
	free(s->jobs);
}

void zh_zadig_task_dispose(struct zh_zadig_task *t)
{
	size_t i;

	if (!t)
		return;
	free(t->workflow_name);
	free(t->workflow_key);
	free(t->project_name);
	free(t->status);
	free(t->url);
	free(t->env_name);
	free(t->task_creator);
	for (i = 0; i < t->ntest_reports; i++) {
		free(t->test_reports[i].test_name);
		free(t->test_reports[i].detail_url);
	}
	free(t->test_reports);
	for (i = 0; i < t->nimages; i++) {
		free(t->images[i].image);
		free(t->images[i].service_name);
		free(t->images[i].registry_repo);
	}
	free(t->images);
	for (i = 0; i < t->nstages; i++)
		dispose_stage(&t->stages[i]);
	free(t->stages);
	free(t->raw_json);
	memset(t, 0, sizeof(*t));
}

static void clean(char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (s)
		zh_zadig_clean(s, n + 1, s, n, n);
}

void zh_zadig_task_clean(struct zh_zadig_task *t)
{
	struct zh_zadig_stage *s;
	size_t i, j;

	clean(t->workflow_name);
	clean(t->workflow_key);
	clean(t->project_name);
	clean(t->status);
	clean(t->url);
	clean(t->env_name);
	clean(t->task_creator);
	for (i = 0; i < t->ntest_reports; i++) {
		clean(t->test_reports[i].test_name);
		clean(t->test_reports[i].detail_url);
	}
	for (i = 0; i < t->nimages; i++) {
		clean(t->images[i].image);
		clean(t->images[i].service_name);
		clean(t->images[i].registry_repo);
	}
	for (i = 0; i < t->nstages; i++) {
		s = &t->stages[i];
		clean(s->name);
		clean(s->status);
		clean(s->approval.reject_or_approve);
		clean(s->approval.description);
		for (j = 0; j < s->njobs; j++) {
			clean(s->jobs[j].name);
			clean(s->jobs[j].type);
			clean(s->jobs[j].status);
		}
	}
}

void zh_zadig_task_list_dispose(struct zh_zadig_task_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->len; i++)
		zh_zadig_task_dispose(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

bool zh_zadig_status_is_final(const char *status)
{
	static const char *const final[] = {
	    "passed", "failed",	 "timeout",  "cancelled",
	    "reject", "skipped", "unstable",
	};
	size_t i;

	if (!status)
		return false;
	for (i = 0; i < sizeof(final) / sizeof(final[0]); i++)
		if (!strcmp(status, final[i]))
			return true;
	return false;
}
