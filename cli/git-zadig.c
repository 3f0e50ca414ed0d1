/* git-zadig: `git zadig <verb>` (design.md §7). Argument parsing, output
 * and exit codes only; the work happens in the library. Shared by the
 * front program and the full one (cli/cli.h). */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "config/config.h"
#include "gitrepo/gitrepo.h"
#include "gitrepo/notes.h"
#include "util/banned.h"
#include "util/perm.h"

#define PROG ZH_CLI_PROG

struct verb {
	const char *name;
	/* NULL: the full program runs it (zh_cli_net) */
	int (*run)(struct zh_cli_opts *o, struct zh_error *err);
	int min_args, max_args;
	const char *options; /* the options it takes, for checking */
	const char *usage;
};

static void usage(FILE *f);

#define fail_usage(err, ...) zh_error_set(err, ZH_EUSAGE, __VA_ARGS__)

/* ---- shared set-up ---- */

/* Open the repository around the current directory, if there is one. */
struct zh_repo *zh_cli_open_repo_quiet(void)
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

/* The configuration file (design.md §3): explicit (--config, a file
 * named to `config check`), $ZADIG_HOOK_CONFIG, zadig.config of r (may be
 * NULL), /etc/zadig-hook/config.yaml. */
static int locate(char **path, struct zh_repo *r, const char *explicit,
		  struct zh_error *err)
{
	char *gitval = NULL;
	int rc;

