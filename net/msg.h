/* net/msg.h - datagrams between cfsd nodes: format, AEAD, fragments,
 * reassembly, replay window.
 *
 * No sockets and no clock here: the caller hands in received datagrams
 * (msg_recv), the current time (ev_now) and a send callback, so the whole
 * protocol runs in memory in the unit tests.  net/udp.c moves the bytes.
 * Wiring (as tests/unit/test_udp.c does it):
 *	ops.send         to ? udp_send_to(u, to, p, n) : udp_send_all(u, p, n)
 *	udp receive cb   msg_recv(m, p, n, ev_now(loop))
 *	ev_timer         every MSG_TICK_SEC: msg_tick(m, ev_now(loop))
 *	membership       udp_set_peers(); msg_forget() for nodes that left
 *	monitoring       msg_stats()/udp_stats(), logged with log_every()
 *
 * Datagram (little-endian, MSG_HDR_SIZE header, payload, tag):
 *	off len field
 *	  0   4 magic    MSG_MAGIC ("CFSW")
 *	  4   1 version  MSG_VERSION; other versions are dropped, not parsed
 *	  5   1 type     enum msg_type
 *	  6   2 flags    0 (other values are dropped)
 *	  8   4 cluster  msg_cluster_id(cluster name); other clusters dropped
 *	 12   4 sender   node id of the sender (never 0)
 *	 16   8 seq      sender's packet sequence number: epoch << 32 | counter
 *	 24   8 msgid    MSG_APP/MSG_FRAG: sender's message id; else 0
 *	 32   4 total    MSG_APP/MSG_FRAG: bytes of the whole message; else 0
 *	 36   2 index    MSG_FRAG: fragment number, 0..count-1; else 0
 *	 38   2 count    MSG_FRAG: fragments in the message (>= 2); else 0/1
 *	 40   2 len      payload bytes in this datagram
 *	 42   2 reserved 0
 *	 44 len payload  encrypted
 *	  .  16 tag      AES-256-GCM tag over header (additional data) and
 *	                 payload; nonce = sender (le32) || seq (le64)
 *
 * Types and payloads (after decryption):
 *	MSG_APP   1  a whole message of total = len bytes (count 1, index 0)
 *	MSG_FRAG  2  fragment index of count; every fragment but the last has
 *	             MSG_FRAG_DATA bytes; count = ceil(total / MSG_FRAG_DATA)
 *	MSG_NACK  3  "resend these fragments to me":
 *	               u32 target   node that sent the message
 *	               u64 msgid    its message id
 *	               u16 n        number of indices, 1..MSG_NACK_MAX
 *	               u16 index[n]
 *	MSG_PING  4  up to MSG_PING_MAX opaque bytes; answered with MSG_PONG
 *	MSG_PONG  5  the bytes of the ping, reported through ops->pong
 *
 * Nonces never repeat for a key: the sender id is unique in the cluster,
 * and seq is (epoch << 32 | counter) where epoch is a boot epoch that the
 * caller persists and increases on every start, and counter counts the
 * packets of this run from 1.  When the counter would wrap, msg asks
 * ops->next_epoch() for a new, larger epoch (which the caller must make
 * durable before returning it) and starts again at counter 1; if that
 * fails, sending fails with its error.  Message ids start at epoch << 32
 * and count up, so they never repeat for a sender either.
 *
 * Limits of the replay window, by design: it lives in memory, so a node
 * that restarts accepts replays of packets sent before its restart
 * (once each); the layer above (Raft terms and indexes) must tolerate
 * old and duplicate messages anyway.  A peer that comes back with an
 * epoch lower than before is dropped as a replay until msg_forget().
 *
 * Receiving, in order: size bounds, magic, version (-EPROTO), declared
 * length, cluster id, sender != 0 and != self, tag (-EACCES), then the
 * replay window (per sender: the highest seq accepted and a 64-entry
 * bitmap below it), then type, flags and per-type payload checks.  A
 * datagram that fails is counted in struct msg_stats by reason and
 * dropped; msg_recv() never logs.
 *
 * Reassembly keeps at most rx_sender_max bytes / MSG_RX_SENDER_MSGS
 * incomplete messages per sender and rx_total_max bytes overall; beyond
 * that the oldest incomplete message is dropped (counted).  An
 * incomplete message without progress for rx_timeout_sec is dropped.  A
 * receiver that misses fragments sends MSG_NACK (from msg_tick(), at most
 * every MSG_NACK_INTERVAL_SEC, once no fragment came for
 * MSG_NACK_DELAY_SEC); the sender keeps each fragmented message it sent
 * for tx_keep_sec (and at most tx_cache_max bytes, oldest dropped first)
 * to answer NACKs with fresh packets (new seq) addressed to the asker.
 */
