/*
 * dkimkey: hands libopendkim the private key tb_dkim_load already parsed,
 * instead of letting it parse the key text again for every message.
 *
 * libopendkim 2.11 takes the signing key as text in tb_dkim_sign() and runs
 * PEM_read_bio_PrivateKey() on it for each message. Under OpenSSL 3.0
 * that costs 0.7 to 1.9 ms on the machines we measured (its decoder
 * framework looks the key format up anew each time): two to four times
 * the RSA-2048 signature itself. Its API has
 * no way to pass a parsed key (DKIM handles are opaque; the key is loaded
 * inside dkim_eom).
 *
 * How: as src/nodelay.c does for connect(), this file defines
 * PEM_read_bio_PrivateKey() in the executable, which comes first in the
 * dynamic linker's lookup order, so libopendkim's call reaches it. When
 * the memory BIO holds exactly the PEM text of a key tb_dkim_load registered
 * (tb_dkim_parsed_key compares the bytes), it returns that key with a new
 * reference (libopendkim frees it with EVP_PKEY_free after the message);
 * otherwise it calls OpenSSL's own function, found with dlsym(RTLD_NEXT).
 * A program without this file signs exactly the same, only slower.
 *
 * Not in libtemabrev.a for the reason nodelay.c gives: nothing refers to
 * this symbol, so an archive member would silently be left out. Every
 * program that signs lists src/dkimkey.c among its own sources.
 */
#define _GNU_SOURCE		/* RTLD_NEXT */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "dkim.h"

typedef EVP_PKEY *(*pem_read_fn)(BIO *, EVP_PKEY **, pem_password_cb *,
    void *);

static pem_read_fn	real_read;
static pthread_once_t	real_once = PTHREAD_ONCE_INIT;

static void
resolve(void)
{
	void *sym = dlsym(RTLD_NEXT, "PEM_read_bio_PrivateKey");

	/* POSIX guarantees object and function pointers convert. */
	memcpy(&real_read, &sym, sizeof real_read);
}

EVP_PKEY *
PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
	EVP_PKEY *pkey;
	char *data;
	long n;

	/* Only the plain form libopendkim uses: no object to fill in. */
	if (x == NULL && bp != NULL && BIO_method_type(bp) == BIO_TYPE_MEM &&
	    (n = BIO_get_mem_data(bp, &data)) > 0 &&
	    (pkey = tb_dkim_parsed_key(data, (size_t)n)) != NULL)
		return pkey;
	pthread_once(&real_once, resolve);
	if (real_read == NULL)
		return NULL;
	return real_read(bp, x, cb, u);
}
