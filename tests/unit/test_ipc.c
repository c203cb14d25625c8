/* tests/unit/test_ipc.c - net/ipc: codec, server on a loop, client with deadline
 * SPDX-License-Identifier: MIT
 *
 * The server runs in a forked child on its own loop; the blocking client
 * half runs in the test process (and in grandchildren with other
 * credentials for the access rules, when run as root).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/buf.h"
#include "core/path.h"
#include "core/util.h"
#include "net/ipc.h"
#include "tests/t.h"

/* ---------------------------------------------------------------- codec */

static void test_path_roundtrip(void)
{
	struct buf b = { 0 };
	struct ipc_req *r = calloc(1, sizeof(*r));
	int rc;

	ipc_path_encode(&b, IPC_F_EXCL, 0, "/nodes/a/qemu-server/100.conf", NULL, "abc", 3);
	rc = ipc_request_decode(IPC_OP_PUT, 7, b.p, b.len, r);
	T_EQ_INT(rc, 0);
	T_EQ_INT(r->op, IPC_OP_PUT);
	T_EQ_INT(r->id, 7);
	T_EQ_INT(r->flags, IPC_F_EXCL);
	T_EQ_STR(r->path, "/nodes/a/qemu-server/100.conf");
	T_EQ_STR(r->to, "");
	T_EQ_INT(r->len, 3);
	T_ASSERT(r->data && !memcmp(r->data, "abc", 3));

	buf_reset(&b);
	ipc_path_encode(&b, 0, 0, "a", "b", NULL, 0);
	T_EQ_INT(ipc_request_decode(IPC_OP_RENAME, 1, b.p, b.len, r), 0);
	T_EQ_STR(r->path, "a");
	T_EQ_STR(r->to, "b");
	T_EQ_INT(r->len, 0);

	buf_reset(&b);
	ipc_path_encode(&b, IPC_F_TRUNC, 4096, "f", NULL, "x", 1);
	T_EQ_INT(ipc_request_decode(IPC_OP_WRITE, 1, b.p, b.len, r), 0);
	T_EQ_INT(r->arg, 4096);
	T_EQ_INT(r->flags, IPC_F_TRUNC);

	T_EQ_INT(ipc_request_decode(IPC_OP_STATUS, 1, NULL, 0, r), 0);
	buf_free(&b);
	free(r);
}

