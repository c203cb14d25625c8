/* tests/unit/test_corosync_conf.c - core/corosync_conf: corosync's grammar
 * and messages, Proxmox's canonical writer (golden files), settings and
 * their validation, editing helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/corosync_conf.h"
#include "core/path.h"
#include "core/util.h"
#include "tests/t.h"

#define FIX "tests/fixtures/corosync/"

static char err[COROSYNC_CONF_ERR_MAX];

static char *slurp(const char *path, size_t *len)
{
	char *p = NULL;
	int rc = path_read_file(path, COROSYNC_CONF_FILE_MAX, &p, len);

	if (rc < 0)
		t_fail(__FILE__, __LINE__, "cannot read %s: %d", path, rc);
	return p;
}

static struct corosync_conf *parse_str(const char *s, unsigned flags)
{
	struct corosync_conf *c = NULL;

	err[0] = '\0';
	if (corosync_conf_parse(s, strlen(s), "f", flags, &c, err, sizeof(err)) < 0)
		return NULL;
	return c;
}

/* the parse error text for s ("" if it parsed) */
static const char *parse_err(const char *s, unsigned flags)
{
	struct corosync_conf *c = parse_str(s, flags);

	if (c) {
		corosync_conf_free(c);
		return "";
	}
	return err;
}

static char *write_str(const struct corosync_conf *c)
{
	struct buf b = { 0 };

	corosync_conf_write(c, &b);
	buf_put_u8(&b, 0);
	return (char *)buf_steal(&b, NULL);
}

/* parse s (values checked), extract; the error text or "" */
static const char *cluster_err(const char *s)
{
	struct corosync_conf *c = parse_str(s, 0);
	struct cluster_conf cc;
	int rc;

	if (!c)
		return err;
	rc = corosync_conf_cluster(c, &cc, err, sizeof(err));
	if (!rc) {
		corosync_conf_cluster_free(&cc);
		err[0] = '\0';
	}
	corosync_conf_free(c);
	return err;
}

static void check_golden(const char *in, const char *expect)
{
	struct corosync_conf *c = NULL;
	size_t ilen, elen;
	char *itext = slurp(in, &ilen), *etext = slurp(expect, &elen), *out;

	if (!itext || !etext)
		goto out;
	T_EQ_INT(corosync_conf_parse(itext, ilen, in, COROSYNC_CONF_CHECK_VALUES, &c, err,
	                             sizeof(err)),
	         0);
	if (!c)
		goto out;
	out = write_str(c);
	T_EQ_INT(strlen(out), elen);
	T_EQ_STR(out, etext);
	free(out);
	corosync_conf_free(c);
out:
	free(itext);
	free(etext);
}

static void test_golden_identity(void)
{
	check_golden(FIX "single-node.conf", FIX "single-node.conf");
	check_golden(FIX "multiple-nodes.conf", FIX "multiple-nodes.conf");
	check_golden(FIX "old.conf", FIX "old.conf");
}

static void test_golden_hand_edited(void)
{
	check_golden(FIX "hand-edited.conf", FIX "hand-edited.expected");
	/* the canonical form is a fixed point */
	check_golden(FIX "hand-edited.expected", FIX "hand-edited.expected");
}

static void test_grammar_errors(void)
{
	char line[600];

	T_EQ_STR(parse_err("totem {\n  version 2\n}\n", 0),
	         "f:2: Line is not opening or closing section or key value");
	T_EQ_STR(parse_err("totem { x\n}\n", 0), "f:1: Extra characters after opening bracket '{'");
	T_EQ_STR(parse_err("a{b}\n", 0), "f:1: Extra characters after opening bracket '{'");
	T_EQ_STR(parse_err("  {\n}\n", 0), "f:1: Missing section name before opening bracket '{'");
	T_EQ_STR(parse_err(": {\n}\n", 0), "f:1: Missing section name before opening bracket '{'");
	T_EQ_STR(parse_err("totem {\n}}\n", 0),
	         "f:2: Extra characters before or after closing bracket '}'");
	T_EQ_STR(parse_err("totem {\n x }\n", 0),
	         "f:2: Extra characters before or after closing bracket '}'");
	T_EQ_STR(parse_err("\n\n}\n", 0), "f:3: Unexpected closing brace");
	T_EQ_STR(parse_err("totem {\n  version: 2\n\n", 0), "f:3: Missing closing brace");
	T_EQ_STR(parse_err("a {\n b {\n }\n", 0), "f:3: Missing closing brace");
	T_EQ_STR(parse_err("  : x\n", 0), "f:1: Key name can't be empty");
	T_EQ_STR(parse_err("totem {\n:\n}\n", 0), "f:2: Key name can't be empty");
	T_EQ_STR(parse_err("hello\n", 0),
	         "f:1: Line is not opening or closing section or key value");
	/* 0xA0 alone is not blank for the comment test */
	T_EQ_STR(parse_err("\xa0\n", 0),
	         "f:1: Line is not opening or closing section or key value");

	/* line length: 510 bytes + newline fit, 511 do not (fgets into 512) */
	memset(line, 'x', sizeof(line));
	memcpy(line, "k: ", 3);
	line[510] = '\n';
	line[511] = '\0';
	T_EQ_STR(parse_err(line, 0), "");
	line[510] = 'x';
	line[511] = '\n';
	line[512] = '\0';
	T_EQ_STR(parse_err(line, 0), "f:1: Line too long");
	/* last line without newline: 510 bytes fit, 511 do not */
	line[510] = '\0';
	T_EQ_STR(parse_err(line, 0), "");
	line[510] = 'x';
	line[511] = '\0';
	T_EQ_STR(parse_err(line, 0), "f:1: Line too long");
	/* CRLF counts: 510 bytes + \r\n is too long */
	line[510] = '\r';
	line[511] = '\n';
	T_EQ_STR(parse_err(line, 0), "f:1: Line too long");
}

