/* git's safe.directory, read as git reads it (git-config(1); setup.c and
 * config.c of git 2.39): libgit2 1.5 compares its values with the path
 * only, and reads neither "*", "%(prefix)/", "~/", GIT_CONFIG_GLOBAL nor
 * `git -c`. */
#include "gitrepo/internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <git2.h>

#include "util/banned.h"

/* The prefix git is built with (Debian's; git has no RUNTIME_PREFIX
 * there): "%(prefix)/<path>" is below it when <path> is relative. */
#define GIT_PREFIX "/usr"

struct safe {
	const char *path;
	bool safe;
};

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s%s", a, b);
	return p;
}

/* ~user's home directory, malloc'd; NULL when there is no such user. */
static char *home_of(const char *user, size_t len)
{
	struct passwd pw, *res = NULL;
	char name[256], buf[4096];

	if (len >= sizeof(name))
		return NULL;
	memcpy(name, user, len);
	name[len] = '\0';
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return NULL;
	return strdup(res->pw_dir);
}

/* git's interpolate_path(v, 0): "%(prefix)/p" is p when p is absolute,
 * else below git's prefix; "~/p" is below $HOME, "~user/p" below user's
 * home; anything else is itself. malloc'd; NULL when it names nothing. */
static char *interpolate(const char *v)
{
	const char *slash;
	char *home, *p;

	if (strncmp(v, "%(prefix)/", 10) == 0)
		return v[10] == '/' ? strdup(v + 10)
				    : join(GIT_PREFIX "/", v + 10);
	if (v[0] != '~')
		return strdup(v);
	slash = strchr(v, '/');
	if (!slash)
		slash = v + strlen(v);
	if (slash == v + 1) {
		const char *h = getenv("HOME");

		return h ? join(h, slash) : NULL;
	}
	if (!(home = home_of(v + 1, (size_t)(slash - v - 1))))
		return NULL;
	p = join(home, slash);
	free(home);
	return p;
}

/* One safe.directory value, in git's order: empty (or none) empties the
 * list, "*" lets every repository in, a path lets in the one it names. */
static void value(struct safe *s, const char *v)
{
	char *p;

	if (!v || !*v) {
		s->safe = false;
		return;
	}
	if (strcmp(v, "*") == 0) {
		s->safe = true;
		return;
	}
	if ((p = interpolate(v)) && strcmp(p, s->path) == 0)
		s->safe = true;
	free(p);
}

static int entry_cb(const git_config_entry *e, void *payload)
{
	value(payload, e->value);
	return 0;
}

/* The values of one file (and the files it includes), in its order. */
static void file(struct safe *s, const char *path)
{
	git_config *cfg = NULL;

	if (!path || access(path, R_OK) != 0)
		return;
	if (git_config_open_ondisk(&cfg, path) == 0)
		git_config_get_multivar_foreach(cfg, "safe.directory", NULL,
						entry_cb, s);
	git_config_free(cfg);
}

/* git's bool of an environment variable, false when unset. */
static bool env_bool(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return false;
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on"))
		return true;
	errno = 0;
	n = strtol(v, &end, 10);
	return !*end && errno == 0 && n != 0;
}

static void pair(struct safe *s, const char *key, const char *v)
{
	if (strcasecmp(key, "safe.directory") == 0)
		value(s, v);
}

/* git's sq_dequote_step: the single-quoted word at *cur (with '\'' and
 * '\!' between quoted parts), dequoted in place; *cur goes past it (NULL
 * at the end). NULL when *cur is not such a word. */
static char *sq_word(char **cur)
{
	char *src = *cur, *dst = *cur, *word = *cur;

	if (*src != '\'')
		return NULL;
	for (;;) {
		char c = *++src;

		if (!c)
			return NULL;
		if (c != '\'') {
			*dst++ = c;
			continue;
		}
		c = *++src;
		if (c == '\\' && (src[1] == '\'' || src[1] == '!') &&
		    src[2] == '\'') {
			*dst++ = src[1];
			src += 2;
			continue;
		}
		*dst = '\0';
		*cur = c ? src : NULL;
		return word;
	}
}

/* GIT_CONFIG_PARAMETERS, which git sets for `git -c k=v`: 'k'='v' words
 * ('k=v' from older gits); git stops at a malformed one, as this does. */
static void parameters(struct safe *s, const char *env)
{
	char *buf = strdup(env), *cur = buf;

	while (cur && *cur) {
		char *key = sq_word(&cur), *v = NULL, *eq;

		if (!key)
			break;
		if (!cur || isspace((unsigned char)*cur)) {
			if ((eq = strchr(key, '='))) {
				*eq = '\0';
				v = eq + 1;
			}
		} else if (*cur == '=') {
			cur++;
			if (*cur == '\'') {
				if (!(v = sq_word(&cur)) ||
				    (cur && !isspace((unsigned char)*cur)))
					break;
			} else if (*cur && !isspace((unsigned char)*cur)) {
				break;
			}
		} else {
			break;
		}
		pair(s, key, v);
		while (cur && isspace((unsigned char)*cur))
			cur++;
	}
	free(buf);
}

/* GIT_CONFIG_COUNT, GIT_CONFIG_KEY_<n>, GIT_CONFIG_VALUE_<n>, then
 * GIT_CONFIG_PARAMETERS, as git reads its command line's settings. */
static void command_line(struct safe *s)
{
	const char *env = getenv("GIT_CONFIG_COUNT");
	char name[64], *end;
	unsigned long count, i;

	if (env && *env) {
		count = strtoul(env, &end, 10);
		if (*end || count > INT_MAX)
			return;
		for (i = 0; i < count; i++) {
			const char *k, *v;

			snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%lu", i);
			k = getenv(name);
			snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%lu", i);
			v = getenv(name);
			if (!k || !v)
				return;
			pair(s, k, v);
		}
	}
	if ((env = getenv("GIT_CONFIG_PARAMETERS")))
		parameters(s, env);
}

bool zh_safe_directory(const char *path)
{
	struct safe s = {path, false};
	const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	const char *global = getenv("GIT_CONFIG_GLOBAL");
	char *p = NULL;

	if (!env_bool("GIT_CONFIG_NOSYSTEM")) {
		const char *sys = getenv("GIT_CONFIG_SYSTEM");

		file(&s, sys ? sys : "/etc/gitconfig");
	}
	if (global) {
		file(&s, global);
	} else {
		if (xdg && *xdg)
			p = join(xdg, "/git/config");
		else if (home)
			p = join(home, "/.config/git/config");
		file(&s, p);
		free(p);
		p = home ? join(home, "/.gitconfig") : NULL;
		file(&s, p);
		free(p);
	}
	command_line(&s);
	return s.safe;
}
