/* store/snap.h - snapshot files: <dir>/snap.<gen>, the encoded tree at
 * the base of journal.<gen> (store/journal.h).  Used by journal.c; the
 * blob is opaque here (tree_encode() bytes).
 *
 * File = header, then the blob.  Little-endian through core/endian.h.
 *
 * Header, SNAP_HDR_SIZE = 48 bytes:
 *	off len field
 *	  0   4 magic     SNAP_MAGIC ("CFSS" read as le32)
 *	  4   2 format    SNAP_FORMAT; bumped on any incompatible change
 *	  6   2 flags     0; a reader rejects bits it does not know
 *	  8   8 gen       generation, equal to the one in the file name
 *	 16   8 index     Raft index of the last entry applied to the tree
 *	 24   8 term      term of that entry
 *	 32   8 len       blob bytes, <= SNAP_BLOB_MAX; the file is exactly
 *	                  SNAP_HDR_SIZE + len bytes long
 *	 40   4 hdr_crc   crc32c(0, bytes 0..39)
 *	 44   4 crc       crc32c(0, bytes 0..39, then the blob)
 *
 * The file appears atomically (snap.<gen>.tmp, fsync, rename, fsync of
 * the directory), so a snapshot that does not validate is real damage or
 * a crash before the rename left only the .tmp (which is never read).
 *
 * Errors: 0 or a negative errno:
 *	-EBADMSG  the file does not validate (short, bad magic/format/flags,
 *	          generation mismatch, length or crc mismatch)
 *	-EFBIG    a blob larger than SNAP_BLOB_MAX
 *	other     -errno from open/read/write/fsync/rename, unchanged
 *
 * Ownership: snap_read() gives *blob (malloc'ed, the caller free()s it).
 * Context: any; blocking file I/O, through core/sys.h.
 */
#ifndef STORE_SNAP_H
#define STORE_SNAP_H

#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

#define SNAP_MAGIC    0x53534643u /* "CFSS" read as le32 */
#define SNAP_FORMAT   1
#define SNAP_HDR_SIZE 48
/* the content limit plus generous room for names and metadata */
#define SNAP_BLOB_MAX ((uint64_t)CFS_FS_MAX + (uint64_t)CFS_INODES_MAX * 1024)

struct snap_info {
	uint64_t gen, index, term;
	uint64_t len;       /* blob bytes */
	uint64_t file_size; /* SNAP_HDR_SIZE + len */
};

/* Write <dir>/snap.<gen> atomically and durably; logs on failure. */
int snap_write(const char *dir, uint64_t gen, uint64_t index, uint64_t term, const uint8_t *blob,
               size_t len);

/* Read and validate a snapshot file; gen is the generation its name says.
 * blob may be NULL to validate the header and crc only. */
int snap_read(const char *path, uint64_t gen, struct snap_info *info, uint8_t **blob);

/* As snap_read(), leaving the blob in the file: *map is the whole file
 * mapped read-only (*maplen bytes; the caller munmap()s it) and *blob
 * points into it.  When the file cannot be mapped, -errno from mmap()
 * (snap_read() can still read it); *map is NULL on every error. */
int snap_map(const char *path, uint64_t gen, struct snap_info *info, const uint8_t **blob,
             void **map, size_t *maplen);

#endif /* STORE_SNAP_H */
