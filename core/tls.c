/* core/tls.c - TLS 1.2 connections over non-blocking sockets with Mbed TLS
 * 2.28; see tls.h.  Mbed TLS codes are translated in xlate() and never
 * leave this file.
 *
 * Pinning: without a CA the client runs with MBEDTLS_SSL_VERIFY_OPTIONAL
 * (the chain cannot verify, the handshake goes on and still checks the
 * server's signature over the key exchange with the certificate's key);
 * when the handshake completes, the SHA-256 of the server certificate's
 * DER must equal the pin, else the connection fails with -EACCES before
 * the caller can send a byte.
 */
#define LOG_TAG "tls"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"

#include "core/crypt.h"
#include "core/tls.h"
#include "core/util.h"

#define PEM_MAX (64 * 1024)

struct tls_conf {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt crt;   /* server: own chain; client: CA bundle */
	mbedtls_pk_context key; /* server: own key */
	struct crypt_rng *rng;
	bool server;
	bool pinned;
	uint8_t pin[CERT_FP_SIZE];
};

struct tls {
	struct tls_conf *c;
	mbedtls_ssl_context ssl;
	int fd;
	int sys_err;     /* -errno of the last failed send/recv, else 0 */
	bool want_write; /* the last -EAGAIN waits for EV_WRITE */
	bool done;       /* handshake complete and pin checked */
	bool dead;       /* a fatal error happened: everything fails */
	int dead_rc;
	char msg[TLS_MSG_MAX];
};

static int rng_cb(void *ctx, unsigned char *out, size_t len)
{
	return crypt_rng_bytes(ctx, out, len) ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : 0;
}

/* PEM needs its NUL counted; DER does not.  Mbed TLS return code. */
static int parse_crt(mbedtls_x509_crt *crt, const void *p, size_t n)
{
	char *copy;
	int ret;

	if (n == 0 || n > PEM_MAX)
		return MBEDTLS_ERR_X509_BAD_INPUT_DATA;
	copy = xmalloc(n + 1);
	memcpy(copy, p, n);
	copy[n] = 0;
	ret = mbedtls_x509_crt_parse(crt, (unsigned char *)copy,
	                             memmem(p, n, "-----BEGIN", 10) ? n + 1 : n);
	free(copy);
	return ret;
}

static int conf_common(struct tls_conf *c, int endpoint)
{
	int rc;

	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->crt);
	mbedtls_pk_init(&c->key);
	rc = crypt_rng_new(endpoint == MBEDTLS_SSL_IS_SERVER ? "cfsbox tls server"
	                                                     : "cfsbox tls client",
	                   &c->rng);
	if (rc)
		return rc;
	if (mbedtls_ssl_config_defaults(&c->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                MBEDTLS_SSL_PRESET_DEFAULT))
		return -EIO;
	mbedtls_ssl_conf_rng(&c->conf, rng_cb, c->rng);
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	                             MBEDTLS_SSL_MINOR_VERSION_3);
	return 0;
}

void tls_conf_free(struct tls_conf *c)
{
	if (!c)
		return;
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->crt);
	mbedtls_pk_free(&c->key);
	crypt_rng_free(c->rng);
	crypt_wipe(c, sizeof(*c));
	free(c);
}

int tls_conf_server_new(const void *cert_pem, size_t cert_len, const void *key_pem, size_t key_len,
                        struct tls_conf **out)
{
	struct tls_conf *c = xcalloc(1, sizeof(*c));
	uint8_t *copy;
	int rc, ret;

