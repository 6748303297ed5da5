/*
 * mime: writes messages per RFC 5322 (header fields, folding at 78 and
 * 998 octets, date-time), RFC 2045 (MIME-Version, Content-Type,
 * quoted-printable), RFC 2046 (multipart/alternative, boundaries) and RFC
 * 2047 (encoded-words in unstructured text and in phrases). Values go
 * straight into reusable buffers: a header is validated, then written
 * and folded in one pass over its value, with no allocation per header.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "mime.h"
#include "util.h"

#define FOLD_AT		78	/* RFC 5322 2.1.1: SHOULD */
#define LINE_MAX_OCTETS	998	/* RFC 5322 2.1.1: MUST */
#define NAME_MAX_OCTETS	76	/* so "Name:" fits a 78-column line */
#define EW_MAX		75	/* RFC 2047 2: an encoded-word's length */
#define EW_OVERHEAD	12	/* "=?UTF-8?Q?" and "?=" */
#define EW_MIN		24	/* room for one 4-octet character in Q */
#define WS_MAX		16	/* longer white space runs are encoded */
#define QP_LINE		75	/* RFC 2045 6.7: 76 with the soft break's '=' */
#define ADDR_MAX_OCTETS	254	/* RFC 5321 4.5.3.1.3 */

/*
 * "=_" never occurs in quoted-printable output ('=' is always followed by
 * two hex digits or a line end), so this boundary cannot occur in a part.
 */
#define BOUNDARY	"=_temabrev_alt_0"

/* RFC 5322 3.6: fields that may occur at most once. */
static const char *const once_names[] = {
	"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"Message-ID", "In-Reply-To", "References", "Subject",
};
#define ONCE_DATE	(1u << 0)
#define ONCE_FROM	(1u << 1)

/* Written by mime_finish only. */
static const char *const reserved_names[] = {
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
};

struct mime {
	struct buf	 head;		/* header lines, each ending in CRLF */
	struct buf	 body;		/* everything after the blank line */
	const char	*ctype;		/* top-level Content-* lines; NULL: none */
	unsigned	 once;		/* bit i: once_names[i] added */
};

/* Where a header is being written: its buffer and the current column. */
struct fold {
	struct buf	*b;
	size_t		 col;
};

static const char hexdigits[] = "0123456789ABCDEF";

struct mime *
mime_new(void)
{
	struct mime *m = xcalloc(1, sizeof *m);

	buf_init(&m->head);
	buf_init(&m->body);
	return m;
}

void
mime_free(struct mime *m)
{
	if (m == NULL)
		return;
	buf_free(&m->head);
	buf_free(&m->body);
	free(m);
}

void
mime_reset(struct mime *m)
{
	buf_reset(&m->head);
	buf_reset(&m->body);
	m->ctype = NULL;
	m->once = 0;
}

/*
 * Copies at most 40 octets of s for an error message, '?' for anything
 * unprintable, so a hostile name cannot put control codes on a terminal.
 */
