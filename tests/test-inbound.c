/*
 * Unit tests for msg, bounce and inbound: hand-written messages of every
 * kind in Swedish and English, every charset route (RFC 2047 Q and B
 * words, ISO-8859-1, windows-1252, base64 UTF-8, raw 8-bit UTF-8
 * headers), replies that only quote our footer, forwards, signatures,
 * HTML-only replies, forged tokens, DSNs (failed, delayed, soft,
 * policy), non-DSN bounces, ARF complaints, auto-replies, and junk: no
 * header, binary bytes, truncated multipart, nesting too deep for
 * libetpan, and a 20 MB message (timed).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bounce.h"
#include "inbound.h"
#include "msg.h"
#include "secret.h"
#include "tbtest.h"
#include "token.h"
#include "util.h"

#define DOMAIN	"lists.example.org"
#define SUB	42
#define THEME	7
#define EDITION	3

static struct token *tokens;
static struct inbound_ctx ctx;
/* Tokens of subscriber SUB for theme THEME, edition EDITION. */
static char t_reply[TOKEN_BUF], t_unsub[TOKEN_BUF], t_bounce[TOKEN_BUF],
    t_msgid[TOKEN_BUF];

static int64_t
theme_by_slug(const char *slug, void *arg)
{
	(void)arg;
	if (strcmp(slug, "barnets-ratt") == 0)
		return THEME;
	if (strcmp(slug, "digital") == 0)
		return 9;
	return 0;
}

static void
setup(void)
{
	char *path = tbtest_path("secret");
	struct secret *s = NULL;
	struct error err = { 0 };
	struct token_ids ids = { SUB, THEME, EDITION };

	if (secret_open(path, &s, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		exit(99);
	}
	free(path);
	tokens = token_new(s);
	secret_free(s);
	ctx.tokens = tokens;
	ctx.list_domain = DOMAIN;
	ctx.theme_by_slug = theme_by_slug;
	ck_assert_int_gt(token_make(tokens, TOKEN_REPLY, &ids, t_reply,
	    sizeof t_reply), 0);
	ck_assert_int_gt(token_make(tokens, TOKEN_UNSUBSCRIBE, &ids, t_unsub,
	    sizeof t_unsub), 0);
	ck_assert_int_gt(token_make(tokens, TOKEN_BOUNCE, &ids, t_bounce,
	    sizeof t_bounce), 0);
	ck_assert_int_gt(token_make(tokens, TOKEN_MSGID, &ids, t_msgid,
	    sizeof t_msgid), 0);
}

static void
teardown(void)
{
	token_free(tokens);
	tokens = NULL;
}

/* Every string inbound hands out is valid UTF-8; header values are one
 * line. */
static void
check_strings(const struct inbound *in)
{
	const char *one[] = { in->message_id, in->from, in->subject,
	    in->reason };

	for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
		if (one[i] == NULL)
			continue;
		ck_assert(util_valid_utf8(one[i], strlen(one[i])));
		ck_assert_ptr_null(strpbrk(one[i], "\r\n"));
	}
	if (in->bounce != NULL) {
		ck_assert(util_valid_utf8(in->bounce->report_text != NULL ?
		    in->bounce->report_text : "", in->bounce->report_text ?
		    strlen(in->bounce->report_text) : 0));
		for (size_t i = 0; i < in->bounce->nrcpts; i++)
			ck_assert(util_valid_utf8(in->bounce->rcpts[i].
			    diagnostic, strlen(in->bounce->rcpts[i].
			    diagnostic)));
	}
}

static struct inbound *
classify(const char *raw, size_t len)
{
	struct inbound *in = NULL;
	struct error err = { 0 };

	ck_assert_int_eq(inbound_classify(&ctx, raw, len, &in, &err), 0);
	ck_assert_ptr_nonnull(in);
	check_strings(in);
	return in;
}

static struct inbound *
classify_str(const char *raw)
{
	return classify(raw, strlen(raw));
}

static void
expect_ours(const struct inbound *in)
{
	ck_assert_int_eq(in->ids.subscriber, SUB);
	ck_assert_int_eq(in->ids.theme, THEME);
}

/* A reply to SLUG+TOKEN@ with the given extra header lines and body. */
static char *
reply(const char *subject, const char *headers, const char *body)
{
	return xasprintf("From: Anna Svensson <anna@Example.SE>\n"
	    "To: Barnets =?utf-8?q?r=C3=A4tt?= <barnets-ratt+%s@" DOMAIN ">\n"
	    "Subject: %s\nMessage-ID: <reply-1@example.se>\n%s\n%s",
	    t_reply, subject, headers, body);
}

/* ---- commands ---- */

struct command_case {
	const char	*text;
	int		 is, all;
};

static const struct command_case command_cases[] = {
	{ "avsluta", 1, 0 }, { "Avsluta.", 1, 0 }, { "AVSLUTA!", 1, 0 },
	{ "\xe2\x80\x9d" "avsluta" "\xe2\x80\x9d", 1, 0 },
	{ "\"unsubscribe\"", 1, 0 }, { "  unsubscribe  ", 1, 0 },
	{ "avregistrera mig", 1, 0 }, { "avprenumerera", 1, 0 },
	{ "Unsubscribe me", 1, 0 }, { "unsubscribe all", 1, 1 },
	{ "Avsluta alla!", 1, 1 }, { "avregistrera alla", 1, 1 },
	{ "UNSUBSCRIBE ALL.", 1, 1 },
	{ "Jag vill inte avsluta min prenumeration, tack f\xc3\xb6r bra brev",
	  0, 0 },
	{ "avsluta inte", 0, 0 }, { "stop", 0, 0 }, { "", 0, 0 },
	{ "unsubscribed", 0, 0 }, { "please unsubscribe me from this list",
	  0, 0 },
	{ "Du kan ocks\xc3\xa5 avsluta genom att svara \xe2\x80\x9d"
	  "avsluta\xe2\x80\x9d p\xc3\xa5 det h\xc3\xa4r mejlet.", 0, 0 },
};

START_TEST(test_is_command)
{
	const struct command_case *c = &command_cases[_i];
	int all = -1;

	ck_assert_msg(inbound_is_command(c->text, &all) == c->is, "%s",
	    c->text);
	ck_assert_int_eq(all, c->is ? c->all : 0);
}
END_TEST

/* Replies whose first unquoted line or subject is the command. */
struct reply_case {
	const char	*subject, *headers, *body;
	enum inbound_kind kind;
	int		 all;
};

