/*
 * smtp: delivery of finished messages over libESMTP 1.1. One call is one
 * SMTP session (RFC 5321) carrying one transaction per message, pipelined
 * when the server offers PIPELINING (RFC 2920); STARTTLS (RFC 3207) with
 * our own OpenSSL 3 context that verifies the chain and the host name;
 * AUTH PLAIN/LOGIN (RFC 4954) only inside TLS; outcomes read from the
 * MAIL, RCPT and end-of-data replies and their enhanced status codes
 * (RFC 3463). libESMTP hides several failures (a refused certificate, a
 * refused STARTTLS, a failed AUTH all end with smtp_start_session() == 1
 * and no status), so this file watches its events and the protocol
 * monitor and turns each of them into an error of its own.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

/* Both must come before libesmtp.h, or it hides the prototypes of
   smtp_starttls_set_ctx() and smtp_auth_set_context(). */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <auth-client.h>
#include <libesmtp.h>

#include "smtp.h"
#include "util.h"

#define SUBMISSION_PORT	587
#define LINE_MAX_OCTETS	998	/* RFC 5322 2.1.1, without the CRLF */
#define CRED_MAX	255	/* libESMTP's PLAIN copies into 2*255+3 */

/* What one session has seen; lives on the stack of tb_smtp_deliver. */
struct deliv {
	const struct tb_smtp_config *cfg;
	char		 hostport[300];
	auth_context_t	 auth;
	int		 tls_ok;	/* SMTP_EV_STARTTLS_OK seen */
	int		 starttls_sent;
	int		 auth_tried;	/* an AUTH command was written */
	int		 auth_pending;	/* AUTH written, final reply not read */
	int		 auth_ok;	/* 235 read after AUTH */
	char		 tls_err[256];	/* the first TLS failure */
	char		 auth_reply[256];
	char		 last_reply[256];
	char		 line[256];	/* the server line being assembled */
	size_t		 linelen;
};

/*
 * Copies len bytes of server text into dst as one printable line: CR, LF
 * and TAB become single spaces, other control and 8-bit bytes '?', so a
 * reply can go into a log line or a database column as it is.
 */
