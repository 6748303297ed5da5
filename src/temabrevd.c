/*
 * temabrevd: the long-running side of temabrev. One libevent loop in the
 * main thread owns every timer and every signal; each job (feeds, the
 * schedule, the send queue, the inbox) has a worker thread with its own
 * database handle that does the blocking work when its timer fires and
 * hands back the time it wants to run next. A slow feed, an unreachable
 * SMTP server or a broken IMAP connection therefore delays only its own
 * job. The workers run the same code as the CLI (ingest_feed, sender_run,
 * inbox_run, edition_digest/edition_queue), so anything the daemon does
 * can be done by hand or from cron, and the two never carry the same row
 * (leases) or reserve the same item (one edition per theme and item).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "archive.h"
#include "compose.h"
#include "conf.h"
#include "dkim.h"
#include "edition.h"
#include "inbox.h"
#include "ingest.h"
#include "lockfile.h"
#include "log.h"
#include "schedule.h"
#include "secret.h"
#include "sender.h"
#include "smtp.h"
#include "store.h"
#include "subs.h"
#include "util.h"
#include "web.h"

/* How long SIGTERM waits for running jobs before abandoning them. */
#define STOP_GRACE_MS		4500
/* Pending subscriptions are expired this often (seconds). */
#define EXPIRE_INTERVAL	3600

/* The queue and the scheduled sends are looked at this often when idle:
 * the CLI may queue work (temabrev digest) without telling the daemon. */
#define QUEUE_CHECK		10
#define SCHEDULE_CHECK		60

enum { J_FEEDS, J_SCHEDULE, J_SEND, J_INBOX, NJOBS };

/* A configuration shared by the workers; the last holder frees it. */
struct dconf {
	struct config	*cfg;
	int		 refs;
};

struct daemon;

struct job {
	struct daemon	*d;
	const char	*name;
	/* In the worker: one run; *next_r is when to run again (0: only
	 * when kicked). Errors are logged and recorded by the run. */
	void		(*run)(struct job *, const struct config *,
			    int64_t *next_r);
	struct event	*timer;		/* main thread: time to run */
	struct event	*done;		/* worker -> main: a run ended */
	pthread_t	 thread;
	int		 started;
	pthread_cond_t	 cv;
	int		 want, busy, quit;	/* under d->mu */
	int64_t		 next;			/* under d->mu */
	int64_t		 last_end;		/* under d->mu */
	char		 last_error[256];	/* under d->mu */
	struct store	*st;		/* the worker's own handle */
	atomic_int	 stop;		/* ends a long run (the inbox) */
	int		 wake[2];	/* the inbox's: a byte ends its IDLE */
};

struct daemon {
	struct event_base *base;
	char		*conf_path;	/* NULL: built-in defaults */
	char		*db_path;
	struct secret	*secret;
	struct lockfile	*lock;
	char		*pidfile;	/* written, removed at exit */
	int64_t		 started;
	atomic_int	 stopping;	/* SIGTERM: no new work */
	int		 sender_stop;	/* sender_opts.stop */
	pthread_mutex_t	 mu;
	pthread_cond_t	 exited;	/* a worker ended */
	struct dconf	*dc;		/* under mu */
	int		 nrunning;	/* live workers, under mu */
	struct job	 job[NJOBS];
	struct event	*sig[4];
	int64_t		 sent_total;	/* under mu */
	int64_t		 last_expire;	/* the schedule worker's own */
	struct web	*web;		/* the HTTP side, main thread only */
};

static void	feeds_run(struct job *, const struct config *, int64_t *);
static void	schedule_run(struct job *, const struct config *, int64_t *);
static void	send_run(struct job *, const struct config *, int64_t *);
static void	inbox_job_run(struct job *, const struct config *, int64_t *);

