/* applets/cfsd/node.h - the replicated log of one cfsd.
 *
 * A node runs net/raft, alone in local mode (one voter: always quorate,
 * `pmxcfs -l`) or with its peers over net/msg + net/udp in cluster mode.
 * It turns a client's write into a log entry, forwards it to the leader
 * when this node is a follower, retries it (idempotently) when the leader
 * changes, answers the client when the entry is applied here, and gives up
 * at a deadline with -ETIMEDOUT ("may still be applied").  The journal,
 * the tree and the rules stay with the daemon (cfsd.c), reached through
 * struct node_hooks.
 *
 * Entry payload (the bytes raft replicates and the journal stores):
 *	off len field
 *	  0   1 kind    NODE_ENTRY_OP
 *	  1   4 origin  node id of the node whose client asked (le32)
 *	  5   8 req     origin's request id: epoch << 32 | counter (le64)
 *	 13   . op      store/op.h bytes
 * Applying skips an (origin, req) pair it has applied before: a retry that
 * reached the log twice is applied once.  The set of applied requests is
 * part of the state: snapshots carry it (node snapshot = table + tree).
 *
 * Node snapshot blob:
 *	  0   4 magic   NODE_SNAP_MAGIC ("CFSN")
 *	  4   4 n       origins in the table
 *	  8   .  n x { u32 origin, u32 count, count x u64 req }
 *	  .   .  the tree blob (hooks->state_encode)
 *
 * Messages between nodes (net/msg application messages):
 *	NODE_MSG_RAFT   1  raft message bytes
 *	NODE_MSG_FWD    2  an entry payload for the leader to propose
 *	NODE_MSG_HELLO  3  u32 expected votes, u8 flags (1: quorate), u64 term:
 *	                   every NODE_HELLO_SEC, to the multicast group, or
 *	                   (unicast) to each peer nothing else was sent to in
 *	                   that time; a node heard from (any message) within
 *	                   NODE_ALIVE_SEC is a member of the view that `pvecm
 *	                   status` and .members show, and that lets a write
 *	                   wait through a leader election instead of failing
 *	NODE_MSG_DIVERGED 4  "your log contradicts what we committed"
 *	NODE_MSG_UNLOCK 5  u64 version, path bytes: an unlock request for the
 *	                   lock directory path at that version (the leader
 *	                   decides, hooks->unlock)
 *	NODE_MSG_CLOG   6  the cluster log's messages, passed to hooks->clog
 *	                   (applets/cfsd/clusterlog.c: u8 flags, entries in
 *	                   store/clog.h's wire form)
 *
 * Durability (group commit): hooks->persist only queues journal records.
 * Outgoing messages that promise durability (votes, acknowledgements) are
 * held until the caller's journal_sync() succeeds and node_synced() is
 * called; a leader's APPEND and SNAP messages go out at once (the leader
 * counts its own copy only once synced, Raft §10.2.1).
 *
 * Context: the loop thread only.  Callbacks run synchronously inside
 * node_* calls and ev watchers.
 */
#ifndef APPLETS_CFSD_NODE_H
#define APPLETS_CFSD_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "applets/entry.h"
#include "core/buf.h"
#include "core/loop.h"
#include "net/quorum.h"
#include "store/journal.h"

#define NODE_ENTRY_OP   ENTRY_KIND_OP
#define NODE_ENTRY_HDR  ENTRY_HDR_SIZE
#define NODE_SNAP_MAGIC ENTRY_SNAP_MAGIC
#define NODE_HELLO_SEC  0.25
#define NODE_ALIVE_SEC  0.8
#define NODE_DEDUP_KEEP ENTRY_DEDUP_KEEP /* applied requests remembered per origin */
#define NODE_NODES_MAX  64
#define NODE_LOG_KEEP   8192 /* applied entries kept in memory in cluster mode */

struct cluster_conf;

