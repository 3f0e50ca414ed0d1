/* git-zadig: `git zadig <verb>` (design.md §7). Argument parsing, output
 * and exit codes only; the work happens in the library. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "flow/flow.h"
#include "gitrepo/gitrepo.h"
#include "mapping/mapping.h"
#include "zadig/zadig.h"
#include "util/banned.h"

#define PROG "git-zadig"

struct opts {
	const char *config;
	const char *comment;
	const char *ref;
	const char *rule;
	const char *project;
	bool json, custom, reject, dry_run, live, all;
	const char *args[8];
	int nargs;
};

struct verb {
	const char *name;
	int (*run)(struct opts *o, struct zh_error *err);
	int min_args, max_args;
	const char *options; /* the options it takes, for checking */
	const char *usage;
};

static void usage(FILE *f);

#define fail_usage(err, ...) zh_error_set(err, ZH_EUSAGE, __VA_ARGS__)

/* ---- shared set-up ---- */

/* Open the repository around the current directory, if there is one. */
static struct zh_repo *open_repo_quiet(void)
{
	struct zh_repo *r = NULL;
	struct zh_error e = {0};

	if (zh_repo_open(&r, ".", true, &e) < 0)
		return NULL;
	return r;
}

static void print_diag(const struct zh_config_diag *d, bool errors)
{
	size_t i;

	for (i = 0; i < d->nwarnings; i++)
		fprintf(stderr, "%s: warning: %s\n", PROG, d->warnings[i]);
	if (!errors)
		return;
	for (i = 0; i < d->len; i++)
		fprintf(stderr, "%s\n", d->msgs[i]);
}

/* Find and load the config (design.md §3 lookup order). Every error of
 * the file is printed; err gets a summary. */
static int load_config(struct zh_config **out, const struct opts *o,
		       struct zh_repo *r, struct zh_error *err)
{
	struct zh_config_diag diag = {0};
	char *gitval = NULL, *path = NULL;
	int rc;

	if (r && !o->config && !getenv("ZADIG_HOOK_CONFIG"))
		(void)zh_repo_config_get(&gitval, r, "zadig.config", NULL);
	rc = zh_config_locate(&path, o->config, gitval, err);
	free(gitval);
	if (rc < 0)
		return rc;
	rc = zh_config_load(out, path, &diag, err);
	print_diag(&diag, rc < 0);
	if (rc < 0 && diag.len > 1)
		zh_error_set(err, rc, "%zu errors in '%s'", diag.len, path);
	else if (rc < 0 && diag.len == 1)
		zh_error_set(err, rc, "invalid configuration");
	zh_config_diag_dispose(&diag);
	free(path);
	return rc;
}

