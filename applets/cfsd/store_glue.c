/* applets/cfsd/store_glue.c - cfsd's tree, journal and replicated log:
 * configuration, recovery, group commit, apply, compaction
 * SPDX-License-Identifier: MIT
 *
 * Modes.  With <root>/etc/corosync/corosync.conf (and without -l) cfsd is a
 * cluster node: its log is replicated by net/raft over the UDP transport
 * (node.c), keyed by the authkey and the cluster name.  Without it cfsd is
 * in local mode (as pmxcfs -l): the same node.c with raft alone, one
 * voter, always quorate.  Both modes journal the same records, so a node
 * goes from one to the other keeping its tree.
 *
 * Group commit: IPC callbacks only queue journal records (through the
 * node).  flush_cb(), an ev_prepare watcher that runs once per loop turn
 * just before libev blocks, does one journal_sync() for everything
 * queued, then tells the node, which releases the messages that promised
 * durability and commits: committed entries are applied in log order and
 * the clients answered.  Nothing is answered before it is on disk (on a
 * quorum of disks in cluster mode).
 *
 * A failed append or sync makes cfsd read-only for good (until restart):
 * the ops in flight get EROFS, later mutations too; reads go on.  One log
 * line.
 *
 * Recovery: local mode applies journal entries as it reads them (every
 * entry of a one-voter journal is committed), which keeps start-up fast
 * and the log out of memory; a journal with a TRUNC record inside a
 * generation (left by cluster times) is replayed again through raft.
 * Cluster mode hands every record to raft, which applies what the journal
 * says was committed.
 *
 * Compaction rule: a snapshot is taken when the journal generation holds
 * more than 2 x the live data + 4 MiB, where live data = content bytes +
 * 64 bytes per entry (tree_bytes() + 64 * tree_count()); also, once the
 * journal passes CONFIG_JOURNAL_COMPACT_MB, if that is above live data +
 * 4 MiB.  So rewriting a small tree over and over compacts every few MiB,
 * and a large tree is not rewritten again and again.  The snapshot is
 * written by a forked child (journal_compact_start()), reaped by an
 * ev_child watcher (journal_compact_done()); a failed compaction is
 * retried after 30 s.
 */
#define LOG_TAG "store"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include "applets/cfsd/cfsd.h"
#include "applets/cfsd/cluster.h"
#include "config.h"
#include "core/crypt.h"
#include "core/endian.h"
#include "core/log.h"
#include "core/path.h"
#include "store/tree.h"

#define MiB (1024ull * 1024)

/* A change waiting for its commit. */
struct waiter {
	struct cfsd *d;
	store_done_fn *done;
	void *ctx;
};

/* An IPC client waiting for its write. */
struct ipc_waiter {
	struct ipc_client *c;
	uint32_t id;
};

/* ---------------------------------------------------------------- node hooks */

static int hook_persist(void *ctx, const struct jrec *r)
{
	struct cfsd *d = ctx;
	int rc;

	if (d->broken)
		return -EROFS;
	rc = journal_append(d->journal, r);
	if (rc < 0 && !d->broken) {
		d->broken = rc;
		log_err("%s: journal write failed: %s; cfsd is read-only until restarted",
		        d->state_dir, cfs_strerror(rc));
	}
	return rc;
}

static int hook_apply(void *ctx, const uint8_t *p, size_t len, uint32_t origin, uint64_t index)
{
	struct cfsd *d = ctx;
	struct op op;
	int rc;

	(void)origin;
	d->applied = index;
	rc = op_decode(p, len, &op);
	if (rc < 0) {
		d->bad_ops++;
		return rc;
	}
	rc = rules_apply(d->rules, &op);
	if (rc == 0) {
		conf_sync_applied(d, &op); /* corosync.conf: host file, membership */
		locks_applied(d, &op);
	}
	return rc;
}

static int hook_state_encode(void *ctx, struct buf *out)
{
	struct cfsd *d = ctx;

	return tree_encode(rules_tree(d->rules), out);
}

