/*
 * temabrev edition: compose, preview, test and send a theme's editions;
 * list, show, remove drafts and cancel sends. And temabrev send: deliver
 * whatever is queued (the daemon runs the same sender).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "compose.h"
#include "conf.h"
#include "dkim.h"
#include "edition.h"
#include "lockfile.h"
#include "schedule.h"
#include "sender.h"
#include "smtp.h"
#include "store.h"
#include "theme.h"

#define U_NEW "temabrev edition new SLUG [--subject TEXT] [--intro FILE] " \
	"[--template NAME] [--max-items N]"
#define U_PREVIEW "temabrev edition preview ID [--to EMAIL]"
#define U_TEST "temabrev edition test ID --to EMAIL"
#define U_SEND "temabrev edition send ID [--dry-run] [--no-wait] " \
	"[--at 'YYYY-MM-DD HH:MM']"
#define U_LIST "temabrev edition list [--theme SLUG] [--json]"
#define U_SHOW "temabrev edition show ID [--failed] [--json]"
#define U_RM "temabrev edition rm ID"
#define U_CANCEL "temabrev edition cancel ID"
#define U_QSEND "temabrev send [--no-wait]"
#define U_DIGEST "temabrev digest SLUG [--send] [--no-wait]"

struct ed_opts {
	const char	*subject, *intro, *template_name, *to, *theme, *at;
	long long	 max_items;
	int		 dry_run, no_wait, json, failed, send;
};

static const struct cli_opt ed_options[] = {
	CLI_OPT_STR("subject", struct ed_opts, subject),
	CLI_OPT_STR("intro", struct ed_opts, intro),
	CLI_OPT_STR("template", struct ed_opts, template_name),
	CLI_OPT_NUM("max-items", struct ed_opts, max_items, 1, LLONG_MAX),
	CLI_OPT_STR("to", struct ed_opts, to),
	CLI_OPT_STR("theme", struct ed_opts, theme),
	CLI_OPT_FLAG("dry-run", struct ed_opts, dry_run),
	CLI_OPT_FLAG("send", struct ed_opts, send),
	CLI_OPT_FLAG("no-wait", struct ed_opts, no_wait),
	CLI_OPT_FLAG("json", struct ed_opts, json),
	CLI_OPT_FLAG("failed", struct ed_opts, failed),
	CLI_OPT_STR("at", struct ed_opts, at),
	CLI_OPT_END
};

static int
parse(int argc, char **argv, struct ed_opts *o, const char *usage, int *help)
{
	memset(o, 0, sizeof *o);
	return cli_parse(argc, argv, ed_options, o, usage, help);
}

static int
parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0)
		return cli_error(EX_USAGE, "edition id must be a number: %s", s);
	*id = v;
	return 0;
}

/* Reads the intro file: UTF-8 text, CR LF made LF, no other controls. */
static char *
read_intro(const char *path, struct error *err)
{
	struct buf b = { 0 };
	char chunk[4096];
	FILE *fp = fopen(path, "rb");
	size_t n, j = 0;

	if (fp == NULL) {
		error_set(err, EX_NOINPUT, "%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0 && b.len < 65536)
		buf_add(&b, chunk, n);
	fclose(fp);
	if (b.len >= 65536 || !util_valid_utf8(b.data ? b.data : "", b.len)) {
		error_set(err, EX_DATAERR, "%s: not UTF-8 text of at most 64 KB",
		    path);
		buf_free(&b);
		return NULL;
	}
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];

		if (c == '\r')
			continue;
		if (c < 0x20 && c != '\n' && c != '\t') {
			error_set(err, EX_DATAERR, "%s: contains a control "
			    "character", path);
			buf_free(&b);
			return NULL;
		}
		b.data[j++] = (char)c;
	}
	if (b.data)
		b.data[j] = '\0';
	return buf_steal(&b);
}