static void test_strict_decoding(void)
{
	struct buf b = { 0 };
	struct ipc_req *r = calloc(1, sizeof(*r));
	char *longp = malloc(CFS_PATH_MAX + 1);

	/* unknown op, payload on STATUS */
	T_EQ_INT(ipc_request_decode(0, 1, NULL, 0, r), -EOPNOTSUPP);
	T_EQ_INT(ipc_request_decode(IPC_OP_MAX + 1, 1, NULL, 0, r), -EOPNOTSUPP);
	T_EQ_INT(ipc_request_decode(IPC_OP_STATUS, 1, (const uint8_t *)"x", 1, r), -EBADMSG);
	/* cluster ops: CLUSTER takes nothing, the others exactly one u32 */
	T_EQ_INT(ipc_request_decode(IPC_OP_CLUSTER, 1, NULL, 0, r), 0);
	T_EQ_INT(ipc_request_decode(IPC_OP_CLUSTER, 1, (const uint8_t *)"x", 1, r), -EBADMSG);
	T_EQ_INT(ipc_request_decode(IPC_OP_EXPECTED, 1, (const uint8_t *)"\x02\0\0\0", 4, r), 0);
	T_EQ_INT(r->arg, 2);
	T_EQ_INT(ipc_request_decode(IPC_OP_EXPECTED, 1, (const uint8_t *)"\x02\0\0", 3, r),
	         -EBADMSG);
	T_EQ_INT(ipc_request_decode(IPC_OP_LEAVE, 1, (const uint8_t *)"\1\0\0\0\0", 5, r),
	         -EBADMSG);
	/* LOG: u8 priority, u16 + ident, u16 + tag, the message */
	{
		static const uint8_t log[] = { 5, 4, 0,   'r', 'o', 'o', 't',
			                       3, 0, 't', 'a', 'g', 'h', 'i' };
		uint8_t bad[sizeof(log)];
		struct buf big = { 0 };

		T_EQ_INT(ipc_request_decode(IPC_OP_LOG, 1, log, sizeof(log), r), 0);
		T_EQ_INT(r->arg, 5);
		T_EQ_STR(r->path, "root");
		T_EQ_STR(r->to, "tag");
		T_EQ_INT(r->len, 2);
		T_EQ_MEM(r->data, "hi", 2);
		memcpy(bad, log, sizeof(log));
		bad[0] = 8; /* priorities are 0..7 */
		T_EQ_INT(ipc_request_decode(IPC_OP_LOG, 1, bad, sizeof(bad), r), -EINVAL);
		T_EQ_INT(ipc_request_decode(IPC_OP_LOG, 1, log, 8, r),
		         -EBADMSG); /* cut in the tag */
		buf_put(&big, log, 12);
		for (int i = 0; i <= IPC_LOG_MSG_MAX; i++)
			buf_put_u8(&big, 'x');
		T_EQ_INT(ipc_request_decode(IPC_OP_LOG, 1, big.p, big.len, r), -EMSGSIZE);
		buf_reset(&big);
		buf_put_u8(&big, 6);
		buf_put_le16(&big, IPC_LOG_STR_MAX + 1);
		for (int i = 0; i <= IPC_LOG_STR_MAX; i++)
			buf_put_u8(&big, 'u');
		buf_put_le16(&big, 0);
		T_EQ_INT(ipc_request_decode(IPC_OP_LOG, 1, big.p, big.len, r), -ENAMETOOLONG);
		buf_free(&big);
		T_ASSERT(!ipc_op_is_mutation(IPC_OP_LOG) && !ipc_op_is_admin(IPC_OP_LOG));
		T_EQ_STR(ipc_op_name(IPC_OP_LOG), "LOG");
	}
	T_ASSERT(ipc_op_is_admin(IPC_OP_RELOAD) && !ipc_op_is_admin(IPC_OP_CLUSTER));
	T_ASSERT(!ipc_op_is_mutation(IPC_OP_TOKEN));
	/* unknown flag bits; a flag of another op */
	ipc_path_encode(&b, 1u << 9, 0, "a", NULL, NULL, 0);
	T_EQ_INT(ipc_request_decode(IPC_OP_PUT, 1, b.p, b.len, r), -EINVAL);
	T_EQ_INT(ipc_request_decode(IPC_OP_READ, 1, b.p, b.len, r), -EINVAL);
	buf_reset(&b);
	ipc_path_encode(&b, IPC_F_TRUNC, 0, "a", NULL, NULL, 0);
	T_EQ_INT(ipc_request_decode(IPC_OP_PUT, 1, b.p, b.len, r), -EINVAL);
	/* data where none belongs, a target where none belongs, none where needed */
	buf_reset(&b);
	ipc_path_encode(&b, 0, 0, "a", NULL, "d", 1);
	T_EQ_INT(ipc_request_decode(IPC_OP_DELETE, 1, b.p, b.len, r), -EBADMSG);
	buf_reset(&b);
	ipc_path_encode(&b, 0, 0, "a", "b", NULL, 0);
	T_EQ_INT(ipc_request_decode(IPC_OP_MKDIR, 1, b.p, b.len, r), -EBADMSG);
	buf_reset(&b);
	ipc_path_encode(&b, 0, 0, "a", NULL, NULL, 0);
	T_EQ_INT(ipc_request_decode(IPC_OP_RENAME, 1, b.p, b.len, r), -EBADMSG);
	/* arg only for WRITE, MTIME and LIST */
	buf_reset(&b);
	ipc_path_encode(&b, 0, 5, "a", NULL, NULL, 0);
	T_EQ_INT(ipc_request_decode(IPC_OP_READ, 1, b.p, b.len, r), -EBADMSG);
	T_EQ_INT(ipc_request_decode(IPC_OP_MTIME, 1, b.p, b.len, r), 0);
	T_EQ_INT(r->arg, 5);
	T_EQ_INT(ipc_request_decode(IPC_OP_LIST, 1, b.p, b.len, r), 0); /* entries to skip */
	/* NUL inside a path */
	buf_reset(&b);
	ipc_path_encode(&b, 0, 0, "ab", NULL, NULL, 0);
	b.p[14 + 1] = 0;
	T_EQ_INT(ipc_request_decode(IPC_OP_READ, 1, b.p, b.len, r), -EBADMSG);
	/* a path of CFS_PATH_MAX bytes does not fit with its NUL */
	memset(longp, 'a', CFS_PATH_MAX);
	longp[CFS_PATH_MAX] = 0;
	buf_reset(&b);
	ipc_path_encode(&b, 0, 0, longp, NULL, NULL, 0);
	T_EQ_INT(ipc_request_decode(IPC_OP_READ, 1, b.p, b.len, r), -ENAMETOOLONG);
	longp[CFS_PATH_MAX - 1] = 0;
	buf_reset(&b);
	ipc_path_encode(&b, 0, 0, longp, NULL, NULL, 0);
	T_EQ_INT(ipc_request_decode(IPC_OP_READ, 1, b.p, b.len, r), 0);
	T_EQ_INT(strlen(r->path), CFS_PATH_MAX - 1);
	free(longp);
	buf_free(&b);
	free(r);
}

