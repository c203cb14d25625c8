/* net/fuse.h - the FUSE kernel protocol on /dev/fuse, without libfuse.
 *
 * fuse_mount() opens /dev/fuse and mounts it (fstype "fuse", as pmxcfs:
 * default_permissions, allow_other, nosuid, nodev); struct fuse_conn then
 * reads requests from that fd in the libev loop, decodes each one with
 * fuse_decode() into a struct fuse_req and hands it to the request
 * callback, which answers now or later with one fuse_reply_*() (FORGET,
 * BATCH_FORGET and INTERRUPT get no answer).  INIT is answered here
 * (protocol 7.x, minor min(kernel's, FUSE_MINOR)); DESTROY stops reading.
 *
 * The kernel's structures are read and written field by field in the
 * host's byte order, which the kernel uses: cfsbox builds for
 * little-endian hosts (core/endian.h).  A request that does not decode
 * (a header length other than the bytes read: EBADMSG; arguments too
 * short, a name that is not NUL-terminated or empty or has a '/':
 * EINVAL; a name over FUSE_NAME_MAX bytes: ENAMETOOLONG) is answered
 * with that error (FORGETs with none) and never reaches the callback.
 * Opcodes not known here reach it with no arguments decoded.  Names are
 * borrowed from the read buffer for the call.
 */
#ifndef NET_FUSE_H
#define NET_FUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/loop.h"

#define FUSE_ROOT_NODE 1
#define FUSE_MINOR     31     /* the newest protocol minor spoken */
#define FUSE_MAX_WRITE 131072 /* bytes per WRITE request */
#define FUSE_BUF_SIZE  (FUSE_MAX_WRITE + 4096)
#define FUSE_NAME_MAX  255

/* opcodes (the kernel's numbers) */
enum fuse_opcode {
	FUSE_OP_LOOKUP = 1,
	FUSE_OP_FORGET = 2,
	FUSE_OP_GETATTR = 3,
	FUSE_OP_SETATTR = 4,
	FUSE_OP_READLINK = 5,
	FUSE_OP_SYMLINK = 6,
	FUSE_OP_MKNOD = 8,
	FUSE_OP_MKDIR = 9,
	FUSE_OP_UNLINK = 10,
	FUSE_OP_RMDIR = 11,
	FUSE_OP_RENAME = 12,
	FUSE_OP_LINK = 13,
	FUSE_OP_OPEN = 14,
	FUSE_OP_READ = 15,
	FUSE_OP_WRITE = 16,
	FUSE_OP_STATFS = 17,
	FUSE_OP_RELEASE = 18,
	FUSE_OP_FSYNC = 20,
	FUSE_OP_FLUSH = 25,
	FUSE_OP_INIT = 26,
	FUSE_OP_OPENDIR = 27,
	FUSE_OP_READDIR = 28,
	FUSE_OP_RELEASEDIR = 29,
	FUSE_OP_FSYNCDIR = 30,
	FUSE_OP_ACCESS = 34,
	FUSE_OP_CREATE = 35,
	FUSE_OP_INTERRUPT = 36,
	FUSE_OP_DESTROY = 38,
	FUSE_OP_BATCH_FORGET = 42,
	FUSE_OP_RENAME2 = 45,
};

/* SETATTR valid bits */
#define FUSE_SET_MODE       (1u << 0)
#define FUSE_SET_UID        (1u << 1)
#define FUSE_SET_GID        (1u << 2)
#define FUSE_SET_SIZE       (1u << 3)
#define FUSE_SET_ATIME      (1u << 4)
#define FUSE_SET_MTIME      (1u << 5)
#define FUSE_SET_FH         (1u << 6)
#define FUSE_SET_ATIME_NOW  (1u << 7)
#define FUSE_SET_MTIME_NOW  (1u << 8)
#define FUSE_SET_LOCKOWNER  (1u << 9)
#define FUSE_SET_CTIME      (1u << 10)
#define FUSE_SET_KILL_SUIDG (1u << 11)

/* OPEN / CREATE answer flags */
#define FUSE_FOPEN_DIRECT_IO (1u << 0)

struct fuse_forget {
	uint64_t node;
	uint64_t nlookup;
};

/* One decoded request.  Which fields are set depends on the opcode. */
struct fuse_req {
	uint32_t opcode;
	uint64_t unique;
	uint64_t node; /* the inode the request is about */
	uint32_t uid, gid, pid;

