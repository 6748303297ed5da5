/*
 * inbox: the actions behind each classification (inbound.h says what a
 * message is; this file decides what it does to subscribers) and the
 * IMAP loop around them (imap.h).
 */
#include "config.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bounce.h"
#include "conf.h"
#include "imap.h"
#include "inbound.h"
#include "inbox.h"
#include "secret.h"
#include "store.h"
#include "subs.h"
#include "token.h"
#include "util.h"

#define SOURCE		"inbox"
#define FETCH_CHUNK	1000	/* UIDs fetched and recorded in one
				   transaction */
#define MOVE_BATCH	3000	/* UIDs the mover waits for (unless the
				   pass is ending): one MOVE per chunk
				   per mailbox cost twice the time */
#define MOVE_MAX	50000	/* UIDs committed and not yet moved, at
				   most (the mover's queue, or a pass
				   without one): memory stays bounded */

struct inbox {
	const struct config	*cfg;
	struct store		*store;
	struct subs		*subs;
	struct token		*tokens;
	const struct inbox_opts	*opts;
	struct inbox_stats	*stats;
	struct buf		 action;	/* what this message did */
	/* Confirmation mails subscribe requests are owed: sent after the
	 * chunk's transaction commits (send_due), never inside it, so
	 * no SMTP session holds the database's write lock. */
	struct subs_request_result *due;
	size_t			 ndue;
	/* Themes looked up in this chunk's transaction (a handful): the
	 * lookups of every message would otherwise repeat them. */
	struct store_theme	**themes;
	size_t			 nthemes;
	int			 in_chunk;	/* inside one_pass's transaction */
	/* A chunk's lines and counts stand only once it has committed. */
	struct buf		 lines;		/* NUL-separated */
	struct inbox_stats	 before;	/* the counts at its start */
};

/* The record of one message being handled. */
struct act {
	const char	*filed;
	int64_t		 subscriber_id;
	int64_t		 theme_id;
};

