/*
 * subs: what can happen to subscribers, with the rules users rely on:
 * adding and re-activating, unsubscribing, erasure on request (GDPR art.
 * 17), the suppression list, and CSV import and export. The CLI, the
 * daemon and the inbox call these; none of them prints.
 */
#ifndef TB_SUBS_H
#define TB_SUBS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "token.h"

struct config;
struct error;
struct secret;
struct store;
struct subs;

/*
 * A context over an open store and the installation secret (both
 * borrowed; they must outlive it). Like a store handle, use it from one
 * thread at a time (a web worker makes its own). Caller frees with
 * subs_free.
 */
struct subs *subs_new(struct store *, struct secret *);
void	subs_free(struct subs *);

/*
 * What subs_request needs to mail a confirmation ([general], [smtp],
 * [dkim], templates, [subscribe] pending_days); cfg is borrowed. Without
 * it subs_request can only work with SUBS_NO_SEND.
 */
void	subs_set_config(struct subs *, const struct config *);

/* Receives one line of progress: what happened to one theme or row. */
typedef void subs_report_fn(void *arg, const char *what);

/*
 * Subscribes email to each theme in slugs (all must exist) as active.
 * name (NULL or "": keep) replaces the stored name. An unsubscribed or
 * bounced subscription is re-activated (a communicator asked for it); a
 * suppressed address is refused unless force is set, and forcing is
 * logged. source names who asked ("cli"). Reports one line per theme.
 */
int	subs_add(struct subs *, const char *email, const char *name,
	    char *const *slugs, size_t nslugs, int force, const char *source,
	    subs_report_fn *, void *arg, struct error *);

/*
 * Unsubscribes email from slug, or from every theme when slug is NULL.
 * Reports one line per subscription changed.
 */
int	subs_remove(struct subs *, const char *email, const char *slug,
	    const char *source, subs_report_fn *, void *arg, struct error *);

/*
 * Erases everything stored about email and keeps only its keyed hash on
 * the suppression list. An unknown address is still suppressed. Sets
 * *found_r to whether a subscriber was erased.
 */
int	subs_forget(struct subs *, const char *email, const char *source,
	    int *found_r, struct error *);

/* Suppression list by address. add also unsubscribes active ones. */
int	subs_suppress_add(struct subs *, const char *email, const char *reason,
	    const char *source,
	    int *added_r, struct error *);
int	subs_suppress_rm(struct subs *, const char *email, int *removed_r,
	    struct error *);

struct subs_import_stats {
	uint64_t	added;		/* new subscribers */
	uint64_t	updated;	/* existing ones that changed */
	uint64_t	skipped;	/* nothing to change, or suppressed */
	uint64_t	refused;	/* bad rows */
};

/*
 * Imports a CSV file (RFC 4180; header row naming email, name, themes
 * and optionally status). Each theme in extra (may be empty) is added to
 * every row's. Bad rows are reported as "FILE:LINE: reason" and counted;
 * good rows are committed in batches, so a failure keeps earlier rows.
 * Never re-activates an unsubscribed, bounced or suppressed address.
 * Returns -1 only when the import could not go on (no such file, no email
 * column, a database error).
 */
int	subs_import(struct subs *, const char *path, char *const *extra,
	    size_t nextra, subs_report_fn *, void *arg,
	    struct subs_import_stats *, struct error *);

/*
 * Writes email,name,themes for every subscriber with an active
 * subscription (to theme slug, or any when NULL), themes joined by ';'.
 * With all: one row per subscription, every status, with a status
 * column. With safe: spreadsheet-safe free-text cells.
 */
int	subs_export(struct subs *, FILE *, const char *slug, int all, int safe,
	    struct error *);

/* ---- double opt-in ---- */

#define SUBS_CONFIRM_INTERVAL	86400	/* one confirmation mail per address
					   per this many seconds */
#define SUBS_EMAIL_MAX		1024	/* room for any stored address */

/* subs_request's flags. */
#define SUBS_NO_SEND	1	/* make the token, mail nothing */
#define SUBS_DEFER_MAIL	2	/* in a caller's transaction: leave the
				   mail to subs_request_mail after commit */
#define SUBS_BY_MAIL	4	/* asked for by mail (the mail answers it) */

