/*
 * sender: delivers the queue. Several connections in parallel, each a
 * thread with its own database handle, compose context and libESMTP
 * session, carrying up to max_per_connection messages. Rows are claimed
 * with a lease (owner and expiry) so the CLI and the daemon never carry the
 * same row; the hourly and daily windows are counted from the delivery
 * records, and the per-second rate is paced on a row every process shares,
 * at the moment each message goes out. A connection's outcomes are
 * committed with its next claim (or alone at the end) before it carries
 * anything more: at most connections x max_per_connection messages are in
 * flight or unrecorded, which bounds the copies a crash can send twice.
 */
#ifndef TB_SENDER_H
#define TB_SENDER_H

#include <stdint.h>

struct config;
struct error;
struct secret;

struct sender_progress {
	int64_t	 total;		/* work left when the run started */
	int64_t	 sent, deferred, failed;
	int64_t	 paused_until;	/* a window is full until then, or 0 */
	int64_t	 next_try;	/* earliest deferred retry, or 0 */
	int64_t	 deferred_left;	/* deferred rows still waiting */
	int64_t	 requeued;	/* rows a dead process left, queued again */
	double	 rate;		/* messages per second so far */
};

struct sender_opts {
	int	 no_wait;	/* return instead of waiting for a window or
				   a retry */
	int64_t	 edition_id;	/* report on this edition (0: all) */
	/* Called about five times a second from the calling thread. */
	void	(*progress)(const struct sender_progress *, void *);
	void	*arg;
	volatile int *stop;	/* set (by a signal) to stop claiming */
};

/*
 * Runs until nothing is left to send (returns 0), or until only deferred
 * rows or a full window remain and opts->no_wait is set or *stop was set
 * (returns 1: try again later), with the final figures in *p. Returns -1
 * with err when sending cannot start (configuration, templates) or the
 * database fails.
 */
int	sender_run(const struct config *, const char *db_path,
	    const struct secret *, const struct sender_opts *,
	    struct sender_progress *p, struct error *);

struct tb_smtp_config;
/*
 * The [smtp] settings as tb_smtp takes them, checked (AUTH without TLS,
 * port 465, a missing password file): what every send checks before it
 * queues anything. *password_r (caller frees) backs sc->password.
 */
int	sender_smtp_config(const struct config *, struct tb_smtp_config *sc,
	    char **password_r, struct error *);
/* The [smtp] password from password_file (caller frees), or NULL. */
int	sender_password(const struct config *, char **password_r,
	    struct error *);

#endif
