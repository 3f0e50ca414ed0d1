/* webhook/gitlab.c: every fixture of tests/fixtures/webhook (verbatim
 * GitLab payloads) and the malformed bodies the receiver answers 400. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/error.h"
#include "webhook/gitlab.h"

#include "util/banned.h"

/* Commit ids as GitLab sends them (40 hex digits; 64 in a SHA-256
 * repository), and the zero id of a branch created or deleted. */
#define ID_A "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
#define ID_C1 "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327"
#define ID_C2 "95790bf891e76fee5e1747ab589903a6a1f80f22"
#define ID_0 "0000000000000000000000000000000000000000"
#define ID_256 ID_A "0123456789abcdef01234567"

static char *slurp(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/webhook/%s", ZH_FIXTURES, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void parse_fixture(struct zh_gitlab_event *e, const char *name)
{
	struct zh_error err = {0};
	size_t len;
	char *body = slurp(name, &len);
	int rc = zh_gitlab_parse(e, body, len, &err);

	free(body);
	if (rc != 0)
		fail_msg("%s: %s", name, err.msg);
}

static void test_push(void **state)
{
	struct zh_gitlab_event e;

	(void)state;
	parse_fixture(&e, "push.json");
	assert_int_equal(e.kind, ZH_GITLAB_PUSH);
	assert_string_equal(e.object_kind, "push");
	assert_string_equal(e.project, "mike/diaspora");
	assert_string_equal(e.ref, "refs/heads/master");
	assert_string_equal(e.before,
			    "95790bf891e76fee5e1747ab589903a6a1f80f22");
	assert_string_equal(e.after,
			    "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
	assert_string_equal(e.checkout_sha, e.after);
	assert_int_equal(e.ncommits, 2);
	assert_int_equal(e.total_commits, 4); /* truncated list */
	assert_string_equal(e.commits[1].id, e.after);
	assert_string_equal(e.commits[1].message, "fixed readme");
	assert_string_equal(e.commits[1].author, "GitLab dev user");
	assert_string_equal(e.commits[1].author_email,
			    "gitlabdev@dv6700.(none)");
	assert_int_equal(e.commits[0].npaths, 2);
	assert_string_equal(e.commits[0].paths[0], "CHANGELOG");
	assert_string_equal(e.commits[0].paths[1],
			    "app/controller/application.rb");
	assert_string_equal(e.user_name, "John Smith");
	assert_string_equal(e.user_email, "john@example.com");
	zh_gitlab_event_dispose(&e);
}

static void test_branch_create(void **state)
{
	struct zh_gitlab_event e;

	(void)state;
	parse_fixture(&e, "push_branch_create.json");
	assert_int_equal(e.kind, ZH_GITLAB_PUSH);
	assert_string_equal(e.before,
			    "0000000000000000000000000000000000000000");
	assert_string_equal(e.ref, "refs/heads/changes");
	assert_int_equal(e.ncommits, 0);
	assert_int_equal(e.total_commits, 0);
	assert_string_equal(e.project, "eeshangarg/my-awesome-project");
	zh_gitlab_event_dispose(&e);
}

static void test_branch_delete(void **state)
{
	struct zh_gitlab_event e;

	(void)state;
	parse_fixture(&e, "push_branch_delete.json");
	assert_int_equal(e.kind, ZH_GITLAB_PUSH);
	assert_string_equal(e.after,
			    "0000000000000000000000000000000000000000");
	assert_null(e.checkout_sha); /* null in the payload */
	assert_string_equal(e.ref, "refs/heads/tomek");
	assert_string_equal(e.user_email, "tomasz-kolek@go2.pl");
	zh_gitlab_event_dispose(&e);
}

static void test_tag(void **state)
{
	struct zh_gitlab_event e;

	(void)state;
	parse_fixture(&e, "tag_push.json");
	assert_int_equal(e.kind, ZH_GITLAB_TAG_PUSH);
	assert_string_equal(e.ref, "refs/tags/v1.0.0");
	assert_string_equal(e.checkout_sha,
			    "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7");
	assert_string_equal(e.project, "jsmith/example");
	assert_int_equal(e.ncommits, 0);
	zh_gitlab_event_dispose(&e);
}

static void test_mr_open(void **state)
{
	struct zh_gitlab_event e;

	(void)state;
	parse_fixture(&e, "mr_open.json");
	assert_int_equal(e.kind, ZH_GITLAB_MERGE_REQUEST);
	assert_string_equal(e.action, "open");
	assert_int_equal(e.mr_iid, 1);
	assert_string_equal(e.source_branch, "ms-viewport");
	assert_string_equal(e.target_branch, "master");
	assert_string_equal(e.project, "gitlabhq/gitlab-test");
	assert_string_equal(e.last_commit.id,
			    "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
	assert_string_equal(e.last_commit.message, "fixed readme");
	assert_string_equal(e.last_commit.author, "GitLab dev user");
	assert_null(e.oldrev);
	assert_string_equal(e.user_name, "Administrator");
	/* from the project itself */
	assert_int_equal(e.source_project_id, 14);
	assert_int_equal(e.target_project_id, 14);
	assert_string_equal(e.source_project, "awesome_space/awesome_project");
	assert_false(zh_gitlab_mr_fork(&e));
	zh_gitlab_event_dispose(&e);
}

static void expect_invalid(const char *body, const char *msg);
static size_t round_trip(const char *body, size_t len);

/* A merge request from another project (a fork): told by the projects'
 * ids, else by the source project's path against the project's. */
static void test_mr_fork(void **state)
{
	static const char head[] =
	    "{\"object_kind\":\"merge_request\",\"project\":"
	    "{\"path_with_namespace\":\"g/app\"},\"object_attributes\":"
	    "{\"action\":\"open\",\"iid\":7,\"source_branch\":\"evil\","
	    "\"target_branch\":\"main\",\"last_commit\":{\"id\":\"" ID_C1 "\"}";
	static const struct {
		const char *attrs;
		bool fork;
		const char *source;
	} cases[] = {
	    {",\"source_project_id\":999,\"target_project_id\":14,"
	     "\"source\":{\"path_with_namespace\":\"evil/app\"}}}",
	     true, "evil/app"},
	    {",\"source_project_id\":999,\"target_project_id\":14}}", true,
	     NULL},
	    {",\"source_project_id\":14,\"target_project_id\":14,"
	     "\"source\":{\"path_with_namespace\":\"g/app\"}}}",
	     false, "g/app"},
	    /* the ids decide: a project renamed meanwhile */
	    {",\"source_project_id\":14,\"target_project_id\":14,"
	     "\"source\":{\"path_with_namespace\":\"g/old\"}}}",
	     false, "g/old"},
	    {",\"source\":{\"path_with_namespace\":\"evil/app\"}}}", true,
	     "evil/app"},
	    {",\"source\":{\"path_with_namespace\":\"g/app\"}}}", false,
	     "g/app"},
	    {",\"source\":null}}", false, NULL},
	    /* nothing to tell by (the compact form an earlier version
	     * stored): the project's own */
	    {"}}", false, NULL},
	};
	/* the same with project.id: with no target_project_id, the source
	 * project's id is compared with it */
	static const char head_id[] =
	    "{\"object_kind\":\"merge_request\",\"project\":"
	    "{\"id\":14,\"path_with_namespace\":\"g/app\"},"
	    "\"object_attributes\":"
	    "{\"action\":\"open\",\"iid\":7,\"source_branch\":\"evil\","
	    "\"target_branch\":\"main\",\"last_commit\":{\"id\":\"" ID_C1 "\"}";
	static const struct {
		const char *attrs;
		bool fork;
	} id_cases[] = {
	    {",\"source_project_id\":999}}", true},
	    {",\"source_project_id\":14}}", false},
	    /* the ids decide */
	    {",\"source_project_id\":14,"
	     "\"source\":{\"path_with_namespace\":\"g/old\"}}}",
	     false},
	    {",\"source_project_id\":999,"
	     "\"source\":{\"path_with_namespace\":\"g/app\"}}}",
	     true},
	    {",\"source_project_id\":999,\"target_project_id\":999}}", false},
	    /* no source id: the paths, else the project's own */
	    {",\"source\":{\"path_with_namespace\":\"evil/app\"}}}", true},
	    {"}}", false},
	};
	struct zh_gitlab_event e;
	struct zh_error err = {0};
	char body[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "%s%s", head, cases[i].attrs);
		if (zh_gitlab_parse(&e, body, strlen(body), &err) != 0)
			fail_msg("%s: %s", body, err.msg);
		if (zh_gitlab_mr_fork(&e) != cases[i].fork)
			fail_msg("%s: fork %d", body, !cases[i].fork);
		if (!cases[i].source)
			assert_null(e.source_project);
		else
			assert_string_equal(e.source_project, cases[i].source);
		assert_int_equal(e.project_id, 0);
		zh_gitlab_event_dispose(&e);
	}
	expect_invalid("{\"object_kind\":\"merge_request\",\"project\":"
		       "{\"path_with_namespace\":\"g/app\"},"
		       "\"object_attributes\":{\"action\":\"close\","
		       "\"iid\":7,\"source_branch\":\"s\",\"target_branch\":"
		       "\"t\",\"source_project_id\":\"9\"}}",
		       "field 'object_attributes.source_project_id' is not an "
		       "integer");
	for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++) {
		snprintf(body, sizeof(body), "%s%s", head_id,
			 id_cases[i].attrs);
		if (zh_gitlab_parse(&e, body, strlen(body), &err) != 0)
			fail_msg("%s: %s", body, err.msg);
		assert_int_equal(e.project_id, 14);
		if (zh_gitlab_mr_fork(&e) != id_cases[i].fork)
			fail_msg("%s: fork %d", body, !id_cases[i].fork);
		round_trip(body, strlen(body));
		zh_gitlab_event_dispose(&e);
	}
}

static void test_mr_merge(void **state)
{
	struct zh_gitlab_event e;

	(void)state;
	parse_fixture(&e, "mr_merge.json");
	assert_int_equal(e.kind, ZH_GITLAB_MERGE_REQUEST);
	assert_string_equal(e.action, "merge");
	assert_int_equal(e.mr_iid, 3);
	assert_string_equal(e.source_branch, "tomek");
	assert_string_equal(e.project, "tomaszkolek0/my-awesome-project");
	assert_string_equal(e.last_commit.id,
			    "f423fe3fedbc09f64ef438bedbde12caa161ee14");
	zh_gitlab_event_dispose(&e);
}

static void expect_invalid(const char *body, const char *msg)
{
	struct zh_gitlab_event e;
	struct zh_error err = {0};

	assert_int_equal(zh_gitlab_parse(&e, body, strlen(body), &err),
			 ZH_EINVALID);
	if (!strstr(err.msg, msg))
		fail_msg("'%s': got '%s', want '%s'", body, err.msg, msg);
	zh_gitlab_event_dispose(&e);
}

static void test_invalid(void **state)
{
	(void)state;
	expect_invalid("", "not JSON");
	expect_invalid("{", "not JSON");
	expect_invalid("{} x", "trailing data");
	expect_invalid("[1]", "not a JSON object");
	expect_invalid("{}", "missing field 'object_kind'");
	/* neither a kind nor a system hook's event_name */
	expect_invalid("{\"event_name\":3}", "missing field 'object_kind'");
	expect_invalid("{\"event_name\":null}", "missing field 'object_kind'");
	expect_invalid("{\"object_kind\":3,\"event_name\":\"x\"}",
		       "'object_kind' is not a string");
	expect_invalid("{\"event_name\":\"a\\u0000b\"}",
		       "field 'event_name' contains a NUL character");
	expect_invalid("{\"object_kind\":3}", "'object_kind' is not a string");
	expect_invalid("{\"object_kind\":\"push\"}",
		       "missing field 'project.path_with_namespace'");
	expect_invalid("{\"object_kind\":\"push\",\"project\":"
		       "{\"path_with_namespace\":\"a/b\"}}",
		       "missing field 'ref'");
	expect_invalid("{\"object_kind\":\"push\",\"project\":"
		       "{\"path_with_namespace\":\"a/b\"},\"ref\":\"r\","
		       "\"before\":\"" ID_0 "\",\"after\":\"" ID_A
		       "\",\"commits\":{}}",
		       "'commits' is not a list");
	expect_invalid("{\"object_kind\":\"push\",\"project\":"
		       "{\"path_with_namespace\":\"a/b\"},\"ref\":\"r\","
		       "\"before\":\"" ID_0 "\",\"after\":\"" ID_A
		       "\",\"commits\":[{}]}",
		       "missing field 'commits[].id'");
	expect_invalid("{\"object_kind\":\"merge_request\",\"project\":"
		       "{\"path_with_namespace\":\"a/b\"}}",
		       "missing field 'object_attributes'");
	expect_invalid(
	    "{\"object_kind\":\"merge_request\",\"project\":"
	    "{\"path_with_namespace\":\"a/b\"},\"object_attributes\":"
	    "{\"action\":\"open\",\"iid\":\"x\"}}",
	    "'object_attributes.iid' is not an integer");
	expect_invalid(
	    "{\"object_kind\":\"merge_request\",\"project\":"
	    "{\"path_with_namespace\":\"a/b\"},\"object_attributes\":"
	    "{\"action\":\"open\",\"iid\":1,\"source_branch\":\"s\","
	    "\"target_branch\":\"t\"}}",
	    "missing field 'object_attributes.last_commit.id'");
	{
		/* a NUL inside the body */
		struct zh_gitlab_event e;
		struct zh_error err = {0};

		assert_int_equal(zh_gitlab_parse(&e, "{}\0{}", 5, &err),
				 ZH_EINVALID);
		zh_gitlab_event_dispose(&e);
	}
}

/* design.md §6: an id that is not a commit's is refused with the field's
 * name, before anything is stored (a push "after":"yy" fired rules, and
 * the notes writer could never note it). 40 hex digits, or 64 (SHA-256);
 * the zero id only where GitLab says "none" (before, after). */
/* A push of project a/b: before, after, checkout_sha (NULL: absent) and
 * one commit with id (NULL: none). */
static void push_body(char *body, size_t size, const char *before,
		      const char *after, const char *checkout,
		      const char *commit)
{
	int n = snprintf(body, size,
			 "{\"object_kind\":\"push\",\"project\":"
			 "{\"path_with_namespace\":\"a/b\"},\"ref\":\"r\","
			 "\"before\":\"%s\",\"after\":\"%s\"%s%s%s,"
			 "\"commits\":[%s%s%s]}",
			 before, after, checkout ? ",\"checkout_sha\":\"" : "",
			 checkout ? checkout : "", checkout ? "\"" : "",
			 commit ? "{\"id\":\"" : "", commit ? commit : "",
			 commit ? "\"}" : "");

	assert_true(n > 0 && (size_t)n < size);
}

static void expect_push(const char *before, const char *after,
			const char *checkout, const char *commit,
			const char *msg)
{
	struct zh_gitlab_event e;
	struct zh_error err = {0};
	char body[1024];

	push_body(body, sizeof(body), before, after, checkout, commit);
	if (msg) {
		expect_invalid(body, msg);
		return;
	}
	if (zh_gitlab_parse(&e, body, strlen(body), &err) != 0)
		fail_msg("'%s': %s", body, err.msg);
	zh_gitlab_event_dispose(&e);
}

/* A merge request updated to last_commit.id, from oldrev when not NULL. */
static void expect_mr(const char *last, const char *oldrev, const char *msg)
{
	struct zh_gitlab_event e;
	struct zh_error err = {0};
	char body[1024];
	int n = snprintf(body, sizeof(body),
			 "{\"object_kind\":\"merge_request\",\"project\":"
			 "{\"path_with_namespace\":\"a/b\"},"
			 "\"object_attributes\":{\"action\":\"update\","
			 "\"iid\":1,\"source_branch\":\"s\","
			 "\"target_branch\":\"t\"%s%s%s,\"last_commit\":"
			 "{\"id\":\"%s\"}}}",
			 oldrev ? ",\"oldrev\":\"" : "", oldrev ? oldrev : "",
			 oldrev ? "\"" : "", last);

	assert_true(n > 0 && (size_t)n < sizeof(body));
	if (msg) {
		expect_invalid(body, msg);
		return;
	}
	if (zh_gitlab_parse(&e, body, strlen(body), &err) != 0)
		fail_msg("'%s': %s", body, err.msg);
	zh_gitlab_event_dispose(&e);
}

static void test_commit_ids(void **state)
{
	struct zh_gitlab_event e;
	struct zh_error err = {0};
	char body[1024];

	(void)state;
	/* what GitLab sends: a push, a branch created, one deleted */
	expect_push(ID_A, ID_A, ID_A, ID_A, NULL);
	expect_push(ID_0, ID_A, ID_A, NULL, NULL);
	expect_push(ID_A, ID_0, NULL, NULL, NULL);
	/* a SHA-256 repository */
	expect_push(ID_256, ID_256, ID_256, ID_256, NULL);
	/* upper case is hex too, read as git writes it */
	push_body(body, sizeof(body), ID_0,
		  "DA1560886D4F094C3E6C9EF40349F7D38B5D27D7", NULL, NULL);
	assert_int_equal(zh_gitlab_parse(&e, body, strlen(body), &err), 0);
	assert_string_equal(e.after, ID_A);
	zh_gitlab_event_dispose(&e);

	expect_push(ID_0, "yy", NULL, NULL, "field 'after' is not a commit id");
	expect_push("zz", ID_A, NULL, NULL,
		    "field 'before' is not a commit id");
	expect_push(ID_0, ID_A, "yy", NULL,
		    "field 'checkout_sha' is not a commit id");
	expect_push(ID_0, ID_A, NULL, "c1",
		    "field 'commits[].id' is not a commit id");
	expect_push(ID_0, "", NULL, NULL, "field 'after' is not a commit id");
	/* one digit short, one too many, one that is not hex */
	expect_push(ID_0, "da1560886d4f094c3e6c9ef40349f7d38b5d27d", NULL, NULL,
		    "field 'after' is not a commit id");
	expect_push(ID_0, ID_A "0", NULL, NULL,
		    "field 'after' is not a commit id");
	expect_push(ID_0, "da1560886d4f094c3e6c9ef40349f7d38b5d27dg", NULL,
		    NULL, "field 'after' is not a commit id");
	expect_push(ID_0, ID_A " ", NULL, NULL,
		    "field 'after' is not a commit id");
	/* the zero id names no commit */
	expect_push(ID_0, ID_A, ID_0, NULL,
		    "field 'checkout_sha' is not a commit id");
	expect_push(ID_0, ID_A, NULL, ID_0,
		    "field 'commits[].id' is not a commit id");

	expect_mr(ID_A, NULL, NULL);
	expect_mr(ID_A, ID_A, NULL);
	expect_mr("yy", NULL,
		  "field 'object_attributes.last_commit.id' is not a commit "
		  "id");
	expect_mr(ID_0, NULL,
		  "field 'object_attributes.last_commit.id' is not a commit "
		  "id");
	expect_mr(ID_A, "yy",
		  "field 'object_attributes.oldrev' is not a commit id");
}

/* A string the parse keeps holding \u0000 was cut there ("refs/heads/ma"
 * for "refs/heads/ma\u0000in"): refused as a NUL byte in the body is. */
static void test_nul_escape(void **state)
{
	static const char push[] =
	    "{\"object_kind\":\"push\",\"project\":"
	    "{\"path_with_namespace\":\"a/b\"},\"ref\":\"refs/heads/main\","
	    "\"before\":\"" ID_0 "\",\"after\":\"" ID_A "\"";
	char body[1024];

	(void)state;
	expect_invalid("{\"object_kind\":\"push\",\"project\":"
		       "{\"path_with_namespace\":\"a/b\"},"
		       "\"ref\":\"refs/heads/ma\\u0000in\","
		       "\"before\":\"" ID_0 "\",\"after\":\"" ID_A "\"}",
		       "field 'ref' contains a NUL character");
	expect_invalid("{\"object_kind\":\"push\\u0000x\"}",
		       "field 'object_kind' contains a NUL character");
	expect_invalid("{\"object_kind\":\"push\",\"project\":"
		       "{\"path_with_namespace\":\"a/b\\u0000c\"}}",
		       "field 'project.path_with_namespace' contains a NUL "
		       "character");
	snprintf(body, sizeof(body), "%s,\"user_name\":\"\\u0000\"}", push);
	expect_invalid(body, "field 'user_name' contains a NUL character");
	snprintf(body, sizeof(body),
		 "%s,\"commits\":[{\"id\":\"" ID_A "\",\"message\":\"m\\u0000"
		 "rest\"}]}",
		 push);
	expect_invalid(body,
		       "field 'commits[].message' contains a NUL character");
	snprintf(body, sizeof(body),
		 "%s,\"commits\":[{\"id\":\"" ID_A "\",\"removed\":"
		 "[\"a\",\"b\\u0000c\"]}]}",
		 push);
	expect_invalid(body,
		       "field 'commits[].removed' contains a NUL character");
	expect_invalid("{\"object_kind\":\"merge_request\",\"project\":"
		       "{\"path_with_namespace\":\"a/b\"},"
		       "\"object_attributes\":{\"action\":\"close\","
		       "\"iid\":1,\"source_branch\":\"s\\u0000\","
		       "\"target_branch\":\"t\"}}",
		       "field 'object_attributes.source_branch' contains a "
		       "NUL character");
	/* in what the parse does not keep: skipped, as the rest of it */
	snprintf(body, sizeof(body), "%s,\"message\":\"\\u0000\"}", push);
	{
		struct zh_gitlab_event e;
		struct zh_error err = {0};

		if (zh_gitlab_parse(&e, body, strlen(body), &err) != 0)
			fail_msg("'%s': %s", body, err.msg);
		zh_gitlab_event_dispose(&e);
	}
	/* Zadig's notification too */
	{
		static const char zadig[] =
		    "{\"workflow\":{\"task_id\":1,\"workflow_name\":"
		    "\"wf\\u0000x\"}}";
		struct zh_error err = {0};
		char *wf = NULL;
		int64_t id = 0;

		assert_int_equal(
		    zh_gitlab_parse_zadig(&wf, &id, zadig, strlen(zadig), &err),
		    ZH_EINVALID);
		assert_null(wf);
		assert_non_null(strstr(err.msg,
				       "field 'workflow.workflow_name' "
				       "contains a NUL character"));
	}
}

static void test_other_kinds(void **state)
{
	struct zh_gitlab_event e;
	struct zh_error err = {0};
	const char *body = "{\"object_kind\":\"repository_update\"}";

	(void)state;
	assert_int_equal(zh_gitlab_parse(&e, body, strlen(body), &err), 0);
	assert_int_equal(e.kind, ZH_GITLAB_OTHER);
	zh_gitlab_event_dispose(&e);
	/* a merge request closed needs no last_commit */
	body = "{\"object_kind\":\"merge_request\",\"project\":"
	       "{\"path_with_namespace\":\"a/b\"},\"object_attributes\":"
	       "{\"action\":\"close\",\"iid\":1,\"source_branch\":\"s\","
	       "\"target_branch\":\"t\"}}";
	assert_int_equal(zh_gitlab_parse(&e, body, strlen(body), &err), 0);
	assert_null(e.last_commit.id);
	zh_gitlab_event_dispose(&e);
	/* a system hook's other events (project_create, user_create,
	 * repository_update, ...) have event_name and no object_kind: not
	 * ours, no error; its object_kind is the event_name */
	body = "{\"event_name\":\"project_create\",\"name\":\"x\","
	       "\"path_with_namespace\":\"js/x\",\"project_id\":74}";
	if (zh_gitlab_parse(&e, body, strlen(body), &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(e.kind, ZH_GITLAB_OTHER);
	assert_string_equal(e.object_kind, "project_create");
	zh_gitlab_event_dispose(&e);
	body = "{\"event_name\":\"repository_update\",\"user_id\":1,"
	       "\"changes\":[],\"refs\":[\"refs/heads/master\"],"
	       "\"object_kind\":null}";
	if (zh_gitlab_parse(&e, body, strlen(body), &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(e.kind, ZH_GITLAB_OTHER);
	zh_gitlab_event_dispose(&e);
	/* an event_name "push" without object_kind is not read as a push:
	 * GitLab's push bodies carry both */
	body = "{\"event_name\":\"push\",\"ref\":\"refs/heads/main\"}";
	assert_int_equal(zh_gitlab_parse(&e, body, strlen(body), &err), 0);
	assert_int_equal(e.kind, ZH_GITLAB_OTHER);
	zh_gitlab_event_dispose(&e);
}

static void test_deep_nesting(void **state)
{
	struct zh_gitlab_event e;
	struct zh_error err = {0};
	char body[4096];
	size_t i, n = 0;

	(void)state;
	n += (size_t)snprintf(body, sizeof(body), "{\"object_kind\":");
	for (i = 0; i < 1000; i++)
		body[n++] = '[';
	body[n] = '\0';
	assert_int_equal(zh_gitlab_parse(&e, body, n, &err), ZH_EINVALID);
	zh_gitlab_event_dispose(&e);
}

/* The reader is an event parser: fields in any order, a key given twice
 * counts the last time, and what only another kind reads is not checked. */
static void test_order_and_repeats(void **state)
{
	struct zh_gitlab_event e;
	struct zh_error err = {0};
	const char *body =
	    "{\"commits\":[{\"removed\":[\"r\"],\"author\":{\"email\":\"a@x\","
	    "\"name\":\"A\"},\"added\":[\"a1\",\"a2\"],\"id\":\"" ID_C1 "\","
	    "\"modified\":null,\"added\":[\"a\"]},{\"id\":\"" ID_C2 "\"}],"
	    "\"ref\":\"refs/heads/x\",\"ref\":\"refs/heads/main\","
	    "\"before\":\"" ID_0 "\",\"after\":\"" ID_A "\",\"user\":5,"
	    "\"object_attributes\":[],\"total_commits_count\":1,"
	    "\"project\":{\"path_with_namespace\":\"a/old\"},"
	    "\"project\":{\"path_with_namespace\":\"a/b\",\"id\":[{}]},"
	    "\"object_kind\":\"push\"}";

	(void)state;
	assert_int_equal(zh_gitlab_parse(&e, body, strlen(body), &err), 0);
	assert_string_equal(e.ref, "refs/heads/main");
	assert_string_equal(e.project, "a/b");
	assert_int_equal(e.ncommits, 2);
	assert_int_equal(e.total_commits, 2); /* not below the list */
	assert_string_equal(e.commits[0].id, ID_C1);
	assert_string_equal(e.commits[0].author, "A");
	assert_string_equal(e.commits[0].author_email, "a@x");
	/* added (the last list given), modified, removed */
	assert_int_equal(e.commits[0].npaths, 2);
	assert_string_equal(e.commits[0].paths[0], "a");
	assert_string_equal(e.commits[0].paths[1], "r");
	assert_int_equal(e.commits[1].npaths, 0);
	zh_gitlab_event_dispose(&e);

	/* a merge request does not read commits, nor a push user */
	body =
	    "{\"commits\":5,\"user_name\":[1],\"object_kind\":"
	    "\"merge_request\",\"project\":{\"path_with_namespace\":\"a/b\"},"
	    "\"object_attributes\":{\"action\":\"close\",\"iid\":7,"
	    "\"source_branch\":\"s\",\"target_branch\":\"t\","
	    "\"last_commit\":{\"id\":\"" ID_C1 "\",\"added\":[1]}}}";
	assert_int_equal(zh_gitlab_parse(&e, body, strlen(body), &err), 0);
	assert_int_equal(e.mr_iid, 7);
	assert_string_equal(e.last_commit.id, ID_C1);
	zh_gitlab_event_dispose(&e);

	expect_invalid("{\"object_kind\":\"push\",\"project\":"
		       "{\"path_with_namespace\":\"a/b\"},\"ref\":\"r\","
		       "\"before\":\"" ID_0 "\",\"after\":\"" ID_A
		       "\",\"commits\":[{\"id\":"
		       "\"" ID_C1 "\",\"modified\":[\"m\",null]}]}",
		       "'commits[].modified' holds a non-string");
	expect_invalid("{\"object_kind\":\"push\",\"project\":"
		       "{\"path_with_namespace\":\"a/b\"},\"ref\":\"r\","
		       "\"before\":\"" ID_0 "\",\"after\":\"" ID_A
		       "\",\"commits\":[{\"id\":"
		       "\"" ID_C1 "\",\"added\":{}}]}",
		       "'commits[].added' is not a list");
	expect_invalid("{\"object_kind\":\"push\",\"project\":"
		       "{\"path_with_namespace\":\"a/b\"},\"ref\":\"r\","
		       "\"before\":\"" ID_0 "\",\"after\":\"" ID_A "\","
		       "\"total_commits_count\":1.5}",
		       "'total_commits_count' is not an integer");
	expect_invalid("{\"object_kind\":\"push\",\"project\":\"a/b\"}",
		       "missing field 'project.path_with_namespace'");
	expect_invalid("{\"object_kind\":\"push\",\"a\":1,}", "not JSON");
	expect_invalid("\"push\"", "not a JSON object");
}

static void test_zadig(void **state)
{
	const char *ok = "{\"object_kind\":\"workflow\",\"event\":\"workflow\","
			 "\"workflow\":{\"task_id\":49,\"project_name\":\"p\","
			 "\"workflow_name\":\"wf-dev\",\"status\":\"passed\"}}";
	struct zh_error err = {0};
	char *wf = NULL;
	int64_t id = 0;

	(void)state;
	assert_int_equal(zh_gitlab_parse_zadig(&wf, &id, ok, strlen(ok), &err),
			 0);
	assert_string_equal(wf, "wf-dev");
	assert_int_equal(id, 49);
	free(wf);
	assert_int_equal(zh_gitlab_parse_zadig(&wf, &id, "{}", 2, &err),
			 ZH_EINVALID);
	assert_null(wf);
	assert_int_equal(zh_gitlab_parse_zadig(&wf, &id,
					       "{\"workflow\":{\"task_id\":1}}",
					       26, &err),
			 ZH_EINVALID);
	assert_null(wf);
	ok = "{\"workflow\":\"wf\"}";
	assert_int_equal(zh_gitlab_parse_zadig(&wf, &id, ok, strlen(ok), &err),
			 ZH_EINVALID);
	assert_non_null(strstr(err.msg, "missing field 'workflow'"));
	ok = "{\"workflow\":{\"workflow_name\":\"a\",\"task_id\":\"7\"}}";
	assert_int_equal(zh_gitlab_parse_zadig(&wf, &id, ok, strlen(ok), &err),
			 ZH_EINVALID);
	assert_non_null(
	    strstr(err.msg, "'workflow.task_id' is not an integer"));
	assert_null(wf);
	/* another kind of notification: not an error, nothing to do */
	ok = "{\"object_kind\":\"test\",\"event\":\"test\"}";
	assert_int_equal(zh_gitlab_parse_zadig(&wf, &id, ok, strlen(ok), &err),
			 0);
	assert_null(wf);
	assert_int_equal(id, 0);
	ok = "{\"object_kind\":7}";
	assert_int_equal(zh_gitlab_parse_zadig(&wf, &id, ok, strlen(ok), &err),
			 ZH_EINVALID);
	assert_null(wf);
	/* fields in any order, inside other objects skipped */
	ok = "{\"x\":{\"workflow\":1},\"workflow\":{\"status\":{\"a\":[]},"
	     "\"workflow_name\":\"b\",\"task_id\":8}}";
	assert_int_equal(zh_gitlab_parse_zadig(&wf, &id, ok, strlen(ok), &err),
			 0);
	assert_string_equal(wf, "b");
	assert_int_equal(id, 8);
	free(wf);
}

/* ---- zh_gitlab_compact: read back, the same event ---- */

static void same_str(const char *a, const char *b, const char *what)
{
	if (!a != !b || (a && strcmp(a, b) != 0))
		fail_msg("%s: '%s' against '%s'", what, a ? a : "(null)",
			 b ? b : "(null)");
}

static void same_commit(const struct zh_gitlab_commit *a,
			const struct zh_gitlab_commit *b)
{
	size_t i;

	same_str(a->id, b->id, "commit id");
	same_str(a->message, b->message, "commit message");
	same_str(a->author, b->author, "commit author");
	same_str(a->author_email, b->author_email, "commit author email");
	assert_int_equal(a->npaths, b->npaths);
	for (i = 0; i < a->npaths; i++)
		same_str(a->paths[i], b->paths[i], "path");
}

/* body parses; its compact form parses into the same event, and is
 * compact again byte for byte. Returns the compact form's length. */
static size_t round_trip(const char *body, size_t len)
{
	struct zh_gitlab_event a, b;
	struct zh_error err = {0};
	struct zh_buf c1, c2;
	size_t i, n;

	if (zh_gitlab_parse(&a, body, len, &err) != 0)
		fail_msg("parse: %s", err.msg);
	zh_buf_init(&c1, 1 << 20);
	zh_buf_init(&c2, 1 << 20);
	assert_int_equal(zh_gitlab_compact(&c1, &a), 0);
	if (zh_gitlab_parse(&b, c1.ptr, c1.len, &err) != 0)
		fail_msg("compact form does not parse: %s\n%s", err.msg,
			 zh_buf_cstr(&c1));
	assert_int_equal(a.kind, b.kind);
	same_str(a.object_kind, b.object_kind, "object_kind");
	same_str(a.project, b.project, "project");
	same_str(a.user_name, b.user_name, "user_name");
	same_str(a.user_email, b.user_email, "user_email");
	same_str(a.ref, b.ref, "ref");
	same_str(a.before, b.before, "before");
	same_str(a.after, b.after, "after");
	same_str(a.checkout_sha, b.checkout_sha, "checkout_sha");
	assert_int_equal(a.ncommits, b.ncommits);
	for (i = 0; i < a.ncommits; i++)
		same_commit(&a.commits[i], &b.commits[i]);
	assert_int_equal(a.total_commits, b.total_commits);
	same_str(a.action, b.action, "action");
	assert_int_equal(a.mr_iid, b.mr_iid);
	same_str(a.source_branch, b.source_branch, "source_branch");
	same_str(a.target_branch, b.target_branch, "target_branch");
	same_str(a.oldrev, b.oldrev, "oldrev");
	assert_int_equal(a.source_project_id, b.source_project_id);
	assert_int_equal(a.project_id, b.project_id);
	assert_int_equal(zh_gitlab_mr_fork(&a), zh_gitlab_mr_fork(&b));
	assert_int_equal(a.target_project_id, b.target_project_id);
	same_str(a.source_project, b.source_project, "source_project");
	same_commit(&a.last_commit, &b.last_commit);
	assert_int_equal(zh_gitlab_compact(&c2, &b), 0);
	assert_int_equal(c1.len, c2.len);
	assert_memory_equal(c1.ptr, c2.ptr, c1.len);
	n = c1.len;
	zh_buf_dispose(&c1);
	zh_buf_dispose(&c2);
	zh_gitlab_event_dispose(&a);
	zh_gitlab_event_dispose(&b);
	return n;
}

static void test_compact(void **state)
{
	static const char *const fixtures[] = {
	    "push.json",	"push_branch_create.json",
	    "push_branch_delete.json", "tag_push.json",
	    "mr_open.json",	"mr_merge.json",
	};
	static const char *const bodies[] = {
	    /* every string escape, control characters, bytes that are not
	     * UTF-8 (a NUL, \u0000, is refused: test_nul_escape) */
	    "{\"object_kind\":\"push\",\"ref\":\"refs/heads/a\\\"b\\\\c\","
	    "\"before\":\"" ID_0 "\",\"after\":\"" ID_A
	    "\",\"user_name\":\"\\u00e9\\t\\n"
	    "\\u0001\\/\xff\xfe\",\"project\":{\"path_with_namespace\":"
	    "\"g/p\"},\"commits\":[{\"id\":\"" ID_C1 "\",\"message\":\"m\\u001f"
	    "rest\",\"added\":[\"a b\",\"x\\\"y\"],\"modified\":[],"
	    "\"removed\":[\"z\"]},{\"id\":\"" ID_C2 "\",\"author\":{\"email\":"
	    "\"e@x\"}}],\"total_commits_count\":40}",
	    /* nulls and absent optional fields, a count below the list */
	    "{\"object_kind\":\"tag_push\",\"ref\":\"refs/tags/v1\","
	    "\"before\":\"" ID_0 "\",\"after\":\"" ID_A
	    "\",\"checkout_sha\":null,"
	    "\"user_name\":null,\"project\":{\"path_with_namespace\":\"p\"},"
	    "\"commits\":[{\"id\":\"" ID_C1
	    "\",\"message\":null,\"author\":null}],"
	    "\"total_commits_count\":0}",
	    /* a merge request without last_commit, a negative iid */
	    "{\"object_kind\":\"merge_request\",\"project\":"
	    "{\"path_with_namespace\":\"p\"},\"object_attributes\":"
	    "{\"action\":\"close\",\"iid\":-7,\"source_branch\":\"s\","
	    "\"target_branch\":\"t\"}}",
	    /* one with an oldrev and a user email only */
	    "{\"object_kind\":\"merge_request\",\"user\":{\"email\":\"u@x\"},"
	    "\"project\":{\"path_with_namespace\":\"p\"},"
	    "\"object_attributes\":{\"action\":\"update\",\"iid\":"
	    "9223372036854775807,"
	    "\"source_branch\":\"s\",\"target_branch\":\"t\",\"oldrev\":"
	    "\"" ID_C1 "\","
	    "\"last_commit\":{\"id\":\"" ID_C2 "\"}}}",
	    /* one from a fork */
	    "{\"object_kind\":\"merge_request\",\"project\":"
	    "{\"path_with_namespace\":\"p\"},\"object_attributes\":"
	    "{\"action\":\"close\",\"iid\":1,\"source_branch\":\"s\","
	    "\"target_branch\":\"t\",\"source_project_id\":9,"
	    "\"target_project_id\":8,\"source\":{\"path_with_namespace\":"
	    "\"f/p\"}}}",
	};
	static char note[] = "note";
	struct zh_gitlab_event e;
	struct zh_buf b;
	size_t i, len, n;
	char *body;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		body = slurp(fixtures[i], &len);
		n = round_trip(body, len);
		/* what it is for: the stored form is a fraction of the body */
		if (n * 2 > len)
			fail_msg("%s: %zu bytes compact of %zu", fixtures[i],
				 n, len);
		free(body);
	}
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		round_trip(bodies[i], strlen(bodies[i]));

	/* only the kinds a worker reads */
	parse_fixture(&e, "push.json");
	e.object_kind =
	    note; /* (its strings are the event's, not freed apart) */
	e.kind = ZH_GITLAB_OTHER;
	zh_buf_init(&b, 1024);
	assert_int_equal(zh_gitlab_compact(&b, &e), ZH_EINVALID);
	assert_int_equal(b.len, 0);
	/* a full buffer fails, and says so */
	e.kind = ZH_GITLAB_PUSH;
	zh_buf_init(&b, 16);
	assert_true(zh_gitlab_compact(&b, &e) < 0);
	zh_buf_dispose(&b);
	zh_gitlab_event_dispose(&e);
}

/* zh_gitlab_event_bytes: what the parsed-events table budgets. An
 * event's strings and arrays are in blocks of 1 KiB, doubling, or one the
 * size of a longer string. */
static void test_event_bytes(void **state)
{
	static const char small[] =
	    "{\"object_kind\":\"push\",\"ref\":\"r\",\"before\":\"" ID_0 "\","
	    "\"after\":\"" ID_A
	    "\",\"project\":{\"path_with_namespace\":\"p\"}}";
	static const char one[] =
	    "{\"object_kind\":\"push\",\"ref\":\"r\",\"before\":\"" ID_0 "\","
	    "\"after\":\"" ID_A
	    "\",\"project\":{\"path_with_namespace\":\"p\"},"
	    "\"commits\":[{\"id\":\"" ID_C1 "\",\"added\":[\"x\"],\"removed\":"
	    "[\"0123456789abcdef0123456789\"]}]}";
	static const char *const fixtures[] = {
	    "push.json",
	    "push_branch_create.json",
	    "push_branch_delete.json",
	    "tag_push.json",
	    "mr_open.json",
	    "mr_merge.json",
	};
	struct zh_gitlab_event e;
	struct zh_error err = {0};
	size_t block, n;
	struct zh_buf b;

	(void)state;
	/* five short strings: one block and its header, as malloc holds it
	 * (16 bytes of overhead, rounded to 16) */
	assert_int_equal(zh_gitlab_parse(&e, small, strlen(small), &err), 0);
	block = zh_gitlab_event_bytes(&e);
	assert_true(block >= 1024 + 16 && block <= 1024 + 64);
	assert_int_equal(block % 16, 0);
	zh_gitlab_event_dispose(&e);
	/* what each of GitLab's events keeps fits in one block */
	for (n = 0; n < sizeof(fixtures) / sizeof(fixtures[0]); n++) {
		parse_fixture(&e, fixtures[n]);
		assert_int_equal(zh_gitlab_event_bytes(&e), block);
		zh_gitlab_event_dispose(&e);
	}
	/* a commit, its strings and its paths fit in the same block */
	assert_int_equal(zh_gitlab_parse(&e, one, strlen(one), &err), 0);
	assert_int_equal(zh_gitlab_event_bytes(&e), block);
	assert_int_equal(e.commits[0].npaths, 2);
	assert_string_equal(e.commits[0].paths[0], "x");
	assert_string_equal(e.commits[0].paths[1],
			    "0123456789abcdef0123456789");
	zh_gitlab_event_dispose(&e);

	/* past a block: a message of 5,000 bytes gets a block of its own,
	 * twenty paths of 100 (their list grown from 4 to 32) the next;
	 * every string and array read back whole */
	zh_buf_init(&b, 1 << 20);
	assert_int_equal(zh_buf_append(&b, one, strlen(one) - 3), 0);
	assert_int_equal(
	    zh_buf_printf(&b, "},{\"id\":\"" ID_C2 "\",\"message\":\""), 0);
	for (n = 0; n < 5000; n++)
		assert_int_equal(zh_buf_append(&b, "m", 1), 0);
	assert_int_equal(zh_buf_printf(&b, "\",\"modified\":["), 0);
	for (n = 0; n < 20; n++)
		assert_int_equal(
		    zh_buf_printf(&b, "%s\"%0100zu\"", n ? "," : "", n), 0);
	assert_int_equal(zh_buf_printf(&b, "]}]}"), 0);
	assert_int_equal(zh_gitlab_parse(&e, b.ptr, b.len, &err), 0);
	assert_int_equal(e.ncommits, 2);
	assert_int_equal(strlen(e.commits[1].message), 5000);
	assert_int_equal(e.commits[1].npaths, 20);
	for (n = 0; n < 20; n++) {
		char want[101];

		snprintf(want, sizeof(want), "%0100zu", n);
		assert_string_equal(e.commits[1].paths[n], want);
	}
	assert_string_equal(e.commits[0].paths[1],
			    "0123456789abcdef0123456789");
	assert_string_equal(e.ref, "r");
	n = zh_gitlab_event_bytes(&e);
	assert_true(n >= 5000 + 20 * 101 + 20 * sizeof(char *) &&
		    n <= 3 * (5000 + 20 * 101 + 60 * sizeof(char *)));
	zh_gitlab_event_dispose(&e);
	zh_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_push),
	    cmocka_unit_test(test_branch_create),
	    cmocka_unit_test(test_branch_delete),
	    cmocka_unit_test(test_tag),
	    cmocka_unit_test(test_mr_open),
	    cmocka_unit_test(test_mr_fork),
	    cmocka_unit_test(test_mr_merge),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_commit_ids),
	    cmocka_unit_test(test_nul_escape),
	    cmocka_unit_test(test_other_kinds),
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_order_and_repeats),
	    cmocka_unit_test(test_zadig),
	    cmocka_unit_test(test_compact),
	    cmocka_unit_test(test_event_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
