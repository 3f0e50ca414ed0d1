/* git zadig status and git zadig sync (design.md §7). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flow/deliver.h"
#include "flow/flow.h"
#include "flow/report.h"
#include "gitrepo/notes.h"
#include "store/store.h"
#include "util/banned.h"

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Each line of a note, for people or as JSON. */
static void print_note(FILE *f, const char *commit, const char *subject,
		       const char *note, bool json, bool first)
{
	const char *p = note, *nl;
	bool any = false;

	if (json) {
		fprintf(f, "%s\n  {\"commit\": ", first ? "" : ",");
		json_str(f, commit);
		fputs(", \"tasks\": [", f);
	} else {
		fprintf(f, "%.8s %s\n", commit, subject ? subject : "");
	}
	while (p && *p) {
		struct zh_note_line l = {0};
		size_t len, i;

		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len && zh_note_line_parse(&l, p, len, NULL) == 0) {
			if (json) {
				fprintf(f, "%s\n    {\"status\": ",
					any ? "," : "");
				json_str(f, l.status);
				fputs(", \"workflow\": ", f);
				json_str(f, l.workflow);
				if (l.task_id >= 0)
					fprintf(f, ", \"task_id\": %lld",
						l.task_id);
				else
					fputs(", \"task_id\": null", f);
				fputs(", \"url\": ", f);
				if (l.url && strcmp(l.url, "-") != 0)
					json_str(f, l.url);
				else
					fputs("null", f);
				for (i = 0; i < l.nfields; i++) {
					fputs(", ", f);
					json_str(f, l.fields[i].key);
					fputs(": ", f);
					json_str(f, l.fields[i].value);
				}
				fputc('}', f);
			} else {
				fprintf(f, "  %.*s\n", (int)len, p);
			}
			any = true;
		} else if (len && !json) {
			fprintf(f, "  %.*s\n", (int)len, p);
		}
		zh_note_line_dispose(&l);
		p = nl ? nl + 1 : NULL;
	}
	if (json)
		fputs(any ? "\n  ]}" : "]}", f);
	else if (!any)
		fputs("  no zadig status (in a clone, fetch it: git fetch "
		      "origin +refs/notes/zadig:refs/notes/zadig)\n",
		      f);
}

/* Tasks a note names but the local store does not know (a clone that
 * fetched the notes): teach the store, so --live can ask Zadig. */
static int learn_from_note(struct zh_store *s, const char *repo,
			   const char *commit, const char *note,
			   const struct zh_config *cfg, struct zh_error *err)
{
	const char *p = note, *nl;
	int64_t now = zh_store_now_ms();
	int rc = 0;

	while (rc == 0 && p && *p) {
		struct zh_note_line l = {0};
		size_t len;

		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (zh_note_line_parse(&l, p, len, NULL) == 0 &&
		    l.task_id > 0) {
			struct zh_store_task t;
			const char *kind = zh_note_line_get(&l, "kind");

			memset(&t, 0, sizeof(t));
			t.workflow = l.workflow;
			t.custom = kind && strcmp(kind, "custom") == 0;
			t.task_id = l.task_id;
			t.repo = (char *)repo;
			t.commit = (char *)commit;
			t.rule = (char *)zh_note_line_get(&l, "rule");
			t.url = strcmp(l.url, "-") ? l.url : NULL;
			t.poll_interval_ms = cfg->poll.interval_ms;
			if (zh_store_task_find(&t, s, l.workflow, t.custom,
					       l.task_id, NULL) == 0)
				zh_store_task_dispose(&t);
			else
				rc = zh_store_task_upsert(NULL, s, &t, now,
							  err);
		}
		zh_note_line_dispose(&l);
		p = nl ? nl + 1 : NULL;
	}
	return rc;
}

/* The store and flow of the repository around us (status --live, sync). */
struct session {
	struct zh_store *store;
	struct zh_flow flow;
	char *state, *name;
};

