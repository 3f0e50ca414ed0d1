#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/error.h"
#include "util/value.h"
#include "util/banned.h"

static void build_get_dup(void **state)
{
	struct zh_value *m = zh_value_new(ZH_VALUE_MAP);
	struct zh_value *l = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *c;

	(void)state;
	assert_int_equal(zh_value_append(l, NULL, zh_value_new_int(7)), 0);
	assert_int_equal(zh_value_append(l, NULL, zh_value_new_bool(true)), 0);
	assert_int_equal(zh_value_append(l, NULL, zh_value_new_number("2.5")),
			 0);
	assert_int_equal(zh_value_append(m, "name", zh_value_new_string("x")), 0);
	assert_int_equal(zh_value_append(m, "list", l), 0);
	/* a map needs keys, a list refuses them */
	assert_int_equal(zh_value_append(m, NULL, zh_value_new_int(1)),
			 ZH_EINVALID);
	assert_string_equal(zh_value_get(m, "name")->u.s, "x");
	assert_null(zh_value_get(m, "nope"));
	c = zh_value_dup(m);
	zh_value_free(m);
	assert_int_equal(c->len, 2);
	assert_int_equal(zh_value_get(c, "list")->items[0]->u.i, 7);
	assert_true(zh_value_get(c, "list")->items[1]->u.b);
	assert_int_equal(zh_value_get(c, "list")->items[2]->type,
			 ZH_VALUE_NUMBER);
	assert_string_equal(zh_value_get(c, "list")->items[2]->u.s, "2.5");
	zh_value_free(c);
	zh_value_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(build_get_dup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