static const char *
printable(const char *s, char out[48])
{
	size_t i;

	for (i = 0; i < 40 && s[i] != '\0'; i++)
		out[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
	if (s[i] != '\0')
		memcpy(out + i, "...", 4);
	return out;
}

/*
 * Checks a header name and returns, in *bit_r, its once-only bit (0 for
 * none); the bit is recorded only when the header is complete.
 */
static int
check_name(struct mime *m, const char *name, unsigned *bit_r,
    struct error *err)
{
	char shown[48];
	size_t len = strlen(name);

	*bit_r = 0;
	if (len == 0 || len > NAME_MAX_OCTETS) {
		error_set(err, EX_DATAERR, "header name '%s': must be 1-%d "
		    "octets", printable(name, shown), NAME_MAX_OCTETS);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 33 || c > 126 || c == ':') {
			error_set(err, EX_DATAERR, "header name '%s': octet "
			    "0x%02x is not allowed (RFC 5322 ftext)",
			    printable(name, shown), c);
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof reserved_names / sizeof *reserved_names;
	    i++) {
		if (strcasecmp(name, reserved_names[i]) == 0) {
			error_set(err, EX_SOFTWARE, "header %s: written by "
			    "mime_finish, not by callers", name);
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof once_names / sizeof *once_names; i++) {
		if (strcasecmp(name, once_names[i]) != 0)
			continue;
		if (m->once & (1u << i)) {
			error_set(err, EX_SOFTWARE, "header %s: already added "
			    "(RFC 5322 allows it once)", name);
			return -1;
		}
		*bit_r = 1u << i;
	}
	return 0;
}

/*
 * Length of the forbidden character at s, 0 when there is none: C0
 * controls but TAB, DEL, C1 controls (U+0080-U+009F: NEL is a line end to
 * some software) and U+2028/U+2029 (line and paragraph separators).
 */
static size_t
control_at(const unsigned char *s, const unsigned char *e)
{
	if ((s[0] < 0x20 && s[0] != '\t') || s[0] == 0x7f)
		return 1;
	if (s[0] == 0xc2 && e - s >= 2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (s[0] == 0xe2 && e - s >= 3 && s[1] == 0x80 &&
	    (s[2] == 0xa8 || s[2] == 0xa9))
		return 3;
	return 0;
}

/* Validates a header value; utf8 0 means printable ASCII only. */
static int
check_value(const char *name, const char *what, const char *v, int utf8,
    struct error *err)
{
	const unsigned char *s = (const unsigned char *)v, *e;
	size_t len = strlen(v);

	e = s + len;
	if (utf8 && !util_valid_utf8(v, len)) {
		error_set(err, EX_DATAERR, "header %s: %s is not valid UTF-8",
		    name, what);
		return -1;
	}
	for (; s < e; s++) {
		if (control_at(s, e) != 0) {
			error_set(err, EX_DATAERR, "header %s: %s contains a "
			    "control character (%s at offset %zu); line breaks "
			    "and controls are refused", name, what,
			    *s == '\r' || *s == '\n' ? "CR/LF" :
			    *s == '\0' ? "NUL" : "non-printable",
			    (size_t)(s - (const unsigned char *)v));
			return -1;
		}
		if (!utf8 && *s >= 0x80) {
			error_set(err, EX_DATAERR, "header %s: %s contains a "
			    "non-ASCII octet at offset %zu", name, what,
			    (size_t)(s - (const unsigned char *)v));
			return -1;
		}
	}
	return 0;
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static void
fold_put(struct fold *f, const char *s, size_t n)
{
	buf_add(f->b, s, n);
	f->col += n;
}

/* A fold is a CRLF before white space that stays: unfolding removes CRLF. */
static void
fold_break(struct fold *f)
{
	buf_add(f->b, "\r\n", 2);
	f->col = 0;
}

/*
 * Writes white space ws then word, first folding before ws when the
 * line would pass 78 columns and folding helps. Returns -1 when even a
 * fold leaves the line over 998 octets.
 */
static int
put_plain(struct fold *f, const char *ws, size_t wslen, const char *word,
    size_t wordlen)
{
	if (wslen > 0 && wordlen > 0 && f->col + wslen + wordlen > FOLD_AT &&
	    f->col > wslen)
		fold_break(f);
	if (f->col + wslen + wordlen > LINE_MAX_OCTETS)
		return -1;
	fold_put(f, ws, wslen);
	fold_put(f, word, wordlen);
	return 0;
}

/* RFC 2047 5 (3): the Q characters allowed even in a phrase. */
static int
q_literal(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/';
}

static size_t
q_cost(unsigned char c)
{
	return q_literal(c) || c == ' ' ? 1 : 3;
}

/* Octets of the UTF-8 sequence led by c (input is valid UTF-8). */
static size_t
u8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0)
		return 3;
	return 4;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
b64_encode(const unsigned char *p, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	return o;
}

/*
 * Builds one encoded-word of at most limit characters from whole
 * characters of [*pp, e) into out and advances *pp. Always takes at least
 * one character (limit >= EW_MIN leaves room for any). When the text
 * does not fit, it ends after a space if there is one, so words stay
 * whole: readers that treat each encoded-word in a phrase as a word
 * (Python's email package does) then split nothing.
 */
static size_t
encoded_word(const unsigned char **pp, const unsigned char *e, int q,
    size_t limit, char *out)
{
	const unsigned char *p = *pp, *end = p, *after_space = NULL;
	size_t room = limit - EW_OVERHEAD, used = 0, o;
	int word = 0;		/* a non-space taken: a space now ends a word */

	/* Take characters while their encoding fits. */
	while (end < e) {
		size_t n = u8_len(*end), cost = 0;

		if (q) {
			for (size_t i = 0; i < n; i++)
				cost += q_cost(end[i]);
			if (used + cost > room && end > p)
				break;
			used += cost;
		} else {
			size_t bytes = (size_t)(end - p) + n;

			if ((bytes + 2) / 3 * 4 > room && end > p)
				break;
		}
		end += n;
		if (!is_ws((char)end[-1]))
			word = 1;
		else if (word)
			after_space = end;
	}
	if (end < e && after_space != NULL && !is_ws((char)*end))
		end = after_space;
	memcpy(out, q ? "=?UTF-8?Q?" : "=?UTF-8?B?", 10);
	o = 10;
	if (q) {
		for (const unsigned char *s = p; s < end; s++) {
			if (*s == ' ')
				out[o++] = '_';
			else if (q_literal(*s))
				out[o++] = (char)*s;
			else {
				out[o++] = '=';
				out[o++] = hexdigits[*s >> 4];
				out[o++] = hexdigits[*s & 15];
			}
		}
	} else
		o += b64_encode(p, (size_t)(end - p), out + o);
	out[o++] = '?';
	out[o++] = '=';
	*pp = end;
	return o;
}

/*
 * Length of the encoded-word that would hold the first word of [s, e)
 * (with white space before it and one space after), so a word that fits
 * a fresh line is moved there whole instead of split.
 */
static size_t
first_word_cost(const unsigned char *s, const unsigned char *e, int q)
{
	const unsigned char *p = s;
	size_t cost = 0;

	while (p < e && is_ws((char)*p))
		p++;
	while (p < e && !is_ws((char)*p))
		p++;
	if (p < e)
		p++;
	if (!q)
		return EW_OVERHEAD + ((size_t)(p - s) + 2) / 3 * 4;
	for (const unsigned char *c = s; c < p; c++)
		cost += q_cost(*c);
	return EW_OVERHEAD + cost;
}

/*
 * Writes [p, e) as encoded-words; sep is the literal white space before
 * the first (may be empty right after "Name: "). Later words are
 * separated by a space or a fold, which decoders drop between
 * encoded-words (RFC 2047 6.2), so the text comes back exactly.
 */
static void
put_encoded(struct fold *f, const char *sep, size_t seplen, const char *p,
    const char *e)
{
	const unsigned char *s = (const unsigned char *)p;
	const unsigned char *end = (const unsigned char *)e;
	size_t qlen = 0, blen = ((size_t)(e - p) + 2) / 3 * 4;
	char word[EW_MAX + 1];
	int q;

	for (const unsigned char *c = s; c < end; c++)
		qlen += q_cost(*c);
	q = qlen <= blen;
	while (s < end) {
		size_t avail, need, n;

		avail = f->col + seplen < FOLD_AT ? FOLD_AT - f->col - seplen : 0;
		need = first_word_cost(s, end, q);
		if ((avail < EW_MIN || (need > avail && need <= EW_MAX)) &&
		    seplen > 0 && FOLD_AT - seplen > avail) {
			fold_break(f);
			avail = FOLD_AT - seplen;
		}
		if (avail > EW_MAX)
			avail = EW_MAX;
		if (avail < EW_MIN)
			avail = EW_MIN;
		fold_put(f, sep, seplen);
		n = encoded_word(&s, end, q, avail, word);
		fold_put(f, word, n);
		sep = " ";
		seplen = 1;
	}
}

static int is_atext(unsigned char);

/*
 * A word is written as an encoded-word when it is not ASCII, could be
 * read as an encoded-word ("=?"), or cannot fit a folded line; in a
 * phrase also when it is not an atom (RFC 5322 3.2.3).
 */
static int
word_needs_encoding(const char *w, size_t n, int phrase)
{
	if (n > FOLD_AT - 1)
		return 1;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)w[i] >= 0x80)
			return 1;
		if (w[i] == '=' && i + 1 < n && w[i + 1] == '?')
			return 1;
		if (phrase && !is_atext((unsigned char)w[i]))
			return 1;
	}
	return 0;
}

