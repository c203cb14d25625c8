/* tests/fuzz/fuzz_msg.c - libFuzzer target for net/msg: the datagram
 * decoder, the replay window, reassembly, NACK handling and the timers.
 *
 * The first input byte picks the mode:
 *	even  the rest is fed to msg_recv() as raw datagrams, split at
 *	      2-byte little-endian lengths (the paths before authentication)
 *	odd   the rest is a script of authentic datagrams, sealed here with
 *	      the cluster key so the fuzzer reaches the code after the tag:
 *	        u8 type, u8 sender (1..4), u8 seq step, u8 msgid (0..7),
 *	        u16 index, u16 count, u32 total, u8 time step (x 10 ms),
 *	        u8 payload length (x 8, capped), u8 bits (1: run msg_tick
 *	        after it, 2: set header flags, which is malformed);
 *	      the payload bytes are the input bytes that follow (not consumed).
 * Every input starts from a fresh msg that has just sent a 5000-byte
 * message (so NACKs find it), which is freed at the end, so
 * leaks show up under LeakSanitizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/crypt.h"
#include "core/endian.h"
#include "net/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_send(void *ctx, uint32_t to, const uint8_t *p, size_t len)
{
	(void)ctx;
	(void)to;
	(void)p;
	(void)len;
	return 0;
}

static volatile uint8_t sink;

static void fz_deliver(void *ctx, uint32_t from, const uint8_t *p, size_t len)
{
	size_t i;

	(void)ctx;
	(void)from;
	for (i = 0; i < len; i += 257)
		sink ^= p[i]; /* touch the bytes: ASan checks the bounds */
	if (len)
		sink ^= p[len - 1];
}

static int fz_epoch(void *ctx, uint32_t *epoch)
{
	(void)ctx;
	*epoch = 2;
	return 0;
}

static const struct msg_ops fz_ops = {
	.send = fz_send,
	.deliver = fz_deliver,
	.next_epoch = fz_epoch,
};

static struct crypt_key *key(void)
{
	static struct crypt_key *k;
	uint8_t authkey[128];

	if (!k) {
		memset(authkey, 0x33, sizeof(authkey));
		if (crypt_key_new(authkey, sizeof(authkey), "fuzzclu", &k))
			abort();
	}
	return k;
}

static void raw_mode(struct msg *m, struct rd *r)
{
	const uint8_t *p;
	uint16_t n;

	while (r->left) {
		n = rd_u16(r);
		if (r->err)
			return;
		if (n > r->left)
			n = (uint16_t)r->left;
		p = rd_take(r, n);
		msg_recv(m, p, n, 0);
	}
}

static void script_mode(struct msg *m, struct rd *r)
{
	static uint8_t payload[MSG_DATA_MAX], pkt[MSG_DGRAM_MAX];
	uint64_t seq[5] = { 0, 1ull << 32, 1ull << 32, 1ull << 32, 1ull << 32 };
	struct msg_hdr h;
	double now = 0;
	uint8_t tick;
	int n;

	while (r->left >= 15) {
		memset(&h, 0, sizeof(h));
		h.version = MSG_VERSION;
		h.cluster = msg_cluster_id("fuzzclu");
		h.type = rd_u8(r) % (MSG_TYPE_END + 1);
		h.sender = 1 + rd_u8(r) % 4;              /* 1 is ourselves: dropped */
		seq[h.sender] += (uint64_t)rd_u8(r) - 16; /* mostly forward */
		h.seq = seq[h.sender];
		h.msgid = rd_u8(r) % 8;
		if (h.msgid)
			h.msgid |= 1ull << 32;
		h.index = rd_u16(r);
		h.count = rd_u16(r);
		h.total = rd_u32(r);
		now += rd_u8(r) * 0.01;
		h.len = (uint16_t)(rd_u8(r) * 8u);
		tick = rd_u8(r);
		h.flags = tick >> 1 & 1;   /* malformed */
		if (h.total & 0x80000000u) /* a well-formed fragment, often */
			h.total &= MSG_MAX - 1;
		if (h.type == MSG_FRAG && h.total > MSG_DATA_MAX && h.total <= MSG_MAX &&
		    h.count == 0xffff) {
			h.count = (uint16_t)((h.total + MSG_FRAG_DATA - 1) / MSG_FRAG_DATA);
			h.index %= h.count;
			h.len = (uint16_t)(h.total - h.index * MSG_FRAG_DATA < MSG_FRAG_DATA
			                           ? h.total - h.index * MSG_FRAG_DATA
			                           : MSG_FRAG_DATA);
		}
		if (h.len > MSG_DATA_MAX)
			h.len = MSG_DATA_MAX;
		memset(payload, 0, sizeof(payload));
		memcpy(payload, r->p, r->left < h.len ? r->left : h.len);
		n = msg_seal(key(), &h, payload, pkt);
		if (n > 0)
			msg_recv(m, pkt, (size_t)n, now);
		if (tick & 1)
			msg_tick(m, now);
	}
	msg_tick(m, now + 100);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_conf c = { .node_id = 1,
		              .cluster_id = msg_cluster_id("fuzzclu"),
		              .epoch = 1,
		              .rx_sender_max = 1 << 20,
		              .rx_total_max = 2 << 20 };
	static const uint8_t sent[5000];
	struct msg *m;
	struct rd r;

	if (size < 1)
		return 0;
	if (msg_new(&c, key(), &fz_ops, NULL, &m))
		abort();
	/* something in the sent cache for NACKs to find (msgid 1 << 32 | 1) */
	msg_send(m, 2, sent, sizeof(sent), 0);
	r = rd_init(data + 1, size - 1);
	if (data[0] & 1)
		script_mode(m, &r);
	else
		raw_mode(m, &r);
	msg_free(m);
	return 0;
}
