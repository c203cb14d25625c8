/* applets/cfsd/fuse_ops.c - the tree as a file system at <root>/etc/pve
 * SPDX-License-Identifier: MIT
 *
 * What programs see (pmxcfs's rules, spec §2 and §4): owner root, group
 * www-data (--gid), modes by path and quorum (rules_mode), the virtual
 * files and symlinks of the root, no hard links, symlinks or special
 * files of one's own (ENOSYS, as pmxcfs), chmod and chown only to what
 * the path has anyway (else EPERM), statfs of a 128 MiB file system.
 *
 * Where cfsd departs from pmxcfs (DESIGN §7): a file opened for writing
 * is a buffer of its own, filled at open (empty with O_TRUNC) and
 * committed as ONE replicated change (a whole-file put) on flush (every
 * close), fsync and release; readers open a copy of the file as it is at
 * their open.  So a reader sees the old or the new file, never half of
 * one, and `echo x > f` is one change on every node, not a truncate
 * followed by a write.  create, mkdir, unlink, rmdir, rename, truncate
 * without an open file and utime are replicated at once, and their
 * errors come back where the program expects them.  A close whose commit
 * fails returns that error (EACCES without quorum, EFBIG, ...).
 *
 * Node ids: a tree entry's is its inode number + 1 (the root's inode is 0,
 * FUSE's root is 1); the virtual entries of the root have ids from
 * VNODE_BASE.  cfsd keeps the path of each id the kernel has looked up
 * (and how often, until FORGET); an id whose path now holds another entry
 * (renamed or replaced on another node) answers ESTALE and the kernel
 * looks the name up again.  Entry and attribute timeouts are 1 s, the
 * libfuse defaults pmxcfs runs with; reads and writes bypass the page
 * cache (direct I/O, as pmxcfs).
 */
#define LOG_TAG "fuse"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "applets/cfsd/cfsd.h"
#include "core/log.h"
#include "core/path.h"
#include "net/fuse.h"
#include "store/tree.h"
#include "store/vfiles.h"

#define VNODE_BASE (1ull << 62)
#define TIMEOUT    1.0
#define NODE_SLOTS 1024
#define FS_BLOCKS  32768 /* 128 MiB of 4 KiB blocks, as pmxcfs */
#define FS_FILES   262144

struct fnode { /* a node id the kernel knows */
	uint64_t id;
	uint64_t nlookup;
	char *path;
	struct fnode *next;
};

struct fdirent {
	uint64_t ino;
	uint32_t type; /* DT_* */
	char *name;
};

struct fhandle {
	char *path;
	bool dir;
	bool write;      /* opened for writing: data is a buffer to commit */
	bool dirty;      /* data differs from what was last committed */
	bool wrote;      /* ... by a write or truncate, not only O_TRUNC */
	bool released;   /* RELEASE came while a commit was running */
	unsigned busy;   /* commits running */
	struct buf data; /* file: content (a copy); dir: unused */
	struct fdirent *ents;
	size_t n_ents;
};

struct fuse_ops {
	struct cfsd *d;
	struct fuse_conn *fc;
	struct fnode *slots[NODE_SLOTS];
	struct fhandle **h; /* fh - 1 indexes it */
	size_t n_h;
	struct fuse_req *waiting; /* OPENs waiting for a commit of their file */
	size_t n_waiting;
	size_t pending; /* changes proposed, not answered yet */
};

/* ---------------------------------------------------------------- node ids */

static struct fnode **fnode_slot(struct fuse_ops *fo, uint64_t id)
{
	struct fnode **pp = &fo->slots[id % NODE_SLOTS];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static void fnode_note(struct fuse_ops *fo, uint64_t id, const char *path)
{
	struct fnode **pp = fnode_slot(fo, id), *f = *pp;