#ifndef NET_MSG_H
#define NET_MSG_H

#include <stddef.h>
#include <stdint.h>

#define MSG_MAGIC     0x57534643u /* "CFSW" read as le32 */
#define MSG_VERSION   1
#define MSG_HDR_SIZE  44
#define MSG_TAG_SIZE  16
#define MSG_DGRAM_MAX 1400 /* fits netmtu 1500 with IPv6 + UDP headers */
#define MSG_DATA_MAX  (MSG_DGRAM_MAX - MSG_HDR_SIZE - MSG_TAG_SIZE) /* 1340 */
#define MSG_FRAG_DATA MSG_DATA_MAX
#define MSG_MAX       (4u * 1024 * 1024) /* bytes in one message */
#define MSG_FRAGS_MAX ((MSG_MAX + MSG_FRAG_DATA - 1) / MSG_FRAG_DATA)
#define MSG_NACK_MAX  ((MSG_DATA_MAX - 14) / 2) /* indices in one NACK */
#define MSG_PING_MAX  64

#define MSG_RX_SENDER_MAX     (3 * MSG_MAX)  /* default incomplete bytes per sender */
#define MSG_RX_SENDER_MSGS    32             /* incomplete messages per sender */
#define MSG_RX_TOTAL_MAX      (16 * MSG_MAX) /* default incomplete bytes overall */
#define MSG_RX_TIMEOUT_SEC    5.0            /* default: drop after no progress */
#define MSG_TX_CACHE_MAX      (8 * MSG_MAX)  /* default bytes kept to answer NACKs */
#define MSG_TX_KEEP_SEC       5.0            /* default time they are kept */
#define MSG_NACK_DELAY_SEC    0.02           /* quiet time before asking */
#define MSG_NACK_INTERVAL_SEC 0.1            /* between NACKs for one message */
#define MSG_TICK_SEC          0.02           /* call msg_tick() about this often */
#define MSG_SENDERS_MAX       1024           /* distinct senders tracked */
#define MSG_DONE_RING         256            /* completed message ids remembered per sender */

enum msg_type {
	MSG_APP = 1,
	MSG_FRAG = 2,
	MSG_NACK = 3,
	MSG_PING = 4,
	MSG_PONG = 5,
	MSG_TYPE_END /* keep last */
};

/* The decoded header of one datagram. */
struct msg_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t cluster;
	uint32_t sender;
	uint64_t seq;
	uint64_t msgid;
	uint32_t total;
	uint16_t index;
	uint16_t count;
	uint16_t len;
	uint16_t reserved;
};

/* Drops by reason, and traffic.  Monotonic counters. */
struct msg_stats {
	/* dropped before authentication */
	uint64_t drop_short;   /* shorter than header + tag, or longer than MSG_DGRAM_MAX */
	uint64_t drop_magic;   /* not our magic */
	uint64_t drop_version; /* another protocol version */
	uint64_t drop_length;  /* declared length differs from the datagram's */
	uint64_t drop_cluster; /* another cluster id */
	uint64_t drop_self;    /* our own node id (multicast loopback) or 0 */
	uint64_t drop_auth;    /* tag does not verify: wrong key, forged or damaged */
	/* dropped after authentication */
	uint64_t drop_replay;  /* seq seen already, or older than the window */
	uint64_t drop_senders; /* more than MSG_SENDERS_MAX senders */
	uint64_t drop_bad;     /* bad type, flags or payload fields */
	uint64_t drop_dup;     /* fragment already held, or message already delivered */
	/* reassembly */
	uint64_t evict_mem;     /* incomplete messages dropped over the memory caps */
	uint64_t evict_timeout; /* incomplete messages dropped for lack of progress */
	/* traffic */
	uint64_t rx_packets;  /* accepted datagrams */
	uint64_t rx_messages; /* messages delivered */
	uint64_t tx_packets;  /* datagrams sent (including resent fragments) */
	uint64_t tx_messages; /* messages sent */
	uint64_t tx_errors;   /* ops->send failures */
	uint64_t nack_sent;
	uint64_t nack_rcvd;
	uint64_t nack_miss; /* NACK for a message no longer kept */
	uint64_t resent;    /* fragments resent for NACKs */
};

