/*
 * html: sanitizing feed HTML and rendering it as plain text, on libxml2's
 * HTML parser. URL resolution is RFC 3986 section 5 (xmlBuildURI), with
 * RFC 3987 IRIs kept readable; text wrapping follows RFC 3676's advice of
 * 72 columns. See html.h for the rules.
 *
 * Both walks are over the tree libxml2 builds for
 * "<html><body>FRAGMENT</body></html>": wrapping the fragment in a body
 * keeps the parser from inventing a <p> around leading text (NOIMPLIED
 * does not stop that), and any <head> matter the fragment carries lands in
 * <head>, which is dropped.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>

#include "html.h"
#include "util.h"

/* Deeper elements are dropped: the walks recurse, and no real post nests
 * this deep. */
#define MAX_DEPTH 200

/* ---- keeping libxml2 quiet ---- */

/*
 * libxml2 reports some errors through its process-wide (per-thread)
 * handlers even with HTML_PARSE_NOERROR, and their default writes to
 * stderr. Modules never print, so the handlers are swapped for silent ones
 * around each parse and the caller's put back after.
 */
struct quiet {
	xmlStructuredErrorFunc	 serror;
	void			*sctx;
	xmlGenericErrorFunc	 generic;
	void			*gctx;
};

static void
silent_serror(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
}

