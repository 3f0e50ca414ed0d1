/* git zadig status (design.md §7): the notes of commits, read without
 * the network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gitrepo/notes.h"
#include "util/banned.h"
#include "util/buf.h"

/* s as a JSON string (zh_buf_json_str: valid UTF-8 whatever the note
 * holds), through tmp; null should memory run out. */
static void json_str(FILE *f, struct zh_buf *tmp, const char *s)
{
	zh_buf_reset(tmp);
	if (zh_buf_json_str(tmp, s ? s : "") < 0)
		fputs("null", f);
	else
		fputs(zh_buf_cstr(tmp), f);
}

/* Text of others (a commit's subject, a note's line) for the terminal:
 * what it would obey shows as an escape (zh_buf_display), through tmp; a
 * line's "\r\n" ending is its end. */
static void put_text(FILE *f, struct zh_buf *tmp, const char *s, size_t len)
{
	if (len && s[len - 1] == '\r')
		len--;
	zh_buf_reset(tmp);
	if (zh_buf_display(tmp, s, len) < 0)
		fputs("?", f);
	else
		fputs(zh_buf_cstr(tmp), f);
}

/* Whether field i of l may be a key of its JSON object: not one of the
 * line's own (a hand-written "status=x" would make a second "status")
 * nor a key an earlier field took. */
static bool json_key_free(const struct zh_note_line *l, size_t i)
{
	static const char *const own[] = {"status", "workflow", "task_id",
					  "url", NULL};
	const char *k = l->fields[i].key;
	size_t j;

	for (j = 0; own[j]; j++)
		if (strcmp(k, own[j]) == 0)
			return false;
	for (j = 0; j < i; j++)
		if (strcmp(k, l->fields[j].key) == 0)
			return false;
	return true;
}

/* Each line of a note, for people or as JSON. */
static void print_note(FILE *f, const char *commit, const char *subject,
		       const char *note, bool json, bool first,
		       const char *hint)
{
	const char *p = note, *nl;
	struct zh_buf tmp;
	bool any = false;

	zh_buf_init(&tmp, (size_t)1 << 30);
	if (json) {
		fprintf(f, "%s\n  {\"commit\": ", first ? "" : ",");
		json_str(f, &tmp, commit);
		fputs(", \"tasks\": [", f);
	} else {
		fprintf(f, "%.8s ", commit);
		put_text(f, &tmp, subject ? subject : "",
			 subject ? strlen(subject) : 0);
		fputc('\n', f);
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
				json_str(f, &tmp, l.status);
				fputs(", \"workflow\": ", f);
				json_str(f, &tmp, l.workflow);
				if (l.task_id >= 0)
					fprintf(f, ", \"task_id\": %lld",
						l.task_id);
				else
					fputs(", \"task_id\": null", f);
				fputs(", \"url\": ", f);
				if (l.url && strcmp(l.url, "-") != 0)
					json_str(f, &tmp, l.url);
				else
					fputs("null", f);
				for (i = 0; i < l.nfields; i++) {
					if (!json_key_free(&l, i))
						continue;
					fputs(", ", f);
					json_str(f, &tmp, l.fields[i].key);
					fputs(": ", f);
					json_str(f, &tmp, l.fields[i].value);
				}
				fputc('}', f);
			}
			any = true;
		}
		if (len && !json) {
			fputs("  ", f);
			put_text(f, &tmp, p, len);
			fputc('\n', f);
		}
		zh_note_line_dispose(&l);
		p = nl ? nl + 1 : NULL;
	}
	if (json)
		fputs(any ? "\n  ]}" : "]}", f);
	else if (!any)
		fprintf(f, "  no zadig status%s\n", hint);
	zh_buf_dispose(&tmp);
}

/* What the status of one commit prints besides its note. */
struct row {
	char id[72];
	char *subject; /* the message's first line */
};

struct rows {
	struct row *items;
	size_t len, cap;
};

/* Read rev's commit into a new row. */
static int add_row(struct rows *rows, struct zh_repo *r, const char *rev,
		   struct zh_error *err)
{
	struct row *grown;
	int rc;

