/*
 * imap: an IMAP4rev1 client (RFC 3501) over libetpan 1.9.4's low-level
 * mailimap API, for reading one mailbox: implicit TLS (RFC 8314) or
 * STARTTLS (RFC 2595) with the certificate verified here, since
 * libetpan's GnuTLS backend verifies nothing; LOGIN; UIDs with BODY.PEEK[]
 * in bounded batches; UID MOVE (RFC 6851) or COPY + STORE + UID EXPUNGE
 * (UIDPLUS, RFC 4315); IDLE (RFC 2177) or NOOP polling; mailbox names in
 * modified UTF-7 (RFC 3501 5.1.3) with the server's hierarchy delimiter.
 *
 * libetpan traps handled here (see LIBRARIES.md): connect returns 2 on
 * success; fetch results own the body bytes, so they are handed out
 * before the list is freed; capabilities announced after LOGIN are what
 * counts; and buffered IDLE data may not make the socket readable.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <libetpan/libetpan.h>

#include "imap.h"
#include "util.h"

#define DEFAULT_TIMEOUT	60		/* seconds */
#define POLL_INTERVAL	30		/* seconds between NOOPs without IDLE */
#define SIZE_CHUNK	1000		/* UIDs per RFC822.SIZE query */
#define BATCH_COUNT	100		/* messages per BODY.PEEK[] fetch */
#define BATCH_BYTES	(4u << 20)	/* octets per BODY.PEEK[] fetch */
#define SET_OCTETS	8000		/* octets of UID set per COPY/MOVE/STORE
					   command: each costs the server a
					   rewrite of the mailbox's index, so
					   as few as a command line allows
					   (RFC 7162 3.2.1 asks for 8192) */
#define KEEP_BUFFER	(1u << 20)	/* libetpan buffers kept after a fetch */
#define BACKOFF_FIRST	5
#define BACKOFF_MAX	300

struct tb_imap {
	mailimap	*s;
	char		 where[300];	/* "host:port" for every message */
	int		 timeout;
	int		 broken;	/* the stream failed: no more commands */
	char		 delim;		/* hierarchy delimiter; 0 unknown */
	int		 delim_known;
	char		*selected;	/* server name of the selected mailbox */
	int		 wake_fd;	/* readable: end a wait early; -1 none */
};

/* ---- errors ---- */

/*
 * Copies server text into dst as one printable line: CR, LF and TAB become
 * spaces, other control and 8-bit bytes '?', so it can go into a log.
 */
