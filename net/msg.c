/* net/msg.c - datagram format, AEAD, fragments, reassembly, replay window.
 *
 * Invariants:
 *  1. A (sender, seq) pair is sealed at most once per key: every datagram,
 *     resent fragments included, takes a fresh seq from take_seq().
 *  2. Nothing of a datagram but its sizes, magic, version, cluster id and
 *     sender is looked at before the tag verifies; the replay window is
 *     only updated by authentic datagrams.
 *  3. rx bytes/pending counters equal the sums over the rx list, per
 *     sender and overall; they never exceed the configured caps after
 *     msg_recv() returns.
 *  4. This file never logs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "net/msg.h"
#include "net/udp.h"
#include "core/crc32c.h"
#include "core/crypt.h"
#include "core/endian.h"
#include "core/util.h"

_Static_assert(MSG_DGRAM_MAX == UDP_DGRAM_MAX, "udp and msg disagree on the datagram size");
_Static_assert(MSG_DATA_MAX == 1340, "datagram layout");
_Static_assert(MSG_FRAGS_MAX <= 65535, "fragment index is 16 bits");
_Static_assert(14 + 2 * MSG_NACK_MAX <= MSG_DATA_MAX, "NACK fits one datagram");

#define NACK_FIXED 14 /* target u32, msgid u64, n u16 */

/* What we know about one sender. */
struct rx_peer {
	uint32_t id;
	bool seen;                    /* an authentic datagram was accepted */
	uint64_t top;                 /* highest seq accepted */
	uint64_t bits;                /* bit d set: seq top - d was accepted (d < 64) */
	uint64_t done[MSG_DONE_RING]; /* ids of messages delivered lately */
	unsigned done_pos;
	size_t bytes;     /* held for its incomplete messages */
	unsigned pending; /* its incomplete messages */
};

/* An incomplete fragmented message. */
struct rx_msg {
	struct rx_msg *prev, *next; /* the rx list, oldest first */
	uint32_t sender;
	uint64_t msgid;
	uint32_t total;
	uint16_t count;
	uint16_t have;  /* fragments held */
	uint8_t *data;  /* total bytes */
	uint8_t *got;   /* bitmap of held fragments */
	double last_rx; /* time of the last new fragment */
	double last_nack;
};

/* A fragmented message we sent, kept to answer NACKs. */
struct tx_msg {
	struct tx_msg *prev, *next; /* oldest first */
	uint64_t msgid;
	uint32_t total;
	uint16_t count;
	uint8_t *data;
	double sent;
};

struct msg {
	struct msg_conf conf;
	struct crypt_key *key; /* borrowed */
	struct msg_ops ops;
	void *ctx;
	uint32_t epoch;
	uint32_t counter; /* next packet counter; 0 = wrapped, needs a new epoch */
	uint64_t next_msgid;
	struct rx_peer **peers;
	size_t npeers;
	struct rx_msg *rx_head, *rx_tail;
	size_t rx_bytes;
	size_t rx_pending;
	struct tx_msg *tx_head, *tx_tail;
	size_t tx_bytes;
	struct msg_stats stats;
	uint8_t pkt[MSG_DGRAM_MAX];    /* datagram being sent */
	uint8_t plain[MSG_DATA_MAX];   /* payload being received */
	uint8_t scratch[MSG_DATA_MAX]; /* payloads we build (NACK, PONG) */
};

enum hdr_err { HDR_OK, HDR_SHORT, HDR_MAGIC, HDR_VERSION, HDR_LENGTH };

uint32_t msg_cluster_id(const char *cluster_name)
{
	uint32_t id = crc32c(0, cluster_name, strlen(cluster_name));

	return id ? id : 1;
}

static enum hdr_err hdr_decode(const uint8_t *pkt, size_t n, struct msg_hdr *h)
{
	if (n < MSG_HDR_SIZE + MSG_TAG_SIZE || n > MSG_DGRAM_MAX)
		return HDR_SHORT;
	if (get_le32(pkt) != MSG_MAGIC)
		return HDR_MAGIC;
	h->version = pkt[4];
	if (h->version != MSG_VERSION)
		return HDR_VERSION;
	h->type = pkt[5];
	h->flags = get_le16(pkt + 6);
	h->cluster = get_le32(pkt + 8);
	h->sender = get_le32(pkt + 12);
	h->seq = get_le64(pkt + 16);
	h->msgid = get_le64(pkt + 24);
	h->total = get_le32(pkt + 32);
	h->index = get_le16(pkt + 36);
	h->count = get_le16(pkt + 38);
	h->len = get_le16(pkt + 40);
	h->reserved = get_le16(pkt + 42);
	if ((size_t)h->len != n - MSG_HDR_SIZE - MSG_TAG_SIZE)
		return HDR_LENGTH;
	return HDR_OK;
}

