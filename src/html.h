/*
 * html: feed HTML made safe for e-mail, and its plain-text rendering.
 *
 * Feed items carry HTML written by others. html_sanitize() reduces it to an
 * allow-list of tags and attributes (no script, style, frames, objects,
 * forms or event handlers; links and images only with http, https, mailto,
 * ftp or tel URLs, made absolute), and html_to_text() renders it for the
 * text/plain part of a message. The HTML is read as libxml2's HTML parser
 * reads it (HTML 4 rules), so broken markup is repaired the way browsers
 * mostly do before the allow-list sees it; most fragments by a faster
 * reader of the module's own that builds the same tree (see html.c; with
 * TEMABREV_HTML_CROSSCHECK set, each is checked against libxml2's reading,
 * and a difference aborts the program).
 *
 * All text in and out is UTF-8; invalid input bytes become U+FFFD, and the
 * C1 controls U+0080-U+009F, which in feeds are windows-1252 bytes
 * mislabelled as ISO-8859-1, become the windows-1252 characters (’ “ ” –
 * and so on), as WHATWG's decoders do. Text that was UTF-8 decoded as
 * windows-1252 and encoded again ("Ã¥" for "å", "â€™" for "’") is
 * decoded once more. Functions append to out; they never print.
 */
#ifndef TB_HTML_H
#define TB_HTML_H

#include <stddef.h>

struct buf;

/* Plain-text width html_to_text() is meant for (RFC 3676 suggests 72). */
#define HTML_TEXT_WIDTH 72

/*
 * Appends to out a sanitized copy of the HTML fragment (len bytes, UTF-8,
 * need not be NUL-terminated): allowed tags kept with allowed attributes,
 * unknown tags replaced by their content, dangerous tags and comments
 * dropped with their content. Relative URLs are resolved against base_url
 * when it is an absolute http(s) URL (NULL: left relative). Returns 0, or
 * -1 when libxml2 could not build a document (out is then unchanged).
 */
int	html_sanitize(const char *fragment, size_t len, const char *base_url,
	    struct buf *out);

/*
 * Appends to out a plain-text rendering of html (len bytes, UTF-8):
 * paragraphs separated by blank lines, <br> as line breaks, list items
 * bulleted "- " or numbered "1. ", block quotes prefixed "> ", links as
 * numbered references "text[1]" with a "[1] URL" list at the end, entities
 * decoded, lines wrapped at width characters (not bytes; width < 20 means
 * HTML_TEXT_WIDTH). A word longer than a line is broken between characters
 * unless it is a URL; preformatted text is not wrapped. The result ends in
 * one newline, or is empty when the HTML has no text. Returns 0 or -1 as
 * html_sanitize() does.
 */
int	html_to_text(const char *html, size_t len, int width, struct buf *out);

/*
 * Appends to out the text of html on one line: tags removed (an image
 * replaced by its alt text), entities decoded, white space collapsed and
 * trimmed (for titles and names).
 * Returns 0 or -1 as html_sanitize() does.
 */
int	html_to_line(const char *html, size_t len, struct buf *out);

/*
 * Appends text (len bytes) to out escaped for HTML element content or a
 * double-quoted attribute: & < > " as entities, after the clean-up
 * html_fix_text() does.
 */
void	html_escape(const char *text, size_t len, struct buf *out);

/*
 * Appends text (len bytes) to out as clean UTF-8: invalid sequences become
 * U+FFFD, C1 controls their windows-1252 characters, doubly encoded UTF-8
 * is repaired, and other control characters except tab, LF and CR are
 * dropped.
 */
void	html_fix_text(const char *text, size_t len, struct buf *out);

/*
 * Returns url (leading and trailing white space, tabs, newlines and other
 * control characters removed as browsers do, inner spaces as %20) made
 * absolute against base (may be NULL), or NULL when the result
 * would not be an http, https, mailto, ftp or tel URL: javascript:, data:,
 * vbscript: and every other scheme are refused, also when written in mixed
 * case or split by tabs and newlines. A relative url without a usable base
 * is returned relative. International characters are kept as UTF-8
 * (IRIs). The caller frees the result.
 */
char	*html_safe_url(const char *url, const char *base);

#endif