static void
copy_line(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (; src != NULL && *src != '\0' && o + 1 < size; src++) {
		unsigned char c = (unsigned char)*src;

		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		dst[o++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	dst[o] = '\0';
}

/*
 * Turns a libetpan result into err. Stream and parse failures leave the
 * connection in an unknown state, so it is marked broken.
 */
static int
fail(struct tb_imap *im, int r, const char *what, struct error *err)
{
	char text[256];

	copy_line(text, sizeof text, im->s != NULL ? im->s->imap_response :
	    NULL);
	switch (r) {
	case MAILIMAP_ERROR_STREAM:
		im->broken = 1;
		error_set(err, EX_TEMPFAIL, "imap %s: %s: connection lost or no "
		    "answer within %d s", im->where, what, im->timeout);
		break;
	case MAILIMAP_ERROR_PARSE:
		im->broken = 1;
		error_set(err, EX_PROTOCOL, "imap %s: %s: the server's answer "
		    "could not be parsed", im->where, what);
		break;
	case MAILIMAP_ERROR_MEMORY:
		im->broken = 1;
		error_set(err, EX_OSERR, "imap %s: %s: out of memory",
		    im->where, what);
		break;
	case MAILIMAP_ERROR_CONNECTION_REFUSED:
		im->broken = 1;
		error_set(err, EX_UNAVAILABLE, "imap %s: cannot connect (refused, "
		    "unreachable, unknown host or no answer within %d s)",
		    im->where, im->timeout);
		break;
	case MAILIMAP_ERROR_SSL:
		im->broken = 1;
		error_set(err, EX_UNAVAILABLE, "imap %s: %s: TLS handshake failed",
		    im->where, what);
		break;
	default:
		error_set(err, EX_UNAVAILABLE, "imap %s: %s refused: %s",
		    im->where, what, text[0] != '\0' ? text :
		    "(no reason given)");
		break;
	}
	return -1;
}

/* Every command starts here: is there a usable connection? */
static int
usable(struct tb_imap *im, int need_selected, const char *what,
    struct error *err)
{
	if (im == NULL || im->s == NULL) {
		error_set(err, EX_SOFTWARE, "imap: %s: no connection", what);
		return -1;
	}
	if (im->broken) {
		error_set(err, EX_TEMPFAIL, "imap %s: %s: the connection failed "
		    "earlier; reconnect", im->where, what);
		return -1;
	}
	if (need_selected && im->selected == NULL) {
		error_set(err, EX_SOFTWARE, "imap %s: %s: no mailbox selected",
		    im->where, what);
		return -1;
	}
	return 0;
}

/* ---- configuration ---- */

static int
is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	    inet_pton(AF_INET6, host, a) == 1;
}

static int
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* A host name (letters, digits, '-', '.') or an IP address. */
static int
valid_host(const char *host)
{
	size_t n = strlen(host);

	if (n == 0 || n > 253)
		return 0;
	if (is_ip(host))
		return 1;
	for (const char *p = host; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return 0;
	return 1;
}

int
tb_imap_check_config(const struct tb_imap_config *cfg, struct error *err)
{
	const char *host = cfg != NULL ? cfg->host : NULL;

	if (host == NULL || host[0] == '\0') {
		error_set(err, EX_CONFIG, "imap host: not set");
		return -1;
	}
	if (!valid_host(host)) {
		error_set(err, EX_CONFIG, "imap host %s: not a host name or IP "
		    "address", host);
		return -1;
	}
	if (cfg->port < 0 || cfg->port > 65535) {
		error_set(err, EX_CONFIG, "imap port %d: not a TCP port",
		    cfg->port);
		return -1;
	}
	if (cfg->tls != TB_IMAP_TLS && cfg->tls != TB_IMAP_STARTTLS &&
	    cfg->tls != TB_IMAP_NONE) {
		error_set(err, EX_CONFIG, "imap tls: unknown mode %d",
		    (int)cfg->tls);
		return -1;
	}
	if (cfg->tls == TB_IMAP_NONE && !is_loopback(host)) {
		error_set(err, EX_CONFIG, "imap host %s: tls=none is allowed only "
		    "to a loopback host (localhost, 127.0.0.0/8, ::1); the "
		    "password and the mail would cross the network in clear",
		    host);
		return -1;
	}
	if (cfg->user == NULL || cfg->user[0] == '\0') {
		error_set(err, EX_CONFIG, "imap user: not set");
		return -1;
	}
	if (cfg->password == NULL || cfg->password[0] == '\0') {
		error_set(err, EX_CONFIG, "imap user %s: no password",
		    cfg->user);
		return -1;
	}
	if (cfg->tls != TB_IMAP_NONE && cfg->ca_file != NULL &&
	    access(cfg->ca_file, R_OK) != 0) {
		error_set(err, EX_CONFIG, "imap ca_file %s: cannot read it: %s",
		    cfg->ca_file, strerror(errno));
		return -1;
	}
	if (cfg->timeout < 0) {
		error_set(err, EX_CONFIG, "imap timeout %d: negative",
		    cfg->timeout);
		return -1;
	}
	return 0;
}

/* ---- TLS ---- */

/* libetpan calls this before the handshake: SNI for host names only. */
static void
tls_setup(struct mailstream_ssl_context *ctx, void *arg)
{
	const char *host = arg;

	if (!is_ip(host))
		mailstream_ssl_set_server_name(ctx, (char *)host);
}

/*
 * Verifies the peer's chain (as GnuTLS received it, DER from libetpan)
 * with OpenSSL: trusted by ca_file or the system store, fit for a TLS
 * server, and naming host (DNS name or IP address). Called after the
 * handshake and before anything is written inside the session.
 */
static int
verify_peer(struct tb_imap *im, const struct tb_imap_config *cfg,
    struct error *err)
{
	carray *chain = NULL;
	STACK_OF(X509) *untrusted = NULL;
	X509 *leaf = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	const char *why = NULL;
	int rc = -1;

	/* A socket stream has no chain function and yields NULL. */
	chain = mailstream_get_certificate_chain(im->s->imap_stream);
	if (chain == NULL || carray_count(chain) == 0) {
		why = "the server sent no certificate";
		goto fail;
	}
	untrusted = sk_X509_new_null();
	for (unsigned i = 0; i < carray_count(chain); i++) {
		MMAPString *der = carray_get(chain, i);
		const unsigned char *p = (const unsigned char *)der->str;
		X509 *x = d2i_X509(NULL, &p, (long)der->len);

		if (x == NULL) {
			why = "the server sent an unreadable certificate";
			goto fail;
		}
		if (i == 0)
			leaf = x;
		else if (untrusted == NULL || !sk_X509_push(untrusted, x)) {
			X509_free(x);
			why = "out of memory";
			goto fail;
		}
	}
	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL) {
		why = "out of memory";
		goto fail;
	}
	if (cfg->ca_file != NULL) {
		if (X509_STORE_load_file(store, cfg->ca_file) != 1) {
			error_set(err, EX_CONFIG, "imap ca_file %s: no PEM "
			    "certificate in it", cfg->ca_file);
			goto out;
		}
	} else if (X509_STORE_set_default_paths(store) != 1) {
		why = "the system's trust store could not be loaded";
		goto fail;
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		why = "out of memory";
		goto fail;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (is_ip(cfg->host) ? X509_VERIFY_PARAM_set1_ip_asc(param,
	    cfg->host) != 1 : X509_VERIFY_PARAM_set1_host(param, cfg->host,
	    0) != 1) {
		why = "cannot check the host name";
		goto fail;
	}
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		error_set(err, EX_UNAVAILABLE, "imap %s: TLS certificate refused: "
		    "%s%s (trusted: %s); nothing was sent", im->where,
		    X509_verify_cert_error_string(e),
		    e == X509_V_ERR_HOSTNAME_MISMATCH ||
		    e == X509_V_ERR_IP_ADDRESS_MISMATCH ?
		    ", the certificate does not name this host" : "",
		    cfg->ca_file != NULL ? cfg->ca_file : "the system store");
		goto out;
	}
	rc = 0;
	goto out;
fail:
	error_set(err, EX_UNAVAILABLE, "imap %s: TLS certificate refused: %s; "
	    "nothing was sent", im->where, why);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(leaf);
	sk_X509_pop_free(untrusted, X509_free);
	mailstream_certificate_chain_free(chain);
	return rc;
}

/* ---- open and close ---- */

/* The program must ignore SIGPIPE, or a dropped connection kills it. */
static int
sigpipe_ignored(void)
{
	struct sigaction sa;

	return sigaction(SIGPIPE, NULL, &sa) == 0 &&
	    sa.sa_handler != SIG_DFL;
}

/*
 * Forgets the capabilities the server announced before login (and, with
 * STARTTLS, before TLS: they were unprotected), so that what counts is
 * what it says after login.
 */
static void
forget_capabilities(struct tb_imap *im)
{
	if (im->s->imap_connection_info != NULL &&
	    im->s->imap_connection_info->imap_capability != NULL) {
		mailimap_capability_data_free(
		    im->s->imap_connection_info->imap_capability);
		im->s->imap_connection_info->imap_capability = NULL;
	}
}

/* Connects and brings up TLS as cfg says; the greeting has been read. */
static int
connect_tls(struct tb_imap *im, const struct tb_imap_config *cfg,
    uint16_t port, int *preauth, struct error *err)
{
	int r;

	if (cfg->tls == TB_IMAP_TLS)
		r = mailimap_ssl_connect_with_callback(im->s, cfg->host, port,
		    tls_setup, (void *)cfg->host);
	else
		r = mailimap_socket_connect(im->s, cfg->host, port);
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED)
		return fail(im, r, "connect", err);
	*preauth = r == MAILIMAP_NO_ERROR_AUTHENTICATED;
	if (cfg->tls == TB_IMAP_STARTTLS) {
		if (*preauth) {
			im->broken = 1;
			error_set(err, EX_UNAVAILABLE, "imap %s: the server "
			    "greeted with PREAUTH before STARTTLS; refusing an "
			    "unprotected session", im->where);
			return -1;
		}
		r = mailimap_socket_starttls_with_callback(im->s, tls_setup,
		    (void *)cfg->host);
		if (r == MAILIMAP_ERROR_STREAM) {
			im->broken = 1;
			error_set(err, EX_UNAVAILABLE, "imap %s: STARTTLS: TLS "
			    "handshake failed or connection lost", im->where);
			return -1;
		}
		if (r != MAILIMAP_NO_ERROR)
			return fail(im, r, "STARTTLS", err);
		/* Bytes that came with the STARTTLS answer were sent in clear
		   and would be read as if protected (CVE-2020-15953). */
		if (im->s->imap_stream->read_buffer_len != 0) {
			im->broken = 1;
			error_set(err, EX_PROTOCOL, "imap %s: data after the "
			    "STARTTLS answer, before TLS; refusing (injection "
			    "attempt?)", im->where);
			return -1;
		}
	}
	if (cfg->tls != TB_IMAP_NONE && verify_peer(im, cfg, err) == -1) {
		im->broken = 1;
		return -1;
	}
	return 0;
}

