#include "flow/update.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "gitrepo/gitrepo.h"

#include "util/banned.h"

/* Copy a hex id of 40 or 64 digits ending at a space; returns its length
 * or 0 when it is not one. */
static size_t take_id(char *dst, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && i < 64 && isxdigit((unsigned char)p[i])) {
		dst[i] = (char)tolower((unsigned char)p[i]);
		i++;
	}
	if ((i != 40 && i != 64) || i >= n || p[i] != ' ')
		return 0;
	dst[i] = '\0';
	return i;
}

int zh_flow_parse_update(struct zh_ref_update *out, const char *line,
			 size_t len, struct zh_error *err)
{
	size_t a, b, i;

	zh_ref_update_dispose(out);
	if (len && line[len - 1] == '\r')
		len--;
	if (!(a = take_id(out->old_hex, line, len)) ||
	    !(b = take_id(out->new_hex, line + a + 1, len - a - 1)) || a != b)
		return zh_error_set(err, ZH_EINVALID,
				    "not '<old-id> <new-id> <ref>'");
	line += a + b + 2;
	len -= a + b + 2;
	if (len == 0)
		return zh_error_set(err, ZH_EINVALID, "empty ref name");
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] <= ' ' || line[i] == 0x7f)
			return zh_error_set(err, ZH_EINVALID,
					    "ref name has a space or control "
					    "character");
	if (!(out->ref = malloc(len + 1)))
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	memcpy(out->ref, line, len);
	out->ref[len] = '\0';
	return 0;
}

int zh_flow_next_update(struct zh_ref_update *out, const char **cursor,
			struct zh_error *err)
{
	const char *line = *cursor, *eol;
	size_t len;
	int rc;

	for (;; line = eol + 1) {
		if (!*line) {
			*cursor = line;
			return 0;
		}
		eol = strchr(line, '\n');
		len = eol ? (size_t)(eol - line) : strlen(line);
		if (len)
			break;
	}
	*cursor = eol ? eol + 1 : line + len;
	rc = zh_flow_parse_update(out, line, len, err);
	return rc < 0 ? rc : 1;
}

void zh_ref_update_dispose(struct zh_ref_update *u)
{
	if (!u)
		return;
	free(u->ref);
	memset(u, 0, sizeof(*u));
}

bool zh_flow_update_may_fire(const struct zh_ref_update *u)
{
	return (strncmp(u->ref, "refs/heads/", 11) == 0 ||
		strncmp(u->ref, "refs/tags/", 10) == 0) &&
	       !zh_oid_is_zero(u->new_hex);
}
