/* The async hook's spool: see spool.h. File format: the line MAGIC, then
 * records of one tag byte ('g' git dir, 'c' config, 'o' push option,
 * 'u' update) and a NUL-terminated value, so that no byte of a path or a
 * push option needs escaping. */
#include "hook/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/perm.h"

#include "util/banned.h"
#include "util/buf.h"

#define MAGIC "zadig-hook spool 1\n"
#define SUFFIX ".push"
#define MAX_FILE (64u << 20)
/* a temporary spool file older than this is a killed hook's leftover */
#define STALE_TMP_S (3600)

void zh_spool_push_dispose(struct zh_spool_push *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->noptions; i++)
		free(p->options[i]);
	for (i = 0; i < p->nupdates; i++)
		free(p->updates[i]);
	free(p->options);
	free(p->updates);
	free(p->git_dir);
	free(p->config);
	memset(p, 0, sizeof(*p));
}

char *zh_spool_dir(const char *state_dir)
{
	size_t n = strlen(state_dir) + sizeof("/spool");
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s/spool", state_dir);
	return s;
}

/* mkdir -p with mode 0700 for what is missing, in the modes of shared. */
static int make_dirs(const char *path, int shared, struct zh_error *err)
{
	char *p = strdup(path), *q;
	int rc = 0;

	if (!p)
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	for (q = p + 1;; q++) {
		if (*q != '/' && *q != '\0')
			continue;
		if (q[-1] != '/') {
			char c = *q;

			*q = '\0';
			if (mkdir(p, 0700) == 0) {
				(void)zh_perm_adjust(p, shared);
			} else if (errno != EEXIST) {
				rc = zh_error_set(err, ZH_EIO,
						  "cannot create '%s': %s", p,
						  strerror(errno));
				break;
			}
			*q = c;
		}
		if (*q == '\0')
			break;
	}
	free(p);
	return rc;
}

static int put(struct zh_buf *b, char tag, const char *value)
{
	int rc = zh_buf_append(b, &tag, 1);

	return rc ? rc : zh_buf_append(b, value, strlen(value) + 1);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A name unique among concurrent hooks that sorts by time. */
static void file_name(char *buf, size_t size, const char *dir, const char *pre,
		      const char *suf)
{
	struct timespec ts;
	unsigned r = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
			r = 0;
		close(fd);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, size, "%s/%s%013lld%06ld-%d-%08x%s", dir, pre,
		 (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
		 ts.tv_nsec % 1000000, (int)getpid(), r, suf);
}

/* p in the spool file format, into b. */
static int encode(struct zh_buf *b, const struct zh_spool_push *p)
{
	size_t i;
	int rc = zh_buf_puts(b, MAGIC);

	if (rc == 0)
		rc = put(b, 'g', p->git_dir);
	if (rc == 0 && p->config)
		rc = put(b, 'c', p->config);
	for (i = 0; rc == 0 && i < p->noptions; i++)
		rc = put(b, 'o', p->options[i]);
	for (i = 0; rc == 0 && i < p->nupdates; i++)
		rc = put(b, 'u', p->updates[i]);
	return rc;
}

/* b durably as dst of directory dir: written to temporary file tmp (in
 * mode, which the umask does not cut), flushed, renamed, the directory
 * flushed. With times, the file gets those once renamed (an old
 * temporary file is a killed hook's leftover: drop_stale). */
static int write_durably(const char *dir, const char *tmp, const char *dst,
			 mode_t mode, const struct zh_buf *b,
			 const struct timespec *times, struct zh_error *err)
{
	int rc = 0,
	    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0 || (mode != 0600 && fchmod(fd, mode) != 0) ||
	    write_all(fd, b->ptr, b->len) < 0 || fsync(fd) != 0) {
		rc = zh_error_set(err, ZH_EIO, "cannot write '%s': %s", tmp,
				  strerror(errno));
		goto fail;
	}
	if (rename(tmp, dst) != 0) {
		rc = zh_error_set(err, ZH_EIO, "cannot write '%s': %s", dst,
				  strerror(errno));
		goto fail;
	}
	if (times)
		(void)futimens(fd, times);
	if (close(fd) != 0)
		return zh_error_set(err, ZH_EIO, "cannot write '%s': %s", dst,
				    strerror(errno));
	/* the rename itself must survive a crash too */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = zh_error_set(err, ZH_EIO, "cannot write '%s': %s", dir,
				  strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int zh_spool_write(const char *state_dir, int shared,
		   const struct zh_spool_push *p, struct zh_error *err)
{
	struct zh_buf b;
	char tmp[4096], dst[4096];
	char *dir = zh_spool_dir(state_dir);
	int rc;

	zh_buf_init(&b, MAX_FILE);
	if (!dir) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = make_dirs(dir, shared, err)) < 0)
		goto out;
	if ((rc = encode(&b, p)) < 0) {
		rc = zh_error_set(err, rc, "push too big to queue");
		goto out;
	}
	file_name(tmp, sizeof(tmp), dir, "tmp-", "");
	file_name(dst, sizeof(dst), dir, "", SUFFIX);
	rc = write_durably(dir, tmp, dst,
			   zh_perm_mode(shared, S_IFREG | 0600) & 07777, &b,
			   NULL, err);
out:
	zh_buf_dispose(&b);
	free(dir);
	return rc;
}

