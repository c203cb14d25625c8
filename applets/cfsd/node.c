/* applets/cfsd/node.c - the replicated log of one cfsd, see node.h */
#define LOG_TAG "node"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "applets/cfsd/node.h"
#include "core/buf.h"
#include "core/corosync_conf.h"
#include "core/crypt.h"
#include "core/endian.h"
#include "core/log.h"
#include "core/util.h"
#include "net/msg.h"
#include "net/quorum.h"
#include "net/raft.h"
#include "net/udp.h"

enum {
	NODE_MSG_RAFT = 1,
	NODE_MSG_FWD = 2,
	NODE_MSG_HELLO = 3,
	NODE_MSG_DIVERGED = 4, /* "your log contradicts what we committed" */
	NODE_MSG_UNLOCK = 5,   /* u64 version, path: a lock's unlock request */
	NODE_MSG_CLOG = 6,     /* the cluster log's messages (applets/cfsd/clusterlog.c) */
};

#define TICK_SEC      0.01
#define RETRY_SEC     0.5  /* re-forward an unanswered write this often */
#define PROPOSED_RING 1024 /* (origin, req) the leader proposed lately */

struct pending {
	struct pending *next, *prev;
	uint64_t req;
	struct buf entry; /* the whole entry payload, for re-forwarding */
	node_done_fn *cb;
	void *ctx;
	double deadline;
	double next_try;
	uint32_t sent_to; /* leader it was last forwarded to (0: proposed here) */
};

/* applied requests of one origin: a ring of the last NODE_DEDUP_KEEP */
struct dedup {
	uint32_t origin;
	uint32_t count; /* used slots */
	uint32_t head;  /* next slot to overwrite */
	uint64_t max;   /* the largest request id applied */
	uint64_t *reqs;
};

struct held {
	struct held *next;
	uint64_t seq; /* persist_seq when queued: goes once that is synced */
	uint32_t to;
	size_t len;
	uint8_t msg[];
};

struct delayed {
	struct delayed *next;
	double due;
	uint32_t to;
	size_t len;
	uint8_t pkt[];
};

struct peer_info {
	uint32_t id;
	uint32_t votes;
	const char *name;
	const char *addr;
	double last_heard; /* any authentic message from it */
	double last_sent;  /* any message to it (unicast) */
	uint32_t expected; /* announced in its HELLO */
};

struct node {
	struct ev_loop *loop;
	struct node_conf conf;
	const struct node_hooks *hooks;
	void *ctx;
	bool cluster;

	struct raft *raft;
	struct msg *msg;
	struct udp *udp;
	struct crypt_key *key;

	struct peer_info peers[NODE_NODES_MAX];
	size_t n_peers;
	struct quorum_conf qconf;
	struct quorum_state qstate;
	bool was_quorate;
	uint32_t was_leader;

	uint64_t req_counter;
	struct pending *pending; /* doubly linked, newest first */
	size_t n_pending;

	struct dedup *dedup;
	size_t n_dedup;
	uint64_t proposed[PROPOSED_RING][2]; /* (origin, req) proposed lately */
	size_t proposed_head;

	uint64_t persist_seq; /* records queued */
	uint64_t sync_seq;    /* persist_seq when the running sync began */
	uint64_t synced_seq;  /* records known durable */
	uint64_t sync_last;   /* raft_last_index when the sync began */
	int broken;           /* a sync failed: -errno */
	struct held *held_head, **held_tail;

	uint64_t commit_hint;  /* from STATE records during replay */
	uint64_t hint_written; /* commit index of the last STATE record queued */
	uint64_t vote_term;    /* the term and vote of the last STATE record */
	uint32_t vote;
	uint64_t applied_index, applied_term;
	uint32_t rng;
	bool override_used;      /* `pvecm expected` lowered the quorum in this run */
	int fail_rc;             /* fail every pending write with this (then 0) */
	uint64_t conflicts_seen; /* raft_status().conflicts already reported */
	double diverged_sent;    /* when we last sent NODE_MSG_DIVERGED */
	bool resyncing;          /* hooks->resync was called */

	struct delayed *delayed; /* tests: datagrams waiting for CFS_TEST_DELAY_MS */
	struct buf scratch;
	ev_timer tick;
	double last_hello;
	double last_msg_tick;
};

static uint64_t now_ms(const struct node *n)
{
	return (uint64_t)(ev_now(n->loop) * 1000.0);
}

static uint32_t rnd(struct node *n)
{
	/* xorshift32: timeout jitter and test loss only */
	uint32_t x = n->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	n->rng = x;
	return x;
}

/* ------------------------------------------------------------ transport */

static int wire_send(struct node *n, uint32_t to, const uint8_t *pkt, size_t len)
{
	if (!n->udp)
		return 0;
	if (to)
		return udp_send_to(n->udp, to, pkt, len);
	return udp_send_all(n->udp, pkt, len);
}

static int msg_send_cb(void *ctx, uint32_t to, const uint8_t *pkt, size_t len)
{
	struct node *n = ctx;

	if (n->conf.test_loss > 0 && (rnd(n) % 1000000) < n->conf.test_loss * 1000000)
		return 0;
	if (n->conf.test_delay_ms > 0) {
		struct delayed *d = xmalloc(sizeof(*d) + len), **p = &n->delayed;

		d->due = ev_now(n->loop) + n->conf.test_delay_ms / 1000.0;
		d->to = to;
		d->len = len;
		d->next = NULL;
		memcpy(d->pkt, pkt, len);
		while (*p) /* keep FIFO order: equal delays */
			p = &(*p)->next;
		*p = d;
		return 0;
	}
	return wire_send(n, to, pkt, len);
}

