/*
 * Tests for smtp: configuration checks, then real deliveries to
 * tests/smtpd.py (aiosmtpd) on 127.0.0.1: bytes on arrival, scripted 4xx
 * and 5xx replies, a 421 and a dropped connection, a refused connection,
 * STARTTLS with a good, a wrongly named and an untrusted certificate, AUTH,
 * and the throughput that shows TCP_NODELAY (src/nodelay.c) is in effect.
 * Skipped (TAP "1..0 # SKIP") when python3 or aiosmtpd is missing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "smtp.h"
#include "tbtest.h"
#include "util.h"

#define TIMEOUT_MS	10000	/* per SMTP reply */
#define NAGLE_MSGS	400
#define PAR_THREADS	4
#define PAR_MSGS	100
/* messages/s. Nagle-bound is about 23; 60 keeps that clear of a loaded
 * machine (the suite runs beside builds), where 126-143/s were seen. */
#define MIN_RATE	60
#define RATE_SIZE	5000	/* octets: more than libESMTP's 2 KB buffer */

struct server {
	const char	*name;
	pid_t		 pid;
	int		 port;
	char		*dir;
	char		*portfile;
};

static struct server plain = { .name = "plain", .pid = -1 };
static struct server tls = { .name = "tls", .pid = -1 };
static struct server othername = { .name = "othername", .pid = -1 };
static char *cert_good, *cert_other;
static int have_tls;
static pid_t main_pid;

/* ---- helpers ---- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv with stdout and stderr to /dev/null; returns the exit code. */
static int
run_quiet(char *const argv[])
{
	int status;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* A self-signed certificate (and key) for name, with the name in SAN. */
static char *
make_cert(const char *name)
{
	char *cert = xasprintf("%s/%s.pem", tbtest_dir(), name);
	char *key = xasprintf("%s/%s.key", tbtest_dir(), name);
	char *subj = xasprintf("/CN=%s", name);
	char *san = xasprintf("subjectAltName=DNS:%s", name);
	char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
	    key, "-out", cert, "-days", "2", "-subj", subj, "-addext", san,
	    NULL };
	int rc = run_quiet(argv);

	free(key);
	free(subj);
	free(san);
	if (rc != 0) {
		free(cert);
		return NULL;
	}
	return cert;
}

static const char *
smtpd_path(void)
{
	static char *path;
	const char *src = getenv("TB_SRCDIR");

	if (path == NULL) {
		if (src != NULL && src[0] != '\0')
			path = xasprintf("%s/tests/smtpd.py", src);
		else {	/* run by hand: beside this source file */
			char *dir = util_dirname(__FILE__);

			path = xasprintf("%s/smtpd.py", dir);
			free(dir);
		}
	}
	return path;
}

static const char *
python(void)
{
	const char *p = getenv("TB_PYTHON3");

	return p != NULL && p[0] != '\0' ? p : "/usr/bin/python3";
}