	const char *name;    /* LOOKUP MKDIR UNLINK RMDIR CREATE RENAME(2): the entry */
	const char *newname; /* RENAME(2): the new name ... */
	uint64_t newdir;     /* ... in this directory */
	uint32_t rename_flags;

	uint64_t fh;     /* READ WRITE RELEASE FLUSH FSYNC READDIR RELEASEDIR, SETATTR */
	uint64_t offset; /* READ WRITE READDIR */
	uint32_t size;   /* READ READDIR: bytes asked for */
	uint32_t flags;  /* OPEN CREATE: open(2) flags; FSYNC: fsync flags */
	uint32_t mode;   /* MKDIR CREATE; SETATTR; ACCESS: mask */

	const uint8_t *data; /* WRITE */
	uint32_t len;

	uint32_t valid; /* SETATTR: FUSE_SET_* */
	uint64_t attr_size;
	uint64_t mtime;
	uint32_t uid_to, gid_to;

	uint64_t nlookup;       /* FORGET */
	const uint8_t *forgets; /* BATCH_FORGET: count records, fuse_forget_at() */
	uint32_t count;

	uint32_t major, minor, init_flags; /* INIT */
};

/* Decode one request of n bytes (p: what read() returned).  0 or
 * -EBADMSG (header length is not n, or n < 40), -EINVAL (arguments
 * malformed), -ENAMETOOLONG (a name over FUSE_NAME_MAX). */
int fuse_decode(const uint8_t *p, size_t n, struct fuse_req *out);
/* BATCH_FORGET: record i (< count) */
void fuse_forget_at(const struct fuse_req *req, uint32_t i, struct fuse_forget *out);

/* Attributes of an answer. */
struct fuse_attr {
	uint64_t ino;
	uint64_t size;
	uint32_t mtime;
	uint32_t mode; /* S_IF* | permission bits */
	uint32_t nlink;
	uint32_t uid, gid;
};

struct fuse_conn;
typedef void fuse_request_fn(void *ctx, struct fuse_conn *fc, const struct fuse_req *req);

/* Mount /dev/fuse on dir.  *fd_out: the connection's fd (close-on-exec).
 * 0 or -errno (mount(2)'s; -ENOENT if /dev/fuse is missing). */
int fuse_mount(const char *dir, int *fd_out);
/* Unmount dir (lazily: open files keep it until closed); NULL-safe. */
void fuse_unmount(const char *dir);
/* Is dir a FUSE mount whose daemon is gone (stat: ENOTCONN)? */
bool fuse_mount_is_dead(const char *dir);

int fuse_conn_new(struct ev_loop *loop, int fd, fuse_request_fn *cb, void *ctx,
                  struct fuse_conn **out);
void fuse_conn_free(struct fuse_conn *fc);        /* closes the fd; NULL-safe */
bool fuse_conn_ready(const struct fuse_conn *fc); /* INIT answered */

/* Answers.  A reply to a request the kernel gave up on (interrupted)
 * fails with ENOENT, which is ignored. */
void fuse_reply_err(struct fuse_conn *fc, uint64_t unique, int err); /* err: -errno or 0 */
void fuse_reply_entry(struct fuse_conn *fc, uint64_t unique, const struct fuse_attr *a,
                      double timeout);
void fuse_reply_attr(struct fuse_conn *fc, uint64_t unique, const struct fuse_attr *a,
                     double timeout);
void fuse_reply_open(struct fuse_conn *fc, uint64_t unique, uint64_t fh, uint32_t open_flags);
void fuse_reply_create(struct fuse_conn *fc, uint64_t unique, const struct fuse_attr *a,
                       double timeout, uint64_t fh, uint32_t open_flags);
void fuse_reply_data(struct fuse_conn *fc, uint64_t unique, const void *p, size_t n);
void fuse_reply_write(struct fuse_conn *fc, uint64_t unique, uint32_t size);
void fuse_reply_statfs(struct fuse_conn *fc, uint64_t unique, uint64_t blocks, uint64_t bfree,
                       uint64_t files, uint64_t ffree, uint32_t bsize, uint32_t namelen);

/* READDIR: append one entry to out unless that would pass max bytes;
 * off is the offset of the next entry.  false: no room. */
bool fuse_dirent_add(struct buf *out, size_t max, uint64_t ino, uint64_t off, uint32_t type,
                     const char *name);

#endif /* NET_FUSE_H */
