/* applets/cfsd/cluster_ops.c - the daemon side of pvecm's operations,
 * the daemon's own writes through the log, and membership from
 * corosync.conf
 * SPDX-License-Identifier: MIT
 *
 * IPC_OP_RELOAD: answer, then stop like SIGTERM and execv() cfsd again
 * with the same arguments (cfsd.c, d->restart), so that it reads
 * <root>/etc/corosync/corosync.conf anew (local mode -> cluster, `pvecm
 * create` and `pvecm add`).  With IPC_RELOAD_JOIN the state directory is
 * moved aside first (<state_dir>.replaced-<epoch>; pvecm has made its
 * backup): the joining node receives the cluster's tree.
 * IPC_OP_TOKEN: a join token; its hash and expiry go to priv/join-tokens
 * through the log, the token text only to the caller.
 * IPC_OP_LEAVE: this node's entry is removed from corosync.conf through
 * the log; once that is applied here, the host corosync.conf and authkey
 * are removed and cfsd restarts in local mode with its tree.
 *
 * Membership: when a corosync.conf with a higher config_version has been
 * applied (or arrived with a snapshot), node_set_nodes() makes its
 * nodelist the consensus membership, from a zero-delay timer so that it
 * never runs inside raft's apply callback.
 */
#define LOG_TAG "cluster"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "applets/cfsd/cfsd.h"
#include "applets/cfsd/cluster.h"
#include "applets/cfsd/node.h"
#include "applets/cluster_lib.h"
#include "core/corosync_conf.h"
#include "core/crypt.h"
#include "core/log.h"
#include "core/path.h"
#include "store/tree.h"

#define CONFS_KEPT 16 /* old configurations kept alive (node borrows their strings) */

static struct cluster_ext ext; /* the one instance, pointed at by struct cfsd */

struct tok_req {
	struct cfsd *d;
	struct ipc_client *c;
	uint32_t id;
	char token[CLUSTER_TOKEN_STRLEN];
};

struct leave_req {
	struct cfsd *d;
	struct ipc_client *c;
	uint32_t id;
};

struct cluster_ext *cluster_ext(struct cfsd *d)
{
	ext.d = d;
	return &ext;
}

bool cluster_is_active(const struct cfsd *d)
{
	return d->cluster && d->node && node_is_cluster(d->node);
}

bool cluster_quorate(const struct cfsd *d)
{
	return d->node && node_quorate(d->node);
}

void cluster_view(const struct cfsd *d, struct cluster_view *v)
{
	static struct node_status st; /* large; the strings in v point into it */
	size_t i;

	memset(v, 0, sizeof(*v));
	if (!d->node)
		return;
	node_status(d->node, &st);
	v->cluster = st.cluster;
	v->quorate = st.quorate;
	v->self = st.self;
	v->cluster_name = ext.cc_valid ? ext.cc.cluster_name : d->cc.cluster_name;
	v->config_version = ext.cc_valid ? ext.cc.config_version : d->cc.config_version;
	for (i = 0; i < st.n_nodes && i < CLUSTER_VIEW_MAX; i++) {
		v->nodes[i].nodeid = st.nodes[i].nodeid;
		v->nodes[i].name = st.nodes[i].name;
		v->nodes[i].addr = st.nodes[i].addr;
		v->nodes[i].online = st.nodes[i].online;
	}
	v->n_nodes = i;
}

void cluster_write(struct cfsd *d, enum op_type type, const char *path, const void *data,
                   size_t len, cluster_done_fn *cb, void *ctx)
{
	struct op op = { 0 };
	struct buf b = { 0 };
	int rc;

	op.type = type;
	op.writer = d->nodeid;
	op.mtime = (uint32_t)time(NULL);
	op.path = path;
	op.data = data;
	op.len = (uint32_t)len;
	if (d->broken || d->stopping) {
		cb(ctx, -EROFS);
		return;
	}
	rc = rules_check(d->rules, &op);
	if (rc == 0)
		rc = conf_sync_check(d, &op);
	if (rc < 0) {
		cb(ctx, rc);
		return;
	}
	op_encode(&op, &b);
	node_submit(d->node, b.p, b.len, cb, ctx);
	buf_free(&b);
}

/* ---------------------------------------------------------------- stop, exec */

/* stop like SIGTERM; cfsd.c then restarts us (d->restart) */
static void restart(struct cfsd *d, unsigned flags)
{
	d->restart = 0x100 | (int)flags;
	d->stopping = true;
	ipc_server_stop_accepting(d->ipc);
	ev_break(d->loop, EVBREAK_ALL);
}

/* ---------------------------------------------------------------- membership */

/* node ids of cc's nodelist contain self? */
static bool has_self(const struct cluster_conf *cc, uint32_t self)
{
	return corosync_conf_node_by_id(cc, self) != NULL;
}

