/* Linked into the programs that use libgit2 for local repositories only
 * (git-zadig, git-zadig-full, zadig-hook-full; never the receiver, whose
 * mirrors fetch over the network), not part of the gitrepo library. Each
 * definition below takes the place of a library's in the program, so
 * that git_libgit2_init does not set up transports these programs never
 * use (libgit2 1.5 has no option to skip or defer them).
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
 * With a libgit2 built on other libraries these are simply unused. */

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
