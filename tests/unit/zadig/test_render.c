/* Request rendering: the exact method, path and body the client sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "util/banned.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/value.h"
#include "zadig/internal.h"
#include "zadig/zadig.h"

static void product_full(void **state)
{
	struct zh_zadig_repo repos[] = {
	    {"voting-app", "master", 0},
	    {"zadig-infra", "feature/x y", 5},
	};
	struct zh_zadig_target targets[] = {
	    {"redis3", NULL, repos, 2},
	    {"web", "helm", &repos[0], 1},
	};
	struct zh_zadig_kv vars[] = {{"k1", "1"}, {"sha", "abc"}};
	struct zh_zadig_product_req req = {0};
	struct zh_zadig_request r;
	struct zh_error err = {0};
	struct zh_value *images = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *img = zh_value_new(ZH_VALUE_MAP);

	(void)state;
	assert_int_equal(
	    zh_value_append(img, "image", zh_value_new_string("r/a:1")), 0);
	assert_int_equal(
	    zh_value_append(img, "service_name", zh_value_new_string("gss")),
	    0);
	assert_int_equal(zh_value_append(img, "service_module",
					 zh_value_new_string("go-sample-site")),
			 0);
	assert_int_equal(zh_value_append(images, NULL, img), 0);
	req.workflow_name = "wf-dev";
	req.env_name = "dev";
	req.project = "my proj";
	req.targets = targets;
	req.ntargets = 2;
	req.release_images = images;
	req.callback_url = "https://hook.example/cb?s=1/2";
	req.callback_vars = vars;
	req.ncallback_vars = 2;
	assert_int_equal(zh_zadig_render_product_create(&r, &req, &err), 0);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/api/directory/workflowTask/create"
				    "?projectName=my%20proj");
	assert_string_equal(r.body,
			    "{\n"
			    "  \"workflow_name\": \"wf-dev\",\n"
			    "  \"env_name\": \"dev\",\n"
			    "  \"targets\": [\n"
			    "    {\n"
			    "      \"name\": \"redis3\",\n"
			    "      \"service_type\": \"k8s\",\n"
			    "      \"build\": {\n"
			    "        \"repos\": [\n"
			    "          {\n"
			    "            \"repo_name\": \"voting-app\",\n"
			    "            \"branch\": \"master\",\n"
			    "            \"pr\": 0\n"
			    "          },\n"
			    "          {\n"
			    "            \"repo_name\": \"zadig-infra\",\n"
			    "            \"branch\": \"feature/x y\",\n"
			    "            \"pr\": 5\n"
			    "          }\n"
			    "        ]\n"
			    "      }\n"
			    "    },\n"
			    "    {\n"
			    "      \"name\": \"web\",\n"
			    "      \"service_type\": \"helm\",\n"
			    "      \"build\": {\n"
			    "        \"repos\": [\n"
			    "          {\n"
			    "            \"repo_name\": \"voting-app\",\n"
			    "            \"branch\": \"master\",\n"
			    "            \"pr\": 0\n"
			    "          }\n"
			    "        ]\n"
			    "      }\n"
			    "    }\n"
			    "  ],\n"
			    "  \"release_images\": [\n"
			    "    {\n"
			    "      \"image\": \"r/a:1\",\n"
			    "      \"service_name\": \"gss\",\n"
			    "      \"service_module\": \"go-sample-site\"\n"
			    "    }\n"
			    "  ],\n"
			    "  \"callback\": {\n"
			    "    \"callback_url\": "
			    "\"https://hook.example/cb?s=1/2\",\n"
			    "    \"callback_vars\": {\n"
			    "      \"k1\": \"1\",\n"
			    "      \"sha\": \"abc\"\n"
			    "    }\n"
			    "  },\n"
			    "  \"product_tmpl_name\": \"my proj\"\n"
			    "}");
	zh_zadig_request_dispose(&r);
	zh_zadig_request_dispose(&r);
	zh_value_free(images);
}

static void product_minimal(void **state)
{
	struct zh_zadig_repo repo = {"app", "main", 0};
	struct zh_zadig_target t = {"svc", NULL, &repo, 1};
	struct zh_zadig_product_req req = {0};
	struct zh_zadig_request r;
	struct zh_error err = {0};

	(void)state;
	req.workflow_name = "wf";
	req.env_name = "dev";
	req.targets = &t;
	req.ntargets = 1;
	assert_int_equal(zh_zadig_render_product_create(&r, &req, &err), 0);
	assert_string_equal(r.path, "/api/directory/workflowTask/create");
	assert_null(strstr(r.body, "callback"));
	assert_null(strstr(r.body, "release_images"));
	assert_null(strstr(r.body, "product_tmpl_name"));
	zh_zadig_request_dispose(&r);
}

static void product_invalid(void **state)
{
	struct zh_zadig_repo repo = {"app", NULL, 0};
	struct zh_zadig_target t = {"svc", NULL, &repo, 1};
	struct zh_zadig_product_req req = {0};
	struct zh_zadig_request r;
	struct zh_error err = {0};
	struct zh_value *notlist = zh_value_new(ZH_VALUE_MAP);

	(void)state;
	assert_int_equal(zh_zadig_render_product_create(&r, &req, &err),
			 ZH_EINVALID);
	assert_non_null(strstr(err.msg, "'workflow_name'"));
	assert_null(r.path);
	req.workflow_name = "wf";
	assert_int_equal(zh_zadig_render_product_create(&r, &req, &err),
			 ZH_EINVALID);
	assert_non_null(strstr(err.msg, "'env_name'"));
	req.env_name = "dev";
	assert_int_equal(zh_zadig_render_product_create(&r, &req, &err),
			 ZH_EINVALID);
	assert_non_null(strstr(err.msg, "'targets' or 'release_images'"));
	req.release_images = notlist;
	assert_int_equal(zh_zadig_render_product_create(&r, &req, &err),
			 ZH_EINVALID);
	assert_non_null(strstr(err.msg, "'release_images'"));
	req.release_images = NULL;
	req.targets = &t;
	req.ntargets = 1;
	assert_int_equal(zh_zadig_render_product_create(&r, &req, &err),
			 ZH_EINVALID);
	assert_string_equal(err.msg,
			    "'targets[0].build.repos[0].branch' is empty");
	zh_value_free(notlist);
}

/* What the seed calls "must" in a create (a target's build.repos, and
 * image, service_name and service_module of each release image) is sent
 * as configured: the real server differs from that document in places,
 * and earlier versions sent it; Zadig's refusal is the trigger's
 * rejected line. */