static int hook_state_load(void *ctx, const uint8_t *p, size_t n)
{
	struct cfsd *d = ctx;
	struct tree *t;
	int rc;

	rc = tree_decode_lent(p, n, rules_tree_mut(d->rules), &t);
	if (rc < 0)
		return rc;
	rules_load(d->rules, t);
	locks_reset(d);     /* lock ages start again, as pmxcfs's at a resync */
	conf_sync_start(d); /* the snapshot may bring a new corosync.conf */
	return 0;
}

static int hook_snapshot_durable(void *ctx, const uint8_t *blob, size_t n, uint64_t index,
                                 uint64_t term)
{
	struct cfsd *d = ctx;
	int rc;

	rc = journal_install(d->journal, index, term, blob, n);
	if (rc < 0)
		log_err("%s: cannot store the leader's snapshot: %s", d->state_dir,
		        cfs_strerror(rc));
	d->applied = index;
	return rc;
}

/* <state_dir>/epoch: one decimal number, larger at every start and at
 * every wrap of the transport's packet counter (nonces never repeat). */
static int epoch_bump(struct cfsd *d, uint32_t *out)
{
	char path[CFS_PATH_MAX], text[32], *old = NULL;
	unsigned long long e = 0;
	int rc;

	rc = path_fmt(path, sizeof(path), "%s/epoch", d->state_dir);
	if (rc < 0)
		return rc;
	if (path_read_file(path, 64, &old, NULL) == 0) {
		e = strtoull(old, NULL, 10);
		free(old);
	} else {
		/* a fresh state directory (first start, or a node that joins
		 * again after a reinstall under its old node id): start from
		 * the clock, so that it is larger than the epochs of the
		 * earlier lives the peers remember (replay window, requests) */
		e = (unsigned long long)time(NULL);
	}
	if (e >= UINT32_MAX)
		return -EOVERFLOW;
	e++;
	snprintf(text, sizeof(text), "%llu\n", e);
	rc = path_write_atomic(path, text, strlen(text), 0600);
	if (rc < 0)
		return rc;
	*out = (uint32_t)e;
	return 0;
}

static int hook_next_epoch(void *ctx, uint32_t *epoch)
{
	struct cfsd *d = ctx;
	int rc = epoch_bump(d, epoch);

	if (rc == 0)
		d->epoch = *epoch;
	return rc;
}

/* Split brain after `pvecm expected`: restart in place with the state
 * directory moved aside (kept for the admin), as a node that joins. */
static void hook_resync(void *ctx)
{
	struct cfsd *d = ctx;

	log_err("%s: moving the state aside and taking the cluster's tree", d->state_dir);
	d->restart = 0x100 | IPC_RELOAD_JOIN;
	d->stopping = true;
	ipc_server_stop_accepting(d->ipc);
	ev_break(d->loop, EVBREAK_ALL);
}

static void hook_writeback(void *ctx)
{
	struct cfsd *d = ctx;

	journal_writeback(d->journal);
}

static const struct node_hooks hooks = {
	.persist = hook_persist,
	.writeback = hook_writeback,
	.apply = hook_apply,
	.state_encode = hook_state_encode,
	.state_load = hook_state_load,
	.snapshot_durable = hook_snapshot_durable,
	.next_epoch = hook_next_epoch,
	.resync = hook_resync,
	.unlock = locks_unlock,
	.clog = clusterlog_recv,
	.peer_back = clusterlog_peer_back,
};

/* ---------------------------------------------------------------- recovery */

static int snapshot_cb(void *ctx, uint64_t index, uint64_t term, const uint8_t *blob, size_t len)
{
	struct cfsd *d = ctx;
	int rc;

	rc = node_restore_snapshot(d->node, index, term, blob, len);
	if (rc < 0) {
		log_err("%s: the snapshot at index %llu does not decode: %s", d->state_dir,
		        (unsigned long long)index, cfs_strerror(rc));
		return rc;
	}
	d->applied = index;
	return 0;
}

