/*
 * store: the sqlite3 database, and every SQL statement temabrev runs. No
 * other module includes sqlite3.h. Statements are prepared once per handle
 * with bound parameters only. The schema is versioned with PRAGMA
 * user_version: opening an older database upgrades it in one transaction;
 * a newer one is refused. WAL mode, foreign keys and a busy timeout let the
 * CLI and the daemon share one file.
 *
 * A struct store is one connection: use it from one thread at a time (each
 * worker thread opens its own).
 */
#ifndef TB_STORE_H
#define TB_STORE_H

#include <stdint.h>
#include <stdio.h>

struct error;
struct store;

/* Subscription status words, the same in the CLI, JSON and docs. */
enum store_status {
	STORE_PENDING,
	STORE_ACTIVE,
	STORE_UNSUBSCRIBED,
	STORE_BOUNCED,
	STORE_NSTATUS
};

/* "pending", "active", "unsubscribed", "bounced". */
const char *store_status_name(int status);
/* The status for a word, or -1. */
int	store_status_parse(const char *word);

/* Event kinds of the event log. */
enum store_event {
	STORE_EV_SUBSCRIBE,
	STORE_EV_CONFIRM,
	STORE_EV_UNSUBSCRIBE,
	STORE_EV_BOUNCE,
	STORE_EV_ERASE,
	STORE_EV_UPDATE,
	STORE_EV_SUPPRESS,
	STORE_EV_UNSUPPRESS
};

#define STORE_SCHEMA_VERSION 7

/*
 * Configures sqlite for the process; call once at start-up, before any
 * store_open and before threads exist.
 */
void	store_init(void);

/*
 * Opens (creating when missing) the database at path and brings its
 * schema up to date. Errors: EX_IOERR when the file cannot be opened or
 * created, EX_DATAERR for a file that is not a temabrev database or whose
 * schema is newer than this program. Caller closes with store_close.
 */
int	store_open(const char *path, struct store **store_r, struct error *);
void	store_close(struct store *);

/* The schema version found in the file before any upgrade. */
int	store_version_found(const struct store *);

/*
 * Transactions. store_begin takes the write lock at once (BEGIN IMMEDIATE)
 * so a transaction never fails half-way on a lock. store_rollback is a
 * no-op outside a transaction. Transactions nest: an inner begin is a
 * savepoint, and its rollback undoes only what came after it.
 */
int	store_begin(struct store *, struct error *);
int	store_commit(struct store *, struct error *);
void	store_rollback(struct store *);

/*
 * Bulk mode for large imports: a bigger (but fixed, 32 MB) page cache and
 * rarer WAL checkpoints, so a million-row import is not bound by cache
 * misses and fsyncs. Memory stays independent of the data's size.
 */
int	store_bulk(struct store *, struct error *);

/* Copies the live database to path with sqlite's online backup API. */
int	store_backup(struct store *, const char *path, struct error *);

/* ---- themes ---- */

struct store_theme {
	int64_t	 id;
	char	*slug;
	char	*name;
	char	*description;
	char	*lang;
	int64_t	 created;
	char	*from_addr;		/* its own From, or NULL */
	char	*schedule;		/* digest schedule spec, or NULL */
	int64_t	 last_digest;		/* schedule instant of the last
					   digest made, 0: none */
	int64_t	 counts[STORE_NSTATUS];	/* subscriptions per status */
};

/* Adds a theme; EX_DATAERR when the slug exists. */
int	store_theme_add(struct store *, const char *slug, const char *name,
	    const char *description, const char *lang, struct error *);
/*
 * Changes the non-NULL fields of a theme (from "" clears its own From);
 * EX_DATAERR when unknown.
 */
int	store_theme_edit(struct store *, const char *slug, const char *name,
	    const char *description, const char *lang, const char *from,
	    struct error *);
/*
 * Looks a theme up by slug. Returns 1 and a theme the caller frees with
 * store_theme_free, 0 when there is none, -1 on error.
 */
