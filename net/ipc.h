/* net/ipc.h - the local socket protocol between cfsd and its clients
 * SPDX-License-Identifier: MIT
 *
 * A Unix stream socket (<root>/run/cfsd/cfsd.sock).  Every integer is
 * little-endian.  A client sends requests, cfsd answers each one exactly
 * once with a reply carrying the same id.
 *
 *	request  u32 len      payload bytes after this 12-byte header
 *	         u32 op       enum ipc_op
 *	         u32 id       chosen by the client, echoed in the reply; never 0
 *	         payload
 *	reply    u32 len      payload bytes after this 12-byte header
 *	         i32 rc       0 or -errno
 *	         u32 id       the request's id (0: refused at connect, see below)
 *	         payload      only when rc == 0
 *
 * IPC_HDR_SIZE + len is at most IPC_MSG_MAX (2 MiB) both ways; a longer
 * request closes the connection.  Requests of one connection are handled
 * in order, one at a time (a client may pipeline them: they wait in the
 * input buffer), so a client always sees the effect of its previous
 * requests.
 *
 * Path requests.  Every op but STATUS carries the same payload:
 *
 *	u32 flags     op-specific (IPC_F_*), unknown bits are -EINVAL
 *	u64 arg       WRITE: offset; MTIME: the new mtime (epoch s); LIST:
 *	              entries to skip; else 0
 *	u16 path_len  then path_len bytes: the tree path (no NUL byte in it;
 *	              '/' separated, a leading '/' accepted)
 *	u16 to_len    then to_len bytes: RENAME's target; 0 for other ops
 *	data          the rest: PUT and WRITE only, empty for other ops
 *
 * Ops (rc is 0 or -errno; errno meanings are those of pmxcfs):
 *
 *	STATUS  1  no payload.  Reply: one JSON object on one line, e.g.
 *	           {"name":"pve1","nodeid":0,"quorate":1,"local":1,
 *	            "version":N,"entries":N,"bytes":N,"readonly":0,
 *	            "starttime":N,"applied":N,"journal_gen":N,
 *	            "journal_bytes":N,"writes":N,"syncs":N,"compacting":0,
 *	            "clients":N,"mount":"<dir or empty>","clog_entries":N}
 *	           (clients rely on "quorate":0|1; more keys may come).
 *	READ    2  reply: the file's bytes (also the virtual files .version,
 *	           .members, .vmlist, .clusterlog).  EISDIR for a directory.
 *	STAT    3  reply: one stat entry (below) for path.
 *	LIST    4  reply: one stat entry per child of the directory path, in
 *	           name order (in the root: the virtual files and symlinks
 *	           first), skipping the first arg entries.  ENOTDIR for a
 *	           file.  A reply holds as many entries as fit in one
 *	           message; one longer than IPC_LIST_MORE_AT bytes may be
 *	           partial: ask again with arg = entries received so far
 *	           (ipc_list() does that).
 *	PUT     5  create or replace path with data, atomically.
 *	           IPC_F_EXCL: fail with EEXIST if path exists.
 *	CREATE  6  create an empty file; EEXIST if it exists.
 *	WRITE   7  write data at offset arg into an existing file;
 *	           IPC_F_TRUNC: truncate to arg + data length afterwards.
 *	MKDIR   8  make a directory; EEXIST if it exists.
 *	DELETE  9  remove a file or an empty directory.
 *	RENAME 10  rename path to `to`.
 *	MTIME  11  set the mtime of path to arg (lock renewal under priv/lock).
 *
 * Cluster ops (pvecm): their payload is not a path request but exactly
 * what is listed; they need read-write rights (except CLUSTER).
 *
 *	CLUSTER  12  no payload.  Reply: JSON object {"cluster":0|1, "name",
 *	             "nodeid", "quorate":0|1, "leader", "term", "role",
 *	             "ring_id":"<leader>.<term hex>", "expected",
 *	             "highest_expected", "total_votes", "quorum", "flags",
 *	             "cluster_name", "config_version", "transport",
 *	             "secauth", "nodes":[{"nodeid","name","votes",
 *	             "online":0|1,"addr"}, ...], "drops_auth"}
 *	EXPECTED 13  u32 votes: `pvecm expected N`.  -EINVAL when corosync's
 *	             rule refuses it, -ENOTCONN in local mode.
 *	TOKEN    14  u32 ttl_sec (0: an hour).  Reply: a new join token.
 *	RELOAD   15  u32 flags (IPC_RELOAD_*): answer, then restart cfsd in
 *	             place (it re-reads the host corosync.conf).
 *	LEAVE    16  u32 flags (IPC_LEAVE_*): leave the cluster, back to local
 *	             mode keeping the tree.
 *	LOG      17  u8 priority (syslog 0..7, else -EINVAL), u16 ident_len +
 *	             ident (the user, e.g. "root@pam"), u16 tag_len + tag (the
 *	             program), then the message (the rest, at most
 *	             IPC_LOG_MSG_MAX bytes): a cluster log entry of this node
 *	             (pmxcfs's LOG_CLUSTER_MSG; see store/clog.h), sent to every
 *	             node; read-only clients get -EPERM, as in pmxcfs.  The log
 *	             is read as the file .clusterlog.
 *
 * Stat entry (STAT reply, and each LIST element):
 *
 *	u8  type      IPC_T_FILE 1, IPC_T_DIR 2, IPC_T_LINK 3
 *	u32 mode      permission bits (pmxcfs modes by path, spec §4.3)
 *	u32 mtime     epoch seconds
 *	u64 size      bytes (symlinks: length of the target)
 *	u64 inode     stable number
 *	u32 writer    node id of the last writer
 *	u16 name_len  then the name (last path component; "" for the root)
 *	u16 tgt_len   then the symlink target (0 unless IPC_T_LINK)
 *
 * Credentials (SO_PEERCRED), checked at connect: uid 0, or the uid the
 * server was given as root_uid (under --root DIR: the owner of DIR),
 * reads and writes; a client whose gid is ro_gid (the www-data group, or
 * cfsd --gid) reads non-private paths and gets EACCES for mutations and
 * for private paths; everyone else gets one reply with id 0 and rc
 * -EACCES, then the connection is closed.
 *
 * Threading: the server runs on the caller's libev loop and never blocks
 * (non-blocking sockets, buffered output).  The client half is blocking,
 * with a deadline on every call: nothing waits forever.
 */
