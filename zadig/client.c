/* The client: one curl easy handle per client, reused for every call so
 * that the connection stays alive (perf-notes.md: 3x faster over HTTP,
 * 11x over HTTPS), capped bodies, GET retries, error mapping. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "util/banned.h"
#include "util/buf.h"
#include "util/error.h"
#include "zadig/curl.h"
#include "zadig/internal.h"
#include "zadig/zadig.h"

#define DEFAULT_TIMEOUT_MS 10000L
#define MAX_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_MAX_BODY ((size_t)8 * 1024 * 1024)
#define DEFAULT_RETRIES 2
#define DEFAULT_RETRY_BASE_MS 200L
/* the least time a GET retry is worth making with (after its back-off) */
#define MIN_RETRY_MS 100L

struct zh_zadig {
	CURL *curl;
	char *base;
	char *token;
	char *token_name; /* opts->token_name, for a refused token */
	char *ca_file; /* for messages; NULL when the system store is used */
	long timeout_ms;
	long connect_ms;
	int64_t deadline_ms; /* on CLOCK_MONOTONIC; 0: none */
	long try_ms;	     /* the timeout of the last try */
	size_t max_body;
	int get_retries;
	long retry_base_ms;
	uint64_t rng;
	struct zh_buf body; /* the last answer */
	bool too_big, oom;
	bool unsent; /* the last request failed before it was sent */
	bool unread; /* zh_zadig_answer_unread */
	CURLcode cc; /* curl's result of the last try */
	char errbuf[CURL_ERROR_SIZE];
};

/* libcurl, loaded by the first zh_zadig_new (zadig/curl.h); every other
 * function here runs on a client, so after that. */
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static const struct zh_curl *cu;
static struct zh_error cu_err;

static void cu_load(void)
{
	cu = zh_curl(&cu_err);
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct zh_zadig *z = ud;
	int rc = zh_buf_append(&z->body, p, size * n);

	if (rc == ZH_ETOOBIG)
		z->too_big = true;
	else if (rc < 0)
		z->oom = true;
	/* A short count makes curl abort the transfer. */
	return rc < 0 ? 0 : size * n;
}

static int check_url(const char *url, struct zh_error *err)
{
	const char *host;
	size_t i;

	if (!url || !*url)
		return zh_error_set(err, ZH_EINVALID, "no zadig url given");
	if (!strncasecmp(url, "http://", 7))
		host = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		host = url + 8;
	else
		return zh_error_set(err, ZH_EINVALID,
				    "zadig url '%.200s' must start with "
				    "http:// or https://",
				    url);
	if (!*host || *host == '/')
		return zh_error_set(err, ZH_EINVALID,
				    "zadig url '%.200s' has no host", url);
	/* a user and password there would go wherever the url goes (task
	 * URLs, notes, errors): refused, and not quoted */
	if (memchr(host, '@', strcspn(host, "/")))
		return zh_error_set(err, ZH_EINVALID,
				    "zadig url must not hold a user name or "
				    "password");
	for (i = 0; url[i]; i++)
		if (isspace((unsigned char)url[i]) ||
		    iscntrl((unsigned char)url[i]) || url[i] == '?' ||
		    url[i] == '#')
			return zh_error_set(err, ZH_EINVALID,
					    "zadig url '%.200s' must be a "
					    "plain base url",
					    url);
	return 0;
}

