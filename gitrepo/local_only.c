/* Linked into the programs that use libgit2 for local repositories only
 * (git-zadig, git-zadig-full, zadig-hook; never the receiver, whose
 * mirrors fetch over the network), not part of the gitrepo library. The
 * definitions below take the place of a library's in the program, so
 * that git_libgit2_init does not set up transports these programs never
 * use (libgit2 1.5 has no option to skip or defer them).
 *
 * Linked with libgit2's shared library (the default where the archives
 * are missing), they replace the libraries' exported functions:
 *
 * mbedtls_x509_crt_parse_file: Debian's libgit2 is built with mbedTLS,
 * and git_libgit2_init parses the system's whole CA bundle with it
 * (/etc/ssl/certs/ca-certificates.crt, ~140 certificates): ~10 ms of
 * every start, as long as loading libgit2 itself (see
 * git_mbedtls_stream_global_init). libgit2 ignores the empty chain left.
 * Should an HTTPS connection ever be made through libgit2 here, it would
 * fail certificate verification (no trusted CA), never succeed
 * unverified. CMakeLists.txt leaves this file out where libcurl itself
 * uses mbedTLS (the Zadig API calls must keep their CAs).
 *
 * libssh2_init: git_libgit2_init calls it for the SSH transport, and with
 * OpenSSL it loads and registers every built-in engine: ~1.5 ms of every
 * start (docs/BENCHMARKS.md). libcurl's curl_global_init calls it too
 * (for SCP/SFTP, which the Zadig client never allows: http and https
 * only). OpenSSL 3 initialises itself on first use, and libssh2 sessions
 * call libssh2_init again when they start, so an SSH connection, were one
 * ever made here, would still work.
 *
 * With a libgit2 built on other libraries these are simply unused.
 *
 * Linked with the archives (ZH_STATIC_DEPS; CMakeLists.txt,
 * zh_link_static), libgit2's own functions can be replaced:
 *
 * git_mbedtls_stream_global_init, through the linker's --wrap (libgit2's
 * calls to name go to __wrap_name): all of mbedTLS's set-up, the CA
 * bundle and the seeding of its random generator (HAVEGE, ~0.3 ms) too;
 * TLS streams through libgit2 then fail with an error instead of
 * starting. libcurl has its own libraries (it is loaded apart,
 * zadig/curl.c).
 *
 * libgit2's SSH transport (git_smart_subtransport_ssh and the two other
 * functions of its object file): defined here, the linker leaves that
 * object out, and with it libssh2 and the ~2 MB of OpenSSL's libcrypto
 * libssh2 uses, whose relocation at start and clean-up at exit cost
 * every run ~0.4 ms (docs/BENCHMARKS.md). ssh:// remotes then fail with
 * an error. libcurl's shared libssh2 is its own.
 *
 * GSSAPI: libgit2's HTTP Negotiate authentication calls Kerberos, which
 * Debian ships shared only: linking it would load its seven libraries at
 * every start again. The functions below all fail (GSS_S_FAILURE). */

#ifdef ZH_STATIC_DEPS

#include <stdio.h>

#include <git2/errors.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"

int __wrap_git_mbedtls_stream_global_init(void);
int __wrap_git_mbedtls_stream_global_init(void)
{
	return 0;
}

/* The error of a transport left out: "<what> is not set up ...". */
static int not_set_up(int klass, const char *what)
{
	char msg[128];

	snprintf(msg, sizeof(msg),
		 "%s is not set up in this program (it reads local "
		 "repositories only)",
		 what);
	git_error_set_str(klass, msg);
	return -1;
}

struct git_stream;
int __wrap_git_mbedtls_stream_new(struct git_stream **out, const char *host,
				  const char *port);
int __wrap_git_mbedtls_stream_new(struct git_stream **out, const char *host,
				  const char *port)
{
	return not_set_up(GIT_ERROR_SSL, "TLS");
}

int __wrap_git_mbedtls_stream_wrap(struct git_stream **out,
				   struct git_stream *in, const char *host);
int __wrap_git_mbedtls_stream_wrap(struct git_stream **out,
				   struct git_stream *in, const char *host)
{
	return not_set_up(GIT_ERROR_SSL, "TLS");
}

/* libgit2's SSH transport (transports/ssh.c): defined here, its object
 * is not linked, and neither is libssh2 with the part of OpenSSL's
 * libcrypto it uses (~2 MB of code whose relocation and set-up every
 * start paid). */
struct git_smart_subtransport;
struct git_transport;
struct git_remote;

int git_transport_ssh_global_init(void);
int git_transport_ssh_global_init(void)
{
	return 0;
}

int git_smart_subtransport_ssh(struct git_smart_subtransport **out,
			       struct git_transport *owner, void *param);
int git_smart_subtransport_ssh(struct git_smart_subtransport **out,
			       struct git_transport *owner, void *param)
{
	return not_set_up(GIT_ERROR_SSH, "SSH");
}

int git_transport_ssh_with_paths(struct git_transport **out,
				 struct git_remote *owner, void *payload);
int git_transport_ssh_with_paths(struct git_transport **out,
				 struct git_remote *owner, void *payload)
{
	return not_set_up(GIT_ERROR_SSH, "SSH");
}

/* The GSSAPI calls in libgit2 1.5 (src/libgit2/transports/
 * auth_negotiate.c), with gssapi.h's types: OM_uint32 is 32 bits, every
 * other argument a pointer or a pointer-sized handle. */
typedef unsigned int gss_uint32;
#define GSS_FAILURE (13u << 16) /* GSS_S_FAILURE */
#define GSS_FN(name, ...)                                                      \
	gss_uint32 name(gss_uint32 *minor, __VA_ARGS__);                       \
	gss_uint32 name(gss_uint32 *minor, __VA_ARGS__)                        \
	{                                                                      \
		if (minor)                                                     \
			*minor = 0;                                            \
		return GSS_FAILURE;                                            \
	}

void *GSS_C_NT_HOSTBASED_SERVICE;

GSS_FN(gss_indicate_mechs, void *mechs)
GSS_FN(gss_import_name, const void *buf, const void *type, void *name)
GSS_FN(gss_init_sec_context, const void *cred, void *ctx, const void *name,
       const void *mech, gss_uint32 flags, gss_uint32 time,
       const void *bindings, const void *in, void *actual, void *out,
       gss_uint32 *ret_flags, gss_uint32 *ret_time)
GSS_FN(gss_delete_sec_context, void *ctx, void *out)
GSS_FN(gss_display_status, gss_uint32 status, int type, const void *mech,
       gss_uint32 *ctx, void *out)
GSS_FN(gss_release_buffer, void *buf)
GSS_FN(gss_release_name, void *name)
GSS_FN(gss_release_oid_set, void *set)

#else

struct mbedtls_x509_crt;
int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain,
				const char *path);
int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain,
				const char *path)
{
	(void)chain;
	(void)path;
	return 0;
}

int libssh2_init(int flags);
int libssh2_init(int flags)
{
	(void)flags;
	return 0;
}

#endif
