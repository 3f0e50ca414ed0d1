/* Without OpenSSL's libcrypto (it is loaded on first use, dlopen, here
 * wrapped at link time to fail): nothing can be signed, and a rule with
 * callback: true still fires, without a callback URL (its task is
 * polled, as for a rule without callback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mapping/mapping.h"
#include "util/banned.h"

static int dlopens;

void *__wrap_dlopen(const char *file, int mode);
void *__wrap_dlopen(const char *file, int mode)
{
	(void)mode;
	assert_non_null(strstr(file, "libcrypto"));
	dlopens++;
	return NULL;
}

static char *make_id(void *ctx, const struct zh_rule *rule,
		     const struct zh_event *ev)
{
	(void)ctx;
	(void)rule;
	(void)ev;
	return strdup("t-1");
}

static void unsigned_rule_is_polled(void **state)
{
	struct zh_rule_target target = {.name = "t",
					.repos = {(char *[]){"r"}, 1}};
	struct zh_rule rule = {.name = "p"};
	struct zh_config cfg = {.rules = &rule, .nrules = 1};
	struct zh_event ev = {
	    .kind = ZH_EVENT_PUSH,
	    .repo = "g/app",
	    .ref = "refs/heads/main",
	    .after = "0123456789abcdef0123456789abcdef01234567",
	    .callback_base = "https://h/",
	    .callback_secret = "s",
	};
	struct zh_trigger_list tl;
	struct zh_error err = {0};
	char *sig = NULL;

	(void)state;
	assert_int_equal(zh_mapping_sign(&sig, "k", "x"), ZH_ENOTFOUND);
	assert_null(sig);
	rule.workflow.name = "wf";
	rule.workflow.env = "dev";
	rule.workflow.targets = &target;
	rule.workflow.ntargets = 1;
	rule.workflow.callback = true;
	assert_int_equal(zh_mapping_match(&tl, &cfg, &ev, make_id, NULL, &err),
			 0);
	assert_int_equal(tl.len, 1);
	assert_string_equal(tl.items[0].product.workflow_name, "wf");
	assert_null(tl.items[0].product.callback_url);
	assert_int_equal(tl.items[0].product.ncallback_vars, 0);
	zh_trigger_list_dispose(&tl);
	/* tried once for the life of the process */
	assert_int_equal(dlopens, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unsigned_rule_is_polled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
