/* core/cert.h - the cluster CA and node certificates (spec/pmxcfs.md §1.2).
 *
 * Keys are ECDSA P-256, not RSA as in Proxmox (RSA 4096 CA key, RSA 2048
 * node keys): key generation takes milliseconds instead of seconds, and the
 * TLS listener only speaks ECDHE-ECDSA (core/mbedtls_config.h).  Anything
 * that reads the PEM files (openssl, browsers, curl) handles P-256.  Key
 * files are "-----BEGIN EC PRIVATE KEY-----" (SEC1) PEM.  Signatures are
 * ecdsa-with-SHA256.
 *
 * What is written, as Proxmox's Setup.pm does with openssl:
 *   CA    subject "CN=Proxmox Virtual Environment, OU=<random UUID>,
 *         O=PVE Cluster Manager CA" (issuer the same), X.509 v3,
 *         basicConstraints CA:TRUE (critical), keyUsage keyCertSign, cRLSign
 *         (critical); valid from now - 1 day ("faketime yesterday") for
 *         3650 days.
 *   node  subject "OU=PVE Cluster Node, O=Proxmox Virtual Environment,
 *         CN=<fqdn>", issuer = the CA's subject, basicConstraints CA:FALSE,
 *         extendedKeyUsage serverAuth, subjectAltName IP:127.0.0.1, IP:::1,
 *         DNS:localhost, IP:<node ip>, DNS:<node>[, DNS:<fqdn> if it differs
 *         from <node>]; valid from now - 1 day for min(730 days, days until
 *         the CA expires - 2); refused when the CA expires in less than 14
 *         days.  Signed directly by the CA key (no CSR round trip).
 * There are no subject/authority key identifier extensions (they need
 * SHA-1, which the build leaves out); chains of one CA do not need them.
 *
 * Time is passed in (now, seconds since the epoch): the functions never
 * read the clock, so tests can make certificates at any date.
 * All functions may block for a few milliseconds (key generation, ECDSA).
 * Errors:
 *	-EINVAL   a bad argument (an IP that does not parse, serial 0, a name
 *	          with characters a DN or DNS name cannot hold), or the CA
 *	          expires too soon (with *why = CERT_MSG_CA_EXPIRING)
 *	-EBADMSG  PEM/DER input that does not parse, or a key that is not P-256
 *	-EACCES   a certificate that does not verify
 *	-EIO      the random number generator failed
 */
#ifndef CORE_CERT_H
#define CORE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "core/buf.h"

#define CERT_FP_SIZE         32 /* SHA-256 */
#define CERT_FP_STRLEN       96 /* "AB:CD:...:EF" + NUL */
#define CERT_CA_DAYS         3650
#define CERT_NODE_DAYS       730
#define CERT_MSG_CA_EXPIRING "CA expires in less than 2 weeks, unable to generate certificate."

struct cert_key; /* an ECDSA P-256 key pair; opaque */

/* A new random P-256 key.  0 or -EIO. */
int cert_key_new(struct cert_key **out);
/* A private key from PEM (or DER) bytes.  0 or -EBADMSG. */
int cert_key_parse(const void *p, size_t n, struct cert_key **out);
/* Append the private key as PEM to out.  0 (or -EIO on an internal failure). */
int cert_key_pem(const struct cert_key *k, struct buf *out);
void cert_key_free(struct cert_key *k); /* wipes; accepts NULL */

/* The cluster CA: a self-signed certificate for key, appended to pem as
 * PEM.  A random UUID is generated for the OU.  0, -EINVAL (serial 0),
 * -EIO. */
int cert_ca_create(const struct cert_key *key, uint64_t serial, time_t now, struct buf *pem);

struct cert_node_req {
	const char *node; /* node name: DNS SAN */
	const char *fqdn; /* CN and DNS SAN; NULL or "" means node */
	const char *ip;   /* node address, IPv4 or IPv6 text: IP SAN */
	uint64_t serial;  /* the CA's next serial number, >= 1 */
	time_t now;
};

/* A node certificate for node_key, signed by ca_key whose certificate is
 * ca_pem (PEM, ca_len bytes); appended to pem.  0, -EINVAL (*why says
 * why when why is not NULL), -EBADMSG (CA certificate), -EIO. */
int cert_node_create(const void *ca_pem, size_t ca_len, const struct cert_key *ca_key,
                     const struct cert_key *node_key, const struct cert_node_req *req,
                     struct buf *pem, const char **why);

/* Does the certificate verify against the CA (one level: signed by it,
 * the CA is a CA, both valid at now)?  0, -EACCES (does not verify, or
 * not valid at now), -EBADMSG (either does not parse). */
int cert_verify(const void *ca_pem, size_t ca_len, const void *pem, size_t n, time_t now);

/* Does the certificate belong to the key (same public key)? */
bool cert_matches_key(const void *pem, size_t n, const struct cert_key *k);

/* SHA-256 over the DER of the (first) certificate in PEM or DER input,
 * raw (cert_fp) or as Proxmox prints it: upper-case hex pairs joined by
 * ':' (cert_fingerprint).  0 or -EBADMSG. */
int cert_fp(const void *p, size_t n, uint8_t out[CERT_FP_SIZE]);
int cert_fingerprint(const void *p, size_t n, char out[CERT_FP_STRLEN]);
/* Format 32 raw bytes the same way. */
void cert_fp_format(const uint8_t fp[CERT_FP_SIZE], char out[CERT_FP_STRLEN]);
/* Parse a fingerprint a user typed: 32 hex pairs, upper or lower case,
 * separated by ':' (or not separated at all).  0 or -EINVAL. */
int cert_fp_parse(const char *s, uint8_t out[CERT_FP_SIZE]);

struct cert_info {
	char subject[256]; /* "CN=..., OU=..., O=..." in certificate order */
	char issuer[256];
	char san[512];   /* "IP:127.0.0.1, IP:::1, DNS:localhost, ..." in order */
	char serial[40]; /* hex, as mbedtls prints it ("01", "1A:2B") */
	time_t not_before;
	time_t not_after;
	bool is_ca;
	int key_usage;    /* MBEDTLS_X509_KU_* bits: 0x04 keyCertSign, 0x02 cRLSign */
	bool server_auth; /* extendedKeyUsage holds serverAuth */
};

/* Read the fields above from a PEM/DER certificate.  0 or -EBADMSG. */
int cert_info(const void *p, size_t n, struct cert_info *out);

/* The public key of a private key in PEM (the ticket key pair
 * authkey.pub / priv/authkey.key).  0 or -EBADMSG. */
int cert_pubkey_pem(const void *key_pem, size_t n, struct buf *out);

#endif /* CORE_CERT_H */
