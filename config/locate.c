/* Which configuration file to read (design.md §3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "util/banned.h"
#include "util/error.h"

#define DEFAULT_PATH "/etc/zadig-hook/config.yaml"

static int found(char **out, const char *path, struct zh_error *err)
{
	if (!(*out = strdup(path)))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	return 0;
}

/* Set but empty counts as unset: `ZADIG_HOOK_CONFIG= git push` must not
 * hide the repository's zadig.config. */
static const char *env_path(void)
{
	const char *env = getenv("ZADIG_HOOK_CONFIG");

	return env && *env ? env : NULL;
}

bool zh_config_wants_git_value(const char *explicit_path)
{
	return !(explicit_path && *explicit_path) && !env_path();
}

int zh_config_locate(char **out, const char *explicit_path,
		     const char *git_config_value, struct zh_error *err)
{
	const char *env = env_path();

	*out = NULL;
	/* An explicit choice is returned even when the file is missing, so
	 * that loading it names the file the user asked for. */
	if (explicit_path && *explicit_path)
		return found(out, explicit_path, err);
	if (env)
		return found(out, env, err);
	if (git_config_value && *git_config_value)
		return found(out, git_config_value, err);
	if (access(DEFAULT_PATH, F_OK) == 0)
		return found(out, DEFAULT_PATH, err);
	return zh_error_set(err, ZH_ECONFIG,
			    "no configuration: pass --config, set "
			    "ZADIG_HOOK_CONFIG or git config zadig.config, "
			    "or create " DEFAULT_PATH);
}

char *zh_config_git_path(char *v, const char *top)
{
	const char *home = getenv("HOME"), *dir = top, *rest = v;
	size_t n;
	char *s;

	if (v[0] == '~' && v[1] == '/' && home && home[0] == '/') {
		dir = home;
		rest = v + 2;
	} else if (v[0] == '/' || !*v) {
		return v;
	}
	n = strlen(dir) + strlen(rest) + 2;
	if ((s = malloc(n)))
		snprintf(s, n, "%s%s%s", dir,
			 dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/",
			 rest);
	free(v);
	return s;
}
