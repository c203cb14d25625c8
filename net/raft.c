/* net/raft.c - the Raft consensus core (see net/raft.h).
 *
 * Roles and transitions:
 *	FOLLOWER     -> PRECANDIDATE  election timeout, self is a voter [tick]
 *	PRECANDIDATE -> CANDIDATE     pre-votes reach the quorum [start_election]
 *	CANDIDATE    -> LEADER        votes reach the quorum [become_leader]
 *	PRE/CANDIDATE -> PRECANDIDATE election timeout again [tick]
 *	any          -> FOLLOWER      higher term seen, or an APPEND/SNAP of the
 *	                              current term [step_down]
 *	LEADER       -> FOLLOWER      CheckQuorum: no vote majority heard from
 *	                              within election_ms [tick]
 *
 * Replication, per follower (struct peer), on the leader:
 *	probe     one APPEND at a time from next (resent every heartbeat)
 *	          until one succeeds; after a rejection next moves back
 *	          using the follower's conflict hint.
 *	pipeline  up to RAFT_INFLIGHT_MAX APPENDs in flight, next advances
 *	          as they are sent; a heartbeat without any acknowledgement
 *	          since the previous one resends from match + 1.
 *	snapshot  next is below the log start: stop-and-wait SNAP chunks of
 *	          the cached snapshot, resent every heartbeat, until done.
 */
#define LOG_TAG "raft"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "net/raft.h"
#include "core/log.h"
#include "core/util.h"

struct peer {
	uint32_t id;
	uint32_t votes;
	bool heard;            /* last_recv_ms is valid */
	uint64_t last_recv_ms; /* last message of a current term from it */
	/* leader state */
	uint64_t next;
	uint64_t match;
	int inflight;
	bool probe;
	bool progressed;      /* an acknowledgement came since the last heartbeat */
	uint64_t commit_sent; /* commit index in the last APPEND to it */
	bool snap;
	uint64_t snap_index; /* of the snapshot being sent */
	uint64_t snap_offset;
	/* candidate state */
	bool granted;
};

struct raft {
	const struct raft_ops *ops;
	void *ctx;
	uint32_t self;
	uint32_t heartbeat_ms;
	uint32_t election_ms;
	uint32_t cfg_expected;
	uint32_t quorum_fixed;
	uint32_t expected_base; /* cfg_expected, or the sum of votes */
	uint32_t expected_override;
	struct peer nodes[RAFT_NODES_MAX];
	size_t n_nodes;
	struct peer *me; /* NULL when self is not in the configuration */

	/* persistent (through ops) */
	uint64_t term;
	uint32_t voted_for;
	struct raft_entry *log; /* log[i] has index snap_index + 1 + i; data owned */
	size_t log_len;
	size_t log_cap;
	uint64_t snap_index;
	uint64_t snap_term;

	/* volatile */
	enum raft_role role;
	uint32_t leader;
	uint64_t commit;
	uint64_t applied;
	uint64_t synced;
	uint64_t term_start; /* leader: index of its no-op */
	uint64_t now;
	bool started;
	int err;               /* sticky persist failure */
	bool batching;         /* raft_propose() leaves sending to raft_flush() */
	uint64_t split_brains; /* APPENDs from another leader of our term */
	uint64_t conflicts;    /* APPENDs that contradict our committed log */
	uint32_t conflict_leader;
	uint32_t split_peer; /* the last such leader */
	uint64_t election_deadline;
	uint64_t heartbeat_due;
	uint64_t became_leader_ms;
	bool has_contact; /* follower: contact_ms is valid */
	uint64_t contact_ms;

	struct buf tx;
	/* leader: cached snapshot being sent */
	struct buf snap_out;
	uint64_t snap_out_index;
	uint64_t snap_out_term;
	bool snap_out_valid;
	/* follower: snapshot being received */
	struct buf snap_in;
	uint64_t snap_in_index;
	uint64_t snap_in_term;
	uint64_t snap_in_total;
	bool snap_in_active;
};

/* ------------------------------------------------------------ decoding */

static bool entry_type_ok(uint16_t type, uint32_t len)
{
	if (type == RAFT_ENTRY_NOOP)
		return len == 0;
	if (type == RAFT_ENTRY_NORMAL)
		return len >= 1 && len <= RAFT_ENTRY_MAX;
	return false;
}

