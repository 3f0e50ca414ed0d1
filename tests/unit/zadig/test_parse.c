/* Answers -> structs, on the seed's examples (tests/fixtures/zadig). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/banned.h"
#include "util/error.h"
#include "zadig/internal.h"
#include "zadig/zadig.h"

#define BASE "https://zadig.example.com"

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/zadig/%s", ZH_FIXTURES, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void commit_list(void **state)
{
	struct zh_zadig_task_list l;
	struct zh_error err = {0};
	size_t len;
	char *body = slurp("commit_list.json", &len);

	(void)state;
	assert_int_equal(zh_zadig_parse_task_list(&l, body, len,
						  "http://my.zadig.com", &err),
			 0);
	assert_int_equal(l.len, 1);
	assert_int_equal(l.items[0].task_id, 49);
	assert_int_equal(l.items[0].create_time, 1639466317);
	assert_int_equal(l.items[0].start_time, 1639466318);
	assert_int_equal(l.items[0].end_time, 1639466354);
	assert_string_equal(l.items[0].status, "passed");
	assert_string_equal(l.items[0].url,
			    "http://my.zadig.com/v1/projects/detail/proxy/"
			    "pipelines/multi/workflow-demo/49");
	/* names read back from the web-UI url */
	assert_string_equal(l.items[0].project_name, "proxy");
	assert_string_equal(l.items[0].workflow_name, "workflow-demo");
	assert_false(l.items[0].custom);
	assert_non_null(l.items[0].raw_json);
	zh_zadig_task_list_dispose(&l);
	/* a page of another server: the one of zadig.url instead */
	assert_int_equal(zh_zadig_parse_task_list(&l, body, len, BASE, &err),
			 0);
	assert_string_equal(l.items[0].url,
			    BASE "/v1/projects/detail/proxy/pipelines/multi/"
				 "workflow-demo/49");
	zh_zadig_task_list_dispose(&l);
	free(body);

	/* Go's nil slice, an empty list, garbage */
	assert_int_equal(zh_zadig_parse_task_list(&l, "null", 4, BASE, &err),
			 0);
	assert_int_equal(l.len, 0);
	assert_int_equal(zh_zadig_parse_task_list(&l, "[]", 2, BASE, &err), 0);
	assert_int_equal(l.len, 0);
	zh_zadig_task_list_dispose(&l);
	assert_int_equal(zh_zadig_parse_task_list(&l, "Invalid", 7, BASE, &err),
			 ZH_EPROTO);
	assert_int_equal(zh_zadig_parse_task_list(&l, "{}", 2, BASE, &err),
			 ZH_EPROTO);
	zh_zadig_task_list_dispose(&l);
}

static void created(void **state)
{
	struct zh_zadig_created c;
	struct zh_error err = {0};
	size_t len;
	char *body = slurp("product_created.json", &len);

	(void)state;
	assert_int_equal(zh_zadig_parse_created(&c, body, len, BASE, NULL, "wf",
						false, &err),
			 0);
	assert_int_equal(c.task_id, 74);
	assert_string_equal(c.workflow_name, "test-project-workflow-dev");
	assert_string_equal(c.project_name, "test-project");
	assert_string_equal(c.url, BASE "/v1/projects/detail/test-project/"
					"pipelines/multi/"
					"test-project-workflow-dev/74");
	zh_zadig_created_dispose(&c);
	free(body);

	body = slurp("custom_created.json", &len);
	assert_int_equal(
	    zh_zadig_parse_created(&c, body, len, BASE, "p", "w", true, &err),
	    0);
	assert_int_equal(c.task_id, 20);
	assert_string_equal(c.workflow_name, "openapi-test");
	assert_string_equal(c.project_name, "simple-service-demo");
	assert_string_equal(c.url, BASE "/v1/projects/detail/"
					"simple-service-demo/pipelines/custom/"
					"openapi-test/20");
	zh_zadig_created_dispose(&c);
	free(body);

	/* names missing from the answer come from the request */
	assert_int_equal(zh_zadig_parse_created(&c, "{\"task_id\":3}", 13, BASE,
						"proj", "wf", false, &err),
			 0);
	assert_string_equal(c.url, BASE "/v1/projects/detail/proj/pipelines/"
					"multi/wf/3");
	zh_zadig_created_dispose(&c);
	/* without a project there is no url */
	assert_int_equal(zh_zadig_parse_created(&c, "{\"task_id\":3}", 13, BASE,
						NULL, "wf", false, &err),
			 0);
	assert_null(c.url);
	zh_zadig_created_dispose(&c);

	assert_int_equal(
	    zh_zadig_parse_created(&c, "{}", 2, BASE, "p", "w", false, &err),
	    ZH_EPROTO);
	assert_string_equal(err.msg, "zadig create answer has no task_id");
	assert_int_equal(
	    zh_zadig_parse_created(&c, "", 0, BASE, "p", "w", false, &err),
	    ZH_EPROTO);
	assert_null(c.workflow_name);
}

