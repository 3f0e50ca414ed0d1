/* zh_zadig_check_reply against every reply shape of zadig-api-notes.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/banned.h"
#include "util/error.h"
#include "zadig/zadig.h"

static struct zh_error err;

static int check(long http, const char *body)
{
	memset(&err, 0x55, sizeof(err));
	err.msg[0] = '\0';
	return zh_zadig_check_reply(http, body, body ? strlen(body) : 0, &err);
}

/* an action's 2xx answer: empty or JSON, never a page */
static void action_acks(void **state)
{
	const char *page = "<!doctype html><html>Sign in</html>";

	(void)state;
	assert_int_equal(
	    zh_zadig_check_ack("{\"message\":\"success\"}", 21, &err), 0);
	assert_int_equal(zh_zadig_check_ack("", 0, &err), 0);
	assert_int_equal(zh_zadig_check_ack(NULL, 0, &err), 0);
	assert_int_equal(zh_zadig_check_ack(" \n", 2, &err), 0);
	assert_int_equal(zh_zadig_check_ack(page, strlen(page), &err),
			 ZH_EPROTO);
	assert_non_null(strstr(err.msg, "not JSON"));
	assert_non_null(strstr(err.msg, "<!doctype html>"));
}

static void auth_401_403(void **state)
{
	(void)state;
	assert_int_equal(check(401, ""), ZH_EAUTH);
	assert_string_equal(err.msg, "zadig refused the token (HTTP 401): "
				     "check zadig.token");
	assert_int_equal(err.http, 401);
	assert_int_equal(err.zadig_code, 0);
	assert_int_equal(check(403, NULL), ZH_EAUTH);
	assert_int_equal(err.http, 403);
	assert_non_null(strstr(err.msg, "zadig denied permission (HTTP 403)"));
}

static void business_error(void **state)
{
	(void)state;
	assert_int_equal(
	    check(400, "{\"code\": 6163, \"description\": \"task: "
		       "build-images:20 is passed, cannot cancel\", "
		       "\"extra\": {}, \"message\": \"取消工作流任务失败\", "
		       "\"type\": \"error\"}"),
	    ZH_EZADIG);
	assert_string_equal(err.msg, "zadig 6163: 取消工作流任务失败 (task: "
				     "build-images:20 is passed, cannot "
				     "cancel)");
	assert_int_equal(err.http, 400);
	assert_int_equal(err.zadig_code, 6163);

	/* empty description: no parentheses */
	assert_int_equal(check(400, "{\"code\":6540,\"description\":\"\","
				    "\"extra\":{},\"message\":\"新建或更新"
				    "wokflow失败\",\"type\":\"error\"}"),
			 ZH_EZADIG);
	assert_string_equal(err.msg, "zadig 6540: 新建或更新wokflow失败");

	/* the HTTP status itself can carry a business error */
	assert_int_equal(check(404,
			       "{\"code\":6169,\"description\":\"stage "
			       "deploy do not need approve\",\"message\":"
			       "\"批准工作流任务失败\",\"type\":\"error\"}"),
			 ZH_EZADIG);
	assert_int_equal(err.zadig_code, 6169);
	assert_int_equal(err.http, 404);
}

static void internal_error(void **state)
{
	(void)state;
	assert_int_equal(check(500, "{\"code\": 500, \"description\": \"mongo: "
				    "no documents in result\", \"message\": "
				    "\"Internal Error: \"}"),
			 ZH_EZADIG);
	assert_string_equal(err.msg, "zadig 500: Internal Error (mongo: no "
				     "documents in result)");
	assert_int_equal(err.zadig_code, 500);
	assert_int_equal(err.http, 500);
}

static void proxied_error(void **state)
{
	(void)state;
	assert_int_equal(
	    check(500, "{\n    \"code\": 500,\n    \"description\": \"[400 "
		       "BadRequest] {\\\"code\\\":6161,\\\"description\\\":"
		       "\\\"\\\",\\\"extra\\\":{},\\\"message\\\":\\\"获取工"
		       "作流任务失败\\\",\\\"type\\\":\\\"error\\\"}\",\n"
		       "    \"message\": \"Internal Error: \"\n}"),
	    ZH_EZADIG);
	assert_string_equal(err.msg, "zadig 6161: 获取工作流任务失败");
	assert_int_equal(err.zadig_code, 6161);
	assert_int_equal(err.http, 500);

	/* an inner text that is not json: keep the outer description */
	assert_int_equal(check(500, "{\"code\":500,\"description\":\"[502 "
				    "BadGateway] {oops\",\"message\":"
				    "\"Internal Error: \"}"),
			 ZH_EZADIG);
	assert_string_equal(err.msg, "zadig 500: Internal Error ([502 "
				     "BadGateway] {oops)");
}

