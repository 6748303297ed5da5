/*
 * subs: subscriber rules on top of the store. Addresses are validated and
 * normalised by addr; the suppression list is keyed by an HMAC of the
 * address (secret purpose "suppression"), so an erased address can still
 * be recognised without being stored.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "addr.h"
#include "compose.h"
#include "conf.h"
#include "csvio.h"
#include "secret.h"
#include "sender.h"
#include "smtp.h"
#include "store.h"
#include "subs.h"
#include "token.h"
#include "util.h"

#define HASH_HEX (2 * SECRET_MAC_LEN + 1)
#define IMPORT_BATCH 20000

struct subs {
	struct store		*store;
	struct secret		*secret;
	struct secret_mac	*mac;	/* created on first use */
	struct token		*tokens;	/* created on first use */
	const struct config	*cfg;	/* for confirmation mail, or NULL */
};

struct subs *
subs_new(struct store *store, struct secret *secret)
{
	struct subs *s = xcalloc(1, sizeof *s);

	s->store = store;
	s->secret = secret;
	return s;
}

void
subs_free(struct subs *s)
{
	if (s == NULL)
		return;
	secret_mac_free(s->mac);
	token_free(s->tokens);
	free(s);
}

void
subs_set_config(struct subs *s, const struct config *cfg)
{
	s->cfg = cfg;
}

static struct token *
tokens(struct subs *s)
{
	if (s->tokens == NULL)
		s->tokens = token_new(s->secret);
	return s->tokens;
}

static void
addr_hash(struct subs *s, const struct addr *a, char out[HASH_HEX])
{
	if (s->mac == NULL)
		s->mac = secret_mac_new(s->secret, SECRET_PURPOSE_SUPPRESSION);
	secret_mac_hex(s->mac, a->key, out);
}

static void
report(subs_report_fn *fn, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
report(subs_report_fn *fn, void *arg, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fn(arg, line);
}

/* Resolves slugs to theme ids; EX_DATAERR naming the first unknown one. */
static int
resolve_themes(struct subs *s, char *const *slugs, size_t n, int64_t *ids,
    struct error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct store_theme *t = NULL;
		int r = store_theme_get(s->store, slugs[i], &t, err);

		if (r == -1)
			return -1;
		if (r == 0) {
			error_set(err, EX_DATAERR, "no theme %s", slugs[i]);
			return -1;
		}
		ids[i] = t->id;
		store_theme_free(t);
	}
	return 0;
}

int
subs_add(struct subs *s, const char *email, const char *name,
    char *const *slugs, size_t nslugs, int force, const char *source,
    subs_report_fn *fn, void *arg, struct error *err)
{
	int64_t *ids = xcalloc(nslugs, sizeof *ids), id;
	char hash[HASH_HEX], *oldname = NULL;
	struct addr a;
	int r, suppressed, status, ret = -1;

	if (addr_parse(email, &a, err) == -1)
		goto done;
	if (name != NULL && *name != '\0' && addr_check_name(name, err) == -1)
		goto done;
	if (nslugs == 0) {
		error_set(err, EX_USAGE, "no theme given");
		goto done;
	}
	if (resolve_themes(s, slugs, nslugs, ids, err) == -1)
		goto done;
	addr_hash(s, &a, hash);
	if ((suppressed = store_suppressed(s->store, hash, err)) == -1)
		goto done;
	if (suppressed && !force) {
		error_set(err, EX_DATAERR, "%s is on the suppression list "
		    "(use --force if the person asked to be added again)",
		    a.email);
		goto done;
	}
	if (store_begin(s->store, err) == -1)
		goto done;
	if ((r = store_subscriber_find(s->store, a.key, &id, &oldname,
	    err)) == -1)
		goto fail;
	if (r == 0) {
		if (store_subscriber_add(s->store, a.email, a.key, name, &id,
		    err) != 1)
			goto fail;
	} else if (name != NULL && *name != '\0' && strcmp(name, oldname) != 0) {
		if (store_subscriber_set_name(s->store, id, name, err) == -1)
			goto fail;
		report(fn, arg, "%s: name updated", a.email);
	}
	for (size_t i = 0; i < nslugs; i++) {
		const char *detail = suppressed ? "suppressed address added "
		    "with --force" : "";

		if ((r = store_subscription_get(s->store, id, ids[i], &status,
		    err)) == -1)
			goto fail;
		if (r == 1 && status == STORE_ACTIVE) {
			report(fn, arg, "%s: already active in %s", a.email,
			    slugs[i]);
			continue;
		}
		if (store_subscription_set(s->store, id, ids[i], STORE_ACTIVE,
		    r == 1 && status == STORE_PENDING ? STORE_EV_CONFIRM :
		    STORE_EV_SUBSCRIBE, source, detail, err) == -1)
			goto fail;
		if (r == 1)
			report(fn, arg, "%s: re-activated in %s (was %s)",
			    a.email, slugs[i], store_status_name(status));
		else
			report(fn, arg, "%s: subscribed to %s", a.email,
			    slugs[i]);
	}
	if (store_commit(s->store, err) == -1)
		goto fail;
	ret = 0;
	goto done;
fail:
	store_rollback(s->store);
done:
	free(oldname);
	free(ids);
	return ret;
}