static void flush_delayed(struct node *n)
{
	double now = ev_now(n->loop);

	while (n->delayed && n->delayed->due <= now) {
		struct delayed *d = n->delayed;

		n->delayed = d->next;
		wire_send(n, d->to, d->pkt, d->len);
		free(d);
	}
}

static void app_send(struct node *n, uint32_t to, uint8_t type, const uint8_t *p, size_t len)
{
	double now = ev_now(n->loop);
	size_t i;
	int rc;

	for (i = 0; i < n->n_peers; i++)
		if (!to || n->peers[i].id == to)
			n->peers[i].last_sent = now;

	buf_reset(&n->scratch);
	buf_put_u8(&n->scratch, type);
	buf_put(&n->scratch, p, len);
	rc = msg_send(n->msg, to, n->scratch.p, n->scratch.len, now);
	if (rc < 0)
		log_every(5, LOG_LVL_WARN, "node %u: send failed: %s", to, cfs_strerror(rc));
}

/* ------------------------------------------------------------ held messages */

static void held_flush(struct node *n)
{
	while (n->held_head && n->held_head->seq <= n->synced_seq) {
		struct held *h = n->held_head;

		n->held_head = h->next;
		if (!n->held_head)
			n->held_tail = &n->held_head;
		if (n->msg)
			app_send(n, h->to, NODE_MSG_RAFT, h->msg, h->len);
		free(h);
	}
}

static void held_drop(struct node *n)
{
	while (n->held_head) {
		struct held *h = n->held_head;

		n->held_head = h->next;
		free(h);
	}
	n->held_tail = &n->held_head;
}

/* ------------------------------------------------------------ dedup */

static struct dedup *dedup_get(struct node *n, uint32_t origin, bool create)
{
	size_t i;

	for (i = 0; i < n->n_dedup; i++)
		if (n->dedup[i].origin == origin)
			return &n->dedup[i];
	if (!create)
		return NULL;
	n->dedup = xrealloc(n->dedup, (n->n_dedup + 1) * sizeof(*n->dedup));
	n->dedup[n->n_dedup] = (struct dedup){ origin, 0, 0, 0, xcalloc(NODE_DEDUP_KEEP, 8) };
	return &n->dedup[n->n_dedup++];
}

static bool dedup_has(struct node *n, uint32_t origin, uint64_t req)
{
	struct dedup *d = dedup_get(n, origin, false);
	uint32_t i;

	if (!d || req > d->max)
		return false; /* request ids grow: the common case needs no scan */
	for (i = 0; i < d->count; i++)
		if (d->reqs[i] == req)
			return true;
	return false;
}

static void dedup_add(struct node *n, uint32_t origin, uint64_t req)
{
	struct dedup *d = dedup_get(n, origin, true);

	if (req > d->max)
		d->max = req;
	d->reqs[d->head] = req;
	d->head = (d->head + 1) % NODE_DEDUP_KEEP;
	if (d->count < NODE_DEDUP_KEEP)
		d->count++;
}

static void dedup_clear(struct node *n)
{
	size_t i;

	for (i = 0; i < n->n_dedup; i++)
		free(n->dedup[i].reqs);
	free(n->dedup);
	n->dedup = NULL;
	n->n_dedup = 0;
}

/* ------------------------------------------------------------ pending */

static struct pending *pending_find(struct node *n, uint64_t req)
{
	struct pending *p;

	for (p = n->pending; p; p = p->next)
		if (p->req == req)
			return p;
	return NULL;
}

static void pending_done(struct node *n, struct pending *p, int rc)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		n->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	n->n_pending--;
	buf_free(&p->entry);
	p->cb(p->ctx, rc);
	free(p);
}

static bool proposed_lately(struct node *n, uint32_t origin, uint64_t req)
{
	size_t i;

	for (i = 0; i < PROPOSED_RING; i++)
		if (n->proposed[i][1] == req && n->proposed[i][0] == origin)
			return true;
	return false;
}

static void propose(struct node *n, const uint8_t *entry, size_t len, uint32_t origin, uint64_t req)
{
	int rc;

	if (dedup_has(n, origin, req) || proposed_lately(n, origin, req))
		return;
	rc = raft_propose(n->raft, entry, (uint32_t)len, NULL);
	if (rc < 0 && rc == raft_error(n->raft) && !n->broken) {
		/* the journal refused the entry (disk full, I/O error): the
		 * writes waiting now get that error (fail_pending(), called
		 * where no pending is in use), later ones EROFS */
		n->broken = rc;
		n->fail_rc = rc;
		held_drop(n);
		return;
	}
	if (rc == 0) {
		n->proposed[n->proposed_head][0] = origin;
		n->proposed[n->proposed_head][1] = req;
		n->proposed_head = (n->proposed_head + 1) % PROPOSED_RING;
	}
}

static void fail_pending(struct node *n)
{
	struct pending *p;
	int rc = n->fail_rc;

	if (!rc)
		return;
	n->fail_rc = 0;
	while ((p = n->pending))
		pending_done(n, p, rc);
}

/* Send (or propose) a pending write to the current leader. */
static void pending_try(struct node *n, struct pending *p)
{
	uint32_t leader = raft_leader(n->raft);

	p->next_try = ev_now(n->loop) + RETRY_SEC;
	if (leader == n->conf.self) {
		p->sent_to = 0;
		propose(n, p->entry.p, p->entry.len, n->conf.self, p->req); /* may set fail_rc */
	} else if (leader && n->msg) {
		app_send(n, leader, NODE_MSG_FWD, p->entry.p, p->entry.len);
		p->sent_to = leader;
	}
}

/* ------------------------------------------------------------ raft ops */

