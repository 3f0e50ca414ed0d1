#include "flow/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitrepo/notes.h"
#include "util/banned.h"

#define MAX_FIELDS 8

/* One note line with room for its fields and the text they point to. */
struct line {
	struct zh_note_line l;
	struct zh_note_field fields[MAX_FIELDS];
	char extra[256];
};

/* Split "k=v k2=v2" (no spaces in values) into fields. */
static void add_extra(struct line *ln, const char *extra)
{
	char *p, *save = NULL, *kv;

	if (!extra)
		return;
	snprintf(ln->extra, sizeof(ln->extra), "%s", extra);
	for (p = ln->extra; (kv = strtok_r(p, " ", &save)); p = NULL) {
		char *eq = strchr(kv, '=');

		if (!eq || eq == kv || ln->l.nfields >= MAX_FIELDS - 2)
			continue;
		*eq = '\0';
		ln->fields[ln->l.nfields].key = kv;
		ln->fields[ln->l.nfields].value = eq + 1;
		ln->l.nfields++;
	}
}

static void add_field(struct line *ln, const char *key, const char *value)
{
	if (!value || ln->l.nfields >= MAX_FIELDS)
		return;
	ln->fields[ln->l.nfields].key = (char *)key;
	ln->fields[ln->l.nfields].value = (char *)value;
	ln->l.nfields++;
}

static void task_line(struct line *ln, const struct zh_store_task *t)
{
	memset(ln, 0, sizeof(*ln));
	ln->l.fields = ln->fields;
	ln->l.status = t->status;
	ln->l.workflow = t->workflow;
	ln->l.task_id = t->task_id;
	ln->l.url = t->url && *t->url ? t->url : "-";
	add_extra(ln, t->extra);
	/* so that `git zadig status --live` in a clone asks the right
	 * endpoint for a task it only knows from the note */
	if (t->custom)
		add_field(ln, "kind", "custom");
	add_field(ln, "rule", t->rule);
}

/* Triggers not (yet) a task: queued, or rejected by Zadig. */
static bool trigger_line(struct line *ln, const struct zh_store_trigger *t)
{
	memset(ln, 0, sizeof(*ln));
	ln->l.fields = ln->fields;
	if (t->state == ZH_STORE_REJECTED)
		ln->l.status = "rejected";
	else if (t->state == ZH_STORE_QUEUED || t->state == ZH_STORE_SENDING)
		ln->l.status = "queued";
	else
		return false;
	ln->l.workflow = t->workflow;
	ln->l.task_id = -1;
	ln->l.url = "-";
	if (t->state == ZH_STORE_REJECTED)
		add_field(ln, "error", t->last_error ? t->last_error : "");
	add_field(ln, "rule", t->rule);
	return true;
}

struct noted {
	struct zh_store_trigger_list triggers;
	struct zh_store_task_list tasks;
};

/* Whether line l of commit c can go into a note. A line that cannot (a
 * status Zadig sent with a space in it, a line past the note's line
 * limit) is logged and left out, so that it does not keep the commit's
 * other lines, nor the other commits' notes, out: its row is counted as
 * noted with the others, so it is logged again only when the commit's
 * note is written again. Returns 0, ZH_EINVALID (left out) or
 * ZH_ENOMEM. */
static int check_line(struct zh_flow *f, const struct zh_store_commit *c,
		      const struct zh_note_line *l, struct zh_error *err)
{
	struct zh_error e = {0};
	char *text = NULL, id[32];
	int rc = zh_note_line_format(&text, l, &e);

	free(text);
	if (rc == ZH_ETOOBIG)
		rc = ZH_EINVALID;
	if (rc == ZH_EINVALID && f->log) {
		char line[1200];

		if (l->task_id < 0)
			snprintf(id, sizeof(id), "#-");
		else
			snprintf(id, sizeof(id), "#%lld", l->task_id);
		snprintf(line, sizeof(line),
			 "note of %.64s in %.200s: %.200s %s left out: %s",
			 c->commit, c->repo, l->workflow ? l->workflow : "", id,
			 e.msg);
		f->log(f->log_ctx, line);
	}
	if (rc < 0 && rc != ZH_EINVALID)
		return zh_error_set(err, rc, "%s", e.msg);
	return rc;
}