/* Unsubscribes every matching active or pending subscription of one. */
struct rm_state {
	struct subs	*subs;
	const char	*source;
	int64_t		 theme_id;	/* 0: all */
	int		 changed;
	int		 matched;
	subs_report_fn	*fn;
	void		*arg;
	struct error	*err;
};

static int
rm_cb(const struct store_subscriber *sub, void *arg)
{
	struct rm_state *st = arg;

	for (size_t i = 0; i < sub->nsubs; i++) {
		const struct store_subscription *x = &sub->subs[i];

		if (st->theme_id != 0 && x->theme_id != st->theme_id)
			continue;
		st->matched++;
		if (x->status != STORE_ACTIVE && x->status != STORE_PENDING) {
			report(st->fn, st->arg, "%s: already %s in %s",
			    sub->email, store_status_name(x->status), x->slug);
			continue;
		}
		if (store_subscription_set(st->subs->store, sub->id,
		    x->theme_id, STORE_UNSUBSCRIBED, STORE_EV_UNSUBSCRIBE,
		    st->source, NULL, st->err) == -1)
			return -1;
		report(st->fn, st->arg, "%s: unsubscribed from %s", sub->email,
		    x->slug);
		st->changed++;
	}
	return 1;	/* found: stop */
}

int
subs_remove(struct subs *s, const char *email, const char *slug,
    const char *source, subs_report_fn *fn, void *arg, struct error *err)
{
	struct rm_state st = { s, source, 0, 0, 0, fn, arg, err };
	struct addr a;
	int64_t id;
	int r;

	if (addr_parse(email, &a, err) == -1)
		return -1;
	if (slug != NULL &&
	    resolve_themes(s, (char *const *)&slug, 1, &st.theme_id, err) == -1)
		return -1;
	if ((r = store_subscriber_find(s->store, a.key, &id, NULL, err)) == -1)
		return -1;
	if (r == 0) {
		error_set(err, EX_DATAERR, "no subscriber %s", a.email);
		return -1;
	}
	if (store_begin(s->store, err) == -1)
		return -1;
	if (store_subscriber_foreach(s->store, a.key, 0, -1, rm_cb, &st,
	    err) == -1)
		goto fail;
	if (slug != NULL && st.matched == 0) {
		error_set(err, EX_DATAERR, "%s does not follow %s", a.email,
		    slug);
		goto fail;
	}
	return store_commit(s->store, err);
fail:
	store_rollback(s->store);
	return -1;
}

int
subs_forget(struct subs *s, const char *email, const char *source,
    int *found_r, struct error *err)
{
	char hash[HASH_HEX];
	struct addr a;
	int64_t id = 0;
	int r;

	if (addr_parse(email, &a, err) == -1)
		return -1;
	addr_hash(s, &a, hash);
	if ((r = store_subscriber_find(s->store, a.key, &id, NULL, err)) == -1)
		return -1;
	*found_r = r;
	return store_subscriber_forget(s->store, id, a.email, a.key, hash,
	    source, err);
}

/* Marks every active or pending subscription unsubscribed (suppressed). */
static int
suppress_cb(const struct store_subscriber *sub, void *arg)
{
	struct rm_state *st = arg;

	for (size_t i = 0; i < sub->nsubs; i++) {
		const struct store_subscription *x = &sub->subs[i];

		if (x->status != STORE_ACTIVE && x->status != STORE_PENDING)
			continue;
		if (store_subscription_set(st->subs->store, sub->id,
		    x->theme_id, STORE_UNSUBSCRIBED, STORE_EV_UNSUBSCRIBE,
		    st->source, "address suppressed", st->err) == -1)
			return -1;
	}
	return 1;
}

int
subs_suppress_add(struct subs *s, const char *email, const char *reason,
    const char *source, int *added_r, struct error *err)
{
	struct rm_state st = { s, source, 0, 0, 0, NULL, NULL, err };
	char hash[HASH_HEX];
	struct addr a;
	int r;

	if (addr_parse(email, &a, err) == -1)
		return -1;
	addr_hash(s, &a, hash);
	if (store_begin(s->store, err) == -1)
		return -1;
	if ((r = store_suppress_add(s->store, hash, a.email, reason,
	    err)) == -1)
		goto fail;
	*added_r = r;
	if (store_subscriber_foreach(s->store, a.key, 0, -1, suppress_cb, &st,
	    err) == -1)
		goto fail;
	if (r == 1 && store_event_add(s->store, STORE_EV_SUPPRESS, 0, 0, source,
	    reason, err) == -1)
		goto fail;
	return store_commit(s->store, err);
fail:
	store_rollback(s->store);
	return -1;
}

