/* git-zadig's verbs that talk to Zadig or use the state store (design.md
 * §7): show, retry, cancel, approve, trigger, explain, sync and status
 * --live. Only the full program, <libexecdir>/zadig-hook/git-zadig-full,
 * links them (with libcurl and SQLite). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "flow/deliver.h"
#include "flow/flow.h"
#include "flow/report.h"
#include "gitrepo/gitrepo.h"
#include "gitrepo/notes.h"
#include "hook/spawn.h"
#include "hook/spool.h"
#include "mapping/mapping.h"
#include "store/store.h"
#include "zadig/zadig.h"

#include "util/banned.h"

#define fail_usage(err, ...) zh_error_set(err, ZH_EUSAGE, __VA_ARGS__)

static int with_client(struct zh_config **cfg, struct zh_zadig **z,
		       const struct zh_cli_opts *o, struct zh_error *err)
{
	struct zh_repo *r = zh_cli_open_repo_quiet();
	int rc = zh_cli_load_config(cfg, o, r, err);

	zh_repo_free(r);
	if (rc < 0)
		return rc;
	return zh_flow_zadig_new(z, *cfg, err);
}

static int parse_task_id(int64_t *out, const char *s, struct zh_error *err)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v <= 0)
		return fail_usage(err, "invalid task id '%s'", s);
	*out = v;
	return 0;
}

/* The project of workflow wf (custom or product) as the rules name it:
 * that of the rule called rule_name when it runs wf, else that of the
 * first rule running wf that names one; NULL when none does. */
static const char *rule_project(const struct zh_config *cfg,
				const char *rule_name, const char *wf,
				bool custom)
{
	const char *found = NULL;
	size_t i;

	for (i = 0; i < cfg->nrules; i++) {
		const struct zh_rule *rule = &cfg->rules[i];
		const char *name =
		    custom ? rule->custom_workflow.name : rule->workflow.name;
		const char *project = custom ? rule->custom_workflow.project
					     : rule->workflow.project;

		if (rule->custom != custom || !name || !project ||
		    strcmp(name, wf) != 0)
			continue;
		if (rule_name && rule->name &&
		    strcmp(rule->name, rule_name) == 0)
			return project;
		if (!found)
			found = project;
	}
	return found;
}

/* The project to name for a product workflow: --project, else the
 * project of a rule that uses this workflow. */
static const char *project_for(const struct zh_cli_opts *o,
			       const struct zh_config *cfg, const char *wf)
{
	return o->project ? o->project : rule_project(cfg, NULL, wf, false);
}

/* ---- verbs ---- */

/* What a task verb (show, retry, cancel, approve) works with. */
struct task_verb {
	const struct zh_cli_opts *o;
	const struct zh_config *cfg;
	struct zh_zadig *z;
	const char *workflow;
	const char *project; /* product workflows: ?projectName= */
	int64_t id;
};

/* Parse <workflow> <task-id>, make the client, run act, clean up. */
static int run_task_verb(const struct zh_cli_opts *o,
			 int (*act)(struct task_verb *t, struct zh_error *err),
			 struct zh_error *err)
{
	struct task_verb t = {.o = o, .workflow = o->args[0]};
	struct zh_config *cfg = NULL;
	int rc;

	if (!*t.workflow)
		return fail_usage(err, "no workflow name given");
	if ((rc = parse_task_id(&t.id, o->args[1], err)) < 0)
		return rc;
	if ((rc = with_client(&cfg, &t.z, o, err)) == 0) {
		t.cfg = cfg;
		t.project = project_for(o, cfg, t.workflow);
		rc = act(&t, err);
	}
	zh_zadig_free(t.z);
	zh_config_free(cfg);
	return rc;
}

static int show(struct task_verb *t, struct zh_error *err)
{
	struct zh_zadig_task task = {0};
	int rc;

	if (t->o->custom)
		rc = zh_zadig_custom_detail(&task, t->z, t->workflow, t->id,
					    err);
	else
		rc = zh_zadig_product_detail(&task, t->z, t->workflow, t->id,
					     t->project, err);
	if (rc == 0 && t->o->json) {
		printf("%s\n", task.raw_json ? task.raw_json : "{}");
	} else if (rc == 0) {
		zh_zadig_task_clean(&task);
		zh_cli_print_task(stdout, &task);
	}
	zh_zadig_task_dispose(&task);
	return rc;
}

static void follow_action(const struct task_verb *t, bool custom,
			  const char *status);

static bool restartable(const char *status)
{
	return !strcmp(status, "failed") || !strcmp(status, "timeout") ||
	       !strcmp(status, "cancelled");
}

static bool cancellable(const char *status)
{
	return !zh_zadig_status_is_final(status);
}

