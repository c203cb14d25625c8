/* tests/unit/test_node.c - applets/cfsd/node: the replicated log of cfsd,
 * alone (local mode) and as a 3-node cluster on loopback in one process.
 *
 * link: applets/cfsd/node.c
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "applets/cfsd/node.h"
#include "core/buf.h"
#include "core/corosync_conf.h"
#include "core/endian.h"
#include "core/loop.h"
#include "core/util.h"
#include "tests/t.h"

/* A fake daemon: an in-memory journal (records kept as copies), a "tree"
 * that is the list of applied ops, and the results of submitted ops. */
struct fake {
	struct ev_loop *loop;
	struct node *node;
	uint32_t id;
	struct buf journal; /* records: u16 type, u64 index, u64 term, u32 len, bytes */
	size_t durable;     /* journal bytes that are synced */
	struct buf applied; /* every applied op, u32 len + bytes */
	size_t n_applied;
	int results[64];
	int n_results;
	uint32_t epoch;
	int writebacks; /* calls of the writeback hook */
	int wb_nothing; /* ... with every record already synced */
	ev_prepare flush;
};

static int f_persist(void *ctx, const struct jrec *r)
{
	struct fake *f = ctx;

	buf_put_le16(&f->journal, r->type);
	buf_put_le64(&f->journal, r->index);
	buf_put_le64(&f->journal, r->term);
	buf_put_le32(&f->journal, r->len);
	buf_put(&f->journal, r->p, r->len);
	return 0;
}

static void f_writeback(void *ctx)
{
	struct fake *f = ctx;

	f->writebacks++;
	if (f->journal.len == f->durable)
		f->wb_nothing++;
}

static int f_apply(void *ctx, const uint8_t *op, size_t len, uint32_t origin, uint64_t index)
{
	struct fake *f = ctx;

	(void)origin;
	(void)index;
	buf_put_le32(&f->applied, (uint32_t)len);
	buf_put(&f->applied, op, len);
	f->n_applied++;
	return len == 4 && !memcmp(op, "fail", 4) ? -EEXIST : 0;
}

static int f_state_encode(void *ctx, struct buf *out)
{
	struct fake *f = ctx;

	buf_put_le32(out, (uint32_t)f->n_applied);
	buf_put(out, f->applied.p, f->applied.len);
	return 0;
}

static int f_state_load(void *ctx, const uint8_t *p, size_t n)
{
	struct fake *f = ctx;

	if (n < 4)
		return -EBADMSG;
	buf_reset(&f->applied);
	f->n_applied = get_le32(p);
	buf_put(&f->applied, p + 4, n - 4);
	return 0;
}

static int f_snapshot_durable(void *ctx, const uint8_t *blob, size_t n, uint64_t index,
                              uint64_t term)
{
	(void)ctx;
	(void)blob;
	(void)n;
	(void)index;
	(void)term;
	return 0;
}

static int f_next_epoch(void *ctx, uint32_t *epoch)
{
	struct fake *f = ctx;

	*epoch = ++f->epoch;
	return 0;
}

static const struct node_hooks hooks = {
	.persist = f_persist,
	.writeback = f_writeback,
	.apply = f_apply,
	.state_encode = f_state_encode,
	.state_load = f_state_load,
	.snapshot_durable = f_snapshot_durable,
	.next_epoch = f_next_epoch,
};

static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct fake *f = container_of(w, struct fake, flush);

	(void)loop;
	(void)revents;
	if (!f->node || !node_dirty(f->node))
		return;
	node_sync_begin(f->node);
	f->durable = f->journal.len;
	node_synced(f->node);
}

static void done_cb(void *ctx, int rc)
{
	struct fake *f = ctx;

	if (f->n_results < 64)
		f->results[f->n_results++] = rc;
}

/* Replay a fake journal into a new node, as cfsd does at start-up. */
static void replay(struct fake *f, size_t upto)
{
	struct rd r = rd_init(f->journal.p, upto);
	struct jrec j;

	while (r.left) {
		j.type = rd_u16(&r);
		j.index = rd_u64(&r);
		j.term = rd_u64(&r);
		j.len = rd_u32(&r);
		j.p = rd_take(&r, j.len);
		T_EQ_INT(r.err, 0);
		if (r.err)
			return;
		T_EQ_INT(node_restore_record(f->node, &j), 0);
	}
}

static void run_for(struct ev_loop *loop, double sec)
{
	double end = ev_time() + sec;

	while (ev_time() < end)
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT), ev_sleep(0.001);
}

static void test_local_mode(void)
{
	struct node_conf nc = { .self = 1, .name = "pve1", .epoch = 1 };
	struct fake f = { 0 };
	char err[200];
	size_t keep;
	int i;

	f.loop = ev_loop_new(EVFLAG_AUTO);
	f.epoch = 1;
	ev_prepare_init(&f.flush, flush_cb);
	ev_prepare_start(f.loop, &f.flush);
	T_EQ_INT(node_new(f.loop, &nc, &hooks, &f, &f.node, err, sizeof(err)), 0);
	T_EQ_INT(node_start(f.node), 0);
	T_ASSERT(node_quorate(f.node));
	T_ASSERT(!node_is_cluster(f.node));
	run_for(f.loop, 0.01);
	for (i = 0; i < 10; i++)
		node_submit(f.node, (const uint8_t *)(i == 5 ? "fail" : "op-x"), 4, done_cb, &f);
	T_EQ_INT(f.n_results, 0); /* nothing answered before the sync */
	run_for(f.loop, 0.05);
	T_EQ_INT(f.n_results, 10);
	T_EQ_INT(f.results[5], -EEXIST);
	T_EQ_INT(f.results[4], 0);
	T_EQ_INT(f.n_applied, 10);
	T_EQ_INT(f.writebacks, 0); /* only a cluster leader starts writing early */

	/* restart from the durable journal: the same ops are applied again */
	keep = f.durable;
	node_free(f.node);
	buf_reset(&f.applied);
	f.n_applied = 0;
	nc.epoch = 2;
	T_EQ_INT(node_new(f.loop, &nc, &hooks, &f, &f.node, err, sizeof(err)), 0);
	replay(&f, keep);
	T_EQ_INT(node_start(f.node), 0);
	T_EQ_INT(f.n_applied, 10);
	node_free(f.node);
	ev_prepare_stop(f.loop, &f.flush);
	ev_loop_destroy(f.loop);
	buf_free(&f.journal);
	buf_free(&f.applied);
}

