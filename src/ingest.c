/*
 * ingest: the fetch-parse-store cycle of one feed. Items of one fetch are
 * stored in one transaction: a feed that cannot be read leaves what was
 * stored from earlier fetches exactly as it was.
 *
 * Parsing and storing overlap: a parser thread reads the feed (XML, HTML
 * clean-up, text rendering) and hands copies of the items over a small
 * ring to the calling thread, which alone uses the store; so an ingest
 * uses two cores and takes about as long as the slower half. (The same
 * shape as the subscriber import in subs.c.)
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "feed.h"
#include "fetch.h"
#include "ingest.h"
#include "store.h"
#include "util.h"

struct sink {
	struct store		*store;
	int64_t			 feed_id;
	struct ingest_report	*report;
	struct error		*err;
};

/*
 * Stores one parsed item. A database error stops the parse with
 * STOP_DB_ERROR, which feed_parse_*() passes back, distinct from its own -1.
 */
#define STOP_DB_ERROR 2

/* Stores one item and counts it; -1 on a database error (k->err set). */
static int
store_one(struct sink *k, const struct store_item *it)
{
	enum store_upsert out;

	if (store_item_upsert(k->store, it, &out, k->err) == -1)
		return -1;
	k->report->nseen++;
	if (out == STORE_NEW)
		k->report->nnew++;
	else if (out == STORE_UPDATED)
		k->report->nupdated++;
	return 0;
}

static int
on_item(const struct feed_item *fi, void *arg)
{
	struct sink *k = arg;
	struct store_item it = { 0 };
	char *identity = feed_item_identity(fi);
	int rc;

	if (identity == NULL)
		return 0;
	it.feed_id = k->feed_id;
	it.identity = identity;
	it.guid = fi->id;
	it.title = fi->title;
	it.link = fi->link;
	it.author = fi->author;
	it.published = fi->published;
	it.updated = fi->updated;
	it.categories = fi->categories;
	it.summary_html = fi->summary_html;
	it.content_html = fi->content_html;
	it.text = fi->text;
	it.enclosure_url = fi->enclosure_url;
	it.enclosure_type = fi->enclosure_type;
	it.enclosure_length = fi->enclosure_length;
	rc = store_one(k, &it);
	free(identity);
	return rc == -1 ? STOP_DB_ERROR : 0;
}

/* strcasestr is not POSIX: look for "charset=" in any case by hand. */
static int
has_charset(const char *content_type)
{
	if (content_type == NULL)
		return 0;
	for (const char *p = content_type; *p; p++)
		if (strncasecmp(p, "charset=", 8) == 0)
			return 1;
	return 0;
}

/*
 * Parses the spooled body. A charset in the Content-Type header overrides
 * the XML declaration (RFC 7303), which needs the in-memory parser: the
 * file is mapped, not read, so memory stays at what the parser touches.
 */
static int
parse_body(const struct fetch_result *res, const char *name,
    unsigned flags, feed_item_fn cb, void *arg, struct feed_info *info,
    struct error *err)
{
	void *map = MAP_FAILED;
	int fd = -1, rc = -1;

