/*
 * compose: editions into messages. RFC 5322 (headers), RFC 2045-2047 via
 * mime, RFC 2369 and RFC 2919 (list headers), RFC 8058 (one-click
 * unsubscribe), RFC 3834 section 5 (Precedence, and Microsoft's
 * X-Auto-Response-Suppress) against auto-replies. RFC 6376 (DKIM) via
 * dkim: when [dkim] is configured every message is signed here, the last
 * step, so preview, test copies and sends all carry the same signature.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>

#include <jansson.h>

#include "addr.h"
#include "compose.h"
#include "conf.h"
#include "dkim.h"
#include "html.h"
#include "mime.h"
#include "secret.h"
#include "store.h"
#include "template.h"
#include "theme.h"
#include "token.h"
#include "util.h"

struct compose {
	struct template	*html;
	struct template	*text;
	json_t		*edition;	/* the bottom layer */
	struct token	*tokens;
	struct mime	*mime;
	struct buf	 html_out, text_out;
	char		*subject;
	char		*slug;
	char		*from_display;
	char		 from_ascii[ADDR_MAX + 1];
	char		*list_domain;
	char		*base_url;	/* NULL: no web side */
	int64_t		 edition_id, theme_id;
	struct tb_dkim	*dkim;		/* NULL: [dkim] not configured */
	const struct tb_dkim_key *dkim_key; /* the one for from_ascii's domain */
	struct buf	 sig;		/* the DKIM-Signature being made */
};

static const char *const months_sv[12] = {
	"januari", "februari", "mars", "april", "maj", "juni", "juli",
	"augusti", "september", "oktober", "november", "december"
};
static const char *const months_en[12] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"
};

/* "23 november 2026" / "23 November 2026": built in, no locale needed. */
void
compose_local_date(int64_t t, const char *lang, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || localtime_r(&tt, &tm) == NULL) {
		out[0] = '\0';
		return;
	}
	snprintf(out, len, "%d %s %d", tm.tm_mday,
	    (strcmp(lang, "en") == 0 ? months_en : months_sv)[tm.tm_mon],
	    tm.tm_year + 1900);
}

/* Template files are plain names in one directory: no paths. */
struct loader {
	const char	*dir;
};

static int
read_file(const char *path, char **text_r, size_t *len_r)
{
	struct buf b = { 0 };
	char chunk[8192];
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(fp)) {
		fclose(fp);
		buf_free(&b);
		return -1;
	}
	fclose(fp);
	*len_r = b.len;
	*text_r = buf_steal(&b);
	return 0;
}

static int
load_partial(void *arg, const char *name, char **text_r, size_t *len_r,
    char **display_r, struct error *err)
{
	struct loader *l = arg;
	char *path;

	if (strchr(name, '/') != NULL || strstr(name, "..") != NULL ||
	    *name == '\0' || *name == '.') {
		error_set(err, EX_DATAERR, "partial name '%.60s' must be a "
		    "plain file name", name);
		return -1;
	}
	path = xasprintf("%s/%s", l->dir, name);
	if (read_file(path, text_r, len_r) == -1) {
		free(path);
		return 1;
	}
	*display_r = path;
	return 0;
}

static int
compile_one(const char *dir, const char *name, const char *lang,
    const char *ext, struct template **t_r, struct error *err)
{
	struct loader l = { dir };
	char *path = xasprintf("%s/%s.%s.%s", dir, name, lang, ext), *text;
	size_t len;
	int rc = -1;

	if (read_file(path, &text, &len) == -1) {
		error_set(err, EX_CONFIG, "template %s: %s", path,
		    strerror(errno));
		goto done;
	}
	rc = template_compile(text, len, path, strcmp(ext, "html") == 0,
	    load_partial, &l, t_r, err);
	free(text);
done:
	free(path);
	return rc;
}

int
compose_template(const struct config *cfg, const char *name,
    const char *lang, const char *ext, struct template **t_r,
    struct error *err)
{
	return compile_one(cfg->templates, name, lang, ext, t_r, err);
}

int
compose_check_templates(const struct config *cfg, const char *name,
    const char *lang, struct error *err)
{
	struct template *h = NULL, *t = NULL;
	int rc;

	rc = compile_one(cfg->templates, name, lang, "html", &h, err) == 0 &&
	    compile_one(cfg->templates, name, lang, "txt", &t, err) == 0 ?
	    0 : -1;
	template_free(h);
	template_free(t);
	return rc;
}

