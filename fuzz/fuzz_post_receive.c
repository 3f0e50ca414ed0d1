/* Fuzz target: the post-receive hook's stdin ("<old> <new> <ref>" lines),
 * split into lines as the hook does and parsed by zh_flow_parse_update.
 * Properties: a parsed update has two ids of equal length (40 or 64 lower
 * hex) and a ref without spaces or control characters. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/update.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct zh_ref_update *u)
{
	size_t a = strlen(u->old_hex), b = strlen(u->new_hex), i;

	if (a != b || (a != 40 && a != 64) || !u->ref[0])
		abort();
	for (i = 0; i < a; i++)
		if (!strchr("0123456789abcdef", u->old_hex[i]) ||
		    !strchr("0123456789abcdef", u->new_hex[i]))
			abort();
	for (i = 0; u->ref[i]; i++)
		if ((unsigned char)u->ref[i] <= ' ' || u->ref[i] == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct zh_ref_update u = {0};

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (zh_flow_parse_update(&u, p, len, NULL) == 0)
			check(&u);
		p += len + 1;
	}
	zh_ref_update_dispose(&u);
	return 0;
}
