/*
 * Unit tests for dkim: key generation, [dkim] loading and its refusals
 * (missing, world-readable, not a key, 1024-bit RSA, half a section),
 * signing messages of every shape temabrev makes and verifying them with
 * libopendkim (the key given through its lookup hook, no DNS), and
 * verification failing after any covered header or the body changes.
 * tests/dkim.sh verifies real sends with an independent verifier.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "conf.h"
#include "dkim.h"
#include "tbtest.h"
#include "util.h"

static char *keydir;	/* keys made once in main, before the forks */

/* A configuration file with body text; caller frees the config. */
static struct config *
load_conf(const char *name, const char *text)
{
	char *path = tbtest_path(name);
	struct config *c = NULL;
	struct error err = { 0 };

	tbtest_write(path, text, -1);
	ck_assert_msg(conf_load(path, &c, &err) == 0, "%s", err.msg);
	free(path);
	return c;
}

/* [dkim] with the named key of keydir (selector = its name). */
static struct tb_dkim *
load_key(const char *sel, const char *extra)
{
	char *text = xasprintf("[dkim]\ndomain = example.org\nselector = %s\n"
	    "key_file = %s/%s.private\n%s", sel, keydir, sel, extra);
	struct config *c = load_conf("k.conf", text);
	struct tb_dkim *d = NULL;
	struct error err = { 0 };

	ck_assert_msg(tb_dkim_load(c, &d, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(d);
	conf_free(c);
	free(text);
	return d;
}

/* Loading must fail with EX_CONFIG and a message containing want. */
static void
load_fails(const char *conf_text, const char *want)
{
	struct config *c = load_conf("bad.conf", conf_text);
	struct tb_dkim *d = NULL;
	struct error err = { 0 };

	ck_assert_int_eq(tb_dkim_load(c, &d, &err), -1);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(err.code, EX_CONFIG);
	ck_assert_msg(strstr(err.msg, want) != NULL, "'%s' lacks '%s'",
	    err.msg, want);
	conf_free(c);
}

START_TEST(test_keygen)
{
	char *dir = tbtest_path("gen"), *zone = NULL, *p, *rec = NULL;
	struct error err = { 0 };
	struct stat sb;

	ck_assert_msg(tb_dkim_keygen(dir, "s1", "example.org", "rsa", 0, 0,
	    &zone, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(zone, "s1._domainkey.example.org.\tIN\t"
	    "TXT\t( \"v=DKIM1; k=rsa; \""));
	/* Every string of the record within 255 octets. */
	for (p = strchr(zone, '"'); p != NULL; p = strchr(p + 1, '"')) {
		char *q = strchr(p + 1, '"');

		ck_assert_ptr_nonnull(q);
		ck_assert_int_le(q - p - 1, 255);
		p = q;
	}
	p = xasprintf("%s/s1.private", dir);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	free(p);
	p = xasprintf("%s/s1.txt", dir);
	ck_assert_int_eq(tb_dkim_read_record(p, &rec, &err), 0);
	ck_assert_ptr_nonnull(strstr(rec, "v=DKIM1; k=rsa; p=MIIB"));
	ck_assert_ptr_null(strchr(rec, '"'));
	free(p);
	free(rec);
	free(zone);
	zone = NULL;
	/* Never replaced without force. */
	ck_assert_int_eq(tb_dkim_keygen(dir, "s1", "example.org", "rsa", 0, 0,
	    &zone, &err), -1);
	ck_assert_int_eq(err.code, EX_CANTCREAT);
	ck_assert_ptr_nonnull(strstr(err.msg, "--force"));
	ck_assert_int_eq(tb_dkim_keygen(dir, "s1", "example.org", "rsa",
	    3072, 1, &zone, &err), 0);
	free(zone);
	ck_assert_int_eq(tb_dkim_keygen(dir, "s3", "example.org", "ed25519",
	    0, 0, &zone, &err), -1);
	ck_assert_int_eq(err.code, EX_USAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "leaks memory"));
	ck_assert_int_eq(tb_dkim_keygen(dir, "s2", "example.org", "rsa", 1024,
	    0, &zone, &err), -1);
	ck_assert_int_eq(err.code, EX_USAGE);
	ck_assert_int_eq(tb_dkim_keygen(dir, "bad selector", "example.org",
	    "rsa", 0, 0, &zone, &err), -1);
	free(dir);
}
END_TEST

START_TEST(test_not_configured)
{
	struct config *c = load_conf("none.conf", "[general]\n");
	struct tb_dkim *d = (struct tb_dkim *)1;
	struct error err = { 0 };

	ck_assert_int_eq(tb_dkim_load(c, &d, &err), 0);
	ck_assert_ptr_null(d);
	conf_free(c);
}
END_TEST

START_TEST(test_bad_keys)
{
	char *p, *t;

	/* missing */
	t = xasprintf("[dkim]\ndomain = example.org\nselector = s\n"
	    "key_file = %s/nonexistent.private\n", keydir);
	load_fails(t, "nonexistent.private: No such file or directory");
	free(t);
	/* world-readable */
	p = xasprintf("%s/open.private", keydir);
	t = xasprintf("[dkim]\ndomain = example.org\nselector = s\n"
	    "key_file = %s\n", p);
	load_fails(t, "open.private: world-readable (mode 0644)");
	free(t);
	free(p);
	/* not a key */
	t = xasprintf("[dkim]\ndomain = example.org\nselector = s\n"
	    "key_file = %s/junk.private\n", keydir);
	load_fails(t, "junk.private: not a key");
	free(t);
	/* a public key */
	t = xasprintf("[dkim]\ndomain = example.org\nselector = s\n"
	    "key_file = %s/public.pem\n", keydir);
	load_fails(t, "a public key");
	free(t);
	/* Ed25519: libopendkim 2.11 leaks on each signature */
	t = xasprintf("[dkim]\ndomain = example.org\nselector = s\n"
	    "key_file = %s/ed.private\n", keydir);
	load_fails(t, "an Ed25519 key; libopendkim 2.11 leaks memory");
	free(t);
	/* 1024-bit RSA */
	t = xasprintf("[dkim]\ndomain = example.org\nselector = s\n"
	    "key_file = %s/rsa1024.private\n", keydir);
	load_fails(t, "a 1024-bit RSA key; 2048 bits or more");
	free(t);
	/* half a section, and bad names */
	load_fails("[dkim]\ndomain = example.org\n", "[dkim] needs domain, "
	    "selector and key_file");
	t = xasprintf("[dkim example.net]\nkey_file = %s/rsa.private\n",
	    keydir);
	load_fails(t, "[dkim example.net] needs domain, selector");
	free(t);
	t = xasprintf("[dkim]\ndomain = exa mple.org\nselector = s\n"
	    "key_file = %s/rsa.private\n", keydir);
	load_fails(t, "is not a domain name");
	free(t);
	t = xasprintf("[dkim]\ndomain = example.org\nselector = rsa\n"
	    "key_file = %s/rsa.private\nheaders = To, Subject\n", keydir);
	load_fails(t, "must include From");
	free(t);
	load_fails("[dkim]\nheaders = From\n", "no key is");
}
END_TEST

/*
 * Messages of every shape temabrev sends, plus the edges: encoded-word
 * Swedish names and subjects, long folded headers, a body line of 998
 * octets, dots, trailing blank lines, an empty body.
 */
struct shape {
	const char	*name;
	const char	*headers;	/* CRLF lines */
	const char	*body;		/* NULL: a 998-octet line */
};

static const struct shape shapes[] = {
	{ "edition", "From: =?UTF-8?Q?M=C3=B6tesplats_Social_Innovation?= "
	    "<nyhetsbrev@example.org>\r\n"
	    "To: =?UTF-8?Q?Bj=C3=B6rn_=C3=85berg?= <bjorn@example.se>\r\n"
	    "Subject: =?UTF-8?Q?Barnets_r=C3=A4tt_=E2=80=93_23_november_2026?="
	    "\r\n"
	    "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
	    "Message-ID: <m.abcdefghijklmnop@lists.example.org>\r\n"
	    "Reply-To: =?UTF-8?Q?M=C3=B6tesplats?= <barnets-ratt+tok@lists."
	    "example.org>\r\n"
	    "List-Id: <barnets-ratt.lists.example.org>\r\n"
	    "List-Unsubscribe: <mailto:unsubscribe+tok@lists.example.org?"
	    "subject=unsubscribe>,\r\n <https://lists.example.org/u/tok>\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	    "Precedence: bulk\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n",
	    "--b1\r\nContent-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "Hej Bj=C3=B6rn!\r\n.en rad som b=C3=B6rjar med punkt\r\n"
	    "--b1--\r\n" },
	{ "long folded", "From: nyhetsbrev@example.org\r\n"
	    "To: =?UTF-8?B?w4VzYSDDlmJlcmc=?= <asa@example.org>\r\n"
	    "Subject: =?UTF-8?Q?Trygghet_i_det_offentliga_rummet:_r=C3=A4ksm?="
	    "\r\n =?UTF-8?Q?=C3=B6rg=C3=A5sar_p=C3=A5_=C3=85land_och_en_mycket?="
	    "\r\n =?UTF-8?Q?_l=C3=A5ng_rubrik_som_viks_=C3=B6ver_flera_rader?="
	    "\r\n"
	    "List-Unsubscribe: <mailto:unsubscribe+aaaaaaaaaaaaaaaaaaaa@lists."
	    "example.org?subject=unsubscribe>,\r\n\t<https://lists.example.org"
	    "/u/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>\r\n",
	    "Kort.\r\n\r\n\r\n" },
	{ "998-octet line", "From: nyhetsbrev@example.org\r\n"
	    "To: anna@example.org\r\nSubject: lang rad\r\n"
	    "List-Unsubscribe: <mailto:u@example.org>\r\n", NULL },
	{ "empty body", "From: nyhetsbrev@example.org\r\n"
	    "To: anna@example.org\r\nSubject: tom\r\n"
	    "List-Unsubscribe: <mailto:u@example.org>\r\n", "" },
};

static void
make_message(const struct shape *s, struct buf *b)
{
	buf_addstr(b, s->headers);
	buf_addstr(b, "\r\n");
	if (s->body != NULL) {
		buf_addstr(b, s->body);
		return;
	}
	for (int i = 0; i < 998; i++)
		buf_addc(b, (char)('a' + i % 26));
	buf_addstr(b, "\r\nslut\r\n");
}

/* The signed message: signature header, then the message. */
static void
sign(const struct tb_dkim_key *k, const char *msg, size_t len,
    struct buf *out)
{
	struct error err = { 0 };

	ck_assert_msg(tb_dkim_sign(k, msg, len, out, &err) == 0, "%s",
	    err.msg);
	ck_assert_int_eq(strncmp(out->data, "DKIM-Signature: v=1; a=", 23), 0);
	ck_assert_int_eq(memcmp(out->data + out->len - 2, "\r\n", 2), 0);
	buf_add(out, msg, len);
}

static int
verifies(const char *msg, size_t len, const char *record,
    struct error *err)
{
	return tb_dkim_verify(msg, len, record, 5, err) == 0;
}

/* Replaces the first occurrence of from (in the part after the
 * signature) by to; the message must contain it. */
static void
edit(const struct buf *in, const char *from, const char *to, struct buf *out)
{
	const char *body = strstr(in->data, "\r\n\r\n");
	const char *sig_end = strstr(in->data, "\r\nFrom:");
	const char *p = strstr(sig_end ? sig_end : in->data, from);

	ck_assert_ptr_nonnull(body);
	ck_assert_msg(p != NULL, "no '%s' to edit", from);
	buf_reset(out);
	buf_add(out, in->data, (size_t)(p - in->data));
	buf_addstr(out, to);
	buf_addstr(out, p + strlen(from));
}

static void
sign_verify_tamper(const char *sel)
{
	struct tb_dkim *d = load_key(sel, "");
	const struct tb_dkim_key *k = tb_dkim_key_for(d, "example.org");
	char *record = tb_dkim_key_record(k), *other = NULL;
	struct error err = { 0 };
	char *opath = xasprintf("%s/%s.txt", keydir, strcmp(sel, "rsa") ?
	    "rsa" : "rsa2");

	/* another key's record: the wrong key must not verify */
	ck_assert_int_eq(tb_dkim_read_record(opath, &other, &err), 0);
	free(opath);
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
		const struct shape *s = &shapes[i];
		struct buf msg = { 0 }, sig = { 0 }, bad = { 0 };

		make_message(s, &msg);
		sign(k, msg.data, msg.len, &sig);
		ck_assert_msg(verifies(sig.data, sig.len, record, &err),
		    "%s/%s: %s", sel, s->name, err.msg);
		/* relaxed/relaxed: re-folding white space keeps it valid */
		edit(&sig, "Subject: ", "Subject:   ", &bad);
		ck_assert_msg(verifies(bad.data, bad.len, record, &err),
		    "%s/%s: relaxed header canon: %s", sel, s->name, err.msg);
		/* any covered header changed: fails */
		edit(&sig, "\r\nSubject: ", "\r\nSubject: X", &bad);
		ck_assert_msg(!verifies(bad.data, bad.len, record, &err),
		    "%s/%s: Subject changed, still verifies", sel, s->name);
		ck_assert_int_eq(err.code, EX_DATAERR);
		ck_assert_ptr_nonnull(strstr(err.msg, "signature mismatch"));
		edit(&sig, "\r\nTo: ", "\r\nTo: evil@example.net, ", &bad);
		ck_assert(!verifies(bad.data, bad.len, record, &err));
		edit(&sig, "\r\nFrom: ", "\r\nFrom: x", &bad);
		ck_assert(!verifies(bad.data, bad.len, record, &err));
		edit(&sig, "List-Unsubscribe: <mailto:", "List-Unsubscribe: "
		    "<mailto:evil", &bad);
		ck_assert(!verifies(bad.data, bad.len, record, &err));
		/* oversigned: nothing may be added, not even a header the
		 * message lacked */
		edit(&sig, "\r\nFrom: ", "\r\nFrom: evil@example.net\r\nFrom: ",
		    &bad);
		ck_assert(!verifies(bad.data, bad.len, record, &err));
		edit(&sig, "\r\nTo: ", "\r\nList-Unsubscribe-Post: "
		    "List-Unsubscribe=One-Click\r\nTo: ", &bad);
		if (strstr(s->headers, "List-Unsubscribe-Post") == NULL)
			ck_assert_msg(!verifies(bad.data, bad.len, record, &err),
			    "%s: an added List-Unsubscribe-Post verifies",
			    s->name);
		/* a body byte: body hash mismatch */
		buf_reset(&bad);
		buf_add(&bad, sig.data, sig.len);
		buf_addstr(&bad, "x\r\n");
		ck_assert(!verifies(bad.data, bad.len, record, &err));
		ck_assert_ptr_nonnull(strstr(err.msg, "body hash mismatch"));
		if (s->body != NULL && *s->body != '\0') {
			char *q = strstr(bad.data, "\r\n\r\n") + 4;

			buf_reset(&bad);
			buf_add(&bad, sig.data, sig.len);
			q = bad.data + (q - bad.data);
			*q = *q == 'A' ? 'B' : 'A';
			ck_assert(!verifies(bad.data, bad.len, record, &err));
		}
		/* the wrong key: fails */
		ck_assert(!verifies(sig.data, sig.len, other, &err));
		ck_assert_ptr_nonnull(strstr(err.msg, "signature mismatch"));
		buf_free(&msg);
		buf_free(&sig);
		buf_free(&bad);
	}
	free(record);
	free(other);
	tb_dkim_free(d);
}

START_TEST(test_sign_rsa)
{
	sign_verify_tamper("rsa");
}
END_TEST

START_TEST(test_sign_rsa3072)
{
	sign_verify_tamper("rsa2");
}
END_TEST

START_TEST(test_headers_option)
{
	struct tb_dkim *d = load_key("rsa", "headers = From: Subject, "
	    "List-Unsubscribe\n");
	const struct tb_dkim_key *k = tb_dkim_key_for(d, "example.org");
	struct buf msg = { 0 }, sig = { 0 };

	make_message(&shapes[0], &msg);
	sign(k, msg.data, msg.len, &sig);
	/* Only those (each once more, oversigned), nothing else. */
	ck_assert_ptr_nonnull(strstr(sig.data, "h=From:Subject:"
	    "List-Unsubscribe:From:Subject:List-Unsubscribe;"));
	buf_free(&msg);
	buf_free(&sig);
	tb_dkim_free(d);
}
END_TEST

START_TEST(test_key_for)
{
	char *t = xasprintf("[dkim]\ndomain = example.org\nselector = rsa\n"
	    "key_file = %s/rsa.private\n[dkim example.net]\nselector = rsa2\n"
	    "key_file = %s/rsa2.private\n[dkim news.example.net]\n"
	    "selector = rsa\nkey_file = %s/rsa.private\n", keydir, keydir,
	    keydir);
	struct config *c = load_conf("multi.conf", t);
	struct tb_dkim *d = NULL;
	struct error err = { 0 };

	ck_assert_msg(tb_dkim_load(c, &d, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(tb_dkim_nkeys(d), 3);
	ck_assert_str_eq(tb_dkim_key_domain(tb_dkim_key_for(d,
	    "example.org")), "example.org");
	ck_assert_str_eq(tb_dkim_key_domain(tb_dkim_key_for(d,
	    "example.net")), "example.net");
	ck_assert_str_eq(tb_dkim_key_selector(tb_dkim_key_for(d,
	    "EXAMPLE.NET")), "rsa2");
	ck_assert_int_eq(tb_dkim_key_bits(tb_dkim_key_for(d, "example.net")),
	    3072);
	ck_assert_str_eq(tb_dkim_key_domain(tb_dkim_key_for(d,
	    "a.news.example.net")), "news.example.net");
	ck_assert_str_eq(tb_dkim_key_domain(tb_dkim_key_for(d,
	    "other.example")), "example.org");	/* the default */
	ck_assert_str_eq(tb_dkim_key_domain(tb_dkim_key_for(d,
	    "badexample.net")), "example.org");
	tb_dkim_free(d);
	conf_free(c);
	free(t);
	/* Without [dkim] itself, an uncovered domain has no key. */
	t = xasprintf("[dkim example.net]\nselector = rsa2\nkey_file = "
	    "%s/rsa2.private\n", keydir);
	c = load_conf("only.conf", t);
	ck_assert_msg(tb_dkim_load(c, &d, &err) == 0, "%s", err.msg);
	ck_assert_ptr_null(tb_dkim_key_for(d, "example.org"));
	ck_assert_ptr_nonnull(tb_dkim_key_for(d, "example.net"));
	tb_dkim_free(d);
	conf_free(c);
	free(t);
}
END_TEST

START_TEST(test_aligned)
{
	static const struct { const char *from, *d; int want; } t[] = {
		{ "example.org", "example.org", 1 },
		{ "news.example.org", "example.org", 1 },
		{ "example.org", "mail.example.org", 1 },
		{ "Example.ORG", "example.org", 1 },
		{ "example.net", "example.org", 0 },
		{ "badexample.org", "example.org", 0 },
		{ "org", "example.org", 1 },	/* no public suffix list */
	};

	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		ck_assert_msg(tb_dkim_is_aligned(t[i].from, t[i].d) ==
		    t[i].want, "%s / %s", t[i].from, t[i].d);
}
END_TEST

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The cost of signing a 10 KB message, printed (not asserted: the
 * machine's load decides it). */
START_TEST(test_timing)
{
	static const char *const sels[] = { "rsa" };
	struct buf msg = { 0 }, sig = { 0 };

	buf_addstr(&msg, shapes[0].headers);
	buf_addstr(&msg, "\r\n");
	while (msg.len < 10240)
		buf_addstr(&msg, "Sammanfattning om =C3=B6kad samverkan mellan "
		    "kommuner och regioner i hela landet.\r\n");
	for (size_t i = 0; i < sizeof sels / sizeof *sels; i++) {
		struct tb_dkim *d = load_key(sels[i], "");
		const struct tb_dkim_key *k = tb_dkim_key_for(d, "example.org");
		struct error err = { 0 };
		int n = 200;
		double t0 = now_s();

		for (int j = 0; j < n; j++) {
			buf_reset(&sig);
			ck_assert(tb_dkim_sign(k, msg.data, msg.len, &sig,
			    &err) == 0);
		}
		fprintf(stderr, "# signing a %zu-byte message, %s %d bits: "
		    "%.0f microseconds\n", msg.len, tb_dkim_key_algorithm(k),
		    tb_dkim_key_bits(k),
		    (now_s() - t0) / n * 1e6);
		tb_dkim_free(d);
	}
	buf_free(&msg);
	buf_free(&sig);
}
END_TEST

static void
write_pem(EVP_PKEY *pk, const char *name, int public)
{
	char *p = xasprintf("%s/%s", keydir, name);
	FILE *fp = fopen(p, "w");

	if (pk == NULL || fp == NULL || (public ? PEM_write_PUBKEY(fp, pk) :
	    PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL)) != 1 ||
	    fclose(fp) != 0) {
		fprintf(stderr, "%s: cannot write\n", p);
		exit(99);
	}
	chmod(p, 0600);
	free(p);
}

/* The keys every test uses, and the bad files. */
static void
make_keys(void)
{
	struct error err = { 0 };
	char *zone = NULL, *p, *text;
	EVP_PKEY *pk;
	size_t len;

	keydir = tbtest_path("keys");
	if (tb_dkim_keygen(keydir, "rsa", "example.org", "rsa", 0, 0, &zone,
	    &err) == -1 || (free(zone), tb_dkim_keygen(keydir, "rsa2",
	    "example.org", "rsa", 3072, 0, &zone, &err)) == -1) {
		fprintf(stderr, "keygen: %s\n", err.msg);
		exit(99);
	}
	free(zone);
	/* A 1024-bit RSA key, a world-readable copy, a public key. */
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	write_pem(pk, "rsa1024.private", 0);
	write_pem(pk, "public.pem", 1);
	EVP_PKEY_free(pk);
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	write_pem(pk, "ed.private", 0);
	EVP_PKEY_free(pk);
	p = xasprintf("%s/rsa.private", keydir);
	text = tbtest_read(p, &len);
	free(p);
	p = xasprintf("%s/open.private", keydir);
	tbtest_write(p, text, (long)len);
	chmod(p, 0644);
	free(p);
	free(text);
	p = xasprintf("%s/junk.private", keydir);
	tbtest_write(p, "Detta är ingen nyckel.\n", -1);
	chmod(p, 0600);
	free(p);
}

int
main(void)
{
	Suite *s = suite_create("dkim");
	TCase *tc = tcase_create("dkim");

	make_keys();
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_keygen);
	tcase_add_test(tc, test_not_configured);
	tcase_add_test(tc, test_bad_keys);
	tcase_add_test(tc, test_sign_rsa);
	tcase_add_test(tc, test_sign_rsa3072);
	tcase_add_test(tc, test_headers_option);
	tcase_add_test(tc, test_key_for);
	tcase_add_test(tc, test_aligned);
	tcase_add_test(tc, test_timing);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
