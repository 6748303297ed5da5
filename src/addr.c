/*
 * addr: address validation and normalisation. RFC 5321 (lengths), RFC 5322
 * section 3.4.1 (dot-atom local parts), RFC 5890/5891 IDNA2008 with UTS #46
 * mapping through libidn2, Unicode NFC through libunistring.
 */
#include "config.h"

#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <uninorm.h>

#include "addr.h"
#include "util.h"

/* RFC 5322 atext: letters, digits and these. */
static int
is_atext(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
check_local(const char *local, size_t len, const char *input,
    struct error *err)
{
	if (len == 0) {
		error_set(err, EX_DATAERR, "%s: address has nothing before @",
		    input);
		return -1;
	}
	if (len > ADDR_LOCAL_MAX) {
		error_set(err, EX_DATAERR, "%s: local part longer than %d octets",
		    input, ADDR_LOCAL_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)local[i];

		if (c >= 0x80) {
			error_set(err, EX_DATAERR, "%s: local part is not ASCII "
			    "(SMTPUTF8 is not supported)", input);
			return -1;
		}
		if (c == '.') {
			if (i == 0 || i == len - 1 || local[i - 1] == '.') {
				error_set(err, EX_DATAERR, "%s: misplaced dot "
				    "in local part", input);
				return -1;
			}
			continue;
		}
		if (!is_atext(c)) {
			error_set(err, EX_DATAERR, "%s: character '%c' not "
			    "allowed in local part", input, c);
			return -1;
		}
	}
	return 0;
}

/* Letters, digits and inner hyphens, 1-63 octets per label; a dot needed. */
static int
check_ascii_domain(const char *d, const char *input, struct error *err)
{
	const char *label = d;
	int dots = 0;

	for (const char *p = d; ; p++) {
		if (*p == '.' || *p == '\0') {
			size_t n = (size_t)(p - label);

			if (n == 0 || n > 63 || label[0] == '-' ||
			    label[n - 1] == '-') {
				error_set(err, EX_DATAERR, "%s: bad domain "
				    "label", input);
				return -1;
			}
			if (*p == '\0')
				break;
			dots++;
			label = p + 1;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-')) {
			error_set(err, EX_DATAERR, "%s: character '%c' not "
			    "allowed in domain", input, *p);
			return -1;
		}
	}
	if (dots == 0) {
		error_set(err, EX_DATAERR, "%s: domain has no dot", input);
		return -1;
	}
	return 0;
}

static void
lower_ascii(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int
has_alabel(const char *d)
{
	for (const char *p = d; *p; p++)
		if ((p == d || p[-1] == '.') && strncasecmp(p, "xn--", 4) == 0)
			return 1;
	return 0;
}

/*
 * Fills the display (Unicode NFC) and ASCII (A-label, lower case) forms of
 * a domain. ASCII domains keep their spelling for display; A-labels are
 * shown decoded so one domain has one display form.
 */
static int
parse_domain(const char *dom, const char *input, char *disp, size_t displen,
    char *ascii, size_t asciilen, struct error *err)
{
	char *a = NULL, *u = NULL;
	uint8_t *nfc = NULL;
	size_t nfclen = 0;
	int ascii_only = 1, rc = -1, r;

	for (const char *p = dom; *p; p++)
		if ((unsigned char)*p >= 0x80)
			ascii_only = 0;
	if (ascii_only && !has_alabel(dom)) {
		if (strlen(dom) >= asciilen) {
			error_set(err, EX_DATAERR, "%s: address longer than "
			    "%d octets", input, ADDR_MAX);
			goto fail;
		}
		memcpy(ascii, dom, strlen(dom) + 1);
		lower_ascii(ascii);
		if (check_ascii_domain(ascii, input, err) == -1)
			goto fail;
		memcpy(disp, dom, strlen(dom) + 1);	/* displen > asciilen */
		return 0;
	}
	nfc = u8_normalize(UNINORM_NFC, (const uint8_t *)dom, strlen(dom),
	    NULL, &nfclen);
	if (nfc == NULL) {
		error_set(err, EX_DATAERR, "%s: domain is not valid Unicode",
		    input);
		goto fail;
	}
	nfc = xrealloc(nfc, nfclen + 1);
	nfc[nfclen] = '\0';
	r = idn2_to_ascii_8z((const char *)nfc, &a, IDN2_NONTRANSITIONAL);
	if (r != IDN2_OK) {
		error_set(err, EX_DATAERR, "%s: bad international domain: %s",
		    input, idn2_strerror(r));
		goto fail;
	}
	lower_ascii(a);
	if (strlen(a) >= asciilen) {
		error_set(err, EX_DATAERR, "%s: address longer than %d octets",
		    input, ADDR_MAX);
		goto fail;
	}
	if (check_ascii_domain(a, input, err) == -1)
		goto fail;
	snprintf(ascii, asciilen, "%s", a);
	if (ascii_only) {
		/* Given as A-labels: show the U-labels. */
		r = idn2_to_unicode_8z8z(a, &u, 0);
		if (r != IDN2_OK) {
			error_set(err, EX_DATAERR, "%s: bad A-label: %s",
			    input, idn2_strerror(r));
			goto fail;
		}
		snprintf(disp, displen, "%s", u);
	} else
		snprintf(disp, displen, "%s", (const char *)nfc);
	rc = 0;
fail:
	free(nfc);
	idn2_free(a);
	idn2_free(u);
	return rc;
}

/* out = local@domain; the caller checked that it fits. */
static void
join(char *out, const char *local, size_t loclen, const char *domain)
{
	size_t dlen = strlen(domain);

	memcpy(out, local, loclen);
	out[loclen] = '@';
	memcpy(out + loclen + 1, domain, dlen + 1);
}

int
addr_parse(const char *input, struct addr *out, struct error *err)
{
	char buf[ADDR_BUF], disp[ADDR_BUF], ascii[ADDR_MAX + 1];
	char shown[64];
	const char *at;
	size_t n, loclen;

	size_t inlen = strlen(input);

	/* Quote at most a short prefix of the input in messages. */
	memcpy(shown, input, inlen < sizeof shown ? inlen + 1 : sizeof shown);
	shown[sizeof shown - 1] = '\0';
	if (inlen >= ADDR_BUF) {
		error_set(err, EX_DATAERR, "%.40s...: address longer than %d "
		    "octets", input, ADDR_MAX);
		return -1;
	}
	memcpy(buf, input, inlen + 1);
	util_trim(buf);
	n = strlen(buf);
	if (n == 0) {
		error_set(err, EX_DATAERR, "empty address");
		return -1;
	}
	if (!util_valid_utf8(buf, n)) {
		error_set(err, EX_DATAERR, "%s: address is not valid UTF-8",
		    shown);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c <= 0x20 || c == 0x7f) {
			error_set(err, EX_DATAERR, "%s: address contains a space "
			    "or control character", shown);
			return -1;
		}
	}
	if ((at = strchr(buf, '@')) == NULL) {
		error_set(err, EX_DATAERR, "%s: address has no @", shown);
		return -1;
	}
	if (strchr(at + 1, '@') != NULL) {
		error_set(err, EX_DATAERR, "%s: address has more than one @",
		    shown);
		return -1;
	}
	loclen = (size_t)(at - buf);
	if (check_local(buf, loclen, shown, err) == -1)
		return -1;
	if (at[1] == '\0') {
		error_set(err, EX_DATAERR, "%s: address has no domain", shown);
		return -1;
	}
	if (parse_domain(at + 1, shown, disp, sizeof disp, ascii,
	    sizeof ascii, err) == -1)
		return -1;
	if (loclen + 1 + strlen(ascii) > ADDR_MAX) {
		error_set(err, EX_DATAERR, "%s: address longer than %d octets",
		    shown, ADDR_MAX);
		return -1;
	}
	if (loclen + 1 + strlen(disp) >= sizeof out->email) {
		error_set(err, EX_DATAERR, "%s: address too long", shown);
		return -1;
	}
	/* Plain copies: this runs once per imported row. */
	join(out->email, buf, loclen, disp);
	join(out->ascii, buf, loclen, ascii);
	memcpy(out->key, out->ascii, strlen(out->ascii) + 1);
	lower_ascii(out->key);
	return 0;
}

int
addr_check_name(const char *name, struct error *err)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t n = strlen(name);

	if (n > ADDR_NAME_MAX) {
		error_set(err, EX_DATAERR, "name longer than %d octets: %.40s...",
		    ADDR_NAME_MAX, name);
		return -1;
	}
	if (!util_valid_utf8(name, n)) {
		error_set(err, EX_DATAERR, "name is not valid UTF-8");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			error_set(err, EX_DATAERR, "name contains a line break");
			return -1;
		}
		/* C0 controls, DEL, C1 controls (U+0080-U+009F: C2 80-9F). */
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)) {
			error_set(err, EX_DATAERR, "name contains a control "
			    "character");
			return -1;
		}
		/* U+2028 LINE SEPARATOR, U+2029 PARAGRAPH SEPARATOR. */
		if (p[i] == 0xe2 && i + 2 < n && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			error_set(err, EX_DATAERR, "name contains a line break");
			return -1;
		}
	}
	return 0;
}
