/*
 * Unit tests for schedule: spec parsing and formatting, the next run
 * around both daylight-saving switches in Europe/Stockholm (2026, 2027
 * and 2040, the last from the TZif footer's rules), month ends, leap days,
 * long chains of runs, other zones, bad zones and damaged TZif files.
 *
 * The C library is the independent oracle: with TZ set in this process
 * (single-threaded; Check forks each test), localtime_r's tm_gmtoff is
 * compared with schedule_zone_offset over sweeps of instants, and daily
 * runs are compared with a minute-by-minute scan of localtime_r.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "schedule.h"
#include "tbtest.h"
#include "util.h"

#define DAY 86400

/*
 * ck_assert records every passing check through a write(2) to the parent
 * process; the sweeps below make millions of checks, so they test first
 * and call Check only on failure.
 */
#define CHECK(cond, ...) do {						\
	if (!(cond))							\
		ck_abort_msg(__VA_ARGS__);				\
} while (0)
#define CHECK1(cond) CHECK(cond, "%s", #cond)
#define CHECK_EQ(a, b) CHECK((a) == (b), "%s == %s: %lld != %lld", #a, #b, \
	(long long)(a), (long long)(b))

/* "YYYY-MM-DDTHH:MM[:SS]Z" as Unix seconds (timegm). */
static int64_t
utc(const char *iso)
{
	struct tm tm;
	int s = 0, n;

	memset(&tm, 0, sizeof tm);
	n = sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &s);
	CHECK(n >= 5, "bad test time %s", iso);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

/* t in UTC as "YYYY-MM-DDTHH:MM:SSZ", into a rotating static buffer. */
static const char *
iso(int64_t t)
{
	static char b[4][UTIL_ISO_LEN];
	static int i;

	i = (i + 1) % 4;
	if (t == SCHEDULE_NEVER)
		return "never";
	return util_iso_time(t, b[i]);
}

static struct schedule_zone *
zone(const char *name)
{
	struct schedule_zone *z = NULL;
	struct error err = { 0, "" };

	CHECK(schedule_zone_open(name, &z, &err) == 0, "%s: %s",
	    name, err.msg);
	return z;
}

static struct schedule
spec(const char *text)
{
	struct schedule s;
	struct error err = { 0, "" };

	CHECK(schedule_parse(text, &s, &err) == 0, "%s", err.msg);
	return s;
}

static int64_t
next_in(const struct schedule *s, const struct schedule_zone *z, int64_t t)
{
	struct error err = { 0, "" };
	int64_t r = 0;

	CHECK(schedule_next_in(s, z, t, &r, &err) == 0, "%s",
	    err.msg);
	return r;
}

/* Local wall time of t in z, broken down. */
static void
local(const struct schedule_zone *z, int64_t t, struct tm *tm)
{
	time_t l = (time_t)(t + schedule_zone_offset(z, t));

	gmtime_r(&l, tm);
}

/* Local days since the epoch of t in z. */
static int64_t
local_day(const struct schedule_zone *z, int64_t t)
{
	int64_t l = t + schedule_zone_offset(z, t);

	return l >= 0 ? l / DAY : -((-l + DAY - 1) / DAY);
}

/* Points this process's libc at zone tz (the oracle). */
static void
oracle_zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static long
oracle_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	CHECK1(localtime_r(&tt, &tm) != NULL);
	return tm.tm_gmtoff;
}

/* ---- parse and format ---- */

struct parse_case {
	const char	*spec;
	const char	*canon;		/* NULL: refused */
};

static const struct parse_case parse_cases[] = {
	{ "daily 07:00", "daily 07:00" },
	{ "daily 00:00", "daily 00:00" },
	{ "daily 23:59", "daily 23:59" },
	{ "  Daily \t 07:05  ", "daily 07:05" },
	{ "DAILY 12:30", "daily 12:30" },
	{ "weekly monday 07:00", "weekly monday 07:00" },
	{ "weekly Mon 07:00", "weekly monday 07:00" },
	{ "weekly m\xc3\xa5ndag 07:00", "weekly monday 07:00" },
	{ "weekly M\xc3\x85NDAG 07:00", "weekly monday 07:00" },
	{ "weekly M\xc3\x85N 07:00", "weekly monday 07:00" },
	{ "weekly tuesday 01:00", "weekly tuesday 01:00" },
	{ "weekly TUE 01:00", "weekly tuesday 01:00" },
	{ "weekly Tisdag 01:00", "weekly tuesday 01:00" },
	{ "weekly tis 01:00", "weekly tuesday 01:00" },
	{ "weekly wednesday 23:59", "weekly wednesday 23:59" },
	{ "weekly wed 23:59", "weekly wednesday 23:59" },
	{ "weekly onsdag 23:59", "weekly wednesday 23:59" },
	{ "weekly ONS 23:59", "weekly wednesday 23:59" },
	{ "weekly thursday 06:00", "weekly thursday 06:00" },
	{ "weekly thu 06:00", "weekly thursday 06:00" },
	{ "weekly torsdag 06:00", "weekly thursday 06:00" },
	{ "weekly tor 06:00", "weekly thursday 06:00" },
	{ "weekly friday 16:45", "weekly friday 16:45" },
	{ "weekly fri 16:45", "weekly friday 16:45" },
	{ "weekly fredag 16:45", "weekly friday 16:45" },
	{ "weekly fre 16:45", "weekly friday 16:45" },
	{ "weekly saturday 10:00", "weekly saturday 10:00" },
	{ "weekly sat 10:00", "weekly saturday 10:00" },
	{ "weekly l\xc3\xb6rdag 10:00", "weekly saturday 10:00" },
	{ "weekly L\xc3\x96R 10:00", "weekly saturday 10:00" },
	{ "weekly sunday 18:30", "weekly sunday 18:30" },
	{ "weekly SUN 18:30", "weekly sunday 18:30" },
	{ "weekly S\xc3\x96NDAG 18:30", "weekly sunday 18:30" },
	{ "weekly s\xc3\xb6n 18:30", "weekly sunday 18:30" },
	{ "monthly 1 07:00", "monthly 1 07:00" },
	{ "monthly 01 07:00", "monthly 1 07:00" },
	{ "monthly 15 07:00", "monthly 15 07:00" },
	{ "monthly 28 07:00", "monthly 28 07:00" },
	{ "monthly last 07:00", "monthly last 07:00" },
	{ "Monthly LAST 07:00", "monthly last 07:00" },
	{ "none", "none" },
	{ " NONE\t", "none" },
	/* refused */
	{ "", NULL },
	{ "   ", NULL },
	{ "daily", NULL },
	{ "daily 7:00", NULL },
	{ "daily 07:0", NULL },
	{ "daily 070:00", NULL },
	{ "daily 24:00", NULL },
	{ "daily 23:60", NULL },
	{ "daily 99:99", NULL },
	{ "daily 07-00", NULL },
	{ "daily 0700", NULL },
	{ "daily +7:00", NULL },
	{ "daily 07:00:00", NULL },
	{ "daily 07:00 07:00", NULL },
	{ "daily 07:00\n", NULL },
	{ "daily\n07:00", NULL },
	{ "daily07:00", NULL },
	{ "daily \xef\xbc\x90\xef\xbc\x97:00", NULL },
	{ "weekly 07:00", NULL },
	{ "weekly monday", NULL },
	{ "weekly funday 07:00", NULL },
	{ "weekly mo 07:00", NULL },
	{ "weekly mond 07:00", NULL },
	{ "weekly m\xc3\xa5nd 07:00", NULL },
	{ "weekly m\xe5n 07:00", NULL },
	{ "weekly 1 07:00", NULL },
	{ "weekly monday tuesday 07:00", NULL },
	{ "monthly 0 07:00", NULL },
	{ "monthly 00 07:00", NULL },
	{ "monthly 29 07:00", NULL },
	{ "monthly 31 07:00", NULL },
	{ "monthly 100 07:00", NULL },
	{ "monthly -1 07:00", NULL },
	{ "monthly +1 07:00", NULL },
	{ "monthly 1x 07:00", NULL },
	{ "monthly first 07:00", NULL },
	{ "monthly 1", NULL },
	{ "monthly last", NULL },
	{ "monthly 07:00", NULL },
	{ "hourly 07:00", NULL },
	{ "yearly 1 07:00", NULL },
	{ "none 07:00", NULL },
	{ "never", NULL },
	{ "nonesuch", NULL },
	{ "daily 07:00 and then some more words", NULL },
	{ "weekly averyveryverylongdayname 07:00", NULL },
};

