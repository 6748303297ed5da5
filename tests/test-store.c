/*
 * Unit tests for store: schema and migrations, themes, subscribers,
 * subscriptions and the event log, streaming, forget, suppression, backup,
 * claims with the last batch's outcomes.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "tbtest.h"
#include "util.h"

/* 1 when needle occurs in the len bytes at data (memmem is not POSIX). */
static int
contains(const char *data, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(data + i, needle, n) == 0)
			return 1;
	return 0;
}

static struct store *
open_new(const char *name)
{
	char *path = tbtest_path(name);
	struct error err = { 0 };
	struct store *st = NULL;

	unlink(path);
	ck_assert_msg(store_open(path, &st, &err) == 0, "%s", err.msg);
	free(path);
	return st;
}

/* Writes a schema version into the header (offset 60, big-endian). */
static void
set_user_version(const char *path, unsigned v)
{
	unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };
	int fd = open(path, O_WRONLY);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(pwrite(fd, b, 4, 60), 4);
	close(fd);
}

START_TEST(test_open_creates_and_reopens)
{
	char *path = tbtest_path("a.db");
	struct error err = { 0 };
	struct store *st = open_new("a.db");

	ck_assert_int_eq(store_version_found(st), 0);
	store_close(st);
	ck_assert_int_eq(store_open(path, &st, &err), 0);
	ck_assert_int_eq(store_version_found(st), STORE_SCHEMA_VERSION);
	store_close(st);
	free(path);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	char *path = tbtest_path("future.db");
	struct error err = { 0 };
	struct store *st = open_new("future.db");

	store_close(st);
	set_user_version(path, 99);
	ck_assert_int_eq(store_open(path, &st, &err), -1);
	ck_assert_int_eq(err.code, EX_DATAERR);
	ck_assert_ptr_nonnull(strstr(err.msg, "newer"));
	ck_assert_ptr_nonnull(strstr(err.msg, "99"));
	free(path);
}
END_TEST

/*
 * A version 6 file (before double opt-in), made by taking migration 6
 * back out of a new one, is upgraded on open with its rows kept.
 */
START_TEST(test_upgrade_from_v6)
{
	char *path = tbtest_path("v6.db");
	struct error err = { 0 };
	struct store *st = open_new("v6.db");
	sqlite3 *db = NULL;
	int64_t id, at = -1, n = -1;
	int status;

	ck_assert_int_eq(store_theme_add(st, "barn", "Barn", NULL, "sv", &err),
	    0);
	ck_assert_int_eq(store_subscriber_add(st, "a@example.org",
	    "a@example.org", "A", &id, &err), 1);
	ck_assert_int_eq(store_subscription_set(st, id, 1, STORE_PENDING,
	    STORE_EV_SUBSCRIBE, "cli", NULL, &err), 0);
	store_close(st);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "DROP INDEX subscription_pending;"
	    "ALTER TABLE subscriber DROP COLUMN confirm_sent_at;"
	    "PRAGMA user_version = 6;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_open(path, &st, &err), 0);
	ck_assert_int_eq(store_version_found(st), 6);
	ck_assert_int_eq(store_confirm_sent(st, id, &at, &err), 1);
	ck_assert_int_eq(at, 0);
	ck_assert_int_eq(store_subscription_get(st, id, 1, &status, &err), 1);
	ck_assert_int_eq(status, STORE_PENDING);
	/* The new index serves the expiry: nothing is that old yet. */
	ck_assert_int_eq(store_pending_expire(st, 1, "expire", "old", &n,
	    &err), 0);
	ck_assert_int_eq(n, 0);
	store_close(st);
	free(path);
}
END_TEST

START_TEST(test_not_a_database)
{
	char *path = tbtest_path("junk.db");
	struct error err = { 0 };
	struct store *st = NULL;

	tbtest_write(path, "this is not a database, just text that is long "
	    "enough to fill a header of one hundred bytes.............", -1);
	ck_assert_int_eq(store_open(path, &st, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, path));
	free(path);
}
END_TEST

START_TEST(test_unwritable_path)
{
	struct error err = { 0 };
	struct store *st = NULL;

	ck_assert_int_eq(store_open("/nonexistent-dir/x/temabrev.db", &st,
	    &err), -1);
	ck_assert_int_eq(err.code, EX_IOERR);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent-dir/x"));
}
END_TEST

