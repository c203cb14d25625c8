/* tests/unit/test_fuse.c - net/fuse: the request decoder, the answers,
 * READDIR records and the connection's INIT handshake
 * SPDX-License-Identifier: MIT
 *
 * Requests are built byte by byte as the kernel lays them out
 * (include/uapi/linux/fuse.h: the 40-byte fuse_in_header, then the
 * opcode's fuse_*_in, then names or data) and decoded from an exact-size
 * copy, so that ASan sees any read past the end.  Answers are read from
 * the other end of a SOCK_SEQPACKET socketpair that stands in for
 * /dev/fuse: one write() is one message, as on the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/buf.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/util.h"
#include "net/fuse.h"
#include "tests/t.h"

#define UNIQUE 0x1122334455667788ull
#define NODE   0x0102030405060708ull
#define UID    1000
#define GID    33
#define PID    4242

/* ---------------------------------------------------------------- building requests */

/* A request being built (b) and the exact-size copy decoded last. */
struct rq {
	struct buf b;
	uint8_t *copy;
	struct fuse_req q;
};

/* struct fuse_in_header: len, opcode, unique, nodeid, uid, gid, pid,
 * total_extlen (u16), padding (u16) */
static void rq_begin(struct rq *r, uint32_t opcode)
{
	buf_reset(&r->b);
	buf_put_le32(&r->b, 0); /* len: set when decoded */
	buf_put_le32(&r->b, opcode);
	buf_put_le64(&r->b, UNIQUE);
	buf_put_le64(&r->b, NODE);
	buf_put_le32(&r->b, UID);
	buf_put_le32(&r->b, GID);
	buf_put_le32(&r->b, PID);
	buf_put_le16(&r->b, 0);
	buf_put_le16(&r->b, 0);
}

static void rq_name(struct rq *r, const char *s)
{
	buf_put(&r->b, s, strlen(s) + 1);
}

/* Decode the first n bytes of the request with len in the header (if
 * there is room for it). */
static int rq_decode_n(struct rq *r, size_t n, uint32_t len)
{
	free(r->copy);
	r->copy = xmemdup(r->b.p, n);
	if (n >= 4)
		put_le32(r->copy, len);
	return fuse_decode(r->copy, n, &r->q);
}

/* Decode the whole request, its header telling its true length. */
static int rq_decode(struct rq *r)
{
	return rq_decode_n(r, r->b.len, (uint32_t)r->b.len);
}

static void rq_free(struct rq *r)
{
	buf_free(&r->b);
	free(r->copy);
	r->copy = NULL;
}

static void check_header(const struct fuse_req *q, uint32_t opcode)
{
	T_EQ_INT(q->opcode, opcode);
	T_ASSERT(q->unique == UNIQUE);
	T_ASSERT(q->node == NODE);
	T_EQ_INT(q->uid, UID);
	T_EQ_INT(q->gid, GID);
	T_EQ_INT(q->pid, PID);
}

/* ---------------------------------------------------------------- decoding */

static void test_lookup(void)
{
	struct rq r = { 0 };

	rq_begin(&r, FUSE_OP_LOOKUP);
	rq_name(&r, "qemu-server");
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_LOOKUP);
	T_EQ_STR(r.q.name, "qemu-server");
	/* borrowed from the request, right after the header */
	T_ASSERT(r.q.name == (const char *)r.copy + 40);
	T_ASSERT(r.q.newname == NULL);
	T_ASSERT(r.q.data == NULL && r.q.forgets == NULL);

	/* UNLINK and RMDIR carry the name the same way */
	rq_begin(&r, FUSE_OP_UNLINK);
	rq_name(&r, "100.conf");
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.opcode, FUSE_OP_UNLINK);
	T_EQ_STR(r.q.name, "100.conf");
	rq_begin(&r, FUSE_OP_RMDIR);
	rq_name(&r, "lxc");
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_STR(r.q.name, "lxc");
	rq_free(&r);
}

static void test_mkdir(void)
{
	struct rq r = { 0 };

	/* fuse_mkdir_in: mode, umask */
	rq_begin(&r, FUSE_OP_MKDIR);
	buf_put_le32(&r.b, S_IFDIR | 0755);
	buf_put_le32(&r.b, 022);
	rq_name(&r, "priv");
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_MKDIR);
	T_EQ_INT(r.q.mode, S_IFDIR | 0755);
	T_EQ_STR(r.q.name, "priv");
	T_ASSERT(r.q.name == (const char *)r.copy + 48);
	rq_free(&r);
}

static void test_rename(void)
{
	struct rq r = { 0 };

	/* fuse_rename_in: newdir; then the old and the new name */
	rq_begin(&r, FUSE_OP_RENAME);
	buf_put_le64(&r.b, 0xa1a2a3a4a5a6a7a8ull);
	rq_name(&r, "100.conf");
	rq_name(&r, "101.conf.tmp");
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_RENAME);
	T_ASSERT(r.q.newdir == 0xa1a2a3a4a5a6a7a8ull);
	T_EQ_STR(r.q.name, "100.conf");
	T_EQ_STR(r.q.newname, "101.conf.tmp");
	T_ASSERT(r.q.name == (const char *)r.copy + 48);
	T_ASSERT(r.q.newname == (const char *)r.copy + 48 + 9);
	T_EQ_INT(r.q.rename_flags, 0);
	rq_free(&r);
}

static void test_rename2(void)
{
	struct rq r = { 0 };

	/* fuse_rename2_in: newdir, flags, padding; then the two names */
	rq_begin(&r, FUSE_OP_RENAME2);
	buf_put_le64(&r.b, 77);
	buf_put_le32(&r.b, 1); /* RENAME_NOREPLACE */
	buf_put_le32(&r.b, 0xdeadbeef);
	rq_name(&r, "a");
	rq_name(&r, "b");
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_RENAME2);
	T_EQ_INT(r.q.newdir, 77);
	T_EQ_INT(r.q.rename_flags, 1);
	T_EQ_STR(r.q.name, "a");
	T_EQ_STR(r.q.newname, "b");
	T_ASSERT(r.q.name == (const char *)r.copy + 56);

	/* RENAME_EXCHANGE */
	rq_begin(&r, FUSE_OP_RENAME2);
	buf_put_le64(&r.b, 1);
	buf_put_le32(&r.b, 2);
	buf_put_le32(&r.b, 0);
	rq_name(&r, "x");
	rq_name(&r, "y");
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.rename_flags, 2);
	T_EQ_STR(r.q.newname, "y");
	/* flags unknown today pass whole, for the callback to refuse */
	put_le32(r.b.p + 48, 0x40000004);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.rename_flags, 0x40000004);
	rq_free(&r);
}