int
subs_suppress_rm(struct subs *s, const char *email, int *removed_r,
    struct error *err)
{
	char hash[HASH_HEX];
	struct addr a;
	int r;

	if (addr_parse(email, &a, err) == -1)
		return -1;
	addr_hash(s, &a, hash);
	if ((r = store_suppress_rm(s->store, hash, err)) == -1)
		return -1;
	*removed_r = r;
	if (r == 1 && store_event_add(s->store, STORE_EV_UNSUPPRESS, 0, 0,
	    "cli", "", err) == -1)
		return -1;
	return 0;
}

/* ---- import ---- */

struct theme_ref {
	char	*slug;
	int64_t	 id;
};

#define IMPORT_RING 512		/* rows between the reader and the writer */
#define IMPORT_MAX_THEMES 64	/* per row */

/* One parsed and validated row. */
struct prow {
	long	 line;
	char	 why[1024];		/* non-empty: refused, and why */
	struct addr a;
	char	 name[ADDR_NAME_MAX + 1];
	int64_t	 ids[IMPORT_MAX_THEMES];
	size_t	 nids;
	int	 status;
};

struct pipeline {
	pthread_mutex_t	 mu;
	pthread_cond_t	 nonempty, nonfull;
	size_t		 head, tail;	/* consumer and producer positions */
	int		 eof, failed, stop;
	struct error	 err;		/* the reader's, when failed */
	struct prow	 ring[IMPORT_RING];
};

struct import {
	struct pipeline		 pipe;
	struct subs		*subs;
	struct csvio_reader	*csv;
	char			*source;
	struct theme_ref	*themes;	/* every theme: a handful */
	size_t			 nthemes;
	int64_t			*extra;		/* --theme ids */
	size_t			 nextra;
	int			 col_email, col_name, col_themes, col_status;
	int			 themes_last;	/* themes is the last column */
	int			 any_suppressed; /* else skip the hashing */
	long			 saved_line;	/* rows before it are committed */
	subs_report_fn		*fn;
	void			*arg;
	struct subs_import_stats *stats;
};

static int
collect_theme(const struct store_theme *t, void *arg)
{
	struct import *im = arg;

	im->themes = xrealloc(im->themes, (im->nthemes + 1) *
	    sizeof *im->themes);
	im->themes[im->nthemes].slug = xstrdup(t->slug);
	im->themes[im->nthemes].id = t->id;
	im->nthemes++;
	return 0;
}

static int64_t
theme_id(const struct import *im, const char *slug)
{
	for (size_t i = 0; i < im->nthemes; i++)
		if (strcmp(im->themes[i].slug, slug) == 0)
			return im->themes[i].id;
	return 0;
}

static const char *
field(const struct csvio_row *row, int col)
{
	if (col < 0 || (size_t)col >= row->nfields)
		return "";
	return row->fields[col];
}

static int
has_nul(const struct csvio_row *row, int col)
{
	if (col < 0 || (size_t)col >= row->nfields)
		return 0;
	return strlen(row->fields[col]) != row->lens[col];
}

static int
map_header(struct import *im, const struct csvio_row *row, struct error *err)
{
	im->col_email = im->col_name = im->col_themes = im->col_status = -1;
	for (size_t i = 0; i < row->nfields; i++) {
		char *h = util_trim(row->fields[i]);

		if (strcasecmp(h, "email") == 0 || strcasecmp(h, "e-mail") == 0)
			im->col_email = (int)i;
		else if (strcasecmp(h, "name") == 0)
			im->col_name = (int)i;
		else if (strcasecmp(h, "themes") == 0 ||
		    strcasecmp(h, "theme") == 0)
			im->col_themes = (int)i;
		else if (strcasecmp(h, "status") == 0)
			im->col_status = (int)i;
	}
	im->themes_last = im->col_themes >= 0 &&
	    (size_t)im->col_themes == row->nfields - 1;
	if (im->col_email == -1) {
		error_set(err, EX_DATAERR, "%s:%ld: no email column in the "
		    "header row", csvio_path(im->csv), row->line);
		return -1;
	}
	return 0;
}

static int
add_id(int64_t *ids, size_t *n, int64_t id, char *why, size_t whylen)
{
	for (size_t i = 0; i < *n; i++)
		if (ids[i] == id)
			return 0;	/* named twice: once is enough */
	if (*n == IMPORT_MAX_THEMES) {
		snprintf(why, whylen, "more than %d themes", IMPORT_MAX_THEMES);
		return -1;
	}
	ids[(*n)++] = id;
	return 0;
}

static int
add_theme(const struct import *im, const char *slug, int64_t *ids, size_t *n,
    char *why, size_t whylen)
{
	int64_t id;

	if (*slug == '\0')
		return 0;
	if ((id = theme_id(im, slug)) == 0) {
		snprintf(why, whylen, "unknown theme %.60s", slug);
		return -1;
	}
	return add_id(ids, n, id, why, whylen);
}

