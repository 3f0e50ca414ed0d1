/* git-zadig internals shared by its source files. */
#ifndef ZH_CLI_CLI_H
#define ZH_CLI_CLI_H

#include <stdio.h>

#include "zadig/zadig.h"

/* Print a task for people: status, URL, times, targets, images, tests,
 * stages and approvals. */
void zh_cli_print_task(FILE *f, const struct zh_zadig_task *t);

/* "2021-12-14 07:18:37 UTC" for a unix time, "-" for 0. */
const char *zh_cli_time(char *buf, size_t size, long long t);

#endif
