/*
 * token: the unguessable tokens in temabrev's links and addresses
 * (unsubscribe and confirm links, unsubscribe+TOKEN@, SLUG+TOKEN@ for
 * replies, bounces+TOKEN@ for VERP, <TOKEN@LIST_DOMAIN> Message-IDs).
 *
 * A token is a payload of ids followed by an HMAC-SHA256 (RFC 2104) of
 * the purpose and the ids, truncated to TOKEN_MAC_BITS or more, written in
 * lower-case RFC 4648 base32 (section 6) without padding. Every purpose
 * has its own key (secret.h: HKDF per purpose), so a token made for one
 * purpose, or by another installation, never parses for another.
 *
 * Payload layout: the ids a purpose carries, in the order subscriber,
 * theme, edition; every id but the last is an unsigned LEB128 varint, the
 * last is big-endian in the fewest bytes (its length is what the MAC
 * leaves), so a REPLY token for any id below 2^32 is 14 bytes = 23 base32
 * characters and fits SLUG+TOKEN in a 64-octet local part (RFC 5321
 * 4.5.3.1.1) with a 40-character slug. Tokens are deterministic: the same
 * ids give the same token (a resent copy keeps its Message-ID).
 */
#ifndef TB_TOKEN_H
#define TB_TOKEN_H

#include <stddef.h>
#include <stdint.h>

struct secret;
struct token;

enum token_purpose {
	TOKEN_UNSUBSCRIBE,	/* link and unsubscribe+TOKEN@: sub, theme */
	TOKEN_CONFIRM,		/* double opt-in link and confirm+TOKEN@:
				   sub, theme, and the issue time in the
				   edition slot (token_confirm_make) */
	TOKEN_REPLY,		/* Reply-To SLUG+TOKEN@: sub (MAC: sub, theme) */
	TOKEN_BOUNCE,		/* VERP bounces+TOKEN@: sub, theme, edition */
	TOKEN_MSGID,		/* Message-ID <TOKEN@..>: sub, theme, edition */
	TOKEN_NPURPOSES
};

/* Ids are >= 0; 0 means "none" (e.g. a bounce of a mail with no edition). */
struct token_ids {
	int64_t	subscriber;
	int64_t	theme;
	int64_t	edition;
};

#define TOKEN_MAC_BITS	80	/* the least any purpose carries */
/* Longest token (three ids of 2^63-1) plus its NUL: size of out buffers. */
#define TOKEN_BUF	64
/* Longest REPLY token for a subscriber id below 2^32. */
#define TOKEN_REPLY_MAX	23

/*
 * Derives the keys of every purpose from the installation secret (which
 * the caller keeps; it may be freed after this call). Not thread-safe: a
 * struct token holds reusable MAC contexts, so use one per thread.
 * Caller frees with token_free (NULL is a no-op).
 */
struct token	*token_new(const struct secret *);
void		 token_free(struct token *);

/*
 * Writes the token for ids and purpose into out (outlen >= TOKEN_BUF is
 * always enough), NUL-terminated. Returns its length, or -1 when an id is
 * negative or out is too small (a programming error: nothing is written
 * but an empty string when outlen > 0).
 */
int	token_make(struct token *, enum token_purpose,
	    const struct token_ids *, char *out, size_t outlen);

/*
 * Checks text (upper or lower case base32) as a token of purpose. On
 * success returns 0 and fills ids_r; the ids a purpose does not carry are
 * 0. For TOKEN_REPLY, ids_r->theme is an input: the caller sets it to the
 * theme the address's slug names before the call, and the token is
 * valid only for that theme. Returns -1 for anything else (wrong length,
 * bad base32, non-canonical payload, wrong MAC: another purpose, another
 * installation, a forgery), leaving ids_r's other fields unspecified.
 * The MAC is compared in constant time.
 */
int	token_parse(struct token *, enum token_purpose, const char *text,
	    struct token_ids *ids_r);

/* What a confirmation token says. */
struct token_confirm {
	int64_t	subscriber;
	int64_t	theme;
	int64_t	issued;		/* seconds since the epoch */
};

/*
 * The double opt-in token (link BASE_URL/c/TOKEN, address
 * confirm+TOKEN@LIST_DOMAIN) for subscriber's pending subscription to
 * theme, issued at issued: a CONFIRM token, its own key and tag (kind
 * confirm), its MAC over the three. Returns token_make's length or -1.
 */
int	token_confirm_make(struct token *, int64_t subscriber, int64_t theme,
	    int64_t issued, char *out, size_t outlen);
/*
 * Checks text as a confirmation token: 0 with c_r filled, -1 for
 * anything forged, damaged or of another purpose. The age is the
 * caller's to judge (subs_confirm: [subscribe] pending_days).
 */
int	token_confirm_parse(struct token *, const char *text,
	    struct token_confirm *c_r);

#endif
