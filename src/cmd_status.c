/*
 * temabrev status: what runs and what waits, on one screen (or as one
 * JSON object): the daemon (from its lock file), the send queue, the
 * scheduled sends, each background job's last run (the daemon's and
 * cron's alike: both write the job table), each feed's last poll, the
 * inbox and each theme's next digest. Times are shown in [general]
 * timezone with their UTC offset; JSON has UTC times.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "conf.h"
#include "lockfile.h"
#include "schedule.h"
#include "store.h"

#define U_STATUS "temabrev status [--json]"

/* The jobs temabrevd runs, always listed, in this order. */
static const char *const job_names[] = { "feeds", "schedule", "send",
    "inbox" };
#define NJOBS (sizeof job_names / sizeof job_names[0])

struct status {
	struct cli		*c;
	struct schedule_zone	*z;
	int64_t			 now;
	int			 json;
	json_t			*arr;		/* JSON: the list being filled */
	struct store_job	 jobs[NJOBS];	/* last_error: in errors */
	char			*errors[NJOBS];	/* owned */
	int			 failed;	/* a theme's schedule is bad */
};

/* A time in the zone, or "-" for 0 (never). */
static const char *
when(const struct status *s, int64_t t, char *buf, size_t len)
{
	if (t == 0)
		return "-";
	return schedule_local_format(s->z, t, buf, len);
}

static json_t *
json_time_or_null(int64_t t)
{
	return t ? cli_json_time(t) : json_null();
}

/* "3d 4h", "2h 13m", "5m 2s": the largest two units. */
static void
span(int64_t secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs >= 86400)
		snprintf(buf, len, "%lldd %lldh", (long long)(secs / 86400),
		    (long long)(secs % 86400 / 3600));
	else if (secs >= 3600)
		snprintf(buf, len, "%lldh %lldm", (long long)(secs / 3600),
		    (long long)(secs % 3600 / 60));
	else
		snprintf(buf, len, "%lldm %llds", (long long)(secs / 60),
		    (long long)(secs % 60));
}

/* ---- the daemon ---- */

/* *running_r: whether a daemon holds the database's lock. */
static int
daemon_part(struct status *s, json_t *root, int *running_r)
{
	char at[SCHEDULE_LOCAL_MAX], up[32];
	int64_t started;
	pid_t pid;
	int r;

	if ((r = lockfile_probe(s->c->db_path, &pid, &started,
	    &s->c->err)) == -1)
		return -1;
	*running_r = r == 1;
	if (s->json) {
		json_t *d = json_object();

		json_object_set_new(d, "running", json_boolean(r == 1));
		json_object_set_new(d, "pid", r == 1 && pid > 0 ?
		    json_integer(pid) : json_null());
		json_object_set_new(d, "started", r == 1 ?
		    json_time_or_null(started) : json_null());
		json_object_set_new(d, "uptime", r == 1 && started ?
		    json_integer(s->now > started ? s->now - started : 0) :
		    json_null());
		json_object_set_new(root, "daemon", d);
		return 0;
	}
	if (r == 0)
		printf("%-10s no daemon runs on %s\n", "daemon:",
		    s->c->db_path);
	else {
		span(s->now - started, up, sizeof up);
		printf("%-10s temabrevd pid %ld, up %s (since %s)\n",
		    "daemon:", (long)pid, up, when(s, started, at, sizeof at));
	}
	return 0;
}

/* ---- the queue and the scheduled sends ---- */

static int
queue_part(struct status *s, json_t *root)
{
	char at[SCHEDULE_LOCAL_MAX];
	struct store_queue q;

	if (store_queue_counts(s->c->store, s->now, &q, &s->c->err) == -1)
		return -1;
	if (s->json) {
		json_t *o = json_object(), *sc = json_object();

		json_object_set_new(o, "queued", json_integer(q.queued));
		json_object_set_new(o, "sending", json_integer(q.sending));
		json_object_set_new(o, "deferred", json_integer(q.deferred));
		json_object_set_new(o, "failed", json_integer(q.failed));
		json_object_set_new(o, "next_retry",
		    json_time_or_null(q.next_retry));
		json_object_set_new(o, "sent_last_hour",
		    json_integer(q.sent_hour));
		json_object_set_new(o, "sent_last_day",
		    json_integer(q.sent_day));
		json_object_set_new(root, "queue", o);
		json_object_set_new(sc, "drafts", json_integer(q.scheduled));
		json_object_set_new(sc, "next_edition", q.next_send_id ?
		    json_integer(q.next_send_id) : json_null());
		json_object_set_new(sc, "next_send",
		    json_time_or_null(q.next_send_at));
		json_object_set_new(root, "scheduled", sc);
		return 0;
	}
	printf("%-10s %lld queued, %lld sending, %lld deferred, %lld failed",
	    "queue:", (long long)q.queued, (long long)q.sending,
	    (long long)q.deferred, (long long)q.failed);
	if (q.next_retry)
		printf(" (next retry %s)", when(s, q.next_retry, at,
		    sizeof at));
	printf("\n%-10s %lld in the last hour, %lld in the last day\n",
	    "sent:", (long long)q.sent_hour, (long long)q.sent_day);
	if (q.scheduled == 0)
		printf("%-10s none\n", "scheduled:");
	else
		printf("%-10s edition %lld at %s%s\n", "scheduled:",
		    (long long)q.next_send_id, when(s, q.next_send_at, at,
		    sizeof at), q.scheduled > 1 ? " (the first of several)" :
		    "");
	return 0;
}

