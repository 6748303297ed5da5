/*
 * store: all of temabrev's SQL, on sqlite3. Every statement is in the table
 * below, prepared once per connection and reset after use, with values
 * bound as parameters (never spliced into SQL text).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

/* 'TBRV': marks a file as a temabrev database (PRAGMA application_id). */
#define STORE_APP_ID 0x54425256

/*
 * Who or what made a change ("cli", "import:members.csv", "bounce", ...) is
 * a row of the source table, referenced by id: a million-row import would
 * otherwise repeat its file name two million times.
 *
 * The event log has no indexes and no foreign keys: it is written on every
 * subscription change (a million times in a large import) and read rarely
 * (an erasure scans it). The store nulls its references itself.
 *
 * CHECK constraints use OR chains, not IN lists: sqlite builds an ephemeral
 * index for an IN list on every insert, which made imports 5x slower.
 *
 * migrations[i] upgrades a database from version i to i + 1. A released
 * migration is never edited: add a new one (and raise STORE_SCHEMA_VERSION).
 */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	/* 0 -> 1: themes, subscribers, subscriptions, events, suppression. */
	"CREATE TABLE source ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE theme ("
	"  id INTEGER PRIMARY KEY,"
	"  slug TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL,"
	"  description TEXT NOT NULL DEFAULT '',"
	"  lang TEXT NOT NULL DEFAULT 'sv' CHECK (lang = 'sv' OR lang = 'en'),"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE subscriber ("
	"  id INTEGER PRIMARY KEY,"
	"  email TEXT NOT NULL,"
	"  addr_key TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE subscription ("
	"  subscriber_id INTEGER NOT NULL"
	"    REFERENCES subscriber(id) ON DELETE CASCADE,"
	"  theme_id INTEGER NOT NULL REFERENCES theme(id) ON DELETE CASCADE,"
	"  status TEXT NOT NULL CHECK (status = 'pending' OR status = 'active'"
	"    OR status = 'unsubscribed' OR status = 'bounced'),"
	"  created INTEGER NOT NULL,"
	"  since INTEGER NOT NULL,"
	"  source_id INTEGER NOT NULL,"
	"  PRIMARY KEY (subscriber_id, theme_id)) WITHOUT ROWID;"
	"CREATE INDEX subscription_by_theme ON subscription(theme_id, status);"
	"CREATE TABLE event ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind = 'subscribe' OR kind = 'confirm'"
	"    OR kind = 'unsubscribe' OR kind = 'bounce' OR kind = 'erase'"
	"    OR kind = 'update' OR kind = 'suppress' OR kind = 'unsuppress'),"
	"  subscriber_id INTEGER,"
	"  addr_hash TEXT,"
	"  theme_id INTEGER,"
	"  source_id INTEGER NOT NULL,"
	"  detail TEXT);"
	"CREATE TABLE suppression ("
	"  addr_hash TEXT PRIMARY KEY,"
	"  email TEXT,"
	"  reason TEXT NOT NULL,"
	"  created INTEGER NOT NULL) WITHOUT ROWID;"
	"PRAGMA application_id = 1413632598;"
	"PRAGMA user_version = 1;",
	/* 1 -> 2: feeds and their items. */
	"CREATE TABLE feed ("
	"  id INTEGER PRIMARY KEY,"
	"  theme_id INTEGER NOT NULL REFERENCES theme(id) ON DELETE CASCADE,"
	"  url TEXT NOT NULL,"
	"  title TEXT,"
	"  active INTEGER NOT NULL DEFAULT 1,"
	"  etag TEXT,"
	"  last_modified TEXT,"
	"  created INTEGER NOT NULL,"
	"  last_fetch INTEGER NOT NULL DEFAULT 0,"
	"  last_status INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  last_new INTEGER NOT NULL DEFAULT 0,"
	"  last_updated INTEGER NOT NULL DEFAULT 0,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (theme_id, url));"
	"CREATE TABLE item ("
	"  id INTEGER PRIMARY KEY,"
	"  feed_id INTEGER NOT NULL REFERENCES feed(id) ON DELETE CASCADE,"
	"  identity TEXT NOT NULL,"
	"  guid TEXT,"
	"  title TEXT NOT NULL DEFAULT '',"
	"  link TEXT,"
	"  author TEXT,"
	"  published INTEGER NOT NULL DEFAULT 0,"
	"  updated INTEGER NOT NULL DEFAULT 0,"
	"  categories TEXT,"
	"  summary_html TEXT,"
	"  content_html TEXT,"
	"  text TEXT,"
	"  enclosure_url TEXT,"
	"  enclosure_type TEXT,"
	"  enclosure_length INTEGER NOT NULL DEFAULT 0,"
	"  first_seen INTEGER NOT NULL,"
	"  changed INTEGER NOT NULL,"
	"  UNIQUE (feed_id, identity));"
	"PRAGMA user_version = 2;",
	/* 2 -> 3: editions, the items they carry, deliveries. */
	/* AUTOINCREMENT: an id is never reused after a draft is removed,
	 * so tokens of a removed edition's test copies point nowhere. */
	"CREATE TABLE edition ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  theme_id INTEGER NOT NULL REFERENCES theme(id) ON DELETE CASCADE,"
	"  subject TEXT NOT NULL,"
	"  intro TEXT NOT NULL DEFAULT '',"
	"  template TEXT NOT NULL DEFAULT 'edition',"
	"  status TEXT NOT NULL CHECK (status = 'draft' OR status = 'sending'"
	"    OR status = 'done' OR status = 'cancelled'),"
	"  created INTEGER NOT NULL,"
	"  queued INTEGER NOT NULL DEFAULT 0,"
	"  finished INTEGER NOT NULL DEFAULT 0);"
	/* An item belongs to at most one edition per theme: the record of
	 * what each theme carried, never a date window. */
	"CREATE TABLE edition_item ("
	"  edition_id INTEGER NOT NULL REFERENCES edition(id) ON DELETE CASCADE,"
	"  theme_id INTEGER NOT NULL,"
	"  item_id INTEGER NOT NULL REFERENCES item(id) ON DELETE CASCADE,"
	"  position INTEGER NOT NULL,"
	"  PRIMARY KEY (edition_id, item_id),"
	"  UNIQUE (theme_id, item_id));"
	"CREATE TABLE delivery ("
	"  id INTEGER PRIMARY KEY,"
	"  edition_id INTEGER NOT NULL REFERENCES edition(id) ON DELETE CASCADE,"
	"  subscriber_id INTEGER REFERENCES subscriber(id) ON DELETE SET NULL,"
	"  status TEXT NOT NULL CHECK (status = 'queued' OR status = 'sending'"
	"    OR status = 'sent' OR status = 'deferred' OR status = 'failed'"
	"    OR status = 'cancelled'),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_try INTEGER NOT NULL DEFAULT 0,"
	"  lease_owner TEXT,"
	"  lease_until INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  done_at INTEGER NOT NULL DEFAULT 0,"
	"  code INTEGER NOT NULL DEFAULT 0,"
	"  policy INTEGER NOT NULL DEFAULT 0,"
	"  reply TEXT,"
	"  UNIQUE (edition_id, subscriber_id));"
	"CREATE INDEX delivery_work ON delivery(status, next_try);"
	"CREATE INDEX delivery_sent ON delivery(done_at) WHERE status = 'sent';"
	/* One row shared by every sending process: the next free send time,
	 * so one rate limit holds across the CLI and the daemon. */
	"CREATE TABLE pace ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  next_us INTEGER NOT NULL);"
	"INSERT INTO pace VALUES (1, 0);"
	/* A theme may send from its own address. */
	"ALTER TABLE theme ADD COLUMN from_addr TEXT;"
	"PRAGMA user_version = 3;",
	/* 3 -> 4: the inbox. Notices (an unsubscribe confirmation, a
	 * request to confirm one) are one-recipient editions, so they go
	 * through the same queue, leases and retries as newsletters. */
	"ALTER TABLE edition ADD COLUMN kind TEXT NOT NULL DEFAULT 'newsletter'"
	"  CHECK (kind = 'newsletter' OR kind = 'notice');"
	/* How far each IMAP mailbox has been read. */
	"CREATE TABLE mailbox ("
	"  name TEXT PRIMARY KEY,"
	"  uidvalidity INTEGER NOT NULL,"
	"  last_uid INTEGER NOT NULL) WITHOUT ROWID;"
	/* Every message handled, keyed by UIDVALIDITY + UID and by its
	 * Message-ID (or a hash of it when it has none): the effect is
	 * committed here before the message is moved, so a second look
	 * after a crash or a UIDVALIDITY change only moves it. */
	"CREATE TABLE inbound ("
	"  id INTEGER PRIMARY KEY,"
	"  uidvalidity INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  msg_key TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  filed TEXT NOT NULL,"
	"  subscriber_id INTEGER REFERENCES subscriber(id) ON DELETE SET NULL,"
	"  theme_id INTEGER,"
	"  sender TEXT,"
	"  subject TEXT,"
	"  UNIQUE (uidvalidity, uid));"
	"CREATE INDEX inbound_key ON inbound(msg_key);"
	/* One row per failed recipient of a bounce, with the report kept
	 * for the administrator. */
	"CREATE TABLE bounce ("
	"  id INTEGER PRIMARY KEY,"
	"  inbound_id INTEGER REFERENCES inbound(id) ON DELETE CASCADE,"
	"  at INTEGER NOT NULL,"
	"  subscriber_id INTEGER REFERENCES subscriber(id) ON DELETE SET NULL,"
	"  theme_id INTEGER,"
	"  edition_id INTEGER,"
	"  address TEXT,"
	"  verdict TEXT NOT NULL CHECK (verdict = 'hard' OR verdict = 'soft'"
	"    OR verdict = 'policy'),"
	"  status TEXT,"
	"  diagnostic TEXT,"
	"  report TEXT);"
	"CREATE INDEX bounce_by_subscriber ON bounce(subscriber_id, verdict, at);"
	"PRAGMA user_version = 4;",
	/* 4 -> 5: each theme's digest schedule (schedule.h's canonical
	 * text; NULL: none). */
	"ALTER TABLE theme ADD COLUMN schedule TEXT;"
	"PRAGMA user_version = 5;",
	/* 5 -> 6: the daemon. The last schedule instant each theme's digest
	 * was made for (so a restart neither repeats nor loses one), the time
	 * a draft is to be sent at, and each background job's last run. */
	"ALTER TABLE theme ADD COLUMN last_digest INTEGER;"
	"ALTER TABLE edition ADD COLUMN send_at INTEGER;"
	"CREATE INDEX edition_due ON edition(send_at) WHERE send_at IS NOT NULL;"
	"CREATE TABLE job ("
	"  name TEXT PRIMARY KEY,"
	"  last_start INTEGER,"
	"  last_end INTEGER,"
	"  last_error TEXT,"
	"  next_run INTEGER);"
	"PRAGMA user_version = 6;",
	/* 6 -> 7: double opt-in. When the last confirmation mail went to
	 * each address (at most one a day, however often it is asked for),
	 * and the pending subscriptions by age, for their expiry. */
	"ALTER TABLE subscriber ADD COLUMN confirm_sent_at INTEGER NOT NULL"
	"  DEFAULT 0;"
	"CREATE INDEX subscription_pending ON subscription(since)"
	"  WHERE status = 'pending';"
	"PRAGMA user_version = 7;",
};

enum q {
	Q_THEME_ADD,
	Q_THEME_EDIT,
	Q_THEME_GET,
	Q_THEME_ALL,
	Q_THEME_COUNTS,
	Q_THEME_RM,
	Q_THEME_RM_EVENTS,
	Q_SUBSCRIBER_FIND,
	Q_SUBSCRIBER_ADD,
	Q_SOURCE_GET,
	Q_SOURCE_ADD,
	Q_SUBSCRIBER_SET_NAME,
	Q_SUBSCRIBER_BY_KEY,
	Q_SUBSCRIBER_SUBS,
	Q_SUBSCRIBER_ALL,
	Q_SUBSCRIPTION_SET,
	Q_EVENT_ADD,
	Q_FORGET_EVENTS,
	Q_FORGET_DETAILS,
	Q_FORGET_SUBSCRIBER,
	Q_FORGET_SUPPRESS,
	Q_FEED_ADD,
	Q_FEED_RM,
	Q_FEED_ALL,
	Q_FEED_FETCHED,
	Q_ITEM_INSERT,
	Q_ITEM_UPDATE,
	Q_ITEM_ALL,
	Q_EDITION_ADD,
	Q_EDITION_RESERVE,
	Q_EDITION_GET,
	Q_EDITION_ALL,
	Q_EDITION_COUNTS,
	Q_EDITION_ITEMS,
	Q_EDITION_RM,
	Q_EDITION_CANCEL,
	Q_EDITION_CANCEL_ROWS,
	Q_EDITION_QUEUE,
	Q_EDITION_SENDING,
	Q_EDITION_FINISH,
	Q_DELIVERY_FAILED,
	Q_CLAIM,
	Q_CLAIMED,
	Q_CLAIM_DROP,
	Q_OUTCOME,
	Q_DELIVERY_BOUNCE,
	Q_SENT_SINCE,
	Q_NEXT_TRY,
	Q_PACE_GET,
	Q_PACE_SET,
	Q_FORGET_DELIVERIES,
	Q_SUPPRESSED,
	Q_SUPPRESS_ADD,
	Q_SUPPRESS_RM,
	Q_SUPPRESS_ALL,
	Q_SUPPRESS_ANY,
	Q_MAILBOX_GET,
	Q_MAILBOX_SET,
	Q_INBOUND_FIND_UID,
	Q_INBOUND_FIND_KEY,
	Q_INBOUND_ADD,
	Q_INBOUND_MOVE,
	Q_INBOUND_ALL,
	Q_BOUNCE_ADD,
	Q_BOUNCE_COUNT,
	Q_BOUNCE_ALL,
	Q_BOUNCE_GET,
	Q_BOUNCED,
	Q_NOTICE_ADD,
	Q_NOTICE_QUEUE,
	Q_FORGET_BOUNCES,
	Q_FORGET_INBOUND,
	Q_SUBSCRIBER_GET,
	Q_THEME_BY_ID,
	Q_INBOUND_UPDATE,
	Q_NOTICES_WAITING,
	Q_EDITION_TEMPLATE,
	Q_THEME_SCHEDULE,
	Q_THEME_DIGESTED,
	Q_EDITION_SEND_AT,
	Q_EDITIONS_DUE,
	Q_EDITION_NEXT_SEND,
	Q_JOB_START,
	Q_JOB_END,
	Q_JOB_ALL,
	Q_QUEUE_COUNTS,
	Q_SUBSCRIPTION_INFO,
	Q_CONFIRM_SENT_GET,
	Q_CONFIRM_SENT_SET,
	Q_EXPIRE_COUNT,
	Q_EXPIRE_EVENTS,
	Q_EXPIRE_UNLINK,
	Q_EXPIRE_SUBSCRIBERS,
	Q_EXPIRE_SUBSCRIPTIONS,
	Q_COUNT
};