int raft_msg_decode(const uint8_t *p, size_t n, struct raft_msg *m)
{
	struct rd rd = rd_init(p, n);
	uint8_t version, b;
	uint16_t flags;

	memset(m, 0, sizeof(*m));
	if (n > RAFT_MSG_MAX)
		return -EBADMSG;
	version = rd_u8(&rd);
	if (rd.err)
		return -EBADMSG;
	if (version != RAFT_MSG_VERSION)
		return -EPROTO;
	m->type = rd_u8(&rd);
	flags = rd_u16(&rd);
	m->term = rd_u64(&rd);
	if (rd.err || (flags & ~RAFT_MSG_F_QUIET) || m->term == 0 || m->term > RAFT_TERM_MAX)
		return -EBADMSG;
	m->quiet = flags & RAFT_MSG_F_QUIET;
	if (m->quiet && m->type != RAFT_MSG_APPEND)
		return -EBADMSG;
	switch (m->type) {
	case RAFT_MSG_PREVOTE_REQ:
	case RAFT_MSG_VOTE_REQ:
		m->last_index = rd_u64(&rd);
		m->last_term = rd_u64(&rd);
		if (m->last_term > m->term || (m->last_index == 0) != (m->last_term == 0))
			return -EBADMSG;
		break;
	case RAFT_MSG_PREVOTE_RESP:
	case RAFT_MSG_VOTE_RESP:
		b = rd_u8(&rd);
		if (b > 1)
			return -EBADMSG;
		m->granted = b;
		break;
	case RAFT_MSG_APPEND: {
		uint64_t last_term;

		m->prev_index = rd_u64(&rd);
		m->prev_term = rd_u64(&rd);
		m->commit = rd_u64(&rd);
		m->n_entries = rd_u32(&rd);
		if (rd.err || (m->quiet && m->n_entries))
			return -EBADMSG;
		if ((m->prev_index == 0) != (m->prev_term == 0) || m->prev_term > m->term ||
		    m->commit > RAFT_INDEX_MAX || m->prev_index > RAFT_INDEX_MAX - m->n_entries)
			return -EBADMSG;
		m->entries = rd.p;
		last_term = m->prev_term;
		for (uint32_t i = 0; i < m->n_entries; i++) {
			uint64_t term = rd_u64(&rd);
			uint16_t type = rd_u16(&rd);
			uint32_t len = rd_u32(&rd);

			if (rd.err || term < last_term || term > m->term || term == 0 ||
			    !entry_type_ok(type, len))
				return -EBADMSG;
			if (!rd_take(&rd, len))
				return -EBADMSG;
			last_term = term;
		}
		m->entries_len = (size_t)(rd.p - m->entries);
		break;
	}
	case RAFT_MSG_APPEND_RESP:
		b = rd_u8(&rd);
		m->index = rd_u64(&rd);
		m->conflict_term = rd_u64(&rd);
		m->last_index = rd_u64(&rd);
		if (b > 1 || (b && m->conflict_term) || m->conflict_term > m->term)
			return -EBADMSG;
		m->success = b;
		break;
	case RAFT_MSG_SNAP:
		m->snap_index = rd_u64(&rd);
		m->snap_term = rd_u64(&rd);
		m->offset = rd_u64(&rd);
		m->total = rd_u64(&rd);
		b = rd_u8(&rd);
		m->len = rd_u32(&rd);
		if (rd.err || b > 1 || m->snap_index == 0 || m->snap_term == 0 ||
		    m->snap_term > m->term || m->len > RAFT_SNAP_CHUNK ||
		    m->total > RAFT_SNAP_MAX || m->offset > m->total ||
		    m->len > m->total - m->offset || (b != 0) != (m->offset + m->len == m->total))
			return -EBADMSG;
		m->last = b;
		m->data = rd_take(&rd, m->len);
		break;
	case RAFT_MSG_SNAP_RESP:
		m->snap_index = rd_u64(&rd);
		m->offset = rd_u64(&rd);
		b = rd_u8(&rd);
		if (b > 1 || m->snap_index == 0 || m->offset > RAFT_SNAP_MAX)
			return -EBADMSG;
		m->last = b;
		break;
	default:
		return -EBADMSG;
	}
	if (rd.err || rd.left || m->last_index > RAFT_INDEX_MAX || m->index > RAFT_INDEX_MAX ||
	    m->snap_index > RAFT_INDEX_MAX)
		return -EBADMSG;
	return 0;
}

void raft_msg_entry(const struct raft_msg *m, size_t *off, uint64_t index, struct raft_entry *e)
{
	struct rd rd = rd_init(m->entries + *off, m->entries_len - *off);

	e->index = index;
	e->term = rd_u64(&rd);
	e->type = rd_u16(&rd);
	e->len = rd_u32(&rd);
	e->data = e->len ? rd_take(&rd, e->len) : NULL;
	*off = m->entries_len - rd.left;
}

/* ------------------------------------------------------------ log */

static uint64_t last_index(const struct raft *r)
{
	return r->snap_index + r->log_len;
}

static struct raft_entry *entry_at(const struct raft *r, uint64_t index)
{
	if (index <= r->snap_index || index > last_index(r))
		return NULL;
	return &r->log[index - r->snap_index - 1];
}

/* The term of the entry at index: false if it is compacted or absent. */
static bool term_at(const struct raft *r, uint64_t index, uint64_t *term)
{
	const struct raft_entry *e;

	if (index == r->snap_index) {
		*term = r->snap_term;
		return true;
	}
	e = entry_at(r, index);
	if (!e)
		return false;
	*term = e->term;
	return true;
}

static uint64_t last_term(const struct raft *r)
{
	return r->log_len ? r->log[r->log_len - 1].term : r->snap_term;
}

/* Copy e to the end of the log (e->index must be last + 1). */
static void log_push(struct raft *r, const struct raft_entry *e)
{
	struct raft_entry *d;

	if (r->log_len == r->log_cap) {
		r->log_cap = r->log_cap ? r->log_cap * 2 : 64;
		r->log = xrealloc(r->log, r->log_cap * sizeof(*r->log));
	}
	d = &r->log[r->log_len++];
	*d = *e;
	d->data = e->len ? xmemdup(e->data, e->len) : NULL;
}

/* Drop the entries after last_kept (in memory only). */
static void log_cut(struct raft *r, uint64_t last_kept)
{
	while (last_index(r) > last_kept && r->log_len) {
		r->log_len--;
		free((void *)r->log[r->log_len].data);
	}
	if (r->synced > last_kept)
		r->synced = last_kept;
}

/* Drop the entries up to index (compaction, in memory only). */
static void log_drop_front(struct raft *r, uint64_t index)
{
	size_t n = (size_t)MIN(index - r->snap_index, (uint64_t)r->log_len);

	for (size_t i = 0; i < n; i++)
		free((void *)r->log[i].data);
	if (n)
		memmove(r->log, r->log + n, (r->log_len - n) * sizeof(*r->log));
	r->log_len -= n;
}

static void log_clear(struct raft *r)
{
	log_cut(r, r->snap_index);
}

/* ------------------------------------------------------------ votes */

static struct peer *peer_find(struct raft *r, uint32_t id)
{
	for (size_t i = 0; i < r->n_nodes; i++)
		if (r->nodes[i].id == id)
			return &r->nodes[i];
	return NULL;
}

static bool is_voter(const struct raft *r)
{
	return r->me && r->me->votes > 0;
}

static bool peer_active(const struct raft *r, const struct peer *p, uint64_t now)
{
	if (p == r->me)
		return true;
	return p->heard && now - p->last_recv_ms < r->election_ms;
}

static uint32_t active_votes(const struct raft *r, uint64_t now)
{
	uint32_t v = 0;

	for (size_t i = 0; i < r->n_nodes; i++)
		if (peer_active(r, &r->nodes[i], now))
			v += r->nodes[i].votes;
	return v;
}

static uint32_t expected_votes(const struct raft *r)
{
	return r->expected_override ? r->expected_override : r->expected_base;
}

static uint32_t quorum_at(const struct raft *r, uint64_t now)
{
	if (r->quorum_fixed)
		return r->quorum_fixed;
	return MAX(expected_votes(r), active_votes(r, now)) / 2 + 1;
}

