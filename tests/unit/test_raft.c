/* tests/unit/test_raft.c - unit cases for net/raft: elections, replication,
 * forwarding, terms, PreVote, CheckQuorum, weighted votes, expected votes,
 * snapshots, restore, membership, errors, and the message decoder.
 *
 * A small in-process cluster: messages queue per node until the node
 * "syncs" (everything persisted is durable at once), then travel in FIFO
 * order unless the link is cut.  Time advances in TICK_MS steps.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "net/raft.h"
#include "core/log.h"
#include "core/util.h"
#include "tests/t.h"

#define N_MAX   5
#define HB_MS   20
#define EL_MS   100
#define TICK_MS 5

struct tmsg {
	int from, to;
	uint8_t *p;
	size_t len;
};

struct tnode {
	struct tc *c;
	int idx;
	struct raft *r;
	bool up;
	/* durable journal, as restore wants it */
	uint64_t term;
	uint32_t vote;
	struct raft_entry log[256]; /* log[i] has index i + 1; data owned */
	uint64_t log_last;
	uint64_t snap_index, snap_term;
	/* applied */
	uint64_t applied;
	char applied_data[256][32];
	int n_install;
	uint64_t install_index;
	size_t install_len;
	bool install_ok;
	int fail_persist; /* next persist_* returns this */
};

struct tc {
	int n;
	struct tnode nodes[N_MAX];
	struct raft_node_cfg cfg[N_MAX];
	uint64_t now;
	struct tmsg *q; /* held (not synced) and in flight */
	size_t nq, capq;
	bool cut[N_MAX][N_MAX];
	uint32_t expected;
	/* the snapshot blob the leader hands out */
	size_t snap_len;
	uint64_t snap_index;
	/* every message sent, for the decoder test */
	bool record;
	struct tmsg *seen;
	size_t n_seen, cap_seen;
};

static uint64_t rng_state = 1;

static void q_push(struct tc *c, int from, int to, const uint8_t *p, size_t len)
{
	if (c->nq == c->capq) {
		c->capq = c->capq ? c->capq * 2 : 64;
		c->q = xrealloc(c->q, c->capq * sizeof(*c->q));
	}
	c->q[c->nq++] = (struct tmsg){ from, to, xmemdup(p, len), len };
	if (c->record && c->n_seen < 4096) {
		if (c->n_seen == c->cap_seen) {
			c->cap_seen = c->cap_seen ? c->cap_seen * 2 : 64;
			c->seen = xrealloc(c->seen, c->cap_seen * sizeof(*c->seen));
		}
		c->seen[c->n_seen++] = (struct tmsg){ from, to, xmemdup(p, len), len };
	}
}

static void t_send(void *ctx, uint32_t to, const uint8_t *msg, size_t len)
{
	struct tnode *nd = ctx;

	q_push(nd->c, nd->idx, (int)to - 1, msg, len);
}

static int t_persist_state(void *ctx, uint64_t term, uint32_t voted_for)
{
	struct tnode *nd = ctx;
	int rc = nd->fail_persist;

	if (rc)
		return rc;
	nd->term = term;
	nd->vote = voted_for;
	return 0;
}

static int t_persist_entries(void *ctx, const struct raft_entry *e, size_t n)
{
	struct tnode *nd = ctx;

	if (nd->fail_persist)
		return nd->fail_persist;
	for (size_t i = 0; i < n; i++) {
		struct raft_entry *d = &nd->log[e[i].index - 1];

		T_ASSERT(e[i].index == nd->log_last + 1);
		free((void *)d->data);
		*d = e[i];
		d->data = e[i].len ? xmemdup(e[i].data, e[i].len) : NULL;
		nd->log_last = e[i].index;
	}
	return 0;
}

static int t_persist_trunc(void *ctx, uint64_t last_kept)
{
	struct tnode *nd = ctx;

	if (nd->fail_persist)
		return nd->fail_persist;
	nd->log_last = MIN(nd->log_last, last_kept);
	return 0;
}

static void t_apply(void *ctx, const struct raft_entry *e)
{
	struct tnode *nd = ctx;

	T_EQ_INT(e->index, nd->applied + 1);
	nd->applied = e->index;
	if (e->index < 256) {
		size_t n = MIN((size_t)e->len, sizeof(nd->applied_data[0]) - 1);

		memcpy(nd->applied_data[e->index], e->data ? (const char *)e->data : "", n);
		nd->applied_data[e->index][n] = 0;
	}
}

static int t_snapshot_load(void *ctx, struct buf *out, uint64_t *index, uint64_t *term)
{
	struct tnode *nd = ctx;

	*index = nd->snap_index;
	*term = nd->snap_term;
	buf_reserve(out, nd->c->snap_len);
	for (size_t i = 0; i < nd->c->snap_len; i++)
		out->p[out->len++] = (uint8_t)(i * 7 + nd->snap_index);
	return 0;
}

static int t_snapshot_install(void *ctx, const uint8_t *p, size_t n, uint64_t index, uint64_t term)
{
	struct tnode *nd = ctx;

	(void)term;
	nd->n_install++;
	nd->install_index = index;
	nd->install_len = n;
	nd->install_ok = true;
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(i * 7 + index))
			nd->install_ok = false;
	nd->applied = index;
	nd->snap_index = index;
	nd->snap_term = term;
	nd->log_last = index;
	return 0;
}

static uint32_t t_random(void *ctx)
{
	(void)ctx;
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 33);
}

