/*
 * web: the HTTP side of temabrevd (see web.h for the routes and the
 * cross-site rules). RFC 9110 (methods, status codes, Allow), RFC 8058
 * (one-click unsubscribe), RFC 7239's predecessor X-Forwarded-For as
 * reverse proxies send it, W3C CSP Level 3 (a hash source for the one
 * inline style). libmicrohttpd parses HTTP and the form bodies
 * (urlencoded and multipart/form-data); everything a request changes goes
 * through subs, the same functions the CLI runs.
 *
 * A route is one table row: a path prefix and a handler per method. The
 * handler gets the resolved call (subscriber, theme, subscription) and
 * picks a page and a status; rendering and the security headers are the
 * same for every route.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sysexits.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "addr.h"
#include "compose.h"
#include "conf.h"
#include "log.h"
#include "ratelimit.h"
#include "secret.h"
#include "store.h"
#include "subs.h"
#include "template.h"
#include "token.h"
#include "util.h"
#include "web.h"

#define FORM_PURPOSE	"web-form"
#define FORM_BYTES	16		/* of the HMAC, as 32 hex digits */
#define MAX_FIELDS	64		/* form fields kept of one body */
#define SOURCE		"web"
#define SUBSCRIBE_FORM_LIFE 7200	/* seconds a subscribe form is good */
#define LIMIT_KEYS	4096		/* keys each rate limit remembers */

enum page {
	P_UNSUBSCRIBE, P_UNSUBSCRIBED, P_RESUBSCRIBED, P_PREFERENCES, P_SAVED,
	P_NOTFOUND, P_ERROR, P_CONFIRM, P_CONFIRMED, P_EXPIRED, P_SUBSCRIBE,
	P_CHECK_MAIL, P_LIMIT, NPAGES
};
static const char *const page_names[NPAGES] = {
	"page-unsubscribe", "page-unsubscribed", "page-resubscribed",
	"page-preferences", "page-saved", "page-notfound", "page-error",
	"page-confirm", "page-confirmed", "page-expired", "page-subscribe",
	"page-check-mail", "page-limit"
};
/* The languages a theme may have (theme_check_lang); the first is the
 * fallback of pages that belong to no theme. */
static const char *const langs[] = { "en", "sv" };
#define NLANGS	(sizeof langs / sizeof langs[0])

/* What one configuration makes of the web side: shared by the requests
 * that started under it, freed by the last. */
struct site {
	struct template	*t[NPAGES][NLANGS];
	struct config	*cfg;		/* a copy: subs mails with it */
	int		 trust_proxy;
	int		 refs;			/* under web->mu */
};

/* What a running request borrows: never shared by two at once. */
struct wctx {
	struct store		*st;
	struct subs		*subs;
	struct token		*tok;
	struct secret_mac	*form;
	struct buf		 out;
	struct wctx		*next;
};

struct web {
	const char		*db_path;
	const struct secret	*secret;
	struct MHD_Daemon	*mhd;		/* NULL: off */
	char			 addr[96];
	/* The listener's settings, to see whether a reload changes them. */
	char			*listen;
	long long		 timeout, max_conn, threads;
	pthread_mutex_t		 mu;
	struct site		*site;		/* under mu */
	struct wctx		*idle;		/* under mu */
	atomic_int		 starting;
	char			 start_err[256];
	/* The subscribe form's limits; they outlive reloads. */
	struct ratelimit	*per_client;	/* an hour per client */
	struct ratelimit	*per_address;	/* a day per address */
};

struct field {
	char		*key;
	struct buf	 val;
};

/* One request's state, from its headers to its completion. */
struct req {
	uint64_t		 body_len;
	int			 too_big;
	int			 bad_form;
	struct MHD_PostProcessor *pp;
	struct field		 f[MAX_FIELDS];
	size_t			 nf;
	/* A subscribe request's confirmation, mailed once the answer is
	 * out (on_completed), so the answer's timing tells nothing. */
	struct subs_request_result *mail;
	struct site		*mail_site;
};

/* A request on a token route, resolved. */
struct call {
	struct web		*w;
	struct site		*site;
	struct wctx		*x;
	struct req		*r;
	struct MHD_Connection	*c;
	char			 token[TOKEN_BUF];	/* lower case */
	char			 form[2 * FORM_BYTES + 1];
	char			 client[INET6_ADDRSTRLEN + 8];
	struct token_ids	 ids;
	struct token_confirm	 conf;		/* of a /c token */
	int64_t			 now;
	int64_t			 retry_after;	/* 429: seconds, else 0 */
	char			*email;
	struct store_theme	*theme;
	int			 status;	/* of the subscription */
	size_t			 lang;
	json_t			*data;		/* the page's layer */
	enum page		 page;
	unsigned		 code;
	struct error		 err;
};

/* Resolves the path's rest (a token, a slug): 1 found, 0 the 404, -1
 * error. A handler picks the page; both return -1 only for errors. */
typedef int	resolve_fn(struct call *, const char *rest);
typedef int	handler_fn(struct call *);

static int	resolve_subscription(struct call *, const char *);
static int	resolve_confirm(struct call *, const char *);
static int	resolve_theme(struct call *, const char *);

static int	unsub_get(struct call *);
static int	unsub_post(struct call *);
static int	prefs_get(struct call *);
static int	prefs_post(struct call *);
static int	confirm_get(struct call *);
static int	confirm_post(struct call *);
static int	subscribe_get(struct call *);
static int	subscribe_post(struct call *);

/*
 * The routes: a prefix followed by one path segment, what resolves the
 * segment, and a handler per method (GET also answers HEAD). A new page
 * is a row, a handler and, for a new kind of segment, a resolver.
 */
static const struct route {
	const char	*prefix;
	resolve_fn	*resolve;
	handler_fn	*get;
	handler_fn	*post;
} routes[] = {
	{ "/u/", resolve_subscription, unsub_get, unsub_post },
	{ "/p/", resolve_subscription, prefs_get, prefs_post },
	{ "/c/", resolve_confirm, confirm_get, confirm_post },
	{ "/s/", resolve_theme, subscribe_get, subscribe_post },
};

