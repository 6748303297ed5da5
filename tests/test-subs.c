/*
 * Unit tests for subs: add/re-activate, remove, forget, suppression,
 * CSV import (bad rows, idempotence, no re-activation) and export.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "secret.h"
#include "store.h"
#include "subs.h"
#include "tbtest.h"
#include "util.h"

struct env {
	struct store	*store;
	struct secret	*secret;
	struct subs	*subs;
	struct buf	 log;	/* reported lines */
};

static void
env_open(struct env *e, const char *name)
{
	char *db = tbtest_path(name), *sec = xasprintf("%s.secret", db);
	struct error err = { 0 };

	memset(e, 0, sizeof *e);
	unlink(db);
	ck_assert_msg(store_open(db, &e->store, &err) == 0, "%s", err.msg);
	ck_assert_msg(secret_open(sec, &e->secret, &err) == 0, "%s", err.msg);
	e->subs = subs_new(e->store, e->secret);
	ck_assert_int_eq(store_theme_add(e->store, "barnets-ratt",
	    "Barnets rätt", NULL, "sv", &err), 0);
	ck_assert_int_eq(store_theme_add(e->store, "digital-inkludering",
	    "Digital inkludering", NULL, "sv", &err), 0);
	ck_assert_int_eq(store_theme_add(e->store, "arbete-i-framtiden",
	    "Arbete i framtiden", NULL, "sv", &err), 0);
	free(db);
	free(sec);
}

static void
env_close(struct env *e)
{
	subs_free(e->subs);
	secret_free(e->secret);
	store_close(e->store);
	buf_free(&e->log);
}

static void
logline(void *arg, const char *line)
{
	struct env *e = arg;

	buf_printf(&e->log, "%s\n", line);
}

/* The status of email in slug: a status word, "none" or "no subscriber". */
struct probe {
	const char	*slug;
	char		 status[32];
};

static int
probe_cb(const struct store_subscriber *s, void *arg)
{
	struct probe *p = arg;

	snprintf(p->status, sizeof p->status, "none");
	for (size_t i = 0; i < s->nsubs; i++)
		if (strcmp(s->subs[i].slug, p->slug) == 0)
			snprintf(p->status, sizeof p->status, "%s",
			    store_status_name(s->subs[i].status));
	return 0;
}

static const char *
status_of(struct env *e, const char *key, const char *slug)
{
	static struct probe p;
	struct error err = { 0 };

	p.slug = slug;
	snprintf(p.status, sizeof p.status, "no subscriber");
	ck_assert_int_eq(store_subscriber_foreach(e->store, key, 0, -1,
	    probe_cb, &p, &err), 0);
	return p.status;
}

static int
import(struct env *e, const char *csv, struct subs_import_stats *st)
{
	char *path = tbtest_path("import.csv");
	struct error err = { 0 };
	int rc;

	tbtest_write(path, csv, -1);
	rc = subs_import(e->subs, path, NULL, 0, logline, e, st, &err);
	free(path);
	return rc;
}

