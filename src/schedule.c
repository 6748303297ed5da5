/*
 * schedule: digest schedules (parse, format, next run) and the time zones
 * they run in. Zones are read from tzdata's TZif files (RFC 8536: the
 * 64-bit data of versions 2 to 4, the 32-bit data of version 1, and the
 * POSIX TZ string in the footer, POSIX.1-2008 XBD 8.3 with RFC 8536's
 * extensions) into an immutable struct, so nothing here touches libc's
 * process-global TZ state and a zone may be shared between threads.
 *
 * Local wall time is handled as "local seconds" L = UTC seconds + offset.
 * A wall time L runs at the first UTC instant u whose local time is at
 * least L: that is the first occurrence when L occurs twice, and the end
 * of the gap when L does not occur at all, which are the two rules the
 * header promises, in one definition that is monotonic in L.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "schedule.h"

#define DAY		86400
#define ZONEINFO	"/usr/share/zoneinfo"
#define LOCALTIME	"/etc/localtime"
/* tzdata's largest file is under 4 KB; a cap keeps a wrong path cheap. */
#define TZIF_MAX	(1024 * 1024)
/* The range RFC 8536 allows for a UT offset (section 3.2). */
#define OFF_MIN		(-89999)
#define OFF_MAX		93599
/* Years 1..9999, as Unix seconds: the instants schedule_next accepts. */
#define T_MIN		(-62135596800LL)
#define T_MAX		253402300799LL

/* ---- civil dates (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
	static const int n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

/*
 * Days from 1970-01-01 to y-m-d. Counts in 400-year eras starting on
 * March 1st, so February's length only matters at the end of an era year.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void
civil_from_days(int64_t z, int64_t *y_r, int *m_r, int *d_r)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = yoe + era * 400 + (*m_r <= 2);
}

/* 0 Sunday .. 6 Saturday; 1970-01-01 was a Thursday. */
static int
weekday(int64_t days)
{
	return (int)(days - floor_div(days + 4, 7) * 7 + 4);
}

/* ---- messages ---- */

/*
 * Copies s into out for a one-line message in double quotes: control
 * characters, quotes, backslashes and (in invalid UTF-8) high bytes as
 * \xNN, cut after 60 input bytes with "...".
 */