/* ---- pages ---- */

static void
site_free(struct site *s)
{
	if (s == NULL)
		return;
	for (size_t p = 0; p < NPAGES; p++)
		for (size_t l = 0; l < NLANGS; l++)
			template_free(s->t[p][l]);
	conf_free(s->cfg);
	free(s);
}

static int
site_load(const struct config *cfg, struct site **site_r, struct error *err)
{
	struct site *s = xcalloc(1, sizeof *s);

	for (size_t p = 0; p < NPAGES; p++)
		for (size_t l = 0; l < NLANGS; l++)
			if (compose_template(cfg, page_names[p], langs[l],
			    "html", &s->t[p][l], err) == -1) {
				site_free(s);
				return -1;
			}
	s->cfg = conf_dup(cfg);
	s->trust_proxy = cfg->http_trust_proxy != 0;
	s->refs = 1;
	*site_r = s;
	return 0;
}

static struct site *
site_take(struct web *w)
{
	struct site *s;

	pthread_mutex_lock(&w->mu);
	s = w->site;
	s->refs++;
	pthread_mutex_unlock(&w->mu);
	return s;
}

static void
site_drop(struct web *w, struct site *s)
{
	int last;

	pthread_mutex_lock(&w->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (last)
		site_free(s);
}

static size_t
lang_index(const char *lang)
{
	for (size_t i = 0; i < NLANGS; i++)
		if (lang != NULL && strcmp(lang, langs[i]) == 0)
			return i;
	return 0;
}

/*
 * The language of a page that belongs to no theme (404, 405, 413): the
 * first of ours the browser names in Accept-Language. It depends on the
 * request's headers only, never on the URL, so it tells nothing.
 */
static size_t
lang_accepted(struct MHD_Connection *c)
{
	const char *al = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT_LANGUAGE);
	const char *p = al;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		for (size_t i = 0; i < NLANGS; i++) {
			size_t n = strlen(langs[i]);

			if (strncasecmp(p, langs[i], n) == 0 &&
			    strchr("-;, ", p[n] != '\0' ? p[n] : ' ') != NULL)
				return i;
		}
		p = strchr(p, ',');
	}
	return 0;
}

/* ---- contexts ---- */

static void
wctx_free(struct wctx *x)
{
	if (x == NULL)
		return;
	subs_free(x->subs);
	token_free(x->tok);
	secret_mac_free(x->form);
	store_close(x->st);
	buf_free(&x->out);
	free(x);
}

/* An idle context, or a new one (its own store handle). NULL on error. */
static struct wctx *
wctx_take(struct web *w)
{
	struct wctx *x;
	struct error err = { 0 };

	pthread_mutex_lock(&w->mu);
	if ((x = w->idle) != NULL)
		w->idle = x->next;
	pthread_mutex_unlock(&w->mu);
	if (x != NULL)
		return x;
	x = xcalloc(1, sizeof *x);
	if (store_open(w->db_path, &x->st, &err) == -1) {
		log_warnx("http: %s", err.msg);
		free(x);
		return NULL;
	}
	x->subs = subs_new(x->st, (struct secret *)w->secret);
	x->tok = token_new(w->secret);
	x->form = secret_mac_new(w->secret, FORM_PURPOSE);
	return x;
}

static void
wctx_give(struct web *w, struct wctx *x)
{
	if (x == NULL)
		return;
	buf_reset(&x->out);
	pthread_mutex_lock(&w->mu);
	x->next = w->idle;
	w->idle = x;
	pthread_mutex_unlock(&w->mu);
}

/* ---- responses ---- */

/*
 * The CSP hash source of the page's one <style> element, so the policy
 * allows exactly the stylesheet the template carries and nothing else.
 */
static void
style_hash(const char *html, size_t len, char *out, size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int mdlen = 0;
	const char *start, *end;

	out[0] = '\0';
	(void)len;			/* html is NUL-terminated */
	if ((start = strstr(html, "<style>")) == NULL)
		return;
	start += 7;
	if ((end = strstr(start, "</style>")) == NULL)
		return;
	EVP_Digest(start, (size_t)(end - start), md, &mdlen, EVP_sha256(),
	    NULL);
	EVP_EncodeBlock(b64, md, (int)mdlen);
	snprintf(out, outlen, " 'sha256-%s'", b64);
}

/* An extra response header (Allow, Retry-After), or { NULL }. */
struct hdr {
	const char	*name;
	char		 value[32];
};

static enum MHD_Result
respond(struct MHD_Connection *c, unsigned code, const char *body,
    size_t len, const struct hdr *extra)
{
	struct MHD_Response *resp;
	char style[128], csp[256];
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	style_hash(body, len, style, sizeof style);
	snprintf(csp, sizeof csp, "default-src 'none'; style-src%s; "
	    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	    style[0] ? style : " 'none'");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/html; charset=utf-8");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", csp);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	if (extra != NULL && extra->name != NULL)
		MHD_add_response_header(resp, extra->name, extra->value);
	ret = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * Renders page in language lang with data (borrowed) and queues it. A
 * template that fails to render gives a bare 500: the pages are checked
 * when loaded, so that is a bug, not a state to dress up.
 */
static enum MHD_Result
send_page(struct MHD_Connection *c, const struct site *s, struct buf *out,
    enum page page, size_t lang, json_t *data, unsigned code,
    const struct hdr *extra)
{
	json_t *stack[1] = { data };
	struct error err = { 0 };
	static const char fail[] = "<!DOCTYPE html><title>500</title>";

	buf_reset(out);
	json_object_set_new(data, "lang", json_string(langs[lang]));
	if (template_render(s->t[page][lang], stack, 1, out, &err) == -1) {
		log_warnx("http: %s.%s.html: %s", page_names[page],
		    langs[lang], err.msg);
		return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, fail,
		    sizeof fail - 1, NULL);
	}
	return respond(c, code, out->data ? out->data : "", out->len, extra);
}

