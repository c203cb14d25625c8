/* tests/unit/test_raft_sim.c - deterministic simulation of net/raft.
 *
 * 3 or 5 raft nodes in one process against a simulated clock and network:
 * random delay (so reordering), loss, duplication, partitions and heals,
 * crash-restarts, proposals at random nodes, log compaction and snapshot
 * transfer.  Persistence is modelled as the journal is: persist_* queue
 * records, a "sync" (one fsync) makes them durable and only then releases
 * the messages sent meanwhile (group commit); a crash keeps a random
 * prefix of the unsynced records and loses the held messages.
 *
 * Checked after every event:
 *   - election safety: at most one leader per term;
 *   - log matching: every (index, term) ever persisted by any node has the
 *     same chained hash of the log up to it;
 *   - state machine safety: every node applies, in order, a prefix of one
 *     global record of committed (index, term, data); snapshots installed
 *     are that prefix too;
 *   - leader completeness: a new leader of term T holds every entry that
 *     was committed before any node reached term T;
 * and at the end, liveness: after everything heals and restarts, a leader
 * commits a new proposal on every node within LIVE_MS.
 *
 * Environment: CFS_SIM_SEEDS=N runs seeds 1..N (default DEFAULT_SEEDS);
 * CFS_SIM_SEED=S runs seed S alone and says what it does (CFS_SIM_VERBOSE=1
 * for every event).  A failure prints the seed and the command to replay it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "net/raft.h"
#include "core/log.h"
#include "core/util.h"
#include "tests/t.h"

#define DEFAULT_SEEDS 2000
#define NODES_MAX     5
#define HEARTBEAT_MS  20
#define ELECTION_MS   100
#define TICK_MS       5
#define CHAOS_MS      2000 /* faults happen during this time */
#define LIVE_MS       3000 /* then: healed, must commit within this */
#define PAD_MAX       (600 * 1024)

enum { EV_MSG, EV_TICK, EV_SYNC, EV_RESTART, EV_CHAOS };
enum { REC_STATE, REC_ENTRY, REC_TRUNC, REC_HINT };

struct rec {
	int kind;
	uint64_t a; /* term / index / last kept / hint */
	uint32_t vote;
	struct raft_entry e; /* REC_ENTRY, data owned */
};

struct ev {
	uint64_t t;
	uint64_t seq;
	int kind;
	int node;
	uint32_t epoch; /* node's epoch when scheduled (EV_TICK, EV_SYNC) */
	int from;
	uint8_t *p;
	size_t len;
};

struct held {
	int to;
	uint8_t *p;
	size_t len;
};

struct sim;

struct node {
	struct sim *sim;
	int idx;
	uint32_t id;
	struct raft *r;
	bool up;
	uint32_t epoch; /* bumped at each crash: stale events are ignored */
	uint64_t rng;
	/* durable */
	uint64_t d_term;
	uint32_t d_vote;
	uint64_t d_hint;
	uint64_t d_snap_index, d_snap_term, d_snap_hash;
	struct raft_entry *d_log; /* d_snap_index + 1 ... */
	size_t d_len, d_cap;
	/* queued, not durable */
	struct rec *pend;
	size_t n_pend, cap_pend;
	uint64_t persisted_last; /* last index passed to persist_* */
	struct held *out;
	size_t n_out, cap_out;
	bool sync_scheduled;
	/* state machine: a hash chain over applied entries */
	uint64_t sm_index, sm_term, sm_hash;
	/* chained hashes of the log as persisted: chain[i] for i <= mir_last */
	uint64_t *chain;
	size_t chain_cap;
	uint64_t mir_last;
	uint64_t mir_base; /* the snapshot the mirror starts from */
	uint64_t proposals;
	enum raft_role last_role;
};

struct committed {
	uint64_t term;
	uint64_t data_hash;
	uint64_t chain;
	uint64_t max_term_at_commit;
};

struct sim {
	uint64_t seed;
	uint64_t rng;
	bool verbose;
	int n;
	struct node nodes[NODES_MAX];
	struct raft_node_cfg cfg[NODES_MAX];
	uint64_t now;
	uint64_t seq;
	struct ev **heap;
	size_t n_heap, cap_heap;
	int group[NODES_MAX];
	unsigned loss_pct, dup_pct, delay_max;
	unsigned sync_max; /* ms an fsync may take */
	unsigned churn;    /* 1..4: how often partitions and crashes come */
	bool chaos;
	/* checks */
	char fail[512];
	uint32_t *leader_of_term;
	size_t n_terms;
	struct committed *glob; /* glob[i] for committed index i, [0] = base */
	size_t n_glob, cap_glob;
	uint64_t *kt_key_i, *kt_key_t, *kt_val; /* (index, term) -> chain */
	size_t kt_cap, kt_n;
	uint64_t max_term;
	/* liveness */
	uint64_t live_index;
	uint64_t live_term;
	uint64_t live_hash;
	bool live_done;
	/* statistics */
	uint64_t n_msgs, n_crashes, n_snaps, n_elections;
};

/* ------------------------------------------------------------ helpers */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct sim *s, uint64_t n)
{
	return n ? splitmix(&s->rng) % n : 0;
}