int msg_hdr_decode(const uint8_t *pkt, size_t n, struct msg_hdr *h)
{
	switch (hdr_decode(pkt, n, h)) {
	case HDR_OK:
		return 0;
	case HDR_VERSION:
		return -EPROTO;
	default:
		return -EBADMSG;
	}
}

static void hdr_encode(const struct msg_hdr *h, uint8_t *p)
{
	put_le32(p, MSG_MAGIC);
	p[4] = h->version;
	p[5] = h->type;
	put_le16(p + 6, h->flags);
	put_le32(p + 8, h->cluster);
	put_le32(p + 12, h->sender);
	put_le64(p + 16, h->seq);
	put_le64(p + 24, h->msgid);
	put_le32(p + 32, h->total);
	put_le16(p + 36, h->index);
	put_le16(p + 38, h->count);
	put_le16(p + 40, h->len);
	put_le16(p + 42, h->reserved);
}

static void make_nonce(uint32_t sender, uint64_t seq, uint8_t nonce[CRYPT_NONCE_SIZE])
{
	put_le32(nonce, sender);
	put_le64(nonce + 4, seq);
}

int msg_seal(struct crypt_key *key, const struct msg_hdr *h, const uint8_t *payload, uint8_t *out)
{
	uint8_t nonce[CRYPT_NONCE_SIZE];
	size_t n = MSG_HDR_SIZE + (size_t)h->len + MSG_TAG_SIZE;
	int rc;

	if (n > MSG_DGRAM_MAX)
		return -EINVAL;
	hdr_encode(h, out);
	make_nonce(h->sender, h->seq, nonce);
	rc = crypt_seal(key, nonce, out, MSG_HDR_SIZE, payload, h->len, out + MSG_HDR_SIZE,
	                out + MSG_HDR_SIZE + h->len);
	return rc < 0 ? rc : (int)n;
}

/* ---------------------------------------------------------------- setup */

int msg_new(const struct msg_conf *conf, struct crypt_key *key, const struct msg_ops *ops,
            void *ctx, struct msg **out)
{
	struct msg *m;

	if (!conf->node_id || !conf->epoch || !conf->cluster_id || !key || !ops->send ||
	    !ops->deliver)
		return -EINVAL;
	m = xcalloc(1, sizeof(*m));
	m->conf = *conf;
	if (!m->conf.rx_sender_max)
		m->conf.rx_sender_max = MSG_RX_SENDER_MAX;
	if (!m->conf.rx_total_max)
		m->conf.rx_total_max = MSG_RX_TOTAL_MAX;
	if (m->conf.rx_timeout_sec <= 0)
		m->conf.rx_timeout_sec = MSG_RX_TIMEOUT_SEC;
	if (!m->conf.tx_cache_max)
		m->conf.tx_cache_max = MSG_TX_CACHE_MAX;
	if (m->conf.tx_keep_sec <= 0)
		m->conf.tx_keep_sec = MSG_TX_KEEP_SEC;
	m->key = key;
	m->ops = *ops;
	m->ctx = ctx;
	m->epoch = conf->epoch;
	m->counter = conf->first_counter ? conf->first_counter : 1;
	m->next_msgid = (uint64_t)conf->epoch << 32 | 1;
	*out = m;
	return 0;
}

static void rx_unlink(struct msg *m, struct rx_msg *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		m->rx_head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		m->rx_tail = r->prev;
	r->prev = r->next = NULL;
}

static void rx_free(struct rx_msg *r)
{
	free(r->data);
	free(r->got);
	free(r);
}

static void tx_unlink(struct msg *m, struct tx_msg *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		m->tx_head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		m->tx_tail = t->prev;
	m->tx_bytes -= t->total;
	free(t->data);
	free(t);
}

void msg_free(struct msg *m)
{
	struct rx_msg *r;
	size_t i;

	if (!m)
		return;
	while ((r = m->rx_head)) {
		rx_unlink(m, r);
		rx_free(r);
	}
	while (m->tx_head)
		tx_unlink(m, m->tx_head);
	for (i = 0; i < m->npeers; i++)
		free(m->peers[i]);
	free(m->peers);
	crypt_wipe(m->plain, sizeof(m->plain));
	free(m);
}