static void test_create_open(void)
{
	struct rq r = { 0 };

	/* fuse_create_in: flags, mode, umask, open_flags; then the name */
	rq_begin(&r, FUSE_OP_CREATE);
	buf_put_le32(&r.b, O_WRONLY | O_CREAT | O_EXCL);
	buf_put_le32(&r.b, S_IFREG | 0640);
	buf_put_le32(&r.b, 022);
	buf_put_le32(&r.b, 0x5a5a5a5a);
	rq_name(&r, "101.conf");
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_CREATE);
	T_EQ_INT(r.q.flags, O_WRONLY | O_CREAT | O_EXCL);
	T_EQ_INT(r.q.mode, S_IFREG | 0640);
	T_EQ_STR(r.q.name, "101.conf");
	T_ASSERT(r.q.name == (const char *)r.copy + 56);

	/* fuse_open_in: flags, open_flags */
	rq_begin(&r, FUSE_OP_OPEN);
	buf_put_le32(&r.b, O_RDWR | O_TRUNC);
	buf_put_le32(&r.b, 0xffffffff);
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_OPEN);
	T_EQ_INT(r.q.flags, O_RDWR | O_TRUNC);
	T_ASSERT(r.q.name == NULL);

	rq_begin(&r, FUSE_OP_OPENDIR);
	buf_put_le32(&r.b, O_RDONLY | O_DIRECTORY);
	buf_put_le32(&r.b, 0);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.flags, O_RDONLY | O_DIRECTORY);
	rq_free(&r);
}

/* fuse_read_in and fuse_write_in: fh, offset, size, read/write_flags,
 * lock_owner, flags, padding (40 bytes) */
static void put_rw_in(struct rq *r, uint64_t fh, uint64_t off, uint32_t size)
{
	buf_put_le64(&r->b, fh);
	buf_put_le64(&r->b, off);
	buf_put_le32(&r->b, size);
	buf_put_le32(&r->b, 0x01010101);
	buf_put_le64(&r->b, 0x0202020202020202ull);
	buf_put_le32(&r->b, 0x03030303);
	buf_put_le32(&r->b, 0x04040404);
}

static void test_read_write(void)
{
	static const char data[] = "digest: 0123456789abcdef\n";
	struct rq r = { 0 };

	rq_begin(&r, FUSE_OP_READ);
	put_rw_in(&r, 0x1000000000000005ull, 0x200000003ull, 4096);
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_READ);
	T_ASSERT(r.q.fh == 0x1000000000000005ull);
	T_ASSERT(r.q.offset == 0x200000003ull);
	T_EQ_INT(r.q.size, 4096);
	T_ASSERT(r.q.data == NULL);
	T_EQ_INT(r.q.len, 0);

	rq_begin(&r, FUSE_OP_READDIR);
	put_rw_in(&r, 9, 3, 8192);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.fh, 9);
	T_EQ_INT(r.q.offset, 3);
	T_EQ_INT(r.q.size, 8192);

	rq_begin(&r, FUSE_OP_WRITE);
	put_rw_in(&r, 0x1000000000000006ull, 512, (uint32_t)(sizeof(data) - 1));
	buf_put(&r.b, data, sizeof(data) - 1);
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_WRITE);
	T_ASSERT(r.q.fh == 0x1000000000000006ull);
	T_EQ_INT(r.q.offset, 512);
	T_EQ_INT(r.q.size, sizeof(data) - 1);
	T_EQ_INT(r.q.len, sizeof(data) - 1);
	/* the data is borrowed: it follows fuse_write_in */
	T_ASSERT(r.q.data == r.copy + 80);
	T_ASSERT(r.q.data && !memcmp(r.q.data, data, sizeof(data) - 1));

	/* an empty write */
	rq_begin(&r, FUSE_OP_WRITE);
	put_rw_in(&r, 1, 0, 0);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.len, 0);

	/* size beyond the bytes that came */
	rq_begin(&r, FUSE_OP_WRITE);
	put_rw_in(&r, 1, 0, 5);
	buf_put(&r.b, "abcd", 4);
	T_EQ_INT(rq_decode(&r), -EINVAL);
	rq_free(&r);
}

/* struct fuse_setattr_in, 88 bytes: every field at its offset, the ones
 * the decoder skips set to values that would show if it read them */
static void test_setattr(void)
{
	struct rq r = { 0 };
	uint8_t a[88];

	memset(a, 0xee, sizeof(a));
	put_le32(a + 0, FUSE_SET_MODE | FUSE_SET_UID | FUSE_SET_GID | FUSE_SET_SIZE |
	                        FUSE_SET_MTIME | FUSE_SET_FH); /* valid */
	put_le32(a + 4, 0x11111111);                           /* padding */
	put_le64(a + 8, 0x0f0f0f0f0f0f0f01ull);                /* fh */
	put_le64(a + 16, 0x123456789ull);                      /* size */
	put_le64(a + 24, 0x2222222222222222ull);               /* lock_owner */
	put_le64(a + 32, 1600000000);                          /* atime */
	put_le64(a + 40, 0x1779871231ull);                     /* mtime */
	put_le64(a + 48, 1500000000);                          /* ctime */
	put_le32(a + 56, 111);                                 /* atimensec */
	put_le32(a + 60, 222);                                 /* mtimensec */
	put_le32(a + 64, 333);                                 /* ctimensec */
	put_le32(a + 68, S_IFREG | 0600);                      /* mode */
	put_le32(a + 72, 0x44444444);                          /* unused4 */
	put_le32(a + 76, 70000);                               /* uid */
	put_le32(a + 80, 80000);                               /* gid */
	put_le32(a + 84, 0x55555555);                          /* unused5 */
	rq_begin(&r, FUSE_OP_SETATTR);
	buf_put(&r.b, a, sizeof(a));
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_SETATTR);
	T_EQ_INT(r.q.valid, FUSE_SET_MODE | FUSE_SET_UID | FUSE_SET_GID | FUSE_SET_SIZE |
	                            FUSE_SET_MTIME | FUSE_SET_FH);
	T_ASSERT(r.q.fh == 0x0f0f0f0f0f0f0f01ull);
	T_ASSERT(r.q.attr_size == 0x123456789ull);
	T_ASSERT(r.q.mtime == 0x1779871231ull);
	T_EQ_INT(r.q.mode, S_IFREG | 0600);
	T_EQ_INT(r.q.uid_to, 70000);
	T_EQ_INT(r.q.gid_to, 80000);
	rq_free(&r);
}