/* An item's columns, in the order item_row() reads them. */
#define ITEM_COLUMNS \
	"i.id, i.feed_id, i.identity, i.guid, i.title, i.link, i.author," \
	" i.published, i.updated, i.categories, i.summary_html," \
	" i.content_html, i.text, i.enclosure_url, i.enclosure_type," \
	" i.enclosure_length, i.first_seen"
#define ITEM_NCOLUMNS 17

static const char *const sql[Q_COUNT] = {
	[Q_THEME_ADD] =
	    "INSERT INTO theme (slug, name, description, lang, created) "
	    "VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_THEME_EDIT] =
	    "UPDATE theme SET name = coalesce(?2, name),"
	    " description = coalesce(?3, description),"
	    " lang = coalesce(?4, lang),"
	    " from_addr = CASE WHEN ?5 IS NULL THEN from_addr"
	    "  ELSE nullif(?5, '') END WHERE slug = ?1",
	[Q_THEME_GET] =
	    "SELECT id, slug, name, description, lang, created, from_addr,"
	    " schedule, last_digest "
	    "FROM theme WHERE slug = ?1",
	[Q_THEME_ALL] =
	    "SELECT id, slug, name, description, lang, created, from_addr,"
	    " schedule, last_digest "
	    "FROM theme ORDER BY slug",
	[Q_THEME_COUNTS] =
	    "SELECT status, count(*) FROM subscription WHERE theme_id = ?1 "
	    "GROUP BY status",
	[Q_THEME_RM] =
	    "DELETE FROM theme WHERE id = ?1",
	[Q_THEME_RM_EVENTS] =
	    "UPDATE event SET theme_id = NULL WHERE theme_id = ?1",
	[Q_SUBSCRIBER_FIND] =
	    "SELECT id, name FROM subscriber WHERE addr_key = ?1",
	[Q_SUBSCRIBER_ADD] =
	    "INSERT INTO subscriber (email, addr_key, name, created) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (addr_key) DO NOTHING",
	[Q_SOURCE_GET] =
	    "SELECT id FROM source WHERE name = ?1",
	[Q_SOURCE_ADD] =
	    "INSERT INTO source (name) VALUES (?1)",
	[Q_SUBSCRIBER_SET_NAME] =
	    "UPDATE subscriber SET name = ?2 WHERE id = ?1",
	[Q_SUBSCRIBER_BY_KEY] =
	    "SELECT id, email, name, created FROM subscriber WHERE addr_key = ?1",
	[Q_SUBSCRIBER_SUBS] =
	    "SELECT t.id, t.slug, x.status, x.since, o.name "
	    "FROM subscription x JOIN theme t ON t.id = x.theme_id "
	    "JOIN source o ON o.id = x.source_id "
	    "WHERE x.subscriber_id = ?1 ORDER BY t.slug",
	/* CROSS JOIN keeps subscriber order, so rows stream without a sort. */
	[Q_SUBSCRIBER_ALL] =
	    "SELECT s.id, s.email, s.name, s.created,"
	    " x.theme_id, t.slug, x.status, x.since, o.name "
	    "FROM subscriber s CROSS JOIN subscription x"
	    " ON x.subscriber_id = s.id "
	    "CROSS JOIN theme t ON t.id = x.theme_id "
	    "CROSS JOIN source o ON o.id = x.source_id "
	    "WHERE (?1 = 0 OR x.theme_id = ?1) AND (?2 IS NULL OR x.status = ?2) "
	    "ORDER BY s.id, x.theme_id",
	[Q_SUBSCRIPTION_SET] =
	    "INSERT INTO subscription"
	    " (subscriber_id, theme_id, status, created, since, source_id) "
	    "VALUES (?1, ?2, ?3, ?4, ?4, ?5) "
	    "ON CONFLICT (subscriber_id, theme_id) DO UPDATE SET"
	    " status = excluded.status, since = excluded.since,"
	    " source_id = excluded.source_id",
	[Q_EVENT_ADD] =
	    "INSERT INTO event"
	    " (at, kind, subscriber_id, theme_id, source_id, detail, addr_hash)"
	    " VALUES (?1, ?2, ?3, nullif(?4, 0), ?5, nullif(?6, ''), ?7)",
	[Q_FORGET_EVENTS] =
	    "UPDATE event SET addr_hash = ?2, subscriber_id = NULL "
	    "WHERE subscriber_id = ?1",
	[Q_FORGET_DETAILS] =
	    "UPDATE event SET detail = NULL "
	    "WHERE instr(lower(detail), lower(?1)) > 0"
	    " OR instr(lower(detail), ?2) > 0",
	[Q_FORGET_SUBSCRIBER] =
	    "DELETE FROM subscriber WHERE id = ?1",
	[Q_FORGET_SUPPRESS] =
	    "INSERT INTO suppression (addr_hash, email, reason, created) "
	    "VALUES (?1, NULL, 'forgotten', ?2) "
	    "ON CONFLICT (addr_hash) DO UPDATE SET email = NULL",
	[Q_FEED_ADD] =
	    "INSERT INTO feed (theme_id, url, created) VALUES (?1, ?2, ?3)",
	[Q_FEED_RM] =
	    "DELETE FROM feed WHERE id = ?1",
	[Q_FEED_ALL] =
	    "SELECT f.id, f.theme_id, t.slug, f.url, f.title, f.active, f.etag,"
	    " f.last_modified, f.created, f.last_fetch, f.last_status,"
	    " f.last_error, f.last_new, f.last_updated, f.failures "
	    "FROM feed f JOIN theme t ON t.id = f.theme_id "
	    "WHERE (?1 = 0 OR f.theme_id = ?1) AND (?2 = 0 OR f.active) "
	    "ORDER BY f.id",
	[Q_FEED_FETCHED] =
	    "UPDATE feed SET last_fetch = ?2, last_status = ?3, last_error = ?4,"
	    " last_new = ?5, last_updated = ?6,"
	    " failures = CASE WHEN ?4 IS NULL THEN 0 ELSE failures + 1 END,"
	    " etag = CASE WHEN ?4 IS NULL AND ?3 <> 304 THEN ?7 ELSE etag END,"
	    " last_modified = CASE WHEN ?4 IS NULL AND ?3 <> 304 THEN ?8"
	    "   ELSE last_modified END,"
	    " title = coalesce(?9, title), url = coalesce(?10, url),"
	    " active = CASE WHEN ?11 THEN 0 ELSE active END "
	    "WHERE id = ?1",
	[Q_ITEM_INSERT] =
	    "INSERT INTO item (feed_id, identity, guid, title, link, author,"
	    " published, updated, categories, summary_html, content_html, text,"
	    " enclosure_url, enclosure_type, enclosure_length, first_seen,"
	    " changed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	    " ?12, ?13, ?14, ?15, ?16, ?16) "
	    "ON CONFLICT (feed_id, identity) DO NOTHING",
	/* Changes only what differs, so an unchanged item is not rewritten. */
	[Q_ITEM_UPDATE] =
	    "UPDATE item SET guid = ?3, title = ?4, link = ?5, author = ?6,"
	    " published = ?7, updated = ?8, categories = ?9, summary_html = ?10,"
	    " content_html = ?11, text = ?12, enclosure_url = ?13,"
	    " enclosure_type = ?14, enclosure_length = ?15, changed = ?16 "
	    "WHERE feed_id = ?1 AND identity = ?2 AND (guid IS NOT ?3"
	    " OR title IS NOT ?4 OR link IS NOT ?5 OR author IS NOT ?6"
	    " OR published IS NOT ?7 OR updated IS NOT ?8"
	    " OR categories IS NOT ?9 OR summary_html IS NOT ?10"
	    " OR content_html IS NOT ?11 OR text IS NOT ?12"
	    " OR enclosure_url IS NOT ?13 OR enclosure_type IS NOT ?14"
	    " OR enclosure_length IS NOT ?15)",
	[Q_ITEM_ALL] =
	    "SELECT " ITEM_COLUMNS ","
	    " EXISTS (SELECT 1 FROM edition_item e JOIN edition d"
	    "  ON d.id = e.edition_id WHERE e.theme_id = f.theme_id"
	    "  AND e.item_id = i.id AND d.status <> 'draft'),"
	    " f.theme_id, t.slug, f.url "
	    "FROM item i JOIN feed f ON f.id = i.feed_id "
	    "JOIN theme t ON t.id = f.theme_id "
	    "WHERE (?1 = 0 OR f.theme_id = ?1) "
	    "ORDER BY coalesce(nullif(i.published, 0), nullif(i.updated, 0),"
	    " i.first_seen) DESC, i.id DESC",
	[Q_EDITION_ADD] =
	    "INSERT INTO edition (theme_id, subject, intro, template, status,"
	    " created) VALUES (?1, ?2, ?3, ?4, 'draft', ?5)",
	/* The theme's items no edition of it carries yet, newest first. */
	[Q_EDITION_RESERVE] =
	    "INSERT INTO edition_item (edition_id, theme_id, item_id, position) "
	    "SELECT ?1, ?2, id, row_number() OVER () FROM ("
	    " SELECT i.id FROM item i JOIN feed f ON f.id = i.feed_id"
	    " WHERE f.theme_id = ?2 AND NOT EXISTS (SELECT 1 FROM edition_item e"
	    "  WHERE e.theme_id = ?2 AND e.item_id = i.id)"
	    " ORDER BY coalesce(nullif(i.published, 0), nullif(i.updated, 0),"
	    "  i.first_seen) DESC, i.id DESC LIMIT ?3)",
	[Q_EDITION_GET] =
	    "SELECT d.id, d.theme_id, t.slug, t.name, t.lang, d.subject,"
	    " d.intro, d.template, d.status, d.created, d.queued, d.finished,"
	    " (SELECT count(*) FROM edition_item e WHERE e.edition_id = d.id),"
	    " d.kind, d.send_at FROM edition d JOIN theme t ON t.id = d.theme_id"
	    " WHERE d.id = ?1",
	[Q_EDITION_ALL] =
	    "SELECT d.id, d.theme_id, t.slug, t.name, t.lang, d.subject,"
	    " d.intro, d.template, d.status, d.created, d.queued, d.finished,"
	    " (SELECT count(*) FROM edition_item e WHERE e.edition_id = d.id),"
	    " d.kind, d.send_at FROM edition d JOIN theme t ON t.id = d.theme_id "
	    "WHERE (?1 = 0 OR d.theme_id = ?1) AND d.kind = 'newsletter' "
	    "ORDER BY d.id",
	[Q_EDITION_COUNTS] =
	    "SELECT status, count(*) FROM delivery INDEXED BY delivery_work"
	    " WHERE edition_id = ?1 GROUP BY status",
	[Q_EDITION_ITEMS] =
	    "SELECT " ITEM_COLUMNS " "
	    "FROM edition_item e JOIN item i ON i.id = e.item_id "
	    "WHERE e.edition_id = ?1 ORDER BY e.position",
	[Q_EDITION_RM] =
	    "DELETE FROM edition WHERE id = ?1 AND status = 'draft'",
	[Q_EDITION_CANCEL] =
	    "UPDATE edition SET status = 'cancelled', finished = ?2 "
	    "WHERE id = ?1 AND status IN ('draft', 'sending')",
	[Q_EDITION_CANCEL_ROWS] =
	    "UPDATE delivery SET status = 'cancelled', done_at = ?2,"
	    " reply = coalesce(reply, 'cancelled') "
	    "WHERE edition_id = ?1 AND status IN ('queued', 'deferred')",
	/* Every active subscriber of the theme, once: UNIQUE makes a second
	 * send of the same edition add nobody. */
	[Q_EDITION_QUEUE] =
	    "INSERT INTO delivery (edition_id, subscriber_id, status, created) "
	    "SELECT ?1, x.subscriber_id, 'queued', ?3 FROM subscription x "
	    "WHERE x.theme_id = ?2 AND x.status = 'active' "
	    "ON CONFLICT (edition_id, subscriber_id) DO NOTHING",
	[Q_EDITION_SENDING] =
	    "UPDATE edition SET status = 'sending', queued = ?2 "
	    "WHERE id = ?1 AND status = 'draft'",
	/* Done when nothing is queued, sending or deferred any more. */
	[Q_EDITION_FINISH] =
	    "UPDATE edition SET status = 'done', finished = ?1 "
	    "WHERE status = 'sending' AND NOT EXISTS (SELECT 1 FROM delivery d"
	    " WHERE +d.edition_id = edition.id"
	    " AND d.status IN ('queued', 'sending', 'deferred'))",
	[Q_DELIVERY_FAILED] =
	    "SELECT d.id, s.email, d.status, d.code, d.reply, d.attempts,"
	    " d.done_at FROM delivery d LEFT JOIN subscriber s"
	    " ON s.id = d.subscriber_id "
	    "WHERE d.edition_id = ?1 AND d.status IN ('failed', 'deferred',"
	    " 'cancelled') ORDER BY d.id",
	/* Rows to carry: queued, deferred and due, or leased by a process
	 * that is gone (its lease expired, or ?4 names it dead). */
	[Q_CLAIM] =
	    "UPDATE delivery SET status = 'sending', lease_owner = ?1,"
	    " lease_until = ?2, attempts = attempts + 1 "
	    "WHERE id IN (SELECT id FROM (SELECT id FROM delivery WHERE"
	    " status = 'sending' AND (lease_until < ?3 OR lease_owner = ?4)"
	    " LIMIT ?5) UNION ALL SELECT id FROM (SELECT id FROM delivery"
	    " WHERE status IN ('queued', 'deferred') AND next_try <= ?3"
	    " ORDER BY status, next_try LIMIT ?5) LIMIT ?5)",
	[Q_CLAIMED] =
	    "SELECT d.id, d.edition_id, d.subscriber_id, d.attempts, d.created,"
	    " s.email, s.name, CASE e.kind WHEN 'notice' THEN 'active'"
	    " ELSE x.status END, e.theme_id "
	    "FROM delivery d JOIN edition e ON e.id = d.edition_id "
	    "LEFT JOIN subscriber s ON s.id = d.subscriber_id "
	    "LEFT JOIN subscription x ON x.subscriber_id = d.subscriber_id"
	    " AND x.theme_id = e.theme_id "
	    "WHERE d.status = 'sending' AND d.lease_owner = ?1 ORDER BY d.id",
	[Q_CLAIM_DROP] =
	    "UPDATE delivery SET status = 'cancelled', lease_owner = NULL,"
	    " done_at = ?2, reply = ?3 WHERE id = ?1",
	[Q_OUTCOME] =
	    "UPDATE delivery SET status = ?2, code = ?3, policy = ?4,"
	    " reply = ?5, next_try = ?6, done_at = ?7, lease_owner = NULL "
	    "WHERE id = ?1 AND status = 'sending'",
	/* A hard bounce at delivery time: logged for the subscriber; the
	 * inbox counts bounces toward [bounces] hard_limit. */
	[Q_DELIVERY_BOUNCE] =
	    "INSERT INTO event (at, kind, subscriber_id, theme_id, source_id,"
	    " detail) SELECT ?2, 'bounce', d.subscriber_id, e.theme_id, ?3, ?4"
	    " FROM delivery d JOIN edition e ON e.id = d.edition_id"
	    " WHERE d.id = ?1 AND d.subscriber_id IS NOT NULL",
	/* The window is a range of delivery_sent; without INDEXED BY
	 * sqlite (no ANALYZE) picks delivery_work and walks every sent row
	 * of all time, on every claim of a rate-limited send. */
	[Q_SENT_SINCE] =
	    "SELECT (SELECT count(*) FROM delivery INDEXED BY delivery_sent"
	    " WHERE status = 'sent' AND done_at >= ?1) + (SELECT count(*)"
	    " FROM delivery WHERE status = 'sending')",
	[Q_NEXT_TRY] =
	    "SELECT min(next_try), count(*) FROM delivery "
	    "WHERE status = 'deferred'",
	[Q_PACE_GET] =
	    "SELECT next_us FROM pace WHERE id = 1",
	[Q_PACE_SET] =
	    "UPDATE pace SET next_us = ?1 WHERE id = 1",
	[Q_FORGET_DELIVERIES] =
	    "UPDATE delivery SET reply = NULL, status = CASE WHEN status IN"
	    " ('queued', 'deferred', 'sending') THEN 'cancelled' ELSE status END "
	    "WHERE subscriber_id = ?1",
	[Q_SUPPRESSED] =
	    "SELECT 1 FROM suppression WHERE addr_hash = ?1",
	[Q_SUPPRESS_ADD] =
	    "INSERT INTO suppression (addr_hash, email, reason, created) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (addr_hash) DO NOTHING",
	[Q_SUPPRESS_RM] =
	    "DELETE FROM suppression WHERE addr_hash = ?1",
	[Q_SUPPRESS_ANY] = "SELECT EXISTS (SELECT 1 FROM suppression)",
	[Q_SUPPRESS_ALL] =
	    "SELECT addr_hash, email, reason, created FROM suppression "
	    "ORDER BY created, addr_hash",
	[Q_MAILBOX_GET] =
	    "SELECT uidvalidity, last_uid FROM mailbox WHERE name = ?1",
	[Q_MAILBOX_SET] =
	    "INSERT INTO mailbox (name, uidvalidity, last_uid) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (name) DO UPDATE SET uidvalidity = excluded.uidvalidity,"
	    " last_uid = excluded.last_uid",
	/* This very message (UID), or the same message seen under another
	 * UID or UIDVALIDITY (its key): the first row wins. Two lookups,
	 * not one with OR: that one sorted its matches in a temporary
	 * B-tree, for a tenth of the inbox's database time. */
	[Q_INBOUND_FIND_UID] =
	    "SELECT id, filed FROM inbound WHERE uidvalidity = ?1 AND uid = ?2",
	[Q_INBOUND_FIND_KEY] =
	    "SELECT id, filed FROM inbound WHERE msg_key = ?1 "
	    "ORDER BY id LIMIT 1",
	[Q_INBOUND_ADD] =
	    "INSERT INTO inbound (uidvalidity, uid, msg_key, at, kind, action,"
	    " filed, subscriber_id, theme_id, sender, subject) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, nullif(?8, 0), nullif(?9, 0), ?10, ?11)",
	/* The copy seen again under a new UID keeps its first record. */
	[Q_INBOUND_MOVE] =
	    "INSERT INTO inbound (uidvalidity, uid, msg_key, at, kind, action,"
	    " filed) SELECT ?1, ?2, msg_key, ?3, kind, 'seen before (#' || id ||"
	    " ')', filed FROM inbound WHERE id = ?4"
	    " ON CONFLICT (uidvalidity, uid) DO NOTHING",
	[Q_INBOUND_ALL] =
	    "SELECT i.id, i.at, i.kind, i.action, i.filed, i.sender, i.subject,"
	    " t.slug FROM inbound i LEFT JOIN theme t ON t.id = i.theme_id "
	    "ORDER BY i.id DESC LIMIT ?1",
	[Q_BOUNCE_ADD] =
	    "INSERT INTO bounce (inbound_id, at, subscriber_id, theme_id,"
	    " edition_id, address, verdict, status, diagnostic, report) VALUES"
	    " (nullif(?1, 0), ?2, nullif(?3, 0), nullif(?4, 0), nullif(?5, 0),"
	    " ?6, ?7, ?8, ?9, ?10)",
	[Q_BOUNCE_COUNT] =
	    "SELECT count(*) FROM bounce "
	    "WHERE subscriber_id = ?1 AND verdict = ?2 AND at >= ?3",
	[Q_BOUNCE_ALL] =
	    "SELECT b.id, b.at, b.subscriber_id, t.slug, b.edition_id,"
	    " b.address, b.verdict, b.status, b.diagnostic, NULL,"
	    " coalesce(x.status, '') FROM bounce b"
	    " LEFT JOIN theme t ON t.id = b.theme_id"
	    " LEFT JOIN subscription x ON x.subscriber_id = b.subscriber_id"
	    " AND x.theme_id = b.theme_id "
	    "WHERE ?1 = 0 OR b.theme_id = ?1 ORDER BY b.id",
	[Q_BOUNCE_GET] =
	    "SELECT b.id, b.at, b.subscriber_id, t.slug, b.edition_id,"
	    " b.address, b.verdict, b.status, b.diagnostic, b.report,"
	    " coalesce(x.status, '') FROM bounce b"
	    " LEFT JOIN theme t ON t.id = b.theme_id"
	    " LEFT JOIN subscription x ON x.subscriber_id = b.subscriber_id"
	    " AND x.theme_id = b.theme_id WHERE b.id = ?1",
	/* Every subscription of a bouncing address stops, logged per theme. */
	[Q_BOUNCED] =
	    "SELECT theme_id FROM subscription "
	    "WHERE subscriber_id = ?1 AND (status = 'active' OR status = 'pending')",
	[Q_NOTICE_ADD] =
	    "INSERT INTO edition (theme_id, subject, intro, template, status,"
	    " created, queued, kind) VALUES (?1, ?2, '', ?3, 'sending', ?4, ?4,"
	    " 'notice')",
	[Q_NOTICE_QUEUE] =
	    "INSERT INTO delivery (edition_id, subscriber_id, status, created) "
	    "VALUES (?1, ?2, 'queued', ?3)",
	[Q_FORGET_BOUNCES] =
	    "DELETE FROM bounce WHERE subscriber_id = ?1"
	    " OR lower(address) = lower(?2) OR instr(lower(report), lower(?2)) > 0",
	[Q_INBOUND_UPDATE] =
	    "UPDATE inbound SET action = ?2, filed = ?3,"
	    " subscriber_id = nullif(?4, 0), theme_id = nullif(?5, 0) "
	    "WHERE id = ?1",
	[Q_NOTICES_WAITING] =
	    "SELECT count(*) FROM edition e JOIN delivery d"
	    " ON d.edition_id = e.id WHERE e.kind = 'notice'"
	    " AND e.status = 'sending' AND d.status IN ('queued', 'deferred')",
	[Q_THEME_SCHEDULE] =
	    "UPDATE theme SET schedule = ?2 WHERE slug = ?1",
	[Q_THEME_DIGESTED] =
	    "UPDATE theme SET last_digest = ?2 WHERE id = ?1",
	/* Only a draft can be scheduled; NULL unschedules it. */
	[Q_EDITION_SEND_AT] =
	    "UPDATE edition SET send_at = ?2 WHERE id = ?1 AND status = 'draft'",
	[Q_EDITIONS_DUE] =
	    "SELECT id FROM edition WHERE send_at IS NOT NULL AND send_at <= ?1"
	    " AND status = 'draft' ORDER BY send_at, id",
	[Q_EDITION_NEXT_SEND] =
	    "SELECT min(send_at) FROM edition WHERE send_at IS NOT NULL"
	    " AND status = 'draft'",
	[Q_JOB_START] =
	    "INSERT INTO job (name, last_start) VALUES (?1, ?2) "
	    "ON CONFLICT (name) DO UPDATE SET last_start = ?2",
	[Q_JOB_END] =
	    "INSERT INTO job (name, last_end, last_error, next_run)"
	    " VALUES (?1, ?2, ?3, nullif(?4, 0)) "
	    "ON CONFLICT (name) DO UPDATE SET last_end = ?2, last_error = ?3,"
	    " next_run = nullif(?4, 0)",
	[Q_JOB_ALL] =
	    "SELECT name, last_start, last_end, last_error, next_run FROM job"
	    " ORDER BY name",
	/* Each count is a range of an index: delivery_work for the
	 * statuses, delivery_sent for the windows, edition_due for the
	 * scheduled drafts; none scans the table. Without ANALYZE sqlite
	 * would take delivery_work for the windows too and walk every sent
	 * row, hence INDEXED BY. */
	[Q_QUEUE_COUNTS] =
	    "SELECT"
	    " (SELECT count(*) FROM delivery WHERE status = 'queued'),"
	    " (SELECT count(*) FROM delivery WHERE status = 'sending'),"
	    " (SELECT count(*) FROM delivery WHERE status = 'deferred'),"
	    " (SELECT min(next_try) FROM delivery WHERE status = 'deferred'),"
	    " (SELECT count(*) FROM delivery WHERE status = 'failed'),"
	    " (SELECT count(*) FROM delivery INDEXED BY delivery_sent"
	    "   WHERE status = 'sent' AND done_at >= ?1),"
	    " (SELECT count(*) FROM delivery INDEXED BY delivery_sent"
	    "   WHERE status = 'sent' AND done_at >= ?2),"
	    " (SELECT count(*) FROM edition WHERE send_at IS NOT NULL"
	    "   AND status = 'draft'),"
	    " (SELECT id FROM edition WHERE send_at IS NOT NULL"
	    "   AND status = 'draft' ORDER BY send_at, id LIMIT 1),"
	    " (SELECT min(send_at) FROM edition WHERE send_at IS NOT NULL"
	    "   AND status = 'draft')",
	[Q_EDITION_TEMPLATE] =
	    "SELECT kind, template FROM edition WHERE id = ?1",
	[Q_SUBSCRIPTION_INFO] =
	    "SELECT status, since FROM subscription "
	    "WHERE subscriber_id = ?1 AND theme_id = ?2",
	[Q_CONFIRM_SENT_GET] =
	    "SELECT confirm_sent_at FROM subscriber WHERE id = ?1",
	/* Compare-and-set: two requests at once cannot both send. */
	[Q_CONFIRM_SENT_SET] =
	    "UPDATE subscriber SET confirm_sent_at = ?3 "
	    "WHERE id = ?1 AND confirm_sent_at = ?2",
	[Q_EXPIRE_COUNT] =
	    "SELECT count(*) FROM subscription INDEXED BY subscription_pending"
	    " WHERE status = 'pending' AND since < ?1",
	[Q_EXPIRE_EVENTS] =
	    "INSERT INTO event"
	    " (at, kind, subscriber_id, theme_id, source_id, detail) "
	    "SELECT ?2, 'unsubscribe', subscriber_id, theme_id, ?3, ?4 "
	    "FROM subscription INDEXED BY subscription_pending"
	    " WHERE status = 'pending' AND since < ?1",
	/* A subscriber whose only subscriptions expire was never confirmed
	 * anywhere: its address and name go, and its log rows keep no
	 * link to it (?1: the cutoff). */
	[Q_EXPIRE_UNLINK] =
	    "UPDATE event SET subscriber_id = NULL WHERE subscriber_id IN"
	    " (SELECT x.subscriber_id FROM subscription x"
	    "  INDEXED BY subscription_pending"
	    "  WHERE x.status = 'pending' AND x.since < ?1 AND NOT EXISTS"
	    "  (SELECT 1 FROM subscription y WHERE"
	    "   y.subscriber_id = x.subscriber_id AND NOT"
	    "   (y.status = 'pending' AND y.since < ?1)))",
	[Q_EXPIRE_SUBSCRIBERS] =
	    "DELETE FROM subscriber WHERE id IN"
	    " (SELECT x.subscriber_id FROM subscription x"
	    "  INDEXED BY subscription_pending"
	    "  WHERE x.status = 'pending' AND x.since < ?1 AND NOT EXISTS"
	    "  (SELECT 1 FROM subscription y WHERE"
	    "   y.subscriber_id = x.subscriber_id AND NOT"
	    "   (y.status = 'pending' AND y.since < ?1)))",
	[Q_EXPIRE_SUBSCRIPTIONS] =
	    "DELETE FROM subscription"
	    " WHERE status = 'pending' AND since < ?1",
	[Q_THEME_BY_ID] =
	    "SELECT id, slug, name, description, lang, created, from_addr,"
	    " schedule, last_digest "
	    "FROM theme WHERE id = ?1",
	[Q_SUBSCRIBER_GET] =
	    "SELECT email, name FROM subscriber WHERE id = ?1",
	[Q_FORGET_INBOUND] =
	    "UPDATE inbound SET sender = NULL, subject = NULL "
	    "WHERE subscriber_id = ?1 OR lower(sender) = lower(?2)",
};

