/* net/raft.h - the Raft consensus core: election, replication, commit,
 * snapshots; weighted votes, PreVote and CheckQuorum.
 *
 * Pure: no I/O, no clock, no libev, no randomness of its own.  Time comes
 * in as now_ms arguments (any monotonic millisecond clock), randomness,
 * persistence, sending and applying go through struct raft_ops.  The same
 * code runs in cfsd and in the seeded simulation (tests/unit/test_raft_sim.c).
 * All calls are made from one thread (the loop); callbacks are invoked
 * synchronously from inside the raft_* call that caused them and must not
 * call back into raft.
 *
 * Votes are weighted (votequorum arithmetic): an election or a commit needs
 * the votes of the agreeing nodes (the leader/candidate included) to sum to
 * at least the quorum, never a head count:
 *	expected = cfg->expected_votes, or the sum of configured votes if 0;
 *	           lowered at run time by raft_set_expected() (unsafe)
 *	active   = own votes + votes of nodes heard from within election_ms
 *	quorum   = cfg->quorum if set (two_node), else max(expected, active)/2+1
 * A node with 0 votes is a learner: it replicates and applies but never
 * votes, campaigns or counts.  A quorum that two disjoint groups can both
 * reach (cfg->quorum = 1 for two_node, or raft_set_expected()) gives up
 * Raft's safety on purpose: both sides of a partition elect and commit,
 * and at the heal the side with the lower term loses what it committed.
 *
 * Durability contract (group commit).  persist_state/persist_entries/
 * persist_trunc only *queue* writes to the journal, in call order.  The
 * caller MUST hold every message passed to ops->send until everything
 * persisted before that send is durable (one fsync per loop turn), and
 * drop held messages if the sync fails.  Raft relies on this: a vote or an
 * append acknowledgement leaves the node only after the term, vote and
 * entries it promises are on disk.  After each successful sync the caller
 * calls raft_synced(r, index) with raft_last_index(r) as it was when the
 * sync started; the leader counts its own votes for an entry only once it
 * is synced.  Crash recovery must yield, in order, a prefix of the queued
 * writes that contains everything synced.
 *
 * Entry types: RAFT_ENTRY_NORMAL carries the caller's bytes (an op, len >=
 * 1); RAFT_ENTRY_NOOP (len 0) is appended by every new leader.  Because
 * raft_propose() refuses len 0, a journal without a type field may store a
 * NOOP as an empty payload and restore it as such.
 *
 * Membership: single-server changes only.  The caller proposes a change
 * as a normal entry (the replicated corosync.conf), and when it is applied
 * on a node calls raft_set_nodes() there.  The caller proposes a change
 * only on a leader for which raft_leader_ready() holds, and only after the
 * previous change was applied, so two changes are never in flight.
 *
 * Message (little-endian, field by field; RAFT_MSG_HDR_SIZE = 12 bytes):
 *	off len field
 *	  0   1 version  RAFT_MSG_VERSION (other: -EPROTO, not parsed)
 *	  1   1 type     enum raft_msg_type
 *	  2   2 flags    0, or RAFT_MSG_F_QUIET on an APPEND without entries
 *	                 (other values: -EBADMSG)
 *	  4   8 term     sender's term (PREVOTE_REQ: the term it would run in,
 *	                 PREVOTE_RESP granted: the term of the request);
 *	                 1..RAFT_TERM_MAX; every other term field is <= it and
 *	                 every index field <= RAFT_INDEX_MAX
 *	 12   .  body per type, and nothing after it:
 *	PREVOTE_REQ, VOTE_REQ:  u64 last_index, u64 last_term
 *	PREVOTE_RESP, VOTE_RESP: u8 granted (0/1)
 *	APPEND:      u64 prev_index, u64 prev_term, u64 commit, u32 n, then n x
 *	             { u64 term, u16 type, u32 len, len bytes } with indexes
 *	             prev_index+1...; terms non-decreasing, >= prev_term and
 *	             <= term; len <= RAFT_ENTRY_MAX; NOOP has len 0, NORMAL >= 1
 *	APPEND_RESP: u8 success, u64 index (success: match index; failure:
 *	             conflict index hint), u64 conflict_term (0 on success or if
 *	             the follower's log is too short), u64 last_index
 *	SNAP:        u64 snap_index, u64 snap_term, u64 offset, u64 total,
 *	             u8 last (1: this chunk ends the snapshot), u32 len, len
 *	             bytes; len <= RAFT_SNAP_CHUNK, offset+len <= total <=
 *	             RAFT_SNAP_MAX, last iff offset+len == total
 *	SNAP_RESP:   u64 snap_index, u64 next_offset, u8 done (1: installed
 *	             or already covered by the follower's log)
 *
 * Invariants kept by this file:
 *  1. current_term never decreases; voted_for is reset only on a term
 *     change; both are passed to persist_state before any message that
 *     depends on them is sent.
 *  2. An entry is never removed at or below commit_index; apply sees every
 *     index from the snapshot index + 1 on, in order, exactly once per
 *     raft_new() (a snapshot install replaces the applied state).
 *  3. A leader commits by counting only entries of its own term, and
 *     counts its own votes only for synced entries.
 *  4. match_index of a follower never decreases within a term.
 */
