#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mapping/mapping.h"
#include "util/banned.h"

static const struct zh_event push_ev = {
    .kind = ZH_EVENT_PUSH,
    .repo = "group/voting-app",
    .ref = "refs/heads/release/1.0",
    .before = "1111111111111111111111111111111111111111",
    .after = "0123456789abcdef0123456789abcdef01234567",
    .message = "fix things",
    .author = "Ada Lovelace",
    .author_email = "ada@example.com",
};

static const struct zh_event tag_ev = {
    .kind = ZH_EVENT_TAG,
    .repo = "voting-app",
    .ref = "refs/tags/v1.2.3",
    .before = "0000000000000000000000000000000000000000",
    .after = "abcdef0123456789abcdef0123456789abcdef01",
    .author = "Bob",
};

static const struct zh_event mr_ev = {
    .kind = ZH_EVENT_MERGE_REQUEST,
    .repo = "group/voting-app",
    .ref = "refs/heads/feature/x",
    .after = "fedcba9876543210fedcba9876543210fedcba98",
    .mr_iid = 42,
    .mr_source_branch = "feature/x",
    .mr_target_branch = "main",
};

static const struct zh_event empty_ev = {.kind = ZH_EVENT_PUSH};

static struct zh_rule rule_dev = {.name = "dev"};

struct expand_case {
	const struct zh_event *ev;
	const struct zh_rule *rule;
	const char *in, *want;
};

static const struct expand_case cases[] = {
    /* every variable on a push */
    {&push_ev, &rule_dev, "${REPO}", "group/voting-app"},
    {&push_ev, &rule_dev, "${BRANCH}", "release/1.0"},
    {&push_ev, &rule_dev, "${TAG}", ""},
    {&push_ev, &rule_dev, "${REF}", "refs/heads/release/1.0"},
    {&push_ev, &rule_dev, "${COMMIT}",
     "0123456789abcdef0123456789abcdef01234567"},
    {&push_ev, &rule_dev, "${SHORT_COMMIT}", "01234567"},
    {&push_ev, &rule_dev, "${BEFORE}",
     "1111111111111111111111111111111111111111"},
    {&push_ev, &rule_dev, "${AUTHOR}", "Ada Lovelace"},
    {&push_ev, &rule_dev, "${AUTHOR_EMAIL}", "ada@example.com"},
    {&push_ev, &rule_dev, "${MR_IID}", ""},
    {&push_ev, &rule_dev, "${MR_TARGET_BRANCH}", ""},
    {&push_ev, &rule_dev, "${RULE}", "dev"},
    /* tags: BRANCH is empty, TAG the tag name */
    {&tag_ev, &rule_dev, "${BRANCH}", ""},
    {&tag_ev, &rule_dev, "${TAG}", "v1.2.3"},
    {&tag_ev, &rule_dev, "${REF}", "refs/tags/v1.2.3"},
    {&tag_ev, &rule_dev, "${SHORT_COMMIT}", "abcdef01"},
    {&tag_ev, &rule_dev, "${AUTHOR_EMAIL}", ""},
    {&tag_ev, &rule_dev, "${MR_IID}", ""},
    /* merge requests: BRANCH is the source branch */
    {&mr_ev, &rule_dev, "${BRANCH}", "feature/x"},
    {&mr_ev, &rule_dev, "${TAG}", ""},
    {&mr_ev, &rule_dev, "${MR_IID}", "42"},
    {&mr_ev, &rule_dev, "${MR_TARGET_BRANCH}", "main"},
    {&mr_ev, &rule_dev, "${BEFORE}", ""},
    /* NULL fields expand to "" */
    {&empty_ev, NULL,
     "[${REPO}|${BRANCH}|${REF}|${COMMIT}|${SHORT_COMMIT}"
     "|${BEFORE}|${AUTHOR}|${RULE}]",
     "[|||||||]"},
    /* mixed text, repeats, neighbours */
    {&push_ev, &rule_dev, "img:${BRANCH}-${SHORT_COMMIT}",
     "img:release/1.0-01234567"},
    {&push_ev, &rule_dev, "${RULE}${RULE}", "devdev"},
    {&push_ev, &rule_dev, "no variables", "no variables"},
    {&push_ev, &rule_dev, "", ""},
    /* not ours: left as is */
    {&push_ev, &rule_dev, "${HOME}", "${HOME}"},
    {&push_ev, &rule_dev, "${branch}", "${branch}"},
    {&push_ev, &rule_dev, "${}", "${}"},
    {&push_ev, &rule_dev, "$REPO", "$REPO"},
    {&push_ev, &rule_dev, "${REPO", "${REPO"},
    {&push_ev, &rule_dev, "a ${ b", "a ${ b"},
    {&push_ev, &rule_dev, "$${RULE}", "$dev"},
    {&push_ev, &rule_dev, "${X${RULE}}", "${Xdev}"},
    {&push_ev, &rule_dev, "${RULE}}", "dev}"},
    {&push_ev, &rule_dev, "${REPO }", "${REPO }"},
};

