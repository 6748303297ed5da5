/*
 * ratelimit: fixed-window counters in a bounded table (see ratelimit.h).
 * The table is searched linearly: it holds a few thousand 32-byte
 * entries, a scan costs microseconds, and it needs no rehashing or
 * eviction order to keep.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ratelimit.h"
#include "util.h"

#define DIGEST	16		/* bytes of SHA-256 kept per key */

struct entry {
	unsigned char	key[DIGEST];
	int64_t		start;		/* of the window; 0: free */
	int64_t		count;
};

struct ratelimit {
	pthread_mutex_t	 mu;
	int64_t		 window;
	size_t		 cap;
	struct entry	*e;
};

struct ratelimit *
ratelimit_new(size_t capacity, int64_t window)
{
	struct ratelimit *rl = xcalloc(1, sizeof *rl);

	pthread_mutex_init(&rl->mu, NULL);
	rl->window = window > 0 ? window : 1;
	rl->cap = capacity > 0 ? capacity : 1;
	rl->e = xcalloc(rl->cap, sizeof *rl->e);
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl->e);
	free(rl);
}

/*
 * The entry of digest d, or the slot it takes: a free or ended one, else
 * the one whose window started first (it is forgotten).
 */
static struct entry *
slot(struct ratelimit *rl, const unsigned char *d, int64_t now)
{
	struct entry *spare = NULL;

	for (size_t i = 0; i < rl->cap; i++) {
		struct entry *e = &rl->e[i];

		if (e->start != 0 && memcmp(e->key, d, DIGEST) == 0)
			return e;
		if (spare != NULL && (spare->start == 0 ||
		    now - spare->start >= rl->window))
			continue;
		if (spare == NULL || e->start == 0 ||
		    now - e->start >= rl->window || e->start < spare->start)
			spare = e;
	}
	memcpy(spare->key, d, DIGEST);
	spare->start = 0;
	return spare;
}

int
ratelimit_hit(struct ratelimit *rl, const char *key, int64_t limit,
    int64_t now, int64_t *retry_r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct entry *e;
	int ok;

	EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL);
	pthread_mutex_lock(&rl->mu);
	e = slot(rl, md, now);
	/* A clock set back must not make a window last for ever. */
	if (e->start == 0 || now - e->start >= rl->window || now < e->start) {
		e->start = now > 0 ? now : 1;
		e->count = 0;
	}
	if ((ok = e->count < limit))
		e->count++;
	else
		*retry_r = e->start + rl->window - now > 0 ?
		    e->start + rl->window - now : 1;
	pthread_mutex_unlock(&rl->mu);
	return ok;
}