START_TEST(test_parse_table)
{
	const struct parse_case *c = &parse_cases[_i];
	struct schedule s;
	struct error err = { 0, "" };
	char buf[SCHEDULE_SPEC_MAX];
	int rc = schedule_parse(c->spec, &s, &err);

	if (c->canon == NULL) {
		CHECK(rc == -1, "\"%s\" accepted", c->spec);
		CHECK_EQ(err.code, EX_DATAERR);
		CHECK(strncmp(err.msg, "schedule \"", 10) == 0, "%s",
		    err.msg);
		CHECK(strchr(err.msg, '\n') == NULL, "%s", err.msg);
		return;
	}
	CHECK(rc == 0, "\"%s\": %s", c->spec, err.msg);
	CHECK1(schedule_is_valid(&s));
	CHECK_EQ(schedule_format(&s, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, c->canon);
}
END_TEST

START_TEST(test_parse_messages)
{
	struct schedule s;
	struct error err = { 0, "" };

	CHECK_EQ(schedule_parse("monthly 31 07:00", &s, &err), -1);
	ck_assert_str_eq(err.msg, "schedule \"monthly 31 07:00\": the day "
	    "of the month must be 1 to 28 or last");
	CHECK_EQ(schedule_parse("weekly funday 07:00", &s, &err), -1);
	CHECK(strstr(err.msg, "\"weekly funday 07:00\": DAY must be")
	    != NULL, "%s", err.msg);
	CHECK_EQ(schedule_parse("daily 24:00", &s, &err), -1);
	ck_assert_str_eq(err.msg, "schedule \"daily 24:00\": the time must "
	    "be HH:MM, 00:00 to 23:59");
	CHECK_EQ(schedule_parse("hourly", &s, &err), -1);
	ck_assert_str_eq(err.msg, "schedule \"hourly\": expected daily HH:MM, "
	    "weekly DAY HH:MM, monthly N HH:MM, monthly last HH:MM or none");
	/* control characters and bad UTF-8 are shown escaped, on one line */
	CHECK_EQ(schedule_parse("daily\n07:00\"", &s, &err), -1);
	CHECK(strstr(err.msg, "\"daily\\x0a07:00\\x22\"") != NULL, "%s",
	    err.msg);
	CHECK_EQ(schedule_parse("weekly m\xe5n 07:00", &s, &err), -1);
	CHECK(strstr(err.msg, "m\\xe5n") != NULL, "%s", err.msg);
	/* a long spec is cut */
	CHECK_EQ(schedule_parse("daily 07:00 xxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxx", &s, &err), -1);
	CHECK(strstr(err.msg, "...\"") != NULL && strlen(err.msg) < 200,
	    "%s", err.msg);
}
END_TEST

/* The schedule number i of the 1 + 1440 * (1 + 7 + 29) there are. */
static struct schedule
nth_schedule(int i)
{
	struct schedule s = { SCHEDULE_NONE, 0, 0, 0, 0 };

	if (i-- == 0)
		return s;
	s.hour = i % 1440 / 60;
	s.min = i % 60;
	i /= 1440;
	if (i == 0)
		s.kind = SCHEDULE_DAILY;
	else if (i <= 7) {
		s.kind = SCHEDULE_WEEKLY;
		s.wday = i - 1;
	} else {
		s.kind = SCHEDULE_MONTHLY;
		s.mday = i - 8;		/* 0 is SCHEDULE_LAST_DAY */
	}
	return s;
}

/* Every schedule formats, parses back to itself, and fits the buffer. */
START_TEST(test_format_round_trip)
{
	struct schedule s, back;
	struct error err = { 0, "" };
	char buf[SCHEDULE_SPEC_MAX];
	int i, n = 1 + 1440 * (1 + 7 + 29);

	for (i = 0; i < n; i++) {
		s = nth_schedule(i);
		CHECK1(schedule_is_valid(&s));
		CHECK1(schedule_format(&s, buf, sizeof buf) == 0);
		CHECK(schedule_parse(buf, &back, &err) == 0, "%s", err.msg);
		CHECK(memcmp(&s, &back, sizeof s) == 0, "%s", buf);
	}
	s = nth_schedule(n - 1);
	CHECK1(s.kind == SCHEDULE_MONTHLY && s.mday == 28 && s.hour == 23 &&
	    s.min == 59);
}
END_TEST

START_TEST(test_format_refuses)
{
	struct schedule s = { SCHEDULE_WEEKLY, 3, 0, 23, 59 };
	char buf[SCHEDULE_SPEC_MAX];

	CHECK_EQ(schedule_format(&s, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "weekly wednesday 23:59");
	CHECK_EQ(schedule_format(&s, buf, strlen(buf)), -1);
	ck_assert_str_eq(buf, "");
	CHECK_EQ(schedule_format(&s, buf, 0), -1);
	s.wday = 7;
	CHECK_EQ(schedule_format(&s, buf, sizeof buf), -1);
	s.wday = 3, s.hour = 24;
	CHECK_EQ(schedule_format(&s, buf, sizeof buf), -1);
	s.hour = 0, s.min = -1;
	CHECK_EQ(schedule_format(&s, buf, sizeof buf), -1);
	s.kind = SCHEDULE_MONTHLY, s.min = 0, s.mday = 29;
	CHECK_EQ(schedule_format(&s, buf, sizeof buf), -1);
	s.kind = (enum schedule_kind)9;
	CHECK_EQ(schedule_format(&s, buf, sizeof buf), -1);
	CHECK1(!schedule_is_valid(&s));
}
END_TEST

/* ---- next runs, by hand ---- */

struct next_case {
	const char	*tz;
	const char	*spec;
	const char	*after;		/* UTC */
	const char	*next;		/* UTC */
};

static const struct next_case next_cases[] = {
	/* Stockholm, 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00Z) */
	{ "Europe/Stockholm", "daily 02:30", "2026-03-27T12:00Z",
	    "2026-03-28T01:30Z" },
	{ "Europe/Stockholm", "daily 02:30", "2026-03-28T12:00Z",
	    "2026-03-29T01:00Z" },
	{ "Europe/Stockholm", "daily 02:00", "2026-03-28T12:00Z",
	    "2026-03-29T01:00Z" },
	{ "Europe/Stockholm", "daily 02:59", "2026-03-28T12:00Z",
	    "2026-03-29T01:00Z" },
	{ "Europe/Stockholm", "daily 03:00", "2026-03-28T12:00Z",
	    "2026-03-29T01:00Z" },
	{ "Europe/Stockholm", "daily 03:01", "2026-03-28T12:00Z",
	    "2026-03-29T01:01Z" },
	{ "Europe/Stockholm", "daily 01:59", "2026-03-28T12:00Z",
	    "2026-03-29T00:59Z" },
	{ "Europe/Stockholm", "daily 07:00", "2026-03-28T12:00Z",
	    "2026-03-29T05:00Z" },
	{ "Europe/Stockholm", "daily 02:30", "2026-03-29T00:59:59Z",
	    "2026-03-29T01:00Z" },
	{ "Europe/Stockholm", "daily 02:30", "2026-03-29T01:00Z",
	    "2026-03-30T00:30Z" },
	{ "Europe/Stockholm", "daily 03:00", "2026-03-29T01:00Z",
	    "2026-03-30T01:00Z" },
	/* Stockholm, 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00Z) */
	{ "Europe/Stockholm", "daily 02:30", "2026-10-24T12:00Z",
	    "2026-10-25T00:30Z" },
	{ "Europe/Stockholm", "daily 02:30", "2026-10-25T00:29:59Z",
	    "2026-10-25T00:30Z" },
	{ "Europe/Stockholm", "daily 02:30", "2026-10-25T00:30Z",
	    "2026-10-26T01:30Z" },
	{ "Europe/Stockholm", "daily 02:30", "2026-10-25T01:10Z",
	    "2026-10-26T01:30Z" },
	{ "Europe/Stockholm", "daily 02:30", "2026-10-25T01:30Z",
	    "2026-10-26T01:30Z" },
	{ "Europe/Stockholm", "daily 02:00", "2026-10-24T12:00Z",
	    "2026-10-25T00:00Z" },
	{ "Europe/Stockholm", "daily 02:00", "2026-10-25T00:00Z",
	    "2026-10-26T01:00Z" },
	{ "Europe/Stockholm", "daily 02:59", "2026-10-25T00:59Z",
	    "2026-10-26T01:59Z" },
	{ "Europe/Stockholm", "daily 03:00", "2026-10-24T12:00Z",
	    "2026-10-25T02:00Z" },
	{ "Europe/Stockholm", "daily 01:59", "2026-10-24T12:00Z",
	    "2026-10-24T23:59Z" },
	{ "Europe/Stockholm", "daily 07:00", "2026-10-24T12:00Z",
	    "2026-10-25T06:00Z" },
	/* 2027: March 28 and October 31 */
	{ "Europe/Stockholm", "daily 02:30", "2027-03-27T12:00Z",
	    "2027-03-28T01:00Z" },
	{ "Europe/Stockholm", "daily 02:00", "2027-03-27T12:00Z",
	    "2027-03-28T01:00Z" },
	{ "Europe/Stockholm", "daily 03:00", "2027-03-28T01:00Z",
	    "2027-03-29T01:00Z" },
	{ "Europe/Stockholm", "daily 02:30", "2027-10-30T12:00Z",
	    "2027-10-31T00:30Z" },
	{ "Europe/Stockholm", "daily 02:30", "2027-10-31T00:30Z",
	    "2027-11-01T01:30Z" },
	/* 2040 is past the file's table: the footer's rules */
	{ "Europe/Stockholm", "daily 02:30", "2040-03-24T12:00Z",
	    "2040-03-25T01:00Z" },
	{ "Europe/Stockholm", "daily 02:30", "2040-10-27T12:00Z",
	    "2040-10-28T00:30Z" },
	{ "Europe/Stockholm", "daily 02:30", "2040-10-28T00:30Z",
	    "2040-10-29T01:30Z" },
	/* weekly across the switches (both are Sundays) */
	{ "Europe/Stockholm", "weekly sunday 02:30", "2026-03-22T12:00Z",
	    "2026-03-29T01:00Z" },
	{ "Europe/Stockholm", "weekly s\xc3\xb6n 02:30", "2026-03-29T01:00Z",
	    "2026-04-05T00:30Z" },
	{ "Europe/Stockholm", "weekly sunday 02:30", "2026-10-18T12:00Z",
	    "2026-10-25T00:30Z" },
	{ "Europe/Stockholm", "weekly sunday 02:30", "2026-10-25T00:30Z",
	    "2026-11-01T01:30Z" },
	{ "Europe/Stockholm", "weekly monday 07:00", "2026-03-23T06:00Z",
	    "2026-03-30T05:00Z" },
	{ "Europe/Stockholm", "weekly monday 07:00", "2026-03-23T05:59Z",
	    "2026-03-23T06:00Z" },
	{ "Europe/Stockholm", "weekly fri 23:30", "2026-12-30T00:00Z",
	    "2027-01-01T22:30Z" },
	/* monthly: month ends, February, leap day, year wrap */
	{ "Europe/Stockholm", "monthly 28 07:00", "2027-01-31T12:00Z",
	    "2027-02-28T06:00Z" },
	{ "Europe/Stockholm", "monthly last 07:00", "2027-02-01T00:00Z",
	    "2027-02-28T06:00Z" },
	{ "Europe/Stockholm", "monthly last 07:00", "2027-02-28T06:00Z",
	    "2027-03-31T05:00Z" },
	{ "Europe/Stockholm", "monthly last 07:00", "2028-02-01T00:00Z",
	    "2028-02-29T06:00Z" },
	{ "Europe/Stockholm", "monthly 28 07:00", "2028-02-01T00:00Z",
	    "2028-02-28T06:00Z" },
	{ "Europe/Stockholm", "monthly last 07:00", "2028-02-29T06:00Z",
	    "2028-03-31T05:00Z" },
	{ "Europe/Stockholm", "monthly last 07:00", "2026-04-01T00:00Z",
	    "2026-04-30T05:00Z" },
	{ "Europe/Stockholm", "monthly last 23:30", "2026-12-31T22:30Z",
	    "2027-01-31T22:30Z" },
	{ "Europe/Stockholm", "monthly last 23:30", "2026-12-31T22:29Z",
	    "2026-12-31T22:30Z" },
	{ "Europe/Stockholm", "monthly 1 00:00", "2026-12-15T00:00Z",
	    "2026-12-31T23:00Z" },
	{ "Europe/Stockholm", "monthly 1 00:00", "2026-12-31T23:00Z",
	    "2027-01-31T23:00Z" },
	{ "Europe/Stockholm", "monthly 1 07:00", "2026-01-01T06:00Z",
	    "2026-02-01T06:00Z" },
	/* 2024-03-31, a month's last day, was the spring switch */
	{ "Europe/Stockholm", "monthly last 02:30", "2024-03-15T00:00Z",
	    "2024-03-31T01:00Z" },
	/* 2027-10-31, a month's last day, is the autumn switch */
	{ "Europe/Stockholm", "monthly last 02:30", "2027-10-15T00:00Z",
	    "2027-10-31T00:30Z" },
	{ "Europe/Stockholm", "monthly last 02:30", "2027-10-31T00:30Z",
	    "2027-11-30T01:30Z" },
	/* New York 2026: March 8 (07:00Z), November 1 (06:00Z) */
	{ "America/New_York", "daily 02:30", "2026-03-07T12:00Z",
	    "2026-03-08T07:00Z" },
	{ "America/New_York", "daily 02:30", "2026-03-08T07:00Z",
	    "2026-03-09T06:30Z" },
	{ "America/New_York", "daily 01:30", "2026-10-31T12:00Z",
	    "2026-11-01T05:30Z" },
	{ "America/New_York", "daily 01:30", "2026-11-01T05:30Z",
	    "2026-11-02T06:30Z" },
	{ "America/New_York", "monthly last 20:00", "2026-12-01T00:00Z",
	    "2026-12-01T01:00Z" },
	{ "America/New_York", "monthly last 20:00", "2026-12-01T01:00Z",
	    "2027-01-01T01:00Z" },
	/* UTC and India (+05:30, no daylight saving) */
	{ "UTC", "daily 07:00", "2026-03-29T06:59:59Z", "2026-03-29T07:00Z" },
	{ "UTC", "daily 07:00", "2026-03-29T07:00Z", "2026-03-30T07:00Z" },
	{ "Etc/UTC", "monthly last 00:00", "2028-02-28T00:00Z",
	    "2028-02-29T00:00Z" },
	{ "Asia/Kolkata", "daily 07:00", "2026-03-29T00:00Z",
	    "2026-03-29T01:30Z" },
	{ "Asia/Kolkata", "daily 00:15", "2026-12-31T18:45Z",
	    "2027-01-01T18:45Z" },
	{ "Asia/Kolkata", "monthly 1 00:15", "2026-12-31T18:44Z",
	    "2026-12-31T18:45Z" },
	/* Lord Howe: +10:30, and +11:00 in summer (30 minutes of DST);
	 * 2026-04-05 02:00 becomes 01:30 (15:00Z), 2026-10-04 02:00 becomes
	 * 02:30 (15:30Z) */
	{ "Australia/Lord_Howe", "daily 01:45", "2026-04-04T00:00Z",
	    "2026-04-04T14:45Z" },
	{ "Australia/Lord_Howe", "daily 01:45", "2026-04-04T14:45Z",
	    "2026-04-05T15:15Z" },
	{ "Australia/Lord_Howe", "daily 02:15", "2026-10-03T00:00Z",
	    "2026-10-03T15:30Z" },
	{ "Australia/Lord_Howe", "daily 02:15", "2026-10-03T15:30Z",
	    "2026-10-04T15:15Z" },
	/* Samoa skipped 2011-12-30: its run is at the start of Dec 31 */
	{ "Pacific/Apia", "daily 12:00", "2011-12-29T12:00Z",
	    "2011-12-29T22:00Z" },
	{ "Pacific/Apia", "daily 12:00", "2011-12-29T22:00Z",
	    "2011-12-30T10:00Z" },
	{ "Pacific/Apia", "daily 12:00", "2011-12-30T10:00Z",
	    "2011-12-30T22:00Z" },
};

START_TEST(test_next_table)
{
	const struct next_case *c = &next_cases[_i];
	struct schedule s = spec(c->spec);
	int64_t r = 0, want = utc(c->next);
	struct error err = { 0, "" };

	CHECK(schedule_next(&s, c->tz, utc(c->after), &r, &err) == 0,
	    "%s", err.msg);
	CHECK(r == want, "%s \"%s\" after %s: %s, want %s", c->tz,
	    c->spec, c->after, iso(r), iso(want));
}
END_TEST

START_TEST(test_next_none_and_range)
{
	struct schedule s = spec("none"), d = spec("daily 07:00");
	struct schedule_zone *z = zone("Europe/Stockholm");
	struct error err = { 0, "" };
	int64_t r = 0;

	CHECK_EQ(schedule_next_in(&s, z, 0, &r, &err), 0);
	CHECK1(r == SCHEDULE_NEVER);
	CHECK_EQ(schedule_next_in(&d, z, utc("9999-12-31T23:59:59Z"),
	    &r, &err), 0);
	/* 10000-01-01 07:00 CET */
	CHECK1(r == utc("9999-12-31T23:59:59Z") + 1 + 6 * 3600);
	CHECK_EQ(schedule_next_in(&d, z, utc("9999-12-31T23:59:59Z") +
	    1, &r, &err), -1);
	CHECK_EQ(err.code, EX_DATAERR);
	CHECK_EQ(schedule_next_in(&d, z, INT64_MIN, &r, &err), -1);
	/* before the first transition: the first type, local mean time */
	CHECK_EQ(schedule_next_in(&d, z, utc("1850-01-01T00:00Z"), &r,
	    &err), 0);
	ck_assert_str_eq(iso(r), "1850-01-01T05:47:48Z");
	d.min = 60;
	CHECK_EQ(schedule_next_in(&d, z, 0, &r, &err), -1);
	CHECK_EQ(err.code, EX_SOFTWARE);
	schedule_zone_free(z);
}
END_TEST

/* ---- chains of runs ---- */

/*
 * 400 consecutive runs of spec from `from`: strictly increasing, on the
 * expected local dates (each the period after the last), at the wall
 * time, or at the end of a gap when the time falls in one.
 */
static void
chain(const char *tz, const char *text, const char *from, int per_year[3])
{
	struct schedule s = spec(text);
	struct schedule_zone *z = zone(tz);
	int64_t t = utc(from), prev = t, day, prevday = 0;
	struct tm tm, ptm;
	int i, base = 0;

	for (i = 0; i < 400; i++) {
		t = next_in(&s, z, t);
		CHECK(t > prev, "%s %s: not increasing at %s",
		    tz, text, iso(t));
		local(z, t, &tm);
		day = local_day(z, t);
		if (i == 0)
			base = tm.tm_year;
		else if (s.kind == SCHEDULE_DAILY)
			CHECK(day == prevday + 1, "%s %s: %s after %s",
			    tz, text, iso(t), iso(prev));
		else if (s.kind == SCHEDULE_WEEKLY)
			CHECK(day == prevday + 7, "%s %s: %s after %s",
			    tz, text, iso(t), iso(prev));
		else
			CHECK((tm.tm_year * 12 + tm.tm_mon) ==
			    (ptm.tm_year * 12 + ptm.tm_mon) + 1,
			    "%s %s: %s after %s", tz, text, iso(t), iso(prev));
		if (s.kind == SCHEDULE_WEEKLY)
			CHECK_EQ(tm.tm_wday, s.wday);
		if (s.kind == SCHEDULE_MONTHLY && s.mday != SCHEDULE_LAST_DAY)
			CHECK_EQ(tm.tm_mday, s.mday);
		if (s.kind == SCHEDULE_MONTHLY && s.mday == SCHEDULE_LAST_DAY) {
			struct tm nt;

			local(z, t + DAY, &nt);
			CHECK(nt.tm_mday == 1 || nt.tm_mday == 2,
			    "%s: not a month's last day", iso(t));
			CHECK1(tm.tm_mday >= 28);
		}
		if (tm.tm_hour != s.hour || tm.tm_min != s.min) {
			/* only at the end of a gap: a minute earlier, the
			 * local time was before the wall time */
			struct tm bt;

			local(z, t - 1, &bt);
			CHECK(tm.tm_hour * 60 + tm.tm_min >
			    s.hour * 60 + s.min &&
			    bt.tm_hour * 60 + bt.tm_min <
			    s.hour * 60 + s.min,
			    "%s %s: run at %s is not the end of a gap", tz,
			    text, iso(t));
		}
		if (per_year != NULL && tm.tm_year - base < 3)
			per_year[tm.tm_year - base]++;
		prev = t;
		prevday = day;
		ptm = tm;
	}
	schedule_zone_free(z);
}

START_TEST(test_chain_daily)
{
	int years[3] = { 0, 0, 0 };

	/* 2027-01-01 .. : 365 runs in 2027, 35 in 2028 */
	chain("Europe/Stockholm", "daily 02:30", "2026-12-31T12:00Z", years);
	CHECK_EQ(years[0], 365);
	CHECK_EQ(years[1], 35);
	memset(years, 0, sizeof years);
	chain("Europe/Stockholm", "daily 02:00", "2027-12-31T12:00Z", years);
	CHECK_EQ(years[0], 366);		/* 2028, a leap year */
	chain("Europe/Stockholm", "daily 02:59", "2026-01-01T00:00Z", NULL);
	chain("Europe/Stockholm", "daily 03:00", "2026-01-01T00:00Z", NULL);
	chain("Europe/Stockholm", "daily 00:00", "2039-06-01T00:00Z", NULL);
	chain("Europe/Stockholm", "daily 02:30", "2039-06-01T00:00Z", NULL);
	chain("America/New_York", "daily 02:30", "2026-01-01T00:00Z", NULL);
	chain("America/New_York", "daily 01:30", "2026-01-01T00:00Z", NULL);
	chain("Australia/Lord_Howe", "daily 02:15", "2026-01-01T00:00Z", NULL);
	chain("Australia/Lord_Howe", "daily 01:45", "2026-01-01T00:00Z", NULL);
	chain("Asia/Kolkata", "daily 23:59", "2026-01-01T00:00Z", NULL);
	chain("UTC", "daily 00:00", "2026-01-01T00:00Z", NULL);
}
END_TEST

START_TEST(test_chain_weekly)
{
	int years[3] = { 0, 0, 0 };

	/* from 2026-01-04, a Sunday: 52 Sundays in 2026, 52 in 2027 */
	chain("Europe/Stockholm", "weekly sunday 02:30", "2025-12-31T12:00Z",
	    years);
	CHECK_EQ(years[0], 52);
	CHECK_EQ(years[1], 52);
	chain("Europe/Stockholm", "weekly s\xc3\xb6ndag 02:00",
	    "2026-01-01T00:00Z", NULL);
	chain("Europe/Stockholm", "weekly monday 07:00", "2026-01-01T00:00Z",
	    NULL);
	chain("America/New_York", "weekly sunday 01:30", "2026-01-01T00:00Z",
	    NULL);
	chain("Australia/Lord_Howe", "weekly sun 02:00", "2026-01-01T00:00Z",
	    NULL);
}
END_TEST

START_TEST(test_chain_monthly)
{
	int years[3] = { 0, 0, 0 };

	chain("Europe/Stockholm", "monthly last 02:30", "2025-12-31T12:00Z",
	    years);
	CHECK_EQ(years[0], 12);
	CHECK_EQ(years[1], 12);
	CHECK_EQ(years[2], 12);
	chain("Europe/Stockholm", "monthly 28 02:30", "2026-01-01T00:00Z",
	    NULL);
	chain("Europe/Stockholm", "monthly 1 00:00", "2026-01-01T00:00Z",
	    NULL);
	chain("America/New_York", "monthly last 23:59", "2026-01-01T00:00Z",
	    NULL);
	chain("Asia/Kolkata", "monthly 15 12:00", "2026-01-01T00:00Z", NULL);
}
END_TEST

/* ---- libc as the oracle ---- */

static const char *const sweep_zones[] = {
	"Europe/Stockholm", "America/New_York", "UTC", "Asia/Kolkata",
	"Australia/Lord_Howe", "Pacific/Apia", "Europe/Dublin",
	"Africa/Casablanca", "America/St_Johns", "Antarctica/Troll",
	"Asia/Tehran", "America/Sao_Paulo", "Pacific/Chatham",
	"America/Godthab", "Europe/Moscow", "Pacific/Kiritimati",
};

/* The offset at instants from 1900 to 2100, about every 3 days. */
START_TEST(test_oracle_offsets)
{
	const char *name = sweep_zones[_i];
	struct schedule_zone *z = zone(name);
	int64_t t, end = utc("2100-01-01T00:00Z");
	long n = 0;

	oracle_zone(name);
	for (t = utc("1900-01-01T00:00Z"); t < end; t += 3 * DAY + 3607) {
		long want = oracle_offset(t);

		CHECK(schedule_zone_offset(z, t) == want,
		    "%s at %s: %d, libc %ld", name, iso(t),
		    schedule_zone_offset(z, t), want);
		n++;
	}
	CHECK1(n > 24000);
	schedule_zone_free(z);
}
END_TEST

/* Every 5 minutes through 2026 and 2040 (table and footer). */
START_TEST(test_oracle_dense)
{
	static const char *const years[] = { "2026", "2040" };
	const char *name = sweep_zones[_i];
	struct schedule_zone *z = zone(name);
	char from[32], to[32];
	int64_t t, end;
	int y;

	oracle_zone(name);
	for (y = 0; y < 2; y++) {
		snprintf(from, sizeof from, "%s-01-01T00:00Z", years[y]);
		snprintf(to, sizeof to, "%s-12-31T23:59Z", years[y]);
		for (t = utc(from), end = utc(to); t < end; t += 300)
			CHECK(schedule_zone_offset(z, t) ==
			    oracle_offset(t), "%s at %s: %d, libc %ld",
			    name, iso(t), schedule_zone_offset(z, t),
			    oracle_offset(t));
	}
	schedule_zone_free(z);
}
END_TEST

struct window {
	const char	*tz;
	const char	*from;		/* UTC; the window is 5 days */
};

static const struct window windows[] = {
	{ "Europe/Stockholm", "2026-03-27T00:00Z" },
	{ "Europe/Stockholm", "2026-10-23T00:00Z" },
	{ "Europe/Stockholm", "2027-03-26T00:00Z" },
	{ "Europe/Stockholm", "2027-10-29T00:00Z" },
	{ "Europe/Stockholm", "2040-03-23T00:00Z" },
	{ "Europe/Stockholm", "2040-10-26T00:00Z" },
	{ "America/New_York", "2026-03-06T00:00Z" },
	{ "America/New_York", "2026-10-30T00:00Z" },
	{ "Australia/Lord_Howe", "2026-04-03T00:00Z" },
	{ "Australia/Lord_Howe", "2026-10-02T00:00Z" },
	{ "Asia/Kolkata", "2026-03-27T00:00Z" },
	{ "Pacific/Apia", "2011-12-28T00:00Z" },
	{ "Europe/Dublin", "2026-10-23T00:00Z" },
};

#define WIN_MIN (5 * 1440)

/*
 * Daily runs at every minute of the day against a scan of libc's local
 * time, minute by minute over the window: the run for local day D at
 * H:M is the first minute whose local time is at least D H:M.
 */
START_TEST(test_oracle_daily)
{
	const struct window *w = &windows[_i];
	struct schedule_zone *z = zone(w->tz);
	int64_t t0 = utc(w->from), *key = xcalloc(WIN_MIN, sizeof *key);
	int64_t firstday, lastday, d, x, r, want;
	struct schedule s = { SCHEDULE_DAILY, 0, 0, 0, 0 };
	int i, tod, runs = 0;

	oracle_zone(w->tz);
	for (i = 0; i < WIN_MIN; i++) {		/* local minutes */
		time_t tt = (time_t)(t0 + i * 60);
		struct tm tm;

		CHECK1(localtime_r(&tt, &tm) != NULL);
		key[i] = (int64_t)timegm(&tm) / 60;
	}
	/* whole local days inside the window */
	firstday = key[0] / 1440 + 1;
	lastday = key[WIN_MIN - 1] / 1440 - 1;
	for (tod = 0; tod < 1440; tod++) {
		s.hour = tod / 60;
		s.min = tod % 60;
		x = t0;
		i = 0;
		for (d = firstday; d <= lastday; d++) {
			int64_t k = d * 1440 + tod;

			while (i < WIN_MIN && key[i] < k)
				i++;
			CHECK1(i < WIN_MIN);
			want = t0 + (int64_t)i * 60;
			if (want <= x)	/* a day that collapsed into another */
				continue;
			r = next_in(&s, z, x);
			/* runs of the window's first, partial day come
			 * before firstday's: step over them */
			while (r < want && d == firstday)
				r = next_in(&s, z, r);
			CHECK(r == want, "%s daily %02d:%02d after %s: "
			    "%s, libc scan %s", w->tz, s.hour, s.min, iso(x),
			    iso(r), iso(want));
			x = r;
			runs++;
		}
	}
	CHECK1(runs >= 1440 * 2);
	free(key);
	schedule_zone_free(z);
}
END_TEST

/* POSIX TZ strings in $TZ, against glibc reading the same strings. */
static const char *const posix_strings[] = {
	"CET-1CEST,M3.5.0,M10.5.0/3",
	"EST5EDT,M3.2.0,M11.1.0",
	"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
	"IST-1GMT0,M10.5.0,M3.5.0/1",
	"AEST-10AEDT,M10.1.0,M4.1.0/3",
	"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	"EST5EDT,J60/1:30,J300/1:30",
	"ABC-5:30",
	"UTC0",
	"<+0545>-5:45",
	"NZST-12NZDT,M9.5.0,M4.1.0/3",
	"WGT3WGST,M3.5.0/-2,M10.5.0/-1",
	"ABC+2DEF+1,100/12,200/12",
};

START_TEST(test_oracle_posix)
{
	const char *tz = posix_strings[_i];
	struct schedule_zone *z = NULL;
	struct error err = { 0, "" };
	int64_t t, end = utc("2031-01-01T00:00Z");

	oracle_zone(tz);
	CHECK(schedule_zone_open(NULL, &z, &err) == 0, "%s: %s", tz,
	    err.msg);
	ck_assert_str_eq(schedule_zone_name(z), "");
	for (t = utc("2019-12-25T00:00Z"); t < end; t += 1800 + 7)
		CHECK(schedule_zone_offset(z, t) == oracle_offset(t),
		    "%s at %s: %d, libc %ld", tz, iso(t),
		    schedule_zone_offset(z, t), oracle_offset(t));
	schedule_zone_free(z);
}
END_TEST

/* ---- zones by name, $TZ, damaged files ---- */

START_TEST(test_zone_names)
{
	static const char *const bad[] = {
		"Europe/Stokholm", "Nowhere", "../etc/passwd", "/etc/passwd",
		"Europe/../Europe/Stockholm", "Europe/./Stockholm",
		"./Europe/Stockholm", "Europe//Stockholm", "Europe/",
		"Europe", "zone.tab", "tzdata.zi", "CET-1CEST",
		"CET-1CEST,M3.5.0,M10.5.0/3", "Europe/Stockholm ",
		"Europe/Stockholm\n", "right/Europe/Stockholm", "..",
		"Europe/Stockholm/x",
	};
	struct schedule s = spec("daily 07:00");
	struct schedule_zone *z = NULL;
	struct error err = { 0, "" };
	int64_t r = 0;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err.code = 0;
		CHECK(schedule_zone_open(bad[i], &z, &err) == -1,
		    "%s accepted", bad[i]);
		CHECK1(z == NULL);
		CHECK_EQ(err.code, EX_CONFIG);
		CHECK(strchr(err.msg, '\n') == NULL, "%s", err.msg);
		CHECK(strncmp(err.msg, "time zone \"", 11) == 0, "%s",
		    err.msg);
		CHECK_EQ(schedule_next(&s, bad[i], 0, &r, &err), -1);
		CHECK_EQ(err.code, EX_CONFIG);
	}
	CHECK_EQ(schedule_zone_open("Europe/Stokholm", &z, &err), -1);
	ck_assert_str_eq(err.msg, "time zone \"Europe/Stokholm\": unknown time "
	    "zone (no /usr/share/zoneinfo/Europe/Stokholm)");
	CHECK_EQ(schedule_zone_open("right/UTC", &z, &err), -1);
	CHECK(strstr(err.msg, "leap seconds") != NULL, "%s", err.msg);
	CHECK_EQ(schedule_zone_open("zone.tab", &z, &err), -1);
	CHECK(strstr(err.msg, "not a TZif file") != NULL, "%s",
	    err.msg);
	/* names that are fine: aliases, posix/, single components */
	z = zone("posix/Europe/Stockholm");
	ck_assert_str_eq(schedule_zone_name(z), "posix/Europe/Stockholm");
	CHECK_EQ(schedule_zone_offset(z, utc("2026-07-01T00:00Z")),
	    7200);
	schedule_zone_free(z);
	z = zone("CET");
	CHECK_EQ(schedule_zone_offset(z, utc("2026-01-01T00:00Z")),
	    3600);
	schedule_zone_free(z);
	z = zone("Etc/GMT+5");
	CHECK_EQ(schedule_zone_offset(z, 0), -18000);
	schedule_zone_free(z);
	schedule_zone_free(NULL);
}
END_TEST

/* The system's zone: $TZ in its forms, then /etc/localtime. */
START_TEST(test_zone_system)
{
	static const struct {
		const char	*tz;
		int32_t		 winter, summer;	/* -1: refused */
	} cases[] = {
		{ "Europe/Stockholm", 3600, 7200 },
		{ ":Europe/Stockholm", 3600, 7200 },
		{ "/usr/share/zoneinfo/America/New_York", -18000, -14400 },
		{ ":/usr/share/zoneinfo/Asia/Kolkata", 19800, 19800 },
		{ "CET-1CEST,M3.5.0,M10.5.0/3", 3600, 7200 },
		{ "JST-9", 32400, 32400 },
		{ "", 0, 0 },
		{ ":", 0, 0 },
		{ "CET-1CEST", -1, -1 },
		{ "Nowhere/Land", -1, -1 },
		{ "/nonexistent/zone", -1, -1 },
		{ "/usr/share/zoneinfo", -1, -1 },
		{ "Europe/Stockholm,", -1, -1 },
	};
	struct schedule_zone *z;
	struct error err = { 0, "" };
	int64_t w = utc("2026-01-15T12:00Z"), su = utc("2026-07-15T12:00Z");
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		z = NULL;
		setenv("TZ", cases[i].tz, 1);
		if (cases[i].winter == -1) {
			CHECK(schedule_zone_open(NULL, &z, &err) == -1,
			    "TZ=%s accepted", cases[i].tz);
			CHECK_EQ(err.code, EX_CONFIG);
			CHECK(strncmp(err.msg, "TZ \"", 4) == 0, "%s",
			    err.msg);
			continue;
		}
		CHECK(schedule_zone_open(i % 2 ? NULL : "", &z, &err) ==
		    0, "TZ=%s: %s", cases[i].tz, err.msg);
		CHECK_EQ(schedule_zone_offset(z, w), cases[i].winter);
		CHECK_EQ(schedule_zone_offset(z, su), cases[i].summer);
		schedule_zone_free(z);
	}
	/* no TZ: /etc/localtime, as libc reads it */
	unsetenv("TZ");
	tzset();
	z = zone(NULL);
	CHECK_EQ(schedule_zone_offset(z, w), oracle_offset(w));
	CHECK_EQ(schedule_zone_offset(z, su), oracle_offset(su));
	schedule_zone_free(z);
}
END_TEST

