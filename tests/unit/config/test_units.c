/* Durations, sizes and where the configuration is looked for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "util/banned.h"
#include "util/error.h"

struct ok_case {
	const char *in;
	int64_t want;
};

static void durations(void **state)
{
	static const struct ok_case good[] = {
	    {"500ms", 500},
	    {"10s", 10000},
	    {"5m", 300000},
	    {"24h", 86400000},
	    {"1h30m", 5400000},
	    {"1m30s250ms", 90250},
	    {"0s", 0},
	    {"90m", 5400000},
	    {"2562047788015h", INT64_C(9223372036854000000)},
	};
	static const char *const bad[] = {
	    "",
	    "10",
	    "ten",
	    "5x",
	    "1.5s",
	    " 5s",
	    "5s ",
	    "-5s",
	    "s",
	    "5 s",
	    "5S",
	    "5sec",
	    "1h30",
	    "ms",
	    "1d",
	    "99999999999999999999s",
	    "2562047788016h",
	};
	size_t i;
	int64_t v;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		assert_int_equal(zh_config_parse_duration(&v, good[i].in), 0);
		assert_int_equal(v, good[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		if (zh_config_parse_duration(&v, bad[i]) != ZH_EINVALID)
			fail_msg("duration '%s' accepted", bad[i]);
		assert_int_equal(v, -1);
	}
	assert_int_equal(zh_config_parse_duration(&v, NULL), ZH_EINVALID);
}

static void sizes(void **state)
{
	static const struct ok_case good[] = {
	    {"1MiB", 1048576},
	    {"512KiB", 524288},
	    {"1GiB", 1073741824},
	    {"100B", 100},
	    {"100", 100},
	    {"0", 0},
	    {"10KB", 10000},
	    {"1MB", 1000000},
	    {"2GB", 2000000000},
	    {"8589934591GiB", INT64_C(9223372035781033984)},
	};
	static const char *const bad[] = {
	    "",
	    "1XB",
	    "MiB",
	    "1 MiB",
	    "1mib",
	    "1.5MiB",
	    "-1",
	    "1Mi",
	    "1K",
	    "1MiBs",
	    "99999999999999999999",
	    "8589934592GiB",
	};
	size_t i;
	int64_t v;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		assert_int_equal(zh_config_parse_size(&v, good[i].in), 0);
		assert_int_equal(v, good[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = -1;
		if (zh_config_parse_size(&v, bad[i]) != ZH_EINVALID)
			fail_msg("size '%s' accepted", bad[i]);
		assert_int_equal(v, -1);
	}
}

static void locate(void **state)
{
	struct zh_error e = {0};
	char *p = NULL;

	(void)state;
	setenv("ZADIG_HOOK_CONFIG", "/from/env.yaml", 1);
	assert_int_equal(
	    zh_config_locate(&p, "/explicit.yaml", "/git.yaml", &e), 0);
	assert_string_equal(p, "/explicit.yaml");
	free(p);
	assert_int_equal(zh_config_locate(&p, NULL, "/git.yaml", &e), 0);
	assert_string_equal(p, "/from/env.yaml");
	free(p);
	unsetenv("ZADIG_HOOK_CONFIG");
	assert_int_equal(zh_config_locate(&p, NULL, "/git.yaml", &e), 0);
	assert_string_equal(p, "/git.yaml");
	free(p);
	if (access("/etc/zadig-hook/config.yaml", F_OK) == 0) {
		assert_int_equal(zh_config_locate(&p, NULL, NULL, &e), 0);
		assert_string_equal(p, "/etc/zadig-hook/config.yaml");
		free(p);
		return;
	}
	assert_int_equal(zh_config_locate(&p, NULL, "", &e), ZH_ECONFIG);
	assert_null(p);
	assert_string_equal(e.msg,
			    "no configuration: pass --config, set "
			    "ZADIG_HOOK_CONFIG or git config zadig.config, or "
			    "create /etc/zadig-hook/config.yaml");
}

/* ZADIG_HOOK_CONFIG set but empty is unset (design.md §3), as
 * zh_config_locate takes it: the repository's zadig.config still counts. */
static void git_value_wanted(void **state)
{
	(void)state;
	unsetenv("ZADIG_HOOK_CONFIG");
	assert_true(zh_config_wants_git_value(NULL));
	assert_true(zh_config_wants_git_value(""));
	assert_false(zh_config_wants_git_value("/explicit.yaml"));
	setenv("ZADIG_HOOK_CONFIG", "", 1);
	assert_true(zh_config_wants_git_value(NULL));
	setenv("ZADIG_HOOK_CONFIG", "/from/env.yaml", 1);
	assert_false(zh_config_wants_git_value(NULL));
	unsetenv("ZADIG_HOOK_CONFIG");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(durations),
	    cmocka_unit_test(sizes),
	    cmocka_unit_test(locate),
	    cmocka_unit_test(git_value_wanted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
