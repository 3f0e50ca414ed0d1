/* Starting the detached poller, and what the hook reads from git; shared
 * by `zadig-hook` and `git-zadig-full`. Only libc and util/. */
#ifndef ZH_HOOK_SPAWN_H
#define ZH_HOOK_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/error.h"

/* Start `exe poll --git-dir GIT_DIR [--config CONFIG] --after PID`
 * (argv[0] run_by, the absolute path the hook runs zadig-hook by
 * (zh_hook_run_by), for the poller to tell an upgrade by; "zadig-hook"
 * when NULL) in the background: stdin and stdout /dev/null,
 * stderr appended to <state_dir>/poller.log (made in the modes of shared,
 * util/perm.h), so that git (waiting on our
 * stdout/stderr) returns at once; the child detaches itself
 * (zh_hook_detach). after > 1: the poller lets process after (the
 * hook's parent: the hook script, which ends with zadig-hook, or the git
 * that runs a hook an older install wrote, which exec'd zadig-hook) end
 * first, before it opens the repository or the store, so that the poller
 * does not compete with the push for the CPU.
 * Best effort: says nothing when it cannot. */
void zh_hook_spawn_detached(const char *exe, const char *run_by,
			    const char *git_dir, const char *config,
			    const char *state_dir, int shared, pid_t after);

/* For a poller started by zh_hook_spawn_detached (--after given): a
 * session of its own (no signal for the pusher's terminal reaches it)
 * and no descriptor but stdio. */
void zh_hook_detach(void);

/* This program's own path (/proc/self/exe) into buf. Returns 0 or -1. */
int zh_hook_self(char *buf, size_t size);

/* Whether path names the file this program runs from (/proc/self/exe:
 * the same inode). */
bool zh_hook_is_self(const char *path);

/* The path this program was run by, into buf: argv0 when absolute, else
 * its first executable match on an absolute PATH entry (as the shell
 * found it), when that is this very program (zh_hook_is_self), links
 * kept; else the file it runs from (zh_hook_self). The path run by is
 * often a stable link (/usr/local/bin/zadig-hook ->
 * /opt/zadig-hook/1.2/bin/zadig-hook) that an upgrade points at the next
 * release before the old one is removed; the file it resolves to goes
 * with that release. Returns 0 or -1. */
int zh_hook_run_by(char *buf, size_t size, const char *argv0);

/* The directory of this program (zh_hook_self without the last name),
 * where the other programs are in the build tree and in libexec. Returns
 * 0 or -1. */
int zh_hook_self_dir(char *buf, size_t size);

/* Wait until process pid is gone and then 50 ms more, at most max_ms in
 * all (pid <= 1: no wait). */
void zh_hook_wait_gone(pid_t pid, int max_ms);

/* Run the chained (pre-existing) hook at path with input on its stdin
 * and wait for it (its exit status does not matter). Returns 0 when it
 * ran, ZH_ENOTFOUND when path is missing, ZH_EINVALID when it is not
 * executable, ZH_EIO when it cannot be started; err says which hook, for
 * the pusher. */
int zh_hook_run_chained(const char *path, const char *input, size_t len,
			struct zh_error *err);

/* All of stdin (the hook's "<old> <new> <ref>" lines) into in. Returns 0,
 * ZH_EIO when reading fails or ZH_ETOOBIG beyond in's cap. */
int zh_hook_read_stdin(struct zh_buf *in);

/* The push options git hands the hook (GIT_PUSH_OPTION_<n>), at most max,
 * into opts (pointers into the environment). Returns how many. */
size_t zh_hook_push_options(char **opts, size_t max);

#endif