static const char *
quote(const char *s, char *out, size_t len)
{
	size_t i, o = 0, n = strlen(s);
	int utf8 = util_valid_utf8(s, n);

	for (i = 0; i < n && i < 60 && o + 8 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' ||
		    (c >= 0x80 && !utf8))
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (i < n && o + 4 < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* ---- schedule specs ---- */

static const char *const day_names[7][4] = {
	{ "sunday", "sun", "s\xc3\xb6ndag", "s\xc3\xb6n" },
	{ "monday", "mon", "m\xc3\xa5ndag", "m\xc3\xa5n" },
	{ "tuesday", "tue", "tisdag", "tis" },
	{ "wednesday", "wed", "onsdag", "ons" },
	{ "thursday", "thu", "torsdag", "tor" },
	{ "friday", "fri", "fredag", "fre" },
	{ "saturday", "sat", "l\xc3\xb6rdag", "l\xc3\xb6r" },
};

#define WORD_MAX 16

/*
 * Lower-cases a word for comparison: ASCII, and the Swedish capitals
 * Å, Ä, Ö (the only non-ASCII letters in the day names) in UTF-8.
 */
static void
fold(char *w)
{
	for (; *w != '\0'; w++) {
		if (*w >= 'A' && *w <= 'Z')
			*w = (char)(*w - 'A' + 'a');
		else if ((unsigned char)w[0] == 0xc3 &&
		    ((unsigned char)w[1] == 0x85 ||
		    (unsigned char)w[1] == 0x84 ||
		    (unsigned char)w[1] == 0x96)) {
			w++;
			*w = (char)((unsigned char)*w + 0x20);
		}
	}
}

/*
 * Splits spec into at most 4 blank-separated words of fewer than WORD_MAX
 * bytes, folded. Returns the count, or -1 when there are more words or a
 * longer one.
 */
static int
split(const char *spec, char words[4][WORD_MAX])
{
	int n = 0;
	size_t len;

	for (;;) {
		while (*spec == ' ' || *spec == '\t')
			spec++;
		if (*spec == '\0')
			return n;
		len = strcspn(spec, " \t");
		if (n == 4 || len >= WORD_MAX)
			return -1;
		memcpy(words[n], spec, len);
		words[n][len] = '\0';
		fold(words[n++]);
		spec += len;
	}
}

/* "HH:MM", two digits each, 00:00..23:59. 0 ok, -1 not. */
static int
parse_hhmm(const char *w, int *h_r, int *m_r)
{
	int i;

	for (i = 0; i < 5; i++)
		if (i == 2 ? w[i] != ':' : (w[i] < '0' || w[i] > '9'))
			return -1;
	if (w[5] != '\0')
		return -1;
	*h_r = (w[0] - '0') * 10 + (w[1] - '0');
	*m_r = (w[3] - '0') * 10 + (w[4] - '0');
	return *h_r <= 23 && *m_r <= 59 ? 0 : -1;
}

static int
parse_day(const char *w)
{
	int d, i;

	for (d = 0; d < 7; d++)
		for (i = 0; i < 4; i++)
			if (strcmp(w, day_names[d][i]) == 0)
				return d;
	return -1;
}

/* "1".."28" (one or two digits) or "last". */
static int
parse_mday(const char *w)
{
	int n;

	if (strcmp(w, "last") == 0)
		return SCHEDULE_LAST_DAY;
	if (w[0] < '0' || w[0] > '9' ||
	    (w[1] != '\0' && (w[1] < '0' || w[1] > '9' || w[2] != '\0')))
		return -1;
	n = w[1] == '\0' ? w[0] - '0' : (w[0] - '0') * 10 + (w[1] - '0');
	return n >= 1 && n <= 28 ? n : -1;
}

int
schedule_parse(const char *spec, struct schedule *out, struct error *err)
{
	char words[4][WORD_MAX], q[256];
	struct schedule s = { SCHEDULE_NONE, 0, 0, 0, 0 };
	const char *why = NULL;
	int n = split(spec, words), timew = -1;

	if (n == 1 && strcmp(words[0], "none") == 0)
		goto ok;
	if (n == 2 && strcmp(words[0], "daily") == 0) {
		s.kind = SCHEDULE_DAILY;
		timew = 1;
	} else if (n == 3 && strcmp(words[0], "weekly") == 0) {
		s.kind = SCHEDULE_WEEKLY;
		if ((s.wday = parse_day(words[1])) < 0)
			why = "DAY must be a day of the week (monday, mon, "
			    "m\xc3\xa5ndag, m\xc3\xa5n, ...)";
		timew = 2;
	} else if (n == 3 && strcmp(words[0], "monthly") == 0) {
		s.kind = SCHEDULE_MONTHLY;
		if ((s.mday = parse_mday(words[1])) < 0)
			why = "the day of the month must be 1 to 28 or last";
		timew = 2;
	} else
		why = "expected daily HH:MM, weekly DAY HH:MM, "
		    "monthly N HH:MM, monthly last HH:MM or none";
	if (why == NULL && parse_hhmm(words[timew], &s.hour, &s.min) < 0)
		why = "the time must be HH:MM, 00:00 to 23:59";
	if (why != NULL) {
		error_set(err, EX_DATAERR, "schedule \"%s\": %s",
		    quote(spec, q, sizeof q), why);
		return -1;
	}
ok:
	*out = s;
	return 0;
}

int
schedule_is_valid(const struct schedule *s)
{
	if (s->kind == SCHEDULE_NONE)
		return 1;
	if (s->hour < 0 || s->hour > 23 || s->min < 0 || s->min > 59)
		return 0;
	switch (s->kind) {
	case SCHEDULE_DAILY:
		return 1;
	case SCHEDULE_WEEKLY:
		return s->wday >= 0 && s->wday <= 6;
	case SCHEDULE_MONTHLY:
		return s->mday >= 0 && s->mday <= 28;
	default:
		return 0;
	}
}

int
schedule_format(const struct schedule *s, char *buf, size_t len)
{
	int n;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (!schedule_is_valid(s))
		return -1;
	switch (s->kind) {
	case SCHEDULE_NONE:
		n = snprintf(buf, len, "none");
		break;
	case SCHEDULE_DAILY:
		n = snprintf(buf, len, "daily %02d:%02d", s->hour, s->min);
		break;
	case SCHEDULE_WEEKLY:
		n = snprintf(buf, len, "weekly %s %02d:%02d",
		    day_names[s->wday][0], s->hour, s->min);
		break;
	default:
		if (s->mday == SCHEDULE_LAST_DAY)
			n = snprintf(buf, len, "monthly last %02d:%02d",
			    s->hour, s->min);
		else
			n = snprintf(buf, len, "monthly %d %02d:%02d",
			    s->mday, s->hour, s->min);
		break;
	}
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

/* ---- POSIX TZ strings (the TZif footer, or $TZ) ---- */

/* When a rule switches: the day and the local time of day. */
struct tz_rule {
	char	kind;		/* 'J' Jn, 'D' n, 'M' Mm.w.d */
	int	n;		/* J: 1..365, D: 0..365 */
	int	m, w, d;	/* M: month 1..12, week 1..5, weekday 0..6 */
	int32_t	secs;		/* local time of day, -167h..167h */
};

struct posix_tz {
	int32_t	std_off;	/* seconds east of UTC */
	int32_t	dst_off;
	int	has_dst;
	struct tz_rule start;	/* into daylight saving, in standard time */
	struct tz_rule end;	/* out of it, in daylight-saving time */
};

/* A number of at most 3 digits from *p, in lo..hi. 0 ok, -1 not. */
static int
tz_num(const char **p, int lo, int hi, int *n_r)
{
	int n = 0, i;

	for (i = 0; i < 3 && **p >= '0' && **p <= '9'; i++, (*p)++)
		n = n * 10 + (**p - '0');
	if (i == 0 || n < lo || n > hi)
		return -1;
	*n_r = n;
	return 0;
}

/* A zone abbreviation: 3+ letters, or <...> of letters, digits, + and -. */
static int
tz_name(const char **p)
{
	const char *s = *p;

	if (*s == '<') {
		for (s++; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '+' || *s == '-'; s++)
			;
		if (*s != '>' || s - *p < 4)
			return -1;
		*p = s + 1;
		return 0;
	}
	while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
		s++;
	if (s - *p < 3)
		return -1;
	*p = s;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hh up to maxh, as seconds. */
static int
tz_time(const char **p, int maxh, int32_t *secs_r)
{
	int sign = 1, h, m = 0, s = 0;

	if (**p == '+' || **p == '-')
		sign = *(*p)++ == '-' ? -1 : 1;
	if (tz_num(p, 0, maxh, &h) < 0)
		return -1;
	if (**p == ':') {
		(*p)++;
		if (tz_num(p, 0, 59, &m) < 0)
			return -1;
		if (**p == ':') {
			(*p)++;
			if (tz_num(p, 0, 59, &s) < 0)
				return -1;
		}
	}
	*secs_r = sign * (h * 3600 + m * 60 + s);
	return 0;
}

/* ",Jn[/time]", ",n[/time]" or ",Mm.w.d[/time]"; time defaults to 02:00. */
static int
tz_rule(const char **p, struct tz_rule *r)
{
	if (*(*p)++ != ',')
		return -1;
	memset(r, 0, sizeof *r);
	if (**p == 'J') {
		(*p)++;
		r->kind = 'J';
		if (tz_num(p, 1, 365, &r->n) < 0)
			return -1;
	} else if (**p == 'M') {
		(*p)++;
		r->kind = 'M';
		if (tz_num(p, 1, 12, &r->m) < 0 || *(*p)++ != '.' ||
		    tz_num(p, 1, 5, &r->w) < 0 || *(*p)++ != '.' ||
		    tz_num(p, 0, 6, &r->d) < 0)
			return -1;
	} else {
		r->kind = 'D';
		if (tz_num(p, 0, 365, &r->n) < 0)
			return -1;
	}
	r->secs = 7200;
	if (**p == '/') {
		(*p)++;
		/* RFC 8536 3.3.1: -167 to 167 hours. */
		if (tz_time(p, 167, &r->secs) < 0)
			return -1;
	}
	return 0;
}

/*
 * Parses a POSIX TZ string. Daylight saving needs its two rules spelled
 * out: the POSIX default for a bare "CET-1CEST" is implementation-defined
 * (glibc takes the US rules), so it is refused rather than guessed.
 */
static int
posix_parse(const char *s, struct posix_tz *tz)
{
	int32_t off;

	memset(tz, 0, sizeof *tz);
	if (tz_name(&s) < 0 || tz_time(&s, 24, &off) < 0)
		return -1;
	tz->std_off = -off;
	if (*s == '\0')
		return 0;
	if (tz_name(&s) < 0)
		return -1;
	tz->has_dst = 1;
	tz->dst_off = tz->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if (tz_time(&s, 24, &off) < 0)
			return -1;
		tz->dst_off = -off;
	}
	if (tz_rule(&s, &tz->start) < 0 || tz_rule(&s, &tz->end) < 0)
		return -1;
	return *s == '\0' ? 0 : -1;
}

/* The day (since the epoch) on which rule r falls in year y. */
static int64_t
rule_day(const struct tz_rule *r, int64_t y)
{
	int64_t jan1 = days_from_civil(y, 1, 1), first, day;

	switch (r->kind) {
	case 'J':	/* 1..365, February 29th never counted */
		return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
	case 'D':	/* 0..365, February 29th counted */
		return jan1 + r->n;
	default:	/* week w (5: the last) of month m, weekday d */
		first = days_from_civil(y, r->m, 1);
		day = first + (r->d - weekday(first) + 7) % 7 + (r->w - 1) * 7;
		while (day >= first + month_days(y, r->m))
			day -= 7;
		return day;
	}
}

/*
 * The offset at t by the TZ string's rules, and the next switch after t
 * (INT64_MAX when none). The switches of five years around t are sorted
 * and searched, so rules whose times spill into the next year, southern
 * zones (start after end) and all-year daylight saving all come out right.
 */
static void
posix_lookup(const struct posix_tz *tz, int64_t t, int32_t *off_r,
    int64_t *until_r)
{
	int64_t at[10], y, sw;
	int dst[10], n = 0, i, j, m, d, state;

	if (!tz->has_dst) {
		*off_r = tz->std_off;
		*until_r = INT64_MAX;
		return;
	}
	civil_from_days(floor_div(t + tz->std_off, DAY), &y, &m, &d);
	/*
	 * On a tie the event added later wins (the sort is stable): a year's
	 * end after its start, so a daylight-saving span of zero length is
	 * none; and a year's start after the previous year's end, so
	 * "EST5EDT,0/0,J365/25" (RFC 8536 3.3.1) is daylight saving all year.
	 */
	for (y -= 2, i = 0; i < 5; i++, y++) {
		at[n] = rule_day(&tz->start, y) * DAY + tz->start.secs -
		    tz->std_off;
		dst[n++] = 1;
		at[n] = rule_day(&tz->end, y) * DAY + tz->end.secs -
		    tz->dst_off;
		dst[n++] = 0;
	}
	for (i = 1; i < n; i++)		/* insertion sort, stable */
		for (j = i; j > 0 && at[j - 1] > at[j]; j--) {
			sw = at[j], at[j] = at[j - 1], at[j - 1] = sw;
			state = dst[j], dst[j] = dst[j - 1], dst[j - 1] = state;
		}
	state = !dst[0];
	*until_r = INT64_MAX;
	for (i = 0; i < n; i++) {
		if (at[i] > t) {
			*until_r = at[i];
			break;
		}
		state = dst[i];
	}
	*off_r = state ? tz->dst_off : tz->std_off;
}

/* ---- TZif files (RFC 8536) ---- */

struct schedule_zone {
	char	*name;
	size_t	 ntrans;
	int64_t	*at;		/* transition times, strictly increasing */
	uint8_t	*idx;		/* the type after each transition */
	size_t	 ntypes;
	int32_t	*utoff;		/* each type's offset */
	int	 has_footer;
	struct posix_tz footer;	/* for times after the last transition */
	int32_t	 minoff, maxoff; /* over every type and the footer */
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The six counts of a TZif header, in file order. */
struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static int
tzif_header(const unsigned char *p, size_t len, struct tzif_counts *c)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	return 0;
}

/* Bytes in the data block after a header, for times of tsize bytes. */
static uint64_t
tzif_block_len(const struct tzif_counts *c, int tsize)
{
	return (uint64_t)c->time * (uint64_t)(tsize + 1) +
	    (uint64_t)c->type * 6 + c->chars +
	    (uint64_t)c->leap * (uint64_t)(tsize + 4) + c->isstd + c->isut;
}

/* Reads one data block (p is just after its header) into z. */
static int
tzif_block(const unsigned char *p, const struct tzif_counts *c, int tsize,
    struct schedule_zone *z, const char **why)
{
	const unsigned char *types;
	size_t i;

	*why = "damaged TZif data";
	if (c->type == 0 || c->type > 256 || c->chars == 0 ||
	    (c->isut != 0 && c->isut != c->type) ||
	    (c->isstd != 0 && c->isstd != c->type))
		return -1;
	if (c->leap != 0) {
		*why = "has leap seconds (a \"right/\" zone), which Unix "
		    "time does not count";
		return -1;
	}
	z->ntrans = c->time;
	z->ntypes = c->type;
	z->at = xcalloc(z->ntrans + 1, sizeof *z->at);
	z->idx = xcalloc(z->ntrans + 1, sizeof *z->idx);
	z->utoff = xcalloc(z->ntypes, sizeof *z->utoff);
	for (i = 0; i < z->ntrans; i++) {
		z->at[i] = tsize == 8 ? be64(p + i * 8) :
		    (int64_t)(int32_t)be32(p + i * 4);
		if (i > 0 && z->at[i] <= z->at[i - 1])
			return -1;
		z->idx[i] = p[z->ntrans * (size_t)tsize + i];
		if (z->idx[i] >= z->ntypes)
			return -1;
	}
	types = p + z->ntrans * (size_t)(tsize + 1);
	for (i = 0; i < z->ntypes; i++) {
		const unsigned char *t = types + i * 6;
		int32_t off = (int32_t)be32(t);

		if (off < OFF_MIN || off > OFF_MAX || t[4] > 1 ||
		    t[5] >= c->chars)
			return -1;
		z->utoff[i] = off;
	}
	return 0;
}

/*
 * Fills z from a whole TZif file. Version 1 files are read from their
 * 32-bit block; later versions from the 64-bit block and the footer.
 */
static int
tzif_parse(const unsigned char *buf, size_t len, struct schedule_zone *z,
    const char **why)
{
	struct tzif_counts c;
	uint64_t off, blen;
	const unsigned char *nl;
	char footer[256];
	size_t flen;

	*why = "not a TZif file";
	if (tzif_header(buf, len, &c) < 0)
		return -1;
	*why = "damaged TZif data";
	blen = tzif_block_len(&c, 4);
	if (blen > len - 44)
		return -1;
	if (buf[4] == '\0')
		return tzif_block(buf + 44, &c, 4, z, why);
	if (buf[4] < '2') {
		*why = "unknown TZif version";
		return -1;
	}
	off = 44 + blen;
	if (tzif_header(buf + off, len - off, &c) < 0)
		return -1;
	off += 44;
	blen = tzif_block_len(&c, 8);
	if (blen > len - off || tzif_block(buf + off, &c, 8, z, why) < 0)
		return -1;
	off += blen;
	/* The footer: "\n" TZ-string "\n", the string possibly empty. */
	if (off >= len || buf[off] != '\n' ||
	    (nl = memchr(buf + off + 1, '\n', len - off - 1)) == NULL)
		return -1;
	flen = (size_t)(nl - (buf + off + 1));
	if (flen == 0)
		return 0;
	*why = "unsupported TZ string in the TZif footer";
	if (flen >= sizeof footer)
		return -1;
	memcpy(footer, buf + off + 1, flen);
	footer[flen] = '\0';
	if (posix_parse(footer, &z->footer) < 0)
		return -1;
	z->has_footer = 1;
	return 0;
}

/* The offset at t and the end of the span it holds for (INT64_MAX: ever). */
static void
zone_lookup(const struct schedule_zone *z, int64_t t, int32_t *off_r,
    int64_t *until_r)
{
	size_t lo, hi, mid;

	if (z->has_footer && (z->ntrans == 0 || t >= z->at[z->ntrans - 1])) {
		posix_lookup(&z->footer, t, off_r, until_r);
		return;
	}
	if (z->ntrans == 0 || t < z->at[0]) {
		/* before the first transition: type 0 (RFC 8536 3.2) */
		*off_r = z->utoff[0];
		*until_r = z->ntrans == 0 ? INT64_MAX : z->at[0];
		return;
	}
	lo = 0;				/* at[lo] <= t < at[hi] */
	hi = z->ntrans;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	*off_r = z->utoff[z->idx[lo]];
	*until_r = hi < z->ntrans ? z->at[hi] : INT64_MAX;
}

int32_t
schedule_zone_offset(const struct schedule_zone *z, int64_t t)
{
	int32_t off;
	int64_t until;

	zone_lookup(z, t, &off, &until);
	return off;
}

static void
zone_bounds(struct schedule_zone *z)
{
	size_t i;

	z->minoff = z->maxoff = z->utoff[0];
	for (i = 1; i < z->ntypes; i++) {
		if (z->utoff[i] < z->minoff)
			z->minoff = z->utoff[i];
		if (z->utoff[i] > z->maxoff)
			z->maxoff = z->utoff[i];
	}
	if (z->has_footer) {
		int32_t o[2] = { z->footer.std_off, z->footer.has_dst ?
		    z->footer.dst_off : z->footer.std_off };

		for (i = 0; i < 2; i++) {
			if (o[i] < z->minoff)
				z->minoff = o[i];
			if (o[i] > z->maxoff)
				z->maxoff = o[i];
		}
	}
}

void
schedule_zone_free(struct schedule_zone *z)
{
	if (z == NULL)
		return;
	free(z->name);
	free(z->at);
	free(z->idx);
	free(z->utoff);
	free(z);
}

const char *
schedule_zone_name(const struct schedule_zone *z)
{
	return z->name;
}

static struct schedule_zone *
zone_new(const char *name)
{
	struct schedule_zone *z = xcalloc(1, sizeof *z);

	z->name = xstrdup(name);
	return z;
}

/* A zone of one fixed offset, or of a POSIX TZ string's rules. */
static struct schedule_zone *
zone_fixed(const char *name, const struct posix_tz *tz)
{
	struct schedule_zone *z = zone_new(name);

	z->ntypes = 1;
	z->utoff = xcalloc(1, sizeof *z->utoff);
	if (tz != NULL) {
		z->utoff[0] = tz->std_off;
		z->footer = *tz;
		z->has_footer = 1;
	}
	zone_bounds(z);
	return z;
}

/*
 * Reads a regular file of at most TZIF_MAX bytes. 0 ok (caller frees
 * *buf_r), -1 with errno (EINVAL: not a regular file, EFBIG: too large).
 */
static int
read_small(const char *path, unsigned char **buf_r, size_t *len_r)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_size > TZIF_MAX) {
		errno = EFBIG;
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*buf_r = buf;
	*len_r = len;
	return 0;
fail:
	e = errno;
	free(buf);
	close(fd);
	errno = e;
	return -1;
}

/*
 * Opens the TZif file at path as zone `name`. label is how messages name
 * it ("time zone \"Europe/Stockholm\"", "TZ \"...\"").
 */
static int
zone_load(const char *path, const char *name, const char *label,
    struct schedule_zone **z_r, struct error *err)
{
	struct schedule_zone *z = NULL;
	unsigned char *buf = NULL;
	const char *why;
	size_t len;

	if (read_small(path, &buf, &len) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			error_set(err, EX_CONFIG, "%s: unknown time zone "
			    "(no %s)", label, path);
		else if (errno == EINVAL)
			error_set(err, EX_CONFIG, "%s: not a time zone "
			    "(%s is not a file)", label, path);
		else
			error_set(err, EX_CONFIG, "%s: %s: %s", label, path,
			    strerror(errno));
		return -1;
	}
	z = zone_new(name);
	if (tzif_parse(buf, len, z, &why) < 0) {
		error_set(err, EX_CONFIG, "%s: %s: %s", label, path, why);
		free(buf);
		schedule_zone_free(z);
		return -1;
	}
	free(buf);
	zone_bounds(z);
	*z_r = z;
	return 0;
}

/*
 * An IANA name: relative, of letters, digits and "/_+-.", no empty, "."
 * or ".." component, so it cannot leave the zoneinfo directory by itself.
 */
static int
valid_zone_name(const char *name)
{
	const char *p, *comp = name;
	size_t n = strlen(name);

	if (n == 0 || n > 255)
		return 0;
	for (p = name;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == comp || (p - comp == 1 && comp[0] == '.') ||
			    (p - comp == 2 && comp[0] == '.' && comp[1] == '.'))
				return 0;
			if (*p == '\0')
				return 1;
			comp = p + 1;
		} else if (!((*p >= 'A' && *p <= 'Z') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '+' || *p == '-' || *p == '.'))
			return 0;
	}
}

