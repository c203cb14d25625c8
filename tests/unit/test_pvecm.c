/* tests/unit/test_pvecm.c - applets/cluster_lib: base64, public keys, join
 * tokens, addnode/delnode edits of corosync.conf.
 * link: applets/cluster_lib.c
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "applets/cluster_lib.h"
#include "core/cert.h"
#include "core/path.h"
#include "tests/t.h"

static void b64(const char *in, const char *want)
{
	struct buf e = { 0 }, d = { 0 };

	cluster_lib_b64_encode(in, strlen(in), &e);
	buf_put_u8(&e, 0);
	T_EQ_STR((const char *)e.p, want);
	T_EQ_INT(cluster_lib_b64_decode(want, strlen(want), &d), 0);
	T_EQ_INT(d.len, strlen(in));
	T_ASSERT(d.len == 0 || !memcmp(d.p, in, d.len));
	buf_free(&e);
	buf_free(&d);
}

static void test_base64(void)
{
	struct buf d = { 0 };
	uint8_t raw[256];
	struct buf e = { 0 };
	int i;

	/* RFC 4648 §10 */
	b64("", "");
	b64("f", "Zg==");
	b64("fo", "Zm8=");
	b64("foo", "Zm9v");
	b64("foob", "Zm9vYg==");
	b64("fooba", "Zm9vYmE=");
	b64("foobar", "Zm9vYmFy");
	T_EQ_INT(cluster_lib_b64_decode("Zm9v!", 5, &d), -EBADMSG);
	T_EQ_INT(cluster_lib_b64_decode("Z", 1, &d), -EBADMSG);
	T_EQ_INT(cluster_lib_b64_decode("Zh==", 4, &d), -EBADMSG); /* non-zero leftover bits */
	buf_reset(&d);
	for (i = 0; i < 256; i++)
		raw[i] = (uint8_t)i;
	cluster_lib_b64_encode(raw, sizeof(raw), &e);
	T_EQ_INT(cluster_lib_b64_decode((const char *)e.p, e.len, &d), 0);
	T_EQ_INT(d.len, 256);
	T_ASSERT(!memcmp(d.p, raw, 256));
	buf_free(&d);
	buf_free(&e);
}

static void test_pubkey(void)
{
	struct cert_key *k;
	struct buf pem = { 0 }, pub = { 0 };

	T_EQ_INT(cert_key_new(&k), 0);
	T_EQ_INT(cert_key_pem(k, &pem), 0);
	T_EQ_INT(cluster_lib_pubkey_pem(pem.p, pem.len, &pub), 0);
	buf_put_u8(&pub, 0);
	T_ASSERT(!strncmp((const char *)pub.p, "-----BEGIN PUBLIC KEY-----\n", 27));
	T_ASSERT(strstr((const char *)pub.p, "-----END PUBLIC KEY-----\n") != NULL);
	T_ASSERT(strstr((const char *)pub.p, "PRIVATE") == NULL);
	T_EQ_INT(cluster_lib_pubkey_pem("junk", 4, &pub), -EBADMSG);
	cert_key_free(k);
	buf_free(&pem);
	buf_free(&pub);
}

