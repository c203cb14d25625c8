/* core/crypt.c - Mbed TLS 2.28 behind core/crypt.h; the only file that
 * includes Mbed TLS headers.  Mbed TLS codes are translated here. */
#define LOG_TAG "crypt"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/crypt.h"
#include "core/sys.h"
#include "core/util.h"

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/gcm.h"
#include "mbedtls/hkdf.h"
#include "mbedtls/md.h"
#include "mbedtls/platform_util.h"
#include "mbedtls/sha256.h"

struct crypt_key {
	mbedtls_gcm_context gcm;
};

struct crypt_rng {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

void crypt_wipe(void *p, size_t n)
{
	mbedtls_platform_zeroize(p, n);
}

bool crypt_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

void crypt_sha256(const void *p, size_t n, uint8_t out[CRYPT_SHA256_SIZE])
{
	/* cannot fail: no hardware acceleration hooks are configured */
	if (mbedtls_sha256_ret(p, n, out, 0))
		abort();
}

int crypt_hmac_sha256(const uint8_t *key, size_t keylen, const void *p, size_t n,
                      uint8_t out[CRYPT_SHA256_SIZE])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if (mbedtls_md_hmac(md, key, keylen, p, n, out))
		return -EINVAL;
	return 0;
}

int crypt_hkdf_sha256(const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
                      const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if (outlen == 0 || outlen > 255 * CRYPT_SHA256_SIZE)
		return -EINVAL;
	if (mbedtls_hkdf(md, salt, saltlen, ikm, ikmlen, info, infolen, out, outlen))
		return -EINVAL;
	return 0;
}

int crypt_key_new_raw(const uint8_t raw[CRYPT_KEY_SIZE], struct crypt_key **out)
{
	struct crypt_key *k = xcalloc(1, sizeof(*k));

	mbedtls_gcm_init(&k->gcm);
	if (mbedtls_gcm_setkey(&k->gcm, MBEDTLS_CIPHER_ID_AES, raw, CRYPT_KEY_SIZE * 8)) {
		crypt_key_free(k);
		return -EINVAL;
	}
	*out = k;
	return 0;
}

int crypt_key_new(const uint8_t *authkey, size_t len, const char *cluster_name,
                  struct crypt_key **out)
{
	static const char salt[] = CRYPT_KDF_SALT, label[] = CRYPT_KDF_INFO;
	uint8_t info[sizeof(label) - 1 + CRYPT_CLUSTER_NAME_MAX];
	uint8_t raw[CRYPT_KEY_SIZE];
	size_t namelen;
	int rc;

	if (len < CRYPT_AUTHKEY_MIN || len > CRYPT_AUTHKEY_MAX || !cluster_name)
		return -EINVAL;
	namelen = strlen(cluster_name);
	if (namelen == 0 || namelen > CRYPT_CLUSTER_NAME_MAX)
		return -EINVAL;
	memcpy(info, label, sizeof(label) - 1);
	memcpy(info + sizeof(label) - 1, cluster_name, namelen);
	rc = crypt_hkdf_sha256((const uint8_t *)salt, sizeof(salt) - 1, authkey, len, info,
	                       sizeof(label) - 1 + namelen, raw, sizeof(raw));
	if (rc == 0)
		rc = crypt_key_new_raw(raw, out);
	crypt_wipe(raw, sizeof(raw));
	return rc;
}

void crypt_key_free(struct crypt_key *k)
{
	if (!k)
		return;
	mbedtls_gcm_free(&k->gcm); /* zeroizes the context */
	free(k);
}

int crypt_seal(struct crypt_key *k, const uint8_t nonce[CRYPT_NONCE_SIZE], const uint8_t *ad,
               size_t adlen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[CRYPT_TAG_SIZE])
{
	if (mbedtls_gcm_crypt_and_tag(&k->gcm, MBEDTLS_GCM_ENCRYPT, n, nonce, CRYPT_NONCE_SIZE, ad,
	                              adlen, in, out, CRYPT_TAG_SIZE, tag))
		return -EINVAL;
	return 0;
}

int crypt_open(struct crypt_key *k, const uint8_t nonce[CRYPT_NONCE_SIZE], const uint8_t *ad,
               size_t adlen, const uint8_t *in, size_t n, const uint8_t tag[CRYPT_TAG_SIZE],
               uint8_t *out)
{
	int rc = mbedtls_gcm_auth_decrypt(&k->gcm, n, nonce, CRYPT_NONCE_SIZE, ad, adlen, tag,
	                                  CRYPT_TAG_SIZE, in, out);

	if (rc == MBEDTLS_ERR_GCM_AUTH_FAILED)
		return -EACCES; /* Mbed TLS has already zeroed out */
	if (rc)
		return -EINVAL;
	return 0;
}

int crypt_authkey_read(const char *path, uint8_t **out, size_t *len, char *msg, size_t msglen)
{
	uint8_t *p;
	size_t got = 0;
	ssize_t n;
	int fd, rc = 0;

	if (msglen)
		msg[0] = '\0';
	fd = sys.open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(msg, msglen, "Could not open %s: %s", path, strerror(-fd));
		return fd;
	}
	p = xmalloc(CRYPT_AUTHKEY_MAX);
	while (got < CRYPT_AUTHKEY_MAX) {
		n = sys.read(fd, p + got, CRYPT_AUTHKEY_MAX - got);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, msglen, "Could not read %s: %s", path, strerror((int)-n));
			rc = (int)n;
			goto out_free;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got < CRYPT_AUTHKEY_MIN) {
		snprintf(msg, msglen, "Could only read %zu bits of minimum %d bits from %s.",
		         got * 8, CRYPT_AUTHKEY_MIN * 8, path);
		rc = -EINVAL;
		goto out_free;
	}
	sys.close(fd);
	*out = p;
	*len = got;
	return 0;

out_free:
	crypt_wipe(p, CRYPT_AUTHKEY_MAX);
	free(p);
	sys.close(fd);
	return rc;
}

int crypt_rng_new(const char *personalisation, struct crypt_rng **out)
{
	struct crypt_rng *r = xcalloc(1, sizeof(*r));
	const char *pers = personalisation ? personalisation : "cfsbox";

	mbedtls_entropy_init(&r->entropy);
	mbedtls_ctr_drbg_init(&r->drbg);
	if (mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
	                          (const unsigned char *)pers, strlen(pers))) {
		crypt_rng_free(r);
		return -EIO;
	}
	*out = r;
	return 0;
}

void crypt_rng_free(struct crypt_rng *r)
{
	if (!r)
		return;
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->entropy);
	free(r);
}

int crypt_rng_bytes(struct crypt_rng *r, void *p, size_t n)
{
	uint8_t *q = p;
	size_t chunk;

	while (n) {
		chunk = MIN(n, (size_t)MBEDTLS_CTR_DRBG_MAX_REQUEST);
		if (mbedtls_ctr_drbg_random(&r->drbg, q, chunk))
			return -EIO;
		q += chunk;
		n -= chunk;
	}
	return 0;
}

int crypt_random(void *p, size_t n)
{
	struct crypt_rng *r;
	int rc = crypt_rng_new("cfsbox one-shot", &r);

	if (rc)
		return rc;
	rc = crypt_rng_bytes(r, p, n);
	crypt_rng_free(r);
	return rc;
}
