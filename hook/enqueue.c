/* The async enqueue of `zadig-hook post-receive` (hook.mode: async with
 * hook.poll): the one case a push waits for that needs neither libgit2
 * nor SQLite nor libcurl. The ref updates go to the spool (hook/spool.h)
 * and the detached poller reads the commits, fires the rules, writes the
 * notes and delivers. Everything here reads the configuration and the
 * repository's git config without libgit2 (opening a repository and a
 * store cost more than the rest; bench/hook_push.sh). Every other case,
 * and every error worth a proper message, is left to the rest of
 * zadig-hook (hook/zadig-hook.c) with stdin unread. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "flow/update.h"
#include "hook/hook.h"
#include "hook/spawn.h"
#include "hook/spool.h"
#include "mapping/mapping.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/perm.h"

#include "util/banned.h"

extern char **environ;

#define MAX_STDIN (16u << 20)
#define MAX_OPTIONS 100

/* ---- the repository's git config zadig.config ---- */

enum found { FOUND, ABSENT, UNSURE };

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* section.key (zadig.config) from the repository's own config file, read
 * here: git would cost a process. Anything this simple reader is not sure
 * of (quotes, escapes, includes, continued lines, a key without a value)
 * is left to git. */
static enum found repo_config_file(char **out, const char *git_dir,
				   const char *section, const char *key)
{
	char path[PATH_MAX + 16], line[8192];
	enum found res = ABSENT;
	size_t sn = strlen(section), kn = strlen(key);
	bool in_section = false;
	FILE *f;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/config", git_dir);
	if (!(f = fopen(path, "re")))
		return UNSURE;
	while (res != UNSURE && fgets(line, sizeof(line), f)) {
		char *s = trim(line), *v;
		size_t n = strlen(line);

		if (n == sizeof(line) - 1 || (*s && s[strlen(s) - 1] == '\\')) {
			res = UNSURE;
		} else if (*s == '[') {
			size_t k = strcspn(s + 1, " \t\"].");

			in_section = k == sn &&
				     strncasecmp(s + 1, section, sn) == 0 &&
				     s[1 + sn] == ']';
			if (strncasecmp(s + 1, "include", 7) == 0 ||
			    *trim(s + 1 + strcspn(s + 1, "]") + 1) != '\0')
				res = UNSURE;
		} else if (in_section && strncasecmp(s, key, kn) == 0 &&
			   (s[kn] == '=' || s[kn] == ' ' || s[kn] == '\t' ||
			    s[kn] == '\0')) {
			v = trim(s + kn);
			if (*v != '=' || strpbrk(v + 1, "\"\\;#")) {
				res = UNSURE;
			} else {
				free(*out);
				*out = strdup(trim(v + 1));
				res = *out ? FOUND : UNSURE;
			}
		}
	}
	fclose(f);
	if (res == UNSURE) {
		free(*out);
		*out = NULL;
	}
	return res;
}

/* `git config --get key` (no shell); NULL when unset. */
static char *git_config_get(const char *key)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = {"git", "config", "--get", (char *)key, NULL};
	struct zh_buf b;
	char chunk[4096], *v = NULL;
	int fds[2], st = -1;
	ssize_t n;
	pid_t pid;

	if (pipe(fds) != 0)
		return NULL;
	zh_buf_init(&b, PATH_MAX * 4);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	if (posix_spawnp(&pid, "git", &fa, NULL, argv, environ) != 0) {
		close(fds[0]);
		close(fds[1]);
		goto out;
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || zh_buf_append(&b, chunk, (size_t)n) < 0)
			break;
	}
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && b.len)
		v = strdup(trim((char *)zh_buf_cstr(&b)));
out:
	posix_spawn_file_actions_destroy(&fa);
	zh_buf_dispose(&b);
	return v;
}

/* The config file, as zh_hook_load_config finds it (design.md §3). */
static char *config_path(const char *explicit_path, const char *git_dir)
{
	struct zh_error e = {0};
	char *gitval = NULL, *path = NULL, top[PATH_MAX];

	if (zh_config_wants_git_value(explicit_path)) {
		/* command-line config (-c) of the git that runs us wins
		 * over the file: let git answer then */
		if (getenv("GIT_CONFIG_PARAMETERS") ||
		    getenv("GIT_CONFIG_COUNT") ||
		    repo_config_file(&gitval, git_dir, "zadig", "config") !=
			FOUND)
			gitval = git_config_get("zadig.config");
	}
	/* a relative one starts at the top of the work tree, as
	 * zh_hook_load_config takes it (zh_repo_top): the directory holding
	 * the git dir ".git" of a work tree, else the (bare) git dir */
	if (gitval) {
		size_t n = strlen(git_dir);

		snprintf(top, sizeof(top), "%.*s", (int)n, git_dir);
		while (n > 1 && top[n - 1] == '/')
			top[--n] = '\0';
		if (n > 5 && strcmp(top + n - 5, "/.git") == 0)
			top[n - 5] = '\0';
		if (!(gitval = zh_config_git_path(gitval, top)))
			return NULL;
	}
	(void)zh_config_locate(&path, explicit_path, gitval, &e);
	free(gitval);
	return path;
}