static void
silent_generic(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static void
quiet_on(struct quiet *q)
{
	q->serror = xmlStructuredError;
	q->sctx = xmlStructuredErrorContext;
	q->generic = xmlGenericError;
	q->gctx = xmlGenericErrorContext;
	xmlSetStructuredErrorFunc(NULL, silent_serror);
	xmlSetGenericErrorFunc(NULL, silent_generic);
}

static void
quiet_off(const struct quiet *q)
{
	xmlSetStructuredErrorFunc(q->sctx, q->serror);
	xmlSetGenericErrorFunc(q->gctx, q->generic);
}

/* ---- UTF-8 and text clean-up ---- */

/*
 * Decodes the UTF-8 sequence at s (n > 0 bytes available) into *cp and
 * returns its length, or 0 when it is invalid (overlong, surrogate, beyond
 * U+10FFFF, truncated).
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, unsigned long *cp)
{
	static const unsigned long min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len;
	unsigned long c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static void
utf8_put(struct buf *b, unsigned long c)
{
	char s[4];

	if (c < 0x80) {
		buf_addc(b, (char)c);
		return;
	}
	if (c < 0x800) {
		s[0] = (char)(0xc0 | (c >> 6));
		s[1] = (char)(0x80 | (c & 0x3f));
		buf_add(b, s, 2);
	} else if (c < 0x10000) {
		s[0] = (char)(0xe0 | (c >> 12));
		s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		buf_add(b, s, 3);
	} else {
		s[0] = (char)(0xf0 | (c >> 18));
		s[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		s[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[3] = (char)(0x80 | (c & 0x3f));
		buf_add(b, s, 4);
	}
}

/* windows-1252 0x80-0x9F; 0 where it has no character. */
static const unsigned short cp1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

/* The byte c stood for when UTF-8 was read as windows-1252 (or Latin-1),
 * or -1. */
static int
mojibake_byte(unsigned long c)
{
	if (c >= 0x80 && c <= 0xff)
		return (int)c;
	for (int i = 0; i < 32; i++)
		if (cp1252[i] != 0 && cp1252[i] == c)
			return 0x80 + i;
	return -1;
}

/*
 * UTF-8 that was read as windows-1252 and encoded again: "Ã¥" for "å",
 * "â€™" for "’". Only the leads that make Latin-1 letters (Â, Ã) and
 * general punctuation (â) are undone: other leads are letters of their
 * own (Å, Ä, Ö, å, ä) that real text puts before punctuation. Returns the
 * character meant and its length in *adv, or 0.
 */
static unsigned long
undouble(unsigned long c, const char *s, size_t pos, size_t n, size_t *adv)
{
	unsigned char bytes[3];
	unsigned long orig;
	size_t need;

	if (c != 0xc2 && c != 0xc3 && c != 0xe2)
		return 0;
	need = c == 0xe2 ? 3 : 2;
	bytes[0] = (unsigned char)c;
	for (size_t k = 1; k < need; k++) {
		size_t len = pos < n ? utf8_decode((const unsigned char *)s +
		    pos, n - pos, &c) : 0;
		int b = len > 0 ? mojibake_byte(c) : -1;

		if (b < 0x80 || b > 0xbf)
			return 0;
		bytes[k] = (unsigned char)b;
		pos += len;
	}
	if (utf8_decode(bytes, need, &orig) != need)
		return 0;
	*adv = pos;
	return orig;
}

/*
 * The next character of s as clean text: 0 when it is to be dropped,
 * else its code point. *adv gets the bytes consumed.
 */
static unsigned long
clean_char(const char *s, size_t n, size_t *adv)
{
	unsigned long c, orig;
	size_t len;

	len = utf8_decode((const unsigned char *)s, n, &c);
	if (len == 0) {
		*adv = 1;
		return 0xfffd;
	}
	*adv = len;
	if ((orig = undouble(c, s, len, n, adv)) != 0)
		return orig;
	if (c >= 0x80 && c <= 0x9f)
		return cp1252[c - 0x80];
	if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
		return 0;
	return c;
}

/* Bytes that pass through put_text unchanged: printable ASCII (but the
 * characters HTML escapes), tab, LF, CR. */
static int
plain_byte(unsigned char c, int esc)
{
	if (c >= 0x80 || c == 0x7f || (c < 0x20 && c != '\t' && c != '\n' &&
	    c != '\r'))
		return 0;
	return !esc || (c != '&' && c != '<' && c != '>' && c != '"');
}

/* Clean text out, escaped for HTML when esc is set. */
static void
put_text(struct buf *out, const char *s, size_t n, int esc)
{
	size_t adv;

	for (size_t i = 0; i < n; i += adv) {
		size_t run = 0;

		while (i + run < n && plain_byte((unsigned char)s[i + run], esc))
			run++;
		if (run > 0) {
			buf_add(out, s + i, run);
			adv = run;
			continue;
		}
		unsigned long c = clean_char(s + i, n - i, &adv);

		if (c == 0)
			continue;
		if (esc && c == '&')
			buf_addstr(out, "&amp;");
		else if (esc && c == '<')
			buf_addstr(out, "&lt;");
		else if (esc && c == '>')
			buf_addstr(out, "&gt;");
		else if (esc && c == '"')
			buf_addstr(out, "&quot;");
		else
			utf8_put(out, c);
	}
}

void
html_fix_text(const char *text, size_t len, struct buf *out)
{
	put_text(out, text, len, 0);
}

void
html_escape(const char *text, size_t len, struct buf *out)
{
	put_text(out, text, len, 1);
}

/* ---- URLs ---- */

static const char *const safe_schemes[] = { "http", "https", "mailto",
    "ftp", "tel" };

/* Length of url's scheme (RFC 3986 section 3.1) before its ':', or 0. */
static size_t
scheme_len(const char *url)
{
	size_t i;

	if (!((url[0] >= 'a' && url[0] <= 'z') ||
	    (url[0] >= 'A' && url[0] <= 'Z')))
		return 0;
	for (i = 1; url[i] != '\0' && url[i] != ':'; i++) {
		char c = url[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
			return 0;
	}
	return url[i] == ':' ? i : 0;
}

static int
scheme_is(const char *url, size_t n, const char *const *list, size_t nlist)
{
	for (size_t i = 0; i < nlist; i++)
		if (strlen(list[i]) == n && strncasecmp(url, list[i], n) == 0)
			return 1;
	return 0;
}

static int
is_safe_absolute(const char *url)
{
	size_t n = scheme_len(url);

	return n > 0 && scheme_is(url, n, safe_schemes,
	    sizeof safe_schemes / sizeof safe_schemes[0]);
}

static int
is_web_base(const char *url)
{
	static const char *const web[] = { "http", "https", "ftp" };
	size_t n = scheme_len(url);

	return n > 0 && scheme_is(url, n, web, 3);
}

/*
 * The URL as browsers read an attribute: leading and trailing white space
 * and controls gone, tab/CR/LF and other controls inside removed (WHATWG
 * URL parsing), "http:///host" collapsed to "http://host".
 */
static char *
strip_url(const char *url)
{
	struct buf b = { 0 };
	const unsigned char *s = (const unsigned char *)url;
	size_t n = strlen(url), sl;

	while (n > 0 && s[n - 1] <= 0x20)
		n--;
	while (n > 0 && *s <= 0x20)
		s++, n--;
	buf_addstr(&b, "");
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ')
			buf_addstr(&b, "%20");
		else if (s[i] > 0x20 && s[i] != 0x7f)
			buf_addc(&b, (char)s[i]);
	}
	sl = scheme_len(b.data);
	if (sl > 0 && is_web_base(b.data) && strncmp(b.data + sl, ":///", 4) == 0) {
		size_t k = sl + 3;

		while (b.data[k] == '/')
			k++;
		memmove(b.data + sl + 3, b.data + k, b.len - k + 1);
		b.len -= k - (sl + 3);
	}
	return buf_steal(&b);
}

/* Bytes xmlParseURI refuses (non-ASCII, space, "<>\^`{|}) as %XX. */
static char *
pct_encode(const char *s)
{
	struct buf b = { 0 };

	buf_addstr(&b, "");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 || c == ' ' || strchr("\"<>\\^`{|}", c) != NULL)
			buf_printf(&b, "%%%02X", c);
		else
			buf_addc(&b, (char)c);
	}
	return buf_steal(&b);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Characters that must stay %-escaped in an IRI shown to people:
 * C1 controls, line separators, invisible and bidi controls (RFC 3987
 * section 4.1 and 8). */