/* A page that belongs to no subscriber: 404, 405, 413, 500. */
static enum MHD_Result
send_plain(struct web *w, struct MHD_Connection *c, enum page page,
    const char *flag, unsigned code, const struct hdr *extra)
{
	struct site *s = site_take(w);
	struct buf out = { 0 };
	json_t *data = json_object();
	enum MHD_Result ret;

	if (flag != NULL)
		json_object_set_new(data, flag, json_true());
	ret = send_page(c, s, &out, page, lang_accepted(c), data, code,
	    extra);
	json_decref(data);
	buf_free(&out);
	site_drop(w, s);
	return ret;
}

/* ---- the client ---- */

static int
is_ip(const char *s)
{
	unsigned char b[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int
is_loopback(const char *s)
{
	return strncmp(s, "127.", 4) == 0 || strcmp(s, "::1") == 0;
}

/*
 * Who asked, for the log. Behind a reverse proxy ([http] trust_proxy)
 * it is the rightmost X-Forwarded-For address that is not the proxy
 * itself (the peer) or on loopback: everything left of it was written by
 * the client and proves nothing.
 */
static void
client_address(struct MHD_Connection *c, int trust_proxy, char *out,
    size_t len)
{
	const union MHD_ConnectionInfo *ci;
	const char *xff;
	char peer[INET6_ADDRSTRLEN + 8] = "?", cand[INET6_ADDRSTRLEN + 8];
	size_t end;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL)
		getnameinfo(ci->client_addr, ci->client_addr->sa_family ==
		    AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in), peer, sizeof peer, NULL, 0,
		    NI_NUMERICHOST);
	snprintf(out, len, "%s", peer);
	if (!trust_proxy || (xff = MHD_lookup_connection_value(c,
	    MHD_HEADER_KIND, "X-Forwarded-For")) == NULL)
		return;
	end = strlen(xff);
	while (end > 0) {
		size_t start = end, next, n;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		next = start > 0 ? start - 1 : 0;	/* the comma */
		n = end - start;
		while (n > 0 && isspace((unsigned char)xff[start])) {
			start++;
			n--;
		}
		while (n > 0 && isspace((unsigned char)xff[start + n - 1]))
			n--;
		if (n == 0 || n >= sizeof cand)
			return;
		memcpy(cand, xff + start, n);
		cand[n] = '\0';
		if (!is_ip(cand))
			return;		/* garbage: keep the peer */
		if (!is_loopback(cand) && strcmp(cand, peer) != 0) {
			snprintf(out, len, "%s", cand);
			return;
		}
		end = next;
	}
}

/* ---- forms ---- */

static enum MHD_Result
field_cb(void *arg, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *ctype, const char *enc,
    const char *data, uint64_t off, size_t size)
{
	struct req *r = arg;
	struct field *f;

	(void)filename, (void)ctype, (void)enc;
	if (kind != MHD_POSTDATA_KIND || key == NULL)
		return MHD_YES;
	if (off == 0 || r->nf == 0 || strcmp(r->f[r->nf - 1].key, key) != 0) {
		if (r->nf == MAX_FIELDS) {
			r->bad_form = 1;
			return MHD_NO;
		}
		f = &r->f[r->nf++];
		f->key = xstrdup(key);
		buf_init(&f->val);
		buf_addstr(&f->val, "");
	} else
		f = &r->f[r->nf - 1];
	if (size > 0)
		buf_add(&f->val, data, size);
	return MHD_YES;
}

/* The value of the first field called key, or NULL. */
static const char *
field(const struct req *r, const char *key)
{
	for (size_t i = 0; i < r->nf; i++)
		if (strcmp(r->f[i].key, key) == 0)
			return r->f[i].val.data;
	return NULL;
}

static void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	if (r->pp != NULL)
		MHD_destroy_post_processor(r->pp);
	for (size_t i = 0; i < r->nf; i++) {
		free(r->f[i].key);
		buf_free(&r->f[i].val);
	}
	free(r->mail);
	free(r);
}

/* Whether the request carries the form field its token's pages hold. */
static int
form_ok(const struct call *k)
{
	const char *v = field(k->r, "form");

	return v != NULL && strlen(v) == sizeof k->form - 1 &&
	    CRYPTO_memcmp(v, k->form, sizeof k->form - 1) == 0;
}

/* ---- the token routes ---- */

/* The layer every subscription page gets. */
static void
call_data(struct call *k)
{
	json_object_set_new(k->data, "token", json_string(k->token));
	json_object_set_new(k->data, "form", json_string(k->form));
	json_object_set_new(k->data, "email", json_string(k->email ?
	    k->email : ""));
	json_object_set_new(k->data, "theme_name",
	    json_string(k->theme->name));
	json_object_set_new(k->data, "theme_slug",
	    json_string(k->theme->slug));
}

