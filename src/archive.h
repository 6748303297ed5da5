/*
 * archive: the public archive of sent editions, as static files. Per
 * theme, in OUT/SLUG/: index.html (the editions, newest first), one page
 * per sent edition (ID.html: its HTML part as sent, composed in archive
 * mode, so no name, address, token or unsubscribe link) and feed.xml, an
 * Atom feed of the editions (RFC 4287). OUT/index.html lists the themes.
 * Every file is written beside its final name and renamed into place, so
 * a web server never serves half a page. temabrev archive build and
 * temabrevd (after each sent edition, with [archive] dir) call this.
 */
#ifndef TB_ARCHIVE_H
#define TB_ARCHIVE_H

#include <stdint.h>

struct config;
struct error;
struct store;

struct archive_stats {
	int64_t	themes;		/* theme directories written */
	int64_t	editions;	/* edition pages written */
};

/*
 * Builds the archive of theme slug (NULL: every theme) under out
 * (created when missing). An edition counts as sent when it is done, or
 * still sending with at least one message delivered; notices never
 * appear. Errors: EX_DATAERR for an unknown slug, EX_CANTCREAT naming a
 * file that cannot be written, or the template's and the store's.
 */
int	archive_build(const struct config *, struct store *, const char *slug,
	    const char *out, struct archive_stats *, struct error *);

#endif
