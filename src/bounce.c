/*
 * bounce: delivery reports (RFC 3464 DSNs, RFC 3463 status codes, RFC
 * 6522 multipart/report) and abuse feedback reports (RFC 5965) read from
 * a struct msg. See bounce.h for the contract.
 *
 * A DSN's machine-readable part is blocks of header-like fields separated
 * by blank lines: the first about the message, one per recipient after
 * it. Reports without one are read line by line: the text the MTA wrote
 * is cut where the returned message starts, each address in it is a
 * failed recipient unless it is the report's own sender or addressee or
 * a role address, and a status code near it gives its verdict. Delay
 * warnings are told apart by their wording.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounce.h"
#include "msg.h"
#include "util.h"

#define REPORT_MAX	(64 * 1024)	/* report text kept for people */
#define ORIGINAL_MAX	(64 * 1024)	/* header of the returned message */
#define PART_MAX	(1024 * 1024)	/* bytes of a part read for text */
#define DIAG_MAX	300

/* ---- small text helpers ---- */

static void
lower_ascii(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + 32);
}

static int
contains_any(const char *lower, const char *const *words)
{
	for (size_t i = 0; words[i] != NULL; i++)
		if (strstr(lower, words[i]) != NULL)
			return 1;
	return 0;
}

static char *
trimmed_dup(const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return xstrndup(s, len);
}

/* One line, white space collapsed, at most DIAG_MAX bytes (on a UTF-8
 * character boundary). */
static char *
one_line(const char *s)
{
	struct buf b = { 0 };
	int space = 0;

	buf_addc(&b, '\0');
	b.len = 0;
	for (; *s != '\0' && b.len < DIAG_MAX; s++) {
		if (isspace((unsigned char)*s)) {
			space = b.len > 0;
			continue;
		}
		if (space)
			buf_addc(&b, ' ');
		space = 0;
		buf_addc(&b, *s);
	}
	while (b.len > 0 && ((unsigned char)b.data[b.len - 1] & 0xc0) == 0x80)
		b.len--;
	if (b.len > 0 && (unsigned char)b.data[b.len - 1] >= 0xc0)
		b.len--;
	b.data[b.len] = '\0';
	return buf_steal(&b);
}

/*
 * The first RFC 3463 code (class.subject.detail) in s, into out. Returns
 * 1 when one was found.
 */
static int
find_status(const char *s, char out[16])
{
	for (const char *p = s; *p != '\0'; p++) {
		if ((*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
			continue;
		if (p > s && (isdigit((unsigned char)p[-1]) || p[-1] == '.'))
			continue;
		const char *q = p + 2;
		size_t a = 0, b = 0;

		while (isdigit((unsigned char)q[a]) && a < 4)
			a++;
		if (a == 0 || a > 3 || q[a] != '.')
			continue;
		q += a + 1;
		while (isdigit((unsigned char)q[b]) && b < 4)
			b++;
		if (b == 0 || b > 3 || q[b] == '.' ||
		    isdigit((unsigned char)q[b]))
			continue;
		size_t n = (size_t)(q + b - p);

		memcpy(out, p, n);
		out[n] = '\0';
		return 1;
	}
	return 0;
}

/*
 * The first SMTP reply code (RFC 5321 4.2) in s: three digits starting
 * 4 or 5, standing alone as a word. Returns it, or 0.
 */
static int
find_reply(const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		if ((*p != '4' && *p != '5') || !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]))
			continue;
		if (p > s && !(p[-1] == ' ' || p[-1] == '\t' || p[-1] == '(' ||
		    p[-1] == '<' || p[-1] == '"' || p[-1] == '#' ||
		    p[-1] == '='))
			continue;
		if (p[3] != '\0' && strchr(" -),;.\t", p[3]) == NULL)
			continue;
		return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	}
	return 0;
}

static const char *const policy_words[] = {
	"spam", "blacklist", "blocklist", "black list", "block list",
	"reputation", "dmarc", "policy", "spamhaus", "rbl",
	"listed at", "listed on", "listed in", "junk mail", "unsolicited",
	NULL,
};

/* The verdict for a status code and the diagnostic text. */
static enum bounce_verdict
verdict_of(const char *status, const char *diag)
{
	char *low;
	int policy;

	if (status[0] == '4')
		return BOUNCE_SOFT;
	if (strncmp(status, "5.7.", 4) == 0)
		return BOUNCE_POLICY;
	low = xstrdup(diag != NULL ? diag : "");
	lower_ascii(low, strlen(low));
	policy = contains_any(low, policy_words);
	free(low);
	return policy ? BOUNCE_POLICY : BOUNCE_HARD;
}

/*
 * Status from a Status field and a diagnostic: the field's code, made
 * more precise by a code in the diagnostic of the same class when the
 * field says only x.0.0; else the diagnostic's reply code's class.
 */