static const struct raft_ops t_ops = {
	.send = t_send,
	.persist_state = t_persist_state,
	.persist_entries = t_persist_entries,
	.persist_trunc = t_persist_trunc,
	.apply = t_apply,
	.snapshot_load = t_snapshot_load,
	.snapshot_install = t_snapshot_install,
	.random = t_random,
};

static void tc_start_node(struct tc *c, int i)
{
	struct tnode *nd = &c->nodes[i];
	struct raft_cfg cfg = {
		(uint32_t)i + 1, c->cfg, (size_t)c->n, HB_MS, EL_MS, c->expected, 0
	};

	T_EQ_INT(raft_new(&cfg, &t_ops, nd, &nd->r), 0);
	T_EQ_INT(raft_start(nd->r, 0, c->now), 0);
	nd->up = true;
}

static struct tc *tc_new(int n, const uint32_t *votes)
{
	struct tc *c = xcalloc(1, sizeof(*c));

	c->n = n;
	for (int i = 0; i < n; i++) {
		c->cfg[i].id = (uint32_t)i + 1;
		c->cfg[i].votes = votes ? votes[i] : 1;
		c->nodes[i].c = c;
		c->nodes[i].idx = i;
	}
	for (int i = 0; i < n; i++)
		tc_start_node(c, i);
	return c;
}

static void tc_free(struct tc *c)
{
	for (int i = 0; i < c->n; i++) {
		raft_free(c->nodes[i].r);
		for (int k = 0; k < 256; k++)
			free((void *)c->nodes[i].log[k].data);
	}
	for (size_t i = 0; i < c->nq; i++)
		free(c->q[i].p);
	for (size_t i = 0; i < c->n_seen; i++)
		free(c->seen[i].p);
	free(c->q);
	free(c->seen);
	free(c);
}

/* Sync every node (all persisted is durable) and deliver every message
 * until the network is quiet. */
static void tc_deliver(struct tc *c)
{
	for (int round = 0; round < 1000; round++) {
		size_t n;
		struct tmsg *q;

		for (int i = 0; i < c->n; i++)
			if (c->nodes[i].up)
				T_EQ_INT(raft_synced(c->nodes[i].r, raft_last_index(c->nodes[i].r)),
				         0);
		if (!c->nq)
			break;
		n = c->nq;
		q = c->q;
		c->q = NULL;
		c->nq = c->capq = 0;
		for (size_t i = 0; i < n; i++) {
			struct tnode *to = &c->nodes[q[i].to];

			if (to->up && !c->cut[q[i].from][q[i].to]) {
				int rc = raft_recv(to->r, (uint32_t)q[i].from + 1, q[i].p, q[i].len,
				                   c->now);

				T_EQ_INT(rc, 0);
			}
			free(q[i].p);
		}
		free(q);
	}
}

static void tc_run(struct tc *c, uint64_t ms)
{
	uint64_t end = c->now + ms;

	tc_deliver(c);
	while (c->now < end) {
		c->now += TICK_MS;
		for (int i = 0; i < c->n; i++)
			if (c->nodes[i].up)
				T_EQ_INT(raft_tick(c->nodes[i].r, c->now), 0);
		tc_deliver(c);
	}
}

/* Forget every queued message (as if lost). */
static void tc_drop_queue(struct tc *c)
{
	for (size_t i = 0; i < c->nq; i++)
		free(c->q[i].p);
	c->nq = 0;
}

/* Isolate node i (both directions) or reconnect it. */
static void tc_isolate(struct tc *c, int i, bool cut)
{
	for (int k = 0; k < c->n; k++) {
		c->cut[i][k] = cut;
		c->cut[k][i] = cut;
	}
}

static void tc_heal(struct tc *c)
{
	memset(c->cut, 0, sizeof(c->cut));
}

static int tc_leader(struct tc *c)
{
	int found = -1, n = 0;

	for (int i = 0; i < c->n; i++)
		if (c->nodes[i].up && raft_role(c->nodes[i].r) == RAFT_LEADER) {
			found = i;
			n++;
		}
	return n == 1 ? found : -1;
}

static int tc_propose(struct tc *c, int i, const char *s)
{
	return raft_propose(c->nodes[i].r, (const uint8_t *)s, (uint32_t)strlen(s), NULL);
}

/* ------------------------------------------------------------ tests */

static void test_new_errors(void)
{
	struct raft_node_cfg nodes[2] = { { 1, 1 }, { 2, 1 } }, dup[2] = { { 1, 1 }, { 1, 1 } };
	struct raft_cfg cfg = { 1, nodes, 2, HB_MS, EL_MS, 0, 0 };
	struct raft *r = (struct raft *)&cfg;

	T_EQ_INT(raft_new(&cfg, &t_ops, NULL, &r), 0);
	raft_free(r);
	cfg.self = 3;
	T_EQ_INT(raft_new(&cfg, &t_ops, NULL, &r), -EINVAL);
	T_ASSERT(r == NULL);
	cfg.self = 1;
	cfg.nodes = dup;
	T_EQ_INT(raft_new(&cfg, &t_ops, NULL, &r), -EINVAL);
	cfg.nodes = nodes;
	cfg.n_nodes = 0;
	T_EQ_INT(raft_new(&cfg, &t_ops, NULL, &r), -EINVAL);
	cfg.n_nodes = RAFT_NODES_MAX + 1;
	T_EQ_INT(raft_new(&cfg, &t_ops, NULL, &r), -EINVAL);
	cfg.n_nodes = 2;
	cfg.election_ms = HB_MS;
	T_EQ_INT(raft_new(&cfg, &t_ops, NULL, &r), -EINVAL);
	cfg.election_ms = EL_MS;
	cfg.heartbeat_ms = 0;
	T_EQ_INT(raft_new(&cfg, &t_ops, NULL, &r), -EINVAL);
	raft_free(NULL);
}