/* Zadig refuses a product task's restart or cancel with nothing but
 * resultCode 500 "fail": err (Zadig's answer, rc) gets why, from the
 * task's status (the seed: only a failed, timed-out or cancelled task is
 * restarted; a task that has ended is not cancelled), or what reading
 * the task answered. Other failures (no answer, a refused token) are
 * left as they are. */
static int say_why(struct task_verb *t, int rc, const char *verb,
		   bool (*can)(const char *status), const char *rule,
		   struct zh_error *err)
{
	struct zh_zadig_task task = {0};
	struct zh_error e = {0};
	char zadig[sizeof(err->msg)];

	if (rc != ZH_EZADIG || !err->zadig_code)
		return rc;
	snprintf(zadig, sizeof(zadig), "%s", err->msg);
	if (zh_zadig_product_detail(&task, t->z, t->workflow, t->id, t->project,
				    &e) < 0) {
		zh_error_set(err, rc,
			     "cannot %s %s #%" PRId64 ": %s (and reading the "
			     "task: %s)",
			     verb, t->workflow, t->id, zadig, e.msg);
	} else if (task.status && *task.status && !can(task.status)) {
		zh_zadig_task_clean(&task);
		zh_error_set(
		    err, rc, "cannot %s %s #%" PRId64 ": it is %s, and %s (%s)",
		    verb, t->workflow, t->id, task.status, rule, zadig);
	}
	zh_zadig_task_dispose(&task);
	return rc;
}

static int retry(struct task_verb *t, struct zh_error *err)
{
	int rc =
	    zh_zadig_product_restart(t->z, t->workflow, t->id, t->project, err);

	rc = say_why(t, rc, "retry", restartable,
		     "only a failed, timed-out or cancelled task can be "
		     "retried",
		     err);
	if (rc == 0) {
		printf("restarted %s #%" PRId64 "\n", t->workflow, t->id);
		/* Zadig runs it again from 'created' */
		follow_action(t, false, "created");
	}
	return rc;
}

static int cancel(struct task_verb *t, struct zh_error *err)
{
	int rc;

	if (t->o->custom)
		rc = zh_zadig_custom_cancel(t->z, t->workflow, t->id, err);
	else
		rc = say_why(t,
			     zh_zadig_product_cancel(t->z, t->workflow, t->id,
						     t->project, err),
			     "cancel", cancellable,
			     "a task that has ended cannot be cancelled", err);
	if (rc == 0) {
		printf("cancelled %s #%" PRId64 "\n", t->workflow, t->id);
		follow_action(t, t->o->custom, NULL);
	}
	return rc;
}

static int approve(struct task_verb *t, struct zh_error *err)
{
	const struct zh_cli_opts *o = t->o;
	int rc = zh_zadig_custom_approve(t->z, t->workflow, t->id, o->args[2],
					 !o->reject,
					 o->comment ? o->comment : "", err);

	if (rc == 0) {
		printf("%s stage '%s' of %s #%" PRId64 "\n",
		       o->reject ? "rejected" : "approved", o->args[2],
		       t->workflow, t->id);
		follow_action(t, true, NULL);
	}
	return rc;
}

static int cmd_show(struct zh_cli_opts *o, struct zh_error *err)
{
	return run_task_verb(o, show, err);
}

static int cmd_retry(struct zh_cli_opts *o, struct zh_error *err)
{
	return run_task_verb(o, retry, err);
}

static int cmd_cancel(struct zh_cli_opts *o, struct zh_error *err)
{
	return run_task_verb(o, cancel, err);
}

static int cmd_approve(struct zh_cli_opts *o, struct zh_error *err)
{
	if (!*o->args[2])
		return fail_usage(err, "no stage name given for the approval");
	return run_task_verb(o, approve, err);
}

/* Read rev as a push of ref from its first parent (trigger, explain).
 * keep (may be NULL) gets the repository, which the caller then frees. */
/* Whether commit hex is in r (a shallow clone lacks its boundary's
 * parents). */
static bool have_commit(struct zh_repo *r, const char *hex)
{
	struct zh_commit_info c = {0};
	struct zh_error e = {0};
	int rc = zh_repo_commit(&c, r, hex, &e);

	zh_commit_info_dispose(&c);
	return rc != ZH_ENOTFOUND;
}

static int read_event(struct zh_flow_event *fe, struct zh_config **cfg,
		      struct zh_repo **keep, const struct zh_cli_opts *o,
		      struct zh_error *err)
{
	char hex[72], old[72], *ref = NULL;
	struct zh_commit_info tip = {0};
	struct zh_repo *r = NULL;
	bool shallow;
	int rc;