static void
pick_status(const char *field, const char *diag, int dflt_class,
    char out[16])
{
	char d[16];
	int have = field != NULL && find_status(field, out);
	int dhave = diag != NULL && find_status(diag, d);

	if (have && dhave && d[0] == out[0] && strcmp(out + 1, ".0.0") == 0)
		memcpy(out, d, sizeof d);
	if (have)
		return;
	if (dhave && d[0] != '2') {
		memcpy(out, d, sizeof d);
		return;
	}
	int r = diag != NULL ? find_reply(diag) : 0;

	out[0] = (char)(r >= 400 ? '0' + r / 100 : '0' + dflt_class);
	memcpy(out + 1, ".0.0", 5);
}

static void
report_add(struct bounce_report *r, const char *addr, size_t len,
    const char *status, const char *diag)
{
	struct bounce_rcpt *rc;
	char *a = xstrndup(addr, len);
	char *at = strrchr(a, '@');

	for (char *p = at; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	for (size_t i = 0; i < r->nrcpts; i++)
		if (strcasecmp(r->rcpts[i].address, a) == 0) {
			free(a);
			return;
		}
	r->rcpts = xrealloc(r->rcpts, (r->nrcpts + 1) * sizeof *r->rcpts);
	rc = &r->rcpts[r->nrcpts++];
	rc->address = a;
	snprintf(rc->status, sizeof rc->status, "%s", status);
	rc->diagnostic = one_line(diag != NULL ? diag : "");
	rc->verdict = verdict_of(rc->status, rc->diagnostic);
}

/* ---- field blocks (RFC 3464 section 2.1, RFC 5965 section 3.1) ---- */

struct field {
	char	*name;
	struct buf value;
};

struct block {
	struct field	*f;
	size_t		 n, cap;
};

static void
block_clear(struct block *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->f[i].name);
		buf_free(&b->f[i].value);
	}
	b->n = 0;
}

static const char *
block_get(const struct block *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcasecmp(b->f[i].name, name) == 0)
			return b->f[i].value.data != NULL ?
			    b->f[i].value.data : "";
	return NULL;
}

typedef void block_cb(const struct block *, void *);

/*
 * Calls cb for each block of fields in text. A line that is not a field
 * and not a continuation ends nothing: it is skipped (reports in the wild
 * carry stray lines).
 */
static void
blocks_read(const char *text, size_t len, block_cb *cb, void *arg)
{
	struct block b = { 0 };
	const char *p = text, *e = text + len;

	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *le = nl != NULL ? nl : e;
		size_t ll = (size_t)(le - p);

		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0 || strspn(p, " \t") >= ll) {
			if (b.n > 0)
				cb(&b, arg);
			block_clear(&b);
		} else if ((*p == ' ' || *p == '\t') && b.n > 0) {
			buf_addc(&b.f[b.n - 1].value, ' ');
			buf_add(&b.f[b.n - 1].value, p, ll);
		} else {
			const char *colon = memchr(p, ':', ll);
			size_t nl2 = colon != NULL ? (size_t)(colon - p) : 0;

			if (colon != NULL && nl2 > 0 && nl2 < 64 &&
			    memchr(p, ' ', nl2) == NULL) {
				if (b.n == b.cap) {
					b.cap = b.cap ? b.cap * 2 : 8;
					b.f = xrealloc(b.f, b.cap * sizeof *b.f);
				}
				struct field *f = &b.f[b.n++];

				f->name = xstrndup(p, nl2);
				buf_init(&f->value);
				buf_add(&f->value, colon + 1, ll - nl2 - 1);
			}
		}
		p = le + 1;
	}
	if (b.n > 0)
		cb(&b, arg);
	block_clear(&b);
	free(b.f);
}

/* The address of "rfc822; <user@example.org>" (type optional). */
static char *
typed_addr(const char *v)
{
	const char *semi = strchr(v, ';');
	char *a, *p;

	if (semi != NULL)
		v = semi + 1;
	a = trimmed_dup(v, strlen(v));
	p = a;
	if (*p == '<') {
		char *end = strchr(p, '>');

		p++;
		if (end != NULL)
			*end = '\0';
	}
	memmove(a, p, strlen(p) + 1);
	/* Some MTAs append a comment: "user@example.org (Joe)". */
	p = strpbrk(a, " \t");
	if (p != NULL)
		*p = '\0';
	return a;
}

struct dsn_state {
	struct bounce_report	*r;
	int			 recipients;	/* blocks naming one */
	int			 failed, delayed;
};