static void
say(struct inbox *ib, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends to the message's action text ("; " between actions). */
static void
say(struct inbox *ib, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (ib->action.len > 0)
		buf_addstr(&ib->action, "; ");
	buf_addstr(&ib->action, tmp);
}

static void
emit(struct inbox *ib, const char *line)
{
	if (ib->opts == NULL || ib->opts->line == NULL)
		return;
	if (ib->in_chunk)
		buf_add(&ib->lines, line, strlen(line) + 1);
	else
		ib->opts->line(ib->opts->arg, line);
}

/* A chunk begins: its lines wait for the commit. */
static void
chunk_begin(struct inbox *ib)
{
	ib->in_chunk = 1;
	buf_reset(&ib->lines);
	ib->before = *ib->stats;
}

/*
 * A chunk ends: committed, its lines are emitted; rolled back, its lines
 * and counts are forgotten (its messages will be handled again).
 */
static void
chunk_end(struct inbox *ib, int committed)
{
	ib->in_chunk = 0;
	if (!committed)
		*ib->stats = ib->before;
	for (size_t o = 0; committed && o < ib->lines.len;) {
		const char *line = ib->lines.data + o;

		emit(ib, line);
		o += strlen(line) + 1;
	}
	buf_reset(&ib->lines);
}

/* Forgets the cached themes: another transaction may change them. */
static void
themes_clear(struct inbox *ib)
{
	for (size_t i = 0; i < ib->nthemes; i++)
		store_theme_free(ib->themes[i]);
	free(ib->themes);
	ib->themes = NULL;
	ib->nthemes = 0;
}

/*
 * The theme with id (slug NULL) or slug, from the cache or the store,
 * borrowed until themes_clear. 1 found, 0 none, -1 error.
 */
static int
theme_get(struct inbox *ib, int64_t id, const char *slug,
    const struct store_theme **t_r, struct error *err)
{
	struct store_theme *t = NULL;
	int rc;

	*t_r = NULL;
	for (size_t i = 0; i < ib->nthemes; i++)
		if (slug != NULL ? strcmp(ib->themes[i]->slug, slug) == 0 :
		    ib->themes[i]->id == id) {
			*t_r = ib->themes[i];
			return 1;
		}
	rc = slug != NULL ? store_theme_by_slug(ib->store, slug, &t, err) :
	    store_theme_by_id(ib->store, id, &t, err);
	if (rc != 1)
		return rc;
	ib->themes = xrealloc(ib->themes, (ib->nthemes + 1) *
	    sizeof *ib->themes);
	ib->themes[ib->nthemes++] = t;
	*t_r = t;
	return 1;
}

/* The theme's resolver for SLUG+TOKEN addresses. */
static int64_t
theme_by_slug(const char *slug, void *arg)
{
	struct inbox *ib = arg;
	const struct store_theme *t;
	struct error err;

	return theme_get(ib, 0, slug, &t, &err) == 1 ? t->id : 0;
}

struct inbox *
inbox_new(const struct config *cfg, struct store *store,
    const struct secret *secret, const struct inbox_opts *opts,
    struct inbox_stats *stats)
{
	struct inbox *ib = xcalloc(1, sizeof *ib);

	ib->cfg = cfg;
	ib->store = store;
	ib->subs = subs_new(store, (struct secret *)secret);
	subs_set_config(ib->subs, cfg);
	ib->tokens = token_new(secret);
	ib->opts = opts;
	ib->stats = stats;
	buf_init(&ib->action);
	buf_init(&ib->lines);
	return ib;
}

void
inbox_free(struct inbox *ib)
{
	if (ib == NULL)
		return;
	subs_free(ib->subs);
	free(ib->due);
	token_free(ib->tokens);
	buf_free(&ib->action);
	buf_free(&ib->lines);
	themes_clear(ib);
	free(ib);
}

/* Message-ID, or a digest of the text for a message without one. */
static char *
message_key(const struct inbound *m, const char *raw, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (m != NULL && m->message_id != NULL && *m->message_id != '\0')
		return xasprintf("<%s>", m->message_id);
	EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return xasprintf("sha256:%s", hex);
}

/* Notice subjects, in the theme's language. */
static char *
notice_subject(const struct store_theme *t, const char *template_name)
{
	int sv = strcmp(t->lang, "sv") == 0;

	if (strcmp(template_name, "unsubscribed") == 0)
		return sv ? xasprintf("Du har avslutat %s", t->name) :
		    xasprintf("You have unsubscribed from %s", t->name);
	return sv ? xasprintf("Bekräfta att du vill avsluta %s", t->name) :
	    xasprintf("Please confirm: unsubscribe from %s", t->name);
}

static int
queue_notice(struct inbox *ib, int64_t sub, int64_t theme,
    const char *template_name, struct error *err)
{
	const struct store_theme *t;
	char *subject;
	int rc;

	if ((rc = theme_get(ib, theme, NULL, &t, err)) != 1)
		return rc == 0 ? 0 : -1;	/* theme gone: nothing to say */
	subject = notice_subject(t, template_name);
	rc = store_notice_queue(ib->store, theme, sub, template_name, subject,
	    NULL, err);
	free(subject);
	if (rc == 0)
		ib->stats->notices++;
	return rc;
}

/* Ends one subscription when it is still on, with the confirmation. */
static int
unsubscribe_one(struct inbox *ib, int64_t sub, int64_t theme, const char *why,
    struct error *err)
{
	const struct store_theme *t;
	int status, rc;

	if ((rc = store_subscription_get(ib->store, sub, theme, &status,
	    err)) == -1)
		return -1;
	if (theme_get(ib, theme, NULL, &t, err) == -1)
		return -1;
	if (rc == 0 || (status != STORE_ACTIVE && status != STORE_PENDING)) {
		say(ib, "%s: not subscribed, nothing to do",
		    t ? t->slug : "(theme removed)");
		return 0;
	}
	rc = store_subscription_set(ib->store, sub, theme, STORE_UNSUBSCRIBED,
	    STORE_EV_UNSUBSCRIBE, SOURCE, why, err);
	if (rc == 0) {
		say(ib, "unsubscribed from %s", t ? t->slug : "?");
		ib->stats->unsubscribed++;
		if (ib->cfg->inbox_confirm_unsubscribe)
			rc = queue_notice(ib, sub, theme, "unsubscribed", err);
	}
	return rc;
}

struct each_theme {
	struct inbox	*ib;
	int64_t		 themes[256];
	size_t		 n;
};

static int
collect_themes(const struct store_subscriber *s, void *arg)
{
	struct each_theme *e = arg;

	for (size_t i = 0; i < s->nsubs && e->n < 256; i++)
		if (s->subs[i].status == STORE_ACTIVE ||
		    s->subs[i].status == STORE_PENDING)
			e->themes[e->n++] = s->subs[i].theme_id;
	return 1;
}

/* The themes a subscriber follows now (at most 256). */
static int
active_themes(struct inbox *ib, int64_t sub, struct each_theme *e,
    struct error *err)
{
	struct addr a;
	char *email = NULL;
	int rc;

	e->ib = ib;
	e->n = 0;
	if ((rc = store_subscriber_get(ib->store, sub, &email, NULL,
	    err)) != 1)
		return rc == 0 ? 0 : -1;
	rc = addr_parse(email, &a, err) == -1 ? -1 :
	    store_subscriber_foreach(ib->store, a.key, 0, -1, collect_themes,
	    e, err);
	free(email);
	return rc < 0 ? -1 : 0;
}

static int
unsubscribe(struct inbox *ib, int64_t sub, int64_t theme, int all,
    const char *why, struct error *err)
{
	struct each_theme e;

	if (!all)
		return unsubscribe_one(ib, sub, theme, why, err);
	if (active_themes(ib, sub, &e, err) == -1)
		return -1;
	if (e.n == 0)
		say(ib, "no subscriptions left, nothing to do");
	for (size_t i = 0; i < e.n; i++)
		if (unsubscribe_one(ib, sub, e.themes[i], why, err) == -1)
			return -1;
	return 0;
}

/*
 * Strict mode's test: whether the message's From is the address the
 * token or the answered Message-ID belongs to. 1 same, 0 not (or no
 * such subscriber any more), -1 error.
 */
static int
from_matches(struct inbox *ib, const struct inbound *m, int64_t sub,
    struct error *err)
{
	struct addr a, b;
	struct error ignore;
	char *email = NULL;
	int rc;

	if ((rc = store_subscriber_get(ib->store, sub, &email, NULL,
	    err)) != 1)
		return rc;
	rc = m->from != NULL && addr_parse(email, &a, &ignore) == 0 &&
	    addr_parse(m->from, &b, &ignore) == 0 &&
	    strcmp(a.key, b.key) == 0;
	free(email);
	return rc;
}

/* Strict mode, From not the subscriber's: ask the subscribed address. */
static int
ask_confirmation(struct inbox *ib, int64_t sub, int64_t theme, int all,
    struct error *err)
{
	struct each_theme e;

	if (!all) {
		e.n = 1;
		e.themes[0] = theme;
	} else if (active_themes(ib, sub, &e, err) == -1)
		return -1;
	for (size_t i = 0; i < e.n; i++) {
		int status, rc;

		rc = store_subscription_get(ib->store, sub, e.themes[i],
		    &status, err);
		if (rc == -1)
			return -1;
		if (rc == 0 || (status != STORE_ACTIVE &&
		    status != STORE_PENDING))
			continue;
		if (queue_notice(ib, sub, e.themes[i], "confirm-unsubscribe",
		    err) == -1)
			return -1;
		ib->stats->confirm_asked++;
	}
	say(ib, "From is not the subscribed address: nobody unsubscribed, "
	    "confirmation requested from the subscriber");
	return 0;
}

/* Whether an edition is a request to confirm an unsubscribe. */
static int
is_confirm_request(struct inbox *ib, int64_t edition_id, struct error *err)
{
	char *template_name = NULL;
	int rc, notice = 0;

	if (edition_id == 0)
		return 0;
	if ((rc = store_edition_template(ib->store, edition_id, &notice,
	    &template_name, err)) != 1)
		return rc;
	rc = notice && strcmp(template_name, "confirm-unsubscribe") == 0;
	free(template_name);
	return rc;
}

static int
act_command(struct inbox *ib, const struct inbound *m, struct act *a,
    struct error *err)
{
	int64_t sub = m->ids.subscriber, theme = m->ids.theme;
	int rc;

	a->subscriber_id = sub;
	a->theme_id = theme;
	a->filed = "processed";
	if (ib->cfg->inbox_strict) {
		if ((rc = from_matches(ib, m, sub, err)) == -1)
			return -1;
		if (rc == 0)
			return ask_confirmation(ib, sub, theme, m->all_themes,
			    err);
	}
	return unsubscribe(ib, sub, theme, m->all_themes,
	    m->all_themes ? "reply: unsubscribe all" : "reply: unsubscribe",
	    err);
}

/*
 * A reply that is not a command: a confirmation when it answers our
 * request from the subscribed address, else a person's words.
 */
/* The valid token of an In-Reply-To/References naming our Message-ID. */
static const struct inbound_token *
answered(const struct inbound *m)
{
	for (size_t i = 0; i < m->ntokens; i++)
		if (m->tokens[i].valid && m->tokens[i].purpose == TOKEN_MSGID &&
		    m->tokens[i].where == INBOUND_MSGID_REF)
			return &m->tokens[i];
	return NULL;
}

/*
 * A reply that is not a command: a confirmation when it answers our
 * request from the subscribed address, else a person's words.
 */
static int
act_reply(struct inbox *ib, const struct inbound *m, struct act *a,
    struct error *err)
{
	const struct inbound_token *t = answered(m);
	int rc = 0;

	a->filed = "human";
	if (t == NULL)
		goto human;
	a->subscriber_id = t->ids.subscriber;
	a->theme_id = t->ids.theme;
	if ((rc = is_confirm_request(ib, t->ids.edition, err)) != 1)
		goto human;
	if ((rc = from_matches(ib, m, t->ids.subscriber, err)) != 1)
		goto human;
	a->filed = "processed";
	return unsubscribe_one(ib, t->ids.subscriber, t->ids.theme,
	    "confirmed by reply", err);
human:
	if (rc == -1)
		return -1;
	say(ib, "left for a person");
	ib->stats->human++;
	return 0;
}

/* The subscriber a failed recipient is: the VERP token's, else by address. */
static int
bounce_subscriber(struct inbox *ib, const struct inbound *m,
    const struct bounce_rcpt *r, int64_t *sub_r, struct error *err)
{
	struct addr a;
	struct error ignore;
	char *email = NULL;
	int rc;

	*sub_r = 0;
	if (m->ids.subscriber != 0) {
		struct addr b;

		/* The VERP address is the recipient's own return path, so
		 * it names a sole recipient even behind a forward; a token
		 * of the returned message's header only when the report
		 * names no address or that subscriber's. */
		if (r->address == NULL || (m->where == INBOUND_VERP &&
		    m->bounce->nrcpts == 1)) {
			*sub_r = m->ids.subscriber;
			return 0;
		}
		if ((rc = store_subscriber_get(ib->store, m->ids.subscriber,
		    &email, NULL, err)) == -1)
			return -1;
		if (rc == 1 && addr_parse(email, &a, &ignore) == 0 &&
		    addr_parse(r->address, &b, &ignore) == 0 &&
		    strcmp(a.key, b.key) == 0)
			*sub_r = m->ids.subscriber;
		free(email);
		if (*sub_r != 0)
			return 0;
	}
	if (r->address == NULL || addr_parse(r->address, &a, &ignore) == -1)
		return 0;
	rc = store_subscriber_find(ib->store, a.key, sub_r, NULL, err);
	return rc == -1 ? -1 : 0;
}

static const char *
verdict_word(enum bounce_verdict v)
{
	switch (v) {
	case BOUNCE_HARD:	return "hard";
	case BOUNCE_SOFT:	return "soft";
	default:		return "policy";
	}
}

/* Counts the subscriber's bounces against [bounces] limits. */
static int
apply_limits(struct inbox *ib, int64_t sub, enum bounce_verdict v,
    const char *address, struct error *err)
{
	int64_t n, stopped, since = 0;
	long long limit;
	char detail[300];

	if (v == BOUNCE_POLICY)
		return 0;	/* a policy or spam refusal is not the address */
	limit = v == BOUNCE_HARD ? ib->cfg->bounces_hard_limit :
	    ib->cfg->bounces_soft_limit;
	if (v == BOUNCE_SOFT)
		since = util_now() - ib->cfg->bounces_soft_window_days * 86400;
	if (store_bounce_count(ib->store, sub, verdict_word(v), since, &n,
	    err) == -1)
		return -1;
	if (n < limit)
		return 0;
	snprintf(detail, sizeof detail, "%lld %s bounce%s%s", (long long)n,
	    verdict_word(v), n == 1 ? "" : "s",
	    v == BOUNCE_SOFT ? " within the window" : "");
	if (store_subscriber_bounced(ib->store, sub, SOURCE, detail, &stopped,
	    err) == -1)
		return -1;
	if (stopped > 0) {
		say(ib, "%s marked bounced in %lld theme%s", address ? address :
		    "subscriber", (long long)stopped, stopped == 1 ? "" : "s");
		ib->stats->bounced++;
	}
	return 0;
}

static int
act_bounce(struct inbox *ib, const struct inbound *m, int64_t inbound_id,
    struct act *a, struct error *err)
{
	const struct bounce_report *br = m->bounce;

	a->filed = "bounces";
	for (size_t i = 0; br != NULL && i < br->nrcpts; i++) {
		const struct bounce_rcpt *r = &br->rcpts[i];
		struct store_bounce b = { 0 };
		int64_t sub;

		if (bounce_subscriber(ib, m, r, &sub, err) == -1)
			return -1;
		b.inbound_id = inbound_id;
		b.subscriber_id = sub;
		b.theme_id = sub == m->ids.subscriber ? m->ids.theme : 0;
		b.edition_id = sub == m->ids.subscriber ? m->ids.edition : 0;
		b.address = r->address;
		b.verdict = verdict_word(r->verdict);
		b.status = r->status[0] ? r->status : NULL;
		b.diagnostic = r->diagnostic;
		b.report = br->report_text;
		if (store_bounce_add(ib->store, &b, NULL, err) == -1)
			return -1;
		ib->stats->bounces++;
		if (sub == 0) {
			say(ib, "%s bounce for %s, an address we never mailed: "
			    "logged", b.verdict, r->address ? r->address : "?");
			continue;
		}
		if (a->subscriber_id == 0) {
			a->subscriber_id = sub;
			a->theme_id = b.theme_id;
		}
		say(ib, "%s bounce (%s) for %s", b.verdict,
		    b.status ? b.status : "no status",
		    r->address ? r->address : "subscriber");
		if (store_event_add(ib->store, STORE_EV_BOUNCE, sub, b.theme_id,
		    SOURCE, b.status ? b.status : b.verdict, err) == -1 ||
		    apply_limits(ib, sub, r->verdict, r->address, err) == -1)
			return -1;
	}
	if (br == NULL || br->nrcpts == 0)
		say(ib, "a bounce naming no recipient: logged");
	return 0;
}

/* An abuse report: out of every theme, and the address suppressed. */
static int
act_complaint(struct inbox *ib, const struct inbound *m, struct act *a,
    struct error *err)
{
	char *email = NULL;
	int rc, added;

	int64_t sub = m->ids.subscriber;

	a->filed = "processed";
	ib->stats->complaints++;
	/* No token survived the reporter's redaction: the address named. */
	if (sub == 0 && m->complaint != NULL &&
	    m->complaint->address != NULL) {
		struct addr ad;
		struct error ignore;

		if (addr_parse(m->complaint->address, &ad, &ignore) == 0 &&
		    store_subscriber_find(ib->store, ad.key, &sub, NULL,
		    err) == -1)
			return -1;
	}
	a->subscriber_id = sub;
	if (sub == 0) {
		say(ib, "complaint about no message of ours: logged");
		a->filed = "human";
		return 0;
	}
	if ((rc = store_subscriber_get(ib->store, sub, &email,
	    NULL, err)) != 1) {
		if (rc == 0)
			say(ib, "complaint about a subscriber since erased");
		return rc == 0 ? 0 : -1;
	}
	if (unsubscribe(ib, sub, 0, 1, "complaint", err) == -1 ||
	    subs_suppress_add(ib->subs, email, "complaint", SOURCE, &added,
	    err) == -1) {
		free(email);
		return -1;
	}
	say(ib, "%s suppressed", email);
	free(email);
	return 0;
}

/* confirm+TOKEN@: the token's subscription becomes active. */
static int
act_confirm(struct inbox *ib, const struct inbound *m, struct act *a,
    struct error *err)
{
	struct subs_confirm_result r;

	a->filed = "processed";
	a->subscriber_id = m->ids.subscriber;
	a->theme_id = m->ids.theme;
	if (subs_confirm(ib->subs, m->confirm_token,
	    ib->cfg->subscribe_pending_days, "mail", util_now(), &r,
	    err) == -1)
		return -1;
	switch (r.outcome) {
	case SUBS_CONFIRMED:
		ib->stats->confirmed++;
		say(ib, "subscription confirmed by reply");
		break;
	case SUBS_CONFIRMED_BEFORE:
		say(ib, "confirmed before: nothing to do");
		break;
	default:
		say(ib, "confirmation expired or no longer pending: nothing "
		    "done");
		break;
	}
	return 0;
}

/* SLUG+subscribe@: double opt-in for the From address. */
static int
act_subscribe(struct inbox *ib, const struct inbound *m, struct act *a,
    struct error *err)
{
	struct subs_request_result res, *r = &res;
	struct store_theme *t = NULL;
	struct error bad;
	int rc;

	a->filed = "processed";
	a->theme_id = m->ids.theme;
	if ((rc = store_theme_by_id(ib->store, m->ids.theme, &t, err)) != 1) {
		if (rc == 0)
			say(ib, "theme gone: nothing done");
		return rc == 0 ? 0 : -1;
	}
	/* A bad From is the sender's problem, not the pass's. */
	rc = subs_request(ib->subs, m->from, NULL, t->slug, "mail", util_now(),
	    SUBS_DEFER_MAIL | SUBS_BY_MAIL, r, &bad);
	store_theme_free(t);
	if (rc == -1) {
		if (bad.code != EX_DATAERR) {
			*err = bad;
			return -1;
		}
		say(ib, "subscription request refused: %s", bad.msg);
		a->filed = "human";
		ib->stats->human++;
		return 0;
	}
	a->subscriber_id = r->subscriber_id;
	ib->stats->requests++;
	switch (r->outcome) {
	case SUBS_REQ_MAIL_DUE:
		ib->due = xrealloc(ib->due, (ib->ndue + 1) * sizeof *ib->due);
		ib->due[ib->ndue++] = res;
		say(ib, "subscription requested: pending, confirmation mail");
		break;
	case SUBS_REQ_THROTTLED:
		say(ib, "subscription requested: pending; a confirmation "
		    "went out less than a day ago");
		break;
	case SUBS_REQ_ACTIVE:
		say(ib, "subscription requested: already active");
		break;
	default:
		say(ib, "subscription requested: address suppressed, nothing "
		    "done");
		break;
	}
	return 0;
}

/*
 * Sends the confirmations the committed requests are owed. A failure is
 * reported and leaves the request pending with its allowance given back
 * (subs_request_mail), so asking again works.
 */
static void
send_due(struct inbox *ib)
{
	struct error err;
	char *line;

	for (size_t i = 0; i < ib->ndue; i++) {
		if (subs_request_mail(ib->subs, &ib->due[i], &err) == 0) {
			ib->stats->notices++;
			continue;
		}
		line = xasprintf("confirmation mail not sent: %s", err.msg);
		emit(ib, line);
		free(line);
	}
	ib->ndue = 0;
}

/* Does what m asks for; fills a. In the caller's transaction. */
static int
act(struct inbox *ib, const struct inbound *m, int64_t inbound_id,
    struct act *a, struct error *err)
{
	switch (m->kind) {
	case INBOUND_UNSUBSCRIBE:
		a->filed = "processed";
		a->subscriber_id = m->ids.subscriber;
		a->theme_id = m->ids.theme;
		return unsubscribe(ib, m->ids.subscriber, m->ids.theme,
		    m->all_themes, "mail to the unsubscribe address", err);
	case INBOUND_COMMAND:
		return act_command(ib, m, a, err);
	case INBOUND_BOUNCE:
		return act_bounce(ib, m, inbound_id, a, err);
	case INBOUND_DELAYED:
		a->filed = "bounces";
		say(ib, "delivery delayed, not a bounce: nothing to do");
		return 0;
	case INBOUND_COMPLAINT:
		return act_complaint(ib, m, a, err);
	case INBOUND_AUTOREPLY:
		a->filed = "processed";
		ib->stats->autoreplies++;
		say(ib, "auto-reply: nothing to do");
		return 0;
	case INBOUND_CONFIRM:
		return act_confirm(ib, m, a, err);
	case INBOUND_SUBSCRIBE:
		return act_subscribe(ib, m, a, err);
	case INBOUND_FORGED:
		a->filed = "human";
		ib->stats->human++;
		say(ib, "bad token (%s): nothing done",
		    m->reason ? m->reason : "forged or damaged");
		return 0;
	case INBOUND_HUMAN:
	default:
		return act_reply(ib, m, a, err);
	}
}

/* "UID 17 bounce from x@y: ... -> human" */
static void
report(struct inbox *ib, int64_t uid, const char *kind, const char *from,
    const char *filed)
{
	char *line = xasprintf("%lld %s%s%s: %.*s -> %s", (long long)uid,
	    kind, from ? " from " : "", from ? from : "",
	    (int)ib->action.len, ib->action.data ? ib->action.data : "",
	    filed);

	emit(ib, line);
	free(line);
}

/* Handled before (a crash before the move, a UIDVALIDITY change). */
static int
seen_before(struct inbox *ib, int64_t uidvalidity, int64_t uid,
    const char *key, const char **filed_r, struct error *err)
{
	static const char *const words[] = { "processed", "bounces", "human" };
	char *filed = NULL;
	int64_t id;
	int rc;

	if ((rc = store_inbound_seen(ib->store, uidvalidity, uid, key, &id,
	    &filed, err)) != 1)
		return rc;
	*filed_r = "human";
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (filed != NULL && strcmp(filed, words[i]) == 0)
			*filed_r = words[i];
	free(filed);
	ib->stats->again++;
	buf_reset(&ib->action);
	say(ib, "handled before (#%lld): only filed now", (long long)id);
	report(ib, uid, "again", NULL, *filed_r);
	return 1;
}

/*
 * Outside one_pass's chunk a message is its own transaction; inside, the
 * chunk's transaction holds it (a failure rolls the whole chunk back).
 */
static int
tx_begin(struct inbox *ib, struct error *err)
{
	return ib->in_chunk ? 0 : store_begin(ib->store, err);
}

static int
tx_commit(struct inbox *ib, struct error *err)
{
	return ib->in_chunk ? 0 : store_commit(ib->store, err);
}

static void
tx_rollback(struct inbox *ib)
{
	if (!ib->in_chunk)
		store_rollback(ib->store);
}

int
inbox_message(struct inbox *ib, int64_t uidvalidity, int64_t uid,
    const char *raw, size_t len, const char **filed_r, struct error *err)
{
	struct inbound_ctx ctx = { ib->tokens, ib->cfg->list_domain,
	    theme_by_slug, ib, (size_t)ib->cfg->inbox_max_size };
	struct inbound *m = NULL;
	struct store_inbound rec = { 0 };
	struct act a = { "human", 0, 0 };
	char *key = NULL;
	size_t ndue = ib->ndue;
	int64_t id;
	int rc;

	ib->stats->messages++;
	if (!ib->in_chunk)
		themes_clear(ib);	/* each message a transaction */
	if (inbound_classify(&ctx, raw, len, &m, err) == -1)
		return -1;
	key = message_key(m, raw, len);
	if (tx_begin(ib, err) == -1)
		goto fail;
	if ((rc = seen_before(ib, uidvalidity, uid, key, filed_r, err)) != 0) {
		if (rc == -1 || tx_commit(ib, err) == -1)
			goto fail_tx;
		goto done;
	}
	buf_reset(&ib->action);
	rec.uidvalidity = uidvalidity;
	rec.uid = uid;
	rec.key = key;
	rec.kind = inbound_kind_name(m->kind);
	rec.action = "";
	rec.filed = "human";
	rec.sender = m->from;
	rec.subject = m->subject;
	/* The row first, so bounce rows can point at it; then the action
	 * text and the mailbox the action chose. */
	if (store_inbound_add(ib->store, &rec, &id, err) == -1 ||
	    act(ib, m, id, &a, err) == -1)
		goto fail_tx;
	buf_addc(&ib->action, '\0');
	ib->action.len--;
	rec.action = ib->action.data ? ib->action.data : "";
	rec.filed = a.filed;
	rec.subscriber_id = a.subscriber_id;
	rec.theme_id = a.theme_id;
	if (store_inbound_update(ib->store, id, &rec, err) == -1)
		goto fail_tx;
	util_failpoint("inbox-before-commit");
	if (tx_commit(ib, err) == -1)
		goto fail_tx;
	*filed_r = a.filed;
	report(ib, uid, rec.kind, m->from, a.filed);
	if (!ib->in_chunk)
		send_due(ib);	/* committed on its own */
done:
	free(key);
	inbound_free(m);
	return 0;
fail_tx:
	tx_rollback(ib);
fail:
	ib->ndue = ndue;	/* nothing of this message happened */
	free(key);
	inbound_free(m);
	return -1;
}

int
inbox_oversize(struct inbox *ib, int64_t uidvalidity, int64_t uid,
    size_t size, const char **filed_r, struct error *err)
{
	struct store_inbound rec = { 0 };
	char key[64], action[128];
	int rc;

	ib->stats->messages++;
	/* No Message-ID without reading it: the UID is the key. */
	snprintf(key, sizeof key, "oversize:%lld:%lld", (long long)uidvalidity,
	    (long long)uid);
	if (tx_begin(ib, err) == -1)
		return -1;
	if ((rc = seen_before(ib, uidvalidity, uid, key, filed_r, err)) != 0)
		goto out;
	snprintf(action, sizeof action, "%zu bytes, over [inbox] max_size: "
	    "not read", size);
	rec.uidvalidity = uidvalidity;
	rec.uid = uid;
	rec.key = key;
	rec.kind = "oversize";
	rec.action = action;
	rec.filed = "human";
	rc = store_inbound_add(ib->store, &rec, NULL, err);
	*filed_r = "human";
	ib->stats->human++;
	buf_reset(&ib->action);
	say(ib, "%s", action);
	if (rc == 0)
		report(ib, uid, "oversize", NULL, "human");
out:
	if (rc == -1) {
		tx_rollback(ib);
		return -1;
	}
	return tx_commit(ib, err);
}

char *
inbox_summary(const struct inbox_stats *s)
{
	return xasprintf("%lld message%s: %lld unsubscribed, %lld "
	    "subscription request%s, %lld subscription%s confirmed, %lld "
	    "confirmation%s requested, %lld bounce%s (%lld subscriber%s "
	    "stopped), %lld complaint%s, %lld auto-repl%s, %lld for a person, "
	    "%lld handled before; %lld mail%s queued",
	    (long long)s->messages, s->messages == 1 ? "" : "s",
	    (long long)s->unsubscribed,
	    (long long)s->requests, s->requests == 1 ? "" : "s",
	    (long long)s->confirmed, s->confirmed == 1 ? "" : "s",
	    (long long)s->confirm_asked, s->confirm_asked == 1 ? "" : "s",
	    (long long)s->bounces, s->bounces == 1 ? "" : "s",
	    (long long)s->bounced, s->bounced == 1 ? "" : "s",
	    (long long)s->complaints, s->complaints == 1 ? "" : "s",
	    (long long)s->autoreplies, s->autoreplies == 1 ? "y" : "ies",
	    (long long)s->human, (long long)s->again,
	    (long long)s->notices, s->notices == 1 ? "" : "s");
}

/* ---- the IMAP side ---- */

static int
stopped(const struct inbox_opts *o)
{
	return o != NULL && o->stop != NULL && *o->stop;
}


/* UIDs by the mailbox they go to: processed, bounces, human. */
struct uidsets {
	uint32_t	*uids[3];
	size_t		 n[3], cap[3];
};

static int
target_index(const char *filed)
{
	if (strcmp(filed, "processed") == 0)
		return 0;
	if (strcmp(filed, "bounces") == 0)
		return 1;
	return 2;
}

static void
uidsets_add(struct uidsets *u, int t, uint32_t uid)
{
	if (u->n[t] == u->cap[t]) {
		u->cap[t] = u->cap[t] ? 2 * u->cap[t] : 1024;
		u->uids[t] = xrealloc(u->uids[t], u->cap[t] *
		    sizeof(uint32_t));
	}
	u->uids[t][u->n[t]++] = uid;
}

static size_t
uidsets_count(const struct uidsets *u)
{
	return u->n[0] + u->n[1] + u->n[2];
}

/* Moves every UID of src to the end of dst; src is left empty. */
static void
uidsets_append(struct uidsets *dst, struct uidsets *src)
{
	for (int t = 0; t < 3; t++) {
		for (size_t i = 0; i < src->n[t]; i++)
			uidsets_add(dst, t, src->uids[t][i]);
		src->n[t] = 0;
	}
}

static void
uidsets_free(struct uidsets *u)
{
	for (int t = 0; t < 3; t++)
		free(u->uids[t]);
	memset(u, 0, sizeof *u);
}

struct pass {
	struct inbox	*ib;
	int64_t		 uidvalidity;
	struct uidsets	 chunk;		/* filed in the open transaction */
	struct uidsets	 pending;	/* committed, to move (no mover) */
};

static int
fetched(uint32_t uid, const char *msg, size_t len, void *arg,
    struct error *err)
{
	struct pass *p = arg;
	const char *filed;

	if (inbox_message(p->ib, p->uidvalidity, uid, msg, len, &filed,
	    err) == -1)
		return -1;
	uidsets_add(&p->chunk, target_index(filed), uid);
	return 0;
}

static char *
read_password(const struct config *cfg, struct error *err)
{
	char line[1024];
	FILE *fp;

	if (cfg->imap_password_file == NULL)
		return xstrdup("");
	if ((fp = fopen(cfg->imap_password_file, "r")) == NULL) {
		error_set(err, EX_CONFIG, "[imap] password_file %s: %s",
		    cfg->imap_password_file, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof line, fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	return xstrdup(line);
}

/* The server names of the mailbox read and the three filed to. */
struct targets {
	char	*source;
	char	*name[3];
};

static void
targets_free(struct targets *t)
{
	free(t->source);
	for (int i = 0; i < 3; i++)
		free(t->name[i]);
}

static int
open_targets(const struct config *cfg, struct tb_imap *im, struct targets *t,
    struct error *err)
{
	const char *logical[3] = { cfg->imap_processed, cfg->imap_bounces,
	    cfg->imap_human };

	if (tb_imap_mailbox(im, cfg->imap_mailbox, 0, &t->source, err) == -1)
		return -1;
	for (int i = 0; i < 3; i++)
		if (tb_imap_mailbox(im, logical[i], 1, &t->name[i], err) == -1)
			return -1;
	return 0;
}

/*
 * Moves committed UIDs to the three mailboxes, one UID MOVE (or a few,
 * for long sets) per mailbox, and empties u.
 */
static int
uidsets_move(struct uidsets *u, struct tb_imap *im, const struct targets *t,
    struct error *err)
{
	for (int i = 0; i < 3; i++) {
		if (u->n[i] == 0)
			continue;
		util_failpoint("inbox-before-move");
		if (tb_imap_move(im, u->uids[i], u->n[i], t->name[i], err) == -1)
			return -1;
		u->n[i] = 0;
	}
	return 0;
}

/*
 * The mover: a thread with its own connection that files what each
 * chunk committed while the next chunk is fetched and handled, since a
 * MOVE costs the server about as much as fetching the messages did. It
 * waits for MOVE_BATCH UIDs (or the end of the pass) and takes all that
 * is queued at once, so its MOVEs are few and large. Only committed UIDs
 * ever reach it.
 */
struct mover {
	pthread_t		 th;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct tb_imap		*im;
	const struct targets	*t;
	struct uidsets		 todo;		/* under mu */
	int			 busy, quit, failed, flush;
	struct error		 err;		/* when failed */
};

static void *
mover_main(void *arg)
{
	struct mover *m = arg;
	struct uidsets work = { { NULL }, { 0 }, { 0 } };
	struct error err = { 0 };

	pthread_mutex_lock(&m->mu);
	for (;;) {
		while (!m->quit && !m->failed && !(m->flush &&
		    uidsets_count(&m->todo) > 0) && uidsets_count(&m->todo) <
		    MOVE_BATCH)
			pthread_cond_wait(&m->cv, &m->mu);
		if (m->failed || uidsets_count(&m->todo) == 0)
			break;
		uidsets_append(&work, &m->todo);
		m->busy = 1;
		pthread_mutex_unlock(&m->mu);
		int rc = uidsets_move(&work, m->im, m->t, &err);
		pthread_mutex_lock(&m->mu);
		m->busy = 0;
		if (rc == -1) {
			m->failed = 1;
			m->err = err;
		}
		pthread_cond_broadcast(&m->cv);
	}
	pthread_mutex_unlock(&m->mu);
	uidsets_free(&work);
	return NULL;
}

/*
 * Opens the mover's connection and selects the source. NULL when it
 * cannot (a server limiting connections per user, say): the caller then
 * moves on its own connection.
 */
static struct mover *
mover_start(const struct tb_imap_config *ic, const struct targets *t)
{
	struct mover *m = xcalloc(1, sizeof *m);
	struct tb_imap_status st;
	struct error err = { 0 };

	if (tb_imap_open(ic, &m->im, &err) == -1)
		goto fail;
	if (tb_imap_select(m->im, t->source, &st, &err) == -1)
		goto fail;
	m->t = t;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	if (pthread_create(&m->th, NULL, mover_main, m) != 0) {
		pthread_cond_destroy(&m->cv);
		pthread_mutex_destroy(&m->mu);
		goto fail;
	}
	return m;
fail:
	tb_imap_close(m->im);
	free(m);
	return NULL;
}

/* The mover's failure, or 0. Called with mu held. */
static int
mover_failed(struct mover *m, struct error *err)
{
	if (!m->failed)
		return 0;
	*err = m->err;
	return -1;
}

/* Queues committed UIDs (u is emptied); waits while MOVE_MAX wait. */
static int
mover_give(struct mover *m, struct uidsets *u, struct error *err)
{
	int rc;

	pthread_mutex_lock(&m->mu);
	while (!m->failed && uidsets_count(&m->todo) >= MOVE_MAX)
		pthread_cond_wait(&m->cv, &m->mu);
	if ((rc = mover_failed(m, err)) == 0) {
		uidsets_append(&m->todo, u);
		pthread_cond_broadcast(&m->cv);
	}
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* Waits until everything given has been moved. */
static int
mover_drain(struct mover *m, struct error *err)
{
	int rc;

	pthread_mutex_lock(&m->mu);
	m->flush = 1;
	pthread_cond_broadcast(&m->cv);
	while (!m->failed && (m->busy || uidsets_count(&m->todo) > 0))
		pthread_cond_wait(&m->cv, &m->mu);
	rc = mover_failed(m, err);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* Ends the thread (after what is queued) and closes its connection. */
static void
mover_stop(struct mover *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	m->quit = 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	pthread_join(m->th, NULL);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
	uidsets_free(&m->todo);
	tb_imap_close(m->im);
	free(m);
}

/*
 * One chunk of v, in one transaction: messages recorded before (by UID:
 * a crash or a dropped connection after a commit and before the move)
 * are only filed, without reading them again; oversized ones are filed
 * unread; the rest are fetched and handled. Nothing of it is moved
 * before the commit.
 */
static int
one_chunk(struct inbox *ib, struct tb_imap *im, struct pass *p,
    const struct tb_imap_entry *v, size_t n, struct error *err)
{
	uint32_t batch[FETCH_CHUNK];
	size_t nb = 0;

	if (store_begin(ib->store, err) == -1)
		return -1;
	chunk_begin(ib);
	themes_clear(ib);
	for (size_t j = 0; j < n && j < FETCH_CHUNK; j++) {
		const char *filed;
		int rc;

		if ((rc = seen_before(ib, p->uidvalidity, v[j].uid, NULL,
		    &filed, err)) == -1)
			goto fail;
		if (rc == 0 && v[j].size > (uint64_t)ib->cfg->inbox_max_size) {
			if (inbox_oversize(ib, p->uidvalidity, v[j].uid,
			    (size_t)v[j].size, &filed, err) == -1)
				goto fail;
			rc = 1;
		}
		if (rc == 1)
			uidsets_add(&p->chunk, target_index(filed), v[j].uid);
		else
			batch[nb++] = v[j].uid;
	}
	if (nb > 0 && tb_imap_fetch(im, batch, nb, fetched, p, err) == -1)
		goto fail;
	util_failpoint("inbox-chunk-commit");
	if (store_commit(ib->store, err) == -1)
		goto fail;
	chunk_end(ib, 1);
	send_due(ib);
	return 0;
fail:
	/* What this chunk recorded goes with it: its messages are still in
	 * the mailbox and will be handled again. */
	store_rollback(ib->store);
	ib->ndue = 0;
	chunk_end(ib, 0);
	for (int t = 0; t < 3; t++)
		p->chunk.n[t] = 0;
	return -1;
}

/*
 * What a chunk committed goes to the mover, or (without one) waits for
 * the end of the pass, or MOVE_MAX UIDs, to be moved here.
 */
static int
file_chunk(struct tb_imap *im, struct mover *mv, struct pass *p,
    const struct targets *t, int now, struct error *err)
{
	if (mv != NULL)
		return mover_give(mv, &p->chunk, err);
	uidsets_append(&p->pending, &p->chunk);
	if (!now && uidsets_count(&p->pending) < MOVE_MAX)
		return 0;
	return uidsets_move(&p->pending, im, t, err);
}

/*
 * One pass: everything in the mailbox now, in chunks; with more than one
 * chunk, a mover files each chunk while the next is handled (a second
 * connection per pass, not per session: an idle one would be logged out
 * by the server while watching).
 */
static int
one_pass(struct inbox *ib, struct tb_imap *im, const struct tb_imap_config *ic,
    const struct targets *t, struct error *err)
{
	struct mover *mv = NULL;
	const struct config *cfg = ib->cfg;
	struct tb_imap_status st;
	struct tb_imap_entry *v = NULL;
	struct pass p;
	int64_t stored_validity = 0, last_uid = 0;
	size_t n = 0, i = 0;
	uint32_t from;
	int rc = -1;

	memset(&p, 0, sizeof p);
	p.ib = ib;
	if (tb_imap_select(im, t->source, &st, err) == -1)
		return -1;
	if (store_mailbox_get(ib->store, cfg->imap_mailbox, &stored_validity,
	    &last_uid, err) == -1)
		return -1;
	/* A new UIDVALIDITY: every UID may mean another message now, so
	 * look at all of them again (the keys keep it idempotent). */
	from = stored_validity == (int64_t)st.uidvalidity ?
	    (uint32_t)last_uid + 1 : 1;
	if (tb_imap_list(im, from, &v, &n, err) == -1)
		return -1;
	p.uidvalidity = st.uidvalidity;
	if (n > FETCH_CHUNK)
		mv = mover_start(ic, t);
	while (i < n && !stopped(ib->opts)) {
		size_t c = n - i < FETCH_CHUNK ? n - i : FETCH_CHUNK;

		if (one_chunk(ib, im, &p, v + i, c, err) == -1 ||
		    file_chunk(im, mv, &p, t, 0, err) == -1)
			goto out;
		i += c;
	}
	/* Everything handled is filed before the progress is saved. */
	if (file_chunk(im, mv, &p, t, 1, err) == -1 ||
	    (mv != NULL && mover_drain(mv, err) == -1))
		goto out;
	if (i > 0 && store_mailbox_set(ib->store, cfg->imap_mailbox,
	    st.uidvalidity, v[i - 1].uid, err) == -1)
		goto out;
	if (n == 0 && stored_validity != (int64_t)st.uidvalidity &&
	    store_mailbox_set(ib->store, cfg->imap_mailbox, st.uidvalidity,
	    0, err) == -1)
		goto out;
	rc = 0;
out:
	mover_stop(mv);
	uidsets_free(&p.chunk);
	uidsets_free(&p.pending);
	free(v);
	return rc;
}

static void
imap_config_from(const struct config *cfg, const char *password,
    struct tb_imap_config *ic)
{
	memset(ic, 0, sizeof *ic);
	ic->host = cfg->imap_host;
	ic->tls = strcmp(cfg->imap_tls, "tls") == 0 ? TB_IMAP_TLS :
	    strcmp(cfg->imap_tls, "starttls") == 0 ? TB_IMAP_STARTTLS :
	    TB_IMAP_NONE;
	ic->port = cfg->imap_port != 0 ? (int)cfg->imap_port :
	    ic->tls == TB_IMAP_TLS ? 993 : 143;
	ic->ca_file = cfg->imap_ca_file;
	ic->user = cfg->imap_user;
	ic->password = password;
	ic->timeout = (int)cfg->imap_timeout;
}

/* Sleeps up to secs, waking early when a stop is asked. */
static void
nap(const struct inbox_opts *o, int secs)
{
	for (int i = 0; i < secs * 10 && !stopped(o); i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
}

/* Connected: passes, and IDLE between them when watching. */
static int
session(struct inbox *ib, struct tb_imap *im, const struct tb_imap_config *ic,
    const struct inbox_opts *o, struct error *err)
{
	struct targets t = { NULL, { NULL } };
	int rc = -1, maybe_new;

	if (open_targets(ib->cfg, im, &t, err) == -1)
		goto out;
	for (;;) {
		if (one_pass(ib, im, ic, &t, err) == -1)
			goto out;
		if (o->after_pass != NULL)
			o->after_pass(o->arg, ib->stats);
		if (!o->watch || stopped(o))
			break;
		do {
			if (tb_imap_idle(im, (int)ib->cfg->imap_idle, &maybe_new,
			    err) == -1)
				goto out;
		} while (!maybe_new && !stopped(o));
		if (stopped(o))
			break;
	}
	rc = 0;
out:
	targets_free(&t);
	return rc;
}

int
inbox_run(const struct config *cfg, struct store *store,
    const struct secret *secret, const struct inbox_opts *opts,
    struct inbox_stats *stats, struct error *err)
{
	static const struct inbox_opts none = { 0 };
	struct tb_imap_config ic;
	struct inbox *ib = NULL;
	struct tb_imap *im = NULL;
	char *password = NULL;
	unsigned attempt = 0, wait;
	int rc = -1;

	if (opts == NULL)
		opts = &none;
	memset(stats, 0, sizeof *stats);
	if (cfg->imap_host == NULL) {
		error_set(err, EX_CONFIG, "no [imap] host in the configuration");
		return -1;
	}
	if (cfg->list_domain == NULL) {
		error_set(err, EX_CONFIG, "no [general] list_domain in the "
		    "configuration: the inbox recognises its addresses by it");
		return -1;
	}
	if ((password = read_password(cfg, err)) == NULL)
		return -1;
	imap_config_from(cfg, password, &ic);
	if (tb_imap_check_config(&ic, err) == -1) {
		free(password);
		return -1;
	}
	ib = inbox_new(cfg, store, secret, opts, stats);
	for (;;) {
		if (tb_imap_open(&ic, &im, err) == 0) {
			attempt = 0;
			if (opts != NULL && opts->wake_fd > 0)
				tb_imap_set_wake(im, opts->wake_fd);
			rc = session(ib, im, &ic, opts, err);
			tb_imap_close(im);
			im = NULL;
			if (rc == 0)
				break;
		}
		/* Configuration and login errors need a person; a dropped
		 * or refused connection is retried when watching. */
		if (!opts->watch || stopped(opts) || (err->code != EX_TEMPFAIL &&
		    err->code != EX_UNAVAILABLE && err->code != EX_PROTOCOL)) {
			rc = -1;
			break;
		}
		wait = tb_imap_backoff(attempt++);
		if (opts->line != NULL) {
			char *line = xasprintf("%s; reconnecting in %u s",
			    err->msg, wait);

			opts->line(opts->arg, line);
			free(line);
		}
		nap(opts, (int)wait);
		if (stopped(opts)) {
			rc = 0;
			break;
		}
	}
	inbox_free(ib);
	free(password);
	return rc;
}