/* One white space run and the word after it: [ws, word) [word, end). */
struct item {
	const char	*ws;
	const char	*word;
	const char	*end;
};

static void
next_item(const char *p, struct item *it)
{
	it->ws = p;
	while (is_ws(*p))
		p++;
	it->word = p;
	while (*p != '\0' && !is_ws(*p))
		p++;
	it->end = p;
}

static int
long_ws(const struct item *it)
{
	return it->word - it->ws > WS_MAX;
}

/*
 * Writes unstructured text, or a phrase: plain words as they are, runs
 * of words that need encoding (with the white space between them) as
 * encoded-words. A long white space run is encoded with its neighbours
 * so no line is mostly blanks; a word next to an encoded run keeps a
 * literal space. Plain ASCII words stay readable, as Python writes them.
 */
static void
put_words(struct fold *f, const char *v, int phrase)
{
	struct item cur, next;
	const char *chunk = NULL, *chunk_end = NULL, *sep = NULL;
	size_t seplen = 0;
	int first = 1;

	next_item(v, &next);
	while (next.ws != next.end) {
		int enc;

		cur = next;
		next_item(cur.end, &next);
		enc = word_needs_encoding(cur.word, (size_t)(cur.end -
		    cur.word), phrase) || long_ws(&cur) ||
		    (next.ws != next.end && long_ws(&next));
		if (enc) {
			if (chunk == NULL && first && long_ws(&cur)) {
				chunk = cur.ws;
				sep = "";
				seplen = 0;
			} else if (chunk == NULL) {
				chunk = cur.word;
				sep = cur.ws;
				seplen = (size_t)(cur.word - cur.ws);
			}
			chunk_end = cur.end;
		} else {
			if (chunk != NULL)
				put_encoded(f, sep, seplen, chunk, chunk_end);
			chunk = NULL;
			/* Words are at most 77 octets: this cannot fail. */
			(void)put_plain(f, cur.ws, (size_t)(cur.word - cur.ws),
			    cur.word, (size_t)(cur.end - cur.word));
		}
		first = 0;
	}
	if (chunk != NULL)
		put_encoded(f, sep, seplen, chunk, chunk_end);
}

