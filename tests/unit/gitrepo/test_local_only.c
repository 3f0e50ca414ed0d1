/* gitrepo/local_only.c: a program that reads local repositories only
 * starts libgit2 without its network set-up, and a remote it would still
 * be asked to reach fails with an error, never a crash or an unverified
 * connection. Nothing listens on the loopback ports named: a connection
 * attempt is refused at once. Linked like the hook and git zadig
 * (zh_link_static): statically where the archives are, else shared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <git2.h>

#include "util/banned.h"

static int setup(void **state)
{
	(void)state;
	assert_true(git_libgit2_init() > 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	git_libgit2_shutdown();
	return 0;
}

/* Connect to url for a fetch: the error libgit2 gives, which must be one
 * (never success, never a crash). A detached remote: no repository
 * configuration (url.*.insteadOf) is read, which in libgit2 1.5 leaks a
 * regex match (gitrepo/remote.c). */
static char *connect_error(const char *url)
{
	git_remote *remote = NULL;
	const git_error *e;
	char *msg;
	int rc;

	assert_int_equal(git_remote_create_detached(&remote, url), 0);
	rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, NULL, NULL, NULL);
	e = git_error_last();
	msg = strdup(e && e->message ? e->message : "");
	assert_non_null(msg);
	git_remote_free(remote);
	if (rc == 0)
		fail_msg("connected to %s", url);
	printf("# %s: %s\n", url, msg);
	assert_true(msg[0] != '\0');
	return msg;
}

/* url fails; in a static program with local_only.c's message: "<what>
 * is not set up in this program" (the transport is not there at all). */
static void fails_not_set_up(const char *url, const char *what)
{
	char *msg = connect_error(url), want[64];

	snprintf(want, sizeof(want), "%s is not set up in this program", what);
#ifdef ZH_STATIC_DEPS
	assert_non_null(strstr(msg, want));
#endif
	free(msg);
}

static void https_fails_with_an_error(void **state)
{
	(void)state;
	fails_not_set_up("https://127.0.0.1:9/r.git", "TLS");
}

static void ssh_fails_with_an_error(void **state)
{
	(void)state;
	fails_not_set_up("ssh://git@127.0.0.1:9/r.git", "SSH");
}

static void http_fails_with_an_error(void **state)
{
	(void)state;
	free(connect_error("http://127.0.0.1:9/r.git"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(https_fails_with_an_error),
	    cmocka_unit_test(ssh_fails_with_an_error),
	    cmocka_unit_test(http_fails_with_an_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