int	store_theme_get(struct store *, const char *slug,
	    struct store_theme **theme_r, struct error *);
void	store_theme_free(struct store_theme *);
/* Sets (NULL: clears) a theme's digest schedule; EX_DATAERR: no theme. */
int	store_theme_set_schedule(struct store *, const char *slug,
	    const char *schedule, struct error *);
/* Records that the digest scheduled for instant slot was made. */
int	store_theme_digested(struct store *, int64_t theme_id, int64_t slot,
	    struct error *);
/* Like store_theme_get by id, without the counts (which cost a scan). */
int	store_theme_by_id(struct store *, int64_t id, struct store_theme **,
	    struct error *);
/* Like store_theme_get, without the counts: for lookups per message. */
int	store_theme_by_slug(struct store *, const char *slug,
	    struct store_theme **, struct error *);
/*
 * Calls cb for every theme in slug order, counts filled in. The theme is
 * borrowed for the call. A non-zero return from cb stops the walk and is
 * returned. Returns 0 or -1 on error.
 */
int	store_theme_foreach(struct store *,
	    int (*cb)(const struct store_theme *, void *), void *arg,
	    struct error *);
/*
 * The same walk without the counts (left 0), which cost a scan of every
 * theme's subscriptions: for listings that need only the themes (the web
 * side's preferences page, on every request).
 */
int	store_theme_each(struct store *,
	    int (*cb)(const struct store_theme *, void *), void *arg,
	    struct error *);
/* Removes a theme and its subscriptions (the event log keeps its rows). */
int	store_theme_rm(struct store *, int64_t theme_id, struct error *);

/* ---- subscribers and subscriptions ---- */

struct store_subscription {
	int64_t		 theme_id;
	const char	*slug;
	int		 status;
	int64_t		 since;
	const char	*reason;
};

/* One subscriber with (some of) its subscriptions; all borrowed. */
struct store_subscriber {
	int64_t				 id;
	const char			*email;
	const char			*name;
	int64_t				 created;
	size_t				 nsubs;
	const struct store_subscription	*subs;
};

/*
 * Finds a subscriber by comparison key (addr.key). Returns 1 with the id
 * (and, if name_r is not NULL, a copy of the name the caller frees), 0
 * when there is none, -1 on error.
 */
int	store_subscriber_find(struct store *, const char *key, int64_t *id_r,
	    char **name_r, struct error *);
/*
 * Inserts a new subscriber: 1 with its id in id_r, 0 when one with that
 * key exists already (id_r untouched), -1 on error.
 */
int	store_subscriber_add(struct store *, const char *email, const char *key,
	    const char *name, int64_t *id_r, struct error *);
int	store_subscriber_set_name(struct store *, int64_t id, const char *name,
	    struct error *);
/* 1 with copies of a subscriber's address and name (caller frees; name_r
 * may be NULL), 0 when there is no such id. */
int	store_subscriber_get(struct store *, int64_t id, char **email_r,
	    char **name_r, struct error *);

/*
 * The status of one subscription: 1 with status_r set, 0 when the
 * subscriber does not follow the theme, -1 on error.
 */
int	store_subscription_get(struct store *, int64_t subscriber_id,
	    int64_t theme_id, int *status_r, struct error *);
/*
 * Creates or changes a subscription and logs the change in the event log
 * as kind (STORE_EV_*), with source (who: "cli", "import:FILE", ...) and
 * detail (may be NULL), in one call so no change goes unlogged.
 */
int	store_subscription_set(struct store *, int64_t subscriber_id,
	    int64_t theme_id, int status, int kind, const char *source,
	    const char *detail, struct error *);
/* Like store_subscription_get, with the time the status was set. */
int	store_subscription_info(struct store *, int64_t subscriber_id,
	    int64_t theme_id, int *status_r, int64_t *since_r, struct error *);

/*
 * Double opt-in. store_confirm_sent: 1 with the time the last
 * confirmation mail went to a subscriber (0: never), 0 no such id.
 * store_confirm_sent_swap sets it to at only if it still is old, so of
 * two requests at once only one wins the mail (*swapped_r 1); a failed
 * mail swaps it back.
 */
