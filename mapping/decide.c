/* Which rules fire for one event (design.md §4.2), and why the others do
 * not. No I/O and nothing beyond the glob matcher. */
#include "mapping/mapping.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mapping/expand.h"
#include "util/banned.h"

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static const char *strip_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : s;
}

static const char *kind_name(unsigned kind)
{
	switch (kind) {
	case ZH_EVENT_PUSH:
		return "push";
	case ZH_EVENT_TAG:
		return "tag";
	case ZH_EVENT_MERGE_REQUEST:
		return "merge_request";
	}
	return "unknown";
}

/* "a, b, c" into buf; a list too long for it ends in "...", since a
 * reason only has to be readable, not complete. */
static void join(char *buf, size_t size, const char *const *items, size_t n)
{
	size_t used = 0, i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
				 items[i]);

		if (w < 0 || (size_t)w >= size - used) {
			if (size >= 4)
				memcpy(buf + size - 4, "...", 4);
			return;
		}
		used += (size_t)w;
	}
}

static void join_list(char *buf, size_t size, const struct zh_strlist *l)
{
	join(buf, size, (const char *const *)l->items, l->len);
}

static bool any_match(const struct zh_strlist *globs, const char *s)
{
	size_t i;

	for (i = 0; i < globs->len; i++)
		if (zh_glob_match(globs->items[i], s))
			return true;
	return false;
}

static enum zh_verdict say(char *reason, enum zh_verdict v, const char *fmt,
			   ...) __attribute__((format(printf, 3, 4)));

static enum zh_verdict say(char *reason, enum zh_verdict v, const char *fmt,
			   ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(((struct zh_rule_verdict *)0)->reason), fmt,
		  ap);
	va_end(ap);
	return v;
}

/* The name the branch/tag filter looks at, the globs it uses and what
 * to call it in a reason. */
static void ref_filter(const char **name, const struct zh_strlist **globs,
		       const char **what, const struct zh_rule *r,
		       const struct zh_event *ev)
{
	const char *ref = or_empty(ev->ref);

	switch (ev->kind) {
	case ZH_EVENT_TAG:
		*name = strip_prefix(ref, "refs/tags/");
		*globs = &r->tags;
		*what = "tag";
		break;
	case ZH_EVENT_MERGE_REQUEST:
		/* design.md §6: merge requests match the target branch */
		*name = or_empty(ev->mr_target_branch);
		*globs = &r->branches;
		*what = "target branch";
		break;
	default:
		*name = strip_prefix(ref, "refs/heads/");
		*globs = &r->branches;
		*what = "branch";
	}
}