/* Starts smtpd.py for sv; with cert, STARTTLS (and AUTH when auth). */
static void
start_server(struct server *sv, const char *cert, int auth)
{
	char *key = NULL;
	char *argv[16];
	int i = 0;

	sv->dir = xasprintf("%s/%s", tbtest_dir(), sv->name);
	sv->portfile = xasprintf("%s/%s.port", tbtest_dir(), sv->name);
	if (mkdir(sv->dir, 0700) != 0) {
		perror(sv->dir);
		exit(99);
	}
	argv[i++] = (char *)python();
	argv[i++] = (char *)smtpd_path();
	argv[i++] = "--dir";
	argv[i++] = sv->dir;
	argv[i++] = "--port-file";
	argv[i++] = sv->portfile;
	argv[i++] = "--max-seconds";
	argv[i++] = "900";
	if (cert != NULL) {
		size_t n = strlen(cert);

		key = xasprintf("%.*s.key", (int)(n - 4), cert);
		argv[i++] = "--tls-cert";
		argv[i++] = (char *)cert;
		argv[i++] = "--tls-key";
		argv[i++] = key;
	}
	if (auth) {
		argv[i++] = "--auth";
		argv[i++] = "tester:s3cret";
		argv[i++] = "--require-auth";
	}
	argv[i] = NULL;
	fflush(stdout);
	if ((sv->pid = fork()) == -1) {
		perror("fork");
		exit(99);
	}
	if (sv->pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	free(key);
}

/*
 * Waits (at most 30 s) for every server's port file. 0 when all listen,
 * 77 when one exited with the skip code (no aiosmtpd), -1 otherwise.
 */
static int
wait_servers(struct server **svs, size_t n)
{
	for (int tries = 0; tries < 300; tries++) {
		int ready = 1;

		for (size_t i = 0; i < n; i++) {
			struct server *sv = svs[i];
			char *s;
			int status;

			if (sv->port != 0)
				continue;
			if (waitpid(sv->pid, &status, WNOHANG) == sv->pid) {
				sv->pid = -1;
				return WIFEXITED(status) &&
				    WEXITSTATUS(status) == 77 ? 77 : -1;
			}
			if ((s = tbtest_read(sv->portfile, NULL)) != NULL) {
				sv->port = (int)strtol(s, NULL, 10);
				free(s);
			}
			if (sv->port == 0)
				ready = 0;
		}
		if (ready)
			return 0;
		sleep_ms(100);
	}
	return -1;
}

/* atexit, in the main process only (Check forks a child per test). */
static void
stop_servers(void)
{
	struct server *svs[] = { &plain, &tls, &othername };

	if (getpid() != main_pid)
		return;
	for (size_t i = 0; i < 3; i++) {
		struct server *sv = svs[i];
		int tries;

		if (sv->pid <= 0)
			continue;
		kill(sv->pid, SIGTERM);
		for (tries = 0; tries < 100; tries++) {
			if (waitpid(sv->pid, NULL, WNOHANG) == sv->pid)
				break;
			sleep_ms(20);
		}
		if (tries == 100) {
			kill(sv->pid, SIGKILL);
			waitpid(sv->pid, NULL, 0);
		}
		sv->pid = -1;
	}
}

static struct tb_smtp_config
plain_cfg(void)
{
	struct tb_smtp_config c = {
		.host = "127.0.0.1", .port = plain.port, .tls = TB_SMTP_NONE,
		.timeout_ms = TIMEOUT_MS, .helo = "client.test",
	};

	return c;
}

static struct tb_smtp_config
tls_cfg(const struct server *sv, const char *ca)
{
	struct tb_smtp_config c = {
		.host = "localhost", .port = sv->port, .tls = TB_SMTP_STARTTLS,
		.ca_file = ca, .timeout_ms = TIMEOUT_MS, .helo = "client.test",
	};

	return c;
}

/* A complete message: the headers libESMTP would otherwise add, and the
   lines dot-stuffing must get right. Caller frees. */
static char *
make_data(const char *rcpt, int i)
{
	return xasprintf(
	    "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
	    "From: Temabrev <news@example.org>\r\n"
	    "To: <%s>\r\n"
	    "Subject: test %d\r\n"
	    "Message-ID: <%d.%ld@test.example>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "\r\n"
	    "Hello %s,\r\n"
	    ".\r\n"
	    "..two dots\r\n"
	    ".leading dot\r\n"
	    "From the start of a line\r\n"
	    "\r\n"
	    "\tend\r\n", rcpt, i, i, (long)getpid(), rcpt);
}

/*
 * make_data with the body padded to about size octets. libESMTP writes
 * through a 2 KB buffer: only a message larger than that ends with the
 * small separate write Nagle's algorithm holds back.
 */
static char *
make_big_data(const char *rcpt, int i, size_t size)
{
	struct buf b = { 0 };
	char *head = make_data(rcpt, i);

	buf_addstr(&b, head);
	while (b.len + 80 < size)
		buf_addstr(&b, "Lorem ipsum dolor sit amet, consectetur "
		    "adipiscing elit, sed do eiusmod tempor.\r\n");
	free(head);
	return buf_steal(&b);
}

/* n messages to "<prefix>-<i>@example.org" (or the given locals). */
struct batch {
	struct tb_smtp_msg	*msgs;
	size_t			 n;
};

static void
batch_init(struct batch *b, size_t n, const char *prefix,
    const char *const *locals)
{
	b->n = n;
	b->msgs = xcalloc(n, sizeof *b->msgs);
	for (size_t i = 0; i < n; i++) {
		char *rcpt = locals != NULL ?
		    xasprintf("%s-%s@example.org", locals[i], prefix) :
		    xasprintf("%s-%zu@example.org", prefix, i);
		char *data = make_data(rcpt, (int)i);

		b->msgs[i].reverse_path = "bounces@example.org";
		b->msgs[i].rcpt = rcpt;
		b->msgs[i].data = data;
		b->msgs[i].len = strlen(data);
	}
}

/* Every message padded to size octets. */
static void
batch_pad(struct batch *b, size_t size)
{
	for (size_t i = 0; i < b->n; i++) {
		free((char *)b->msgs[i].data);
		b->msgs[i].data = make_big_data(b->msgs[i].rcpt, (int)i, size);
		b->msgs[i].len = strlen(b->msgs[i].data);
	}
}

static void
batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free((char *)b->msgs[i].rcpt);
		free((char *)b->msgs[i].data);
	}
	free(b->msgs);
}