int	store_confirm_sent(struct store *, int64_t subscriber_id, int64_t *at_r,
	    struct error *);
int	store_confirm_sent_swap(struct store *, int64_t subscriber_id,
	    int64_t old, int64_t at, int *swapped_r, struct error *);
/*
 * Removes every pending subscription set before cutoff, logging each as
 * an unsubscribe with source and detail; a subscriber left with none of
 * its own (it only ever asked, never confirmed) is deleted with its
 * address and name, its log rows unlinked. One transaction; *n_r counts
 * the subscriptions removed.
 */
int	store_pending_expire(struct store *, int64_t cutoff, const char *source,
	    const char *detail, int64_t *n_r, struct error *);

/* Adds an event-log row (theme_id 0: none). */
int	store_event_add(struct store *, int kind, int64_t subscriber_id,
	    int64_t theme_id, const char *source, const char *detail,
	    struct error *);

/*
 * Streams subscribers in creation order with the subscriptions that match
 * theme_id (0: any) and status (-1: any); subscribers without a match are
 * skipped. key (not NULL) limits it to that one subscriber, with every
 * subscription, including a subscriber with none. cb's non-zero return
 * stops the walk. Memory stays flat however many rows there are.
 */
int	store_subscriber_foreach(struct store *, const char *key,
	    int64_t theme_id, int status,
	    int (*cb)(const struct store_subscriber *, void *), void *arg,
	    struct error *);

struct store_event_row {
	int64_t		 at;
	const char	*kind;
	const char	*slug;		/* NULL: no theme */
	const char	*source;
	const char	*detail;	/* NULL: none */
};
/* A subscriber's event log, oldest first (borrowed for each call). */
int	store_event_foreach(struct store *, int64_t subscriber_id,
	    int (*cb)(const struct store_event_row *, void *), void *arg,
	    struct error *);

/*
 * Erases a subscriber (GDPR art. 17): its subscriptions go, its event-log
 * rows keep only hash, and every stored text containing email or key (its
 * ASCII comparison form) is blanked;
 * the hash joins the suppression list (without the address). Runs in one
 * transaction.
 */
int	store_subscriber_forget(struct store *, int64_t id, const char *email,
	    const char *key, const char *hash, const char *source,
	    struct error *);

/* ---- feeds and items ---- */

struct store_feed {
	int64_t		 id;
	int64_t		 theme_id;
	const char	*slug;		/* the theme's */
	const char	*url;
	const char	*title;		/* from the last good fetch, or NULL */
	int		 active;
	const char	*etag;		/* validators for a conditional GET */
	const char	*last_modified;
	int64_t		 created;
	int64_t		 last_fetch;	/* 0: never */
	long		 last_status;	/* HTTP status; 0: no response */
	const char	*last_error;	/* NULL after a good fetch */
	int64_t		 last_new, last_updated;
	int64_t		 failures;	/* consecutive */
};

/* Adds a feed to a theme; EX_DATAERR when the theme has that URL already. */
int	store_feed_add(struct store *, int64_t theme_id, const char *url,
	    int64_t *id_r, struct error *);
/* Removes a feed and its items. EX_DATAERR when there is no such feed. */
int	store_feed_rm(struct store *, int64_t id, struct error *);
/*
 * Calls cb for each feed (of theme_id, or all when 0; only active ones
 * when active_only), borrowed for the call, in id order.
 */
int	store_feed_foreach(struct store *, int64_t theme_id, int active_only,
	    int (*cb)(const struct store_feed *, void *), void *arg,
	    struct error *);

/* What one fetch of a feed came to; NULL strings leave a field as it is. */
struct store_fetch_outcome {
	long		 status;
	const char	*error;		/* NULL: a good fetch */
	int64_t		 nnew, nupdated;
	const char	*etag, *last_modified, *title;
	const char	*moved_to;	/* a permanent redirect's new URL */
	int		 deactivate;	/* 410 Gone */
};
/* Records a fetch on the feed: time, status, error, counts, failures. */
int	store_feed_fetched(struct store *, int64_t id,
	    const struct store_fetch_outcome *, struct error *);

