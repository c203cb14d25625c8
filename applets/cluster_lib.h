/* applets/cluster_lib.h - what pvecm and cfsd's join listener share:
 * base64, the public half of a key, join tokens, and the corosync.conf
 * edits of addnode/delnode.
 * SPDX-License-Identifier: MIT
 *
 * Join tokens.  A token is CLUSTER_TOKEN_PREFIX followed by 43 characters
 * of base64url (32 random bytes): printable, one word, typed or pasted.
 * The daemon keeps only its SHA-256 (lower-case hex) and its expiry in
 * the tree file priv/join-tokens, one token a line:
 *	<64 hex digits> SP <expiry, epoch seconds> LF
 * A token is good once: checking it removes its line.  Lines that do not
 * parse and expired lines are dropped whenever the file is rewritten.
 *
 * Nothing here logs or prints; no global state.
 */
#ifndef APPLETS_CLUSTER_LIB_H
#define APPLETS_CLUSTER_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "core/buf.h"
#include "core/corosync_conf.h"

#define CLUSTER_TOKEN_PREFIX  "cfsjoin-"
#define CLUSTER_TOKEN_STRLEN  (8 + 43 + 1)
#define CLUSTER_TOKEN_TTL_SEC 3600
#define CLUSTER_TOKENS_PATH   "priv/join-tokens"

/* Standard base64 with padding (RFC 4648 §4), appended to out. */
void cluster_lib_b64_encode(const void *p, size_t n, struct buf *out);
/* Decode standard base64 (padding optional, no whitespace) and append to
 * out.  0 or -EBADMSG. */
int cluster_lib_b64_decode(const char *s, size_t n, struct buf *out);

/* The public key of a private key (PEM) as a SubjectPublicKeyInfo PEM
 * ("-----BEGIN PUBLIC KEY-----"), appended to out.  0 or -EBADMSG. */
int cluster_lib_pubkey_pem(const void *key_pem, size_t n, struct buf *out);

/* A new random token.  0 or -EIO. */
int cluster_lib_token_new(char out[CLUSTER_TOKEN_STRLEN]);
/* The line to store for token: "<sha256 hex> <expiry>\n", appended. */
void cluster_lib_token_line(const char *token, uint64_t expiry, struct buf *out);
/* Add a line to a tokens file's text: out gets the lines of text that
 * are still valid at now, then line. */
void cluster_lib_tokens_add(const char *text, size_t len, const char *line, time_t now,
                            struct buf *out);
/* Check token against a tokens file's text at now.  0: found and not
 * expired; out gets the file without it (and without expired or broken
 * lines).  -EACCES: unknown token.  -ESTALE: the token has expired (out
 * gets the file without it).  out is always filled. */
int cluster_lib_tokens_use(const char *text, size_t len, const char *token, time_t now,
                           struct buf *out);

/* SHA-256-crypt ("$5$[rounds=N$]salt$hash", Drepper's specification),
 * for root password checks where the libc has no crypt().  out gets the
 * whole hash string for key and the setting (a "$5$..." string; a hash
 * is a setting too).  0 or -EINVAL (not a "$5$" setting, out too small). */
#define CLUSTER_CRYPT_MAX 128
int cluster_lib_crypt_sha256(const char *key, const char *setting, char *out, size_t size);

/* pvecm addnode / the join API: add a node to the configuration text,
 * bump config_version and write the canonical text into out.
 * addr[0] must be given (link0, or the joiner's IP).  *nodeid_out gets
 * the node id.  -EINVAL or -EEXIST with Proxmox's message in err
 * (see corosync_conf_add_node()); a file that does not parse gives its
 * parser message. */
int cluster_lib_addnode(const char *text, size_t len, const char *name, uint32_t nodeid,
                        uint32_t votes, const char *const addr[COROSYNC_CONF_LINKS],
                        struct buf *out, uint32_t *nodeid_out, char *err, size_t errlen);
/* The --force of addnode (a reinstalled node joining again): when name
 * is configured with the same nodeid (or nodeid 0) and votes, out gets
 * the configuration without it (config_version + 1: the removal is a
 * membership step of its own), *nodeid_out its id and warn "forcing
 * overwrite of configured node '<name>'"; 1 is returned (commit out, then
 * add the node to it).  0: name is not configured (out empty).
 * -EEXIST "can't add existing node '<name>'" (other id or votes),
 * -EINVAL (does not parse). */
int cluster_lib_force_node(const char *text, size_t len, const char *name, uint32_t nodeid,
                           uint32_t votes, struct buf *out, uint32_t *nodeid_out, char *warn,
                           size_t warnlen);
/* pvecm delnode: remove the node named (or addressed) who; bump the
 * version; canonical text into out; *name_out (size CFS_NAME_MAX + 1,
 * may be NULL) the removed node's name.  -ENOENT "Node/IP: <who> is not
 * a known host of the cluster.", -EINVAL (does not parse). */
int cluster_lib_delnode(const char *text, size_t len, const char *who, struct buf *out,
                        char *name_out, size_t name_size, char *err, size_t errlen);

#endif /* APPLETS_CLUSTER_LIB_H */