static int setopts(struct zh_zadig *z, const struct zh_zadig_opts *opts)
{
	CURL *c = z->curl;

	/* the timeouts are set before each try (arm) */
	if (cu->easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	    cu->easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    cu->easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) ||
	    cu->easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) ||
	    cu->easy_setopt(c, CURLOPT_USERAGENT, "zadig-hook/" ZH_VERSION) ||
	    cu->easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) ||
	    cu->easy_setopt(c, CURLOPT_WRITEDATA, z) ||
	    cu->easy_setopt(c, CURLOPT_ERRORBUFFER, z->errbuf) ||
	    cu->easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			    (curl_off_t)z->max_body))
		return -1;
	if (opts->insecure) {
		if (cu->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L) ||
		    cu->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L))
			return -1;
	} else if (cu->easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) ||
		   cu->easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L)) {
		return -1;
	}
	if (opts->ca_file && *opts->ca_file &&
	    cu->easy_setopt(c, CURLOPT_CAINFO, opts->ca_file))
		return -1;
	return 0;
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void zh_zadig_set_deadline(struct zh_zadig *z, int64_t deadline_ms)
{
	int64_t at;

	if (deadline_ms <= 0) {
		z->deadline_ms = 0;
		return;
	}
	/* kept on the monotonic clock: the wall clock set back or forth
	 * while a request runs neither stretches nor cuts it */
	at = clock_ms(CLOCK_MONOTONIC) +
	     (deadline_ms - clock_ms(CLOCK_REALTIME));
	z->deadline_ms = at > 0 ? at : 1;
}

/* What the next try may take: the timeout, cut to what is left of the
 * deadline (<= 0: nothing is left). */
static long time_left(const struct zh_zadig *z)
{
	int64_t left;

	if (!z->deadline_ms)
		return z->timeout_ms;
	left = z->deadline_ms - clock_ms(CLOCK_MONOTONIC);
	return left < z->timeout_ms ? (long)left : z->timeout_ms;
}

/* Set the timeouts of a try that may take ms. */
static int arm(struct zh_zadig *z, long ms)
{
	long connect = z->connect_ms < ms ? z->connect_ms : ms;

	z->try_ms = ms;
	return cu->easy_setopt(z->curl, CURLOPT_TIMEOUT_MS, ms) ||
	       cu->easy_setopt(z->curl, CURLOPT_CONNECTTIMEOUT_MS, connect);
}

int zh_zadig_new(struct zh_zadig **out, const struct zh_zadig_opts *opts,
		 struct zh_error *err)
{
	struct zh_zadig *z = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (!opts)
		return zh_error_set(err, ZH_EINVALID, "no zadig options");
	if ((rc = check_url(opts->url, err)) < 0)
		return rc;
	pthread_once(&cu_once, cu_load);
	if (!cu)
		return zh_error_set(err, cu_err.code, "%s", cu_err.msg);
	if (!(z = calloc(1, sizeof(*z))))
		goto nomem;
	len = strlen(opts->url);
	while (len > 0 && opts->url[len - 1] == '/')
		len--;
	if (!(z->base = strndup(opts->url, len)) ||
	    !(z->token = strdup(opts->token ? opts->token : "")))
		goto nomem;
	if (opts->ca_file && *opts->ca_file &&
	    !(z->ca_file = strdup(opts->ca_file)))
		goto nomem;
	if (opts->token_name && !(z->token_name = strdup(opts->token_name)))
		goto nomem;
	z->timeout_ms =
	    opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	z->connect_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
			: z->timeout_ms < MAX_CONNECT_TIMEOUT_MS
			    ? z->timeout_ms
			    : MAX_CONNECT_TIMEOUT_MS;
	z->try_ms = z->timeout_ms;
	z->max_body = opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
	z->get_retries =
	    opts->get_retries < 0 ? DEFAULT_RETRIES : opts->get_retries;
	z->retry_base_ms = opts->retry_base_ms > 0 ? opts->retry_base_ms
						   : DEFAULT_RETRY_BASE_MS;
	z->rng = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)z ^
		 0x9e3779b97f4a7c15ULL;
	zh_buf_init(&z->body, z->max_body);
	if (!(z->curl = cu->easy_init()))
		goto nomem;
	if (setopts(z, opts) < 0) {
		zh_zadig_free(z);
		return zh_error_set(err, ZH_EINVALID,
				    "cannot configure libcurl (ca file or "
				    "protocol options refused)");
	}
	*out = z;
	return 0;
nomem:
	zh_zadig_free(z);
	return zh_error_set(err, ZH_ENOMEM, "out of memory");
}

void zh_zadig_free(struct zh_zadig *z)
{
	if (!z)
		return;
	if (z->curl)
		cu->easy_cleanup(z->curl);
	if (z->token) {
		explicit_bzero(z->token, strlen(z->token));
		free(z->token);
	}
	free(z->base);
	free(z->ca_file);
	free(z->token_name);
	zh_buf_dispose(&z->body);
	free(z);
}