static void test_grammar_nul_and_path_limits(void)
{
	static const char nul[] = "a: b\0junk\nc: d\n";
	struct corosync_conf *c = NULL;
	char text[700];
	int n;

	/* a NUL ends the line for strlen(): no newline seen -> too long */
	T_EQ_INT(corosync_conf_parse(nul, sizeof(nul) - 1, "f", 0, &c, err, sizeof(err)), -EINVAL);
	T_EQ_STR(err, "f:1: Line too long");
	/* ... unless the data ends in that chunk (feof) */
	T_EQ_INT(corosync_conf_parse("a: b\0x", 6, "f", 0, &c, err, sizeof(err)), 0);
	T_EQ_STR(corosync_conf_get(c, "a"), "b");
	corosync_conf_free(c);
	/* a NUL first: the line is empty and skipped */
	T_EQ_INT(corosync_conf_parse("\0zz\na: 1\n", 9, "f", 0, &c, err, sizeof(err)), 0);
	T_EQ_STR(corosync_conf_get(c, "a"), "1");
	corosync_conf_free(c);

	/* cmap path: "totem." + key must stay below 256 bytes */
	n = snprintf(text, sizeof(text), "totem {\n%0249d: 1\n}\n", 0);
	T_ASSERT(n > 0);
	T_EQ_STR(parse_err(text, 0), "");
	snprintf(text, sizeof(text), "totem {\n%0250d: 1\n}\n", 0);
	T_EQ_STR(parse_err(text, 0), "f:2: New key makes total cmap path too long");
	snprintf(text, sizeof(text), "%0255d {\n}\n", 0);
	T_EQ_STR(parse_err(text, 0), "f:1: Start of section makes total cmap path too long");
	snprintf(text, sizeof(text), "%0254d {\n}\n", 0);
	T_EQ_STR(parse_err(text, 0), "");
	snprintf(text, sizeof(text), "totem {\n%0249d {\n}\n}\n", 0);
	T_EQ_STR(parse_err(text, 0), "");
	snprintf(text, sizeof(text), "totem {\n%0250d {\n}\n}\n", 0);
	T_EQ_STR(parse_err(text, 0), "f:2: Start of section makes total cmap path too long");
	/* names may hold dots: leaving a section restores the path by length */
	snprintf(text, sizeof(text), "%0200d.b {\n}\n%0200d.c {\n x: 1\n}\n", 0, 0);
	T_EQ_STR(parse_err(text, 0), "");
	snprintf(text, sizeof(text), "t {\n %0200d.a {\n }\n %0200d.b {\n }\n}\n", 0, 0);
	T_EQ_STR(parse_err(text, 0), "");
}

static void test_grammar_values(void)
{
	struct corosync_conf *c;
	char *out;

	c = parse_str("# comment\n\t # indented comment\n"
	              "totem: {\r\n"
	              "  cluster_name: \"a b\"\r\n"
	              "  version: 2 # x\n"
	              "  token: 1\n"
	              "  token: 2\n"
	              "  empty:\n"
	              "  blank:   \t\n"
	              "  \xa0nbsp\xa0:\xa0v\xa0\n"
	              "  nospace:value\n"
	              "  a :: b\n"
	              "  hash: #x\n"
	              "  interface {\n    linknumber: 0\n  }\n"
	              "}\n"
	              "nodelist {\n  node {\n    ring0_addr: fe80::1:2\n  }\n}\n",
	              0);
	T_ASSERT(c);
	if (!c)
		return;
	T_EQ_STR(corosync_conf_get(c, "totem.cluster_name"), "\"a b\"");
	T_EQ_STR(corosync_conf_get(c, "totem.version"), "2 # x");
	T_EQ_STR(corosync_conf_get(c, "totem.token"), "2");
	T_EQ_STR(corosync_conf_get(c, "totem.empty"), "");
	T_EQ_STR(corosync_conf_get(c, "totem.blank"), "");
	T_EQ_STR(corosync_conf_get(c, "totem.nbsp"), "v");
	T_EQ_STR(corosync_conf_get(c, "totem.nospace"), "value");
	T_EQ_STR(corosync_conf_get(c, "totem.a"), ": b");
	T_EQ_STR(corosync_conf_get(c, "totem.hash"), "#x");
	T_EQ_STR(corosync_conf_get(c, "totem.interface.linknumber"), "0");
	T_EQ_STR(corosync_conf_get(c, "nodelist.node.ring0_addr"), "fe80::1:2");
	T_ASSERT(corosync_conf_get(c, "totem.interface") == NULL); /* a section */
	T_ASSERT(corosync_conf_get(c, "totem.missing") == NULL);
	/* the duplicate key kept its first position and the line of the last */
	T_EQ_INT(corosync_conf_find(corosync_conf_find(&c->root, "totem"), "token")->line, 7);
	out = write_str(c);
	T_EQ_STR(out, "nodelist {\n  node {\n    ring0_addr: fe80::1:2\n  }\n}\n\n"
	              "totem {\n  a: : b\n  blank: \n  cluster_name: \"a b\"\n  empty: \n"
	              "  hash: #x\n  interface {\n    linknumber: 0\n  }\n  nbsp: v\n"
	              "  nospace: value\n  token: 2\n  version: 2 # x\n}\n\n");
	free(out);
	corosync_conf_free(c);
	/* the value with "# x" is refused once values are checked */
	T_EQ_STR(parse_err("totem {\n  version: 2 # x\n}\n", COROSYNC_CONF_CHECK_VALUES),
	         "f:2: Value of key \"totem.version\" is expected to be integer in range "
	         "(0..4294967295), but \"2 # x\" was given");
}