/* Starts a header: "Name: " (or "Name:" when the value is empty). */
static void
put_name(struct fold *f, const char *name, int empty)
{
	fold_put(f, name, strlen(name));
	fold_put(f, empty ? ":" : ": ", empty ? 1 : 2);
}

static void
put_crlf(struct fold *f)
{
	buf_add(f->b, "\r\n", 2);
	f->col = 0;
}

/* Undoes a partly written header so a failed call adds nothing. */
static void
rollback(struct buf *b, size_t len)
{
	b->len = len;
	if (b->data != NULL)
		b->data[len] = '\0';
}

int
mime_add_text_header(struct mime *m, const char *name, const char *value,
    struct error *err)
{
	struct fold f = { &m->head, 0 };
	unsigned bit;

	if (check_name(m, name, &bit, err) == -1 ||
	    check_value(name, "value", value, 1, err) == -1)
		return -1;
	put_name(&f, name, *value == '\0');
	put_words(&f, value, 0);
	put_crlf(&f);
	m->once |= bit;
	return 0;
}

/* RFC 5322 3.2.3 atext. */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/*
 * Checks the ASCII address: one '@', a local part of atext and dots, a
 * domain of letters, digits, hyphens and dots, nothing that could end the
 * angle-addr or the header.
 */
static int
check_addr(const char *name, const char *addr, struct error *err)
{
	const char *at = strchr(addr, '@');
	size_t len = strlen(addr);

	if (check_value(name, "address", addr, 0, err) == -1)
		return -1;
	if (len == 0 || len > ADDR_MAX_OCTETS) {
		error_set(err, EX_DATAERR, "header %s: address must be 1-%d "
		    "octets", name, ADDR_MAX_OCTETS);
		return -1;
	}
	if (at == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL) {
		error_set(err, EX_DATAERR, "header %s: address needs "
		    "local@domain", name);
		return -1;
	}
	for (const char *s = addr; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		int ok = s < at ? is_atext(c) || c == '.' :
		    s == at || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.';

		if (!ok) {
			error_set(err, EX_DATAERR, "header %s: address has "
			    "octet 0x%02x ('%c') at offset %zu, which is not "
			    "allowed (ASCII local@domain with A-labels only)",
			    name, c, c > 0x20 && c < 0x7f ? c : '?',
			    (size_t)(s - addr));
			return -1;
		}
	}
	return 0;
}

