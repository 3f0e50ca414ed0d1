/* The variables of design.md §4.3, skip markers and callback signatures. */
#include "mapping/expand.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#ifndef ZH_LIBCRYPTO_SONAME
#define ZH_LIBCRYPTO_SONAME "libcrypto.so.3"
#endif

#include "util/banned.h"
#include "util/buf.h"

/* No expanded string is anywhere near this; it only bounds a runaway. */
#define EXPAND_MAX (16u << 20)

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static const char *strip_prefix(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(s, prefix, n) == 0 ? s + n : s;
}

const char *zh_mapping_build_branch(const struct zh_event *ev)
{
	const char *ref = or_empty(ev->ref);

	switch (ev->kind) {
	case ZH_EVENT_MERGE_REQUEST:
		/* a fork's branch is not the project's (a fork's main is
		 * not main): Zadig merges the merge request (pr) into the
		 * target branch */
		if (ev->mr_fork && ev->mr_target_branch)
			return ev->mr_target_branch;
		if (ev->mr_source_branch)
			return ev->mr_source_branch;
		return strip_prefix(ref, "refs/heads/");
	case ZH_EVENT_TAG:
		return strip_prefix(ref, "refs/tags/");
	case ZH_EVENT_PUSH:
	default:
		return strip_prefix(ref, "refs/heads/");
	}
}

void zh_mapping_vars_init(struct zh_mapping_vars *v, const struct zh_event *ev,
			  const struct zh_rule *rule)
{
	bool mr = ev->kind == ZH_EVENT_MERGE_REQUEST;
	bool tag = ev->kind == ZH_EVENT_TAG;

	memset(v, 0, sizeof(*v));
	v->repo = or_empty(ev->repo);
	v->branch = tag ? "" : zh_mapping_build_branch(ev);
	v->tag = tag ? zh_mapping_build_branch(ev) : "";
	v->ref = or_empty(ev->ref);
	v->commit = or_empty(ev->after);
	v->before = or_empty(ev->before);
	v->author = or_empty(ev->author);
	v->author_email = or_empty(ev->author_email);
	v->mr_target_branch = mr ? or_empty(ev->mr_target_branch) : "";
	v->rule = rule ? or_empty(rule->name) : "";
	snprintf(v->short_commit, sizeof(v->short_commit), "%.8s", v->commit);
	if (mr)
		snprintf(v->mr_iid, sizeof(v->mr_iid), "%" PRId64, ev->mr_iid);
}

static bool is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

/* The value of variable name[0..len), or NULL for a name we do not own. */
static const char *lookup(const struct zh_mapping_vars *v, const char *name,
			  size_t len)
{
	if (is(name, len, "REPO"))
		return v->repo;
	if (is(name, len, "BRANCH"))
		return v->branch;
	if (is(name, len, "TAG"))
		return v->tag;
	if (is(name, len, "REF"))
		return v->ref;
	if (is(name, len, "COMMIT"))
		return v->commit;
	if (is(name, len, "SHORT_COMMIT"))
		return v->short_commit;
	if (is(name, len, "BEFORE"))
		return v->before;
	if (is(name, len, "AUTHOR"))
		return v->author;
	if (is(name, len, "AUTHOR_EMAIL"))
		return v->author_email;
	if (is(name, len, "MR_IID"))
		return v->mr_iid;
	if (is(name, len, "MR_TARGET_BRANCH"))
		return v->mr_target_branch;
	if (is(name, len, "RULE"))
		return v->rule;
	return NULL;
}

int zh_mapping_expand_vars(char **out, const char *s,
			   const struct zh_mapping_vars *v)
{
	struct zh_buf b;
	const char *p = s ? s : "";
	int rc = 0;

	*out = NULL;
	zh_buf_init(&b, EXPAND_MAX);
	while (*p) {
		const char *dollar = strstr(p, "${");
		const char *end, *val = NULL;

		if (!dollar) {
			rc = zh_buf_puts(&b, p);
			break;
		}
		if ((rc = zh_buf_append(&b, p, (size_t)(dollar - p))) < 0)
			goto out;
		end = strchr(dollar + 2, '}');
		if (end)
			val = lookup(v, dollar + 2, (size_t)(end - dollar - 2));
		if (val) {
			rc = zh_buf_puts(&b, val);
			p = end + 1;
		} else {
			/* not ours: keep "${" and look again after it, so
			 * "${X${REPO}" still expands the second one */
			rc = zh_buf_append(&b, dollar, 2);
			p = dollar + 2;
		}
		if (rc < 0)
			goto out;
	}
	if (rc < 0)
		goto out;
	if (!(*out = zh_buf_detach(&b)))
		rc = ZH_ENOMEM;
out:
	zh_buf_dispose(&b);
	return rc;
}