static char *
zone_path(const char *name)
{
	const char *dir = getenv("TZDIR");

	if (dir == NULL || *dir == '\0')
		dir = ZONEINFO;
	return xasprintf("%s/%s", dir, name);
}

/* $TZ as libc reads it: a name, an absolute path or a POSIX TZ string. */
static int
zone_open_env(const char *tz, struct schedule_zone **z_r, struct error *err)
{
	const char *s = tz[0] == ':' ? tz + 1 : tz;
	char q[256], *label, *path = NULL;
	struct posix_tz rules;
	struct stat st;
	int rc = -1;

	label = xasprintf("TZ \"%s\"", quote(tz, q, sizeof q));
	if (*s == '\0') {		/* TZ="" is UTC to libc */
		*z_r = zone_fixed("", NULL);
		rc = 0;
	} else if (*s == '/')
		rc = zone_load(s, "", label, z_r, err);
	else if (valid_zone_name(s) &&
	    stat((path = zone_path(s)), &st) == 0)
		rc = zone_load(path, "", label, z_r, err);
	else if (posix_parse(s, &rules) == 0) {
		*z_r = zone_fixed("", &rules);
		rc = 0;
	} else
		error_set(err, EX_CONFIG, "%s: neither a time zone name nor "
		    "a POSIX TZ string with its daylight-saving rules", label);
	free(path);
	free(label);
	return rc;
}