/* The status of Zadig's backend, proxied in a 500's description
 * ("[400 BadRequest] ..."), is what says what became of the request:
 * kept beside the HTTP status, which the logs keep. A proxied 401 or 403
 * is a refused token or a missing permission, as a plain one. */
static void proxied_status(void **state)
{
	(void)state;
	assert_int_equal(
	    check(500, "{\"code\":500,\"description\":\"[400 BadRequest] "
		       "{\\\"code\\\":6540,\\\"message\\\":\\\"x\\\"}\","
		       "\"message\":\"Internal Error: \"}"),
	    ZH_EZADIG);
	assert_int_equal(err.http, 500);
	assert_int_equal(err.proxied_http, 400);
	assert_int_equal(zh_zadig_error_status(&err), 400);
	assert_int_equal(err.zadig_code, 6540);

	/* an inner text that is not json still names the status */
	assert_int_equal(check(500, "{\"code\":500,\"description\":\"[502 "
				    "BadGateway] {oops\",\"message\":"
				    "\"Internal Error: \"}"),
			 ZH_EZADIG);
	assert_int_equal(err.proxied_http, 502);
	assert_int_equal(zh_zadig_error_status(&err), 502);

	assert_int_equal(check(500, "{\"code\":500,\"description\":\"[403 "
				    "Forbidden] \",\"message\":\"Internal "
				    "Error: \"}"),
			 ZH_EAUTH);
	assert_non_null(strstr(err.msg, "zadig denied permission (HTTP 403)"));
	assert_int_equal(err.http, 500);
	assert_int_equal(zh_zadig_error_status(&err), 403);
	assert_int_equal(check(500, "{\"code\":500,\"description\":\"[401 "
				    "Unauthorized] \",\"message\":\"Internal "
				    "Error: \"}"),
			 ZH_EAUTH);
	assert_non_null(strstr(err.msg, "zadig refused the token (HTTP 401)"));

	/* no status there: none */
	assert_int_equal(check(500, "{\"code\":500,\"description\":\"[oops] "
				    "x\",\"message\":\"Internal Error: \"}"),
			 ZH_EZADIG);
	assert_int_equal(err.proxied_http, 0);
	assert_int_equal(zh_zadig_error_status(&err), 500);
	assert_int_equal(check(400, "{\"code\":6540,\"description\":\"[400 "
				    "BadRequest] y\",\"message\":\"m\"}"),
			 ZH_EZADIG);
	assert_int_equal(err.proxied_http, 0);
	assert_int_equal(check(404, "404 page not found"), ZH_EZADIG);
	assert_int_equal(err.proxied_http, 0);
	assert_int_equal(zh_zadig_error_status(&err), 404);
}

static void result_code(void **state)
{
	(void)state;
	assert_int_equal(check(200, "{\"resultCode\":0,\"errorMsg\":"
				    "\"success\"}"),
			 0);
	assert_int_equal(check(200, "{\"resultCode\":500,\"errorMsg\":"
				    "\"fail\"}"),
			 ZH_EZADIG);
	assert_string_equal(err.msg, "zadig 500: fail");
	assert_int_equal(err.zadig_code, 500);
	assert_int_equal(err.http, 200);
	assert_int_equal(check(400, "{\"resultCode\":400,\"errorMsg\":"
				    "\"param is illegal!\"}"),
			 ZH_EZADIG);
	assert_string_equal(err.msg, "zadig 400: param is illegal!");
}

/* The seed's error codes of the lookup, and what restart and cancel
 * answer a user without the right: a refused token, a denied permission,
 * as the HTTP 401 and 403 are, not Zadig refusing the request. */
static void result_code_auth(void **state)
{
	(void)state;
	assert_int_equal(check(200, "{\"resultCode\":401,\"errorMsg\":"
				    "\"auth failed!\"}"),
			 ZH_EAUTH);
	assert_string_equal(err.msg, "zadig refused the token (resultCode "
				     "401: auth failed!): check zadig.token");
	assert_int_equal(err.zadig_code, 401);
	assert_int_equal(err.http, 200);
	assert_int_equal(check(200, "{\"resultCode\":403,\"errorMsg\":"
				    "\"forbidden\"}"),
			 ZH_EAUTH);
	assert_string_equal(err.msg, "zadig denied permission (resultCode "
				     "403: forbidden): the token's user may "
				     "not do this in this project");
	assert_int_equal(err.zadig_code, 403);
}

static void successes(void **state)
{
	(void)state;
	assert_int_equal(check(200, "{\"message\":\"success\"}"), 0);
	assert_int_equal(check(200, ""), 0);
	assert_int_equal(check(200, NULL), 0);
	assert_int_equal(check(200, "[{\"task_id\":1}]"), 0);
	assert_int_equal(check(201, "not json at all"), 0);
	assert_int_equal(check(204, "  \n"), 0);
}