START_TEST(test_add_and_reactivate)
{
	struct env e;
	struct error err = { 0 };
	char *one[] = { "barnets-ratt" }, *bad[] = { "nope" };

	env_open(&e, "add.db");
	ck_assert_int_eq(subs_add(e.subs, "Anna@Example.org", "Anna", one, 1,
	    0, "cli", logline, &e, &err), 0);
	ck_assert_str_eq(status_of(&e, "anna@example.org", "barnets-ratt"),
	    "active");
	/* The same person typed differently is the same subscriber. */
	ck_assert_int_eq(subs_add(e.subs, "anna@EXAMPLE.org", NULL, one, 1, 0,
	    "cli", logline, &e, &err), 0);
	ck_assert_ptr_nonnull(strstr(e.log.data, "already active"));
	ck_assert_int_eq(subs_remove(e.subs, "anna@example.org", NULL, "cli",
	    logline, &e, &err), 0);
	ck_assert_str_eq(status_of(&e, "anna@example.org", "barnets-ratt"),
	    "unsubscribed");
	/* sub add re-activates: a communicator asked. */
	ck_assert_int_eq(subs_add(e.subs, "anna@example.org", NULL, one, 1, 0,
	    "cli", logline, &e, &err), 0);
	ck_assert_str_eq(status_of(&e, "anna@example.org", "barnets-ratt"),
	    "active");
	ck_assert_int_eq(subs_add(e.subs, "bo@example.org", NULL, bad, 1, 0,
	    "cli", logline, &e, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	ck_assert_str_eq(status_of(&e, "bo@example.org", "barnets-ratt"),
	    "no subscriber");
	ck_assert_int_eq(subs_add(e.subs, "cia@example.org", "Cia\r\nBcc: x",
	    one, 1, 0, "cli", logline, &e, &err), -1);
	ck_assert_int_eq(err.code, EX_DATAERR);
	env_close(&e);
}
END_TEST

START_TEST(test_suppressed_needs_force)
{
	struct env e;
	struct error err = { 0 };
	char *one[] = { "barnets-ratt" };
	int added;

	env_open(&e, "force.db");
	ck_assert_int_eq(subs_suppress_add(e.subs, "Eva@example.org", "asked", "cli",
	    &added, &err), 0);
	ck_assert_int_eq(added, 1);
	ck_assert_int_eq(subs_add(e.subs, "eva@example.org", NULL, one, 1, 0,
	    "cli", logline, &e, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "suppression"));
	ck_assert_int_eq(subs_add(e.subs, "eva@example.org", NULL, one, 1, 1,
	    "cli --force", logline, &e, &err), 0);
	ck_assert_str_eq(status_of(&e, "eva@example.org", "barnets-ratt"),
	    "active");
	/* Suppressing an active subscriber unsubscribes everywhere. */
	ck_assert_int_eq(subs_suppress_rm(e.subs, "eva@example.org", &added,
	    &err), 0);
	ck_assert_int_eq(added, 1);
	ck_assert_int_eq(subs_suppress_add(e.subs, "eva@example.org", "again", "cli",
	    &added, &err), 0);
	ck_assert_str_eq(status_of(&e, "eva@example.org", "barnets-ratt"),
	    "unsubscribed");
	env_close(&e);
}
END_TEST

static const char good_csv[] =
    "email,name,themes\r\n"
    "anna@example.org,Anna Svensson,barnets-ratt\r\n"
    "\"bo@example.org\",\"Ek, Bo \"\"Bosse\"\"\",barnets-ratt;digital-inkludering\r\n"
    "cia@räksmörgås.se,\"Cia\nÖberg\",barnets-ratt\r\n"
    "not-an-address,Nobody,barnets-ratt\r\n"
    "dan@example.org,Dan,no-such-theme\r\n"
    "eva@example.org,Eva,\r\n"
    "fia@example.org,\"Fia \"\"Fia\"\" Ås\",arbete-i-framtiden,digital-inkludering\r\n"
    "ANNA@example.org,,digital-inkludering\r\n";

START_TEST(test_import_rows)
{
	struct subs_import_stats st;
	struct env e;

	env_open(&e, "import.db");
	ck_assert_int_eq(import(&e, good_csv, &st), 0);
	ck_assert_int_eq(st.added, 3);		/* anna, bo, fia */
	ck_assert_int_eq(st.updated, 1);	/* ANNA adds a theme */
	ck_assert_int_eq(st.refused, 4);
	ck_assert_msg(strstr(e.log.data, "import.csv:4: cia@räksmörgås.se: "
	    "name contains a line break") != NULL, "%s", e.log.data);
	ck_assert_ptr_nonnull(strstr(e.log.data, "import.csv:6: "
	    "not-an-address: address has no @"));
	ck_assert_ptr_nonnull(strstr(e.log.data, "import.csv:7: unknown "
	    "theme no-such-theme"));
	ck_assert_ptr_nonnull(strstr(e.log.data, "import.csv:8: no theme"));
	ck_assert_str_eq(status_of(&e, "anna@example.org",
	    "digital-inkludering"), "active");
	ck_assert_str_eq(status_of(&e, "fia@example.org",
	    "digital-inkludering"), "active");
	/* The second time changes nothing. */
	buf_reset(&e.log);
	ck_assert_int_eq(import(&e, good_csv, &st), 0);
	ck_assert_int_eq(st.added, 0);
	ck_assert_int_eq(st.updated, 0);
	ck_assert_int_eq(st.skipped, 4);
	ck_assert_int_eq(st.refused, 4);
	env_close(&e);
}
END_TEST

START_TEST(test_import_never_reactivates)
{
	struct subs_import_stats st;
	struct error err = { 0 };
	struct env e;
	int found;

	env_open(&e, "noreact.db");
	ck_assert_int_eq(import(&e, good_csv, &st), 0);
	ck_assert_int_eq(subs_remove(e.subs, "anna@example.org", NULL, "cli",
	    NULL, NULL, &err), 0);
	ck_assert_int_eq(subs_forget(e.subs, "bo@example.org", "cli", &found,
	    &err), 0);
	ck_assert_int_eq(found, 1);
	buf_reset(&e.log);
	ck_assert_int_eq(import(&e, good_csv, &st), 0);
	ck_assert_str_eq(status_of(&e, "anna@example.org", "barnets-ratt"),
	    "unsubscribed");
	ck_assert_str_eq(status_of(&e, "bo@example.org", "barnets-ratt"),
	    "no subscriber");
	ck_assert_ptr_nonnull(strstr(e.log.data, "import.csv:3: "
	    "bo@example.org is on the suppression list"));
	ck_assert_int_eq(st.added, 0);
	env_close(&e);
}
END_TEST

START_TEST(test_import_fatal)
{
	struct subs_import_stats st;
	struct error err = { 0 };
	struct env e;

	env_open(&e, "fatal.db");
	ck_assert_int_eq(import(&e, "name,themes\nAnna,barnets-ratt\n", &st),
	    -1);
	ck_assert_int_eq(import(&e, "", &st), -1);
	ck_assert_int_eq(subs_import(e.subs, "/nonexistent.csv", NULL, 0,
	    logline, &e, &st, &err), -1);
	ck_assert_int_eq(err.code, EX_NOINPUT);
	env_close(&e);
}
END_TEST

START_TEST(test_import_extra_theme_and_status)
{
	struct subs_import_stats st;
	struct error err = { 0 };
	char *extra[] = { "arbete-i-framtiden" };
	char *path = tbtest_path("extra.csv");
	struct env e;

	env_open(&e, "extra.db");
	tbtest_write(path, "e-mail,Name\nanna@example.org,Anna\n", -1);
	ck_assert_int_eq(subs_import(e.subs, path, extra, 1, logline, &e, &st,
	    &err), 0);
	ck_assert_int_eq(st.added, 1);
	ck_assert_str_eq(status_of(&e, "anna@example.org",
	    "arbete-i-framtiden"), "active");
	ck_assert_int_eq(import(&e, "email,themes,status\n"
	    "bo@example.org,barnets-ratt,unsubscribed\n"
	    "cia@example.org,barnets-ratt,weird\n", &st), 0);
	ck_assert_str_eq(status_of(&e, "bo@example.org", "barnets-ratt"),
	    "unsubscribed");
	ck_assert_int_eq(st.refused, 1);
	free(path);
	env_close(&e);
}
END_TEST

/* Export then import into an empty database gives the same subscribers. */
START_TEST(test_export_import_round_trip)
{
	struct subs_import_stats st;
	struct error err = { 0 };
	char *path = tbtest_path("export.csv"), *a, *b;
	struct env e, f;
	FILE *fp;

	env_open(&e, "exp1.db");
	ck_assert_int_eq(import(&e, good_csv, &st), 0);
	ck_assert_int_eq(subs_remove(e.subs, "fia@example.org",
	    "digital-inkludering", "cli", NULL, NULL, &err), 0);
	fp = fopen(path, "w");
	ck_assert_int_eq(subs_export(e.subs, fp, NULL, 0, 0, &err), 0);
	fclose(fp);
	a = tbtest_read(path, NULL);
	ck_assert_ptr_nonnull(strstr(a, "\"Ek, Bo \"\"Bosse\"\"\""));
	ck_assert_ptr_null(strstr(a, "arbete-i-framtiden;digital"));
	env_open(&f, "exp2.db");
	ck_assert_int_eq(subs_import(f.subs, path, NULL, 0, logline, &f, &st,
	    &err), 0);
	ck_assert_int_eq(st.refused, 0);
	ck_assert_int_eq(st.added, 3);
	fp = fopen(path, "w");
	ck_assert_int_eq(subs_export(f.subs, fp, NULL, 0, 0, &err), 0);
	fclose(fp);
	b = tbtest_read(path, NULL);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	/* --all has every subscription with its status. */
	fp = fopen(path, "w");
	ck_assert_int_eq(subs_export(e.subs, fp, NULL, 1, 0, &err), 0);
	fclose(fp);
	a = tbtest_read(path, NULL);
	ck_assert_ptr_nonnull(strstr(a, "email,name,themes,status\r\n"));
	ck_assert_ptr_nonnull(strstr(a, "digital-inkludering,unsubscribed"));
	free(a);
	free(path);
	env_close(&e);
	env_close(&f);
}
END_TEST

START_TEST(test_export_spreadsheet_safe)
{
	struct subs_import_stats st;
	struct error err = { 0 };
	char *path = tbtest_path("safe.csv"), *a;
	struct env e;
	FILE *fp;

	env_open(&e, "safe.db");
	ck_assert_int_eq(import(&e, "email,name,themes\n"
	    "=x@example.org,\"=HYPERLINK(\"\"http://evil.example\"\")\","
	    "barnets-ratt\n",
	    &st), 0);
	ck_assert_int_eq(st.added, 1);
	fp = fopen(path, "w");
	ck_assert_int_eq(subs_export(e.subs, fp, NULL, 0, 1, &err), 0);
	fclose(fp);
	a = tbtest_read(path, NULL);
	/* The name is neutralised; the address is never altered. */
	ck_assert_ptr_nonnull(strstr(a,
	    "=x@example.org,\"'=HYPERLINK(\"\"http://evil.example\"\")\""));
	free(a);
	free(path);
	env_close(&e);
}
END_TEST

/* A configuration whose [smtp] goes nowhere: port 1 on loopback. */
static struct config *
dead_smtp_config(void)
{
	char *path = tbtest_path("optin.conf"), *text;
	struct config *cfg = NULL;
	struct error err = { 0 };

	text = xasprintf("[general]\nfrom = Org <news@example.org>\n"
	    "list_domain = lists.example.org\ntemplates = %s/templates\n"
	    "[smtp]\nhost = 127.0.0.1\nport = 1\ntls = none\ntimeout = 5\n",
	    getenv("TB_SRCDIR") ? getenv("TB_SRCDIR") : "..");
	tbtest_write(path, text, -1);
	ck_assert_msg(conf_load(path, &cfg, &err) == 0, "%s", err.msg);
	free(text);
	free(path);
	return cfg;
}

static struct subs_request_result req;

static int
request(struct env *e, const char *email, const char *name, int64_t now,
    int flags)
{
	struct error err = { 0 };

	return subs_request(e->subs, email, name, "barnets-ratt", "web", now,
	    flags, &req, &err);
}

static int
confirm(struct env *e, const char *token, int64_t now)
{
	struct subs_confirm_result r;
	struct error err = { 0 };

	ck_assert_int_eq(subs_confirm(e->subs, token, 7, "web", now, &r, &err),
	    0);
	return r.outcome;
}

/* Requests: pending, one mail a day, nothing for active or suppressed. */
START_TEST(test_request)
{
	struct env e;
	struct error err = { 0 };
	struct config *cfg = dead_smtp_config();
	int64_t now = util_now();
	char *name = NULL, *email = NULL;
	int added;

	env_open(&e, "request.db");
	subs_set_config(e.subs, cfg);
	ck_assert_int_eq(request(&e, "Anna@Example.org", "Anna Typed", now,
	    SUBS_DEFER_MAIL), 0);
	ck_assert_int_eq(req.outcome, SUBS_REQ_MAIL_DUE);
	ck_assert_str_eq(req.email, "Anna@Example.org");
	ck_assert_int_gt(strlen(req.token), 20);
	ck_assert_str_eq(status_of(&e, "anna@example.org", "barnets-ratt"),
	    "pending");
	/* The name is kept for editions once confirmed. */
	ck_assert_int_eq(store_subscriber_get(e.store, req.subscriber_id,
	    &email, &name, &err), 1);
	ck_assert_str_eq(name, "Anna Typed");
	free(name);
	free(email);
	/* The day's mail is spent: asking again (any theme) sends none. */
	ck_assert_int_eq(request(&e, "anna@example.org", "Other Name",
	    now + 3600, SUBS_DEFER_MAIL), 0);
	ck_assert_int_eq(req.outcome, SUBS_REQ_THROTTLED);
	ck_assert_str_eq(req.token, "");
	ck_assert_int_eq(store_subscriber_get(e.store, req.subscriber_id,
	    &email, &name, &err), 1);
	ck_assert_str_eq(name, "Anna Typed");	/* a request renames nobody */
	free(name);
	free(email);
	/* A day later the mail is due again; this one fails (no server):
	 * an error, still pending, and the allowance is given back. */
	ck_assert_int_eq(request(&e, "anna@example.org", NULL,
	    now + 86400 + 1, 0), -1);
	ck_assert_str_eq(status_of(&e, "anna@example.org", "barnets-ratt"),
	    "pending");
	ck_assert_int_eq(request(&e, "anna@example.org", NULL, now + 86400 + 2,
	    SUBS_DEFER_MAIL), 0);
	ck_assert_int_eq(req.outcome, SUBS_REQ_MAIL_DUE);
	/* Active and suppressed addresses: nothing. */
	ck_assert_int_eq(confirm(&e, req.token, now + 86400 + 3),
	    SUBS_CONFIRMED);
	ck_assert_int_eq(request(&e, "anna@example.org", NULL, now + 3 * 86400,
	    SUBS_DEFER_MAIL), 0);
	ck_assert_int_eq(req.outcome, SUBS_REQ_ACTIVE);
	ck_assert_int_eq(subs_suppress_add(e.subs, "eva@example.org", "asked",
	    "cli", &added, &err), 0);
	ck_assert_int_eq(request(&e, "eva@example.org", "Eva", now,
	    SUBS_DEFER_MAIL), 0);
	ck_assert_int_eq(req.outcome, SUBS_REQ_SUPPRESSED);
	ck_assert_str_eq(status_of(&e, "eva@example.org", "barnets-ratt"),
	    "no subscriber");
	/* Bad input names itself. */
	ck_assert_int_eq(subs_request(e.subs, "no-at-sign", NULL,
	    "barnets-ratt", "web", now, SUBS_NO_SEND, &req, &err), -1);
	ck_assert_int_eq(err.code, EX_DATAERR);
	ck_assert_int_eq(subs_request(e.subs, "x@example.org", NULL, "nope",
	    "web", now, SUBS_NO_SEND, &req, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	ck_assert_int_eq(subs_request(e.subs, "x@example.org", "X\r\nBcc: y",
	    "barnets-ratt", "web", now, SUBS_NO_SEND, &req, &err), -1);
	env_close(&e);
	conf_free(cfg);
}
END_TEST

/* Confirmation: once, idempotent, never expired, forged or stale. */
START_TEST(test_confirm)
{
	struct env e;
	struct error err = { 0 };
	int64_t now = util_now(), n;
	char tok[TOKEN_BUF], bo[TOKEN_BUF], *one[] = { "barnets-ratt" };

	env_open(&e, "confirm.db");
	ck_assert_int_eq(request(&e, "anna@example.org", NULL, now,
	    SUBS_NO_SEND), 0);
	ck_assert_int_eq(req.outcome, SUBS_REQ_NOT_SENT);
	snprintf(tok, sizeof tok, "%s", req.token);
	ck_assert_int_eq(request(&e, "bo@example.org", NULL, now,
	    SUBS_NO_SEND), 0);
	snprintf(bo, sizeof bo, "%s", req.token);
	/* Too old, from the future, forged: refused, nothing changes. */
	ck_assert_int_eq(confirm(&e, tok, now + 7 * 86400 + 1),
	    SUBS_CONFIRM_EXPIRED);
	ck_assert_int_eq(confirm(&e, tok, now - 3600), SUBS_CONFIRM_INVALID);
	tok[5] = tok[5] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(confirm(&e, tok, now), SUBS_CONFIRM_INVALID);
	tok[5] = tok[5] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(confirm(&e, "", now), SUBS_CONFIRM_INVALID);
	ck_assert_str_eq(status_of(&e, "anna@example.org", "barnets-ratt"),
	    "pending");
	ck_assert_int_eq(confirm(&e, tok, now + 60), SUBS_CONFIRMED);
	ck_assert_str_eq(status_of(&e, "anna@example.org", "barnets-ratt"),
	    "active");
	ck_assert_int_eq(confirm(&e, tok, now + 120), SUBS_CONFIRMED_BEFORE);
	/* After an unsubscribe, an old token cannot bring her back. */
	ck_assert_int_eq(subs_remove(e.subs, "anna@example.org", NULL, "cli",
	    NULL, NULL, &err), 0);
	ck_assert_int_eq(confirm(&e, tok, now + 180), SUBS_CONFIRM_EXPIRED);
	ck_assert_str_eq(status_of(&e, "anna@example.org", "barnets-ratt"),
	    "unsubscribed");
	/* Expiry takes bo (only ever pending) with his address. */
	ck_assert_int_eq(subs_expire(e.subs, now + 6 * 86400, 7, "expire", &n,
	    &err), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(subs_expire(e.subs, now + 8 * 86400, 7, "expire", &n,
	    &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(status_of(&e, "bo@example.org", "barnets-ratt"),
	    "no subscriber");
	ck_assert_int_eq(confirm(&e, bo, now + 60), SUBS_CONFIRM_EXPIRED);
	/* sub add without --confirm still works, and confirms a request. */
	ck_assert_int_eq(request(&e, "cia@example.org", NULL, now,
	    SUBS_NO_SEND), 0);
	ck_assert_int_eq(subs_add(e.subs, "cia@example.org", NULL, one, 1, 0,
	    "cli", NULL, NULL, &err), 0);
	ck_assert_str_eq(status_of(&e, "cia@example.org", "barnets-ratt"),
	    "active");
	env_close(&e);
}
END_TEST


/*
 * A second theme's request confirmed from the first token's page: only
 * while pending and fresh, never the token's own theme, never with a
 * forged or expired token, never a theme not asked for.
 */
START_TEST(test_confirm_also)
{
	struct env e;
	struct error err = { 0 };
	struct store_theme *di = NULL, *af = NULL, *br = NULL;
	int64_t now = util_now();
	char tok[TOKEN_BUF];
	int done;

	env_open(&e, "confirm-also.db");
	ck_assert_int_eq(store_theme_by_slug(e.store, "digital-inkludering",
	    &di, &err), 1);
	ck_assert_int_eq(store_theme_by_slug(e.store, "arbete-i-framtiden",
	    &af, &err), 1);
	ck_assert_int_eq(store_theme_by_slug(e.store, "barnets-ratt", &br,
	    &err), 1);
	ck_assert_int_eq(request(&e, "dag@example.org", NULL, now,
	    SUBS_NO_SEND), 0);
	snprintf(tok, sizeof tok, "%s", req.token);
	ck_assert_int_eq(subs_request(e.subs, "dag@example.org", NULL,
	    "digital-inkludering", "web", now + 3600, SUBS_NO_SEND, &req,
	    &err), 0);
	/* Expired, forged, from the future, its own theme: nothing. */
	ck_assert_int_eq(subs_confirm_also(e.subs, tok, di->id, 7, "web",
	    now + 8 * 86400, &done, &err), 0);
	ck_assert_int_eq(done, 0);
	tok[5] = tok[5] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(subs_confirm_also(e.subs, tok, di->id, 7, "web",
	    now + 7200, &done, &err), 0);
	ck_assert_int_eq(done, 0);
	tok[5] = tok[5] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(subs_confirm_also(e.subs, tok, di->id, 7, "web",
	    now - 3600, &done, &err), 0);
	ck_assert_int_eq(done, 0);
	ck_assert_int_eq(subs_confirm_also(e.subs, tok, br->id, 7, "web",
	    now + 7200, &done, &err), 0);
	ck_assert_int_eq(done, 0);
	ck_assert_str_eq(status_of(&e, "dag@example.org", "barnets-ratt"),
	    "pending");
	/* A theme never asked for: nothing. */
	ck_assert_int_eq(subs_confirm_also(e.subs, tok, af->id, 7, "web",
	    now + 7200, &done, &err), 0);
	ck_assert_int_eq(done, 0);
	ck_assert_str_eq(status_of(&e, "dag@example.org",
	    "arbete-i-framtiden"), "none");
	/* The second request, pending and fresh: confirmed, once. */
	ck_assert_int_eq(subs_confirm_also(e.subs, tok, di->id, 7, "web",
	    now + 7200, &done, &err), 0);
	ck_assert_int_eq(done, 1);
	ck_assert_str_eq(status_of(&e, "dag@example.org",
	    "digital-inkludering"), "active");
	ck_assert_int_eq(subs_confirm_also(e.subs, tok, di->id, 7, "web",
	    now + 7300, &done, &err), 0);
	ck_assert_int_eq(done, 0);
	store_theme_free(di);
	store_theme_free(af);
	store_theme_free(br);
	env_close(&e);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("subs");
	TCase *tc = tcase_create("subs");

	tcase_add_test(tc, test_add_and_reactivate);
	tcase_add_test(tc, test_suppressed_needs_force);
	tcase_add_test(tc, test_import_rows);
	tcase_add_test(tc, test_import_never_reactivates);
	tcase_add_test(tc, test_import_fatal);
	tcase_add_test(tc, test_import_extra_theme_and_status);
	tcase_add_test(tc, test_export_import_round_trip);
	tcase_add_test(tc, test_export_spreadsheet_safe);
	tcase_add_test(tc, test_request);
	tcase_add_test(tc, test_confirm);
	tcase_add_test(tc, test_confirm_also);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
