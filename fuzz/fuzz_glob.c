/* Fuzz target: globs (design.md §4.2) and variable expansion (§4.3).
 * Input: pattern '\0' string (no '\0': the string is empty).
 *
 * Properties checked beyond the sanitizers:
 * - a pattern without special characters matches exactly itself;
 * - "**" matches everything, "*" everything without a '/';
 * - a glob the configuration accepts at load time (config/glob.c) is one
 *   the matcher accepts too, so a rule never silently means something
 *   else than what was checked;
 * - expansion leaves a string without "${" as it is.
 * libFuzzer's -timeout catches a matcher that is not linear enough. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "mapping/mapping.h"
#include "util/banned.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool plain(const char *p)
{
	return !strpbrk(p, "*?[\\");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zh_rule rule = {.name = "rule-1"};
	struct zh_event ev = {0};
	struct zh_error err;
	const char *pat, *s, *why;
	char *buf, *out = NULL;
	bool m;
	int ok;

	/* Two strings: the pattern up to the first NUL, the rest. */
	if (!(buf = malloc(size + 2)))
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	pat = buf;
	s = buf + strlen(buf) + 1;
	if (s > buf + size)
		s = buf + size + 1;

	zh_error_clear(&err);
	ok = zh_glob_check(pat, &err);
	if (ok != 0 && (ok != ZH_EINVALID || err.code != ZH_EINVALID))
		abort();
	m = zh_glob_match(pat, s);
	if (plain(pat) && m != (strcmp(pat, s) == 0))
		abort();
	if (!zh_glob_match("**", s))
		abort();
	if (zh_glob_match("*", s) != (strchr(s, '/') == NULL))
		abort();
	if (zh_config_glob_check(pat, &why) == 0 && ok != 0)
		abort();

	/* Both strings as variables and template of an expansion. */
	ev.kind = (size && data[0] & 1) ? ZH_EVENT_TAG : ZH_EVENT_PUSH;
	if (size && data[0] & 2)
		ev.kind = ZH_EVENT_MERGE_REQUEST;
	ev.repo = s;
	ev.ref = s;
	ev.after = s;
	ev.author = pat;
	ev.mr_iid = (int64_t)size;
	if (zh_mapping_expand(&out, pat, &ev, &rule) == 0) {
		if (!out || (!strstr(pat, "${") && strcmp(out, pat) != 0))
			abort();
	}
	free(out);
	(void)zh_mapping_has_skip_marker(s);
	free(buf);
	return 0;
}
