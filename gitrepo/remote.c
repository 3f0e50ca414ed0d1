/* What mirror.c and notes_push.c share to talk to a remote: a remote
 * taken as written and the credential callback. */
#include "gitrepo/internal.h"

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

	(void)url;
	if (!(allowed_types & GIT_CREDENTIAL_USERPASS_PLAINTEXT))
		return GIT_PASSTHROUGH;
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