static int with_client(struct zh_config **cfg, struct zh_zadig **z,
		       const struct opts *o, struct zh_error *err)
{
	struct zh_repo *r = open_repo_quiet();
	int rc = load_config(cfg, o, r, err);

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

/* The project to name for a product workflow: --project, else the
 * project of a rule that uses this workflow. */
static const char *project_for(const struct opts *o,
			       const struct zh_config *cfg, const char *wf)
{
	size_t i;

	if (o->project)
		return o->project;
	for (i = 0; i < cfg->nrules; i++) {
		const struct zh_rule *rule = &cfg->rules[i];

		if (!rule->custom && rule->workflow.name &&
		    strcmp(rule->workflow.name, wf) == 0 &&
		    rule->workflow.project)
			return rule->workflow.project;
	}
	return NULL;
}

/* ---- verbs ---- */

/* What a task verb (show, retry, cancel, approve) works with. */
struct task_verb {
	const struct opts *o;
	struct zh_zadig *z;
	const char *workflow;
	const char *project; /* product workflows: ?projectName= */
	int64_t id;
};

/* Parse <workflow> <task-id>, make the client, run act, clean up. */
static int run_task_verb(const struct opts *o,
			 int (*act)(struct task_verb *t, struct zh_error *err),
			 struct zh_error *err)
{
	struct task_verb t = {.o = o, .workflow = o->args[0]};
	struct zh_config *cfg = NULL;
	int rc;

	if ((rc = parse_task_id(&t.id, o->args[1], err)) < 0)
		return rc;
	if ((rc = with_client(&cfg, &t.z, o, err)) == 0) {
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
	if (rc == 0 && t->o->json)
		printf("%s\n", task.raw_json ? task.raw_json : "{}");
	else if (rc == 0)
		zh_cli_print_task(stdout, &task);
	zh_zadig_task_dispose(&task);
	return rc;
}

static int retry(struct task_verb *t, struct zh_error *err)
{
	int rc = zh_zadig_product_restart(t->z, t->workflow, t->id, t->project,
					  err);

	if (rc == 0)
		printf("restarted %s #%" PRId64 "\n", t->workflow, t->id);
	return rc;
}

static int cancel(struct task_verb *t, struct zh_error *err)
{
	int rc;

	if (t->o->custom)
		rc = zh_zadig_custom_cancel(t->z, t->workflow, t->id, err);
	else
		rc = zh_zadig_product_cancel(t->z, t->workflow, t->id,
					     t->project, err);
	if (rc == 0)
		printf("cancelled %s #%" PRId64 "\n", t->workflow, t->id);
	return rc;
}

static int approve(struct task_verb *t, struct zh_error *err)
{
	const struct opts *o = t->o;
	int rc = zh_zadig_custom_approve(t->z, t->workflow, t->id, o->args[2],
					 !o->reject,
					 o->comment ? o->comment : "", err);

	if (rc == 0)
		printf("%s stage '%s' of %s #%" PRId64 "\n",
		       o->reject ? "rejected" : "approved", o->args[2],
		       t->workflow, t->id);
	return rc;
}

static int cmd_show(struct opts *o, struct zh_error *err)
{
	return run_task_verb(o, show, err);
}

static int cmd_retry(struct opts *o, struct zh_error *err)
{
	return run_task_verb(o, retry, err);
}

static int cmd_cancel(struct opts *o, struct zh_error *err)
{
	return run_task_verb(o, cancel, err);
}

static int cmd_approve(struct opts *o, struct zh_error *err)
{
	return run_task_verb(o, approve, err);
}

static int cmd_config(struct opts *o, struct zh_error *err)
{
	struct zh_config_diag diag = {0};
	struct zh_config *cfg = NULL;
	char *path = NULL, *gitval = NULL;
	struct zh_repo *r;
	int rc;

	if (strcmp(o->args[0], "check") != 0)
		return fail_usage(err, "unknown config verb '%s' (try: check)",
				  o->args[0]);
	r = open_repo_quiet();
	if (r && !o->args[1] && !o->config && !getenv("ZADIG_HOOK_CONFIG"))
		(void)zh_repo_config_get(&gitval, r, "zadig.config", NULL);
	zh_repo_free(r);
	rc = zh_config_locate(&path, o->args[1] ? o->args[1] : o->config,
			      gitval, err);
	free(gitval);
	if (rc < 0)
		return rc;
	rc = zh_config_load(&cfg, path, &diag, err);
	if (rc == 0) {
		print_diag(&diag, false);
		printf("ok\n");
	} else {
		size_t i;

		print_diag(&diag, false);
		for (i = 0; i < diag.len; i++)
			printf("%s\n", diag.msgs[i]);
		if (diag.len == 0)
			printf("%s\n", err->msg);
		zh_error_set(err, ZH_ECONFIG, "'%s' is not valid (%zu %s)",
			     path, diag.len ? diag.len : 1,
			     diag.len > 1 ? "errors" : "error");
	}
	zh_config_diag_dispose(&diag);
	zh_config_free(cfg);
	free(path);
	return rc;
}

/* Read rev as a push of ref from its first parent (trigger, explain). */
static int read_event(struct zh_flow_event *fe, struct zh_config **cfg,
		      const struct opts *o, struct zh_error *err)
{
	char hex[72], *ref = NULL;
	struct zh_commit_info tip = {0};
	struct zh_repo *r = NULL;
	int rc;

	if ((rc = zh_repo_open(&r, ".", true, err)) < 0)
		return rc;
	if ((rc = load_config(cfg, o, r, err)) < 0)
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
		zh_error_set(err, rc, "%.400s; name the ref with --ref", why);
		goto out;
	}
	if (!ref) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = zh_repo_commit(&tip, r, hex, err)) < 0)
		goto out;
	rc = zh_flow_event_read(fe, r, (*cfg)->hook.repo_root, ref,
				tip.first_parent, hex, true, err);
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