static void product_detail(void **state)
{
	struct zh_zadig_task t;
	struct zh_error err = {0};
	size_t len;
	char *body = slurp("product_detail.json", &len);

	(void)state;
	assert_int_equal(zh_zadig_parse_product_detail(
			     &t, body, len, BASE, "test-project-workflow-dev",
			     51, "test-project", &err),
			 0);
	assert_int_equal(t.task_id, 51);
	assert_string_equal(t.workflow_name, "test-project-workflow-dev");
	assert_string_equal(t.env_name, "dev");
	assert_string_equal(t.status, "timeout");
	assert_string_equal(t.project_name, "test-project");
	assert_false(t.custom);
	assert_string_equal(t.url, BASE "/v1/projects/detail/test-project/"
					"pipelines/multi/"
					"test-project-workflow-dev/51");
	assert_int_equal(t.nimages, 2);
	assert_string_equal(t.images[1].service_name, "gss-2");
	assert_string_equal(t.images[0].registry_repo,
			    "https://ccr.ccs.tencentyun.com/trial");
	assert_string_equal(t.images[0].image,
			    "ccr.ccs.tencentyun.com/trial/go-sample-site:"
			    "20211221120415-1-main");
	assert_int_equal(t.ntest_reports, 1);
	assert_string_equal(t.test_reports[0].test_name, "test");
	assert_int_equal(t.test_reports[0].tests, 24);
	assert_int_equal(t.test_reports[0].successes, 24);
	assert_int_equal(t.test_reports[0].failures, 0);
	assert_string_equal(
	    t.test_reports[0].detail_url,
	    BASE "/v1/projects/detail/test-project/pipelines/multi/testcase/"
		 "test-project-workflow-dev/51/test/"
		 "test-project-workflow-dev-51-test?is_workflow=1&"
		 "service_name=test&test_type=function");
	assert_int_equal(strlen(t.raw_json), len);
	assert_int_equal(t.nstages, 0);
	zh_zadig_task_dispose(&t);
	zh_zadig_task_dispose(&t);

	/* without a project: no url; times and an absolute url kept */
	assert_int_equal(
	    zh_zadig_parse_product_detail(
		&t,
		"{\"task_id\":9,\"status\":\"running\",\"start_time\":5,"
		"\"test_reports\":[{\"test_name\":\"t\","
		"\"function_test_report\":{\"detail_url\":"
		"\"http://x/y\"}}]}",
		strlen("{\"task_id\":9,\"status\":\"running\",\"start_"
		       "time\":5,\"test_reports\":[{\"test_name\":\"t\","
		       "\"function_test_report\":{\"detail_url\":"
		       "\"http://x/y\"}}]}"),
		BASE, "wf", 1, NULL, &err),
	    0);
	assert_int_equal(t.task_id, 9);
	assert_int_equal(t.start_time, 5);
	assert_string_equal(t.workflow_name, "wf");
	assert_null(t.url);
	assert_string_equal(t.test_reports[0].detail_url, "http://x/y");
	zh_zadig_task_dispose(&t);

	assert_int_equal(zh_zadig_parse_product_detail(&t, "[]", 2, BASE, "wf",
						       1, NULL, &err),
			 ZH_EPROTO);
	free(body);
}

