/* Fuzz target: the note format of design.md §5 (gitrepo/notes.h).
 * Input: old note text '\0' new lines ('\n'-separated).
 *
 * Properties checked beyond the sanitizers:
 * - a line that parses formats, and parsing the formatted text gives the
 *   same status, workflow, task id, url and field names (and values, bar
 *   control characters, which formatting turns into spaces);
 * - merging the parsed lines into the old text succeeds and reports a
 *   change exactly when the text changed;
 * - merging them again changes nothing (the hook, the poller and the
 *   receiver may each add the same line, a notes commit is redone after a
 *   compare-and-swap), provided a task keeps its rule= field: the merge
 *   rules are order-dependent for lines giving one task two rules, which
 *   never happens (the rule of a task is fixed when it is created);
 * - merging no lines returns the old text unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gitrepo/notes.h"
#include "util/banned.h"
#include "util/error.h"

#define MAX_LINES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "-", b ? b : "-") == 0;
}

/* Equal but for control characters, which format writes as spaces. */
static bool same_value(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !(*b == ' ' && (unsigned char)*a < 0x20) &&
		    !(*b == ' ' && *a == 0x7f))
			return false;
	return !*a && !*b;
}

static void round_trip(const struct zh_note_line *l)
{
	struct zh_note_line again;
	struct zh_error err;
	char *text = NULL;
	size_t i;

	if (zh_note_line_format(&text, l, &err) != 0)
		abort(); /* a parsed line must format */
	if (zh_note_line_parse(&again, text, strlen(text), &err) != 0)
		abort();
	if (strcmp(again.status, l->status) ||
	    strcmp(again.workflow, l->workflow) ||
	    again.task_id != l->task_id || !same_str(again.url, l->url) ||
	    again.nfields != l->nfields)
		abort();
	for (i = 0; i < l->nfields; i++)
		if (strcmp(again.fields[i].key, l->fields[i].key) ||
		    !same_value(l->fields[i].value, again.fields[i].value))
			abort();
	zh_note_line_dispose(&again);
	free(text);
}

static bool same_rule(const struct zh_note_line *a,
		      const struct zh_note_line *b)
{
	const char *ra = zh_note_line_get(a, "rule");
	const char *rb = zh_note_line_get(b, "rule");

	return ra && rb ? strcmp(ra, rb) == 0 : ra == rb;
}

static bool same_kind(const struct zh_note_line *a,
		      const struct zh_note_line *b)
{
	const char *ka = zh_note_line_get(a, "kind");
	const char *kb = zh_note_line_get(b, "kind");

	return (ka && !strcmp(ka, "custom")) == (kb && !strcmp(kb, "custom"));
}

/* True when no task (workflow, kind and id: a product and a custom
 * workflow's task may share a workflow name and id) has two different
 * rule= fields among the lines of old and lines. */
static bool rules_consistent(const char *old, const struct zh_note_line *lines,
			     size_t n)
{
	struct zh_note_line all[2 * MAX_LINES];
	struct zh_error err;
	size_t m = 0, i, j;
	const char *p, *nl;
	bool ok = true;

	for (p = old; *p && m < MAX_LINES; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		if (zh_note_line_parse(&all[m], p, (size_t)(nl - p), &err) == 0)
			m++;
	}
	if (*p) /* too many lines to tell */
		ok = false;
	for (i = 0; ok && i < m + n; i++) {
		const struct zh_note_line *a = i < m ? &all[i] : &lines[i - m];

		for (j = 0; ok && j < i; j++) {
			const struct zh_note_line *b =
			    j < m ? &all[j] : &lines[j - m];

			if (a->task_id >= 0 && a->task_id == b->task_id &&
			    !strcmp(a->workflow, b->workflow) &&
			    same_kind(a, b) && !same_rule(a, b))
				ok = false;
		}
	}
	for (i = 0; i < m; i++)
		zh_note_line_dispose(&all[i]);
	return ok;
}

static void merge(const char *old, const struct zh_note_line *lines, size_t n)
{
	struct zh_error err;
	char *out = NULL, *out2 = NULL;
	bool changed, changed2;

	if (zh_note_merge(&out, &changed, old, lines, n, &err) != 0)
		abort();
	if (changed != (strcmp(out, old) != 0))
		abort();
	if (rules_consistent(old, lines, n)) {
		if (zh_note_merge(&out2, &changed2, out, lines, n, &err) != 0)
			abort();
		if (changed2 || strcmp(out, out2) != 0)
			abort();
	}
	free(out2);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_note_line lines[MAX_LINES];
	struct zh_error err;
	const char *p, *end, *nl;
	size_t n = 0, i;
	char *buf, *out = NULL;
	bool changed;

	if (!(buf = malloc(size + 1)))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	p = buf + strlen(buf);
	end = buf + size;
	if (p < end)
		p++;
	/* The new lines may hold NULs: the parser takes a length. */
	for (; p < end && n < MAX_LINES; p = nl + 1) {
		if (!(nl = memchr(p, '\n', (size_t)(end - p))))
			nl = end;
		if (zh_note_line_parse(&lines[n], p, (size_t)(nl - p), &err) ==
		    0) {
			round_trip(&lines[n]);
			n++;
		}
	}

	if (zh_note_merge(&out, &changed, buf, NULL, 0, &err) != 0 || changed ||
	    strcmp(out, buf) != 0)
		abort();
	free(out);
	merge(buf, lines, n);

	for (i = 0; i < n; i++)
		zh_note_line_dispose(&lines[i]);
	free(buf);
	return 0;
}