	if (id == FUSE_ROOT_NODE || id >= VNODE_BASE)
		return;
	if (!f) {
		f = xcalloc(1, sizeof(*f));
		f->id = id;
		*pp = f;
	}
	if (!f->path || strcmp(f->path, path)) {
		free(f->path);
		f->path = xstrdup(path);
	}
	f->nlookup++;
}

static void fnode_forget(struct fuse_ops *fo, uint64_t id, uint64_t n)
{
	struct fnode **pp = fnode_slot(fo, id), *f = *pp;

	if (!f)
		return;
	f->nlookup = n < f->nlookup ? f->nlookup - n : 0;
	if (!f->nlookup) {
		*pp = f->next;
		free(f->path);
		free(f);
	}
}

/* A rename through the mount: id has a new path. */
static void fnode_moved(struct fuse_ops *fo, uint64_t id, const char *path)
{
	struct fnode *f = *fnode_slot(fo, id);

	if (f) {
		free(f->path);
		f->path = xstrdup(path);
	}
}

/* The path of id (into dst, CFS_PATH_MAX bytes), and its tree entry (NULL
 * for a virtual entry).  -ENOENT / -ESTALE. */
static int node_path(struct fuse_ops *fo, uint64_t id, char *dst, const struct tree_node **n)
{
	const struct tree *t = rules_tree(fo->d->rules);
	struct fnode *f;
	const char *name;

	*n = NULL;
	if (id == FUSE_ROOT_NODE) {
		dst[0] = 0;
		*n = tree_root(t);
		return 0;
	}
	if (id >= VNODE_BASE) {
		name = ipc_ops_vname((size_t)(id - VNODE_BASE));
		if (!name)
			return -ENOENT;
		strcpy(dst, name);
		return 0;
	}
	f = *fnode_slot(fo, id);
	if (!f)
		return -ESTALE;
	strcpy(dst, f->path);
	*n = tree_lookup(t, dst);
	if (!*n || (*n)->inode + 1 != id)
		return -ESTALE;
	return 0;
}

static uint64_t vnode_id(const char *name)
{
	const char *v;
	size_t i;

	for (i = 0; (v = ipc_ops_vname(i)); i++)
		if (!strcmp(v, name))
			return VNODE_BASE + i;
	return 0;
}

/* ---------------------------------------------------------------- attributes */

static int attr_of(struct fuse_ops *fo, uint64_t id, const char *path, const struct tree_node *n,
                   struct fuse_attr *a)
{
	struct cfsd *d = fo->d;
	bool q = node_quorate(d->node);