static bool chance(struct sim *s, unsigned pct_x10)
{
	return rnd(s, 1000) < pct_x10;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t mix(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t s = a ^ (b * 0x9e3779b97f4a7c15ull) ^ (c * 0xc2b2ae3d27d4eb4full);

	return splitmix(&s);
}

static void sim_failf(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sim_failf(struct sim *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->fail[0])
		return;
	n = snprintf(s->fail, sizeof(s->fail), "t=%llu: ", (unsigned long long)s->now);
	va_start(ap, fmt);
	vsnprintf(s->fail + n, sizeof(s->fail) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void vlog(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->verbose)
		return;
	printf("%6llu ", (unsigned long long)s->now);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ------------------------------------------------------------ events */

static bool ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void ev_push(struct sim *s, struct ev *e)
{
	size_t i;

	e->seq = s->seq++;
	if (s->n_heap == s->cap_heap) {
		s->cap_heap = s->cap_heap ? s->cap_heap * 2 : 256;
		s->heap = xrealloc(s->heap, s->cap_heap * sizeof(*s->heap));
	}
	i = s->n_heap++;
	while (i && ev_less(e, s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = e;
}

static struct ev *ev_pop(struct sim *s)
{
	struct ev *top = s->heap[0], *last = s->heap[--s->n_heap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->n_heap)
			break;
		if (c + 1 < s->n_heap && ev_less(s->heap[c + 1], s->heap[c]))
			c++;
		if (!ev_less(s->heap[c], last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->n_heap)
		s->heap[i] = last;
	return top;
}

static void ev_free(struct ev *e)
{
	free(e->p);
	free(e);
}

static void schedule(struct sim *s, uint64_t t, int kind, int node)
{
	struct ev *e = xcalloc(1, sizeof(*e));

	e->t = t;
	e->kind = kind;
	e->node = node;
	e->epoch = node >= 0 ? s->nodes[node].epoch : 0;
	ev_push(s, e);
}

/* ------------------------------------------------------------ checks */

static void kt_check(struct sim *s, uint64_t index, uint64_t term, uint64_t chain, int node)
{
	size_t i;

	if (s->kt_n * 2 >= s->kt_cap) {
		uint64_t *ki = s->kt_key_i, *kt = s->kt_key_t, *kv = s->kt_val;
		size_t old = s->kt_cap;

		s->kt_cap = old ? old * 2 : 1024;
		s->kt_key_i = xcalloc(s->kt_cap, sizeof(uint64_t));
		s->kt_key_t = xcalloc(s->kt_cap, sizeof(uint64_t));
		s->kt_val = xcalloc(s->kt_cap, sizeof(uint64_t));
		s->kt_n = 0;
		for (size_t j = 0; j < old; j++)
			if (ki[j])
				kt_check(s, ki[j], kt[j], kv[j], -1);
		free(ki);
		free(kt);
		free(kv);
	}
	i = (size_t)(mix(index, term, 0) & (s->kt_cap - 1));
	while (s->kt_key_i[i]) {
		if (s->kt_key_i[i] == index && s->kt_key_t[i] == term) {
			if (s->kt_val[i] != chain)
				sim_failf(s,
				          "log matching: node %d has a different log up to entry "
				          "%llu of term %llu than another node",
				          node + 1, (unsigned long long)index,
				          (unsigned long long)term);
			return;
		}
		i = (i + 1) & (s->kt_cap - 1);
	}
	s->kt_key_i[i] = index;
	s->kt_key_t[i] = term;
	s->kt_val[i] = chain;
	s->kt_n++;
}

static uint64_t glob_chain(struct sim *s, uint64_t index)
{
	return index < s->n_glob ? s->glob[index].chain : 0;
}

static void mirror_set(struct node *nd, uint64_t index, uint64_t chain)
{
	if (index >= nd->chain_cap) {
		size_t cap = nd->chain_cap ? nd->chain_cap : 256;

		while (cap <= index)
			cap *= 2;
		nd->chain = xrealloc(nd->chain, cap * sizeof(uint64_t));
		nd->chain_cap = cap;
	}
	nd->chain[index] = chain;
}

/* The node's log now starts after a snapshot at index (the committed
 * prefix): its chain there is the global one. */
static void mirror_reset(struct sim *s, struct node *nd, uint64_t index)
{
	mirror_set(nd, index, glob_chain(s, index));
	nd->mir_last = index;
	nd->mir_base = index;
}

static void mirror_append(struct sim *s, struct node *nd, const struct raft_entry *e)
{
	uint64_t c;

	if (e->index != nd->mir_last + 1) {
		sim_failf(s, "node %d persisted entry %llu after %llu", nd->idx + 1,
		          (unsigned long long)e->index, (unsigned long long)nd->mir_last);
		return;
	}
	c = mix(nd->chain[nd->mir_last], e->term, hash_bytes(e->data, e->len) ^ e->type);
	mirror_set(nd, e->index, c);
	nd->mir_last = e->index;
	kt_check(s, e->index, e->term, c, nd->idx);
}

static void glob_reserve(struct sim *s, size_t n)
{
	if (n > s->cap_glob) {
		s->cap_glob = MAX(n, s->cap_glob * 2);
		s->glob = xrealloc(s->glob, s->cap_glob * sizeof(*s->glob));
	}
}

/* ------------------------------------------------------------ persistence */

static void disk_push(struct node *nd, const struct raft_entry *e)
{
	struct raft_entry *d;

	if (nd->d_len == nd->d_cap) {
		nd->d_cap = nd->d_cap ? nd->d_cap * 2 : 64;
		nd->d_log = xrealloc(nd->d_log, nd->d_cap * sizeof(*nd->d_log));
	}
	d = &nd->d_log[nd->d_len++];
	*d = *e;
	d->data = e->len ? xmemdup(e->data, e->len) : NULL;
}

static void disk_cut(struct node *nd, uint64_t last_kept)
{
	while (nd->d_len && nd->d_snap_index + nd->d_len > last_kept)
		free((void *)nd->d_log[--nd->d_len].data);
}

/* Drop durable entries up to index (the snapshot covers them). */
static void disk_drop_front(struct node *nd, uint64_t index)
{
	size_t k = (size_t)MIN((uint64_t)nd->d_len, index - nd->d_snap_index);

	for (size_t i = 0; i < k; i++)
		free((void *)nd->d_log[i].data);
	if (k)
		memmove(nd->d_log, nd->d_log + k, (nd->d_len - k) * sizeof(*nd->d_log));
	nd->d_len -= k;
}

static void rec_make_durable(struct sim *s, struct node *nd, struct rec *rc)
{
	switch (rc->kind) {
	case REC_STATE:
		nd->d_term = rc->a;
		nd->d_vote = rc->vote;
		break;
	case REC_ENTRY:
		if (rc->e.index <= nd->d_snap_index)
			break;
		if (rc->e.index != nd->d_snap_index + nd->d_len + 1) {
			sim_failf(s, "node %d: journal gap: entry %llu after %llu", nd->idx + 1,
			          (unsigned long long)rc->e.index,
			          (unsigned long long)(nd->d_snap_index + nd->d_len));
			break;
		}
		disk_push(nd, &rc->e);
		break;
	case REC_TRUNC:
		/* A compaction may have made a later snapshot durable first
		 * (queued before it, this record lies in the older journal
		 * generation): what it cuts below the snapshot is covered. */
		disk_cut(nd, MAX(rc->a, nd->d_snap_index));
		break;
	case REC_HINT:
		nd->d_hint = rc->a;
		break;
	}
}

static void rec_free(struct rec *rc)
{
	if (rc->kind == REC_ENTRY)
		free((void *)rc->e.data);
}

static void pend_push(struct node *nd, const struct rec *rc)
{
	if (nd->n_pend == nd->cap_pend) {
		nd->cap_pend = nd->cap_pend ? nd->cap_pend * 2 : 32;
		nd->pend = xrealloc(nd->pend, nd->cap_pend * sizeof(*nd->pend));
	}
	nd->pend[nd->n_pend++] = *rc;
}

/* Make the first k queued records durable, drop the rest. */
static void pend_flush(struct sim *s, struct node *nd, size_t k)
{
	for (size_t i = 0; i < nd->n_pend; i++) {
		if (i < k)
			rec_make_durable(s, nd, &nd->pend[i]);
		rec_free(&nd->pend[i]);
	}
	nd->n_pend = 0;
}

static void need_sync(struct sim *s, struct node *nd)
{
	if (nd->sync_scheduled || !nd->up)
		return;
	nd->sync_scheduled = true;
	schedule(s, s->now + rnd(s, s->sync_max + 1), EV_SYNC, nd->idx);
}

/* ------------------------------------------------------------ raft ops */

static void op_send(void *ctx, uint32_t to, const uint8_t *msg, size_t len)
{
	struct node *nd = ctx;
	struct sim *s = nd->sim;
	struct held *h;

	if (to < 1 || to > (uint32_t)s->n || to == nd->id) {
		sim_failf(s, "node %d sends to bad node %u", nd->idx + 1, to);
		return;
	}
	if (nd->n_out == nd->cap_out) {
		nd->cap_out = nd->cap_out ? nd->cap_out * 2 : 32;
		nd->out = xrealloc(nd->out, nd->cap_out * sizeof(*nd->out));
	}
	h = &nd->out[nd->n_out++];
	h->to = (int)to - 1;
	h->p = xmemdup(msg, len);
	h->len = len;
	need_sync(s, nd);
}

static int op_persist_state(void *ctx, uint64_t term, uint32_t voted_for)
{
	struct node *nd = ctx;
	struct rec rc = { .kind = REC_STATE, .a = term, .vote = voted_for };

	pend_push(nd, &rc);
	need_sync(nd->sim, nd);
	return 0;
}

static int op_persist_entries(void *ctx, const struct raft_entry *e, size_t n)
{
	struct node *nd = ctx;
	struct sim *s = nd->sim;

	for (size_t i = 0; i < n; i++) {
		struct rec rc = { .kind = REC_ENTRY, .e = e[i] };

		if (e[i].index != nd->persisted_last + 1)
			sim_failf(s, "node %d: persist_entries %llu after %llu", nd->idx + 1,
			          (unsigned long long)e[i].index,
			          (unsigned long long)nd->persisted_last);
		rc.e.data = e[i].len ? xmemdup(e[i].data, e[i].len) : NULL;
		pend_push(nd, &rc);
		nd->persisted_last = e[i].index;
		mirror_append(s, nd, &e[i]);
	}
	need_sync(s, nd);
	return 0;
}

static int op_persist_trunc(void *ctx, uint64_t last_kept)
{
	struct node *nd = ctx;
	struct sim *s = nd->sim;
	struct rec rc = { .kind = REC_TRUNC, .a = last_kept };

	if (last_kept < raft_commit_index(nd->r))
		sim_failf(s, "node %d truncates its log to %llu below commit %llu", nd->idx + 1,
		          (unsigned long long)last_kept,
		          (unsigned long long)raft_commit_index(nd->r));
	pend_push(nd, &rc);
	nd->persisted_last = MIN(nd->persisted_last, last_kept);
	nd->mir_last = MIN(nd->mir_last, last_kept);
	need_sync(s, nd);
	return 0;
}

static void op_apply(void *ctx, const struct raft_entry *e)
{
	struct node *nd = ctx;
	struct sim *s = nd->sim;
	uint64_t dh = hash_bytes(e->data, e->len) ^ e->type;

	if (e->index != nd->sm_index + 1) {
		sim_failf(s, "node %d applies %llu after %llu", nd->idx + 1,
		          (unsigned long long)e->index, (unsigned long long)nd->sm_index);
		return;
	}
	if (e->index < s->n_glob) {
		struct committed *c = &s->glob[e->index];

		if (c->term != e->term || c->data_hash != dh)
			sim_failf(s,
			          "node %d applies entry %llu term %llu, but term %llu was "
			          "committed there",
			          nd->idx + 1, (unsigned long long)e->index,
			          (unsigned long long)e->term, (unsigned long long)c->term);
	} else if (e->index == s->n_glob) {
		struct committed *c;

		glob_reserve(s, s->n_glob + 1);
		c = &s->glob[s->n_glob++];
		c->term = e->term;
		c->data_hash = dh;
		c->chain = mix(s->glob[e->index - 1].chain, e->term, dh);
		c->max_term_at_commit = s->max_term;
	} else {
		sim_failf(s, "node %d applies %llu beyond the committed record %zu", nd->idx + 1,
		          (unsigned long long)e->index, s->n_glob);
	}
	nd->sm_index = e->index;
	nd->sm_term = e->term;
	nd->sm_hash = mix(nd->sm_hash, e->term, dh);
	if (s->live_index && e->index == s->live_index && e->term == s->live_term &&
	    dh != s->live_hash)
		sim_failf(s, "liveness entry changed");
}

/* Snapshot blob: u64 index, u64 term, u64 sm hash, then pad bytes derived
 * from the hash (so big snapshots travel in several chunks). */
static size_t pad_len(uint64_t hash)
{
	return (hash % 4) ? (size_t)(hash % 200) : (size_t)(hash % PAD_MAX);
}

static int op_snapshot_load(void *ctx, struct buf *out, uint64_t *index, uint64_t *term)
{
	struct node *nd = ctx;
	size_t pad = pad_len(nd->d_snap_hash);

	if (!nd->d_snap_index)
		return -ENOENT;
	buf_put_le64(out, nd->d_snap_index);
	buf_put_le64(out, nd->d_snap_term);
	buf_put_le64(out, nd->d_snap_hash);
	buf_reserve(out, pad);
	for (size_t i = 0; i < pad; i++)
		out->p[out->len++] = (uint8_t)(nd->d_snap_hash >> (i % 8 * 8)) ^ (uint8_t)i;
	*index = nd->d_snap_index;
	*term = nd->d_snap_term;
	return 0;
}

static int op_snapshot_install(void *ctx, const uint8_t *p, size_t n, uint64_t index, uint64_t term)
{
	struct node *nd = ctx;
	struct sim *s = nd->sim;
	uint64_t hash;
	size_t pad;

	if (n < 24 || get_le64(p) != index || get_le64(p + 8) != term) {
		sim_failf(s, "node %d: snapshot blob does not match (%zu bytes)", nd->idx + 1, n);
		return -EBADMSG;
	}
	hash = get_le64(p + 16);
	pad = pad_len(hash);
	if (n != 24 + pad) {
		sim_failf(s, "node %d: snapshot blob has %zu bytes, not %zu", nd->idx + 1, n,
		          24 + pad);
		return -EBADMSG;
	}
	for (size_t i = 0; i < pad; i++)
		if (p[24 + i] != ((uint8_t)(hash >> (i % 8 * 8)) ^ (uint8_t)i)) {
			sim_failf(s, "node %d: snapshot blob corrupt at %zu", nd->idx + 1, i);
			return -EBADMSG;
		}
	if (index >= s->n_glob || s->glob[index].term != term) {
		sim_failf(s, "node %d installs snapshot %llu/%llu that is not committed",
		          nd->idx + 1, (unsigned long long)index, (unsigned long long)term);
		return -EBADMSG;
	}
	/* durable at once; the journal before it too */
	pend_flush(s, nd, nd->n_pend);
	disk_cut(nd, nd->d_snap_index);
	nd->d_snap_index = index;
	nd->d_snap_term = term;
	nd->d_snap_hash = hash;
	nd->d_hint = index;
	nd->sm_index = index;
	nd->sm_term = term;
	nd->sm_hash = hash;
	nd->persisted_last = index;
	mirror_reset(s, nd, index);
	s->n_snaps++;
	vlog(s, "node %d installs snapshot %llu", nd->idx + 1, (unsigned long long)index);
	return 0;
}

static uint32_t op_random(void *ctx)
{
	struct node *nd = ctx;

	return (uint32_t)splitmix(&nd->rng);
}

static const struct raft_ops sim_ops = {
	.send = op_send,
	.persist_state = op_persist_state,
	.persist_entries = op_persist_entries,
	.persist_trunc = op_persist_trunc,
	.apply = op_apply,
	.snapshot_load = op_snapshot_load,
	.snapshot_install = op_snapshot_install,
	.random = op_random,
};

/* ------------------------------------------------------------ nodes */

static void check_rc(struct sim *s, struct node *nd, int rc, const char *what)
{
	if (rc < 0)
		sim_failf(s, "node %d: %s: %s", nd->idx + 1, what, cfs_strerror(rc));
}

static void node_boot(struct sim *s, struct node *nd)
{
	struct raft_cfg cfg = {
		.self = nd->id,
		.nodes = s->cfg,
		.n_nodes = (size_t)s->n,
		.heartbeat_ms = HEARTBEAT_MS,
		.election_ms = ELECTION_MS,
	};
	int rc;

	rc = raft_new(&cfg, &sim_ops, nd, &nd->r);
	check_rc(s, nd, rc, "raft_new");
	if (rc < 0)
		return;
	check_rc(s, nd, raft_restore_snapshot(nd->r, nd->d_snap_index, nd->d_snap_term),
	         "restore snapshot");
	check_rc(s, nd, raft_restore_state(nd->r, nd->d_term, nd->d_vote), "restore state");
	mirror_reset(s, nd, nd->d_snap_index);
	for (size_t i = 0; i < nd->d_len; i++) {
		check_rc(s, nd, raft_restore_entry(nd->r, &nd->d_log[i]), "restore entry");
		mirror_append(s, nd, &nd->d_log[i]);
	}
	nd->persisted_last = nd->d_snap_index + nd->d_len;
	nd->sm_index = nd->d_snap_index;
	nd->sm_term = nd->d_snap_term;
	nd->sm_hash = nd->d_snap_hash;
	nd->up = true;
	nd->last_role = RAFT_FOLLOWER;
	check_rc(s, nd, raft_start(nd->r, nd->d_hint, s->now), "raft_start");
	schedule(s, s->now + 1 + rnd(s, TICK_MS), EV_TICK, nd->idx);
}

static void node_crash(struct sim *s, struct node *nd)
{
	size_t keep = (size_t)rnd(s, nd->n_pend + 1);

	vlog(s, "node %d crashes, keeps %zu of %zu unsynced records", nd->idx + 1, keep,
	     nd->n_pend);
	pend_flush(s, nd, keep);
	for (size_t i = 0; i < nd->n_out; i++)
		free(nd->out[i].p);
	nd->n_out = 0;
	raft_free(nd->r);
	nd->r = NULL;
	nd->up = false;
	nd->epoch++;
	nd->sync_scheduled = false;
	s->n_crashes++;
}

static bool linked(struct sim *s, int a, int b)
{
	return s->group[a] == s->group[b];
}

static void node_sync(struct sim *s, struct node *nd)
{
	struct rec hint = { .kind = REC_HINT, .a = raft_commit_index(nd->r) };
	size_t n_out = nd->n_out;
	struct held *out = nd->out;

	nd->sync_scheduled = false;
	pend_push(nd, &hint);
	pend_flush(s, nd, nd->n_pend);
	nd->out = NULL;
	nd->n_out = nd->cap_out = 0;
	check_rc(s, nd, raft_synced(nd->r, nd->persisted_last), "raft_synced");
	for (size_t i = 0; i < n_out; i++) {
		int copies = 1 + (s->chaos && chance(s, s->dup_pct * 10));

		if (!linked(s, nd->idx, out[i].to) || (s->chaos && chance(s, s->loss_pct * 10)))
			copies = 0;
		for (int c = 0; c < copies; c++) {
			struct ev *e = xcalloc(1, sizeof(*e));

			e->t = s->now + 1 + rnd(s, s->delay_max);
			e->kind = EV_MSG;
			e->node = out[i].to;
			e->from = nd->idx;
			e->len = out[i].len;
			if (c == copies - 1) {
				e->p = out[i].p; /* the last copy takes the bytes */
				out[i].p = NULL;
			} else {
				e->p = xmemdup(out[i].p, out[i].len);
			}
			ev_push(s, e);
			s->n_msgs++;
		}
		free(out[i].p);
	}
	free(out);
}

/* ------------------------------------------------------------ invariants */

static void check_leaders(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		uint64_t term;
		enum raft_role role;

		if (!nd->up)
			continue;
		term = raft_term(nd->r);
		role = raft_role(nd->r);
		if (term > s->max_term)
			s->max_term = term;
		if (role == RAFT_LEADER && nd->last_role != RAFT_LEADER) {
			s->n_elections++;
			vlog(s, "node %d leads term %llu", i + 1, (unsigned long long)term);
			if (term >= s->n_terms) {
				size_t n = MAX((size_t)term + 1, s->n_terms * 2);

				s->leader_of_term =
				        xrealloc(s->leader_of_term, n * sizeof(uint32_t));
				memset(s->leader_of_term + s->n_terms, 0,
				       (n - s->n_terms) * sizeof(uint32_t));
				s->n_terms = n;
			}
			if (s->leader_of_term[term] && s->leader_of_term[term] != nd->id)
				sim_failf(s, "election safety: nodes %u and %u both lead term %llu",
				          s->leader_of_term[term], nd->id,
				          (unsigned long long)term);
			s->leader_of_term[term] = nd->id;
			/* leader completeness */
			for (uint64_t k = 1; k < s->n_glob; k++) {
				const struct raft_entry *e;

				if (s->glob[k].max_term_at_commit >= term)
					continue;
				if (k <= raft_snapshot_index(nd->r))
					continue;
				e = raft_entry_get(nd->r, k);
				if (!e || e->term != s->glob[k].term ||
				    (hash_bytes(e->data, e->len) ^ e->type) !=
				            s->glob[k].data_hash) {
					sim_failf(s,
					          "leader completeness: node %d leads term %llu "
					          "without committed entry %llu",
					          i + 1, (unsigned long long)term,
					          (unsigned long long)k);
					break;
				}
			}
		}
		nd->last_role = role;
	}
}

/* The mirror of persisted entries is what raft holds. */
static void check_mirrors(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		uint64_t last;

		if (!nd->up)
			continue;
		last = raft_last_index(nd->r);
		if (last != nd->mir_last)
			sim_failf(s, "node %d: raft log ends at %llu, persisted log at %llu", i + 1,
			          (unsigned long long)last, (unsigned long long)nd->mir_last);
		if (raft_applied_index(nd->r) != nd->sm_index)
			sim_failf(s, "node %d: raft applied %llu, state machine at %llu", i + 1,
			          (unsigned long long)raft_applied_index(nd->r),
			          (unsigned long long)nd->sm_index);
	}
}

/* A leader's match index for a follower of its term is a prefix of the
 * follower's log that equals the leader's (what the follower acknowledged
 * is there, durable and the same). */
static void check_matches(struct sim *s)
{
	struct raft_status st;

	for (int i = 0; i < s->n; i++) {
		struct node *ld = &s->nodes[i];

		if (!ld->up || raft_role(ld->r) != RAFT_LEADER)
			continue;
		raft_status(ld->r, s->now, &st);
		for (size_t k = 0; k < st.n_nodes; k++) {
			struct node *f = &s->nodes[st.nodes[k].id - 1];
			uint64_t m = st.nodes[k].match_index;

			if (f == ld || !f->up || raft_term(f->r) != st.term || m <= f->mir_base ||
			    m <= ld->mir_base)
				continue;
			if (m > f->mir_last || m > ld->mir_last || f->chain[m] != ld->chain[m])
				sim_failf(s,
				          "leader %d believes node %d holds its log up to %llu, "
				          "it does not",
				          i + 1, f->idx + 1, (unsigned long long)m);
		}
	}
}

/* ------------------------------------------------------------ chaos */

static void propose_at(struct sim *s, struct node *nd, bool live)
{
	uint8_t data[256];
	uint32_t len = 1 + (uint32_t)rnd(s, 40);
	uint64_t index;
	int rc;

	if (rnd(s, 50) == 0)
		len = sizeof(data);
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)rnd(s, 256);
	snprintf((char *)data, sizeof(data), "%c%d.%llu", live ? 'L' : 'p', nd->idx + 1,
	         (unsigned long long)++nd->proposals);
	len = MAX(len, (uint32_t)strlen((char *)data) + 1);
	rc = raft_propose(nd->r, data, len, &index);
	if (rc == -ENOTCONN)
		return;
	check_rc(s, nd, rc, "raft_propose");
	if (rc == 0 && live) {
		s->live_index = index;
		s->live_term = raft_term(nd->r);
		s->live_hash = hash_bytes(data, len) ^ RAFT_ENTRY_NORMAL;
		vlog(s, "liveness proposal at node %d index %llu", nd->idx + 1,
		     (unsigned long long)index);
	}
}

static void compact_at(struct sim *s, struct node *nd)
{
	uint64_t idx = nd->sm_index;

	if (idx <= nd->d_snap_index)
		return;
	/* the state machine at idx, durable at once (like a finished compaction) */
	disk_drop_front(nd, idx);
	nd->d_snap_index = idx;
	nd->d_snap_term = nd->sm_term;
	nd->d_snap_hash = nd->sm_hash;
	if (idx >= s->n_glob || s->glob[idx].term != nd->sm_term)
		sim_failf(s, "node %d snapshots uncommitted state", nd->idx + 1);
	check_rc(s, nd, raft_compact(nd->r, idx), "raft_compact");
	vlog(s, "node %d compacts to %llu", nd->idx + 1, (unsigned long long)idx);
}

static struct node *leader_node(struct sim *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->nodes[i].up && raft_role(s->nodes[i].r) == RAFT_LEADER)
			return &s->nodes[i];
	return NULL;
}

static void chaos(struct sim *s)
{
	int i = (int)rnd(s, (uint64_t)s->n);
	struct node *nd = &s->nodes[i], *ld = leader_node(s);

	/* proposals: mostly where a caller would forward them, the leader */
	if (chance(s, 400)) {
		struct node *at = ld && chance(s, 700) ? ld : nd;

		if (at->up)
			propose_at(s, at, false);
	}
	if (chance(s, 15 * s->churn)) {
		for (int k = 0; k < s->n; k++)
			s->group[k] = (int)rnd(s, 2);
		vlog(s, "partition %d%d%d%d%d", s->group[0], s->group[1], s->group[2], s->group[3],
		     s->group[4]);
	}
	if (chance(s, 15 * s->churn)) {
		memset(s->group, 0, sizeof(s->group));
		vlog(s, "heal");
	}
	if (ld && chance(s, 5 * s->churn))
		nd = ld; /* leaders crash too */
	if (nd->up && chance(s, 10 * s->churn)) {
		node_crash(s, nd);
		schedule(s, s->now + 10 + rnd(s, 300), EV_RESTART, nd->idx);
	}
	if (nd->up && chance(s, 20))
		compact_at(s, nd);
}

/* ------------------------------------------------------------ one seed */

static void sim_init(struct sim *s, uint64_t seed, bool verbose)
{
	static const uint32_t weights[4][NODES_MAX] = {
		{ 1, 1, 1, 1, 1 },
		{ 1, 1, 1, 1, 1 },
		{ 2, 1, 1, 0, 0 },
		{ 2, 1, 1, 1, 0 },
	};
	int variant;

	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->rng = seed * 0x2545f4914f6cdd1dull + 1;
	s->verbose = verbose;
	variant = (int)rnd(s, 4);
	s->n = (variant == 0 || variant == 2) ? 3 : 5;
	s->loss_pct = (unsigned)rnd(s, 20);
	s->dup_pct = (unsigned)rnd(s, 6);
	s->delay_max = 1 + (unsigned)rnd(s, 20);
	s->sync_max = (unsigned)rnd(s, 12);
	s->churn = 1 + (unsigned)rnd(s, 4);
	s->chaos = true;
	for (int i = 0; i < s->n; i++) {
		s->cfg[i].id = (uint32_t)i + 1;
		s->cfg[i].votes = weights[variant][i];
	}
	glob_reserve(s, 64);
	memset(&s->glob[0], 0, sizeof(s->glob[0]));
	s->n_glob = 1;
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		nd->sim = s;
		nd->idx = i;
		nd->id = (uint32_t)i + 1;
		nd->rng = seed * 1000 + (uint64_t)i;
	}
	if (verbose)
		printf("seed %llu: %d nodes, votes %u %u %u %u %u, loss %u%%, dup %u%%, "
		       "delay 1..%u ms, fsync 0..%u ms, churn %u\n",
		       (unsigned long long)seed, s->n, s->cfg[0].votes, s->cfg[1].votes,
		       s->cfg[2].votes, s->cfg[3].votes, s->cfg[4].votes, s->loss_pct, s->dup_pct,
		       s->delay_max, s->sync_max, s->churn);
}

static void sim_free(struct sim *s)
{
	while (s->n_heap)
		ev_free(ev_pop(s));
	free(s->heap);
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		raft_free(nd->r);
		pend_flush(s, nd, 0);
		free(nd->pend);
		for (size_t k = 0; k < nd->n_out; k++)
			free(nd->out[k].p);
		free(nd->out);
		disk_cut(nd, 0);
		free(nd->d_log);
		free(nd->chain);
	}
	free(s->leader_of_term);
	free(s->glob);
	free(s->kt_key_i);
	free(s->kt_key_t);
	free(s->kt_val);
}