static const char *const status_names[STORE_NSTATUS] = {
	"pending", "active", "unsubscribed", "bounced"
};

static const char *const event_names[] = {
	[STORE_EV_SUBSCRIBE] = "subscribe",
	[STORE_EV_CONFIRM] = "confirm",
	[STORE_EV_UNSUBSCRIBE] = "unsubscribe",
	[STORE_EV_BOUNCE] = "bounce",
	[STORE_EV_ERASE] = "erase",
	[STORE_EV_UPDATE] = "update",
	[STORE_EV_SUPPRESS] = "suppress",
	[STORE_EV_UNSUPPRESS] = "unsuppress",
};

struct store {
	sqlite3		*db;
	char		*path;
	int		 version_found;
	sqlite3_stmt	*stmts[Q_COUNT];
	char		*source_name;	/* the last source looked up */
	int64_t		 source_id;
	int		 depth;		/* open store_begin calls */
};

const char *
store_status_name(int status)
{
	if (status < 0 || status >= STORE_NSTATUS)
		return "unknown";
	return status_names[status];
}

int
store_status_parse(const char *word)
{
	for (int i = 0; i < STORE_NSTATUS; i++)
		if (strcmp(word, status_names[i]) == 0)
			return i;
	return -1;
}

/* Maps an sqlite failure to a sysexits code: busy is temporary. */
static int
exit_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EX_TEMPFAIL;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return EX_IOERR;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return EX_DATAERR;
	default:
		return EX_SOFTWARE;
	}
}

