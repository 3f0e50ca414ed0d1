/* git-zadig internals shared by its source files. */
#ifndef ZH_CLI_CLI_H
#define ZH_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"
#include "gitrepo/gitrepo.h"

#include "zadig/zadig.h"

/* Print a task for people: status, URL, times, targets, images, tests,
 * stages and approvals. */
void zh_cli_print_task(FILE *f, const struct zh_zadig_task *t);

/* "2021-12-14 07:18:37 UTC" for a unix time, "-" for 0. */
const char *zh_cli_time(char *buf, size_t size, long long t);

/* git zadig status: the notes of each rev (default HEAD); live: ask
 * Zadig first and update the notes (needs cfg). */
int zh_cli_status(struct zh_repo *r, const struct zh_config *cfg,
		  const char *const *revs, int nrevs, bool live, bool json,
		  struct zh_error *err);

/* git zadig sync: deliver every queued trigger now, poll, write notes. */
int zh_cli_sync(struct zh_repo *r, const struct zh_config *cfg, bool all,
		struct zh_error *err);

#endif