static bool live_check(struct sim *s)
{
	if (!s->live_index)
		return false;
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (nd->sm_index < s->live_index)
			return false;
	}
	/* committed: the global record holds it at that index? */
	if (s->glob[s->live_index].term != s->live_term ||
	    s->glob[s->live_index].data_hash != s->live_hash) {
		s->live_index = 0; /* lost to another leader before commit: retry */
		return false;
	}
	return true;
}

static void handle(struct sim *s, struct ev *e)
{
	struct node *nd = e->node >= 0 ? &s->nodes[e->node] : NULL;

	switch (e->kind) {
	case EV_MSG:
		if (!nd->up || !linked(s, e->from, e->node))
			break;
		check_rc(s, nd, raft_recv(nd->r, (uint32_t)e->from + 1, e->p, e->len, s->now),
		         "raft_recv");
		break;
	case EV_TICK:
		if (!nd->up || e->epoch != nd->epoch)
			break;
		check_rc(s, nd, raft_tick(nd->r, s->now), "raft_tick");
		schedule(s, s->now + TICK_MS - 1 + rnd(s, 3), EV_TICK, e->node);
		break;
	case EV_SYNC:
		if (!nd->up || e->epoch != nd->epoch)
			break;
		node_sync(s, nd);
		break;
	case EV_RESTART:
		if (nd->up)
			break;
		vlog(s, "node %d restarts", e->node + 1);
		node_boot(s, nd);
		break;
	case EV_CHAOS:
		if (s->now < CHAOS_MS) {
			chaos(s);
			schedule(s, s->now + 10, EV_CHAOS, -1);
		} else {
			/* liveness phase: heal, restart, propose at the leader */
			if (s->chaos) {
				vlog(s, "heal everything");
				s->chaos = false;
				memset(s->group, 0, sizeof(s->group));
				for (int i = 0; i < s->n; i++)
					if (!s->nodes[i].up)
						node_boot(s, &s->nodes[i]);
			}
			/* (again when a new leader may have dropped it) */
			nd = leader_node(s);
			if (nd && (!s->live_index || raft_term(nd->r) != s->live_term))
				propose_at(s, nd, true);
			schedule(s, s->now + 50, EV_CHAOS, -1);
		}
		break;
	}
}