	if (r && zh_config_wants_git_value(explicit))
		(void)zh_repo_config_get(&gitval, r, "zadig.config", NULL);
	if (gitval && !(gitval = zh_config_git_path(gitval, zh_repo_top(r))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	rc = zh_config_locate(path, explicit, gitval, err);
	free(gitval);
	return rc;
}

int zh_cli_load_config(struct zh_config **out, const struct zh_cli_opts *o,
		       struct zh_repo *r, struct zh_error *err)
{
	struct zh_config_diag diag = {0};
	char *path = NULL;
	int rc;

	if ((rc = locate(&path, r, o->config, err)) < 0)
		return rc;
	rc = zh_config_load(out, path, &diag, err);
	/* one error is the error; several are listed, then counted */
	print_diag(&diag, rc < 0 && diag.len > 1);
	/* every request will fail: said once here, each failure says how */
	if (rc == 0 && (*out)->zadig.ca_error)
		fprintf(stderr, "%s: warning: %s\n", PROG,
			(*out)->zadig.ca_error);
	if (rc < 0 && diag.len > 1)
		zh_error_set(err, rc, "%zu errors in '%s'", diag.len, path);
	else if (rc < 0 && diag.len == 1)
		zh_error_set(err, rc, "%s", diag.msgs[0]);
	zh_config_diag_dispose(&diag);
	free(path);
	return rc;
}

/* In a repository a group pushes to (core.sharedRepository letting the
 * group write), whether each user's hook can use the state store and
 * write the notes: warn when the store is in a state_dir of the
 * configuration (what a hook makes there is its user's own), or when
 * the store, a file of it or the notes refs' directory is not the
 * repository's group's to write (made by an earlier zadig-hook, or by
 * root): the other users' pushes then say "cannot open state store ...:
 * Permission denied", or cannot write their notes. */
static void check_shared_store(const struct zh_config *cfg, struct zh_repo *r)
{
	static const char *const files[] = {
	    "zadig-hook",
	    "zadig-hook/state.db",
	    "zadig-hook/state.db-wal",
	    "zadig-hook/state.db-shm",
	    "zadig-hook/poller.lock",
	    "zadig-hook/poller.log",
	    "zadig-hook/spool",
	    "refs/notes",
	};
	const char *gd = zh_repo_common_dir(r);
	char dir[PATH_MAX], path[PATH_MAX + 32], whose[640];
	char fix[4 * PATH_MAX + 320];
	int shared = zh_repo_shared(r);
	struct stat gst, st;
	size_t i, n = strlen(gd);

	if (((shared < 0 ? -shared : shared) & 060) != 060)
		return; /* no group pushes to it */
	if (cfg->state_dir) {
		fprintf(
		    stderr,
		    "%s: warning: state_dir '%s' holds the store of '%s', "
		    "which is shared (core.sharedRepository): what the hook "
		    "makes there is the pushing user's own, so the other "
		    "users' pushes cannot use it; leave state_dir unset "
		    "(<git-dir>/zadig-hook follows the repository's "
		    "sharing), or push as one user\n",
		    PROG, cfg->state_dir, gd);
		return;
	}
	while (n > 1 && gd[n - 1] == '/')
		n--;
	snprintf(dir, sizeof(dir), "%.*s", (int)n, gd);
	if (stat(dir, &gst) != 0)
		return;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (stat(path, &st) != 0)
			continue;
		if (st.st_gid == gst.st_gid && (st.st_mode & 060) == 060 &&
		    (!S_ISDIR(st.st_mode) || (st.st_mode & 02010) == 02010))
			continue;
		zh_perm_describe(whose, sizeof(whose), &st);
		zh_perm_group_fix(fix, sizeof(fix), dir, gst.st_gid);
		fprintf(stderr,
			"%s: warning: '%s' is not for the repository's group "
			"to write (%s): the hook cannot %s for the group's "
			"other users; as root: %s\n",
			PROG, path, whose,
			i + 1 < sizeof(files) / sizeof(files[0])
			    ? "use the store"
			    : "write the notes",
			fix);
		return;
	}
}

static int cmd_config(struct zh_cli_opts *o, struct zh_error *err)
{
	struct zh_config_diag diag = {0};
	struct zh_config *cfg = NULL;
	char *path = NULL;
	struct zh_repo *r;
	int rc;

	if (strcmp(o->args[0], "check") != 0)
		return fail_usage(err, "unknown config verb '%s' (try: check)",
				  o->args[0]);
	r = zh_cli_open_repo_quiet();
	if ((rc = locate(&path, r, o->args[1] ? o->args[1] : o->config, err)) <
	    0) {
		zh_repo_free(r);
		return rc;
	}
	rc = zh_config_load(&cfg, path, &diag, err);
	if (rc == 0 && r)
		check_shared_store(cfg, r);
	zh_repo_free(r);
	if (rc == 0 && (cfg->zadig.token_error || cfg->zadig.ca_error ||
			cfg->ncheck_errors)) {
		/* the programs load it (a push is kept queued until the
		 * files can be read; the other rules run), but not all of it
		 * can run as it is */
		size_t n = 0, i;

		print_diag(&diag, false);
		if (cfg->zadig.token_error && ++n)
			printf("%s\n", cfg->zadig.token_error);
		if (cfg->zadig.ca_error && ++n)
			printf("%s\n", cfg->zadig.ca_error);
		for (i = 0; i < cfg->ncheck_errors; i++, n++)
			printf("%s\n", cfg->check_errors[i]);
		rc = zh_error_set(err, ZH_ECONFIG, "'%s' is not valid (%zu %s)",
				  path, n, n > 1 ? "errors" : "error");
	} else if (rc == 0) {
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

/* status without --live: no config needed (the notes.ref of one that is
 * found is used, whether or not the rest of it is valid here) and no
 * network. */
static int cmd_status(struct zh_cli_opts *o, struct zh_error *err)
{
	struct zh_repo *r = NULL;
	struct zh_error e = {0};
	char *path = NULL, *ref = NULL;
	int rc;

	if ((rc = zh_repo_open(&r, ".", true, err)) < 0)
		return rc;
	/* each commit, notes tree and note is read once */
	zh_repo_object_cache(false);
	if (locate(&path, r, o->config, NULL) == 0 &&
	    zh_config_notes_ref(&ref, path, &e) < 0)
		fprintf(stderr, "git-zadig: warning: %s; reading %s\n", e.msg,
			ZH_NOTES_REF_DEFAULT);
	free(path);
	rc = zh_cli_status(r, ref, o->args, o->nargs, o->json, NULL, NULL, err);
	free(ref);
	zh_repo_free(r);
	return rc;
}

static const struct verb verbs[] = {
    {"status", cmd_status, 0, INT_MAX, "live json config",
     "status [<rev>...] [--live] [--json]"},
    {"sync", NULL, 0, 0, "all config", "sync [--all]"},
    {"show", NULL, 2, 2, "json custom config project",
     "show <workflow> <task-id> [--custom] [--json]"},
    {"retry", NULL, 2, 2, "config project", "retry <workflow> <task-id>"},
    {"cancel", NULL, 2, 2, "custom config project",
     "cancel <workflow> <task-id> [--custom]"},
    {"approve", NULL, 3, 3, "reject comment config",
     "approve <workflow> <task-id> <stage> [--reject] [--comment TEXT]"},
    {"trigger", NULL, 0, 1, "ref before repo rule dry-run config",
     "trigger [<rev>] [--ref REF] [--before OLD] [--repo NAME] [--rule NAME] "
     "[--dry-run]"},
    {"explain", NULL, 0, 1, "ref before repo config",
     "explain [<rev>] [--ref REF] [--before OLD] [--repo NAME]"},
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
		   "   --repo NAME      the repository's name for the rules "
		   "(trigger, explain;\n"
		   "                    else as the hook names it)\n"
		   "   --before OLD     the ref's value before the push "
		   "(trigger, explain;\n"
		   "                    0: a new ref; else rev's first "
		   "parent)\n"
		   "   --json           JSON output (status, show)\n"
		   "   -h, --help       this text;  --version  the version\n"
		   "\nExit status: 0 ok, 1 the operation failed (Zadig refused,"
		   " network, git),\n2 usage or configuration error.\n");
}

/* The options that take a value, as "--name VALUE" or "--name=VALUE". */
static const struct {
	const char *name;
	size_t offset;
} value_opts[] = {
    {"--config", offsetof(struct zh_cli_opts, config)},
    {"--comment", offsetof(struct zh_cli_opts, comment)},
    {"--ref", offsetof(struct zh_cli_opts, ref)},
    {"--repo", offsetof(struct zh_cli_opts, repo)},
    {"--before", offsetof(struct zh_cli_opts, before)},
    {"--rule", offsetof(struct zh_cli_opts, rule)},
    {"--project", offsetof(struct zh_cli_opts, project)},
};

/* The index in value_opts of option a, or -1 when a takes no value; *eq
 * points at the value of "--name=VALUE", else is NULL. */
static int value_opt(const char *a, const char **eq)
{
	size_t i, n;

	*eq = NULL;
	for (i = 0; i < sizeof(value_opts) / sizeof(value_opts[0]); i++) {
		n = strlen(value_opts[i].name);
		if (strncmp(a, value_opts[i].name, n) != 0 ||
		    (a[n] != '\0' && a[n] != '='))
			continue;
		if (a[n] == '=')
			*eq = a + n + 1;
		return (int)i;
	}
	return -1;
}

/* The first -h, --help or --version of the command line that is an
 * option, not the value of one ("--comment -h"), and stands before "--";
 * NULL when there is none. */
static const char *help_or_version(int argc, char **argv)
{
	const char *eq;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (value_opt(argv[i], &eq) >= 0 && !eq)
			i++;
		else if (strcmp(argv[i], "-h") == 0 ||
			 strcmp(argv[i], "--help") == 0 ||
			 strcmp(argv[i], "--version") == 0)
			return argv[i];
	}
	return NULL;
}

/* Options may stand anywhere; "--" ends them. */
static int parse_args(struct zh_cli_opts *o, const char **verb, int argc,
		      char **argv, struct zh_error *err)
{
	int i;
	bool dashdash = false;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq;
		int k;

		if (dashdash || a[0] != '-' || a[1] == '\0') {
			if (!*verb)
				*verb = a;
			else
				o->args[o->nargs++] = a;
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
		else if ((k = value_opt(a, &eq)) < 0)
			return fail_usage(err, "unknown option '%s'", a);
		else if (!eq && ++i >= argc)
			return fail_usage(err, "option '%s' needs a value", a);
		else
			*(const char **)((char *)o + value_opts[k].offset) =
			    eq ? eq : argv[i];
	}
	return 0;
}

/* Refuse options the verb does not take. */
static int check_options(const struct zh_cli_opts *o, const struct verb *v,
			 struct zh_error *err)
{
	static const struct {
		const char *name;
		size_t offset;
		bool is_flag;
	} all[] = {
	    {"json", offsetof(struct zh_cli_opts, json), true},
	    {"custom", offsetof(struct zh_cli_opts, custom), true},
	    {"reject", offsetof(struct zh_cli_opts, reject), true},
	    {"dry-run", offsetof(struct zh_cli_opts, dry_run), true},
	    {"live", offsetof(struct zh_cli_opts, live), true},
	    {"all", offsetof(struct zh_cli_opts, all), true},
	    {"comment", offsetof(struct zh_cli_opts, comment), false},
	    {"ref", offsetof(struct zh_cli_opts, ref), false},
	    {"repo", offsetof(struct zh_cli_opts, repo), false},
	    {"before", offsetof(struct zh_cli_opts, before), false},
	    {"rule", offsetof(struct zh_cli_opts, rule), false},
	    {"project", offsetof(struct zh_cli_opts, project), false},
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
	struct zh_cli_opts o;
	const char *verb = NULL, *early;
	const struct verb *v = NULL;
	size_t i;
	int rc, code = 0;

	memset(&o, 0, sizeof(o));
	if ((early = help_or_version(argc, argv))) {
		if (strcmp(early, "--version") == 0)
			printf("git-zadig (zadig-hook) %s\n", ZH_VERSION);
		else
			usage(stdout);
		return 0;
	}
	/* every argument may be a verb argument (status takes any number);
	 * the padding lets verbs read optional ones as NULL */
	o.args = calloc((size_t)argc + 8, sizeof(*o.args));
	if (!o.args) {
		fprintf(stderr, "%s: error: out of memory\n", PROG);
		return 1;
	}
	if ((rc = parse_args(&o, &verb, argc, argv, &err)) < 0)
		goto fail_usage;
	if (!verb) {
		usage(stderr);
		code = 2;
		goto out;
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
	if (!v->run || (v->run == cmd_status && o.live))
		rc = zh_cli_net(v->name, &o, argv, &err);
	else
		rc = v->run(&o, &err);
	if (rc < 0) {
		fprintf(stderr, "%s: error: %s\n", PROG, err.msg);
		code = zh_error_exit_code(rc);
	}
	goto out;
fail_usage:
	fprintf(stderr, "%s: error: %s\n", PROG, err.msg);
	fprintf(stderr, "run 'git zadig --help' for usage\n");
	code = 2;
out:
	free(o.args);
	return code;
}
