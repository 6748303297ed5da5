/*
 * feed: RSS 0.9x and 2.0, RSS 1.0 (RDF) and Atom 1.0 feeds read into items.
 *
 * Formats: RSS 2.0 (https://www.rssboard.org/rss-specification) and its
 * 0.90-0.94 predecessors, RSS 1.0 (http://web.resource.org/rss/1.0/spec)
 * with the Dublin Core and content modules, Atom 1.0 (RFC 4287) with
 * xml:base (XML Base, RFC 3986 resolution), and enough Atom 0.3 to read old
 * feeds' titles, links and content. Media types and charsets per RFC 7303.
 *
 * The parser streams (libxml2's xmlTextReader): memory stays near one item
 * whatever the size of the feed, and each item is handed to a callback as
 * soon as it has been read. Item HTML is sanitized (html.h) and rendered as
 * plain text; dates are parsed (date.h).
 *
 * Safety: the network is never used, no DTD is loaded, and a document whose
 * DOCTYPE declares any entity is refused before anything in it is expanded
 * (billion laughs, quadratic blow-up, external entities reading local
 * files). An ill-formed feed (a bare &, a bad byte) is read strictly first;
 * on an error it is read again from the start in recovery mode, so the
 * callback can see the first items twice: store items by
 * feed_item_identity(), replacing what is there.
 *
 * The program calls xmlInitParser() once before using this module (and
 * before starting threads); the module never calls xmlCleanupParser().
 */
#ifndef TB_FEED_H
#define TB_FEED_H

#include <stddef.h>
#include <stdint.h>

struct buf;

struct error;

/*
 * A link: Atom <link>, RSS <link> (rel "alternate", type "text/html") and
 * <enclosure> (rel "enclosure"). Every URL the module hands out is safe
 * (http, https, mailto, ftp or tel; see html_safe_url()) and absolute
 * whenever a base is known (xml:base or the feed's URL); links without a
 * safe href are left out.
 */
struct feed_link {
	char		*rel;		/* "alternate" when the feed gives none */
	char		*href;
	char		*type;		/* media type, or NULL */
	char		*title;		/* or NULL */
	char		*hreflang;	/* or NULL */
	int64_t		 length;	/* bytes; 0 unknown */
};

/*
 * Where a text field came from: the type it had in the feed
 * ("text/plain", "text/html" or "application/xhtml+xml", whatever form
 * the field now has), the base URI its relative URLs were resolved against
 * (xml:base, else the item's link for RSS HTML, else the feed's URL; NULL
 * when there was none), the xml:lang in scope (NULL when none), and for
 * Atom content that is out of line (src=, RFC 4287 4.1.3.2) its URL. All
 * NULL when the feed has no such field.
 */
struct feed_text_src {
	const char	*type;		/* a static string, or NULL */
	char		*base;
	char		*lang;
	char		*src;		/* absolute; the field itself is NULL */
};

/*
 * One item (RSS <item>, Atom <entry>). Every pointer is borrowed: valid
 * only during the callback; copy what you keep. Absent fields are NULL, or
 * 0 for numbers. In recovery mode (see above) an item without id, link
 * and title is skipped as what is left of a broken document; a
 * well-formed feed's items are all passed on, even one with only a
 * description (RSS 2.0 allows it), for which feed_item_identity() is NULL.
 */
struct feed_item {
	const char	*id;		/* RSS guid, Atom id, RDF rdf:about */
	int		 id_is_permalink; /* RSS guid without isPermaLink="false" */
	const char	*title;		/* plain text, one line */
	const char	*link;		/* safe URL; Atom: rel=alternate; RSS: a
					   permalink guid when there is no <link> */
	const char	*author;	/* plain text: name, or e-mail address */
	int64_t		 published, updated; /* UTC seconds; 0 unknown */
	const char	*categories;	/* plain text joined with ", " */
	const char	*summary_html;	/* sanitized: description, Atom summary */
	const char	*content_html;	/* sanitized: content:encoded, Atom content */
	const char	*text;		/* content (else summary) as plain text,
					   wrapped at HTML_TEXT_WIDTH */
	const char	*enclosure_url, *enclosure_type; /* the first enclosure */
	int64_t		 enclosure_length; /* bytes; 0 unknown */
	const struct feed_link *links;	/* all of them, in document order */
	size_t		 nlinks;
	struct feed_text_src title_src, summary_src, content_src;
};