int
tb_imap_open(const struct tb_imap_config *cfg, struct tb_imap **imap_r,
    struct error *err)
{
	struct tb_imap *im = NULL;
	struct mailimap_capability_data *caps = NULL;
	uint16_t port;
	int preauth = 0, r;

	*imap_r = NULL;
	if (tb_imap_check_config(cfg, err) == -1)
		return -1;
	if (!sigpipe_ignored()) {
		error_set(err, EX_SOFTWARE, "imap: SIGPIPE is not ignored; a "
		    "dropped connection would kill the program");
		return -1;
	}
	port = (uint16_t)(cfg->port != 0 ? cfg->port :
	    cfg->tls == TB_IMAP_TLS ? 993 : 143);
	im = xcalloc(1, sizeof *im);
	im->wake_fd = -1;
	im->timeout = cfg->timeout > 0 ? cfg->timeout : DEFAULT_TIMEOUT;
	snprintf(im->where, sizeof im->where, strchr(cfg->host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", cfg->host, (unsigned)port);
	if ((im->s = mailimap_new(0, NULL)) == NULL) {
		error_set(err, EX_OSERR, "imap %s: out of memory", im->where);
		goto fail;
	}
	mailimap_set_timeout(im->s, im->timeout);
	if (connect_tls(im, cfg, port, &preauth, err) == -1)
		goto fail;
	forget_capabilities(im);
	if (!preauth) {
		r = mailimap_login(im->s, cfg->user, cfg->password);
		if (r == MAILIMAP_ERROR_LOGIN) {
			char text[256];

			/* The user name helps; the password never appears. */
			copy_line(text, sizeof text, im->s->imap_response);
			error_set(err, EX_NOPERM, "imap %s: login as %s refused: "
			    "%s", im->where, cfg->user, text[0] != '\0' ? text :
			    "(no reason given)");
			goto fail;
		}
		if (r != MAILIMAP_NO_ERROR) {
			fail(im, r, "login", err);
			goto fail;
		}
	}
	/* Dovecot puts CAPABILITY in the LOGIN answer; others need asking. */
	if (im->s->imap_connection_info == NULL ||
	    im->s->imap_connection_info->imap_capability == NULL) {
		r = mailimap_capability(im->s, &caps);
		if (r != MAILIMAP_NO_ERROR) {
			fail(im, r, "CAPABILITY", err);
			goto fail;
		}
		mailimap_capability_data_free(caps);
	}
	*imap_r = im;
	return 0;
fail:
	im->broken = 1;		/* no LOGOUT on a half-open session */
	tb_imap_close(im);
	return -1;
}

void
tb_imap_close(struct tb_imap *im)
{
	if (im == NULL)
		return;
	if (im->s != NULL) {
		if (!im->broken && im->s->imap_stream != NULL)
			mailimap_logout(im->s);
		mailimap_free(im->s);
	}
	free(im->selected);
	free(im);
}

int
tb_imap_has(struct tb_imap *im, const char *capability)
{
	if (im == NULL || im->s == NULL || capability == NULL)
		return 0;
	return mailimap_has_extension(im->s, capability) == 1;
}

unsigned
tb_imap_backoff(unsigned attempt)
{
	unsigned s = BACKOFF_FIRST;

	while (attempt-- > 0 && s < BACKOFF_MAX)
		s *= 2;
	return s < BACKOFF_MAX ? s : BACKOFF_MAX;
}

/* ---- mailbox names ---- */

/*
 * Appends one UTF-8 level to out in modified UTF-7 (RFC 3501 5.1.3):
 * printable ASCII as itself ('&' as "&-"), anything else as UTF-16 in
 * modified base64 between '&' and '-'. The input is valid UTF-8.
 */
static void
utf7_append(struct buf *out, const char *s, size_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *end = p + len;
	uint32_t bits = 0;
	int nbits = 0, in_b64 = 0;

	while (p < end) {
		uint32_t cp;
		uint16_t units[2];
		int nu;

		if (*p >= 0x20 && *p < 0x7f) {
			if (in_b64) {
				if (nbits > 0)
					buf_addc(out,
					    b64[(bits << (6 - nbits)) & 0x3f]);
				buf_addc(out, '-');
				in_b64 = 0;
				nbits = 0;
				bits = 0;
			}
			buf_addc(out, (char)*p);
			if (*p == '&')
				buf_addc(out, '-');
			p++;
			continue;
		}
		if (*p < 0x80)
			cp = *p++;
		else if (*p < 0xe0) {
			cp = ((uint32_t)(p[0] & 0x1f) << 6) | (p[1] & 0x3f);
			p += 2;
		} else if (*p < 0xf0) {
			cp = ((uint32_t)(p[0] & 0x0f) << 12) |
			    ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
			p += 3;
		} else {
			cp = ((uint32_t)(p[0] & 0x07) << 18) |
			    ((uint32_t)(p[1] & 0x3f) << 12) |
			    ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
			p += 4;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			units[0] = (uint16_t)(0xd800 | (cp >> 10));
			units[1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
			nu = 2;
		} else {
			units[0] = (uint16_t)cp;
			nu = 1;
		}
		if (!in_b64) {
			buf_addc(out, '&');
			in_b64 = 1;
		}
		for (int i = 0; i < nu; i++) {
			bits = (bits << 16) | units[i];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				buf_addc(out, b64[(bits >> nbits) & 0x3f]);
			}
			bits &= (1u << nbits) - 1;
		}
	}
	if (in_b64) {
		if (nbits > 0)
			buf_addc(out, b64[(bits << (6 - nbits)) & 0x3f]);
		buf_addc(out, '-');
	}
}

/* Learns the hierarchy delimiter once, from LIST "" "". */
static int
learn_delimiter(struct tb_imap *im, struct error *err)
{
	clist *list = NULL;
	int r;

	if (im->delim_known)
		return 0;
	r = mailimap_list(im->s, "", "", &list);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, "LIST \"\" \"\"", err);
	if (list != NULL && clist_begin(list) != NULL) {
		struct mailimap_mailbox_list *mb =
		    clist_content(clist_begin(list));

		im->delim = mb->mb_delimiter;
	}
	im->delim_known = 1;
	if (list != NULL)
		mailimap_list_result_free(list);
	return 0;
}

/*
 * The server name for logical (levels split at '/'), or NULL with err.
 * Levels must be non-empty, printable, without LIST wildcards and without
 * the server's delimiter (it would add a level the caller did not ask
 * for).
 */
static char *
server_name(struct tb_imap *im, const char *logical, struct error *err)
{
	struct buf out = { 0 };
	const char *p = logical, *why = NULL;
	size_t len = logical != NULL ? strlen(logical) : 0;

	if (len == 0 || len > 512)
		why = "empty or longer than 512 bytes";
	else if (!util_valid_utf8(logical, len))
		why = "not valid UTF-8";
	for (size_t i = 0; why == NULL && i < len; i++) {
		unsigned char c = (unsigned char)logical[i];

		if (c < 0x20 || c == 0x7f)
			why = "contains a control character";
		else if (c == '%' || c == '*')
			why = "contains a wildcard (% or *)";
		else if (c == '/' && (i == 0 || i + 1 == len ||
		    logical[i + 1] == '/'))
			why = "has an empty level (leading, trailing or double /)";
		else if (c != '/' && im->delim != 0 && c == (unsigned char)im->delim)
			why = "contains the server's hierarchy delimiter inside "
			    "a level";
	}
	if (why == NULL && im->delim == 0 && strchr(logical, '/') != NULL)
		why = "has levels but the server has a flat namespace";
	if (why != NULL) {
		error_set(err, EX_CONFIG, "imap mailbox '%s': %s", logical, why);
		return NULL;
	}
	if (strcasecmp(logical, "INBOX") == 0)
		return xstrdup("INBOX");
	while (*p != '\0') {
		size_t n = strcspn(p, "/");

		utf7_append(&out, p, n);
		p += n;
		if (*p == '/') {
			buf_addc(&out, im->delim);
			p++;
		}
	}
	return buf_steal(&out);
}

/* 1 when a flag says the name is not a real (selectable) mailbox. */
static int
not_selectable(const struct mailimap_mailbox_list *mb)
{
	struct mailimap_mbx_list_flags *fl = mb->mb_flag;

	if (fl == NULL)
		return 0;
	if (fl->mbf_type == MAILIMAP_MBX_LIST_FLAGS_SFLAG &&
	    fl->mbf_sflag == MAILIMAP_MBX_LIST_SFLAG_NOSELECT)
		return 1;
	for (clistiter *it = fl->mbf_oflags != NULL ?
	    clist_begin(fl->mbf_oflags) : NULL; it != NULL;
	    it = clist_next(it)) {
		struct mailimap_mbx_list_oflag *of = clist_content(it);

		if (of->of_type == MAILIMAP_MBX_LIST_OFLAG_FLAG_EXT &&
		    of->of_flag_ext != NULL &&
		    (strcasecmp(of->of_flag_ext, "NonExistent") == 0 ||
		    strcasecmp(of->of_flag_ext, "Noselect") == 0))
			return 1;
	}
	return 0;
}

/*
 * Does the server know `name`? Sets *state_r to 0 absent, 1 present but
 * not selectable (a bare hierarchy level), 2 a mailbox.
 */
static int
mailbox_state(struct tb_imap *im, const char *name, int *state_r,
    struct error *err)
{
	clist *list = NULL;
	int r;

