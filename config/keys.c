/* The one table of keys: parsing, defaults, validation, freeing and the
 * reference in docs/config-reference.md are all driven from here. */
#include <stddef.h>

#include "config/config.h"
#include "config/internal.h"
#include "util/banned.h"

#define TOP(m) offsetof(struct zh_config, m)
#define RULE(m) offsetof(struct zh_rule, m)
#define TGT(m) offsetof(struct zh_rule_target, m)
#define WREPO(m) offsetof(struct zh_webhook_repo, m)

static const char *const hook_modes[] = {"sync", "async", NULL};
/* Order gives the bits: ZH_EVENT_PUSH, ZH_EVENT_TAG, ZH_EVENT_MERGE_REQUEST. */
static const char *const events[] = {"push", "tag", "merge_request", NULL};
static const char *const service_types[] = {"k8s", "helm", NULL};

const struct zh_config_key zh_config_keys[] = {
    {.path = "zadig",
     .type = ZH_KT_MAP,
     .doc = "the Zadig server and how to authenticate"},
    {.path = "zadig.url",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_REQUIRED | ZH_KF_URL,
     .off = TOP(zadig.url),
     .doc = "base URL of Zadig, http:// or https://, with no "
	    "user:password@ (refused: it would reach task URLs, notes and "
	    "logs; Zadig takes the token)"},
    {.path = "zadig.token",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_SECRET,
     .off = TOP(zadig.token),
     .doc = "API token; exactly one of token and token_file is required"},
    {.path = "zadig.token_file",
     .type = ZH_KT_STRING,
     .off = TOP(zadig.token_file),
     .doc = "a regular file holding the token (mode 0600, or 0640 with "
	    "a group of the users that need it; readable by the user the "
	    "program runs as: the pushing user for the hook; not by every "
	    "user, which is warned of; relative to the config file), read "
	    "at load time (again at "
	    "each send while it cannot be read), trailing whitespace "
	    "removed"},
    {.path = "zadig.timeout",
     .type = ZH_KT_DURATION,
     .def = "10s",
     .off = TOP(zadig.timeout_ms),
     .min = 1,
     .doc = "timeout of each request to Zadig"},
    {.path = "zadig.ca_file",
     .type = ZH_KT_STRING,
     .off = TOP(zadig.ca_file),
     .doc = "CA bundle to verify Zadig's TLS certificate with (relative "
	    "to the config file); one that cannot be read is an error of "
	    "`git zadig config check`, a warning of the programs"},
    {.path = "zadig.insecure_skip_tls_verify",
     .type = ZH_KT_BOOL,
     .def = "false",
     .off = TOP(zadig.insecure_skip_tls_verify),
     .doc = "do not verify TLS certificates (a warning is logged)"},
    {.path = "state_dir",
     .type = ZH_KT_STRING,
     .off = TOP(state_dir),
     .doc = "directory of the state store (relative to the config "
	    "file); the hook and `git zadig` default to "
	    "`<git-dir>/zadig-hook` (made in the modes the repository's "
	    "`core.sharedRepository` gives its files), the receiver to "
	    "`/var/lib/zadig-hook`; what is made in a `state_dir` is the "
	    "user's own, so a group of pushing users needs the default"},
    {.path = "state_keep",
     .type = ZH_KT_DURATION,
     .def = "2160h",
     .off = TOP(state_keep_ms),
     .doc = "how long the state store keeps a trigger or task after it "
	    "settled (Zadig took or refused it, or it ended) and its note "
	    "was written: 90 days by default, `0s` forever, never less "
	    "than `poll.give_up_after` (a spooled push the poller keeps is "
	    "read again that long). The notes keep every line; a later push "
	    "of a commit "
	    "the store forgot fires its rules again"},
    {.path = "notes", .type = ZH_KT_MAP, .doc = "git notes with task status"},
    {.path = "notes.ref",
     .type = ZH_KT_STRING,
     .def = "refs/notes/zadig",
     .flags = ZH_KF_REF,
     .off = TOP(notes.ref),
     .doc = "the notes ref the status is written to: a ref under "
	    "refs/notes/ with a name git accepts (no spaces, `..`, `~`, "
	    "`^`, `:`, ...)"},
    {.path = "notes.push",
     .type = ZH_KT_BOOL,
     .def = "false",
     .off = TOP(notes.push),
     .doc = "receiver only: push the notes ref to the repository's origin"},
    {.path = "hook", .type = ZH_KT_MAP, .doc = "the post-receive hook"},
    {.path = "hook.mode",
     .type = ZH_KT_ENUM,
     .def = "sync",
     .off = TOP(hook.mode),
     .choices = hook_modes,
     .doc = "sync: trigger during the push and print task URLs; async: "
	    "only enqueue"},
    {.path = "hook.deadline",
     .type = ZH_KT_DURATION,
     .def = "10s",
     .off = TOP(hook.deadline_ms),
     .min = 1,
     .doc = "the hook's own work never runs longer than this (counted "
	    "from when a chained post-receive hook has finished)"},
    {.path = "hook.repo_root",
     .type = ZH_KT_STRING,
     .off = TOP(hook.repo_root),
     .doc = "repositories are named by their path relative to this "
	    "directory (else by their directory name without .git; "
	    "itself relative to the config file)"},
    {.path = "hook.poll",
     .type = ZH_KT_BOOL,
     .def = "true",
     .off = TOP(hook.poll),
     .doc = "start the detached status poller after the push"},
    {.path = "poll", .type = ZH_KT_MAP, .doc = "status polling"},
    {.path = "poll.interval",
     .type = ZH_KT_DURATION,
     .def = "10s",
     .off = TOP(poll.interval_ms),
     .min = 1,
     .doc = "first polling interval; it backs off to max_interval"},
    {.path = "poll.max_interval",
     .type = ZH_KT_DURATION,
     .def = "2m",
     .off = TOP(poll.max_interval_ms),
     .min = 1,
     .doc = "longest polling interval (not less than interval)"},
    {.path = "poll.give_up_after",
     .type = ZH_KT_DURATION,
     .def = "24h",
     .off = TOP(poll.give_up_after_ms),
     .min = 1,
     .doc = "a task still not final then is marked unknown; the poller "
	    "stops retrying a trigger Zadig does not take, or a note it "
	    "cannot write, once the newest pending trigger, task or "
	    "unwritten note is that old (the next push or `git zadig sync` "
	    "tries it again)"},
    {.path = "webhook",
     .type = ZH_KT_MAP,
     .doc = "the GitLab webhook receiver"},
    {.path = "webhook.listen",
     .type = ZH_KT_STRING,
     .def = "127.0.0.1:8080",
     .flags = ZH_KF_LISTEN,
     .off = TOP(webhook.listen),
     .doc = "host:port to listen on ([::1]:8080 for IPv6)"},
    {.path = "webhook.secret",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_SECRET,
     .off = TOP(webhook.secret),
     .doc = "compared with X-Gitlab-Token; also signs callback URLs"},
    {.path = "webhook.public_url",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_URL,
     .off = TOP(webhook.public_url),
     .doc = "how Zadig reaches this receiver (for callbacks); no "
	    "user:password@"},
    {.path = "webhook.zadig_token",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_SECRET,
     .off = TOP(webhook.zadig_token),
     .doc = "X-Zadig-Token expected on Zadig's notification webhook"},
    {.path = "webhook.signing_key",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_SECRET,
     .off = TOP(webhook.signing_key),
     .doc = "when set, a Standard Webhooks signature is required too"},
    {.path = "webhook.max_body",
     .type = ZH_KT_SIZE,
     .def = "1MiB",
     .off = TOP(webhook.max_body),
     .min = 1,
     .doc = "larger request bodies get 413"},
    {.path = "webhook.workers",
     .type = ZH_KT_INT,
     .def = "4",
     .off = TOP(webhook.workers),
     .min = 1,
     .max = 64,
     .doc = "worker threads, 1 to 64"},
    {.path = "webhook.repos",
     .type = ZH_KT_LIST,
     .off = TOP(webhook.repos),
     .count_off = TOP(webhook.nrepos),
     .elem_size = sizeof(struct zh_webhook_repo),
     .doc = "where commits are read from, per GitLab project"},
    {.path = "webhook.repos[].project",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_REQUIRED | ZH_KF_GLOB,
     .off = WREPO(project),
     .doc = "glob on the project's path_with_namespace"},
    {.path = "webhook.repos[].path",
     .type = ZH_KT_STRING,
     .off = WREPO(path),
     .doc = "a local repository (relative to the config file); exactly "
	    "one of path and url"},
    {.path = "webhook.repos[].url",
     .type = ZH_KT_STRING,
     .off = WREPO(url),
     .doc = "a remote repository, mirrored under state_dir"},
    {.path = "webhook.repos[].credentials",
     .type = ZH_KT_MAP,
     .doc = "credentials for url"},
    {.path = "webhook.repos[].credentials.username",
     .type = ZH_KT_STRING,
     .off = WREPO(username),
     .doc = "user name for url"},
    {.path = "webhook.repos[].credentials.password",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_SECRET,
     .off = WREPO(password),
     .doc = "password or access token for url"},
    {.path = "rules",
     .type = ZH_KT_LIST,
     .off = TOP(rules),
     .count_off = TOP(nrules),
     .elem_size = sizeof(struct zh_rule),
     .doc = "what a push triggers; several rules may fire for one push"},
    {.path = "rules[].name",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_REQUIRED,
     .off = RULE(name),
     .doc = "unique name, shown in output and notes (no whitespace)"},
    {.path = "rules[].repo",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_GLOB,
     .off = RULE(repo),
     .doc = "glob on the repository name; any repository when absent"},
    {.path = "rules[].branches",
     .type = ZH_KT_STRLIST,
     .flags = ZH_KF_GLOB,
     .off = RULE(branches),
     .doc = "globs on the branch (the target branch for merge requests); "
	    "any when absent"},
    {.path = "rules[].tags",
     .type = ZH_KT_STRLIST,
     .flags = ZH_KF_GLOB,
     .off = RULE(tags),
     .doc = "globs on the tag of tag events; any when absent"},
    {.path = "rules[].events",
     .type = ZH_KT_FLAGS,
     .def = "push",
     .off = RULE(events),
     .choices = events,
     .doc = "the events the rule fires for"},
    {.path = "rules[].paths",
     .type = ZH_KT_STRLIST,
     .flags = ZH_KF_GLOB,
     .off = RULE(paths),
     .doc = "fire only when a changed path matches one of these globs"},
    {.path = "rules[].ignore_paths",
     .type = ZH_KT_STRLIST,
     .flags = ZH_KF_GLOB,
     .off = RULE(ignore_paths),
     .doc = "do not fire when every changed path matches these globs"},
    {.path = "rules[].forks",
     .type = ZH_KT_BOOL,
     .def = "false",
     .off = RULE(forks),
     .doc = "merge_request rules: fire for merge requests from another "
	    "project (a fork) too, whose code then runs with this "
	    "project's Zadig workflow and credentials (sent with the target "
	    "branch and pr, which Zadig merges into it)"},
    {.path = "rules[].workflow",
     .type = ZH_KT_MAP,
     .doc = "a product workflow to run; exactly one of workflow and "
	    "custom_workflow"},
    {.path = "rules[].workflow.name",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_REQUIRED,
     .off = RULE(workflow.name),
     .doc = "workflow name"},
    {.path = "rules[].workflow.env",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_REQUIRED,
     .off = RULE(workflow.env),
     .doc = "environment name (may be empty)"},
    {.path = "rules[].workflow.project",
     .type = ZH_KT_STRING,
     .off = RULE(workflow.project),
     .doc = "project, sent as projectName and product_tmpl_name"},
    {.path = "rules[].workflow.targets",
     .type = ZH_KT_LIST,
     .off = RULE(workflow.targets),
     .count_off = RULE(workflow.ntargets),
     .elem_size = sizeof(struct zh_rule_target),
     .doc = "services to build"},
    {.path = "rules[].workflow.targets[].name",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_REQUIRED,
     .off = TGT(name),
     .doc = "service name"},
    {.path = "rules[].workflow.targets[].service_type",
     .type = ZH_KT_ENUM,
     .def = "k8s",
     .flags = ZH_KF_ENUM_STR,
     .off = TGT(service_type),
     .choices = service_types,
     .doc = "service type"},
    {.path = "rules[].workflow.targets[].repos",
     .type = ZH_KT_STRLIST,
     .off = TGT(repos),
     .doc = "code repositories built with the pushed branch; Zadig's API "
	    "documents at least one as required (config check warns of "
	    "none; an empty list is sent)"},
    {.path = "rules[].workflow.release_images",
     .type = ZH_KT_ANY,
     .off = RULE(workflow.release_images),
     .doc = "sent as release_images, as in the Zadig API, typed like "
	    "custom_workflow.inputs: a list of maps, each with the strings "
	    "image, service_name and service_module (config check warns of "
	    "one without them; it is sent as written)"},
    {.path = "rules[].workflow.callback",
     .type = ZH_KT_BOOL,
     .def = "false",
     .off = RULE(workflow.callback),
     .doc = "ask Zadig to call the receiver back when done (needs "
	    "webhook.public_url and webhook.secret)"},
    {.path = "rules[].custom_workflow",
     .type = ZH_KT_MAP,
     .doc = "a custom workflow to run"},
    {.path = "rules[].custom_workflow.project",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_REQUIRED,
     .off = RULE(custom_workflow.project),
     .doc = "project name"},
    {.path = "rules[].custom_workflow.name",
     .type = ZH_KT_STRING,
     .flags = ZH_KF_REQUIRED,
     .off = RULE(custom_workflow.name),
     .doc = "workflow name"},
    {.path = "rules[].custom_workflow.inputs",
     .type = ZH_KT_ANY,
     .def = "[]",
     .off = RULE(custom_workflow.inputs),
     .doc = "the Input list of the Zadig API, typed by YAML 1.2's core "
	    "schema (`!!str` and the other tags decide); strings may use "
	    "the trigger-time variables"},
};

const size_t zh_config_nkeys =
    sizeof(zh_config_keys) / sizeof(zh_config_keys[0]);

_Static_assert(sizeof(zh_config_keys) / sizeof(zh_config_keys[0]) <=
		   ZH_CONFIG_MAX_KEYS,
	       "raise ZH_CONFIG_MAX_KEYS");