	if ((rc = zh_repo_open(&r, ".", true, err)) < 0)
		return rc;
	if ((rc = zh_cli_load_config(cfg, o, r, err)) < 0)
		goto out;
	if ((rc = zh_repo_resolve(hex, sizeof(hex), r,
				  o->args[0] ? o->args[0] : "HEAD", err)) < 0)
		goto out;
	if (o->ref && strncmp(o->ref, "refs/", 5) == 0) {
		ref = strdup(o->ref);
	} else if (o->ref) {
		size_t n = strlen(o->ref) + sizeof("refs/heads/");

		if ((ref = malloc(n)))
			snprintf(ref, n, "refs/heads/%s", o->ref);
	} else if ((rc = zh_repo_current_branch(&ref, r, err)) < 0) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		/* no branch to go by: the command line must say (exit 2) */
		rc = zh_error_set(err, rc == ZH_ENOTFOUND ? ZH_EUSAGE : rc,
				  "%.400s; name the ref with --ref", why);
		goto out;
	}
	if (!ref) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = zh_repo_commit(&tip, r, hex, err)) < 0)
		goto out;
	shallow = false;
	if (o->before) {
		/* the push as the hook saw it: old -> new, or a new ref (its
		 * paths from the merge base with HEAD's branch) */
		if (zh_oid_is_zero(o->before))
			snprintf(old, sizeof(old), "%040d", 0);
		else if ((rc = zh_repo_resolve(old, sizeof(old), r, o->before,
					       err)) < 0)
			goto out;
		rc = zh_flow_event_read(fe, r, (*cfg)->hook.repo_root, ref, old,
					hex, false, err);
	} else {
		/* a shallow clone's boundary: the parent is not here, so, as
		 * for a root commit, every path counts (${BEFORE} still
		 * names it) */
		shallow =
		    tip.first_parent[0] && !have_commit(r, tip.first_parent);
		rc = zh_flow_event_read(fe, r, (*cfg)->hook.repo_root, ref,
					shallow ? "" : tip.first_parent, hex,
					true, err);
	}
	if (rc == 0 && shallow)
		snprintf(fe->before, sizeof(fe->before), "%s",
			 tip.first_parent);
	if (rc == 0 && o->repo) {
		char *name = strdup(o->repo);

		if (!name) {
			zh_flow_event_dispose(fe);
			rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
		free(fe->repo_name);
		fe->repo_name = name;
		fe->ev.repo = name;
	}
	if (rc == 0 && keep) {
		*keep = r;
		r = NULL;
	}
out:
	zh_commit_info_dispose(&tip);
	free(ref);
	zh_repo_free(r);
	return rc;
}

static char *random_id(void *ctx, const struct zh_rule *rule,
		       const struct zh_event *ev)
{
	unsigned char raw[12];
	char *hex = malloc(sizeof(raw) * 2 + 1);
	size_t i, got = 0;
	int fd;

	(void)ctx;
	(void)rule;
	(void)ev;
	if (!hex)
		return NULL;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, raw, sizeof(raw));

		got = n > 0 ? (size_t)n : 0;
		close(fd);
	}
	if (got != sizeof(raw)) {
		free(hex);
		return NULL;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	return hex;
}

static void short_id(char *dst, const char *id)
{
	snprintf(dst, 9, "%.8s", id);
}

static int cmd_explain(struct zh_cli_opts *o, struct zh_error *err)
{
	struct zh_verdict_list vl = {0};
	struct zh_flow_event fe;
	struct zh_config *cfg = NULL;
	char sid[9];
	size_t i, w = 4;
	int rc;

	memset(&fe, 0, sizeof(fe));
	if ((rc = read_event(&fe, &cfg, NULL, o, err)) < 0)
		goto out;
	fe.ev.callback_base = cfg->webhook.public_url;
	if ((rc = zh_mapping_explain(&vl, cfg, &fe.ev, err)) < 0)
		goto out;
	short_id(sid, fe.after);
	printf("%s at %s in %s: %zu changed path%s%s\n", fe.ref, sid,
	       fe.repo_name, fe.paths.len, fe.paths.len == 1 ? "" : "s",
	       fe.paths.all ? " (no base: every path counts)" : "");
	for (i = 0; i < vl.len; i++)
		if (strlen(vl.items[i].rule->name) > w)
			w = strlen(vl.items[i].rule->name);
	if (vl.len == 0)
		printf("  no rules in '%s'\n", cfg->path);
	for (i = 0; i < vl.len; i++) {
		const struct zh_rule_verdict *v = &vl.items[i];
		const struct zh_rule *rule = v->rule;

		if (v->verdict == ZH_FIRE)
			printf("  %-*s fires: %s %s\n", (int)w, rule->name,
			       rule->custom ? "custom workflow" : "workflow",
			       rule->custom ? rule->custom_workflow.name
					    : rule->workflow.name);
		else
			printf("  %-*s skip:  %s\n", (int)w, rule->name,
			       v->reason);
	}
out:
	free(vl.items);
	zh_flow_event_dispose(&fe);
	zh_config_free(cfg);
	return rc;
}