static int
iri_hidden(const char *s, size_t n)
{
	unsigned long c;
	size_t len;

	for (size_t i = 0; i < n; i += len) {
		if ((len = utf8_decode((const unsigned char *)s + i, n - i,
		    &c)) == 0)
			return 1;
		if ((c >= 0x80 && c <= 0xa0) || c == 0xad ||
		    (c >= 0x200b && c <= 0x200f) ||
		    (c >= 0x2028 && c <= 0x202e) ||
		    (c >= 0x2060 && c <= 0x206f) || c == 0xfeff)
			return 1;
	}
	return 0;
}

/*
 * %XX escapes of non-ASCII bytes back to UTF-8 (RFC 3987 section 3.2),
 * when the result is valid UTF-8 without hidden characters; s itself
 * otherwise. Takes s.
 */
static char *
iri_decode(char *s)
{
	struct buf b = { 0 };

	buf_addstr(&b, "");
	for (const char *p = s; *p != '\0'; p++) {
		int hi, lo;

		if (p[0] == '%' && (hi = hexval(p[1])) >= 8 &&
		    (lo = hexval(p[2])) >= 0) {
			buf_addc(&b, (char)(hi * 16 + lo));
			p += 2;
		} else
			buf_addc(&b, *p);
	}
	if (iri_hidden(b.data, b.len)) {
		buf_free(&b);
		return s;
	}
	free(s);
	return buf_steal(&b);
}

/* rel resolved against the absolute base, or NULL when either is malformed. */
static char *
resolve(const char *rel, const char *base)
{
	char *r = pct_encode(rel), *bs = pct_encode(base), *res = NULL;
	xmlChar *u = xmlBuildURI((const xmlChar *)r, (const xmlChar *)bs);

	if (u != NULL) {
		res = iri_decode(xstrdup((const char *)u));
		xmlFree(u);
	}
	free(r);
	free(bs);
	return res;
}

char *
html_safe_url(const char *url, const char *base)
{
	char *u, *b = NULL, *res = NULL;

	if (url == NULL)
		return NULL;
	u = strip_url(url);
	if (scheme_len(u) > 0) {
		if (is_safe_absolute(u))
			return u;
		goto done;
	}
	if (base != NULL)
		b = strip_url(base);
	if (b == NULL || !is_web_base(b)) {
		/* No usable base: relative stays relative (never a scheme). */
		res = u;
		u = NULL;
		goto done;
	}
	res = resolve(u, b);
	if (res != NULL && !is_safe_absolute(res)) {
		free(res);
		res = NULL;
	}
done:
	free(u);
	free(b);
	return res;
}

/* ---- tags ---- */

enum {
	T_KEEP = 1,	/* allowed in sanitized output */
	T_VOID = 2,	/* no content, no end tag */
	T_DROP = 4,	/* dropped with everything inside */
	T_PARA = 8,	/* text: a blank line around it */
	T_LINE = 16,	/* text: a line break around it */
};

struct tagdef {
	const char	*name;
	unsigned	 flags;
};