/* every truncation and every bit flip: never a crash, never a read past
 * the end (ASan), truncations of a data-less request always fail */
static void test_truncation_and_flips(void)
{
	struct buf b = { 0 };
	struct ipc_req *r = calloc(1, sizeof(*r));
	size_t i, bit;
	uint8_t *copy;

	ipc_path_encode(&b, 0, 0, "nodes/x/lxc/101.conf", "nodes/y/lxc/101.conf", NULL, 0);
	for (i = 0; i < b.len; i++) {
		copy = xmemdup(b.p, i); /* exact-size copy: ASan sees overreads */
		T_ASSERT(ipc_request_decode(IPC_OP_RENAME, 1, copy, i, r) < 0);
		free(copy);
	}
	copy = xmemdup(b.p, b.len);
	for (i = 0; i < b.len; i++)
		for (bit = 0; bit < 8; bit++) {
			copy[i] ^= (uint8_t)(1u << bit);
			(void)ipc_request_decode(IPC_OP_RENAME, 1, copy, b.len, r);
			copy[i] ^= (uint8_t)(1u << bit);
		}
	T_EQ_INT(ipc_request_decode(IPC_OP_RENAME, 1, copy, b.len, r), 0);
	free(copy);
	buf_free(&b);
	free(r);
}

static void test_message_framing(void)
{
	struct ipc_req *r = calloc(1, sizeof(*r));
	uint8_t m[IPC_HDR_SIZE] = { 0 };
	size_t used;

	put_le32(m, 0);
	put_le32(m + 4, IPC_OP_STATUS);
	put_le32(m + 8, 9);
	T_EQ_INT(ipc_message_decode(m, 11, r, &used), -EAGAIN);
	T_EQ_INT(ipc_message_decode(m, 12, r, &used), 0);
	T_EQ_INT(used, 12);
	T_EQ_INT(r->id, 9);
	put_le32(m, 5);
	T_EQ_INT(ipc_message_decode(m, 12, r, &used), -EAGAIN);
	put_le32(m, IPC_MSG_MAX - IPC_HDR_SIZE + 1);
	T_EQ_INT(ipc_message_decode(m, 12, r, &used), -EMSGSIZE);
	free(r);
}

static void test_stat_entry(void)
{
	struct ipc_stat in = {
		IPC_T_LINK, 0755, 1779871231, 12, 42, 3, "local", 5, "nodes/pve1", 10
	};
	struct ipc_stat out;
	struct buf b = { 0 };
	struct rd r;
	size_t i;

	ipc_stat_encode(&b, &in);
	T_EQ_INT(b.len, IPC_STAT_FIXED + 15);
	r = rd_init(b.p, b.len);
	T_EQ_INT(ipc_stat_decode(&r, &out), 0);
	T_EQ_INT(r.left, 0);
	T_EQ_INT(out.type, IPC_T_LINK);
	T_EQ_INT(out.mode, 0755);
	T_EQ_INT(out.mtime, 1779871231);
	T_EQ_INT(out.size, 12);
	T_EQ_INT(out.inode, 42);
	T_EQ_INT(out.writer, 3);
	T_ASSERT(out.name_len == 5 && !memcmp(out.name, "local", 5));
	T_ASSERT(out.target_len == 10 && !memcmp(out.target, "nodes/pve1", 10));
	for (i = 0; i < b.len; i++) {
		r = rd_init(b.p, i);
		T_EQ_INT(ipc_stat_decode(&r, &out), -EBADMSG);
	}
	b.p[0] = 9; /* unknown type */
	r = rd_init(b.p, b.len);
	T_EQ_INT(ipc_stat_decode(&r, &out), -EBADMSG);
	buf_free(&b);
}

