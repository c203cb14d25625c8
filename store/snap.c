/* store/snap.c - snapshot files, see snap.h for the format */
#define LOG_TAG "snap"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "store/snap.h"
#include "core/crc32c.h"
#include "core/endian.h"
#include "core/log.h"
#include "core/path.h"
#include "core/sys.h"

/* Offsets in the header; the table in snap.h is the spec. */
enum {
	SH_MAGIC = 0,
	SH_FORMAT = 4,
	SH_FLAGS = 6,
	SH_GEN = 8,
	SH_INDEX = 16,
	SH_TERM = 24,
	SH_LEN = 32,
	SH_HDR_CRC = 40,
	SH_CRC = 44,
};
_Static_assert(SH_CRC + 4 == SNAP_HDR_SIZE, "snap.h table and SNAP_HDR_SIZE disagree");

int snap_write(const char *dir, uint64_t gen, uint64_t index, uint64_t term, const uint8_t *blob,
               size_t len)
{
	char tmp[CFS_PATH_MAX], dst[CFS_PATH_MAX];
	uint8_t h[SNAP_HDR_SIZE];
	uint32_t crc;
	int fd = -1, rc;

	rc = path_fmt(tmp, sizeof(tmp), "%s/snap.%llu.tmp", dir, (unsigned long long)gen);
	if (rc < 0)
		return rc;
	rc = path_fmt(dst, sizeof(dst), "%s/snap.%llu", dir, (unsigned long long)gen);
	if (rc < 0)
		return rc;
	if ((uint64_t)len > SNAP_BLOB_MAX) {
		rc = -EFBIG;
		goto out_log;
	}

	put_le32(h + SH_MAGIC, SNAP_MAGIC);
	put_le16(h + SH_FORMAT, SNAP_FORMAT);
	put_le16(h + SH_FLAGS, 0);
	put_le64(h + SH_GEN, gen);
	put_le64(h + SH_INDEX, index);
	put_le64(h + SH_TERM, term);
	put_le64(h + SH_LEN, len);
	crc = crc32c(0, h, SH_HDR_CRC);
	put_le32(h + SH_HDR_CRC, crc);
	put_le32(h + SH_CRC, crc32c(crc, blob, len));

	fd = sys.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = fd;
		goto out_log;
	}
	rc = write_all(fd, h, sizeof(h));
	if (rc < 0)
		goto out_unlink_tmp;
	rc = write_all(fd, blob, len);
	if (rc < 0)
		goto out_unlink_tmp;
	rc = sys.fsync(fd);
	if (rc < 0)
		goto out_unlink_tmp;
	rc = sys.close(fd);
	fd = -1;
	if (rc < 0)
		goto out_unlink_tmp;
	rc = sys.rename(tmp, dst);
	if (rc < 0)
		goto out_unlink_tmp;

	/* The rename is durable only once the directory is synced. */
	rc = fsync_dir(dir);
	goto out_log;

out_unlink_tmp:
	if (fd >= 0)
		sys.close(fd);
	sys.unlink(tmp);
out_log:
	if (rc < 0)
		log_err("%s: snapshot not written: %s", dst, cfs_strerror(rc));
	return rc;
}