#ifndef NET_IPC_H
#define NET_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/buf.h"
#include "core/loop.h"

#define IPC_HDR_SIZE     12
#define IPC_MSG_MAX      (2 * 1024 * 1024) /* header included */
#define IPC_PATH_REQ_MIN 16                /* flags + arg + two lengths */
#define IPC_STAT_FIXED   33                /* stat entry without the strings */
#define IPC_SOCK_SUFFIX  "/run/cfsd/cfsd.sock"
#define IPC_TIMEOUT_MS   10000 /* default deadline of a client call */
/* a LIST reply longer than this may have been cut short (one more entry
 * of the largest size would not have fit): ask again (ipc_list()) */
#define IPC_LIST_MORE_AT (IPC_MSG_MAX - IPC_HDR_SIZE - IPC_STAT_FIXED - 255 - 4096)

enum ipc_op {
	IPC_OP_STATUS = 1,
	IPC_OP_READ = 2,
	IPC_OP_STAT = 3,
	IPC_OP_LIST = 4,
	IPC_OP_PUT = 5,
	IPC_OP_CREATE = 6,
	IPC_OP_WRITE = 7,
	IPC_OP_MKDIR = 8,
	IPC_OP_DELETE = 9,
	IPC_OP_RENAME = 10,
	IPC_OP_MTIME = 11,
	IPC_OP_CLUSTER = 12,
	IPC_OP_EXPECTED = 13,
	IPC_OP_TOKEN = 14,
	IPC_OP_RELOAD = 15,
	IPC_OP_LEAVE = 16,
	IPC_OP_LOG = 17,
	IPC_OP_MAX = 17,
};

#define IPC_LOG_STR_MAX 254  /* ident and tag bytes (longer: -ENAMETOOLONG) */
#define IPC_LOG_MSG_MAX 4096 /* message bytes (longer: -EMSGSIZE) */

/* IPC_OP_RELOAD flags */
#define IPC_RELOAD_JOIN 1u /* wipe the state: the tree is replaced by the cluster's */
/* IPC_OP_LEAVE flags */
#define IPC_LEAVE_FORCE 1u /* leave without quorum (the nodelist is not changed) */

enum {
	IPC_F_EXCL = 1 << 0,  /* PUT: fail with EEXIST if the file exists */
	IPC_F_TRUNC = 1 << 1, /* WRITE: truncate to offset + len afterwards */
};

enum {
	IPC_T_FILE = 1,
	IPC_T_DIR = 2,
	IPC_T_LINK = 3,
};

/* A decoded request.  path and to are NUL-terminated copies; data
 * borrows the bytes given to ipc_request_decode(). */
struct ipc_req {
	uint32_t op;
	uint32_t id;
	uint32_t flags;
	uint64_t arg;
	const uint8_t *data;
	uint32_t len;
	bool readonly; /* set by the server: the caller may only read */
	char path[4096];
	char to[4096];
};

/* A stat entry; name and target borrow (from the caller when encoding,
 * from the reply bytes when decoding: not NUL-terminated then). */
struct ipc_stat {
	uint8_t type;
	uint32_t mode;
	uint32_t mtime;
	uint64_t size;
	uint64_t inode;
	uint32_t writer;
	const char *name;
	uint16_t name_len;
	const char *target;
	uint16_t target_len;
};

