#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mapping/mapping.h"
#include "util/banned.h"

struct glob_case {
	const char *pattern;
	const char *s;
	bool match;
};

static const struct glob_case cases[] = {
    /* literals and the empty cases */
    {"", "", true},
    {"", "a", false},
    {"a", "", false},
    {"main", "main", true},
    {"main", "mainx", false},
    {"main", "mai", false},
    {"Main", "main", false},
    /* '*' stays inside one segment */
    {"*", "", true},
    {"*", "abc", true},
    {"*", "a/b", false},
    {"release/*", "release/1.0", true},
    {"release/*", "release/", true},
    {"release/*", "release", false},
    {"release/*", "release/1.0/hotfix", false},
    {"*/*", "a/b", true},
    {"*/*", "a/b/c", false},
    {"group/*", "group/voting-app", true},
    {"group/*", "other/voting-app", false},
    {"a*b*c", "abc", true},
    {"a*b*c", "aXbYc", true},
    {"a*b*c", "aXbY/c", false},
    {"*.c", "main.c", true},
    {"*.c", "src/main.c", false},
    /* dots and dotfiles: '*' matches them */
    {"*", ".gitignore", true},
    {"*.md", ".md", true},
    {"*.md", "README.md", true},
    {"*.md", "docs/README.md", false},
    {".*", ".env", true},
    {".*", "env", false},
    {"a.b", "a.b", true},
    {"a.b", "axb", false},
    /* '**' crosses '/' */
    {"**", "", true},
    {"**", "a", true},
    {"**", "a/b/c", true},
    {"**", ".hidden/x", true},
    {"docs/**", "docs/a.md", true},
    {"docs/**", "docs/a/b/c.md", true},
    {"docs/**", "docs", false},
    {"docs/**", "docsx/a", false},
    {"docs/**", "src/docs/a", false},
    {"a/**", "a/b/c", true},
    {"a/**", "a", false},
    {"**/x", "x", true},
    {"**/x", "a/x", true},
    {"**/x", "a/b/x", true},
    {"**/x", "ax", false},
    {"**/x", "a/bx", false},
    {"**/*.md", "README.md", true},
    {"**/*.md", "docs/x/README.md", true},
    {"**/*.md", "docs/x/README.mdx", false},
    {"src/**/x.c", "src/x.c", true},
    {"src/**/x.c", "src/a/x.c", true},
    {"src/**/x.c", "src/a/b/x.c", true},
    {"src/**/x.c", "srcx.c", false},
    {"src/**/x.c", "src/ax.c", false},
    {"src/**/x.c", "lib/src/x.c", false},
    {"**/src/**", "src/a", true},
    {"**/src/**", "a/b/src/c/d", true},
    {"**/src/**", "a/bsrc/c", false},
    {"**/**/x", "x", true},
    {"**/**/x", "a/b/c/x", true},
    {"**x", "a/b/x", true},
    {"**x", "x", true},
    {"x**", "x/y/z", true},
    {"a**b", "a/x/y/b", true},
    {"a**b", "ab", true},
    {"a/**b", "a/x/yb", true},
    {"a/**b", "a/b", true},
    {"***", "a/b", true},
    {"**.c", "src/a/b.c", true},
    {"src/**/", "src/a/", true},
    /* '?' is one character, never '/' */
    {"?", "a", true},
    {"?", "", false},
    {"?", "ab", false},
    {"?", "/", false},
    {"a?c", "abc", true},
    {"a?c", "a/c", false},
    {"v?.?", "v1.2", true},
    /* classes */
    {"[abc]", "b", true},
    {"[abc]", "d", false},
    {"[abc]", "", false},
    {"[a-z]", "m", true},
    {"[a-z]", "M", false},
    {"[a-z0-9_]x", "7x", true},
    {"[!a]", "b", true},
    {"[!a]", "a", false},
    {"[^a]", "b", true},
    {"[^a]", "a", false},
    {"[!a-c]", "d", true},
    {"[!a-c]", "b", false},
    {"[!a]", "/", false},
    {"[/]", "/", false},
    {"a[/]b", "a/b", false},
    {"[]]", "]", true},
    {"[]a]", "a", true},
    {"[!]]", "]", false},
    {"[!]]", "x", true},
    {"[a-]", "-", true},
    {"[-a]", "-", true},
    {"[\\]]", "]", true},
    {"[\\-a]", "-", true},
    {"[\\!a]", "!", true},
    {"v[0-9]*", "v1.2.3", true},
    {"v[0-9]*", "vx", false},
    {"release/[0-9]*.x", "release/1.x", true},
    /* escapes */
    {"\\*", "*", true},
    {"\\*", "a", false},
    {"\\?", "?", true},
    {"\\?", "a", false},
    {"\\[a]", "[a]", true},
    {"\\[a]", "a", false},
    {"a\\\\b", "a\\b", true},
    {"\\a", "a", true},
    /* malformed: the offending character is literal */
    {"[abc", "[abc", true},
    {"[abc", "a", false},
    {"a\\", "a\\", true},
    {"[z-a]", "[z-a]", true},
    /* characters are UTF-8 characters: '?' and a class take a whole
     * multi-byte sequence, a byte that is not UTF-8 is one by itself */
    {"release-?", "release-\u00e9", true},
    {"release-?", "release-e", true},
    {"release-??", "release-\u00e9", false},
    {"?", "\u20ac", true},
    {"?", "\U0001F600", true},
    {"?x?", "\u00e9x\u20ac", true},
    {"?", "\xe9", true},
    {"?", "\xc3", true},
    {"?", "\xc3(", false},
    {"??", "\xc3(", true},
    {"a?z", "a\xff\xfez", false},
    {"a??z", "a\xff\xfez", true},
    {"?", "\xed\xa0\x80", false}, /* a surrogate is not UTF-8 */
    {"???", "\xed\xa0\x80", true},
    {"feat/[\u00fc]*", "feat/\u00e4x", false},
    {"feat/[\u00fc]*", "feat/\u00fcx", true},
    {"[\u00e9]", "\xc3", false},
    {"[\u00e9]", "\xa9", false},
    {"[\u00e9]", "\u00e9", true},
    {"[!\u00fc]", "\u00e4", true},
    {"[!\u00fc]", "\u00fc", false},
    {"[!\u00fc]", "\xc3", true},
    {"[!a]", "\u00e9", true},
    {"[!a]x", "\u00e9x", true},
    {"[\u00e0-\u00ff]", "\u00e9", true},
    {"[\u00e0-\u00ff]", "a", false},
    {"[\u00e0-\u00ff]", "\u0100", false},
    {"[a-\u00ff]", "\u00e9", true},
    {"[a-\u00ff]", "\u0100", false},
    {"[\u03b1-\u03c9]x", "\u03bbx", true},
    {"[\u03b1-\u03c9]x", "\u00e9x", false},
    {"[a\u20acz]", "\u20ac", true},
    {"[a\u20acz]", "\xe2", false},
    {"[\\\u00e9]", "\u00e9", true},
    {"[\xe9]", "\xe9", true},
    {"[\xe9]", "\u00e9", false},
    {"\\\u00e9", "\u00e9", true},
    {"*\u00e9", "ab\u00e9", true},
    {"*", "\u00e9/x", false},
    {"\u00e9", "\u00e9", true},
    {"\u00e9", "\xc3", false},
    /* long strings */
    {"*a*a*a*a*a*a*b", "aaaaaaaaaaab", true},
    {"**/deep/**/*.c", "x/y/z/deep/a/b/c/d.c", true},
};

