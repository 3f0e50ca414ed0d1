/* Linked into the programs that use libgit2 for local repositories only
 * (git-zadig, git-zadig-full, zadig-hook-full; never the receiver, whose
 * mirrors fetch over HTTPS), not part of the gitrepo library.
 *
 * Debian's libgit2 is built with mbedTLS, and git_libgit2_init parses the
 * system's whole CA bundle with it (/etc/ssl/certs/ca-certificates.crt,
 * ~140 certificates): ~10 ms of every start, as long as loading libgit2
 * itself, for nothing, since these programs never open a connection
 * through libgit2 (libgit2 1.5 has no option to skip or defer it: see
 * git_mbedtls_stream_global_init). This definition takes the place of
 * mbedTLS's in the program; libgit2 ignores the empty chain it leaves.
 * Should an HTTPS connection ever be made through libgit2 here, it would
 * fail certificate verification (no trusted CA), never succeed
 * unverified. With a libgit2 built on another TLS library it is simply
 * unused. CMakeLists.txt leaves it out where libcurl itself uses mbedTLS
 * (the Zadig API calls must keep their CAs). */

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