static int persist(struct node *n, uint16_t type, uint64_t index, uint64_t term, const uint8_t *p,
                   uint32_t len)
{
	struct jrec r = { type, index, term, p, len };
	int rc = n->hooks->persist(n->ctx, &r);

	if (rc == 0)
		n->persist_seq++;
	return rc;
}

static void op_send(void *ctx, uint32_t to, const uint8_t *msg, size_t len)
{
	struct node *n = ctx;
	struct held *h;

	if (!n->msg || n->broken)
		return;
	/* A leader's APPEND/SNAP promise nothing about its own disk. */
	if ((len > 1 && (msg[1] == RAFT_MSG_APPEND || msg[1] == RAFT_MSG_SNAP)) ||
	    n->persist_seq == n->synced_seq) {
		app_send(n, to, NODE_MSG_RAFT, msg, len);
		return;
	}
	h = xmalloc(sizeof(*h) + len);
	h->next = NULL;
	h->seq = n->persist_seq;
	h->to = to;
	h->len = len;
	memcpy(h->msg, msg, len);
	*n->held_tail = h;
	n->held_tail = &h->next;
}

static int op_persist_state(void *ctx, uint64_t term, uint32_t voted_for)
{
	struct node *n = ctx;
	uint64_t commit = n->raft ? raft_commit_index(n->raft) : 0;
	uint8_t v[4];
	int rc;

	put_le32(v, voted_for);
	rc = persist(n, JREC_STATE, commit, term, v, 4);
	if (rc == 0) {
		n->vote_term = term;
		n->vote = voted_for;
		n->hint_written = MAX(n->hint_written, commit);
	}
	return rc;
}