static char *
zoneinfo_file(const char *name, size_t *len_r)
{
	char *path = xasprintf("/usr/share/zoneinfo/%s", name);
	char *data = tbtest_read(path, len_r);

	CHECK(data != NULL, "%s", path);
	free(path);
	return data;
}

/* Opens TZDIR/name; returns the code (0 when it opened). */
static int
open_crafted(const char *name, const void *data, size_t len,
    struct schedule_zone **z_r)
{
	char *path = tbtest_path(name);
	struct error err = { 0, "" };

	tbtest_write(path, data, (long)len);
	free(path);
	setenv("TZDIR", tbtest_dir(), 1);
	*z_r = NULL;
	if (schedule_zone_open(name, z_r, &err) == 0)
		return 0;
	CHECK(strchr(err.msg, '\n') == NULL, "%s", err.msg);
	return err.code;
}

/* Every prefix of a real file is refused cleanly (EX_CONFIG). */
START_TEST(test_tzif_truncated)
{
	size_t len, cut;
	char *data = zoneinfo_file("Europe/Stockholm", &len);
	struct schedule_zone *z;

	for (cut = 0; cut < len; cut++)
		CHECK(open_crafted("Cut", data, cut, &z) == EX_CONFIG,
		    "cut at %zu of %zu: opened", cut, len);
	CHECK_EQ(open_crafted("Cut", data, len, &z), 0);
	schedule_zone_free(z);
	free(data);
}
END_TEST

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * A TZif file of version ver with no transitions, one type of offset off,
 * and footer (version 2+ only) into buf; returns its length.
 */