	*state_r = 0;
	r = mailimap_list(im->s, "", name, &list);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, "LIST", err);
	for (clistiter *it = list != NULL ? clist_begin(list) : NULL;
	    it != NULL; it = clist_next(it)) {
		struct mailimap_mailbox_list *mb = clist_content(it);

		if (mb->mb_name == NULL || (strcmp(mb->mb_name, name) != 0 &&
		    !(strcasecmp(name, "INBOX") == 0 &&
		    strcasecmp(mb->mb_name, "INBOX") == 0)))
			continue;
		*state_r = not_selectable(mb) ? 1 : 2;
		break;
	}
	if (list != NULL)
		mailimap_list_result_free(list);
	return 0;
}

/* Creates and subscribes `name`; a concurrent creation is fine. */
static int
create_one(struct tb_imap *im, const char *name, struct error *err)
{
	int r = mailimap_create(im->s, name), state;

	if (r != MAILIMAP_NO_ERROR) {
		if (r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_PARSE)
			return fail(im, r, "CREATE", err);
		/* Someone else may have created it meanwhile. */
		if (mailbox_state(im, name, &state, err) == -1)
			return -1;
		if (state == 0)
			return fail(im, r, "CREATE", err);
	}
	r = mailimap_subscribe(im->s, name);
	if (r != MAILIMAP_NO_ERROR)
		return fail(im, r, "SUBSCRIBE", err);
	return 0;
}

