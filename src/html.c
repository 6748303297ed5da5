/*
 * html: sanitizing feed HTML and rendering it as plain text. The HTML is
 * read by HTML 4 rules as libxml2's HTML parser reads it; URL resolution is
 * RFC 3986 section 5 (xmlBuildURI), with RFC 3987 IRIs kept readable; text
 * wrapping follows RFC 3676's advice of 72 columns. See html.h for the
 * rules.
 *
 * A fragment is read once into a small tree of our own (struct hdoc: nodes
 * in one array, strings in one buffer), which the three walks (sanitize,
 * plain text, one line) read. The tree is the one libxml2's HTML parser
 * builds for "<html><body>FRAGMENT</body></html>": wrapping the fragment in
 * a body keeps the parser from inventing a <p> around leading text
 * (NOIMPLIED does not stop that), and any <head> matter the fragment
 * carries lands in <head>, which is dropped.
 *
 * Two readers build it. The quick reader (quick_parse) knows the part of
 * libxml2 2.9.14's HTML parser that feed HTML uses: text, character and
 * entity references, comments, start tags with attributes (quoted or not),
 * end tags, and the HTML 4 rules for implied end tags (htmlStartClose and
 * htmlEndPriority, copied below). Anything else (a <script> or <style>
 * body, a DOCTYPE, <html>/<head>/<body>, a prefixed name, a broken tag or
 * reference, nesting deeper than QP_DEPTH) makes it give up, and libxml2's
 * parser reads the fragment instead, its tree copied into ours. It reads
 * feed HTML several times faster than libxml2 (no tokenizing a character
 * at a time, no allocation per node or attribute), and as nearly all of it
 * (96% of the feedparser corpus's fragments, all of a typical feed's).
 * With TEMABREV_HTML_CROSSCHECK in the environment (the tests set it),
 * every fragment it reads is read by libxml2 as well and the trees
 * compared, aborting on a difference; and it is only used with the
 * libxml2 version it was checked with (quick_usable()).
 *
 * The walks copy runs of text that need no change whole, checking 8 bytes
 * at a time (plain8, word_end); a text node read from clean input without
 * references is marked plain and not cleaned again.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/parser.h>
#include <libxml/uri.h>
#include <libxml/xmlerror.h>

#include "html.h"
#include "util.h"

/* Deeper elements are dropped: the walks recurse, and no real post nests
 * this deep. */
#define MAX_DEPTH 200

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