int
schedule_zone_open(const char *name, struct schedule_zone **z_r,
    struct error *err)
{
	const char *tz;
	char q[256], *label, *path;
	struct stat st;
	int rc;

	*z_r = NULL;
	if (name == NULL || *name == '\0') {
		if ((tz = getenv("TZ")) != NULL)
			return zone_open_env(tz, z_r, err);
		if (stat(LOCALTIME, &st) < 0 && errno == ENOENT) {
			*z_r = zone_fixed("", NULL);
			return 0;
		}
		return zone_load(LOCALTIME, "", "the system's time zone",
		    z_r, err);
	}
	if (!valid_zone_name(name)) {
		error_set(err, EX_CONFIG, "time zone \"%s\": not a time zone "
		    "name (expected a name such as Europe/Stockholm)",
		    quote(name, q, sizeof q));
		return -1;
	}
	label = xasprintf("time zone \"%s\"", name);
	path = zone_path(name);
	rc = zone_load(path, name, label, z_r, err);
	free(path);
	free(label);
	return rc;
}

/* ---- the next run ---- */

/*
 * The first instant whose local time is at least the local seconds L.
 * Only instants in [L - maxoff, L - minoff] can have local time L; the
 * spans of constant offset in that window are walked in order, and in a
 * span with offset o the first candidate is L - o (or the span's start,
 * when the clock jumped past L there: a gap).
 */