static int add_commit(struct zh_notes_batch *b, struct noted *nd,
		      struct zh_flow *f, const struct zh_store_commit *c,
		      struct zh_error *err)
{
	struct line *lines = NULL;
	struct zh_note_line *flat = NULL;
	size_t i, n = 0, nflat = 0, cap;
	int rc;

	if ((rc = zh_store_triggers_of_commit(&nd->triggers, f->store, c->repo,
					      c->commit, err)) < 0 ||
	    (rc = zh_store_tasks_of_commit(&nd->tasks, f->store, c->repo,
					   c->commit, err)) < 0)
		return rc;
	cap = nd->triggers.len + nd->tasks.len;
	if (cap == 0)
		return 0;
	lines = calloc(cap, sizeof(*lines));
	flat = calloc(cap, sizeof(*flat));
	if (!lines || !flat) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	/* "#-" lines first: a task line of the same rule then drops them */
	for (i = 0; i < nd->triggers.len; i++)
		if (trigger_line(&lines[n], &nd->triggers.items[i]))
			n++;
	for (i = 0; i < nd->tasks.len; i++)
		task_line(&lines[n++], &nd->tasks.items[i]);
	for (i = 0; i < n; i++) {
		if ((rc = check_line(f, c, &lines[i].l, err)) == ZH_EINVALID)
			continue;
		if (rc < 0)
			goto out;
		flat[nflat] = lines[i].l;
		flat[nflat++].fields = lines[i].fields;
	}
	rc = nflat ? zh_notes_batch_add(b, c->commit, flat, nflat, err) : 0;
out:
	free(lines);
	free(flat);
	return rc;
}

/* Whether the rows of commit c changed since nd was read (another writer
 * recorded a newer status meanwhile). */
static int changed_since(bool *changed, const struct noted *nd,
			 struct zh_flow *f, const struct zh_store_commit *c,
			 struct zh_error *err)
{
	struct noted now = {{0}, {0}};
	size_t i;
	int rc;

	*changed = false;
	if ((rc = zh_store_triggers_of_commit(&now.triggers, f->store, c->repo,
					      c->commit, err)) < 0 ||
	    (rc = zh_store_tasks_of_commit(&now.tasks, f->store, c->repo,
					   c->commit, err)) < 0)
		goto out;
	if (now.triggers.len != nd->triggers.len ||
	    now.tasks.len != nd->tasks.len) {
		*changed = true;
		goto out;
	}
	for (i = 0; i < now.triggers.len; i++) {
		const struct zh_store_trigger *a = &now.triggers.items[i];
		const struct zh_store_trigger *b = &nd->triggers.items[i];

		if (a->id != b->id || a->state != b->state ||
		    a->updated_ms != b->updated_ms)
			*changed = true;
	}
	for (i = 0; i < now.tasks.len; i++)
		if (now.tasks.items[i].id != nd->tasks.items[i].id ||
		    now.tasks.items[i].gen != nd->tasks.items[i].gen)
			*changed = true;
out:
	zh_store_trigger_list_dispose(&now.triggers);
	zh_store_task_list_dispose(&now.tasks);
	return rc;
}

static void noted_dispose(struct noted *nd, size_t len)
{
	size_t i;

	for (i = 0; nd && i < len; i++) {
		zh_store_trigger_list_dispose(&nd[i].triggers);
		zh_store_task_list_dispose(&nd[i].tasks);
	}
}

/* One notes commit for the commits of cl from what the store says now;
 * *stale tells whether a row changed while it was written. */
static int write_once(size_t *n, bool *stale, struct zh_flow *f,
		      const struct zh_store_commit_list *cl, struct noted *nd,
		      struct zh_error *err)
{
	struct zh_notes_batch *b = NULL;
	size_t i;
	int rc;

