#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mapping/mapping.h"
#include "util/banned.h"

/* Rules are built by hand: the mapping must not depend on the YAML
 * loader. String literals are never freed here. */
#define LIST(...)                                                              \
	{                                                                      \
		(char *[]){__VA_ARGS__},                                       \
		    sizeof((char *[]){__VA_ARGS__}) / sizeof(char *)           \
	}

static const char *const src_and_docs[] = {"src/a.c", "docs/x.md"};
static const char *const docs_only[] = {"docs/a/b.md", "README.md"};
static const char *const docs_and_lib[] = {"docs/a.md", "lib/b.c"};
static const char *const one_doc[] = {"docs/a.md"};

static const struct zh_event push_main = {
    .kind = ZH_EVENT_PUSH,
    .repo = "group/voting-app",
    .ref = "refs/heads/main",
    .before = "1111111111111111111111111111111111111111",
    .after = "2222222222222222222222222222222222222222",
    .message = "add feature",
    .author = "Ada",
    .author_email = "ada@example.com",
    .paths = src_and_docs,
    .npaths = 2,
};

static struct zh_event ev_with(const char *ref)
{
	struct zh_event ev = push_main;

	ev.ref = ref;
	return ev;
}

/* ---- explain: every filter and its reason ---- */

struct explain_case {
	const char *what;
	struct zh_rule rule;
	struct zh_event ev;
	enum zh_verdict verdict;
	const char *reason;
};

/* Whether a rule with verdict v may still fire with other commits: the
 * verdicts that depend on the paths, message or push options. */
static bool commit_may_fire(enum zh_verdict v)
{
	return v == ZH_FIRE || v == ZH_SKIP_PATHS ||
	       v == ZH_SKIP_IGNORED_PATHS || v == ZH_SKIP_MARKER ||
	       v == ZH_SKIP_OPTION;
}

static void run_explain(const struct explain_case *c)
{
	struct zh_config cfg = {0};
	struct zh_verdict_list vl;
	struct zh_error err = {0};
	struct zh_rule rule = c->rule;

	if (!rule.name)
		rule.name = "r";
	cfg.rules = &rule;
	cfg.nrules = 1;
	if (zh_mapping_explain(&vl, &cfg, &c->ev, &err) != 0)
		fail_msg("%s: %s", c->what, err.msg);
	assert_int_equal(vl.len, 1);
	assert_ptr_equal(vl.items[0].rule, &rule);
	if (vl.items[0].verdict != c->verdict ||
	    strcmp(vl.items[0].reason, c->reason) != 0)
		fail_msg("%s: got %d '%s', want %d '%s'", c->what,
			 vl.items[0].verdict, vl.items[0].reason, c->verdict,
			 c->reason);
	free(vl.items);
	/* before the commits are read, only the ref-level verdicts count */
	if (zh_mapping_may_fire(&cfg, &c->ev) != commit_may_fire(c->verdict))
		fail_msg("%s: zh_mapping_may_fire says %d", c->what,
			 !commit_may_fire(c->verdict));
}