int zh_spool_rewrite(const char *path, const struct zh_spool_push *p,
		     struct zh_error *err)
{
	const char *slash = strrchr(path, '/');
	struct zh_buf b;
	struct timespec times[2];
	struct stat st;
	char tmp[4096], *dir = NULL;
	int rc;

	zh_buf_init(&b, MAX_FILE);
	if (!slash) {
		rc = zh_error_set(err, ZH_EINVALID, "'%s' is not a spool file",
				  path);
		goto out;
	}
	if (stat(path, &st) != 0) {
		rc =
		    zh_error_set(err, errno == ENOENT ? ZH_ENOTFOUND : ZH_EIO,
				 "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!(dir = strndup(path, (size_t)(slash - path)))) {
		rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = encode(&b, p)) < 0) {
		rc = zh_error_set(err, rc, "push too big to queue");
		goto out;
	}
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	file_name(tmp, sizeof(tmp), dir, "tmp-", "");
	rc = write_durably(dir, tmp, path, st.st_mode & 07777, &b, times, err);
out:
	zh_buf_dispose(&b);
	free(dir);
	return rc;
}

int zh_spool_mkdir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *parent = slash ? strndup(path, (size_t)(slash - path)) : NULL;
	struct stat st;
	int rc = -1;

	if (!parent) {
		errno = slash ? ENOMEM : EINVAL;
		return -1;
	}
	if (mkdir(path, 0700) == 0) {
		/* best effort: the group's when the spool is */
		if (stat(parent, &st) == 0 && (st.st_mode & 07777) != 0700)
			(void)chmod(path, st.st_mode & 07777);
		rc = 0;
	} else if (errno == EEXIST) {
		rc = 0;
	}
	free(parent);
	return rc;
}

static bool is_push(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && strncmp(name, "tmp-", 4) != 0 &&
	       n > sizeof(SUFFIX) - 1 &&
	       strcmp(name + n - (sizeof(SUFFIX) - 1), SUFFIX) == 0;
}

/* A hook killed while writing its spool file leaves the temporary one:
 * remove it once it is clearly no hook's work in progress (a hook never
 * runs longer than hook.deadline). */
static void drop_stale(DIR *d, const char *name)
{
	struct stat st;

	if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    time(NULL) - st.st_mtime > STALE_TMP_S)
		(void)unlinkat(dirfd(d), name, 0);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int zh_spool_list(char ***paths, size_t *n, const char *state_dir,
		  struct zh_error *err)
{
	char *dir = zh_spool_dir(state_dir);
	char **v = NULL;
	size_t len = 0, cap = 0;
	struct dirent *de;
	DIR *d = NULL;
	int rc = 0;