static void test_release_flush_fsync(void)
{
	struct rq r = { 0 };

	/* fuse_release_in: fh, flags, release_flags, lock_owner */
	rq_begin(&r, FUSE_OP_RELEASE);
	buf_put_le64(&r.b, 0x7000000000000001ull);
	buf_put_le32(&r.b, O_WRONLY);
	buf_put_le32(&r.b, 0x99999999);
	buf_put_le64(&r.b, 0x8888888888888888ull);
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_RELEASE);
	T_ASSERT(r.q.fh == 0x7000000000000001ull);
	T_EQ_INT(r.q.flags, O_WRONLY);

	rq_begin(&r, FUSE_OP_RELEASEDIR);
	buf_put_le64(&r.b, 12);
	buf_put_le32(&r.b, O_RDONLY | O_DIRECTORY);
	buf_put_le32(&r.b, 0);
	buf_put_le64(&r.b, 0);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.fh, 12);

	/* fuse_flush_in: fh, unused, padding, lock_owner */
	rq_begin(&r, FUSE_OP_FLUSH);
	buf_put_le64(&r.b, 0x7000000000000002ull);
	buf_put_le32(&r.b, 0x66666666);
	buf_put_le32(&r.b, 0x77777777);
	buf_put_le64(&r.b, 0x3333333333333333ull);
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_FLUSH);
	T_ASSERT(r.q.fh == 0x7000000000000002ull);

	/* fuse_fsync_in: fh, fsync_flags, padding */
	rq_begin(&r, FUSE_OP_FSYNC);
	buf_put_le64(&r.b, 5);
	buf_put_le32(&r.b, 1); /* FUSE_FSYNC_FDATASYNC */
	buf_put_le32(&r.b, 0xabababab);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.fh, 5);
	T_EQ_INT(r.q.flags, 1);

	/* fuse_getattr_in: getattr_flags, dummy, fh */
	rq_begin(&r, FUSE_OP_GETATTR);
	buf_put_le32(&r.b, 1); /* FUSE_GETATTR_FH */
	buf_put_le32(&r.b, 0xcdcdcdcd);
	buf_put_le64(&r.b, 0x4000000000000004ull);
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_GETATTR);
	T_ASSERT(r.q.fh == 0x4000000000000004ull);

	/* fuse_access_in: mask, padding */
	rq_begin(&r, FUSE_OP_ACCESS);
	buf_put_le32(&r.b, 06); /* R_OK | W_OK */
	buf_put_le32(&r.b, 0xefefefef);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.mode, 06);

	/* fuse_interrupt_in: the unique of the interrupted request */
	rq_begin(&r, FUSE_OP_INTERRUPT);
	buf_put_le64(&r.b, 0x5500000000000055ull);
	T_EQ_INT(rq_decode(&r), 0);
	T_ASSERT(r.q.fh == 0x5500000000000055ull);
	rq_free(&r);
}

static void test_init(void)
{
	struct rq r = { 0 };
	int i;

	/* fuse_init_in as 7.36+ sends it (64 bytes): major, minor,
	 * max_readahead, flags, flags2, unused[11] */
	rq_begin(&r, FUSE_OP_INIT);
	buf_put_le32(&r.b, 7);
	buf_put_le32(&r.b, 38);
	buf_put_le32(&r.b, 131072);
	buf_put_le32(&r.b, 0x73fffffb);
	buf_put_le32(&r.b, 0x00000001);
	for (i = 0; i < 11; i++)
		buf_put_le32(&r.b, 0);
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_INIT);
	T_EQ_INT(r.q.major, 7);
	T_EQ_INT(r.q.minor, 38);
	T_EQ_INT(r.q.init_flags, 0x73fffffb);

	/* before 7.36 it was 16 bytes */
	rq_begin(&r, FUSE_OP_INIT);
	buf_put_le32(&r.b, 7);
	buf_put_le32(&r.b, 31);
	buf_put_le32(&r.b, 65536);
	buf_put_le32(&r.b, 0x28);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.minor, 31);
	T_EQ_INT(r.q.init_flags, 0x28);
	rq_free(&r);
}

static void test_forget(void)
{
	static const uint64_t rec[3][2] = {
		{ 2, 1 },
		{ 0x100000000000000aull, 0x2000000000000001ull },
		{ 0xffffffffffffffffull, 7 },
	};
	struct fuse_forget f;
	struct rq r = { 0 };
	uint32_t i;

	/* fuse_forget_in: nlookup */
	rq_begin(&r, FUSE_OP_FORGET);
	buf_put_le64(&r.b, 0x3000000000000003ull);
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_FORGET);
	T_ASSERT(r.q.nlookup == 0x3000000000000003ull);

	/* fuse_batch_forget_in: count, dummy; then count fuse_forget_one
	 * (nodeid, nlookup) */
	rq_begin(&r, FUSE_OP_BATCH_FORGET);
	buf_put_le32(&r.b, 3);
	buf_put_le32(&r.b, 0x12121212);
	for (i = 0; i < 3; i++) {
		buf_put_le64(&r.b, rec[i][0]);
		buf_put_le64(&r.b, rec[i][1]);
	}
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, FUSE_OP_BATCH_FORGET);
	T_EQ_INT(r.q.count, 3);
	T_ASSERT(r.q.forgets == r.copy + 48);
	for (i = 0; i < 3; i++) {
		memset(&f, 0, sizeof(f));
		fuse_forget_at(&r.q, i, &f);
		T_ASSERT(f.node == rec[i][0]);
		T_ASSERT(f.nlookup == rec[i][1]);
	}

	/* none */
	rq_begin(&r, FUSE_OP_BATCH_FORGET);
	buf_put_le32(&r.b, 0);
	buf_put_le32(&r.b, 0);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.count, 0);

	/* a count the bytes do not hold */
	rq_begin(&r, FUSE_OP_BATCH_FORGET);
	buf_put_le32(&r.b, 3);
	buf_put_le32(&r.b, 0);
	for (i = 0; i < 2; i++) {
		buf_put_le64(&r.b, rec[i][0]);
		buf_put_le64(&r.b, rec[i][1]);
	}
	T_EQ_INT(rq_decode(&r), -EINVAL);
	/* ... also when count * 16 wraps around 32 bits */
	put_le32(r.b.p + 40, 0x10000001);
	T_EQ_INT(rq_decode(&r), -EINVAL);
	put_le32(r.b.p + 40, 0xffffffff);
	T_EQ_INT(rq_decode(&r), -EINVAL);
	/* a record cut short */
	put_le32(r.b.p + 40, 2);
	T_EQ_INT(rq_decode_n(&r, r.b.len - 1, (uint32_t)r.b.len - 1), -EINVAL);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.count, 2);
	rq_free(&r);
}