	if (rows->len == rows->cap) {
		rows->cap = rows->cap ? rows->cap * 2 : 16;
		if (!(grown = realloc(rows->items,
				      rows->cap * sizeof(*rows->items))))
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		rows->items = grown;
	}
	rc = zh_repo_commit_subject(
	    rows->items[rows->len].id, sizeof(rows->items[rows->len].id),
	    &rows->items[rows->len].subject, r, rev, err);
	if (rc == 0)
		rows->len++;
	return rc;
}

/* The rows of rev: its commit, or every commit of a range. */
static int add_rev(struct rows *rows, struct zh_repo *r, const char *rev,
		   struct zh_error *err)
{
	struct zh_revlist l;
	size_t i;
	int rc;

	if (!zh_rev_is_range(rev))
		return add_row(rows, r, rev, err);
	rc = zh_repo_range(&l, r, rev, err);
	for (i = 0; rc == 0 && i < l.len; i++)
		rc = add_row(rows, r, l.ids[i], err);
	zh_revlist_dispose(&l);
	return rc;
}

/* What follows "no zadig status": how to get the notes, when this
 * repository has none under notes_ref (a clone that did not fetch them). */
static void no_notes_hint(char *buf, size_t size, struct zh_repo *r,
			  const char *notes_ref)
{
	char hex[72];

	buf[0] = '\0';
	if (!notes_ref)
		notes_ref = ZH_NOTES_REF_DEFAULT;
	if (zh_repo_resolve(hex, sizeof(hex), r, notes_ref, NULL) < 0)
		snprintf(buf, size,
			 " (no %s here; in a clone, fetch it: git fetch origin "
			 "+%s:%s)",
			 notes_ref, notes_ref, notes_ref);
}

int zh_cli_status(struct zh_repo *r, const char *notes_ref,
		  const char *const *revs, int nrevs, bool json,
		  zh_cli_refresh_fn refresh, void *ctx, struct zh_error *err)
{
	struct zh_notes_view *view = NULL;
	struct rows rows = {0};
	struct zh_error first = {0};
	char hint[1024] = "";
	bool failed = false, hinted = false;
	size_t i;
	int rc = 0;

	/* every rev must resolve before anything is printed: read each
	 * commit here, once, keeping only what is printed */
	if (!nrevs)
		rc = add_rev(&rows, r, "HEAD", err);
	for (i = 0; rc == 0 && i < (size_t)nrevs; i++)
		rc = add_rev(&rows, r, revs[i], err);
	if (rc < 0)
		goto out;
	/* without refresh the notes do not change under us: read the notes
	 * tree once for all commits */
	if (!refresh && (rc = zh_notes_view_open(&view, r, notes_ref, err)) < 0)
		goto out;
	if (json)
		fputs("[", stdout);
	for (i = 0; rc == 0 && i < rows.len; i++) {
		struct row *row = &rows.items[i];
		char *note = NULL;

		/* a refresh that fails leaves the note as it was: print it,
		 * go on, and fail at the end with the first refresh's error */
		if (refresh &&
		    refresh(ctx, row->id, failed ? NULL : &first) < 0)
			failed = true;
		if (refresh)
			rc = zh_notes_read(&note, r, notes_ref, row->id, err);
		else
			rc = zh_notes_view_read(&note, view, row->id, err);
		/* once, but after each refresh (which may write the ref) */
		if (rc == 0 && !json && !(note && *note) &&
		    (refresh || !hinted)) {
			no_notes_hint(hint, sizeof(hint), r, notes_ref);
			hinted = true;
		}
		if (rc == 0)
			print_note(stdout, row->id, row->subject, note, json,
				   i == 0, hint);
		free(note);
	}
	if (json) /* whole JSON, whatever failed */
		fputs(i ? "\n]\n" : "]\n", stdout);
	if (rc == 0 && failed) {
		if (err)
			*err = first;
		rc = first.code ? first.code : ZH_EIO;
	}
out:
	fflush(stdout);
	zh_notes_view_free(view);
	for (i = 0; i < rows.len; i++)
		free(rows.items[i].subject);
	free(rows.items);
	return rc;
}