static int op_persist_entries(void *ctx, const struct raft_entry *e, size_t cnt)
{
	struct node *n = ctx;
	size_t i;
	int rc;

	for (i = 0; i < cnt; i++) {
		rc = persist(n, JREC_ENTRY, e[i].index, e[i].term,
		             e[i].type == RAFT_ENTRY_NOOP ? NULL : e[i].data,
		             e[i].type == RAFT_ENTRY_NOOP ? 0 : e[i].len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int op_persist_trunc(void *ctx, uint64_t last)
{
	struct node *n = ctx;
	const struct raft_entry *e = raft_entry_get(n->raft, last);
	uint64_t term = e ? e->term : 0;

	if (!e && last == n->applied_index)
		term = n->applied_term;
	return persist(n, JREC_TRUNC, last, term, NULL, 0);
}

static void op_apply(void *ctx, const struct raft_entry *e)
{
	struct node *n = ctx;
	struct pending *p;
	uint32_t origin;
	uint64_t req;
	int rc;

	n->applied_index = e->index;
	n->applied_term = e->term;
	if (e->type != RAFT_ENTRY_NORMAL || e->len < NODE_ENTRY_HDR || e->data[0] != NODE_ENTRY_OP)
		return;
	origin = get_le32(e->data + 1);
	req = get_le64(e->data + 5);
	if (dedup_has(n, origin, req))
		return; /* a retry that made it into the log twice */
	rc = n->hooks->apply(n->ctx, e->data + NODE_ENTRY_HDR, e->len - NODE_ENTRY_HDR, origin,
	                     e->index);
	dedup_add(n, origin, req);
	if (origin == n->conf.self && (p = pending_find(n, req)))
		pending_done(n, p, rc);
}

int node_snapshot_encode(struct node *n, struct buf *out)
{
	size_t i;
	uint32_t k;

	buf_put_le32(out, NODE_SNAP_MAGIC);
	buf_put_le32(out, (uint32_t)n->n_dedup);
	for (i = 0; i < n->n_dedup; i++) {
		struct dedup *d = &n->dedup[i];

		buf_put_le32(out, d->origin);
		buf_put_le32(out, d->count);
		/* oldest first, so that a reload keeps the same ring order */
		for (k = 0; k < d->count; k++) {
			uint32_t slot =
			        (d->head + NODE_DEDUP_KEEP - d->count + k) % NODE_DEDUP_KEEP;

			buf_put_le64(out, d->reqs[slot]);
		}
	}
	return n->hooks->state_encode(n->ctx, out);
}

/* Load a node snapshot blob: the dedup table here, the tree through the
 * hook.  -EBADMSG on bad input (nothing changed then). */
static int snapshot_load_blob(struct node *n, const uint8_t *p, size_t len)
{
	struct rd r = rd_init(p, len);
	const uint8_t *tree;
	size_t tree_len;
	uint32_t cnt, i, k, c;
	int rc;

	rc = entry_snapshot_tree(p, len, &tree, &tree_len);
	if (rc < 0)
		return rc;
	rc = n->hooks->state_load(n->ctx, tree, tree_len);
	if (rc < 0)
		return rc;
	rd_u32(&r); /* magic, checked above */
	cnt = rd_u32(&r);
	dedup_clear(n);
	for (i = 0; i < cnt; i++) {
		uint32_t origin = rd_u32(&r);

		c = rd_u32(&r);
		for (k = 0; k < c; k++)
			dedup_add(n, origin, rd_u64(&r));
	}
	return 0;
}

static int op_snapshot_load(void *ctx, struct buf *out, uint64_t *index, uint64_t *term)
{
	struct node *n = ctx;

	*index = n->applied_index;
	*term = n->applied_term;
	return node_snapshot_encode(n, out);
}

static int op_snapshot_install(void *ctx, const uint8_t *p, size_t len, uint64_t index,
                               uint64_t term)
{
	struct node *n = ctx;
	int rc;

	rc = snapshot_load_blob(n, p, len);
	if (rc < 0)
		return rc;
	rc = n->hooks->snapshot_durable(n->ctx, p, len, index, term);
	if (rc < 0)
		return rc;
	n->applied_index = index;
	n->applied_term = term;
	log_info("installed a snapshot at index %llu term %llu from the leader",
	         (unsigned long long)index, (unsigned long long)term);
	return 0;
}

static uint32_t op_random(void *ctx)
{
	return rnd(ctx);
}

static const struct raft_ops raft_ops = {
	.send = op_send,
	.persist_state = op_persist_state,
	.persist_entries = op_persist_entries,
	.persist_trunc = op_persist_trunc,
	.apply = op_apply,
	.snapshot_load = op_snapshot_load,
	.snapshot_install = op_snapshot_install,
	.random = op_random,
};

/* ------------------------------------------------------------ receiving */

static struct peer_info *peer_find(struct node *n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n->n_peers; i++)
		if (n->peers[i].id == id)
			return &n->peers[i];
	return NULL;
}

static void resync(struct node *n, const char *why)
{
	if (!n->override_used || n->resyncing || !n->hooks->resync)
		return;
	n->resyncing = true;
	log_err("%s: this node ran on lowered expected votes, so its changes since then yield "
	        "to the cluster's",
	        why);
	n->hooks->resync(n->ctx);
}

/* NODE_MSG_UNLOCK: u64 version, then the path (no NUL on the wire); the
 * leader's hook checks the path */
static void unlock_msg(struct node *n, const uint8_t *p, size_t len)
{
	char path[CFS_PATH_MAX];

	if (len < 8 + 1 || len - 8 >= sizeof(path) || !n->hooks->unlock ||
	    raft_leader(n->raft) != n->conf.self)
		return;
	memcpy(path, p + 8, len - 8);
	path[len - 8] = 0;
	if (strlen(path) == len - 8)
		n->hooks->unlock(n->ctx, path, get_le64(p));
}

static bool peer_online(const struct node *n, const struct peer_info *pi, double now);

static void deliver_cb(void *ctx, uint32_t from, const uint8_t *p, size_t len)
{
	struct node *n = ctx;
	struct peer_info *pi = peer_find(n, from);
	bool back;
	int rc;

	if (!pi || len < 1)
		return;
	back = !peer_online(n, pi, ev_now(n->loop));
	pi->last_heard = ev_now(n->loop);
	if (back && n->hooks->peer_back)
		n->hooks->peer_back(n->ctx, from);
	switch (p[0]) {
	case NODE_MSG_RAFT:
		rc = raft_recv(n->raft, from, p + 1, len - 1, now_ms(n));
		if (rc < 0 && rc != raft_error(n->raft))
			log_every(5, LOG_LVL_WARN, "node %u: bad raft message: %s", from,
			          cfs_strerror(rc));
		break;
	case NODE_MSG_FWD:
		if (len < 1 + NODE_ENTRY_HDR || p[1] != NODE_ENTRY_OP || n->broken)
			return;
		if (raft_leader(n->raft) != n->conf.self)
			return; /* the origin retries with the new leader */
		propose(n, p + 1, len - 1, get_le32(p + 2), get_le64(p + 6));
		fail_pending(n);
		break;
	case NODE_MSG_DIVERGED:
		resync(n, "a node's committed log contradicts ours");
		break;
	case NODE_MSG_UNLOCK:
		unlock_msg(n, p + 1, len - 1);
		break;
	case NODE_MSG_CLOG:
		if (n->hooks->clog)
			n->hooks->clog(n->ctx, from, p + 1, len - 1);
		break;
	case NODE_MSG_HELLO:
		if (len < 1 + 4 + 1 + 8)
			return;
		pi->expected = get_le32(p + 1);
		break;
	default:
		break;
	}
}

static int next_epoch_cb(void *ctx, uint32_t *epoch)
{
	struct node *n = ctx;

	return n->hooks->next_epoch(n->ctx, epoch);
}

static const struct msg_ops msg_ops = {
	.send = msg_send_cb,
	.deliver = deliver_cb,
	.next_epoch = next_epoch_cb,
};

static void udp_recv_cb(void *ctx, uint32_t from_id, const uint8_t *p, size_t len)
{
	struct node *n = ctx;

	(void)from_id;
	msg_recv(n->msg, p, len, ev_now(n->loop));
}

/* ------------------------------------------------------------ quorum view */

/* Every message raft hears passes deliver_cb(), so last_heard covers
 * raft's own notion of an active peer (which uses a shorter window). */
static bool peer_online(const struct node *n, const struct peer_info *pi, double now)
{
	if (pi->id == n->conf.self)
		return true;
	return pi->last_heard > 0 && now - pi->last_heard < NODE_ALIVE_SEC;
}

static void quorum_refresh(struct node *n)
{
	struct quorum_node qn[NODE_NODES_MAX];
	double now = ev_now(n->loop);
	size_t i;

	for (i = 0; i < n->n_peers; i++) {
		qn[i].nodeid = n->peers[i].id;
		qn[i].votes = n->peers[i].votes;
		qn[i].expected_votes =
		        n->peers[i].id == n->conf.self ? n->qstate.expected : n->peers[i].expected;
		qn[i].member = peer_online(n, &n->peers[i], now);
	}
	quorum_update(&n->qstate, &n->qconf, qn, n->n_peers);
}

/* Quorate by membership (votequorum over the nodes heard from lately),
 * which holds through a leader election: a write submitted then waits for
 * the new leader instead of failing. */
static bool view_quorate(struct node *n)
{
	if (!n->cluster)
		return true;
	quorum_refresh(n);
	return n->qstate.quorate;
}

/* ------------------------------------------------------------ timer */

static void send_hello(struct node *n)
{
	double now = ev_now(n->loop);
	uint8_t h[13];
	size_t i;

	put_le32(h, n->qstate.expected);
	h[4] = node_quorate(n) ? 1 : 0;
	put_le64(h + 5, raft_term(n->raft));
	if (n->conf.cc->transport == CLUSTER_TRANSPORT_UDP) {
		app_send(n, 0, NODE_MSG_HELLO, h, sizeof(h)); /* one multicast packet */
		return;
	}
	/* Unicast: only to peers we sent nothing to lately (the leader's
	 * heartbeats and the followers' answers prove liveness already). */
	for (i = 0; i < n->n_peers; i++)
		if (n->peers[i].id != n->conf.self &&
		    now - n->peers[i].last_sent >= NODE_HELLO_SEC * 0.9)
			app_send(n, n->peers[i].id, NODE_MSG_HELLO, h, sizeof(h));
}

/* Two leaders of one term after `pvecm expected` split the quorum: the
 * node that lowered its expected votes yields.  Raft cannot merge two
 * logs written under the same term, so it takes the cluster's tree
 * anew; its own is kept aside by the daemon (hooks->resync). */
static void split_brain_check(struct node *n)
{
	struct raft_status *st;
	double now = ev_now(n->loop);

	st = xmalloc(sizeof(*st));
	raft_status(n->raft, now_ms(n), st);
	/* a leader whose log contradicts our committed one: tell it */
	if (st->conflicts > n->conflicts_seen && now - n->diverged_sent > 0.5 && n->msg) {
		n->conflicts_seen = st->conflicts;
		n->diverged_sent = now;
		app_send(n, st->conflict_leader, NODE_MSG_DIVERGED, NULL, 0);
	}
	if (!n->override_used || n->resyncing || !n->hooks->resync) {
		free(st);
		return;
	}
	if (st->split_brains)
		resync(n, "another node leads the same term");
	free(st);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct node *n = container_of(w, struct node, tick);
	double now = ev_now(loop);
	struct pending *p, *next;
	bool q;
	uint32_t leader;

	(void)revents;
	raft_tick(n->raft, now_ms(n));
	if (n->msg) {
		if (now - n->last_msg_tick >= MSG_TICK_SEC) {
			msg_tick(n->msg, now);
			n->last_msg_tick = now;
		}
		if (now - n->last_hello >= NODE_HELLO_SEC) {
			n->last_hello = now;
			quorum_refresh(n);
			send_hello(n);
			split_brain_check(n);
		}
		flush_delayed(n);
	}
	q = node_quorate(n) || (n->pending && view_quorate(n));
	for (p = n->pending; p; p = next) {
		next = p->next;
		if (now >= p->deadline)
			pending_done(n, p, -ETIMEDOUT);
		else if (!q)
			pending_done(n, p, -EACCES); /* lost quorum while waiting */
		else if (now >= p->next_try || (p->sent_to && p->sent_to != raft_leader(n->raft)))
			pending_try(n, p);
		if (n->fail_rc)
			break;
	}
	fail_pending(n);
	q = node_quorate(n);
	leader = raft_leader(n->raft);
	if (q != n->was_quorate || leader != n->was_leader) {
		if (q != n->was_quorate && n->cluster)
			log_info("%s", q ? "node has quorum" : "node lost quorum");
		if (leader != n->was_leader && n->cluster)
			log_info("leader is node %u (term %llu)", leader,
			         (unsigned long long)raft_term(n->raft));
		n->was_quorate = q;
		n->was_leader = leader;
		if (n->hooks->changed)
			n->hooks->changed(n->ctx);
	}
}

/* ------------------------------------------------------------ public */

static int setup_cluster(struct node *n, char *err, size_t errlen)
{
	const struct cluster_conf *cc = n->conf.cc;
	const struct cluster_conf_node *me = NULL;
	struct udp_peer up[NODE_NODES_MAX];
	struct udp_conf uc = { 0 };
	struct msg_conf mc = { 0 };
	size_t i, np = 0;
	int rc;

	for (i = 0; i < cc->n_nodes; i++)
		if (cc->nodes[i].nodeid == n->conf.self)
			me = &cc->nodes[i];
	if (!me || !me->addr[0]) {
		snprintf(err, errlen, "node id %u has no ring0_addr in the nodelist", n->conf.self);
		return -EINVAL;
	}
	if (!cc->cluster_name) {
		snprintf(err, errlen, "totem.cluster_name is not set");
		return -EINVAL;
	}
	rc = crypt_key_new(n->conf.authkey, n->conf.authkey_len, cc->cluster_name, &n->key);
	if (rc < 0) {
		snprintf(err, errlen, "cannot derive the cluster key: %s", cfs_strerror(rc));
		return rc;
	}
	mc.node_id = n->conf.self;
	mc.cluster_id = msg_cluster_id(cc->cluster_name);
	mc.epoch = n->conf.epoch;
	rc = msg_new(&mc, n->key, &msg_ops, n, &n->msg);
	if (rc < 0) {
		snprintf(err, errlen, "transport setup failed: %s", cfs_strerror(rc));
		return rc;
	}
	for (i = 0; i < cc->n_nodes; i++) {
		if (cc->nodes[i].nodeid == n->conf.self || !cc->nodes[i].addr[0])
			continue;
		up[np].id = cc->nodes[i].nodeid;
		up[np].addr = cc->nodes[i].addr[0];
		up[np].port = 0;
		np++;
	}
	uc.local_addr = me->addr[0];
	uc.port = (uint16_t)cc->mcastport;
	uc.mode = cc->transport == CLUSTER_TRANSPORT_UDP ? UDP_MCAST : UDP_UNICAST;
	uc.group = cc->mcastaddr;
	uc.peers = up;
	uc.npeers = np;
	rc = udp_open(n->loop, &uc, udp_recv_cb, n, &n->udp);
	if (rc < 0) {
		snprintf(err, errlen, "cannot open UDP %s port %u: %s", me->addr[0], cc->mcastport,
		         cfs_strerror(rc));
		return rc;
	}
	return 0;
}

int node_new(struct ev_loop *loop, const struct node_conf *conf, const struct node_hooks *hooks,
             void *ctx, struct node **out, char *err, size_t errlen)
{
	struct raft_node_cfg rn[NODE_NODES_MAX];
	struct raft_cfg rc_cfg = { 0 };
	struct node *n;
	size_t i;
	int rc;

	n = xcalloc(1, sizeof(*n));
	n->loop = loop;
	n->conf = *conf;
	n->hooks = hooks;
	n->ctx = ctx;
	n->held_tail = &n->held_head;
	n->cluster = conf->cc != NULL;
	if (crypt_random(&n->rng, sizeof(n->rng)) < 0 || n->rng == 0)
		n->rng = 0x9e3779b9u ^ conf->self;
	if (!n->conf.write_timeout_sec)
		n->conf.write_timeout_sec = NODE_WRITE_TIMEOUT_SEC;

	if (n->cluster) {
		const struct cluster_conf *cc = conf->cc;

		if (cc->n_nodes == 0 || cc->n_nodes > NODE_NODES_MAX) {
			snprintf(err, errlen, "the nodelist has %zu nodes (1..%d supported)",
			         cc->n_nodes, NODE_NODES_MAX);
			free(n);
			return -EINVAL;
		}
		for (i = 0; i < cc->n_nodes; i++) {
			n->peers[i].id = cc->nodes[i].nodeid;
			n->peers[i].votes = cc->nodes[i].votes;
			n->peers[i].name = cc->nodes[i].name;
			n->peers[i].addr = cc->nodes[i].addr[0];
			rn[i].id = cc->nodes[i].nodeid;
			rn[i].votes = cc->nodes[i].votes;
		}
		n->n_peers = cc->n_nodes;
		n->qconf.expected_votes = cc->expected_votes;
		n->qconf.two_node = cc->two_node;
		n->qconf.wait_for_all = cc->wait_for_all;
		rc_cfg.expected_votes = cc->expected_votes_set ? cc->expected_votes : 0;
		rc_cfg.quorum = cc->two_node && cc->n_nodes <= 2 ? 1 : 0;
		if (!n->conf.election_ms)
			n->conf.election_ms = NODE_ELECTION_MS;
	} else {
		n->peers[0].id = conf->self;
		n->peers[0].votes = 1;
		n->peers[0].name = conf->name;
		n->n_peers = 1;
		rn[0].id = conf->self;
		rn[0].votes = 1;
		n->qconf.expected_votes = 1;
		n->conf.election_ms = NODE_ELECTION_MS;
	}
	quorum_init(&n->qstate, &n->qconf);
	rc_cfg.self = conf->self;
	rc_cfg.nodes = rn;
	rc_cfg.n_nodes = n->n_peers;
	rc_cfg.election_ms = n->conf.election_ms;
	rc_cfg.heartbeat_ms = MAX(1u, n->conf.election_ms * NODE_HEARTBEAT_PCT / 100);
	rc = raft_new(&rc_cfg, &raft_ops, n, &n->raft);
	if (rc == 0)
		raft_set_batching(n->raft, n->cluster);
	if (rc < 0) {
		snprintf(err, errlen, "bad cluster configuration for consensus (node ids, votes)");
		node_free(n);
		return rc;
	}
	if (n->cluster) {
		rc = setup_cluster(n, err, errlen);
		if (rc < 0) {
			node_free(n);
			return rc;
		}
	}
	*out = n;
	return 0;
}

int node_restore_snapshot(struct node *n, uint64_t index, uint64_t term, const uint8_t *blob,
                          size_t len)
{
	int rc = snapshot_load_blob(n, blob, len);

	if (rc < 0)
		return rc;
	n->applied_index = index;
	n->applied_term = term;
	return raft_restore_snapshot(n->raft, index, term);
}

int node_restore_record(struct node *n, const struct jrec *r)
{
	struct raft_entry e;

	switch (r->type) {
	case JREC_ENTRY:
		e.index = r->index;
		e.term = r->term;
		e.type = r->len ? RAFT_ENTRY_NORMAL : RAFT_ENTRY_NOOP;
		e.data = r->p;
		e.len = r->len;
		return raft_restore_entry(n->raft, &e);
	case JREC_STATE:
		if (r->len != 4)
			return -EBADMSG;
		if (r->index > n->commit_hint)
			n->commit_hint = r->index;
		n->vote_term = r->term;
		n->vote = get_le32(r->p);
		n->hint_written = n->commit_hint;
		return raft_restore_state(n->raft, r->term, get_le32(r->p));
	case JREC_TRUNC:
		return raft_restore_trunc(n->raft, r->index);
	default:
		return -EBADMSG;
	}
}

int node_start(struct node *n)
{
	int rc;

	/* Local mode: one voter, so everything in the journal is committed. */
	rc = raft_start(n->raft, n->cluster ? n->commit_hint : UINT64_MAX, now_ms(n));
	if (rc < 0)
		return rc;
	/* Local mode: the requests remembered are other nodes' or earlier
	 * runs' (a node that left a cluster keeps its journal), and this
	 * run's (origin, epoch, counter) may equal one of them: a new write
	 * would be skipped as a retry.  Only this run's requests can be
	 * retried here. */
	if (!n->cluster)
		dedup_clear(n);
	n->was_quorate = node_quorate(n);
	n->was_leader = raft_leader(n->raft);
	ev_timer_init(&n->tick, tick_cb, TICK_SEC, TICK_SEC);
	ev_timer_start(n->loop, &n->tick);
	if (n->cluster) {
		quorum_refresh(n);
		send_hello(n);
		n->last_hello = ev_now(n->loop);
	}
	return 0;
}

void node_clog_send(struct node *n, uint32_t to, const uint8_t *p, size_t len)
{
	if (n->cluster && n->msg)
		app_send(n, to, NODE_MSG_CLOG, p, len);
}

bool node_writable(struct node *n)
{
	return node_quorate(n) || view_quorate(n);
}

void node_submit(struct node *n, const uint8_t *op, size_t len, node_done_fn *cb, void *ctx)
{
	struct pending *p;

	if (n->broken) {
		cb(ctx, -EROFS);
		return;
	}
	if (!node_writable(n)) {
		cb(ctx, -EACCES);
		return;
	}
	if (len + NODE_ENTRY_HDR > RAFT_ENTRY_MAX) {
		cb(ctx, -EFBIG);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->req = (uint64_t)n->conf.epoch << 32 | (++n->req_counter & 0xffffffffu);
	p->cb = cb;
	p->ctx = ctx;
	p->deadline = ev_now(n->loop) + n->conf.write_timeout_sec;
	buf_reserve(&p->entry, NODE_ENTRY_HDR + len);
	buf_put_u8(&p->entry, NODE_ENTRY_OP);
	buf_put_le32(&p->entry, n->conf.self);
	buf_put_le64(&p->entry, p->req);
	buf_put(&p->entry, op, len);
	p->next = n->pending;
	if (n->pending)
		n->pending->prev = p;
	n->pending = p;
	n->n_pending++;
	pending_try(n, p);
	fail_pending(n);
}

int node_replay_entry(struct node *n, uint64_t index, uint64_t term, const uint8_t *p, size_t len)
{
	struct raft_entry e = { index, term, len ? RAFT_ENTRY_NORMAL : RAFT_ENTRY_NOOP, p,
		                (uint32_t)len };

	op_apply(n, &e);
	return 0;
}

int node_restore_applied(struct node *n)
{
	if (!n->applied_index)
		return 0;
	return raft_restore_snapshot(n->raft, n->applied_index, n->applied_term);
}

void node_trim(struct node *n)
{
	uint64_t keep = n->cluster ? NODE_LOG_KEEP : 0;

	if (n->applied_index > raft_snapshot_index(n->raft) + keep + 256)
		raft_compact(n->raft, n->applied_index - keep);
}

void node_sync_begin(struct node *n)
{
	uint64_t commit = raft_commit_index(n->raft);
	uint8_t v[4];

	/* Cluster mode: tell the journal how far the log is committed, so
	 * that a restart can apply that much before hearing from a leader. */
	if (n->cluster && commit > n->hint_written && !n->broken) {
		put_le32(v, n->vote);
		if (persist(n, JREC_STATE, commit, n->vote_term, v, 4) == 0)
			n->hint_written = commit;
	}
	/* a leader's records on their way to the disk, and the entries
	 * proposed during this loop turn, in one APPEND per follower, on
	 * theirs while our own fsync runs */
	if (n->hooks->writeback && n->cluster && n->persist_seq != n->synced_seq &&
	    raft_role(n->raft) == RAFT_LEADER)
		n->hooks->writeback(n->ctx);
	raft_flush(n->raft);
	n->sync_seq = n->persist_seq;
	n->sync_last = raft_last_index(n->raft);
}

void node_synced(struct node *n)
{
	n->synced_seq = n->sync_seq;
	raft_synced(n->raft, n->sync_last);
	held_flush(n);
}

void node_sync_failed(struct node *n, int rc)
{
	struct pending *p;

	n->broken = rc;
	held_drop(n);
	while ((p = n->pending))
		pending_done(n, p, -EROFS);
}

void node_unlock_request(struct node *n, const char *path, uint64_t version)
{
	uint32_t leader = raft_leader(n->raft);
	size_t len = strlen(path);
	struct buf b = { 0 };

	if (!n->hooks->unlock || !leader || !node_quorate(n) || len >= CFS_PATH_MAX)
		return;
	if (leader == n->conf.self) {
		n->hooks->unlock(n->ctx, path, version);
		return;
	}
	buf_put_le64(&b, version);
	buf_put(&b, path, len);
	app_send(n, leader, NODE_MSG_UNLOCK, b.p, b.len);
	buf_free(&b);
}

bool node_dirty(const struct node *n)
{
	return n->persist_seq != n->synced_seq;
}

void node_compacted(struct node *n, uint64_t index)
{
	raft_compact(n->raft, index);
}

void node_applied(const struct node *n, uint64_t *index, uint64_t *term)
{
	*index = n->applied_index;
	*term = n->applied_term;
}

bool node_quorate(const struct node *n)
{
	if (n->broken)
		return false;
	return raft_quorate(n->raft, now_ms(n));
}

bool node_leader_ready(const struct node *n)
{
	return raft_leader_ready(n->raft);
}

bool node_is_cluster(const struct node *n)
{
	return n->cluster;
}

int node_set_expected(struct node *n, uint32_t votes, char *err, size_t errlen)
{
	struct quorum_node qn[NODE_NODES_MAX];
	double now = ev_now(n->loop);
	size_t i;
	int rc;

	if (!n->cluster) {
		snprintf(err, errlen, "not a cluster node: local mode is always quorate");
		return -EINVAL;
	}
	for (i = 0; i < n->n_peers; i++) {
		qn[i].nodeid = n->peers[i].id;
		qn[i].votes = n->peers[i].votes;
		qn[i].expected_votes = n->peers[i].expected;
		qn[i].member = peer_online(n, &n->peers[i], now);
	}
	rc = quorum_set_expected(&n->qstate, &n->qconf, qn, n->n_peers, votes);
	if (rc < 0) {
		snprintf(err, errlen, "Unable to set expected votes: CS_ERR_INVALID_PARAM");
		return rc;
	}
	raft_set_expected(n->raft, votes);
	n->override_used = true;
	log_warn("expected votes set to %u by an administrator: quorum is now %u (unsafe)", votes,
	         n->qstate.quorum);
	return 0;
}

void node_status(const struct node *n, struct node_status *st)
{
	struct raft_status rs;
	double now = ev_now(n->loop);
	size_t i;

	memset(st, 0, sizeof(*st));
	raft_status(n->raft, now_ms(n), &rs);
	st->cluster = n->cluster;
	st->quorate = node_quorate(n);
	st->self = n->conf.self;
	st->leader = rs.leader;
	st->role = raft_role_name(rs.role);
	st->term = rs.term;
	st->commit_index = rs.commit_index;
	st->applied_index = rs.applied_index;
	st->expected = n->qstate.expected ? n->qstate.expected : rs.expected_votes;
	st->highest_expected = MAX(n->qstate.highest_expected, st->expected);
	st->total_votes = 0;
	st->quorum = rs.quorum;
	st->flags = n->qstate.flags;
	st->n_nodes = n->n_peers;
	for (i = 0; i < n->n_peers; i++) {
		st->nodes[i].nodeid = n->peers[i].id;
		st->nodes[i].votes = n->peers[i].votes;
		st->nodes[i].online = peer_online(n, &n->peers[i], now);
		st->nodes[i].name = n->peers[i].name;
		st->nodes[i].addr = n->peers[i].addr;
		if (st->nodes[i].online)
			st->total_votes += n->peers[i].votes;
	}
	if (n->msg) {
		const struct msg_stats *ms = msg_stats(n->msg);

		st->drops_auth = ms->drop_auth;
		st->drops_other = ms->drop_short + ms->drop_magic + ms->drop_version +
		                  ms->drop_length + ms->drop_cluster + ms->drop_replay +
		                  ms->drop_bad;
		st->rx_packets = ms->rx_packets;
		st->tx_packets = ms->tx_packets;
	}
}

void node_free(struct node *n)
{
	struct pending *p;

	if (!n)
		return;
	while ((p = n->pending))
		pending_done(n, p, -ECANCELED);
	if (ev_is_active(&n->tick))
		ev_timer_stop(n->loop, &n->tick);
	held_drop(n);
	while (n->delayed) {
		struct delayed *d = n->delayed;

		n->delayed = d->next;
		free(d);
	}
	udp_close(n->udp);
	msg_free(n->msg);
	crypt_key_free(n->key);
	raft_free(n->raft);
	dedup_clear(n);
	buf_free(&n->scratch);
	free(n);
}

int node_set_nodes(struct node *n, const struct cluster_conf *cc)
{
	struct raft_node_cfg rn[NODE_NODES_MAX];
	struct udp_peer up[NODE_NODES_MAX];
	struct peer_info old[NODE_NODES_MAX];
	size_t i, j, np = 0, nold = n->n_peers;
	int rc;

	if (!n->cluster)
		return -ENOTCONN;
	if (cc->n_nodes == 0 || cc->n_nodes > NODE_NODES_MAX)
		return -EINVAL;
	for (i = 0; i < cc->n_nodes; i++) {
		rn[i].id = cc->nodes[i].nodeid;
		rn[i].votes = cc->nodes[i].votes;
		if (cc->nodes[i].nodeid != n->conf.self && cc->nodes[i].addr[0]) {
			up[np].id = cc->nodes[i].nodeid;
			up[np].addr = cc->nodes[i].addr[0];
			up[np].port = 0;
			np++;
		}
	}
	rc = raft_set_nodes(n->raft, rn, cc->n_nodes);
	if (rc < 0)
		return rc;
	if (n->udp) {
		rc = udp_set_peers(n->udp, up, np);
		if (rc < 0)
			log_err("membership: peer addresses refused: %s", cfs_strerror(rc));
	}
	memcpy(old, n->peers, nold * sizeof(old[0]));
	for (i = 0; i < cc->n_nodes; i++) {
		struct peer_info *pi = &n->peers[i];

		memset(pi, 0, sizeof(*pi)); /* expected 0: wait for its next HELLO */
		pi->id = cc->nodes[i].nodeid;
		pi->votes = cc->nodes[i].votes;
		pi->name = cc->nodes[i].name;
		pi->addr = cc->nodes[i].addr[0];
		for (j = 0; j < nold; j++) {
			if (old[j].id == pi->id) {
				pi->last_heard = old[j].last_heard;
				pi->last_sent = old[j].last_sent;
			}
		}
	}
	n->n_peers = cc->n_nodes;
	for (j = 0; j < nold; j++)
		if (n->msg && !corosync_conf_node_by_id(cc, old[j].id))
			msg_forget(n->msg, old[j].id);
	/* a configuration reload recalculates with decrease allowed */
	n->qconf.expected_votes = cc->expected_votes;
	n->qconf.two_node = cc->two_node;
	n->qstate.expected = cc->expected_votes;
	n->qstate.quorum = 0;
	quorum_refresh(n);
	log_info("membership: %zu nodes, expected votes %u", cc->n_nodes, cc->expected_votes);
	return 0;
}