static void test_tokens(void)
{
	char a[CLUSTER_TOKEN_STRLEN], b[CLUSTER_TOKEN_STRLEN];
	struct buf f = { 0 }, g = { 0 }, line = { 0 }, out = { 0 };
	size_t i;

	T_EQ_INT(cluster_lib_token_new(a), 0);
	T_EQ_INT(cluster_lib_token_new(b), 0);
	T_ASSERT(strcmp(a, b) != 0);
	T_EQ_INT(strlen(a), CLUSTER_TOKEN_STRLEN - 1);
	T_ASSERT(!strncmp(a, CLUSTER_TOKEN_PREFIX, strlen(CLUSTER_TOKEN_PREFIX)));
	for (i = 0; a[i]; i++)
		T_ASSERT(a[i] > ' ' && a[i] < 127 && a[i] != '/' && a[i] != '+');

	/* a valid until 2000, b until 1000; garbage lines are dropped */
	cluster_lib_token_line(a, 2000, &line);
	T_EQ_INT(line.len, 64 + 1 + 4 + 1);
	T_ASSERT(strstr((const char *)line.p, a) == NULL); /* only the hash is stored */
	buf_put_str(&f, "garbage line\n");
	buf_put_u8(&line, 0);
	cluster_lib_tokens_add((const char *)f.p, f.len, (const char *)line.p, 500, &g);
	buf_reset(&line);
	cluster_lib_token_line(b, 1000, &line);
	buf_put_u8(&line, 0);
	buf_reset(&f);
	cluster_lib_tokens_add((const char *)g.p, g.len, (const char *)line.p, 500, &f);
	T_EQ_INT(f.len, 2 * 70);

	/* wrong token */
	T_EQ_INT(cluster_lib_tokens_use((const char *)f.p, f.len, "cfsjoin-nope", 500, &out),
	         -EACCES);
	T_EQ_INT(out.len, f.len);
	/* expired token: refused, and removed */
	buf_reset(&out);
	T_EQ_INT(cluster_lib_tokens_use((const char *)f.p, f.len, b, 1500, &out), -ESTALE);
	T_EQ_INT(out.len, 70);
	/* good token: accepted once */
	buf_reset(&out);
	T_EQ_INT(cluster_lib_tokens_use((const char *)f.p, f.len, a, 600, &out), 0);
	T_EQ_INT(out.len, 70); /* b is left */
	buf_reset(&g);
	T_EQ_INT(cluster_lib_tokens_use((const char *)out.p, out.len, a, 600, &g), -EACCES);
	/* adding prunes expired lines */
	buf_reset(&g);
	cluster_lib_tokens_add((const char *)f.p, f.len, "", 1500, &g);
	T_EQ_INT(g.len, 70);
	buf_free(&f);
	buf_free(&g);
	buf_free(&line);
	buf_free(&out);
}

static const char one[] = "logging {\n  debug: off\n  to_syslog: yes\n}\n\n"
                          "nodelist {\n  node {\n    name: node01\n    nodeid: 1\n"
                          "    quorum_votes: 1\n    ring0_addr: 10.0.0.1\n  }\n}\n\n"
                          "quorum {\n  provider: corosync_votequorum\n}\n\n"
                          "totem {\n  cluster_name: lab\n  config_version: 1\n"
                          "  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n"
                          "  link_mode: passive\n  secauth: on\n  version: 2\n}\n\n";

