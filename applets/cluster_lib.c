/* applets/cluster_lib.c - base64, public keys, join tokens, nodelist edits
 * SPDX-License-Identifier: MIT
 *
 * The one place outside core/ that calls Mbed TLS: the public half of a
 * key (authkey.pub), which core/cert.h does not offer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "applets/cluster_lib.h"
#include "core/cert.h"
#include "core/crypt.h"
#include "core/util.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void cluster_lib_b64_encode(const void *p, size_t n, struct buf *out)
{
	const uint8_t *s = p;
	uint32_t v;
	size_t i;

	buf_reserve(out, (n + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		buf_put_u8(out, (uint8_t)b64[v >> 18]);
		buf_put_u8(out, (uint8_t)b64[(v >> 12) & 63]);
		buf_put_u8(out, (uint8_t)b64[(v >> 6) & 63]);
		buf_put_u8(out, (uint8_t)b64[v & 63]);
	}
	if (n - i == 1) {
		v = (uint32_t)s[i] << 16;
		buf_put_u8(out, (uint8_t)b64[v >> 18]);
		buf_put_u8(out, (uint8_t)b64[(v >> 12) & 63]);
		buf_put_str(out, "==");
	} else if (n - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		buf_put_u8(out, (uint8_t)b64[v >> 18]);
		buf_put_u8(out, (uint8_t)b64[(v >> 12) & 63]);
		buf_put_u8(out, (uint8_t)b64[(v >> 6) & 63]);
		buf_put_u8(out, '=');
	}
}

static int b64_val(char c)
{
	const char *q;

	if (!c)
		return -1;
	q = strchr(b64, c);
	return q ? (int)(q - b64) : -1;
}

int cluster_lib_b64_decode(const char *s, size_t n, struct buf *out)
{
	uint32_t v = 0;
	size_t i, bits = 0;
	int d;

	while (n && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		d = b64_val(s[i]);
		if (d < 0)
			return -EBADMSG;
		v = v << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_put_u8(out, (uint8_t)(v >> bits));
			v &= (1u << bits) - 1;
		}
	}
	return v ? -EBADMSG : 0; /* leftover bits must be zero */
}

int cluster_lib_pubkey_pem(const void *key_pem, size_t n, struct buf *out)
{
	return cert_pubkey_pem(key_pem, n, out);
}

int cluster_lib_token_new(char out[CLUSTER_TOKEN_STRLEN])
{
	uint8_t raw[32];
	struct buf b = { 0 };
	size_t i;
	int rc;

	rc = crypt_random(raw, sizeof(raw));
	if (rc < 0)
		return rc;
	cluster_lib_b64_encode(raw, sizeof(raw), &b);
	crypt_wipe(raw, sizeof(raw));
	/* base64url without padding: one word, safe in a shell and a URL */
	for (i = 0; i < b.len; i++) {
		if (b.p[i] == '+')
			b.p[i] = '-';
		else if (b.p[i] == '/')
			b.p[i] = '_';
	}
	while (b.len && b.p[b.len - 1] == '=')
		b.len--;
	snprintf(out, CLUSTER_TOKEN_STRLEN, "%s%.*s", CLUSTER_TOKEN_PREFIX, (int)b.len,
	         (const char *)b.p);
	crypt_wipe(b.p, b.len);
	buf_free(&b);
	return 0;
}

