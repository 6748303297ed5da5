/*
 * feed: RSS, RDF and Atom parsing on libxml2's xmlTextReader. RSS 2.0 and
 * 0.9x, RSS 1.0 (RDF) with Dublin Core and content:encoded, Atom 1.0
 * (RFC 4287) and 0.3, XML Base (RFC 3986 resolution), charsets per
 * RFC 7303 section 3. See feed.h for the contract.
 *
 * A parse is one or two passes over the input. Each pass first runs a
 * prolog scan (a push parser that stops at the root element) that refuses
 * any DOCTYPE declaring entities, so nothing is ever expanded; then the
 * reader walks the document, expanding each item into a small DOM subtree
 * that is read and freed before the next. The first pass is strict; an
 * error sends the parse to a second pass in recovery mode, over input
 * cleaned on the way in (bare & escaped, HTML entities as character
 * references, stray bytes of a UTF-8 feed read as windows-1252).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "date.h"
#include "feed.h"
#include "html.h"
#include "util.h"

#define NS_ATOM10	"http://www.w3.org/2005/Atom"
#define NS_ATOM03	"http://purl.org/atom/ns#"
#define NS_RDF		"http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_RSS10	"http://purl.org/rss/1.0/"
#define NS_RSS090	"http://my.netscape.com/rdf/simple/0.9/"
#define NS_DC		"http://purl.org/dc/elements/1.1/"
#define NS_DCTERMS	"http://purl.org/dc/terms/"
#define NS_CONTENT	"http://purl.org/rss/1.0/modules/content/"
#define NS_XHTML	"http://www.w3.org/1999/xhtml"

/* Namespaces RSS 0.9x/2.0 and RSS 1.0 elements have been published in. */
static const char *const rss_namespaces[] = {
	NS_RSS10, NS_RSS090, "http://channel.netscape.com/rdf/simple/0.9/",
	"http://backend.userland.com/rss2", "http://backend.userland.com/rss",
	"http://blogs.law.harvard.edu/tech/rss", "http://purl.org/net/rss",
};

#define CHUNK		8192
#define FILE_BUF	65536

enum format { F_NONE, F_RSS, F_RDF, F_ATOM };

/* ---- input: memory or a file, optionally cleaned for recovery ---- */

struct src {
	const char	*data;		/* memory input */
	size_t		 len, pos;
	FILE		*fp;		/* file input */
	int		 ioerr;		/* errno of a failed read */
	int		 eof;
	/* Recovery clean-up (see filter_run): */
	int		 filter;
	int		 utf8;		/* also repair invalid UTF-8 */
	int		 utf32;		/* 1 big-endian, 2 little: convert */
	struct buf	 u32;		/* a partial UTF-32 unit */
	int		 repaired;	/* bytes read as windows-1252 */
	int		 in_cdata, in_comment;
	struct buf	 raw;		/* read, not yet cleaned */
	struct buf	 cooked;	/* cleaned, not yet handed out */
	size_t		 cooked_pos;
};

static int
src_rewind(struct src *s)
{
	s->pos = 0;
	s->eof = 0;
	s->ioerr = 0;
	s->repaired = 0;
	s->in_cdata = s->in_comment = 0;
	buf_reset(&s->raw);
	buf_reset(&s->cooked);
	buf_reset(&s->u32);
	s->cooked_pos = 0;
	if (s->fp != NULL) {
		clearerr(s->fp);
		if (fseek(s->fp, 0, SEEK_SET) == -1) {
			s->ioerr = errno;
			return -1;
		}
	}
	return 0;
}

/* Up to n raw bytes; 0 at the end, -1 on a read error (errno kept). */
static long
src_raw(struct src *s, char *out, size_t n)
{
	size_t got;

	if (s->fp == NULL) {
		got = s->len - s->pos < n ? s->len - s->pos : n;
		memcpy(out, s->data + s->pos, got);
		s->pos += got;
		return (long)got;
	}
	got = fread(out, 1, n, s->fp);
	if (got == 0 && ferror(s->fp)) {
		s->ioerr = errno != 0 ? errno : EIO;
		return -1;
	}
	return (long)got;
}

/* windows-1252 0x80-0x9F as Unicode; 0xFFFD where it has no character. */
static const unsigned short cp1252_hi[32] = {
	0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
	0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
};

static void
put_cp1252(struct buf *b, unsigned char c)
{
	unsigned u = c < 0xa0 ? cp1252_hi[c - 0x80] : c;

	if (u < 0x800) {
		buf_addc(b, (char)(0xc0 | (u >> 6)));
		buf_addc(b, (char)(0x80 | (u & 0x3f)));
	} else {
		buf_addc(b, (char)(0xe0 | (u >> 12)));
		buf_addc(b, (char)(0x80 | ((u >> 6) & 0x3f)));
		buf_addc(b, (char)(0x80 | (u & 0x3f)));
	}
}

static int
is_name_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c == ':';
}

static int
is_name_char(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '.' ||
	    c == '-';
}