static char *
text_of(const char *html, int width)
{
	struct buf b = { 0 };

	if (html == NULL || *html == '\0')
		return xstrdup("");
	if (html_to_text(html, strlen(html), width, &b) == -1) {
		buf_free(&b);
		return xstrdup("");
	}
	return buf_steal(&b);
}

struct items_ctx {
	json_t		*items;
	const char	*lang;
};

static json_t *
jstr(const char *s)
{
	json_t *v = json_string(s ? s : "");

	return v ? v : json_string("");
}

static int
add_item(const struct store_item *it, void *arg)
{
	struct items_ctx *ic = arg;
	const char *summary = it->summary_html && *it->summary_html ?
	    it->summary_html : it->content_html;
	char date[64], *text = text_of(summary, 72);
	json_t *o = json_object();

	compose_local_date(it->published ? it->published : it->updated, ic->lang,
	    date, sizeof date);
	json_object_set_new(o, "title", jstr(it->title));
	json_object_set_new(o, "link", jstr(it->link));
	json_object_set_new(o, "author", jstr(it->author));
	json_object_set_new(o, "date", jstr(date));
	json_object_set_new(o, "summary_html", jstr(summary));
	json_object_set_new(o, "summary_text", jstr(text));
	json_array_append_new(ic->items, o);
	free(text);
	return 0;
}

/* The intro as typed (plain text paragraphs) in both forms. */
static void
add_intro(json_t *ed, const char *intro)
{
	struct buf h = { 0 };
	char *text;

	if (intro != NULL && *intro != '\0') {
		const char *p = intro;

		while (*p) {
			const char *end = strstr(p, "\n\n");
			size_t n = end ? (size_t)(end - p) : strlen(p);
			char *para = xstrndup(p, n);

			util_trim(para);
			if (*para) {
				buf_addstr(&h, "<p>");
				html_escape(para, strlen(para), &h);
				buf_addstr(&h, "</p>");
			}
			free(para);
			p += n;
			while (*p == '\n')
				p++;
		}
	}
	text = text_of(h.data, 72);
	json_object_set_new(ed, "intro_html", jstr(h.data));
	json_object_set_new(ed, "intro_text", jstr(text));
	free(text);
	buf_free(&h);
}

/* The theme as templates see it: theme.slug, theme.name, ... */
static json_t *
theme_json(const struct store_theme *t)
{
	json_t *theme = json_object();

	json_object_set_new(theme, "slug", jstr(t->slug));
	json_object_set_new(theme, "name", jstr(t->name));
	json_object_set_new(theme, "description", jstr(t->description));
	return theme;
}

static int
edition_layer(struct compose *c, struct store *st,
    const struct store_edition *e, const struct store_theme *t,
    struct error *err)
{
	struct items_ctx ic = { json_array(), e->lang };
	json_t *ed = json_object();
	char date[64];

	c->edition = ed;
	json_object_set_new(ed, "theme", theme_json(t));
	json_object_set_new(ed, "lang", jstr(e->lang));
	json_object_set_new(ed, "org", jstr(c->from_display));
	json_object_set_new(ed, "subject", jstr(e->subject));
	compose_local_date(util_now(), e->lang, date, sizeof date);
	json_object_set_new(ed, "date", jstr(date));
	add_intro(ed, e->intro);
	json_object_set_new(ed, "items", ic.items);
	if (store_edition_items(st, e->id, add_item, &ic, err) == -1)
		return -1;
	json_object_set_new(ed, "item_count",
	    json_integer((json_int_t)json_array_size(ic.items)));
	return 0;
}

static int
need(const char *value, const char *key, struct error *err)
{
	if (value != NULL && *value != '\0')
		return 0;
	error_set(err, EX_CONFIG, "[general] %s must be set to compose "
	    "newsletters (see temabrev.conf(5))", key);
	return -1;
}

/*
 * The DKIM key for the edition's From. A From domain that no key covers
 * is a configuration error: a message is never sent unsigned because of
 * a theme's From when [dkim] is configured.
 */
