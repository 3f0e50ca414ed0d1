/* The configuration of design.md §3, read from YAML with libyaml.
 * One table of keys (type, default, validation) drives parsing, defaults,
 * error messages and the README's reference, so they cannot drift. */
#ifndef ZH_CONFIG_CONFIG_H
#define ZH_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/value.h"

enum zh_event_kind {
	ZH_EVENT_PUSH = 1 << 0,
	ZH_EVENT_TAG = 1 << 1,
	ZH_EVENT_MERGE_REQUEST = 1 << 2,
};

enum zh_hook_mode { ZH_HOOK_SYNC, ZH_HOOK_ASYNC };

struct zh_strlist {
	char **items;
	size_t len;
};

struct zh_rule_repo_ref { /* workflow.targets[].repos[] */
	char *repo_name;
};

struct zh_rule_target {
	char *name;
	char *service_type; /* "k8s" (default) or "helm" */
	struct zh_strlist repos;
};

struct zh_rule {
	char *name;
	char *repo;                  /* glob; NULL means any */
	struct zh_strlist branches;  /* globs; empty means any branch */
	struct zh_strlist tags;      /* globs; empty means any tag */
	unsigned events;             /* ZH_EVENT_* bits; default PUSH */
	struct zh_strlist paths;
	struct zh_strlist ignore_paths;
	bool forks;		     /* merge requests from forks too */
	bool custom;                 /* custom_workflow (else workflow) */
	struct {
		char *name, *env, *project;
		struct zh_rule_target *targets;
		size_t ntargets;
		struct zh_value *release_images; /* LIST or NULL */
		bool callback;
	} workflow;
	struct {
		char *project, *name;
		struct zh_value *inputs; /* LIST */
	} custom_workflow;
	int line, col; /* position of the rule in the file */
};

struct zh_webhook_repo {
	char *project; /* glob on path_with_namespace */
	char *path;    /* local repository, or */
	char *url;     /* mirrored under state_dir */
	char *username, *password;
};

struct zh_config {
	char *path; /* the file it was read from */
	/* "FILE:LINE:COL: ..." for what one program or rule cannot run as
	 * written (a product workflow with neither targets nor
	 * release_images, a webhook section without webhook.secret), sorted:
	 * errors of `git zadig config check`, not of the configuration,
	 * which the programs load as earlier versions did (the hook goes on
	 * with the other rules; the receiver refuses to start on its own) */
	char **check_errors;
	size_t ncheck_errors;
	struct {
		char *url;
		/* from token or token_file; never printed. NULL when
		 * token_file could not be read: token_error */
		char *token;
		char *token_file;
		/* "FILE:LINE:COL: cannot read token file ..." when token_file
		 * could not be read at load, else NULL. Not an error of the
		 * configuration, which loads: only sending to Zadig needs
		 * the token, and zh_config_token tries the file again (a push
		 * is recorded and kept queued meanwhile, design.md §8) */
		char *token_error;
		int64_t timeout_ms;      /* default 10s */
		char *ca_file;
		/* "FILE:LINE:COL: cannot read zadig.ca_file ..." when ca_file
		 * cannot be read, else NULL: as token_error, not an error of
		 * the configuration (every request fails, and is retried,
		 * until it can be read); programs warn */
		char *ca_error;
		bool insecure_skip_tls_verify;
	} zadig;
	/* Where token_file was named (NULL without one): for
	 * zh_config_token, which reads it again when the load could not
	 * (token_error), and for the receiver, which reloads once it
	 * changes (a rotated token). */
	struct {
		char *path; /* from the file's directory */
		char *name; /* the file's name in messages */
		char *raw;  /* token_file as written */
		int line, col;
		int64_t
		    mtime_ns; /* st_mtim when read; 0 when it could not be */
	} token_src;
	char *state_dir; /* NULL: the program's default */
	int64_t state_keep_ms; /* default 90 days; 0: forever */
	struct {
		char *ref; /* default refs/notes/zadig */
		bool push;
	} notes;
	struct {
		enum zh_hook_mode mode; /* default sync */
		int64_t deadline_ms;    /* default 10s */
		char *repo_root;
		bool poll;              /* default true */
	} hook;
	struct {
		int64_t interval_ms;      /* default 10s */
		int64_t max_interval_ms;  /* default 2m */
		int64_t give_up_after_ms; /* default 24h */
	} poll;
	struct {
		char *listen; /* default 127.0.0.1:8080 */
		char *secret;
		char *public_url;
		char *zadig_token;
		char *signing_key;
		int64_t max_body; /* bytes, default 1MiB */
		int64_t workers;  /* default 4 */
		struct zh_webhook_repo *repos;
		size_t nrepos;
	} webhook;
	struct zh_rule *rules;
	size_t nrules;
};

