/*
 * sender: the send loop over queue rows, compose and tb_smtp. Workers are
 * POSIX threads; the calling thread reports progress. Retries back off
 * exponentially from [send] retry, and a row fails after [send]
 * max_attempts tries or max_age seconds; messages a dropped connection
 * never offered go again at once (find_unseen).
 *
 * One writer per process: the workers take turns at the database (claims,
 * pace reservations, outcomes) under run->db_mu, so none of them ever
 * waits in sqlite's busy handler for another; sqlite's busy timeout is left
 * for other processes (a second temabrev, the daemon). The messages of a
 * claim are composed after its transaction has committed, outside the
 * lock: the lease keeps the rows this worker's until their outcomes land.
 * A batch's outcomes land in the transaction of the worker's next claim
 * (one write transaction per batch, not two), or alone when the worker
 * stops; a worker never holds more than one batch unrecorded.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "compose.h"
#include "conf.h"
#include "sender.h"
#include "smtp.h"
#include "store.h"
#include "util.h"

#define LEASE_MARGIN 600	/* seconds beyond the SMTP timeouts */
#define MAX_COMPOSES 8		/* editions a worker keeps ready */

struct run {
	const struct config	*cfg;
	const char		*db_path;
	const struct secret	*secret;
	const struct sender_opts *opts;
	struct tb_smtp_config	 smtp;
	char			*password;
	char			 owner[128];
	pthread_mutex_t		 mu;
	pthread_mutex_t		 db_mu;		/* one writer at a time */
	struct sender_progress	 p;
	int			 done;		/* workers finished */
	int			 failed;	/* a worker hit an error */
	int			 stop;		/* stop claiming */
	struct error		 err;
	int64_t			 interval_us;	/* 0: no rate limit */
};

struct pending {		/* one claimed row, composed */
	int64_t		 id;
	int64_t		 edition_id;
	int64_t		 subscriber_id;
	struct buf	 email;		/* copied from the claim */
	struct buf	 name;
	int		 attempts;
	int64_t		 created;
	int		 msg_index;	/* into msgs, or -1: not sendable */
	char		 why[600];	/* when not sendable */
	struct buf	 msg;
	char		 from[ADDR_MAX + 1];
	char		 rcpt[ADDR_MAX + 1];
};

