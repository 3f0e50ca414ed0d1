/* zh_config_parse / zh_config_load: schema, defaults, every error case
 * with its exact FILE:LINE:COL, environment expansion, token handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "util/banned.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/value.h"

#define TOKEN "s3cr3t-t0ken-value"
/* Three lines, so rules start on line 4. */
#define ZADIG                                                                  \
	"zadig:\n"                                                             \
	"  url: https://zadig.example.com\n"                                   \
	"  token: " TOKEN "\n"
#define WF                                                                     \
	"    workflow: {name: w, env: dev, targets: [{name: s, repos: "        \
	"[r]}]}\n"

struct res {
	struct zh_config *c;
	struct zh_config_diag d;
	struct zh_error e;
	int rc;
};

static void run(struct res *r, const char *text)
{
	memset(r, 0, sizeof(*r));
	r->rc =
	    zh_config_parse(&r->c, "t.yaml", text, strlen(text), &r->d, &r->e);
}

static void done(struct res *r)
{
	zh_config_free(r->c);
	zh_config_diag_dispose(&r->d);
}

/* Loads, else fails printing every message. */
static void ok(struct res *r, const char *text)
{
	size_t i;

	run(r, text);
	for (i = 0; i < r->d.len; i++)
		print_error("%s\n", r->d.msgs[i]);
	assert_int_equal(r->rc, 0);
	assert_non_null(r->c);
}

/* Fails with exactly one error, msg. */
static void fails(const char *text, const char *msg)
{
	struct res r;
	size_t i;

	run(&r, text);
	if (r.d.len != 1 || strcmp(r.d.msgs[0], msg) != 0)
		for (i = 0; i < r.d.len; i++)
			print_error("got: %s\n", r.d.msgs[i]);
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_null(r.c);
	assert_int_equal(r.e.code, ZH_ECONFIG);
	assert_int_equal(r.d.len, 1);
	assert_string_equal(r.d.msgs[0], msg);
	assert_string_equal(r.e.msg, msg);
	done(&r);
}

static void defaults(void **state)
{
	struct res r;

	(void)state;
	ok(&r, ZADIG "rules:\n  - name: dev\n    workflow:\n      name: w\n"
		     "      env: dev\n      targets: [{name: vote}]\n");
	assert_string_equal(r.c->zadig.url, "https://zadig.example.com");
	assert_string_equal(r.c->zadig.token, TOKEN);
	assert_null(r.c->zadig.token_file);
	assert_int_equal(r.c->zadig.timeout_ms, 10000);
	assert_null(r.c->zadig.ca_file);
	assert_false(r.c->zadig.insecure_skip_tls_verify);
	assert_null(r.c->state_dir);
	assert_string_equal(r.c->notes.ref, "refs/notes/zadig");
	assert_false(r.c->notes.push);
	assert_int_equal(r.c->hook.mode, ZH_HOOK_SYNC);
	assert_int_equal(r.c->hook.deadline_ms, 10000);
	assert_null(r.c->hook.repo_root);
	assert_true(r.c->hook.poll);
	assert_int_equal(r.c->poll.interval_ms, 10000);
	assert_int_equal(r.c->poll.max_interval_ms, 120000);
	assert_int_equal(r.c->poll.give_up_after_ms, 24 * 3600 * 1000);
	assert_string_equal(r.c->webhook.listen, "127.0.0.1:8080");
	assert_null(r.c->webhook.secret);
	assert_int_equal(r.c->webhook.max_body, 1 << 20);
	assert_int_equal(r.c->webhook.workers, 4);
	assert_int_equal(r.c->webhook.nrepos, 0);
	assert_int_equal(r.c->nrules, 1);
	assert_string_equal(r.c->rules[0].name, "dev");
	assert_null(r.c->rules[0].repo);
	assert_int_equal(r.c->rules[0].branches.len, 0);
	assert_int_equal(r.c->rules[0].events, ZH_EVENT_PUSH);
	assert_false(r.c->rules[0].custom);
	assert_false(r.c->rules[0].workflow.callback);
	assert_null(r.c->rules[0].workflow.release_images);
	assert_null(r.c->rules[0].workflow.project);
	assert_int_equal(r.c->rules[0].workflow.ntargets, 1);
	assert_string_equal(r.c->rules[0].workflow.targets[0].service_type,
			    "k8s");
	assert_int_equal(r.c->rules[0].workflow.targets[0].repos.len, 0);
	assert_int_equal(r.c->rules[0].line, 5);
	assert_int_equal(r.c->rules[0].col, 5);
	/* (the target without repos) */
	assert_int_equal(r.d.nwarnings, 1);
	assert_int_equal(r.c->ncheck_errors, 0);
	assert_ptr_equal(zh_config_rule(r.c, "dev"), &r.c->rules[0]);
	assert_null(zh_config_rule(r.c, "nope"));
	done(&r);
}

static void values(void **state)
{
	struct res r;
	const struct zh_rule *x;

	(void)state;
	ok(&r, ZADIG "  timeout: 1h30m\n"
		     "  insecure_skip_tls_verify: true\n"
		     "state_dir: /var/lib/zh\n"
		     "notes: {ref: refs/notes/ci, push: true}\n"
		     "hook: {mode: async, deadline: 500ms, poll: false,"
		     " repo_root: /srv}\n"
		     "poll: {interval: 1s, max_interval: 5m,"
		     " give_up_after: 1h}\n"
		     "webhook:\n"
		     "  secret: s\n"
		     "  listen: '[::1]:9000'\n"
		     "  max_body: 512KiB\n"
		     "  workers: 64\n"
		     "  repos:\n"
		     "    - {project: 'g/*', url: https://g/x.git,"
		     " credentials: {username: u, password: p}}\n"
		     "rules:\n"
		     "  - name: x\n"
		     "    repo: 'g/*'\n"
		     "    branches: main\n"
		     "    tags: ['v*', 'rel-[0-9]*']\n"
		     "    events: [tag, merge_request]\n"
		     "    paths: 'src/**'\n"
		     "    custom_workflow: {project: p, name: n}\n");
	assert_int_equal(r.c->zadig.timeout_ms, 5400000);
	assert_true(r.c->zadig.insecure_skip_tls_verify);
	assert_string_equal(r.c->state_dir, "/var/lib/zh");
	assert_string_equal(r.c->notes.ref, "refs/notes/ci");
	assert_true(r.c->notes.push);
	assert_int_equal(r.c->hook.mode, ZH_HOOK_ASYNC);
	assert_int_equal(r.c->hook.deadline_ms, 500);
	assert_false(r.c->hook.poll);
	assert_string_equal(r.c->hook.repo_root, "/srv");
	assert_int_equal(r.c->poll.interval_ms, 1000);
	assert_int_equal(r.c->poll.max_interval_ms, 300000);
	assert_int_equal(r.c->poll.give_up_after_ms, 3600000);
	assert_string_equal(r.c->webhook.listen, "[::1]:9000");
	assert_int_equal(r.c->webhook.max_body, 512 * 1024);
	assert_int_equal(r.c->webhook.workers, 64);
	assert_int_equal(r.c->webhook.nrepos, 1);
	assert_string_equal(r.c->webhook.repos[0].project, "g/*");
	assert_null(r.c->webhook.repos[0].path);
	assert_string_equal(r.c->webhook.repos[0].url, "https://g/x.git");
	assert_string_equal(r.c->webhook.repos[0].username, "u");
	assert_string_equal(r.c->webhook.repos[0].password, "p");
	x = zh_config_rule(r.c, "x");
	assert_non_null(x);
	assert_string_equal(x->repo, "g/*");
	assert_int_equal(x->branches.len, 1);
	assert_string_equal(x->branches.items[0], "main");
	assert_int_equal(x->tags.len, 2);
	assert_string_equal(x->tags.items[1], "rel-[0-9]*");
	assert_int_equal(x->events, ZH_EVENT_TAG | ZH_EVENT_MERGE_REQUEST);
	assert_int_equal(x->paths.len, 1);
	assert_true(x->custom);
	assert_string_equal(x->custom_workflow.project, "p");
	assert_string_equal(x->custom_workflow.name, "n");
	/* inputs default to an empty list */
	assert_non_null(x->custom_workflow.inputs);
	assert_int_equal(x->custom_workflow.inputs->type, ZH_VALUE_LIST);
	assert_int_equal(x->custom_workflow.inputs->len, 0);
	done(&r);
}