/* A row's theme ids: its own (split on ';' or ','), then --theme's. */
static int
row_themes(const struct import *im, const struct csvio_row *row,
    int64_t *ids, size_t *n_r, char *why, size_t whylen)
{
	char *list = xstrdup(field(row, im->col_themes)), *save = NULL, *tok;
	size_t n = 0;
	int ret = -1;

	for (tok = strtok_r(list, ";,", &save); tok != NULL;
	    tok = strtok_r(NULL, ";,", &save))
		if (add_theme(im, util_trim(tok), ids, &n, why, whylen) == -1)
			goto done;
	/* "a@b,Name,t1,t2": themes is the last header column and the row
	 * carries more fields; take them as more themes, as a user means. */
	for (size_t f = (size_t)im->col_themes + 1; im->themes_last &&
	    f < row->nfields; f++)
		if (add_theme(im, util_trim(row->fields[f]), ids, &n, why,
		    whylen) == -1)
			goto done;
	for (size_t i = 0; i < im->nextra; i++)
		if (add_id(ids, &n, im->extra[i], why, whylen) == -1)
			goto done;
	if (n == 0) {
		snprintf(why, whylen, "no theme");
		goto done;
	}
	*n_r = n;
	ret = 0;
done:
	free(list);
	return ret;
}

enum row_outcome { ROW_ADDED, ROW_UPDATED, ROW_SKIPPED };

/* The event an imported status logs; was_pending: pending to active. */
static int
event_for(int status, int was_pending)
{
	if (status == STORE_UNSUBSCRIBED)
		return STORE_EV_UNSUBSCRIBE;
	if (status == STORE_BOUNCED)
		return STORE_EV_BOUNCE;
	return was_pending ? STORE_EV_CONFIRM : STORE_EV_SUBSCRIBE;
}

/* Applies one valid row inside the caller's transaction. */
static int
import_apply(struct import *im, const struct prow *p, enum row_outcome *out,
    struct error *err)
{
	struct store *st = im->subs->store;
	char *oldname = NULL;
	int64_t id;
	int r, old, isnew, changed = 0, ret = -1;

	/* Most imported rows are new: insert first, look up on conflict. */
	if ((isnew = store_subscriber_add(st, p->a.email, p->a.key, p->name,
	    &id, err)) == -1)
		goto done;
	if (!isnew && store_subscriber_find(st, p->a.key, &id, &oldname,
	    err) != 1)
		goto done;
	if (!isnew && p->name[0] != '\0' && strcmp(p->name, oldname) != 0) {
		if (store_subscriber_set_name(st, id, p->name, err) == -1)
			goto done;
		changed = 1;
	}
	for (size_t i = 0; i < p->nids; i++) {
		r = 0;
		if (!isnew && (r = store_subscription_get(st, id, p->ids[i],
		    &old, err)) == -1)
			goto done;
		if (r == 1 && !(old == STORE_PENDING &&
		    p->status == STORE_ACTIVE))
			continue;	/* never re-activates, never doubles */
		if (store_subscription_set(st, id, p->ids[i], p->status,
		    event_for(p->status, r == 1), im->source, NULL, err) == -1)
			goto done;
		changed = 1;
	}
	*out = isnew ? ROW_ADDED : changed ? ROW_UPDATED : ROW_SKIPPED;
	ret = 0;
done:
	free(oldname);
	return ret;
}

