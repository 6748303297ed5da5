/*
 * temabrev dkim: make a key pair and the DNS record to publish (keygen),
 * and check the [dkim] configuration end to end (check): every key signs a
 * sample message that must verify against the key's record file, must
 * fail once a signed header is changed, and, when the host can resolve
 * names, must verify against the record published in DNS.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "dkim.h"
#include "mime.h"
#include "theme.h"
#include "util.h"

#define U_KEYGEN "temabrev dkim keygen --domain DOMAIN --selector SELECTOR " \
	"--out DIR [--bits N] [--force]"
#define U_CHECK "temabrev dkim check [--no-dns] [--timeout SECONDS]"

struct keygen_opts {
	const char	*domain, *selector, *dir, *type;
	long long	 bits;
	int		 force;
};

static const struct cli_opt keygen_options[] = {
	CLI_OPT_STR("domain", struct keygen_opts, domain),
	CLI_OPT_STR("selector", struct keygen_opts, selector),
	CLI_OPT_STR("out", struct keygen_opts, dir),
	CLI_OPT_STR("type", struct keygen_opts, type),
	CLI_OPT_NUM("bits", struct keygen_opts, bits, 1, 16384),
	CLI_OPT_FLAG("force", struct keygen_opts, force),
	CLI_OPT_END
};

static int
dkim_keygen_cmd(struct cli *c, int argc, char **argv)
{
	struct keygen_opts o = { NULL, NULL, NULL, "rsa", 0, 0 };
	char *zone = NULL;
	int i, help;

	if ((i = cli_parse(argc, argv, keygen_options, &o, U_KEYGEN, &help)) ==
	    -1)
		return help ? 0 : cli_usage(U_KEYGEN);
	if (i != argc || !o.domain || !o.selector || !o.dir)
		return cli_usage(U_KEYGEN);
	if (tb_dkim_keygen(o.dir, o.selector, o.domain, o.type, (int)o.bits,
	    o.force, &zone, &c->err) == -1)
		return cli_fail(c);
	printf("private key: %s/%s.private (mode 0600; point [dkim] key_file "
	    "at it)\n", o.dir, o.selector);
	printf("DNS record (also in %s/%s.txt), to publish in the zone of "
	    "%s:\n\n%s", o.dir, o.selector, o.domain, zone);
	free(zone);
	return 0;
}

/* A message like an edition's: Swedish text, the list headers. */
static int
sample_message(const struct tb_dkim_key *k, struct buf *out, struct error *err)
{
	struct mime *m = mime_new();
	char date[MIME_DATE_LEN], *from, *v;
	static const char body[] = "Hej Åsa!\n\nDetta är ett prov från "
	    "temabrev dkim check: räksmörgåsar på Åland.\n";
	int rc = -1;

	from = xasprintf("postmaster@%s", tb_dkim_key_domain(k));
	mime_date(time(NULL), date);
	if (mime_add_addr_header(m, "From", "Temabrev DKIM-kontroll", from,
	    err) == -1 ||
	    mime_add_addr_header(m, "To", "Åsa Öberg", "asa.oberg@example.org",
	    err) == -1 ||
	    mime_add_text_header(m, "Subject", "Kontroll av DKIM-signaturen: "
	    "räksmörgås", err) == -1 ||
	    mime_add_raw_header(m, "Date", date, err) == -1 ||
	    mime_add_raw_header(m, "Message-ID", "<dkim-check@temabrev>",
	    err) == -1 ||
	    mime_add_raw_header(m, "List-Id", "<check.temabrev>", err) == -1)
		goto done;
	v = xasprintf("<mailto:unsubscribe@%s?subject=unsubscribe>, "
	    "<https://%s/u/check>", tb_dkim_key_domain(k), tb_dkim_key_domain(k));
	rc = mime_add_raw_header(m, "List-Unsubscribe", v, err);
	free(v);
	if (rc == -1 || mime_add_raw_header(m, "List-Unsubscribe-Post",
	    "List-Unsubscribe=One-Click", err) == -1 ||
	    mime_set_text(m, body, sizeof body - 1, err) == -1 ||
	    mime_finish(m, out, err) == -1) {
		rc = -1;
		goto done;
	}
	rc = 0;
done:
	free(from);
	mime_free(m);
	return rc;
}

/* The record file next to the key: DIR/SELECTOR.txt for .private. */
static char *
record_path(const char *key_file)
{
	size_t n = strlen(key_file);

	if (n > 8 && strcmp(key_file + n - 8, ".private") == 0)
		return xasprintf("%.*s.txt", (int)(n - 8), key_file);
	return xasprintf("%s.txt", key_file);
}

/* Replaces the first byte of the Subject's value: any signed change. */
static void
tamper_subject(struct buf *msg)
{
	char *p = strstr(msg->data, "\r\nSubject: ");

	if (p != NULL)
		p[11] = p[11] == 'X' ? 'Y' : 'X';
}

