/* zadig-hook: the post-receive hook (design.md §2, §5). It always exits 0
 * from post-receive: a push never fails because of zadig-hook. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flow/deliver.h"
#include "flow/flow.h"
#include "flow/report.h"
#include "flow/update.h"
#include "hook/hook.h"
#include "hook/spawn.h"
#include "hook/spool.h"
#include "mapping/mapping.h"
#include "store/store.h"
#include "util/buf.h"

#include "util/banned.h"

extern char **environ;

#define MAX_STDIN (16u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: zadig-hook install <repo.git> [--config FILE] "
		"[--force]\n"
		"       zadig-hook uninstall <git-dir>... [--purge] "
		"[--force]\n"
		"       zadig-hook post-receive [--config FILE]   (the hook; "
		"reads <old> <new> <ref> lines)\n"
		"       zadig-hook poll [--git-dir DIR] [--config FILE] "
		"[--spool]\n"
		"\n"
		"install   put the post-receive hook into a repository, "
		"keeping an existing one\n"
		"          working (it is chained), and record --config as "
		"git config zadig.config;\n"
		"          --force replaces a foreign hook instead (kept as "
		"post-receive.zadig-backup)\n"
		"uninstall take the hook out (the chained hook becomes "
		"post-receive again) and\n"
		"          unset zadig.config; --purge also stops the "
		"repository's poller and\n"
		"          removes <git-dir>/zadig-hook (the notes stay); "
		"--force goes on where a\n"
		"          foreign hook or a shared core.hooksPath would "
		"stop it\n"
		"poll      the detached status poller the hook starts; "
		"--spool: only record\n"
		"          the pushes async hooks left (git zadig sync runs "
		"this)\n"
		"\n"
		"Exit status: 0 ok (post-receive: always), 1 failed, 2 usage "
		"or configuration error.\n");
}

int zh_hook_load_config(struct zh_config **out, struct zh_repo *r,
			const char *explicit_path, struct zh_error *err)
{
	struct zh_config_diag diag = {0};
	char *gitval = NULL, *path = NULL;
	int rc;

	if (r && zh_config_wants_git_value(explicit_path))
		(void)zh_repo_config_get(&gitval, r, "zadig.config", NULL);
	if (gitval && !(gitval = zh_config_git_path(gitval, zh_repo_top(r))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	rc = zh_config_locate(&path, explicit_path, gitval, err);
	free(gitval);
	if (rc < 0)
		return rc;
	rc = zh_config_load(out, path, &diag, err);
	if (rc < 0 && diag.len > 1)
		zh_error_set(err, rc,
			     "%.300s (and %zu more errors; run 'git "
			     "zadig config check')",
			     diag.msgs[0], diag.len - 1);
	zh_config_diag_dispose(&diag);
	free(path);
	return rc;
}

/* ---- post-receive ---- */

void zh_hook_say(const char *fmt, ...)
{
	struct zh_buf line, shown;
	va_list ap;
	int rc;

	/* refs and Zadig's text reach the pusher's terminal: shown, never
	 * obeyed */
	zh_buf_init(&line, 64 * 1024);
	zh_buf_init(&shown, 256 * 1024);
	va_start(ap, fmt);
	rc = zh_buf_vprintf(&line, fmt, ap);
	va_end(ap);
	if (rc == 0 && zh_buf_display(&shown, line.ptr, line.len) == 0)
		fprintf(stderr, "zadig: %s\n", zh_buf_cstr(&shown));
	fflush(stderr);
	zh_buf_dispose(&line);
	zh_buf_dispose(&shown);
}

static bool push_option_skip(void)
{
	char *options[100];
	size_t n = zh_hook_push_options(options, 100);

	return zh_hook_skip_option((const char *const *)options, n);
}

/* Why nothing fired for a ref, in the words of the first skip reason
 * that is not a plain mismatch. */
static void say_nothing(const struct zh_config *cfg, const struct zh_event *ev)
{
	struct zh_verdict_list vl = {0};
	size_t i;

	if (zh_mapping_explain(&vl, cfg, ev, NULL) == 0) {
		for (i = 0; i < vl.len; i++) {
			enum zh_verdict v = vl.items[i].verdict;

			if (v == ZH_SKIP_MARKER || v == ZH_SKIP_OPTION) {
				zh_hook_say("%s skipped (%s)", ev->ref,
					    vl.items[i].reason);
				free(vl.items);
				return;
			}
		}
	}
	free(vl.items);
	zh_hook_say("no rule matches %s", ev->ref);
}