static int
edition_new(struct cli *c, int argc, char **argv)
{
	struct store_theme *t = NULL;
	struct ed_opts o;
	char *intro = NULL, *subject = NULL, date[64];
	int64_t id, nitems;
	int i, help, r, rc = 0;

	if ((i = parse(argc, argv, &o, U_NEW, &help)) == -1)
		return help ? 0 : cli_usage(U_NEW);
	if (argc - i != 1)
		return cli_usage(U_NEW);
	if ((r = store_theme_get(cli_store(c), argv[i], &t, &c->err)) == -1)
		return cli_fail(c);
	if (r == 0)
		return cli_error(EX_DATAERR, "no theme %s", argv[i]);
	if (o.template_name && (strchr(o.template_name, '/') ||
	    strchr(o.template_name, '.'))) {
		rc = cli_error(EX_USAGE, "--template takes a name like "
		    "'edition', not a path");
		goto done;
	}
	/* A missing or broken template is reported before anything else. */
	if (compose_check_templates(c->conf, o.template_name ?
	    o.template_name : "edition", t->lang, &c->err) == -1) {
		rc = cli_fail(c);
		goto done;
	}
	if (o.intro && (intro = read_intro(o.intro, &c->err)) == NULL) {
		rc = cli_fail(c);
		goto done;
	}
	compose_local_date(util_now(), t->lang, date, sizeof date);
	subject = o.subject ? xstrdup(o.subject) :
	    xasprintf("%s – %s", t->name, date);
	if (theme_check_text("subject", subject, 1, &c->err) == -1) {
		rc = cli_fail(c);
		goto done;
	}
	if (store_edition_new(c->store, t->id, subject, intro,
	    o.template_name, o.max_items, &id, &nitems, &c->err) == -1) {
		rc = cli_fail(c);
		goto done;
	}
	if (nitems == 0) {
		rc = cli_error(EX_DATAERR, "theme %s has no items that no "
		    "edition carried yet (temabrev feed fetch %s brings new "
		    "ones)", t->slug, t->slug);
		goto done;
	}
	printf("edition %lld (draft) of %s: \"%s\", %lld item%s\n",
	    (long long)id, t->slug, subject, (long long)nitems,
	    nitems == 1 ? "" : "s");
done:
	free(intro);
	free(subject);
	store_theme_free(t);
	return rc;
}

/* The subscriber --to names, or a sample one. */
static int
recipient(struct cli *c, const char *to, struct compose_rcpt *r,
    struct addr *a, char **name)
{
	int64_t id = 0;
	int found;

	*name = NULL;
	r->subscriber_id = 0;
	r->email = "anna.exempel@example.org";
	r->name = "Anna Exempel";
	if (to == NULL)
		return 0;
	if (addr_parse(to, a, &c->err) == -1)
		return -1;
	if ((found = store_subscriber_find(c->store, a->key, &id, name,
	    &c->err)) == -1)
		return -1;
	r->subscriber_id = found ? id : 0;
	r->email = a->email;
	r->name = found ? *name : "";
	return 0;
}

static int
compose_one(struct cli *c, int64_t id, const char *to, int test_copy,
    struct buf *msg, char *from, char *rcpt)
{
	struct compose *cm = NULL;
	struct compose_rcpt r;
	struct addr a;
	char *name = NULL;
	int rc = -1;

	if (compose_new(c->conf, cli_store(c), cli_secret(c), id, &cm,
	    &c->err) == -1)
		goto done;
	if (recipient(c, to, &r, &a, &name) == -1)
		goto done;
	/* A test copy carries nobody's tokens: its links, Message-ID and
	 * bounce address must not be mistaken for a real delivery's. */
	if (test_copy)
		r.subscriber_id = 0;
	rc = compose_message(cm, &r, msg, from, rcpt, &c->err);
done:
	free(name);
	compose_free(cm);
	return rc;
}

static int
edition_preview(struct cli *c, int argc, char **argv)
{
	char from[ADDR_MAX + 1], rcpt[ADDR_MAX + 1];
	struct buf msg = { 0 };
	struct ed_opts o;
	int64_t id;
	int i, help;

	if ((i = parse(argc, argv, &o, U_PREVIEW, &help)) == -1)
		return help ? 0 : cli_usage(U_PREVIEW);
	if (argc - i != 1)
		return cli_usage(U_PREVIEW);
	if (parse_id(argv[i], &id) != 0)
		return EX_USAGE;
	if (compose_one(c, id, o.to, 0, &msg, from, rcpt) == -1) {
		buf_free(&msg);
		return cli_fail(c);
	}
	fwrite(msg.data, 1, msg.len, stdout);
	buf_free(&msg);
	return 0;
}

