/*
 * ratelimit: counts events per key in fixed windows, in memory and in a
 * table of bounded size, for the web side's subscribe form (per client
 * address per hour, per email address per day). Nothing is stored: a
 * restart forgets every count, which costs at most one window's worth.
 *
 * Keys are kept only as a SHA-256 digest (no addresses in memory). When
 * the table is full, the entry whose window started first is forgotten:
 * a flood of distinct keys can make the table forget a key early, never
 * grow it.
 */
#ifndef TB_RATELIMIT_H
#define TB_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

/*
 * A table of capacity keys (>= 1), each counting in windows of window
 * seconds from its first event. Caller frees with ratelimit_free (NULL is
 * a no-op). Thread-safe: every call takes the table's own lock.
 */
struct ratelimit *ratelimit_new(size_t capacity, int64_t window);
void	ratelimit_free(struct ratelimit *);

/*
 * One event for key at now. Returns 1 when it is allowed (fewer than
 * limit events of key in its window so far; it is counted), or 0 when
 * over the limit (not counted) with *retry_r the seconds until the window
 * ends (at least 1).
 */
int	ratelimit_hit(struct ratelimit *, const char *key, int64_t limit,
	    int64_t now, int64_t *retry_r);

#endif
