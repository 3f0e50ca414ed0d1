#include "hook/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"
#include "util/perm.h"

#include "util/banned.h"

extern char **environ;

int zh_hook_self(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);

	if (n <= 0 || (size_t)n >= size - 1)
		return -1;
	buf[n] = '\0';
	return 0;
}

bool zh_hook_is_self(const char *path)
{
	struct stat a, b;

	return stat(path, &a) == 0 && stat("/proc/self/exe", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int zh_hook_run_by(char *buf, size_t size, const char *argv0)
{
	const char *path = getenv("PATH"), *end;

	if (argv0 && argv0[0] == '/') {
		if (strlen(argv0) < size && zh_hook_is_self(argv0)) {
			snprintf(buf, size, "%s", argv0);
			return 0;
		}
	} else if (argv0 && *argv0 && !strchr(argv0, '/') && path) {
		for (; *path; path = *end ? end + 1 : end) {
			int n;

			if (!(end = strchr(path, ':')))
				end = path + strlen(path);
			if (*path != '/')
				continue;
			n = snprintf(buf, size, "%.*s/%s", (int)(end - path),
				     path, argv0);
			if (n < 0 || (size_t)n >= size ||
			    access(buf, X_OK) != 0)
				continue;
			if (zh_hook_is_self(buf))
				return 0;
			break; /* the shell ran that one: not us */
		}
	}
	return zh_hook_self(buf, size);
}

int zh_hook_self_dir(char *buf, size_t size)
{
	char *slash;

	if (zh_hook_self(buf, size) < 0 || !(slash = strrchr(buf, '/')))
		return -1;
	*slash = '\0';
	return 0;
}

void zh_hook_wait_gone(pid_t pid, int max_ms)
{
	struct timespec ts = {0, 2000000}, tail = {0, 50000000};
	int waited;

	for (waited = 0; pid > 1 && waited < max_ms; waited += 2) {
		if (kill(pid, 0) != 0 && errno != EPERM) {
			/* and a moment for the pusher's git to print and
			 * exit (a local push shares our CPUs) */
			nanosleep(&tail, NULL);
			return;
		}
		nanosleep(&ts, NULL);
	}
}

void zh_hook_spawn_detached(const char *exe, const char *run_by,
			    const char *git_dir, const char *config,
			    const char *state_dir, int shared, pid_t after)
{
	posix_spawn_file_actions_t fa;
	char log[PATH_MAX + 32], pid_s[24];
	const char *argv[10];
	pid_t pid;
	int i = 0, fd;

	snprintf(log, sizeof(log), "%s/poller.log", state_dir);
	/* as a shell sets it: the poller learns the path it runs by */
	argv[i++] = run_by && run_by[0] == '/' ? run_by : "zadig-hook";
	argv[i++] = "poll";
	argv[i++] = "--git-dir";
	argv[i++] = git_dir;
	if (config) {
		argv[i++] = "--config";
		argv[i++] = config;
	}
	snprintf(pid_s, sizeof(pid_s), "%ld", (long)(after > 1 ? after : 0));
	argv[i++] = "--after";
	argv[i++] = pid_s;
	argv[i] = NULL;

	/* posix_spawn returns once the child runs exe with its own stdio:
	 * from then on it holds nothing git waits on (a forked child would
	 * until it got the CPU to close them). The log goes where the state
	 * lives; /dev/null when it cannot. */
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0)
		(void)zh_perm_fadjust(fd, shared);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd, 2);
	else
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
						 0);
	fflush(NULL);
	(void)posix_spawn(&pid, exe, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (fd >= 0)
		close(fd);
}

void zh_hook_detach(void)
{
	int fd;

	(void)setsid();
	for (fd = 3; fd < 1024; fd++)
		close(fd);
}

int zh_hook_run_chained(const char *path, const char *input, size_t len,
			struct zh_error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl;
	char *argv[2];
	int fds[2], rc;
	pid_t pid;
	size_t off = 0;

	/* the hook names it only when install found it: it was lost since */
	if (access(path, F_OK) != 0)
		return zh_error_set(err, ZH_ENOTFOUND,
				    "the chained hook '%s' is missing: it did "
				    "not run",
				    path);
	if (access(path, X_OK) != 0)
		return zh_error_set(err, ZH_EINVALID,
				    "the chained hook '%s' is not executable: "
				    "it did not run",
				    path);
	if (pipe(fds) != 0)
		return zh_error_set(err, ZH_EIO,
				    "cannot run the chained hook '%s': %s",
				    path, strerror(errno));
	argv[0] = (char *)path;
	argv[1] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	/* the hook ignores SIGPIPE (main); the admin's hook gets the
	 * default, as git would run it */
	posix_spawnattr_init(&attr);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, path, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		return zh_error_set(err, ZH_EIO,
				    "cannot run the chained hook '%s': %s",
				    path, strerror(rc));
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	/* a hook that does not read all of its input: EPIPE, not SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	while (off < len) {
		ssize_t w = write(fds[1], input + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fds[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 0;
}

int zh_hook_read_stdin(struct zh_buf *in)
{
	char chunk[8192];
	ssize_t n;

	while ((n = read(0, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ZH_EIO;
		if (zh_buf_append(in, chunk, (size_t)n) < 0)
			return ZH_ETOOBIG;
	}
	return 0;
}

size_t zh_hook_push_options(char **opts, size_t max)
{
	const char *count = getenv("GIT_PUSH_OPTION_COUNT");
	long i, n;
	size_t k = 0;

	n = count ? strtol(count, NULL, 10) : 0;
	for (i = 0; i < n && k < max; i++) {
		char var[40];
		char *v;

		snprintf(var, sizeof(var), "GIT_PUSH_OPTION_%ld", i);
		if ((v = getenv(var)))
			opts[k++] = v;
	}
	return k;
}