	memset(a, 0, sizeof(*a));
	a->ino = id;
	a->uid = 0;
	a->gid = d->ro_gid;
	if (n) {
		bool dir = n->type == TREE_DIR;

		a->mode = (dir ? S_IFDIR : S_IFREG) | rules_mode(path, dir, q);
		a->nlink = dir ? 2 : 1;
		a->size = dir ? 0 : n->size;
		a->mtime = *path ? n->mtime : 0; /* the root reports time 0, as pmxcfs */
		return 0;
	}
	a->mtime = (uint32_t)d->starttime;
	a->nlink = 1;
	if (vfiles_is_link(path)) {
		char target[CFS_PATH_MAX];

		if (vfiles_link_target(path, d->name, target, sizeof(target)) < 0)
			return -ENOENT;
		a->mode = S_IFLNK | vfiles_mode(path, q);
		a->size = strlen(target);
	} else {
		struct buf b = { 0 };

		if (!ipc_ops_render(d, path, &b))
			return -ENOENT;
		a->mode = S_IFREG | vfiles_mode(path, q);
		a->size = b.len;
		buf_free(&b);
	}
	return 0;
}

/* Look path up for an entry answer (LOOKUP, MKDIR, CREATE); a name of
 * the root's virtual entries is one only in the root. */
static int entry_of(struct fuse_ops *fo, const char *path, struct fuse_attr *a)
{
	const struct tree_node *n = NULL;
	uint64_t id;
	int rc;

	if (!strchr(path, '/') && (id = vnode_id(path)) != 0)
		return attr_of(fo, id, path, NULL, a);
	rc = tree_resolve(rules_tree(fo->d->rules), path, &n);
	if (rc < 0)
		return rc;
	rc = attr_of(fo, n->inode + 1, path, n, a);
	if (rc == 0)
		fnode_note(fo, a->ino, path);
	return rc;
}

static int child_path(struct fuse_ops *fo, uint64_t parent, const char *name, char *dst)
{
	const struct tree_node *n;
	char dir[CFS_PATH_MAX];
	int rc;

	rc = node_path(fo, parent, dir, &n);
	if (rc < 0)
		return rc;
	if (!n)
		return -ENOTDIR;
	return path_fmt(dst, CFS_PATH_MAX, "%s%s%s", dir, *dir ? "/" : "", name);
}

/* ---------------------------------------------------------------- handles */

static uint64_t handle_add(struct fuse_ops *fo, struct fhandle *h)
{
	size_t i;

	for (i = 0; i < fo->n_h && fo->h[i]; i++)
		;
	if (i == fo->n_h) {
		fo->h = xrealloc(fo->h, (fo->n_h + 16) * sizeof(*fo->h));
		memset(fo->h + fo->n_h, 0, 16 * sizeof(*fo->h));
		fo->n_h += 16;
	}
	fo->h[i] = h;
	return i + 1;
}

static struct fhandle *handle_get(struct fuse_ops *fo, uint64_t fh)
{
	return fh && fh <= fo->n_h ? fo->h[fh - 1] : NULL;
}

static void handle_free(struct fhandle *h)
{
	size_t i;

	for (i = 0; i < h->n_ents; i++)
		free(h->ents[i].name);
	free(h->ents);
	buf_free(&h->data);
	free(h->path);
	free(h);
}

static void handle_drop(struct fuse_ops *fo, uint64_t fh)
{
	struct fhandle *h = handle_get(fo, fh);

	if (!h)
		return;
	fo->h[fh - 1] = NULL;
	handle_free(h);
}

/* ---------------------------------------------------------------- changes */

/* A change proposed for a request; the answer goes out at commit. */
struct pending {
	struct fuse_ops *fo;
	uint64_t unique;
	uint32_t opcode;
	uint64_t fh;             /* FLUSH FSYNC RELEASE CREATE; SETATTR: the node */
	uint64_t moved;          /* RENAME: the node id moved */
	char path[CFS_PATH_MAX]; /* MKDIR CREATE RENAME(target) */
};

static void do_open(struct fuse_ops *fo, const struct fuse_req *req);

/* OPENs that waited for a commit: again, in their order (one that must
 * still wait goes back on the list). */
static void retry_opens(struct fuse_ops *fo)
{
	struct fuse_req *w = fo->waiting;
	size_t i, n = fo->n_waiting;

	if (!n)
		return;
	fo->waiting = NULL;
	fo->n_waiting = 0;
	for (i = 0; i < n; i++)
		do_open(fo, &w[i]);
	free(w);
}

static void commit_done(void *ctx, int rc)
{
	struct pending *p = ctx;
	struct fuse_ops *fo = p->fo;
	struct fhandle *h = handle_get(fo, p->fh);
	struct fuse_attr a;
	const struct tree_node *n;
	char path[CFS_PATH_MAX];

	fo->pending--;
	if (!fo->fc) { /* unmounted meanwhile: the last one frees fo */
		free(p);
		if (!fo->pending)
			free(fo);
		return;
	}
	switch (p->opcode) {
	case FUSE_OP_FLUSH:
	case FUSE_OP_FSYNC:
	case FUSE_OP_RELEASE:
		if (h) {
			h->busy--;
			if (rc < 0)
				h->dirty = true; /* a later flush tries again */
			if (h->released && !h->busy)
				handle_drop(fo, p->fh);
		}
		fuse_reply_err(fo->fc, p->unique, rc);
		break;
	case FUSE_OP_MKDIR:
		if (rc == 0)
			rc = entry_of(fo, p->path, &a);
		if (rc < 0)
			fuse_reply_err(fo->fc, p->unique, rc);
		else
			fuse_reply_entry(fo->fc, p->unique, &a, TIMEOUT);
		break;
	case FUSE_OP_CREATE:
		if (rc == 0)
			rc = entry_of(fo, p->path, &a);
		if (rc < 0) {
			handle_drop(fo, p->fh);
			fuse_reply_err(fo->fc, p->unique, rc);
			break;
		}
		fuse_reply_create(fo->fc, p->unique, &a, TIMEOUT, p->fh, FUSE_FOPEN_DIRECT_IO);
		break;
	case FUSE_OP_RENAME:
		if (rc == 0 && p->moved)
			fnode_moved(fo, p->moved, p->path);
		fuse_reply_err(fo->fc, p->unique, rc);
		break;
	case FUSE_OP_SETATTR:
		if (rc == 0)
			rc = node_path(fo, p->fh, path, &n);
		if (rc == 0)
			rc = attr_of(fo, p->fh, path, n, &a);
		if (rc < 0)
			fuse_reply_err(fo->fc, p->unique, rc);
		else
			fuse_reply_attr(fo->fc, p->unique, &a, TIMEOUT);
		break;
	default:
		fuse_reply_err(fo->fc, p->unique, rc);
		break;
	}
	free(p);
	retry_opens(fo);
}

/* Check op and propose it; the answer to req comes from commit_done(),
 * perhaps before this returns (the node refuses at once without quorum).
 * false: refused by the checks, answered here, p freed. */
static bool propose(struct fuse_ops *fo, const struct fuse_req *req, struct op *op,
                    struct pending *p)
{
	int rc;