/* What sv stored for rcpt: the message (returned) and its X-Smtpd block. */
static char *
received(const struct server *sv, const char *rcpt, char **block_r,
    size_t *len_r)
{
	char *path = xasprintf("%s/%s", sv->dir, rcpt);
	size_t len;
	char *all = tbtest_read(path, &len), *sep, *msg;

	free(path);
	if (all == NULL)
		return NULL;
	sep = strstr(all, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	msg = xstrndup(sep + 4, len - (size_t)(sep + 4 - all));
	*len_r = len - (size_t)(sep + 4 - all);
	sep[2] = '\0';
	if (block_r != NULL)
		*block_r = all;
	else
		free(all);
	return msg;
}

static int
was_received(const struct server *sv, const char *rcpt)
{
	char *path = xasprintf("%s/%s", sv->dir, rcpt);
	int yes = access(path, F_OK) == 0;

	free(path);
	return yes;
}

static void
assert_sent_intact(const struct server *sv, const struct tb_smtp_msg *m)
{
	size_t len;
	char *block = NULL, *got = received(sv, m->rcpt, &block, &len);
	char *want;

	ck_assert_msg(got != NULL, "%s not received", m->rcpt);
	ck_assert_msg(len == m->len && memcmp(got, m->data, len) == 0,
	    "%s arrived changed:\n%s\n---- sent:\n%s", m->rcpt, got, m->data);
	want = xasprintf("X-Smtpd-Rcpt-To: <%s>\r\n", m->rcpt);
	ck_assert_ptr_nonnull(strstr(block, want));
	ck_assert_ptr_nonnull(strstr(block,
	    "X-Smtpd-Mail-From: <bounces@example.org>\r\n"));
	free(want);
	free(got);
	free(block);
}

/* A 127.0.0.1 port nothing listens on (bound, then closed). */
static int
closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* ---- configuration ---- */

struct cfg_case {
	const char	*host;
	int		 port;
	enum tb_smtp_tls tls;
	const char	*user;
	const char	*password;
	const char	*ca_file;
	const char	*helo;
	int		 timeout_ms;
	const char	*why;		/* NULL: accepted; else in the error */
};

static const char long_user[] =
    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"
    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu";

static const struct cfg_case cfg_cases[] = {
	{ "localhost", 2525, TB_SMTP_NONE, NULL, NULL, NULL, NULL, 0, NULL },
	{ "127.0.0.1", 25, TB_SMTP_NONE, NULL, NULL, NULL, NULL, 0, NULL },
	{ "127.1.2.3", 25, TB_SMTP_NONE, NULL, NULL, NULL, "a.test", 5, NULL },
	{ "mail.example.org", 587, TB_SMTP_STARTTLS, NULL, NULL, NULL, NULL,
	    0, NULL },
	{ "mail.example.org", 0, TB_SMTP_STARTTLS, "u", "p", NULL, NULL, 0,
	    NULL },
	{ "mail.example.org", 25, TB_SMTP_NONE, NULL, NULL, NULL, NULL, 0,
	    "loopback" },
	{ "192.0.2.1", 25, TB_SMTP_NONE, NULL, NULL, NULL, NULL, 0,
	    "loopback" },
	{ "localhost", 25, TB_SMTP_NONE, "u", "p", NULL, NULL, 0, "clear" },
	{ "mail.example.org", 465, TB_SMTP_STARTTLS, NULL, NULL, NULL, NULL,
	    0, "465" },
	{ "127.0.0.1", 587, TB_SMTP_STARTTLS, NULL, NULL, NULL, NULL, 0,
	    "must be a name" },
	{ "::1", 25, TB_SMTP_NONE, NULL, NULL, NULL, NULL, 0, "IPv6" },
	{ NULL, 25, TB_SMTP_NONE, NULL, NULL, NULL, NULL, 0, "not set" },
	{ "", 25, TB_SMTP_NONE, NULL, NULL, NULL, NULL, 0, "not set" },
	{ "bad host", 25, TB_SMTP_NONE, NULL, NULL, NULL, NULL, 0,
	    "valid host" },
	{ "mail.example.org", 70000, TB_SMTP_STARTTLS, NULL, NULL, NULL, NULL,
	    0, "not a TCP port" },
	{ "mail.example.org", 587, TB_SMTP_STARTTLS, "u", NULL, NULL, NULL,
	    0, "no password" },
	{ "mail.example.org", 587, TB_SMTP_STARTTLS, long_user, "p", NULL,
	    NULL, 0, "at most" },
	{ "mail.example.org", 587, TB_SMTP_STARTTLS, NULL, NULL,
	    "/nonexistent/ca.pem", NULL, 0, "ca_file" },
	{ "mail.example.org", 587, TB_SMTP_STARTTLS, NULL, NULL, NULL,
	    "a b", 0, "helo" },
	{ "mail.example.org", 587, TB_SMTP_STARTTLS, NULL, NULL, NULL,
	    "a\r\nRSET", 0, "helo" },
	{ "mail.example.org", 587, TB_SMTP_STARTTLS, NULL, NULL, NULL, NULL,
	    -1, "negative" },
	{ "mail.example.org", 587, (enum tb_smtp_tls)7, NULL, NULL, NULL,
	    NULL, 0, "unknown" },
};

START_TEST(test_config_table)
{
	const struct cfg_case *c = &cfg_cases[_i];
	struct tb_smtp_config cfg = {
		.host = c->host, .port = c->port, .tls = c->tls,
		.user = c->user, .password = c->password,
		.ca_file = c->ca_file, .helo = c->helo,
		.timeout_ms = c->timeout_ms,
	};
	struct error err = { 0 };
	int r = tb_smtp_check_config(&cfg, &err);

	if (c->why == NULL) {
		ck_assert_msg(r == 0, "case %d refused: %s", _i, err.msg);
		return;
	}
	ck_assert_msg(r == -1, "case %d accepted", _i);
	ck_assert_int_eq(err.code, EX_CONFIG);
	ck_assert_msg(strstr(err.msg, c->why) != NULL,
	    "case %d: '%s' lacks '%s'", _i, err.msg, c->why);
}
END_TEST

/* A refused configuration never reaches the network: a listener of our
   own sees no connection. */
START_TEST(test_config_refused_before_connecting)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct batch b;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	cfg.port = ntohs(sin.sin_port);
	cfg.user = "tester";
	cfg.password = "s3cret";

	batch_init(&b, 2, "cfgrefused", NULL);
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), -1);
	ck_assert_int_eq(err.code, EX_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.msg, "clear"));
	for (size_t i = 0; i < b.n; i++) {
		ck_assert_int_eq(b.msgs[i].outcome, TB_SMTP_DEFERRED);
		ck_assert_ptr_nonnull(strstr(b.msgs[i].reply, "clear"));
	}
	ck_assert_int_eq(accept(fd, NULL, NULL), -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	close(fd);
	batch_free(&b);
}
END_TEST

