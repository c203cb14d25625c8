/* core/mbedtls_config.h - the Mbed TLS 2.28 configuration of cfsbox.
 *
 * build.sh deps compiles Mbed TLS with -DMBEDTLS_CONFIG_FILE pointing at a
 * copy of this file, and every file that includes Mbed TLS headers (only
 * core/crypt.c) is compiled with the same define.  Only what cfsbox uses
 * is enabled; check_config.h (included at the end) rejects a set whose
 * prerequisites are missing.
 *
 * What for:
 *	transport (net/msg via core/crypt)  AES-256-GCM, SHA-256, HMAC (MD),
 *	                                    HKDF-SHA256, CTR_DRBG, entropy
 *	                                    (getrandom(), /dev/urandom fallback)
 *	TLS join/API listener (later)       TLS 1.2 client and server,
 *	                                    ECDHE-ECDSA with AES-GCM, P-256 only;
 *	                                    X.509 certificates and CSRs (parse
 *	                                    and write), PK parse/write, PEM,
 *	                                    base64, OID, ASN.1, bignum
 * Checked with a throwaway program (not in the tree, since only
 * core/crypt.c may include Mbed TLS): P-256 key generation, key PEM
 * write/parse, CSR write/parse, a self-signed CA certificate written and
 * parsed, and an in-memory TLS 1.2 handshake with hostname verification
 * negotiating ECDHE-ECDSA-AES128-GCM-SHA256, musl and glibc.
 * Not enabled: RSA, DHM, CBC/CTR/CCM/ChaCha, SHA-1/MD5/SHA-512 (so no
 * subject/authority key identifier extensions in written certificates:
 * Mbed TLS computes them with SHA-1; chain verification does not need
 * them), file
 * system helpers (MBEDTLS_FS_IO: callers read files with core/path.h and
 * parse the bytes), net and timing modules (sockets are ours), PSA,
 * self tests, error strings (errors are translated in core/crypt.c).
 */
#ifndef CORE_MBEDTLS_CONFIG_H
#define CORE_MBEDTLS_CONFIG_H

/* System support */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE /* certificate validity periods are checked */
#define MBEDTLS_DEPRECATED_REMOVED

/* Symmetric crypto and hashes */
#define MBEDTLS_AES_C
#define MBEDTLS_AESNI_C /* x86-64 AES-NI when the CPU has it; portable code otherwise */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_GCM_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_MD_C
#define MBEDTLS_HKDF_C

/* Random numbers: entropy from the platform (getrandom(), else
 * /dev/urandom) feeding CTR_DRBG (AES-256); HMAC_DRBG for deterministic
 * ECDSA signatures (RFC 6979), so a weak RNG never leaks a signing key. */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_HMAC_DRBG_C

/* Public key: ECDSA/ECDH on P-256 */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C

/* Encodings */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C

/* X.509: certificates and CSRs, parse and write */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CSR_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C
#define MBEDTLS_X509_CSR_WRITE_C

/* TLS 1.2, client and server, ECDHE-ECDSA only */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE /* peer certificate fingerprints for pinning */
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_CIPHERSUITES MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256

#include "mbedtls/check_config.h"

#endif /* CORE_MBEDTLS_CONFIG_H */