/* The [smtp] settings as tb_smtp takes them; the password is owned. */
static int
smtp_config(struct cli *c, struct tb_smtp_config *sc, char **password)
{
	return sender_smtp_config(c->conf, sc, password, &c->err);
}

static int
edition_test(struct cli *c, int argc, char **argv)
{
	char from[ADDR_MAX + 1], rcpt[ADDR_MAX + 1], *password = NULL;
	struct tb_smtp_config sc;
	struct tb_smtp_msg m = { 0 };
	struct buf msg = { 0 };
	struct ed_opts o;
	int64_t id;
	int i, help, rc;

	if ((i = parse(argc, argv, &o, U_TEST, &help)) == -1)
		return help ? 0 : cli_usage(U_TEST);
	if (argc - i != 1 || o.to == NULL)
		return cli_usage(U_TEST);
	if (parse_id(argv[i], &id) != 0)
		return EX_USAGE;
	if (compose_one(c, id, o.to, 1, &msg, from, rcpt) == -1 ||
	    smtp_config(c, &sc, &password) == -1) {
		rc = cli_fail(c);
		goto done;
	}
	m.reverse_path = from;
	m.rcpt = rcpt;
	m.data = msg.data;
	m.len = msg.len;
	m.composed = 1;
	if (tb_smtp_deliver(&sc, &m, 1, &c->err) == -1 &&
	    m.outcome != TB_SMTP_DEFERRED) {
		rc = cli_fail(c);
		goto done;
	}
	if (m.outcome == TB_SMTP_SENT) {
		printf("test copy of edition %lld sent to %s\n", (long long)id,
		    rcpt);
		rc = 0;
	} else
		rc = cli_error(m.outcome == TB_SMTP_DEFERRED ? EX_TEMPFAIL :
		    EX_UNAVAILABLE, "%s: %s", rcpt, m.reply);
done:
	free(password);
	buf_free(&msg);
	return rc;
}

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
fmt_clock(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		snprintf(out, len, "?");
	else
		strftime(out, len, "%H:%M", &tm);
}

/* A progress bar on a terminal: sent/total, rate, ETA or a pause. */
static void
progress(const struct sender_progress *p, void *arg)
{
	char bar[31], when[16];
	int64_t done = p->sent + p->failed, total = p->total > 0 ? p->total : 1;
	int filled = (int)(30 * (done > total ? total : done) / total);

	(void)arg;
	memset(bar, '=', (size_t)filled);
	memset(bar + filled, ' ', (size_t)(30 - filled));
	bar[30] = '\0';
	fprintf(stderr, "\r[%s] %lld/%lld sent %5.0f/s", bar,
	    (long long)p->sent, (long long)p->total, p->rate);
	if (p->paused_until) {
		fmt_clock(p->paused_until, when, sizeof when);
		fprintf(stderr, "  paused until %s", when);
	} else if (p->rate > 0 && total > done) {
		long eta = (long)((double)(total - done) / p->rate);

		fprintf(stderr, "  ETA %02ld:%02ld", eta / 60, eta % 60);
	}
	if (p->failed || p->deferred_left)
		fprintf(stderr, "  (%lld failed, %lld deferred)",
		    (long long)p->failed, (long long)p->deferred_left);
	fprintf(stderr, "\033[K");
	fflush(stderr);
}