#define K T_KEEP
static const struct tagdef tagdefs[] = {
	{ "a", K }, { "abbr", K }, { "address", K | T_PARA },
	{ "article", T_PARA }, { "aside", T_PARA }, { "b", K }, { "bdi", K },
	{ "bdo", K }, { "big", K }, { "blockquote", K | T_PARA },
	{ "br", K | T_VOID }, { "caption", K | T_LINE }, { "center", T_PARA },
	{ "cite", K }, { "code", K }, { "dd", K | T_LINE }, { "del", K },
	{ "details", T_PARA }, { "dfn", K }, { "div", K | T_LINE },
	{ "dl", K | T_PARA }, { "dt", K | T_LINE }, { "em", K },
	{ "figcaption", K | T_LINE }, { "figure", K | T_PARA },
	{ "footer", T_PARA }, { "h1", K | T_PARA }, { "h2", K | T_PARA },
	{ "h3", K | T_PARA }, { "h4", K | T_PARA }, { "h5", K | T_PARA },
	{ "h6", K | T_PARA }, { "header", T_PARA }, { "hr", K | T_VOID | T_PARA },
	{ "i", K }, { "img", K | T_VOID }, { "ins", K }, { "kbd", K },
	{ "li", K | T_LINE }, { "main", T_PARA }, { "mark", K },
	{ "nav", T_PARA }, { "ol", K | T_PARA }, { "p", K | T_PARA },
	{ "pre", K | T_PARA }, { "q", K }, { "s", K }, { "samp", K },
	{ "section", T_PARA }, { "small", K }, { "span", K }, { "strike", K },
	{ "strong", K }, { "sub", K }, { "summary", T_LINE }, { "sup", K },
	{ "table", K | T_PARA }, { "tbody", K }, { "td", K }, { "tfoot", K },
	{ "th", K }, { "thead", K }, { "time", K }, { "tr", K | T_LINE },
	{ "tt", K }, { "u", K }, { "ul", K | T_PARA }, { "var", K },
	/* Active content, forms, document furniture: gone with their content. */
	{ "applet", T_DROP }, { "audio", T_DROP }, { "base", T_DROP },
	{ "basefont", T_DROP }, { "button", T_DROP }, { "canvas", T_DROP },
	{ "dialog", T_DROP }, { "embed", T_DROP }, { "form", T_DROP },
	{ "frame", T_DROP }, { "frameset", T_DROP }, { "head", T_DROP },
	{ "iframe", T_DROP }, { "input", T_DROP }, { "isindex", T_DROP },
	{ "keygen", T_DROP }, { "link", T_DROP }, { "map", T_DROP },
	{ "math", T_DROP }, { "meta", T_DROP }, { "noembed", T_DROP },
	{ "noframes", T_DROP }, { "noscript", T_DROP }, { "object", T_DROP },
	{ "option", T_DROP }, { "param", T_DROP }, { "script", T_DROP },
	{ "select", T_DROP }, { "source", T_DROP }, { "style", T_DROP },
	{ "svg", T_DROP }, { "template", T_DROP }, { "textarea", T_DROP },
	{ "title", T_DROP }, { "track", T_DROP }, { "video", T_DROP },
	{ "xml", T_DROP }, { "xmp", T_DROP },
};
#undef K

/* Flags of an element; unknown ones (0) are replaced by their content. */
static unsigned
tag_flags(const xmlNode *n)
{
	const char *name = (const char *)n->name;

	/* A prefixed name ("svg:script", "o:p") is foreign: drop "x:script"
	 * and friends by their local name, unwrap the rest. */
	const char *colon = strchr(name, ':');

	if (colon != NULL)
		name = colon + 1;
	for (size_t i = 0; i < sizeof tagdefs / sizeof tagdefs[0]; i++)
		if (strcasecmp(tagdefs[i].name, name) == 0)
			return colon != NULL ? tagdefs[i].flags & T_DROP :
			    tagdefs[i].flags;
	return 0;
}

static int
name_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	    strcasecmp((const char *)n->name, name) == 0;
}

/* ---- parsing ---- */

static htmlDocPtr
parse_html(const char *s, size_t len)
{
	struct buf b = { 0 };
	struct quiet q;
	htmlDocPtr doc = NULL;

	buf_addstr(&b, "<html><body>");
	/* Clean UTF-8 in, so the parser never falls back to Latin-1. */
	put_text(&b, s, len, 0);
	buf_addstr(&b, "</body></html>");
	if (b.len > INT_MAX)
		goto done;
	quiet_on(&q);
	doc = htmlReadMemory(b.data, (int)b.len, NULL, "UTF-8",
	    HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	    HTML_PARSE_NODEFDTD);
	quiet_off(&q);
done:
	buf_free(&b);
	return doc;
}

static xmlNodePtr
content_root(htmlDocPtr doc)
{
	return doc == NULL ? NULL : xmlDocGetRootElement(doc);
}

/* ---- sanitizing ---- */

enum { A_PLAIN, A_URL };

static const struct {
	const char	*name;
	int		 kind;
} attrdefs[] = {
	{ "href", A_URL }, { "src", A_URL }, { "cite", A_URL },
	{ "alt", A_PLAIN }, { "title", A_PLAIN }, { "width", A_PLAIN },
	{ "height", A_PLAIN }, { "colspan", A_PLAIN }, { "rowspan", A_PLAIN },
	{ "start", A_PLAIN }, { "lang", A_PLAIN }, { "dir", A_PLAIN },
	{ "datetime", A_PLAIN },
};

static int
attr_kind(const char *name)
{
	for (size_t i = 0; i < sizeof attrdefs / sizeof attrdefs[0]; i++)
		if (strcasecmp(attrdefs[i].name, name) == 0)
			return attrdefs[i].kind;
	return -1;
}

struct san {
	struct buf	*out;
	const char	*base;
};

static char *
attr_value(xmlAttrPtr a)
{
	xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
	char *s = xstrdup(v != NULL ? (const char *)v : "");

	xmlFree(v);
	return s;
}