/* Marks p refused with a reason (formatted apart: it may quote p); -1. */
static int
refuse(struct prow *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
refuse(struct prow *p, const char *fmt, ...)
{
	char why[sizeof p->why];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	memcpy(p->why, why, sizeof why);
	return -1;
}

/*
 * Validates one row completely (in the reader thread), so bad input never
 * stops an import half-way through a row. Fills p; returns -1 with p->why
 * set when the row is refused.
 */
static int
validate_row(const struct import *im, const struct csvio_row *row,
    struct prow *p)
{
	struct error rowerr = { 0 };
	const char *name;
	char *word;
	size_t n;

	p->line = row->line;
	p->why[0] = '\0';
	p->status = STORE_ACTIVE;
	p->nids = 0;
	if (row->error != NULL)
		return refuse(p, "%s", row->error);
	if (has_nul(row, im->col_email))
		return refuse(p, "address contains a NUL byte");
	if (addr_parse(field(row, im->col_email), &p->a, &rowerr) == -1)
		return refuse(p, "%s", rowerr.msg);
	name = field(row, im->col_name);
	if (has_nul(row, im->col_name))
		return refuse(p, "%s: name contains a NUL byte", p->a.email);
	if ((n = strlen(name)) >= sizeof p->name)
		return refuse(p, "%s: name longer than %d octets", p->a.email,
		    ADDR_NAME_MAX);
	memcpy(p->name, name, n + 1);
	util_trim(p->name);
	if (addr_check_name(p->name, &rowerr) == -1)
		return refuse(p, "%s: %s", p->a.email, rowerr.msg);
	if (im->col_status >= 0) {
		word = util_trim(xstrdup(field(row, im->col_status)));
		if (*word != '\0' && (p->status = store_status_parse(word)) < 0)
			refuse(p, "unknown status %.40s", word);
		free(word);
		if (p->status < 0)
			return -1;
	}
	return row_themes(im, row, p->ids, &p->nids, p->why, sizeof p->why);
}

/*
 * Applies one validated row in the main thread. Returns -1 only for a
 * database error (disk full, I/O); the caller then rolls back the batch.
 */
static int
import_row(struct import *im, const struct prow *p, struct error *err)
{
	const char *path = csvio_path(im->csv);
	char hash[HASH_HEX];
	enum row_outcome out;
	int r = 0;

	if (p->why[0] != '\0') {
		report(im->fn, im->arg, "%s:%ld: %s", path, p->line, p->why);
		im->stats->refused++;
		return 0;
	}
	if (im->any_suppressed) {
		addr_hash(im->subs, &p->a, hash);
		if ((r = store_suppressed(im->subs->store, hash, err)) == -1)
			return -1;
	}
	if (r == 1) {
		report(im->fn, im->arg, "%s:%ld: %s is on the suppression "
		    "list: skipped", path, p->line, p->a.email);
		im->stats->skipped++;
		return 0;
	}
	if (import_apply(im, p, &out, err) == -1)
		return -1;
	if (out == ROW_ADDED)
		im->stats->added++;
	else if (out == ROW_UPDATED)
		im->stats->updated++;
	else
		im->stats->skipped++;
	return 0;
}

/*
 * The reader thread: parses and validates rows into the ring while the
 * main thread writes the previous ones to sqlite, so an import uses both
 * cores and is bound by the database alone. Slots between head and tail
 * belong to the consumer, the others to the producer; only the indexes
 * are shared, under the mutex.
 */
static void *
reader_main(void *arg)
{
	struct import *im = arg;
	struct pipeline *pl = &im->pipe;
	const struct csvio_row *row;
	struct error err = { 0 };
	int r;

	for (;;) {
		pthread_mutex_lock(&pl->mu);
		while (pl->tail - pl->head == IMPORT_RING && !pl->stop)
			pthread_cond_wait(&pl->nonfull, &pl->mu);
		int stop = pl->stop;
		pthread_mutex_unlock(&pl->mu);
		if (stop)
			break;
		if ((r = csvio_next(im->csv, &row, &err)) != 1) {
			pthread_mutex_lock(&pl->mu);
			pl->eof = 1;
			if (r == -1) {
				pl->failed = 1;
				pl->err = err;
			}
			pthread_cond_signal(&pl->nonempty);
			pthread_mutex_unlock(&pl->mu);
			break;
		}
		validate_row(im, row, &pl->ring[pl->tail % IMPORT_RING]);
		pthread_mutex_lock(&pl->mu);
		if (pl->tail++ == pl->head)
			pthread_cond_signal(&pl->nonempty);
		pthread_mutex_unlock(&pl->mu);
	}
	return NULL;
}

/* Writes rows as the reader hands them over, in batches. */
static int
import_rows(struct import *im, struct error *err)
{
	struct pipeline *pl = &im->pipe;
	struct subs *s = im->subs;
	uint64_t rows = 0;
	int in_tx = 0, ret = -1;

	for (;;) {
		size_t head, tail;
		int eof;

		pthread_mutex_lock(&pl->mu);
		while (pl->head == pl->tail && !pl->eof)
			pthread_cond_wait(&pl->nonempty, &pl->mu);
		head = pl->head;
		tail = pl->tail;
		eof = pl->eof;
		pthread_mutex_unlock(&pl->mu);
		if (head == tail && eof)
			break;
		for (; head != tail; head++) {
			const struct prow *p = &pl->ring[head % IMPORT_RING];

			if (!in_tx) {
				if (store_begin(s->store, err) == -1)
					goto done;
				in_tx = 1;
				im->saved_line = p->line;
			}
			if (import_row(im, p, err) == -1)
				goto done;
			/* Batches keep the write lock short for the daemon. */
			if (++rows % IMPORT_BATCH == 0) {
				in_tx = 0;
				if (store_commit(s->store, err) == -1)
					goto done;
			}
		}
		pthread_mutex_lock(&pl->mu);
		pl->head = head;
		pthread_cond_signal(&pl->nonfull);
		pthread_mutex_unlock(&pl->mu);
	}
	if (pl->failed) {
		*err = pl->err;
		goto done;
	}
	if (in_tx) {
		in_tx = 0;
		if (store_commit(s->store, err) == -1)
			goto done;
	}
	ret = 0;
done:
	/* A database error drops only the open batch: say what was kept,
	 * since importing the file again is safe and finishes the job. */
	if (in_tx) {
		struct error first = *err;

		store_rollback(s->store);
		error_set(err, first.code, "%s (rows before line %ld are saved; "
		    "import the file again to finish)", first.msg,
		    im->saved_line);
	}
	return ret;
}

int
subs_import(struct subs *s, const char *path, char *const *extra,
    size_t nextra, subs_report_fn *fn, void *arg,
    struct subs_import_stats *stats, struct error *err)
{
	struct import *im = xcalloc(1, sizeof *im);
	const struct csvio_row *row;
	const char *base = strrchr(path, '/');
	struct pipeline *pl = &im->pipe;
	int r, started = 0, ret = -1;
	pthread_t reader;

	memset(stats, 0, sizeof *stats);
	im->subs = s;
	im->fn = fn;
	im->arg = arg;
	im->stats = stats;
	im->source = xasprintf("import:%s", base ? base + 1 : path);
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->nonempty, NULL);
	pthread_cond_init(&pl->nonfull, NULL);
	if (store_theme_foreach(s->store, collect_theme, im, err) == -1)
		goto done;
	if ((im->any_suppressed = store_suppress_any(s->store, err)) == -1)
		goto done;
	if (store_bulk(s->store, err) == -1)
		goto done;
	im->extra = xcalloc(nextra, sizeof *im->extra);
	im->nextra = nextra;
	if (resolve_themes(s, extra, nextra, im->extra, err) == -1)
		goto done;
	if (csvio_open(path, &im->csv, err) == -1)
		goto done;
	if ((r = csvio_next(im->csv, &row, err)) == -1)
		goto done;
	if (r == 0) {
		error_set(err, EX_DATAERR, "%s: empty file (a header row with "
		    "email, name, themes is needed)", path);
		goto done;
	}
	if (row->error != NULL) {
		error_set(err, EX_DATAERR, "%s:%ld: %s", path, row->line,
		    row->error);
		goto done;
	}
	if (map_header(im, row, err) == -1)
		goto done;
	if ((r = pthread_create(&reader, NULL, reader_main, im)) != 0) {
		error_set(err, EX_OSERR, "import: cannot start a thread: %s",
		    strerror(r));
		goto done;
	}
	started = 1;
	ret = import_rows(im, err);
done:
	if (started) {
		pthread_mutex_lock(&pl->mu);
		pl->stop = 1;
		pthread_cond_signal(&pl->nonfull);
		pthread_mutex_unlock(&pl->mu);
		pthread_join(reader, NULL);
	}
	pthread_cond_destroy(&pl->nonempty);
	pthread_cond_destroy(&pl->nonfull);
	pthread_mutex_destroy(&pl->mu);
	csvio_close(im->csv);
	for (size_t i = 0; i < im->nthemes; i++)
		free(im->themes[i].slug);
	free(im->themes);
	free(im->extra);
	free(im->source);
	free(im);
	return ret;
}

