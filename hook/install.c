/* zadig-hook install and uninstall: put the hook into a repository, and
 * take it out again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "flow/flow.h"
#include "hook/hook.h"
#include "hook/spawn.h"
#include "util/banned.h"
#include "util/buf.h"

#define MARKER "# zadig-hook: managed by `zadig-hook install`"
#define CHAINED "post-receive.zadig-chained"
#define BACKUP "post-receive.zadig-backup"
/* set by install when it was the one to set receive.advertisePushOptions,
 * which uninstall then unsets */
#define PUSH_OPTIONS_SET "zadig.setAdvertisePushOptions"

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

/* The script's lines after "z=<path>": run zadig-hook, not exec'd, so
 * that the script can tell when it never started: the shell says 126 or
 * 127 when it cannot run the file (not executable, a bad interpreter),
 * and so does the loader (a library gone in an upgrade), before anything
 * read the push; zadig-hook itself exits 0 to 2. Then, as when it is not
 * there at all, the script says so and runs the chained hook with the
 * push still on its stdin (CHAIN_LINES), and exits 0 as zadig-hook
 * would. Killed by a signal, it may have read the push: nothing more
 * runs, and the script ends by that signal too, so that git says so as
 * of a hook killed (no core of the shell). */
static const char run_lines[] =
    "if [ -x \"$z\" ]; then\n"
    "\t\"$z\" post-receive%s\n"
    "\ts=$?\n"
    "\tcase $s in\n"
    "\t126 | 127)\n"
    "\t\tprintf \"zadig: '%%s' could not start (exit %%s, see above): "
    "nothing triggered; reinstall zadig-hook, or run 'zadig-hook install' "
    "on this repository again\\n\" \"$z\" \"$s\" >&2\n"
    "\t\t;;\n"
    "\t*)\n"
    "\t\t[ \"$s\" -le 128 ] || { ulimit -c 0 2>/dev/null; kill -\"$((s - "
    "128))\" $$; }\n"
    "\t\texit \"$s\"\n"
    "\t\t;;\n"
    "\tesac\n"
    "else\n"
    "\tprintf \"zadig: '%%s' is missing or not executable: nothing "
    "triggered; run 'zadig-hook install' on this repository again\\n\" "
    "\"$z\" >&2\n"
    "fi\n";

/* The chained hook, when zadig-hook did not run it: said as zadig-hook
 * says it when it is not there (zh_hook_run_chained). */
static const char chain_lines[] =
    "if ! [ -e \"$c\" ]; then\n"
    "\tprintf \"zadig: the chained hook '%s' is missing: it did not "
    "run\\n\" \"$c\" >&2\n"
    "elif ! [ -x \"$c\" ]; then\n"
    "\tprintf \"zadig: the chained hook '%s' is not executable: it did "
    "not run\\n\" \"$c\" >&2\n"
    "else\n"
    "\t\"$c\"\n"
    "fi\n";

/* The hook names the chained hook by its place beside the script ($0,
 * which git sets to the hook's path), so that it still runs, and is the
 * right one, when the repository is moved or copied. When zadig-hook
 * cannot run (run_lines), the script says why and still runs the chained
 * hook itself. */
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
				     "*) d=. ;; esac\nc=$d/" CHAINED "\n");
	if (rc == 0)
		rc = zh_buf_puts(&b, "z=");
	if (rc == 0)
		rc = zh_buf_sh_quote(&b, self);
	if (rc == 0)
		rc = zh_buf_puts(&b, "\n");
	if (rc == 0)
		rc = zh_buf_printf(&b, run_lines,
				   chain ? " --chain \"$c\"" : "");
	if (rc == 0 && chain)
		rc = zh_buf_puts(&b, chain_lines);
	if (rc == 0)
		rc = zh_buf_puts(&b, "exit 0\n");
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

/* Open the repository at path for install or uninstall. ZH_EUSAGE when
 * it is none; else what zh_repo_open returns, a SHA-256 one named. */