/* 1 when the ASCII name is atoms separated by single spaces. */
static int
is_atom_phrase(const char *s)
{
	if (*s == '\0' || *s == ' ')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == ' ' && (s[1] == ' ' || s[1] == '\0'))
			return 0;
		if (*s != ' ' && !is_atext((unsigned char)*s))
			return 0;
	}
	return 1;
}

/*
 * Writes a display name: atoms as they are; other ASCII as one
 * quoted-string when it fits a line; else atoms and encoded-words.
 */
static void
put_phrase(struct fold *f, const char *dn)
{
	size_t qlen = 2;
	int ascii = 1;

	for (const char *s = dn; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80 || *s == '\t')
			ascii = 0;
		qlen += *s == '"' || *s == '\\' ? 2 : 1;
	}
	if (is_atom_phrase(dn) || !ascii || strstr(dn, "=?") != NULL ||
	    qlen > FOLD_AT - 2) {
		put_words(f, dn, 1);
		return;
	}
	/* RFC 5322 3.2.4: quoted-pair for '"' and '\'. */
	buf_addc(f->b, '"');
	for (const char *s = dn; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(f->b, '\\');
		buf_addc(f->b, *s);
	}
	buf_addc(f->b, '"');
	f->col += qlen;
}

int
mime_add_addr_header(struct mime *m, const char *name, const char *dn,
    const char *addr, struct error *err)
{
	struct fold f = { &m->head, 0 };
	char angle[ADDR_MAX_OCTETS + 3];
	size_t alen;
	unsigned bit;

	if (dn == NULL)
		dn = "";
	if (check_name(m, name, &bit, err) == -1 ||
	    check_value(name, "display name", dn, 1, err) == -1 ||
	    check_addr(name, addr, err) == -1)
		return -1;
	alen = strlen(addr);
	angle[0] = '<';
	memcpy(angle + 1, addr, alen);
	angle[alen + 1] = '>';
	put_name(&f, name, 0);
	if (*dn != '\0') {
		put_phrase(&f, dn);
		(void)put_plain(&f, " ", 1, angle, alen + 2);
	} else
		fold_put(&f, angle, alen + 2);
	put_crlf(&f);
	m->once |= bit;
	return 0;
}

int
mime_add_raw_header(struct mime *m, const char *name, const char *value,
    struct error *err)
{
	struct fold f = { &m->head, 0 };
	size_t start = m->head.len;
	struct item it;
	unsigned bit;

	if (check_name(m, name, &bit, err) == -1 ||
	    check_value(name, "value", value, 0, err) == -1)
		return -1;
	if (*value == '\0') {
		error_set(err, EX_DATAERR, "header %s: empty value", name);
		return -1;
	}
	put_name(&f, name, 0);
	for (const char *p = value; *p != '\0'; p = it.end) {
		next_item(p, &it);
		if (put_plain(&f, it.ws, (size_t)(it.word - it.ws), it.word,
		    (size_t)(it.end - it.word)) == -1) {
			rollback(&m->head, start);
			error_set(err, EX_DATAERR, "header %s: a word of %zu "
			    "octets cannot fit a %d-octet line", name,
			    (size_t)(it.end - it.word), LINE_MAX_OCTETS);
			return -1;
		}
	}
	put_crlf(&f);
	m->once |= bit;
	return 0;
}