int
tb_imap_mailbox(struct tb_imap *im, const char *logical, int create,
    char **name_r, struct error *err)
{
	char *name = NULL;
	int state;

	*name_r = NULL;
	if (usable(im, 0, "mailbox", err) == -1 ||
	    learn_delimiter(im, err) == -1 ||
	    (name = server_name(im, logical, err)) == NULL)
		return -1;
	if (mailbox_state(im, name, &state, err) == -1)
		goto fail;
	if (state != 2 && !create) {
		error_set(err, EX_CONFIG, "imap %s: mailbox '%s' does not exist",
		    im->where, logical);
		goto fail;
	}
	if (state != 2) {
		/* Parents first, so no server invents a \Noselect level. */
		for (char *p = name; im->delim != 0 &&
		    (p = strchr(p, im->delim)) != NULL; p++) {
			int pstate;

			*p = '\0';
			if (mailbox_state(im, name, &pstate, err) == -1 ||
			    (pstate == 0 && create_one(im, name, err) == -1)) {
				*p = im->delim;
				goto fail;
			}
			*p = im->delim;
		}
		if (create_one(im, name, err) == -1)
			goto fail;
	}
	*name_r = name;
	return 0;
fail:
	free(name);
	return -1;
}

/* ---- select, list, fetch ---- */

int
tb_imap_select(struct tb_imap *im, const char *name,
    struct tb_imap_status *st_r, struct error *err)
{
	struct mailimap_selection_info *si;
	int r;

	memset(st_r, 0, sizeof *st_r);
	if (usable(im, 0, "SELECT", err) == -1)
		return -1;
	free(im->selected);
	im->selected = NULL;
	r = mailimap_select(im->s, name);
	if (r != MAILIMAP_NO_ERROR) {
		char what[300];

		snprintf(what, sizeof what, "SELECT %s", name);
		return fail(im, r, what, err);
	}
	si = im->s->imap_selection_info;
	if (si == NULL || si->sel_uidvalidity == 0) {
		error_set(err, EX_PROTOCOL, "imap %s: SELECT %s: the server gave "
		    "no UIDVALIDITY", im->where, name);
		return -1;
	}
	st_r->uidvalidity = si->sel_uidvalidity;
	st_r->uidnext = si->sel_uidnext;
	st_r->exists = si->sel_exists;
	im->selected = xstrdup(name);
	return 0;
}

/*
 * libetpan keeps its read buffers at their largest size; after a big
 * fetch they would pin the memory of the largest batch for the life of
 * the connection, so oversized ones are replaced by fresh ones.
 */
