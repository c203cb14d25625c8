/* core/crypt.h - the cryptography cfsbox uses, over Mbed TLS 2.28.
 *
 * core/crypt.c is the only file that includes Mbed TLS headers; every
 * Mbed TLS error code is translated there into our -errno vocabulary:
 *	-EACCES   authentication failed (GCM tag mismatch)
 *	-EINVAL   a bad argument from a user or a peer (key size, lengths)
 *	-EIO      the random number generator or entropy source failed
 *
 * Transport key (DESIGN.md §5).  The cluster key file (corosync authkey,
 * 128..4096 raw bytes) is never used directly: the AES-256-GCM key is
 *	HKDF-SHA256(salt = CRYPT_KDF_SALT,
 *	            ikm  = the authkey file bytes,
 *	            info = CRYPT_KDF_INFO || cluster name)   -> 32 bytes
 * so the key is bound to the protocol label and to the cluster name: two
 * clusters that share an authkey by accident do not accept each other's
 * traffic.  Changing the labels is a protocol change.
 *
 * All functions may be called from the loop thread and do not block,
 * except crypt_rng_new() / crypt_random(), which may read the kernel's
 * entropy source once.
 */
#ifndef CORE_CRYPT_H
#define CORE_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPT_KEY_SIZE         32 /* AES-256 */
#define CRYPT_NONCE_SIZE       12 /* GCM nonce, never repeated for one key */
#define CRYPT_TAG_SIZE         16 /* GCM tag */
#define CRYPT_SHA256_SIZE      32
#define CRYPT_AUTHKEY_MIN      128  /* bytes; corosync-keygen -s range */
#define CRYPT_AUTHKEY_MAX      4096 /* bytes */
#define CRYPT_KDF_SALT         "cfsbox wire v1"
#define CRYPT_KDF_INFO         "cfsbox aes-256-gcm packet key, cluster "
#define CRYPT_CLUSTER_NAME_MAX 255 /* bytes of a cluster name in the KDF */

/* --- primitives (known-answer tested) -------------------------------- */

void crypt_sha256(const void *p, size_t n, uint8_t out[CRYPT_SHA256_SIZE]);
/* HMAC-SHA256; 0 or -EINVAL */
int crypt_hmac_sha256(const uint8_t *key, size_t keylen, const void *p, size_t n,
                      uint8_t out[CRYPT_SHA256_SIZE]);
/* RFC 5869 HKDF with SHA-256; outlen <= 255 * 32.  0 or -EINVAL */
int crypt_hkdf_sha256(const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
                      const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen);
/* Compare in time independent of the contents. */
bool crypt_equal(const void *a, const void *b, size_t n);
/* Overwrite memory in a way the compiler cannot drop. */
void crypt_wipe(void *p, size_t n);

/* --- AEAD key -------------------------------------------------------- */

struct crypt_key; /* AES-256-GCM context; opaque */

/* A key from the 32 raw key bytes (tests, known-answer vectors). 0 or -EINVAL. */
int crypt_key_new_raw(const uint8_t raw[CRYPT_KEY_SIZE], struct crypt_key **out);
/* The transport key: HKDF as above from the authkey bytes (CRYPT_AUTHKEY_MIN
 * ..CRYPT_AUTHKEY_MAX, else -EINVAL) and the cluster name (1..
 * CRYPT_CLUSTER_NAME_MAX bytes, else -EINVAL).  Neither is kept. */
int crypt_key_new(const uint8_t *authkey, size_t len, const char *cluster_name,
                  struct crypt_key **out);
/* Wipes and frees; accepts NULL. */
void crypt_key_free(struct crypt_key *k);

/* Encrypt n bytes of in into out (may be the same buffer) and compute the
 * tag over ad (additional data, not encrypted) and the ciphertext.  The
 * caller guarantees the nonce is never used twice with this key.
 * 0 or -EINVAL. */
int crypt_seal(struct crypt_key *k, const uint8_t nonce[CRYPT_NONCE_SIZE], const uint8_t *ad,
               size_t adlen, const uint8_t *in, size_t n, uint8_t *out,
               uint8_t tag[CRYPT_TAG_SIZE]);
/* Check the tag and decrypt.  -EACCES if the tag does not verify; then out
 * holds nothing usable (it is zeroed).  0, -EACCES or -EINVAL. */
int crypt_open(struct crypt_key *k, const uint8_t nonce[CRYPT_NONCE_SIZE], const uint8_t *ad,
               size_t adlen, const uint8_t *in, size_t n, const uint8_t tag[CRYPT_TAG_SIZE],
               uint8_t *out);

/* --- the authkey file ------------------------------------------------ */

/* Read a corosync authkey file (raw bytes, CRYPT_AUTHKEY_MIN..MAX) into a
 * malloc'ed buffer *out of *len bytes (caller frees, after crypt_wipe()).
 * On failure returns -errno and writes corosync's message into msg:
 *	-ENOENT etc.  "Could not open <file>: No such file or directory"
 *	-EINVAL       "Could only read 512 bits of minimum 1024 bits from <file>."
 * (spec/corosync.md §5.1).  A file longer than CRYPT_AUTHKEY_MAX is read
 * up to that size, as corosync does. */
int crypt_authkey_read(const char *path, uint8_t **out, size_t *len, char *msg, size_t msglen);

/* --- random numbers -------------------------------------------------- */

struct crypt_rng; /* CTR_DRBG (AES-256) seeded from the kernel; opaque */

/* 0, or -EIO if the entropy source fails. */
int crypt_rng_new(const char *personalisation, struct crypt_rng **out);
void crypt_rng_free(struct crypt_rng *r);
/* n random bytes; 0 or -EIO */
int crypt_rng_bytes(struct crypt_rng *r, void *p, size_t n);
/* One-shot: a fresh generator for one call (slow; for rare uses such
 * as file salts).  0 or -EIO. */
int crypt_random(void *p, size_t n);

#endif /* CORE_CRYPT_H */
