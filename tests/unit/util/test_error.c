/* zh_error_set: formatting, NULL-safety, and a cut message that never
 * ends inside a UTF-8 character. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/banned.h"
#include "util/error.h"

/* Whether s is whole UTF-8: no sequence cut short, none stray. */
static int whole_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i;

	while (*p) {
		n = *p < 0x80		  ? 1
		    : (*p & 0xe0) == 0xc0 ? 2
		    : (*p & 0xf0) == 0xe0 ? 3
		    : (*p & 0xf8) == 0xf0 ? 4
					  : 0;
		if (!n)
			return 0;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return 0;
		p += n;
	}
	return 1;
}

static void sets_and_returns(void **state)
{
	struct zh_error err = {0};

	(void)state;
	assert_int_equal(zh_error_set(&err, ZH_ECONFIG, "bad key '%s'", "x"),
			 ZH_ECONFIG);
	assert_int_equal(err.code, ZH_ECONFIG);
	assert_string_equal(err.msg, "bad key 'x'");
	assert_int_equal(zh_error_set(NULL, ZH_ENET, "%s", "y"), ZH_ENET);
}

/* A message longer than err->msg ends on a character boundary, where it
 * ended with the first bytes of a character (a broken note line, log line
 * and pusher output). */
static void long_message_cut_on_a_character(void **state)
{
	static const char *const chars[] = {"中", "é", "😀", "a中"};
	struct zh_error err;
	char text[2048];
	size_t i, k, n, len;

	(void)state;
	for (i = 0; i < sizeof(chars) / sizeof(chars[0]); i++) {
		/* each offset puts the cut at another byte of a character */
		for (k = 0; k < 4; k++) {
			memset(text, 0, sizeof(text));
			memcpy(text, "xxx", k);
			len = k;
			n = strlen(chars[i]);
			while (len + n < sizeof(text))
				len += (size_t)snprintf(text + len, n + 1, "%s",
							chars[i]);
			memset(&err, 0, sizeof(err));
			zh_error_set(&err, ZH_EZADIG, "zadig 6163: %s", text);
			if (!whole_utf8(err.msg))
				fail_msg("'%s' after %zu bytes: cut inside a "
					 "character: ...%s",
					 chars[i], k,
					 err.msg + strlen(err.msg) - 8);
			assert_true(strlen(err.msg) > sizeof(err.msg) - 5);
			assert_true(strlen(err.msg) < sizeof(err.msg));
		}
	}
	/* plain ASCII keeps every byte that fits */
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	zh_error_set(&err, ZH_EZADIG, "%s", text);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sets_and_returns),
	    cmocka_unit_test(long_message_cut_on_a_character),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