static void free_form(void **state)
{
	struct res r;
	const struct zh_value *in, *p, *rel;

	(void)state;
	setenv("ZH_TEST_REGISTRY", "https://reg.example.com", 1);
	ok(&r, ZADIG "rules:\n"
		     "  - name: c\n"
		     "    custom_workflow:\n"
		     "      project: p\n"
		     "      name: n\n"
		     "      inputs:\n"
		     "        - job_name: build\n"
		     "          parameters:\n"
		     "            registry: ${ZH_TEST_REGISTRY}/x\n"
		     "            n: 42\n"
		     "            neg: -7\n"
		     "            quoted: \"42\"\n"
		     "            on: true\n"
		     "            off: False\n"
		     "            word: yes\n"
		     "            nothing: ~\n"
		     "            empty:\n"
		     "            branch: ${BRANCH}\n"
		     "            list: [a, 1]\n"
		     "  - name: p\n"
		     "    workflow:\n"
		     "      name: w\n"
		     "      env: ''\n"
		     "      release_images: [{image: 'x:${SHORT_COMMIT}'}]\n");
	in = r.c->rules[0].custom_workflow.inputs;
	assert_int_equal(in->type, ZH_VALUE_LIST);
	assert_int_equal(in->len, 1);
	assert_int_equal(in->items[0]->type, ZH_VALUE_MAP);
	assert_int_equal(in->items[0]->line, 10);
	assert_int_equal(in->items[0]->col, 11);
	assert_string_equal(zh_value_get(in->items[0], "job_name")->u.s,
			    "build");
	p = zh_value_get(in->items[0], "parameters");
	assert_non_null(p);
	assert_string_equal(zh_value_get(p, "registry")->u.s,
			    "https://reg.example.com/x");
	assert_int_equal(zh_value_get(p, "registry")->line, 12);
	assert_int_equal(zh_value_get(p, "registry")->col, 23);
	assert_int_equal(zh_value_get(p, "n")->type, ZH_VALUE_INT);
	assert_int_equal(zh_value_get(p, "n")->u.i, 42);
	assert_int_equal(zh_value_get(p, "neg")->u.i, -7);
	assert_int_equal(zh_value_get(p, "quoted")->type, ZH_VALUE_STRING);
	assert_string_equal(zh_value_get(p, "quoted")->u.s, "42");
	assert_int_equal(zh_value_get(p, "on")->type, ZH_VALUE_BOOL);
	assert_true(zh_value_get(p, "on")->u.b);
	assert_int_equal(zh_value_get(p, "off")->type, ZH_VALUE_BOOL);
	assert_false(zh_value_get(p, "off")->u.b);
	assert_int_equal(zh_value_get(p, "word")->type, ZH_VALUE_STRING);
	assert_int_equal(zh_value_get(p, "nothing")->type, ZH_VALUE_NULL);
	assert_int_equal(zh_value_get(p, "empty")->type, ZH_VALUE_NULL);
	assert_string_equal(zh_value_get(p, "branch")->u.s, "${BRANCH}");
	assert_int_equal(zh_value_get(p, "list")->len, 2);
	assert_int_equal(zh_value_get(p, "list")->items[1]->u.i, 1);
	assert_string_equal(r.c->rules[1].workflow.env, "");
	rel = r.c->rules[1].workflow.release_images;
	assert_non_null(rel);
	assert_int_equal(rel->type, ZH_VALUE_LIST);
	assert_string_equal(zh_value_get(rel->items[0], "image")->u.s,
			    "x:${SHORT_COMMIT}");
	done(&r);
}

/* The inputs of a custom workflow, on line 9 from column 16, as a
 * one-item list. */
#define INPUTS(v)                                                              \
	ZADIG "rules:\n  - name: c\n    custom_workflow:\n"                    \
	      "      project: p\n      name: n\n      inputs: [" v "]\n"

/* The audit: explicit tags were ignored (!!str 5 was sent as 5, !!str
 * true as true, !!int "7" as "7") and every float became a string (2.5
 * as "2.5"). Free-form values follow YAML 1.2's core schema: tags
 * decide, floats are numbers sent with their own digits. */
static void free_form_types(void **state)
{
	static const struct {
		const char *yaml;
		enum zh_value_type type;
		const char *s; /* STRING, NUMBER */
		int64_t i;     /* INT, BOOL */
	} good[] = {
	    {"!!str 5", ZH_VALUE_STRING, "5", 0},
	    {"!!str true", ZH_VALUE_STRING, "true", 0},
	    {"!!str ~", ZH_VALUE_STRING, "~", 0},
	    {"!!str 2.5", ZH_VALUE_STRING, "2.5", 0},
	    {"! 12", ZH_VALUE_STRING, "12", 0},
	    {"!!str '${BRANCH}'", ZH_VALUE_STRING, "${BRANCH}", 0},
	    {"!!str \"${ZH_TEST_REGISTRY}\"", ZH_VALUE_STRING,
	     "https://reg.example.com", 0},
	    {"!!int \"7\"", ZH_VALUE_INT, NULL, 7},
	    {"!!int 0o17", ZH_VALUE_INT, NULL, 15},
	    {"0x1F", ZH_VALUE_INT, NULL, 31},
	    {"0o17", ZH_VALUE_INT, NULL, 15},
	    {"+12", ZH_VALUE_INT, NULL, 12},
	    {"'0x1F'", ZH_VALUE_STRING, "0x1F", 0},
	    {"2.5", ZH_VALUE_NUMBER, "2.5", 0},
	    {"-2.50", ZH_VALUE_NUMBER, "-2.50", 0},
	    {"1e3", ZH_VALUE_NUMBER, "1e3", 0},
	    {"+1.5E-3", ZH_VALUE_NUMBER, "1.5E-3", 0},
	    {".5", ZH_VALUE_NUMBER, "0.5", 0},
	    {"-.5", ZH_VALUE_NUMBER, "-0.5", 0},
	    {"1.", ZH_VALUE_NUMBER, "1.0", 0},
	    {"007.5", ZH_VALUE_NUMBER, "7.5", 0},
	    {"12345678901234567890", ZH_VALUE_NUMBER, "12345678901234567890",
	     0},
	    {"!!int 12345678901234567890", ZH_VALUE_NUMBER,
	     "12345678901234567890", 0},
	    {"!!float 7", ZH_VALUE_NUMBER, "7.0", 0},
	    {"!!float '2.5'", ZH_VALUE_NUMBER, "2.5", 0},
	    {"'2.5'", ZH_VALUE_STRING, "2.5", 0},
	    {"1.2.3", ZH_VALUE_STRING, "1.2.3", 0},
	    {"1e", ZH_VALUE_STRING, "1e", 0},
	    {"!!bool 'false'", ZH_VALUE_BOOL, NULL, 0},
	    {"!!bool TRUE", ZH_VALUE_BOOL, NULL, 1},
	    {"!!null ''", ZH_VALUE_NULL, NULL, 0},
	    {"!!null null", ZH_VALUE_NULL, NULL, 0},
	};
	static const struct {
		const char *yaml, *msg;
	} bad[] = {
	    {"!!int x", "invalid !!int 'x': expected an integer (decimal, 0o "
			"octal or 0x hex)"},
	    {"!!int 2.5", "invalid !!int '2.5': expected an integer (decimal, "
			  "0o octal or 0x hex)"},
	    {"!!int '-0x1'", "invalid !!int '-0x1': expected an integer "
			     "(decimal, 0o octal or 0x hex)"},
	    {"!!float abc", "invalid !!float 'abc': expected a number"},
	    {"!!float 0x1F", "invalid !!float '0x1F': expected a number"},
	    {"!!bool yes", "invalid !!bool 'yes': expected true or false"},
	    {"!!null x", "invalid !!null 'x': expected null, ~ or nothing"},
	    {".inf", "invalid number '.inf': JSON has no infinity or NaN "
		     "(quote it for a string)"},
	    {"-.Inf", "invalid number '-.Inf': JSON has no infinity or NaN "
		      "(quote it for a string)"},
	    {"!!float .NaN", "invalid number '.NaN': JSON has no infinity or "
			     "NaN (quote it for a string)"},
	    {"0x1FFFFFFFFFFFFFFFF", "integer '0x1FFFFFFFFFFFFFFFF' is out of "
				    "range (quote it for a string)"},
	    {"1e400", "number '1e400' is out of range of JSON's numbers "
		      "(quote it for a string)"},
	    {"!!float -2e308", "number '-2e308' is out of range of JSON's "
			       "numbers (quote it for a string)"},
	    {"!!binary aGk=", "unsupported tag '!!binary': free-form values "
			      "take !!str, !!int, !!float, !!bool and !!null"},
	    {"!x 1", "unsupported tag '!x': free-form values take !!str, "
		     "!!int, !!float, !!bool and !!null"},
	    {"!!str [1]", "unsupported tag '!!str' on a list"},
	    {"!!seq {a: 1}", "unsupported tag '!!seq' on a mapping"},
	};
	char text[512], want[512];
	const struct zh_value *v;
	struct res r;
	size_t i;

	(void)state;
	setenv("ZH_TEST_REGISTRY", "https://reg.example.com", 1);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), INPUTS("%s"), good[i].yaml);
		ok(&r, text);
		v = r.c->rules[0].custom_workflow.inputs->items[0];
		if (v->type != good[i].type)
			print_error("%s\n", good[i].yaml);
		assert_int_equal(v->type, good[i].type);
		if (good[i].s)
			assert_string_equal(v->u.s, good[i].s);
		else if (v->type == ZH_VALUE_INT)
			assert_int_equal(v->u.i, good[i].i);
		else if (v->type == ZH_VALUE_BOOL)
			assert_int_equal(v->u.b, good[i].i);
		assert_int_equal(v->line, 9);
		assert_int_equal(v->col, 16);
		done(&r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), INPUTS("%s"), bad[i].yaml);
		snprintf(want, sizeof(want), "t.yaml:9:16: %s", bad[i].msg);
		fails(text, want);
	}
	/* the same in release_images, and collections may carry their own */
	ok(&r, ZADIG "rules:\n  - name: p\n    workflow:\n      name: w\n"
		     "      env: e\n      release_images: !!seq [!!map {image: "
		     "!!str 1.10, ratio: 0.25, n: 3}, ! {}]\n");
	v = r.c->rules[0].workflow.release_images->items[0];
	assert_string_equal(zh_value_get(v, "image")->u.s, "1.10");
	assert_int_equal(zh_value_get(v, "ratio")->type, ZH_VALUE_NUMBER);
	assert_string_equal(zh_value_get(v, "ratio")->u.s, "0.25");
	assert_int_equal(zh_value_get(v, "n")->u.i, 3);
	done(&r);
}

