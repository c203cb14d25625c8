/* applets/cfsd/cfsd.h - the daemon's state, shared by its files
 * SPDX-License-Identifier: MIT
 *
 *	cfsd.c         main: options, paths, cluster configuration,
 *	               daemonizing, signals, shutdown
 *	node.c         the replicated log: raft alone (local mode) or over the
 *	               UDP transport (cluster mode), forwarding, deadlines
 *	store_glue.c   recovery, group commit, apply, compaction
 *	ipc_ops.c      answers IPC requests (reads, mutations, status)
 *	cluster_ops.c  the pvecm operations (tokens, reload, leave)
 *
 * The path of one write (DESIGN §3):
 *	ipc_ops_request()   decode, caller's rights, rules_check() precheck
 *	store_glue_submit() op_encode(), node_submit(): proposed to raft here
 *	                    (leader) or forwarded to the leader; the reply is
 *	                    deferred
 *	flush_cb()          ev_prepare, once per loop turn: one journal_sync()
 *	                    for everything queued (group commit); then the node
 *	                    releases the messages that promised durability and
 *	                    raft commits; committed entries are applied with
 *	                    rules_apply() in log order on every node, and the
 *	                    node whose client asked answers it with the result.
 * Reads are answered from the tree at once: a client sees its own writes
 * (it has their reply) and never a write that is not committed.
 */
#ifndef APPLETS_CFSD_CFSD_H
#define APPLETS_CFSD_CFSD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "applets/cfsd/node.h"
#include "core/buf.h"
#include "core/corosync_conf.h"
#include "core/loop.h"
#include "core/util.h"
#include "net/ipc.h"
#include "store/journal.h"
#include "store/op.h"
#include "store/rules.h"

struct cfsd {
	struct ev_loop *loop;
	char name[64];   /* this node's name (--name, else short hostname) */
	uint32_t nodeid; /* corosync nodeid; 0 in local mode */
	bool foreground;
	bool local;                   /* -l: ignore corosync.conf */
	bool cluster;                 /* running with a corosync.conf */
	char root[CFS_PATH_MAX];      /* --root DIR (absolute) or "" */
	char state_dir[CFS_PATH_MAX]; /* <root>/var/lib/cfsd */
	char run_dir[CFS_PATH_MAX];   /* <root>/run/cfsd */
	char sock[CFS_PATH_MAX];      /* <run_dir>/cfsd.sock */
	char pidfile[CFS_PATH_MAX];   /* <run_dir>/cfsd.pid */
	char conf_path[CFS_PATH_MAX]; /* <root>/etc/corosync/corosync.conf */
	uid_t root_uid;               /* besides 0: the owner of --root DIR */
	gid_t ro_gid;                 /* read-only group (www-data or --gid) */
	bool has_ro_gid;
	double write_timeout; /* --write-timeout seconds; 0: node's default */
	long spin_us;         /* --spin-us: poll this long after a change */
	uint64_t spin_until;  /* monotonic microseconds: poll until then */
	int qos_fd;           /* /dev/cpu_dma_latency (PM QoS), or -1 */
	char **argv;          /* the command line, for a restart in place */

	struct rules *rules;        /* owned: the tree and the pmxcfs rules */
	struct journal *journal;    /* owned */
	struct ipc_server *ipc;     /* owned */
	struct node *node;          /* owned: the replicated log */
	struct corosync_conf *conf; /* owned: the host corosync.conf (cluster) */
	struct cluster_conf cc;     /* what it says (cluster mode) */
	uint8_t *authkey;           /* owned: the cluster key (cluster mode) */
	size_t authkey_len;
	uint32_t epoch;         /* boot epoch, from <state_dir>/epoch */
	uint64_t applied;       /* index of the last entry applied to the tree */
	bool replay_slow;       /* recovery must go through raft (see store_glue.c) */
	bool conf_seeded;       /* the tree's corosync.conf was checked (store_glue.c) */
	int broken;             /* 0, or why cfsd became read-only */
	uint64_t starttime;     /* epoch seconds */
	uint64_t replayed;      /* entries applied during recovery */
	uint64_t bad_ops;       /* journal entries that did not decode */
	uint64_t writes;        /* ops submitted since start */
	uint32_t inflight;      /* of those, not answered yet */
	uint64_t syncs;         /* group commits since start */
	pid_t compact_pid;      /* snapshot writer, 0 if none */
	uint64_t compact_index; /* index of the running compaction */
	double compact_next;    /* ev_now() before which no new compaction starts */
	bool stopping;
	bool digest_valid;       /* digest is the tree's at digest_version */
	uint64_t digest_version; /* (ipc_ops.c: STATUS computes it once per version) */
	uint8_t digest[16];
	char mnt[CFS_PATH_MAX]; /* --mount DIR (default <root>/etc/pve), "" none */
	struct fuse_ops *fuse;  /* fuse_ops.c, NULL when not mounted */
	struct clog *clog;      /* clusterlog.c: the cluster log */
	uint32_t clog_uid;      /* ... uid of this node's last entry */
	uint32_t clinfo;        /* ipc_ops.c: .members/.version counter */
	uint32_t clinfo_hash;   /* ... of what .members showed last */
	bool clinfo_seen;
	int restart;            /* 0, or IPC_RELOAD_* | 0x100: exec again after stopping */
	struct lock_age *locks; /* locks.c: when each lock was first seen */
	double locks_since;     /* locks.c: ... or, without a note, since when */

