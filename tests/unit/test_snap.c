/* tests/unit/test_snap.c - store/snap.c: round trip, torn and corrupt
 * snapshot files, failing system calls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/log.h"
#include "core/sys.h"
#include "core/util.h"
#include "store/snap.h"
#include "tests/t.h"

#define T_OK(call)                                                                        \
	do {                                                                              \
		int t_rc_ = (call);                                                       \
		if (t_rc_ < 0)                                                            \
			t_fail(__FILE__, __LINE__, "%s: %s", #call, cfs_strerror(t_rc_)); \
	} while (0)

static const char *pth(const char *dir, const char *name)
{
	static char b[4][CFS_PATH_MAX];
	static int k;

	k = (k + 1) % 4;
	snprintf(b[k], sizeof(b[k]), "%s/%s", dir, name);
	return b[k];
}

static size_t read_file(const char *path, uint8_t **out)
{
	struct stat st;
	size_t n = 0;
	FILE *f;

	*out = NULL;
	if (stat(path, &st) < 0)
		return 0;
	*out = xmalloc((size_t)st.st_size + 1);
	f = fopen(path, "rb");
	if (f) {
		n = fread(*out, 1, (size_t)st.st_size, f);
		fclose(f);
	}
	return n;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	T_ASSERT(f != NULL);
	if (!f)
		return;
	T_EQ_INT(fwrite(p, 1, n, f), n);
	fclose(f);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void test_roundtrip(void)
{
	char *dir = xstrdup(t_tmpdir());
	struct snap_info si = { 0 };
	uint8_t blob[3000], *out = NULL;
	size_t i;

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 31 + 1);
	T_OK(snap_write(dir, 7, 1234, 56, blob, sizeof(blob)));
	T_ASSERT(!exists(pth(dir, "snap.7.tmp")));
	T_OK(snap_read(pth(dir, "snap.7"), 7, &si, &out));
	T_EQ_INT(si.gen, 7);
	T_EQ_INT(si.index, 1234);
	T_EQ_INT(si.term, 56);
	T_EQ_INT(si.len, sizeof(blob));
	T_EQ_INT(si.file_size, SNAP_HDR_SIZE + sizeof(blob));
	T_ASSERT(out && !memcmp(out, blob, sizeof(blob)));
	free(out);

	/* validation only */
	memset(&si, 0, sizeof(si));
	T_OK(snap_read(pth(dir, "snap.7"), 7, &si, NULL));
	T_EQ_INT(si.index, 1234);

	/* the name's generation must match the header's */
	T_EQ_INT(snap_read(pth(dir, "snap.7"), 8, &si, &out), -EBADMSG);
	T_ASSERT(out == NULL);
	T_EQ_INT(snap_read(pth(dir, "snap.9"), 9, &si, &out), -ENOENT);

	/* an empty blob is a valid snapshot */
	T_OK(snap_write(dir, 1, 0, 0, NULL, 0));
	T_OK(snap_read(pth(dir, "snap.1"), 1, &si, &out));
	T_EQ_INT(si.len, 0);
	free(out);
	free(dir);
}

/* Every truncation, every bit flip and a trailing byte fail to validate. */
static void test_damage(void)
{
	char *dir = xstrdup(t_tmpdir());
	struct snap_info si;
	uint8_t blob[200], *orig, *out;
	size_t n, i;

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)i;
	T_OK(snap_write(dir, 2, 10, 3, blob, sizeof(blob)));
	n = read_file(pth(dir, "snap.2"), &orig);
	T_EQ_INT(n, SNAP_HDR_SIZE + sizeof(blob));

	for (i = 0; i < n; i++) {
		write_file(pth(dir, "snap.2"), orig, i);
		out = (uint8_t *)1;
		T_EQ_INT(snap_read(pth(dir, "snap.2"), 2, &si, &out), -EBADMSG);
		T_ASSERT(out == NULL);
	}
	for (i = 0; i < n; i++) {
		orig[i] ^= (uint8_t)(1u << (i % 8));
		write_file(pth(dir, "snap.2"), orig, n);
		T_EQ_INT(snap_read(pth(dir, "snap.2"), 2, &si, &out), -EBADMSG);
		orig[i] ^= (uint8_t)(1u << (i % 8));
	}
	orig = xrealloc(orig, n + 1);
	orig[n] = 0;
	write_file(pth(dir, "snap.2"), orig, n + 1);
	T_EQ_INT(snap_read(pth(dir, "snap.2"), 2, &si, &out), -EBADMSG);
	write_file(pth(dir, "snap.2"), orig, n);
	T_OK(snap_read(pth(dir, "snap.2"), 2, &si, NULL));
	free(orig);
	free(dir);
}

static int fsync_eio(int fd)
{
	(void)fd;
	return -EIO;
}

static int rename_fail(const char *from, const char *to)
{
	(void)from;
	(void)to;
	return -EXDEV;
}

static ssize_t write_enospc(int fd, const void *p, size_t n)
{
	(void)fd;
	(void)p;
	(void)n;
	return -ENOSPC;
}

/* A failed write, fsync or rename leaves neither the snapshot nor its
 * temporary file behind, and the previous snapshot untouched. */
static void test_write_failures(void)
{
	char *dir = xstrdup(t_tmpdir());
	struct snap_info si;
	const uint8_t blob[] = "tree";

	T_OK(snap_write(dir, 3, 5, 1, blob, 4));

	sys.fsync = fsync_eio;
	T_EQ_INT(snap_write(dir, 4, 6, 1, blob, 4), -EIO);
	sys_reset();
	T_ASSERT(!exists(pth(dir, "snap.4")));
	T_ASSERT(!exists(pth(dir, "snap.4.tmp")));

	sys.write = write_enospc;
	T_EQ_INT(snap_write(dir, 4, 6, 1, blob, 4), -ENOSPC);
	sys_reset();
	T_ASSERT(!exists(pth(dir, "snap.4")));
	T_ASSERT(!exists(pth(dir, "snap.4.tmp")));

	sys.rename = rename_fail;
	T_EQ_INT(snap_write(dir, 3, 7, 1, blob, 4), -EXDEV);
	sys_reset();
	T_ASSERT(!exists(pth(dir, "snap.3.tmp")));
	T_OK(snap_read(pth(dir, "snap.3"), 3, &si, NULL));
	T_EQ_INT(si.index, 5);
	free(dir);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	log_level = getenv("T_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERR - 1;
	T_RUN(test_roundtrip);
	T_RUN(test_damage);
	T_RUN(test_write_failures);
	return t_done();
}
