#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/banned.h"
#include "util/error.h"
#include "util/perm.h"

/* parsed VALUE: what zh_perm_parse makes of it (0 on an error, then
 * *rc says so) */
static int parsed(const char *value, int *rc)
{
	struct zh_error err = {0};
	int shared = 12345;

	*rc = zh_perm_parse(&shared, value, &err);
	if (*rc)
		assert_int_equal(shared, 0);
	return shared;
}

static void parse_as_git(void **state)
{
	static const struct {
		const char *v;
		int want;
	} cases[] = {
	    {NULL, 0660},    {"group", 0660}, {"true", 0660},
	    {"yes", 0660},   {"ON", 0660},    {"1", 0660},
	    {"all", 0664},   {"world", 0664}, {"everybody", 0664},
	    {"2", 0664},     {"umask", 0},    {"false", 0},
	    {"no", 0},	     {"0", 0},	      {"", 0},
	    {"0640", -0640}, {"660", -0660},  {"0600", -0600},
	    {"0777", -0666}, /* never write for others */
	};
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parsed(cases[i].v, &rc), cases[i].want);
		assert_int_equal(rc, 0);
	}
	/* git dies on these */
	parsed("0440", &rc);
	assert_int_equal(rc, ZH_EINVALID);
	parsed("bogus", &rc);
	assert_int_equal(rc, ZH_EINVALID);
	parsed("group ", &rc);
	assert_int_equal(rc, ZH_EINVALID);
}

static void modes_as_git(void **state)
{
	(void)state;
	/* umask: untouched */
	assert_int_equal(zh_perm_mode(0, S_IFREG | 0600), S_IFREG | 0600);
	assert_int_equal(zh_perm_mode(0, S_IFDIR | 0700), S_IFDIR | 0700);
	/* group: the group may do what the owner may; directories setgid */
	assert_int_equal(zh_perm_mode(0660, S_IFREG | 0600), S_IFREG | 0660);
	assert_int_equal(zh_perm_mode(0660, S_IFREG | 0644), S_IFREG | 0664);
	assert_int_equal(zh_perm_mode(0660, S_IFREG | 0444), S_IFREG | 0444);
	assert_int_equal(zh_perm_mode(0660, S_IFREG | 0400), S_IFREG | 0440);
	assert_int_equal(zh_perm_mode(0660, S_IFDIR | 0700),
			 S_IFDIR | S_ISGID | 0770);
	/* everybody: and others read */
	assert_int_equal(zh_perm_mode(0664, S_IFREG | 0600), S_IFREG | 0664);
	assert_int_equal(zh_perm_mode(0664, S_IFDIR | 0700),
			 S_IFDIR | S_ISGID | 0775);
	/* an octal mode: exactly that */
	assert_int_equal(zh_perm_mode(-0640, S_IFREG | 0666), S_IFREG | 0640);
	assert_int_equal(zh_perm_mode(-0640, S_IFREG | 0444), S_IFREG | 0440);
	assert_int_equal(zh_perm_mode(-0640, S_IFDIR | 0700),
			 S_IFDIR | S_ISGID | 0750);
	assert_int_equal(zh_perm_mode(-0600, S_IFDIR | 0755), S_IFDIR | 0700);
}

/* The umask for libgit2's 0666 and 0777 gives what zh_perm_mode gives
 * to what the umask alone would have made. */
static void umask_matches_modes(void **state)
{
	static const int shared[] = {0660, 0664, -0640, -0660, -0600, -0644};
	static const mode_t masks[] = {022, 077, 002, 027, 0};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		for (j = 0; j < sizeof(masks) / sizeof(masks[0]); j++) {
			mode_t u = zh_perm_umask(shared[i], masks[j]);
			mode_t f = 0666 & ~masks[j], d = 0777 & ~masks[j];
			mode_t o = 0444 & ~masks[j];

			assert_int_equal(S_IFREG | (0666 & ~u),
					 zh_perm_mode(shared[i], S_IFREG | f));
			assert_int_equal(S_IFREG | (0444 & ~u),
					 zh_perm_mode(shared[i], S_IFREG | o));
			assert_int_equal(S_IFDIR | (0777 & ~u),
					 zh_perm_mode(shared[i], S_IFDIR | d) &
					     ~(mode_t)S_ISGID);
		}
	}
	assert_int_equal(zh_perm_umask(0, 077), 077);
	assert_int_equal(zh_perm_umask(0660, 022), 002);
}

static void adjust_files(void **state)
{
	char dir[] = "/tmp/zh-perm-XXXXXX", file[64];
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/f", dir);
	assert_non_null(f = fopen(file, "w"));
	fchmod(fileno(f), 0600);
	assert_int_equal(zh_perm_fadjust(fileno(f), 0), 0);
	assert_int_equal(fstat(fileno(f), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(zh_perm_fadjust(fileno(f), 0664), 0);
	assert_int_equal(fstat(fileno(f), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0664);
	fclose(f);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(zh_perm_adjust(dir, 0660), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 02770);
	assert_int_equal(zh_perm_adjust(file, -0640), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(zh_perm_adjust("/nonexistent/x", 0660), -ENOENT);
	unlink(file);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_as_git),
	    cmocka_unit_test(modes_as_git),
	    cmocka_unit_test(umask_matches_modes),
	    cmocka_unit_test(adjust_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