	c->server = true;
	rc = conf_common(c, MBEDTLS_SSL_IS_SERVER);
	if (rc)
		goto out_free;
	rc = -EINVAL;
	if (parse_crt(&c->crt, cert_pem, cert_len))
		goto out_free;
	if (key_len == 0 || key_len > PEM_MAX)
		goto out_free;
	copy = xmalloc(key_len + 1);
	memcpy(copy, key_pem, key_len);
	copy[key_len] = 0;
	ret = mbedtls_pk_parse_key(
	        &c->key, copy, memmem(key_pem, key_len, "-----BEGIN", 10) ? key_len + 1 : key_len,
	        NULL, 0);
	crypt_wipe(copy, key_len);
	free(copy);
	if (ret || mbedtls_pk_check_pair(&c->crt.pk, &c->key))
		goto out_free;
	if (mbedtls_ssl_conf_own_cert(&c->conf, &c->crt, &c->key))
		goto out_free;
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
	*out = c;
	return 0;
out_free:
	tls_conf_free(c);
	return rc;
}

int tls_conf_client_new(const void *ca_pem, size_t ca_len, const char *fingerprint,
                        struct tls_conf **out)
{
	struct tls_conf *c = xcalloc(1, sizeof(*c));
	int rc;

	rc = conf_common(c, MBEDTLS_SSL_IS_CLIENT);
	if (rc)
		goto out_free;
	rc = -EINVAL;
	if (fingerprint) {
		if (cert_fp_parse(fingerprint, c->pin))
			goto out_free;
		c->pinned = true;
	}
	if (ca_pem) {
		if (parse_crt(&c->crt, ca_pem, ca_len))
			goto out_free;
		mbedtls_ssl_conf_ca_chain(&c->conf, &c->crt, NULL);
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	} else {
		/* pinned or trust on first use: checked after the handshake */
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
	}
	*out = c;
	return 0;
out_free:
	tls_conf_free(c);
	return rc;
}

/* ------------------------------------------------------------ connections */

static int bio_send(void *ctx, const unsigned char *p, size_t n)
{
	struct tls *t = ctx;
	ssize_t r = send(t->fd, p, n, MSG_NOSIGNAL);

	if (r >= 0)
		return (int)r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	t->sys_err = -errno;
	return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static int bio_recv(void *ctx, unsigned char *p, size_t n)
{
	struct tls *t = ctx;
	ssize_t r = recv(t->fd, p, n, 0);

	if (r >= 0)
		return (int)r; /* 0: EOF, which Mbed TLS turns into CONN_EOF */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	t->sys_err = -errno;
	return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

int tls_new(struct tls_conf *c, int fd, const char *server_name, struct tls **out)
{
	struct tls *t = xcalloc(1, sizeof(*t));

	t->c = c;
	t->fd = fd;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &c->conf) ||
	    (!c->server && server_name && mbedtls_ssl_set_hostname(&t->ssl, server_name))) {
		tls_free(t);
		return -EIO;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	*out = t;
	return 0;
}

void tls_free(struct tls *t)
{
	if (!t)
		return;
	mbedtls_ssl_free(&t->ssl);
	free(t);
}

static int fail(struct tls *t, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct tls *t, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
	va_end(ap);
	t->dead = true;
	t->dead_rc = rc;
	return rc;
}

/* An Mbed TLS result (< 0) into our vocabulary, with a message. */
static int xlate(struct tls *t, int ret)
{
	const char *phase = t->done ? "TLS connection" : "TLS handshake";
	uint32_t flags;

	switch (ret) {
	case MBEDTLS_ERR_SSL_WANT_READ:
		t->want_write = false;
		return -EAGAIN;
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		t->want_write = true;
		return -EAGAIN;
	}
	if (t->sys_err)
		return fail(t, t->sys_err, "%s: %s", phase, cfs_strerror(t->sys_err));
	switch (ret) {
	case MBEDTLS_ERR_SSL_CONN_EOF:
		return fail(t, -ECONNRESET, "%s: connection closed by the peer", phase);
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		return fail(t, -EACCES, "%s failed: the peer sent a fatal alert", phase);
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
		flags = mbedtls_ssl_get_verify_result(&t->ssl);
		return fail(t, -EACCES, "%s failed: %s", phase,
		            flags & MBEDTLS_X509_BADCERT_EXPIRED
		                    ? "the server certificate has expired"
		            : flags & MBEDTLS_X509_BADCERT_FUTURE
		                    ? "the server certificate is not valid yet"
		            : flags & MBEDTLS_X509_BADCERT_CN_MISMATCH
		                    ? "the server certificate is for another name"
		                    : "the server certificate is not signed by the cluster CA");
	case MBEDTLS_ERR_SSL_INVALID_RECORD:
	case MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO:
	case MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO:
		return fail(t, t->done ? -EBADMSG : -EACCES,
		            "%s failed: the peer does not speak TLS 1.2", phase);
	case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
	case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
		return fail(t, -EACCES, "%s failed: no cipher suite in common (ECDHE-ECDSA)",
		            phase);
	case MBEDTLS_ERR_SSL_INVALID_MAC:
		return fail(t, -EBADMSG, "%s: a record failed its integrity check", phase);
	}
	return fail(t, t->done ? -EBADMSG : -EACCES, "%s failed (mbedtls -0x%04x)", phase,
	            (unsigned)-ret);
}

static int check_pin(struct tls *t)
{
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&t->ssl);
	uint8_t fp[CERT_FP_SIZE];
	char got[CERT_FP_STRLEN], want[CERT_FP_STRLEN];

	if (!t->c->pinned || t->c->server)
		return 0;
	if (!peer)
		return fail(t, -EACCES, "TLS handshake failed: the server sent no certificate");
	crypt_sha256(peer->raw.p, peer->raw.len, fp);
	if (crypt_equal(fp, t->c->pin, sizeof(fp)))
		return 0;
	cert_fp_format(fp, got);
	cert_fp_format(t->c->pin, want);
	/* Tell the server why, as far as the socket takes it. */
	mbedtls_ssl_send_alert_message(&t->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
	                               MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED);
	return fail(t, -EACCES, "certificate fingerprint mismatch: the server has %s, expected %s",
	            got, want);
}

