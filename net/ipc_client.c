/* net/ipc_client.c - the client half of the local socket protocol
 * SPDX-License-Identifier: MIT
 *
 * Blocking calls with a deadline: the socket is non-blocking and every
 * wait is a poll() bounded by what is left of the call's time, so no call
 * hangs forever (-ETIMEDOUT).  One request at a time per connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "net/ipc.h"
#include "core/util.h"

struct ipc_conn {
	int fd;
	int timeout_ms;
	uint32_t next_id;
	struct buf tx; /* reused between calls */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int ipc_connect(const char *path, int timeout_ms, struct ipc_conn **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : IPC_TIMEOUT_MS);
	struct ipc_conn *c;
	int fd, rc;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a full backlog says EAGAIN on a non-blocking unix connect: retry */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		if (rc == -EINTR)
			continue;
		if (rc != -EAGAIN || now_ms() >= deadline) {
			close(fd);
			return rc == -EAGAIN ? -ETIMEDOUT : rc;
		}
		usleep(2000);
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = IPC_TIMEOUT_MS;
	c->next_id = 1;
	*out = c;
	return 0;
}

void ipc_set_timeout(struct ipc_conn *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : IPC_TIMEOUT_MS;
}

static int send_all(struct ipc_conn *c, const uint8_t *p, size_t n, int64_t deadline)
{
	ssize_t k;
	int rc;

	while (n) {
		k = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return errno == EPIPE ? -ECONNRESET : -errno;
			rc = wait_fd(c->fd, POLLOUT, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int recv_all(struct ipc_conn *c, uint8_t *p, size_t n, int64_t deadline)
{
	ssize_t k;
	int rc;

	while (n) {
		k = recv(c->fd, p, n, MSG_DONTWAIT);
		if (k == 0)
			return -ECONNRESET;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			rc = wait_fd(c->fd, POLLIN, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int ipc_call(struct ipc_conn *c, uint32_t op, const void *p, size_t n, struct buf *reply)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	uint8_t h[IPC_HDR_SIZE];
	uint32_t id, len, rid;
	struct buf sink = { 0 };
	struct buf *dst = reply ? reply : &sink;
	int rc, rrc;

	if (n > IPC_MSG_MAX - IPC_HDR_SIZE)
		return -EMSGSIZE;
	if (c->fd < 0)
		return -ECONNRESET;
	id = c->next_id++;
	if (c->next_id == 0)
		c->next_id = 1; /* 0 is the refusal id */
	put_le32(h, (uint32_t)n);
	put_le32(h + 4, op);
	put_le32(h + 8, id);
	rc = send_all(c, h, sizeof(h), deadline);
	if (rc == 0 && n)
		rc = send_all(c, p, n, deadline);
	/* a refused connection is closed by cfsd after one reply: read it */
	if (rc < 0 && rc != -ECONNRESET)
		goto out_broken;

	rc = recv_all(c, h, sizeof(h), deadline);
	if (rc < 0)
		goto out_broken;
	len = get_le32(h);
	rrc = (int32_t)get_le32(h + 4);
	rid = get_le32(h + 8);
	if (len > IPC_MSG_MAX - IPC_HDR_SIZE || (rid != id && rid != 0) || rrc > 0 ||
	    (rrc < 0 && len)) {
		rc = -EBADMSG;
		goto out_broken;
	}
	if (rid == 0) { /* refused at connect */
		rc = rrc < 0 ? rrc : -EBADMSG;
		goto out_broken;
	}
	buf_reset(dst);
	buf_reserve(dst, len);
	rc = recv_all(c, dst->p, len, deadline);
	if (rc < 0)
		goto out_broken;
	dst->len = len;
	dst->p[len] = 0; /* buf keeps a NUL past len */
	buf_free(&sink);
	return rrc;

out_broken:
	/* the stream is out of step now: no further calls on it */
	close(c->fd);
	c->fd = -1;
	buf_free(&sink);
	return rc;
}

int ipc_call_path(struct ipc_conn *c, uint32_t op, uint32_t flags, uint64_t arg, const char *path,
                  const char *to, const void *data, size_t len, struct buf *reply)
{
	buf_reset(&c->tx);
	ipc_path_encode(&c->tx, flags, arg, path, to, data, len);
	return ipc_call(c, op, c->tx.p, c->tx.len, reply);
}

int ipc_list(struct ipc_conn *c, const char *path, struct buf *reply)
{
	struct buf part = { 0 };
	struct ipc_stat st;
	uint64_t n = 0;
	struct rd r;
	int rc;

	buf_reset(reply);
	for (;;) {
		rc = ipc_call_path(c, IPC_OP_LIST, 0, n, path, NULL, NULL, 0, &part);
		if (rc < 0)
			break;
		r = rd_init(part.p, part.len);
		while (r.left && (rc = ipc_stat_decode(&r, &st)) == 0)
			n++;
		if (rc < 0)
			break;
		buf_put(reply, part.p, part.len);
		if (part.len <= IPC_LIST_MORE_AT)
			break;
	}
	buf_free(&part);
	return rc;
}

void ipc_close(struct ipc_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	buf_free(&c->tx);
	free(c);
}