static size_t
craft(unsigned char *buf, char ver, int32_t off, const char *footer)
{
	size_t n = 0, blk;
	int pass;

	for (pass = 0; pass < (ver == 0 ? 1 : 2); pass++) {
		memset(buf + n, 0, 44);
		memcpy(buf + n, "TZif", 4);
		buf[n + 4] = (unsigned char)ver;
		put32(buf + n + 36, 1);		/* typecnt */
		put32(buf + n + 40, 4);		/* charcnt */
		n += 44;
		blk = n;
		put32(buf + blk, (uint32_t)off);
		buf[blk + 4] = 0;
		buf[blk + 5] = 0;
		memcpy(buf + blk + 6, "ABC", 4);
		n += 10;
	}
	if (ver != 0)
		n += (size_t)snprintf((char *)buf + n, 256, "\n%s\n", footer);
	return n;
}

START_TEST(test_tzif_crafted)
{
	static const struct {
		char		 ver;
		int32_t		 off;
		const char	*footer;
		int		 code;		/* 0: opens */
		int32_t		 winter, summer;
	} cases[] = {
		{ '2', 3600, "CET-1CEST,M3.5.0,M10.5.0/3", 0, 3600, 7200 },
		{ '4', 3600, "CET-1CEST,M3.5.0,M10.5.0/3", 0, 3600, 7200 },
		{ '2', 19800, "", 0, 19800, 19800 },
		/* all-year daylight saving (RFC 8536 3.3.1's example) */
		{ '2', -18000, "EST5EDT,0/0,J365/25", 0, -14400, -14400 },
		/* daylight saving of no length (02:00 EST is 03:00 EDT) */
		{ '2', -18000, "EST5EDT,M3.2.0/2,M3.2.0/3", 0, -18000, -18000 },
		{ 0, -18000, NULL, 0, -18000, -18000 },
		{ '2', 3600, "CET-1CEST", EX_CONFIG, 0, 0 },
		{ '2', 3600, "CET", EX_CONFIG, 0, 0 },
		{ '2', 3600, "CET-1CEST,M13.5.0,M10.5.0", EX_CONFIG, 0, 0 },
		{ '2', 3600, "CET-1CEST,M3.6.0,M10.5.0", EX_CONFIG, 0, 0 },
		{ '2', 3600, "CET-1CEST,M3.5.7,M10.5.0", EX_CONFIG, 0, 0 },
		{ '2', 3600, "CET-1CEST,J0,J100", EX_CONFIG, 0, 0 },
		{ '2', 3600, "CET-1CEST,366,100", EX_CONFIG, 0, 0 },
		{ '2', 3600, "CET-1CEST,M3.5.0/168,M10.5.0", EX_CONFIG, 0, 0 },
		{ '2', 3600, "CET-25", EX_CONFIG, 0, 0 },
		{ '2', 3600, "<AB>1", EX_CONFIG, 0, 0 },
		{ '2', 3600, "CET-1CEST,M3.5.0,M10.5.0 ", EX_CONFIG, 0, 0 },
		{ '1', 3600, "", EX_CONFIG, 0, 0 },
		{ '2', 100000, "", EX_CONFIG, 0, 0 },
	};
	unsigned char buf[512];
	struct schedule_zone *z;
	int64_t w = utc("2026-01-15T12:00Z"), su = utc("2026-07-15T12:00Z");
	size_t i, n;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = craft(buf, cases[i].ver, cases[i].off, cases[i].footer);
		CHECK(open_crafted("Crafted", buf, n, &z) ==
		    cases[i].code, "case %zu (%s)", i,
		    cases[i].footer ? cases[i].footer : "v1");
		if (cases[i].code != 0)
			continue;
		CHECK_EQ(schedule_zone_offset(z, w), cases[i].winter);
		CHECK_EQ(schedule_zone_offset(z, su), cases[i].summer);
		schedule_zone_free(z);
	}
	/*
	 * All-year DST stays DST across the new year too (glibc's localtime
	 * gives standard time in the first hours of each UTC year here, so it
	 * cannot be the oracle for this rule).
	 */
	n = craft(buf, '2', -18000, "EST5EDT,0/0,J365/25");
	CHECK_EQ(open_crafted("Crafted", buf, n, &z), 0);
	CHECK_EQ(schedule_zone_offset(z, utc("2020-01-01T00:09Z")),
	    -14400);
	CHECK_EQ(schedule_zone_offset(z, utc("2020-01-01T03:59Z")),
	    -14400);
	CHECK_EQ(schedule_zone_offset(z, utc("2019-12-31T23:59Z")),
	    -14400);
	schedule_zone_free(z);
	/* a type naming its abbreviation past the characters (index 4 of 4) */
	n = craft(buf, 0, 0, NULL);
	buf[44 + 5] = 4;
	CHECK_EQ(open_crafted("Crafted", buf, n, &z), EX_CONFIG);
	buf[44 + 5] = 3;
	CHECK_EQ(open_crafted("Crafted", buf, n, &z), 0);
	schedule_zone_free(z);
	/* a type whose isdst is neither 0 nor 1 */
	buf[44 + 4] = 2;
	CHECK_EQ(open_crafted("Crafted", buf, n, &z), EX_CONFIG);
	/* a footer without its final newline */
	n = craft(buf, '2', 0, "UTC0");
	CHECK_EQ(open_crafted("Crafted", buf, n - 1, &z), EX_CONFIG);
	/* a transition type out of range, transitions out of order */
	{
		size_t len;
		unsigned char *d = (unsigned char *)zoneinfo_file(
		    "Europe/Stockholm", &len);
		unsigned char *copy = xmalloc(len);
		uint32_t tc1 = 0, ty1, ch1, v1, tc2;
		size_t h2, idx2;

		tc1 = (uint32_t)d[32] << 24 | d[33] << 16 | d[34] << 8 | d[35];
		ty1 = (uint32_t)d[36] << 24 | d[37] << 16 | d[38] << 8 | d[39];
		ch1 = (uint32_t)d[40] << 24 | d[41] << 16 | d[42] << 8 | d[43];
		v1 = tc1 * 5 + ty1 * 6 + ch1 + 5 + 5;	/* isstd, isut: 5 */
		h2 = 44 + v1;
		CHECK1(memcmp(d + h2, "TZif", 4) == 0);
		tc2 = (uint32_t)d[h2 + 32] << 24 | d[h2 + 33] << 16 |
		    d[h2 + 34] << 8 | d[h2 + 35];
		idx2 = h2 + 44 + (size_t)tc2 * 8;
		unsetenv("TZDIR");
		memcpy(copy, d, len);
		copy[idx2 + 3] = 200;
		CHECK_EQ(open_crafted("Bad", copy, len, &z), EX_CONFIG);
		memcpy(copy, d, len);
		memcpy(copy + h2 + 44 + 8 * 10, d + h2 + 44 + 8 * 11, 8);
		CHECK_EQ(open_crafted("Bad", copy, len, &z), EX_CONFIG);
		/* version 1: the same file cut after its 32-bit block */
		memcpy(copy, d, len);
		copy[4] = 0;
		CHECK_EQ(open_crafted("V1", copy, h2, &z), 0);
		unsetenv("TZDIR");
		{
			struct schedule_zone *full = zone("Europe/Stockholm");
			int64_t t;

			for (t = 0; t < utc("2037-12-31T00:00Z"); t += 7 * DAY +
			    3599)
				CHECK_EQ(schedule_zone_offset(z, t),
				    schedule_zone_offset(full, t));
			schedule_zone_free(full);
		}
		schedule_zone_free(z);
		free(copy);
		free(d);
	}
}
END_TEST

