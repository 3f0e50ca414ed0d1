/* Request authentication of the receiver (design.md §6): shared secrets
 * compared in constant time, Standard Webhooks signatures, delivery keys.
 * Pure functions over OpenSSL's libcrypto. */
#ifndef ZH_WEBHOOK_AUTH_H
#define ZH_WEBHOOK_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* How far webhook-timestamp may be from now, either way. */
#define ZH_WEBHOOK_SIGNATURE_TOLERANCE_S 300

/* True when given equals want, compared in constant time: the time taken
 * grows with the lengths only, never tells where the strings differ (every
 * byte of given is compared against want read cyclically). NULL given is
 * never equal; NULL want matches nothing. */
bool zh_webhook_secret_equal(const char *given, const char *want);

/* Verify a Standard Webhooks signature: key is "whsec_<base64>" (the
 * prefix is optional), sigs the webhook-signature header (one or more
 * space-separated "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>"),
 * ts the webhook-timestamp header (unix seconds, within
 * ZH_WEBHOOK_SIGNATURE_TOLERANCE_S of now_s). Returns 0 when one
 * signature matches, ZH_EINVALID with the reason ("missing header
 * 'webhook-id'", "stale timestamp", "no signature matches") otherwise,
 * ZH_ECONFIG when the key does not decode. */
int zh_webhook_verify_signature(const char *key, const char *id, const char *ts,
				const char *sigs, const char *body, size_t len,
				int64_t now_s, struct zh_error *err);

/* The signature header value ("v1,<base64>") for id, ts and body, as
 * GitLab sends it (tests). *out is malloc'd. Returns 0, ZH_ECONFIG or
 * ZH_ENOMEM. */
int zh_webhook_sign(char **out, const char *key, const char *id, const char *ts,
		    const char *body, size_t len, struct zh_error *err);

/* The delivery key of a body that came without Idempotency-Key or
 * X-Gitlab-Event-UUID: "sha256:<hex of SHA-256(body)>". */
#define ZH_WEBHOOK_BODY_KEY_LEN (7 + 64)
void zh_webhook_body_key(char out[ZH_WEBHOOK_BODY_KEY_LEN + 1],
			 const char *body, size_t len);

/* True when a delivery key sent by a client is acceptable: 1 to 200
 * printable ASCII characters without spaces. */
bool zh_webhook_key_valid(const char *key);

#endif