/* The form field of message msg: its HMAC, in hex, into out. */
static void
form_mac(struct call *k, const char *msg, char *out)
{
	unsigned char mac[SECRET_MAC_LEN];

	secret_mac(k->x->form, msg, strlen(msg), mac);
	for (size_t i = 0; i < FORM_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* The path's token, in lower case, into k->token; 0 when it cannot be
 * one. */
static int
take_token(struct call *k, const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || n >= sizeof k->token)
		return 0;
	for (size_t i = 0; i <= n; i++)
		k->token[i] = (char)tolower((unsigned char)text[i]);
	return 1;
}

/*
 * The subscriber, theme and subscription k->ids name, and the page's
 * form field for k->token: 1, or 0 when one is gone (the 404), -1 on a
 * database error. Without need_sub only the theme must be there: a
 * missing subscriber or subscription is status -1 (email "").
 */
static int
resolve_ids(struct call *k, int need_sub)
{
	int r;

	if ((r = store_subscriber_get(k->x->st, k->ids.subscriber, &k->email,
	    NULL, &k->err)) == -1 || (r == 0 && need_sub))
		return r;
	if ((r = store_theme_by_id(k->x->st, k->ids.theme, &k->theme,
	    &k->err)) != 1)
		return r;
	k->status = -1;
	if (k->email != NULL) {
		r = store_subscription_get(k->x->st, k->ids.subscriber,
		    k->ids.theme, &k->status, &k->err);
		if (r == -1 || (r == 0 && need_sub))
			return r;
		if (r == 0)
			k->status = -1;
	}
	form_mac(k, k->token, k->form);
	k->lang = lang_index(k->theme->lang);
	call_data(k);
	return 1;
}

/*
 * An unsubscribe token's subscription: 1 found, 0 not (the 404 for every
 * reason), -1 on a database error.
 */
static int
resolve_subscription(struct call *k, const char *text)
{
	if (!take_token(k, text) ||
	    token_parse(k->x->tok, TOKEN_UNSUBSCRIBE, k->token, &k->ids) == -1)
		return 0;
	return resolve_ids(k, 1);
}

/*
 * A confirmation token's request: as resolve_subscription, but a request
 * whose pending subscription expired and was removed (with its
 * subscriber, when that was all it had) still resolves while its theme
 * exists: the MAC proves the link is ours, and its page only says that
 * it expired. A token from the future is forged (subs_confirm judges it
 * the same way).
 */
static int
resolve_confirm(struct call *k, const char *text)
{
	if (!take_token(k, text) ||
	    token_confirm_parse(k->x->tok, k->token, &k->conf) == -1 ||
	    k->conf.issued > k->now + 300)
		return 0;
	k->ids.subscriber = k->conf.subscriber;
	k->ids.theme = k->conf.theme;
	return resolve_ids(k, 0);
}

/* The error page with its reason (a flag the template tests). */
static int
refuse(struct call *k, unsigned code, const char *why)
{
	k->code = code;
	k->page = P_ERROR;
	json_object_set_new(k->data, why, json_true());
	return 0;
}

static int
is_on(int status)
{
	return status == STORE_ACTIVE || status == STORE_PENDING;
}

static int
unsub_get(struct call *k)
{
	if (is_on(k->status))
		k->page = P_UNSUBSCRIBE;
	else {
		k->page = P_UNSUBSCRIBED;
		json_object_set_new(k->data, "already", json_true());
	}
	return 0;
}

static int
resubscribe(struct call *k)
{
	char *slug = k->theme->slug;

	if (!form_ok(k))
		return refuse(k, MHD_HTTP_FORBIDDEN, "forbidden");
	if (k->status != STORE_ACTIVE) {
		if (subs_add(k->x->subs, k->email, NULL, &slug, 1, 0, SOURCE,
		    NULL, NULL, &k->err) == -1) {
			if (k->err.code != EX_DATAERR)
				return -1;
			/* Suppressed: only a communicator may undo that. */
			log_info("http: %s: subscriber %lld not resubscribed "
			    "to %s: %s", k->client,
			    (long long)k->ids.subscriber, slug, k->err.msg);
			return refuse(k, MHD_HTTP_CONFLICT, "suppressed");
		}
		log_info("http: %s: subscriber %lld resubscribed to %s",
		    k->client, (long long)k->ids.subscriber, slug);
	}
	k->page = P_RESUBSCRIBED;
	return 0;
}

/*
 * RFC 8058: the body's List-Unsubscribe=One-Click is the whole request;
 * no form field, no cookie, no redirect. Done twice, the second is
 * "already unsubscribed", not an error.
 */
static int
unsub_post(struct call *k)
{
	const char *v;

	if ((v = field(k->r, "resubscribe")) != NULL && strcmp(v, "1") == 0)
		return resubscribe(k);
	if ((v = field(k->r, "List-Unsubscribe")) == NULL ||
	    strcmp(v, "One-Click") != 0) {
		return refuse(k, MHD_HTTP_BAD_REQUEST, "bad");
	}
	k->page = P_UNSUBSCRIBED;
	if (!is_on(k->status)) {
		json_object_set_new(k->data, "already", json_true());
		return 0;
	}
	if (subs_remove(k->x->subs, k->email, k->theme->slug, SOURCE, NULL,
	    NULL, &k->err) == -1)
		return -1;
	log_info("http: %s: subscriber %lld unsubscribed from %s", k->client,
	    (long long)k->ids.subscriber, k->theme->slug);
	return 0;
}

struct theme_list {
	json_t		*themes;
	int		 any_on;
};

static int
add_theme(const struct store_theme *t, void *arg)
{
	struct theme_list *tl = arg;
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(t->id));
	json_object_set_new(o, "slug", json_string(t->slug));
	json_object_set_new(o, "name", json_string(t->name));
	json_object_set_new(o, "description", json_string(t->description ?
	    t->description : ""));
	json_object_set_new(o, "on", json_false());
	json_object_set_new(o, "status", json_string(""));
	json_array_append_new(tl->themes, o);
	return 0;
}

static int
mark_subs(const struct store_subscriber *s, void *arg)
{
	struct theme_list *tl = arg;
	size_t i;
	json_t *o;

	for (size_t j = 0; j < s->nsubs; j++)
		json_array_foreach(tl->themes, i, o)
			if (json_integer_value(json_object_get(o, "id")) ==
			    s->subs[j].theme_id) {
				json_object_set_new(o, "on",
				    json_boolean(is_on(s->subs[j].status)));
				tl->any_on |= is_on(s->subs[j].status);
				json_object_set_new(o, "status", json_string(
				    store_status_name(s->subs[j].status)));
			}
	return 1;
}

/* Every theme with this subscriber's state, into data's "themes". */
static int
list_themes(struct call *k)
{
	struct theme_list tl = { json_array(), 0 };
	struct addr a;
	int rc;

	json_object_set_new(k->data, "themes", tl.themes);
	if (addr_parse(k->email, &a, &k->err) == -1)
		return -1;
	if (store_theme_each(k->x->st, add_theme, &tl, &k->err) == -1)
		return -1;
	rc = store_subscriber_foreach(k->x->st, a.key, 0, -1, mark_subs, &tl,
	    &k->err);
	json_object_set_new(k->data, "any_on", json_boolean(tl.any_on));
	return rc == -1 ? -1 : 0;
}

static int
prefs_get(struct call *k)
{
	k->page = P_PREFERENCES;
	return list_themes(k);
}

static int
checked(const struct req *r, const char *slug)
{
	for (size_t i = 0; i < r->nf; i++)
		if (strcmp(r->f[i].key, "theme") == 0 &&
		    strcmp(r->f[i].val.data, slug) == 0)
			return 1;
	return 0;
}