static void
copy_line(char *dst, size_t size, const char *src, size_t len)
{
	size_t o = 0;
	int space = 0;

	for (size_t i = 0; i < len && src[i] != '\0' && o + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < size)
			dst[o++] = ' ';
		space = 0;
		dst[o++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	dst[o] = '\0';
}

static void tls_fail(struct deliv *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps the first TLS failure: later ones are consequences of it. */
static void
tls_fail(struct deliv *d, const char *fmt, ...)
{
	va_list ap;

	if (d->tls_err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(d->tls_err, sizeof d->tls_err, fmt, ap);
	va_end(ap);
}

/* ---- configuration ---- */

static int
is_ipv4(const char *host)
{
	struct in_addr a;

	return inet_pton(AF_INET, host, &a) == 1;
}

static int
is_loopback(const char *host)
{
	struct in_addr a;

	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a) == 1)
		return (ntohl(a.s_addr) >> 24) == 127;
	return 0;
}

/* Letters, digits, '-' and '.', as getaddrinfo and certificates expect. */
static int
valid_hostname(const char *host)
{
	size_t n = strlen(host);

	if (n == 0 || n > 253)
		return 0;
	for (const char *p = host; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return 0;
	return 1;
}

/* libESMTP writes the EHLO name as it is: no space, no control byte. */
static int
valid_helo(const char *helo)
{
	if (*helo == '\0' || strlen(helo) > 255)
		return 0;
	for (const unsigned char *p = (const unsigned char *)helo; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

int
tb_smtp_check_config(const struct tb_smtp_config *cfg, struct error *err)
{
	const char *host = cfg != NULL ? cfg->host : NULL;
	int auth = cfg != NULL && cfg->user != NULL && cfg->user[0] != '\0';

	if (host == NULL || host[0] == '\0') {
		error_set(err, EX_CONFIG, "smtp host: not set");
		return -1;
	}
	if (strchr(host, ':') != NULL) {
		error_set(err, EX_CONFIG, "smtp host %s: IPv6 literals are not "
		    "supported (libESMTP 1.1 splits host:port at the first "
		    "colon); use a host name such as localhost", host);
		return -1;
	}
	if (!valid_hostname(host)) {
		error_set(err, EX_CONFIG, "smtp host %s: not a valid host name",
		    host);
		return -1;
	}
	if (cfg->port == 465) {
		error_set(err, EX_CONFIG, "smtp port 465: implicit TLS (SMTPS) "
		    "is not supported by libESMTP; use port 587 with "
		    "tls=starttls");
		return -1;
	}
	if (cfg->port < 0 || cfg->port > 65535) {
		error_set(err, EX_CONFIG, "smtp port %d: not a TCP port",
		    cfg->port);
		return -1;
	}
	if (cfg->tls != TB_SMTP_STARTTLS && cfg->tls != TB_SMTP_NONE) {
		error_set(err, EX_CONFIG, "smtp tls: unknown mode %d",
		    (int)cfg->tls);
		return -1;
	}
	if (auth && cfg->tls != TB_SMTP_STARTTLS) {
		error_set(err, EX_CONFIG, "smtp user %s: AUTH requires "
		    "tls=starttls (the password would cross in clear)",
		    cfg->user);
		return -1;
	}
	if (cfg->tls == TB_SMTP_NONE && !is_loopback(host)) {
		error_set(err, EX_CONFIG, "smtp host %s: tls=none is allowed "
		    "only to a loopback host (localhost, 127.0.0.0/8); mail "
		    "would cross the network in clear", host);
		return -1;
	}
	if (cfg->tls == TB_SMTP_STARTTLS && is_ipv4(host)) {
		error_set(err, EX_CONFIG, "smtp host %s: with tls=starttls the "
		    "host must be a name, not an IP address (certificates name "
		    "hosts and the name is what gets verified)", host);
		return -1;
	}
	if (auth && (cfg->password == NULL || cfg->password[0] == '\0')) {
		error_set(err, EX_CONFIG, "smtp user %s: no password",
		    cfg->user);
		return -1;
	}
	if (auth && (strlen(cfg->user) > CRED_MAX ||
	    strlen(cfg->password) > CRED_MAX)) {
		error_set(err, EX_CONFIG, "smtp user %s: user and password "
		    "must each be at most %d bytes", cfg->user, CRED_MAX);
		return -1;
	}
	if (cfg->tls == TB_SMTP_STARTTLS && cfg->ca_file != NULL &&
	    access(cfg->ca_file, R_OK) != 0) {
		error_set(err, EX_CONFIG, "smtp ca_file %s: cannot read it",
		    cfg->ca_file);
		return -1;
	}
	if (cfg->timeout_ms < 0) {
		error_set(err, EX_CONFIG, "smtp timeout %d ms: negative",
		    cfg->timeout_ms);
		return -1;
	}
	if (cfg->helo != NULL && !valid_helo(cfg->helo)) {
		error_set(err, EX_CONFIG, "smtp helo '%s': must be one word of "
		    "printable ASCII", cfg->helo);
		return -1;
	}
	return 0;
}

/* ---- messages ---- */

/*
 * NULL when a is usable in MAIL FROM:<a> / RCPT TO:<a>, else why not.
 * libESMTP writes addresses as they are, so CR/LF here would inject
 * commands.
 */
static const char *
check_addr(const char *a, int empty_ok)
{
	if (a == NULL || a[0] == '\0')
		return empty_ok ? NULL : "no address";
	if (strlen(a) > 254)
		return "address longer than 254 octets";
	for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
			return "address contains a space, a control character "
			    "or an angle bracket";
		if (*p >= 0x80)
			return "address is not ASCII (SMTPUTF8 is not used)";
	}
	if (strchr(a, '@') == NULL)
		return "address has no @";
	return NULL;
}

/*
 * The offset of the first NUL or LF in p[0..n-1], or n: eight octets at a
 * time (a word has a zero octet when (v - 1) borrows into a cleared high
 * bit), octet by octet only around a hit and in the tail.
 */
static size_t
find_nul_or_lf(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	size_t i = 0;

	for (; n - i >= 8; i += 8) {
		uint64_t w, x;

		memcpy(&w, p + i, 8);
		x = w ^ (ones * '\n');
		if ((((w - ones) & ~w) | ((x - ones) & ~x)) & highs)
			break;
	}
	for (; i < n; i++)
		if (p[i] == '\0' || p[i] == '\n')
			break;
	return i;
}

/* 0 when there is a message and libESMTP can count its length; else -1
   and why. */
static int
check_size(const char *data, size_t len, char *why, size_t size)
{
	if (data == NULL || len == 0) {
		snprintf(why, size, "empty message");
		return -1;
	}
	if (len > INT_MAX / 2) {	/* libESMTP counts in int */
		snprintf(why, size, "message larger than %d octets",
		    INT_MAX / 2);
		return -1;
	}
	return 0;
}

/*
 * 0 when data is CRLF lines of at most 998 octets with no NUL; else -1
 * and why. libESMTP would silently repair some of these (it appends a
 * CRLF), and a server may refuse others after the whole transfer. It runs
 * line by line: memchr to the next CR, then one word-wise pass over the
 * line. Messages from mime_finish skip it (composed): mime makes every
 * line itself and its tests check each output's wire form.
 */
static int
check_data(const char *data, size_t len, char *why, size_t size)
{
	size_t start = 0, lineno = 1;

	if (check_size(data, len, why, size) == -1)
		return -1;
	while (start < len) {
		const char *cr = memchr(data + start, '\r', len - start);
		size_t end = cr != NULL ? (size_t)(cr - data) : len;
		size_t bad = start + find_nul_or_lf(data + start, end - start);

		if (bad < end) {
			snprintf(why, size, data[bad] == '\0' ?
			    "line %zu contains NUL" :
			    "line %zu ends with a bare LF", lineno);
			return -1;
		}
		if (cr == NULL)
			break;
		if (end + 1 >= len || data[end + 1] != '\n') {
			snprintf(why, size, "line %zu contains a bare CR",
			    lineno);
			return -1;
		}
		if (end - start > LINE_MAX_OCTETS) {
			snprintf(why, size, "line %zu is longer than %d octets",
			    lineno, LINE_MAX_OCTETS);
			return -1;
		}
		start = end + 2;
		lineno++;
	}
	if (start != len) {
		snprintf(why, size, "the last line does not end with CRLF");
		return -1;
	}
	return 0;
}

/* What libESMTP's message callback gets for one message. */
struct msgref {
	const struct tb_smtp_config *cfg;
	const struct tb_smtp_msg *msg;
	size_t		 index;		/* into the caller's msgs */
};

/*
 * libESMTP's message source: called with len == NULL to rewind (once per
 * DATA, after the 354), then until *len is 0. The whole message is handed
 * over in one piece; libESMTP splits it into lines and dot-stuffs them.
 * *ctx must come from malloc: libESMTP free()s it.
 */
static const char *
message_cb(void **ctx, int *len, void *arg)
{
	const struct msgref *ref = arg;
	const struct tb_smtp_msg *msg = ref->msg;
	int *done;

	if (*ctx == NULL)
		*ctx = xmalloc(sizeof(int));
	done = *ctx;
	if (len == NULL) {
		*done = 0;
		if (ref->cfg->before_message != NULL)
			ref->cfg->before_message(ref->cfg->before_arg,
			    ref->index);
		return NULL;
	}
	if (*done) {
		*len = 0;
		return NULL;
	}
	*done = 1;
	*len = (int)msg->len;
	return msg->data;
}

/* ---- watching the session ---- */

/*
 * libESMTP's events. The TLS ones carry an int *ok that would accept a
 * bad certificate if set: it is never set, and each becomes the error.
 */
static void
event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct deliv *d = arg;
	va_list ap;
	int *ok;

	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_STARTTLS_OK:
		d->tls_ok = 1;
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		tls_fail(d, "the server does not offer STARTTLS");
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE: {
		long result = va_arg(ap, long);

		ok = va_arg(ap, int *);
		*ok = 0;
		tls_fail(d, "certificate not accepted: %s",
		    X509_verify_cert_error_string(result));
		break;
	}
	case SMTP_EV_WRONG_PEER_CERTIFICATE: {
		const char *name;

		ok = va_arg(ap, int *);
		name = va_arg(ap, const char *);
		*ok = 0;
		tls_fail(d, "the certificate names %s, not %s (certificates "
		    "name hosts: connect by the name the certificate carries)",
		    name != NULL && name[0] != '\0' ? name : "no host",
		    d->cfg->host);
		break;
	}
	case SMTP_EV_NO_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = 0;
		tls_fail(d, "the server sent no certificate");
		break;
	case SMTP_EV_WEAK_CIPHER: {
		int bits = va_arg(ap, int);

		ok = va_arg(ap, int *);
		*ok = 0;
		tls_fail(d, "weak cipher (%d bits)", bits);
		break;
	}
	case SMTP_EV_NO_CLIENT_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = 0;
		tls_fail(d, "libESMTP's client certificate has no usable key");
		break;
	case SMTP_EV_UNUSABLE_CLIENT_CERTIFICATE:
		tls_fail(d, "libESMTP's client certificate under "
		    "~/.config/libesmtp is unusable (mode or owner)");
		break;
	case SMTP_EV_UNUSABLE_CA_LIST:
		tls_fail(d, "libESMTP's CA list is unusable");
		break;
	default:
		/* Progress, and SYNTAXWARNING (a reply without an enhanced
		   code although ENHANCEDSTATUSCODES was offered): harmless. */
		break;
	}
	va_end(ap);
}

/* One complete line from the server: kept for errors, and read for AUTH. */
static void
server_line(struct deliv *d)
{
	const char *l = d->line;
	int code;

	if (d->linelen < 3 || l[0] < '1' || l[0] > '5' || l[1] < '0' ||
	    l[1] > '9' || l[2] < '0' || l[2] > '9')
		return;
	copy_line(d->last_reply, sizeof d->last_reply, l, d->linelen);
	/* Only the last line of a reply ("NNN text") decides. */
	if (!d->auth_pending || (d->linelen > 3 && l[3] == '-'))
		return;
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (code == 334)	/* a challenge: the exchange goes on */
		return;
	d->auth_pending = 0;
	if (code / 100 == 2)
		d->auth_ok = 1;
	else
		copy_line(d->auth_reply, sizeof d->auth_reply, l, d->linelen);
}

/*
 * libESMTP's protocol monitor, the only view of replies it keeps to
 * itself (a refused greeting, STARTTLS or AUTH). Written data is looked at
 * only for the verb: AUTH continuation lines carry the credentials.
 */
static void
monitor_cb(const char *buf, int len, int writing, void *arg)
{
	struct deliv *d = arg;

	if (writing == SMTP_CB_WRITING) {
		if (len >= 5 && strncasecmp(buf, "AUTH ", 5) == 0)
			d->auth_pending = d->auth_tried = 1;
		else if (len >= 8 && strncasecmp(buf, "STARTTLS", 8) == 0)
			d->starttls_sent = 1;
		return;
	}
	if (writing != SMTP_CB_READING)
		return;
	for (int i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			server_line(d);
			d->linelen = 0;
		} else if (d->linelen < sizeof d->line - 1)
			d->line[d->linelen++] = buf[i];
	}
}