static int
is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* "&#...;" at p: copied (with XML's lower-case x); 0 for more input,
 * (size_t)-1 when it is no reference. */
static size_t
amp_numeric(const char *p, size_t n, int final, struct buf *out)
{
	size_t first = n > 2 && (p[2] == 'x' || p[2] == 'X') ? 3 : 2, i;

	for (i = first; i < n && i < 12; i++)
		if (!(first == 3 ? is_hex((unsigned char)p[i]) :
		    (p[i] >= '0' && p[i] <= '9')))
			break;
	if (i == n && !final)
		return 0;
	if (i >= n || p[i] != ';' || i == first)
		return (size_t)-1;
	buf_add(out, p, 2);
	if (first == 3)
		buf_addc(out, 'x');	/* "&#X61;" is HTML, not XML */
	buf_add(out, p + first, i + 1 - first);
	return i + 1;
}

/* "&name;" at p: XML's five copied, HTML's as a character reference; 0
 * for more input, (size_t)-1 when it is neither. */
static size_t
amp_named(const char *p, size_t n, int final, struct buf *out)
{
	static const char *const xml_ents[] = { "amp", "lt", "gt", "quot",
	    "apos" };
	const htmlEntityDesc *e;
	char name[40];
	size_t i;

	for (i = 2; i < n && i < 34 && is_name_char((unsigned char)p[i]); i++)
		;
	if (i == n && !final)
		return 0;
	if (i >= n || p[i] != ';')
		return (size_t)-1;
	memcpy(name, p + 1, i - 1);
	name[i - 1] = '\0';
	for (size_t k = 0; k < 5; k++)
		if (strcmp(name, xml_ents[k]) == 0) {
			buf_add(out, p, i + 1);
			return i + 1;
		}
	if ((e = htmlEntityLookup((const xmlChar *)name)) == NULL)
		return (size_t)-1;
	buf_printf(out, "&#%u;", e->value);
	return i + 1;
}

/*
 * An '&' at p (n bytes available) in recovery: copies a well-formed
 * reference, rewrites an HTML entity XML does not know (&nbsp;) as a
 * character reference, and escapes any other '&'. Returns the bytes
 * consumed, or 0 when more input is needed to decide.
 */
static size_t
filter_amp(const char *p, size_t n, int final, struct buf *out)
{
	static const char *const xml_refs[] = { "&lt;", "&gt;", "&amp;",
	    "&quot;", "&apos;" };
	size_t k = (size_t)-1;

	if (n == 1 && !final)
		return 0;
	/* Escaped markup is most of what there is: XML's own, copied. */
	for (size_t i = 0; i < sizeof xml_refs / sizeof xml_refs[0]; i++) {
		size_t len = strlen(xml_refs[i]);

		if (n >= len && memcmp(p, xml_refs[i], len) == 0) {
			buf_add(out, p, len);
			return len;
		}
	}
	if (n > 1 && p[1] == '#')
		k = amp_numeric(p, n, final, out);
	else if (n > 1 && is_name_start((unsigned char)p[1]))
		k = amp_named(p, n, final, out);
	if (k != (size_t)-1)
		return k;
	buf_addstr(out, "&amp;");
	return 1;
}

/* '<' at p: notes the start of a CDATA section or comment, where '&' is
 * not markup. Returns bytes consumed, 0 when more input is needed. */
static size_t
filter_lt(struct src *s, const char *p, size_t n, int final)
{
	static const char cdata[] = "<![CDATA[", comment[] = "<!--";

	if (!final && ((n < 9 && memcmp(p, cdata, n) == 0) ||
	    (n < 4 && memcmp(p, comment, n) == 0)))
		return 0;
	if (n >= 9 && memcmp(p, cdata, 9) == 0) {
		buf_add(&s->cooked, p, 9);
		s->in_cdata = 1;
		return 9;
	}
	if (n >= 4 && memcmp(p, comment, 4) == 0) {
		buf_add(&s->cooked, p, 4);
		s->in_comment = 1;
		return 4;
	}
	buf_addc(&s->cooked, '<');
	return 1;
}

static size_t
utf8_seq_len(unsigned char c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* One byte (or sequence) outside markup decisions: UTF-8 repair and
 * control characters XML forbids. Returns bytes consumed, 0 for more. */
static size_t
filter_byte(struct src *s, const char *p, size_t n, int final)
{
	unsigned char c = (unsigned char)p[0];

	if (c >= 0x80 && s->utf8) {
		size_t len = utf8_seq_len(c);

		if (len > 0 && n < len && !final)
			return 0;
		if (len > 0 && n >= len && util_valid_utf8(p, len)) {
			buf_add(&s->cooked, p, len);
			return len;
		}
		put_cp1252(&s->cooked, c);
		s->repaired++;
		return 1;
	}
	if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
		return 1;
	buf_addc(&s->cooked, (char)c);
	return 1;
}

/*
 * The length of a run at p (n bytes) that the clean-up copies as it is:
 * printable ASCII but '&', '<' and (in a CDATA section or comment) the
 * first byte of its end, tab, LF, CR, and whole valid UTF-8 sequences (any
 * byte of 0x80 and above when the input is not read as UTF-8).
 */
static size_t
filter_plain(const struct src *s, const char *p, size_t n)
{
	/* ASCII copied as it is: printable (DEL too), tab, LF, CR; not '&'
	 * or '<' */
	static const unsigned char ascii[128] = {
		['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
		[0x20] = 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	};
	char stop = s->in_cdata ? ']' : s->in_comment ? '-' : '<';
	size_t i = 0, len;

	while (i < n) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80 && ascii[c] && c != (unsigned char)stop) {
			i++;
			continue;
		}
		if (c < 0x80)
			break;
		if (!s->utf8)
			i++;
		else if (c <= 0xdf && c >= 0xc2 && n - i >= 2 &&
		    ((unsigned char)p[i + 1] & 0xc0) == 0x80)
			i += 2;		/* the common case, checked inline */
		else if ((len = utf8_seq_len(c)) > 0 && n - i >= len &&
		    util_valid_utf8(p + i, len))
			i += len;
		else
			break;
	}
	return i;
}

/*
 * Cleans s->raw into s->cooked as far as it can decide (all of it when
 * final), keeping an undecided tail for the next call. Runs that need no
 * change are copied whole.
 */
static void
filter_run(struct src *s, int final)
{
	const char *p = s->raw.data;
	size_t n = s->raw.len, i = 0, k;

	while (i < n) {
		char c;

		if ((k = filter_plain(s, p + i, n - i)) > 0) {
			buf_add(&s->cooked, p + i, k);
			if ((i += k) >= n)
				break;
		}
		c = p[i];
		if (s->in_cdata || s->in_comment) {
			const char *end = s->in_cdata ? "]]>" : "-->";

			if (c == end[0] && n - i < 3 && !final)
				break;
			if (c == end[0] && n - i >= 3 &&
			    memcmp(p + i, end, 3) == 0) {
				buf_add(&s->cooked, end, 3);
				s->in_cdata = s->in_comment = 0;
				i += 3;
				continue;
			}
			k = filter_byte(s, p + i, n - i, final);
		} else if (c == '&')
			k = filter_amp(p + i, n - i, final, &s->cooked);
		else if (c == '<')
			k = filter_lt(s, p + i, n - i, final);
		else
			k = filter_byte(s, p + i, n - i, final);
		if (k == 0)
			break;
		i += k;
	}
	if (i > 0) {
		memmove(s->raw.data, p + i, n - i);
		s->raw.len = n - i;
	}
}

static void put_codepoint(struct buf *, unsigned);

/*
 * UTF-32 to UTF-8. libxml2 2.9 fails on UTF-32 input ("input conversion
 * failed"), so the module converts it itself and hands libxml2 UTF-8. A
 * byte order mark is dropped; invalid code points become U+FFFD.
 */
static void
utf32_convert(struct src *s, const char *p, size_t n, struct buf *out)
{
	buf_add(&s->u32, p, n);
	size_t i;

	for (i = 0; i + 4 <= s->u32.len; i += 4) {
		const unsigned char *u = (const unsigned char *)s->u32.data + i;
		unsigned long c = s->utf32 == 1 ?
		    (unsigned long)u[0] << 24 | (unsigned long)u[1] << 16 |
		    (unsigned long)u[2] << 8 | u[3] :
		    (unsigned long)u[3] << 24 | (unsigned long)u[2] << 16 |
		    (unsigned long)u[1] << 8 | u[0];

		if (c == 0xfeff)
			continue;
		if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			c = 0xfffd;
		if (c < 0x10000) {
			put_codepoint(out, (unsigned)c);
			continue;
		}
		buf_addc(out, (char)(0xf0 | (c >> 18)));
		buf_addc(out, (char)(0x80 | ((c >> 12) & 0x3f)));
		buf_addc(out, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_addc(out, (char)(0x80 | (c & 0x3f)));
	}
	memmove(s->u32.data, s->u32.data + i, s->u32.len - i);
	s->u32.len -= i;
}

/* New raw bytes into the pipeline: UTF-32 conversion, then clean-up. */
static void
src_feed(struct src *s, const char *p, size_t n)
{
	struct buf conv = { 0 };

	if (s->utf32) {
		utf32_convert(s, p, n, &conv);
		p = conv.data != NULL ? conv.data : "";
		n = conv.len;
	}
	if (s->filter) {
		buf_add(&s->raw, p, n);
		filter_run(s, s->eof);
	} else
		buf_add(&s->cooked, p, n);
	buf_free(&conv);
}

/* libxml2's read callback: raw bytes, or converted and cleaned ones. */
static int
src_read(void *ctx, char *out, int len)
{
	struct src *s = ctx;
	size_t avail, n;

	if (len <= 0)
		return 0;
	if (!s->filter && !s->utf32)
		return (int)src_raw(s, out, (size_t)len);
	while (s->cooked.len - s->cooked_pos < (size_t)len && !s->eof) {
		char chunk[CHUNK];
		long r = src_raw(s, chunk, sizeof chunk);

		if (r < 0)
			return -1;
		if (r == 0)
			s->eof = 1;
		src_feed(s, chunk, (size_t)r);
	}
	avail = s->cooked.len - s->cooked_pos;
	n = avail < (size_t)len ? avail : (size_t)len;
	if (n > 0)
		memcpy(out, s->cooked.data + s->cooked_pos, n);
	s->cooked_pos += n;
	if (s->cooked_pos == s->cooked.len) {
		buf_reset(&s->cooked);
		s->cooked_pos = 0;
	}
	return (int)n;
}

/* ---- character encoding (RFC 7303 section 3) ---- */

struct enc {
	char	label[48];	/* reported in feed_info.encoding */
	char	force[48];	/* handed to libxml2; "" lets it read the
				   declaration */
	int	ascii;		/* ASCII-compatible: recovery may clean it */
	int	utf8;		/* read as UTF-8: recovery repairs bytes */
	int	bogus;		/* declared an encoding libxml2 lacks */
	int	utf32;		/* converted by the module (src.utf32) */
};

static void
set_str(char *dst, size_t n, const char *s, size_t len)
{
	size_t k = len < n - 1 ? len : n - 1;

	for (size_t i = 0; i < k; i++)
		dst[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	dst[k] = '\0';
}

/* Aliases in the names feedparser reports. */
static void
normalise_label(char *label, size_t n)
{
	static const struct {
		const char *from, *to;
	} alias[] = {
		{ "utf8", "utf-8" }, { "ascii", "us-ascii" },
		{ "latin1", "iso-8859-1" }, { "latin-1", "iso-8859-1" },
		{ "iso8859-1", "iso-8859-1" }, { "iso_8859-1", "iso-8859-1" },
		{ "l1", "iso-8859-1" }, { "cp1252", "windows-1252" },
		{ "gb2312", "gb18030" }, { "gbk", "gb18030" },
		{ "utf-16", "utf-16be" }, { "utf-32", "utf-32be" },
	};

	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
		if (strcmp(label, alias[i].from) == 0) {
			set_str(label, n, alias[i].to, strlen(alias[i].to));
			return;
		}
}

static int
encoding_known(const char *name)
{
	xmlCharEncodingHandlerPtr h = xmlFindCharEncodingHandler(name);

	if (h == NULL)
		return 0;
	xmlCharEncCloseFunc(h);
	return 1;
}

/* The encoding in an XML declaration at p (ASCII-compatible), or 0. */
static int
decl_encoding(const char *p, size_t n, char *out, size_t outn)
{
	const char *end, *e;
	char q;

	if (n < 5 || memcmp(p, "<?xml", 5) != 0)
		return 0;
	for (end = p; end + 1 < p + n && !(end[0] == '?' && end[1] == '>');
	    end++)
		;
	for (e = p; e + 8 < end; e++)
		if (memcmp(e, "encoding", 8) == 0)
			break;
	if (e + 8 >= end)
		return 0;
	for (e += 8; e < end && (*e == ' ' || *e == '\t' || *e == '\r' ||
	    *e == '\n' || *e == '='); e++)
		;
	if (e >= end || (*e != '"' && *e != '\''))
		return 0;
	q = *e++;
	for (p = e; e < end && *e != q; e++)
		;
	if (e >= end || e == p)
		return 0;
	set_str(out, outn, p, (size_t)(e - p));
	return 1;
}

/* The charset parameter of a Content-Type, or 0. */
static int
type_charset(const char *ct, char *out, size_t outn)
{
	const char *p = ct, *e;

	while (p != NULL && (p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "charset", 7) != 0)
			continue;
		/* Servers write "charset = 'x'" too; be lenient. */
		for (p += 7; *p == ' ' || *p == '\t'; p++)
			;
		if (*p != '=')
			continue;
		for (p++; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '"' || *p == '\'')
			p++;
		for (e = p; *e != '\0' && *e != '"' && *e != '\'' && *e != ';' &&
		    *e != ' '; e++)
			;
		if (e == p)
			return 0;
		set_str(out, outn, p, (size_t)(e - p));
		return 1;
	}
	return 0;
}

/* A byte order mark, or the first characters "<?" in UTF-16/32. */
static int
sniff_unicode(const unsigned char *p, size_t n, struct enc *e)
{
	static const struct {
		unsigned char	 bytes[4];
		size_t		 len;
		const char	*label, *force;
	} sig[] = {
		{ { 0x00, 0x00, 0xfe, 0xff }, 4, "utf-32be", "UTF-32BE" },
		{ { 0xff, 0xfe, 0x00, 0x00 }, 4, "utf-32le", "UTF-32LE" },
		{ { 0xfe, 0xff }, 2, "utf-16be", "UTF-16BE" },
		{ { 0xff, 0xfe }, 2, "utf-16le", "UTF-16LE" },
		{ { 0x00, 0x00, 0x00, 0x3c }, 4, "utf-32be", "UTF-32BE" },
		{ { 0x3c, 0x00, 0x00, 0x00 }, 4, "utf-32le", "UTF-32LE" },
		{ { 0x00, 0x3c, 0x00, 0x3f }, 4, "utf-16be", "UTF-16BE" },
		{ { 0x3c, 0x00, 0x3f, 0x00 }, 4, "utf-16le", "UTF-16LE" },
	};

	for (size_t i = 0; i < sizeof sig / sizeof sig[0]; i++) {
		if (n < sig[i].len || memcmp(p, sig[i].bytes, sig[i].len) != 0)
			continue;
		set_str(e->label, sizeof e->label, sig[i].label,
		    strlen(sig[i].label));
		if (strncmp(sig[i].label, "utf-32", 6) == 0) {
			e->utf32 = strcmp(sig[i].label, "utf-32be") == 0 ? 1 : 2;
			memcpy(e->force, "UTF-8", 6);
			e->ascii = e->utf8 = 1;
		} else
			memcpy(e->force, sig[i].force, strlen(sig[i].force) + 1);
		return 1;
	}
	return 0;
}

/*
 * Decides how to decode: a BOM (or UTF-16/32 "<?") first, then the HTTP
 * charset, then the XML declaration, then UTF-8 (RFC 7303 section 3;
 * text/xml's old US-ASCII default, RFC 3023, is not applied).
 */
static void
sniff(const char *p, size_t n, const char *content_type, struct enc *e)
{
	char name[48];

	memset(e, 0, sizeof *e);
	if (sniff_unicode((const unsigned char *)p, n, e))
		return;
	e->ascii = 1;
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		memcpy(e->label, "utf-8", 6);
		e->utf8 = 1;
		return;
	}
	if (content_type != NULL && type_charset(content_type, name,
	    sizeof name) && encoding_known(name)) {
		memcpy(e->label, name, sizeof name);
		memcpy(e->force, name, sizeof name);
	} else if (decl_encoding(p, n, name, sizeof name)) {
		memcpy(e->label, name, sizeof name);
		if (!encoding_known(name))
			e->bogus = 1;
	} else
		memcpy(e->label, "utf-8", 6);
	normalise_label(e->label, sizeof e->label);
	/* Read GB2312 as its superset, and Latin-1 as windows-1252, which
	 * is what such labels mean on the web (WHATWG Encoding). */
	if (strcmp(e->label, "gb18030") == 0)
		memcpy(e->force, "GB18030", 8);
	else if (strcmp(e->label, "iso-8859-1") == 0)
		memcpy(e->force, "WINDOWS-1252", 13);
	if (e->bogus || strcmp(e->label, "utf-8") == 0 ||
	    strcmp(e->label, "us-ascii") == 0)
		e->utf8 = 1;
	if (strncmp(e->label, "utf-7", 5) == 0 ||
	    strncmp(e->label, "iso-2022", 8) == 0)
		e->ascii = 0;	/* '&' and '<' bytes may be text there */
}

/* ---- the parse ---- */

struct parser {
	const char		*name;
	const char		*base_url;
	feed_item_fn		 cb;
	void			*arg;
	struct feed_info	*info;
	struct error		*err;
	struct src		 src;
	struct enc		 enc;
	int			 recover;
	unsigned		 flags;		/* FEED_* */
	enum format		 fmt;
	const char		*atom_ns;	/* the feed's Atom namespace */
	char			*rss_ns;	/* <rss>'s own, when not a known one */
	int			 atom03;
	char			 public_id[128];
	/* The first error libxml2 reported in this pass. */
	int			 have_error;
	int			 error_line;
	char			 error_msg[256];
	int			 cb_rc;
};

enum pass_rc { P_OK, P_RETRY, P_ERROR, P_STOPPED };

static void
on_error(void *arg, xmlErrorPtr e)
{
	struct parser *p = arg;
	size_t n;

	/* An undeclared entity in a document with an (unread) external DTD
	 * is only a warning: it is read as the HTML entity of that name. */
	if (e == NULL || e->level < XML_ERR_ERROR ||
	    e->code == XML_WAR_UNDECLARED_ENTITY || p->have_error)
		return;
	p->have_error = 1;
	p->error_line = e->line;
	snprintf(p->error_msg, sizeof p->error_msg, "%s",
	    e->message != NULL ? e->message : "XML error");
	n = strlen(p->error_msg);
	while (n > 0 && (p->error_msg[n - 1] == '\n' ||
	    p->error_msg[n - 1] == ' '))
		p->error_msg[--n] = '\0';
}

/* libxml2's process-wide handlers, silenced for the parse (see html.c). */
struct quiet {
	xmlStructuredErrorFunc	 serror;
	void			*sctx;
	xmlGenericErrorFunc	 generic;
	void			*gctx;
};

static void
silent_generic(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static void
silent_serror(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
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

/* ---- prolog scan: refuse entity declarations before anything else ---- */

struct prolog {
	xmlParserCtxtPtr	 ctxt;
	int			 done;
	int			 entity_line;	/* > 0: an entity was declared */
	char			 public_id[128];
};

static void
pro_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pub,
    const xmlChar *sys, xmlChar *content)
{
	struct prolog *pro = ctx;

	(void)name, (void)type, (void)pub, (void)sys, (void)content;
	pro->entity_line = xmlSAX2GetLineNumber(pro->ctxt);
	if (pro->entity_line <= 0)
		pro->entity_line = 1;
	pro->done = 1;
	xmlStopParser(pro->ctxt);
}

static void
pro_subset(void *ctx, const xmlChar *name, const xmlChar *ext,
    const xmlChar *sys)
{
	struct prolog *pro = ctx;

	(void)name, (void)sys;
	if (ext != NULL)
		snprintf(pro->public_id, sizeof pro->public_id, "%s",
		    (const char *)ext);
}

static void
pro_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int nattr, int ndef,
    const xmlChar **attrs)
{
	struct prolog *pro = ctx;

	(void)local, (void)prefix, (void)uri, (void)nns, (void)ns;
	(void)nattr, (void)ndef, (void)attrs;
	pro->done = 1;
	xmlStopParser(pro->ctxt);
}

/*
 * Pushes the input through a parser with no handlers but these until the
 * root element starts: the internal subset is read, entity declarations
 * are seen (and stop it), no entity is expanded, no DTD is loaded.
 */
static int
prolog_scan(struct parser *p, const char *force, int opts,
    struct prolog *pro)
{
	xmlSAXHandler sax;
	char chunk[CHUNK];
	int n;

	memset(pro, 0, sizeof *pro);
	memset(&sax, 0, sizeof sax);
	sax.initialized = XML_SAX2_MAGIC;
	sax.entityDecl = pro_entity;
	sax.internalSubset = pro_subset;
	sax.startElementNs = pro_start;
	sax.serror = silent_serror;
	if (src_rewind(&p->src) == -1)
		return -1;
	pro->ctxt = xmlCreatePushParserCtxt(&sax, pro, NULL, 0, NULL);
	if (pro->ctxt == NULL)
		return -1;
	xmlCtxtUseOptions(pro->ctxt, opts);
	if (force != NULL)
		xmlCtxtResetPush(pro->ctxt, NULL, 0, NULL, force);
	while (!pro->done && pro->ctxt->instate != XML_PARSER_EOF) {
		n = src_read(&p->src, chunk, sizeof chunk);
		if (n < 0)
			break;
		xmlParseChunk(pro->ctxt, chunk, n, n == 0);
		if (n == 0)
			break;
	}
	/* libxml2 keeps declared entities in a "SAX compatibility" document
	 * of its own, which the context does not free. */
	if (pro->ctxt->myDoc != NULL)
		xmlFreeDoc(pro->ctxt->myDoc);
	xmlFreeParserCtxt(pro->ctxt);
	pro->ctxt = NULL;
	return p->src.ioerr != 0 ? -1 : 0;
}

/* ---- DOM helpers over an expanded subtree ---- */

static int
ns_is(const xmlNode *n, const char *uri)
{
	return n->ns != NULL && n->ns->href != NULL &&
	    strcmp((const char *)n->ns->href, uri) == 0;
}

static int
is_rss_ns(const char *uri)
{
	if (uri == NULL)
		return 1;
	for (size_t i = 0; i < sizeof rss_namespaces / sizeof rss_namespaces[0];
	    i++)
		if (strcmp(uri, rss_namespaces[i]) == 0)
			return 1;
	return 0;
}

static int
named(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

/* An RSS element: no namespace, one RSS was published in, or the one
 * the <rss> element itself is in. */
static int
rss_uri(const struct parser *p, const char *uri)
{
	return is_rss_ns(uri) || (p->rss_ns != NULL && uri != NULL &&
	    strcmp(uri, p->rss_ns) == 0);
}

static int
rss_el(const struct parser *p, const xmlNode *n, const char *name)
{
	return named(n, name) && rss_uri(p, n->ns != NULL ?
	    (const char *)n->ns->href : NULL);
}

static int
ns_el(const xmlNode *n, const char *uri, const char *name)
{
	return named(n, name) && ns_is(n, uri);
}

static int
atom_el(const struct parser *p, const xmlNode *n, const char *name)
{
	if (!named(n, name))
		return 0;
	return p->atom_ns == NULL ? n->ns == NULL : ns_is(n, p->atom_ns);
}

static void
put_codepoint(struct buf *b, unsigned c)
{
	char s[4];
	size_t n;

	if (c < 0x80)
		s[0] = (char)c, n = 1;
	else if (c < 0x800)
		s[0] = (char)(0xc0 | (c >> 6)), s[1] = (char)(0x80 | (c & 0x3f)),
		    n = 2;
	else {
		s[0] = (char)(0xe0 | (c >> 12));
		s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		s[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	}
	buf_add(b, s, n);
}

/* Character data below n: text, CDATA, and entity references of a DTD
 * that was not read, as the HTML entities of those names. */
static void
collect_text(const xmlNode *n, struct buf *b, int depth)
{
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_TEXT_NODE ||
		    c->type == XML_CDATA_SECTION_NODE) {
			if (c->content != NULL)
				buf_addstr(b, (const char *)c->content);
		} else if (c->type == XML_ENTITY_REF_NODE) {
			const htmlEntityDesc *e = htmlEntityLookup(c->name);

			if (e != NULL)
				put_codepoint(b, e->value);
		} else if (c->type == XML_ELEMENT_NODE && depth < 64)
			collect_text(c, b, depth + 1);
	}
}

static char *
text_of(const xmlNode *n)
{
	struct buf b = { 0 };

	buf_addstr(&b, "");
	collect_text(n, &b, 0);
	return buf_steal(&b);
}

/* Trimmed text, or NULL when empty. */
static char *
trimmed_text(const xmlNode *n)
{
	char *s = util_trim(text_of(n));

	if (*s == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

/* The children as markup: the HTML source of "naked" XHTML content.
 * CDATA inside is taken as HTML source as it stands. */
static char *
markup_of(const xmlNode *n)
{
	struct buf b = { 0 };
	xmlBufferPtr xb = xmlBufferCreate();

	buf_addstr(&b, "");
	for (xmlNode *c = n->children; c != NULL && xb != NULL; c = c->next) {
		if (c->type == XML_CDATA_SECTION_NODE) {
			if (c->content != NULL)
				buf_addstr(&b, (const char *)c->content);
			continue;
		}
		xmlBufferEmpty(xb);
		xmlNodeDump(xb, c->doc, c, 0, 0);
		buf_add(&b, xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
	}
	xmlBufferFree(xb);
	return buf_steal(&b);
}

static int
has_element_child(const xmlNode *n)
{
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return 1;
	return 0;
}

static char *
prop(const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	char *s;

	if (v == NULL)
		return NULL;
	s = xstrdup((const char *)v);
	xmlFree(v);
	return s;
}

static char *
prop_lower(const xmlNode *n, const char *name)
{
	char *s = prop(n, name);

	for (char *c = s; c != NULL && *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	return s != NULL ? util_trim(s) : NULL;
}

static int
is_web_url(const char *u)
{
	return u != NULL && (strncasecmp(u, "http://", 7) == 0 ||
	    strncasecmp(u, "https://", 8) == 0 ||
	    strncasecmp(u, "ftp://", 6) == 0);
}

/*
 * The base URI in effect at n (XML Base): each xml:base from the root
 * down resolved against the one above, starting from the feed's URL.
 * Unsafe or unusable bases (javascript:) are skipped. *explicit_r (may be
 * NULL) says whether any xml:base was used. Caller frees; NULL if none.
 */
static char *
node_base(const struct parser *p, const xmlNode *n, int *explicit_r)
{
	const xmlNode *chain[64];
	size_t k = 0;
	char *base = p->base_url != NULL ? xstrdup(p->base_url) : NULL;
	int explicit = 0;

	for (const xmlNode *x = n; x != NULL && x->type == XML_ELEMENT_NODE &&
	    k < 64; x = x->parent)
		chain[k++] = x;
	while (k-- > 0) {
		xmlChar *xb = xmlGetNsProp(chain[k], (const xmlChar *)"base",
		    XML_XML_NAMESPACE);
		char *nb;

		if (xb == NULL)
			continue;
		nb = html_safe_url((const char *)xb, base);
		xmlFree(xb);
		if (is_web_url(nb)) {
			free(base);
			base = nb;
			explicit = 1;
		} else
			free(nb);
	}
	if (explicit_r != NULL)
		*explicit_r = explicit;
	return base;
}

/* A link resolved against the base at its element; NULL when unsafe. */
static char *
resolve_at(const struct parser *p, const xmlNode *n, const char *url)
{
	char *base = node_base(p, n, NULL), *u;

	u = html_safe_url(url, base);
	free(base);
	if (u != NULL && *u == '\0') {
		free(u);
		u = NULL;
	}
	return u;
}

/* The length of the white space character at p (no-break space too; p is
 * clean UTF-8), or 0. */
static size_t
blank_len(const char *p)
{
	if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		return 1;
	return p[0] == '\xc2' && p[1] == '\xa0' ? 2 : 0;
}

/* White space runs (no-break spaces too) to one space, trimmed; clean
 * UTF-8 (html_fix_text). */
static char *
plain_collapse(const char *s)
{
	struct buf fixed = { 0 }, out = { 0 };
	int space = 0;

	html_fix_text(s, strlen(s), &fixed);
	buf_addstr(&out, "");
	for (size_t i = 0, k; i < fixed.len; i += k) {
		const char *p = fixed.data + i;

		if ((k = blank_len(p)) > 0) {
			space = out.len > 0;
			continue;
		}
		/* a run up to the next blank: the data is NUL-terminated */
		for (k = 1; i + k < fixed.len && blank_len(p + k) == 0; k++)
			;
		if (space)
			buf_addc(&out, ' ');
		space = 0;
		buf_add(&out, p, k);
	}
	buf_free(&fixed);
	return buf_steal(&out);
}

static char *
html_line(const char *html)
{
	struct buf b = { 0 };

	if (html_to_line(html, strlen(html), &b) == -1) {
		buf_free(&b);
		return xstrdup("");
	}
	return buf_steal(&b);
}

static char *
html_clean(const char *html, const char *base)
{
	struct buf b = { 0 };

	if (html_sanitize(html, strlen(html), base, &b) == -1) {
		buf_free(&b);
		return xstrdup("");
	}
	return buf_steal(&b);
}

static char *
html_of_text(const char *text)
{
	struct buf b = { 0 };

	buf_addstr(&b, "");
	html_escape(text, strlen(text), &b);
	return buf_steal(&b);
}

/*
 * RSS titles carry no type. Escaped markup or entities in one is taken
 * as HTML only when it looks like it: a known tag or a reference, so
 * "1 < 2" and "AT&T" stay as written.
 */
static int
looks_like_html(const char *s)
{
	static const char *const tags[] = { "a", "abbr", "b", "big", "br",
	    "cite", "code", "del", "em", "font", "i", "img", "ins", "p",
	    "q", "s", "small", "span", "strike", "strong", "sub", "sup", "u",
	    "div", "h1", "h2", "h3", "h4", "h5", "h6" };

	for (const char *c = s; *c != '\0'; c++) {
		if (*c == '&') {
			const char *e = c + 1 + (c[1] == '#');

			while (is_name_char((unsigned char)*e))
				e++;
			if (*e == ';' && e > c + 1 + (c[1] == '#'))
				return 1;
		}
		if (*c != '<')
			continue;
		const char *t = c + 1 + (c[1] == '/');
		size_t len = 0;

		while (is_name_char((unsigned char)t[len]))
			len++;
		if (t[len] != '>' && t[len] != ' ' && t[len] != '/')
			continue;
		for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
			if (strlen(tags[i]) == len &&
			    strncasecmp(t, tags[i], len) == 0)
				return 1;
	}
	return 0;
}

#define TYPE_TEXT	"text/plain"
#define TYPE_HTML	"text/html"
#define TYPE_XHTML	"application/xhtml+xml"

/* Records where a text field came from (see struct feed_text_src). */
static void
src_set(struct feed_text_src *t, const xmlNode *n, const char *type,
    const char *base)
{
	xmlChar *lang = xmlNodeGetLang(n);

	free(t->base);
	free(t->lang);
	t->type = type;
	t->base = base != NULL ? xstrdup(base) : NULL;
	t->lang = lang != NULL && *lang != '\0' ? xstrdup((const char *)lang) :
	    NULL;
	xmlFree(lang);
}

static void
src_free(struct feed_text_src *t)
{
	free(t->base);
	free(t->lang);
	free(t->src);
	memset(t, 0, sizeof *t);
}

/* A plain-text title (or name) from an RSS element; t (may be NULL) gets
 * where it came from. */
static char *
rss_plain(const struct parser *p, const xmlNode *n, struct feed_text_src *t)
{
	char *raw = text_of(n), *s, *base;
	int html = looks_like_html(raw);

	s = html ? html_line(raw) : plain_collapse(raw);
	free(raw);
	if (*s == '\0') {
		free(s);
		return NULL;
	}
	if (t != NULL) {
		base = node_base(p, n, NULL);
		src_set(t, n, html ? TYPE_HTML : TYPE_TEXT, base);
		free(base);
	}
	return s;
}

/* HTML source of an RSS description-like element: naked markup as
 * markup, text (escaped or CDATA) as HTML source. */
static char *
rss_html_source(const xmlNode *n)
{
	return has_element_child(n) ? markup_of(n) : text_of(n);
}

/* ---- Atom text constructs (RFC 4287 section 3.1, and Atom 0.3) ---- */

enum ckind { C_NONE = -1, C_TEXT, C_HTML };

struct construct {
	enum ckind	 kind;
	const char	*type;		/* TYPE_TEXT, TYPE_HTML, TYPE_XHTML */
	char		*src;		/* text, or HTML source */
};

static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64 (white space ignored) decoded; NULL when invalid or not UTF-8. */
static char *
b64_decode_text(const char *s)
{
	struct buf b = { 0 };
	unsigned acc = 0;
	int bits = 0, v;

	buf_addstr(&b, "");
	for (; *s != '\0' && *s != '='; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			continue;
		if ((v = b64_value((unsigned char)*s)) < 0)
			goto fail;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(&b, (char)((acc >> bits) & 0xff));
		}
	}
	if (!util_valid_utf8(b.data, b.len) || memchr(b.data, 0, b.len))
		goto fail;
	return buf_steal(&b);
fail:
	buf_free(&b);
	return NULL;
}

static void
b64_construct(const xmlNode *n, struct construct *c)
{
	char *t = text_of(n);

	c->src = b64_decode_text(t);
	free(t);
	if (c->src == NULL)
		c->kind = C_NONE;
}

/* The xhtml <div> wrapper of type="xhtml" content, or n itself. */
static const xmlNode *
xhtml_div(const xmlNode *n)
{
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return named(c, "div") ? c : n;
	return n;
}

static int
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n > t && strcmp(s + n - t, tail) == 0;
}

static void
construct10(const xmlNode *n, const char *type, struct construct *c)
{
	c->kind = C_HTML;
	c->type = TYPE_HTML;
	if (type == NULL || *type == '\0' || strcmp(type, "text") == 0 ||
	    (strncmp(type, "text/", 5) == 0 && strcmp(type, "text/html") != 0)) {
		c->kind = C_TEXT;
		c->type = TYPE_TEXT;
		c->src = text_of(n);
	} else if (strcmp(type, "html") == 0 || strcmp(type, "text/html") == 0)
		/* Escaped HTML is text; elements here are an error, and what
		 * is meant is their text (feedparser reads it so too). */
		c->src = text_of(n);
	else if (strcmp(type, "xhtml") == 0) {
		c->type = TYPE_XHTML;
		c->src = markup_of(xhtml_div(n));
	} else if (ends_with(type, "/xml") || ends_with(type, "+xml")) {
		c->type = TYPE_XHTML;
		c->src = markup_of(n);
	} else
		/* Any other media type is base64 (RFC 4287 4.1.3.3). Only
		 * text is of use in a mail, and it is taken as HTML. */
		b64_construct(n, c);
}

static void
construct03(const xmlNode *n, const char *type, const char *mode,
    struct construct *c)
{
	int html = type != NULL && strstr(type, "html") != NULL;

	c->kind = html ? C_HTML : C_TEXT;
	c->type = !html ? TYPE_TEXT : strstr(type, "xhtml") != NULL ?
	    TYPE_XHTML : TYPE_HTML;
	if (mode != NULL && strcmp(mode, "base64") == 0)
		b64_construct(n, c);
	else if (mode != NULL && strcmp(mode, "escaped") == 0)
		c->src = text_of(n);
	else if (has_element_child(n)) {	/* mode="xml", the default */
		c->kind = C_HTML;
		c->src = markup_of(n);
	} else
		c->src = text_of(n);
}

/* An Atom construct's kind, type and source (c->src: caller frees). */
static void
atom_construct(const struct parser *p, const xmlNode *n, struct construct *c)
{
	char *type = prop_lower(n, "type"), *mode = prop_lower(n, "mode");
	char *srcattr = prop(n, "src");

	memset(c, 0, sizeof *c);
	c->kind = C_NONE;
	if (srcattr == NULL) {	/* out-of-line content has nothing here */
		if (p->atom03)
			construct03(n, type, mode, c);
		else
			construct10(n, type, c);
	}
	free(type);
	free(mode);
	free(srcattr);
}

static char *
atom_plain(const struct parser *p, const xmlNode *n, struct feed_text_src *t)
{
	struct construct c;
	char *s = NULL, *base;

	atom_construct(p, n, &c);
	if (c.kind == C_TEXT)
		s = plain_collapse(c.src);
	else if (c.kind == C_HTML)
		s = html_line(c.src);
	free(c.src);
	if (s != NULL && *s == '\0') {
		free(s);
		s = NULL;
	}
	if (s != NULL && t != NULL) {
		base = node_base(p, n, NULL);
		src_set(t, n, c.type, base);
		free(base);
	}
	return s;
}

/* Out-of-line content (RFC 4287 4.1.3.2): only where it is. */
static void
atom_src(const struct parser *p, const xmlNode *n, struct feed_text_src *t)
{
	char *src = prop(n, "src"), *type = prop_lower(n, "type");

	if (src != NULL && t != NULL) {
		src_set(t, n, type == NULL || strncmp(type, "text/", 5) == 0 ||
		    strcmp(type, "text") == 0 ? TYPE_TEXT : strcmp(type,
		    "html") == 0 || strcmp(type, "text/html") == 0 ? TYPE_HTML :
		    NULL, NULL);
		free(t->src);
		t->src = resolve_at(p, n, src);
	}
	free(src);
	free(type);
}

static char *
atom_html(const struct parser *p, const xmlNode *n, struct feed_text_src *t)
{
	struct construct c;
	char *s = NULL, *base = node_base(p, n, NULL);

	atom_src(p, n, t);
	atom_construct(p, n, &c);
	if (c.kind == C_TEXT)
		s = html_of_text(c.src);
	else if (c.kind == C_HTML)
		s = html_clean(c.src, base);
	if (s != NULL && t != NULL)
		src_set(t, n, c.type, base);
	free(c.src);
	free(base);
	return s;
}

/* ---- links ---- */

struct links {
	struct feed_link	*v;
	size_t			 n;
};

static void
links_free(struct feed_link *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].rel);
		free(v[i].href);
		free(v[i].type);
		free(v[i].title);
		free(v[i].hreflang);
	}
	free(v);
}