static void custom_detail(void **state)
{
	struct zh_zadig_task t;
	struct zh_error err = {0};
	size_t len;
	char *body = slurp("custom_detail.json", &len);

	(void)state;
	assert_int_equal(zh_zadig_parse_custom_detail(&t, body, len, BASE,
						      "build-images", 24, &err),
			 0);
	assert_true(t.custom);
	assert_int_equal(t.task_id, 24);
	assert_string_equal(t.workflow_name, "build-images");
	assert_null(t.workflow_key);
	assert_string_equal(t.project_name, "simple-service-demo");
	assert_string_equal(t.status, "running");
	assert_string_equal(t.task_creator, "admin");
	assert_int_equal(t.create_time, 1664161285);
	assert_int_equal(t.start_time, 1664161286);
	assert_int_equal(t.end_time, 1664172997);
	assert_string_equal(t.url, BASE "/v1/projects/detail/"
					"simple-service-demo/pipelines/custom/"
					"build-images/24");
	assert_int_equal(t.nstages, 4);
	assert_string_equal(t.stages[0].name, "构建");
	assert_string_equal(t.stages[0].status, "passed");
	assert_int_equal(t.stages[0].start_time, 1664161286);
	assert_int_equal(t.stages[0].end_time, 1664172974);
	assert_false(t.stages[0].approval.enabled);
	assert_int_equal(t.stages[0].njobs, 1);
	assert_string_equal(t.stages[0].jobs[0].name, "a-myapp-1-build-myapps");
	assert_string_equal(t.stages[0].jobs[0].type, "zadig-build");
	assert_string_equal(t.stages[0].jobs[0].status, "passed");
	assert_int_equal(t.stages[0].jobs[0].start_time, 1664172967);
	assert_int_equal(t.stages[0].jobs[0].end_time, 1664172974);

	assert_string_equal(t.stages[1].name, "部署");
	assert_true(t.stages[1].approval.enabled);
	assert_string_equal(t.stages[1].approval.reject_or_approve, "approve");
	assert_string_equal(t.stages[1].approval.description,
			    "需审核通过方可部署");
	assert_int_equal(t.stages[1].approval.needed_approvers, 1);
	assert_int_equal(t.stages[1].approval.timeout_min, 120);
	assert_string_equal(t.stages[1].jobs[0].type, "zadig-deploy");
	assert_string_equal(t.stages[3].jobs[0].type, "plugin");
	assert_string_equal(t.raw_json, body);
	zh_zadig_task_dispose(&t);
	free(body);

	body = slurp("custom_detail_v118.json", &len);
	assert_int_equal(zh_zadig_parse_custom_detail(&t, body, len, BASE,
						      "build-images", 7, &err),
			 0);
	assert_string_equal(t.workflow_key, "build-images");
	assert_string_equal(t.workflow_name, "构建镜像");
	assert_string_equal(t.project_name, "demo");
	assert_string_equal(t.status, "wait_for_approval");
	assert_string_equal(t.url, BASE "/v1/projects/detail/demo/pipelines/"
					"custom/build-images/7");
	assert_int_equal(t.nstages, 1);
	assert_true(t.stages[0].approval.enabled);
	assert_null(t.stages[0].approval.reject_or_approve);
	assert_int_equal(t.stages[0].approval.needed_approvers, 2);
	assert_int_equal(t.stages[0].approval.timeout_min, 60);
	assert_int_equal(t.stages[0].njobs, 0);
	zh_zadig_task_dispose(&t);
	free(body);
}

/* A task fits a create request unless it builds one of the request's
 * repositories from another branch or pr. */
/* Control characters Zadig sends: raw_json (for --json) escapes those
 * json-c took raw inside strings, keeping escaped quotes and the rest;
 * zh_zadig_task_clean blanks them in the fields people read. */
static void control_characters(void **state)
{
	static const char body[] =
	    "{\"task_id\":6,\"workflow_name\":\"w\\\"\x1b[2J\",\r"
	    "\"status\":\"run\x07ning\\u001b\\n\",\"stages\":[{\"name\":"
	    "\"s\x7f\",\"approval\":{\"enabled\":true,\"description\":"
	    "\"a\\nb\"}}]}";
	struct zh_zadig_task t;
	struct zh_error err = {0};

	(void)state;
	assert_int_equal(zh_zadig_parse_custom_detail(
			     &t, body, sizeof(body) - 1, BASE, "w", 6, &err),
			 0);
	assert_string_equal(
	    t.raw_json, "{\"task_id\":6,\"workflow_name\":\"w\\\"\\u001b[2J\", "
			"\"status\":\"run\\u0007ning\\u001b\\n\","
			"\"stages\":[{\"name\":\"s\\u007f\",\"approval\":"
			"{\"enabled\":true,\"description\":\"a\\nb\"}}]}");
	/* cleaned as it is read: every use of Zadig's strings (a note, a
	 * log line, an error message) gets them so */
	assert_string_equal(t.status, "run ning");
	assert_string_equal(t.workflow_name, "w\" [2J");
	zh_zadig_task_clean(&t);
	assert_string_equal(t.workflow_name, "w\" [2J");
	assert_string_equal(t.status, "run ning");
	assert_string_equal(t.stages[0].name, "s");
	assert_string_equal(t.stages[0].approval.description, "a b");
	zh_zadig_task_dispose(&t);
}