START_TEST(test_themes)
{
	struct store *st = open_new("themes.db");
	struct store_theme *t = NULL;
	struct error err = { 0 };

	ck_assert_int_eq(store_theme_add(st, "barnets-ratt", "Barnets rätt",
	    "Om barn", "sv", &err), 0);
	ck_assert_int_eq(store_theme_add(st, "barnets-ratt", "X", NULL, NULL,
	    &err), -1);
	ck_assert_int_eq(err.code, EX_DATAERR);
	ck_assert_int_eq(store_theme_edit(st, "barnets-ratt", NULL,
	    "Barnets rättigheter", "en", "Barn <barn@example.org>", &err), 0);
	ck_assert_int_eq(store_theme_edit(st, "nope", "x", NULL, NULL, NULL,
	    &err), -1);
	ck_assert_int_eq(store_theme_get(st, "barnets-ratt", &t, &err), 1);
	ck_assert_str_eq(t->name, "Barnets rätt");
	ck_assert_str_eq(t->description, "Barnets rättigheter");
	ck_assert_str_eq(t->lang, "en");
	ck_assert_str_eq(t->from_addr, "Barn <barn@example.org>");
	ck_assert_int_eq(t->counts[STORE_ACTIVE], 0);
	store_theme_free(t);
	ck_assert_int_eq(store_theme_get(st, "nope", &t, &err), 0);
	store_close(st);
}
END_TEST

static int
count_cb(const struct store_subscriber *s, void *arg)
{
	size_t *n = arg;

	(void)s;
	(*n)++;
	return 0;
}

struct seen {
	char	emails[8][64];
	size_t	nsubs[8];
	size_t	n;
};

static int
seen_cb(const struct store_subscriber *s, void *arg)
{
	struct seen *seen = arg;

	snprintf(seen->emails[seen->n], 64, "%s", s->email);
	seen->nsubs[seen->n] = s->nsubs;
	seen->n++;
	return 0;
}

