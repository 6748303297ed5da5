/*
 * subs: subscriber rules on top of the store. Addresses are validated and
 * normalised by addr; the suppression list is keyed by an HMAC of the
 * address (secret purpose "suppression"), so an erased address can still
 * be recognised without being stored.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "addr.h"
#include "csvio.h"
#include "secret.h"
#include "store.h"
#include "subs.h"
#include "util.h"

#define HASH_HEX (2 * SECRET_MAC_LEN + 1)
#define IMPORT_BATCH 5000

struct subs {
	struct store		*store;
	struct secret		*secret;
	struct secret_mac	*mac;	/* created on first use */
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
	free(s);
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
		    source, detail, err) == -1)
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
		    x->theme_id, STORE_UNSUBSCRIBED, st->source, NULL,
		    st->err) == -1)
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
		    x->theme_id, STORE_UNSUBSCRIBED, st->source,
		    "address suppressed", st->err) == -1)
			return -1;
	}
	return 1;
}

int
subs_suppress_add(struct subs *s, const char *email, const char *reason,
    int *added_r, struct error *err)
{
	struct rm_state st = { s, "cli", 0, 0, 0, NULL, NULL, err };
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
	if (r == 1 && store_event_add(s->store, STORE_EV_SUPPRESS, 0, 0, "cli",
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

struct import {
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

/* A row's theme ids: its own (split on ';' or ','), then --theme's. */
static int
row_themes(struct import *im, const struct csvio_row *row, int64_t **ids_r,
    size_t *n_r, char *why, size_t whylen)
{
	char *list = xstrdup(field(row, im->col_themes)), *save = NULL, *tok;
	int64_t *ids = NULL;
	size_t n = 0;
	int ret = -1;

	for (tok = strtok_r(list, ";,", &save); tok != NULL;
	    tok = strtok_r(NULL, ";,", &save)) {
		int64_t id;

		util_trim(tok);
		if (*tok == '\0')
			continue;
		if ((id = theme_id(im, tok)) == 0) {
			snprintf(why, whylen, "unknown theme %.60s", tok);
			goto done;
		}
		ids = xrealloc(ids, (n + 1) * sizeof *ids);
		ids[n++] = id;
	}
	/* "a@b,Name,t1,t2": themes is the last header column and the row
	 * carries more fields; take them as more themes, as a user means. */
	for (size_t f = (size_t)im->col_themes + 1; im->themes_last &&
	    f < row->nfields; f++) {
		char *slug = util_trim(row->fields[f]);
		int64_t id;

		if (*slug == '\0')
			continue;
		if ((id = theme_id(im, slug)) == 0) {
			snprintf(why, whylen, "unknown theme %.60s", slug);
			goto done;
		}
		ids = xrealloc(ids, (n + 1) * sizeof *ids);
		ids[n++] = id;
	}
	for (size_t i = 0; i < im->nextra; i++) {
		ids = xrealloc(ids, (n + 1) * sizeof *ids);
		ids[n++] = im->extra[i];
	}
	if (n == 0) {
		snprintf(why, whylen, "no theme");
		goto done;
	}
	*ids_r = ids;
	*n_r = n;
	ids = NULL;
	ret = 0;
done:
	free(ids);
	free(list);
	return ret;
}

enum row_outcome { ROW_ADDED, ROW_UPDATED, ROW_SKIPPED };

/* Applies one valid row inside the caller's savepoint. */
static int
import_apply(struct import *im, const struct addr *a, const char *name,
    const int64_t *ids, size_t nids, int status, enum row_outcome *out,
    struct error *err)
{
	struct store *st = im->subs->store;
	char *oldname = NULL;
	int64_t id;
	int r, old, isnew, changed = 0, ret = -1;

	/* Most imported rows are new: insert first, look up on conflict. */
	if ((isnew = store_subscriber_add(st, a->email, a->key, name, &id,
	    err)) == -1)
		goto done;
	if (!isnew && store_subscriber_find(st, a->key, &id, &oldname,
	    err) != 1)
		goto done;
	if (!isnew && *name != '\0' && strcmp(name, oldname) != 0) {
		if (store_subscriber_set_name(st, id, name, err) == -1)
			goto done;
		changed = 1;
	}
	for (size_t i = 0; i < nids; i++) {
		r = 0;
		if (!isnew && (r = store_subscription_get(st, id, ids[i], &old,
		    err)) == -1)
			goto done;
		if (r == 1 && !(old == STORE_PENDING && status == STORE_ACTIVE))
			continue;	/* never re-activates, never doubles */
		if (store_subscription_set(st, id, ids[i], status,
		    im->source, NULL, err) == -1)
			goto done;
		changed = 1;
	}
	*out = isnew ? ROW_ADDED : changed ? ROW_UPDATED : ROW_SKIPPED;
	ret = 0;
done:
	free(oldname);
	return ret;
}

/*
 * Validates one row completely before touching the database, so bad input
 * never stops an import half-way through a row. Returns -1 only for a
 * database error (disk full, I/O); the caller then rolls back the batch.
 */
static int
import_row(struct import *im, const struct csvio_row *row, struct error *err)
{
	const char *path = csvio_path(im->csv);
	struct error rowerr = { 0 };
	char why[2048], hash[HASH_HEX], *name = NULL;
	int64_t *ids = NULL;
	size_t nids = 0;
	struct addr a;
	enum row_outcome out;
	int status = STORE_ACTIVE, r, ret = 0;

	if (row->error != NULL) {
		snprintf(why, sizeof why, "%s", row->error);
		goto refuse;
	}
	if (has_nul(row, im->col_email)) {
		snprintf(why, sizeof why, "address contains a NUL byte");
		goto refuse;
	}
	if (addr_parse(field(row, im->col_email), &a, &rowerr) == -1) {
		snprintf(why, sizeof why, "%s", rowerr.msg);
		goto refuse;
	}
	name = util_trim(xstrdup(field(row, im->col_name)));
	if (has_nul(row, im->col_name)) {
		snprintf(why, sizeof why, "%s: name contains a NUL byte",
		    a.email);
		goto refuse;
	}
	if (addr_check_name(name, &rowerr) == -1) {
		snprintf(why, sizeof why, "%s: %s", a.email, rowerr.msg);
		goto refuse;
	}
	if (im->col_status >= 0) {
		char *word = util_trim(xstrdup(field(row, im->col_status)));

		if (*word != '\0' && (status = store_status_parse(word)) < 0)
			snprintf(why, sizeof why, "unknown status %.40s", word);
		free(word);
		if (status < 0)
			goto refuse;
	}
	if (row_themes(im, row, &ids, &nids, why, sizeof why) == -1)
		goto refuse;
	r = 0;
	if (im->any_suppressed) {
		addr_hash(im->subs, &a, hash);
		if ((r = store_suppressed(im->subs->store, hash, err)) == -1) {
			ret = -1;
			goto done;
		}
	}
	if (r == 1) {
		report(im->fn, im->arg, "%s:%ld: %s is on the suppression "
		    "list: skipped", path, row->line, a.email);
		im->stats->skipped++;
		goto done;
	}
	if (import_apply(im, &a, name, ids, nids, status, &out, err) == -1) {
		ret = -1;
		goto done;
	}
	if (out == ROW_ADDED)
		im->stats->added++;
	else if (out == ROW_UPDATED)
		im->stats->updated++;
	else
		im->stats->skipped++;
	goto done;
refuse:
	report(im->fn, im->arg, "%s:%ld: %s", path, row->line, why);
	im->stats->refused++;
done:
	free(ids);
	free(name);
	return ret;
}

int
subs_import(struct subs *s, const char *path, char *const *extra,
    size_t nextra, subs_report_fn *fn, void *arg,
    struct subs_import_stats *stats, struct error *err)
{
	struct import im = { 0 };
	const struct csvio_row *row;
	const char *base = strrchr(path, '/');
	int r, in_tx = 0, ret = -1;
	uint64_t rows = 0;

	memset(stats, 0, sizeof *stats);
	im.subs = s;
	im.fn = fn;
	im.arg = arg;
	im.stats = stats;
	im.source = xasprintf("import:%s", base ? base + 1 : path);
	if (store_theme_foreach(s->store, collect_theme, &im, err) == -1)
		goto done;
	if ((im.any_suppressed = store_suppress_any(s->store, err)) == -1)
		goto done;
	if (store_bulk(s->store, err) == -1)
		goto done;
	im.extra = xcalloc(nextra, sizeof *im.extra);
	im.nextra = nextra;
	if (resolve_themes(s, extra, nextra, im.extra, err) == -1)
		goto done;
	if (csvio_open(path, &im.csv, err) == -1)
		goto done;
	if ((r = csvio_next(im.csv, &row, err)) == -1)
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
	if (map_header(&im, row, err) == -1)
		goto done;
	for (;;) {
		if ((r = csvio_next(im.csv, &row, err)) == -1)
			goto done;
		if (r == 0)
			break;
		if (!in_tx) {
			if (store_begin(s->store, err) == -1)
				goto done;
			in_tx = 1;
			im.saved_line = row->line;
		}
		if (import_row(&im, row, err) == -1)
			goto done;
		/* Batches keep the write lock short for the daemon. */
		if (++rows % IMPORT_BATCH == 0) {
			in_tx = 0;
			if (store_commit(s->store, err) == -1)
				goto done;
		}
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
		    im.saved_line);
	}
	csvio_close(im.csv);
	for (size_t i = 0; i < im.nthemes; i++)
		free(im.themes[i].slug);
	free(im.themes);
	free(im.extra);
	free(im.source);
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