/* ---- delivery to the plain server ---- */

START_TEST(test_batch_arrives_intact)
{
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct batch b;
	char *longmsg;
	char line[999];

	batch_init(&b, 20, "intact", NULL);
	/* One message with a line of exactly 998 octets that starts with a
	   dot, so it is 999 on the wire. */
	memset(line, 'x', sizeof line - 1);
	line[0] = '.';
	line[998] = '\0';
	free((char *)b.msgs[19].data);
	longmsg = xasprintf("Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
	    "From: <news@example.org>\r\nMessage-ID: <long@test.example>\r\n"
	    "Subject: long\r\n\r\n%s\r\n.\r\n", line);
	b.msgs[19].data = longmsg;
	b.msgs[19].len = strlen(longmsg);

	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), 0);
	for (size_t i = 0; i < b.n; i++) {
		const struct tb_smtp_msg *m = &b.msgs[i];

		ck_assert_msg(m->outcome == TB_SMTP_SENT, "%s: %d %s",
		    m->rcpt, m->outcome, m->reply);
		ck_assert_int_eq(m->code, 250);
		ck_assert_str_eq(m->enh, "2.0.0");
		ck_assert_int_eq(m->stage, TB_SMTP_STAGE_DATA);
		ck_assert_ptr_nonnull(strstr(m->reply, "queued as"));
		assert_sent_intact(&plain, m);
	}
	batch_free(&b);
}
END_TEST

struct reply_case {
	const char	*local;
	int		 outcome;
	int		 code;
	const char	*enh;
	int		 stage;
	int		 policy;
	const char	*text;
};

static const struct reply_case reply_cases[] = {
	{ "ok1", TB_SMTP_SENT, 250, "2.0.0", TB_SMTP_STAGE_DATA, 0,
	    "queued" },
	{ "t450", TB_SMTP_DEFERRED, 450, "4.2.1", TB_SMTP_STAGE_RCPT, 0,
	    "450 4.2.1 Mailbox busy" },
	{ "t451", TB_SMTP_DEFERRED, 451, "4.3.0", TB_SMTP_STAGE_RCPT, 0,
	    "Local error" },
	{ "t452", TB_SMTP_DEFERRED, 452, "4.3.1", TB_SMTP_STAGE_RCPT, 0,
	    "Insufficient" },
	{ "t550", TB_SMTP_FAILED, 550, "5.1.1", TB_SMTP_STAGE_RCPT, 0,
	    "550 5.1.1 No such user" },
	{ "t571", TB_SMTP_FAILED, 550, "5.7.1", TB_SMTP_STAGE_RCPT, 1,
	    "not authorized" },
	{ "t554data", TB_SMTP_FAILED, 554, "5.6.0", TB_SMTP_STAGE_DATA, 0,
	    "content rejected" },
	{ "ok2", TB_SMTP_SENT, 250, "2.0.0", TB_SMTP_STAGE_DATA, 0,
	    "queued" },
};
#define NREPLY (sizeof reply_cases / sizeof reply_cases[0])

/* Per-recipient replies in one session; the good ones around them still
   go through (RSET after each refusal). */
START_TEST(test_scripted_replies)
{
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	const char *locals[NREPLY];
	struct batch b;

	for (size_t i = 0; i < NREPLY; i++)
		locals[i] = reply_cases[i].local;
	batch_init(&b, NREPLY, "replies", locals);
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), 0);
	for (size_t i = 0; i < NREPLY; i++) {
		const struct reply_case *c = &reply_cases[i];
		const struct tb_smtp_msg *m = &b.msgs[i];

		ck_assert_msg(m->outcome == c->outcome, "%s: outcome %d (%s)",
		    m->rcpt, m->outcome, m->reply);
		ck_assert_int_eq(m->code, c->code);
		ck_assert_str_eq(m->enh, c->enh);
		ck_assert_int_eq(m->stage, c->stage);
		ck_assert_int_eq(m->policy, c->policy);
		ck_assert_msg(strstr(m->reply, c->text) != NULL,
		    "%s: '%s' lacks '%s'", m->rcpt, m->reply, c->text);
		ck_assert_int_eq(was_received(&plain, m->rcpt),
		    c->outcome == TB_SMTP_SENT);
	}
	assert_sent_intact(&plain, &b.msgs[0]);
	assert_sent_intact(&plain, &b.msgs[NREPLY - 1]);
	batch_free(&b);
}
END_TEST

/* 421 then close: the messages after it are DEFERRED, never SENT. */
START_TEST(test_421_closes)
{
	static const char *const locals[] = { "ok1", "t421", "ok2", "ok3" };
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct batch b;

	batch_init(&b, 4, "close421", locals);
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), 0);
	ck_assert_int_eq(b.msgs[0].outcome, TB_SMTP_SENT);
	ck_assert_int_eq(b.msgs[1].outcome, TB_SMTP_DEFERRED);
	ck_assert_int_eq(b.msgs[1].code, 421);
	ck_assert_ptr_nonnull(strstr(b.msgs[1].reply, "shutting down"));
	for (size_t i = 2; i < 4; i++) {
		ck_assert_int_eq(b.msgs[i].outcome, TB_SMTP_DEFERRED);
		ck_assert_int_eq(b.msgs[i].code, 0);
		ck_assert_int_eq(b.msgs[i].stage, TB_SMTP_STAGE_SESSION);
		ck_assert_msg(strstr(b.msgs[i].reply, "connection") != NULL,
		    "reply: %s", b.msgs[i].reply);
		ck_assert(!was_received(&plain, b.msgs[i].rcpt));
	}
	ck_assert(was_received(&plain, b.msgs[0].rcpt));
	batch_free(&b);
}
END_TEST