/* Adds a link (taking its strings); one without href is dropped. */
static void
links_add(struct links *l, const struct feed_link *k)
{
	if (k->href == NULL) {
		struct feed_link *copy = xmalloc(sizeof *copy);

		*copy = *k;
		links_free(copy, 1);
		return;
	}
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = *k;
}

static int64_t
parse_length(const char *s)
{
	long long v = s != NULL ? strtoll(s, NULL, 10) : 0;

	return v > 0 ? (int64_t)v : 0;
}

/* An Atom link's target: href, or (as feeds write it) its text. */
static char *
atom_link_href(const struct parser *p, const xmlNode *n)
{
	char *href = prop(n, "href"), *u;

	if (href == NULL)
		href = trimmed_text(n);
	if (href == NULL)
		return NULL;
	u = resolve_at(p, n, href);
	free(href);
	return u;
}

/* An Atom <link> as a struct feed_link (rel defaults to "alternate"). */
static void
atom_link(const struct parser *p, const xmlNode *n, struct links *l)
{
	struct feed_link k = { 0 };
	char *len = prop(n, "length");

	k.rel = prop(n, "rel");
	if (k.rel == NULL || *util_trim(k.rel) == '\0') {
		free(k.rel);
		k.rel = xstrdup("alternate");
	}
	k.href = atom_link_href(p, n);
	k.type = prop(n, "type");
	k.title = prop(n, "title");
	k.hreflang = prop(n, "hreflang");
	k.length = parse_length(len);
	free(len);
	links_add(l, &k);
}