static void say_result(const struct zh_flow_result *res, bool sync_mode)
{
	switch (res->outcome) {
	case ZH_FLOW_CREATED:
		zh_hook_say("%s: %s #%" PRId64 " created %s", res->rule,
			    res->workflow, res->task_id, res->url);
		break;
	case ZH_FLOW_DONE:
		if (res->task_id)
			zh_hook_say("%s: already triggered: %s #%" PRId64 " %s",
				    res->rule, res->workflow, res->task_id,
				    res->url);
		else
			zh_hook_say("%s: already queued", res->rule);
		break;
	case ZH_FLOW_QUEUED:
		if (sync_mode)
			zh_hook_say("%s: queued, %s; will retry", res->rule,
				    res->message);
		else
			zh_hook_say("%s: %s queued", res->rule, res->workflow);
		break;
	case ZH_FLOW_HELD:
		zh_hook_say("%s: queued, %s; will retry once %s", res->rule,
			    res->message,
			    res->denied ? "the token's user is allowed"
					: "the token is fixed");
		break;
	case ZH_FLOW_REJECTED:
		zh_hook_say("%s: rejected by zadig: %s", res->rule,
			    res->message);
		break;
	}
}

/* Reading a push (pack reads, trees, deltas) and recording it (SQLite's
 * pages, zlib's deflate state) grows the heap by about 1 MiB that is
 * never given back: on its own, a page fault per fresh 4 KiB page, some
 * 250 at 2-3.5 µs each on a VM. Mapped in one madvise instead, before
 * the first read (docs/BENCHMARKS.md, "Fifteenth measurement"): the
 * heap keeps what it is given (no trimming, no mmap for blocks up to
 * 4 MiB, where libgit2's and SQLite's big buffers would each be a fresh
 * mapping), and a kernel without MADV_POPULATE_WRITE (before 5.14) only
 * loses the head start (headers without it: no prefault). */
static void prefault_heap(void)
{
#ifdef MADV_POPULATE_WRITE
	static bool done;
	const size_t size = 1u << 20;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a, end;
	char *p;

	if (done)
		return;
	done = true;
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	if (!(p = malloc(size)))
		return;
	/* the whole pages inside the block */
	a = ((uintptr_t)p + page - 1) & ~(page - 1);
	end = ((uintptr_t)p + size) & ~(page - 1);
	(void)madvise((void *)a, end - a, MADV_POPULATE_WRITE);
	free(p);
#endif
}

/* The ref updates of a push that may fire, read from the repository
 * (zh_hook_event_read), and their "<old> <new> <ref>" lines (for the
 * spool, should the store not take them). */
struct updates {
	struct zh_flow_event **v;
	char **lines;
	size_t len, cap;
};

/* Time kept back from the store's lock waits for what the hook still does
 * after one (a spool file, starting the poller), so that hook.deadline
 * holds while another process keeps the store locked. */
#define STORE_MARGIN_MS 250

/* A recorded rule's result when it is not sent now: queued, and why. */
static void queued(struct zh_flow_result *res, const struct zh_flow_recorded *r,
		   const char *why)
{
	memset(res, 0, sizeof(*res));
	snprintf(res->rule, sizeof(res->rule), "%s", r->rule);
	snprintf(res->workflow, sizeof(res->workflow), "%s", r->workflow);
	res->outcome = ZH_FLOW_QUEUED;
	snprintf(res->message, sizeof(res->message), "%s", why);
}

/* The store's lock waits end before the deadline does. */
static void bound_store_waits(struct zh_flow *f)
{
	zh_store_set_busy_timeout(f->store, f->deadline_ms - STORE_MARGIN_MS -
						zh_store_now_ms());
}

static int grow(struct updates *ups)
{
	size_t cap = ups->cap ? ups->cap * 2 : 4;
	struct zh_flow_event **v = realloc(ups->v, cap * sizeof(*v));
	char **lines;

	if (!v)
		return ZH_ENOMEM;
	ups->v = v;
	if (!(lines = realloc(ups->lines, cap * sizeof(*lines))))
		return ZH_ENOMEM;
	ups->lines = lines;
	ups->cap = cap;
	return 0;
}

