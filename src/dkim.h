/*
 * dkim: DKIM signatures (RFC 6376) on temabrev's messages, made with
 * libopendkim: relaxed/relaxed canonicalisation, rsa-sha256 (RSA keys of
 * 2048 bits or more; Ed25519 keys are refused, since libopendkim 2.11
 * leaks memory on each Ed25519 signature), over the [dkim]
 * headers (From and the RFC 2369/8058 list headers among them, so
 * one-click unsubscribe counts with the large mailbox providers).
 *
 * The keys of [dkim] and of each [dkim DOMAIN] section are read and checked
 * once, by tb_dkim_load, into a struct tb_dkim that is read-only afterwards and
 * may be shared by any number of threads: tb_dkim_sign uses one libopendkim
 * handle per message. A key file that is missing, unreadable,
 * world-readable, or not a usable key is an EX_CONFIG error naming the
 * file and the reason; nothing is ever sent unsigned because of it.
 * Also: key generation (keygen), the DNS TXT record of a key, and
 * verification (libopendkim's, against a given record or DNS) for
 * `temabrev dkim check` and the tests. Public names start with tb_dkim_:
 * libopendkim owns dkim_* (and struct dkim).
 */
#ifndef TB_DKIM_H
#define TB_DKIM_H

#include <stddef.h>

struct buf;
struct config;
struct error;
struct evp_pkey_st;

struct tb_dkim;		/* the loaded keys */
struct tb_dkim_key;	/* one signing identity: domain, selector, key */

/*
 * Loads and checks the keys the configuration names. Returns 0 with *r set
 * (the caller frees it with tb_dkim_free), or 0 with *r NULL when [dkim] is
 * not configured (no domain and key_file, no [dkim DOMAIN] section); -1
 * with EX_CONFIG and the key or file at fault otherwise. This is the one
 * call a program makes at start-up (and on reload) to check [dkim].
 */
int	tb_dkim_load(const struct config *, struct tb_dkim **r, struct error *);
void	tb_dkim_free(struct tb_dkim *);

/*
 * The key for messages From from_domain (ASCII, A-labels): the [dkim
 * DOMAIN] section whose domain is from_domain or a parent of it (the
 * longest), else [dkim] itself, else NULL (no key applies: the caller
 * must refuse to send unsigned). Borrowed from the struct tb_dkim.
 */
const struct tb_dkim_key *tb_dkim_key_for(const struct tb_dkim *,
	    const char *from_domain);

/* The keys in configuration order ([dkim] first); i < tb_dkim_nkeys. */
size_t	tb_dkim_nkeys(const struct tb_dkim *);
const struct tb_dkim_key *tb_dkim_key_at(const struct tb_dkim *, size_t i);

const char *tb_dkim_key_domain(const struct tb_dkim_key *);
const char *tb_dkim_key_selector(const struct tb_dkim_key *);
const char *tb_dkim_key_file(const struct tb_dkim_key *);
/* "rsa-sha256" (the one algorithm signed). */
const char *tb_dkim_key_algorithm(const struct tb_dkim_key *);
int	tb_dkim_key_bits(const struct tb_dkim_key *);
/* The key's public TXT record, "v=DKIM1; k=rsa; p=...". Caller frees. */
char	*tb_dkim_key_record(const struct tb_dkim_key *);

/*
 * 1 when a signature with d=d is aligned with a From of from_domain in
 * DMARC's relaxed mode, as far as it can be told without the public
 * suffix list: one domain equals the other or is a subdomain of it.
 */
int	tb_dkim_is_aligned(const char *from_domain, const char *d);

/*
 * Signs a complete message (CRLF lines, headers, empty line, body) and
 * appends its "DKIM-Signature: ..." header field, folded and ending in
 * CRLF, to out; the caller puts it before the message's own headers.
 * Thread-safe. -1 with EX_SOFTWARE (or EX_DATAERR for a message
 * libopendkim cannot parse) and libopendkim's reason.
 */
int	tb_dkim_sign(const struct tb_dkim_key *, const char *msg, size_t len,
	    struct buf *out, struct error *);

/*
 * Verifies the first DKIM-Signature of msg with libopendkim. The public
 * key comes from record ("v=DKIM1; k=...; p=...") when not NULL, else
 * from DNS (timeout seconds). Returns 0 when it verifies; -1 with
 * EX_DATAERR when the signature is missing or does not verify (the reason:
 * body hash mismatch, signature mismatch, ...), EX_UNAVAILABLE when the
 * DNS has no such record, EX_TEMPFAIL when DNS could not be asked.
 */
int	tb_dkim_verify(const char *msg, size_t len, const char *record,
	    int timeout, struct error *);

/*
 * Writes a new key pair for selector in dir: SELECTOR.private (PKCS#8 PEM,
 * mode 0600) and SELECTOR.txt (the DNS record in zone-file form). type is
 * "rsa" (2048 bits, or bits when > 0; "ed25519" is refused with the
 * reason). An existing file is
 * never replaced unless force is set. *zone_r (caller frees) is the zone
 * text also written to SELECTOR.txt.
 */
int	tb_dkim_keygen(const char *dir, const char *selector, const char *domain,
	    const char *type, int bits, int force, char **zone_r,
	    struct error *);

/*
 * The record as a zone-file line: SELECTOR._domainkey.DOMAIN. IN TXT ( "..."
 * "..." ), in strings of at most 255 octets (RFC 1035), appended to out.
 */
void	tb_dkim_zone(const char *selector, const char *domain,
	    const char *record, struct buf *out);

/*
 * Reads a record written as zone text (tb_dkim_zone, opendkim-genkey) or as
 * the bare record: the quoted strings joined, or the text as it is when it
 * has none. Caller frees *record_r.
 */
int	tb_dkim_read_record(const char *path, char **record_r, struct error *);

/*
 * For src/dkimkey.c only: the parsed private key loaded from exactly these
 * PEM bytes (a new reference), or NULL. libopendkim parses the key text of
 * every message again, which costs OpenSSL 3 more than the signature.
 */
struct evp_pkey_st *tb_dkim_parsed_key(const char *pem, size_t len);

#endif