/* The UTF-8 of c into s (4 bytes room); returns its length. */
static size_t
utf8_enc(unsigned long c, char *s)
{
	if (c < 0x80) {
		s[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		s[0] = (char)(0xc0 | (c >> 6));
		s[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		s[0] = (char)(0xe0 | (c >> 12));
		s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	s[0] = (char)(0xf0 | (c >> 18));
	s[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	s[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	s[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

static void
utf8_put(struct buf *b, unsigned long c)
{
	char s[4];

	buf_add(b, s, utf8_enc(c, s));
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

/*
 * What put_text does with a byte: 1 copies it (printable ASCII, tab, LF,
 * CR), 2 copies it unless escaping (& < > "), 3 starts or continues a
 * UTF-8 sequence, 0 needs clean_char() (other control characters).
 */
static const unsigned char byte_class[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0,		/* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,		/* 0x10 */
	1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1,		/* 0x20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1,		/* 0x30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,		/* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,		/* 0x50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,		/* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,		/* 0x70 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,		/* 0x80 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
};

/* The length of the UTF-8 sequence at s when clean_char() keeps it as it
 * is (valid, U+00A0 or above, no lead of doubly encoded UTF-8), else 0. */
static inline size_t
plain_seq(const unsigned char *s, size_t n)
{
	unsigned long c;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {	/* the common case, inline */
		if (n < 2 || (s[1] & 0xc0) != 0x80)
			return 0;
		c = (unsigned long)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		return c >= 0xa0 && c != 0xc2 && c != 0xc3 && c != 0xe2 ? 2 : 0;
	}
	len = utf8_decode(s, n, &c);
	return len >= 3 ? len : 0;	/* U+0800 and above */
}

/* buf_add() with the common case, room enough, inline. */
static inline void
add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n < b->cap) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
	} else
		buf_add(b, p, n);
}

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/* Non-zero when one of the 8 bytes of x is zero, or is below n (n at
 * most 128, and x without bytes of 0x80 or above). */
#define HAS_ZERO(x)	(((x) - ONES) & ~(x) & HIGHS)
#define HAS_BELOW(x, n)	(((x) - ONES * (n)) & ~(x) & HIGHS)

/* One byte, inline as add(). */
static inline void
addc(struct buf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
	} else
		buf_add(b, &c, 1);
}

/* n in decimal, as "%zu" writes it. */
static void
add_num(struct buf *b, size_t n)
{
	char s[24];
	size_t i = sizeof s;

	do
		s[--i] = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	add(b, s + i, sizeof s - i);
}

/*
 * How many of the 8 bytes at s are printable ASCII (and none HTML escapes
 * when esc is set) before the first that is not. The flags of the tests
 * are exact up to the first byte that fails one (a borrow only runs
 * upwards from there), and on a little-endian machine the lowest set bit
 * is the first byte in memory.
 */
static inline size_t
plain8(const unsigned char *s, int esc)
{
	uint64_t x, bad;

	memcpy(&x, s, 8);
	bad = (x & HIGHS) | HAS_BELOW(x, 0x20) | HAS_ZERO(x ^ (ONES * 0x7f));
	if (esc)
		bad |= HAS_ZERO(x ^ (ONES * '&')) | HAS_ZERO(x ^ (ONES * '<')) |
		    HAS_ZERO(x ^ (ONES * '>')) | HAS_ZERO(x ^ (ONES * '"'));
	if (bad == 0)
		return 8;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (size_t)__builtin_ctzll(bad) / 8;
#else
	return 0;
#endif
}

/*
 * The length of the longest start of s that put_text() copies as it is.
 * put_text() looks at what follows a character, never at what precedes
 * it, so put_text(s) is that start followed by put_text() of the rest.
 */
static size_t
plain_prefix(const char *s, size_t n, int esc)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char stop = esc ? 1 : 2;	/* classes up to this copy */
	size_t i = 0, adv;

	for (;;) {
		size_t k;

		while (i + 8 <= n && (k = plain8(u + i, esc)) == 8)
			i += 8;
		if (i + 8 <= n)
			i += k;
		while (i < n && byte_class[u[i]] == 1)
			i++;
		if (i >= n)
			return n;
		if (byte_class[u[i]] <= stop && byte_class[u[i]] != 0)
			i++;
		else if (byte_class[u[i]] == 3 && (adv = plain_seq(u + i,
		    n - i)) > 0)
			i += adv;
		else
			return i;
	}
}

/* Clean text out, escaped for HTML when esc is set. Runs of characters
 * that need no change are copied whole. */
static void
put_text(struct buf *out, const char *s, size_t n, int esc)
{
	size_t i = 0, adv;

	for (;;) {
		size_t k = plain_prefix(s + i, n - i, esc);

		if (k > 0)
			add(out, s + i, k);
		if ((i += k) >= n)
			break;
		unsigned long c = clean_char(s + i, n - i, &adv);

		i += adv;
		if (c == 0)
			continue;
		if (esc && c == '&')
			add(out, "&amp;", 5);
		else if (esc && c == '<')
			add(out, "&lt;", 4);
		else if (esc && c == '>')
			add(out, "&gt;", 4);
		else if (esc && c == '"')
			add(out, "&quot;", 6);
		else
			utf8_put(out, c);
	}
}

/* s as put_text(esc 0) gives it: s itself when it is clean already, else
 * the clean copy made in scratch. *outn gets the length. */
static const char *
clean_view(const char *s, size_t n, struct buf *scratch, size_t *outn)
{
	size_t k = plain_prefix(s, n, 0);

	if (k == n) {
		*outn = n;
		return s;
	}
	buf_reset(scratch);
	add(scratch, s, k);
	put_text(scratch, s + k, n - k, 0);
	*outn = scratch->len;
	return scratch->data != NULL ? scratch->data : "";
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
	for (size_t i = 0, run = 0; i <= n; i++) {
		if (i < n && s[i] > 0x20 && s[i] != 0x7f)
			continue;	/* kept: copied with its run */
		add(&b, s + run, i - run);
		if (i < n && s[i] == ' ')
			add(&b, "%20", 3);
		run = i + 1;
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

/*
 * Every element name the module knows, sorted (they are looked up by
 * binary search): the allow-list, the elements dropped with their content,
 * and those HTML 4's implied end tags (below) name, which are otherwise
 * unknown (flags 0: replaced by their content).
 */
#define K T_KEEP
#define TAGS(X) \
	X(A, "a", K) X(ABBR, "abbr", K) X(ACRONYM, "acronym", 0) \
	X(ADDRESS, "address", K | T_PARA) X(APPLET, "applet", T_DROP) \
	X(ARTICLE, "article", T_PARA) X(ASIDE, "aside", T_PARA) \
	X(AUDIO, "audio", T_DROP) X(B, "b", K) X(BASE, "base", T_DROP) \
	X(BASEFONT, "basefont", T_DROP) X(BDI, "bdi", K) X(BDO, "bdo", K) \
	X(BIG, "big", K) X(BLOCKQUOTE, "blockquote", K | T_PARA) \
	X(BODY, "body", 0) X(BR, "br", K | T_VOID) \
	X(BUTTON, "button", T_DROP) X(CANVAS, "canvas", T_DROP) \
	X(CAPTION, "caption", K | T_LINE) X(CENTER, "center", T_PARA) \
	X(CITE, "cite", K) X(CODE, "code", K) X(COL, "col", 0) \
	X(COLGROUP, "colgroup", 0) X(DD, "dd", K | T_LINE) \
	X(DEL, "del", K) X(DETAILS, "details", T_PARA) X(DFN, "dfn", K) \
	X(DIALOG, "dialog", T_DROP) X(DIR, "dir", 0) \
	X(DIV, "div", K | T_LINE) X(DL, "dl", K | T_PARA) \
	X(DT, "dt", K | T_LINE) X(EM, "em", K) X(EMBED, "embed", T_DROP) \
	X(FIELDSET, "fieldset", 0) X(FIGCAPTION, "figcaption", K | T_LINE) \
	X(FIGURE, "figure", K | T_PARA) X(FONT, "font", 0) \
	X(FOOTER, "footer", T_PARA) X(FORM, "form", T_DROP) \
	X(FRAME, "frame", T_DROP) X(FRAMESET, "frameset", T_DROP) \
	X(H1, "h1", K | T_PARA) X(H2, "h2", K | T_PARA) \
	X(H3, "h3", K | T_PARA) X(H4, "h4", K | T_PARA) \
	X(H5, "h5", K | T_PARA) X(H6, "h6", K | T_PARA) \
	X(HEAD, "head", T_DROP) X(HEADER, "header", T_PARA) \
	X(HR, "hr", K | T_VOID | T_PARA) X(HTML, "html", 0) X(I, "i", K) \
	X(IFRAME, "iframe", T_DROP) X(IMG, "img", K | T_VOID) \
	X(INPUT, "input", T_DROP) X(INS, "ins", K) \
	X(ISINDEX, "isindex", T_DROP) X(KBD, "kbd", K) \
	X(KEYGEN, "keygen", T_DROP) X(LEGEND, "legend", 0) \
	X(LI, "li", K | T_LINE) X(LINK, "link", T_DROP) \
	X(LISTING, "listing", 0) X(MAIN, "main", T_PARA) \
	X(MAP, "map", T_DROP) X(MARK, "mark", K) X(MATH, "math", T_DROP) \
	X(MENU, "menu", 0) X(META, "meta", T_DROP) X(NAV, "nav", T_PARA) \
	X(NOEMBED, "noembed", T_DROP) X(NOFRAMES, "noframes", T_DROP) \
	X(NOSCRIPT, "noscript", T_DROP) X(OBJECT, "object", T_DROP) \
	X(OL, "ol", K | T_PARA) X(OPTGROUP, "optgroup", 0) \
	X(OPTION, "option", T_DROP) X(P, "p", K | T_PARA) \
	X(PARAM, "param", T_DROP) X(PRE, "pre", K | T_PARA) X(Q, "q", K) \
	X(S, "s", K) X(SAMP, "samp", K) X(SCRIPT, "script", T_DROP) \
	X(SECTION, "section", T_PARA) X(SELECT, "select", T_DROP) \
	X(SMALL, "small", K) X(SOURCE, "source", T_DROP) X(SPAN, "span", K) \
	X(STRIKE, "strike", K) X(STRONG, "strong", K) \
	X(STYLE, "style", T_DROP) X(SUB, "sub", K) \
	X(SUMMARY, "summary", T_LINE) X(SUP, "sup", K) \
	X(SVG, "svg", T_DROP) X(TABLE, "table", K | T_PARA) \
	X(TBODY, "tbody", K) X(TD, "td", K) X(TEMPLATE, "template", T_DROP) \
	X(TEXTAREA, "textarea", T_DROP) X(TFOOT, "tfoot", K) X(TH, "th", K) \
	X(THEAD, "thead", K) X(TIME, "time", K) X(TITLE, "title", T_DROP) \
	X(TR, "tr", K | T_LINE) X(TRACK, "track", T_DROP) X(TT, "tt", K) \
	X(U, "u", K) X(UL, "ul", K | T_PARA) X(VAR, "var", K) \
	X(VIDEO, "video", T_DROP) X(XML, "xml", T_DROP) X(XMP, "xmp", T_DROP)

#define X(id, name, flags) TAG_##id,
enum tag_id { TAGS(X) NTAGS };
#undef X

struct tagdef {
	const char	*name;
	unsigned	 flags;
};

#define X(id, name, flags) { name, flags },
static const struct tagdef tagdefs[NTAGS] = { TAGS(X) };
#undef X
#undef K

/*
 * HTML 4's implied end tags as libxml2 2.9.14 has them (htmlStartClose in
 * HTMLparser.c): an element named first is closed by a start tag of any
 * element the string lists.
 */
static const struct {
	const char	*old, *closers;
} start_close[] = {
	{ "a", "a fieldset table td th" },
	{ "address", "dd dl dt form li ul" },
	{ "b", "center p td th" },
	{ "big", "p" },
	{ "caption", "col colgroup tbody tfoot thead tr" },
	{ "col", "col colgroup tbody tfoot thead tr" },
	{ "colgroup", "colgroup tbody tfoot thead tr" },
	{ "dd", "dt" },
	{ "dir", "dd dl dt form ul" },
	{ "dl", "form li" },
	{ "dt", "dd dl" },
	{ "font", "center td th" },
	{ "form", "form" },
	{ "h1", "fieldset form li p table" },
	{ "h2", "fieldset form li p table" },
	{ "h3", "fieldset form li p table" },
	{ "h4", "fieldset form li p table" },
	{ "h5", "fieldset form li p table" },
	{ "h6", "fieldset form li p table" },
	{ "head", "a abbr acronym address b bdo big blockquote body br"
	    " center cite code dd dfn dir div dl dt em fieldset font form"
	    " frameset h1 h2 h3 h4 h5 h6 hr i iframe img kbd li listing map"
	    " menu ol p pre q s samp small span strike strong sub sup table"
	    " tt u ul var xmp" },
	{ "hr", "form" },
	{ "i", "center p td th" },
	{ "legend", "fieldset" },
	{ "li", "li" },
	{ "link", "body frameset" },
	{ "listing", "dd dl dt fieldset form li table ul" },
	{ "menu", "dd dl dt form ul" },
	{ "ol", "form ul" },
	{ "option", "optgroup option" },
	{ "p", "address blockquote body caption center col colgroup dd dir"
	    " div dl dt fieldset form frameset h1 h2 h3 h4 h5 h6 head hr li"
	    " listing menu ol p pre table tbody td tfoot th title tr ul xmp" },
	{ "pre", "dd dl dt fieldset form li table ul" },
	{ "s", "p" },
	{ "script", "noscript" },
	{ "small", "p" },
	{ "span", "td th" },
	{ "strike", "p" },
	{ "style", "body frameset" },
	{ "tbody", "tbody tfoot" },
	{ "td", "tbody td tfoot th tr" },
	{ "tfoot", "tbody" },
	{ "th", "tbody td tfoot th tr" },
	{ "thead", "tbody tfoot" },
	{ "title", "body frameset" },
	{ "tr", "tbody tfoot tr" },
	{ "tt", "p" },
	{ "u", "p td th" },
	{ "ul", "address form menu ol pre" },
	{ "xmp", "dd dl dt fieldset form li table ul" },
};

/* Compares an element name with a tag name as strcasecmp() would. */
static int
tag_cmp(const char *name, size_t n, const char *tag)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char a = (unsigned char)name[i], b = (unsigned char)tag[i];

		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a + 32);
		if (b == '\0' || a != b)
			return (int)a - (int)b;
	}
	return tag[n] == '\0' ? 0 : -1;
}

/* The tagdefs index of the name (n bytes, any case), or -1. */
static int
tag_id(const char *name, size_t n)
{
	size_t lo = 0, hi = NTAGS;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = tag_cmp(name, n, tagdefs[mid].name);

		if (r == 0)
			return (int)mid;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * Flags of an element named name; unknown ones (0) are replaced by their
 * content. A prefixed name ("svg:script", "o:p") is foreign: "x:script"
 * and friends are dropped by their local name, the rest unwrapped.
 */
static unsigned
tag_flags(const char *name)
{
	const char *colon = strchr(name, ':');
	int id;

	if (colon != NULL)
		name = colon + 1;
	if ((id = tag_id(name, strlen(name))) < 0)
		return 0;
	return colon != NULL ? tagdefs[id].flags & T_DROP : tagdefs[id].flags;
}

/* What the quick reader needs to know of each tag, filled once. */
static pthread_once_t tags_once = PTHREAD_ONCE_INIT;
static int tags_ok;				/* the quick reader may run */
static int crosschecking;			/* see crosscheck() */
static unsigned char tag_empty[NTAGS];		/* libxml2: no content */
static uint64_t tag_closers[NTAGS][2];		/* bit k: TAG k closes it */

static void
tags_init(void)
{
	int ok = 1;

	for (size_t i = 1; i < NTAGS; i++)
		if (strcmp(tagdefs[i - 1].name, tagdefs[i].name) >= 0)
			ok = 0;
	for (size_t i = 0; i < NTAGS; i++) {
		const htmlElemDesc *e = htmlTagLookup(
		    (const xmlChar *)tagdefs[i].name);

		tag_empty[i] = e != NULL && e->empty;
	}
	for (size_t i = 0; i < sizeof start_close / sizeof start_close[0];
	    i++) {
		const char *p = start_close[i].closers;
		int old = tag_id(start_close[i].old, strlen(start_close[i].old));

		while (ok && *p != '\0') {
			size_t n = strcspn(p, " ");
			int k = tag_id(p, n);

			if (old < 0 || k < 0)
				ok = 0;
			else
				tag_closers[old][k / 64] |= (uint64_t)1 << (k % 64);
			p += n + (p[n] == ' ');
		}
	}
	/* The quick reader copies libxml2 2.9.14's HTML parser. */
	tags_ok = ok && strcmp(xmlParserVersion, "20914") == 0;
	crosschecking = getenv("TEMABREV_HTML_CROSSCHECK") != NULL;
}

static int
quick_usable(void)
{
	pthread_once(&tags_once, tags_init);
	return tags_ok;
}

/* ---- the tree ---- */

#define NIL ((size_t)-1)

enum { H_ELEM, H_TEXT, H_OTHER };

/* A node: an element, a text, or anything else (a comment), which the
 * walks skip but which keeps the texts on either side apart. */
struct hnode {
	size_t		 parent, first, last, next;
	size_t		 str, len;	/* element name, or text (in d->s) */
	size_t		 attr;		/* first attribute, or NIL */
	int		 id;		/* tag_id() of the whole name, or -1 */
	unsigned	 flags;		/* tag_flags() */
	int		 type;
	int		 plain;		/* text put_text() leaves as it is, and
					   without '&' or '<' */
};

struct hattr {
	size_t		 name, val;	/* NUL-terminated, in d->s */
	size_t		 next;
	int		 ns;		/* in a namespace: no HTML attribute */
};

struct hdoc {
	struct hnode	*n;
	size_t		 nn, ncap;
	struct hattr	*a;
	size_t		 na, acap;
	struct buf	 s;		/* every string, each NUL-terminated */
	size_t		 root;		/* the <html> element, or NIL */
};

#define HSTR(d, off)	((d)->s.data + (off))

static void
hdoc_init(struct hdoc *d)
{
	memset(d, 0, sizeof *d);
	d->root = NIL;
}

static void
hdoc_free(struct hdoc *d)
{
	free(d->n);
	free(d->a);
	buf_free(&d->s);
	hdoc_init(d);
}

/* Stores n bytes and a NUL; returns where. */
static size_t
h_str(struct hdoc *d, const char *p, size_t n)
{
	size_t off = d->s.len;

	add(&d->s, p, n);
	addc(&d->s, '\0');
	return off;
}

static size_t
h_node(struct hdoc *d, size_t parent, int type)
{
	struct hnode *n;
	size_t k = d->nn;

	if (d->nn == d->ncap) {
		d->ncap = d->ncap > 0 ? d->ncap * 2 : 64;
		d->n = xrealloc(d->n, d->ncap * sizeof *d->n);
	}
	n = &d->n[d->nn++];
	n->parent = parent;
	n->first = n->last = n->next = n->attr = NIL;
	n->str = n->len = 0;
	n->id = -1;
	n->flags = 0;
	n->type = type;
	n->plain = 0;
	if (parent != NIL) {
		struct hnode *p = &d->n[parent];

		if (p->last != NIL)
			d->n[p->last].next = k;
		else
			p->first = k;
		p->last = k;
	}
	return k;
}

/* An element named name (n bytes, lower case as both readers give it);
 * id is its tag_id() when known, else -2. */
static size_t
h_elem(struct hdoc *d, size_t parent, const char *name, size_t n, int id)
{
	size_t k = h_node(d, parent, H_ELEM);

	d->n[k].str = h_str(d, name, n);
	d->n[k].len = n;
	d->n[k].id = id != -2 ? id : tag_id(name, n);
	d->n[k].flags = memchr(name, ':', n) == NULL ? (d->n[k].id >= 0 ?
	    tagdefs[d->n[k].id].flags : 0) : tag_flags(HSTR(d, d->n[k].str));
	return k;
}

/* An attribute whose strings are stored already; *tail is the element's
 * last attribute (NIL before the first). */
static void
h_attr(struct hdoc *d, size_t elem, size_t *tail, size_t name, size_t val,
    int ns)
{
	size_t k = d->na;

	if (d->na == d->acap) {
		d->acap = d->acap > 0 ? d->acap * 2 : 32;
		d->a = xrealloc(d->a, d->acap * sizeof *d->a);
	}
	d->a[k].name = name;
	d->a[k].val = val;
	d->a[k].next = NIL;
	d->a[k].ns = ns;
	d->na++;
	if (*tail == NIL)
		d->n[elem].attr = k;
	else
		d->a[*tail].next = k;
	*tail = k;
}

/* The value of the element's first attribute called name, as
 * xmlGetProp() gives it, or NULL. */
static const char *
h_prop(const struct hdoc *d, size_t elem, const char *name)
{
	for (size_t a = d->n[elem].attr; a != NIL; a = d->a[a].next)
		if (strcmp(HSTR(d, d->a[a].name), name) == 0)
			return HSTR(d, d->a[a].val);
	return NULL;
}

/* A text node of its own (libxml2's tree: never merged). */
static void
h_text_node(struct hdoc *d, size_t parent, const char *p, size_t n,
    int plain)
{
	size_t k = h_node(d, parent, H_TEXT);

	d->n[k].str = h_str(d, p, n);
	d->n[k].len = n;
	d->n[k].plain = plain;
}

/* Text appended to parent's last child when that is text (libxml2's
 * SAX builder merges character data so), else a new text node. */
static void
h_text(struct hdoc *d, size_t parent, const char *p, size_t n, int plain)
{
	size_t last = d->n[parent].last;
	struct hnode *t;

	if (last == NIL || d->n[last].type != H_TEXT) {
		h_text_node(d, parent, p, n, plain);
		return;
	}
	t = &d->n[last];
	t->plain = t->plain && plain;
	if (t->str + t->len + 1 == d->s.len)
		d->s.len--;		/* the last string: grow it in place */
	else {
		char *copy = xstrndup(HSTR(d, t->str), t->len);

		t->str = d->s.len;
		buf_add(&d->s, copy, t->len);
		free(copy);
	}
	add(&d->s, p, n);
	addc(&d->s, '\0');
	t->len += n;
}

/* ---- the quick reader ---- */

/* Deeper nesting goes to libxml2 (which stops at 256). */
#define QP_DEPTH 128

struct qp {
	struct hdoc	*d;
	const char	*s;
	size_t		 n, i;
	size_t		 amp;		/* the next '&' at or after i, or n */
	int		 plain;		/* s is plain_prefix() all through */
	size_t		 open[QP_DEPTH];	/* [0] <html>, [1] <body> */
	int		 nopen;
};

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A code point libxml2 accepts (IS_CHAR). */
static int
is_xml_char(unsigned long c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
	    (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/*
 * The reference at s[0] == '&' (n bytes to the end of the fragment), read
 * as libxml2 reads it in text and in attribute values (htmlParseReference,
 * htmlParseHTMLAttribute): out gets what it stands for (*outn bytes),
 * *adv what it used. Returns -1 for what the quick reader leaves to
 * libxml2: a character reference without ';' or to a character XML lacks,
 * a name libxml2 would read further (non-ASCII, '_' or ':' first).
 */
static int
qp_ref(const char *s, size_t n, char *out, size_t *outn, size_t *adv)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i;

	if (n >= 2 && s[1] == '#') {
		int hex = n >= 3 && (s[2] == 'x' || s[2] == 'X');
		unsigned long v = 0;
		size_t first = hex ? 3 : 2;

		for (i = first; i < n; i++) {
			int d = is_digit(u[i]) ? u[i] - '0' : !hex ? -1 :
			    u[i] >= 'a' && u[i] <= 'f' ? u[i] - 'a' + 10 :
			    u[i] >= 'A' && u[i] <= 'F' ? u[i] - 'A' + 10 : -1;

			if (d < 0)
				break;
			if (v < 0x110000)
				v = v * (hex ? 16 : 10) + (unsigned long)d;
		}
		if (i == first || i >= n || s[i] != ';' || !is_xml_char(v))
			return -1;
		*outn = utf8_enc(v, out);
		*adv = i + 1;
		return 0;
	}
	if (n < 2 || !is_alpha(u[1])) {
		if (n >= 2 && (u[1] == '_' || u[1] == ':' || u[1] >= 0x80))
			return -1;
		out[0] = '&';	/* no name: a plain '&' */
		*outn = 1;
		*adv = 1;
		return 0;
	}
	for (i = 2; i < n && (is_alpha(u[i]) || is_digit(u[i]) || u[i] == '_' ||
	    u[i] == '-' || u[i] == ':' || u[i] == '.'); i++)
		;
	if (i < n && u[i] >= 0x80)
		return -1;
	if (i < n && s[i] == ';' && i - 1 < 40) {
		char name[40];
		const htmlEntityDesc *e;

		memcpy(name, s + 1, i - 1);
		name[i - 1] = '\0';
		if ((e = htmlEntityLookup((const xmlChar *)name)) != NULL) {
			*outn = utf8_enc(e->value, out);
			*adv = i + 1;
			return 0;
		}
	}
	/* An unknown name stays as written; a ';' after it is text. */
	*outn = 0;
	*adv = i;
	return 0;
}

static size_t
qp_top(const struct qp *q)
{
	return q->open[q->nopen - 1];
}

/* Text up to the next '<' or '&', and references. */
static int
qp_text(struct qp *q)
{
	const char *p = q->s + q->i, *lt;
	size_t k, rest = q->n - q->i, outn, adv;
	char out[8];

	if (q->amp < q->i) {
		const char *a = memchr(p, '&', rest);

		q->amp = a != NULL ? (size_t)(a - q->s) : q->n;
	}
	k = q->amp - q->i;
	if ((lt = memchr(p, '<', k)) != NULL)
		k = (size_t)(lt - p);
	if (k > 0) {
		h_text(q->d, qp_top(q), p, k, q->plain);
		q->i += k;
		return 0;
	}
	if (qp_ref(p, rest, out, &outn, &adv) == -1)
		return -1;
	h_text(q->d, qp_top(q), outn > 0 ? out : p, outn > 0 ? outn : adv, 0);
	q->i += adv;
	return 0;
}

/* A tag or attribute name at q->i, lower-cased into name (100 bytes, as
 * libxml2's htmlParseHTMLName reads at most 99 more). 0 when none. */
static size_t
qp_name(struct qp *q, char *name, int attr)
{
	size_t k = 0;

	while (q->i < q->n && k < 100) {
		unsigned char c = (unsigned char)q->s[q->i];

		if (!(is_alpha(c) || c == '_' || c == ':' || c == '.' ||
		    (k > 0 && (is_digit(c) || c == '-'))))
			break;
		if (!attr && (c == ':' || c == '.'))
			return 0;	/* a prefix: libxml2 splits it */
		name[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		q->i++;
	}
	return k < 100 ? k : 0;
}

static void
qp_blanks(struct qp *q)
{
	while (q->i < q->n && is_blank((unsigned char)q->s[q->i]))
		q->i++;
}

/* An attribute value: quoted, or up to a blank or '>'. Stored in d->s. */
static int
qp_value(struct qp *q, size_t *val)
{
	char quote = q->s[q->i], out[8];
	size_t outn, adv;

	if (quote == '"' || quote == '\'')
		q->i++;
	else
		quote = '\0';
	*val = q->d->s.len;
	for (;;) {
		const char *p = q->s + q->i;
		size_t k = 0, rest = q->n - q->i;

		while (k < rest && p[k] != '&' && (quote != '\0' ? p[k] != quote :
		    p[k] != '>' && !is_blank((unsigned char)p[k])))
			k++;
		add(&q->d->s, p, k);
		q->i += k;
		if (k == rest)
			return -1;	/* libxml2 would read on, past the end */
		if (p[k] != '&')
			break;
		if (qp_ref(p + k, rest - k, out, &outn, &adv) == -1)
			return -1;
		add(&q->d->s, outn > 0 ? out : p + k, outn > 0 ? outn : adv);
		q->i += adv;
	}
	addc(&q->d->s, '\0');
	if (quote != '\0')
		q->i++;
	return 0;
}

/* The attributes of elem up to '>' or "/>"; 1 for "/>", 0 for '>'. */
static int
qp_attrs(struct qp *q, size_t elem)
{
	struct hdoc *d = q->d;
	size_t tail = NIL;
	char name[100];

	for (;;) {
		size_t n, nameoff, val, mark;

		qp_blanks(q);
		if (q->i >= q->n)
			return -1;
		if (q->s[q->i] == '>') {
			q->i++;
			return 0;
		}
		if (q->s[q->i] == '/' && q->i + 1 < q->n &&
		    q->s[q->i + 1] == '>') {
			q->i += 2;
			return 1;
		}
		if ((n = qp_name(q, name, 1)) == 0)
			return -1;
		mark = d->s.len;
		nameoff = h_str(d, name, n);
		qp_blanks(q);
		if (q->i < q->n && q->s[q->i] == '=') {
			q->i++;
			qp_blanks(q);
			if (q->i >= q->n || qp_value(q, &val) == -1)
				return -1;
		} else
			/* no value: a boolean attribute gets its name, others
			 * none (read as "") */
			val = htmlIsBooleanAttr((const xmlChar *)HSTR(d,
			    nameoff)) ? nameoff : nameoff + n;
		/* The first of two alike wins (libxml2: "redefined"). */
		if (h_prop(d, elem, HSTR(d, nameoff)) != NULL) {
			d->s.len = mark;
			d->s.data[mark] = '\0';
			continue;
		}
		h_attr(d, elem, &tail, nameoff, val, 0);
	}
}

static int
closes(int new, int old)
{
	return new >= 0 && old >= 0 &&
	    (tag_closers[old][new / 64] >> (new % 64) & 1);
}

/* A start tag at q->i (a letter after '<'). */
static int
qp_start(struct qp *q)
{
	struct hdoc *d = q->d;
	char name[100];
	size_t n, elem;
	int id, self;

	q->i++;
	if ((n = qp_name(q, name, 0)) == 0)
		return -1;
	id = tag_id(name, n);
	/* What libxml2 treats apart: document structure, raw text, and
	 * <meta>, which can switch its decoder. */
	if (id == TAG_HTML || id == TAG_HEAD || id == TAG_BODY ||
	    id == TAG_SCRIPT || id == TAG_STYLE || id == TAG_META)
		return -1;
	while (q->nopen > 2 && closes(id, d->n[qp_top(q)].id))
		q->nopen--;
	if (q->nopen == QP_DEPTH)
		return -1;
	elem = h_elem(d, qp_top(q), name, n, id);
	q->open[q->nopen++] = elem;
	if ((self = qp_attrs(q, elem)) == -1)
		return -1;
	if (self) {
		q->nopen--;
		return 0;
	}
	if (id >= 0 ? tag_empty[id] : 0) {
		q->nopen--;
		return 0;
	}
	if (id < 0) {
		const htmlElemDesc *e = htmlTagLookup((const xmlChar *)HSTR(d,
		    d->n[elem].str));

		if (e != NULL && e->empty)
			q->nopen--;
	}
	return 0;
}

/* libxml2's htmlEndPriority: an end tag closes open elements up to its
 * own only past elements of no higher priority. */
static int
end_priority(int id)
{
	switch (id) {
	case TAG_DIV:
		return 150;
	case TAG_TD:
	case TAG_TH:
		return 160;
	case TAG_TR:
		return 170;
	case TAG_THEAD:
	case TAG_TBODY:
	case TAG_TFOOT:
		return 180;
	case TAG_TABLE:
		return 190;
	case TAG_HEAD:
	case TAG_BODY:
		return 200;
	case TAG_HTML:
		return 220;
	default:
		return 100;
	}
}

/* An end tag at q->i ("</"). */
static int
qp_end(struct qp *q)
{
	struct hdoc *d = q->d;
	const struct hnode *top;
	char name[100];
	size_t n;
	int id, k, prio;

	q->i += 2;
	if (q->i >= q->n || !is_alpha((unsigned char)q->s[q->i]) ||
	    (n = qp_name(q, name, 0)) == 0)
		return -1;
	qp_blanks(q);
	if (q->i >= q->n || q->s[q->i] != '>')
		return -1;
	q->i++;
	top = &d->n[qp_top(q)];
	if (q->nopen > 2 && top->len == n && memcmp(HSTR(d, top->str), name,
	    n) == 0) {
		q->nopen--;	/* the usual case: the element open last */
		return 0;
	}
	id = tag_id(name, n);
	if (id == TAG_HTML || id == TAG_HEAD || id == TAG_BODY)
		return -1;
	prio = end_priority(id);
	for (k = q->nopen - 1; k >= 2; k--) {
		const struct hnode *e = &d->n[q->open[k]];

		if (e->len == n && memcmp(HSTR(d, e->str), name, n) == 0)
			break;
		if (end_priority(e->id) > prio)
			return 0;	/* not closed past that: ignored */
	}
	if (k >= 2)
		q->nopen = k;	/* closed, with what is open inside */
	return 0;
}

/* A comment at q->i ("<!--"); it ends at the first "-->" or "--!>". */
static int
qp_comment(struct qp *q)
{
	for (size_t i = q->i + 4; i + 2 < q->n; i++) {
		if (q->s[i] != '-' || q->s[i + 1] != '-')
			continue;
		if (q->s[i + 2] == '>' || (q->s[i + 2] == '!' &&
		    i + 3 < q->n && q->s[i + 3] == '>')) {
			q->i = i + (q->s[i + 2] == '>' ? 3 : 4);
			h_node(q->d, qp_top(q), H_OTHER);
			return 0;
		}
	}
	return -1;	/* no end in the fragment */
}

/*
 * Reads the cleaned fragment s (n bytes) into d as libxml2 reads it
 * wrapped in <html><body>; plain says that put_text() leaves all of s as
 * it is. Returns 0, or -1 when it is beyond the quick reader (d is then
 * to be reset).
 */
static int
quick_parse(const char *s, size_t n, int plain, struct hdoc *d)
{
	struct qp q;
	const char *p;

	/* U+FFFE and U+FFFF: libxml2 drops them from text, not from
	 * attributes. Rare enough to leave to it. */
	for (p = memchr(s, 0xef, n); p != NULL; p = memchr(p + 1, 0xef,
	    n - (size_t)(p + 1 - s)))
		if (p + 2 < s + n && (unsigned char)p[1] == 0xbf &&
		    ((unsigned char)p[2] == 0xbe || (unsigned char)p[2] == 0xbf))
			return -1;
	memset(&q, 0, sizeof q);
	q.d = d;
	q.s = s;
	q.n = n;
	q.plain = plain;
	/* The strings are mostly the text itself; a tag every 40 bytes or
	 * so. Sized once, they seldom grow. */
	buf_grow(&d->s, n + n / 8 + 64);
	d->ncap = n / 32 + 16;
	d->n = xmalloc(d->ncap * sizeof *d->n);
	p = memchr(s, '&', n);
	q.amp = p != NULL ? (size_t)(p - s) : n;
	d->root = h_elem(d, NIL, "html", 4, TAG_HTML);
	q.open[0] = d->root;
	q.open[1] = h_elem(d, d->root, "body", 4, TAG_BODY);
	q.nopen = 2;
	while (q.i < n) {
		const char *c = s + q.i;
		unsigned char c1 = q.i + 1 < n ? (unsigned char)c[1] : '\0';
		int rc = 0;

		if (*c != '<')
			rc = qp_text(&q);
		else if (is_alpha(c1))
			rc = qp_start(&q);
		else if (c1 == '/')
			rc = qp_end(&q);
		else if (c1 == '!' && q.i + 3 < n && c[2] == '-' && c[3] == '-')
			rc = qp_comment(&q);
		else if (c1 == '!' || c1 == '?' || c1 == '_' || c1 == ':')
			rc = -1;
		else {
			h_text(d, qp_top(&q), "<", 1, 0);	/* "1 < 2" */
			q.i++;
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* ---- libxml2's HTML parser, for the rest ---- */

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

/* x's attributes, as xmlNodeGetContent() reads them. */
static void
copy_attrs(struct hdoc *d, size_t elem, const xmlNode *x)
{
	size_t tail = NIL;

	for (const xmlAttr *a = x->properties; a != NULL; a = a->next) {
		xmlChar *v = xmlNodeGetContent((const xmlNode *)a);
		size_t name = h_str(d, (const char *)a->name,
		    strlen((const char *)a->name));
		size_t val = h_str(d, v != NULL ? (const char *)v : "",
		    v != NULL ? strlen((const char *)v) : 0);

		h_attr(d, elem, &tail, name, val, a->ns != NULL);
		xmlFree(v);
	}
}

/* libxml2's tree below x copied under parent (its depth is bounded by
 * libxml2's, 256). */
static void
copy_tree(struct hdoc *d, size_t parent, const xmlNode *x)
{
	for (const xmlNode *c = x->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE ||
		    c->type == XML_CDATA_SECTION_NODE) {
			const char *t = c->content != NULL ?
			    (const char *)c->content : "";

			h_text_node(d, parent, t, strlen(t), 0);
		} else if (c->type == XML_ELEMENT_NODE) {
			size_t k = h_elem(d, parent, (const char *)c->name,
			    strlen((const char *)c->name), -2);

			copy_attrs(d, k, c);
			copy_tree(d, k, c);
		} else
			h_node(d, parent, H_OTHER);
	}
}

/* The clean fragment (n bytes at s, n <= INT_MAX - 32) read by libxml2
 * into d, wrapped in <html><body>. */
static int
libxml_parse(const char *s, size_t n, struct hdoc *d)
{
	static const char open[] = "<html><body>", close[] = "</body></html>";
	struct buf b = { 0 };
	struct quiet q;
	htmlDocPtr doc;
	xmlNodePtr root;

	buf_add(&b, open, sizeof open - 1);
	buf_add(&b, s, n);
	buf_add(&b, close, sizeof close - 1);
	quiet_on(&q);
	doc = htmlReadMemory(b.data, (int)b.len, NULL, "UTF-8",
	    HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
	    HTML_PARSE_NODEFDTD);
	quiet_off(&q);
	buf_free(&b);
	if (doc == NULL)
		return -1;
	if ((root = xmlDocGetRootElement(doc)) != NULL) {
		d->root = h_elem(d, NIL, (const char *)root->name,
		    strlen((const char *)root->name), -2);
		copy_attrs(d, d->root, root);
		copy_tree(d, d->root, root);
	}
	xmlFreeDoc(doc);
	return 0;
}

/* ---- checking the quick reader against libxml2 ---- */

/*
 * With TEMABREV_HTML_CROSSCHECK set in the environment (the tests set it),
 * every fragment the quick reader reads is read by libxml2 as well, and a
 * difference in the trees is a bug: both are printed to stderr and the
 * program aborts. The only place this module prints.
 */
static void
dump_tree(const struct hdoc *d, size_t x, int depth)
{
	for (size_t c = d->n[x].first; c != NIL; c = d->n[c].next) {
		const struct hnode *n = &d->n[c];

		fprintf(stderr, "%*s", depth * 2, "");
		if (n->type == H_TEXT)
			fprintf(stderr, "\"%s\"\n", HSTR(d, n->str));
		else if (n->type == H_OTHER)
			fprintf(stderr, "(other)\n");
		else {
			fprintf(stderr, "<%s", HSTR(d, n->str));
			for (size_t a = n->attr; a != NIL; a = d->a[a].next)
				fprintf(stderr, " %s=\"%s\"%s", HSTR(d,
				    d->a[a].name), HSTR(d, d->a[a].val),
				    d->a[a].ns ? "(ns)" : "");
			fprintf(stderr, ">\n");
			dump_tree(d, c, depth + 1);
		}
	}
}

static int
same_tree(const struct hdoc *a, size_t x, const struct hdoc *b, size_t y)
{
	size_t p = a->n[x].first, q = b->n[y].first, i, j;

	for (; p != NIL && q != NIL; p = a->n[p].next, q = b->n[q].next) {
		const struct hnode *m = &a->n[p], *n = &b->n[q];

		if (m->type != n->type || m->len != n->len ||
		    memcmp(HSTR(a, m->str), HSTR(b, n->str), m->len) != 0 ||
		    m->id != n->id || m->flags != n->flags)
			return 0;
		for (i = m->attr, j = n->attr; i != NIL && j != NIL;
		    i = a->a[i].next, j = b->a[j].next)
			if (strcmp(HSTR(a, a->a[i].name), HSTR(b,
			    b->a[j].name)) != 0 || strcmp(HSTR(a, a->a[i].val),
			    HSTR(b, b->a[j].val)) != 0 || a->a[i].ns != b->a[j].ns)
				return 0;
		if (i != NIL || j != NIL)
			return 0;
		if (m->type == H_ELEM && !same_tree(a, p, b, q))
			return 0;
	}
	return p == NIL && q == NIL;
}

static void
crosscheck(const char *s, size_t n, const struct hdoc *quick)
{
	struct hdoc lib;

	hdoc_init(&lib);
	if (libxml_parse(s, n, &lib) == -1 || lib.root == NIL ||
	    !same_tree(quick, quick->root, &lib, lib.root)) {
		fprintf(stderr, "html crosscheck: trees differ for\n%.*s\n"
		    "-- quick:\n", (int)n, s);
		dump_tree(quick, quick->root, 1);
		fprintf(stderr, "-- libxml2:\n");
		if (lib.root != NIL)
			dump_tree(&lib, lib.root, 1);
		abort();
	}
	hdoc_free(&lib);
}

/* The fragment (len bytes) read into d; -1 when it cannot be. */
static int
parse_html(const char *s, size_t len, struct hdoc *d)
{
	struct buf clean = { 0 };
	const char *frag = s;
	size_t n = len;
	int rc = -1;

	hdoc_init(d);
	/* Clean UTF-8 in, so the parser never falls back to Latin-1. */
	if (plain_prefix(s, len, 0) < len) {
		put_text(&clean, s, len, 0);
		frag = clean.data != NULL ? clean.data : "";
		n = clean.len;
	}
	if (n > INT_MAX - 32)
		goto done;
	if (quick_usable() && quick_parse(frag, n, frag == s, d) == 0) {
		if (crosschecking)
			crosscheck(frag, n, d);
		rc = 0;
		goto done;
	}
	hdoc_free(d);
	rc = libxml_parse(frag, n, d);
done:
	buf_free(&clean);
	if (rc == -1)
		hdoc_free(d);
	return rc;
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

enum { P_UNKNOWN, P_AS_IS, P_PREFIX, P_REFUSED, P_NONE };

struct san {
	struct buf		*out;
	const char		*base;
	const struct hdoc	*d;
	int			 paths;		/* P_*: absolute paths */
	char			*prefix;	/* P_PREFIX: scheme and host */
	size_t			 prefix_len;
};

/* Characters a URL path keeps through xmlBuildURI() as they are. */
static int
path_char(char c)
{
	return is_alpha((unsigned char)c) || is_digit((unsigned char)c) ||
	    c == '/' || c == '-' || c == '_' || c == '~' || c == '.';
}

/* "/a/b-c.html": a path html_safe_url() would resolve to the base's
 * scheme and authority followed by the path as it is (no "." or ".."
 * segment to remove). */
static int
plain_path(const char *v)
{
	if (v[0] != '/' || v[1] == '/')
		return 0;
	for (const char *p = v; *p != '\0'; p++)
		if (!path_char(*p) || (*p == '.' && p[-1] == '/'))
			return 0;
	return 1;
}

/*
 * html_safe_url(v, base). Links in one fragment are mostly absolute paths
 * on one site: the base is resolved once (for "/"), and such a path is
 * that result with the path put in place of the '/'.
 */
/*
 * For a base like "https://example.se/a/b/" (lower-case http, https or
 * ftp, a host of letters, digits, dots and hyphens, no port, a path of
 * path_char()s), what html_safe_url("/", base) gives: scheme, "://" and
 * host, and a '/'. Caller frees; NULL for any other base.
 */
static char *
simple_root(const char *base)
{
	const char *h, *p;

	if (base == NULL)
		return NULL;
	if (strncmp(base, "https://", 8) == 0)
		h = base + 8;
	else if (strncmp(base, "http://", 7) == 0 ||
	    strncmp(base, "ftp://", 6) == 0)
		h = strchr(base, '/') + 2;
	else
		return NULL;
	for (p = h; (*p >= 'a' && *p <= 'z') || is_digit((unsigned char)*p) ||
	    *p == '.' || *p == '-'; p++)
		;
	if (p == h || (*p != '\0' && *p != '/'))
		return NULL;
	for (const char *c = p; *c != '\0'; c++)
		if (!path_char(*c))
			return NULL;
	return xasprintf("%.*s/", (int)(p - base), base);
}

/*
 * How san_put_url() writes the URL v: P_PREFIX (the base's root, then v),
 * P_AS_IS, P_REFUSED (not at all), or P_NONE (html_safe_url() decides).
 */
static int
san_path(struct san *s, const char *v)
{
	char *r;
	size_t n;

	if (s->paths == P_NONE || !plain_path(v))
		return P_NONE;
	if (s->paths != P_UNKNOWN)
		return s->paths;
	r = simple_root(s->base);
	if (crosschecking && r != NULL) {
		char *slow = html_safe_url("/", s->base);

		if (slow == NULL || strcmp(r, slow) != 0) {
			fprintf(stderr, "html crosscheck: base %s: %s, not %s\n",
			    s->base, r, slow);
			abort();
		}
		free(slow);
	}
	if (r == NULL)
		r = html_safe_url("/", s->base);
	n = r != NULL ? strlen(r) : 0;
	if (r == NULL)
		s->paths = P_REFUSED;
	else if (strcmp(r, "/") == 0)
		s->paths = P_AS_IS;
	else if (scheme_len(r) > 0 && r[n - 1] == '/') {
		s->paths = P_PREFIX;
		s->prefix = r;
		s->prefix_len = n - 1;
		r = NULL;
	} else
		s->paths = P_NONE;
	free(r);
	return s->paths;
}

/* The element's allowed attributes; -1 when it must go (img without src). */
static int
put_attrs(struct san *s, size_t e)
{
	const struct hdoc *d = s->d;
	int has_src = 0;

	for (size_t a = d->n[e].attr; a != NIL; a = d->a[a].next) {
		const char *name = HSTR(d, d->a[a].name);
		const char *v = HSTR(d, d->a[a].val);
		int kind = d->a[a].ns ? -1 : attr_kind(name), how = P_NONE;
		char *url = NULL;

		if (kind < 0)
			continue;
		if (kind == A_URL) {
			/* html_safe_url(v, base); an absolute path on the base's
			 * site (how most links in a fragment are written) is its
			 * root and the path, the root resolved once */
			if ((how = san_path(s, v)) == P_REFUSED)
				continue;
			if (how == P_NONE) {
				url = html_safe_url(v, s->base);
				if (url == NULL || *url == '\0') {
					free(url);
					continue;
				}
				v = url;
			}
			if (strcasecmp(name, "src") == 0)
				has_src = 1;
		}
		addc(s->out, ' ');
		add(s->out, name, strlen(name));
		add(s->out, "=\"", 2);
		if (how == P_PREFIX)	/* ends in ASCII: no bearing on v */
			put_text(s->out, s->prefix, s->prefix_len, 1);
		put_text(s->out, v, strlen(v), 1);
		addc(s->out, '"');
		free(url);
	}
	return d->n[e].id == TAG_IMG && !has_src ? -1 : 0;
}

/* put_text(esc 1) of a plain text (NUL-terminated): only '>' and '"'
 * to escape. */
static void
put_plain(struct buf *out, const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = strcspn(s + i, "\">");
		add(out, s + i, k);
		if ((i += k) >= n)
			break;
		if (s[i] == '>')
			add(out, "&gt;", 4);
		else
			add(out, "&quot;", 6);
		i++;
	}
}

static void san_children(struct san *, size_t, int);

static void
san_element(struct san *s, size_t e, int depth)
{
	const struct hnode *n = &s->d->n[e];
	const char *name = HSTR(s->d, n->str);
	unsigned f = n->flags;
	size_t mark = s->out->len;

	if ((f & T_DROP) || depth > MAX_DEPTH)
		return;
	if (!(f & T_KEEP)) {
		san_children(s, e, depth + 1);
		return;
	}
	addc(s->out, '<');
	add(s->out, name, n->len);
	if (put_attrs(s, e) == -1) {
		s->out->len = mark;
		s->out->data[mark] = '\0';
		return;
	}
	if (f & T_VOID) {
		add(s->out, " />", 3);
		return;
	}
	addc(s->out, '>');
	san_children(s, e, depth + 1);
	add(s->out, "</", 2);
	add(s->out, name, n->len);
	addc(s->out, '>');
}

static void
san_children(struct san *s, size_t e, int depth)
{
	const struct hdoc *d = s->d;

	for (size_t c = d->n[e].first; c != NIL; c = d->n[c].next) {
		if (d->n[c].type == H_TEXT && d->n[c].plain)
			put_plain(s->out, HSTR(d, d->n[c].str), d->n[c].len);
		else if (d->n[c].type == H_TEXT)
			put_text(s->out, HSTR(d, d->n[c].str), d->n[c].len, 1);
		else if (d->n[c].type == H_ELEM)
			san_element(s, c, depth);
		/* comments, processing instructions and the rest: dropped */
	}
}

int
html_sanitize(const char *fragment, size_t len, const char *base_url,
    struct buf *out)
{
	struct hdoc d;
	struct san s = { out, base_url, &d, P_UNKNOWN, NULL, 0 };
	size_t start = out->len, a, z;

	if (parse_html(fragment, len, &d) == -1)
		return -1;
	buf_grow(out, len + len / 4 + 64);	/* absolute URLs grow it */
	if (d.root != NIL)
		san_children(&s, d.root, 0);
	hdoc_free(&d);
	free(s.prefix);
	/* White space around the fragment is layout of the feed, not text:
	 * trimmed where it was written. */
	a = start;
	z = out->len;
	while (a < z && strchr(" \t\r\n", out->data[a]) != NULL)
		a++;
	while (z > a && strchr(" \t\r\n", out->data[z - 1]) != NULL)
		z--;
	memmove(out->data + start, out->data + a, z - a);
	out->len = start + z - a;
	out->data[out->len] = '\0';
	return 0;
}

/* ---- one line of text ---- */

static void
line_walk(const struct hdoc *d, size_t n, struct buf *raw, int depth)
{
	for (size_t c = d->n[n].first; c != NIL; c = d->n[c].next) {
		const struct hnode *x = &d->n[c];

		if (x->type == H_TEXT)
			add(raw, HSTR(d, x->str), x->len);
		else if (x->type == H_ELEM && depth < MAX_DEPTH) {
			unsigned f = x->flags;

			if (f & T_DROP)
				continue;
			if (f & (T_PARA | T_LINE | T_VOID))
				buf_addc(raw, ' ');
			if (x->id == TAG_IMG) {		/* alt is its text */
				const char *alt = h_prop(d, c, "alt");

				if (alt != NULL)
					buf_addstr(raw, alt);
				buf_addc(raw, ' ');
			}
			line_walk(d, c, raw, depth + 1);
			if (f & (T_PARA | T_LINE))
				buf_addc(raw, ' ');
		}
	}
}

/* The length of a run at s of characters put_text() keeps as they are,
 * none of them white space (ASCII or no-break). */
static size_t
word_run(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (u[i] < 0x80) {
			if (u[i] <= 0x20 || byte_class[u[i]] == 0)
				break;
			i++;
		} else if ((k = plain_seq(u + i, n - i)) > 0 &&
		    !(u[i] == 0xc2 && u[i + 1] == 0xa0))
			i += k;
		else
			break;
	}
	return i;
}

/* White space runs (ASCII and no-break space) to one space, trimmed. */
static void
collapse(const char *s, size_t n, struct buf *out)
{
	int space = 0, any = 0;
	size_t adv;

	for (size_t i = 0; i < n; i += adv) {
		if ((adv = word_run(s + i, n - i)) > 0) {
			if (space && any)
				addc(out, ' ');
			space = 0;
			any = 1;
			add(out, s + i, adv);
			continue;
		}
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
	struct hdoc d;
	struct buf raw = { 0 };

	if (parse_html(html, len, &d) == -1)
		return -1;
	buf_addstr(out, "");
	if (d.root != NIL)
		line_walk(&d, d.root, &raw, 0);
	collapse(raw.data != NULL ? raw.data : "", raw.len, out);
	buf_free(&raw);
	hdoc_free(&d);
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
	const struct hdoc *d;
	struct buf	 clean;		/* tw_text's, kept for reuse */
	struct buf	 line_raw, line_text;	/* node_line's */
};

static inline size_t
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
	add(t->out, t->line.data != NULL ? t->line.data : "", t->line.len);
	addc(t->out, '\n');
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
	add(&t->line, t->prefix.data != NULL ? t->prefix.data : "",
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
is_url_word(const char *w, size_t n)
{
	for (size_t i = 0; i + 3 <= n; i++)
		if (w[i] == ':' && w[i + 1] == '/' && w[i + 2] == '/')
			return 1;
	return n >= 7 && memcmp(w, "mailto:", 7) == 0;
}

static size_t
prefix_cols(const struct tw *t)
{
	return u8_cols(t->prefix.data != NULL ? t->prefix.data : "",
	    t->prefix.len);
}

/* A word (n > 0 bytes, cols characters) onto the line. */
static void
tw_place(struct tw *t, const char *w, size_t n, size_t cols)
{
	tw_begin(t);
	if (t->has_text && t->cols + (t->space ? 1 : 0) + cols >
	    (size_t)t->width) {
		tw_end_line(t);
		tw_start_line(t);
	} else if (t->has_text && t->space) {
		addc(&t->line, ' ');
		t->cols++;
	}
	/* Longer than a whole line (the line is fresh here): break it
	 * between characters, never inside one, unless it is a URL, which
	 * must stay whole to work. A line has room for 10 at least. */
	while (cols > 10 && cols > tw_avail(t) && !is_url_word(w, n)) {
		size_t take = u8_prefix(w, n, tw_avail(t));

		buf_add(&t->line, w, take);
		t->has_text = 1;
		tw_end_line(t);
		tw_start_line(t);
		w += take;
		n -= take;
		cols = u8_cols(w, n);
	}
	add(&t->line, w, n);
	t->cols += cols;
	t->has_text = 1;
	t->started = 1;
	t->space = 0;
}

/* The word collected so far onto the line. */
static void
tw_flush_word(struct tw *t)
{
	if (t->word.len == 0)
		return;
	tw_place(t, t->word.data, t->word.len, u8_cols(t->word.data,
	    t->word.len));
	t->word.len = 0;
	t->word.data[0] = '\0';
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

/* Bytes where a word may end: white space, and C2, which starts a
 * no-break space (a space inside a word) among other characters. */
static const unsigned char word_stop[256] = {
	['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [' '] = 1, [0xc2] = 1,
};

/*
 * From c[i] (no word_stop byte), the end of the word's run: the next
 * word_stop byte, or len. *cols gets its characters (bytes that are no
 * UTF-8 continuation). Eight bytes at a time where there are eight; the
 * lowest flag of HAS_ZERO is exact (see plain8).
 */
static size_t
word_end(const char *c, size_t i, size_t len, size_t *cols)
{
	size_t k = 0;

	*cols = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (i + 8 <= len) {
		uint64_t x, stop, cont;

		memcpy(&x, c + i, 8);
		stop = HAS_ZERO(x ^ (ONES * ' ')) | HAS_ZERO(x ^ (ONES * '\t')) |
		    HAS_ZERO(x ^ (ONES * '\n')) | HAS_ZERO(x ^ (ONES * '\r')) |
		    HAS_ZERO(x ^ (ONES * 0xc2));
		k = stop != 0 ? (size_t)__builtin_ctzll(stop) / 8 : 8;
		/* continuation bytes: 10xxxxxx */
		cont = x & ~(x << 1) & HIGHS;
		if (k < 8)
			cont &= ((uint64_t)1 << (k * 8)) - 1;
		/* one bit per byte at most: summed by a multiplication (no
		 * popcount instruction on plain x86-64) */
		*cols += k - (size_t)(((cont >> 7) * ONES) >> 56);
		i += k;
		if (k < 8)
			return i;
	}
#endif
	while (i < len && !word_stop[(unsigned char)c[i]])
		*cols += ((unsigned char)c[i++] & 0xc0) != 0x80;
	return i;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
tw_text(struct tw *t, const char *s, size_t n, int plain)
{
	size_t i = 0, len = n;
	const char *c = plain ? s : clean_view(s, n, &t->clean, &len);

	if (t->pre) {
		tw_pre_text(t, c, len);
		return;
	}
	/* Valid UTF-8 now, NUL-terminated: 0xC2 is always a lead byte and
	 * white space only itself, so words go over in runs. */
	while (i < len) {
		size_t run = i, cols = 0;

		if (is_space(c[i])) {
			tw_flush_word(t);
			t->space = 1;
			i++;
			continue;
		}
		if ((unsigned char)c[i] == 0xc2 && (unsigned char)c[i + 1] == 0xa0) {
			addc(&t->word, ' ');	/* no-break: same word */
			i += 2;
			continue;
		}
		i = word_end(c, i, len, &cols);
		while (i < len && (unsigned char)c[i] == 0xc2 &&
		    (unsigned char)c[i + 1] != 0xa0) {
			i += 2;		/* U+0080-U+00BF, not a space */
			cols++;
			while (i < len && !word_stop[(unsigned char)c[i]])
				cols += ((unsigned char)c[i++] & 0xc0) != 0x80;
		}
		/* A whole word, nothing collected before it: straight onto
		 * the line. Else (it may go on in the next text) collected. */
		if (t->word.len > 0 || i >= len || !is_space(c[i]))
			add(&t->word, c + run, i - run);
		else if (t->need == 0 && t->open && cols <= 10 &&
		    (!t->has_text || t->cols + (t->space ? 1 : 0) + cols <=
		    (size_t)t->width)) {
			/* tw_place() when the word fits: no pending break, no
			 * new line, no breaking of the word */
			if (t->has_text && t->space) {
				addc(&t->line, ' ');
				t->cols++;
			}
			add(&t->line, c + run, i - run);
			t->cols += cols;
			t->has_text = 1;
			t->started = 1;
			t->space = 0;
		} else
			tw_place(t, c + run, i - run, cols);
	}
}

/* The reference number of url, added when new. */
static size_t
tw_link(struct tw *t, const char *url)
{
	for (size_t i = 0; i < t->nlinks; i++)
		if (strcmp(t->links[i], url) == 0)
			return i + 1;
	if ((t->nlinks & (t->nlinks - 1)) == 0)	/* 0, 1, 2, 4, ...: full */
		t->links = xrealloc(t->links, (t->nlinks > 0 ? t->nlinks * 2 :
		    4) * sizeof *t->links);
	t->links[t->nlinks++] = xstrdup(url);
	return t->nlinks;
}

static void tw_children(struct tw *, size_t, int);

/* The link's text on one line, to see whether it only repeats the URL;
 * in t->line_text, valid until the next call. */
static const char *
node_line(struct tw *t, size_t n)
{
	buf_reset(&t->line_raw);
	buf_reset(&t->line_text);
	line_walk(t->d, n, &t->line_raw, 0);
	buf_addstr(&t->line_text, "");
	collapse(t->line_raw.data != NULL ? t->line_raw.data : "",
	    t->line_raw.len, &t->line_text);
	return t->line_text.data;
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
tw_anchor(struct tw *t, size_t n, int depth)
{
	const char *href = h_prop(t->d, n, "href");
	char *url = href != NULL ? html_safe_url(href, NULL) : NULL;

	tw_children(t, n, depth + 1);
	/* "text[1]", unless the text is the URL already. */
	if (url != NULL && *url != '\0' && *url != '#' &&
	    !repeats_url(node_line(t, n), url)) {
		addc(&t->word, '[');
		add_num(&t->word, tw_link(t, url));
		addc(&t->word, ']');
	}
	free(url);
}

static void
prefix_cut(struct tw *t, size_t len)
{
	t->prefix.len = len;
	if (t->prefix.data != NULL)
		t->prefix.data[len] = '\0';
}

static void
tw_list_item(struct tw *t, size_t n, int depth)
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
tw_list(struct tw *t, size_t n, int depth, int ordered)
{
	const char *start = ordered ? h_prop(t->d, n, "start") : NULL;

	tw_block(t, t->nlists == 0 ? 2 : 1);
	if (t->nlists < MAX_LISTS) {
		t->list_num[t->nlists++] = ordered ? (start != NULL ?
		    (int)strtol(start, NULL, 10) - 1 : 0) : -1;
		tw_children(t, n, depth + 1);
		t->nlists--;
	} else
		tw_children(t, n, depth + 1);
	tw_block(t, t->nlists == 0 ? 2 : 1);
}

static void
tw_quote(struct tw *t, size_t n, int depth)
{
	size_t saved = t->prefix.len;

	tw_block(t, 2);
	buf_addstr(&t->prefix, "> ");
	tw_children(t, n, depth + 1);
	tw_block(t, 2);
	prefix_cut(t, saved);
}

static void
tw_image(struct tw *t, size_t n)
{
	const char *alt = h_prop(t->d, n, "alt");
	struct buf a = { 0 };

	if (alt != NULL)
		collapse(alt, strlen(alt), &a);
	if (a.len > 0) {
		buf_addc(&t->word, '[');
		tw_text(t, a.data, a.len, 0);
		buf_addc(&t->word, ']');
	}
	buf_free(&a);
}

static void
tw_element(struct tw *t, size_t n, int depth)
{
	unsigned f = t->d->n[n].flags;
	int id = t->d->n[n].id;

	if ((f & T_DROP) || depth > MAX_DEPTH)
		return;
	if (id == TAG_BR) {
		tw_flush_word(t);
		if (t->open && t->has_text)
			tw_end_line(t);
		else if (t->started && t->need == 0)
			buf_addc(t->out, '\n');
		t->space = 0;
	} else if (id == TAG_A)
		tw_anchor(t, n, depth);
	else if (id == TAG_LI)
		tw_list_item(t, n, depth);
	else if (id == TAG_UL || id == TAG_OL || id == TAG_DL)
		tw_list(t, n, depth, id == TAG_OL);
	else if (id == TAG_BLOCKQUOTE)
		tw_quote(t, n, depth);
	else if (id == TAG_IMG)
		tw_image(t, n);
	else if (id == TAG_HR) {
		tw_block(t, 2);
		buf_addstr(&t->word, "----");
		tw_block(t, 2);
	} else if (id == TAG_PRE) {
		tw_block(t, 2);
		t->pre++;
		tw_children(t, n, depth + 1);
		t->pre--;
		tw_block(t, 2);
	} else if (id == TAG_TD || id == TAG_TH) {
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
tw_children(struct tw *t, size_t n, int depth)
{
	const struct hdoc *d = t->d;

	for (size_t c = d->n[n].first; c != NIL; c = d->n[c].next) {
		if (d->n[c].type == H_TEXT)
			tw_text(t, HSTR(d, d->n[c].str), d->n[c].len,
			    d->n[c].plain);
		else if (d->n[c].type == H_ELEM)
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
		addc(t->out, '[');
		add_num(t->out, i + 1);
		add(t->out, "] ", 2);
		add(t->out, t->links[i], strlen(t->links[i]));
		addc(t->out, '\n');
		free(t->links[i]);
	}
	free(t->links);
	buf_free(&t->line);
	buf_free(&t->word);
	buf_free(&t->prefix);
	buf_free(&t->clean);
	buf_free(&t->line_raw);
	buf_free(&t->line_text);
}

int
html_to_text(const char *html, size_t len, int width, struct buf *out)
{
	struct hdoc d;
	struct buf text = { 0 }, *to;
	struct tw t;

	if (parse_html(html, len, &d) == -1)
		return -1;
	/* The renderer looks back at what it wrote: into out itself only
	 * when that starts empty. */
	to = out->len == 0 ? out : &text;
	buf_grow(to, len + 64);
	memset(&t, 0, sizeof t);
	t.out = to;
	t.width = width < 20 ? HTML_TEXT_WIDTH : width;
	t.d = &d;
	if (d.root != NIL)
		tw_children(&t, d.root, 0);
	tw_finish(&t);
	/* Exactly one newline at the end. */
	while (to->len > 0 && to->data[to->len - 1] == '\n')
		to->len--;
	to->data[to->len] = '\0';
	if (to == &text && text.len > 0)
		buf_add(out, text.data, text.len);
	if (to->len > 0)
		buf_addc(out, '\n');
	buf_free(&text);
	hdoc_free(&d);
	return 0;
}