/* An item as read from a feed (all borrowed). */
struct store_item {
	int64_t		 id;		/* out, for listings */
	int64_t		 feed_id;
	const char	*identity;	/* feed_item_identity() */
	const char	*guid;
	const char	*title;
	const char	*link;
	const char	*author;
	int64_t		 published, updated;	/* 0: unknown */
	const char	*categories;
	const char	*summary_html;
	const char	*content_html;
	const char	*text;
	const char	*enclosure_url;
	const char	*enclosure_type;
	int64_t		 enclosure_length;
	int64_t		 first_seen;	/* out */
	int		 sent;		/* out: carried by an edition */
};

enum store_upsert { STORE_UNCHANGED, STORE_NEW, STORE_UPDATED };

/*
 * Stores an item under (feed, identity): a new one is added, a changed one
 * updated in place (never duplicated), an unchanged one left alone. The
 * outcome goes to outcome_r.
 */
int	store_item_upsert(struct store *, const struct store_item *,
	    enum store_upsert *outcome_r, struct error *);
/*
 * Streams the items of a theme (0: all), newest first (published, else
 * updated, else first seen), only unsent ones when unsent_only.
 */
int	store_item_foreach(struct store *, int64_t theme_id, int unsent_only,
	    int (*cb)(const struct store_item *, const struct store_feed *,
	    void *), void *arg, struct error *);

/* ---- editions and deliveries ---- */

/* Delivery status words: queued, sending, sent, deferred, failed, cancelled. */
enum store_dstatus {
	STORE_QUEUED,
	STORE_SENDING,
	STORE_SENT,
	STORE_DEFERRED,
	STORE_FAILED,
	STORE_CANCELLED,
	STORE_ND
};
const char *store_dstatus_name(int);

/* An edition; strings borrowed in callbacks, owned when from _get. */
struct store_edition {
	int64_t	 id;
	int64_t	 theme_id;
	char	*slug;
	char	*theme_name;
	char	*lang;
	char	*subject;
	char	*intro;
	char	*template_name;
	char	*status;		/* draft, sending, done, cancelled */
	int64_t	 created, queued, finished;
	int64_t	 nitems;
	int64_t	 counts[STORE_ND];	/* deliveries per status */
	int	 notice;		/* a one-recipient notice, not a
					   newsletter (not listed) */
	int64_t	 send_at;		/* a draft's scheduled send, 0: none */
};

/*
 * Makes a draft edition of a theme from the items no edition of the theme
 * carries yet, the max_items newest (0: all); the draft reserves them.
 * When there are none, nothing is made and *nitems_r is 0.
 */
int	store_edition_new(struct store *, int64_t theme_id, const char *subject,
	    const char *intro, const char *template_name, int64_t max_items,
	    int64_t *id_r, int64_t *nitems_r, struct error *);
/* 1 and an edition the caller frees with store_edition_free; 0 none. */
int	store_edition_get(struct store *, int64_t id, struct store_edition **,
	    struct error *);
void	store_edition_free(struct store_edition *);
/* 1 with whether an edition is a notice and its template (caller frees),
 * 0 no such edition; without store_edition_get's counts. */
int	store_edition_template(struct store *, int64_t id, int *notice_r,
	    char **template_r, struct error *);
int	store_edition_foreach(struct store *, int64_t theme_id,
	    int (*cb)(const struct store_edition *, void *), void *arg,
	    struct error *);
/* The edition's items in their order (borrowed for each call). */
int	store_edition_items(struct store *, int64_t id,
	    int (*cb)(const struct store_item *, void *), void *arg,
	    struct error *);