static int
load_dkim(struct compose *c, const struct config *cfg, struct error *err)
{
	const char *domain = strrchr(c->from_ascii, '@');

	if (tb_dkim_load(cfg, &c->dkim, err) == -1)
		return -1;
	if (c->dkim == NULL)
		return 0;
	domain = domain ? domain + 1 : c->from_ascii;
	if ((c->dkim_key = tb_dkim_key_for(c->dkim, domain)) == NULL) {
		error_set(err, EX_CONFIG, "From %s: no DKIM key for %s; add "
		    "[dkim] domain, selector and key_file, or a [dkim %s] "
		    "section (temabrev.conf(5))", c->from_ascii, domain,
		    domain);
		return -1;
	}
	return 0;
}

/*
 * From, list domain and web base for a message of theme t; with sign,
 * the DKIM key for that From too.
 */
static int
setup_sender(struct compose *c, const struct config *cfg,
    const struct store_theme *t, int sign, struct error *err)
{
	const char *from = t->from_addr ? t->from_addr : cfg->from;

	if (need(from, "from", err) == -1 ||
	    need(cfg->list_domain, "list_domain", err) == -1)
		return -1;
	if (theme_parse_from(from, &c->from_display, c->from_ascii,
	    err) == -1)
		return -1;
	if (sign && load_dkim(c, cfg, err) == -1)
		return -1;
	c->theme_id = t->id;
	c->slug = xstrdup(t->slug);
	c->list_domain = xstrdup(cfg->list_domain);
	c->base_url = cfg->base_url && *cfg->base_url ?
	    xstrdup(cfg->base_url) : NULL;
	return 0;
}

static int
compile_pair(struct compose *c, const struct config *cfg, const char *name,
    const char *lang, struct error *err)
{
	return compile_one(cfg->templates, name, lang, "html", &c->html,
	    err) == 0 && compile_one(cfg->templates, name, lang, "txt",
	    &c->text, err) == 0 ? 0 : -1;
}

/*
 * An edition's compose context. In archive mode nothing is signed or
 * tokened, and the edition layer says archive and carries the date the
 * edition went out, not today's.
 */
static int
open_edition(const struct config *cfg, struct store *st,
    const struct secret *secret, int64_t edition_id, int archive,
    struct compose **r, struct error *err)
{
	struct compose *c = xcalloc(1, sizeof *c);
	struct store_edition *e = NULL;
	struct store_theme *t = NULL;
	int rc;

	if ((rc = store_edition_get(st, edition_id, &e, err)) != 1) {
		if (rc == 0)
			error_set(err, EX_DATAERR, "no edition %lld",
			    (long long)edition_id);
		goto fail;
	}
	if (store_theme_get(st, e->slug, &t, err) != 1)
		goto fail;
	if (setup_sender(c, cfg, t, !archive, err) == -1)
		goto fail;
	c->edition_id = e->id;
	c->subject = xstrdup(e->subject);
	if (compile_pair(c, cfg, e->template_name, e->lang, err) == -1)
		goto fail;
	if (edition_layer(c, st, e, t, err) == -1)
		goto fail;
	if (archive) {
		char date[64];

		compose_local_date(e->queued ? e->queued : e->created,
		    e->lang, date, sizeof date);
		json_object_set_new(c->edition, "date", jstr(date));
		json_object_set_new(c->edition, "archive", json_true());
	} else
		c->tokens = token_new(secret);
	c->mime = mime_new();
	store_edition_free(e);
	store_theme_free(t);
	*r = c;
	return 0;
fail:
	store_edition_free(e);
	store_theme_free(t);
	compose_free(c);
	return -1;
}

int
compose_new(const struct config *cfg, struct store *st,
    const struct secret *secret, int64_t edition_id, struct compose **r,
    struct error *err)
{
	return open_edition(cfg, st, secret, edition_id, 0, r, err);
}

int
compose_archive_html(const struct config *cfg, struct store *st,
    int64_t edition_id, struct buf *out, struct error *err)
{
	struct compose *c = NULL;
	json_t *stack[1];
	int rc;

	if (open_edition(cfg, st, NULL, edition_id, 1, &c, err) == -1)
		return -1;
	stack[0] = c->edition;
	rc = template_render(c->html, stack, 1, out, err);
	compose_free(c);
	return rc;
}

void
compose_free(struct compose *c)
{
	if (c == NULL)
		return;
	template_free(c->html);
	template_free(c->text);
	json_decref(c->edition);
	token_free(c->tokens);
	mime_free(c->mime);
	buf_free(&c->html_out);
	buf_free(&c->text_out);
	free(c->subject);
	free(c->slug);
	free(c->from_display);
	free(c->list_domain);
	free(c->base_url);
	tb_dkim_free(c->dkim);
	buf_free(&c->sig);
	free(c);
}

