/* tests/unit/test_quorum.c - net/quorum: votequorum arithmetic with the
 * lab cases of spec/corosync.md §4, and the quorum tool's text byte for
 * byte against the samples of §6.1/§6.2 and spec/pmxcfs.md §12.5. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "net/quorum.h"
#include "tests/t.h"

static void set_members(struct quorum_node *nodes, size_t n, const char *alive)
{
	size_t i;

	for (i = 0; i < n; i++)
		nodes[i].member = alive[i] == '1';
}

static void test_quorum_examples(void)
{
	/* 1 vote per node, everybody present: E=2 -> 2 ... E=8 -> 5 */
	static const uint32_t expect[] = { 0, 0, 2, 2, 3, 3, 4, 4, 5 };
	uint32_t e;

	for (e = 2; e <= 8; e++)
		T_EQ_INT(quorum_of(e, e), expect[e]);
	T_EQ_INT(quorum_of(3, 1), 2);
	T_EQ_INT(quorum_of(1, 3), 2); /* total above expected counts */
	T_EQ_INT(quorum_of(UINT32_MAX, 0), 0x80000000u);
}

static void test_three_nodes(void)
{
	struct quorum_node nodes[3] = { { 1, 1, 0, true }, { 2, 1, 3, true }, { 3, 1, 3, true } };
	struct quorum_conf conf = { 3, false, false };
	struct quorum_state st;

	quorum_init(&st, &conf);
	T_ASSERT(!st.quorate);
	T_EQ_INT(st.expected, 3);
	quorum_update(&st, &conf, nodes, 3);
	T_ASSERT(st.quorate);
	T_EQ_INT(st.total_votes, 3);
	T_EQ_INT(st.highest_expected, 3);
	T_EQ_INT(st.quorum, 2);
	T_EQ_INT(st.members, 3);
	T_EQ_INT(st.flags, QUORUM_F_QUORATE);

	/* one left: still quorate */
	set_members(nodes, 3, "110");
	quorum_update(&st, &conf, nodes, 3);
	T_ASSERT(st.quorate);
	T_EQ_INT(st.total_votes, 2);
	T_EQ_INT(st.quorum, 2);
	/* two left: blocked */
	set_members(nodes, 3, "100");
	quorum_update(&st, &conf, nodes, 3);
	T_ASSERT(!st.quorate);
	T_EQ_INT(st.total_votes, 1);
	T_EQ_INT(st.highest_expected, 3);
	T_EQ_INT(st.quorum, 2);
	T_EQ_INT(st.flags, 0);

	/* pvecm expected 1 on the last node (lab) */
	T_EQ_INT(quorum_set_expected(&st, &conf, nodes, 3, 1), 0);
	T_ASSERT(st.quorate);
	T_EQ_INT(st.expected, 1);
	T_EQ_INT(st.highest_expected, 1);
	T_EQ_INT(st.quorum, 1);
	T_EQ_INT(nodes[0].expected_votes, 1);
	T_EQ_INT(nodes[1].expected_votes, 3); /* not a member: untouched */
	/* then -e 2 / -e 3 refused: quorate, new quorum 2 > 1 vote */
	T_EQ_INT(quorum_set_expected(&st, &conf, nodes, 3, 2), -EINVAL);
	T_EQ_INT(quorum_set_expected(&st, &conf, nodes, 3, 3), -EINVAL);
	T_EQ_INT(st.expected, 1);
	T_ASSERT(st.quorate);

	/* the second node returns announcing 3: Expected 2, Highest 3, Quorum 2 */
	set_members(nodes, 3, "110");
	quorum_update(&st, &conf, nodes, 3);
	T_ASSERT(st.quorate);
	T_EQ_INT(st.expected, 2);
	T_EQ_INT(st.highest_expected, 3);
	T_EQ_INT(st.total_votes, 2);
	T_EQ_INT(st.quorum, 2);
}