/* The fields of note line l that a task's extra holds ("duration=36s
 * tests=24/24"): all but kind and rule, which the store has apart, and
 * those whose value a space would split. */
static void note_extra(char *buf, size_t size, const struct zh_note_line *l)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < l->nfields && len < size; i++) {
		const struct zh_note_field *fl = &l->fields[i];

		if (strcmp(fl->key, "kind") == 0 ||
		    strcmp(fl->key, "rule") == 0 || strchr(fl->value, ' ') ||
		    !*fl->value)
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s%s=%s",
					len ? " " : "", fl->key, fl->value);
	}
	if (len >= size)
		buf[0] = '\0'; /* cut: better none than half of one */
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
			struct zh_store_task t, known;
			const char *kind = zh_note_line_get(&l, "kind");
			char extra[256];

			memset(&t, 0, sizeof(t));
			note_extra(extra, sizeof(extra), &l);
			/* as the note says, until Zadig says otherwise: the
			 * notes written after the refresh keep it when Zadig
			 * does not answer */
			t.status = l.status;
			t.extra = extra[0] ? extra : NULL;
			t.final = zh_zadig_status_is_final(l.status);
			t.workflow = l.workflow;
			t.custom = kind && strcmp(kind, "custom") == 0;
			t.task_id = l.task_id;
			t.repo = (char *)repo;
			t.commit = (char *)commit;
			t.rule = (char *)zh_note_line_get(&l, "rule");
			/* as the task was started (Zadig wants it from users
			 * who are not admins, and for every custom task) */
			t.project = (char *)rule_project(cfg, t.rule,
							 t.workflow, t.custom);
			t.url = strcmp(l.url, "-") ? l.url : NULL;
			t.poll_interval_ms = cfg->poll.interval_ms;
			if (zh_store_task_find(&known, s, l.workflow, t.custom,
					       l.task_id, NULL) == 0)
				zh_store_task_dispose(&known);
			else
				rc =
				    zh_store_task_upsert(NULL, s, &t, now, err);
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
	int untried; /* triggers still queued that the sync did not try */
};

/* What the flow says (a trigger created or still queued, a task Zadig
 * did not answer for, the token refused), for the person at the
 * terminal. */
static void session_log(void *ctx, const char *line)
{
	struct zh_buf b;

	(void)ctx;
	/* names, refs and Zadig's text: shown, never obeyed, and a newline
	 * in one cannot forge the next line */
	zh_buf_init(&b, 64 * 1024);
	if (zh_buf_display(&b, line, strlen(line)) == 0)
		fprintf(stderr, "git-zadig: %s\n", zh_buf_cstr(&b));
	zh_buf_dispose(&b);
}

/* Zadig's part of a sync or refresh, when it was not all done: the
 * error the verb ends with (exit 1), after what it printed. */
static int session_fail(const struct session *ss, struct zh_error *err)
{
	const struct zh_flow_tally *t = &ss->flow.tally;
	char what[256];
	int len = 0;

	if (t->queued + ss->untried)
		len += snprintf(what + len, sizeof(what) - (size_t)len,
				"%d trigger%s still queued",
				t->queued + ss->untried,
				t->queued + ss->untried == 1 ? "" : "s");
	if (t->rejected)
		len += snprintf(what + len, sizeof(what) - (size_t)len,
				"%s%d trigger%s rejected", len ? ", " : "",
				t->rejected, t->rejected == 1 ? "" : "s");
	if (t->unpolled)
		len += snprintf(what + len, sizeof(what) - (size_t)len,
				"%s%d request%s for status unanswered",
				len ? ", " : "", t->unpolled,
				t->unpolled == 1 ? "" : "s");
	if (!len)
		return 0;
	return zh_error_set(err, ZH_EZADIG, "%s (see above)", what);
}

/* name: the repository's (--repo), else as the hook names it. */
static int session_open(struct session *ss, struct zh_repo *r,
			const struct zh_config *cfg, const char *name,
			struct zh_error *err)
{
	int rc;

	memset(ss, 0, sizeof(*ss));
	if (name && !(ss->name = strdup(name)))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	if (!name &&
	    (rc = zh_repo_name(&ss->name, r, cfg->hook.repo_root, err)) < 0)
		return rc;
	if (!(ss->state = zh_flow_state_dir(cfg, r)))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	if ((rc = zh_store_open_shared(&ss->store, ss->state,
				       zh_flow_state_shared(cfg, r), err)) < 0)
		return rc;
	ss->flow.cfg = cfg;
	ss->flow.store = ss->store;
	ss->flow.repo = r;
	ss->flow.repo_name = ss->name;
	ss->flow.log = session_log;
	return 0;
}

