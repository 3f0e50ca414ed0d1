/* token_file: read, trimmed, mode warning, unreadable; and the token never
 * shows up in any message. */
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

#include "config/config.h"
#include "util/banned.h"
#include "util/error.h"

#define TOKEN "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.dG9rZW4"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zh-config-test-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	static const char *const files[] = {"token", "open-token", "empty",
					    "two",   "tokfile",	   "c.yaml",
					    "fifo",  "ca.pem"};
	char path[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	return rmdir(dir);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

static int load(struct zh_config **c, struct zh_config_diag *d,
		struct zh_error *e, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return zh_config_load(c, path, d, e);
}

static void token_file_read_and_trimmed(void **state)
{
	struct zh_config *c;
	struct zh_config_diag d;
	struct zh_error e = {0};
	char want[256];

	(void)state;
	write_file("token", TOKEN " \n\n", 0600);
	/* relative to the config file's directory */
	write_file("c.yaml", "zadig:\n  url: http://z\n  token_file: token\n",
		   0644);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	assert_string_equal(c->zadig.token, TOKEN);
	assert_string_equal(c->zadig.token_file, "token");
	snprintf(want, sizeof(want), "%s/c.yaml", dir);
	assert_string_equal(c->path, want);
	assert_int_equal(d.nwarnings, 0);
	zh_config_free(c);
	zh_config_diag_dispose(&d);
}

/* Every path of the file is taken from the file's directory, as
 * token_file is: the hook (run in the git dir), the poller and git zadig
 * (run anywhere) must find one store, one CA and one root. */
static void relative_paths(void **state)
{
	struct zh_config *c;
	struct zh_config_diag d;
	struct zh_error e = {0};
	char want[512];

	(void)state;
	write_file("c.yaml",
		   "zadig:\n  url: http://z\n  token: t\n  ca_file: ca.pem\n"
		   "state_dir: st\nhook:\n  repo_root: ../repos\n"
		   "webhook:\n  secret: s\n  repos:\n    - { project: a, path: "
		   "a.git }\n"
		   "    - { project: b, path: /srv/b.git }\n",
		   0644);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	snprintf(want, sizeof(want), "%s/st", dir);
	assert_string_equal(c->state_dir, want);
	snprintf(want, sizeof(want), "%s/ca.pem", dir);
	assert_string_equal(c->zadig.ca_file, want);
	snprintf(want, sizeof(want), "%s/../repos", dir);
	assert_string_equal(c->hook.repo_root, want);
	snprintf(want, sizeof(want), "%s/a.git", dir);
	assert_string_equal(c->webhook.repos[0].path, want);
	assert_string_equal(c->webhook.repos[1].path, "/srv/b.git");
	zh_config_free(c);
	zh_config_diag_dispose(&d);
}

/* The audit: a zadig.ca_file that cannot be read passed config check,
 * then every request failed ("cannot load the CA certificates") and
 * pushes stayed queued for ever. It is found at load, at its place, in
 * zadig.ca_error: not an error of the programs (a push is still recorded
 * and kept queued), but one of git zadig config check. */
static void ca_file_unreadable(void **state)
{
	static const struct {
		const char *name, *content, *why;
	} cases[] = {
	    {"/nonexistent/ca.pem", NULL,
	     "cannot read zadig.ca_file '/nonexistent/ca.pem': No such file "
	     "or directory"},
	    {"empty", "", "zadig.ca_file 'empty' is empty"},
	    {".", NULL, "zadig.ca_file '.' is not a regular file"},
	};
	struct zh_config *c = NULL;
	struct zh_config_diag d;
	struct zh_error e = {0};
	char text[256], want[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].content)
			write_file(cases[i].name, cases[i].content, 0644);
		snprintf(text, sizeof(text),
			 "zadig:\n  url: https://z\n  token: t\n"
			 "  ca_file: %s\n",
			 cases[i].name);
		write_file("c.yaml", text, 0644);
		assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
		snprintf(want, sizeof(want), "%s/c.yaml:4:12: %s", dir,
			 cases[i].why);
		assert_non_null(c->zadig.ca_error);
		assert_string_equal(c->zadig.ca_error, want);
		assert_int_equal(d.len, 0);
		zh_config_free(c);
		zh_config_diag_dispose(&d);
	}

	/* readable, from the file's directory: no error */
	write_file("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
	write_file("c.yaml",
		   "zadig:\n  url: https://z\n  token: t\n  ca_file: ca.pem\n",
		   0644);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	assert_null(c->zadig.ca_error);
	zh_config_free(c);
	zh_config_diag_dispose(&d);

	/* among the errors of a file that does not load anyway */
	write_file("c.yaml",
		   "zadig:\n  url: https://z\n  token: t\n"
		   "  ca_file: /nonexistent/ca.pem\n  tokn: x\n",
		   0644);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), ZH_ECONFIG);
	assert_int_equal(d.len, 2);
	assert_non_null(strstr(d.msgs[0], "c.yaml:4:12: cannot read "
					  "zadig.ca_file"));
	zh_config_diag_dispose(&d);
}

