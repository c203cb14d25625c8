/* tests/unit/test_op.c - store/op: encoding, decoding, validation */
#include <errno.h>
#include <stdlib.h>
#include "core/buf.h"
#include "core/endian.h"
#include "core/util.h"
#include "store/op.h"
#include "tests/t.h"

static bool op_equal(const struct op *a, const struct op *b)
{
	if (a->type != b->type || a->flags != b->flags || a->writer != b->writer ||
	    a->mtime != b->mtime || a->offset != b->offset || a->len != b->len)
		return false;
	if (strcmp(a->path, b->path))
		return false;
	if (!a->to != !b->to || (a->to && strcmp(a->to, b->to)))
		return false;
	return a->len == 0 || !memcmp(a->data, b->data, a->len);
}

static const uint8_t payload[] = "0123456789";

static const struct op samples[] = {
	{ OP_CREATE, 0, 1, 100, 0, "nodes/pve1/qemu-server/100.conf", NULL, NULL, 0 },
	{ OP_WRITE, OP_F_TRUNC, 2, 200, 6, "a/b", NULL, payload, 10 },
	{ OP_WRITE, 0, 2, 200, 1048575, "a", NULL, NULL, 0 },
	{ OP_PUT, OP_F_EXCL, 3, 300, 0, "storage.cfg", NULL, payload, 4 },
	{ OP_PUT, 0, 3, 300, 0, "x", NULL, NULL, 0 },
	{ OP_MKDIR, 0, 4, 400, 0, "priv/lock/file-storage_cfg", NULL, NULL, 0 },
	{ OP_DELETE, 0, 5, 500, 0, "a/b/c", NULL, NULL, 0 },
	{ OP_DELETE, 0, 5, 500, 0, "", NULL, NULL, 0 },
	{ OP_DELETE, 0, 5, 500, 0xffffffffffull, "priv/lock/l", NULL, NULL, 0 },
	{ OP_RENAME, 0, 6, 600, 0, "x.tmp.42", "x", NULL, 0 },
	{ OP_MTIME, 0, 7, 700, 0xffffffffu, "priv/lock/l", NULL, NULL, 0 },
	{ OP_NOOP, 0, 8, 800, 0, "", NULL, NULL, 0 },
};

static void test_round_trip(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(samples); i++) {
		struct buf b = { 0 };
		struct op o;

		T_EQ_INT(op_check(&samples[i]), 0);
		op_encode(&samples[i], &b);
		T_EQ_INT(b.len, op_encoded_size(&samples[i]));
		T_EQ_INT(op_decode(b.p, b.len, &o), 0);
		T_ASSERT(op_equal(&o, &samples[i]));
		/* pointers borrow the input */
		T_ASSERT((const uint8_t *)o.path >= b.p && (const uint8_t *)o.path < b.p + b.len);
		buf_free(&b);
	}
}

static void test_layout(void)
{
	struct buf b = { 0 };
	struct op o = { OP_RENAME, 0, 0x01020304, 0x0a0b0c0d, 0, "ab", "c", NULL, 0 };

	op_encode(&o, &b);
	T_EQ_INT(b.len, OP_HDR_SIZE + 3 + 2);
	T_EQ_INT(b.p[0], OP_FORMAT);
	T_EQ_INT(b.p[1], OP_RENAME);
	T_EQ_INT(get_le16(b.p + 2), 0);
	T_EQ_INT(get_le32(b.p + 4), 0x01020304);
	T_EQ_INT(get_le32(b.p + 8), 0x0a0b0c0d);
	T_EQ_INT(get_le64(b.p + 12), 0);
	T_EQ_INT(get_le16(b.p + 20), 3);
	T_EQ_INT(get_le16(b.p + 22), 2);
	T_EQ_INT(get_le32(b.p + 24), 0);
	T_EQ_MEM(b.p + 28, "ab\0c\0", 5);
	buf_free(&b);
}