/* The first link with rel (NULL if none). */
static const struct feed_link *
link_rel(const struct links *l, const char *rel)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i].rel, rel) == 0)
			return &l->v[i];
	return NULL;
}

static void
set_once(char **dst, char *value)
{
	if (*dst == NULL)
		*dst = value;
	else
		free(value);
}

static void
set_date(int64_t *dst, const xmlNode *n)
{
	char *s;
	int64_t t;

	if (*dst != 0 || (s = text_of(n)) == NULL)
		return;
	if (date_parse(s, &t) == 0)
		*dst = t;
	free(s);
}

/* ---- items ---- */

struct item {
	char			*id;
	int			 permalink;
	char			*title, *link, *author;
	int64_t			 published, updated;
	struct buf		 cats;
	char			*summary, *content, *text;
	char			*enc_url, *enc_type;
	int64_t			 enc_len;
	struct links		 links;
	struct feed_text_src	 title_src, summary_src, content_src;
};

static void
item_free(struct item *it)
{
	free(it->id);
	free(it->title);
	free(it->link);
	free(it->author);
	buf_free(&it->cats);
	free(it->summary);
	free(it->content);
	free(it->text);
	free(it->enc_url);
	free(it->enc_type);
	links_free(it->links.v, it->links.n);
	src_free(&it->title_src);
	src_free(&it->summary_src);
	src_free(&it->content_src);
}