const char *zh_zadig_base_url(const struct zh_zadig *z)
{
	return z ? z->base : NULL;
}

bool zh_zadig_unsent(const struct zh_zadig *z)
{
	return z && z->unsent;
}

bool zh_zadig_answer_unread(const struct zh_zadig *z)
{
	return z && z->unread;
}

/* ---- one request ---- */

static void free_headers(struct curl_slist *h)
{
	struct curl_slist *s;

	/* The Authorization line holds the token: wipe before freeing. */
	for (s = h; s; s = s->next)
		if (s->data)
			explicit_bzero(s->data, strlen(s->data));
	cu->slist_free_all(h);
}

static struct curl_slist *add_header(struct curl_slist *h, const char *line,
				     bool *oom)
{
	struct curl_slist *n;

	if (*oom)
		return h;
	if (!(n = cu->slist_append(h, line)))
		*oom = true;
	return n ? n : h;
}

static struct curl_slist *make_headers(const struct zh_zadig *z, bool body)
{
	static const char prefix[] = "Authorization: Bearer ";
	struct curl_slist *h = NULL;
	bool oom = false;
	size_t n;
	char *auth;

	if (*z->token) {
		n = sizeof(prefix) + strlen(z->token);
		if (!(auth = malloc(n)))
			return NULL;
		snprintf(auth, n, "%s%s", prefix, z->token);
		h = add_header(h, auth, &oom);
		explicit_bzero(auth, n);
		free(auth);
	}
	h = add_header(h, "Accept: application/json", &oom);
	if (body)
		h = add_header(h, "Content-Type: application/json", &oom);
	/* No 100-continue round trip for our small bodies. */
	h = add_header(h, "Expect:", &oom);
	if (oom) {
		free_headers(h);
		return NULL;
	}
	return h;
}

static void lower_first(char *s)
{
	if (s[0] && isupper((unsigned char)s[0]) &&
	    !isupper((unsigned char)s[1]))
		s[0] = (char)tolower((unsigned char)s[0]);
}

/* Whether curl failed before it wrote any byte of the request: name
 * resolution, connecting, the TLS handshake and certificate check, local
 * TLS set-up. Zadig cannot have acted on such a request, so the caller
 * may send it again without waiting for an earlier try to show up. A
 * timeout or a reset is not listed: the request may have arrived. */
static bool failed_before_send(CURLcode cc)
{
	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
		return true;
	default:
		return false;
	}
}

/* curl's own sentence for cc, trimmed and lower-cased, into why. */
static void curl_why(char *why, size_t size, struct zh_zadig *z, CURLcode cc)
{
	long oserr = 0;
	size_t n;

	if (cc == CURLE_COULDNT_CONNECT &&
	    cu->easy_getinfo(z->curl, CURLINFO_OS_ERRNO, &oserr) == CURLE_OK &&
	    oserr > 0 && strerror_r((int)oserr, why, size) == 0) {
		/* "connection refused" reads better than curl's sentence. */
	} else if (z->errbuf[0]) {
		snprintf(why, size, "%s", z->errbuf);
	} else {
		snprintf(why, size, "%s", cu->easy_strerror(cc));
	}
	n = strlen(why);
	while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == '.'))
		why[--n] = '\0';
	lower_first(why);
}

/* A certificate problem says which certificate and what to change: the
 * user fixes these in the config, not by waiting. */
