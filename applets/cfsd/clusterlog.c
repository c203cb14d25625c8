/* applets/cfsd/clusterlog.c - the cluster log of this node (store/clog.h)
 * SPDX-License-Identifier: MIT
 *
 * An entry written here (IPC_OP_LOG from a client, or by cfsd itself:
 * its start, `pvecm expected`) gets this node's name, the time and the
 * next uid, goes into the local log and to every node at once
 * (NODE_MSG_CLOG); a node that hears another for the first time, or
 * again after a silence, sends it its whole log and asks for the other's
 * in return (CLOG_ASK), so that a node that was down or cut off catches
 * up with what it missed, and the others with what it wrote meanwhile.
 * Message: u8 flags (CLOG_ASK), then entries in store/clog.h's wire
 * form.  Entries are not replicated through the consensus log and are
 * not persisted: as in pmxcfs, the cluster log is what the running nodes
 * remember, and a node that restarts gets it back from the others.
 */
#define LOG_TAG "clog"
#include <time.h>
#include <unistd.h>
#include "applets/cfsd/cfsd.h"
#include "core/log.h"
#include "core/util.h"
#include "store/clog.h"

#define CLOG_ASK 1u /* "send me your whole log" */

/* this node's whole log (flags first) to node to */
static void send_all(struct cfsd *d, uint32_t to, uint8_t flags)
{
	struct buf b = { 0 };

	buf_put_u8(&b, flags);
	clog_encode_all(d->clog, &b);
	node_clog_send(d->node, to, b.p, b.len);
	buf_free(&b);
}

int clusterlog_add(struct cfsd *d, uint8_t pri, const char *ident, const char *tag, uint32_t pid,
                   const char *msg)
{
	struct clog_entry e = { 0 };
	struct buf b = { 0 };
	int rc;

	e.uid = ++d->clog_uid;
	e.time = (uint32_t)time(NULL);
	e.pid = pid;
	e.pri = pri;
	e.node = d->name;
	e.ident = ident;
	e.tag = tag;
	e.msg = msg;
	rc = clog_add(d->clog, &e);
	if (rc < 0)
		return rc;
	/* the wire form is the entry as the log holds it (clog_encode()
	 * cleans and escapes as clog_add() does) */
	if (d->cluster && d->node) {
		buf_put_u8(&b, 0);
		clog_encode(&e, &b);
		node_clog_send(d->node, 0, b.p, b.len);
		buf_free(&b);
	}
	return 0;
}

void clusterlog_start(struct cfsd *d)
{
	d->clog = clog_new();
	d->clog_uid = d->epoch << 16; /* unique across this node's starts */
	clusterlog_add(d, 6, "root", "cluster", (uint32_t)getpid(), "starting cluster log");
}

void clusterlog_stop(struct cfsd *d)
{
	clog_free(d->clog);
	d->clog = NULL;
}

void clusterlog_render(struct cfsd *d, struct buf *out)
{
	struct vfiles_log v[VFILES_CLOG_MAX];
	size_t n = d->clog ? clog_newest(d->clog, v, VFILES_CLOG_MAX) : 0;

	vfiles_clusterlog(out, v, n, VFILES_CLOG_MAX);
}

/* node hook: entries from another node */
void clusterlog_recv(void *ctx, uint32_t from, const uint8_t *p, size_t len)
{
	struct cfsd *d = ctx;
	int rc;

	if (!d->clog || len < 1)
		return;
	rc = clog_decode_into(d->clog, p + 1, len - 1);
	if (rc >= 0 && (p[0] & CLOG_ASK))
		send_all(d, from, 0);
	if (rc < 0)
		log_every(10, LOG_LVL_WARN, "cluster log entries from node %u do not decode: %s",
		          from, cfs_strerror(rc));
	else if (rc > 0)
		log_debug("%d cluster log entries from node %u", rc, from);
}

/* node hook: a node heard from for the first time, or again: our log
 * to it, and its log back */
void clusterlog_peer_back(void *ctx, uint32_t id)
{
	struct cfsd *d = ctx;

	if (d->clog)
		send_all(d, id, CLOG_ASK);
}
