/* tests/unit/test_core.c - core/: buffers, readers, endian, crc32c, paths */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/buf.h"
#include "core/crc32c.h"
#include "core/endian.h"
#include "core/path.h"
#include "core/sys.h"
#include "core/util.h"
#include "tests/t.h"

static void test_crc32c_vectors(void)
{
	static const uint8_t zeros[32], ones[32] = { [0 ... 31] = 0xff };
	uint8_t inc[32];
	uint32_t whole, part;
	int i;

	for (i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	/* RFC 3720 B.4 */
	T_EQ_INT(crc32c(0, zeros, 32), 0x8a9136aa);
	T_EQ_INT(crc32c(0, ones, 32), 0x62a8ab43);
	T_EQ_INT(crc32c(0, inc, 32), 0x46dd794e);
	T_EQ_INT(crc32c(0, "123456789", 9), 0xe3069283);
	/* continuing from a previous result equals one pass */
	whole = crc32c(7, inc, 32);
	part = crc32c(crc32c(7, inc, 13), inc + 13, 19);
	T_EQ_INT(whole, part);
	T_ASSERT(crc32c(1, inc, 32) != crc32c(0, inc, 32));
}

static void test_buf_and_reader(void)
{
	struct buf b = { 0 };
	struct rd r;
	int i;

	buf_put_u8(&b, 0xab);
	buf_put_le16(&b, 0x1234);
	buf_put_le32(&b, 0xdeadbeef);
	buf_put_le64(&b, 0x0102030405060708ull);
	buf_printf(&b, "x%d", 42);
	T_EQ_INT(b.len, 1 + 2 + 4 + 8 + 3);
	T_EQ_INT(b.p[1], 0x34);
	r = rd_init(b.p, b.len);
	T_EQ_INT(rd_u8(&r), 0xab);
	T_EQ_INT(rd_u16(&r), 0x1234);
	T_EQ_INT(rd_u32(&r), 0xdeadbeef);
	T_ASSERT(rd_u64(&r) == 0x0102030405060708ull);
	T_EQ_INT(r.err, 0);
	T_ASSERT(rd_take(&r, 4) == NULL); /* only 3 left */
	T_EQ_INT(r.err, -EBADMSG);
	T_EQ_INT(rd_u8(&r), 0); /* the error sticks */
	for (i = 0; i < 10000; i++)
		buf_put(&b, "abcdefgh", 8);
	T_EQ_INT(b.len, 18 + 80000);
	T_ASSERT(b.cap >= b.len + 1);
	buf_free(&b);
	T_ASSERT(b.p == NULL && b.len == 0);
}

static void test_path_canon(void)
{
	char p[32];

	T_EQ_INT(path_canon(p, sizeof(p), "/nodes//pve1/"), 0);
	T_EQ_STR(p, "nodes/pve1");
	T_EQ_INT(path_canon(p, sizeof(p), "/"), 0);
	T_EQ_STR(p, "");
	T_EQ_INT(path_canon(p, sizeof(p), ""), 0);
	T_EQ_STR(p, "");
	T_EQ_INT(path_canon(p, sizeof(p), "a/./b"), -EINVAL);
	T_EQ_INT(path_canon(p, sizeof(p), "a/../b"), -EINVAL);
	T_EQ_INT(path_canon(p, sizeof(p), "..."), 0);
	T_EQ_STR(p, "...");
	T_EQ_INT(path_canon(p, 8, "abcd/efgh"), -ENAMETOOLONG);
	T_EQ_INT(path_canon(p, 10, "abcd/efgh"), 0);
	T_EQ_INT(path_fmt(p, 4, "%s", "abcd"), -ENAMETOOLONG);
}

static int fail_fsync(int fd)
{
	(void)fd;
	return -EIO;
}

static void test_write_atomic(void)
{
	const char *dir = t_tmpdir();
	char f[300], *data = NULL;
	size_t len = 0;
	struct stat st;

	snprintf(f, sizeof(f), "%s/a/b/file", dir);
	snprintf(f, sizeof(f), "%s/a/b", dir);
	T_EQ_INT(path_mkdirs(f, 0755), 0);
	snprintf(f, sizeof(f), "%s/a/b/file", dir);
	T_EQ_INT(path_write_atomic(f, "hello", 5, 0640), 0);
	T_EQ_INT(path_read_file(f, 100, &data, &len), 0);
	T_EQ_INT(len, 5);
	T_EQ_STR(data, "hello");
	free(data);
	T_EQ_INT(stat(f, &st), 0);
	T_EQ_INT(st.st_mode & 07777, 0640);
	T_EQ_INT(path_read_file(f, 4, &data, &len), -EFBIG);

	/* a failed fsync leaves the old file in place and no temp file */
	sys.fsync = fail_fsync;
	T_EQ_INT(path_write_atomic(f, "other", 5, 0640), -EIO);
	sys_reset();
	T_EQ_INT(path_read_file(f, 100, &data, &len), 0);
	T_EQ_STR(data, "hello");
	free(data);
	snprintf(f, sizeof(f), "%s/a/b/file.tmp", dir);
	T_ASSERT(access(f, F_OK) < 0);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_crc32c_vectors);
	T_RUN(test_buf_and_reader);
	T_RUN(test_path_canon);
	T_RUN(test_write_atomic);
	return t_done();
}
