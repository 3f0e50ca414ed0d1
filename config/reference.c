/* docs/config-reference.md, rendered from the key table so that the
 * reference cannot drift from what the parser accepts. */
#include <string.h>

#include "config/config.h"
#include "config/internal.h"
#include "util/banned.h"
#include "util/buf.h"
#include "util/error.h"

static const char intro[] =
    "# Configuration reference\n"
    "\n"
    "<!-- Generated from config/keys.c by zh_config_reference(); do not "
    "edit.\n"
    "     Regenerate: build/tests/unit/config/test_config_reference "
    "--write -->\n"
    "\n"
    "The programs read one YAML file: `--config FILE`, else "
    "`$ZADIG_HOOK_CONFIG`,\n"
    "else the repository's git config `zadig.config`, else\n"
    "`/etc/zadig-hook/config.yaml`. `git zadig config check [FILE]` "
    "validates a file.\n"
    "A complete example is `config.example.yaml`.\n"
    "\n"
    "- Every problem is reported as `FILE:LINE:COLUMN: message`, unknown "
    "keys\n"
    "  included; the whole file is checked even when a program uses only "
    "part of it.\n"
    "- `${NAME}` in any string value is replaced from the environment "
    "when the file\n"
    "  is loaded; an unset variable is an error. The trigger-time "
    "variables\n"
    "  `${REPO}` `${BRANCH}` `${TAG}` `${REF}` `${COMMIT}` "
    "`${SHORT_COMMIT}` `${BEFORE}`\n"
    "  `${AUTHOR}` `${AUTHOR_EMAIL}` `${MR_IID}` `${MR_TARGET_BRANCH}` "
    "`${RULE}`\n"
    "  are kept as they are and replaced when a rule fires.\n"
    "- Durations are numbers with a unit `ms`, `s`, `m` or `h`, which may "
    "be\n"
    "  summed: `500ms`, `10s`, `5m`, `24h`, `1h30m`. A number alone is an "
    "error,\n"
    "  and so is a duration longer than `876000h` (100 years).\n"
    "- Sizes are bytes, or a number with a unit `B`, `KiB`, `MiB`, `GiB` "
    "(1024-based)\n"
    "  or `KB`, `MB`, `GB` (1000-based): `1MiB`, `512KiB`.\n"
    "- Globs: `*` does not cross `/`, `**` does, `?` is one character, "
    "`[...]` a class.\n"
    "- Lists and maps nest at most 64 levels deep, counted from the top "
    "of the\n"
    "  file; reading stops at the first one deeper.\n"
    "- A list of strings may also be written as one string.\n"
    "- `[]` in a key stands for each item of a list.\n"
    "- Besides the table: exactly one of `zadig.token` and "
    "`zadig.token_file`;\n"
    "  exactly one of `rules[].workflow` and `rules[].custom_workflow`; "
    "rule names\n"
    "  are unique; exactly one of `webhook.repos[].path` and "
    "`webhook.repos[].url`;\n"
    "  `git zadig config check` also requires `targets` or a non-empty\n"
    "  `release_images` of a `rules[].workflow` and a non-empty\n"
    "  `webhook.secret` in a `webhook` section (the hook loads past them:\n"
    "  such a rule never triggers, the receiver refuses to start), and "
    "warns\n"
    "  of a target without `repos` and a release image without `image`,\n"
    "  `service_name` or `service_module` (Zadig's API documents them as\n"
    "  required; they are sent as written);\n"
    "  `poll.max_interval` is not less than `poll.interval`.\n"
    "\n"
    "| key | type | default | description |\n"
    "|---|---|---|---|\n";

static int put_choices(struct zh_buf *out, const char *pre,
		       const char *const *c)
{
	int rc = zh_buf_puts(out, pre);
	size_t i;

	for (i = 0; !rc && c[i]; i++)
		rc = zh_buf_printf(out, "%s`%s`", i ? ", " : "", c[i]);
	return rc;
}

static int put_type(struct zh_buf *out, const struct zh_config_key *k)
{
	switch (k->type) {
	case ZH_KT_STRING:
		if (k->flags & ZH_KF_GLOB)
			return zh_buf_puts(out, "glob");
		if (k->flags & ZH_KF_URL)
			return zh_buf_puts(out, "URL");
		if (k->flags & ZH_KF_SECRET)
			return zh_buf_puts(out, "string (secret)");
		return zh_buf_puts(out, "string");
	case ZH_KT_BOOL:
		return zh_buf_puts(out, "bool");
	case ZH_KT_DURATION:
		return zh_buf_puts(out, "duration");
	case ZH_KT_SIZE:
		return zh_buf_puts(out, "size");
	case ZH_KT_INT:
		return zh_buf_printf(out, "integer %lld..%lld",
				     (long long)k->min, (long long)k->max);
	case ZH_KT_ENUM:
		return put_choices(out, "one of ", k->choices);
	case ZH_KT_FLAGS:
		return put_choices(out, "list of ", k->choices);
	case ZH_KT_STRLIST:
		return zh_buf_puts(out, k->flags & ZH_KF_GLOB
					    ? "list of globs"
					    : "list of strings");
	case ZH_KT_LIST:
		return zh_buf_puts(out, "list of maps");
	case ZH_KT_MAP:
		return zh_buf_puts(out, "map");
	case ZH_KT_ANY:
		return zh_buf_puts(out, "list (free-form)");
	}
	return 0;
}

/* Table cells may not hold a raw '|'. */
static int put_cell(struct zh_buf *out, const char *s)
{
	int rc = 0;

	for (; !rc && *s; s++)
		rc = *s == '|' ? zh_buf_puts(out, "\\|")
			       : zh_buf_append(out, s, 1);
	return rc;
}

int zh_config_reference(struct zh_buf *out)
{
	size_t i;
	int rc = zh_buf_puts(out, intro);

	for (i = 0; !rc && i < zh_config_nkeys; i++) {
		const struct zh_config_key *k = &zh_config_keys[i];

		rc = zh_buf_printf(out, "| `%s` | ", k->path);
		if (!rc)
			rc = put_type(out, k);
		if (!rc && (k->flags & ZH_KF_REQUIRED))
			rc = zh_buf_puts(out, " | required | ");
		else if (!rc && k->def)
			rc = zh_buf_printf(out, " | `%s` | ", k->def);
		else if (!rc)
			rc = zh_buf_puts(out, " | | ");
		if (!rc)
			rc = put_cell(out, k->doc);
		if (!rc)
			rc = zh_buf_puts(out, " |\n");
	}
	return rc;
}
