/* applets/cfsd/ipc_ops.c - cfsd's answers to IPC requests
 * SPDX-License-Identifier: MIT
 *
 * Reads (READ, STAT, LIST, STATUS) are answered at once from the tree.
 * Mutations are checked (caller's rights, read-only mode, rules_check())
 * and handed to store_glue_submit(), which answers after the group
 * commit.
 *
 * The root shows the virtual entries of pmxcfs first (spec §2): the files
 * .version .members .vmlist .clusterlog .rrd .debug and the symlinks
 * local qemu-server lxc openvz -> nodes/<this node>[/...].  A path that
 * goes through one of those symlinks ("local/qemu-server/100.conf") is
 * resolved to its target, for reads and writes, as the kernel would on
 * the FUSE mount.  The symlinks themselves, and the virtual files, cannot
 * be created, removed or renamed (EACCES, from rules).  Writing "1\n" or
 * "0\n" to .debug switches debug logging (as in pmxcfs).
 */
#define LOG_TAG "ipc"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "applets/cfsd/cfsd.h"
#include "applets/cfsd/cluster.h"
#include "core/log.h"
#include "core/path.h"
#include "core/json.h"
#include "store/clog.h"
#include "store/tree.h"
#include "store/vfiles.h"

static const char *const vnames[] = {
	".clusterlog", ".debug", ".members", ".rrd",   ".version",
	".vmlist",     "local",  "lxc",      "openvz", "qemu-server"
};

/* The clinfo counter of .version and .members (pmxcfs: +1 per
 * configuration load and membership change, so that clients know to read
 * .members again): +1 whenever what .members shows of the cluster differs
 * from the last time it was looked at.  Several changes between two looks
 * count once; readers only compare it. */
static uint32_t clinfo(struct cfsd *d, const struct node_status *ns)
{
	uint32_t h = 2166136261u; /* FNV-1a over config version, ids, online */
	size_t i;

#define MIX(v) (h = (h ^ (uint32_t)(v)) * 16777619u)
	MIX(d->cc.config_version);
	MIX(ns->quorate);
	for (i = 0; i < ns->n_nodes; i++) {
		MIX(ns->nodes[i].nodeid);
		MIX(ns->nodes[i].online);
	}
#undef MIX
	if (!d->clinfo_seen || h != d->clinfo_hash)
		d->clinfo++;
	d->clinfo_hash = h;
	d->clinfo_seen = true;
	return d->clinfo;
}

/* .members: the cluster form with the nodelist in its order; online is
 * "cfsd runs there and this node hears it", ip the node's ring0 address. */
static void render_members(struct cfsd *d, struct buf *out)
{
	struct node_status *ns;
	struct vfiles_member *m;
	struct vfiles_cluster cl = { 0 };
	size_t i;

	if (!d->cluster) {
		vfiles_members(out, d->name, 0, NULL);
		return;
	}
	ns = xmalloc(sizeof(*ns));
	m = xcalloc(NODE_NODES_MAX, sizeof(*m));
	node_status(d->node, ns);
	for (i = 0; i < ns->n_nodes; i++) {
		m[i].name = ns->nodes[i].name;
		m[i].id = ns->nodes[i].nodeid;
		m[i].online = ns->nodes[i].online;
		m[i].ip = ns->nodes[i].addr && *ns->nodes[i].addr ? ns->nodes[i].addr : NULL;
	}
	cl.name = d->cc.cluster_name;
	cl.config_version = (uint32_t)d->cc.config_version;
	cl.quorate = ns->quorate;
	cl.nodes = m;
	cl.n_nodes = ns->n_nodes;
	vfiles_members(out, d->name, clinfo(d, ns), &cl);
	free(m);
	free(ns);
}

const char *ipc_ops_vname(size_t i)
{
	return i < ARRAY_SIZE(vnames) ? vnames[i] : NULL;
}

bool ipc_ops_render(struct cfsd *d, const char *name, struct buf *out)
{
	if (!strcmp(name, ".version")) {
		struct vfiles_version_in in = { .starttime = d->starttime };

		if (d->cluster) {
			struct node_status *ns = xmalloc(sizeof(*ns));

			node_status(d->node, ns);
			in.clinfo = clinfo(d, ns);
			free(ns);
		}
		vfiles_version(out, &in, d->rules);
	} else if (!strcmp(name, ".members")) {
		render_members(d, out);
	} else if (!strcmp(name, ".vmlist")) {
		vfiles_vmlist(out, d->rules);
	} else if (!strcmp(name, ".clusterlog")) {
		clusterlog_render(d, out);
	} else if (!strcmp(name, ".rrd")) {
		vfiles_rrd(out, NULL, 0);
	} else if (!strcmp(name, ".debug")) {
		vfiles_debug(out, log_level >= LOG_LVL_DEBUG);
	} else {
		return false;
	}
	return true;
}

