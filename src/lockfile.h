/*
 * lockfile: one daemon per database. The daemon holds an flock on
 * DB.lock, a file next to the database, for as long as it runs, and keeps
 * its pid and start time in it. flock rather than a POSIX lock on the
 * database itself, because sqlite opens and closes that file on its own
 * and any close() drops every POSIX lock the process holds on it; and a
 * lock rather than a pid alone, because the kernel drops it when the
 * daemon dies, however it dies, so a stale file never blocks a restart.
 */
#ifndef TB_LOCKFILE_H
#define TB_LOCKFILE_H

#include <stdint.h>
#include <sys/types.h>

struct error;
struct lockfile;

/*
 * Takes the lock of db_path's daemon and writes the caller's pid and now
 * into it. Returns 1 with *lf_r held, 0 when another process holds it
 * (its pid in *holder_r, or 0 if it has not written it yet), -1 with err.
 */
int	lockfile_take(const char *db_path, int64_t now, struct lockfile **lf_r,
	    pid_t *holder_r, struct error *);
/* Rewrites the pid after a fork (the lock stays with the open file). */
int	lockfile_repid(struct lockfile *, struct error *);
/* Releases the lock and removes the file. */
void	lockfile_release(struct lockfile *);

/*
 * Whether a daemon runs on db_path: 1 with its pid and start time, 0 when
 * none does (no file, or a file nobody holds), -1 with err.
 */
int	lockfile_probe(const char *db_path, pid_t *pid_r, int64_t *started_r,
	    struct error *);

#endif
