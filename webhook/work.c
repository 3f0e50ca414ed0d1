/* The receiver's workers (design.md §6, §8): claim stored events, read
 * the pushed commits (local repository, mirror, or the payload), record
 * the fired rules and deliver them; worker 0 also runs the periodic round
 * that retries queued triggers, polls running tasks and writes the notes.
 * Each worker has its own struct zh_flow: the Zadig client is not
 * thread-safe, the store is. */
#include "webhook/webhook.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "flow/deliver.h"
#include "flow/flow.h"
#include "flow/report.h"
#include "gitrepo/gitrepo.h"
#include "gitrepo/mirror.h"
#include "gitrepo/notes_push.h"
#include "mapping/mapping.h"
#include "util/buf.h"
#include "webhook/gitlab.h"

#include "util/banned.h"

/* Tries to read the commits from the repository (a mirror may lag behind
 * GitLab for a moment) before the payload's commit list is used. */
#define REPO_ATTEMPTS 5
/* Done events are kept this long: their keys deduplicate redeliveries. */
#define EVENT_KEEP_MS (30LL * 24 * 3600 * 1000)
#define PRUNE_EVERY_MS (3600LL * 1000)
/* the same poll failure is logged again after this long at the earliest */
#define REPEAT_LOG_MS (60LL * 1000)
/* A notes push that failed is tried again after 1 s, doubling up to
 * this. */
#define PUSH_RETRY_MAX_MS (120LL * 1000)

/* Events claimed in one transaction at most, and their results recorded
 * in one: under load a claim and a result cost a fraction of a
 * transaction each instead of one each. */
#define CLAIM_MAX 32
/* A worker woken for new events waits this long before claiming them:
 * under load the next batch fills meanwhile, and each claim and result
 * transaction (a WAL append and a flush each) serves many events instead
 * of the one or two committed since the last claim. */
#define LINGER_MS 10
/* A fork's "<path>:<branch>" in a log line, cut to this (zh_wh_log
 * takes 2 KiB a line) */
#define LOG_REF_MAX 1024

/* A repository whose notes changed and are not pushed yet (notes.push),
 * and the commit its notes ref pointed at after we last wrote or pushed
 * it ("" unknown): what another process that fetches into the repository
 * with --prune may take away before the push goes through (put_back). */
struct push_due {
	char *repo;
	int64_t next_ms;
	unsigned fails;
	char ours[41]; /* a SHA-1 id in hex */
};

/* A failure last logged: the same one again only every REPEAT_LOG_MS,
 * with how many times it came meanwhile (a full disk, a moved repository:
 * every round; the log must not flood). */
struct repeat_log {
	char msg[sizeof(((struct zh_error *)0)->msg)];
	int64_t ms;
	unsigned repeats;
};

/* The notes failure last logged for a repository. */
struct note_err {
	char *repo;
	struct repeat_log last;
};

struct zh_wh_worker {
	struct zh_webhook *w;
	size_t index;
	pthread_t thread;
	bool started;
	struct zh_flow flow;
	const struct zh_wh_conf
	    *flow_conf; /* the config flow's client is for */
	/* worker 0: notes to push, and repositories without an origin or
	 * whose name cannot name a mirror (each logged once) */
	struct push_due *pushes;
	size_t npushes;
	char **no_origin, **no_mirror, **no_repo;
	size_t nno_origin, nno_mirror, nno_repo;
	/* worker 0: per repository, the notes failure last logged */
	struct note_err *note_errs;
	size_t nnote_errs;
	/* the results of the claimed batch, recorded together (flush_done) */
	struct zh_store_event_result done[CLAIM_MAX];
	const char *done_key[CLAIM_MAX];
	size_t ndone;
	/* the batch's log lines, written together (zh_wh_log_hold) */
	char log[16 * 1024];
	/* the last poll error */
	struct repeat_log poll_err;
};

int64_t zh_wh_event_lease_ms(const struct zh_config *cfg)
{
	int64_t l = 4 * cfg->zadig.timeout_ms;

	if (l < 10000)
		l = 10000;
	if (l > 120000)
		l = 120000;
	return l;
}

