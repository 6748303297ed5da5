/*
 * dkim: RFC 6376 (DKIM) signing and verification through libopendkim,
 * RFC 8301 (rsa-sha256, no RSA keys under 1024 bits; we ask for 2048), RFC 1035 section 3.3.14 (TXT strings of at most 255 octets),
 * RFC 8058 section 3.1 (the signature must cover List-Unsubscribe and
 * List-Unsubscribe-Post). Only this file includes <opendkim/dkim.h>.
 *
 * Every header in [dkim] headers is also "oversigned" (named once more in
 * h= than it occurs), so nobody on the way can add a second From, Subject
 * or List-Unsubscribe-Post, nor one the message did not have, without
 * breaking the signature.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <opendkim/dkim.h>

#include "conf.h"
#include "dkim.h"
#include "util.h"

#define KEY_FILE_MAX	65536	/* no PEM private key is larger */
#define ED25519_REFUSED	"libopendkim 2.11 leaks memory on every Ed25519 " \
	"signature, so temabrev signs with RSA keys (temabrev dkim keygen)"
#define MAX_HEADERS	64

static const char *const default_headers[] = {
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "List-Id", "List-Unsubscribe",
	"List-Unsubscribe-Post", "Reply-To",
};

struct tb_dkim_key {
	struct tb_dkim	*owner;
	char		*domain;
	char		*selector;
	char		*file;
	char		*pem;		/* canonical PKCS#8, given to libopendkim */
	size_t		 pemlen;
	EVP_PKEY	*pkey;
	dkim_alg_t	 alg;
	int		 bits;
	int		 is_default;	/* [dkim] itself, not [dkim DOMAIN] */
	struct tb_dkim_key	*reg_next;	/* in the registry of parsed keys */
};

struct tb_dkim {
	DKIM_LIB	 *lib;		/* signing only; shared by threads */
	char		**headers;	/* NULL-terminated */
	struct tb_dkim_key	**keys;
	size_t		  nkeys;
};

/*
 * The registry of parsed keys, for tb_dkim_parsed_key: the one piece of
 * process-wide mutable state here, changed only by tb_dkim_load and
 * tb_dkim_free (see src/dkimkey.c for why it exists).
 */
static pthread_mutex_t	 reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tb_dkim_key	*reg_head;