static void test_single_node(void)
{
	struct tc *c = tc_new(1, NULL);
	struct tnode *nd = &c->nodes[0];
	uint64_t index = 0;

	/* a node whose votes make the quorum leads at once, no timeout */
	T_EQ_INT(raft_role(nd->r), RAFT_LEADER);
	T_EQ_INT(raft_term(nd->r), 1);
	T_EQ_INT(nd->term, 1);
	T_EQ_INT(nd->vote, 1);
	/* the no-op commits only once synced */
	T_EQ_INT(raft_commit_index(nd->r), 0);
	T_ASSERT(!raft_leader_ready(nd->r));
	T_EQ_INT(raft_synced(nd->r, 1), 0);
	T_EQ_INT(raft_commit_index(nd->r), 1);
	T_ASSERT(raft_leader_ready(nd->r));
	T_EQ_INT(raft_propose(nd->r, (const uint8_t *)"a", 1, &index), 0);
	T_EQ_INT(index, 2);
	T_EQ_INT(nd->applied, 1);
	T_EQ_INT(raft_synced(nd->r, 99), 0); /* clamped */
	T_EQ_INT(nd->applied, 2);
	T_EQ_STR(nd->applied_data[2], "a");
	T_ASSERT(raft_quorate(nd->r, c->now));
	T_EQ_INT(raft_propose(nd->r, (const uint8_t *)"", 0, NULL), -EINVAL);
	T_EQ_INT(raft_propose(nd->r, (const uint8_t *)"x", RAFT_ENTRY_MAX + 1, NULL), -EFBIG);
	tc_free(c);
}

static void test_three_node_election(void)
{
	struct tc *c = tc_new(3, NULL);
	int l;

	T_EQ_INT(tc_leader(c), -1);
	tc_run(c, 3 * EL_MS);
	l = tc_leader(c);
	T_ASSERT(l >= 0);
	if (l < 0)
		goto out;
	for (int i = 0; i < 3; i++) {
		T_EQ_INT(raft_term(c->nodes[i].r), raft_term(c->nodes[l].r));
		T_EQ_INT(raft_leader(c->nodes[i].r), l + 1);
		T_ASSERT(raft_quorate(c->nodes[i].r, c->now));
		/* the leader's no-op is committed and applied everywhere */
		T_EQ_INT(c->nodes[i].applied, 1);
	}
	T_ASSERT(raft_leader_ready(c->nodes[l].r));
	/* PreVote: no term was spent on failed attempts (a split vote may
	 * cost one) */
	T_ASSERT(raft_term(c->nodes[l].r) <= 2);
out:
	tc_free(c);
}

static void test_replication_and_forwarding(void)
{
	struct tc *c = tc_new(3, NULL);
	int l, f;
	char s[32];

	tc_run(c, 3 * EL_MS);
	l = tc_leader(c);
	T_ASSERT(l >= 0);
	if (l < 0)
		goto out;
	f = (l + 1) % 3;
	/* a follower refuses and names the leader to forward to */
	T_EQ_INT(tc_propose(c, f, "nope"), -ENOTCONN);
	T_EQ_INT(raft_leader(c->nodes[f].r), l + 1);
	for (int i = 0; i < 50; i++) {
		snprintf(s, sizeof(s), "op%d", i);
		T_EQ_INT(tc_propose(c, l, s), 0);
	}
	/* nothing commits before the followers' acknowledgements arrive */
	T_EQ_INT(raft_commit_index(c->nodes[l].r), 1);
	tc_deliver(c);
	for (int i = 0; i < 3; i++) {
		T_EQ_INT(raft_last_index(c->nodes[i].r), 51);
		T_EQ_STR(c->nodes[i].applied_data[2], "op0");
		T_EQ_STR(c->nodes[i].applied_data[51], "op49");
	}
	T_EQ_INT(raft_commit_index(c->nodes[l].r), 51);
	tc_run(c, HB_MS * 2); /* heartbeats carry the commit index */
	for (int i = 0; i < 3; i++)
		T_EQ_INT(c->nodes[i].applied, 51);
	/* a lagging follower catches up (probe, then pipeline) */
	tc_isolate(c, f, true);
	for (int i = 0; i < 20; i++)
		T_EQ_INT(tc_propose(c, l, "more"), 0);
	tc_run(c, HB_MS * 2);
	T_EQ_INT(c->nodes[l].applied, 71); /* leader + the other follower */
	T_EQ_INT(c->nodes[f].applied, 51);
	tc_heal(c);
	tc_run(c, HB_MS * 3);
	T_EQ_INT(c->nodes[f].applied, 71);
	T_EQ_INT(raft_leader(c->nodes[f].r), l + 1);
out:
	tc_free(c);
}

/* Encode a message by hand (as an old or a rogue leader would send it). */
static size_t enc_hdr(uint8_t *p, uint8_t type, uint64_t term)
{
	p[0] = RAFT_MSG_VERSION;
	p[1] = type;
	put_le16(p + 2, 0);
	put_le64(p + 4, term);
	return RAFT_MSG_HDR_SIZE;
}