static void
add_category(struct item *it, char *s)
{
	if (s != NULL && *s != '\0') {
		if (it->cats.len > 0)
			buf_addstr(&it->cats, ", ");
		buf_addstr(&it->cats, s);
	}
	free(s);
}

static void
first(const xmlNode **slot, const xmlNode *n)
{
	if (*slot == NULL)
		*slot = n;
}

/* The elements of an RSS item that matter, first of each kind. */
struct rss_parts {
	const xmlNode	*title, *dc_title, *link, *desc, *dc_desc, *encoded,
			*body, *fullitem, *guid, *author, *creator, *enclosure,
			*pub, *issued, *dc_date, *created, *modified, *summary;
};

static void
rss_sort_dc(const xmlNode *c, struct rss_parts *r)
{
	if (ns_el(c, NS_DC, "title"))
		first(&r->dc_title, c);
	else if (ns_el(c, NS_DC, "description"))
		first(&r->dc_desc, c);
	else if (ns_el(c, NS_DC, "creator"))
		first(&r->creator, c);
	else if (ns_el(c, NS_DC, "date"))
		first(&r->dc_date, c);
	else if (ns_el(c, NS_DCTERMS, "issued"))
		first(&r->issued, c);
	else if (ns_el(c, NS_DCTERMS, "created"))
		first(&r->created, c);
	else if (ns_el(c, NS_DCTERMS, "modified"))
		first(&r->modified, c);
}