static void explain_table(void **state)
{
	struct explain_case cases[] = {
	    {"plain push fires", {.repo = NULL}, push_main, ZH_FIRE, ""},
	    {"repo glob matches", {.repo = "group/*"}, push_main, ZH_FIRE, ""},
	    {"repo glob does not match",
	     {.repo = "other/*"},
	     push_main,
	     ZH_SKIP_REPO,
	     "repo 'group/voting-app' does not match 'other/*'"},
	    {"repo '*' does not cross '/'",
	     {.repo = "*"},
	     push_main,
	     ZH_SKIP_REPO,
	     "repo 'group/voting-app' does not match '*'"},
	    {"no event list means push", {.events = 0}, push_main, ZH_FIRE, ""},
	    {"push rule, tag event",
	     {.events = 0},
	     {.kind = ZH_EVENT_TAG, .ref = "refs/tags/v1"},
	     ZH_SKIP_EVENT,
	     "event tag not in [push]"},
	    {"tag rule, push event",
	     {.events = ZH_EVENT_TAG},
	     push_main,
	     ZH_SKIP_EVENT,
	     "event push not in [tag]"},
	    {"push and mr rule, tag event",
	     {.events = ZH_EVENT_PUSH | ZH_EVENT_MERGE_REQUEST},
	     {.kind = ZH_EVENT_TAG, .ref = "refs/tags/v1"},
	     ZH_SKIP_EVENT,
	     "event tag not in [push, merge_request]"},
	    {"mr event, push rule",
	     {.events = ZH_EVENT_PUSH},
	     {.kind = ZH_EVENT_MERGE_REQUEST, .mr_target_branch = "main"},
	     ZH_SKIP_EVENT,
	     "event merge_request not in [push]"},
	    {"branch matches",
	     {.branches = LIST("main", "release/*")},
	     push_main,
	     ZH_FIRE,
	     ""},
	    {"branch glob matches",
	     {.branches = LIST("main", "release/*")},
	     ev_with("refs/heads/release/2.0"),
	     ZH_FIRE,
	     ""},
	    {"branch matches none",
	     {.branches = LIST("main", "release/*")},
	     ev_with("refs/heads/foo"),
	     ZH_SKIP_BRANCH,
	     "branch 'foo' matches none of main, release/*"},
	    {"branch glob '*' does not cross '/'",
	     {.branches = LIST("release/*")},
	     ev_with("refs/heads/release/2.0/hotfix"),
	     ZH_SKIP_BRANCH,
	     "branch 'release/2.0/hotfix' matches none of release/*"},
	    {"no branches means any branch",
	     {.events = 0},
	     ev_with("refs/heads/whatever/x"),
	     ZH_FIRE,
	     ""},
	    {"tags matched on tag events",
	     {.events = ZH_EVENT_TAG,
	      .branches = LIST("main"),
	      .tags = LIST("v*")},
	     {.kind = ZH_EVENT_TAG, .ref = "refs/tags/v1.0"},
	     ZH_FIRE,
	     ""},
	    {"tag matches none",
	     {.events = ZH_EVENT_TAG, .tags = LIST("v*", "release-*")},
	     {.kind = ZH_EVENT_TAG, .ref = "refs/tags/nightly"},
	     ZH_SKIP_BRANCH,
	     "tag 'nightly' matches none of v*, release-*"},
	    {"no tags means any tag",
	     {.events = ZH_EVENT_TAG, .branches = LIST("main")},
	     {.kind = ZH_EVENT_TAG, .ref = "refs/tags/anything"},
	     ZH_FIRE,
	     ""},
	    {"tags do not filter pushes",
	     {.tags = LIST("v*")},
	     push_main,
	     ZH_FIRE,
	     ""},
	    {"mr: target branch matched",
	     {.events = ZH_EVENT_MERGE_REQUEST, .branches = LIST("main")},
	     {.kind = ZH_EVENT_MERGE_REQUEST,
	      .ref = "refs/heads/feature",
	      .mr_source_branch = "feature",
	      .mr_target_branch = "main"},
	     ZH_FIRE,
	     ""},
	    {"mr: source branch is not what is matched",
	     {.events = ZH_EVENT_MERGE_REQUEST, .branches = LIST("main")},
	     {.kind = ZH_EVENT_MERGE_REQUEST,
	      .ref = "refs/heads/main",
	      .mr_source_branch = "main",
	      .mr_target_branch = "develop"},
	     ZH_SKIP_BRANCH,
	     "target branch 'develop' matches none of main"},
	    /* a fork's code would run with the project's credentials */
	    {"mr from a fork: not without forks",
	     {.events = ZH_EVENT_MERGE_REQUEST, .branches = LIST("main")},
	     {.kind = ZH_EVENT_MERGE_REQUEST,
	      .mr_source_branch = "evil",
	      .mr_target_branch = "main",
	      .mr_fork = "evil/app"},
	     ZH_SKIP_FORK,
	     "merge request from a fork (evil/app); forks is false"},
	    {"mr from a fork: forks: true fires",
	     {.events = ZH_EVENT_MERGE_REQUEST, .forks = true},
	     {.kind = ZH_EVENT_MERGE_REQUEST,
	      .mr_source_branch = "evil",
	      .mr_target_branch = "main",
	      .mr_fork = "evil/app"},
	     ZH_FIRE,
	     ""},
	    {"mr from a fork: branch first",
	     {.events = ZH_EVENT_MERGE_REQUEST, .branches = LIST("main")},
	     {.kind = ZH_EVENT_MERGE_REQUEST,
	      .mr_target_branch = "develop",
	      .mr_fork = "evil/app"},
	     ZH_SKIP_BRANCH,
	     "target branch 'develop' matches none of main"},
	    {"paths: one changed path matches",
	     {.paths = LIST("src/**")},
	     push_main,
	     ZH_FIRE,
	     ""},
	    {"paths: none matches",
	     {.paths = LIST("src/**", "lib/**")},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .paths = docs_only,
	      .npaths = 2},
	     ZH_SKIP_PATHS,
	     "no changed path matches src/**, lib/**"},
	    {"paths: no changed path at all",
	     {.paths = LIST("src/**")},
	     {.kind = ZH_EVENT_PUSH, .ref = "refs/heads/main"},
	     ZH_SKIP_PATHS,
	     "no changed path matches src/**"},
	    {"paths: every path changed, none listed",
	     {.paths = LIST("src/**")},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .all_paths = true},
	     ZH_FIRE,
	     ""},
	    {"paths: every path changed, listed, none matches",
	     {.paths = LIST("src/**")},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .all_paths = true,
	      .paths = docs_only,
	      .npaths = 2},
	     ZH_SKIP_PATHS,
	     "no changed path matches src/**"},
	    {"paths: every path changed, listed, one matches",
	     {.paths = LIST("src/**")},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .all_paths = true,
	      .paths = src_and_docs,
	      .npaths = 2},
	     ZH_FIRE,
	     ""},
	    {"ignore_paths: every path ignored",
	     {.ignore_paths = LIST("docs/**", "*.md")},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .paths = docs_only,
	      .npaths = 2},
	     ZH_SKIP_IGNORED_PATHS,
	     "every changed path is ignored (docs/**, *.md)"},
	    {"ignore_paths: one path not ignored",
	     {.ignore_paths = LIST("docs/**", "*.md")},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .paths = docs_and_lib,
	      .npaths = 2},
	     ZH_FIRE,
	     ""},
	    {"ignore_paths: '*.md' is top level only",
	     {.ignore_paths = LIST("*.md")},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .paths = one_doc,
	      .npaths = 1},
	     ZH_FIRE,
	     ""},
	    {"ignore_paths: no changed path does not block",
	     {.ignore_paths = LIST("**")},
	     {.kind = ZH_EVENT_PUSH, .ref = "refs/heads/main"},
	     ZH_FIRE,
	     ""},
	    {"paths pass, then ignore_paths block",
	     {.paths = LIST("**"), .ignore_paths = LIST("docs/**")},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .paths = one_doc,
	      .npaths = 1},
	     ZH_SKIP_IGNORED_PATHS,
	     "every changed path is ignored (docs/**)"},
	    {"skip marker",
	     {.events = 0},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .message = "docs: typo\n\n[skip ci]"},
	     ZH_SKIP_MARKER,
	     "tip message has [skip ci]"},
	    {"skip marker, other spelling and case",
	     {.events = 0},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .message = "WIP [CI Skip]"},
	     ZH_SKIP_MARKER,
	     "tip message has [ci skip]"},
	    {"skip zadig marker",
	     {.events = 0},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .message = "x [Skip Zadig]"},
	     ZH_SKIP_MARKER,
	     "tip message has [skip zadig]"},
	    {"push option",
	     {.events = 0},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .skip_option = true},
	     ZH_SKIP_OPTION,
	     "push option ci.skip or zadig.skip"},
	    {"branch deletion never fires",
	     {.events = 0},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .after = "0000000000000000000000000000000000000000",
	      .deleted = true},
	     ZH_SKIP_DELETED,
	     "branch deletion"},
	    {"tag deletion never fires",
	     {.events = ZH_EVENT_TAG},
	     {.kind = ZH_EVENT_TAG, .ref = "refs/tags/v1", .deleted = true},
	     ZH_SKIP_DELETED,
	     "tag deletion"},
	    /* the first failing filter is the one reported */
	    {"deletion before repo",
	     {.repo = "nope"},
	     {.kind = ZH_EVENT_PUSH, .repo = "x", .deleted = true},
	     ZH_SKIP_DELETED,
	     "branch deletion"},
	    {"repo before event",
	     {.repo = "nope", .events = ZH_EVENT_TAG},
	     push_main,
	     ZH_SKIP_REPO,
	     "repo 'group/voting-app' does not match 'nope'"},
	    {"event before branch",
	     {.events = ZH_EVENT_TAG, .branches = LIST("x")},
	     push_main,
	     ZH_SKIP_EVENT,
	     "event push not in [tag]"},
	    {"branch before paths",
	     {.branches = LIST("x"), .paths = LIST("nope/**")},
	     push_main,
	     ZH_SKIP_BRANCH,
	     "branch 'main' matches none of x"},
	    {"paths before ignore_paths",
	     {.paths = LIST("nope/**"), .ignore_paths = LIST("**")},
	     push_main,
	     ZH_SKIP_PATHS,
	     "no changed path matches nope/**"},
	    {"ignore_paths before marker",
	     {.ignore_paths = LIST("**")},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .paths = one_doc,
	      .npaths = 1,
	      .message = "[skip ci]"},
	     ZH_SKIP_IGNORED_PATHS,
	     "every changed path is ignored (**)"},
	    {"marker before option",
	     {.events = 0},
	     {.kind = ZH_EVENT_PUSH,
	      .ref = "refs/heads/main",
	      .message = "[skip ci]",
	      .skip_option = true},
	     ZH_SKIP_MARKER,
	     "tip message has [skip ci]"},
	    {"NULL repo on the event is ''",
	     {.repo = "x"},
	     {.kind = ZH_EVENT_PUSH, .ref = "refs/heads/main"},
	     ZH_SKIP_REPO,
	     "repo '' does not match 'x'"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_explain(&cases[i]);
}

