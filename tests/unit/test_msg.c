/* tests/unit/test_msg.c - net/msg: AEAD datagrams, replay window, epochs,
 * fragments with loss/NACK/reordering/duplication, memory caps, hostile
 * input.  Pure in-memory: a simulated network, no sockets, no clock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/crypt.h"
#include "core/endian.h"
#include "core/util.h"
#include "net/msg.h"
#include "tests/t.h"

#define NODES_MAX 4
#define QUEUE_MAX 20000

struct pkt {
	uint32_t from, to; /* to: a node id, never 0 here */
	uint16_t len;
	uint8_t b[MSG_DGRAM_MAX];
};

struct delivery {
	uint32_t from;
	size_t len;
	uint8_t *p;
};

struct net;

struct node {
	struct net *net;
	uint32_t id;
	struct msg *m;
	struct delivery got[256];
	size_t ngot;
	uint32_t next_epoch; /* returned by the epoch callback; 0: fail */
	unsigned epoch_calls;
	uint8_t pong[MSG_PING_MAX];
	size_t pong_len;
	uint32_t pong_from;
	bool forget_on_deliver; /* call msg_forget() and msg_send() from deliver */
};

struct net {
	struct node nodes[NODES_MAX];
	size_t nnodes;
	struct pkt *q; /* in flight */
	size_t nq;
	uint64_t rng;
	int send_rc; /* what the send callback returns */
	bool capture_only;
};

static uint64_t rnd(struct net *n)
{
	/* xorshift64*: deterministic */
	n->rng ^= n->rng >> 12;
	n->rng ^= n->rng << 25;
	n->rng ^= n->rng >> 27;
	return n->rng * 2685821657736338717ull;
}

static void enqueue(struct net *n, uint32_t from, uint32_t to, const uint8_t *p, size_t len)
{
	struct pkt *k;

	if (n->nq >= QUEUE_MAX)
		abort();
	k = &n->q[n->nq++];
	k->from = from;
	k->to = to;
	k->len = (uint16_t)len;
	memcpy(k->b, p, len);
}

static int net_send(void *ctx, uint32_t to, const uint8_t *p, size_t len)
{
	struct node *nd = ctx;
	struct net *n = nd->net;
	size_t i;

	if (n->send_rc)
		return n->send_rc;
	T_ASSERT(len <= MSG_DGRAM_MAX);
	if (to) {
		enqueue(n, nd->id, to, p, len);
		return 0;
	}
	for (i = 0; i < n->nnodes; i++)
		if (n->nodes[i].id != nd->id)
			enqueue(n, nd->id, n->nodes[i].id, p, len);
	return 0;
}

static void net_deliver(void *ctx, uint32_t from, const uint8_t *p, size_t len)
{
	struct node *nd = ctx;
	struct delivery *d;

	if (nd->ngot++ >= ARRAY_SIZE(nd->got))
		return; /* counted, not kept */
	d = &nd->got[nd->ngot - 1];
	d->from = from;
	d->len = len;
	d->p = xmemdup(p, len ? len : 1);
	if (nd->forget_on_deliver) {
		msg_forget(nd->m, from);
		T_EQ_INT(msg_send(nd->m, from, "ack", 3, 0), 0);
	}
}

static int net_epoch(void *ctx, uint32_t *epoch)
{
	struct node *nd = ctx;

	nd->epoch_calls++;
	if (!nd->next_epoch)
		return -EIO;
	*epoch = nd->next_epoch;
	return 0;
}

static void net_pong(void *ctx, uint32_t from, const uint8_t *p, size_t len)
{
	struct node *nd = ctx;

	nd->pong_from = from;
	nd->pong_len = len;
	memcpy(nd->pong, p, len);
}

static const struct msg_ops ops = {
	.send = net_send,
	.deliver = net_deliver,
	.next_epoch = net_epoch,
	.pong = net_pong,
};

static struct crypt_key *test_key(const char *cluster, uint8_t fill)
{
	uint8_t authkey[256];
	struct crypt_key *k;

	memset(authkey, fill, sizeof(authkey));
	if (crypt_key_new(authkey, sizeof(authkey), cluster, &k))
		abort();
	return k;
}

/* nodes 1..nnodes; conf fields other than ids taken from tmpl (may be NULL) */
static void net_init(struct net *n, size_t nnodes, struct crypt_key *key,
                     const struct msg_conf *tmpl)
{
	struct msg_conf c;
	size_t i;

	memset(n, 0, sizeof(*n));
	n->q = xcalloc(QUEUE_MAX, sizeof(*n->q));
	n->rng = 0x9e3779b97f4a7c15ull;
	n->nnodes = nnodes;
	for (i = 0; i < nnodes; i++) {
		struct node *nd = &n->nodes[i];

		memset(&c, 0, sizeof(c));
		if (tmpl)
			c = *tmpl;
		nd->net = n;
		nd->id = (uint32_t)i + 1;
		c.node_id = nd->id;
		c.cluster_id = msg_cluster_id("testclu");
		if (!c.epoch)
			c.epoch = 1;
		if (msg_new(&c, key, &ops, nd, &nd->m))
			abort();
	}
}

static struct node *node_of(struct net *n, uint32_t id)
{
	return &n->nodes[id - 1];
}

static void net_free(struct net *n)
{
	size_t i, j;

	for (i = 0; i < n->nnodes; i++) {
		msg_free(n->nodes[i].m);
		for (j = 0; j < MIN(n->nodes[i].ngot, ARRAY_SIZE(n->nodes[i].got)); j++)
			free(n->nodes[i].got[j].p);
	}
	free(n->q);
}

/* Deliver everything in flight, in order, losing nothing. */
static void net_flush(struct net *n, double now)
{
	size_t i;
	struct pkt *batch;
	size_t nb;

	while (n->nq) {
		nb = n->nq;
		batch = xmemdup(n->q, nb * sizeof(*batch));
		n->nq = 0;
		for (i = 0; i < nb; i++)
			msg_recv(node_of(n, batch[i].to)->m, batch[i].b, batch[i].len, now);
		free(batch);
	}
}