static int
fail(struct store *st, struct error *err, int rc, const char *what)
{
	error_set(err, exit_code(rc), "database %s: %s: %s", st->path, what,
	    sqlite3_errmsg(st->db));
	return -1;
}

/*
 * The prepared statement for q, reset. Bindings are not cleared (that
 * costs on every row of an import): every caller binds every parameter,
 * NULLs included.
 */
static sqlite3_stmt *
stmt(struct store *st, enum q q, struct error *err)
{
	sqlite3_stmt *s = st->stmts[q];
	int rc;

	if (s != NULL) {
		sqlite3_reset(s);
		return s;
	}
	rc = sqlite3_prepare_v3(st->db, sql[q], -1, SQLITE_PREPARE_PERSISTENT,
	    &s, NULL);
	if (rc != SQLITE_OK) {
		fail(st, err, rc, "prepare");
		return NULL;
	}
	st->stmts[q] = s;
	return s;
}

/* Runs a statement that returns no rows; resets it. */
static int
run(struct store *st, sqlite3_stmt *s, struct error *err, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return fail(st, err, rc, what);
	return 0;
}

static int
exec(struct store *st, const char *text, struct error *err, const char *what)
{
	int rc = sqlite3_exec(st->db, text, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return fail(st, err, rc, what);
	return 0;
}

static int
pragma_int(struct store *st, const char *text, int *out, struct error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, text, -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		sqlite3_finalize(s);
		return 0;
	}
	sqlite3_finalize(s);
	return fail(st, err, rc, "read schema version");
}

static int
count_tables(struct store *st, int *n, struct error *err)
{
	return pragma_int(st, "SELECT count(*) FROM sqlite_schema", n, err);
}

/*
 * Upgrades the schema inside one write transaction, re-reading the version
 * under the lock so two processes opening an old file upgrade it once.
 */
static int
migrate(struct store *st, struct error *err)
{
	int version, app_id, ntables;

	if (pragma_int(st, "PRAGMA user_version", &version, err) == -1)
		return -1;
	st->version_found = version;
	if (version > STORE_SCHEMA_VERSION) {
		error_set(err, EX_DATAERR, "database %s has schema version %d, "
		    "newer than this temabrev (%d): upgrade temabrev",
		    st->path, version, STORE_SCHEMA_VERSION);
		return -1;
	}
	if (version == STORE_SCHEMA_VERSION)
		goto check_app;
	if (exec(st, "BEGIN IMMEDIATE", err, "begin upgrade") == -1)
		return -1;
	if (pragma_int(st, "PRAGMA user_version", &version, err) == -1)
		goto fail;
	if (version == 0) {
		if (count_tables(st, &ntables, err) == -1)
			goto fail;
		if (ntables != 0) {
			error_set(err, EX_DATAERR, "%s is an SQLite database "
			    "but not a temabrev one", st->path);
			goto fail;
		}
	}
	for (int v = version; v < STORE_SCHEMA_VERSION; v++)
		if (exec(st, migrations[v], err, "upgrade schema") == -1)
			goto fail;
	if (exec(st, "COMMIT", err, "commit upgrade") == -1)
		goto fail;
check_app:
	if (pragma_int(st, "PRAGMA application_id", &app_id, err) == -1)
		return -1;
	if (app_id != STORE_APP_ID) {
		error_set(err, EX_DATAERR, "%s is an SQLite database but not a "
		    "temabrev one", st->path);
		return -1;
	}
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

void
store_init(void)
{
	/* Memory statistics take a global mutex on every allocation. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_initialize();
}

/*
 * Creates a missing database file 0666 & ~umask. sqlite would make it
 * 0644 & ~umask, which leaves a group that shares the database (the
 * CLI's users and the daemon, doc/deployment.md) unable to write it;
 * sqlite gives the -wal and -shm files the database file's mode, so this
 * one open decides all three. An empty file is a new database to sqlite.
 * Errors are left for sqlite3_open_v2 to report.
 */
static void
create_shared(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);

	if (fd != -1)
		close(fd);
}

int
store_open(const char *path, struct store **store_r, struct error *err)
{
	struct store *st = xcalloc(1, sizeof *st);
	int rc;

	st->path = xstrdup(path);
	create_shared(path);
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		error_set(err, EX_IOERR, "database %s: %s", path,
		    st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* Long enough for a daemon batch commit, short enough for a human. */
	sqlite3_busy_timeout(st->db, 10000);
	if (exec(st, "PRAGMA foreign_keys = ON", err, "enable foreign keys") == -1)
		goto fail;
	/* Effective only for a new file: fewer, fuller B-tree levels. */
	if (exec(st, "PRAGMA page_size = 8192", err, "open") == -1)
		goto fail;
	if (exec(st, "PRAGMA journal_mode = WAL", err, "open") == -1)
		goto fail;
	/* In WAL mode NORMAL is crash-safe; a power cut may lose the last
	 * commits, never corrupt the file. */
	if (exec(st, "PRAGMA synchronous = NORMAL", err, "open") == -1)
		goto fail;
	/* Statement journals (a few pages each, for statements that fire the
	 * event trigger) stay in memory instead of temporary files. */
	if (exec(st, "PRAGMA temp_store = MEMORY", err, "open") == -1)
		goto fail;
	/* 2 MB of page cache per connection: a send opens one per worker;
	 * bulk imports raise it (store_bulk). */
	if (exec(st, "PRAGMA cache_size = -2048", err, "open") == -1)
		goto fail;
	if (migrate(st, err) == -1)
		goto fail;
	*store_r = st;
	return 0;
fail:
	store_close(st);
	return -1;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close(st->db);
	free(st->source_name);
	free(st->path);
	free(st);
}

int
store_version_found(const struct store *st)
{
	return st->version_found;
}

int
store_bulk(struct store *st, struct error *err)
{
	if (exec(st, "PRAGMA cache_size = -32768", err, "bulk mode") == -1)
		return -1;
	return exec(st, "PRAGMA wal_autocheckpoint = 8192", err, "bulk mode");
}

int
store_begin(struct store *st, struct error *err)
{
	/* Nested: a savepoint, so a module that runs its own transaction
	 * (subs) can be part of a larger one (the inbox's, which must
	 * commit a message's effect and its record together). */
	if (exec(st, st->depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT nest",
	    err, "begin transaction") == -1)
		return -1;
	st->depth++;
	return 0;
}

int
store_commit(struct store *st, struct error *err)
{
	if (st->depth > 1) {
		if (exec(st, "RELEASE nest", err, "commit") == -1)
			return -1;
		st->depth--;
		return 0;
	}
	if (exec(st, "COMMIT", err, "commit") == -1)
		return -1;
	st->depth = 0;
	return 0;
}

void
store_rollback(struct store *st)
{
	if (st->depth > 1) {
		sqlite3_exec(st->db, "ROLLBACK TO nest; RELEASE nest", NULL,
		    NULL, NULL);
		st->depth--;
		return;
	}
	st->depth = 0;
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	free(st->source_name);	/* its row may have been rolled back */
	st->source_name = NULL;
}

/*
 * Copies into a temporary file beside path and renames it into place, so
 * path is either the old backup or a complete new one, never a torn copy.
 */
int
store_backup(struct store *st, const char *path, struct error *err)
{
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	sqlite3 *dst = NULL;
	sqlite3_backup *b = NULL;
	int rc, ret = -1;

	rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		error_set(err, EX_CANTCREAT, "backup %s: %s", path,
		    dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		goto fail;
	}
	if ((b = sqlite3_backup_init(dst, "main", st->db, "main")) == NULL) {
		error_set(err, EX_IOERR, "backup %s: %s", path,
		    sqlite3_errmsg(dst));
		goto fail;
	}
	/* Copies every page in one step: consistent with the live file. */
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	b = NULL;
	if (rc != SQLITE_DONE) {
		error_set(err, exit_code(rc), "backup %s: %s", path,
		    sqlite3_errstr(rc));
		goto fail;
	}
	/* A backup is one self-contained file: leave WAL mode in the copy. */
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL,
	    NULL) != SQLITE_OK) {
		error_set(err, EX_IOERR, "backup %s: %s", path,
		    sqlite3_errmsg(dst));
		goto fail;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		dst = NULL;
		error_set(err, EX_IOERR, "backup %s: close failed", path);
		goto fail;
	}
	dst = NULL;
	if (rename(tmp, path) == -1) {
		error_set(err, EX_CANTCREAT, "backup %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	ret = 0;
fail:
	if (b != NULL)
		sqlite3_backup_finish(b);
	if (dst != NULL)
		sqlite3_close(dst);
	if (ret == -1)
		unlink(tmp);
	free(tmp);
	return ret;
}

/* ---- themes ---- */

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static char *
col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return xstrdup(v ? (const char *)v : "");
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v ? (const char *)v : "";
}

int
store_theme_add(struct store *st, const char *slug, const char *name,
    const char *description, const char *lang, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_THEME_ADD, err);
	int rc;

	if (s == NULL)
		return -1;
	bind_text(s, 1, slug);
	bind_text(s, 2, name);
	bind_text(s, 3, description ? description : "");
	bind_text(s, 4, lang ? lang : "sv");
	sqlite3_bind_int64(s, 5, util_now());
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		error_set(err, EX_DATAERR, "theme %s already exists", slug);
		return -1;
	}
	if (rc != SQLITE_DONE)
		return fail(st, err, rc, "add theme");
	return 0;
}

int
store_theme_edit(struct store *st, const char *slug, const char *name,
    const char *description, const char *lang, const char *from,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_THEME_EDIT, err);

	if (s == NULL)
		return -1;
	bind_text(s, 1, slug);
	bind_text(s, 2, name);
	bind_text(s, 3, description);
	bind_text(s, 4, lang);
	bind_text(s, 5, from);
	if (run(st, s, err, "edit theme") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		error_set(err, EX_DATAERR, "no theme %s", slug);
		return -1;
	}
	return 0;
}

static int
theme_counts(struct store *st, struct store_theme *t, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_THEME_COUNTS, err);
	int rc;

	if (s == NULL)
		return -1;
	memset(t->counts, 0, sizeof t->counts);
	sqlite3_bind_int64(s, 1, t->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int status = store_status_parse(col_text(s, 0));

		if (status >= 0)
			t->counts[status] = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return fail(st, err, rc, "count subscriptions");
	return 0;
}

static void
theme_from_row(sqlite3_stmt *s, struct store_theme *t)
{
	t->id = sqlite3_column_int64(s, 0);
	t->slug = col_dup(s, 1);
	t->name = col_dup(s, 2);
	t->description = col_dup(s, 3);
	t->lang = col_dup(s, 4);
	t->created = sqlite3_column_int64(s, 5);
	t->from_addr = sqlite3_column_type(s, 6) == SQLITE_NULL ? NULL :
	    col_dup(s, 6);
	t->schedule = sqlite3_column_type(s, 7) == SQLITE_NULL ? NULL :
	    col_dup(s, 7);
	t->last_digest = sqlite3_column_int64(s, 8);
}

static void
theme_clear(struct store_theme *t)
{
	free(t->slug);
	free(t->name);
	free(t->description);
	free(t->lang);
	free(t->from_addr);
	free(t->schedule);
	memset(t, 0, sizeof *t);
}

int
store_theme_get(struct store *st, const char *slug,
    struct store_theme **theme_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_THEME_GET, err);
	struct store_theme *t;
	int rc;

	if (s == NULL)
		return -1;
	bind_text(s, 1, slug);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return fail(st, err, rc, "read theme");
	}
	t = xcalloc(1, sizeof *t);
	theme_from_row(s, t);
	sqlite3_reset(s);
	if (theme_counts(st, t, err) == -1) {
		store_theme_free(t);
		return -1;
	}
	*theme_r = t;
	return 1;
}

