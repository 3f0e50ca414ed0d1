/* zadig-hook poll: the detached poller. One per state store (a lock);
 * delivers queued triggers, polls unfinished tasks, writes notes, and
 * exits when nothing is pending. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flow/deliver.h"
#include "flow/flow.h"
#include "flow/report.h"
#include "hook/hook.h"
#include "store/store.h"
#include "util/banned.h"

static void log_line(void *ctx, const char *line)
{
	char ts[32];
	struct tm tm;
	time_t now = time(NULL);

	(void)ctx;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s zadig-hook poll[%d]: %s\n", ts, (int)getpid(),
		line);
	fflush(stderr);
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
 * the work to it, so a fixed URL or token file must reach it. The old
 * config stays when the new one does not load (said once) or names
 * another state directory (whose lock this poller does not hold). */
static void reload(struct zh_config **cfg, struct zh_flow *f, struct zh_repo *r,
		   const char *config, const char *state, char *said,
		   size_t said_size)
{
	struct zh_config *n = NULL;
	struct zh_error e = {0};
	char *s = NULL;

	if (zh_hook_load_config(&n, r, config, &e) < 0) {
		if (strcmp(said, e.msg) != 0) {
			snprintf(said, said_size, "%s", e.msg);
			log_line(NULL, e.msg);
		}
		return;
	}
	said[0] = '\0';
	if (!(s = zh_flow_state_dir(n, r)) || strcmp(s, state) != 0) {
		free(s);
		zh_config_free(n);
		return;
	}
	free(s);
	zh_flow_dispose(f); /* its client was made from the old config */
	zh_config_free(*cfg);
	*cfg = n;
	f->cfg = n;
}

/* With a state_dir shared by several repositories there is one poller
 * (the lock is per store) and it polls the tasks of all of them: write
 * the notes of the others too, into the git directory their hook
 * recorded ("git_dir:<repo>", see zadig-hook.c). */
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
		char key[1024], *dir = NULL, *real = NULL;

		for (j = 0; j < i && strcmp(cl.items[j].repo, name) != 0; j++)
			;
		if (j < i || strcmp(name, f->repo_name) == 0 ||
		    (size_t)snprintf(key, sizeof(key), "git_dir:%s", name) >=
			sizeof(key) ||
		    zh_store_meta_get(&dir, f->store, key, NULL) < 0 || !dir)
			goto next; /* once per repository; ours is done */
		/* the directory must still hold that repository */
		if (zh_repo_open(&r, dir, false, &e) < 0 ||
		    zh_repo_name(&real, r, f->cfg->hook.repo_root, &e) < 0 ||
		    strcmp(real, name) != 0)
			goto next;
		memset(&o, 0, sizeof(o));
		o.cfg = f->cfg;
		o.store = f->store;
		o.repo = r;
		o.repo_name = name;
		o.log = f->log;
		if (zh_flow_write_notes(NULL, &o, &e) < 0)
			log_line(NULL, e.msg);
	next:
		free(real);
		free(dir);
		zh_repo_free(r);
	}
	zh_store_commit_list_dispose(&cl);
}

int zh_hook_poll(const char *git_dir, const char *config,
		 struct zh_error *err)
{
	struct zh_config *cfg = NULL;
	struct zh_store *store = NULL;
	struct zh_repo *r = NULL;
	struct zh_flow f;
	char *state = NULL, *name = NULL;
	int64_t start = zh_store_now_ms(), limit;
	int lock = -1, rc, rounds = 0;
	char said[512] = ""; /* the last config error logged */

	memset(&f, 0, sizeof(f));
	if ((rc = zh_repo_open(&r, git_dir ? git_dir : ".", !git_dir, err)) <
		    0 ||
	    (rc = zh_hook_load_config(&cfg, r, config, err)) < 0 ||
	    (rc = zh_repo_name(&name, r, cfg->hook.repo_root, err)) < 0)
		goto out;
	if (!(state = zh_flow_state_dir(cfg, r))) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = zh_store_open(&store, state, err)) < 0)
		goto out;
	rc = zh_store_lock_poller(&lock, state, err);
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
	/* a bound, whatever happens: give_up_after marks tasks unknown */
	limit = start + cfg->poll.give_up_after_ms + cfg->poll.max_interval_ms;
	for (;;) {
		struct zh_error e = {0};
		int64_t at, now;

		if (rounds++)
			reload(&cfg, &f, r, config, state, said, sizeof(said));
		if (zh_flow_deliver_due(NULL, &f, false, &e) < 0 ||
		    zh_flow_poll(NULL, &f, ZH_STORE_TASKS_DUE, &e) < 0 ||
		    zh_flow_write_notes(NULL, &f, &e) < 0)
			log_line(NULL, e.msg);
		note_others(&f);
		rc = zh_store_next_wakeup(&at, store, &e);
		if (rc == ZH_ENOTFOUND) {
			rc = 0;
			break; /* nothing pending: done */
		}
		now = zh_store_now_ms();
		if (rc < 0) {
			log_line(NULL, e.msg);
			at = now + cfg->poll.interval_ms;
		}
		if (now >= limit)
			break;
		if (at > now + cfg->poll.max_interval_ms)
			at = now + cfg->poll.max_interval_ms;
		sleep_ms(at - now);
	}
out:
	if (lock >= 0)
		zh_store_unlock_poller(lock);
	zh_flow_dispose(&f);
	zh_store_free(store);
	free(state);
	free(name);
	zh_config_free(cfg);
	zh_repo_free(r);
	return rc;
}

void zh_hook_spawn_poller(const char *git_dir, const char *config,
			  const char *state_dir)
{
	char self[PATH_MAX], log[PATH_MAX + 32];
	const char *argv[8];
	ssize_t n;
	pid_t pid;
	int i = 0, fd;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	snprintf(log, sizeof(log), "%s/poller.log", state_dir);
	argv[i++] = "zadig-hook";
	argv[i++] = "poll";
	argv[i++] = "--git-dir";
	argv[i++] = git_dir;
	if (config) {
		argv[i++] = "--config";
		argv[i++] = config;
	}
	argv[i] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return;
	if (pid > 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return;
	}
	/* the middle child: new session, then let go of the grandchild so
	 * that git (waiting on our stdout/stderr) returns at once */
	if (setsid() < 0 || fork() != 0)
		_exit(0);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
	}
	/* the log goes where the state lives; /dev/null when it cannot */
	i = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	dup2(i >= 0 ? i : fd, 2);
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	execv(self, (char *const *)argv);
	_exit(127);
}
