/*
 * imap: reads and files the messages of one mailbox over IMAP4rev1
 * (RFC 3501) with UIDPLUS (RFC 4315), MOVE (RFC 6851), IDLE (RFC 2177),
 * STARTTLS or implicit TLS (RFC 8314, RFC 2595) and modified UTF-7
 * mailbox names (RFC 3501 5.1.3). It is the only module that calls
 * libetpan's mailimap API; libetpan owns the imap_* and mailimap_* names,
 * hence tb_imap_*. It knows nothing of stores or classification.
 *
 * libetpan does not verify TLS certificates, so tb_imap_open does it
 * (OpenSSL, against ca_file or the system store, and the host name or
 * IP address) before anything is sent inside TLS; LOGIN only ever
 * crosses inside verified TLS, or in clear with tls=none to a loopback
 * host. Messages are named by UID within a UIDVALIDITY, never by sequence
 * number, and read with BODY.PEEK[] so reading does not set \Seen.
 *
 * Errors: every function that fails fills err with one line naming the
 * host and what failed (passwords never appear) and a sysexits.h code:
 * EX_CONFIG bad configuration or credentials refused, EX_NOPERM login
 * refused with the server's text, EX_UNAVAILABLE cannot connect, TLS
 * refused or a command refused, EX_TEMPFAIL the connection dropped or
 * timed out, EX_PROTOCOL the server spoke nonsense. After EX_TEMPFAIL or
 * EX_PROTOCOL the connection is unusable: every later call fails at once
 * with EX_TEMPFAIL; close it and open a new one (tb_imap_backoff).
 *
 * libetpan prints one "GnuTLS error: ..." line to stderr when a TLS
 * handshake fails (gnutls_perror in its mailstream_ssl.c); the error
 * returned here says the same, with the host.
 *
 * Threads: one struct tb_imap per thread. The program must ignore SIGPIPE
 * (libetpan writes to sockets the server may have closed);
 * tb_imap_open refuses to run otherwise.
 */
#ifndef TB_IMAP_H
#define TB_IMAP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum tb_imap_tls {
	TB_IMAP_TLS = 0,	/* the default: implicit TLS (port 993) */
	TB_IMAP_STARTTLS,	/* STARTTLS on the plain port (143) */
	TB_IMAP_NONE		/* clear text; only to a loopback host */
};

/* Where and how to connect; borrowed for the duration of tb_imap_open. */
struct tb_imap_config {
	const char	*host;		/* name or address; with TB_IMAP_NONE
					   only localhost, 127.0.0.0/8, ::1 */
	int		 port;		/* 0: 993 with TLS, else 143 */
	enum tb_imap_tls tls;
	const char	*ca_file;	/* PEM trust anchors; NULL: system */
	const char	*user;
	const char	*password;	/* never logged, never in an error */
	int		 timeout;	/* seconds per network wait; 0: 60 */
};

/* A logged-in connection; opaque. */
struct tb_imap;

/*
 * Checks cfg without connecting: a host, a port in range, a known tls
 * mode, tls=none only to a loopback host, a user and a password, a
 * readable ca_file. 0, or -1 with err (EX_CONFIG) naming the field.
 */
int	tb_imap_check_config(const struct tb_imap_config *, struct error *);

/*
 * Connects, sets up TLS as cfg says and verifies the server's
 * certificate chain and name (a refusal names host and reason; nothing
 * has been sent inside the TLS session then), logs in, and learns the
 * server's capabilities as they are after login. On success *imap_r is
 * the connection (caller closes with tb_imap_close) and 0 is returned;
 * else -1 with err and *imap_r NULL.
 */
int	tb_imap_open(const struct tb_imap_config *, struct tb_imap **imap_r,
	    struct error *);

/* Logs out when the connection is still usable, and frees; NULL is ok. */
void	tb_imap_close(struct tb_imap *);

/* 1 when the server announced capability (e.g. "MOVE"), else 0. */
int	tb_imap_has(struct tb_imap *, const char *capability);