/* "local/x" -> "nodes/<name>/x" (in place, dst has CFS_PATH_MAX bytes):
 * only when a symlink is followed by more path (or follow is set). */
static int follow_link(struct cfsd *d, char *path, bool follow)
{
	char first[CFS_NAME_MAX + 1], target[CFS_PATH_MAX], tmp[CFS_PATH_MAX];
	const char *rest = strchr(path, '/');
	size_t n = rest ? (size_t)(rest - path) : strlen(path);
	int rc;

	if (n > CFS_NAME_MAX || (!rest && !follow))
		return 0;
	memcpy(first, path, n);
	first[n] = 0;
	if (!vfiles_is_link(first))
		return 0;
	rc = vfiles_link_target(first, d->name, target, sizeof(target));
	if (rc < 0)
		return rc;
	rc = path_fmt(tmp, sizeof(tmp), "%s%s", target, rest ? rest : "");
	if (rc < 0)
		return rc;
	strcpy(path, tmp);
	return 0;
}

static void stat_node(const char *path, const struct tree_node *n, struct ipc_stat *st)
{
	st->type = n->type == TREE_DIR ? IPC_T_DIR : IPC_T_FILE;
	st->mode = rules_mode(path, n->type == TREE_DIR, true);
	st->mtime = n->mtime;
	st->size = n->type == TREE_DIR ? 0 : n->size;
	st->inode = n->inode;
	st->writer = n->writer;
	st->name = n->name;
	st->name_len = (uint16_t)strlen(n->name);
	st->target = NULL;
	st->target_len = 0;
}

/* stat of a virtual root entry into out; false if name is not one */
static bool stat_virtual(struct cfsd *d, const char *name, struct buf *out)
{
	char target[CFS_PATH_MAX];
	struct buf tmp = { 0 };
	struct ipc_stat st = { 0 };

	if (!vfiles_is_virtual(name) && !vfiles_is_link(name))
		return false;
	st.name = name;
	st.name_len = (uint16_t)strlen(name);
	st.mode = vfiles_mode(name, true);
	st.mtime = (uint32_t)d->starttime;
	if (vfiles_is_link(name)) {
		if (vfiles_link_target(name, d->name, target, sizeof(target)) < 0)
			return false;
		st.type = IPC_T_LINK;
		st.target = target;
		st.target_len = (uint16_t)strlen(target);
		st.size = st.target_len;
	} else {
		if (!ipc_ops_render(d, name, &tmp))
			return false;
		st.type = IPC_T_FILE;
		st.size = tmp.len;
		buf_free(&tmp);
	}
	ipc_stat_encode(out, &st);
	return true;
}

static int do_read(struct cfsd *d, struct ipc_client *c, uint32_t id, const char *path)
{
	const struct tree_node *n;
	struct buf out = { 0 };
	int rc;

	if (!strchr(path, '/') && ipc_ops_render(d, path, &out)) {
		ipc_reply_buf(c, id, 0, &out);
		return 0;
	}
	rc = tree_resolve(rules_tree(d->rules), path, &n);
	if (rc < 0)
		return rc;
	if (n->type == TREE_DIR)
		return -EISDIR;
	ipc_reply(c, id, 0, n->data, n->size);
	return 0;
}

static int do_stat(struct cfsd *d, struct ipc_client *c, uint32_t id, const char *path)
{
	const struct tree_node *n;
	struct buf out = { 0 };
	struct ipc_stat st;
	int rc;

	if (!strchr(path, '/') && stat_virtual(d, path, &out)) {
		ipc_reply_buf(c, id, 0, &out);
		return 0;
	}
	rc = tree_resolve(rules_tree(d->rules), path, &n);
	if (rc < 0)
		return rc;
	stat_node(path, n, &st);
	ipc_stat_encode(&out, &st);
	ipc_reply_buf(c, id, 0, &out);
	return 0;
}