/* Deliver what is in flight with loss, duplication and reordering. */
static void net_chaos(struct net *n, double now, unsigned loss_pct, unsigned dup_pct)
{
	struct pkt *batch, tmp;
	size_t i, j, nb;

	nb = n->nq;
	batch = xmemdup(n->q, nb * sizeof(*batch) + 1);
	n->nq = 0;
	for (i = 0; i + 1 < nb; i++) { /* reorder, by up to 24 places */
		j = i + rnd(n) % MIN((size_t)24, nb - i);
		tmp = batch[i];
		batch[i] = batch[j];
		batch[j] = tmp;
	}
	for (i = 0; i < nb; i++) {
		struct msg *m = node_of(n, batch[i].to)->m;

		if (rnd(n) % 100 < loss_pct)
			continue;
		msg_recv(m, batch[i].b, batch[i].len, now);
		if (rnd(n) % 100 < dup_pct)
			T_EQ_INT(msg_recv(m, batch[i].b, batch[i].len, now), -ESTALE);
	}
	free(batch);
}

static void test_hdr_decode_errors(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct msg_hdr h = { .version = MSG_VERSION,
		             .type = MSG_APP,
		             .cluster = 5,
		             .sender = 3,
		             .seq = 9,
		             .msgid = 4,
		             .total = 2,
		             .count = 1,
		             .len = 2 };
	struct msg_hdr d;
	uint8_t pkt[MSG_DGRAM_MAX + 1];
	int sz = msg_seal(k, &h, (const uint8_t *)"hi", pkt);

	T_EQ_INT(sz, MSG_HDR_SIZE + 2 + MSG_TAG_SIZE);
	T_EQ_INT(msg_hdr_decode(pkt, (size_t)sz, &d), 0);
	T_EQ_INT(d.sender, 3);
	T_EQ_INT(d.seq, 9);
	T_EQ_INT(d.msgid, 4);
	T_EQ_INT(d.len, 2);
	T_EQ_INT(msg_hdr_decode(pkt, (size_t)sz - 1, &d), -EBADMSG);
	T_EQ_INT(msg_hdr_decode(pkt, MSG_DGRAM_MAX + 1, &d), -EBADMSG);
	pkt[4] = 2;
	T_EQ_INT(msg_hdr_decode(pkt, (size_t)sz, &d), -EPROTO);
	pkt[0] ^= 1;
	T_EQ_INT(msg_hdr_decode(pkt, (size_t)sz, &d), -EBADMSG);
	crypt_key_free(k);
}

static void test_cluster_id(void)
{
	T_EQ_INT(msg_cluster_id("testclu"), msg_cluster_id("testclu"));
	T_ASSERT(msg_cluster_id("testclu") != msg_cluster_id("testclu2"));
	T_ASSERT(msg_cluster_id("") != 0);
}

static void test_new_rejects(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct msg_conf c = { .node_id = 1, .cluster_id = 5, .epoch = 1 };
	struct msg *m = NULL;
	struct msg_ops bad = { 0 };

	T_EQ_INT(msg_new(&c, k, &bad, NULL, &m), -EINVAL);
	c.node_id = 0;
	T_EQ_INT(msg_new(&c, k, &ops, NULL, &m), -EINVAL);
	c.node_id = 1;
	c.epoch = 0;
	T_EQ_INT(msg_new(&c, k, &ops, NULL, &m), -EINVAL);
	c.epoch = 1;
	c.cluster_id = 0;
	T_EQ_INT(msg_new(&c, k, &ops, NULL, &m), -EINVAL);
	c.cluster_id = 5;
	T_EQ_INT(msg_new(&c, k, &ops, NULL, &m), 0);
	T_EQ_INT(msg_send(m, 1, "x", 1, 0), -EINVAL); /* to ourselves */
	T_EQ_INT(msg_send(m, 2, "x", MSG_MAX + 1, 0), -EFBIG);
	T_EQ_INT(msg_ping(m, 2, "x", MSG_PING_MAX + 1), -EINVAL);
	msg_free(m);
	msg_free(NULL);
	crypt_key_free(k);
}

static void test_app_roundtrip(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct net n;
	uint8_t big[MSG_DATA_MAX];
	struct node *b;

	memset(big, 0x5a, sizeof(big));
	net_init(&n, 3, k, NULL);
	b = node_of(&n, 2);
	T_EQ_INT(msg_send(n.nodes[0].m, 2, "hello", 5, 0), 0);
	T_EQ_INT(n.nq, 1);
	T_EQ_INT(n.q[0].len, MSG_HDR_SIZE + 5 + MSG_TAG_SIZE);
	/* the payload is not in clear on the wire */
	T_ASSERT(memmem(n.q[0].b, n.q[0].len, "hello", 5) == NULL);
	net_flush(&n, 0);
	T_EQ_INT(b->ngot, 1);
	T_EQ_INT(b->got[0].from, 1);
	T_EQ_INT(b->got[0].len, 5);
	T_EQ_MEM(b->got[0].p, "hello", 5);

	/* empty message, and the largest single-datagram one, to everyone */
	T_EQ_INT(msg_send(n.nodes[0].m, 0, NULL, 0, 0), 0);
	T_EQ_INT(msg_send(n.nodes[0].m, 0, big, sizeof(big), 0), 0);
	T_EQ_INT(n.nq, 4);
	T_EQ_INT(n.q[2].len, MSG_DGRAM_MAX);
	net_flush(&n, 0);
	T_EQ_INT(b->ngot, 3);
	T_EQ_INT(b->got[1].len, 0);
	T_EQ_INT(b->got[2].len, sizeof(big));
	T_EQ_MEM(b->got[2].p, big, sizeof(big));
	T_EQ_INT(node_of(&n, 3)->ngot, 2);
	T_EQ_INT(node_of(&n, 1)->ngot, 0);
	T_EQ_INT(msg_stats(b->m)->rx_messages, 3);
	T_EQ_INT(msg_stats(n.nodes[0].m)->tx_messages, 3);

	/* send errors are reported and counted */
	n.send_rc = -ENOBUFS;
	T_EQ_INT(msg_send(n.nodes[0].m, 2, "x", 1, 0), -ENOBUFS);
	T_EQ_INT(msg_stats(n.nodes[0].m)->tx_errors, 1);
	net_free(&n);
	crypt_key_free(k);
}