static void env_expansion(void **state)
{
	static const char *const kept[] = {
	    "REPO",   "BRANCH",		  "TAG",
	    "REF",    "COMMIT",		  "SHORT_COMMIT",
	    "BEFORE", "AUTHOR",		  "AUTHOR_EMAIL",
	    "MR_IID", "MR_TARGET_BRANCH", "RULE",
	};
	char text[2048], want[1024];
	struct zh_buf b;
	struct res r;
	size_t i;

	(void)state;
	setenv("ZH_TEST_HOST", "zadig.example.com", 1);
	setenv("ZH_TEST_EMPTY", "", 1);
	setenv("BRANCH", "should-not-be-used", 1);
	zh_buf_init(&b, 4096);
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		assert_int_equal(zh_buf_printf(&b, "${%s}", kept[i]), 0);
	snprintf(text, sizeof(text),
		 "zadig:\n  url: https://${ZH_TEST_HOST}:8443${ZH_TEST_EMPTY}\n"
		 "  token: x\n"
		 "rules:\n  - name: a\n    branches: ['${ZH_TEST_EMPTY}main']\n"
		 "    workflow: {name: '%s $HOME ${ ${1X} ${lower', "
		 "env: e, targets: [{name: s, repos: [r]}]}\n",
		 zh_buf_cstr(&b));
	ok(&r, text);
	assert_string_equal(r.c->zadig.url, "https://zadig.example.com:8443");
	assert_string_equal(r.c->rules[0].branches.items[0], "main");
	/* trigger-time variables and things that are not ${NAME} stay */
	snprintf(want, sizeof(want), "%s $HOME ${ ${1X} ${lower",
		 zh_buf_cstr(&b));
	assert_string_equal(r.c->rules[0].workflow.name, want);
	done(&r);
	zh_buf_dispose(&b);
	unsetenv("BRANCH");

	unsetenv("ZH_TEST_UNSET");
	fails("zadig:\n  url: https://z\n  token: ${ZH_TEST_UNSET}\n",
	      "t.yaml:3:10: environment variable 'ZH_TEST_UNSET' is not set");
	fails(ZADIG
	      "rules:\n  - name: a\n    branches: [x, '${ZH_TEST_UNSET}']\n" WF,
	      "t.yaml:6:19: environment variable 'ZH_TEST_UNSET' is not set");
	fails(
	    ZADIG
	    "rules:\n  - name: a\n    custom_workflow:\n"
	    "      {project: p, name: n, inputs: [{a: '${ZH_TEST_UNSET}'}]}\n",
	    "t.yaml:7:42: environment variable 'ZH_TEST_UNSET' is not set");
}

static void syntax_errors(void **state)
{
	(void)state;
	fails("zadig:\n  url: [x\n",
	      "t.yaml:3:1: yaml: did not find expected ',' or ']' (while "
	      "parsing a flow sequence at line 2 column 8)");
	fails("zadig:\n  url: x\n token: y\n",
	      "t.yaml:3:2: yaml: did not find expected key (while parsing a "
	      "block mapping at line 1 column 1)");
	fails("zadig:\n\turl: x\n",
	      "t.yaml:2:1: yaml: found character that cannot start any token "
	      "(while scanning for the next token at line 2 column 1)");
	fails(ZADIG "---\nzadig: {}\n",
	      "t.yaml:5:1: only one yaml document is allowed");
	fails("- a\n- b\n",
	      "t.yaml:1:1: expected a mapping at the top level, got a list");
	fails(ZADIG "x: [&a 1, &a 2]\n",
	      "t.yaml:4:11: duplicate anchor '&a' (first at line 4)");
	fails(ZADIG "x: [*a]\n",
	      "t.yaml:4:5: yaml: found undefined alias '*a'");
	fails(ZADIG "---\n---\n",
	      "t.yaml:5:1: only one yaml document is allowed");
	/* ${NAME} is not YAML: inside { } or [ ] its braces end the
	 * collection, which takes some telling */
	fails(ZADIG "x: { a: b, c: ${X} }\n",
	      "t.yaml:4:16: yaml: did not find expected ',' or '}' (while "
	      "parsing a flow mapping at line 4 column 4); quote a ${NAME} "
	      "inside { } or [ ]: \"${NAME}\"");
	fails(ZADIG "x: [a,\n  ${X}]\n",
	      "t.yaml:5:4: yaml: did not find expected ',' or ']' (while "
	      "parsing a flow sequence at line 4 column 4); quote a ${NAME} "
	      "inside { } or [ ]: \"${NAME}\"");
}