static size_t enc_append(uint8_t *p, uint64_t term, uint64_t prev, uint64_t prev_term,
                         uint64_t commit)
{
	size_t n = enc_hdr(p, RAFT_MSG_APPEND, term);

	put_le64(p + n, prev);
	put_le64(p + n + 8, prev_term);
	put_le64(p + n + 16, commit);
	put_le32(p + n + 24, 0);
	return n + 28;
}

static void test_term_handling(void)
{
	struct tc *c = tc_new(3, NULL);
	uint8_t m[64];
	size_t n;
	int l, f, other;
	uint64_t t0;
	struct raft_msg d;

	tc_run(c, 3 * EL_MS);
	l = tc_leader(c);
	T_ASSERT(l >= 0);
	if (l < 0)
		goto out;
	f = (l + 1) % 3;
	other = 3 - l - f;
	t0 = raft_term(c->nodes[f].r);
	/* a message of a higher term (here: node other leads term + 4) is
	 * followed at once, and the new term is persisted */
	n = enc_append(m, t0 + 4, 0, 0, 0);
	T_EQ_INT(raft_recv(c->nodes[f].r, (uint32_t)other + 1, m, n, c->now), 0);
	T_EQ_INT(raft_term(c->nodes[f].r), t0 + 4);
	T_EQ_INT(c->nodes[f].term, t0 + 4);
	T_EQ_INT(c->nodes[f].vote, 0);
	T_EQ_INT(raft_leader(c->nodes[f].r), other + 1);
	/* the old leader's APPEND is refused, answered with the new term */
	n = enc_append(m, t0, 0, 0, 0);
	tc_drop_queue(c);
	T_EQ_INT(raft_recv(c->nodes[f].r, (uint32_t)l + 1, m, n, c->now), 0);
	T_EQ_INT(c->nq, 1);
	if (c->nq == 1) {
		T_EQ_INT(raft_msg_decode(c->q[0].p, c->q[0].len, &d), 0);
		T_EQ_INT(d.type, RAFT_MSG_APPEND_RESP);
		T_EQ_INT(d.term, t0 + 4);
		T_ASSERT(!d.success);
		/* and the old leader steps down when it reads that */
		T_EQ_INT(raft_recv(c->nodes[l].r, (uint32_t)f + 1, c->q[0].p, c->q[0].len, c->now),
		         0);
		T_EQ_INT(raft_role(c->nodes[l].r), RAFT_FOLLOWER);
		T_EQ_INT(raft_term(c->nodes[l].r), t0 + 4);
		T_EQ_INT(c->nodes[l].term, t0 + 4);
	}
	/* messages from outside the configuration or from self are refused */
	T_EQ_INT(raft_recv(c->nodes[f].r, 9, m, n, c->now), -EINVAL);
	T_EQ_INT(raft_recv(c->nodes[f].r, (uint32_t)f + 1, m, n, c->now), -EINVAL);
	/* the cluster recovers */
	tc_run(c, 6 * EL_MS);
	T_ASSERT(tc_leader(c) >= 0);
out:
	tc_free(c);
}

static void test_prevote_no_disruption(void)
{
	struct tc *c = tc_new(3, NULL);
	int l, f;
	uint64_t term;

	tc_run(c, 3 * EL_MS);
	l = tc_leader(c);
	T_ASSERT(l >= 0);
	if (l < 0)
		goto out;
	term = raft_term(c->nodes[l].r);
	f = (l + 1) % 3;
	tc_isolate(c, f, true);
	tc_run(c, 20 * EL_MS);
	/* the isolated node keeps asking for pre-votes but never bumps its term */
	T_EQ_INT(raft_term(c->nodes[f].r), term);
	T_ASSERT(raft_role(c->nodes[f].r) == RAFT_PRECANDIDATE);
	T_ASSERT(!raft_quorate(c->nodes[f].r, c->now));
	T_ASSERT(raft_quorate(c->nodes[l].r, c->now));
	tc_heal(c);
	tc_run(c, 3 * EL_MS);
	/* it rejoins without disturbing the leader */
	T_EQ_INT(tc_leader(c), l);
	T_EQ_INT(raft_term(c->nodes[l].r), term);
	T_EQ_INT(raft_leader(c->nodes[f].r), l + 1);
	/* and a follower with a live leader ignores a real vote request */
	{
		uint8_t m[32];
		size_t n = enc_hdr(m, RAFT_MSG_VOTE_REQ, term + 1);

		put_le64(m + n, 1000);
		put_le64(m + n + 8, term + 1);
		n += 16;
		T_EQ_INT(raft_recv(c->nodes[f].r, (uint32_t)(3 - l - f) + 1, m, n, c->now), 0);
		T_EQ_INT(raft_term(c->nodes[f].r), term);
	}
out:
	tc_free(c);
}

static void test_checkquorum_stepdown(void)
{
	struct tc *c = tc_new(3, NULL);
	int l, l2;

	tc_run(c, 3 * EL_MS);
	l = tc_leader(c);
	T_ASSERT(l >= 0);
	if (l < 0)
		goto out;
	tc_isolate(c, l, true);
	T_EQ_INT(tc_propose(c, l, "lost"), 0);
	tc_run(c, EL_MS + 2 * TICK_MS);
	/* within one election timeout the old leader is a follower, not quorate */
	T_EQ_INT(raft_role(c->nodes[l].r), RAFT_FOLLOWER);
	T_ASSERT(!raft_quorate(c->nodes[l].r, c->now));
	tc_run(c, 3 * EL_MS);
	l2 = tc_leader(c);
	T_ASSERT(l2 >= 0 && l2 != l);
	T_EQ_INT(tc_propose(c, l2, "kept"), 0);
	tc_heal(c);
	tc_run(c, 3 * EL_MS);
	T_EQ_INT(tc_leader(c), l2);
	/* the entry the isolated leader never committed is replaced */
	for (int i = 0; i < 3; i++) {
		T_EQ_INT(c->nodes[i].applied, c->nodes[l2].applied);
		T_EQ_STR(c->nodes[i].applied_data[3], "kept");
	}
out:
	tc_free(c);
}