static uint32_t quorum(const struct raft *r)
{
	return quorum_at(r, r->now);
}

static uint32_t granted_votes(const struct raft *r)
{
	uint32_t v = 0;

	for (size_t i = 0; i < r->n_nodes; i++)
		if (r->nodes[i].granted)
			v += r->nodes[i].votes;
	return v;
}

/* ------------------------------------------------------------ sending */

static void msg_start(struct raft *r, uint8_t type, uint64_t term)
{
	buf_reset(&r->tx);
	buf_put_u8(&r->tx, RAFT_MSG_VERSION);
	buf_put_u8(&r->tx, type);
	buf_put_le16(&r->tx, 0);
	buf_put_le64(&r->tx, term);
}

static void msg_send(struct raft *r, uint32_t to)
{
	r->ops->send(r->ctx, to, r->tx.p, r->tx.len);
}

static void send_vote_req(struct raft *r, uint8_t type, uint64_t term)
{
	for (size_t i = 0; i < r->n_nodes; i++) {
		struct peer *p = &r->nodes[i];

		if (p == r->me || !p->votes)
			continue;
		msg_start(r, type, term);
		buf_put_le64(&r->tx, last_index(r));
		buf_put_le64(&r->tx, last_term(r));
		msg_send(r, p->id);
	}
}

static void send_vote_resp(struct raft *r, uint32_t to, uint8_t type, uint64_t term, bool granted)
{
	msg_start(r, type, term);
	buf_put_u8(&r->tx, granted);
	msg_send(r, to);
}

static void send_append_resp(struct raft *r, uint32_t to, bool success, uint64_t index,
                             uint64_t conflict_term)
{
	msg_start(r, RAFT_MSG_APPEND_RESP, r->term);
	buf_put_u8(&r->tx, success);
	buf_put_le64(&r->tx, index);
	buf_put_le64(&r->tx, conflict_term);
	buf_put_le64(&r->tx, last_index(r));
	msg_send(r, to);
}

static void send_snap_resp(struct raft *r, uint32_t to, uint64_t snap_index, uint64_t next,
                           bool done)
{
	msg_start(r, RAFT_MSG_SNAP_RESP, r->term);
	buf_put_le64(&r->tx, snap_index);
	buf_put_le64(&r->tx, next);
	buf_put_u8(&r->tx, done);
	msg_send(r, to);
}

/* APPEND to p with prev = from - 1 and, if with_entries, the entries from
 * `from` on (bounded by RAFT_BATCH_MAX, at least one); without entries it
 * may be quiet (RAFT_MSG_F_QUIET).  Returns the index of the last entry
 * sent (from - 1 if none).  The caller checked that from - 1 is not below
 * the log start. */
static uint64_t send_append(struct raft *r, struct peer *p, uint64_t from, bool with_entries,
                            bool quiet)
{
	uint64_t prev = from - 1, prev_term = 0, last = last_index(r), i;
	size_t n_off, bytes = 0;
	uint32_t n = 0;

	term_at(r, prev, &prev_term);
	msg_start(r, RAFT_MSG_APPEND, r->term);
	if (quiet && !with_entries)
		put_le16(r->tx.p + 2, RAFT_MSG_F_QUIET);
	buf_put_le64(&r->tx, prev);
	buf_put_le64(&r->tx, prev_term);
	buf_put_le64(&r->tx, r->commit);
	n_off = r->tx.len;
	buf_put_le32(&r->tx, 0);
	for (i = from; with_entries && i <= last; i++) {
		const struct raft_entry *e = entry_at(r, i);

		if (n && bytes + e->len > RAFT_BATCH_MAX)
			break;
		buf_put_le64(&r->tx, e->term);
		buf_put_le16(&r->tx, e->type);
		buf_put_le32(&r->tx, e->len);
		buf_put(&r->tx, e->data, e->len);
		bytes += e->len;
		n++;
	}
	put_le32(r->tx.p + n_off, n);
	msg_send(r, p->id);
	p->commit_sent = r->commit;
	return prev + n;
}

/* An APPEND without entries whose prev is the follower's match: it
 * matches (what was acknowledged is durable), so it carries the commit
 * index and keeps the lease without a rejection. */
static void send_heartbeat(struct raft *r, struct peer *p, bool quiet)
{
	send_append(r, p, MAX(p->match, r->snap_index) + 1, false, quiet);
}

/* Tell an idle follower a commit index it has not heard yet (busy ones
 * learn it from the next APPEND): a heartbeat it need not answer, as the
 * answer could not move its match. */
static void tell_commit(struct raft *r, struct peer *p)
{
	if (p != r->me && !p->snap && !p->probe && !p->inflight && p->commit_sent < r->commit)
		send_heartbeat(r, p, true);
}

static void snap_cache_drop(struct raft *r)
{
	buf_free(&r->snap_out);
	r->snap_out_valid = false;
}

/* Send p the chunk of the cached snapshot at its offset. */
static void send_snap_chunk(struct raft *r, struct peer *p)
{
	uint64_t total = r->snap_out.len, off, len;

	if (!r->snap_out_valid || r->snap_out_index != p->snap_index) {
		p->snap = false; /* the cache moved on: start over */
		return;
	}
	off = MIN(p->snap_offset, total);
	len = MIN(total - off, (uint64_t)RAFT_SNAP_CHUNK);
	msg_start(r, RAFT_MSG_SNAP, r->term);
	buf_put_le64(&r->tx, r->snap_out_index);
	buf_put_le64(&r->tx, r->snap_out_term);
	buf_put_le64(&r->tx, off);
	buf_put_le64(&r->tx, total);
	buf_put_u8(&r->tx, off + len == total);
	buf_put_le32(&r->tx, (uint32_t)len);
	buf_put(&r->tx, r->snap_out.p + off, (size_t)len);
	msg_send(r, p->id);
}

