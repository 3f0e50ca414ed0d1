/* Fuzz target: Zadig's answers (zadig/parse.c), as received from a
 * server we do not control. The first byte picks the parser, the rest is
 * the body; for zh_zadig_check_reply bytes 2-3 are the HTTP status.
 *
 * Properties checked beyond the sanitizers: a failure fills err with its
 * own code and a message of printable text on one line (messages quote
 * the body, which may hold anything), a non-2xx status is never success,
 * a task's URL is a page of the client's base URL and a test report's
 * detail_url is made absolute. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"
#include "util/error.h"
#include "zadig/internal.h"
#include "zadig/zadig.h"

#define BASE "https://zadig.example.com"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int rc, const struct zh_error *err)
{
	const unsigned char *p;

	if (rc == 0)
		return;
	if (rc > 0 || err->code != rc || !err->msg[0])
		abort();
	for (p = (const unsigned char *)err->msg; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
}

/* A URL we build from the base URL. */
static void check_url(const char *url)
{
	if (url && strncmp(url, BASE "/", strlen(BASE) + 1) != 0)
		abort();
}

/* A task's own url is a page of the base URL (Zadig's, or built); a
 * report's detail_url is made absolute unless Zadig sent none. */
static void check_task(const struct zh_zadig_task *t)
{
	const char *u;
	size_t i;

	/* a page of the base URL, which a note line can hold */
	check_url(t->url);
	for (u = t->url; u && *u; u++)
		if ((unsigned char)*u <= ' ' || (unsigned char)*u >= 0x7f)
			abort();
	for (i = 0; i < t->ntest_reports; i++) {
		u = t->test_reports[i].detail_url;
		if (u && *u && strncmp(u, "http://", 7) &&
		    strncmp(u, "https://", 8))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_zadig_task_list l = {0};
	struct zh_zadig_created c = {0};
	struct zh_zadig_task t = {0};
	struct zh_error err;
	const char *body;
	size_t len, i;
	long http;
	int rc;

	if (size < 1)
		return 0;
	body = (const char *)data + 1;
	len = size - 1;
	zh_error_clear(&err);
	switch (data[0] % 6) {
	case 0:
		if (size < 3)
			return 0;
		/* 0..599, so every class of status is reached. */
		http = (long)(((unsigned)data[1] << 8 | data[2]) % 600);
		rc = zh_zadig_check_reply(http, body + 2, len - 2, &err);
		if (rc == 0 && (http < 200 || http >= 300))
			abort();
		break;
	case 1:
		rc = zh_zadig_parse_task_list(&l, body, len, BASE, &err);
		for (i = 0; rc == 0 && i < l.len; i++)
			check_task(&l.items[i]);
		zh_zadig_task_list_dispose(&l);
		break;
	case 2:
		rc = zh_zadig_parse_created(&c, body, len, BASE, "proj", "wf",
					    data[0] & 0x80, &err);
		if (rc == 0 && (c.task_id <= 0 || !c.url))
			abort();
		if (rc == 0)
			check_url(c.url);
		zh_zadig_created_dispose(&c);
		break;
	case 3:
		rc = zh_zadig_parse_product_detail(
		    &t, body, len, BASE, "wf", 7,
		    data[0] & 0x80 ? NULL : "proj", &err);
		if (rc == 0)
			check_task(&t);
		zh_zadig_task_dispose(&t);
		break;
	case 4:
		rc = zh_zadig_parse_custom_detail(&t, body, len, BASE, "wf", 7,
						  &err);
		if (rc == 0)
			check_task(&t);
		zh_zadig_task_dispose(&t);
		break;
	default:
		/* Every status is final or not; none crashes. */
		{
			char *s = strndup(body, len);

			if (s)
				(void)zh_zadig_status_is_final(s);
			free(s);
		}
		return 0;
	}
	check_err(rc, &err);
	return 0;
}