/* Opcodes the decoder does not look into decode with the header alone
 * (the callback answers ENOSYS); what an earlier decode left is gone. */
static void test_other_opcodes_and_reuse(void)
{
	struct rq r = { 0 };

	rq_begin(&r, FUSE_OP_WRITE);
	put_rw_in(&r, 1, 2, 3);
	buf_put(&r.b, "abc", 3);
	T_EQ_INT(rq_decode(&r), 0);
	T_ASSERT(r.q.data != NULL);
	rq_begin(&r, 22); /* GETXATTR */
	buf_put_le32(&r.b, 0);
	buf_put_le32(&r.b, 0);
	rq_name(&r, "user.x");
	T_EQ_INT(rq_decode(&r), 0);
	check_header(&r.q, 22);
	T_ASSERT(r.q.data == NULL);
	T_EQ_INT(r.q.len, 0);
	T_EQ_INT(r.q.fh, 0);
	T_ASSERT(r.q.name == NULL);

	rq_begin(&r, FUSE_OP_DESTROY);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.opcode, FUSE_OP_DESTROY);
	rq_begin(&r, FUSE_OP_STATFS);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.opcode, FUSE_OP_STATFS);
	rq_free(&r);
}

/* ---------------------------------------------------------------- malformed requests */

static void test_header_len(void)
{
	struct rq r = { 0 };
	size_t n;

	rq_begin(&r, FUSE_OP_LOOKUP);
	rq_name(&r, "nodes");
	/* the header's len must be what read() returned */
	T_EQ_INT(rq_decode_n(&r, r.b.len, (uint32_t)r.b.len + 1), -EBADMSG);
	T_EQ_INT(rq_decode_n(&r, r.b.len, (uint32_t)r.b.len - 1), -EBADMSG);
	T_EQ_INT(rq_decode_n(&r, r.b.len, 0), -EBADMSG);
	T_EQ_INT(rq_decode_n(&r, r.b.len, 0x80000000u + (uint32_t)r.b.len), -EBADMSG);
	T_EQ_INT(rq_decode(&r), 0);
	/* shorter than the header, whatever len says */
	for (n = 0; n < 40; n++) {
		T_EQ_INT(rq_decode_n(&r, n, (uint32_t)n), -EBADMSG);
		T_EQ_INT(rq_decode_n(&r, n, 40), -EBADMSG);
	}
	/* a header alone is a whole request (len 40) */
	rq_begin(&r, FUSE_OP_DESTROY);
	T_EQ_INT(rq_decode_n(&r, 40, 40), 0);
	rq_free(&r);
}

/* One well-formed request per decoded opcode; min: the bytes after the
 * header every shorter request lacks (the kernel's fixed part, or all of
 * it when it ends in names or data). */
static size_t build_case(struct rq *r, int i)
{
	int k;

	switch (i) {
	case 0:
		rq_begin(r, FUSE_OP_LOOKUP);
		rq_name(r, "abc");
		return 4;
	case 1:
		rq_begin(r, FUSE_OP_UNLINK);
		rq_name(r, "abc");
		return 4;
	case 2:
		rq_begin(r, FUSE_OP_RMDIR);
		rq_name(r, "abc");
		return 4;
	case 3:
		rq_begin(r, FUSE_OP_FORGET);
		buf_put_le64(&r->b, 1);
		return 8;
	case 4:
		rq_begin(r, FUSE_OP_GETATTR);
		buf_put_le32(&r->b, 0);
		buf_put_le32(&r->b, 0);
		buf_put_le64(&r->b, 1);
		return 16;
	case 5:
		rq_begin(r, FUSE_OP_SETATTR);
		for (k = 0; k < 11; k++)
			buf_put_le64(&r->b, 1);
		return 88;
	case 6:
		rq_begin(r, FUSE_OP_MKDIR);
		buf_put_le32(&r->b, 0755);
		buf_put_le32(&r->b, 0);
		rq_name(r, "d");
		return 10;
	case 7:
		rq_begin(r, FUSE_OP_RENAME);
		buf_put_le64(&r->b, 1);
		rq_name(r, "a");
		rq_name(r, "bc");
		return 13;
	case 8:
		rq_begin(r, FUSE_OP_RENAME2);
		buf_put_le64(&r->b, 1);
		buf_put_le32(&r->b, 0);
		buf_put_le32(&r->b, 0);
		rq_name(r, "a");
		rq_name(r, "bc");
		return 21;
	case 9:
		rq_begin(r, FUSE_OP_OPEN);
		buf_put_le32(&r->b, 0);
		buf_put_le32(&r->b, 0);
		return 8;
	case 10:
		rq_begin(r, FUSE_OP_OPENDIR);
		buf_put_le32(&r->b, 0);
		buf_put_le32(&r->b, 0);
		return 8;
	case 11:
		rq_begin(r, FUSE_OP_READ);
		put_rw_in(r, 1, 0, 10);
		return 40;
	case 12:
		rq_begin(r, FUSE_OP_READDIR);
		put_rw_in(r, 1, 0, 10);
		return 40;
	case 13:
		rq_begin(r, FUSE_OP_WRITE);
		put_rw_in(r, 1, 0, 3);
		buf_put(&r->b, "xyz", 3);
		return 43;
	case 14:
		rq_begin(r, FUSE_OP_RELEASE);
		buf_put_le64(&r->b, 1);
		buf_put_le64(&r->b, 0);
		buf_put_le64(&r->b, 0);
		return 24;
	case 15:
		rq_begin(r, FUSE_OP_RELEASEDIR);
		buf_put_le64(&r->b, 1);
		buf_put_le64(&r->b, 0);
		buf_put_le64(&r->b, 0);
		return 24;
	case 16:
		rq_begin(r, FUSE_OP_FSYNC);
		buf_put_le64(&r->b, 1);
		buf_put_le64(&r->b, 0);
		return 16;
	case 17:
		rq_begin(r, FUSE_OP_FSYNCDIR);
		buf_put_le64(&r->b, 1);
		buf_put_le64(&r->b, 0);
		return 16;
	case 18:
		rq_begin(r, FUSE_OP_FLUSH);
		buf_put_le64(&r->b, 1);
		buf_put_le64(&r->b, 0);
		buf_put_le64(&r->b, 0);
		return 24;
	case 19:
		rq_begin(r, FUSE_OP_INIT); /* 64 bytes; 16 suffice (before 7.36) */
		buf_put_le32(&r->b, 7);
		buf_put_le32(&r->b, 38);
		for (k = 0; k < 14; k++)
			buf_put_le32(&r->b, 0);
		return 16;
	case 20:
		rq_begin(r, FUSE_OP_ACCESS);
		buf_put_le32(&r->b, 4);
		buf_put_le32(&r->b, 0);
		return 8;
	case 21:
		rq_begin(r, FUSE_OP_CREATE);
		buf_put_le32(&r->b, O_CREAT);
		buf_put_le32(&r->b, 0644);
		buf_put_le32(&r->b, 0);
		buf_put_le32(&r->b, 0);
		rq_name(r, "f");
		return 18;
	case 22:
		rq_begin(r, FUSE_OP_INTERRUPT);
		buf_put_le64(&r->b, 1);
		return 8;
	case 23:
		rq_begin(r, FUSE_OP_BATCH_FORGET);
		buf_put_le32(&r->b, 2);
		buf_put_le32(&r->b, 0);
		for (k = 0; k < 4; k++)
			buf_put_le64(&r->b, 1);
		return 40;
	default:
		return 0;
	}
}

