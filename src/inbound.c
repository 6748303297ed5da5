/*
 * inbound: one message of the list's mailbox classified (see inbound.h),
 * from msg's parse, bounce's reading of reports and token's checks.
 *
 * RFC 3834 (Auto-Submitted), RFC 2369 (List-Unsubscribe), RFC 5965 (ARF)
 * and RFC 3464 (DSN, through bounce) decide the kinds; the rest is the
 * conventions of mail clients: reply prefixes in several languages,
 * quoting with "> ", attribution lines ("On ... wrote:", "Den ... skrev:"),
 * Outlook's "-----Original Message-----" and "From:/Sent:" blocks, and
 * "-- " signatures.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "bounce.h"
#include "inbound.h"
#include "msg.h"
#include "token.h"
#include "util.h"

/* Bytes of the body read for the first unquoted line. */
#define BODY_MAX	(256 * 1024)

static void
lower_ascii(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* ---- tokens ---- */

static void
token_add(struct inbound *in, enum token_purpose purpose,
    enum inbound_where where, int valid, const struct token_ids *ids)
{
	struct inbound_token *t;

	for (size_t i = 0; i < in->ntokens; i++) {
		t = &in->tokens[i];
		if (t->purpose == purpose && t->where == where &&
		    t->valid == valid && (!valid || (t->ids.subscriber ==
		    ids->subscriber && t->ids.theme == ids->theme &&
		    t->ids.edition == ids->edition)))
			return;
	}
	in->tokens = xrealloc(in->tokens, (in->ntokens + 1) *
	    sizeof *in->tokens);
	t = &in->tokens[in->ntokens++];
	t->purpose = purpose;
	t->where = where;
	t->valid = valid;
	memset(&t->ids, 0, sizeof t->ids);
	if (valid)
		t->ids = *ids;
}

/* The local part of addr when its domain is the list's, else NULL. */
static char *
our_local(const struct inbound_ctx *ctx, const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (at == NULL || strcasecmp(at + 1, ctx->list_domain) != 0)
		return NULL;
	return xstrndup(addr, (size_t)(at - addr));
}

/*
 * The double opt-in addresses: confirm+TOKEN and SLUG+subscribe (slug
 * lower-cased already). 1 when local+detail was one of them. Only a
 * recipient counts: the same address in a returned message's header
 * says nothing about this message.
 */
static int
check_optin_addr(const struct inbound_ctx *ctx, struct inbound *in,
    const char *local, const char *detail)
{
	struct token_confirm c;
	struct token_ids ids = { 0, 0, 0 };
	int64_t theme;
	int valid;

	if (strcmp(local, "confirm") == 0) {
		valid = token_confirm_parse(ctx->tokens, detail, &c) == 0;
		if (valid) {
			ids.subscriber = c.subscriber;
			ids.theme = c.theme;
			ids.edition = c.issued;
			if (in->confirm_token == NULL) {
				in->confirm_token = xstrdup(detail);
				lower_ascii(in->confirm_token);
			}
		}
		token_add(in, TOKEN_CONFIRM, INBOUND_CONFIRM_ADDR, valid, &ids);
		return 1;
	}
	if (strcasecmp(detail, "subscribe") != 0 || ctx->theme_by_slug == NULL)
		return 0;
	theme = ctx->theme_by_slug(local, ctx->arg);
	if (theme <= 0)
		return 0;
	if (in->subscribe_theme == 0)
		in->subscribe_theme = theme;
	return 1;
}

/*
 * Checks one address of ours: unsubscribe+TOKEN, bounces+TOKEN or
 * SLUG+TOKEN. enclosed says it came from a returned message's header.
 */
static void
check_addr(const struct inbound_ctx *ctx, struct inbound *in,
    const char *addr, int enclosed)
{
	char *local = our_local(ctx, addr), *plus;
	struct token_ids ids = { 0, 0, 0 };
	enum token_purpose purpose;
	enum inbound_where where;
	int valid;

	if (local == NULL)
		return;
	plus = strchr(local, '+');
	if (plus == NULL || plus[1] == '\0' || strlen(plus + 1) >= TOKEN_BUF) {
		free(local);
		return;
	}
	*plus = '\0';
	lower_ascii(local);
	if (!enclosed && check_optin_addr(ctx, in, local, plus + 1)) {
		free(local);
		return;
	}
	if (strcmp(local, "unsubscribe") == 0) {
		purpose = TOKEN_UNSUBSCRIBE;
		where = INBOUND_UNSUB_ADDR;
	} else if (strcmp(local, "bounces") == 0) {
		purpose = TOKEN_BOUNCE;
		where = INBOUND_VERP;
	} else {
		purpose = TOKEN_REPLY;
		where = INBOUND_REPLY_ADDR;
		ids.theme = ctx->theme_by_slug != NULL ?
		    ctx->theme_by_slug(local, ctx->arg) : 0;
	}
	if (purpose == TOKEN_REPLY && ids.theme <= 0)
		valid = 0;
	else
		valid = token_parse(ctx->tokens, purpose, plus + 1, &ids) == 0;
	token_add(in, purpose, enclosed ? INBOUND_ENCLOSED : where, valid,
	    &ids);
	free(local);
}

static void
check_addr_header(const struct inbound_ctx *ctx, struct inbound *in,
    const struct msg *m, const char *name, int enclosed)
{
	for (size_t k = 0;; k++) {
		const char *v = msg_header_raw(m, name, k);
		char **a;

		if (v == NULL)
			break;
		a = msg_addrs(v);
		for (size_t i = 0; a[i] != NULL; i++)
			check_addr(ctx, in, a[i], enclosed);
		msg_addrs_free(a);
	}
}

/* Message ids <TOKEN@LIST_DOMAIN>. */
static void
check_ids(const struct inbound_ctx *ctx, struct inbound *in,
    const struct msg *m, const char *name, enum inbound_where where)
{
	for (size_t k = 0;; k++) {
		const char *v = msg_header_raw(m, name, k);
		char **ids;

		if (v == NULL)
			break;
		ids = msg_ids(v);
		for (size_t i = 0; ids[i] != NULL; i++) {
			char *local = our_local(ctx, ids[i]);
			struct token_ids t = { 0, 0, 0 };

			if (local == NULL)
				continue;
			if (strlen(local) < TOKEN_BUF) {
				int ok = token_parse(ctx->tokens, TOKEN_MSGID,
				    local, &t) == 0;

				token_add(in, TOKEN_MSGID, where, ok, &t);
			}
			free(local);
		}
		msg_ids_free(ids);
	}
}

/* List-Unsubscribe: <mailto:unsubscribe+TOKEN@DOMAIN?subject=...>. */
static void
check_list_unsubscribe(const struct inbound_ctx *ctx, struct inbound *in,
    const struct msg *m)
{
	for (size_t k = 0;; k++) {
		const char *v = msg_header_raw(m, "List-Unsubscribe", k);

		if (v == NULL)
			break;
		for (const char *p = strstr(v, "mailto:"); p != NULL;
		    p = strstr(p + 1, "mailto:")) {
			size_t n = strcspn(p + 7, "?>, \t");
			char *a = xstrndup(p + 7, n);

			check_addr(ctx, in, a, 1);
			free(a);
		}
	}
}

/* Tokens in the header of a returned or reported message. */
static void
check_enclosed(const struct inbound_ctx *ctx, struct inbound *in,
    const char *raw, size_t len)
{
	struct msg *m;

	if (raw == NULL || len == 0)
		return;
	m = msg_parse(raw, len);
	check_ids(ctx, in, m, "Message-ID", INBOUND_ENCLOSED);
	check_addr_header(ctx, in, m, "Return-Path", 1);
	check_list_unsubscribe(ctx, in, m);
	msg_free(m);
}

static const char *const rcpt_headers[] = {
	"To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To",
	"X-Envelope-To", NULL,
};

/* The first valid token of purpose found at where (NULL: none). */
static const struct inbound_token *
token_find(const struct inbound *in, enum token_purpose purpose,
    enum inbound_where where, int valid)
{
	for (size_t i = 0; i < in->ntokens; i++)
		if (in->tokens[i].purpose == purpose &&
		    in->tokens[i].where == where &&
		    in->tokens[i].valid == valid)
			return &in->tokens[i];
	return NULL;
}

static int
act_on(struct inbound *in, enum token_purpose purpose,
    enum inbound_where where)
{
	const struct inbound_token *t = token_find(in, purpose, where, 1);

	if (t == NULL)
		return 0;
	in->ids = t->ids;
	in->where = where;
	in->purpose = purpose;
	return 1;
}

/* ---- commands ---- */

/* Skips one opening or closing quote character at *p; 1 if skipped. */
static size_t
quote_len(const char *p)
{
	static const char *const quotes[] = {
		"\"", "'", "`", "\xe2\x80\x9d", "\xe2\x80\x9c", "\xe2\x80\x9e",
		"\xe2\x80\x98", "\xe2\x80\x99", "\xc2\xab", "\xc2\xbb", NULL,
	};

	for (size_t i = 0; quotes[i] != NULL; i++)
		if (strncmp(p, quotes[i], strlen(quotes[i])) == 0)
			return strlen(quotes[i]);
	return 0;
}

static size_t
quote_len_end(const char *s, size_t len)
{
	static const char *const quotes[] = {
		"\"", "'", "`", "\xe2\x80\x9d", "\xe2\x80\x9c", "\xe2\x80\x9e",
		"\xe2\x80\x98", "\xe2\x80\x99", "\xc2\xab", "\xc2\xbb", NULL,
	};

	for (size_t i = 0; quotes[i] != NULL; i++) {
		size_t q = strlen(quotes[i]);

		if (len >= q && memcmp(s + len - q, quotes[i], q) == 0)
			return q;
	}
	return 0;
}

int
inbound_is_command(const char *text, int *all_r)
{
	static const char *const verbs[] = {
		"unsubscribe", "avsluta", "avregistrera", "avprenumerera", NULL,
	};
	char w[3][32];
	size_t len, nw = 0, q;
	const char *s = text;
	int changed;

	*all_r = 0;
	if (text == NULL)
		return 0;
	len = strlen(s);
	/* Quotes, white space and trailing punctuation, in any order. */
	do {
		changed = 0;
		while (len > 0 && isspace((unsigned char)*s)) {
			s++;
			len--;
			changed = 1;
		}
		while (len > 0 && (isspace((unsigned char)s[len - 1]) ||
		    strchr(".!?,;:", s[len - 1]) != NULL)) {
			len--;
			changed = 1;
		}
		if (len > 0 && (q = quote_len(s)) != 0) {
			s += q;
			len -= q;
			changed = 1;
		}
		if (len > 0 && (q = quote_len_end(s, len)) != 0) {
			len -= q;
			changed = 1;
		}
	} while (changed && len > 0);
	if (len == 0 || len > 60)
		return 0;
	/* At most three words of plain letters. */
	for (size_t i = 0; i < len;) {
		size_t n = 0;

		while (i < len && isspace((unsigned char)s[i]))
			i++;
		if (i == len)
			break;
		if (nw == 3)
			return 0;
		while (i < len && !isspace((unsigned char)s[i])) {
			if (n + 1 >= sizeof w[0] || !isalpha((unsigned char)
			    s[i]))
				return 0;
			w[nw][n++] = (char)tolower((unsigned char)s[i++]);
		}
		w[nw++][n] = '\0';
	}
	size_t v;

	for (v = 0; verbs[v] != NULL; v++)
		if (strcmp(w[0], verbs[v]) == 0)
			break;
	if (verbs[v] == NULL)
		return 0;
	if (nw == 1)
		return 1;
	if (nw == 2 && (strcmp(w[1], "me") == 0 || strcmp(w[1], "mig") == 0))
		return 1;
	if (nw == 2 && (strcmp(w[1], "all") == 0 || strcmp(w[1], "alla") ==
	    0)) {
		*all_r = 1;
		return 1;
	}
	if (nw == 3 && strcmp(w[1], "me") == 0 && strcmp(w[2], "all") == 0) {
		*all_r = 1;
		return 1;
	}
	return 0;
}

/* Subject without reply and forward prefixes ("Re: SV: AW[2]: "). */
static const char *
strip_prefixes(const char *s)
{
	static const char *const prefixes[] = {
		"re", "sv", "aw", "vs", "fwd", "fw", "vb", "antw", "ref",
		"tr", "wg", "r", "rif", "odp", "vl", "ynt", "res", NULL,
	};
	int again = 1;

	while (again) {
		again = 0;
		while (isspace((unsigned char)*s))
			s++;
		for (size_t i = 0; prefixes[i] != NULL; i++) {
			size_t n = strlen(prefixes[i]);
			const char *p = s + n;

			if (strncasecmp(s, prefixes[i], n) != 0)
				continue;
			if (*p == '[' || *p == '(') {
				p++;
				while (isdigit((unsigned char)*p))
					p++;
				if (*p != ']' && *p != ')')
					continue;
				p++;
			}
			if (*p == ':') {
				s = p + 1;
				again = 1;
				break;
			}
			if (strncmp(p, "\xef\xbc\x9a", 3) == 0) {
				s = p + 3;	/* full-width colon */
				again = 1;
				break;
			}
		}
	}
	return s;
}

static int
starts_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int
ends_ci(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

/* A line where quoted text, a forward or a signature starts. */
static int
quote_start(const char *l, size_t len)
{
	static const char *const ends[] = {
		"wrote:", "skrev:", "schrieb:", "crit :", "crit:",
		"escribi\xc3\xb3:", "kirjoitti:", "scritto:", "schreef:",
		NULL,
	};
	static const char *const starts[] = {
		"-----original message", "-----ursprungligt meddelande",
		"----- original message", "----- ursprungligt meddelande",
		"-------- original message", "---------- forwarded message",
		"-------- vidarebefordrat meddelande",
		"-------- forwarded message", "begin forwarded message",
		"vidarebefordrat meddelande", "from:", "fr\xc3\xa5n:",
		"von:", "de:", "sent:", "skickat:", "________________",
		"-----urspr\xc3\xbcngliche nachricht", NULL,
	};

	if (len == 2 && strncmp(l, "--", 2) == 0)
		return 1;
	if (len == 3 && strncmp(l, "-- ", 3) == 0)
		return 1;
	for (size_t i = 0; ends[i] != NULL; i++)
		if (ends_ci(l, len, ends[i]))
			return 1;
	for (size_t i = 0; starts[i] != NULL; i++)
		if (starts_ci(l, starts[i]))
			return 1;
	return 0;
}

/*
 * The first line the sender wrote: not quoted, before any attribution,
 * forward or signature; NULL when there is none. Caller frees.
 */
static char *
first_line(const char *text, size_t len)
{
	const char *p = text, *e = text + len;

	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *le = nl != NULL ? nl : e;
		size_t ll = (size_t)(le - p);
		const char *s = p;

		p = le + 1;
		while (ll > 0 && (s[ll - 1] == '\r' || s[ll - 1] == ' ' ||
		    s[ll - 1] == '\t'))
			ll--;
		/* A signature separator is "-- " exactly. */
		if (ll == 2 && strncmp(s, "--", 2) == 0 && le - s >= 3 &&
		    s[2] == ' ')
			return NULL;
		while (ll > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			ll--;
		}
		if (ll == 0)
			continue;
		if (*s == '>' || *s == '|')
			continue;
		if (quote_start(s, ll))
			return NULL;
		return xstrndup(s, ll);
	}
	return NULL;
}

/* ---- auto-replies (RFC 3834 and practice) ---- */

static int
autoreply_headers(const struct msg *m, const char **why)
{
	const char *v = msg_header(m, "Auto-Submitted", 0);

	if (v != NULL && strncasecmp(v, "no", 2) != 0) {
		*why = "Auto-Submitted";
		return 1;
	}
	static const char *const flags[] = {
		"X-Autoreply", "X-Autorespond", "X-Autoresponse",
		"X-Autogenerated", NULL,
	};

	for (size_t i = 0; flags[i] != NULL; i++) {
		v = msg_header(m, flags[i], 0);
		if (v != NULL && strcasecmp(v, "no") != 0 &&
		    strcasecmp(v, "false") != 0) {
			*why = flags[i];
			return 1;
		}
	}
	v = msg_header(m, "Precedence", 0);
	if (v != NULL && (strcasecmp(v, "auto_reply") == 0 ||
	    strcasecmp(v, "bulk") == 0 || strcasecmp(v, "junk") == 0)) {
		*why = "Precedence";
		return 1;
	}
	return 0;
}

static int
autoreply_subject(const char *subject)
{
	static const char *const anywhere[] = {
		"out of office", "out of the office", "automatic reply",
		"auto reply", "auto-reply", "autoreply", "auto response",
		"auto-response", "autoresponse", "autosvar",
		"automatiskt svar", "fr\xc3\xa5nvaro", "fr\xc3\xa5nvarande",
		"abwesenheit", "automatische antwort",
		"r\xc3\xa9ponse automatique", "respuesta autom\xc3\xa1tica",
		"frav\xc3\xa6r", "poissa", "vacation", "away from",
		"on leave", "p\xc3\xa5 semester", "ferien", "out-of-office",
		"automatisch antwoord", "risposta automatica", NULL,
	};
	static const char *const first[] = {
		"semester", "ledig", "abwesend", "absence", "away", NULL,
	};
	char *low;
	int r = 0;

	if (subject == NULL)
		return 0;
	low = xstrdup(subject);
	lower_ascii(low);
	/* Swedish capitals the ASCII lowering leaves: "FRÅNVARO". */
	for (char *p = low; *p != '\0'; p++)
		if ((unsigned char)p[0] == 0xc3 && ((unsigned char)p[1] ==
		    0x85 || (unsigned char)p[1] == 0x84 || (unsigned char)p[1] ==
		    0x96))
			p[1] = (char)(p[1] + 0x20);
	for (size_t i = 0; anywhere[i] != NULL && !r; i++)
		if (strstr(low, anywhere[i]) != NULL)
			r = 1;
	const char *s = strip_prefixes(low);

	for (size_t i = 0; first[i] != NULL && !r; i++)
		if (strncmp(s, first[i], strlen(first[i])) == 0)
			r = 1;
	free(low);
	return r;
}

/* ---- the classification ---- */

static void
set_kind(struct inbound *in, enum inbound_kind kind, char *reason)
{
	in->kind = kind;
	free(in->reason);
	in->reason = reason;
}

/* Acts on the first valid token of the returned/reported message. */
static int
act_on_enclosed(struct inbound *in)
{
	return act_on(in, TOKEN_BOUNCE, INBOUND_VERP) ||
	    act_on(in, TOKEN_MSGID, INBOUND_ENCLOSED) ||
	    act_on(in, TOKEN_BOUNCE, INBOUND_ENCLOSED) ||
	    act_on(in, TOKEN_UNSUBSCRIBE, INBOUND_ENCLOSED);
}

static void
classify_bounce(struct inbound *in)
{
	struct bounce_report *b = in->bounce;

	if (b->delayed_only) {
		act_on_enclosed(in);
		set_kind(in, INBOUND_DELAYED, xstrdup("delay warning"));
		return;
	}
	if (!act_on_enclosed(in) && token_find(in, TOKEN_BOUNCE,
	    INBOUND_VERP, 0) != NULL) {
		set_kind(in, INBOUND_BOUNCE, xasprintf("%s bounce, %zu "
		    "recipient(s); VERP token does not verify",
		    b->is_dsn ? "DSN" : "non-DSN", b->nrcpts));
		return;
	}
	set_kind(in, INBOUND_BOUNCE, xasprintf("%s bounce, %zu recipient(s)%s",
	    b->is_dsn ? "DSN" : "non-DSN", b->nrcpts, b->nrcpts > 0 ?
	    (b->rcpts[0].verdict == BOUNCE_HARD ? ", hard" :
	    b->rcpts[0].verdict == BOUNCE_SOFT ? ", soft" : ", policy") : ""));
}

/* The reply's command, from its subject or first unquoted line. */
static int
find_command(const struct msg *m, const char *subject, int *all_r)
{
	struct buf text = { 0 };
	char *line;
	int r;

	if (inbound_is_command(strip_prefixes(subject), all_r))
		return 1;
	if (!msg_main_text(m, BODY_MAX, &text)) {
		buf_free(&text);
		return 0;
	}
	line = first_line(text.data != NULL ? text.data : "", text.len);
	r = line != NULL && inbound_is_command(line, all_r);
	free(line);
	buf_free(&text);
	return r;
}

static void
classify_reply(struct inbound *in, const struct msg *m)
{
	int all = 0, command = find_command(m, in->subject, &all);
	int have = act_on(in, TOKEN_REPLY, INBOUND_REPLY_ADDR) ||
	    act_on(in, TOKEN_MSGID, INBOUND_MSGID_REF);
	const char *why = NULL;

	if (!command) {
		if (autoreply_subject(in->subject))
			set_kind(in, INBOUND_AUTOREPLY,
			    xstrdup("out-of-office subject"));
		else if (autoreply_headers(m, &why))
			set_kind(in, INBOUND_AUTOREPLY, xasprintf("%s", why));
		else
			set_kind(in, INBOUND_HUMAN, xstrdup(have ?
			    "reply to our mail" : "no token of ours"));
		return;
	}
	if (have) {
		in->all_themes = all;
		set_kind(in, INBOUND_COMMAND, xstrdup(all ?
		    "unsubscribe command: every theme" :
		    "unsubscribe command"));
		return;
	}
	memset(&in->ids, 0, sizeof in->ids);
	in->where = INBOUND_NOWHERE;
	if (token_find(in, TOKEN_REPLY, INBOUND_REPLY_ADDR, 0) != NULL ||
	    token_find(in, TOKEN_MSGID, INBOUND_MSGID_REF, 0) != NULL)
		set_kind(in, INBOUND_FORGED, xstrdup("unsubscribe command; "
		    "reply token does not verify"));
	else
		set_kind(in, INBOUND_HUMAN, xstrdup("unsubscribe command "
		    "without a token of ours"));
}

/*
 * Mail to confirm+TOKEN@ or SLUG+subscribe@ (auto-replies by header are
 * out already). An out-of-office subject is still an auto-reply, and an
 * unsubscribe command sent to the confirm address declines: neither
 * confirms. 0 when the message is about neither address.
 */
static int
classify_optin(struct inbound *in, const struct msg *m)
{
	int all = 0;

	if (token_find(in, TOKEN_CONFIRM, INBOUND_CONFIRM_ADDR, 1) == NULL &&
	    token_find(in, TOKEN_CONFIRM, INBOUND_CONFIRM_ADDR, 0) == NULL &&
	    in->subscribe_theme == 0)
		return 0;
	if (autoreply_subject(in->subject)) {
		set_kind(in, INBOUND_AUTOREPLY, xstrdup("out-of-office "
		    "subject"));
		return 1;
	}
	if (token_find(in, TOKEN_CONFIRM, INBOUND_CONFIRM_ADDR, 1) != NULL ||
	    token_find(in, TOKEN_CONFIRM, INBOUND_CONFIRM_ADDR, 0) != NULL) {
		if (find_command(m, in->subject, &all)) {
			set_kind(in, INBOUND_HUMAN, xstrdup("unsubscribe "
			    "command to the confirm address: declines"));
			return 1;
		}
		if (act_on(in, TOKEN_CONFIRM, INBOUND_CONFIRM_ADDR))
			set_kind(in, INBOUND_CONFIRM, xstrdup("confirm "
			    "address"));
		else
			set_kind(in, INBOUND_FORGED, xstrdup("confirm address; "
			    "token does not verify"));
		return 1;
	}
	if (in->from == NULL) {
		set_kind(in, INBOUND_HUMAN, xstrdup("subscribe address; no "
		    "From to confirm"));
		return 1;
	}
	memset(&in->ids, 0, sizeof in->ids);
	in->ids.theme = in->subscribe_theme;
	in->where = INBOUND_SUBSCRIBE_ADDR;
	set_kind(in, INBOUND_SUBSCRIBE, xstrdup("subscribe address"));
	return 1;
}

static void
classify(const struct inbound_ctx *ctx, struct inbound *in,
    const struct msg *m)
{
	const char *why = NULL;
	int all = 0;

	in->complaint = bounce_complaint_scan(m);
	if (in->complaint != NULL) {
		check_enclosed(ctx, in, in->complaint->original,
		    in->complaint->originallen);
		act_on_enclosed(in);
		in->all_themes = 1;
		set_kind(in, INBOUND_COMPLAINT, xasprintf("feedback report: %s",
		    in->complaint->feedback_type));
		return;
	}
	in->bounce = bounce_scan(m);
	if (in->bounce->is_bounce || in->bounce->delayed_only) {
		check_enclosed(ctx, in, in->bounce->original,
		    in->bounce->originallen);
		classify_bounce(in);
		return;
	}
	bounce_report_free(in->bounce);
	in->bounce = NULL;
	if (token_find(in, TOKEN_UNSUBSCRIBE, INBOUND_UNSUB_ADDR, 1) != NULL ||
	    token_find(in, TOKEN_UNSUBSCRIBE, INBOUND_UNSUB_ADDR, 0) != NULL) {
		if (act_on(in, TOKEN_UNSUBSCRIBE, INBOUND_UNSUB_ADDR)) {
			struct buf text = { 0 };
			char *line;

			/* "unsubscribe all" in the subject or body. */
			if (!inbound_is_command(strip_prefixes(in->subject),
			    &all) && msg_main_text(m, BODY_MAX, &text) &&
			    (line = first_line(text.data != NULL ? text.data :
			    "", text.len)) != NULL) {
				inbound_is_command(line, &all);
				free(line);
			}
			buf_free(&text);
			in->all_themes = all;
			set_kind(in, INBOUND_UNSUBSCRIBE, xstrdup(all ?
			    "unsubscribe address: every theme" :
			    "unsubscribe address"));
		} else
			set_kind(in, INBOUND_FORGED, xstrdup("unsubscribe "
			    "address; token does not verify"));
		return;
	}
	if (autoreply_headers(m, &why)) {
		set_kind(in, INBOUND_AUTOREPLY, xasprintf("%s", why));
		return;
	}
	if (classify_optin(in, m))
		return;
	classify_reply(in, m);
}

int
inbound_classify(const struct inbound_ctx *ctx, const char *raw, size_t len,
    struct inbound **in_r, struct error *err)
{
	struct inbound *in;
	struct msg *m;
	char **v;

	if (ctx == NULL || ctx->tokens == NULL || ctx->list_domain == NULL ||
	    *ctx->list_domain == '\0') {
		error_set(err, EX_SOFTWARE, "inbound: no tokens or list "
		    "domain");
		return -1;
	}
	in = xcalloc(1, sizeof *in);
	if (ctx->max_size > 0 && len > ctx->max_size) {
		len = ctx->max_size;
		in->truncated = 1;
	}
	m = msg_parse(raw, len);
	v = msg_ids(msg_header_raw(m, "Message-ID", 0));
	if (v[0] != NULL)
		in->message_id = xstrdup(v[0]);
	msg_ids_free(v);
	v = msg_addrs(msg_header_raw(m, "From", 0));
	if (v[0] != NULL)
		in->from = xstrdup(v[0]);
	msg_addrs_free(v);
	in->subject = xstrdup(msg_header(m, "Subject", 0) != NULL ?
	    msg_header(m, "Subject", 0) : "");
	for (size_t i = 0; rcpt_headers[i] != NULL; i++)
		check_addr_header(ctx, in, m, rcpt_headers[i], 0);
	check_ids(ctx, in, m, "In-Reply-To", INBOUND_MSGID_REF);
	check_ids(ctx, in, m, "References", INBOUND_MSGID_REF);
	classify(ctx, in, m);
	msg_free(m);
	*in_r = in;
	return 0;
}

void
inbound_free(struct inbound *in)
{
	if (in == NULL)
		return;
	free(in->message_id);
	free(in->from);
	free(in->subject);
	free(in->reason);
	free(in->confirm_token);
	free(in->tokens);
	bounce_report_free(in->bounce);
	bounce_complaint_free(in->complaint);
	free(in);
}

const char *
inbound_kind_name(enum inbound_kind k)
{
	switch (k) {
	case INBOUND_HUMAN:		return "human";
	case INBOUND_COMMAND:		return "command";
	case INBOUND_UNSUBSCRIBE:	return "unsubscribe";
	case INBOUND_FORGED:		return "forged";
	case INBOUND_BOUNCE:		return "bounce";
	case INBOUND_DELAYED:		return "delayed";
	case INBOUND_COMPLAINT:		return "complaint";
	case INBOUND_AUTOREPLY:		return "autoreply";
	case INBOUND_CONFIRM:		return "confirm";
	case INBOUND_SUBSCRIBE:		return "subscribe";
	}
	return "human";
}

const char *
inbound_where_name(enum inbound_where w)
{
	switch (w) {
	case INBOUND_NOWHERE:		return "none";
	case INBOUND_UNSUB_ADDR:	return "unsubscribe-address";
	case INBOUND_REPLY_ADDR:	return "reply-address";
	case INBOUND_VERP:		return "verp";
	case INBOUND_MSGID_REF:		return "msgid-ref";
	case INBOUND_ENCLOSED:		return "enclosed";
	case INBOUND_CONFIRM_ADDR:	return "confirm-address";
	case INBOUND_SUBSCRIBE_ADDR:	return "subscribe-address";
	}
	return "none";
}