/* Read the "<old> <new> <ref>" update u of repository name into *ups
 * when a rule may fire on it; say why not otherwise. */
static void read_update(struct updates *ups, struct zh_flow *f,
			struct zh_repo *r, const char *name,
			const struct zh_ref_update *u, bool skip_option)
{
	struct zh_error e = {0};
	const char *ref = u->ref;

	if (!zh_flow_update_may_fire(u))
		return;
	if (name && !zh_mapping_may_fire_ref(f->cfg, name, ref)) {
		/* no walk or diff for a ref no rule covers */
		zh_hook_say("no rule matches %s", ref);
		return;
	}
	if (ups->len == ups->cap && grow(ups) < 0) {
		zh_hook_say("%s: out of memory; nothing triggered", ref);
		return;
	}
	if (!(ups->lines[ups->len] = zh_hook_update_line(u))) {
		zh_hook_say("%s: out of memory; nothing triggered", ref);
		return;
	}
	prefault_heap();
	if (zh_hook_event_read(&ups->v[ups->len], f->cfg, r, u, skip_option,
			       &e) < 0) {
		zh_hook_say("%s: cannot read the push: %s; nothing triggered",
			    ref, e.msg);
		free(ups->lines[ups->len]);
		return;
	}
	ups->len++;
}

/* The store stayed locked by another process for as long as the deadline
 * let the hook wait (why): the push goes to the spool, as an async hook's
 * does, with the configuration file the hook read, and the poller records
 * it once the store is free. */
static void spool_updates(struct updates *ups, struct zh_flow *f,
			  const char *state, const struct zh_error *why)
{
	struct zh_error e = {0};
	size_t k;

	if (zh_hook_spool(state, zh_flow_state_shared(f->cfg, f->repo),
			  zh_repo_git_dir(f->repo), f->cfg->path, ups->lines,
			  ups->len, &e) < 0) {
		for (k = 0; k < ups->len; k++)
			zh_hook_say("%s: %s; cannot queue it either: %s; "
				    "nothing triggered",
				    ups->v[k]->ref, why->msg, e.msg);
		return;
	}
	for (k = 0; k < ups->len; k++)
		zh_hook_say("%s queued, %s; %s", ups->v[k]->ref, why->msg,
			    f->cfg->hook.poll ? "will retry"
					      : "'git zadig sync' records it");
}

/* Record every fired rule of the updates read, in one transaction (one
 * flush however many refs and rules fire), then per update: deliver
 * (sync) and say what became of each. A store too busy to record them
 * before the deadline: spooled instead (spool_updates) and true returned,
 * so that the hook leaves the store alone. */