/* zh_mapping_may_fire over several rules: true when any rule passes the
 * repo, event and ref checks, whatever the paths and message. */
static void may_fire(void **state)
{
	struct zh_rule rules[] = {
	    {.name = "tags", .events = ZH_EVENT_TAG, .tags = LIST("v*")},
	    {.name = "main-src",
	     .repo = "group/*",
	     .branches = LIST("main"),
	     .paths = LIST("src/**")},
	    {.name = "mr",
	     .events = ZH_EVENT_MERGE_REQUEST,
	     .branches = LIST("release/*")},
	};
	struct zh_config cfg = {.rules = rules, .nrules = 3};
	struct zh_event ev = push_main;

	(void)state;
	ev.paths = one_doc; /* main-src's paths do not match: not asked */
	ev.npaths = 1;
	ev.message = "[skip ci]";
	assert_true(zh_mapping_may_fire(&cfg, &ev));
	ev.ref = "refs/heads/feature";
	assert_false(zh_mapping_may_fire(&cfg, &ev));
	ev.ref = "refs/heads/main";
	ev.repo = "other/app";
	assert_false(zh_mapping_may_fire(&cfg, &ev));
	ev.kind = ZH_EVENT_TAG;
	ev.ref = "refs/tags/v1.2";
	assert_true(zh_mapping_may_fire(&cfg, &ev));
	ev.ref = "refs/tags/nightly";
	assert_false(zh_mapping_may_fire(&cfg, &ev));
	ev.kind = ZH_EVENT_MERGE_REQUEST;
	ev.ref = "refs/heads/feature";
	ev.mr_target_branch = "release/2";
	assert_true(zh_mapping_may_fire(&cfg, &ev));
	ev.mr_target_branch = "main";
	assert_false(zh_mapping_may_fire(&cfg, &ev));
	ev = push_main;
	ev.deleted = true;
	assert_false(zh_mapping_may_fire(&cfg, &ev));
	/* the hook's form: the kind from the ref */
	assert_true(
	    zh_mapping_may_fire_ref(&cfg, "group/a", "refs/heads/main"));
	assert_false(
	    zh_mapping_may_fire_ref(&cfg, "other/a", "refs/heads/main"));
	assert_false(zh_mapping_may_fire_ref(&cfg, "group/a", "refs/heads/x"));
	assert_true(zh_mapping_may_fire_ref(&cfg, "any/a", "refs/tags/v2"));
	assert_false(zh_mapping_may_fire_ref(&cfg, "any/a", "refs/tags/x"));
	cfg.nrules = 0;
	assert_false(zh_mapping_may_fire(&cfg, &push_main));
	assert_false(zh_mapping_may_fire(NULL, &push_main));
	assert_false(zh_mapping_may_fire(&cfg, NULL));
}

