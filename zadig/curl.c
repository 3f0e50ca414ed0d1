#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "util/banned.h"
#include "zadig/curl.h"

#ifndef ZH_LIBCURL_SONAME
#define ZH_LIBCURL_SONAME "libcurl.so.4"
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct zh_curl api;
static const struct zh_curl *loaded;
static char why[512];

/* dlsym into a function pointer: POSIX guarantees the conversion. */
#define SYM(field, name)                                                       \
	do {                                                                   \
		void *p_ = dlsym(lib, name);                                   \
		if (!p_) {                                                     \
			snprintf(why, sizeof(why), "%s has no %s",             \
				 ZH_LIBCURL_SONAME, name);                     \
			return;                                                \
		}                                                              \
		*(void **)&api.field = p_;                                     \
	} while (0)

static void load(void)
{
	const char *e;
	void *lib;

	/* kept loaded for the life of the process, like a linked library */
	if (!(lib = dlopen(ZH_LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL))) {
		e = dlerror();
		snprintf(why, sizeof(why), "%s", e ? e : ZH_LIBCURL_SONAME);
		return;
	}
	SYM(global_init, "curl_global_init");
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
	if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, sizeof(why), "curl_global_init failed");
		return;
	}
	loaded = &api;
}

const struct zh_curl *zh_curl(struct zh_error *err)
{
	pthread_once(&once, load);
	if (!loaded)
		zh_error_set(err, ZH_ENET, "cannot load libcurl: %s", why);
	return loaded;
}