static void flow_log(void *ctx, const char *line)
{
	(void)ctx;
	zh_wh_log("%s", line);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Point the worker's flow at conf; a new config gets a new client. */
static void bind_conf(struct zh_wh_worker *k, const struct zh_wh_conf *conf)
{
	if (k->flow_conf != conf) {
		zh_flow_dispose(&k->flow);
		k->flow_conf = conf;
	}
	k->flow.cfg = conf->cfg;
	k->flow.store = k->w->store;
	k->flow.log = flow_log;
	k->flow.log_ctx = k;
	k->flow.deadline_ms = 0;
	/* the file is read at load, and again once it changes
	 * (token_file_changed) */
	k->flow.token_fix = conf->cfg->zadig.token_file
				? "; zadig-webhook reads zadig.token_file "
				  "again when it changes (or on SIGHUP)"
				: NULL;
	k->flow.repo = NULL;
	k->flow.repo_name = NULL;
}

static const struct zh_webhook_repo *repo_for(const struct zh_config *cfg,
					      const char *project)
{
	size_t i;

	for (i = 0; i < cfg->webhook.nrepos; i++)
		if (cfg->webhook.repos[i].project &&
		    zh_glob_match(cfg->webhook.repos[i].project, project))
			return &cfg->webhook.repos[i];
	return NULL;
}

/* The repository of wr: opened (path) or fetched and opened (url; with
 * fetch false an existing mirror is only opened). */
static int open_repo(struct zh_repo **out, struct zh_webhook *w,
		     const struct zh_webhook_repo *wr, const char *project,
		     bool fetch, struct zh_error *err)
{
	char *dir = NULL;
	int rc;

	*out = NULL;
	if (wr->path)
		return zh_repo_open(out, wr->path, false, err);
	if (!wr->url)
		return zh_error_set(err, ZH_ENOTFOUND, "no repository");
	if (fetch) {
		pthread_mutex_lock(&w->mirror_lock);
		rc = zh_repo_mirror(out, w->state_dir, project, wr->url,
				    wr->username, wr->password, err);
		pthread_mutex_unlock(&w->mirror_lock);
		return rc;
	}
	if ((rc = zh_repo_mirror_path(&dir, w->state_dir, project, err)) < 0)
		return rc;
	rc = zh_repo_open(out, dir, false, err);
	free(dir);
	return rc;
}

/* A push's kind for the rules: a tag by its ref or by GitLab's kind. */
static enum zh_event_kind push_kind(const struct zh_gitlab_event *g)
{
	return strncmp(g->ref, "refs/tags/", 10) == 0 ||
		       g->kind == ZH_GITLAB_TAG_PUSH
		   ? ZH_EVENT_TAG
		   : ZH_EVENT_PUSH;
}

/* The project merge request g comes from when it is another one (a
 * fork): its path, else its id written in buf; NULL for the project's
 * own. */
static const char *mr_fork(const struct zh_gitlab_event *g, char *buf,
			   size_t size)
{
	if (!zh_gitlab_mr_fork(g))
		return NULL;
	if (g->source_project)
		return g->source_project;
	snprintf(buf, size, "project %" PRId64, g->source_project_id);
	return buf;
}

bool zh_wh_settled(const struct zh_config *cfg, const struct zh_gitlab_event *g,
		   char *result, size_t size)
{
	struct zh_event ev = {.repo = g->project, .ref = g->ref};
	char fork[32];

	if (g->kind == ZH_GITLAB_MERGE_REQUEST) {
		if (!(strcmp(g->action, "open") == 0 ||
		      strcmp(g->action, "reopen") == 0 ||
		      (strcmp(g->action, "update") == 0 && g->oldrev))) {
			snprintf(result, size, "ignored (merge request %s)",
				 g->action);
			return true;
		}
		ev.kind = ZH_EVENT_MERGE_REQUEST;
		ev.mr_target_branch = g->target_branch;
		ev.mr_fork = mr_fork(g, fork, sizeof(fork));
	} else if (zh_oid_is_zero(g->after)) {
		return false; /* a deletion: the usual path says "deleted" */
	} else {
		ev.kind = push_kind(g);
	}
	if (zh_mapping_may_fire(cfg, &ev))
		return false;
	if (ev.mr_fork) {
		const char *from = ev.mr_fork;

		/* a rule would fire for the project's own */
		ev.mr_fork = NULL;
		if (zh_mapping_may_fire(cfg, &ev)) {
			snprintf(result, size,
				 "ignored (merge request from a fork: %s)",
				 from);
			return true;
		}
	}
	snprintf(result, size, "no rule matches");
	return true;
}

/* What g's log lines name as its ref: a push's ref, a merge request's
 * source branch, or from a fork "<its path>:<its branch>", so that a
 * fork's main does not read as the project's. In buf (size) or g. */
static const char *log_ref(const struct zh_gitlab_event *g, char *buf,
			   size_t size)
{
	char fork[32];
	const char *from;

	if (g->kind != ZH_GITLAB_MERGE_REQUEST)
		return g->ref;
	if (!(from = mr_fork(g, fork, sizeof(fork))))
		return g->source_branch;
	snprintf(buf, size, "%s:%s", from, g->source_branch);
	return buf;
}

void zh_wh_log_settled(const char *key, const struct zh_gitlab_event *g,
		       const char *result)
{
	char ref[LOG_REF_MAX];

	zh_wh_log("key=%s project=%s ref=%s rules=- result=%s", key, g->project,
		  log_ref(g, ref, sizeof(ref)), result);
}

/* ---- one GitLab event -> struct zh_event ---- */

struct built {
	struct zh_event ev;
	struct zh_flow_event fe;   /* push / tag read from a repository */
	struct zh_commit_info tip; /* merge request read from a repository */
	struct zh_paths paths;
	const char **plist; /* degraded: the payload's paths, borrowed */
	char *ref;
	char fork[32]; /* a fork's id, when its path was not sent */
	char sample[160]; /* why this is a sample event ("": it is not) */
	bool degraded;
	bool before_unknown; /* read as a new ref's (unknown_before) */
	/* then with no merge base to read from (HEAD's own branch, an
	 * unrelated history): the paths are the payload's, when it lists
	 * every commit (listed), else every path */
	bool no_base, listed;
};

static void built_dispose(struct built *b)
{
	zh_flow_event_dispose(&b->fe);
	zh_commit_info_dispose(&b->tip);
	zh_paths_dispose(&b->paths);
	free(b->plist);
	free(b->ref);
	memset(b, 0, sizeof(*b));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* b's paths: the union of every commit g lists. */
static int listed_paths(struct built *b, const struct zh_gitlab_event *g)
{
	size_t i, j, n = 0;

	b->ev.all_paths = false;
	b->ev.paths = NULL;
	b->ev.npaths = 0;
	for (i = 0; i < g->ncommits; i++)
		n += g->commits[i].npaths;
	if (!n)
		return 0;
	if (!(b->plist = calloc(n, sizeof(*b->plist))))
		return ZH_ENOMEM;
	n = 0;
	for (i = 0; i < g->ncommits; i++)
		for (j = 0; j < g->commits[i].npaths; j++)
			b->plist[n++] = g->commits[i].paths[j];
	qsort(b->plist, n, sizeof(*b->plist), cmp_str);
	for (i = j = 0; i < n; i++)
		if (!j || strcmp(b->plist[j - 1], b->plist[i]) != 0)
			b->plist[j++] = b->plist[i];
	b->ev.paths = b->plist;
	b->ev.npaths = j;
	return 0;
}

/* The payload's commit list: the tip is the listed commit whose id is
 * the new one; the paths are the union of every listed commit's, unless
 * the list is truncated, or empty for an update (then every path counts
 * as changed). A new branch or tag with no commit at all has none: GitLab
 * lists the commits the repository did not have, none for a branch made
 * at a commit it had (with a repository, its merge base is that commit,
 * or past it). */
static int from_payload(struct built *b, const struct zh_gitlab_event *g,
			const char *tip_id)
{
	const struct zh_gitlab_commit *tip = NULL;
	size_t i;

	for (i = 0; i < g->ncommits; i++)
		if (tip_id && strcmp(g->commits[i].id, tip_id) == 0)
			tip = &g->commits[i];
	b->degraded = true;
	b->ev.message = tip ? tip->message : NULL;
	b->ev.author = tip && tip->author ? tip->author : g->user_name;
	b->ev.author_email =
	    tip && tip->author_email ? tip->author_email : g->user_email;
	if (!g->ncommits && !g->total_commits && zh_oid_is_zero(g->before))
		return 0;
	if (!g->ncommits || g->total_commits > (int64_t)g->ncommits) {
		b->ev.all_paths = true;
		return 0;
	}
	return listed_paths(b, g);
}

/* The push g's before is a commit the repository r does not have
 * (unknown_before), and its after has no merge base with HEAD's branch
 * to be read from (it is on HEAD's branch, or of another history): every
 * path would count as changed. The payload's commits are what the push
 * brought (GitLab lists the commits after has and before has not): their
 * paths, when it lists them all. */
static int no_base_paths(struct built *b, const struct zh_gitlab_event *g)
{
	b->no_base = true;
	if (!g->ncommits || g->total_commits != (int64_t)g->ncommits)
		return 0;
	b->listed = true;
	return listed_paths(b, g);
}

static int mr_from_repo(struct built *b, struct zh_repo *r,
			const struct zh_gitlab_event *g, struct zh_error *err)
{
	char target[600], base[65];
	const char *old = NULL;
	int rc;

	if ((rc = zh_repo_commit(&b->tip, r, g->last_commit.id, err)) < 0)
		return rc;
	snprintf(target, sizeof(target), "refs/heads/%s", g->target_branch);
	/* the changes of the merge request: from where it forked off the
	 * target branch (else from the default branch's merge base) */
	if (zh_repo_merge_base(base, sizeof(base), r, target, b->tip.id,
			       NULL) == 0)
		old = base;
	if (old && strcmp(old, b->tip.id) == 0)
		rc = zh_repo_tree_paths(&b->paths, r, b->tip.id, err);
	else
		rc = zh_repo_changed_paths(&b->paths, r, old, b->tip.id, err);
	if (rc < 0)
		return rc;
	b->ev.message = b->tip.message;
	b->ev.author = b->tip.author;
	b->ev.author_email = b->tip.author_email;
	b->ev.paths = (const char *const *)b->paths.items;
	b->ev.npaths = b->paths.len;
	b->ev.all_paths = b->paths.all;
	return 0;
}

/* GitLab's "Test -> Tag push events" (Gitlab::DataBuilder::Push.
 * build_sample) sends ref = the newest tag, after = the default branch's
 * head and checkout_sha = the tag's commit, where a push of a tag has
 * checkout_sha = after peeled to its commit. peeled: after peeled, read
 * from the repository; NULL without one: then a sample's after is a
 * commit the payload lists, which a real tag push's never is (after is
 * the tag object, or the commit itself and so checkout_sha). Says why in
 * b->sample. */
static void tag_sample(struct built *b, const struct zh_gitlab_event *g,
		       const char *peeled)
{
	size_t i;
	bool listed = false;

	if (push_kind(g) != ZH_EVENT_TAG || !g->checkout_sha ||
	    strcmp(peeled ? peeled : g->after, g->checkout_sha) == 0)
		return;
	for (i = 0; !peeled && i < g->ncommits; i++)
		listed = listed || strcmp(g->commits[i].id, g->after) == 0;
	if (peeled || listed)
		snprintf(b->sample, sizeof(b->sample),
			 "sample event: after %.12s is not the tag's commit "
			 "%.12s, as GitLab's Test button sends",
			 g->after, g->checkout_sha);
}

/* Whether g's before is a commit r does not have while its after is
 * one r has: a force push whose old tip never reached the repository (a
 * mirror fetches what the remote's refs reach). Waiting would not bring
 * it, where a missing after is a mirror behind GitLab for a moment. */
static bool unknown_before(struct zh_repo *r, const struct zh_gitlab_event *g)
{
	struct zh_error err = {0};
	char id[65];

	return !zh_oid_is_zero(g->before) &&
	       zh_repo_resolve(id, sizeof(id), r, g->before, &err) ==
		   ZH_ENOTFOUND &&
	       zh_repo_resolve(id, sizeof(id), r, g->after, &err) == 0;
}

/* Fill b for g. r may be NULL: the payload is used. */
static int build(struct built *b, struct zh_repo *r,
		 const struct zh_gitlab_event *g, struct zh_error *err)
{
	struct zh_event *ev = &b->ev;
	int rc;

	if (g->kind == ZH_GITLAB_MERGE_REQUEST) {
		size_t n = 64;

		/* the merge request's own ref, as GitLab names it: the
		 * trigger's key, so that every merge request of a commit,
		 * and the push of its branch, get a task of their own */
		if (!(b->ref = malloc(n)))
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		snprintf(b->ref, n, "refs/merge-requests/%" PRId64 "/head",
			 g->mr_iid);
		if (r && (rc = mr_from_repo(b, r, g, err)) < 0)
			return rc;
		ev->kind = ZH_EVENT_MERGE_REQUEST;
		ev->ref = b->ref;
		ev->before = g->oldrev;
		ev->after = r ? b->tip.id : g->last_commit.id;
		ev->mr_iid = g->mr_iid;
		ev->mr_source_branch = g->source_branch;
		ev->mr_target_branch = g->target_branch;
		ev->mr_fork = mr_fork(g, b->fork, sizeof(b->fork));
		if (!r) {
			b->degraded = true;
			ev->message = g->last_commit.message;
			ev->author = g->last_commit.author
					 ? g->last_commit.author
					 : g->user_name;
			ev->author_email = g->last_commit.author_email
					       ? g->last_commit.author_email
					       : g->user_email;
			ev->all_paths = true;
		}
	} else if (r && !zh_oid_is_zero(g->after)) {
		/* then the changed paths are a new ref's, from its merge
		 * base with HEAD's branch, as the hook reads a new branch */
		b->before_unknown = unknown_before(r, g);
		if ((rc = zh_flow_event_read(&b->fe, r, NULL, g->ref,
					     b->before_unknown ? NULL
							       : g->before,
					     g->after, false, err)) < 0)
			return rc;
		/* ${BEFORE} is what GitLab said */
		snprintf(b->fe.before, sizeof(b->fe.before), "%s", g->before);
		*ev = b->fe.ev;
		if (b->before_unknown && ev->all_paths &&
		    no_base_paths(b, g) < 0)
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		tag_sample(b, g, b->fe.after);
	} else {
		const char *tip = g->after;

		/* a tag's "after" may be the tag object: name the commit */
		if (g->kind == ZH_GITLAB_TAG_PUSH && g->checkout_sha)
			tip = g->checkout_sha;
		ev->kind = push_kind(g);
		ev->ref = g->ref;
		ev->before = g->before;
		ev->after = tip;
		ev->deleted = zh_oid_is_zero(g->after);
		if (!ev->deleted && from_payload(b, g, tip) < 0)
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		if (!ev->deleted)
			tag_sample(b, g, NULL);
	}
	ev->repo = g->project;
	return 0;
}

/* Say where the paths of a push from a before the repository does not
 * have came from. */
static void log_before_unknown(const char *key, const struct zh_gitlab_event *g,
			       const struct built *b)
{
	if (!b->no_base)
		zh_wh_log("key=%s before %.12s is not in the repository of "
			  "%s: changed paths from the merge base, as for a new "
			  "branch",
			  key, g->before, g->project);
	else if (b->listed)
		zh_wh_log("key=%s before %.12s is not in the repository of %s "
			  "and %s has no merge base with HEAD's branch: "
			  "changed paths from the payload's %zu commit%s",
			  key, g->before, g->project, g->ref, g->ncommits,
			  g->ncommits == 1 ? "" : "s");
	else if (!g->ncommits)
		zh_wh_log("key=%s before %.12s is not in the repository of %s "
			  "and %s has no merge base with HEAD's branch: the "
			  "payload lists no commit, every path counts as "
			  "changed",
			  key, g->before, g->project, g->ref);
	else
		zh_wh_log("key=%s before %.12s is not in the repository of %s "
			  "and %s has no merge base with HEAD's branch: the "
			  "payload lists %zu of %" PRId64
			  " commits, every path "
			  "counts as changed",
			  key, g->before, g->project, g->ref, g->ncommits,
			  g->total_commits);
}

/* ---- delivering ---- */

static void count_outcome(struct zh_webhook *w, enum zh_flow_outcome o)
{
	switch (o) {
	case ZH_FLOW_CREATED:
		atomic_fetch_add(&w->metrics.triggers[ZH_TRIGGER_CREATED], 1);
		break;
	case ZH_FLOW_QUEUED:
		atomic_fetch_add(&w->metrics.triggers[ZH_TRIGGER_QUEUED], 1);
		break;
	case ZH_FLOW_HELD:
		atomic_fetch_add(&w->metrics.triggers[ZH_TRIGGER_HELD], 1);
		break;
	case ZH_FLOW_REJECTED:
		atomic_fetch_add(&w->metrics.triggers[ZH_TRIGGER_REJECTED], 1);
		break;
	case ZH_FLOW_DONE:
		break;
	}
}

static const char *outcome_name(enum zh_flow_outcome o)
{
	switch (o) {
	case ZH_FLOW_CREATED:
		return "created";
	case ZH_FLOW_QUEUED:
		return "queued";
	case ZH_FLOW_HELD:
		return "held";
	case ZH_FLOW_REJECTED:
		return "rejected";
	default:
		return "done";
	}
}

/* Deliver one trigger, timing the Zadig call. */
static int deliver(struct zh_flow_result *res, struct zh_wh_worker *k,
		   int64_t id, struct zh_error *err)
{
	uint64_t t0;
	int rc;

	/* Zadig may take seconds: the batch's lines so far go out first */
	zh_wh_log_flush();
	t0 = mono_us();
	rc = zh_flow_deliver_id(res, &k->flow, id, err);

	if (rc == 0 && res->outcome != ZH_FLOW_DONE) {
		zh_metrics_observe(&k->w->metrics, mono_us() - t0);
		count_outcome(k->w, res->outcome);
	}
	return rc;
}

/* Record the results gathered by finish in one transaction. */
static void flush_done(struct zh_wh_worker *k)
{
	struct zh_error err = {0};
	size_t i;

	if (k->ndone &&
	    zh_store_event_done_batch(k->w->store, k->done, k->ndone,
				      zh_store_now_ms(), &err) < 0)
		for (i = 0; i < k->ndone; i++)
			zh_wh_log("key=%s cannot record the result: %s",
				  k->done_key[i], err.msg);
	for (i = 0; i < k->ndone; i++)
		free((char *)k->done[i].result);
	k->ndone = 0;
}

/* The outcome of event e: retry (store or repository trouble, recorded
 * now) or done (recorded with the rest of the batch by flush_done; e
 * stays claimed until then). */
static void finish(struct zh_wh_worker *k, const struct zh_store_event *e,
		   bool retry, bool failed, const char *result)
{
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms();
	int rc;

	if (!retry && k->ndone < CLAIM_MAX) {
		struct zh_store_event_result *r = &k->done[k->ndone];

		r->id = e->id;
		r->failed = failed;
		r->result = NULL;
		if (!result || (r->result = strdup(result))) {
			k->done_key[k->ndone++] = e->key;
			return;
		}
	}
	if (retry)
		rc = zh_store_event_retry(k->w->store, e, result, now, &err);
	else
		rc = zh_store_event_done(k->w->store, e->id, failed, result,
					 now, &err);
	if (rc < 0 && rc != ZH_ENOTFOUND)
		zh_wh_log("key=%s cannot record the result: %s", e->key,
			  err.msg);
}

static int join_names(struct zh_buf *b, const struct zh_flow_recorded_list *l)
{
	size_t i;

	if (!l->len)
		return zh_buf_puts(b, "-");
	for (i = 0; i < l->len; i++)
		zh_buf_printf(b, "%s%s", i ? "," : "", l->items[i].rule);
	return 0;
}

static void process_gitlab(struct zh_wh_worker *k, const struct zh_config *cfg,
			   const struct zh_store_event *e)
{
	struct zh_webhook *w = k->w;
	/* the HTTP side's parse when it still has it: same bytes */
	struct zh_gitlab_event *kept = zh_wh_parsed_take(&w->parsed, e->id);
	struct zh_gitlab_event g;
	struct zh_flow_recorded_list rl = {0};
	struct built b;
	struct zh_repo *r = NULL;
	struct zh_error err = {0};
	struct zh_buf rules, result;
	const struct zh_webhook_repo *wr;
	const char *ref = "-";
	char settled[320], refbuf[LOG_REF_MAX];
	size_t i;
	int rc;

	memset(&b, 0, sizeof(b));
	zh_buf_init(&rules, 4096);
	zh_buf_init(&result, 8192);
	if (kept) {
		g = *kept;
		free(kept);
	} else if (zh_gitlab_parse(&g, e->payload, e->payload_len, &err) < 0) {
		g.kind = ZH_GITLAB_OTHER;
	}
	if (g.kind == ZH_GITLAB_OTHER) {
		zh_wh_log("key=%s result=failed: %s", e->key,
			  err.msg[0] ? err.msg : "not an event kind we handle");
		finish(k, e, false, true, err.msg);
		goto out;
	}
	ref = log_ref(&g, refbuf, sizeof(refbuf));
	if (zh_wh_settled(cfg, &g, settled, sizeof(settled))) {
		/* no repository opened, no mirror fetched, no degraded line
		 * (the intake stores such events settled; this one came
		 * under an earlier configuration) */
		zh_wh_log_settled(e->key, &g, settled);
		finish(k, e, false, false, settled);
		goto out;
	}
	wr = repo_for(cfg, g.project);
	if (wr &&
	    !(g.kind != ZH_GITLAB_MERGE_REQUEST && zh_oid_is_zero(g.after))) {
		rc = open_repo(&r, w, wr, g.project, true, &err);
		if (rc == 0)
			rc = build(&b, r, &g, &err);
		if (rc == ZH_ENOMEM || zh_store_failed(rc) ||
		    (rc < 0 && e->attempts < REPO_ATTEMPTS)) {
			zh_wh_log("key=%s project=%s ref=%s result=retry: %s",
				  e->key, g.project, ref, err.msg);
			finish(k, e, true, false, err.msg);
			goto out;
		}
		if (rc < 0) {
			zh_wh_log("key=%s degraded: repository of %s unusable "
				  "(%s), using the payload's commit list",
				  e->key, g.project, err.msg);
			built_dispose(&b);
			zh_repo_free(r);
			r = NULL;
		}
	} else if (!wr) {
		zh_wh_log("key=%s degraded: no repository for %s, using the "
			  "payload's commit list",
			  e->key, g.project);
	}
	if (b.before_unknown)
		log_before_unknown(e->key, &g, &b);
	if (!r && (rc = build(&b, NULL, &g, &err)) < 0) {
		finish(k, e, true, false, err.msg);
		goto out;
	}
	if (b.sample[0]) {
		snprintf(settled, sizeof(settled), "ignored (%s)", b.sample);
		zh_wh_log_settled(e->key, &g, settled);
		finish(k, e, false, false, settled);
		goto out;
	}
	b.ev.callback_base = cfg->webhook.public_url;
	b.ev.callback_secret = cfg->webhook.secret;
	if ((rc = zh_flow_record(&rl, &k->flow, &b.ev, ZH_FLOW_RECORD_SENDING,
				 &err)) < 0) {
		bool retry = zh_store_failed(rc) || rc == ZH_ENOMEM;

		zh_wh_log("key=%s project=%s ref=%s result=%s: %s", e->key,
			  g.project, ref, retry ? "retry" : "failed", err.msg);
		finish(k, e, retry, !retry, err.msg);
		goto out;
	}
	join_names(&rules, &rl);
	if (b.ev.deleted)
		zh_buf_puts(&result, "deleted");
	else if (!rl.len)
		zh_buf_puts(&result, "no rule matches");
	for (i = 0; i < rl.len; i++) {
		struct zh_flow_result res;

		if (i)
			zh_buf_puts(&result, ",");
		if (rl.items[i].error[0]) {
			zh_buf_printf(&result, "%s:failed (%s)",
				      rl.items[i].rule, rl.items[i].error);
			continue;
		}
		if (rl.items[i].existed) {
			zh_buf_printf(&result, "%s:known", rl.items[i].rule);
			continue;
		}
		if ((rc = deliver(&res, k, rl.items[i].trigger_id, &err)) < 0) {
			/* recorded: the periodic round delivers it */
			zh_buf_printf(&result, "%s:queued (%s)",
				      rl.items[i].rule, err.msg);
			continue;
		}
		zh_buf_printf(&result, "%s:%s", rl.items[i].rule,
			      outcome_name(res.outcome));
		/* why a trigger is not created, as the retries' lines say */
		if (res.outcome == ZH_FLOW_CREATED)
			zh_buf_printf(&result, "#%" PRId64, res.task_id);
		else if (res.message[0])
			zh_buf_printf(&result, " (%s)", res.message);
	}
	zh_wh_log("key=%s project=%s ref=%s rules=%s result=%s%s", e->key,
		  g.project, ref, zh_buf_cstr(&rules), zh_buf_cstr(&result),
		  b.degraded ? " (degraded)" : "");
	finish(k, e, false, false, zh_buf_cstr(&result));
	if (rl.len)
		zh_wh_wake(w, false, true);
out:
	free(rl.items);
	built_dispose(&b);
	zh_repo_free(r);
	zh_gitlab_event_dispose(&g);
	zh_buf_dispose(&rules);
	zh_buf_dispose(&result);
}

/* Zadig's notification: a hint; the task is read again from Zadig. */
static void process_zadig(struct zh_wh_worker *k,
			  const struct zh_store_event *e)
{
	struct zh_store_task t = {0};
	struct zh_error err = {0};
	char *wf = NULL;
	int64_t id = 0;
	uint64_t t0;
	int rc;

	if (zh_gitlab_parse_zadig(&wf, &id, e->payload, e->payload_len, &err) <
	    0) {
		finish(k, e, false, true, err.msg);
		return;
	}
	rc = zh_store_task_find(&t, k->w->store, wf, false, id, &err);
	if (rc == ZH_ENOTFOUND)
		rc = zh_store_task_find(&t, k->w->store, wf, true, id, &err);
	if (rc == ZH_ENOTFOUND || (rc == 0 && (!t.repo || !t.commit))) {
		zh_wh_log("key=%s workflow=%s #%" PRId64 " result=unknown task",
			  e->key, wf, id);
		finish(k, e, false, false, "unknown task");
		goto out;
	}
	if (rc < 0) {
		finish(k, e, true, false, err.msg);
		goto out;
	}
	zh_wh_log_flush(); /* as in deliver */
	t0 = mono_us();
	rc = zh_flow_refresh_commit(&k->flow, t.repo, t.commit, &err);
	zh_metrics_observe(&k->w->metrics, mono_us() - t0);
	zh_wh_log("key=%s workflow=%s #%" PRId64 " result=%s", e->key, wf, id,
		  rc < 0 ? err.msg : "refreshed");
	finish(k, e, zh_store_failed(rc), false,
	       rc < 0 ? err.msg : "refreshed");
	zh_wh_wake(k->w, false, true);
out:
	zh_store_task_dispose(&t);
	free(wf);
}

/* ---- Zadig's hints (answered by the HTTP side, webhook/hints.h) ---- */

/* A callback: its trigger's task is made due, and the next poll round
 * (*tick: wanted now) asks Zadig. Returns 0 (an unknown trigger too) or
 * the store's error. */
static int hint_callback(bool *tick, struct zh_wh_worker *k,
			 const struct zh_wh_hint *h, struct zh_error *err)
{
	struct zh_webhook *w = k->w;
	struct zh_store_trigger t = {0};
	struct zh_store_task task = {0};
	int64_t now = zh_store_now_ms();
	int rc;

	rc = zh_store_trigger_get_by_key(&t, w->store, h->key, err);
	if (rc == ZH_ENOTFOUND) {
		zh_wh_log("callback for unknown trigger %.40s", h->key);
		rc = 0;
		goto out;
	}
	if (rc == 0 && t.task_id > 0) {
		rc = zh_store_task_find(&task, w->store, t.workflow, t.custom,
					t.task_id, err);
		if (rc == 0 && !task.final)
			rc = zh_store_task_update(
			    w->store, task.id, task.status, NULL, false, now,
			    task.poll_interval_ms, now, err);
		if (rc == ZH_ENOTFOUND)
			rc = 0; /* the poll round finds it */
	}
	if (rc < 0)
		goto out;
	if (t.task_id > 0)
		zh_wh_log("callback for %s/%s %.12s %s #%" PRId64
			  ": polling now",
			  t.repo, t.rule, t.commit, t.workflow, t.task_id);
	else /* its create's reply not stored yet */
		zh_wh_log("callback for %s/%s %.12s %s: polling now", t.repo,
			  t.rule, t.commit, t.workflow);
	*tick = true;
out:
	zh_store_task_dispose(&task);
	zh_store_trigger_dispose(&t);
	return rc;
}

/* A notification: stored as an event of kind "zadig" (its key
 * deduplicates it), which a worker then claims (process_zadig). Only
 * what that reads is stored. Returns 0 (a duplicate too) or the store's
 * error. */
static int hint_notify(struct zh_wh_worker *k, const struct zh_wh_hint *h,
		       struct zh_error *err)
{
	struct zh_webhook *w = k->w;
	struct zh_store_event_in in;
	struct zh_buf b;
	int rc;

	zh_buf_init(&b, 64 + 6 * h->bytes);
	if ((rc = zh_buf_printf(&b,
				"{\"object_kind\":\"workflow\",\"workflow\":"
				"{\"task_id\":%" PRId64 ",\"workflow_name\":",
				h->task_id)) < 0 ||
	    (rc = zh_buf_json_raw(&b, h->workflow)) < 0 ||
	    (rc = zh_buf_puts(&b, "}}")) < 0) {
		zh_buf_dispose(&b);
		return zh_error_set(err, rc, "cannot store the notification");
	}
	memset(&in, 0, sizeof(in));
	in.key = h->key;
	in.kind = "zadig";
	in.payload = zh_buf_cstr(&b);
	in.payload_len = b.len;
	in.now_ms = zh_store_now_ms();
	rc = zh_store_event_add_in(&in, w->store, err);
	zh_buf_dispose(&b);
	if (rc < 0)
		return rc;
	if (in.duplicate) {
		atomic_fetch_add(&w->metrics.duplicates, 1);
		zh_wh_log("key=%s result=duplicate", h->key);
	} else {
		atomic_fetch_add(&w->metrics.accepted, 1);
	}
	return 0;
}

/* Do what the queued hints ask of the store. When the store fails one
 * (another process holds it locked past the busy wait), the rest would
 * wait as long each: they are dropped, as hints may be. */
static void take_hints(struct zh_wh_worker *k)
{
	struct zh_wh_hint *list = zh_wh_hints_take(&k->w->hints), *h;
	struct zh_error err = {0};
	unsigned long dropped = 0;
	bool tick = false, store_failed = false;
	int rc;

	for (h = list; h; h = h->next) {
		if (store_failed) {
			dropped++;
			continue;
		}
		rc = h->kind == ZH_WH_HINT_CALLBACK
			 ? hint_callback(&tick, k, h, &err)
			 : hint_notify(k, h, &err);
		if (rc < 0) {
			dropped++;
			store_failed = zh_store_failed(rc);
		}
	}
	if (tick)
		zh_wh_wake(k->w, false, true);
	if (dropped) {
		atomic_fetch_add(&k->w->metrics.hints_dropped, dropped);
		zh_wh_log("%lu callback%s or notification%s dropped: %s",
			  dropped, dropped == 1 ? "" : "s",
			  dropped == 1 ? "" : "s", err.msg);
	}
	zh_wh_hints_free(list);
}

/* ---- the periodic round (worker 0) ---- */

static void deliver_due(struct zh_wh_worker *k)
{
	struct zh_store_trigger_list l = {0};
	struct zh_error err = {0};
	int64_t now = zh_store_now_ms();
	char task[32];
	size_t i;

	if (zh_store_triggers_pending(&l, k->w->store, &err) < 0) {
		zh_wh_log("cannot list queued triggers: %s", err.msg);
		return;
	}
	for (i = 0; i < l.len && !atomic_load(&k->w->stopping); i++) {
		const struct zh_store_trigger *t = &l.items[i];
		struct zh_flow_result res;

		if (t->state == ZH_STORE_QUEUED ? t->next_try_ms > now
						: t->lease_until_ms > now)
			continue;
		if (deliver(&res, k, t->id, &err) < 0) {
			zh_wh_log("cannot deliver %s/%s: %s", t->repo, t->rule,
				  err.msg);
			break;
		}
		/* a trigger Zadig made no task for has no number */
		if (res.task_id > 0)
			snprintf(task, sizeof(task), " #%" PRId64, res.task_id);
		else
			task[0] = '\0';
		if (res.outcome != ZH_FLOW_DONE)
			zh_wh_log("%s/%s %.12s: %s %s%s%s%s", t->repo, t->rule,
				  t->commit, outcome_name(res.outcome),
				  res.workflow, task,
				  res.message[0] ? ": " : "", res.message);
	}
	zh_store_trigger_list_dispose(&l);
}

/* ---- notes.push ---- */

static struct push_due *push_due_find(struct zh_wh_worker *k, const char *repo)
{
	size_t i;

	for (i = 0; i < k->npushes; i++)
		if (strcmp(k->pushes[i].repo, repo) == 0)
			return &k->pushes[i];
	return NULL;
}

/* repo's notes (r) changed: push them soon; what its notes ref points at
 * now is ours (unless it cannot be read: then what was, if anything). */
static void push_due_add(struct zh_wh_worker *k, const char *repo,
			 struct zh_repo *r, const struct zh_config *cfg)
{
	struct push_due *v = push_due_find(k, repo);
	char head[sizeof(v->ours)];

	if (v) {
		/* new notes: no reason to wait for the back-off */
		v->next_ms = 0;
	} else {
		v = realloc(k->pushes, (k->npushes + 1) * sizeof(*v));
		if (!v)
			return; /* the next change of its notes asks again */
		k->pushes = v;
		v += k->npushes;
		memset(v, 0, sizeof(*v));
		if (!(v->repo = strdup(repo)))
			return;
		k->npushes++;
	}
	if (zh_notes_head(head, sizeof(head), r, cfg->notes.ref, NULL) == 0 &&
	    head[0])
		memcpy(v->ours, head, sizeof(head));
}

static void push_due_drop(struct zh_wh_worker *k, size_t i)
{
	free(k->pushes[i].repo);
	k->pushes[i] = k->pushes[--k->npushes];
}

/* Whether repo is new to the list (then added): what is logged once per
 * repository, not every round. */
static bool first_time(char ***list, size_t *n, const char *repo)
{
	char **v;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*list)[i], repo) == 0)
			return false;
	v = realloc(*list, (*n + 1) * sizeof(*v));
	if (v) {
		*list = v;
		if ((v[*n] = strdup(repo)))
			(*n)++;
	}
	return true;
}

