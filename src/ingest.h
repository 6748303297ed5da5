/*
 * ingest: one feed, fetched (fetch), parsed (feed) and stored (store), with
 * the outcome recorded on the feed. The CLI's "feed fetch" and the
 * daemon's poller run this same code.
 */
#ifndef TB_INGEST_H
#define TB_INGEST_H

#include <stdint.h>

struct config;
struct error;
struct store;
struct store_feed;

struct ingest_report {
	long	 status;	/* HTTP status, 200 for a file, 0: none */
	int64_t	 nnew, nupdated, nseen;
	int	 not_modified;	/* 304 */
	int	 gone;		/* 410: the feed was deactivated */
	int	 recovered;	/* ill-formed: read in recovery mode */
	int	 moved;		/* a permanent redirect: URL updated */
	char	 url[1024];	/* the URL fetched (the new one if moved) */
	char	 error[512];	/* non-empty: the fetch or parse failed */
};

/*
 * Fetches, parses and stores one feed, and records the outcome on it. A
 * feed that fails (network, HTTP, malformed beyond recovery) is reported
 * in report->error with its URL and reason, its earlier items untouched,
 * and the call still returns 0; -1 only when the database fails.
 */
int	ingest_feed(struct store *, const struct config *,
	    const struct store_feed *, struct ingest_report *, struct error *);

#endif