static void start_snapshot(struct raft *r, struct peer *p)
{
	int rc;

	if (!r->snap_out_valid || r->snap_out_index < r->snap_index) {
		uint64_t index = 0, term = 0;

		buf_reset(&r->snap_out);
		r->snap_out_valid = false;
		rc = r->ops->snapshot_load(r->ctx, &r->snap_out, &index, &term);
		if (rc < 0) {
			log_err("node %u: cannot load the snapshot for node %u: %s", r->self, p->id,
			        cfs_strerror(rc));
			snap_cache_drop(r);
			return;
		}
		if (index < r->snap_index || index > r->applied || index == 0 || term == 0 ||
		    r->snap_out.len > RAFT_SNAP_MAX) {
			log_err("node %u: snapshot at %llu (term %llu) unusable, log starts after %llu",
			        r->self, (unsigned long long)index, (unsigned long long)term,
			        (unsigned long long)r->snap_index);
			snap_cache_drop(r);
			return;
		}
		r->snap_out_valid = true;
		r->snap_out_index = index;
		r->snap_out_term = term;
	}
	p->snap = true;
	p->snap_index = r->snap_out_index;
	p->snap_offset = 0;
	log_info("node %u: sending snapshot at %llu to node %u", r->self,
	         (unsigned long long)p->snap_index, p->id);
	send_snap_chunk(r, p);
}

/* Leader: send p what it needs.  heartbeat: the heartbeat timer fired. */
static void replicate(struct raft *r, struct peer *p, bool heartbeat)
{
	uint64_t last = last_index(r);
	bool sent = false;

	if (p == r->me)
		return;
	if (p->snap) {
		if (heartbeat)
			send_snap_chunk(r, p);
		return;
	}
	if (heartbeat && !p->probe && p->inflight && !p->progressed) {
		/* nothing acknowledged for a heartbeat period: resend */
		p->next = p->match + 1;
		p->inflight = 0;
	}
	if (heartbeat)
		p->progressed = false;
	if (p->next <= r->snap_index) {
		start_snapshot(r, p);
		return;
	}
	if (p->probe) {
		if (heartbeat || !p->inflight) {
			send_append(r, p, p->next, true, false);
			p->inflight = 1;
		}
		return;
	}
	while (p->next <= last && p->inflight < RAFT_INFLIGHT_MAX) {
		p->next = send_append(r, p, p->next, true, false) + 1;
		p->inflight++;
		sent = true;
	}
	if (heartbeat && !sent)
		send_heartbeat(r, p, false);
}

static void replicate_all(struct raft *r, bool heartbeat)
{
	for (size_t i = 0; i < r->n_nodes; i++)
		replicate(r, &r->nodes[i], heartbeat);
}

/* ------------------------------------------------------------ state */

static int fail(struct raft *r, int rc)
{
	if (!r->err) {
		log_err("node %u: persisting raft state failed, node stops: %s", r->self,
		        cfs_strerror(rc));
		r->err = rc;
	}
	return rc;
}

static int persist_state(struct raft *r)
{
	int rc = r->ops->persist_state(r->ctx, r->term, r->voted_for);

	return rc < 0 ? fail(r, rc) : 0;
}

static void reset_election_timer(struct raft *r)
{
	r->election_deadline = r->now + r->election_ms + r->ops->random(r->ctx) % r->election_ms;
}

static void apply_committed(struct raft *r)
{
	while (r->applied < r->commit) {
		const struct raft_entry *e = entry_at(r, r->applied + 1);

		if (!e)
			break; /* not received yet (commit hint past the log) */
		r->applied++;
		r->ops->apply(r->ctx, e);
	}
}

static void set_commit(struct raft *r, uint64_t index)
{
	if (index > r->commit) {
		r->commit = index;
		apply_committed(r);
	}
}

/* Follower of term (>= r->term); leader may be 0 (unknown). */
static int step_down(struct raft *r, uint64_t term, uint32_t leader)
{
	bool was_leader = r->role == RAFT_LEADER;

	if (term > r->term) {
		r->term = term;
		r->voted_for = 0;
		if (persist_state(r) < 0)
			return r->err;
	}
	if (r->role != RAFT_FOLLOWER || r->leader != leader) {
		if (was_leader || leader)
			log_info("node %u: follower in term %llu, leader %u", r->self,
			         (unsigned long long)r->term, leader);
		reset_election_timer(r);
	}
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	if (was_leader)
		snap_cache_drop(r);
	return 0;
}

static int append_local(struct raft *r, uint16_t type, const uint8_t *data, uint32_t len)
{
	struct raft_entry e = { last_index(r) + 1, r->term, type, data, len };
	int rc;

	log_push(r, &e);
	rc = r->ops->persist_entries(r->ctx, entry_at(r, e.index), 1);
	return rc < 0 ? fail(r, rc) : 0;
}

static void maybe_commit(struct raft *r)
{
	uint64_t best = r->commit;
	uint32_t q = quorum(r);

	if (r->role != RAFT_LEADER)
		return;
	for (size_t i = 0; i < r->n_nodes; i++) {
		const struct peer *c = &r->nodes[i];
		uint64_t idx = c == r->me ? r->synced : c->match, t;
		uint32_t v = 0;

		if (!c->votes || idx <= best || !term_at(r, idx, &t) || t != r->term)
			continue;
		for (size_t j = 0; j < r->n_nodes; j++) {
			const struct peer *p = &r->nodes[j];

			if ((p == r->me ? r->synced : p->match) >= idx)
				v += p->votes;
		}
		if (v >= q)
			best = idx;
	}
	if (best > r->commit) {
		set_commit(r, best);
		for (size_t i = 0; i < r->n_nodes; i++)
			tell_commit(r, &r->nodes[i]);
	}
}

static int become_leader(struct raft *r)
{
	uint64_t last = last_index(r);

	log_info("node %u: leader for term %llu (votes %u, quorum %u)", r->self,
	         (unsigned long long)r->term, granted_votes(r), quorum(r));
	r->role = RAFT_LEADER;
	r->leader = r->self;
	r->became_leader_ms = r->now;
	r->heartbeat_due = r->now + r->heartbeat_ms;
	for (size_t i = 0; i < r->n_nodes; i++) {
		struct peer *p = &r->nodes[i];

		p->next = last + 1;
		p->match = 0;
		p->inflight = 0;
		p->probe = true;
		p->progressed = false;
		p->snap = false;
	}
	if (append_local(r, RAFT_ENTRY_NOOP, NULL, 0) < 0)
		return r->err;
	r->term_start = last + 1;
	replicate_all(r, true);
	maybe_commit(r);
	return 0;
}