/* The modes of what the hook creates in state directory state of the
 * repository at git_dir (zh_flow_state_shared): its core.sharedRepository
 * when state is its own (<git-dir>/zadig-hook), else 0. */
static int state_shared(const struct zh_config *cfg, const char *git_dir)
{
	char *v = NULL;
	int shared = 0;

	if (cfg->state_dir)
		return 0;
	switch (repo_config_file(&v, git_dir, "core", "sharedrepository")) {
	case ABSENT:
		return 0;
	case UNSURE:
		if (!(v = git_config_get("core.sharedRepository")))
			return 0;
		break;
	case FOUND:
		break;
	}
	if (zh_perm_parse(&shared, v, NULL) < 0)
		shared = 0;
	free(v);
	return shared;
}

/* ---- post-receive ---- */

/* The repository name of design.md §4.1 for the git directory (real
 * path) a hook runs in: git runs hooks of a bare repository in its git
 * directory, of others in the work tree. */
static char *repo_name(const char *git_dir, const char *repo_root)
{
	char cwd[PATH_MAX], *root = NULL, *name = NULL;
	const char *dir = git_dir;
	size_t n, b, e;

	if (getcwd(cwd, sizeof(cwd)) && strcmp(cwd, git_dir) != 0)
		dir = cwd;
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (repo_root && *repo_root && (root = realpath(repo_root, NULL))) {
		size_t rn = strlen(root);

		if (rn == 1)
			rn = 0;
		if (n > rn + 1 && memcmp(dir, root, rn) == 0 &&
		    dir[rn] == '/') {
			b = rn + 1;
			e = n;
			if (e - b > 4 && strncmp(dir + e - 4, ".git", 4) == 0)
				e -= 4;
			while (e > b && dir[e - 1] == '/')
				e--;
			if (e > b)
				name = strndup(dir + b, e - b);
		}
		free(root);
	}
	while (!name) {
		b = n;
		while (b > 0 && dir[b - 1] != '/')
			b--;
		e = n;
		if (e - b >= 4 && strncmp(dir + e - 4, ".git", 4) == 0)
			e -= 4;
		if (e > b || b <= 1) {
			name = strndup(dir + b, e - b);
			break;
		}
		/* ".git" alone: the directory above names it */
		n = b;
		while (n > 1 && dir[n - 1] == '/')
			n--;
	}
	return name;
}

/* git runs hooks with GIT_DIR set; by hand, the rest of zadig-hook finds
 * the repository (and says when there is none). */
static bool looks_like_git_dir(const char *dir)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/HEAD", dir);
	if (access(path, F_OK) != 0)
		return false;
	snprintf(path, sizeof(path), "%s/objects", dir);
	return access(path, F_OK) == 0;
}

char *zh_hook_update_line(const struct zh_ref_update *u)
{
	/* normalised: lower-case ids, no '\r' */
	size_t n = strlen(u->old_hex) + strlen(u->new_hex) + strlen(u->ref) + 3;
	char *line = malloc(n);

	if (line)
		snprintf(line, n, "%s %s %s", u->old_hex, u->new_hex, u->ref);
	return line;
}

int zh_hook_spool(const char *state_dir, int shared, const char *git_dir,
		  const char *config, char **updates, size_t n,
		  struct zh_error *err)
{
	char *options[MAX_OPTIONS];
	struct zh_spool_push p;

	memset(&p, 0, sizeof(p));
	p.git_dir = (char *)git_dir;
	p.config = (char *)config;
	p.noptions = zh_hook_push_options(options, MAX_OPTIONS);
	p.options = options;
	p.updates = updates;
	p.nupdates = n;
	return zh_spool_write(state_dir, shared, &p, err);
}

int zh_hook_enqueue(const char *config, const char *chain, const char *argv0,
		    struct zh_config **loaded)
{
	struct zh_config *cfg = NULL;
	struct zh_error e = {0};
	struct zh_buf in;
	char *options[MAX_OPTIONS], **lines = NULL, exe[PATH_MAX];
	char run_by[PATH_MAX];
	char *path = NULL, *git_dir = NULL, *name = NULL, *state = NULL;
	const char *gd = getenv("GIT_DIR"), *line;
	struct zh_ref_update u = {0};
	size_t i, nlines = 0, cap = 0;
	bool skip, started = false;
	int rc = 1, n, self_errno = 0, shared, use = -1;