static int64_t
min_next(int64_t a, int64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* ---- configuration ---- */

static void
dconf_drop(struct daemon *d, struct dconf *dc)
{
	int last;

	pthread_mutex_lock(&d->mu);
	last = --dc->refs == 0;
	pthread_mutex_unlock(&d->mu);
	if (last) {
		conf_free(dc->cfg);
		free(dc);
	}
}

struct check {
	const struct config	*cfg;
	int			 problems;
	int			 print;
};

static void
problem(struct check *c, const struct error *err)
{
	c->problems++;
	if (c->print)
		fprintf(stderr, "temabrevd: %s\n", err->msg);
	else
		log_warnx("%s", err->msg);
}

/* Each theme's templates and schedule, in the configuration's zone. */
static int
check_theme(const struct store_theme *t, void *arg)
{
	/* Every mail the daemon may send for the theme: its editions, the
	 * inbox's notices and the confirmation of a subscription request. */
	static const char *const names[] = { "edition", "unsubscribed",
	    "confirm-unsubscribe", "confirm-subscribe" };
	struct check *c = arg;
	struct schedule sch;
	struct error err = { 0 };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (compose_check_templates(c->cfg, names[i], t->lang,
		    &err) == -1)
			problem(c, &err);
	if (t->schedule != NULL && schedule_parse(t->schedule, &sch,
	    &err) == -1)
		problem(c, &err);
	return 0;
}

/*
 * Everything a run would trip over, found before it runs: the zone, the
 * sender's address, [smtp], the DKIM keys, and every theme's templates.
 * -n prints each problem; start-up and SIGHUP log them. Returns the
 * number of problems.
 */
static int
check_config(const struct config *cfg, const char *db_path, int print)
{
	struct check c = { cfg, 0, print };
	struct schedule_zone *z = NULL;
	struct tb_smtp_config sc;
	struct tb_dkim *dk = NULL;
	struct store *st = NULL;
	struct error err = { 0 };
	char *password = NULL;

	if (schedule_zone_open(cfg->timezone, &z, &err) == -1)
		problem(&c, &err);
	schedule_zone_free(z);
	if (cfg->from == NULL || cfg->list_domain == NULL) {
		error_set(&err, EX_CONFIG, "%s: [general] from and list_domain "
		    "are needed to compose", cfg->path ? cfg->path :
		    "the built-in configuration");
		problem(&c, &err);
	}
	if (sender_smtp_config(cfg, &sc, &password, &err) == -1)
		problem(&c, &err);
	free(password);
	if (tb_dkim_load(cfg, &dk, &err) == -1)
		problem(&c, &err);
	tb_dkim_free(dk);
	if (web_check(cfg, &err) == -1)
		problem(&c, &err);
	if (store_open(db_path, &st, &err) == -1)
		problem(&c, &err);
	else if (store_theme_foreach(st, check_theme, &c, &err) == -1)
		problem(&c, &err);
	store_close(st);
	return c.problems;
}

/* ---- jobs: the worker side ---- */

static void
job_record(struct job *j, const char *error, int64_t next)
{
	struct daemon *d = j->d;
	struct error err = { 0 };

	pthread_mutex_lock(&d->mu);
	j->last_end = util_now();
	snprintf(j->last_error, sizeof j->last_error, "%s", error ? error :
	    "");
	pthread_mutex_unlock(&d->mu);
	if (j->st != NULL && store_job_end(j->st, j->name, util_now(), error,
	    next, &err) == -1)
		log_warnx("%s: %s", j->name, err.msg);
}

static void
job_started(struct job *j)
{
	struct error err = { 0 };

	if (j->st != NULL && store_job_start(j->st, j->name, util_now(),
	    &err) == -1)
		log_warnx("%s: %s", j->name, err.msg);
}

/* Asks job j to run now (from any thread). */
static void
job_kick(struct job *j)
{
	pthread_mutex_lock(&j->d->mu);
	j->want = 1;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->d->mu);
}

static void *
worker_main(void *arg)
{
	struct job *j = arg;
	struct daemon *d = j->d;
	struct dconf *dc;
	struct error err = { 0 };
	int64_t next;

	if (store_open(d->db_path, &j->st, &err) == -1) {
		log_warnx("%s: %s", j->name, err.msg);
		j->st = NULL;
	}
	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (!j->want && !j->quit)
			pthread_cond_wait(&j->cv, &d->mu);
		if (j->quit)
			break;
		j->want = 0;
		j->busy = 1;
		dc = d->dc;
		dc->refs++;
		pthread_mutex_unlock(&d->mu);
		next = 0;
		if (j->st != NULL)
			j->run(j, dc->cfg, &next);
		else
			next = util_now() + 60;
		dconf_drop(d, dc);
		pthread_mutex_lock(&d->mu);
		j->busy = 0;
		j->next = next;
		pthread_mutex_unlock(&d->mu);
		event_active(j->done, 0, 0);
		pthread_mutex_lock(&d->mu);
	}
	d->nrunning--;
	pthread_cond_broadcast(&d->exited);
	pthread_mutex_unlock(&d->mu);
	store_close(j->st);
	j->st = NULL;
	return NULL;
}

/* ---- feeds ---- */

struct due_feed {
	int64_t		 id, due;
	struct store_feed f;
};

struct feed_scan {
	const struct config	*cfg;
	int64_t			 now, next;
	struct due_feed		*due;
	size_t			 n, cap;
};

/* When the feed is due, from what the store says about it. */
static int64_t
feed_due(const struct store_feed *f, int64_t interval)
{
	return schedule_feed_due(f->last_fetch, f->failures, f->id, interval);
}

static int
scan_feed(const struct store_feed *f, void *arg)
{
	struct feed_scan *s = arg;
	int64_t due = feed_due(f, s->cfg->feeds_poll_interval);
	struct due_feed *df;

	if (due > s->now) {
		s->next = min_next(s->next, due);
		return 0;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->due = xrealloc(s->due, s->cap * sizeof *s->due);
	}
	df = &s->due[s->n++];
	df->id = f->id;
	df->due = due;
	df->f = *f;
	df->f.slug = xstrdup(f->slug);
	df->f.url = xstrdup(f->url);
	df->f.title = f->title ? xstrdup(f->title) : NULL;
	df->f.etag = f->etag ? xstrdup(f->etag) : NULL;
	df->f.last_modified = f->last_modified ? xstrdup(f->last_modified) :
	    NULL;
	df->f.last_error = NULL;
	return 0;
}