enum subs_request_outcome {
	SUBS_REQ_MAILED,	/* pending; a confirmation mail went out */
	SUBS_REQ_MAIL_DUE,	/* pending; SUBS_DEFER_MAIL: mail it now */
	SUBS_REQ_NOT_SENT,	/* pending; SUBS_NO_SEND: token only */
	SUBS_REQ_THROTTLED,	/* pending; a mail went to the address less
				   than SUBS_CONFIRM_INTERVAL ago */
	SUBS_REQ_ACTIVE,	/* already subscribed: nothing sent */
	SUBS_REQ_SUPPRESSED	/* suppressed: nothing stored, nothing sent */
};

/*
 * What a request came to. Outwardly (to whoever asked over the web or by
 * mail) every outcome must look the same; the CLI may tell them apart.
 */
struct subs_request_result {
	int	 outcome;		/* enum subs_request_outcome */
	int64_t	 subscriber_id;		/* 0 for SUPPRESSED */
	int64_t	 theme_id;
	int64_t	 issued;		/* the token's issue time */
	int64_t	 prev_sent;		/* confirm_sent_at before this mail */
	int	 by_mail;
	char	 email[SUBS_EMAIL_MAX];	/* normalised address */
	char	 token[TOKEN_BUF];	/* "" unless MAILED, MAIL_DUE or
					   NOT_SENT */
};

/*
 * Starts double opt-in of email to theme slug: creates the subscriber
 * (with name, only when new: a request never changes a known subscriber)
 * and a pending subscription (logged as a subscribe event with source:
 * "cli", "mail", "web"), then mails a confirmation from the theme's
 * confirm-subscribe templates at once over [smtp], not through the
 * queue, unless one went to the address in the last
 * SUBS_CONFIRM_INTERVAL seconds. Nothing is stored or mailed for a
 * suppressed address; an active subscriber gets nothing. A failed mail
 * leaves the request pending and the daily allowance unspent, and
 * returns -1 (EX_TEMPFAIL, EX_UNAVAILABLE or EX_DATAERR naming the
 * address). Bad address, name or slug: -1 with EX_DATAERR.
 */
int	subs_request(struct subs *, const char *email, const char *name,
	    const char *slug, const char *source, int64_t now, int flags,
	    struct subs_request_result *, struct error *);
/*
 * Mails the confirmation of a SUBS_REQ_MAIL_DUE result (outside any
 * transaction); the outcome becomes SUBS_REQ_MAILED. As subs_request.
 */
int	subs_request_mail(struct subs *, struct subs_request_result *,
	    struct error *);

enum subs_confirm_outcome {
	SUBS_CONFIRMED,		/* pending -> active now */
	SUBS_CONFIRMED_BEFORE,	/* already active: nothing to do */
	SUBS_CONFIRM_EXPIRED,	/* older than pending_days, or no longer
				   pending (expired, unsubscribed since) */
	SUBS_CONFIRM_INVALID	/* forged, damaged, another purpose */
};

struct subs_confirm_result {
	int	 outcome;	/* enum subs_confirm_outcome */
	int64_t	 subscriber_id;	/* 0 for INVALID */
	int64_t	 theme_id;
};

/*
 * Confirms the pending subscription a confirmation token names, if it
 * was issued less than pending_days days before now and not before the
 * request it answers; logs a confirm event with source ("mail", "web",
 * "cli"). Only a database error returns -1: the outcome says the rest,
 * and nothing changes unless it is SUBS_CONFIRMED.
 */
int	subs_confirm(struct subs *, const char *token, int64_t pending_days,
	    const char *source, int64_t now, struct subs_confirm_result *,
	    struct error *);

/*
 * Confirms another pending subscription of the subscriber a confirmation
 * token names, to theme_id: what the token's page offers, one checkbox a
 * theme, when a second theme was asked for within the 24 hours in which
 * no second mail goes out. The token (valid, not older than pending_days)
 * proves the address; the box ticked on its page is the consent for that
 * theme. The request must be pending and not older than pending_days.
 * Returns 0 with *confirmed_r 1 when it became active (a confirm event
 * with source), else 0; -1 on a database error.
 */
int	subs_confirm_also(struct subs *, const char *token, int64_t theme_id,
	    int64_t pending_days, const char *source, int64_t now,
	    int *confirmed_r, struct error *);

/*
 * Removes the pending subscriptions requested more than pending_days
 * days before now (store_pending_expire); *n_r counts them.
 */
int	subs_expire(struct subs *, int64_t now, int64_t pending_days,
	    const char *source, int64_t *n_r, struct error *);

#endif
