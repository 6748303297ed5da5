/*
 * date: feed dates to UTC seconds. RFC 822/1123/5322 dates (RSS pubDate),
 * W3C-DTF and ISO 8601 (Atom, RFC 4287 section 3.3; RFC 3339; dc:date),
 * and the deviations feeds are known to carry (see date.h).
 *
 * Each format is a small hand-written matcher over the whole string: a
 * partial match is a failure, so "2013-01-28T11:30:00-06:00Textra" is
 * refused rather than read as its prefix.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "date.h"

/* Broken-down time as read; offset is minutes east of UTC. */
struct parts {
	int	year, mon, day, hour, min, sec;
	int	offset;
};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/* Range checks, then the sum. A leap second (:60) is accepted as :59+1. */
static int
finish(const struct parts *p, int64_t *t_r)
{
	int64_t t;

	if (p->year < 1 || p->year > 9999 || p->mon < 1 || p->mon > 12 ||
	    p->day < 1 || p->day > days_in_month(p->year, p->mon) ||
	    p->hour < 0 || p->hour > 23 || p->min < 0 || p->min > 59 ||
	    p->sec < 0 || p->sec > 60)
		return -1;
	t = days_from_civil(p->year, p->mon, p->day) * 86400;
	t += (int64_t)p->hour * 3600 + p->min * 60 + p->sec;
	t -= (int64_t)p->offset * 60;
	*t_r = t;
	return 0;
}

/*
 * RFC 5322 section 4.3: two-digit years 00-49 are 20xx, 50-99 are 19xx;
 * three-digit years add 1900.
 */
static int
expand_year(int y, int ndigits)
{
	if (ndigits <= 2)
		return y < 50 ? 2000 + y : 1900 + y;
	if (ndigits == 3)
		return 1900 + y;
	return y;
}