static void test_wrong_key_and_cluster(void)
{
	struct crypt_key *k1 = test_key("testclu", 1), *k2 = test_key("testclu", 2);
	struct msg_conf c = { .node_id = 2, .cluster_id = msg_cluster_id("testclu"), .epoch = 1 };
	struct net n;
	struct node other = { 0 };

	net_init(&n, 2, k1, NULL);
	/* node 2 of the same cluster id, but with another authkey */
	T_EQ_INT(msg_new(&c, k2, &ops, &other, &other.m), 0);
	T_EQ_INT(msg_send(n.nodes[0].m, 2, "secret", 6, 0), 0);
	T_EQ_INT(msg_recv(other.m, n.q[0].b, n.q[0].len, 0), -EACCES);
	T_EQ_INT(msg_stats(other.m)->drop_auth, 1);
	T_EQ_INT(other.ngot, 0);
	msg_free(other.m);

	/* another cluster id */
	c.cluster_id = msg_cluster_id("othercl");
	T_EQ_INT(msg_new(&c, k1, &ops, &other, &other.m), 0);
	T_EQ_INT(msg_recv(other.m, n.q[0].b, n.q[0].len, 0), -EINVAL);
	T_EQ_INT(msg_stats(other.m)->drop_cluster, 1);
	T_EQ_INT(other.ngot, 0);
	msg_free(other.m);

	/* our own datagram coming back (multicast loopback) */
	T_EQ_INT(msg_recv(n.nodes[0].m, n.q[0].b, n.q[0].len, 0), -EINVAL);
	T_EQ_INT(msg_stats(n.nodes[0].m)->drop_self, 1);
	net_free(&n);
	crypt_key_free(k1);
	crypt_key_free(k2);
}

/* Flip every bit of a datagram: each copy is dropped, with the counter
 * that matches the field hit. */
static void test_tamper_every_bit(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct net n;
	struct msg *b;
	struct msg_stats before, after;
	uint8_t pkt[MSG_DGRAM_MAX];
	size_t len, off;
	int bit, rc;
	uint32_t sender;

	net_init(&n, 2, k, NULL);
	b = n.nodes[1].m;
	T_EQ_INT(msg_send(n.nodes[0].m, 2, "tamper me", 9, 0), 0);
	len = n.q[0].len;
	for (off = 0; off < len; off++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(pkt, n.q[0].b, len);
			pkt[off] ^= (uint8_t)(1 << bit);
			before = *msg_stats(b);
			rc = msg_recv(b, pkt, len, 0);
			after = *msg_stats(b);
			T_ASSERT(rc < 0);
#define DIFF(f) (int)(after.f - before.f)
			sender = get_le32(pkt + 12);
			if (off < 4)
				rc = DIFF(drop_magic);
			else if (off == 4)
				rc = DIFF(drop_version);
			else if (off >= 8 && off < 12)
				rc = DIFF(drop_cluster);
			else if (off >= 40 && off < 42)
				rc = DIFF(drop_length);
			else if (off >= 12 && off < 16 && (sender == 0 || sender == 2))
				rc = DIFF(drop_self);
			else
				rc = DIFF(drop_auth);
#undef DIFF
			if (rc != 1)
				t_fail(__FILE__, __LINE__, "offset %zu bit %d: wrong counter", off,
				       bit);
		}
	}
	T_EQ_INT(n.nodes[1].ngot, 0);
	T_EQ_INT(msg_stats(b)->rx_packets, 0);
	/* the original still gets through: nothing above moved the window */
	T_EQ_INT(msg_recv(b, n.q[0].b, len, 0), 0);
	T_EQ_INT(n.nodes[1].ngot, 1);
	net_free(&n);
	crypt_key_free(k);
}