struct node_conf {
	uint32_t self;    /* our node id (local mode: 1) */
	const char *name; /* our node name */
	uint32_t epoch;   /* boot epoch, >= 1, larger than any earlier run's */
	/* cluster mode; cc == NULL: local mode */
	const struct cluster_conf *cc;
	const uint8_t *authkey;
	size_t authkey_len;
	uint32_t election_ms;     /* 0: from cc->token or the default */
	double write_timeout_sec; /* 0: NODE_WRITE_TIMEOUT_SEC */
	double test_loss;         /* tests: drop this fraction of datagrams sent */
	double test_delay_ms;     /* tests: delay every datagram sent */
};

#define NODE_WRITE_TIMEOUT_SEC 5.0
#define NODE_ELECTION_MS       250
#define NODE_HEARTBEAT_PCT     40 /* heartbeat = this % of the election timeout */

struct node_hooks {
	/* queue one journal record (no sync); 0 or -errno */
	int (*persist)(void *ctx, const struct jrec *r);
	/* a leader's records queued so far are complete: start writing them
	 * out (its sync, after the APPENDs are sent, waits less); NULL: no */
	void (*writeback)(void *ctx);
	/* apply a committed op (store/op.h bytes) to the tree; returns the
	 * op's result, 0 or -errno.  origin: the node whose client asked. */
	int (*apply)(void *ctx, const uint8_t *op, size_t len, uint32_t origin, uint64_t index);
	/* the tree as a blob, for snapshots; 0 or -errno */
	int (*state_encode)(void *ctx, struct buf *out);
	/* replace the tree by a blob (in memory); 0 or -errno (-EBADMSG) */
	int (*state_load)(void *ctx, const uint8_t *p, size_t n);
	/* a snapshot received from the leader must become durable: write it
	 * (node snapshot blob) as the new base of the journal with an empty
	 * log after index.  0 or -errno. */
	int (*snapshot_durable)(void *ctx, const uint8_t *blob, size_t n, uint64_t index,
	                        uint64_t term);
	/* the packet counter of the transport wrapped: persist and return a
	 * larger epoch */
	int (*next_epoch)(void *ctx, uint32_t *epoch);
	/* quorum or leadership changed (for logging and .members) */
	void (*changed)(void *ctx);
	/* leader: someone asks to unlock the lock directory path, which it
	 * saw at version; NULL: unlock requests are ignored */
	void (*unlock)(void *ctx, const char *path, uint64_t version);
	/* this node must give up its log and tree and take the cluster's
	 * (two leaders of one term after `pvecm expected`); NULL: never */
	void (*resync)(void *ctx);
	/* a cluster log message (node_clog_send()) came from node from;
	 * NULL: ignored */
	void (*clog)(void *ctx, uint32_t from, const uint8_t *p, size_t len);
	/* node id was heard from after NODE_ALIVE_SEC of silence, or for the
	 * first time (called before its message is handled); NULL: no */
	void (*peer_back)(void *ctx, uint32_t id);
};

/* Called once with the result of node_submit(): 0 or -errno from applying
 * the op, -EACCES (no quorum), -ETIMEDOUT (deadline; may still be
 * applied), -EROFS (journal broken), -ECANCELED (shutting down). */
typedef void node_done_fn(void *ctx, int rc);

struct node;

/* Create; then feed the journal replay through node_restore_*(), then
 * node_start().  0, -EINVAL (bad configuration: message in err), or the
 * error of the transport (socket, bind, key). */
int node_new(struct ev_loop *loop, const struct node_conf *conf, const struct node_hooks *hooks,
             void *ctx, struct node **out, char *err, size_t errlen);
void node_free(struct node *n); /* cancels pending requests; NULL-safe */

/* journal replay (store/journal.h callbacks, in order) */
int node_restore_snapshot(struct node *n, uint64_t index, uint64_t term, const uint8_t *blob,
                          size_t len);
int node_restore_record(struct node *n, const struct jrec *r);
/* Local mode's fast replay (cfsd): in a one-voter journal every entry is
 * committed, so it is applied as it is read instead of being kept in
 * memory; node_restore_applied() then tells raft where the log stands.
 * Only for journals whose only TRUNC records are the generation bases. */