static void product_sent_as_configured(void **state)
{
	struct zh_zadig_target t = {"svc", NULL, NULL, 0};
	struct zh_zadig_product_req req = {0};
	struct zh_zadig_request r;
	struct zh_error err = {0};
	struct zh_value *images = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *img = zh_value_new(ZH_VALUE_MAP);

	(void)state;
	req.workflow_name = "wf";
	req.env_name = "dev";
	req.targets = &t;
	req.ntargets = 1;
	assert_int_equal(zh_zadig_render_product_create(&r, &req, &err), 0);
	assert_non_null(strstr(r.body, "\"build\": {\n        \"repos\": [\n"
				       "        ]\n"));
	zh_zadig_request_dispose(&r);
	req.targets = NULL;
	req.ntargets = 0;
	req.release_images = images;
	assert_int_equal(zh_value_append(images, NULL, img), 0);
	assert_int_equal(
	    zh_value_append(img, "image", zh_value_new_string("reg/x:1")), 0);
	assert_int_equal(
	    zh_value_append(img, "service_name", zh_value_new_string("x")), 0);
	assert_int_equal(
	    zh_value_append(images, NULL, zh_value_new_string("reg/y:1")), 0);
	assert_int_equal(zh_zadig_render_product_create(&r, &req, &err), 0);
	assert_non_null(strstr(r.body, "\"service_name\": \"x\"\n"));
	assert_non_null(strstr(r.body, "\"reg/y:1\""));
	zh_zadig_request_dispose(&r);
	zh_value_free(images);
}

