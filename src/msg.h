/*
 * msg: one inbound message (RFC 5322, MIME RFC 2045-2049) parsed with
 * libetpan, for reading: its top-level header fields decoded to one line
 * of UTF-8 (RFC 2047 encoded words, raw 8-bit UTF-8 or windows-1252), the
 * tree of body parts flattened in document order, and the decoded text of
 * a part (quoted-printable, base64; any charset iconv knows) as UTF-8.
 *
 * Every string handed out is valid UTF-8 (invalid bytes become U+FFFD);
 * header values hold no CR, LF or other control character. Junk never
 * fails the parse: a message with no header, binary bytes, a truncated
 * multipart or a leading mbox "From " line all give a struct msg with
 * what could be read. Time and memory are linear in the size of the
 * message; multipart nesting deeper than MSG_MAX_DEPTH (which would
 * exhaust libetpan's recursive parser) makes the body one opaque part.
 *
 * Only this module, bounce and inbound read inbound mail; only this module
 * calls libetpan's MIME parser.
 */
#ifndef TB_MSG_H
#define TB_MSG_H

#include <stddef.h>

struct buf;
struct msg;

/* Deeper nesting (or more Content-Type lines than this) is not parsed. */
#define MSG_MAX_DEPTH	1000

/* One body part, in document order; containers come before their parts. */
struct msg_part {
	const char	*type;		/* "text/plain", lower case, never NULL */
	const char	*charset;	/* lower case, NULL when not given */
	const char	*report_type;	/* multipart/report's parameter or NULL */
	int		 depth;		/* 0 for the message's body */
	int		 enclosed;	/* inside a message/rfc822 part */
	int		 attachment;	/* Content-Disposition: attachment */
	int		 encoding;	/* libetpan's MAILMIME_MECHANISM_* */
	const char	*body;		/* encoded body, borrowed from raw
					   or from the msg's own copy */
	size_t		 bodylen;
};

/*
 * Parses raw (len bytes, CRLF or LF, need not be NUL-terminated, must stay
 * alive and unchanged while the struct msg is used: parts point into it).
 * Never fails: what cannot be read as headers or parts is body text.
 * Caller frees with msg_free (NULL is a no-op).
 */
struct msg *msg_parse(const char *raw, size_t len);
void	 msg_free(struct msg *);

/*
 * The n-th (from 0) top-level header field called name (any case):
 * decoded (RFC 2047), unfolded and trimmed. NULL when there is none.
 * Borrowed until msg_free. A field is decoded on the first call for it
 * (cached in the msg: one struct msg is one thread's).
 */
const char *msg_header(const struct msg *, const char *name, size_t n);

/* The same field as it was written, unfolded, not decoded (for addresses,
 * message ids and tokens); UTF-8-safe and without control characters. */
const char *msg_header_raw(const struct msg *, const char *name, size_t n);

/* The number of top-level header fields (0: the message had none). */
size_t	 msg_nheaders(const struct msg *);

/* All body parts; index 0 is the body itself. Borrowed until msg_free. */
size_t	 msg_nparts(const struct msg *);
const struct msg_part *msg_part(const struct msg *, size_t i);

/*
 * Appends to out the decoded text of part as UTF-8, at most max bytes of
 * its encoded body read (0: all of it), NUL bytes and invalid sequences
 * replaced. Bodies in an unknown charset are read as UTF-8 when valid,
 * else as windows-1252.
 */
void	 msg_part_text(const struct msg_part *, size_t max, struct buf *out);

/*
 * Appends to out the text a person wrote: the first text/plain part that
 * is not an attachment or inside an enclosed message, else the first such
 * text/html part rendered as text (block quotes prefixed "> "). Reads at
 * most max bytes of the part (0: all). Returns 1 when a part was found,
 * else 0.
 */
int	 msg_main_text(const struct msg *, size_t max, struct buf *out);

/*
 * Appends to out the text of raw (len bytes) in charset (NULL: unknown),
 * converted to UTF-8 as msg_part_text does.
 */
void	 msg_to_utf8(const char *charset, const char *raw, size_t len,
	    struct buf *out);

/*
 * The addr-specs of an address-list header value (raw, as
 * msg_header_raw returns it) as a NULL-terminated array, domains in
 * lower case, groups flattened; junk that libetpan cannot parse is
 * searched for anything shaped local@domain. Caller frees with
 * msg_addrs_free. Never NULL.
 */
char	**msg_addrs(const char *value);
void	 msg_addrs_free(char **);

/*
 * The message ids (without angle brackets) in a Message-ID, In-Reply-To
 * or References value, as msg_addrs returns addresses.
 */
char	**msg_ids(const char *value);
void	 msg_ids_free(char **);

/* 1 when s (len bytes) is an addr-spec we would act on: a dot-atom or
 * quoted local part of at most 64 octets, a domain with a dot. */
int	 msg_valid_addr(const char *s, size_t len);

#endif
