/* Shared inside config/ only: the key table and the glob syntax check.
 * Nothing outside config/ includes this. */
#ifndef ZH_CONFIG_INTERNAL_H
#define ZH_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

enum zh_key_type {
	ZH_KT_STRING,
	ZH_KT_BOOL,
	ZH_KT_DURATION, /* int64_t milliseconds */
	ZH_KT_SIZE,	/* int64_t bytes */
	ZH_KT_INT,	/* int64_t within [min, max] */
	ZH_KT_ENUM,	/* int index into choices, or a string (KF_ENUM_STR) */
	ZH_KT_FLAGS,	/* list of choices -> unsigned bits (1 << index) */
	ZH_KT_STRLIST,	/* struct zh_strlist; one string is a list of one */
	ZH_KT_LIST,	/* list of maps: array pointer + count, own scope */
	ZH_KT_MAP,	/* a map in the same struct; no storage */
	ZH_KT_ANY,	/* free-form list -> struct zh_value * */
};

enum {
	ZH_KF_REQUIRED = 1 << 0,
	ZH_KF_GLOB = 1 << 1,	 /* string or every list item is a glob */
	ZH_KF_URL = 1 << 2,	 /* http:// or https:// */
	ZH_KF_SECRET = 1 << 3,	 /* wiped on free, never quoted */
	ZH_KF_LISTEN = 1 << 4,	 /* host:port */
	ZH_KF_ENUM_STR = 1 << 5, /* ENUM stored as a malloc'd string */
	ZH_KF_REF = 1 << 6,	 /* a ref under refs/notes/ git accepts */
};

/* One key of the file. path is dotted from the top, "[]" marking list
 * items: "rules[].workflow.targets[].name". off is the offset of the
 * storage in the struct of the key's scope: the part of path up to the
 * last "[]" (struct zh_config for none, struct zh_rule for "rules[]",
 * struct zh_rule_target, struct zh_webhook_repo). */
struct zh_config_key {
	const char *path;
	enum zh_key_type type;
	const char *def; /* default, written as in the file; NULL: none */
	unsigned flags;
	size_t off;
	size_t count_off;	    /* LIST: where the item count goes */
	size_t elem_size;	    /* LIST: size of one item's struct */
	const char *const *choices; /* ENUM, FLAGS; NULL-terminated */
	int64_t min, max;	    /* INT; DURATION and SIZE: min only */
	const char *doc;
};

#define ZH_CONFIG_MAX_KEYS 64

extern const struct zh_config_key zh_config_keys[];
extern const size_t zh_config_nkeys;

/* Check the syntax of a glob of design.md §4.2 (the matcher lives in
 * mapping/, which config/ cannot use). Returns 0, or -1 with *why set
 * to a static description. */
int zh_config_glob_check(const char *pattern, const char **why);

#endif
