#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void zh_error_clear(struct zh_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

/* The length of s[0, n) without a UTF-8 character cut short at its end:
 * the bytes after the last lead byte are fewer than it announces. */
static size_t whole_chars(const char *s, size_t n)
{
	size_t i = n, want;
	unsigned char c;

	/* at most three continuation bytes follow a lead byte */
	while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return n;
	c = (unsigned char)s[i - 1];
	if (c < 0xc0)
		return n; /* ASCII, or a stray continuation byte: as it is */
	want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	return n - (i - 1) < want ? i - 1 : n;
}

int zh_error_set(struct zh_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* cut to fit: never leave half a character (Zadig's Chinese
	 * messages) for a note, a log line or the pusher's terminal */
	if (n >= (int)sizeof(err->msg))
		err->msg[whole_chars(err->msg, sizeof(err->msg) - 1)] = '\0';
	return code;
}

const char *zh_error_name(int code)
{
	switch (code) {
	case ZH_OK: return "ok";
	case ZH_EINVALID: return "invalid";
	case ZH_ENOTFOUND: return "not found";
	case ZH_ECONFIG: return "config";
	case ZH_ENET: return "network";
	case ZH_ETIMEOUT: return "timeout";
	case ZH_EZADIG: return "zadig";
	case ZH_EAUTH: return "auth";
	case ZH_EGIT: return "git";
	case ZH_ETOOBIG: return "too big";
	case ZH_ENOMEM: return "out of memory";
	case ZH_EIO: return "io";
	case ZH_ESTORE: return "store";
	case ZH_EPROTO: return "protocol";
	case ZH_EUSAGE: return "usage";
	case ZH_EBUSY: return "busy";
	}
	return "error";
}

int zh_error_exit_code(int code)
{
	if (code == ZH_OK)
		return 0;
	if (code == ZH_ECONFIG || code == ZH_EUSAGE)
		return 2;
	return 1;
}
