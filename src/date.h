/*
 * date: the date strings feeds carry, turned into UTC seconds.
 *
 * RSS <pubDate> is RFC 822 section 5 as amended by RFC 1123 section 5.2.14
 * (four-digit years) and read with RFC 5322 section 4.3 leniency; Atom
 * (RFC 4287 section 3.3) and <dc:date> are W3C-DTF, a profile of ISO 8601
 * (RFC 3339). Real feeds stray from both, so the parser also takes what
 * feedparser's test vectors show in the wild: no weekday or a wrong one, no
 * seconds, two-digit years, "Etc/GMT", "GMT+01:00", North American zone
 * names, military letters, asctime(), JavaScript's Date.toString(), compact
 * ISO 8601 forms, and month names in Swedish, Greek and Hungarian.
 */
#ifndef TB_DATE_H
#define TB_DATE_H

#include <stdint.h>

/*
 * Parses s (leading and trailing white space ignored) into *t_r, seconds
 * since 1970-01-01T00:00:00Z. A date without a time is midnight; a time
 * without a zone is UTC. The weekday, when present, is not checked: feeds
 * get it wrong more often than the date. Returns 0, or -1 when s is not a
 * date this parser knows or names an impossible one (31 April, 25:00,
 * +99:99); *t_r is then unchanged.
 */
int	date_parse(const char *s, int64_t *t_r);

#endif