static int tls_error(struct zh_zadig *z, CURLcode cc, const char *why,
		     struct zh_error *err)
{
	if (cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CRL_BADFILE)
		return zh_error_set(err, ZH_ENET,
				    "cannot load the CA certificates of "
				    "zadig.ca_file '%.200s': %s",
				    z->ca_file ? z->ca_file : "(system store)",
				    why);
	if (strstr(why, "host name") || strstr(why, "subject name"))
		return zh_error_set(err, ZH_ENET,
				    "the TLS certificate of zadig at %s is not "
				    "for that host name (%s): use the name "
				    "the certificate was issued for in "
				    "zadig.url",
				    z->base, why);
	if (z->ca_file)
		return zh_error_set(err, ZH_ENET,
				    "cannot verify the TLS certificate of "
				    "zadig at %s (%s): zadig.ca_file "
				    "'%.200s' does not hold the CA that "
				    "signed it",
				    z->base, why, z->ca_file);
	return zh_error_set(err, ZH_ENET,
			    "cannot verify the TLS certificate of zadig at "
			    "%s (%s): set zadig.ca_file to the CA "
			    "certificate that signed it",
			    z->base, why);
}

static int net_error(struct zh_zadig *z, CURLcode cc, struct zh_error *err)
{
	char why[CURL_ERROR_SIZE + 64];

	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return zh_error_set(err, ZH_ETIMEOUT,
				    "zadig did not answer within %ldms",
				    z->try_ms);
	case CURLE_FILESIZE_EXCEEDED:
		return zh_error_set(err, ZH_ETOOBIG,
				    "zadig answer is larger than the %zu byte "
				    "limit",
				    z->max_body);
	case CURLE_WRITE_ERROR:
		if (z->too_big)
			return zh_error_set(err, ZH_ETOOBIG,
					    "zadig answer is larger than the "
					    "%zu byte limit",
					    z->max_body);
		if (z->oom)
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		break;
	case CURLE_OUT_OF_MEMORY:
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	default:
		break;
	}
	curl_why(why, sizeof(why), z, cc);
	if (cc == CURLE_PEER_FAILED_VERIFICATION ||
	    cc == CURLE_SSL_CACERT_BADFILE || cc == CURLE_SSL_CRL_BADFILE ||
	    cc == CURLE_SSL_ISSUER_ERROR)
		return tls_error(z, cc, why, err);
	return zh_error_set(err, ZH_ENET, "cannot reach zadig at %s: %s",
			    z->base, why);
}

static int set_method(CURL *c, const struct zh_zadig_request *req)
{
	bool post = !strcmp(req->method, "POST");

	if (cu->easy_setopt(c, CURLOPT_NOBODY, 0L))
		return -1;
	if (!req->body && !post)
		return cu->easy_setopt(c, CURLOPT_HTTPGET, 1L) ||
		       cu->easy_setopt(c, CURLOPT_CUSTOMREQUEST,
				       strcmp(req->method, "GET") ? req->method
								  : NULL);
	/* A body on a GET or DELETE: v1.15 reads custom-task arguments
	 * from it, so send it with the method named explicitly. */
	return cu->easy_setopt(c, CURLOPT_POSTFIELDS,
			       req->body ? req->body : "") ||
	       cu->easy_setopt(c, CURLOPT_POSTFIELDSIZE,
			       (long)(req->body ? strlen(req->body) : 0)) ||
	       cu->easy_setopt(c, CURLOPT_CUSTOMREQUEST,
			       post ? NULL : req->method);
}

static int perform_once(struct zh_zadig *z, const struct zh_zadig_request *req,
			long *http, struct zh_error *err)
{
	CURLcode cc;

	zh_buf_reset(&z->body);
	z->too_big = false;
	z->oom = false;
	z->errbuf[0] = '\0';
	z->unsent = false;
	z->unread = false;
	z->cc = CURLE_OK;
	*http = 0;
	if (set_method(z->curl, req))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	cc = z->cc = cu->easy_perform(z->curl);
	if (cc != CURLE_OK) {
		if (err) {
			err->http = 0;
			err->zadig_code = 0;
			err->proxied_http = 0;
		}
		z->unsent = failed_before_send(cc);
		/* a 2xx answer too big to read may say Zadig did it */
		if ((cc == CURLE_FILESIZE_EXCEEDED || z->too_big) &&
		    cu->easy_getinfo(z->curl, CURLINFO_RESPONSE_CODE, http) ==
			CURLE_OK)
			z->unread = *http >= 200 && *http < 300;
		*http = 0;
		return net_error(z, cc, err);
	}
	cu->easy_getinfo(z->curl, CURLINFO_RESPONSE_CODE, http);
	return 0;
}

