/*
 * secret: load or create the installation secret; derive per-purpose keys
 * with HKDF-SHA256 (RFC 5869) and compute HMAC-SHA256 (RFC 2104) through
 * OpenSSL 3's EVP interfaces.
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

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "log.h"
#include "secret.h"
#include "util.h"

#define SECRET_BYTES 32

struct secret {
	unsigned char	key[SECRET_BYTES];
};

struct secret_mac {
	EVP_MAC	*mac;
	EVP_MAC_CTX	*ctx;
};

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
tohex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * Writes a new secret to a temporary file and links it into place: link()
 * fails if another process created the file first, and then we read
 * theirs, so two first uses at once agree on one secret.
 */
static int
secret_create(const char *path, struct error *err)
{
	unsigned char raw[SECRET_BYTES];
	char hex[2 * SECRET_BYTES + 2];
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	int fd = -1, rc = -1;

	if (RAND_bytes(raw, sizeof raw) != 1) {
		error_set(err, EX_SOFTWARE, "%s: no random bytes available", path);
		goto fail;
	}
	tohex(raw, sizeof raw, hex);
	hex[2 * SECRET_BYTES] = '\n';
	hex[2 * SECRET_BYTES + 1] = '\0';
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		error_set(err, EX_CANTCREAT, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) ||
	    fsync(fd) == -1) {
		error_set(err, EX_IOERR, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (link(tmp, path) == -1 && errno != EEXIST) {
		error_set(err, EX_CANTCREAT, "%s: %s", path, strerror(errno));
		goto fail;
	}
	rc = 0;
fail:
	if (fd != -1) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	OPENSSL_cleanse(raw, sizeof raw);
	OPENSSL_cleanse(hex, sizeof hex);
	return rc;
}

int
secret_open(const char *path, struct secret **secret_r, struct error *err)
{
	struct secret *s = NULL;
	char text[256];
	struct stat sb;
	ssize_t n;
	int fd = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		if (secret_create(path, err) == -1)
			goto fail;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd == -1) {
		error_set(err, EX_NOINPUT, "secret file %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (fstat(fd, &sb) == -1) {
		error_set(err, EX_IOERR, "secret file %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (sb.st_mode & (S_IROTH | S_IWOTH)) {
		error_set(err, EX_CONFIG, "secret file %s is accessible to "
		    "others (mode %04o): chmod o-rwx it", path,
		    (unsigned)(sb.st_mode & 07777));
		goto fail;
	}
	n = read(fd, text, sizeof text - 1);
	if (n < 0) {
		error_set(err, EX_IOERR, "secret file %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	text[n] = '\0';
	util_trim(text);
	if (strlen(text) < 2 * SECRET_BYTES) {
		error_set(err, EX_CONFIG, "secret file %s: too short (need %d "
		    "hex digits)", path, 2 * SECRET_BYTES);
		goto fail;
	}
	s = xcalloc(1, sizeof *s);
	for (size_t i = 0; i < SECRET_BYTES; i++) {
		int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			error_set(err, EX_CONFIG, "secret file %s: not hex", path);
			goto fail;
		}
		s->key[i] = (unsigned char)(hi << 4 | lo);
	}
	close(fd);
	OPENSSL_cleanse(text, sizeof text);
	*secret_r = s;
	return 0;
fail:
	if (fd != -1)
		close(fd);
	OPENSSL_cleanse(text, sizeof text);
	secret_free(s);
	return -1;
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

/* OpenSSL without its default provider is a broken installation. */
static void __attribute__((noreturn))
crypto_fail(const char *what)
{
	fatalx("OpenSSL cannot compute %s", what);
}

/* HKDF-SHA256(secret, salt "temabrev", info purpose) -> 32-byte key. */
static void
derive(const struct secret *s, const char *purpose, unsigned char *out)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5], *p = params;

	if (kdf == NULL || (kctx = EVP_KDF_CTX_new(kdf)) == NULL)
		crypto_fail("HKDF");
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)s->key, sizeof s->key);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)"temabrev", 8);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)purpose, strlen(purpose));
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, SECRET_BYTES, params) != 1)
		crypto_fail("HKDF");
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

struct secret_mac *
secret_mac_new(const struct secret *s, const char *purpose)
{
	struct secret_mac *m = xcalloc(1, sizeof *m);
	unsigned char key[SECRET_BYTES];
	OSSL_PARAM params[2];

	derive(s, purpose, key);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((m->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (m->ctx = EVP_MAC_CTX_new(m->mac)) == NULL ||
	    EVP_MAC_init(m->ctx, key, sizeof key, params) != 1) {
		crypto_fail("HMAC-SHA256");
	}
	OPENSSL_cleanse(key, sizeof key);
	return m;
}

void
secret_mac_free(struct secret_mac *m)
{
	if (m == NULL)
		return;
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	free(m);
}

void
secret_mac(struct secret_mac *m, const void *data, size_t len,
    unsigned char out[SECRET_MAC_LEN])
{
	size_t outlen = 0;

	/* A NULL key re-initialises with the key already set: no re-keying. */
	if (EVP_MAC_init(m->ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(m->ctx, data, len) != 1 ||
	    EVP_MAC_final(m->ctx, out, &outlen, SECRET_MAC_LEN) != 1 ||
	    outlen != SECRET_MAC_LEN) {
		crypto_fail("HMAC-SHA256");
	}
}

void
secret_mac_hex(struct secret_mac *m, const char *s, char *out)
{
	unsigned char mac[SECRET_MAC_LEN];

	secret_mac(m, s, strlen(s), mac);
	tohex(mac, sizeof mac, out);
}