static void token_hash(const char *token, char hex[65])
{
	uint8_t h[CRYPT_SHA256_SIZE];
	int i;

	crypt_sha256(token, strlen(token), h);
	for (i = 0; i < CRYPT_SHA256_SIZE; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
}

void cluster_lib_token_line(const char *token, uint64_t expiry, struct buf *out)
{
	char hex[65];

	token_hash(token, hex);
	buf_printf(out, "%s %llu\n", hex, (unsigned long long)expiry);
}

/* Parse one line "<64 hex> <expiry>" (without LF): 0 or -EBADMSG. */
static int parse_line(const char *p, size_t n, char hex[65], uint64_t *expiry)
{
	char tmp[96], *end;
	size_t i;

	if (n < 66 || n >= sizeof(tmp) || p[64] != ' ')
		return -EBADMSG;
	memcpy(tmp, p, n);
	tmp[n] = 0;
	for (i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", tmp[i]))
			return -EBADMSG;
	memcpy(hex, tmp, 64);
	hex[64] = 0;
	if (tmp[65] < '0' || tmp[65] > '9')
		return -EBADMSG;
	*expiry = strtoull(tmp + 65, &end, 10);
	return *end ? -EBADMSG : 0;
}

/* Copy the valid lines of text (not expired at now, not equal to skip)
 * into out; returns 1 if skip was found valid, 2 if found expired, 0 if
 * not found. */
static int filter(const char *text, size_t len, const char *skip, time_t now, struct buf *out)
{
	const char *p = text, *end = text + len, *nl;
	char hex[65];
	uint64_t expiry;
	int found = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (parse_line(p, (size_t)(nl - p), hex, &expiry) == 0) {
			if (skip && !strcmp(hex, skip))
				found = expiry > (uint64_t)now ? 1 : 2;
			else if (expiry > (uint64_t)now)
				buf_printf(out, "%s %llu\n", hex, (unsigned long long)expiry);
		}
		p = nl + 1;
	}
	return found;
}

void cluster_lib_tokens_add(const char *text, size_t len, const char *line, time_t now,
                            struct buf *out)
{
	filter(text, len, NULL, now, out);
	buf_put_str(out, line);
}

int cluster_lib_tokens_use(const char *text, size_t len, const char *token, time_t now,
                           struct buf *out)
{
	char hex[65];
	int found;

	token_hash(token, hex);
	found = filter(text, len, hex, now, out);
	if (found == 1)
		return 0;
	return found == 2 ? -ESTALE : -EACCES;
}

static const char crypt64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void sha(struct buf *b, uint8_t out[CRYPT_SHA256_SIZE])
{
	crypt_sha256(b->p, b->len, out);
	buf_reset(b);
}

int cluster_lib_crypt_sha256(const char *key, const char *setting, char *out, size_t size)
{
	static const uint8_t order[10][3] = { { 0, 10, 20 }, { 21, 1, 11 }, { 12, 22, 2 },
		                              { 3, 13, 23 }, { 24, 4, 14 }, { 15, 25, 5 },
		                              { 6, 16, 26 }, { 27, 7, 17 }, { 18, 28, 8 },
		                              { 9, 19, 29 } };
	uint8_t a[32], b[32], dp[32], ds[32], c[32];
	struct buf m = { 0 };
	const char *salt = setting + 3, *end;
	unsigned long rounds = 5000;
	bool rounds_given = false;
	size_t klen = strlen(key), slen, i, n, o;
	char *e;
	uint32_t w;
	int k;

	if (strncmp(setting, "$5$", 3))
		return -EINVAL;
	if (!strncmp(salt, "rounds=", 7)) {
		rounds = strtoul(salt + 7, &e, 10);
		if (*e != '$')
			return -EINVAL;
		rounds = rounds < 1000 ? 1000 : rounds > 999999999 ? 999999999 : rounds;
		rounds_given = true;
		salt = e + 1;
	}
	end = strchr(salt, '$');
	slen = end ? (size_t)(end - salt) : strlen(salt);
	if (slen > 16)
		slen = 16;
	/* B = H(key salt key) */
	buf_put(&m, key, klen);
	buf_put(&m, salt, slen);
	buf_put(&m, key, klen);
	sha(&m, b);
	/* A = H(key salt B-repeated, then key/B by the bits of klen) */
	buf_put(&m, key, klen);
	buf_put(&m, salt, slen);
	for (n = klen; n > 32; n -= 32)
		buf_put(&m, b, 32);
	buf_put(&m, b, n);
	for (n = klen; n; n >>= 1) {
		if (n & 1)
			buf_put(&m, b, 32);
		else
			buf_put(&m, key, klen);
	}
	sha(&m, a);
	/* P = H(key x klen) stretched to klen; S = H(salt x (16 + A[0])) cut to slen */
	for (n = 0; n < klen; n++)
		buf_put(&m, key, klen);
	sha(&m, dp);
	for (n = 0; n < 16u + a[0]; n++)
		buf_put(&m, salt, slen);
	sha(&m, ds);
	memcpy(c, a, 32);
	for (i = 0; i < rounds; i++) {
		if (i & 1)
			for (n = 0; n < klen; n++)
				buf_put_u8(&m, dp[n % 32]);
		else
			buf_put(&m, c, 32);
		if (i % 3)
			buf_put(&m, ds, slen);
		if (i % 7)
			for (n = 0; n < klen; n++)
				buf_put_u8(&m, dp[n % 32]);
		if (i & 1)
			buf_put(&m, c, 32);
		else
			for (n = 0; n < klen; n++)
				buf_put_u8(&m, dp[n % 32]);
		sha(&m, c);
	}
	buf_free(&m);
	o = (size_t)snprintf(out, size, rounds_given ? "$5$rounds=%lu$%.*s$" : "$5$%.0lu%.*s$",
	                     rounds_given ? rounds : 0, (int)slen, salt);
	if (o + 44 > size)
		return -EINVAL;
	for (i = 0; i < 10; i++) {
		w = (uint32_t)c[order[i][0]] << 16 | (uint32_t)c[order[i][1]] << 8 | c[order[i][2]];
		for (k = 0; k < 4; k++, w >>= 6)
			out[o++] = crypt64[w & 63];
	}
	w = (uint32_t)c[31] << 8 | c[30];
	for (k = 0; k < 3; k++, w >>= 6)
		out[o++] = crypt64[w & 63];
	out[o] = 0;
	crypt_wipe(a, sizeof(a));
	crypt_wipe(b, sizeof(b));
	crypt_wipe(c, sizeof(c));
	crypt_wipe(dp, sizeof(dp));
	crypt_wipe(ds, sizeof(ds));
	return 0;
}

static int load(const char *text, size_t len, struct corosync_conf **c, char *err, size_t errlen)
{
	return corosync_conf_parse(text, len, "/etc/pve/corosync.conf", 0, c, err, errlen);
}

int cluster_lib_addnode(const char *text, size_t len, const char *name, uint32_t nodeid,
                        uint32_t votes, const char *const addr[COROSYNC_CONF_LINKS],
                        struct buf *out, uint32_t *nodeid_out, char *err, size_t errlen)
{
	struct corosync_conf *c;
	int rc;

	rc = load(text, len, &c, err, errlen);
	if (rc < 0)
		return rc;
	rc = corosync_conf_add_node(c, name, nodeid, votes, addr, nodeid_out, err, errlen);
	if (rc == 0)
		rc = corosync_conf_bump_version(c, NULL, err, errlen);
	if (rc == 0)
		corosync_conf_write(c, out);
	corosync_conf_free(c);
	return rc;
}

int cluster_lib_force_node(const char *text, size_t len, const char *name, uint32_t nodeid,
                           uint32_t votes, struct buf *out, uint32_t *nodeid_out, char *warn,
                           size_t warnlen)
{
	struct corosync_conf *c;
	struct cluster_conf cc;
	const struct cluster_conf_node *n = NULL;
	uint32_t id = 0, v = 0;
	size_t i;
	int rc;

	rc = load(text, len, &c, warn, warnlen);
	if (rc < 0)
		return rc;
	rc = corosync_conf_cluster(c, &cc, warn, warnlen);
	if (rc < 0) {
		corosync_conf_free(c);
		return rc;
	}
	for (i = 0; i < cc.n_nodes && !n; i++)
		if (cc.nodes[i].name && !strcmp(cc.nodes[i].name, name))
			n = &cc.nodes[i];
	if (n) {
		id = n->nodeid;
		v = n->votes;
	}
	corosync_conf_cluster_free(&cc);
	if (!n) {
		corosync_conf_free(c);
		return 0;
	}
	if ((nodeid && nodeid != id) || votes != v) {
		snprintf(warn, warnlen, "can't add existing node '%s'", name);
		corosync_conf_free(c);
		return -EEXIST;
	}
	rc = corosync_conf_remove_node(c, name, warn, warnlen);
	if (rc == 0)
		rc = corosync_conf_bump_version(c, NULL, warn, warnlen);
	if (rc == 0) {
		corosync_conf_write(c, out);
		*nodeid_out = id;
		snprintf(warn, warnlen, "forcing overwrite of configured node '%s'", name);
		rc = 1;
	}
	corosync_conf_free(c);
	return rc;
}

int cluster_lib_delnode(const char *text, size_t len, const char *who, struct buf *out,
                        char *name_out, size_t name_size, char *err, size_t errlen)
{
	struct corosync_conf *c;
	struct cluster_conf cc;
	const char *found = NULL;
	size_t i;
	int rc;

	rc = load(text, len, &c, err, errlen);
	if (rc < 0)
		return rc;
	if (name_out && name_size) {
		name_out[0] = 0;
		if (corosync_conf_cluster(c, &cc, NULL, 0) == 0) {
			for (i = 0; i < cc.n_nodes && !found; i++) {
				const struct cluster_conf_node *n = &cc.nodes[i];

				if ((n->name && !strcmp(n->name, who)) ||
				    (n->addr[0] && !strcmp(n->addr[0], who)) ||
				    (n->addr[1] && !strcmp(n->addr[1], who)))
					found = n->name;
			}
			if (found)
				snprintf(name_out, name_size, "%s", found);
			corosync_conf_cluster_free(&cc);
		}
	}
	rc = corosync_conf_remove_node(c, who, err, errlen);
	if (rc == 0)
		rc = corosync_conf_bump_version(c, NULL, err, errlen);
	if (rc == 0)
		corosync_conf_write(c, out);
	corosync_conf_free(c);
	return rc;
}
