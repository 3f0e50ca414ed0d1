/* bench helper: write one note line for each commit id read from stdin,
 * as ONE notes commit (zh_notes_commit), and print the milliseconds; with
 * a third argument, a bare repository on this machine, then push the
 * notes ref there (zh_notes_push_send) and print those milliseconds on a
 * second line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gitrepo/gitrepo.h"
#include "gitrepo/notes.h"
#include "gitrepo/notes_push.h"
#include "util/banned.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	struct zh_notes_batch *b = NULL;
	struct zh_repo *r = NULL;
	struct zh_error e = {0};
	char line[128];
	long n = 0;
	double t0;
	int rc = 1;

	if (argc != 3 && argc != 4) {
		fprintf(
		    stderr,
		    "usage: notes_bench <repo> <status> [<remote>] < ids\n");
		return 2;
	}
	if (zh_repo_open(&r, argv[1], false, &e) < 0 ||
	    zh_notes_batch_new(&b, &e) < 0)
		goto out;
	t0 = now_ms();
	while (fgets(line, sizeof(line), stdin)) {
		struct zh_note_field f = {"rule", "bench"};
		struct zh_note_line l = {0};
		char url[160];

		line[strcspn(line, "\n")] = '\0';
		snprintf(url, sizeof(url), "http://zadig.example.com/t/%ld", n);
		l.status = argv[2];
		l.workflow = "bench-workflow";
		l.task_id = n++;
		l.url = url;
		l.fields = &f;
		l.nfields = 1;
		if (zh_notes_batch_add(b, line, &l, 1, &e) < 0)
			goto out;
	}
	if (zh_notes_commit(r, "refs/notes/zadig", b, NULL, &e) < 0)
		goto out;
	printf("%.1f\n", now_ms() - t0);
	if (argc == 4) {
		bool rejected = false;

		t0 = now_ms();
		if (zh_notes_push_send(&rejected, r, "refs/notes/zadig",
				       argv[3], NULL, NULL, &e) < 0 ||
		    rejected)
			goto out;
		printf("%.1f\n", now_ms() - t0);
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "notes_bench: %s\n", e.msg);
	zh_notes_batch_free(b);
	zh_repo_free(r);
	return rc;
}