static int start_election(struct raft *r)
{
	r->term++;
	r->voted_for = r->self;
	if (persist_state(r) < 0)
		return r->err;
	r->role = RAFT_CANDIDATE;
	r->leader = 0;
	for (size_t i = 0; i < r->n_nodes; i++)
		r->nodes[i].granted = &r->nodes[i] == r->me;
	reset_election_timer(r);
	if (granted_votes(r) >= quorum(r))
		return become_leader(r);
	send_vote_req(r, RAFT_MSG_VOTE_REQ, r->term);
	return 0;
}

static int start_prevote(struct raft *r)
{
	r->role = RAFT_PRECANDIDATE;
	r->leader = 0;
	r->has_contact = false;
	for (size_t i = 0; i < r->n_nodes; i++)
		r->nodes[i].granted = &r->nodes[i] == r->me;
	reset_election_timer(r);
	if (granted_votes(r) >= quorum(r))
		return start_election(r);
	send_vote_req(r, RAFT_MSG_PREVOTE_REQ, r->term + 1);
	return 0;
}

/* A voter whose term and log can still grow (they never pass the max:
 * only hostile peers get near it). */
static bool can_campaign(const struct raft *r)
{
	return is_voter(r) && r->term < RAFT_TERM_MAX && last_index(r) < RAFT_INDEX_MAX;
}

/* Is a candidate's log (last_index, last_term) at least as up to date? */
static bool log_ok(const struct raft *r, uint64_t li, uint64_t lt)
{
	uint64_t t = last_term(r);

	return lt > t || (lt == t && li >= last_index(r));
}

/* Leader lease: a leader, or a follower that heard from one recently,
 * ignores (pre)vote requests (PreVote + CheckQuorum: no disruption). */
static bool in_lease(const struct raft *r)
{
	if (r->role == RAFT_LEADER)
		return true;
	return r->leader && r->has_contact && r->now - r->contact_ms < r->election_ms;
}

/* ------------------------------------------------------------ receiving */

static int on_prevote_req(struct raft *r, struct peer *p, const struct raft_msg *m)
{
	bool grant = p->votes && !in_lease(r) && m->term > r->term &&
	             log_ok(r, m->last_index, m->last_term);

	send_vote_resp(r, p->id, RAFT_MSG_PREVOTE_RESP, grant ? m->term : r->term, grant);
	return 0;
}

static int on_vote_req(struct raft *r, struct peer *p, const struct raft_msg *m)
{
	bool grant = false;

	if (m->term > r->term) {
		if (in_lease(r))
			return 0;
		if (step_down(r, m->term, 0) < 0)
			return r->err;
	}
	if (m->term == r->term && p->votes &&
	    (r->role == RAFT_FOLLOWER || r->role == RAFT_PRECANDIDATE) &&
	    (r->voted_for == 0 || r->voted_for == p->id) &&
	    log_ok(r, m->last_index, m->last_term)) {
		grant = true;
		r->role = RAFT_FOLLOWER;
		r->leader = 0;
		if (r->voted_for != p->id) {
			r->voted_for = p->id;
			if (persist_state(r) < 0)
				return r->err;
		}
		reset_election_timer(r);
	}
	send_vote_resp(r, p->id, RAFT_MSG_VOTE_RESP, r->term, grant);
	return 0;
}

static int on_prevote_resp(struct raft *r, struct peer *p, const struct raft_msg *m)
{
	if (!m->granted) {
		if (m->term > r->term)
			return step_down(r, m->term, 0);
		return 0;
	}
	if (r->role != RAFT_PRECANDIDATE || m->term != r->term + 1)
		return 0;
	p->granted = true;
	if (granted_votes(r) >= quorum(r))
		return start_election(r);
	return 0;
}

static int on_vote_resp(struct raft *r, struct peer *p, const struct raft_msg *m)
{
	if (r->role != RAFT_CANDIDATE || m->term != r->term || !m->granted)
		return 0;
	p->granted = true;
	if (granted_votes(r) >= quorum(r))
		return become_leader(r);
	return 0;
}

/* The current leader p of this term talks to us. */
static int accept_leader(struct raft *r, struct peer *p)
{
	if (step_down(r, r->term, p->id) < 0)
		return r->err;
	r->has_contact = true;
	r->contact_ms = r->now;
	reset_election_timer(r);
	return 0;
}

static int on_append(struct raft *r, struct peer *p, const struct raft_msg *m)
{
	uint64_t prev = m->prev_index, idx, match, t = 0, first_new = 0;
	size_t off = 0, n_new = 0;
	struct raft_entry e;
	int rc;

	if (m->term < r->term) {
		send_append_resp(r, p->id, false, 0, 0);
		return 0;
	}
	if (r->role == RAFT_LEADER) {
		/* Two leaders of one term: only possible after raft_set_expected()
		 * let a minority elect one.  The caller decides who yields. */
		r->split_brains++;
		r->split_peer = p->id;
		log_every(5, LOG_LVL_ERR, "node %u: node %u claims to lead term %llu too", r->self,
		          p->id, (unsigned long long)m->term);
		return 0;
	}
	if (accept_leader(r, p) < 0)
		return r->err;
	if (prev > last_index(r)) {
		send_append_resp(r, p->id, false, last_index(r) + 1, 0);
		return 0;
	}
	if (prev > r->snap_index) {
		term_at(r, prev, &t);
		if (t != m->prev_term) {
			uint64_t hint = prev;

			/* first index of the conflicting term, never below the commit */
			while (hint - 1 > r->snap_index && hint - 1 > r->commit &&
			       entry_at(r, hint - 1)->term == t)
				hint--;
			send_append_resp(r, p->id, false, hint, t);
			return 0;
		}
	} else if (prev == r->snap_index && prev && m->prev_term != r->snap_term) {
		r->conflicts++;
		r->conflict_leader = p->id;
		return 0; /* contradicts a committed entry: not a real leader */
	}
	idx = prev;
	for (uint32_t i = 0; i < m->n_entries; i++) {
		idx++;
		raft_msg_entry(m, &off, idx, &e);
		if (idx <= r->snap_index)
			continue;
		if (idx <= last_index(r)) {
			if (entry_at(r, idx)->term == e.term)
				continue;
			if (idx <= r->commit) {
				r->conflicts++;
				r->conflict_leader = p->id;
				log_every(5, LOG_LVL_ERR,
				          "node %u: leader %u rewrites committed entry %llu",
				          r->self, p->id, (unsigned long long)idx);
				return 0;
			}
			log_cut(r, idx - 1);
			rc = r->ops->persist_trunc(r->ctx, idx - 1);
			if (rc < 0)
				return fail(r, rc);
		}
		if (!n_new)
			first_new = idx;
		log_push(r, &e);
		n_new++;
	}
	if (n_new) {
		rc = r->ops->persist_entries(r->ctx, entry_at(r, first_new), n_new);
		if (rc < 0)
			return fail(r, rc);
	}
	match = MAX(idx, r->snap_index);
	if (!m->quiet)
		send_append_resp(r, p->id, true, match, 0);
	set_commit(r, MIN(m->commit, match));
	return 0;
}

