/*
 * secret: the installation's one random secret and the keys derived from
 * it. The secret lives in [general] secret_file (default: next to the
 * database), is created on first use with mode 0600, and is never used
 * directly: each purpose (suppression hashes, unsubscribe tokens, confirm
 * tokens, ...) derives its own key with HKDF-SHA256 (RFC 5869), so one
 * purpose's key never serves another.
 */
#ifndef TB_SECRET_H
#define TB_SECRET_H

#include <stddef.h>

struct error;
struct secret;
struct secret_mac;

#define SECRET_MAC_LEN 32	/* HMAC-SHA256 output */

/* Purposes: every keyed hash or token names one of these. */
#define SECRET_PURPOSE_SUPPRESSION "suppression"

/*
 * Reads the secret at path, creating it (32 random bytes as hex, mode
 * 0600, atomically) when missing. Refuses a file readable or writable by
 * others, or one that is too short. Caller frees with secret_free.
 */
int	secret_open(const char *path, struct secret **secret_r, struct error *);
void	secret_free(struct secret *);

/*
 * A reusable HMAC-SHA256 keyed for one purpose. Not thread-safe: one per
 * thread. Caller frees with secret_mac_free.
 */
struct secret_mac *secret_mac_new(const struct secret *, const char *purpose);
void	secret_mac_free(struct secret_mac *);
/* Computes the MAC of data into out (SECRET_MAC_LEN bytes). */
void	secret_mac(struct secret_mac *, const void *data, size_t len,
	    unsigned char out[SECRET_MAC_LEN]);
/* The MAC of a string as lower-case hex (2 * SECRET_MAC_LEN + 1 bytes). */
void	secret_mac_hex(struct secret_mac *, const char *s, char *out);

#endif