#ifndef NET_RAFT_H
#define NET_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

#define RAFT_MSG_VERSION  1
#define RAFT_MSG_HDR_SIZE 12
/* a leader's commit notification: the follower takes the commit index
 * and does not answer (the periodic heartbeats are answered) */
#define RAFT_MSG_F_QUIET  1
#define RAFT_NODES_MAX    64                      /* nodes in a configuration */
#define RAFT_ENTRY_MAX    (2u * 1024 * 1024)      /* bytes of one entry's data */
#define RAFT_BATCH_MAX    (1024u * 1024)          /* entry bytes per APPEND (>= 1 entry) */
#define RAFT_MSG_MAX      (4u * 1024 * 1024)      /* bytes of one encoded message */
#define RAFT_SNAP_CHUNK   (256u * 1024)           /* bytes of snapshot per SNAP */
#define RAFT_SNAP_MAX     (1024ull * 1024 * 1024) /* bytes of a whole snapshot */
#define RAFT_INFLIGHT_MAX 4                       /* unacknowledged APPENDs per follower */
#define RAFT_TERM_MAX     (1ull << 62)            /* larger terms and indexes are -EBADMSG, */
#define RAFT_INDEX_MAX    (1ull << 62)            /* so counting up never wraps */

enum raft_role {
	RAFT_FOLLOWER = 0,
	RAFT_PRECANDIDATE = 1, /* asking for pre-votes; term not bumped */
	RAFT_CANDIDATE = 2,
	RAFT_LEADER = 3,
};

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 1,
	RAFT_ENTRY_NOOP = 2,
};

enum raft_msg_type {
	RAFT_MSG_PREVOTE_REQ = 1,
	RAFT_MSG_PREVOTE_RESP = 2,
	RAFT_MSG_VOTE_REQ = 3,
	RAFT_MSG_VOTE_RESP = 4,
	RAFT_MSG_APPEND = 5,
	RAFT_MSG_APPEND_RESP = 6,
	RAFT_MSG_SNAP = 7,
	RAFT_MSG_SNAP_RESP = 8,
};

struct raft_entry {
	uint64_t index;
	uint64_t term;
	uint16_t type; /* enum raft_entry_type */
	const uint8_t *data;
	uint32_t len;
};

struct raft_node_cfg {
	uint32_t id;    /* != 0 */
	uint32_t votes; /* 0: learner */
};

struct raft_cfg {
	uint32_t self; /* this node's id; must be in nodes[] */
	const struct raft_node_cfg *nodes;
	size_t n_nodes;          /* 1..RAFT_NODES_MAX, ids unique */
	uint32_t heartbeat_ms;   /* >= 1 */
	uint32_t election_ms;    /* > heartbeat_ms; randomised in [election_ms, 2*election_ms) */
	uint32_t expected_votes; /* 0: the sum of nodes[].votes */
	uint32_t quorum;         /* 0: computed; else fixed (two_node: 1) */
};