const struct msg_stats *msg_stats(const struct msg *m)
{
	return &m->stats;
}

size_t msg_rx_bytes(const struct msg *m)
{
	return m->rx_bytes;
}

size_t msg_rx_pending(const struct msg *m)
{
	return m->rx_pending;
}

uint64_t msg_next_seq(const struct msg *m)
{
	return (uint64_t)m->epoch << 32 | m->counter;
}

/* ---------------------------------------------------------------- sending */

/* Make sure a seq is available: after the counter wrapped, get a new,
 * larger epoch from the caller.  0, -ESTALE or the callback's error. */
static int seq_ready(struct msg *m)
{
	uint32_t e;
	int rc;

	if (m->counter != 0)
		return 0;
	if (!m->ops.next_epoch)
		return -ESTALE;
	rc = m->ops.next_epoch(m->ctx, &e);
	if (rc < 0)
		return rc;
	if (e <= m->epoch)
		return -ESTALE;
	m->epoch = e;
	m->counter = 1;
	if (m->next_msgid < (uint64_t)e << 32)
		m->next_msgid = (uint64_t)e << 32 | 1;
	return 0;
}

static int take_seq(struct msg *m, uint64_t *seq)
{
	int rc = seq_ready(m);

	if (rc < 0)
		return rc;
	*seq = (uint64_t)m->epoch << 32 | m->counter;
	m->counter++; /* 0 after 0xffffffff: the next one asks for an epoch */
	return 0;
}

static void hdr_init(const struct msg *m, struct msg_hdr *h, uint8_t type)
{
	memset(h, 0, sizeof(*h));
	h->version = MSG_VERSION;
	h->type = type;
	h->cluster = m->conf.cluster_id;
	h->sender = m->conf.node_id;
}

/* Seal h + payload with a fresh seq and hand it to ops->send. */
static int send_pkt(struct msg *m, uint32_t to, struct msg_hdr *h, const uint8_t *payload)
{
	int n, rc;

	rc = take_seq(m, &h->seq);
	if (rc < 0)
		return rc;
	n = msg_seal(m->key, h, payload, m->pkt);
	if (n < 0)
		return n;
	rc = m->ops.send(m->ctx, to, m->pkt, (size_t)n);
	if (rc < 0) {
		m->stats.tx_errors++;
		return rc;
	}
	m->stats.tx_packets++;
	return 0;
}

static uint16_t frag_count(uint32_t total)
{
	return (uint16_t)((total + MSG_FRAG_DATA - 1) / MSG_FRAG_DATA);
}

static int send_frag(struct msg *m, uint32_t to, uint64_t msgid, const uint8_t *data,
                     uint32_t total, uint16_t index)
{
	struct msg_hdr h;
	uint32_t off = (uint32_t)index * MSG_FRAG_DATA;

	hdr_init(m, &h, MSG_FRAG);
	h.msgid = msgid;
	h.total = total;
	h.index = index;
	h.count = frag_count(total);
	h.len = (uint16_t)MIN((uint32_t)MSG_FRAG_DATA, total - off);
	return send_pkt(m, to, &h, data + off);
}

static void tx_keep(struct msg *m, uint64_t msgid, const uint8_t *p, uint32_t total, double now)
{
	struct tx_msg *t;

	if (total > m->conf.tx_cache_max)
		return;
	while (m->tx_head && m->tx_bytes + total > m->conf.tx_cache_max)
		tx_unlink(m, m->tx_head);
	t = xcalloc(1, sizeof(*t));
	t->msgid = msgid;
	t->total = total;
	t->count = frag_count(total);
	t->data = xmemdup(p, total);
	t->sent = now;
	t->prev = m->tx_tail;
	if (m->tx_tail)
		m->tx_tail->next = t;
	else
		m->tx_head = t;
	m->tx_tail = t;
	m->tx_bytes += total;
}

