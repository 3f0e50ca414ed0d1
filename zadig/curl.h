/* libcurl, loaded when a program first talks to Zadig rather than when it
 * starts: libcurl brings ~30 shared libraries along (TLS, LDAP, Kerberos,
 * SSH, IDN, ...), whose loading and relocation were about 40% of the
 * start-up of zadig-hook (docs/BENCHMARKS.md), paid by every hook run
 * that fires nothing, records only, or installs. Only zadig/client.c calls
 * through this table. */
#ifndef ZH_ZADIG_CURL_H
#define ZH_ZADIG_CURL_H

#include <curl/curl.h>

#include "util/error.h"

struct zh_curl {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *c);
	const char *(*easy_strerror)(CURLcode cc);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

/* The loaded and initialised (curl_global_init) libcurl; loads it on the
 * first call, from any thread. NULL with err set when it cannot be
 * loaded (then every later call fails the same way). */
const struct zh_curl *zh_curl(struct zh_error *err);

#endif