static void
dsn_block(const struct block *b, void *arg)
{
	struct dsn_state *st = arg;
	const char *final = block_get(b, "Final-Recipient");
	const char *orig = block_get(b, "Original-Recipient");
	const char *action = block_get(b, "Action");
	const char *status = block_get(b, "Status");
	const char *diag = block_get(b, "Diagnostic-Code");
	char code[16], *addr, *act = NULL;

	if (final == NULL && orig == NULL)
		return;
	st->recipients++;
	if (action != NULL) {
		act = trimmed_dup(action, strlen(action));
		lower_ascii(act, strlen(act));
	}
	if (diag != NULL) {
		const char *semi = strchr(diag, ';');

		if (semi != NULL && semi - diag < 12)
			diag = semi + 1;
	}
	pick_status(status, diag, 5, code);
	if (act == NULL || *act == '\0') {
		free(act);
		/* No Action: the status class says what happened. */
		act = xstrdup(code[0] == '2' ? "delivered" : "failed");
	}
	if (strncmp(act, "delay", 5) == 0) {
		st->delayed++;
	} else if (strncmp(act, "deliver", 7) != 0 &&
	    strncmp(act, "relay", 5) != 0 && strncmp(act, "expand", 6) != 0) {
		/* "failed", and what some MTAs write for it ("error"). */
		st->failed++;
		if (code[0] == '2')
			code[0] = '5';
		/*
		 * The original recipient is the address we sent to; the final
		 * one may be an alias it was rewritten to ("HAASM@host").
		 */
		addr = typed_addr(orig != NULL && *orig != '\0' ? orig : final);
		if (!msg_valid_addr(addr, strlen(addr)) && final != NULL) {
			free(addr);
			addr = typed_addr(final);
		}
		if (msg_valid_addr(addr, strlen(addr)))
			report_add(st->r, addr, strlen(addr), code, diag);
		free(addr);
	}
	free(act);
}

/* ---- reading the parts ---- */

static int
is_type(const struct msg_part *p, const char *type)
{
	return strcmp(p->type, type) == 0;
}

/* The header block of a returned message: up to its first blank line. */
static void
original_from(const char *raw, size_t len, char **out, size_t *outlen)
{
	size_t n = 0;

	if (*out != NULL || raw == NULL)
		return;
	/* Blank lines before the header are not its end. */
	while (len > 0 && (*raw == '\n' || *raw == '\r' || *raw == ' ')) {
		raw++;
		len--;
	}
	if (len == 0)
		return;
	while (n < len && n < ORIGINAL_MAX) {
		const char *nl = memchr(raw + n, '\n', len - n);
		size_t end = nl != NULL ? (size_t)(nl - raw) + 1 : len;

		if (end - n <= 2 && (end - n == 1 || raw[n] == '\r') && n > 0)
			break;
		n = end;
	}
	if (n > ORIGINAL_MAX)
		n = ORIGINAL_MAX;
	*out = xstrndup(raw, n);
	*outlen = n;
}

/* Enclosed message or header part: the returned message's header. */
static void
find_original(const struct msg *m, char **out, size_t *outlen)
{
	for (size_t i = 0; i < msg_nparts(m) && *out == NULL; i++) {
		const struct msg_part *p = msg_part(m, i);

		if (p->enclosed && !is_type(p, "message/rfc822"))
			continue;
		if (is_type(p, "message/rfc822") ||
		    is_type(p, "message/global") ||
		    is_type(p, "text/rfc822-headers") ||
		    is_type(p, "message/rfc822-headers") ||
		    is_type(p, "message/global-headers")) {
			if (p->encoding == 0 || p->encoding == 1 ||
			    p->encoding == 2 || p->encoding == 3) {
				original_from(p->body, p->bodylen, out, outlen);
			} else {
				struct buf t = { 0 };

				msg_part_text(p, ORIGINAL_MAX, &t);
				original_from(t.data, t.len, out, outlen);
				buf_free(&t);
			}
		}
	}
}

static void
text_append(struct buf *out, const char *s, size_t len)
{
	if (out->len >= REPORT_MAX)
		return;
	if (out->len + len > REPORT_MAX)
		len = REPORT_MAX - out->len;
	buf_add(out, s, len);
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		buf_addc(out, '\n');
}

/*
 * The text the reporting MTA wrote: its text parts outside any returned
 * message (HTML only when there is no plain text).
 */
static void
human_text(const struct msg *m, struct buf *out)
{
	int plain = 0;

	for (size_t i = 0; i < msg_nparts(m); i++) {
		const struct msg_part *p = msg_part(m, i);

		if (!p->enclosed && is_type(p, "text/plain")) {
			struct buf t = { 0 };

			msg_part_text(p, PART_MAX, &t);
			if (t.len > 0)
				buf_add(out, t.data, t.len);
			buf_addc(out, '\n');
			buf_free(&t);
			plain = 1;
		}
	}
	if (plain)
		return;
	for (size_t i = 0; i < msg_nparts(m); i++) {
		const struct msg_part *p = msg_part(m, i);

		if (!p->enclosed && is_type(p, "text/html")) {
			struct buf t = { 0 };
			struct msg *one;

			/* msg_main_text renders HTML; give it this part. */
			msg_part_text(p, PART_MAX, &t);
			struct buf h = { 0 };

			buf_addstr(&h, "Content-Type: text/html; "
			    "charset=utf-8\n\n");
			buf_add(&h, t.data != NULL ? t.data : "", t.len);
			one = msg_parse(h.data, h.len);
			msg_main_text(one, 0, out);
			msg_free(one);
			buf_free(&h);
			buf_free(&t);
			return;
		}
	}
}

