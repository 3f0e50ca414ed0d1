#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/banned.h"

static void append_and_cap(void **state)
{
	struct zh_buf b;
	char *s;

	(void)state;
	zh_buf_init(&b, 8);
	assert_string_equal(zh_buf_cstr(&b), "");
	assert_int_equal(zh_buf_puts(&b, "abcd"), 0);
	assert_int_equal(zh_buf_printf(&b, "%d", 123), 0);
	assert_string_equal(zh_buf_cstr(&b), "abcd123");
	/* past the cap: refused whole, content unchanged */
	assert_int_equal(zh_buf_puts(&b, "xy"), ZH_ETOOBIG);
	assert_int_equal(zh_buf_printf(&b, "%s", "xy"), ZH_ETOOBIG);
	assert_string_equal(zh_buf_cstr(&b), "abcd123");
	assert_int_equal(zh_buf_puts(&b, "z"), 0);
	assert_int_equal(b.len, 8);
	s = zh_buf_detach(&b);
	assert_string_equal(s, "abcd123z");
	free(s);
	assert_null(b.ptr);
	zh_buf_dispose(&b);
}

static void grows_past_initial(void **state)
{
	struct zh_buf b;
	size_t i;

	(void)state;
	zh_buf_init(&b, 1 << 20);
	for (i = 0; i < 10000; i++)
		assert_int_equal(zh_buf_append(&b, "0123456789", 10), 0);
	assert_int_equal(b.len, 100000);
	assert_int_equal(strlen(zh_buf_cstr(&b)), 100000);
	zh_buf_reset(&b);
	assert_string_equal(zh_buf_cstr(&b), "");
	zh_buf_dispose(&b);
	zh_buf_dispose(NULL);
}

/* No cap (SIZE_MAX): the allocation still holds what was appended, where
 * max + 1 wrapped to 0 and the buffer shrank to nothing. A size no
 * allocation can reach fails, where doubling the capacity wrapped to 0
 * and never ended. */
static void no_cap(void **state)
{
	struct zh_buf b;
	char c = 'x';

	(void)state;
	zh_buf_init(&b, SIZE_MAX);
	assert_int_equal(zh_buf_puts(&b, "hello, world"), 0);
	assert_true(b.cap >= b.len + 1);
	assert_string_equal(zh_buf_cstr(&b), "hello, world");
	assert_int_equal(zh_buf_append(&b, &c, SIZE_MAX / 2 + 10), ZH_ENOMEM);
	assert_int_equal(zh_buf_append(&b, &c, SIZE_MAX - b.len), ZH_ENOMEM);
	assert_string_equal(zh_buf_cstr(&b), "hello, world");
	zh_buf_dispose(&b);
}

static void json_str(void **state)
{
	struct zh_buf b;

	(void)state;
	zh_buf_init(&b, 1024);
	assert_int_equal(zh_buf_json_str(&b, "a\"b\\c\nd\te\x01"
					     "f\x1f\x7f\xc3\xa9"),
			 0);
	assert_string_equal(
	    zh_buf_cstr(&b),
	    "\"a\\\"b\\\\c\\nd\\te\\u0001f\\u001f\\u007f\xc3\xa9\"");
	zh_buf_reset(&b);
	/* what a terminal obeys rather than shows (C1 controls, bidi
	 * overrides) is escaped too: the same string, safe to print */
	assert_int_equal(zh_buf_json_str(&b, "\xc2\x9b"
					     "2J\xc2\x85\xc2\xa0\xe2\x80\xae"
					     "x\xe2\x81\xa9\xe2\x80\x8f"),
			 0);
	assert_string_equal(zh_buf_cstr(&b),
			    "\"\\u009b2J\\u0085\xc2\xa0\\u202ex\\u2069"
			    "\xe2\x80\x8f\"");
	zh_buf_reset(&b);
	/* not UTF-8: a stray continuation, a cut sequence, an overlong '/',
	 * a surrogate; a 4-byte one kept */
	assert_int_equal(zh_buf_json_str(&b, "a\x80"
					     "b\xc3 \xc0\xaf"
					     "\xed\xa0\x80\xf0\x9f\x98\x80"),
			 0);
	assert_string_equal(zh_buf_cstr(&b),
			    "\"a\\ufffdb\\ufffd \\ufffd\\ufffd\\ufffd\\ufffd"
			    "\\ufffd\xf0\x9f\x98\x80\"");
	zh_buf_reset(&b);
	assert_int_equal(zh_buf_json_str(&b, ""), 0);
	assert_string_equal(zh_buf_cstr(&b), "\"\"");
	zh_buf_dispose(&b);
	/* past the cap: an error, as for any append */
	zh_buf_init(&b, 4);
	assert_true(zh_buf_json_str(&b, "abcdef") < 0);
	zh_buf_dispose(&b);
}