static void test_sections_merge_and_arrays(void)
{
	struct corosync_conf *c;
	char *out;

	/* a repeated plain section merges, node/interface stay separate,
	 * nodes sort by name (fallback ring0_addr), interfaces by linknumber
	 * as strings (fallback ringnumber), the last duplicate wins */
	c = parse_str(
	        "totem {\n version: 2\n interface {\n  linknumber: 1\n }\n}\n"
	        "nodelist {\n node {\n  ring0_addr: b-addr\n }\n node {\n  name: c\n }\n"
	        " node {\n  name: a\n  nodeid: 1\n }\n node {\n  name: a\n  nodeid: 9\n }\n}\n"
	        "totem {\n cluster_name: x\n interface {\n  ringnumber: 0\n }\n}\n"
	        "top: level\n",
	        0);
	T_ASSERT(c);
	if (!c)
		return;
	T_EQ_STR(corosync_conf_get(c, "totem.cluster_name"), "x");
	T_EQ_STR(corosync_conf_get(c, "totem.version"), "2");
	out = write_str(c);
	T_EQ_STR(out, "nodelist {\n  node {\n    name: a\n    nodeid: 9\n  }\n"
	              "  node {\n    ring0_addr: b-addr\n  }\n  node {\n    name: c\n  }\n}\n\n"
	              "top: level\n"
	              "totem {\n  cluster_name: x\n  interface {\n    ringnumber: 0\n  }\n"
	              "  interface {\n    linknumber: 1\n  }\n  version: 2\n}\n\n");
	free(out);
	corosync_conf_free(c);

	/* a plain key among the node entries comes first; entries without a
	 * name or ring0_addr share the key "" (the last one wins) */
	c = parse_str("nodelist {\n node {\n  x: 1\n }\n node: k\n node {\n  name: b\n }\n"
	              " node {\n  y: 2\n }\n}\n",
	              0);
	T_ASSERT(c);
	if (!c)
		return;
	out = write_str(c);
	T_EQ_STR(out, "nodelist {\n  node: k\n  node {\n    y: 2\n  }\n  node {\n    name: b\n"
	              "  }\n}\n\n");
	free(out);
	corosync_conf_free(c);

	/* node/interface elsewhere keep file order; no blank line after a
	 * top-level array entry */
	c = parse_str("x {\n node {\n  k: 2\n }\n node {\n  k: 1\n }\n}\nnode {\n}\n", 0);
	T_ASSERT(c);
	if (!c)
		return;
	out = write_str(c);
	T_EQ_STR(out, "node {\n}\nx {\n  node {\n    k: 2\n  }\n  node {\n    k: 1\n  }\n}\n\n");
	free(out);
	corosync_conf_free(c);
}

static void test_value_checks(void)
{
	const unsigned F = COROSYNC_CONF_CHECK_VALUES;

	T_EQ_STR(parse_err("totem {\n token: abc\n}\n", F),
	         "f:2: Value of key \"totem.token\" is expected to be integer in range "
	         "(0..4294967295), but \"abc\" was given");
	T_EQ_STR(parse_err("totem {\n token: 4294967296\n}\n", F),
	         "f:2: Value of key \"totem.token\" is expected to be integer in range "
	         "(0..4294967295), but \"4294967296\" was given");
	T_EQ_STR(parse_err("totem {\n token: -1\n}\n", F),
	         "f:2: Value of key \"totem.token\" is expected to be integer in range "
	         "(0..4294967295), but \"-1\" was given");
	T_EQ_STR(parse_err("totem {\n token: 0x10\n}\n", F),
	         "f:2: Value of key \"totem.token\" is expected to be integer in range "
	         "(0..4294967295), but \"0x10\" was given");
	T_EQ_STR(parse_err("totem {\n token: +7\n}\n", F), "");
	T_EQ_STR(parse_err("quorum {\n two_node: yes\n}\n", F),
	         "f:2: Value of key \"quorum.two_node\" is expected to be integer in range "
	         "(0..255), but \"yes\" was given");
	T_EQ_STR(parse_err("nodelist {\n node {\n  quorum_votes: 1\n }\n node {\n"
	                   "  quorum_votes: x\n }\n}\n",
	                   F),
	         "f:6: Value of key \"nodelist.node.1.quorum_votes\" is expected to be integer in "
	         "range (0..4294967295), but \"x\" was given");
	T_EQ_STR(
	        parse_err("totem {\n interface {\n  mcastport: 70000\n }\n}\n", F),
	        "f:3: Value of key \"totem.interface.mcastport\" is expected to be integer in range "
	        "(0..65535), but \"70000\" was given");
	T_EQ_STR(parse_err("totem {\n knet_compression_level: -5\n}\n", F), "");
	T_EQ_STR(parse_err("totem {\n config_version: 1x\n}\n", F),
	         "f:2: Value of key \"totem.config_version\" is expected to be unsigned integer, "
	         "but \"1x\" was given");
	T_EQ_STR(parse_err("totem {\n config_version: 18446744073709551615\n}\n", F), "");
	T_EQ_STR(parse_err("totem {\n ip_version: ipv5\n}\n", F), "f:2: Invalid ip_version type");
	T_EQ_STR(parse_err("totem {\n crypto_cipher: blowfish\n}\n", F),
	         "f:2: Invalid cipher type. Should be none, aes256, aes192 or aes128");
	T_EQ_STR(parse_err("totem {\n crypto_hash: crc\n}\n", F),
	         "f:2: Invalid hash type. Should be none, md5, sha1, sha256, sha384 or sha512");
	T_EQ_STR(parse_err("totem {\n interface {\n  linknumber: 9\n }\n}\n", F),
	         "f:4: parse error in config: interface ring number 9 is bigger than allowed "
	         "maximum 7");
	/* keys of the same name elsewhere are plain strings */
	T_EQ_STR(parse_err("logging {\n token: abc\n}\nx {\n totem {\n  token: y\n }\n}\n", F), "");
	/* without the flag the grammar alone decides */
	T_EQ_STR(parse_err("totem {\n token: abc\n}\n", 0), "");
	/* a too long message becomes corosync's fallback text */
	{
		char text[600];

		snprintf(text, sizeof(text), "totem {\n token: x%0400d\n}\n", 1);
		T_EQ_STR(parse_err(text, F), "f:2: Can't format parser error message");
	}
}

