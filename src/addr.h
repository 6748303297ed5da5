/*
 * addr: the e-mail addresses and display names temabrev accepts.
 *
 * An address (RFC 5321 section 4.5.3.1 lengths, RFC 5322 dot-atom local
 * part) has exactly one @, an ASCII local part of at most 64 octets (libesmtp
 * has no SMTPUTF8), and a domain with a dot; the whole is at most 254 octets
 * in its ASCII form. International domains (IDNA2008, RFC 5891, via libidn2)
 * are kept in Unicode NFC for display and converted to A-labels for the wire
 * and for comparison. Addresses compare case-insensitively as a whole.
 */
#ifndef TB_ADDR_H
#define TB_ADDR_H

struct error;

#define ADDR_LOCAL_MAX	64
#define ADDR_MAX	254
#define ADDR_BUF	1024	/* a Unicode domain may take more bytes */
#define ADDR_NAME_MAX	200	/* octets of a display name */

struct addr {
	char	email[ADDR_BUF];	/* shown and stored: local@U-domain */
	char	ascii[ADDR_MAX + 1];	/* for SMTP: local@A-domain */
	char	key[ADDR_MAX + 1];	/* compare: lower-case ascii form */
};

/*
 * Parses input (leading and trailing white space ignored) into a. On error
 * returns -1 with EX_DATAERR and a reason that quotes the input.
 */
int	addr_parse(const char *input, struct addr *a, struct error *);

/*
 * Checks a display name: valid UTF-8, at most ADDR_NAME_MAX octets, no CR,
 * LF or other control character (they would let a name add mail headers).
 * The caller trims it first. Returns 0 or -1 with EX_DATAERR.
 */
int	addr_check_name(const char *name, struct error *);

#endif