struct msg_ops {
	/* Put one datagram on the wire: to == 0 means every other node (one
	 * multicast packet or one per peer), else that node.  pkt is
	 * borrowed for the call.  0 or -errno (counted in tx_errors).  It
	 * must not call msg_recv() on the same msg (queue instead). */
	int (*send)(void *ctx, uint32_t to, const uint8_t *pkt, size_t len);
	/* A whole message from node `from`; p is borrowed for the call only.
	 * The callback may call msg_send() and msg_forget(); it must not
	 * call msg_recv() (p may point into the msg) or msg_free(). */
	void (*deliver)(void *ctx, uint32_t from, const uint8_t *p, size_t len);
	/* The packet counter wrapped: persist a new epoch larger than the
	 * current one, store it in *epoch, return 0 (or -errno: sending
	 * fails with it).  NULL: sending fails with -ESTALE instead. */
	int (*next_epoch)(void *ctx, uint32_t *epoch);
	/* Optional: an answer to msg_ping() from `from`. */
	void (*pong)(void *ctx, uint32_t from, const uint8_t *p, size_t len);
};

struct msg_conf {
	uint32_t node_id;    /* ours, != 0 */
	uint32_t cluster_id; /* msg_cluster_id(cluster name) */
	uint32_t epoch;      /* boot epoch, >= 1, larger than every earlier run's */
	/* 0 means the default for each of these: */
	uint32_t first_counter; /* first packet counter (tests use it near the wrap) */
	size_t rx_sender_max;   /* MSG_RX_SENDER_MAX */
	size_t rx_total_max;    /* MSG_RX_TOTAL_MAX */
	double rx_timeout_sec;  /* MSG_RX_TIMEOUT_SEC */
	size_t tx_cache_max;    /* MSG_TX_CACHE_MAX */
	double tx_keep_sec;     /* MSG_TX_KEEP_SEC */
};

struct msg;
struct crypt_key;

/* The 32-bit cluster id of the header: CRC32C of the cluster name. */
uint32_t msg_cluster_id(const char *cluster_name);

/* key is borrowed and must outlive the msg.  0 or -EINVAL (node id 0,
 * epoch 0, cluster id 0). */
int msg_new(const struct msg_conf *conf, struct crypt_key *key, const struct msg_ops *ops,
            void *ctx, struct msg **out);
void msg_free(struct msg *m); /* accepts NULL */

/* Send a message of len bytes (0..MSG_MAX) to node `to` (0 = all): one
 * MSG_APP datagram, or fragments.  0, -EFBIG (too long), -EINVAL (to is
 * ourselves), the error of ops->next_epoch(), or the first error of
 * ops->send() (the other fragments are still sent: NACKs may repair). */
int msg_send(struct msg *m, uint32_t to, const void *p, size_t len, double now);
/* Ask node `to` (0 = all) to echo up to MSG_PING_MAX bytes.  0 or -errno. */
int msg_ping(struct msg *m, uint32_t to, const void *p, size_t len);

/* Handle one received datagram (borrowed).  0 if accepted, else the
 * reason it was dropped (also counted): -EBADMSG (malformed), -EPROTO
 * (other version), -EACCES (authentication), -ESTALE (replayed or too
 * old), -ENOSPC (too many senders, or a message larger than the
 * reassembly caps), -EINVAL (other cluster, or from us).
 * Never logs; ops->deliver runs from inside. */
int msg_recv(struct msg *m, const uint8_t *pkt, size_t n, double now);

/* Periodic work: NACKs for incomplete messages, reassembly timeouts,
 * expiry of the sent-message cache.  Call about every MSG_TICK_SEC. */
void msg_tick(struct msg *m, double now);

/* Forget a node's replay window and partial messages (it left the
 * cluster).  The next packet from it starts a new window. */
void msg_forget(struct msg *m, uint32_t node_id);

const struct msg_stats *msg_stats(const struct msg *m);
/* Bytes held for incomplete messages (for tests and status). */
size_t msg_rx_bytes(const struct msg *m);
/* Incomplete messages held. */
size_t msg_rx_pending(const struct msg *m);
/* The seq the next datagram will carry. */
uint64_t msg_next_seq(const struct msg *m);

/* Decode and check a header, before authentication: size bounds, magic,
 * version, declared length.  0, -EBADMSG or -EPROTO.  Pure. */
int msg_hdr_decode(const uint8_t *pkt, size_t n, struct msg_hdr *h);
/* Encode h (h->len = payload length) and seal payload into out (room for
 * MSG_HDR_SIZE + len + MSG_TAG_SIZE bytes).  Returns the datagram size,
 * or -EINVAL if it would exceed MSG_DGRAM_MAX.  Used by msg_send and by
 * tests and the fuzz target to build arbitrary authentic datagrams. */
int msg_seal(struct crypt_key *key, const struct msg_hdr *h, const uint8_t *payload, uint8_t *out);

#endif /* NET_MSG_H */