static void test_bad_fixtures(void)
{
	static const struct {
		const char *file;
		const char *msg;
	} cases[] = {
		{ "bad-version.conf",
		  "parse error in config: This totem parser can only parse version 2 configurations." },
		{ "bad-token.conf",
		  FIX "bad-token.conf:7: Value of key \"totem.token\" is expected to "
		      "be integer in range (0..4294967295), but \"abc\" was given" },
		{ "bad-two-node.conf",
		  FIX "bad-two-node.conf:3: Value of key \"quorum.two_node\" is "
		      "expected to be integer in range (0..255), but \"yes\" was "
		      "given" },
		{ "bad-dup-nodeid.conf", "Nodeid 2 appears twice in corosync.conf" },
		{ "bad-no-colon.conf",
		  FIX "bad-no-colon.conf:2: Line is not opening or closing section or key value" },
		{ "bad-unclosed.conf", FIX "bad-unclosed.conf:8: Missing closing brace" },
		{ "bad-double-brace.conf", FIX
		  "bad-double-brace.conf:3: Extra characters before or after closing bracket '}'" },
		{ "bad-cipher.conf", FIX "bad-cipher.conf:6: Invalid cipher type. Should be none, "
		                         "aes256, aes192 or aes128" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char path[256];
		struct corosync_conf *c = NULL;
		struct cluster_conf cc;
		int rc;

		snprintf(path, sizeof(path), FIX "%s", cases[i].file);
		err[0] = '\0';
		/* the strict parse and the extraction report the same text */
		rc = corosync_conf_load(path, COROSYNC_CONF_CHECK_VALUES, &c, err, sizeof(err));
		if (!rc) {
			rc = corosync_conf_cluster(c, &cc, err, sizeof(err));
			corosync_conf_free(c);
		}
		T_EQ_INT(rc, -EINVAL);
		T_EQ_STR(err, cases[i].msg);
		rc = corosync_conf_load(path, 0, &c, err, sizeof(err));
		if (!rc) {
			rc = corosync_conf_cluster(c, &cc, err, sizeof(err));
			corosync_conf_free(c);
		}
		T_EQ_INT(rc, -EINVAL);
		T_EQ_STR(err, cases[i].msg);
	}
	T_EQ_INT(corosync_conf_load("/nonexistent/corosync.conf", 0, &(struct corosync_conf *){ 0 },
	                            err, sizeof(err)),
	         -ENOENT);
	T_EQ_STR(err, "Can't read file /nonexistent/corosync.conf: No such file or directory");
}

static void test_cluster_fixtures(void)
{
	struct corosync_conf *c = NULL;
	struct cluster_conf cc;

	T_EQ_INT(corosync_conf_load(FIX "hand-edited.conf", COROSYNC_CONF_CHECK_VALUES, &c, err,
	                            sizeof(err)),
	         0);
	T_EQ_INT(corosync_conf_cluster(c, &cc, err, sizeof(err)), 0);
	T_EQ_STR(cc.cluster_name, "lab");
	T_EQ_INT(cc.config_version, 7);
	T_EQ_INT(cc.transport, CLUSTER_TRANSPORT_KNET);
	T_EQ_STR(cc.ip_version, "ipv4-6");
	T_EQ_STR(cc.link_mode, "passive");
	T_ASSERT(cc.secauth);
	T_EQ_STR(cc.crypto_cipher, "aes256");
	T_EQ_STR(cc.crypto_hash, "sha256");
	T_EQ_STR(cc.keyfile, "/etc/corosync/authkey");
	T_EQ_INT(cc.mcastport, 5405);
	T_EQ_STR(cc.mcastaddr, "239.192.2.214"); /* "lab" -> id 724 */
	T_EQ_INT(cc.token, 3000);
	T_EQ_INT(cc.token_coefficient, 650);
	T_EQ_INT(cc.token_effective, 3650);
	T_EQ_INT(cc.token_retransmit, 869);
	T_EQ_INT(cc.hold, 685);
	T_EQ_INT(cc.consensus, 4380);
	T_EQ_INT(cc.join, 50);
	T_EQ_INT(cc.n_nodes, 3);
	T_EQ_STR(cc.nodes[0].name, "node03");
	T_EQ_INT(cc.nodes[0].nodeid, 3);
	T_EQ_STR(cc.nodes[0].addr[0], "10.0.0.3");
	T_ASSERT(cc.nodes[0].addr[1] == NULL);
	T_EQ_INT(cc.nodes[2].votes, 2);
	T_EQ_INT(cc.total_votes, 4);
	T_EQ_INT(cc.expected_votes, 4);
	T_ASSERT(cc.expected_votes_set);
	T_EQ_STR(cc.quorum_provider, "corosync_votequorum");
	T_ASSERT(!cc.two_node && !cc.wait_for_all);
	T_ASSERT(corosync_conf_node_by_id(&cc, 2) == &cc.nodes[2]);
	T_ASSERT(corosync_conf_node_by_id(&cc, 4) == NULL);
	corosync_conf_cluster_free(&cc);
	corosync_conf_free(c);

	/* old.conf: no name, the node is known by ring0_addr */
	T_EQ_INT(corosync_conf_load(FIX "old.conf", 0, &c, err, sizeof(err)), 0);
	T_EQ_INT(corosync_conf_cluster(c, &cc, err, sizeof(err)), 0);
	T_EQ_STR(cc.nodes[0].name, "prox1");
	T_EQ_INT(cc.expected_votes, 1);
	T_ASSERT(!cc.expected_votes_set);
	T_EQ_INT(cc.token_effective, 3000);
	T_ASSERT(corosync_conf_local_node(&cc, "prox1.example.com") == &cc.nodes[0]);
	corosync_conf_cluster_free(&cc);
	corosync_conf_free(c);

	/* multiple-nodes.conf: every node has nodeid 1 */
	T_EQ_INT(corosync_conf_load(FIX "multiple-nodes.conf", 0, &c, err, sizeof(err)), 0);
	T_EQ_INT(corosync_conf_cluster(c, &cc, err, sizeof(err)), -EINVAL);
	T_EQ_STR(err, "Nodeid 1 appears twice in corosync.conf");
	corosync_conf_free(c);
}

#define TOTEM2 "totem {\n version: 2\n"
#define NODE1  "nodelist {\n node {\n  name: n1\n  nodeid: 1\n  ring0_addr: 10.0.0.1\n }\n}\n"

static void test_cluster_errors(void)
{
	T_EQ_STR(cluster_err(TOTEM2 "}\n" NODE1), "");
	T_EQ_STR(
	        cluster_err("totem {\n}\n" NODE1),
	        "parse error in config: This totem parser can only parse version 2 configurations.");
	T_EQ_STR(
	        cluster_err(NODE1),
	        "parse error in config: This totem parser can only parse version 2 configurations.");
	T_EQ_STR(cluster_err(TOTEM2 " transport: foo\n}\n" NODE1),
	         "Invalid transport type. Should be udpu, udp or knet");
	T_EQ_STR(
	        cluster_err(TOTEM2 " link_mode: bogus\n}\n" NODE1),
	        "parse error in config: The Knet link mode \"bogus\" specified is invalid.  It must "
	        "be active, passive or rr.");
	/* multicast with secauth (corosync 2, the lecture) is accepted: cfsbox
	 * encrypts every transport */
	T_EQ_STR(cluster_err(TOTEM2 " transport: udp\n secauth: on\n cluster_name: a\n}\n" NODE1),
	         "");
	T_EQ_STR(cluster_err(TOTEM2 " crypto_cipher: aes256\n crypto_hash: none\n}\n" NODE1),
	         "crypto_cipher requires crypto_hash with value other than none");
	T_EQ_STR(cluster_err(TOTEM2 " crypto_cipher: aes256\n}\n" NODE1),
	         "crypto_cipher requires crypto_hash with value other than none");
	T_EQ_STR(cluster_err(TOTEM2 "}\nnodelist {\n node {\n  ring0_addr: 127.0.0.2\n }\n}\n"),
	         "Knet requires an explicit nodeid to be specified for address '127.0.0.2'.");
	T_EQ_STR(cluster_err(TOTEM2 "}\nnodelist {\n node {\n  nodeid: 70000\n"
	                            "  ring0_addr: 127.0.0.3\n }\n}\n"),
	         "Knet requires nodeid to be less than 65536 for address '127.0.0.3'.");
	T_EQ_STR(cluster_err(TOTEM2 "}\nnodelist {\n node {\n  nodeid: 1\n"
	                            "  ring9_addr: 127.0.0.3\n }\n}\n"),
	         "parse error in config: interface ring number 9 is bigger than allowed maximum 7");
	T_EQ_STR(cluster_err(TOTEM2 " token: 20\n token_coefficient: 0\n}\n" NODE1),
	         "parse error in config: The token timeout parameter (20 ms) may not be less than "
	         "(30 ms).");
	T_EQ_STR(cluster_err(TOTEM2 " consensus: 40\n}\n" NODE1),
	         "parse error in config: The consensus timeout parameter (40 ms) may not be less "
	         "than join timeout (50 ms).");
	T_EQ_STR(cluster_err(TOTEM2 " consensus: 20\n}\n" NODE1),
	         "parse error in config: The consensus timeout parameter (20 ms) may not be less "
	         "than (30 ms).");
	T_EQ_STR(cluster_err(TOTEM2 " token_warning: 150\n}\n" NODE1),
	         "parse error in config: The token warning parameter (150%) must be between 0 "
	         "(disabled) and 100.");
	T_EQ_STR(cluster_err(TOTEM2 " token_warning: 0\n}\n" NODE1), "");
	T_EQ_STR(cluster_err(TOTEM2 " join: 10\n}\n" NODE1),
	         "parse error in config: The join timeout parameter (10 ms) may not be less than "
	         "(30 ms).");
	T_EQ_STR(cluster_err(TOTEM2 " merge: 10\n}\n" NODE1),
	         "parse error in config: The merge timeout parameter (10 ms) may not be less than "
	         "(30 ms).");
	T_EQ_STR(cluster_err(TOTEM2 " downcheck: 10\n}\n" NODE1),
	         "parse error in config: The downcheck timeout parameter (10 ms) may not be less "
	         "than (30 ms).");
	T_EQ_STR(cluster_err(TOTEM2 " max_network_delay: 10\n}\n" NODE1),
	         "parse error in config: The max_network_delay parameter (10 ms) may not be less "
	         "than (30 ms).");
	T_EQ_STR(cluster_err(TOTEM2 " token_retransmit: 10\n}\n" NODE1),
	         "parse error in config: The token retransmit timeout parameter (10 ms) may not be "
	         "less than (30 ms).");
	T_EQ_STR(
	        cluster_err(TOTEM2
	                    " token: 100\n token_retransmits_before_loss_const: 10\n}\n" NODE1),
	        "parse error in config: Not appropriate token or token_retransmits_before_loss_const "
	        "value set");
	T_EQ_STR(
	        cluster_err(TOTEM2 " hold: 5\n}\n" NODE1),
	        "parse error in config: The token hold timeout parameter (5 ms) may not be less than "
	        "(14 ms).");
	/* token: 10 passes with 3 nodes: 10 + 650 >= 30 (lab) */
	T_EQ_STR(cluster_err(TOTEM2 " token: 10\n}\nnodelist {\n"
	                            " node {\n  nodeid: 1\n  ring0_addr: a\n }\n"
	                            " node {\n  nodeid: 2\n  ring0_addr: b\n }\n"
	                            " node {\n  nodeid: 3\n  ring0_addr: c\n }\n}\n"),
	         "");
	T_EQ_STR(
	        cluster_err(TOTEM2 " interface {\n  ttl: 5\n }\n}\n" NODE1),
	        "parse error in config: Can only set ttl on multicast transport types for interface 0");
	T_EQ_STR(cluster_err(TOTEM2 " transport: udp\n interface {\n  ttl: 5\n }\n cluster_name: "
	                            "c\n}\n" NODE1),
	         "");
	T_EQ_STR(cluster_err(TOTEM2 "}\n"), "parse error in config: No interfaces defined");
	T_EQ_STR(cluster_err(TOTEM2 " transport: udp\n}\n" NODE1),
	         "parse error in config: No multicast address specified for interface 0");
	T_EQ_STR(cluster_err(TOTEM2 " transport: udpu\n}\nnodelist {\n node {\n"
	                            "  ring0_addr: fe80::1\n }\n}\n"),
	         "An IPV6 network requires that a node ID be specified for address 'fe80::1'.");
	/* UDP/UDPU generate the nodeid from an IPv4 ring0_addr, duplicates included */
	T_EQ_STR(cluster_err(TOTEM2
	                     " transport: udpu\n}\nnodelist {\n node {\n"
	                     "  ring0_addr: 192.168.1.10\n }\n node {\n  nodeid: 3232235786\n"
	                     "  ring0_addr: 10.1.1.1\n }\n}\n"),
	         "Nodeid 3232235786 appears twice in corosync.conf");
	T_EQ_STR(
	        cluster_err(TOTEM2 "}\nnodelist {\n node {\n  nodeid: 1\n  ring0_addr: a\n"
	                           "  ring1_addr: a1\n }\n node {\n  name: b\n  nodeid: 2\n"
	                           "  ring0_addr: b\n  ring1_addr: b1\n }\n}\n"),
	        "parse error in config: for a multi-link configuration, all nodes must have a 'name' "
	        "attribute");
	T_EQ_STR(cluster_err(TOTEM2 "}\nnodelist {\n node {\n  name: a\n  nodeid: 1\n"
	                            "  ring0_addr: a\n  ring1_addr: a1\n }\n node {\n  name: b\n"
	                            "  nodeid: 2\n  ring0_addr: b\n }\n}\n"),
	         "parse error in config: Not all nodes have the same number of links");
	/* a value error found by the extraction carries file and line */
	T_EQ_STR(cluster_err(TOTEM2 " token: abc\n}\n" NODE1),
	         "f:3: Value of key \"totem.token\" is expected to be integer in range "
	         "(0..4294967295), but \"abc\" was given");
}

static void test_logging_checks(void)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "logging {\n to_syslog: yes\n to_stderr: off\n to_logfile: no\n"
		  " syslog_facility: local3\n}\n",
		  "" },
		{ "totem {\n}\n", "" },
		{ "logging {\n syslog_facility: foo\n}\n",
		  "parse error in config: unknown syslog facility specified." },
		{ "logging {\n to_syslog: maybe\n}\n",
		  "parse error in config: unknown value for to_syslog." },
		{ "logging {\n to_logfile: 1\n}\n",
		  "parse error in config: unknown value for to_logfile." },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct corosync_conf *c = parse_str(cases[i].text, 0);

		T_ASSERT(c);
		if (!c)
			continue;
		err[0] = '\0';
		T_EQ_INT(corosync_conf_check_logging(c, err, sizeof(err)),
		         *cases[i].msg ? -EINVAL : 0);
		T_EQ_STR(err, cases[i].msg);
		corosync_conf_free(c);
	}
}