/* Does the node run with this nodelist already (ids and votes)? */
static bool same_nodes(const struct cfsd *d, const struct cluster_conf *cc)
{
	static struct node_status st;
	const struct cluster_conf_node *x;
	size_t i;

	node_status(d->node, &st);
	if (st.n_nodes != cc->n_nodes)
		return false;
	for (i = 0; i < st.n_nodes; i++) {
		x = corosync_conf_node_by_id(cc, st.nodes[i].nodeid);
		if (!x || x->votes != st.nodes[i].votes || !x->addr[0] || !st.nodes[i].addr ||
		    strcmp(x->addr[0], st.nodes[i].addr))
			return false;
	}
	return true;
}

static void finish_leave(struct cfsd *d)
{
	char p[CFS_PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/etc/corosync/corosync.conf", d->root);
	unlink(p);
	snprintf(p, sizeof(p), "%s/etc/corosync/authkey", d->root);
	unlink(p);
	log_info("left the cluster: back to local mode");
	restart(d, 0);
}

static void membership(struct cfsd *d, const uint8_t *p, size_t n)
{
	struct corosync_conf *c;
	struct cluster_conf cc;
	int rc;

	if (corosync_conf_parse((const char *)p, n, "corosync.conf", 0, &c, NULL, 0) < 0)
		return;
	if (corosync_conf_cluster(c, &cc, NULL, 0) < 0) {
		corosync_conf_free(c);
		return;
	}
	if (ext.cc_valid && cc.config_version <= ext.cc.config_version) {
		corosync_conf_cluster_free(&cc);
		corosync_conf_free(c);
		return;
	}
	rc = same_nodes(d, &cc) ? 0 : node_set_nodes(d->node, &cc);
	if (rc < 0) {
		log_err("membership change to config_version %llu failed: %s",
		        (unsigned long long)cc.config_version, cfs_strerror(rc));
		corosync_conf_cluster_free(&cc);
		corosync_conf_free(c);
		return;
	}
	log_info("update cluster info (cluster name  %s, version = %llu), %zu nodes",
	         cc.cluster_name ? cc.cluster_name : "", (unsigned long long)cc.config_version,
	         cc.n_nodes);
	/* the node borrows strings of cc: keep the previous ones alive too */
	if (ext.cc_valid) {
		if (ext.n_old == CONFS_KEPT) {
			corosync_conf_cluster_free(&ext.old_cc[0]);
			corosync_conf_free(ext.old_conf[0]);
			memmove(ext.old_cc, ext.old_cc + 1,
			        (CONFS_KEPT - 1) * sizeof(ext.old_cc[0]));
			memmove(ext.old_conf, ext.old_conf + 1,
			        (CONFS_KEPT - 1) * sizeof(ext.old_conf[0]));
			ext.n_old--;
		}
		ext.old_cc[ext.n_old] = ext.cc;
		ext.old_conf[ext.n_old] = ext.conf;
		ext.n_old++;
	}
	ext.cc = cc;
	ext.conf = c;
	ext.cc_valid = true;
	if (!has_self(&cc, d->nodeid)) {
		if (ext.leaving)
			finish_leave(d);
		else
			log_warn("this node (nodeid %u) is no longer in the nodelist", d->nodeid);
	}
}

/* ---------------------------------------------------------------- IPC ops */

static void token_done(void *ctx, int rc)
{
	struct tok_req *t = ctx;

	if (rc == 0)
		ipc_reply(t->c, t->id, 0, t->token, strlen(t->token));
	else
		ipc_reply(t->c, t->id, rc, NULL, 0);
	crypt_wipe(t->token, sizeof(t->token));
	free(t);
}

static void op_token(struct cfsd *d, struct ipc_client *c, const struct ipc_req *req)
{
	const struct tree_node *f;
	struct tok_req *t;
	struct buf line = { 0 }, file = { 0 };
	uint32_t ttl;
	time_t now = time(NULL);
	int rc;

	ttl = (uint32_t)req->arg;
	if (!ttl)
		ttl = CLUSTER_TOKEN_TTL_SEC;
	if (!cluster_is_active(d)) {
		ipc_reply(c, req->id, -ENOTCONN, NULL, 0);
		return;
	}
	if (!cluster_quorate(d)) {
		ipc_reply(c, req->id, -EACCES, NULL, 0);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->d = d;
	t->c = c;
	t->id = req->id;
	rc = cluster_lib_token_new(t->token);
	if (rc < 0) {
		free(t);
		ipc_reply(c, req->id, rc, NULL, 0);
		return;
	}
	cluster_lib_token_line(t->token, (uint64_t)now + ttl, &line);
	buf_put_u8(&line, 0);
	f = tree_lookup(rules_tree(d->rules), CLUSTER_TOKENS_PATH);
	cluster_lib_tokens_add(f && f->type == TREE_FILE ? (const char *)f->data : "",
	                       f && f->type == TREE_FILE ? f->size : 0, (const char *)line.p, now,
	                       &file);
	log_info("new join token (expires in %u s)", ttl);
	cluster_write(d, OP_PUT, CLUSTER_TOKENS_PATH, file.p, file.len, token_done, t);
	buf_free(&line);
	buf_free(&file);
}

static void leave_done(void *ctx, int rc)
{
	struct leave_req *l = ctx;
	struct cfsd *d = l->d;

	ipc_reply(l->c, l->id, rc, NULL, 0);
	free(l);
	if (rc < 0) {
		ext.leaving = false;
		return;
	}
	/* applied here: the deferred membership change finishes the leave */
	(void)d;
}

static void op_leave(struct cfsd *d, struct ipc_client *c, const struct ipc_req *req)
{
	const struct tree_node *f;
	struct leave_req *l;
	struct buf next = { 0 };
	char err[COROSYNC_CONF_ERR_MAX];
	uint32_t flags;
	int rc;

	flags = (uint32_t)req->arg;
	if (!cluster_is_active(d)) {
		ipc_reply(c, req->id, -ENOTCONN, NULL, 0);
		return;
	}
	if (!cluster_quorate(d)) {
		if (!(flags & IPC_LEAVE_FORCE)) {
			ipc_reply(c, req->id, -EACCES, NULL, 0);
			return;
		}
		ipc_reply(c, req->id, 0, NULL, 0);
		finish_leave(d);
		return;
	}
	if ((ext.cc_valid ? ext.cc.n_nodes : d->cc.n_nodes) == 1) {
		/* the last node: nobody to tell, the cluster ends here */
		ipc_reply(c, req->id, 0, NULL, 0);
		finish_leave(d);
		return;
	}
	f = tree_lookup(rules_tree(d->rules), "corosync.conf");
	rc = f && f->type == TREE_FILE
	             ? cluster_lib_delnode((const char *)f->data, f->size, d->name, &next, NULL, 0,
	                                   err, sizeof(err))
	             : -ENOENT;
	if (rc < 0) {
		log_err("leave: %s", rc == -ENOENT ? "no corosync.conf" : err);
		buf_free(&next);
		ipc_reply(c, req->id, rc, NULL, 0);
		return;
	}
	l = xcalloc(1, sizeof(*l));
	l->d = d;
	l->c = c;
	l->id = req->id;
	ext.leaving = true;
	log_info("leaving the cluster");
	cluster_write(d, OP_PUT, "corosync.conf", next.p, next.len, leave_done, l);
	buf_free(&next);
}

static void op_reload(struct cfsd *d, struct ipc_client *c, const struct ipc_req *req)
{
	if (req->arg & ~(uint64_t)IPC_RELOAD_JOIN) {
		ipc_reply(c, req->id, -EINVAL, NULL, 0);
		return;
	}
	ipc_reply(c, req->id, 0, NULL, 0);
	restart(d, (unsigned)req->arg);
	log_info("reload requested%s", (req->arg & IPC_RELOAD_JOIN) ? " to join a cluster" : "");
}

void cluster_ops_request(struct cfsd *d, struct ipc_client *c, const struct ipc_req *req)
{
	switch (req->op) {
	case IPC_OP_TOKEN:
		op_token(d, c, req);
		break;
	case IPC_OP_RELOAD:
		op_reload(d, c, req);
		break;
	case IPC_OP_LEAVE:
		op_leave(d, c, req);
		break;
	default:
		ipc_reply(c, req->id, -EOPNOTSUPP, NULL, 0);
		break;
	}
}

/* The corosync.conf versions applied since the last loop turn, in order:
 * each is one membership step (a forced rejoin is a removal, then an
 * addition; both must reach the node). */
#define CONF_QUEUE 16
static struct buf conf_queue[CONF_QUEUE];
static size_t conf_queued;

static void resync_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct cfsd *d = ext.d;
	size_t i;

	(void)loop;
	(void)w;
	(void)revents;
	for (i = 0; i < conf_queued; i++) {
		if (cluster_is_active(d) && !d->stopping)
			membership(d, conf_queue[i].p, conf_queue[i].len);
		buf_free(&conf_queue[i]);
	}
	conf_queued = 0;
}

void cluster_membership_later(struct cfsd *d)
{
	const struct tree_node *f = tree_lookup(rules_tree(d->rules), "corosync.conf");

	ext.d = d;
	if (!f || f->type != TREE_FILE || !f->size)
		return;
	if (conf_queued == CONF_QUEUE) {
		buf_free(&conf_queue[0]);
		memmove(conf_queue, conf_queue + 1, (CONF_QUEUE - 1) * sizeof(conf_queue[0]));
		memset(&conf_queue[CONF_QUEUE - 1], 0, sizeof(conf_queue[0]));
		conf_queued--;
	}
	buf_put(&conf_queue[conf_queued++], f->data, f->size);
	if (!ev_is_active(&ext.resync)) {
		ev_timer_init(&ext.resync, resync_cb, 0, 0);
		ev_timer_start(d->loop, &ext.resync);
	}
}

void cluster_start(struct cfsd *d)
{
	ext.d = d;
	ext.join_fd = -1;
	join_start(d);
	conf_sync_start(d);
}

void cluster_shutdown(struct cfsd *d)
{
	ev_timer_stop(d->loop, &ext.resync);
	join_stop(d);
	/* the node is freed later (store_glue_close): the configurations it
	 * borrows stay until the process ends or execs */
}