static bool retry_status(long http)
{
	return http >= 500 || http == 408 || http == 429;
}

/* curl failures of the configuration (the TLS certificate, zadig.ca_file,
 * the URL): the same request fails the same way however often it is
 * made. */
static bool config_error(CURLcode cc)
{
	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
		return true;
	default:
		return false;
	}
}

/* Whether a try that ended with rc (0: answered HTTP http) may go better
 * when made again. */
static bool retryable(const struct zh_zadig *z, int rc, long http)
{
	if (rc == ZH_ETIMEOUT)
		return true;
	if (rc == ZH_ENET)
		return !config_error(z->cc);
	if (rc < 0 || !retry_status(http))
		return false;
	/* v1.18's answer to the commitId lookup: the route is gone */
	return !zh_zadig_lookup_gone(http, z->body.ptr, z->body.len);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static long jitter(struct zh_zadig *z, long span)
{
	/* xorshift64: spreads retries of several hooks apart. */
	z->rng ^= z->rng << 13;
	z->rng ^= z->rng >> 7;
	z->rng ^= z->rng << 17;
	return span > 0 ? (long)(z->rng % (uint64_t)span) : 0;
}

/* Run req, retrying idempotent GETs on network errors, timeouts and
 * 5xx/408/429, never past the deadline: each try's timeout is cut to what
 * is left of it, and a retry is made only when its back-off and a try
 * still fit. On 0 *http holds the last status and z->body the answer. */
static int perform(struct zh_zadig *z, const struct zh_zadig_request *req,
		   long *http, struct zh_error *err)
{
	int tries = 1, i, rc;
	long delay = z->retry_base_ms, wait, ms;

	if (!strcmp(req->method, "GET"))
		tries += z->get_retries;
	for (i = 0;; i++) {
		if ((ms = time_left(z)) <= 0) {
			*http = 0;
			z->unsent = true;
			if (err) {
				err->http = 0;
				err->zadig_code = 0;
				err->proxied_http = 0;
			}
			return zh_error_set(err, ZH_ETIMEOUT,
					    "the deadline came before the "
					    "request was sent to zadig");
		}
		if (arm(z, ms))
			return zh_error_set(err, ZH_ENOMEM, "out of memory");
		rc = perform_once(z, req, http, err);
		if (i + 1 >= tries || !retryable(z, rc, *http))
			return rc;
		wait = delay + jitter(z, delay / 4 + 1);
		if (z->deadline_ms && time_left(z) < wait + MIN_RETRY_MS)
			return rc;
		sleep_ms(wait);
		delay *= 2;
	}
}

/* Replace every copy of the token in err->msg: an answer could echo it. */
static void scrub(struct zh_error *err, const char *token)
{
	size_t tl = strlen(token);
	char *p;

	if (!err || tl < 4)
		return;
	while ((p = strstr(err->msg, token))) {
		memmove(p + 3, p + tl, strlen(p + tl) + 1);
		memcpy(p, "***", 3);
	}
}

/* Replace every copy of the token in the answer before anything reads
 * it: the parsers cut Zadig's text to fit a message, and a token cut in
 * two would leave a piece that scrub() cannot recognise. */
static void scrub_body(struct zh_buf *b, const char *token)
{
	size_t tl = strlen(token), at = 0;
	char *p;

	if (tl < 4 || !b->ptr)
		return;
	/* memmem is a GNU extension; the body may hold NUL bytes. */
	while (at + tl <= b->len) {
		p = b->ptr + at;
		if (memcmp(p, token, tl)) {
			at++;
			continue;
		}
		memmove(p + 3, p + tl, b->len - at - tl + 1);
		memcpy(p, "***", 3);
		b->len -= tl - 3;
		at += 3;
	}
}

/* Send req and check the answer; on 0 z->body holds it. */
static int call(struct zh_zadig *z, const struct zh_zadig_request *req,
		struct zh_error *err)
{
	struct curl_slist *headers = NULL;
	struct zh_buf url;
	long http = 0;
	int rc;

	z->unsent = false;
	z->unread = false;
	zh_buf_init(&url, 64 * 1024);
	if ((rc = zh_buf_printf(&url, "%s%s", z->base, req->path)) < 0) {
		rc = zh_error_set(err, rc, "request url too long");
		goto out;
	}
	if (!(headers = make_headers(z, req->body != NULL))) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	if (cu->easy_setopt(z->curl, CURLOPT_URL, zh_buf_cstr(&url)) ||
	    cu->easy_setopt(z->curl, CURLOPT_HTTPHEADER, headers)) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = perform(z, req, &http, err)) == 0) {
		scrub_body(&z->body, z->token);
		rc = zh_zadig_check_reply(http, z->body.ptr, z->body.len, err);
		/* say which setting holds the token Zadig refused */
		if (rc == ZH_EAUTH && z->token_name &&
		    (zh_zadig_error_status(err) == 401 ||
		     (err && err->zadig_code == 401)))
			rc = zh_error_set(err, ZH_EAUTH,
					  "zadig refused the token (%s 401): "
					  "check %s",
					  zh_zadig_error_status(err) == 401
						  ? "HTTP"
						  : "resultCode",
					  z->token_name);
	}
