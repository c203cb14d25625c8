/* net/ipc.c - the local socket protocol: codec and the server half
 * SPDX-License-Identifier: MIT
 *
 * Format and ops are in net/ipc.h.  The server lives on the caller's
 * libev loop: one listening ev_io, and per connection a read and a write
 * watcher inside struct ipc_client.
 *
 * Invariants:
 *  1. A connection has at most one request handed to the handler and not
 *     yet answered (busy).  Further requests wait in its input buffer, so
 *     replies leave in request order and a client sees its own writes.
 *  2. Nothing is dispatched while reply bytes of the connection are still
 *     waiting for the socket (back pressure on slow readers), and reading
 *     pauses once a whole maximum-size message is buffered.
 *  3. A connection whose peer went away while busy stays allocated (fd
 *     closed, watchers stopped) until its request is answered; then it is
 *     freed.  Nothing is freed while its own callbacks are on the stack.
 */
#define LOG_TAG "ipc"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "net/ipc.h"
#include "core/log.h"
#include "core/util.h"

_Static_assert(sizeof(((struct ipc_req *)0)->path) == CFS_PATH_MAX, "path buffer size");

#define READ_CHUNK (64 * 1024)

struct ipc_client {
	struct ipc_server *srv; /* borrowed, outlives every client */
	struct ipc_client *prev, *next;
	int fd; /* -1 once closed */
	ev_io rio;
	ev_io wio;
	struct buf in; /* received bytes; [in_off, in.len) not yet parsed */
	size_t in_off;
	struct buf out; /* reply bytes; [out_off, out.len) not yet sent */
	size_t out_off;
	struct ucred cred;
	bool readonly; /* www-data group: reads of non-private paths only */
	bool busy;     /* a request is with the handler, not yet answered */
	bool in_proc;  /* process() is on the stack */
	bool dead;     /* peer gone or protocol error: free when idle */
};

struct ipc_server {
	struct ev_loop *loop;
	struct ipc_server_cfg cfg;
	char path[108];
	int fd;
	ev_io lio;
	bool accepting;
	struct ipc_client *clients; /* list of open connections */
	size_t nclients;
	struct ipc_req req; /* decoding scratch (8 KiB of paths) */
};

/* ---------------------------------------------------------------- codec */

bool ipc_op_is_mutation(uint32_t op)
{
	return op >= IPC_OP_PUT && op <= IPC_OP_MTIME;
}

bool ipc_op_is_admin(uint32_t op)
{
	return op >= IPC_OP_EXPECTED && op <= IPC_OP_LEAVE;
}

const char *ipc_op_name(uint32_t op)
{
	static const char *const names[] = { "?",      "STATUS", "READ",    "STAT",     "LIST",
		                             "PUT",    "CREATE", "WRITE",   "MKDIR",    "DELETE",
		                             "RENAME", "MTIME",  "CLUSTER", "EXPECTED", "TOKEN",
		                             "RELOAD", "LEAVE",  "LOG" };

	return op < ARRAY_SIZE(names) ? names[op] : "?";
}

static int take_str(struct rd *r, char *dst, size_t size)
{
	uint16_t n = rd_u16(r);
	const uint8_t *p = rd_take(r, n);

	if (!p)
		return -EBADMSG;
	if (n >= size)
		return -ENAMETOOLONG;
	if (memchr(p, 0, n))
		return -EBADMSG;
	memcpy(dst, p, n);
	dst[n] = 0;
	return 0;
}

