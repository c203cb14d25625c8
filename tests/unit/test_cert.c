/* tests/unit/test_cert.c - core/cert: CA and node certificates, verification,
 * fingerprints; cross-checked with openssl(1) when it is installed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/cert.h"
#include "core/path.h"
#include "tests/t.h"

#define DAY 86400

static const time_t now0 = 1764000000; /* 2025-11-24, a fixed time */

struct pki {
	struct cert_key *ca_key;
	struct cert_key *node_key;
	struct buf ca;
	struct buf node;
};

static void pki_make_at(struct pki *k, const char *fqdn, const char *ip, time_t now)
{
	struct cert_node_req req = { "node1", fqdn, ip, 2, now };
	const char *why = "unset";

	memset(k, 0, sizeof(*k));
	T_EQ_INT(cert_key_new(&k->ca_key), 0);
	T_EQ_INT(cert_key_new(&k->node_key), 0);
	T_EQ_INT(cert_ca_create(k->ca_key, 1, now, &k->ca), 0);
	T_EQ_INT(cert_node_create(k->ca.p, k->ca.len, k->ca_key, k->node_key, &req, &k->node, &why),
	         0);
	T_ASSERT(why == NULL);
}

static void pki_make(struct pki *k, const char *fqdn, const char *ip)
{
	pki_make_at(k, fqdn, ip, now0);
}

static void pki_free(struct pki *k)
{
	cert_key_free(k->ca_key);
	cert_key_free(k->node_key);
	buf_free(&k->ca);
	buf_free(&k->node);
}

static bool is_uuid(const char *s)
{
	int i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdef", s[i])) {
			return false;
		}
	}
	return s[14] == '4';
}

static void test_key_pem_round_trip(void)
{
	struct cert_key *k = NULL, *k2 = NULL;
	struct buf pem = { 0 }, pem2 = { 0 };

	T_EQ_INT(cert_key_new(&k), 0);
	T_EQ_INT(cert_key_pem(k, &pem), 0);
	T_ASSERT(pem.len > 100 && !memcmp(pem.p, "-----BEGIN EC PRIVATE KEY-----", 30));
	T_EQ_INT(cert_key_parse(pem.p, pem.len, &k2), 0);
	T_EQ_INT(cert_key_pem(k2, &pem2), 0);
	T_ASSERT(pem.len == pem2.len && !memcmp(pem.p, pem2.p, pem.len));
	T_EQ_INT(cert_key_parse("garbage", 7, &k2), -EBADMSG);
	T_EQ_INT(cert_key_parse(pem.p, pem.len / 2, &k2), -EBADMSG);
	T_EQ_INT(cert_key_parse("", 0, &k2), -EBADMSG);
	cert_key_free(k);
	cert_key_free(k2);
	cert_key_free(NULL);
	buf_free(&pem);
	buf_free(&pem2);
}

static void test_ca_fields(void)
{
	struct pki k;
	struct cert_info ci;

	pki_make(&k, "node1.example.com", "192.168.1.10");
	T_EQ_INT(cert_info(k.ca.p, k.ca.len, &ci), 0);
	T_ASSERT(!strncmp(ci.subject, "CN=Proxmox Virtual Environment, OU=", 35));
	T_ASSERT(is_uuid(ci.subject + 35));
	T_EQ_STR(ci.subject + 35 + 36, ", O=PVE Cluster Manager CA");
	T_EQ_STR(ci.issuer, ci.subject);
	T_ASSERT(ci.is_ca);
	T_EQ_INT(ci.key_usage, 0x04 | 0x02); /* keyCertSign | cRLSign */
	T_EQ_INT(ci.not_before, now0 - DAY);
	T_EQ_INT(ci.not_after, now0 - DAY + 3650LL * DAY);
	T_EQ_STR(ci.serial, "01");
	T_EQ_STR(ci.san, "");
	pki_free(&k);
}

