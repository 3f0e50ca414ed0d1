/* The requests the rules that fire for an event send (design.md §4.4);
 * which rules fire is decided in decide.c. */
#include "mapping/mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping/expand.h"
#include "util/banned.h"
#include "util/buf.h"

/* ---- triggers ---- */

/* Expand s into *out; a NULL s stays NULL (optional fields). */
static int xdup(char **out, const char *s, const struct zh_mapping_vars *v)
{
	*out = NULL;
	if (!s)
		return 0;
	return zh_mapping_expand_vars(out, s, v);
}

static int sdup(char **out, const char *s)
{
	*out = strdup(s ? s : "");
	return *out ? 0 : ZH_ENOMEM;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static int callback_url(char **out, const char *base, const char *id,
			const char *secret)
{
	static const char hex[] = "0123456789ABCDEF";
	struct zh_buf b;
	char *sig = NULL;
	size_t n = strlen(base);
	const unsigned char *p;
	int rc;

	*out = NULL;
	zh_buf_init(&b, 64 * 1024);
	while (n && base[n - 1] == '/')
		n--;
	if ((rc = zh_mapping_sign(&sig, secret, id)) < 0)
		goto out;
	if ((rc = zh_buf_append(&b, base, n)) < 0 ||
	    (rc = zh_buf_puts(&b, "/callback/zadig?k=")) < 0)
		goto out;
	for (p = (const unsigned char *)id; *p; p++) {
		char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};

		if (unreserved(*p))
			rc = zh_buf_append(&b, p, 1);
		else
			rc = zh_buf_append(&b, esc, 3);
		if (rc < 0)
			goto out;
	}
	if ((rc = zh_buf_printf(&b, "&s=%s", sig)) < 0)
		goto out;
	if (!(*out = zh_buf_detach(&b)))
		rc = ZH_ENOMEM;
out:
	free(sig);
	zh_buf_dispose(&b);
	return rc;
}

static int callback_vars(struct zh_zadig_product_req *p,
			 const struct zh_rule *r, const struct zh_event *ev)
{
	const char *keys[] = {"repo", "ref", "commit", "rule"};
	const char *vals[] = {ev->repo, ev->ref, ev->after, r->name};
	size_t i;

	p->callback_vars = calloc(4, sizeof(*p->callback_vars));
	if (!p->callback_vars)
		return ZH_ENOMEM;
	p->ncallback_vars = 4;
	for (i = 0; i < 4; i++)
		if (sdup(&p->callback_vars[i].key, keys[i]) < 0 ||
		    sdup(&p->callback_vars[i].value, vals[i]) < 0)
			return ZH_ENOMEM;
	return 0;
}