static void table(void **state)
{
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = zh_glob_match(cases[i].pattern, cases[i].s);

		if (got != cases[i].match) {
			print_error("glob '%s' on '%s': got %d, want %d\n",
				    cases[i].pattern, cases[i].s, got,
				    cases[i].match);
			failed++;
		}
	}
	if (failed)
		fail_msg("%zu of the cases failed", failed);
}

static void null_args(void **state)
{
	(void)state;
	assert_false(zh_glob_match(NULL, "a"));
	assert_false(zh_glob_match("a", NULL));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Backtracking matchers take exponential time here. */
static void pathological(void **state)
{
	size_t n = 100000;
	char *s = malloc(n + 1);
	char pat[512];
	double t0;
	size_t i;
	int used = 0;

	(void)state;
	assert_non_null(s);
	memset(s, 'a', n);
	s[n] = '\0';
	t0 = now();
	assert_false(zh_glob_match("*a*a*a*a*a*a*b", s));
	assert_false(zh_glob_match("**a**a**a**a**a**a**b", s));
	assert_true(zh_glob_match("*a*a*a*a*a*a*", s));
	for (i = 0; i < 40; i++)
		used += snprintf(pat + used, sizeof(pat) - (size_t)used, "*a");
	snprintf(pat + used, sizeof(pat) - (size_t)used, "b");
	assert_false(zh_glob_match(pat, s));
	for (i = 0; i < n; i += 2)
		s[i] = '/';
	assert_false(zh_glob_match("**/a**/a**/a**/a**/b", s));
	assert_true(now() - t0 < 2.0);
	free(s);
}

/* Patterns longer than the stack token buffer take the heap path. */
static void long_pattern(void **state)
{
	char pat[300], s[300];

	(void)state;
	memset(pat, 'x', 200);
	memcpy(pat + 200, "/**/[a-c]?", 11);
	memset(s, 'x', 200);
	memcpy(s + 200, "/d/e/bz", 8);
	assert_true(zh_glob_match(pat, s));
	s[205] = 'q';
	assert_false(zh_glob_match(pat, s));
}

static void check(void **state)
{
	static const char *const good[] = {
	    "",
	    "main",
	    "release/*",
	    "**/x",
	    "[a-z]",
	    "[!a]",
	    "[]]",
	    "\\[",
	    "a\\\\",
	    "src/**/x.c",
	    "v[0-9]*",
	    "[\\]]",
	    "[\u00e9-\u00fc]",
	    "[a-\u00e9]",
	    "[\xfe-\xff]",
	};
	static const struct {
		const char *pattern, *msg;
	} bad[] = {
	    {"[abc", "unclosed '[' in glob '[abc'"},
	    {"a[", "unclosed '[' in glob 'a['"},
	    {"[!", "unclosed '[' in glob '[!'"},
	    {"[]", "unclosed '[' in glob '[]'"},
	    {"a\\", "trailing backslash in glob 'a\\'"},
	    {"[z-a]", "reversed range in glob '[z-a]'"},
	    {"[\u00fc-\u00e9]", "reversed range in glob '[\u00fc-\u00e9]'"},
	    {"[\u00e9-a]", "reversed range in glob '[\u00e9-a]'"},
	};
	struct zh_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		zh_error_clear(&err);
		if (zh_glob_check(good[i], &err) != 0)
			fail_msg("'%s': %s", good[i], err.msg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zh_error_clear(&err);
		assert_int_equal(zh_glob_check(bad[i].pattern, &err),
				 ZH_EINVALID);
		assert_int_equal(err.code, ZH_EINVALID);
		assert_string_equal(err.msg, bad[i].msg);
	}
	assert_int_equal(zh_glob_check(NULL, &err), ZH_EINVALID);
	assert_int_equal(zh_glob_check("[", NULL), ZH_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(table),	    cmocka_unit_test(null_args),
	    cmocka_unit_test(pathological), cmocka_unit_test(long_pattern),
	    cmocka_unit_test(check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