static int cmd_explain(struct opts *o, struct zh_error *err)
{
	struct zh_verdict_list vl = {0};
	struct zh_flow_event fe;
	struct zh_config *cfg = NULL;
	char sid[9];
	size_t i, w = 4;
	int rc;

	memset(&fe, 0, sizeof(fe));
	if ((rc = read_event(&fe, &cfg, o, err)) < 0)
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

static int send_trigger(struct zh_zadig *z, const struct zh_trigger *t,
			struct zh_error *err)
{
	struct zh_zadig_created c = {0};
	int rc;

	if (t->custom)
		rc = zh_zadig_custom_create(&c, z, &t->custom_req, err);
	else
		rc = zh_zadig_product_create(&c, z, &t->product, err);
	if (rc == 0)
		printf("%s: %s #%" PRId64 " created %s\n", t->rule->name,
		       c.workflow_name ? c.workflow_name
		       : t->custom     ? t->custom_req.workflow_name
				       : t->product.workflow_name,
		       c.task_id, c.url ? c.url : "");
	zh_zadig_created_dispose(&c);
	return rc;
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

static int cmd_trigger(struct opts *o, struct zh_error *err)
{
	struct zh_trigger_list tl = {0};
	struct zh_flow_event fe;
	struct zh_config *cfg = NULL;
	struct zh_zadig *z = NULL;
	size_t i, sent = 0;
	int rc, failed = 0;

	memset(&fe, 0, sizeof(fe));
	if ((rc = read_event(&fe, &cfg, o, err)) < 0)
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
	for (i = 0; i < tl.len; i++) {
		const struct zh_trigger *t = &tl.items[i];
		struct zh_error e = {0};

		if (o->rule && strcmp(t->rule->name, o->rule) != 0)
			continue;
		sent++;
		if (o->dry_run)
			rc = print_request(t, &e);
		else
			rc = send_trigger(z, t, &e);
		if (rc < 0) {
			fprintf(stderr, "%s: error: %s: %s\n", PROG,
				t->rule->name, e.msg);
			if (!failed)
				*err = e;
			failed = 1;
		}
	}
	rc = failed ? err->code : 0;
	if (sent == 0)
		printf("no rule fires for %s (see: git zadig explain)\n",
		       fe.ref);
	if (failed && tl.len > 1)
		zh_error_set(err, err->code, "some triggers failed");
out:
	zh_trigger_list_dispose(&tl);
	zh_zadig_free(z);
	zh_flow_event_dispose(&fe);
	zh_config_free(cfg);
	return rc;
}

static int cmd_status(struct opts *o, struct zh_error *err)
{
	struct zh_config *cfg = NULL;
	struct zh_repo *r = NULL;
	int rc;

	if ((rc = zh_repo_open(&r, ".", true, err)) < 0)
		return rc;
	if (o->live) {
		rc = load_config(&cfg, o, r, err);
	} else {
		/* no config needed: use its notes.ref when one loads */
		char *path = NULL, *gitval = NULL;

		if (!o->config && !getenv("ZADIG_HOOK_CONFIG"))
			(void)zh_repo_config_get(&gitval, r, "zadig.config",
						 NULL);
		if (zh_config_locate(&path, o->config, gitval, NULL) == 0 &&
		    zh_config_load(&cfg, path, NULL, NULL) < 0)
			cfg = NULL;
		free(path);
		free(gitval);
	}
	if (rc == 0)
		rc = zh_cli_status(r, cfg, o->args, o->nargs, o->live, o->json,
				   err);
	zh_config_free(cfg);
	zh_repo_free(r);
	return rc;
}

static int cmd_sync(struct opts *o, struct zh_error *err)
{
	struct zh_config *cfg = NULL;
	struct zh_repo *r = NULL;
	int rc;

	if ((rc = zh_repo_open(&r, ".", true, err)) < 0)
		return rc;
	if ((rc = load_config(&cfg, o, r, err)) == 0)
		rc = zh_cli_sync(r, cfg, o->all, err);
	zh_config_free(cfg);
	zh_repo_free(r);
	return rc;
}

static const struct verb verbs[] = {
	{"status", cmd_status, 0, 8, "live json config",
	 "status [<rev>...] [--live] [--json]"},
	{"sync", cmd_sync, 0, 0, "all config", "sync [--all]"},
	{"show", cmd_show, 2, 2, "json custom config project",
	 "show <workflow> <task-id> [--custom] [--json]"},
	{"retry", cmd_retry, 2, 2, "config project",
	 "retry <workflow> <task-id>"},
	{"cancel", cmd_cancel, 2, 2, "custom config project",
	 "cancel <workflow> <task-id> [--custom]"},
	{"approve", cmd_approve, 3, 3, "reject comment config",
	 "approve <workflow> <task-id> <stage> [--reject] [--comment TEXT]"},
	{"trigger", cmd_trigger, 0, 1, "ref rule dry-run config",
	 "trigger [<rev>] [--ref REF] [--rule NAME] [--dry-run]"},
	{"explain", cmd_explain, 0, 1, "ref config",
	 "explain [<rev>] [--ref REF]"},
	{"config", cmd_config, 1, 2, "config", "config check [FILE]"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: git zadig [--config FILE] <verb> [<args>]\n\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "   git zadig %s\n", verbs[i].usage);
	fprintf(f, "\nOptions:\n"
		   "   --config FILE    configuration file (else $ZADIG_HOOK_"
		   "CONFIG, git config\n"
		   "                    zadig.config, "
		   "/etc/zadig-hook/config.yaml)\n"
		   "   --project NAME   project of a product workflow "
		   "(?projectName=)\n"
		   "   --json           machine-readable output (show)\n"
		   "   -h, --help       this text;  --version  the version\n"
		   "\nExit status: 0 ok, 1 the operation failed (Zadig refused,"
		   " network, git),\n2 usage or configuration error.\n");
}

/* Options may stand anywhere; "--" ends them. */
static int parse_args(struct opts *o, const char **verb, int argc,
		      char **argv, struct zh_error *err)
{
	int i;
	bool dashdash = false;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **val = NULL;

		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (!*verb)
				*verb = a;
			else if (o->nargs < (int)(sizeof(o->args) /
						  sizeof(o->args[0])))
				o->args[o->nargs++] = a;
			else
				return zh_error_set(err, ZH_EUSAGE,
						    "too many arguments");
			continue;
		}
		if (strcmp(a, "--") == 0)
			dashdash = true;
		else if (strcmp(a, "--json") == 0)
			o->json = true;
		else if (strcmp(a, "--custom") == 0)
			o->custom = true;
		else if (strcmp(a, "--reject") == 0)
			o->reject = true;
		else if (strcmp(a, "--dry-run") == 0 || strcmp(a, "-n") == 0)
			o->dry_run = true;
		else if (strcmp(a, "--live") == 0)
			o->live = true;
		else if (strcmp(a, "--all") == 0)
			o->all = true;
		else if (strcmp(a, "--config") == 0)
			val = &o->config;
		else if (strcmp(a, "--comment") == 0)
			val = &o->comment;
		else if (strcmp(a, "--ref") == 0)
			val = &o->ref;
		else if (strcmp(a, "--rule") == 0)
			val = &o->rule;
		else if (strcmp(a, "--project") == 0)
			val = &o->project;
		else if (strncmp(a, "--config=", 9) == 0)
			o->config = a + 9;
		else if (strncmp(a, "--comment=", 10) == 0)
			o->comment = a + 10;
		else if (strncmp(a, "--ref=", 6) == 0)
			o->ref = a + 6;
		else if (strncmp(a, "--rule=", 7) == 0)
			o->rule = a + 7;
		else if (strncmp(a, "--project=", 10) == 0)
			o->project = a + 10;
		else
			return fail_usage(err, "unknown option '%s'", a);
		if (val) {
			if (++i >= argc)
				return fail_usage(err, "option '%s' needs a "
						       "value", a);
			*val = argv[i];
		}
	}
	return 0;
}