static void test_weighted_votes(void)
{
	static const uint32_t votes[3] = { 2, 1, 1 };
	struct tc *c = tc_new(3, votes);
	struct raft_status st;

	/* total 4, quorum 3: node 1 plus any other */
	raft_status(c->nodes[1].r, c->now, &st);
	T_EQ_INT(st.quorum, 3);
	T_EQ_INT(st.total_votes, 4);
	tc_isolate(c, 0, true);
	tc_run(c, 10 * EL_MS);
	/* nodes 2 and 3 hold 2 votes: no leader, however long */
	T_EQ_INT(tc_leader(c), -1);
	T_EQ_INT(raft_term(c->nodes[1].r), 0); /* PreVote: nobody bumped a term */
	tc_heal(c);
	tc_isolate(c, 2, true);
	tc_run(c, 5 * EL_MS);
	T_ASSERT(tc_leader(c) == 0 || tc_leader(c) == 1);
	T_EQ_INT(tc_propose(c, tc_leader(c) < 0 ? 0 : tc_leader(c), "w"), 0);
	tc_run(c, 2 * HB_MS);
	T_EQ_STR(c->nodes[0].applied_data[2], "w");
	T_EQ_INT(c->nodes[2].applied, 0);
	tc_free(c);

	/* one node holding the majority of votes leads alone */
	{
		static const uint32_t v2[2] = { 3, 1 };

		c = tc_new(2, v2);
		T_EQ_INT(raft_role(c->nodes[0].r), RAFT_LEADER);
		tc_isolate(c, 0, true);
		T_EQ_INT(tc_propose(c, 0, "solo"), 0);
		tc_run(c, 3 * EL_MS);
		T_EQ_INT(raft_role(c->nodes[0].r), RAFT_LEADER);
		T_EQ_STR(c->nodes[0].applied_data[2], "solo");
		T_EQ_INT(raft_role(c->nodes[1].r), RAFT_PRECANDIDATE);
		tc_free(c);
	}

	/* a learner (0 votes) replicates but never counts or campaigns */
	{
		static const uint32_t v3[3] = { 1, 1, 0 };

		c = tc_new(3, v3);
		tc_run(c, 3 * EL_MS);
		T_ASSERT(tc_leader(c) == 0 || tc_leader(c) == 1);
		if (tc_leader(c) >= 0) {
			int l = tc_leader(c);

			T_EQ_INT(tc_propose(c, l, "x"), 0);
			tc_run(c, 2 * HB_MS);
			T_EQ_STR(c->nodes[2].applied_data[2], "x");
			tc_isolate(c, 1 - l, true); /* the other voter: no quorum left */
			tc_run(c, 3 * EL_MS);
			T_ASSERT(raft_role(c->nodes[l].r) != RAFT_LEADER);
			T_ASSERT(!raft_quorate(c->nodes[l].r, c->now));
			T_EQ_INT(raft_role(c->nodes[2].r), RAFT_FOLLOWER);
		}
		tc_free(c);
	}
}

static void test_expected_override(void)
{
	struct tc *c = tc_new(3, NULL);
	struct raft_status st;

	tc_isolate(c, 1, true);
	tc_isolate(c, 2, true);
	tc_run(c, 5 * EL_MS);
	T_ASSERT(raft_role(c->nodes[0].r) != RAFT_LEADER);
	/* pvecm expected 1: node 1 alone is quorate */
	T_EQ_INT(raft_set_expected(c->nodes[0].r, 1), 0);
	raft_status(c->nodes[0].r, c->now, &st);
	T_EQ_INT(st.quorum, 1);
	T_EQ_INT(st.expected_votes, 1);
	tc_run(c, 3 * EL_MS);
	T_EQ_INT(raft_role(c->nodes[0].r), RAFT_LEADER);
	T_EQ_INT(tc_propose(c, 0, "alone"), 0);
	tc_run(c, HB_MS);
	T_EQ_STR(c->nodes[0].applied_data[2], "alone");
	T_ASSERT(raft_quorate(c->nodes[0].r, c->now));
	/* one node back: quorum max(1, 2)/2+1 = 2, still fine */
	c->cut[0][1] = c->cut[1][0] = false;
	tc_run(c, 3 * EL_MS);
	raft_status(c->nodes[0].r, c->now, &st);
	T_EQ_INT(st.quorum, 2);
	T_EQ_INT(st.expected_override, 1);
	/* all votes back: the override is undone by itself */
	tc_heal(c);
	tc_run(c, 3 * EL_MS);
	raft_status(c->nodes[0].r, c->now, &st);
	T_EQ_INT(st.expected_override, 0);
	T_EQ_INT(st.expected_votes, 3);
	T_EQ_INT(st.quorum, 2);
	T_ASSERT(tc_leader(c) >= 0);
	for (int i = 0; i < 3; i++)
		T_EQ_STR(c->nodes[i].applied_data[2], "alone");
	tc_free(c);
}