/* ---- export ---- */

struct export {
	FILE		*fp;
	int		 all;
	int		 safe;
};

static int
export_cb(const struct store_subscriber *sub, void *arg)
{
	struct export *ex = arg;

	if (ex->all) {
		for (size_t i = 0; i < sub->nsubs; i++) {
			csvio_write_field(ex->fp, sub->email, 0);
			putc(',', ex->fp);
			csvio_write_field(ex->fp, sub->name, ex->safe);
			fprintf(ex->fp, ",%s,%s\r\n", sub->subs[i].slug,
			    store_status_name(sub->subs[i].status));
		}
		return 0;
	}
	csvio_write_field(ex->fp, sub->email, 0);
	putc(',', ex->fp);
	csvio_write_field(ex->fp, sub->name, ex->safe);
	putc(',', ex->fp);
	for (size_t i = 0; i < sub->nsubs; i++)
		fprintf(ex->fp, "%s%s", i ? ";" : "", sub->subs[i].slug);
	fputs("\r\n", ex->fp);
	return 0;
}

int
subs_export(struct subs *s, FILE *fp, const char *slug, int all, int safe,
    struct error *err)
{
	struct export ex = { fp, all, safe };
	int64_t id = 0;

	if (slug != NULL &&
	    resolve_themes(s, (char *const *)&slug, 1, &id, err) == -1)
		return -1;
	fputs(all ? "email,name,themes,status\r\n" : "email,name,themes\r\n",
	    fp);
	if (store_subscriber_foreach(s->store, NULL, id,
	    all ? -1 : STORE_ACTIVE, export_cb, &ex, err) == -1)
		return -1;
	if (fflush(fp) == EOF || ferror(fp)) {
		error_set(err, EX_IOERR, "export: write failed");
		return -1;
	}
	return 0;
}

/* ---- double opt-in ---- */

/*
 * Creates or keeps the pending subscription; *status_r is what it was
 * (-1: none). In the caller's transaction.
 */