int tls_handshake(struct tls *t)
{
	int ret;

	if (t->dead)
		return t->dead_rc;
	if (t->done)
		return 0;
	t->msg[0] = 0;
	ret = mbedtls_ssl_handshake(&t->ssl);
	if (ret)
		return xlate(t, ret);
	ret = check_pin(t);
	if (ret)
		return ret;
	t->done = true;
	return 0;
}

bool tls_handshake_done(const struct tls *t)
{
	return t->done;
}

ssize_t tls_read(struct tls *t, void *p, size_t n)
{
	int ret = tls_handshake(t);

	if (ret)
		return ret;
	if (n == 0)
		return 0;
	ret = mbedtls_ssl_read(&t->ssl, p, MIN(n, (size_t)INT32_MAX));
	if (ret > 0)
		return ret;
	if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	return xlate(t, ret);
}

ssize_t tls_write(struct tls *t, const void *p, size_t n)
{
	int ret = tls_handshake(t);

	if (ret)
		return ret;
	if (n == 0)
		return 0;
	ret = mbedtls_ssl_write(&t->ssl, p, MIN(n, (size_t)INT32_MAX));
	if (ret >= 0)
		return ret;
	return xlate(t, ret);
}

int tls_close_notify(struct tls *t)
{
	int ret;

	if (t->dead)
		return t->dead_rc;
	ret = mbedtls_ssl_close_notify(&t->ssl);
	return ret ? xlate(t, ret) : 0;
}

bool tls_want_write(const struct tls *t)
{
	return t->want_write;
}

bool tls_pending(const struct tls *t)
{
	return mbedtls_ssl_get_bytes_avail(&t->ssl) > 0 || mbedtls_ssl_check_pending(&t->ssl);
}

const char *tls_msg(const struct tls *t)
{
	return t->msg;
}

int tls_peer_fingerprint(const struct tls *t, char out[CERT_FP_STRLEN])
{
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&t->ssl);
	uint8_t fp[CERT_FP_SIZE];

	if (!peer)
		return -ENOENT;
	crypt_sha256(peer->raw.p, peer->raw.len, fp);
	cert_fp_format(fp, out);
	return 0;
}
