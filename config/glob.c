/* Syntax of the globs of design.md §4.2, checked at load time so that a
 * typo in a rule is a config error, not a rule that silently never fires. */
#include <stddef.h>
#include <stdint.h>

#include "config/internal.h"
#include "util/banned.h"
#include "util/buf.h"

/* One character of a class at p, maybe escaped: its code point in *c (a
 * UTF-8 character, as the matcher takes it); returns the bytes it spans. */
static size_t class_char(const char *p, uint32_t *c)
{
	size_t esc = p[0] == '\\' && p[1];

	return esc + zh_utf8_char(p + esc, c);
}

/* p points just after '['; returns the index just after the closing ']'
 * or 0 with *why set. */
static size_t class_end(const char *p, const char **why)
{
	size_t i = 0, n = 0;

	if (p[i] == '!' || p[i] == '^')
		i++;
	for (; p[i] && p[i] != ']'; n++) {
		uint32_t lo, hi;

		i += class_char(p + i, &lo);
		if (p[i] == '-' && p[i + 1] && p[i + 1] != ']') {
			i++;
			i += class_char(p + i, &hi);
			if (hi < lo) {
				*why = "reversed range in '[...]'";
				return 0;
			}
		}
	}
	if (!p[i]) {
		*why = "unclosed '['";
		return 0;
	}
	if (n == 0) {
		*why = "empty class '[]'";
		return 0;
	}
	return i + 1;
}

int zh_config_glob_check(const char *pattern, const char **why)
{
	const char *p = pattern;

	if (!*p) {
		*why = "empty pattern";
		return -1;
	}
	while (*p) {
		if (*p == '\\') {
			if (!p[1]) {
				*why = "trailing backslash";
				return -1;
			}
			p += 2;
		} else if (*p == '[') {
			size_t n = class_end(p + 1, why);

			if (!n)
				return -1;
			p += 1 + n;
		} else {
			p++;
		}
	}
	return 0;
}