/* ---- reports without a DSN ---- */

/* Lines that start the returned message in a plain-text report. */
static const char *const original_markers[] = {
	"original message follows", "below this line is a copy",
	"copy of the original message", "copy of your message",
	"copy of the message", "this is a copy of", "unsent message below",
	"header of the original message", "headers of the original message",
	"original message header", "your message reads",
	"the text of your message", "message text follows",
	"original message ----", "original message ---",
	"returned message follows", "forwarded message follows",
	"message removed", "the original message was:",
	"original message:", "original text follows",
	"-- begin message --", "---- start of returned message",
	"- original message -", "a copy of the first part of your message",
	"message headers follow", "headers are attached",
	NULL,
};

/* Header fields of a returned message quoted inline. */
static const char *const inline_headers[] = {
	"received:", "return-path:", "message-id:", "dkim-signature:",
	"x-mailer:", "mime-version:", "in-reply-to:", "references:",
	"list-unsubscribe:", "errors-to:", "x-beenthere:", "sender:",
	NULL,
};

/* Lines naming people other than the failed recipient. */
static const char *const skip_lines[] = {
	"from:", "reply-to:", "sender:", "return-path:", "subject:",
	"date:", "cc:", "bcc:", "delivered-to:", "x-", "mailing list",
	"contact", "administrator", "helpdesk", "help desk",
	"for more information", "please report", "send mail to",
	"questions", "visit", "if you have", "webmaster", "unsubscribe",
	"list-",
	NULL,
};

static const char *const warning_words[] = {
	"has not yet been delivered", "not yet been delivered",
	"delivery attempts will continue", "will continue to attempt",
	"will continue to try", "warning message only", "just a warning",
	"has been delayed", "have been delayed", "will be retried",
	"will retry", "advisory-only", "has been postponed",
	"still trying", "will keep trying", "no action is required",
	"this is a delay", "delay notification", "not been delivered yet",
	"delivery is delayed", "delivery delayed",
	NULL,
};

static const char *const final_words[] = {
	"permanent error", "permanent fatal", "permanently", "given up",
	"giving up", "gave up", "could not be delivered to one or more",
	"failed permanently", "fatal error",
	NULL,
};

static const char *const bounce_subjects[] = {
	"undeliver", "undelivered", "not delivered", "fail",
	"returning to sender",
	"delivery status notification", "failure notice", "returned mail",
	"returning message", "mail delivery failed", "non remis",
	"nondeliver", "non-deliver", "non deliver", "delivery notification",
	"could not be delivered", "user unknown", "mail system error",
	"delivery problem", "bounce", "unzustellbar", "onbestelbaar",
	"non recapitabile", "no se pudo entregar", "returned to sender",
	"delivery report", "delivery error", "mail failure",
	"unable to deliver", "kunde inte levereras", "olevererbar",
	"ej levererat", "not be delivered", "delivery failure",
	"message status", "delivery warning", "delivery delayed",
	"delayed", "failed delivery", "rejected", "mail could not",
	"unknown user", "no such user", "mailbox unavailable",
	"retour", "zustellung", "warning: could not send",
	NULL,
};

static const char *const daemon_names[] = {
	"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster",
	"mail delivery", "mail.delivery", "maildelivery", "mdaemon",
	"mail administrator", "mail-daemon", "mail daemon",
	"delivery subsystem", "mailadmin", "mail system", "post_master",
	NULL,
};

static const char *const bounce_phrases[] = {
	"qmail-send program", "could not be delivered", "couldn't be delivered",
	"was not delivered", "unable to deliver", "undeliverable",
	"delivery to the following recipient", "permanent error",
	"permanent fatal errors", "user unknown", "no such user",
	"mailbox unavailable", "following address", "following recipient",
	"delivery has failed", "could not deliver", "not be delivered",
	"delivery failed", "message could not", "does not exist",
	"transcript of session", "failed to deliver", "undelivered mail",
	"returned mail", "recipient address rejected", "failed addresses",
	"no valid recipients", "did not reach", "unknown host",
	NULL,
};

/* Role addresses that are never the failed subscriber. */
static int
role_local(const char *addr)
{
	static const char *const roles[] = {
		"mailer-daemon", "postmaster", "abuse", "hostmaster",
		"webmaster", "mailerdaemon", "mailer_daemon", "mdaemon",
		"root", NULL,
	};
	const char *at = strrchr(addr, '@');
	size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr);

	for (size_t i = 0; roles[i] != NULL; i++)
		if (strlen(roles[i]) == n && strncasecmp(addr, roles[i], n) ==
		    0)
			return 1;
	return 0;
}

struct exclude {
	char	**v;
	size_t	  n;
};

static void
exclude_header(struct exclude *x, const struct msg *m, const char *name)
{
	for (size_t k = 0;; k++) {
		const char *v = msg_header_raw(m, name, k);
		char **a;

		if (v == NULL)
			break;
		a = msg_addrs(v);
		for (size_t i = 0; a[i] != NULL; i++) {
			x->v = xrealloc(x->v, (x->n + 1) * sizeof *x->v);
			x->v[x->n++] = xstrdup(a[i]);
		}
		msg_addrs_free(a);
	}
}

