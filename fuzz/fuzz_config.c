/* Fuzz target: the YAML configuration (zh_config_parse), then every rule
 * of a configuration that loads against a fixed push, through mapping and
 * request rendering, the way the hook uses a configuration.
 *
 * Properties checked beyond the sanitizers: a configuration either loads
 * or reports at least one error, and the value of an environment variable
 * never appears in a message unless the input holds it literally (the
 * messages quote values as written, never expanded). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "mapping/mapping.h"
#include "util/banned.h"
#include "util/error.h"
#include "zadig/zadig.h"

#define SECRET "s3cr3t-zh-fuzz-9f2b"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The names config.example.yaml and the tests use, so that seeds
	 * load; one of them is the secret the messages must not show. */
	setenv("ZADIG_TOKEN", SECRET, 1);
	setenv("GITLAB_WEBHOOK_SECRET", "hooksecret-zh-fuzz", 1);
	setenv("ZADIG_NOTIFY_TOKEN", "notify-zh-fuzz", 1);
	setenv("WEBHOOK_SIGNING_KEY", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	       1);
	setenv("GITLAB_TOKEN", "glpat-zh-fuzz", 1);
	setenv("ZH_TEST_REGISTRY", "registry.example.com", 1);
	setenv("ZH_TEST_HOST", "zadig.example.com", 1);
	setenv("ZH_TEST_EMPTY", "", 1);
	setenv("ZH_TEST_TOKEN", "tok", 1);
	unsetenv("ZH_TEST_UNSET");
	return 0;
}

/* memmem is a GNU extension. */
static bool contains(const uint8_t *data, size_t size, const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; i + n <= size; i++)
		if (memcmp(data + i, s, n) == 0)
			return true;
	return false;
}

static void no_secret(const char *msg, bool literal)
{
	if (!literal && msg && strstr(msg, SECRET))
		abort();
}

static char *trigger_id(void *ctx, const struct zh_rule *rule,
			const struct zh_event *ev)
{
	(void)ctx;
	(void)ev;
	return strdup(rule->name ? rule->name : "r");
}

/* What the hook does with a loaded configuration for one push. */
static void use(const struct zh_config *c)
{
	static const char *const paths[] = {"src/main.c", "docs/README.md",
					    "a/b/c/d.txt"};
	struct zh_event ev = {
	    .kind = ZH_EVENT_PUSH,
	    .repo = "group/voting-app",
	    .ref = "refs/heads/main",
	    .before = "1111111111111111111111111111111111111111",
	    .after = "2222222222222222222222222222222222222222",
	    .message = "fix: a thing\n\nbody",
	    .author = "Ann",
	    .author_email = "ann@example.com",
	    .paths = paths,
	    .npaths = 3,
	    .callback_base = "https://hook.example.com",
	    .callback_secret = "cbsecret",
	};
	struct zh_verdict_list vl = {0};
	struct zh_trigger_list tl = {0};
	struct zh_error err;
	size_t i;

	if (c->nrules)
		(void)zh_config_rule(c, c->rules[0].name);
	if (zh_mapping_explain(&vl, c, &ev, &err) == 0 && vl.len != c->nrules)
		abort();
	free(vl.items);
	if (zh_mapping_match(&tl, c, &ev, trigger_id, NULL, &err) == 0) {
		for (i = 0; i < tl.len; i++) {
			struct zh_zadig_request r = {0};

			if (tl.items[i].custom)
				zh_zadig_render_custom_create(
				    &r, &tl.items[i].custom_req, &err);
			else
				zh_zadig_render_product_create(
				    &r, &tl.items[i].product, &err);
			zh_zadig_request_dispose(&r);
		}
	}
	zh_trigger_list_dispose(&tl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_config *c = NULL;
	struct zh_config_diag d;
	struct zh_error err;
	bool literal;
	size_t i;
	int rc;

	zh_error_clear(&err);
	literal = contains(data, size, SECRET);
	rc = zh_config_parse(&c, "fuzz.yaml", (const char *)data, size, &d,
			     &err);
	if (rc == 0 && !c)
		abort();
	if (rc == ZH_ECONFIG && d.len == 0)
		abort();
	no_secret(err.msg, literal);
	for (i = 0; i < d.len; i++)
		no_secret(d.msgs[i], literal);
	for (i = 0; i < d.nwarnings; i++)
		no_secret(d.warnings[i], literal);
	zh_config_diag_dispose(&d);
	if (c)
		no_secret(c->zadig.token_error, literal);
	if (c)
		use(c);
	zh_config_free(c);
	return 0;
}
