/*
 * Unit tests for token: round trips for every purpose, case-insensitive
 * parsing, refusal of every single-character change, of other purposes
 * and of another installation's tokens, length bounds for addresses
 * (RFC 5321 local parts of at most 64 octets) and uniqueness.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"
#include "tbtest.h"
#include "token.h"
#include "util.h"

static const char *const purpose_names[TOKEN_NPURPOSES] = {
	"unsubscribe", "confirm", "reply", "bounce", "msgid",
};

/* Which ids survive a round trip (the others parse as 0). */
static const unsigned carried[TOKEN_NPURPOSES] = {
	[TOKEN_UNSUBSCRIBE] = 3, [TOKEN_CONFIRM] = 7, [TOKEN_REPLY] = 3,
	[TOKEN_BOUNCE] = 7, [TOKEN_MSGID] = 7,
};

static struct secret *
open_secret(const char *name)
{
	char *path = tbtest_path(name);
	struct secret *s = NULL;
	struct error err = { 0 };

	if (secret_open(path, &s, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		exit(99);
	}
	free(path);
	return s;
}

static struct token *
open_token(const char *name)
{
	struct secret *s = open_secret(name);
	struct token *t = token_new(s);

	secret_free(s);
	return t;
}

/* Parses text; for REPLY the caller's theme goes in first. */
static int
parse(struct token *t, enum token_purpose p, const char *text, int64_t theme,
    struct token_ids *ids)
{
	memset(ids, 0xa5, sizeof *ids);
	ids->theme = theme;
	return token_parse(t, p, text, ids);
}

static void
expect_ids(enum token_purpose p, const struct token_ids *in,
    const struct token_ids *got)
{
	unsigned c = carried[p];

	ck_assert_int_eq(got->subscriber, c & 1 ? in->subscriber : 0);
	ck_assert_int_eq(got->theme, c & 2 ? in->theme : 0);
	ck_assert_int_eq(got->edition, c & 4 ? in->edition : 0);
}

static const struct token_ids id_cases[] = {
	{ 1, 1, 1 },
	{ 0, 0, 0 },
	{ 42, 7, 1000 },
	{ 127, 128, 255 },
	{ 128, 127, 256 },
	{ 16383, 16384, 65535 },
	{ 2147483647, 2147483647, 2147483647 },
	{ 2147483648LL, 2147483648LL, 2147483648LL },
	{ 4294967295LL, 3, 4294967295LL },
	{ INT64_MAX, INT64_MAX, INT64_MAX },
	{ 1, INT64_MAX, 0 },
};

START_TEST(test_round_trip)
{
	struct token *t = open_token("secret");
	const struct token_ids *in = &id_cases[_i];

	for (int p = 0; p < TOKEN_NPURPOSES; p++) {
		char tok[TOKEN_BUF];
		struct token_ids got;
		int n = token_make(t, p, in, tok, sizeof tok);

		ck_assert_msg(n > 0, "%s: no token", purpose_names[p]);
		ck_assert_int_eq((size_t)n, strlen(tok));
		ck_assert_int_lt(n, TOKEN_BUF);
		ck_assert_int_eq(strspn(tok, "abcdefghijklmnopqrstuvwxyz234567"),
		    (size_t)n);
		ck_assert_msg(parse(t, p, tok, in->theme, &got) == 0,
		    "%s: %s refused", purpose_names[p], tok);
		expect_ids(p, in, &got);
		/* Deterministic: a resent copy gets the same token. */
		char again[TOKEN_BUF];
		ck_assert_int_eq(token_make(t, p, in, again, sizeof again), n);
		ck_assert_str_eq(tok, again);
	}
	token_free(t);
}
END_TEST

/* Mail servers may change the case of a local part. */
START_TEST(test_case_insensitive)
{
	struct token *t = open_token("secret");
	struct token_ids in = { 31337, 12, 99 }, got;

	for (int p = 0; p < TOKEN_NPURPOSES; p++) {
		char tok[TOKEN_BUF], up[TOKEN_BUF], mixed[TOKEN_BUF];
		int n = token_make(t, p, &in, tok, sizeof tok);

		for (int i = 0; i <= n; i++) {
			up[i] = tok[i] >= 'a' && tok[i] <= 'z' ?
			    (char)(tok[i] - 32) : tok[i];
			mixed[i] = i % 2 ? up[i] : tok[i];
		}
		ck_assert_int_eq(parse(t, p, up, in.theme, &got), 0);
		expect_ids(p, &in, &got);
		ck_assert_int_eq(parse(t, p, mixed, in.theme, &got), 0);
		expect_ids(p, &in, &got);
	}
	token_free(t);
}
END_TEST

/*
 * Every character replaced by every other base32 character (and a few
 * that are not base32), every deletion and every insertion is refused.
 */
START_TEST(test_single_changes)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	static const char junk[] = "0189=+-_. @\x80";
	struct token *t = open_token("secret");
	struct token_ids in = { 5000, 17, 1234 }, got;

	for (int p = 0; p < TOKEN_NPURPOSES; p++) {
		char tok[TOKEN_BUF], mod[TOKEN_BUF + 1];
		int n = token_make(t, p, &in, tok, sizeof tok);

		for (int i = 0; i < n; i++) {
			for (const char *c = alphabet; *c != '\0'; c++) {
				if (*c == tok[i])
					continue;
				memcpy(mod, tok, (size_t)n + 1);
				mod[i] = *c;
				ck_assert_msg(parse(t, p, mod, in.theme, &got) ==
				    -1, "%s: accepted %s for %s",
				    purpose_names[p], mod, tok);
			}
			for (const char *c = junk; *c != '\0'; c++) {
				memcpy(mod, tok, (size_t)n + 1);
				mod[i] = *c;
				ck_assert_int_eq(parse(t, p, mod, in.theme,
				    &got), -1);
			}
			/* Deletion of character i. */
			memcpy(mod, tok, (size_t)i);
			memcpy(mod + i, tok + i + 1, (size_t)(n - i));
			ck_assert_int_eq(parse(t, p, mod, in.theme, &got), -1);
		}
		for (int i = 0; i <= n; i++) {
			/* Insertion before character i. */
			memcpy(mod, tok, (size_t)i);
			mod[i] = 'a';
			memcpy(mod + i + 1, tok + i, (size_t)(n - i) + 1);
			ck_assert_int_eq(parse(t, p, mod, in.theme, &got), -1);
		}
	}
	token_free(t);
}
END_TEST