static void empty_and_text(void **state)
{
	(void)state;
	assert_int_equal(check(400, ""), ZH_EZADIG);
	assert_string_equal(err.msg, "zadig answered HTTP 400 with no body");
	assert_int_equal(err.http, 400);
	assert_int_equal(err.zadig_code, 0);

	assert_int_equal(check(500, " \r\n"), ZH_EZADIG);
	assert_string_equal(err.msg, "zadig answered HTTP 500 with no body");

	/* a 404 without Zadig's error: not Zadig's API there */
	assert_int_equal(check(404, "404 page not found"), ZH_EZADIG);
	assert_string_equal(err.msg, "zadig answered HTTP 404: 404 page not "
				     "found (no Zadig API at that address: "
				     "check zadig.url)");
	assert_int_equal(err.http, 404);
	assert_int_equal(check(404, ""), ZH_EZADIG);
	assert_string_equal(err.msg, "zadig answered HTTP 404 with no body (no "
				     "Zadig API at that address: check "
				     "zadig.url)");
	assert_int_equal(check(404, "{\"message\":\"no Route matched\"}"),
			 ZH_EZADIG);
	assert_string_equal(err.msg, "zadig answered HTTP 404: no Route "
				     "matched (no Zadig API at that address: "
				     "check zadig.url)");

	assert_int_equal(check(502, "\n  <html>\r\n<head><title>502 Bad "
				    "Gateway</title></head>"),
			 ZH_EZADIG);
	assert_string_equal(err.msg, "zadig answered HTTP 502: <html>");

	/* a json object of no known shape */
	assert_int_equal(check(405, "{\"message\":\"method not allowed\"}"),
			 ZH_EZADIG);
	assert_string_equal(err.msg, "zadig answered HTTP 405: method not "
				     "allowed");
	assert_int_equal(check(409, "[1,2]"), ZH_EZADIG);
	assert_string_equal(err.msg, "zadig answered HTTP 409: [1,2]");
}

static void long_text_is_cut(void **state)
{
	char body[1024];
	const char *line;
	size_t i, n;

	(void)state;
	for (i = 0; i + 3 < sizeof(body); i += 3)
		memcpy(body + i, "中", 3);
	body[i] = '\0';
	assert_int_equal(check(500, body), ZH_EZADIG);
	line = err.msg + strlen("zadig answered HTTP 500: ");
	n = strlen(line);
	assert_true(n > 150 && n <= 200);
	/* never half a UTF-8 sequence */
	assert_int_equal(n % 3, 0);
}

/* Whether s is whole UTF-8: no sequence cut short, none stray. */
static bool whole_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i;

	while (*p) {
		n = *p < 0x80		  ? 1
		    : (*p & 0xe0) == 0xc0 ? 2
		    : (*p & 0xf0) == 0xe0 ? 3
		    : (*p & 0xf8) == 0xf0 ? 4
					  : 0;
		if (!n)
			return false;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

/* A long Chinese message and description: the description is cut to
 * what err->msg holds, on a character, and its parenthesis closed, where
 * the whole line was cut at 511 bytes inside a character. */
static void long_business_error_fits(void **state)
{
	char body[4096], msg[400], desc[800];
	size_t i, n;

	(void)state;
	for (i = 0; i < 100; i++)
		memcpy(msg + 3 * i, "取", 3);
	msg[300] = '\0';
	for (i = 0; i < 250; i++)
		memcpy(desc + 3 * i, "中", 3);
	desc[750] = '\0';
	snprintf(body, sizeof(body),
		 "{\"code\":6163,\"description\":\"%s\",\"message\":"
		 "\"%s\",\"type\":\"error\"}",
		 desc, msg);
	assert_int_equal(check(400, body), ZH_EZADIG);
	n = strlen(err.msg);
	if (!whole_utf8(err.msg))
		fail_msg("cut inside a character: ...%s", err.msg + n - 8);
	assert_true(n < sizeof(err.msg) && n > sizeof(err.msg) - 8);
	assert_memory_equal(err.msg, "zadig 6163: 取取", 18);
	assert_non_null(strstr(err.msg, "取 (中中"));
	assert_string_equal(err.msg + n - 4, "中)");
	assert_int_equal(err.zadig_code, 6163);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(action_acks),
	    cmocka_unit_test(auth_401_403),
	    cmocka_unit_test(business_error),
	    cmocka_unit_test(internal_error),
	    cmocka_unit_test(proxied_error),
	    cmocka_unit_test(proxied_status),
	    cmocka_unit_test(result_code),
	    cmocka_unit_test(result_code_auth),
	    cmocka_unit_test(successes),
	    cmocka_unit_test(empty_and_text),
	    cmocka_unit_test(long_text_is_cut),
	    cmocka_unit_test(long_business_error_fits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