	*stale = false;
	if ((rc = zh_notes_batch_new(&b, err)) < 0)
		return rc;
	for (i = 0; i < cl->len; i++) {
		rc = add_commit(b, &nd[i], f, &cl->items[i], err);
		if (rc == ZH_EINVALID) {
			/* One odd record (a commit that is not a commit id)
			 * must not hold up every other note; its rows stay
			 * in nd and are marked noted below as if written, so
			 * it is not picked again (nor logged) until one of
			 * them changes: dropped from nd, it was "changed"
			 * at once, rewritten 8 times a round, every round. */
			if (f->log)
				f->log(f->log_ctx, err->msg);
			rc = 0;
		}
		if (rc < 0)
			goto out;
	}
	if ((rc = zh_notes_commit(f->repo, f->cfg->notes.ref, b, NULL, err)) <
	    0)
		goto out;
	for (i = 0; i < cl->len && rc == 0; i++)
		rc = zh_store_mark_noted(f->store, &nd[i].triggers,
					 &nd[i].tasks, err);
	if (n)
		*n += zh_notes_batch_changed(b);
	/* Another writer may have noted a newer status between our read of
	 * the store and our commit, which then put our older line back over
	 * its newer one (the merge takes the line being written); the store
	 * already counts that newer status as noted, so nobody else would
	 * fix the note: write it again from what the store says now. */
	for (i = 0; i < cl->len && rc == 0 && !*stale; i++)
		rc = changed_since(stale, &nd[i], f, &cl->items[i], err);
out:
	zh_notes_batch_free(b);
	return rc;
}

int zh_flow_write_notes(size_t *n, struct zh_flow *f, struct zh_error *err)
{
	struct zh_store_commit_list cl = {0};
	struct noted *nd = NULL;
	bool stale = true;
	int rc, round;

	if (n)
		*n = 0;
	if (!f->repo)
		return 0;
	if ((rc = zh_store_commits_to_note(&cl, f->store, f->repo_name, err)) <
	    0)
		return rc;
	if (cl.len == 0)
		goto out;
	if (!(nd = calloc(cl.len, sizeof(*nd)))) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	/* bounded: each round follows a status change of another writer */
	for (round = 0; rc == 0 && stale && round < 8; round++) {
		noted_dispose(nd, cl.len);
		memset(nd, 0, cl.len * sizeof(*nd));
		rc = write_once(n, &stale, f, &cl, nd, err);
	}
out:
	noted_dispose(nd, cl.len);
	free(nd);
	zh_store_commit_list_dispose(&cl);
	return rc;
}

#define PRUNE_EVERY_MS (3600LL * 1000)
#define PRUNED_KEY "pruned_ms"

int zh_flow_prune(int64_t *n, struct zh_flow *f, int64_t now_ms,
		  struct zh_error *err)
{
	int64_t keep = f->cfg->state_keep_ms, every, got = 0;
	char *last = NULL, now[24];
	int rc;

	if (n)
		*n = 0;
	if (keep <= 0)
		return 0;
	/* a push the poller keeps spooled (hook/poll.c) is read again until
	 * then: its recorded rows must still say so, or it fires again */
	if (keep < f->cfg->poll.give_up_after_ms)
		keep = f->cfg->poll.give_up_after_ms;
	every = keep < PRUNE_EVERY_MS ? keep : PRUNE_EVERY_MS;
	rc = zh_store_meta_get(&last, f->store, PRUNED_KEY, err);
	if (rc < 0 && rc != ZH_ENOTFOUND)
		return rc;
	if (rc == 0) {
		int64_t at = strtoll(last, NULL, 10);

		free(last);
		/* a clock set back must not stop it for good */
		if (at <= now_ms && now_ms - at < every)
			return 0;
	}
	snprintf(now, sizeof(now), "%lld", (long long)now_ms);
	/* first, so that two processes asking at once prune once, mostly,
	 * and one that fails does not make every poller round try again */
	if ((rc = zh_store_meta_set(f->store, PRUNED_KEY, now, err)) < 0 ||
	    (rc = zh_store_prune(&got, f->store, now_ms - keep, err)) < 0)
		return rc;
	if (got > 0 && f->log) {
		char line[160];

		snprintf(line, sizeof(line),
			 "store: forgot %lld settled triggers and tasks older "
			 "than state_keep",
			 (long long)got);
		f->log(f->log_ctx, line);
	}
	if (n)
		*n = got;
	return 0;
}