static void dump(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];
		struct raft_status st;

		if (!nd->up) {
			printf("node %d: down\n", i + 1);
			continue;
		}
		raft_status(nd->r, s->now, &st);
		printf("node %d: %s term %llu leader %u commit %llu applied %llu last %llu synced "
		       "%llu snap %llu quorum %u active %u\n",
		       i + 1, raft_role_name(st.role), (unsigned long long)st.term, st.leader,
		       (unsigned long long)st.commit_index, (unsigned long long)st.applied_index,
		       (unsigned long long)st.last_index, (unsigned long long)st.synced_index,
		       (unsigned long long)st.snapshot_index, st.quorum, st.active_votes);
		for (size_t k = 0; k < st.n_nodes; k++)
			printf("  peer %u votes %u active %d last_recv %llu match %llu next %llu "
			       "snap %d\n",
			       st.nodes[k].id, st.nodes[k].votes, st.nodes[k].active,
			       (unsigned long long)st.nodes[k].last_recv_ms,
			       (unsigned long long)st.nodes[k].match_index,
			       (unsigned long long)st.nodes[k].next_index, st.nodes[k].snapshot);
	}
}

/* Run one seed; returns true if every check held. */
static bool sim_run(uint64_t seed, bool verbose, uint64_t *stats)
{
	struct sim *s = xcalloc(1, sizeof(*s));
	bool ok;
	uint64_t steps = 0;

	sim_init(s, seed, verbose);
	for (int i = 0; i < s->n; i++)
		node_boot(s, &s->nodes[i]);
	schedule(s, 10, EV_CHAOS, -1);
	while (s->n_heap && !s->fail[0]) {
		struct ev *e = ev_pop(s);

		s->now = e->t;
		if (s->now > CHAOS_MS + LIVE_MS) {
			ev_free(e);
			break;
		}
		handle(s, e);
		ev_free(e);
		check_leaders(s);
		if (++steps % 64 == 0)
			check_mirrors(s);
		if (steps % 8 == 0)
			check_matches(s);
		if (!s->chaos && !s->live_done && live_check(s)) {
			s->live_done = true;
			vlog(s, "liveness: entry %llu applied everywhere",
			     (unsigned long long)s->live_index);
			break;
		}
	}
	if (!s->fail[0])
		check_mirrors(s);
	if (!s->fail[0] && !s->live_done)
		sim_failf(s, "liveness: no proposal committed on all nodes %d ms after healing",
		          LIVE_MS);
	ok = !s->fail[0];
	if (!ok && verbose)
		dump(s);
	if (!ok) {
		fprintf(stderr, "test_raft_sim: seed %llu failed: %s\n", (unsigned long long)seed,
		        s->fail);
		fprintf(stderr, "replay: CFS_SIM_SEED=%llu CFS_SIM_VERBOSE=1 %s\n",
		        (unsigned long long)seed, "test_raft_sim");
	}
	if (verbose || stats) {
		uint64_t v[5] = { steps, s->n_msgs, s->n_crashes, s->n_snaps, s->n_elections };

		if (stats)
			for (int i = 0; i < 5; i++)
				stats[i] += v[i];
		if (verbose)
			printf("seed %llu: %llu events, %llu messages, %llu crashes, %llu snapshots "
			       "installed, %llu elections, %zu entries committed\n",
			       (unsigned long long)seed, (unsigned long long)steps,
			       (unsigned long long)s->n_msgs, (unsigned long long)s->n_crashes,
			       (unsigned long long)s->n_snaps, (unsigned long long)s->n_elections,
			       s->n_glob - 1);
	}
	sim_free(s);
	free(s);
	return ok;
}