static void test_truncated_args(void)
{
	struct rq r = { 0 };
	size_t min, n;
	int i, rc;

	for (i = 0; (min = build_case(&r, i)) != 0; i++) {
		if (r.b.len < 40 + min) {
			t_fail(__FILE__, __LINE__, "case %d: %zu bytes, min %zu", i, r.b.len, min);
			continue;
		}
		rc = rq_decode(&r);
		if (rc)
			t_fail(__FILE__, __LINE__, "case %d (opcode %u): whole request: %d", i,
			       get_le32(r.b.p + 4), rc);
		for (n = 40; n < 40 + min; n++) {
			rc = rq_decode_n(&r, n, (uint32_t)n);
			if (rc != -EINVAL)
				t_fail(__FILE__, __LINE__,
				       "case %d (opcode %u) cut to %zu of %zu bytes: %d, not -EINVAL",
				       i, get_le32(r.b.p + 4), n, r.b.len, rc);
		}
		for (; n < r.b.len; n++) {
			rc = rq_decode_n(&r, n, (uint32_t)n);
			if (rc)
				t_fail(__FILE__, __LINE__,
				       "case %d (opcode %u) cut to %zu of %zu bytes: %d, not 0", i,
				       get_le32(r.b.p + 4), n, r.b.len, rc);
		}
	}
	T_EQ_INT(i, 24);
	rq_free(&r);
}

static void test_bad_names(void)
{
	char longname[FUSE_NAME_MAX + 2];
	struct rq r = { 0 };

	/* no NUL before the end */
	rq_begin(&r, FUSE_OP_LOOKUP);
	buf_put(&r.b, "abc", 3);
	T_EQ_INT(rq_decode(&r), -EINVAL);
	/* empty */
	rq_begin(&r, FUSE_OP_LOOKUP);
	rq_name(&r, "");
	T_EQ_INT(rq_decode(&r), -EINVAL);
	/* a '/' anywhere */
	rq_begin(&r, FUSE_OP_LOOKUP);
	rq_name(&r, "a/b");
	T_EQ_INT(rq_decode(&r), -EINVAL);
	rq_begin(&r, FUSE_OP_LOOKUP);
	rq_name(&r, "/");
	T_EQ_INT(rq_decode(&r), -EINVAL);
	rq_begin(&r, FUSE_OP_UNLINK);
	rq_name(&r, "ab/");
	T_EQ_INT(rq_decode(&r), -EINVAL);

	/* FUSE_NAME_MAX bytes pass, one more is too long */
	memset(longname, 'n', sizeof(longname));
	longname[FUSE_NAME_MAX] = 0;
	rq_begin(&r, FUSE_OP_LOOKUP);
	rq_name(&r, longname);
	T_EQ_INT(rq_decode(&r), 0);
	T_EQ_INT(r.q.name ? strlen(r.q.name) : 0, FUSE_NAME_MAX);
	longname[FUSE_NAME_MAX] = 'n';
	longname[FUSE_NAME_MAX + 1] = 0;
	rq_begin(&r, FUSE_OP_LOOKUP);
	rq_name(&r, longname);
	T_EQ_INT(rq_decode(&r), -ENAMETOOLONG);
	rq_begin(&r, FUSE_OP_MKDIR);
	buf_put_le32(&r.b, 0755);
	buf_put_le32(&r.b, 0);
	rq_name(&r, longname);
	T_EQ_INT(rq_decode(&r), -ENAMETOOLONG);

	/* MKDIR and CREATE check their name */
	rq_begin(&r, FUSE_OP_MKDIR);
	buf_put_le32(&r.b, 0755);
	buf_put_le32(&r.b, 0);
	rq_name(&r, "x/y");
	T_EQ_INT(rq_decode(&r), -EINVAL);
	rq_begin(&r, FUSE_OP_CREATE);
	buf_put_le32(&r.b, O_CREAT);
	buf_put_le32(&r.b, 0600);
	buf_put_le32(&r.b, 0);
	buf_put_le32(&r.b, 0);
	rq_name(&r, "");
	T_EQ_INT(rq_decode(&r), -EINVAL);

	/* RENAME: either name */
	rq_begin(&r, FUSE_OP_RENAME);
	buf_put_le64(&r.b, 1);
	rq_name(&r, "a");
	rq_name(&r, "");
	T_EQ_INT(rq_decode(&r), -EINVAL);
	rq_begin(&r, FUSE_OP_RENAME);
	buf_put_le64(&r.b, 1);
	rq_name(&r, "a");
	rq_name(&r, "../b");
	T_EQ_INT(rq_decode(&r), -EINVAL);
	rq_begin(&r, FUSE_OP_RENAME);
	buf_put_le64(&r.b, 1);
	rq_name(&r, "a/");
	rq_name(&r, "b");
	T_EQ_INT(rq_decode(&r), -EINVAL);
	rq_begin(&r, FUSE_OP_RENAME);
	buf_put_le64(&r.b, 1);
	rq_name(&r, "a");
	buf_put(&r.b, "b", 1); /* no NUL */
	T_EQ_INT(rq_decode(&r), -EINVAL);
	rq_begin(&r, FUSE_OP_RENAME2);
	buf_put_le64(&r.b, 1);
	buf_put_le32(&r.b, 0);
	buf_put_le32(&r.b, 0);
	rq_name(&r, "a");
	rq_name(&r, longname);
	T_EQ_INT(rq_decode(&r), -ENAMETOOLONG);
	rq_free(&r);
}

/* Every single-bit flip of a RENAME2: never a read past the end (ASan),
 * and what decodes keeps its promises. */
