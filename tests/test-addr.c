/*
 * Unit tests for addr: address validation and normalisation, display names.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "addr.h"
#include "tbtest.h"
#include "util.h"

struct addr_case {
	const char	*input;
	const char	*email;		/* NULL: must be refused */
	const char	*ascii;
	const char	*key;
	const char	*why;		/* a word the refusal must contain */
};

static const struct addr_case cases[] = {
	{ "anna@example.org", "anna@example.org", "anna@example.org",
	    "anna@example.org", NULL },
	{ "  Anna.Svensson@Example.ORG \t", "Anna.Svensson@Example.ORG",
	    "Anna.Svensson@example.org", "anna.svensson@example.org", NULL },
	{ "o'brien+news@mail.example.co.uk", "o'brien+news@mail.example.co.uk",
	    "o'brien+news@mail.example.co.uk",
	    "o'brien+news@mail.example.co.uk", NULL },
	/* IDN: shown in Unicode NFC, sent as A-labels. */
	{ "kalle@räksmörgås.se", "kalle@räksmörgås.se",
	    "kalle@xn--rksmrgs-5wao1o.se", "kalle@xn--rksmrgs-5wao1o.se", NULL },
	{ "kalle@xn--rksmrgs-5wao1o.se", "kalle@räksmörgås.se",
	    "kalle@xn--rksmrgs-5wao1o.se", "kalle@xn--rksmrgs-5wao1o.se", NULL },
	/* Decomposed (NFD) input becomes NFC. */
	{ "kalle@ra\xcc\x88ksmo\xcc\x88rga\xcc\x8as.se", "kalle@räksmörgås.se",
	    "kalle@xn--rksmrgs-5wao1o.se", "kalle@xn--rksmrgs-5wao1o.se", NULL },
	{ "KALLE@RÄKSMÖRGÅS.SE", "KALLE@RÄKSMÖRGÅS.SE",
	    "KALLE@xn--rksmrgs-5wao1o.se", "kalle@xn--rksmrgs-5wao1o.se", NULL },
	{ "", NULL, NULL, NULL, "empty" },
	{ "anna.example.org", NULL, NULL, NULL, "no @" },
	{ "anna@@example.org", NULL, NULL, NULL, "more than one @" },
	{ "a@b@example.org", NULL, NULL, NULL, "more than one @" },
	{ "@example.org", NULL, NULL, NULL, "nothing before @" },
	{ "anna@", NULL, NULL, NULL, "no domain" },
	{ "anna@localhost", NULL, NULL, NULL, "no dot" },
	{ "anna svensson@example.org", NULL, NULL, NULL, "space" },
	{ "anna@exa mple.org", NULL, NULL, NULL, "space" },
	{ "anna\r\nBcc: x@evil.example@example.org", NULL, NULL, NULL,
	    "control" },
	{ "anna\n@example.org", NULL, NULL, NULL, "control" },
	{ "åsa@example.org", NULL, NULL, NULL, "not ASCII" },
	{ ".anna@example.org", NULL, NULL, NULL, "dot" },
	{ "anna.@example.org", NULL, NULL, NULL, "dot" },
	{ "an..na@example.org", NULL, NULL, NULL, "dot" },
	{ "anna@example..org", NULL, NULL, NULL, "label" },
	{ "anna@-example.org", NULL, NULL, NULL, "label" },
	{ "anna@exa_mple.org", NULL, NULL, NULL, "not allowed" },
	{ "\"anna\"@example.org", NULL, NULL, NULL, "not allowed" },
	{ "<anna@example.org>", NULL, NULL, NULL, "not allowed" },
	{ "anna@example.org\xff", NULL, NULL, NULL, "UTF-8" },
	/* 65-octet local part. */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@example.org", NULL, NULL, NULL, "64" },
};

START_TEST(test_addr_table)
{
	const struct addr_case *c = &cases[_i];
	struct error err = { 0 };
	struct addr a;
	int r = addr_parse(c->input, &a, &err);

	if (c->email == NULL) {
		ck_assert_msg(r == -1, "accepted %s", c->input);
		ck_assert_int_eq(err.code, EX_DATAERR);
		ck_assert_msg(strstr(err.msg, c->why) != NULL,
		    "'%s' refused with '%s', expected '%s'", c->input,
		    err.msg, c->why);
		return;
	}
	ck_assert_msg(r == 0, "refused %s: %s", c->input, err.msg);
	ck_assert_str_eq(a.email, c->email);
	ck_assert_str_eq(a.ascii, c->ascii);
	ck_assert_str_eq(a.key, c->key);
}
END_TEST

/* RFC 5321: local part <= 64, whole address <= 254 in its ASCII form. */
START_TEST(test_addr_lengths)
{
	struct error err = { 0 };
	struct addr a;
	char local[65], domain[300], input[400];

	memset(local, 'x', 64);
	local[64] = '\0';
	/* 64 + 1 + 189 = 254: four labels of 45, dots and ".se" */
	snprintf(domain, sizeof domain, "%.45s.%.45s.%.45s.%.45s.se",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
	    "ccccccccccccccccccccccccccccccccccccccccccccc",
	    "ddddddddddddddddddddddddddddddddddddddddddddd");
	ck_assert_int_eq(strlen(domain), 186);
	snprintf(input, sizeof input, "%s@abc%s", local, domain);
	ck_assert_int_eq(strlen(input), 254);
	ck_assert_int_eq(addr_parse(input, &a, &err), 0);
	snprintf(input, sizeof input, "%s@abcd%s", local, domain);
	ck_assert_int_eq(strlen(input), 255);
	ck_assert_int_eq(addr_parse(input, &a, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "254"));
}
END_TEST

struct name_case {
	const char	*name;
	int		 ok;
};

static const struct name_case names[] = {
	{ "Anna Svensson", 1 },
	{ "Åsa Öberg-Ärlig", 1 },
	{ "Zoë “Zo” Lindqvist – MSI", 1 },
	{ "", 1 },
	{ "Anna\r\nBcc: victim@example.org", 0 },
	{ "Anna\nSvensson", 0 },
	{ "Anna\rSvensson", 0 },
	{ "Anna\tSvensson", 0 },
	{ "Anna\x7fSvensson", 0 },
	{ "Anna\xc2\x85Svensson", 0 },		/* U+0085 NEL */
	{ "Anna\xe2\x80\xa8Svensson", 0 },	/* U+2028 */
	{ "Anna \xff", 0 },
};

START_TEST(test_name_table)
{
	struct error err = { 0 };

	ck_assert_int_eq(addr_check_name(names[_i].name, &err) == 0,
	    names[_i].ok);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("addr");

	tcase_add_loop_test(tc, test_addr_table, 0,
	    sizeof cases / sizeof cases[0]);
	tcase_add_test(tc, test_addr_lengths);
	tcase_add_loop_test(tc, test_name_table, 0,
	    sizeof names / sizeof names[0]);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
