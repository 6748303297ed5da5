/*
 * inbound: what one message in the list's mailbox is, and who it is about.
 *
 * Given the raw bytes of a message (RFC 5322) and the installation's
 * tokens, says which one kind it is:
 *  - COMPLAINT: an abuse feedback report (RFC 5965);
 *  - BOUNCE / DELAYED: a delivery failure / a delay warning (RFC 3464 and
 *    the common non-DSN formats, bounce.h);
 *  - UNSUBSCRIBE: mail to unsubscribe+TOKEN@LIST_DOMAIN (RFC 2369
 *    List-Unsubscribe mailto), the token verified;
 *  - AUTOREPLY: RFC 3834 Auto-Submitted, X-Autoreply, Precedence, and
 *    out-of-office subjects: never acted on;
 *  - CONFIRM: mail to confirm+TOKEN@LIST_DOMAIN (the Reply-To of a
 *    double opt-in mail), the token verified (its age is the caller's
 *    to judge), and not an auto-reply or an unsubscribe command;
 *  - SUBSCRIBE: mail to SLUG+subscribe@LIST_DOMAIN for a known theme,
 *    not an auto-reply: starts double opt-in for the From address;
 *  - COMMAND: a reply to our mail whose subject or first unquoted line is
 *    an unsubscribe command alone ("avsluta", "unsubscribe all", ...);
 *  - FORGED: an unsubscribe or confirm address or a command whose token
 *    does not verify: acting on nobody;
 *  - HUMAN: everything else.
 * in that order of precedence (a DSN is a bounce even when marked
 * auto-replied; AUTOREPLY by header comes before CONFIRM and SUBSCRIBE,
 * so no vacation message confirms or asks for anything). Along with it come the ids of every token of ours found
 * in the message (addresses, In-Reply-To/References, the returned or
 * reported message's header) and which of them the kind acts on.
 *
 * Pure: no I/O, no database (theme slugs are resolved by the caller's
 * callback). Linear in the size of the message.
 */
#ifndef TB_INBOUND_H
#define TB_INBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "token.h"

struct bounce_complaint;
struct bounce_report;
struct error;

enum inbound_kind {
	INBOUND_HUMAN,
	INBOUND_COMMAND,
	INBOUND_UNSUBSCRIBE,
	INBOUND_FORGED,
	INBOUND_BOUNCE,
	INBOUND_DELAYED,
	INBOUND_COMPLAINT,
	INBOUND_AUTOREPLY,
	INBOUND_CONFIRM,
	INBOUND_SUBSCRIBE,
};

/* Where a token was found. */
enum inbound_where {
	INBOUND_NOWHERE,
	INBOUND_UNSUB_ADDR,	/* unsubscribe+TOKEN@ in To, Cc, Delivered-To,
				 * X-Original-To, Envelope-To */
	INBOUND_REPLY_ADDR,	/* SLUG+TOKEN@ in the same headers */
	INBOUND_VERP,		/* bounces+TOKEN@ in the same headers */
	INBOUND_MSGID_REF,	/* <TOKEN@LIST_DOMAIN> in In-Reply-To or
				 * References */
	INBOUND_ENCLOSED,	/* the returned or reported message's
				 * Message-ID, Return-Path or
				 * List-Unsubscribe */
	INBOUND_CONFIRM_ADDR,	/* confirm+TOKEN@ in the recipient headers */
	INBOUND_SUBSCRIBE_ADDR,	/* SLUG+subscribe@ in the same headers */
};

struct inbound_token {
	enum token_purpose	 purpose;
	enum inbound_where	 where;
	int			 valid;	/* 0: did not verify (forged, or
					 * another installation's) */
	struct token_ids	 ids;	/* zeros unless valid */
};

struct inbound_ctx {
	struct token	*tokens;	/* borrowed; not thread-safe */
	const char	*list_domain;	/* LIST_DOMAIN, any case */
	/* The theme id a slug names, or <= 0 for none (NULL: none). */
	int64_t		(*theme_by_slug)(const char *slug, void *arg);
	void		*arg;
	size_t		 max_size;	/* read at most this much (0: all) */
};

struct inbound {
	enum inbound_kind	 kind;
	char			*message_id;	/* without <>, or NULL */
	char			*from;		/* addr-spec, or NULL */
	char			*subject;	/* decoded, "" when none */
	char			*reason;	/* one line: why this kind */
	/* The ids the kind acts on (zeros: nobody), and where from. */
	struct token_ids	 ids;
	enum inbound_where	 where;
	enum token_purpose	 purpose;	/* of that token */
	int			 all_themes;	/* COMMAND "avsluta alla",
						 * UNSUBSCRIBE "... all",
						 * COMPLAINT */
	struct inbound_token	*tokens;	/* every token found */
	size_t			 ntokens;
	struct bounce_report	*bounce;	/* BOUNCE, DELAYED */
	struct bounce_complaint	*complaint;	/* COMPLAINT */
	int			 truncated;	/* longer than max_size */
	/* CONFIRM: the verified token as written (for subs_confirm); its
	 * ids are in ids (edition: the issue time). */
	char			*confirm_token;
	/* SUBSCRIBE: the theme SLUG+subscribe@ names (also in ids.theme);
	 * the request is for the From address. */
	int64_t			 subscribe_theme;
};

/*
 * Classifies raw (len bytes). Returns 0 and *in_r (caller frees with
 * inbound_free), or -1 with EX_SOFTWARE when ctx lacks tokens or a list
 * domain. Junk is never an error: it is HUMAN.
 */
int	 inbound_classify(const struct inbound_ctx *, const char *raw,
	    size_t len, struct inbound **in_r, struct error *);
void	 inbound_free(struct inbound *);

/* "human", "command", "unsubscribe", "forged", "bounce", "delayed",
 * "complaint", "autoreply", "confirm", "subscribe". */
const char *inbound_kind_name(enum inbound_kind);
/* "none", "unsubscribe-address", "reply-address", "verp", "msgid-ref",
 * "enclosed", "confirm-address", "subscribe-address". */
const char *inbound_where_name(enum inbound_where);

/*
 * 1 when text (one line, UTF-8) is an unsubscribe command alone:
 * unsubscribe, avsluta, avregistrera or avprenumerera, optionally with
 * "me"/"mig", any case, in quotes, with trailing punctuation; *all_r is
 * set to 1 for "all"/"alla" (every theme). Exposed for the tests.
 */
int	 inbound_is_command(const char *text, int *all_r);

#endif