/* "~/" at the start of a path is $HOME, as git expands it in path
 * values: a personal config names `token_file: ~/.config/zadig/token`. */
static void home_paths(void **state)
{
	struct zh_config *c;
	struct zh_config_diag d;
	struct zh_error e = {0};
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	char want[512];

	(void)state;
	assert_int_equal(setenv("HOME", dir, 1), 0);
	write_file("token", TOKEN "\n", 0600);
	write_file("c.yaml",
		   "zadig:\n  url: http://z\n  token_file: ~/token\n"
		   "state_dir: ~/st\nhook:\n  repo_root: ~user/x\n",
		   0644);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	assert_string_equal(c->zadig.token, TOKEN);
	snprintf(want, sizeof(want), "%s/st", dir);
	assert_string_equal(c->state_dir, want);
	/* only "~/": "~user" is a name like any other */
	snprintf(want, sizeof(want), "%s/~user/x", dir);
	assert_string_equal(c->hook.repo_root, want);
	zh_config_free(c);
	zh_config_diag_dispose(&d);
	if (home) {
		setenv("HOME", home, 1);
		free(home);
	} else {
		unsetenv("HOME");
	}
}

static void token_file_mode_warning(void **state)
{
	struct zh_config *c;
	struct zh_config_diag d;
	struct zh_error e = {0};
	char text[256], want[512];

	(void)state;
	write_file("open-token", TOKEN "\n", 0644);
	snprintf(text, sizeof(text),
		 "zadig:\n  url: http://z\n  token_file: %s/open-token\n", dir);
	write_file("c.yaml", text, 0644);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	assert_string_equal(c->zadig.token, TOKEN);
	assert_int_equal(d.nwarnings, 1);
	snprintf(want, sizeof(want),
		 "%s/c.yaml:3:15: token file '%s/open-token' is readable by "
		 "every user (chmod o-r)",
		 dir, dir);
	assert_string_equal(d.warnings[0], want);
	zh_config_free(c);
	zh_config_diag_dispose(&d);

	/* 0640: for a group of the users that need it (the pushing users,
	 * the receiver's), as README says: no warning */
	write_file("group-token", TOKEN "\n", 0640);
	snprintf(text, sizeof(text),
		 "zadig:\n  url: http://z\n  token_file: %s/group-token\n",
		 dir);
	write_file("c.yaml", text, 0644);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	assert_string_equal(c->zadig.token, TOKEN);
	assert_int_equal(d.nwarnings, 0);
	zh_config_free(c);
	zh_config_diag_dispose(&d);
}

/* A token file the program cannot read (the hook runs as the pushing
 * user) does not fail the configuration: only sending needs the token,
 * so a push is still recorded and kept queued (design.md §8) and git
 * zadig explain works. Why goes to zadig.token_error, at its place. */
