/* tests/unit/test_crypt.c - core/crypt: known answers, AEAD, key file, RNG */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/crypt.h"
#include "core/path.h"
#include "core/sys.h"
#include "tests/t.h"

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	unsigned v;

	while (s[0] && s[1]) {
		sscanf(s, "%2x", &v);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void test_sha256_hmac_vectors(void)
{
	uint8_t out[32], want[32];

	/* FIPS 180-2 "abc" */
	crypt_sha256("abc", 3, out);
	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
	T_EQ_MEM(out, want, 32);
	/* RFC 4231 test case 2 */
	T_EQ_INT(crypt_hmac_sha256((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28,
	                           out),
	         0);
	unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want);
	T_EQ_MEM(out, want, 32);
	T_ASSERT(crypt_equal(out, want, 32));
	want[31] ^= 1;
	T_ASSERT(!crypt_equal(out, want, 32));
}

static void test_hkdf_rfc5869_case1(void)
{
	uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
	size_t i;

	memset(ikm, 0x0b, sizeof(ikm));
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)i;
	for (i = 0; i < sizeof(info); i++)
		info[i] = (uint8_t)(0xf0 + i);
	T_EQ_INT(crypt_hkdf_sha256(salt, sizeof(salt), ikm, sizeof(ikm), info, sizeof(info), okm,
	                           sizeof(okm)),
	         0);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
	      want);
	T_EQ_MEM(okm, want, 42);
	/* output length limits */
	T_EQ_INT(crypt_hkdf_sha256(salt, 13, ikm, 22, info, 10, okm, 0), -EINVAL);
	{
		static uint8_t big[255 * 32 + 1];
		T_EQ_INT(crypt_hkdf_sha256(salt, 13, ikm, 22, info, 10, big, sizeof(big)), -EINVAL);
		T_EQ_INT(crypt_hkdf_sha256(salt, 13, ikm, 22, info, 10, big, sizeof(big) - 1), 0);
	}
}

/* McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16
 * (AES-256, 96-bit IV, with additional data), as in NIST's GCM vectors. */
static void test_gcm_nist_vector(void)
{
	uint8_t key[32], iv[12], p[60], a[20], c[60], tag[16], ct[60], t[16], back[60];
	struct crypt_key *k;

	unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key);
	unhex("cafebabefacedbaddecaf888", iv);
	unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	      p);
	unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", a);
	unhex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	      c);
	unhex("76fc6ece0f4e1768cddf8853bb2d551b", tag);

	T_EQ_INT(crypt_key_new_raw(key, &k), 0);
	T_EQ_INT(crypt_seal(k, iv, a, sizeof(a), p, sizeof(p), ct, t), 0);
	T_EQ_MEM(ct, c, 60);
	T_EQ_MEM(t, tag, 16);
	T_EQ_INT(crypt_open(k, iv, a, sizeof(a), c, sizeof(c), tag, back), 0);
	T_EQ_MEM(back, p, 60);
	/* in place */
	memcpy(back, p, 60);
	T_EQ_INT(crypt_seal(k, iv, a, sizeof(a), back, sizeof(back), back, t), 0);
	T_EQ_MEM(back, c, 60);
	crypt_key_free(k);
	crypt_key_free(NULL);
}