int msg_send(struct msg *m, uint32_t to, const void *p, size_t len, double now)
{
	struct msg_hdr h;
	uint64_t msgid;
	uint16_t i, count;
	int rc, first = 0;

	if (len > MSG_MAX)
		return -EFBIG;
	if (to == m->conf.node_id)
		return -EINVAL;
	msgid = m->next_msgid++;
	if (len <= MSG_DATA_MAX) {
		hdr_init(m, &h, MSG_APP);
		h.msgid = msgid;
		h.total = (uint32_t)len;
		h.count = 1;
		h.len = (uint16_t)len;
		rc = send_pkt(m, to, &h, p);
		if (rc == 0)
			m->stats.tx_messages++;
		return rc;
	}
	tx_keep(m, msgid, p, (uint32_t)len, now);
	count = frag_count((uint32_t)len);
	for (i = 0; i < count; i++) {
		rc = seq_ready(m);
		if (rc < 0)
			return rc; /* no epoch: nothing more can be sent */
		rc = send_frag(m, to, msgid, p, (uint32_t)len, i);
		if (rc < 0 && !first)
			first = rc;
	}
	if (!first)
		m->stats.tx_messages++;
	return first;
}

int msg_ping(struct msg *m, uint32_t to, const void *p, size_t len)
{
	struct msg_hdr h;

	if (len > MSG_PING_MAX || to == m->conf.node_id)
		return -EINVAL;
	hdr_init(m, &h, MSG_PING);
	h.len = (uint16_t)len;
	return send_pkt(m, to, &h, p);
}

/* ---------------------------------------------------------------- receiving */

static struct rx_peer *peer_find(struct msg *m, uint32_t id, size_t *pos)
{
	size_t i;

	for (i = 0; i < m->npeers; i++) {
		if (m->peers[i]->id == id) {
			if (pos)
				*pos = i;
			return m->peers[i];
		}
	}
	return NULL;
}

static struct rx_peer *peer_get(struct msg *m, uint32_t id)
{
	struct rx_peer *p = peer_find(m, id, NULL);

	if (p)
		return p;
	if (m->npeers >= MSG_SENDERS_MAX)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->id = id;
	m->peers = xrealloc(m->peers, (m->npeers + 1) * sizeof(*m->peers));
	m->peers[m->npeers++] = p;
	return p;
}

static bool replay_seen(const struct rx_peer *p, uint64_t seq)
{
	uint64_t d;

	if (!p->seen || seq > p->top)
		return false;
	d = p->top - seq;
	return d >= 64 || (p->bits >> d & 1);
}

static void replay_mark(struct rx_peer *p, uint64_t seq)
{
	uint64_t d;

	if (!p->seen) {
		p->seen = true;
		p->top = seq;
		p->bits = 1;
	} else if (seq > p->top) {
		d = seq - p->top;
		p->bits = d >= 64 ? 1 : (p->bits << d) | 1;
		p->top = seq;
	} else {
		p->bits |= (uint64_t)1 << (p->top - seq);
	}
}

static bool done_has(const struct rx_peer *p, uint64_t msgid)
{
	unsigned i;

	for (i = 0; i < MSG_DONE_RING; i++)
		if (p->done[i] == msgid)
			return true;
	return false;
}

static void done_add(struct rx_peer *p, uint64_t msgid)
{
	p->done[p->done_pos] = msgid;
	p->done_pos = (p->done_pos + 1) % MSG_DONE_RING;
}

/* Drop an incomplete message and its accounting. */
static void rx_drop(struct msg *m, struct rx_msg *r)
{
	struct rx_peer *p = peer_find(m, r->sender, NULL);

	rx_unlink(m, r);
	m->rx_bytes -= r->total;
	m->rx_pending--;
	if (p) {
		p->bytes -= r->total;
		p->pending--;
	}
	rx_free(r);
}

static struct rx_msg *rx_find(struct msg *m, uint32_t sender, uint64_t msgid)
{
	struct rx_msg *r;

	for (r = m->rx_head; r; r = r->next)
		if (r->sender == sender && r->msgid == msgid)
			return r;
	return NULL;
}

static struct rx_msg *rx_oldest_of(struct msg *m, uint32_t sender)
{
	struct rx_msg *r;

	for (r = m->rx_head; r; r = r->next)
		if (r->sender == sender)
			return r;
	return NULL;
}

/* Make room for a new incomplete message of total bytes from p, dropping
 * the oldest incomplete ones; false if it cannot fit at all. */
static bool rx_make_room(struct msg *m, struct rx_peer *p, uint32_t total)
{
	struct rx_msg *r;

	if (total > m->conf.rx_sender_max || total > m->conf.rx_total_max)
		return false;
	while (p->bytes + total > m->conf.rx_sender_max || p->pending >= MSG_RX_SENDER_MSGS) {
		r = rx_oldest_of(m, p->id);
		if (!r)
			return false;
		rx_drop(m, r);
		m->stats.evict_mem++;
	}
	while (m->rx_bytes + total > m->conf.rx_total_max) {
		rx_drop(m, m->rx_head);
		m->stats.evict_mem++;
	}
	return true;
}

