/* core/tls.h - TLS 1.2 over a non-blocking socket, for a libev loop or a
 * poll() loop (ECDHE-ECDSA with AES-128-GCM, P-256; core/mbedtls_config.h).
 *
 * A struct tls_conf holds what many connections share: the server's
 * certificate and key, or the client's way of trusting a server.  A
 * struct tls is one connection over a connected socket the caller owns
 * (set it O_NONBLOCK; tls never closes it).  Every call returns at once:
 * -EAGAIN means "call again when the socket is ready", and
 * tls_want_write() tells for which direction (EV_WRITE if true, else
 * EV_READ).  A loop drives it like this:
 *
 *	rc = tls_handshake(t);         // until 0
 *	n = tls_read(t, p, size);      // bytes, 0 at the peer's end, -errno
 *	n = tls_write(t, p, len);      // bytes taken (all of them unless -EAGAIN)
 *
 * Note for readers: TLS buffers whole records, so after a read the loop
 * must call tls_read() again while tls_pending() is true before waiting
 * for EV_READ.
 *
 * Trust on the client side: either the server's certificate must chain to
 * a CA given in PEM (tls_conf_client_new(ca, ...)), or it is pinned by the
 * SHA-256 fingerprint of the server certificate (pvecm add --fingerprint:
 * the joiner knows nothing else); with neither, any certificate is
 * accepted and tls_peer_fingerprint() lets the caller show it and ask.
 * The pin is checked as soon as the handshake has verified the server's
 * key exchange signature, before any application data is sent.
 *
 * Errors (Mbed TLS codes never leave core/tls.c):
 *	-EAGAIN      would block; see tls_want_write()
 *	-EACCES      handshake failure or untrusted peer (fingerprint mismatch,
 *	             no common cipher, bad certificate, alert from the peer);
 *	             tls_msg() says what, for the user
 *	-EBADMSG     after the handshake, a record that does not decode or
 *	             fails its integrity check (during the handshake any such
 *	             failure, plain HTTP on the port included, is -EACCES)
 *	-ECONNRESET  the peer closed the connection during the handshake
 *	-EPIPE etc.  the socket's own errors, as -errno
 *	-EINVAL      bad PEM/key given to tls_conf_*_new(), or a bad pin string
 *	-EIO         the random number generator or an internal failure
 * After an error other than -EAGAIN the connection is dead: free it.
 * Timeouts are the caller's business (an ev_timer, or the deadline of
 * net/http.c's client, which returns -ETIMEDOUT).
 */
#ifndef CORE_TLS_H
#define CORE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "core/cert.h"

#define TLS_MSG_MAX 256

struct tls_conf;
struct tls;

/* A server configuration with a certificate (PEM; it may be followed by
 * its CA) and its private key (PEM).  0, -EINVAL (does not parse, or the
 * key does not match the certificate), -EIO. */
int tls_conf_server_new(const void *cert_pem, size_t cert_len, const void *key_pem, size_t key_len,
                        struct tls_conf **out);
/* A client configuration.  ca_pem (NULL: none) is a CA bundle the server
 * must chain to; fingerprint (NULL: none) pins the server certificate
 * (cert_fp_parse() format).  Both NULL: accept any server.  0, -EINVAL,
 * -EIO. */
int tls_conf_client_new(const void *ca_pem, size_t ca_len, const char *fingerprint,
                        struct tls_conf **out);
/* Frees; accepts NULL.  Connections made from it must be freed first. */
void tls_conf_free(struct tls_conf *c);

/* A connection over fd (connected, non-blocking, owned by the caller).
 * server_name (client only, may be NULL) is sent as SNI and, with a CA,
 * checked against the certificate.  0 or -EIO. */
int tls_new(struct tls_conf *c, int fd, const char *server_name, struct tls **out);
/* Frees; does not close fd; accepts NULL. */
void tls_free(struct tls *t);

/* Advance the handshake: 0 when done (then again 0), -EAGAIN, or a
 * fatal error as above. */
int tls_handshake(struct tls *t);
bool tls_handshake_done(const struct tls *t);
/* Read up to n bytes: bytes read (> 0), 0 when the peer closed (close
 * notify or EOF), -EAGAIN or a fatal error.  Runs the handshake first
 * if it is not done. */
ssize_t tls_read(struct tls *t, void *p, size_t n);
/* Write: bytes taken (> 0; call again with the rest), -EAGAIN (call again
 * with the same data) or a fatal error. */
ssize_t tls_write(struct tls *t, const void *p, size_t n);
/* Send close_notify: 0, -EAGAIN or -errno.  Optional before tls_free(). */
int tls_close_notify(struct tls *t);
/* After -EAGAIN: true if the socket must become writable, false if
 * readable. */
bool tls_want_write(const struct tls *t);
/* Decrypted bytes are buffered inside: read them before waiting. */
bool tls_pending(const struct tls *t);
/* A message for the user about the last error (or "" when none); valid
 * until the next call on t. */
const char *tls_msg(const struct tls *t);
/* The fingerprint of the peer's certificate (after the handshake; the
 * client sees the server's).  0 or -ENOENT (no certificate yet). */
int tls_peer_fingerprint(const struct tls *t, char out[CERT_FP_STRLEN]);

#endif /* CORE_TLS_H */
