/* Globs of design.md §4.2.
 *
 * The pattern is compiled into a token list and run as an NFA over the
 * string: one pass over the string, a set of live token positions, so the
 * cost is O(len(s) * len(pattern)) whatever the pattern ("*a*a*a*b" on a
 * long run of a's included). No recursion, no backtracking.
 *
 * The semantics (line comments below, since the examples contain the
 * characters that open a block comment): */
// *      any run of characters except '/' (dotfiles included)
// **     any run of characters, '/' included ("a**b", "docs/**")
// **/    as a whole path segment ("**/x", "src/**/x.c"): zero or more
//        whole directories, so "src/**/x.c" matches "src/x.c" and "**/x"
//        matches "x"; "*.md" matches only top-level files, "**/*.md" any
// a/**   everything under a/ but not "a" itself
// ?      one character except '/'
// [...]  one character except '/': "[abc]", "[a-z]", "[!a]", "[^a]"; a ']'
//        right after '[' (or "[!") is literal; backslash escapes inside;
//        ranges go by code point ("[à-ÿ]")
// \c     the character c literally
// A character is a UTF-8 character ("release-?" matches "release-é"); a
// byte that is not part of a valid UTF-8 sequence is one by itself.
// A malformed pattern (unclosed '[', reversed range, trailing backslash)
// takes the offending character literally; zh_glob_check reports it.
#include "mapping/mapping.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"
#include "util/buf.h"

enum tok_type {
	T_LIT,	  /* one given character */
	T_ANY,	  /* '?' */
	T_CLASS,  /* "[...]" */
	T_STAR,	  /* '*' */
	T_DSTAR,  /* '**' */
	T_DSLASH, /* '**' + '/' as a whole segment: "" or ".../"; always
		     followed by T_DIN. Consumes nothing: it only lets the
		     match skip the group or enter it. */
	T_DIN,	  /* inside that group: any run, left through a '/' */
};

struct tok {
	unsigned char type;
	bool negate;		 /* T_CLASS: "[!...]" */
	uint32_t c;		 /* T_LIT: the character's code point */
	unsigned char ascii[16]; /* T_CLASS: the members below 0x80 */
	const char *wide; /* T_CLASS: its members in the pattern when one is
			     not ASCII, else NULL */
};

/* Small patterns are compiled on the stack: rules are matched against
 * every changed path, so the common case should not allocate. */
#define STACK_TOKS 64

enum class_status { CLASS_OK, CLASS_UNCLOSED, CLASS_BAD_RANGE };

static void set_bit(unsigned char *bits, uint32_t c)
{
	bits[c >> 3] |= (unsigned char)(1u << (c & 7));
}

static bool has_bit(const unsigned char *bits, uint32_t c)
{
	return bits[c >> 3] & (1u << (c & 7));
}

/* The character s starts with (zh_utf8_char), ASCII without a call:
 * this runs for every character of every changed path. */
static size_t next_char(const char *s, uint32_t *c)
{
	if ((unsigned char)*s < 0x80) {
		*c = (unsigned char)*s;
		return 1;
	}
	return zh_utf8_char(s, c);
}

/* One character of a class, maybe escaped; returns the bytes it spans. */
static size_t class_char(const char *p, uint32_t *c)
{
	size_t esc = p[0] == '\\' && p[1];

	return esc + next_char(p + esc, c);
}

/* The member at p[*j] (not the NUL): a character or a range lo-hi.
 * Advances *j past it. */
static void class_member(const char *p, size_t *j, uint32_t *lo, uint32_t *hi)
{
	*j += class_char(p + *j, lo);
	*hi = *lo;
	if (p[*j] == '-' && p[*j + 1] && p[*j + 1] != ']') {
		(*j)++;
		*j += class_char(p + *j, hi);
	}
}

/* Parse the class starting at p (p[0] == '['). On success *len is the
 * number of pattern bytes it spans and t its members. */
static enum class_status parse_class(const char *p, size_t *len, struct tok *t)
{
	size_t j = 1, start;
	bool first = true;
	uint32_t lo, hi, c;

	memset(t->ascii, 0, sizeof(t->ascii));
	t->negate = false;
	t->wide = NULL;
	if (p[j] == '!' || p[j] == '^') {
		t->negate = true;
		j++;
	}
	start = j;
	for (;;) {
		if (!p[j])
			return CLASS_UNCLOSED;
		if (p[j] == ']' && !first)
			break;
		first = false;
		class_member(p, &j, &lo, &hi);
		if (hi < lo)
			return CLASS_BAD_RANGE;
		for (c = lo; c <= hi && c < 0x80; c++)
			set_bit(t->ascii, c);
		if (hi >= 0x80)
			t->wide = p + start;
	}
	*len = j + 1;
	return CLASS_OK;
}

/* Whether c (not ASCII) is a member of the class whose members start at
 * p, a class parse_class accepted. */
static bool in_wide(const char *p, uint32_t c)
{
	size_t j = 0;
	bool first = true;
	uint32_t lo, hi;

	while (p[j] != ']' || first) {
		first = false;
		class_member(p, &j, &lo, &hi);
		if (lo <= c && c <= hi)
			return true;
	}
	return false;
}