/*
 * One-off local times (edition send --at): the same wall-clock rules as
 * schedules, and the refusals. want is the UTC instant, or NULL for a
 * refusal whose message contains why; local is schedule_local_format's
 * text of the instant.
 */
static const struct {
	const char	*zone, *text, *want, *local, *why;
} local_cases[] = {
	{ "Europe/Stockholm", "2026-11-24 09:00", "2026-11-24T08:00:00Z",
	    "2026-11-24 09:00 +0100", NULL },
	{ "Europe/Stockholm", "2026-07-01 09:00", "2026-07-01T07:00:00Z",
	    "2026-07-01 09:00 +0200", NULL },
	/* Spring gap: 02:00-02:59 do not exist on 29 March 2026. */
	{ "Europe/Stockholm", "2026-03-29 02:00", "2026-03-29T01:00:00Z",
	    "2026-03-29 03:00 +0200", NULL },
	{ "Europe/Stockholm", "2026-03-29 02:59", "2026-03-29T01:00:00Z",
	    "2026-03-29 03:00 +0200", NULL },
	{ "Europe/Stockholm", "2026-03-29 01:59", "2026-03-29T00:59:00Z",
	    "2026-03-29 01:59 +0100", NULL },
	{ "Europe/Stockholm", "2026-03-29 03:00", "2026-03-29T01:00:00Z",
	    "2026-03-29 03:00 +0200", NULL },
	/* Autumn: 02:00-02:59 occur twice on 25 October 2026, first wins. */
	{ "Europe/Stockholm", "2026-10-25 02:30", "2026-10-25T00:30:00Z",
	    "2026-10-25 02:30 +0200", NULL },
	{ "Europe/Stockholm", "2026-10-25 03:00", "2026-10-25T02:00:00Z",
	    "2026-10-25 03:00 +0100", NULL },
	{ "UTC", "2028-02-29 23:59", "2028-02-29T23:59:00Z",
	    "2028-02-29 23:59 +0000", NULL },
	{ "America/St_Johns", "2026-01-15 12:00", "2026-01-15T15:30:00Z",
	    "2026-01-15 12:00 -0330", NULL },
	{ "UTC", "2027-02-29 10:00", NULL, NULL, "no such date" },
	{ "UTC", "2026-04-31 10:00", NULL, NULL, "no such date" },
	{ "UTC", "2026-13-01 10:00", NULL, NULL, "no such date" },
	{ "UTC", "0000-01-01 10:00", NULL, NULL, "no such date" },
	{ "UTC", "2026-11-24 24:00", NULL, NULL, "00:00 to 23:59" },
	{ "UTC", "2026-11-24 09:60", NULL, NULL, "00:00 to 23:59" },
	{ "UTC", "2026-11-24 9:00", NULL, NULL, "expected YYYY-MM-DD HH:MM" },
	{ "UTC", "2026-11-24T09:00", NULL, NULL, "expected YYYY-MM-DD HH:MM" },
	{ "UTC", "2026-11-24 09:00 ", NULL, NULL, "expected YYYY-MM-DD HH:MM" },
	{ "UTC", "", NULL, NULL, "expected YYYY-MM-DD HH:MM" },
	{ "UTC", "tomorrow", NULL, NULL, "expected YYYY-MM-DD HH:MM" },
	{ "UTC", "2026-11-2x 09:00", NULL, NULL, "expected YYYY-MM-DD HH:MM" },
};