/* The element's allowed attributes; -1 when it must go (img without src). */
static int
put_attrs(struct san *s, xmlNodePtr n, struct buf *tag)
{
	int has_src = 0;

	for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
		const char *name = (const char *)a->name;
		int kind = a->ns == NULL ? attr_kind(name) : -1;
		char *v, *url = NULL;

		if (kind < 0)
			continue;
		v = attr_value(a);
		if (kind == A_URL) {
			url = html_safe_url(v, s->base);
			free(v);
			if (url == NULL || *url == '\0') {
				free(url);
				continue;
			}
			v = url;
			if (strcasecmp(name, "src") == 0)
				has_src = 1;
		}
		buf_printf(tag, " %s=\"", name);
		put_text(tag, v, strlen(v), 1);
		buf_addc(tag, '"');
		free(v);
	}
	return name_is(n, "img") && !has_src ? -1 : 0;
}

static void san_children(struct san *, xmlNodePtr, int);

static void
san_element(struct san *s, xmlNodePtr n, int depth)
{
	unsigned f = tag_flags(n);
	struct buf tag = { 0 };

	if ((f & T_DROP) || depth > MAX_DEPTH)
		return;
	if (!(f & T_KEEP)) {
		san_children(s, n, depth + 1);
		return;
	}
	buf_printf(&tag, "<%s", (const char *)n->name);
	if (put_attrs(s, n, &tag) == -1) {
		buf_free(&tag);
		return;
	}
	if (f & T_VOID) {
		buf_addstr(&tag, " />");
		buf_add(s->out, tag.data, tag.len);
		buf_free(&tag);
		return;
	}
	buf_addc(&tag, '>');
	buf_add(s->out, tag.data, tag.len);
	buf_free(&tag);
	san_children(s, n, depth + 1);
	buf_printf(s->out, "</%s>", (const char *)n->name);
}

static void
san_children(struct san *s, xmlNodePtr n, int depth)
{
	for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			if (c->content != NULL)
				put_text(s->out, (const char *)c->content,
				    strlen((const char *)c->content), 1);
		} else if (c->type == XML_ELEMENT_NODE)
			san_element(s, c, depth);
		/* comments, processing instructions and the rest: dropped */
	}
}

int
html_sanitize(const char *fragment, size_t len, const char *base_url,
    struct buf *out)
{
	htmlDocPtr doc = parse_html(fragment, len);
	xmlNodePtr root = content_root(doc);
	struct buf clean = { 0 };
	struct san s = { &clean, base_url };
	size_t a = 0, z;

	if (doc == NULL)
		return -1;
	buf_addstr(&clean, "");
	if (root != NULL)
		san_children(&s, root, 0);
	xmlFreeDoc(doc);
	/* White space around the fragment is layout of the feed, not text. */
	z = clean.len;
	while (a < z && strchr(" \t\r\n", clean.data[a]) != NULL)
		a++;
	while (z > a && strchr(" \t\r\n", clean.data[z - 1]) != NULL)
		z--;
	buf_add(out, clean.data + a, z - a);
	buf_free(&clean);
	return 0;
}

/* ---- one line of text ---- */

static void
line_walk(xmlNodePtr n, struct buf *raw, int depth)
{
	for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			if (c->content != NULL)
				buf_addstr(raw, (const char *)c->content);
		} else if (c->type == XML_ELEMENT_NODE && depth < MAX_DEPTH) {
			unsigned f = tag_flags(c);

			if (f & T_DROP)
				continue;
			if (f & (T_PARA | T_LINE | T_VOID))
				buf_addc(raw, ' ');
			if (name_is(c, "img")) {	/* alt is its text */
				xmlChar *alt = xmlGetProp(c,
				    (const xmlChar *)"alt");

				if (alt != NULL)
					buf_addstr(raw, (const char *)alt);
				xmlFree(alt);
				buf_addc(raw, ' ');
			}
			line_walk(c, raw, depth + 1);
			if (f & (T_PARA | T_LINE))
				buf_addc(raw, ' ');
		}
	}
}

/* White space runs (ASCII and no-break space) to one space, trimmed. */
static void
collapse(const char *s, size_t n, struct buf *out)
{
	int space = 0, any = 0;
	size_t adv;

	for (size_t i = 0; i < n; i += adv) {
		unsigned long c = clean_char(s + i, n - i, &adv);

		if (c == 0)
			continue;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == 0xa0) {
			space = 1;
			continue;
		}
		if (space && any)
			buf_addc(out, ' ');
		space = 0;
		any = 1;
		utf8_put(out, c);
	}
}