static void test_set_expected_rules(void)
{
	struct quorum_node nodes[5] = { { 1, 1, 0, true },
		                        { 2, 1, 5, true },
		                        { 3, 1, 5, true },
		                        { 4, 1, 5, false },
		                        { 5, 1, 5, false } };
	struct quorum_conf conf = { 5, false, false };
	struct quorum_state st;

	quorum_init(&st, &conf);
	quorum_update(&st, &conf, nodes, 5);
	T_ASSERT(st.quorate);
	T_EQ_INT(st.quorum, 3);
	/* below the total votes: refused even though quorate */
	T_EQ_INT(quorum_set_expected(&st, &conf, nodes, 5, 2), -EINVAL);
	T_EQ_INT(quorum_set_expected(&st, &conf, nodes, 5, 0), -EINVAL);
	/* 6: quorum 4 > 3 votes would make it inquorate: refused */
	T_EQ_INT(quorum_set_expected(&st, &conf, nodes, 5, 6), -EINVAL);
	/* 3: quorum drops to 2 (decrease allowed) */
	T_EQ_INT(quorum_set_expected(&st, &conf, nodes, 5, 3), 0);
	T_EQ_INT(st.quorum, 2);
	T_EQ_INT(st.expected, 3);
	T_EQ_INT(st.highest_expected, 3);
	/* quorum does not drop by itself when a node leaves */
	set_members(nodes, 5, "11000");
	quorum_update(&st, &conf, nodes, 5);
	T_EQ_INT(st.quorum, 2);
	T_ASSERT(st.quorate);
	set_members(nodes, 5, "10000");
	quorum_update(&st, &conf, nodes, 5);
	T_EQ_INT(st.quorum, 2);
	T_ASSERT(!st.quorate);
	/* an inquorate partition may set any N >= total votes, even higher */
	T_EQ_INT(quorum_set_expected(&st, &conf, nodes, 5, 7), 0);
	T_EQ_INT(st.quorum, 4);
	T_ASSERT(!st.quorate);
	/* votes rising above expected raise it (-v 3 on a 1-vote node, lab) */
	{
		struct quorum_node one = { 1, 3, 0, true };
		struct quorum_conf c1 = { 1, false, false };
		struct quorum_state s1;

		quorum_init(&s1, &c1);
		quorum_update(&s1, &c1, &one, 1);
		T_EQ_INT(s1.expected, 3);
		T_EQ_INT(s1.highest_expected, 3);
		T_EQ_INT(s1.total_votes, 3);
		T_EQ_INT(s1.quorum, 2);
		T_ASSERT(s1.quorate);
	}
}

static void test_two_node(void)
{
	struct quorum_node nodes[2] = { { 1, 1, 0, true }, { 2, 1, 2, false } };
	struct quorum_conf conf = { 2, true, true };
	struct quorum_state st;

	/* alone at start: waiting for all, Quorum 1, blocked (lab) */
	quorum_init(&st, &conf);
	quorum_update(&st, &conf, nodes, 2);
	T_ASSERT(!st.quorate);
	T_ASSERT(st.wfa_waiting);
	T_EQ_INT(st.quorum, 1);
	T_EQ_INT(st.total_votes, 1);
	T_EQ_INT(st.flags, QUORUM_F_TWONODE | QUORUM_F_WAIT_FOR_ALL);
	/* both seen once */
	set_members(nodes, 2, "11");
	quorum_update(&st, &conf, nodes, 2);
	T_ASSERT(st.quorate);
	T_ASSERT(!st.wfa_waiting);
	T_EQ_INT(st.quorum, 1);
	T_EQ_INT(st.flags, QUORUM_F_TWONODE | QUORUM_F_QUORATE | QUORUM_F_WAIT_FOR_ALL);
	/* the survivor stays quorate with 1 vote */
	set_members(nodes, 2, "10");
	quorum_update(&st, &conf, nodes, 2);
	T_ASSERT(st.quorate);
	T_EQ_INT(st.total_votes, 1);
	T_EQ_INT(st.quorum, 1);

	/* two_node without wait_for_all: quorate alone from the start */
	conf.wait_for_all = false;
	quorum_init(&st, &conf);
	quorum_update(&st, &conf, nodes, 2);
	T_ASSERT(st.quorate);
	T_EQ_INT(st.flags, QUORUM_F_TWONODE | QUORUM_F_QUORATE);

	/* with three members the normal formula applies */
	{
		struct quorum_node three[3] = { { 1, 1, 0, true },
			                        { 2, 1, 0, true },
			                        { 3, 1, 0, true } };
		struct quorum_conf c3 = { 2, true, false };

		quorum_init(&st, &c3);
		quorum_update(&st, &c3, three, 3);
		T_EQ_INT(st.expected, 3);
		T_EQ_INT(st.quorum, 2);
		set_members(three, 3, "110");
		quorum_update(&st, &c3, three, 3);
		T_EQ_INT(st.quorum, 1); /* two members: two_node again */
	}
}