static void test_sim_seeds(void)
{
	const char *one = getenv("CFS_SIM_SEED"), *many = getenv("CFS_SIM_SEEDS");
	const char *verbose = getenv("CFS_SIM_VERBOSE");
	uint64_t n = many ? strtoull(many, NULL, 10) : DEFAULT_SEEDS, failed = 0;
	uint64_t stats[5] = { 0 }, seed;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (one) {
		T_ASSERT(sim_run(strtoull(one, NULL, 10), verbose && *verbose == '1', NULL));
		return;
	}
	for (seed = 1; seed <= n; seed++)
		if (!sim_run(seed, false, stats) && ++failed >= 5)
			break;
	n = MIN(seed, n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("test_raft_sim: %llu seeds in %.1f s: %llu events, %llu messages, %llu "
	       "crashes, %llu snapshot installs, %llu elections; %llu failed\n",
	       (unsigned long long)n,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (unsigned long long)stats[0], (unsigned long long)stats[1],
	       (unsigned long long)stats[2], (unsigned long long)stats[3],
	       (unsigned long long)stats[4], (unsigned long long)failed);
	T_EQ_INT(failed, 0);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	/* raft's own messages would drown the output, unless replaying */
	log_level = getenv("CFS_SIM_VERBOSE") ? LOG_LVL_DEBUG : LOG_LVL_ERR - 1;
	T_RUN(test_sim_seeds);
	return t_done();
}
