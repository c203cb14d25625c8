/* net/fuse.c - the FUSE kernel protocol: decode, answer, mount.
 * SPDX-License-Identifier: MIT
 *
 * Layouts are the kernel's (include/uapi/linux/fuse.h, protocol 7.31):
 * every request starts with a 40-byte header (len, opcode, unique,
 * nodeid, uid, gid, pid, extension length, padding), every answer with a
 * 16-byte one (len, error, unique).  One read() of /dev/fuse returns one
 * whole request; one write() sends one whole answer.
 */
#define LOG_TAG "fuse"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "core/log.h"
#include "core/util.h"
#include "net/fuse.h"

#define IN_HDR  40
#define OUT_HDR 16
#define ATTR_SZ 88

/* kernel INIT flags cfsd asks for */
#define INIT_ATOMIC_O_TRUNC (1u << 3) /* O_TRUNC comes with OPEN, no truncate first */
#define INIT_BIG_WRITES     (1u << 5) /* writes up to max_write */

struct fuse_conn {
	struct ev_loop *loop;
	int fd;
	ev_io io;
	fuse_request_fn *cb;
	void *ctx;
	bool ready;
	uint8_t *rbuf; /* FUSE_BUF_SIZE */
};

/* ---------------------------------------------------------------- decoding */

/* A NUL-terminated name from the reader: non-empty, no '/', at most
 * FUSE_NAME_MAX bytes (the kernel's own limit is higher). */
static const char *rd_name(struct rd *r)
{
	const uint8_t *nul;
	const char *s;
	size_t n;

	if (r->err)
		return NULL;
	nul = memchr(r->p, 0, r->left);
	if (!nul) {
		r->err = -EINVAL;
		return NULL;
	}
	n = (size_t)(nul - r->p);
	s = (const char *)rd_take(r, n + 1);
	if (!n || memchr(s, '/', n)) {
		r->err = -EINVAL;
		return NULL;
	}
	if (n > FUSE_NAME_MAX) {
		r->err = -ENAMETOOLONG;
		return NULL;
	}
	return s;
}

static void rd_skip(struct rd *r, size_t n)
{
	(void)rd_take(r, n);
}

int fuse_decode(const uint8_t *p, size_t n, struct fuse_req *q)
{
	struct rd r = rd_init(p, n);
	uint32_t len;

	memset(q, 0, sizeof(*q));
	len = rd_u32(&r);
	q->opcode = rd_u32(&r);
	q->unique = rd_u64(&r);
	q->node = rd_u64(&r);
	q->uid = rd_u32(&r);
	q->gid = rd_u32(&r);
	q->pid = rd_u32(&r);
	rd_skip(&r, 4); /* total_extlen, padding: no extensions asked for */
	if (r.err || len != n)
		return -EBADMSG;
	switch (q->opcode) {
	case FUSE_OP_LOOKUP:
	case FUSE_OP_UNLINK:
	case FUSE_OP_RMDIR:
		q->name = rd_name(&r);
		break;
	case FUSE_OP_FORGET:
		q->nlookup = rd_u64(&r);
		break;
	case FUSE_OP_GETATTR:
		rd_skip(&r, 8);
		q->fh = rd_u64(&r);
		break;
	case FUSE_OP_SETATTR:
		q->valid = rd_u32(&r);
		rd_skip(&r, 4);
		q->fh = rd_u64(&r);
		q->attr_size = rd_u64(&r);
		rd_skip(&r, 16); /* lock_owner, atime */
		q->mtime = rd_u64(&r);
		rd_skip(&r, 8 + 12); /* ctime, the three nsec */
		q->mode = rd_u32(&r);
		rd_skip(&r, 4);
		q->uid_to = rd_u32(&r);
		q->gid_to = rd_u32(&r);
		rd_skip(&r, 4);
		break;
	case FUSE_OP_MKDIR:
		q->mode = rd_u32(&r);
		rd_skip(&r, 4); /* umask */
		q->name = rd_name(&r);
		break;
	case FUSE_OP_RENAME:
	case FUSE_OP_RENAME2:
		q->newdir = rd_u64(&r);
		if (q->opcode == FUSE_OP_RENAME2) {
			q->rename_flags = rd_u32(&r);
			rd_skip(&r, 4);
		}
		q->name = rd_name(&r);
		q->newname = rd_name(&r);
		break;
	case FUSE_OP_OPEN:
	case FUSE_OP_OPENDIR:
		q->flags = rd_u32(&r);
		rd_skip(&r, 4);
		break;
	case FUSE_OP_READ:
	case FUSE_OP_READDIR:
	case FUSE_OP_WRITE:
		q->fh = rd_u64(&r);
		q->offset = rd_u64(&r);
		q->size = rd_u32(&r);
		rd_skip(&r, 4 + 8 + 8); /* read/write flags, lock_owner, flags, padding */
		if (q->opcode == FUSE_OP_WRITE) {
			q->len = q->size;
			q->data = rd_take(&r, q->len);
		}
		break;
	case FUSE_OP_RELEASE:
	case FUSE_OP_RELEASEDIR:
		q->fh = rd_u64(&r);
		q->flags = rd_u32(&r);
		rd_skip(&r, 4 + 8);
		break;
	case FUSE_OP_FSYNC:
	case FUSE_OP_FSYNCDIR:
		q->fh = rd_u64(&r);
		q->flags = rd_u32(&r);
		rd_skip(&r, 4);
		break;
	case FUSE_OP_FLUSH:
		q->fh = rd_u64(&r);
		rd_skip(&r, 8 + 8);
		break;
	case FUSE_OP_INIT:
		q->major = rd_u32(&r);
		q->minor = rd_u32(&r);
		rd_skip(&r, 4);
		q->init_flags = rd_u32(&r);
		break;
	case FUSE_OP_ACCESS:
		q->mode = rd_u32(&r);
		rd_skip(&r, 4);
		break;
	case FUSE_OP_CREATE:
		q->flags = rd_u32(&r);
		q->mode = rd_u32(&r);
		rd_skip(&r, 8); /* umask, open_flags */
		q->name = rd_name(&r);
		break;
	case FUSE_OP_INTERRUPT:
		q->fh = rd_u64(&r); /* the unique of the interrupted request */
		break;
	case FUSE_OP_BATCH_FORGET:
		q->count = rd_u32(&r);
		rd_skip(&r, 4);
		if (q->count > r.left / 16)
			return -EINVAL;
		q->forgets = rd_take(&r, (size_t)q->count * 16);
		break;
	default: /* no arguments looked at: answered ENOSYS */
		break;
	}
	return r.err == -EBADMSG ? -EINVAL : r.err;
}