enum zh_verdict zh_mapping_decide(char *reason, const struct zh_rule *r,
				  const struct zh_event *ev, bool ref_only)
{
	char list[200];
	const struct zh_strlist *globs;
	const char *name, *what, *marker;
	unsigned events = r->events ? r->events : ZH_EVENT_PUSH;
	size_t i;

	reason[0] = '\0';
	if (ev->deleted)
		return say(reason, ZH_SKIP_DELETED, "%s deletion",
			   ev->kind == ZH_EVENT_TAG ? "tag" : "branch");
	if (r->repo && !zh_glob_match(r->repo, or_empty(ev->repo)))
		return say(reason, ZH_SKIP_REPO,
			   "repo '%s' does not match '%s'", or_empty(ev->repo),
			   r->repo);
	if (!(events & (unsigned)ev->kind)) {
		const char *names[3];
		size_t n = 0;

		if (events & ZH_EVENT_PUSH)
			names[n++] = "push";
		if (events & ZH_EVENT_TAG)
			names[n++] = "tag";
		if (events & ZH_EVENT_MERGE_REQUEST)
			names[n++] = "merge_request";
		join(list, sizeof(list), names, n);
		return say(reason, ZH_SKIP_EVENT, "event %s not in [%s]",
			   kind_name((unsigned)ev->kind), list);
	}
	ref_filter(&name, &globs, &what, r, ev);
	if (globs->len && !any_match(globs, name)) {
		join_list(list, sizeof(list), globs);
		return say(reason, ZH_SKIP_BRANCH, "%s '%s' matches none of %s",
			   what, name, list);
	}
	/* its code would run with the project's credentials, which GitLab
	 * keeps from the pipelines of a fork's merge requests */
	if (ev->kind == ZH_EVENT_MERGE_REQUEST && ev->mr_fork && !r->forks)
		return say(reason, ZH_SKIP_FORK,
			   "merge request from a fork (%s); forks is false",
			   ev->mr_fork);
	if (ref_only)
		return ZH_FIRE;
	/* With all_paths and no list we cannot tell what changed: everything
	 * did, so a paths filter is taken as met. */
	if (r->paths.len && !(ev->all_paths && ev->npaths == 0)) {
		for (i = 0; i < ev->npaths; i++)
			if (any_match(&r->paths, ev->paths[i]))
				break;
		if (i == ev->npaths) {
			join_list(list, sizeof(list), &r->paths);
			return say(reason, ZH_SKIP_PATHS,
				   "no changed path matches %s", list);
		}
	}
	if (r->ignore_paths.len && ev->npaths) {
		for (i = 0; i < ev->npaths; i++)
			if (!any_match(&r->ignore_paths, ev->paths[i]))
				break;
		if (i == ev->npaths) {
			join_list(list, sizeof(list), &r->ignore_paths);
			return say(reason, ZH_SKIP_IGNORED_PATHS,
				   "every changed path is ignored (%s)", list);
		}
	}
	if ((marker = zh_mapping_skip_marker(ev->message)))
		return say(reason, ZH_SKIP_MARKER, "tip message has %s",
			   marker);
	if (ev->skip_option)
		return say(reason, ZH_SKIP_OPTION,
			   "push option ci.skip or zadig.skip");
	return ZH_FIRE;
}

int zh_mapping_explain(struct zh_verdict_list *out, const struct zh_config *cfg,
		       const struct zh_event *ev, struct zh_error *err)
{
	size_t i;

	if (!out)
		return zh_error_set(err, ZH_EINVALID, "missing output");
	out->items = NULL;
	out->len = 0;
	if (!cfg || !ev)
		return zh_error_set(err, ZH_EINVALID,
				    "missing config or event");
	if (!cfg->nrules)
		return 0;
	out->items = calloc(cfg->nrules, sizeof(*out->items));
	if (!out->items)
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (i = 0; i < cfg->nrules; i++) {
		struct zh_rule_verdict *v = &out->items[i];

		v->rule = &cfg->rules[i];
		v->verdict = zh_mapping_decide(v->reason, v->rule, ev, false);
	}
	out->len = cfg->nrules;
	return 0;
}

const char *zh_mapping_skip_marker(const char *message)
{
	static const char *const markers[] = {"[skip ci]", "[ci skip]",
					      "[skip zadig]"};
	const char *p;
	size_t i;

	if (!message)
		return NULL;
	for (p = strchr(message, '['); p; p = strchr(p + 1, '['))
		for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
			if (strncasecmp(p, markers[i], strlen(markers[i])) == 0)
				return markers[i];
	return NULL;
}

bool zh_mapping_has_skip_marker(const char *message)
{
	return zh_mapping_skip_marker(message) != NULL;
}

bool zh_mapping_may_fire(const struct zh_config *cfg, const struct zh_event *ev)
{
	char reason[sizeof(((struct zh_rule_verdict *)0)->reason)];
	size_t i;

	for (i = 0; cfg && ev && i < cfg->nrules; i++)
		if (zh_mapping_decide(reason, &cfg->rules[i], ev, true) ==
		    ZH_FIRE)
			return true;
	return false;
}

bool zh_mapping_may_fire_ref(const struct zh_config *cfg, const char *repo,
			     const char *ref)
{
	struct zh_event ev = {
	    .kind = strncmp(ref, "refs/tags/", 10) == 0 ? ZH_EVENT_TAG
							: ZH_EVENT_PUSH,
	    .repo = repo,
	    .ref = ref,
	};

	return zh_mapping_may_fire(cfg, &ev);
}
