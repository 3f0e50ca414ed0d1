/* Git notes of Zadig tasks (design.md §5): the line format, merging new
 * task lines into a note, reading a commit's note and writing the notes
 * of many commits as one notes commit, updated with a compare-and-swap.
 *
 * A note holds one line per Zadig task of the commit:
 *   <status> <workflow> #<task_id> <url>[ key=value]...
 * e.g. "passed dev-build #49 http://z/t/49 duration=36s rule=dev" or
 * "queued dev-build #- - rule=dev". Lines the tool does not understand
 * (a person's remarks) are kept, after the task lines, in their order. */
#ifndef ZH_GITREPO_NOTES_H
#define ZH_GITREPO_NOTES_H

#include <stdbool.h>
#include <stddef.h>

#include "gitrepo/gitrepo.h"
#include "util/error.h"

/* The notes ref used when none is configured. */
#define ZH_NOTES_REF_DEFAULT "refs/notes/zadig"

struct zh_note_field {
	char *key;   /* [A-Za-z0-9_.-]+ */
	char *value; /* any text; quoted on output when it needs it */
};

/* One task line. Filled by zh_note_line_parse, the strings are malloc'd
 * and zh_note_line_dispose frees them; a caller building a line may point
 * them at its own strings and never dispose it. */
struct zh_note_line {
	char *status;	   /* "passed", "notRun", "queued", ...: letters,
			    * digits, '_' and '-' */
	char *workflow;	   /* no spaces */
	long long task_id; /* -1 for "#-" (no task yet) */
	char *url;	   /* "-" (or NULL, written as "-") when none */
	struct zh_note_field *fields; /* in order */
	size_t nfields;
};

/* Free what zh_note_line_parse allocated and zero *l. NULL-safe. */
void zh_note_line_dispose(struct zh_note_line *l);

/* Parse one line (len bytes, no newline; a trailing "\r" is not part of
 * the format). Values may be double-quoted with \" and \\ escapes.
 * Returns 0, ZH_EINVALID when the line is not a task line (the caller
 * keeps it as text; *out stays zeroed) or ZH_ENOMEM. Free *out with
 * zh_note_line_dispose. */
int zh_note_line_parse(struct zh_note_line *out, const char *line, size_t len,
		       struct zh_error *err);

/* Format a line, without newline, into *out (malloc'd, caller frees).
 * A value holding a space, '"', '\\' or nothing is quoted; control
 * characters in values become spaces so the note stays one line per
 * task. ZH_EINVALID when status is not a word of letters, digits, '_'
 * and '-', when workflow, url or a key is empty or holds a space or
 * control character, or task_id < -1; ZH_ENOMEM. */
int zh_note_line_format(char **out, const struct zh_note_line *l,
			struct zh_error *err);

/* The value of field key in l, or NULL. */
const char *zh_note_line_get(const struct zh_note_line *l, const char *key);

/* Merge lines into a note text (old_text NULL or "" for none), in order:
 * - a task line (task_id >= 0) replaces the line of the same workflow,
 *   kind (kind=custom: a custom workflow's task; else a product
 *   workflow's) and task id, and drops the "#-" lines (queued, rejected)
 *   of its workflow with the same rule= field (both absent counts as the
 *   same);
 * - a "#-" line replaces the "#-" line of the same workflow and rule; it
 *   is ignored when a task line of that workflow and rule exists (a
 *   late queued line must not come back after the task started);
 * - task lines are sorted by workflow, then task id numerically ("#-"
 *   first), then kind (product first), and unknown lines follow in their
 *   order; blank lines go.
 * *out (malloc'd, caller frees) is the new text, each line ending in
 * '\n'; when no line changes anything, it is a copy of old_text ("" for
 * NULL) and *changed is false. Returns 0, ZH_EINVALID (a line that does
 * not format, see zh_note_line_format) or ZH_ENOMEM. */
int zh_note_merge(char **out, bool *changed, const char *old_text,
		  const struct zh_note_line *lines, size_t n,
		  struct zh_error *err);

/* The note of commit_hex (a full 40-hex id) under notes_ref (a full ref,
 * a name below refs/notes/ like "zadig", or NULL for the default), flat
 * or fanned out (ab/cdef...). *out is malloc'd (caller frees), or NULL
 * when the commit has no note or the notes ref does not exist (returns 0
 * then). ZH_EINVALID for a malformed id, ZH_ETOOBIG for a note over
 * 1 MiB, ZH_EGIT when the notes cannot be read. */
int zh_notes_read(char **out, struct zh_repo *r, const char *notes_ref,
		  const char *commit_hex, struct zh_error *err);

/* Updates collected for one notes commit. */
struct zh_notes_batch;

int zh_notes_batch_new(struct zh_notes_batch **out, struct zh_error *err);
/* NULL-safe. */
void zh_notes_batch_free(struct zh_notes_batch *b);

/* Queue lines (copied) to merge into the note of commit_hex (a full
 * 40-hex id, any case). Several adds for one commit are merged in the
 * order they were added. ZH_EINVALID for a malformed id or a line that
 * does not format, ZH_ENOMEM. */
int zh_notes_batch_add(struct zh_notes_batch *b, const char *commit_hex,
		       const struct zh_note_line *lines, size_t n,
		       struct zh_error *err);

/* Number of zh_notes_batch_add calls queued. */
size_t zh_notes_batch_len(const struct zh_notes_batch *b);

/* Write every queued update as ONE commit on notes_ref (see
 * zh_notes_read for the name; NULL for the default), whose parent is the
 * current notes commit: each commit's note (flat or fanned out) is read,
 * merged (zh_note_merge) and written; untouched subtrees are reused. New
 * notes go in 2-character fan-out directories (like git fast-import) once
 * the tree is fanned out or would hold over 1000 notes, and a flat tree
 * is then converted. A large batch's objects are written as one pack, a
 * small one's as loose objects (like git notes add). The ref moves by
 * compare-and-swap: when another writer moved it meanwhile, the merge is
 * redone on top of its commit (a few times, with a short random sleep),
 * so no writer's lines are lost. No commit is written when no note
 * changes. Notes that are not text or over 1 MiB are left alone. The
 * author is "zadig-hook <zadig-hook@localhost>"; message NULL gives
 * "Notes added by zadig-hook". Returns 0, ZH_EINVALID (a bad notes_ref),
 * ZH_EGIT (also when the ref stayed contended) or ZH_ENOMEM. The batch
 * keeps its updates; see zh_notes_batch_changed. */
int zh_notes_commit(struct zh_repo *r, const char *notes_ref,
		    struct zh_notes_batch *b, const char *message,
		    struct zh_error *err);

/* After zh_notes_commit: the number of notes it changed (0 when it wrote
 * no commit) and the new notes commit id ("" when none), owned by b. */
size_t zh_notes_batch_changed(const struct zh_notes_batch *b);
const char *zh_notes_batch_commit_id(const struct zh_notes_batch *b);

#endif