static void
rss_sort(const struct parser *p, struct item *it, const xmlNode *c,
    struct rss_parts *r)
{
	if (rss_el(p, c, "title"))
		first(&r->title, c);
	else if (rss_el(p, c, "link"))
		first(&r->link, c);
	else if (rss_el(p, c, "description"))
		first(&r->desc, c);
	else if (rss_el(p, c, "guid"))
		first(&r->guid, c);
	else if (rss_el(p, c, "author"))
		first(&r->author, c);
	else if (rss_el(p, c, "pubDate"))
		first(&r->pub, c);
	else if (rss_el(p, c, "enclosure"))
		first(&r->enclosure, c);
	else if (rss_el(p, c, "fullitem"))
		first(&r->fullitem, c);
	else if (rss_el(p, c, "summary"))
		first(&r->summary, c);
	else if (rss_el(p, c, "category") || ns_el(c, NS_DC, "subject"))
		add_category(it, rss_plain(p, c, NULL));
	else if (ns_el(c, NS_CONTENT, "encoded"))
		first(&r->encoded, c);
	else if (ns_el(c, NS_XHTML, "body") || rss_el(p, c, "body"))
		first(&r->body, c);
	else
		rss_sort_dc(c, r);
}

static const xmlNode *
either(const xmlNode *a, const xmlNode *b)
{
	return a != NULL ? a : b;
}

/* An RSS <link> as a struct feed_link, as feedparser lists it. */
static void
rss_link(const struct parser *p, const xmlNode *n, struct links *l)
{
	struct feed_link k = { 0 };
	char *t = trimmed_text(n);

	if (t == NULL)
		return;
	k.rel = xstrdup("alternate");
	k.type = xstrdup(TYPE_HTML);
	k.href = resolve_at(p, n, t);
	free(t);
	links_add(l, &k);
}

/* RSS link and guid; a permalink guid is the link when there is none. */
static void
rss_link_id(struct parser *p, const xmlNode *item, const struct rss_parts *r,
    struct item *it)
{
	char *pl;

	const struct feed_link *k = link_rel(&it->links, "alternate");

	if (k != NULL)
		it->link = xstrdup(k->href);
	if (r->guid != NULL) {
		it->id = trimmed_text(r->guid);
		pl = prop_lower(r->guid, "isPermaLink");
		it->permalink = it->id != NULL &&
		    !(pl != NULL && strcmp(pl, "false") == 0);
		free(pl);
	} else if (p->fmt == F_RDF) {
		xmlChar *about = xmlGetNsProp(item, (const xmlChar *)"about",
		    (const xmlChar *)NS_RDF);

		if (about != NULL && *about != '\0')
			it->id = xstrdup((const char *)about);
		xmlFree(about);
	}
	if (it->link == NULL && it->permalink && is_web_url(it->id))
		it->link = html_safe_url(it->id, NULL);
}

/*
 * An RSS item's HTML. The base: an xml:base in scope, else the item's
 * own link (the page the HTML was written for), else the feed's URL.
 */
static char *
rss_html(struct parser *p, const xmlNode *n, const struct item *it,
    const char *type, struct feed_text_src *t)
{
	int explicit;
	char *base = node_base(p, n, &explicit), *src, *html;

	if (!explicit && is_web_url(it->link)) {
		free(base);
		base = xstrdup(it->link);
	}
	src = strcmp(type, TYPE_XHTML) == 0 ? markup_of(n) :
	    rss_html_source(n);
	html = html_clean(src, base);
	src_set(t, n, type, base);
	free(src);
	free(base);
	return html;
}

static void
rss_enclosure(struct parser *p, const xmlNode *n, struct item *it)
{
	struct feed_link k = { 0 };
	char *url = prop(n, "url"), *len = prop(n, "length");

	if (url != NULL)
		k.href = resolve_at(p, n, url);
	free(url);
	k.rel = xstrdup("enclosure");
	k.type = prop(n, "type");
	k.length = parse_length(len);
	free(len);
	links_add(&it->links, &k);
}

static void
rss_item(struct parser *p, const xmlNode *n, struct item *it)
{
	struct rss_parts r;
	const xmlNode *t;

	memset(&r, 0, sizeof r);
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			rss_sort(p, it, c, &r);
	if ((t = either(r.title, r.dc_title)) != NULL)
		it->title = rss_plain(p, t, &it->title_src);
	/* The links in document order, as feedparser lists them. */
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c == r.link)
			rss_link(p, c, &it->links);
		else if (c == r.enclosure)
			rss_enclosure(p, c, it);
	}
	rss_link_id(p, n, &r, it);
	if ((t = either(r.author, r.creator)) != NULL)
		it->author = rss_plain(p, t, NULL);
	if ((t = either(r.pub, either(r.issued, either(r.dc_date,
	    r.created)))) != NULL)
		set_date(&it->published, t);
	if ((t = either(r.modified, r.dc_date)) != NULL)
		set_date(&it->updated, t);
	/* <summary> is no RSS, but generators write it; with it there, the
	 * description is the full text. */
	if ((t = either(r.summary, either(r.desc, r.dc_desc))) != NULL)
		it->summary = rss_html(p, t, it, TYPE_HTML, &it->summary_src);
	if (r.body != NULL && r.encoded == NULL)
		it->content = rss_html(p, r.body, it, TYPE_XHTML,
		    &it->content_src);
	else if ((t = either(r.encoded, either(r.fullitem, r.summary != NULL ?
	    r.desc : NULL))) != NULL)
		it->content = rss_html(p, t, it, TYPE_HTML, &it->content_src);
}

/* The elements of an Atom entry that matter, first of each kind. */
struct atom_parts {
	const xmlNode	*id, *title, *author, *pub, *created, *upd, *summary,
			*content;
};

static void
atom_sort(struct parser *p, struct item *it, const xmlNode *c,
    struct atom_parts *a)
{
	if (atom_el(p, c, "id"))
		first(&a->id, c);
	else if (atom_el(p, c, "title"))
		first(&a->title, c);
	else if (atom_el(p, c, "link"))
		atom_link(p, c, &it->links);
	else if (atom_el(p, c, "author"))
		first(&a->author, c);
	else if (atom_el(p, c, "published") || atom_el(p, c, "issued"))
		first(&a->pub, c);
	else if (atom_el(p, c, "created"))
		first(&a->created, c);
	else if (atom_el(p, c, "updated") || atom_el(p, c, "modified"))
		first(&a->upd, c);
	else if (atom_el(p, c, "summary"))
		first(&a->summary, c);
	else if (atom_el(p, c, "content"))
		first(&a->content, c);
	else if (atom_el(p, c, "category")) {
		char *label = prop(c, "label");

		add_category(it, label != NULL ? label : prop(c, "term"));
	}
}

/* An Atom person: the name, else the e-mail address. */
static char *
atom_person(const struct parser *p, const xmlNode *n)
{
	const xmlNode *name = NULL, *email = NULL;
	char *raw, *s;

	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		if (atom_el(p, c, "name"))
			first(&name, c);
		else if (atom_el(p, c, "email"))
			first(&email, c);
	}
	if ((name = either(name, email)) == NULL)
		return NULL;
	raw = text_of(name);
	s = plain_collapse(raw);
	free(raw);
	if (*s == '\0') {
		free(s);
		return NULL;
	}
	return s;
}

