/*
 * edition: the two steps every way of sending shares (the CLI's edition
 * send and digest, cron, temabrevd's schedule): making a theme's digest
 * and queueing an edition after checking that it can be sent. Nothing is
 * reserved or queued unless its templates, [smtp] settings and DKIM key
 * are good, so a broken configuration never strands items or rows.
 */
#ifndef TB_EDITION_H
#define TB_EDITION_H

#include <stdint.h>

struct config;
struct error;
struct secret;
struct store;
struct store_theme;

/*
 * Makes the digest of theme t: a draft of the items no edition of t
 * carries yet, titled "NAME – DATE" in the theme's language for the
 * instant now. *id_r is 0 and *nitems_r 0 when there are none.
 */
int	edition_digest(const struct config *, struct store *,
	    const struct store_theme *t, int64_t now, int64_t *id_r,
	    int64_t *nitems_r, struct error *);

/*
 * Checks what sending edition id needs (templates, [smtp], the DKIM key)
 * and queues it for every active subscriber of its theme; *n_r rows.
 */
int	edition_queue(const struct config *, struct store *,
	    const struct secret *, int64_t id, int64_t *n_r, struct error *);

#endif