/*
 * Applies the form in one transaction: every checked theme not followed
 * is subscribed, every unchecked one followed is left. A suppressed
 * address changes nothing.
 */
static int
prefs_post(struct call *k)
{
	struct store *st = k->x->st;
	json_t *o;
	size_t i;
	int nchanged = 0;

	if (!form_ok(k))
		return refuse(k, MHD_HTTP_FORBIDDEN, "forbidden");
	if (list_themes(k) == -1 || store_begin(st, &k->err) == -1)
		return -1;
	json_array_foreach(json_object_get(k->data, "themes"), i, o) {
		char *slug = (char *)json_string_value(json_object_get(o,
		    "slug"));
		int want = checked(k->r, slug), have = json_is_true(
		    json_object_get(o, "on")), r;

		if (want == have)
			continue;
		r = want ? subs_add(k->x->subs, k->email, NULL, &slug, 1, 0,
		    SOURCE, NULL, NULL, &k->err) : subs_remove(k->x->subs,
		    k->email, slug, SOURCE, NULL, NULL, &k->err);
		if (r == -1) {
			store_rollback(st);
			if (k->err.code != EX_DATAERR)
				return -1;
			return refuse(k, MHD_HTTP_CONFLICT, "suppressed");
		}
		nchanged++;
	}
	if (store_commit(st, &k->err) == -1) {
		store_rollback(st);
		return -1;
	}
	if (nchanged > 0)
		log_info("http: %s: subscriber %lld changed %d theme%s",
		    k->client, (long long)k->ids.subscriber, nchanged,
		    nchanged == 1 ? "" : "s");
	k->page = P_SAVED;
	return list_themes(k);
}

/* ---- double opt-in: /c/TOKEN ---- */

/* The link's age has run out ([subscribe] pending_days). */
static int
confirm_expired(const struct call *k)
{
	return k->now - k->conf.issued >
	    k->site->cfg->subscribe_pending_days * 86400;
}

/*
 * The address's other pending requests, into data's "others" (slug,
 * name): at most one confirmation mail goes out a day, so a second theme
 * asked for meanwhile is offered here, a box for each, unticked.
 */
static int
pending_others(struct call *k)
{
	json_t *others = json_array(), *o;
	size_t i;

	if (list_themes(k) == -1) {
		json_decref(others);
		return -1;
	}
	json_array_foreach(json_object_get(k->data, "themes"), i, o)
		if (json_integer_value(json_object_get(o, "id")) !=
		    k->ids.theme && strcmp(json_string_value(json_object_get(o,
		    "status")), store_status_name(STORE_PENDING)) == 0) {
			json_t *t = json_object();

			json_object_set(t, "slug", json_object_get(o, "slug"));
			json_object_set(t, "name", json_object_get(o, "name"));
			json_array_append_new(others, t);
		}
	json_object_del(k->data, "themes");
	json_object_del(k->data, "any_on");
	json_object_set_new(k->data, "has_others",
	    json_boolean(json_array_size(others) > 0));
	json_object_set_new(k->data, "others", others);
	return 0;
}

/* The page only: a GET never confirms (link scanners open links). */
static int
confirm_get(struct call *k)
{
	if (k->status == STORE_ACTIVE) {
		k->page = P_CONFIRMED;
		json_object_set_new(k->data, "already", json_true());
	} else if (k->status != STORE_PENDING || confirm_expired(k))
		k->page = P_EXPIRED;
	else {
		k->page = P_CONFIRM;
		return pending_others(k);
	}
	return 0;
}

/*
 * The themes ticked on the confirmation page ("also"), each confirmed if
 * it is still a pending request of the same address; their names go into
 * data's "also" for the page.
 */
static int
confirm_also(struct call *k)
{
	json_t *also = json_array();
	struct store_theme *t;
	int r, done;

	json_object_set_new(k->data, "also", also);
	for (size_t i = 0; i < k->r->nf; i++) {
		if (strcmp(k->r->f[i].key, "also") != 0)
			continue;
		t = NULL;
		if ((r = store_theme_by_slug(k->x->st, k->r->f[i].val.data, &t,
		    &k->err)) == -1)
			return -1;
		if (r == 1 && subs_confirm_also(k->x->subs, k->token, t->id,
		    k->site->cfg->subscribe_pending_days, SOURCE, k->now,
		    &done, &k->err) == -1) {
			store_theme_free(t);
			return -1;
		}
		if (r == 1 && done) {
			log_info("http: %s: subscriber %lld confirmed %s",
			    k->client, (long long)k->ids.subscriber, t->slug);
			json_array_append_new(also, json_string(t->name));
		}
		store_theme_free(t);
	}
	json_object_set_new(k->data, "has_also",
	    json_boolean(json_array_size(also) > 0));
	return 0;
}

static int
confirm_post(struct call *k)
{
	struct subs_confirm_result res;

	if (!form_ok(k))
		return refuse(k, MHD_HTTP_FORBIDDEN, "forbidden");
	if (subs_confirm(k->x->subs, k->token,
	    k->site->cfg->subscribe_pending_days, SOURCE, k->now, &res,
	    &k->err) == -1)
		return -1;
	switch (res.outcome) {
	case SUBS_CONFIRMED:
		log_info("http: %s: subscriber %lld confirmed %s", k->client,
		    (long long)res.subscriber_id, k->theme->slug);
		k->page = P_CONFIRMED;
		return confirm_also(k);
	case SUBS_CONFIRMED_BEFORE:
		k->page = P_CONFIRMED;
		json_object_set_new(k->data, "already", json_true());
		return confirm_also(k);
	case SUBS_CONFIRM_EXPIRED:
		k->page = P_EXPIRED;
		break;
	default:
		/* Not reached after resolve_confirm; the 404 all the same. */
		json_object_clear(k->data);
		k->page = P_NOTFOUND;
		k->code = MHD_HTTP_NOT_FOUND;
		k->lang = lang_accepted(k->c);
	}
	return 0;
}

/* ---- the subscribe form: /s/SLUG ---- */