static void test_cluster_defaults(void)
{
	struct corosync_conf *c;
	struct cluster_conf cc;

	c = parse_str(TOTEM2 " transport: udp\n cluster_name: testclu\n}\n" NODE1
	                     "quorum {\n provider: corosync_votequorum\n two_node: 1\n}\n",
	              0);
	T_ASSERT(c);
	if (!c)
		return;
	T_EQ_INT(corosync_conf_cluster(c, &cc, err, sizeof(err)), 0);
	T_EQ_INT(cc.transport, CLUSTER_TRANSPORT_UDP);
	T_EQ_STR(cc.ip_version, "ipv4");
	T_EQ_STR(cc.mcastaddr, "239.192.55.128");
	T_ASSERT(!cc.secauth);
	T_EQ_STR(cc.crypto_cipher, "none");
	T_ASSERT(cc.two_node && cc.wait_for_all);
	T_EQ_INT(cc.config_version, 0);
	corosync_conf_cluster_free(&cc);
	corosync_conf_free(c);

	c = parse_str(TOTEM2
	              " token: 0\n token_coefficient: 0\n interface {\n  mcastaddr: 239.1.1.1\n"
	              "  mcastport: 6000\n }\n}\n" NODE1
	              "quorum {\n two_node: 1\n wait_for_all: 0\n expected_votes: 0\n}\n",
	              0);
	T_ASSERT(c);
	if (!c)
		return;
	T_EQ_INT(corosync_conf_cluster(c, &cc, err, sizeof(err)), 0);
	T_EQ_INT(cc.token, 3000); /* 0 means the default */
	T_EQ_INT(cc.token_coefficient, 0);
	T_EQ_STR(cc.mcastaddr, "239.1.1.1");
	T_EQ_INT(cc.mcastport, 6000);
	T_ASSERT(cc.two_node && !cc.wait_for_all);
	T_ASSERT(cc.quorum_provider == NULL);
	T_ASSERT(cc.expected_votes_set);
	T_EQ_INT(cc.expected_votes, 0);
	T_EQ_STR(cc.ip_version, "ipv6-4");
	corosync_conf_cluster_free(&cc);
	corosync_conf_free(c);
}