static int64_t
resolve(const struct schedule_zone *z, int64_t L)
{
	int64_t u = L - z->maxoff, until, cand;
	int32_t off;

	for (;;) {
		zone_lookup(z, u, &off, &until);
		cand = L - off > u ? L - off : u;
		if (cand < until)
			return cand;
		u = until;
	}
}

/* 1 when the schedule runs on the local day `days`. */
static int
runs_on(const struct schedule *s, int64_t days)
{
	int64_t y;
	int m, d;

	switch (s->kind) {
	case SCHEDULE_WEEKLY:
		return weekday(days) == s->wday;
	case SCHEDULE_MONTHLY:
		civil_from_days(days, &y, &m, &d);
		return s->mday == SCHEDULE_LAST_DAY ? d == month_days(y, m) :
		    d == s->mday;
	default:
		return 1;
	}
}

int
schedule_next_in(const struct schedule *s, const struct schedule_zone *z,
    int64_t after, int64_t *next_r, struct error *err)
{
	int64_t day, first, r;

	if (!schedule_is_valid(s)) {
		error_set(err, EX_SOFTWARE, "schedule: invalid values");
		return -1;
	}
	if (s->kind == SCHEDULE_NONE) {
		*next_r = SCHEDULE_NEVER;
		return 0;
	}
	if (after < T_MIN || after > T_MAX) {
		error_set(err, EX_DATAERR, "schedule: time %lld is outside "
		    "the years 1 to 9999", (long long)after);
		return -1;
	}
	/*
	 * Runs on days before after's local day have local times below
	 * after's, so they resolve to instants <= after. From that day on,
	 * the first run that resolves past `after` is the answer: resolve
	 * is monotonic. A run in a repeated hour already passed by its first
	 * occurrence resolves <= after too, so it is not run twice.
	 */
	first = floor_div(after + schedule_zone_offset(z, after), DAY);
	/* 62 days hold two runs of any schedule; 400 is a wide margin. */
	for (day = first; day < first + 400; day++) {
		if (!runs_on(s, day))
			continue;
		r = resolve(z, day * DAY + s->hour * 3600 + s->min * 60);
		if (r > after) {
			*next_r = r;
			return 0;
		}
	}
	error_set(err, EX_SOFTWARE, "schedule: no run within 400 days of %lld",
	    (long long)after);
	return -1;
}