struct slug_find {
	const char	*slug;
	int64_t		 id;
};

static int
slug_match(const struct store_theme *t, void *arg)
{
	struct slug_find *f = arg;

	if (strcmp(t->slug, f->slug) == 0)
		f->id = t->id;
	return 0;
}

/*
 * The form field of a subscribe form for slug issued at t: the HMAC of
 * "s|SLUG|T" under the form key. Token pages MAC their token (base32,
 * never a '|'), so no page's field is valid on another.
 */
static void
subscribe_mac(struct call *k, int64_t t, char *out)
{
	char msg[160];

	snprintf(msg, sizeof msg, "s|%s|%lld", k->theme->slug, (long long)t);
	form_mac(k, msg, out);
}

/*
 * A theme by its slug: 1, 0 (unknown: the 404), -1. The themes are
 * walked rather than looked up by slug, which would also count the
 * theme's subscribers: this page is public and must stay cheap.
 */
static int
resolve_theme(struct call *k, const char *slug)
{
	struct slug_find f = { slug, 0 };
	int r;

	if (*slug == '\0' || strlen(slug) > 64)
		return 0;
	if (store_theme_each(k->x->st, slug_match, &f, &k->err) == -1)
		return -1;
	if (f.id == 0)
		return 0;
	if ((r = store_theme_by_id(k->x->st, f.id, &k->theme, &k->err)) != 1)
		return r;
	k->lang = lang_index(k->theme->lang);
	subscribe_mac(k, k->now, k->form);
	json_object_set_new(k->data, "theme_name",
	    json_string(k->theme->name));
	json_object_set_new(k->data, "theme_slug",
	    json_string(k->theme->slug));
	json_object_set_new(k->data, "issued", json_integer(k->now));
	json_object_set_new(k->data, "form", json_string(k->form));
	return 1;
}

static int
subscribe_get(struct call *k)
{
	k->page = P_SUBSCRIBE;
	return 0;
}

/*
 * Whether the POST carries a form this site issued for this theme less
 * than SUBSCRIBE_FORM_LIFE seconds ago (compared in constant time).
 */
static int
subscribe_form_ok(struct call *k)
{
	const char *t = field(k->r, "issued"), *v = field(k->r, "form");
	char want[sizeof k->form];
	char *end;
	long long issued;

	if (t == NULL || v == NULL || *t == '\0')
		return 0;
	errno = 0;
	issued = strtoll(t, &end, 10);
	if (errno != 0 || *end != '\0' || issued > k->now + 60 ||
	    k->now - issued > SUBSCRIBE_FORM_LIFE)
		return 0;
	subscribe_mac(k, issued, want);
	return strlen(v) == sizeof want - 1 &&
	    CRYPTO_memcmp(v, want, sizeof want - 1) == 0;
}

/* Typed text a page may show again (json_string takes UTF-8 only). */
static int
utf8_ok(const char *s)
{
	return util_valid_utf8(s, strlen(s));
}

/* Over a limit: the 429 page with Retry-After. */
static int
limited(struct call *k, const char *which, int64_t retry)
{
	log_info("http: %s: subscribe form for %s: over the %s limit",
	    k->client, k->theme->slug, which);
	k->page = P_LIMIT;
	k->code = MHD_HTTP_TOO_MANY_REQUESTS;
	k->retry_after = retry;
	json_object_set_new(k->data, "minutes",
	    json_integer((retry + 59) / 60));
	return 0;
}

/* The form again with what was typed and why it was not taken. */
static int
reshow(struct call *k, const char *why, const char *email,
    const char *name)
{
	k->page = P_SUBSCRIBE;
	k->code = MHD_HTTP_BAD_REQUEST;
	json_object_set_new(k->data, why, json_true());
	json_object_set_new(k->data, "email", json_string(email));
	json_object_set_new(k->data, "name", json_string(name));
	return 0;
}

static const char *
request_outcome_name(int outcome)
{
	switch (outcome) {
	case SUBS_REQ_MAIL_DUE:
		return "mail due";
	case SUBS_REQ_THROTTLED:
		return "no mail (one went out in the last 24 hours)";
	case SUBS_REQ_ACTIVE:
		return "already active";
	case SUBS_REQ_SUPPRESSED:
		return "suppressed";
	default:
		return "done";
	}
}

/*
 * Starts double opt-in. Every request that gets this far answers with the
 * same check-your-mailbox page and nothing in it that depends on the
 * address's state; the confirmation mail, when one is due, goes out after
 * the answer (on_completed), so its SMTP round trip is not in the
 * response time either.
 */
static int
subscribe_post(struct call *k)
{
	struct web *w = k->w;
	struct subs_request_result res;
	const char *email = field(k->r, "email"), *name0 = field(k->r, "name");
	char name[512];
	struct addr a;
	struct error ignored;
	int64_t retry = 0;

	if (!subscribe_form_ok(k)) {
		json_object_set_new(k->data, "stale", json_true());
		return refuse(k, MHD_HTTP_FORBIDDEN, "forbidden");
	}
	if (!ratelimit_hit(w->per_client, k->client,
	    k->site->cfg->http_subscribe_per_client_hour, k->now, &retry))
		return limited(k, "per-client", retry);
	snprintf(name, sizeof name, "%s", name0 ? name0 : "");
	util_trim(name);
	if (email == NULL || utf8_ok(email) == 0 ||
	    addr_parse(email, &a, &ignored) == -1)
		return reshow(k, "bad_email", email && utf8_ok(email) ?
		    email : "", name);
	if (utf8_ok(name) == 0 || (*name != '\0' &&
	    addr_check_name(name, &ignored) == -1))
		return reshow(k, "bad_name", email, "");
	if (!ratelimit_hit(w->per_address, a.key,
	    k->site->cfg->http_subscribe_per_address_day, k->now, &retry))
		return limited(k, "per-address", retry);
	if (subs_request(k->x->subs, a.email, name, k->theme->slug, SOURCE,
	    k->now, SUBS_DEFER_MAIL, &res, &k->err) == -1) {
		if (k->err.code != EX_DATAERR)
			return -1;
		return reshow(k, "bad_email", email, name);
	}
	log_info("http: %s: subscribe request for %s: subscriber %lld: %s",
	    k->client, k->theme->slug, (long long)res.subscriber_id,
	    request_outcome_name(res.outcome));
	if (res.outcome == SUBS_REQ_MAIL_DUE) {
		k->r->mail = xmalloc(sizeof res);
		*k->r->mail = res;
		k->r->mail_site = site_take(w);
	}
	json_object_clear(k->data);
	json_object_set_new(k->data, "theme_name",
	    json_string(k->theme->name));
	k->page = P_CHECK_MAIL;
	return 0;
}