/* The server takes the data and drops the connection without a reply:
   that message and the rest are DEFERRED, never SENT. */
START_TEST(test_drop_after_data)
{
	static const char *const locals[] = { "ok1", "drop", "ok2" };
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct batch b;

	batch_init(&b, 3, "dropped", locals);
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), 0);
	ck_assert_int_eq(b.msgs[0].outcome, TB_SMTP_SENT);
	for (size_t i = 1; i < 3; i++) {
		ck_assert_msg(b.msgs[i].outcome == TB_SMTP_DEFERRED,
		    "%s: %d %s", b.msgs[i].rcpt, b.msgs[i].outcome,
		    b.msgs[i].reply);
		ck_assert_int_eq(b.msgs[i].code, 0);
		ck_assert_ptr_nonnull(strstr(b.msgs[i].reply, "connection"));
	}
	ck_assert(!was_received(&plain, b.msgs[2].rcpt));
	batch_free(&b);
}
END_TEST

/* A server that does not answer: the timeout ends the session, and the
   message is DEFERRED well before the server would have replied. */
START_TEST(test_timeout)
{
	static const char *const locals[] = { "ok1", "stall", "ok2" };
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct batch b;
	double t0, secs;

	cfg.timeout_ms = 1000;
	batch_init(&b, 3, "stalled", locals);
	t0 = now_s();
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), 0);
	secs = now_s() - t0;
	ck_assert_msg(secs < 10, "took %.1f s", secs);
	ck_assert_int_eq(b.msgs[0].outcome, TB_SMTP_SENT);
	for (size_t i = 1; i < 3; i++) {
		ck_assert_int_eq(b.msgs[i].outcome, TB_SMTP_DEFERRED);
		ck_assert_int_eq(b.msgs[i].code, 0);
		ck_assert_ptr_nonnull(strstr(b.msgs[i].reply, "connection"));
	}
	batch_free(&b);
}
END_TEST

struct hook_log {
	size_t	 calls[8];
	size_t	 n;
};

static void
hook(void *arg, size_t index)
{
	struct hook_log *log = arg;

	if (log->n < 8)
		log->calls[log->n] = index;
	log->n++;
}

/* before_message runs once per message whose data is sent, in order,
   with the caller's index; not for a refused recipient. */
START_TEST(test_before_message_hook)
{
	static const char *const locals[] = { "ok1", "t550", "ok2", "ok3" };
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct hook_log log = { { 0 }, 0 };
	struct batch b;

	cfg.before_message = hook;
	cfg.before_arg = &log;
	batch_init(&b, 4, "hook", locals);
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), 0);
	ck_assert_int_eq(log.n, 3);
	ck_assert_int_eq(log.calls[0], 0);
	ck_assert_int_eq(log.calls[1], 2);
	ck_assert_int_eq(log.calls[2], 3);
	batch_free(&b);
}
END_TEST

/* Messages that cannot be sent as given are FAILED and never offered;
   the others in the batch still go. */
/* The first n messages of b were refused before the session: FAILED
   with no reply code, never offered. */
static void
assert_not_sendable(const struct batch *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(b->msgs[i].outcome, TB_SMTP_FAILED);
		ck_assert_int_eq(b->msgs[i].code, 0);
		ck_assert_ptr_nonnull(strstr(b->msgs[i].reply, "not sendable"));
	}
}

START_TEST(test_unsendable_messages)
{
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct batch b;
	char line[1000];

	memset(line, 'y', sizeof line - 1);
	line[999] = '\0';
	batch_init(&b, 5, "unsendable", NULL);
	free((char *)b.msgs[0].data);
	b.msgs[0].data = xstrdup("Subject: bare\r\n\r\nbare LF\nhere\r\n");
	b.msgs[0].len = strlen(b.msgs[0].data);
	free((char *)b.msgs[1].data);
	b.msgs[1].data = xasprintf("Subject: long\r\n\r\n%s\r\n", line);
	b.msgs[1].len = strlen(b.msgs[1].data);
	free((char *)b.msgs[2].rcpt);
	b.msgs[2].rcpt = xstrdup("x@example.org>\r\nRCPT TO:<victim@example.org");
	free((char *)b.msgs[3].data);
	b.msgs[3].data = xstrdup("Subject: no final CRLF\r\n\r\nbody");
	b.msgs[3].len = strlen(b.msgs[3].data);

	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), 0);
	assert_not_sendable(&b, 4);
	ck_assert_ptr_nonnull(strstr(b.msgs[0].reply, "bare LF"));
	ck_assert_ptr_nonnull(strstr(b.msgs[1].reply, "998"));
	ck_assert_ptr_nonnull(strstr(b.msgs[3].reply, "CRLF"));
	ck_assert(!was_received(&plain, "victim@example.org"));
	ck_assert_int_eq(b.msgs[4].outcome, TB_SMTP_SENT);
	assert_sent_intact(&plain, &b.msgs[4]);
	batch_free(&b);
}
END_TEST

