/* tests/fuzz/fuzz_raft_msg.c - libFuzzer target for net/raft: the message
 * decoder and everything raft_recv() does with what decodes.
 *
 * Input: u8 mode, then records { u8 sender, u8 time step (ms), u16 len
 * (little-endian), len bytes } until the input ends.  Every record's bytes
 * go to raft_msg_decode() (APPEND entries are read back) and to
 * raft_recv() of one node, so sequences of messages drive it through its
 * states.  mode bit 0: the node starts as the leader of a 3-node cluster
 * (it holds 3 of 5 votes) instead of a follower; bit 1: it has a log of a
 * few entries compacted behind a snapshot first.  A fresh node per input,
 * freed at the end, so leaks show up under LeakSanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/endian.h"
#include "core/log.h"
#include "net/raft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void touch(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 61)
		sink ^= p[i]; /* ASan checks the bounds */
	if (len)
		sink ^= p[len - 1];
}

static void fz_send(void *ctx, uint32_t to, const uint8_t *msg, size_t len)
{
	struct raft_msg m;

	(void)ctx;
	(void)to;
	/* what raft sends must decode */
	if (raft_msg_decode(msg, len, &m) != 0)
		abort();
}

static int fz_persist_state(void *ctx, uint64_t term, uint32_t voted_for)
{
	(void)ctx;
	(void)term;
	(void)voted_for;
	return 0;
}

static int fz_persist_entries(void *ctx, const struct raft_entry *e, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		touch(e[i].data, e[i].len);
	return 0;
}

static int fz_persist_trunc(void *ctx, uint64_t last_kept)
{
	(void)ctx;
	(void)last_kept;
	return 0;
}

static void fz_apply(void *ctx, const struct raft_entry *e)
{
	(void)ctx;
	touch(e->data, e->len);
}

static int fz_snapshot_load(void *ctx, struct buf *out, uint64_t *index, uint64_t *term)
{
	struct raft *r = *(struct raft **)ctx;

	buf_put(out, "snapshot", 8);
	*index = raft_snapshot_index(r);
	*term = 1;
	return 0;
}

static int fz_snapshot_install(void *ctx, const uint8_t *p, size_t n, uint64_t index, uint64_t term)
{
	(void)ctx;
	(void)index;
	(void)term;
	touch(p, n);
	return 0;
}

static uint32_t fz_random(void *ctx)
{
	(void)ctx;
	return 12345;
}

static const struct raft_ops fz_ops = {
	.send = fz_send,
	.persist_state = fz_persist_state,
	.persist_entries = fz_persist_entries,
	.persist_trunc = fz_persist_trunc,
	.apply = fz_apply,
	.snapshot_load = fz_snapshot_load,
	.snapshot_install = fz_snapshot_install,
	.random = fz_random,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct raft_node_cfg nodes[3] = { { 1, 1 }, { 2, 1 }, { 3, 1 } };
	struct raft_cfg cfg = { 1, nodes, 3, 20, 100, 0, 0 };
	struct raft *r = NULL;
	uint64_t now = 1000;
	size_t off = 1;
	uint8_t mode;

	if (size < 1)
		return 0;
	log_level = 0;
	mode = data[0];
	if (mode & 1)
		nodes[0].votes = 3;
	if (raft_new(&cfg, &fz_ops, &r, &r) != 0)
		abort();
	if (mode & 2) {
		static const uint8_t op[4] = { 'o', 'p', 0, 1 };
		struct raft_entry e = { 0, 1, RAFT_ENTRY_NORMAL, op, sizeof(op) };

		raft_restore_state(r, 2, 1);
		for (uint64_t i = 1; i <= 6; i++) {
			e.index = i;
			e.term = i < 4 ? 1 : 2;
			raft_restore_entry(r, &e);
		}
	}
	raft_start(r, (mode & 2) ? 4 : 0, now);
	if (mode & 2)
		raft_compact(r, 3);
	raft_synced(r, raft_last_index(r));
	while (off + 4 <= size) {
		uint32_t from = 1 + data[off] % 4; /* 4: not a member; 1: self */
		uint64_t step = data[off + 1];
		size_t len = get_le16(data + off + 2);
		struct raft_msg m;

		off += 4;
		if (len > size - off)
			len = size - off;
		if (raft_msg_decode(data + off, len, &m) == 0 && m.type == RAFT_MSG_APPEND) {
			struct raft_entry e;
			size_t eoff = 0;

			for (uint32_t i = 0; i < m.n_entries; i++) {
				raft_msg_entry(&m, &eoff, m.prev_index + 1 + i, &e);
				touch(e.data, e.len);
			}
			if (eoff != m.entries_len)
				abort();
		}
		now += step;
		raft_recv(r, from, data + off, len, now);
		raft_tick(r, now);
		raft_synced(r, raft_last_index(r));
		off += len;
	}
	if (raft_role(r) == RAFT_LEADER)
		raft_propose(r, (const uint8_t *)"x", 1, NULL);
	raft_free(r);
	return 0;
}