/* Removes a draft, freeing its items; EX_DATAERR for any other status. */
int	store_edition_rm(struct store *, int64_t id, struct error *);
/* Stops an edition: queued and deferred rows become cancelled. */
int	store_edition_cancel(struct store *, int64_t id, int64_t *ncancelled_r,
	    struct error *);
/*
 * Queues the edition for every active subscriber of its theme (once per
 * subscriber, however often it is called) and marks it sending.
 */
int	store_edition_queue(struct store *, int64_t id, int64_t *nqueued_r,
	    struct error *);

struct store_delivery {
	int64_t		 id;
	const char	*email;		/* NULL when erased */
	int		 status;
	int		 code;
	const char	*reply;
	int		 attempts;
	int64_t		 done_at;
};
/* The deliveries of an edition that failed, wait or were cancelled. */
int	store_edition_problems(struct store *, int64_t id,
	    int (*cb)(const struct store_delivery *, void *), void *arg,
	    struct error *);

/* A claimed delivery, ready to compose and send (strings borrowed). */
struct store_claim {
	int64_t		 id;
	int64_t		 edition_id;
	int64_t		 theme_id;
	int64_t		 subscriber_id;
	int		 attempts;
	int64_t		 created;
	const char	*email;
	const char	*name;
};

/* Calls cb with each distinct owner of a lease on a row being sent. */
int	store_lease_owners(struct store *,
	    int (*cb)(const char *owner, void *), void *arg, struct error *);
/*
 * Puts the rows a dead process was carrying back in the queue (crash
 * recovery: they may have gone out, so they may go twice). *n_r counts them.
 */
int	store_requeue_owner(struct store *, const char *owner, int64_t *n_r,
	    struct error *);
/*
 * When the window since `since` will have room again: the time the
 * (offset+1)-th oldest message sent since then was sent, or 0.
 */
int	store_window_opens(struct store *, int64_t since, int64_t offset,
	    int64_t *t_r, struct error *);
/* Rows queued, sending or deferred (the work left), for one edition or all. */
int	store_work_left(struct store *, int64_t edition_id, int64_t *n_r,
	    struct error *);
/* What became of one claimed row (store_claim, store_outcomes). */
struct store_outcome {
	int64_t		 id;
	int		 status;	/* STORE_SENT, _DEFERRED, _FAILED */
	int		 code;		/* SMTP reply code */
	int		 policy;	/* 5.7.x */
	const char	*reply;
	int64_t		 next_try;	/* for deferred rows */
};
/*
 * Claims up to max rows for owner until now + lease seconds: queued rows,
 * deferred rows that are due, and rows whose lease expired or whose owner
 * is dead_owner (NULL: none). Rows whose subscriber left the theme or was
 * erased meanwhile are cancelled, never handed out. Each claimed row goes
 * to cb; *n_r counts them.
 */
struct store_limits {
	int64_t	per_hour;	/* 0: no limit */
	int64_t	per_day;	/* 0: no limit */
};
/*
 * ...with the hourly and daily windows checked in the same transaction,
 * counting sent rows and rows being sent by anyone: at most the room left
 * is claimed. When a window is full, nothing is claimed and *full_r is 1.
 *
 * done[0..ndone-1] (ndone may be 0) are the outcomes of the caller's
 * previous claim, recorded first in the same transaction, as
 * store_outcomes would (one commit per batch instead of two). They are
 * read before cb is first called. When cb or the claim fails, only the
 * claim is rolled back: the outcomes are committed (unless the commit
 * itself fails) and -1 is returned with the claim's error.
 */
int	store_claim(struct store *, const struct store_outcome *done,
	    size_t ndone, const char *owner, const char *dead_owner,
	    int64_t lease, int max, const struct store_limits *,
	    int (*cb)(const struct store_claim *, void *), void *arg,
	    int *n_r, int *full_r, struct error *);

/*
 * Records the outcomes of one connection's rows in one transaction, then
 * marks editions with nothing left to carry as done.
 */
int	store_outcomes(struct store *, const struct store_outcome *, size_t n,
	    struct error *);