int ipc_request_decode(uint32_t op, uint32_t id, const uint8_t *p, size_t n, struct ipc_req *out)
{
	struct rd r = rd_init(p, n);
	uint32_t allowed = 0;
	int rc;

	out->op = op;
	out->id = id;
	out->flags = 0;
	out->arg = 0;
	out->data = NULL;
	out->len = 0;
	out->path[0] = 0;
	out->to[0] = 0;
	if (op < IPC_OP_STATUS || op > IPC_OP_MAX)
		return -EOPNOTSUPP;
	if (op == IPC_OP_STATUS || op == IPC_OP_CLUSTER)
		return n ? -EBADMSG : 0;
	if (op == IPC_OP_LOG) {
		out->arg = rd_u8(&r);
		rc = take_str(&r, out->path, IPC_LOG_STR_MAX + 1); /* ident */
		if (rc == 0)
			rc = take_str(&r, out->to, IPC_LOG_STR_MAX + 1); /* tag */
		if (rc < 0)
			return rc;
		if (r.err)
			return -EBADMSG;
		if (out->arg > 7)
			return -EINVAL;
		if (r.left > IPC_LOG_MSG_MAX)
			return -EMSGSIZE;
		out->data = r.left ? r.p : NULL;
		out->len = (uint32_t)r.left;
		return 0;
	}
	if (op >= IPC_OP_EXPECTED) { /* cluster ops: one u32 */
		if (n != 4)
			return -EBADMSG;
		out->arg = get_le32(p);
		return 0;
	}

	out->flags = rd_u32(&r);
	out->arg = rd_u64(&r);
	rc = take_str(&r, out->path, sizeof(out->path));
	if (rc < 0)
		return rc;
	rc = take_str(&r, out->to, sizeof(out->to));
	if (rc < 0)
		return rc;
	if (r.err)
		return -EBADMSG;
	if (op == IPC_OP_PUT)
		allowed = IPC_F_EXCL;
	else if (op == IPC_OP_WRITE)
		allowed = IPC_F_TRUNC;
	if (out->flags & ~allowed)
		return -EINVAL;
	if (out->arg && op != IPC_OP_WRITE && op != IPC_OP_MTIME && op != IPC_OP_LIST)
		return -EBADMSG;
	if ((op == IPC_OP_RENAME) != (out->to[0] != 0))
		return -EBADMSG;
	if (r.left && op != IPC_OP_PUT && op != IPC_OP_WRITE)
		return -EBADMSG;
	out->data = r.left ? r.p : NULL;
	out->len = (uint32_t)r.left;
	return 0;
}

int ipc_message_decode(const uint8_t *p, size_t n, struct ipc_req *out, size_t *used)
{
	uint32_t len;

	*used = 0;
	if (n < IPC_HDR_SIZE)
		return -EAGAIN;
	len = get_le32(p);
	if (len > IPC_MSG_MAX - IPC_HDR_SIZE)
		return -EMSGSIZE;
	if (n - IPC_HDR_SIZE < len)
		return -EAGAIN;
	*used = IPC_HDR_SIZE + len;
	return ipc_request_decode(get_le32(p + 4), get_le32(p + 8), p + IPC_HDR_SIZE, len, out);
}

static void put_str16(struct buf *out, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n > UINT16_MAX)
		n = UINT16_MAX; /* the server rejects it: longer than CFS_PATH_MAX */
	buf_put_le16(out, (uint16_t)n);
	buf_put(out, s, n);
}

void ipc_path_encode(struct buf *out, uint32_t flags, uint64_t arg, const char *path,
                     const char *to, const void *data, size_t len)
{
	buf_reserve(out, IPC_PATH_REQ_MIN + len + 64);
	buf_put_le32(out, flags);
	buf_put_le64(out, arg);
	put_str16(out, path);
	put_str16(out, to);
	buf_put(out, data, len);
}

void ipc_stat_encode(struct buf *out, const struct ipc_stat *st)
{
	buf_reserve(out, IPC_STAT_FIXED + st->name_len + st->target_len);
	buf_put_u8(out, st->type);
	buf_put_le32(out, st->mode);
	buf_put_le32(out, st->mtime);
	buf_put_le64(out, st->size);
	buf_put_le64(out, st->inode);
	buf_put_le32(out, st->writer);
	buf_put_le16(out, st->name_len);
	buf_put(out, st->name, st->name_len);
	buf_put_le16(out, st->target_len);
	buf_put(out, st->target, st->target_len);
}

int ipc_stat_decode(struct rd *r, struct ipc_stat *st)
{
	st->type = rd_u8(r);
	st->mode = rd_u32(r);
	st->mtime = rd_u32(r);
	st->size = rd_u64(r);
	st->inode = rd_u64(r);
	st->writer = rd_u32(r);
	st->name_len = rd_u16(r);
	st->name = (const char *)rd_take(r, st->name_len);
	st->target_len = rd_u16(r);
	st->target = (const char *)rd_take(r, st->target_len);
	if (r->err)
		return -EBADMSG;
	if (st->type < IPC_T_FILE || st->type > IPC_T_LINK)
		return -EBADMSG;
	return 0;
}

/* ---------------------------------------------------------------- server */