static void
due_feed_clear(struct due_feed *df)
{
	free((char *)df->f.slug);
	free((char *)df->f.url);
	free((char *)df->f.title);
	free((char *)df->f.etag);
	free((char *)df->f.last_modified);
}

static void
feeds_run(struct job *j, const struct config *cfg, int64_t *next_r)
{
	struct feed_scan s = { cfg, util_now(), 0, NULL, 0, 0 };
	struct ingest_report rep;
	struct error err = { 0 };
	int64_t nnew = 0, nfailed = 0;

	job_started(j);
	if (store_feed_foreach(j->st, 0, 1, scan_feed, &s, &err) == -1) {
		log_warnx("feeds: %s", err.msg);
		job_record(j, err.msg, 0);
		*next_r = util_now() + 60;
		return;
	}
	for (size_t i = 0; i < s.n; i++) {
		struct due_feed *df = &s.due[i];

		if (atomic_load(&j->d->stopping)) {
			due_feed_clear(df);
			continue;
		}
		memset(&rep, 0, sizeof rep);
		if (ingest_feed(j->st, cfg, &df->f, &rep, &err) == -1) {
			log_warnx("feeds: %s", err.msg);
			nfailed++;
		} else if (rep.error[0] != '\0') {
			log_warnx("feed %lld (%s): %s", (long long)df->id,
			    rep.url, rep.error);
			nfailed++;
		} else if (rep.nnew > 0 || rep.nupdated > 0)
			log_info("feed %lld (%s): %lld new, %lld updated",
			    (long long)df->id, df->f.slug, (long long)rep.nnew,
			    (long long)rep.nupdated);
		nnew += rep.nnew;
		/* Its next poll, from the outcome just recorded. */
		df->f.last_fetch = util_now();
		df->f.failures = rep.error[0] != '\0' ? df->f.failures + 1 : 0;
		if (!rep.gone)
			s.next = min_next(s.next, feed_due(&df->f,
			    cfg->feeds_poll_interval));
		due_feed_clear(df);
	}
	free(s.due);
	if (nfailed > 0) {
		char msg[64];

		snprintf(msg, sizeof msg, "%lld feed%s failed",
		    (long long)nfailed, nfailed == 1 ? "" : "s");
		job_record(j, msg, s.next);
	} else
		job_record(j, NULL, s.next);
	/* No feed at all: look again later for ones added meanwhile. */
	*next_r = s.next ? s.next : util_now() + cfg->feeds_poll_interval;
}

/* ---- the schedule: digests and scheduled sends ---- */

struct sched_theme {
	int64_t		 id;
	char		*slug;
	char		*schedule;
	int64_t		 last_digest;
};

struct sched_scan {
	struct sched_theme	*t;
	size_t			 n, cap;
};

static int
scan_theme(const struct store_theme *t, void *arg)
{
	struct sched_scan *s = arg;

	if (t->schedule == NULL)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->t = xrealloc(s->t, s->cap * sizeof *s->t);
	}
	s->t[s->n].id = t->id;
	s->t[s->n].slug = xstrdup(t->slug);
	s->t[s->n].schedule = xstrdup(t->schedule);
	s->t[s->n].last_digest = t->last_digest;
	s->n++;
	return 0;
}

/*
 * Makes and queues one theme's digest. A digest that cannot be queued
 * (templates, [smtp], DKIM) is removed again, so its items wait for the
 * next one instead of being stranded in a draft.
 */
static int
make_digest(struct job *j, const struct config *cfg, int64_t theme_id,
    int64_t now)
{
	struct store_theme *t = NULL;
	struct error err = { 0 }, err2 = { 0 };
	int64_t id = 0, nitems = 0, n = 0;
	int r, ret = -1;

	if ((r = store_theme_by_id(j->st, theme_id, &t, &err)) != 1) {
		if (r == 0)
			return 0;
		log_warnx("digest: %s", err.msg);
		return -1;
	}
	if (edition_digest(cfg, j->st, t, now, &id, &nitems, &err) == -1) {
		log_warnx("digest of %s: %s", t->slug, err.msg);
		goto done;
	}
	if (nitems == 0) {
		log_info("digest of %s: no new items, no digest", t->slug);
		ret = 0;
		goto done;
	}
	if (edition_queue(cfg, j->st, j->d->secret, id, &n, &err) == -1) {
		log_warnx("digest of %s: %s", t->slug, err.msg);
		if (store_edition_rm(j->st, id, &err2) == -1)
			log_warnx("digest of %s: %s", t->slug, err2.msg);
		goto done;
	}
	log_info("digest of %s: edition %lld, %lld item%s, %lld recipient%s "
	    "queued", t->slug, (long long)id, (long long)nitems,
	    nitems == 1 ? "" : "s", (long long)n, n == 1 ? "" : "s");
	job_kick(&j->d->job[J_SEND]);
	ret = 0;
done:
	store_theme_free(t);
	return ret;
}