static void test_mcast_addr(void)
{
	char a[48];

	corosync_conf_mcast_addr("testclu", 0, false, a, sizeof(a));
	T_EQ_STR(a, "239.192.55.128");
	corosync_conf_mcast_addr("pve-cluster", 0, false, a, sizeof(a));
	T_EQ_STR(a, "239.192.91.16");
	corosync_conf_mcast_addr("debian", 0, false, a, sizeof(a));
	T_EQ_STR(a, "239.192.24.204");
	corosync_conf_mcast_addr("mycluster", 0, false, a, sizeof(a));
	T_EQ_STR(a, "239.192.221.146");
	/* testclu: id 14153 = 0x3749 */
	corosync_conf_mcast_addr("testclu", 0, true, a, sizeof(a));
	T_EQ_STR(a, "ff15::3749");
	corosync_conf_mcast_addr("testclu", 1, false, a, sizeof(a));
	T_EQ_STR(a, "239.192.55.129"); /* 14154 % 255 */
	/* bytes >= 0x80 count as negative (signed char), long names overflow */
	corosync_conf_mcast_addr("\xe9", 0, false, a, sizeof(a));
	T_EQ_STR(a, "239.192.255.233"); /* -23 & 0xffff = 65513 */
}

#define SV(s) corosync_conf_scan_version((s), strlen(s))

static void test_scan_version(void)
{
	static const char nul[] = "x\0config_version: 12\n";

	T_EQ_INT(SV("totem {\n  config_version: 3\n}\n"), 3);
	T_EQ_INT(SV("config_version:\n\t 42x"), 42);
	T_EQ_INT(SV("config_version : abc\nconfig_version:7"), 7);
	T_EQ_INT(SV("# config_version: 9\nconfig_version: 3"), 9);
	T_EQ_INT(SV("config_version"), 0);
	T_EQ_INT(SV("config_version: 99999999999999999999"), 0);
	T_EQ_INT(corosync_conf_scan_version("config_version: 5", 16), 0); /* length bounds it */
	T_EQ_INT(corosync_conf_scan_version(nul, sizeof(nul) - 1), 12);
}