	cfsd_spin(fo->d);
	rc = ipc_ops_check(fo->d, op);
	if (rc < 0) {
		fuse_reply_err(fo->fc, req->unique, rc);
		free(p);
		return false;
	}
	p->fo = fo;
	p->unique = req->unique;
	p->opcode = req->opcode;
	fo->pending++;
	store_glue_submit_cb(fo->d, op, commit_done, p);
	return true;
}

static struct pending *pending_new(void)
{
	return xcalloc(1, sizeof(struct pending));
}

/* Commit a handle's buffer (FLUSH, FSYNC, RELEASE); answers req. */
static void commit_handle(struct fuse_ops *fo, const struct fuse_req *req, uint64_t fh,
                          struct fhandle *h)
{
	struct op op = { 0 };
	struct pending *p;

	if (!strcmp(h->path, ".debug")) {
		int rc = ipc_ops_debug(h->data.p, h->data.len);

		h->dirty = false;
		if (req->opcode == FUSE_OP_RELEASE)
			handle_drop(fo, fh);
		fuse_reply_err(fo->fc, req->unique, rc);
		return;
	}
	p = pending_new();
	p->fh = fh;
	op.type = OP_PUT;
	op.path = h->path;
	op.data = h->data.p;
	op.len = h->data.len;
	h->dirty = h->wrote = false;
	/* counted before: a refusal by the node comes back at once, through
	 * commit_done(), which may drop a released handle */
	h->busy++;
	if (req->opcode == FUSE_OP_RELEASE)
		h->released = true;
	if (propose(fo, req, &op, p))
		return;
	h->busy--; /* refused by the checks: answered, commit_done() not called */
	if (req->opcode == FUSE_OP_RELEASE)
		handle_drop(fo, fh);
	else
		h->dirty = true;
}

/* ---------------------------------------------------------------- requests */

static void do_lookup(struct fuse_ops *fo, const struct fuse_req *req)
{
	char path[CFS_PATH_MAX];
	struct fuse_attr a;
	int rc;

	rc = child_path(fo, req->node, req->name, path);
	if (rc == 0)
		rc = entry_of(fo, path, &a);
	if (rc < 0)
		fuse_reply_err(fo->fc, req->unique, rc);
	else
		fuse_reply_entry(fo->fc, req->unique, &a, TIMEOUT);
}

static void do_getattr(struct fuse_ops *fo, const struct fuse_req *req)
{
	const struct tree_node *n;
	char path[CFS_PATH_MAX];
	struct fuse_attr a;
	int rc;

	rc = node_path(fo, req->node, path, &n);
	if (rc == 0)
		rc = attr_of(fo, req->node, path, n, &a);
	if (rc < 0) {
		fuse_reply_err(fo->fc, req->unique, rc);
		return;
	}
	if (req->fh) { /* an open file shows its buffer's size */
		struct fhandle *h = handle_get(fo, req->fh);

		if (h && h->write)
			a.size = h->data.len;
	}
	fuse_reply_attr(fo->fc, req->unique, &a, TIMEOUT);
}

static void do_setattr(struct fuse_ops *fo, const struct fuse_req *req)
{
	const struct tree_node *n;
	char path[CFS_PATH_MAX];
	struct fuse_attr a;
	struct fhandle *h = (req->valid & FUSE_SET_FH) ? handle_get(fo, req->fh) : NULL;
	struct op op = { 0 };
	struct pending *p;
	int rc;

	rc = node_path(fo, req->node, path, &n);
	if (rc == 0)
		rc = attr_of(fo, req->node, path, n, &a);
	if (rc == 0 && (req->valid & FUSE_SET_MODE) && (req->mode & 07777) != (a.mode & 07777))
		rc = -EPERM; /* chmod: only to the path's own mode (pmxcfs) */
	if (rc == 0 && (req->valid & FUSE_SET_UID) && req->uid_to != 0)
		rc = -EPERM;
	if (rc == 0 && (req->valid & FUSE_SET_GID) && req->gid_to != a.gid)
		rc = -EPERM;
	if (rc == 0 && (req->valid & FUSE_SET_SIZE) && req->attr_size > CFS_FILE_MAX)
		rc = -EFBIG;
	if (rc == 0 && !n && (req->valid & (FUSE_SET_SIZE | FUSE_SET_MTIME)))
		rc = strcmp(path, ".debug") ? -EACCES : 0; /* virtual: only .debug, a no-op */
	if (rc < 0 || !n) {
		if (rc < 0)
			fuse_reply_err(fo->fc, req->unique, rc);
		else
			fuse_reply_attr(fo->fc, req->unique, &a, TIMEOUT);
		return;
	}
	if ((req->valid & FUSE_SET_SIZE) && h && h->write) {
		/* an open file: its buffer, committed at close */
		size_t old = h->data.len;

		if (req->attr_size > old) {
			buf_reserve(&h->data, (size_t)req->attr_size - old);
			memset(h->data.p + old, 0, (size_t)req->attr_size - old);
		}
		h->data.len = (size_t)req->attr_size;
		h->dirty = h->wrote = true;
		a.size = h->data.len;
		if (!(req->valid & (FUSE_SET_MTIME | FUSE_SET_MTIME_NOW))) {
			fuse_reply_attr(fo->fc, req->unique, &a, TIMEOUT);
			return;
		}
	} else if (req->valid & FUSE_SET_SIZE) {
		/* truncate(2): a write of nothing at the new size (pmxcfs) */
		op.type = OP_WRITE;
		op.flags = OP_F_TRUNC;
		op.offset = req->attr_size;
	}
	if (!op.type && (req->valid & (FUSE_SET_MTIME | FUSE_SET_MTIME_NOW))) {
		op.type = OP_MTIME;
		op.offset = (req->valid & FUSE_SET_MTIME_NOW) ? (uint64_t)time(NULL) : req->mtime;
		if (op.offset > UINT32_MAX) {
			fuse_reply_err(fo->fc, req->unique, -EINVAL);
			return;
		}
	}
	if (!op.type) { /* chmod/chown to what it is, atime only: nothing to do */
		fuse_reply_attr(fo->fc, req->unique, &a, TIMEOUT);
		return;
	}
	p = pending_new();
	p->fh = req->node;
	op.path = path;
	propose(fo, req, &op, p);
}

static void do_readlink(struct fuse_ops *fo, const struct fuse_req *req)
{
	const struct tree_node *n;
	char path[CFS_PATH_MAX], target[CFS_PATH_MAX];
	int rc;

	rc = node_path(fo, req->node, path, &n);
	if (rc == 0 && (n || !vfiles_is_link(path)))
		rc = -EINVAL;
	if (rc == 0)
		rc = vfiles_link_target(path, fo->d->name, target, sizeof(target));
	if (rc < 0)
		fuse_reply_err(fo->fc, req->unique, rc);
	else
		fuse_reply_data(fo->fc, req->unique, target, strlen(target));
}

/* MKDIR UNLINK RMDIR CREATE: a change of parent/name */
static void do_change(struct fuse_ops *fo, const struct fuse_req *req)
{
	struct pending *p = pending_new();
	struct op op = { 0 };
	uint64_t fh;
	int rc;

	rc = child_path(fo, req->node, req->name, p->path);
	if (rc < 0) {
		fuse_reply_err(fo->fc, req->unique, rc);
		free(p);
		return;
	}
	op.path = p->path;
	switch (req->opcode) {
	case FUSE_OP_MKDIR:
		op.type = OP_MKDIR;
		break;
	case FUSE_OP_CREATE: {
		struct fhandle *h = xcalloc(1, sizeof(*h));

		op.type = OP_CREATE;
		h->path = xstrdup(p->path);
		h->write = true;
		p->fh = handle_add(fo, h);
		break;
	}
	default:
		op.type = OP_DELETE;
		break;
	}
	fh = p->fh;
	if (!propose(fo, req, &op, p) && fh)
		handle_drop(fo, fh); /* refused: the new file's handle goes */
}

static void do_rename(struct fuse_ops *fo, const struct fuse_req *req)
{
	struct pending *p = pending_new();
	char from[CFS_PATH_MAX];
	const struct tree_node *n;
	struct op op = { 0 };
	int rc;

	rc = child_path(fo, req->node, req->name, from);
	if (rc == 0)
		rc = child_path(fo, req->newdir, req->newname, p->path);
	if (rc == 0 && (req->rename_flags & ~1u)) /* only RENAME_NOREPLACE */
		rc = -EINVAL;
	if (rc == 0 && (req->rename_flags & 1u) && tree_lookup(rules_tree(fo->d->rules), p->path))
		rc = -EEXIST;
	if (rc < 0) {
		fuse_reply_err(fo->fc, req->unique, rc);
		free(p);
		return;
	}
	n = tree_lookup(rules_tree(fo->d->rules), from);
	p->moved = n ? n->inode + 1 : 0;
	op.type = OP_RENAME;
	op.path = from;
	op.to = p->path;
	propose(fo, req, &op, p);
}

/* Is a handle of path committing? */
static bool committing(struct fuse_ops *fo, const char *path)
{
	size_t i;

	for (i = 0; i < fo->n_h; i++)
		if (fo->h[i] && fo->h[i]->busy && !strcmp(fo->h[i]->path, path))
			return true;
	return false;
}

static void do_open(struct fuse_ops *fo, const struct fuse_req *req)
{
	const struct tree_node *n;
	char path[CFS_PATH_MAX];
	struct fhandle *h;
	bool wr = (req->flags & O_ACCMODE) != O_RDONLY;
	int rc;

	if (wr)
		cfsd_spin(fo->d); /* a change comes: its write and close too */
	rc = node_path(fo, req->node, path, &n);
	if (rc == 0 && committing(fo, path)) {
		/* a closed file of this path is being committed (a release):
		 * the open sees the result, as it would after close() */
		fo->waiting = xrealloc(fo->waiting, (fo->n_waiting + 1) * sizeof(*fo->waiting));
		fo->waiting[fo->n_waiting++] = *req;
		return;
	}
	if (rc == 0 && n && n->type == TREE_DIR)
		rc = -EISDIR;
	if (rc == 0 && wr && n) {
		/* errors a change would get (no quorum, read-only, a path of
		 * the wrong kind) come at open, not only at close; what it
		 * writes is checked at close */
		struct op op = { .type = OP_WRITE, .path = path, .writer = fo->d->nodeid };

		rc = fo->d->broken || fo->d->stopping ? -EROFS
		     : !node_writable(fo->d->node)    ? -EACCES
		                                      : rules_check(fo->d->rules, &op);
	}
	if (rc == 0 && wr && !n && strcmp(path, ".debug"))
		rc = -EACCES;
	if (rc < 0) {
		fuse_reply_err(fo->fc, req->unique, rc);
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->path = xstrdup(path);
	h->write = wr;
	if (wr && (req->flags & O_TRUNC)) {
		h->dirty = true; /* an empty file, committed at close */
	} else if (n) {
		buf_put(&h->data, n->data, n->size);
	} else if (!ipc_ops_render(fo->d, path, &h->data)) {
		handle_free(h);
		fuse_reply_err(fo->fc, req->unique, -ENOENT);
		return;
	}
	fuse_reply_open(fo->fc, req->unique, handle_add(fo, h), FUSE_FOPEN_DIRECT_IO);
}

static void do_read(struct fuse_ops *fo, const struct fuse_req *req)
{
	struct fhandle *h = handle_get(fo, req->fh);
	size_t n;

	if (!h || h->dir) {
		fuse_reply_err(fo->fc, req->unique, -EBADF);
		return;
	}
	if (req->offset >= h->data.len) {
		fuse_reply_data(fo->fc, req->unique, NULL, 0);
		return;
	}
	n = h->data.len - (size_t)req->offset;
	if (n > req->size)
		n = req->size;
	fuse_reply_data(fo->fc, req->unique, h->data.p + req->offset, n);
}

static void do_write(struct fuse_ops *fo, const struct fuse_req *req)
{
	struct fhandle *h = handle_get(fo, req->fh);
	uint64_t end = req->offset + req->len;

	if (!h || !h->write) {
		fuse_reply_err(fo->fc, req->unique, -EBADF);
		return;
	}
	if (req->offset > CFS_FILE_MAX || end > CFS_FILE_MAX) {
		fuse_reply_err(fo->fc, req->unique, -EFBIG);
		return;
	}
	if (end > h->data.len) {
		buf_reserve(&h->data, (size_t)end - h->data.len);
		memset(h->data.p + h->data.len, 0, (size_t)end - h->data.len);
		h->data.len = (size_t)end;
	}
	memcpy(h->data.p + req->offset, req->data, req->len);
	h->dirty = h->wrote = true;
	fuse_reply_write(fo->fc, req->unique, req->len);
}

static void do_flush(struct fuse_ops *fo, const struct fuse_req *req)
{
	struct fhandle *h = handle_get(fo, req->fh);

	if (!h) {
		fuse_reply_err(fo->fc, req->unique, req->opcode == FUSE_OP_RELEASE ? 0 : -EBADF);
		return;
	}
	/* a flush before any write (a shell's dup2 and close after an
	 * O_TRUNC open) does not commit the empty file: release does, if
	 * nothing was written by then */
	if (h->write && h->dirty && (h->wrote || req->opcode != FUSE_OP_FLUSH)) {
		commit_handle(fo, req, req->fh, h);
		return;
	}
	if (req->opcode == FUSE_OP_RELEASE) {
		if (h->busy)
			h->released = true; /* dropped when its commit is done */
		else
			handle_drop(fo, req->fh);
	}
	fuse_reply_err(fo->fc, req->unique, 0);
}

static void dir_add(struct fhandle *h, uint64_t ino, uint32_t type, const char *name)
{
	if (!(h->n_ents & 31))
		h->ents = xrealloc(h->ents, (h->n_ents + 32) * sizeof(*h->ents));
	h->ents[h->n_ents].ino = ino;
	h->ents[h->n_ents].type = type;
	h->ents[h->n_ents].name = xstrdup(name);
	h->n_ents++;
}

static void do_opendir(struct fuse_ops *fo, const struct fuse_req *req)
{
	const struct tree_node *n, *c;
	char path[CFS_PATH_MAX];
	struct fhandle *h;
	const char *v;
	size_t i;
	int rc;

	rc = node_path(fo, req->node, path, &n);
	if (rc == 0 && (!n || n->type != TREE_DIR))
		rc = -ENOTDIR;
	if (rc < 0) {
		fuse_reply_err(fo->fc, req->unique, rc);
		return;
	}
	/* the listing is taken now: READDIR pages through this copy */
	h = xcalloc(1, sizeof(*h));
	h->dir = true;
	h->path = xstrdup(path);
	dir_add(h, req->node, DT_DIR, ".");
	dir_add(h, n->parent ? n->parent->inode + 1 : FUSE_ROOT_NODE, DT_DIR, "..");
	for (i = 0; !*path && (v = ipc_ops_vname(i)); i++)
		dir_add(h, VNODE_BASE + i, vfiles_is_link(v) ? DT_LNK : DT_REG, v);
	for (c = tree_node_first_child(n); c; c = tree_node_next_sibling(c)) {
		if (!*path && (vfiles_is_virtual(c->name) || vfiles_is_link(c->name)))
			continue; /* shadowed by the virtual entry */
		dir_add(h, c->inode + 1, c->type == TREE_DIR ? DT_DIR : DT_REG, c->name);
	}
	fuse_reply_open(fo->fc, req->unique, handle_add(fo, h), 0);
}

static void do_readdir(struct fuse_ops *fo, const struct fuse_req *req)
{
	struct fhandle *h = handle_get(fo, req->fh);
	struct buf out = { 0 };
	uint64_t i;

	if (!h || !h->dir) {
		fuse_reply_err(fo->fc, req->unique, -EBADF);
		return;
	}
	for (i = req->offset; i < h->n_ents; i++)
		if (!fuse_dirent_add(&out, req->size, h->ents[i].ino, i + 1, h->ents[i].type,
		                     h->ents[i].name))
			break;
	fuse_reply_data(fo->fc, req->unique, out.p, out.len);
	buf_free(&out);
}

static void do_statfs(struct fuse_ops *fo, const struct fuse_req *req)
{
	const struct tree *t = rules_tree(fo->d->rules);
	uint64_t used = (tree_bytes(t) + 4095) / 4096;
	uint64_t files = tree_count(t);

	fuse_reply_statfs(fo->fc, req->unique, FS_BLOCKS, used < FS_BLOCKS ? FS_BLOCKS - used : 0,
	                  FS_FILES, files < FS_FILES ? FS_FILES - files : 0, 4096, 255);
}

static void request_cb(void *ctx, struct fuse_conn *fc, const struct fuse_req *req)
{
	struct fuse_ops *fo = ctx;
	uint32_t i;

	(void)fc;
	log_debug("request %u on node %llu%s%s", req->opcode, (unsigned long long)req->node,
	          req->name ? ": " : "", req->name ? req->name : "");
	switch (req->opcode) {
	case FUSE_OP_LOOKUP:
		do_lookup(fo, req);
		break;
	case FUSE_OP_FORGET:
		fnode_forget(fo, req->node, req->nlookup);
		break;
	case FUSE_OP_BATCH_FORGET:
		for (i = 0; i < req->count; i++) {
			struct fuse_forget f;

			fuse_forget_at(req, i, &f);
			fnode_forget(fo, f.node, f.nlookup);
		}
		break;
	case FUSE_OP_GETATTR:
		do_getattr(fo, req);
		break;
	case FUSE_OP_SETATTR:
		do_setattr(fo, req);
		break;
	case FUSE_OP_READLINK:
		do_readlink(fo, req);
		break;
	case FUSE_OP_MKDIR:
	case FUSE_OP_UNLINK:
	case FUSE_OP_RMDIR:
	case FUSE_OP_CREATE:
		do_change(fo, req);
		break;
	case FUSE_OP_RENAME:
	case FUSE_OP_RENAME2:
		do_rename(fo, req);
		break;
	case FUSE_OP_OPEN:
		do_open(fo, req);
		break;
	case FUSE_OP_READ:
		do_read(fo, req);
		break;
	case FUSE_OP_WRITE:
		do_write(fo, req);
		break;
	case FUSE_OP_FLUSH:
	case FUSE_OP_FSYNC:
	case FUSE_OP_RELEASE:
		do_flush(fo, req);
		break;
	case FUSE_OP_OPENDIR:
		do_opendir(fo, req);
		break;
	case FUSE_OP_READDIR:
		do_readdir(fo, req);
		break;
	case FUSE_OP_RELEASEDIR:
		handle_drop(fo, req->fh);
		fuse_reply_err(fo->fc, req->unique, 0);
		break;
	case FUSE_OP_FSYNCDIR:
		fuse_reply_err(fo->fc, req->unique, 0); /* changes are durable when answered */
		break;
	case FUSE_OP_STATFS:
		do_statfs(fo, req);
		break;
	case FUSE_OP_INTERRUPT:
		break; /* every request is answered soon (write deadline) */
	default:       /* symlink, link, mknod, xattrs, locks, ...: as pmxcfs */
		fuse_reply_err(fo->fc, req->unique, -ENOSYS);
		break;
	}
}

/* ---------------------------------------------------------------- mount */

void fuse_ops_start(struct cfsd *d)
{
	struct fuse_ops *fo;
	int fd, rc;

	if (!d->mnt[0])
		return;
	if (fuse_mount_is_dead(d->mnt)) {
		log_info("%s: the mount of an earlier cfsd is dead: unmounting it", d->mnt);
		fuse_unmount(d->mnt);
	}
	rc = path_mkdirs(d->mnt, 0755);
	if (rc < 0) {
		log_warn("%s: cannot create the mount point: %s; running without the mount", d->mnt,
		         strerror(-rc));
		return;
	}
	rc = fuse_mount(d->mnt, &fd);
	if (rc < 0) {
		log_warn("%s: cannot mount: %s; running without the mount (cfs-* applets work)",
		         d->mnt, strerror(-rc));
		return;
	}
	fo = xcalloc(1, sizeof(*fo));
	fo->d = d;
	rc = fuse_conn_new(d->loop, fd, request_cb, fo, &fo->fc);
	if (rc < 0) {
		close(fd);
		fuse_unmount(d->mnt);
		free(fo);
		log_warn("%s: %s; running without the mount", d->mnt, strerror(-rc));
		return;
	}
	d->fuse = fo;
	log_info("mounted the tree at %s", d->mnt);
}

void fuse_ops_stop(struct cfsd *d)
{
	struct fuse_ops *fo = d->fuse;
	size_t i;

	if (!fo)
		return;
	fuse_unmount(d->mnt);
	fuse_conn_free(fo->fc);
	fo->fc = NULL;
	for (i = 0; i < fo->n_h; i++)
		if (fo->h[i])
			handle_free(fo->h[i]);
	free(fo->h);
	free(fo->waiting); /* unanswered: the kernel fails them at unmount */
	for (i = 0; i < NODE_SLOTS; i++)
		while (fo->slots[i]) {
			struct fnode *f = fo->slots[i];

			fo->slots[i] = f->next;
			free(f->path);
			free(f);
		}
	d->fuse = NULL;
	if (!fo->pending)
		free(fo); /* else the last commit_done() frees it */
}
