/* zadig-hook install: put the hook into a repository. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hook/hook.h"
#include "hook/spawn.h"
#include "util/banned.h"
#include "util/buf.h"

#define MARKER "# zadig-hook: managed by `zadig-hook install`"
#define CHAINED "post-receive.zadig-chained"
#define BACKUP "post-receive.zadig-backup"

static int read_file(struct zh_buf *out, const char *path)
{
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? ZH_ENOTFOUND : ZH_EIO;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (zh_buf_append(out, chunk, (size_t)n) < 0)
			break;
	close(fd);
	return 0;
}

/* The directory path is in, into dir. */
static void dir_of(char *dir, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, size, ".");
	else
		snprintf(dir, size, "%.*s",
			 (int)(slash == path ? 1 : slash - path), path);
}

/* Run as root (an admin installing into a repository of the git service
 * user), give path the owner and group of the directory it is in: git
 * runs the hook as the pushing user, and what install writes must stay
 * the repository owner's to replace (hooks/, the hook, the config). */
static int give_away(const char *path, struct zh_error *err)
{
	char dir[PATH_MAX];
	struct stat d, st;

	if (geteuid() != 0)
		return 0;
	dir_of(dir, sizeof(dir), path);
	if (stat(dir, &d) != 0 || lstat(path, &st) != 0 ||
	    ((st.st_uid != d.st_uid || st.st_gid != d.st_gid) &&
	     lchown(path, d.st_uid, d.st_gid) != 0))
		return zh_error_set(err, ZH_EIO,
				    "cannot give '%s' to the owner of '%s': %s",
				    path, dir, strerror(errno));
	return 0;
}

/* give_away for the file install created and holds open as fd, named
 * path: by the descriptor, as whatever the directory's owner puts at the
 * name meanwhile is not ours to change. */
static int give_away_fd(int fd, const char *path, struct zh_error *err)
{
	char dir[PATH_MAX];
	struct stat d, st;

	if (geteuid() != 0)
		return 0;
	dir_of(dir, sizeof(dir), path);
	if (stat(dir, &d) != 0 || fstat(fd, &st) != 0 ||
	    ((st.st_uid != d.st_uid || st.st_gid != d.st_gid) &&
	     fchown(fd, d.st_uid, d.st_gid) != 0))
		return zh_error_set(err, ZH_EIO,
				    "cannot give '%s' to the owner of '%s': %s",
				    path, dir, strerror(errno));
	return 0;
}

/* 'x' -> 'x' with every ' as '\'' so sh reads it back verbatim. */
static int sh_quote(struct zh_buf *b, const char *s)
{
	int rc = zh_buf_puts(b, "'");

	for (; rc == 0 && *s; s++)
		rc = *s == '\'' ? zh_buf_puts(b, "'\\''")
				: zh_buf_append(b, s, 1);
	return rc ? rc : zh_buf_puts(b, "'");
}

/* The hook names the chained hook by its place beside the script ($0,
 * which git sets to the hook's path), so that it still runs, and is the
 * right one, when the repository is moved or copied. When zadig-hook is
 * no longer at self (a new PREFIX, uninstalled), the script says so and
 * still runs the chained hook, which reads the push from the script's
 * stdin, and exits 0 as zadig-hook would. */
static int write_hook(const char *path, const char *self, bool chain,
		      struct zh_error *err)
{
	struct zh_buf b, tmp;
	int fd = -1, rc;