/* The lookup, create and detail answers are cleaned as they are read:
 * names, statuses, URLs, project keys and report links. */
static void cleaned_when_read(void **state)
{
	static const char list[] =
	    "[{\"task_id\":7,\"status\":\"\\u001b]0;PWNED\\u0007\\u001b[2J\\n"
	    "ERROR forged\",\"url\":\"" BASE "/v1/projects/detail/p/pipelines/"
	    "multi/wf/7\\r\\u001b[2K\"}]";
	static const char created[] =
	    "{\"task_id\":3,\"workflow_name\":\"wf\\u001b[2J\","
	    "\"project_name\":\"\\u0007\"}";
	static const char custom[] =
	    "{\"task_id\":4,\"workflow_key\":\"k\",\"project_key\":"
	    "\"p\\u001b[1m\",\"status\":\"passed\",\"stages\":[]}";
	static const char product[] =
	    "{\"task_id\":5,\"status\":\"passed\",\"test_reports\":[{"
	    "\"test_name\":\"t\\r\",\"function_test_report\":{\"detail_url\":"
	    "\"/r\\u001b[2J\"}}]}";
	struct zh_zadig_task_list l;
	struct zh_zadig_created c;
	struct zh_zadig_task t;
	struct zh_error err = {0};

	(void)state;
	assert_int_equal(
	    zh_zadig_parse_task_list(&l, list, sizeof(list) - 1, BASE, &err),
	    0);
	assert_int_equal(l.len, 1);
	assert_string_equal(l.items[0].status, " ]0;PWNED  [2J ERROR forged");
	/* not a URL a note can hold: the page of the task, rebuilt */
	assert_string_equal(l.items[0].url,
			    BASE "/v1/projects/detail/p/pipelines/multi/wf/7");
	zh_zadig_task_list_dispose(&l);

	assert_int_equal(zh_zadig_parse_created(&c, created,
						sizeof(created) - 1, BASE,
						"proj", "w", false, &err),
			 0);
	assert_string_equal(c.workflow_name, "wf [2J");
	/* blank: the request's project */
	assert_string_equal(c.project_name, "proj");
	zh_zadig_created_dispose(&c);

	assert_int_equal(zh_zadig_parse_custom_detail(&t, custom,
						      sizeof(custom) - 1, BASE,
						      "k", 4, &err),
			 0);
	assert_string_equal(t.project_name, "p [1m");
	zh_zadig_task_dispose(&t);

	assert_int_equal(
	    zh_zadig_parse_product_detail(&t, product, sizeof(product) - 1,
					  BASE, "wf", 5, "p", &err),
	    0);
	assert_int_equal(t.ntest_reports, 1);
	assert_string_equal(t.test_reports[0].test_name, "t");
	assert_string_equal(t.test_reports[0].detail_url, BASE "/r [2J");
	zh_zadig_task_dispose(&t);
}

/* The lookup's url goes into notes: Zadig's page of the task only when
 * it is one of zadig.url (base, '/', then printable ASCII); else the page
 * rebuilt from base and the names read from it, as a created task's. */
