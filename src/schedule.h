/*
 * schedule: when a theme's digest is due, and when a feed is polled
 * next (schedule_feed_due, at the end). A schedule is parsed from and
 * formatted to its spec text ("daily 07:00", "weekly monday 07:00",
 * "monthly 1 07:00", "monthly last 07:00", "none"), and the next run after
 * an instant is computed in an IANA time zone.
 *
 * Time zones are read by this module from the TZif files of tzdata
 * (RFC 8536, versions 1 to 4, the POSIX TZ footer included), not through
 * libc's localtime/mktime, whose TZ is process-global state: everything
 * here is pure, and a zone, once opened, may be shared by any number of
 * threads.
 *
 * Wall-clock rules (the same for every zone and every kind of schedule):
 * - a local time that does not exist that day (the spring-forward gap)
 *   runs at the first instant after the gap (02:30 on the last Sunday of
 *   March in Europe/Stockholm runs at 03:00 CEST = 01:00 UTC);
 * - a local time that occurs twice (autumn fall-back) runs once, at its
 *   first occurrence (02:30 on the last Sunday of October in
 *   Europe/Stockholm runs at 02:30 CEST = 00:30 UTC);
 * - schedule_next is strictly increasing along a chain (next(next(x)) >
 *   next(x)) and runs once on every scheduled local date: no day, week or
 *   month is skipped or doubled across the switches.
 */
#ifndef TB_SCHEDULE_H
#define TB_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum schedule_kind {
	SCHEDULE_NONE = 0,	/* never runs */
	SCHEDULE_DAILY,
	SCHEDULE_WEEKLY,
	SCHEDULE_MONTHLY
};

/* The day of month of "monthly last HH:MM". */
#define SCHEDULE_LAST_DAY	0

struct schedule {
	enum schedule_kind kind;
	int	wday;		/* WEEKLY: 0 Sunday .. 6 Saturday */
	int	mday;		/* MONTHLY: 1..28, or SCHEDULE_LAST_DAY */
	int	hour;		/* 0..23 */
	int	min;		/* 0..59 */
};

/* schedule_next's answer for "none". */
#define SCHEDULE_NEVER		INT64_MAX

/* Enough for any formatted spec, NUL included ("weekly wednesday 23:59"). */
#define SCHEDULE_SPEC_MAX	32

/*
 * Parses spec into *out: "daily HH:MM", "weekly DAY HH:MM",
 * "monthly N HH:MM" (N 1..28), "monthly last HH:MM" or "none". HH is two
 * digits 00-23, MM two digits 00-59. DAY is an English or Swedish day
 * name or its three-letter abbreviation (monday/mon/måndag/mån ...
 * sunday/sun/söndag/sön), in any case. Words are separated by blanks;
 * blanks around the spec are ignored. Anything else: -1 with EX_DATAERR
 * and a one-line message quoting spec.
 */
int	 schedule_parse(const char *spec, struct schedule *out,
	    struct error *err);

/*
 * Writes the canonical spec of s into buf (len bytes; SCHEDULE_SPEC_MAX
 * always suffices): lower-case English day names, "monthly 1", two-digit
 * times. It parses back to the same schedule. Returns 0, or -1 when len is
 * too small or s is not a valid schedule (buf then holds "").
 */
int	 schedule_format(const struct schedule *s, char *buf, size_t len);

/* 1 when s holds values schedule_parse could have produced. */
int	 schedule_is_valid(const struct schedule *s);

/*
 * A time zone read once from tzdata; immutable afterwards, so one zone may
 * be used by many threads at once. Opaque.
 */
struct schedule_zone;

/*
 * Opens the zone called name: an IANA name such as "Europe/Stockholm",
 * read from $TZDIR when set, else /usr/share/zoneinfo. The name must be
 * relative, made of letters, digits and "/_+-.", with no "." or ".."
 * component; POSIX TZ rule strings ("CET-1CEST,...") are not names and are
 * refused. NULL or "" opens the system's zone: $TZ when set (":NAME",
 * "NAME", an absolute path to a TZif file, or a POSIX TZ string that
 * spells out its daylight-saving rules, as libc reads it), else
 * /etc/localtime, else UTC when that file does not exist.
 * 0 and *z_r (caller frees with schedule_zone_free), or -1 and EX_CONFIG
 * naming the zone: unknown, not a TZif file, damaged, or with leap seconds
 * (the "right/" zones: Unix time does not count leap seconds).
 * Reads $TZ and $TZDIR with getenv: nothing may setenv them meanwhile.
 */
int	 schedule_zone_open(const char *name, struct schedule_zone **z_r,
	    struct error *err);
void	 schedule_zone_free(struct schedule_zone *z);

/* The name the zone was opened with ("" for the system's); borrowed. */
const char *schedule_zone_name(const struct schedule_zone *z);

/*
 * The zone's offset from UTC, in seconds east, at the UTC instant t (Unix
 * seconds); local wall time is t + offset.
 */
int32_t	 schedule_zone_offset(const struct schedule_zone *z, int64_t t);

/*
 * The first scheduled instant strictly after `after` (Unix seconds), by
 * the wall-clock rules above, into *next_r; SCHEDULE_NEVER for "none".
 * `after` must lie in the years 1..9999 (else EX_DATAERR). 0 ok, -1 error.
 */
int	 schedule_next_in(const struct schedule *s,
	    const struct schedule_zone *z, int64_t after, int64_t *next_r,
	    struct error *err);

/*
 * Local wall times, for one-off sends (edition send --at) and listings.
 *
 * schedule_local_parse reads text "YYYY-MM-DD HH:MM" (exactly that:
 * four-digit year 0001-9999, a real calendar date, 00:00 to 23:59) as a
 * wall time in z and gives its instant by the wall-clock rules above: a
 * time in a spring-forward gap is the first instant after the gap, a
 * repeated one its first occurrence. 0 and *t_r, or -1 with EX_DATAERR
 * and a one-line message quoting text.
 */
int	 schedule_local_parse(const char *text, const struct schedule_zone *z,
	    int64_t *t_r, struct error *err);

/* Enough for schedule_local_format's text, NUL included. */
#define SCHEDULE_LOCAL_MAX	32

/*
 * Writes the wall time of instant t in z as "YYYY-MM-DD HH:MM +HHMM"
 * (the offset from UTC in force at t, so a repeated hour stays
 * unambiguous) into buf, len bytes (SCHEDULE_LOCAL_MAX suffices); t must
 * lie in the years 1..9999, else buf holds "?". Returns buf.
 */
const char *schedule_local_format(const struct schedule_zone *z, int64_t t,
	    char *buf, size_t len);

/*
 * schedule_next_in in the zone called tz (as schedule_zone_open; NULL or
 * "" for the system's), opened and freed inside the call. Callers that ask
 * often should open the zone once and use schedule_next_in.
 */
int	 schedule_next(const struct schedule *s, const char *tz, int64_t after,
	    int64_t *next_r, struct error *err);

/* A failing feed waits up to 2^SCHEDULE_FEED_BACKOFF poll intervals. */
#define SCHEDULE_FEED_BACKOFF	6

/*
 * When a feed is due (UTC seconds): one poll interval after its last
 * fetch, doubled for each consecutive failure (up to
 * 2^SCHEDULE_FEED_BACKOFF intervals), plus an offset of its own below a
 * tenth of the interval, so the feeds of one host are not fetched
 * together. 0 (at once) for a feed never fetched.
 */
int64_t	schedule_feed_due(int64_t last_fetch, int64_t failures,
	    int64_t feed_id, int64_t interval);

#endif