static int open_repo(struct zh_repo **r, const char *path, struct zh_error *err)
{
	int rc = zh_repo_open(r, path, false, err);

	if (rc == ZH_ENOTFOUND)
		return zh_error_set(err, ZH_EUSAGE,
				    "'%s' is not a git repository", path);
	/* a repository libgit2 cannot open: say why, not "no repo" */
	if (rc < 0 && strstr(err->msg, "objectformat"))
		return zh_error_set(err, rc,
				    "'%s' uses SHA-256 object ids, which "
				    "zadig-hook cannot read (libgit2 1.5 "
				    "supports SHA-1 only)",
				    path);
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
	char *hooks = NULL, *was = NULL;
	const char *base;
	bool ours = false, have_old = false, shared = false;
	int rc;

	zh_buf_init(&old, 1 << 20);
	if ((rc = open_repo(&r, repo_path, err)) < 0)
		goto out;
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
	if (zh_hook_run_by(self, sizeof(self), argv0) < 0) {
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
	/* so that `git push -o ci.skip` reaches the hook; uninstall unsets
	 * it again only when install was the one to set it */
	if ((rc = zh_repo_config_get_local(
		 &was, r, "receive.advertisePushOptions", err)) < 0 ||
	    (!was &&
	     (rc = zh_repo_config_set(r, PUSH_OPTIONS_SET, "true", err)) < 0) ||
	    (rc = zh_repo_config_set(r, "receive.advertisePushOptions", "true",
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
	free(was);
	zh_buf_dispose(&old);
	zh_repo_free(r);
	return rc;
}

/* ---- uninstall ---- */

/* Remove entry name of directory at and, for a directory, all it holds,
 * never following a symlink: the repository's owner may change the tree
 * while root removes it. 0, or -1 with errno. */
static int rm_at(int at, const char *name, int depth)
{
	struct dirent *e;
	DIR *d;
	int fd, keep;

	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -1;
	if (depth > 64) {
		errno = ELOOP;
		return -1;
	}
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (rm_at(dirfd(d), e->d_name, depth + 1) < 0) {
			keep = errno;
			closedir(d);
			errno = keep;
			return -1;
		}
	}
	closedir(d);
	return unlinkat(at, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0
									: -1;
}

/* Whether process pid holds a descriptor of the file st describes. */
static bool holds_open(long pid, const struct stat *st)
{
	char dir[64], fdpath[128];
	struct dirent *e;
	struct stat o;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
	if (!(d = opendir(dir)))
		return false;
	while (!found && (e = readdir(d))) {
		snprintf(fdpath, sizeof(fdpath), "%s/%.32s", dir, e->d_name);
		found = e->d_name[0] != '.' && stat(fdpath, &o) == 0 &&
			o.st_dev == st->st_dev && o.st_ino == st->st_ino;
	}
	closedir(d);
	return found;
}

/* The process that holds the flock on path (/proc/locks names it by
 * inode; the device it prints is not always stat's, so a candidate must
 * also hold the file open), or 0. */
static pid_t lock_holder(const char *path)
{
	char line[256], kind[16];
	unsigned long long ino;
	struct stat st;
	pid_t pid = 0;
	long p;
	FILE *f;

	if (stat(path, &st) != 0 || !(f = fopen("/proc/locks", "re")))
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		/* "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"; a
		 * waiter's line has "->" after the number */
		if (sscanf(line, "%*d: %15s %*s %*s %ld %*x:%*x:%llu", kind, &p,
			   &ino) == 3 &&
		    strcmp(kind, "FLOCK") == 0 && ino == st.st_ino && p > 1 &&
		    holds_open(p, &st))
			pid = (pid_t)p;
	}
	fclose(f);
	return pid;
}

/* Take the poller lock of the store in state, so that no poller works on
 * it (nor starts) while it is removed: one holding it is sent SIGTERM
 * (its work goes with the store; a poller killed at any moment leaves
 * nothing behind) and waited for, 5 s at most. *lock: the descriptor,
 * for zh_store_unlock_poller. */
static int stop_poller(int *lock, const char *state, struct zh_error *err)
{
	struct timespec tick = {0, 50000000};
	char path[PATH_MAX + 16];
	pid_t pid = 0, holder;
	int i, rc;

	snprintf(path, sizeof(path), "%s/poller.lock", state);
	for (i = 0; i < 100; i++) {
		if ((rc = zh_store_lock_poller(lock, state, 0, err)) !=
		    ZH_STORE_LOCK_HELD)
			return rc;
		/* each holder once: another poller (a push's, just
		 * started) may take the lock the first let go of */
		if ((holder = lock_holder(path)) > 0 && holder != pid) {
			pid = holder;
			if (kill(pid, SIGTERM) != 0)
				break;
		}
		nanosleep(&tick, NULL);
	}
	if (pid > 0)
		return zh_error_set(err, ZH_EIO,
				    "the poller (pid %ld) still holds '%s': "
				    "nothing was changed; stop it and run "
				    "uninstall --purge again",
				    (long)pid, path);
	return zh_error_set(err, ZH_EIO,
			    "a poller still holds '%s' and it cannot be told "
			    "which process it is: nothing was changed; stop "
			    "it ('zadig-hook poll --git-dir ...') and run "
			    "uninstall --purge again",
			    path);
}

/* Take the use lock of the store in state for its removal (store.h), so
 * that no process uses it (a push that has it open, git zadig) while it
 * is removed, nor opens it meanwhile: waited for wait_ms at most, said
 * once. *lock: the descriptor, for zh_store_unlock_removal. */
static int wait_unused(int *lock, const char *state, int64_t wait_ms,
		       struct zh_error *err)
{
	struct timespec tick = {0, 50000000};
	char path[PATH_MAX + 16];
	pid_t holder = 0;
	int64_t waited;
	int rc;

	snprintf(path, sizeof(path), "%s/store.lock", state);
	for (waited = 0;; waited += 50) {
		if ((rc = zh_store_lock_removal(lock, state, err)) !=
		    ZH_STORE_LOCK_HELD)
			return rc;
		if (waited >= wait_ms)
			break;
		if (!holder && (holder = lock_holder(path)) > 0) {
			printf("waiting for the process using '%s' (pid %ld: "
			       "a push, or git zadig) to finish, %" PRId64
			       " s at most\n",
			       state, (long)holder, (wait_ms + 999) / 1000);
			fflush(stdout);
		}
		nanosleep(&tick, NULL);
	}
	holder = lock_holder(path);
	if (holder > 0)
		return zh_error_set(err, ZH_EIO,
				    "'%s' is still in use by pid %ld (a push, "
				    "or git zadig): nothing was changed; run "
				    "uninstall --purge again once it is done",
				    state, (long)holder);
	return zh_error_set(err, ZH_EIO,
			    "'%s' is still in use (a push, or git zadig): "
			    "nothing was changed; run uninstall --purge again "
			    "once it is done",
			    state);
}

/* What uninstall finds in a repository and does there. */
struct found {
	char hook[PATH_MAX + 32], chained[PATH_MAX + 32];
	char *hooks;
	const char *base; /* "hooks", as messages name files */
	bool have_hook, ours, have_chained, shared;
	char *state;	   /* <git-dir>/zadig-hook */
	char *other_state; /* a state_dir the configuration names */
	char *notes_ref;
	int64_t deadline_ms; /* hook.deadline */
};

static void found_dispose(struct found *f)
{
	free(f->hooks);
	free(f->state);
	free(f->other_state);
	free(f->notes_ref);
}

/* Fill f for r: its hooks, and where the configuration keeps its state
 * and notes (read before zadig.config goes; the defaults when it does not
 * load). */
static int look(struct found *f, struct zh_repo *r, struct zh_error *err)
{
	struct zh_config *cfg = NULL;
	struct zh_error e = {0};
	struct zh_buf cur;
	struct stat st;
	const char *gd = zh_repo_common_dir(r);
	size_t n;
	int rc;

	if ((rc = zh_repo_hooks_dir(&f->hooks, r, err)) < 0)
		return rc;
	if (strlen(f->hooks) >= PATH_MAX)
		return zh_error_set(err, ZH_EINVALID, "'%s' is too long",
				    f->hooks);
	f->base =
	    strrchr(f->hooks, '/') ? strrchr(f->hooks, '/') + 1 : f->hooks;
	f->shared = !zh_repo_contains(r, f->hooks);
	snprintf(f->hook, sizeof(f->hook), "%s/post-receive", f->hooks);
	snprintf(f->chained, sizeof(f->chained), "%s/" CHAINED, f->hooks);
	zh_buf_init(&cur, 1 << 20);
	rc = read_file(&cur, f->hook);
	f->have_hook = rc == 0;
	f->ours = rc == 0 && strstr(zh_buf_cstr(&cur), MARKER);
	zh_buf_dispose(&cur);
	if (rc == ZH_EIO)
		return zh_error_set(err, rc, "cannot read '%s': %s", f->hook,
				    strerror(errno));
	f->have_chained = lstat(f->chained, &st) == 0;

	n = strlen(gd) + sizeof("/zadig-hook");
	if (!(f->state = malloc(n)))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	snprintf(f->state, n, "%s%szadig-hook", gd,
		 gd[0] && gd[strlen(gd) - 1] == '/' ? "" : "/");
	if (zh_hook_load_config(&cfg, r, NULL, &e) == 0) {
		if (cfg->state_dir && strcmp(cfg->state_dir, f->state) != 0)
			f->other_state = strdup(cfg->state_dir);
		f->notes_ref = strdup(cfg->notes.ref);
		f->deadline_ms = cfg->hook.deadline_ms;
		zh_config_free(cfg);
	}
	if (!f->notes_ref && !(f->notes_ref = strdup("refs/notes/zadig")))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	return 0;
}

/* Take the hook out (uninstall's first step): put the chained hook back
 * as post-receive, or remove ours. Says what it did. */
static int remove_hook(const struct found *f, struct zh_error *err)
{
	if (f->have_chained) {
		/* over ours at once (rename), else only into a free name */
		if ((f->have_hook ? rename(f->chained, f->hook)
				  : move_noreplace(f->chained, f->hook)) != 0)
			return zh_error_set(
			    err, ZH_EIO, "cannot move '%s' to '%s': %s",
			    f->chained, f->hook, strerror(errno));
		printf("restored %s/" CHAINED " as %s/post-receive in '%s'\n",
		       f->base, f->base, f->hooks);
		return 0;
	}
	if (unlink(f->hook) != 0 && errno != ENOENT)
		return zh_error_set(err, ZH_EIO, "cannot remove '%s': %s",
				    f->hook, strerror(errno));
	printf("removed the post-receive hook from '%s'\n", f->hooks);
	return 0;
}

/* Unset the git config install set: zadig.config, and
 * receive.advertisePushOptions when install was the one to set it. Sets
 * *did when something was unset. */
static int unset_config(bool *did, struct zh_repo *r, struct zh_error *err)
{
	char cfg_file[PATH_MAX + 8], *v = NULL;
	bool set;
	int rc;

	if ((rc = zh_repo_config_get_local(&v, r, PUSH_OPTIONS_SET, err)) < 0)
		return rc;
	set = v != NULL;
	free(v);
	if ((rc = zh_repo_config_unset(r, "zadig.config", err)) < 0)
		return rc;
	if (rc == 1) {
		printf("unset zadig.config\n");
		*did = true;
	}
	if (set) {
		if ((rc = zh_repo_config_unset(
			 r, "receive.advertisePushOptions", err)) < 0 ||
		    (rc = zh_repo_config_unset(r, PUSH_OPTIONS_SET, err)) < 0)
			return rc;
		printf("unset receive.advertisePushOptions (install had set "
		       "it)\n");
		*did = true;
	}
	if (!*did)
		return 0;
	/* libgit2 wrote a new file, the writer's */
	snprintf(cfg_file, sizeof(cfg_file), "%sconfig", zh_repo_common_dir(r));
	return give_away(cfg_file, err);
}

/* Whether r's local config holds key. */
static bool has_local(struct zh_repo *r, const char *key)
{
	struct zh_error e = {0};
	char *v = NULL;
	bool has = zh_repo_config_get_local(&v, r, key, &e) == 0 && v;

	free(v);
	return has;
}

/* Whether rev names a commit of r. */
static bool has_ref(struct zh_repo *r, const char *ref)
{
	struct zh_error e = {0};
	char hex[72];

	return zh_repo_resolve(hex, sizeof(hex), r, ref, &e) == 0;
}

int zh_hook_uninstall(const char *repo_path, bool purge, bool force,
		      struct zh_error *err)
{
	struct found f = {0};
	struct zh_repo *r = NULL;
	struct stat st;
	bool touch, installed, did = false, have_state;
	int lock = -1, use = -1, rc;

	if ((rc = open_repo(&r, repo_path, err)) < 0 ||
	    (rc = look(&f, r, err)) < 0)
		goto out;
	/* ours, or nothing there: the chained hook goes back */
	touch = (!f.have_hook || f.ours) && (f.have_hook || f.have_chained);
	if (f.have_hook && !f.ours && f.have_chained && !force) {
		rc = zh_error_set(err, ZH_EUSAGE,
				  "'%s' is not zadig-hook's and '%s' holds the "
				  "hook install chained: put the one that "
				  "should run (or the two merged) at "
				  "post-receive and remove the other, or use "
				  "--force to leave both as they are; nothing "
				  "was changed",
				  f.hook, f.chained);
		goto out;
	}
	if (touch && f.shared && !force) {
		rc = zh_error_set(err, ZH_EUSAGE,
				  "'%s' is outside the repository: every "
				  "repository using that core.hooksPath runs "
				  "its hook; use --force to uninstall it for "
				  "all of them; nothing was changed",
				  f.hooks);
		goto out;
	}
	have_state = lstat(f.state, &st) == 0;
	installed = touch || f.have_chained || has_local(r, "zadig.config") ||
		    has_local(r, PUSH_OPTIONS_SET);
	/* a push that has the store open ends before it goes: the hook's
	 * own work is bounded by hook.deadline (the default's when the
	 * configuration does not load) */
	if (purge && have_state && S_ISDIR(st.st_mode) &&
	    ((rc = stop_poller(&lock, f.state, err)) < 0 ||
	     (rc = wait_unused(
		  &use, f.state,
		  (f.deadline_ms > 0 ? f.deadline_ms : 10000) + 5000, err)) <
		 0))
		goto out;
	if (!installed)
		printf("zadig-hook is not installed in '%s'\n", repo_path);
	if (touch && (rc = remove_hook(&f, err)) < 0)
		goto out;
	if (!touch && f.have_hook && !f.ours)
		printf("%s/post-receive is not zadig-hook's: left as it is\n",
		       f.base);
	if (!touch && f.have_chained)
		printf("%s/" CHAINED " is left as it is (the hook install "
		       "chained)\n",
		       f.base);
	if ((rc = unset_config(&did, r, err)) < 0)
		goto out;
	if (!did && has_local(r, "receive.advertisePushOptions") && installed)
		printf("kept receive.advertisePushOptions (set before install, "
		       "or by an older install)\n");
	if (purge && have_state) {
		char target[PATH_MAX];
		ssize_t n = S_ISLNK(st.st_mode)
				? readlink(f.state, target, sizeof(target) - 1)
				: -1;

		if (rm_at(AT_FDCWD, f.state, 0) != 0) {
			rc = zh_error_set(err, ZH_EIO, "cannot remove '%s': %s",
					  f.state, strerror(errno));
			goto out;
		}
		/* rm_at never follows a link: what it points at stays */
		if (S_ISLNK(st.st_mode))
			printf("removed the link '%s'; its target '%.*s' is "
			       "kept\n",
			       f.state, n > 0 ? (int)n : 3,
			       n > 0 ? target : "...");
		else if (S_ISDIR(st.st_mode))
			printf("removed '%s' (the state store, spool and "
			       "poller.log)\n",
			       f.state);
		else
			printf("removed '%s' (a file, not a state store)\n",
			       f.state);
	} else if (have_state && S_ISLNK(st.st_mode)) {
		printf("kept '%s' (a link: --purge removes the link, not "
		       "what it points at)\n",
		       f.state);
	} else if (have_state) {
		printf("kept '%s' (the state store, spool and poller.log; "
		       "--purge removes it)\n",
		       f.state);
	}
	if (f.other_state && access(f.other_state, F_OK) == 0)
		printf("kept state_dir '%s' (from the configuration: other "
		       "repositories may share it)\n",
		       f.other_state);
	if (purge && has_ref(r, f.notes_ref))
		printf("kept the notes (%s): 'git update-ref -d %s' in the "
		       "repository drops them\n",
		       f.notes_ref, f.notes_ref);
out:
	zh_store_unlock_removal(use);
	zh_store_unlock_poller(lock);
	found_dispose(&f);
	zh_repo_free(r);
	return rc;
}