static void test_snapshot_install(void)
{
	struct tc *c = tc_new(3, NULL);
	int l, f;
	struct raft_status st;

	tc_run(c, 3 * EL_MS);
	l = tc_leader(c);
	T_ASSERT(l >= 0);
	if (l < 0)
		goto out;
	f = (l + 1) % 3;
	tc_isolate(c, f, true);
	for (int i = 0; i < 30; i++)
		T_EQ_INT(tc_propose(c, l, "s"), 0);
	tc_run(c, 2 * HB_MS);
	T_EQ_INT(c->nodes[l].applied, 31);
	/* compaction needs the state machine there */
	T_EQ_INT(raft_compact(c->nodes[l].r, 40), -EINVAL);
	c->nodes[l].snap_index = 25;
	c->nodes[l].snap_term = raft_term(c->nodes[l].r);
	T_EQ_INT(raft_compact(c->nodes[l].r, 25), 0);
	T_EQ_INT(raft_snapshot_index(c->nodes[l].r), 25);
	T_ASSERT(raft_entry_get(c->nodes[l].r, 25) == NULL);
	T_ASSERT(raft_entry_get(c->nodes[l].r, 26) != NULL);
	T_EQ_INT(raft_compact(c->nodes[l].r, 10), 0); /* below: no-op */
	c->snap_len = 3 * RAFT_SNAP_CHUNK + 1000;     /* four chunks */
	tc_heal(c);
	tc_run(c, 4 * HB_MS);
	raft_status(c->nodes[l].r, c->now, &st);
	T_EQ_INT(c->nodes[f].n_install, 1);
	T_EQ_INT(c->nodes[f].install_index, 25);
	T_EQ_INT(c->nodes[f].install_len, c->snap_len);
	T_ASSERT(c->nodes[f].install_ok);
	T_EQ_INT(raft_snapshot_index(c->nodes[f].r), 25);
	/* then the rest of the log follows */
	T_EQ_INT(c->nodes[f].applied, 31);
	T_EQ_INT(tc_propose(c, l, "after"), 0);
	tc_run(c, 2 * HB_MS);
	T_EQ_STR(c->nodes[f].applied_data[32], "after");
out:
	tc_free(c);
}

static void test_restore(void)
{
	struct tc *c = tc_new(1, NULL);
	struct tnode *nd = &c->nodes[0];
	struct raft_cfg cfg = { 1, c->cfg, 1, HB_MS, EL_MS, 0, 0 };
	struct raft *r;
	struct tnode fresh = { .c = c };

	raft_synced(nd->r, 1);
	T_EQ_INT(tc_propose(c, 0, "one"), 0);
	T_EQ_INT(tc_propose(c, 0, "two"), 0);
	raft_synced(nd->r, 3);
	T_EQ_INT(nd->applied, 3);

	/* restart from what was persisted: term, vote, three entries */
	T_EQ_INT(raft_new(&cfg, &t_ops, &fresh, &r), 0);
	T_EQ_INT(raft_restore_snapshot(r, 0, 0), 0);
	T_EQ_INT(raft_restore_state(r, nd->term, nd->vote), 0);
	T_EQ_INT(raft_restore_state(r, nd->term - 1, 0), -EINVAL);
	for (uint64_t i = 0; i < nd->log_last; i++)
		T_EQ_INT(raft_restore_entry(r, &nd->log[i]), 0);
	{
		struct raft_entry gap = nd->log[0];

		gap.index = 9;
		T_EQ_INT(raft_restore_entry(r, &gap), -EINVAL);
		gap.index = 0;
		T_EQ_INT(raft_restore_entry(r, &gap), -EINVAL);
	}
	/* a rewritten suffix replaces what follows */
	T_EQ_INT(raft_restore_trunc(r, 2), 0);
	T_EQ_INT(raft_last_index(r), 2);
	T_EQ_INT(raft_restore_entry(r, &nd->log[2]), 0);
	T_EQ_INT(raft_last_index(r), 3);
	fresh.log_last = 3;
	T_EQ_INT(raft_start(r, 2, c->now), 0); /* commit hint: applies 1..2 now */
	T_EQ_INT(raft_restore_entry(r, &nd->log[0]), -EBUSY);
	T_EQ_INT(raft_start(r, 0, c->now), -EBUSY);
	T_EQ_INT(fresh.applied, 2);
	T_EQ_STR(fresh.applied_data[2], "one");
	/* it leads again in a new term and commits the rest after its no-op */
	T_EQ_INT(raft_role(r), RAFT_LEADER);
	T_EQ_INT(raft_term(r), nd->term + 1);
	raft_synced(r, raft_last_index(r));
	T_EQ_INT(fresh.applied, 4);
	T_EQ_STR(fresh.applied_data[3], "two");
	raft_free(r);
	for (int k = 0; k < 256; k++)
		free((void *)fresh.log[k].data);
	tc_free(c);
}

