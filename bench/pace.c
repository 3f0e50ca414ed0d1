/* bench helper: a paced load client for bench/receiver.sh (wrk2's idea).
 * Sends POSTs of one file at a fixed rate over N keep-alive connections
 * (libcurl multi) to a loopback URL for a duration, and measures each
 * request's latency from the moment it was due to be sent (so a server
 * that falls behind is charged for the queueing it causes: no coordinated
 * omission). Each request carries a unique Idempotency-Key.
 *
 * usage: pace --url URL --body FILE --rate R --seconds S [--conns N]
 *             [--header "Name: value"]...
 * Prints one line:
 *   sent=.. ok=.. errors=.. late=.. p50_us=.. p90_us=.. p99_us=.. max_us=..
 * ok counts 2xx replies; errors every other reply or transport failure;
 * late the requests that started over 1 ms after they were due (every
 * connection was busy, or this client fell behind). Exit status 0, or 2 on bad
 * usage, 1 on set-up failure. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "util/banned.h"

#define MAX_HEADERS 16
#define MAX_CONNS 256

struct slot {
	CURL *h;
	struct curl_slist *hdrs;
	bool busy;
	uint64_t due_ns; /* when the request in flight should have started */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* The headers of request number n: a unique Idempotency-Key, the
 * caller's, the content type, and no "Expect: 100-continue" round trip.
 * NULL when out of memory. */
static struct curl_slist *request_headers(const char *const *headers,
					  size_t nheaders, const char *prefix,
					  size_t n)
{
	struct curl_slist *l = NULL, *t;
	char key[96];
	size_t i;

	snprintf(key, sizeof(key), "Idempotency-Key: %s-%zu", prefix, n);
	if (!(l = curl_slist_append(l, key)))
		return NULL;
	for (i = 0; i < nheaders; i++) {
		if (!(t = curl_slist_append(l, headers[i])))
			goto fail;
		l = t;
	}
	if (!(t = curl_slist_append(l, "Content-Type: application/json")) ||
	    !(t = curl_slist_append(l, "Expect:")))
		goto fail;
	return l;
fail:
	curl_slist_free_all(l);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

static char *slurp(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (*len = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)*len + 1)) &&
	    fread(b, 1, (size_t)*len, f) != (size_t)*len) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static double number(const char *v, const char *name)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end || d <= 0) {
		fprintf(stderr, "pace: invalid %s '%s'\n", name, v);
		exit(2);
	}
	return d;
}

int main(int argc, char **argv)
{
	const char *url = NULL, *file = NULL, *headers[MAX_HEADERS];
	size_t nheaders = 0, nconns = 32, total, sent = 0, done = 0, i;
	double rate = 0, seconds = 0;
	uint64_t *lat, t0, interval_ns;
	size_t ok = 0, errors = 0, late = 0;
	struct slot *slots;
	char prefix[64];
	char *body;
	long len = 0;
	CURLM *m;
	int a, running = 0;

	for (a = 1; a + 1 < argc; a += 2) {
		const char *k = argv[a], *v = argv[a + 1];

		if (strcmp(k, "--url") == 0)
			url = v;
		else if (strcmp(k, "--body") == 0)
			file = v;
		else if (strcmp(k, "--rate") == 0)
			rate = number(v, "rate");
		else if (strcmp(k, "--seconds") == 0)
			seconds = number(v, "seconds");
		else if (strcmp(k, "--conns") == 0)
			nconns = (size_t)number(v, "conns");
		else if (strcmp(k, "--header") == 0 && nheaders < MAX_HEADERS)
			headers[nheaders++] = v;
		else
			break;
	}
	if (a != argc || !url || !file || !rate || !seconds || !nconns ||
	    nconns > MAX_CONNS) {
		fputs("usage: pace --url URL --body FILE --rate R --seconds S "
		      "[--conns N] [--header H]...\n",
		      stderr);
		return 2;
	}
	/* loopback only: this is a load generator */
	if (strncmp(url, "http://127.0.0.1:", 17) != 0) {
		fputs("pace: only http://127.0.0.1:PORT/... is allowed\n",
		      stderr);
		return 2;
	}
	if (!(body = slurp(file, &len))) {
		fprintf(stderr, "pace: cannot read '%s'\n", file);
		return 1;
	}
	total = (size_t)(rate * seconds);
	interval_ns = (uint64_t)(1e9 / rate);
	lat = calloc(total ? total : 1, sizeof(*lat));
	slots = calloc(nconns, sizeof(*slots));
	if (!lat || !slots || curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    !(m = curl_multi_init()))
		return 1;
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)nconns);
	snprintf(prefix, sizeof(prefix), "pace-%ld-%ld", (long)getpid(),
		 (long)time(NULL));
	for (i = 0; i < nconns; i++) {
		struct slot *s = &slots[i];

		if (!(s->h = curl_easy_init()))
			return 1;
		curl_easy_setopt(s->h, CURLOPT_URL, url);
		curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, len);
		curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 10L);
		curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
	}

	t0 = now_ns();
	while (done < total) {
		uint64_t now = now_ns();
		CURLMsg *msg;
		int left, timeout_ms;

		/* start every request that is due, on a free connection */
		while (sent < total && t0 + sent * interval_ns <= now) {
			struct slot *s = NULL;

			for (i = 0; i < nconns && !s; i++)
				if (!slots[i].busy)
					s = &slots[i];
			if (!s)
				break; /* it stays due; its clock runs */
			s->due_ns = t0 + sent * interval_ns;
			if (now - s->due_ns > 1000000u)
				late++;
			if (!(s->hdrs = request_headers(headers, nheaders,
							prefix, sent)))
				return 1;
			curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, s->hdrs);
			s->busy = true;
			curl_multi_add_handle(m, s->h);
			sent++;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			struct slot *s;
			long code = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
					  (char **)&s);
			curl_easy_getinfo(msg->easy_handle,
					  CURLINFO_RESPONSE_CODE, &code);
			if (msg->data.result == CURLE_OK && code >= 200 &&
			    code < 300)
				ok++;
			else
				errors++;
			lat[done++] = (now_ns() - s->due_ns) / 1000u;
			curl_multi_remove_handle(m, s->h);
			curl_slist_free_all(s->hdrs);
			s->hdrs = NULL;
			s->busy = false;
		}
		if (sent < total) {
			uint64_t due = t0 + sent * interval_ns;

			now = now_ns();
			timeout_ms =
			    due > now ? (int)((due - now) / 1000000u) : 0;
		} else {
			timeout_ms = 100;
		}
		curl_multi_poll(m, NULL, 0, timeout_ms, NULL);
	}

	qsort(lat, done, sizeof(*lat), cmp_u64);
	printf("sent=%zu ok=%zu errors=%zu late=%zu p50_us=%llu p90_us=%llu "
	       "p99_us=%llu max_us=%llu seconds=%.2f\n",
	       sent, ok, errors, late, (unsigned long long)pct(lat, done, 0.50),
	       (unsigned long long)pct(lat, done, 0.90),
	       (unsigned long long)pct(lat, done, 0.99),
	       (unsigned long long)(done ? lat[done - 1] : 0),
	       (double)(now_ns() - t0) / 1e9);
	for (i = 0; i < nconns; i++) {
		curl_easy_cleanup(slots[i].h);
		curl_slist_free_all(slots[i].hdrs);
	}
	curl_multi_cleanup(m);
	curl_global_cleanup();
	free(slots);
	free(lat);
	free(body);
	return 0;
}
