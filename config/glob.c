/* Syntax of the globs of design.md §4.2, checked at load time so that a
 * typo in a rule is a config error, not a rule that silently never fires. */
#include <stddef.h>

#include "config/internal.h"
#include "util/banned.h"

/* p points just after '['; returns the index just after the closing ']'
 * or 0 with *why set. */
static size_t class_end(const char *p, const char **why)
{
	size_t i = 0, n = 0;

	if (p[i] == '!' || p[i] == '^')
		i++;
	for (; p[i] && p[i] != ']'; n++) {
		unsigned char lo;

		if (p[i] == '\\' && p[i + 1])
			i++;
		lo = (unsigned char)p[i++];
		if (p[i] == '-' && p[i + 1] && p[i + 1] != ']') {
			unsigned char hi;

			i++;
			if (p[i] == '\\' && p[i + 1])
				i++;
			hi = (unsigned char)p[i++];
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