static void push_state_dispose(struct zh_wh_worker *k)
{
	size_t i;

	for (i = 0; i < k->npushes; i++)
		free(k->pushes[i].repo);
	for (i = 0; i < k->nno_origin; i++)
		free(k->no_origin[i]);
	for (i = 0; i < k->nno_mirror; i++)
		free(k->no_mirror[i]);
	for (i = 0; i < k->nno_repo; i++)
		free(k->no_repo[i]);
	for (i = 0; i < k->nnote_errs; i++)
		free(k->note_errs[i].repo);
	free(k->pushes);
	free(k->no_origin);
	free(k->no_mirror);
	free(k->no_repo);
	free(k->note_errs);
	k->pushes = NULL;
	k->no_origin = k->no_mirror = k->no_repo = NULL;
	k->note_errs = NULL;
	k->npushes = k->nno_origin = k->nno_mirror = k->nno_repo = 0;
	k->nnote_errs = 0;
}

/* Whether failure msg is to be logged now (new, or REPEAT_LOG_MS since
 * it was); *since gets how many times it came unlogged meanwhile. */
static bool repeat_log_due(struct repeat_log *r, const char *msg,
			   unsigned *since)
{
	int64_t now = zh_store_now_ms();
	bool same = strcmp(r->msg, msg) == 0;

	if (same && now - r->ms < REPEAT_LOG_MS) {
		r->repeats++;
		return false;
	}
	*since = same ? r->repeats : 0;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
	r->ms = now;
	r->repeats = 0;
	return true;
}