static const char conf3[] =
        "totem {\n  version: 2\n  cluster_name: unit\n  transport: udpu\n"
        "  config_version: 1\n}\n"
        "nodelist {\n"
        "  node {\n    name: n1\n    nodeid: 1\n    ring0_addr: 127.0.0.1\n  }\n"
        "  node {\n    name: n2\n    nodeid: 2\n    ring0_addr: 127.0.0.2\n  }\n"
        "  node {\n    name: n3\n    nodeid: 3\n    ring0_addr: 127.0.0.3\n  }\n"
        "}\n"
        "quorum {\n  provider: corosync_votequorum\n}\n";

static int leader_of(struct fake *f, int n)
{
	struct node_status st;
	int i;

	for (i = 0; i < n; i++) {
		if (!f[i].node)
			continue;
		node_status(f[i].node, &st);
		if (st.leader == st.self && !strcmp(st.role, "leader"))
			return i;
	}
	return -1;
}

static void test_cluster_of_three(void)
{
	struct corosync_conf *c = NULL;
	struct cluster_conf cc;
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct fake f[3];
	uint8_t key[256];
	char err[256];
	int i, l, before;

	memset(f, 0, sizeof(f));
	memset(key, 7, sizeof(key));
	T_EQ_INT(
	        corosync_conf_parse(conf3, sizeof(conf3) - 1, "unit.conf", 0, &c, err, sizeof(err)),
	        0);
	if (!c)
		return;
	T_EQ_INT(corosync_conf_cluster(c, &cc, err, sizeof(err)), 0);
	cc.mcastport = 15405 + (unsigned)(getpid() % 1000);
	for (i = 0; i < 3; i++) {
		struct node_conf nc = { .self = (uint32_t)i + 1,
			                .name = "n",
			                .epoch = 1,
			                .cc = &cc,
			                .authkey = key,
			                .authkey_len = sizeof(key) };

		f[i].loop = loop;
		f[i].epoch = 1;
		ev_prepare_init(&f[i].flush, flush_cb);
		ev_prepare_start(loop, &f[i].flush);
		T_EQ_INT(node_new(loop, &nc, &hooks, &f[i], &f[i].node, err, sizeof(err)), 0);
		if (!f[i].node) {
			fprintf(stderr, "%s\n", err);
			return;
		}
		T_EQ_INT(node_start(f[i].node), 0);
	}
	/* an election within a second or so */
	for (i = 0; i < 300 && leader_of(f, 3) < 0; i++)
		run_for(loop, 0.01);
	l = leader_of(f, 3);
	T_ASSERT(l >= 0);
	if (l < 0)
		goto out;
	run_for(loop, 0.3);
	for (i = 0; i < 3; i++)
		T_ASSERT(node_quorate(f[i].node));

	/* a write through a follower is forwarded, committed and applied on all */
	i = (l + 1) % 3;
	node_submit(f[i].node, (const uint8_t *)"hello", 5, done_cb, &f[i]);
	node_submit(f[i].node, (const uint8_t *)"fail", 4, done_cb, &f[i]);
	for (int k = 0; k < 200 && f[i].n_results < 2; k++)
		run_for(loop, 0.005);
	T_EQ_INT(f[i].n_results, 2);
	T_EQ_INT(f[i].results[0], 0);
	T_EQ_INT(f[i].results[1], -EEXIST);
	run_for(loop, 0.2);
	for (int k = 0; k < 3; k++) {
		T_EQ_INT(f[k].n_applied, 2);
		/* the leader starts writing its records before it sends them */
		T_ASSERT(k == l ? f[k].writebacks > 0 : f[k].writebacks == 0);
		T_EQ_INT(f[k].wb_nothing, 0);
	}

	/* kill the leader: the other two elect a new one and keep writing */
	before = f[i].n_results;
	node_free(f[l].node);
	f[l].node = NULL;
	node_submit(f[i].node, (const uint8_t *)"after", 5, done_cb, &f[i]);
	for (int k = 0; k < 400 && f[i].n_results == before; k++)
		run_for(loop, 0.005);
	T_EQ_INT(f[i].n_results, before + 1);
	T_EQ_INT(f[i].results[before], 0);
	T_ASSERT(leader_of(f, 3) >= 0 && leader_of(f, 3) != l);
out:
	for (i = 0; i < 3; i++) {
		node_free(f[i].node);
		ev_prepare_stop(loop, &f[i].flush);
		buf_free(&f[i].journal);
		buf_free(&f[i].applied);
	}
	corosync_conf_cluster_free(&cc);
	corosync_conf_free(c);
	ev_loop_destroy(loop);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_local_mode);
	T_RUN(test_cluster_of_three);
	return t_done();
}
