#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

void zh_buf_init(struct zh_buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void zh_buf_dispose(struct zh_buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
}

void zh_buf_reset(struct zh_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

static int grow(struct zh_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (need > b->max)
		return ZH_ETOOBIG;
	if (need < b->cap)
		return 0;
	/* no object is larger than PTRDIFF_MAX; it keeps need + 1 and the
	 * doubling below from wrapping (max may be SIZE_MAX: no cap) */
	if (need >= (size_t)PTRDIFF_MAX)
		return ZH_ENOMEM;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1)
		cap = cap <= (size_t)PTRDIFF_MAX / 2 ? cap * 2 : need + 1;
	if (b->max < SIZE_MAX && cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->ptr, cap);
	if (!p)
		return ZH_ENOMEM;
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int zh_buf_append(struct zh_buf *b, const void *data, size_t n)
{
	int rc;

	if (n > b->max - b->len)
		return ZH_ETOOBIG;
	if ((rc = grow(b, b->len + n)) < 0)
		return rc;
	if (n)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int zh_buf_puts(struct zh_buf *b, const char *s)
{
	return zh_buf_append(b, s, strlen(s));
}

int zh_buf_sh_quote(struct zh_buf *b, const char *s)
{
	int rc = zh_buf_puts(b, "'");

	for (; rc == 0 && *s; s++)
		rc = *s == '\'' ? zh_buf_puts(b, "'\\''")
				: zh_buf_append(b, s, 1);
	return rc ? rc : zh_buf_puts(b, "'");
}

int zh_buf_vprintf(struct zh_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return ZH_EINVALID;
	if ((size_t)n > b->max - b->len)
		return ZH_ETOOBIG;
	if ((rc = grow(b, b->len + (size_t)n)) < 0)
		return rc;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int zh_buf_printf(struct zh_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = zh_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

/* The length of the valid UTF-8 sequence p starts with, its code point
 * in *cp, or 0. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, v = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, v = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, v = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* a NUL ends it too */
		v = v << 6 | (s[i] & 0x3f);
	}
	/* overlong, a surrogate, past U+10FFFF */
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
	    (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
		return 0;
	*cp = v;
	return n;
}

size_t zh_utf8_len(const char *p)
{
	uint32_t cp;

	return utf8_decode((const unsigned char *)p, &cp);
}

size_t zh_utf8_char(const char *p, uint32_t *cp)
{
	size_t n = utf8_decode((const unsigned char *)p, cp);

	if (n)
		return n;
	*cp = ZH_UTF8_BYTE + (unsigned char)p[0];
	return 1;
}

size_t zh_utf8_char_n(const char *p, size_t len, uint32_t *cp)
{
	char c[5] = {0};

	memcpy(c, p, len < 4 ? len : 4);
	return zh_utf8_char(c, cp);
}

bool zh_char_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	       (cp >= ZH_UTF8_BYTE + 0x80 && cp <= ZH_UTF8_BYTE + 0x9f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int zh_buf_display(struct zh_buf *b, const char *s, size_t len)
{
	const char *run = s, *end = s + len;
	uint32_t cp;
	size_t n;
	int rc;

	while (s < end) {
		n = zh_utf8_char_n(s, (size_t)(end - s), &cp);
		if (!zh_char_is_control(cp)) {
			s += n;
			continue;
		}
		if ((rc = zh_buf_append(b, run, (size_t)(s - run))) < 0)
			return rc;
		if (cp == '\t')
			rc = zh_buf_append(b, " ", 1);
		else if (cp < 0x80 || cp >= ZH_UTF8_BYTE)
			rc = zh_buf_printf(b, "\\x%02x", (unsigned char)s[0]);
		else
			rc = zh_buf_printf(b, "<U+%04X>", (unsigned)cp);
		if (rc < 0)
			return rc;
		s += n;
		run = s;
	}
	return zh_buf_append(b, run, (size_t)(s - run));
}

/* How json_str writes s. */
enum json_mode {
	JSON_UTF8, /* a JSON string; a byte that is not UTF-8 as \ufffd */
	JSON_RAW,  /* a JSON string; bytes >= 0x80 as they are */
	JSON_TEXT, /* JSON text as it is but for bytes that are not UTF-8 */
};

/* Whether json_str writes character c (< 0x80) as it is. */
static bool json_plain(unsigned char c, enum json_mode mode)
{
	if (mode == JSON_TEXT)
		return true;
	/* DEL is JSON, but what is printed must not drive a terminal */
	return c >= 0x20 && c != '"' && c != '\\' &&
	       (c != 0x7f || mode == JSON_RAW);
}

static int json_str(struct zh_buf *b, const char *s, enum json_mode mode)
{
	const char *run = s;
	char esc[2] = {'\\', 0};
	uint32_t cp;
	size_t n;
	int rc;

	if (mode != JSON_TEXT && (rc = zh_buf_append(b, "\"", 1)) < 0)
		return rc;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 && mode == JSON_RAW)
			continue;
		n = c >= 0x80 ? utf8_decode((const unsigned char *)s, &cp) : 0;
		if (n && (mode == JSON_TEXT || !zh_char_is_control(cp))) {
			s += n - 1;
			continue;
		}
		if (c < 0x80 && json_plain(c, mode))
			continue;
		if ((rc = zh_buf_append(b, run, (size_t)(s - run))) < 0)
			return rc;
		if (n) {
			/* a C1 or bidi control, as the same character */
			rc = zh_buf_printf(b, "\\u%04x", (unsigned)cp);
			s += n - 1;
		} else if (c >= 0x80) {
			/* not UTF-8: JSON text must be */
			rc = zh_buf_append(b, "\\ufffd", 6);
		} else if (c == '"' || c == '\\' || c == '\n' || c == '\t') {
			esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : (char)c;
			rc = zh_buf_append(b, esc, 2);
		} else {
			rc = zh_buf_printf(b, "\\u%04x", c);
		}
		if (rc < 0)
			return rc;
		run = s + 1;
	}
	if ((rc = zh_buf_append(b, run, (size_t)(s - run))) < 0)
		return rc;
	return mode == JSON_TEXT ? 0 : zh_buf_append(b, "\"", 1);
}

int zh_buf_json_str(struct zh_buf *b, const char *s)
{
	return json_str(b, s, JSON_UTF8);
}

int zh_buf_json_raw(struct zh_buf *b, const char *s)
{
	return json_str(b, s, JSON_RAW);
}

int zh_buf_json_utf8(struct zh_buf *b, const char *json)
{
	return json_str(b, json, JSON_TEXT);
}

const char *zh_buf_cstr(const struct zh_buf *b)
{
	return b->ptr ? b->ptr : "";
}

char *zh_buf_detach(struct zh_buf *b)
{
	char *p = b->ptr;

	if (!p)
		p = calloc(1, 1);
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