struct worker {
	struct run		*run;
	char			 owner[160];	/* this connection's leases */
	struct store		*store;
	struct compose		*composes[MAX_COMPOSES];
	int64_t			 editions[MAX_COMPOSES];
	struct pending		*rows;
	struct tb_smtp_msg	*msgs;
	unsigned char		*offered;	/* per msgs[i]: data was read */
	int			 n, nmsgs, cap;
	/* The last batch's outcomes, settled but not yet committed: they go
	   into the next claim's transaction (or alone, at the end). */
	struct store_outcome	*out;
	char			(*why)[400];
	unsigned char		*unseen;
	int			 nout;
	int64_t			 out_sent, out_deferred, out_failed;
	int64_t			 pace_start_us;
	struct error		 err;
};

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_us(int64_t us)
{
	struct timespec ts;

	if (us <= 0)
		return;
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
sender_password(const struct config *cfg, char **password_r,
    struct error *err)
{
	FILE *fp;
	char line[1024];

	*password_r = NULL;
	if (cfg->smtp_password_file == NULL)
		return 0;
	if ((fp = fopen(cfg->smtp_password_file, "r")) == NULL) {
		error_set(err, EX_CONFIG, "[smtp] password_file %s: %s",
		    cfg->smtp_password_file, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof line, fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	*password_r = xstrdup(line);
	return 0;
}

/* The compose context of an edition, built on first use. */
static struct compose *
compose_for(struct worker *w, int64_t edition_id)
{
	int i, slot = 0;

	for (i = 0; i < MAX_COMPOSES; i++) {
		if (w->composes[i] && w->editions[i] == edition_id)
			return w->composes[i];
		if (w->composes[i] == NULL)
			slot = i;
	}
	if (w->composes[slot] != NULL) {
		compose_free(w->composes[slot]);
		w->composes[slot] = NULL;
	}
	if (compose_new(w->run->cfg, w->store, w->run->secret, edition_id,
	    &w->composes[slot], &w->err) == -1)
		return NULL;
	w->editions[slot] = edition_id;
	return w->composes[slot];
}

/*
 * Inside the claim transaction, with the database lock held: copies the row
 * and nothing more, so the lock is held briefly. Only the edition's compose
 * context is made here (once per edition and worker): a broken edition
 * (templates, configuration) then rolls the claim back and stops the run
 * with every row still queued, as it was.
 */
static int
on_claim(const struct store_claim *c, void *arg)
{
	struct worker *w = arg;
	struct pending *p;

	if (w->n == w->cap)
		return 1;
	if (compose_for(w, c->edition_id) == NULL)
		return 1;
	p = &w->rows[w->n++];
	p->id = c->id;
	p->edition_id = c->edition_id;
	p->subscriber_id = c->subscriber_id;
	buf_reset(&p->email);
	buf_addstr(&p->email, c->email);
	buf_reset(&p->name);
	buf_addstr(&p->name, c->name ? c->name : "");
	p->attempts = c->attempts;
	p->created = c->created;
	p->msg_index = -1;
	buf_reset(&p->msg);
	return 0;
}

/*
 * After the claim has committed, without the lock: the messages. A message
 * that cannot be made for one subscriber fails alone; -1 only when an
 * edition's compose context cannot be made (err set).
 */
static int
compose_rows(struct worker *w)
{
	for (int i = 0; i < w->n; i++) {
		struct pending *p = &w->rows[i];
		struct compose_rcpt r = { p->subscriber_id, p->email.data,
		    p->name.data };
		struct error serr = { 0 };
		struct compose *cm;

		/* Made in on_claim; made again only when a claim spanned
		 * more than MAX_COMPOSES editions. */
		if ((cm = compose_for(w, p->edition_id)) == NULL)
			return -1;
		if (compose_message(cm, &r, &p->msg, p->from, p->rcpt,
		    &serr) == -1) {
			snprintf(p->why, sizeof p->why, "not sent: %s",
			    serr.msg);
			continue;
		}
		p->msg_index = w->nmsgs;
		memset(&w->msgs[w->nmsgs], 0, sizeof w->msgs[0]);
		w->msgs[w->nmsgs].reverse_path = p->from;
		w->msgs[w->nmsgs].rcpt = p->rcpt;
		w->msgs[w->nmsgs].composed = 1;
		w->nmsgs++;
	}
	return 0;
}

/*
 * Called by the SMTP layer before each message's data: notes that the
 * server saw the message, and waits for the message's reserved send time,
 * so the rate holds at the moment of sending, for all connections and
 * processes together.
 */
static void
pace(void *arg, size_t index)
{
	struct worker *w = arg;

	w->offered[index] = 1;
	util_failpoint("sender-message");
	if (w->run->interval_us == 0)
		return;
	sleep_us(w->pace_start_us + (int64_t)index * w->run->interval_us -
	    now_us());
}

static int64_t
backoff(const struct config *cfg, int attempts)
{
	int64_t d = cfg->send_retry;

	for (int i = 1; i < attempts && d < 6 * 3600; i++)
		d *= 2;
	return d < 6 * 3600 ? d : 6 * 3600;
}

/*
 * A connection that ended in the middle of a batch: the first message
 * without a final answer is the one it ended on; those behind it that the
 * server never saw (no reply, data never read) did nothing wrong. They
 * return to the queue at once, without the backoff and without counting
 * towards max_attempts, so a recipient whose message makes the server drop
 * the connection never takes the rest of its batch down with it on every
 * retry. Only when the session ran at all (some reply, some data read):
 * a server that cannot be reached backs everything off.
 */
static void
find_unseen(const struct worker *w, unsigned char *unseen)
{
	int ran = 0, culprit = -1;

	for (int i = 0; i < w->nmsgs; i++) {
		const struct tb_smtp_msg *m = &w->msgs[i];

		if (m->code != 0 || w->offered[i])
			ran = 1;
		if (m->outcome != TB_SMTP_DEFERRED || m->code != 0)
			continue;
		if (culprit == -1)
			culprit = i;
		else if (!w->offered[i])
			unseen[i] = 1;
	}
	if (!ran)
		memset(unseen, 0, (size_t)w->nmsgs);
}

/*
 * Turns the SMTP results into store outcomes in w->out, not yet committed:
 * the next claim commits them in its transaction (store_claim), or
 * flush_outcomes does. The rows stay leased to this worker until then, so
 * the copies a crash can send twice stay within one batch per connection.
 * Returns the reply of a server that refused the sender, or NULL.
 */
static const char *
settle(struct worker *w)
{
	const struct config *cfg = w->run->cfg;
	int64_t now = util_now();
	const char *refused = NULL;

	memset(w->unseen, 0, (size_t)w->cap);
	find_unseen(w, w->unseen);
	w->out_sent = w->out_deferred = w->out_failed = 0;
	for (int i = 0; i < w->n; i++) {
		const struct pending *p = &w->rows[i];
		struct store_outcome *o = &w->out[i];
		const struct tb_smtp_msg *m;

		memset(o, 0, sizeof *o);
		o->id = p->id;
		if (p->msg_index < 0) {
			o->status = STORE_FAILED;
			o->reply = p->why;
			w->out_failed++;
			continue;
		}
		m = &w->msgs[p->msg_index];
		o->code = m->code;
		o->policy = m->policy;
		o->reply = m->reply;
		if (m->outcome == TB_SMTP_SENT) {
			o->status = STORE_SENT;
			w->out_sent++;
		} else if (m->outcome == TB_SMTP_FAILED &&
		    m->stage == TB_SMTP_STAGE_MAIL) {
			/* The server refused the sender, not this recipient
			 * (530 authentication required, 553 sender denied):
			 * no subscriber fails for it; the run stops. */
			o->status = STORE_DEFERRED;
			o->next_try = now + backoff(cfg, p->attempts);
			refused = m->reply;
			w->out_deferred++;
		} else if (m->outcome == TB_SMTP_FAILED) {
			o->status = STORE_FAILED;
			w->out_failed++;
		} else if (w->unseen[p->msg_index] &&
		    now - p->created < cfg->send_max_age) {
			o->status = STORE_DEFERRED;
			o->next_try = now;
			w->out_deferred++;
		} else if (p->attempts >= cfg->send_max_attempts ||
		    now - p->created >= cfg->send_max_age) {
			snprintf(w->why[i], sizeof w->why[i], "gave up after "
			    "%d attempts: %s", p->attempts, m->reply);
			o->status = STORE_FAILED;
			o->reply = w->why[i];
			w->out_failed++;
		} else {
			o->status = STORE_DEFERRED;
			o->next_try = now + backoff(cfg, p->attempts);
			w->out_deferred++;
		}
	}
	w->nout = w->n;
	util_failpoint("sender-before-record");
	return refused;
}

/* The settled outcomes are in the database: count them. */
static void
outcomes_committed(struct worker *w)
{
	pthread_mutex_lock(&w->run->mu);
	w->run->p.sent += w->out_sent;
	w->run->p.deferred += w->out_deferred;
	w->run->p.failed += w->out_failed;
	pthread_mutex_unlock(&w->run->mu);
	w->nout = 0;
}

/* Commits the settled outcomes alone (no claim follows). */
static int
flush_outcomes(struct worker *w)
{
	int rc;

	if (w->nout == 0)
		return 0;
	pthread_mutex_lock(&w->run->db_mu);
	rc = store_outcomes(w->store, w->out, (size_t)w->nout, &w->err);
	pthread_mutex_unlock(&w->run->db_mu);
	if (rc == -1)
		return -1;
	outcomes_committed(w);
	return 0;
}

static int
should_stop(struct run *r)
{
	int stop;

	pthread_mutex_lock(&r->mu);
	stop = r->stop || r->failed || (r->opts->stop && *r->opts->stop);
	pthread_mutex_unlock(&r->mu);
	return stop;
}

/*
 * One connection's worth: claim (committing the last batch's outcomes in
 * the same transaction), compose, pace, send, settle. 0: idle.
 */
static int
one_batch(struct worker *w, int *full_r)
{
	struct run *r = w->run;
	struct store_limits lim = { r->cfg->smtp_max_per_hour,
	    r->cfg->smtp_max_per_day };
	struct tb_smtp_config sc = r->smtp;
	struct error serr = { 0 };
	const char *refused;
	int n, rc;

	/* w->out points into rows[].why, msgs[].reply and w->why, which
	 * on_claim leaves alone; store_claim reads it before on_claim. */
	w->n = w->nmsgs = 0;
	memset(w->offered, 0, (size_t)w->cap);
	pthread_mutex_lock(&r->db_mu);
	rc = store_claim(w->store, w->out, (size_t)w->nout, w->owner, NULL,
	    r->cfg->smtp_timeout * 4 + LEASE_MARGIN, w->cap, &lim, on_claim,
	    w, &n, full_r, &w->err);
	pthread_mutex_unlock(&r->db_mu);
	if (rc == -1) {
		/* The claim rolled back: nothing new is leased. The outcomes
		 * committed unless the database failed (then their rows stay
		 * leased, and the next run requeues them). */
		w->n = 0;
		w->nout = 0;
		return -1;	/* a database or edition error */
	}
	outcomes_committed(w);
	if (w->n == 0)
		return 0;
	util_failpoint("sender-after-claim");
	if (compose_rows(w) == -1)
		return -1;	/* the rows stay leased to this owner */
	for (int i = 0; i < w->n; i++) {
		const struct pending *p = &w->rows[i];

		if (p->msg_index >= 0) {
			w->msgs[p->msg_index].data = p->msg.data;
			w->msgs[p->msg_index].len = p->msg.len;
		}
	}
	if (w->nmsgs > 0 && r->interval_us > 0) {
		pthread_mutex_lock(&r->db_mu);
		rc = store_pace_reserve(w->store, w->nmsgs, r->interval_us,
		    now_us(), &w->pace_start_us, &w->err);
		pthread_mutex_unlock(&r->db_mu);
		if (rc == -1)
			return -1;
	}
	/* -1 only when the session never started: every row is DEFERRED
	 * with the reason, which settle() keeps. */
	sc.before_arg = w;
	if (w->nmsgs > 0)
		tb_smtp_deliver(&sc, w->msgs, (size_t)w->nmsgs, &serr);
	util_failpoint("sender-after-smtp");
	if ((refused = settle(w)) != NULL) {
		if (flush_outcomes(w) == -1)
			return -1;
		error_set(&w->err, EX_UNAVAILABLE, "%s:%lld refused the sender "
		    "(%s); check [smtp] and [general] from; the messages stay "
		    "queued", r->cfg->smtp_host, (long long)r->cfg->smtp_port,
		    refused);
		return -1;
	}
	return w->n;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->run;
	int full, n;

	if (store_open(r->db_path, &w->store, &w->err) == -1)
		goto fail;
	while (!should_stop(r)) {
		if ((n = one_batch(w, &full)) == -1)
			goto fail;
		if (n == 0)
			break;	/* nothing claimable now: the caller decides */
	}
	if (flush_outcomes(w) == -1)	/* stopped with a batch settled */
		goto fail;
	goto done;
fail:
	pthread_mutex_lock(&r->mu);
	if (!r->failed)
		r->err = w->err;
	r->failed = 1;
	pthread_mutex_unlock(&r->mu);
done:
	pthread_mutex_lock(&r->mu);
	r->done++;
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Rows leased by processes of this host that no longer exist go back. */
static int
reap_owner(const char *owner, void *arg)
{
	struct run *r = arg;
	char host[64];
	long pid;
	int64_t n = 0;
	struct store *st = NULL;

	if (sscanf(owner, "%63[^:]:%ld:", host, &pid) != 2)
		return 0;
	if (strncmp(r->owner, host, strlen(host)) != 0 ||
	    r->owner[strlen(host)] != ':' || pid <= 0 ||
	    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return 0;
	if (store_open(r->db_path, &st, &r->err) == -1)
		return -1;
	if (store_requeue_owner(st, owner, &n, &r->err) == -1) {
		store_close(st);
		return -1;
	}
	store_close(st);
	r->p.requeued += n;
	return 0;
}

/* Each connection leases in its own name: "HOST:PID:RUN:N". */
static void
worker_init(struct worker *w, struct run *r, int n)
{
	memset(w, 0, sizeof *w);
	w->run = r;
	snprintf(w->owner, sizeof w->owner, "%s:%d", r->owner, n);
	w->cap = (int)r->cfg->smtp_max_per_connection;
	w->rows = xcalloc((size_t)w->cap, sizeof *w->rows);
	w->msgs = xcalloc((size_t)w->cap, sizeof *w->msgs);
	w->offered = xcalloc((size_t)w->cap, 1);
	w->out = xcalloc((size_t)w->cap, sizeof *w->out);
	w->why = xcalloc((size_t)w->cap, sizeof *w->why);
	w->unseen = xcalloc((size_t)w->cap, 1);
}

static void
worker_deinit(struct worker *w)
{
	for (int i = 0; i < MAX_COMPOSES; i++)
		compose_free(w->composes[i]);
	for (int i = 0; i < w->cap; i++) {
		buf_free(&w->rows[i].msg);
		buf_free(&w->rows[i].email);
		buf_free(&w->rows[i].name);
	}
	free(w->rows);
	free(w->msgs);
	free(w->offered);
	free(w->out);
	free(w->why);
	free(w->unseen);
	store_close(w->store);
}

int
sender_smtp_config(const struct config *cfg, struct tb_smtp_config *sc,
    char **password_r, struct error *err)
{
	if (sender_password(cfg, password_r, err) == -1)
		return -1;
	memset(sc, 0, sizeof *sc);
	sc->host = cfg->smtp_host;
	sc->port = (int)cfg->smtp_port;
	sc->tls = strcmp(cfg->smtp_tls, "none") == 0 ? TB_SMTP_NONE :
	    TB_SMTP_STARTTLS;
	sc->ca_file = cfg->smtp_ca_file;
	sc->user = cfg->smtp_user;
	sc->password = *password_r;
	sc->timeout_ms = (int)cfg->smtp_timeout * 1000;
	return tb_smtp_check_config(sc, err);
}

static int
run_init(struct run *r, const struct config *cfg, struct error *err)
{
	char host[64] = "localhost";

	if (sender_smtp_config(cfg, &r->smtp, &r->password, err) == -1)
		return -1;
	r->smtp.before_message = pace;
	gethostname(host, sizeof host - 1);
	host[strcspn(host, ":")] = '\0';
	snprintf(r->owner, sizeof r->owner, "%s:%ld:%lx", host,
	    (long)getpid(), (unsigned long)now_us());
	r->interval_us = cfg->smtp_rate > 0 ? 1000000 / cfg->smtp_rate : 0;
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->db_mu, NULL);
	return 0;
}

/* After a round of workers: is there anything to wait for, and until when? */
static int
wait_plan(struct run *r, struct store *st, int64_t *until_r,
    struct error *err)
{
	const struct config *cfg = r->cfg;
	int64_t n, next, now = util_now(), t = 0, used;

	*until_r = 0;
	if (store_deferred(st, &n, &next, err) == -1)
		return -1;
	r->p.deferred_left = n;
	r->p.next_try = n ? next : 0;
	r->p.paused_until = 0;
	/* A full window opens when its oldest counted message ages out. */
	if (cfg->smtp_max_per_hour > 0) {
		if (store_sent_since(st, now - 3600, &used, err) == -1)
			return -1;
		if (used >= cfg->smtp_max_per_hour && store_window_opens(st,
		    now - 3600, used - cfg->smtp_max_per_hour, &t, err) == -1)
			return -1;
		if (t)
			r->p.paused_until = t + 3600;
	}
	if (cfg->smtp_max_per_day > 0) {
		if (store_sent_since(st, now - 86400, &used, err) == -1)
			return -1;
		t = 0;
		if (used >= cfg->smtp_max_per_day && store_window_opens(st,
		    now - 86400, used - cfg->smtp_max_per_day, &t, err) == -1)
			return -1;
		if (t && t + 86400 > r->p.paused_until)
			r->p.paused_until = t + 86400;
	}
	if (store_work_left(st, 0, &n, err) == -1)
		return -1;
	if (n == 0)
		return 0;			/* all done */
	if (r->p.paused_until)
		*until_r = r->p.paused_until;
	else if (r->p.next_try)
		*until_r = r->p.next_try;
	else
		*until_r = now + 1;		/* leased by another process */
	return 1;
}

static void
report(struct run *r, int64_t started)
{
	struct sender_progress p;
	int64_t el;

	if (r->opts->progress == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	p = r->p;
	pthread_mutex_unlock(&r->mu);
	el = now_us() - started;
	p.rate = el > 0 ? (double)p.sent * 1e6 / (double)el : 0;
	r->opts->progress(&p, r->opts->arg);
}

/* Starts the workers and reports until they are all done. */
static int
round_of_workers(struct run *r, int64_t started)
{
	int nw = (int)r->cfg->smtp_connections, done;
	struct worker *w = xcalloc((size_t)nw, sizeof *w);
	pthread_t *t = xcalloc((size_t)nw, sizeof *t);
	int started_n = 0;

	r->done = 0;
	for (int i = 0; i < nw; i++) {
		worker_init(&w[i], r, i);
		if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0)
			break;
		started_n++;
	}
	do {
		sleep_us(200000);
		report(r, started);
		pthread_mutex_lock(&r->mu);
		done = r->done;
		pthread_mutex_unlock(&r->mu);
	} while (done < started_n);
	for (int i = 0; i < started_n; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < nw; i++)
		worker_deinit(&w[i]);
	free(w);
	free(t);
	if (started_n < nw && started_n == 0) {
		error_set(&r->err, EX_OSERR, "cannot start sending threads");
		return -1;
	}
	return r->failed ? -1 : 0;
}

int
sender_run(const struct config *cfg, const char *db_path,
    const struct secret *secret, const struct sender_opts *opts,
    struct sender_progress *p, struct error *err)
{
	struct run r = { 0 };
	struct store *st = NULL;
	int64_t started = now_us(), until;
	int ret = -1, more;

	r.cfg = cfg;
	r.db_path = db_path;
	r.secret = secret;
	r.opts = opts;
	if (run_init(&r, cfg, err) == -1) {
		free(r.password);
		return -1;
	}
	if (store_open(db_path, &st, err) == -1)
		goto done;
	if (store_lease_owners(st, reap_owner, &r, &r.err) == -1) {
		*err = r.err;
		goto done;
	}
	if (store_work_left(st, 0, &r.p.total, err) == -1)
		goto done;
	for (;;) {
		if (round_of_workers(&r, started) == -1) {
			*err = r.err;
			goto done;
		}
		if ((more = wait_plan(&r, st, &until, err)) == -1)
			goto done;
		if (more == 0) {
			ret = 0;
			break;
		}
		if (opts->no_wait || (opts->stop && *opts->stop)) {
			ret = 1;
			break;
		}
		/* Wait (in short steps, so a signal stops it) for a retry, a
		 * window or another process's lease. */
		while (util_now() < until && !(opts->stop && *opts->stop)) {
			report(&r, started);
			sleep_us(200000);
		}
	}
done:
	report(&r, started);
	*p = r.p;
	p->rate = (double)r.p.sent * 1e6 / (double)(now_us() - started + 1);
	store_close(st);
	free(r.password);
	pthread_mutex_destroy(&r.mu);
	pthread_mutex_destroy(&r.db_mu);
	return ret;
}