/*
 * What a parse learnt about the feed as a whole. Zero-initialise it before
 * the first call; each feed_parse_*() frees what an earlier call left and
 * fills it again; feed_info_clear() frees it at the end. The char *
 * members are owned by the struct; the const ones are static strings.
 */
struct feed_info {
	char		*title;		/* plain text */
	char		*link;		/* safe URL of the site (rel=alternate) */
	const char	*format;	/* "rss", "atom" or "rdf" */
	int		 recovered;	/* not well-formed: read in recovery mode */
	const char	*version;	/* feedparser's names: "rss20", "rss091u",
					   "rss10", "atom10", "atom03", ... */
	char		*encoding;	/* charset the bytes were read in, lower
					   case: "utf-8", "iso-8859-1", "utf-16le" */
	char		*id;		/* Atom feed id */
	char		*description;	/* sanitized HTML: RSS description, Atom
					   subtitle */
	int64_t		 published, updated; /* UTC seconds; 0 unknown */
	struct feed_link *links;	/* the feed's own, in document order */
	size_t		 nlinks;
	struct feed_text_src title_src, description_src; /* strings owned */
};

/*
 * Called for each item in document order. A non-zero return stops the
 * parse, and feed_parse_*() returns that value (use a positive one: -1
 * would look like the parser's own error, with err not set).
 */
typedef int (*feed_item_fn)(const struct feed_item *, void *arg);

/*
 * flags for feed_parse_*(): FEED_NO_TEXT leaves feed_item.text NULL, for a
 * caller that renders it elsewhere with feed_item_text() (the ingest does
 * it on its storing thread, so both threads carry half the work).
 */
#define FEED_NO_TEXT	0x01

/*
 * Parses the feed in the file at path. name (NULL: path) is used in error
 * messages ("NAME:LINE: reason"); base_url (may be NULL; ignored unless
 * http, https or ftp) is the URL the feed was fetched from, for relative
 * links (its Content-Location when the server sent a safe one). flags are
 * FEED_* above, or 0. Items go to cb with arg; info is filled as described
 * above.
 * Returns 0; cb's non-zero value; or -1 with err set: EX_NOINPUT or
 * EX_IOERR when the file cannot be read, EX_DATAERR when it is not a feed,
 * declares entities, or cannot be read even in recovery mode.
 */
int	feed_parse_file(const char *path, const char *name,
	    const char *base_url, unsigned flags, feed_item_fn cb, void *arg,
	    struct feed_info *info, struct error *err);

/* As feed_parse_file(), for len bytes at data. */
int	feed_parse_mem(const char *data, size_t len, const char *name,
	    const char *base_url, unsigned flags, feed_item_fn cb, void *arg,
	    struct feed_info *info, struct error *err);

/*
 * As feed_parse_mem(), for a body fetched over HTTP: content_type (the
 * Content-Type header, may be NULL) supplies the charset, which overrides
 * the XML declaration as RFC 7303 section 3 says; a byte order mark still
 * wins over both.
 */
int	feed_parse_http(const char *data, size_t len, const char *content_type,
	    const char *name, const char *base_url, unsigned flags,
	    feed_item_fn cb, void *arg, struct feed_info *info,
	    struct error *err);

/*
 * Appends to out what feed_item.text holds: the content, else the summary,
 * rendered by html_to_text() at HTML_TEXT_WIDTH. content_html and
 * summary_html are as the parser passed them (sanitized). Returns 0, or -1
 * when there is nothing to render or it cannot be read (out unchanged).
 */
int	feed_item_text(const char *content_html, const char *summary_html,
	    struct buf *out);

/* Frees what info owns and zeroes it. */
void	feed_info_clear(struct feed_info *info);

/*
 * The key an item is stored under, so a re-read feed updates rather than
 * duplicates: the id when present (verbatim: Atom ids compare as strings,
 * RFC 4287 section 4.2.6); else the link normalised (scheme and host in
 * lower case, no fragment); else "title:" and the title. Never a hash of
 * the content, which changes on every edit. Caller frees; NULL for an item
 * with none of the three (a description-only RSS item), which cannot be
 * updated in place: the caller decides whether to keep it.
 */
char	*feed_item_identity(const struct feed_item *item);

#endif
