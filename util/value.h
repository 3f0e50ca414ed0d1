/* A small JSON-like value tree, so that free-form parts of the config
 * (custom-workflow inputs, release_images) can travel from the YAML reader
 * through the mapping to the Zadig client without any module seeing
 * another's third-party library. */
#ifndef ZH_UTIL_VALUE_H
#define ZH_UTIL_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum zh_value_type {
	ZH_VALUE_NULL,
	ZH_VALUE_BOOL,
	ZH_VALUE_INT,
	ZH_VALUE_STRING,
	ZH_VALUE_LIST,
	ZH_VALUE_MAP,
	ZH_VALUE_NUMBER, /* any other number, as its JSON text in u.s */
};

struct zh_value {
	enum zh_value_type type;
	union {
		bool b;
		int64_t i;
		char *s; /* STRING, NUMBER: owned, NUL-terminated */
	} u;
	/* LIST and MAP: items in order; for MAP keys[i] names items[i]. */
	struct zh_value **items;
	char **keys;
	size_t len;
	size_t cap;
	int line, col; /* where it came from in the config, 0 if unknown */
};

/* Constructors: return NULL when out of memory. */
struct zh_value *zh_value_new(enum zh_value_type type);
struct zh_value *zh_value_new_string(const char *s);
struct zh_value *zh_value_new_int(int64_t i);
struct zh_value *zh_value_new_bool(bool b);
/* A NUMBER written as text, which must be a JSON number ("2.5", "1e3",
 * "12345678901234567890"): sent with exactly these digits. */
struct zh_value *zh_value_new_number(const char *text);

/* Append to a LIST (key NULL) or MAP (key required). Takes ownership of
 * item, also on failure. Returns 0 or ZH_ENOMEM / ZH_EINVALID. */
int zh_value_append(struct zh_value *v, const char *key, struct zh_value *item);

/* The item of a MAP named key, or NULL. */
const struct zh_value *zh_value_get(const struct zh_value *map,
				    const char *key);

/* Deep copy, NULL on allocation failure (or when v is NULL). */
struct zh_value *zh_value_dup(const struct zh_value *v);

/* Free v and everything below it. NULL-safe. */
void zh_value_free(struct zh_value *v);

#endif
