/* applets/cfsd/conf_sync.c - corosync.conf as data (spec/pmxcfs.md §11.1)
 * SPDX-License-Identifier: MIT
 *
 * Submit time (the node a client writes through): a new corosync.conf
 * (PUT, WRITE, or RENAME onto it) must parse, be a valid cluster
 * configuration, have a config_version higher than the tree's, and change
 * the nodelist by at most one node (single-server membership changes).
 * Otherwise the write is refused (-EINVAL / -ESTALE) and the reason is
 * logged; nothing changes.
 *
 * Apply time (every node, in log order, cluster mode only): the tree's
 * corosync.conf is written to <root>/etc/corosync/corosync.conf atomically
 * when it differs and is not older ("wrote new corosync config '...'
 * (version = N)", "local corosync.conf is newer"), and a changed nodelist
 * becomes the consensus membership (node_set_nodes()).  A node that finds
 * itself removed while leaving (IPC_OP_LEAVE) goes back to local mode.
 */
#define LOG_TAG "conf"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "applets/cfsd/cfsd.h"
#include "applets/cfsd/cluster.h"
#include "core/corosync_conf.h"
#include "core/log.h"
#include "core/path.h"
#include "store/tree.h"

#define CONF_PATH "corosync.conf"

static const struct tree_node *tree_conf_node(const struct cfsd *d)
{
	const struct tree_node *n = tree_lookup(rules_tree(d->rules), CONF_PATH);

	return n && n->type == TREE_FILE ? n : NULL;
}

/* how many nodes differ between two nodelists (by nodeid, name, address
 * or votes) */
static size_t nodelist_diff(const struct cluster_conf *a, const struct cluster_conf *b)
{
	size_t i, diff = 0;
	const struct cluster_conf_node *x, *y;

	for (i = 0; i < a->n_nodes; i++) {
		x = &a->nodes[i];
		y = corosync_conf_node_by_id(b, x->nodeid);
		if (!y || y->votes != x->votes || !x->name != !y->name ||
		    (x->name && strcmp(x->name, y->name)) || !x->addr[0] != !y->addr[0] ||
		    (x->addr[0] && strcmp(x->addr[0], y->addr[0])))
			diff++;
	}
	for (i = 0; i < b->n_nodes; i++)
		if (!corosync_conf_node_by_id(a, b->nodes[i].nodeid))
			diff++;
	return diff;
}

static int check_text(struct cfsd *d, const uint8_t *p, size_t n)
{
	struct corosync_conf *c = NULL, *oc = NULL;
	struct cluster_conf cc, occ;
	const struct tree_node *old = tree_conf_node(d);
	char err[COROSYNC_CONF_ERR_MAX];
	uint64_t ov;
	int rc;

	rc = corosync_conf_parse((const char *)p, n, "/etc/pve/corosync.conf",
	                         COROSYNC_CONF_CHECK_VALUES, &c, err, sizeof(err));
	if (rc < 0) {
		log_err("refusing new corosync.conf: %s", err);
		return -EINVAL;
	}
	rc = corosync_conf_cluster(c, &cc, err, sizeof(err));
	if (rc < 0) {
		log_err("refusing new corosync.conf: %s", err);
		corosync_conf_free(c);
		return -EINVAL;
	}
	if (!cc.config_version || !cc.n_nodes || !cc.cluster_name) {
		log_err("refusing new corosync.conf: %s",
		        !cc.config_version ? "unable to parse cluster config_version"
		        : !cc.n_nodes      ? "no nodes in the nodelist"
		                           : "totem.cluster_name is not set");
		rc = -EINVAL;
		goto out;
	}
	if (old && old->size) {
		ov = corosync_conf_scan_version((const char *)old->data, old->size);
		if (cc.config_version <= ov) {
			log_err("refusing new corosync.conf: config_version %llu is not higher than "
			        "the current %llu",
			        (unsigned long long)cc.config_version, (unsigned long long)ov);
			rc = -ESTALE;
			goto out;
		}
		if (cluster_is_active(d) &&
		    corosync_conf_parse((const char *)old->data, old->size, CONF_PATH, 0, &oc, NULL,
		                        0) == 0 &&
		    corosync_conf_cluster(oc, &occ, NULL, 0) == 0) {
			size_t diff = nodelist_diff(&occ, &cc);

			corosync_conf_cluster_free(&occ);
			if (diff > 1) {
				log_err("refusing new corosync.conf: it changes %zu nodes; add or "
				        "remove one node at a time",
				        diff);
				rc = -EINVAL;
				goto out;
			}
		}
	}
out:
	corosync_conf_cluster_free(&cc);
	corosync_conf_free(c);
	corosync_conf_free(oc);
	return rc;
}