static int on_append_resp(struct raft *r, struct peer *p, const struct raft_msg *m)
{
	uint64_t last = last_index(r), next;

	if (r->role != RAFT_LEADER || m->term != r->term || p->snap)
		return 0;
	if (m->success) {
		if (m->index > last)
			return 0; /* not something we sent */
		/* Only an answer that moves match counts: a heartbeat's answer
		 * (index == match) must neither free an in-flight slot nor count
		 * as progress, or a lost acknowledgement is never resent. */
		if (m->index > p->match) {
			p->match = m->index;
			p->progressed = true;
			if (p->inflight)
				p->inflight--;
		}
		if (p->probe) {
			p->probe = false;
			p->inflight = 0;
			p->next = p->match + 1;
		} else if (p->next <= p->match) {
			p->next = p->match + 1;
		}
		maybe_commit(r);
		replicate(r, p, false);
		tell_commit(r, p);
		return 0;
	}
	next = m->index;
	if (m->conflict_term) {
		/* after the last entry of that term, if we have the term */
		for (uint64_t i = last; i > r->snap_index; i--) {
			uint64_t t = entry_at(r, i)->term;

			if (t == m->conflict_term) {
				next = i + 1;
				break;
			}
			if (t < m->conflict_term)
				break;
		}
	}
	next = MAX(next, p->match + 1);
	next = MIN(next, last + 1);
	p->next = next;
	p->probe = true;
	p->inflight = 0;
	replicate(r, p, false);
	return 0;
}

static int on_snap(struct raft *r, struct peer *p, const struct raft_msg *m)
{
	uint64_t t;
	int rc;

	if (m->term < r->term) {
		send_snap_resp(r, p->id, m->snap_index, 0, false);
		return 0;
	}
	if (r->role == RAFT_LEADER)
		return 0;
	if (accept_leader(r, p) < 0)
		return r->err;
	if (m->snap_index <= r->commit || (term_at(r, m->snap_index, &t) && t == m->snap_term)) {
		/* our log already holds it: committed entries are the same */
		set_commit(r, m->snap_index);
		send_snap_resp(r, p->id, m->snap_index, m->total, true);
		return 0;
	}
	if (!r->snap_in_active || r->snap_in_index != m->snap_index ||
	    r->snap_in_term != m->snap_term || r->snap_in_total != m->total || m->offset == 0) {
		buf_reset(&r->snap_in);
		r->snap_in_active = true;
		r->snap_in_index = m->snap_index;
		r->snap_in_term = m->snap_term;
		r->snap_in_total = m->total;
	}
	if (m->offset > r->snap_in.len) {
		send_snap_resp(r, p->id, m->snap_index, r->snap_in.len, false);
		return 0;
	}
	r->snap_in.len = (size_t)m->offset;
	buf_put(&r->snap_in, m->data, m->len);
	if (!m->last) {
		send_snap_resp(r, p->id, m->snap_index, r->snap_in.len, false);
		return 0;
	}
	rc = r->ops->snapshot_install(r->ctx, r->snap_in.p, r->snap_in.len, m->snap_index,
	                              m->snap_term);
	buf_free(&r->snap_in);
	r->snap_in_active = false;
	if (rc < 0) {
		log_err("node %u: installing snapshot at %llu failed: %s", r->self,
		        (unsigned long long)m->snap_index, cfs_strerror(rc));
		return 0;
	}
	log_info("node %u: installed snapshot at %llu (term %llu) from node %u", r->self,
	         (unsigned long long)m->snap_index, (unsigned long long)m->snap_term, p->id);
	log_clear(r);
	r->snap_index = m->snap_index;
	r->snap_term = m->snap_term;
	r->commit = r->applied = r->synced = m->snap_index;
	send_snap_resp(r, p->id, m->snap_index, m->total, true);
	return 0;
}

static int on_snap_resp(struct raft *r, struct peer *p, const struct raft_msg *m)
{
	if (r->role != RAFT_LEADER || m->term != r->term || !p->snap ||
	    m->snap_index != p->snap_index)
		return 0;
	p->progressed = true;
	if (m->last) {
		p->snap = false;
		if (m->snap_index > p->match)
			p->match = m->snap_index;
		p->next = p->match + 1;
		p->probe = true;
		p->inflight = 0;
		maybe_commit(r);
		replicate(r, p, false);
		return 0;
	}
	p->snap_offset = m->offset;
	send_snap_chunk(r, p);
	return 0;
}