static bool record_updates(struct updates *ups, struct zh_flow *f,
			   const char *state)
{
	const struct zh_event **evs = NULL;
	struct zh_flow_recorded_list *rls = NULL;
	struct zh_error e = {0};
	bool sync_mode = f->cfg->hook.mode == ZH_HOOK_SYNC;
	size_t k, i;
	bool busy = false;
	int rc;

	if (ups->len == 0)
		return false;
	if (!(evs = calloc(ups->len, sizeof(*evs))) ||
	    !(rls = calloc(ups->len, sizeof(*rls)))) {
		zh_hook_say("out of memory; nothing triggered");
		goto out;
	}
	for (k = 0; k < ups->len; k++)
		evs[k] = &ups->v[k]->ev;
	bound_store_waits(f);
	rc = zh_flow_record_many(rls, f, evs, ups->len,
				 sync_mode ? ZH_FLOW_RECORD_SENDING : 0, &e);
	if (rc == ZH_EBUSY) {
		busy = true;
		spool_updates(ups, f, state, &e);
		goto out;
	}
	if (rc < 0) {
		/* all or nothing: each ref says so */
		for (k = 0; k < ups->len; k++)
			zh_hook_say("%s: %s; nothing triggered", evs[k]->ref,
				    e.msg);
		goto out;
	}
	for (k = 0; k < ups->len; k++) {
		const struct zh_flow_recorded_list *rl = &rls[k];

		if (rl->len == 0)
			say_nothing(f->cfg, evs[k]);
		for (i = 0; i < rl->len; i++) {
			struct zh_flow_result res;

			if (rl->items[i].error[0]) {
				zh_hook_say("%s: %s; not triggered",
					    rl->items[i].rule,
					    rl->items[i].error);
				continue;
			}
			queued(&res, &rl->items[i],
			       "the hook deadline was reached");
			if (rl->items[i].existed && !sync_mode) {
				/* async only records: a trigger an earlier
				 * push left queued is the poller's (or 'git
				 * zadig sync's) to send */
				struct zh_flow_result got;

				if (zh_flow_trigger_result(
					&got, f, rl->items[i].trigger_id,
					NULL) == 0)
					res = got;
			} else if (rl->items[i].existed || sync_mode) {
				bound_store_waits(f);
				/* not sent (the store refused its claim, a
				 * poller sends it): deliver_id cleared res */
				if (zh_store_now_ms() < f->deadline_ms &&
				    zh_flow_deliver_id(&res, f,
						       rl->items[i].trigger_id,
						       &e) < 0)
					queued(&res, &rl->items[i], e.msg);
			}
			if (rl->items[i].existed &&
			    res.outcome != ZH_FLOW_REJECTED) {
				res.outcome = ZH_FLOW_DONE;
			} else if (res.outcome == ZH_FLOW_DONE) {
				/* recorded by this push, but a running poller
				 * (of an earlier push) claimed it first: this
				 * push's task */
				if (!res.task_id) {
					zh_hook_say("%s: %s queued, the poller "
						    "is sending it",
						    res.rule, res.workflow);
					continue;
				}
				res.outcome = ZH_FLOW_CREATED;
			}
			say_result(&res, sync_mode);
		}
	}
out:
	for (k = 0; rls && k < ups->len; k++)
		free(rls[k].items);
	free(rls);
	free(evs);
	return busy;
}

static void updates_dispose(struct updates *ups)
{
	size_t k;

	for (k = 0; k < ups->len; k++) {
		zh_hook_event_free(ups->v[k]);
		free(ups->lines[k]);
	}
	free(ups->v);
	free(ups->lines);
	memset(ups, 0, sizeof(*ups));
}

/* Most refs a push with a broken configuration gets a line for (the
 * rest are counted). */
#define TRIGGER_LATER_MAX 5

/* s as one word of a command to copy into a shell: as it is when no
 * shell gives any of its characters a meaning, else in single quotes,
 * each ' as '\'' (git lets a ref hold $ ( ) ; ` ' | and more). NULL when
 * out of memory. */
static char *shell_word(const char *s)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789/._-+@,=%:";
	struct zh_buf b;

	if (*s && strspn(s, plain) == strlen(s))
		return strdup(s);
	zh_buf_init(&b, SIZE_MAX);
	if (zh_buf_sh_quote(&b, s) < 0) {
		zh_buf_dispose(&b);
		return NULL;
	}
	return zh_buf_detach(&b);
}

void zh_hook_say_trigger_later(const char *line, const char *once,
			       const struct zh_config *cfg, const char *name)
{
	struct zh_ref_update u = {0};
	struct zh_error e = {0};
	size_t said = 0, more = 0;
	char *ref;
	int n;

	while ((n = zh_flow_next_update(&u, &line, &e)) != 0) {
		if (n < 0 || !zh_flow_update_may_fire(&u) ||
		    (cfg && name && !zh_mapping_may_fire_ref(cfg, name, u.ref)))
			continue;
		if (said++ >= TRIGGER_LATER_MAX) {
			more++;
			continue;
		}
		if (!(ref = shell_word(u.ref)))
			continue;
		zh_hook_say("%s: once %s, run 'git zadig trigger %.12s "
			    "--ref %s --before %.12s' in the repository",
			    u.ref, once, u.new_hex, ref,
			    zh_oid_is_zero(u.old_hex) ? "0" : u.old_hex);
		free(ref);
	}
	if (more)
		zh_hook_say("and %zu more refs: the same for each", more);
	zh_ref_update_dispose(&u);
}

