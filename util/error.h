/* Error codes and the caller-owned error record every fallible call fills. */
#ifndef ZH_UTIL_ERROR_H
#define ZH_UTIL_ERROR_H

enum {
	ZH_OK = 0,
	ZH_EINVALID = -1,  /* bad argument or malformed input */
	ZH_ENOTFOUND = -2, /* no such object, ref, task or file */
	ZH_ECONFIG = -3,   /* configuration error (exit 2) */
	ZH_ENET = -4,      /* network: refused, reset, DNS, TLS */
	ZH_ETIMEOUT = -5,  /* request or deadline timed out */
	ZH_EZADIG = -6,    /* Zadig answered with an error */
	ZH_EAUTH = -7,     /* Zadig answered 401 or 403 */
	ZH_EGIT = -8,      /* libgit2 failure */
	ZH_ETOOBIG = -9,   /* a size cap was hit */
	ZH_ENOMEM = -10,   /* allocation failed */
	ZH_EIO = -11,      /* file system */
	ZH_ESTORE = -12,   /* state store */
	ZH_EPROTO = -13,   /* a peer answered something we cannot parse */
	ZH_EUSAGE = -14,   /* command-line usage (exit 2) */
	ZH_EBUSY = -15,    /* state store locked by another process: transient */
};

struct zh_error {
	int code;        /* one of ZH_E*, 0 when unset */
	int http;        /* HTTP status of the failing request, 0 if none */
	int zadig_code;  /* Zadig's business "code" (e.g. 6163), 0 if none */
	/* for an error Zadig proxied from its backend (HTTP 500, "[400
	 * BadRequest] {...}" in the description): the backend's status,
	 * which says what became of the request; 0 if none */
	int proxied_http;
	char msg[512];   /* lower-case, no full stop; never holds a secret */
};

/* Clear *err (NULL-safe). */
void zh_error_clear(struct zh_error *err);

/* Format the message into err (NULL-safe) and return code, so that the
 * detecting site can write `return zh_error_set(err, ZH_EX, "...")`. A
 * message longer than err->msg is cut on a UTF-8 character boundary. */
int zh_error_set(struct zh_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A short name for a code ("network", "timeout", ...). */
const char *zh_error_name(int code);

/* Exit status a program uses for code: 0 ok, 2 usage or config, else 1. */
int zh_error_exit_code(int code);

#endif