static void
shrink_buffers(struct tb_imap *im)
{
	MMAPString **bufs[] = { &im->s->imap_stream_buffer,
	    &im->s->imap_response_buffer };

	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
		MMAPString *fresh;

		if (*bufs[i] == NULL || (*bufs[i])->allocated_len <= KEEP_BUFFER)
			continue;
		if ((fresh = mmap_string_new("")) == NULL)
			continue;
		mmap_string_free(*bufs[i]);
		*bufs[i] = fresh;
	}
}

/* What one FETCH response says about one message. */
struct att {
	uint32_t	 uid;
	uint32_t	 size;
	int		 has_size;
	const char	*body;
	size_t		 len;
};

static void
read_att(const struct mailimap_msg_att *ma, struct att *a)
{
	memset(a, 0, sizeof *a);
	for (clistiter *it = clist_begin(ma->att_list); it != NULL;
	    it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		struct mailimap_msg_att_static *st;

		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		st = item->att_data.att_static;
		switch (st->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			a->uid = st->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			a->size = st->att_data.att_rfc822_size;
			a->has_size = 1;
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (st->att_data.att_body_section != NULL &&
			    st->att_data.att_body_section->sec_body_part !=
			    NULL) {
				a->body = st->att_data.att_body_section->
				    sec_body_part;
				a->len = st->att_data.att_body_section->
				    sec_length;
			}
			break;
		default:
			break;
		}
	}
}

/* UID FETCH set (UID RFC822.SIZE [BODY.PEEK[]]); set is freed here. */
static int
uid_fetch(struct tb_imap *im, struct mailimap_set *set, int body,
    clist **result, struct error *err)
{
	struct mailimap_fetch_type *ft = NULL;
	int r;

	*result = NULL;
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	if (ft == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid()) != MAILIMAP_NO_ERROR ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_rfc822_size()) != MAILIMAP_NO_ERROR ||
	    (body && mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(
	    mailimap_section_new(NULL))) != MAILIMAP_NO_ERROR)) {
		if (ft != NULL)
			mailimap_fetch_type_free(ft);
		mailimap_set_free(set);
		error_set(err, EX_OSERR, "imap %s: out of memory", im->where);
		return -1;
	}
	r = mailimap_uid_fetch(im->s, set, ft, result);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		*result = NULL;
		return fail(im, r, body ? "UID FETCH BODY.PEEK[]" :
		    "UID FETCH RFC822.SIZE", err);
	}
	return 0;
}

static int
cmp_entry(const void *a, const void *b)
{
	uint32_t x = ((const struct tb_imap_entry *)a)->uid;
	uint32_t y = ((const struct tb_imap_entry *)b)->uid;

	return x < y ? -1 : x > y;
}

int
tb_imap_list(struct tb_imap *im, uint32_t from_uid,
    struct tb_imap_entry **v_r, size_t *n_r, struct error *err)
{
	struct tb_imap_entry *v = NULL;
	size_t n = 0, cap = 0;
	clist *res = NULL;
	struct mailimap_set *set;

	*v_r = NULL;
	*n_r = 0;
	if (usable(im, 1, "list", err) == -1)
		return -1;
	if (from_uid == 0)
		from_uid = 1;
	if ((set = mailimap_set_new_interval(from_uid, 0)) == NULL) {
		error_set(err, EX_OSERR, "imap %s: out of memory", im->where);
		return -1;
	}
	if (uid_fetch(im, set, 0, &res, err) == -1)
		return -1;
	for (clistiter *it = clist_begin(res); it != NULL;
	    it = clist_next(it)) {
		struct att a;

		read_att(clist_content(it), &a);
		/* n:* always includes the last message, even below n. */
		if (a.uid < from_uid || !a.has_size)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[n].uid = a.uid;
		v[n].size = a.size;
		n++;
	}
	mailimap_fetch_list_free(res);
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_entry);
	*v_r = v;
	*n_r = n;
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A set of UIDs with consecutive runs as ranges; NULL when out of memory. */
static struct mailimap_set *
make_set(const uint32_t *sorted, size_t n)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	size_t i = 0;

	while (set != NULL && i < n) {
		size_t j = i;

		while (j + 1 < n && sorted[j + 1] <= sorted[j] + 1)
			j++;
		if (mailimap_set_add_interval(set, sorted[i], sorted[j]) !=
		    MAILIMAP_NO_ERROR) {
			mailimap_set_free(set);
			return NULL;
		}
		i = j + 1;
	}
	return set;
}

static size_t
digits(uint32_t u)
{
	size_t n = 1;

	while (u >= 10) {
		u /= 10;
		n++;
	}
	return n;
}

/*
 * How many of the n sorted UIDs (at least one) make a set whose text
 * (ranges "a:b" joined by commas, as make_set builds it) fits in octets.
 */
static size_t
set_span(const uint32_t *sorted, size_t n, size_t octets)
{
	size_t i = 0, used = 0;

	while (i < n) {
		size_t j = i, len;

		while (j + 1 < n && sorted[j + 1] <= sorted[j] + 1)
			j++;
		len = digits(sorted[i]) + (j > i ? 1 + digits(sorted[j]) : 0) +
		    (i > 0);
		if (used + len > octets)
			return i > 0 ? i : j + 1;	/* a range is short */
		used += len;
		i = j + 1;
	}
	return n;
}