START_TEST(test_cross_purpose)
{
	struct token *t = open_token("secret");
	struct token_ids in = { 77, 3, 8 }, got;

	for (int p = 0; p < TOKEN_NPURPOSES; p++) {
		char tok[TOKEN_BUF];

		ck_assert_int_gt(token_make(t, p, &in, tok, sizeof tok), 0);
		for (int q = 0; q < TOKEN_NPURPOSES; q++) {
			if (q == p)
				continue;
			ck_assert_msg(parse(t, q, tok, in.theme, &got) == -1,
			    "%s token accepted as %s", purpose_names[p],
			    purpose_names[q]);
		}
	}
	token_free(t);
}
END_TEST

/* REPLY's theme is not in the token but the MAC covers it. */
START_TEST(test_reply_theme)
{
	struct token *t = open_token("secret");
	struct token_ids in = { 4242, 9, 0 }, got;
	char tok[TOKEN_BUF];

	ck_assert_int_gt(token_make(t, TOKEN_REPLY, &in, tok, sizeof tok), 0);
	ck_assert_int_eq(parse(t, TOKEN_REPLY, tok, 9, &got), 0);
	ck_assert_int_eq(got.subscriber, 4242);
	ck_assert_int_eq(got.theme, 9);
	ck_assert_int_eq(parse(t, TOKEN_REPLY, tok, 10, &got), -1);
	ck_assert_int_eq(parse(t, TOKEN_REPLY, tok, 0, &got), -1);
	ck_assert_int_eq(parse(t, TOKEN_REPLY, tok, -9, &got), -1);
	/* The edition is not covered: it does not change the token. */
	struct token_ids other = { 4242, 9, 55 };
	char tok2[TOKEN_BUF];
	token_make(t, TOKEN_REPLY, &other, tok2, sizeof tok2);
	ck_assert_str_eq(tok, tok2);
	token_free(t);
}
END_TEST