/* Every problem found in one file, in order, each "FILE:LINE:COL: msg". */
struct zh_config_diag {
	char **msgs;
	size_t len;
	char **warnings; /* e.g. a token_file readable by others */
	size_t nwarnings;
};
void zh_config_diag_dispose(struct zh_config_diag *d);

/* Read and validate a file. On success *out is set (free with
 * zh_config_free) and returns 0; diag may still hold warnings, and
 * zadig.token_error and zadig.ca_error say that a file it names cannot
 * be read. On failure
 * returns ZH_ECONFIG, diag holds every error found (not only the first)
 * and err the first one. diag may be NULL. */
int zh_config_load(struct zh_config **out, const char *path,
		   struct zh_config_diag *diag, struct zh_error *err);

/* Same, from a string (tests, fuzzing); name is used in messages. */
int zh_config_parse(struct zh_config **out, const char *name,
		    const char *text, size_t len, struct zh_config_diag *diag,
		    struct zh_error *err);

void zh_config_free(struct zh_config *c);

/* The token to send with: zadig.token, or zadig.token_file read again
 * when it could not be read at load (zadig.token_error: someone may have
 * fixed it since), with the checks and messages of zh_config_load.
 * *out is malloc'd: wipe it (explicit_bzero) before freeing. Returns 0,
 * ZH_ECONFIG (err: "FILE:LINE:COL: cannot read token file ...") or
 * ZH_ENOMEM. Safe from several threads on one c. */
int zh_config_token(char **out, const struct zh_config *c,
		    struct zh_error *err);

/* Only notes.ref of the file at path (its default when absent), read
 * whatever else the file holds or lacks: `git zadig status` needs no more
 * and must not fail for, say, a token's variable unset in the shell at
 * hand. *out malloc'd. Returns 0, ZH_ECONFIG or ZH_ENOMEM. */
int zh_config_notes_ref(char **out, const char *path, struct zh_error *err);

/* Which file to read: explicit (--config) if set, else $ZADIG_HOOK_CONFIG,
 * else git_config_value (the repository's zadig.config, may be NULL), else
 * /etc/zadig-hook/config.yaml. *out is malloc'd. Returns 0, or ZH_ECONFIG
 * when nothing is found (the message names every place looked at). */
int zh_config_locate(char **out, const char *explicit_path,
		     const char *git_config_value, struct zh_error *err);

/* git config zadig.config v (taken: freed or returned) as git reads a
 * path: "~/" is $HOME, and a relative one starts at top, the top of the
 * work tree or the git dir of a bare repository, where git runs hooks:
 * the hook, the poller and git zadig (anywhere in the work tree) read
 * the same file. malloc'd; NULL when out of memory. */
char *zh_config_git_path(char *v, const char *top);

/* Whether zh_config_locate would get as far as the repository's git
 * config zadig.config: explicit_path and $ZADIG_HOOK_CONFIG unset or
 * empty. Callers read zadig.config (a git process or a libgit2 lookup)
 * only then. */
bool zh_config_wants_git_value(const char *explicit_path);

/* The longest duration a configuration holds: 100 years (876000h). The
 * programs add durations to the time of day in ms, double poll intervals
 * and multiply the timeout by a few; bounded here, that never overflows. */
#define ZH_CONFIG_MAX_DURATION_MS (876000LL * 3600 * 1000)

/* Parse "500ms", "10s", "5m", "24h" (sums like "1h30m" too) into ms.
 * Returns 0 or ZH_EINVALID. */
int zh_config_parse_duration(int64_t *out_ms, const char *s);

/* Parse "1MiB", "512KiB", "100", "1GiB", "10KB" into bytes. */
int zh_config_parse_size(int64_t *out, const char *s);

/* Append the reference of every key (docs/config-reference.md: path,
 * type, default, meaning) as Markdown to out, rendered from the same
 * table that drives parsing. Returns 0, ZH_ETOOBIG or ZH_ENOMEM. */
struct zh_buf;
int zh_config_reference(struct zh_buf *out);

/* The rule named name, or NULL. */
const struct zh_rule *zh_config_rule(const struct zh_config *c,
				     const char *name);

#endif