/* The repeat_log of repo's notes failures; NULL when out of memory. */
static struct repeat_log *note_log(struct zh_wh_worker *k, const char *repo)
{
	struct note_err *v;
	size_t i;

	for (i = 0; i < k->nnote_errs; i++)
		if (strcmp(k->note_errs[i].repo, repo) == 0)
			return &k->note_errs[i].last;
	if (!(v = realloc(k->note_errs, (k->nnote_errs + 1) * sizeof(*v))))
		return NULL;
	k->note_errs = v;
	v += k->nnote_errs;
	memset(v, 0, sizeof(*v));
	if (!(v->repo = strdup(repo)))
		return NULL;
	k->nnote_errs++;
	return &v->last;
}

/* Log that the notes of repo could not be written (msg, then hint), as
 * poll_error does: a new failure at once, the same one again only once
 * per REPEAT_LOG_MS with the number of rounds it failed meanwhile. */
static void note_error(struct zh_wh_worker *k, const char *repo,
		       const char *msg, const char *hint)
{
	struct repeat_log *r = note_log(k, repo);
	unsigned since = 0;

	if (r && !repeat_log_due(r, msg, &since))
		return;
	if (since)
		zh_wh_log("notes of %s: %s%s (and %u times since)", repo, msg,
			  hint, since);
	else
		zh_wh_log("notes of %s: %s%s", repo, msg, hint);
}

