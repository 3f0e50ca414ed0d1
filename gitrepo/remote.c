/* What mirror.c and notes_push.c share to talk to a remote: a remote
 * taken as written and the credential callback. */
#include "gitrepo/internal.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <git2.h>

#include "util/banned.h"

int zh_remote_new(git_remote **out, git_repository *repo, const char *url)
{
	git_remote_create_options ro;

	/* no url.*.insteadOf rewriting: the configured url is the url, and
	 * libgit2 1.5's regex config lookup leaks its pcre2 match data
	 * (libgit2 PR #6382) on every call */
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
		   GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	return git_remote_create_with_opts(out, url, &ro);
}

/* The origin of url: its scheme and its host and port after any user,
 * the port given by the scheme when it names none; false when url has no
 * scheme:// (a local path or scp-like syntax). */
static bool origin_of(char *out, size_t size, const char *url)
{
	const char *sep = strstr(url, "://"), *host, *end, *p;
	bool port = false;
	int n;

	if (!sep)
		return false;
	host = sep + 3;
	end = host + strcspn(host, "/?#");
	for (p = host; p < end; p++)
		if (*p == '@')
			host = p + 1;
	/* a ':' after any ']' (of an IPv6 address) names the port */
	for (p = host; p < end; p++)
		port = *p == ':' ? true : *p == ']' ? false : port;
	n = snprintf(out, size, "%.*s://%.*s%s", (int)(sep - url), url,
		     (int)(end - host), host,
		     port				    ? ""
		     : strncasecmp(url, "https://", 8) == 0 ? ":443"
		     : strncasecmp(url, "http://", 7) == 0  ? ":80"
							    : "");
	if (n < 0 || (size_t)n >= size)
		return false;
	for (p = out; *p; p++)
		*(char *)p = (char)tolower((unsigned char)*p);
	return true;
}

/* When the remote refuses, the callback fails with a message of its
 * own: libgit2 keeps it as the error, where giving up (GIT_PASSTHROUGH)
 * has it say "remote authentication required but no callback set",
 * which reads as if no credentials were configured. Never the password. */
static int acquire(git_credential **out, const char *url,
		   const char *username_from_url, unsigned int allowed_types,
		   void *payload)
{
	struct zh_remote_creds *c = payload;
	const char *user = c->username ? c->username : username_from_url;
	char want[512], got[512];

	if (!(allowed_types & GIT_CREDENTIAL_USERPASS_PLAINTEXT))
		return GIT_PASSTHROUGH;
	/* libgit2 follows a redirect to another host and asks us there:
	 * the credentials are for the configured one only */
	if (c->url && url && origin_of(want, sizeof(want), c->url) &&
	    (!origin_of(got, sizeof(got), url) || strcmp(want, got) != 0)) {
		git_error_set(
		    GIT_ERROR_NET,
		    "the remote redirected to %s, which is not the "
		    "host its credentials are for",
		    origin_of(got, sizeof(got), url) ? got : "another place");
		return GIT_EAUTH;
	}
	if (!user)
		user = "git";
	/* a refused password is not offered again: libgit2 would loop */
	if (c->tries++ && c->password) {
		git_error_set(GIT_ERROR_NET,
			      "the remote refused the credentials configured "
			      "for it (user '%s')",
			      user);
		return GIT_EAUTH;
	}
	if (!c->password && username_from_url) {
		/* libgit2 asks only once the url's were refused */
		git_error_set(GIT_ERROR_NET,
			      "the remote refused the credentials of its url "
			      "(user '%s')",
			      username_from_url);
		return GIT_EAUTH;
	}
	if (!c->password) {
		git_error_set(GIT_ERROR_NET, "the remote asks for credentials "
					     "and none are configured");
		return GIT_EAUTH;
	}
	return git_credential_userpass_plaintext_new(out, user, c->password);
}

void zh_remote_callbacks_init(git_remote_callbacks *cb,
			      struct zh_remote_creds *creds)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = acquire;
	cb->payload = creds;
}