/*
 * SASL asks for the credentials. They go only to PLAIN or LOGIN and only
 * inside TLS: the configuration check already demands STARTTLS, this is
 * the second lock in case libESMTP ever reaches AUTH another way.
 */
static int
interact_cb(auth_client_request_t req, char **result, int fields, void *arg)
{
	struct deliv *d = arg;
	const char *mech = auth_mechanism_name(d->auth);

	if (!d->tls_ok || mech == NULL || (strcasecmp(mech, "PLAIN") != 0 &&
	    strcasecmp(mech, "LOGIN") != 0))
		return 0;
	for (int i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = (char *)d->cfg->user;
		else if (req[i].flags & AUTH_PASS)
			result[i] = (char *)d->cfg->password;
		else
			return 0;
	}
	return 1;
}

/* ---- TLS ---- */

static struct deliv *
ctx_deliv(const SSL *ssl)
{
	return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/*
 * OpenSSL's verdict on each certificate. A failure aborts the handshake
 * (SSL_VERIFY_PEER); it is recorded here because libESMTP then reports
 * only "client error".
 */
static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct deliv *d = ssl != NULL ? ctx_deliv(ssl) : NULL;
	int e = X509_STORE_CTX_get_error(xs);
	X509 *cert = X509_STORE_CTX_get_current_cert(xs);
	char subject[128] = "?";

	if (ok || d == NULL)
		return ok;
	if (e == X509_V_ERR_HOSTNAME_MISMATCH) {
		tls_fail(d, "the server's certificate does not name %s "
		    "(certificates name hosts: connect by the name the "
		    "certificate carries)", d->cfg->host);
		return ok;
	}
	if (cert != NULL)
		X509_NAME_oneline(X509_get_subject_name(cert), subject,
		    sizeof subject);
	tls_fail(d, "certificate %s not trusted: %s (checked against %s)",
	    subject, X509_verify_cert_error_string(e),
	    d->cfg->ca_file != NULL ? d->cfg->ca_file :
	    "the system trust store");
	return ok;
}

