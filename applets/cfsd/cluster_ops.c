/* applets/cfsd/cluster_ops.c - the daemon side of pvecm's operations
 * SPDX-License-Identifier: MIT
 *
 * IPC_OP_RELOAD: answer, then stop like SIGTERM and execv() cfsd again
 * with the same arguments, so that it reads <root>/etc/corosync/
 * corosync.conf anew (local mode -> cluster, `pvecm create` and `pvecm
 * add`).  With IPC_RELOAD_JOIN the state directory is moved aside first
 * (<state_dir>.replaced-<epoch>; pvecm has made its backup): the joining
 * node receives the cluster's tree.
 */
#define LOG_TAG "cluster"
#include <errno.h>
#include <stdio.h>
#include "applets/cfsd/cfsd.h"
#include "core/log.h"

static void do_reload(struct cfsd *d, struct ipc_client *c, const struct ipc_req *req)
{
	if (req->arg & ~(uint64_t)IPC_RELOAD_JOIN) {
		ipc_reply(c, req->id, -EINVAL, NULL, 0);
		return;
	}
	d->restart = 0x100 | (int)req->arg;
	d->stopping = true;
	ipc_reply(c, req->id, 0, NULL, 0);
	ipc_server_stop_accepting(d->ipc);
	ev_break(d->loop, EVBREAK_ALL);
	log_info("reload requested%s", (req->arg & IPC_RELOAD_JOIN) ? " to join a cluster" : "");
}

void cluster_ops_request(struct cfsd *d, struct ipc_client *c, const struct ipc_req *req)
{
	switch (req->op) {
	case IPC_OP_RELOAD:
		do_reload(d, c, req);
		break;
	default:
		ipc_reply(c, req->id, -EOPNOTSUPP, NULL, 0);
		break;
	}
}