static void lookup_urls(void **state)
{
	static const char list[] =
	    "[{\"task_id\":7,\"url\":\"javascript://zadig/v1/projects/detail/p/"
	    "pipelines/multi/deploy-prod/7?%0Aalert(1)\"},"
	    "{\"task_id\":8,\"url\":\"https://phish.example/v1/projects/"
	    "detail/p/pipelines/multi/wf/8\"},"
	    "{\"task_id\":9,\"url\":\"" BASE "/v1/projects/detail/p/pipelines/"
	    "multi/wf/9?a b\"},"
	    "{\"task_id\":10,\"url\":\"" BASE "/v1/projects/detail/p/pipelines/"
	    "multi/wf/10?x=1\"},"
	    "{\"task_id\":11,\"url\":\"" BASE ".evil.example/v1/projects/"
	    "detail/p/pipelines/multi/wf/11\"},"
	    "{\"task_id\":12,\"url\":\"" BASE "/v1/projects/detail/my%2Dp/"
	    "pipelines/multi/w%20f/12\"},"
	    "{\"task_id\":13,\"url\":\"https://phish.example/x\"},"
	    "{\"task_id\":14,\"url\":\"" BASE "/v1/projects/detail/p/pipelines/"
	    "multi/wf/14\\u202e\"}]";
	static const char *const want[] = {
	    BASE "/v1/projects/detail/p/pipelines/multi/deploy-prod/7",
	    BASE "/v1/projects/detail/p/pipelines/multi/wf/8",
	    BASE "/v1/projects/detail/p/pipelines/multi/wf/9",
	    BASE "/v1/projects/detail/p/pipelines/multi/wf/10?x=1",
	    BASE "/v1/projects/detail/p/pipelines/multi/wf/11",
	    BASE "/v1/projects/detail/my%2Dp/pipelines/multi/w%20f/12",
	    NULL,
	    BASE "/v1/projects/detail/p/pipelines/multi/wf/14",
	};
	struct zh_zadig_task_list l;
	struct zh_error err = {0};
	size_t i;

	(void)state;
	assert_int_equal(
	    zh_zadig_parse_task_list(&l, list, sizeof(list) - 1, BASE, &err),
	    0);
	assert_int_equal(l.len, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < l.len; i++) {
		if (want[i])
			assert_string_equal(l.items[i].url, want[i]);
		else
			assert_null(l.items[i].url);
	}
	/* names are read percent-decoded */
	assert_string_equal(l.items[5].project_name, "my-p");
	assert_string_equal(l.items[5].workflow_name, "w f");
	assert_string_equal(l.items[0].workflow_name, "deploy-prod");
	assert_null(l.items[6].workflow_name);
	zh_zadig_task_list_dispose(&l);
}

/* Zadig's strings are capped as they are read, so that no task line
 * grows past what a note takes: a url past the cap is not Zadig's page
 * (the page is rebuilt), names and statuses are cut. */
static void long_strings(void **state)
{
	struct zh_zadig_task_list l;
	struct zh_error err = {0};
	struct zh_buf b;
	size_t i;

	(void)state;
	zh_buf_init(&b, 1 << 20);
	assert_int_equal(zh_buf_puts(&b, "[{\"task_id\":500,\"status\":\""), 0);
	for (i = 0; i < 70000; i++)
		assert_int_equal(zh_buf_puts(&b, "s"), 0);
	assert_int_equal(
	    zh_buf_puts(&b, "\",\"url\":\"" BASE
			    "/v1/projects/detail/p/pipelines/multi/other-wf/"
			    "500?"),
	    0);
	for (i = 0; i < 70000; i++)
		assert_int_equal(zh_buf_puts(&b, "u"), 0);
	assert_int_equal(zh_buf_puts(&b, "\"},{\"task_id\":501,\"url\":\"" BASE
					 "/v1/projects/detail/p/pipelines/"
					 "multi/"),
			 0);
	for (i = 0; i < 70000; i++)
		assert_int_equal(zh_buf_puts(&b, "w"), 0);
	assert_int_equal(zh_buf_puts(&b, "/501\"}]"), 0);
	assert_int_equal(zh_zadig_parse_task_list(&l, b.ptr, b.len, BASE, &err),
			 0);
	assert_int_equal(l.len, 2);
	assert_int_equal(strlen(l.items[0].status), 4096);
	assert_string_equal(l.items[0].url,
			    BASE "/v1/projects/detail/p/pipelines/multi/"
				 "other-wf/500");
	assert_true(strlen(l.items[1].workflow_name) > 1000);
	assert_true(strlen(l.items[1].workflow_name) <= 4096);
	assert_non_null(l.items[1].url);
	assert_true(strlen(l.items[1].url) < 8192);
	zh_zadig_task_list_dispose(&l);
	zh_buf_dispose(&b);
}