static int
excluded(const struct exclude *x, const char *addr)
{
	if (role_local(addr))
		return 1;
	for (size_t i = 0; i < x->n; i++)
		if (strcasecmp(x->v[i], addr) == 0)
			return 1;
	return 0;
}

static int
is_addr_char(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~.@",
	    c) != NULL;
}

static const char *const expiry_words[] = {
	"retry timeout exceeded", "retry time", "message expired",
	"has expired", "timed out", "timeout", "too long in the queue",
	"could not be delivered for", "not reachable", "host unreachable",
	NULL,
};

/* Lines before and after one of a candidate for its status code. */
#define NEAR_LINES	3

struct line {
	const char	*s;	/* original text */
	const char	*low;	/* lower-case copy */
	size_t		 len;
};

/* Status and diagnostic for the address on line i. */
static void
near_status(const struct line *ln, size_t nl, size_t i, int warn,
    char code[16], struct buf *diag)
{
	size_t from = i, to = i + NEAR_LINES < nl ? i + NEAR_LINES : nl - 1;
	int found = 0;

	for (size_t k = from; k <= to && !found; k++) {
		char *l = xstrndup(ln[k].s, ln[k].len);
		char st[16];
		int r;

		if (k > i && ln[k].len == 0) {
			free(l);
			break;
		}
		if (find_status(l, st) && st[0] != '2') {
			memcpy(code, st, sizeof st);
			found = 1;
		} else if ((r = find_reply(l)) != 0) {
			code[0] = (char)('0' + r / 100);
			memcpy(code + 1, ".0.0", 5);
			found = 1;
		}
		if (diag->len < DIAG_MAX) {
			buf_add(diag, ln[k].s, ln[k].len);
			buf_addc(diag, ' ');
		}
		free(l);
	}
	if (!found) {
		/* Given up after retrying: a transient failure, not the
		 * address's fault. */
		char *low = xstrndup(diag->data != NULL ? diag->data : "",
		    diag->len);

		lower_ascii(low, diag->len);
		code[0] = warn || contains_any(low, expiry_words) ? '4' : '5';
		memcpy(code + 1, ".0.0", 5);
		free(low);
	}
}

/* Words on a line that make an address on it a failed recipient. */
static const char *const fail_words[] = {
	"unknown", "no such", "not exist", "doesn't exist", "nonexist",
	"non-exist", "invalid", "unavailable", "disabled", "discontinued",
	"not found", "rejected", "refused", "fail", "undeliver", "could not",
	"couldn't", "cannot", "can't", "unable", "permanent", "denied",
	"quota", "full", "inactive", "expired", "suspended", "deactivated",
	"no mailbox", "not valid", "bad address", "unroutable",
	"unrouteable", "rcpt to", "error", "did not", "not delivered",
	"recipient", "mailbox", "account", "addressee", "no user", "blocked",
	"not accept", "exceed", "problem", "delivery", "not listed",
	"not reach", "no longer", "closed", "reject", "bounce", "timed out",
	"timeout", "host", "domain", "relay", "spam",
	NULL,
};

/* Words on the line before an address list ("to the following:"). */
static const char *const intro_words[] = {
	"following", "recipient", "address", "delivered to", "delivery to",
	"failed", "undeliverable", "could not be delivered",
	"not be delivered", "your message to", "sent to", "message to",
	NULL,
};

struct cand {
	char	*addr;
	int	 strong;
	char	 code[16];
	char	*diag;
};

/* The line holds the address and punctuation only: "<user@host>:". */
static int
address_only(const struct line *l, size_t b, size_t e)
{
	for (size_t i = 0; i < l->len; i++) {
		if (i >= b && i < e)
			continue;
		if (strchr(" \t<>:;'\"()[],.-*", l->s[i]) == NULL)
			return 0;
	}
	return 1;
}

static int
line_has(const struct line *l, const char *const *words)
{
	char *s = xstrndup(l->low, l->len);
	int r = contains_any(s, words);

	free(s);
	return r;
}

/* Is ln[i] a line an address on it should not be taken from? */
static int
skip_line(const struct line *l)
{
	const char *s = l->low;
	size_t n = l->len;
	char *c;
	int r;

	while (n > 0 && (*s == ' ' || *s == '\t' || *s == '>')) {
		s++;
		n--;
	}
	if (n >= 3 && (strncmp(s, "to:", 3) == 0))
		return 1;
	if (n >= 5 && (strncmp(s, "sent:", 5) == 0))
		return 1;
	c = xstrndup(s, n);
	r = contains_any(c, skip_lines) || strstr(c, "message-id") != NULL;
	free(c);
	return r;
}

/*
 * The addresses of the report's own text as failed recipients: every
 * address in it but the report's own sender and addressee and role
 * addresses; when some stand on a line with failure words, in an
 * address-only line or after an introducing line, only those. Returns
 * the length of the text before the returned message.
 */
