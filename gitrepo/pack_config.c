/* A configuration level of fixed values, read-only, in memory: what
 * zh_repo_pack_without_deltas adds to a repository's configuration. */
#include "gitrepo/internal.h"

#include <stdlib.h>
#include <strings.h>

#include <git2/sys/config.h>

#include "util/banned.h"

/* libgit2 builds a pack with git's delta search (a window of ten). A
 * note is a line or a few, and its blob finds no delta worth taking
 * against another note's, while the search costs a third of writing a
 * batch (docs/BENCHMARKS.md, sixteenth measurement): no object of the
 * pack is a candidate when the "big file" threshold is one byte.
 * libgit2 1.5 reads that threshold from pack.deltaCacheSize (a slip of
 * its packbuilder_config), later versions from pack.bigFileThreshold:
 * both are set, and with no delta the delta cache is never used. */
static git_config_entry fixed[] = {
    {.name = "pack.bigfilethreshold",
     .value = "1",
     .level = GIT_CONFIG_LEVEL_APP},
    {.name = "pack.deltacachesize",
     .value = "1",
     .level = GIT_CONFIG_LEVEL_APP},
};
#define NFIXED (sizeof(fixed) / sizeof(fixed[0]))

struct fixed_iter {
	git_config_iterator parent;
	size_t next;
};

static void entry_free(git_config_entry *e)
{
	free(e);
}

static int fixed_open(git_config_backend *b, git_config_level_t level,
		      const git_repository *repo)
{
	(void)b;
	(void)level;
	(void)repo;
	return 0;
}

static int fixed_get(git_config_backend *b, const char *key,
		     git_config_entry **out)
{
	git_config_entry *e;
	size_t i;

	(void)b;
	for (i = 0; i < NFIXED; i++) {
		if (strcasecmp(key, fixed[i].name) != 0)
			continue;
		if (!(e = calloc(1, sizeof(*e))))
			return -1;
		*e = fixed[i];
		e->free = entry_free;
		*out = e;
		return 0;
	}
	return GIT_ENOTFOUND;
}

static int refuse(void)
{
	git_error_set_str(GIT_ERROR_CONFIG, "a fixed configuration level is "
					    "read-only");
	return -1;
}

static int fixed_set(git_config_backend *b, const char *key, const char *v)
{
	(void)b;
	(void)key;
	(void)v;
	return refuse();
}

static int fixed_set_multivar(git_config_backend *b, const char *name,
			      const char *regexp, const char *v)
{
	(void)b;
	(void)name;
	(void)regexp;
	(void)v;
	return refuse();
}

static int fixed_del(git_config_backend *b, const char *key)
{
	(void)b;
	(void)key;
	return refuse();
}

static int fixed_del_multivar(git_config_backend *b, const char *key,
			      const char *regexp)
{
	(void)b;
	(void)key;
	(void)regexp;
	return refuse();
}

static int iter_next(git_config_entry **out, git_config_iterator *it)
{
	struct fixed_iter *fi = (struct fixed_iter *)it;

	if (fi->next >= NFIXED)
		return GIT_ITEROVER;
	*out = &fixed[fi->next++];
	return 0;
}

static void iter_free(git_config_iterator *it)
{
	free(it);
}

static int fixed_iterator(git_config_iterator **out, git_config_backend *b)
{
	struct fixed_iter *fi = calloc(1, sizeof(*fi));

	if (!fi)
		return -1;
	fi->parent.backend = b;
	fi->parent.next = iter_next;
	fi->parent.free = iter_free;
	*out = &fi->parent;
	return 0;
}

static int fixed_lock(git_config_backend *b)
{
	(void)b;
	return refuse();
}

static int fixed_unlock(git_config_backend *b, int success)
{
	(void)b;
	(void)success;
	return refuse();
}

static void fixed_free(git_config_backend *b)
{
	free(b);
}

static int fixed_snapshot(git_config_backend **out, git_config_backend *b);

static git_config_backend *fixed_new(void)
{
	git_config_backend *b = calloc(1, sizeof(*b));

	if (!b || git_config_init_backend(b, GIT_CONFIG_BACKEND_VERSION) < 0) {
		free(b);
		return NULL;
	}
	b->readonly = 1;
	b->open = fixed_open;
	b->get = fixed_get;
	b->set = fixed_set;
	b->set_multivar = fixed_set_multivar;
	b->del = fixed_del;
	b->del_multivar = fixed_del_multivar;
	b->iterator = fixed_iterator;
	b->snapshot = fixed_snapshot;
	b->lock = fixed_lock;
	b->unlock = fixed_unlock;
	b->free = fixed_free;
	return b;
}

static int fixed_snapshot(git_config_backend **out, git_config_backend *b)
{
	(void)b;
	return (*out = fixed_new()) ? 0 : -1;
}

int zh_repo_pack_without_deltas(git_repository *repo)
{
	git_config_backend *b;
	git_config *cfg, *level;
	int rc;

	if ((rc = git_repository_config(&cfg, repo)) < 0)
		return rc;
	/* added already (nothing else adds this level) */
	if (git_config_open_level(&level, cfg, GIT_CONFIG_LEVEL_APP) == 0) {
		git_config_free(level);
		git_config_free(cfg);
		return 0;
	}
	if (!(b = fixed_new())) {
		git_config_free(cfg);
		git_error_set_oom();
		return -1;
	}
	/* the level above the repository's own files: these values win */
	if ((rc = git_config_add_backend(cfg, b, GIT_CONFIG_LEVEL_APP, repo,
					 0)) < 0)
		b->free(b);
	git_config_free(cfg);
	return rc;
}