/* Callbacks.  ctx is the pointer given to raft_new().  Pointers passed in
 * are borrowed for the duration of the callback. */
struct raft_ops {
	/* Queue msg for node to (see the durability contract above). */
	void (*send)(void *ctx, uint32_t to, const uint8_t *msg, size_t len);
	/* Queue a record "current term, vote" (voted_for 0: none). */
	int (*persist_state)(void *ctx, uint64_t term, uint32_t voted_for);
	/* Queue n entries (contiguous indexes, after the current last one). */
	int (*persist_entries)(void *ctx, const struct raft_entry *e, size_t n);
	/* Queue "the log now ends at last_kept_index" (entries after it go). */
	int (*persist_trunc)(void *ctx, uint64_t last_kept_index);
	/* A committed entry, in index order, once.  NOOPs are applied too. */
	void (*apply)(void *ctx, const struct raft_entry *e);
	/* Leader: the caller's latest snapshot (index <= applied, >= the
	 * last raft_compact() index) into out (empty on entry).  0 or -errno. */
	int (*snapshot_load)(void *ctx, struct buf *out, uint64_t *index, uint64_t *term);
	/* Follower: replace the state machine by snapshot p (index, term),
	 * make it durable, and discard the whole journal log; when it returns
	 * 0 the durable state is "snapshot at index, empty log after it" (the
	 * last persisted term and vote are kept; records queued before the
	 * call are older than the snapshot).  An error aborts the install
	 * (the leader retries later).  May block (rare). */
	int (*snapshot_install)(void *ctx, const uint8_t *p, size_t n, uint64_t index,
	                        uint64_t term);
	/* Any 32 random bits (timeout jitter only, not security). */
	uint32_t (*random)(void *ctx);
};

struct raft;

/* Create a node: follower, term 0, empty log.  cfg and its nodes array
 * are copied.  Then restore from disk with raft_restore_*() and call
 * raft_start().  Returns 0 or -EINVAL (bad cfg: no nodes, too many, id 0,
 * duplicate id, self missing, bad timeouts). */
int raft_new(const struct raft_cfg *cfg, const struct raft_ops *ops, void *ctx, struct raft **out);
void raft_free(struct raft *r); /* accepts NULL */

/* Start-up from the journal, before raft_start(); nothing is persisted or
 * sent.  Call them in journal order.
 * raft_restore_snapshot: the log starts after (index, term); entries at or
 *   below it are dropped.  -EINVAL if index or term is 0 without the other.
 * raft_restore_state: term and vote; -EINVAL if the term goes backwards.
 * raft_restore_entry: e is copied; e->index <= last index + 1 replaces
 *   the entries from e->index on (a rewritten suffix); an index at or below
 *   the snapshot is skipped.  -EINVAL: gap, term 0 or > RAFT_TERM_MAX,
 *   bad type or length.
 * raft_restore_trunc: the log ends at last_kept (if it is lower).
 * All return -EBUSY after raft_start(). */
int raft_restore_snapshot(struct raft *r, uint64_t index, uint64_t term);
int raft_restore_state(struct raft *r, uint64_t term, uint32_t voted_for);
int raft_restore_entry(struct raft *r, const struct raft_entry *e);
int raft_restore_trunc(struct raft *r, uint64_t last_kept);

/* Finish start-up at time now_ms: everything restored counts as synced,
 * entries up to commit_hint (clamped to the log; a commit index this node
 * knew, e.g. from a journal STATE record written after those entries) are
 * applied through ops->apply, and the election timer starts.  A node
 * whose own votes reach the quorum becomes leader at once (its no-op
 * commits at the next raft_synced()).  Returns 0, or
 * -EBUSY if already started, or a persist error. */
int raft_start(struct raft *r, uint64_t commit_hint, uint64_t now_ms);