static void test_aead_tamper(void)
{
	uint8_t authkey[256], nonce[12] = { 1, 2, 3 }, ad[40], msg[100], ct[100], tag[16], out[100],
	                      bad[100], badtag[16];
	struct crypt_key *k, *other;
	size_t i;

	for (i = 0; i < sizeof(authkey); i++)
		authkey[i] = (uint8_t)(i * 7);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	memset(ad, 0xa5, sizeof(ad));
	T_EQ_INT(crypt_key_new(authkey, sizeof(authkey), "testclu", &k), 0);
	T_EQ_INT(crypt_seal(k, nonce, ad, sizeof(ad), msg, sizeof(msg), ct, tag), 0);
	T_ASSERT(memcmp(ct, msg, sizeof(msg)) != 0);
	T_EQ_INT(crypt_open(k, nonce, ad, sizeof(ad), ct, sizeof(ct), tag, out), 0);
	T_EQ_MEM(out, msg, sizeof(msg));

	/* every single-bit change in ad, ciphertext, tag or nonce is caught */
	for (i = 0; i < sizeof(ad) * 8; i++) {
		ad[i / 8] ^= (uint8_t)(1 << (i % 8));
		T_EQ_INT(crypt_open(k, nonce, ad, sizeof(ad), ct, sizeof(ct), tag, out), -EACCES);
		ad[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
	for (i = 0; i < sizeof(ct) * 8; i += 3) {
		memcpy(bad, ct, sizeof(ct));
		bad[i / 8] ^= (uint8_t)(1 << (i % 8));
		T_EQ_INT(crypt_open(k, nonce, ad, sizeof(ad), bad, sizeof(bad), tag, out), -EACCES);
	}
	for (i = 0; i < 128; i++) {
		memcpy(badtag, tag, 16);
		badtag[i / 8] ^= (uint8_t)(1 << (i % 8));
		T_EQ_INT(crypt_open(k, nonce, ad, sizeof(ad), ct, sizeof(ct), badtag, out),
		         -EACCES);
	}
	nonce[11] ^= 1;
	T_EQ_INT(crypt_open(k, nonce, ad, sizeof(ad), ct, sizeof(ct), tag, out), -EACCES);
	nonce[11] ^= 1;
	/* truncated ciphertext */
	T_EQ_INT(crypt_open(k, nonce, ad, sizeof(ad), ct, sizeof(ct) - 1, tag, out), -EACCES);

	/* same authkey, other cluster name: another key */
	T_EQ_INT(crypt_key_new(authkey, sizeof(authkey), "testclu2", &other), 0);
	T_EQ_INT(crypt_open(other, nonce, ad, sizeof(ad), ct, sizeof(ct), tag, out), -EACCES);
	crypt_key_free(other);
	/* other authkey, same name */
	authkey[200] ^= 0x80;
	T_EQ_INT(crypt_key_new(authkey, sizeof(authkey), "testclu", &other), 0);
	T_EQ_INT(crypt_open(other, nonce, ad, sizeof(ad), ct, sizeof(ct), tag, out), -EACCES);
	crypt_key_free(other);
	crypt_key_free(k);
}

/* The key schedule is part of the protocol: pin it with a known answer
 * (computed independently with Python's cryptography package:
 * HKDF-SHA256(salt "cfsbox wire v1", ikm bytes 0..255,
 * info "cfsbox aes-256-gcm packet key, cluster testclu") then AES-GCM). */
static void test_key_schedule_known_answer(void)
{
	uint8_t authkey[256], nonce[12], ct[13], tag[16], want[29];
	struct crypt_key *k;
	size_t i;

	for (i = 0; i < sizeof(authkey); i++)
		authkey[i] = (uint8_t)i;
	for (i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)i;
	T_EQ_INT(crypt_key_new(authkey, sizeof(authkey), "testclu", &k), 0);
	T_EQ_INT(crypt_seal(k, nonce, (const uint8_t *)"hdr", 3, (const uint8_t *)"hello cluster",
	                    13, ct, tag),
	         0);
	unhex("fd7c8593e2a02972ab84bbbe16d2446d3e7c2fb724797076bff58391f8", want);
	T_EQ_MEM(ct, want, 13);
	T_EQ_MEM(tag, want + 13, 16);
	crypt_key_free(k);
}

static void test_key_limits(void)
{
	static uint8_t authkey[CRYPT_AUTHKEY_MAX + 1];
	char longname[CRYPT_CLUSTER_NAME_MAX + 2];
	struct crypt_key *k = NULL;

	T_EQ_INT(crypt_key_new(authkey, CRYPT_AUTHKEY_MIN - 1, "c", &k), -EINVAL);
	T_EQ_INT(crypt_key_new(authkey, CRYPT_AUTHKEY_MAX + 1, "c", &k), -EINVAL);
	T_EQ_INT(crypt_key_new(authkey, CRYPT_AUTHKEY_MIN, "", &k), -EINVAL);
	T_EQ_INT(crypt_key_new(authkey, CRYPT_AUTHKEY_MIN, NULL, &k), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	T_EQ_INT(crypt_key_new(authkey, CRYPT_AUTHKEY_MIN, longname, &k), -EINVAL);
	longname[CRYPT_CLUSTER_NAME_MAX] = '\0';
	T_EQ_INT(crypt_key_new(authkey, CRYPT_AUTHKEY_MIN, longname, &k), 0);
	crypt_key_free(k);
	T_EQ_INT(crypt_key_new(authkey, CRYPT_AUTHKEY_MAX, "c", &k), 0);
	crypt_key_free(k);
}

static ssize_t fail_read(int fd, void *p, size_t n)
{
	(void)fd;
	(void)p;
	(void)n;
	return -EIO;
}

static void test_authkey_file(void)
{
	const char *dir = t_tmpdir();
	char path[512], msg[600], want[700];
	static uint8_t data[5000];
	uint8_t *key = NULL;
	size_t len = 0, i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	snprintf(path, sizeof(path), "%s/authkey", dir);
	T_EQ_INT(crypt_authkey_read(path, &key, &len, msg, sizeof(msg)), -ENOENT);
	snprintf(want, sizeof(want), "Could not open %s: No such file or directory", path);
	T_EQ_STR(msg, want);

	T_EQ_INT(path_write_atomic(path, data, 64, 0400), 0);
	T_EQ_INT(crypt_authkey_read(path, &key, &len, msg, sizeof(msg)), -EINVAL);
	snprintf(want, sizeof(want), "Could only read 512 bits of minimum 1024 bits from %s.",
	         path);
	T_EQ_STR(msg, want);

	T_EQ_INT(path_write_atomic(path, data, 128, 0400), 0);
	T_EQ_INT(crypt_authkey_read(path, &key, &len, msg, sizeof(msg)), 0);
	T_EQ_INT(len, 128);
	T_EQ_MEM(key, data, 128);
	free(key);

	/* longer than 4096 bytes: the first 4096 are the key (corosync 3) */
	T_EQ_INT(path_write_atomic(path, data, sizeof(data), 0400), 0);
	T_EQ_INT(crypt_authkey_read(path, &key, &len, msg, sizeof(msg)), 0);
	T_EQ_INT(len, CRYPT_AUTHKEY_MAX);
	T_EQ_MEM(key, data, CRYPT_AUTHKEY_MAX);
	free(key);

	sys.read = fail_read;
	T_EQ_INT(crypt_authkey_read(path, &key, &len, msg, sizeof(msg)), -EIO);
	T_ASSERT(strstr(msg, "Could not read") != NULL);
	sys_reset();
}

static void test_rng(void)
{
	struct crypt_rng *r;
	uint8_t a[3000], b[3000], z[3000] = { 0 };

	T_EQ_INT(crypt_rng_new("test", &r), 0);
	T_EQ_INT(crypt_rng_bytes(r, a, sizeof(a)), 0);
	T_EQ_INT(crypt_rng_bytes(r, b, sizeof(b)), 0);
	T_ASSERT(memcmp(a, b, sizeof(a)) != 0);
	T_ASSERT(memcmp(a, z, sizeof(a)) != 0);
	crypt_rng_free(r);
	crypt_rng_free(NULL);
	T_EQ_INT(crypt_random(a, 32), 0);
	T_EQ_INT(crypt_random(b, 32), 0);
	T_ASSERT(memcmp(a, b, 32) != 0);
	crypt_wipe(a, sizeof(a));
	T_EQ_MEM(a, z, sizeof(a));
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_sha256_hmac_vectors);
	T_RUN(test_hkdf_rfc5869_case1);
	T_RUN(test_gcm_nist_vector);
	T_RUN(test_aead_tamper);
	T_RUN(test_key_schedule_known_answer);
	T_RUN(test_key_limits);
	T_RUN(test_authkey_file);
	T_RUN(test_rng);
	return t_done();
}