/*
 * The byte check goes to the next CR with memchr and then eight octets at a
 * time: each fault at a word's edges (offsets 7, 8, 15 of a line) and in a
 * short tail, each named with its line, and none of them offered.
 */
static const struct {
	const char	*data;	/* with NUL written as '@' */
	const char	*why;
} bad_bodies[] = {
	{ "S: x\r\n\r\n0123456\n89abcdef\r\n", "line 3 ends with a bare LF" },
	{ "S: x\r\n\r\n01234567\n9abcdef\r\n", "line 3 ends with a bare LF" },
	{ "S: x\r\n\r\n0123456789abcde\n\r\n", "line 3 ends with a bare LF" },
	{ "S: x\r\n\r\n0123456@89abcdef\r\n", "line 3 contains NUL" },
	{ "S: x\r\n\r\n01234567@9abcdef\r\n", "line 3 contains NUL" },
	{ "S: x\r\n\r\nab@\r\n", "line 3 contains NUL" },
	{ "S: x\r\n\r\n0123456789abcdef\rx\r\n", "line 3 contains a bare CR" },
	{ "S: x\r\n\r\nend\r", "line 3 contains a bare CR" },
	{ "S: x\r\n\r\n0123456789abcdef", "the last line does not end" },
	{ "S: x\r\n\r\n01234567\n9ab\rcdef\r\n", "line 3 ends with a bare LF" },
};

START_TEST(test_unsendable_bytes)
{
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct batch b;
	size_t nb = sizeof bad_bodies / sizeof bad_bodies[0];

	batch_init(&b, nb + 1, "bytes", NULL);
	for (size_t i = 0; i < nb; i++) {
		size_t len = strlen(bad_bodies[i].data);
		char *d = xstrdup(bad_bodies[i].data);

		for (size_t j = 0; j < len; j++)
			if (d[j] == '@')
				d[j] = '\0';
		free((char *)b.msgs[i].data);
		b.msgs[i].data = d;
		b.msgs[i].len = len;
	}
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), 0);
	for (size_t i = 0; i < nb; i++) {
		ck_assert_int_eq(b.msgs[i].outcome, TB_SMTP_FAILED);
		ck_assert_int_eq(b.msgs[i].code, 0);
		ck_assert_msg(strstr(b.msgs[i].reply, bad_bodies[i].why) != NULL,
		    "case %zu: %s", i, b.msgs[i].reply);
		ck_assert(!was_received(&plain, b.msgs[i].rcpt));
	}
	ck_assert_int_eq(b.msgs[nb].outcome, TB_SMTP_SENT);
	assert_sent_intact(&plain, &b.msgs[nb]);
	batch_free(&b);
}
END_TEST

/*
 * A composed message (mime's output) skips the line scan, nothing else:
 * an address with CR/LF and an empty message are still refused and never
 * offered, and the good composed message arrives byte for byte.
 */
START_TEST(test_composed_checks_addresses)
{
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct batch b;

	batch_init(&b, 3, "composed", NULL);
	for (size_t i = 0; i < b.n; i++)
		b.msgs[i].composed = 1;
	free((char *)b.msgs[0].rcpt);
	b.msgs[0].rcpt = xstrdup("x@example.org>\r\nRCPT TO:<victim2@example.org");
	b.msgs[1].len = 0;
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), 0);
	assert_not_sendable(&b, 2);
	ck_assert_ptr_nonnull(strstr(b.msgs[1].reply, "empty message"));
	ck_assert(!was_received(&plain, "victim2@example.org"));
	ck_assert(!was_received(&plain, b.msgs[1].rcpt));
	ck_assert_int_eq(b.msgs[2].outcome, TB_SMTP_SENT);
	assert_sent_intact(&plain, &b.msgs[2]);
	batch_free(&b);
}
END_TEST

START_TEST(test_connection_refused)
{
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct batch b;

	cfg.port = closed_port();
	batch_init(&b, 3, "refused", NULL);
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), -1);
	ck_assert_int_eq(err.code, EX_UNAVAILABLE);
	ck_assert_msg(strstr(err.msg, "refused") != NULL, "%s", err.msg);
	for (size_t i = 0; i < b.n; i++) {
		ck_assert_int_eq(b.msgs[i].outcome, TB_SMTP_DEFERRED);
		ck_assert_ptr_nonnull(strstr(b.msgs[i].reply, "refused"));
	}
	batch_free(&b);
}
END_TEST

/* The connect() in src/nodelay.c is the one this program calls. */
START_TEST(test_nodelay_on_tcp)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0), on = 0;
	socklen_t len = sizeof on;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)plain.port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len),
	    0);
	ck_assert_int_ne(on, 0);
	close(fd);
}
END_TEST

static double
min_rate(void)
{
	const char *s = getenv("TB_SMTP_MIN_RATE");

	return s != NULL && s[0] != '\0' ? strtod(s, NULL) : MIN_RATE;
}

/*
 * The Nagle check: NAGLE_MSGS 5 KB messages on one connection. Without
 * TCP_NODELAY each waits for a delayed ACK (about 23/s, 17 s in all).
 * TB_SMTP_MIN_RATE overrides the floor (0 under valgrind).
 */
