#include "flow/deliver.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"
#include "util/banned.h"

/* How long a claimed trigger is ours before others may reconcile it: a
 * request ends within zadig.timeout, GET retries included (client()), so
 * twice that and a margin; after a crash the trigger is picked up again
 * that soon. */
static int64_t lease_ms(const struct zh_flow *f)
{
	return 2 * f->cfg->zadig.timeout_ms + 5000;
}

static void logf_(struct zh_flow *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void logf_(struct zh_flow *f, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!f->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	f->log(f->log_ctx, line);
}

void zh_flow_dispose(struct zh_flow *f)
{
	if (!f)
		return;
	zh_zadig_free(f->zadig);
	f->zadig = NULL;
}

/* The client for one call: it ends, GET retries included, within
 * zadig.timeout from now (the lease counts on it) and never past the
 * deadline. ZH_ETIMEOUT when nothing is left of the deadline. */
static int client(struct zh_zadig **out, struct zh_flow *f,
		  struct zh_error *err)
{
	int64_t now = zh_store_now_ms();
	int64_t until = now + f->cfg->zadig.timeout_ms;
	int rc;

	if (!f->zadig && (rc = zh_flow_zadig_new(&f->zadig, f->cfg, err)) < 0)
		return rc;
	if (f->deadline_ms > 0) {
		if (f->deadline_ms - now < 50)
			return zh_error_set(err, ZH_ETIMEOUT,
					    "deadline reached");
		if (f->deadline_ms < until)
			until = f->deadline_ms;
	}
	zh_zadig_set_deadline(f->zadig, until);
	*out = f->zadig;
	return 0;
}

static char *trigger_key(void *ctx, const struct zh_rule *rule,
			 const struct zh_event *ev)
{
	char key[ZH_STORE_KEY_LEN + 1];

	(void)ctx;
	(void)rule;
	(void)ev;
	if (zh_store_new_key(key, NULL) < 0)
		return NULL;
	return strdup(key);
}

/* The key a trigger's callback URL carries ("...?k=<key>&s=..."), so the
 * store keeps the same key. NULL when there is no callback. */
static const char *callback_key(const struct zh_trigger *t, char *buf,
				size_t size)
{
	const char *u = t->custom ? NULL : t->product.callback_url;
	const char *k, *e;

	if (!u || !(k = strstr(u, "?k=")))
		return NULL;
	k += 3;
	e = strchr(k, '&');
	snprintf(buf, size, "%.*s", (int)(e ? e - k : (long)strlen(k)), k);
	return buf;
}

/* What one fired rule is recorded with, until the store has it. */
struct pending {
	struct zh_zadig_request req;
	char key[ZH_STORE_KEY_LEN + 8];
};

int zh_flow_record_many(struct zh_flow_recorded_list *outs, struct zh_flow *f,
			const struct zh_event *const *evs, size_t n,
			unsigned flags, struct zh_error *err)
{
	struct zh_trigger_list *tl = NULL;
	struct zh_store_trigger_spec *specs = NULL;
	struct zh_store_trigger_added *added = NULL;
	struct pending *p = NULL;
	size_t *which = NULL; /* specs index of each fired rule, or SIZE_MAX */
	int64_t now = zh_store_now_ms(), due = 0;
	size_t i, j, total = 0, at, nspecs = 0;
	int rc = 0;

	memset(outs, 0, n * sizeof(*outs));
	if (n == 0)
		return 0;
	if (flags & ZH_FLOW_RECORD_SENDING)
		due = f->deadline_ms ? f->deadline_ms : now + lease_ms(f);
	if (!(tl = calloc(n, sizeof(*tl))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (i = 0; i < n && rc == 0; i++) {
		rc = zh_mapping_match(&tl[i], f->cfg, evs[i], trigger_key, NULL,
				      err);
		total += tl[i].len;
	}
	if (rc < 0 || total == 0)
		goto out;
	if (!(specs = calloc(total, sizeof(*specs))) ||
	    !(added = calloc(total, sizeof(*added))) ||
	    !(p = calloc(total, sizeof(*p))) ||
	    !(which = calloc(total, sizeof(*which)))) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0, at = 0; i < n; i++) {
		size_t len = tl[i].len;

		if (len &&
		    !(outs[i].items = calloc(len, sizeof(*outs[i].items)))) {
			rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
		outs[i].len = len;
		for (j = 0; j < len; j++, at++) {
			const struct zh_trigger *t = &tl[i].items[j];
			struct zh_flow_recorded *r = &outs[i].items[j];
			struct zh_store_trigger_spec *spec = &specs[nspecs];
			struct zh_error e = {0};

			snprintf(r->rule, sizeof(r->rule), "%s", t->rule->name);
			snprintf(r->workflow, sizeof(r->workflow), "%s",
				 t->custom ? t->custom_req.workflow_name
					   : t->product.workflow_name);
			if (t->custom)
				rc = zh_zadig_render_custom_create(
				    &p[at].req, &t->custom_req, &e);
			else
				rc = zh_zadig_render_product_create(
				    &p[at].req, &t->product, &e);
			/* rules are independent (design.md §4.2): one whose
			 * request cannot be made is said, the others go on */
			if (rc == ZH_ENOMEM) {
				*err = e;
				goto out;
			}
			which[at] = SIZE_MAX;
			if (rc < 0) {
				snprintf(r->error, sizeof(r->error), "%s",
					 e.msg);
				rc = 0;
				continue;
			}
			which[at] = nspecs++;
			spec->repo = evs[i]->repo;
			spec->ref = t->ref;
			spec->commit = t->commit;
			spec->rule = t->rule->name;
			spec->custom = t->custom;
			spec->workflow = t->custom ? t->custom_req.workflow_name
						   : t->product.workflow_name;
			spec->project = t->custom ? t->custom_req.project
						  : t->product.project;
			spec->method = p[at].req.method;
			spec->path = p[at].req.path;
			spec->body = p[at].req.body;
			spec->key =
			    callback_key(t, p[at].key, sizeof(p[at].key));
			spec->force = flags & ZH_FLOW_RECORD_FORCE;
			spec->due_ms = due;
		}
	}
	if (nspecs && (rc = zh_store_trigger_add_many(added, f->store, specs,
						      nspecs, now, err)) < 0)
		goto out;
	for (i = 0, at = 0; i < n; i++) {
		for (j = 0; j < tl[i].len; j++, at++) {
			struct zh_flow_recorded *r = &outs[i].items[j];

			if (which[at] == SIZE_MAX)
				continue;
			r->trigger_id = added[which[at]].id;
			r->existed = added[which[at]].existed;
		}
	}
out:
	for (at = 0; p && at < total; at++)
		zh_zadig_request_dispose(&p[at].req);
	for (i = 0; i < n; i++)
		zh_trigger_list_dispose(&tl[i]);
	free(tl);
	free(specs);
	free(added);
	free(p);
	free(which);
	if (rc < 0) {
		for (i = 0; i < n; i++)
			free(outs[i].items);
		memset(outs, 0, n * sizeof(*outs));
	}
	return rc;
}

int zh_flow_record(struct zh_flow_recorded_list *out, struct zh_flow *f,
		   const struct zh_event *ev, unsigned flags,
		   struct zh_error *err)
{
	return zh_flow_record_many(out, f, &ev, 1, flags, err);
}

/* The value a server's lookup is switched off with: the answer that did
 * it. Earlier versions stored "1", also for any 404 (a proxy's page while
 * Zadig restarted): such a server is asked again, and switched off again
 * only when it answers "Invalid path". */
#define LOOKUP_OFF "Invalid path"

static bool lookup_disabled(struct zh_flow *f)
{
	char key[600], *v = NULL;
	bool off;

	snprintf(key, sizeof(key), "commit_lookup_off:%s", f->cfg->zadig.url);
	if (zh_store_meta_get(&v, f->store, key, NULL) < 0)
		return false;
	off = v && !strcmp(v, LOOKUP_OFF);
	free(v);
	return off;
}

static void disable_lookup(struct zh_flow *f)
{
	char key[600];

	snprintf(key, sizeof(key), "commit_lookup_off:%s", f->cfg->zadig.url);
	if (zh_store_meta_set(f->store, key, LOOKUP_OFF, NULL) == 0)
		logf_(f, "zadig at %s has no commitId lookup (v1.18+): "
			 "switched off; tasks are polled by id",
		      f->cfg->zadig.url);
}

/* The commitId lookup of commit into l (zh_zadig_tasks_by_commit), the
 * lookup switched off for this server when it has none (ZH_ENOTFOUND,
 * returned as it is). */
static int lookup(struct zh_zadig_task_list *l, struct zh_flow *f,
		  const char *commit, const char *project, struct zh_error *e)
{
	struct zh_zadig *z = NULL;
	int rc;

	if ((rc = client(&z, f, e)) == 0)
		rc = zh_zadig_tasks_by_commit(l, z, commit, project, e);
	if (rc == ZH_ENOTFOUND)
		disable_lookup(f);
	return rc;
}

/* What reconcile learnt about a trigger that may have been sent. */
enum found {
	FOUND,	   /* the task exists: res has it */
	NOT_FOUND, /* the lookup answered without it: send */
	NO_LOOKUP, /* none to ask (custom workflow, lookup off): send */
	UNKNOWN,   /* the lookup failed: res->message says why */
};

static int by_task_id(const void *a, const void *b)
{
	const struct zh_zadig_task *x = a, *y = b;

	return (x->task_id > y->task_id) - (x->task_id < y->task_id);
}

/* Whether task k, listed by the lookup, may be t's: of its workflow, not
 * another trigger's (nor an explicit `git zadig trigger`'s: the store
 * knows every task of ours), and (its detail) built as t's request asks.
 * When Zadig made it says nothing here: Zadig's clock may differ from
 * ours by any amount (a task made by a timed-out create was ignored as
 * older than the trigger when Zadig's clock was a minute behind), and
 * the tasks of other triggers of the commit (another rule of the same
 * workflow, the same commit pushed to another ref) are told apart by the
 * store and by the build. Returns 0 (*fits set), or < 0 when the detail
 * cannot be read (e). */
static int may_be_ours(bool *fits, struct zh_flow *f,
		       struct zh_store_trigger *t,
		       const struct zh_zadig_task *k, struct zh_error *e)
{
	struct zh_zadig_task d = {0};
	struct zh_zadig *z = NULL;
	bool taken = false;
	int rc;

	*fits = false;
	if (k->task_id <= 0 || !k->workflow_name ||
	    strcmp(k->workflow_name, t->workflow))
		return 0;
	if ((rc = zh_store_task_taken(&taken, f->store, t, k->task_id,
				      k->create_time, e)) < 0 ||
	    taken)
		return rc;
	/* each read may take zadig.timeout: the claim must outlast them
	 * and the create after them, or another process would send too */
	if ((rc = zh_store_trigger_renew(f->store, t, zh_store_now_ms(),
					 lease_ms(f), e)) < 0 ||
	    (rc = client(&z, f, e)) < 0 ||
	    (rc = zh_zadig_product_detail(&d, z, t->workflow, k->task_id,
					  t->project, e)) < 0)
		return rc;
	*fits = zh_zadig_task_fits_create(&d, t->body);
	zh_zadig_task_dispose(&d);
	return 0;
}

/* An interrupted send may have created the task: look for it by commit
 * (product workflows only; the lookup covers the last 24 h). Of the tasks
 * that may be t's, the lowest id; *create_time gets when Zadig made it. */
static enum found reconcile(struct zh_flow_result *res, int64_t *create_time,
			    struct zh_flow *f, struct zh_store_trigger *t)
{
	struct zh_zadig_task_list l = {0};
	const struct zh_zadig_task *hit = NULL;
	struct zh_error e = {0};
	enum found found = NOT_FOUND;
	bool fits = false;
	size_t i;
	int rc;

	if (t->custom || lookup_disabled(f))
		return NO_LOOKUP;
	if ((rc = lookup(&l, f, t->commit, t->project, &e)) == ZH_ENOTFOUND)
		return NO_LOOKUP;
	/* the list is ours: sorted in place, lowest id first */
	if (rc == 0 && l.len)
		qsort(l.items, l.len, sizeof(*l.items), by_task_id);
	for (i = 0; rc == 0 && !hit && i < l.len; i++)
		if ((rc = may_be_ours(&fits, f, t, &l.items[i], &e)) == 0 &&
		    fits)
			hit = &l.items[i];
	if (rc < 0) {
		/* sending again blindly could make a second task */
		snprintf(res->message, sizeof(res->message),
			 "cannot tell whether an earlier request created the "
			 "task: %.400s",
			 e.msg);
		found = UNKNOWN;
	} else if (hit) {
		res->task_id = hit->task_id;
		*create_time = hit->create_time;
		snprintf(res->url, sizeof(res->url), "%s",
			 hit->url ? hit->url : "");
		logf_(f,
		      "trigger %s/%s for %.12s was sent before: found %s "
		      "#%" PRId64,
		      t->repo, t->rule, t->commit, t->workflow, hit->task_id);
		found = FOUND;
	}
	zh_zadig_task_list_dispose(&l);
	return found;
}

/* A try that timed out or lost its connection may still create the task
 * at Zadig (a hook cut off by its deadline, a slow server): the trigger
 * remembers when, in the store's meta table under this key. */
static void maybe_sent_key(char *buf, size_t size,
			   const struct zh_store_trigger *t)
{
	snprintf(buf, size, "maybe_sent:%" PRId64, t->id);
}

/* unread: the try was answered 2xx without a task id we could read
 * (zh_zadig_answer_unread), kept after the time as " unread" */
static void mark_maybe_sent(struct zh_flow *f, const char *mkey, int64_t at_ms,
			    bool unread)
{
	char at[48];

	snprintf(at, sizeof(at), "%" PRId64 "%s", at_ms,
		 unread ? " unread" : "");
	(void)zh_store_meta_set(f->store, mkey, at, NULL);
}

/* Whether a create that failed with rc (e) may have made the task. */
static bool maybe_sent_error(int rc, const struct zh_zadig *z,
			     const struct zh_error *e)
{
	/* no client (z NULL) or a failure before the first byte: unsent */
	if (!z)
		return false;
	if (rc == ZH_ETIMEOUT || rc == ZH_ENET)
		return !zh_zadig_unsent(z);
	/* An answer over the size cap was not read. A 5xx of a gateway
	 * (502, 504), or any 5xx without Zadig's error body (a proxy's
	 * page, an empty panic), says nothing of what Zadig did behind
	 * it; Zadig's own error (with its code) is an answer. (A 2xx that
	 * is not JSON is a proxy's page, not sent on; one of Zadig's
	 * without a task id is zh_zadig_answer_unread; a reply of Zadig's
	 * cut short fails as a network error.) */
	if (rc == ZH_ETOOBIG)
		return true;
	return rc == ZH_EZADIG && e->http >= 500 &&
	       (e->http == 502 || e->http == 504 || !e->zadig_code);
}

/* Zadig answered t's create 2xx without a task id we can read (why): it
 * most likely made the task, and each blind retry made another. Where
 * the commitId lookup can tell (lookup), the trigger waits as after a
 * timed-out try and is looked up before it is sent again; where none
 * can (a custom workflow, a server without the lookup) it is not sent
 * again at all: rejected, saying why. Logged loudly either way. */
static int unread_answer(struct zh_flow_result *res, struct zh_flow *f,
			 struct zh_store_trigger *t, const char *why,
			 const char *mkey, bool lookup, int64_t now,
			 struct zh_error *err)
{
	int rc;

	if (lookup) {
		mark_maybe_sent(f, mkey, now, true);
		res->outcome = ZH_FLOW_QUEUED;
		snprintf(res->message, sizeof(res->message),
			 "%.300s: zadig may have made the task; it is looked "
			 "up before the trigger is sent again",
			 why);
		rc =
		    zh_store_trigger_retry(f->store, t, res->message, now, err);
	} else {
		(void)zh_store_meta_set(f->store, mkey, NULL, NULL);
		res->outcome = ZH_FLOW_REJECTED;
		snprintf(res->message, sizeof(res->message),
			 "%.300s: zadig may have made the task; not sent "
			 "again (no commitId lookup to tell)",
			 why);
		rc = zh_store_trigger_reject(f->store, t, res->message, now,
					     err);
	}
	logf_(f, "ZADIG ANSWERED WITHOUT A TASK ID for %s/%s: %s", t->repo,
	      t->rule, res->message);
	return rc == ZH_ENOTFOUND ? 0 : rc;
}

/* Whether Zadig refused a create that failed with rc (e) for good: a 4xx
 * but 408 and 429, read from the status of Zadig's backend when Zadig
 * proxied its error (an HTTP 500 with "[400 BadRequest] {...}" in it, as
 * it answers product-workflow creates). A 404 without Zadig's error (no
 * code: an ingress's default backend, a zadig.url with a wrong path)
 * never reached Zadig's handler: not sent, retried. */
static bool refused(int rc, const struct zh_error *e)
{
	int status = zh_zadig_error_status(e);

	if (status == 404 && !e->zadig_code)
		return false;
	return rc == ZH_EZADIG && status >= 400 && status < 500 &&
	       status != 408 && status != 429;
}

/* Whether t's rule was taken out of the configuration since t was
 * queued: an admin who removes a rule (a deployment gone wrong) must not
 * see its queued triggers sent once Zadig is back. Only where f's
 * configuration is surely the one t's repository records with: the
 * poller and `git zadig` of t's own repository. Not the receiver, nor a
 * poller of another repository sharing the store: each may read another
 * configuration, with other rules, than the program that recorded t. An
 * explicit `git zadig trigger` (forced) is sent with the rule it named. */
static bool rule_removed(const struct zh_flow *f,
			 const struct zh_store_trigger *t)
{
	if (t->forced || !t->rule || !*t->rule)
		return false;
	if (!f->repo_name || strcmp(f->repo_name, t->repo) != 0)
		return false;
	return !zh_config_rule(f->cfg, t->rule);
}

/* Send claimed trigger t and record the outcome. */
static int deliver(struct zh_flow_result *res, struct zh_flow *f,
		   struct zh_store_trigger *t, struct zh_error *err)
{
	struct zh_zadig_request req;
	struct zh_zadig_created c = {0};
	struct zh_zadig *z = NULL;
	struct zh_error e = {0};
	int64_t now, poll = f->cfg->poll.interval_ms, sent_ms = 0, made = 0;
	char mkey[64], *v = NULL, *end = NULL;
	bool taken = false, unread = false;
	enum found found;
	int rc;

	memset(res, 0, sizeof(*res));
	snprintf(res->rule, sizeof(res->rule), "%s", t->rule);
	snprintf(res->workflow, sizeof(res->workflow), "%s", t->workflow);
	maybe_sent_key(mkey, sizeof(mkey), t);
	if (zh_store_meta_get(&v, f->store, mkey, NULL) == 0 && v) {
		sent_ms = strtoll(v, &end, 10);
		unread = end && !strcmp(end, " unread");
	}
	free(v);
	now = zh_store_now_ms();
	if (sent_ms > now) {
		/* marked by a clock set back since: how long ago it was sent
		 * is not known, so the wait counts from now, once */
		sent_ms = now;
		mark_maybe_sent(f, mkey, now, unread);
	}
	if (sent_ms && now < sent_ms + f->cfg->zadig.timeout_ms) {
		/* sending again now could make a second task: give the
		 * earlier request the time we would wait for any answer */
		res->outcome = ZH_FLOW_QUEUED;
		snprintf(res->message, sizeof(res->message),
			 "an earlier request may still be in progress at "
			 "zadig");
		rc = zh_store_trigger_retry(f->store, t, res->message, now,
					    err);
		return rc == ZH_ENOTFOUND ? 0 : rc;
	}
	switch ((found = (t->interrupted || sent_ms)
			     ? reconcile(res, &made, f, t)
			     : NO_LOOKUP)) {
	case FOUND:
		if ((rc = zh_store_trigger_found(
			 &taken, f->store, t, res->task_id, made, res->url,
			 poll, zh_store_now_ms(), err)) < 0)
			return rc;
		if (!taken) {
			res->outcome = ZH_FLOW_CREATED;
			(void)zh_store_meta_set(f->store, mkey, NULL, NULL);
			return 0;
		}
		/* another trigger's since the lookup: look again */
		snprintf(res->message, sizeof(res->message),
			 "%s #%" PRId64 " was taken by another trigger",
			 t->workflow, res->task_id);
		res->task_id = 0;
		res->url[0] = '\0';
		/* fall through */
	case UNKNOWN:
		/* queued, to be reconciled again first: an interrupted
		 * send went out before its lease ended, so at the latest a
		 * zadig.timeout ago (no wait is due for it) */
		now = zh_store_now_ms();
		if (!sent_ms)
			mark_maybe_sent(f, mkey, now - f->cfg->zadig.timeout_ms,
					false);
		res->outcome = ZH_FLOW_QUEUED;
		rc =
		    zh_store_trigger_retry(f->store, t, res->message, now, err);
		return rc == ZH_ENOTFOUND ? 0 : rc;
	case NO_LOOKUP:
		if (unread)
			return unread_answer(res, f, t,
					     "zadig answered an earlier create "
					     "without a task id",
					     mkey, false, zh_store_now_ms(),
					     err);
		break;
	case NOT_FOUND:
		break;
	}
	if (rule_removed(f, t)) {
		snprintf(res->message, sizeof(res->message),
			 "rule '%.200s' is no longer in the configuration; "
			 "not sent",
			 t->rule);
		res->outcome = ZH_FLOW_REJECTED;
		logf_(f, "%s/%s: %s", t->repo, t->rule, res->message);
		(void)zh_store_meta_set(f->store, mkey, NULL, NULL);
		rc = zh_store_trigger_reject(f->store, t, res->message,
					     zh_store_now_ms(), err);
		return rc == ZH_ENOTFOUND ? 0 : rc;
	}
	/* after a lookup, the create gets a whole lease of its own */
	if (found == NOT_FOUND &&
	    (rc = zh_store_trigger_renew(f->store, t, zh_store_now_ms(),
					 lease_ms(f), &e)) < 0) {
		res->outcome = ZH_FLOW_QUEUED;
		snprintf(res->message, sizeof(res->message), "%s", e.msg);
		return rc == ZH_ENOTFOUND ? 0
					  : zh_error_set(err, rc, "%s", e.msg);
	}
	req.method = t->method;
	req.path = t->path;
	req.body = t->body;
	rc = client(&z, f, &e);
	if (rc == 0)
		rc = zh_zadig_send_create(&c, z, &req, t->custom, t->project,
					  t->workflow, &e);
	now = zh_store_now_ms();
	unread = rc < 0 && zh_zadig_answer_unread(z);
	if (unread)
		return unread_answer(res, f, t, e.msg, mkey,
				     !t->custom && !lookup_disabled(f), now,
				     err);
	if (sent_ms && (rc == 0 || refused(rc, &e))) {
		(void)zh_store_meta_set(f->store, mkey, NULL, NULL);
	} else if (maybe_sent_error(rc, z, &e)) {
		mark_maybe_sent(f, mkey, now, false);
	}
	if (rc == 0) {
		res->outcome = ZH_FLOW_CREATED;
		res->task_id = c.task_id;
		snprintf(res->url, sizeof(res->url), "%s", c.url ? c.url : "");
		rc = zh_store_trigger_created(f->store, t, c.task_id, c.url,
					      poll, now, err);
		zh_zadig_created_dispose(&c);
		return rc;
	}
	snprintf(res->message, sizeof(res->message), "%s", e.msg);
	if (rc == ZH_EAUTH) {
		res->outcome = ZH_FLOW_HELD;
		res->denied = z && zh_zadig_error_status(&e) == 403;
		/* a 403 is a permission: older servers deny one to users
		 * who are not admins when the request names no project */
		if (res->denied && !t->custom && !(t->project && *t->project))
			snprintf(res->message, sizeof(res->message),
				 "%.400s (no workflow.project set: older Zadig "
				 "needs it for users who are not admins)",
				 e.msg);
		/* no client: the token file cannot be read, nothing was sent */
		if (!z)
			logf_(f,
			      "CANNOT READ THE ZADIG TOKEN for %s/%s: %s; the "
			      "trigger stays queued until it can be read",
			      t->repo, t->rule, e.msg);
		else if (res->denied)
			logf_(f,
			      "ZADIG DENIED PERMISSION for %s/%s: %s; the "
			      "trigger stays queued until the token's user is "
			      "allowed%s",
			      t->repo, t->rule, res->message,
			      f->token_fix ? f->token_fix : "");
		else
			logf_(f,
			      "ZADIG REFUSED THE TOKEN for %s/%s: %s; the "
			      "trigger stays queued until the token is fixed%s",
			      t->repo, t->rule, e.msg,
			      f->token_fix ? f->token_fix : "");
		rc = zh_store_trigger_hold(f->store, t, res->message, now, err);
	} else if (refused(rc, &e)) {
		const char *text = e.msg;
		char why[600];

		res->outcome = ZH_FLOW_REJECTED;
		/* the note says error="6540 <message>": drop "zadig 6540: " */
		if (e.zadig_code && strncmp(text, "zadig ", 6) == 0 &&
		    strstr(text, ": "))
			text = strstr(text, ": ") + 2;
		if (e.zadig_code)
			snprintf(why, sizeof(why), "%d %s", e.zadig_code, text);
		else
			snprintf(why, sizeof(why), "%s", text);
		/* the pusher sees what the note and a re-run hook show */
		snprintf(res->message, sizeof(res->message), "%.*s",
			 (int)sizeof(res->message) - 1, why);
		logf_(f, "zadig rejected %s/%s: %s", t->repo, t->rule, e.msg);
		rc = zh_store_trigger_reject(f->store, t, why, now, err);
	} else {
		res->outcome = ZH_FLOW_QUEUED;
		rc = zh_store_trigger_retry(f->store, t, e.msg, now, err);
	}
	/* a lost claim means another process took over: not our failure */
	return rc == ZH_ENOTFOUND ? 0 : rc;
}

static void tally_outcome(struct zh_flow *f, enum zh_flow_outcome o)
{
	switch (o) {
	case ZH_FLOW_CREATED:
		f->tally.created++;
		break;
	case ZH_FLOW_REJECTED:
		f->tally.rejected++;
		break;
	case ZH_FLOW_QUEUED:
	case ZH_FLOW_HELD:
		f->tally.queued++;
		break;
	case ZH_FLOW_DONE:
		break;
	}
}

int zh_flow_trigger_result(struct zh_flow_result *res, struct zh_flow *f,
			   int64_t trigger_id, struct zh_error *err)
{
	struct zh_store_trigger t = {0};
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = zh_store_trigger_get(&t, f->store, trigger_id, err)) < 0)
		return rc;
	res->outcome = ZH_FLOW_DONE;
	snprintf(res->rule, sizeof(res->rule), "%s", t.rule);
	snprintf(res->workflow, sizeof(res->workflow), "%s", t.workflow);
	res->task_id = t.task_id;
	snprintf(res->url, sizeof(res->url), "%s", t.url ? t.url : "");
	if (t.state == ZH_STORE_REJECTED) {
		res->outcome = ZH_FLOW_REJECTED;
		snprintf(res->message, sizeof(res->message), "%s",
			 t.last_error ? t.last_error : "");
	}
	zh_store_trigger_dispose(&t);
	return 0;
}

int zh_flow_deliver_id(struct zh_flow_result *res, struct zh_flow *f,
		       int64_t trigger_id, struct zh_error *err)
{
	struct zh_store_trigger t = {0};
	int rc;

	memset(res, 0, sizeof(*res));
	rc = zh_store_trigger_claim_id(&t, f->store, trigger_id,
				       zh_store_now_ms(), lease_ms(f), err);
	if (rc == ZH_ENOTFOUND) {
		/* delivered (or being delivered) by someone else */
		if (zh_flow_trigger_result(res, f, trigger_id, NULL) < 0)
			res->outcome = ZH_FLOW_DONE;
		return 0;
	}
	if (rc < 0)
		return rc;
	rc = deliver(res, f, &t, err);
	zh_store_trigger_dispose(&t);
	return rc;
}

int zh_flow_deliver_due(int *n, struct zh_flow *f, bool ignore_backoff,
			struct zh_error *err)
{
	struct zh_store_claim c;
	int count = 0, rc = 0;

	memset(&c, 0, sizeof(c));
	c.lease_ms = lease_ms(f);
	c.ignore_backoff = ignore_backoff;
	c.round_start_ms = zh_store_now_ms();
	for (;;) {
		struct zh_store_trigger t = {0};
		struct zh_flow_result res;

		if (f->deadline_ms > 0 && zh_store_now_ms() >= f->deadline_ms)
			break;
		c.now_ms = zh_store_now_ms();
		rc = zh_store_trigger_claim(&t, f->store, &c, err);
		if (rc == ZH_ENOTFOUND) {
			rc = 0;
			break;
		}
		if (rc < 0)
			break;
		rc = deliver(&res, f, &t, err);
		if (rc == 0 && res.outcome == ZH_FLOW_CREATED)
			logf_(f, "%s/%s: %s #%" PRId64 " created %s", t.repo,
			      t.rule, res.workflow, res.task_id, res.url);
		else if (rc == 0 && res.outcome == ZH_FLOW_QUEUED)
			logf_(f, "%s/%s: still queued: %s", t.repo, t.rule,
			      res.message);
		if (rc == 0)
			tally_outcome(f, res.outcome);
		zh_store_trigger_dispose(&t);
		count++;
		if (rc < 0)
			break;
	}
	if (n)
		*n = count;
	return rc;
}

/* No run counts 2^53 tests: counts that sum past it (or a negative one)
 * are garbage in Zadig's answer, and get no tests= */
#define MAX_TESTS ((int64_t)1 << 53)

void zh_flow_task_extra(char *buf, size_t size, const struct zh_zadig_task *t)
{
	int64_t tests = 0, ok = 0;
	size_t i, len = 0;

	buf[0] = '\0';
	if (t->start_time > 0 && t->end_time >= t->start_time)
		len += (size_t)snprintf(buf, size, "duration=%" PRId64 "s",
					t->end_time - t->start_time);
	for (i = 0; i < t->ntest_reports; i++) {
		const struct zh_zadig_test_report *r = &t->test_reports[i];

		if (r->tests < 0 || r->successes < 0 ||
		    r->tests > MAX_TESTS - tests ||
		    r->successes > MAX_TESTS - ok) {
			tests = 0;
			break;
		}
		tests += r->tests;
		ok += r->successes;
	}
	if (tests && len < size)
		snprintf(buf + len, size - len, "%stests=%" PRId64 "/%" PRId64,
			 len ? " " : "", ok, tests);
}

/* The entry of task k in l (a commitId lookup), or NULL. Of several
 * (Zadig's ids started again within the lookup's day, and both tasks
 * built the commit), the one Zadig made when the store says k was; when
 * the store knows no time of k, or several have it, none, and *unsure is
 * set (else cleared). */
static const struct zh_zadig_task *listed(const struct zh_zadig_task_list *l,
					  const struct zh_store_task *k,
					  bool *unsure)
{
	const struct zh_zadig_task *first = NULL, *made = NULL;
	size_t i, n = 0, nmade = 0;

	*unsure = false;
	for (i = 0; l && i < l->len; i++) {
		const struct zh_zadig_task *e = &l->items[i];

		if (e->task_id != k->task_id || !e->workflow_name ||
		    strcmp(e->workflow_name, k->workflow))
			continue;
		if (!n++)
			first = e;
		if (k->zadig_created > 0 && e->create_time == k->zadig_created)
			made = nmade++ ? made : e;
	}
	if (n <= 1 || nmade == 1)
		return nmade == 1 ? made : first;
	/* none made when ours was: the first tells so (poll_task) */
	if (k->zadig_created > 0 && nmade == 0)
		return first;
	*unsure = true;
	return NULL;
}

/* What a commitId lookup of k's commit said of k (product_times). */
enum seen {
	SEEN_NONE,   /* no lookup answered for it: nothing told */
	SEEN_LISTED, /* listed: the task built k's commit */
	SEEN_NOT,    /* the lookup answered without it */
};

/* The note field of a task whose id Zadig gave to another task. */
#define REUSED "reused=1"

/* Whether the note fields extra (may be NULL) hold REUSED. */
static bool has_reused(const char *extra)
{
	const char *p = extra;
	size_t n = strlen(REUSED);

	while (p && (p = strstr(p, REUSED))) {
		if ((p == extra || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return true;
		p += n;
	}
	return false;
}

/* Whether k's id is another task's now (REUSED among its fields): its
 * line keeps what was known of it, and it is not polled again unless a
 * retry, cancel or approval of the id reopened it (not final). */
static bool given_away(const struct zh_store_task *k)
{
	return k->final && has_reused(k->extra);
}

/* The "duration=..." of k's note fields, kept for a poll that learns no
 * times of a task that ended as k was: NULL when there is none. */
static const char *kept_duration(const struct zh_store_task *k,
				 const struct zh_zadig_task *t, size_t *len)
{
	const char *d;

	if (!k->final || !k->status || strcmp(k->status, t->status) ||
	    !k->extra)
		return NULL;
	if (strncmp(k->extra, "duration=", 9) == 0)
		d = k->extra;
	else if ((d = strstr(k->extra, " duration=")))
		d++;
	else
		return NULL;
	*len = strcspn(d, " ");
	return d;
}

/* Whether lookup entry e says the status detail t does. */
static bool same_status(const struct zh_zadig_task *e,
			const struct zh_zadig_task *t)
{
	return e->status && t->status && !strcmp(e->status, t->status);
}

/* Zadig's product task detail names no times: the commitId lookup does,
 * for tasks of the last 24 hours, and t takes them from it: from known
 * (the round's lookup of k's commit; NULL when there was none) when it
 * lists the task with the status t has, else, when t has ended, from a lookup
 * of its own (one request for a finished task, while Zadig has the
 * lookup), which replaces known for the tasks after it. A task known
 * does not list is no lookup's (made over 24 hours ago, or its id is
 * another task's now). A task that ended as the store has it, with its
 * duration, is not looked up. asked: the project known was asked with.
 * Returns what the lookup said of k: SEEN_NOT only from a lookup asked
 * with k's project, SEEN_NONE for a task t has the times of (a custom
 * one). */
static enum seen product_times(struct zh_flow *f, const struct zh_store_task *k,
			       struct zh_zadig_task *t,
			       struct zh_zadig_task_list *known,
			       const char *asked)
{
	struct zh_zadig_task_list l = {0};
	bool unsure = false;
	const struct zh_zadig_task *e =
	    known ? listed(known, k, &unsure) : NULL;
	bool final = zh_zadig_status_is_final(t->status);
	enum seen seen = SEEN_NONE;
	struct zh_error err = {0};
	size_t n;
	int rc;

	if (k->custom || t->create_time || t->start_time || t->end_time ||
	    !k->commit || !*k->commit)
		return SEEN_NONE;
	if (known && !unsure)
		seen = e ? SEEN_LISTED : SEEN_NOT;
	if (final &&
	    (known ? e && !(same_status(e, t) && e->end_time)
		   : !kept_duration(k, t, &n)) &&
	    !f->lookup_failed && !lookup_disabled(f)) {
		rc = lookup(&l, f, k->commit, k->project, &err);
		if (rc < 0 && rc != ZH_ENOTFOUND) {
			logf_(f,
			      "cannot look up when %s #%" PRId64 " ran: %s "
			      "(not asked again this round)",
			      k->workflow, k->task_id, err.msg);
			f->lookup_failed = true;
		}
		if (rc == 0 && known) {
			zh_zadig_task_list_dispose(known);
			*known = l;
			memset(&l, 0, sizeof(l));
		}
		e = listed(known ? known : &l, k, &unsure);
		if (rc == 0) {
			seen = e ? SEEN_LISTED : unsure ? SEEN_NONE : SEEN_NOT;
			asked = k->project;
		}
	}
	if (e) {
		t->create_time = e->create_time;
		/* a duration only for the end the note says */
		if (final && same_status(e, t)) {
			t->start_time = e->start_time;
			t->end_time = e->end_time;
		}
	}
	zh_zadig_task_list_dispose(&l);
	/* a lookup for one project may not list another's tasks */
	if (seen == SEEN_NOT &&
	    strcmp(asked ? asked : "", k->project ? k->project : ""))
		seen = SEEN_NONE;
	return seen;
}

/* The note fields of t (zh_flow_task_extra) into buf, with the duration
 * the store has of k when Zadig told none this time (a task the lookup
 * no longer lists). */
static void task_extra(char *buf, size_t size, const struct zh_store_task *k,
		       const struct zh_zadig_task *t)
{
	const char *d;
	size_t n = 0, len;

	zh_flow_task_extra(buf, size, t);
	if (strstr(buf, "duration=") || !(d = kept_duration(k, t, &n)))
		return;
	len = strlen(buf);
	if (n + 1 + len >= size)
		return;
	memmove(buf + n + (len ? 1 : 0), buf, len + 1);
	memcpy(buf, d, n);
	if (len)
		buf[n] = ' ';
}

/* How long the commitId lookup lists a task after Zadig made it, less an
 * hour for the clocks (made_lately). */
#define LOOKUP_SPAN_S (23 * 3600)

/* Whether Zadig made k's task within the span the commitId lookup lists
 * tasks: by our clock since the store recorded it, or since Zadig's
 * create_time of it when that is earlier (a task the lookup found some
 * time after Zadig made it; a Zadig clock behind ours only makes it look
 * older, and so no younger than it is). */
static bool made_lately(const struct zh_store_task *k, int64_t now_ms)
{
	int64_t made = k->created_ms / 1000;

	if (k->zadig_created > 0 && k->zadig_created < made)
		made = k->zadig_created;
	return now_ms / 1000 - made < LOOKUP_SPAN_S;
}

/* k's id is another task's now (why says how that shows): what Zadig
 * says of it is no commit's here. k keeps its status ("unknown" when it
 * had not ended) and its fields, and gets REUSED: it is not polled
 * again. */
static int another_task(struct zh_flow *f, const struct zh_store_task *k,
			const char *why, int64_t next, int64_t interval,
			int64_t now, struct zh_error *err)
{
	const char *x = k->extra ? k->extra : "";
	char extra[256];
	int rc;

	if (has_reused(x))
		snprintf(extra, sizeof(extra), "%s", x);
	else if ((size_t)snprintf(extra, sizeof(extra), "%s%s" REUSED, x,
				  *x ? " " : "") >= sizeof(extra))
		snprintf(extra, sizeof(extra), REUSED);
	rc = zh_store_task_polled(f->store, k, k->final ? k->status : "unknown",
				  extra, true, 0, next, interval, now, err);
	if (rc == 0)
		logf_(f,
		      "%s #%" PRId64 " of %.12s is another task now (%s; "
		      "zadig's task ids started again?): no longer polled",
		      k->workflow, k->task_id, k->commit ? k->commit : "-",
		      why);
	return rc;
}

/* Ask Zadig for one task and record what it says, unless it is another
 * task now: one whose create_time is not the one the first poll of ours
 * read (both Zadig's clock: ours may differ from it by any amount), or,
 * for a product task (whose detail names no create_time), one the
 * lookup of its commit listed once and lists no more while it would
 * (made_lately). A task that ended keeps its status unless a lookup of
 * its commit lists it (a restart in Zadig; 'git zadig retry' reopens it
 * itself) or it is "unknown" (polling gave up). A task the store forgot
 * meanwhile, or gave to a new task of the id, is skipped. known: the
 * round's commitId lookup of k's commit, or NULL, asked with the
 * project asked (product_times). */
static int poll_task(struct zh_flow *f, const struct zh_store_task *k,
		     struct zh_zadig_task_list *known, const char *asked,
		     struct zh_error *err)
{
	struct zh_zadig_task t = {0};
	struct zh_zadig *z = NULL;
	struct zh_error e = {0};
	int64_t now, next, interval;
	char extra[128], why[160];
	enum seen seen;
	bool final;
	int rc;

	if ((rc = client(&z, f, &e)) == 0) {
		if (k->custom)
			rc = zh_zadig_custom_detail(&t, z, k->workflow,
						    k->task_id, &e);
		else
			rc = zh_zadig_product_detail(&t, z, k->workflow,
						     k->task_id, k->project,
						     &e);
	}
	/* An answer naming no status tells nothing: the task's poll failed,
	 * as if Zadig had not answered (the round goes on with the others
	 * and this one backs off), never the status "" */
	if (rc == 0 && !(t.status && *t.status))
		rc =
		    zh_error_set(&e, ZH_EPROTO, "zadig's answer has no status");
	now = zh_store_now_ms();
	interval = k->poll_interval_ms > 0 ? k->poll_interval_ms * 2
					   : f->cfg->poll.interval_ms;
	if (interval > f->cfg->poll.max_interval_ms)
		interval = f->cfg->poll.max_interval_ms;
	next = now + interval;
	if (rc < 0) {
		logf_(f, "cannot poll %s #%" PRId64 ": %s", k->workflow,
		      k->task_id, e.msg);
		f->tally.unpolled++;
		/* keep the old status; try again later */
		rc =
		    zh_store_task_polled(f->store, k, k->status, NULL, k->final,
					 0, next, interval, now, err);
		goto out;
	}
	f->tally.polled++;
	seen = product_times(f, k, &t, known, asked);
	if (t.create_time > 0 && k->zadig_created > 0 &&
	    t.create_time != k->zadig_created) {
		/* Zadig gave the id out again (its ids started again) to a
		 * task none of ours knows, so what it says is no commit's
		 * here; ours is gone */
		snprintf(why, sizeof(why),
			 "zadig made it at %" PRId64 ", ours at %" PRId64,
			 t.create_time, k->zadig_created);
		rc = another_task(f, k, why, next, interval, now, err);
		goto out;
	}
	if (seen == SEEN_NOT && k->zadig_created > 0 && made_lately(k, now)) {
		/* the lookup of k's commit listed it (its create_time is
		 * kept), and would still: the task of the id built another
		 * commit, Zadig made it anew */
		rc = another_task(f, k,
				  "the commitId lookup of the commit lists "
				  "it no more, less than a day after zadig "
				  "made ours",
				  next, interval, now, err);
		goto out;
	}
	if (k->final && strcmp(k->status, "unknown") &&
	    strcmp(k->status, t.status) && !t.create_time) {
		/* an end is not undone but by a restart, and nothing says
		 * this is ours restarted */
		rc = zh_store_task_polled(f->store, k, k->status, NULL, true, 0,
					  next, interval, now, err);
		if (rc == 0)
			logf_(f,
			      "%s #%" PRId64 " of %.12s: zadig says %s, the "
			      "task ended %s: kept (no commitId lookup of the "
			      "commit lists it: another task has the id now, "
			      "or it was restarted in zadig)",
			      k->workflow, k->task_id,
			      k->commit ? k->commit : "-", t.status, k->status);
		goto out;
	}
	final = zh_zadig_status_is_final(t.status);
	task_extra(extra, sizeof(extra), k, &t);
	/* the first look at it keeps its create_time: what tells it from
	 * a later task of the same id */
	rc = zh_store_task_polled(f->store, k, t.status, extra, final,
				  t.create_time, next, interval, now, err);
out:
	/* forgotten since the round read it (a prune of another process,
	 * state_keep), or another task's now (a new task of the id that
	 * another process or this round's lookup recorded): nothing this
	 * poll read is that task's */
	if (rc == ZH_ENOTFOUND)
		rc = 0;
	zh_zadig_task_dispose(&t);
	return rc;
}

/* Tasks of commit that others started (commitId lookup). A task the
 * store knows of this commit is left as it is: its own detail says more
 * (test reports) and is read when it is due (design.md §8). So is one it
 * holds for another commit (a create names a branch only: the task of
 * one commit builds a later one), unless Zadig made the listed task at
 * another time than that one: an older task of the same id (Zadig's ids
 * started again), and the task is this commit's now. project (may be
 * NULL): of the commit's tasks, for the lookup's ?projectName=. keep
 * (may be NULL) gets the lookup's answer, for the times of the commit's
 * tasks (product_times; the caller disposes it): 1 is returned when it
 * did. */
static int discover(struct zh_flow *f, const char *repo, const char *ref,
		    const char *commit, const char *project,
		    struct zh_zadig_task_list *keep,
		    struct zh_error *err)
{
	struct zh_zadig_task_list l = {0};
	struct zh_error e = {0};
	int64_t now = zh_store_now_ms();
	size_t i;
	int rc;

	if (f->lookup_failed || lookup_disabled(f))
		return 0;
	if ((rc = lookup(&l, f, commit, project, &e)) == ZH_ENOTFOUND)
		return 0;
	if (rc < 0) {
		/* a hint only: polling by id goes on */
		logf_(f,
		      "cannot look up the tasks of %.12s: %s (not asked "
		      "again this round)",
		      commit, e.msg);
		f->tally.unpolled++;
		f->lookup_failed = true;
		return 0;
	}
	for (i = 0; i < l.len; i++) {
		const struct zh_zadig_task *k = &l.items[i];
		struct zh_store_task st;
		char extra[128];

		if (!k->workflow_name || k->task_id <= 0)
			continue;
		if (zh_store_task_find(&st, f->store, k->workflow_name, false,
				       k->task_id, NULL) == 0) {
			/* of any repository: the lookup knows commits only
			 * (forks share them) */
			bool same = st.commit && !strcmp(st.commit, commit);
			bool older = k->create_time > 0 &&
				     st.zadig_created > 0 &&
				     st.zadig_created != k->create_time;

			zh_store_task_dispose(&st);
			if (same || !older)
				continue;
		}
		memset(&st, 0, sizeof(st));
		zh_flow_task_extra(extra, sizeof(extra), k);
		st.workflow = k->workflow_name;
		st.task_id = k->task_id;
		st.project = k->project_name;
		st.repo = (char *)repo;
		st.ref = (char *)ref;
		st.commit = (char *)commit;
		/* "" says as little as no status: keep what is known (on
		 * insert "created"); a note line cannot hold an empty one */
		st.status = k->status && *k->status ? k->status : NULL;
		st.url = k->url;
		st.extra = extra[0] ? extra : NULL;
		st.final = zh_zadig_status_is_final(k->status);
		st.poll_interval_ms = f->cfg->poll.interval_ms;
		st.next_poll_ms = now + st.poll_interval_ms;
		st.zadig_created = k->create_time;
		if ((rc = zh_store_task_listed(f->store, &st, now, err)) < 0)
			break;
	}
	if (rc == 0 && keep) {
		*keep = l;
		return 1;
	}
	zh_zadig_task_list_dispose(&l);
	return rc < 0 ? rc : 0;
}

/* A task of a round whose change the store did not take: the round's
 * first failure goes to err, the others to the log. Whether the round
 * stops: only for a busy store, where every other write would wait as
 * long; anything else may be this task's alone (a full disk can refuse
 * one change and take the next), and must not keep the tasks after it
 * from being polled, round after round. */
static bool task_failed(struct zh_flow *f, int *first, struct zh_error *err,
			int rc, const struct zh_error *e)
{
	if (*first == 0) {
		*first = rc;
		if (err)
			*err = *e;
	} else {
		logf_(f, "%s", e->msg);
	}
	return rc == ZH_EBUSY;
}

/* A commit of a round, with whether its lookup ran and what it said. */
struct looked {
	const struct zh_store_task *task; /* the first of ours of it */
	const char *project; /* the first project its tasks name, or NULL */
	bool done;
	bool listed; /* l is the lookup's answer */
	struct zh_zadig_task_list l;
};

static int looked_cmp(const void *a, const void *b)
{
	const struct zh_store_task *x = ((const struct looked *)a)->task;
	const struct zh_store_task *y = ((const struct looked *)b)->task;
	int c = strcmp(x->repo ? x->repo : "", y->repo ? y->repo : "");

	return c ? c : strcmp(x->commit, y->commit);
}

/* "1h05m", "2m30s", "20s": how long, for a log line. */
static void say_duration(char *buf, size_t size, int64_t ms)
{
	int64_t s = ms / 1000;

	if (s >= 3600)
		snprintf(buf, size, "%" PRId64 "h%02dm", s / 3600,
			 (int)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, size, "%" PRId64 "m%02ds", s / 60, (int)(s % 60));
	else
		snprintf(buf, size, "%" PRId64 "s", s);
}

/* Mark the tasks not final poll.give_up_after after they were recorded
 * as unknown, one log line each: the operator learns which task the
 * notes stopped following, and that Zadig may still run it. */
static void give_up(struct zh_flow *f, int *first, struct zh_error *err)
{
	struct zh_store_task_list l = {0};
	struct zh_error e = {0};
	int64_t now = zh_store_now_ms();
	char took[32];
	size_t i;
	int rc;

	if ((rc = zh_store_tasks_give_up(
		 &l, f->store, now, f->cfg->poll.give_up_after_ms, &e)) < 0) {
		(void)task_failed(f, first, err, rc, &e);
		return;
	}
	for (i = 0; i < l.len; i++) {
		const struct zh_store_task *t = &l.items[i];

		say_duration(took, sizeof(took), now - t->created_ms);
		logf_(f,
		      "gave up on %s #%" PRId64 " of %s %s %.12s: not final "
		      "%s after it was recorded (poll.give_up_after); noted "
		      "unknown ('git zadig sync --all' asks Zadig again)",
		      t->workflow, t->task_id, t->repo ? t->repo : "-",
		      t->ref ? t->ref : "-", t->commit ? t->commit : "-", took);
	}
	zh_store_task_list_dispose(&l);
}

/* The commits of l that have a task of ours (one with a rule), each
 * once, sorted for bsearch; *out NULL when there is none. */
static int commits_of(struct looked **out, size_t *n,
		      const struct zh_store_task_list *l)
{
	struct looked *v;
	size_t i, j;

	*out = NULL;
	*n = 0;
	if (!l->len)
		return 0;
	if (!(v = calloc(l->len, sizeof(*v))))
		return ZH_ENOMEM;
	for (i = j = 0; i < l->len; i++)
		if (l->items[i].commit && l->items[i].rule)
			v[j++].task = &l->items[i];
	if (j)
		qsort(v, j, sizeof(*v), looked_cmp);
	for (i = *n = 0; i < j; i++) {
		const char *p = v[i].task->project;

		if (!*n || looked_cmp(&v[*n - 1], &v[i]) != 0)
			v[(*n)++] = v[i];
		if (!v[*n - 1].project && p && *p)
			v[*n - 1].project = p;
	}
	*out = v;
	return 0;
}

int zh_flow_poll(int *n, struct zh_flow *f, enum zh_store_task_scope scope,
		 struct zh_error *err)
{
	struct zh_store_task_list l = {0};
	struct looked *commits = NULL;
	int64_t now = zh_store_now_ms();
	int count = 0, first = 0, rc;
	size_t i, ncommits = 0;

	f->lookup_failed = false;
	if ((rc = zh_store_tasks_due(&l, f->store, scope, now, err)) < 0)
		return rc;
	if (commits_of(&commits, &ncommits, &l) < 0) {
		zh_store_task_list_dispose(&l);
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	}
	for (i = 0; i < l.len; i++) {
		const struct zh_store_task *k = &l.items[i];
		struct looked key = {.task = k}, *c = NULL;
		struct zh_error e = {0};

		if (f->deadline_ms > 0 && zh_store_now_ms() >= f->deadline_ms)
			break;
		if (given_away(k))
			continue;
		/* once per commit of ours: the lookup finds others' tasks */
		if (k->commit && ncommits)
			c = bsearch(&key, commits, ncommits, sizeof(*commits),
				    looked_cmp);
		if (c && !c->done) {
			c->done = true;
			rc = discover(f, c->task->repo, c->task->ref, k->commit,
				      c->project, &c->l, &e);
			c->listed = rc == 1;
			if (rc < 0 && task_failed(f, &first, err, rc, &e))
				break;
		}
		if ((rc = poll_task(f, k, c && c->listed ? &c->l : NULL,
				    c ? c->project : NULL, &e)) < 0) {
			if (task_failed(f, &first, err, rc, &e))
				break;
			continue;
		}
		count++;
	}
	for (i = 0; i < ncommits; i++)
		zh_zadig_task_list_dispose(&commits[i].l);
	free(commits);
	zh_store_task_list_dispose(&l);
	if (first != ZH_EBUSY)
		give_up(f, &first, err);
	if (n)
		*n = count;
	return first;
}

/* The first project the tasks of commit in l name, or NULL. */
static const char *project_of(const struct zh_store_task_list *l)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		if (l->items[i].project && *l->items[i].project)
			return l->items[i].project;
	return NULL;
}

int zh_flow_refresh_commit(struct zh_flow *f, const char *repo,
			   const char *commit, struct zh_error *err)
{
	struct zh_store_task_list l = {0};
	struct zh_zadig_task_list known = {0};
	char *project = NULL;
	bool listed;
	size_t i;
	int rc;

	/* the lookup names the project the known tasks name; then all the
	 * tasks, those it found too, are asked about */
	f->lookup_failed = false;
	if ((rc = zh_store_tasks_of_commit(&l, f->store, repo, commit, err)) <
	    0)
		return rc;
	if (project_of(&l) && !(project = strdup(project_of(&l)))) {
		zh_store_task_list_dispose(&l);
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	}
	rc = discover(f, repo, NULL, commit, project, &known, err);
	zh_store_task_list_dispose(&l);
	memset(&l, 0, sizeof(l));
	if (rc < 0) {
		free(project);
		return rc;
	}
	listed = rc == 1;
	if ((rc = zh_store_tasks_of_commit(&l, f->store, repo, commit, err)) ==
	    0)
		for (i = 0; i < l.len && rc == 0; i++)
			if (!given_away(&l.items[i]))
				rc = poll_task(f, &l.items[i],
					       listed ? &known : NULL, project,
					       err);
	zh_store_task_list_dispose(&l);
	zh_zadig_task_list_dispose(&known);
	free(project);
	return rc;
}