static void explain_long_list_is_cut(void **state)
{
	char *globs[60];
	char names[60][16];
	struct zh_rule rule = {.name = "r"};
	struct zh_config cfg = {.rules = &rule, .nrules = 1};
	struct zh_event ev = ev_with("refs/heads/zzz");
	struct zh_verdict_list vl;
	size_t i, n;

	(void)state;
	for (i = 0; i < 60; i++) {
		snprintf(names[i], sizeof(names[i]), "branch-%zu", i);
		globs[i] = names[i];
	}
	rule.branches.items = globs;
	rule.branches.len = 60;
	assert_int_equal(zh_mapping_explain(&vl, &cfg, &ev, NULL), 0);
	assert_int_equal(vl.items[0].verdict, ZH_SKIP_BRANCH);
	n = strlen(vl.items[0].reason);
	assert_true(n < sizeof(vl.items[0].reason));
	assert_string_equal(vl.items[0].reason + n - 3, "...");
	assert_non_null(
	    strstr(vl.items[0].reason, "branch 'zzz' matches none of "));
	free(vl.items);
}

static void explain_args(void **state)
{
	struct zh_config cfg = {0};
	struct zh_verdict_list vl;
	struct zh_error err = {0};

	(void)state;
	assert_int_equal(zh_mapping_explain(&vl, &cfg, &push_main, &err), 0);
	assert_int_equal(vl.len, 0);
	assert_null(vl.items);
	assert_int_equal(zh_mapping_explain(&vl, NULL, &push_main, &err),
			 ZH_EINVALID);
	assert_int_equal(zh_mapping_explain(&vl, &cfg, NULL, &err),
			 ZH_EINVALID);
	assert_int_equal(zh_mapping_explain(NULL, &cfg, &push_main, &err),
			 ZH_EINVALID);
}

/* ---- match: the requests ---- */

struct id_ctx {
	int calls;
	const char *id; /* what to return; NULL: no id */
};

static char *make_id(void *ctx, const struct zh_rule *rule,
		     const struct zh_event *ev)
{
	struct id_ctx *c = ctx;

	(void)ev;
	assert_non_null(rule);
	c->calls++;
	return c->id ? strdup(c->id) : NULL;
}

static struct zh_value *str(const char *s)
{
	return zh_value_new_string(s);
}

/* [{image: "reg/vote:${SHORT_COMMIT}", service_name: vote}] */
static struct zh_value *release_images(void)
{
	struct zh_value *l = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *m = zh_value_new(ZH_VALUE_MAP);

	assert_int_equal(
	    zh_value_append(m, "image", str("reg/vote:${SHORT_COMMIT}")), 0);
	assert_int_equal(zh_value_append(m, "service_name", str("vote")), 0);
	assert_int_equal(zh_value_append(l, NULL, m), 0);
	return l;
}

static struct zh_rule_target dev_targets[] = {
    {.name = "vote",
     .service_type = "k8s",
     .repos = LIST("voting-app", "${REPO}-lib")},
    {.name = "result-${RULE}", .service_type = NULL, .repos = {NULL, 0}},
};

static char *dev_branches[] = {"main", "feature/*"};

static struct zh_rule dev_rule(void)
{
	struct zh_rule r = {.name = "dev", .repo = "group/*"};

	r.branches.items = dev_branches;
	r.branches.len = 2;
	r.events = ZH_EVENT_PUSH | ZH_EVENT_TAG | ZH_EVENT_MERGE_REQUEST;
	r.workflow.name = "voting-workflow-${BRANCH}";
	r.workflow.env = "dev";
	r.workflow.project = "voting";
	r.workflow.targets = dev_targets;
	r.workflow.ntargets = 2;
	return r;
}

