/*
 * compose: one edition, personalised for one subscriber, as a complete
 * RFC 5322 message: its items and intro rendered through the theme's
 * template set (NAME.LANG.html and NAME.LANG.txt, Mustache) into a
 * multipart/alternative message (mime), with temabrev's own addresses and
 * tokens (token): VERP bounces+TOKEN@, Reply-To SLUG+TOKEN@, List-Id (RFC
 * 2919), List-Unsubscribe (RFC 2369) and List-Unsubscribe-Post (RFC 8058),
 * and a Message-ID from which the edition and subscriber can be recovered.
 *
 * A struct compose is built once per edition (templates compiled, the
 * edition's data laid out) and then makes any number of messages; it is
 * not thread-safe: each sending thread builds its own.
 */
#ifndef TB_COMPOSE_H
#define TB_COMPOSE_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct config;
struct error;
struct secret;
struct store;
struct compose;
struct tb_dkim_key;

/*
 * Prepares edition_id for composing. Needs [general] from and list_domain;
 * a missing or broken template is an error naming the file and line
 * (EX_CONFIG or EX_DATAERR), before anything is queued. Loads [dkim]
 * (tb_dkim_load) too: a bad key file, or a From domain no key covers, is an
 * EX_CONFIG error here; with [dkim] configured every message is signed.
 */
int	compose_new(const struct config *, struct store *,
	    const struct secret *, int64_t edition_id, struct compose **r,
	    struct error *);
void	compose_free(struct compose *);

/* Checks a template set for a language without an edition: for -n. */
int	compose_check_templates(const struct config *, const char *name,
	    const char *lang, struct error *);

struct compose_rcpt {
	int64_t		 subscriber_id;
	const char	*email;		/* as stored (Unicode domain) */
	const char	*name;		/* may be "" */
};

/*
 * Appends the message for one subscriber to out (signed, with its
 * DKIM-Signature first, when [dkim] is configured) and writes its envelope
 * sender (the VERP address) and recipient (ASCII form) into the buffers
 * (ADDR_MAX + 1 bytes each). The same subscriber always gets the same
 * Message-ID for an edition, so a resent copy keeps it. The message is
 * wire-ready (CRLF lines of at most 998 octets, 7-bit, no NUL: mime.h, and
 * the signature header is checked in tb_dkim_sign), so senders mark it
 * composed for tb_smtp_deliver.
 */
int	compose_message(struct compose *, const struct compose_rcpt *,
	    struct buf *out, char *envelope_from, char *rcpt_ascii,
	    struct error *);

/* "23 november 2026" (sv) or "23 November 2026" (en), local time. */
void	compose_local_date(int64_t t, const char *lang, char *out, size_t len);

/* The edition's subject and theme slug, for progress lines. */
const char *compose_subject(const struct compose *);

/* The DKIM key that signs the messages (borrowed), or NULL: unsigned. */
const struct tb_dkim_key *compose_dkim_key(const struct compose *);
/* The domain of the edition's From, ASCII (what DMARC aligns with). */
const char *compose_from_domain(const struct compose *);

#endif