START_TEST(test_rate_one_connection)
{
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };
	struct batch b;
	double t0, secs, rate;

	batch_init(&b, NAGLE_MSGS, "rate", NULL);
	batch_pad(&b, RATE_SIZE);
	t0 = now_s();
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), 0);
	secs = now_s() - t0;
	for (size_t i = 0; i < b.n; i++)
		ck_assert_int_eq(b.msgs[i].outcome, TB_SMTP_SENT);
	rate = (double)b.n / secs;
	printf("# one connection: %d messages of %d octets in %.3f s = "
	    "%.0f messages/s\n", NAGLE_MSGS, RATE_SIZE, secs, rate);
	fflush(stdout);
	ck_assert_msg(rate >= min_rate(), "%.0f messages/s < %.0f: is "
	    "TCP_NODELAY set (src/nodelay.c linked)?", rate, min_rate());
	batch_free(&b);
}
END_TEST

struct par_job {
	struct batch	 b;
	int		 rc;
};

static void *
par_thread(void *arg)
{
	struct par_job *job = arg;
	struct tb_smtp_config cfg = plain_cfg();
	struct error err = { 0 };

	job->rc = tb_smtp_deliver(&cfg, job->b.msgs, job->b.n, &err);
	return NULL;
}

/* PAR_THREADS sessions at once, one per thread. */
START_TEST(test_parallel_connections)
{
	struct par_job jobs[PAR_THREADS];
	pthread_t th[PAR_THREADS];
	double t0, secs;

	for (int t = 0; t < PAR_THREADS; t++) {
		char prefix[32];

		snprintf(prefix, sizeof prefix, "par%d", t);
		batch_init(&jobs[t].b, PAR_MSGS, prefix, NULL);
		batch_pad(&jobs[t].b, RATE_SIZE);
	}
	t0 = now_s();
	for (int t = 0; t < PAR_THREADS; t++)
		ck_assert_int_eq(pthread_create(&th[t], NULL, par_thread,
		    &jobs[t]), 0);
	for (int t = 0; t < PAR_THREADS; t++)
		pthread_join(th[t], NULL);
	secs = now_s() - t0;
	printf("# %d connections: %d messages of %d octets in %.3f s = "
	    "%.0f messages/s\n", PAR_THREADS, PAR_THREADS * PAR_MSGS,
	    RATE_SIZE, secs, PAR_THREADS * PAR_MSGS / secs);
	fflush(stdout);
	for (int t = 0; t < PAR_THREADS; t++) {
		ck_assert_int_eq(jobs[t].rc, 0);
		for (size_t i = 0; i < jobs[t].b.n; i++) {
			ck_assert_int_eq(jobs[t].b.msgs[i].outcome,
			    TB_SMTP_SENT);
			ck_assert(was_received(&plain,
			    jobs[t].b.msgs[i].rcpt));
		}
		batch_free(&jobs[t].b);
	}
}
END_TEST

/* ---- STARTTLS and AUTH ---- */

START_TEST(test_tls_auth_delivers)
{
	struct tb_smtp_config cfg = tls_cfg(&tls, cert_good);
	struct error err = { 0 };
	struct batch b;
	char *block = NULL, *got;
	size_t len;

	cfg.user = "tester";
	cfg.password = "s3cret";
	batch_init(&b, 3, "tlsauth", NULL);
	ck_assert_msg(tb_smtp_deliver(&cfg, b.msgs, b.n, &err) == 0, "%s",
	    err.msg);
	for (size_t i = 0; i < b.n; i++) {
		ck_assert_msg(b.msgs[i].outcome == TB_SMTP_SENT, "%s",
		    b.msgs[i].reply);
		assert_sent_intact(&tls, &b.msgs[i]);
	}
	got = received(&tls, b.msgs[0].rcpt, &block, &len);
	ck_assert_ptr_nonnull(strstr(block, "X-Smtpd-TLS: yes\r\n"));
	ck_assert_ptr_nonnull(strstr(block, "X-Smtpd-Auth: tester\r\n"));
	ck_assert_ptr_nonnull(strstr(block, "X-Smtpd-SNI: localhost\r\n"));
	ck_assert_ptr_nonnull(strstr(block, "X-Smtpd-Helo: client.test\r\n"));
	free(got);
	free(block);
	batch_free(&b);
}
END_TEST

/* TLS works without AUTH too; this server then refuses MAIL (530 5.7.0),
   which is a sender-side refusal: FAILED at MAIL, policy. */
START_TEST(test_tls_without_auth_refused_at_mail)
{
	struct tb_smtp_config cfg = tls_cfg(&tls, cert_good);
	struct error err = { 0 };
	struct batch b;

	batch_init(&b, 2, "tlsnoauth", NULL);
	ck_assert_msg(tb_smtp_deliver(&cfg, b.msgs, b.n, &err) == 0, "%s",
	    err.msg);
	for (size_t i = 0; i < b.n; i++) {
		ck_assert_msg(b.msgs[i].outcome == TB_SMTP_FAILED, "%s",
		    b.msgs[i].reply);
		ck_assert_int_eq(b.msgs[i].stage, TB_SMTP_STAGE_MAIL);
		ck_assert_int_eq(b.msgs[i].code, 530);
		ck_assert_int_eq(b.msgs[i].policy, 1);
		ck_assert(!was_received(&tls, b.msgs[i].rcpt));
	}
	batch_free(&b);
}
END_TEST

/* A wrong password: libESMTP goes on to MAIL anyway and gets 530; that
   must not become FAILED. */