/* ---------------------------------------------------------------- server */

struct srv {
	struct ev_loop *loop;
	struct ipc_server *ipc;
	ev_prepare flush;
	struct ipc_client *waiting[64];
	uint32_t waiting_id[64];
	int waiting_rc[64];
	int nwaiting;
};

/* the "group commit": deferred replies leave just before the loop blocks;
 * a reply may dispatch a pipelined request that is deferred in turn, so
 * loop until nothing waits (the loop would block with it otherwise) */
static void srv_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct srv *s = container_of(w, struct srv, flush);
	struct ipc_client *c[64];
	uint32_t id[64];
	int rc[64];
	int i, n;

	(void)loop;
	(void)revents;
	while ((n = s->nwaiting) > 0) {
		memcpy(c, s->waiting, sizeof(c[0]) * (size_t)n);
		memcpy(id, s->waiting_id, sizeof(id[0]) * (size_t)n);
		memcpy(rc, s->waiting_rc, sizeof(rc[0]) * (size_t)n);
		s->nwaiting = 0;
		for (i = 0; i < n; i++)
			ipc_reply(c[i], id[i], rc[i], NULL, 0);
	}
}

static void srv_request(void *ctx, struct ipc_client *c, const struct ipc_req *req)
{
	struct srv *s = ctx;
	struct buf b = { 0 };

	if (!strcmp(req->path, "hang"))
		return; /* never answered: the client's deadline must fire */
	if (req->op == IPC_OP_STATUS) {
		buf_printf(&b, "{\"readonly\":%d}", req->readonly);
		ipc_reply_buf(c, req->id, 0, &b);
		return;
	}
	if (req->readonly && ipc_op_is_mutation(req->op)) {
		ipc_reply(c, req->id, -EACCES, NULL, 0);
		return;
	}
	if (ipc_op_is_mutation(req->op) && s->nwaiting < 64) {
		s->waiting[s->nwaiting] = c;
		s->waiting_id[s->nwaiting] = req->id;
		/* report what arrived: the data length, or -ENOENT for "missing" */
		s->waiting_rc[s->nwaiting++] = strcmp(req->path, "missing") ? 0 : -ENOENT;
		return;
	}
	if (req->op == IPC_OP_READ && !strcmp(req->path, "big")) {
		buf_reserve(&b, IPC_MSG_MAX - IPC_HDR_SIZE);
		memset(b.p, 'z', IPC_MSG_MAX - IPC_HDR_SIZE);
		b.len = IPC_MSG_MAX - IPC_HDR_SIZE;
		ipc_reply_buf(c, req->id, 0, &b);
		return;
	}
	/* READ echoes "op:path:len" */
	buf_printf(&b, "%s:%s:%u", ipc_op_name(req->op), req->path, req->len);
	ipc_reply_buf(c, req->id, 0, &b);
}

static char sock_path[256];

static pid_t server_start(uid_t root_uid, gid_t ro_gid)
{
	int pfd[2];
	pid_t pid;
	char ch;

	T_ASSERT(pipe(pfd) == 0);
	pid = fork();
	if (pid == 0) {
		static struct srv s;
		struct ipc_server_cfg cfg = { sock_path, root_uid, ro_gid, true, srv_request, &s };

		close(pfd[0]);
		s.loop = ev_loop_new(EVFLAG_AUTO);
		if (ipc_server_new(s.loop, &cfg, &s.ipc) < 0)
			_exit(1);
		ev_prepare_init(&s.flush, srv_flush_cb);
		ev_prepare_start(s.loop, &s.flush);
		(void)!write(pfd[1], "1", 1);
		ev_run(s.loop, 0);
		_exit(0);
	}
	close(pfd[1]);
	T_EQ_INT(read(pfd[0], &ch, 1), 1);
	close(pfd[0]);
	return pid;
}