/* ---- scanning helpers over a NUL-terminated string ---- */

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Word characters: ASCII letters and any UTF-8 byte (month names). */
static int
is_wordc(int c)
{
	return is_alpha(c) || (c & 0x80) != 0;
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads min..max digits at *pp into *v; 0 and *pp unchanged on failure. */
static int
scan_digits(const char **pp, int min, int max, int *v)
{
	const char *p = *pp;
	int n = 0, val = 0;

	while (n < max && is_digit(p[n])) {
		val = val * 10 + (p[n] - '0');
		n++;
	}
	if (n < min)
		return 0;
	*v = val;
	*pp = p + n;
	return n;
}

/* ---- month and zone names ---- */

struct name {
	const char	*name;
	int		 value;
};

/*
 * English (RFC 822), Swedish (this project's readers), and the Greek and
 * Hungarian forms feedparser met in real feeds. Compared without regard to
 * ASCII case; non-ASCII letters must match as written.
 */
static const struct name months[] = {
	{ "jan", 1 }, { "january", 1 }, { "januari", 1 },
	{ "feb", 2 }, { "february", 2 }, { "februari", 2 },
	{ "mar", 3 }, { "march", 3 }, { "mars", 3 },
	{ "apr", 4 }, { "april", 4 },
	{ "may", 5 }, { "maj", 5 },
	{ "jun", 6 }, { "june", 6 }, { "juni", 6 },
	{ "jul", 7 }, { "july", 7 }, { "juli", 7 },
	{ "aug", 8 }, { "august", 8 }, { "augusti", 8 },
	{ "sep", 9 }, { "sept", 9 }, { "september", 9 },
	{ "oct", 10 }, { "october", 10 }, { "okt", 10 }, { "oktober", 10 },
	{ "nov", 11 }, { "november", 11 },
	{ "dec", 12 }, { "december", 12 },
	/* Greek */
	{ "Ιαν", 1 }, { "Φεβ", 2 }, { "Μάρ", 3 }, { "Μαρ", 3 }, { "Μάώ", 3 },
	{ "Μαώ", 3 }, { "Απρ", 4 }, { "Μάι", 5 }, { "Μαϊ", 5 }, { "Μαι", 5 },
	{ "Ιούν", 6 }, { "Ιον", 6 }, { "Ιούλ", 7 }, { "Ιολ", 7 },
	{ "Αύγ", 8 }, { "Αυγ", 8 }, { "Σεπ", 9 }, { "Οκτ", 10 }, { "Νοέ", 11 },
	{ "Νοε", 11 }, { "Δεκ", 12 },
	/* Hungarian */
	{ "január", 1 }, { "február", 2 }, { "március", 3 }, { "április", 4 },
	{ "május", 5 }, { "június", 6 }, { "július", 7 }, { "augusztus", 8 },
	{ "szeptember", 9 }, { "október", 10 }, { "november", 11 },
	{ "december", 12 },
};

/*
 * Zone names, minutes east of UTC. RFC 822 names, the one-letter North
 * American forms feeds use ("ET"), and common European and Asian names.
 * Ambiguous abbreviations (IST, CST for China) follow the RFC or are left
 * out, and then read as UTC (see lookup_zone).
 */
static const struct name zones[] = {
	{ "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 },
	{ "etc/gmt", 0 }, { "etc/utc", 0 }, { "wet", 0 },
	{ "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 },
	{ "mst", -420 }, { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 },
	{ "ast", -240 }, { "adt", -180 }, { "akst", -540 }, { "akdt", -480 },
	{ "hst", -600 }, { "nst", -210 }, { "ndt", -150 },
	{ "at", -240 }, { "et", -300 }, { "ct", -360 }, { "mt", -420 },
	{ "pt", -480 },
	{ "met", 60 }, { "mest", 120 }, { "cet", 60 }, { "cest", 120 },
	{ "west", 60 }, { "bst", 60 }, { "eet", 120 }, { "eest", 180 },
	{ "msk", 180 }, { "jst", 540 }, { "kst", 540 }, { "hkt", 480 },
	{ "sgt", 480 }, { "awst", 480 }, { "acst", 570 }, { "aest", 600 },
	{ "aedt", 660 }, { "nzst", 720 }, { "nzdt", 780 },
};

static int
name_eq(const char *s, size_t len, const char *name)
{
	/* First bytes that differ in more than ASCII case cannot match:
	 * most names are passed over on that. */
	if (len == 0 || ((unsigned char)s[0] | 0x20) !=
	    ((unsigned char)name[0] | 0x20))
		return 0;
	return strncasecmp(s, name, len) == 0 && name[len] == '\0';
}

static int
lookup(const struct name *tab, size_t n, const char *s, size_t len, int *v)
{
	for (size_t i = 0; i < n; i++)
		if (name_eq(s, len, tab[i].name)) {
			*v = tab[i].value;
			return 1;
		}
	return 0;
}

static int
lookup_month(const char *s, size_t len, int *mon)
{
	return lookup(months, sizeof months / sizeof months[0], s, len, mon);
}

/*
 * A zone word. RFC 5322 section 4.3: military letters other than Z had
 * their signs reversed in RFC 822 and are to be taken as -0000; any other
 * unknown alphabetic zone is read the same way, as a date an hour off is
 * more use than none.
 */
static int
lookup_zone(const char *s, size_t len, int *off)
{
	if (lookup(zones, sizeof zones / sizeof zones[0], s, len, off))
		return 1;
	if (len == 0 || len > 5)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!is_alpha((unsigned char)s[i]))
			return 0;
	*off = 0;
	return 1;
}

/*
 * A numeric zone after its sign: "hhmm", "hh:mm", "hh" or "h". Returns
 * the offset in minutes via *off, 0 when malformed.
 */
static int
scan_offset(const char **pp, int *off)
{
	const char *p = *pp;
	int sign, h, m = 0, n;

	if (*p != '+' && *p != '-')
		return 0;
	sign = *p++ == '-' ? -1 : 1;
	n = scan_digits(&p, 1, 4, &h);
	if (n == 4) {
		m = h % 100;
		h /= 100;
	} else if (n == 1 || n == 2) {
		if (*p == ':') {
			p++;
			if (scan_digits(&p, 2, 2, &m) != 2)
				return 0;
		}
	} else
		return 0;
	if (h > 23 || m > 59)
		return 0;
	*off = sign * (h * 60 + m);
	*pp = p;
	return 1;
}

/* ---- W3C-DTF / ISO 8601 extended form ---- */

/* "hh:mm[:ss[.fraction]]" */
static int
scan_time(const char **pp, struct parts *pt)
{
	const char *p = *pp;

	if (!scan_digits(&p, 1, 2, &pt->hour) || *p++ != ':' ||
	    scan_digits(&p, 2, 2, &pt->min) != 2)
		return 0;
	if (*p == ':') {
		p++;
		if (scan_digits(&p, 2, 2, &pt->sec) != 2)
			return 0;
		if (*p == '.' || *p == ',') {
			p++;
			if (!is_digit(*p))
				return 0;
			while (is_digit(*p))	/* fractions are dropped */
				p++;
		}
	}
	*pp = p;
	return 1;
}

/* A month as digits ("12", or "012" as feedparser saw) or as a name. */
static int
scan_w3c_month(const char **pp, int *mon)
{
	const char *p = *pp, *w = p;

	if (scan_digits(pp, 1, 3, mon))
		return 1;
	while (is_wordc((unsigned char)*p))
		p++;
	if (p == w || !lookup_month(w, (size_t)(p - w), mon))
		return 0;
	*pp = p;
	return 1;
}

/* The zone after a W3C time: Z, +hh:mm, +hhmm, +hh, or UTC/GMT. */
static int
scan_w3c_zone(const char **pp, int *off)
{
	const char *p = *pp;

	while (is_space(*p))
		p++;
	if (*p == '\0') {
		*pp = p;
		return 1;
	}
	if (*p == 'Z' || *p == 'z') {
		*off = 0;
		*pp = p + 1;
		return 1;
	}
	if (strncasecmp(p, "UTC", 3) == 0 || strncasecmp(p, "GMT", 3) == 0) {
		*off = 0;
		*pp = p + 3;
		return 1;
	}
	if (!scan_offset(&p, off))
		return 0;
	*pp = p;
	return 1;
}

static int
parse_w3c(const char *s, struct parts *pt)
{
	const char *p = s;

	if (scan_digits(&p, 4, 4, &pt->year) != 4)
		return -1;
	if (*p == '\0')
		return 0;
	if (*p++ != '-' || !scan_w3c_month(&p, &pt->mon))
		return -1;
	if (*p == '\0')
		return 0;
	if (*p++ != '-' || !scan_digits(&p, 1, 2, &pt->day))
		return -1;
	if (*p == '\0')
		return 0;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (!scan_time(&p, pt) || !scan_w3c_zone(&p, &pt->offset))
		return -1;
	return *p == '\0' ? 0 : -1;
}

/*
 * Truncated ISO 8601 forms with two-digit years: "-YYMM", "-YY-MM",
 * "YY-MM-DD" and "YYMMDD". The ordinal "YYDDD" is refused on purpose: five
 * digits are more often a stray number than a date.
 */
static int
parse_iso_compact(const char *s, struct parts *pt)
{
	const char *p = s;
	int yy, v;

	if (*p == '-') {
		p++;
		if (scan_digits(&p, 2, 2, &yy) != 2)
			return -1;
		if (*p == '-')
			p++;
		if (scan_digits(&p, 2, 2, &pt->mon) != 2 || *p != '\0')
			return -1;
	} else if (scan_digits(&p, 6, 6, &v) == 6 && *p == '\0') {
		yy = v / 10000;
		pt->mon = v / 100 % 100;
		pt->day = v % 100;
	} else {
		p = s;
		if (scan_digits(&p, 2, 2, &yy) != 2 || *p++ != '-' ||
		    scan_digits(&p, 2, 2, &pt->mon) != 2 || *p++ != '-' ||
		    scan_digits(&p, 2, 2, &pt->day) != 2 || *p != '\0')
			return -1;
	}
	pt->year = expand_year(yy, 2);
	return 0;
}

/* ---- Korean blog dates (feedparser's "onblog" and "nate") ---- */

#define KO_YEAR		"\xeb\x85\x84"	/* 년 */
#define KO_MONTH	"\xec\x9b\x94"	/* 월 */
#define KO_DAY		"\xec\x9d\xbc"	/* 일 */
#define KO_AM		"\xec\x98\xa4\xec\xa0\x84"	/* 오전 */
#define KO_PM		"\xec\x98\xa4\xed\x9b\x84"	/* 오후 */

static int
skip_lit(const char **pp, const char *lit)
{
	size_t n = strlen(lit);

	while (is_space(**pp))
		(*pp)++;
	if (strncmp(*pp, lit, n) != 0)
		return 0;
	*pp += n;
	while (is_space(**pp))
		(*pp)++;
	return 1;
}

/* "2004년 05월 28일 01:31:15" and "2004-05-25 오후 11:23:17", in KST. */
static int
parse_korean(const char *s, struct parts *pt)
{
	const char *p = s;
	int pm = 0;

	if (scan_digits(&p, 4, 4, &pt->year) != 4)
		return -1;
	if (skip_lit(&p, KO_YEAR)) {
		if (!scan_digits(&p, 1, 2, &pt->mon) || !skip_lit(&p, KO_MONTH) ||
		    !scan_digits(&p, 1, 2, &pt->day) || !skip_lit(&p, KO_DAY))
			return -1;
	} else {
		if (*p++ != '-' || !scan_digits(&p, 1, 2, &pt->mon) ||
		    *p++ != '-' || !scan_digits(&p, 1, 2, &pt->day))
			return -1;
		if (skip_lit(&p, KO_PM))
			pm = 1;
		else if (!skip_lit(&p, KO_AM))
			return -1;
	}
	if (!scan_time(&p, pt) || *p != '\0')
		return -1;
	if (pm && pt->hour < 12)
		pt->hour += 12;
	pt->offset = 9 * 60;
	return 0;
}

/* ---- RFC 822 and its relatives, by tokens ---- */

enum tok_type { T_NUM, T_WORD, T_TIME, T_ZONE, T_YMD };

struct tok {
	enum tok_type	 type;
	const char	*s;
	size_t		 len;
	int		 v[3];	/* NUM: value; TIME: h m s; ZONE: minutes */
	int		 n;	/* NUM: digits; TIME: parts */
};

#define MAX_TOKS 16

/* "h:m[:s]" or "y/m/d" after the first number. */
static int
lex_number(const char **pp, struct tok *t)
{
	const char *p = *pp;
	int n;

	n = scan_digits(&p, 1, 9, &t->v[0]);
	t->type = T_NUM;
	t->n = n;
	if (*p == ':' || *p == '/') {
		char sep = *p;

		t->type = sep == ':' ? T_TIME : T_YMD;
		t->n = 1;
		while (*p == sep) {
			if (t->n == 3)
				return 0;	/* "1:2:3:4" */
			p++;
			if (!scan_digits(&p, 1, sep == ':' ? 2 : 4,
			    &t->v[t->n]))
				return 0;
			t->n++;
		}
		if (t->n < (sep == ':' ? 2 : 3))
			return 0;
		if (t->n == 2)
			t->v[2] = 0;
	}
	*pp = p;
	return 1;
}

static int
lex(const char *s, struct tok *toks, int *ntoks)
{
	const char *p = s;
	int n = 0;

	for (;;) {
		while (is_space(*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '(') {	/* RFC 822 comment, "(CEST)" */
			while (*p != '\0' && *p != ')')
				p++;
			if (*p == ')')
				p++;
			continue;
		}
		if (n == MAX_TOKS)
			return -1;
		struct tok *t = &toks[n++];
		t->s = p;
		if (is_digit(*p)) {
			if (!lex_number(&p, t))
				return -1;
		} else if (*p == '+' || *p == '-') {
			t->type = T_ZONE;
			if (!scan_offset(&p, &t->v[0]))
				return -1;
		} else if (is_wordc((unsigned char)*p)) {
			t->type = T_WORD;
			while (is_wordc((unsigned char)*p) || *p == '/' ||
			    *p == '.')
				p++;
		} else
			return -1;
		t->len = (size_t)(p - t->s);
		if (t->type == T_WORD && t->s[t->len - 1] == '.')
			t->len--;
	}
	*ntoks = n;
	return 0;
}

static int
tok_month(const struct tok *t, int *mon)
{
	return t->type == T_WORD && lookup_month(t->s, t->len, mon);
}

static int
tok_year(const struct tok *t, int *year)
{
	if (t->type != T_NUM || t->n > 4)
		return 0;
	*year = expand_year(t->v[0], t->n);
	return 1;
}

static int
tok_day(const struct tok *t, int *day)
{
	if (t->type != T_NUM || t->n > 2)
		return 0;
	*day = t->v[0];
	return 1;
}

static void
set_time(struct parts *pt, const struct tok *t)
{
	pt->hour = t->v[0];
	pt->min = t->v[1];
	pt->sec = t->v[2];
}

/* Zone at toks[*i]: a name, a name and an offset ("GMT-01:01"), or an offset. */
static int
take_zone(const struct tok *toks, int n, int *i, int *off)
{
	int extra;

	if (*i < n && toks[*i].type == T_WORD) {
		if (!lookup_zone(toks[*i].s, toks[*i].len, off))
			return 0;
		(*i)++;
		if (*i < n && toks[*i].type == T_ZONE) {
			extra = toks[*i].v[0];
			*off += extra;
			(*i)++;
		}
	} else if (*i < n && toks[*i].type == T_ZONE) {
		*off = toks[*i].v[0];
		(*i)++;
	}
	return 1;
}

/* The date part in the three orders seen: "1 Jan 2004", "Jan 1 2004", and
 * asctime's "Jan 1 12:00:00 [zone] 2004" (*late_year set). */
static int
take_date(const struct tok *t, int n, int *i, struct parts *pt, int *late)
{
	int k = *i;

	*late = 0;
	if (k < n && t[k].type == T_YMD) {
		pt->year = t[k].v[0];
		pt->mon = t[k].v[1];
		pt->day = t[k].v[2];
		*i = k + 1;
		return 1;
	}
	if (k + 2 >= n)
		return 0;
	if (tok_day(&t[k], &pt->day) && tok_month(&t[k + 1], &pt->mon) &&
	    tok_year(&t[k + 2], &pt->year)) {
		*i = k + 3;
		return 1;
	}
	if (!tok_month(&t[k], &pt->mon) || !tok_day(&t[k + 1], &pt->day))
		return 0;
	if (tok_year(&t[k + 2], &pt->year)) {
		*i = k + 3;
		return 1;
	}
	if (t[k + 2].type == T_TIME) {
		*late = 1;
		*i = k + 2;
		return 1;
	}
	return 0;
}

static int
parse_rfc822(const char *s, struct parts *pt)
{
	struct tok t[MAX_TOKS];
	int n, i = 0, late, mon;

	if (lex(s, t, &n) == -1 || n == 0)
		return -1;
	/* A weekday, in any language, unchecked. */
	if (t[0].type == T_WORD && !tok_month(&t[0], &mon))
		i++;
	if (!take_date(t, n, &i, pt, &late))
		return -1;
	if (i < n && t[i].type == T_TIME)
		set_time(pt, &t[i++]);
	else if (late)
		return -1;
	if (!take_zone(t, n, &i, &pt->offset))
		return -1;
	if (late && (i >= n || !tok_year(&t[i++], &pt->year)))
		return -1;
	return i == n ? 0 : -1;
}

/* ---- entry point ---- */

typedef int (*parser_fn)(const char *, struct parts *);

int
date_parse(const char *s, int64_t *t_r)
{
	static const parser_fn parsers[] = { parse_w3c, parse_iso_compact,
	    parse_korean, parse_rfc822 };
	char buf[128];
	size_t len;

	if (s == NULL)
		return -1;
	while (is_space(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_space(s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (size_t i = 0; i < sizeof parsers / sizeof parsers[0]; i++) {
		struct parts pt = { 0, 1, 1, 0, 0, 0, 0 };

		if (parsers[i](buf, &pt) == 0 && finish(&pt, t_r) == 0)
			return 0;
	}
	return -1;
}