static void test_node_fields(void)
{
	struct pki k;
	struct cert_info ci, ca;

	pki_make(&k, "node1.example.com", "192.168.1.10");
	T_EQ_INT(cert_info(k.ca.p, k.ca.len, &ca), 0);
	T_EQ_INT(cert_info(k.node.p, k.node.len, &ci), 0);
	T_EQ_STR(ci.subject,
	         "OU=PVE Cluster Node, O=Proxmox Virtual Environment, CN=node1.example.com");
	T_EQ_STR(ci.issuer, ca.subject);
	T_EQ_STR(ci.san, "IP:127.0.0.1, IP:::1, DNS:localhost, IP:192.168.1.10, DNS:node1, "
	                 "DNS:node1.example.com");
	T_ASSERT(!ci.is_ca);
	T_ASSERT(ci.server_auth);
	T_EQ_STR(ci.serial, "02");
	T_EQ_INT(ci.not_before, now0 - DAY);
	T_EQ_INT(ci.not_after, now0 - DAY + 730LL * DAY);
	T_ASSERT(cert_matches_key(k.node.p, k.node.len, k.node_key));
	T_ASSERT(!cert_matches_key(k.node.p, k.node.len, k.ca_key));
	pki_free(&k);

	/* no fqdn: CN is the node name, no second DNS entry; IPv6 node address */
	pki_make(&k, NULL, "fd00::10");
	T_EQ_INT(cert_info(k.node.p, k.node.len, &ci), 0);
	T_EQ_STR(ci.subject, "OU=PVE Cluster Node, O=Proxmox Virtual Environment, CN=node1");
	T_EQ_STR(ci.san, "IP:127.0.0.1, IP:::1, DNS:localhost, IP:fd00::10, DNS:node1");
	pki_free(&k);
}

static void test_node_refusals(void)
{
	struct pki k, other;
	struct cert_node_req req = { "node1", NULL, "10.0.0.1", 3, now0 };
	struct cert_info ci;
	struct buf out = { 0 };
	const char *why = NULL;

	pki_make(&k, NULL, "10.0.0.1");
	pki_make(&other, NULL, "10.0.0.1");
	/* the CA expires in less than 14 days */
	req.now = now0 - DAY + 3650LL * DAY - 13 * DAY;
	T_EQ_INT(cert_node_create(k.ca.p, k.ca.len, k.ca_key, k.node_key, &req, &out, &why),
	         -EINVAL);
	T_EQ_STR(why, "CA expires in less than 2 weeks, unable to generate certificate.");
	T_EQ_INT(out.len, 0);
	/* 100 days left: lifetime = 100 - 2 days */
	req.now = now0 - DAY + 3650LL * DAY - 100 * DAY;
	T_EQ_INT(cert_node_create(k.ca.p, k.ca.len, k.ca_key, k.node_key, &req, &out, &why), 0);
	T_EQ_INT(cert_info(out.p, out.len, &ci), 0);
	T_EQ_INT(ci.not_after - ci.not_before, 98LL * DAY);
	T_ASSERT(ci.not_after < now0 - DAY + 3650LL * DAY);
	buf_reset(&out);
	req.now = now0;
	/* bad arguments */
	req.ip = "10.0.0.300";
	T_EQ_INT(cert_node_create(k.ca.p, k.ca.len, k.ca_key, k.node_key, &req, &out, NULL),
	         -EINVAL);
	req.ip = "10.0.0.1";
	req.node = "bad,name";
	T_EQ_INT(cert_node_create(k.ca.p, k.ca.len, k.ca_key, k.node_key, &req, &out, NULL),
	         -EINVAL);
	req.node = "node1";
	req.fqdn = "a..b";
	T_EQ_INT(cert_node_create(k.ca.p, k.ca.len, k.ca_key, k.node_key, &req, &out, NULL),
	         -EINVAL);
	req.fqdn = NULL;
	req.serial = 0;
	T_EQ_INT(cert_node_create(k.ca.p, k.ca.len, k.ca_key, k.node_key, &req, &out, NULL),
	         -EINVAL);
	req.serial = 3;
	/* the CA key does not belong to the CA certificate */
	T_EQ_INT(cert_node_create(k.ca.p, k.ca.len, other.ca_key, k.node_key, &req, &out, NULL),
	         -EINVAL);
	/* the CA certificate does not parse */
	T_EQ_INT(cert_node_create("junk", 4, k.ca_key, k.node_key, &req, &out, NULL), -EBADMSG);
	T_EQ_INT(out.len, 0);
	T_EQ_INT(cert_ca_create(k.ca_key, 0, now0, &out), -EINVAL);
	buf_free(&out);
	pki_free(&k);
	pki_free(&other);
}