static int on_frag(struct msg *m, struct rx_peer *p, const struct msg_hdr *h, double now)
{
	struct rx_msg *r;
	uint32_t off;

	if (done_has(p, h->msgid)) {
		m->stats.drop_dup++;
		return 0;
	}
	r = rx_find(m, h->sender, h->msgid);
	if (!r) {
		if (!rx_make_room(m, p, h->total)) {
			m->stats.evict_mem++;
			return -ENOSPC;
		}
		r = xcalloc(1, sizeof(*r));
		r->sender = h->sender;
		r->msgid = h->msgid;
		r->total = h->total;
		r->count = h->count;
		r->data = xmalloc(h->total);
		r->got = xcalloc((h->count + 7u) / 8, 1);
		r->last_nack = -1e9;
		r->prev = m->rx_tail;
		if (m->rx_tail)
			m->rx_tail->next = r;
		else
			m->rx_head = r;
		m->rx_tail = r;
		m->rx_bytes += h->total;
		m->rx_pending++;
		p->bytes += h->total;
		p->pending++;
	} else if (r->total != h->total || r->count != h->count) {
		m->stats.drop_bad++;
		return -EBADMSG;
	}
	if (r->got[h->index / 8] >> (h->index % 8) & 1) {
		m->stats.drop_dup++;
		return 0;
	}
	off = (uint32_t)h->index * MSG_FRAG_DATA;
	memcpy(r->data + off, m->plain, h->len);
	r->got[h->index / 8] |= (uint8_t)(1u << (h->index % 8));
	r->have++;
	r->last_rx = now;
	if (r->have < r->count)
		return 0;

	/* complete: detach, remember, deliver (the callback may re-enter) */
	rx_unlink(m, r);
	m->rx_bytes -= r->total;
	m->rx_pending--;
	p->bytes -= r->total;
	p->pending--;
	done_add(p, r->msgid);
	m->stats.rx_messages++;
	m->ops.deliver(m->ctx, r->sender, r->data, r->total);
	rx_free(r);
	return 0;
}

static int on_nack(struct msg *m, const struct msg_hdr *h)
{
	struct tx_msg *t;
	uint32_t target = get_le32(m->plain);
	uint64_t msgid = get_le64(m->plain + 4);
	uint16_t n = get_le16(m->plain + 12), i, idx;
	int rc;

	if (n == 0 || n > MSG_NACK_MAX || h->len != NACK_FIXED + 2u * n) {
		m->stats.drop_bad++;
		return -EBADMSG;
	}
	if (target != m->conf.node_id)
		return 0; /* someone else's message (multicast) */
	m->stats.nack_rcvd++;
	for (t = m->tx_head; t; t = t->next)
		if (t->msgid == msgid)
			break;
	if (!t) {
		m->stats.nack_miss++;
		return 0;
	}
	for (i = 0; i < n; i++) {
		idx = get_le16(m->plain + NACK_FIXED + 2 * i);
		if (idx >= t->count)
			continue;
		rc = send_frag(m, h->sender, t->msgid, t->data, t->total, idx);
		if (rc < 0)
			return 0; /* counted in tx_errors; the asker will ask again */
		m->stats.resent++;
	}
	return 0;
}

static bool fields_zero(const struct msg_hdr *h)
{
	return !h->msgid && !h->total && !h->index && !h->count;
}