static size_t
scan_text(struct bounce_report *r, const struct msg *m, const char *text,
    size_t len, int warn)
{
	struct exclude x = { 0 };
	char *low = xstrndup(text, len);
	struct line *ln = NULL;
	struct cand *cv = NULL;
	size_t nl = 0, cap = 0, nc = 0, region = len;
	int strong = 0;
	static const char *const hdrs[] = {
		"From", "To", "Cc", "Sender", "Reply-To", "Return-Path",
		"Errors-To", NULL,
	};

	lower_ascii(low, len);
	for (size_t i = 0; hdrs[i] != NULL; i++)
		exclude_header(&x, m, hdrs[i]);
	/* Split into lines, stopping where the returned message starts. */
	for (size_t p = 0; p < len;) {
		const char *nlp = memchr(text + p, '\n', len - p);
		size_t e = nlp != NULL ? (size_t)(nlp - text) : len;
		size_t ll = e - p;
		char save;

		if (ll > 0 && text[p + ll - 1] == '\r')
			ll--;
		save = low[p + ll];
		low[p + ll] = '\0';
		/* "did NOT receive a copy of your message:" starts nothing. */
		int stop = contains_any(low + p, original_markers) &&
		    strstr(low + p, "not receive") == NULL;

		for (size_t k = 0; inline_headers[k] != NULL && !stop; k++)
			if (strncmp(low + p, inline_headers[k],
			    strlen(inline_headers[k])) == 0)
				stop = 1;
		low[p + ll] = save;
		if (stop) {
			size_t rest = e < len ? e + 1 : len;

			region = p;
			original_from(text + rest, len - rest, &r->original,
			    &r->originallen);
			break;
		}
		if (nl == cap) {
			cap = cap ? cap * 2 : 64;
			ln = xrealloc(ln, cap * sizeof *ln);
		}
		ln[nl].s = text + p;
		ln[nl].low = low + p;
		ln[nl].len = ll;
		nl++;
		p = e + 1;
	}
	for (size_t i = 0; i < nl; i++) {
		const struct line *l = &ln[i];
		size_t prev = i;

		if (skip_line(l))
			continue;
		while (prev > 0 && ln[prev - 1].len == 0)
			prev--;
		for (size_t k = 0; k < l->len; k++) {
			if (l->s[k] != '@')
				continue;
			size_t b = k, e = k + 1;

			while (b > 0 && is_addr_char((unsigned char)l->s[b - 1]) &&
			    l->s[b - 1] != '@')
				b--;
			while (e < l->len && is_addr_char((unsigned char)
			    l->s[e]) && l->s[e] != '@')
				e++;
			/* Dots and quotes around it are punctuation. */
			while (b < k && (l->s[b] == '.' || l->s[b] == '\''))
				b++;
			while (e > k + 1 && (l->s[e - 1] == '.' ||
			    l->s[e - 1] == '\''))
				e--;
			/* Exchange's "dda:SMTP=user@example.com". */
			for (size_t q = k; q > b; q--)
				if (l->s[q - 1] == '=' && q - 1 >= b + 4 &&
				    strncasecmp(l->s + q - 5, "smtp", 4) == 0) {
					b = q;
					break;
				}
			size_t end = e;

			k = e;
			if (!msg_valid_addr(l->s + b, end - b))
				continue;
			char *a = xstrndup(l->s + b, end - b);

			if (excluded(&x, a)) {
				free(a);
				continue;
			}
			struct buf d = { 0 };

			cv = xrealloc(cv, (nc + 1) * sizeof *cv);
			cv[nc].addr = a;
			cv[nc].strong = line_has(l, fail_words) ||
			    address_only(l, b, end) || (prev > 0 &&
			    line_has(&ln[prev - 1], intro_words));
			near_status(ln, nl, i, warn, cv[nc].code, &d);
			buf_addc(&d, '\0');
			cv[nc].diag = buf_steal(&d);
			strong |= cv[nc].strong;
			nc++;
		}
	}
	for (size_t i = 0; i < nc; i++) {
		if (!strong || cv[i].strong)
			report_add(r, cv[i].addr, strlen(cv[i].addr),
			    cv[i].code, cv[i].diag);
		free(cv[i].addr);
		free(cv[i].diag);
	}
	free(cv);
	for (size_t i = 0; i < x.n; i++)
		free(x.v[i]);
	free(x.v);
	free(ln);
	free(low);
	return region;
}

static int
lower_has(const char *s, const char *const *words)
{
	char *l;
	int r;

	if (s == NULL)
		return 0;
	l = xstrdup(s);
	lower_ascii(l, strlen(l));
	r = contains_any(l, words);
	free(l);
	return r;
}

/*
 * A report that names no address may name the recipient's local part
 * (Google Groups: "the group (libsisimai) does not exist"): then the
 * returned message's To is the failed recipient.
 */
