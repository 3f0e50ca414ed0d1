/* webhook/auth.c: constant-time secrets, Standard Webhooks signatures,
 * delivery keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/error.h"
#include "webhook/auth.h"

#include "util/banned.h"

/* The Standard Webhooks reference vector (standard-webhooks spec). */
static const char KEY[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static const char ID[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
static const char TS[] = "1614265330";
static const char BODY[] = "{\"test\": 2432232314}";
static const char SIG[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
#define NOW 1614265330

static void test_secret_equal(void **state)
{
	(void)state;
	assert_true(zh_webhook_secret_equal("s3cret", "s3cret"));
	assert_false(zh_webhook_secret_equal("s3cre", "s3cret"));
	assert_false(zh_webhook_secret_equal("s3cret!", "s3cret"));
	assert_false(zh_webhook_secret_equal("", "s3cret"));
	assert_false(zh_webhook_secret_equal(NULL, "s3cret"));
	assert_false(zh_webhook_secret_equal("s3cret", NULL));
	/* an empty secret lets nobody in, an empty header included */
	assert_false(zh_webhook_secret_equal("", ""));
	assert_false(zh_webhook_secret_equal("x", ""));
}

static void test_sign_vector(void **state)
{
	struct zh_error err = {0};
	char *sig = NULL;

	(void)state;
	assert_int_equal(
	    zh_webhook_sign(&sig, KEY, ID, TS, BODY, strlen(BODY), &err), 0);
	assert_string_equal(sig, SIG);
	free(sig);
}

static int verify(const char *id, const char *ts, const char *sigs,
		  const char *body, int64_t now, struct zh_error *err)
{
	return zh_webhook_verify_signature(KEY, id, ts, sigs, body,
					   strlen(body), now, err);
}

static void test_verify(void **state)
{
	struct zh_error err = {0};
	char several[256];

	(void)state;
	assert_int_equal(verify(ID, TS, SIG, BODY, NOW, &err), 0);
	assert_int_equal(verify(ID, TS, SIG, BODY, NOW + 299, &err), 0);
	/* several signatures (key rotation): any one may match */
	snprintf(several, sizeof(several), "v1,AAAA v2,xyz %s", SIG);
	assert_int_equal(verify(ID, TS, several, BODY, NOW, &err), 0);

	assert_int_equal(
	    verify(ID, TS, SIG, "{\"test\": 2432232315}", NOW, &err),
	    ZH_EINVALID);
	assert_string_equal(err.msg, "no signature matches");
	assert_int_equal(verify("msg_other", TS, SIG, BODY, NOW, &err),
			 ZH_EINVALID);
	assert_int_equal(verify(ID, TS, SIG, BODY, NOW + 301, &err),
			 ZH_EINVALID);
	assert_string_equal(err.msg, "stale webhook-timestamp");
	assert_int_equal(verify(ID, TS, SIG, BODY, NOW - 301, &err),
			 ZH_EINVALID);
	assert_int_equal(verify(ID, "12x", SIG, BODY, NOW, &err), ZH_EINVALID);
	assert_int_equal(verify(NULL, TS, SIG, BODY, NOW, &err), ZH_EINVALID);
	assert_string_equal(err.msg, "missing header 'webhook-id'");
	assert_int_equal(verify(ID, TS, NULL, BODY, NOW, &err), ZH_EINVALID);
	assert_int_equal(verify(ID, TS, "v1,", BODY, NOW, &err), ZH_EINVALID);
	assert_int_equal(verify(ID, TS, "v1,!!!!", BODY, NOW, &err),
			 ZH_EINVALID);
	assert_int_equal(zh_webhook_verify_signature("whsec_!", ID, TS, SIG,
						     BODY, strlen(BODY), NOW,
						     &err),
			 ZH_ECONFIG);
	/* the prefix is optional */
	assert_int_equal(zh_webhook_verify_signature(KEY + 6, ID, TS, SIG, BODY,
						     strlen(BODY), NOW, &err),
			 0);
}

static void test_keys(void **state)
{
	char k[ZH_WEBHOOK_BODY_KEY_LEN + 1];
	char longkey[300];

	(void)state;
	zh_webhook_body_key(k, "", 0);
	assert_string_equal(k, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41"
			       "e4649b934ca495991b7852b855");
	assert_true(
	    zh_webhook_key_valid("a5461c4d-9c7f-4af9-add6-cddebe3c426f"));
	assert_false(zh_webhook_key_valid(""));
	assert_false(zh_webhook_key_valid(NULL));
	assert_false(zh_webhook_key_valid("a b"));
	assert_false(zh_webhook_key_valid("a\nb"));
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_false(zh_webhook_key_valid(longkey));
	longkey[200] = '\0';
	assert_true(zh_webhook_key_valid(longkey));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_equal),
	    cmocka_unit_test(test_sign_vector),
	    cmocka_unit_test(test_verify),
	    cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
