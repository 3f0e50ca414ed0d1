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
	    "\"a\\\"b\\\\c\\nd\\te\\u0001f\\u001f\x7f\xc3\xa9\"");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(append_and_cap),
		cmocka_unit_test(grows_past_initial),
		cmocka_unit_test(json_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
