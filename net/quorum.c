/* net/quorum.c - votequorum arithmetic (exec/votequorum.c:
 * calculate_quorum, recalculate_quorum, are_we_quorate, setexpected) and
 * the text of corosync-quorumtool (tools/corosync-quorumtool.c). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "net/quorum.h"

void quorum_conf_init(struct quorum_conf *qc, const struct cluster_conf *cc)
{
	qc->expected_votes = cc->expected_votes;
	qc->two_node = cc->two_node;
	qc->wait_for_all = cc->wait_for_all;
}

void quorum_init(struct quorum_state *st, const struct quorum_conf *conf)
{
	memset(st, 0, sizeof(*st));
	st->expected = conf->expected_votes;
	st->wfa_waiting = conf->wait_for_all;
}

uint32_t quorum_of(uint32_t expected, uint32_t total_votes)
{
	uint32_t q1 = (uint32_t)(((uint64_t)expected + 2) / 2);
	uint32_t q2 = (uint32_t)(((uint64_t)total_votes + 2) / 2);

	return q1 > q2 ? q1 : q2;
}

struct tally {
	uint32_t total_votes;
	uint32_t highest_expected;
	uint32_t members;
};

static struct tally count(const struct quorum_state *st, const struct quorum_node *nodes, size_t n)
{
	struct tally t = { 0, st->expected, 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		if (!nodes[i].member)
			continue;
		t.members++;
		t.total_votes += nodes[i].votes;
		if (nodes[i].expected_votes > t.highest_expected)
			t.highest_expected = nodes[i].expected_votes;
	}
	return t;
}

/* calculate_quorum(): max_expected > 0 replaces the highest expected */
static uint32_t calc(const struct quorum_state *st, const struct quorum_conf *conf,
                     const struct tally *t, bool allow_decrease, uint32_t max_expected)
{
	uint32_t q = quorum_of(max_expected ? max_expected : t->highest_expected, t->total_votes);

	if (!allow_decrease && st->quorum > q)
		q = st->quorum;
	if (conf->two_node && t->members <= 2)
		q = 1;
	return q;
}

/* recalculate_quorum() + are_we_quorate() */
static void recalc(struct quorum_state *st, const struct quorum_conf *conf,
                   const struct quorum_node *nodes, size_t n, bool allow_decrease)
{
	struct tally t = count(st, nodes, n);

	if (t.total_votes > st->expected) {
		st->expected = t.total_votes;
		if (t.highest_expected < st->expected)
			t.highest_expected = st->expected;
	}
	st->quorum = calc(st, conf, &t, allow_decrease, 0);
	st->total_votes = t.total_votes;
	st->highest_expected = t.highest_expected;
	st->members = t.members;
	if (st->wfa_waiting && conf->wait_for_all && t.total_votes == st->expected)
		st->wfa_waiting = false;
	if (conf->wait_for_all && st->wfa_waiting)
		st->quorate = false;
	else
		st->quorate = t.total_votes >= st->quorum;
	st->flags = 0;
	if (conf->two_node)
		st->flags |= QUORUM_F_TWONODE;
	if (st->quorate)
		st->flags |= QUORUM_F_QUORATE;
	if (conf->wait_for_all)
		st->flags |= QUORUM_F_WAIT_FOR_ALL;
}

void quorum_update(struct quorum_state *st, const struct quorum_conf *conf,
                   struct quorum_node *nodes, size_t n)
{
	recalc(st, conf, nodes, n, false);
}

int quorum_set_expected(struct quorum_state *st, const struct quorum_conf *conf,
                        struct quorum_node *nodes, size_t n, uint32_t expected)
{
	struct tally t = count(st, nodes, n);
	uint32_t newquorum;
	size_t i;

	if (!expected)
		return -EINVAL;
	newquorum = calc(st, conf, &t, true, expected);
	if (expected < t.total_votes || (st->quorate && newquorum > t.total_votes))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (nodes[i].member)
			nodes[i].expected_votes = expected;
	st->expected = expected;
	recalc(st, conf, nodes, n, true);
	return 0;
}