/* Refuse options the verb does not take. */
static int check_options(const struct opts *o, const struct verb *v,
			 struct zh_error *err)
{
	static const struct {
		const char *name;
		size_t offset;
		bool is_flag;
	} all[] = {
		{"json", offsetof(struct opts, json), true},
		{"custom", offsetof(struct opts, custom), true},
		{"reject", offsetof(struct opts, reject), true},
		{"dry-run", offsetof(struct opts, dry_run), true},
		{"live", offsetof(struct opts, live), true},
		{"all", offsetof(struct opts, all), true},
		{"comment", offsetof(struct opts, comment), false},
		{"ref", offsetof(struct opts, ref), false},
		{"rule", offsetof(struct opts, rule), false},
		{"project", offsetof(struct opts, project), false},
	};
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *p = (const char *)o + all[i].offset;
		bool set = all[i].is_flag ? *(const bool *)p
					  : *(const char *const *)p != NULL;
		const char *hit = strstr(v->options, all[i].name);
		size_t n = strlen(all[i].name);

		if (set && !(hit && (hit[n] == ' ' || hit[n] == '\0') &&
			     (hit == v->options || hit[-1] == ' ')))
			return zh_error_set(err, ZH_EUSAGE,
					    "'%s' does not take --%s", v->name,
					    all[i].name);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct zh_error err = {0};
	struct opts o;
	const char *verb = NULL;
	const struct verb *v = NULL;
	size_t i;
	int rc;

	memset(&o, 0, sizeof(o));
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("git-zadig (zadig-hook) %s\n", ZH_VERSION);
			return 0;
		}
	}
	if ((rc = parse_args(&o, &verb, argc, argv, &err)) < 0)
		goto fail_usage;
	if (!verb) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, verb) == 0)
			v = &verbs[i];
	if (!v) {
		zh_error_set(&err, ZH_EUSAGE, "unknown verb '%s'", verb);
		goto fail_usage;
	}
	if (o.nargs < v->min_args || o.nargs > v->max_args) {
		zh_error_set(&err, ZH_EUSAGE, "usage: git zadig %s", v->usage);
		goto fail_usage;
	}
	if (check_options(&o, v, &err) < 0)
		goto fail_usage;
	rc = v->run(&o, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: error: %s\n", PROG, err.msg);
		return zh_error_exit_code(rc);
	}
	return 0;
fail_usage:
	fprintf(stderr, "%s: error: %s\n", PROG, err.msg);
	fprintf(stderr, "run 'git zadig --help' for usage\n");
	return 2;
}