/* The notes of repo were written: a failure after this is new. */
static void note_ok(struct zh_wh_worker *k, const char *repo)
{
	size_t i;

	for (i = 0; i < k->nnote_errs; i++)
		if (strcmp(k->note_errs[i].repo, repo) == 0) {
			free(k->note_errs[i].repo);
			k->note_errs[i] = k->note_errs[--k->nnote_errs];
			return;
		}
}

/* Put back into r the notes pd->ours holds when its notes ref lost them
 * since we wrote or pushed it: a `git fetch --prune` into a `path:`
 * repository that mirrors GitLab's (cron) deletes the notes ref, or
 * resets it to GitLab's, while a push of ours is failing. The store
 * counts those lines as written: nobody else would write them again.
 * Returns false when they are not (yet) back (logged). */
static bool put_back(struct push_due *pd, struct zh_repo *r,
		     const struct zh_config *cfg)
{
	struct zh_error err = {0};
	bool restored = false;
	int rc;

	if (!pd->ours[0])
		return true;
	rc = zh_notes_restore(&restored, r, cfg->notes.ref, pd->ours, &err);
	if (rc == ZH_ENOTFOUND) {
		zh_wh_log("notes of %s: notes written here are missing from "
			  "%s (deleted or reset by another process) and "
			  "cannot be put back: %s",
			  pd->repo, cfg->notes.ref, err.msg);
		pd->ours[0] = '\0'; /* said once */
		return true;
	}
	if (rc < 0) {
		zh_wh_log("notes of %s: notes written here are missing from %s "
			  "(deleted or reset by another process), not put "
			  "back yet, will retry: %s",
			  pd->repo, cfg->notes.ref, err.msg);
		return false;
	}
	if (restored)
		zh_wh_log("notes of %s: notes written here were missing from "
			  "%s (deleted or reset by another process): put back",
			  pd->repo, cfg->notes.ref);
	return true;
}