static int session_open(struct session *ss, struct zh_repo *r,
			const struct zh_config *cfg, struct zh_error *err)
{
	int rc;

	memset(ss, 0, sizeof(*ss));
	if ((rc = zh_repo_name(&ss->name, r, cfg->hook.repo_root, err)) < 0)
		return rc;
	if (!(ss->state = zh_flow_state_dir(cfg, r)))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	if ((rc = zh_store_open(&ss->store, ss->state, err)) < 0)
		return rc;
	ss->flow.cfg = cfg;
	ss->flow.store = ss->store;
	ss->flow.repo = r;
	ss->flow.repo_name = ss->name;
	return 0;
}

static void session_close(struct session *ss)
{
	zh_flow_dispose(&ss->flow);
	zh_store_free(ss->store);
	free(ss->state);
	free(ss->name);
}

int zh_cli_status(struct zh_repo *r, const struct zh_config *cfg,
		  const char *const *revs, int nrevs, bool live, bool json,
		  struct zh_error *err)
{
	const char *notes_ref = cfg ? cfg->notes.ref : NULL;
	struct session ss;
	int i, rc = 0;

	memset(&ss, 0, sizeof(ss));
	/* every rev must resolve before anything is printed */
	for (i = 0; i < nrevs; i++) {
		char hex[72];

		if ((rc = zh_repo_resolve(hex, sizeof(hex), r, revs[i], err)) <
		    0)
			return rc;
	}
	if (live && (rc = session_open(&ss, r, cfg, err)) < 0)
		goto out;
	if (json)
		fputs("[", stdout);
	for (i = 0; i < (nrevs ? nrevs : 1); i++) {
		const char *rev = nrevs ? revs[i] : "HEAD";
		struct zh_commit_info c = {0};
		char *note = NULL, *subject, *eol;

		if ((rc = zh_repo_commit(&c, r, rev, err)) < 0)
			goto out;
		if (live) {
			(void)zh_notes_read(&note, r, notes_ref, c.id, NULL);
			if ((rc = learn_from_note(ss.store, ss.name, c.id, note,
						  cfg, err)) < 0 ||
			    (rc = zh_flow_refresh_commit(&ss.flow, ss.name,
							 c.id, err)) < 0 ||
			    (rc = zh_flow_write_notes(NULL, &ss.flow, err)) <
				    0) {
				free(note);
				zh_commit_info_dispose(&c);
				goto out;
			}
			free(note);
			note = NULL;
		}
		rc = zh_notes_read(&note, r, notes_ref, c.id, err);
		if (rc == 0) {
			subject = c.message ? c.message : "";
			if ((eol = strchr(subject, '\n')))
				*eol = '\0';
			print_note(stdout, c.id, subject, note, json, i == 0);
		}
		free(note);
		zh_commit_info_dispose(&c);
		if (rc < 0)
			goto out;
	}
	if (json)
		fputs("\n]\n", stdout);
out:
	fflush(stdout);
	session_close(&ss);
	return rc;
}

int zh_cli_sync(struct zh_repo *r, const struct zh_config *cfg, bool all,
		struct zh_error *err)
{
	struct session ss;
	size_t notes = 0;
	int sent = 0, polled = 0, rc;

	if ((rc = session_open(&ss, r, cfg, err)) < 0)
		goto out;
	if ((rc = zh_flow_deliver_due(&sent, &ss.flow, true, err)) < 0 ||
	    (rc = zh_flow_poll(&polled, &ss.flow,
			       all ? ZH_STORE_TASKS_ALL : ZH_STORE_TASKS_PENDING,
			       err)) < 0 ||
	    (rc = zh_flow_write_notes(&notes, &ss.flow, err)) < 0)
		goto out;
	printf("delivered %d trigger%s, polled %d task%s, updated %zu "
	       "note%s\n",
	       sent, sent == 1 ? "" : "s", polled, polled == 1 ? "" : "s",
	       notes, notes == 1 ? "" : "s");
out:
	session_close(&ss);
	return rc;
}