static void session_close(struct session *ss)
{
	zh_flow_dispose(&ss->flow);
	zh_store_free(ss->store);
	free(ss->state);
	free(ss->name);
}

extern char **environ;

#ifndef ZH_CLI_BIN_REL
#define ZH_CLI_BIN_REL "../../bin"
#endif

/* zadig-hook: beside us (the build tree), else at ZH_CLI_BIN_REL from
 * our libexec directory (installed). */
static void hook_program(char *exe, size_t size, const char *dir)
{
	snprintf(exe, size, "%s/zadig-hook", dir);
	if (access(exe, X_OK) != 0)
		snprintf(exe, size, "%s/" ZH_CLI_BIN_REL "/zadig-hook", dir);
}

/* Pushes an async hook spooled and no poller took (it was killed, or
 * could not start): `zadig-hook poll --spool` records their triggers for
 * this sync to deliver. A running poller holds the lock and takes them
 * itself. */
static void take_spool(const struct session *ss, struct zh_repo *r,
		       const char *config)
{
	char dir[PATH_MAX], exe[PATH_MAX + 64];
	char *argv[9];
	pid_t pid;
	int st, rc, i = 0;

	if (!zh_spool_pending(ss->state) ||
	    zh_hook_self_dir(dir, sizeof(dir)) < 0)
		return;
	hook_program(exe, sizeof(exe), dir);
	argv[i++] = exe;
	argv[i++] = "poll";
	argv[i++] = "--spool";
	argv[i++] = "--git-dir";
	argv[i++] = (char *)zh_repo_git_dir(r);
	if (config) {
		argv[i++] = "--config";
		argv[i++] = (char *)config;
	}
	argv[i] = NULL;
	/* posix_spawn returns the error; errno is not set */
	if ((rc = posix_spawn(&pid, exe, NULL, NULL, argv, environ)) != 0) {
		fprintf(stderr,
			"git-zadig: warning: cannot run %s: %s; pushes spooled "
			"by async hooks wait for the poller\n",
			exe, strerror(rc));
		return;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (zh_spool_pending(ss->state))
		fprintf(stderr,
			"git-zadig: pushes spooled by async hooks "
			"wait for the running poller (see %s/poller.log)\n",
			ss->state);
}

/* The workflow a trigger runs, as the rule names it. */
static const char *trigger_workflow(const struct zh_trigger *t)
{
	return t->custom ? t->custom_req.workflow_name
			 : t->product.workflow_name;
}

/* Send t; *c (dispose it) is what Zadig created. */
static int send_trigger(struct zh_zadig_created *c, struct zh_zadig *z,
			const struct zh_trigger *t, struct zh_error *err)
{
	int rc;

	if (t->custom)
		rc = zh_zadig_custom_create(c, z, &t->custom_req, err);
	else
		rc = zh_zadig_product_create(c, z, &t->product, err);
	/* the workflow as the rule names it, as the hook says it and the
	 * note has it: not Zadig's echo of it, which goes to a terminal
	 * uncleaned */
	if (rc == 0)
		printf("%s: %s #%" PRId64 " created %s\n", t->rule->name,
		       trigger_workflow(t), c->task_id, c->url ? c->url : "");
	return rc;
}

/* The tasks `git zadig trigger` creates go in the store of the
 * repository, as the hook's do, with no trigger (an explicit request is
 * never deduplicated): its note gets their lines, and the poller and
 * `git zadig sync` follow them to their end (design.md §1.5). */
struct follow {
	struct session ss;
	struct zh_repo *r;
	bool open;	 /* ss is usable */
	size_t recorded; /* tasks recorded */
};

static void follow_open(struct follow *fw, struct zh_repo *r,
			const struct zh_config *cfg, const char *name)
{
	struct zh_error e = {0};

	fw->r = r;
	if (session_open(&fw->ss, r, cfg, name, &e) < 0)
		fprintf(stderr,
			"git-zadig: warning: the tasks created are not "
			"recorded, so neither noted nor followed: %s\n",
			e.msg);
	else
		fw->open = true;
}

static void follow_task(struct follow *fw, const struct zh_flow_event *fe,
			const struct zh_trigger *t,
			const struct zh_zadig_created *c)
{
	struct zh_store_task task;
	struct zh_error e = {0};
	int64_t now = zh_store_now_ms(), poll;

	if (!fw->open)
		return;
	poll = fw->ss.flow.cfg->poll.interval_ms;
	memset(&task, 0, sizeof(task));
	task.workflow = (char *)trigger_workflow(t);
	task.custom = t->custom;
	task.task_id = c->task_id;
	task.project =
	    (char *)(t->custom ? t->custom_req.project : t->product.project);
	task.repo = fe->repo_name;
	task.ref = (char *)t->ref;
	task.commit = (char *)t->commit;
	task.rule = (char *)t->rule->name;
	task.url = c->url;
	task.next_poll_ms = now + poll;
	task.poll_interval_ms = poll;
	/* a row of this id for another commit is an older task: Zadig's
	 * ids started again */
	if (zh_store_task_created(NULL, fw->ss.store, &task, now, &e) < 0)
		fprintf(stderr,
			"git-zadig: warning: %s: %s #%" PRId64
			" is not recorded, so neither noted nor followed: %s\n",
			t->rule->name, task.workflow, c->task_id, e.msg);
	else
		fw->recorded++;
}

/* With hook.poll, start the poller of the store in state as the hook
 * does: it follows the tasks to their end and retries what is queued (one
 * per store: a running one takes them in its next round). */
static void start_poller(const struct zh_config *cfg, struct zh_repo *r,
			 const char *state)
{
	char dir[PATH_MAX], exe[PATH_MAX + 64];

	if (!cfg->hook.poll || zh_hook_self_dir(dir, sizeof(dir)) < 0)
		return;
	hook_program(exe, sizeof(exe), dir);
	zh_hook_spawn_detached(exe, NULL, zh_repo_git_dir(r), cfg->path, state,
			       zh_flow_state_shared(cfg, r), 0);
}

/* After Zadig took action on a task (restart, cancel, approve): when the
 * store of the repository around us follows that task, poll it again now
 * (status, when given, is what Zadig made it), write its note and, with
 * hook.poll, start the poller, so that the note follows the task to its
 * new end: a restarted task was final, and neither the poller nor
 * `git zadig sync` polled it again. A repository without a store gets
 * none; what fails here is said and leaves the verb's result alone. */
static void follow_action(const struct task_verb *t, bool custom,
			  const char *status)
{
	const struct zh_config *cfg = t->cfg;
	struct zh_repo *r = zh_cli_open_repo_quiet();
	struct zh_error e = {0};
	struct session ss;
	char *state = NULL, db[PATH_MAX];
	int rc;

	memset(&ss, 0, sizeof(ss));
	if (!r || !(state = zh_flow_state_dir(cfg, r)))
		goto out;
	snprintf(db, sizeof(db), "%s/state.db", state);
	if (access(db, F_OK) != 0)
		goto out;
	if ((rc = session_open(&ss, r, cfg, NULL, &e)) == 0)
		rc = zh_store_task_repoll(ss.store, t->workflow, custom, t->id,
					  status, cfg->poll.interval_ms,
					  zh_store_now_ms(), &e);
	if (rc == ZH_ENOTFOUND)
		goto out;
	if (rc == 0 && (rc = zh_flow_write_notes(NULL, &ss.flow, &e)) == 0) {
		start_poller(cfg, r, ss.state);
		goto out;
	}
	fprintf(stderr,
		"git-zadig: warning: %s #%" PRId64 " is not followed yet (%s): "
		"'git zadig sync --all' polls it\n",
		t->workflow, t->id, e.msg);
out:
	session_close(&ss);
	free(state);
	zh_repo_free(r);
}

/* Note what was recorded and, with hook.poll, start the poller as the
 * hook does (one per store: a running one takes the tasks in its next
 * round). Then free what follow_open took, the repository too. */
static void follow_close(struct follow *fw, const struct zh_config *cfg)
{
	struct zh_error e = {0};

	if (fw->open && fw->recorded) {
		if (zh_flow_write_notes(NULL, &fw->ss.flow, &e) < 0)
			fprintf(stderr,
				"git-zadig: warning: the notes are not written "
				"yet (%s): the poller or 'git zadig sync' "
				"writes them\n",
				e.msg);
		start_poller(cfg, fw->r, fw->ss.state);
	}
	session_close(&fw->ss);
	zh_repo_free(fw->r);
}

static int print_request(const struct zh_trigger *t, struct zh_error *err)
{
	struct zh_zadig_request req = {0};
	int rc;

	if (t->custom)
		rc = zh_zadig_render_custom_create(&req, &t->custom_req, err);
	else
		rc = zh_zadig_render_product_create(&req, &t->product, err);
	if (rc == 0)
		printf("# rule %s\n%s %s\n%s\n", t->rule->name, req.method,
		       req.path, req.body ? req.body : "");
	zh_zadig_request_dispose(&req);
	return rc;
}

static int cmd_trigger(struct zh_cli_opts *o, struct zh_error *err)
{
	struct zh_trigger_list tl = {0};
	struct zh_flow_event fe;
	struct zh_config *cfg = NULL;
	struct zh_zadig *z = NULL;
	struct zh_repo *r = NULL;
	struct follow fw;
	size_t i, sending = 0;
	int rc, failed = 0;

	memset(&fe, 0, sizeof(fe));
	memset(&fw, 0, sizeof(fw));
	if ((rc = read_event(&fe, &cfg, &r, o, err)) < 0)
		goto out;
	if (o->rule && !zh_config_rule(cfg, o->rule)) {
		rc = fail_usage(err, "no rule named '%s'", o->rule);
		goto out;
	}
	fe.ev.callback_base = cfg->webhook.public_url;
	fe.ev.callback_secret = cfg->webhook.secret;
	if ((rc = zh_mapping_match(&tl, cfg, &fe.ev, random_id, NULL, err)) < 0)
		goto out;
	if (!o->dry_run && (rc = zh_flow_zadig_new(&z, cfg, err)) < 0)
		goto out;
	for (i = 0; i < tl.len; i++)
		if (!o->rule || strcmp(tl.items[i].rule->name, o->rule) == 0)
			sending++;
	for (i = 0; i < tl.len; i++) {
		const struct zh_trigger *t = &tl.items[i];
		struct zh_zadig_created c = {0};
		struct zh_error e = {0};

		if (o->rule && strcmp(t->rule->name, o->rule) != 0)
			continue;
		if (o->dry_run) {
			rc = print_request(t, &e);
		} else {
			if (r) {
				follow_open(&fw, r, cfg, fe.repo_name);
				r = NULL;
			}
			if ((rc = send_trigger(&c, z, t, &e)) == 0)
				follow_task(&fw, &fe, t, &c);
			zh_zadig_created_dispose(&c);
		}
		if (rc < 0 && !failed) {
			*err = e;
			/* one request: main prints its error, once */
			zh_error_set(err, e.code, "%s: %s", t->rule->name,
				     e.msg);
		}
		if (rc < 0 && sending > 1)
			fprintf(stderr, "%s: error: %s: %s\n", ZH_CLI_PROG,
				t->rule->name, e.msg);
		if (rc < 0)
			failed = 1;
	}
	rc = failed ? err->code : 0;
	if (sending == 0)
		printf("no rule fires for %s (see: git zadig explain)\n",
		       fe.ref);
	if (failed && sending > 1)
		zh_error_set(err, err->code, "some triggers failed");
out:
	if (cfg)
		follow_close(&fw, cfg);
	zh_repo_free(r);
	zh_trigger_list_dispose(&tl);
	zh_zadig_free(z);
	zh_flow_event_dispose(&fe);
	zh_config_free(cfg);
	return rc;
}

/* The triggers still queued that this sync did not try (none changed
 * since start): said, one line each, and counted in ss->untried. Most
 * often one another process is sending (a poller, a hook): its result
 * is not known yet. */
static void say_untried(struct session *ss, int64_t start)
{
	struct zh_store_trigger_list l = {0};
	struct zh_error e = {0};
	int64_t now = zh_store_now_ms();
	char line[1024];
	size_t i;

	if (zh_store_triggers_pending(&l, ss->store, &e) < 0) {
		fprintf(stderr, "git-zadig: warning: %s\n", e.msg);
		return;
	}
	for (i = 0; i < l.len; i++) {
		const struct zh_store_trigger *t = &l.items[i];
		bool sending = t->state == ZH_STORE_SENDING;
		int64_t at = sending ? t->lease_until_ms : t->next_try_ms;

		/* what this sync tried changed since it started (a clock
		 * set back meanwhile aside) */
		if (t->updated_ms >= start && t->updated_ms <= now)
			continue;
		ss->untried++;
		snprintf(line, sizeof(line),
			 "%s/%s: still queued, not tried: %s (%s %" PRId64 "s)",
			 t->repo, t->rule,
			 sending ? "another process is sending it"
				 : "not due yet",
			 sending ? "its claim ends in" : "its next try is in",
			 at > now ? (at - now + 999) / 1000 : 0);
		session_log(NULL, line);
	}
	zh_store_trigger_list_dispose(&l);
}

static int sync_repo(struct zh_repo *r, const struct zh_config *cfg,
		     const struct zh_cli_opts *o, struct zh_error *err)
{
	struct session ss;
	const struct zh_flow_tally *t = &ss.flow.tally;
	int64_t start = zh_store_now_ms();
	size_t notes = 0;
	int rc;

	if ((rc = session_open(&ss, r, cfg, NULL, err)) < 0)
		goto out;
	take_spool(&ss, r, o->config);
	if ((rc = zh_flow_deliver_due(NULL, &ss.flow, true, err)) < 0 ||
	    (rc = zh_flow_poll(
		 NULL, &ss.flow,
		 o->all ? ZH_STORE_TASKS_ALL : ZH_STORE_TASKS_PENDING, err)) <
		0 ||
	    (rc = zh_flow_write_notes(&notes, &ss.flow, err)) < 0)
		goto out;
	say_untried(&ss, start);
	printf("delivered %d trigger%s, polled %d task%s, updated %zu "
	       "note%s\n",
	       t->created, t->created == 1 ? "" : "s", t->polled,
	       t->polled == 1 ? "" : "s", notes, notes == 1 ? "" : "s");
	fflush(stdout);
	/* what it delivered or found running, or left queued, is followed
	 * from here on, as after a push */
	if (t->created || t->polled || t->queued || ss.untried)
		start_poller(cfg, r, ss.state);
	rc = session_fail(&ss, err);
out:
	session_close(&ss);
	return rc;
}
/* status --live: before its note is printed, teach the store the tasks
 * a commit's note names, ask Zadig about them and write the notes. */
static int refresh_commit(void *ctx, const char *commit_id,
			  struct zh_error *err)
{
	struct session *ss = ctx;
	const struct zh_config *cfg = ss->flow.cfg;
	char *note = NULL;
	int rc;

	(void)zh_notes_read(&note, ss->flow.repo, cfg->notes.ref, commit_id,
			    NULL);
	if ((rc = learn_from_note(ss->store, ss->name, commit_id, note, cfg,
				  err)) == 0 &&
	    (rc = zh_flow_refresh_commit(&ss->flow, ss->name, commit_id,
					 err)) == 0)
		rc = zh_flow_write_notes(NULL, &ss->flow, err);
	free(note);
	return rc;
}

static int cmd_status_live(struct zh_cli_opts *o, struct zh_error *err)
{
	struct zh_config *cfg = NULL;
	struct zh_repo *r = NULL;
	struct session ss;
	int i, rc;

	memset(&ss, 0, sizeof(ss));
	if ((rc = zh_repo_open(&r, ".", true, err)) < 0)
		return rc;
	if ((rc = zh_cli_load_config(&cfg, o, r, err)) < 0)
		goto out;
	/* every rev must resolve before anything is asked or printed */
	for (i = 0; i < o->nargs; i++) {
		char hex[72];

		if ((rc = zh_repo_resolve(hex, sizeof(hex), r, o->args[i],
					  err)) < 0)
			goto out;
	}
	if ((rc = session_open(&ss, r, cfg, NULL, err)) < 0)
		goto out;
	/* a token that cannot be read fails it as Zadig refusing it would,
	 * before anything is printed */
	if ((rc = zh_flow_zadig_new(&ss.flow.zadig, cfg, err)) < 0)
		goto out;
	rc = zh_cli_status(r, cfg->notes.ref, o->args, o->nargs, o->json,
			   refresh_commit, &ss, err);
	fflush(stdout);
	if (rc == 0)
		rc = session_fail(&ss, err);
out:
	session_close(&ss);
	zh_config_free(cfg);
	zh_repo_free(r);
	return rc;
}

static int cmd_sync(struct zh_cli_opts *o, struct zh_error *err)
{
	struct zh_config *cfg = NULL;
	struct zh_repo *r = NULL;
	int rc;

	if ((rc = zh_repo_open(&r, ".", true, err)) < 0)
		return rc;
	if ((rc = zh_cli_load_config(&cfg, o, r, err)) == 0)
		rc = sync_repo(r, cfg, o, err);
	zh_config_free(cfg);
	zh_repo_free(r);
	return rc;
}

static const struct {
	const char *name;
	int (*run)(struct zh_cli_opts *o, struct zh_error *err);
} net_verbs[] = {
    {"status", cmd_status_live}, {"sync", cmd_sync},
    {"show", cmd_show},		 {"retry", cmd_retry},
    {"cancel", cmd_cancel},	 {"approve", cmd_approve},
    {"trigger", cmd_trigger},	 {"explain", cmd_explain},
};

int zh_cli_net(const char *verb, struct zh_cli_opts *o, char **argv,
	       struct zh_error *err)
{
	size_t i;

	(void)argv;
	for (i = 0; i < sizeof(net_verbs) / sizeof(net_verbs[0]); i++)
		if (strcmp(net_verbs[i].name, verb) == 0)
			return net_verbs[i].run(o, err);
	return zh_error_set(err, ZH_EUSAGE, "unknown verb '%s'", verb);
}