static void test_wait_for_all(void)
{
	struct quorum_node nodes[3] = { { 1, 1, 0, true }, { 2, 1, 0, true }, { 3, 1, 0, false } };
	struct quorum_conf conf = { 3, false, true };
	struct quorum_state st;

	quorum_init(&st, &conf);
	quorum_update(&st, &conf, nodes, 3);
	T_ASSERT(!st.quorate); /* 2 of 3 would be enough, but not all seen yet */
	T_EQ_INT(st.quorum, 2);
	T_EQ_INT(st.flags, QUORUM_F_WAIT_FOR_ALL);
	set_members(nodes, 3, "111");
	quorum_update(&st, &conf, nodes, 3);
	T_ASSERT(st.quorate);
	set_members(nodes, 3, "110");
	quorum_update(&st, &conf, nodes, 3);
	T_ASSERT(st.quorate); /* satisfied for good */
	T_EQ_INT(st.flags, QUORUM_F_QUORATE | QUORUM_F_WAIT_FOR_ALL);

	/* pvecm expected 1 also satisfies it (total == expected) */
	set_members(nodes, 3, "100");
	quorum_init(&st, &conf);
	quorum_update(&st, &conf, nodes, 3);
	T_ASSERT(!st.quorate);
	T_EQ_INT(quorum_set_expected(&st, &conf, nodes, 3, 1), 0);
	T_ASSERT(st.quorate);
	T_ASSERT(!st.wfa_waiting);
}

static void test_conf_from_corosync(void)
{
	static const char text[] = "totem {\n version: 2\n}\nnodelist {\n"
	                           " node {\n  name: a\n  nodeid: 1\n  ring0_addr: 10.0.0.1\n }\n"
	                           " node {\n  name: b\n  nodeid: 2\n  quorum_votes: 3\n"
	                           "  ring0_addr: 10.0.0.2\n }\n}\nquorum {\n two_node: 1\n}\n";
	struct corosync_conf *c = NULL;
	struct cluster_conf cc;
	struct quorum_conf qc;
	char err[COROSYNC_CONF_ERR_MAX];

	T_EQ_INT(corosync_conf_parse(text, strlen(text), "t", 0, &c, err, sizeof(err)), 0);
	if (!c)
		return;
	T_EQ_INT(corosync_conf_cluster(c, &cc, err, sizeof(err)), 0);
	quorum_conf_init(&qc, &cc);
	T_EQ_INT(qc.expected_votes, 4);
	T_ASSERT(qc.two_node);
	T_ASSERT(qc.wait_for_all);
	corosync_conf_cluster_free(&cc);
	corosync_conf_free(c);
}

static void test_parse_expected(void)
{
	uint32_t v = 0;

	T_EQ_INT(quorum_parse_expected("1", &v), 0);
	T_EQ_INT(v, 1);
	T_EQ_INT(quorum_parse_expected("2147483647", &v), 0);
	T_EQ_INT(v, 2147483647);
	T_EQ_INT(quorum_parse_expected("0x10", &v), 0);
	T_EQ_INT(v, 16);
	T_EQ_INT(quorum_parse_expected("0", &v), -EINVAL);
	T_EQ_INT(quorum_parse_expected("-1", &v), -EINVAL);
	T_EQ_INT(quorum_parse_expected("2147483648", &v), -EINVAL);
	T_EQ_INT(quorum_parse_expected("abc", &v), -EINVAL);
	T_EQ_INT(quorum_parse_expected("", &v), -EINVAL);
	T_EQ_INT(quorum_parse_expected("3x", &v), -EINVAL);
	T_EQ_STR(QUORUM_EXPECTED_INVALID_MSG,
	         "New expected votes value was not valid, try a positive number");
}