static void server_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_client_server(void)
{
	struct ipc_conn *c;
	struct buf rep = { 0 };
	pid_t pid;
	int rc;

	path_fmt(sock_path, sizeof(sock_path), "%s/s.sock", t_tmpdir());
	pid = server_start(0, 4242);
	T_EQ_INT(ipc_connect(sock_path, 1000, &c), 0);
	T_EQ_INT(ipc_call(c, IPC_OP_STATUS, NULL, 0, &rep), 0);
	T_EQ_STR((char *)rep.p, "{\"readonly\":0}");
	T_EQ_INT(ipc_call_path(c, IPC_OP_READ, 0, 0, "a/b", NULL, NULL, 0, &rep), 0);
	T_EQ_STR((char *)rep.p, "READ:a/b:0");
	/* deferred replies (group commit) and errors */
	T_EQ_INT(ipc_call_path(c, IPC_OP_PUT, 0, 0, "f", NULL, "data", 4, NULL), 0);
	T_EQ_INT(ipc_call_path(c, IPC_OP_DELETE, 0, 0, "missing", NULL, NULL, 0, NULL), -ENOENT);
	/* a request the server cannot decode gets an error, the connection stays */
	T_EQ_INT(ipc_call(c, IPC_OP_READ, "xx", 2, NULL), -EBADMSG);
	T_EQ_INT(ipc_call(c, 99, NULL, 0, NULL), -EOPNOTSUPP);
	/* the largest reply */
	T_EQ_INT(ipc_call_path(c, IPC_OP_READ, 0, 0, "big", NULL, NULL, 0, &rep), 0);
	T_EQ_INT(rep.len, IPC_MSG_MAX - IPC_HDR_SIZE);
	T_ASSERT(rep.p[0] == 'z' && rep.p[rep.len - 1] == 'z');
	/* the largest request */
	{
		size_t n = IPC_MSG_MAX - IPC_HDR_SIZE - IPC_PATH_REQ_MIN - 4;
		char *big = calloc(1, n + 1);

		T_EQ_INT(ipc_call_path(c, IPC_OP_READ, 0, 0, "bigr", NULL, big, n, &rep), -EBADMSG);
		T_EQ_INT(ipc_call_path(c, IPC_OP_PUT, 0, 0, "bigr", NULL, big, n, &rep), 0);
		T_EQ_INT(ipc_call_path(c, IPC_OP_PUT, 0, 0, "bigr", NULL, big, n + 1, &rep),
		         -EMSGSIZE);
		free(big);
	}
	/* a request that is never answered: the deadline fires */
	ipc_set_timeout(c, 200);
	rc = ipc_call_path(c, IPC_OP_READ, 0, 0, "hang", NULL, NULL, 0, &rep);
	T_EQ_INT(rc, -ETIMEDOUT);
	/* and the stream is closed afterwards, not reused out of step */
	T_EQ_INT(ipc_call(c, IPC_OP_STATUS, NULL, 0, &rep), -ECONNRESET);
	ipc_close(c);
	buf_free(&rep);
	server_stop(pid);
	/* a dead server's socket refuses at once; no socket at all is ENOENT */
	T_EQ_INT(ipc_connect(sock_path, 200, &c), -ECONNREFUSED);
	unlink(sock_path);
	T_EQ_INT(ipc_connect(sock_path, 200, &c), -ENOENT);
}

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
	ssize_t k;

	while (n) {
		k = read(fd, p, n);
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* pipelined requests in one write: answered one by one, in order, with
 * the deferred ones not overtaken by the immediate ones */
static void test_pipelining(void)
{
	struct buf m = { 0 }, pl = { 0 };
	uint8_t h[IPC_HDR_SIZE], body[256];
	uint32_t ids[4] = { 11, 12, 13, 14 };
	uint32_t ops[4] = { IPC_OP_PUT, IPC_OP_READ, IPC_OP_DELETE, IPC_OP_STATUS };
	pid_t pid;
	int fd, i;

	path_fmt(sock_path, sizeof(sock_path), "%s/p.sock", t_tmpdir());
	pid = server_start(0, 4242);
	fd = raw_connect();
	T_ASSERT(fd >= 0);
	for (i = 0; i < 4; i++) {
		buf_reset(&pl);
		if (ops[i] != IPC_OP_STATUS)
			ipc_path_encode(&pl, 0, 0, i == 2 ? "missing" : "x", NULL, NULL, 0);
		buf_put_le32(&m, (uint32_t)pl.len);
		buf_put_le32(&m, ops[i]);
		buf_put_le32(&m, ids[i]);
		buf_put(&m, pl.p, pl.len);
	}
	T_EQ_INT(write(fd, m.p, m.len), (long)m.len);
	for (i = 0; i < 4; i++) {
		T_EQ_INT(read_full(fd, h, sizeof(h)), 0);
		T_EQ_INT(get_le32(h + 8), ids[i]);
		T_EQ_INT((int32_t)get_le32(h + 4), i == 2 ? -ENOENT : 0);
		T_ASSERT(get_le32(h) < sizeof(body));
		T_EQ_INT(read_full(fd, body, get_le32(h)), 0);
	}
	/* an oversized header closes the connection */
	buf_reset(&m);
	buf_put_le32(&m, IPC_MSG_MAX);
	buf_put_le32(&m, IPC_OP_READ);
	buf_put_le32(&m, 1);
	T_EQ_INT(write(fd, m.p, m.len), 12);
	T_EQ_INT(read(fd, h, sizeof(h)), 0);
	close(fd);
	/* a client that disconnects with a deferred request pending: the
	 * server must survive answering it later */
	fd = raw_connect();
	buf_reset(&pl);
	ipc_path_encode(&pl, 0, 0, "x", NULL, NULL, 0);
	buf_reset(&m);
	buf_put_le32(&m, (uint32_t)pl.len);
	buf_put_le32(&m, IPC_OP_MKDIR);
	buf_put_le32(&m, 5);
	buf_put(&m, pl.p, pl.len);
	T_EQ_INT(write(fd, m.p, m.len), (long)m.len);
	close(fd);
	{
		struct ipc_conn *c;

		T_EQ_INT(ipc_connect(sock_path, 1000, &c), 0);
		T_EQ_INT(ipc_call(c, IPC_OP_STATUS, NULL, 0, NULL), 0);
		ipc_close(c);
	}
	T_EQ_INT(waitpid(pid, NULL, WNOHANG), 0); /* still alive */
	server_stop(pid);
	buf_free(&m);
	buf_free(&pl);
}

/* run fn as uid/gid in a child; its exit status */
static int as_user(uid_t uid, gid_t gid, int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(99);
		_exit(fn());
	}
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 98;
}