static void test_verify(void)
{
	struct pki k, other;

	pki_make(&k, "node1.example.com", "192.168.1.10");
	pki_make(&other, "node1.example.com", "192.168.1.10");
	T_EQ_INT(cert_verify(k.ca.p, k.ca.len, k.node.p, k.node.len, now0), 0);
	T_EQ_INT(cert_verify(k.ca.p, k.ca.len, k.ca.p, k.ca.len, now0), 0); /* self-signed */
	/* another CA, even with the same subject layout */
	T_EQ_INT(cert_verify(other.ca.p, other.ca.len, k.node.p, k.node.len, now0), -EACCES);
	T_EQ_INT(cert_verify(k.ca.p, k.ca.len, other.node.p, other.node.len, now0), -EACCES);
	/* a node certificate is not a CA */
	T_EQ_INT(cert_verify(k.node.p, k.node.len, k.node.p, k.node.len, now0), -EACCES);
	/* outside the validity period */
	T_EQ_INT(cert_verify(k.ca.p, k.ca.len, k.node.p, k.node.len, now0 - 2 * DAY), -EACCES);
	T_EQ_INT(cert_verify(k.ca.p, k.ca.len, k.node.p, k.node.len, now0 + 730LL * DAY), -EACCES);
	T_EQ_INT(cert_verify(k.ca.p, k.ca.len, k.node.p, k.node.len, now0 + 700LL * DAY), 0);
	/* a flipped bit in the signature (inside the base64 near the end) */
	{
		struct buf bad = { 0 };

		buf_put(&bad, k.node.p, k.node.len);
		bad.p[bad.len - 40] = bad.p[bad.len - 40] == 'A' ? 'B' : 'A';
		T_ASSERT(cert_verify(k.ca.p, k.ca.len, bad.p, bad.len, now0) != 0);
		buf_free(&bad);
	}
	T_EQ_INT(cert_verify("x", 1, k.node.p, k.node.len, now0), -EBADMSG);
	T_EQ_INT(cert_verify(k.ca.p, k.ca.len, k.node.p, k.node.len / 2, now0), -EBADMSG);
	pki_free(&k);
	pki_free(&other);
}

static void test_fingerprint(void)
{
	struct pki k;
	char fp[CERT_FP_STRLEN], fp2[CERT_FP_STRLEN], lower[CERT_FP_STRLEN];
	uint8_t raw[CERT_FP_SIZE], raw2[CERT_FP_SIZE];
	char plain[65];
	int i;

	pki_make(&k, NULL, "10.0.0.1");
	T_EQ_INT(cert_fingerprint(k.node.p, k.node.len, fp), 0);
	T_EQ_INT(strlen(fp), 95);
	for (i = 0; i < 95; i++) {
		if (i % 3 == 2)
			T_ASSERT(fp[i] == ':');
		else
			T_ASSERT(strchr("0123456789ABCDEF", fp[i]) != NULL);
	}
	T_EQ_INT(cert_fp(k.node.p, k.node.len, raw), 0);
	cert_fp_format(raw, fp2);
	T_EQ_STR(fp, fp2);
	/* parse: upper, lower, without colons; refuse the rest */
	T_EQ_INT(cert_fp_parse(fp, raw2), 0);
	T_EQ_MEM(raw, raw2, CERT_FP_SIZE);
	for (i = 0; fp[i]; i++)
		lower[i] = (char)(fp[i] >= 'A' && fp[i] <= 'F' ? fp[i] + 32 : fp[i]);
	lower[i] = 0;
	memset(raw2, 0, sizeof(raw2));
	T_EQ_INT(cert_fp_parse(lower, raw2), 0);
	T_EQ_MEM(raw, raw2, CERT_FP_SIZE);
	for (i = 0; i < 32; i++)
		memcpy(plain + 2 * i, fp + 3 * i, 2);
	plain[64] = 0;
	memset(raw2, 0, sizeof(raw2));
	T_EQ_INT(cert_fp_parse(plain, raw2), 0);
	T_EQ_MEM(raw, raw2, CERT_FP_SIZE);
	lower[2] = '-';
	T_EQ_INT(cert_fp_parse(lower, raw2), -EINVAL);
	T_EQ_INT(cert_fp_parse("AB:CD", raw2), -EINVAL);
	plain[5] = 'g';
	T_EQ_INT(cert_fp_parse(plain, raw2), -EINVAL);
	T_EQ_INT(cert_fingerprint("nope", 4, fp2), -EBADMSG);
	/* the CA and the node differ */
	T_EQ_INT(cert_fingerprint(k.ca.p, k.ca.len, fp2), 0);
	T_ASSERT(strcmp(fp, fp2) != 0);
	pki_free(&k);
}