/*
 * A theme's digest falls due at each instant of its schedule after the
 * last one made. The first time the daemon sees a schedule it starts
 * counting from now; after a stop, a missed instant makes one digest,
 * not one per instant missed.
 */
static int64_t
theme_tick(struct job *j, const struct config *cfg,
    const struct schedule_zone *z, struct sched_theme *t, int64_t now,
    int *failed)
{
	struct schedule sch;
	struct error err = { 0 };
	int64_t slot, n;

	if (schedule_parse(t->schedule, &sch, &err) == -1) {
		log_warnx("theme %s: %s", t->slug, err.msg);
		(*failed)++;
		return 0;
	}
	if (t->last_digest == 0) {
		if (store_theme_digested(j->st, t->id, now, &err) == -1)
			goto fail;
		t->last_digest = now;
	}
	if (schedule_next_in(&sch, z, t->last_digest, &slot, &err) == -1)
		goto fail;
	if (slot == SCHEDULE_NEVER)
		return 0;
	if (slot > now)
		return slot;
	for (int i = 0; i < 100000; i++) {
		if (schedule_next_in(&sch, z, slot, &n, &err) == -1)
			goto fail;
		if (n > now)
			break;
		slot = n;
	}
	if (make_digest(j, cfg, t->id, now) == -1)
		(*failed)++;
	if (store_theme_digested(j->st, t->id, slot, &err) == -1)
		goto fail;
	if (schedule_next_in(&sch, z, slot, &n, &err) == -1)
		goto fail;
	return n;
fail:
	log_warnx("theme %s: %s", t->slug, err.msg);
	(*failed)++;
	return 0;
}

/* Drafts whose send time (edition send --at) has come. */
static void
due_sends(struct job *j, const struct config *cfg, int64_t now,
    int *failed)
{
	struct error err = { 0 }, err2 = { 0 };
	int64_t ids[16], n;
	int nids;

	if (store_editions_due(j->st, now, ids, 16, &nids, &err) == -1) {
		log_warnx("scheduled sends: %s", err.msg);
		(*failed)++;
		return;
	}
	for (int i = 0; i < nids; i++) {
		if (edition_queue(cfg, j->st, j->d->secret, ids[i], &n,
		    &err) == -1) {
			/* Unscheduled, so a broken edition is reported once
			 * rather than every minute. */
			log_warnx("edition %lld, scheduled: %s; unscheduled, "
			    "still a draft", (long long)ids[i], err.msg);
			if (store_edition_send_at(j->st, ids[i], 0,
			    &err2) == -1)
				log_warnx("edition %lld: %s",
				    (long long)ids[i], err2.msg);
			(*failed)++;
			continue;
		}
		log_info("edition %lld: scheduled send, %lld recipient%s "
		    "queued", (long long)ids[i], (long long)n, n == 1 ? "" :
		    "s");
		job_kick(&j->d->job[J_SEND]);
	}
}

/*
 * Once an hour: pending subscriptions older than [subscribe]
 * pending_days go (subs_expire). Returns when to look again.
 */
static int64_t
expire_pending(struct job *j, const struct config *cfg, int64_t now,
    int *failed)
{
	struct subs *s;
	struct error err = { 0 };
	int64_t n;

	if (now - j->d->last_expire < EXPIRE_INTERVAL)
		return j->d->last_expire + EXPIRE_INTERVAL;
	s = subs_new(j->st, j->d->secret);
	if (subs_expire(s, now, cfg->subscribe_pending_days, "expire", &n,
	    &err) == -1) {
		log_warnx("expire pending subscriptions: %s", err.msg);
		(*failed)++;
	} else if (n > 0)
		log_info("%lld pending subscription%s not confirmed in %lld "
		    "days: removed", (long long)n, n == 1 ? "" : "s",
		    (long long)cfg->subscribe_pending_days);
	subs_free(s);
	j->d->last_expire = now;
	return now + EXPIRE_INTERVAL;
}