static int ro_client(void)
{
	struct ipc_conn *c;
	struct buf rep = { 0 };
	int ok = 1;

	if (ipc_connect(sock_path, 1000, &c) < 0)
		return 2;
	ok &= ipc_call(c, IPC_OP_STATUS, NULL, 0, &rep) == 0 &&
	      !strcmp((char *)rep.p, "{\"readonly\":1}");
	ok &= ipc_call_path(c, IPC_OP_PUT, 0, 0, "f", NULL, "d", 1, NULL) == -EACCES;
	ipc_close(c);
	buf_free(&rep);
	return ok ? 0 : 1;
}

static int refused_client(void)
{
	struct ipc_conn *c;
	int rc;

	if (ipc_connect(sock_path, 1000, &c) < 0)
		return 2;
	rc = ipc_call(c, IPC_OP_STATUS, NULL, 0, NULL);
	ipc_close(c);
	return rc == -EACCES ? 0 : 1;
}

static int owner_client(void)
{
	struct ipc_conn *c;
	int rc;

	if (ipc_connect(sock_path, 1000, &c) < 0)
		return 2;
	rc = ipc_call_path(c, IPC_OP_PUT, 0, 0, "f", NULL, "d", 1, NULL);
	ipc_close(c);
	return rc == 0 ? 0 : 1;
}

static void test_credentials(void)
{
	char dir[256];
	pid_t pid;

	if (geteuid() != 0) {
		printf("test_credentials: not root, skipped\n");
		return;
	}
	path_fmt(sock_path, sizeof(sock_path), "%s/c.sock", t_tmpdir());
	/* t_tmpdir() and its parent are 0700: let the other uids reach the socket */
	strcpy(dir, sock_path);
	T_EQ_INT(chmod(dirname(dir), 0755), 0);
	T_EQ_INT(chmod(dirname(dir), 0755), 0);
	pid = server_start(4321, 4242);
	T_EQ_INT(as_user(5000, 4242, ro_client), 0);      /* www-data-like: reads only */
	T_EQ_INT(as_user(5000, 5000, refused_client), 0); /* anyone else: refused */
	T_EQ_INT(as_user(4321, 5000, owner_client), 0);   /* owner of --root: as root */
	server_stop(pid);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	t_init(argc, argv);
	T_RUN(test_path_roundtrip);
	T_RUN(test_strict_decoding);
	T_RUN(test_truncation_and_flips);
	T_RUN(test_message_framing);
	T_RUN(test_stat_entry);
	T_RUN(test_client_server);
	T_RUN(test_pipelining);
	T_RUN(test_credentials);
	return t_done();
}