out:
	/* The handle must not keep pointers to what we free here. */
	cu->easy_setopt(z->curl, CURLOPT_HTTPHEADER, NULL);
	cu->easy_setopt(z->curl, CURLOPT_POSTFIELDS, NULL);
	free_headers(headers);
	zh_buf_dispose(&url);
	if (rc < 0)
		scrub(err, z->token);
	return rc;
}

/* ---- endpoints ---- */

int zh_zadig_tasks_by_commit(struct zh_zadig_task_list *out, struct zh_zadig *z,
			     const char *commit, const char *project,
			     struct zh_error *err)
{
	struct zh_zadig_request req;
	struct zh_error own = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	if (!err)
		err = &own; /* its HTTP status tells the answers apart */
	if ((rc = zh_zadig_render_tasks_by_commit(&req, commit, project, err)) <
	    0)
		return rc;
	rc = call(z, &req, err);
	/* v1.18+ dropped the route: 500 "Invalid path". Callers switch the
	 * lookup off on ZH_ENOTFOUND, for good: any other answer (a 404 of
	 * a proxy while Zadig restarts) is a failed lookup. */
	if (rc == ZH_EZADIG &&
	    zh_zadig_lookup_gone(err->http, z->body.ptr, z->body.len))
		rc = zh_error_set(err, ZH_ENOTFOUND,
				  "zadig has no commitId lookup (removed in "
				  "v1.18)");
	if (rc == 0)
		rc = zh_zadig_parse_task_list(out, z->body.ptr, z->body.len,
					      z->base, err);
	zh_zadig_request_dispose(&req);
	return rc;
}

/* The create answer in z->body. Zadig's own answer (a JSON object)
 * without a usable task_id most likely came with a task: z->unread. */
static int created(struct zh_zadig_created *out, struct zh_zadig *z,
		   const char *project, const char *workflow, bool custom,
		   struct zh_error *err)
{
	int rc = zh_zadig_parse_created(out, z->body.ptr, z->body.len, z->base,
					project, workflow, custom, err);

	if (rc == ZH_EPROTO && zh_zadig_json_object(z->body.ptr, z->body.len))
		z->unread = true;
	return rc;
}

int zh_zadig_product_create(struct zh_zadig_created *out, struct zh_zadig *z,
			    const struct zh_zadig_product_req *req,
			    struct zh_error *err)
{
	struct zh_zadig_request r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = zh_zadig_render_product_create(&r, req, err)) < 0)
		return rc;
	if ((rc = call(z, &r, err)) == 0)
		rc = created(out, z, req->project, req->workflow_name, false,
			     err);
	zh_zadig_request_dispose(&r);
	return rc;
}

int zh_zadig_send_create(struct zh_zadig_created *out, struct zh_zadig *z,
			 const struct zh_zadig_request *req, bool custom,
			 const char *project, const char *workflow,
			 struct zh_error *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!req->method || !req->path || req->path[0] != '/')
		return zh_error_set(err, ZH_EINVALID, "invalid stored request");
	if ((rc = call(z, req, err)) == 0)
		rc = created(out, z, project, workflow, custom, err);
	return rc;
}