/* Timers: election timeout, heartbeats, CheckQuorum.  Call at least every
 * heartbeat_ms (more often is harmless).  now_ms must not go backwards
 * (an older value is treated as the newest seen).  Returns 0 or the
 * sticky error (below). */
int raft_tick(struct raft *r, uint64_t now_ms);

/* A message from node from (authenticated by the transport).  Returns 0,
 * -EBADMSG (does not decode; nothing changed), -EPROTO (other version),
 * -EINVAL (from is not in the configuration or is this node), or the
 * sticky error.  Messages from old terms are answered or ignored, not
 * errors; before raft_start() messages are ignored (0).  msg is borrowed
 * for the call. */
int raft_recv(struct raft *r, uint32_t from, const uint8_t *msg, size_t len, uint64_t now_ms);

/* Leader: append a NORMAL entry with a copy of data, persist it and start
 * replicating it; *index (may be NULL) gets its index.  The caller learns
 * the outcome when ops->apply sees that index with this term (or a
 * different entry there: lost to a new leader).  Returns 0, -ENOTCONN
 * (not the leader: forward to raft_leader(), which may be 0 = unknown),
 * -EINVAL (len 0), -EFBIG (len > RAFT_ENTRY_MAX), -ENOSPC (the log
 * reached RAFT_INDEX_MAX), or the sticky error. */
int raft_propose(struct raft *r, const uint8_t *data, uint32_t len, uint64_t *index);

/* Batching: with it on, raft_propose() only appends; the caller calls
 * raft_flush() once per loop turn (before its fsync), which sends every
 * follower one APPEND with all the entries proposed since.  Off by
 * default (each proposal is sent at once). */
void raft_set_batching(struct raft *r, bool on);
void raft_flush(struct raft *r);

/* Everything persisted up to index is durable (see the contract above).
 * Indexes above the last entry are clamped.  Returns 0 or the sticky
 * error. */
int raft_synced(struct raft *r, uint64_t index);

/* The caller holds a snapshot of the state machine at index (<= the
 * applied index): drop the log entries up to it.  Followers that need them
 * later get the snapshot (ops->snapshot_load) in RAFT_SNAP_CHUNK pieces.
 * Returns 0, -EINVAL (index above the applied index); an index at or below
 * the current snapshot is a no-op. */
int raft_compact(struct raft *r, uint64_t index);

/* Replace the configuration (single-server change, see above): progress of
 * nodes that stay is kept; a node not in the new list no longer counts,
 * and its messages are refused.  If self is not in nodes, self becomes a
 * learner that is not part of the cluster (and a leader steps down).
 * The expected votes become the sum of the new votes (unless
 * cfg->expected_votes was set).  Returns 0 or -EINVAL (same checks as
 * raft_new, self may be absent). */
int raft_set_nodes(struct raft *r, const struct raft_node_cfg *nodes, size_t n);

/* `pvecm expected N`: lower the expected votes to votes (0: back to the
 * configured value), so quorum = max(votes, active)/2+1.  Unsafe by nature:
 * two sides of a partition may both become quorate.  The override is
 * dropped by itself once the active votes reach the configured expected
 * votes again.  Acceptance rules (corosync's) belong to net/quorum; this
 * only applies the value.  Returns 0. */
int raft_set_expected(struct raft *r, uint32_t votes);

/* Quorate at now_ms: a leader that heard from nodes holding a quorum of
 * votes (itself included) within election_ms, or a follower that heard
 * from a leader within election_ms. */
bool raft_quorate(const struct raft *r, uint64_t now_ms);
/* A leader whose no-op of this term is committed (may change membership). */
bool raft_leader_ready(const struct raft *r);

uint32_t raft_leader(const struct raft *r); /* known leader's id, 0 if unknown */
uint64_t raft_term(const struct raft *r);
uint64_t raft_commit_index(const struct raft *r);
uint64_t raft_applied_index(const struct raft *r);
uint64_t raft_last_index(const struct raft *r);
uint64_t raft_snapshot_index(const struct raft *r);
enum raft_role raft_role(const struct raft *r);
const char *raft_role_name(enum raft_role role); /* "follower", ... */
/* Sticky error: once a persist callback failed, every call returns it
 * (the node stops voting and acknowledging; restart to recover). */