static void test_local_node(void)
{
	struct corosync_conf *c;
	struct cluster_conf cc;

	c = parse_str(TOTEM2
	              "}\nnodelist {\n"
	              " node {\n  name: pve1.example.com\n  nodeid: 1\n  ring0_addr: 10.0.0.1\n }\n"
	              " node {\n  name: pve2\n  nodeid: 2\n  ring0_addr: 10.0.0.2\n }\n"
	              " node {\n  nodeid: 3\n  ring0_addr: 10.0.0.3\n }\n}\n",
	              0);
	T_ASSERT(c);
	if (!c)
		return;
	T_EQ_INT(corosync_conf_cluster(c, &cc, err, sizeof(err)), 0);
	T_ASSERT(corosync_conf_local_node(&cc, "pve2") == &cc.nodes[1]);
	T_ASSERT(corosync_conf_local_node(&cc, "pve2.lan.example.com") == &cc.nodes[1]);
	T_ASSERT(corosync_conf_local_node(&cc, "pve1.example.com") == &cc.nodes[0]);
	T_ASSERT(corosync_conf_local_node(&cc, "pve1") == &cc.nodes[0]); /* short names */
	T_ASSERT(corosync_conf_local_node(&cc, "pve1.other.org") == &cc.nodes[0]);
	T_ASSERT(corosync_conf_local_node(&cc, "10.0.0.3") == &cc.nodes[2]);
	T_ASSERT(corosync_conf_local_node(&cc, "pve") == NULL);
	T_ASSERT(corosync_conf_local_node(&cc, "") == NULL);
	T_EQ_STR(COROSYNC_CONF_NO_LOCAL_MSG,
	         "parse error in config: No valid name found for local host");
	corosync_conf_cluster_free(&cc);
	corosync_conf_free(c);
}

static const char fresh_v3[] = "logging {\n"
                               "  debug: off\n"
                               "  to_syslog: yes\n"
                               "}\n"
                               "\n"
                               "nodelist {\n"
                               "  node {\n"
                               "    name: node01\n"
                               "    nodeid: 1\n"
                               "    quorum_votes: 1\n"
                               "    ring0_addr: 192.168.132.133\n"
                               "  }\n"
                               "}\n"
                               "\n"
                               "quorum {\n"
                               "  provider: corosync_votequorum\n"
                               "}\n"
                               "\n"
                               "totem {\n"
                               "  cluster_name: mycluster\n"
                               "  config_version: 1\n"
                               "  interface {\n"
                               "    linknumber: 0\n"
                               "  }\n"
                               "  ip_version: ipv4-6\n"
                               "  link_mode: passive\n"
                               "  secauth: on\n"
                               "  version: 2\n"
                               "}\n"
                               "\n";

/* spec/pmxcfs.md §11.4 */
static const char three_nodes[] = "logging {\n  debug: off\n  to_syslog: yes\n}\n\n"
                                  "nodelist {\n"
                                  "  node {\n    name: pve1\n    nodeid: 1\n    quorum_votes: 1\n"
                                  "    ring0_addr: 10.10.10.11\n  }\n"
                                  "  node {\n    name: pve2\n    nodeid: 2\n    quorum_votes: 1\n"
                                  "    ring0_addr: 10.10.10.12\n  }\n"
                                  "  node {\n    name: pve3\n    nodeid: 3\n    quorum_votes: 1\n"
                                  "    ring0_addr: 10.10.10.13\n  }\n"
                                  "}\n\n"
                                  "quorum {\n  provider: corosync_votequorum\n}\n\n"
                                  "totem {\n  cluster_name: prod-cluster\n  config_version: 3\n"
                                  "  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n"
                                  "  link_mode: passive\n  secauth: on\n  token_coefficient: 125\n"
                                  "  version: 2\n}\n\n";