static void unreadable(const char *want_tail)
{
	struct zh_config *c = NULL;
	struct zh_config_diag d;
	struct zh_error e = {0};
	char want[512], *tok = NULL;

	snprintf(want, sizeof(want), "%s/c.yaml:3:15: %s", dir, want_tail);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	assert_non_null(c);
	assert_int_equal(d.len, 0);
	assert_null(c->zadig.token);
	assert_non_null(c->zadig.token_error);
	assert_string_equal(c->zadig.token_error, want);
	/* asked for the token, it reads the file again: same answer */
	memset(&e, 0, sizeof(e));
	assert_int_equal(zh_config_token(&tok, c, &e), ZH_ECONFIG);
	assert_null(tok);
	assert_string_equal(e.msg, want);
	zh_config_free(c);
	zh_config_diag_dispose(&d);
}

static void token_file_unreadable(void **state)
{
	char path[256];

	(void)state;
	write_file("c.yaml",
		   "zadig:\n  url: http://z\n  token_file: /nonexistent/tk\n",
		   0644);
	unreadable("cannot read token file '/nonexistent/tk': "
		   "No such file or directory");

	write_file("empty", "\n  \n", 0600);
	write_file("c.yaml", "zadig:\n  url: http://z\n  token_file: empty\n",
		   0644);
	unreadable("token file 'empty' is empty");

	write_file("two", "abc\ndef\n", 0600);
	write_file("c.yaml", "zadig:\n  url: http://z\n  token_file: two\n",
		   0644);
	unreadable("token file 'two' must hold the token on one "
		   "line");

	/* a directory opens (as root too) but is no token */
	snprintf(path, sizeof(path), "%s/tokdir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_file("c.yaml", "zadig:\n  url: http://z\n  token_file: tokdir\n",
		   0644);
	unreadable("token file 'tokdir' is not a regular file");
	assert_int_equal(rmdir(path), 0);
}

/* Once the file is fixed, zh_config_token reads it: the programs that
 * loaded the configuration before (the receiver, a poller) deliver
 * without a reload. */
static void token_file_fixed_later(void **state)
{
	struct zh_config *c = NULL;
	struct zh_config_diag d;
	struct zh_error e = {0};
	char *tok = NULL;

	(void)state;
	write_file("c.yaml", "zadig:\n  url: http://z\n  token_file: token\n",
		   0644);
	write_file("token", "", 0600);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	assert_non_null(c->zadig.token_error);
	write_file("token", TOKEN "\n", 0600);
	assert_int_equal(zh_config_token(&tok, c, &e), 0);
	assert_string_equal(tok, TOKEN);
	free(tok);
	zh_config_free(c);
	zh_config_diag_dispose(&d);

	/* a token read at load is that one */
	write_file("c.yaml", "zadig:\n  url: http://z\n  token: t0k\n", 0644);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	assert_null(c->zadig.token_error);
	assert_int_equal(zh_config_token(&tok, c, &e), 0);
	assert_string_equal(tok, "t0k");
	free(tok);
	zh_config_free(c);
	zh_config_diag_dispose(&d);
}

/* With other errors the file fails anyway: the token file's problem is
 * listed with them (git zadig config check shows every error). */
static void token_file_with_other_errors(void **state)
{
	struct zh_config *c = NULL;
	struct zh_config_diag d;
	struct zh_error e = {0};
	char want[512];

	(void)state;
	write_file("c.yaml",
		   "zadig:\n  url: http://z\n  token_file: /nonexistent/tk\n"
		   "  tokn: x\n",
		   0644);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), ZH_ECONFIG);
	assert_null(c);
	assert_int_equal(d.len, 2);
	snprintf(want, sizeof(want),
		 "%s/c.yaml:3:15: cannot read token file '/nonexistent/tk': "
		 "No such file or directory",
		 dir);
	assert_string_equal(d.msgs[0], want);
	assert_string_equal(e.msg, want);
	assert_non_null(strstr(d.msgs[1], "unknown key 'tokn'"));
	zh_config_diag_dispose(&d);
}

/* The audit: a FIFO named as token_file hung git zadig config check, and
 * the hook past hook.deadline, in open() before the "not a regular
 * file" check. SIGALRM ends the test if it blocks again. */