/* Runs the sender and turns its outcome into a summary and exit code. */
static int
deliver(struct cli *c, int no_wait)
{
	struct sender_opts so = { 0 };
	struct sender_progress p = { 0 };
	struct sigaction sa;
	int tty = isatty(STDERR_FILENO), r;
	char when[16];

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	so.no_wait = no_wait;
	so.progress = tty ? progress : NULL;
	so.stop = (volatile int *)&stop_flag;
	r = sender_run(c->conf, c->db_path, cli_secret(c), &so, &p, &c->err);
	if (tty)
		fputc('\n', stderr);
	if (r == -1)
		return cli_fail(c);
	if (p.requeued)
		printf("%lld message%s left by an interrupted send were queued "
		    "again\n", (long long)p.requeued, p.requeued == 1 ? "" : "s");
	printf("%lld sent, %lld failed, %lld deferred, %.0f messages/s\n",
	    (long long)p.sent, (long long)p.failed,
	    (long long)p.deferred_left, p.rate);
	if (r == 0)
		return 0;
	/* In c->err, so the job table records why (cli_job_end). */
	if (p.paused_until) {
		fmt_clock(p.paused_until, when, sizeof when);
		error_set(&c->err, EX_TEMPFAIL, "a sending window is full "
		    "until %s; run temabrev send again then", when);
	} else if (stop_flag)
		error_set(&c->err, EX_TEMPFAIL, "interrupted; the rest stays "
		    "queued: run temabrev send to go on");
	else {
		fmt_clock(p.next_try, when, sizeof when);
		error_set(&c->err, EX_TEMPFAIL, "%lld deferred message%s "
		    "left; the next try is at %s (temabrev send)",
		    (long long)p.deferred_left, p.deferred_left == 1 ? "" :
		    "s", when);
	}
	return cli_fail(c);
}

/* --dry-run: who, how fast, which limit binds, when it would end. */
static int
dry_run(struct cli *c, const struct store_edition *e, const
    struct store_theme *t)
{
	const struct config *cfg = c->conf;
	int64_t n = t->counts[STORE_ACTIVE], sent_h, sent_d;
	double rate = cfg->smtp_rate > 0 ? (double)cfg->smtp_rate : 0;
	const char *binds = rate > 0 ? "rate" : "the server";
	double secs;
	char when[32];
	time_t end;

	if (store_sent_since(c->store, util_now() - 3600, &sent_h,
	    &c->err) == -1 || store_sent_since(c->store, util_now() - 86400,
	    &sent_d, &c->err) == -1)
		return cli_fail(c);
	secs = rate > 0 ? (double)n / rate : 0;
	if (cfg->smtp_max_per_hour > 0 && n > cfg->smtp_max_per_hour - sent_h) {
		binds = "max_per_hour";
		secs = 3600.0 * (double)n / (double)cfg->smtp_max_per_hour;
	}
	if (cfg->smtp_max_per_day > 0 && n > cfg->smtp_max_per_day - sent_d) {
		binds = "max_per_day";
		secs = 86400.0 * (double)n / (double)cfg->smtp_max_per_day;
	}
	end = (time_t)(util_now() + (int64_t)secs);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&end));
	printf("dry run of edition %lld (%s): \"%s\"\n", (long long)e->id,
	    e->slug, e->subject);
	printf("recipients:       %lld active subscribers of %s\n",
	    (long long)n, e->slug);
	printf("messages/second:  %s (rate %lld, %lld connections x %lld "
	    "per connection)\n", rate > 0 ? "up to the rate" : "as fast as "
	    "the server takes them", cfg->smtp_rate, cfg->smtp_connections,
	    cfg->smtp_max_per_connection);
	printf("windows:          %lld/hour (%lld used), %lld/day (%lld used)"
	    "\n", cfg->smtp_max_per_hour, (long long)sent_h,
	    cfg->smtp_max_per_day, (long long)sent_d);
	printf("limit that binds: %s\n", binds);
	printf("expected finish:  %s\n", rate > 0 || secs > 0 ? when :
	    "as soon as the server has taken them");
	printf("nothing was sent\n");
	return 0;
}