static void test_restore_snapshot(void)
{
	struct raft_node_cfg nodes[3] = { { 1, 1 }, { 2, 1 }, { 3, 1 } };
	struct raft_cfg cfg = { 1, nodes, 3, HB_MS, EL_MS, 0, 0 };
	struct tc c = { .n = 0 };
	struct tnode nd = { .c = &c };
	struct raft *r;
	struct raft_entry e = { 3, 1, RAFT_ENTRY_NORMAL, (const uint8_t *)"old", 3 };

	T_EQ_INT(raft_new(&cfg, &t_ops, &nd, &r), 0);
	T_EQ_INT(raft_restore_snapshot(r, 5, 2), 0);
	T_EQ_INT(raft_restore_snapshot(r, 4, 2), -EINVAL); /* older than the one we have */
	T_EQ_INT(raft_restore_snapshot(r, 6, 0), -EINVAL);
	T_EQ_INT(raft_restore_state(r, 3, 2), 0);
	T_EQ_INT(raft_restore_entry(r, &e), 0); /* below the snapshot: skipped */
	T_EQ_INT(raft_last_index(r), 5);
	e.index = 6;
	e.term = 2;
	e.data = (const uint8_t *)"six";
	T_EQ_INT(raft_restore_entry(r, &e), 0);
	e.index = 7;
	e.term = 1; /* terms never go down in a log */
	T_EQ_INT(raft_restore_entry(r, &e), -EINVAL);
	e.term = 3;
	e.data = (const uint8_t *)"sev";
	T_EQ_INT(raft_restore_entry(r, &e), 0);
	e.type = RAFT_ENTRY_NOOP; /* a NOOP carries no bytes */
	e.index = 8;
	T_EQ_INT(raft_restore_entry(r, &e), -EINVAL);
	T_EQ_INT(raft_last_index(r), 7);
	T_EQ_INT(raft_snapshot_index(r), 5);
	nd.applied = 5; /* the state machine comes from the snapshot */
	nd.log_last = 7;
	T_EQ_INT(raft_start(r, 6, 0), 0);
	T_EQ_INT(nd.applied, 6);
	T_EQ_STR(nd.applied_data[6], "six");
	T_EQ_INT(raft_commit_index(r), 6);
	T_EQ_INT(raft_term(r), 3);
	T_EQ_INT(raft_role(r), RAFT_FOLLOWER);
	T_ASSERT(raft_entry_get(r, 5) == NULL);
	T_ASSERT(raft_entry_get(r, 7) != NULL && raft_entry_get(r, 7)->term == 3);
	T_ASSERT(!raft_quorate(r, 0));
	raft_free(r);
	for (int k = 0; k < 256; k++)
		free((void *)nd.log[k].data);
}

static void test_term_max(void)
{
	struct raft_node_cfg nodes[2] = { { 1, 1 }, { 2, 1 } };
	struct raft_cfg cfg = { 1, nodes, 2, HB_MS, EL_MS, 0, 0 };
	struct tc c = { .n = 0 };
	struct tnode nd = { .c = &c };
	struct raft *r;

	T_EQ_INT(raft_new(&cfg, &t_ops, &nd, &r), 0);
	T_EQ_INT(raft_restore_state(r, RAFT_TERM_MAX + 1, 0), -EINVAL);
	T_EQ_INT(raft_restore_state(r, RAFT_TERM_MAX, 0), 0);
	T_EQ_INT(raft_start(r, 0, 0), 0);
	for (uint64_t now = 0; now < 10 * EL_MS; now += TICK_MS)
		T_EQ_INT(raft_tick(r, now), 0);
	/* a term that cannot grow: the node never campaigns, never wraps */
	T_EQ_INT(raft_role(r), RAFT_FOLLOWER);
	T_EQ_INT(raft_term(r), RAFT_TERM_MAX);
	T_EQ_INT(c.nq, 0);
	raft_free(r);
}

static void test_persist_failure_sticky(void)
{
	struct tc *c = tc_new(3, NULL);
	int l;

	tc_run(c, 3 * EL_MS);
	l = tc_leader(c);
	T_ASSERT(l >= 0);
	if (l < 0)
		goto out;
	c->nodes[l].fail_persist = -EIO;
	T_EQ_INT(tc_propose(c, l, "x"), -EIO);
	T_EQ_INT(raft_error(c->nodes[l].r), -EIO);
	T_EQ_INT(raft_tick(c->nodes[l].r, c->now), -EIO);
	T_EQ_INT(tc_propose(c, l, "y"), -EIO);
	T_ASSERT(!raft_quorate(c->nodes[l].r, c->now));
	c->nodes[l].up = false; /* the caller would stop it */
	tc_run(c, 4 * EL_MS);
	T_ASSERT(tc_leader(c) >= 0 && tc_leader(c) != l);
out:
	tc_free(c);
}

static void test_set_nodes(void)
{
	struct tc *c = tc_new(3, NULL);
	struct raft_node_cfg four[4] = { { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 } };
	struct raft_status st;
	int l;

	tc_run(c, 3 * EL_MS);
	l = tc_leader(c);
	T_ASSERT(l >= 0);
	if (l < 0)
		goto out;
	/* add node 4 everywhere (as applying the change would) */
	c->cfg[3] = four[3];
	c->n = 4;
	c->nodes[3].c = c;
	c->nodes[3].idx = 3;
	for (int i = 0; i < 3; i++)
		T_EQ_INT(raft_set_nodes(c->nodes[i].r, four, 4), 0);
	tc_start_node(c, 3);
	T_EQ_INT(tc_propose(c, l, "hello4"), 0);
	tc_run(c, 3 * HB_MS);
	T_EQ_STR(c->nodes[3].applied_data[2], "hello4");
	raft_status(c->nodes[l].r, c->now, &st);
	T_EQ_INT(st.total_votes, 4);
	T_EQ_INT(st.quorum, 3);
	T_EQ_INT(st.n_nodes, 4);
	/* remove it again: its messages are refused */
	for (int i = 0; i < 3; i++)
		T_EQ_INT(raft_set_nodes(c->nodes[i].r, four, 3), 0);
	{
		uint8_t m[64];
		size_t n = enc_append(m, raft_term(c->nodes[l].r), 0, 0, 0);

		T_EQ_INT(raft_recv(c->nodes[l].r, 4, m, n, c->now), -EINVAL);
	}
	T_EQ_INT(raft_set_nodes(c->nodes[0].r, four, 0), -EINVAL);
	c->nodes[3].up = false;
	tc_run(c, 2 * EL_MS);
	T_EQ_INT(tc_leader(c), l);
out:
	tc_free(c);
}

