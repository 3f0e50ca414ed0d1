/* The front git-zadig's zh_cli_net: execute the full program, which links
 * libcurl and SQLite, for the verbs that need them (cli/cli.h). Loading
 * libcurl's ~25 libraries costs more than status's whole work, so the
 * program in PATH does without them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/banned.h"

/* Where the full program is: ZH_CLI_FULL_REL from this program's
 * directory (the installed layout, bin/ -> libexec/zadig-hook/), else
 * beside it (the build tree), else ZH_CLI_FULL_DIR when /proc/self/exe
 * cannot be read. */
#ifndef ZH_CLI_FULL_REL
#define ZH_CLI_FULL_REL "../libexec/zadig-hook"
#endif
#ifndef ZH_CLI_FULL_DIR
#define ZH_CLI_FULL_DIR "/usr/local/libexec/zadig-hook"
#endif
#define FULL_NAME ZH_CLI_PROG "-full"

/* This program's directory into dir, or "" when it is unknown. */
static void self_dir(char *dir, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", dir, size - 1);
	char *slash;

	if (n <= 0 || (size_t)n >= size - 1) {
		dir[0] = '\0';
		return;
	}
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
}

int zh_cli_net(const char *verb, struct zh_cli_opts *o, char **argv,
	       struct zh_error *err)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	const char *rel[] = {ZH_CLI_FULL_REL, "."};
	size_t i;

	(void)verb;
	(void)o;
	self_dir(dir, sizeof(dir));
	for (i = 0; dir[0] && i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", dir, rel[i],
			 FULL_NAME);
		if (access(path, X_OK) == 0)
			goto run;
	}
	snprintf(path, sizeof(path), "%s/%s", ZH_CLI_FULL_DIR, FULL_NAME);
run:
	fflush(NULL);
	execv(path, argv);
	return zh_error_set(err, ZH_EIO, "cannot run '%s': %s", path,
			    strerror(errno));
}