/* The fast path remembers the term of every entry it applied: a TRUNC
 * followed by the same (index, term) pairs is a generation base whose
 * copies it has applied already (Raft's log matching: same index and
 * term, same entry); anything else means entries were overwritten, and
 * the replay starts again through raft (-EAGAIN). */
struct fast {
	uint64_t first;  /* index of terms[0] */
	uint64_t *terms; /* term of each entry applied, first.. */
	size_t n, cap;
	uint64_t verify_to; /* after a TRUNC: entries up to here must come again */
	uint64_t seen;      /* ... and have come up to here */
};

static struct fast fast;

static int fast_entry(struct cfsd *d, const struct jrec *r)
{
	uint64_t last = fast.first + fast.n - 1;

	if (fast.n && r->index <= last) {
		if (r->index < fast.first || fast.terms[r->index - fast.first] != r->term)
			return -EAGAIN;
		if (fast.verify_to) {
			if (r->index != fast.seen + 1)
				return -EAGAIN;
			if (++fast.seen == fast.verify_to)
				fast.verify_to = 0;
		}
		return 0; /* a copy of an entry applied already */
	}
	if (fast.verify_to > last || (fast.n && r->index != last + 1))
		return -EAGAIN;
	fast.verify_to = 0;
	if (!fast.n)
		fast.first = r->index;
	if (fast.n == fast.cap) {
		fast.cap = fast.cap ? 2 * fast.cap : 1024;
		fast.terms = xrealloc(fast.terms, fast.cap * sizeof(*fast.terms));
	}
	fast.terms[fast.n++] = r->term;
	d->replayed++;
	return node_replay_entry(d->node, r->index, r->term, r->p, r->len);
}

static int record_cb(void *ctx, const struct jrec *r)
{
	struct cfsd *d = ctx;

	if (d->replay_slow)
		return node_restore_record(d->node, r);
	switch (r->type) {
	case JREC_ENTRY:
		if (r->index <= d->applied && !fast.n)
			return 0; /* at or below the snapshot */
		return fast_entry(d, r);
	case JREC_TRUNC:
		if (fast.n && r->index < fast.first + fast.n - 1) {
			if (r->index + 1 < fast.first)
				return -EAGAIN;
			/* the entries after it must come again, unchanged */
			fast.verify_to = fast.first + fast.n - 1;
			fast.seen = r->index;
		}
		return 0;
	default:
		return node_restore_record(d->node, r);
	}
}

/* Read and check the host corosync.conf and the authkey; fill d->cc. */
static int load_cluster(struct cfsd *d)
{
	char err[512], keypath[CFS_PATH_MAX];
	const struct cluster_conf_node *me;
	struct stat st;
	int rc;

	if (d->local || stat(d->conf_path, &st) < 0)
		return 0;
	rc = corosync_conf_load(d->conf_path, 0, &d->conf, err, sizeof(err));
	if (rc == 0)
		rc = corosync_conf_cluster(d->conf, &d->cc, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "cfsd: %s\n", err);
		return -EINVAL;
	}
	me = corosync_conf_local_node(&d->cc, d->name);
	if (!me || !me->nodeid) {
		fprintf(stderr,
		        "cfsd: %s: node '%s' is not in the nodelist (or has no nodeid); start "
		        "with --name NAME as in the nodelist\n",
		        d->conf_path, d->name);
		return -EINVAL;
	}
	d->nodeid = me->nodeid;
	/* the key file, relocated under --root like every path */
	rc = path_fmt(keypath, sizeof(keypath), "%s%s", d->root,
	              d->cc.keyfile ? d->cc.keyfile : "/etc/corosync/authkey");
	if (rc == 0)
		rc = crypt_authkey_read(keypath, &d->authkey, &d->authkey_len, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "cfsd: %s\n", err);
		return -EINVAL;
	}
	d->cluster = true;
	return 0;
}