static void
atom_item(struct parser *p, const xmlNode *n, struct item *it)
{
	struct atom_parts a;
	const struct feed_link *k;

	memset(&a, 0, sizeof a);
	for (const xmlNode *c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			atom_sort(p, it, c, &a);
	if (a.id != NULL)
		it->id = trimmed_text(a.id);
	if (a.title != NULL)
		it->title = atom_plain(p, a.title, &it->title_src);
	if ((k = link_rel(&it->links, "alternate")) != NULL)
		it->link = xstrdup(k->href);
	if (a.author != NULL)
		it->author = atom_person(p, a.author);
	if ((a.pub = either(a.pub, a.created)) != NULL)
		set_date(&it->published, a.pub);
	if (a.upd != NULL)
		set_date(&it->updated, a.upd);
	if (a.summary != NULL)
		it->summary = atom_html(p, a.summary, &it->summary_src);
	if (a.content != NULL)
		it->content = atom_html(p, a.content, &it->content_src);
}

/* The first enclosure link, for the item's enclosure fields. */
static void
set_enclosure(struct item *it)
{
	const struct feed_link *k = link_rel(&it->links, "enclosure");

	if (k == NULL)
		return;
	it->enc_url = xstrdup(k->href);
	it->enc_type = k->type != NULL ? xstrdup(k->type) : NULL;
	it->enc_len = k->length;
}

int
feed_item_text(const char *content_html, const char *summary_html,
    struct buf *out)
{
	const char *body = content_html != NULL && *content_html != '\0' ?
	    content_html : summary_html;

	if (body == NULL)
		return -1;
	return html_to_text(body, strlen(body), HTML_TEXT_WIDTH, out);
}

/* Reads one item, renders its text (unless FEED_NO_TEXT) and hands it to
 * the callback. */
static int
do_item(struct parser *p, const xmlNode *n)
{
	struct item it;
	struct buf text = { 0 };
	int rc = 0;

	memset(&it, 0, sizeof it);
	if (p->fmt == F_ATOM)
		atom_item(p, n, &it);
	else
		rss_item(p, n, &it);
	set_enclosure(&it);
	if (!(p->flags & FEED_NO_TEXT) &&
	    feed_item_text(it.content, it.summary, &text) == 0)
		it.text = buf_steal(&text);
	buf_free(&text);
	/* In recovery, an item with nothing to know it by is what is left
	 * of a broken document, not an item. */
	if (!p->recover || it.id != NULL || it.link != NULL ||
	    it.title != NULL) {
		struct feed_item fi = {
			.id = it.id, .id_is_permalink = it.permalink,
			.title = it.title, .link = it.link, .author = it.author,
			.published = it.published, .updated = it.updated,
			.categories = it.cats.len > 0 ? it.cats.data : NULL,
			.summary_html = it.summary, .content_html = it.content,
			.text = it.text, .enclosure_url = it.enc_url,
			.enclosure_type = it.enc_type,
			.enclosure_length = it.enc_len,
			.links = it.links.v, .nlinks = it.links.n,
			.title_src = it.title_src,
			.summary_src = it.summary_src,
			.content_src = it.content_src,
		};

		rc = p->cb(&fi, p->arg);
	}
	item_free(&it);
	return rc;
}

/* ---- the feed's own elements ---- */

static void
feed_links(struct parser *p, const struct links *l)
{
	struct feed_info *fi = p->info;
	const struct feed_link *k;

	for (size_t i = 0; i < l->n; i++) {
		fi->links = xrealloc(fi->links, (fi->nlinks + 1) *
		    sizeof *fi->links);
		fi->links[fi->nlinks++] = l->v[i];
	}
	free(l->v);
	if (fi->link == NULL && (k = link_rel(&(struct links){ fi->links,
	    fi->nlinks }, "alternate")) != NULL)
		fi->link = xstrdup(k->href);
}

static void
atom_feed_field(struct parser *p, const xmlNode *n)
{
	struct feed_info *fi = p->info;
	struct links l = { 0 };

	if (atom_el(p, n, "title") && fi->title == NULL)
		fi->title = atom_plain(p, n, &fi->title_src);
	else if ((atom_el(p, n, "subtitle") || atom_el(p, n, "tagline")) &&
	    fi->description == NULL)
		fi->description = atom_html(p, n, &fi->description_src);
	else if (atom_el(p, n, "link")) {
		atom_link(p, n, &l);
		/* rel="self" names this very document. */
		if (l.n == 1 && strcmp(l.v[0].rel, "self") == 0 &&
		    l.v[0].type == NULL)
			l.v[0].type = xstrdup("application/atom+xml");
		feed_links(p, &l);
	} else if (atom_el(p, n, "id"))
		set_once(&fi->id, trimmed_text(n));
	else if (atom_el(p, n, "updated") || atom_el(p, n, "modified"))
		set_date(&fi->updated, n);
	else if (atom_el(p, n, "published") || atom_el(p, n, "issued"))
		set_date(&fi->published, n);
}

static void
rss_feed_description(struct parser *p, const xmlNode *n)
{
	struct feed_info *fi = p->info;
	char *base, *t;

	if (fi->description != NULL)
		return;
	base = node_base(p, n, NULL);
	t = rss_html_source(n);
	fi->description = html_clean(t, base);
	src_set(&fi->description_src, n, TYPE_HTML, base);
	free(t);
	free(base);
}

static void
rss_feed_field(struct parser *p, const xmlNode *n)
{
	struct feed_info *fi = p->info;
	struct links l = { 0 };

	if ((rss_el(p, n, "title") || ns_el(n, NS_DC, "title")) &&
	    fi->title == NULL)
		fi->title = rss_plain(p, n, &fi->title_src);
	else if (rss_el(p, n, "link")) {
		rss_link(p, n, &l);
		feed_links(p, &l);
	} else if (rss_el(p, n, "description") ||
	    ns_el(n, NS_DC, "description"))
		rss_feed_description(p, n);
	else if (rss_el(p, n, "pubDate") || ns_el(n, NS_DCTERMS, "issued") ||
	    ns_el(n, NS_DCTERMS, "created"))
		set_date(&fi->published, n);
	else if (rss_el(p, n, "lastBuildDate") ||
	    ns_el(n, NS_DCTERMS, "modified"))
		set_date(&fi->updated, n);
	else if (ns_el(n, NS_DC, "date")) {
		set_date(&fi->updated, n);
		set_date(&fi->published, n);
	}
}

/* ---- walking the document ---- */

enum action { A_SKIP, A_DESCEND, A_ITEM, A_FIELD };

static int
eq(const xmlChar *a, const char *b)
{
	return a != NULL && strcmp((const char *)a, b) == 0;
}

static enum action
classify(struct parser *p, int depth, const xmlChar *local, const xmlChar *uri)
{
	int rss = rss_uri(p, (const char *)uri);

	if (p->fmt == F_ATOM) {
		int atom = p->atom_ns == NULL ? uri == NULL :
		    eq(uri, p->atom_ns);

		return depth == 1 && atom && eq(local, "entry") ? A_ITEM :
		    A_FIELD;
	}
	if (depth == 1) {
		if (rss && eq(local, "channel")) {
			if (p->fmt == F_RDF && eq(uri, NS_RSS090))
				p->info->version = "rss090";
			return A_DESCEND;
		}
		return rss && eq(local, "item") ? A_ITEM : A_SKIP;
	}
	if (rss && eq(local, "item"))
		return A_ITEM;
	if (eq(local, "image") || eq(local, "textInput") ||
	    eq(local, "textinput") || eq(local, "items"))
		return A_SKIP;
	return A_FIELD;
}

static const char *
rss_version(const char *v, const char *public_id)
{
	static const struct {
		const char *attr, *name;
	} map[] = {
		{ "0.90", "rss090" }, { "0.92", "rss092" },
		{ "0.93", "rss093" }, { "0.94", "rss094" },
	};

	if (v == NULL)
		return "rss";
	if (v[0] == '2')
		return "rss20";
	if (strcmp(v, "0.91") == 0)
		return strstr(public_id, "Netscape") != NULL ? "rss091n" :
		    "rss091u";
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(v, map[i].attr) == 0)
			return map[i].name;
	return "rss";
}

static int
set_root(struct parser *p, xmlTextReaderPtr rd)
{
	const xmlChar *local = xmlTextReaderConstLocalName(rd);
	const xmlChar *uri = xmlTextReaderConstNamespaceUri(rd);
	xmlChar *v = xmlTextReaderGetAttribute(rd, (const xmlChar *)"version");

	if (eq(local, "rss")) {
		p->fmt = F_RSS;
		p->info->format = "rss";
		p->info->version = rss_version((const char *)v, p->public_id);
		if (uri != NULL && !is_rss_ns((const char *)uri))
			p->rss_ns = xstrdup((const char *)uri);
	} else if (eq(local, "RDF") && eq(uri, NS_RDF)) {
		xmlChar *dflt = xmlTextReaderLookupNamespace(rd, NULL);

		p->fmt = F_RDF;
		p->info->format = "rdf";
		p->info->version = eq(dflt, NS_RSS090) ? "rss090" : "rss10";
		xmlFree(dflt);
	} else if (eq(local, "feed") && (uri == NULL || eq(uri, NS_ATOM10) ||
	    eq(uri, NS_ATOM03))) {
		p->fmt = F_ATOM;
		p->info->format = "atom";
		p->atom03 = eq(uri, NS_ATOM03) || (uri == NULL && eq(v, "0.3"));
		p->atom_ns = uri == NULL ? NULL : p->atom03 ? NS_ATOM03 :
		    NS_ATOM10;
		p->info->version = p->atom03 ? "atom03" : "atom10";
	} else {
		error_set(p->err, EX_DATAERR, "%s:%d: not an RSS, RDF or Atom "
		    "feed (root element <%s>)", p->name,
		    xmlTextReaderGetParserLineNumber(rd), (const char *)local);
		xmlFree(v);
		return -1;
	}
	xmlFree(v);
	return 0;
}

static enum pass_rc
refuse_entities(struct parser *p, int line)
{
	error_set(p->err, EX_DATAERR, "%s:%d: the DOCTYPE declares entities; "
	    "refused (entity expansion can exhaust memory or read local files)",
	    p->name, line);
	return P_ERROR;
}

