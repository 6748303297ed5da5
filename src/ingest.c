/*
 * ingest: the fetch-parse-store cycle of one feed. Items of one fetch are
 * stored in one transaction: a feed that cannot be read leaves what was
 * stored from earlier fetches exactly as it was.
 */
#include "config.h"

#include <fcntl.h>
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

static int
on_item(const struct feed_item *fi, void *arg)
{
	struct sink *k = arg;
	struct store_item it = { 0 };
	enum store_upsert out;
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
	rc = store_item_upsert(k->store, &it, &out, k->err);
	free(identity);
	if (rc == -1)
		return STOP_DB_ERROR;
	k->report->nseen++;
	if (out == STORE_NEW)
		k->report->nnew++;
	else if (out == STORE_UPDATED)
		k->report->nupdated++;
	return 0;
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
    struct sink *k, struct feed_info *info, struct error *err)
{
	void *map = MAP_FAILED;
	int fd = -1, rc = -1;

	if (!has_charset(res->content_type) || res->body_len == 0)
		return feed_parse_file(res->body_path, name, res->final_url,
		    on_item, k, info, err);
	if ((fd = open(res->body_path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    (map = mmap(NULL, res->body_len, PROT_READ, MAP_PRIVATE, fd,
	    0)) == MAP_FAILED) {
		error_set(err, EX_IOERR, "%s: cannot map the fetched body",
		    name);
		goto done;
	}
	rc = feed_parse_http(map, res->body_len, res->content_type, name,
	    res->final_url, on_item, k, info, err);
done:
	if (map != MAP_FAILED)
		munmap(map, res->body_len);
	if (fd != -1)
		close(fd);
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
	rc = parse_body(&res, rep->url, &k, &info, &ferr);
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