static void product_push(void **state)
{
	struct zh_rule rule = dev_rule();
	struct zh_config cfg = {.rules = &rule, .nrules = 1};
	struct zh_trigger_list tl;
	struct zh_error err = {0};
	struct id_ctx ctx = {0, "t-1"};
	const struct zh_zadig_product_req *p;

	(void)state;
	rule.workflow.release_images = release_images();
	if (zh_mapping_match(&tl, &cfg, &push_main, make_id, &ctx, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(tl.len, 1);
	assert_ptr_equal(tl.items[0].rule, &rule);
	assert_false(tl.items[0].custom);
	assert_string_equal(tl.items[0].commit, push_main.after);
	assert_string_equal(tl.items[0].ref, "refs/heads/main");
	p = &tl.items[0].product;
	assert_string_equal(p->workflow_name, "voting-workflow-main");
	assert_string_equal(p->env_name, "dev");
	assert_string_equal(p->project, "voting");
	assert_int_equal(p->ntargets, 2);
	assert_string_equal(p->targets[0].name, "vote");
	assert_string_equal(p->targets[0].service_type, "k8s");
	assert_int_equal(p->targets[0].nrepos, 2);
	assert_string_equal(p->targets[0].repos[0].repo_name, "voting-app");
	assert_string_equal(p->targets[0].repos[0].branch, "main");
	assert_int_equal(p->targets[0].repos[0].pr, 0);
	assert_string_equal(p->targets[0].repos[1].repo_name,
			    "group/voting-app-lib");
	assert_string_equal(p->targets[0].repos[1].branch, "main");
	assert_string_equal(p->targets[1].name, "result-dev");
	assert_null(p->targets[1].service_type);
	assert_int_equal(p->targets[1].nrepos, 0);
	assert_null(p->targets[1].repos);
	assert_non_null(p->release_images);
	assert_int_equal(p->release_images->type, ZH_VALUE_LIST);
	assert_string_equal(
	    zh_value_get(p->release_images->items[0], "image")->u.s,
	    "reg/vote:22222222");
	/* the rule's tree is copied, not expanded in place */
	assert_string_equal(
	    zh_value_get(rule.workflow.release_images->items[0], "image")->u.s,
	    "reg/vote:${SHORT_COMMIT}");
	/* no callback configured: no id asked for */
	assert_int_equal(ctx.calls, 0);
	assert_null(p->callback_url);
	assert_int_equal(p->ncallback_vars, 0);
	zh_trigger_list_dispose(&tl);
	assert_null(tl.items);
	assert_int_equal(tl.len, 0);
	zh_trigger_list_dispose(&tl);
	zh_trigger_list_dispose(NULL);
	zh_value_free(rule.workflow.release_images);
}

static void product_optional_fields_stay_null(void **state)
{
	struct zh_rule rule = {.name = "min"};
	struct zh_config cfg = {.rules = &rule, .nrules = 1};
	struct zh_trigger_list tl;

	(void)state;
	rule.workflow.name = "wf";
	assert_int_equal(
	    zh_mapping_match(&tl, &cfg, &push_main, NULL, NULL, NULL), 0);
	assert_int_equal(tl.len, 1);
	assert_string_equal(tl.items[0].product.workflow_name, "wf");
	assert_null(tl.items[0].product.env_name);
	assert_null(tl.items[0].product.project);
	assert_null(tl.items[0].product.targets);
	assert_null(tl.items[0].product.release_images);
	zh_trigger_list_dispose(&tl);
}

static void merge_request(void **state)
{
	struct zh_rule rule = dev_rule();
	struct zh_config cfg = {.rules = &rule, .nrules = 1};
	struct zh_trigger_list tl;
	struct zh_event ev = {
	    .kind = ZH_EVENT_MERGE_REQUEST,
	    .repo = "group/voting-app",
	    .ref = "refs/heads/topic",
	    .after = "3333333333333333333333333333333333333333",
	    .mr_iid = 17,
	    .mr_source_branch = "topic",
	    .mr_target_branch = "main",
	};
	const struct zh_zadig_product_req *p;

	(void)state;
	rule.workflow.name = "wf-${BRANCH}-to-${MR_TARGET_BRANCH}-${MR_IID}";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, NULL, NULL, NULL), 0);
	assert_int_equal(tl.len, 1);
	p = &tl.items[0].product;
	assert_string_equal(p->workflow_name, "wf-topic-to-main-17");
	assert_string_equal(p->targets[0].repos[0].branch, "topic");
	assert_int_equal(p->targets[0].repos[0].pr, 17);
	assert_int_equal(p->targets[0].repos[1].pr, 17);
	assert_string_equal(tl.items[0].commit, ev.after);
	assert_string_equal(tl.items[0].ref, "refs/heads/topic");
	zh_trigger_list_dispose(&tl);

	/* a source branch matching the globs does not make it fire */
	ev.mr_source_branch = "main";
	ev.mr_target_branch = "develop";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, NULL, NULL, NULL), 0);
	assert_int_equal(tl.len, 0);
	assert_null(tl.items);

	/* without a source branch, the ref names it */
	ev.mr_source_branch = NULL;
	ev.mr_target_branch = "feature/y";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, NULL, NULL, NULL), 0);
	assert_int_equal(tl.len, 1);
	assert_string_equal(tl.items[0].product.targets[0].repos[0].branch,
			    "topic");
	zh_trigger_list_dispose(&tl);

	/* from a fork (forks: true): its branch is not the project's, the
	 * build gets the target branch and the merge request's number */
	rule.forks = true;
	ev.mr_fork = "evil/app";
	ev.mr_source_branch = "main";
	ev.mr_target_branch = "feature/y";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, NULL, NULL, NULL), 0);
	assert_int_equal(tl.len, 1);
	p = &tl.items[0].product;
	assert_string_equal(p->workflow_name, "wf-feature/y-to-feature/y-17");
	assert_string_equal(p->targets[0].repos[0].branch, "feature/y");
	assert_int_equal(p->targets[0].repos[0].pr, 17);
	zh_trigger_list_dispose(&tl);
}

