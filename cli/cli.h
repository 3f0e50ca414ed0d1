/* git-zadig internals shared by its source files.
 *
 * git-zadig is two programs (issue 6: `git zadig status` must start about
 * as fast as git): the one in PATH links libgit2 and libyaml only and runs
 * the verbs that read the repository (status, config check); for every
 * verb that talks to Zadig or uses the state store it executes the full
 * program, <libexecdir>/zadig-hook/git-zadig-full, with the same
 * arguments. Both share git-zadig.c (arguments, usage, exit codes); front.c
 * or net.c provides zh_cli_net. */
#ifndef ZH_CLI_CLI_H
#define ZH_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config.h"
#include "gitrepo/gitrepo.h"

struct zh_zadig_task;

#define ZH_CLI_PROG "git-zadig"

/* The parsed command line. */
struct zh_cli_opts {
	const char *config;
	const char *comment;
	const char *ref;
	const char *repo; /* trigger, explain: the repository's name */
	const char *before; /* trigger, explain: the ref's old value */
	const char *rule;
	const char *project;
	bool json, custom, reject, dry_run, live, all;
	const char **args; /* the verb's arguments; NULL-padded to 8 */
	int nargs;
};

/* Run verb (every verb but config check and status without --live) with
 * the parsed o; argv is the whole command line. The front program
 * executes the full one with argv and returns only when that fails. */
int zh_cli_net(const char *verb, struct zh_cli_opts *o, char **argv,
	       struct zh_error *err);

/* Open the repository around the current directory, or NULL. */
struct zh_repo *zh_cli_open_repo_quiet(void);

/* Find and load the config (design.md §3 lookup order). Every error of
 * the file is printed; err gets a summary. */
int zh_cli_load_config(struct zh_config **out, const struct zh_cli_opts *o,
		       struct zh_repo *r, struct zh_error *err);

/* Print a task for people: status, URL, times, targets, images, tests,
 * stages and approvals. */
void zh_cli_print_task(FILE *f, const struct zh_zadig_task *t);

/* "2021-12-14 07:18:37 UTC" for a unix time, "-" for 0. */
const char *zh_cli_time(char *buf, size_t size, long long t);

/* Called for each commit before its note is printed (status --live). */
typedef int (*zh_cli_refresh_fn)(void *ctx, const char *commit_id,
				 struct zh_error *err);

/* git zadig status: the note of each rev (default HEAD; of each commit of
 * a range "A..B" or "A...B", as zh_repo_range lists them) under notes_ref
 * (NULL: the default), for people or as JSON. Every rev must resolve
 * before anything is printed. With refresh set it runs for each commit
 * before its note is read. */
int zh_cli_status(struct zh_repo *r, const char *notes_ref,
		  const char *const *revs, int nrevs, bool json,
		  zh_cli_refresh_fn refresh, void *ctx, struct zh_error *err);

#endif