static void test_replay_window(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct net n;
	struct msg *a, *b;
	struct pkt *saved;
	int i;

	net_init(&n, 2, k, NULL);
	a = n.nodes[0].m;
	b = n.nodes[1].m;
	for (i = 0; i < 100; i++)
		T_EQ_INT(msg_send(a, 2, &i, sizeof(i), 0), 0);
	saved = xmemdup(n.q, 100 * sizeof(*saved));
	n.nq = 0;

	/* the same datagram twice: second dropped */
	T_EQ_INT(msg_recv(b, saved[10].b, saved[10].len, 0), 0);
	T_EQ_INT(msg_recv(b, saved[10].b, saved[10].len, 0), -ESTALE);
	/* reordering within the window is fine: 73 down to 11 */
	T_EQ_INT(msg_recv(b, saved[73].b, saved[73].len, 0), 0);
	for (i = 72; i > 10; i--)
		T_EQ_INT(msg_recv(b, saved[i].b, saved[i].len, 0), 0);
	/* 9 is 64 below 73: too old, even though never seen */
	T_EQ_INT(msg_recv(b, saved[9].b, saved[9].len, 0), -ESTALE);
	/* 10 is 63 below: inside the window, but seen */
	T_EQ_INT(msg_recv(b, saved[10].b, saved[10].len, 0), -ESTALE);
	for (i = 74; i < 100; i++)
		T_EQ_INT(msg_recv(b, saved[i].b, saved[i].len, 0), 0);
	for (i = 11; i < 100; i++)
		T_EQ_INT(msg_recv(b, saved[i].b, saved[i].len, 0), -ESTALE);
	T_EQ_INT(n.nodes[1].ngot, 1 + 63 + 26);
	T_EQ_INT(msg_stats(b)->drop_replay, 3 + 89);

	/* a big jump forward clears the window */
	{
		struct msg_conf c = { .node_id = 1,
			              .cluster_id = msg_cluster_id("testclu"),
			              .epoch = 2 };
		struct node a2 = { .net = &n, .id = 1 };
		struct msg *m2;

		T_EQ_INT(msg_new(&c, k, &ops, &a2, &m2), 0);
		T_EQ_INT(msg_send(m2, 2, "restarted", 9, 0), 0);
		T_EQ_INT(msg_recv(b, n.q[0].b, n.q[0].len, 0), 0);
		T_EQ_INT(msg_recv(b, saved[99].b, saved[99].len, 0), -ESTALE);
		n.nq = 0;
		msg_free(m2);
	}
	/* forget: the window starts again */
	msg_forget(b, 1);
	T_EQ_INT(msg_recv(b, saved[50].b, saved[50].len, 0), 0);
	free(saved);
	net_free(&n);
	crypt_key_free(k);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static void test_nonce_epoch_wrap(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct msg_conf tmpl = { .epoch = 7, .first_counter = 0xfffffffdu };
	struct net n;
	struct msg_hdr h;
	uint64_t seqs[8];
	struct node *a;
	size_t i;

	net_init(&n, 2, k, &tmpl);
	a = &n.nodes[0];
	a->next_epoch = 8;
	T_EQ_INT(msg_next_seq(a->m), (7ull << 32) | 0xfffffffdu);
	for (i = 0; i < 6; i++)
		T_EQ_INT(msg_send(a->m, 2, "w", 1, 0), 0);
	T_EQ_INT(a->epoch_calls, 1);
	T_EQ_INT(n.nq, 6);
	for (i = 0; i < 6; i++) {
		T_EQ_INT(msg_hdr_decode(n.q[i].b, n.q[i].len, &h), 0);
		seqs[i] = h.seq;
	}
	T_EQ_INT(seqs[0], (7ull << 32) | 0xfffffffdu);
	T_EQ_INT(seqs[2], (7ull << 32) | 0xffffffffu);
	T_EQ_INT(seqs[3], (8ull << 32) | 1);
	T_EQ_INT(seqs[5], (8ull << 32) | 3);
	qsort(seqs, 6, sizeof(seqs[0]), cmp_u64);
	for (i = 1; i < 6; i++)
		T_ASSERT(seqs[i] != seqs[i - 1]);
	net_flush(&n, 0);
	T_EQ_INT(n.nodes[1].ngot, 6); /* the receiver accepts across the bump */
	net_free(&n);

	/* the callback fails, or offers no larger epoch: sending stops */
	net_init(&n, 2, k, &(struct msg_conf){ .epoch = 7, .first_counter = 0xffffffffu });
	a = &n.nodes[0];
	a->next_epoch = 0;
	T_EQ_INT(msg_send(a->m, 2, "w", 1, 0), 0);
	T_EQ_INT(msg_send(a->m, 2, "w", 1, 0), -EIO);
	a->next_epoch = 7;
	T_EQ_INT(msg_send(a->m, 2, "w", 1, 0), -ESTALE);
	/* a fragmented message stops at the wrap too */
	{
		static uint8_t big[5000];
		T_EQ_INT(msg_send(a->m, 2, big, sizeof(big), 0), -ESTALE);
	}
	T_EQ_INT(n.nq, 1);
	a->next_epoch = 9;
	T_EQ_INT(msg_send(a->m, 2, "w", 1, 0), 0);
	T_EQ_INT(msg_next_seq(a->m), (9ull << 32) | 2);
	/* every fragment is still tried when the network refuses some */
	n.nq = 0;
	n.send_rc = -ENOBUFS;
	{
		static uint8_t big[5000];
		T_EQ_INT(msg_send(a->m, 2, big, sizeof(big), 0), -ENOBUFS);
	}
	T_EQ_INT(msg_stats(a->m)->tx_errors, 4);
	T_EQ_INT(msg_next_seq(a->m), (9ull << 32) | 6);
	net_free(&n);

	/* no epoch callback at all: -ESTALE at the wrap */
	{
		struct msg_conf c = {
			.node_id = 1, .cluster_id = 1, .epoch = 3, .first_counter = 0xffffffffu
		};
		struct msg_ops o = { .send = net_send, .deliver = net_deliver };
		struct node nd = { .net = &n, .id = 1 };
		struct msg *m;

		n.q = xcalloc(QUEUE_MAX, sizeof(*n.q));
		n.nnodes = 0;
		n.send_rc = 0;
		T_EQ_INT(msg_new(&c, k, &o, &nd, &m), 0);
		T_EQ_INT(msg_send(m, 2, "w", 1, 0), 0);
		T_EQ_INT(msg_send(m, 2, "w", 1, 0), -ESTALE);
		msg_free(m);
		free(n.q);
	}
	crypt_key_free(k);
}

static uint8_t *random_bytes(struct net *n, size_t len)
{
	uint8_t *p = xmalloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)rnd(n);
	return p;
}

/* 1 MiB to two receivers over a network that loses 20%, duplicates 10%
 * and reorders everything, NACKs and resent fragments included. */
static void test_fragments_loss_nack(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct net n;
	size_t len = 1024 * 1024;
	uint8_t *data;
	double now = 0;
	int rounds = 0;
	struct node *b, *c;

	net_init(&n, 3, k, NULL);
	b = node_of(&n, 2);
	c = node_of(&n, 3);
	data = random_bytes(&n, len);
	T_EQ_INT(msg_send(n.nodes[0].m, 0, data, len, now), 0);
	T_EQ_INT(n.nq, 2 * ((len + MSG_FRAG_DATA - 1) / MSG_FRAG_DATA));
	while ((b->ngot == 0 || c->ngot == 0) && rounds < 500) {
		net_chaos(&n, now, 20, 10);
		now += MSG_TICK_SEC;
		msg_tick(b->m, now);
		msg_tick(c->m, now);
		msg_tick(n.nodes[0].m, now);
		rounds++;
	}
	T_ASSERT(rounds < 500);
	T_EQ_INT(b->ngot, 1);
	T_EQ_INT(c->ngot, 1);
	T_EQ_INT(b->got[0].len, len);
	T_EQ_MEM(b->got[0].p, data, len);
	T_EQ_MEM(c->got[0].p, data, len);
	T_ASSERT(msg_stats(b->m)->nack_sent > 0);
	T_ASSERT(msg_stats(n.nodes[0].m)->resent > 0);
	T_EQ_INT(msg_rx_bytes(b->m), 0);
	T_EQ_INT(msg_rx_pending(c->m), 0);
	/* no more than the lost fragments were asked for again (plus the
	 * losses of the repairs): far fewer than the whole message */
	T_ASSERT(msg_stats(n.nodes[0].m)->resent < 2 * (len / MSG_FRAG_DATA));
	/* late copies of the message's fragments are not a new message */
	T_EQ_INT(msg_send(n.nodes[0].m, 2, "after", 5, now), 0);
	net_chaos(&n, now, 0, 0);
	T_EQ_INT(b->ngot, 2);
	T_EQ_INT(msg_rx_pending(b->m), 0);
	/* the sender's cache expires, and a NACK then misses */
	msg_tick(n.nodes[0].m, now + MSG_TX_KEEP_SEC + 1);
	{
		struct msg_hdr h = { .version = MSG_VERSION,
			             .type = MSG_NACK,
			             .cluster = msg_cluster_id("testclu"),
			             .sender = 2,
			             .seq = msg_next_seq(b->m) + 1000,
			             .len = 16 };
		uint8_t pl[16], pkt[MSG_DGRAM_MAX];
		int sz;

		put_le32(pl, 1);
		put_le64(pl + 4, 1ull << 32 | 1); /* the 1 MiB message's id */
		put_le16(pl + 12, 1);
		put_le16(pl + 14, 3);
		sz = msg_seal(k, &h, pl, pkt);
		T_ASSERT(sz > 0);
		T_EQ_INT(msg_recv(n.nodes[0].m, pkt, (size_t)sz, now), 0);
		T_EQ_INT(msg_stats(n.nodes[0].m)->nack_miss, 1);
	}
	free(data);
	net_free(&n);
	crypt_key_free(k);
}