static void custom_create(void **state)
{
	struct zh_zadig_custom_req req = {0};
	struct zh_zadig_request r;
	struct zh_error err = {0};
	struct zh_value *inputs = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *job = zh_value_new(ZH_VALUE_MAP);
	struct zh_value *params = zh_value_new(ZH_VALUE_MAP);

	(void)state;
	assert_int_equal(
	    zh_value_append(job, "job_name", zh_value_new_string("build")), 0);
	assert_int_equal(zh_value_append(job, "job_type",
					 zh_value_new_string("zadig-build")),
			 0);
	assert_int_equal(zh_value_append(params, "n", zh_value_new_int(-3)), 0);
	assert_int_equal(zh_value_append(params, "b", zh_value_new_bool(true)),
			 0);
	assert_int_equal(
	    zh_value_append(params, "z", zh_value_new(ZH_VALUE_NULL)), 0);
	/* numbers with the configuration's own digits */
	assert_int_equal(
	    zh_value_append(params, "f", zh_value_new_number("2.50")), 0);
	assert_int_equal(
	    zh_value_append(params, "e", zh_value_new_number("1e3")), 0);
	assert_int_equal(
	    zh_value_append(params, "big",
			    zh_value_new_number("12345678901234567890")),
	    0);
	assert_int_equal(zh_value_append(job, "parameters", params), 0);
	assert_int_equal(zh_value_append(inputs, NULL, job), 0);
	req.project = "demo";
	req.workflow_name = "build-images";
	req.inputs = inputs;
	assert_int_equal(zh_zadig_render_custom_create(&r, &req, &err), 0);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/openapi/workflows/custom/task");
	assert_string_equal(r.body, "{\n"
				    "  \"project_name\": \"demo\",\n"
				    "  \"project_key\": \"demo\",\n"
				    "  \"workflow_name\": \"build-images\",\n"
				    "  \"workflow_key\": \"build-images\",\n"
				    "  \"inputs\": [\n"
				    "    {\n"
				    "      \"job_name\": \"build\",\n"
				    "      \"job_type\": \"zadig-build\",\n"
				    "      \"parameters\": {\n"
				    "        \"n\": -3,\n"
				    "        \"b\": true,\n"
				    "        \"z\": null,\n"
				    "        \"f\": 2.50,\n"
				    "        \"e\": 1e3,\n"
				    "        \"big\": 12345678901234567890\n"
				    "      }\n"
				    "    }\n"
				    "  ]\n"
				    "}");
	zh_zadig_request_dispose(&r);

	req.inputs = NULL;
	assert_int_equal(zh_zadig_render_custom_create(&r, &req, &err), 0);
	assert_non_null(strstr(r.body, "\"inputs\": [\n  ]"));
	zh_zadig_request_dispose(&r);

	req.inputs = params;
	assert_int_equal(zh_zadig_render_custom_create(&r, &req, &err),
			 ZH_EINVALID);
	req.inputs = inputs;
	req.project = NULL;
	assert_int_equal(zh_zadig_render_custom_create(&r, &req, &err),
			 ZH_EINVALID);
	assert_non_null(strstr(err.msg, "'project'"));
	zh_value_free(inputs);
}