/* ---- the jobs ---- */

static int
job_cb(const struct store_job *j, void *arg)
{
	struct status *s = arg;

	for (size_t i = 0; i < NJOBS; i++)
		if (strcmp(j->name, job_names[i]) == 0) {
			s->jobs[i] = *j;
			s->jobs[i].name = job_names[i];
			free(s->errors[i]);
			s->errors[i] = j->last_error ? xstrdup(j->last_error) :
			    NULL;
			s->jobs[i].last_error = s->errors[i];
		}
	return 0;
}

/* Started after its last end: running now (or died running). */
static int
job_running(const struct store_job *j)
{
	return j->last_start != 0 && j->last_start > j->last_end;
}

static json_t *
job_json(const struct store_job *j, int daemon)
{
	json_t *o = json_object();

	json_object_set_new(o, "last_start", json_time_or_null(j->last_start));
	json_object_set_new(o, "last_end", json_time_or_null(j->last_end));
	json_object_set_new(o, "running", json_boolean(job_running(j)));
	json_object_set_new(o, "ok", j->last_end ?
	    json_boolean(j->last_error == NULL) : json_null());
	json_object_set_new(o, "error", cli_json_str(j->last_error));
	json_object_set_new(o, "next_run", daemon ?
	    json_time_or_null(j->next_run) : json_null());
	return o;
}

static void
job_line(const struct status *s, const struct store_job *j, int daemon)
{
	char a[SCHEDULE_LOCAL_MAX], b[SCHEDULE_LOCAL_MAX];

	printf("  %-9s ", j->name);
	if (j->last_start == 0 && j->last_end == 0) {
		printf("never ran\n");
		return;
	}
	if (job_running(j))
		printf("running since %s", when(s, j->last_start, a,
		    sizeof a));
	else
		printf("last ran %s, %s%s", when(s, j->last_end, a, sizeof a),
		    j->last_error ? "error: " : "ok",
		    j->last_error ? j->last_error : "");
	if (daemon && j->next_run > s->now)
		printf("; next %s", when(s, j->next_run, b, sizeof b));
	printf("\n");
}

/* The daemon's next_run is only shown while a daemon runs. */
static int
jobs_part(struct status *s, json_t *root, int daemon)
{
	if (store_job_foreach(s->c->store, job_cb, s, &s->c->err) == -1)
		return -1;
	if (s->json) {
		json_t *o = json_object(), *in = json_object();
		const struct store_job *ij = NULL;

		for (size_t i = 0; i < NJOBS; i++) {
			json_object_set_new(o, job_names[i],
			    job_json(&s->jobs[i], daemon));
			if (strcmp(job_names[i], "inbox") == 0)
				ij = &s->jobs[i];
		}
		json_object_set_new(root, "jobs", o);
		/* The inbox's own summary (jobs.inbox has the rest). */
		json_object_set_new(in, "configured",
		    json_boolean(s->c->conf->imap_host != NULL));
		json_object_set_new(in, "last_check",
		    json_time_or_null(ij->last_end));
		json_object_set_new(in, "error", cli_json_str(ij->last_error));
		json_object_set_new(root, "inbox", in);
		return 0;
	}
	printf("jobs:\n");
	for (size_t i = 0; i < NJOBS; i++)
		job_line(s, &s->jobs[i], daemon);
	if (s->c->conf->imap_host == NULL)
		printf("%-10s not configured ([imap] host)\n", "inbox:");
	return 0;
}

/* ---- feeds ---- */

static int
feed_cb(const struct store_feed *f, void *arg)
{
	struct status *s = arg;
	char at[SCHEDULE_LOCAL_MAX], outcome[512];

	if (s->json) {
		json_t *o = json_object();

		json_object_set_new(o, "id", json_integer(f->id));
		json_object_set_new(o, "theme", cli_json_str(f->slug));
		json_object_set_new(o, "url", cli_json_str(f->url));
		json_object_set_new(o, "active", json_boolean(f->active));
		json_object_set_new(o, "last_poll",
		    json_time_or_null(f->last_fetch));
		json_object_set_new(o, "http_status", f->last_status ?
		    json_integer(f->last_status) : json_null());
		json_object_set_new(o, "error", cli_json_str(f->last_error));
		json_object_set_new(o, "failures", json_integer(f->failures));
		json_array_append_new(s->arr, o);
		return 0;
	}
	if (!f->active)
		snprintf(outcome, sizeof outcome, "inactive");
	else if (f->last_fetch == 0)
		snprintf(outcome, sizeof outcome, "not polled yet");
	else if (f->last_error == NULL)
		snprintf(outcome, sizeof outcome, "ok");
	else if (f->failures > 1)
		snprintf(outcome, sizeof outcome, "error (%lld in a row): %s",
		    (long long)f->failures, f->last_error);
	else
		snprintf(outcome, sizeof outcome, "error: %s", f->last_error);
	printf("  %-4lld %-16s %-22s %3ld  %s\n       %s\n", (long long)f->id,
	    f->slug, when(s, f->last_fetch, at, sizeof at), f->last_status,
	    f->url, outcome);
	return 0;
}