int raft_recv(struct raft *r, uint32_t from, const uint8_t *msg, size_t len, uint64_t now_ms)
{
	struct raft_msg m;
	struct peer *p;
	int rc;

	if (r->err)
		return r->err;
	rc = raft_msg_decode(msg, len, &m);
	if (rc < 0)
		return rc;
	p = peer_find(r, from);
	if (!p || p == r->me)
		return -EINVAL;
	if (!r->started)
		return 0;
	if (now_ms > r->now)
		r->now = now_ms;
	/* a higher term: follow it, except for pre-votes and for vote
	 * requests during a lease (handled below) */
	if (m.term > r->term && m.type != RAFT_MSG_PREVOTE_REQ && m.type != RAFT_MSG_PREVOTE_RESP &&
	    m.type != RAFT_MSG_VOTE_REQ) {
		bool from_leader = m.type == RAFT_MSG_APPEND || m.type == RAFT_MSG_SNAP;

		if (step_down(r, m.term, from_leader ? from : 0) < 0)
			return r->err;
	}
	if (m.term >= r->term) {
		p->heard = true;
		p->last_recv_ms = r->now;
	}
	switch (m.type) {
	case RAFT_MSG_PREVOTE_REQ:
		rc = on_prevote_req(r, p, &m);
		break;
	case RAFT_MSG_PREVOTE_RESP:
		rc = on_prevote_resp(r, p, &m);
		break;
	case RAFT_MSG_VOTE_REQ:
		rc = on_vote_req(r, p, &m);
		break;
	case RAFT_MSG_VOTE_RESP:
		rc = on_vote_resp(r, p, &m);
		break;
	case RAFT_MSG_APPEND:
		rc = on_append(r, p, &m);
		break;
	case RAFT_MSG_APPEND_RESP:
		rc = on_append_resp(r, p, &m);
		break;
	case RAFT_MSG_SNAP:
		rc = on_snap(r, p, &m);
		break;
	default:
		rc = on_snap_resp(r, p, &m);
		break;
	}
	return rc < 0 ? rc : r->err;
}

/* ------------------------------------------------------------ public */

static int check_nodes(const struct raft_node_cfg *nodes, size_t n)
{
	if (!nodes || n == 0 || n > RAFT_NODES_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!nodes[i].id)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (nodes[j].id == nodes[i].id)
				return -EINVAL;
	}
	return 0;
}

/* Install nodes, keeping the state of those already known. */
static void set_nodes(struct raft *r, const struct raft_node_cfg *nodes, size_t n)
{
	struct peer old[RAFT_NODES_MAX];
	size_t n_old = r->n_nodes;
	uint32_t sum = 0;

	memcpy(old, r->nodes, sizeof(old));
	memset(r->nodes, 0, sizeof(r->nodes));
	r->me = NULL;
	for (size_t i = 0; i < n; i++) {
		struct peer *p = &r->nodes[i];

		for (size_t j = 0; j < n_old; j++)
			if (old[j].id == nodes[i].id)
				*p = old[j];
		if (!p->id) {
			p->id = nodes[i].id;
			p->next = last_index(r) + 1;
			p->probe = true;
		}
		p->votes = nodes[i].votes;
		if (p->id == r->self)
			r->me = p;
		sum += p->votes;
	}
	r->n_nodes = n;
	r->expected_base = r->cfg_expected ? r->cfg_expected : sum;
}

int raft_new(const struct raft_cfg *cfg, const struct raft_ops *ops, void *ctx, struct raft **out)
{
	struct raft *r;
	bool self_found = false;

	*out = NULL;
	if (check_nodes(cfg->nodes, cfg->n_nodes) < 0 || !cfg->self || !cfg->heartbeat_ms ||
	    cfg->election_ms <= cfg->heartbeat_ms)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_nodes; i++)
		self_found |= cfg->nodes[i].id == cfg->self;
	if (!self_found)
		return -EINVAL;
	r = xcalloc(1, sizeof(*r));
	r->ops = ops;
	r->ctx = ctx;
	r->self = cfg->self;
	r->heartbeat_ms = cfg->heartbeat_ms;
	r->election_ms = cfg->election_ms;
	r->cfg_expected = cfg->expected_votes;
	r->quorum_fixed = cfg->quorum;
	set_nodes(r, cfg->nodes, cfg->n_nodes);
	*out = r;
	return 0;
}

void raft_free(struct raft *r)
{
	if (!r)
		return;
	log_clear(r);
	free(r->log);
	buf_free(&r->tx);
	buf_free(&r->snap_out);
	buf_free(&r->snap_in);
	free(r);
}

int raft_restore_snapshot(struct raft *r, uint64_t index, uint64_t term)
{
	if (r->started)
		return -EBUSY;
	if ((index == 0) != (term == 0) || index < r->snap_index || index > RAFT_INDEX_MAX ||
	    term > RAFT_TERM_MAX)
		return -EINVAL;
	if (index <= last_index(r)) {
		uint64_t t;

		if (!(term_at(r, index, &t) && t == term))
			log_clear(r);
	} else {
		log_clear(r);
	}
	if (index > r->snap_index)
		log_drop_front(r, index);
	r->snap_index = index;
	r->snap_term = term;
	r->commit = r->applied = r->synced = index;
	return 0;
}

int raft_restore_state(struct raft *r, uint64_t term, uint32_t voted_for)
{
	if (r->started)
		return -EBUSY;
	if (term < r->term || term > RAFT_TERM_MAX)
		return -EINVAL;
	r->term = term;
	r->voted_for = voted_for;
	return 0;
}

int raft_restore_entry(struct raft *r, const struct raft_entry *e)
{
	if (r->started)
		return -EBUSY;
	if (e->index == 0 || e->index > RAFT_INDEX_MAX || e->term == 0 || e->term > RAFT_TERM_MAX ||
	    !entry_type_ok(e->type, e->len) || e->index > last_index(r) + 1 ||
	    e->term < (e->index - 1 > r->snap_index ? entry_at(r, e->index - 1)->term : 0))
		return -EINVAL;
	if (e->index <= r->snap_index)
		return 0;
	log_cut(r, e->index - 1);
	log_push(r, e);
	return 0;
}

int raft_restore_trunc(struct raft *r, uint64_t last_kept)
{
	if (r->started)
		return -EBUSY;
	if (last_kept >= r->snap_index)
		log_cut(r, last_kept);
	return 0;
}

int raft_start(struct raft *r, uint64_t commit_hint, uint64_t now_ms)
{
	if (r->started)
		return -EBUSY;
	r->started = true;
	r->now = now_ms;
	r->synced = last_index(r);
	if (r->term < last_term(r)) {
		/* a journal without its STATE: never below the log, no vote */
		r->term = last_term(r);
		r->voted_for = 0;
	}
	set_commit(r, MIN(commit_hint, last_index(r)));
	reset_election_timer(r);
	if (can_campaign(r) && r->me->votes >= quorum(r))
		return start_prevote(r);
	return 0;
}