static void
schedule_run(struct job *j, const struct config *cfg, int64_t *next_r)
{
	struct sched_scan s = { NULL, 0, 0 };
	struct schedule_zone *z = NULL;
	struct error err = { 0 };
	int64_t now = util_now(), next = now + SCHEDULE_CHECK, at;
	int failed = 0;

	job_started(j);
	if (schedule_zone_open(cfg->timezone, &z, &err) == -1 ||
	    store_theme_foreach(j->st, scan_theme, &s, &err) == -1) {
		log_warnx("schedule: %s", err.msg);
		failed++;
		goto done;
	}
	for (size_t i = 0; i < s.n; i++)
		next = min_next(next, theme_tick(j, cfg, z, &s.t[i], now,
		    &failed));
	due_sends(j, cfg, now, &failed);
	next = min_next(next, expire_pending(j, cfg, now, &failed));
	if (store_next_send_at(j->st, &at, &err) == -1) {
		log_warnx("scheduled sends: %s", err.msg);
		failed++;
	} else if (at > now)
		next = min_next(next, at);
done:
	for (size_t i = 0; i < s.n; i++) {
		free(s.t[i].slug);
		free(s.t[i].schedule);
	}
	free(s.t);
	schedule_zone_free(z);
	job_record(j, failed ? "see the log" : NULL, next);
	*next_r = next;
}

/* ---- the send queue ---- */

/*
 * With [archive] dir: after messages went out (an edition may have
 * finished) the archive is rebuilt, so it shows every sent edition.
 */
static void
rebuild_archive(struct job *j, const struct config *cfg)
{
	struct archive_stats as;
	struct error err = { 0 };

	if (cfg->archive_dir == NULL || *cfg->archive_dir == '\0')
		return;
	if (archive_build(cfg, j->st, NULL, cfg->archive_dir, &as, &err) == -1)
		log_warnx("archive %s: %s", cfg->archive_dir, err.msg);
	else
		log_debug("archive %s: %lld edition pages", cfg->archive_dir,
		    (long long)as.editions);
}

static void
send_run(struct job *j, const struct config *cfg, int64_t *next_r)
{
	struct daemon *d = j->d;
	struct sender_opts so = { 0 };
	struct sender_progress p = { 0 };
	struct error err = { 0 };
	int64_t left, now = util_now();
	int r;

	*next_r = now + QUEUE_CHECK;
	if (store_work_left(j->st, 0, &left, &err) == -1) {
		log_warnx("send: %s", err.msg);
		return;
	}
	if (left == 0)
		return;
	job_started(j);
	so.no_wait = 1;
	so.stop = &d->sender_stop;
	r = sender_run(cfg, d->db_path, d->secret, &so, &p, &err);
	if (r == -1) {
		log_warnx("send: %s", err.msg);
		job_record(j, err.msg, 0);
		*next_r = util_now() + 60;
		return;
	}
	if (p.sent || p.failed || p.deferred)
		log_info("send: %lld sent, %lld failed, %lld deferred "
		    "(%.0f/s)", (long long)p.sent, (long long)p.failed,
		    (long long)p.deferred, p.rate);
	pthread_mutex_lock(&d->mu);
	d->sent_total += p.sent;
	pthread_mutex_unlock(&d->mu);
	if (p.sent > 0)
		rebuild_archive(j, cfg);
	job_record(j, NULL, 0);
	if (r == 1) {
		int64_t t = min_next(p.paused_until, p.next_try);

		if (t > util_now())
			*next_r = min_next(*next_r, t);
		if (p.paused_until > util_now())
			*next_r = p.paused_until;
		if (p.sent > 0)
			*next_r = util_now();	/* more may be claimable */
	}
}

/* ---- the inbox ---- */

static void
inbox_pass(void *arg, const struct inbox_stats *st)
{
	struct job *j = arg;

	job_record(j, NULL, 0);
	if (st->notices > 0)
		job_kick(&j->d->job[J_SEND]);
}

static void
inbox_line(void *arg, const char *line)
{
	(void)arg;
	log_info("inbox: %s", line);
}

/*
 * The inbox's watch ends for a reload or a stop: *stop says so, a byte on
 * the pipe wakes it from IDLE at once rather than at the IDLE timeout
 * (up to [imap] idle, 25 minutes), so a reload takes effect now.
 */
static void
inbox_wake(struct daemon *d)
{
	struct job *j = &d->job[J_INBOX];

	atomic_store(&j->stop, 1);
	if (j->wake[1] >= 0 && write(j->wake[1], "w", 1) == -1 &&
	    errno != EAGAIN)
		log_warnx("inbox: cannot wake the watch: %s", strerror(errno));
}

/* Forgets wake-ups that came before this run (it starts afresh). */
static void
wake_drain(struct job *j)
{
	char b[64];

	if (j->wake[0] >= 0)
		while (read(j->wake[0], b, sizeof b) > 0)
			continue;
}

/*
 * Watches the mailbox (IDLE when offered) until stopped: inbox_run
 * reconnects after dropped connections by itself, so it only returns for
 * a stop, a reload, or what needs a person (configuration, login).
 */
