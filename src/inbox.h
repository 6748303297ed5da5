/*
 * inbox: reads the list's mailbox over IMAP and acts on each message
 * exactly once. Unsubscribe requests unsubscribe, subscription requests
 * (SLUG+subscribe@) start double opt-in and replies to the confirmation
 * mail (confirm+TOKEN@) confirm it, bounces are counted
 * against [bounces] limits, complaints unsubscribe and suppress,
 * auto-replies are left alone and everything else is filed for a human.
 *
 * A message's effect and its record (keyed by UIDVALIDITY + UID and by
 * Message-ID, see store.h) commit in one transaction before the message
 * is moved to its mailbox, so a crash or a dropped connection in between
 * leads to a second look that only moves it: no second effect and no
 * second confirmation mail. `temabrev inbox process` and temabrevd run
 * this same code.
 */
#ifndef TB_INBOX_H
#define TB_INBOX_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct error;
struct secret;
struct store;
struct inbox;

struct inbox_stats {
	int64_t	 messages;	/* looked at */
	int64_t	 again;		/* handled before, only moved now */
	int64_t	 unsubscribed;	/* subscriptions ended */
	int64_t	 confirm_asked;	/* strict mode: confirmation requested */
	int64_t	 bounces;	/* failed recipients recorded */
	int64_t	 bounced;	/* subscribers stopped by the limits */
	int64_t	 complaints;
	int64_t	 autoreplies;
	int64_t	 human;		/* filed for a person */
	int64_t	 notices;	/* mails queued (confirmations, requests) */
	int64_t	 requests;	/* SLUG+subscribe@: double opt-in started */
	int64_t	 confirmed;	/* confirm+TOKEN@: subscriptions activated */
};

/* Receives one line per message (no newline) and the final summary. */
typedef void inbox_line_fn(void *arg, const char *line);

struct inbox_opts {
	int		 watch;	/* keep going with IDLE until *stop */
	volatile int	*stop;	/* set (by a signal) to end a watch */
	inbox_line_fn	*line;
	void		*arg;
	/* Called after each pass (e.g. to deliver the notices queued). */
	void		(*after_pass)(void *arg, const struct inbox_stats *);
	/* > 0: a descriptor made readable together with *stop; it ends an
	 * IDLE at once instead of at its timeout (tb_imap_set_wake). */
	int		 wake_fd;
};

/*
 * One pass over the mailbox (or, with opts->watch, passes until *stop,
 * reconnecting with bounded backoff). Returns 0, or -1 with err: EX_CONFIG
 * for [imap] problems, EX_NOPERM when the login is refused,
 * EX_TEMPFAIL/EX_UNAVAILABLE when the server cannot be reached or drops
 * the connection (what was handled stays handled).
 */
int	inbox_run(const struct config *, struct store *, const struct secret *,
	    const struct inbox_opts *, struct inbox_stats *, struct error *);

/*
 * The message-at-a-time core, without IMAP: classifies raw, acts and
 * records under (uidvalidity, uid) in one transaction (a savepoint of
 * the caller's; confirmation mails it owes wait for the caller's commit,
 * see inbox_run). *filed_r is
 * "processed", "bounces" or "human" (static). For inbox_run and tests.
 */
struct inbox *inbox_new(const struct config *, struct store *,
	    const struct secret *, const struct inbox_opts *,
	    struct inbox_stats *);
void	 inbox_free(struct inbox *);
int	 inbox_message(struct inbox *, int64_t uidvalidity, int64_t uid,
	    const char *raw, size_t len, const char **filed_r, struct error *);
/* A message too large to read: recorded and filed for a human, unread. */
int	 inbox_oversize(struct inbox *, int64_t uidvalidity, int64_t uid,
	    size_t size, const char **filed_r, struct error *);
/* The summary line of stats. Caller frees. */
char	*inbox_summary(const struct inbox_stats *);

#endif