/* Several fragmented messages at once, interleaved, some lost entirely
 * in their first burst, all delivered exactly once. */
static void test_fragments_interleaved(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct net n;
	uint8_t *data[5];
	size_t lens[5] = { MSG_DATA_MAX + 1, 2 * MSG_FRAG_DATA, 100000, 300001, MSG_MAX };
	double now = 0;
	int i, j, rounds = 0;
	struct node *b;

	net_init(&n, 2, k, NULL);
	b = node_of(&n, 2);
	for (i = 0; i < 5; i++) {
		data[i] = random_bytes(&n, lens[i]);
		T_EQ_INT(msg_send(n.nodes[0].m, 2, data[i], lens[i], now), 0);
	}
	while (b->ngot < 5 && rounds < 1000) {
		net_chaos(&n, now, 30, 5);
		now += MSG_TICK_SEC;
		msg_tick(b->m, now);
		msg_tick(n.nodes[0].m, now);
		rounds++;
	}
	T_EQ_INT(b->ngot, 5);
	for (i = 0; i < 5; i++) {
		for (j = 0; j < 5; j++)
			if (b->got[j].len == lens[i] && !memcmp(b->got[j].p, data[i], lens[i]))
				break;
		T_ASSERT(j < 5);
		free(data[i]);
	}
	net_free(&n);
	crypt_key_free(k);
}

/* Many incomplete messages: memory stays under the caps, the oldest are
 * dropped first, and timeouts clear the rest. */
static void test_memory_caps(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct msg_conf tmpl = { .rx_sender_max = 300000,
		                 .rx_total_max = 500000,
		                 .rx_timeout_sec = 2.0 };
	struct net n;
	struct node *b;
	uint8_t *data;
	size_t len = 100000, i, frags = (len + MSG_FRAG_DATA - 1) / MSG_FRAG_DATA;
	struct pkt *last = xcalloc(frags, sizeof(*last));
	int round;

	net_init(&n, 3, k, &tmpl);
	b = node_of(&n, 2);
	data = random_bytes(&n, len);
	/* nodes 1 and 3 each send 10 messages of 100000 bytes to node 2;
	 * only the first fragment of each arrives */
	for (round = 0; round < 10; round++) {
		T_EQ_INT(msg_send(n.nodes[0].m, 2, data, len, round), 0);
		T_EQ_INT(msg_recv(b->m, n.q[0].b, n.q[0].len, round), 0);
		if (round == 9)
			memcpy(last, n.q, frags * sizeof(*last));
		n.nq = 0;
		T_EQ_INT(msg_send(n.nodes[2].m, 2, data, len, round), 0);
		T_EQ_INT(msg_recv(b->m, n.q[0].b, n.q[0].len, round), 0);
		n.nq = 0;
		T_ASSERT(msg_rx_bytes(b->m) <= 500000);
		T_ASSERT(msg_rx_pending(b->m) <= 5);
	}
	T_EQ_INT(msg_rx_bytes(b->m), 500000);
	T_EQ_INT(msg_stats(b->m)->evict_mem, 15);
	T_EQ_INT(b->ngot, 0);
	/* the newest message of node 1 is still held: its rest completes it */
	for (i = 1; i < frags; i++)
		T_EQ_INT(msg_recv(b->m, last[i].b, last[i].len, 10), 0);
	T_EQ_INT(b->ngot, 1);
	T_EQ_INT(b->got[0].len, len);
	T_EQ_MEM(b->got[0].p, data, len);
	/* timeouts: nothing pending after rx_timeout_sec of silence */
	msg_tick(b->m, 10.5);
	T_ASSERT(msg_rx_pending(b->m) > 0);
	msg_tick(b->m, 20);
	T_EQ_INT(msg_rx_pending(b->m), 0);
	T_EQ_INT(msg_rx_bytes(b->m), 0);
	T_ASSERT(msg_stats(b->m)->evict_timeout > 0);

	/* a message larger than a cap cannot be held at all */
	{
		static uint8_t huge[400000];

		n.nq = 0;
		T_EQ_INT(msg_send(n.nodes[0].m, 2, huge, sizeof(huge), 30), 0);
		T_EQ_INT(msg_recv(b->m, n.q[0].b, n.q[0].len, 30), -ENOSPC);
		T_EQ_INT(msg_rx_bytes(b->m), 0);
		n.nq = 0;
	}
	/* per-sender count cap: MSG_RX_SENDER_MSGS tiny fragmented messages */
	{
		struct net n2;
		uint8_t small[MSG_DATA_MAX + 1] = { 0 };

		net_init(&n2, 2, k, NULL);
		for (i = 0; i < MSG_RX_SENDER_MSGS + 5; i++) {
			T_EQ_INT(msg_send(n2.nodes[0].m, 2, small, sizeof(small), 0), 0);
			T_EQ_INT(msg_recv(n2.nodes[1].m, n2.q[0].b, n2.q[0].len, 0), 0);
			n2.nq = 0;
		}
		T_EQ_INT(msg_rx_pending(n2.nodes[1].m), MSG_RX_SENDER_MSGS);
		T_EQ_INT(msg_stats(n2.nodes[1].m)->evict_mem, 5);
		msg_forget(n2.nodes[1].m, 1);
		T_EQ_INT(msg_rx_pending(n2.nodes[1].m), 0);
		T_EQ_INT(msg_rx_bytes(n2.nodes[1].m), 0);
		net_free(&n2);
	}
	free(last);
	free(data);
	net_free(&n);
	crypt_key_free(k);
}