/* Run a shell command, return its exit status and its first output line. */
static int sh(const char *cmd, char *line, size_t size)
{
	FILE *f = popen(cmd, "r");
	int st;

	line[0] = 0;
	if (!f)
		return -1;
	if (!fgets(line, (int)size, f))
		line[0] = 0;
	line[strcspn(line, "\n")] = 0;
	while (fgetc(f) != EOF)
		;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_openssl_agrees(void)
{
	struct pki k, other;
	char dir[512], cmd[2048], line[512], fp[CERT_FP_STRLEN];
	char ca_path[600], node_path[600], other_path[600], key_path[600];
	struct buf key = { 0 };

	if (sh("openssl version", line, sizeof(line)) != 0) {
		printf("test_cert: openssl not installed, cross-check skipped\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s", t_tmpdir());
	/* openssl checks against its clock: certificates of today */
	pki_make_at(&k, "node1.example.com", "192.168.1.10", time(NULL));
	pki_make_at(&other, NULL, "10.0.0.1", time(NULL));
	snprintf(ca_path, sizeof(ca_path), "%s/pve-root-ca.pem", dir);
	snprintf(node_path, sizeof(node_path), "%s/pve-ssl.pem", dir);
	snprintf(other_path, sizeof(other_path), "%s/other-ca.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/pve-ssl.key", dir);
	T_EQ_INT(path_write_atomic(ca_path, k.ca.p, k.ca.len, 0644), 0);
	T_EQ_INT(path_write_atomic(node_path, k.node.p, k.node.len, 0644), 0);
	T_EQ_INT(path_write_atomic(other_path, other.ca.p, other.ca.len, 0644), 0);
	T_EQ_INT(cert_key_pem(k.node_key, &key), 0);
	T_EQ_INT(path_write_atomic(key_path, key.p, key.len, 0600), 0);

	/* openssl verify -CAfile: OK with our CA, refused with another one */
	snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s %s 2>&1", ca_path, node_path);
	T_EQ_INT(sh(cmd, line, sizeof(line)), 0);
	T_ASSERT(strstr(line, ": OK") != NULL);
	snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s %s >/dev/null 2>&1", other_path,
	         node_path);
	T_ASSERT(sh(cmd, line, sizeof(line)) != 0);
	/* the purpose a TLS server needs */
	snprintf(cmd, sizeof(cmd), "openssl verify -purpose sslserver -CAfile %s %s 2>&1", ca_path,
	         node_path);
	T_EQ_INT(sh(cmd, line, sizeof(line)), 0);

	/* the same fingerprint as openssl x509 -fingerprint -sha256 */
	T_EQ_INT(cert_fingerprint(k.node.p, k.node.len, fp), 0);
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint -sha256 -in %s | cut -d= -f2",
	         node_path);
	T_EQ_INT(sh(cmd, line, sizeof(line)), 0);
	T_EQ_STR(line, fp);

	/* key usage critical on the CA; SAN as openssl prints it */
	snprintf(cmd, sizeof(cmd),
	         "openssl x509 -noout -text -in %s | grep -A1 'X509v3 Key Usage' | tr -d '\\n '",
	         ca_path);
	T_EQ_INT(sh(cmd, line, sizeof(line)), 0);
	T_EQ_STR(line, "X509v3KeyUsage:criticalCertificateSign,CRLSign");
	snprintf(cmd, sizeof(cmd),
	         "openssl x509 -noout -text -in %s | grep -A1 'Subject Alternative Name' | tail -1 "
	         "| sed 's/^ *//'",
	         node_path);
	T_EQ_INT(sh(cmd, line, sizeof(line)), 0);
	T_EQ_STR(line, "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost, "
	               "IP Address:192.168.1.10, DNS:node1, DNS:node1.example.com");
	/* the key file belongs to the certificate */
	snprintf(cmd, sizeof(cmd),
	         "test \"$(openssl x509 -noout -pubkey -in %s)\" = \"$(openssl pkey -pubout -in "
	         "%s)\"",
	         node_path, key_path);
	T_EQ_INT(sh(cmd, line, sizeof(line)), 0);
	buf_free(&key);
	pki_free(&k);
	pki_free(&other);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_key_pem_round_trip);
	T_RUN(test_ca_fields);
	T_RUN(test_node_fields);
	T_RUN(test_node_refusals);
	T_RUN(test_verify);
	T_RUN(test_fingerprint);
	T_RUN(test_openssl_agrees);
	return t_done();
}
