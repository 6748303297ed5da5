/*
 * archive: static HTML pages and Atom feeds (RFC 4287) of sent editions.
 * Feed and entry ids are tag URIs (RFC 4151) under the list domain, so
 * they stay the same wherever the files are served from; links are
 * relative unless [archive] url names where they are published.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "archive.h"
#include "compose.h"
#include "conf.h"
#include "html.h"
#include "store.h"
#include "theme.h"
#include "util.h"

/* One sent edition, as the index and the feed list it. */
struct entry {
	int64_t	 id;
	int64_t	 at;		/* when it was queued: its date */
	char	*subject;
};

struct theme_files {
	const struct config	*cfg;
	struct store		*st;
	const struct store_theme *theme;
	char			*dir;	/* OUT/SLUG */
	struct entry		*e;	/* newest first once sorted */
	size_t			 n;
	char			*org;	/* the From's display name */
	struct error		*err;
};

/* Appends text escaped for XML/HTML content and quoted attributes. */
static void
esc(struct buf *b, const char *s)
{
	html_escape(s ? s : "", s ? strlen(s) : 0, b);
}

/*
 * Writes data to path through a temporary file and a rename. The files
 * are public: readable by all (a web server) whatever the umask.
 */
static int
write_atomic(const char *path, const struct buf *data, struct error *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	FILE *fp = fopen(tmp, "wb");
	int ok;

	if (fp != NULL && fchmod(fileno(fp), 0644) == -1) {
		fclose(fp);
		unlink(tmp);
		fp = NULL;
	}
	if (fp == NULL) {
		error_set(err, EX_CANTCREAT, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	ok = fwrite(data->data ? data->data : "", 1, data->len, fp) ==
	    data->len;
	ok = fclose(fp) == 0 && ok;
	if (!ok || rename(tmp, path) == -1) {
		error_set(err, EX_CANTCREAT, "%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static int
is_sent(const struct store_edition *e)
{
	return strcmp(e->status, "done") == 0 || (strcmp(e->status,
	    "sending") == 0 && e->counts[STORE_SENT] > 0);
}

static int
collect(const struct store_edition *e, void *arg)
{
	struct theme_files *tf = arg;

	if (e->notice || !is_sent(e))
		return 0;
	tf->e = xrealloc(tf->e, (tf->n + 1) * sizeof *tf->e);
	tf->e[tf->n].id = e->id;
	tf->e[tf->n].at = e->queued ? e->queued : e->created;
	tf->e[tf->n].subject = xstrdup(e->subject);
	tf->n++;
	return 0;
}

/* Newest first; the later id first on the same second. */
static int
newest_first(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? 1 : -1;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

/* An absolute or relative link to name inside the theme's directory. */
static char *
href(const struct theme_files *tf, const char *name)
{
	const char *url = tf->cfg->archive_url;

	if (url == NULL || *url == '\0')
		return xstrdup(name);
	return xasprintf("%s%s%s/%s", url, url[strlen(url) - 1] == '/' ?
	    "" : "/", tf->theme->slug, name);
}

static int
write_page(struct theme_files *tf, const struct entry *e)
{
	struct buf b = { 0 };
	char *path = xasprintf("%s/%lld.html", tf->dir, (long long)e->id);
	int rc;

	rc = compose_archive_html(tf->cfg, tf->st, e->id, &b, tf->err);
	if (rc == 0)
		rc = write_atomic(path, &b, tf->err);
	buf_free(&b);
	free(path);
	return rc;
}

static const char style[] =
    "body{margin:0 auto;max-width:40em;padding:1em;font-family:"
    "system-ui,sans-serif;line-height:1.5;color:#1d2433;background:#fff}"
    "a{color:#0b5f73}time{color:#4a5160;margin-right:.5em}"
    "li{margin:.4em 0}";

static void
html_head(struct buf *b, const char *lang, const char *title,
    const char *feed)
{
	buf_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n<title>",
	    lang);
	esc(b, title);
	buf_printf(b, "</title>\n<style>%s</style>\n", style);
	if (feed != NULL) {
		buf_addstr(b, "<link rel=\"alternate\" type=\"application/"
		    "atom+xml\" href=\"");
		esc(b, feed);
		buf_addstr(b, "\">\n");
	}
	buf_addstr(b, "</head>\n<body>\n");
}

static int
write_index(struct theme_files *tf)
{
	const struct store_theme *t = tf->theme;
	int en = strcmp(t->lang, "en") == 0;
	struct buf b = { 0 };
	char *path = xasprintf("%s/index.html", tf->dir), date[64], iso[UTIL_ISO_LEN];
	int rc;

	html_head(&b, t->lang, t->name, "feed.xml");
	buf_addstr(&b, "<header>\n<p>");
	esc(&b, tf->org);
	buf_addstr(&b, "</p>\n<h1>");
	esc(&b, t->name);
	buf_addstr(&b, "</h1>\n");
	if (t->description && *t->description) {
		buf_addstr(&b, "<p>");
		esc(&b, t->description);
		buf_addstr(&b, "</p>\n");
	}
	buf_printf(&b, "</header>\n<main>\n<h2>%s</h2>\n", en ?
	    "Past newsletters" : "Tidigare nyhetsbrev");
	if (tf->n == 0)
		buf_printf(&b, "<p>%s</p>\n", en ? "None yet." :
		    "Inga \xc3\xa4nnu.");
	else
		buf_addstr(&b, "<ol reversed>\n");
	for (size_t i = 0; i < tf->n; i++) {
		compose_local_date(tf->e[i].at, t->lang, date, sizeof date);
		util_iso_time(tf->e[i].at, iso);
		buf_printf(&b, "<li><time datetime=\"%s\">%s</time> "
		    "<a href=\"%lld.html\">", iso, date,
		    (long long)tf->e[i].id);
		esc(&b, tf->e[i].subject);
		buf_addstr(&b, "</a></li>\n");
	}
	if (tf->n > 0)
		buf_addstr(&b, "</ol>\n");
	buf_printf(&b, "</main>\n<footer><p><a href=\"feed.xml\">%s</a></p>"
	    "</footer>\n</body>\n</html>\n", en ? "Atom feed" :
	    "Atom-fl\xc3\xb6" "de");
	rc = write_atomic(path, &b, tf->err);
	buf_free(&b);
	free(path);
	return rc;
}

/* An entry's content: its items, linked, with their summaries. */
struct content {
	struct buf	*html;
};

static int
content_item(const struct store_item *it, void *arg)
{
	struct content *c = arg;
	const char *summary = it->summary_html && *it->summary_html ?
	    it->summary_html : it->content_html;

	buf_addstr(c->html, "<h2><a href=\"");
	esc(c->html, it->link);
	buf_addstr(c->html, "\">");
	esc(c->html, it->title);
	buf_addstr(c->html, "</a></h2>");
	if (summary != NULL)
		buf_addstr(c->html, summary);	/* sanitised when stored */
	return 0;
}

/* RFC 4151 tag URI: tag:LIST_DOMAIN,DATE:archive/SLUG[/ID]. */
static void
tag_uri(struct buf *b, const struct theme_files *tf, int64_t date_of,
    int64_t id)
{
	char iso[UTIL_ISO_LEN];

	util_iso_time(date_of, iso);
	iso[10] = '\0';
	buf_addstr(b, "tag:");
	esc(b, tf->cfg->list_domain);
	buf_printf(b, ",%s:archive/", iso);
	esc(b, tf->theme->slug);
	if (id > 0)
		buf_printf(b, "/%lld", (long long)id);
}

static int
feed_entry(struct theme_files *tf, struct buf *b, const struct entry *e)
{
	struct buf html = { 0 };
	struct content c = { &html };
	char iso[UTIL_ISO_LEN], *link = NULL;
	char id[32];

	snprintf(id, sizeof id, "%lld.html", (long long)e->id);
	if (store_edition_items(tf->st, e->id, content_item, &c,
	    tf->err) == -1) {
		buf_free(&html);
		return -1;
	}
	util_iso_time(e->at, iso);
	link = href(tf, id);
	buf_addstr(b, "<entry>\n<id>");
	tag_uri(b, tf, e->at, e->id);
	buf_addstr(b, "</id>\n<title type=\"text\">");
	esc(b, e->subject);
	buf_printf(b, "</title>\n<published>%s</published>\n"
	    "<updated>%s</updated>\n<link rel=\"alternate\" "
	    "type=\"text/html\" href=\"", iso, iso);
	esc(b, link);
	buf_addstr(b, "\"/>\n<content type=\"html\">");
	esc(b, html.data ? html.data : "");
	buf_addstr(b, "</content>\n</entry>\n");
	free(link);
	buf_free(&html);
	return 0;
}

static int
write_feed(struct theme_files *tf)
{
	const struct store_theme *t = tf->theme;
	struct buf b = { 0 };
	char *path = xasprintf("%s/feed.xml", tf->dir), iso[UTIL_ISO_LEN];
	char *self = href(tf, "feed.xml"), *index = href(tf, "index.html");
	int rc = -1;

	util_iso_time(tf->n > 0 ? tf->e[0].at : t->created, iso);
	buf_printf(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	    "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"%s\">\n"
	    "<id>", t->lang);
	tag_uri(&b, tf, t->created, 0);
	buf_addstr(&b, "</id>\n<title type=\"text\">");
	esc(&b, t->name);
	buf_addstr(&b, "</title>\n");
	if (t->description && *t->description) {
		buf_addstr(&b, "<subtitle type=\"text\">");
		esc(&b, t->description);
		buf_addstr(&b, "</subtitle>\n");
	}
	buf_printf(&b, "<updated>%s</updated>\n<author><name>", iso);
	esc(&b, tf->org);
	buf_addstr(&b, "</name></author>\n<link rel=\"self\" "
	    "type=\"application/atom+xml\" href=\"");
	esc(&b, self);
	buf_addstr(&b, "\"/>\n<link rel=\"alternate\" type=\"text/html\" "
	    "href=\"");
	esc(&b, index);
	buf_addstr(&b, "\"/>\n<generator>temabrev</generator>\n");
	for (size_t i = 0; i < tf->n; i++)
		if (feed_entry(tf, &b, &tf->e[i]) == -1)
			goto done;
	buf_addstr(&b, "</feed>\n");
	rc = write_atomic(path, &b, tf->err);
done:
	buf_free(&b);
	free(path);
	free(self);
	free(index);
	return rc;
}

static void
theme_files_clear(struct theme_files *tf)
{
	for (size_t i = 0; i < tf->n; i++)
		free(tf->e[i].subject);
	free(tf->e);
	free(tf->dir);
	free(tf->org);
}

static int
build_theme(const struct config *cfg, struct store *st,
    const struct store_theme *t, const char *out, struct archive_stats *as,
    struct error *err)
{
	struct theme_files tf = { cfg, st, t, NULL, NULL, 0, NULL, err };
	const char *from = t->from_addr ? t->from_addr : cfg->from;
	char ascii[ADDR_MAX + 1];
	int rc = -1;

	if (from == NULL || *from == '\0')
		tf.org = xstrdup("");
	else if (theme_parse_from(from, &tf.org, ascii, err) == -1)
		goto done;
	tf.dir = xasprintf("%s/%s", out, t->slug);
	if (util_mkdirs(tf.dir, 0755) == -1) {
		error_set(err, EX_CANTCREAT, "%s: %s", tf.dir,
		    strerror(errno));
		goto done;
	}
	if (store_edition_foreach(st, t->id, collect, &tf, err) == -1)
		goto done;
	if (tf.n > 1)
		qsort(tf.e, tf.n, sizeof *tf.e, newest_first);
	for (size_t i = 0; i < tf.n; i++) {
		if (write_page(&tf, &tf.e[i]) == -1)
			goto done;
		as->editions++;
	}
	if (write_index(&tf) == -1 || write_feed(&tf) == -1)
		goto done;
	as->themes++;
	rc = 0;
done:
	theme_files_clear(&tf);
	return rc;
}

struct all_themes {
	const struct config	*cfg;
	struct store		*st;
	const char		*out;
	const char		*only;
	struct archive_stats	*as;
	struct buf		 index;
	int			 matched;
	struct error		*err;
};

static int
each_theme(const struct store_theme *t, void *arg)
{
	struct all_themes *a = arg;

	buf_addstr(&a->index, "<li><a href=\"");
	esc(&a->index, t->slug);
	buf_addstr(&a->index, "/index.html\">");
	esc(&a->index, t->name);
	buf_addstr(&a->index, "</a></li>\n");
	if (a->only != NULL && strcmp(a->only, t->slug) != 0)
		return 0;
	a->matched = 1;
	return build_theme(a->cfg, a->st, t, a->out, a->as, a->err) == -1 ?
	    -1 : 0;
}

int
archive_build(const struct config *cfg, struct store *st, const char *slug,
    const char *out, struct archive_stats *as, struct error *err)
{
	struct all_themes a = { cfg, st, out, slug, as, { 0 }, 0, err };
	char *path = NULL;
	int rc = -1;

	memset(as, 0, sizeof *as);
	if (cfg->list_domain == NULL || *cfg->list_domain == '\0') {
		error_set(err, EX_CONFIG, "[general] list_domain must be set "
		    "to build the archive (see temabrev.conf(5))");
		return -1;
	}
	if (util_mkdirs(out, 0755) == -1) {
		error_set(err, EX_CANTCREAT, "%s: %s", out, strerror(errno));
		return -1;
	}
	html_head(&a.index, "sv", "Arkiv", NULL);
	buf_addstr(&a.index, "<main>\n<h1>Arkiv</h1>\n<ul>\n");
	if (store_theme_foreach(st, each_theme, &a, err) != 0)
		goto done;
	if (slug != NULL && !a.matched) {
		error_set(err, EX_DATAERR, "no theme %s", slug);
		goto done;
	}
	buf_addstr(&a.index, "</ul>\n</main>\n</body>\n</html>\n");
	path = xasprintf("%s/index.html", out);
	rc = write_atomic(path, &a.index, err);
done:
	free(path);
	buf_free(&a.index);
	return rc;
}