EVP_PKEY *
tb_dkim_parsed_key(const char *pem, size_t len)
{
	EVP_PKEY *pkey = NULL;

	pthread_mutex_lock(&reg_mu);
	for (struct tb_dkim_key *k = reg_head; k != NULL; k = k->reg_next)
		if (k->pemlen == len && memcmp(k->pem, pem, len) == 0) {
			if (EVP_PKEY_up_ref(k->pkey) == 1)
				pkey = k->pkey;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
	return pkey;
}

static void
reg_add(struct tb_dkim_key *k)
{
	pthread_mutex_lock(&reg_mu);
	k->reg_next = reg_head;
	reg_head = k;
	pthread_mutex_unlock(&reg_mu);
}

static void
reg_remove(struct tb_dkim_key *k)
{
	pthread_mutex_lock(&reg_mu);
	for (struct tb_dkim_key **pp = &reg_head; *pp != NULL;
	    pp = &(*pp)->reg_next)
		if (*pp == k) {
			*pp = k->reg_next;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
}

/* A domain or selector: LDH labels joined by dots, ASCII (A-labels). */
static int
valid_name(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c != '_')
			return 0;
		if (label == 0 && c == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

static char *
lower_dup(const char *s)
{
	char *d = xstrdup(s);

	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static void
free_headers(char **h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; h[i] != NULL; i++)
		free(h[i]);
	free(h);
}

/* [dkim] headers: names separated by commas, colons or white space. */
static int
parse_headers(const char *spec, char ***headers_r, struct error *err)
{
	char **h = xcalloc(MAX_HEADERS + 1, sizeof *h);
	size_t n = 0, nd = sizeof default_headers / sizeof *default_headers;
	int from = 0;

	if (spec == NULL) {
		for (size_t i = 0; i < nd; i++)
			h[i] = xstrdup(default_headers[i]);
		*headers_r = h;
		return 0;
	}
	for (const char *p = spec; *p != '\0';) {
		size_t len = strcspn(p, ",: \t");

		if (len == 0) {
			p++;
			continue;
		}
		for (size_t i = 0; i < len; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '-') {
				error_set(err, EX_CONFIG, "[dkim] headers: '%.*s' "
				    "is not a header name", (int)(len > 60 ? 60 :
				    len), p);
				goto fail;
			}
		if (n == MAX_HEADERS) {
			error_set(err, EX_CONFIG, "[dkim] headers: more than "
			    "%d names", MAX_HEADERS);
			goto fail;
		}
		h[n] = xstrndup(p, len);
		if (strcasecmp(h[n], "DKIM-Signature") == 0) {
			error_set(err, EX_CONFIG, "[dkim] headers: "
			    "DKIM-Signature cannot be signed");
			goto fail;
		}
		from |= strcasecmp(h[n], "From") == 0;
		n++;
		p += len;
	}
	if (!from) {
		error_set(err, EX_CONFIG, "[dkim] headers must include From "
		    "(RFC 6376 section 5.4)");
		goto fail;
	}
	*headers_r = h;
	return 0;
fail:
	free_headers(h);
	return -1;
}

/* Never prompt for a passphrase: an encrypted key is refused. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

/* Reads a key file, refusing what others could read. */
static int
read_key_file(const char *what, const char *path, struct buf *text,
    struct error *err)
{
	char chunk[4096];
	struct stat sb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		error_set(err, EX_CONFIG, "%s key_file %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		error_set(err, EX_CONFIG, "%s key_file %s: not a regular file",
		    what, path);
		goto fail;
	}
	if (sb.st_mode & (S_IROTH | S_IWOTH)) {
		error_set(err, EX_CONFIG, "%s key_file %s: world-%s (mode %04o):"
		    " anyone on this host could sign as the domain; chmod 600 "
		    "it", what, path, sb.st_mode & S_IROTH ? "readable" :
		    "writable", (unsigned)(sb.st_mode & 07777));
		goto fail;
	}
	while ((n = read(fd, chunk, sizeof chunk)) > 0 &&
	    text->len < KEY_FILE_MAX)
		buf_add(text, chunk, (size_t)n);
	if (n == -1) {
		error_set(err, EX_CONFIG, "%s key_file %s: %s", what, path,
		    strerror(errno));
		goto fail;
	}
	if (text->len >= KEY_FILE_MAX) {
		error_set(err, EX_CONFIG, "%s key_file %s: not a key (larger "
		    "than %d bytes)", what, path, KEY_FILE_MAX);
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

/* Parses the PEM text into key->pkey, and checks what kind of key it is. */
static int
parse_key(struct tb_dkim_key *k, const char *what,
    struct buf *text, struct error *err)
{
	BIO *in = NULL, *out = NULL;
	char *data;
	long n;
	int rc = -1, id;

	if (text->len == 0) {
		error_set(err, EX_CONFIG, "%s key_file %s: empty, not a key",
		    what, k->file);
		return -1;
	}
	in = BIO_new_mem_buf(text->data, (int)text->len);
	k->pkey = in ? PEM_read_bio_PrivateKey(in, NULL, no_passphrase,
	    NULL) : NULL;
	ERR_clear_error();
	if (k->pkey == NULL) {
		error_set(err, EX_CONFIG, "%s key_file %s: not a key (%s)",
		    what, k->file, strstr(text->data, "ENCRYPTED") ?
		    "an encrypted key: temabrev needs it unencrypted, mode "
		    "0600" : strstr(text->data, "PUBLIC KEY") ? "a public "
		    "key: the private one is needed" : "no PEM private key "
		    "in it");
		goto done;
	}
	id = EVP_PKEY_get_base_id(k->pkey);
	k->bits = EVP_PKEY_get_bits(k->pkey);
	if (id == EVP_PKEY_RSA) {
		if (k->bits < 2048) {
			error_set(err, EX_CONFIG, "%s key_file %s: a %d-bit RSA "
			    "key; 2048 bits or more are needed (temabrev dkim "
			    "keygen makes one)", what, k->file, k->bits);
			goto done;
		}
		k->alg = DKIM_SIGN_RSASHA256;
	} else if (id == EVP_PKEY_ED25519) {
		/* dkim_free() releases the key material of RSA signatures
		 * only: each Ed25519 signature leaks its key, a BIO and the
		 * signature buffer (seen with LeakSanitizer), which a daemon
		 * signing millions of messages cannot afford. */
		error_set(err, EX_CONFIG, "%s key_file %s: an Ed25519 key; %s",
		    what, k->file, ED25519_REFUSED);
		goto done;
	} else {
		error_set(err, EX_CONFIG, "%s key_file %s: not an RSA or "
		    "Ed25519 key", what, k->file);
		goto done;
	}
	/* libopendkim gets the key in one canonical form (whatever the
	 * file's comments or PEM flavour), which tb_dkim_parsed_key matches. */
	if ((out = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(out, k->pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || (n = BIO_get_mem_data(out, &data)) <= 0) {
		error_set(err, EX_SOFTWARE, "%s key_file %s: OpenSSL cannot "
		    "write the key back", what, k->file);
		goto done;
	}
	k->pem = xstrndup(data, (size_t)n);
	k->pemlen = (size_t)n;
	rc = 0;
done:
	ERR_clear_error();
	BIO_free(in);
	BIO_free(out);
	return rc;
}

static void
key_free(struct tb_dkim_key *k)
{
	if (k == NULL)
		return;
	if (k->pem != NULL)
		reg_remove(k);
	EVP_PKEY_free(k->pkey);
	if (k->pem != NULL)
		OPENSSL_cleanse(k->pem, k->pemlen);
	free(k->pem);
	free(k->domain);
	free(k->selector);
	free(k->file);
	free(k);
}

/* The smallest message worth signing: checks the key end to end. */
static const char self_test_msg[] =
    "From: temabrev <postmaster@example.org>\r\n"
    "Subject: temabrev dkim self-test\r\n"
    "\r\n"
    "Hej!\r\n";

/* One key section: names, file, key, and a signature that verifies. */
static int
add_key(struct tb_dkim *d, const char *what, const char *domain,
    const char *selector, const char *file, int is_default,
    struct error *err)
{
	struct tb_dkim_key *k = xcalloc(1, sizeof *k);
	struct buf text = { 0 }, sig = { 0 }, msg = { 0 };
	char *record = NULL;
	int rc = -1;

	k->owner = d;
	k->is_default = is_default;
	if (domain == NULL || *domain == '\0' || file == NULL ||
	    selector == NULL || *selector == '\0') {
		error_set(err, EX_CONFIG, "%s needs domain, selector and "
		    "key_file together (see temabrev.conf(5))", what);
		goto done;
	}
	if (!valid_name(domain)) {
		error_set(err, EX_CONFIG, "%s domain '%.80s' is not a domain "
		    "name in ASCII (an IDN domain is written xn--...)", what,
		    domain);
		goto done;
	}
	if (!valid_name(selector)) {
		error_set(err, EX_CONFIG, "%s selector '%.80s' is not a "
		    "selector (letters, digits, '-', dots)", what, selector);
		goto done;
	}
	k->domain = lower_dup(domain);
	k->selector = lower_dup(selector);
	k->file = xstrdup(file);
	if (read_key_file(what, file, &text, err) == -1 ||
	    parse_key(k, what, &text, err) == -1)
		goto done;
	reg_add(k);
	d->keys = xrealloc(d->keys, (d->nkeys + 1) * sizeof *d->keys);
	d->keys[d->nkeys++] = k;
	/* What libopendkim makes with this key verifies against the key's
	 * own record: checked once here, not found out by the receivers. */
	record = tb_dkim_key_record(k);
	buf_add(&msg, self_test_msg, sizeof self_test_msg - 1);
	if (tb_dkim_sign(k, msg.data, msg.len, &sig, err) == -1)
		goto done_listed;
	buf_add(&sig, msg.data, msg.len);
	if (tb_dkim_verify(sig.data, sig.len, record, 5, err) == -1) {
		struct error e2 = *err;

		error_set(err, EX_CONFIG, "%s key_file %s: a test signature "
		    "does not verify: %s", what, file, e2.msg);
		goto done_listed;
	}
	rc = 0;
	goto done_listed;
done:
	key_free(k);
done_listed:
	if (text.data != NULL)
		OPENSSL_cleanse(text.data, text.len);
	buf_free(&text);
	buf_free(&sig);
	buf_free(&msg);
	free(record);
	return rc;
}

static int
lib_new(struct tb_dkim *d, struct error *err)
{
	size_t n = 0;

	if ((d->lib = dkim_init(NULL, NULL)) == NULL) {
		error_set(err, EX_SOFTWARE, "libopendkim: dkim_init failed");
		return -1;
	}
	while (d->headers[n] != NULL)
		n++;
	if (dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    d->headers, sizeof d->headers) != DKIM_STAT_OK ||
	    dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    d->headers, sizeof d->headers) != DKIM_STAT_OK) {
		error_set(err, EX_CONFIG, "[dkim] headers: libopendkim refuses "
		    "the list of %zu names (too long?)", n);
		return -1;
	}
	return 0;
}

int
tb_dkim_load(const struct config *cfg, struct tb_dkim **r, struct error *err)
{
	struct tb_dkim *d = NULL;
	int any_default = cfg->dkim_domain != NULL ||
	    cfg->dkim_key_file != NULL || cfg->dkim_selector != NULL;
	char *what;

	*r = NULL;
	if (!any_default && cfg->dkim_domains == NULL) {
		if (cfg->dkim_headers != NULL) {
			error_set(err, EX_CONFIG, "[dkim] headers is set but "
			    "no key is: set domain, selector and key_file");
			return -1;
		}
		return 0;	/* not configured: unsigned, and said so */
	}
	d = xcalloc(1, sizeof *d);
	if (parse_headers(cfg->dkim_headers, &d->headers, err) == -1 ||
	    lib_new(d, err) == -1)
		goto fail;
	if (any_default && add_key(d, "[dkim]", cfg->dkim_domain,
	    cfg->dkim_selector, cfg->dkim_key_file, 1, err) == -1)
		goto fail;
	for (const struct conf_dkim *c = cfg->dkim_domains; c; c = c->next) {
		int rc;

		what = xasprintf("[dkim %s]", c->domain);
		rc = add_key(d, what, c->domain, c->selector, c->key_file, 0,
		    err);
		free(what);
		if (rc == -1)
			goto fail;
	}
	*r = d;
	return 0;
fail:
	tb_dkim_free(d);
	return -1;
}

void
tb_dkim_free(struct tb_dkim *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nkeys; i++)
		key_free(d->keys[i]);
	free(d->keys);
	if (d->lib != NULL)
		dkim_close(d->lib);
	free_headers(d->headers);
	free(d);
}

/* 1 when sub is dom or a subdomain of it (ASCII, any case). */
static int
is_within(const char *sub, const char *dom)
{
	size_t ls = strlen(sub), ld = strlen(dom);

	if (ls == ld)
		return strcasecmp(sub, dom) == 0;
	return ls > ld && sub[ls - ld - 1] == '.' &&
	    strcasecmp(sub + ls - ld, dom) == 0;
}

int
tb_dkim_is_aligned(const char *from_domain, const char *d)
{
	return is_within(from_domain, d) || is_within(d, from_domain);
}

const struct tb_dkim_key *
tb_dkim_key_for(const struct tb_dkim *d, const char *from_domain)
{
	const struct tb_dkim_key *best = NULL, *def = NULL;

	for (size_t i = 0; i < d->nkeys; i++) {
		const struct tb_dkim_key *k = d->keys[i];

		if (k->is_default)
			def = k;
		else if (is_within(from_domain, k->domain) && (best == NULL ||
		    strlen(k->domain) > strlen(best->domain)))
			best = k;
	}
	return best != NULL ? best : def;
}

size_t
tb_dkim_nkeys(const struct tb_dkim *d)
{
	return d->nkeys;
}

const struct tb_dkim_key *
tb_dkim_key_at(const struct tb_dkim *d, size_t i)
{
	return i < d->nkeys ? d->keys[i] : NULL;
}

const char *
tb_dkim_key_domain(const struct tb_dkim_key *k)
{
	return k->domain;
}

const char *
tb_dkim_key_selector(const struct tb_dkim_key *k)
{
	return k->selector;
}

const char *
tb_dkim_key_file(const struct tb_dkim_key *k)
{
	return k->file;
}

const char *
tb_dkim_key_algorithm(const struct tb_dkim_key *k)
{
	(void)k;
	return "rsa-sha256";	/* the one algorithm signed (see parse_key) */
}

int
tb_dkim_key_bits(const struct tb_dkim_key *k)
{
	return k->bits;
}

static void
base64(const unsigned char *in, size_t len, struct buf *out)
{
	size_t need = 4 * ((len + 2) / 3) + 1;
	int n;

	buf_grow(out, need);
	n = EVP_EncodeBlock((unsigned char *)out->data + out->len, in,
	    (int)len);
	out->len += (size_t)n;
	out->data[out->len] = '\0';
}

/* "v=DKIM1; k=rsa; p=BASE64(SubjectPublicKeyInfo)" (RFC 6376 3.6.1). */
static char *
record_of(EVP_PKEY *pkey)
{
	struct buf b = { 0 };
	unsigned char *der = NULL;
	int n;

	buf_addstr(&b, "v=DKIM1; k=rsa; p=");
	if ((n = i2d_PUBKEY(pkey, &der)) > 0)
		base64(der, (size_t)n, &b);
	OPENSSL_free(der);
	return buf_steal(&b);
}

char *
tb_dkim_key_record(const struct tb_dkim_key *k)
{
	return record_of(k->pkey);
}

int
tb_dkim_sign(const struct tb_dkim_key *k, const char *msg, size_t len,
    struct buf *out, struct error *err)
{
	DKIM_STAT st;
	DKIM *h;
	unsigned char *hdr;
	size_t hlen;
	const char *step = "tb_dkim_sign";

	h = dkim_sign(k->owner->lib, (const unsigned char *)"temabrev", NULL,
	    (dkim_sigkey_t)k->pem, (const unsigned char *)k->selector,
	    (const unsigned char *)k->domain, DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, k->alg, -1, &st);
	if (h == NULL) {
		error_set(err, EX_SOFTWARE, "DKIM signing for %s: %s",
		    k->domain, dkim_getresultstr(st));
		return -1;
	}
	/* dkim_chunk only reads the buffer; its prototype lacks const. */
	if ((st = dkim_chunk(h, (unsigned char *)(uintptr_t)msg,
	    len)) != DKIM_STAT_OK || (step = "end of message",
	    st = dkim_chunk(h, NULL, 0)) != DKIM_STAT_OK ||
	    (step = "signature", st = dkim_eom(h, NULL)) != DKIM_STAT_OK ||
	    (st = dkim_getsighdr_d(h, sizeof "DKIM-Signature: " - 1, &hdr,
	    &hlen)) != DKIM_STAT_OK) {
		const char *why = dkim_geterror(h);

		error_set(err, st == DKIM_STAT_SYNTAX ? EX_DATAERR :
		    EX_SOFTWARE, "DKIM signing for %s (%s): %s%s%s", k->domain,
		    step, dkim_getresultstr(st), why ? ": " : "",
		    why ? why : "");
		dkim_free(h);
		return -1;
	}
	/* libopendkim folds with CRLF at its margin (2.11, observed); the
	   message goes out without tb_smtp's line scan, so that stays so. */
	for (size_t i = 0; i < hlen; i++)
		if (hdr[i] == '\0' || (hdr[i] == '\n' && (i == 0 ||
		    hdr[i - 1] != '\r')) || (hdr[i] == '\r' &&
		    (i + 1 == hlen || hdr[i + 1] != '\n'))) {
			error_set(err, EX_SOFTWARE, "DKIM signing for %s: "
			    "the signature header has a bare CR or LF",
			    k->domain);
			dkim_free(h);
			return -1;
		}
	buf_addstr(out, "DKIM-Signature: ");
	buf_add(out, hdr, hlen);
	buf_addstr(out, "\r\n");
	dkim_free(h);
	return 0;
}

/* libopendkim's key lookup, answered from the record set on the handle. */
static DKIM_STAT
record_lookup(DKIM *h, DKIM_SIGINFO *sig, unsigned char *buf, size_t buflen)
{
	const char *record = dkim_get_user_context(h);
	size_t n = record ? strlen(record) : 0;

	(void)sig;
	if (record == NULL)
		return DKIM_STAT_NOKEY;
	if (n >= buflen)
		return DKIM_STAT_NORESOURCE;
	memcpy(buf, record, n + 1);
	return DKIM_STAT_OK;
}

/* Why a signature failed, in words. */
static void
verify_error(DKIM *h, DKIM_STAT st, const char *record, struct error *err)
{
	DKIM_SIGINFO *sig = dkim_getsignature(h);
	const char *why = dkim_geterror(h);
	int code = EX_DATAERR;
	char what[160] = "";

	if (sig != NULL)
		snprintf(what, sizeof what, " (d=%s s=%s)",
		    (const char *)dkim_sig_getdomain(sig),
		    (const char *)dkim_sig_getselector(sig));
	switch (st) {
	case DKIM_STAT_NOSIG:
		error_set(err, EX_DATAERR, "no DKIM-Signature in the message");
		return;
	case DKIM_STAT_BADSIG:
		if (sig != NULL && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH)
			error_set(err, EX_DATAERR, "signature%s fails: body hash "
			    "mismatch (the body was changed)", what);
		else
			error_set(err, EX_DATAERR, "signature%s fails: signature "
			    "mismatch (a signed header was changed, or the key "
			    "is not the one that signed)", what);
		return;
	case DKIM_STAT_NOKEY:
		code = record ? EX_DATAERR : EX_UNAVAILABLE;
		break;
	case DKIM_STAT_KEYFAIL:
		code = EX_TEMPFAIL;
		break;
	default:
		break;
	}
	if (sig != NULL && dkim_sig_geterror(sig) != DKIM_SIGERROR_OK)
		why = dkim_sig_geterrorstr(dkim_sig_geterror(sig));
	error_set(err, code, "signature%s cannot be verified: %s%s%s", what,
	    dkim_getresultstr(st), why ? ": " : "", why ? why : "");
}

int
tb_dkim_verify(const char *msg, size_t len, const char *record, int timeout,
    struct error *err)
{
	DKIM_LIB *lib = NULL;
	DKIM *h = NULL;
	DKIM_STAT st;
	unsigned int t = timeout > 0 ? (unsigned int)timeout : 10;
	int rc = -1;

	if ((lib = dkim_init(NULL, NULL)) == NULL) {
		error_set(err, EX_SOFTWARE, "libopendkim: dkim_init failed");
		return -1;
	}
	(void)dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &t,
	    sizeof t);
	if (record != NULL)
		(void)dkim_set_key_lookup(lib, record_lookup);
	if ((h = dkim_verify(lib, (const unsigned char *)"temabrev", NULL,
	    &st)) == NULL) {
		error_set(err, EX_SOFTWARE, "libopendkim: %s",
		    dkim_getresultstr(st));
		goto done;
	}
	if (record != NULL)
		(void)dkim_set_user_context(h, (void *)(uintptr_t)record);
	st = dkim_chunk(h, (unsigned char *)(uintptr_t)msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(h, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(h, NULL);
	if (st != DKIM_STAT_OK) {
		verify_error(h, st, record, err);
		goto done;
	}
	rc = 0;
done:
	if (h != NULL)
		dkim_free(h);
	dkim_close(lib);
	return rc;
}

void
tb_dkim_zone(const char *selector, const char *domain, const char *record,
    struct buf *out)
{
	const char *p = strstr(record, "p=");
	size_t head = p ? (size_t)(p - record) : strlen(record);

	buf_printf(out, "%s._domainkey.%s.\tIN\tTXT\t( \"%.*s\"", selector,
	    domain, (int)head, record);
	/* The key in strings of at most 255 octets (RFC 1035 3.3.14). */
	for (p = record + head; *p != '\0';) {
		size_t n = strlen(p) > 255 ? 255 : strlen(p);

		buf_printf(out, "\n\t\"%.*s\"", (int)n, p);
		p += n;
	}
	buf_addstr(out, " )\n");
}

int
tb_dkim_read_record(const char *path, char **record_r, struct error *err)
{
	struct buf text = { 0 }, rec = { 0 };
	char chunk[4096];
	FILE *fp = fopen(path, "r");
	size_t n;
	int quoted = 0, strings = 0;

	if (fp == NULL) {
		error_set(err, EX_NOINPUT, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0 &&
	    text.len < KEY_FILE_MAX)
		buf_add(&text, chunk, n);
	fclose(fp);
	for (size_t i = 0; i < text.len; i++) {
		if (text.data[i] == '"') {
			quoted = !quoted;
			strings++;
		} else if (quoted)
			buf_addc(&rec, text.data[i]);
	}
	if (strings == 0 && text.data != NULL)
		buf_addstr(&rec, util_trim(text.data));
	buf_free(&text);
	if (rec.data == NULL || strstr(rec.data, "p=") == NULL) {
		error_set(err, EX_DATAERR, "%s: no DKIM key record (v=DKIM1; "
		    "k=...; p=...) in it", path);
		buf_free(&rec);
		return -1;
	}
	*record_r = buf_steal(&rec);
	return 0;
}

/* Writes data to a new file beside path, then moves it into place. */
static int
write_file(const char *path, const char *data, size_t len, int mode,
    int force, struct error *err)
{
	char *tmp = xasprintf("%s.tmpXXXXXX", path);
	int fd = mkstemp(tmp), rc = -1;

	if (fd == -1) {
		error_set(err, EX_CANTCREAT, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fchmod(fd, (mode_t)mode) == -1 ||
	    write(fd, data, len) != (ssize_t)len || fsync(fd) == -1) {
		error_set(err, EX_IOERR, "%s: %s", tmp, strerror(errno));
		close(fd);
		goto done;
	}
	if (close(fd) == -1) {
		error_set(err, EX_IOERR, "%s: %s", tmp, strerror(errno));
		goto done;
	}
	/* link() refuses to replace a file; rename() replaces atomically. */
	if ((force ? rename(tmp, path) : link(tmp, path)) == -1) {
		error_set(err, EX_CANTCREAT, "%s: %s%s", path, strerror(errno),
		    errno == EEXIST ? " (--force replaces it)" : "");
		goto done;
	}
	rc = 0;
done:
	unlink(tmp);
	free(tmp);
	return rc;
}

int
tb_dkim_keygen(const char *dir, const char *selector, const char *domain,
    const char *type, int bits, int force, char **zone_r,
    struct error *err)
{
	EVP_PKEY *pkey = NULL;
	BIO *out = NULL;
	struct buf zone = { 0 };
	char *priv = NULL, *txt = NULL, *record = NULL, *data;
	long n;
	int rc = -1;

	if (!valid_name(selector) || !valid_name(domain)) {
		error_set(err, EX_USAGE, "'%.80s' / '%.80s': selector and "
		    "domain must be ASCII names (an IDN domain as xn--...)",
		    selector, domain);
		return -1;
	}
	if (util_mkdirs(dir, 0700) == -1) {
		error_set(err, EX_CANTCREAT, "%s: %s", dir, strerror(errno));
		return -1;
	}
	priv = xasprintf("%s/%s.private", dir, selector);
	txt = xasprintf("%s/%s.txt", dir, selector);
	if (!force && (access(priv, F_OK) == 0 || access(txt, F_OK) == 0)) {
		error_set(err, EX_CANTCREAT, "%s: exists (--force replaces "
		    "the key pair)", access(priv, F_OK) == 0 ? priv : txt);
		goto done;
	}
	if (strcmp(type, "rsa") == 0) {
		if (bits == 0)
			bits = 2048;
		if (bits < 2048 || bits > 8192) {
			error_set(err, EX_USAGE, "--bits %d: RSA keys of 2048 "
			    "to 8192 bits", bits);
			goto done;
		}
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else if (strcmp(type, "ed25519") == 0) {
		error_set(err, EX_USAGE, "--type ed25519: %s", ED25519_REFUSED);
		goto done;
	} else {
		error_set(err, EX_USAGE, "--type %.40s: rsa is the one type", type);
		goto done;
	}
	if (pkey == NULL || (out = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(out, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || (n = BIO_get_mem_data(out, &data)) <= 0) {
		error_set(err, EX_SOFTWARE, "OpenSSL cannot make a %s key",
		    type);
		goto done;
	}
	record = record_of(pkey);
	tb_dkim_zone(selector, domain, record, &zone);
	if (write_file(priv, data, (size_t)n, 0600, force, err) == -1 ||
	    write_file(txt, zone.data, zone.len, 0644, force, err) == -1)
		goto done;
	*zone_r = buf_steal(&zone);
	rc = 0;
done:
	ERR_clear_error();
	if (out != NULL) {
		BIO_free(out);
	}
	EVP_PKEY_free(pkey);
	buf_free(&zone);
	free(record);
	free(priv);
	free(txt);
	return rc;
}