static void missing_zadig(void **state)
{
	struct res r;

	(void)state;
	run(&r, "");
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_string_equal(r.e.msg, "t.yaml:1:1: zadig.url is required");
	assert_int_equal(r.d.len, 2);
	assert_string_equal(r.d.msgs[1], "t.yaml:1:1: zadig.token or "
					 "zadig.token_file is required");
	done(&r);
	run(&r, "# nothing\n\nstate_dir: /x\n");
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_string_equal(r.e.msg, "t.yaml:1:1: zadig.url is required");
	done(&r);
	fails("zadig:\n  token: x\n", "t.yaml:2:3: zadig.url is required");
	fails("zadig:\n  url: gitlab.example.com\n  token: x\n",
	      "t.yaml:2:8: zadig.url must start with http:// or https://, "
	      "got 'gitlab.example.com'");
	fails("zadig:\n  url: https://\n  token: x\n",
	      "t.yaml:2:8: zadig.url must start with http:// or https://, "
	      "got 'https://'");
	/* a password there would reach task URLs, notes, logs and errors;
	 * the message does not quote the value */
	fails("zadig:\n  url: http://u:pw-SECRET@z\n  token: x\n",
	      "t.yaml:2:8: zadig.url must not hold a user name or password "
	      "(the part before '@'): Zadig takes zadig.token");
	fails("zadig:\n  url: https://u@z/api\n  token: x\n",
	      "t.yaml:2:8: zadig.url must not hold a user name or password "
	      "(the part before '@'): Zadig takes zadig.token");
	fails(ZADIG "webhook: {public_url: \"http://a:b@hooks\"}\n",
	      "t.yaml:4:23: webhook.public_url must not hold a user name or "
	      "password (the part before '@')");
	/* an @ in the path is not a user */
	{
		struct zh_config *c = NULL;
		struct zh_error e = {0};
		const char *y = "zadig:\n  url: http://z/a@b\n  token: x\n";

		assert_int_equal(
		    zh_config_parse(&c, "t.yaml", y, strlen(y), NULL, &e), 0);
		zh_config_free(c);
	}
}

static void tokens(void **state)
{
	(void)state;
	fails("zadig:\n  url: http://z\n",
	      "t.yaml:2:3: zadig.token or zadig.token_file is required");
	fails("zadig:\n  url: http://z\n  token: x\n  token_file: /t\n",
	      "t.yaml:4:3: zadig.token and zadig.token_file are both set; "
	      "use one");
	fails("zadig:\n  url: http://z\n  token: ''\n",
	      "t.yaml:3:10: zadig.token is empty");
	fails("zadig:\n  url: http://z\n  token: \"a\\nb\"\n",
	      "t.yaml:3:10: zadig.token contains a control character");
}

static void unknown_keys(void **state)
{
	(void)state;
	fails("zadig:\n  url: http://z\n  token: x\n  tokn: y\n",
	      "t.yaml:4:3: unknown key 'tokn' in 'zadig' (did you mean "
	      "'token'?)");
	fails(ZADIG "rulez: []\n",
	      "t.yaml:4:1: unknown key 'rulez' (did you mean 'rules'?)");
	fails(ZADIG "rules:\n  - name: a\n    brnaches: [x]\n" WF,
	      "t.yaml:6:5: unknown key 'brnaches' in 'rules[0]' (did you mean "
	      "'branches'?)");
	fails(ZADIG "rules:\n  - name: a\n"
		    "    workflow: {name: w, env: e, targets: [{name: x,"
		    " sevice_type: helm}]}\n",
	      "t.yaml:6:53: unknown key 'sevice_type' in "
	      "'rules[0].workflow.targets[0]' (did you mean 'service_type'?)");
	fails(ZADIG "timeout: 5s\n",
	      "t.yaml:4:1: unknown key 'timeout' (it belongs under 'zadig')");
	fails(ZADIG "colour: red\n", "t.yaml:4:1: unknown key 'colour'");
	fails(ZADIG "notes: {ref: refs/notes/z, ref: refs/notes/y}\n",
	      "t.yaml:4:28: duplicate key 'ref' (first at line 4)");
}

/* Found by fuzz/fuzz_config: a key is one name; a key written as a path
 * ("rules[].paths" at the top) was looked up as that path and stored at
 * the offset of another struct (memory corruption, UBSan). */
static void dotted_keys(void **state)
{
	(void)state;
	fails(ZADIG "rules[].paths: [x]\n",
	      "t.yaml:4:1: unknown key 'rules[].paths'");
	fails(ZADIG "rules:\n  - name: a\n    workflow.targets[].name: x\n" WF,
	      "t.yaml:6:5: unknown key 'workflow.targets[].name' in "
	      "'rules[0]'");
	fails(ZADIG "zadig.timeout: 5s\n",
	      "t.yaml:4:1: unknown key 'zadig.timeout'");
}

static void wrong_types(void **state)
{
	(void)state;
	fails(ZADIG "notes:\n  push: yes please\n",
	      "t.yaml:5:9: expected a boolean, got 'yes please'");
	fails(ZADIG "hook:\n  poll: [true]\n",
	      "t.yaml:5:9: expected a boolean, got a list");
	fails(ZADIG "state_dir: {a: b}\n",
	      "t.yaml:4:12: expected a string, got a mapping");
	fails(ZADIG "notes: true\n",
	      "t.yaml:4:8: expected a mapping, got a scalar");
	fails(ZADIG "rules: {a: b}\n", "t.yaml:4:8: expected a list, got a "
				       "mapping");
	fails(ZADIG "rules: [x]\n", "t.yaml:4:9: expected a mapping, got a "
				    "scalar");
	fails(ZADIG "rules:\n  - name: a\n    branches: {a: b}\n" WF,
	      "t.yaml:6:15: expected a list of strings, got a mapping");
	fails(ZADIG "rules:\n  - name: a\n    branches: [[a]]\n" WF,
	      "t.yaml:6:16: expected a string, got a list");
	fails(ZADIG "rules:\n  - name: a\n    workflow: {name: w, env: e,"
		    " release_images: {}}\n",
	      "t.yaml:6:49: expected a list, got a mapping");
	fails(ZADIG "webhook: {listen: 8080}\n",
	      "t.yaml:4:19: invalid listen address '8080': expected "
	      "host:port");
	fails(ZADIG "webhook: {public_url: hooks.example.com}\n",
	      "t.yaml:4:23: webhook.public_url must start with http:// or "
	      "https://, got 'hooks.example.com'");
}

/* zh_config_notes_ref on a file holding text: its answer, or the error. */
static int notes_ref_of(char **out, struct zh_error *e, const char *text)
{
	char path[] = "/tmp/zh-notes-ref-XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = zh_config_notes_ref(out, path, e);
	unlink(path);
	return rc;
}

/* The audit: "refs/heads/main" passed and the notes commits went on top
 * of the branch; "refs/notes/za dig" passed and failed at every run. */
