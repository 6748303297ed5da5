/*
 * fetch: gets a feed's bytes over HTTP(S) or from a file with libcurl
 * (RFC 9110 semantics, RFC 9111 conditional requests), spooled to an
 * unlinked temporary file within a size cap, so a second parsing pass needs
 * no second download and memory does not grow with the feed.
 *
 * Rules: http, https and file URLs; redirects (at most 5) only to http or
 * https; TLS verified (the system store, or ca_file); gzip and deflate
 * accepted; connect and total timeouts; an honest User-Agent. A chain of
 * permanent redirects (301, 308) reports the new URL so the caller can
 * store it; a temporary one in the chain does not.
 */
#ifndef TB_FETCH_H
#define TB_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct error;

/* Call once at start-up, before threads: libcurl's global state. */
int	fetch_init(struct error *);

struct fetch_request {
	const char	*url;
	const char	*etag;		/* from the last fetch, or NULL */
	const char	*last_modified;	/* from the last fetch, or NULL */
	const char	*ca_file;	/* NULL: the system store */
	size_t		 max_size;	/* bytes; 0: 10 MB */
	long		 connect_timeout_ms;	/* 0: 10 s */
	long		 timeout_ms;		/* 0: 60 s */
};

struct fetch_result {
	long		 status;	/* HTTP status; 200 for a file */
	int		 not_modified;	/* 304: nothing to parse */
	int		 gone;		/* 410 */
	char		*moved_to;	/* permanent redirect target, or NULL */
	char		*final_url;	/* where the body came from */
	char		*etag;		/* the new validators, or NULL */
	char		*last_modified;
	char		*content_type;
	char		*body_path;	/* spooled body (removed on clear) */
	size_t		 body_len;
};

/*
 * Fetches req->url into res (zeroed first; the caller clears it with
 * fetch_result_clear). Returns 0 when a response was received: a 2xx with
 * a body, a 304 (not_modified) or a 410 (gone); -1 with err otherwise
 * (EX_UNAVAILABLE or EX_TEMPFAIL for network and HTTP errors, EX_DATAERR
 * for a body over the cap or a redirect to a forbidden scheme), the
 * message naming the URL and the reason.
 */
int	fetch_url(const struct fetch_request *, struct fetch_result *,
	    struct error *);
void	fetch_result_clear(struct fetch_result *);

/*
 * Turns what a user typed (a URL, or a plain path) into a URL: a plain
 * path becomes an absolute file:// URL. Returns NULL with err for an
 * unsupported scheme or a missing file. Caller frees.
 */
char	*fetch_normalize_url(const char *input, struct error *);

#endif