static void tag_push(void **state)
{
	struct zh_rule rule = dev_rule();
	struct zh_config cfg = {.rules = &rule, .nrules = 1};
	struct zh_trigger_list tl;
	struct zh_event ev = {
	    .kind = ZH_EVENT_TAG,
	    .repo = "group/voting-app",
	    .ref = "refs/tags/v2.0.0",
	    .after = "4444444444444444444444444444444444444444",
	};

	(void)state;
	rule.tags.items = (char *[]){"v*"};
	rule.tags.len = 1;
	rule.workflow.name = "release-${TAG}${BRANCH}";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, NULL, NULL, NULL), 0);
	assert_int_equal(tl.len, 1);
	assert_string_equal(tl.items[0].product.workflow_name,
			    "release-v2.0.0");
	assert_string_equal(tl.items[0].product.targets[0].repos[0].branch,
			    "v2.0.0");
	assert_int_equal(tl.items[0].product.targets[0].repos[0].pr, 0);
	assert_string_equal(tl.items[0].ref, "refs/tags/v2.0.0");
	zh_trigger_list_dispose(&tl);

	ev.ref = "refs/tags/nightly";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, NULL, NULL, NULL), 0);
	assert_int_equal(tl.len, 0);
}

static void deletion_never_fires(void **state)
{
	struct zh_rule rule = dev_rule();
	struct zh_config cfg = {.rules = &rule, .nrules = 1};
	struct zh_trigger_list tl;
	struct zh_event ev = push_main;

	(void)state;
	ev.deleted = true;
	ev.after = "0000000000000000000000000000000000000000";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, NULL, NULL, NULL), 0);
	assert_int_equal(tl.len, 0);
	assert_null(tl.items);
}

static void callback(void **state)
{
	struct zh_rule rule = dev_rule();
	struct zh_config cfg = {.rules = &rule, .nrules = 1};
	struct zh_trigger_list tl;
	struct zh_event ev = push_main;
	struct id_ctx ctx = {0, "what do ya want for nothing?"};
	const struct zh_zadig_product_req *p;
	static const char *const want_vars[][2] = {
	    {"repo", "group/voting-app"},
	    {"ref", "refs/heads/main"},
	    {"commit", "2222222222222222222222222222222222222222"},
	    {"rule", "dev"},
	};
	size_t i;

	(void)state;
	rule.workflow.callback = true;
	ev.callback_base = "https://hooks.example.com//";
	ev.callback_secret = "Jefe";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, make_id, &ctx, NULL),
			 0);
	assert_int_equal(ctx.calls, 1);
	p = &tl.items[0].product;
	/* k is URL-encoded; s is RFC 4231 case 2 */
	assert_string_equal(
	    p->callback_url,
	    "https://hooks.example.com/callback/zadig"
	    "?k=what%20do%20ya%20want%20for%20nothing%3F"
	    "&s=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b9"
	    "64ec3843");
	assert_int_equal(p->ncallback_vars, 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(p->callback_vars[i].key, want_vars[i][0]);
		assert_string_equal(p->callback_vars[i].value, want_vars[i][1]);
	}
	zh_trigger_list_dispose(&tl);

	/* an id that needs no escaping, base without a slash */
	ctx.id = "01HX-abc_1.2~3";
	ev.callback_base = "http://127.0.0.1:8080";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, make_id, &ctx, NULL),
			 0);
	assert_non_null(strstr(tl.items[0].product.callback_url,
			       "http://127.0.0.1:8080/callback/zadig"
			       "?k=01HX-abc_1.2~3&s="));
	assert_int_equal(
	    strlen(strstr(tl.items[0].product.callback_url, "&s=")), 3 + 64);
	zh_trigger_list_dispose(&tl);
}

static void no_callback(void **state)
{
	struct zh_rule rule = dev_rule();
	struct zh_config cfg = {.rules = &rule, .nrules = 1};
	struct zh_trigger_list tl;
	struct zh_event ev = push_main;
	struct id_ctx ctx = {0, "id"};
	struct id_ctx no_id = {0, NULL};

	(void)state;
	rule.workflow.callback = true;
	ev.callback_secret = "s";
	/* no public URL */
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, make_id, &ctx, NULL),
			 0);
	assert_null(tl.items[0].product.callback_url);
	assert_int_equal(ctx.calls, 0);
	zh_trigger_list_dispose(&tl);
	/* no id function */
	ev.callback_base = "https://h";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, NULL, NULL, NULL), 0);
	assert_null(tl.items[0].product.callback_url);
	zh_trigger_list_dispose(&tl);
	/* the function gives no id */
	assert_int_equal(
	    zh_mapping_match(&tl, &cfg, &ev, make_id, &no_id, NULL), 0);
	assert_int_equal(no_id.calls, 1);
	assert_null(tl.items[0].product.callback_url);
	assert_int_equal(tl.items[0].product.ncallback_vars, 0);
	zh_trigger_list_dispose(&tl);
	/* no secret to sign with */
	ev.callback_secret = NULL;
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, make_id, &ctx, NULL),
			 0);
	assert_null(tl.items[0].product.callback_url);
	assert_int_equal(ctx.calls, 0);
	zh_trigger_list_dispose(&tl);
	/* the rule does not ask for one */
	ev.callback_secret = "s";
	rule.workflow.callback = false;
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, make_id, &ctx, NULL),
			 0);
	assert_null(tl.items[0].product.callback_url);
	assert_int_equal(ctx.calls, 0);
	zh_trigger_list_dispose(&tl);
}

/* The seed's Input list, with variables at several depths:
 * [{job_name: build-${RULE}, job_type: zadig-build,
 *   parameters: {registry: r, n: 3, on: true, none: null,
 *     service_list: [{service_name: zadig,
 *       repo_info: [{branch: ${BRANCH}, repo_name: zadig}]}],
 *     tags: [${SHORT_COMMIT}, [${REPO}]],
 *     ${RULE}: key-is-not-expanded}}] */