	zh_buf_init(&b, 64 * 1024);
	zh_buf_init(&tmp, PATH_MAX + 16);
	rc = zh_buf_printf(&b,
			   "#!/bin/sh\n%s\n# Reinstall with it; do not "
			   "edit. Push data reaches zadig-hook on stdin "
			   "only.\n",
			   MARKER);
	if (rc == 0 && chain)
		rc = zh_buf_puts(&b, "# " CHAINED " beside this script runs "
				     "first.\ncase $0 in */*) d=${0%/*} ;; "
				     "*) d=. ;; esac\n");
	if (rc == 0)
		rc = zh_buf_puts(&b, "z=");
	if (rc == 0)
		rc = sh_quote(&b, self);
	if (rc == 0)
		rc = zh_buf_puts(
		    &b, "\nif ! [ -x \"$z\" ]; then\n"
			"\tprintf \"zadig: '%s' is missing or not "
			"executable: nothing triggered; run 'zadig-hook "
			"install' on this repository again\\n\" "
			"\"$z\" >&2\n");
	if (rc == 0 && chain)
		rc = zh_buf_puts(&b, "\t\"$d/" CHAINED "\"\n");
	if (rc == 0)
		rc = zh_buf_puts(&b, "\texit 0\nfi\nexec \"$z\" post-receive");
	if (rc == 0 && chain)
		rc = zh_buf_puts(&b, " --chain \"$d/" CHAINED "\"");
	if (rc == 0)
		rc = zh_buf_puts(&b, "\n");
	if (rc == 0)
		rc = zh_buf_printf(&tmp, "%s.tmp", path);
	if (rc < 0) {
		rc = zh_error_set(err, rc, "hook path too long");
		goto out;
	}
	/* hooks/ is the repository owner's: whatever is at the temporary
	 * name (a symlink to a file of root's, planted for a root install
	 * to write through and make 0755) goes, and only a file of our own
	 * making, opened without following links, is written */
	if (unlink(zh_buf_cstr(&tmp)) != 0 && errno != ENOENT) {
		rc = zh_error_set(err, ZH_EIO, "cannot remove '%s': %s",
				  zh_buf_cstr(&tmp), strerror(errno));
		goto out;
	}
	fd = open(zh_buf_cstr(&tmp),
		  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
	if (fd < 0 || write(fd, b.ptr, b.len) != (ssize_t)b.len) {
		rc = zh_error_set(err, ZH_EIO, "cannot write '%s': %s", path,
				  strerror(errno));
	} else if ((rc = give_away_fd(fd, zh_buf_cstr(&tmp), err)) == 0 &&
		   fchmod(fd, 0755) != 0) {
		rc = zh_error_set(err, ZH_EIO, "cannot write '%s': %s", path,
				  strerror(errno));
	}
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = zh_error_set(err, ZH_EIO, "cannot write '%s': %s", path,
				  strerror(errno));
	if (rc == 0 && rename(zh_buf_cstr(&tmp), path) != 0)
		rc = zh_error_set(err, ZH_EIO, "cannot write '%s': %s", path,
				  strerror(errno));
	/* only what we created: a name taken meanwhile (EEXIST) is not */
	if (rc < 0 && fd >= 0)
		unlink(zh_buf_cstr(&tmp));
out:
	zh_buf_dispose(&b);
	zh_buf_dispose(&tmp);
	return rc;
}

/* rename(2) src to dst unless dst exists, where rename would replace it:
 * link(2) refuses a name that is taken. 0, or -1 with errno (EEXIST when
 * dst is taken). */
static int move_noreplace(const char *src, const char *dst)
{
	struct stat st;

	if (link(src, dst) == 0)
		return unlink(src);
	if (errno == EEXIST)
		return -1;
	/* a file system without hard links: look, then rename */
	if (lstat(dst, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(src, dst);
}

/* Move the foreign hook to BACKUP, or BACKUP.<n> for the first free n:
 * what an earlier --force kept is someone's hook too. name gets the name
 * it took. */
static int back_up(char *name, size_t size, const char *hooks, const char *hook,
		   struct zh_error *err)
{
	char dst[PATH_MAX + 64];
	int n;

	for (n = 0; n < 1000; n++) {
		if (n == 0)
			snprintf(name, size, BACKUP);
		else
			snprintf(name, size, BACKUP ".%d", n);
		snprintf(dst, sizeof(dst), "%s/%s", hooks, name);
		if (move_noreplace(hook, dst) == 0)
			return 0;
		if (errno != EEXIST)
			return zh_error_set(err, ZH_EIO, "cannot move '%s': %s",
					    hook, strerror(errno));
	}
	return zh_error_set(err, ZH_EIO,
			    "cannot move '%s': '%s/" BACKUP "' up to .%d are "
			    "all taken",
			    hook, hooks, n - 1);
}

/* Move the foreign hook to CHAINED, refusing when an earlier install
 * chained another one there: one of the two would stop running. */
static int chain(const char *hook, const char *chained, struct zh_error *err)
{
	if (move_noreplace(hook, chained) == 0)
		return 0;
	if (errno != EEXIST)
		return zh_error_set(err, ZH_EIO, "cannot move '%s': %s", hook,
				    strerror(errno));
	return zh_error_set(err, ZH_EUSAGE,
			    "'%s' is not zadig-hook's and '%s' already holds "
			    "the hook an earlier install chained: merge the "
			    "two into the latter (or remove one) and install "
			    "again, or use --force to set the first aside",
			    hook, chained);
}

/* Whether path names the file this program runs from (/proc/self/exe:
 * the same inode). */
static bool is_self(const char *path)
{
	struct stat a, b;

	return stat(path, &a) == 0 && stat("/proc/self/exe", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The path the hook script runs zadig-hook by, into buf: the one install
 * was run by (argv0 when absolute, else its first executable match on an
 * absolute PATH entry, as the shell found it) when that is this very
 * program, else the file it runs from. The path run by is often a stable
 * link (/usr/local/bin/zadig-hook -> /opt/zadig-hook/1.2/bin/zadig-hook)
 * that an upgrade points at the next release before the old one is
 * removed; the file it resolves to goes with that release. Returns 0 or
 * -1. */
static int hook_exe(char *buf, size_t size, const char *argv0)
{
	const char *path = getenv("PATH"), *end;

	if (argv0 && argv0[0] == '/') {
		if (strlen(argv0) < size && is_self(argv0)) {
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
			if (is_self(buf))
				return 0;
			break; /* the shell ran that one: not us */
		}
	}
	return zh_hook_self(buf, size);
}

/* Someone else's hook is in the way: keep it working (chained) or, with
 * force, set it aside; note says which, naming files as base/<name>. */
static int set_aside(char *note, size_t size, const char *hooks,
		     const char *base, bool force, struct zh_error *err)
{
	char hook[PATH_MAX + 32], chained[PATH_MAX + 32], name[64];
	int rc;

	snprintf(hook, sizeof(hook), "%s/post-receive", hooks);
	snprintf(chained, sizeof(chained), "%s/" CHAINED, hooks);
	if (force) {
		if ((rc = back_up(name, sizeof(name), hooks, hook, err)) < 0)
			return rc;
		snprintf(note, size,
			 " (the existing hook was replaced; kept as %s/%s)",
			 base, name);
		return 0;
	}
	if ((rc = chain(hook, chained, err)) < 0)
		return rc;
	snprintf(note, size,
		 " (the existing hook still runs first: chained as %s/" CHAINED
		 ")",
		 base);
	return 0;
}

/* The directory git runs r's hooks from (core.hooksPath or hooks/),
 * created when missing; *shared when it is outside the repository, where
 * other repositories may run the hook too. The caller frees *out, also
 * after a failure. */
static int hooks_dir(char **out, bool *shared, struct zh_repo *r,
		     struct zh_error *err)
{
	int rc = zh_repo_hooks_dir(out, r, err);

	if (rc < 0)
		return rc;
	if (strlen(*out) >= PATH_MAX)
		return zh_error_set(err, ZH_EINVALID, "'%s' is too long", *out);
	if (mkdir(*out, 0755) == 0)
		rc = give_away(*out, err);
	else if (errno != EEXIST)
		return zh_error_set(err, ZH_EIO, "cannot create '%s': %s", *out,
				    strerror(errno));
	*shared = !zh_repo_contains(r, *out);
	return rc;
}

int zh_hook_install(const char *repo_path, const char *config,
		    const char *argv0, bool force, struct zh_error *err)
{
	char self[PATH_MAX], cfg_abs[PATH_MAX], note[256] = "";
	char hook[PATH_MAX + 32], chained[PATH_MAX + 32],
	    cfg_file[PATH_MAX + 8];
	struct zh_buf old;
	struct zh_repo *r = NULL;
	char *hooks = NULL;
	const char *base;
	bool ours = false, have_old = false, shared = false;
	int rc;

	zh_buf_init(&old, 1 << 20);
	if ((rc = zh_repo_open(&r, repo_path, false, err)) == ZH_ENOTFOUND) {
		rc = zh_error_set(err, ZH_EUSAGE,
				  "'%s' is not a git repository", repo_path);
		goto out;
	}
	if (rc < 0) {
		/* a repository libgit2 cannot open: say why, not "no repo" */
		if (strstr(err->msg, "objectformat"))
			rc = zh_error_set(err, rc,
					  "'%s' uses SHA-256 object ids, which "
					  "zadig-hook cannot read (libgit2 "
					  "1.5 supports SHA-1 only)",
					  repo_path);
		goto out;
	}
	if (config) {
		struct zh_config *cfg = NULL;

		if (!realpath(config, cfg_abs)) {
			rc = zh_error_set(err, ZH_ECONFIG,
					  "cannot read '%s': %s", config,
					  strerror(errno));
			goto out;
		}
		if ((rc = zh_hook_load_config(&cfg, NULL, cfg_abs, err)) < 0)
			goto out;
		/* not fatal: the pushing users may read what we cannot */
		if (cfg->zadig.token_error)
			fprintf(stderr,
				PROG ": warning: %s; until the pushing user "
				     "can read it, pushes are recorded and "
				     "kept queued\n",
				cfg->zadig.token_error);
		zh_config_free(cfg);
	}
	if (hook_exe(self, sizeof(self), argv0) < 0) {
		rc = zh_error_set(err, ZH_EIO, "cannot find my own path");
		goto out;
	}
	if ((rc = hooks_dir(&hooks, &shared, r, err)) < 0)
		goto out;
	/* the messages name files as "<dir>/<name>", as in "hooks/..." */
	base = strrchr(hooks, '/') ? strrchr(hooks, '/') + 1 : hooks;
	snprintf(hook, sizeof(hook), "%s/post-receive", hooks);
	snprintf(chained, sizeof(chained), "%s/" CHAINED, hooks);
	if (read_file(&old, hook) == 0) {
		have_old = true;
		ours = strstr(zh_buf_cstr(&old), MARKER) != NULL;
	}
	if (have_old && !ours) {
		if ((rc = set_aside(note, sizeof(note), hooks, base, force,
				    err)) < 0)
			goto out;
	} else if (ours && access(chained, F_OK) == 0) {
		snprintf(note, sizeof(note),
			 " (updated; the chained %s/" CHAINED " still runs)",
			 base);
	} else if (ours) {
		snprintf(note, sizeof(note), " (updated)");
	}
	if ((rc = write_hook(hook, self, access(chained, F_OK) == 0, err)) < 0)
		goto out;
	if (config &&
	    (rc = zh_repo_config_set(r, "zadig.config", cfg_abs, err)) < 0)
		goto out;
	/* so that `git push -o ci.skip` reaches the hook */
	if ((rc = zh_repo_config_set(r, "receive.advertisePushOptions", "true",
				     err)) < 0)
		goto out;
	/* libgit2 wrote a new file, the writer's */
	snprintf(cfg_file, sizeof(cfg_file), "%sconfig", zh_repo_common_dir(r));
	if ((rc = give_away(cfg_file, err)) < 0)
		goto out;
	printf("installed the post-receive hook in '%s'%s\n", hooks, note);
	if (shared)
		printf("note: '%s' is outside the repository: every repository "
		       "using that core.hooksPath runs this hook\n",
		       hooks);
	if (config)
		printf("recorded zadig.config = %s\n", cfg_abs);
out:
	free(hooks);
	zh_buf_dispose(&old);
	zh_repo_free(r);
	return rc;
}