START_TEST(test_local_table)
{
	struct schedule_zone *z = zone(local_cases[_i].zone);
	struct error err = { 0, "" };
	char buf[SCHEDULE_LOCAL_MAX];
	int64_t t = 0;
	int r;

	r = schedule_local_parse(local_cases[_i].text, z, &t, &err);
	if (local_cases[_i].want == NULL) {
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(err.code, EX_DATAERR);
		ck_assert_msg(strstr(err.msg, local_cases[_i].why) != NULL,
		    "%s: %s", local_cases[_i].text, err.msg);
		ck_assert_ptr_null(strchr(err.msg, '\n'));
	} else {
		ck_assert_msg(r == 0, "%s: %s", local_cases[_i].text, err.msg);
		ck_assert_str_eq(iso(t), iso(utc(local_cases[_i].want)));
		ck_assert_str_eq(schedule_local_format(z, t, buf, sizeof buf),
		    local_cases[_i].local);
	}
	schedule_zone_free(z);
}
END_TEST

/* Format, then parse: every minute around both 2026 switches comes back
 * to itself except the repeated hour's second pass, which parses to its
 * first occurrence (the wall-clock rule). */
START_TEST(test_local_round_trip)
{
	struct schedule_zone *z = zone("Europe/Stockholm");
	struct error err = { 0, "" };
	char buf[SCHEDULE_LOCAL_MAX];
	static const char *const from[] = { "2026-03-28T20:00Z",
	    "2026-10-24T20:00Z" };

	for (size_t k = 0; k < 2; k++)
		for (int64_t t = utc(from[k]); t < utc(from[k]) + 12 * 3600;
		    t += 60) {
			int64_t back;

			schedule_local_format(z, t, buf, sizeof buf);
			buf[16] = '\0';	/* drop the offset */
			CHECK(schedule_local_parse(buf, z, &back, &err) == 0,
			    "%s: %s", buf, err.msg);
			CHECK(back == t || (back == t - 3600 &&
			    schedule_zone_offset(z, t) == 3600 &&
			    schedule_zone_offset(z, back) == 7200),
			    "%s: %s came back as %s", iso(t), buf, iso(back));
		}
	/* Outside the years 1..9999 nothing is formatted. */
	ck_assert_str_eq(schedule_local_format(z, INT64_MAX, buf, sizeof buf),
	    "?");
	schedule_zone_free(z);
}
END_TEST

