/* store/rules.h - pmxcfs file-system semantics as a deterministic state
 * machine: the only code that changes the tree (spec/pmxcfs.md §3-§5,
 * §7.1).
 *
 * struct rules owns the tree plus what pmxcfs keeps beside memdb: the
 * VMID list (vmid -> node, type, version) and the change counters of the
 * observed files exported in .version (spec §1.1, §2.2).
 *
 * Determinism: rules_apply() depends only on the tree and the op (the
 * writer and mtime travel inside it; the clock is never read), so the
 * same ops in the same order give the same tree (inodes, versions,
 * digest, encoding) on every node.  Checks that depend on the tree run
 * again at apply time; their error is the op's result and a failed op
 * changes nothing (not even the version).  OP_NOOP changes nothing.
 *
 * Errors (EFBIG is checked first, then the form of the paths and the op,
 * then the root and reserved names, then the tree; the first one wins):
 *	-EFBIG      OP_WRITE offset + len, or OP_PUT len, over CFS_FILE_MAX
 *	            (checked before anything else, as pmxcfs)
 *	-EACCES     a path component is empty, "." or ".."; the path is the
 *	            root ("" : create/write/delete/rename/mtime of the root,
 *	            mkdir of the root); the first component is a root-reserved
 *	            name (local qemu-server lxc openvz .version .members
 *	            .vmlist .rrd .clusterlog .debug); rename of a lock dir
 *	            (priv/lock/<name>) or onto an existing one; OP_MTIME on a
 *	            lock dir with mtime 0 (unlock request: refused, nothing
 *	            changes), with mtime < current, or from another writer
 *	-ENAMETOOLONG  a component over CFS_NAME_MAX bytes or a path of
 *	            CFS_PATH_MAX bytes or more
 *	-EINVAL     the op is malformed (op_check()); rename of a directory
 *	            into itself
 *	-ENOENT     parent (or an ancestor) missing; target missing for
 *	            write/delete/rename source/mtime
 *	-ENOTDIR    a non-final component is a file; rename of a directory
 *	            onto a file
 *	-EISDIR     OP_WRITE/OP_PUT on a directory; rename of a file onto a
 *	            directory
 *	-EEXIST     create/mkdir of an existing name (mkdir of a held lock);
 *	            OP_PUT with OP_F_EXCL on an existing name; VMID clash: a
 *	            guest config (§5.1) whose VMID is registered for another
 *	            node or type (create/write/put, rename of a file onto it
 *	            unless the source is a guest config of the same VMID)
 *	-ENOTEMPTY  delete of a non-empty dir; rename of a non-empty dir, or
 *	            onto a non-empty dir
 *	-ESTALE     OP_DELETE with an expected version (offset) that is not
 *	            the entry's version any more
 *	-ENOSPC     more than CFS_INODES_MAX entries (root included) or more
 *	            than CFS_FS_MAX content bytes after the op
 *
 * Op semantics (v = the op's new global version, stamped on what changed):
 *	OP_CREATE  new empty file, inode = v
 *	OP_WRITE   pwrite + zero-fill; OP_F_TRUNC sets size = offset + len
 *	OP_PUT     create (as OP_CREATE) or replace the content of a file
 *	OP_MKDIR   new dir; below priv/lock/ this takes the lock
 *	OP_DELETE  unlink/rmdir; below priv/lock/ this releases the lock.
 *	           A lock's state is (inode, version): every renew changes
 *	           the version, so the cluster layer expires a lock it saw
 *	           unchanged for 120 s with OP_DELETE offset = that version,
 *	           which fails with -ESTALE if the owner renewed meanwhile.
 *	OP_RENAME  moves, keeps the inode, takes the op's mtime and writer
 *	           (as pmxcfs); replaces a file or empty dir at the target
 *	           (file onto dir -EISDIR, dir onto file -ENOTDIR: POSIX,
 *	           stricter than pmxcfs); same path: success, no change
 *	OP_MTIME   mtime = op offset, writer = op writer.  Lock dirs: renew
 *	           only with offset >= current mtime and writer == the lock's
 *	           writer.  offset 0 is the unlock request: -EACCES, no
 *	           change; expiry (the 120 s lease) is decided by the cluster
 *	           layer, which then proposes an OP_DELETE.
 * Every successful op except OP_NOOP (and a rename onto itself) takes
 * exactly one version.  Parent directories are not changed; the root
 * node carries the global version and the op's mtime and writer (pmxcfs
 * memdb keeps them in its root entry).
 *
 * VMID list: a file whose path is a guest config registers (vmid, node,
 * type) with version = the file's node version (so it changes on every
 * create/write/rename of it, and is the same on every node and after a
 * reload).  Delete or rename away unregisters it.  rules_new() and
 * rules_load() rebuild the list by scanning nodes/ in name order; a
 * duplicate VMID keeps the first entry and is counted (rules_vm_dups()).
 *
 * Counters (for .version; local to this instance, not replicated state):
 * vmlist_version +1 per VMID list change; each observed path (§1.1) +1
 * whenever an op changes that exact path (create, write, put, mkdir,
 * mtime, delete, rename from or to).  Every counter +1 on rules_new() and
 * rules_load() (pmxcfs bumps all on DB load).
 *
 * Ownership: rules_new() takes t (NULL: a new empty tree); rules_free()
 * frees it.  rules_load() frees the old tree and takes the new one.
 * rules_tree() lends the tree until rules_load() or rules_free() (its
 * nodes as tree.h says); rules_vm_*() and rules_observed_name() lend until
 * the next rules_apply() or rules_load().  ops are borrowed for the call.
 *
 * Context: single thread; nothing blocks.
 */