/* Bounded state: senders beyond MSG_SENDERS_MAX are refused, the sent
 * cache keeps at most tx_cache_max bytes (oldest dropped first). */
static void test_sender_and_cache_caps(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct msg_conf tmpl = { .tx_cache_max = 10000 };
	struct net n;
	struct msg_hdr h = { .version = MSG_VERSION,
		             .type = MSG_APP,
		             .cluster = msg_cluster_id("testclu"),
		             .count = 1,
		             .msgid = 1,
		             .seq = 1 };
	uint8_t pkt[MSG_DGRAM_MAX], pl[16], big[6000] = { 0 };
	uint32_t id;
	int sz;

	net_init(&n, 2, k, &tmpl);
	for (id = 100; id < 100 + MSG_SENDERS_MAX; id++) {
		h.sender = id;
		sz = msg_seal(k, &h, pl, pkt);
		T_EQ_INT(msg_recv(n.nodes[1].m, pkt, (size_t)sz, 0), 0);
	}
	/* 1024 senders known (node 2 itself is never one): the next is refused */
	h.sender = 99;
	sz = msg_seal(k, &h, pl, pkt);
	T_EQ_INT(msg_recv(n.nodes[1].m, pkt, (size_t)sz, 0), -ENOSPC);
	T_EQ_INT(msg_stats(n.nodes[1].m)->drop_senders, 1);
	/* forgetting one makes room */
	msg_forget(n.nodes[1].m, 100);
	T_EQ_INT(msg_recv(n.nodes[1].m, pkt, (size_t)sz, 0), 0);

	/* two 6000-byte messages do not fit a 10000-byte cache: the first is
	 * gone, a NACK for it misses, a NACK for the second is answered */
	T_EQ_INT(msg_send(n.nodes[0].m, 2, big, sizeof(big), 0), 0);
	T_EQ_INT(msg_send(n.nodes[0].m, 2, big, sizeof(big), 0), 0);
	n.nq = 0;
	h.type = MSG_NACK;
	h.sender = 2;
	h.msgid = h.count = 0;
	h.len = 16;
	put_le32(pl, 1);
	put_le16(pl + 12, 1);
	put_le16(pl + 14, 4);
	put_le64(pl + 4, 1ull << 32 | 1);
	h.seq = 1ull << 40;
	sz = msg_seal(k, &h, pl, pkt);
	T_EQ_INT(msg_recv(n.nodes[0].m, pkt, (size_t)sz, 0), 0);
	T_EQ_INT(msg_stats(n.nodes[0].m)->nack_miss, 1);
	T_EQ_INT(n.nq, 0);
	put_le64(pl + 4, 1ull << 32 | 2);
	h.seq++;
	sz = msg_seal(k, &h, pl, pkt);
	T_EQ_INT(msg_recv(n.nodes[0].m, pkt, (size_t)sz, 0), 0);
	T_EQ_INT(msg_stats(n.nodes[0].m)->resent, 1);
	T_EQ_INT(n.nq, 1);
	T_EQ_INT(n.q[0].to, 2);
	/* a NACK for another node's message is not ours to answer */
	put_le32(pl, 3);
	h.seq++;
	sz = msg_seal(k, &h, pl, pkt);
	T_EQ_INT(msg_recv(n.nodes[0].m, pkt, (size_t)sz, 0), 0);
	T_EQ_INT(msg_stats(n.nodes[0].m)->nack_rcvd, 2);
	T_EQ_INT(n.nq, 1);
	net_free(&n);
	crypt_key_free(k);
}

/* Resent fragments that arrive after the original: a held fragment and
 * a fragment of a delivered message are both duplicates, not new data. */
