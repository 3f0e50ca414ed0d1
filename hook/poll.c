/* zadig-hook poll: the detached poller. One per state store (a lock);
 * delivers queued triggers, polls unfinished tasks, writes notes, and
 * exits when nothing is pending. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
#include "util/perm.h"

#include "util/banned.h"

/* <state>/poller.log when the poller logs there (its stderr, as a hook
 * starts it: zh_hook_spawn_detached), else "". */
static char log_path[PATH_MAX + 16];
/* core.sharedRepository of its repository, for a log made anew */
static int log_shared;

/* Whether stderr is the file path names. */
static bool is_stderr(const char *path)
{
	struct stat a, b;

	return fstat(2, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Log to <state>/poller.log from now on when stderr is that file, and
 * follow it when it is rotated (follow_log). */
static void log_to(const char *state, int shared)
{
	log_shared = shared;
	snprintf(log_path, sizeof(log_path), "%s/poller.log", state);
	if (!is_stderr(log_path))
		log_path[0] = '\0';
}

/* Before each line: once log_path no longer names the file stderr is
 * (renamed away by logrotate, or removed), stderr goes to the file of
 * that name, made when missing; the lines before went to the old one. A
 * log copied and truncated needs nothing: writes append. */
static void follow_log(void)
{
	int fd;

	if (!log_path[0] || is_stderr(log_path))
		return;
	fd = open(log_path,
		  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return; /* the old file it is, then */
	(void)zh_perm_fadjust(fd, log_shared);
	if (fd != 2) {
		dup2(fd, 2);
		close(fd);
	}
}

/* One line of poller.log. Repository names, refs and Zadig's messages end
 * up in lines: what a terminal would obey is written as an escape
 * (zh_buf_display: \xNN, <U+202E>) so that nothing can end a line early
 * and forge the next one, nor drive the terminal of whoever tails it. */
static void log_line(void *ctx, const char *line)
{
	char ts[32];
	struct tm tm;
	struct zh_buf esc;
	time_t now = time(NULL);
	size_t n = strnlen(line, 4096);

	(void)ctx;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	zh_buf_init(&esc, 8 * 4096);
	follow_log();
	if (zh_buf_display(&esc, line, n) == 0)
		fprintf(stderr, "%s zadig-hook poll[%d]: %s\n", ts,
			(int)getpid(), zh_buf_cstr(&esc));
	zh_buf_dispose(&esc);
	fflush(stderr);
}

static void log_f(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void log_f(const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_line(NULL, line);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Read the config again: a poller may run for hours and later hooks leave
 * the work to it, so a fixed URL or token file must reach it. A config
 * that does not load leaves the old one in place (said once per error,
 * in *said). One that names another state directory is taken all the
 * same but for state_dir: this poller holds the lock of its store, not of
 * the new one, and finishes the work pending here with the new URL,
 * token and timings (said once per directory, in *moved), while the next
 * hook starts a poller for the new store. */
static void reload(struct zh_config **cfg, struct zh_flow *f, struct zh_repo *r,
		   const char *config, const char *state, char *said,
		   size_t said_size, char *moved, size_t moved_size)
{
	struct zh_config *n = NULL;
	struct zh_error e = {0};
	char *s = NULL;

	if (zh_hook_load_config(&n, r, config, &e) < 0) {
		if (strcmp(said, e.msg) != 0) {
			snprintf(said, said_size, "%s", e.msg);
			log_f("%s; keeping the previous configuration", e.msg);
		}
		return;
	}
	said[0] = '\0';
	if (!(s = zh_flow_state_dir(n, r))) {
		zh_config_free(n);
		return;
	}
	if (strcmp(s, state) != 0) {
		char *keep = strdup(state);

		if (!keep) {
			free(s);
			zh_config_free(n);
			return;
		}
		if (strcmp(moved, s) != 0) {
			snprintf(moved, moved_size, "%s", s);
			log_f("config: state_dir changed to '%s'; this poller "
			      "keeps serving '%s' (with the new zadig and poll "
			      "settings) until its work there is done, new "
			      "pushes go to '%s'; anything it leaves needs "
			      "'git zadig sync' with state_dir '%s'",
			      s, state, s, state);
		}
		free(n->state_dir);
		n->state_dir = keep;
	} else {
		moved[0] = '\0';
	}
	free(s);
	zh_flow_dispose(f); /* its client was made from the old config */
	zh_config_free(*cfg);
	*cfg = n;
	f->cfg = n;
}

/* With a state_dir shared by several repositories there is one poller
 * (the lock is per store) and it polls the tasks of all of them: it
 * writes the notes of the others too, into the git directory their hook
 * recorded ("git_dir:<repo>", see zadig-hook.c) when that still holds the
 * repository. *r gets it opened (free with zh_repo_free), or NULL. */
static void open_other(struct zh_repo **r, struct zh_flow *f, const char *name)
{
	struct zh_error e = {0};
	char key[1024], *dir = NULL, *real = NULL;

	*r = NULL;
	if ((size_t)snprintf(key, sizeof(key), "git_dir:%s", name) >=
		sizeof(key) ||
	    zh_store_meta_get(&dir, f->store, key, NULL) < 0 || !dir)
		goto out;
	if (zh_repo_open(r, dir, false, &e) < 0 ||
	    zh_repo_name(&real, *r, f->cfg->hook.repo_root, &e) < 0 ||
	    strcmp(real, name) != 0) {
		zh_repo_free(*r);
		*r = NULL;
	}
out:
	free(real);
	free(dir);
}

/* Write the notes of the other repositories (open_other). */
static void note_others(struct zh_flow *f)
{
	struct zh_store_commit_list cl = {0};
	struct zh_error e = {0};
	size_t i, j;

	if (zh_store_commits_to_note(&cl, f->store, NULL, &e) < 0) {
		log_line(NULL, e.msg);
		return;
	}
	for (i = 0; i < cl.len; i++) {
		const char *name = cl.items[i].repo;
		struct zh_flow o;
		struct zh_repo *r = NULL;

		for (j = 0; j < i && strcmp(cl.items[j].repo, name) != 0; j++)
			;
		if (j < i || strcmp(name, f->repo_name) == 0)
			continue; /* once per repository; ours is done */
		open_other(&r, f, name);
		if (!r)
			continue;
		memset(&o, 0, sizeof(o));
		o.cfg = f->cfg;
		o.store = f->store;
		o.repo = r;
		o.repo_name = name;
		o.log = f->log;
		if (zh_flow_write_notes(NULL, &o, &e) < 0)
			log_line(NULL, e.msg);
		zh_repo_free(r);
	}
	zh_store_commit_list_dispose(&cl);
}

/* When the newest change no note shows yet was recorded, among the
 * repositories whose notes this poller writes (ours, open_other's); 0
 * when their notes are all written. A write that failed (the notes ref
 * locked by a git process, or by one that was killed: the notes code
 * removes such a lock once 5 minutes old) is work left like a trigger
 * not yet delivered. Returns 0 or ZH_ESTORE. */
static int unwritten_notes(int64_t *changed, struct zh_flow *f,
			   struct zh_error *err)
{
	struct zh_store_unwritten_list l = {0};
	size_t i;
	int rc;

	*changed = 0;
	if ((rc = zh_store_notes_unwritten(&l, f->store, err)) < 0)
		return rc;
	for (i = 0; i < l.len; i++) {
		struct zh_repo *r = NULL;

		if (l.items[i].changed_ms <= *changed)
			continue;
		if (strcmp(l.items[i].repo, f->repo_name) != 0) {
			open_other(&r, f, l.items[i].repo);
			if (!r)
				continue;
			zh_repo_free(r);
		}
		*changed = l.items[i].changed_ms;
	}
	zh_store_unwritten_list_dispose(&l);
	return 0;
}

/* Whether git dirs a and b are two repositories, both still there. */
static bool other_repository(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX], head[PATH_MAX + 8];

	if (!realpath(a, ra) || !realpath(b, rb) || strcmp(ra, rb) == 0)
		return false;
	snprintf(head, sizeof(head), "%s/HEAD", ra);
	return access(head, F_OK) == 0;
}

bool zh_hook_record_git_dir(struct zh_store *store, const char *name,
			    const char *git_dir, char *other, size_t othersize)
{
	char key[1024], *old = NULL;
	bool clash = false;

	if ((size_t)snprintf(key, sizeof(key), "git_dir:%s", name) >=
	    sizeof(key))
		return false;
	if (zh_store_meta_get(&old, store, key, NULL) < 0 || !old ||
	    strcmp(old, git_dir) != 0) {
		if (old && (clash = other_repository(old, git_dir))) {
			size_t n = strlen(old);

			/* as people write it: no trailing '/' */
			while (n > 1 && old[n - 1] == '/')
				n--;
			snprintf(other, othersize, "%.*s", (int)n, old);
		}
		(void)zh_store_meta_set(store, key, git_dir, NULL);
	}
	free(old);
	return clash;
}

int zh_hook_event_read(struct zh_flow_event **out, const struct zh_config *cfg,
		       struct zh_repo *r, const struct zh_ref_update *u,
		       bool skip, struct zh_error *err)
{
	struct zh_flow_event *fe;
	int rc;

	*out = NULL;
	if (!(fe = calloc(1, sizeof(*fe))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	if ((rc = zh_flow_event_read(fe, r, cfg->hook.repo_root, u->ref,
				     u->old_hex, u->new_hex, false, err)) < 0) {
		free(fe);
		return rc;
	}
	fe->ev.skip_option = skip;
	fe->ev.callback_base = cfg->webhook.public_url;
	fe->ev.callback_secret = cfg->webhook.secret;
	*out = fe;
	return 0;
}

void zh_hook_event_free(struct zh_flow_event *fe)
{
	zh_flow_event_dispose(fe);
	free(fe);
}

/* The spooled pushes a poller kept for a later round: since when it
 * tries (the first failure it saw) and what it said, each said once per
 * poller, not each round. */
struct kept_file {
	char *path;
	int64_t since; /* ms */
	bool stuck;    /* said that it cannot be set aside */
};

struct kept {
	struct kept_file *v;
	size_t len, cap;
};

static struct kept_file *kept_find(struct kept *k, const char *path)
{
	size_t i;

	for (i = 0; i < k->len; i++)
		if (strcmp(k->v[i].path, path) == 0)
			return &k->v[i];
	return NULL;
}

/* path kept since now; NULL when out of memory (then said again next
 * round). */
static struct kept_file *kept_add(struct kept *k, const char *path, int64_t now)
{
	struct kept_file *kf;

	if (k->len == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 8;
		struct kept_file *v = realloc(k->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		k->v = v;
		k->cap = cap;
	}
	kf = &k->v[k->len];
	memset(kf, 0, sizeof(*kf));
	if (!(kf->path = strdup(path)))
		return NULL;
	kf->since = now;
	k->len++;
	return kf;
}

static void kept_drop(struct kept *k, const char *path)
{
	struct kept_file *kf = kept_find(k, path);

	if (!kf)
		return;
	free(kf->path);
	*kf = k->v[--k->len];
}

/* When the newest of the kept files first failed; 0 when none. */
static int64_t kept_newest(const struct kept *k)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < k->len; i++)
		if (k->v[i].since > n)
			n = k->v[i].since;
	return n;
}

static void kept_dispose(struct kept *k)
{
	while (k->len)
		free(k->v[--k->len].path);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

/* Since when a kept spool file (st) counts as failing: the first failure
 * a poller saw (since), or its last change when later. Not its age alone:
 * a file no poller tried for days gets a full poll.give_up_after of tries
 * before it is set aside, on a failure that may pass in a minute. */
static int64_t failing_since(int64_t since, const struct stat *st)
{
	int64_t m = (int64_t)st->st_mtime * 1000;

	return m > since ? m : since;
}

/* Move spool file path to failed/ in its directory, out of every later
 * round, and say why (what went wrong, then what the poller did). Kept
 * where it is when it cannot be moved: nothing a push does is lost; said
 * once per poller (k), tried again each round. */
static void set_aside(struct kept *k, const char *path, const char *why,
		      const char *when)
{
	const char *slash = strrchr(path, '/');
	struct kept_file *kf;
	char dst[PATH_MAX + 16], fail[PATH_MAX + 320];
	int n;

	n = snprintf(dst, sizeof(dst), "%.*s/failed", (int)(slash - path),
		     path);
	if (n < 0 || (size_t)n >= sizeof(dst) - strlen(slash) ||
	    zh_spool_mkdir(dst) != 0) {
		snprintf(fail, sizeof(fail), "cannot set it aside in '%s': %s",
			 dst, strerror(errno));
	} else {
		snprintf(dst + n, sizeof(dst) - (size_t)n, "%s", slash);
		if (rename(path, dst) == 0) {
			log_f("%s; %sset aside as '%s'", why, when, dst);
			kept_drop(k, path);
			return;
		}
		snprintf(fail, sizeof(fail), "cannot set it aside as '%s': %s",
			 dst, strerror(errno));
	}
	if (!(kf = kept_find(k, path)))
		kf = kept_add(k, path, zh_store_now_ms());
	if (kf && kf->stuck)
		return;
	log_f("%s; %s%s; kept", why, when, fail);
	if (kf)
		kf->stuck = true;
}

/* Whether a failure to read a spooled push can pass with time (I/O, an
 * object not found yet or gone in a gc, out of memory, a busy store): a
 * malformed or oversized one (a tag of a tree or a blob, a tree nested
 * deeper than 2048 levels, a path too long) reads the same every round. */
static bool may_pass(int code)
{
	return code != ZH_EINVALID && code != ZH_ETOOBIG;
}

/* One update of a spooled push read from the repository
 * (zh_hook_event_read) into *fe. Returns 0, *fe NULL when it cannot fire
 * (logged: one that can never be read says so as the sync hook does), or
 * -1 when it cannot be read now (why says so, when still empty). */
static int spooled_update(struct zh_flow_event **fe, struct zh_flow *g,
			  struct zh_repo *r, const char *name, const char *line,
			  bool skip, char *why, size_t why_size)
{
	struct zh_ref_update u = {0};
	struct zh_error e = {0};
	int rc = 0;

	*fe = NULL;
	if (zh_flow_parse_update(&u, line, strlen(line), &e) < 0) {
		log_f("%s: ignoring a malformed update line: %s", name, e.msg);
		goto out;
	}
	if (!zh_flow_update_may_fire(&u))
		goto out;
	if (!zh_mapping_may_fire_ref(g->cfg, name, u.ref)) {
		/* the configuration changed since the push was queued */
		log_f("%s %s %.12s: no rule matches", name, u.ref, u.new_hex);
		goto out;
	}
	if (zh_hook_event_read(fe, g->cfg, r, &u, skip, &e) == 0)
		goto out;
	if (!may_pass(e.code)) {
		log_f("%s %s %.12s: cannot read the push: %s; nothing "
		      "triggered",
		      name, u.ref, u.new_hex, e.msg);
		goto out;
	}
	rc = -1;
	if (!*why)
		snprintf(why, why_size,
			 "queued push of %s %s: cannot read it: %s", name,
			 u.ref, e.msg);
out:
	zh_ref_update_dispose(&u);
	return rc;
}

/* Keep in spool file path, a push p kept for a later round, only the
 * updates left: those recorded (or that fire nothing) are not read and
 * recorded again each round, nor sent again once state_keep has
 * forgotten them. Said when it fails, unless again. */
static void keep_left(const char *path, const struct zh_spool_push *p,
		      char **left, size_t nleft, bool again)
{
	struct zh_spool_push q = *p;
	struct zh_error e = {0};

	if (nleft == p->nupdates)
		return;
	q.updates = left;
	q.nupdates = nleft;
	if (zh_spool_rewrite(path, &q, &e) < 0 && !again)
		log_f("%s; its recorded updates stay in it (taken once)",
		      e.msg);
}

/* Record the fired rules of the updates of a spooled push in one
 * transaction (as the hook does at push time) and log what became of
 * each; again (a push kept from an earlier round), only what is new.
 * Returns 0, or a negative ZH_E* code (the file is kept and read again
 * later). */
static int record_spooled(struct zh_flow *g, const char *name,
			  struct zh_flow_event **fes, size_t n, bool again)
{
	const struct zh_event **evs = NULL;
	struct zh_flow_recorded_list *rls = NULL;
	struct zh_error e = {0};
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	if (!(evs = calloc(n, sizeof(*evs))) ||
	    !(rls = calloc(n, sizeof(*rls)))) {
		free(evs);
		log_f("%s: out of memory; the push stays queued", name);
		return ZH_ENOMEM;
	}
	for (i = 0; i < n; i++)
		evs[i] = &fes[i]->ev;
	if ((rc = zh_flow_record_many(rls, g, evs, n, 0, &e)) < 0)
		log_f("%s %s%s: %s", name, fes[0]->ref,
		      n > 1 ? " and the push's other refs" : "", e.msg);
	for (i = 0; rc == 0 && i < n; i++) {
		const struct zh_flow_recorded_list *rl = &rls[i];
		size_t j;

		if (again && (rl->len == 0 || rl->items[0].existed)) {
			free(rl->items);
			continue;
		}
		for (j = 0; j < rl->len; j++)
			if (rl->items[j].error[0])
				log_f("%s %s %.12s: %s: %s; not triggered",
				      name, fes[i]->ref, fes[i]->after,
				      rl->items[j].rule, rl->items[j].error);
		if (rl->len == 0)
			log_f("%s %s %.12s: no rule fired", name, fes[i]->ref,
			      fes[i]->after);
		else
			log_f("%s %s %.12s: %zu rule(s) fired, first %s "
			      "(%s)%s",
			      name, fes[i]->ref, fes[i]->after, rl->len,
			      rl->items[0].rule, rl->items[0].workflow,
			      rl->items[0].existed ? ", already recorded" : "");
		free(rl->items);
	}
	free(rls);
	free(evs);
	return rc;
}

/* One spooled push: record its triggers, then delete the file. A file
 * that is no spool file is set aside (spool/failed/); one that cannot be
 * taken now (the repository or a commit cannot be read, the store fails,
 * out of memory: it may pass) stays for the next round, said once, and
 * is set aside once it has failed for poll.give_up_after (failing_since);
 * it holds only the updates not recorded yet (keep_left). An update that
 * can never be read (may_pass) fires nothing and keeps no file. */
static void take_spooled(struct zh_flow *f, const char *path, struct kept *k)
{
	struct zh_spool_push p;
	struct zh_config *own = NULL;
	struct zh_repo *r = NULL;
	struct zh_error e = {0};
	struct zh_flow g;
	struct zh_flow_event **fes = NULL;
	struct stat st;
	char *name = NULL, why[1024] = "", other[PATH_MAX];
	char **left = NULL, **got = NULL; /* p's updates, borrowed */
	struct kept_file *kf = kept_find(k, path);
	bool again = kf != NULL, skip;
	int64_t now, since;
	size_t i, nfes = 0, nleft = 0;

	if (zh_spool_read(&p, path, &e) < 0) {
		if (e.code == ZH_EINVALID)
			set_aside(k, path, e.msg, "");
		else if (e.code == ZH_ENOTFOUND)
			kept_drop(k, path);
		else
			snprintf(why, sizeof(why), "%s", e.msg);
		if (e.code == ZH_EINVALID || e.code == ZH_ENOTFOUND)
			return;
		goto out;
	}
	if (zh_repo_open(&r, p.git_dir, false, &e) < 0) {
		snprintf(why, sizeof(why), "queued push of '%s': %s", p.git_dir,
			 e.msg);
		goto out;
	}
	/* the config the hook used (another repository's hook may have
	 * spooled into a shared state_dir); ours when it no longer loads */
	memset(&g, 0, sizeof(g));
	g = *f;
	g.zadig = NULL;
	if (p.config && zh_hook_load_config(&own, r, p.config, &e) == 0)
		g.cfg = own;
	else if (p.config && !again)
		log_f("%s; using the poller's configuration", e.msg);
	if (zh_repo_name(&name, r, g.cfg->hook.repo_root, &e) < 0) {
		if (may_pass(e.code))
			snprintf(why, sizeof(why), "queued push of '%s': %s",
				 p.git_dir, e.msg);
		else
			log_f("queued push of '%s': cannot read the push: %s; "
			      "nothing triggered",
			      p.git_dir, e.msg);
		goto out;
	}
	if (zh_hook_record_git_dir(f->store, name, zh_repo_git_dir(r), other,
				   sizeof(other)))
		log_f("%s: %s is named '%s' too, in this state_dir: their "
		      "pushes of one commit count as one and their notes go "
		      "astray; set hook.repo_root so that names differ, or "
		      "give each its own state_dir",
		      zh_repo_git_dir(r), other, name);
	if (p.nupdates && !(fes = calloc(p.nupdates, sizeof(*fes)))) {
		snprintf(why, sizeof(why), "queued push of %s: out of memory",
			 name);
		goto out;
	}
	if (p.nupdates && (!(left = calloc(p.nupdates, sizeof(*left))) ||
			   !(got = calloc(p.nupdates, sizeof(*got))))) {
		snprintf(why, sizeof(why), "queued push of %s: out of memory",
			 name);
		goto out;
	}
	skip = zh_hook_skip_option((const char *const *)p.options, p.noptions);
	for (i = 0; i < p.nupdates; i++) {
		if (spooled_update(&fes[nfes], &g, r, name, p.updates[i], skip,
				   why, sizeof(why)) < 0)
			left[nleft++] = p.updates[i];
		else if (fes[nfes])
			got[nfes++] = p.updates[i];
	}
	/* what could be read is recorded now; the rest next round */
	if (record_spooled(&g, name, fes, nfes, again) < 0) {
		if (!why[0])
			snprintf(why, sizeof(why),
				 "queued push of %s: the store did not take it",
				 name);
		for (i = 0; i < nfes; i++)
			left[nleft++] = got[i];
	}
	if (why[0])
		keep_left(path, &p, left, nleft, again);
out:
	for (i = 0; i < nfes; i++)
		zh_hook_event_free(fes[i]);
	free(fes);
	free(left);
	free(got);
	now = zh_store_now_ms();
	since = kf ? kf->since : now;
	if (!why[0]) {
		unlink(path);
		kept_drop(k, path);
	} else if (stat(path, &st) == 0 && now - failing_since(since, &st) >
					       f->cfg->poll.give_up_after_ms) {
		set_aside(k, path, why,
			  "still failing after poll.give_up_after: ");
	} else if (!again) {
		log_f("%s; kept, tried again each round for "
		      "poll.give_up_after",
		      why);
		kept_add(k, path, now);
	}
	free(name);
	zh_config_free(own);
	zh_repo_free(r);
	zh_spool_push_dispose(&p);
}

static void take_spool(struct zh_flow *f, const char *state, struct kept *k)
{
	struct zh_error e = {0};
	char **paths = NULL;
	size_t i, j, n = 0;

	if (zh_spool_list(&paths, &n, state, &e) < 0) {
		log_line(NULL, e.msg);
		return;
	}
	/* a kept file gone meanwhile (taken by another poller, moved by
	 * hand) keeps this poller up no longer */
	for (i = k->len; i-- > 0;) {
		for (j = 0; j < n && strcmp(paths[j], k->v[i].path) != 0; j++)
			;
		if (j == n) {
			free(k->v[i].path);
			k->v[i] = k->v[--k->len];
		}
	}
	for (i = 0; i < n; i++) {
		take_spooled(f, paths[i], k);
		free(paths[i]);
	}
	free(paths);
}

static int64_t spool_mtime(const char *state)
{
	char *dir = zh_spool_dir(state);
	struct stat st;
	int64_t m = 0;

	if (dir && stat(dir, &st) == 0)
		m = (int64_t)st.st_mtim.tv_sec * 1000000000 +
		    st.st_mtim.tv_nsec;
	free(dir);
	return m;
}

/* Whether a step of a round failed (rc < 0), logging why. */
static bool step_failed(int rc, const struct zh_error *e)
{
	if (rc < 0)
		log_line(NULL, e->msg);
	return rc < 0;
}

/* What work_left found pending: the store's schedule (a trigger or task)
 * or a spooled push, and unwritten notes. */
enum { WORK_SCHEDULE = 1, WORK_NOTES = 2 };

/* Whether the poller has work left (1), and when its next round is due
 * (*at): a trigger or task pending in the store, a push in the spool (a
 * kept one counts from its first failure, k), or a note not yet written
 * (unwritten_notes), recorded or changed less than
 * poll.give_up_after + poll.max_interval ago (*newest: the newest work
 * seen, for when the store cannot be read; start bounds that case if it
 * never could). *what tells which kinds are pending. Notes are written
 * again after *notes_wait, which doubles from poll.interval to
 * poll.max_interval while they stay unwritten. 0: nothing is pending.
 * -1: only older work, which is a trigger Zadig never took (tasks are
 * given up by then) or a note that could not be written, left to the
 * next push's poller or `git zadig sync`. */
static int work_left(int64_t *at, int64_t *newest, int *what,
		     int64_t *notes_wait, struct zh_flow *f, const char *state,
		     const struct kept *k, int64_t start)
{
	const struct zh_config *cfg = f->cfg;
	struct zh_error e = {0};
	int64_t now = zh_store_now_ms(), n = 0, changed = 0;
	int rc = zh_store_next_wakeup(at, &n, f->store, &e);

	*what = rc == 0 ? WORK_SCHEDULE : 0;
	if (rc < 0 && rc != ZH_ENOTFOUND) {
		log_line(NULL, e.msg);
		*at = now + cfg->poll.interval_ms;
		n = *newest > start ? *newest : start;
		*what = WORK_SCHEDULE;
	} else {
		if (unwritten_notes(&changed, f, &e) < 0) {
			log_line(NULL, e.msg);
			changed = *newest > start ? *newest : start;
		}
		if (changed) {
			if (n < changed)
				n = changed;
			if (rc == ZH_ENOTFOUND || *at > now + *notes_wait)
				*at = now + *notes_wait;
			*notes_wait =
			    *notes_wait * 2 < cfg->poll.max_interval_ms
				? *notes_wait * 2
				: cfg->poll.max_interval_ms;
			*what |= WORK_NOTES;
			rc = 0;
		} else {
			*notes_wait = cfg->poll.interval_ms;
		}
		if (zh_spool_pending(state)) {
			/* a push the store did not take: try again later */
			int64_t spooled = spool_mtime(state) / 1000000;

			if (n < spooled)
				n = spooled;
			if (n < kept_newest(k))
				n = kept_newest(k);
			if (rc == ZH_ENOTFOUND)
				*at = now + cfg->poll.interval_ms;
			*what |= WORK_SCHEDULE;
			rc = 0;
		}
		if (rc == ZH_ENOTFOUND)
			return 0;
		if (*newest < n)
			*newest = n;
	}
	return now < n + cfg->poll.give_up_after_ms + cfg->poll.max_interval_ms
		   ? 1
		   : -1;
}

/* Sleep until at, but wake when a hook spools a push (the spool
 * directory changes). */
static void wait_until(int64_t at, const char *state)
{
	/* measured on the monotonic clock: a wall clock set back meanwhile
	 * (NTP fixing a fast one) does not stretch the wait by the step */
	int64_t now, m = spool_mtime(state);
	int64_t end = mono_ms() + (at - zh_store_now_ms());

	while ((now = mono_ms()) < end) {
		sleep_ms(end - now < 100 ? end - now : 100);
		if (spool_mtime(state) != m)
			return;
	}
}

/* This poller's program file into self, without the " (deleted)" the
 * kernel adds once it was replaced or removed (an upgrade); whether it
 * was. -1: unknown. */
static int self_deleted(char *self, size_t size)
{
	const char *deleted = " (deleted)";
	size_t n, d = strlen(deleted);

	if (zh_hook_self(self, size) < 0)
		return -1;
	n = strlen(self);
	if (n <= d || strcmp(self + n - d, deleted) != 0)
		return 0;
	self[n - d] = '\0';
	return 1;
}

/* Whether path names a program that is not this poller's (another inode
 * than /proc/self/exe) and can be run. */
static bool other_program(const char *path)
{
	struct stat a, b;

	return stat(path, &a) == 0 && stat("/proc/self/exe", &b) == 0 &&
	       (a.st_dev != b.st_dev || a.st_ino != b.st_ino) &&
	       S_ISREG(a.st_mode) && access(path, X_OK) == 0;
}

/* Whether the program the hooks run was upgraded since this poller
 * started (logged): run_by (the path the hook ran zadig-hook by, often a
 * link that an upgrade points at the next release; this poller's own file
 * when empty) names another program, which *next gets, for the caller to
 * start once it let go of the lock; or nothing can be run there and this
 * poller's own file was removed (*next empty): exiting is all that is
 * left. */
static bool upgraded(char *next, size_t size, const char *run_by)
{
	char self[PATH_MAX], now[PATH_MAX];
	const char *path;
	int deleted = self_deleted(self, sizeof(self));

	if (deleted < 0)
		return false;
	path = run_by && run_by[0] ? run_by : self;
	if (other_program(path)) {
		snprintf(next, size, "%s", path);
		if (!realpath(path, now))
			snprintf(now, sizeof(now), "%s", path);
		/* a file put where this poller's was, or a link moved */
		if (strcmp(path, self) == 0 || strcmp(now, self) == 0)
			log_f("'%s' was replaced since this poller started: "
			      "the new one takes over",
			      path);
		else
			log_f("'%s' is '%s' now, no longer this poller's "
			      "'%s': the new one takes over",
			      path, now, self);
		return true;
	}
	if (!deleted)
		return false;
	log_f("'%s' was removed since this poller started: exiting; the "
	      "next push or 'git zadig sync' goes on with the work",
	      path);
	return true;
}

/* Between rounds: whether a newer zadig-hook should go on with the work
 * (upgraded, which fills next; or a newer zadig-hook changed the store's
 * schema, which this one may misread: the next push or `git zadig sync`
 * starts the new one's poller). Logged. */
static bool give_way(char *next, size_t size, const char *run_by,
		     struct zh_store *store)
{
	struct zh_error e = {0};
	int v;

	next[0] = '\0';
	if (upgraded(next, size, run_by))
		return true;
	if (zh_store_schema_version(&v, store, &e) == 0 &&
	    v > ZH_STORE_SCHEMA_VERSION) {
		log_f("state store '%s' has schema version %d, newer than this "
		      "poller knows (%d): exiting; the next push or 'git zadig "
		      "sync' starts the new zadig-hook's",
		      zh_store_path(store), v, ZH_STORE_SCHEMA_VERSION);
		return true;
	}
	return false;
}

/* Whether r's git directory is no longer where it was opened. */
static bool repo_gone(const struct zh_repo *r)
{
	char head[PATH_MAX + 8];

	snprintf(head, sizeof(head), "%s/HEAD", zh_repo_git_dir(r));
	return access(head, F_OK) != 0 && errno == ENOENT;
}

int zh_hook_poll(const char *git_dir, const char *config, const char *run_by,
		 pid_t after, bool spool_only, struct zh_error *err)
{
	struct zh_config *cfg = NULL;
	struct zh_store *store = NULL;
	struct zh_repo *r = NULL;
	struct zh_flow f;
	char *state = NULL, *name = NULL;
	int64_t start = zh_store_now_ms(), newest = 0;
	int64_t notes_wait = 0;
	int lock = -1, rc, rounds = 0, what = 0, shared = 0;
	char said[512] = ""; /* the last config error logged */
	struct kept kept = {0};
	char moved[PATH_MAX] = ""; /* the last other state_dir logged */
	char next[PATH_MAX] = "";  /* a new zadig-hook to hand over to */

	memset(&f, 0, sizeof(f));
	/* started by a hook: let its push end first */
	if (after > 1 && kill(after, 0) == 0)
		zh_hook_wait_gone(after, 1000);
	if ((rc = zh_repo_open(&r, git_dir ? git_dir : ".", !git_dir, err)) <
		0 ||
	    (rc = zh_hook_load_config(&cfg, r, config, err)) < 0 ||
	    (rc = zh_repo_name(&name, r, cfg->hook.repo_root, err)) < 0)
		goto out;
	if (!(state = zh_flow_state_dir(cfg, r))) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	shared = zh_flow_state_shared(cfg, r);
	/* a hook or git zadig made the store before it started this poller:
	 * one gone since was removed (uninstall --purge), not to be made
	 * anew */
	if (access(state, F_OK) != 0 && errno == ENOENT)
		goto out;
	if ((rc = zh_store_open_shared(&store, state, shared, err)) < 0)
		goto out;
	rc = zh_store_lock_poller(&lock, state, shared, err);
	if (rc == ZH_STORE_LOCK_HELD) {
		rc = 0; /* another poller is at work */
		goto out;
	}
	if (rc < 0)
		goto out;
	f.cfg = cfg;
	f.store = store;
	f.repo = r;
	f.repo_name = name;
	f.log = log_line;
	notes_wait = cfg->poll.interval_ms;
	log_to(state, shared);
	for (;;) {
		struct zh_error e = {0};
		int64_t at, now;
		bool failed;
		int left;

		if (rounds++ && give_way(next, sizeof(next), run_by, store))
			break;
		if (rounds > 1)
			reload(&cfg, &f, r, config, state, said, sizeof(said),
			       moved, sizeof(moved));
		if (f.repo && repo_gone(r)) {
			const char *gd = zh_repo_git_dir(r);

			/* moved or deleted: its notes cannot be written here.
			 * A store that went with it is no longer where the next
			 * push's poller looks, and while we hold its lock none
			 * would start there: stop */
			if (strncmp(state, gd, strlen(gd)) == 0) {
				log_f("%s is gone (moved or deleted): this "
				      "poller stops; the next push there (or "
				      "'git zadig sync') goes on with its work",
				      gd);
				break;
			}
			/* a store of several repositories: go on with the
			 * others, and with its notes wherever a push of it
			 * records it next (open_other, as for the others) */
			log_f("%s is gone (moved or deleted): its notes are "
			      "written again once a push records where it is",
			      gd);
			f.repo = NULL;
			f.repo_name = "";
		}
		take_spool(&f, state, &kept);
		if (spool_only)
			break;
		/* every step, whatever became of the one before: the notes
		 * of what was done are written even when a step failed */
		failed =
		    step_failed(zh_flow_deliver_due(NULL, &f, false, &e), &e);
		failed |= step_failed(
		    zh_flow_poll(NULL, &f, ZH_STORE_TASKS_DUE, &e), &e);
		failed |= step_failed(zh_flow_write_notes(NULL, &f, &e), &e);
		failed |= step_failed(
		    zh_flow_prune(NULL, &f, zh_store_now_ms(), &e), &e);
		note_others(&f);
		if (work_left(&at, &newest, &what, &notes_wait, &f, state,
			      &kept, start) <= 0) {
			/* done. A hook that recorded or spooled a push since
			 * our last look, and whose own poller found the lock
			 * still held, left its work to us: look again once the
			 * lock is free, and take it back if there is some (or
			 * leave it to whoever took the lock meanwhile) */
			zh_store_unlock_poller(lock);
			lock = -1;
			left = work_left(&at, &newest, &what, &notes_wait, &f,
					 state, &kept, start);
			if (left < 0)
				log_f("exiting: nothing newer than "
				      "poll.give_up_after is pending; %s wait "
				      "for the next push or 'git zadig sync'",
				      what == WORK_NOTES ? "the unwritten notes"
				      : what & WORK_NOTES
					  ? "the queued triggers and the "
					    "unwritten notes"
					  : "the queued triggers");
			if (left <= 0 ||
			    zh_store_lock_poller(&lock, state, shared, &e) != 0)
				break;
			continue;
		}
		now = zh_store_now_ms();
		/* what failed (the store) may not have moved its due time:
		 * a round straight after would do the same again, at once */
		if (failed && at < now + cfg->poll.interval_ms)
			at = now + cfg->poll.interval_ms;
		if (at > now + cfg->poll.max_interval_ms)
			at = now + cfg->poll.max_interval_ms;
		wait_until(at, state);
	}
out:
	if (lock >= 0)
		zh_store_unlock_poller(lock);
	/* after the lock: the new poller takes it */
	if (next[0])
		zh_hook_spawn_detached(next, next, zh_repo_git_dir(r), config,
				       state, shared, 0);
	kept_dispose(&kept);
	zh_flow_dispose(&f);
	zh_store_free(store);
	free(state);
	free(name);
	zh_config_free(cfg);
	zh_repo_free(r);
	return rc;
}

void zh_hook_spawn_poller(const char *git_dir, const char *config,
			  const char *state_dir, int shared, const char *argv0)
{
	char self[PATH_MAX], run_by[PATH_MAX];

	if (zh_hook_self(self, sizeof(self)) < 0)
		return;
	if (zh_hook_run_by(run_by, sizeof(run_by), argv0) < 0)
		snprintf(run_by, sizeof(run_by), "%s", self);
	zh_hook_spawn_detached(self, run_by, git_dir, config, state_dir, shared,
			       getppid());
}