/* ---- one-off local times ---- */

/* n digits at p into *v; 0 ok, -1 when one is not a digit. */
static int
digits(const char *p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

int
schedule_local_parse(const char *text, const struct schedule_zone *z,
    int64_t *t_r, struct error *err)
{
	/* Positions of the fields in "YYYY-MM-DD HH:MM". */
	static const char shape[] = "DDDD-DD-DD DD:DD";
	int y, m, d, h, mi;
	char q[256];

	if (strlen(text) != sizeof shape - 1)
		goto bad;
	for (size_t i = 0; i < sizeof shape - 1; i++)
		if (shape[i] != 'D' && text[i] != shape[i])
			goto bad;
	if (digits(text, 4, &y) == -1 ||
	    digits(text + 5, 2, &m) == -1 || digits(text + 8, 2, &d) == -1 ||
	    digits(text + 11, 2, &h) == -1 || digits(text + 14, 2, &mi) == -1)
		goto bad;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m)) {
		error_set(err, EX_DATAERR, "time \"%s\": no such date",
		    quote(text, q, sizeof q));
		return -1;
	}
	if (h > 23 || mi > 59) {
		error_set(err, EX_DATAERR, "time \"%s\": the time of day must "
		    "be 00:00 to 23:59", quote(text, q, sizeof q));
		return -1;
	}
	*t_r = resolve(z, days_from_civil(y, m, d) * DAY + h * 3600 +
	    mi * 60);
	return 0;