void fuse_forget_at(const struct fuse_req *req, uint32_t i, struct fuse_forget *out)
{
	const uint8_t *p = req->forgets + (size_t)i * 16;

	out->node = get_le64(p);
	out->nlookup = get_le64(p + 8);
}

/* ---------------------------------------------------------------- answers */

static void send_reply(struct fuse_conn *fc, uint64_t unique, int err, const void *p, size_t n)
{
	uint8_t hdr[OUT_HDR];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)p, n } };
	ssize_t w;

	put_le32(hdr, (uint32_t)(OUT_HDR + n));
	put_le32(hdr + 4, (uint32_t)err);
	put_le64(hdr + 8, unique);
	do
		w = writev(fc->fd, iov, n ? 2 : 1);
	while (w < 0 && errno == EINTR);
	/* ENOENT: the request was interrupted and is gone */
	if (w < 0 && errno != ENOENT)
		log_warn("answer to request %llu: %s", (unsigned long long)unique, strerror(errno));
}

void fuse_reply_err(struct fuse_conn *fc, uint64_t unique, int err)
{
	send_reply(fc, unique, err, NULL, 0);
}

static void put_attr(struct buf *b, const struct fuse_attr *a)
{
	buf_put_le64(b, a->ino);
	buf_put_le64(b, a->size);
	buf_put_le64(b, (a->size + 511) / 512); /* blocks */
	buf_put_le64(b, a->mtime);              /* atime */
	buf_put_le64(b, a->mtime);
	buf_put_le64(b, a->mtime); /* ctime */
	buf_put_le32(b, 0);
	buf_put_le32(b, 0);
	buf_put_le32(b, 0);
	buf_put_le32(b, a->mode);
	buf_put_le32(b, a->nlink);
	buf_put_le32(b, a->uid);
	buf_put_le32(b, a->gid);
	buf_put_le32(b, 0);    /* rdev */
	buf_put_le32(b, 4096); /* blksize */
	buf_put_le32(b, 0);    /* flags */
}