	if (!has_charset(res->content_type) || res->body_len == 0)
		return feed_parse_file(res->body_path, name, res->final_url,
		    flags, cb, arg, info, err);
	if ((fd = open(res->body_path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (map = mmap(NULL, res->body_len, PROT_READ, MAP_PRIVATE, fd,
	    0)) == MAP_FAILED) {
		error_set(err, EX_IOERR, "%s: cannot map the fetched body",
		    name);
		goto done;
	}
	rc = feed_parse_http(map, res->body_len, res->content_type, name,
	    res->final_url, flags, cb, arg, info, err);
done:
	if (map != MAP_FAILED)
		munmap(map, res->body_len);
	if (fd != -1)
		close(fd);
	return rc;
}

/* ---- the parser thread and the ring ---- */

/* Items in flight: enough to keep both threads busy, a few hundred KB. */
#define RING 64
/*
 * Items handed over per wake-up. Waking the other thread for every item
 * cost two context switches an item (18,000 for a 10,000-item feed) and
 * a tenth of the ingest; a batch makes that a sixteenth.
 */
#define BATCH 16

/* An item copied out of the parser's callback: every string in block. */
struct slot {
	struct store_item	 it;
	char			*block;
	int			 rendered;	/* it.text is final */
};

struct pipeline {
	pthread_mutex_t		 mu;
	pthread_cond_t		 nonempty, nonfull;
	size_t			 head, tail;	/* consumer and producer */
	int			 eof, stop;
	/* The parse, run by the thread: its input and outcome. */
	const struct fetch_result *res;
	const char		*name;
	int64_t			 feed_id;
	int			 rc;
	struct feed_info	*info;
	struct error		*err;
	struct buf		 text;		/* the parser's, for rendering */
	struct slot		 ring[RING];
};

/*
 * An item's text, which the parser leaves out (FEED_NO_TEXT): the text
 * rendering is a third of the parser's work, and either thread may do it.
 * Rendered into b, which is reused; NULL when the item has no body.
 */
static const char *
render_text(const char *content_html, const char *summary_html,
    struct buf *b)
{
	buf_reset(b);
	if (feed_item_text(content_html, summary_html, b) == -1)
		return NULL;
	return b->data != NULL ? b->data : "";
}

/* Copies the item's strings into one allocation; identity is taken. */
static void
slot_fill(struct slot *s, int64_t feed_id, const struct feed_item *fi,
    char *identity, const char *text)
{
	const char *src[] = { identity, fi->id, fi->title, fi->link,
	    fi->author, fi->categories, fi->summary_html, fi->content_html,
	    text, fi->enclosure_url, fi->enclosure_type };
	const char **dst[] = { &s->it.identity, &s->it.guid, &s->it.title,
	    &s->it.link, &s->it.author, &s->it.categories,
	    &s->it.summary_html, &s->it.content_html, &s->it.text,
	    &s->it.enclosure_url, &s->it.enclosure_type };
	size_t n = sizeof src / sizeof src[0], total = 0, off = 0;
	size_t len[sizeof src / sizeof src[0]];

	for (size_t i = 0; i < n; i++)
		total += (len[i] = src[i] != NULL ? strlen(src[i]) + 1 : 0);
	memset(&s->it, 0, sizeof s->it);
	s->block = xmalloc(total > 0 ? total : 1);
	for (size_t i = 0; i < n; i++) {
		*dst[i] = NULL;
		if (src[i] == NULL)
			continue;
		memcpy(s->block + off, src[i], len[i]);
		*dst[i] = s->block + off;
		off += len[i];
	}
	free(identity);
	s->it.feed_id = feed_id;
	s->it.published = fi->published;
	s->it.updated = fi->updated;
	s->it.enclosure_length = fi->enclosure_length;
}

/* The parser's callback in the thread: waits for room, copies the item
 * in; stops the parse when the storing side has failed. */
static int
on_item_ring(const struct feed_item *fi, void *arg)
{
	struct pipeline *pl = arg;
	char *identity = feed_item_identity(fi);
	struct slot *slot;
	size_t queued;
	int stop;

	if (identity == NULL)
		return 0;
	pthread_mutex_lock(&pl->mu);
	while (pl->tail - pl->head == RING && !pl->stop)
		pthread_cond_wait(&pl->nonfull, &pl->mu);
	stop = pl->stop;
	queued = pl->tail - pl->head;
	pthread_mutex_unlock(&pl->mu);
	if (stop) {
		free(identity);
		return STOP_DB_ERROR;
	}
	/* Slots from tail on are the producer's: filled outside the lock. */
	slot = &pl->ring[pl->tail % RING];
	/*
	 * The text rendering goes to whichever thread has time for it: a
	 * half-full ring means the storing side is behind, so the parser
	 * renders; otherwise the storing side does (store_rendered). Either
	 * alone would leave one core waiting for the other.
	 */
	slot->rendered = queued >= RING / 2;
	slot_fill(slot, pl->feed_id, fi, identity, slot->rendered ?
	    render_text(fi->content_html, fi->summary_html, &pl->text) : NULL);
	pthread_mutex_lock(&pl->mu);
	if (++pl->tail - pl->head == BATCH)
		pthread_cond_signal(&pl->nonempty);
	pthread_mutex_unlock(&pl->mu);
	return 0;
}

static void *
parser_main(void *arg)
{
	struct pipeline *pl = arg;
	int rc = parse_body(pl->res, pl->name, FEED_NO_TEXT, on_item_ring,
	    pl, pl->info, pl->err);

	pthread_mutex_lock(&pl->mu);
	pl->rc = rc;
	pl->eof = 1;
	pthread_cond_signal(&pl->nonempty);
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

/*
 * Stores the item of a slot, first rendering its text if the parser
 * thread left that to this side (on_item_ring). text is a buffer kept
 * across items.
 */
static int
store_rendered(struct sink *k, struct slot *s, struct buf *text)
{
	if (!s->rendered)
		s->it.text = render_text(s->it.content_html,
		    s->it.summary_html, text);
	return store_one(k, &s->it);
}

/*
 * parse_body() with the items stored as the parser thread hands them
 * over. Returns what parse_body() would with on_item(): 0, STOP_DB_ERROR
 * (k->err set), or -1 (ferr set). Without a thread, it is that call.
 */
static int
parse_and_store(const struct fetch_result *res, const char *name,
    struct sink *k, struct feed_info *info, struct error *ferr)
{
	struct pipeline *pl = xcalloc(1, sizeof *pl);
	struct buf text = { 0 };
	pthread_t th;
	int failed = 0, rc;

	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->nonempty, NULL);
	pthread_cond_init(&pl->nonfull, NULL);
	pl->res = res;
	pl->name = name;
	pl->feed_id = k->feed_id;
	pl->info = info;
	pl->err = ferr;
	if (pthread_create(&th, NULL, parser_main, pl) != 0) {
		rc = parse_body(res, name, 0, on_item, k, info, ferr);
		goto done;
	}
	for (;;) {
		size_t head, tail;
		int eof;

		pthread_mutex_lock(&pl->mu);
		while (pl->tail - pl->head < BATCH && !pl->eof)
			pthread_cond_wait(&pl->nonempty, &pl->mu);
		head = pl->head;
		tail = pl->tail;
		eof = pl->eof;
		pthread_mutex_unlock(&pl->mu);
		if (head == tail && eof)
			break;
		/* Slots between head and tail are the consumer's. */
		for (; head != tail; head++) {
			struct slot *s = &pl->ring[head % RING];

			if (!failed && store_rendered(k, s, &text) == -1)
				failed = 1;
			free(s->block);
		}
		pthread_mutex_lock(&pl->mu);
		/* The producer waits only on a full ring. */
		if (pl->tail - pl->head == RING || failed)
			pthread_cond_signal(&pl->nonfull);
		pl->head = head;
		if (failed)
			pl->stop = 1;
		pthread_mutex_unlock(&pl->mu);
	}
	pthread_join(th, NULL);
	/* A database error wins, as it did when on_item() stopped the parse. */
	rc = failed ? STOP_DB_ERROR : pl->rc;
done:
	buf_free(&text);
	buf_free(&pl->text);
	pthread_cond_destroy(&pl->nonfull);
	pthread_cond_destroy(&pl->nonempty);
	pthread_mutex_destroy(&pl->mu);
	free(pl);
	return rc;
}

static void
request_for(const struct config *cfg, const struct store_feed *f,
    struct fetch_request *req)
{
	memset(req, 0, sizeof *req);
	req->url = f->url;
	req->etag = f->etag;
	req->last_modified = f->last_modified;
	req->ca_file = cfg->feeds_ca_file;
	req->max_size = (size_t)cfg->feeds_max_size;
	req->timeout_ms = (long)cfg->feeds_timeout * 1000;
	req->connect_timeout_ms = (long)cfg->feeds_connect_timeout * 1000;
}

int
ingest_feed(struct store *st, const struct config *cfg,
    const struct store_feed *f, struct ingest_report *rep, struct error *err)
{
	struct store_fetch_outcome o = { 0 };
	struct fetch_request req;
	struct fetch_result res = { 0 };
	struct feed_info info = { 0 };
	struct error ferr = { 0 };
	struct sink k = { st, f->id, rep, err };
	int in_tx = 0, ret = -1, rc;

	memset(rep, 0, sizeof *rep);
	snprintf(rep->url, sizeof rep->url, "%s", f->url);
	request_for(cfg, f, &req);
	if (fetch_url(&req, &res, &ferr) == -1) {
		/* An HTTP error answer keeps its status for feed list and
		 * status; a failed connection has none (0). */
		rep->status = res.status;
		snprintf(rep->error, sizeof rep->error, "%s", ferr.msg);
		goto record;
	}
	rep->status = res.status;
	if (res.moved_to != NULL) {
		rep->moved = 1;
		o.moved_to = res.moved_to;
		snprintf(rep->url, sizeof rep->url, "%s", res.moved_to);
	}
	if (res.gone) {
		rep->gone = 1;
		o.deactivate = 1;
		snprintf(rep->error, sizeof rep->error, "%s: 410 Gone: the feed "
		    "was removed and is now inactive", f->url);
		goto record;
	}
	if (res.not_modified) {
		rep->not_modified = 1;
		goto record;
	}
	if (store_begin(st, err) == -1)
		goto done;
	in_tx = 1;
	rc = parse_and_store(&res, rep->url, &k, &info, &ferr);
	if (rc == STOP_DB_ERROR)
		goto done;	/* err says what */
	if (rc != 0) {
		store_rollback(st);
		in_tx = 0;
		rep->nnew = rep->nupdated = rep->nseen = 0;
		snprintf(rep->error, sizeof rep->error, "%s", ferr.msg);
		goto record;
	}
	rep->recovered = info.recovered;
	o.etag = res.etag;
	o.last_modified = res.last_modified;
	o.title = info.title;
record:
	o.status = rep->status;
	o.error = rep->error[0] ? rep->error : NULL;
	o.nnew = rep->nnew;
	o.nupdated = rep->nupdated;
	if (!in_tx && store_begin(st, err) == -1)
		goto done;
	in_tx = 1;
	if (store_feed_fetched(st, f->id, &o, err) == -1)
		goto done;
	in_tx = 0;
	if (store_commit(st, err) == -1)
		goto done;
	ret = 0;
done:
	if (in_tx)
		store_rollback(st);
	feed_info_clear(&info);
	fetch_result_clear(&res);
	return ret;
}
