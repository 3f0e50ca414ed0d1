#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/store/helpers.h"
#include "util/banned.h"

char *tmpdir_new(void)
{
	char tmpl[] = "/tmp/zh-store-test.XXXXXX";
	char *d;

	if (!mkdtemp(tmpl))
		fail_msg("mkdtemp failed");
	d = strdup(tmpl);
	assert_non_null(d);
	return d;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static int unlock_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, 0700);
	return 0;
}

void tmpdir_remove(char *dir)
{
	if (!dir)
		return;
	/* a test may have taken write permission away somewhere below */
	chmod(dir, 0700);
	nftw(dir, unlock_one, 16, FTW_PHYS);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

struct zh_store *open_ok(const char *dir)
{
	struct zh_error err = {0};
	struct zh_store *s = NULL;

	assert_ok(zh_store_open(&s, dir, &err), &err);
	assert_non_null(s);
	return s;
}

int store_setup(void **state)
{
	struct store_fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->dir = tmpdir_new();
	f->s = open_ok(f->dir);
	*state = f;
	return 0;
}

int store_teardown(void **state)
{
	struct store_fx *f = *state;

	zh_store_free(f->s);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

struct zh_store_trigger_spec spec_for(const char *commit, const char *rule)
{
	struct zh_store_trigger_spec sp;

	memset(&sp, 0, sizeof(sp));
	sp.repo = "group/voting-app";
	sp.ref = "refs/heads/main";
	sp.commit = commit;
	sp.rule = rule;
	sp.workflow = "voting-workflow-dev";
	sp.project = "voting";
	sp.method = "POST";
	sp.path = "/api/directory/workflowTask/create?projectName=voting";
	sp.body = "{\"workflow_name\":\"voting-workflow-dev\"}";
	return sp;
}

int set_zadig_created(struct zh_store *s, int64_t id, int64_t create_time,
		      struct zh_error *err)
{
	struct zh_store_task t;
	int rc;

	if ((rc = zh_store_task_get(&t, s, id, err)) < 0)
		return rc;
	rc = zh_store_task_polled(s, &t, t.status, NULL, t.final, create_time,
				  t.next_poll_ms, t.poll_interval_ms,
				  t.updated_ms, err);
	zh_store_task_dispose(&t);
	return rc;
}