/*
 * libESMTP sends no SNI. The handshake-start callback runs before the
 * ClientHello is built, so the name set here goes out in it.
 */
static void
info_cb(const SSL *ssl, int where, int ret)
{
	(void)ret;
	if (where & SSL_CB_HANDSHAKE_START)
		SSL_set_tlsext_host_name((SSL *)ssl, ctx_deliv(ssl)->cfg->host);
}

static void
ssl_error(struct error *err, int code, const char *what)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	else
		snprintf(buf, sizeof buf, "unknown OpenSSL error");
	error_set(err, code, "%s: %s", what, buf);
}

/*
 * Our own context per session: TLS 1.2 (see below), the chain verified
 * against ca_file or the system store, the host name checked by OpenSSL
 * (no partial wildcards), and d reachable from the callbacks. The caller
 * frees it after handing it to libESMTP, which holds its own reference.
 */
static SSL_CTX *
make_ctx(struct deliv *d, struct error *err)
{
	const struct tb_smtp_config *cfg = d->cfg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_VERIFY_PARAM *param;

	if (ctx == NULL) {
		ssl_error(err, EX_SOFTWARE, "SSL_CTX_new");
		goto fail;
	}
	/*
	 * TLS 1.2 exactly. With TLS 1.3 the server sends its session tickets
	 * after the handshake; when they arrive before libESMTP has flushed
	 * the EHLO that follows STARTTLS, its protocol loop reads first and
	 * waits for a reply to a command still in its buffer, until the
	 * timeout (seen on loopback in about half the sessions; outlook.com
	 * sends such tickets). TLS 1.2 has no data after the handshake.
	 */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1) {
		ssl_error(err, EX_SOFTWARE, "TLS 1.2");
		goto fail;
	}
	if (cfg->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file,
		    NULL) != 1) {
			char what[300];

			snprintf(what, sizeof what, "smtp ca_file %s",
			    cfg->ca_file);
			ssl_error(err, EX_CONFIG, what);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		ssl_error(err, EX_UNAVAILABLE, "system trust store");
		goto fail;
	}
	param = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_host(param, cfg->host, 0) != 1) {
		ssl_error(err, EX_SOFTWARE, "certificate host name");
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_app_data(ctx, d);
	SSL_CTX_set_info_callback(ctx, info_cb);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---- outcomes ---- */

/* Reads "c.s.d " at the start of text (when the server did not offer
   ENHANCEDSTATUSCODES, libESMTP leaves it there). Returns the rest. */
static const char *
parse_enh(const char *text, int *c, int *s, int *dt)
{
	int v[3];
	const char *p = text;

	if ((*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
		return text;
	for (int i = 0; i < 3; i++) {
		int n = 0, digits = 0;

		while (*p >= '0' && *p <= '9' && digits < 3) {
			n = n * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0 || (i < 2 && *p++ != '.'))
			return text;
		v[i] = n;
	}
	if (*p != ' ' && *p != '\0' && *p != '\r')
		return text;
	*c = v[0];
	*s = v[1];
	*dt = v[2];
	return p;
}

/* Fills msg from the reply that decided it. */
static void
set_outcome(struct tb_smtp_msg *msg, int outcome, int stage,
    const smtp_status_t *st)
{
	int c = st->enh_class, s = st->enh_subject, dt = st->enh_detail;
	const char *text = st->text != NULL ? st->text : "";
	char clean[240];

	if (c == 0)
		text = parse_enh(text, &c, &s, &dt);
	copy_line(clean, sizeof clean, text, strlen(text));
	msg->outcome = outcome;
	msg->stage = stage;
	msg->code = st->code;
	msg->enh[0] = '\0';
	if (c != 0)
		snprintf(msg->enh, sizeof msg->enh, "%d.%d.%d", c, s, dt);
	snprintf(msg->reply, sizeof msg->reply, "%d%s%s%s%.200s", st->code,
	    c != 0 ? " " : "", msg->enh, clean[0] != '\0' ? " " : "", clean);
	msg->policy = outcome == TB_SMTP_FAILED && c == 5 && s == 7;
}

static void
set_no_reply(struct tb_smtp_msg *msg, int outcome, const char *why)
{
	msg->outcome = outcome;
	msg->stage = TB_SMTP_STAGE_SESSION;
	msg->code = 0;
	msg->enh[0] = '\0';
	msg->policy = 0;
	copy_line(msg->reply, sizeof msg->reply, why, strlen(why));
}

static int
outcome_of(int code)
{
	return code / 100 == 5 ? TB_SMTP_FAILED : TB_SMTP_DEFERRED;
}

/*
 * One message after the session. SENT needs RCPT and end-of-data both
 * 2xx (a 2xx RCPT alone is not delivery, and a status left over from DATA
 * is 354). Otherwise the first refusal decides; no refusal at all means
 * the connection ended first: DEFERRED with lost.
 */
static void
classify(struct tb_smtp_msg *msg, smtp_message_t m, smtp_recipient_t r,
    const char *lost)
{
	const smtp_status_t *mail = smtp_reverse_path_status(m);
	const smtp_status_t *rcpt = smtp_recipient_status(r);
	const smtp_status_t *data = smtp_message_transfer_status(m);

	if (rcpt != NULL && data != NULL && rcpt->code / 100 == 2 &&
	    data->code / 100 == 2)
		set_outcome(msg, TB_SMTP_SENT, TB_SMTP_STAGE_DATA, data);
	else if (mail != NULL && mail->code != 0 && mail->code / 100 != 2)
		set_outcome(msg, outcome_of(mail->code), TB_SMTP_STAGE_MAIL,
		    mail);
	else if (rcpt != NULL && rcpt->code != 0 && rcpt->code / 100 != 2)
		set_outcome(msg, outcome_of(rcpt->code), TB_SMTP_STAGE_RCPT,
		    rcpt);
	else if (data != NULL && (data->code / 100 == 4 ||
	    data->code / 100 == 5))
		set_outcome(msg, outcome_of(data->code), TB_SMTP_STAGE_DATA,
		    data);
	else
		set_no_reply(msg, TB_SMTP_DEFERRED, lost);
}

/* The libESMTP error of this thread, unless it is still our marker. */
static const char *
lib_error(char *buf, size_t size)
{
	int e = smtp_errno();

	if (e == SMTP_ERR_INVAL || e == 0)
		return NULL;
	if (smtp_strerror(e, buf, size) == NULL)
		snprintf(buf, size, "libESMTP error %d", e);
	return buf;
}

/* The code of a 4xx/5xx last reply, or 0. */
static int
refusal(const char *reply)
{
	if ((reply[0] == '4' || reply[0] == '5') && reply[1] >= '0' &&
	    reply[1] <= '9' && reply[2] >= '0' && reply[2] <= '9')
		return reply[0] - '0';
	return 0;
}

/* Why no transaction could start (or why refusals are not trusted), the
   most specific cause first. */
static void
session_error(const struct deliv *d, int ran, size_t started,
    struct error *err)
{
	const struct tb_smtp_config *cfg = d->cfg;
	const char *hp = d->hostport, *last = d->last_reply;
	char buf[200];
	const char *lib = lib_error(buf, sizeof buf);
	int refused = refusal(last);
	int no_tls = cfg->tls == TB_SMTP_STARTTLS && !d->tls_ok;
	int auth = cfg->user != NULL && cfg->user[0] != '\0';

	if (!ran && !refused)
		error_set(err, smtp_errno() == SMTP_ERR_EAI_AGAIN ?
		    EX_TEMPFAIL : EX_UNAVAILABLE, "smtp %s: cannot connect: %s",
		    hp, lib != NULL ? lib : "no usable address");
	else if (no_tls && d->tls_err[0] != '\0')
		error_set(err, EX_UNAVAILABLE, "smtp %s: no TLS, nothing sent: "
		    "%s", hp, d->tls_err);
	else if (no_tls && d->starttls_sent)
		error_set(err, EX_UNAVAILABLE, "smtp %s: no TLS, nothing sent: "
		    "STARTTLS %s: %s", hp, refused ? "refused" : "failed",
		    refused ? last : lib != NULL ? lib : "no reply");
	else if (auth && !d->auth_ok && d->auth_tried)
		error_set(err, refusal(d->auth_reply) == 4 ? EX_TEMPFAIL :
		    EX_CONFIG, "smtp %s: authentication as %s failed: %s", hp,
		    cfg->user, d->auth_reply[0] != '\0' ? d->auth_reply :
		    "no reply");
	else if (auth && !d->auth_ok && started > 0)
		error_set(err, EX_CONFIG, "smtp %s: the server offered no AUTH "
		    "PLAIN or LOGIN after STARTTLS", hp);
	else if (refused)
		error_set(err, refused == 4 ? EX_TEMPFAIL : EX_UNAVAILABLE,
		    "smtp %s: session refused: %s", hp, last);
	else
		error_set(err, EX_TEMPFAIL, "smtp %s: session ended before any "
		    "message%s: %s", hp, no_tls ? " and without TLS" : "",
		    lib != NULL ? lib : "connection closed");
}

/* Every message not already decided becomes DEFERRED with why. */
static void
defer_rest(struct tb_smtp_msg *msgs, size_t n, const char *why)
{
	for (size_t i = 0; i < n; i++)
		if (msgs[i].outcome != TB_SMTP_SENT &&
		    !(msgs[i].outcome == TB_SMTP_FAILED && msgs[i].code == 0))
			set_no_reply(&msgs[i], TB_SMTP_DEFERRED, why);
}

/* ---- the session ---- */

/* Server, name, timeouts and our watchers on a fresh session. */
static int
setup_session(smtp_session_t s, struct deliv *d, struct error *err)
{
	const struct tb_smtp_config *cfg = d->cfg;
	static const int which[] = { Timeout_GREETING, Timeout_ENVELOPE,
	    Timeout_DATA, Timeout_TRANSFER, Timeout_DATA2 };

	if (!smtp_set_server(s, d->hostport) ||
	    (cfg->helo != NULL && !smtp_set_hostname(s, cfg->helo)) ||
	    !smtp_set_eventcb(s, event_cb, d) ||
	    !smtp_set_monitorcb(s, monitor_cb, d, 0)) {
		error_set(err, EX_SOFTWARE, "smtp %s: libESMTP session setup "
		    "failed", d->hostport);
		return -1;
	}
	for (size_t i = 0; cfg->timeout_ms > 0 && i < 5; i++)
		if (smtp_set_timeout(s, which[i] |
		    Timeout_OVERRIDE_RFC2822_MINIMUM, cfg->timeout_ms) == 0) {
			error_set(err, EX_SOFTWARE, "smtp timeout %d ms: "
			    "refused by libESMTP", cfg->timeout_ms);
			return -1;
		}
	return 0;
}

/* STARTTLS required with our context, and AUTH when a user is set. */
static int
setup_security(smtp_session_t s, struct deliv *d, struct error *err)
{
	const struct tb_smtp_config *cfg = d->cfg;
	SSL_CTX *ctx;
	int ok;

	if (cfg->tls == TB_SMTP_NONE)
		return smtp_starttls_enable(s, Starttls_DISABLED) ? 0 : -1;
	if ((ctx = make_ctx(d, err)) == NULL)
		return -1;
	ok = smtp_starttls_set_ctx(s, ctx) &&
	    smtp_starttls_enable(s, Starttls_REQUIRED);
	SSL_CTX_free(ctx);	/* the session holds its own reference */
	if (!ok) {
		error_set(err, EX_SOFTWARE, "smtp %s: libESMTP refused the TLS "
		    "setup", d->hostport);
		return -1;
	}
	if (cfg->user == NULL || cfg->user[0] == '\0')
		return 0;
	if ((d->auth = auth_create_context()) == NULL ||
	    !auth_set_mechanism_flags(d->auth, AUTH_PLUGIN_PLAIN, 0) ||
	    !auth_set_interact_cb(d->auth, interact_cb, d) ||
	    !smtp_auth_set_context(s, d->auth)) {
		error_set(err, EX_SOFTWARE, "smtp %s: libESMTP refused the AUTH "
		    "setup", d->hostport);
		return -1;
	}
	return 0;
}

/* One message's libESMTP objects (owned by the session) and its
   callback argument. */
struct slot {
	smtp_message_t	 m;		/* NULL: not offered */
	smtp_recipient_t r;
	struct msgref	 ref;
};

/* Marks the messages that cannot be sent as given; returns how many can. */
static size_t
validate(struct tb_smtp_msg *msgs, size_t n)
{
	size_t offered = 0;

	for (size_t i = 0; i < n; i++) {
		char why[200], text[256];
		const char *bad = check_addr(msgs[i].reverse_path, 1);

		if (bad == NULL)
			bad = check_addr(msgs[i].rcpt, 0);
		if (bad == NULL && (msgs[i].composed ? check_size(msgs[i].data,
		    msgs[i].len, why, sizeof why) : check_data(msgs[i].data,
		    msgs[i].len, why, sizeof why)) == -1)
			bad = why;
		if (bad == NULL) {
			offered++;
			continue;
		}
		snprintf(text, sizeof text, "not sendable: %s", bad);
		set_no_reply(&msgs[i], TB_SMTP_FAILED, text);
	}
	return offered;
}

/* One libESMTP message with one recipient per sendable message. */
static int
add_messages(smtp_session_t s, const struct tb_smtp_config *cfg,
    struct tb_smtp_msg *msgs, size_t n, struct slot *slots,
    struct error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct slot *sl = &slots[i];

		if (msgs[i].outcome == TB_SMTP_FAILED)
			continue;
		sl->ref.cfg = cfg;
		sl->ref.msg = &msgs[i];
		sl->ref.index = i;
		if ((sl->m = smtp_add_message(s)) == NULL ||
		    !smtp_set_reverse_path(sl->m, msgs[i].reverse_path != NULL ?
		    msgs[i].reverse_path : "") ||
		    (sl->r = smtp_add_recipient(sl->m, msgs[i].rcpt)) == NULL ||
		    !smtp_set_messagecb(sl->m, message_cb, &sl->ref)) {
			error_set(err, EX_OSERR, "smtp: libESMTP cannot add "
			    "message %zu", i);
			return -1;
		}
	}
	return 0;
}

/*
 * Runs the session and reads every offered message's outcome. Returns
 * how many were SENT, and in *started_r how many got a reply to MAIL.
 */
static size_t
run_session(smtp_session_t s, struct tb_smtp_msg *msgs, size_t n,
    const struct slot *slots, int *ran_r, size_t *started_r)
{
	char lost[256], libbuf[200];
	const char *lib;
	size_t nsent = 0;

	/* smtp_errno() is per thread and never cleared: plant a marker (an
	   invalid call sets SMTP_ERR_INVAL) so a stale error is not taken
	   for this session's. */
	(void)smtp_set_server(NULL, NULL);
	*ran_r = smtp_start_session(s);
	lib = lib_error(libbuf, sizeof libbuf);
	snprintf(lost, sizeof lost, "connection ended before the server "
	    "confirmed the message (%s)", lib != NULL ? lib : "no reply");
	*started_r = 0;
	for (size_t i = 0; i < n; i++) {
		if (slots[i].m == NULL)
			continue;
		classify(&msgs[i], slots[i].m, slots[i].r, lost);
		if (msgs[i].outcome == TB_SMTP_SENT)
			nsent++;
		if (smtp_reverse_path_status(slots[i].m)->code != 0)
			(*started_r)++;
	}
	return nsent;
}

int
tb_smtp_deliver(const struct tb_smtp_config *cfg, struct tb_smtp_msg *msgs,
    size_t n, struct error *err)
{
	struct deliv d = { 0 };
	struct error local;
	smtp_session_t s = NULL;
	struct slot *slots = NULL;
	size_t nsent, started;
	int ran, rc = -1;

	if (err == NULL)
		err = &local;
	err->msg[0] = '\0';
	for (size_t i = 0; i < n; i++)
		set_no_reply(&msgs[i], TB_SMTP_DEFERRED, "not attempted");
	if (tb_smtp_check_config(cfg, err) == -1)
		goto fail;
	d.cfg = cfg;
	snprintf(d.hostport, sizeof d.hostport, "%s:%d", cfg->host,
	    cfg->port != 0 ? cfg->port : SUBMISSION_PORT);
	if (validate(msgs, n) == 0) {
		rc = 0;
		goto done;
	}

	slots = xcalloc(n, sizeof *slots);
	if ((s = smtp_create_session()) == NULL) {
		error_set(err, EX_OSERR, "smtp: cannot create a libESMTP "
		    "session");
		goto fail;
	}
	if (setup_session(s, &d, err) == -1 ||
	    setup_security(s, &d, err) == -1 ||
	    add_messages(s, cfg, msgs, n, slots, err) == -1)
		goto fail;
	nsent = run_session(s, msgs, n, slots, &ran, &started);

	/* Without TLS or without AUTH, a refusal says nothing about the
	   recipient (e.g. 530 authentication required): DEFERRED. */
	if ((cfg->tls == TB_SMTP_STARTTLS && !d.tls_ok) ||
	    (cfg->user != NULL && cfg->user[0] != '\0' && !d.auth_ok) ||
	    started == 0) {
		session_error(&d, ran, started, err);
		defer_rest(msgs, n, err->msg);
		rc = nsent > 0 ? 0 : -1;
		goto done;
	}
	rc = 0;
	goto done;

fail:
	defer_rest(msgs, n, err->msg);
done:
	if (s != NULL)
		smtp_destroy_session(s);
	if (d.auth != NULL)	/* after the session that used it */
		auth_destroy_context(d.auth);
	free(slots);
	ERR_clear_error();	/* OpenSSL's queue is per thread: leave it
				   clean for the caller's next TLS user */
	return rc;
}