int zh_mapping_expand(char **out, const char *s, const struct zh_event *ev,
		      const struct zh_rule *rule)
{
	struct zh_mapping_vars v;

	if (!out || !ev) {
		if (out)
			*out = NULL;
		return ZH_EINVALID;
	}
	zh_mapping_vars_init(&v, ev, rule);
	return zh_mapping_expand_vars(out, s, &v);
}

int zh_mapping_expand_value(struct zh_value **out, const struct zh_value *in,
			    const struct zh_mapping_vars *v)
{
	struct zh_value *c = NULL;
	char *s = NULL;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (!in)
		return 0;
	switch (in->type) {
	case ZH_VALUE_STRING:
		if ((rc = zh_mapping_expand_vars(&s, in->u.s, v)) < 0)
			goto out;
		c = zh_value_new(ZH_VALUE_STRING);
		if (!c) {
			rc = ZH_ENOMEM;
			goto out;
		}
		c->u.s = s;
		s = NULL;
		break;
	case ZH_VALUE_LIST:
	case ZH_VALUE_MAP:
		if (!(c = zh_value_new(in->type))) {
			rc = ZH_ENOMEM;
			goto out;
		}
		for (i = 0; i < in->len; i++) {
			struct zh_value *item;

			rc = zh_mapping_expand_value(&item, in->items[i], v);
			if (rc < 0)
				goto out;
			if (!item && !(item = zh_value_new(ZH_VALUE_NULL))) {
				rc = ZH_ENOMEM;
				goto out;
			}
			/* map keys are names, never expanded */
			rc = zh_value_append(
			    c, in->type == ZH_VALUE_MAP ? in->keys[i] : NULL,
			    item);
			if (rc < 0)
				goto out;
		}
		break;
	default:
		if (!(c = zh_value_dup(in))) {
			rc = ZH_ENOMEM;
			goto out;
		}
	}
	c->line = in->line;
	c->col = in->col;
	*out = c;
	c = NULL;
out:
	free(s);
	zh_value_free(c);
	return rc;
}

/* OpenSSL's HMAC, loaded (dlopen) the first time something is signed:
 * linked from the archives, libcrypto's set-up at start and its clean-up
 * at exit cost every hook run ~0.4 ms (docs/BENCHMARKS.md), and most sign
 * nothing (only rules with callback: true do). A program that links
 * libcrypto (the receiver) gets the copy it already has. */
static struct {
	const EVP_MD *(*sha256)(void);
	unsigned char *(*hmac)(const EVP_MD *md, const void *key, int keylen,
			       const unsigned char *data, size_t n,
			       unsigned char *out, unsigned int *outlen);
} crypto;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void crypto_load(void)
{
	void *lib = dlopen(ZH_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	void *sha256, *hmac;

	/* kept loaded for the life of the process, like a linked library */
	if (!lib || !(sha256 = dlsym(lib, "EVP_sha256")) ||
	    !(hmac = dlsym(lib, "HMAC")))
		return;
	/* dlsym into function pointers: POSIX guarantees the conversion */
	*(void **)&crypto.sha256 = sha256;
	*(void **)&crypto.hmac = hmac;
}

int zh_mapping_sign(char **out, const char *secret, const char *trigger_id)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char *s;

	if (!out)
		return ZH_EINVALID;
	*out = NULL;
	if (!secret || !trigger_id)
		return ZH_EINVALID;
	pthread_once(&crypto_once, crypto_load);
	if (!crypto.hmac)
		return ZH_ENOTFOUND;
	if (!crypto.hmac(crypto.sha256(), secret, (int)strlen(secret),
			 (const unsigned char *)trigger_id, strlen(trigger_id),
			 md, &mdlen))
		return ZH_ENOMEM;
	if (!(s = malloc(2 * (size_t)mdlen + 1)))
		return ZH_ENOMEM;
	for (i = 0; i < mdlen; i++) {
		s[2 * i] = hex[md[i] >> 4];
		s[2 * i + 1] = hex[md[i] & 15];
	}
	s[2 * mdlen] = '\0';
	*out = s;
	return 0;
}