/* cfg: the configuration zh_hook_enqueue read, or NULL; ours to free. */
static int post_receive(const char *config, const char *chain,
			const char *argv0, struct zh_config *cfg)
{
	struct zh_buf in;
	struct zh_store *store = NULL;
	struct zh_repo *r = NULL;
	struct zh_error e = {0};
	struct zh_flow f;
	struct zh_ref_update u = {0};
	struct updates ups = {0};
	char *state = NULL, *name = NULL, other[PATH_MAX];
	const char *line;
	int64_t start;
	int n;
	bool skip = push_option_skip(), busy;

	memset(&f, 0, sizeof(f));
	zh_buf_init(&in, MAX_STDIN);
	if (zh_hook_read_stdin(&in) < 0) {
		zh_hook_say("cannot read the ref updates; nothing triggered");
		goto out;
	}
	if (chain &&
	    zh_hook_run_chained(chain, zh_buf_cstr(&in), in.len, &e) < 0)
		zh_hook_say("%s", e.msg);
	/* hook.deadline bounds our own work: the chained hook is the
	 * admin's, and takes what it takes */
	start = zh_store_now_ms();
	if (zh_repo_open(&r, ".", true, &e) < 0) {
		if (strstr(e.msg, "objectformat"))
			zh_hook_say(
			    "this repository uses SHA-256 object ids, which "
			    "zadig-hook cannot read (libgit2 1.5 supports "
			    "SHA-1 only); nothing triggered");
		else
			zh_hook_say("%s; nothing triggered", e.msg);
		goto out;
	}
	if (!cfg && zh_hook_load_config(&cfg, r, config, &e) < 0) {
		zh_hook_say("configuration error: %s; nothing triggered",
			    e.msg);
		zh_hook_say_trigger_later(
		    zh_buf_cstr(&in), "the configuration is fixed", NULL, NULL);
		goto out;
	}
	if (!(state = zh_flow_state_dir(cfg, r))) {
		zh_hook_say("out of memory; nothing triggered");
		goto out;
	}
	if (zh_store_open_shared(&store, state, zh_flow_state_shared(cfg, r),
				 &e) < 0) {
		zh_hook_say("%s; nothing triggered", e.msg);
		zh_hook_say_denied(state, !cfg->state_dir,
				   zh_flow_state_shared(cfg, r), cfg->path);
		if (zh_repo_name(&name, r, cfg->hook.repo_root, NULL) < 0)
			name = NULL;
		zh_hook_say_trigger_later(
		    zh_buf_cstr(&in), "the store can be written", cfg, name);
		goto out;
	}
	f.cfg = cfg;
	f.store = store;
	f.repo = r;
	f.deadline_ms = start + cfg->hook.deadline_ms;
	if (zh_repo_name(&name, r, cfg->hook.repo_root, NULL) < 0)
		name = NULL; /* reading each update then says why */

	line = zh_buf_cstr(&in);
	while ((n = zh_flow_next_update(&u, &line, &e)) != 0) {
		if (n < 0)
			zh_hook_say("ignoring a malformed update line: %s",
				    e.msg);
		else
			read_update(&ups, &f, r, name, &u, skip);
	}
	busy = record_updates(&ups, &f, state);
	updates_dispose(&ups);

	/* notes right away: queued and created lines (best effort); a busy
	 * store is the poller's to note */
	if (name && !busy) {
		bound_store_waits(&f);
		if (zh_hook_record_git_dir(store, name, zh_repo_git_dir(r),
					   other, sizeof(other)))
			zh_hook_say("warning: %s is named '%s' too, in this "
				    "state_dir: their pushes of one commit "
				    "count as one and their notes go astray; "
				    "set hook.repo_root so that names differ, "
				    "or give each its own state_dir",
				    other, name);
		if (zh_store_now_ms() < f.deadline_ms) {
			f.repo_name = name;
			if (zh_flow_write_notes(NULL, &f, &e) < 0)
				zh_hook_say("cannot write notes: %s", e.msg);
			f.repo_name = NULL;
		}
	}
	if (cfg->hook.poll)
		zh_hook_spawn_poller(zh_repo_git_dir(r), config, state,
				     zh_flow_state_shared(cfg, r), argv0);
out:
	zh_ref_update_dispose(&u);
	zh_flow_dispose(&f);
	zh_store_free(store);
	free(state);
	free(name);
	zh_config_free(cfg);
	zh_repo_free(r);
	zh_buf_dispose(&in);
	return 0;
}

/* `zadig-hook uninstall`: each repository in turn, also after one failed;
 * the exit status of the worst failure (2 before 1). Frees repos. */