/* Another installation's secret: nothing parses. */
START_TEST(test_other_secret)
{
	struct token *a = open_token("secret"), *b = open_token("secret-b");
	struct token_ids in = { 1, 2, 3 }, got;

	for (int p = 0; p < TOKEN_NPURPOSES; p++) {
		char ta[TOKEN_BUF], tb[TOKEN_BUF];

		token_make(a, p, &in, ta, sizeof ta);
		token_make(b, p, &in, tb, sizeof tb);
		ck_assert_str_ne(ta, tb);
		ck_assert_int_eq(parse(b, p, ta, in.theme, &got), -1);
		ck_assert_int_eq(parse(a, p, tb, in.theme, &got), -1);
		ck_assert_int_eq(parse(a, p, ta, in.theme, &got), 0);
	}
	token_free(a);
	token_free(b);
}
END_TEST

/*
 * RFC 5321 local parts: SLUG+TOKEN with a 40-character slug,
 * unsubscribe+TOKEN and bounces+TOKEN all fit 64 octets for ids up to
 * 2^32 - 1; every token fits TOKEN_BUF; the MAC keeps >= 80 bits.
 */
START_TEST(test_lengths)
{
	struct token *t = open_token("secret");
	struct token_ids big = { 4294967295LL, 4294967295LL, 4294967295LL };
	struct token_ids max = { INT64_MAX, INT64_MAX, INT64_MAX };
	struct token_ids one = { 1, 1, 1 };
	char tok[TOKEN_BUF];
	int n;

	n = token_make(t, TOKEN_REPLY, &big, tok, sizeof tok);
	ck_assert_int_le(n, TOKEN_REPLY_MAX);
	ck_assert_int_le(40 + 1 + n, 64);
	n = token_make(t, TOKEN_UNSUBSCRIBE, &big, tok, sizeof tok);
	ck_assert_int_le((int)strlen("unsubscribe+") + n, 64);
	n = token_make(t, TOKEN_BOUNCE, &big, tok, sizeof tok);
	ck_assert_int_le((int)strlen("bounces+") + n, 64);
	n = token_make(t, TOKEN_MSGID, &big, tok, sizeof tok);
	ck_assert_int_le(n, 64);
	for (int p = 0; p < TOKEN_NPURPOSES; p++) {
		n = token_make(t, p, &max, tok, sizeof tok);
		ck_assert_int_gt(n, 0);
		ck_assert_int_lt(n, TOKEN_BUF);
		/* The smallest ids still carry at least 80 bits of MAC. */
		n = token_make(t, p, &one, tok, sizeof tok);
		ck_assert_int_ge(n * 5, TOKEN_MAC_BITS);
	}
	/* Too small a buffer, negative ids: refused, out emptied. */
	n = token_make(t, TOKEN_MSGID, &max, tok, 10);
	ck_assert_int_eq(n, -1);
	ck_assert_str_eq(tok, "");
	struct token_ids neg = { -1, 1, 1 };
	ck_assert_int_eq(token_make(t, TOKEN_CONFIRM, &neg, tok, sizeof tok),
	    -1);
	neg = (struct token_ids){ 1, 1, -5 };
	ck_assert_int_eq(token_make(t, TOKEN_BOUNCE, &neg, tok, sizeof tok),
	    -1);
	ck_assert_int_eq(token_make(t, TOKEN_NPURPOSES, &one, tok,
	    sizeof tok), -1);
	token_free(t);
}
END_TEST

