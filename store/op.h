/* store/op.h - the one encoding of a change to the tree.
 *
 * An op is what the proposer (cfsd, on behalf of a client) wants done to
 * the tree.  Its bytes are what the journal stores as an entry payload and
 * what peers replicate; net/ treats them as opaque.  Everything needed to
 * apply it is inside (the writer's node id and the mtime it chose), so
 * every node that applies the same ops in the same order gets the same
 * tree (store/rules.h).
 *
 * Encoding, format OP_FORMAT = 1, little-endian, field by field:
 *	off len field
 *	  0   1 format    OP_FORMAT; anything else is -EBADMSG
 *	  1   1 type      enum op_type
 *	  2   2 flags     OP_F_*; bits not allowed for the type are -EBADMSG
 *	  4   4 writer    node id of the proposer
 *	  8   4 mtime     seconds since the epoch, chosen by the proposer
 *	 12   8 offset    OP_WRITE: byte offset; OP_MTIME: the new mtime
 *	                  (<= UINT32_MAX); OP_DELETE: 0 or the version the
 *	                  entry must still have; 0 for every other type
 *	 20   2 path_len  bytes of path including its NUL, 1..CFS_PATH_MAX
 *	 22   2 to_len    bytes of to including its NUL; 0 = no target
 *	 24   4 data_len  bytes of data, <= CFS_FILE_MAX
 *	 28   . path      canonical tree path, NUL-terminated
 *	  .   . to        canonical tree path, NUL-terminated (OP_RENAME only)
 *	  .   . data      content bytes (OP_WRITE, OP_PUT only)
 * The op is exactly OP_HDR_SIZE + path_len + to_len + data_len bytes;
 * trailing bytes are -EBADMSG.
 *
 * Per type (anything else is -EBADMSG):
 *	type       flags        offset   to    data
 *	OP_CREATE  0            0        no    none
 *	OP_WRITE   OP_F_TRUNC   any      no    any (len may be 0)
 *	OP_PUT     OP_F_EXCL    0        no    any (whole content)
 *	OP_MKDIR   0            0        no    none
 *	OP_DELETE  0            any      no    none
 *	OP_RENAME  0            0        yes   none
 *	OP_MTIME   0            <=2^32-1 no    none
 *	OP_NOOP    0            0        no    none, and path ""
 *
 * Paths are canonical (op_path_is_canon): no leading or trailing '/', no
 * empty, "." or ".." component, components of at most CFS_NAME_MAX bytes,
 * no embedded NUL; "" is the root.  A path that is not canonical is
 * -EBADMSG at decode time (rules_check() reports the user-level errno).
 *
 * Errors: op_decode() returns 0 or -EBADMSG (never anything else; it
 * never logs and never allocates).
 *
 * Ownership: op_decode() fills *op with pointers into p (path, to, data):
 * they are borrowed and valid as long as p is.  op_encode() appends to a
 * buffer the caller owns and reads op only during the call.
 *
 * Context: pure functions, any thread.
 */
#ifndef STORE_OP_H
#define STORE_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

#define OP_FORMAT   1
#define OP_HDR_SIZE 28

enum op_type {
	OP_CREATE = 1, /* create an empty file; EEXIST if it exists */
	OP_WRITE = 2,  /* pwrite data at offset into an existing file;
	                * OP_F_TRUNC: then truncate to offset + len */
	OP_PUT = 3,    /* create or replace the whole content atomically;
	                * OP_F_EXCL: EEXIST if it exists */
	OP_MKDIR = 4,  /* create a directory (under priv/lock/: take a lock) */
	OP_DELETE = 5, /* unlink a file or rmdir an empty directory; offset
	                * != 0: only if its version is still offset
	                * (-ESTALE otherwise: lock expiry) */
	OP_RENAME = 6, /* move path to to (replacing a file or empty dir) */
	OP_MTIME = 7,  /* set mtime to offset (lock dirs: renew/unlock) */
	OP_NOOP = 8,   /* changes nothing (Raft leader no-op entries) */
};
#define OP_TYPE_MAX OP_NOOP

#define OP_F_TRUNC 0x1u /* OP_WRITE: truncate to offset + len afterwards */
#define OP_F_EXCL  0x2u /* OP_PUT: fail with EEXIST if the path exists */

struct op {
	enum op_type type;
	uint32_t flags;      /* OP_F_* */
	uint32_t writer;     /* node id of the proposer */
	uint32_t mtime;      /* epoch seconds, chosen by the proposer */
	uint64_t offset;     /* OP_WRITE offset; OP_MTIME new mtime;
	                      * OP_DELETE expected version or 0 */
	const char *path;    /* canonical tree path, never NULL */
	const char *to;      /* OP_RENAME target, else NULL */
	const uint8_t *data; /* may be NULL when len == 0 */
	uint32_t len;        /* bytes of data */
};

/* Append the encoding of op to out.  op must be valid: op_encode() of an
 * op that op_check() rejects is a programmer error (assert). */
void op_encode(const struct op *op, struct buf *out);

/* Size op_encode() will append. */
size_t op_encoded_size(const struct op *op);

/* Decode exactly n bytes at p into *op: 0 or -EBADMSG.  On error *op is
 * zeroed.  Pointers in *op borrow p. */
int op_decode(const uint8_t *p, size_t n, struct op *op);

/* Is op well-formed by the table above (type, flags, offset, to, data,
 * canonical paths)?  0, -EFBIG when len > CFS_FILE_MAX, else -EINVAL.
 * The encodable ops are exactly those for which this returns 0.
 * rules_check() runs it too, after its own pmxcfs-ordered checks. */
int op_check(const struct op *op);

/* Is path a canonical tree path (see above)?  "" (the root) is. */
bool op_path_is_canon(const char *path);

/* "create", "write", ... for logs; "?" for an unknown type. */
const char *op_type_name(enum op_type type);

#endif /* STORE_OP_H */