static void put_entry(struct buf *b, const struct fuse_attr *a, double timeout)
{
	uint64_t s = (uint64_t)timeout;
	uint32_t ns = (uint32_t)((timeout - (double)s) * 1e9);

	buf_put_le64(b, a->ino); /* nodeid */
	buf_put_le64(b, 0);      /* generation: node ids are never reused */
	buf_put_le64(b, s);      /* entry_valid */
	buf_put_le64(b, s);      /* attr_valid */
	buf_put_le32(b, ns);
	buf_put_le32(b, ns);
	put_attr(b, a);
}

void fuse_reply_entry(struct fuse_conn *fc, uint64_t unique, const struct fuse_attr *a,
                      double timeout)
{
	struct buf b = { 0 };

	put_entry(&b, a, timeout);
	send_reply(fc, unique, 0, b.p, b.len);
	buf_free(&b);
}

void fuse_reply_attr(struct fuse_conn *fc, uint64_t unique, const struct fuse_attr *a,
                     double timeout)
{
	struct buf b = { 0 };
	uint64_t s = (uint64_t)timeout;

	buf_put_le64(&b, s);
	buf_put_le32(&b, (uint32_t)((timeout - (double)s) * 1e9));
	buf_put_le32(&b, 0);
	put_attr(&b, a);
	send_reply(fc, unique, 0, b.p, b.len);
	buf_free(&b);
}

static void put_open(struct buf *b, uint64_t fh, uint32_t open_flags)
{
	buf_put_le64(b, fh);
	buf_put_le32(b, open_flags);
	buf_put_le32(b, 0);
}

void fuse_reply_open(struct fuse_conn *fc, uint64_t unique, uint64_t fh, uint32_t open_flags)
{
	struct buf b = { 0 };

	put_open(&b, fh, open_flags);
	send_reply(fc, unique, 0, b.p, b.len);
	buf_free(&b);
}

void fuse_reply_create(struct fuse_conn *fc, uint64_t unique, const struct fuse_attr *a,
                       double timeout, uint64_t fh, uint32_t open_flags)
{
	struct buf b = { 0 };

	put_entry(&b, a, timeout);
	put_open(&b, fh, open_flags);
	send_reply(fc, unique, 0, b.p, b.len);
	buf_free(&b);
}

void fuse_reply_data(struct fuse_conn *fc, uint64_t unique, const void *p, size_t n)
{
	send_reply(fc, unique, 0, p, n);
}

void fuse_reply_write(struct fuse_conn *fc, uint64_t unique, uint32_t size)
{
	uint8_t out[8];

	put_le32(out, size);
	put_le32(out + 4, 0);
	send_reply(fc, unique, 0, out, sizeof(out));
}

void fuse_reply_statfs(struct fuse_conn *fc, uint64_t unique, uint64_t blocks, uint64_t bfree,
                       uint64_t files, uint64_t ffree, uint32_t bsize, uint32_t namelen)
{
	struct buf b = { 0 };
	int i;

	buf_put_le64(&b, blocks);
	buf_put_le64(&b, bfree);
	buf_put_le64(&b, bfree); /* bavail */
	buf_put_le64(&b, files);
	buf_put_le64(&b, ffree);
	buf_put_le32(&b, bsize);
	buf_put_le32(&b, namelen);
	buf_put_le32(&b, bsize); /* frsize */
	for (i = 0; i < 7; i++)
		buf_put_le32(&b, 0); /* padding, spare[6] */
	send_reply(fc, unique, 0, b.p, b.len);
	buf_free(&b);
}

bool fuse_dirent_add(struct buf *out, size_t max, uint64_t ino, uint64_t off, uint32_t type,
                     const char *name)
{
	size_t n = strlen(name), rec = (24 + n + 7) & ~(size_t)7;
	static const uint8_t zero[8];

	if (out->len + rec > max)
		return false;
	buf_put_le64(out, ino);
	buf_put_le64(out, off);
	buf_put_le32(out, (uint32_t)n);
	buf_put_le32(out, type);
	buf_put(out, name, n);
	buf_put(out, zero, rec - 24 - n);
	return true;
}

/* ---------------------------------------------------------------- the connection */