/* Garbage of every length is refused without reading past the end. */
START_TEST(test_garbage)
{
	static const char *const bad[] = {
		"", "a", "aa", "aaaaaaaa", "2222222222222222222222",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"unsubscribe", "../../etc/passwd", "%00", "a\nb",
	};
	struct token *t = open_token("secret");
	struct token_ids got;
	char buf[200];

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		for (int p = 0; p < TOKEN_NPURPOSES; p++)
			ck_assert_int_eq(parse(t, p, bad[i], 1, &got), -1);
	/* Every length 0..199 of 'a's and of '7's. */
	for (int len = 0; len < 200; len++) {
		memset(buf, len % 2 ? 'a' : '7', (size_t)len);
		buf[len] = '\0';
		for (int p = 0; p < TOKEN_NPURPOSES; p++)
			ck_assert_int_eq(parse(t, p, buf, 1, &got), -1);
	}
	ck_assert_int_eq(token_parse(t, TOKEN_CONFIRM, NULL, &got), -1);
	token_free(t);
}
END_TEST

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 20,000 ids give 20,000 different tokens per purpose. */
START_TEST(test_unique)
{
	enum { N = 20000 };
	struct token *t = open_token("secret");
	char **toks = xcalloc(N, sizeof *toks);

	for (int p = 0; p < TOKEN_NPURPOSES; p++) {
		for (int i = 0; i < N; i++) {
			/* Ids that differ in one field, then another. */
			struct token_ids in = { 1 + i % 200, 1 + i / 200 % 10,
			    1 + i / 2000 };
			char tok[TOKEN_BUF];

			if (p == TOKEN_REPLY) {
				in.subscriber = 1 + i;
				in.theme = 4;
			} else if (p == TOKEN_UNSUBSCRIBE) {
				in.subscriber = 1 + i % 2000;
				in.theme = 1 + i / 2000;
			}
			token_make(t, p, &in, tok, sizeof tok);
			toks[i] = xstrdup(tok);
		}
		qsort(toks, N, sizeof *toks, cmp_str);
		for (int i = 1; i < N; i++)
			ck_assert_str_ne(toks[i - 1], toks[i]);
		for (int i = 0; i < N; i++)
			free(toks[i]);
	}
	free(toks);
	token_free(t);
}
END_TEST

static void
base32(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		for (bits += 8; bits >= 5; bits -= 5)
			*out++ = a[acc >> (bits - 5) & 31];
	}
	if (bits > 0)
		*out++ = a[acc << (5 - bits) & 31];
	*out = '\0';
}

/*
 * A second spelling of the same ids with a valid MAC (a leading zero
 * octet in the last id) is refused: each set of ids has one token. The
 * MAC is computed here the way token.c documents it, so this test also
 * pins the format: HMAC(key "token:reply", purpose octet, 3 x 8-octet ids).
 */
START_TEST(test_noncanonical)
{
	struct secret *s = open_secret("secret");
	struct token *t = token_new(s);
	struct secret_mac *m = secret_mac_new(s, "token:reply");
	unsigned char in[25] = { 2 }, mac[SECRET_MAC_LEN];	/* REPLY's tag */
	unsigned char raw[16] = { 0x01, 0x00 };
	struct token_ids ids = { 256, 6, 0 }, got;
	char tok[TOKEN_BUF], mine[TOKEN_BUF];

	in[7] = 0x01;		/* subscriber 256 = 0x0100 */
	in[16] = 0x06;		/* theme 6 */
	secret_mac(m, in, sizeof in, mac);
	/* Canonical: 01 00 + 10 MAC octets, as token_make writes it. */
	memcpy(raw + 2, mac, 10);
	base32(raw, 12, mine);
	token_make(t, TOKEN_REPLY, &ids, tok, sizeof tok);
	ck_assert_str_eq(mine, tok);
	/* Leading zero: 00 01 00 + MAC. */
	raw[0] = 0x00;
	raw[1] = 0x01;
	raw[2] = 0x00;
	memcpy(raw + 3, mac, 10);
	base32(raw, 13, mine);
	ck_assert_int_eq(parse(t, TOKEN_REPLY, mine, 6, &got), -1);
	secret_mac_free(m);
	token_free(t);
	secret_free(s);
}
END_TEST