/* Says whether the messages will be signed, and how DMARC will see it. */
static void
dkim_notice(const struct compose *cm)
{
	const struct tb_dkim_key *k = compose_dkim_key(cm);
	const char *from = compose_from_domain(cm);

	if (k == NULL) {
		printf("DKIM: not signing ([dkim] is not configured): unless "
		    "the relay signs, one-click unsubscribe will not count\n");
		return;
	}
	printf("DKIM: signing as d=%s s=%s (%s)%s%s\n", tb_dkim_key_domain(k),
	    tb_dkim_key_selector(k), tb_dkim_key_algorithm(k),
	    tb_dkim_is_aligned(from, tb_dkim_key_domain(k)) ? "" :
	    ", NOT aligned with From ", tb_dkim_is_aligned(from,
	    tb_dkim_key_domain(k)) ? "" : from);
}

/*
 * Templates and configuration are checked before anything is queued or
 * scheduled, and so is [smtp]: a send that could never start (AUTH
 * without TLS, port 465, a missing password file) queues nothing. 0 and
 * the edition's composer in *cm_r (caller frees), or -1 with c->err.
 */
static int
sendable(struct cli *c, int64_t id, struct compose **cm_r)
{
	struct tb_smtp_config sc;
	char *password = NULL;

	if (compose_new(c->conf, c->store, cli_secret(c), id, cm_r,
	    &c->err) == -1)
		return -1;
	/* The password may be set even when the settings are refused. */
	if (smtp_config(c, &sc, &password) == -1) {
		free(password);
		compose_free(*cm_r);
		*cm_r = NULL;
		return -1;
	}
	free(password);
	return 0;
}

/*
 * Checks what sending edition id needs, queues it for every active
 * subscriber and, with send_now, delivers the queue (edition send, and
 * digest --send); otherwise the daemon or temabrev send will.
 */
static int
queue_edition(struct cli *c, int64_t id, const struct ed_opts *opts,
    int send_now)
{
	struct store_edition *e = NULL;
	struct store_theme *t = NULL;
	struct compose *cm = NULL;
	struct ed_opts o = *opts;
	int64_t n;
	int rc, r;

	if ((r = store_edition_get(cli_store(c), id, &e, &c->err)) == -1)
		return cli_fail(c);
	if (r == 0)
		return cli_error(EX_DATAERR, "no edition %lld", (long long)id);
	if ((r = store_theme_get(c->store, e->slug, &t, &c->err)) != 1) {
		rc = r == -1 ? cli_fail(c) : cli_error(EX_DATAERR, "no theme");
		goto done;
	}
	if (sendable(c, id, &cm) == -1) {
		rc = cli_fail(c);
		goto done;
	}
	if (o.dry_run) {
		rc = dry_run(c, e, t);
		dkim_notice(cm);
		goto done;
	}
	dkim_notice(cm);
	if (store_edition_queue(c->store, id, &n, &c->err) == -1) {
		rc = cli_fail(c);
		goto done;
	}
	printf("edition %lld: %lld recipient%s queued\n", (long long)id,
	    (long long)n, n == 1 ? "" : "s");
	rc = send_now ? deliver(c, o.no_wait) : 0;
done:
	compose_free(cm);
	store_theme_free(t);
	store_edition_free(e);
	return rc;
}

/* The [general] timezone, opened; on failure prints and exits. */
static struct schedule_zone *
zone(struct cli *c)
{
	struct schedule_zone *z = NULL;

	if (schedule_zone_open(cli_conf(c)->timezone, &z, &c->err) == -1)
		exit(cli_fail(c));
	return z;
}

/*
 * edition send --at: the draft is left for temabrevd, which queues it
 * when the time comes (the same checks first, so a send that cannot
 * start is refused now rather than at night).
 */