static bool in_class(const struct tok *t, uint32_t c)
{
	bool in;

	if (c < 0x80)
		in = has_bit(t->ascii, c);
	else
		in = t->wide && in_wide(t->wide, c);
	return in != t->negate;
}

/* Compile p into toks (room for strlen(p) tokens); returns the count. */
static size_t compile(struct tok *toks, const char *p)
{
	size_t n = 0, i = 0;
	bool seg_start = true; /* at the start of a path segment */

	while (p[i]) {
		struct tok *t = &toks[n++];
		size_t len;

		t->type = T_LIT;
		if (p[i] == '\\' && p[i + 1]) {
			i += 1 + next_char(p + i + 1, &t->c);
		} else if (p[i] == '*') {
			size_t run = 0;

			while (p[i + run] == '*')
				run++;
			i += run;
			if (run == 1) {
				t->type = T_STAR;
			} else if (seg_start && p[i] == '/') {
				t->type = T_DSLASH;
				toks[n++].type = T_DIN;
				i++;
				continue; /* still at a segment start */
			} else {
				t->type = T_DSTAR;
			}
		} else if (p[i] == '?') {
			t->type = T_ANY;
			i++;
		} else if (p[i] == '[' &&
			   parse_class(p + i, &len, t) == CLASS_OK) {
			t->type = T_CLASS;
			i += len;
		} else {
			i += next_char(p + i, &t->c);
		}
		seg_start = t->type == T_LIT && t->c == '/';
	}
	return n;
}

/* Follow the empty moves: a star may match nothing, a "**" + "/" group
 * may be skipped or entered. They only go forward, so one pass in order
 * reaches the closure. */
static void close_set(unsigned char *set, const struct tok *toks, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!set[i])
			continue;
		switch (toks[i].type) {
		case T_STAR:
		case T_DSTAR:
			set[i + 1] = 1;
			break;
		case T_DSLASH:
			set[i + 1] = 1;
			set[i + 2] = 1;
			break;
		default:
			break;
		}
	}
}

static bool run(const struct tok *toks, size_t n, const char *s,
		unsigned char *cur, unsigned char *next)
{
	size_t i;

	memset(cur, 0, n + 1);
	cur[0] = 1;
	close_set(cur, toks, n);
	while (*s) {
		uint32_t c;
		unsigned char *tmp;
		bool live = false;

		s += next_char(s, &c);
		memset(next, 0, n + 1);
		for (i = 0; i < n; i++) {
			const struct tok *t = &toks[i];

			if (!cur[i])
				continue;
			switch (t->type) {
			case T_LIT:
				if (c == t->c)
					next[i + 1] = live = 1;
				break;
			case T_ANY:
				if (c != '/')
					next[i + 1] = live = 1;
				break;
			case T_CLASS:
				if (c != '/' && in_class(t, c))
					next[i + 1] = live = 1;
				break;
			case T_STAR:
				if (c != '/')
					next[i] = live = 1;
				break;
			case T_DSTAR:
				next[i] = live = 1;
				break;
			case T_DSLASH:
				break;
			case T_DIN:
				next[i] = live = 1;
				if (c == '/')
					next[i + 1] = 1;
				break;
			}
		}
		if (!live)
			return false;
		close_set(next, toks, n);
		tmp = cur;
		cur = next;
		next = tmp;
	}
	return cur[n];
}

bool zh_glob_match(const char *pattern, const char *s)
{
	struct tok stack_toks[STACK_TOKS];
	unsigned char stack_sets[2 * (STACK_TOKS + 1)];
	struct tok *toks = stack_toks;
	unsigned char *sets = stack_sets;
	size_t plen, n;
	bool ok;

	if (!pattern || !s)
		return false;
	plen = strlen(pattern);
	if (plen > STACK_TOKS) {
		toks = malloc(plen * sizeof(*toks));
		sets = malloc(2 * (plen + 1));
		if (!toks || !sets) {
			ok = false;
			goto out;
		}
	}
	n = compile(toks, pattern);
	ok = run(toks, n, s, sets, sets + n + 1);
out:
	if (toks != stack_toks) {
		free(toks);
		free(sets);
	}
	return ok;
}

int zh_glob_check(const char *pattern, struct zh_error *err)
{
	size_t i = 0;

	if (!pattern)
		return zh_error_set(err, ZH_EINVALID, "missing glob");
	while (pattern[i]) {
		struct tok t;
		size_t len;

		switch (pattern[i]) {
		case '\\':
			if (!pattern[i + 1])
				return zh_error_set(err, ZH_EINVALID,
						    "trailing backslash in "
						    "glob '%s'",
						    pattern);
			i += 2;
			break;
		case '[':
			switch (parse_class(pattern + i, &len, &t)) {
			case CLASS_UNCLOSED:
				return zh_error_set(err, ZH_EINVALID,
						    "unclosed '[' in glob '%s'",
						    pattern);
			case CLASS_BAD_RANGE:
				return zh_error_set(err, ZH_EINVALID,
						    "reversed range in glob "
						    "'%s'",
						    pattern);
			case CLASS_OK:
				break;
			}
			i += len;
			break;
		default:
			i++;
		}
	}
	return 0;
}
