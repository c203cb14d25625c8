/* applets/cfsd/locks.c - the lifetime of cluster locks (priv/lock/<name>)
 * SPDX-License-Identifier: MIT
 *
 * As pmxcfs (spec §7.1): a lock directory whose holder died is removed on
 * request once it has not changed for CFS_LOCK_TIMEOUT_SEC (120 s).  Each
 * node notes, in a table of its own, when it first saw each lock at its
 * current version (mkdir, renewal by mtime); a lock it has no note of has
 * been there unchanged since cfsd started or last loaded a snapshot
 * (locks_reset()): ages start again then, as pmxcfs's do at every load.
 * An unlock request is `utime(path, 0, 0)` (cfs-touch -m 0): the mtime op
 * itself is refused with EACCES, as in pmxcfs, and the request goes to the
 * leader (node_unlock_request()).  The leader, instead of pmxcfs's lowest
 * node id, decides: if the lock is still at the version the requester saw
 * and its own table has seen that version for longer than the lifetime, it
 * proposes the removal, conditional on the version (store/rules.c:
 * do_delete() answers ESTALE if the lock was renewed meanwhile).  A version
 * the leader sees for the first time starts its clock.
 */
#define LOG_TAG "locks"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "applets/cfsd/cfsd.h"
#include "core/log.h"
#include "core/path.h"
#include "store/tree.h"

#define CFS_LOCK_TIMEOUT_SEC 120

struct lock_age {
	struct lock_age *next;
	uint64_t version;
	double seen; /* monotonic seconds */
	char path[];
};

static double mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double lifetime(void)
{
	/* test-only: tests/cluster cannot wait 120 s */
	const char *v = getenv("CFS_TEST_LOCK_TIMEOUT");

	return v ? strtod(v, NULL) : CFS_LOCK_TIMEOUT_SEC;
}

static struct lock_age **find(struct cfsd *d, const char *path)
{
	struct lock_age **p;

	for (p = &d->locks; *p; p = &(*p)->next)
		if (!strcmp((*p)->path, path))
			return p;
	return p;
}

/* The table entry of path at version: kept if it already has that
 * version, else (re)started now; a new entry for a lock that changed just
 * now (changed) starts now, one for a lock that was already there starts
 * at locks_since. */
static struct lock_age *note(struct cfsd *d, const char *path, uint64_t version, bool changed)
{
	struct lock_age **p = find(d, path), *l = *p;

	if (!l) {
		l = xmalloc(sizeof(*l) + strlen(path) + 1);
		strcpy(l->path, path);
		l->next = NULL;
		l->version = version;
		l->seen = changed || !d->locks_since ? mono_sec() : d->locks_since;
		*p = l;
	} else if (l->version != version) {
		l->version = version;
		l->seen = mono_sec();
	}
	return l;
}

static void forget(struct cfsd *d, const char *path)
{
	struct lock_age **p = find(d, path), *l = *p;

	if (l) {
		*p = l->next;
		free(l);
	}
}

void locks_applied(struct cfsd *d, const struct op *op)
{
	const struct tree_node *n = NULL;
	const char *path = op->path;

	if (op->type == OP_RENAME)
		path = op->to; /* a lock dir cannot be renamed, but a rename may make one */
	if (!path || !rules_is_lock_dir(path))
		return;
	if (tree_resolve(rules_tree(d->rules), path, &n) == 0 && n->type == TREE_DIR)
		note(d, path, n->version, true);
	else
		forget(d, path);
}

static void removed_cb(void *ctx, int rc)
{
	char *path = ctx;

	if (rc == 0)
		log_info("lock %s expired (unchanged for more than %.0f s): removed", path,
		         lifetime());
	else if (rc != -ESTALE && rc != -ENOENT)
		log_warn("lock %s expired, but its removal failed: %s", path, cfs_strerror(rc));
	free(path);
}

void locks_unlock(void *ctx, const char *path, uint64_t version)
{
	struct cfsd *d = ctx;
	const struct tree_node *n;
	struct lock_age *l;
	struct buf b = { 0 };
	struct op op;
	char canon[CFS_PATH_MAX];

	/* path may come from another node: only a canonical lock path */
	if (path_canon(canon, sizeof(canon), path) < 0 || strcmp(canon, path) ||
	    !rules_is_lock_dir(path) || tree_resolve(rules_tree(d->rules), path, &n) != 0 ||
	    n->type != TREE_DIR)
		return;
	l = note(d, path, n->version, false);
	if (n->version != version) {
		log_debug("lock %s: the unlock request saw version %llu, it is at %llu", path,
		          (unsigned long long)version, (unsigned long long)n->version);
		return;
	}
	if (mono_sec() - l->seen <= lifetime())
		return;
	memset(&op, 0, sizeof(op));
	op.type = OP_DELETE;
	op.path = path;
	op.offset = version; /* ESTALE if renewed before this commits */
	op.writer = d->nodeid;
	op_encode(&op, &b);
	node_submit(d->node, b.p, b.len, removed_cb, xstrdup(path));
	buf_free(&b);
}

void locks_free(struct cfsd *d)
{
	while (d->locks) {
		struct lock_age *l = d->locks;

		d->locks = l->next;
		free(l);
	}
}

void locks_reset(struct cfsd *d)
{
	locks_free(d);
	d->locks_since = mono_sec();
}