static int
feeds_part(struct status *s, json_t *root)
{
	if (s->json)
		s->arr = json_array();
	else
		printf("feeds:\n");
	if (store_feed_foreach(s->c->store, 0, 0, feed_cb, s,
	    &s->c->err) == -1)
		return -1;
	if (s->json)
		json_object_set_new(root, "feeds", s->arr);
	s->arr = NULL;
	return 0;
}

/* ---- themes: the next digest ---- */

/*
 * As temabrevd counts: from the last digest made, or from now when none
 * was; an instant already past is due, made at the daemon's next look.
 */
static int
next_digest(const struct status *s, const struct store_theme *t,
    int64_t *next_r, int *due_r, struct error *err)
{
	struct schedule sch;

	*next_r = 0;
	*due_r = 0;
	if (t->schedule == NULL)
		return 0;
	if (schedule_parse(t->schedule, &sch, err) == -1 ||
	    schedule_next_in(&sch, s->z, t->last_digest ? t->last_digest :
	    s->now, next_r, err) == -1)
		return -1;
	if (*next_r == SCHEDULE_NEVER)
		*next_r = 0;
	*due_r = *next_r != 0 && *next_r <= s->now;
	return 0;
}

static int
theme_cb(const struct store_theme *t, void *arg)
{
	struct status *s = arg;
	struct error err = { 0 };
	char at[SCHEDULE_LOCAL_MAX];
	int64_t next;
	int due;

	if (next_digest(s, t, &next, &due, &err) == -1) {
		/* One bad theme must not hide the others. */
		fflush(stdout);
		fprintf(stderr, "temabrev: theme %s: %s\n", t->slug, err.msg);
		s->failed = 1;
	}
	if (s->json) {
		json_t *o = json_object();

		json_object_set_new(o, "slug", cli_json_str(t->slug));
		json_object_set_new(o, "schedule", cli_json_str(t->schedule));
		json_object_set_new(o, "last_digest",
		    json_time_or_null(t->last_digest));
		json_object_set_new(o, "next_digest", json_time_or_null(next));
		json_object_set_new(o, "next_digest_local", next ?
		    json_string(when(s, next, at, sizeof at)) : json_null());
		json_object_set_new(o, "due", json_boolean(due));
		json_array_append_new(s->arr, o);
		return 0;
	}
	printf("  %-16s %-24s %s%s\n", t->slug, t->schedule ? t->schedule :
	    "no schedule", next == 0 ? "" : due ? "due since " :
	    "next digest ", next ? when(s, next, at, sizeof at) : "");
	return 0;
}

static int
themes_part(struct status *s, json_t *root)
{
	if (s->json)
		s->arr = json_array();
	else
		printf("themes:\n");
	if (store_theme_foreach(s->c->store, theme_cb, s, &s->c->err) == -1)
		return -1;
	if (s->json)
		json_object_set_new(root, "themes", s->arr);
	s->arr = NULL;
	return 0;
}

int
cmd_status(struct cli *c, int argc, char **argv)
{
	static const struct cli_opt opts[] = {
		CLI_OPT_FLAG("json", struct status, json),
		CLI_OPT_END
	};
	struct status s;
	json_t *root = NULL;
	int first, help, rc = 0, daemon;

	memset(&s, 0, sizeof s);
	if ((first = cli_parse(argc, argv, opts, &s, U_STATUS, &help)) == -1)
		return help ? 0 : cli_usage(U_STATUS);
	if (first != argc)
		return cli_usage(U_STATUS);
	s.c = c;
	s.now = util_now();
	for (size_t i = 0; i < NJOBS; i++)
		s.jobs[i].name = job_names[i];
	cli_store(c);
	if (schedule_zone_open(c->conf->timezone, &s.z, &c->err) == -1)
		return cli_fail(c);
	if (s.json) {
		root = json_object();
		json_object_set_new(root, "database", cli_json_str(c->db_path));
		json_object_set_new(root, "timezone",
		    cli_json_str(c->conf->timezone));
		json_object_set_new(root, "now", cli_json_time(s.now));
	}
	if (daemon_part(&s, root, &daemon) == -1 ||
	    queue_part(&s, root) == -1 || jobs_part(&s, root, daemon) == -1 ||
	    feeds_part(&s, root) == -1 || themes_part(&s, root) == -1)
		goto fail;
	if (s.json) {
		cli_json_line(root);
		root = NULL;
	}
	rc = s.failed ? EX_DATAERR : 0;
	goto done;
fail:
	rc = cli_fail(c);
done:
	json_decref(root);
	json_decref(s.arr);
	for (size_t i = 0; i < NJOBS; i++)
		free(s.errors[i]);
	schedule_zone_free(s.z);
	return rc;
}
