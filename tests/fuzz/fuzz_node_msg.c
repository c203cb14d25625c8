/* tests/fuzz/fuzz_node_msg.c - libFuzzer target for the messages cfsd's
 * nodes send each other above the transport: applets/cfsd/node.c's
 * deliver_cb() (NODE_MSG_FWD, HELLO, DIVERGED, UNLOCK; RAFT is left to
 * fuzz_raft_msg).  These bytes come from authenticated peers, but a peer
 * may be wrong or out of date.
 *
 * Input: u8 sender (1..3 are the nodelist, anything else is unknown),
 * then one message.  One node (id 1 of three on loopback) is set up at
 * the first input and made leader alone (expected votes 1); after every
 * message a fake journal "syncs", so proposals commit, are applied and
 * the log is trimmed.  The unlock hook checks the path it is handed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "applets/cfsd/node.c"
#include "core/corosync_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf[] = "totem {\n  version: 2\n  cluster_name: fz\n  transport: udpu\n"
                           "  config_version: 1\n}\n"
                           "nodelist {\n"
                           "  node {\n    name: n1\n    nodeid: 1\n    ring0_addr: 127.0.0.1\n  }\n"
                           "  node {\n    name: n2\n    nodeid: 2\n    ring0_addr: 127.0.0.2\n  }\n"
                           "  node {\n    name: n3\n    nodeid: 3\n    ring0_addr: 127.0.0.3\n  }\n"
                           "}\n";

static struct ev_loop *fz_loop;
static struct node *fz_node;
static uint32_t fz_epoch = 1;
static volatile size_t sink;

static int fz_persist(void *ctx, const struct jrec *r)
{
	(void)ctx;
	sink += r->len;
	return 0;
}

static int fz_apply(void *ctx, const uint8_t *op, size_t len, uint32_t origin, uint64_t index)
{
	(void)ctx;
	(void)origin;
	(void)index;
	sink += len ? op[0] + op[len - 1] : 0;
	return 0;
}

static int fz_encode(void *ctx, struct buf *out)
{
	(void)ctx;
	buf_put_u8(out, 0);
	return 0;
}

static int fz_load(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return 0;
}

static int fz_durable(void *ctx, const uint8_t *blob, size_t n, uint64_t index, uint64_t term)
{
	(void)ctx;
	(void)blob;
	(void)n;
	(void)index;
	(void)term;
	return 0;
}

static int fz_next_epoch(void *ctx, uint32_t *epoch)
{
	(void)ctx;
	*epoch = ++fz_epoch;
	return 0;
}

static void fz_unlock(void *ctx, const char *path, uint64_t version)
{
	size_t len = strlen(path);

	(void)ctx;
	if (!len || len >= CFS_PATH_MAX)
		abort(); /* the decoder must hand over a non-empty C string */
	sink += len + (size_t)version;
}

static const struct node_hooks fz_hooks = {
	.persist = fz_persist,
	.apply = fz_apply,
	.state_encode = fz_encode,
	.state_load = fz_load,
	.snapshot_durable = fz_durable,
	.next_epoch = fz_next_epoch,
	.unlock = fz_unlock,
};

static void fz_sync(void)
{
	if (!node_dirty(fz_node))
		return;
	node_sync_begin(fz_node);
	node_synced(fz_node);
	node_trim(fz_node);
}

static void fz_setup(void)
{
	static struct cluster_conf cc;
	static uint8_t key[256];
	static struct corosync_conf *c; /* kept: cc points into it */
	struct node_conf nc = { 0 };
	char err[256];

	log_level = LOG_LVL_ERR;
	memset(key, 9, sizeof(key));
	if (corosync_conf_parse(conf, sizeof(conf) - 1, "fz.conf", 0, &c, err, sizeof(err)) < 0 ||
	    corosync_conf_cluster(c, &cc, err, sizeof(err)) < 0)
		abort();
	cc.mcastport = 20000 + (unsigned)(getpid() % 20000);
	nc.self = 1;
	nc.name = "n1";
	nc.epoch = 1;
	nc.cc = &cc;
	nc.authkey = key;
	nc.authkey_len = sizeof(key);
	fz_loop = ev_loop_new(EVFLAG_AUTO);
	if (node_new(fz_loop, &nc, &fz_hooks, NULL, &fz_node, err, sizeof(err)) < 0 ||
	    node_start(fz_node) < 0 || node_set_expected(fz_node, 1, err, sizeof(err)) < 0)
		abort();
	/* alone with one expected vote: leader after an election timeout */
	for (int i = 0; i < 300 && !node_leader_ready(fz_node); i++) {
		ev_run(fz_loop, EVRUN_NOWAIT);
		fz_sync();
		usleep(10000);
	}
	if (!node_leader_ready(fz_node))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fz_node)
		fz_setup();
	if (size < 2 || data[1] == NODE_MSG_RAFT)
		return 0;
	deliver_cb(fz_node, data[0], data + 1, size - 1);
	fz_sync();
	return 0;
}