/* true for the ops that change the tree */
bool ipc_op_is_mutation(uint32_t op);
/* the cluster ops that change something (EXPECTED..LEAVE): rw rights */
bool ipc_op_is_admin(uint32_t op);
/* "READ", "PUT", ... or "?" */
const char *ipc_op_name(uint32_t op);

/* Decode one request's op, id and payload (header already split off by
 * the caller: op and id given, p/n the payload).  Strict: a payload that
 * does not match its op exactly is -EBADMSG, unknown flags -EINVAL, an op
 * we do not know -EOPNOTSUPP.  Never logs, never allocates. */
int ipc_request_decode(uint32_t op, uint32_t id, const uint8_t *p, size_t n, struct ipc_req *out);
/* Decode a whole request message, header included (the fuzz entry):
 * *used = bytes consumed; -EAGAIN if more bytes are needed; -EMSGSIZE if
 * the header announces more than IPC_MSG_MAX. */
int ipc_message_decode(const uint8_t *p, size_t n, struct ipc_req *out, size_t *used);

/* Append a path request payload to out. */
void ipc_path_encode(struct buf *out, uint32_t flags, uint64_t arg, const char *path,
                     const char *to, const void *data, size_t len);
/* Append one stat entry to out. */
void ipc_stat_encode(struct buf *out, const struct ipc_stat *st);
/* Decode the stat entry at *r (advancing it); -EBADMSG if malformed. */
int ipc_stat_decode(struct rd *r, struct ipc_stat *st);

/* ---- server half (cfsd) ---- */

struct ipc_server;
struct ipc_client; /* one connection */

/* Called for every decoded request.  The callee must answer it exactly
 * once with ipc_reply(), now or later (group commit); c stays valid until
 * then even if the peer disconnects.  req is borrowed for the call. */
typedef void ipc_request_fn(void *ctx, struct ipc_client *c, const struct ipc_req *req);

struct ipc_server_cfg {
	const char *path;        /* socket path; a stale socket file is replaced */
	uid_t root_uid;          /* besides uid 0, this uid reads and writes */
	gid_t ro_gid;            /* this gid reads non-private paths */
	bool has_ro_gid;         /* false: nobody gets read-only access */
	ipc_request_fn *request; /* the handler */
	void *ctx;               /* its first argument */
};

/* Bind, listen (mode 0666: access is decided by SO_PEERCRED) and start
 * accepting on loop.  0 or -errno. */
int ipc_server_new(struct ev_loop *loop, const struct ipc_server_cfg *cfg, struct ipc_server **out);
/* Stop accepting, close every connection, unlink the socket.  Requests
 * not yet answered are dropped (their clients see the connection close).
 * Accepts NULL. */
void ipc_server_free(struct ipc_server *s);
/* Stop accepting new requests (shutdown), keep answering pending ones. */
void ipc_server_stop_accepting(struct ipc_server *s);

/* Answer one request: rc 0 or -errno, payload only sent when rc == 0.
 * Never blocks: what the socket does not take now is buffered. */
void ipc_reply(struct ipc_client *c, uint32_t id, int rc, const void *p, size_t n);
/* The same, with the payload in a struct buf that the server takes. */
void ipc_reply_buf(struct ipc_client *c, uint32_t id, int rc, struct buf *b);
/* The caller's credentials (valid until the reply). */
uid_t ipc_client_uid(const struct ipc_client *c);
pid_t ipc_client_pid(const struct ipc_client *c);
/* Connections currently open. */
size_t ipc_server_clients(const struct ipc_server *s);

/* ---- client half (applets) ---- */

struct ipc_conn;

/* Connect to the socket at path, waiting at most timeout_ms.  0 or
 * -errno (-ENOENT / -ECONNREFUSED: no cfsd; -ETIMEDOUT). */
int ipc_connect(const char *path, int timeout_ms, struct ipc_conn **out);
/* Deadline for each following call (default IPC_TIMEOUT_MS). */
void ipc_set_timeout(struct ipc_conn *c, int timeout_ms);
/* Send one request and wait for its reply.  Returns the reply's rc (0 or
 * -errno), or -ETIMEDOUT, -ECONNRESET, -EBADMSG, -EMSGSIZE for transport
 * trouble.  On 0 the reply payload is put into *reply (reset first;
 * reply may be NULL to ignore it). */
int ipc_call(struct ipc_conn *c, uint32_t op, const void *p, size_t n, struct buf *reply);
/* ipc_call() with a path request payload built from the arguments. */
int ipc_call_path(struct ipc_conn *c, uint32_t op, uint32_t flags, uint64_t arg, const char *path,
                  const char *to, const void *data, size_t len, struct buf *reply);
/* LIST of a whole directory into *reply (stat entries back to back),
 * asking again while replies may be partial.  0 or -errno. */
int ipc_list(struct ipc_conn *c, const char *path, struct buf *reply);
/* Close and free; accepts NULL. */
void ipc_close(struct ipc_conn *c);

#endif /* NET_IPC_H */