int raft_error(const struct raft *r);
/* Log entry at index (snapshot index < index <= last), or NULL; data is
 * valid until the next raft call that changes the log. */
const struct raft_entry *raft_entry_get(const struct raft *r, uint64_t index);

struct raft_node_status {
	uint32_t id;
	uint32_t votes;
	bool active;           /* heard from within election_ms (self: true) */
	uint64_t last_recv_ms; /* time of the last message from it; 0: never */
	uint64_t match_index;  /* leader only: highest index known replicated */
	uint64_t next_index;   /* leader only */
	bool snapshot;         /* leader only: being sent a snapshot */
};

struct raft_status {
	enum raft_role role;
	uint64_t term;
	uint32_t leader;
	uint32_t self;
	bool quorate;
	uint32_t quorum;
	uint32_t expected_votes;    /* effective, override included */
	uint32_t expected_override; /* raft_set_expected value, 0: none */
	uint64_t split_brains;      /* leader: APPENDs seen from another leader of its term
	                               (possible only after raft_set_expected) */
	uint32_t split_peer;        /* the last such leader */
	uint64_t conflicts;         /* follower: APPENDs contradicting its committed log
	                               (a leader of a split brain, see split_brains) */
	uint32_t conflict_leader;   /* the last such leader */
	uint32_t total_votes;       /* configured */
	uint32_t active_votes;
	uint64_t commit_index;
	uint64_t applied_index;
	uint64_t last_index;
	uint64_t synced_index;
	uint64_t snapshot_index;
	size_t n_nodes;
	struct raft_node_status nodes[RAFT_NODES_MAX];
};

/* A copy of the state at now_ms, for `pvecm status`. */
void raft_status(const struct raft *r, uint64_t now_ms, struct raft_status *st);

/* The message decoder (raft_recv uses it; exposed for tests and fuzzing).
 * Strict: every field is checked as described in the table above, and
 * trailing bytes are an error.  Pointers borrow p.  Entries of an APPEND
 * are read back with raft_msg_entry(). */
struct raft_msg {
	uint8_t type;
	uint64_t term;
	uint64_t last_index; /* *VOTE_REQ, APPEND_RESP */
	uint64_t last_term;  /* *VOTE_REQ */
	bool granted;        /* *VOTE_RESP */
	uint64_t prev_index; /* APPEND */
	uint64_t prev_term;
	uint64_t commit;
	uint32_t n_entries;
	bool quiet;             /* RAFT_MSG_F_QUIET */
	const uint8_t *entries; /* n_entries encoded entries */
	size_t entries_len;
	bool success;           /* APPEND_RESP */
	uint64_t index;         /* APPEND_RESP: match index or conflict hint */
	uint64_t conflict_term; /* APPEND_RESP */
	uint64_t snap_index;    /* SNAP, SNAP_RESP */
	uint64_t snap_term;     /* SNAP */
	uint64_t offset;        /* SNAP; SNAP_RESP: next offset wanted */
	uint64_t total;         /* SNAP */
	bool last;              /* SNAP; SNAP_RESP: done */
	const uint8_t *data;    /* SNAP chunk */
	uint32_t len;
};

/* 0, -EBADMSG or -EPROTO (other version). */
int raft_msg_decode(const uint8_t *p, size_t n, struct raft_msg *m);
/* Read the next entry of a decoded APPEND into e (data borrows the
 * message): *off starts at 0 and advances; index is the entry's index
 * (m->prev_index + 1 for the first, + 1 for each next one).  Call at most
 * m->n_entries times. */
void raft_msg_entry(const struct raft_msg *m, size_t *off, uint64_t index, struct raft_entry *e);

#endif /* NET_RAFT_H */