	ev_prepare flush;
	ev_idle spin; /* active: the loop polls instead of sleeping */
	ev_signal sigterm;
	ev_signal sigint;
	ev_signal sighup;
	ev_child compact_w;
};

/* cfsd.c */
/* A client asked for a change: poll instead of sleeping for spin_us. */
void cfsd_spin(struct cfsd *d);

/* locks.c */
/* An op was applied: note when a lock directory changed (or went). */
void locks_applied(struct cfsd *d, const struct op *op);
/* node hook (leader): remove path if it has been at version for longer
 * than the lock lifetime. */
void locks_unlock(void *ctx, const char *path, uint64_t version);
void locks_free(struct cfsd *d);
/* Forget the notes: every lock counts as seen now (start, snapshot load). */
void locks_reset(struct cfsd *d);

/* store_glue.c */
/* Load the cluster configuration (unless local), recover the tree from
 * the state directory (takes its lock) and start the replicated log:
 * 0 or -errno (-EBUSY: another cfsd holds it; -EINVAL: a bad
 * configuration, already reported on stderr). */
int store_glue_open(struct cfsd *d);
/* Start the group-commit watcher. */
void store_glue_start(struct cfsd *d);
/* Replicate op for client c (request id); the reply comes once it is
 * committed and applied here, or has failed (no quorum, deadline). */
void store_glue_submit(struct cfsd *d, struct ipc_client *c, uint32_t id, const struct op *op);
/* The same for anybody: done(ctx, 0 or -errno) once committed and
 * applied here, or failed. */
typedef void store_done_fn(void *ctx, int rc);
void store_glue_submit_cb(struct cfsd *d, const struct op *op, store_done_fn *done, void *ctx);
/* Sync what was queued, let the node commit, apply and answer (also used
 * at shutdown). */
void store_glue_flush(struct cfsd *d);
/* Shutdown: wait for a running compaction, sync, close. */
void store_glue_close(struct cfsd *d);
/* The compaction threshold for the current tree (see store_glue.c). */
uint64_t store_glue_compact_threshold(const struct cfsd *d);

/* cluster_ops.c: IPC_OP_TOKEN, IPC_OP_RELOAD and IPC_OP_LEAVE (pvecm) */
void cluster_ops_request(struct cfsd *d, struct ipc_client *c, const struct ipc_req *req);

/* ipc_ops.c */
/* The net/ipc request handler (ctx is the struct cfsd). */
void ipc_ops_request(void *ctx, struct ipc_client *c, const struct ipc_req *req);
/* The virtual entries of the root, in listing order: i-th, NULL after. */
const char *ipc_ops_vname(size_t i);
/* Render the virtual root file name (.members, ...) into out; false if
 * name is not one. */
bool ipc_ops_render(struct cfsd *d, const char *name, struct buf *out);
/* A write to .debug: "1\n" or "0\n" switches debug logging; else -EIO. */
int ipc_ops_debug(const uint8_t *data, size_t len);
/* Before a change is proposed: read-only node, writer and time, the
 * rules (quorum, limits, VMIDs), a new corosync.conf's validity; an
 * mtime of 0 on a lock is an unlock request.  0 or -errno. */
int ipc_ops_check(struct cfsd *d, struct op *op);

/* clusterlog.c: the cluster log (.clusterlog, IPC_OP_LOG) */
/* After the node exists: the log, with its first entry. */
void clusterlog_start(struct cfsd *d);
void clusterlog_stop(struct cfsd *d);
/* An entry of this node: into the log and to every node.  0 or -errno
 * (-EINVAL: bad priority). */
int clusterlog_add(struct cfsd *d, uint8_t pri, const char *ident, const char *tag, uint32_t pid,
                   const char *msg);
/* .clusterlog: the newest 50 entries as pmxcfs's JSON */
void clusterlog_render(struct cfsd *d, struct buf *out);
/* node hooks */
void clusterlog_recv(void *ctx, uint32_t from, const uint8_t *p, size_t len);
void clusterlog_peer_back(void *ctx, uint32_t id);

/* fuse_ops.c: the tree mounted at <root>/etc/pve */
/* Mount (replacing a dead mount of an earlier cfsd) and serve; a failure
 * is logged and cfsd goes on without the mount. */
void fuse_ops_start(struct cfsd *d);
/* Unmount and stop serving; NULL-safe on a cfsd that never mounted. */
void fuse_ops_stop(struct cfsd *d);

#endif /* APPLETS_CFSD_CFSD_H */
