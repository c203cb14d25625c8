/* applets/cfsd/cluster.h - cluster management inside cfsd: the IPC ops of
 * pvecm (token, reload, leave), the join/API listener, and corosync.conf
 * as data.
 * SPDX-License-Identifier: MIT
 *
 *	cluster_ops.c  IPC_OP_TOKEN, IPC_OP_RELOAD, IPC_OP_LEAVE; internal
 *	               writes through the log (cluster_write); membership
 *	join.c         TLS listener on TCP 8006 (join API, cluster status)
 *	conf_sync.c    corosync.conf: checked at submit, written to the host
 *	               path after commit, nodelist changes become membership
 *	               changes of the consensus
 *
 * IPC payloads (little-endian):
 *	TOKEN  14  u32 ttl_sec (0: CLUSTER_TOKEN_TTL_SEC).  Reply: the token
 *	           text.  Only sha256(token) and the expiry are stored, in
 *	           priv/join-tokens, through the log.  -ENOTCONN in local mode,
 *	           -EACCES without quorum.
 *	RELOAD 15  u32 flags: IPC_RELOAD_JOIN (the state directory is moved
 *	           aside: the tree is replaced by the cluster's).  Answered 0,
 *	           then cfsd stops as on SIGTERM and cfsd.c execv()s it again
 *	           (d->restart); it starts in cluster mode when
 *	           <root>/etc/corosync/corosync.conf exists.
 *	LEAVE  16  u32 flags: IPC_LEAVE_FORCE.  Quorate: this node is removed from
 *	           corosync.conf through the log first; not quorate: -EACCES
 *	           unless FORCE (then the others keep it in their nodelist).
 *	           Then the host corosync.conf and authkey are removed and cfsd
 *	           re-executes itself in local mode, keeping its tree.
 *
 * Context: the loop thread.
 */
#ifndef APPLETS_CFSD_CLUSTER_H
#define APPLETS_CFSD_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/cert.h"
#include "core/corosync_conf.h"
#include "core/loop.h"
#include "net/ipc.h"
#include "store/op.h"

struct cfsd;
struct http_server;
struct tls_conf;

#define CLUSTER_VIEW_MAX 64

/* cfsd's cluster-management state: one instance (cluster_ext()) */
struct cluster_ext {
	struct cfsd *d; /* back */
	/* join.c */
	ev_timer join_check;
	struct http_server *join_http;
	struct tls_conf *join_tls;
	int join_fd;
	char join_fp[CERT_FP_STRLEN]; /* certificate being served */
	char join_addr[64];           /* address listened on */
	bool join_busy;               /* a join is running */
	/* cluster_ops.c */
	bool leaving;    /* IPC_OP_LEAVE in progress */
	ev_timer resync; /* membership from the tree's corosync.conf, deferred */
	/* the membership in force (conf_sync.c -> cluster_membership()) */
	bool cc_valid;
	struct corosync_conf *conf;
	struct cluster_conf cc;
	struct corosync_conf *old_conf[16]; /* kept alive: the node borrows strings */
	struct cluster_conf old_cc[16];
	size_t n_old;
};

/* What `GET /cluster/status` shows. */
struct cluster_view_node {
	uint32_t nodeid;
	const char *name;
	const char *addr;
	bool online;
};
struct cluster_view {
	bool cluster;
	bool quorate;
	uint32_t self;
	const char *cluster_name;
	uint64_t config_version;
	size_t n_nodes;
	struct cluster_view_node nodes[CLUSTER_VIEW_MAX];
};

/* cluster_ops.c */
struct cluster_ext *cluster_ext(struct cfsd *d); /* the state above */
void cluster_start(struct cfsd *d);              /* serving: listener, host file sync */
void cluster_shutdown(struct cfsd *d);           /* the loop ended */
bool cluster_is_active(const struct cfsd *d);    /* cluster mode */
bool cluster_quorate(const struct cfsd *d);
void cluster_view(const struct cfsd *d, struct cluster_view *v); /* borrowed strings */
/* A write of the daemon's own through the log, as a client's: rules
 * precheck, then replication; cb(ctx, rc) exactly once. */
typedef void cluster_done_fn(void *ctx, int rc);
void cluster_write(struct cfsd *d, enum op_type type, const char *path, const void *data,
                   size_t len, cluster_done_fn *cb, void *ctx);
/* (IPC_OP_TOKEN/RELOAD/LEAVE are answered by cluster_ops_request(),
 * declared in cfsd.h.) */
/* The tree's corosync.conf becomes the membership when its
 * config_version is newer than the one in force; deferred to the loop
 * (not from inside raft's apply). */
void cluster_membership_later(struct cfsd *d);

/* join.c */
void join_start(struct cfsd *d);
void join_stop(struct cfsd *d);

/* conf_sync.c */
/* Submit-time check of a write whose path is corosync.conf: 0 or
 * -EINVAL (does not parse / not a valid cluster config) or -ESTALE
 * (config_version not higher); the reason is logged. */
int conf_sync_check(struct cfsd *d, const struct op *op);
/* After an op was applied on this node (any node, in log order). */
void conf_sync_applied(struct cfsd *d, const struct op *op);
/* At start in cluster mode, and after a snapshot replaced the tree:
 * bring the host file and the membership up to the tree's. */
void conf_sync_start(struct cfsd *d);

#endif /* APPLETS_CFSD_CLUSTER_H */