static void other_requests(void **state)
{
	struct zh_zadig_request r;
	struct zh_error err = {0};

	(void)state;
	assert_int_equal(
	    zh_zadig_render_tasks_by_commit(&r, "ab12cd34", NULL, &err), 0);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/api/directory/workflowTask?commitId="
				    "ab12cd34");
	assert_null(r.body);
	zh_zadig_request_dispose(&r);
	/* the project, when known: non-admin users need it on older servers */
	assert_int_equal(
	    zh_zadig_render_tasks_by_commit(&r, "ab12cd34", "p&q", &err), 0);
	assert_string_equal(r.path, "/api/directory/workflowTask?commitId="
				    "ab12cd34&projectName=p%26q");
	zh_zadig_request_dispose(&r);
	assert_int_equal(zh_zadig_render_tasks_by_commit(&r, "ab", "", &err),
			 0);
	assert_string_equal(r.path, "/api/directory/workflowTask?commitId=ab");
	zh_zadig_request_dispose(&r);
	assert_int_equal(zh_zadig_render_tasks_by_commit(&r, "", "p", &err),
			 ZH_EINVALID);
	assert_int_equal(zh_zadig_render_tasks_by_commit(&r, NULL, NULL, &err),
			 ZH_EINVALID);

	assert_int_equal(
	    zh_zadig_render_product_detail(&r, "wf/x", 12, "p&q", &err), 0);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/api/directory/workflowTask/id/12/"
				    "pipelines/wf%2Fx?projectName=p%26q");
	zh_zadig_request_dispose(&r);
	assert_int_equal(
	    zh_zadig_render_product_detail(&r, "wf", 0, NULL, &err),
	    ZH_EINVALID);

	assert_int_equal(
	    zh_zadig_render_product_action(&r, "wf", 3, NULL, "restart", &err),
	    0);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path, "/api/directory/workflowTask/id/3/"
				    "pipelines/wf/restart");
	assert_null(r.body);
	zh_zadig_request_dispose(&r);

	assert_int_equal(
	    zh_zadig_render_custom_task(&r, "GET", "b i", 24, &err), 0);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/openapi/workflows/custom/task?task_id=24"
				    "&workflow_name=b%20i&taskId=24&"
				    "workflowKey=b%20i");
	assert_string_equal(r.body, "{\n"
				    "  \"task_id\": 24,\n"
				    "  \"workflow_name\": \"b i\",\n"
				    "  \"workflow_key\": \"b i\"\n"
				    "}");
	zh_zadig_request_dispose(&r);

	assert_int_equal(zh_zadig_render_custom_approve(&r, "wf", 5, "部署",
							true, NULL, &err),
			 0);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.path,
			    "/openapi/workflows/custom/task/approve?task_id=5"
			    "&workflow_name=wf&taskId=5&workflowKey=wf&"
			    "stage_name=%E9%83%A8%E7%BD%B2&approve=true");
	assert_string_equal(r.body, "{\n"
				    "  \"task_id\": 5,\n"
				    "  \"workflow_name\": \"wf\",\n"
				    "  \"workflow_key\": \"wf\",\n"
				    "  \"stage_name\": \"部署\",\n"
				    "  \"approve\": true,\n"
				    "  \"comment\": \"\"\n"
				    "}");
	zh_zadig_request_dispose(&r);
	/* the seed lists comment among the query's parameters too */
	assert_int_equal(zh_zadig_render_custom_approve(
			     &r, "wf", 5, "qa", false, "not & yet", &err),
			 0);
	assert_string_equal(
	    r.path, "/openapi/workflows/custom/task/approve?task_id=5"
		    "&workflow_name=wf&taskId=5&workflowKey=wf&"
		    "stage_name=qa&approve=false&comment=not%20%26%20yet");
	zh_zadig_request_dispose(&r);
	assert_int_equal(
	    zh_zadig_render_custom_approve(&r, "wf", 5, "", false, "no", &err),
	    ZH_EINVALID);
}

/* Every byte of body is part of a valid UTF-8 sequence. */
static void assert_utf8(const char *body)
{
	size_t n;

	for (; *body; body += n)
		if (!(n = zh_utf8_len(body)))
			fail_msg("not UTF-8 at '%.20s'", body);
}

/* A branch, an author or a message read from git may hold bytes that are
 * not UTF-8 (an ISO-8859-1 commit, a ref of any bytes): every request
 * body is still UTF-8 JSON, each such byte sent as U+FFFD, as
 * zh_buf_json_str writes it; valid sequences stay as they are. */
