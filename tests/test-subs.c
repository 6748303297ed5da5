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
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