static const struct reply_case reply_cases[] = {
	/* Swedish, top-posted over the quoted newsletter. */
	{ "SV: Nyhetsbrev: Barnets r\xc3\xa4tt", "",
	  "Avsluta\n\nMvh Anna\n\n> Du kan ocks\xc3\xa5 avsluta genom att "
	  "svara \xe2\x80\x9d" "avsluta\xe2\x80\x9d.\n", INBOUND_COMMAND, 0 },
	{ "Re: Newsletter", "", "unsubscribe all!\n", INBOUND_COMMAND, 1 },
	{ "SV: Re: AW: avsluta", "", "", INBOUND_COMMAND, 0 },
	{ "Fwd: VS: Unsubscribe", "", "\n", INBOUND_COMMAND, 0 },
	/* ISO-8859-1 quoted-printable encoded word. */
	{ "=?iso-8859-1?Q?avsluta?=", "", "", INBOUND_COMMAND, 0 },
	{ "=?ISO-8859-1?Q?SV=3A_Avregistrera_alla?=", "", "",
	  INBOUND_COMMAND, 1 },
	/* The sentence merely contains the word. */
	{ "SV: Nyhetsbrev", "", "Jag vill inte avsluta min prenumeration, "
	  "tack f\xc3\xb6r bra brev!\n", INBOUND_HUMAN, 0 },
	/* Only the quoted footer says "avsluta". */
	{ "SV: Nyhetsbrev", "", "\nDen 3 jan. 2025 kl. 10:00 skrev Org "
	  "<info@example.org>:\n> Du kan ocks\xc3\xa5 avsluta genom att "
	  "svara \xe2\x80\x9d" "avsluta\xe2\x80\x9d p\xc3\xa5 det h\xc3\xa4r "
	  "mejlet.\n", INBOUND_HUMAN, 0 },
	{ "Re: Newsletter", "", "On Mon, 6 Jan 2025 at 10:00, Org "
	  "<info@example.org> wrote:\n> You can also unsubscribe by replying "
	  "\xe2\x80\x9cunsubscribe\xe2\x80\x9d to this email.\n",
	  INBOUND_HUMAN, 0 },
	/* Bottom-posting after an attribution line is ignored. */
	{ "Re: Newsletter", "", "On Mon, 6 Jan 2025, Org wrote:\n> hi\n\n"
	  "unsubscribe\n", INBOUND_HUMAN, 0 },
	/* '>' lines alone are skipped. */
	{ "Re: Newsletter", "", "> quoted\n>> more\n\nunsubscribe\n",
	  INBOUND_COMMAND, 0 },
	/* A forward of our mail with the footer in it. */
	{ "FW: Nyhetsbrev", "", "\n---------- Forwarded message ---------\n"
	  "From: Org <info@example.org>\nDate: 6 jan 2025\n\navsluta\n"
	  "Du kan ocks\xc3\xa5 avsluta genom att svara \xe2\x80\x9d"
	  "avsluta\xe2\x80\x9d.\n", INBOUND_HUMAN, 0 },
	/* Outlook: command above "-----Original Message-----". */
	{ "RE: Newsletter", "", "unsubscribe\r\n\r\n-----Original Message---"
	  "--\r\nFrom: Org\r\nSent: Monday\r\n", INBOUND_COMMAND, 0 },
	{ "SV: Nyhetsbrev", "", "-----Ursprungligt meddelande-----\nFr\xc3\xa5"
	  "n: Org\nSkickat: m\xc3\xa5ndag\n\navsluta\n", INBOUND_HUMAN, 0 },
	{ "RE: Newsletter", "", "\nFrom: Org <info@example.org>\nSent: "
	  "Monday\nTo: Anna\n\nunsubscribe\n", INBOUND_HUMAN, 0 },
	/* A signature is not the reply. */
	{ "Re: Newsletter", "", "-- \nunsubscribe\n", INBOUND_HUMAN, 0 },
	{ "Re: Newsletter", "", "Thanks!\n-- \nunsubscribe\n", INBOUND_HUMAN,
	  0 },
	{ "Re: Newsletter", "", "Tack, bra brev!\n", INBOUND_HUMAN, 0 },
	/* windows-1252 body (8-bit) and base64 UTF-8 body. */
	{ "SV: Nyhetsbrev", "Content-Type: text/plain; charset=windows-1252\n"
	  "Content-Transfer-Encoding: 8bit\n", "\x93" "avsluta" "\x94\n",
	  INBOUND_COMMAND, 0 },
	{ "SV: Nyhetsbrev", "Content-Type: text/plain; charset=utf-8\n"
	  "Content-Transfer-Encoding: base64\n",
	  "QXZyZWdpc3RyZXJhIG1pZwoKSGVqIGTDpSEK\n", INBOUND_COMMAND, 0 },
	/* HTML only: text outside the block quote counts. */
	{ "SV: Nyhetsbrev", "MIME-Version: 1.0\nContent-Type: text/html; "
	  "charset=utf-8\n", "<html><body><p>Avsluta</p><blockquote><p>Du "
	  "kan ocks&aring; avsluta</p></blockquote></body></html>\n",
	  INBOUND_COMMAND, 0 },
	{ "SV: Nyhetsbrev", "MIME-Version: 1.0\nContent-Type: text/html; "
	  "charset=utf-8\n", "<html><body><blockquote><p>avsluta</p>"
	  "</blockquote><p>Tack&nbsp;f&ouml;r brevet</p></body></html>\n",
	  INBOUND_HUMAN, 0 },
	/* Out-of-office subjects (and headers) are auto-replies. */
	{ "Automatiskt svar: Nyhetsbrev", "", "Jag \xc3\xa4r borta.\n",
	  INBOUND_AUTOREPLY, 0 },
	{ "Out of Office: Newsletter", "", "I am away.\n", INBOUND_AUTOREPLY,
	  0 },
	{ "Fr\xc3\xa5nvaro", "", "Tillbaka 1 maj\n", INBOUND_AUTOREPLY, 0 },
	{ "Abwesenheitsnotiz: Newsletter", "", "Weg.\n", INBOUND_AUTOREPLY,
	  0 },
	{ "=?utf-8?B?QXV0b3N2YXI6IE55aGV0c2JyZXY=?=", "", "Borta.\n",
	  INBOUND_AUTOREPLY, 0 },
	{ "Re: Newsletter", "Auto-Submitted: auto-replied\n",
	  "unsubscribe\n", INBOUND_AUTOREPLY, 0 },
	{ "Re: Newsletter", "X-Autoreply: yes\n", "I am away\n",
	  INBOUND_AUTOREPLY, 0 },
	{ "Re: Newsletter", "Precedence: bulk\n", "Hello\n",
	  INBOUND_AUTOREPLY, 0 },
	{ "Re: Newsletter", "Auto-Submitted: no\n", "unsubscribe\n",
	  INBOUND_COMMAND, 0 },
};