static void test_bit_flips(void)
{
	struct rq r = { 0 };
	size_t i, bit, len, bad = 0;
	uint8_t *p;
	int rc;

	rq_begin(&r, FUSE_OP_RENAME2);
	buf_put_le64(&r.b, 1);
	buf_put_le32(&r.b, 0);
	buf_put_le32(&r.b, 0);
	rq_name(&r, "nodes");
	rq_name(&r, "lxc");
	put_le32(r.b.p, (uint32_t)r.b.len);
	len = r.b.len;
	p = xmemdup(r.b.p, len);
	for (i = 0; i < len; i++)
		for (bit = 0; bit < 8; bit++) {
			p[i] ^= (uint8_t)(1u << bit);
			rc = fuse_decode(p, len, &r.q);
			if (rc == 0 && r.q.opcode == FUSE_OP_RENAME2 &&
			    (!r.q.name || !r.q.newname || strchr(r.q.name, '/') ||
			     strchr(r.q.newname, '/') || !*r.q.name || !*r.q.newname))
				bad++;
			if (rc != 0 && rc != -EINVAL && rc != -EBADMSG && rc != -ENAMETOOLONG)
				bad++;
			p[i] ^= (uint8_t)(1u << bit);
		}
	T_EQ_INT(bad, 0);
	T_EQ_INT(fuse_decode(p, len, &r.q), 0);
	free(p);
	rq_free(&r);
}

/* ---------------------------------------------------------------- READDIR records */

static void test_dirent(void)
{
	struct buf b = { 0 };
	static const uint8_t zero[8];
	size_t len;

	/* garbage where the records go: padding must be written as zeroes */
	buf_reserve(&b, 256);
	memset(b.p, 0xa5, 256);

	/* fuse_dirent: ino, off, namelen, type, name, zeroes to 8 bytes */
	T_ASSERT(fuse_dirent_add(&b, 4096, 0x1122334455667788ull, 1, S_IFDIR >> 12, "a"));
	T_EQ_INT(b.len, 32);
	T_ASSERT(get_le64(b.p) == 0x1122334455667788ull);
	T_EQ_INT(get_le64(b.p + 8), 1);
	T_EQ_INT(get_le32(b.p + 16), 1);
	T_EQ_INT(get_le32(b.p + 20), S_IFDIR >> 12);
	T_EQ_INT(b.p[24], 'a');
	T_EQ_MEM(b.p + 25, zero, 7);

	/* 8 bytes of name: no padding */
	T_ASSERT(fuse_dirent_add(&b, 4096, 7, 2, S_IFREG >> 12, "100.conf"));
	T_EQ_INT(b.len, 64);
	T_EQ_INT(get_le64(b.p + 32), 7);
	T_EQ_INT(get_le64(b.p + 40), 2);
	T_EQ_INT(get_le32(b.p + 48), 8);
	T_EQ_INT(get_le32(b.p + 52), S_IFREG >> 12);
	T_EQ_MEM(b.p + 56, "100.conf", 8);

	/* 9 bytes: 7 of padding */
	T_ASSERT(fuse_dirent_add(&b, 4096, 8, 3, S_IFLNK >> 12, "123456789"));
	T_EQ_INT(b.len, 104);
	T_EQ_INT(get_le32(b.p + 64 + 16), 9);
	T_EQ_INT(get_le32(b.p + 64 + 20), S_IFLNK >> 12);
	T_EQ_MEM(b.p + 64 + 24, "123456789", 9);
	T_EQ_MEM(b.p + 64 + 33, zero, 7);

	/* the next record needs 32 bytes: max one short is refused and
	 * leaves the buffer as it was; max exactly enough is taken */
	len = b.len;
	T_ASSERT(!fuse_dirent_add(&b, len + 31, 9, 4, S_IFREG >> 12, "ab"));
	T_EQ_INT(b.len, len);
	T_ASSERT(!fuse_dirent_add(&b, len, 9, 4, S_IFREG >> 12, "ab"));
	T_EQ_INT(b.len, len);
	T_ASSERT(fuse_dirent_add(&b, len + 32, 9, 4, S_IFREG >> 12, "ab"));
	T_EQ_INT(b.len, len + 32);
	T_EQ_INT(get_le32(b.p + len + 16), 2);
	T_EQ_MEM(b.p + len + 26, zero, 6);
	/* the padding counts: 24 + 2 bytes would fit in 26, the record not */
	buf_reset(&b);
	T_ASSERT(!fuse_dirent_add(&b, 26, 9, 4, S_IFREG >> 12, "ab"));
	T_ASSERT(!fuse_dirent_add(&b, 0, 9, 4, S_IFREG >> 12, "ab"));
	T_EQ_INT(b.len, 0);
	buf_free(&b);
}

/* ---------------------------------------------------------------- answers and the connection */

/* A connection on one end of a SOCK_SEQPACKET pair; the test is the
 * kernel at the other end. */
struct fx {
	struct ev_loop *loop;
	struct fuse_conn *fc;
	int kfd;
	int calls;
	struct fuse_req last;
	char last_name[FUSE_NAME_MAX + 1];
	uint8_t ans[512]; /* the last answer */
	ssize_t ans_len;
};

static void fx_cb(void *ctx, struct fuse_conn *fc, const struct fuse_req *q)
{
	struct fx *f = ctx;

	T_ASSERT(fc == f->fc);
	f->calls++;
	f->last = *q;
	f->last.name = f->last.newname = NULL; /* borrowed for the call */
	f->last.data = f->last.forgets = NULL;
	snprintf(f->last_name, sizeof(f->last_name), "%s", q->name ? q->name : "");
}

static bool fx_open(struct fx *f)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	f->kfd = -1;
	f->loop = ev_loop_new(EVFLAG_AUTO);
	if (!f->loop || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		t_fail(__FILE__, __LINE__, "loop or socketpair: %s", strerror(errno));
		return false;
	}
	f->kfd = sv[1];
	T_EQ_INT(fuse_conn_new(f->loop, sv[0], fx_cb, f, &f->fc), 0);
	T_ASSERT(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	T_ASSERT(!fuse_conn_ready(f->fc));
	return true;
}

static void fx_close(struct fx *f)
{
	fuse_conn_free(f->fc);
	if (f->kfd >= 0)
		close(f->kfd);
	if (f->loop)
		ev_loop_destroy(f->loop);
}

/* the next answer, or -1 if there is none */
static ssize_t fx_answer(struct fx *f)
{
	memset(f->ans, 0xa5, sizeof(f->ans));
	f->ans_len = recv(f->kfd, f->ans, sizeof(f->ans), MSG_DONTWAIT);
	return f->ans_len;
}