static struct zh_value *custom_inputs(void)
{
	struct zh_value *inputs = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *job = zh_value_new(ZH_VALUE_MAP);
	struct zh_value *params = zh_value_new(ZH_VALUE_MAP);
	struct zh_value *services = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *svc = zh_value_new(ZH_VALUE_MAP);
	struct zh_value *repos = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *repo = zh_value_new(ZH_VALUE_MAP);
	struct zh_value *tags = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *inner = zh_value_new(ZH_VALUE_LIST);

	assert_int_equal(zh_value_append(repo, "branch", str("${BRANCH}")), 0);
	assert_int_equal(zh_value_append(repo, "repo_name", str("zadig")), 0);
	assert_int_equal(zh_value_append(repos, NULL, repo), 0);
	assert_int_equal(zh_value_append(svc, "service_name", str("zadig")), 0);
	assert_int_equal(zh_value_append(svc, "repo_info", repos), 0);
	assert_int_equal(zh_value_append(services, NULL, svc), 0);
	assert_int_equal(zh_value_append(inner, NULL, str("${REPO}")), 0);
	assert_int_equal(zh_value_append(tags, NULL, str("${SHORT_COMMIT}")),
			 0);
	assert_int_equal(zh_value_append(tags, NULL, inner), 0);
	assert_int_equal(zh_value_append(params, "registry", str("r")), 0);
	assert_int_equal(zh_value_append(params, "n", zh_value_new_int(3)), 0);
	assert_int_equal(zh_value_append(params, "on", zh_value_new_bool(true)),
			 0);
	assert_int_equal(
	    zh_value_append(params, "none", zh_value_new(ZH_VALUE_NULL)), 0);
	assert_int_equal(zh_value_append(params, "service_list", services), 0);
	assert_int_equal(zh_value_append(params, "tags", tags), 0);
	assert_int_equal(
	    zh_value_append(params, "${RULE}", str("key-is-not-expanded")), 0);
	assert_int_equal(zh_value_append(job, "job_name", str("build-${RULE}")),
			 0);
	assert_int_equal(zh_value_append(job, "job_type", str("zadig-build")),
			 0);
	assert_int_equal(zh_value_append(job, "parameters", params), 0);
	assert_int_equal(zh_value_append(inputs, NULL, job), 0);
	return inputs;
}

static void custom_workflow(void **state)
{
	struct zh_rule rule = {.name = "build-images", .custom = true};
	struct zh_config cfg = {.rules = &rule, .nrules = 1};
	struct zh_trigger_list tl;
	const struct zh_zadig_custom_req *c;
	const struct zh_value *job, *params, *repo, *tags;

	(void)state;
	rule.custom_workflow.project = "helm-${BRANCH}";
	rule.custom_workflow.name = "test-openapi";
	rule.custom_workflow.inputs = custom_inputs();
	/* a callback flag on the product half is irrelevant here */
	rule.workflow.callback = true;
	assert_int_equal(
	    zh_mapping_match(&tl, &cfg, &push_main, NULL, NULL, NULL), 0);
	assert_int_equal(tl.len, 1);
	assert_true(tl.items[0].custom);
	assert_null(tl.items[0].product.workflow_name);
	c = &tl.items[0].custom_req;
	assert_string_equal(c->project, "helm-main");
	assert_string_equal(c->workflow_name, "test-openapi");
	assert_int_equal(c->inputs->type, ZH_VALUE_LIST);
	assert_int_equal(c->inputs->len, 1);
	job = c->inputs->items[0];
	assert_string_equal(zh_value_get(job, "job_name")->u.s,
			    "build-build-images");
	assert_string_equal(zh_value_get(job, "job_type")->u.s, "zadig-build");
	params = zh_value_get(job, "parameters");
	assert_int_equal(params->len, 7);
	assert_int_equal(zh_value_get(params, "n")->type, ZH_VALUE_INT);
	assert_int_equal(zh_value_get(params, "n")->u.i, 3);
	assert_true(zh_value_get(params, "on")->u.b);
	assert_int_equal(zh_value_get(params, "none")->type, ZH_VALUE_NULL);
	repo = zh_value_get(params, "service_list")->items[0];
	repo = zh_value_get(repo, "repo_info")->items[0];
	assert_string_equal(zh_value_get(repo, "branch")->u.s, "main");
	assert_string_equal(zh_value_get(repo, "repo_name")->u.s, "zadig");
	tags = zh_value_get(params, "tags");
	assert_string_equal(tags->items[0]->u.s, "22222222");
	assert_string_equal(tags->items[1]->items[0]->u.s, "group/voting-app");
	assert_string_equal(zh_value_get(params, "${RULE}")->u.s,
			    "key-is-not-expanded");
	/* key order kept */
	assert_string_equal(params->keys[0], "registry");
	assert_string_equal(params->keys[6], "${RULE}");
	zh_trigger_list_dispose(&tl);
	zh_value_free(rule.custom_workflow.inputs);
}

