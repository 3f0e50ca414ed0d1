/* People's view of a Zadig task (git zadig show). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "zadig/zadig.h"

#include "util/banned.h"

const char *zh_cli_time(char *buf, size_t size, long long t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || !gmtime_r(&tt, &tm))
		snprintf(buf, size, "-");
	else
		strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

static const char *str(const char *s)
{
	return s && *s ? s : "-";
}

static void print_duration(FILE *f, int64_t start, int64_t end)
{
	int64_t d;

	if (start <= 0 || end < start)
		return;
	d = end - start;
	if (d >= 3600)
		fprintf(f, " (%" PRId64 "h%02" PRId64 "m)", d / 3600,
			d % 3600 / 60);
	else if (d >= 60)
		fprintf(f, " (%" PRId64 "m%02" PRId64 "s)", d / 60, d % 60);
	else
		fprintf(f, " (%" PRId64 "s)", d);
}

static void print_stage(FILE *f, const struct zh_zadig_stage *st)
{
	const struct zh_zadig_approval *a = &st->approval;
	size_t j;

	fprintf(f, "  stage %s: %s", str(st->name), str(st->status));
	print_duration(f, st->start_time, st->end_time);
	fputc('\n', f);
	if (a->enabled)
		fprintf(f, "    approval: %s, %" PRId64
			   " approver(s) needed%s%s\n",
			a->reject_or_approve && *a->reject_or_approve
				? a->reject_or_approve
				: "pending",
			a->needed_approvers, a->description ? ": " : "",
			a->description ? a->description : "");
	for (j = 0; j < st->njobs; j++)
		fprintf(f, "    job %s (%s): %s\n", str(st->jobs[j].name),
			str(st->jobs[j].type), str(st->jobs[j].status));
}

void zh_cli_print_task(FILE *f, const struct zh_zadig_task *t)
{
	char b1[32], b2[32], b3[32];
	size_t i;

	/* newer servers name a custom workflow by key and show a display
	 * name: lead with the key, the name people type */
	fprintf(f, "%s #%" PRId64 ": %s\n",
		str(t->workflow_key ? t->workflow_key : t->workflow_name),
		t->task_id, str(t->status));
	if (t->workflow_key && t->workflow_name &&
	    strcmp(t->workflow_key, t->workflow_name) != 0)
		fprintf(f, "  name:     %s\n", t->workflow_name);
	if (t->url)
		fprintf(f, "  url:      %s\n", t->url);
	if (t->project_name)
		fprintf(f, "  project:  %s\n", t->project_name);
	if (t->env_name && *t->env_name)
		fprintf(f, "  env:      %s\n", t->env_name);
	if (t->task_creator)
		fprintf(f, "  creator:  %s\n", t->task_creator);
	if (t->create_time || t->start_time || t->end_time) {
		fprintf(f, "  created:  %s, started %s, ended %s",
			zh_cli_time(b1, sizeof(b1), t->create_time),
			zh_cli_time(b2, sizeof(b2), t->start_time),
			zh_cli_time(b3, sizeof(b3), t->end_time));
		print_duration(f, t->start_time, t->end_time);
		fputc('\n', f);
	}
	for (i = 0; i < t->nimages; i++)
		fprintf(f, "  image:    %s (%s)\n", str(t->images[i].image),
			str(t->images[i].service_name));
	for (i = 0; i < t->ntest_reports; i++) {
		const struct zh_zadig_test_report *r = &t->test_reports[i];

		fprintf(f,
			"  tests:    %s %" PRId64 "/%" PRId64 " passed, %" PRId64
			" failed, %" PRId64 " skipped, %" PRId64 " errors\n",
			str(r->test_name), r->successes, r->tests, r->failures,
			r->skips, r->errors);
		if (r->detail_url)
			fprintf(f, "            %s\n", r->detail_url);
	}
	for (i = 0; i < t->nstages; i++)
		print_stage(f, &t->stages[i]);
}