const struct tb_dkim_key *
compose_dkim_key(const struct compose *c)
{
	return c->dkim_key;
}

const char *
compose_from_domain(const struct compose *c)
{
	const char *at = strrchr(c->from_ascii, '@');

	return at ? at + 1 : c->from_ascii;
}

/* Puts the DKIM-Signature of the message at out[start...] before it. */
static int
sign_message(struct compose *c, struct buf *out, size_t start,
    struct error *err)
{
	size_t mlen = out->len - start;

	buf_reset(&c->sig);
	if (tb_dkim_sign(c->dkim_key, out->data + start, mlen, &c->sig,
	    err) == -1) {
		out->len = start;	/* nothing unsigned is handed out */
		out->data[start] = '\0';
		return -1;
	}
	buf_grow(out, c->sig.len);
	memmove(out->data + start + c->sig.len, out->data + start, mlen + 1);
	memcpy(out->data + start, c->sig.data, c->sig.len);
	out->len += c->sig.len;
	return 0;
}

const char *
compose_subject(const struct compose *c)
{
	return c->subject;
}

static int
first_name(const char *name, char *out, size_t len)
{
	size_t n = strcspn(name, " ");

	if (n >= len)
		n = len - 1;
	memcpy(out, name, n);
	out[n] = '\0';
	return 0;
}

/* The subscriber layer: name, addresses and links with its tokens. */
static json_t *
subscriber_layer(struct compose *c, const struct compose_rcpt *r,
    const char *unsub, const char *reply, char *first, size_t firstlen)
{
	json_t *o = json_object();
	char *v;

	first_name(r->name, first, firstlen);
	json_object_set_new(o, "name", jstr(r->name));
	json_object_set_new(o, "first_name", jstr(first));
	json_object_set_new(o, "email", jstr(r->email));
	v = c->base_url ? xasprintf("%s/u/%s", c->base_url, unsub) :
	    xstrdup("");
	json_object_set_new(o, "unsubscribe_url", jstr(v));
	free(v);
	/* The web side's preferences page takes the same token (web.h). */
	v = c->base_url ? xasprintf("%s/p/%s", c->base_url, unsub) :
	    xstrdup("");
	json_object_set_new(o, "preferences_url", jstr(v));
	free(v);
	v = xasprintf("mailto:unsubscribe+%s@%s?subject=unsubscribe", unsub,
	    c->list_domain);
	json_object_set_new(o, "unsubscribe_mailto", jstr(v));
	free(v);
	v = xasprintf("unsubscribe+%s@%s", unsub, c->list_domain);
	json_object_set_new(o, "unsubscribe_address", jstr(v));
	free(v);
	v = xasprintf("%s+%s@%s", c->slug, reply, c->list_domain);
	json_object_set_new(o, "reply_address", jstr(v));
	free(v);
	return o;
}

static int
add_headers(struct compose *c, const struct compose_rcpt *r,
    const char *rcpt_ascii, const char *unsub, const char *reply,
    const char *msgid, struct error *err)
{
	char date[MIME_DATE_LEN], *v;
	int https = c->base_url && strncasecmp(c->base_url, "https://", 8) == 0;
	int rc = -1;

	mime_date((time_t)util_now(), date);
	if (mime_add_addr_header(c->mime, "From", c->from_display,
	    c->from_ascii, err) == -1 ||
	    mime_add_addr_header(c->mime, "To", r->name, rcpt_ascii,
	    err) == -1 ||
	    mime_add_text_header(c->mime, "Subject", c->subject, err) == -1 ||
	    mime_add_raw_header(c->mime, "Date", date, err) == -1)
		return -1;
	v = xasprintf("<%s@%s>", msgid, c->list_domain);
	rc = mime_add_raw_header(c->mime, "Message-ID", v, err);
	free(v);
	if (rc == -1)
		return -1;
	v = xasprintf("%s+%s@%s", c->slug, reply, c->list_domain);
	rc = mime_add_addr_header(c->mime, "Reply-To", c->from_display, v,
	    err);
	free(v);
	if (rc == -1)
		return -1;
	v = xasprintf("<%s.%s>", c->slug, c->list_domain);
	rc = mime_add_raw_header(c->mime, "List-Id", v, err);
	free(v);
	if (rc == -1)
		return -1;
	if (c->base_url)
		v = xasprintf("<mailto:unsubscribe+%s@%s?subject=unsubscribe>, "
		    "<%s/u/%s>", unsub, c->list_domain, c->base_url, unsub);
	else
		v = xasprintf("<mailto:unsubscribe+%s@%s?subject=unsubscribe>",
		    unsub, c->list_domain);
	rc = mime_add_raw_header(c->mime, "List-Unsubscribe", v, err);
	free(v);
	if (rc == -1)
		return -1;
	/* RFC 8058: one-click only with an https URL to POST to. */
	if (https && mime_add_raw_header(c->mime, "List-Unsubscribe-Post",
	    "List-Unsubscribe=One-Click", err) == -1)
		return -1;
	if (mime_add_raw_header(c->mime, "Precedence", "bulk", err) == -1 ||
	    mime_add_raw_header(c->mime, "X-Auto-Response-Suppress",
	    "OOF, AutoReply", err) == -1)
		return -1;
	return 0;
}