	*loaded = NULL;
	zh_buf_init(&in, MAX_STDIN);
	if (!(git_dir = realpath(gd && *gd ? gd : ".", NULL)) ||
	    !looks_like_git_dir(git_dir) ||
	    !(path = config_path(config, git_dir)) ||
	    zh_config_load(&cfg, path, NULL, &e) < 0 ||
	    cfg->hook.mode != ZH_HOOK_ASYNC || !cfg->hook.poll ||
	    !(name = repo_name(git_dir, cfg->hook.repo_root)))
		goto out; /* the rest of zadig-hook says what is wrong */
	if (cfg->state_dir) {
		state = strdup(cfg->state_dir);
	} else if ((state = malloc(strlen(git_dir) + 16))) {
		snprintf(state, strlen(git_dir) + 16, "%s/zadig-hook", git_dir);
	}
	if (!state)
		goto out;
	shared = state_shared(cfg, git_dir);
	rc = 0;
	if (zh_hook_read_stdin(&in) < 0) {
		zh_hook_say("cannot read the ref updates; nothing triggered");
		goto out;
	}
	if (chain &&
	    zh_hook_run_chained(chain, zh_buf_cstr(&in), in.len, &e) < 0)
		zh_hook_say("%s", e.msg);
	skip = zh_hook_skip_option((const char *const *)options,
				   zh_hook_push_options(options, MAX_OPTIONS));
	line = zh_buf_cstr(&in);
	while ((n = zh_flow_next_update(&u, &line, &e)) != 0) {
		if (n < 0) {
			zh_hook_say("ignoring a malformed update line: %s",
				    e.msg);
			continue;
		}
		if (!zh_flow_update_may_fire(&u))
			continue;
		if (!zh_mapping_may_fire_ref(cfg, name, u.ref)) {
			zh_hook_say("no rule matches %s", u.ref);
			continue;
		}
		if (skip) {
			zh_hook_say(
			    "%s skipped (push option ci.skip or zadig.skip)",
			    u.ref);
			continue;
		}
		if (nlines == cap) {
			char **nl;

			cap = cap ? 2 * cap : 8;
			if (!(nl = realloc(lines, cap * sizeof(*lines)))) {
				zh_hook_say("out of memory; nothing triggered");
				goto out;
			}
			lines = nl;
		}
		if (!(lines[nlines] = zh_hook_update_line(&u))) {
			zh_hook_say("out of memory; nothing triggered");
			goto out;
		}
		nlines++;
	}
	/* held until we exit, so that uninstall --purge waits for this push
	 * (the store's use lock: store.h) */
	if (nlines && zh_store_lock_use(&use, state, shared, &e) < 0) {
		zh_hook_say("%s; nothing triggered", e.msg);
		goto out;
	}
	if (nlines && zh_hook_spool(state, shared, git_dir, path, lines, nlines,
				    &e) < 0) {
		zh_hook_say("%s; nothing triggered", e.msg);
		zh_hook_say_denied(state, !cfg->state_dir, shared, path);
		zh_hook_say_trigger_later(
		    zh_buf_cstr(&in), "the store can be written", cfg, name);
		goto out;
	}
	/* the poller, also for what earlier pushes left queued; before
	 * saying anything, which is all a pusher gone can cut short */
	if (zh_hook_self(exe, sizeof(exe)) == 0) {
		if (zh_hook_run_by(run_by, sizeof(run_by), argv0) < 0)
			snprintf(run_by, sizeof(run_by), "%s", exe);
		zh_hook_spawn_detached(exe, run_by, git_dir, config, state,
				       shared, getppid());
		started = true;
	} else {
		self_errno = errno;
	}
	for (i = 0; i < nlines; i++)
		zh_hook_say("%s queued (async); status: git fetch, then git "
			    "zadig status",
			    strrchr(lines[i], ' ') + 1);
	if (!started && nlines)
		zh_hook_say(
		    "cannot start the poller (%s); the push waits for the "
		    "next one",
		    strerror(self_errno));
out:
	zh_store_unlock_use(use);
	zh_ref_update_dispose(&u);
	for (i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	free(state);
	free(name);
	free(path);
	free(git_dir);
	if (rc == 1 && cfg &&
	    (cfg->hook.mode != ZH_HOOK_ASYNC || !cfg->hook.poll))
		*loaded = cfg; /* found as the rest of zadig-hook finds it */
	else
		zh_config_free(cfg);
	zh_buf_dispose(&in);
	return rc;
}
