/* report: store -> git notes (design.md §5). */
#ifndef ZH_FLOW_REPORT_H
#define ZH_FLOW_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "flow/deliver.h"

/* Write the note of every commit of f->repo_name whose tasks or triggers
 * changed since they were last noted, into f->repo under notes.ref, as
 * one notes commit. *n (may be NULL) gets the number of notes changed.
 * A commit whose note cannot be written (its id is not a commit id) is
 * logged through f->log and counted as noted, so that it is not tried
 * again until one of its rows changes; so is a single line a note cannot
 * hold (a status with a space), which leaves out only that line. Returns
 * 0, ZH_ESTORE, ZH_EGIT or ZH_ENOMEM. */
int zh_flow_write_notes(size_t *n, struct zh_flow *f, struct zh_error *err);

/* Once an hour at most for the whole store (or once per state_keep when
 * shorter), whichever process asks: forget the triggers and tasks that
 * settled and were noted more than state_keep (at least
 * poll.give_up_after) before now_ms (zh_store_prune), logging how many
 * through f->log when any. Nothing with state_keep 0. *n (may be NULL) gets how
 * many rows. Returns 0, ZH_ESTORE or ZH_ENOMEM. */
int zh_flow_prune(int64_t *n, struct zh_flow *f, int64_t now_ms,
		  struct zh_error *err);

#endif