/*
 * The rendered parts under the headers already added, signed when [dkim]
 * is set, and the envelope: VERP sender bounces+TOKEN@, ASCII recipient.
 */
static int
finish_message(struct compose *c, struct buf *out, size_t start,
    const char *bounce, const char *ascii, char *envelope_from,
    char *rcpt_ascii, struct error *err)
{
	if (mime_set_alternative(c->mime, c->text_out.data ? c->text_out.data :
	    "", c->text_out.len, c->html_out.data ? c->html_out.data : "",
	    c->html_out.len, err) == -1 ||
	    mime_finish(c->mime, out, err) == -1)
		return -1;
	if (c->dkim_key != NULL && sign_message(c, out, start, err) == -1)
		return -1;
	snprintf(envelope_from, ADDR_MAX + 1, "bounces+%s@%s", bounce,
	    c->list_domain);
	memcpy(rcpt_ascii, ascii, strlen(ascii) + 1);
	return 0;
}

int
compose_message(struct compose *c, const struct compose_rcpt *r,
    struct buf *out, char *envelope_from, char *rcpt_ascii,
    struct error *err)
{
	struct token_ids ids = { r->subscriber_id, c->theme_id, c->edition_id };
	char unsub[TOKEN_BUF], reply[TOKEN_BUF], bounce[TOKEN_BUF];
	char msgid[TOKEN_BUF], first[128];
	json_t *stack[2] = { c->edition, NULL };
	struct addr a;
	size_t start = out->len;
	int rc = -1;

	if (addr_parse(r->email, &a, err) == -1)
		return -1;
	if (token_make(c->tokens, TOKEN_UNSUBSCRIBE, &ids, unsub,
	    sizeof unsub) == -1 ||
	    token_make(c->tokens, TOKEN_REPLY, &ids, reply, sizeof reply) == -1 ||
	    token_make(c->tokens, TOKEN_BOUNCE, &ids, bounce,
	    sizeof bounce) == -1 ||
	    token_make(c->tokens, TOKEN_MSGID, &ids, msgid, sizeof msgid) == -1) {
		error_set(err, EX_SOFTWARE, "cannot make tokens for %s",
		    r->email);
		return -1;
	}
	stack[1] = subscriber_layer(c, r, unsub, reply, first, sizeof first);
	buf_reset(&c->html_out);
	buf_reset(&c->text_out);
	if (template_render(c->html, stack, 2, &c->html_out, err) == -1 ||
	    template_render(c->text, stack, 2, &c->text_out, err) == -1)
		goto done;
	mime_reset(c->mime);
	if (add_headers(c, r, a.ascii, unsub, reply, msgid, err) == -1)
		goto done;
	if (finish_message(c, out, start, bounce, a.ascii, envelope_from,
	    rcpt_ascii, err) == -1)
		goto done;
	rc = 0;
done:
	json_decref(stack[1]);
	return rc;
}

/* The double opt-in mail's own data: no edition, no name. */
static json_t *
confirm_layer(struct compose *c, const struct store_theme *t,
    const struct compose_confirm *cc, const char *subject, const char *to)
{
	json_t *o = json_object();
	char *v;

	json_object_set_new(o, "theme", theme_json(t));
	json_object_set_new(o, "lang", jstr(t->lang));
	json_object_set_new(o, "org", jstr(c->from_display));
	json_object_set_new(o, "subject", jstr(subject));
	json_object_set_new(o, "email", jstr(to));
	v = c->base_url ? xasprintf("%s/c/%s", c->base_url, cc->token) :
	    xstrdup("");
	json_object_set_new(o, "confirm_url", jstr(v));
	free(v);
	v = xasprintf("confirm+%s@%s", cc->token, c->list_domain);
	json_object_set_new(o, "confirm_address", jstr(v));
	free(v);
	json_object_set_new(o, "pending_days",
	    json_integer((json_int_t)cc->pending_days));
	return o;
}