/* Push the notes of repository pd->repo to its origin (path) or to the
 * mirrored url. Returns true when it is done with (pushed, or nowhere to
 * push); false to try again later. */
static bool push_one(struct zh_wh_worker *k, const struct zh_config *cfg,
		     struct push_due *pd)
{
	const struct zh_webhook_repo *wr = repo_for(cfg, pd->repo);
	enum zh_notes_pushed did = ZH_NOTES_PUSHED_NONE;
	struct zh_error err = {0};
	struct zh_repo *r = NULL;
	char head[sizeof(pd->ours)];
	int rc;

	if (!wr)
		return true; /* no longer configured */
	if (open_repo(&r, k->w, wr, pd->repo, false, &err) < 0) {
		zh_wh_log("notes of %s: not pushed: %s", pd->repo, err.msg);
		return false;
	}
	if (!put_back(pd, r, cfg)) {
		zh_repo_free(r);
		return false;
	}
	if (wr->path) {
		rc = zh_notes_push(&did, r, cfg->notes.ref, "origin", NULL,
				   NULL, &err);
	} else {
		/* the mirror's objects and refs: one network user at a time */
		pthread_mutex_lock(&k->w->mirror_lock);
		rc = zh_notes_push(&did, r, cfg->notes.ref, wr->url,
				   wr->username, wr->password, &err);
		pthread_mutex_unlock(&k->w->mirror_lock);
	}
	/* a push that failed may have moved the notes ref onto the remote's
	 * notes (with ours on top) */
	if (rc < 0 &&
	    zh_notes_head(head, sizeof(head), r, cfg->notes.ref, NULL) == 0 &&
	    head[0])
		memcpy(pd->ours, head, sizeof(head));
	zh_repo_free(r);
	if (rc == ZH_ENOTFOUND && wr->path) {
		if (first_time(&k->no_origin, &k->nno_origin, pd->repo))
			zh_wh_log("notes of %s: not pushed: %s has no remote "
				  "'origin'",
				  pd->repo, wr->path);
		return true;
	}
	if (rc < 0) {
		zh_wh_log("notes of %s: not pushed, will retry: %s", pd->repo,
			  err.msg);
		return false;
	}
	if (did == ZH_NOTES_PUSHED_SENT)
		zh_wh_log("notes of %s: pushed", pd->repo);
	else if (did == ZH_NOTES_PUSHED_UP_TO_DATE)
		zh_wh_log("notes of %s: the remote has them already", pd->repo);
	else
		zh_wh_log("notes of %s: nothing pushed: no notes ref %s",
			  pd->repo, cfg->notes.ref);
	return true;
}