/* fuse_out_header: len, error, unique */
static void check_out(struct fx *f, size_t body, int32_t err, uint64_t unique)
{
	T_EQ_INT(f->ans_len, 16 + (ssize_t)body);
	T_EQ_INT(get_le32(f->ans), 16 + body);
	T_EQ_INT((int32_t)get_le32(f->ans + 4), err);
	T_ASSERT(get_le64(f->ans + 8) == unique);
}

/* struct fuse_attr (88 bytes) as put_attr() fills it from a */
static void check_attr(const uint8_t *p, const struct fuse_attr *a)
{
	T_ASSERT(get_le64(p) == a->ino);
	T_ASSERT(get_le64(p + 8) == a->size);
	T_ASSERT(get_le64(p + 16) == (a->size + 511) / 512); /* blocks */
	T_ASSERT(get_le64(p + 24) == a->mtime);              /* atime */
	T_ASSERT(get_le64(p + 32) == a->mtime);
	T_ASSERT(get_le64(p + 40) == a->mtime); /* ctime */
	T_EQ_INT(get_le32(p + 48), 0);          /* atimensec */
	T_EQ_INT(get_le32(p + 52), 0);
	T_EQ_INT(get_le32(p + 56), 0);
	T_EQ_INT(get_le32(p + 60), a->mode);
	T_EQ_INT(get_le32(p + 64), a->nlink);
	T_EQ_INT(get_le32(p + 68), a->uid);
	T_EQ_INT(get_le32(p + 72), a->gid);
	T_EQ_INT(get_le32(p + 76), 0);    /* rdev */
	T_EQ_INT(get_le32(p + 80), 4096); /* blksize */
	T_EQ_INT(get_le32(p + 84), 0);    /* flags */
}

static void test_replies(void)
{
	static const struct fuse_attr a = { .ino = 0x100000000000002aull,
		                            .size = 1025,
		                            .mtime = 1779871231,
		                            .mode = S_IFREG | 0640,
		                            .nlink = 2,
		                            .uid = 0,
		                            .gid = 33 };
	struct fx f;

	if (!fx_open(&f))
		goto out;

	fuse_reply_err(f.fc, 5, -ENOENT);
	T_EQ_INT(fx_answer(&f), 16);
	check_out(&f, 0, -ENOENT, 5);
	fuse_reply_err(f.fc, UNIQUE, 0);
	T_EQ_INT(fx_answer(&f), 16);
	check_out(&f, 0, 0, UNIQUE);

	/* fuse_entry_out: nodeid, generation, entry_valid, attr_valid,
	 * entry_valid_nsec, attr_valid_nsec, attr */
	fuse_reply_entry(f.fc, 6, &a, 1.25);
	T_EQ_INT(fx_answer(&f), 16 + 128);
	check_out(&f, 128, 0, 6);
	T_ASSERT(get_le64(f.ans + 16) == a.ino);
	T_EQ_INT(get_le64(f.ans + 24), 0);
	T_EQ_INT(get_le64(f.ans + 32), 1);
	T_EQ_INT(get_le64(f.ans + 40), 1);
	T_EQ_INT(get_le32(f.ans + 48), 250000000);
	T_EQ_INT(get_le32(f.ans + 52), 250000000);
	check_attr(f.ans + 56, &a);

	/* fuse_attr_out: attr_valid, attr_valid_nsec, dummy, attr */
	fuse_reply_attr(f.fc, 7, &a, 3.5);
	T_EQ_INT(fx_answer(&f), 16 + 104);
	check_out(&f, 104, 0, 7);
	T_EQ_INT(get_le64(f.ans + 16), 3);
	T_EQ_INT(get_le32(f.ans + 24), 500000000);
	T_EQ_INT(get_le32(f.ans + 28), 0);
	check_attr(f.ans + 32, &a);

	/* fuse_open_out: fh, open_flags, padding */
	fuse_reply_open(f.fc, 8, 0x7000000000000009ull, FUSE_FOPEN_DIRECT_IO);
	T_EQ_INT(fx_answer(&f), 16 + 16);
	check_out(&f, 16, 0, 8);
	T_ASSERT(get_le64(f.ans + 16) == 0x7000000000000009ull);
	T_EQ_INT(get_le32(f.ans + 24), FUSE_FOPEN_DIRECT_IO);
	T_EQ_INT(get_le32(f.ans + 28), 0);

	/* CREATE: fuse_entry_out, then fuse_open_out */
	fuse_reply_create(f.fc, 9, &a, 0, 44, FUSE_FOPEN_DIRECT_IO);
	T_EQ_INT(fx_answer(&f), 16 + 144);
	check_out(&f, 144, 0, 9);
	T_ASSERT(get_le64(f.ans + 16) == a.ino);
	T_EQ_INT(get_le64(f.ans + 32), 0);
	T_EQ_INT(get_le32(f.ans + 48), 0);
	check_attr(f.ans + 56, &a);
	T_EQ_INT(get_le64(f.ans + 144), 44);
	T_EQ_INT(get_le32(f.ans + 152), FUSE_FOPEN_DIRECT_IO);
	T_EQ_INT(get_le32(f.ans + 156), 0);

	fuse_reply_data(f.fc, 10, "hello", 5);
	T_EQ_INT(fx_answer(&f), 21);
	check_out(&f, 5, 0, 10);
	T_EQ_MEM(f.ans + 16, "hello", 5);
	fuse_reply_data(f.fc, 11, NULL, 0); /* end of file */
	T_EQ_INT(fx_answer(&f), 16);
	check_out(&f, 0, 0, 11);

	/* fuse_write_out: size, padding */
	fuse_reply_write(f.fc, 12, 131072);
	T_EQ_INT(fx_answer(&f), 24);
	check_out(&f, 8, 0, 12);
	T_EQ_INT(get_le32(f.ans + 16), 131072);
	T_EQ_INT(get_le32(f.ans + 20), 0);

	/* fuse_kstatfs: blocks, bfree, bavail, files, ffree, bsize, namelen,
	 * frsize, padding, spare[6] */
	fuse_reply_statfs(f.fc, 13, 1000, 600, 50, 40, 4096, 255);
	T_EQ_INT(fx_answer(&f), 16 + 80);
	check_out(&f, 80, 0, 13);
	T_EQ_INT(get_le64(f.ans + 16), 1000);
	T_EQ_INT(get_le64(f.ans + 24), 600);
	T_EQ_INT(get_le64(f.ans + 32), 600);
	T_EQ_INT(get_le64(f.ans + 40), 50);
	T_EQ_INT(get_le64(f.ans + 48), 40);
	T_EQ_INT(get_le32(f.ans + 56), 4096);
	T_EQ_INT(get_le32(f.ans + 60), 255);
	T_EQ_INT(get_le32(f.ans + 64), 4096);
	{
		static const uint8_t zero[28];

		T_EQ_MEM(f.ans + 68, zero, 28);
	}
	T_EQ_INT(fx_answer(&f), -1); /* nothing more was sent */
out:
	fx_close(&f);
}