static void
inbox_job_run(struct job *j, const struct config *cfg, int64_t *next_r)
{
	struct inbox_opts o = { 0 };
	struct inbox_stats st;
	struct error err = { 0 };

	(void)next_r;
	if (cfg->imap_host == NULL)
		return;			/* no inbox: run again on a reload */
	atomic_store(&j->stop, 0);
	wake_drain(j);
	job_started(j);
	o.watch = 1;
	o.stop = (volatile int *)&j->stop;
	o.wake_fd = j->wake[0];
	o.line = inbox_line;
	o.after_pass = inbox_pass;
	o.arg = j;
	if (inbox_run(cfg, j->st, j->d->secret, &o, &st, &err) == -1) {
		log_warnx("inbox: %s", err.msg);
		job_record(j, err.msg, 0);
		*next_r = util_now() + 300;
	}
	/* Stopped for a reload: the kick that came with it runs it again. */
}

/* ---- the loop ---- */

static void
job_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	job_kick(arg);
}

/* A run ended: arm the job's timer for the time it asked for. */
static void
job_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	struct daemon *d = j->d;
	struct timeval tv;
	int64_t next, delay;

	(void)fd;
	(void)what;
	if (atomic_load(&d->stopping))
		return;
	pthread_mutex_lock(&d->mu);
	next = j->next;
	pthread_mutex_unlock(&d->mu);
	evtimer_del(j->timer);
	if (next == 0)
		return;
	delay = next - util_now();
	tv.tv_sec = delay > 0 ? (time_t)delay : 0;
	tv.tv_usec = 0;
	evtimer_add(j->timer, &tv);
}

static void
log_status(struct daemon *d)
{
	char line[1024];
	size_t off;
	int64_t now = util_now();

	pthread_mutex_lock(&d->mu);
	off = (size_t)snprintf(line, sizeof line, "status: up %llds, %lld "
	    "sent", (long long)(now - d->started), (long long)d->sent_total);
	for (int i = 0; i < NJOBS && off < sizeof line; i++) {
		struct job *j = &d->job[i];

		off += (size_t)snprintf(line + off, sizeof line - off,
		    "; %s: %s%s%s", j->name, j->busy ? "running" : j->next ?
		    "waiting" : "idle", j->last_error[0] ? ", last error: " :
		    "", j->last_error);
		if (!j->busy && j->next > now && off < sizeof line)
			off += (size_t)snprintf(line + off, sizeof line - off,
			    ", next in %llds", (long long)(j->next - now));
	}
	pthread_mutex_unlock(&d->mu);
	log_info("%s", line);
}

static void
log_listening(struct daemon *d)
{
	char addr[128];

	web_address(d->web, addr, sizeof addr);
	if (addr[0] != '\0')
		log_info("http: listening on %s", addr);
}

/* The web side takes a reloaded configuration; a new address is logged. */
static void
web_reload_log(struct daemon *d, const struct config *cfg)
{
	struct error err = { 0 };
	char before[128], after[128];

	web_address(d->web, before, sizeof before);
	if (web_reload(d->web, cfg, &err) == -1)
		log_warnx("%s", err.msg);
	web_address(d->web, after, sizeof after);
	if (strcmp(before, after) != 0)
		log_listening(d);
}

/*
 * SIGHUP: a new configuration is read and checked whole; only a good one
 * replaces the old, which otherwise stays in force. Runs already going
 * finish with the configuration they started with.
 */
static void
reload(struct daemon *d)
{
	struct config *cfg = NULL;
	struct dconf *dc, *old;
	struct error err = { 0 };
	int n;

	if (conf_load(d->conf_path, &cfg, &err) == -1) {
		log_warnx("reload refused, the old configuration stays: %s",
		    err.msg);
		return;
	}
	if ((n = check_config(cfg, d->db_path, 0)) > 0) {
		log_warnx("reload refused, the old configuration stays: %d "
		    "problem%s in %s (above)", n, n == 1 ? "" : "s",
		    cfg->path ? cfg->path : "the configuration");
		conf_free(cfg);
		return;
	}
	dc = xcalloc(1, sizeof *dc);
	dc->cfg = cfg;
	dc->refs = 1;
	pthread_mutex_lock(&d->mu);
	old = d->dc;
	d->dc = dc;
	pthread_mutex_unlock(&d->mu);
	log_info("configuration reloaded from %s", cfg->path ? cfg->path :
	    "the built-in defaults");
	web_reload_log(d, cfg);
	dconf_drop(d, old);
	/* Every job runs again with it; the inbox's watch ends first. */
	inbox_wake(d);
	for (int i = 0; i < NJOBS; i++)
		job_kick(&d->job[i]);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	switch (sig) {
	case SIGHUP:
		reload(d);
		break;
	case SIGUSR1:
		log_status(d);
		break;
	default:
		log_info("stopping on signal %d", (int)sig);
		atomic_store(&d->stopping, 1);
		d->sender_stop = 1;
		event_base_loopbreak(d->base);
		break;
	}
}

/* A pipe whose ends neither block nor reach the children of a fork. */
static int
wake_pipe(int fd[2])
{
	if (pipe(fd) == -1)
		return -1;
	for (int k = 0; k < 2; k++)
		if (fcntl(fd[k], F_SETFL, O_NONBLOCK) == -1 ||
		    fcntl(fd[k], F_SETFD, FD_CLOEXEC) == -1)
			return -1;
	return 0;
}