static int do_list(struct cfsd *d, struct ipc_client *c, uint32_t id, const char *path,
                   uint64_t skip)
{
	const struct tree_node *dir, *n;
	char child[CFS_PATH_MAX];
	struct buf out = { 0 }, one = { 0 };
	struct ipc_stat st;
	uint64_t k = 0;
	size_t i;
	int rc;

	rc = tree_resolve(rules_tree(d->rules), path, &dir);
	if (rc < 0)
		return rc;
	if (dir->type != TREE_DIR)
		return -ENOTDIR;
	if (!*path)
		for (i = 0; i < ARRAY_SIZE(vnames); i++, k++) {
			buf_reset(&one);
			if (k >= skip && stat_virtual(d, vnames[i], &one))
				buf_put(&out, one.p, one.len);
		}
	buf_free(&one);
	for (n = tree_node_first_child(dir); n; n = tree_node_next_sibling(n)) {
		if (!*path && (vfiles_is_virtual(n->name) || vfiles_is_link(n->name)))
			continue; /* shadowed by the virtual entry (spec §2) */
		if (k++ < skip)
			continue;
		if (path_fmt(child, sizeof(child), "%s%s%s", path, *path ? "/" : "", n->name) < 0)
			continue;
		stat_node(child, n, &st);
		if (out.len + IPC_STAT_FIXED + st.name_len > IPC_MSG_MAX - IPC_HDR_SIZE)
			break; /* the client asks again from here (IPC_LIST_MORE_AT) */
		ipc_stat_encode(&out, &st);
	}
	ipc_reply_buf(c, id, 0, &out);
	return 0;
}

static void hex(char *dst, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = digits[p[i] >> 4];
		dst[2 * i + 1] = digits[p[i] & 15];
	}
	dst[2 * n] = 0;
}

static void do_status(struct cfsd *d, struct ipc_client *c, uint32_t id)
{
	const struct tree *t = rules_tree(d->rules);
	uint8_t dg[TREE_DIGEST_SIZE];
	char dgx[2 * TREE_DIGEST_SIZE + 1];
	struct node_status *ns = xmalloc(sizeof(*ns));
	struct buf out = { 0 };
	struct json w;

	node_status(d->node, ns);
	/* the digest reads every byte of the tree: once per tree version */
	if (!d->digest_valid || d->digest_version != tree_version(t)) {
		tree_digest(t, d->digest);
		d->digest_version = tree_version(t);
		d->digest_valid = true;
	}
	memcpy(dg, d->digest, sizeof(dg));
	hex(dgx, dg, sizeof(dg));
	json_init(&w, &out);
	json_obj_open(&w);
	json_kv_str(&w, "name", d->name);
	json_kv_int(&w, "nodeid", d->nodeid);
	json_kv_int(&w, "quorate", ns->quorate);
	json_kv_int(&w, "local", !d->cluster);
	json_kv_str(&w, "role", ns->role);
	json_kv_int(&w, "leader", ns->leader);
	json_kv_int(&w, "term", (int64_t)ns->term);
	json_kv_int(&w, "commit", (int64_t)ns->commit_index);
	json_kv_int(&w, "applied", (int64_t)d->applied);
	json_kv_int(&w, "version", (int64_t)tree_version(t));
	json_kv_int(&w, "entries", (int64_t)tree_count(t));
	json_kv_int(&w, "bytes", (int64_t)tree_bytes(t));
	json_kv_str(&w, "digest", dgx);
	json_kv_int(&w, "readonly", d->broken != 0);
	json_kv_int(&w, "starttime", (int64_t)d->starttime);
	json_kv_int(&w, "journal_gen", (int64_t)journal_gen(d->journal));
	json_kv_int(&w, "journal_bytes", (int64_t)journal_size(d->journal));
	json_kv_int(&w, "writes", (int64_t)d->writes);
	json_kv_int(&w, "syncs", (int64_t)d->syncs);
	json_kv_int(&w, "compacting", d->compact_pid != 0);
	json_kv_int(&w, "clients", (int64_t)ipc_server_clients(d->ipc));
	json_kv_str(&w, "mount", d->fuse ? d->mnt : ""); /* "": not mounted */
	json_kv_int(&w, "clog_entries", d->clog ? (int64_t)clog_count(d->clog) : 0);
	json_kv_int(&w, "rx_packets", (int64_t)ns->rx_packets);
	json_kv_int(&w, "tx_packets", (int64_t)ns->tx_packets);
	json_kv_int(&w, "drops_auth", (int64_t)ns->drops_auth);
	json_kv_int(&w, "drops_other", (int64_t)ns->drops_other);
	json_obj_close(&w);
	buf_put_str(&out, "\n");
	free(ns);
	ipc_reply_buf(c, id, 0, &out);
}

