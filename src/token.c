/*
 * token: makes and checks the tokens of token.h: an id payload (LEB128
 * varints, the last id big-endian) and a truncated HMAC-SHA256 (RFC 2104)
 * keyed per purpose through secret.h's HKDF (RFC 5869), in lower-case
 * RFC 4648 base32 without padding. Parsing re-encodes what it decoded and
 * refuses any text that is not exactly what token_make would write (apart
 * from letter case), so each set of ids has one token.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "secret.h"
#include "token.h"
#include "util.h"

#define F_SUB	1
#define F_THEME	2
#define F_ED	4

/* Room for three ids: two varints of 9 bytes and 8 big-endian bytes. */
#define PAYLOAD_MAX	26
#define MAC_MAX		12
#define RAW_MAX		(PAYLOAD_MAX + MAC_MAX)

/* Every field is part of the token format: changing one voids tokens. */
struct purpose_def {
	unsigned char	 tag;		/* first octet of the MAC input */
	const char	*key;		/* HKDF info: one key per purpose */
	unsigned	 payload;	/* ids written in the token */
	unsigned	 covered;	/* ids the MAC covers */
	size_t		 maclen;	/* bytes of HMAC kept */
};

/*
 * REPLY keeps the 80-bit floor because SLUG+TOKEN must fit 64 octets;
 * the others have room and keep 96 bits.
 */
static const struct purpose_def purposes[TOKEN_NPURPOSES] = {
	[TOKEN_UNSUBSCRIBE] = { 0, "token:unsubscribe", F_SUB | F_THEME,
	    F_SUB | F_THEME, 12 },
	[TOKEN_CONFIRM] = { 1, "token:confirm-v2", F_SUB | F_THEME | F_ED,
	    F_SUB | F_THEME | F_ED, 12 },
	[TOKEN_REPLY] = { 2, "token:reply", F_SUB, F_SUB | F_THEME, 10 },
	[TOKEN_BOUNCE] = { 3, "token:bounce", F_SUB | F_THEME | F_ED,
	    F_SUB | F_THEME | F_ED, 12 },
	[TOKEN_MSGID] = { 4, "token:msgid", F_SUB | F_THEME | F_ED,
	    F_SUB | F_THEME | F_ED, 12 },
};

struct token {
	struct secret_mac	*mac[TOKEN_NPURPOSES];
};

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

struct token *
token_new(const struct secret *secret)
{
	struct token *t = xcalloc(1, sizeof *t);

	for (int i = 0; i < TOKEN_NPURPOSES; i++)
		t->mac[i] = secret_mac_new(secret, purposes[i].key);
	return t;
}

void
token_free(struct token *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < TOKEN_NPURPOSES; i++)
		secret_mac_free(t->mac[i]);
	free(t);
}

static int
valid_purpose(enum token_purpose p)
{
	return (int)p >= 0 && p < TOKEN_NPURPOSES;
}

static size_t
put_varint(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

/* The last id needs no length: it takes what the MAC leaves. */
static size_t
put_last(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	for (uint64_t x = v; x != 0; x >>= 8)
		n++;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	return n;
}

/* The ids a purpose writes, in payload order. */
static size_t
field_list(unsigned mask, const struct token_ids *ids, int64_t *v)
{
	size_t n = 0;

	if (mask & F_SUB)
		v[n++] = ids->subscriber;
	if (mask & F_THEME)
		v[n++] = ids->theme;
	if (mask & F_ED)
		v[n++] = ids->edition;
	return n;
}

static size_t
encode_payload(unsigned mask, const struct token_ids *ids, unsigned char *p)
{
	int64_t v[3];
	size_t n = field_list(mask, ids, v), len = 0;

	for (size_t i = 0; i < n; i++)
		len += i + 1 < n ? put_varint(p + len, (uint64_t)v[i]) :
		    put_last(p + len, (uint64_t)v[i]);
	return len;
}

/*
 * The MAC input names the purpose and every covered id in fixed width, so
 * no two (purpose, ids) share an input, whatever the payload leaves out.
 */
static void
compute_mac(struct token *t, enum token_purpose p, const struct token_ids *ids,
    unsigned char out[SECRET_MAC_LEN])
{
	unsigned covered = purposes[p].covered;
	unsigned char in[1 + 3 * 8];
	int64_t v[3] = {
		covered & F_SUB ? ids->subscriber : 0,
		covered & F_THEME ? ids->theme : 0,
		covered & F_ED ? ids->edition : 0,
	};

	in[0] = purposes[p].tag;
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 8; j++)
			in[1 + 8 * i + j] = (unsigned char)((uint64_t)v[i] >>
			    (8 * (7 - j)));
	secret_mac(t->mac[p], in, sizeof in, out);
}