static void token_file_fifo(void **state)
{
	struct zh_config *c = NULL;
	struct zh_config_diag d;
	struct zh_error e = {0};
	char path[256], want[512], *tok = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo", dir);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	write_file("c.yaml", "zadig:\n  url: http://z\n  token_file: fifo\n",
		   0644);
	alarm(10);
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	assert_int_equal(zh_config_token(&tok, c, &e), ZH_ECONFIG);
	alarm(0);
	snprintf(want, sizeof(want),
		 "%s/c.yaml:3:15: token file 'fifo' is not a regular file",
		 dir);
	assert_string_equal(c->zadig.token_error, want);
	assert_string_equal(e.msg, want);
	assert_int_equal(d.len, 0);
	zh_config_free(c);
	zh_config_diag_dispose(&d);
}

static void no_leak(const struct zh_config_diag *d, const struct zh_error *e)
{
	size_t i;

	for (i = 0; i < d->len; i++)
		assert_null(strstr(d->msgs[i], TOKEN));
	for (i = 0; i < d->nwarnings; i++)
		assert_null(strstr(d->warnings[i], TOKEN));
	assert_null(strstr(e->msg, TOKEN));
}

/* Every kind of message around a token, literal, from the environment and
 * from a file, in every place a secret may be written. */
static void token_never_in_messages(void **state)
{
	static const char *const texts[] = {
	    "zadig:\n  url: http://z\n  token: " TOKEN "\n"
	    "  token_file: x\n  tokn: " TOKEN "\n  timeout: " TOKEN "\n",
	    "zadig:\n  url: http://z\n  token: ${ZH_TEST_TOKEN}\n"
	    "  timeout: ${ZH_TEST_TOKEN}\n"
	    "  insecure_skip_tls_verify: ${ZH_TEST_TOKEN}\n"
	    "webhook:\n  workers: ${ZH_TEST_TOKEN}\n"
	    "  max_body: ${ZH_TEST_TOKEN}\n  secret: ${ZH_TEST_TOKEN}\n"
	    "  listen: ${ZH_TEST_TOKEN}\n"
	    "  public_url: ${ZH_TEST_TOKEN}\n"
	    "notes: {ref: '${ZH_TEST_TOKEN}'}\n"
	    "hook: {mode: '${ZH_TEST_TOKEN}'}\n"
	    "rules:\n  - name: '${ZH_TEST_TOKEN} x'\n"
	    "    repo: '${ZH_TEST_TOKEN}['\n"
	    "    events: '${ZH_TEST_TOKEN}'\n"
	    "    workflow: {name: w, env: e, targets: [{name: s, repos: "
	    "[r]}]}\n"
	    "  - name: '${ZH_TEST_TOKEN}'\n"
	    "    custom_workflow: {project: p, name: n}\n"
	    "  - name: '${ZH_TEST_TOKEN}'\n"
	    "    custom_workflow: {project: p, name: n}\n",
	    "zadig:\n  url: http://z\n  token: \"" TOKEN "\\n\"\n",
	    "zadig:\n  url: http://z\n  token_file: tokfile\n"
	    "  timeout: [\n",
	};
	struct zh_config *c;
	struct zh_config_diag d;
	struct zh_error e;
	size_t i;

	(void)state;
	setenv("ZH_TEST_TOKEN", TOKEN, 1);
	write_file("tokfile", TOKEN "\n", 0644);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		memset(&e, 0, sizeof(e));
		write_file("c.yaml", texts[i], 0644);
		assert_int_equal(load(&c, &d, &e, "c.yaml"), ZH_ECONFIG);
		assert_true(d.len >= 1);
		no_leak(&d, &e);
		zh_config_diag_dispose(&d);
	}
	/* a loadable one with warnings */
	write_file("c.yaml",
		   "zadig:\n  url: http://z\n  token_file: tokfile\n"
		   "rules:\n  - name: a\n"
		   "    workflow: {name: w, env: e, callback: true, targets: "
		   "[{name: s, repos: [r]}]}\n",
		   0644);
	memset(&e, 0, sizeof(e));
	assert_int_equal(load(&c, &d, &e, "c.yaml"), 0);
	assert_int_equal(d.nwarnings, 2);
	no_leak(&d, &e);
	zh_config_free(c);
	zh_config_diag_dispose(&d);
}