/* IPC_OP_CLUSTER: what pvecm status and pvecm nodes show */
static void do_cluster(struct cfsd *d, struct ipc_client *c, uint32_t id)
{
	struct node_status *ns = xmalloc(sizeof(*ns));
	struct buf out = { 0 };
	char ring[64], ver[32];
	struct json w;
	size_t i;

	node_status(d->node, ns);
	snprintf(ring, sizeof(ring), "%u.%llx", ns->leader, (unsigned long long)ns->term);
	snprintf(ver, sizeof(ver), "%llu", (unsigned long long)d->cc.config_version);
	json_init(&w, &out);
	json_obj_open(&w);
	json_kv_int(&w, "cluster", d->cluster);
	json_kv_str(&w, "name", d->name);
	json_kv_int(&w, "nodeid", d->nodeid);
	json_kv_int(&w, "quorate", ns->quorate);
	json_kv_int(&w, "leader", ns->leader);
	json_kv_int(&w, "term", (int64_t)ns->term);
	json_kv_str(&w, "role", ns->role);
	json_kv_str(&w, "ring_id", ring);
	json_kv_int(&w, "expected", ns->expected);
	json_kv_int(&w, "highest_expected", ns->highest_expected);
	json_kv_int(&w, "total_votes", ns->total_votes);
	json_kv_int(&w, "quorum", ns->quorum);
	json_kv_int(&w, "flags", ns->flags);
	if (d->cluster) {
		json_kv_str(&w, "cluster_name", d->cc.cluster_name);
		json_kv_str(&w, "config_version", ver);
		json_kv_str(&w, "transport", corosync_conf_get(d->conf, "totem.transport"));
		json_kv_str(&w, "secauth", corosync_conf_get(d->conf, "totem.secauth"));
	}
	json_key(&w, "nodes");
	json_arr_open(&w);
	for (i = 0; d->cluster && i < ns->n_nodes; i++) {
		json_obj_open(&w);
		json_kv_int(&w, "nodeid", ns->nodes[i].nodeid);
		json_kv_str(&w, "name", ns->nodes[i].name);
		json_kv_int(&w, "votes", ns->nodes[i].votes);
		json_kv_int(&w, "online", ns->nodes[i].online);
		json_kv_str(&w, "addr", ns->nodes[i].addr);
		json_obj_close(&w);
	}
	json_arr_close(&w);
	json_kv_int(&w, "drops_auth", (int64_t)ns->drops_auth);
	json_obj_close(&w);
	buf_put_str(&out, "\n");
	free(ns);
	ipc_reply_buf(c, id, 0, &out);
}

int ipc_ops_debug(const uint8_t *data, size_t len)
{
	if (len < 2 || data[1] != '\n' || (data[0] != '0' && data[0] != '1'))
		return -EIO;
	log_level = data[0] == '1' ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	log_info("debug logging %s", data[0] == '1' ? "on" : "off");
	return 0;
}

/* utime(path, 0, 0) on a lock directory: refused (EACCES, as pmxcfs),
 * and an unlock request to the leader (locks.c) */
static void unlock_request(struct cfsd *d, const char *path)
{
	const struct tree_node *n;

	if (rules_is_lock_dir(path) && tree_resolve(rules_tree(d->rules), path, &n) == 0 &&
	    n->type == TREE_DIR)
		node_unlock_request(d->node, path, n->version);
}

static int mutate(struct cfsd *d, struct ipc_client *c, const struct ipc_req *req, char *path,
                  char *to)
{
	struct op op = { 0 };
	int rc;

	if (req->op == IPC_OP_PUT && !strcmp(path, ".debug")) {
		ipc_reply(c, req->id, ipc_ops_debug(req->data, req->len), NULL, 0);
		return 0;
	}
	op.path = path;
	switch (req->op) {
	case IPC_OP_PUT:
		op.type = OP_PUT;
		op.flags = (req->flags & IPC_F_EXCL) ? OP_F_EXCL : 0;
		op.data = req->data;
		op.len = req->len;
		break;
	case IPC_OP_CREATE:
		op.type = OP_CREATE;
		break;
	case IPC_OP_WRITE:
		op.type = OP_WRITE;
		op.flags = (req->flags & IPC_F_TRUNC) ? OP_F_TRUNC : 0;
		op.offset = req->arg;
		op.data = req->data;
		op.len = req->len;
		break;
	case IPC_OP_MKDIR:
		op.type = OP_MKDIR;
		break;
	case IPC_OP_DELETE:
		op.type = OP_DELETE;
		break;
	case IPC_OP_RENAME:
		op.type = OP_RENAME;
		op.to = to;
		break;
	case IPC_OP_MTIME:
		if (req->arg > UINT32_MAX)
			return -EINVAL;
		op.type = OP_MTIME;
		op.offset = req->arg;
		break;
	default:
		return -EOPNOTSUPP;
	}
	rc = ipc_ops_check(d, &op);
	if (rc < 0)
		return rc;
	store_glue_submit(d, c, req->id, &op);
	return 0;
}