static char *render(void (*fn)(const struct quorum_view *, struct buf *),
                    const struct quorum_view *v)
{
	struct buf b = { 0 };

	fn(v, &b);
	buf_put_u8(&b, 0);
	return (char *)buf_steal(&b, NULL);
}

static void status_dec(const struct quorum_view *v, struct buf *out)
{
	quorum_render_status(v, false, out);
}

static const struct quorum_view_node names3[] = { { 1, 1, "node1" },
	                                          { 2, 1, "node2" },
	                                          { 3, 1, "node3" } };

static void test_render_quorumtool_s(void)
{
	struct quorum_view v = {
		.date = "Wed Nov 25 18:59:37 2026\n",
		.provider = "corosync_votequorum",
		.nodeid = 1,
		.ring_id = "1.d",
		.quorate = true,
		.expected = 3,
		.highest_expected = 3,
		.total_votes = 3,
		.quorum = 2,
		.flags = QUORUM_F_QUORATE,
		.members = names3,
		.n_members = 3,
	};
	char *out = render(status_dec, &v);

	T_EQ_STR(out, "Quorum information\n"
	              "------------------\n"
	              "Date:             Wed Nov 25 18:59:37 2026\n"
	              "Quorum provider:  corosync_votequorum\n"
	              "Nodes:            3\n"
	              "Node ID:          1\n"
	              "Ring ID:          1.d\n"
	              "Quorate:          Yes\n"
	              "\n"
	              "Votequorum information\n"
	              "----------------------\n"
	              "Expected votes:   3\n"
	              "Highest expected: 3\n"
	              "Total votes:      3\n"
	              "Quorum:           2  \n"
	              "Flags:            Quorate \n"
	              "\n"
	              "Membership information\n"
	              "----------------------\n"
	              "    Nodeid      Votes Name\n"
	              "         1          1 node1 (local)\n"
	              "         2          1 node2\n"
	              "         3          1 node3\n");
	T_EQ_INT(quorum_status_exit(&v), 0);
	free(out);

	/* not quorate, 1 of 3 alive; date without newline gets one */
	v.date = "Wed Nov 25 18:59:37 2026";
	v.quorate = false;
	v.total_votes = 1;
	v.flags = 0;
	v.n_members = 1;
	out = render(status_dec, &v);
	T_ASSERT(strstr(out, "Date:             Wed Nov 25 18:59:37 2026\nQuorum provider:"));
	T_ASSERT(strstr(out, "Nodes:            1\n"));
	T_ASSERT(strstr(out, "Quorate:          No\n"));
	T_ASSERT(strstr(out, "Total votes:      1\n"
	                     "Quorum:           2 Activity blocked\n"
	                     "Flags:            \n"));
	T_EQ_INT(quorum_status_exit(&v), 2);
	free(out);

	/* every flag, in quorumtool's order */
	v.flags = 0x7ff;
	out = render(status_dec, &v);
	T_ASSERT(strstr(out, "Flags:            2Node Quorate WaitForAll LastManStanding "
	                     "AutoTieBreaker AllowDownscale Qdevice \n"));
	free(out);

	/* no quorum provider: no votequorum part, no Votes column */
	v.provider = NULL;
	v.quorate = true;
	out = render(status_dec, &v);
	T_ASSERT(strstr(out, "Quorum provider:  Not configured\n"));
	T_ASSERT(!strstr(out, "Votequorum"));
	T_ASSERT(strstr(out, "    Nodeid Name\n         1 node1 (local)\n"));
	free(out);
}