static void notes_ref(void **state)
{
	static const char *const good[] = {
	    "refs/notes/zadig", "refs/notes/ci/prod", "refs/notes/a.b-c_d@x",
	    "refs/notes/caf\xc3\xa9", NULL};
	/* written: inside double quotes in the file; value: what it reads
	 * (NULL: the same), quoted in the message */
	static const struct {
		const char *written, *value, *why;
	} bad[] = {
	    {"zadig", NULL,
	     "it must be under refs/notes/, like refs/notes/zadig"},
	    {"refs/heads/main", NULL,
	     "it must be under refs/notes/, like refs/notes/zadig"},
	    {"refs/notes", NULL,
	     "it must be under refs/notes/, like refs/notes/zadig"},
	    {"refs/notes/", NULL, "a ref name cannot end with '/'"},
	    {"refs/notes/za dig", NULL, "a ref name cannot contain a space"},
	    {"refs/notes/a\tb", NULL,
	     "a ref name cannot contain a control character"},
	    {"refs/notes/a\\x7fb",
	     "refs/notes/a\x7f"
	     "b",
	     "a ref name cannot contain a control character"},
	    {"refs/notes/a..b", NULL, "a ref name cannot contain '..'"},
	    {"refs/notes/a@{1}", NULL, "a ref name cannot contain '@{'"},
	    {"refs/notes/a//b", NULL, "a ref name cannot contain '//'"},
	    {"refs/notes/a/", NULL, "a ref name cannot end with '/'"},
	    {"refs/notes/a.", NULL, "a ref name cannot end with '.'"},
	    {"refs/notes/.a", NULL, "no part of a ref name can start with '.'"},
	    {"refs/notes/a/.b", NULL,
	     "no part of a ref name can start with '.'"},
	    {"refs/notes/a.lock", NULL,
	     "no part of a ref name can end with '.lock'"},
	    {"refs/notes/a.lock/b", NULL,
	     "no part of a ref name can end with '.lock'"},
	    {"refs/notes/a~1", NULL, "a ref name cannot contain '~'"},
	    {"refs/notes/a^", NULL, "a ref name cannot contain '^'"},
	    {"refs/notes/a:b", NULL, "a ref name cannot contain ':'"},
	    {"refs/notes/a?", NULL, "a ref name cannot contain '?'"},
	    {"refs/notes/a*", NULL, "a ref name cannot contain '*'"},
	    {"refs/notes/a[b", NULL, "a ref name cannot contain '['"},
	    {"refs/notes/a\\\\b", "refs/notes/a\\b",
	     "a ref name cannot contain '\\'"},
	};
	struct zh_error e;
	char text[256], want[512], *ref;
	struct res r;
	size_t i;

	(void)state;
	for (i = 0; good[i]; i++) {
		snprintf(text, sizeof(text), ZADIG "notes: {ref: '%s'}\n",
			 good[i]);
		ok(&r, text);
		assert_string_equal(r.c->notes.ref, good[i]);
		done(&r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), ZADIG "notes: {ref: \"%s\"}\n",
			 bad[i].written);
		snprintf(want, sizeof(want),
			 "t.yaml:4:14: invalid notes.ref '%s': %s",
			 bad[i].value ? bad[i].value : bad[i].written,
			 bad[i].why);
		fails(text, want);
	}
	/* git zadig status reads notes.ref alone: the same rules */
	memset(&e, 0, sizeof(e));
	assert_int_equal(
	    notes_ref_of(&ref, &e, "notes:\n  ref: refs/notes/ci\n"), 0);
	assert_string_equal(ref, "refs/notes/ci");
	free(ref);
	assert_int_equal(notes_ref_of(&ref, &e, "zadig: {}\n"), 0);
	assert_string_equal(ref, "refs/notes/zadig");
	free(ref);
	assert_int_equal(
	    notes_ref_of(&ref, &e, "notes:\n  ref: refs/heads/main\n"),
	    ZH_ECONFIG);
	assert_null(ref);
	assert_non_null(strstr(e.msg, ":2:8: invalid notes.ref "
				      "'refs/heads/main': it must be under "
				      "refs/notes/, like refs/notes/zadig"));
	assert_int_equal(
	    notes_ref_of(&ref, &e, "notes:\n  ref: 'refs/notes/za dig'\n"),
	    ZH_ECONFIG);
	assert_null(ref);
	assert_non_null(strstr(e.msg, ":2:8: invalid notes.ref 'refs/notes/za "
				      "dig': a ref name cannot contain a "
				      "space"));
}

static void durations_and_sizes(void **state)
{
	struct res r;

	(void)state;
	fails("zadig:\n  url: http://z\n  token: x\n  timeout: 10\n",
	      "t.yaml:4:12: invalid duration '10': a number needs a unit "
	      "(ms, s, m or h)");
	fails("zadig:\n  url: http://z\n  token: x\n  timeout: ten\n",
	      "t.yaml:4:12: invalid duration 'ten': expected e.g. 500ms, 10s, "
	      "5m, 24h or 1h30m");
	fails("zadig:\n  url: http://z\n  token: x\n  timeout: 5x\n",
	      "t.yaml:4:12: invalid duration '5x': expected e.g. 500ms, 10s, "
	      "5m, 24h or 1h30m");
	fails(ZADIG "hook: {deadline: 0s}\n",
	      "t.yaml:4:18: hook.deadline must be positive, got '0s'");
	fails(ZADIG "poll: {interval: 5m, max_interval: 1m}\n",
	      "t.yaml:4:36: poll.max_interval must not be less than "
	      "poll.interval");
	fails(ZADIG "webhook: {max_body: 1XB}\n",
	      "t.yaml:4:21: invalid size '1XB': expected bytes or a unit B, "
	      "KiB, MiB, GiB, KB, MB or GB (e.g. 1MiB)");
	fails(ZADIG "webhook: {max_body: 0}\n",
	      "t.yaml:4:21: webhook.max_body must be positive, got '0'");
	ok(&r, ZADIG "webhook: {secret: s, max_body: 1MB}\n");
	assert_int_equal(r.c->webhook.max_body, 1000000);
	done(&r);
	ok(&r, ZADIG "webhook: {secret: s, max_body: 2048}\n");
	assert_int_equal(r.c->webhook.max_body, 2048);
	done(&r);
}

/* The audit: hook.deadline: 9223372036854775807ms passed config check,
 * then the start time plus the deadline overflowed and every rule was
 * "queued, the hook deadline was reached". Durations end at 100 years
 * (876000h), where now plus a few of them still fits in 64 bits. */
static void duration_bound(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {ZADIG "hook: {deadline: 9223372036854775807ms}\n",
	     "t.yaml:4:18: hook.deadline must be at most 876000h (100 years), "
	     "got '9223372036854775807ms'"},
	    {ZADIG "hook: {deadline: 876000h1ms}\n",
	     "t.yaml:4:18: hook.deadline must be at most 876000h (100 years), "
	     "got '876000h1ms'"},
	    {"zadig: {url: http://z, token: t, timeout: 876001h}\n",
	     "t.yaml:1:43: zadig.timeout must be at most 876000h (100 years), "
	     "got '876001h'"},
	    {ZADIG "poll: {interval: 876001h, max_interval: 876000h}\n",
	     "t.yaml:4:18: poll.interval must be at most 876000h (100 years), "
	     "got '876001h'"},
	    {ZADIG "poll: {max_interval: 876001h}\n",
	     "t.yaml:4:22: poll.max_interval must be at most 876000h (100 "
	     "years), got '876001h'"},
	    {ZADIG "poll: {give_up_after: 876001h}\n",
	     "t.yaml:4:23: poll.give_up_after must be at most 876000h (100 "
	     "years), got '876001h'"},
	};
	const int64_t max = 876000LL * 3600 * 1000;
	struct res r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		fails(bad[i].text, bad[i].want);
	ok(&r, "zadig: {url: http://z, token: t, timeout: 876000h}\n"
	       "hook: {deadline: 876000h}\n"
	       "poll: {interval: 876000h, max_interval: 876000h,"
	       " give_up_after: 876000h}\n");
	assert_int_equal(r.c->zadig.timeout_ms, max);
	assert_int_equal(r.c->hook.deadline_ms, max);
	assert_int_equal(r.c->poll.interval_ms, max);
	assert_int_equal(r.c->poll.max_interval_ms, max);
	assert_int_equal(r.c->poll.give_up_after_ms, max);
	done(&r);
}

static void ranges_and_enums(void **state)
{
	struct res r;

	(void)state;
	fails(ZADIG "webhook: {workers: 0}\n",
	      "t.yaml:4:20: webhook.workers must be between 1 and 64, got "
	      "'0'");
	fails(ZADIG "webhook: {workers: 65}\n",
	      "t.yaml:4:20: webhook.workers must be between 1 and 64, got "
	      "'65'");
	fails(ZADIG "webhook: {workers: four}\n",
	      "t.yaml:4:20: expected an integer, got 'four'");
	fails(ZADIG "hook: {mode: fast}\n",
	      "t.yaml:4:14: invalid hook.mode 'fast': expected sync or async");
	fails(ZADIG "rules:\n  - name: a\n    events: [push, pull]\n" WF,
	      "t.yaml:6:20: invalid rules[0].events 'pull': expected push, "
	      "tag or merge_request");
	fails(ZADIG "rules:\n  - name: a\n    events: []\n" WF,
	      "t.yaml:6:13: rules[0].events must not be empty");
	fails(ZADIG "rules:\n  - name: a\n    workflow: {name: w, env: e,"
		    " targets: [{name: t, service_type: docker}]}\n",
	      "t.yaml:6:67: invalid "
	      "rules[0].workflow.targets[0].service_type 'docker': expected "
	      "k8s or helm");
	ok(&r, ZADIG "rules:\n  - name: a\n    workflow: {name: w, env: e,"
		     " targets: [{name: t, service_type: helm,"
		     " repos: r1}]}\n");
	assert_string_equal(r.c->rules[0].workflow.targets[0].service_type,
			    "helm");
	assert_string_equal(r.c->rules[0].workflow.targets[0].repos.items[0],
			    "r1");
	done(&r);
}