/* Sorted, without zeros and duplicates; caller frees. */
static uint32_t *
sorted_uids(const uint32_t *uids, size_t n, size_t *m_r)
{
	uint32_t *v = xmalloc((n ? n : 1) * sizeof *v);
	size_t m = 0;

	memcpy(v, uids, n * sizeof *v);
	qsort(v, n, sizeof *v, cmp_u32);
	for (size_t i = 0; i < n; i++)
		if (v[i] != 0 && (m == 0 || v[m - 1] != v[i]))
			v[m++] = v[i];
	*m_r = m;
	return v;
}

/* Fetches one batch of bodies and hands them to cb. */
static int
fetch_batch(struct tb_imap *im, const uint32_t *uids, size_t n,
    tb_imap_fetch_cb cb, void *arg, struct error *err)
{
	struct mailimap_set *set = make_set(uids, n);
	clist *res = NULL;
	int rc = 0;

	if (set == NULL) {
		error_set(err, EX_OSERR, "imap %s: out of memory", im->where);
		return -1;
	}
	if (uid_fetch(im, set, 1, &res, err) == -1)
		return -1;
	for (clistiter *it = clist_begin(res); it != NULL && rc == 0;
	    it = clist_next(it)) {
		struct att a;

		read_att(clist_content(it), &a);
		/* Unsolicited FETCH responses (flag changes) carry no body. */
		if (a.body == NULL || bsearch(&a.uid, uids, n, sizeof *uids,
		    cmp_u32) == NULL)
			continue;
		if (cb(a.uid, a.body, a.len, arg, err) != 0)
			rc = -1;
	}
	mailimap_fetch_list_free(res);
	shrink_buffers(im);
	return rc;
}

int
tb_imap_fetch(struct tb_imap *im, const uint32_t *uids, size_t n,
    tb_imap_fetch_cb cb, void *arg, struct error *err)
{
	uint32_t *v = NULL, *batch = NULL;
	struct tb_imap_entry *sizes = NULL;
	size_t m, nsizes = 0;
	int rc = -1;

	if (usable(im, 1, "fetch", err) == -1)
		return -1;
	v = sorted_uids(uids, n, &m);
	batch = xmalloc(BATCH_COUNT * sizeof *batch);
	sizes = xmalloc(SIZE_CHUNK * sizeof *sizes);
	for (size_t off = 0; off < m; off += SIZE_CHUNK) {
		size_t chunk = m - off < SIZE_CHUNK ? m - off : SIZE_CHUNK;
		struct mailimap_set *set = make_set(v + off, chunk);
		clist *res = NULL;
		size_t nb = 0;
		uint64_t bytes = 0;

		/* Sizes first, so that each batch can be bounded in bytes. */
		if (set == NULL) {
			error_set(err, EX_OSERR, "imap %s: out of memory",
			    im->where);
			goto out;
		}
		if (uid_fetch(im, set, 0, &res, err) == -1)
			goto out;
		nsizes = 0;
		for (clistiter *it = clist_begin(res); it != NULL;
		    it = clist_next(it)) {
			struct att a;

			read_att(clist_content(it), &a);
			if (nsizes < SIZE_CHUNK && bsearch(&a.uid, v + off,
			    chunk, sizeof *v, cmp_u32) != NULL) {
				sizes[nsizes].uid = a.uid;
				sizes[nsizes].size = a.size;
				nsizes++;
			}
		}
		mailimap_fetch_list_free(res);
		qsort(sizes, nsizes, sizeof *sizes, cmp_entry);
		for (size_t i = 0; i < nsizes; i++) {
			if (nb > 0 && (nb == BATCH_COUNT ||
			    bytes + sizes[i].size > BATCH_BYTES)) {
				if (fetch_batch(im, batch, nb, cb, arg, err) == -1)
					goto out;
				nb = 0;
				bytes = 0;
			}
			if (i > 0 && sizes[i].uid == sizes[i - 1].uid)
				continue;
			batch[nb++] = sizes[i].uid;
			bytes += sizes[i].size;
		}
		if (nb > 0 && fetch_batch(im, batch, nb, cb, arg, err) == -1)
			goto out;
	}
	rc = 0;
out:
	free(v);
	free(batch);
	free(sizes);
	return rc;
}

/* ---- move ---- */