static void test_render_pvecm_status(void)
{
	static const struct quorum_view_node addrs[] = { { 1, 1, "10.10.10.11" },
		                                         { 2, 1, "10.10.10.12" },
		                                         { 3, 1, "10.10.10.13" } };
	struct quorum_view v = {
		.cluster_name = "prod-cluster",
		.config_version = "3",
		.transport = NULL,
		.secauth = "on",
		.date = "Thu May 28 14:03:11 2026\n",
		.provider = "corosync_votequorum",
		.nodeid = 1,
		.ring_id = "1.3c",
		.quorate = true,
		.expected = 3,
		.highest_expected = 3,
		.total_votes = 3,
		.quorum = 2,
		.flags = QUORUM_F_QUORATE,
		.members = addrs,
		.n_members = 3,
	};
	char *out = render(quorum_render_pvecm_status, &v);

	T_EQ_STR(out, "Cluster information\n"
	              "-------------------\n"
	              "Name:             prod-cluster\n"
	              "Config Version:   3\n"
	              "Transport:        knet\n"
	              "Secure auth:      on\n"
	              "\n"
	              "Quorum information\n"
	              "------------------\n"
	              "Date:             Thu May 28 14:03:11 2026\n"
	              "Quorum provider:  corosync_votequorum\n"
	              "Nodes:            3\n"
	              "Node ID:          0x00000001\n"
	              "Ring ID:          1.3c\n"
	              "Quorate:          Yes\n"
	              "\n"
	              "Votequorum information\n"
	              "----------------------\n"
	              "Expected votes:   3\n"
	              "Highest expected: 3\n"
	              "Total votes:      3\n"
	              "Quorum:           2  \n"
	              "Flags:            Quorate \n"
	              "\n"
	              "Membership information\n"
	              "----------------------\n"
	              "    Nodeid      Votes Name\n"
	              "0x00000001          1 10.10.10.11 (local)\n"
	              "0x00000002          1 10.10.10.12\n"
	              "0x00000003          1 10.10.10.13\n");
	free(out);

	/* Perl's defaults for a totem section without the keys */
	memset(&v, 0, sizeof(v));
	out = render(quorum_render_pvecm_status, &v);
	T_ASSERT(!strncmp(out,
	                  "Cluster information\n-------------------\n"
	                  "Name:             UNKOWN?\n"
	                  "Config Version:   -1\n"
	                  "Transport:        knet\n"
	                  "Secure auth:      off\n\nQuorum information\n",
	                  strlen(out) < 150 ? strlen(out) : 150));
	T_ASSERT(strstr(out, "Node ID:          0x00000000\n"));
	free(out);
}

static void test_render_nodes(void)
{
	static const struct quorum_view_node pve[] = { { 1, 1, "pve1" },
		                                       { 2, 1, "pve2" },
		                                       { 3, 1, "pve3" } };
	struct quorum_view v = {
		.provider = "corosync_votequorum",
		.nodeid = 1,
		.members = pve,
		.n_members = 3,
	};
	char *out = render(quorum_render_nodes, &v);

	T_EQ_STR(out, "\n"
	              "Membership information\n"
	              "----------------------\n"
	              "    Nodeid      Votes Name\n"
	              "         1          1 pve1 (local)\n"
	              "         2          1 pve2\n"
	              "         3          1 pve3\n");
	free(out);
	/* big ids and votes keep the 10-column layout */
	{
		static const struct quorum_view_node big[] = { { 4294967295u, 100, "x" } };

		v.members = big;
		v.n_members = 1;
		out = render(quorum_render_nodes, &v);
		T_ASSERT(strstr(out, "4294967295        100 x\n"));
		free(out);
	}
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_quorum_examples);
	T_RUN(test_three_nodes);
	T_RUN(test_set_expected_rules);
	T_RUN(test_two_node);
	T_RUN(test_wait_for_all);
	T_RUN(test_conf_from_corosync);
	T_RUN(test_parse_expected);
	T_RUN(test_render_quorumtool_s);
	T_RUN(test_render_pvecm_status);
	T_RUN(test_render_nodes);
	return t_done();
}