static void
scan_original_to(struct bounce_report *r, const char *text, size_t len)
{
	struct msg *orig;
	char **to, *low;

	if (r->original == NULL)
		return;
	orig = msg_parse(r->original, r->originallen);
	to = msg_addrs(msg_header_raw(orig, "To", 0));
	low = xstrndup(text, len);
	lower_ascii(low, len);
	if (to[0] != NULL && to[1] == NULL && !role_local(to[0])) {
		char *local = xstrndup(to[0], (size_t)(strrchr(to[0], '@') -
		    to[0]));

		lower_ascii(local, strlen(local));
		if (strlen(local) >= 3 && strstr(low, local) != NULL) {
			char code[16];

			code[0] = '5';
			memcpy(code + 1, ".0.0", 5);
			report_add(r, to[0], strlen(to[0]), code, "");
		}
		free(local);
	}
	free(low);
	msg_addrs_free(to);
	msg_free(orig);
}

/* Reads a report without a DSN part. */
static void
scan_plain(struct bounce_report *r, const struct msg *m, struct buf *text)
{
	const char *subject = msg_header(m, "Subject", 0);
	const char *from = msg_header(m, "From", 0);
	const char *rpath = msg_header(m, "Return-Path", 0);
	const char *t = text->data != NULL ? text->data : "";
	char *low;
	int daemon, subj, phrase, warn, final;
	size_t region;

	/* A null Return-Path is no sign: RFC 3834 auto-replies use it. */
	daemon = lower_has(from, daemon_names) || (rpath != NULL &&
	    lower_has(rpath, daemon_names)) || (from != NULL &&
	    strcmp(from, "<>") == 0);
	subj = lower_has(subject, bounce_subjects);
	low = xstrndup(t, text->len);
	lower_ascii(low, text->len);
	phrase = contains_any(low, bounce_phrases);
	warn = contains_any(low, warning_words) ||
	    (subject != NULL && lower_has(subject, (const char *const[]){
	    "delay", "warning: message", "mail delivery warning",
	    "delivery warning", NULL }));
	final = contains_any(low, final_words);
	free(low);
	if (!daemon && !(subj && phrase))
		return;
	if (warn && !final) {
		if (daemon || subj)
			r->delayed_only = 1;
		return;
	}
	region = scan_text(r, m, t, text->len, 0);
	/* A daemon's message naming failed addresses is a bounce even
	 * without the usual words (qmail-like "<user@host>:" lists). */
	if (!(subj || phrase) && r->nrcpts == 0) {
		free(r->original);
		r->original = NULL;
		r->originallen = 0;
		return;
	}
	r->is_bounce = 1;
	if (r->nrcpts == 0) {
		find_original(m, &r->original, &r->originallen);
		scan_original_to(r, t, region);
	}
}

struct bounce_report *
bounce_scan(const struct msg *m)
{
	struct bounce_report *r = xcalloc(1, sizeof *r);
	struct dsn_state st = { .r = r };
	struct buf text = { 0 }, report = { 0 };

	human_text(m, &text);
	find_original(m, &r->original, &r->originallen);
	/* A DSN forwarded as an attachment is read when there is no other. */
	for (size_t i = 0; i < 2 * msg_nparts(m) && st.recipients == 0; i++) {
		const struct msg_part *p = msg_part(m, i % msg_nparts(m));
		struct buf t = { 0 };

		if (p->enclosed != (i >= msg_nparts(m)) ||
		    (!is_type(p, "message/delivery-status") &&
		    !is_type(p, "message/global-delivery-status")))
			continue;
		msg_part_text(p, PART_MAX, &t);
		if (t.len > 0) {
			blocks_read(t.data, t.len, dsn_block, &st);
			if (report.len == 0)
				text_append(&report, text.data != NULL ?
				    text.data : "", text.len);
			text_append(&report, t.data, t.len);
		}
		buf_free(&t);
	}
	if (st.recipients > 0) {
		r->is_dsn = 1;
		r->is_bounce = st.failed > 0;
		r->delayed_only = st.failed == 0 && st.delayed > 0;
		if (r->is_bounce && r->nrcpts == 0)
			/* Failed, but no usable address (seen: "x...@y"):
			 * the words may still name one. */
			scan_text(r, m, text.data != NULL ? text.data : "",
			    text.len, 0);
	} else if (text.len > 0 && (blocks_read(text.data, text.len,
	    dsn_block, &st), st.recipients > 0)) {
		/* DSN fields written into the text part ("Technical
		 * report:"), as some MTAs do. */
		r->is_dsn = 1;
		r->is_bounce = st.failed > 0;
		r->delayed_only = st.failed == 0 && st.delayed > 0;
	} else
		scan_plain(r, m, &text);
	if (r->is_bounce || r->delayed_only) {
		if (report.len == 0)
			text_append(&report, text.data != NULL ? text.data :
			    "", text.len);
		r->report_text = buf_steal(&report);
		if (r->report_text == NULL)
			r->report_text = xstrdup("");
	} else {
		free(r->original);
		r->original = NULL;
		r->originallen = 0;
	}
	r->verdict = r->nrcpts > 0 ? r->rcpts[0].verdict : BOUNCE_HARD;
	buf_free(&report);
	buf_free(&text);
	return r;
}