/* One key: the steps, one line each; returns the exit code of the worst. */
static int
check_key(struct cli *c, const struct tb_dkim_key *k, int dns, int timeout)
{
	struct buf msg = { 0 }, body = { 0 };
	char *rpath = record_path(tb_dkim_key_file(k)), *record = NULL;
	const char *source;
	int rc = 0;

	printf("d=%s s=%s %s (%d bits), key %s\n", tb_dkim_key_domain(k),
	    tb_dkim_key_selector(k), tb_dkim_key_algorithm(k), tb_dkim_key_bits(k),
	    tb_dkim_key_file(k));
	if (access(rpath, F_OK) == 0) {
		if (tb_dkim_read_record(rpath, &record, &c->err) == -1) {
			rc = cli_fail(c);
			goto done;
		}
		source = rpath;
	} else {
		record = tb_dkim_key_record(k);
		source = "the public key derived from the private key";
	}
	if (sample_message(k, &body, &c->err) == -1 ||
	    tb_dkim_sign(k, body.data, body.len, &msg, &c->err) == -1) {
		rc = cli_fail(c);
		goto done;
	}
	buf_add(&msg, body.data, body.len);	/* the signature comes first */
	if (tb_dkim_verify(msg.data, msg.len, record, timeout, &c->err) == -1) {
		printf("  sample message: does NOT verify against %s: %s\n",
		    source, c->err.msg);
		rc = EX_DATAERR;
		goto done;
	}
	printf("  sample message: signed, verifies against %s\n", source);
	tamper_subject(&msg);
	if (tb_dkim_verify(msg.data, msg.len, record, timeout, &c->err) == 0) {
		printf("  changed Subject: still verifies (it must not)\n");
		rc = EX_SOFTWARE;
		goto done;
	}
	tamper_subject(&msg);
	printf("  changed Subject: fails, as it must\n");
	if (!dns) {
		printf("  DNS %s._domainkey.%s: not checked (--no-dns)\n",
		    tb_dkim_key_selector(k), tb_dkim_key_domain(k));
		goto done;
	}
	if (tb_dkim_verify(msg.data, msg.len, NULL, timeout, &c->err) == 0) {
		printf("  DNS %s._domainkey.%s: published, verifies\n",
		    tb_dkim_key_selector(k), tb_dkim_key_domain(k));
	} else if (c->err.code == EX_TEMPFAIL) {
		printf("  DNS %s._domainkey.%s: not checked, names cannot be "
		    "resolved here (%s)\n", tb_dkim_key_selector(k),
		    tb_dkim_key_domain(k), c->err.msg);
	} else {
		printf("  DNS %s._domainkey.%s: %s\n", tb_dkim_key_selector(k),
		    tb_dkim_key_domain(k), c->err.code == EX_UNAVAILABLE ?
		    "no record published: publish the record of temabrev dkim "
		    "keygen (SELECTOR.txt)" : c->err.msg);
		rc = c->err.code;
	}
done:
	buf_free(&msg);
	buf_free(&body);
	free(record);
	free(rpath);
	return rc;
}

/* Which key signs [general] from, and whether DMARC will count it. */
static int
check_from(struct cli *c, const struct tb_dkim *d)
{
	const struct tb_dkim_key *k;
	char *display = NULL, ascii[320];
	const char *domain;

	if (c->conf->from == NULL)
		return 0;
	if (theme_parse_from(c->conf->from, &display, ascii, &c->err) == -1)
		return cli_fail(c);
	free(display);
	domain = strrchr(ascii, '@') + 1;
	if ((k = tb_dkim_key_for(d, domain)) == NULL) {
		printf("From %s ([general] from): no key covers it: "
		    "editions from it cannot be sent\n", domain);
		return EX_CONFIG;
	}
	printf("From %s ([general] from): signed as d=%s, %s\n", domain,
	    tb_dkim_key_domain(k), tb_dkim_is_aligned(domain, tb_dkim_key_domain(k)) ?
	    "aligned (DMARC passes on DKIM)" : "NOT aligned: DMARC will not "
	    "pass on DKIM; add a [dkim DOMAIN] section for it");
	return 0;
}

struct check_opts {
	int		 no_dns;
	long long	 timeout;
};

static const struct cli_opt check_options[] = {
	CLI_OPT_FLAG("no-dns", struct check_opts, no_dns),
	CLI_OPT_NUM("timeout", struct check_opts, timeout, 1, 300),
	CLI_OPT_END
};

static int
dkim_check_cmd(struct cli *c, int argc, char **argv)
{
	struct check_opts o = { 0, 5 };
	struct tb_dkim *d = NULL;
	int first, help, rc = 0, r;

	if ((first = cli_parse(argc, argv, check_options, &o, U_CHECK,
	    &help)) == -1)
		return help ? 0 : cli_usage(U_CHECK);
	if (first != argc)
		return cli_usage(U_CHECK);
	if (tb_dkim_load(cli_conf(c), &d, &c->err) == -1)
		return cli_fail(c);
	if (d == NULL)
		return cli_error(EX_CONFIG, "[dkim] is not configured: temabrev "
		    "sends its mail unsigned, so the relay must sign it (see "
		    "temabrev.conf(5) and doc/mail-setup.md)");
	for (size_t i = 0; i < tb_dkim_nkeys(d); i++)
		if ((r = check_key(c, tb_dkim_key_at(d, i), !o.no_dns,
		    (int)o.timeout)) != 0 && rc == 0)
			rc = r;
	if ((r = check_from(c, d)) != 0 && rc == 0)
		rc = r;
	tb_dkim_free(d);
	if (rc == 0)
		printf("dkim check: ok\n");
	return rc;
}

static const struct cli_cmd verbs[] = {
	{ "keygen", dkim_keygen_cmd, "--domain DOMAIN --selector SELECTOR "
	    "--out DIR [--bits N] [--force]",
	    "make a key pair and print the DNS record to publish" },
	{ "check", dkim_check_cmd, "[--no-dns] [--timeout SECONDS]",
	    "sign a sample message with each [dkim] key and verify it" },
};

int
cmd_dkim(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "temabrev dkim", verbs,
	    sizeof verbs / sizeof verbs[0], argc - 1, argv + 1);
}