static int open_node(struct cfsd *d)
{
	struct node_conf nc = { 0 };
	const char *v;
	char err[256];
	int rc;

	nc.self = d->cluster ? d->nodeid : 1;
	nc.name = d->name;
	nc.epoch = d->epoch;
	nc.write_timeout_sec = d->write_timeout;
	if (d->cluster) {
		nc.cc = &d->cc;
		nc.authkey = d->authkey;
		nc.authkey_len = d->authkey_len;
		/* totem.token, when the file sets it, is the election timeout */
		v = corosync_conf_get(d->conf, "totem.token");
		if (v)
			nc.election_ms = (uint32_t)strtoul(v, NULL, 10);
		/* test-only fault injection (tests/cluster: no tc netem here) */
		if ((v = getenv("CFS_TEST_LOSS")))
			nc.test_loss = strtod(v, NULL);
		if ((v = getenv("CFS_TEST_DELAY_MS")))
			nc.test_delay_ms = strtod(v, NULL);
	}
	rc = node_new(d->loop, &nc, &hooks, d, &d->node, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "cfsd: %s: %s\n", d->cluster ? d->conf_path : "local mode", err);
	return rc;
}

/* The snapshot and the records of the fast path are applied straight
 * from the journal's mappings, so file content can stay there instead of
 * being copied (tree_lend; through raft, entries are copies and the
 * mapping just goes at the next tree_lend or tree_lend_close). */
static bool mapped_cb(void *ctx, const uint8_t *base, size_t len)
{
	struct cfsd *d = ctx;

	tree_lend(rules_tree_mut(d->rules), base, len);
	return true;
}

int store_glue_open(struct cfsd *d)
{
	static const struct journal_cb cb = { .snapshot = snapshot_cb,
		                              .record = record_cb,
		                              .mapped = mapped_cb };
	int rc;

	rc = load_cluster(d);
	if (rc < 0)
		return rc;
	rc = path_mkdirs(d->state_dir, 0700);
	if (rc == 0)
		rc = epoch_bump(d, &d->epoch);
	if (rc < 0) {
		fprintf(stderr, "cfsd: %s: %s\n", d->state_dir, cfs_strerror(rc));
		return -EINVAL;
	}
	d->replay_slow = d->cluster;
	for (;;) {
		d->rules = rules_new(NULL);
		rc = open_node(d);
		if (rc < 0)
			return -EINVAL;
		d->applied = 0;
		d->replayed = 0;
		rc = journal_open(d->state_dir, &cb, d, &d->journal);
		if (rc == 0 && fast.verify_to)
			rc = -EAGAIN; /* truncated entries that never came back */
		free(fast.terms);
		memset(&fast, 0, sizeof(fast));
		if (rc == -EAGAIN && d->journal) {
			journal_close(d->journal);
			d->journal = NULL;
		}
		if (rc != -EAGAIN || d->replay_slow)
			break;
		log_info("%s: the journal rewrote entries; replaying it through the log",
		         d->state_dir);
		node_free(d->node);
		d->node = NULL;
		rules_free(d->rules);
		d->replay_slow = true;
	}
	if (rc < 0)
		return rc;
	/* Cluster mode: zeros ahead of the records, so that a sync commits
	 * data only.  Every write there waits for two disks syncing at once,
	 * and the metadata commits of three journals on one disk serialize:
	 * +35-40% writes/s with 3 nodes here.  A standalone node (+20%, and
	 * its targets met without) writes each byte once. */
	if (d->cluster)
		journal_set_prealloc(d->journal, (uint64_t)CFG_JOURNAL_PREALLOC_KB * 1024);
	tree_lend_close(rules_tree_mut(d->rules));
	if (d->bad_ops)
		log_err("%s: %llu journal entries did not decode and were skipped", d->state_dir,
		        (unsigned long long)d->bad_ops);
	if (!d->replay_slow)
		rc = node_restore_applied(d->node);
	if (rc == 0)
		rc = node_start(d->node);
	if (rc < 0) {
		log_err("%s: cannot start the log: %s", d->state_dir, cfs_strerror(rc));
		return rc;
	}
	node_trim(d->node);
	return 0;
}