static int
jobs_start(struct daemon *d)
{
	static const char *const names[NJOBS] = {
		[J_FEEDS] = "feeds", [J_SCHEDULE] = "schedule",
		[J_SEND] = "send", [J_INBOX] = "inbox"
	};
	static void (*const runs[NJOBS])(struct job *, const struct config *,
	    int64_t *) = {
		[J_FEEDS] = feeds_run, [J_SCHEDULE] = schedule_run,
		[J_SEND] = send_run, [J_INBOX] = inbox_job_run
	};

	for (int i = 0; i < NJOBS; i++) {
		struct job *j = &d->job[i];

		j->d = d;
		j->name = names[i];
		j->run = runs[i];
		j->want = 1;		/* every job runs once at start */
		j->wake[0] = j->wake[1] = -1;
		if (i == J_INBOX && wake_pipe(j->wake) == -1)
			fatal("cannot make the inbox's wake-up pipe");
		pthread_cond_init(&j->cv, NULL);
		j->timer = evtimer_new(d->base, job_timer_cb, j);
		j->done = event_new(d->base, -1, 0, job_done_cb, j);
		if (j->timer == NULL || j->done == NULL)
			fatalx("cannot create the %s job's events", j->name);
		pthread_mutex_lock(&d->mu);
		d->nrunning++;
		pthread_mutex_unlock(&d->mu);
		if (pthread_create(&j->thread, NULL, worker_main, j) != 0) {
			pthread_mutex_lock(&d->mu);
			d->nrunning--;
			pthread_mutex_unlock(&d->mu);
			log_warnx("cannot start the %s job's thread", j->name);
			return -1;
		}
		j->started = 1;
	}
	return 0;
}

/*
 * Asks every worker to finish and waits up to STOP_GRACE_MS for them.
 * The inbox's watch is not waited for: between passes it sits in IDLE,
 * and a pass interrupted anywhere is only looked at again (inbox.h).
 * Returns 1 when every worker ended.
 */
static int
jobs_stop(struct daemon *d)
{
	struct timespec until;
	int busy = 0, all;

	atomic_store(&d->stopping, 1);
	d->sender_stop = 1;
	inbox_wake(d);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)(STOP_GRACE_MS % 1000) * 1000000L;
	until.tv_sec += STOP_GRACE_MS / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&d->mu);
	for (int i = 0; i < NJOBS; i++) {
		d->job[i].quit = 1;
		pthread_cond_signal(&d->job[i].cv);
	}
	for (;;) {
		busy = 0;
		for (int i = 0; i < NJOBS; i++)
			if (i != J_INBOX && d->job[i].started &&
			    d->job[i].busy)
				busy++;
		if (busy == 0 && (d->nrunning == 0 ||
		    (d->nrunning == 1 && d->job[J_INBOX].busy)))
			break;
		if (pthread_cond_timedwait(&d->exited, &d->mu, &until) ==
		    ETIMEDOUT)
			break;
	}
	all = d->nrunning == 0;
	pthread_mutex_unlock(&d->mu);
	if (busy > 0)
		log_warnx("stopping with %d job%s still running; rows they "
		    "hold are sent again later", busy, busy == 1 ? "" : "s");
	if (!all)
		return 0;
	for (int i = 0; i < NJOBS; i++)
		if (d->job[i].started)
			pthread_join(d->job[i].thread, NULL);
	return 1;
}

static void
jobs_free(struct daemon *d)
{
	for (int i = 0; i < NJOBS; i++) {
		if (d->job[i].timer != NULL)
			event_free(d->job[i].timer);
		if (d->job[i].done != NULL)
			event_free(d->job[i].done);
		pthread_cond_destroy(&d->job[i].cv);
		for (int k = 0; k < 2; k++)
			if (d->job[i].wake[k] >= 0)
				close(d->job[i].wake[k]);
	}
}

/* ---- start-up ---- */

static int
write_pidfile(struct daemon *d, const char *path)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *fp;
	int ok;

	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("pidfile %s", tmp);
		free(tmp);
		return -1;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	ok = fclose(fp) == 0 && rename(tmp, path) == 0;
	if (!ok)
		log_warn("pidfile %s", path);
	free(tmp);
	if (ok)
		d->pidfile = xstrdup(path);
	return ok ? 0 : -1;
}

/* The classic double fork: no controlling terminal, not a group leader. */
static int
daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid != 0)
		_exit(0);
	if (setsid() == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid != 0)
		_exit(0);
	if (chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: temabrevd [-fn] [--config FILE] [--db FILE]\n");
	exit(EX_USAGE);
}