START_TEST(test_subscriptions_and_streaming)
{
	struct store *st = open_new("subs.db");
	struct error err = { 0 };
	struct store_theme *t1 = NULL, *t2 = NULL;
	struct seen seen = { 0 };
	int64_t a, b, id;
	int status;
	char *name = NULL;

	ck_assert_int_eq(store_theme_add(st, "aa", "A", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_theme_add(st, "bb", "B", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_theme_get(st, "aa", &t1, &err), 1);
	ck_assert_int_eq(store_theme_get(st, "bb", &t2, &err), 1);
	ck_assert_int_eq(store_subscriber_add(st, "Anna@example.org",
	    "anna@example.org", "Anna", &a, &err), 1);
	ck_assert_int_eq(store_subscriber_add(st, "bo@example.org",
	    "bo@example.org", "", &b, &err), 1);
	/* The comparison key is unique: no second Anna. */
	ck_assert_int_eq(store_subscriber_add(st, "anna@example.org",
	    "anna@example.org", "", &id, &err), 0);
	ck_assert_int_eq(store_subscriber_find(st, "anna@example.org", &id,
	    &name, &err), 1);
	ck_assert_int_eq(id, a);
	ck_assert_str_eq(name, "Anna");
	free(name);
	ck_assert_int_eq(store_subscription_get(st, a, t1->id, &status, &err),
	    0);
	ck_assert_int_eq(store_subscription_set(st, a, t1->id, STORE_ACTIVE,
	    STORE_EV_SUBSCRIBE, "test", "", &err), 0);
	ck_assert_int_eq(store_subscription_set(st, a, t2->id, STORE_ACTIVE,
	    STORE_EV_SUBSCRIBE, "test", "", &err), 0);
	ck_assert_int_eq(store_subscription_set(st, b, t1->id, STORE_ACTIVE,
	    STORE_EV_SUBSCRIBE, "test", "", &err), 0);
	ck_assert_int_eq(store_subscription_set(st, b, t1->id,
	    STORE_UNSUBSCRIBED, STORE_EV_UNSUBSCRIBE, "test", "", &err), 0);
	ck_assert_int_eq(store_subscription_get(st, b, t1->id, &status, &err),
	    1);
	ck_assert_int_eq(status, STORE_UNSUBSCRIBED);
	store_theme_free(t1);
	ck_assert_int_eq(store_theme_get(st, "aa", &t1, &err), 1);
	ck_assert_int_eq(t1->counts[STORE_ACTIVE], 1);
	ck_assert_int_eq(t1->counts[STORE_UNSUBSCRIBED], 1);

	/* All: both subscribers, Anna with two subscriptions. */
	ck_assert_int_eq(store_subscriber_foreach(st, NULL, 0, -1, seen_cb,
	    &seen, &err), 0);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_str_eq(seen.emails[0], "Anna@example.org");
	ck_assert_int_eq(seen.nsubs[0], 2);
	ck_assert_int_eq(seen.nsubs[1], 1);
	/* Active in aa: only Anna, with only the matching subscription. */
	memset(&seen, 0, sizeof seen);
	ck_assert_int_eq(store_subscriber_foreach(st, NULL, t1->id,
	    STORE_ACTIVE, seen_cb, &seen, &err), 0);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_int_eq(seen.nsubs[0], 1);
	/* By key: Bo with his one subscription. */
	memset(&seen, 0, sizeof seen);
	ck_assert_int_eq(store_subscriber_foreach(st, "bo@example.org", 0, -1,
	    seen_cb, &seen, &err), 0);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_str_eq(seen.emails[0], "bo@example.org");
	/* Removing a theme removes its subscriptions. */
	ck_assert_int_eq(store_theme_rm(st, t2->id, &err), 0);
	memset(&seen, 0, sizeof seen);
	ck_assert_int_eq(store_subscriber_foreach(st, "anna@example.org", 0,
	    -1, seen_cb, &seen, &err), 0);
	ck_assert_int_eq(seen.nsubs[0], 1);
	store_theme_free(t1);
	store_theme_free(t2);
	store_close(st);
}
END_TEST

static int
supp_cb(const struct store_suppression *x, void *arg)
{
	struct seen *seen = arg;

	snprintf(seen->emails[seen->n++], 64, "%s",
	    x->email ? x->email : "(null)");
	return 0;
}

START_TEST(test_forget)
{
	struct store *st = open_new("forget.db");
	struct error err = { 0 };
	struct store_theme *t = NULL;
	struct seen seen = { 0 };
	size_t n = 0;
	int64_t a, id;
	char *path;

	ck_assert_int_eq(store_theme_add(st, "aa", "A", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_theme_get(st, "aa", &t, &err), 1);
	ck_assert_int_eq(store_subscriber_add(st, "anna@example.org",
	    "anna@example.org", "Anna Svensson", &a, &err), 1);
	ck_assert_int_eq(store_subscription_set(st, a, t->id, STORE_ACTIVE,
	    STORE_EV_SUBSCRIBE, "test", "asked by anna@example.org", &err), 0);
	ck_assert_int_eq(store_suppress_add(st, "hash-anna",
	    "anna@example.org", "test", &err), 1);
	ck_assert_int_eq(store_subscriber_forget(st, a, "anna@example.org",
	    "anna@example.org", "hash-anna", "test", &err), 0);
	ck_assert_int_eq(store_subscriber_find(st, "anna@example.org", &id,
	    NULL, &err), 0);
	ck_assert_int_eq(store_subscriber_foreach(st, NULL, 0, -1, count_cb,
	    &n, &err), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(store_suppressed(st, "hash-anna", &err), 1);
	ck_assert_int_eq(store_suppress_foreach(st, supp_cb, &seen, &err), 0);
	ck_assert_int_eq(seen.n, 1);
	ck_assert_str_eq(seen.emails[0], "(null)");
	store_theme_free(t);
	store_close(st);
	/* Nothing in the file still holds the address or the name. */
	path = tbtest_path("forget.db");
	{
		size_t len;
		char *data = tbtest_read(path, &len);
		char *wal = xasprintf("%s-wal", path);

		ck_assert_ptr_nonnull(data);
		ck_assert(!contains(data, len, "anna@example.org"));
		ck_assert(!contains(data, len, "Anna Svensson"));
		ck_assert_int_ne(access(wal, F_OK), 0);
		free(wal);
		free(data);
	}
	free(path);
}
END_TEST

START_TEST(test_suppression)
{
	struct store *st = open_new("supp.db");
	struct error err = { 0 };

	ck_assert_int_eq(store_suppressed(st, "h1", &err), 0);
	ck_assert_int_eq(store_suppress_any(st, &err), 0);
	ck_assert_int_eq(store_suppress_add(st, "h1", "a@example.org", "r",
	    &err), 1);
	ck_assert_int_eq(store_suppress_add(st, "h1", "a@example.org", "r",
	    &err), 0);
	ck_assert_int_eq(store_suppressed(st, "h1", &err), 1);
	ck_assert_int_eq(store_suppress_any(st, &err), 1);
	ck_assert_int_eq(store_suppress_rm(st, "h1", &err), 1);
	ck_assert_int_eq(store_suppress_rm(st, "h1", &err), 0);
	ck_assert_int_eq(store_suppressed(st, "h1", &err), 0);
	store_close(st);
}
END_TEST

START_TEST(test_backup)
{
	struct store *st = open_new("live.db"), *copy = NULL;
	char *dst = tbtest_path("backup.db");
	struct store_theme *t = NULL;
	struct error err = { 0 };

	ck_assert_int_eq(store_theme_add(st, "aa", "Å", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_backup(st, dst, &err), 0);
	/* Overwriting an older backup works too. */
	ck_assert_int_eq(store_theme_add(st, "bb", "B", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_backup(st, dst, &err), 0);
	ck_assert_int_eq(store_open(dst, &copy, &err), 0);
	ck_assert_int_eq(store_theme_get(copy, "aa", &t, &err), 1);
	ck_assert_str_eq(t->name, "Å");
	store_theme_free(t);
	ck_assert_int_eq(store_theme_get(copy, "bb", &t, &err), 1);
	store_theme_free(t);
	store_close(copy);
	ck_assert_int_eq(store_backup(st, "/nonexistent-dir/b.db", &err), -1);
	store_close(st);
	free(dst);
}
END_TEST

START_TEST(test_transactions)
{
	struct store *st = open_new("tx.db");
	struct store_theme *t = NULL;
	struct error err = { 0 };

	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_theme_add(st, "aa", "A", NULL, NULL, &err), 0);
	store_rollback(st);
	ck_assert_int_eq(store_theme_get(st, "aa", &t, &err), 0);
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_theme_add(st, "aa", "A", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_commit(st, &err), 0);
	store_rollback(st);	/* outside a transaction: nothing */
	ck_assert_int_eq(store_theme_get(st, "aa", &t, &err), 1);
	store_theme_free(t);
	store_close(st);
}
END_TEST

/* An inner begin is a savepoint: its rollback keeps the outer work. */
START_TEST(test_nested_transactions)
{
	struct store *st = open_new("nest.db");
	struct store_theme *t = NULL;
	struct error err = { 0 };

	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_theme_add(st, "outer", "O", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_theme_add(st, "inner", "I", NULL, NULL, &err), 0);
	store_rollback(st);
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_theme_add(st, "kept", "K", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_commit(st, &err), 0);
	ck_assert_int_eq(store_commit(st, &err), 0);
	ck_assert_int_eq(store_theme_get(st, "outer", &t, &err), 1);
	store_theme_free(t);
	ck_assert_int_eq(store_theme_get(st, "kept", &t, &err), 1);
	store_theme_free(t);
	ck_assert_int_eq(store_theme_get(st, "inner", &t, &err), 0);
	/* An outer rollback undoes a committed inner level too. */
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_theme_add(st, "gone", "G", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_commit(st, &err), 0);
	store_rollback(st);
	ck_assert_int_eq(store_theme_get(st, "gone", &t, &err), 0);
	/* And the handle is usable for a plain transaction afterwards. */
	ck_assert_int_eq(store_begin(st, &err), 0);
	ck_assert_int_eq(store_theme_add(st, "after", "A", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_commit(st, &err), 0);
	ck_assert_int_eq(store_theme_get(st, "after", &t, &err), 1);
	store_theme_free(t);
	store_close(st);
}
END_TEST

/* The inbox's records: a message is found again by UID or by key. */
START_TEST(test_inbound_records)
{
	struct store *st = open_new("inbound.db");
	struct store_inbound m = { 0 };
	struct error err = { 0 };
	int64_t id, id2, v, last;
	char *filed = NULL;

	ck_assert_int_eq(store_mailbox_get(st, "INBOX", &v, &last, &err), 0);
	ck_assert_int_eq(store_mailbox_set(st, "INBOX", 7, 12, &err), 0);
	ck_assert_int_eq(store_mailbox_get(st, "INBOX", &v, &last, &err), 1);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(last, 12);
	ck_assert_int_eq(store_inbound_seen(st, 7, 1, "<a@x>", &id, &filed,
	    &err), 0);
	m.uidvalidity = 7;
	m.uid = 1;
	m.key = "<a@x>";
	m.kind = "bounce";
	m.action = "";
	m.filed = "human";
	ck_assert_int_eq(store_inbound_add(st, &m, &id, &err), 0);
	m.action = "recorded";
	m.filed = "bounces";
	ck_assert_int_eq(store_inbound_update(st, id, &m, &err), 0);
	/* Same UID. */
	ck_assert_int_eq(store_inbound_seen(st, 7, 1, "<other@x>", &id2,
	    &filed, &err), 1);
	ck_assert_int_eq(id2, id);
	ck_assert_str_eq(filed, "bounces");
	free(filed);
	/* Same message under a new UIDVALIDITY: found by key, and the new
	 * UID is recorded so the next look finds it by UID. */
	ck_assert_int_eq(store_inbound_seen(st, 8, 3, "<a@x>", &id2, &filed,
	    &err), 1);
	ck_assert_int_eq(id2, id);
	free(filed);
	ck_assert_int_eq(store_inbound_seen(st, 8, 3, "<zzz@x>", &id2, &filed,
	    &err), 1);
	free(filed);
	ck_assert_int_eq(store_inbound_seen(st, 8, 4, "<b@x>", &id2, &filed,
	    &err), 0);
	ck_assert_ptr_null(filed);
	store_close(st);
}
END_TEST

/* ---- claims and outcomes ---- */

struct claimed {
	int64_t	 ids[8];
	int	 n;
	int	 refuse;	/* the callback fails (a broken edition) */
};

static int
on_claimed(const struct store_claim *c, void *arg)
{
	struct claimed *k = arg;

	if (k->refuse)
		return 1;
	k->ids[k->n++] = c->id;
	return 0;
}

/* An edition of theme "q" queued for n active subscribers; its id. */
static int64_t
queued_edition(struct store *st, int n)
{
	struct error err = { 0 };
	struct store_theme *t = NULL;
	struct store_item it = { 0 };
	enum store_upsert up;
	int64_t feed, sub, ed, nitems, nq;

	ck_assert_int_eq(store_theme_add(st, "q", "Q", NULL, NULL, &err), 0);
	ck_assert_int_eq(store_theme_get(st, "q", &t, &err), 1);
	for (int i = 0; i < n; i++) {
		char email[32];

		snprintf(email, sizeof email, "m%d@example.org", i);
		ck_assert_int_eq(store_subscriber_add(st, email, email, "",
		    &sub, &err), 1);
		ck_assert_int_eq(store_subscription_set(st, sub, t->id,
		    STORE_ACTIVE, STORE_EV_SUBSCRIBE, "test", "", &err), 0);
	}
	ck_assert_int_eq(store_feed_add(st, t->id, "file:///q.xml", &feed,
	    &err), 0);
	it.feed_id = feed;
	it.identity = it.guid = it.link = "https://example.org/1";
	it.title = it.text = "Ett";
	ck_assert_msg(store_item_upsert(st, &it, &up, &err) == 0, "%s",
	    err.msg);
	ck_assert_msg(store_edition_new(st, t->id, "Q", NULL, NULL, 0, &ed,
	    &nitems, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(nitems, 1);
	ck_assert_int_eq(store_edition_queue(st, ed, &nq, &err), 0);
	ck_assert_int_eq(nq, n);
	store_theme_free(t);
	return ed;
}

static void
assert_counts(struct store *st, int64_t ed, int queued, int sending,
    int sent)
{
	struct error err = { 0 };
	struct store_edition *e = NULL;

	ck_assert_int_eq(store_edition_get(st, ed, &e, &err), 1);
	ck_assert_int_eq(e->counts[STORE_QUEUED], queued);
	ck_assert_int_eq(e->counts[STORE_SENDING], sending);
	ck_assert_int_eq(e->counts[STORE_SENT], sent);
	store_edition_free(e);
}

/* Every row of the last claim sent; ready for the next. */
static void
all_sent(struct claimed *k, struct store_outcome *o)
{
	for (int i = 0; i < k->n; i++)
		o[i] = (struct store_outcome){ k->ids[i], STORE_SENT, 250, 0,
		    "250 ok", 0 };
	k->n = 0;
}

/*
 * A batch's outcomes commit with the next claim. When that claim fails
 * (its callback refuses: a broken edition), only the claim rolls back: the
 * outcomes are recorded, nothing new is leased, and the rows go to the
 * next claim; the last outcomes alone finish the edition.
 */
START_TEST(test_outcomes_with_claim)
{
	struct store *st = open_new("claim.db");
	struct error err = { 0 };
	struct claimed k = { 0 };
	struct store_outcome o[2];
	struct store_edition *e = NULL;
	int64_t ed = queued_edition(st, 4);
	int n, full;

	ck_assert_int_eq(store_claim(st, NULL, 0, "h:1:a:0", NULL, 600, 2,
	    NULL, on_claimed, &k, &n, &full, &err), 0);
	ck_assert_int_eq(n, 2);
	assert_counts(st, ed, 2, 2, 0);
	all_sent(&k, o);
	k.refuse = 1;
	ck_assert_int_eq(store_claim(st, o, 2, "h:1:a:0", NULL, 600, 2, NULL,
	    on_claimed, &k, &n, &full, &err), -1);
	ck_assert_int_eq(n, 0);
	assert_counts(st, ed, 2, 0, 2);		/* recorded, none leased */
	k.refuse = 0;
	ck_assert_int_eq(store_claim(st, NULL, 0, "h:1:a:0", NULL, 600, 2,
	    NULL, on_claimed, &k, &n, &full, &err), 0);
	ck_assert_int_eq(n, 2);
	assert_counts(st, ed, 0, 2, 2);
	all_sent(&k, o);
	/* Outcomes and an empty claim: one transaction, the edition done. */
	ck_assert_int_eq(store_claim(st, o, 2, "h:1:a:0", NULL, 600, 2, NULL,
	    on_claimed, &k, &n, &full, &err), 0);
	ck_assert_int_eq(n, 0);
	assert_counts(st, ed, 0, 0, 4);
	ck_assert_int_eq(store_edition_get(st, ed, &e, &err), 1);
	ck_assert_str_eq(e->status, "done");
	store_edition_free(e);
	store_close(st);
}
END_TEST

START_TEST(test_status_words)
{
	ck_assert_str_eq(store_status_name(STORE_PENDING), "pending");
	ck_assert_str_eq(store_status_name(STORE_ACTIVE), "active");
	ck_assert_str_eq(store_status_name(STORE_UNSUBSCRIBED), "unsubscribed");
	ck_assert_str_eq(store_status_name(STORE_BOUNCED), "bounced");
	ck_assert_int_eq(store_status_parse("bounced"), STORE_BOUNCED);
	ck_assert_int_eq(store_status_parse("Active"), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_test(tc, test_open_creates_and_reopens);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_upgrade_from_v6);
	tcase_add_test(tc, test_not_a_database);
	tcase_add_test(tc, test_unwritable_path);
	tcase_add_test(tc, test_themes);
	tcase_add_test(tc, test_subscriptions_and_streaming);
	tcase_add_test(tc, test_forget);
	tcase_add_test(tc, test_suppression);
	tcase_add_test(tc, test_backup);
	tcase_add_test(tc, test_transactions);
	tcase_add_test(tc, test_nested_transactions);
	tcase_add_test(tc, test_inbound_records);
	tcase_add_test(tc, test_status_words);
	tcase_add_test(tc, test_outcomes_with_claim);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
