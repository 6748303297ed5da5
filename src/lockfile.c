#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "lockfile.h"
#include "util.h"

struct lockfile {
	char	*path;
	int	 fd;
	int	 held;
	int64_t	 started;
};

static char *
lock_path(const char *db_path)
{
	return xasprintf("%s.lock", db_path);
}

/* "PID STARTED\n", rewritten in place: readers see the whole line. */
static int
write_id(struct lockfile *lf, struct error *err)
{
	char line[64];
	int n;

	n = snprintf(line, sizeof line, "%ld %" PRId64 "\n", (long)getpid(),
	    lf->started);
	if (ftruncate(lf->fd, 0) == -1 || pwrite(lf->fd, line, (size_t)n, 0)
	    != n) {
		error_set(err, EX_IOERR, "%s: %s", lf->path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
read_id(int fd, pid_t *pid_r, int64_t *started_r)
{
	char line[64];
	long pid = 0;
	long long started = 0;
	ssize_t n;

	n = pread(fd, line, sizeof line - 1, 0);
	line[n > 0 ? n : 0] = '\0';
	if (sscanf(line, "%ld %lld", &pid, &started) < 1)
		pid = 0;
	*pid_r = (pid_t)pid;
	if (started_r != NULL)
		*started_r = started;
}

/* Whether the locked descriptor is still the file at path. */
static int
same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
lockfile_take(const char *db_path, int64_t now, struct lockfile **lf_r,
    pid_t *holder_r, struct error *err)
{
	struct lockfile *lf = xcalloc(1, sizeof *lf);

	lf->fd = -1;
	lf->path = lock_path(db_path);
	lf->started = now;
	*holder_r = 0;
	for (int tries = 0; !lf->held; tries++) {
		if (lf->fd != -1)
			close(lf->fd);
		lf->fd = open(lf->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (lf->fd == -1) {
			error_set(err, errno == EACCES ? EX_NOPERM :
			    EX_CANTCREAT, "%s: %s", lf->path, strerror(errno));
			goto fail;
		}
		if (flock(lf->fd, LOCK_EX | LOCK_NB) == -1) {
			if (errno != EWOULDBLOCK) {
				error_set(err, EX_OSERR, "%s: %s", lf->path,
				    strerror(errno));
				goto fail;
			}
			read_id(lf->fd, holder_r, NULL);
			lockfile_release(lf);
			return 0;
		}
		/* The holder before us removed it as we opened it. */
		lf->held = same_file(lf->fd, lf->path);
		if (!lf->held && tries == 10) {
			error_set(err, EX_TEMPFAIL, "%s keeps being replaced",
			    lf->path);
			goto fail;
		}
	}
	if (write_id(lf, err) == -1)
		goto fail;
	*lf_r = lf;
	return 1;
fail:
	lockfile_release(lf);
	return -1;
}

int
lockfile_repid(struct lockfile *lf, struct error *err)
{
	return write_id(lf, err);
}

void
lockfile_release(struct lockfile *lf)
{
	if (lf == NULL)
		return;
	if (lf->fd != -1) {
		/* Removed while still held; a newcomer that opened the
		 * old file meanwhile sees it is gone (same_file) and opens
		 * the path again. */
		if (lf->held)
			(void)unlink(lf->path);
		close(lf->fd);
	}
	free(lf->path);
	free(lf);
}

int
lockfile_probe(const char *db_path, pid_t *pid_r, int64_t *started_r,
    struct error *err)
{
	char *path = lock_path(db_path);
	int fd, ret = 0;

	*pid_r = 0;
	*started_r = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			goto done;
		error_set(err, EX_NOINPUT, "%s: %s", path, strerror(errno));
		ret = -1;
		goto done;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		(void)flock(fd, LOCK_UN);
	else if (errno == EWOULDBLOCK) {
		read_id(fd, pid_r, started_r);
		ret = 1;
	} else {
		error_set(err, EX_OSERR, "%s: %s", path, strerror(errno));
		ret = -1;
	}
	close(fd);
done:
	free(path);
	return ret;
}