static void do_init(struct fuse_conn *fc, const struct fuse_req *q)
{
	struct buf b = { 0 };
	int i;

	if (q->major != 7 || q->minor < 12) {
		/* an older protocol than the layouts here; a newer major gets
		 * our major and asks again (the kernel's rule) */
		log_err("kernel FUSE protocol %u.%u: 7.12 or newer needed", q->major, q->minor);
		if (q->major > 7) {
			buf_put_le32(&b, 7);
			buf_put_le32(&b, FUSE_MINOR);
			send_reply(fc, q->unique, 0, b.p, b.len);
			buf_free(&b);
		} else {
			fuse_reply_err(fc, q->unique, -EPROTO);
		}
		return;
	}
	buf_put_le32(&b, 7);
	buf_put_le32(&b, q->minor < FUSE_MINOR ? q->minor : FUSE_MINOR);
	buf_put_le32(&b, 0); /* max_readahead: no page cache (direct I/O) */
	buf_put_le32(&b, q->init_flags & (INIT_ATOMIC_O_TRUNC | INIT_BIG_WRITES));
	buf_put_le16(&b, 16); /* max_background */
	buf_put_le16(&b, 12); /* congestion_threshold */
	buf_put_le32(&b, FUSE_MAX_WRITE);
	buf_put_le32(&b, 1000000000); /* time_gran: whole seconds */
	buf_put_le16(&b, 0);          /* max_pages: the default */
	buf_put_le16(&b, 0);
	for (i = 0; i < 8; i++)
		buf_put_le32(&b, 0); /* flags2, unused[7] */
	/* before 7.23 the answer ended after max_write */
	send_reply(fc, q->unique, 0, b.p, q->minor < 23 ? 24 : b.len);
	buf_free(&b);
	fc->ready = true;
	log_debug("kernel FUSE protocol %u.%u", q->major, q->minor);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fuse_conn *fc = w->data;
	struct fuse_req q;
	int i, rc;

	(void)revents;
	for (i = 0; i < 64; i++) {
		ssize_t n = read(fc->fd, fc->rbuf, FUSE_BUF_SIZE);

		if (n < 0) {
			if (errno == EINTR || errno == ENOENT) /* ENOENT: interrupted meanwhile */
				continue;
			if (errno != EAGAIN) {
				/* ENODEV: unmounted */
				log_info("FUSE connection closed: %s", strerror(errno));
				ev_io_stop(loop, w);
			}
			return;
		}
		rc = fuse_decode(fc->rbuf, (size_t)n, &q);
		if (rc < 0) {
			if (rc != -ENAMETOOLONG) /* a user's long name is no fault */
				log_warn("malformed FUSE request (opcode %u): %s", q.opcode,
				         strerror(-rc));
			/* the kernel waits for no answer to a FORGET */
			if (q.unique && q.opcode != FUSE_OP_FORGET &&
			    q.opcode != FUSE_OP_BATCH_FORGET)
				fuse_reply_err(fc, q.unique, rc);
			continue;
		}
		if (q.opcode == FUSE_OP_INIT) {
			do_init(fc, &q);
		} else if (q.opcode == FUSE_OP_DESTROY) {
			fuse_reply_err(fc, q.unique, 0);
			ev_io_stop(loop, w);
			return;
		} else if (!fc->ready) {
			fuse_reply_err(fc, q.unique, -EIO);
		} else {
			fc->cb(fc->ctx, fc, &q);
		}
	}
}

int fuse_conn_new(struct ev_loop *loop, int fd, fuse_request_fn *cb, void *ctx,
                  struct fuse_conn **out)
{
	struct fuse_conn *fc = xcalloc(1, sizeof(*fc));
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int rc = -errno;

		free(fc);
		return rc;
	}
	fc->loop = loop;
	fc->fd = fd;
	fc->cb = cb;
	fc->ctx = ctx;
	fc->rbuf = xmalloc(FUSE_BUF_SIZE);
	ev_io_init(&fc->io, io_cb, fd, EV_READ);
	fc->io.data = fc;
	ev_io_start(loop, &fc->io);
	*out = fc;
	return 0;
}

void fuse_conn_free(struct fuse_conn *fc)
{
	if (!fc)
		return;
	ev_io_stop(fc->loop, &fc->io);
	close(fc->fd);
	free(fc->rbuf);
	free(fc);
}

bool fuse_conn_ready(const struct fuse_conn *fc)
{
	return fc && fc->ready;
}

/* ---------------------------------------------------------------- mounting */

int fuse_mount(const char *dir, int *fd_out)
{
	char opts[160];
	int fd, rc;

	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(opts, sizeof(opts),
	         "fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other", fd);
	if (mount("/dev/fuse", dir, "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

void fuse_unmount(const char *dir)
{
	if (dir && umount2(dir, MNT_DETACH) < 0 && errno != EINVAL)
		log_warn("%s: cannot unmount: %s", dir, strerror(errno));
}

bool fuse_mount_is_dead(const char *dir)
{
	struct stat st;

	return stat(dir, &st) < 0 && errno == ENOTCONN;
}