static void globs(void **state)
{
	struct res r;

	(void)state;
	fails(ZADIG "rules:\n  - name: a\n    repo: 'g/[ab'\n" WF,
	      "t.yaml:6:11: invalid glob 'g/[ab': unclosed '['");
	fails(ZADIG "rules:\n  - name: a\n    branches: ['rel[]']\n" WF,
	      "t.yaml:6:16: invalid glob 'rel[]': empty class '[]'");
	fails(ZADIG "rules:\n  - name: a\n    tags: 'v[!]'\n" WF,
	      "t.yaml:6:11: invalid glob 'v[!]': empty class '[]'");
	fails(ZADIG "rules:\n  - name: a\n    paths: ['src/[z-a]']\n" WF,
	      "t.yaml:6:13: invalid glob 'src/[z-a]': reversed range in "
	      "'[...]'");
	/* ranges of characters by code point, as the matcher has them */
	fails(ZADIG
	      "rules:\n  - name: a\n    branches: ['f/[\u00fc-\u00e9]']\n" WF,
	      "t.yaml:6:16: invalid glob 'f/[\u00fc-\u00e9]': reversed range "
	      "in '[...]'");
	ok(&r, ZADIG
	   "rules:\n  - name: a\n    branches: ['f/[\u00e9-\u00fc]']\n" WF);
	done(&r);
	fails(ZADIG "rules:\n  - name: a\n    ignore_paths: ['']\n" WF,
	      "t.yaml:6:20: invalid glob '': empty pattern");
	fails(ZADIG "webhook:\n  repos: [{project: 'a[', path: /x}]\n",
	      "t.yaml:5:21: invalid glob 'a[': unclosed '['");
}

static void rule_shape(void **state)
{
	(void)state;
	fails(ZADIG "rules:\n  - name: a\n" WF
		    "    custom_workflow: {project: p, name: n}\n",
	      "t.yaml:7:5: rule 'a' has both 'workflow' and "
	      "'custom_workflow'; use one");
	fails(ZADIG "rules:\n  - name: a\n    repo: x\n",
	      "t.yaml:5:5: rule 'a' needs 'workflow' or 'custom_workflow'");
	fails(ZADIG "rules:\n  - repo: x\n" WF,
	      "t.yaml:5:5: rules[0].name is required");
	fails(ZADIG "rules:\n  - name: ''\n" WF,
	      "t.yaml:5:11: rule name must not be empty");
	fails(ZADIG "rules:\n  - name: a\n" WF "  - name: b\n" WF
		    "  - name: a\n" WF,
	      "t.yaml:9:11: duplicate rule name 'a' (first at line 5)");
	fails(ZADIG "rules:\n  - name: a\n    workflow: {name: w}\n",
	      "t.yaml:6:15: rules[0].workflow.env is required");
	fails(ZADIG "rules:\n  - name: a\n    workflow: {env: e}\n",
	      "t.yaml:6:15: rules[0].workflow.name is required");
	fails(ZADIG
	      "rules:\n  - name: a\n"
	      "    workflow: {name: w, env: e, targets: [{repos: [x]}]}\n",
	      "t.yaml:6:43: rules[0].workflow.targets[0].name is required");
	fails(ZADIG "rules:\n  - name: a\n    custom_workflow: {name: n}\n",
	      "t.yaml:6:22: rules[0].custom_workflow.project is required");
	fails(ZADIG "rules:\n  - name: a\n    custom_workflow: {project: p}\n",
	      "t.yaml:6:22: rules[0].custom_workflow.name is required");
	fails(ZADIG "webhook:\n  repos:\n    - project: a\n      path: /x\n"
		    "      url: https://x\n",
	      "t.yaml:8:7: webhook.repos[0] has both 'path' and 'url'; use "
	      "one");
	fails(ZADIG "webhook:\n  repos:\n    - project: a\n",
	      "t.yaml:6:7: webhook.repos[0] needs 'path' or 'url'");
	fails(ZADIG "webhook:\n  repos:\n    - path: /x\n",
	      "t.yaml:6:7: webhook.repos[0].project is required");
}

static void callback_warning(void **state)
{
	struct res r;

	(void)state;
	ok(&r, ZADIG "rules:\n  - name: a\n"
		     "    workflow: {name: w, env: e, callback: true, targets: "
		     "[{name: s, repos: [r]}]}\n");
	assert_true(r.c->rules[0].workflow.callback);
	assert_int_equal(r.d.nwarnings, 1);
	assert_string_equal(r.d.warnings[0],
			    "t.yaml:5:5: rule 'a' asks for a callback but "
			    "webhook.public_url or webhook.secret is not set; "
			    "no callback is sent");
	done(&r);
	ok(&r, ZADIG "webhook: {public_url: 'https://h', secret: s}\n"
		     "rules:\n  - name: a\n"
		     "    workflow: {name: w, env: e, callback: true, targets: "
		     "[{name: s, repos: [r]}]}\n");
	assert_int_equal(r.d.nwarnings, 0);
	done(&r);
}

/* The audit: tags on a rule whose events leave out tag had no effect
 * (the rule fired on every matching branch push, whatever the tags), and
 * nothing said so; nor for branches on a rule of tag events only.
 * (Merge requests match branches against the target branch: meaningful
 * there.) A warning at the key. */
static void filter_without_its_event(void **state)
{
	static const struct {
		const char *rule, *warning;
	} cases[] = {
	    {"    tags: ['v*']\n",
	     "t.yaml:6:5: rule 'a': tags has no effect: events does not "
	     "include tag"},
	    {"    events: [push, merge_request]\n    tags: ['v*']\n",
	     "t.yaml:7:5: rule 'a': tags has no effect: events does not "
	     "include tag"},
	    {"    branches: [main]\n    events: tag\n",
	     "t.yaml:6:5: rule 'a': branches has no effect: events does not "
	     "include push or merge_request"},
	    {"    tags: ['v*']\n    events: [tag]\n", NULL},
	    {"    tags: ['v*']\n    events: [push, tag]\n    branches: [m]\n",
	     NULL},
	    {"    branches: [main]\n    events: [merge_request]\n", NULL},
	    {"    branches: [main]\n    events: [tag, merge_request]\n"
	     "    tags: ['v*']\n",
	     NULL},
	    {"    branches: [main]\n", NULL},
	    {"    tags: []\n", NULL},
	    /* a new tag on a commit HEAD's branch has changes no path */
	    {"    tags: ['v*']\n    events: [tag]\n    paths: [src/**]\n",
	     "t.yaml:8:5: rule 'a': a tag on a commit of HEAD's branch "
	     "changes no path, so paths lets it fire only for tags on "
	     "other commits"},
	    {"    events: [tag]\n    ignore_paths: ['*.md']\n",
	     "t.yaml:7:5: rule 'a': a tag on a commit of HEAD's branch "
	     "changes no path, so ignore_paths lets it fire for every such "
	     "tag"},
	    {"    events: [push, tag]\n    paths: [src/**]\n", NULL},
	    /* forks: merge requests only */
	    {"    forks: true\n",
	     "t.yaml:6:5: rule 'a': forks has no effect: events does not "
	     "include merge_request"},
	    {"    events: [merge_request]\n    forks: true\n", NULL},
	    {"    forks: false\n", NULL},
	};
	char text[512];
	struct res r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), ZADIG "rules:\n  - name: a\n%s" WF,
			 cases[i].rule);
		ok(&r, text);
		if (cases[i].warning) {
			assert_int_equal(r.d.nwarnings, 1);
			assert_string_equal(r.d.warnings[0], cases[i].warning);
		} else {
			assert_int_equal(r.d.nwarnings, 0);
		}
		done(&r);
	}
}

