#include "flow/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

static void copy_id(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int zh_flow_event_read(struct zh_flow_event *out, struct zh_repo *r,
		       const char *repo_root, const char *ref,
		       const char *old_hex, const char *new_hex, bool from_parent,
		       struct zh_error *err)
{
	struct zh_event *ev = &out->ev;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(out->ref = strdup(ref)))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	copy_id(out->before, sizeof(out->before), old_hex);
	copy_id(out->after, sizeof(out->after), new_hex);
	if ((rc = zh_repo_name(&out->repo_name, r, repo_root, err)) < 0)
		goto fail;

	ev->kind = strncmp(ref, "refs/tags/", 10) == 0 ? ZH_EVENT_TAG
						       : ZH_EVENT_PUSH;
	ev->repo = out->repo_name;
	ev->ref = out->ref;
	ev->before = out->before;
	ev->after = out->after;
	ev->deleted = zh_oid_is_zero(new_hex);
	if (ev->deleted)
		return 0;

	if ((rc = zh_repo_commit(&out->tip, r, new_hex, err)) < 0)
		goto fail;
	/* a tag may point at a tag object: from here on, name the commit */
	copy_id(out->after, sizeof(out->after), out->tip.id);
	if (from_parent && zh_oid_is_zero(old_hex))
		rc = zh_repo_tree_paths(&out->paths, r, out->tip.id, err);
	else
		rc = zh_repo_changed_paths_ref(&out->paths, r, ref, old_hex,
					       out->tip.id, err);
	if (rc < 0)
		goto fail;
	ev->message = out->tip.message;
	ev->author = out->tip.author;
	ev->author_email = out->tip.author_email;
	ev->paths = (const char *const *)out->paths.items;
	ev->npaths = out->paths.len;
	ev->all_paths = out->paths.all;
	return 0;
fail:
	zh_flow_event_dispose(out);
	return rc;
}

void zh_flow_event_dispose(struct zh_flow_event *e)
{
	if (!e)
		return;
	zh_commit_info_dispose(&e->tip);
	zh_paths_dispose(&e->paths);
	free(e->repo_name);
	free(e->ref);
	memset(e, 0, sizeof(*e));
}