static void push_notes(struct zh_wh_worker *k, const struct zh_config *cfg)
{
	size_t i = 0;

	while (i < k->npushes && !atomic_load(&k->w->stopping)) {
		struct push_due *pd = &k->pushes[i];
		int64_t delay;

		if (pd->next_ms > zh_wh_mono_ms()) {
			i++;
			continue;
		}
		if (push_one(k, cfg, pd)) {
			push_due_drop(k, i);
			continue;
		}
		delay = 1000LL << (pd->fails < 7 ? pd->fails : 7);
		if (delay > PUSH_RETRY_MAX_MS)
			delay = PUSH_RETRY_MAX_MS;
		pd->fails++;
		pd->next_ms = zh_wh_mono_ms() + delay;
		i++;
	}
}

/* Write the notes of every out-of-date commit, per repository we know;
 * with notes.push, push what changed. */
static void write_notes(struct zh_wh_worker *k, const struct zh_config *cfg)
{
	struct zh_store_commit_list l = {0};
	struct zh_error err = {0};
	size_t i, j;

	if (zh_store_commits_to_note(&l, k->w->store, NULL, &err) < 0)
		zh_store_commit_list_dispose(&l); /* still push the others */
	for (i = 0; i < l.len && !atomic_load(&k->w->stopping); i++) {
		const char *name = l.items[i].repo;
		const struct zh_webhook_repo *wr;
		struct push_due *pd;
		struct zh_repo *r = NULL;
		size_t n = 0;
		int rc;

		for (j = 0; j < i; j++)
			if (strcmp(l.items[j].repo, name) == 0)
				break;
		if (j < i)
			continue; /* done already */
		if (!(wr = repo_for(cfg, name))) {
			/* nowhere to write (never configured: its events
			 * were read from the payload; or removed since) */
			if (first_time(&k->no_repo, &k->nno_repo, name))
				zh_wh_log("notes of %s: not written: no "
					  "webhook.repos entry matches the "
					  "project (add one and send SIGHUP)",
					  name);
			/* once that old, counted as noted: not listed again
			 * every round for good, and forgotten after
			 * state_keep like the others (an entry put back
			 * sooner, after a mistake, gets the notes) */
			if (zh_store_mark_repo_noted(
				k->w->store, name,
				zh_store_now_ms() - cfg->poll.give_up_after_ms,
				&err) < 0)
				note_error(k, name, err.msg, "");
			continue;
		}
		if ((rc = open_repo(&r, k->w, wr, name, false, &err)) < 0) {
			/* a project name that cannot name a mirror ("..",
			 * an absolute path) never will: said once */
			if (wr->url && rc == ZH_EINVALID) {
				if (first_time(&k->no_mirror, &k->nno_mirror,
					       name))
					zh_wh_log("notes of %s: %s", name,
						  err.msg);
			} else {
				note_error(k, name, err.msg,
					   wr->path
					       ? "; the notes wait: fix its "
						 "webhook.repos path and send "
						 "SIGHUP"
					       : "");
			}
			continue;
		}
		/* notes of ours another process took away come back before
		 * the new ones go on top (they would hide the loss) */
		if (cfg->notes.push && (pd = push_due_find(k, name)) &&
		    !put_back(pd, r, cfg)) {
			zh_repo_free(r);
			continue;
		}
		k->flow.repo = r;
		k->flow.repo_name = name;
		if (zh_flow_write_notes(&n, &k->flow, &err) < 0) {
			note_error(k, name, err.msg, "");
		} else {
			note_ok(k, name);
			atomic_fetch_add(&k->w->metrics.notes_written, n);
			if (n > 0 && cfg->notes.push)
				push_due_add(k, name, r, cfg);
		}
		k->flow.repo = NULL;
		k->flow.repo_name = NULL;
		zh_repo_free(r);
	}
	zh_store_commit_list_dispose(&l);
	/* also the pushes that failed in earlier rounds */
	if (cfg->notes.push)
		push_notes(k, cfg);
}

/* Log a failed poll round, but the same failure again only once per
 * REPEAT_LOG_MS, with the number of rounds it failed meanwhile. */