/* One check error, want, of text that loads: what a rule or a program
 * cannot run as written, which config check says and the programs load
 * past (as earlier versions did: the hook goes on with the other rules). */
static void check_error(const char *text, const char *want)
{
	struct res r;

	ok(&r, text);
	assert_int_equal(r.c->ncheck_errors, 1);
	assert_string_equal(r.c->check_errors[0], want);
	done(&r);
}

/* No check error, one warning, want, of text that loads. */
static void check_warning(const char *text, const char *want)
{
	struct res r;

	ok(&r, text);
	assert_int_equal(r.c->ncheck_errors, 0);
	assert_int_equal(r.d.nwarnings, 1);
	assert_string_equal(r.d.warnings[0], want);
	done(&r);
}

static void unrunnable(void **state)
{
	struct res r;

	(void)state;
	check_error(ZADIG "rules:\n  - name: a\n    workflow: {name: w, env: "
			  "e}\n",
		    "t.yaml:5:5: rule 'a': workflow needs 'targets' or "
		    "'release_images'");
	check_error(ZADIG "rules:\n  - name: a\n    workflow: {name: w, env: "
			  "e, release_images: []}\n",
		    "t.yaml:5:5: rule 'a': workflow needs 'targets' or "
		    "'release_images'");
	ok(&r, ZADIG "rules:\n  - name: a\n    workflow: {name: w, env: e, "
		     "release_images: [{image: i, service_name: s, "
		     "service_module: '${BRANCH}'}]}\n");
	assert_int_equal(r.c->ncheck_errors, 0);
	done(&r);
	/* what the seed calls "must" of a create (a target's repos; image,
	 * service_name and service_module of a release image) is a warning:
	 * the real server differs from that document in places, and such a
	 * rule is sent as earlier versions sent it (Zadig's refusal is its
	 * rejected line) */
	check_warning(ZADIG "rules:\n  - name: a\n    workflow: {name: w, "
			    "env: e, targets: [{name: s}]}\n",
		      "t.yaml:6:43: rules[0].workflow.targets[0] has no "
		      "'repos': sent with an empty build.repos, which Zadig's "
		      "API documents as required (release_images deploys an "
		      "image without a build)");
	check_warning(ZADIG "rules:\n  - name: a\n    workflow: {name: w, "
			    "env: e, targets: [{name: s, repos: []}]}\n",
		      "t.yaml:6:60: rules[0].workflow.targets[0] has no "
		      "'repos': sent with an empty build.repos, which Zadig's "
		      "API documents as required (release_images deploys an "
		      "image without a build)");
	check_warning(ZADIG "rules:\n  - name: a\n    workflow: {name: w, "
			    "env: e, release_images: [{image: i, "
			    "service_name: s}]}\n",
		      "t.yaml:6:50: rule 'a': release_images[0] has no "
		      "'service_module' (a non-empty string), which Zadig's "
		      "API documents as required; sent as written");
	check_warning(ZADIG "rules:\n  - name: a\n    workflow: {name: w, "
			    "env: e, release_images: [{image: '', "
			    "service_name: 1, service_module: m}]}\n",
		      "t.yaml:6:50: rule 'a': release_images[0] has no "
		      "'image' (a non-empty string), which Zadig's API "
		      "documents as required; sent as written");
	check_warning(ZADIG "rules:\n  - name: a\n    workflow: {name: w, "
			    "env: e, release_images: [i]}\n",
		      "t.yaml:6:50: rule 'a': release_images[0] is not a "
		      "mapping of image, service_name and service_module, as "
		      "Zadig's API documents it; sent as written");
	/* a hook's configuration that an earlier version took: public_url
	 * without the secret (no callback is sent, with a warning) */
	check_error(ZADIG "webhook: {public_url: 'http://h/'}\n",
		    "t.yaml:4:10: webhook.secret is required (GitLab's secret "
		    "token) and may not be empty");
	check_error(ZADIG "webhook: {secret: ''}\n",
		    "t.yaml:4:19: webhook.secret is required (GitLab's secret "
		    "token) and may not be empty");
	check_error(ZADIG "webhook: {secret: s, zadig_token: ''}\n",
		    "t.yaml:4:35: webhook.zadig_token is empty (leave it out "
		    "to turn /webhook/zadig off)");
	/* said once the rest holds */
	fails(ZADIG "rules:\n  - name: a\n    workflow: {name: w}\n",
	      "t.yaml:6:15: rules[0].workflow.env is required");
}

/* Every error of one file, each at its place, sorted by position. */
static void all_errors_reported(void **state)
{
	const char *dir = ZH_FIXTURES "/config/";
	struct zh_config *c = NULL;
	struct zh_config_diag d;
	struct zh_error e = {0};
	char line[512], want[1024];
	size_t n = 0;
	FILE *fp;

	(void)state;
	unsetenv("NOPE_UNSET2");
	assert_int_equal(
	    zh_config_load(&c, ZH_FIXTURES "/config/errors.yaml", &d, &e),
	    ZH_ECONFIG);
	assert_null(c);
	fp = fopen(ZH_FIXTURES "/config/errors.txt", "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(want, sizeof(want), "%s%s", dir, line);
		assert_true(n < d.len);
		assert_string_equal(d.msgs[n], want);
		if (n == 0)
			assert_string_equal(e.msg, want);
		n++;
	}
	fclose(fp);
	assert_int_equal(n, d.len);
	assert_true(n >= 20);
	zh_config_diag_dispose(&d);
}

static void many_rules(void **state)
{
	struct zh_buf b;
	struct res r;
	clock_t t0;
	size_t i;

	(void)state;
	zh_buf_init(&b, 1 << 20);
	assert_int_equal(zh_buf_puts(&b, ZADIG "rules:\n"), 0);
	for (i = 0; i < 200; i++)
		assert_int_equal(
		    zh_buf_printf(&b,
				  "  - name: rule-%zu\n"
				  "    repo: 'group/app-%zu'\n"
				  "    branches: [main, 'release/*']\n"
				  "    events: [push, merge_request]\n"
				  "    paths: ['src/**']\n"
				  "    workflow:\n"
				  "      name: wf-%zu\n"
				  "      env: dev\n"
				  "      targets:\n"
				  "        - {name: svc, repos: [app-%zu]}\n",
				  i, i, i, i),
		    0);
	t0 = clock();
	ok(&r, zh_buf_cstr(&b));
	/* generous: the hook reads this on every push */
	assert_true(clock() - t0 < CLOCKS_PER_SEC);
	assert_int_equal(r.c->nrules, 200);
	assert_string_equal(r.c->rules[199].name, "rule-199");
	assert_string_equal(zh_config_rule(r.c, "rule-150")->workflow.name,
			    "wf-150");
	done(&r);
	zh_buf_dispose(&b);
}