int conf_sync_check(struct cfsd *d, const struct op *op)
{
	const struct tree_node *src;
	struct buf b = { 0 };
	int rc;

	if (op->type == OP_RENAME && op->to && !strcmp(op->to, CONF_PATH)) {
		src = tree_lookup(rules_tree(d->rules), op->path);
		if (!src || src->type != TREE_FILE)
			return 0; /* the rules refuse it */
		return check_text(d, src->data, src->size);
	}
	if (!op->path || strcmp(op->path, CONF_PATH))
		return 0;
	switch (op->type) {
	case OP_PUT:
		return check_text(d, op->data, op->len);
	case OP_WRITE:
		src = tree_conf_node(d);
		if (src && src->size)
			buf_put(&b, src->data, src->size);
		if (op->offset > CFS_FILE_MAX)
			return -EFBIG;
		while (b.len < op->offset)
			buf_put_u8(&b, 0);
		if (op->offset + op->len > b.len)
			buf_reserve(&b, op->offset + op->len - b.len);
		memcpy(b.p + op->offset, op->data, op->len);
		if (op->offset + op->len > b.len || (op->flags & OP_F_TRUNC))
			b.len = op->offset + op->len;
		rc = check_text(d, b.p, b.len);
		buf_free(&b);
		return rc;
	case OP_DELETE:
		if (cluster_is_active(d)) {
			log_err("refusing to delete corosync.conf in cluster mode (pvecm leave)");
			return -EACCES;
		}
		return 0;
	default:
		return 0;
	}
}

/* write the host file if the tree's is newer; see the file comment */
static void sync_host(struct cfsd *d, const uint8_t *p, size_t n)
{
	char path[CFS_PATH_MAX + 64], *cur = NULL;
	uint64_t v, hv = 0;
	size_t len = 0;
	int rc;

	v = corosync_conf_scan_version((const char *)p, n);
	if (!v) {
		log_err("unable to parse cluster config_version");
		return;
	}
	snprintf(path, sizeof(path), "%s/etc/corosync/corosync.conf", d->root);
	if (path_read_file(path, COROSYNC_CONF_FILE_MAX, &cur, &len) == 0) {
		if (len == n && !memcmp(cur, p, n)) {
			free(cur);
			return;
		}
		hv = corosync_conf_scan_version(cur, len);
		free(cur);
	}
	if (v < hv) {
		log_err("local corosync.conf is newer");
		return;
	}
	snprintf(path, sizeof(path), "%s/etc/corosync", d->root);
	path_mkdirs(path, 0755);
	snprintf(path, sizeof(path), "%s/etc/corosync/corosync.conf", d->root);
	rc = path_write_atomic(path, p, n, 0644);
	if (rc < 0) {
		log_err("%s: %s", path, cfs_strerror(rc));
		return;
	}
	log_info("wrote new corosync config '%s' (version = %llu)", path, (unsigned long long)v);
}

void conf_sync_applied(struct cfsd *d, const struct op *op)
{
	const struct tree_node *f;

	if (!cluster_is_active(d))
		return;
	if (!((op->path && !strcmp(op->path, CONF_PATH) &&
	       (op->type == OP_PUT || op->type == OP_WRITE || op->type == OP_CREATE)) ||
	      (op->type == OP_RENAME && op->to && !strcmp(op->to, CONF_PATH))))
		return;
	f = tree_conf_node(d);
	if (!f || !f->size)
		return;
	sync_host(d, f->data, f->size);
	cluster_membership_later(d);
}

void conf_sync_start(struct cfsd *d)
{
	const struct tree_node *f;

	if (!cluster_is_active(d))
		return;
	f = tree_conf_node(d);
	if (f && f->size) {
		sync_host(d, f->data, f->size);
		cluster_membership_later(d);
	}
}