static int
make_pending(struct subs *s, const struct addr *a, const char *name,
    int64_t theme_id, const char *source, int64_t *id_r, int *status_r,
    struct error *err)
{
	int r;

	*status_r = -1;
	if ((r = store_subscriber_find(s->store, a->key, id_r, NULL,
	    err)) == -1)
		return -1;
	if (r == 0 && store_subscriber_add(s->store, a->email, a->key,
	    name != NULL ? name : "", id_r, err) != 1)
		return -1;
	if (r == 1 && (r = store_subscription_get(s->store, *id_r, theme_id,
	    status_r, err)) == -1)
		return -1;
	if (*status_r == STORE_ACTIVE || *status_r == STORE_PENDING)
		return 0;
	return store_subscription_set(s->store, *id_r, theme_id, STORE_PENDING,
	    STORE_EV_SUBSCRIBE, source, "asked; waits for confirmation", err);
}

/*
 * Takes the address's daily confirmation mail for this request, if it is
 * still there: a compare-and-set, so concurrent requests cannot both win.
 */
static int
reserve_mail(struct subs *s, struct subs_request_result *res, int64_t now,
    int *won_r, struct error *err)
{
	int64_t prev = 0;

	*won_r = 0;
	if (store_confirm_sent(s->store, res->subscriber_id, &prev, err) == -1)
		return -1;
	if (prev > now - SUBS_CONFIRM_INTERVAL && prev <= now)
		return 0;
	res->prev_sent = prev;
	return store_confirm_sent_swap(s->store, res->subscriber_id, prev, now,
	    won_r, err);
}

int
subs_request(struct subs *s, const char *email, const char *name,
    const char *slug, const char *source, int64_t now, int flags,
    struct subs_request_result *res, struct error *err)
{
	char hash[HASH_HEX];
	struct addr a;
	int64_t theme_id;
	int r, status, won;

	memset(res, 0, sizeof *res);
	res->by_mail = (flags & SUBS_BY_MAIL) != 0;
	if (addr_parse(email, &a, err) == -1)
		return -1;
	if (name != NULL && *name != '\0' && addr_check_name(name, err) == -1)
		return -1;
	if (resolve_themes(s, (char *const *)&slug, 1, &theme_id, err) == -1)
		return -1;
	if (!(flags & SUBS_NO_SEND) && s->cfg == NULL) {
		error_set(err, EX_SOFTWARE, "subs_request: no configuration "
		    "to mail with");
		return -1;
	}
	snprintf(res->email, sizeof res->email, "%s", a.email);
	res->theme_id = theme_id;
	res->issued = now;
	addr_hash(s, &a, hash);
	if ((r = store_suppressed(s->store, hash, err)) == -1)
		return -1;
	if (r == 1) {
		res->outcome = SUBS_REQ_SUPPRESSED;
		return 0;
	}
	if (store_begin(s->store, err) == -1)
		return -1;
	if (make_pending(s, &a, name, theme_id, source, &res->subscriber_id,
	    &status, err) == -1)
		goto fail;
	if (status == STORE_ACTIVE) {
		res->outcome = SUBS_REQ_ACTIVE;
		return store_commit(s->store, err);
	}
	if (flags & SUBS_NO_SEND)
		won = 1;
	else if (reserve_mail(s, res, now, &won, err) == -1)
		goto fail;
	if (!won) {
		res->outcome = SUBS_REQ_THROTTLED;
		return store_commit(s->store, err);
	}
	if (token_confirm_make(tokens(s), res->subscriber_id, theme_id, now,
	    res->token, sizeof res->token) == -1) {
		error_set(err, EX_SOFTWARE, "cannot make a token for %s",
		    a.email);
		goto fail;
	}
	res->outcome = flags & SUBS_NO_SEND ? SUBS_REQ_NOT_SENT :
	    SUBS_REQ_MAIL_DUE;
	if (store_commit(s->store, err) == -1)
		goto fail;
	if (res->outcome == SUBS_REQ_MAIL_DUE && !(flags & SUBS_DEFER_MAIL))
		return subs_request_mail(s, res, err);
	return 0;
fail:
	store_rollback(s->store);
	return -1;
}

/* Composes and hands over one confirmation mail; 0 only when accepted. */
static int
deliver_confirmation(struct subs *s, const struct subs_request_result *res,
    struct error *err)
{
	struct compose_confirm cc = { res->subscriber_id, res->theme_id,
	    res->email, res->token, res->issued,
	    s->cfg->subscribe_pending_days, res->by_mail };
	char envelope[ADDR_MAX + 1], rcpt[ADDR_MAX + 1], *password = NULL;
	struct tb_smtp_config sc;
	struct tb_smtp_msg m;
	struct buf out = { 0 };
	int rc = -1;