static void test_addnode_delnode(void)
{
	const char *a2[COROSYNC_CONF_LINKS] = { "10.0.0.2" };
	const char *a3[COROSYNC_CONF_LINKS] = { "10.0.0.3" };
	const char *dup[COROSYNC_CONF_LINKS] = { "10.0.0.1" };
	struct buf b = { 0 }, c = { 0 }, d = { 0 };
	char err[COROSYNC_CONF_ERR_MAX], name[64];
	uint32_t id = 0;

	T_EQ_INT(cluster_lib_addnode(one, strlen(one), "node02", 0, 1, a2, &b, &id, err,
	                             sizeof(err)),
	         0);
	T_EQ_INT(id, 2);
	buf_put_u8(&b, 0);
	T_ASSERT(strstr((const char *)b.p, "  config_version: 2\n") != NULL);
	T_ASSERT(strstr((const char *)b.p, "    name: node02\n    nodeid: 2\n    quorum_votes: 1\n"
	                                   "    ring0_addr: 10.0.0.2\n") != NULL);
	b.len--;
	T_EQ_INT(cluster_lib_addnode((const char *)b.p, b.len, "node03", 0, 1, a3, &c, &id, err,
	                             sizeof(err)),
	         0);
	T_EQ_INT(id, 3);
	buf_reset(&d);
	T_EQ_INT(cluster_lib_addnode((const char *)c.p, c.len, "node02", 0, 1, a3, &d, &id, err,
	                             sizeof(err)),
	         -EEXIST);
	T_EQ_STR(err, "can't add existing node 'node02'");
	T_EQ_INT(cluster_lib_addnode((const char *)c.p, c.len, "node04", 0, 1, dup, &d, &id, err,
	                             sizeof(err)),
	         -EEXIST);
	T_EQ_STR(err, "corosync: address '10.0.0.1' already used on link ring0_addr by node "
	              "'node01'");
	/* delete by address, then the free id 2 is reused */
	buf_reset(&d);
	T_EQ_INT(cluster_lib_delnode((const char *)c.p, c.len, "10.0.0.2", &d, name, sizeof(name),
	                             err, sizeof(err)),
	         0);
	T_EQ_STR(name, "node02");
	buf_put_u8(&d, 0);
	T_ASSERT(strstr((const char *)d.p, "node02") == NULL);
	T_ASSERT(strstr((const char *)d.p, "  config_version: 4\n") != NULL);
	d.len--;
	T_EQ_INT(cluster_lib_delnode((const char *)d.p, d.len, "node09", &b, name, sizeof(name),
	                             err, sizeof(err)),
	         -ENOENT);
	T_EQ_STR(err, "Node/IP: node09 is not a known host of the cluster.");
	buf_reset(&b);
	T_EQ_INT(cluster_lib_addnode((const char *)d.p, d.len, "node04", 0, 1, a2, &b, &id, err,
	                             sizeof(err)),
	         0);
	T_EQ_INT(id, 2);
	/* --force: same id and votes overwrites, anything else is refused */
	buf_reset(&b);
	T_EQ_INT(cluster_lib_force_node((const char *)d.p, d.len, "node03", 0, 1, &b, &id, err,
	                                sizeof(err)),
	         1);
	T_EQ_INT(id, 3);
	T_EQ_STR(err, "forcing overwrite of configured node 'node03'");
	buf_put_u8(&b, 0);
	T_ASSERT(strstr((const char *)b.p, "node03") == NULL);
	T_ASSERT(strstr((const char *)b.p, "  config_version: 5\n") != NULL); /* a step */
	T_EQ_INT(cluster_lib_force_node((const char *)d.p, d.len, "node03", 5, 1, &b, &id, err,
	                                sizeof(err)),
	         -EEXIST);
	T_EQ_STR(err, "can't add existing node 'node03'");
	T_EQ_INT(cluster_lib_force_node((const char *)d.p, d.len, "node03", 0, 2, &b, &id, err,
	                                sizeof(err)),
	         -EEXIST);
	buf_reset(&b);
	T_EQ_INT(cluster_lib_force_node((const char *)d.p, d.len, "node07", 0, 1, &b, &id, err,
	                                sizeof(err)),
	         0);
	T_EQ_INT(b.len, 0);
	T_EQ_INT(cluster_lib_addnode("totem {", 7, "x", 0, 1, a2, &b, &id, err, sizeof(err)),
	         -EINVAL);
	buf_free(&b);
	buf_free(&c);
	buf_free(&d);
}

static void test_crypt_sha256(void)
{
	char out[CLUSTER_CRYPT_MAX];

	/* Drepper's test vectors (openssl passwd -5 agrees) */
	T_EQ_INT(cluster_lib_crypt_sha256("Hello world!", "$5$saltstring", out, sizeof(out)), 0);
	T_EQ_STR(out, "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5");
	T_EQ_INT(cluster_lib_crypt_sha256("Hello world!", "$5$rounds=10000$saltstringsaltstring",
	                                  out, sizeof(out)),
	         0);
	T_EQ_STR(out,
	         "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA");
	/* a whole hash is a setting: checking a password is comparing */
	T_EQ_INT(cluster_lib_crypt_sha256(
	                 "Hello world!",
	                 "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", out,
	                 sizeof(out)),
	         0);
	T_EQ_STR(out, "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5");
	T_EQ_INT(cluster_lib_crypt_sha256("hello world!", "$5$saltstring", out, sizeof(out)), 0);
	T_ASSERT(strcmp(out, "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5") != 0);
	T_EQ_INT(cluster_lib_crypt_sha256("x", "$6$saltstring", out, sizeof(out)), -EINVAL);
	T_EQ_INT(cluster_lib_crypt_sha256("x", "$5$salt", out, 20), -EINVAL);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_base64);
	T_RUN(test_pubkey);
	T_RUN(test_tokens);
	T_RUN(test_addnode_delnode);
	T_RUN(test_crypt_sha256);
	return t_done();
}