void
mime_date(time_t t, char out[MIME_DATE_LEN])
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	struct tm tm;

	/* RFC 5322 3.3 wants a 4-digit year from 1900 on. */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 0 ||
	    tm.tm_year > 9999 - 1900) {
		time_t zero = 0;

		gmtime_r(&zero, &tm);
	}
	snprintf(out, MIME_DATE_LEN, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * Quoted-printable encoding of one character (a whole UTF-8 sequence)
 * into out; returns its length. at_start: the output line is empty, where
 * '.' (SMTP's end of data) and "From " (mbox) are encoded to be safe;
 * eol: the character ends its line, where white space must be encoded.
 */
static size_t
qp_char(const unsigned char *s, size_t n, int at_start, int eol,
    const unsigned char *e, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		int lit = c >= 33 && c <= 126 && c != '=';

		if ((c == ' ' || c == '\t') && !eol)
			lit = 1;
		if (at_start && i == 0 && (c == '.' || (c == 'F' &&
		    e - s >= 5 && memcmp(s, "From ", 5) == 0)))
			lit = 0;
		if (lit)
			out[o++] = (char)c;
		else {
			out[o++] = '=';
			out[o++] = hexdigits[c >> 4];
			out[o++] = hexdigits[c & 15];
		}
	}
	return o;
}

/*
 * Octets that quoted-printable may leave as they are inside a line (1):
 * printable ASCII except '=', and space, which qp_run keeps off a line's
 * end. Everything else (0) takes a slow path of qp_encode.
 */
static const unsigned char qp_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1,	/* '=' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
	/* 0x80 to 0xff: 0 */
};

#define QP_ONES		0x0101010101010101ULL
#define QP_HIGHS	0x8080808080808080ULL

/*
 * The high bit of each octet of w that is below 32, above 126 or '=', and
 * perhaps of octets above such a one (the carry tricks are exact for the
 * lowest flagged octet only); 0 when all eight are plain.
 */
static uint64_t
qp_word_bad(uint64_t w)
{
	uint64_t low = (w - QP_ONES * 32) & ~w;		/* < 32 */
	uint64_t high = (w + QP_ONES) | w;		/* > 126 */
	uint64_t eq = w ^ (QP_ONES * '=');

	eq = (eq - QP_ONES) & ~eq;			/* '=' */
	return (low | high | eq) & QP_HIGHS;
}

/*
 * How many octets from s on (at most max, never past e) go into the
 * encoded line as they are: eight at a time while the words are plain
 * (on little-endian machines the first bad octet of a word is found from
 * its flag), then by the table. Spaces just before a line end of the text
 * are given back: there they must be encoded. The octets that stop a run
 * (non-ASCII, '=', tab, controls) are left to the slow paths, so a UTF-8
 * sequence is always encoded and moved whole.
 */
static size_t
qp_run(const unsigned char *s, const unsigned char *e, size_t max)
{
	size_t k = 0, n = (size_t)(e - s) < max ? (size_t)(e - s) : max;

	while (n - k >= 8) {
		uint64_t w, bad;

		memcpy(&w, s + k, 8);
		if ((bad = qp_word_bad(w)) == 0) {
			k += 8;
			continue;
		}
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		k += (size_t)__builtin_ctzll(bad) / 8;
		goto end;
#else
		break;
#endif
	}
	while (k < n && qp_plain[s[k]])
		k++;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
end:
#endif
	if (s + k == e || s[k] == '\n' || s[k] == '\r')
		while (k > 0 && s[k - 1] == ' ')
			k--;
	return k;
}

/*
 * RFC 2045 6.7 quoted-printable, CRLF line ends. A line is built in a
 * local buffer and appended whole; a soft break never splits a
 * character, so every encoded line decodes to whole UTF-8 characters.
 */
static void
qp_encode(struct buf *out, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text, *e = s + len;
	char line[QP_LINE + 16], enc[12];
	size_t ll = 0;

	if (len == 0)
		return;
	while (s < e) {
		size_t n, el;
		int eol;

		/*
		 * The common case, a run of plain ASCII inside a line, is
		 * copied whole: most of a newsletter is markup and words.
		 * The first octet of a line takes the slow path ('.' and
		 * "From " are encoded there).
		 */
		if (ll > 0 && ll < QP_LINE &&
		    (n = qp_run(s, e, QP_LINE - ll)) > 0) {
			memcpy(line + ll, s, n);
			ll += n;
			s += n;
			continue;
		}
		if (*s == '\n' || (*s == '\r' && s + 1 < e && s[1] == '\n')) {
			buf_add(out, line, ll);
			buf_add(out, "\r\n", 2);
			ll = 0;
			s += *s == '\r' ? 2 : 1;
			continue;
		}
		n = u8_len(*s);
		if (*s >= 0x80 || *s == '=') {
			/* Encoded wherever it stands: no rule to look up. */
			el = 3 * n;
			eol = -1;
		} else {
			eol = s + n == e || s[n] == '\n' ||
			    (s[n] == '\r' && s + n + 1 < e && s[n + 1] == '\n');
			el = qp_char(s, n, ll == 0, eol, e, enc);
		}
		if (ll + el > QP_LINE) {
			line[ll++] = '=';
			buf_add(out, line, ll);
			buf_add(out, "\r\n", 2);
			ll = 0;
			if (eol != -1)
				el = qp_char(s, n, 1, eol, e, enc);
		}
		if (eol == -1) {
			for (size_t i = 0; i < n; i++) {
				line[ll++] = '=';
				line[ll++] = hexdigits[s[i] >> 4];
				line[ll++] = hexdigits[s[i] & 15];
			}
		} else {
			memcpy(line + ll, enc, el);
			ll += el;
		}
		s += n;
	}
	buf_add(out, line, ll);
}