static void variables(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;

		assert_int_equal(zh_mapping_expand(&out, cases[i].in,
						   cases[i].ev, cases[i].rule),
				 0);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[i].in, out,
				 cases[i].want);
		free(out);
	}
}

static void short_commit_of_short_id(void **state)
{
	struct zh_event ev = push_ev;
	char *out = NULL;

	(void)state;
	ev.after = "abc";
	assert_int_equal(zh_mapping_expand(&out, "${SHORT_COMMIT}", &ev, NULL),
			 0);
	assert_string_equal(out, "abc");
	free(out);
}

static void mr_iid_zero_is_decimal(void **state)
{
	struct zh_event ev = mr_ev;
	char *out = NULL;

	(void)state;
	ev.mr_iid = 0;
	assert_int_equal(zh_mapping_expand(&out, "${MR_IID}", &ev, NULL), 0);
	assert_string_equal(out, "0");
	free(out);
}

static void expand_bad_args(void **state)
{
	char *out = (char *)"x";

	(void)state;
	assert_int_equal(zh_mapping_expand(&out, "a", NULL, NULL), ZH_EINVALID);
	assert_null(out);
	assert_int_equal(zh_mapping_expand(NULL, "a", &push_ev, NULL),
			 ZH_EINVALID);
	assert_int_equal(zh_mapping_expand(&out, NULL, &push_ev, NULL), 0);
	assert_string_equal(out, "");
	free(out);
}

static void skip_markers(void **state)
{
	static const struct {
		const char *msg;
		bool skip;
	} cases2[] = {
	    {"[skip ci]", true},
	    {"fix: typo [skip ci]", true},
	    {"[ci skip] docs", true},
	    {"[skip zadig]", true},
	    {"[SKIP CI]", true},
	    {"[Ci Skip]", true},
	    {"[Skip Zadig] release notes", true},
	    {"line one\n\nbody [skip ci]\n", true},
	    {"[[skip ci]]", true},
	    {"[ [skip ci", false},
	    {"skip ci", false},
	    {"[skip-ci]", false},
	    {"[skip  ci]", false},
	    {"[skipci]", false},
	    {"[skip ci", false},
	    {"[zadig skip]", false},
	    {"", false},
	    {NULL, false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases2) / sizeof(cases2[0]); i++)
		if (zh_mapping_has_skip_marker(cases2[i].msg) != cases2[i].skip)
			fail_msg("'%s': want %d", cases2[i].msg,
				 cases2[i].skip);
}

static void sign(void **state)
{
	char *out = NULL;

	(void)state;
	/* RFC 4231 test case 2 */
	assert_int_equal(
	    zh_mapping_sign(&out, "Jefe", "what do ya want for nothing?"), 0);
	assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f08"
				 "9d2739839dec58b964ec3843");
	free(out);
	/* empty key and message */
	assert_int_equal(zh_mapping_sign(&out, "", ""), 0);
	assert_string_equal(out, "b613679a0814d9ec772f95d778c35fc5ff1697c4"
				 "93715653c6c712144292c5ad");
	free(out);
	assert_int_equal(zh_mapping_sign(&out, NULL, "x"), ZH_EINVALID);
	assert_null(out);
	assert_int_equal(zh_mapping_sign(&out, "k", NULL), ZH_EINVALID);
	assert_int_equal(zh_mapping_sign(NULL, "k", "x"), ZH_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(variables),
	    cmocka_unit_test(short_commit_of_short_id),
	    cmocka_unit_test(mr_iid_zero_is_decimal),
	    cmocka_unit_test(expand_bad_args),
	    cmocka_unit_test(skip_markers),
	    cmocka_unit_test(sign),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