/* One character: a valid UTF-8 sequence, else one byte by itself. */
static void utf8_char(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} cases[] = {
	    {"", 1, 0},
	    {"a", 1, 'a'},
	    {"/x", 1, '/'},
	    {"\xc3\xa9x", 2, 0xe9},
	    {"\xe2\x82\xac", 3, 0x20ac},
	    {"\xf0\x9f\x98\x80", 4, 0x1f600},
	    /* not UTF-8: each byte is a character beyond U+10FFFF */
	    {"\xe9", 1, ZH_UTF8_BYTE + 0xe9},
	    {"\xc3(", 1, ZH_UTF8_BYTE + 0xc3},
	    {"\xc3", 1, ZH_UTF8_BYTE + 0xc3},
	    {"\x80", 1, ZH_UTF8_BYTE + 0x80},
	    {"\xc0\xaf", 1, ZH_UTF8_BYTE + 0xc0},
	    {"\xed\xa0\x80", 1, ZH_UTF8_BYTE + 0xed},
	    {"\xf4\x90\x80\x80", 1, ZH_UTF8_BYTE + 0xf4},
	    {"\xff", 1, ZH_UTF8_BYTE + 0xff},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cp = 1;

		assert_int_equal(zh_utf8_char(cases[i].s, &cp), cases[i].len);
		assert_int_equal(cp, cases[i].cp);
	}
}

/* JSON text json-c wrote: as it is but for the bytes that are not UTF-8
 * (in its strings), which zh_buf_json_str would write \ufffd too. */
static void json_utf8(void **state)
{
	struct zh_buf b;

	(void)state;
	zh_buf_init(&b, 1024);
	assert_int_equal(zh_buf_json_utf8(&b,
					  "{\n  \"a\\\"\": \"Jos\xe9 "
					  "\xc3\xa9\xc0\xaf\", \"n\": 1\n}"),
			 0);
	assert_string_equal(zh_buf_cstr(&b),
			    "{\n  \"a\\\"\": \"Jos\\ufffd \xc3\xa9"
			    "\\ufffd\\ufffd\", \"n\": 1\n}");
	zh_buf_dispose(&b);
}

/* Text for a terminal: what it would obey shows as an escape. */
/* one word sh reads back verbatim: the hook script's path, the ref of
 * the hook's "once ..., run" hint */
static void sh_quote(void **state)
{
	struct zh_buf b;

	(void)state;
	zh_buf_init(&b, SIZE_MAX);
	assert_int_equal(zh_buf_sh_quote(&b, "a b$(x)"), 0);
	assert_int_equal(zh_buf_sh_quote(&b, "it's"), 0);
	assert_int_equal(zh_buf_sh_quote(&b, ""), 0);
	assert_string_equal(zh_buf_cstr(&b), "'a b$(x)''it'\\''s'''");
	zh_buf_dispose(&b);
}

static void display(void **state)
{
	static const char in[] =
	    "a\tb\x1b[2J\rc\x7f\x07\xc2\x9b"
	    "d\x9b\x85\xe2\x80\xaa\xe2\x80\xae"
	    "e\xe2\x81\xa6\xe2\x81\xa9\xc3\xa9\xe9\xe2\x80\xaf";
	struct zh_buf b;

	(void)state;
	zh_buf_init(&b, 1024);
	/* C0 (a tab is a space), DEL, C1 as UTF-8 and as a lone byte, bidi
	 * embeddings, overrides and isolates; the rest as it is, bytes that
	 * are not UTF-8 but no C1 control included */
	assert_int_equal(zh_buf_display(&b, in, strlen(in)), 0);
	assert_string_equal(zh_buf_cstr(&b),
			    "a b\\x1b[2J\\x0dc\\x7f\\x07<U+009B>d\\x9b\\x85"
			    "<U+202A><U+202E>e<U+2066><U+2069>\xc3\xa9\xe9"
			    "\xe2\x80\xaf");
	/* len bytes only, a NUL included; a sequence len cuts is bytes */
	zh_buf_reset(&b);
	assert_int_equal(zh_buf_display(&b, "ab\0\x1b", 4), 0);
	assert_string_equal(zh_buf_cstr(&b), "ab\\x00\\x1b");
	zh_buf_reset(&b);
	assert_int_equal(zh_buf_display(&b, "x\xc2\x9b", 2), 0);
	assert_string_equal(zh_buf_cstr(&b), "x\xc2");
	zh_buf_dispose(&b);
	zh_buf_init(&b, 4);
	assert_true(zh_buf_display(&b, "\x1b\x1b", 2) < 0);
	zh_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(append_and_cap),	  cmocka_unit_test(sh_quote),
	    cmocka_unit_test(grows_past_initial), cmocka_unit_test(no_cap),
	    cmocka_unit_test(json_str),		  cmocka_unit_test(utf8_char),
	    cmocka_unit_test(json_utf8),	  cmocka_unit_test(display),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