static int read_at(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *c = p;

	while (n) {
		ssize_t r = sys.pread(fd, c, n, (off_t)off);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EBADMSG; /* shorter than its header says */
		c += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* The header h of a file of size bytes named for gen: 0 and *len, or
 * -EBADMSG. */
static int hdr_check(const uint8_t h[SNAP_HDR_SIZE], uint64_t size, uint64_t gen, uint64_t *len)
{
	if (get_le32(h + SH_MAGIC) != SNAP_MAGIC || get_le16(h + SH_FORMAT) != SNAP_FORMAT ||
	    get_le16(h + SH_FLAGS) != 0 || get_le32(h + SH_HDR_CRC) != crc32c(0, h, SH_HDR_CRC) ||
	    get_le64(h + SH_GEN) != gen)
		return -EBADMSG;
	*len = get_le64(h + SH_LEN);
	if (*len > SNAP_BLOB_MAX || size != SNAP_HDR_SIZE + *len)
		return -EBADMSG;
	return 0;
}

static void info_fill(struct snap_info *info, const uint8_t h[SNAP_HDR_SIZE], uint64_t gen,
                      uint64_t len)
{
	info->gen = gen;
	info->index = get_le64(h + SH_INDEX);
	info->term = get_le64(h + SH_TERM);
	info->len = len;
	info->file_size = SNAP_HDR_SIZE + len;
}

/* Open a snapshot file for reading: the fd, or -errno (-EBADMSG when it
 * is too short to hold a header); *st describes it. */
static int open_sized(const char *path, struct stat *st)
{
	int fd = sys.open(path, O_RDONLY | O_CLOEXEC, 0), rc;

	if (fd < 0)
		return fd;
	rc = fstat(fd, st) < 0 ? -errno : 0;
	if (rc == 0 && (uint64_t)st->st_size < SNAP_HDR_SIZE)
		rc = -EBADMSG;
	if (rc < 0) {
		sys.close(fd);
		return rc;
	}
	return fd;
}

int snap_map(const char *path, uint64_t gen, struct snap_info *info, const uint8_t **blob,
             void **map, size_t *maplen)
{
	struct stat st;
	uint8_t *m;
	uint64_t len;
	int fd, rc;

	*map = NULL;
	fd = open_sized(path, &st);
	if (fd < 0)
		return fd;
	rc = -ENOMEM;
	if ((uint64_t)st.st_size > SIZE_MAX)
		goto out_close;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (m == MAP_FAILED) {
		rc = -errno;
		goto out_close;
	}
	rc = hdr_check(m, (uint64_t)st.st_size, gen, &len);
	if (rc == 0 && get_le32(m + SH_CRC) !=
	                       crc32c(get_le32(m + SH_HDR_CRC), m + SNAP_HDR_SIZE, (size_t)len))
		rc = -EBADMSG;
	if (rc < 0) {
		munmap(m, (size_t)st.st_size);
		goto out_close;
	}
	info_fill(info, m, gen, len);
	*blob = m + SNAP_HDR_SIZE;
	*map = m;
	*maplen = (size_t)st.st_size;
out_close:
	sys.close(fd);
	return rc;
}

int snap_read(const char *path, uint64_t gen, struct snap_info *info, uint8_t **blob)
{
	uint8_t h[SNAP_HDR_SIZE], *p = NULL;
	uint8_t chunk[65536];
	struct stat st;
	uint64_t len, off;
	uint32_t crc;
	int fd, rc;

	if (blob)
		*blob = NULL;
	fd = open_sized(path, &st);
	if (fd < 0)
		return fd;
	rc = read_at(fd, h, sizeof(h), 0);
	if (rc < 0)
		goto out_close;
	rc = hdr_check(h, (uint64_t)st.st_size, gen, &len);
	if (rc < 0)
		goto out_close;
	crc = get_le32(h + SH_HDR_CRC);

	/* len is bounded by SNAP_BLOB_MAX and by the file's real size. */
	if (blob)
		p = xmalloc(len ? (size_t)len : 1);
	for (off = 0; off < len;) {
		size_t n = (size_t)MIN(len - off, (uint64_t)sizeof(chunk));
		uint8_t *dst = p ? p + off : chunk;

		rc = read_at(fd, dst, n, SNAP_HDR_SIZE + off);
		if (rc < 0)
			goto out_free;
		crc = crc32c(crc, dst, n);
		off += n;
	}
	rc = -EBADMSG;
	if (get_le32(h + SH_CRC) != crc)
		goto out_free;

	info_fill(info, h, gen, len);
	if (blob)
		*blob = p;
	p = NULL;
	rc = 0;
out_free:
	free(p);
out_close:
	sys.close(fd);
	return rc;
}