static int
schedule_send(struct cli *c, int64_t id, const char *at)
{
	struct schedule_zone *z = zone(c);
	struct store_edition *e = NULL;
	struct compose *cm = NULL;
	char when[SCHEDULE_LOCAL_MAX], now_s[SCHEDULE_LOCAL_MAX];
	int64_t t, started;
	pid_t pid;
	int r, rc = 0;

	if (schedule_local_parse(at, z, &t, &c->err) == -1) {
		rc = cli_fail(c);
		goto done;
	}
	if (t <= util_now()) {
		rc = cli_error(EX_DATAERR, "--at %s is in the past (now: %s)",
		    schedule_local_format(z, t, when, sizeof when),
		    schedule_local_format(z, util_now(), now_s, sizeof now_s));
		goto done;
	}
	if ((r = store_edition_get(cli_store(c), id, &e, &c->err)) != 1) {
		rc = r == -1 ? cli_fail(c) : cli_error(EX_DATAERR,
		    "no edition %lld", (long long)id);
		goto done;
	}
	if (strcmp(e->status, "draft") != 0) {
		rc = cli_error(EX_DATAERR, "edition %lld was sent already "
		    "(%s); only a draft can be scheduled", (long long)id,
		    e->status);
		goto done;
	}
	if (sendable(c, id, &cm) == -1 ||
	    store_edition_send_at(c->store, id, t, &c->err) == -1) {
		rc = cli_fail(c);
		goto done;
	}
	printf("edition %lld: scheduled for %s; temabrevd sends it then\n",
	    (long long)id, schedule_local_format(z, t, when, sizeof when));
	if (lockfile_probe(c->db_path, &pid, &started, &c->err) == 0)
		fprintf(stderr, "temabrev: warning: no temabrevd runs on %s "
		    "now: start it before then, or run temabrev edition send "
		    "%lld yourself\n", c->db_path, (long long)id);
done:
	compose_free(cm);
	store_edition_free(e);
	schedule_zone_free(z);
	return rc;
}

static int
edition_send(struct cli *c, int argc, char **argv)
{
	struct ed_opts o;
	int64_t id;
	int i, help;

	if ((i = parse(argc, argv, &o, U_SEND, &help)) == -1)
		return help ? 0 : cli_usage(U_SEND);
	if (argc - i != 1 || (o.at != NULL && (o.dry_run || o.no_wait)))
		return cli_usage(U_SEND);
	if (parse_id(argv[i], &id) != 0)
		return EX_USAGE;
	if (o.at != NULL)
		return schedule_send(c, id, o.at);
	return queue_edition(c, id, &o, 1);
}

/*
 * temabrev digest: what cron (and the daemon's schedule) run: an edition
 * of the theme's items no edition carried yet, queued; nothing at all
 * when there are none. Two at once make one edition: an item belongs to
 * one edition per theme, so the second finds nothing left.
 */
static int
digest(struct cli *c, const struct ed_opts *o, const char *slug)
{
	struct store_theme *t = NULL;
	int64_t id, nitems;
	int r, rc;

	if ((r = store_theme_get(cli_store(c), slug, &t, &c->err)) == -1)
		return cli_fail(c);
	if (r == 0) {
		error_set(&c->err, EX_DATAERR, "no theme %s", slug);
		return cli_fail(c);
	}
	/* Nothing is reserved unless it can be sent. */
	if (edition_digest(c->conf, c->store, t, util_now(), &id, &nitems,
	    &c->err) == -1) {
		rc = cli_fail(c);
		goto done;
	}
	if (nitems == 0) {
		printf("%s: no new items, no digest\n", t->slug);
		rc = 0;
		goto done;
	}
	printf("digest of %s: edition %lld, %lld item%s\n", t->slug,
	    (long long)id, (long long)nitems, nitems == 1 ? "" : "s");
	rc = queue_edition(c, id, o, o->send);
done:
	store_theme_free(t);
	return rc;
}

int
cmd_digest(struct cli *c, int argc, char **argv)
{
	struct ed_opts o;
	int i, help;

	if ((i = parse(argc, argv, &o, U_DIGEST, &help)) == -1)
		return help ? 0 : cli_usage(U_DIGEST);
	if (argc - i != 1)
		return cli_usage(U_DIGEST);
	/* The daemon's digests are its "schedule" job. */
	cli_job_start(c, "schedule");
	return cli_job_end(c, "schedule", digest(c, &o, argv[i]));
}

