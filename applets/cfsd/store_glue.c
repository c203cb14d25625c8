/* applets/cfsd/store_glue.c - cfsd's tree and journal: recovery, group
 * commit, apply, compaction
 * SPDX-License-Identifier: MIT
 *
 * Group commit: IPC callbacks only append ops to the journal (page cache)
 * and queue the client in the current batch.  flush_cb(), an ev_prepare
 * watcher that runs once per loop turn just before libev blocks, does
 * one journal_sync() for the whole batch, then applies its ops in log
 * order and answers each client with its op's result.  Nothing is
 * answered before it is on disk; reads never see an op that is not.
 *
 * A failed append or sync makes cfsd read-only for good (until restart):
 * the ops in flight get EIO (they may or may not be on disk), later
 * mutations EROFS; reads go on.  One log line.
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
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include "applets/cfsd/cfsd.h"
#include "config.h"
#include "core/log.h"
#include "store/tree.h"

#define MiB (1024ull * 1024)

/* ---------------------------------------------------------------- recovery */

static int snapshot_cb(void *ctx, uint64_t index, uint64_t term, const uint8_t *blob, size_t len)
{
	struct cfsd *d = ctx;
	struct tree *t;
	int rc;

	rc = tree_decode(blob, len, &t);
	if (rc < 0) {
		log_err("snapshot at index %llu does not decode: %s", (unsigned long long)index,
		        cfs_strerror(rc));
		return rc;
	}
	rules_load(d->rules, t);
	d->applied = index;
	d->last_term = term;
	return 0;
}

static int record_cb(void *ctx, const struct jrec *r)
{
	struct cfsd *d = ctx;
	struct op op;

	if (r->type != JREC_ENTRY)
		return 0; /* local mode: TRUNC only marks generation bases */
	if (r->index <= d->applied)
		return 0; /* a copy of an entry the tree already has */
	d->applied = r->index;
	d->last_term = r->term;
	if (op_decode(r->p, r->len, &op) < 0) {
		d->bad_ops++;
		return 0;
	}
	(void)rules_apply(d->rules, &op); /* a failed op was failed when it ran */
	d->replayed++;
	return 0;
}

int store_glue_open(struct cfsd *d)
{
	static const struct journal_cb cb = { snapshot_cb, record_cb };
	int rc;

	d->rules = rules_new(NULL);
	rc = journal_open(d->state_dir, &cb, d, &d->journal);
	if (rc < 0)
		return rc;
	if (d->bad_ops)
		log_err("%s: %llu journal entries did not decode and were skipped", d->state_dir,
		        (unsigned long long)d->bad_ops);
	d->term = d->last_term ? d->last_term : 1;
	return 0;
}

/* ---------------------------------------------------------------- compaction */

static int encode_cb(void *ctx, struct buf *out)
{
	struct cfsd *d = ctx;

	return tree_encode(rules_tree(d->rules), out);
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
	log_info("%s: compacted into generation %llu at index %llu", d->state_dir,
	         (unsigned long long)journal_gen(d->journal), (unsigned long long)d->applied);
}

static void maybe_compact(struct cfsd *d)
{
	pid_t pid;
	int rc;

	if (d->compact_pid || d->broken || d->stopping || ev_now(d->loop) < d->compact_next)
		return;
	if (journal_size(d->journal) <= store_glue_compact_threshold(d))
		return;
	rc = journal_compact_start(d->journal, d->applied, d->last_term, encode_cb, d, &pid);
	if (rc < 0) {
		log_warn("%s: cannot start compaction: %s", d->state_dir, cfs_strerror(rc));
		d->compact_next = ev_now(d->loop) + 30;
		if (journal_broken(d->journal) && !d->broken) {
			d->broken = rc;
			log_err("%s: journal broken: %s; cfsd is read-only until restarted",
			        d->state_dir, cfs_strerror(rc));
		}
		return;
	}
	d->compact_pid = pid;
	ev_child_set(&d->compact_w, pid, 0);
	ev_child_start(d->loop, &d->compact_w);
	log_debug("compaction started at index %llu, pid %d", (unsigned long long)d->applied,
	          (int)pid);
}

/* ---------------------------------------------------------------- group commit */

static void enter_readonly(struct cfsd *d, int rc)
{
	if (d->broken)
		return;
	d->broken = rc;
	log_err("%s: journal write failed: %s; cfsd is read-only until restarted", d->state_dir,
	        cfs_strerror(rc));
}

void store_glue_submit(struct cfsd *d, struct ipc_client *c, uint32_t id, const struct op *op)
{
	struct cfsd_batch *b = &d->batch[d->cur];
	struct cfsd_wait *w;
	struct jrec r;
	size_t off = b->ops.len;
	int rc;

	op_encode(op, &b->ops);
	r.type = JREC_ENTRY;
	r.index = journal_last_index(d->journal) + 1;
	r.term = d->term;
	r.p = b->ops.p + off;
	r.len = (uint32_t)(b->ops.len - off);
	rc = journal_append(d->journal, &r);
	if (rc < 0) {
		b->ops.len = off;
		enter_readonly(d, rc);
		ipc_reply(c, id, -EIO, NULL, 0);
		return;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->w = xrealloc(b->w, b->cap * sizeof(*b->w));
	}
	w = &b->w[b->n++];
	w->c = c;
	w->id = id;
	w->index = r.index;
	w->off = off;
	w->len = r.len;
	d->writes++;
}

void store_glue_flush(struct cfsd *d)
{
	struct cfsd_batch *b;
	struct op op;
	size_t i;
	int rc;

	while (d->batch[d->cur].n) {
		b = &d->batch[d->cur];
		d->cur ^= 1; /* replies below may queue new ops: into the other batch */
		rc = journal_sync(d->journal);
		d->syncs++;
		if (rc < 0) {
			enter_readonly(d, rc);
			for (i = 0; i < b->n; i++)
				ipc_reply(b->w[i].c, b->w[i].id, -EIO, NULL, 0);
		} else {
			for (i = 0; i < b->n; i++) {
				struct cfsd_wait *w = &b->w[i];

				rc = op_decode(b->ops.p + w->off, w->len, &op);
				if (rc == 0)
					rc = rules_apply(d->rules, &op);
				d->applied = w->index;
				d->last_term = d->term;
				ipc_reply(w->c, w->id, rc, NULL, 0);
			}
		}
		b->n = 0;
		buf_reset(&b->ops);
		if (b->ops.cap > 8 * MiB) /* after a burst of big files */
			buf_free(&b->ops);
	}
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
	ev_prepare_init(&d->flush, flush_cb);
	ev_prepare_start(d->loop, &d->flush);
	ev_child_init(&d->compact_w, compact_done_cb, 0, 0);
}

void store_glue_close(struct cfsd *d)
{
	int st, i;

	if (d->flush.active)
		ev_prepare_stop(d->loop, &d->flush);
	if (d->compact_pid) {
		ev_child_stop(d->loop, &d->compact_w);
		if (waitpid(d->compact_pid, &st, 0) == d->compact_pid)
			(void)journal_compact_done(d->journal, st);
		d->compact_pid = 0;
	}
	if (d->journal && !d->broken)
		(void)journal_sync(d->journal);
	journal_close(d->journal);
	d->journal = NULL;
	rules_free(d->rules);
	d->rules = NULL;
	for (i = 0; i < 2; i++) {
		free(d->batch[i].w);
		buf_free(&d->batch[i].ops);
	}
}