static int
confirm_headers(struct compose *c, const struct compose_confirm *cc,
    const char *rcpt_ascii, const char *msgid, struct error *err)
{
	char date[MIME_DATE_LEN], *v;
	int rc;

	mime_date((time_t)util_now(), date);
	if (mime_add_addr_header(c->mime, "From", c->from_display,
	    c->from_ascii, err) == -1 ||
	    mime_add_addr_header(c->mime, "To", NULL, rcpt_ascii, err) == -1 ||
	    mime_add_text_header(c->mime, "Subject", c->subject, err) == -1 ||
	    mime_add_raw_header(c->mime, "Date", date, err) == -1)
		return -1;
	v = xasprintf("<%s.%llx@%s>", msgid, (unsigned long long)cc->issued,
	    c->list_domain);
	rc = mime_add_raw_header(c->mime, "Message-ID", v, err);
	free(v);
	if (rc == -1)
		return -1;
	v = xasprintf("confirm+%s@%s", cc->token, c->list_domain);
	rc = mime_add_addr_header(c->mime, "Reply-To", c->from_display, v,
	    err);
	free(v);
	if (rc == -1)
		return -1;
	/* RFC 3834: an answer to a mailed request is auto-replied; either
	 * way no vacation responder should answer it. */
	return mime_add_raw_header(c->mime, "Auto-Submitted", cc->answers_mail ?
	    "auto-replied" : "auto-generated", err) == -1 ||
	    mime_add_raw_header(c->mime, "X-Auto-Response-Suppress", "All",
	    err) == -1 ? -1 : 0;
}

int
compose_confirm(const struct config *cfg, struct store *st,
    const struct secret *secret, const struct compose_confirm *cc,
    struct buf *out, char *envelope_from, char *rcpt_ascii,
    struct error *err)
{
	struct compose *c = xcalloc(1, sizeof *c);
	struct store_theme *t = NULL;
	struct token_ids ids = { cc->subscriber_id, cc->theme_id, 0 };
	char bounce[TOKEN_BUF], msgid[TOKEN_BUF];
	json_t *layer = NULL;
	struct addr a;
	size_t start = out->len;
	int rc = -1;

	if (addr_parse(cc->email, &a, err) == -1)
		goto done;
	if ((rc = store_theme_by_id(st, cc->theme_id, &t, err)) != 1) {
		if (rc == 0)
			error_set(err, EX_DATAERR, "no theme %lld",
			    (long long)cc->theme_id);
		rc = -1;
		goto done;
	}
	rc = -1;
	if (setup_sender(c, cfg, t, 1, err) == -1 ||
	    compile_pair(c, cfg, "confirm-subscribe", t->lang, err) == -1)
		goto done;
	c->tokens = token_new(secret);
	c->mime = mime_new();
	if (token_make(c->tokens, TOKEN_BOUNCE, &ids, bounce,
	    sizeof bounce) == -1 ||
	    token_make(c->tokens, TOKEN_MSGID, &ids, msgid, sizeof msgid) == -1) {
		error_set(err, EX_SOFTWARE, "cannot make tokens for %s",
		    cc->email);
		goto done;
	}
	c->subject = strcmp(t->lang, "en") == 0 ?
	    xasprintf("Please confirm: %s", t->name) :
	    xasprintf("Bekräfta prenumerationen: %s", t->name);
	layer = confirm_layer(c, t, cc, c->subject, a.email);
	if (template_render(c->html, &layer, 1, &c->html_out, err) == -1 ||
	    template_render(c->text, &layer, 1, &c->text_out, err) == -1 ||
	    confirm_headers(c, cc, a.ascii, msgid, err) == -1)
		goto done;
	if (finish_message(c, out, start, bounce, a.ascii, envelope_from,
	    rcpt_ascii, err) == -1)
		goto done;
	rc = 0;
done:
	json_decref(layer);
	store_theme_free(t);
	compose_free(c);
	return rc;
}