static void poll_error(struct zh_wh_worker *k, const char *msg)
{
	unsigned since = 0;

	if (!repeat_log_due(&k->poll_err, msg, &since))
		return;
	if (since)
		zh_wh_log("poll: %s (and %u times since)", msg, since);
	else
		zh_wh_log("poll: %s", msg);
}

/* A zadig.token_file changed since the running config read it (a
 * rotated token, or a file that can be read now): reload as SIGHUP does,
 * as the hook's poller reads the file again by itself. Asked once per
 * change of the file, by one worker: a config that does not load keeps
 * the running one, and is not tried again until the file changes again.
 * The path is not logged: "token_file: ${X}" may expand to a secret. */
static void token_file_changed(struct zh_wh_worker *k,
			       const struct zh_config *cfg)
{
	struct stat st;
	int64_t m, seen;

	if (!cfg->token_src.path || stat(cfg->token_src.path, &st) != 0)
		return;
	m = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if (m == cfg->token_src.mtime_ns)
		return;
	seen = atomic_load(&k->w->token_reload_mtime);
	if (seen == m || !atomic_compare_exchange_strong(
			     &k->w->token_reload_mtime, &seen, m))
		return;
	zh_wh_log("zadig.token_file changed: reloading the configuration");
	kill(getpid(), SIGHUP);
}

static void poll_round(struct zh_wh_worker *k, const struct zh_config *cfg,
		       int64_t *next_prune)
{
	struct zh_error err = {0};
	uint64_t t0;
	int n = 0;

	zh_wh_log_refused_flush(k->w);
	token_file_changed(k, cfg);
	deliver_due(k);
	if (atomic_load(&k->w->stopping))
		return;
	t0 = mono_us();
	if (zh_flow_poll(&n, &k->flow, ZH_STORE_TASKS_DUE, &err) < 0)
		poll_error(k, err.msg);
	else
		k->poll_err.msg[0] = '\0';
	if (n > 0) {
		uint64_t each = (mono_us() - t0) / (uint64_t)n;

		while (n--)
			zh_metrics_observe(&k->w->metrics, each);
	}
	write_notes(k, cfg);
	if (zh_wh_mono_ms() >= *next_prune) {
		zh_store_events_prune(NULL, k->w->store,
				      zh_store_now_ms() - EVENT_KEEP_MS, NULL);
		if (zh_flow_prune(NULL, &k->flow, zh_store_now_ms(), &err) < 0)
			zh_wh_log("store: %s", err.msg);
		*next_prune = zh_wh_mono_ms() + PRUNE_EVERY_MS;
	}
}

/* ---- the thread ---- */

static void *run(void *arg)
{
	struct zh_wh_worker *k = arg;
	struct zh_webhook *w = k->w;
	int64_t next_tick = 0, next_prune = 0;

	/* shown by top -H and read by bench/receiver.sh */
	prctl(PR_SET_NAME, "zh-worker", 0, 0, 0);
	/* intake first: GitLab waits on the HTTP threads for its answer,
	 * while a backlog of stored events can wait for the workers */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
	while (!atomic_load(&w->stopping)) {
		struct zh_wh_conf *conf = zh_wh_conf_get(w);
		const struct zh_config *cfg = conf->cfg;
		struct zh_store_event ev[CLAIM_MAX];
		struct zh_error err = {0};
		unsigned long gen;
		bool worked = false, tick = false, linger;
		int64_t now, wait_ms, lease_ms = zh_wh_event_lease_ms(cfg);
		size_t n = 0, i;
		int rc;

		bind_conf(k, conf);
		pthread_mutex_lock(&w->lock);
		gen = w->event_gen;
		if (k->index == 0 && w->tick_now) {
			tick = true;
			w->tick_now = false;
		}
		pthread_mutex_unlock(&w->lock);

		/* before the claim: a notification stored here is claimed
		 * with the rest */
		take_hints(k);
		now = zh_store_now_ms();
		rc = zh_store_event_claim_batch(ev, CLAIM_MAX, &n, w->store,
						now, lease_ms, &err);
		if (rc == 0) {
			worked = true;
			/* a full batch: there may be more, for another
			 * worker */
			if (n == CLAIM_MAX)
				zh_wh_wake(w, true, false);
		} else if (rc != ZH_ENOTFOUND) {
			zh_wh_log("cannot claim an event: %s", err.msg);
		}
		if (n)
			zh_wh_log_hold(k->log, sizeof(k->log));
		for (i = 0; i < n; i++) {
			/* slow events (repositories, Zadig): the rest goes
			 * back before its lease could run out under us */
			if (i && (atomic_load(&w->stopping) ||
				  zh_store_now_ms() >= now + lease_ms / 2)) {
				flush_done(k);
				for (; i < n; i++) {
					zh_store_event_unclaim(
					    w->store, &ev[i], zh_store_now_ms(),
					    NULL);
					zh_store_event_dispose(&ev[i]);
				}
				zh_wh_wake(w, true, false);
				break;
			}
			if (strcmp(ev[i].kind, "zadig") == 0)
				process_zadig(k, &ev[i]);
			else
				process_gitlab(k, cfg, &ev[i]);
		}
		flush_done(k);
		zh_wh_log_flush();
		for (i = 0; i < n; i++)
			zh_store_event_dispose(&ev[i]);
		now = zh_wh_mono_ms();
		if (k->index == 0 && !atomic_load(&w->stopping) &&
		    (tick || now >= next_tick)) {
			poll_round(k, cfg, &next_prune);
			now = zh_wh_mono_ms();
			next_tick = now + cfg->poll.interval_ms;
		}
		zh_wh_conf_put(w, conf);
		/* a full batch: more may be due right now */
		if (worked && n == CLAIM_MAX)
			continue;

		wait_ms = 1000;
		if (k->index == 0 && next_tick - now < wait_ms)
			wait_ms = next_tick - now;
		if (wait_ms <= 0)
			continue;
		pthread_mutex_lock(&w->lock);
		if (w->event_gen == gen && !atomic_load(&w->stopping) &&
		    !(k->index == 0 && w->tick_now))
			zh_wh_cond_wait_ms(&w->wake, &w->lock, wait_ms);
		linger = w->event_gen != gen && !(k->index == 0 && w->tick_now);
		pthread_mutex_unlock(&w->lock);
		if (linger && !atomic_load(&w->stopping)) {
			struct timespec d = {0, LINGER_MS * 1000000L};

			nanosleep(&d, NULL);
		}
	}
	zh_flow_dispose(&k->flow);
	push_state_dispose(k);
	return NULL;
}

int zh_wh_workers_start(struct zh_webhook *w, size_t n, struct zh_error *err)
{
	size_t i;

	if (!(w->workers = calloc(n, sizeof(*w->workers))))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	w->nworkers = n;
	for (i = 0; i < n; i++) {
		struct zh_wh_worker *k = &w->workers[i];

		k->w = w;
		k->index = i;
		if (pthread_create(&k->thread, NULL, run, k) != 0)
			return zh_error_set(err, ZH_ENOMEM,
					    "cannot start worker thread: %s",
					    strerror(errno));
		k->started = true;
	}
	return 0;
}

void zh_wh_workers_stop(struct zh_webhook *w)
{
	size_t i;

	atomic_store(&w->stopping, true);
	pthread_mutex_lock(&w->lock);
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->nworkers; i++)
		if (w->workers[i].started)
			pthread_join(w->workers[i].thread, NULL);
	free(w->workers);
	w->workers = NULL;
	w->nworkers = 0;
}
