/* docs/config-reference.md is what zh_config_reference renders, and
 * config.example.yaml loads and uses every key of the table.
 * `test_config_reference --write` regenerates the reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "util/banned.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/value.h"

#define DOC ZH_SOURCE_DIR "/docs/config-reference.md"
#define EXAMPLE ZH_SOURCE_DIR "/config.example.yaml"
#define README ZH_SOURCE_DIR "/README.md"

static char *slurp(const char *path)
{
	struct zh_buf b;
	char chunk[4096];
	size_t n;
	FILE *fp = fopen(path, "rb");

	if (!fp)
		return NULL;
	zh_buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (zh_buf_append(&b, chunk, n))
			break;
	fclose(fp);
	return zh_buf_detach(&b);
}

static void reference_up_to_date(void **state)
{
	struct zh_buf b;
	char *doc = slurp(DOC);

	(void)state;
	zh_buf_init(&b, 1 << 20);
	assert_int_equal(zh_config_reference(&b), 0);
	if (!doc || strcmp(doc, zh_buf_cstr(&b)) != 0)
		fail_msg("docs/config-reference.md is out of date: run "
			 "build/tests/unit/config/test_config_reference "
			 "--write");
	free(doc);
	zh_buf_dispose(&b);
}

/* The README's configuration section carries the same key table. */
static void readme_has_the_table(void **state)
{
	struct zh_buf b;
	char *readme = slurp(README);
	const char *table;

	(void)state;
	zh_buf_init(&b, 1 << 20);
	assert_int_equal(zh_config_reference(&b), 0);
	table = strstr(zh_buf_cstr(&b), "| key | type |");
	assert_non_null(table);
	if (!readme || !strstr(readme, table))
		fail_msg("README.md lacks the current key table: copy it from "
			 "docs/config-reference.md (after regenerating that)");
	free(readme);
	zh_buf_dispose(&b);
}

static void example_loads(void **state)
{
	static const char *const env[] = {
	    "ZADIG_TOKEN",	  "GITLAB_WEBHOOK_SECRET",
	    "ZADIG_NOTIFY_TOKEN", "WEBHOOK_SIGNING_KEY",
	    "GITLAB_TOKEN",
	};
	struct zh_config *c = NULL;
	struct zh_config_diag d;
	struct zh_error e = {0};
	const struct zh_rule *r;
	const struct zh_value *in;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		setenv(env[i], "value-of-env", 1);
	if (zh_config_load(&c, EXAMPLE, &d, &e)) {
		for (i = 0; i < d.len; i++)
			print_error("%s\n", d.msgs[i]);
		fail_msg("%s", e.msg);
	}
	assert_int_equal(d.nwarnings, 0);
	/* no file it names is missing: git zadig config check says ok */
	assert_null(c->zadig.token_error);
	assert_null(c->zadig.ca_error);
	assert_string_equal(c->zadig.token, "value-of-env");
	assert_int_equal(c->nrules, 3);
	assert_int_equal(c->webhook.nrepos, 2);
	r = zh_config_rule(c, "dev");
	assert_int_equal(r->events, ZH_EVENT_PUSH | ZH_EVENT_MERGE_REQUEST);
	assert_true(r->workflow.callback);
	r = zh_config_rule(c, "release");
	assert_int_equal(r->events, ZH_EVENT_TAG);
	assert_string_equal(r->workflow.targets[0].service_type, "helm");
	r = zh_config_rule(c, "build-images");
	assert_true(r->custom);
	in = r->custom_workflow.inputs;
	assert_int_equal(in->len, 1);
	in = zh_value_get(in->items[0], "parameters");
	in = zh_value_get(in, "service_list")->items[0];
	in = zh_value_get(in, "repo_info")->items[0];
	assert_string_equal(zh_value_get(in, "branch")->u.s, "${BRANCH}");
	zh_config_free(c);
	zh_config_diag_dispose(&d);
}

/* Each key of the reference shows up (as "name:") in the example. */
static void example_uses_every_key(void **state)
{
	struct zh_buf b;
	char *ex = slurp(EXAMPLE);
	const char *p;

	(void)state;
	assert_non_null(ex);
	zh_buf_init(&b, 1 << 20);
	assert_int_equal(zh_config_reference(&b), 0);
	for (p = zh_buf_cstr(&b); (p = strstr(p, "\n| `")); p++) {
		char key[128], *end, *last, want[140];

		snprintf(key, sizeof(key), "%s", p + 4);
		if (!(end = strchr(key, '`')))
			continue;
		*end = '\0';
		last = strrchr(key, '.') ? strrchr(key, '.') + 1 : key;
		snprintf(want, sizeof(want), "%s:", last);
		if (!strstr(ex, want))
			fail_msg("config.example.yaml does not use '%s'", key);
	}
	zh_buf_dispose(&b);
	free(ex);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reference_up_to_date),
	    cmocka_unit_test(readme_has_the_table),
	    cmocka_unit_test(example_loads),
	    cmocka_unit_test(example_uses_every_key),
	};

	if (argc == 2 && strcmp(argv[1], "--write") == 0) {
		struct zh_buf b;
		FILE *fp = fopen(DOC, "w");
		int rc;

		zh_buf_init(&b, 1 << 20);
		rc = !fp || zh_config_reference(&b) ||
		     fputs(zh_buf_cstr(&b), fp) < 0;
		if (fp && fclose(fp))
			rc = 1;
		zh_buf_dispose(&b);
		fprintf(stderr, "%s %s\n", rc ? "failed to write" : "wrote",
			DOC);
		return rc;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