/* ---------------------------------------------------------------- compaction */

static int encode_cb(void *ctx, struct buf *out)
{
	struct cfsd *d = ctx;

	return node_snapshot_encode(d->node, out);
}

uint64_t store_glue_compact_threshold(const struct cfsd *d)
{
	const struct tree *t = rules_tree(d->rules);
	uint64_t live = tree_bytes(t) + 64 * (uint64_t)tree_count(t);
	uint64_t thr = 2 * live + 4 * MiB;
	uint64_t cap = (uint64_t)CFG_JOURNAL_COMPACT_MB * MiB;

	if (cap && cap > live + 4 * MiB && cap < thr)
		thr = cap;
	return thr;
}

static void compact_done_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct cfsd *d = container_of(w, struct cfsd, compact_w);
	int rc;

	(void)revents;
	ev_child_stop(loop, w);
	d->compact_pid = 0;
	rc = journal_compact_done(d->journal, w->rstatus);
	if (rc < 0) {
		log_warn("%s: compaction failed (status %d): %s; retrying later", d->state_dir,
		         w->rstatus, cfs_strerror(rc));
		d->compact_next = ev_now(loop) + 30;
		return;
	}
	node_compacted(d->node, d->compact_index);
	/* the old generation is gone from the directory; let its disk space go */
	tree_unlend(rules_tree_mut(d->rules));
	log_info("%s: compacted into generation %llu at index %llu", d->state_dir,
	         (unsigned long long)journal_gen(d->journal), (unsigned long long)d->compact_index);
}

static void maybe_compact(struct cfsd *d)
{
	uint64_t index, term;
	pid_t pid;
	int rc;

	if (d->compact_pid || d->broken || d->stopping || ev_now(d->loop) < d->compact_next)
		return;
	if (journal_size(d->journal) <= store_glue_compact_threshold(d))
		return;
	node_applied(d->node, &index, &term);
	if (index <= journal_base_index(d->journal))
		return;
	rc = journal_compact_start(d->journal, index, term, encode_cb, d, &pid);
	if (rc < 0) {
		log_warn("%s: cannot start compaction: %s", d->state_dir, cfs_strerror(rc));
		d->compact_next = ev_now(d->loop) + 30;
		if (journal_broken(d->journal) && !d->broken) {
			d->broken = rc;
			node_sync_failed(d->node, rc);
			log_err("%s: journal broken: %s; cfsd is read-only until restarted",
			        d->state_dir, cfs_strerror(rc));
		}
		return;
	}
	d->compact_pid = pid;
	d->compact_index = index;
	ev_child_set(&d->compact_w, pid, 0);
	ev_child_start(d->loop, &d->compact_w);
	log_debug("compaction started at index %llu, pid %d", (unsigned long long)index, (int)pid);
}

/* ---------------------------------------------------------------- group commit */

static void done_cb(void *ctx, int rc)
{
	struct waiter *w = ctx;

	w->d->inflight--;
	w->done(w->ctx, rc);
	free(w);
}

void store_glue_submit_cb(struct cfsd *d, const struct op *op, store_done_fn *done, void *ctx)
{
	struct waiter *w = xmalloc(sizeof(*w));
	struct buf b = { 0 };

	w->d = d;
	w->done = done;
	w->ctx = ctx;
	op_encode(op, &b);
	d->writes++;
	d->inflight++;
	node_submit(d->node, b.p, b.len, done_cb, w);
	buf_free(&b);
}

static void ipc_done(void *ctx, int rc)
{
	struct ipc_waiter *w = ctx;

	ipc_reply(w->c, w->id, rc, NULL, 0);
	free(w);
}