/* The fallback for one chunk: COPY, STORE \Deleted, (UID) EXPUNGE. */
static int
copy_delete(struct tb_imap *im, const uint32_t *uids, size_t n,
    const char *name, struct error *err)
{
	struct mailimap_set *set = make_set(uids, n);
	struct mailimap_flag_list *fl = NULL;
	struct mailimap_store_att_flags *sf = NULL;
	int r, rc = -1;

	if (set == NULL)
		goto oom;
	if ((r = mailimap_uid_copy(im->s, set, name)) != MAILIMAP_NO_ERROR) {
		char what[300];

		snprintf(what, sizeof what, "UID COPY to %s", name);
		fail(im, r, what, err);
		goto out;
	}
	if ((fl = mailimap_flag_list_new_empty()) == NULL)
		goto oom;
	if (mailimap_flag_list_add(fl, mailimap_flag_new_deleted()) !=
	    MAILIMAP_NO_ERROR)
		goto oom;
	if ((sf = mailimap_store_att_flags_new_add_flags_silent(fl)) == NULL)
		goto oom;
	fl = NULL;		/* owned by sf now */
	if ((r = mailimap_uid_store(im->s, set, sf)) != MAILIMAP_NO_ERROR) {
		fail(im, r, "UID STORE +FLAGS (\\Deleted)", err);
		goto out;
	}
	if (tb_imap_has(im, "UIDPLUS"))
		r = mailimap_uid_expunge(im->s, set);
	else
		r = mailimap_expunge(im->s);
	if (r != MAILIMAP_NO_ERROR) {
		fail(im, r, "EXPUNGE", err);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	error_set(err, EX_OSERR, "imap %s: out of memory", im->where);
out:
	if (sf != NULL)
		mailimap_store_att_flags_free(sf);
	if (fl != NULL)
		mailimap_flag_list_free(fl);
	if (set != NULL)
		mailimap_set_free(set);
	return rc;
}

int
tb_imap_move(struct tb_imap *im, const uint32_t *uids, size_t n,
    const char *name, struct error *err)
{
	uint32_t *v;
	size_t m;
	int use_move, rc = -1;

	if (usable(im, 1, "move", err) == -1)
		return -1;
	use_move = tb_imap_has(im, "MOVE");
	v = sorted_uids(uids, n, &m);
	for (size_t off = 0, chunk; off < m; off += chunk) {
		chunk = set_span(v + off, m - off, SET_OCTETS);

		if (use_move) {
			struct mailimap_set *set = make_set(v + off, chunk);
			int r;

			if (set == NULL) {
				error_set(err, EX_OSERR, "imap %s: out of memory",
				    im->where);
				goto out;
			}
			r = mailimap_uid_move(im->s, set, name);
			mailimap_set_free(set);
			if (r != MAILIMAP_NO_ERROR) {
				char what[300];

				snprintf(what, sizeof what, "UID MOVE to %s",
				    name);
				fail(im, r, what, err);
				goto out;
			}
		} else if (copy_delete(im, v + off, chunk, name, err) == -1)
			goto out;
	}
	rc = 0;
out:
	free(v);
	return rc;
}

/* ---- waiting for mail ---- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
tb_imap_set_wake(struct tb_imap *im, int fd)
{
	im->wake_fd = fd;
}

/*
 * Waits until the socket is readable, libetpan already holds unread
 * bytes, or ms pass: 0 (either way); 1 when the wake descriptor became
 * readable instead; -1 when poll fails.
 */
static int
wait_readable(struct tb_imap *im, int64_t ms)
{
	struct pollfd pfd[2];
	nfds_t n = im->wake_fd >= 0 ? 2 : 1;
	int r;

	if (im->s->imap_stream->read_buffer_len > 0)
		return 0;
	pfd[0].fd = mailimap_idle_get_fd(im->s);
	pfd[1].fd = im->wake_fd;
	pfd[0].events = pfd[1].events = POLLIN;
	pfd[0].revents = pfd[1].revents = 0;
	do
		r = poll(pfd, n, ms > INT_MAX ? INT_MAX : (int)ms);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return -1;
	return n == 2 && pfd[1].revents != 0 && pfd[0].revents == 0 ? 1 : 0;
}

/* NOOP, and whether it reported new messages. */
static int
noop(struct tb_imap *im, int *maybe_new_r, struct error *err)
{
	struct mailimap_selection_info *si = im->s->imap_selection_info;
	int r;

	si->sel_has_exists = 0;
	si->sel_has_recent = 0;
	if ((r = mailimap_noop(im->s)) != MAILIMAP_NO_ERROR)
		return fail(im, r, "NOOP", err);
	*maybe_new_r = si->sel_has_exists || si->sel_has_recent;
	return 0;
}

int
tb_imap_idle(struct tb_imap *im, int timeout_sec, int *maybe_new_r,
    struct error *err)
{
	int64_t deadline;
	int r;

	*maybe_new_r = 0;
	if (usable(im, 1, "IDLE", err) == -1)
		return -1;
	deadline = now_ms() + (int64_t)(timeout_sec > 0 ? timeout_sec : 0) *
	    1000;
	/* A NOOP first: mail that came since the last command, and what
	   libetpan would drop if the server said it before IDLE's "+". */
	if (noop(im, maybe_new_r, err) == -1 || *maybe_new_r)
		return *maybe_new_r ? 0 : -1;
	while (now_ms() < deadline) {
		int64_t left = deadline - now_ms();
		int woken;

		if (!tb_imap_has(im, "IDLE")) {
			if (left > POLL_INTERVAL * 1000)
				left = POLL_INTERVAL * 1000;
			if ((woken = wait_readable(im, left)) == -1)
				goto poll_failed;
			if (noop(im, maybe_new_r, err) == -1)
				return -1;
		} else {
			struct mailimap_selection_info *si =
			    im->s->imap_selection_info;

			if ((r = mailimap_idle(im->s)) != MAILIMAP_NO_ERROR)
				return fail(im, r, "IDLE", err);
			/* The timeout also covers data GnuTLS has decrypted
			   but libetpan has not read (PITFALL 13). */
			if ((woken = wait_readable(im, left)) == -1)
				goto poll_failed;
			if ((r = mailimap_idle_done(im->s)) != MAILIMAP_NO_ERROR)
				return fail(im, r, "IDLE (DONE)", err);
			*maybe_new_r = si->sel_has_exists || si->sel_has_recent;
		}
		if (*maybe_new_r || woken)
			return 0;
	}
	return 0;
poll_failed:
	im->broken = 1;
	error_set(err, EX_OSERR, "imap %s: poll: %s", im->where,
	    strerror(errno));
	return -1;
}