static void test_check(void)
{
	struct op o;
	uint8_t big[1];

#define BAD(field_set, want)                                                  \
	do {                                                                  \
		o = (struct op){ OP_CREATE, 0, 1, 1, 0, "a", NULL, NULL, 0 }; \
		field_set;                                                    \
		T_EQ_INT(op_check(&o), want);                                 \
	} while (0)
	BAD((void)0, 0);
	BAD(o.type = 0, -EINVAL);
	BAD(o.type = 9, -EINVAL);
	BAD(o.flags = OP_F_TRUNC, -EINVAL);
	BAD((o.type = OP_PUT, o.flags = OP_F_TRUNC), -EINVAL);
	BAD((o.type = OP_WRITE, o.flags = OP_F_EXCL), -EINVAL);
	BAD((o.type = OP_WRITE, o.flags = 0x80), -EINVAL);
	BAD(o.path = NULL, -EINVAL);
	BAD(o.path = "/a", -EINVAL);
	BAD(o.path = "a/", -EINVAL);
	BAD(o.path = "a//b", -EINVAL);
	BAD(o.path = "a/./b", -EINVAL);
	BAD(o.path = "..", -EINVAL);
	BAD(o.path = "a/..", -EINVAL);
	BAD(o.to = "b", -EINVAL);
	BAD(o.type = OP_RENAME, -EINVAL);
	BAD((o.type = OP_RENAME, o.to = "b/"), -EINVAL);
	BAD((o.type = OP_WRITE, o.len = 1), -EINVAL); /* data NULL */
	BAD((o.data = big, o.len = 1), -EINVAL);      /* data on create */
	BAD((o.type = OP_PUT, o.data = big, o.len = CFS_FILE_MAX + 1), -EFBIG);
	BAD(o.offset = 1, -EINVAL);
	BAD((o.type = OP_PUT, o.offset = 1), -EINVAL);
	BAD((o.type = OP_MTIME, o.offset = 0x100000000ull), -EINVAL);
	BAD((o.type = OP_NOOP, o.path = "a"), -EINVAL);
#undef BAD
}

static void test_path_canon(void)
{
	char longname[CFS_NAME_MAX + 2], *longpath;

	T_ASSERT(op_path_is_canon(""));
	T_ASSERT(op_path_is_canon("a"));
	T_ASSERT(op_path_is_canon("a/b.c/...d/.e"));
	T_ASSERT(op_path_is_canon("..."));
	T_ASSERT(!op_path_is_canon(NULL));
	T_ASSERT(!op_path_is_canon("/"));
	T_ASSERT(!op_path_is_canon("."));
	T_ASSERT(!op_path_is_canon("a/../b"));
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	T_ASSERT(!op_path_is_canon(longname));
	longname[CFS_NAME_MAX] = 0;
	T_ASSERT(op_path_is_canon(longname));
	/* CFS_PATH_MAX bytes with the NUL fit; one more does not */
	longpath = malloc(CFS_PATH_MAX + 1);
	for (int i = 0; i < CFS_PATH_MAX; i++)
		longpath[i] = (i % 100 == 99) ? '/' : 'p';
	longpath[CFS_PATH_MAX] = 0;
	T_ASSERT(!op_path_is_canon(longpath));
	longpath[CFS_PATH_MAX - 1] = 0;
	T_ASSERT(op_path_is_canon(longpath));
	free(longpath);
	T_EQ_STR(op_type_name(OP_RENAME), "rename");
	T_EQ_STR(op_type_name(99), "?");
}

/* hand-made encodings: header fields, then the bytes */
static size_t mk(uint8_t *p, uint8_t fmt, uint8_t type, uint16_t flags, uint64_t off,
                 const void *path, uint16_t plen, const void *to, uint16_t tlen, uint32_t dlen)
{
	p[0] = fmt;
	p[1] = type;
	put_le16(p + 2, flags);
	put_le32(p + 4, 1);
	put_le32(p + 8, 2);
	put_le64(p + 12, off);
	put_le16(p + 20, plen);
	put_le16(p + 22, tlen);
	put_le32(p + 24, dlen);
	memcpy(p + 28, path, plen);
	if (tlen)
		memcpy(p + 28 + plen, to, tlen);
	memset(p + 28 + plen + tlen, 'd', dlen);
	return 28u + plen + tlen + dlen;
}

