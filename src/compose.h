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

/*
 * Compiles the template NAME.LANG.EXT ("html": HTML-escaped, else text)
 * from [general] templates, partials from the same directory: the one
 * lookup every template of temabrev goes through (editions, notices and
 * the web side's pages). Caller frees *t_r with template_free.
 */
struct template;
int	compose_template(const struct config *, const char *name,
	    const char *lang, const char *ext, struct template **t_r,
	    struct error *);

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

/*
 * The edition's HTML part as an archive page: rendered without a
 * subscriber layer and with archive set (templates keep names, addresses
 * and unsubscribe links inside an inverted archive section), dated when
 * the edition went out. Appends to out; nothing is signed or tokened.
 */
int	compose_archive_html(const struct config *, struct store *,
	    int64_t edition_id, struct buf *out, struct error *);

/* A double opt-in mail (subs_request). All borrowed. */
struct compose_confirm {
	int64_t		 subscriber_id;
	int64_t		 theme_id;
	const char	*email;		/* the address to confirm */
	const char	*token;		/* token_confirm_make's */
	int64_t		 issued;	/* the token's issue time */
	int64_t		 pending_days;	/* how long the token is good */
	int		 answers_mail;	/* asked for by mail: auto-replied */
};

/*
 * Composes the confirmation mail from the theme's confirm-subscribe
 * templates (its language): a link BASE_URL/c/TOKEN when base_url is
 * set, Reply-To confirm+TOKEN@LIST_DOMAIN, To the bare address (never a
 * name someone typed), Auto-Submitted, a VERP envelope sender like an
 * edition's, DKIM-signed when [dkim] is configured. Appends the message
 * to out and fills the envelope buffers (ADDR_MAX + 1 bytes each).
 */
int	compose_confirm(const struct config *, struct store *,
	    const struct secret *, const struct compose_confirm *,
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