static void test_create_and_edit(void)
{
	struct corosync_conf_create p = { .cluster_name = "mycluster", .node_name = "node01" };
	const char *a2[COROSYNC_CONF_LINKS] = { "10.10.10.12" };
	const char *a3[COROSYNC_CONF_LINKS] = { "10.10.10.13" };
	const char *dup[COROSYNC_CONF_LINKS] = { "10.10.10.12" };
	struct corosync_conf *c;
	struct cluster_conf cc;
	uint64_t v = 0;
	uint32_t id = 0;
	char *out;

	p.addr[0] = "192.168.132.133";
	p.token_coefficient = -1;
	c = corosync_conf_create(&p);
	T_EQ_STR(corosync_conf_get(c, "totem.config_version"), "0");
	T_EQ_INT(corosync_conf_bump_version(c, &v, err, sizeof(err)), 0);
	T_EQ_INT(v, 1);
	out = write_str(c);
	T_EQ_STR(out, fresh_v3);
	free(out);
	T_EQ_INT(corosync_conf_cluster(c, &cc, err, sizeof(err)), 0);
	T_EQ_INT(cc.config_version, 1);
	corosync_conf_cluster_free(&cc);
	corosync_conf_free(c);

	/* pvecm create prod-cluster + two joins (§11.4) */
	memset(&p, 0, sizeof(p));
	p.cluster_name = "prod-cluster";
	p.node_name = "pve1";
	p.addr[0] = "10.10.10.11";
	p.token_coefficient = 125;
	c = corosync_conf_create(&p);
	T_EQ_INT(corosync_conf_bump_version(c, NULL, err, sizeof(err)), 0);
	T_EQ_INT(corosync_conf_add_node(c, "pve2", 0, 1, a2, &id, err, sizeof(err)), 0);
	T_EQ_INT(id, 2);
	T_EQ_INT(corosync_conf_bump_version(c, NULL, err, sizeof(err)), 0);
	T_EQ_INT(corosync_conf_add_node(c, "pve3", 0, 1, a3, &id, err, sizeof(err)), 0);
	T_EQ_INT(id, 3);
	T_EQ_INT(corosync_conf_bump_version(c, &v, err, sizeof(err)), 0);
	T_EQ_INT(v, 3);
	out = write_str(c);
	T_EQ_STR(out, three_nodes);
	free(out);

	/* refusals */
	T_EQ_INT(corosync_conf_add_node(c, "pve2", 0, 1, NULL, NULL, err, sizeof(err)), -EEXIST);
	T_EQ_STR(err, "can't add existing node 'pve2'");
	T_EQ_INT(corosync_conf_add_node(c, "pve4", 0, 1, dup, NULL, err, sizeof(err)), -EEXIST);
	T_EQ_STR(err, "corosync: address '10.10.10.12' already used on link ring0_addr by node "
	              "'pve2'");
	T_EQ_INT(corosync_conf_add_node(c, "pve4", 3, 1, NULL, NULL, err, sizeof(err)), -EEXIST);
	T_EQ_STR(err, "corosync: nodeid 3 already used by node 'pve3'");
	T_EQ_INT(corosync_conf_add_node(c, "", 0, 1, NULL, NULL, err, sizeof(err)), -EINVAL);

	/* delnode by name or address; ids are reused from the lowest gap */
	T_EQ_INT(corosync_conf_remove_node(c, "10.10.10.12", err, sizeof(err)), 0);
	T_EQ_INT(corosync_conf_remove_node(c, "pve2", err, sizeof(err)), -ENOENT);
	T_EQ_STR(err, "Node/IP: pve2 is not a known host of the cluster.");
	T_EQ_INT(corosync_conf_add_node(c, "pve5", 0, 0, NULL, &id, err, sizeof(err)), 0);
	T_EQ_INT(id, 2);
	T_ASSERT(corosync_conf_find(corosync_conf_find(&c->root, "nodelist")->last,
	                            "quorum_votes") == NULL); /* votes 0: not written */
	T_EQ_INT(corosync_conf_remove_node(c, "pve3", err, sizeof(err)), 0);
	T_EQ_INT(corosync_conf_remove_node(c, "pve5", err, sizeof(err)), 0);
	T_EQ_INT(corosync_conf_remove_node(c, "pve1", err, sizeof(err)), 0);
	T_ASSERT(corosync_conf_find(&c->root, "nodelist")->child == NULL);
	T_ASSERT(corosync_conf_find(&c->root, "nodelist")->last == NULL);
	corosync_conf_free(c);

	/* bump needs a readable version */
	c = parse_str("totem {\n version: 2\n}\n", 0);
	T_EQ_INT(corosync_conf_bump_version(c, NULL, err, sizeof(err)), -EINVAL);
	T_EQ_STR(err, "invalid corosync config: unable to read config version");
	corosync_conf_set(corosync_conf_section(&c->root, "totem"), "config_version", "x");
	T_EQ_INT(corosync_conf_bump_version(c, NULL, err, sizeof(err)), -EINVAL);
	corosync_conf_set(corosync_conf_section(&c->root, "totem"), "config_version", "41");
	T_EQ_INT(corosync_conf_bump_version(c, &v, err, sizeof(err)), 0);
	T_EQ_INT(v, 42);
	T_EQ_STR(corosync_conf_get(c, "totem.config_version"), "42");
	corosync_conf_free(c);

	/* two links with priorities at create */
	memset(&p, 0, sizeof(p));
	p.cluster_name = "c";
	p.node_name = "n";
	p.addr[0] = "10.10.10.11";
	p.addr[1] = "10.20.20.11";
	p.priority[0] = 20;
	p.priority[1] = 10;
	p.token_coefficient = -1;
	c = corosync_conf_create(&p);
	out = write_str(c);
	T_ASSERT(strstr(out,
	                "  interface {\n    knet_link_priority: 20\n    linknumber: 0\n  }\n"
	                "  interface {\n    knet_link_priority: 10\n    linknumber: 1\n  }\n"));
	T_ASSERT(strstr(out, "    ring0_addr: 10.10.10.11\n    ring1_addr: 10.20.20.11\n"));
	free(out);
	corosync_conf_free(c);
}

static void test_api_edges(void)
{
	struct corosync_conf *c = NULL;
	struct corosync_conf_item *s, *a, *b;
	struct cluster_conf cc;
	char *big, *out;

	/* no error buffer */
	T_EQ_INT(corosync_conf_parse("}\n", 2, NULL, 0, &c, NULL, 0), -EINVAL);
	T_ASSERT(c == NULL);
	big = calloc(1, COROSYNC_CONF_FILE_MAX + 1);
	T_EQ_INT(corosync_conf_parse(big, COROSYNC_CONF_FILE_MAX + 1, "f", 0, &c, err, sizeof(err)),
	         -EFBIG);
	free(big);
	c = parse_str("totem {\n version: 9\n}\n", 0);
	T_EQ_INT(corosync_conf_cluster(c, &cc, NULL, 0), -EINVAL);
	T_ASSERT(cc.nodes == NULL);
	/* an empty file is an empty tree and writes nothing */
	corosync_conf_free(c);
	c = parse_str("", 0);
	T_ASSERT(c && c->root.child == NULL);
	out = write_str(c);
	T_EQ_STR(out, "");
	free(out);

	/* remove keeps the order and the last pointer right */
	s = corosync_conf_section(&c->root, "x");
	a = corosync_conf_set(s, "a", "1");
	b = corosync_conf_set(s, "b", "2");
	corosync_conf_set(s, "c", "3");
	T_ASSERT(corosync_conf_section(&c->root, "x") == s);
	T_ASSERT(corosync_conf_set(s, "b", "22") == b);
	corosync_conf_remove(b);
	T_ASSERT(a->next == s->last);
	T_EQ_STR(s->last->name, "c");
	corosync_conf_remove(s->last);
	T_ASSERT(s->last == a && a->next == NULL);
	corosync_conf_remove(a);
	T_ASSERT(s->child == NULL && s->last == NULL);
	T_ASSERT(corosync_conf_add_section(&c->root, "x") != s); /* arrays: always new */
	out = write_str(c);
	T_EQ_STR(out, "x {\n}\n\nx {\n}\n\n");
	free(out);
	corosync_conf_free(c);
	corosync_conf_free(NULL);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_golden_identity);
	T_RUN(test_golden_hand_edited);
	T_RUN(test_grammar_errors);
	T_RUN(test_grammar_nul_and_path_limits);
	T_RUN(test_grammar_values);
	T_RUN(test_sections_merge_and_arrays);
	T_RUN(test_value_checks);
	T_RUN(test_bad_fixtures);
	T_RUN(test_cluster_fixtures);
	T_RUN(test_cluster_errors);
	T_RUN(test_logging_checks);
	T_RUN(test_cluster_defaults);
	T_RUN(test_mcast_addr);
	T_RUN(test_scan_version);
	T_RUN(test_local_node);
	T_RUN(test_create_and_edit);
	T_RUN(test_api_edges);
	return t_done();
}