/*
 * A feed's next poll: one interval after the last fetch, doubled for each
 * consecutive failure up to 2^6, plus an offset of its own below a tenth
 * of the interval that differs between feeds.
 */
START_TEST(test_feed_due)
{
	const int64_t last = 1795000000, iv = 600;
	int64_t off = schedule_feed_due(last, 0, 7, iv) - last - iv;
	int differ = 0;

	ck_assert_int_eq(schedule_feed_due(0, 3, 7, iv), 0);
	ck_assert(off >= 0 && off < iv / 10);
	for (int64_t k = 0; k <= 6; k++)
		ck_assert_int_eq(schedule_feed_due(last, k, 7, iv),
		    last + (iv << k) + off);
	/* Capped: the seventh failure and later wait as long as the sixth. */
	ck_assert_int_eq(schedule_feed_due(last, 7, 7, iv),
	    schedule_feed_due(last, 6, 7, iv));
	ck_assert_int_eq(schedule_feed_due(last, 1000, 7, iv),
	    last + 64 * iv + off);
	ck_assert_int_eq(schedule_feed_due(last, -1, 7, iv), last + iv + off);
	for (int64_t id = 1; id <= 50; id++) {
		int64_t o = schedule_feed_due(last, 0, id, iv) - last - iv;

		ck_assert(o >= 0 && o < iv / 10);
		differ += o != off;
	}
	ck_assert_int_gt(differ, 40);
	/* An interval under ten seconds has no offset. */
	ck_assert_int_eq(schedule_feed_due(last, 2, 9, 5), last + 20);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("schedule");
	TCase *tc = tcase_create("schedule");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_parse_table, 0,
	    sizeof parse_cases / sizeof parse_cases[0]);
	tcase_add_test(tc, test_parse_messages);
	tcase_add_test(tc, test_format_round_trip);
	tcase_add_test(tc, test_format_refuses);
	tcase_add_loop_test(tc, test_next_table, 0,
	    sizeof next_cases / sizeof next_cases[0]);
	tcase_add_test(tc, test_next_none_and_range);
	tcase_add_test(tc, test_chain_daily);
	tcase_add_test(tc, test_chain_weekly);
	tcase_add_test(tc, test_chain_monthly);
	tcase_add_loop_test(tc, test_oracle_offsets, 0,
	    sizeof sweep_zones / sizeof sweep_zones[0]);
	tcase_add_loop_test(tc, test_oracle_dense, 0, 2);
	tcase_add_loop_test(tc, test_oracle_daily, 0,
	    sizeof windows / sizeof windows[0]);
	tcase_add_loop_test(tc, test_oracle_posix, 0,
	    sizeof posix_strings / sizeof posix_strings[0]);
	tcase_add_test(tc, test_zone_names);
	tcase_add_test(tc, test_zone_system);
	tcase_add_test(tc, test_tzif_truncated);
	tcase_add_test(tc, test_tzif_crafted);
	tcase_add_loop_test(tc, test_local_table, 0,
	    sizeof local_cases / sizeof local_cases[0]);
	tcase_add_test(tc, test_local_round_trip);
	tcase_add_test(tc, test_feed_due);
	suite_add_tcase(s, tc);
	return tbtest_run(s);
}