	if (compose_confirm(s->cfg, s->store, s->secret, &cc, &out, envelope,
	    rcpt, err) == -1 ||
	    sender_smtp_config(s->cfg, &sc, &password, err) == -1)
		goto done;
	memset(&m, 0, sizeof m);
	m.reverse_path = envelope;
	m.rcpt = rcpt;
	m.data = out.data;
	m.len = out.len;
	if (tb_smtp_deliver(&sc, &m, 1, err) == -1)
		goto done;
	if (m.outcome != TB_SMTP_SENT) {
		error_set(err, m.outcome == TB_SMTP_DEFERRED ? EX_TEMPFAIL :
		    EX_DATAERR, "confirmation mail to %s: %s", res->email,
		    m.reply);
		goto done;
	}
	rc = 0;
done:
	free(password);
	buf_free(&out);
	return rc;
}

int
subs_request_mail(struct subs *s, struct subs_request_result *res,
    struct error *err)
{
	struct error ignored;
	int swapped;

	if (res->outcome != SUBS_REQ_MAIL_DUE)
		return 0;
	if (s->cfg == NULL) {
		error_set(err, EX_SOFTWARE, "subs_request_mail: no "
		    "configuration");
		return -1;
	}
	if (deliver_confirmation(s, res, err) == -1) {
		/* Not sent: the allowance goes back, so asking again later
		 * today can still get a mail through. */
		store_confirm_sent_swap(s->store, res->subscriber_id,
		    res->issued, res->prev_sent, &swapped, &ignored);
		return -1;
	}
	res->outcome = SUBS_REQ_MAILED;
	return 0;
}

/*
 * Reads a confirmation token into c: 1 when it is ours and fresh (issued
 * less than pending_days days before now), 0 when it is ours but older,
 * -1 when it is not a confirmation (forged, damaged, or from the future:
 * not made by this clock, with five minutes' slack).
 */
static int
confirm_token(struct subs *s, const char *token, int64_t pending_days,
    int64_t now, struct token_confirm *c)
{
	if (token == NULL || token_confirm_parse(tokens(s), token, c) == -1 ||
	    c->issued > now + 300)
		return -1;
	return now - c->issued > pending_days * 86400 ? 0 : 1;
}

int
subs_confirm(struct subs *s, const char *token, int64_t pending_days,
    const char *source, int64_t now, struct subs_confirm_result *res,
    struct error *err)
{
	struct token_confirm c;
	int64_t since;
	int r, status;

	memset(res, 0, sizeof *res);
	res->outcome = SUBS_CONFIRM_INVALID;
	if ((r = confirm_token(s, token, pending_days, now, &c)) == -1)
		return 0;
	res->subscriber_id = c.subscriber;
	res->theme_id = c.theme;
	res->outcome = SUBS_CONFIRM_EXPIRED;
	if (r == 0)
		return 0;
	if (store_begin(s->store, err) == -1)
		return -1;
	if ((r = store_subscription_info(s->store, c.subscriber, c.theme,
	    &status, &since, err)) == -1)
		goto fail;
	if (r == 1 && status == STORE_ACTIVE)
		res->outcome = SUBS_CONFIRMED_BEFORE;
	else if (r == 1 && status == STORE_PENDING && c.issued + 60 >= since) {
		if (store_subscription_set(s->store, c.subscriber, c.theme,
		    STORE_ACTIVE, STORE_EV_CONFIRM, source, "confirmed",
		    err) == -1)
			goto fail;
		res->outcome = SUBS_CONFIRMED;
	}
	return store_commit(s->store, err);
fail:
	store_rollback(s->store);
	return -1;
}

int
subs_confirm_also(struct subs *s, const char *token, int64_t theme_id,
    int64_t pending_days, const char *source, int64_t now, int *confirmed_r,
    struct error *err)
{
	struct token_confirm c;
	int64_t since;
	int r, status;

	*confirmed_r = 0;
	if (confirm_token(s, token, pending_days, now, &c) != 1 ||
	    theme_id == c.theme)
		return 0;
	if (store_begin(s->store, err) == -1)
		return -1;
	if ((r = store_subscription_info(s->store, c.subscriber, theme_id,
	    &status, &since, err)) == -1)
		goto fail;
	if (r == 1 && status == STORE_PENDING &&
	    now - since <= pending_days * 86400) {
		if (store_subscription_set(s->store, c.subscriber, theme_id,
		    STORE_ACTIVE, STORE_EV_CONFIRM, source,
		    "confirmed on another theme's confirmation page",
		    err) == -1)
			goto fail;
		*confirmed_r = 1;
	}
	return store_commit(s->store, err);
fail:
	store_rollback(s->store);
	return -1;
}

int
subs_expire(struct subs *s, int64_t now, int64_t pending_days,
    const char *source, int64_t *n_r, struct error *err)
{
	char detail[96];

	snprintf(detail, sizeof detail, "not confirmed within %lld days",
	    (long long)pending_days);
	return store_pending_expire(s->store, now - pending_days * 86400,
	    source, detail, n_r, err);
}