bad:
	error_set(err, EX_DATAERR, "time \"%s\": expected YYYY-MM-DD HH:MM",
	    quote(text, q, sizeof q));
	return -1;
}

const char *
schedule_local_format(const struct schedule_zone *z, int64_t t, char *buf,
    size_t len)
{
	int32_t off;
	int64_t local, days, secs, y;
	int m, d, aoff;

	if (t < T_MIN || t > T_MAX) {
		snprintf(buf, len, "?");
		return buf;
	}
	off = schedule_zone_offset(z, t);
	local = t + off;
	days = floor_div(local, DAY);
	secs = local - days * DAY;
	civil_from_days(days, &y, &m, &d);
	aoff = off < 0 ? -off : off;
	snprintf(buf, len, "%04lld-%02d-%02d %02d:%02d %c%02d%02d",
	    (long long)y, m, d, (int)(secs / 3600), (int)(secs / 60 % 60),
	    off < 0 ? '-' : '+', aoff / 3600, aoff / 60 % 60);
	return buf;
}

int
schedule_next(const struct schedule *s, const char *tz, int64_t after,
    int64_t *next_r, struct error *err)
{
	struct schedule_zone *z = NULL;
	int rc;

	if (schedule_zone_open(tz, &z, err) < 0)
		return -1;
	rc = schedule_next_in(s, z, after, next_r, err);
	schedule_zone_free(z);
	return rc;
}

int64_t
schedule_feed_due(int64_t last_fetch, int64_t failures, int64_t feed_id,
    int64_t interval)
{
	uint64_t spread = (uint64_t)(interval / 10 > 0 ? interval / 10 : 1);
	int64_t shift = failures < SCHEDULE_FEED_BACKOFF ? (failures > 0 ?
	    failures : 0) : SCHEDULE_FEED_BACKOFF;

	if (last_fetch == 0)
		return 0;
	return last_fetch + (interval << shift) +
	    (int64_t)(((uint64_t)feed_id * 2654435761u) % spread);
}