/* Messages sent since t (the hourly and daily windows). */
int	store_sent_since(struct store *, int64_t t, int64_t *n_r,
	    struct error *);
/* The deferred rows: how many, and the earliest next try (0: none). */
int	store_deferred(struct store *, int64_t *n_r, int64_t *next_r,
	    struct error *);
/*
 * Reserves n consecutive send times interval_us apart on the shared pace,
 * for every process at once; *start_us_r is the first (microseconds since
 * the epoch, never before now_us).
 */
int	store_pace_reserve(struct store *, int n, int64_t interval_us,
	    int64_t now_us, int64_t *start_us_r, struct error *);

/* ---- suppression list (keyed hashes of addresses) ---- */

struct store_suppression {
	const char	*hash;
	const char	*email;		/* NULL when only the hash is kept */
	const char	*reason;
	int64_t		 created;
};

/* 1 when the suppression list has any entry, 0 when empty, -1 on error. */
int	store_suppress_any(struct store *, struct error *);
/* 1 when hash is suppressed, 0 when not, -1 on error. */
int	store_suppressed(struct store *, const char *hash, struct error *);
/* Adds (or keeps) a suppression; email may be NULL. 1 added, 0 existed. */
int	store_suppress_add(struct store *, const char *hash, const char *email,
	    const char *reason, struct error *);
/* Removes a suppression. 1 removed, 0 none, -1 error. */
int	store_suppress_rm(struct store *, const char *hash, struct error *);
int	store_suppress_foreach(struct store *,
	    int (*cb)(const struct store_suppression *, void *), void *arg,
	    struct error *);

/* ---- the inbox: messages read over IMAP, bounces, notices ---- */

/* 1 with the mailbox's UIDVALIDITY and highest UID handled, 0 none yet. */
int	store_mailbox_get(struct store *, const char *name,
	    int64_t *uidvalidity_r, int64_t *last_uid_r, struct error *);
int	store_mailbox_set(struct store *, const char *name, int64_t uidvalidity,
	    int64_t last_uid, struct error *);

/* One handled message. */
struct store_inbound {
	int64_t		 id;
	int64_t		 uidvalidity, uid;
	const char	*key;		/* Message-ID, or a hash of the text */
	int64_t		 at;
	const char	*kind;		/* classification word */
	const char	*action;	/* what was done, one line */
	const char	*filed;		/* processed, bounces or human */
	int64_t		 subscriber_id;	/* 0: nobody */
	int64_t		 theme_id;	/* 0: none */
	const char	*sender;	/* From address, or NULL */
	const char	*subject;	/* or NULL */
	const char	*slug;		/* in listings: theme_id's slug */
};

/*
 * Whether this message was handled before: by its UID under uidvalidity,
 * or by key under any UID. 1 with the first record's id and filed (a
 * copy the caller frees) and, when the UID is new, a record of this UID
 * pointing at the first (so it is found by UID next time); 0 when never
 * seen. key NULL: by the UID alone (before the message is read). Acts on
 * nobody.
 */
int	store_inbound_seen(struct store *, int64_t uidvalidity, int64_t uid,
	    const char *key, int64_t *id_r, char **filed_r, struct error *);
/* Records a handled message (in the caller's transaction). */
int	store_inbound_add(struct store *, const struct store_inbound *,
	    int64_t *id_r, struct error *);
/* Sets the outcome (action, filed, subscriber, theme) of a record. */
int	store_inbound_update(struct store *, int64_t id,
	    const struct store_inbound *, struct error *);
/* The last n handled messages, newest first (borrowed for each call). */
int	store_inbound_foreach(struct store *, int64_t n,
	    int (*cb)(const struct store_inbound *, void *), void *arg,
	    struct error *);