int quorum_parse_expected(const char *arg, uint32_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (end == arg || *end || errno == ERANGE || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* --------------------------------------------------------------- text */

static void put_flags(uint32_t f, struct buf *out)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ QUORUM_F_TWONODE, "2Node " },
		{ QUORUM_F_QUORATE, "Quorate " },
		{ QUORUM_F_WAIT_FOR_ALL, "WaitForAll " },
		{ QUORUM_F_LAST_MAN_STANDING, "LastManStanding " },
		{ QUORUM_F_AUTO_TIE_BREAKER, "AutoTieBreaker " },
		{ QUORUM_F_ALLOW_DOWNSCALE, "AllowDownscale " },
		{ QUORUM_F_QDEVICE_REGISTERED, "Qdevice " },
	};
	size_t i;

	buf_put_str(out, "Flags:            ");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & names[i].bit)
			buf_put_str(out, names[i].name);
	buf_put_str(out, "\n");
}

/* display_nodes_data(): decimal "%10u " or hex "0x%08x " ids */
static void put_members(const struct quorum_view *v, bool hex, bool votes, struct buf *out)
{
	size_t i;

	buf_put_str(out, "\nMembership information\n----------------------\n");
	buf_printf(out, "%10s ", "Nodeid");
	if (votes)
		buf_printf(out, "%10s ", "Votes");
	buf_put_str(out, "Name\n");
	for (i = 0; i < v->n_members; i++) {
		const struct quorum_view_node *m = &v->members[i];

		if (hex)
			buf_printf(out, "0x%08" PRIx32 " ", m->nodeid);
		else
			buf_printf(out, "%10" PRIu32 " ", m->nodeid);
		if (votes)
			buf_printf(out, "%10" PRIu32 " ", m->votes);
		buf_put_str(out, m->name ? m->name : "");
		if (m->nodeid == v->nodeid)
			buf_put_str(out, " (local)");
		buf_put_str(out, "\n");
	}
}

void quorum_render_status(const struct quorum_view *v, bool hex, struct buf *out)
{
	const char *date = v->date ? v->date : "";
	size_t dl = strlen(date);

	buf_put_str(out, "Quorum information\n------------------\n");
	buf_printf(out, "Date:             %s%s", date, dl && date[dl - 1] == '\n' ? "" : "\n");
	buf_printf(out, "Quorum provider:  %s\n", v->provider ? v->provider : "Not configured");
	buf_printf(out, "Nodes:            %zu\n", v->n_members);
	if (hex)
		buf_printf(out, "Node ID:          0x%08" PRIx32 "\n", v->nodeid);
	else
		buf_printf(out, "Node ID:          %" PRIu32 "\n", v->nodeid);
	buf_printf(out, "Ring ID:          %s\n", v->ring_id ? v->ring_id : "");
	buf_printf(out, "Quorate:          %s\n", v->quorate ? "Yes" : "No");
	if (v->provider) {
		buf_put_str(out, "\nVotequorum information\n----------------------\n");
		buf_printf(out, "Expected votes:   %" PRIu32 "\n", v->expected);
		buf_printf(out, "Highest expected: %" PRIu32 "\n", v->highest_expected);
		buf_printf(out, "Total votes:      %" PRIu32 "\n", v->total_votes);
		buf_printf(out, "Quorum:           %" PRIu32 " %s\n", v->quorum,
		           v->flags & QUORUM_F_QUORATE ? " " : "Activity blocked");
		put_flags(v->flags, out);
	}
	put_members(v, hex, v->provider != NULL, out);
}

void quorum_render_pvecm_status(const struct quorum_view *v, struct buf *out)
{
	buf_put_str(out, "Cluster information\n-------------------\n");
	buf_printf(out, "%-17s %s\n", "Name:", v->cluster_name ? v->cluster_name : "UNKOWN?");
	buf_printf(out, "%-17s %s\n",
	           "Config Version:", v->config_version ? v->config_version : "-1");
	buf_printf(out, "%-17s %s\n", "Transport:", v->transport ? v->transport : "knet");
	buf_printf(out, "%-17s %s\n", "Secure auth:", v->secauth ? v->secauth : "off");
	buf_put_str(out, "\n");
	quorum_render_status(v, true, out);
}

void quorum_render_nodes(const struct quorum_view *v, struct buf *out)
{
	put_members(v, false, v->provider != NULL, out);
}

int quorum_status_exit(const struct quorum_view *v)
{
	return v->quorate ? 0 : 2;
}
