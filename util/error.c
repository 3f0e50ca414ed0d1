#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void zh_error_clear(struct zh_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int zh_error_set(struct zh_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
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