void store_glue_submit(struct cfsd *d, struct ipc_client *c, uint32_t id, const struct op *op)
{
	struct ipc_waiter *w = xmalloc(sizeof(*w));

	w->c = c;
	w->id = id;
	store_glue_submit_cb(d, op, ipc_done, w);
}

static void seeded_cb(void *ctx, int rc)
{
	struct cfsd *d = ctx;

	if (rc == 0)
		log_info("corosync.conf: the host file is now the cluster's (config_version %llu)",
		         (unsigned long long)d->cc.config_version);
	else if (rc != -EEXIST)
		d->conf_seeded = false; /* try again */
}

/* A cluster whose tree has no corosync.conf yet (nodes set up by hand, as
 * pmxcfs imports /etc/corosync/corosync.conf into a new database): the
 * leader puts the host file in the tree, once. */
static void seed_conf(struct cfsd *d)
{
	struct op op = { 0 };
	struct buf b = { 0 };
	char *text = NULL;
	size_t len = 0;

	if (!d->cluster || d->conf_seeded || !node_leader_ready(d->node))
		return;
	d->conf_seeded = true;
	if (tree_lookup(rules_tree(d->rules), "corosync.conf"))
		return;
	if (path_read_file(d->conf_path, CFS_FILE_MAX, &text, &len) < 0)
		return;
	op.type = OP_PUT;
	op.flags = OP_F_EXCL;
	op.writer = d->nodeid;
	op.mtime = (uint32_t)time(NULL);
	op.path = "corosync.conf";
	op.data = (const uint8_t *)text;
	op.len = (uint32_t)len;
	op_encode(&op, &b);
	node_submit(d->node, b.p, b.len, seeded_cb, d);
	buf_free(&b);
	free(text);
}

void store_glue_flush(struct cfsd *d)
{
	int rc, rounds;

	/* Committing may queue more records (commit hints, a leader's next
	 * batch): a few rounds, then the next loop turn. */
	for (rounds = 0; rounds < 4 && node_dirty(d->node) && !d->broken; rounds++) {
		node_sync_begin(d->node);
		rc = journal_sync(d->journal);
		d->syncs++;
		if (rc < 0) {
			if (!d->broken)
				log_err("%s: journal sync failed: %s; cfsd is read-only until "
				        "restarted",
				        d->state_dir, cfs_strerror(rc));
			d->broken = rc;
			node_sync_failed(d->node, rc);
			break;
		}
		node_synced(d->node);
	}
	if (d->broken && node_dirty(d->node))
		node_sync_failed(d->node, d->broken);
	node_trim(d->node);
	seed_conf(d);
	maybe_compact(d);
}

static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)revents;
	store_glue_flush(container_of(w, struct cfsd, flush));
}

void store_glue_start(struct cfsd *d)
{
	locks_reset(d); /* recovery is over: the locks there were are seen now */
	ev_prepare_init(&d->flush, flush_cb);
	ev_prepare_start(d->loop, &d->flush);
	ev_child_init(&d->compact_w, compact_done_cb, 0, 0);
}

void store_glue_close(struct cfsd *d)
{
	int st;

	if (ev_is_active(&d->flush))
		ev_prepare_stop(d->loop, &d->flush);
	if (d->compact_pid) {
		ev_child_stop(d->loop, &d->compact_w);
		if (waitpid(d->compact_pid, &st, 0) == d->compact_pid)
			(void)journal_compact_done(d->journal, st);
		d->compact_pid = 0;
	}
	if (d->journal && !d->broken)
		(void)journal_sync(d->journal);
	node_free(d->node); /* answers what still waits with ECANCELED */
	d->node = NULL;
	journal_close(d->journal);
	d->journal = NULL;
	rules_free(d->rules);
	d->rules = NULL;
	locks_free(d);
	corosync_conf_cluster_free(&d->cc);
	corosync_conf_free(d->conf);
	d->conf = NULL;
	if (d->authkey) {
		crypt_wipe(d->authkey, d->authkey_len);
		free(d->authkey);
		d->authkey = NULL;
	}
}
