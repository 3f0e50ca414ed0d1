/* What the machine charges for the things start-up and the receiver do
 * most: a system call, the first touch of a fresh page (a page fault),
 * the first touch of a file's pages through a mapping (a fault, which
 * maps up to 16 cached neighbours with it), and the same pages mapped in
 * one madvise(MADV_POPULATE_READ) call. docs/BENCHMARKS.md quotes them:
 * on the virtual machines measured, faults and system calls cost 10 to
 * 50 times what they cost on bare metal, so the programs' fixed costs are
 * counted in faults (loading libraries) and system calls (SQLite).
 *
 * usage: vmcost [FILE]   (FILE: a large file to map, default libc) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* Map FILE and touch every page: microseconds per fault taken, and with
 * populate first, per page populated. */
static void file_faults(const char *path, int populate)
{
	volatile char sink = 0;
	size_t size, page = (size_t)sysconf(_SC_PAGESIZE), i;
	double t0, t1, t2;
	char *p;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || (size = (size_t)lseek(fd, 0, SEEK_END)) < page) {
		perror(path);
		exit(1);
	}
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* in the page cache first: faults, not reads, are measured */
	for (i = 0; i < size; i += page)
		(void)pread(fd, (char[1]){0}, 1, (off_t)i);
	t0 = now_us();
#ifdef MADV_POPULATE_READ
	if (populate && madvise(p, size, MADV_POPULATE_READ) != 0)
		perror("madvise");
#endif
	t1 = now_us();
	for (i = 0; i < size; i += page)
		sink = (char)(sink + p[i]);
	t2 = now_us();
	if (populate)
		printf("file pages, populated:   %6.2f us/page (%zu pages), "
		       "then touched %.2f us/page\n",
		       (t1 - t0) / (double)(size / page), size / page,
		       (t2 - t1) / (double)(size / page));
	else
		printf("file pages, touched:     %6.2f us/page (%zu pages; "
		       "a fault maps up to 16)\n",
		       (t2 - t0) / (double)(size / page), size / page);
	munmap(p, size);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *file =
	    argc > 1 ? argv[1] : "/lib/x86_64-linux-gnu/libc.so.6";
	size_t n = 4096, page = (size_t)sysconf(_SC_PAGESIZE), i;
	double t0, t1;
	char *p;

	t0 = now_us();
	for (i = 0; i < 200000; i++)
		syscall(SYS_getppid);
	t1 = now_us();
	printf("system call (getppid):   %6.2f us\n", (t1 - t0) / 200000);

	p = mmap(NULL, n * page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	t0 = now_us();
	for (i = 0; i < n; i++)
		p[i * page] = 1;
	t1 = now_us();
	printf("fresh page, first write: %6.2f us/page (%zu pages)\n",
	       (t1 - t0) / (double)n, n);
	munmap(p, n * page);

	file_faults(file, 0);
	file_faults(file, 1);
	return 0;
}