/* C1 controls (U+0080-U+009F; U+009B is a CSI some terminals obey) are
 * controls too; other characters of two bytes stay. */
static void c1_controls(void **state)
{
	char out[64];
	const char *in = "a\xc2\x9b"
			 "2Jb\xc2\x85"
			 "c\xc2\xa0"
			 "d\xc3\xa9";

	(void)state;
	zh_zadig_clean(out, sizeof(out), in, strlen(in), 60);
	assert_string_equal(out, "a 2Jb c\xc2\xa0"
				 "d\xc3\xa9");
}

/* So are bytes 0x80-0x9F that are not UTF-8 (a lone 0x9B is the CSI of
 * a terminal that takes 8-bit controls) and bidi embeddings, overrides
 * and isolates, which reorder what follows; other bytes that are not
 * UTF-8, and other characters of three bytes, stay. */
static void lone_c1_and_bidi(void **state)
{
	char out[64], in[64];

	(void)state;
	snprintf(in, sizeof(in), "%s",
		 "a\x9b"
		 "2Jb\x85\xe2\x80\xae"
		 "c\xe2\x81\xa6\xe2\x80\xaa"
		 "d\xe9\xe2\x82\xac\xe2\x80\x8f\xe2\x81\xa9");
	zh_zadig_clean(out, sizeof(out), in, strlen(in), 60);
	assert_string_equal(out, "a 2Jb  c  d\xe9\xe2\x82\xac\xe2\x80\x8f");
	/* in place, as zh_zadig_task_clean cleans */
	zh_zadig_clean(in, sizeof(in), in, strlen(in), strlen(in));
	assert_string_equal(in, out);
}

/* --json prints raw_json: C1 and bidi controls escaped as the same
 * characters, bytes that are not UTF-8 as U+FFFD, so that it is UTF-8
 * JSON and safe to print. */
static void raw_json_c1(void **state)
{
	static const char body[] = "{\"task_id\":6,\"status\":\"a\xc2\x85"
				   "b\xc2\x9b"
				   "2Jc\x9b"
				   "2Jd\xe2\x80\xae"
				   "e\xc3\xa9\"}";
	struct zh_zadig_task t;
	struct zh_error err = {0};

	(void)state;
	assert_int_equal(zh_zadig_parse_custom_detail(
			     &t, body, sizeof(body) - 1, BASE, "w", 6, &err),
			 0);
	assert_string_equal(t.raw_json,
			    "{\"task_id\":6,\"status\":\"a\\u0085b\\u009b2Jc"
			    "\\ufffd2Jd\\u202ee\xc3\xa9\"}");
	assert_string_equal(t.status, "a b 2Jc 2Jd e\xc3\xa9");
	zh_zadig_task_dispose(&t);
}

static void task_fits_create(void **state)
{
	static const char req[] =
	    "{\"workflow_name\":\"wf\",\"env_name\":\"dev\",\"targets\":["
	    "{\"name\":\"s\",\"build\":{\"repos\":[{\"repo_name\":\"r\","
	    "\"branch\":\"feature/a\",\"pr\":0},{\"repo_name\":\"x\","
	    "\"branch\":\"main\",\"pr\":0}]}}]}";
	static const char *const fit[] = {
	    /* the same repositories */
	    "{\"targets\":[{\"name\":\"s\",\"build\":{\"repos\":[{"
	    "\"repo_name\":\"r\",\"branch\":\"feature/a\",\"pr\":0},{"
	    "\"repo_name\":\"x\",\"branch\":\"main\"}]}}]}",
	    /* no targets, or repositories the request does not build */
	    "{\"status\":\"running\"}",
	    "{\"targets\":[{\"name\":\"s\",\"build\":{\"repos\":[{"
	    "\"repo_name\":\"y\",\"branch\":\"dev\"}]}}]}",
	    /* r built twice, once as asked */
	    "{\"targets\":[{\"name\":\"s\",\"build\":{\"repos\":[{"
	    "\"repo_name\":\"r\",\"branch\":\"main\"}]}},{\"name\":"
	    "\"t\",\"build\":{\"repos\":[{\"repo_name\":\"r\","
	    "\"branch\":\"feature/a\"}]}}]}",
	};
	static const char *const other[] = {
	    /* another branch */
	    "{\"targets\":[{\"name\":\"s\",\"build\":{\"repos\":[{"
	    "\"repo_name\":\"r\",\"branch\":\"main\",\"pr\":0}]}}]}",
	    /* a merge request's build */
	    "{\"targets\":[{\"name\":\"s\",\"build\":{\"repos\":[{"
	    "\"repo_name\":\"r\",\"branch\":\"feature/a\",\"pr\":7}]}}]}",
	};
	struct zh_zadig_task t = {0};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fit) / sizeof(fit[0]); i++) {
		t.raw_json = (char *)fit[i];
		if (!zh_zadig_task_fits_create(&t, req))
			fail_msg("does not fit: %s", fit[i]);
	}
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		t.raw_json = (char *)other[i];
		if (zh_zadig_task_fits_create(&t, req))
			fail_msg("fits: %s", other[i]);
	}
	/* what cannot be told fits */
	t.raw_json = (char *)"not json";
	assert_true(zh_zadig_task_fits_create(&t, req));
	t.raw_json = (char *)other[0];
	assert_true(zh_zadig_task_fits_create(&t, "{}"));
	assert_true(zh_zadig_task_fits_create(&t, NULL));
}