static json_t *
edition_json(const struct store_edition *e)
{
	json_t *o = json_object(), *counts = json_object();

	for (int d = 0; d < STORE_ND; d++)
		json_object_set_new(counts, store_dstatus_name(d),
		    json_integer(e->counts[d]));
	json_object_set_new(o, "id", json_integer(e->id));
	json_object_set_new(o, "theme", cli_json_str(e->slug));
	json_object_set_new(o, "subject", cli_json_str(e->subject));
	json_object_set_new(o, "status", cli_json_str(e->status));
	json_object_set_new(o, "template", cli_json_str(e->template_name));
	json_object_set_new(o, "items", json_integer(e->nitems));
	json_object_set_new(o, "created", cli_json_time(e->created));
	json_object_set_new(o, "queued", e->queued ?
	    cli_json_time(e->queued) : json_null());
	json_object_set_new(o, "finished", e->finished ?
	    cli_json_time(e->finished) : json_null());
	json_object_set_new(o, "send_at", e->send_at ?
	    cli_json_time(e->send_at) : json_null());
	json_object_set_new(o, "counts", counts);
	return o;
}

struct list_state {
	const struct ed_opts		*o;
	const struct schedule_zone	*z;
};

static int
list_cb(const struct store_edition *e, void *arg)
{
	const struct list_state *ls = arg;
	char when[UTIL_ISO_LEN], at[SCHEDULE_LOCAL_MAX];

	if (ls->o->json) {
		cli_json_line(edition_json(e));
		return 0;
	}
	printf("%-5lld %-24s %-9s %.10s %3lld items %6lld sent %4lld failed "
	    " %s%s%s%s\n", (long long)e->id, e->slug, e->status,
	    util_iso_time(e->created, when), (long long)e->nitems,
	    (long long)e->counts[STORE_SENT],
	    (long long)e->counts[STORE_FAILED], e->send_at ? "[send at " : "",
	    e->send_at ? schedule_local_format(ls->z, e->send_at, at,
	    sizeof at) : "", e->send_at ? "] " : "", e->subject);
	return 0;
}

static int
edition_list(struct cli *c, int argc, char **argv)
{
	struct schedule_zone *z;
	struct list_state ls;
	struct ed_opts o;
	int64_t tid = 0;
	int i, help, r;

	if ((i = parse(argc, argv, &o, U_LIST, &help)) == -1)
		return help ? 0 : cli_usage(U_LIST);
	if (argc != i)
		return cli_usage(U_LIST);
	if ((r = cli_theme_id(c, o.theme, &tid)) != 0)
		return r;
	ls.o = &o;
	ls.z = z = zone(c);
	r = store_edition_foreach(cli_store(c), tid, list_cb, &ls, &c->err);
	schedule_zone_free(z);
	return r == -1 ? cli_fail(c) : 0;
}

static int
problem_cb(const struct store_delivery *d, void *arg)
{
	const struct ed_opts *o = arg;
	char when[UTIL_ISO_LEN];

	if (o->json) {
		json_t *j = json_object();

		json_object_set_new(j, "email", cli_json_str(d->email));
		json_object_set_new(j, "status",
		    json_string(store_dstatus_name(d->status)));
		json_object_set_new(j, "code", json_integer(d->code));
		json_object_set_new(j, "reply", cli_json_str(d->reply));
		json_object_set_new(j, "attempts", json_integer(d->attempts));
		cli_json_line(j);
		return 0;
	}
	printf("%-40s %-9s %s  %s\n", d->email ? d->email : "(erased)",
	    store_dstatus_name(d->status), d->done_at ?
	    util_iso_time(d->done_at, when) : "-", d->reply ? d->reply : "");
	return 0;
}