static const struct route *
route_of(const char *url, const char **rest_r)
{
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		size_t n = strlen(routes[i].prefix);

		if (strncmp(url, routes[i].prefix, n) == 0 &&
		    strchr(url + n, '/') == NULL) {
			*rest_r = url + n;
			return &routes[i];
		}
	}
	return NULL;
}

/* Runs one request on a route, whose body (if any) is complete. */
static enum MHD_Result
serve(struct web *w, struct MHD_Connection *c, struct req *r,
    const char *method, const struct route *rt, handler_fn *fn,
    const char *rest)
{
	struct call k;
	enum MHD_Result ret;
	int found;

	memset(&k, 0, sizeof k);
	k.w = w;
	k.c = c;
	k.r = r;
	k.code = MHD_HTTP_OK;
	k.site = site_take(w);
	k.now = util_now();
	client_address(c, k.site->trust_proxy, k.client, sizeof k.client);
	if ((k.x = wctx_take(w)) == NULL) {
		ret = send_plain(w, c, P_ERROR, "failed",
		    MHD_HTTP_SERVICE_UNAVAILABLE, NULL);
		goto done;
	}
	subs_set_config(k.x->subs, k.site->cfg);
	k.data = json_object();
	if ((found = rt->resolve(&k, rest)) == 0) {
		ret = send_page(c, k.site, &k.x->out, P_NOTFOUND,
		    lang_accepted(c), k.data, MHD_HTTP_NOT_FOUND, NULL);
		goto done;
	}
	if (found == 1) {
		if (fn(&k) == 0) {
			struct hdr retry = { NULL, "" };

			if (k.retry_after > 0) {
				retry.name = "Retry-After";
				snprintf(retry.value, sizeof retry.value,
				    "%lld", (long long)k.retry_after);
			}
			ret = send_page(c, k.site, &k.x->out, k.page, k.lang,
			    k.data, k.code, &retry);
			goto done;
		}
	}
	log_warnx("http: %s: %s %s: %s", k.client, method, rt->prefix,
	    k.err.msg);
	json_object_clear(k.data);
	json_object_set_new(k.data, "failed", json_true());
	ret = send_page(c, k.site, &k.x->out, P_ERROR, k.lang, k.data,
	    MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
done:
	json_decref(k.data);
	free(k.email);
	store_theme_free(k.theme);
	wctx_give(w, k.x);
	site_drop(w, k.site);
	return ret;
}

/*
 * libmicrohttpd calls this first with the headers (*con_cls NULL), then
 * once per piece of body, then once more with nothing left to read.
 */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct web *w = cls;
	struct req *r = *con_cls;
	const struct route *rt;
	const char *cl, *rest = NULL;
	int get, post;

	(void)version;
	get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
	    strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		*con_cls = r;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		/* Refused before a byte of it is read. */
		if (cl != NULL && strtoull(cl, NULL, 10) > WEB_MAX_BODY) {
			r->too_big = 1;
			return send_plain(w, c, P_ERROR, "toolarge",
			    MHD_HTTP_CONTENT_TOO_LARGE, NULL);
		}
		if (post)
			r->pp = MHD_create_post_processor(c, 1024, field_cb,
			    r);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		r->body_len += *upload_size;
		/* A chunked body that outgrows the limit: no reply is
		 * owed to it, the connection is closed. */
		if (r->body_len > WEB_MAX_BODY)
			return MHD_NO;
		if (r->pp != NULL && !r->bad_form &&
		    MHD_post_process(r->pp, upload, *upload_size) == MHD_NO)
			r->bad_form = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return MHD_NO;
	if ((rt = route_of(url, &rest)) == NULL)
		return send_plain(w, c, P_NOTFOUND, NULL, MHD_HTTP_NOT_FOUND,
		    NULL);
	if (!get && !post) {
		static const struct hdr allow = { MHD_HTTP_HEADER_ALLOW,
		    "GET, HEAD, POST" };

		return send_plain(w, c, P_ERROR, "method",
		    MHD_HTTP_METHOD_NOT_ALLOWED, &allow);
	}
	if (r->bad_form)
		return send_plain(w, c, P_ERROR, "bad", MHD_HTTP_BAD_REQUEST,
		    NULL);
	return serve(w, c, r, method, rt, get ? rt->get : rt->post, rest);
}

/*
 * Mails a subscribe request's confirmation after its answer went out
 * (or the client left: the request stands either way). A failure leaves
 * the request pending and its allowance unspent (subs_request_mail); the
 * person can ask again.
 */
static void
mail_after(struct web *w, struct req *r)
{
	struct wctx *x;
	struct error err = { 0 };

	if ((x = wctx_take(w)) == NULL)
		log_warnx("http: confirmation mail to subscriber %lld not "
		    "sent: no database", (long long)r->mail->subscriber_id);
	else {
		subs_set_config(x->subs, r->mail_site->cfg);
		if (subs_request_mail(x->subs, r->mail, &err) == -1)
			log_warnx("http: confirmation mail to subscriber "
			    "%lld: %s", (long long)r->mail->subscriber_id,
			    err.msg);
		wctx_give(w, x);
	}
	site_drop(w, r->mail_site);
	r->mail_site = NULL;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct req *r = *con_cls;

	(void)c, (void)why;
	if (r != NULL && r->mail != NULL)
		mail_after(cls, r);
	req_free(r);
	*con_cls = NULL;
}

static void
on_log(void *cls, const char *fmt, va_list ap)
{
	struct web *w = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (atomic_load(&w->starting))
		snprintf(w->start_err, sizeof w->start_err, "%s", msg);
	else
		log_warnx("http: %s", msg);
}