int raft_tick(struct raft *r, uint64_t now_ms)
{
	if (r->err)
		return r->err;
	if (!r->started)
		return 0;
	if (now_ms > r->now)
		r->now = now_ms;
	if (r->expected_override && active_votes(r, r->now) >= r->expected_base) {
		log_info("node %u: expected votes back to %u, all votes are present", r->self,
		         r->expected_base);
		r->expected_override = 0;
	}
	if (r->role == RAFT_LEADER) {
		if (r->now - r->became_leader_ms >= r->election_ms &&
		    active_votes(r, r->now) < quorum(r)) {
			log_info("node %u: leader of term %llu lost the quorum, stepping down",
			         r->self, (unsigned long long)r->term);
			return step_down(r, r->term, 0);
		}
		if (r->now >= r->heartbeat_due) {
			r->heartbeat_due = r->now + r->heartbeat_ms;
			replicate_all(r, true);
		}
		maybe_commit(r); /* the quorum may have dropped (expected votes) */
		if (r->snap_out_valid) {
			bool used = false;

			for (size_t i = 0; i < r->n_nodes; i++)
				used |= r->nodes[i].snap;
			if (!used)
				snap_cache_drop(r);
		}
		return r->err;
	}
	if (r->snap_out_valid)
		snap_cache_drop(r);
	if (r->now >= r->election_deadline) {
		if (can_campaign(r))
			return start_prevote(r);
		reset_election_timer(r);
	}
	return r->err;
}

int raft_propose(struct raft *r, const uint8_t *data, uint32_t len, uint64_t *index)
{
	if (r->err)
		return r->err;
	if (r->role != RAFT_LEADER)
		return -ENOTCONN;
	if (len == 0)
		return -EINVAL;
	if (len > RAFT_ENTRY_MAX)
		return -EFBIG;
	if (last_index(r) >= RAFT_INDEX_MAX)
		return -ENOSPC;
	if (append_local(r, RAFT_ENTRY_NORMAL, data, len) < 0)
		return r->err;
	if (index)
		*index = last_index(r);
	if (!r->batching)
		replicate_all(r, false);
	return 0;
}

void raft_set_batching(struct raft *r, bool on)
{
	r->batching = on;
}

void raft_flush(struct raft *r)
{
	if (r->role == RAFT_LEADER && !r->err)
		replicate_all(r, false);
}

int raft_synced(struct raft *r, uint64_t index)
{
	if (r->err)
		return r->err;
	index = MIN(index, last_index(r));
	if (index > r->synced) {
		r->synced = index;
		maybe_commit(r);
	}
	return r->err;
}

int raft_compact(struct raft *r, uint64_t index)
{
	uint64_t t = 0;

	if (index <= r->snap_index)
		return 0;
	if (index > r->applied)
		return -EINVAL;
	term_at(r, index, &t);
	log_drop_front(r, index);
	r->snap_index = index;
	r->snap_term = t;
	return 0;
}

int raft_set_nodes(struct raft *r, const struct raft_node_cfg *nodes, size_t n)
{
	int rc = check_nodes(nodes, n);

	if (rc < 0)
		return rc;
	set_nodes(r, nodes, n);
	if (r->role != RAFT_FOLLOWER && !is_voter(r))
		return step_down(r, r->term, 0);
	if (r->role == RAFT_LEADER)
		maybe_commit(r);
	return r->err;
}

int raft_set_expected(struct raft *r, uint32_t votes)
{
	r->expected_override = votes;
	if (votes)
		log_warn("node %u: expected votes set to %u (unsafe)", r->self, votes);
	return 0;
}

bool raft_quorate(const struct raft *r, uint64_t now_ms)
{
	if (!r->started || r->err)
		return false;
	if (r->role == RAFT_LEADER)
		return active_votes(r, now_ms) >= quorum_at(r, now_ms);
	return r->role == RAFT_FOLLOWER && r->leader && r->has_contact &&
	       now_ms - r->contact_ms < r->election_ms;
}

bool raft_leader_ready(const struct raft *r)
{
	return r->role == RAFT_LEADER && r->commit >= r->term_start;
}

uint32_t raft_leader(const struct raft *r)
{
	return r->leader;
}

uint64_t raft_term(const struct raft *r)
{
	return r->term;
}

uint64_t raft_commit_index(const struct raft *r)
{
	return r->commit;
}

uint64_t raft_applied_index(const struct raft *r)
{
	return r->applied;
}

uint64_t raft_last_index(const struct raft *r)
{
	return last_index(r);
}

uint64_t raft_snapshot_index(const struct raft *r)
{
	return r->snap_index;
}

enum raft_role raft_role(const struct raft *r)
{
	return r->role;
}

const char *raft_role_name(enum raft_role role)
{
	switch (role) {
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_PRECANDIDATE:
		return "precandidate";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	}
	return "?";
}

int raft_error(const struct raft *r)
{
	return r->err;
}

const struct raft_entry *raft_entry_get(const struct raft *r, uint64_t index)
{
	return entry_at(r, index);
}

void raft_status(const struct raft *r, uint64_t now_ms, struct raft_status *st)
{
	memset(st, 0, sizeof(*st));
	st->role = r->role;
	st->term = r->term;
	st->leader = r->leader;
	st->self = r->self;
	st->quorate = raft_quorate(r, now_ms);
	st->quorum = quorum_at(r, now_ms);
	st->expected_votes = expected_votes(r);
	st->expected_override = r->expected_override;
	st->split_brains = r->split_brains;
	st->split_peer = r->split_peer;
	st->conflicts = r->conflicts;
	st->conflict_leader = r->conflict_leader;
	st->active_votes = active_votes(r, now_ms);
	st->commit_index = r->commit;
	st->applied_index = r->applied;
	st->last_index = last_index(r);
	st->synced_index = r->synced;
	st->snapshot_index = r->snap_index;
	st->n_nodes = r->n_nodes;
	for (size_t i = 0; i < r->n_nodes; i++) {
		const struct peer *p = &r->nodes[i];
		struct raft_node_status *s = &st->nodes[i];

		st->total_votes += p->votes;
		s->id = p->id;
		s->votes = p->votes;
		s->active = peer_active(r, p, now_ms);
		s->last_recv_ms = p->heard ? p->last_recv_ms : 0;
		if (r->role == RAFT_LEADER) {
			s->match_index = p == r->me ? r->synced : p->match;
			s->next_index = p == r->me ? last_index(r) + 1 : p->next;
			s->snapshot = p->snap;
		}
	}
}
