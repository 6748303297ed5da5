/*
 * Unit tests for lockfile: one holder at a time, a refusal that names the
 * holder's pid, probe, a stale file left by a holder that died, and the
 * inode re-check that keeps two holders from locking two different files
 * when one releases (and removes) the file as the other opens it.
 * Holders other than the test itself are child processes, so the lock is
 * seen as a second daemon would see it.
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lockfile.h"
#include "tbtest.h"
#include "util.h"

/* The lock file's "PID STARTED" line. */
static void
read_line(const char *db, long *pid_r, long long *started_r)
{
	char *path = xasprintf("%s.lock", db), *text;

	text = tbtest_read(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(sscanf(text, "%ld %lld", pid_r, started_r), 2);
	free(text);
	free(path);
}

/*
 * A child that takes the lock (started 1234), says so on a pipe, and
 * waits for its stdin-like pipe to close; with die, it _exits at once
 * without releasing. Returns its pid once it holds the lock.
 */
static pid_t
holder(const char *db, int die, int *release_fd)
{
	int ready[2], go[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	if ((pid = fork()) == 0) {
		struct lockfile *lf = NULL;
		struct error err = { 0 };
		pid_t other;

		close(ready[0]);
		close(go[1]);
		if (lockfile_take(db, 1234, &lf, &other, &err) != 1)
			_exit(1);
		(void)write(ready[1], "x", 1);
		if (die)
			_exit(0);
		(void)read(go[0], &c, 1);
		lockfile_release(lf);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	close(ready[1]);
	close(go[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*release_fd = go[1];
	return pid;
}

static void
reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(test_take_release)
{
	char *db = tbtest_path("take.db"), *lock = xasprintf("%s.lock", db);
	struct lockfile *lf = NULL;
	struct error err = { 0 };
	struct stat sb;
	long pid;
	long long started;
	pid_t other = -1;

	ck_assert_int_eq(lockfile_take(db, 1700000000, &lf, &other, &err), 1);
	ck_assert_ptr_nonnull(lf);
	read_line(db, &pid, &started);
	ck_assert_int_eq(pid, (long)getpid());
	ck_assert_int_eq(started, 1700000000LL);
	ck_assert_int_eq(stat(lock, &sb), 0);
	lockfile_release(lf);
	ck_assert_int_eq(stat(lock, &sb), -1);
	lockfile_release(NULL);
	free(lock);
	free(db);
}
END_TEST

START_TEST(test_second_refused_with_pid)
{
	char *db = tbtest_path("second.db");
	struct lockfile *lf = NULL;
	struct error err = { 0 };
	int64_t started = 0;
	pid_t child, other = 0, seen = 0;
	int go;

	child = holder(db, 0, &go);
	ck_assert_int_eq(lockfile_take(db, 99, &lf, &other, &err), 0);
	ck_assert_ptr_null(lf);
	ck_assert_int_eq(other, child);
	/* probe sees the holder and its start time. */
	ck_assert_int_eq(lockfile_probe(db, &seen, &started, &err), 1);
	ck_assert_int_eq(seen, child);
	ck_assert_int_eq(started, 1234);
	close(go);
	reap(child);
	/* Released: nobody runs, and the file is gone. */
	ck_assert_int_eq(lockfile_probe(db, &seen, &started, &err), 0);
	ck_assert_int_eq(seen, 0);
	ck_assert_int_eq(lockfile_take(db, 99, &lf, &other, &err), 1);
	lockfile_release(lf);
	free(db);
}
END_TEST

START_TEST(test_probe_none)
{
	char *db = tbtest_path("none.db");
	struct error err = { 0 };
	int64_t started = 5;
	pid_t pid = 5;

	ck_assert_int_eq(lockfile_probe(db, &pid, &started, &err), 0);
	ck_assert_int_eq(pid, 0);
	ck_assert_int_eq(started, 0);
	/* A directory where the database's directory should be. */
	ck_assert_int_eq(lockfile_probe("/nonexistent-dir/x.db", &pid,
	    &started, &err), 0);
	free(db);
}
END_TEST

START_TEST(test_stale_file)
{
	char *db = tbtest_path("stale.db"), *lock = xasprintf("%s.lock", db);
	struct lockfile *lf = NULL;
	struct error err = { 0 };
	struct stat sb;
	int64_t started;
	pid_t child, seen, other;
	long pid;
	long long st;
	int go;

	/* The holder dies without releasing: its file stays, unlocked. */
	child = holder(db, 1, &go);
	reap(child);
	close(go);
	ck_assert_int_eq(stat(lock, &sb), 0);
	read_line(db, &pid, &st);
	ck_assert_int_eq(pid, (long)child);
	ck_assert_int_eq(lockfile_probe(db, &seen, &started, &err), 0);
	/* ...and never blocks a new holder, which writes its own pid. */
	ck_assert_int_eq(lockfile_take(db, 42, &lf, &other, &err), 1);
	read_line(db, &pid, &st);
	ck_assert_int_eq(pid, (long)getpid());
	ck_assert_int_eq(st, 42);
	lockfile_release(lf);
	free(lock);
	free(db);
}
END_TEST

/*
 * The inode re-check. lockfile.c is linked with flock wrapped
 * (-Wl,--wrap=flock, mk/status.am): when armed, the wrapper first
 * releases the lock `steal` holds, so between the taker's open() and its
 * flock() the holder removes the file, exactly the race of a daemon
 * stopping as another starts. The taker then locks a removed file; it
 * must notice and lock the file at the path instead, or a third process
 * would create and lock a new file and two daemons would run.
 */
int	__real_flock(int, int);
int	__wrap_flock(int, int);

static struct lockfile *steal;
static int nflock;

int
__wrap_flock(int fd, int op)
{
	nflock++;
	if (steal != NULL && (op & LOCK_EX)) {
		lockfile_release(steal);
		steal = NULL;
	}
	return __real_flock(fd, op);
}

START_TEST(test_inode_recheck)
{
	char *db = tbtest_path("race.db"), *lock = xasprintf("%s.lock", db);
	struct lockfile *first = NULL, *lf = NULL;
	struct error err = { 0 };
	struct stat sb;
	int64_t started;
	pid_t other, seen;
	long pid;
	long long st;

	ck_assert_int_eq(lockfile_take(db, 1, &first, &other, &err), 1);
	steal = first;
	nflock = 0;
	ck_assert_int_eq(lockfile_take(db, 2, &lf, &other, &err), 1);
	ck_assert_ptr_null(steal);
	/* The first flock got the removed file; a second was needed. */
	ck_assert_int_eq(nflock, 2);
	ck_assert_int_eq(stat(lock, &sb), 0);
	read_line(db, &pid, &st);
	ck_assert_int_eq(pid, (long)getpid());
	ck_assert_int_eq(st, 2);
	/* The lock is on the file others open: a child sees it held. */
	if ((other = fork()) == 0)
		_exit(lockfile_probe(db, &seen, &started, &err) == 1 &&
		    seen == getppid() && started == 2 ? 0 : 1);
	reap(other);
	lockfile_release(lf);
	free(lock);
	free(db);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lockfile");
	TCase *tc = tcase_create("lockfile");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_take_release);
	tcase_add_test(tc, test_second_refused_with_pid);
	tcase_add_test(tc, test_probe_none);
	tcase_add_test(tc, test_stale_file);
	tcase_add_test(tc, test_inode_recheck);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
