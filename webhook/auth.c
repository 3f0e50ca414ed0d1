#include "webhook/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "util/banned.h"

bool zh_webhook_secret_equal(const char *given, const char *want)
{
	size_t gl, wl, i, j = 0;
	unsigned char d;

	/* an empty secret authenticates nobody (the config refuses one;
	 * this holds should one get here) */
	if (!given || !want || !*want)
		return false;
	/* not hashed: OpenSSL's digests cost each request a provider
	 * lookup and the process ~2 MB of libcrypto pages. Every byte of
	 * given is compared, with want read cyclically (no branch on its
	 * contents), the differences or'ed: no early exit. */
	gl = strlen(given);
	wl = strlen(want);
	d = (unsigned char)(gl != wl);
	for (i = 0; i < gl; i++) {
		d |= (unsigned char)((unsigned char)given[i] ^
				     (unsigned char)want[j]);
		j++;
		j &= (size_t)0 - (size_t)(j < wl);
	}
	return d == 0;
}

/* Decode standard base64 (with padding) into out; *n gets the length.
 * Returns 0 or -1 for malformed input or too small an out. */
static int b64_decode(unsigned char *out, size_t cap, size_t *n, const char *in,
		      size_t len)
{
	unsigned char *tmp;
	int got;
	size_t pad = 0;

	if (len == 0 || len % 4 || len > 4096)
		return -1;
	if (in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	if (!(tmp = malloc(len / 4 * 3 + 1)))
		return -1;
	got = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (got < 0 || (size_t)got < pad || (size_t)got - pad > cap) {
		free(tmp);
		return -1;
	}
	*n = (size_t)got - pad;
	memcpy(out, tmp, *n);
	free(tmp);
	return 0;
}

static int decode_key(unsigned char *k, size_t *klen, const char *key,
		      struct zh_error *err)
{
	if (!key)
		return zh_error_set(err, ZH_ECONFIG, "no signing key");
	if (strncmp(key, "whsec_", 6) == 0)
		key += 6;
	if (b64_decode(k, 256, klen, key, strlen(key)) < 0 || *klen == 0)
		return zh_error_set(err, ZH_ECONFIG,
				    "webhook.signing_key is not "
				    "'whsec_<base64 key>'");
	return 0;
}

static int mac(unsigned char out[32], const unsigned char *k, size_t klen,
	       const char *id, const char *ts, const char *body, size_t len)
{
	size_t il = strlen(id), tl = strlen(ts), total = il + 1 + tl + 1 + len;
	unsigned char *msg = malloc(total);
	unsigned int n = 0;
	int ok;

	if (!msg)
		return -1;
	memcpy(msg, id, il);
	msg[il] = '.';
	memcpy(msg + il + 1, ts, tl);
	msg[il + 1 + tl] = '.';
	memcpy(msg + il + tl + 2, body, len);
	ok = HMAC(EVP_sha256(), k, (int)klen, msg, total, out, &n) != NULL;
	free(msg);
	return ok && n == 32 ? 0 : -1;
}

int zh_webhook_verify_signature(const char *key, const char *id, const char *ts,
				const char *sigs, const char *body, size_t len,
				int64_t now_s, struct zh_error *err)
{
	unsigned char k[256], want[32];
	size_t klen;
	long long t;
	char *end;
	const char *p;
	int rc;

	if ((rc = decode_key(k, &klen, key, err)) < 0)
		return rc;
	if (!id || !*id)
		return zh_error_set(err, ZH_EINVALID,
				    "missing header 'webhook-id'");
	if (!ts || !*ts)
		return zh_error_set(err, ZH_EINVALID,
				    "missing header 'webhook-timestamp'");
	if (!sigs || !*sigs)
		return zh_error_set(err, ZH_EINVALID,
				    "missing header 'webhook-signature'");
	errno = 0;
	t = strtoll(ts, &end, 10);
	if (errno || *end || end == ts)
		return zh_error_set(err, ZH_EINVALID,
				    "malformed header 'webhook-timestamp'");
	if (t < now_s - ZH_WEBHOOK_SIGNATURE_TOLERANCE_S ||
	    t > now_s + ZH_WEBHOOK_SIGNATURE_TOLERANCE_S)
		return zh_error_set(err, ZH_EINVALID,
				    "stale webhook-timestamp");
	if (mac(want, k, klen, id, ts, body, len) < 0)
		return zh_error_set(err, ZH_ENOMEM, "cannot compute hmac");
	for (p = sigs; *p;) {
		const char *e;
		unsigned char got[64];
		size_t n = 0;

		while (*p == ' ')
			p++;
		e = p + strcspn(p, " ");
		if (e - p > 3 && strncmp(p, "v1,", 3) == 0 &&
		    b64_decode(got, sizeof(got), &n, p + 3,
			       (size_t)(e - p - 3)) == 0 &&
		    n == sizeof(want) && CRYPTO_memcmp(got, want, n) == 0)
			return 0;
		p = e;
	}
	return zh_error_set(err, ZH_EINVALID, "no signature matches");
}

int zh_webhook_sign(char **out, const char *key, const char *id, const char *ts,
		    const char *body, size_t len, struct zh_error *err)
{
	unsigned char k[256], m[32];
	size_t klen;
	int rc;

	*out = NULL;
	if ((rc = decode_key(k, &klen, key, err)) < 0)
		return rc;
	if (mac(m, k, klen, id, ts, body, len) < 0 || !(*out = malloc(64)))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	memcpy(*out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)*out + 3, m, sizeof(m));
	return 0;
}

void zh_webhook_body_key(char out[ZH_WEBHOOK_BODY_KEY_LEN + 1],
			 const char *body, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256((const unsigned char *)body, len, d);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < sizeof(d); i++) {
		out[7 + 2 * i] = hex[d[i] >> 4];
		out[8 + 2 * i] = hex[d[i] & 15];
	}
	out[ZH_WEBHOOK_BODY_KEY_LEN] = '\0';
}

bool zh_webhook_key_valid(const char *key)
{
	size_t n;

	if (!key || !*key)
		return false;
	for (n = 0; key[n]; n++)
		if (key[n] <= ' ' || key[n] > '~' || n >= 200)
			return false;
	return true;
}
