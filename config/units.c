/* Durations ("500ms", "1h30m") and sizes ("1MiB", "10KB", "100"). */
#include <stdint.h>
#include <string.h>

#include "config/config.h"
#include "util/banned.h"
#include "util/error.h"

struct unit {
	const char *name;
	int64_t mult;
};

/* Longest names first where one is a prefix of another ("ms" and "m"). */
static const struct unit duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}, {NULL, 0},
};

static const struct unit size_units[] = {
    {"KiB", 1024},
    {"MiB", 1024 * 1024},
    {"GiB", 1024 * 1024 * 1024},
    {"KB", 1000},
    {"MB", 1000 * 1000},
    {"GB", 1000 * 1000 * 1000},
    {"B", 1},
    {NULL, 0},
};

/* Read the decimal number at *p, advancing *p. -1 when there is none or
 * it overflows. */
static int number(int64_t *out, const char **p)
{
	int64_t n = 0;
	const char *s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	*out = n;
	*p = s;
	return 0;
}

/* The unit at *p, advancing *p past it; NULL when none matches. */
static const struct unit *unit_at(const struct unit *units, const char **p)
{
	for (; units->name; units++) {
		size_t n = strlen(units->name);

		if (strncmp(*p, units->name, n) == 0) {
			*p += n;
			return units;
		}
	}
	return NULL;
}

int zh_config_parse_duration(int64_t *out_ms, const char *s)
{
	int64_t total = 0;

	if (!s || !*s)
		return ZH_EINVALID;
	while (*s) {
		const struct unit *u;
		int64_t n;

		if (number(&n, &s) || !(u = unit_at(duration_units, &s)))
			return ZH_EINVALID;
		if (n > INT64_MAX / u->mult || total > INT64_MAX - n * u->mult)
			return ZH_EINVALID;
		total += n * u->mult;
	}
	*out_ms = total;
	return 0;
}

int zh_config_parse_size(int64_t *out, const char *s)
{
	const struct unit *u = NULL;
	int64_t n;

	if (!s || number(&n, &s))
		return ZH_EINVALID;
	if (*s && (!(u = unit_at(size_units, &s)) || *s))
		return ZH_EINVALID;
	if (u && n > INT64_MAX / u->mult)
		return ZH_EINVALID;
	*out = u ? n * u->mult : n;
	return 0;
}