int msg_recv(struct msg *m, const uint8_t *pkt, size_t n, double now)
{
	struct msg_hdr h;
	struct rx_peer *p;
	uint8_t nonce[CRYPT_NONCE_SIZE];
	struct msg_hdr ph;

	switch (hdr_decode(pkt, n, &h)) {
	case HDR_OK:
		break;
	case HDR_SHORT:
		m->stats.drop_short++;
		return -EBADMSG;
	case HDR_MAGIC:
		m->stats.drop_magic++;
		return -EBADMSG;
	case HDR_VERSION:
		m->stats.drop_version++;
		return -EPROTO;
	case HDR_LENGTH:
		m->stats.drop_length++;
		return -EBADMSG;
	}
	if (h.cluster != m->conf.cluster_id) {
		m->stats.drop_cluster++;
		return -EINVAL;
	}
	if (h.sender == 0 || h.sender == m->conf.node_id) {
		m->stats.drop_self++;
		return -EINVAL;
	}
	make_nonce(h.sender, h.seq, nonce);
	if (crypt_open(m->key, nonce, pkt, MSG_HDR_SIZE, pkt + MSG_HDR_SIZE, h.len,
	               pkt + MSG_HDR_SIZE + h.len, m->plain) < 0) {
		m->stats.drop_auth++;
		return -EACCES;
	}
	p = peer_get(m, h.sender);
	if (!p) {
		m->stats.drop_senders++;
		return -ENOSPC;
	}
	if (replay_seen(p, h.seq)) {
		m->stats.drop_replay++;
		return -ESTALE;
	}
	replay_mark(p, h.seq);

	if (h.flags || h.reserved)
		goto bad;
	switch (h.type) {
	case MSG_APP:
		if (!h.msgid || h.index || h.count != 1 || h.total != h.len)
			goto bad;
		m->stats.rx_packets++;
		m->stats.rx_messages++;
		m->ops.deliver(m->ctx, h.sender, m->plain, h.len);
		return 0;
	case MSG_FRAG:
		if (!h.msgid || h.total <= MSG_DATA_MAX || h.total > MSG_MAX ||
		    h.count != frag_count(h.total) || h.index >= h.count ||
		    h.len != MIN((uint32_t)MSG_FRAG_DATA,
		                 h.total - (uint32_t)h.index * MSG_FRAG_DATA))
			goto bad;
		m->stats.rx_packets++;
		return on_frag(m, p, &h, now);
	case MSG_NACK:
		if (!fields_zero(&h) || h.len < NACK_FIXED)
			goto bad;
		m->stats.rx_packets++;
		return on_nack(m, &h);
	case MSG_PING:
		if (!fields_zero(&h) || h.len > MSG_PING_MAX)
			goto bad;
		m->stats.rx_packets++;
		hdr_init(m, &ph, MSG_PONG);
		ph.len = h.len;
		memcpy(m->scratch, m->plain, h.len);
		send_pkt(m, h.sender, &ph, m->scratch); /* failures counted in tx_errors */
		return 0;
	case MSG_PONG:
		if (!fields_zero(&h) || h.len > MSG_PING_MAX)
			goto bad;
		m->stats.rx_packets++;
		if (m->ops.pong)
			m->ops.pong(m->ctx, h.sender, m->plain, h.len);
		return 0;
	default:
		break;
	}
bad:
	m->stats.drop_bad++;
	return -EBADMSG;
}

/* ---------------------------------------------------------------- timers */

static void send_nack(struct msg *m, struct rx_msg *r)
{
	struct msg_hdr h;
	uint16_t i, n = 0;

	put_le32(m->scratch, r->sender);
	put_le64(m->scratch + 4, r->msgid);
	for (i = 0; i < r->count && n < MSG_NACK_MAX; i++) {
		if (r->got[i / 8] >> (i % 8) & 1)
			continue;
		put_le16(m->scratch + NACK_FIXED + 2 * n, i);
		n++;
	}
	put_le16(m->scratch + 12, n);
	hdr_init(m, &h, MSG_NACK);
	h.len = (uint16_t)(NACK_FIXED + 2 * n);
	if (send_pkt(m, r->sender, &h, m->scratch) == 0)
		m->stats.nack_sent++;
}

void msg_tick(struct msg *m, double now)
{
	struct rx_msg *r, *next;

	for (r = m->rx_head; r; r = next) {
		next = r->next;
		if (now - r->last_rx >= m->conf.rx_timeout_sec) {
			rx_drop(m, r);
			m->stats.evict_timeout++;
		} else if (now - r->last_rx >= MSG_NACK_DELAY_SEC &&
		           now - r->last_nack >= MSG_NACK_INTERVAL_SEC) {
			r->last_nack = now;
			send_nack(m, r);
		}
	}
	while (m->tx_head && now - m->tx_head->sent >= m->conf.tx_keep_sec)
		tx_unlink(m, m->tx_head);
}

void msg_forget(struct msg *m, uint32_t node_id)
{
	struct rx_msg *r, *next;
	struct rx_peer *p;
	size_t pos;

	for (r = m->rx_head; r; r = next) {
		next = r->next;
		if (r->sender == node_id)
			rx_drop(m, r);
	}
	p = peer_find(m, node_id, &pos);
	if (!p)
		return;
	free(p);
	m->peers[pos] = m->peers[--m->npeers];
}