/* One failed recipient of a bounce. */
struct store_bounce {
	int64_t		 id;
	int64_t		 inbound_id;	/* 0: none */
	int64_t		 at;
	int64_t		 subscriber_id;	/* 0: an address never mailed */
	int64_t		 theme_id;	/* 0: not known */
	int64_t		 edition_id;	/* 0: not known */
	const char	*slug;		/* theme_id's, in listings */
	const char	*address;
	const char	*verdict;	/* hard, soft or policy */
	const char	*status;	/* enhanced status code, e.g. 5.1.1 */
	const char	*diagnostic;
	const char	*report;	/* the DSN as received (get only) */
	const char	*sub_status;	/* the subscription's status now */
};

int	store_bounce_add(struct store *, const struct store_bounce *,
	    int64_t *id_r, struct error *);
/* Bounces of a subscriber with verdict since a time. */
int	store_bounce_count(struct store *, int64_t subscriber_id,
	    const char *verdict, int64_t since, int64_t *n_r, struct error *);
/* Every bounce (of theme_id; 0: all), oldest first, without reports. */
int	store_bounce_foreach(struct store *, int64_t theme_id,
	    int (*cb)(const struct store_bounce *, void *), void *arg,
	    struct error *);
/* 1 and cb called once with the bounce and its report, 0 no such id. */
int	store_bounce_get(struct store *, int64_t id,
	    int (*cb)(const struct store_bounce *, void *), void *arg,
	    struct error *);
/*
 * Marks every active or pending subscription of a subscriber bounced,
 * each logged with source and detail; *n_r: how many changed.
 */
int	store_subscriber_bounced(struct store *, int64_t subscriber_id,
	    const char *source, const char *detail, int64_t *n_r,
	    struct error *);

/*
 * Queues a notice (template name, subject) for one subscriber of a theme:
 * a one-recipient edition delivered by the sender like any other, even
 * though the subscription is no longer active (an unsubscribe
 * confirmation). Runs in the caller's transaction.
 */
/* Notices queued or deferred, from this run or an earlier one. */
int	store_notices_waiting(struct store *, int64_t *n_r, struct error *);
int	store_notice_queue(struct store *, int64_t theme_id,
	    int64_t subscriber_id, const char *template_name,
	    const char *subject, int64_t *edition_id_r, struct error *);

/* ---- the daemon's bookkeeping ---- */

/*
 * Schedules a draft to be sent at the instant at (0: unschedules it);
 * EX_DATAERR when the edition is not a draft.
 */
int	store_edition_send_at(struct store *, int64_t id, int64_t at,
	    struct error *);
/* The earliest scheduled send of a draft (0: none). */
int	store_next_send_at(struct store *, int64_t *t_r, struct error *);
/* Up to max drafts whose send time has come, oldest first, in ids. */
int	store_editions_due(struct store *, int64_t now, int64_t *ids, int max,
	    int *n_r, struct error *);

/*
 * The state of the send queue at instant now, for `temabrev status`:
 * rows per status, the earliest retry of a deferred row (0: none),
 * messages sent in the last hour and day (the windows of [smtp]), and
 * the drafts scheduled with edition send --at (the earliest one's id and
 * time; 0: none). Every count reads an index, never the whole table.
 */
struct store_queue {
	int64_t	queued, sending, deferred, failed;
	int64_t	next_retry;
	int64_t	sent_hour, sent_day;
	int64_t	scheduled, next_send_id, next_send_at;
};
int	store_queue_counts(struct store *, int64_t now, struct store_queue *,
	    struct error *);

/*
 * A background job's last run ("feeds", "inbox", "send", ...), written by
 * whoever ran it (the daemon or the CLI) and read by `temabrev status`.
 */
struct store_job {
	const char	*name;
	int64_t		 last_start, last_end;	/* 0: never */
	const char	*last_error;		/* NULL: the last run was good */
	int64_t		 next_run;		/* 0: unknown */
};
int	store_job_start(struct store *, const char *name, int64_t now,
	    struct error *);
/* error NULL: a good run; next_run 0: unknown. */
int	store_job_end(struct store *, const char *name, int64_t now,
	    const char *error, int64_t next_run, struct error *);
int	store_job_foreach(struct store *, int (*cb)(const struct store_job *,
	    void *), void *arg, struct error *);

#endif