/* ---- the listener ---- */

static int
is_off(const char *listen)
{
	return listen == NULL || strcmp(listen, "off") == 0;
}

/* "ADDR:PORT" or "[V6]:PORT" into a socket address. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss,
    struct error *err)
{
	struct addrinfo hints, *ai = NULL;
	char host[256], *end;
	const char *colon, *port;
	long p;
	int rc;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		colon = close + 1;
		if ((size_t)(close - listen - 1) >= sizeof host)
			goto bad;
		memcpy(host, listen + 1, (size_t)(close - listen - 1));
		host[close - listen - 1] = '\0';
	} else {
		if ((colon = strrchr(listen, ':')) == NULL ||
		    (size_t)(colon - listen) >= sizeof host ||
		    memchr(listen, ':', (size_t)(colon - listen)) != NULL)
			goto bad;
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
	}
	port = colon + 1;
	errno = 0;
	p = strtol(port, &end, 10);
	if (*host == '\0' || *port == '\0' || *end != '\0' || errno != 0 ||
	    p < 0 || p > 65535)
		goto bad;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		error_set(err, EX_CONFIG, "[http] listen %s: %s", listen,
		    gai_strerror(rc));
		return -1;
	}
	memset(ss, 0, sizeof *ss);
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
bad:
	error_set(err, EX_CONFIG, "[http] listen %s: not ADDRESS:PORT, "
	    "[IPV6]:PORT or off", listen);
	return -1;
}

static void
format_address(struct web *w)
{
	const union MHD_DaemonInfo *di;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[INET6_ADDRSTRLEN], port[8];

	w->addr[0] = '\0';
	if (w->mhd == NULL || (di = MHD_get_daemon_info(w->mhd,
	    MHD_DAEMON_INFO_LISTEN_FD)) == NULL ||
	    getsockname(di->listen_fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port,
	    sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	snprintf(w->addr, sizeof w->addr, ss.ss_family == AF_INET6 ?
	    "[%s]:%s" : "%s:%s", host, port);
}

static int
listener_start(struct web *w, const struct config *cfg, struct error *err)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;

	free(w->listen);
	w->listen = xstrdup(cfg->http_listen ? cfg->http_listen : "off");
	w->timeout = cfg->http_timeout;
	w->max_conn = cfg->http_max_connections;
	w->threads = cfg->http_threads;
	if (is_off(w->listen))
		return 0;
	if (parse_listen(w->listen, &ss, err) == -1)
		return -1;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	atomic_store(&w->starting, 1);
	w->start_err[0] = '\0';
	/* The logger first, so the options' own warnings reach it; a pool
	 * of one is no pool (libmicrohttpd warns about size 1). */
	w->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, w,
	    MHD_OPTION_EXTERNAL_LOGGER, on_log, w,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned int)(w->threads > 1 ? w->threads : 0),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)w->timeout,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)w->max_conn,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
	    MHD_OPTION_END);
	atomic_store(&w->starting, 0);
	if (w->mhd == NULL) {
		error_set(err, EX_UNAVAILABLE, "[http] listen %s: cannot "
		    "listen%s%s", w->listen, w->start_err[0] ? ": " : "",
		    w->start_err);
		return -1;
	}
	format_address(w);
	return 0;
}

static void
listener_stop(struct web *w)
{
	if (w->mhd != NULL)
		MHD_stop_daemon(w->mhd);
	w->mhd = NULL;
	w->addr[0] = '\0';
}

/* ---- the interface ---- */

int
web_check(const struct config *cfg, struct error *err)
{
	struct sockaddr_storage ss;
	struct site *s = NULL;

	if (!is_off(cfg->http_listen) &&
	    parse_listen(cfg->http_listen, &ss, err) == -1)
		return -1;
	if (site_load(cfg, &s, err) == -1)
		return -1;
	site_free(s);
	return 0;
}

int
web_start(const struct config *cfg, const char *db_path,
    const struct secret *secret, struct web **web_r, struct error *err)
{
	struct web *w = xcalloc(1, sizeof *w);

	w->db_path = db_path;
	w->secret = secret;
	pthread_mutex_init(&w->mu, NULL);
	w->per_client = ratelimit_new(LIMIT_KEYS, 3600);
	w->per_address = ratelimit_new(LIMIT_KEYS, 86400);
	if (site_load(cfg, &w->site, err) == -1 ||
	    listener_start(w, cfg, err) == -1) {
		web_stop(w);
		return -1;
	}
	*web_r = w;
	return 0;
}

void
web_address(const struct web *w, char *out, size_t len)
{
	snprintf(out, len, "%s", w != NULL ? w->addr : "");
}

int
web_reload(struct web *w, const struct config *cfg, struct error *err)
{
	struct site *s = NULL, *old;
	const char *listen = cfg->http_listen ? cfg->http_listen : "off";

	if (site_load(cfg, &s, err) == -1)
		return -1;
	pthread_mutex_lock(&w->mu);
	old = w->site;
	w->site = s;
	pthread_mutex_unlock(&w->mu);
	site_drop(w, old);
	if (w->listen != NULL && strcmp(w->listen, listen) == 0 &&
	    w->timeout == cfg->http_timeout &&
	    w->max_conn == cfg->http_max_connections &&
	    w->threads == cfg->http_threads && (w->mhd != NULL ||
	    is_off(listen)))
		return 0;
	listener_stop(w);
	if (listener_start(w, cfg, err) == -1) {
		size_t n = strlen(err->msg);

		snprintf(err->msg + n, sizeof err->msg - n, "; the web side "
		    "is off until a reload succeeds");
		return -1;
	}
	return 0;
}

void
web_stop(struct web *w)
{
	struct wctx *x;

	if (w == NULL)
		return;
	listener_stop(w);
	while ((x = w->idle) != NULL) {
		w->idle = x->next;
		wctx_free(x);
	}
	if (w->site != NULL)
		site_drop(w, w->site);
	free(w->listen);
	ratelimit_free(w->per_client);
	ratelimit_free(w->per_address);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