int ipc_ops_check(struct cfsd *d, struct op *op)
{
	int rc;

	if (d->broken || d->stopping)
		return -EROFS;
	op->writer = d->nodeid;
	op->mtime = (uint32_t)time(NULL);
	rc = rules_check(d->rules, op);
	if (rc == 0)
		rc = conf_sync_check(d, op); /* a new corosync.conf must be valid and newer */
	if (rc == -EACCES && op->type == OP_MTIME && op->offset == 0)
		unlock_request(d, op->path);
	return rc;
}

void ipc_ops_request(void *ctx, struct ipc_client *c, const struct ipc_req *req)
{
	struct cfsd *d = ctx;
	char path[CFS_PATH_MAX], to[CFS_PATH_MAX];
	bool mut = ipc_op_is_mutation(req->op);
	int rc;

	if (mut)
		cfsd_spin(d);
	if (req->op == IPC_OP_STATUS) {
		do_status(d, c, req->id);
		return;
	}
	if (req->op == IPC_OP_CLUSTER) {
		do_cluster(d, c, req->id);
		return;
	}
	if (req->op == IPC_OP_LOG) {
		char msg[IPC_LOG_MSG_MAX + 1];

		if (req->len)
			memcpy(msg, req->data, req->len);
		msg[req->len] = 0;
		rc = req->readonly ? -EPERM /* as pmxcfs */
		                   : clusterlog_add(d, (uint8_t)req->arg, req->path, req->to,
		                                    (uint32_t)ipc_client_pid(c), msg);
		goto out_reply;
	}
	if (ipc_op_is_admin(req->op)) {
		char err[160];

		if (req->readonly) {
			rc = -EACCES;
		} else if (req->op != IPC_OP_EXPECTED) {
			cluster_ops_request(d, c, req);
			return;
		} else if (!d->cluster) {
			rc = -ENOTCONN;
		} else {
			rc = node_set_expected(d->node, (uint32_t)req->arg, err, sizeof(err));
			if (rc < 0) {
				log_warn("expected votes %llu refused: %s",
				         (unsigned long long)req->arg, err);
			} else {
				char m[96];

				snprintf(m, sizeof(m),
				         "expected votes set to %llu (pvecm expected): unsafe "
				         "until the lost votes return",
				         (unsigned long long)req->arg);
				clusterlog_add(d, 5, "root", "cluster", (uint32_t)ipc_client_pid(c),
				               m);
			}
		}
		goto out_reply;
	}
	if (req->readonly && mut) {
		rc = -EACCES;
		goto out_reply;
	}
	rc = path_canon(path, sizeof(path), req->path);
	if (rc == 0 && req->op == IPC_OP_RENAME)
		rc = path_canon(to, sizeof(to), req->to);
	if (rc < 0)
		goto out_reply;
	/* symlinks of the root: followed when more path comes after them,
	 * and for READ and LIST of the link itself */
	rc = follow_link(d, path, req->op == IPC_OP_READ || req->op == IPC_OP_LIST);
	if (rc == 0 && req->op == IPC_OP_RENAME)
		rc = follow_link(d, to, false);
	if (rc < 0)
		goto out_reply;
	if (req->readonly && rules_is_private(path)) {
		rc = -EACCES;
		goto out_reply;
	}
	log_debug("pid %d: %s %s%s%s", (int)ipc_client_pid(c), ipc_op_name(req->op), path,
	          req->op == IPC_OP_RENAME ? " -> " : "", req->op == IPC_OP_RENAME ? to : "");
	switch (req->op) {
	case IPC_OP_READ:
		rc = do_read(d, c, req->id, path);
		break;
	case IPC_OP_STAT:
		rc = do_stat(d, c, req->id, path);
		break;
	case IPC_OP_LIST:
		rc = do_list(d, c, req->id, path, req->arg);
		break;
	default:
		rc = mutate(d, c, req, path, to); /* 0: answered after the group commit */
		break;
	}
	if (rc == 0)
		return; /* answered, or will be */
out_reply:
	ipc_reply(c, req->id, rc, NULL, 0);
}
