#include "util/value.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

struct zh_value *zh_value_new(enum zh_value_type type)
{
	struct zh_value *v = calloc(1, sizeof(*v));

	if (v)
		v->type = type;
	return v;
}

struct zh_value *zh_value_new_string(const char *s)
{
	struct zh_value *v = zh_value_new(ZH_VALUE_STRING);

	if (v && !(v->u.s = strdup(s ? s : ""))) {
		free(v);
		return NULL;
	}
	return v;
}

struct zh_value *zh_value_new_number(const char *text)
{
	struct zh_value *v = zh_value_new_string(text);

	if (v)
		v->type = ZH_VALUE_NUMBER;
	return v;
}

struct zh_value *zh_value_new_int(int64_t i)
{
	struct zh_value *v = zh_value_new(ZH_VALUE_INT);

	if (v)
		v->u.i = i;
	return v;
}

struct zh_value *zh_value_new_bool(bool b)
{
	struct zh_value *v = zh_value_new(ZH_VALUE_BOOL);

	if (v)
		v->u.b = b;
	return v;
}

int zh_value_append(struct zh_value *v, const char *key, struct zh_value *item)
{
	char *k = NULL;

	if (!item)
		return ZH_ENOMEM;
	if (!v || (v->type == ZH_VALUE_MAP) != (key != NULL) ||
	    (v->type != ZH_VALUE_MAP && v->type != ZH_VALUE_LIST)) {
		zh_value_free(item);
		return ZH_EINVALID;
	}
	if (key && !(k = strdup(key)))
		goto nomem;
	if (v->len == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		struct zh_value **items =
			realloc(v->items, cap * sizeof(*items));
		char **keys;

		if (!items)
			goto nomem;
		v->items = items;
		keys = realloc(v->keys, cap * sizeof(*keys));
		if (!keys)
			goto nomem;
		v->keys = keys;
		v->cap = cap;
	}
	v->items[v->len] = item;
	v->keys[v->len] = k;
	v->len++;
	return 0;
nomem:
	free(k);
	zh_value_free(item);
	return ZH_ENOMEM;
}

const struct zh_value *zh_value_get(const struct zh_value *map, const char *key)
{
	size_t i;

	if (!map || map->type != ZH_VALUE_MAP)
		return NULL;
	for (i = 0; i < map->len; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

struct zh_value *zh_value_dup(const struct zh_value *v)
{
	struct zh_value *c;
	size_t i;

	if (!v)
		return NULL;
	if (v->type == ZH_VALUE_STRING)
		c = zh_value_new_string(v->u.s);
	else if (v->type == ZH_VALUE_NUMBER)
		c = zh_value_new_number(v->u.s);
	else if (!(c = zh_value_new(v->type)))
		return NULL;
	else
		c->u = v->u;
	if (!c)
		return NULL;
	c->line = v->line;
	c->col = v->col;
	for (i = 0; i < v->len; i++) {
		if (zh_value_append(c, v->keys[i], zh_value_dup(v->items[i]))) {
			zh_value_free(c);
			return NULL;
		}
	}
	return c;
}

void zh_value_free(struct zh_value *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->len; i++) {
		zh_value_free(v->items[i]);
		free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	if (v->type == ZH_VALUE_STRING || v->type == ZH_VALUE_NUMBER)
		free(v->u.s);
	free(v);
}