int node_replay_entry(struct node *n, uint64_t index, uint64_t term, const uint8_t *p, size_t len);
int node_restore_applied(struct node *n);
/* start raft: applies what the journal says is committed */
int node_start(struct node *n);
/* Drop applied log entries from memory: all of them in local mode, all
 * but the last NODE_LOG_KEEP in cluster mode (followers further behind
 * get a snapshot).  Call after applying. */
void node_trim(struct node *n);

/* Replicate op (store/op.h bytes, copied); cb(ctx, rc) exactly once,
 * possibly before this returns. */
void node_submit(struct node *n, const uint8_t *op, size_t len, node_done_fn *cb, void *ctx);

/* The journal is durable up to what was queued before the sync started:
 * call node_sync_begin() just before journal_sync(), then node_synced()
 * after it succeeded, or node_sync_failed() (held messages are dropped,
 * the node stops acknowledging; the daemon turns read-only). */
void node_sync_begin(struct node *n);
void node_synced(struct node *n);
void node_sync_failed(struct node *n, int rc);
/* records queued since the last node_sync_begin() */
bool node_dirty(const struct node *n);

/* the node snapshot blob for compaction (dedup table + tree) */
int node_snapshot_encode(struct node *n, struct buf *out);
/* A compaction up to index finished: raft drops those log entries. */
void node_compacted(struct node *n, uint64_t index);
/* index and term of the last applied entry (for journal compaction) */
void node_applied(const struct node *n, uint64_t *index, uint64_t *term);

bool node_quorate(const struct node *n);
/* Send a cluster log message (hooks->clog on the receiver) to node to,
 * 0: to every node; nothing in local mode.  Not acknowledged. */
void node_clog_send(struct node *n, uint32_t to, const uint8_t *p, size_t len);
/* Does node_submit() take a change now (else it fails with EACCES)?
 * Quorate, or quorate by the membership seen lately (an election). */
bool node_writable(struct node *n);
bool node_is_cluster(const struct node *n);
/* this node leads and its term's no-op is committed */
bool node_leader_ready(const struct node *n);

/* Ask the leader (maybe this node) to remove the lock directory path if
 * it has had this version for longer than the lock lifetime (pmxcfs's
 * UNLOCK_REQUEST).  Nothing without quorum or a known leader. */
void node_unlock_request(struct node *n, const char *path, uint64_t version);

/* `pvecm expected N`: corosync's acceptance rule, then raft's quorum.
 * 0 or -EINVAL with corosync's reason in err. */
int node_set_expected(struct node *n, uint32_t votes, char *err, size_t errlen);

/* What `pvecm status`, `pvecm nodes`, .members and quorum-check show. */
struct node_member {
	uint32_t nodeid;
	uint32_t votes;
	bool online;
	const char *name; /* borrowed from the configuration */
	const char *addr;
};
struct node_status {
	bool cluster;
	bool quorate;
	uint32_t self;
	uint32_t leader;
	const char *role;
	uint64_t term;
	uint64_t commit_index;
	uint64_t applied_index;
	uint32_t expected;
	uint32_t highest_expected;
	uint32_t total_votes;
	uint32_t quorum;
	uint32_t flags; /* QUORUM_F_* */
	size_t n_nodes;
	struct node_member nodes[NODE_NODES_MAX];
	uint64_t drops_auth; /* packets dropped for failed authentication */
	uint64_t drops_other;
	uint64_t rx_packets, tx_packets;
};
void node_status(const struct node *n, struct node_status *st);

/* Membership change (a committed corosync.conf, single-server change):
 * the nodelist of cc becomes the consensus configuration
 * (raft_set_nodes), the transport's peer list and the quorum settings
 * (expected votes from the new nodelist, quorum recomputed with decrease
 * allowed, as corosync does on a configuration reload).  cc's strings are
 * borrowed until the next call or node_free().  A node missing from cc
 * no longer counts; if it is this node, it becomes a learner.
 * 0, -ENOTCONN (local mode), -EINVAL (bad nodelist). */
int node_set_nodes(struct node *n, const struct cluster_conf *cc);

#endif /* APPLETS_CFSD_NODE_H */