/* Confirmation tokens: ids and issue time round-trip; nothing else does. */
START_TEST(test_confirm)
{
	struct token *t = open_token("secret"), *other = open_token("other");
	struct token_ids ids = { 41, 3, 1790000000 };
	struct token_confirm c;
	char tok[TOKEN_BUF], tok2[TOKEN_BUF], unsub[TOKEN_BUF];

	ck_assert_int_gt(token_confirm_make(t, 41, 3, 1790000000, tok,
	    sizeof tok), 0);
	ck_assert_int_eq(token_confirm_parse(t, tok, &c), 0);
	ck_assert_int_eq(c.subscriber, 41);
	ck_assert_int_eq(c.theme, 3);
	ck_assert_int_eq(c.issued, 1790000000);
	/* Another second, another token; both valid. */
	token_confirm_make(t, 41, 3, 1790000001, tok2, sizeof tok2);
	ck_assert_str_ne(tok, tok2);
	ck_assert_int_eq(token_confirm_parse(t, tok2, &c), 0);
	ck_assert_int_eq(c.issued, 1790000001);
	/* Another installation's, another purpose's with the same ids. */
	ck_assert_int_eq(token_confirm_parse(other, tok, &c), -1);
	token_make(t, TOKEN_UNSUBSCRIBE, &ids, unsub, sizeof unsub);
	ck_assert_int_eq(token_confirm_parse(t, unsub, &c), -1);
	token_make(t, TOKEN_BOUNCE, &ids, unsub, sizeof unsub);
	ck_assert_int_eq(token_confirm_parse(t, unsub, &c), -1);
	/* Every single-character change is refused. */
	for (size_t i = 0; tok[i] != '\0'; i++) {
		char save = tok[i];

		tok[i] = save == 'a' ? 'b' : 'a';
		ck_assert_int_eq(token_confirm_parse(t, tok, &c), -1);
		tok[i] = save;
	}
	/* Upper case is the same token (mail systems change case). */
	for (size_t i = 0; tok[i] != '\0'; i++)
		tok2[i] = (char)(tok[i] >= 'a' && tok[i] <= 'z' ?
		    tok[i] - 32 : tok[i]);
	tok2[strlen(tok)] = '\0';
	ck_assert_int_eq(token_confirm_parse(t, tok2, &c), 0);
	/* No subscriber or no theme: never a confirmation. */
	token_confirm_make(t, 0, 3, 1790000000, tok, sizeof tok);
	ck_assert_int_eq(token_confirm_parse(t, tok, &c), -1);
	token_confirm_make(t, 41, 0, 1790000000, tok, sizeof tok);
	ck_assert_int_eq(token_confirm_parse(t, tok, &c), -1);
	ck_assert_int_eq(token_confirm_parse(t, "", &c), -1);
	/* confirm+TOKEN fits a 64-octet local part (RFC 5321) for any
	 * subscriber below 2^32 and issue times past 2100. */
	ck_assert_int_gt(token_confirm_make(t, 4294967295LL, 1048575,
	    8589934591LL, tok, sizeof tok), 0);
	ck_assert_int_le(strlen("confirm+") + strlen(tok), 64);
	ck_assert_int_eq(token_confirm_parse(t, tok, &c), 0);
	ck_assert_int_eq(c.issued, 8589934591LL);
	token_free(t);
	token_free(other);
}
END_TEST

START_TEST(test_free_null)
{
	token_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("token");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_round_trip, 0,
	    sizeof id_cases / sizeof id_cases[0]);
	tcase_add_test(tc, test_case_insensitive);
	tcase_add_test(tc, test_single_changes);
	tcase_add_test(tc, test_cross_purpose);
	tcase_add_test(tc, test_reply_theme);
	tcase_add_test(tc, test_other_secret);
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_unique);
	tcase_add_test(tc, test_noncanonical);
	tcase_add_test(tc, test_confirm);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