static void client_close_fd(struct ipc_client *c)
{
	struct ipc_server *s = c->srv;

	if (c->fd < 0)
		return;
	ev_io_stop(s->loop, &c->rio);
	ev_io_stop(s->loop, &c->wio);
	close(c->fd);
	c->fd = -1;
	c->dead = true;
}

static void client_free(struct ipc_client *c)
{
	struct ipc_server *s = c->srv;

	client_close_fd(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nclients--;
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

/* Free a dead connection once nothing refers to it any more. */
static bool client_reap(struct ipc_client *c)
{
	if (c->dead && !c->busy && !c->in_proc) {
		client_free(c);
		return true;
	}
	return false;
}

static void client_flush(struct ipc_client *c)
{
	ssize_t n;

	while (c->fd >= 0 && c->out_off < c->out.len) {
		n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
		         MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ev_io_start(c->srv->loop, &c->wio);
				return;
			}
			log_debug("client pid %d: send: %s", (int)c->cred.pid, strerror(errno));
			client_close_fd(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	ev_io_stop(c->srv->loop, &c->wio);
	c->out_off = 0;
	buf_reset(&c->out);
	if (c->out.cap > 4 * READ_CHUNK) { /* do not keep a 2 MiB reply buffer around */
		buf_free(&c->out);
	}
}

static void put_reply_hdr(struct buf *b, uint32_t len, int rc, uint32_t id)
{
	uint8_t h[IPC_HDR_SIZE];

	put_le32(h, len);
	put_le32(h + 4, (uint32_t)rc);
	put_le32(h + 8, id);
	buf_put(b, h, sizeof(h));
}

/* Hand complete requests to the handler, one at a time (invariant 1). */
static void process(struct ipc_client *c)
{
	struct ipc_server *s = c->srv;
	size_t avail, used;
	uint32_t len, id;
	int rc;

	if (c->in_proc)
		return;
	c->in_proc = true;
	while (!c->busy && !c->dead && c->out_off == c->out.len) {
		avail = c->in.len - c->in_off;
		if (avail < IPC_HDR_SIZE)
			break;
		len = get_le32(c->in.p + c->in_off);
		id = get_le32(c->in.p + c->in_off + 8);
		if (len > IPC_MSG_MAX - IPC_HDR_SIZE) {
			log_every(10, LOG_LVL_WARN, "client pid %d: request of %u bytes, closing",
			          (int)c->cred.pid, len);
			client_close_fd(c);
			break;
		}
		if (avail - IPC_HDR_SIZE < len)
			break;
		rc = ipc_message_decode(c->in.p + c->in_off, avail, &s->req, &used);
		c->in_off += IPC_HDR_SIZE + len;
		c->busy = true;
		if (rc < 0) {
			ipc_reply(c, id, rc, NULL, 0);
			continue;
		}
		s->req.readonly = c->readonly;
		s->cfg.request(s->cfg.ctx, c, &s->req);
	}
	if (c->in_off == c->in.len) {
		c->in_off = 0;
		buf_reset(&c->in);
		if (c->in.cap > 4 * READ_CHUNK)
			buf_free(&c->in);
	}
	if (c->fd >= 0 && !ev_is_active(&c->rio) && c->in.len - c->in_off < IPC_MSG_MAX)
		ev_io_start(s->loop, &c->rio);
	c->in_proc = false;
}

void ipc_reply(struct ipc_client *c, uint32_t id, int rc, const void *p, size_t n)
{
	if (rc < 0 || !p)
		n = 0;
	if (n > IPC_MSG_MAX - IPC_HDR_SIZE) {
		rc = -EMSGSIZE;
		n = 0;
	}
	c->busy = false;
	if (c->fd >= 0) {
		buf_reserve(&c->out, IPC_HDR_SIZE + n);
		put_reply_hdr(&c->out, (uint32_t)n, rc, id);
		buf_put(&c->out, p, n);
		client_flush(c);
	}
	if (client_reap(c))
		return;
	process(c);
	client_reap(c);
}

void ipc_reply_buf(struct ipc_client *c, uint32_t id, int rc, struct buf *b)
{
	ipc_reply(c, id, rc, b ? b->p : NULL, b ? b->len : 0);
	if (b)
		buf_free(b);
}

uid_t ipc_client_uid(const struct ipc_client *c)
{
	return c->cred.uid;
}

pid_t ipc_client_pid(const struct ipc_client *c)
{
	return c->cred.pid;
}

size_t ipc_server_clients(const struct ipc_server *s)
{
	return s->nclients;
}

static void client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ipc_client *c = container_of(w, struct ipc_client, rio);
	size_t want = READ_CHUNK;
	ssize_t n;

	(void)loop;
	(void)revents;
	/* a large request: make room for all of it at once */
	if (c->in.len - c->in_off >= IPC_HDR_SIZE) {
		size_t len = get_le32(c->in.p + c->in_off) + IPC_HDR_SIZE;
		size_t have = c->in.len - c->in_off;

		if (len <= IPC_MSG_MAX && len > have && len - have > want)
			want = len - have;
	}
	if (c->in_off && c->in.cap - c->in.len < want + 1) {
		memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in_off = 0;
	}
	buf_reserve(&c->in, want);
	n = recv(c->fd, c->in.p + c->in.len, want, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		client_close_fd(c);
		client_reap(c);
		return;
	}
	c->in.len += (size_t)n;
	if (c->in.len - c->in_off >= IPC_MSG_MAX)
		ev_io_stop(c->srv->loop, &c->rio); /* invariant 2; process() restarts it */
	process(c);
	client_reap(c);
}

static void client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ipc_client *c = container_of(w, struct ipc_client, wio);

	(void)loop;
	(void)revents;
	client_flush(c);
	if (client_reap(c))
		return;
	process(c);
	client_reap(c);
}

static void refuse(int fd, const struct ucred *cr)
{
	struct buf b = { 0 };

	log_every(10, LOG_LVL_WARN, "connection from bad user %u (pid %d) - rejected",
	          (unsigned)cr->uid, (int)cr->pid);
	put_reply_hdr(&b, 0, -EACCES, 0);
	(void)!send(fd, b.p, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	buf_free(&b);
	close(fd);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ipc_server *s = container_of(w, struct ipc_server, lio);
	struct ipc_client *c;
	struct ucred cr;
	socklen_t crlen;
	bool ro;
	int fd;

	(void)revents;
	for (;;) {
		fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_every(10, LOG_LVL_WARN, "%s: accept: %s", s->path,
				          strerror(errno));
			return;
		}
		crlen = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
			close(fd);
			continue;
		}
		if (cr.uid == 0 || cr.uid == s->cfg.root_uid) {
			ro = false;
		} else if (s->cfg.has_ro_gid && cr.gid == s->cfg.ro_gid) {
			ro = true;
		} else {
			refuse(fd, &cr);
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->srv = s;
		c->fd = fd;
		c->cred = cr;
		c->readonly = ro;
		ev_io_init(&c->rio, client_read_cb, fd, EV_READ);
		ev_io_init(&c->wio, client_write_cb, fd, EV_WRITE);
		ev_io_start(loop, &c->rio);
		c->next = s->clients;
		if (s->clients)
			s->clients->prev = c;
		s->clients = c;
		s->nclients++;
		log_debug("client pid %d uid %u connected%s", (int)cr.pid, (unsigned)cr.uid,
		          ro ? " (read-only)" : "");
	}
}

int ipc_server_new(struct ev_loop *loop, const struct ipc_server_cfg *cfg, struct ipc_server **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ipc_server *s;
	int rc;

	*out = NULL;
	if (strlen(cfg->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	s = xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->cfg = *cfg;
	strcpy(s->path, cfg->path);
	s->cfg.path = s->path;
	strcpy(sa.sun_path, cfg->path);

	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		rc = -errno;
		goto out_free;
	}
	unlink(s->path); /* stale socket of a dead cfsd; the state lock proves it */
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out_close;
	}
	/* access is decided per connection with SO_PEERCRED */
	if (chmod(s->path, 0666) < 0 || listen(s->fd, 256) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	ev_io_init(&s->lio, accept_cb, s->fd, EV_READ);
	ev_io_start(loop, &s->lio);
	s->accepting = true;
	*out = s;
	return 0;

out_unlink:
	unlink(s->path);
out_close:
	close(s->fd);
out_free:
	free(s);
	return rc;
}

void ipc_server_stop_accepting(struct ipc_server *s)
{
	if (!s || !s->accepting)
		return;
	ev_io_stop(s->loop, &s->lio);
	s->accepting = false;
}

void ipc_server_free(struct ipc_server *s)
{
	if (!s)
		return;
	ipc_server_stop_accepting(s);
	while (s->clients)
		client_free(s->clients);
	close(s->fd);
	unlink(s->path);
	free(s);
}
