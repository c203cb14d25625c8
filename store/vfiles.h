/* store/vfiles.h - the virtual files of the root directory, rendered with
 * the exact text of pmxcfs (spec/pmxcfs.md §2) so Proxmox tooling parses
 * them unchanged.
 *
 * Inputs are plain structs filled in by the caller (cfsd knows the
 * cluster; store/ does not); the VMID list and the file counters come
 * from struct rules.  JSON is assembled by hand as pmxcfs does: names,
 * keys and strings are copied raw, without escaping (cluster log messages
 * are already JSON-safe when they are stored, spec §9.3).
 *
 *	.version     vfiles_version()     counters (spec §2.2)
 *	.members     vfiles_members()     cluster form, or local form
 *	.vmlist      vfiles_vmlist()      from rules_vm_*()
 *	.clusterlog  vfiles_clusterlog()  newest first, at most 50 entries
 *	.rrd         vfiles_rrd()         one "<key>:<data>" line each
 *	.debug       vfiles_debug()       "0\n" or "1\n"
 *	local qemu-server lxc openvz      symlinks: vfiles_link_target()
 *
 * Errors: vfiles_link_target() returns 0, -ENOENT (not a symlink name) or
 * -ENAMETOOLONG.  Renderers cannot fail: they append to out (owned by
 * the caller) and abort on OOM like every buf_put().
 *
 * Ownership: every pointer in the input structs is borrowed for the call;
 * a NULL string prints as "".
 * Context: pure functions, any thread.
 */
#ifndef STORE_VFILES_H
#define STORE_VFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "store/rules.h"

/* .members */
struct vfiles_member {
	const char *name; /* node name (corosync name, else ring0_addr) */
	uint32_t id;      /* node id */
	bool online;      /* cfsd runs there (is in the status group) */
	const char *ip;   /* NULL until that node announced its IP */
};

struct vfiles_cluster {
	const char *name;        /* cluster name */
	uint32_t config_version; /* totem.config_version */
	bool quorate;
	const struct vfiles_member *nodes; /* in the order to print */
	size_t n_nodes;                    /* 0: the local form is printed */
};

/* nodename: this node; version: the clinfo counter; cl NULL or with no
 * nodes: local form {"nodename", "version"}. */
void vfiles_members(struct buf *out, const char *nodename, uint32_t version,
                    const struct vfiles_cluster *cl);

/* .version */
struct vfiles_kv {
	const char *key;
	uint32_t version;
};

struct vfiles_kvnode {
	const char *node; /* the local node first, then others */
	const struct vfiles_kv *kv;
	size_t n_kv;
};

struct vfiles_version_in {
	uint64_t starttime; /* epoch seconds this cfsd started */
	uint32_t clinfo;    /* +1 per config load / membership / IP change */
	const struct vfiles_kvnode *kvnodes;
	size_t n_kvnodes;
};

/* vmlist and per-file counters come from r (rules_vmlist_version(),
 * rules_observed_*()), printed in table order. */
void vfiles_version(struct buf *out, const struct vfiles_version_in *in, const struct rules *r);

/* .vmlist: {"version": rules_vmlist_version(r), "ids": {...}} in VMID
 * order; the empty form is "{\n\"version\": N\n\n}\n". */
void vfiles_vmlist(struct buf *out, const struct rules *r);

/* .clusterlog */
struct vfiles_log {
	uint32_t uid;
	uint32_t time;
	uint8_t pri;
	const char *tag;
	uint32_t pid;
	const char *node;
	const char *user;
	const char *msg; /* already JSON-safe */
};

#define VFILES_CLOG_MAX 50

/* e[0..n) newest first; at most max entries are printed (0: 50). */
void vfiles_clusterlog(struct buf *out, const struct vfiles_log *e, size_t n, size_t max);

/* .rrd: "<key>:<data>\n" per entry, in the given order. */
struct vfiles_rrd {
	const char *key;
	const char *data;
};
void vfiles_rrd(struct buf *out, const struct vfiles_rrd *e, size_t n);

/* .debug */
void vfiles_debug(struct buf *out, bool on);

/* Is name (a root entry) one of the virtual files/symlinks? */
bool vfiles_is_virtual(const char *name);
bool vfiles_is_link(const char *name);

/* Target of symlink name ("local" -> "nodes/<node>", "qemu-server" ->
 * "nodes/<node>/qemu-server", "lxc", "openvz" likewise) into dst. */
int vfiles_link_target(const char *name, const char *nodename, char *dst, size_t size);

/* Permission bits of a virtual entry (spec §2.1, §2.2): symlinks 0755
 * quorate / 0555 not; .debug 0640; the other files 0440.  0 if name is
 * not virtual. */
unsigned vfiles_mode(const char *name, bool quorate);

#endif /* STORE_VFILES_H */