static int
edition_show(struct cli *c, int argc, char **argv)
{
	struct store_edition *e = NULL;
	char when[UTIL_ISO_LEN];
	struct ed_opts o;
	int64_t id;
	int i, help, r;

	if ((i = parse(argc, argv, &o, U_SHOW, &help)) == -1)
		return help ? 0 : cli_usage(U_SHOW);
	if (argc - i != 1)
		return cli_usage(U_SHOW);
	if (parse_id(argv[i], &id) != 0)
		return EX_USAGE;
	if ((r = store_edition_get(cli_store(c), id, &e, &c->err)) == -1)
		return cli_fail(c);
	if (r == 0)
		return cli_error(EX_DATAERR, "no edition %lld", (long long)id);
	if (o.failed) {
		r = store_edition_problems(c->store, id, problem_cb, &o,
		    &c->err);
		store_edition_free(e);
		return r == -1 ? cli_fail(c) : 0;
	}
	if (o.json)
		cli_json_line(edition_json(e));
	else {
		printf("edition:  %lld\ntheme:    %s (%s)\nsubject:  %s\n"
		    "status:   %s\nitems:    %lld\ncreated:  %s\n",
		    (long long)e->id, e->slug, e->theme_name, e->subject,
		    e->status, (long long)e->nitems,
		    util_iso_time(e->created, when));
		if (e->send_at) {
			struct schedule_zone *z = zone(c);
			char at[SCHEDULE_LOCAL_MAX];

			printf("send at:  %s\n", schedule_local_format(z,
			    e->send_at, at, sizeof at));
			schedule_zone_free(z);
		}
		for (int d = 0; d < STORE_ND; d++)
			printf("%-9s %lld\n", store_dstatus_name(d),
			    (long long)e->counts[d]);
	}
	store_edition_free(e);
	return 0;
}

static int
edition_rm(struct cli *c, int argc, char **argv)
{
	struct ed_opts o;
	int64_t id;
	int i, help;

	if ((i = parse(argc, argv, &o, U_RM, &help)) == -1)
		return help ? 0 : cli_usage(U_RM);
	if (argc - i != 1)
		return cli_usage(U_RM);
	if (parse_id(argv[i], &id) != 0)
		return EX_USAGE;
	if (store_edition_rm(cli_store(c), id, &c->err) == -1)
		return cli_fail(c);
	printf("draft edition %lld removed; its items are free again\n",
	    (long long)id);
	return 0;
}

static int
edition_cancel(struct cli *c, int argc, char **argv)
{
	struct ed_opts o;
	int64_t id, n;
	int i, help;

	if ((i = parse(argc, argv, &o, U_CANCEL, &help)) == -1)
		return help ? 0 : cli_usage(U_CANCEL);
	if (argc - i != 1)
		return cli_usage(U_CANCEL);
	if (parse_id(argv[i], &id) != 0)
		return EX_USAGE;
	if (store_edition_cancel(cli_store(c), id, &n, &c->err) == -1)
		return cli_fail(c);
	printf("edition %lld cancelled: %lld queued message%s will not be "
	    "sent\n", (long long)id, (long long)n, n == 1 ? "" : "s");
	return 0;
}

static const struct cli_cmd verbs[] = {
	{ "new", edition_new, "SLUG [--subject TEXT] [--intro FILE] "
	    "[--template NAME] [--max-items N]",
	    "draft an edition from the theme's items not sent yet" },
	{ "preview", edition_preview, "ID [--to EMAIL]",
	    "print the message a subscriber would get" },
	{ "test", edition_test, "ID --to EMAIL",
	    "send one copy now, not recorded as a delivery" },
	{ "send", edition_send, "ID [--dry-run] [--no-wait] "
	    "[--at 'YYYY-MM-DD HH:MM']",
	    "queue the edition for every active subscriber and deliver it "
	    "(--at: temabrevd does, then)" },
	{ "list", edition_list, "[--theme SLUG] [--json]", "list editions" },
	{ "show", edition_show, "ID [--failed] [--json]",
	    "show an edition and its delivery counts (or who did not get it)" },
	{ "rm", edition_rm, "ID", "remove a draft, freeing its items" },
	{ "cancel", edition_cancel, "ID", "stop a send" },
};

int
cmd_edition(struct cli *c, int argc, char **argv)
{
	return cli_dispatch(c, "temabrev edition", verbs,
	    sizeof verbs / sizeof verbs[0], argc - 1, argv + 1);
}

int
cmd_send(struct cli *c, int argc, char **argv)
{
	struct ed_opts o;
	int i, help;

	if ((i = parse(argc, argv, &o, U_QSEND, &help)) == -1)
		return help ? 0 : cli_usage(U_QSEND);
	if (argc != i)
		return cli_usage(U_QSEND);
	cli_job_start(c, "send");
	return cli_job_end(c, "send", deliver(c, o.no_wait));
}
