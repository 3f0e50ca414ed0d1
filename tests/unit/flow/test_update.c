#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow/update.h"
#include "util/banned.h"

#define Z40 "0000000000000000000000000000000000000000"
#define A40 "95790bf891e76fee5e1747ab589903a6a1f80f22"
#define B64 "da1560886d4f094c3e6c9ef40349f7d38b5d27d7da1560886d4f094c3e6c9ef4"

static int parse(struct zh_ref_update *u, const char *line)
{
	return zh_flow_parse_update(u, line, strlen(line), NULL);
}

static void good_lines(void **state)
{
	struct zh_ref_update u = {0};

	(void)state;
	assert_int_equal(parse(&u, Z40 " " A40 " refs/heads/main"), 0);
	assert_string_equal(u.old_hex, Z40);
	assert_string_equal(u.new_hex, A40);
	assert_string_equal(u.ref, "refs/heads/main");
	assert_int_equal(parse(&u, B64 " " B64 " refs/tags/v1.0\r"), 0);
	assert_string_equal(u.ref, "refs/tags/v1.0");
	/* upper-case hex is folded; UTF-8 in ref names is data */
	assert_int_equal(parse(&u, "95790BF891E76FEE5E1747AB589903A6A1F80F22 " A40
				   " refs/heads/fix/naïve"),
			 0);
	assert_string_equal(u.old_hex, A40);
	assert_string_equal(u.ref, "refs/heads/fix/naïve");
	assert_int_equal(parse(&u, Z40 " " A40 " refs/heads/$(rm${IFS}-rf)`x`;|"),
			 0);
	assert_string_equal(u.ref, "refs/heads/$(rm${IFS}-rf)`x`;|");
	zh_ref_update_dispose(&u);
}

static void bad_lines(void **state)
{
	static const char *const bad[] = {
		"",
		Z40,
		Z40 " " A40,
		Z40 " " A40 " ",
		Z40 "  " A40 " refs/heads/x",
		Z40 " " B64 " refs/heads/mixed-lengths",
		"zz" Z40 " " A40 " refs/heads/x",
		Z40 " " A40 " refs/heads/a b",
		Z40 " " A40 " refs/heads/tab\there",
		"1234 5678 refs/heads/short",
	};
	struct zh_ref_update u = {0};
	struct zh_error e = {0};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(zh_flow_parse_update(&u, bad[i],
						      strlen(bad[i]), &e),
				 ZH_EINVALID);
	assert_true(strlen(e.msg) > 0);
	zh_ref_update_dispose(&u);
}

/* Ref names of any length git takes (a loose ref is bounded only by the
 * file system's path length, a packed one by nothing): no cut-off. */
static void long_refs(void **state)
{
	static const size_t lens[] = {1023, 1024, 1221, 4096, 65536};
	struct zh_ref_update u = {0};
	struct zh_error err = {0};
	size_t i, n;
	char *line, *ref;
	const char *cursor;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		n = 82 + lens[i];
		line = malloc(n + 2);
		assert_non_null(line);
		memcpy(line, Z40 " " A40 " ", 82);
		ref = line + 82;
		memcpy(ref, "refs/heads/", 11);
		memset(ref + 11, 'd', lens[i] - 11);
		line[n] = '\n';
		line[n + 1] = '\0';
		cursor = line;
		assert_int_equal(zh_flow_next_update(&u, &cursor, &err), 1);
		assert_int_equal(strlen(u.ref), lens[i]);
		assert_memory_equal(u.ref, ref, lens[i]);
		assert_true(zh_flow_update_may_fire(&u));
		assert_int_equal(zh_flow_next_update(&u, &cursor, &err), 0);
		free(line);
	}
	zh_ref_update_dispose(&u);
	zh_ref_update_dispose(&u);
}

/* The hook's input read line by line: empty lines skipped, a malformed
 * one reported and read past, the last line without its newline. */
static void next_updates(void **state)
{
	const char *in =
	    "\n" Z40 " " A40 " refs/heads/main\n\n\nbroken line\n" A40 " " Z40
	    " refs/tags/v1\r\n" A40 " " A40 " refs/heads/x";
	struct zh_error err = {0};
	struct zh_ref_update u = {0};

	(void)state;
	assert_int_equal(zh_flow_next_update(&u, &in, &err), 1);
	assert_string_equal(u.ref, "refs/heads/main");
	assert_int_equal(zh_flow_next_update(&u, &in, &err), ZH_EINVALID);
	assert_non_null(strstr(err.msg, "<old-id> <new-id> <ref>"));
	assert_int_equal(zh_flow_next_update(&u, &in, &err), 1);
	assert_string_equal(u.ref, "refs/tags/v1");
	assert_string_equal(u.new_hex, Z40);
	assert_int_equal(zh_flow_next_update(&u, &in, &err), 1);
	assert_string_equal(u.ref, "refs/heads/x");
	assert_int_equal(zh_flow_next_update(&u, &in, &err), 0);
	assert_int_equal(zh_flow_next_update(&u, &in, &err), 0);
	in = "\n\n";
	assert_int_equal(zh_flow_next_update(&u, &in, &err), 0);
	zh_ref_update_dispose(&u);
}

/* Only branches and tags that still exist can fire. */
static void may_fire(void **state)
{
	struct zh_ref_update u = {0};

	(void)state;
	assert_int_equal(parse(&u, Z40 " " A40 " refs/heads/main"), 0);
	assert_true(zh_flow_update_may_fire(&u));
	assert_int_equal(parse(&u, Z40 " " A40 " refs/tags/v1"), 0);
	assert_true(zh_flow_update_may_fire(&u));
	assert_int_equal(parse(&u, A40 " " Z40 " refs/heads/main"), 0);
	assert_false(zh_flow_update_may_fire(&u)); /* deleted */
	assert_int_equal(parse(&u, Z40 " " A40 " refs/notes/zadig"), 0);
	assert_false(zh_flow_update_may_fire(&u));
	assert_int_equal(parse(&u, Z40 " " A40 " refs/merge-requests/1/head"),
			 0);
	assert_false(zh_flow_update_may_fire(&u));
	assert_int_equal(parse(&u, Z40 " " A40 " refs/headsx/main"), 0);
	assert_false(zh_flow_update_may_fire(&u));
	zh_ref_update_dispose(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(good_lines),   cmocka_unit_test(bad_lines),
	    cmocka_unit_test(next_updates), cmocka_unit_test(long_refs),
	    cmocka_unit_test(may_fire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