/* Found by fuzz/fuzz_config: a rule name or token_file from the
 * environment was quoted expanded in the messages about it, even when the
 * variable is not the configured token (so nothing redacted it), e.g.
 * "token_file: ${ZADIG_TOKEN}" written for "token:". Both are quoted as
 * written. */
static void names_from_env(void **state)
{
	static const char *const texts[] = {
	    "zadig: {url: http://z, token: t}\n"
	    "rules:\n  - name: 'r${ZH_TEST_OTHER}'\n",
	    "zadig: {url: http://z, token: t}\n"
	    "rules:\n  - name: 'r${ZH_TEST_OTHER}'\n"
	    "    workflow: {name: w, env: e, targets: [{name: s, repos: "
	    "[r]}]}\n"
	    "    custom_workflow: {project: p, name: n}\n",
	    "zadig: {url: http://z, token: t}\n"
	    "rules:\n  - name: 'r${ZH_TEST_OTHER}'\n"
	    "    workflow: {name: w, env: e, targets: [{name: s, repos: "
	    "[r]}]}\n"
	    "  - name: 'r${ZH_TEST_OTHER}'\n"
	    "    workflow: {name: w, env: e, targets: [{name: s, repos: "
	    "[r]}]}\n",
	};
	const char *tf = "zadig: {url: http://z, token_file: "
			 "'r${ZH_TEST_OTHER}'}\n";
	const char *cb = "zadig: {url: http://z, token: t}\n"
			 "rules:\n  - name: 'r${ZH_TEST_OTHER}'\n"
			 "    workflow: {name: w, env: e, callback: true, "
			 "targets: [{name: s, repos: [r]}]}\n";
	struct zh_config *c;
	struct zh_config_diag d;
	struct zh_error e;
	size_t i;

	(void)state;
	setenv("ZH_TEST_OTHER", TOKEN, 1);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		memset(&e, 0, sizeof(e));
		assert_int_equal(zh_config_parse(&c, "t.yaml", texts[i],
						 strlen(texts[i]), &d, &e),
				 ZH_ECONFIG);
		no_leak(&d, &e);
		assert_non_null(strstr(e.msg, "'r${ZH_TEST_OTHER}'"));
		zh_config_diag_dispose(&d);
	}
	/* a token file that cannot be read: quoted as written, at load and
	 * when read again */
	memset(&e, 0, sizeof(e));
	assert_int_equal(zh_config_parse(&c, "t.yaml", tf, strlen(tf), &d, &e),
			 0);
	assert_non_null(c->zadig.token_error);
	assert_null(strstr(c->zadig.token_error, TOKEN));
	assert_non_null(strstr(c->zadig.token_error, "'r${ZH_TEST_OTHER}'"));
	{
		char *tok = NULL;

		assert_int_equal(zh_config_token(&tok, c, &e), ZH_ECONFIG);
		no_leak(&d, &e);
		assert_non_null(strstr(e.msg, "'r${ZH_TEST_OTHER}'"));
	}
	zh_config_free(c);
	zh_config_diag_dispose(&d);
	memset(&e, 0, sizeof(e));
	assert_int_equal(zh_config_parse(&c, "t.yaml", cb, strlen(cb), &d, &e),
			 0);
	assert_int_equal(d.nwarnings, 1);
	no_leak(&d, &e);
	assert_non_null(strstr(d.warnings[0], "'r${ZH_TEST_OTHER}'"));
	/* the rule itself is named from the environment, as before */
	assert_string_equal(c->rules[0].name, "r" TOKEN);
	zh_config_free(c);
	zh_config_diag_dispose(&d);
	unsetenv("ZH_TEST_OTHER");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(token_file_read_and_trimmed),
	    cmocka_unit_test(relative_paths),
	    cmocka_unit_test(home_paths),
	    cmocka_unit_test(ca_file_unreadable),
	    cmocka_unit_test(token_file_mode_warning),
	    cmocka_unit_test(token_file_unreadable),
	    cmocka_unit_test(token_file_fixed_later),
	    cmocka_unit_test(token_file_with_other_errors),
	    cmocka_unit_test(token_file_fifo),
	    cmocka_unit_test(token_never_in_messages),
	    cmocka_unit_test(names_from_env),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