static void test_decode_rejects(void)
{
	uint8_t p[256];
	struct op o;
	size_t n;

	n = mk(p, 1, OP_CREATE, 0, 0, "ab", 3, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), 0);
	T_EQ_STR(o.path, "ab");
	T_EQ_INT(op_decode(p, n + 1, &o), -EBADMSG); /* trailing byte */
	T_ASSERT(o.path == NULL);                    /* zeroed on error */
	n = mk(p, 2, OP_CREATE, 0, 0, "ab", 3, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* format */
	n = mk(p, 1, 0, 0, 0, "ab", 3, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* type 0 */
	n = mk(p, 1, 9, 0, 0, "ab", 3, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* type 9 */
	n = mk(p, 1, OP_CREATE, 4, 0, "ab", 3, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* unknown flag */
	n = mk(p, 1, OP_CREATE, 0, 0, "ab", 2, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* unterminated */
	n = mk(p, 1, OP_CREATE, 0, 0, "a\0b", 4, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* embedded NUL */
	n = mk(p, 1, OP_CREATE, 0, 0, "", 0, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* no path at all */
	n = mk(p, 1, OP_CREATE, 0, 0, "/ab", 4, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* leading slash */
	n = mk(p, 1, OP_CREATE, 0, 0, "a/../b", 7, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* dot-dot */
	n = mk(p, 1, OP_CREATE, 0, 0, "a//b", 5, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* empty component */
	n = mk(p, 1, OP_CREATE, 0, 0, "ab", 3, "c", 2, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* target on create */
	n = mk(p, 1, OP_RENAME, 0, 0, "ab", 3, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* rename without target */
	n = mk(p, 1, OP_RENAME, 0, 0, "ab", 3, "c", 2, 0);
	T_EQ_INT(op_decode(p, n, &o), 0);
	T_EQ_STR(o.to, "c");
	n = mk(p, 1, OP_RENAME, 0, 0, "ab", 3, "c", 1, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* unterminated target */
	n = mk(p, 1, OP_CREATE, 0, 0, "ab", 3, NULL, 0, 5);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* data on create */
	n = mk(p, 1, OP_WRITE, 0, 5, "ab", 3, NULL, 0, 5);
	T_EQ_INT(op_decode(p, n, &o), 0);
	T_EQ_INT(o.len, 5);
	T_EQ_INT(o.offset, 5);
	T_EQ_INT(op_decode(p, n - 1, &o), -EBADMSG); /* data cut short */
	n = mk(p, 1, OP_MKDIR, 0, 5, "ab", 3, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* offset on mkdir */
	n = mk(p, 1, OP_MTIME, 0, 0x100000000ull, "ab", 3, NULL, 0, 0);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG); /* mtime > 32 bits */
	/* declared lengths larger than the limits */
	n = mk(p, 1, OP_WRITE, 0, 0, "ab", 3, NULL, 0, 0);
	put_le32(p + 24, CFS_FILE_MAX + 1);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG);
	put_le32(p + 24, 0);
	put_le16(p + 20, 0xffff);
	T_EQ_INT(op_decode(p, n, &o), -EBADMSG);
	T_EQ_INT(op_decode(p, 0, &o), -EBADMSG);
	T_EQ_INT(op_decode(p, 27, &o), -EBADMSG);
}

/* Truncation at every offset and a bit flip at every bit must fail
 * cleanly or decode to an op that is valid and re-encodes to the same
 * bytes. */
static void test_truncate_and_flip(void)
{
	for (size_t s = 0; s < ARRAY_SIZE(samples); s++) {
		struct buf b = { 0 };
		struct op o;

		op_encode(&samples[s], &b);
		for (size_t n = 0; n < b.len; n++) {
			uint8_t *cut = xmemdup(b.p, n ? n : 1);

			T_EQ_INT(op_decode(cut, n, &o), -EBADMSG);
			free(cut);
		}
		for (size_t bit = 0; bit < b.len * 8; bit++) {
			uint8_t *p = xmemdup(b.p, b.len);

			p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (op_decode(p, b.len, &o) == 0) {
				struct buf again = { 0 };

				T_EQ_INT(op_check(&o), 0);
				op_encode(&o, &again);
				T_EQ_INT(again.len, b.len);
				T_ASSERT(again.len == b.len && !memcmp(again.p, p, b.len));
				buf_free(&again);
			}
			free(p);
		}
		buf_free(&b);
	}
}

/* random garbage never crashes the decoder */
static void test_random_bytes(void)
{
	uint8_t p[96];
	struct op o;
	unsigned seed = 12345, ok = 0;

	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(rand_r(&seed) % sizeof(p));

		for (size_t j = 0; j < n; j++)
			p[j] = (uint8_t)rand_r(&seed);
		if (n >= 28 && i % 2) { /* plausible header half of the time */
			p[0] = 1;
			p[1] = (uint8_t)(1 + rand_r(&seed) % 8);
			put_le16(p + 2, 0);
			put_le64(p + 12, 0);
			put_le16(p + 20, (uint16_t)(n - 28));
			put_le16(p + 22, 0);
			put_le32(p + 24, 0);
			p[n - 1] = 0;
		}
		if (op_decode(p, n, &o) == 0) {
			ok++;
			T_EQ_INT(op_check(&o), 0);
		}
	}
	T_ASSERT(ok < 20000);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_round_trip);
	T_RUN(test_layout);
	T_RUN(test_check);
	T_RUN(test_path_canon);
	T_RUN(test_decode_rejects);
	T_RUN(test_truncate_and_flip);
	T_RUN(test_random_bytes);
	return t_done();
}
