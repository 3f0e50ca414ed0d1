/* Every allocation of zh_mapping_match fails in turn: each failure must
 * come back as ZH_ENOMEM with nothing leaked (run under ASan) and an
 * empty list. The allocator is wrapped at link time (-Wl,--wrap). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mapping/mapping.h"
#include "util/banned.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static long countdown = -1; /* fail when it reaches 0; -1: never */

static bool fail_now(void)
{
	if (countdown < 0)
		return false;
	return countdown-- == 0;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : __real_strdup(s);
}

static char *make_id(void *ctx, const struct zh_rule *rule,
		     const struct zh_event *ev)
{
	(void)ctx;
	(void)rule;
	(void)ev;
	return __real_strdup("id 1");
}

static struct zh_value *tree(void)
{
	struct zh_value *l = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *m = zh_value_new(ZH_VALUE_MAP);
	struct zh_value *inner = zh_value_new(ZH_VALUE_LIST);

	assert_int_equal(
	    zh_value_append(inner, NULL, zh_value_new_string("${BRANCH}")), 0);
	assert_int_equal(zh_value_append(inner, NULL, zh_value_new_int(1)), 0);
	assert_int_equal(
	    zh_value_append(m, "a", zh_value_new_string("x-${REPO}")), 0);
	assert_int_equal(zh_value_append(m, "b", inner), 0);
	assert_int_equal(zh_value_append(l, NULL, m), 0);
	return l;
}

static void every_allocation_fails_once(void **state)
{
	struct zh_rule_target targets[] = {
	    {.name = "t-${RULE}",
	     .service_type = "k8s",
	     .repos = {(char *[]){"r1", "${REPO}"}, 2}},
	    {.name = "u", .repos = {(char *[]){"r3"}, 1}},
	};
	struct zh_rule rules[2] = {{.name = "p"},
				   {.name = "c", .custom = true}};
	struct zh_config cfg = {.rules = rules, .nrules = 2};
	struct zh_event ev = {
	    .kind = ZH_EVENT_PUSH,
	    .repo = "g/app",
	    .ref = "refs/heads/main",
	    .after = "0123456789abcdef0123456789abcdef01234567",
	    .callback_base = "https://h/",
	    .callback_secret = "s",
	};
	struct zh_trigger_list tl;
	struct zh_error err;
	long n;
	int rc;

	(void)state;
	rules[0].workflow.name = "wf-${BRANCH}";
	rules[0].workflow.env = "dev";
	rules[0].workflow.project = "${REPO}";
	rules[0].workflow.targets = targets;
	rules[0].workflow.ntargets = 2;
	rules[0].workflow.release_images = tree();
	rules[0].workflow.callback = true;
	rules[1].custom_workflow.project = "p";
	rules[1].custom_workflow.name = "n-${RULE}";
	rules[1].custom_workflow.inputs = tree();
	for (n = 0;; n++) {
		zh_error_clear(&err);
		countdown = n;
		rc = zh_mapping_match(&tl, &cfg, &ev, make_id, NULL, &err);
		countdown = -1;
		if (rc == 0)
			break;
		assert_int_equal(rc, ZH_ENOMEM);
		assert_int_equal(err.code, ZH_ENOMEM);
		assert_int_equal(tl.len, 0);
		assert_null(tl.items);
	}
	/* the loop went through every allocation before succeeding */
	assert_true(n > 30);
	assert_int_equal(tl.len, 2);
	assert_string_equal(tl.items[0].product.workflow_name, "wf-main");
	assert_non_null(tl.items[0].product.callback_url);
	zh_trigger_list_dispose(&tl);
	zh_value_free(rules[0].workflow.release_images);
	zh_value_free(rules[1].custom_workflow.inputs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_allocation_fails_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