/* Builds payload + truncated MAC; returns its length. */
static size_t
make_raw(struct token *t, enum token_purpose p, const struct token_ids *ids,
    unsigned char *raw)
{
	unsigned char mac[SECRET_MAC_LEN];
	size_t n = encode_payload(purposes[p].payload, ids, raw);

	compute_mac(t, p, ids, mac);
	memcpy(raw + n, mac, purposes[p].maclen);
	return n + purposes[p].maclen;
}

/* RFC 4648 base32, lower case, no padding; the unused low bits are 0. */
static size_t
b32_encode(const unsigned char *in, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return o;
}

static int
b32_value(int c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/*
 * Decodes len characters into out; -1 on a character outside the
 * alphabet, on a length no byte count encodes to, or on non-zero unused
 * bits (they would give one payload several spellings).
 */
static int
b32_decode(const char *s, size_t len, unsigned char *out, size_t *n_r)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	if ((len * 5) % 8 >= 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b32_value((unsigned char)s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	*n_r = n;
	return 0;
}

int
token_make(struct token *t, enum token_purpose p, const struct token_ids *ids,
    char *out, size_t outlen)
{
	unsigned char raw[RAW_MAX];
	size_t n;

	if (outlen > 0)
		out[0] = '\0';
	if (!valid_purpose(p) || ids->subscriber < 0 || ids->theme < 0 ||
	    ids->edition < 0)
		return -1;
	n = make_raw(t, p, ids, raw);
	if ((n * 8 + 4) / 5 + 1 > outlen)
		return -1;
	return (int)b32_encode(raw, n, out);
}

static int
get_varint(const unsigned char *p, size_t len, size_t *off, int64_t *v_r)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 63; shift += 7) {
		unsigned char c;

		if (*off >= len)
			return -1;
		c = p[(*off)++];
		v |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0) {
			if (v > INT64_MAX)
				return -1;
			*v_r = (int64_t)v;
			return 0;
		}
	}
	return -1;
}

static int
get_last(const unsigned char *p, size_t len, int64_t *v_r)
{
	uint64_t v = 0;

	if (len > 8)
		return -1;
	for (size_t i = 0; i < len; i++)
		v = (v << 8) | p[i];
	if (v > INT64_MAX)
		return -1;
	*v_r = (int64_t)v;
	return 0;
}

/* Reads the ids of mask from a payload; the re-encoding check follows. */
static int
decode_payload(unsigned mask, const unsigned char *p, size_t len,
    struct token_ids *ids)
{
	int64_t *dst[3];
	size_t n = 0, off = 0;

	if (mask & F_SUB)
		dst[n++] = &ids->subscriber;
	if (mask & F_THEME)
		dst[n++] = &ids->theme;
	if (mask & F_ED)
		dst[n++] = &ids->edition;
	for (size_t i = 0; i + 1 < n; i++)
		if (get_varint(p, len, &off, dst[i]) == -1)
			return -1;
	return get_last(p + off, len - off, dst[n - 1]);
}

int
token_parse(struct token *t, enum token_purpose p, const char *text,
    struct token_ids *ids_r)
{
	unsigned char raw[RAW_MAX], again[RAW_MAX];
	struct token_ids ids = { 0, 0, 0 };
	size_t len, n, maclen, plen;

	if (!valid_purpose(p) || text == NULL)
		return -1;
	len = strnlen(text, TOKEN_BUF);
	/* Checked before decoding so raw cannot overflow. */
	if (len >= TOKEN_BUF || len * 5 / 8 > RAW_MAX ||
	    b32_decode(text, len, raw, &n) == -1)
		return -1;
	maclen = purposes[p].maclen;
	if (n < maclen)
		return -1;
	plen = n - maclen;
	if (p == TOKEN_REPLY)
		ids.theme = ids_r->theme;
	if (ids.theme < 0 || decode_payload(purposes[p].payload, raw, plen,
	    &ids) == -1)
		return -1;
	/* One spelling per payload: leading zeros, long varints refused. */
	if (make_raw(t, p, &ids, again) != n || memcmp(raw, again, plen) != 0)
		return -1;
	if (CRYPTO_memcmp(raw + plen, again + plen, maclen) != 0)
		return -1;
	*ids_r = ids;
	return 0;
}

/*
 * A confirmation token is a CONFIRM token whose third id is the time it
 * was issued: the MAC covers it, so the age cannot be changed, and the
 * same request made at another second gets another token.
 */
int
token_confirm_make(struct token *t, int64_t subscriber, int64_t theme,
    int64_t issued, char *out, size_t outlen)
{
	struct token_ids ids = { subscriber, theme, issued };

	return token_make(t, TOKEN_CONFIRM, &ids, out, outlen);
}

int
token_confirm_parse(struct token *t, const char *text,
    struct token_confirm *c_r)
{
	struct token_ids ids = { 0, 0, 0 };

	if (token_parse(t, TOKEN_CONFIRM, text, &ids) == -1 ||
	    ids.subscriber <= 0 || ids.theme <= 0)
		return -1;
	c_r->subscriber = ids.subscriber;
	c_r->theme = ids.theme;
	c_r->issued = ids.edition;
	return 0;
}