static void test_fragment_dups(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct net n;
	struct pkt *orig;
	struct node *b;
	uint8_t data[3 * MSG_FRAG_DATA - 5];
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	net_init(&n, 2, k, NULL);
	b = node_of(&n, 2);
	T_EQ_INT(msg_send(n.nodes[0].m, 2, data, sizeof(data), 0), 0);
	T_EQ_INT(n.nq, 3);
	orig = xmemdup(n.q, 3 * sizeof(*orig));
	n.nq = 0;
	T_EQ_INT(msg_recv(b->m, orig[0].b, orig[0].len, 0), 0);
	msg_tick(b->m, 0.01); /* too early to ask */
	T_EQ_INT(n.nq, 0);
	msg_tick(b->m, 0.05);
	T_EQ_INT(n.nq, 1); /* NACK for 1 and 2 */
	T_EQ_INT(msg_stats(b->m)->nack_sent, 1);
	msg_tick(b->m, 0.06); /* not again so soon */
	T_EQ_INT(n.nq, 1);
	net_flush(&n, 0.05);
	T_EQ_INT(msg_stats(n.nodes[0].m)->resent, 2);
	T_EQ_INT(msg_stats(n.nodes[0].m)->nack_rcvd, 1);
	/* the flush delivered the resent 1 and 2: complete */
	T_EQ_INT(b->ngot, 1);
	T_EQ_INT(b->got[0].len, sizeof(data));
	T_EQ_MEM(b->got[0].p, data, sizeof(data));
	/* the originals of 1 and 2 come late: fragments of a delivered message */
	T_EQ_INT(msg_recv(b->m, orig[1].b, orig[1].len, 0.07), 0);
	T_EQ_INT(msg_recv(b->m, orig[2].b, orig[2].len, 0.07), 0);
	T_EQ_INT(msg_stats(b->m)->drop_dup, 2);
	T_EQ_INT(b->ngot, 1);
	T_EQ_INT(msg_rx_pending(b->m), 0);

	/* a held fragment, resent (someone asked for it): duplicate */
	T_EQ_INT(msg_send(n.nodes[0].m, 2, data, sizeof(data), 1), 0);
	free(orig);
	orig = xmemdup(n.q, 3 * sizeof(*orig));
	n.nq = 0;
	T_EQ_INT(msg_recv(b->m, orig[0].b, orig[0].len, 1), 0);
	T_EQ_INT(msg_recv(b->m, orig[1].b, orig[1].len, 1), 0);
	{
		struct msg_hdr h = { .version = MSG_VERSION,
			             .type = MSG_NACK,
			             .cluster = msg_cluster_id("testclu"),
			             .sender = 2,
			             .seq = 1ull << 40,
			             .len = 16 };
		uint8_t pl[16], pkt[MSG_DGRAM_MAX];
		int sz;

		put_le32(pl, 1);
		put_le64(pl + 4, 1ull << 32 | 2);
		put_le16(pl + 12, 1);
		put_le16(pl + 14, 1);
		sz = msg_seal(k, &h, pl, pkt);
		T_EQ_INT(msg_recv(n.nodes[0].m, pkt, (size_t)sz, 1), 0);
	}
	T_EQ_INT(n.nq, 1);
	net_flush(&n, 1);
	T_EQ_INT(msg_stats(b->m)->drop_dup, 3);
	T_EQ_INT(b->ngot, 1);
	T_EQ_INT(msg_rx_pending(b->m), 1);
	T_EQ_INT(msg_recv(b->m, orig[2].b, orig[2].len, 1), 0);
	T_EQ_INT(b->ngot, 2);
	T_EQ_MEM(b->got[1].p, data, sizeof(data));
	free(orig);
	net_free(&n);
	crypt_key_free(k);
}

/* deliver may forget the sender and answer it (ASan checks that nothing
 * freed is touched afterwards). */
static void test_deliver_reentry(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct net n;
	static uint8_t big[4000];
	struct node *b;

	net_init(&n, 2, k, NULL);
	b = node_of(&n, 2);
	b->forget_on_deliver = true;
	T_EQ_INT(msg_send(n.nodes[0].m, 2, "one", 3, 0), 0);
	T_EQ_INT(msg_send(n.nodes[0].m, 2, big, sizeof(big), 0), 0);
	T_EQ_INT(msg_send(n.nodes[0].m, 2, "two", 3, 0), 0);
	net_flush(&n, 0);
	T_EQ_INT(b->ngot, 3);
	T_EQ_INT(b->got[1].len, sizeof(big));
	T_EQ_INT(n.nodes[0].ngot, 3); /* the three acks */
	T_EQ_MEM(n.nodes[0].got[2].p, "ack", 3);
	net_free(&n);
	crypt_key_free(k);
}

static void test_ping_pong(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct net n;

	net_init(&n, 2, k, NULL);
	T_EQ_INT(msg_ping(n.nodes[0].m, 2, "t=12345", 7), 0);
	net_flush(&n, 0);
	T_EQ_INT(n.nodes[0].pong_from, 2);
	T_EQ_INT(n.nodes[0].pong_len, 7);
	T_EQ_MEM(n.nodes[0].pong, "t=12345", 7);
	T_EQ_INT(n.nodes[1].ngot, 0);
	net_free(&n);
	crypt_key_free(k);
}

/* Authentic datagrams with bad fields: dropped as malformed, not delivered. */
static void test_authentic_but_malformed(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct net n;
	struct msg *b;
	uint8_t pl[MSG_DATA_MAX] = { 0 }, pkt[MSG_DGRAM_MAX];
	uint64_t seq = 100;
	struct msg_hdr base = { .version = MSG_VERSION,
		                .cluster = msg_cluster_id("testclu"),
		                .sender = 1 };
	struct msg_hdr cases[16];
	size_t nc = 0, i;
	int sz;

#define CASE(...)                                  \
	do {                                       \
		cases[nc] = base;                  \
		struct msg_hdr *h_ = &cases[nc++]; \
		__VA_ARGS__;                       \
	} while (0)
	CASE(h_->type = 0, h_->len = 1);
	CASE(h_->type = MSG_TYPE_END, h_->len = 1);
	CASE(h_->type = MSG_APP, h_->msgid = 5, h_->count = 1, h_->total = 2, h_->len = 1);
	CASE(h_->type = MSG_APP, h_->msgid = 5, h_->count = 1, h_->total = 1, h_->len = 1,
	     h_->flags = 1);
	CASE(h_->type = MSG_APP, h_->msgid = 5, h_->count = 1, h_->total = 1, h_->len = 1,
	     h_->reserved = 1);
	CASE(h_->type = MSG_APP, h_->msgid = 0, h_->count = 1, h_->total = 1, h_->len = 1);
	CASE(h_->type = MSG_FRAG, h_->msgid = 5, h_->count = 2, h_->total = 100, h_->len = 100);
	CASE(h_->type = MSG_FRAG, h_->msgid = 5, h_->count = 3, h_->total = 2000,
	     h_->len = MSG_FRAG_DATA);
	CASE(h_->type = MSG_FRAG, h_->msgid = 5, h_->count = 2, h_->total = 2000, h_->index = 2,
	     h_->len = 660);
	CASE(h_->type = MSG_FRAG, h_->msgid = 5, h_->count = 2, h_->total = 2000, h_->index = 1,
	     h_->len = 661);
	CASE(h_->type = MSG_FRAG, h_->msgid = 5, h_->count = 3131, h_->total = MSG_MAX + 1,
	     h_->len = MSG_FRAG_DATA);
	CASE(h_->type = MSG_NACK, h_->len = 13);
	CASE(h_->type = MSG_NACK, h_->len = 16); /* n = 0 in payload */
	CASE(h_->type = MSG_PING, h_->len = MSG_PING_MAX + 1);
	CASE(h_->type = MSG_PONG, h_->msgid = 1, h_->len = 1);
#undef CASE

	net_init(&n, 2, k, NULL);
	b = n.nodes[1].m;
	for (i = 0; i < nc; i++) {
		cases[i].seq = seq++;
		sz = msg_seal(k, &cases[i], pl, pkt);
		T_ASSERT(sz > 0);
		if (msg_recv(b, pkt, (size_t)sz, 0) != -EBADMSG)
			t_fail(__FILE__, __LINE__, "case %zu not rejected", i);
	}
	T_EQ_INT(msg_stats(b)->drop_bad, nc);
	T_EQ_INT(n.nodes[1].ngot, 0);
	T_EQ_INT(msg_rx_pending(b), 0);
	T_EQ_INT(n.nq, 0);

	/* a fragment whose total disagrees with the held message */
	{
		struct msg_hdr h = base;

		h.type = MSG_FRAG;
		h.msgid = 9;
		h.total = 2000;
		h.count = 2;
		h.len = MSG_FRAG_DATA;
		h.seq = seq++;
		sz = msg_seal(k, &h, pl, pkt);
		T_EQ_INT(msg_recv(b, pkt, (size_t)sz, 0), 0);
		h.total = 2001;
		h.index = 1;
		h.len = 2001 - MSG_FRAG_DATA;
		h.seq = seq++;
		sz = msg_seal(k, &h, pl, pkt);
		T_EQ_INT(msg_recv(b, pkt, (size_t)sz, 0), -EBADMSG);
		T_EQ_INT(msg_rx_pending(b), 1);
	}
	/* msg_seal refuses oversize */
	{
		struct msg_hdr h = base;

		h.len = MSG_DATA_MAX + 1;
		T_EQ_INT(msg_seal(k, &h, pl, pkt), -EINVAL);
	}
	net_free(&n);
	crypt_key_free(k);
}

