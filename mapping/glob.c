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
//        right after '[' (or "[!") is literal; backslash escapes inside
// \c     the character c literally
// A malformed pattern (unclosed '[', reversed range, trailing backslash)
// takes the offending character literally; zh_glob_check reports it.
#include "mapping/mapping.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

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
	unsigned char c;
	unsigned char bits[32]; /* T_CLASS: member characters */
};

/* Small patterns are compiled on the stack: rules are matched against
 * every changed path, so the common case should not allocate. */
#define STACK_TOKS 64

enum class_status { CLASS_OK, CLASS_UNCLOSED, CLASS_BAD_RANGE };

static void set_bit(unsigned char *bits, unsigned char c)
{
	bits[c >> 3] |= (unsigned char)(1u << (c & 7));
}

static bool has_bit(const unsigned char *bits, unsigned char c)
{
	return bits[c >> 3] & (1u << (c & 7));
}

/* Parse the class starting at p (p[0] == '['). On success *len is the
 * number of pattern bytes it spans and bits its members. */
static enum class_status parse_class(const char *p, size_t *len,
				     unsigned char *bits)
{
	size_t j = 1;
	bool negate = false, first = true;
	unsigned i;

	memset(bits, 0, 32);
	if (p[j] == '!' || p[j] == '^') {
		negate = true;
		j++;
	}
	for (;;) {
		unsigned char lo, hi;

		if (!p[j])
			return CLASS_UNCLOSED;
		if (p[j] == ']' && !first)
			break;
		first = false;
		if (p[j] == '\\' && p[j + 1])
			j++;
		lo = (unsigned char)p[j++];
		hi = lo;
		if (p[j] == '-' && p[j + 1] && p[j + 1] != ']') {
			j++;
			if (p[j] == '\\' && p[j + 1])
				j++;
			hi = (unsigned char)p[j++];
			if (hi < lo)
				return CLASS_BAD_RANGE;
		}
		for (i = lo; i <= hi; i++)
			set_bit(bits, (unsigned char)i);
	}
	if (negate)
		for (i = 0; i < 32; i++)
			bits[i] = (unsigned char)~bits[i];
	*len = j + 1;
	return CLASS_OK;
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
		t->c = (unsigned char)p[i];
		if (p[i] == '\\' && p[i + 1]) {
			t->c = (unsigned char)p[i + 1];
			i += 2;
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
			   parse_class(p + i, &len, t->bits) == CLASS_OK) {
			t->type = T_CLASS;
			i += len;
		} else {
			i++;
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
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		unsigned char *tmp;
		bool live = false;

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
				if (c != '/' && has_bit(t->bits, c))
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
		unsigned char bits[32];
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
			switch (parse_class(pattern + i, &len, bits)) {
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