/*
 * util_valid_utf8 on the non-ASCII stretches only: ASCII is skipped eight
 * octets at a time, which halves the cost of a mostly-markup body.
 */
static int
valid_utf8_fast(const char *s, size_t len)
{
	size_t i = 0, j;

	while (i < len) {
		uint64_t w;

		if (len - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		for (j = i; j < len && (unsigned char)s[j] >= 0x80; j++)
			;
		if (!util_valid_utf8(s + i, j - i))
			return 0;
		i = j;
	}
	return 1;
}

static int
check_body(const char *what, const char *s, size_t len, struct error *err)
{
	if (s == NULL && len > 0) {
		error_set(err, EX_SOFTWARE, "%s part: NULL with length %zu",
		    what, len);
		return -1;
	}
	if (len > 0 && !valid_utf8_fast(s, len)) {
		error_set(err, EX_DATAERR, "%s part is not valid UTF-8", what);
		return -1;
	}
	return 0;
}

static void
put_part(struct buf *b, const char *type, const char *s, size_t len)
{
	buf_addstr(b, "--" BOUNDARY "\r\nContent-Type: ");
	buf_addstr(b, type);
	buf_addstr(b, "; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	qp_encode(b, s, len);
	/* This CRLF belongs to the delimiter that follows (RFC 2046 5.1.1). */
	buf_addstr(b, "\r\n");
}

int
mime_set_alternative(struct mime *m, const char *text, size_t textlen,
    const char *html, size_t htmllen, struct error *err)
{
	if (check_body("text", text, textlen, err) == -1 ||
	    check_body("HTML", html, htmllen, err) == -1)
		return -1;
	buf_reset(&m->body);
	put_part(&m->body, "text/plain", text, textlen);
	put_part(&m->body, "text/html", html, htmllen);
	buf_addstr(&m->body, "--" BOUNDARY "--\r\n");
	m->ctype = "Content-Type: multipart/alternative; boundary=\""
	    BOUNDARY "\"\r\n";
	return 0;
}

int
mime_set_text(struct mime *m, const char *text, size_t len,
    struct error *err)
{
	if (check_body("text", text, len, err) == -1)
		return -1;
	buf_reset(&m->body);
	qp_encode(&m->body, text, len);
	/*
	 * The message must end in CRLF; a soft break ends the last line
	 * without adding a line end to the text.
	 */
	if (m->body.len > 0 && m->body.data[m->body.len - 1] != '\n')
		buf_addstr(&m->body, "=\r\n");
	m->ctype = "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n";
	return 0;
}

int
mime_finish(struct mime *m, struct buf *out, struct error *err)
{
	if (m->ctype == NULL) {
		error_set(err, EX_SOFTWARE, "message has no body: call "
		    "mime_set_alternative or mime_set_text");
		return -1;
	}
	if ((m->once & (ONCE_DATE | ONCE_FROM)) != (ONCE_DATE | ONCE_FROM)) {
		error_set(err, EX_SOFTWARE, "message has no %s header (RFC "
		    "5322 3.6 requires Date and From)",
		    m->once & ONCE_DATE ? "From" : "Date");
		return -1;
	}
	buf_add(out, m->head.data, m->head.len);
	buf_addstr(out, "MIME-Version: 1.0\r\n");
	buf_addstr(out, m->ctype);
	buf_addstr(out, "\r\n");
	buf_add(out, m->body.data, m->body.len);
	return 0;
}