/* Every message a cluster sent decodes; every truncation fails; bit flips
 * either fail or decode to something raft_recv survives. */
static void test_decoder(void)
{
	struct tc *c = tc_new(3, NULL);
	int types[9] = { 0 }, quiet = 0;
	int l;

	c->record = true;
	tc_run(c, 3 * EL_MS);
	l = tc_leader(c);
	if (l >= 0) {
		tc_isolate(c, (l + 1) % 3, true);
		for (int i = 0; i < 5; i++)
			tc_propose(c, l, "decoder test entry");
		tc_run(c, 2 * HB_MS);
		c->nodes[l].snap_index = 3;
		c->nodes[l].snap_term = raft_term(c->nodes[l].r);
		raft_compact(c->nodes[l].r, 3);
		c->snap_len = 100;
		tc_heal(c);
		tc_run(c, 3 * HB_MS);
	}
	c->record = false;
	for (size_t i = 0; i < c->n_seen; i++) {
		const struct tmsg *m = &c->seen[i];
		struct raft_msg d, orig;
		uint8_t *p = xcalloc(1, m->len + 1);

		T_EQ_INT(raft_msg_decode(m->p, m->len, &orig), 0);
		types[orig.type] = 1;
		quiet += orig.quiet; /* commit notifications */
		if (i % 7) {         /* a sample: all of them is slow under ASan */
			free(p);
			continue;
		}
		for (size_t k = 0; k < m->len; k++)
			T_ASSERT(raft_msg_decode(m->p, k, &d) < 0);
		memcpy(p, m->p, m->len);
		T_EQ_INT(raft_msg_decode(p, m->len + 1, &d), -EBADMSG); /* trailing byte */
		for (size_t bit = 0; bit < m->len * 8; bit++) {
			int rc;

			memcpy(p, m->p, m->len);
			p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			rc = raft_msg_decode(p, m->len, &d);
			if (bit < 8)
				T_EQ_INT(rc, -EPROTO); /* version */
			else if (bit == 16 && orig.type == RAFT_MSG_APPEND && !orig.n_entries)
				T_EQ_INT(rc, 0); /* RAFT_MSG_F_QUIET on or off */
			else if (bit < 32 && bit >= 16)
				T_EQ_INT(rc, -EBADMSG); /* flags */
			if (rc == 0 && m->to != m->from) {
				/* survives, whatever it means */
				raft_recv(c->nodes[m->to].r, (uint32_t)m->from + 1, p, m->len,
				          c->now);
			}
		}
		free(p);
	}
	for (int t = RAFT_MSG_PREVOTE_REQ; t <= RAFT_MSG_SNAP_RESP; t++)
		T_EQ_INT(types[t] * 100 + t, 100 + t); /* every type was seen */
	T_ASSERT(quiet > 0);
	{
		uint8_t m[RAFT_MSG_HDR_SIZE + 32];
		struct raft_msg d;
		size_t n = enc_hdr(m, RAFT_MSG_PREVOTE_RESP, 5);

		m[n] = 1;
		T_EQ_INT(raft_msg_decode(m, n + 1, &d), 0);
		T_ASSERT(d.granted);
		m[n] = 2; /* bool out of range */
		T_EQ_INT(raft_msg_decode(m, n + 1, &d), -EBADMSG);
		m[n] = 1;
		m[1] = 99; /* unknown type */
		T_EQ_INT(raft_msg_decode(m, n + 1, &d), -EBADMSG);
		m[1] = RAFT_MSG_PREVOTE_RESP;
		put_le64(m + 4, 0); /* term 0 */
		T_EQ_INT(raft_msg_decode(m, n + 1, &d), -EBADMSG);
		put_le64(m + 4, RAFT_TERM_MAX + 1); /* a term that could wrap */
		T_EQ_INT(raft_msg_decode(m, n + 1, &d), -EBADMSG);
		put_le64(m + 4, RAFT_TERM_MAX);
		T_EQ_INT(raft_msg_decode(m, n + 1, &d), 0);
		T_EQ_INT(raft_msg_decode(m, 0, &d), -EBADMSG);
		/* an APPEND whose entry count promises more than there is */
		n = enc_append(m, 5, 0, 0, 0);
		put_le32(m + n - 4, 0xffffffffu);
		T_EQ_INT(raft_msg_decode(m, n, &d), -EBADMSG);
	}
	tc_free(c);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	log_level = LOG_LVL_ERR - 1; /* the cases provoke errors on purpose */
	T_RUN(test_new_errors);
	T_RUN(test_single_node);
	T_RUN(test_three_node_election);
	T_RUN(test_replication_and_forwarding);
	T_RUN(test_term_handling);
	T_RUN(test_prevote_no_disruption);
	T_RUN(test_checkquorum_stepdown);
	T_RUN(test_weighted_votes);
	T_RUN(test_expected_override);
	T_RUN(test_snapshot_install);
	T_RUN(test_restore);
	T_RUN(test_restore_snapshot);
	T_RUN(test_term_max);
	T_RUN(test_persist_failure_sticky);
	T_RUN(test_set_nodes);
	T_RUN(test_decoder);
	return t_done();
}