int
html_to_line(const char *html, size_t len, struct buf *out)
{
	htmlDocPtr doc = parse_html(html, len);
	xmlNodePtr root = content_root(doc);
	struct buf raw = { 0 };

	if (doc == NULL)
		return -1;
	buf_addstr(out, "");
	if (root != NULL)
		line_walk(root, &raw, 0);
	collapse(raw.data != NULL ? raw.data : "", raw.len, out);
	buf_free(&raw);
	xmlFreeDoc(doc);
	return 0;
}

/* ---- plain text ---- */

#define MAX_LISTS 16

/* Text writer: words are collected, then placed on lines of t->width. */
struct tw {
	struct buf	*out;
	int		 width;
	struct buf	 line;		/* the current line, prefix included */
	size_t		 cols;		/* its width in characters */
	int		 has_text;	/* line holds more than its prefix */
	int		 open;		/* line has been started */
	struct buf	 word;
	int		 space;		/* white space before the word */
	int		 need;		/* 1 line break, 2 blank line pending */
	int		 started;	/* some text has been written */
	int		 pre;
	struct buf	 prefix;	/* "> " and list indents */
	char		 marker[16];	/* bullet for the next line start */
	size_t		 marker_at;
	int		 has_marker;
	char		**links;
	size_t		 nlinks;
	int		 list_num[MAX_LISTS];	/* -1 for <ul> */
	int		 nlists;
};

static size_t
u8_cols(const char *s, size_t n)
{
	size_t cols = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			cols++;
	return cols;
}

static void
tw_end_line(struct tw *t)
{
	while (t->line.len > 0 && t->line.data[t->line.len - 1] == ' ')
		t->line.len--;
	buf_add(t->out, t->line.data != NULL ? t->line.data : "", t->line.len);
	buf_addc(t->out, '\n');
	buf_reset(&t->line);
	t->cols = 0;
	t->has_text = 0;
	t->open = 0;
	t->started = 1;
}

static void
tw_start_line(struct tw *t)
{
	buf_reset(&t->line);
	buf_add(&t->line, t->prefix.data != NULL ? t->prefix.data : "",
	    t->prefix.len);
	if (t->has_marker) {
		size_t m = strlen(t->marker);

		if (t->marker_at + m <= t->line.len)
			memcpy(t->line.data + t->marker_at, t->marker, m);
		t->has_marker = 0;
	}
	t->cols = u8_cols(t->line.data, t->line.len);
	t->open = 1;
}

/* Before any text: the pending break, then a line to write on. */
static void
tw_begin(struct tw *t)
{
	if (t->need > 0 && t->started) {
		if (t->open && t->has_text)
			tw_end_line(t);
		if (t->need == 2 && !(t->out->len >= 2 &&
		    t->out->data[t->out->len - 1] == '\n' &&
		    t->out->data[t->out->len - 2] == '\n'))
			buf_addc(t->out, '\n');
	}
	t->need = 0;
	if (!t->open)
		tw_start_line(t);
}

static size_t prefix_cols(const struct tw *);

/* Characters a fresh line has room for after its prefix (at least 10). */
static size_t
tw_avail(const struct tw *t)
{
	size_t p = prefix_cols(t);

	return (size_t)t->width > p + 10 ? (size_t)t->width - p : 10;
}

/* Bytes of the first cols characters of s. */
static size_t
u8_prefix(const char *s, size_t n, size_t cols)
{
	size_t i = 0;

	while (i < n && cols > 0) {
		i++;
		while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		cols--;
	}
	return i;
}

static int
is_url_word(const char *w)
{
	return strstr(w, "://") != NULL || strncmp(w, "mailto:", 7) == 0;
}

static size_t
prefix_cols(const struct tw *t)
{
	return u8_cols(t->prefix.data != NULL ? t->prefix.data : "",
	    t->prefix.len);
}

static void
tw_flush_word(struct tw *t)
{
	const char *w = t->word.data;
	size_t n = t->word.len, cols;

	if (n == 0)
		return;
	tw_begin(t);
	cols = u8_cols(w, n);
	if (t->has_text && t->cols + (t->space ? 1 : 0) + cols >
	    (size_t)t->width) {
		tw_end_line(t);
		tw_start_line(t);
	} else if (t->has_text && t->space) {
		buf_addc(&t->line, ' ');
		t->cols++;
	}
	/* Longer than a whole line (the line is fresh here): break it
	 * between characters, never inside one, unless it is a URL, which
	 * must stay whole to work. */
	while (cols > tw_avail(t) && !is_url_word(w)) {
		size_t take = u8_prefix(w, n, tw_avail(t));

		buf_add(&t->line, w, take);
		t->has_text = 1;
		tw_end_line(t);
		tw_start_line(t);
		w += take;
		n -= take;
		cols = u8_cols(w, n);
	}
	buf_add(&t->line, w, n);
	t->cols += cols;
	t->has_text = 1;
	t->started = 1;
	buf_reset(&t->word);
	t->space = 0;
}