/*
 * Maps a logical mailbox name, with '/' between levels ("INBOX",
 * "temabrev/processed"), to the server's name: its hierarchy delimiter
 * (from LIST "" "") and modified UTF-7. With create, missing levels are
 * created parent first and subscribed. *name_r (caller frees) is what
 * tb_imap_select and tb_imap_move take. Returns 0, or -1 with err:
 * EX_CONFIG for a bad logical name (empty level, wildcard, control
 * character, or a level containing the server's delimiter) or, without
 * create, a mailbox that does not exist.
 */
int	tb_imap_mailbox(struct tb_imap *, const char *logical, int create,
	    char **name_r, struct error *);

struct tb_imap_status {
	uint32_t	uidvalidity;	/* UIDs are only valid within it */
	uint32_t	uidnext;	/* 0 when the server did not say */
	uint32_t	exists;		/* messages in the mailbox */
};

/* Selects (read-write) a mailbox by its server name. 0, or -1 with err. */
int	tb_imap_select(struct tb_imap *, const char *name,
	    struct tb_imap_status *st_r, struct error *);

struct tb_imap_entry {
	uint32_t	uid;
	uint32_t	size;		/* RFC822.SIZE in octets */
};

/*
 * The messages of the selected mailbox whose UID is >= from_uid,
 * ascending by UID, with their sizes (to skip oversized ones before
 * fetching). *v_r (caller frees with free(); NULL when *n_r is 0).
 */
int	tb_imap_list(struct tb_imap *, uint32_t from_uid,
	    struct tb_imap_entry **v_r, size_t *n_r, struct error *);

/*
 * Called once per fetched message: msg/len are its raw octets as stored
 * (CRLF lines, 8-bit bytes intact), borrowed until the callback returns.
 * Return 0 to go on, or -1 (having filled err) to stop the fetch.
 */
typedef int (*tb_imap_fetch_cb)(uint32_t uid, const char *msg, size_t len,
    void *arg, struct error *err);

/*
 * Fetches the messages uids[0..n-1] of the selected mailbox with
 * BODY.PEEK[] (\Seen is not set) and hands each to cb, in batches of UID
 * FETCH bounded by count and total size, so memory stays about one batch
 * (a few MB, or one message when it is larger) whatever n is. UIDs the
 * mailbox no longer holds are skipped silently (another client expunged
 * them). Returns 0, or -1 with err (cb's own error when cb stopped it).
 */
int	tb_imap_fetch(struct tb_imap *, const uint32_t *uids, size_t n,
	    tb_imap_fetch_cb cb, void *arg, struct error *);

/*
 * Moves the messages uids[0..n-1] from the selected mailbox to the
 * mailbox with server name `name`: UID MOVE when the server has MOVE,
 * else UID COPY, STORE +FLAGS.SILENT (\Deleted) and UID EXPUNGE with
 * UIDPLUS, or a plain EXPUNGE without it (which also removes other
 * messages already marked \Deleted). Large sets go in several commands.
 * Returns 0, or -1 with err; after a failure in the fallback, messages
 * may be in both mailboxes (and marked \Deleted in this one).
 */
int	tb_imap_move(struct tb_imap *, const uint32_t *uids, size_t n,
	    const char *name, struct error *);

/*
 * Waits up to timeout_sec seconds for a change in the selected mailbox:
 * IDLE when the server has it (keep timeout_sec under 29 minutes,
 * RFC 2177), else a NOOP every 30 seconds at most. Returns 0 with
 * *maybe_new_r 1 as soon as the server reports messages (EXISTS or
 * RECENT), 0 with *maybe_new_r 0 at the timeout, -1 with err when the
 * connection fails meanwhile.
 */
int	tb_imap_idle(struct tb_imap *, int timeout_sec, int *maybe_new_r,
	    struct error *);

/*
 * A descriptor (a pipe's read end) that, once readable, ends
 * tb_imap_idle's wait early: it returns 0 with *maybe_new_r as the server
 * left it, after closing the IDLE cleanly. The owner drains it; -1 (the
 * default) for none. So a daemon's reload or stop need not wait for the
 * IDLE timeout.
 */
void	tb_imap_set_wake(struct tb_imap *, int fd);

/*
 * Seconds to wait before reconnection attempt `attempt` (0, 1, 2, ...)
 * after a transient failure: 5, 10, 20, ... capped at 300.
 */
unsigned	tb_imap_backoff(unsigned attempt);

#endif
