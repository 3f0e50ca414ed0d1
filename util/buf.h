/* Growable byte buffer with a hard cap (curl dynbuf, git_str).
 * The content is always NUL-terminated once anything was appended. */
#ifndef ZH_UTIL_BUF_H
#define ZH_UTIL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zh_buf {
	char *ptr;  /* NULL until the first append */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard cap on len; appending past it fails */
};

/* Initialise an empty buffer that may hold at most max bytes. */
void zh_buf_init(struct zh_buf *b, size_t max);

/* Free the memory and reset to empty (keeps max). NULL-safe. */
void zh_buf_dispose(struct zh_buf *b);

/* Forget the content, keep the memory. */
void zh_buf_reset(struct zh_buf *b);

/* Append n bytes. Returns 0, ZH_ETOOBIG past the cap (nothing appended)
 * or ZH_ENOMEM. */
int zh_buf_append(struct zh_buf *b, const void *data, size_t n);

/* Append a NUL-terminated string. Same returns as zh_buf_append. */
int zh_buf_puts(struct zh_buf *b, const char *s);

/* Append s in single quotes, each ' as '\'', so that sh reads it back
 * verbatim as one word. Same returns as zh_buf_append. */
int zh_buf_sh_quote(struct zh_buf *b, const char *s);

/* printf-style append. Same returns as zh_buf_append. */
int zh_buf_printf(struct zh_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int zh_buf_vprintf(struct zh_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Append s as a JSON string, quotes included: '"' and '\\' escaped,
 * newlines and tabs as \n and \t, the other characters of
 * zh_char_is_control (DEL, C1 and bidi ones too) as \uXXXX, each byte
 * that is not part of a valid UTF-8 sequence as \ufffd (JSON text is
 * UTF-8), the rest as it is. Same returns as zh_buf_append. */
int zh_buf_json_str(struct zh_buf *b, const char *s);

/* zh_buf_json_str keeping every byte >= 0x80 as it is: for JSON this
 * program writes and reads back itself (a compact event body), where a
 * path's bytes must stay the path's, UTF-8 or not. */
int zh_buf_json_raw(struct zh_buf *b, const char *s);

/* Append JSON text as it is but for each byte that is not part of a
 * valid UTF-8 sequence, written \ufffd as by zh_buf_json_str: what
 * json-c writes holds a string's bytes as they are, and every byte >= 0x80
 * of JSON text is inside a string. Same returns as zh_buf_append. */
int zh_buf_json_utf8(struct zh_buf *b, const char *json);

/* Whether a terminal would obey character cp (as zh_utf8_char gives it)
 * rather than show it: a C0 control, DEL, a C1 control (U+0080-U+009F,
 * or a byte 0x80-0x9F that is not UTF-8: the CSI of terminals that take
 * 8-bit controls is 0x9B), or a bidi embedding, override or isolate
 * (U+202A-U+202E, U+2066-U+2069), which reorders what follows. */
bool zh_char_is_control(uint32_t cp);

/* Append s[0, len) for a terminal (text of others: commit messages,
 * notes, Zadig's answers): a tab as a space, each other character
 * zh_char_is_control names as an escape, "\x1b" for a byte, "<U+202E>"
 * for a code point, the rest as it is. Same returns as zh_buf_append. */
int zh_buf_display(struct zh_buf *b, const char *s, size_t len);

/* The length of the valid UTF-8 sequence p starts with (1 for ASCII, NUL
 * included), or 0 when it is not one (a stray, overlong or cut one, a
 * surrogate). */
size_t zh_utf8_len(const char *p);

/* The code point zh_utf8_char gives a byte that is not part of a valid
 * UTF-8 sequence: ZH_UTF8_BYTE + the byte, beyond U+10FFFF, so that it is
 * a character of its own, equal to no other. */
#define ZH_UTF8_BYTE 0x110000u

/* The character p starts with: its valid UTF-8 sequence, else its first
 * byte alone. Returns its length in bytes (1 for the NUL, whose code point
 * is 0) and sets *cp. */
size_t zh_utf8_char(const char *p, uint32_t *cp);

/* zh_utf8_char of p[0, len) (len > 0), which need not be NUL-terminated:
 * a sequence len cuts is bytes. */
size_t zh_utf8_char_n(const char *p, size_t len, uint32_t *cp);

/* The content as a C string ("" when empty); owned by the buffer. */
const char *zh_buf_cstr(const struct zh_buf *b);

/* Hand the content to the caller (free() it) and reset the buffer.
 * Returns a malloc'd "" for an empty buffer, NULL on allocation failure. */
char *zh_buf_detach(struct zh_buf *b);

#endif