START_TEST(test_tls_wrong_password)
{
	struct tb_smtp_config cfg = tls_cfg(&tls, cert_good);
	struct error err = { 0 };
	struct batch b;

	cfg.user = "tester";
	cfg.password = "wrong";
	batch_init(&b, 2, "badpass", NULL);
	ck_assert_int_eq(tb_smtp_deliver(&cfg, b.msgs, b.n, &err), -1);
	ck_assert_int_eq(err.code, EX_CONFIG);
	ck_assert_msg(strstr(err.msg, "authentication as tester failed") !=
	    NULL && strstr(err.msg, "535") != NULL, "%s", err.msg);
	for (size_t i = 0; i < b.n; i++) {
		ck_assert_int_eq(b.msgs[i].outcome, TB_SMTP_DEFERRED);
		ck_assert(!was_received(&tls, b.msgs[i].rcpt));
	}
	batch_free(&b);
}
END_TEST

/* TLS failures end the session before MAIL: -1, all DEFERRED, nothing
   received, and the error says why. */
static void
assert_tls_refused(const struct tb_smtp_config *cfg, const struct server *sv,
    const char *prefix, const char *why)
{
	struct error err = { 0 };
	struct batch b;

	batch_init(&b, 2, prefix, NULL);
	ck_assert_int_eq(tb_smtp_deliver(cfg, b.msgs, b.n, &err), -1);
	ck_assert_int_eq(err.code, EX_UNAVAILABLE);
	ck_assert_msg(strstr(err.msg, why) != NULL, "'%s' lacks '%s'",
	    err.msg, why);
	for (size_t i = 0; i < b.n; i++) {
		ck_assert_int_eq(b.msgs[i].outcome, TB_SMTP_DEFERRED);
		ck_assert_ptr_nonnull(strstr(b.msgs[i].reply, why));
		ck_assert(!was_received(sv, b.msgs[i].rcpt));
	}
	batch_free(&b);
}

/* Trusted (it is the ca_file) but issued for another name. */
START_TEST(test_tls_wrong_name)
{
	struct tb_smtp_config cfg = tls_cfg(&othername, cert_other);

	assert_tls_refused(&cfg, &othername, "tlsname",
	    "does not name localhost");
}
END_TEST

/* Self-signed and not in the system store. */
START_TEST(test_tls_untrusted)
{
	struct tb_smtp_config cfg = tls_cfg(&tls, NULL);

	cfg.user = "tester";
	cfg.password = "s3cret";
	assert_tls_refused(&cfg, &tls, "tlsuntrusted", "not trusted");
}
END_TEST

/* A server without STARTTLS: never fall back to clear text. */
START_TEST(test_tls_not_offered)
{
	struct tb_smtp_config cfg = tls_cfg(&plain, cert_good);

	assert_tls_refused(&cfg, &plain, "tlsnone",
	    "does not offer STARTTLS");
}
END_TEST

int
main(void)
{
	struct server *svs[] = { &plain, &tls, &othername };
	size_t nsv = 1;
	struct sigaction sa = { .sa_handler = SIG_IGN };
	Suite *s = suite_create("smtp");
	TCase *tc = tcase_create("smtp");
	int r;

	/* The program's job, as smtp.h says. */
	sigaction(SIGPIPE, &sa, NULL);
	if (access(python(), X_OK) != 0) {
		printf("1..0 # SKIP %s not found\n", python());
		return 0;
	}
	tbtest_dir();
	main_pid = getpid();
	atexit(stop_servers);	/* runs before tbtest removes the dir */

	cert_good = make_cert("localhost");
	cert_other = make_cert("other.example");
	have_tls = cert_good != NULL && cert_other != NULL;
	start_server(&plain, NULL, 0);
	if (have_tls) {
		start_server(&tls, cert_good, 1);
		start_server(&othername, cert_other, 0);
		nsv = 3;
	}
	r = wait_servers(svs, nsv);
	if (r == 77) {
		printf("1..0 # SKIP aiosmtpd missing for %s\n", python());
		return 0;
	}
	if (r != 0) {
		fprintf(stderr, "test-smtp: smtpd.py did not start\n");
		return 99;
	}

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_config_table, 0,
	    sizeof cfg_cases / sizeof cfg_cases[0]);
	tcase_add_test(tc, test_config_refused_before_connecting);
	tcase_add_test(tc, test_batch_arrives_intact);
	tcase_add_test(tc, test_scripted_replies);
	tcase_add_test(tc, test_421_closes);
	tcase_add_test(tc, test_drop_after_data);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_before_message_hook);
	tcase_add_test(tc, test_unsendable_messages);
	tcase_add_test(tc, test_unsendable_bytes);
	tcase_add_test(tc, test_composed_checks_addresses);
	tcase_add_test(tc, test_connection_refused);
	tcase_add_test(tc, test_nodelay_on_tcp);
	tcase_add_test(tc, test_rate_one_connection);
	tcase_add_test(tc, test_parallel_connections);
	if (have_tls) {
		tcase_add_test(tc, test_tls_auth_delivers);
		tcase_add_test(tc, test_tls_without_auth_refused_at_mail);
		tcase_add_test(tc, test_tls_wrong_password);
		tcase_add_test(tc, test_tls_wrong_name);
		tcase_add_test(tc, test_tls_untrusted);
		tcase_add_test(tc, test_tls_not_offered);
	} else
		printf("# STARTTLS tests left out: the openssl command "
		    "failed\n");
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