void
store_theme_free(struct store_theme *t)
{
	if (t == NULL)
		return;
	theme_clear(t);
	free(t);
}

static int
theme_walk(struct store *st, int counts,
    int (*cb)(const struct store_theme *, void *), void *arg,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_theme t;
	int rc, ret = -1;

	/* Its own statement: cb may call back into the store. */
	rc = sqlite3_prepare_v2(st->db, sql[Q_THEME_ALL], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list themes");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		theme_from_row(s, &t);
		memset(t.counts, 0, sizeof t.counts);
		if (counts && theme_counts(st, &t, err) == -1) {
			theme_clear(&t);
			goto done;
		}
		ret = cb(&t, arg);
		theme_clear(&t);
		if (ret != 0)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = fail(st, err, rc, "list themes");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(s);
	return ret;
}

int
store_theme_foreach(struct store *st,
    int (*cb)(const struct store_theme *, void *), void *arg,
    struct error *err)
{
	return theme_walk(st, 1, cb, arg, err);
}

int
store_theme_each(struct store *st,
    int (*cb)(const struct store_theme *, void *), void *arg,
    struct error *err)
{
	return theme_walk(st, 0, cb, arg, err);
}

int
store_theme_rm(struct store *st, int64_t theme_id, struct error *err)
{
	sqlite3_stmt *s;

	if (store_begin(st, err) == -1)
		return -1;
	if ((s = stmt(st, Q_THEME_RM_EVENTS, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, theme_id);
	if (run(st, s, err, "remove theme") == -1)
		goto fail;
	if ((s = stmt(st, Q_THEME_RM, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, theme_id);
	if (run(st, s, err, "remove theme") == -1)
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return -1;
}

/* ---- subscribers ---- */

int
store_subscriber_find(struct store *st, const char *key, int64_t *id_r,
    char **name_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_SUBSCRIBER_FIND, err);
	int rc;

	if (s == NULL)
		return -1;
	bind_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id_r = sqlite3_column_int64(s, 0);
		if (name_r != NULL)
			*name_r = col_dup(s, 1);
		sqlite3_reset(s);
		return 1;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return fail(st, err, rc, "find subscriber");
	return 0;
}

int
store_subscriber_add(struct store *st, const char *email, const char *key,
    const char *name, int64_t *id_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_SUBSCRIBER_ADD, err);
	int rc;

	if (s == NULL)
		return -1;
	bind_text(s, 1, email);
	bind_text(s, 2, key);
	bind_text(s, 3, name ? name : "");
	sqlite3_bind_int64(s, 4, util_now());
	/* Not RETURNING: sqlite buffers those rows in a temporary table. */
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return fail(st, err, rc, "add subscriber");
	if (sqlite3_changes(st->db) == 0)
		return 0;
	*id_r = sqlite3_last_insert_rowid(st->db);
	return 1;
}

int
store_subscriber_set_name(struct store *st, int64_t id, const char *name,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_SUBSCRIBER_SET_NAME, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, name);
	return run(st, s, err, "rename subscriber");
}

int
store_subscription_get(struct store *st, int64_t subscriber_id,
    int64_t theme_id, int *status_r, struct error *err)
{
	int64_t since;

	return store_subscription_info(st, subscriber_id, theme_id, status_r,
	    &since, err);
}

/*
 * The id of a source name, added when new. The last one is cached: an
 * import or a send uses one source for all its rows. A cached id inside a
 * transaction that is rolled back would dangle, so the cache is cleared on
 * rollback.
 */
static int
source_id(struct store *st, const char *name, int64_t *id_r,
    struct error *err)
{
	sqlite3_stmt *s;
	int rc;

	if (st->source_name != NULL && strcmp(st->source_name, name) == 0) {
		*id_r = st->source_id;
		return 0;
	}
	if ((s = stmt(st, Q_SOURCE_GET, err)) == NULL)
		return -1;
	bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		if ((s = stmt(st, Q_SOURCE_ADD, err)) == NULL)
			return -1;
		bind_text(s, 1, name);
		if (run(st, s, err, "add source") == -1)
			return -1;
		*id_r = sqlite3_last_insert_rowid(st->db);
	} else if (rc != SQLITE_ROW)
		return fail(st, err, rc, "read source");
	free(st->source_name);
	st->source_name = xstrdup(name);
	st->source_id = *id_r;
	return 0;
}

static int
event_insert(struct store *st, int kind, int64_t subscriber_id,
    int64_t theme_id, const char *source, const char *detail,
    const char *hash, struct error *err)
{
	sqlite3_stmt *s;
	int64_t src;

	if (source_id(st, source, &src, err) == -1)
		return -1;
	if ((s = stmt(st, Q_EVENT_ADD, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, util_now());
	bind_text(s, 2, event_names[kind]);
	if (subscriber_id > 0)
		sqlite3_bind_int64(s, 3, subscriber_id);
	else
		sqlite3_bind_null(s, 3);
	sqlite3_bind_int64(s, 4, theme_id);
	sqlite3_bind_int64(s, 5, src);
	bind_text(s, 6, detail ? detail : "");
	bind_text(s, 7, hash);
	return run(st, s, err, "log event");
}

int
store_event_add(struct store *st, int kind, int64_t subscriber_id,
    int64_t theme_id, const char *source, const char *detail,
    struct error *err)
{
	return event_insert(st, kind, subscriber_id, theme_id, source, detail,
	    NULL, err);
}

int
store_subscription_set(struct store *st, int64_t subscriber_id,
    int64_t theme_id, int status, int kind, const char *source,
    const char *detail, struct error *err)
{
	sqlite3_stmt *s;
	int64_t src;

	if (source_id(st, source, &src, err) == -1)
		return -1;
	if ((s = stmt(st, Q_SUBSCRIPTION_SET, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, subscriber_id);
	sqlite3_bind_int64(s, 2, theme_id);
	bind_text(s, 3, store_status_name(status));
	sqlite3_bind_int64(s, 4, util_now());
	sqlite3_bind_int64(s, 5, src);
	if (run(st, s, err, "set subscription") == -1)
		return -1;
	/* Not a trigger: a statement that fires one needs a statement
	 * journal, which made a large import twice as slow. */
	return event_insert(st, kind, subscriber_id, theme_id, source, detail,
	    NULL, err);
}

/*
 * Collects the rows of one subscriber before handing it to the callback.
 * Strings are copied: sqlite's pointers die at the next step.
 */
struct collect {
	struct store_subscriber	 sub;
	char			*email;
	char			*name;
	struct store_subscription *subs;
	size_t			 nsubs, cap;
};

static void
collect_reset(struct collect *c)
{
	for (size_t i = 0; i < c->nsubs; i++) {
		free((char *)c->subs[i].slug);
		free((char *)c->subs[i].reason);
	}
	c->nsubs = 0;
	free(c->email);
	free(c->name);
	c->email = c->name = NULL;
}

static void
collect_sub(struct collect *c, sqlite3_stmt *s, int col)
{
	struct store_subscription *x;

	if (c->nsubs == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->subs = xrealloc(c->subs, c->cap * sizeof *c->subs);
	}
	x = &c->subs[c->nsubs++];
	x->theme_id = sqlite3_column_int64(s, col);
	x->slug = col_dup(s, col + 1);
	x->status = store_status_parse(col_text(s, col + 2));
	x->since = sqlite3_column_int64(s, col + 3);
	x->reason = col_dup(s, col + 4);
}

static int
collect_emit(struct collect *c, int (*cb)(const struct store_subscriber *,
    void *), void *arg)
{
	c->sub.email = c->email;
	c->sub.name = c->name;
	c->sub.subs = c->subs;
	c->sub.nsubs = c->nsubs;
	return cb(&c->sub, arg);
}

static int
subscriber_one(struct store *st, const char *key,
    int (*cb)(const struct store_subscriber *, void *), void *arg,
    struct error *err)
{
	struct collect c = { 0 };
	sqlite3_stmt *s;
	int rc, ret = -1;

	if ((s = stmt(st, Q_SUBSCRIBER_BY_KEY, err)) == NULL)
		return -1;
	bind_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		if (rc == SQLITE_DONE)
			return 0;
		return fail(st, err, rc, "read subscriber");
	}
	c.sub.id = sqlite3_column_int64(s, 0);
	c.email = col_dup(s, 1);
	c.name = col_dup(s, 2);
	c.sub.created = sqlite3_column_int64(s, 3);
	sqlite3_reset(s);
	if ((s = stmt(st, Q_SUBSCRIBER_SUBS, err)) == NULL)
		goto done;
	sqlite3_bind_int64(s, 1, c.sub.id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		collect_sub(&c, s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		fail(st, err, rc, "read subscriptions");
		goto done;
	}
	ret = collect_emit(&c, cb, arg);
	if (ret == 0)
		ret = 1;
done:
	collect_reset(&c);
	free(c.subs);
	return ret;
}

int
store_subscriber_foreach(struct store *st, const char *key, int64_t theme_id,
    int status, int (*cb)(const struct store_subscriber *, void *), void *arg,
    struct error *err)
{
	struct collect c = { 0 };
	sqlite3_stmt *s = NULL;
	int64_t cur = 0;
	int rc, ret = -1;

	if (key != NULL) {
		ret = subscriber_one(st, key, cb, arg, err);
		return ret < 0 ? -1 : 0;
	}
	/* Its own statement: cb may call back into the store. */
	rc = sqlite3_prepare_v2(st->db, sql[Q_SUBSCRIBER_ALL], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list subscribers");
	sqlite3_bind_int64(s, 1, theme_id);
	if (status >= 0)
		bind_text(s, 2, store_status_name(status));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);

		if (id != cur) {
			if (cur != 0 && (ret = collect_emit(&c, cb, arg)) != 0)
				goto done;
			collect_reset(&c);
			cur = id;
			c.sub.id = id;
			c.email = col_dup(s, 1);
			c.name = col_dup(s, 2);
			c.sub.created = sqlite3_column_int64(s, 3);
		}
		collect_sub(&c, s, 4);
	}
	if (rc != SQLITE_DONE) {
		ret = fail(st, err, rc, "list subscribers");
		goto done;
	}
	ret = cur != 0 ? collect_emit(&c, cb, arg) : 0;
done:
	collect_reset(&c);
	free(c.subs);
	sqlite3_finalize(s);
	return ret;
}

int
store_subscriber_forget(struct store *st, int64_t id, const char *email,
    const char *key, const char *hash, const char *source, struct error *err)
{
	sqlite3_stmt *s;

	if (store_begin(st, err) == -1)
		return -1;
	if ((s = stmt(st, Q_FORGET_EVENTS, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, hash);
	if (run(st, s, err, "forget events") == -1)
		goto fail;
	if ((s = stmt(st, Q_FORGET_DELIVERIES, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	if (run(st, s, err, "forget deliveries") == -1)
		goto fail;
	if ((s = stmt(st, Q_FORGET_BOUNCES, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, email);
	if (run(st, s, err, "forget bounces") == -1)
		goto fail;
	if ((s = stmt(st, Q_FORGET_INBOUND, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, email);
	if (run(st, s, err, "forget replies") == -1)
		goto fail;
	if ((s = stmt(st, Q_FORGET_DETAILS, err)) == NULL)
		goto fail;
	bind_text(s, 1, email);
	bind_text(s, 2, key);
	if (run(st, s, err, "forget texts") == -1)
		goto fail;
	if ((s = stmt(st, Q_FORGET_SUBSCRIBER, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	if (run(st, s, err, "forget subscriber") == -1)
		goto fail;
	if ((s = stmt(st, Q_FORGET_SUPPRESS, err)) == NULL)
		goto fail;
	bind_text(s, 1, hash);
	sqlite3_bind_int64(s, 2, util_now());
	if (run(st, s, err, "suppress") == -1)
		goto fail;
	if (event_insert(st, STORE_EV_ERASE, 0, 0, source, "", hash,
	    err) == -1)
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return -1;
}

/* ---- feeds and items ---- */

int
store_feed_add(struct store *st, int64_t theme_id, const char *url,
    int64_t *id_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_FEED_ADD, err);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, theme_id);
	bind_text(s, 2, url);
	sqlite3_bind_int64(s, 3, util_now());
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		error_set(err, EX_DATAERR, "the theme has the feed %s already",
		    url);
		return -1;
	}
	if (rc != SQLITE_DONE)
		return fail(st, err, rc, "add feed");
	*id_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_feed_rm(struct store *st, int64_t id, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_FEED_RM, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (run(st, s, err, "remove feed") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		error_set(err, EX_DATAERR, "no feed %lld", (long long)id);
		return -1;
	}
	return 0;
}

static const char *
col_null(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? NULL :
	    (const char *)sqlite3_column_text(s, i);
}

static void
feed_from_row(sqlite3_stmt *s, int c, struct store_feed *f)
{
	f->id = sqlite3_column_int64(s, c);
	f->theme_id = sqlite3_column_int64(s, c + 1);
	f->slug = col_text(s, c + 2);
	f->url = col_text(s, c + 3);
	f->title = col_null(s, c + 4);
	f->active = sqlite3_column_int(s, c + 5);
	f->etag = col_null(s, c + 6);
	f->last_modified = col_null(s, c + 7);
	f->created = sqlite3_column_int64(s, c + 8);
	f->last_fetch = sqlite3_column_int64(s, c + 9);
	f->last_status = (long)sqlite3_column_int64(s, c + 10);
	f->last_error = col_null(s, c + 11);
	f->last_new = sqlite3_column_int64(s, c + 12);
	f->last_updated = sqlite3_column_int64(s, c + 13);
	f->failures = sqlite3_column_int64(s, c + 14);
}

int
store_feed_foreach(struct store *st, int64_t theme_id, int active_only,
    int (*cb)(const struct store_feed *, void *), void *arg,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_feed f;
	int rc, ret = 0;

	/* Its own statement: cb stores what it fetched meanwhile. */
	rc = sqlite3_prepare_v2(st->db, sql[Q_FEED_ALL], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list feeds");
	sqlite3_bind_int64(s, 1, theme_id);
	sqlite3_bind_int(s, 2, active_only);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		feed_from_row(s, 0, &f);
		if ((ret = cb(&f, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "list feeds");
	sqlite3_finalize(s);
	return ret;
}

int
store_feed_fetched(struct store *st, int64_t id,
    const struct store_fetch_outcome *o, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_FEED_FETCHED, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, util_now());
	sqlite3_bind_int64(s, 3, o->status);
	bind_text(s, 4, o->error);
	sqlite3_bind_int64(s, 5, o->nnew);
	sqlite3_bind_int64(s, 6, o->nupdated);
	bind_text(s, 7, o->etag);
	bind_text(s, 8, o->last_modified);
	bind_text(s, 9, o->title);
	bind_text(s, 10, o->moved_to);
	sqlite3_bind_int(s, 11, o->deactivate);
	return run(st, s, err, "record fetch");
}

static void
bind_item(sqlite3_stmt *s, const struct store_item *it)
{
	sqlite3_bind_int64(s, 1, it->feed_id);
	bind_text(s, 2, it->identity);
	bind_text(s, 3, it->guid);
	bind_text(s, 4, it->title ? it->title : "");
	bind_text(s, 5, it->link);
	bind_text(s, 6, it->author);
	sqlite3_bind_int64(s, 7, it->published);
	sqlite3_bind_int64(s, 8, it->updated);
	bind_text(s, 9, it->categories);
	bind_text(s, 10, it->summary_html);
	bind_text(s, 11, it->content_html);
	bind_text(s, 12, it->text);
	bind_text(s, 13, it->enclosure_url);
	bind_text(s, 14, it->enclosure_type);
	sqlite3_bind_int64(s, 15, it->enclosure_length);
	sqlite3_bind_int64(s, 16, util_now());
}

int
store_item_upsert(struct store *st, const struct store_item *it,
    enum store_upsert *outcome_r, struct error *err)
{
	sqlite3_stmt *s;

	if ((s = stmt(st, Q_ITEM_INSERT, err)) == NULL)
		return -1;
	bind_item(s, it);
	if (run(st, s, err, "store item") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 1) {
		*outcome_r = STORE_NEW;
		return 0;
	}
	if ((s = stmt(st, Q_ITEM_UPDATE, err)) == NULL)
		return -1;
	bind_item(s, it);
	if (run(st, s, err, "update item") == -1)
		return -1;
	*outcome_r = sqlite3_changes(st->db) == 1 ? STORE_UPDATED :
	    STORE_UNCHANGED;
	return 0;
}

/* Reads the ITEM_COLUMNS of the current row; the strings are the row's. */
static void
item_row(sqlite3_stmt *s, struct store_item *it)
{
	memset(it, 0, sizeof *it);
	it->id = sqlite3_column_int64(s, 0);
	it->feed_id = sqlite3_column_int64(s, 1);
	it->identity = col_text(s, 2);
	it->guid = col_null(s, 3);
	it->title = col_text(s, 4);
	it->link = col_null(s, 5);
	it->author = col_null(s, 6);
	it->published = sqlite3_column_int64(s, 7);
	it->updated = sqlite3_column_int64(s, 8);
	it->categories = col_null(s, 9);
	it->summary_html = col_null(s, 10);
	it->content_html = col_null(s, 11);
	it->text = col_null(s, 12);
	it->enclosure_url = col_null(s, 13);
	it->enclosure_type = col_null(s, 14);
	it->enclosure_length = sqlite3_column_int64(s, 15);
	it->first_seen = sqlite3_column_int64(s, 16);
}

int
store_item_foreach(struct store *st, int64_t theme_id, int unsent_only,
    int (*cb)(const struct store_item *, const struct store_feed *, void *),
    void *arg, struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_item it;
	struct store_feed f;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, sql[Q_ITEM_ALL], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list items");
	sqlite3_bind_int64(s, 1, theme_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&f, 0, sizeof f);
		item_row(s, &it);
		it.sent = sqlite3_column_int(s, ITEM_NCOLUMNS);
		f.id = it.feed_id;
		f.theme_id = sqlite3_column_int64(s, ITEM_NCOLUMNS + 1);
		f.slug = col_text(s, ITEM_NCOLUMNS + 2);
		f.url = col_text(s, ITEM_NCOLUMNS + 3);
		if (unsent_only && it.sent)
			continue;
		if ((ret = cb(&it, &f, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "list items");
	sqlite3_finalize(s);
	return ret;
}

/* ---- editions and deliveries ---- */

static const char *const dstatus_names[STORE_ND] = {
	"queued", "sending", "sent", "deferred", "failed", "cancelled"
};

const char *
store_dstatus_name(int d)
{
	return d >= 0 && d < STORE_ND ? dstatus_names[d] : "unknown";
}

static int
dstatus_parse(const char *w)
{
	for (int i = 0; i < STORE_ND; i++)
		if (strcmp(w, dstatus_names[i]) == 0)
			return i;
	return -1;
}

int
store_edition_new(struct store *st, int64_t theme_id, const char *subject,
    const char *intro, const char *template_name, int64_t max_items,
    int64_t *id_r, int64_t *nitems_r, struct error *err)
{
	sqlite3_stmt *s;
	int64_t id;

	*nitems_r = 0;
	if (store_begin(st, err) == -1)
		return -1;
	if ((s = stmt(st, Q_EDITION_ADD, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, theme_id);
	bind_text(s, 2, subject);
	bind_text(s, 3, intro ? intro : "");
	bind_text(s, 4, template_name ? template_name : "edition");
	sqlite3_bind_int64(s, 5, util_now());
	if (run(st, s, err, "add edition") == -1)
		goto fail;
	id = sqlite3_last_insert_rowid(st->db);
	if ((s = stmt(st, Q_EDITION_RESERVE, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, theme_id);
	sqlite3_bind_int64(s, 3, max_items > 0 ? max_items : -1);
	if (run(st, s, err, "reserve items") == -1)
		goto fail;
	*nitems_r = sqlite3_changes(st->db);
	if (*nitems_r == 0) {
		store_rollback(st);
		return 0;
	}
	*id_r = id;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return -1;
}

static void
edition_from_row(sqlite3_stmt *s, struct store_edition *e)
{
	e->id = sqlite3_column_int64(s, 0);
	e->theme_id = sqlite3_column_int64(s, 1);
	e->slug = col_dup(s, 2);
	e->theme_name = col_dup(s, 3);
	e->lang = col_dup(s, 4);
	e->subject = col_dup(s, 5);
	e->intro = col_dup(s, 6);
	e->template_name = col_dup(s, 7);
	e->status = col_dup(s, 8);
	e->created = sqlite3_column_int64(s, 9);
	e->queued = sqlite3_column_int64(s, 10);
	e->finished = sqlite3_column_int64(s, 11);
	e->nitems = sqlite3_column_int64(s, 12);
	e->notice = strcmp(col_text(s, 13), "notice") == 0;
	e->send_at = sqlite3_column_int64(s, 14);
}

static void
edition_clear(struct store_edition *e)
{
	free(e->slug);
	free(e->theme_name);
	free(e->lang);
	free(e->subject);
	free(e->intro);
	free(e->template_name);
	free(e->status);
	memset(e, 0, sizeof *e);
}

static int
edition_counts(struct store *st, struct store_edition *e, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_EDITION_COUNTS, err);
	int rc, d;

	if (s == NULL)
		return -1;
	memset(e->counts, 0, sizeof e->counts);
	sqlite3_bind_int64(s, 1, e->id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((d = dstatus_parse(col_text(s, 0))) >= 0)
			e->counts[d] = sqlite3_column_int64(s, 1);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return fail(st, err, rc, "count deliveries");
	return 0;
}

int
store_edition_get(struct store *st, int64_t id, struct store_edition **e_r,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_EDITION_GET, err);
	struct store_edition *e;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? 0 : fail(st, err, rc, "read edition");
	}
	e = xcalloc(1, sizeof *e);
	edition_from_row(s, e);
	sqlite3_reset(s);
	if (edition_counts(st, e, err) == -1) {
		store_edition_free(e);
		return -1;
	}
	*e_r = e;
	return 1;
}

void
store_edition_free(struct store_edition *e)
{
	if (e == NULL)
		return;
	edition_clear(e);
	free(e);
}

int
store_edition_foreach(struct store *st, int64_t theme_id,
    int (*cb)(const struct store_edition *, void *), void *arg,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_edition e;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, sql[Q_EDITION_ALL], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list editions");
	sqlite3_bind_int64(s, 1, theme_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		edition_from_row(s, &e);
		if (edition_counts(st, &e, err) == -1)
			ret = -1;
		else
			ret = cb(&e, arg);
		edition_clear(&e);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "list editions");
	sqlite3_finalize(s);
	return ret;
}

int
store_edition_items(struct store *st, int64_t id,
    int (*cb)(const struct store_item *, void *), void *arg,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_item it;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, sql[Q_EDITION_ITEMS], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "read edition items");
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		item_row(s, &it);
		if ((ret = cb(&it, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "read edition items");
	sqlite3_finalize(s);
	return ret;
}

int
store_edition_rm(struct store *st, int64_t id, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_EDITION_RM, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (run(st, s, err, "remove edition") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		error_set(err, EX_DATAERR, "edition %lld is not a draft (only "
		    "drafts can be removed; cancel a send instead)",
		    (long long)id);
		return -1;
	}
	return 0;
}

int
store_edition_cancel(struct store *st, int64_t id, int64_t *n_r,
    struct error *err)
{
	sqlite3_stmt *s;

	if (store_begin(st, err) == -1)
		return -1;
	if ((s = stmt(st, Q_EDITION_CANCEL, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, util_now());
	if (run(st, s, err, "cancel edition") == -1)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		error_set(err, EX_DATAERR, "edition %lld is not being sent",
		    (long long)id);
		goto fail;
	}
	if ((s = stmt(st, Q_EDITION_CANCEL_ROWS, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, util_now());
	if (run(st, s, err, "cancel deliveries") == -1)
		goto fail;
	*n_r = sqlite3_changes(st->db);
	return store_commit(st, err);
fail:
	store_rollback(st);
	return -1;
}

int
store_edition_queue(struct store *st, int64_t id, int64_t *n_r,
    struct error *err)
{
	struct store_edition *e = NULL;
	sqlite3_stmt *s;
	int r;

	if (store_begin(st, err) == -1)
		return -1;
	if ((r = store_edition_get(st, id, &e, err)) != 1) {
		if (r == 0)
			error_set(err, EX_DATAERR, "no edition %lld",
			    (long long)id);
		goto fail;
	}
	if (strcmp(e->status, "draft") != 0 &&
	    strcmp(e->status, "sending") != 0) {
		error_set(err, EX_DATAERR, "edition %lld is %s", (long long)id,
		    e->status);
		goto fail;
	}
	if ((s = stmt(st, Q_EDITION_QUEUE, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, e->theme_id);
	sqlite3_bind_int64(s, 3, util_now());
	if (run(st, s, err, "queue edition") == -1)
		goto fail;
	*n_r = sqlite3_changes(st->db);
	if ((s = stmt(st, Q_EDITION_SENDING, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, util_now());
	if (run(st, s, err, "queue edition") == -1)
		goto fail;
	store_edition_free(e);
	return store_commit(st, err);
fail:
	store_edition_free(e);
	store_rollback(st);
	return -1;
}

int
store_edition_problems(struct store *st, int64_t id,
    int (*cb)(const struct store_delivery *, void *), void *arg,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_delivery d;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, sql[Q_DELIVERY_FAILED], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list deliveries");
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		d.id = sqlite3_column_int64(s, 0);
		d.email = col_null(s, 1);
		d.status = dstatus_parse(col_text(s, 2));
		d.code = sqlite3_column_int(s, 3);
		d.reply = col_null(s, 4);
		d.attempts = sqlite3_column_int(s, 5);
		d.done_at = sqlite3_column_int64(s, 6);
		if ((ret = cb(&d, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "list deliveries");
	sqlite3_finalize(s);
	return ret;
}

int
store_lease_owners(struct store *st, int (*cb)(const char *, void *),
    void *arg, struct error *err)
{
	sqlite3_stmt *s = NULL;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT DISTINCT lease_owner FROM "
	    "delivery WHERE status = 'sending' AND lease_owner IS NOT NULL",
	    -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list leases");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((ret = cb(col_text(s, 0), arg)) != 0)
			break;
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "list leases");
	sqlite3_finalize(s);
	return ret;
}

int
store_requeue_owner(struct store *st, const char *owner, int64_t *n_r,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "UPDATE delivery SET status = 'queued',"
	    " lease_owner = NULL, lease_until = 0 "
	    "WHERE status = 'sending' AND lease_owner = ?1", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		bind_text(s, 1, owner);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return fail(st, err, rc, "requeue deliveries");
	*n_r = sqlite3_changes(st->db);
	return 0;
}

int
store_window_opens(struct store *st, int64_t since, int64_t offset,
    int64_t *t_r, struct error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*t_r = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT done_at FROM delivery "
	    "WHERE status = 'sent' AND done_at >= ?1 ORDER BY done_at "
	    "LIMIT 1 OFFSET ?2", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, since);
		sqlite3_bind_int64(s, 2, offset);
		if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			*t_r = sqlite3_column_int64(s, 0);
			rc = SQLITE_DONE;
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : fail(st, err, rc, "read send window");
}

int
store_work_left(struct store *st, int64_t edition_id, int64_t *n_r,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*n_r = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM delivery "
	    "WHERE status IN ('queued', 'sending', 'deferred')"
	    " AND (?1 = 0 OR edition_id = ?1)", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, edition_id);
		if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			*n_r = sqlite3_column_int64(s, 0);
			rc = SQLITE_DONE;
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : fail(st, err, rc, "count work");
}

/* How many more the windows allow now (counting rows in flight). */
static int
room(struct store *st, const struct store_limits *lim, int64_t now, int max,
    int *room_r, struct error *err)
{
	const int64_t win[2] = { 3600, 86400 };
	const int64_t cap[2] = { lim ? lim->per_hour : 0, lim ? lim->per_day : 0 };
	int64_t used;

	*room_r = max;
	for (int i = 0; i < 2; i++) {
		if (cap[i] <= 0)
			continue;
		if (store_sent_since(st, now - win[i], &used, err) == -1)
			return -1;
		if (used >= cap[i])
			*room_r = 0;
		else if (cap[i] - used < *room_r)
			*room_r = (int)(cap[i] - used);
	}
	return 0;
}

/* store_claim's claim: its own transaction, or a savepoint in one. */
static int
claim_rows(struct store *st, const char *owner, const char *dead_owner,
    int64_t lease, int max, const struct store_limits *lim,
    int (*cb)(const struct store_claim *, void *), void *arg, int *n_r,
    int *full_r, struct error *err)
{
	sqlite3_stmt *s, *drop = NULL;
	struct store_claim c;
	int64_t now = util_now();
	int rc;

	*n_r = 0;
	*full_r = 0;
	if (store_begin(st, err) == -1)
		return -1;
	if (room(st, lim, now, max, &max, err) == -1)
		goto fail;
	if (max == 0) {
		*full_r = 1;
		return store_commit(st, err);
	}
	if ((s = stmt(st, Q_CLAIM, err)) == NULL)
		goto fail;
	bind_text(s, 1, owner);
	sqlite3_bind_int64(s, 2, now + lease);
	sqlite3_bind_int64(s, 3, now);
	bind_text(s, 4, dead_owner);
	sqlite3_bind_int(s, 5, max);
	if (run(st, s, err, "claim deliveries") == -1)
		goto fail;
	rc = sqlite3_prepare_v2(st->db, sql[Q_CLAIM_DROP], -1, &drop, NULL);
	if (rc != SQLITE_OK) {
		fail(st, err, rc, "claim deliveries");
		goto fail;
	}
	if ((s = stmt(st, Q_CLAIMED, err)) == NULL)
		goto fail;
	bind_text(s, 1, owner);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int active = sqlite3_column_type(s, 7) != SQLITE_NULL &&
		    strcmp(col_text(s, 7), "active") == 0;

		c.id = sqlite3_column_int64(s, 0);
		/* Left, bounced or erased since it was queued: never mailed. */
		if (!active || sqlite3_column_type(s, 5) == SQLITE_NULL) {
			sqlite3_bind_int64(drop, 1, c.id);
			sqlite3_bind_int64(drop, 2, now);
			bind_text(drop, 3, "not sent: no longer subscribed");
			rc = sqlite3_step(drop);
			sqlite3_reset(drop);
			if (rc != SQLITE_DONE)
				break;
			continue;
		}
		c.edition_id = sqlite3_column_int64(s, 1);
		c.subscriber_id = sqlite3_column_int64(s, 2);
		c.attempts = sqlite3_column_int(s, 3);
		c.created = sqlite3_column_int64(s, 4);
		c.email = col_text(s, 5);
		c.name = col_text(s, 6);
		c.theme_id = sqlite3_column_int64(s, 8);
		if (cb(&c, arg) != 0) {
			rc = SQLITE_ABORT;	/* cb filled err */
			break;
		}
		(*n_r)++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		if (rc != SQLITE_ABORT)
			fail(st, err, rc, "claim deliveries");
		goto fail;
	}
	sqlite3_finalize(drop);
	return store_commit(st, err);
fail:
	sqlite3_finalize(drop);
	store_rollback(st);
	*n_r = 0;
	return -1;
}

int
store_event_foreach(struct store *st, int64_t subscriber_id,
    int (*cb)(const struct store_event_row *, void *), void *arg,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_event_row e;
	int rc, ret = 0;

	/* A scan: the log has no index, and this runs for one person. */
	rc = sqlite3_prepare_v2(st->db, "SELECT v.at, v.kind, t.slug, o.name,"
	    " v.detail FROM event v LEFT JOIN theme t ON t.id = v.theme_id"
	    " LEFT JOIN source o ON o.id = v.source_id"
	    " WHERE v.subscriber_id = ?1 ORDER BY v.id", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "read events");
	sqlite3_bind_int64(s, 1, subscriber_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		e.at = sqlite3_column_int64(s, 0);
		e.kind = col_text(s, 1);
		e.slug = col_null(s, 2);
		e.source = col_text(s, 3);
		e.detail = col_null(s, 4);
		if ((ret = cb(&e, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "read events");
	sqlite3_finalize(s);
	return ret;
}

static int
bounce_event(struct store *st, const struct store_outcome *o, int64_t now,
    struct error *err)
{
	sqlite3_stmt *s;
	int64_t src;
	char detail[320];

	if (source_id(st, "smtp", &src, err) == -1)
		return -1;
	if ((s = stmt(st, Q_DELIVERY_BOUNCE, err)) == NULL)
		return -1;
	snprintf(detail, sizeof detail, "hard bounce at delivery: %s",
	    o->reply ? o->reply : "");
	sqlite3_bind_int64(s, 1, o->id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int64(s, 3, src);
	bind_text(s, 4, detail);
	return run(st, s, err, "log bounce");
}

/* store_outcomes' updates, inside the caller's transaction. */
static int
put_outcomes(struct store *st, const struct store_outcome *o, size_t n,
    struct error *err)
{
	sqlite3_stmt *s;
	int64_t now = util_now();

	for (size_t i = 0; i < n; i++) {
		if ((s = stmt(st, Q_OUTCOME, err)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, o[i].id);
		bind_text(s, 2, store_dstatus_name(o[i].status));
		sqlite3_bind_int(s, 3, o[i].code);
		sqlite3_bind_int(s, 4, o[i].policy);
		bind_text(s, 5, o[i].reply);
		sqlite3_bind_int64(s, 6, o[i].next_try);
		sqlite3_bind_int64(s, 7, o[i].status == STORE_DEFERRED ? 0 :
		    now);
		if (run(st, s, err, "record delivery") == -1)
			return -1;
		if (o[i].status == STORE_FAILED && o[i].code >= 500 &&
		    !o[i].policy && bounce_event(st, &o[i], now, err) == -1)
			return -1;
	}
	if ((s = stmt(st, Q_EDITION_FINISH, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	return run(st, s, err, "finish editions");
}

int
store_outcomes(struct store *st, const struct store_outcome *o, size_t n,
    struct error *err)
{
	if (store_begin(st, err) == -1)
		return -1;
	if (put_outcomes(st, o, n, err) == -1 || store_commit(st, err) == -1) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int
store_claim(struct store *st, const struct store_outcome *done, size_t ndone,
    const char *owner, const char *dead_owner, int64_t lease, int max,
    const struct store_limits *lim,
    int (*cb)(const struct store_claim *, void *), void *arg, int *n_r,
    int *full_r, struct error *err)
{
	struct error cerr = { 0 };
	int rc;

	if (ndone == 0)
		return claim_rows(st, owner, dead_owner, lease, max, lim, cb,
		    arg, n_r, full_r, err);
	*n_r = 0;
	*full_r = 0;
	if (store_begin(st, err) == -1)
		return -1;
	if (put_outcomes(st, done, ndone, err) == -1) {
		store_rollback(st);
		return -1;
	}
	/* The claim is a savepoint: when it fails (a broken edition in cb),
	 * only it is rolled back, and the outcomes still commit. */
	rc = claim_rows(st, owner, dead_owner, lease, max, lim, cb, arg, n_r,
	    full_r, err);
	if (store_commit(st, rc == -1 ? &cerr : err) == -1) {
		store_rollback(st);
		*n_r = 0;
		return -1;
	}
	return rc;
}

int
store_sent_since(struct store *st, int64_t t, int64_t *n_r,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_SENT_SINCE, err);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, t);
	rc = sqlite3_step(s);
	*n_r = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : fail(st, err, rc, "count sent");
}

int
store_deferred(struct store *st, int64_t *n_r, int64_t *next_r,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_NEXT_TRY, err);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	*next_r = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	*n_r = rc == SQLITE_ROW ? sqlite3_column_int64(s, 1) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : fail(st, err, rc, "count deferred");
}

int
store_pace_reserve(struct store *st, int n, int64_t interval_us,
    int64_t now_us, int64_t *start_us_r, struct error *err)
{
	sqlite3_stmt *s;
	int64_t next;
	int rc;

	if (store_begin(st, err) == -1)
		return -1;
	if ((s = stmt(st, Q_PACE_GET, err)) == NULL)
		goto fail;
	rc = sqlite3_step(s);
	next = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		fail(st, err, rc, "read pace");
		goto fail;
	}
	*start_us_r = next > now_us ? next : now_us;
	if ((s = stmt(st, Q_PACE_SET, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, *start_us_r + (int64_t)n * interval_us);
	if (run(st, s, err, "reserve send times") == -1)
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return -1;
}

/* ---- suppression ---- */

int
store_suppress_any(struct store *st, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_SUPPRESS_ANY, err);
	int rc, any = 0;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		any = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return fail(st, err, rc, "read suppression list");
	return any;
}

int
store_suppressed(struct store *st, const char *hash, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_SUPPRESSED, err);
	int rc;

	if (s == NULL)
		return -1;
	bind_text(s, 1, hash);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return fail(st, err, rc, "read suppression list");
	return 0;
}

int
store_suppress_add(struct store *st, const char *hash, const char *email,
    const char *reason, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_SUPPRESS_ADD, err);

	if (s == NULL)
		return -1;
	bind_text(s, 1, hash);
	bind_text(s, 2, email);
	bind_text(s, 3, reason);
	sqlite3_bind_int64(s, 4, util_now());
	if (run(st, s, err, "suppress") == -1)
		return -1;
	return sqlite3_changes(st->db) > 0;
}

int
store_suppress_rm(struct store *st, const char *hash, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_SUPPRESS_RM, err);

	if (s == NULL)
		return -1;
	bind_text(s, 1, hash);
	if (run(st, s, err, "unsuppress") == -1)
		return -1;
	return sqlite3_changes(st->db) > 0;
}

int
store_suppress_foreach(struct store *st,
    int (*cb)(const struct store_suppression *, void *), void *arg,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_suppression x;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, sql[Q_SUPPRESS_ALL], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list suppressions");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		x.hash = col_text(s, 0);
		x.email = sqlite3_column_type(s, 1) == SQLITE_NULL ? NULL :
		    col_text(s, 1);
		x.reason = col_text(s, 2);
		x.created = sqlite3_column_int64(s, 3);
		if ((ret = cb(&x, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "list suppressions");
	sqlite3_finalize(s);
	return ret;
}

/* ---- the inbox ---- */

int
store_mailbox_get(struct store *st, const char *name, int64_t *uidvalidity_r,
    int64_t *last_uid_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_MAILBOX_GET, err);
	int rc;

	if (s == NULL)
		return -1;
	bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*uidvalidity_r = sqlite3_column_int64(s, 0);
		*last_uid_r = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(st, err, rc, "read mailbox state");
}

int
store_mailbox_set(struct store *st, const char *name, int64_t uidvalidity,
    int64_t last_uid, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_MAILBOX_SET, err);

	if (s == NULL)
		return -1;
	bind_text(s, 1, name);
	sqlite3_bind_int64(s, 2, uidvalidity);
	sqlite3_bind_int64(s, 3, last_uid);
	return run(st, s, err, "save mailbox state");
}

/* Steps a lookup of (id, filed) and keeps its row when it is the first
 * found or an earlier one (the first record wins). */
static int
inbound_lookup(struct store *st, sqlite3_stmt *s, int *found, int64_t *id_r,
    char **filed_r, struct error *err)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW && (!*found || sqlite3_column_int64(s, 0) <
	    *id_r)) {
		*id_r = sqlite3_column_int64(s, 0);
		free(*filed_r);
		*filed_r = col_dup(s, 1);
		*found = 1;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(st, err, rc, "look up message");
	return 0;
}

int
store_inbound_seen(struct store *st, int64_t uidvalidity, int64_t uid,
    const char *key, int64_t *id_r, char **filed_r, struct error *err)
{
	sqlite3_stmt *s;
	int found = 0;

	*filed_r = NULL;
	if ((s = stmt(st, Q_INBOUND_FIND_UID, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, uidvalidity);
	sqlite3_bind_int64(s, 2, uid);
	if (inbound_lookup(st, s, &found, id_r, filed_r, err) == -1)
		goto fail;
	if (key != NULL) {
		if ((s = stmt(st, Q_INBOUND_FIND_KEY, err)) == NULL)
			goto fail;
		bind_text(s, 1, key);
		if (inbound_lookup(st, s, &found, id_r, filed_r, err) == -1)
			goto fail;
	}
	if (!found)
		return 0;
	if ((s = stmt(st, Q_INBOUND_MOVE, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, uidvalidity);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, util_now());
	sqlite3_bind_int64(s, 4, *id_r);
	if (run(st, s, err, "record message") == -1)
		goto fail;
	return 1;
fail:
	free(*filed_r);
	*filed_r = NULL;
	return -1;
}

int
store_inbound_add(struct store *st, const struct store_inbound *m,
    int64_t *id_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_INBOUND_ADD, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, m->uidvalidity);
	sqlite3_bind_int64(s, 2, m->uid);
	bind_text(s, 3, m->key);
	sqlite3_bind_int64(s, 4, util_now());
	bind_text(s, 5, m->kind);
	bind_text(s, 6, m->action);
	bind_text(s, 7, m->filed);
	sqlite3_bind_int64(s, 8, m->subscriber_id);
	sqlite3_bind_int64(s, 9, m->theme_id);
	bind_text(s, 10, m->sender);
	bind_text(s, 11, m->subject);
	if (run(st, s, err, "record message") == -1)
		return -1;
	if (id_r != NULL)
		*id_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_inbound_update(struct store *st, int64_t id,
    const struct store_inbound *m, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_INBOUND_UPDATE, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	bind_text(s, 2, m->action);
	bind_text(s, 3, m->filed);
	sqlite3_bind_int64(s, 4, m->subscriber_id);
	sqlite3_bind_int64(s, 5, m->theme_id);
	return run(st, s, err, "record message");
}

int
store_inbound_foreach(struct store *st, int64_t n,
    int (*cb)(const struct store_inbound *, void *), void *arg,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_inbound m = { 0 };
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, sql[Q_INBOUND_ALL], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list messages");
	sqlite3_bind_int64(s, 1, n);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		m.id = sqlite3_column_int64(s, 0);
		m.at = sqlite3_column_int64(s, 1);
		m.kind = col_text(s, 2);
		m.action = col_text(s, 3);
		m.filed = col_text(s, 4);
		m.sender = sqlite3_column_text(s, 5) ? col_text(s, 5) : NULL;
		m.subject = sqlite3_column_text(s, 6) ? col_text(s, 6) : NULL;
		m.slug = sqlite3_column_text(s, 7) ? col_text(s, 7) : NULL;
		if ((ret = cb(&m, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "list messages");
	sqlite3_finalize(s);
	return ret;
}

int
store_bounce_add(struct store *st, const struct store_bounce *b,
    int64_t *id_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_BOUNCE_ADD, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, b->inbound_id);
	sqlite3_bind_int64(s, 2, util_now());
	sqlite3_bind_int64(s, 3, b->subscriber_id);
	sqlite3_bind_int64(s, 4, b->theme_id);
	sqlite3_bind_int64(s, 5, b->edition_id);
	bind_text(s, 6, b->address);
	bind_text(s, 7, b->verdict);
	bind_text(s, 8, b->status);
	bind_text(s, 9, b->diagnostic);
	bind_text(s, 10, b->report);
	if (run(st, s, err, "record bounce") == -1)
		return -1;
	if (id_r != NULL)
		*id_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_bounce_count(struct store *st, int64_t subscriber_id,
    const char *verdict, int64_t since, int64_t *n_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_BOUNCE_COUNT, err);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, subscriber_id);
	bind_text(s, 2, verdict);
	sqlite3_bind_int64(s, 3, since);
	rc = sqlite3_step(s);
	*n_r = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW)
		return fail(st, err, rc, "count bounces");
	return 0;
}

static void
bounce_from_row(sqlite3_stmt *s, struct store_bounce *b)
{
	b->id = sqlite3_column_int64(s, 0);
	b->at = sqlite3_column_int64(s, 1);
	b->subscriber_id = sqlite3_column_int64(s, 2);
	b->slug = sqlite3_column_text(s, 3) ? col_text(s, 3) : NULL;
	b->edition_id = sqlite3_column_int64(s, 4);
	b->address = sqlite3_column_text(s, 5) ? col_text(s, 5) : NULL;
	b->verdict = col_text(s, 6);
	b->status = sqlite3_column_text(s, 7) ? col_text(s, 7) : NULL;
	b->diagnostic = sqlite3_column_text(s, 8) ? col_text(s, 8) : NULL;
	b->report = sqlite3_column_text(s, 9) ? col_text(s, 9) : NULL;
	b->sub_status = col_text(s, 10);
}

/* Runs q (bound to one id) and calls cb per bounce row. */
static int
bounce_walk(struct store *st, enum q q, int64_t id,
    int (*cb)(const struct store_bounce *, void *), void *arg, int *found_r,
    struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_bounce b = { 0 };
	int rc, ret = 0;

	*found_r = 0;
	rc = sqlite3_prepare_v2(st->db, sql[q], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list bounces");
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		bounce_from_row(s, &b);
		*found_r = 1;
		if ((ret = cb(&b, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "list bounces");
	sqlite3_finalize(s);
	return ret;
}

int
store_bounce_foreach(struct store *st, int64_t theme_id,
    int (*cb)(const struct store_bounce *, void *), void *arg,
    struct error *err)
{
	int found;

	return bounce_walk(st, Q_BOUNCE_ALL, theme_id, cb, arg, &found, err);
}

int
store_bounce_get(struct store *st, int64_t id,
    int (*cb)(const struct store_bounce *, void *), void *arg,
    struct error *err)
{
	int found;

	if (bounce_walk(st, Q_BOUNCE_GET, id, cb, arg, &found, err) == -1)
		return -1;
	return found;
}

int
store_subscriber_bounced(struct store *st, int64_t subscriber_id,
    const char *source, const char *detail, int64_t *n_r, struct error *err)
{
	sqlite3_stmt *s = NULL;
	int64_t themes[64];
	int rc, n = 0, more = 1;

	*n_r = 0;
	/* Collected first: the updates below change what the query sees.
	 * Rounds of 64 keep it bounded for a subscriber of many themes. */
	while (more) {
		/* Prepared once: the inbox calls this for every bounce. */
		if ((s = stmt(st, Q_BOUNCED, err)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, subscriber_id);
		n = 0;
		while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < 64)
			themes[n++] = sqlite3_column_int64(s, 0);
		more = rc == SQLITE_ROW;
		sqlite3_reset(s);
		if (!more && rc != SQLITE_DONE)
			return fail(st, err, rc, "read subscriptions");
		for (int i = 0; i < n; i++) {
			if (store_subscription_set(st, subscriber_id, themes[i],
			    STORE_BOUNCED, STORE_EV_BOUNCE, source, detail,
			    err) == -1)
				return -1;
			(*n_r)++;
		}
	}
	return 0;
}

int
store_notice_queue(struct store *st, int64_t theme_id, int64_t subscriber_id,
    const char *template_name, const char *subject, int64_t *edition_id_r,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_NOTICE_ADD, err);
	int64_t now = util_now(), id;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, theme_id);
	bind_text(s, 2, subject);
	bind_text(s, 3, template_name);
	sqlite3_bind_int64(s, 4, now);
	if (run(st, s, err, "queue notice") == -1)
		return -1;
	id = sqlite3_last_insert_rowid(st->db);
	if ((s = stmt(st, Q_NOTICE_QUEUE, err)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, subscriber_id);
	sqlite3_bind_int64(s, 3, now);
	if (run(st, s, err, "queue notice") == -1)
		return -1;
	if (edition_id_r != NULL)
		*edition_id_r = id;
	return 0;
}

int
store_subscriber_get(struct store *st, int64_t id, char **email_r,
    char **name_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_SUBSCRIBER_GET, err);
	int rc;

	*email_r = NULL;
	if (name_r != NULL)
		*name_r = NULL;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*email_r = col_dup(s, 0);
		if (name_r != NULL)
			*name_r = col_dup(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(st, err, rc, "read subscriber");
}

/* One theme row by id or (slug not NULL) by slug, without counts. */
static int
theme_row(struct store *st, enum q q, int64_t id, const char *slug,
    struct store_theme **theme_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, q, err);
	int rc;

	if (s == NULL)
		return -1;
	if (slug != NULL)
		bind_text(s, 1, slug);
	else
		sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*theme_r = xcalloc(1, sizeof **theme_r);
		theme_from_row(s, *theme_r);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(st, err, rc, "read theme");
}

int
store_theme_by_id(struct store *st, int64_t id, struct store_theme **theme_r,
    struct error *err)
{
	return theme_row(st, Q_THEME_BY_ID, id, NULL, theme_r, err);
}

int
store_theme_by_slug(struct store *st, const char *slug,
    struct store_theme **theme_r, struct error *err)
{
	return theme_row(st, Q_THEME_GET, 0, slug, theme_r, err);
}

int
store_notices_waiting(struct store *st, int64_t *n_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_NOTICES_WAITING, err);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	*n_r = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : fail(st, err, rc, "count notices");
}

int
store_edition_template(struct store *st, int64_t id, int *notice_r,
    char **template_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_EDITION_TEMPLATE, err);
	int rc;

	*template_r = NULL;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*notice_r = strcmp(col_text(s, 0), "notice") == 0;
		*template_r = col_dup(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : fail(st, err, rc, "read edition");
}

int
store_theme_set_schedule(struct store *st, const char *slug,
    const char *schedule, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_THEME_SCHEDULE, err);

	if (s == NULL)
		return -1;
	bind_text(s, 1, slug);
	bind_text(s, 2, schedule);
	if (run(st, s, err, "set schedule") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		error_set(err, EX_DATAERR, "no theme %s", slug);
		return -1;
	}
	return 0;
}

int
store_theme_digested(struct store *st, int64_t theme_id, int64_t slot,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_THEME_DIGESTED, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, theme_id);
	sqlite3_bind_int64(s, 2, slot);
	return run(st, s, err, "record digest");
}

int
store_edition_send_at(struct store *st, int64_t id, int64_t at,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_EDITION_SEND_AT, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (at == 0)
		sqlite3_bind_null(s, 2);
	else
		sqlite3_bind_int64(s, 2, at);
	if (run(st, s, err, "schedule edition") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		error_set(err, EX_DATAERR, "edition %lld is not a draft",
		    (long long)id);
		return -1;
	}
	return 0;
}

int
store_editions_due(struct store *st, int64_t now, int64_t *ids, int max,
    int *n_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_EDITIONS_DUE, err);
	int rc, n = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ids[n++] = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (n < max && rc != SQLITE_DONE)
		return fail(st, err, rc, "list due editions");
	*n_r = n;
	return 0;
}

int
store_next_send_at(struct store *st, int64_t *t_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_EDITION_NEXT_SEND, err);
	int rc;

	if (s == NULL)
		return -1;
	*t_r = 0;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*t_r = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : fail(st, err, rc, "read scheduled sends");
}

int
store_queue_counts(struct store *st, int64_t now, struct store_queue *q,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_QUEUE_COUNTS, err);
	int64_t *out[] = { &q->queued, &q->sending, &q->deferred,
	    &q->next_retry, &q->failed, &q->sent_hour, &q->sent_day,
	    &q->scheduled, &q->next_send_id, &q->next_send_at };
	int rc;

	if (s == NULL)
		return -1;
	memset(q, 0, sizeof *q);
	sqlite3_bind_int64(s, 1, now - 3600);
	sqlite3_bind_int64(s, 2, now - 86400);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
			*out[i] = sqlite3_column_int64(s, (int)i);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : fail(st, err, rc, "count the queue");
}

int
store_job_start(struct store *st, const char *name, int64_t now,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_JOB_START, err);

	if (s == NULL)
		return -1;
	bind_text(s, 1, name);
	sqlite3_bind_int64(s, 2, now);
	return run(st, s, err, "record job start");
}

int
store_job_end(struct store *st, const char *name, int64_t now,
    const char *error, int64_t next_run, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_JOB_END, err);

	if (s == NULL)
		return -1;
	bind_text(s, 1, name);
	sqlite3_bind_int64(s, 2, now);
	bind_text(s, 3, error);
	sqlite3_bind_int64(s, 4, next_run);
	return run(st, s, err, "record job end");
}

int
store_job_foreach(struct store *st, int (*cb)(const struct store_job *,
    void *), void *arg, struct error *err)
{
	sqlite3_stmt *s = NULL;
	struct store_job j;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, sql[Q_JOB_ALL], -1, &s, NULL);
	if (rc != SQLITE_OK)
		return fail(st, err, rc, "list jobs");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		j.name = col_text(s, 0);
		j.last_start = sqlite3_column_int64(s, 1);
		j.last_end = sqlite3_column_int64(s, 2);
		j.last_error = sqlite3_column_type(s, 3) == SQLITE_NULL ?
		    NULL : col_text(s, 3);
		j.next_run = sqlite3_column_int64(s, 4);
		if ((ret = cb(&j, arg)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = fail(st, err, rc, "list jobs");
	sqlite3_finalize(s);
	return ret;
}

int
store_subscription_info(struct store *st, int64_t subscriber_id,
    int64_t theme_id, int *status_r, int64_t *since_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_SUBSCRIPTION_INFO, err);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, subscriber_id);
	sqlite3_bind_int64(s, 2, theme_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*status_r = store_status_parse(col_text(s, 0));
		*since_r = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(st, err, rc, "read subscription");
}

int
store_confirm_sent(struct store *st, int64_t subscriber_id, int64_t *at_r,
    struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_CONFIRM_SENT_GET, err);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, subscriber_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*at_r = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return fail(st, err, rc, "read subscriber");
}

int
store_confirm_sent_swap(struct store *st, int64_t subscriber_id, int64_t old,
    int64_t at, int *swapped_r, struct error *err)
{
	sqlite3_stmt *s = stmt(st, Q_CONFIRM_SENT_SET, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, subscriber_id);
	sqlite3_bind_int64(s, 2, old);
	sqlite3_bind_int64(s, 3, at);
	if (run(st, s, err, "record confirmation mail") == -1)
		return -1;
	*swapped_r = sqlite3_changes(st->db) > 0;
	return 0;
}

/* Runs one of the expiry statements with the cutoff as ?1. */
static int
expire_step(struct store *st, enum q q, int64_t cutoff, struct error *err)
{
	sqlite3_stmt *s = stmt(st, q, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, cutoff);
	return run(st, s, err, "expire pending subscriptions");
}

int
store_pending_expire(struct store *st, int64_t cutoff, const char *source,
    const char *detail, int64_t *n_r, struct error *err)
{
	sqlite3_stmt *s;
	int64_t src;
	int rc;

	*n_r = 0;
	if (store_begin(st, err) == -1)
		return -1;
	if ((s = stmt(st, Q_EXPIRE_COUNT, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, cutoff);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n_r = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		fail(st, err, rc, "count pending subscriptions");
		goto fail;
	}
	if (*n_r == 0)
		return store_commit(st, err);
	if (source_id(st, source, &src, err) == -1 ||
	    (s = stmt(st, Q_EXPIRE_EVENTS, err)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, cutoff);
	sqlite3_bind_int64(s, 2, util_now());
	sqlite3_bind_int64(s, 3, src);
	bind_text(s, 4, detail);
	if (run(st, s, err, "log expiry") == -1 ||
	    expire_step(st, Q_EXPIRE_UNLINK, cutoff, err) == -1 ||
	    expire_step(st, Q_EXPIRE_SUBSCRIBERS, cutoff, err) == -1 ||
	    expire_step(st, Q_EXPIRE_SUBSCRIPTIONS, cutoff, err) == -1)
		goto fail;
	return store_commit(st, err);
fail:
	store_rollback(st);
	return -1;
}