static void
tw_block(struct tw *t, int need)
{
	tw_flush_word(t);
	t->space = 0;
	if (need > t->need)
		t->need = need;
}

static void
tw_pre_text(struct tw *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		tw_begin(t);
		if (s[i] == '\n') {
			tw_end_line(t);
			continue;
		}
		buf_addc(&t->line, s[i] == '\t' ? ' ' : s[i]);
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			t->cols++;
		t->has_text = 1;
		t->started = 1;
	}
}

static void
tw_text(struct tw *t, const char *s, size_t n)
{
	struct buf clean = { 0 };
	size_t adv;

	put_text(&clean, s, n, 0);
	if (t->pre) {
		tw_pre_text(t, clean.data != NULL ? clean.data : "", clean.len);
		buf_free(&clean);
		return;
	}
	/* clean is valid UTF-8 now: only spaces need a look. */
	for (size_t i = 0; i < clean.len; i += adv) {
		const char *c = clean.data + i;

		adv = 1;
		if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r') {
			tw_flush_word(t);
			t->space = 1;
			continue;
		}
		if ((unsigned char)*c == 0xc2 && (unsigned char)c[1] == 0xa0) {
			buf_addc(&t->word, ' ');	/* no-break: same word */
			adv = 2;
			continue;
		}
		while (i + adv < clean.len && ((unsigned char)c[adv] & 0xc0) ==
		    0x80)
			adv++;
		buf_add(&t->word, c, adv);
	}
	buf_free(&clean);
}

/* The reference number of url, added when new. */
static size_t
tw_link(struct tw *t, const char *url)
{
	for (size_t i = 0; i < t->nlinks; i++)
		if (strcmp(t->links[i], url) == 0)
			return i + 1;
	t->links = xrealloc(t->links, (t->nlinks + 1) * sizeof *t->links);
	t->links[t->nlinks++] = xstrdup(url);
	return t->nlinks;
}

static void tw_children(struct tw *, xmlNodePtr, int);

/* The link's text on one line, to see whether it only repeats the URL. */
static char *
node_line(xmlNodePtr n)
{
	struct buf raw = { 0 }, out = { 0 };

	line_walk(n, &raw, 0);
	buf_addstr(&out, "");
	collapse(raw.data != NULL ? raw.data : "", raw.len, &out);
	buf_free(&raw);
	return buf_steal(&out);
}

static int
repeats_url(const char *text, const char *url)
{
	const char *u = url;

	if (strcmp(text, url) == 0)
		return 1;
	if (strncmp(u, "mailto:", 7) == 0)
		u += 7;
	else if (strstr(u, "://") != NULL)
		u = strstr(u, "://") + 3;
	return strcmp(text, u) == 0 || (strlen(text) + 1 == strlen(u) &&
	    strncmp(text, u, strlen(text)) == 0 && u[strlen(text)] == '/');
}

static void
tw_anchor(struct tw *t, xmlNodePtr n, int depth)
{
	xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
	char *url = href != NULL ? html_safe_url((const char *)href, NULL) :
	    NULL;
	char *text = node_line(n);

	tw_children(t, n, depth + 1);
	/* "text[1]", unless the text is the URL already. */
	if (url != NULL && *url != '\0' && *url != '#' &&
	    !repeats_url(text, url))
		buf_printf(&t->word, "[%zu]", tw_link(t, url));
	xmlFree(href);
	free(url);
	free(text);
}

static void
prefix_cut(struct tw *t, size_t len)
{
	t->prefix.len = len;
	if (t->prefix.data != NULL)
		t->prefix.data[len] = '\0';
}

static void
tw_list_item(struct tw *t, xmlNodePtr n, int depth)
{
	size_t saved = t->prefix.len;
	char bullet[16] = "- ";
	int *num = t->nlists > 0 ? &t->list_num[t->nlists - 1] : NULL;

	tw_block(t, 1);
	if (num != NULL && *num >= 0)
		snprintf(bullet, sizeof bullet, "%d. ", ++*num);
	t->marker_at = t->prefix.len;
	memcpy(t->marker, bullet, strlen(bullet) + 1);
	t->has_marker = 1;
	for (size_t i = 0; i < strlen(bullet); i++)
		buf_addc(&t->prefix, ' ');
	tw_children(t, n, depth + 1);
	tw_block(t, 1);
	t->has_marker = 0;
	prefix_cut(t, saved);
}