int zh_zadig_product_detail(struct zh_zadig_task *out, struct zh_zadig *z,
			    const char *workflow, int64_t task_id,
			    const char *project, struct zh_error *err)
{
	struct zh_zadig_request r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = zh_zadig_render_product_detail(&r, workflow, task_id, project,
						 err)) < 0)
		return rc;
	if ((rc = call(z, &r, err)) == 0)
		rc = zh_zadig_parse_product_detail(
		    out, z->body.ptr, z->body.len, z->base, workflow, task_id,
		    project, err);
	zh_zadig_request_dispose(&r);
	return rc;
}

/* call() for an action, whose answer must be empty or JSON. */
static int acked(struct zh_zadig *z, const struct zh_zadig_request *req,
		 struct zh_error *err)
{
	int rc = call(z, req, err);

	if (rc == 0 &&
	    (rc = zh_zadig_check_ack(z->body.ptr, z->body.len, err)) < 0)
		scrub(err, z->token);
	return rc;
}

static int product_action(struct zh_zadig *z, const char *workflow,
			  int64_t task_id, const char *project,
			  const char *action, struct zh_error *err)
{
	struct zh_zadig_request r;
	int rc;

	if ((rc = zh_zadig_render_product_action(&r, workflow, task_id, project,
						 action, err)) < 0)
		return rc;
	rc = acked(z, &r, err);
	zh_zadig_request_dispose(&r);
	return rc;
}

int zh_zadig_product_restart(struct zh_zadig *z, const char *workflow,
			     int64_t task_id, const char *project,
			     struct zh_error *err)
{
	return product_action(z, workflow, task_id, project, "restart", err);
}

int zh_zadig_product_cancel(struct zh_zadig *z, const char *workflow,
			    int64_t task_id, const char *project,
			    struct zh_error *err)
{
	return product_action(z, workflow, task_id, project, "cancel", err);
}

int zh_zadig_custom_create(struct zh_zadig_created *out, struct zh_zadig *z,
			   const struct zh_zadig_custom_req *req,
			   struct zh_error *err)
{
	struct zh_zadig_request r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = zh_zadig_render_custom_create(&r, req, err)) < 0)
		return rc;
	if ((rc = call(z, &r, err)) == 0)
		rc = created(out, z, req->project, req->workflow_name, true,
			     err);
	zh_zadig_request_dispose(&r);
	return rc;
}

int zh_zadig_custom_detail(struct zh_zadig_task *out, struct zh_zadig *z,
			   const char *workflow, int64_t task_id,
			   struct zh_error *err)
{
	struct zh_zadig_request r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = zh_zadig_render_custom_task(&r, "GET", workflow, task_id,
					      err)) < 0)
		return rc;
	if ((rc = call(z, &r, err)) == 0)
		rc = zh_zadig_parse_custom_detail(out, z->body.ptr, z->body.len,
						  z->base, workflow, task_id,
						  err);
	zh_zadig_request_dispose(&r);
	return rc;
}

int zh_zadig_custom_cancel(struct zh_zadig *z, const char *workflow,
			   int64_t task_id, struct zh_error *err)
{
	struct zh_zadig_request r;
	int rc;

	if ((rc = zh_zadig_render_custom_task(&r, "DELETE", workflow, task_id,
					      err)) < 0)
		return rc;
	rc = acked(z, &r, err);
	zh_zadig_request_dispose(&r);
	return rc;
}

int zh_zadig_custom_approve(struct zh_zadig *z, const char *workflow,
			    int64_t task_id, const char *stage, bool approve,
			    const char *comment, struct zh_error *err)
{
	struct zh_zadig_request r;
	int rc;

	if ((rc = zh_zadig_render_custom_approve(&r, workflow, task_id, stage,
						 approve, comment, err)) < 0)
		return rc;
	rc = acked(z, &r, err);
	zh_zadig_request_dispose(&r);
	return rc;
}