/* the kernel sends a request: the connection reads it in the loop */
static void fx_send(struct fx *f, struct rq *r)
{
	put_le32(r->b.p, (uint32_t)r->b.len);
	T_EQ_INT(send(f->kfd, r->b.p, r->b.len, 0), r->b.len);
	ev_run(f->loop, EVRUN_NOWAIT);
}

static void rq_init_in(struct rq *r, uint32_t major, uint32_t minor, uint32_t flags)
{
	rq_begin(r, FUSE_OP_INIT);
	buf_put_le32(&r->b, major);
	buf_put_le32(&r->b, minor);
	buf_put_le32(&r->b, 131072);
	buf_put_le32(&r->b, flags);
}

static void test_conn(void)
{
	struct rq r = { 0 };
	struct fx f;

	if (!fx_open(&f))
		goto out;
	/* before INIT: EIO, the callback is not called */
	rq_begin(&r, FUSE_OP_GETATTR);
	buf_put_le64(&r.b, 0);
	buf_put_le64(&r.b, 0);
	fx_send(&f, &r);
	T_EQ_INT(fx_answer(&f), 16);
	check_out(&f, 0, -EIO, UNIQUE);
	T_EQ_INT(f.calls, 0);

	/* INIT 7.38 with ASYNC_READ | ATOMIC_O_TRUNC | BIG_WRITES: 7.31,
	 * the two flags cfsd wants, the 64-byte fuse_init_out */
	rq_init_in(&r, 7, 38, (1u << 0) | (1u << 3) | (1u << 5));
	fx_send(&f, &r);
	T_EQ_INT(fx_answer(&f), 16 + 64);
	check_out(&f, 64, 0, UNIQUE);
	T_EQ_INT(get_le32(f.ans + 16), 7);
	T_EQ_INT(get_le32(f.ans + 20), FUSE_MINOR);
	T_EQ_INT(get_le32(f.ans + 28), (1u << 3) | (1u << 5));
	T_EQ_INT(get_le32(f.ans + 16 + 20), FUSE_MAX_WRITE); /* max_write */
	T_ASSERT(fuse_conn_ready(f.fc));
	T_EQ_INT(f.calls, 0);

	/* a request reaches the callback, names and all */
	rq_begin(&r, FUSE_OP_LOOKUP);
	rq_name(&r, "corosync.conf");
	fx_send(&f, &r);
	T_EQ_INT(f.calls, 1);
	T_EQ_INT(f.last.opcode, FUSE_OP_LOOKUP);
	T_ASSERT(f.last.unique == UNIQUE && f.last.node == NODE);
	T_EQ_STR(f.last_name, "corosync.conf");
	T_EQ_INT(fx_answer(&f), -1); /* the callback answers, not the connection */

	/* a malformed one is answered EINVAL and goes no further */
	rq_begin(&r, FUSE_OP_LOOKUP);
	rq_name(&r, "a/b");
	fx_send(&f, &r);
	T_EQ_INT(f.calls, 1);
	T_EQ_INT(fx_answer(&f), 16);
	check_out(&f, 0, -EINVAL, UNIQUE);

	/* DESTROY: answered, then nothing more is read */
	rq_begin(&r, FUSE_OP_DESTROY);
	fx_send(&f, &r);
	T_EQ_INT(fx_answer(&f), 16);
	check_out(&f, 0, 0, UNIQUE);
	rq_begin(&r, FUSE_OP_LOOKUP);
	rq_name(&r, "x");
	fx_send(&f, &r);
	T_EQ_INT(f.calls, 1);
	T_EQ_INT(fx_answer(&f), -1);
out:
	fx_close(&f);
	rq_free(&r);
}

static void test_conn_old_kernels(void)
{
	struct rq r = { 0 };
	struct fx f;

	/* 7.22: the answer ends after max_write (24 bytes) */
	if (!fx_open(&f))
		goto out;
	rq_init_in(&r, 7, 22, 1u << 5);
	fx_send(&f, &r);
	T_EQ_INT(fx_answer(&f), 16 + 24);
	check_out(&f, 24, 0, UNIQUE);
	T_EQ_INT(get_le32(f.ans + 20), 22);
	T_EQ_INT(get_le32(f.ans + 28), 1u << 5);
	T_EQ_INT(get_le32(f.ans + 36), FUSE_MAX_WRITE);
	T_ASSERT(fuse_conn_ready(f.fc));
	fx_close(&f);

	/* 7.11 is too old: EPROTO, not ready */
	if (!fx_open(&f))
		goto out;
	rq_init_in(&r, 7, 11, 0);
	fx_send(&f, &r);
	T_EQ_INT(fx_answer(&f), 16);
	check_out(&f, 0, -EPROTO, UNIQUE);
	T_ASSERT(!fuse_conn_ready(f.fc));
	fx_close(&f);

	/* a newer major: ours is offered, the kernel asks again */
	if (!fx_open(&f))
		goto out;
	rq_init_in(&r, 8, 0, 0);
	fx_send(&f, &r);
	T_EQ_INT(fx_answer(&f), 16 + 8);
	check_out(&f, 8, 0, UNIQUE);
	T_EQ_INT(get_le32(f.ans + 16), 7);
	T_EQ_INT(get_le32(f.ans + 20), FUSE_MINOR);
	T_ASSERT(!fuse_conn_ready(f.fc));
out:
	fx_close(&f);
	rq_free(&r);
	fuse_conn_free(NULL);
	T_ASSERT(!fuse_conn_ready(NULL));
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	log_level = getenv("T_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERR - 1; /* malformed on purpose */
	T_RUN(test_lookup);
	T_RUN(test_mkdir);
	T_RUN(test_rename);
	T_RUN(test_rename2);
	T_RUN(test_create_open);
	T_RUN(test_read_write);
	T_RUN(test_setattr);
	T_RUN(test_release_flush_fsync);
	T_RUN(test_init);
	T_RUN(test_forget);
	T_RUN(test_other_opcodes_and_reuse);
	T_RUN(test_header_len);
	T_RUN(test_truncated_args);
	T_RUN(test_bad_names);
	T_RUN(test_bit_flips);
	T_RUN(test_dirent);
	T_RUN(test_replies);
	T_RUN(test_conn);
	T_RUN(test_conn_old_kernels);
	return t_done();
}
