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

struct error;
struct secret;
struct store;
struct subs;

/*
 * A context over an open store and the installation secret (both
 * borrowed; they must outlive it). Caller frees with subs_free.
 */
struct subs *subs_new(struct store *, struct secret *);
void	subs_free(struct subs *);

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

#endif