	*paths = NULL;
	*n = 0;
	if (!dir)
		return zh_error_set(err, ZH_ENOMEM, "out of memory");
	if (!(d = opendir(dir))) {
		if (errno != ENOENT)
			rc = zh_error_set(err, ZH_EIO, "cannot read '%s': %s",
					  dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		size_t sz;

		if (strncmp(de->d_name, "tmp-", 4) == 0) {
			drop_stale(d, de->d_name);
			continue;
		}
		if (!is_push(de->d_name))
			continue;
		if (len == cap) {
			char **nv;

			cap = cap ? 2 * cap : 16;
			if (!(nv = realloc(v, cap * sizeof(*v)))) {
				rc = zh_error_set(err, ZH_ENOMEM,
						  "out of memory");
				goto out;
			}
			v = nv;
		}
		sz = strlen(dir) + strlen(de->d_name) + 2;
		if (!(v[len] = malloc(sz))) {
			rc = zh_error_set(err, ZH_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(v[len++], sz, "%s/%s", dir, de->d_name);
	}
	if (len)
		qsort(v, len, sizeof(*v), by_name);
out:
	if (d)
		closedir(d);
	free(dir);
	if (rc < 0) {
		while (len)
			free(v[--len]);
		free(v);
		return rc;
	}
	*paths = v;
	*n = len;
	return 0;
}

bool zh_spool_pending(const char *state_dir)
{
	char *dir = zh_spool_dir(state_dir);
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (!dir)
		return false;
	if ((d = opendir(dir))) {
		while (!found && (de = readdir(d)))
			found = is_push(de->d_name);
		closedir(d);
	}
	free(dir);
	return found;
}

static int push_str(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return ZH_ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return ZH_ENOMEM;
	(*n)++;
	return 0;
}

int zh_spool_read(struct zh_spool_push *out, const char *path,
		  struct zh_error *err)
{
	struct zh_buf b;
	char chunk[8192];
	const char *p, *end;
	ssize_t r;
	int rc = 0, fd;

	memset(out, 0, sizeof(*out));
	zh_buf_init(&b, MAX_FILE);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return zh_error_set(
		    err, errno == ENOENT ? ZH_ENOTFOUND : ZH_EIO,
		    "cannot read '%s': %s", path, strerror(errno));
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || zh_buf_append(&b, chunk, (size_t)r) < 0) {
			rc = zh_error_set(err, ZH_EIO, "cannot read '%s': %s",
					  path,
					  r < 0 ? strerror(errno) : "too big");
			goto out;
		}
	}
	if (b.len < sizeof(MAGIC) - 1 ||
	    memcmp(b.ptr, MAGIC, sizeof(MAGIC) - 1) != 0) {
		rc = zh_error_set(err, ZH_EINVALID, "'%s' is not a spool file",
				  path);
		goto out;
	}
	p = b.ptr + sizeof(MAGIC) - 1;
	end = b.ptr + b.len;
	while (rc == 0 && p < end) {
		char tag = *p++;
		const char *v = p, *nul = memchr(p, '\0', (size_t)(end - p));

		if (!nul) {
			rc = ZH_EINVALID;
			break;
		}
		p = nul + 1;
		switch (tag) {
		case 'g':
			free(out->git_dir);
			rc = (out->git_dir = strdup(v)) ? 0 : ZH_ENOMEM;
			break;
		case 'c':
			free(out->config);
			rc = (out->config = strdup(v)) ? 0 : ZH_ENOMEM;
			break;
		case 'o':
			rc = push_str(&out->options, &out->noptions, v);
			break;
		case 'u':
			rc = push_str(&out->updates, &out->nupdates, v);
			break;
		default:
			break; /* a newer writer's field: not ours to read */
		}
	}
	if (rc == 0 && !out->git_dir)
		rc = ZH_EINVALID;
	if (rc == ZH_ENOMEM)
		rc = zh_error_set(err, rc, "out of memory");
	else if (rc < 0)
		rc = zh_error_set(err, rc, "'%s' is truncated", path);
out:
	close(fd);
	zh_buf_dispose(&b);
	if (rc < 0)
		zh_spool_push_dispose(out);
	return rc;
}

bool zh_hook_skip_option(const char *const *options, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(options[i], "ci.skip") == 0 ||
		    strcmp(options[i], "zadig.skip") == 0)
			return true;
	return false;
}
