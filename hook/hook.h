/* zadig-hook internals shared by its source files. */
#ifndef ZH_HOOK_HOOK_H
#define ZH_HOOK_HOOK_H

#include <stdbool.h>
#include <sys/types.h>

#include "config/config.h"
#include "gitrepo/gitrepo.h"
#include "store/store.h"
#include "util/error.h"

#define PROG "zadig-hook"

/* `zadig-hook install <repo> [--config FILE] [--force]`; argv0: how
 * zadig-hook was run (argv[0]), for the path the hook script runs it by. */
int zh_hook_install(const char *repo_path, const char *config,
		    const char *argv0, bool force, struct zh_error *err);

/* `zadig-hook uninstall <repo> [--purge] [--force]`: put the chained
 * hook back as post-receive (or remove ours), unset zadig.config (and
 * receive.advertisePushOptions when install set it); with purge, stop
 * the repository's poller and remove <git-dir>/zadig-hook. A foreign
 * post-receive is never touched; one over the chained hook, or a hooks
 * directory outside the repository, is refused (ZH_EUSAGE, nothing
 * changed) unless force. Prints what it did. */
int zh_hook_uninstall(const char *repo_path, bool purge, bool force,
		      struct zh_error *err);

/* `zadig-hook poll`: deliver, poll and note until nothing is pending
 * (or only triggers older than poll.give_up_after + max_interval); on its
 * way out it looks again once the lock is free, for work of a hook whose
 * poller found it held. Exits quietly when another poller holds the
 * store's lock. after > 1:
 * first wait (at most 1 s) for that process (the hook's git) to end.
 * spool_only (`poll --spool`, run by `git zadig sync`): record the
 * triggers of the pushes async hooks spooled, then exit (sending
 * nothing). run_by: the path this poller was run by (zh_hook_run_by: the
 * hook's, often a link); between rounds, once it names another program
 * than this one (an upgrade replaced the file or repointed the link) the
 * poller lets go of the store and starts that one. */
int zh_hook_poll(const char *git_dir, const char *config, const char *run_by,
		 pid_t after, bool spool_only, struct zh_error *err);

/* One line to the pusher: "zadig: <text>" on stderr (git shows it as
 * "remote: zadig: ..."). */
void zh_hook_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `zadig-hook post-receive` with hook.mode: async and hook.poll
 * (hook/enqueue.c): spool the ref updates on stdin and start the poller.
 * Returns 0 when it did (the hook's exit status), 1 when the rest of
 * zadig-hook must handle the push (another mode, or anything it cannot
 * tell without libgit2: an error worth a proper message), with stdin
 * still unread; then *loaded is the configuration it read when that was
 * the reason (sync mode, or hook.poll: false), else NULL. argv0: how
 * zadig-hook was run, for the poller (zh_hook_spawn_poller). */
int zh_hook_enqueue(const char *config, const char *chain, const char *argv0,
		    struct zh_config **loaded);

/* Update u as the spool keeps it: "<old> <new> <ref>" (lower-case ids,
 * no '\r', as zh_flow_next_update leaves them), malloc'd; NULL when out
 * of memory. */
struct zh_ref_update;
char *zh_hook_update_line(const struct zh_ref_update *u);

/* Store the n "<old> <new> <ref>" lines of a push into git_dir (an
 * absolute path), with the push's options, as one file of the spool of
 * state_dir (files in the modes of shared, zh_spool_write) for the
 * poller to record (hook/spool.h); config: the configuration file the
 * hook used, or NULL. Returns 0 or what zh_spool_write returns. */
int zh_hook_spool(const char *state_dir, int shared, const char *git_dir,
		  const char *config, char **updates, size_t n,
		  struct zh_error *err);

/* Start `zadig-hook poll` fully detached (new session, stdio closed,
 * stderr to <state_dir>/poller.log, made in the modes of shared), so
 * that git push returns at once. argv0: how zadig-hook was run (the hook
 * script runs it by the path install recorded), which the poller watches
 * for an upgrade (zh_hook_run_by, zh_hook_poll). */
void zh_hook_spawn_poller(const char *git_dir, const char *config,
			  const char *state_dir, int shared, const char *argv0);

/* After the store or the spool in state could not be written: when the
 * pushing user (git runs the hook as that user) may not write state, or
 * a file of the store in it, say whose it is and what to fix, one
 * zh_hook_say line; nothing otherwise. own: state is the repository's
 * (<git-dir>/zadig-hook), shared its core.sharedRepository (util/perm.h);
 * else state_dir of configuration file config. */
void zh_hook_say_denied(const char *state, bool own, int shared,
			const char *config);

/* After nothing of a push could be recorded: for each ref of input (the
 * hook's "<old> <new> <ref>" lines) that may fire (one no rule of cfg
 * fires for repository name left out, when both are given), the command
 * that triggers it "once <once>": the first five, then a count. */
void zh_hook_say_trigger_later(const char *input, const char *once,
			       const struct zh_config *cfg, const char *name);

/* Load the config for repository r (--config, $ZADIG_HOOK_CONFIG, git
 * config zadig.config, /etc/zadig-hook/config.yaml); errors of the file
 * are appended to err's message. */
int zh_hook_load_config(struct zh_config **out, struct zh_repo *r,
			const char *explicit_path, struct zh_error *err);

/* Remember where repository name lives ("git_dir:<name>" in the store's
 * meta), for the poller of a store that several repositories share
 * (state_dir): it writes their notes too. Best effort. Returns whether
 * another repository of that name was recorded there and still is one
 * (its git dir into other): two repositories named alike in one store
 * share their triggers' keys and their notes go to whichever pushed last,
 * which the caller must say. */
bool zh_hook_record_git_dir(struct zh_store *store, const char *name,
			    const char *git_dir, char *other, size_t othersize);

/* The update u of a push read from r as the hook and the poller record
 * it: zh_flow_event_read with cfg's repo_root, then the push's skip
 * option and cfg's callback. *out is malloc'd (its event points into it):
 * free it with zh_hook_event_free. Returns 0, ZH_ENOMEM or what
 * zh_flow_event_read returns. */
struct zh_flow_event;
struct zh_ref_update;
int zh_hook_event_read(struct zh_flow_event **out, const struct zh_config *cfg,
		       struct zh_repo *r, const struct zh_ref_update *u,
		       bool skip, struct zh_error *err);
void zh_hook_event_free(struct zh_flow_event *fe);

#endif