static int uninstall(const char **repos, size_t n, bool purge, bool force)
{
	struct zh_error err = {0};
	int worst = 0, rc;
	size_t i;

	if (n == 0) {
		fprintf(stderr,
			"%s: error: usage: zadig-hook uninstall "
			"<git-dir>... [--purge] [--force]\n",
			PROG);
		return 2;
	}
	for (i = 0; i < n; i++) {
		if ((rc = zh_hook_uninstall(repos[i], purge, force, &err)) == 0)
			continue;
		fprintf(stderr, "%s: error: %s\n", PROG, err.msg);
		rc = zh_error_exit_code(rc);
		if (rc > worst)
			worst = rc;
	}
	free(repos);
	return worst;
}

int main(int argc, char **argv)
{
	const char *verb = NULL, *config = NULL, *git_dir = NULL;
	const char *chain = NULL, *repo = NULL;
	const char **repos = NULL;
	struct zh_error err = {0};
	bool force = false, spool = false, purge = false;
	size_t nrepos = 0;
	struct zh_config *cfg = NULL;
	pid_t after = 0;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("zadig-hook %s\n", ZH_VERSION);
			return 0;
		} else if (strcmp(a, "--force") == 0) {
			force = true;
		} else if (strcmp(a, "--spool") == 0) {
			spool = true;
		} else if (strcmp(a, "--purge") == 0) {
			purge = true;
		} else if ((strcmp(a, "--config") == 0 ||
			    strcmp(a, "--git-dir") == 0 ||
			    strcmp(a, "--chain") == 0) &&
			   i + 1 < argc) {
			const char **dst = a[2] == 'c' && a[3] == 'o' ? &config
					   : a[2] == 'g'	      ? &git_dir
								      : &chain;
			*dst = argv[++i];
		} else if (strcmp(a, "--after") == 0 && i + 1 < argc) {
			/* from the hook: the pid of the git that ran it */
			after = (pid_t)strtol(argv[++i], NULL, 10);
			zh_hook_detach();
		} else if (strncmp(a, "--config=", 9) == 0) {
			config = a + 9;
		} else if (a[0] == '-') {
			fprintf(stderr, "%s: error: unknown option '%s'\n",
				PROG, a);
			return 2;
		} else if (!verb) {
			verb = a;
		} else {
			if (!repos &&
			    !(repos = calloc((size_t)argc, sizeof(*repos)))) {
				fprintf(stderr, "%s: error: out of memory\n",
					PROG);
				return 1;
			}
			repos[nrepos++] = a;
		}
	}
	repo = nrepos ? repos[0] : NULL;
	if (verb && strcmp(verb, "uninstall") == 0)
		return uninstall(repos, nrepos, purge, force);
	free(repos);
	if (nrepos > 1) {
		fprintf(stderr, "%s: error: too many arguments\n", PROG);
		return 2;
	}
	if (!verb) {
		usage(stderr);
		return 2;
	}
	if (strcmp(verb, "post-receive") == 0) {
		/* a pusher gone (Ctrl-C, a dropped connection) leaves our
		 * stdout and stderr a pipe nobody reads: what we say is then
		 * lost (its write fails, ignored), the push's work is not */
		signal(SIGPIPE, SIG_IGN);
		return zh_hook_enqueue(config, chain, argv[0], &cfg) == 0
			   ? 0
			   : post_receive(config, chain, argv[0], cfg);
	}
	if (strcmp(verb, "install") == 0) {
		if (!repo) {
			fprintf(stderr,
				"%s: error: usage: zadig-hook install "
				"<repo.git> [--config FILE] [--force]\n",
				PROG);
			return 2;
		}
		rc = zh_hook_install(repo, config, argv[0], force, &err);
	} else if (strcmp(verb, "poll") == 0) {
		char run_by[PATH_MAX];

		/* now, before an upgrade can repoint a link */
		if (zh_hook_run_by(run_by, sizeof(run_by), argv[0]) < 0)
			run_by[0] = '\0';
		rc = zh_hook_poll(git_dir, config, run_by, after, spool, &err);
	} else {
		fprintf(stderr, "%s: error: unknown verb '%s'\n", PROG, verb);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "%s: error: %s\n", PROG, err.msg);
		return zh_error_exit_code(rc);
	}
	return 0;
}