/* One step on an element; *r gets the reader's next status. */
static enum pass_rc
visit(struct parser *p, xmlTextReaderPtr rd, int *r)
{
	int depth = xmlTextReaderDepth(rd);
	enum action a;
	xmlNodePtr n;

	if (depth == 0) {
		if (set_root(p, rd) == -1)
			return P_ERROR;
		*r = xmlTextReaderRead(rd);
		return P_OK;
	}
	a = classify(p, depth, xmlTextReaderConstLocalName(rd),
	    xmlTextReaderConstNamespaceUri(rd));
	if (a == A_DESCEND) {
		*r = xmlTextReaderRead(rd);
		return P_OK;
	}
	if (a == A_ITEM || a == A_FIELD) {
		if ((n = xmlTextReaderExpand(rd)) == NULL) {
			*r = -1;
			return P_OK;
		}
		if (!p->recover && p->have_error)
			return P_RETRY;
		if (a == A_FIELD)
			p->fmt == F_ATOM ? atom_feed_field(p, n) :
			    rss_feed_field(p, n);
		else if ((p->cb_rc = do_item(p, n)) != 0)
			return P_STOPPED;
	}
	*r = xmlTextReaderNext(rd);
	return P_OK;
}

static enum pass_rc
walk(struct parser *p, xmlTextReaderPtr rd)
{
	int r = xmlTextReaderRead(rd);
	enum pass_rc rc;

	while (r == 1) {
		int type = xmlTextReaderNodeType(rd);

		if (!p->recover && p->have_error)
			return P_RETRY;
		if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
			/* The prolog scan refused these; never expand one.
			 * (Not xmlTextReaderCurrentDoc(): that keeps every
			 * node alive to the end.) */
			xmlNodePtr dtd = xmlTextReaderCurrentNode(rd);

			if (dtd != NULL && dtd->type == XML_DTD_NODE &&
			    ((xmlDtdPtr)dtd)->entities != NULL)
				return refuse_entities(p,
				    xmlTextReaderGetParserLineNumber(rd));
		}
		if (type != XML_READER_TYPE_ELEMENT) {
			r = xmlTextReaderRead(rd);
			continue;
		}
		if ((rc = visit(p, rd, &r)) != P_OK)
			return rc;
	}
	if (p->src.ioerr != 0) {
		error_set(p->err, EX_IOERR, "%s: %s", p->name,
		    strerror(p->src.ioerr));
		return P_ERROR;
	}
	if (!p->recover && (r == -1 || p->have_error))
		return P_RETRY;
	if (p->fmt == F_NONE) {
		error_set(p->err, EX_DATAERR, "%s:%d: %s", p->name,
		    p->have_error ? p->error_line : 1, p->have_error ?
		    p->error_msg : "no feed in the document");
		return P_ERROR;
	}
	return P_OK;
}

static enum pass_rc
run_pass(struct parser *p)
{
	struct prolog pro;
	const char *force = p->enc.force[0] != '\0' ? p->enc.force : NULL;
	int opts = XML_PARSE_NONET;
	xmlTextReaderPtr rd;
	enum pass_rc rc;

	if (p->recover) {
		opts |= XML_PARSE_RECOVER;
		p->src.filter = p->enc.ascii;
		p->src.utf8 = p->enc.utf8;
		if (p->enc.utf8)
			force = "UTF-8";	/* the filter made it so */
		else if (force != NULL && strcmp(force, "WINDOWS-1252") == 0)
			/* every byte is Latin-1; C1 controls are mapped to
			 * windows-1252 later (html_fix_text) */
			force = "ISO-8859-1";
	}
	if (force != NULL)
		opts |= XML_PARSE_IGNORE_ENC;
	feed_info_clear(p->info);
	free(p->rss_ns);
	p->rss_ns = NULL;
	p->fmt = F_NONE;
	p->have_error = 0;
	if (prolog_scan(p, force, opts, &pro) == -1)
		goto ioerr;
	if (pro.entity_line > 0)
		return refuse_entities(p, pro.entity_line);
	memcpy(p->public_id, pro.public_id, sizeof p->public_id);
	if (src_rewind(&p->src) == -1)
		goto ioerr;
	rd = xmlReaderForIO(src_read, NULL, &p->src, NULL, force, opts);
	if (rd == NULL) {
		error_set(p->err, EX_SOFTWARE, "%s: cannot start the XML "
		    "reader", p->name);
		return P_ERROR;
	}
	xmlTextReaderSetStructuredErrorHandler(rd, on_error, p);
	rc = walk(p, rd);
	xmlFreeTextReader(rd);
	return rc;
ioerr:
	error_set(p->err, EX_IOERR, "%s: %s", p->name, strerror(p->src.ioerr ?
	    p->src.ioerr : EIO));
	return P_ERROR;
}

static int
parse(struct parser *p, const char *content_type)
{
	char head[1024];
	long n;
	struct quiet q;
	enum pass_rc rc;
	char first_msg[256];
	int first_line;

	if (src_rewind(&p->src) == -1 ||
	    (n = src_raw(&p->src, head, sizeof head)) < 0) {
		error_set(p->err, p->src.fp != NULL ? EX_IOERR : EX_SOFTWARE,
		    "%s: %s", p->name, strerror(p->src.ioerr));
		return -1;
	}
	sniff(head, (size_t)n, content_type, &p->enc);
	p->src.utf32 = p->enc.utf32;
	quiet_on(&q);
	rc = run_pass(p);
	if (rc == P_RETRY) {
		first_line = p->error_line;
		memcpy(first_msg, p->error_msg, sizeof first_msg);
		p->recover = 1;
		rc = run_pass(p);
		p->info->recovered = 1;
		if (rc == P_ERROR && p->err->code == EX_DATAERR &&
		    p->fmt == F_NONE)
			error_set(p->err, EX_DATAERR, "%s:%d: %s", p->name,
			    first_line, first_msg);
	}
	quiet_off(&q);
	free(p->rss_ns);
	buf_free(&p->src.raw);
	buf_free(&p->src.cooked);
	buf_free(&p->src.u32);
	if (rc == P_STOPPED)
		return p->cb_rc;
	if (rc != P_OK)
		return -1;
	p->info->encoding = xstrdup(p->src.repaired > 0 && p->enc.utf8 ?
	    "windows-1252" : p->enc.label);
	return 0;
}

static void
parser_init(struct parser *p, const char *name, const char *base_url,
    unsigned flags, feed_item_fn cb, void *arg, struct feed_info *info,
    struct error *err)
{
	memset(p, 0, sizeof *p);
	p->name = name != NULL ? name : "feed";
	p->base_url = base_url;
	p->flags = flags;
	p->cb = cb;
	p->arg = arg;
	p->info = info;
	p->err = err;
}

int
feed_parse_http(const char *data, size_t len, const char *content_type,
    const char *name, const char *base_url, unsigned flags, feed_item_fn cb,
    void *arg, struct feed_info *info, struct error *err)
{
	struct parser p;

	parser_init(&p, name, base_url, flags, cb, arg, info, err);
	p.src.data = data != NULL ? data : "";
	p.src.len = data != NULL ? len : 0;
	return parse(&p, content_type);
}

int
feed_parse_mem(const char *data, size_t len, const char *name,
    const char *base_url, unsigned flags, feed_item_fn cb, void *arg,
    struct feed_info *info, struct error *err)
{
	return feed_parse_http(data, len, NULL, name, base_url, flags, cb, arg,
	    info, err);
}

int
feed_parse_file(const char *path, const char *name, const char *base_url,
    unsigned flags, feed_item_fn cb, void *arg, struct feed_info *info,
    struct error *err)
{
	struct parser p;
	char *iobuf;
	int rc;

	parser_init(&p, name != NULL ? name : path, base_url, flags, cb, arg,
	    info, err);
	if ((p.src.fp = fopen(path, "rb")) == NULL) {
		error_set(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "%s: %s", p.name, strerror(errno));
		feed_info_clear(info);
		return -1;
	}
	/* libxml2 reads 4 KB at a time: a bigger buffer saves most of the
	 * read(2) calls of a large feed (glibc sizes its own by the block). */
	iobuf = xmalloc(FILE_BUF);
	setvbuf(p.src.fp, iobuf, _IOFBF, FILE_BUF);
	rc = parse(&p, NULL);
	fclose(p.src.fp);
	free(iobuf);
	return rc;
}

void
feed_info_clear(struct feed_info *info)
{
	free(info->title);
	free(info->link);
	free(info->encoding);
	free(info->id);
	free(info->description);
	links_free(info->links, info->nlinks);
	src_free(&info->title_src);
	src_free(&info->description_src);
	memset(info, 0, sizeof *info);
}

/* Scheme and host in lower case, fragment removed (RFC 3986 6.2.2.1). */
static char *
normalise_link(const char *link)
{
	char *s = xstrdup(link), *p, *host, *end;

	if ((p = strchr(s, '#')) != NULL)
		*p = '\0';
	if ((host = strstr(s, "://")) == NULL)
		return s;
	for (p = s; p < host; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	host += 3;
	end = host + strcspn(host, "/?");
	for (p = host; p < end; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	return s;
}

char *
feed_item_identity(const struct feed_item *item)
{
	if (item->id != NULL && *item->id != '\0')
		return xstrdup(item->id);
	if (item->link != NULL && *item->link != '\0')
		return normalise_link(item->link);
	if (item->title != NULL && *item->title != '\0')
		return xasprintf("title:%s", item->title);
	return NULL;
}