static void several_rules(void **state)
{
	struct zh_rule rules[4] = {
	    {.name = "a", .workflow = {.name = "wf-a"}},
	    {.name = "b",
	     .branches = LIST("release/*"),
	     .workflow = {.name = "wf-b"}},
	    {.name = "c",
	     .custom = true,
	     .custom_workflow = {.project = "p", .name = "wf-${RULE}"}},
	    {.name = "d",
	     .paths = LIST("src/**"),
	     .workflow = {.name = "wf-${RULE}"}},
	};
	struct zh_config cfg = {.rules = rules, .nrules = 4};
	struct zh_trigger_list tl;
	struct zh_verdict_list vl;

	(void)state;
	assert_int_equal(
	    zh_mapping_match(&tl, &cfg, &push_main, NULL, NULL, NULL), 0);
	assert_int_equal(tl.len, 3);
	assert_ptr_equal(tl.items[0].rule, &rules[0]);
	assert_string_equal(tl.items[0].product.workflow_name, "wf-a");
	assert_ptr_equal(tl.items[1].rule, &rules[2]);
	assert_true(tl.items[1].custom);
	assert_string_equal(tl.items[1].custom_req.workflow_name, "wf-c");
	assert_null(tl.items[1].custom_req.inputs);
	assert_ptr_equal(tl.items[2].rule, &rules[3]);
	assert_string_equal(tl.items[2].product.workflow_name, "wf-d");
	zh_trigger_list_dispose(&tl);

	assert_int_equal(zh_mapping_explain(&vl, &cfg, &push_main, NULL), 0);
	assert_int_equal(vl.len, 4);
	assert_int_equal(vl.items[0].verdict, ZH_FIRE);
	assert_int_equal(vl.items[1].verdict, ZH_SKIP_BRANCH);
	assert_string_equal(vl.items[1].reason,
			    "branch 'main' matches none of release/*");
	assert_int_equal(vl.items[2].verdict, ZH_FIRE);
	assert_int_equal(vl.items[3].verdict, ZH_FIRE);
	free(vl.items);
}

static void many_rules(void **state)
{
	enum { N = 200 };
	struct zh_rule *rules = calloc(N, sizeof(*rules));
	char(*names)[16] = calloc(N, sizeof(*names));
	char(*globs)[16] = calloc(N, sizeof(*globs));
	char **globp = calloc(N, sizeof(*globp));
	struct zh_config cfg = {.rules = rules, .nrules = N};
	struct zh_event ev = ev_with("refs/heads/b3-feature");
	struct zh_trigger_list tl;
	struct zh_verdict_list vl;
	struct id_ctx ctx = {0, "id"};
	size_t i, fired = 0;

	(void)state;
	assert_non_null(rules);
	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "r%zu", i);
		snprintf(globs[i], sizeof(globs[i]), "b%zu-*", i % 10);
		globp[i] = globs[i];
		rules[i].name = names[i];
		rules[i].branches.items = &globp[i];
		rules[i].branches.len = 1;
		rules[i].workflow.name = "wf-${RULE}";
		rules[i].workflow.callback = true;
	}
	ev.callback_base = "https://h";
	ev.callback_secret = "s";
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, make_id, &ctx, NULL),
			 0);
	assert_int_equal(tl.len, N / 10);
	assert_int_equal(ctx.calls, N / 10);
	for (i = 0; i < tl.len; i++) {
		char want[32];

		snprintf(want, sizeof(want), "wf-r%zu", 10 * i + 3);
		assert_string_equal(tl.items[i].product.workflow_name, want);
		assert_non_null(tl.items[i].product.callback_url);
	}
	zh_trigger_list_dispose(&tl);

	assert_int_equal(zh_mapping_explain(&vl, &cfg, &ev, NULL), 0);
	assert_int_equal(vl.len, N);
	for (i = 0; i < N; i++) {
		assert_ptr_equal(vl.items[i].rule, &rules[i]);
		if (vl.items[i].verdict == ZH_FIRE)
			fired++;
		else
			assert_int_equal(vl.items[i].verdict, ZH_SKIP_BRANCH);
	}
	assert_int_equal(fired, N / 10);
	free(vl.items);
	free(rules);
	free(names);
	free(globs);
	free(globp);
}

static void match_args(void **state)
{
	struct zh_config cfg = {0};
	struct zh_trigger_list tl;
	struct zh_error err = {0};

	(void)state;
	assert_int_equal(
	    zh_mapping_match(&tl, &cfg, &push_main, NULL, NULL, &err), 0);
	assert_int_equal(tl.len, 0);
	assert_null(tl.items);
	assert_int_equal(
	    zh_mapping_match(&tl, NULL, &push_main, NULL, NULL, &err),
	    ZH_EINVALID);
	assert_string_equal(err.msg, "missing config or event");
	assert_int_equal(zh_mapping_match(&tl, &cfg, NULL, NULL, NULL, &err),
			 ZH_EINVALID);
	assert_int_equal(
	    zh_mapping_match(NULL, &cfg, &push_main, NULL, NULL, &err),
	    ZH_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(explain_table),
	    cmocka_unit_test(explain_long_list_is_cut),
	    cmocka_unit_test(may_fire),
	    cmocka_unit_test(explain_args),
	    cmocka_unit_test(product_push),
	    cmocka_unit_test(product_optional_fields_stay_null),
	    cmocka_unit_test(merge_request),
	    cmocka_unit_test(tag_push),
	    cmocka_unit_test(deletion_never_fires),
	    cmocka_unit_test(callback),
	    cmocka_unit_test(no_callback),
	    cmocka_unit_test(custom_workflow),
	    cmocka_unit_test(several_rules),
	    cmocka_unit_test(many_rules),
	    cmocka_unit_test(match_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