/* Every truncation and every bit flip of every kind of datagram is
 * dropped without crashing (ASan/UBSan builds check the "without"). */
static void test_truncation_and_flips(void)
{
	struct crypt_key *k = test_key("testclu", 1);
	struct net n;
	uint8_t pkt[MSG_DGRAM_MAX], big[3000];
	struct pkt *kinds;
	size_t nk, i, cut, off;
	int bit;

	net_init(&n, 2, k, NULL);
	n.capture_only = true;
	memset(big, 7, sizeof(big));
	msg_send(n.nodes[0].m, 2, "app", 3, 0);
	msg_send(n.nodes[0].m, 2, big, sizeof(big), 0);
	msg_ping(n.nodes[0].m, 2, "p", 1);
	msg_ping(n.nodes[1].m, 1, "q", 1);
	/* node 1 answers node 2's ping: a PONG; then a NACK from node 1 */
	msg_recv(n.nodes[0].m, n.q[n.nq - 1].b, n.q[n.nq - 1].len, 0);
	n.nq--;
	memmove(&n.q[n.nq - 1], &n.q[n.nq], sizeof(n.q[0]));
	{
		/* an incomplete message at node 1 from node 2, so it NACKs */
		struct msg_hdr h = { .version = MSG_VERSION,
			             .type = MSG_FRAG,
			             .cluster = msg_cluster_id("testclu"),
			             .sender = 2,
			             .seq = 1ull << 40,
			             .msgid = 77,
			             .total = 2000,
			             .count = 2,
			             .len = MSG_FRAG_DATA };
		int sz = msg_seal(k, &h, big, pkt);

		T_EQ_INT(msg_recv(n.nodes[0].m, pkt, (size_t)sz, 0), 0);
		msg_tick(n.nodes[0].m, 1.0);
	}
	nk = n.nq;
	T_ASSERT(nk >= 6);
	kinds = xmemdup(n.q, nk * sizeof(*kinds));
	n.nq = 0;
	for (i = 0; i < nk; i++) {
		struct msg *dst = node_of(&n, kinds[i].to)->m;
		size_t len = kinds[i].len;

		for (cut = 0; cut < len; cut++) {
			memcpy(pkt, kinds[i].b, cut);
			T_ASSERT(msg_recv(dst, pkt, cut, 0) < 0);
		}
		for (off = 0; off < len; off++) {
			for (bit = 0; bit < 8; bit++) {
				memcpy(pkt, kinds[i].b, len);
				pkt[off] ^= (uint8_t)(1 << bit);
				T_ASSERT(msg_recv(dst, pkt, len, 0) < 0);
			}
		}
		/* and random garbage of the same size */
		for (off = 0; off < 64; off++) {
			for (cut = 0; cut < len; cut++)
				pkt[cut] = (uint8_t)rnd(&n);
			T_ASSERT(msg_recv(dst, pkt, len, 0) < 0);
		}
	}
	T_EQ_INT(n.nodes[1].ngot, 0);
	T_EQ_INT(n.nodes[0].ngot, 0);
	/* the intact ones still work after all that */
	for (i = 0; i < nk; i++)
		T_EQ_INT(msg_recv(node_of(&n, kinds[i].to)->m, kinds[i].b, kinds[i].len, 0), 0);
	T_EQ_INT(n.nodes[1].ngot, 2); /* "app" and the 3000-byte one */
	T_EQ_INT(n.nodes[1].got[1].len, sizeof(big));
	free(kinds);
	net_free(&n);
	crypt_key_free(k);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_hdr_decode_errors);
	T_RUN(test_cluster_id);
	T_RUN(test_new_rejects);
	T_RUN(test_app_roundtrip);
	T_RUN(test_wrong_key_and_cluster);
	T_RUN(test_tamper_every_bit);
	T_RUN(test_replay_window);
	T_RUN(test_nonce_epoch_wrap);
	T_RUN(test_fragments_loss_nack);
	T_RUN(test_fragments_interleaved);
	T_RUN(test_memory_caps);
	T_RUN(test_sender_and_cache_caps);
	T_RUN(test_fragment_dups);
	T_RUN(test_deliver_reentry);
	T_RUN(test_ping_pong);
	T_RUN(test_authentic_but_malformed);
	T_RUN(test_truncation_and_flips);
	return t_done();
}