static void bodies_are_utf8(void **state)
{
	struct zh_zadig_repo repo = {"app", "ma\xe9n", 0};
	struct zh_zadig_target t = {"svc", NULL, &repo, 1};
	struct zh_zadig_kv vars[] = {{"author", "Jos\xe9"},
				     {"ref\xff", "x\xc0\xaf\xe2\x82"}};
	struct zh_zadig_product_req preq = {0};
	struct zh_zadig_custom_req creq = {0};
	struct zh_zadig_request r;
	struct zh_error err = {0};
	struct zh_value *inputs = zh_value_new(ZH_VALUE_LIST);
	struct zh_value *job = zh_value_new(ZH_VALUE_MAP);

	(void)state;
	preq.workflow_name = "wf";
	preq.env_name = "dev";
	preq.targets = &t;
	preq.ntargets = 1;
	preq.callback_url = "http://h/cb?k=1";
	preq.callback_vars = vars;
	preq.ncallback_vars = 2;
	assert_int_equal(zh_zadig_render_product_create(&r, &preq, &err), 0);
	assert_utf8(r.body);
	assert_non_null(strstr(r.body, "\"branch\": \"ma\\ufffdn\""));
	assert_non_null(strstr(r.body, "\"author\": \"Jos\\ufffd\""));
	/* an overlong '/', a sequence cut short: a U+FFFD a byte */
	assert_non_null(strstr(r.body, "\"ref\\ufffd\": "
				       "\"x\\ufffd\\ufffd\\ufffd\\ufffd\""));
	zh_zadig_request_dispose(&r);

	assert_int_equal(
	    zh_value_append(job, "author", zh_value_new_string("Jos\xe9")), 0);
	assert_int_equal(
	    zh_value_append(job, "ok", zh_value_new_string("José 部署 😀")), 0);
	assert_int_equal(zh_value_append(inputs, NULL, job), 0);
	creq.project = "p";
	creq.workflow_name = "w";
	creq.inputs = inputs;
	assert_int_equal(zh_zadig_render_custom_create(&r, &creq, &err), 0);
	assert_utf8(r.body);
	assert_non_null(strstr(r.body, "\"author\": \"Jos\\ufffd\""));
	assert_non_null(strstr(r.body, "\"ok\": \"José 部署 😀\""));
	zh_zadig_request_dispose(&r);

	assert_int_equal(zh_zadig_render_custom_approve(&r, "wf", 5, "qa",
							false, "caf\xe9", &err),
			 0);
	assert_utf8(r.body);
	assert_non_null(strstr(r.body, "\"comment\": \"caf\\ufffd\""));
	zh_zadig_request_dispose(&r);
	zh_value_free(inputs);
}

/* zh_zadig_escape encodes exactly as curl_easy_escape (which it replaced
 * so that rendering does not load libcurl): every byte, alone and in a
 * string. */
static void escape_like_curl(void **state)
{
	char one[2] = {0}, all[256];
	int c;

	(void)state;
	for (c = 1; c < 256; c++) {
		char *mine, *theirs;

		one[0] = (char)c;
		all[c - 1] = (char)c;
		mine = zh_zadig_escape(one);
		theirs = curl_easy_escape(NULL, one, 0);
		assert_non_null(mine);
		assert_non_null(theirs);
		assert_string_equal(mine, theirs);
		free(mine);
		curl_free(theirs);
	}
	all[255] = '\0';
	{
		char *mine = zh_zadig_escape(all);
		char *theirs = curl_easy_escape(NULL, all, 0);

		assert_string_equal(mine, theirs);
		free(mine);
		curl_free(theirs);
	}
	{
		char *e = zh_zadig_escape("feature/x y~1.ü");

		assert_string_equal(e, "feature%2Fx%20y~1.%C3%BC");
		free(e);
		e = zh_zadig_escape(NULL);
		assert_string_equal(e, "");
		free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(product_full),
	    cmocka_unit_test(product_minimal),
	    cmocka_unit_test(product_invalid),
	    cmocka_unit_test(product_sent_as_configured),
	    cmocka_unit_test(custom_create),
	    cmocka_unit_test(other_requests),
	    cmocka_unit_test(bodies_are_utf8),
	    cmocka_unit_test(escape_like_curl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