void
bounce_report_free(struct bounce_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nrcpts; i++) {
		free(r->rcpts[i].address);
		free(r->rcpts[i].diagnostic);
	}
	free(r->rcpts);
	free(r->report_text);
	free(r->original);
	free(r);
}

const char *
bounce_verdict_name(enum bounce_verdict v)
{
	switch (v) {
	case BOUNCE_HARD:	return "hard";
	case BOUNCE_SOFT:	return "soft";
	case BOUNCE_POLICY:	return "policy";
	}
	return "hard";
}

/* ---- abuse reports (RFC 5965) ---- */

struct arf_state {
	struct bounce_complaint *c;
};

static void
arf_block(const struct block *b, void *arg)
{
	struct arf_state *st = arg;
	const char *type = block_get(b, "Feedback-Type");
	const char *rcpt = block_get(b, "Original-Rcpt-To");

	if (rcpt == NULL)
		rcpt = block_get(b, "Removal-Recipient");
	if (type != NULL && st->c->feedback_type == NULL) {
		st->c->feedback_type = trimmed_dup(type, strlen(type));
		lower_ascii(st->c->feedback_type,
		    strlen(st->c->feedback_type));
	}
	if (rcpt != NULL && st->c->address == NULL) {
		char *a = typed_addr(rcpt);

		if (msg_valid_addr(a, strlen(a))) {
			char *at = strrchr(a, '@');

			lower_ascii(at, strlen(at));
			st->c->address = a;
		} else
			free(a);
	}
}

/*
 * Complaints that are not ARF: Microsoft's JMRP ("complaint about
 * message from IP" with the message attached) and Amazon SES's JSON
 * notifications ("notificationType":"Complaint").
 */
static struct bounce_complaint *
other_complaint(const struct msg *m)
{
	const char *subject = msg_header(m, "Subject", 0);
	struct bounce_complaint *c = NULL;
	int attached = 0;

	for (size_t i = 0; i < msg_nparts(m); i++)
		if (is_type(msg_part(m, i), "message/rfc822"))
			attached = 1;
	if (attached && subject != NULL && lower_has(subject,
	    (const char *const[]){ "complaint about message from", NULL })) {
		c = xcalloc(1, sizeof *c);
		c->feedback_type = xstrdup("abuse");
		c->report_text = xstrdup(subject);
		find_original(m, &c->original, &c->originallen);
		return c;
	}
	const struct msg_part *p = msg_nparts(m) > 0 ? msg_part(m, 0) : NULL;
	struct buf t = { 0 };

	if (p == NULL || !is_type(p, "text/plain"))
		return NULL;
	msg_part_text(p, REPORT_MAX, &t);
	if (t.data != NULL && strstr(t.data,
	    "\"notificationType\":\"Complaint\"") != NULL) {
		const char *e = strstr(t.data, "\"emailAddress\":\"");

		c = xcalloc(1, sizeof *c);
		c->feedback_type = xstrdup("abuse");
		if (e != NULL) {
			e += 16;
			size_t n = strcspn(e, "\"");

			if (msg_valid_addr(e, n)) {
				c->address = xstrndup(e, n);
				lower_ascii(strrchr(c->address, '@'),
				    strlen(strrchr(c->address, '@')));
			}
		}
		c->report_text = buf_steal(&t);
	}
	buf_free(&t);
	return c;
}

struct bounce_complaint *
bounce_complaint_scan(const struct msg *m)
{
	struct bounce_complaint *c = NULL;
	const struct msg_part *report = NULL;
	int arf = 0;

	for (size_t i = 0; i < msg_nparts(m); i++) {
		const struct msg_part *p = msg_part(m, i);

		if (p->enclosed)
			continue;
		if (is_type(p, "multipart/report") && p->report_type != NULL &&
		    strcmp(p->report_type, "feedback-report") == 0)
			arf = 1;
		if (is_type(p, "message/feedback-report") && report == NULL)
			report = p;
	}
	if (!arf && report == NULL)
		return other_complaint(m);
	c = xcalloc(1, sizeof *c);
	if (report != NULL) {
		struct buf t = { 0 };
		struct arf_state st = { c };

		msg_part_text(report, REPORT_MAX, &t);
		if (t.len > 0)
			blocks_read(t.data, t.len, arf_block, &st);
		c->report_text = buf_steal(&t);
	}
	if (c->report_text == NULL)
		c->report_text = xstrdup("");
	if (c->feedback_type == NULL)
		c->feedback_type = xstrdup("abuse");
	find_original(m, &c->original, &c->originallen);
	return c;
}

void
bounce_complaint_free(struct bounce_complaint *c)
{
	if (c == NULL)
		return;
	free(c->feedback_type);
	free(c->address);
	free(c->report_text);
	free(c->original);
	free(c);
}
