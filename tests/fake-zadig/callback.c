/* fake-zadig completion callback: Zadig POSTs once when a product task
 * with a callback ends. A single worker thread posts, off the lock. */
#include "tests/fake-zadig/fake.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define MAX_REPLY (64 * 1024)

/* Called with the lock held (from fz_task_set_status). */
void fz_callback_queue(struct fz_server *s, const struct fz_task *t)
{
	json_object *o = json_object_new_object();
	struct fz_callback *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	json_object_object_add(o, "error", json_object_new_string(""));
	json_object_object_add(o, "images", fz_task_images(t));
	json_object_object_add(o, "status", json_object_new_string(t->status));
	json_object_object_add(o, "task_id", json_object_new_int64(t->id));
	json_object_object_add(o, "vars",
			       t->callback_vars
				   ? json_object_get(t->callback_vars)
				   : json_object_new_object());
	json_object_object_add(o, "workflow_name",
			       json_object_new_string(t->workflow));
	c->url = fz_xstrdup(t->callback_url);
	c->body = fz_json_dump(o, NULL);
	json_object_put(o);
	if (s->cb_tail)
		s->cb_tail->next = c;
	else
		s->cb_head = c;
	s->cb_tail = c;
	pthread_cond_signal(&s->cb_cond);
}

static bool is_ipv4_loopback(const char *h)
{
	if (strncmp(h, "127.", 4))
		return false;
	for (; *h; h++)
		if (!isdigit((unsigned char)*h) && *h != '.')
			return false;
	return true;
}

/* Only loopback targets: the fake must never post anywhere else. */
static bool loopback_url(const char *url, char **path, char **query)
{
	CURLU *u = curl_url();
	char *host = NULL, *scheme = NULL;
	bool ok = false;

	*path = NULL;
	*query = NULL;
	if (!u)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		goto out;
	if (strcmp(scheme, "http") && strcmp(scheme, "https"))
		goto out;
	ok = !strcmp(host, "localhost") || !strcmp(host, "[::1]") ||
	     is_ipv4_loopback(host);
	if (curl_url_get(u, CURLUPART_PATH, path, 0) != CURLUE_OK)
		*path = NULL;
	if (curl_url_get(u, CURLUPART_QUERY, query, 0) != CURLUE_OK)
		*query = NULL;
out:
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return ok;
}

struct sink {
	char *data;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *k = userdata;
	size_t n = size * nmemb, room = MAX_REPLY - k->len;
	char *p;

	if (n > room)
		n = room;
	if (!n)
		return size * nmemb;
	p = realloc(k->data, k->len + n + 1);
	if (!p)
		return 0;
	k->data = p;
	memcpy(k->data + k->len, ptr, n);
	k->len += n;
	k->data[k->len] = '\0';
	return size * nmemb;
}

static void post(struct fz_server *s, const struct fz_callback *c)
{
	json_object *rec = json_object_new_object();
	struct curl_slist *hdrs = NULL;
	struct sink reply = {NULL, 0};
	char *path = NULL, *query = NULL;
	const char *error = "";
	long status = 0;
	CURL *h = NULL;
	CURLcode rc;

	if (!loopback_url(c->url, &path, &query)) {
		error = "refused: not a loopback address";
		goto out;
	}
	h = curl_easy_init();
	if (!h) {
		error = "curl_easy_init failed";
		goto out;
	}
	/* Zadig sends nothing but the content type: no auth, no signature. */
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Accept:");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(c->body));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK)
		error = curl_easy_strerror(rc);
	else
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
out:
	json_object_object_add(rec, "direction", json_object_new_string("out"));
	json_object_object_add(rec, "method", json_object_new_string("POST"));
	json_object_object_add(rec, "url", json_object_new_string(c->url));
	json_object_object_add(rec, "path",
			       json_object_new_string(path ? path : ""));
	json_object_object_add(rec, "query",
			       json_object_new_string(query ? query : ""));
	json_object_object_add(rec, "authorization", NULL);
	json_object_object_add(rec, "content_type",
			       json_object_new_string("application/json"));
	json_object_object_add(rec, "body", json_object_new_string(c->body));
	json_object_object_add(rec, "status", json_object_new_int((int)status));
	json_object_object_add(
	    rec, "reply",
	    reply.data ? json_object_new_string_len(reply.data, (int)reply.len)
		       : NULL);
	json_object_object_add(rec, "error", json_object_new_string(error));
	fz_record(s, rec);
	if (*error)
		fz_log(s, "CALLBACK POST %s failed: %s", path ? path : "?",
		       error);
	else
		fz_log(s, "CALLBACK POST %s %ld", path ? path : "?", status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	curl_free(path);
	curl_free(query);
	free(reply.data);
}

void *fz_callback_worker(void *arg)
{
	struct fz_server *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct fz_callback *c;

		while (!s->cb_head && !s->cb_stop)
			pthread_cond_wait(&s->cb_cond, &s->lock);
		if (s->cb_stop)
			break;
		c = s->cb_head;
		s->cb_head = c->next;
		if (!s->cb_head)
			s->cb_tail = NULL;
		pthread_mutex_unlock(&s->lock);
		post(s, c);
		free(c->url);
		free(c->body);
		free(c);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}