static void
tw_list(struct tw *t, xmlNodePtr n, int depth, int ordered)
{
	xmlChar *start = ordered ? xmlGetProp(n, (const xmlChar *)"start") :
	    NULL;

	tw_block(t, t->nlists == 0 ? 2 : 1);
	if (t->nlists < MAX_LISTS) {
		t->list_num[t->nlists++] = ordered ? (start != NULL ?
		    (int)strtol((const char *)start, NULL, 10) - 1 : 0) : -1;
		tw_children(t, n, depth + 1);
		t->nlists--;
	} else
		tw_children(t, n, depth + 1);
	tw_block(t, t->nlists == 0 ? 2 : 1);
	xmlFree(start);
}

static void
tw_quote(struct tw *t, xmlNodePtr n, int depth)
{
	size_t saved = t->prefix.len;

	tw_block(t, 2);
	buf_addstr(&t->prefix, "> ");
	tw_children(t, n, depth + 1);
	tw_block(t, 2);
	prefix_cut(t, saved);
}

static void
tw_image(struct tw *t, xmlNodePtr n)
{
	xmlChar *alt = xmlGetProp(n, (const xmlChar *)"alt");
	struct buf a = { 0 };

	if (alt != NULL)
		collapse((const char *)alt, strlen((const char *)alt), &a);
	if (a.len > 0) {
		buf_addc(&t->word, '[');
		tw_text(t, a.data, a.len);
		buf_addc(&t->word, ']');
	}
	buf_free(&a);
	xmlFree(alt);
}

static void
tw_element(struct tw *t, xmlNodePtr n, int depth)
{
	unsigned f = tag_flags(n);

	if ((f & T_DROP) || depth > MAX_DEPTH)
		return;
	if (name_is(n, "br")) {
		tw_flush_word(t);
		if (t->open && t->has_text)
			tw_end_line(t);
		else if (t->started && t->need == 0)
			buf_addc(t->out, '\n');
		t->space = 0;
	} else if (name_is(n, "a"))
		tw_anchor(t, n, depth);
	else if (name_is(n, "li"))
		tw_list_item(t, n, depth);
	else if (name_is(n, "ul") || name_is(n, "ol") || name_is(n, "dl"))
		tw_list(t, n, depth, name_is(n, "ol"));
	else if (name_is(n, "blockquote"))
		tw_quote(t, n, depth);
	else if (name_is(n, "img"))
		tw_image(t, n);
	else if (name_is(n, "hr")) {
		tw_block(t, 2);
		buf_addstr(&t->word, "----");
		tw_block(t, 2);
	} else if (name_is(n, "pre")) {
		tw_block(t, 2);
		t->pre++;
		tw_children(t, n, depth + 1);
		t->pre--;
		tw_block(t, 2);
	} else if (name_is(n, "td") || name_is(n, "th")) {
		tw_flush_word(t);
		t->space = 1;
		tw_children(t, n, depth + 1);
		tw_flush_word(t);
		t->space = 1;
	} else {
		int need = (f & T_PARA) ? 2 : (f & T_LINE) ? 1 : 0;

		if (need)
			tw_block(t, need);
		tw_children(t, n, depth + 1);
		if (need)
			tw_block(t, need);
	}
}

static void
tw_children(struct tw *t, xmlNodePtr n, int depth)
{
	for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			if (c->content != NULL)
				tw_text(t, (const char *)c->content,
				    strlen((const char *)c->content));
		} else if (c->type == XML_ELEMENT_NODE)
			tw_element(t, c, depth);
	}
}

static void
tw_finish(struct tw *t)
{
	tw_flush_word(t);
	if (t->open && t->has_text)
		tw_end_line(t);
	if (t->nlinks > 0 && t->started)
		buf_addc(t->out, '\n');
	for (size_t i = 0; i < t->nlinks; i++) {
		buf_printf(t->out, "[%zu] %s\n", i + 1, t->links[i]);
		free(t->links[i]);
	}
	free(t->links);
	buf_free(&t->line);
	buf_free(&t->word);
	buf_free(&t->prefix);
}

int
html_to_text(const char *html, size_t len, int width, struct buf *out)
{
	htmlDocPtr doc = parse_html(html, len);
	xmlNodePtr root = content_root(doc);
	struct buf text = { 0 };
	struct tw t;

	if (doc == NULL)
		return -1;
	memset(&t, 0, sizeof t);
	t.out = &text;
	t.width = width < 20 ? HTML_TEXT_WIDTH : width;
	if (root != NULL)
		tw_children(&t, root, 0);
	tw_finish(&t);
	/* Exactly one newline at the end. */
	while (text.len > 0 && text.data[text.len - 1] == '\n')
		text.len--;
	buf_addstr(out, "");
	if (text.len > 0) {
		buf_add(out, text.data, text.len);
		buf_addc(out, '\n');
	}
	buf_free(&text);
	xmlFreeDoc(doc);
	return 0;
}