#ifndef STORE_RULES_H
#define STORE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "store/op.h"
#include "store/tree.h"

enum rules_vmtype {
	RULES_VM_QEMU = 1,   /* nodes/<N>/qemu-server/<vmid>.conf */
	RULES_VM_LXC = 2,    /* nodes/<N>/lxc/<vmid>.conf */
	RULES_VM_OPENVZ = 3, /* nodes/<N>/openvz/<vmid>.conf */
};

struct rules_vm {
	uint32_t vmid;
	enum rules_vmtype type;
	const char *node; /* node directory name */
	uint64_t version; /* node version of the config file */
};

struct rules;

/* A state machine over t (NULL: a new empty tree).  Rebuilds the VMID
 * list.  Only fails on OOM (aborts). */
struct rules *rules_new(struct tree *t);
void rules_free(struct rules *r); /* NULL-safe; frees the tree */

/* Replace the tree (after a snapshot install/state transfer): frees the
 * old one, takes t, rebuilds the VMID list, bumps every counter. */
void rules_load(struct rules *r, struct tree *t);

const struct tree *rules_tree(const struct rules *r);
/* The same tree, for what leaves its content alone (tree_lend() and
 * friends): a change through it would bypass the rules. */
struct tree *rules_tree_mut(struct rules *r);

/* Would op succeed now?  0 or the errno rules_apply() would return. */
int rules_check(const struct rules *r, const struct op *op);
/* Apply op: 0 or -errno (table above); on error nothing changed. */
int rules_apply(struct rules *r, const struct op *op);
/* Decode an op (store/op.h) and apply it: -EBADMSG if it does not decode
 * (nothing changes), else as rules_apply().  p is borrowed for the call. */
int rules_apply_encoded(struct rules *r, const uint8_t *p, size_t n);

/* VMID list, in VMID order: number of entries, the i-th, and by id. */
size_t rules_vm_count(const struct rules *r);
const struct rules_vm *rules_vm_at(const struct rules *r, size_t i);
const struct rules_vm *rules_vm_find(const struct rules *r, uint32_t vmid);
size_t rules_vm_dups(const struct rules *r);           /* duplicates seen at the last rebuild */
uint64_t rules_vmlist_version(const struct rules *r);  /* .version "vmlist" */
const char *rules_vmtype_name(enum rules_vmtype type); /* "qemu" "lxc" "openvz" */

/* Observed files (spec §1.1), in table order, and their counters. */
size_t rules_observed_count(void);
const char *rules_observed_name(size_t i);
uint64_t rules_observed_version(const struct rules *r, size_t i);

/* Path predicates on canonical tree paths (a leading '/' is accepted). */
bool rules_is_private(const char *path);  /* priv[/...], nodes/<X>/priv[/...] */
bool rules_is_reserved(const char *path); /* first component reserved in the root */
bool rules_is_lock_dir(const char *path); /* priv/lock/<name> */
/* Is path a guest config (§5.1)?  If so, fill vmid, type and the node
 * name span (*node points into path, *node_len bytes); outputs may be
 * NULL. */
bool rules_guest_config(const char *path, uint32_t *vmid, enum rules_vmtype *type,
                        const char **node, size_t *node_len);
/* Is name a valid LDH node name ([A-Za-z0-9-]+, no '-' first or last)? */
bool rules_node_name_ok(const char *name, size_t len);

/* Permission bits (no S_IF*) of an entry (spec §4.3): base 0777/0666
 * quorate, 0555/0444 not; mask 0700 private, 0755 other dirs (and
 * symlinks: pass is_dir), 0750 other files; u+x for OpenVZ hook scripts
 * (<vmid>.|vps. + mount umount start stop premount postumount, vmid
 * [1-9][0-9]*).  The root ("") is always 0755, as the pmxcfs router. */
unsigned rules_mode(const char *path, bool is_dir, bool quorate);

#endif /* STORE_RULES_H */
