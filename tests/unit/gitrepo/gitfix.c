/* nftw */
#define _XOPEN_SOURCE 700

#include "gitfix.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/banned.h"

extern char **environ;

char *fx_tmpdir(void)
{
	char tmpl[] = "/tmp/zh-gitrepo-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	/* the user's and the system's git config must not leak in */
	setenv("HOME", d, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_COMMON_DIR");
	unsetenv("GIT_INDEX_FILE");
	unsetenv("GIT_OBJECT_DIRECTORY");
	unsetenv("GIT_CEILING_DIRECTORIES");
	return strdup(d);
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

void fx_rmrf(const char *dir)
{
	if (dir && strncmp(dir, "/tmp/", 5) == 0)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int fx_run(char **out, size_t *outlen, const char *const *argv)
{
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv,
			 environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = read(fds[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	if (!buf)
		buf = malloc(1);
	assert_non_null(buf);
	buf[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out) {
		*out = buf;
		if (outlen)
			*outlen = len;
	} else {
		free(buf);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

char *fx_git(const char *dir, ...)
{
	const char *argv[64];
	size_t n = 0, len;
	va_list ap;
	const char *a;
	char *out = NULL;
	int rc;

	argv[n++] = "git";
	argv[n++] = "-C";
	argv[n++] = dir;
	argv[n++] = "-c";
	argv[n++] = "user.name=t";
	argv[n++] = "-c";
	argv[n++] = "user.email=t@e";
	argv[n++] = "-c";
	argv[n++] = "core.quotepath=false";
	va_start(ap, dir);
	while ((a = va_arg(ap, const char *)) && n < 63)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	rc = fx_run(&out, &len, argv);
	if (rc != 0) {
		fprintf(stderr, "git failed (%d):", rc);
		for (n = 0; argv[n]; n++)
			fprintf(stderr, " %s", argv[n]);
		fprintf(stderr, "\n");
	}
	assert_int_equal(rc, 0);
	while (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	return out;
}

char *fx_path(const char *dir, const char *rel)
{
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *p = malloc(n);

	assert_non_null(p);
	snprintf(p, n, "%s/%s", dir, rel);
	return p;
}

void fx_write(const char *dir, const char *rel, const char *content)
{
	char *p = fx_path(dir, rel);
	char *s;
	FILE *f;

	/* mkdir -p of every parent below dir */
	for (s = p + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		struct stat st;

		*s = '\0';
		/* a file in the way of a directory is replaced */
		if (lstat(p, &st) == 0 && !S_ISDIR(st.st_mode))
			assert_int_equal(unlink(p), 0);
		if (mkdir(p, 0777) < 0)
			assert_int_equal(errno, EEXIST);
		*s = '/';
	}
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
	free(p);
}

char *fx_commit(const char *dir, const char *msg)
{
	free(fx_git(dir, "add", "-A", NULL));
	free(fx_git(dir, "commit", "-q", "--allow-empty", "-m", msg, NULL));
	return fx_git(dir, "rev-parse", "HEAD", NULL);
}