static void hostile_input(void **state)
{
	struct res r;

	(void)state;
	/* cyclic alias in a free-form value */
	run(&r, ZADIG "rules:\n  - name: a\n    custom_workflow:\n"
		      "      {project: p, name: n, inputs: &x [*x]}\n");
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_int_equal(r.d.len, 1);
	assert_string_equal(r.d.msgs[0],
			    "t.yaml:7:37: nesting deeper than 64 levels");
	done(&r);
	/* exponential aliases: 10^7 nodes from a few lines */
	run(&r,
	    ZADIG "rules:\n  - name: a\n    custom_workflow:\n"
		  "      project: p\n      name: n\n      inputs:\n"
		  "        - &a [x, x, x, x, x, x, x, x, x, x]\n"
		  "        - &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		  "        - &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		  "        - &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		  "        - &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		  "        - &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		  "        - &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n");
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_int_equal(r.d.len, 1);
	assert_non_null(strstr(r.d.msgs[0], "document too complex"));
	done(&r);
	assert_int_equal(zh_config_parse(&r.c, NULL, "", 0, NULL, NULL),
			 ZH_ECONFIG);
	assert_null(r.c);
	run(&r, "zadig: {url: \"http://z\\0x\", token: x}\n");
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_string_equal(r.d.msgs[0],
			    "t.yaml:1:14: string contains a NUL byte");
	done(&r);
	run(&r, "\xff\xfe\x00");
	assert_int_equal(r.rc, ZH_ECONFIG);
	done(&r);
}

/* n '[' then n ']' as the inputs of a rule, on line 9 from column 15,
 * at the fifth level of the file. */
static void deep_inputs(struct zh_buf *b, size_t n)
{
	size_t i;

	zh_buf_init(b, 1 << 20);
	assert_int_equal(zh_buf_puts(b,
				     ZADIG "rules:\n  - name: a\n"
					   "    custom_workflow:\n"
					   "      project: p\n      name: n\n"
					   "      inputs: "),
			 0);
	for (i = 0; i < n; i++)
		assert_int_equal(zh_buf_puts(b, "["), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(zh_buf_puts(b, "]"), 0);
	assert_int_equal(zh_buf_puts(b, "\n"), 0);
}

/* The audit: 200,000 levels of '[' (400 KB) took minutes in config
 * check: libyaml's scanner does work in the depth on every token, and
 * the whole file was read before the depth was looked at. Loading stops
 * at the first list or map nested deeper than 64 levels of the file. */
static void deep_nesting(void **state)
{
	struct zh_buf b;
	struct res r;
	size_t i;

	(void)state;
	/* an alias of a list holding itself is reported once, not at each
	 * of the leaves its copies would have */
	run(&r, INPUTS("&c [*c, *c, *c]"));
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_int_equal(r.d.len, 1);
	assert_non_null(strstr(r.d.msgs[0], "nesting deeper than 64 levels"));
	done(&r);
	/* a number longer than a string may be is said to be so */
	zh_buf_init(&b, 4 << 20);
	assert_int_equal(zh_buf_puts(&b,
				     ZADIG "rules:\n  - name: r\n"
					   "    custom_workflow: {project: p, "
					   "name: n, inputs: [ "),
			 0);
	for (i = 0; i < (1 << 20) + 10; i++)
		assert_int_equal(zh_buf_puts(&b, "1"), 0);
	assert_int_equal(zh_buf_puts(&b, " ]}\n"), 0);
	run(&r, zh_buf_cstr(&b));
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_non_null(strstr(r.d.msgs[0], "longer than 1048576 bytes"));
	done(&r);
	zh_buf_dispose(&b);
	deep_inputs(&b, 200000);
	run(&r, zh_buf_cstr(&b));
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_int_equal(r.d.len, 1);
	/* the 61st '[' is the 65th level */
	assert_string_equal(r.d.msgs[0],
			    "t.yaml:9:75: nesting deeper than 64 levels");
	done(&r);
	zh_buf_dispose(&b);
	/* 64 levels are fine */
	deep_inputs(&b, 60);
	ok(&r, zh_buf_cstr(&b));
	done(&r);
	zh_buf_dispose(&b);
	deep_inputs(&b, 61);
	fails(zh_buf_cstr(&b), "t.yaml:9:75: nesting deeper than 64 levels");
	zh_buf_dispose(&b);
	/* also where nothing reads it, and in maps: the 64th '{' under
	 * the top-level map, at column 4 + 63 * 4 */
	zh_buf_init(&b, 1 << 20);
	assert_int_equal(zh_buf_puts(&b, ZADIG "x: "), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(zh_buf_puts(&b, "{a: "), 0);
	assert_int_equal(zh_buf_puts(&b, "{}"), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(zh_buf_puts(&b, "}"), 0);
	assert_int_equal(zh_buf_puts(&b, "\n"), 0);
	fails(zh_buf_cstr(&b), "t.yaml:4:256: nesting deeper than 64 levels");
	zh_buf_dispose(&b);
}

/* The audit: a value reached through an alias was reported where its
 * anchor is. Messages about the value at an alias point at the alias. */
static void alias_positions(void **state)
{
	struct res r;
	const struct zh_value *in;

	(void)state;
	fails(ZADIG "rules:\n  - name: &n a\n" WF "  - name: *n\n" WF,
	      "t.yaml:7:11: duplicate rule name 'a' (first at line 5)");
	run(&r, ZADIG "hook: {deadline: &d 5x}\npoll: {interval: *d}\n");
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_int_equal(r.d.len, 2);
	assert_string_equal(r.d.msgs[0],
			    "t.yaml:4:18: invalid duration '5x': expected e.g. "
			    "500ms, 10s, 5m, 24h or 1h30m");
	assert_string_equal(r.d.msgs[1],
			    "t.yaml:5:18: invalid duration '5x': expected e.g. "
			    "500ms, 10s, 5m, 24h or 1h30m");
	done(&r);
	/* a map through an alias: what it lacks is said at the alias, what
	 * it holds where it is written */
	run(&r, ZADIG "rules:\n  - name: a\n    custom_workflow: &m {a: 1}\n"
		      "  - name: b\n    workflow: *m\n");
	assert_int_equal(r.rc, ZH_ECONFIG);
	assert_int_equal(r.d.len, 6);
	assert_string_equal(r.d.msgs[0], "t.yaml:6:22: rules[0].custom_workflow"
					 ".project is required");
	assert_string_equal(r.d.msgs[2], "t.yaml:6:26: unknown key 'a' in "
					 "'rules[0].custom_workflow'");
	assert_string_equal(r.d.msgs[3], "t.yaml:6:26: unknown key 'a' in "
					 "'rules[1].workflow'");
	assert_string_equal(r.d.msgs[4],
			    "t.yaml:8:15: rules[1].workflow.name is required");
	done(&r);
	/* free-form values keep the alias's place */
	ok(&r, ZADIG "rules:\n  - name: c\n    custom_workflow:\n"
		     "      project: p\n      name: n\n"
		     "      inputs: [&v {a: 1}, *v, &s x, *s]\n");
	in = r.c->rules[0].custom_workflow.inputs;
	assert_int_equal(in->len, 4);
	assert_int_equal(in->items[0]->line, 9);
	assert_int_equal(in->items[0]->col, 16);
	assert_int_equal(in->items[1]->line, 9);
	assert_int_equal(in->items[1]->col, 27);
	assert_int_equal(zh_value_get(in->items[1], "a")->u.i, 1);
	assert_int_equal(in->items[3]->col, 37);
	assert_string_equal(in->items[3]->u.s, "x");
	done(&r);
}

static void load_missing_file(void **state)
{
	struct zh_config *c = NULL;
	struct zh_config_diag d;
	struct zh_error e = {0};

	(void)state;
	assert_int_equal(zh_config_load(&c, "/nonexistent/zh.yaml", &d, &e),
			 ZH_ECONFIG);
	assert_string_equal(e.msg, "cannot read '/nonexistent/zh.yaml': No "
				   "such file or directory");
	assert_int_equal(d.len, 1);
	zh_config_diag_dispose(&d);
	assert_int_equal(zh_config_load(&c, "/nonexistent/zh.yaml", NULL, NULL),
			 ZH_ECONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(values),
	    cmocka_unit_test(free_form),
	    cmocka_unit_test(free_form_types),
	    cmocka_unit_test(env_expansion),
	    cmocka_unit_test(syntax_errors),
	    cmocka_unit_test(missing_zadig),
	    cmocka_unit_test(tokens),
	    cmocka_unit_test(unknown_keys),
	    cmocka_unit_test(dotted_keys),
	    cmocka_unit_test(wrong_types),
	    cmocka_unit_test(notes_ref),
	    cmocka_unit_test(durations_and_sizes),
	    cmocka_unit_test(duration_bound),
	    cmocka_unit_test(ranges_and_enums),
	    cmocka_unit_test(globs),
	    cmocka_unit_test(rule_shape),
	    cmocka_unit_test(callback_warning),
	    cmocka_unit_test(all_errors_reported),
	    cmocka_unit_test(many_rules),
	    cmocka_unit_test(hostile_input),
	    cmocka_unit_test(deep_nesting),
	    cmocka_unit_test(alias_positions),
	    cmocka_unit_test(load_missing_file),
	    cmocka_unit_test(filter_without_its_event),
	    cmocka_unit_test(unrunnable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