static int build_product(struct zh_zadig_product_req *p,
			 const struct zh_rule *r, const struct zh_event *ev,
			 const struct zh_mapping_vars *v,
			 zh_trigger_id_fn trigger_id, void *ctx)
{
	const char *branch = zh_mapping_build_branch(ev);
	int64_t pr = ev->kind == ZH_EVENT_MERGE_REQUEST ? ev->mr_iid : 0;
	size_t i, j;
	int rc;

	if ((rc = xdup(&p->workflow_name, r->workflow.name, v)) < 0 ||
	    (rc = xdup(&p->env_name, r->workflow.env, v)) < 0 ||
	    (rc = xdup(&p->project, r->workflow.project, v)) < 0)
		return rc;
	if (r->workflow.ntargets) {
		p->targets = calloc(r->workflow.ntargets, sizeof(*p->targets));
		if (!p->targets)
			return ZH_ENOMEM;
		p->ntargets = r->workflow.ntargets;
	}
	for (i = 0; i < p->ntargets; i++) {
		const struct zh_rule_target *rt = &r->workflow.targets[i];
		struct zh_zadig_target *t = &p->targets[i];

		if ((rc = xdup(&t->name, rt->name, v)) < 0 ||
		    (rc = xdup(&t->service_type, rt->service_type, v)) < 0)
			return rc;
		if (!rt->repos.len)
			continue;
		t->repos = calloc(rt->repos.len, sizeof(*t->repos));
		if (!t->repos)
			return ZH_ENOMEM;
		t->nrepos = rt->repos.len;
		for (j = 0; j < t->nrepos; j++) {
			if ((rc = xdup(&t->repos[j].repo_name,
				       rt->repos.items[j], v)) < 0 ||
			    (rc = sdup(&t->repos[j].branch, branch)) < 0)
				return rc;
			t->repos[j].pr = pr;
		}
	}
	rc = zh_mapping_expand_value(&p->release_images,
				     r->workflow.release_images, v);
	if (rc < 0)
		return rc;
	/* No secret, no way for the receiver to verify the callback: then
	 * Zadig is polled like for any other task. */
	if (r->workflow.callback && ev->callback_base && ev->callback_secret &&
	    trigger_id) {
		char *id = trigger_id(ctx, r, ev);

		if (!id)
			return 0;
		rc = callback_url(&p->callback_url, ev->callback_base, id,
				  ev->callback_secret);
		free(id);
		if (rc == ZH_ENOTFOUND)
			return 0; /* libcrypto cannot be loaded: polled */
		if (rc < 0)
			return rc;
		return callback_vars(p, r, ev);
	}
	return 0;
}

static int build_custom(struct zh_zadig_custom_req *c, const struct zh_rule *r,
			const struct zh_mapping_vars *v)
{
	int rc;

	if ((rc = xdup(&c->project, r->custom_workflow.project, v)) < 0 ||
	    (rc = xdup(&c->workflow_name, r->custom_workflow.name, v)) < 0)
		return rc;
	return zh_mapping_expand_value(&c->inputs, r->custom_workflow.inputs,
				       v);
}

static void trigger_dispose(struct zh_trigger *t)
{
	zh_zadig_product_req_dispose(&t->product);
	zh_zadig_custom_req_dispose(&t->custom_req);
	free(t->commit);
	free(t->ref);
	memset(t, 0, sizeof(*t));
}

void zh_trigger_list_dispose(struct zh_trigger_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->len; i++)
		trigger_dispose(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->len = 0;
}

int zh_mapping_match(struct zh_trigger_list *out, const struct zh_config *cfg,
		     const struct zh_event *ev, zh_trigger_id_fn trigger_id,
		     void *ctx, struct zh_error *err)
{
	char reason[sizeof(((struct zh_rule_verdict *)0)->reason)];
	size_t i;
	int rc = 0;

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
		const struct zh_rule *r = &cfg->rules[i];
		struct zh_trigger *t = &out->items[out->len];
		struct zh_mapping_vars v;

		if (zh_mapping_decide(reason, r, ev, false) != ZH_FIRE)
			continue;
		/* counted first, so that a half-built trigger is freed too */
		out->len++;
		t->rule = r;
		t->custom = r->custom;
		zh_mapping_vars_init(&v, ev, r);
		if ((rc = sdup(&t->commit, ev->after)) < 0 ||
		    (rc = sdup(&t->ref, ev->ref)) < 0)
			goto out;
		if (r->custom)
			rc = build_custom(&t->custom_req, r, &v);
		else
			rc = build_product(&t->product, r, ev, &v, trigger_id,
					   ctx);
		if (rc < 0)
			goto out;
	}
	if (!out->len) {
		free(out->items);
		out->items = NULL;
	}
out:
	if (rc < 0) {
		zh_trigger_list_dispose(out);
		/* the header promises EINVALID or ENOMEM */
		if (rc == ZH_ETOOBIG)
			return zh_error_set(
			    err, ZH_EINVALID,
			    "expanded string of rule '%s' is too long",
			    cfg->rules[i].name ? cfg->rules[i].name : "");
		return zh_error_set(err, rc, "out of memory");
	}
	return 0;
}
