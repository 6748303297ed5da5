/*
 * mime: the only module that writes mail headers. It builds complete
 * messages (RFC 5322 header fields and folding, RFC 2045 MIME-Version,
 * Content-Type and quoted-printable, RFC 2046 multipart/alternative,
 * RFC 2047 encoded-words for UTF-8 in unstructured text and phrases)
 * with CRLF line ends, every octet 7-bit and no line over 998 octets.
 * Header lines are folded at 78 columns wherever there is white space or
 * an encoded-word to fold at.
 *
 * Nothing a subscriber, a feed or a communicator supplies can add a
 * header or break the MIME structure: header names must be RFC 5322
 * ftext, and every value with CR, LF, NUL or another control character
 * (TAB excepted; C1 controls and U+2028/U+2029 included) is refused, not
 * cleaned, with EX_DATAERR and a message naming the header. The multipart
 * boundary contains "=_", which quoted-printable output never does, so no
 * content can end a part.
 *
 * Usage, one message after another with the same struct:
 *	mime_reset(m);
 *	mime_add_addr_header(m, "From", "Temabrev", "news@example.org", err);
 *	mime_add_text_header(m, "Subject", subject, err); ...
 *	mime_set_alternative(m, text, tlen, html, hlen, err);
 *	mime_finish(m, &out, err);
 * A struct mime keeps its buffers between messages, so building a message
 * allocates nothing once they have grown. Not thread-safe: one per thread.
 */
#ifndef TB_MIME_H
#define TB_MIME_H

#include <stddef.h>
#include <time.h>

struct buf;
struct error;
struct mime;

#define MIME_DATE_LEN	40	/* room for mime_date's output */

/* Caller frees with mime_free (NULL is a no-op). */
struct mime	*mime_new(void);
void		 mime_free(struct mime *);

/* Forgets the headers and body so far; keeps the buffers for reuse. */
void	mime_reset(struct mime *);

/*
 * Header names: 1-76 octets of RFC 5322 ftext (printable ASCII but ':').
 * MIME-Version, Content-Type and Content-Transfer-Encoding are written by
 * mime_finish and refused here; RFC 5322 3.6's once-only fields (Date,
 * From, Sender, Reply-To, To, Cc, Bcc, Message-ID, In-Reply-To,
 * References, Subject) are refused a second time (EX_SOFTWARE). Every
 * mime_add_* either adds the whole header or, returning -1, nothing.
 */

/*
 * Adds an unstructured header (Subject, X-...) from UTF-8 text. Words
 * with non-ASCII octets, words that look like encoded-words ("=?") and
 * words too long to fold become RFC 2047 encoded-words (charset UTF-8,
 * Q or B, whichever is shorter), each at most 75 characters and never
 * splitting a UTF-8 sequence; adjacent such words share encoded-words, so
 * the text decodes exactly as given. Invalid UTF-8 and control
 * characters are refused (EX_DATAERR).
 */
int	mime_add_text_header(struct mime *, const char *name,
	    const char *utf8_value, struct error *);

/*
 * Adds a one-mailbox address header (From, To, Reply-To, Sender):
 * display name (UTF-8, NULL or "" for none) as atoms, a quoted-string or
 * encoded-words, then <addr>. addr must be the ASCII (A-label) form:
 * local@domain in RFC 5322 atext, dots and hyphens, at most 254 octets;
 * anything else (non-ASCII, white space, <>, comma, quotes, controls) is
 * refused with EX_DATAERR.
 */
int	mime_add_addr_header(struct mime *, const char *name,
	    const char *display_name_utf8, const char *addr_ascii,
	    struct error *);

/*
 * Adds a structured header written as given (Message-ID, List-Id,
 * List-Unsubscribe, List-Unsubscribe-Post, Date, In-Reply-To, ...),
 * folded only at its own white space. The value must be non-empty
 * printable ASCII (SP and TAB allowed); no fold may leave a line over 998
 * octets. Anything else is refused with EX_DATAERR.
 */
int	mime_add_raw_header(struct mime *, const char *name,
	    const char *ascii_value, struct error *);

/*
 * Formats t as an RFC 5322 date-time in UTC ("Tue, 02 Jan 2024 15:04:05
 * +0000"), English names whatever the locale. A time gmtime cannot
 * represent, or outside years 1900-9999, gives the Unix epoch.
 */
void	mime_date(time_t t, char out[MIME_DATE_LEN]);

/*
 * Sets the body to multipart/alternative: text/plain then text/html, both
 * charset=UTF-8 and quoted-printable (lines of at most 76 characters;
 * '=', controls, non-ASCII, white space before a line end, a '.' or
 * "From " starting a line are encoded). LF and CRLF in the input are line
 * ends; a bare CR is kept as =0D. Either part may be empty. Input must be
 * valid UTF-8 (EX_DATAERR otherwise). Replaces any body set before.
 */
int	mime_set_alternative(struct mime *, const char *text, size_t textlen,
	    const char *html, size_t htmllen, struct error *);

/* Sets the body to one text/plain part, encoded as above. */
int	mime_set_text(struct mime *, const char *text, size_t len,
	    struct error *);

/*
 * Appends the message to out: the headers in the order added,
 * MIME-Version: 1.0, the Content-Type (and Content-Transfer-Encoding) of
 * the body, an empty line and the body. Fails with EX_SOFTWARE when no
 * body was set or From or Date is missing (RFC 5322 3.6); out is then
 * unchanged. The struct keeps its message until mime_reset.
 */
int	mime_finish(struct mime *, struct buf *out, struct error *);

#endif