START_TEST(test_reply)
{
	const struct reply_case *c = &reply_cases[_i];
	char *raw = reply(c->subject, c->headers, c->body);
	struct inbound *in = classify_str(raw);

	ck_assert_msg(in->kind == c->kind, "case %d: %s, want %s (%s)", _i,
	    inbound_kind_name(in->kind), inbound_kind_name(c->kind),
	    in->reason);
	if (c->kind == INBOUND_COMMAND) {
		expect_ours(in);
		ck_assert_int_eq(in->where, INBOUND_REPLY_ADDR);
		ck_assert_int_eq(in->all_themes, c->all);
	}
	/* The reply token is reported whatever the kind. */
	ck_assert_int_ge(in->ntokens, 1);
	ck_assert_int_eq(in->tokens[0].purpose, TOKEN_REPLY);
	ck_assert_int_eq(in->tokens[0].valid, 1);
	ck_assert_int_eq(in->tokens[0].ids.subscriber, SUB);
	ck_assert_str_eq(in->from, "anna@example.se");
	ck_assert_str_eq(in->message_id, "reply-1@example.se");
	inbound_free(in);
	free(raw);
}
END_TEST

/* Headers decoded: Q, B, ISO-8859-1, raw UTF-8, raw windows-1252. */
START_TEST(test_subjects)
{
	static const struct {
		const char *raw, *want;
	} cases[] = {
		{ "=?iso-8859-1?Q?R=E4ksm=F6rg=E5s?=",
		  "R\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s" },
		{ "=?UTF-8?B?UsOka3Ntw7ZyZ8Olcw==?= och =?UTF-8?Q?=C3=A5?=",
		  "R\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s och \xc3\xa5" },
		{ "Re: R\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s \xe2\x80\x93 tack",
		  "Re: R\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s \xe2\x80\x93 tack" },
		{ "Re: R\xe4ksm\xf6rg\xe5s \x96 tack",
		  "Re: R\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s \xe2\x80\x93 tack" },
		{ "=?windows-1252?Q?=93hej=94?=",
		  "\xe2\x80\x9chej\xe2\x80\x9d" },
		/* An encoded line break cannot reach a header value. */
		{ "=?utf-8?Q?hej=0D=0ABcc:_evil@example.com?=",
		  "hej  Bcc: evil@example.com" },
		{ "folded\n  subject", "folded  subject" },
		{ "=?utf-8?Q?bad_=FF_byte?=", NULL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *raw = xasprintf("From: a@example.se\nSubject: %s\n\n"
		    "Hej\n", cases[i].raw);
		struct inbound *in = classify_str(raw);

		if (cases[i].want != NULL)
			ck_assert_str_eq(in->subject, cases[i].want);
		ck_assert_int_eq(in->kind, INBOUND_HUMAN);
		ck_assert_int_eq(in->ntokens, 0);
		inbound_free(in);
		free(raw);
	}
}
END_TEST

/* Bodies decoded to UTF-8 whatever their charset and encoding. */
START_TEST(test_bodies)
{
	static const struct {
		const char *headers, *body, *want;
	} cases[] = {
		{ "Content-Type: text/plain; charset=iso-8859-1\n"
		  "Content-Transfer-Encoding: quoted-printable\n",
		  "Tack f=F6r brevet=\n!\n", "Tack f\xc3\xb6r brevet!\n" },
		{ "Content-Type: text/plain; charset=windows-1252\n",
		  "\x93" "citat\x94 \x80\n",
		  "\xe2\x80\x9c" "citat\xe2\x80\x9d \xe2\x82\xac\n" },
		{ "Content-Type: text/plain; charset=utf-8\n"
		  "Content-Transfer-Encoding: base64\n",
		  "w6XDpMO2Cg==\n", "\xc3\xa5\xc3\xa4\xc3\xb6\n" },
		/* Invalid UTF-8 and NUL are replaced. */
		{ "Content-Type: text/plain; charset=utf-8\n",
		  "a\xff" "b\n", "a\xef\xbf\xbd" "b\n" },
		/* A label iconv does not know: UTF-8 when valid. */
		{ "Content-Type: text/plain; charset=x-unknown\n",
		  "\xc3\xa5\n", "\xc3\xa5\n" },
		{ "Content-Type: text/plain; charset=koi8-r\n",
		  "\xf0\xd2\xc9\xd7\xc5\xd4\n",
		  "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n" },
		{ "", "no content type\n", "no content type\n" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *raw = xasprintf("From: a@example.se\n%s\n%s",
		    cases[i].headers, cases[i].body);
		struct msg *m = msg_parse(raw, strlen(raw));
		struct buf out = { 0 };

		ck_assert_int_eq(msg_main_text(m, 0, &out), 1);
		buf_addc(&out, '\0');
		ck_assert_msg(strcmp(out.data, cases[i].want) == 0,
		    "case %zu: [%s]", i, out.data);
		ck_assert(util_valid_utf8(out.data, strlen(out.data)));
		buf_free(&out);
		msg_free(m);
		free(raw);
	}
}
END_TEST

START_TEST(test_addrs)
{
	char **v = msg_addrs("\"Doe, John <fake@x.org>\" <Real@Example.ORG>,"
	    " group: a@b.se, c@d.se;");

	ck_assert_str_eq(v[0], "Real@example.org");
	ck_assert_str_eq(v[1], "a@b.se");
	ck_assert_str_eq(v[2], "c@d.se");
	ck_assert_ptr_null(v[3]);
	msg_addrs_free(v);
	v = msg_addrs("r\xc3\xa4ksm\xc3\xb6rg\xc3\xa5s <x@Y.se> (junk\"");
	ck_assert_str_eq(v[0], "x@y.se");
	msg_addrs_free(v);
	v = msg_ids("<a@b> <c@d>  <nope>");
	ck_assert_str_eq(v[0], "a@b");
	ck_assert_str_eq(v[1], "c@d");
	ck_assert_ptr_null(v[2]);
	msg_ids_free(v);
	ck_assert(msg_valid_addr("a.b@c.se", 8));
	ck_assert(!msg_valid_addr("david...@gmail.com", 18));
	ck_assert(!msg_valid_addr("user@localhost", 14));
	ck_assert(!msg_valid_addr("@c.se", 5));
}
END_TEST

/* In-Reply-To naming our Message-ID, sent to any address. */
START_TEST(test_msgid_reference)
{
	char *raw = xasprintf("From: b@example.com\nTo: info@example.org\n"
	    "Subject: Re: News\nIn-Reply-To: <%s@" DOMAIN ">\n"
	    "References: <x@y> <%s@" DOMAIN ">\n\nunsubscribe\n", t_msgid,
	    t_msgid);
	struct inbound *in = classify_str(raw);

	ck_assert_int_eq(in->kind, INBOUND_COMMAND);
	ck_assert_int_eq(in->where, INBOUND_MSGID_REF);
	ck_assert_int_eq(in->purpose, TOKEN_MSGID);
	expect_ours(in);
	ck_assert_int_eq(in->ids.edition, EDITION);
	inbound_free(in);
	free(raw);
}
END_TEST

START_TEST(test_forged_reply)
{
	char *bad = xstrdup(t_reply);
	char *raw;
	struct inbound *in;

	bad[3] = bad[3] == 'a' ? 'b' : 'a';
	raw = xasprintf("From: b@example.com\nTo: barnets-ratt+%s@" DOMAIN
	    "\nSubject: avsluta\n\n", bad);
	in = classify_str(raw);
	ck_assert_int_eq(in->kind, INBOUND_FORGED);
	ck_assert_int_eq(in->ids.subscriber, 0);
	ck_assert_int_eq(in->tokens[0].valid, 0);
	inbound_free(in);
	free(raw);
	/* A good token under another theme's slug. */
	raw = xasprintf("From: b@example.com\nTo: digital+%s@" DOMAIN
	    "\nSubject: avsluta\n\n", t_reply);
	in = classify_str(raw);
	ck_assert_int_eq(in->kind, INBOUND_FORGED);
	inbound_free(in);
	free(raw);
	/* An unknown slug. */
	raw = xasprintf("From: b@example.com\nTo: nosuch+%s@" DOMAIN
	    "\nSubject: avsluta\n\n", t_reply);
	in = classify_str(raw);
	ck_assert_int_eq(in->kind, INBOUND_FORGED);
	inbound_free(in);
	free(raw);
	/* A command with no token of ours at all. */
	in = classify_str("From: b@example.com\nTo: info@example.org\n"
	    "Subject: avsluta\n\n");
	ck_assert_int_eq(in->kind, INBOUND_HUMAN);
	ck_assert_int_eq(in->ntokens, 0);
	inbound_free(in);
	free(bad);
}
END_TEST

/* ---- unsubscribe+TOKEN@ ---- */

START_TEST(test_unsubscribe_address)
{
	static const char *const shapes[] = {
		"To: unsubscribe+%s@" DOMAIN "\nSubject: unsubscribe\n",
		"To: <UNSUBSCRIBE+%s@LISTS.Example.ORG>\nSubject: x\n",
		"To: info@example.org\nDelivered-To: unsubscribe+%s@" DOMAIN
		"\n",
		"To: a@b.se\nCc: \"Unsub\" <unsubscribe+%s@" DOMAIN ">\n",
		"X-Original-To: unsubscribe+%s@" DOMAIN "\n",
		"Envelope-To: unsubscribe+%s@" DOMAIN "\n",
		/* Apple Mail's List-Unsubscribe message is auto-submitted. */
		"To: unsubscribe+%s@" DOMAIN "\nAuto-Submitted: auto-replied\n"
		"Subject: unsubscribe\n",
	};

	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		char *hdr = xasprintf(shapes[i], t_unsub);
		char *raw = xasprintf("From: anna@example.se\n%s\nApple Mail "
		    "sent this email to unsubscribe.\n", hdr);
		struct inbound *in = classify_str(raw);

		ck_assert_msg(in->kind == INBOUND_UNSUBSCRIBE, "shape %zu: %s",
		    i, inbound_kind_name(in->kind));
		expect_ours(in);
		ck_assert_int_eq(in->where, INBOUND_UNSUB_ADDR);
		ck_assert_int_eq(in->all_themes, 0);
		inbound_free(in);
		free(raw);
		free(hdr);
	}
}
END_TEST

START_TEST(test_unsubscribe_forged)
{
	char *raw = xasprintf("From: x@example.com\nTo: unsubscribe+%s@"
	    DOMAIN "\n\n", t_bounce);	/* another purpose's token */
	struct inbound *in = classify_str(raw);

	ck_assert_int_eq(in->kind, INBOUND_FORGED);
	ck_assert_int_eq(in->ids.subscriber, 0);
	ck_assert_ptr_nonnull(strstr(in->reason, "does not verify"));
	inbound_free(in);
	free(raw);
	in = classify_str("From: x@example.com\nTo: unsubscribe+aaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaa@" DOMAIN "\n\n");
	ck_assert_int_eq(in->kind, INBOUND_FORGED);
	inbound_free(in);
	/* "unsubscribe all" to the address: every theme. */
	raw = xasprintf("From: x@example.com\nTo: unsubscribe+%s@" DOMAIN
	    "\nSubject: avsluta alla\n\n", t_unsub);
	in = classify_str(raw);
	ck_assert_int_eq(in->kind, INBOUND_UNSUBSCRIBE);
	ck_assert_int_eq(in->all_themes, 1);
	inbound_free(in);
	free(raw);
}
END_TEST

/* ---- bounces ---- */

static char *
dsn(const char *to_token, const char *action, const char *status,
    const char *diag)
{
	return xasprintf("From: Mail Delivery System <MAILER-DAEMON@mx."
	    "example.net>\nTo: bounces+%s@" DOMAIN "\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    " boundary=\"B1\"\n\n--B1\nContent-Type: text/plain\n\n"
	    "I'm sorry to have to inform you that your message could not\n"
	    "be delivered to one or more recipients.\n\n"
	    "<nobody@example.net>: host mx.example.net said: %s\n\n"
	    "--B1\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; mx.example.net\n\n"
	    "Final-Recipient: rfc822; nobody@Example.NET\n"
	    "Original-Recipient: rfc822;nobody@example.net\n"
	    "Action: %s\nStatus: %s\nDiagnostic-Code: smtp; %s\n\n"
	    "--B1\nContent-Type: message/rfc822\n\n"
	    "Return-Path: <bounces+%s@" DOMAIN ">\n"
	    "From: Org <info@example.org>\nTo: nobody@example.net\n"
	    "Message-ID: <%s@" DOMAIN ">\nSubject: Nyhetsbrev\n\nHej\n"
	    "--B1--\n", to_token, diag, action, status, diag, to_token,
	    t_msgid);
}

START_TEST(test_bounce_dsn)
{
	static const struct {
		const char *action, *status, *diag, *want_status;
		enum bounce_verdict verdict;
	} cases[] = {
		{ "failed", "5.1.1", "550 5.1.1 <nobody@example.net>: "
		  "Recipient address rejected: User unknown", "5.1.1",
		  BOUNCE_HARD },
		{ "failed", "4.2.2", "452 4.2.2 Mailbox full", "4.2.2",
		  BOUNCE_SOFT },
		{ "failed", "5.7.1", "554 5.7.1 Message rejected as spam",
		  "5.7.1", BOUNCE_POLICY },
		{ "failed", "5.0.0", "550 5.7.1 Service unavailable; client "
		  "host blocked using Spamhaus", "5.7.1", BOUNCE_POLICY },
		{ "failed", "5.0.0", "550 Mailbox unavailable", "5.0.0",
		  BOUNCE_HARD },
		{ "failed", "", "550 5.1.1 no such user", "5.1.1",
		  BOUNCE_HARD },
		{ "error", "5.1.2", "host not found", "5.1.2", BOUNCE_HARD },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *raw = dsn(t_bounce, cases[i].action, cases[i].status,
		    cases[i].diag);
		struct inbound *in = classify_str(raw);

		/* A bounce despite Auto-Submitted. */
		ck_assert_msg(in->kind == INBOUND_BOUNCE, "case %zu: %s", i,
		    inbound_kind_name(in->kind));
		ck_assert_int_eq(in->where, INBOUND_VERP);
		expect_ours(in);
		ck_assert_int_eq(in->ids.edition, EDITION);
		ck_assert_int_eq(in->bounce->is_dsn, 1);
		ck_assert_int_eq(in->bounce->nrcpts, 1);
		ck_assert_str_eq(in->bounce->rcpts[0].address,
		    "nobody@example.net");
		ck_assert_str_eq(in->bounce->rcpts[0].status,
		    cases[i].want_status);
		ck_assert_msg(in->bounce->rcpts[0].verdict == cases[i].verdict,
		    "case %zu: %s", i,
		    bounce_verdict_name(in->bounce->rcpts[0].verdict));
		ck_assert_ptr_nonnull(strstr(in->bounce->rcpts[0].diagnostic,
		    cases[i].diag + 4));
		ck_assert_ptr_nonnull(strstr(in->bounce->report_text,
		    "Reporting-MTA: dns; mx.example.net"));
		ck_assert_ptr_nonnull(strstr(in->bounce->original,
		    "Message-ID:"));
		/* The returned message's tokens are reported too. */
		int enclosed = 0;

		for (size_t k = 0; k < in->ntokens; k++)
			if (in->tokens[k].where == INBOUND_ENCLOSED &&
			    in->tokens[k].valid)
				enclosed++;
		ck_assert_int_eq(enclosed, 2);	/* Message-ID, Return-Path */
		inbound_free(in);
		free(raw);
	}
}
END_TEST

START_TEST(test_bounce_delayed)
{
	static const char *const actions[] = {
		"delayed", "delivered", "relayed", "expanded",
	};

	for (size_t i = 0; i < 4; i++) {
		char *raw = dsn(t_bounce, actions[i], i == 0 ? "4.4.7" :
		    "2.0.0", "250 ok");
		struct inbound *in = classify_str(raw);

		ck_assert_msg(in->kind == (i == 0 ? INBOUND_DELAYED :
		    INBOUND_AUTOREPLY), "%s: %s", actions[i],
		    inbound_kind_name(in->kind));
		ck_assert_ptr_null(in->bounce == NULL ? NULL :
		    in->bounce->rcpts);
		inbound_free(in);
		free(raw);
	}
}
END_TEST

/* A bounce whose VERP token does not verify acts on nobody by VERP;
 * one without VERP is tied to us by the returned Message-ID. */
START_TEST(test_bounce_unknown)
{
	char *raw = dsn("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "failed", "5.1.1",
	    "550 5.1.1 unknown");
	struct inbound *in = classify_str(raw);

	ck_assert_int_eq(in->kind, INBOUND_BOUNCE);
	ck_assert_int_eq(in->where, INBOUND_ENCLOSED);
	ck_assert_int_eq(in->purpose, TOKEN_MSGID);
	ck_assert_int_eq(in->ids.subscriber, SUB);
	inbound_free(in);
	free(raw);
	/* Nothing of ours at all: a bounce acting on nobody. */
	in = classify_str("From: MAILER-DAEMON@mx.example.net\n"
	    "To: someone@example.com\nSubject: failure notice\n\n"
	    "Hi. This is the qmail-send program at mx.example.net.\n"
	    "I'm afraid I wasn't able to deliver your message to the "
	    "following addresses.\nThis is a permanent error; I've given up."
	    "\n\n<ghost@example.net>:\nSorry, no mailbox here by that name. "
	    "(#5.1.1)\n\n--- Below this line is a copy of the message.\n\n"
	    "From: other@example.com\nTo: ghost@example.net\n\nhi\n");
	ck_assert_int_eq(in->kind, INBOUND_BOUNCE);
	ck_assert_int_eq(in->ids.subscriber, 0);
	ck_assert_int_eq(in->where, INBOUND_NOWHERE);
	ck_assert_int_eq(in->bounce->is_dsn, 0);
	ck_assert_int_eq(in->bounce->nrcpts, 1);
	ck_assert_str_eq(in->bounce->rcpts[0].address, "ghost@example.net");
	ck_assert_str_eq(in->bounce->rcpts[0].status, "5.1.1");
	inbound_free(in);
}
END_TEST

/* Non-DSN formats in Swedish and English, with VERP. */
START_TEST(test_bounce_plain)
{
	static const struct {
		const char *from, *subject, *body, *addr;
		int delayed;
	} cases[] = {
		{ "postmaster@example.se", "Olevererbart: Nyhetsbrev",
		  "Det gick inte att leverera till f\xc3\xb6ljande mottagare:"
		  "\n\n  kalle@example.se\n  Mottagaren finns inte.\n\n"
		  "Diagnostikinformation: 550 5.1.10 RESOLVER.ADR.RecipientNot"
		  "Found\n", "kalle@example.se", 0 },
		{ "MAILER-DAEMON@example.net", "Returned mail: see transcript "
		  "for details", "   ----- The following addresses had "
		  "permanent fatal errors -----\n<joe@example.net>\n\n"
		  "   ----- Transcript of session follows -----\n... while "
		  "talking to mx.example.net.:\n>>> RCPT To:<joe@example.net>"
		  "\n<<< 550 5.1.1 <joe@example.net>... User unknown\n",
		  "joe@example.net", 0 },
		{ "Mail Delivery System <Mailer-Daemon@example.net>",
		  "Warning: message 1abc delayed 24 hours",
		  "This message was created automatically by mail delivery "
		  "software.\n\nA message that you sent has not yet been "
		  "delivered to one or more of its\nrecipients after more than "
		  "24 hours on the queue.\n\n  joe@example.net\n\nNo action is "
		  "required on your part.\n", NULL, 1 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *raw = xasprintf("From: %s\nTo: bounces+%s@" DOMAIN "\n"
		    "Subject: %s\nContent-Type: text/plain; charset=utf-8\n\n"
		    "%s", cases[i].from, t_bounce, cases[i].subject,
		    cases[i].body);
		struct inbound *in = classify_str(raw);

		if (cases[i].delayed) {
			ck_assert_int_eq(in->kind, INBOUND_DELAYED);
		} else {
			ck_assert_msg(in->kind == INBOUND_BOUNCE, "case %zu: %s",
			    i, inbound_kind_name(in->kind));
			ck_assert_int_eq(in->bounce->nrcpts, 1);
			ck_assert_str_eq(in->bounce->rcpts[0].address,
			    cases[i].addr);
			ck_assert_int_eq(in->bounce->rcpts[0].verdict,
			    BOUNCE_HARD);
		}
		expect_ours(in);
		ck_assert_int_eq(in->where, INBOUND_VERP);
		inbound_free(in);
		free(raw);
	}
}
END_TEST

/* ---- complaints ---- */

START_TEST(test_complaint)
{
	char *raw = xasprintf("From: feedbackloop@fbl.example.net\n"
	    "To: abuse@example.org\nSubject: Abuse Report\n"
	    "Auto-Submitted: auto-generated\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=feedback-report;\n"
	    "  boundary=\"AR\"\n\n--AR\nContent-Type: text/plain\n\n"
	    "This is an email abuse report.\n\n--AR\nContent-Type: message/"
	    "feedback-report\n\nFeedback-Type: Abuse\nUser-Agent: FBL/1.0\n"
	    "Version: 1\nOriginal-Rcpt-To: <Anna@Example.SE>\n\n--AR\n"
	    "Content-Type: text/rfc822-headers\n\nReturn-Path: <bounces+%s@"
	    DOMAIN ">\nFrom: Org <info@example.org>\nMessage-ID: <%s@" DOMAIN
	    ">\nList-Unsubscribe: <mailto:unsubscribe+%s@" DOMAIN
	    "?subject=unsubscribe>,\n <https://example.org/u/%s>\n\n--AR--\n",
	    t_bounce, t_msgid, t_unsub, t_unsub);
	struct inbound *in = classify_str(raw);

	ck_assert_int_eq(in->kind, INBOUND_COMPLAINT);
	ck_assert_int_eq(in->all_themes, 1);
	expect_ours(in);
	ck_assert_int_eq(in->where, INBOUND_ENCLOSED);
	ck_assert_str_eq(in->complaint->feedback_type, "abuse");
	ck_assert_str_eq(in->complaint->address, "Anna@example.se");
	/* Message-ID, Return-Path and List-Unsubscribe: three tokens. */
	ck_assert_int_eq(in->ntokens, 3);
	for (size_t i = 0; i < in->ntokens; i++)
		ck_assert_int_eq(in->tokens[i].valid, 1);
	inbound_free(in);
	free(raw);
}
END_TEST

/* ---- junk ---- */

START_TEST(test_no_headers)
{
	struct inbound *in = classify_str("just some text\nand more\n");

	ck_assert_int_eq(in->kind, INBOUND_HUMAN);
	ck_assert_ptr_null(in->from);
	ck_assert_ptr_null(in->message_id);
	ck_assert_str_eq(in->subject, "");
	inbound_free(in);
	in = classify("", 0);
	ck_assert_int_eq(in->kind, INBOUND_HUMAN);
	inbound_free(in);
	in = classify_str("\n\n\n");
	ck_assert_int_eq(in->kind, INBOUND_HUMAN);
	inbound_free(in);
}
END_TEST

START_TEST(test_binary_junk)
{
	size_t len = 256 * 1024;
	unsigned char *raw = xmalloc(len);
	uint32_t x = 2463534242u;

	for (int round = 0; round < 8; round++) {
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			raw[i] = (unsigned char)x;
		}
		/* Some rounds look like headers and boundaries. */
		if (round % 2)
			memcpy(raw, "Content-Type: multipart/mixed; boundary=b\n"
			    "\n--b\n", 47);
		struct inbound *in = classify((char *)raw, len);

		ck_assert_int_eq(in->kind, INBOUND_HUMAN);
		inbound_free(in);
	}
	free(raw);
}
END_TEST

START_TEST(test_truncated_multipart)
{
	char *raw = xasprintf("From: a@example.se\nTo: barnets-ratt+%s@" DOMAIN
	    "\nSubject: Re: x\nMIME-Version: 1.0\nContent-Type: multipart/"
	    "alternative; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain; "
	    "charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "avsluta\n\n--XX\nContent-Type: text/html\n\n<p>avsl", t_reply);
	struct inbound *in;

	for (size_t cut = strlen(raw); cut > 0; cut -= cut > 40 ? 7 : 1) {
		in = classify(raw, cut);
		inbound_free(in);
	}
	in = classify_str(raw);
	ck_assert_int_eq(in->kind, INBOUND_COMMAND);
	inbound_free(in);
	free(raw);
}
END_TEST

/* Multipart in multipart: the text is found at any depth; nesting too
 * deep for libetpan's recursion is read as text, not a crash. */
START_TEST(test_nested)
{
	struct buf b = { 0 };
	struct inbound *in;

	for (int depth = 1; depth <= 6; depth++) {
		buf_reset(&b);
		buf_printf(&b, "From: a@example.se\nTo: barnets-ratt+%s@" DOMAIN
		    "\nSubject: SV: x\nMIME-Version: 1.0\n", t_reply);
		for (int i = 0; i < depth; i++)
			buf_printf(&b, "Content-Type: multipart/%s; boundary="
			    "\"b%d\"\n\nPreamble\n--b%d\n", i % 2 ? "related" :
			    "mixed", i, i);
		buf_printf(&b, "Content-Type: image/png\nContent-Transfer-"
		    "Encoding: base64\n\niVBORw0KGgo=\n--b%d\nContent-Type: "
		    "text/plain; charset=iso-8859-1\nContent-Transfer-"
		    "Encoding: quoted-printable\n\nAvregistrera=20mig\n",
		    depth - 1);
		for (int i = depth - 1; i >= 0; i--)
			buf_printf(&b, "--b%d--\n", i);
		in = classify(b.data, b.len);
		ck_assert_msg(in->kind == INBOUND_COMMAND, "depth %d: %s",
		    depth, inbound_kind_name(in->kind));
		inbound_free(in);
	}
	buf_reset(&b);
	buf_addstr(&b, "From: a@example.se\nSubject: deep\n");
	for (int i = 0; i < 50000; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\""
		    "\n\n--b%d\n", i, i);
	buf_addstr(&b, "Content-Type: text/plain\n\nhello\n");
	in = classify(b.data, b.len);
	ck_assert_int_eq(in->kind, INBOUND_HUMAN);
	ck_assert_str_eq(in->subject, "deep");
	inbound_free(in);
	buf_free(&b);
}
END_TEST

START_TEST(test_mbox_from)
{
	char *raw = xasprintf("From anna@example.se Mon Jan  6 10:00:00 2025\n"
	    "From: anna@example.se\nTo: barnets-ratt+%s@" DOMAIN "\n"
	    "Subject: Avsluta\n\n", t_reply);
	struct inbound *in = classify_str(raw);

	ck_assert_int_eq(in->kind, INBOUND_COMMAND);
	ck_assert_str_eq(in->from, "anna@example.se");
	inbound_free(in);
	free(raw);
}
END_TEST

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 20 MB: linear time, well under the limit even with sanitizers. */
START_TEST(test_huge)
{
	static const char *const bodies[] = {
		"Content-Type: text/plain; charset=utf-8\n\n",
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: base64\n\n",
		"Content-Type: multipart/mixed; boundary=Q\n\n--Q\n"
		"Content-Type: text/plain\nContent-Transfer-Encoding: "
		"quoted-printable\n\n",
	};
	size_t size = 20 * 1024 * 1024;

	for (size_t k = 0; k < 3; k++) {
		char *head = xasprintf("From: a@example.se\nTo: barnets-ratt+"
		    "%s@" DOMAIN "\nSubject: SV: big\nMIME-Version: 1.0\n%s",
		    t_reply, bodies[k]);
		size_t hl = strlen(head);
		char *raw = xmalloc(size);
		double t0, dt;
		struct inbound *in;

		memcpy(raw, head, hl);
		if (k == 1)
			memcpy(raw + hl, "YXZzbHV0YQo=\n", 13);	/* avsluta */
		else
			memcpy(raw + hl, "avsluta\n\n", 9);
		for (size_t i = hl + 13; i < size; i++)
			raw[i] = (i % 73 == 0) ? '\n' : (char)('a' + i % 26);
		t0 = seconds();
		in = classify(raw, size);
		dt = seconds() - t0;
		printf("# 20 MB message (%s): %.3f s\n", k == 0 ? "8bit" : k ==
		    1 ? "base64" : "multipart, quoted-printable", dt);
		fflush(stdout);
#ifdef __SANITIZE_ADDRESS__
		ck_assert_double_lt(dt, 10.0);
#else
		ck_assert_double_lt(dt, 2.0);
#endif
		ck_assert_int_eq(in->kind, INBOUND_COMMAND);
		inbound_free(in);
		free(raw);
		free(head);
	}
}
END_TEST

/* 20 MB of header: one endless line, millions of fields, encoded words. */
START_TEST(test_huge_header)
{
	static const char *const units[] = { "x", "X-A: b\n", "=?utf-8?q?a?= " };
	size_t size = 20 * 1024 * 1024;

	for (size_t k = 0; k < 3; k++) {
		struct buf b = { 0 };
		double t0, dt;
		struct inbound *in;

		buf_grow(&b, size + 100);
		buf_addstr(&b, k == 1 ? "From: a@example.se\n" :
		    "From: a@example.se\nSubject: ");
		while (b.len < size)
			buf_addstr(&b, units[k]);
		buf_addstr(&b, "\n\nunsubscribe\n");
		t0 = seconds();
		in = classify(b.data, b.len);
		dt = seconds() - t0;
		printf("# 20 MB header (%s): %.3f s\n", k == 0 ? "one line" :
		    k == 1 ? "many fields" : "encoded words", dt);
		fflush(stdout);
#ifdef __SANITIZE_ADDRESS__
		ck_assert_double_lt(dt, 20.0);
#else
		ck_assert_double_lt(dt, 3.0);
#endif
		ck_assert_str_eq(in->from, "a@example.se");
		ck_assert_int_eq(in->kind, INBOUND_HUMAN);
		inbound_free(in);
		buf_free(&b);
	}
}
END_TEST

/* A limit on what is read: the rest is not looked at. */
START_TEST(test_max_size)
{
	char *raw = reply("SV: x", "", "Hej\n");
	struct inbound *in;

	ctx.max_size = 40;
	in = classify_str(raw);
	ctx.max_size = 0;
	ck_assert_int_eq(in->truncated, 1);
	inbound_free(in);
	free(raw);
}
END_TEST

/* The inbox benchmark classifies many messages: keep one cheap. */
START_TEST(test_speed)
{
	char *raw = reply("SV: Nyhetsbrev: Barnets r\xc3\xa4tt", "",
	    "Tack f\xc3\xb6r brevet!\n\nDen 3 jan. 2025 skrev Org:\n"
	    "> Du kan ocks\xc3\xa5 avsluta.\n");
	char *b = dsn(t_bounce, "failed", "5.1.1", "550 5.1.1 unknown");
	double t0 = seconds(), dt;
	size_t n = 2000;

	for (size_t i = 0; i < n; i++) {
		inbound_free(classify_str(raw));
		inbound_free(classify_str(b));
	}
	dt = seconds() - t0;
	printf("# %zu messages (replies and DSNs) in %.3f s: %.0f/s\n",
	    2 * n, dt, 2.0 * (double)n / dt);
	ck_assert_double_lt(dt, 60.0);
	free(raw);
	free(b);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(inbound_kind_name(INBOUND_COMPLAINT), "complaint");
	ck_assert_str_eq(inbound_where_name(INBOUND_VERP), "verp");
	ck_assert_str_eq(bounce_verdict_name(BOUNCE_POLICY), "policy");
	inbound_free(NULL);
	bounce_report_free(NULL);
	bounce_complaint_free(NULL);
	msg_free(NULL);
	msg_addrs_free(NULL);
}
END_TEST

/* Mail to confirm+TOKEN@ and SLUG+subscribe@ (double opt-in). */
struct optin_case {
	const char	*to;		/* "%s" is the confirm token */
	const char	*headers;	/* extra lines, CRLF-terminated */
	const char	*subject;
	const char	*body;
	enum inbound_kind kind;
};

static const struct optin_case optin_cases[] = {
	{ "confirm+%s@" DOMAIN, "", "Re: Bekräfta", "Ja!\r\n",
	  INBOUND_CONFIRM },
	{ "Confirm+%s@LISTS.EXAMPLE.ORG", "", "Re: x", "\r\n",
	  INBOUND_CONFIRM },
	/* Found in Cc and Delivered-To as well as To. */
	{ "news@example.net\r\nCc: <confirm+%s@" DOMAIN ">", "", "Re: x",
	  "ja\r\n", INBOUND_CONFIRM },
	{ "lists@" DOMAIN "\r\nDelivered-To: confirm+%s@" DOMAIN, "",
	  "Re: x", "ja\r\n", INBOUND_CONFIRM },
	/* An empty reply still confirms: the token is the proof. */
	{ "confirm+%s@" DOMAIN, "", "", "", INBOUND_CONFIRM },
	/* Auto-replies never confirm, by header or by subject. */
	{ "confirm+%s@" DOMAIN, "Auto-Submitted: auto-replied\r\n", "Re: x",
	  "I am away.\r\n", INBOUND_AUTOREPLY },
	{ "confirm+%s@" DOMAIN, "X-Autoreply: yes\r\n", "Re: x", "\r\n",
	  INBOUND_AUTOREPLY },
	{ "confirm+%s@" DOMAIN, "", "Out of office: Re: x", "\r\n",
	  INBOUND_AUTOREPLY },
	{ "confirm+%s@" DOMAIN, "Precedence: bulk\r\n", "Re: x", "\r\n",
	  INBOUND_AUTOREPLY },
	/* Answering "unsubscribe" declines: nothing is confirmed. */
	{ "confirm+%s@" DOMAIN, "", "Re: x", "avsluta\r\n", INBOUND_HUMAN },
	/* Another domain's confirm address is not ours. */
	{ "confirm+%s@example.net", "", "Re: x", "ja\r\n", INBOUND_HUMAN },
	{ "barnets-ratt+subscribe@" DOMAIN, "", "subscribe", "\r\n",
	  INBOUND_SUBSCRIBE },
	{ "Barnets-Ratt+Subscribe@" DOMAIN, "", "", "", INBOUND_SUBSCRIBE },
	{ "barnets-ratt+subscribe@" DOMAIN, "Auto-Submitted: auto-replied\r\n",
	  "", "", INBOUND_AUTOREPLY },
	{ "barnets-ratt+subscribe@" DOMAIN, "", "Automatic reply: hej", "",
	  INBOUND_AUTOREPLY },
	/* An unknown theme is nobody's request. */
	{ "nosuch+subscribe@" DOMAIN, "", "subscribe", "", INBOUND_HUMAN },
};

static char *
optin_message(const struct optin_case *c, const char *token)
{
	char *to = xasprintf(c->to, token), *m;

	m = xasprintf("From: Anna <anna@example.org>\r\nTo: %s\r\n"
	    "Subject: %s\r\nMessage-ID: <q1@example.org>\r\n%s\r\n%s", to,
	    c->subject, c->headers, c->body);
	free(to);
	return m;
}

START_TEST(test_optin)
{
	const struct optin_case *c = &optin_cases[_i];
	char tok[TOKEN_BUF], *m;
	struct inbound *in;

	ck_assert_int_gt(token_confirm_make(tokens, SUB, THEME, 1790000000,
	    tok, sizeof tok), 0);
	m = optin_message(c, tok);
	in = classify_str(m);
	ck_assert_msg(in->kind == c->kind, "case %d: %s (%s), expected %s",
	    _i, inbound_kind_name(in->kind), in->reason,
	    inbound_kind_name(c->kind));
	if (c->kind == INBOUND_CONFIRM) {
		expect_ours(in);
		ck_assert_int_eq(in->ids.edition, 1790000000);
		ck_assert_str_eq(in->confirm_token, tok);
		ck_assert_int_eq(in->where, INBOUND_CONFIRM_ADDR);
	} else
		ck_assert(in->kind != INBOUND_CONFIRM);
	if (c->kind == INBOUND_SUBSCRIBE) {
		ck_assert_int_eq(in->ids.theme, THEME);
		ck_assert_int_eq(in->ids.subscriber, 0);
		ck_assert_str_eq(in->from, "anna@example.org");
	}
	inbound_free(in);
	free(m);
}
END_TEST

/* A confirm address whose token does not verify acts on nobody. */
START_TEST(test_optin_forged)
{
	static const struct optin_case c = { "confirm+%s@" DOMAIN, "",
	    "Re: x", "ja\r\n", INBOUND_FORGED };
	char tok[TOKEN_BUF], *m;
	struct inbound *in;

	/* Flipped, of another purpose, and not base32 at all. */
	const char *bad[] = { NULL, t_unsub, "zz99", "subscribe" };

	token_confirm_make(tokens, SUB, THEME, 1790000000, tok, sizeof tok);
	tok[3] = tok[3] == 'a' ? 'b' : 'a';
	bad[0] = tok;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		m = optin_message(&c, bad[i]);
		in = classify_str(m);
		ck_assert_msg(in->kind == INBOUND_FORGED, "%zu: %s", i,
		    inbound_kind_name(in->kind));
		ck_assert_int_eq(in->ids.subscriber, 0);
		ck_assert_ptr_null(in->confirm_token);
		inbound_free(in);
		free(m);
	}
}
END_TEST

/* A bounce of a confirmation mail is a bounce, not a confirmation. */
START_TEST(test_optin_bounce)
{
	char tok[TOKEN_BUF], *m;
	struct inbound *in;

	token_confirm_make(tokens, SUB, THEME, 1790000000, tok, sizeof tok);
	m = xasprintf("From: MAILER-DAEMON@example.org\r\n"
	    "To: bounces+%s@" DOMAIN "\r\nSubject: Undelivered Mail\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;"
	    " boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
	    "failed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; mx.example.org\r\n\r\n"
	    "Final-Recipient: rfc822; anna@example.org\r\nAction: failed\r\n"
	    "Status: 5.1.1\r\n\r\n--b\r\nContent-Type: text/rfc822-headers"
	    "\r\n\r\nTo: anna@example.org\r\nReply-To: confirm+%s@" DOMAIN
	    "\r\n\r\n--b--\r\n", t_bounce, tok);
	in = classify_str(m);
	ck_assert_int_eq(in->kind, INBOUND_BOUNCE);
	ck_assert_ptr_null(in->confirm_token);
	inbound_free(in);
	free(m);
}
END_TEST


int
main(void)
{
	Suite *s = suite_create("inbound");
	TCase *tc = tcase_create("inbound");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_is_command, 0,
	    sizeof command_cases / sizeof command_cases[0]);
	tcase_add_loop_test(tc, test_reply, 0,
	    sizeof reply_cases / sizeof reply_cases[0]);
	tcase_add_test(tc, test_subjects);
	tcase_add_test(tc, test_bodies);
	tcase_add_test(tc, test_addrs);
	tcase_add_test(tc, test_msgid_reference);
	tcase_add_test(tc, test_forged_reply);
	tcase_add_test(tc, test_unsubscribe_address);
	tcase_add_test(tc, test_unsubscribe_forged);
	tcase_add_test(tc, test_bounce_dsn);
	tcase_add_test(tc, test_bounce_delayed);
	tcase_add_test(tc, test_bounce_unknown);
	tcase_add_test(tc, test_bounce_plain);
	tcase_add_test(tc, test_complaint);
	tcase_add_test(tc, test_no_headers);
	tcase_add_test(tc, test_binary_junk);
	tcase_add_test(tc, test_truncated_multipart);
	tcase_add_test(tc, test_nested);
	tcase_add_test(tc, test_mbox_from);
	tcase_add_test(tc, test_huge);
	tcase_add_test(tc, test_huge_header);
	tcase_add_test(tc, test_max_size);
	tcase_add_test(tc, test_speed);
	tcase_add_test(tc, test_names);
	tcase_add_loop_test(tc, test_optin, 0,
	    sizeof optin_cases / sizeof optin_cases[0]);
	tcase_add_test(tc, test_optin_forged);
	tcase_add_test(tc, test_optin_bounce);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