static int
run(struct daemon *d, int foreground)
{
	static const int sigs[4] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	const struct config *cfg = d->dc->cfg;
	struct error err = { 0 };
	char *path;
	pid_t holder;
	int r, clean, rc = 0;

	/* Before the fork, so a refusal reaches the terminal. */
	if ((r = lockfile_take(d->db_path, util_now(), &d->lock, &holder,
	    &err)) == -1) {
		fprintf(stderr, "temabrevd: %s\n", err.msg);
		return err.code;
	}
	if (r == 0) {
		fprintf(stderr, "temabrevd: another temabrevd (pid %ld) runs "
		    "on %s\n", (long)holder, d->db_path);
		return EX_TEMPFAIL;
	}
	path = conf_secret_path(cfg, d->db_path);
	r = secret_open(path, &d->secret, &err);
	free(path);
	if (r == -1) {
		fprintf(stderr, "temabrevd: %s\n", err.msg);
		return err.code;
	}
	if (!foreground) {
		if (daemonize() == -1) {
			fprintf(stderr, "temabrevd: cannot become a daemon: "
			    "%s\n", strerror(errno));
			return EX_OSERR;
		}
		log_init("temabrevd", 1, getenv("TEMABREV_DEBUG") != NULL);
		if (lockfile_repid(d->lock, &err) == -1)
			log_warnx("%s", err.msg);
	}
	if (cfg->pidfile != NULL)
		(void)write_pidfile(d, cfg->pidfile);
	d->started = util_now();
	if (evthread_use_pthreads() == -1 || (d->base = event_base_new()) ==
	    NULL)
		fatalx("cannot start the event loop");
	for (int i = 0; i < 4; i++) {
		d->sig[i] = evsignal_new(d->base, sigs[i], signal_cb, d);
		if (d->sig[i] == NULL || evsignal_add(d->sig[i], NULL) == -1)
			fatalx("cannot handle signal %d", sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	log_info("started on %s (pid %ld)", d->db_path, (long)getpid());
	if (jobs_start(d) == 0) {
		if (web_start(cfg, d->db_path, d->secret, &d->web,
		    &err) == -1) {
			log_warnx("%s", err.msg);
			rc = err.code;
		} else {
			log_listening(d);
			event_base_dispatch(d->base);
		}
	}
	/* No request may start while the jobs wind down. */
	web_stop(d->web);
	d->web = NULL;
	clean = jobs_stop(d);
	log_info("stopped");
	if (d->pidfile != NULL)
		(void)unlink(d->pidfile);
	lockfile_release(d->lock);
	d->lock = NULL;
	if (!clean)
		_exit(rc);	/* abandoned runs: their rows are leased */
	for (int i = 0; i < 4; i++)
		if (d->sig[i] != NULL)
			event_free(d->sig[i]);
	jobs_free(d);
	event_base_free(d->base);
	libevent_global_shutdown();
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct daemon d;
	struct config *cfg = NULL;
	struct error err = { 0 };
	const char *conf_opt = NULL, *db_opt = NULL;
	int ch, foreground = 0, check_only = 0, rc, n;

	memset(&d, 0, sizeof d);
	log_init("temabrevd", 0, getenv("TEMABREV_DEBUG") != NULL);
	/* As temabrev does: the database, its -wal/-shm and the lock file
	 * may be shared with a group, never with everyone. */
	umask(umask(0) | 007);
	while ((ch = getopt_long(argc, argv, "fnc:d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': foreground = 1; break;
		case 'n': check_only = 1; break;
		case 'c': conf_opt = optarg; break;
		case 'd': db_opt = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	store_init();
	d.conf_path = conf_locate(conf_opt);
	if (conf_load(d.conf_path, &cfg, &err) == -1) {
		fprintf(stderr, "temabrevd: %s\n", err.msg);
		free(d.conf_path);
		return err.code;
	}
	if ((d.db_path = conf_db_path(cfg, db_opt, &err)) == NULL) {
		fprintf(stderr, "temabrevd: %s\n", err.msg);
		rc = err.code;
		goto done;
	}
	n = check_config(cfg, d.db_path, 1);
	if (check_only) {
		if (n == 0)
			printf("temabrevd: %s and %s are good\n", d.conf_path ?
			    d.conf_path : "the built-in configuration",
			    d.db_path);
		rc = n ? EX_CONFIG : 0;
		goto done;
	}
	if (n > 0) {
		rc = EX_CONFIG;
		goto done;
	}
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.exited, NULL);
	d.dc = xcalloc(1, sizeof *d.dc);
	d.dc->cfg = cfg;
	d.dc->refs = 1;
	cfg = NULL;
	rc = run(&d, foreground);
	if (d.dc != NULL) {
		conf_free(d.dc->cfg);
		free(d.dc);
	}
	pthread_cond_destroy(&d.exited);
	pthread_mutex_destroy(&d.mu);
done:
	lockfile_release(d.lock);
	secret_free(d.secret);
	free(d.pidfile);
	conf_free(cfg);
	free(d.db_path);
	free(d.conf_path);
	return rc;
}