static void status_final(void **state)
{
	static const char *const fin[] = {"passed",    "failed", "timeout",
					  "cancelled", "reject", "skipped",
					  "unstable"};
	static const char *const not [] = {"created",
					   "running",
					   "waiting",
					   "queued",
					   "blocked",
					   "pending",
					   "prepare",
					   "changed",
					   "notRun",
					   "disabled",
					   "distributed",
					   "pause",
					   "waitforapprove",
					   "wait_for_approval",
					   "debug_before",
					   "wait_for_manual_error_handling",
					   "",
					   "PASSED",
					   "passed ",
					   "something-new"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fin) / sizeof(fin[0]); i++)
		assert_true(zh_zadig_status_is_final(fin[i]));
	for (i = 0; i < sizeof(not ) / sizeof(not [0]); i++)
		assert_false(zh_zadig_status_is_final(not [i]));
	assert_false(zh_zadig_status_is_final(NULL));
}

/* Found by fuzz/fuzz_zadig_reply: json-c 0.16 reads the terminating NUL
 * of an unfinished comment and reports success with an inner value, its
 * parse end one past the text (a heap read out of bounds). Such a body is
 * not JSON. Each body sits in a buffer of its exact size for ASan. */
static void unfinished_comment(void **state)
{
	static const char *const bodies[] = {
	    "{\"a\":{\"task_id\":3}//x",
	    "[{\"task_id\":3}//",
	    "{\"a\":{\"task_id\":3}/*x",
	    "{\"task_id\":3}//",
	};
	struct zh_zadig_task_list l;
	struct zh_zadig_created c;
	struct zh_error err = {0};
	size_t i, n;
	char *b;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		n = strlen(bodies[i]);
		b = malloc(n);
		assert_non_null(b);
		memcpy(b, bodies[i], n);
		assert_int_equal(zh_zadig_parse_created(&c, b, n, BASE, "p",
							"w", false, &err),
				 ZH_EPROTO);
		zh_zadig_created_dispose(&c);
		assert_int_equal(zh_zadig_parse_task_list(&l, b, n, BASE, &err),
				 ZH_EPROTO);
		zh_zadig_task_list_dispose(&l);
		assert_int_equal(zh_zadig_check_reply(200, b, n, &err), 0);
		free(b);
	}
	/* and a NUL byte is not JSON: nothing after it is ignored */
	assert_int_equal(zh_zadig_parse_created(&c, "{\"task_id\":3}\0x", 15,
						BASE, "p", "w", false, &err),
			 ZH_EPROTO);
	zh_zadig_created_dispose(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(commit_list),
	    cmocka_unit_test(created),
	    cmocka_unit_test(lookup_urls),
	    cmocka_unit_test(long_strings),
	    cmocka_unit_test(lone_c1_and_bidi),
	    cmocka_unit_test(raw_json_c1),
	    cmocka_unit_test(cleaned_when_read),
	    cmocka_unit_test(product_detail),
	    cmocka_unit_test(custom_detail),
	    cmocka_unit_test(control_characters),
	    cmocka_unit_test(c1_controls),
	    cmocka_unit_test(task_fits_create),
	    cmocka_unit_test(status_final),
	    cmocka_unit_test(unfinished_comment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
