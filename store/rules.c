/* store/rules.c - pmxcfs semantics over store/tree (see store/rules.h).
 *
 * check() runs every rule for an op against the current tree and, only
 * when apply is set and every rule passed, performs the change.  So
 * rules_check() and rules_apply() cannot disagree, and a failed op never
 * leaves a half-done change behind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "store/rules.h"
#include "core/util.h"

static const char *const observed[] = {
	"corosync.conf",
	"corosync.conf.new",
	"storage.cfg",
	"user.cfg",
	"domains.cfg",
	"notifications.cfg",
	"priv/notifications.cfg",
	"priv/shadow.cfg",
	"priv/acme/plugins.cfg",
	"priv/tfa.cfg",
	"priv/token.cfg",
	"priv/wg-keys.cfg",
	"datacenter.cfg",
	"vzdump.cron",
	"vzdump.conf",
	"jobs.cfg",
	"ha/crm_commands",
	"ha/manager_status",
	"ha/resources.cfg",
	"ha/rules.cfg",
	"ha/groups.cfg",
	"ha/fence.cfg",
	"status.cfg",
	"replication.cfg",
	"ceph.conf",
	"sdn/vnets.cfg",
	"sdn/zones.cfg",
	"sdn/controllers.cfg",
	"sdn/subnets.cfg",
	"sdn/ipams.cfg",
	"sdn/mac-cache.json",
	"sdn/pve-ipam-state.json",
	"sdn/dns.cfg",
	"sdn/fabrics.cfg",
	"sdn/route-maps.cfg",
	"sdn/prefix-lists.cfg",
	"sdn/.running-config",
	"virtual-guest/cpu-models.conf",
	"virtual-guest/profiles.cfg",
	"firewall/cluster.fw",
	"mapping/directory.cfg",
	"mapping/pci.cfg",
	"mapping/usb.cfg",
};
#define N_OBSERVED ARRAY_SIZE(observed)

static const char *const reserved[] = {
	"local",    "qemu-server", "lxc",  "openvz",      ".version",
	".members", ".vmlist",     ".rrd", ".clusterlog", ".debug",
};

static const char *const vmdirs[] = {
	[RULES_VM_QEMU] = "qemu-server",
	[RULES_VM_LXC] = "lxc",
	[RULES_VM_OPENVZ] = "openvz",
};

static const char *const vmtype_names[] = {
	[RULES_VM_QEMU] = "qemu",
	[RULES_VM_LXC] = "lxc",
	[RULES_VM_OPENVZ] = "openvz",
};

struct rules {
	struct tree *t;
	struct rules_vm *vms; /* sorted by vmid; node strings owned */
	size_t nvms;
	size_t capvms;
	size_t dups;
	uint64_t vmlist_version;
	uint64_t obs[N_OBSERVED];
};

/* ---- path predicates ---- */

static const char *skip_slash(const char *p)
{
	while (*p == '/')
		p++;
	return p;
}

bool rules_is_private(const char *path)
{
	const char *p = skip_slash(path), *s;

	if (!strncmp(p, "priv", 4) && (p[4] == 0 || p[4] == '/'))
		return true;
	if (strncmp(p, "nodes/", 6))
		return false;
	s = strchrnul(p + 6, '/');
	return *s == '/' && !strncmp(s, "/priv", 5) && (s[5] == 0 || s[5] == '/');
}

bool rules_is_reserved(const char *path)
{
	const char *p = skip_slash(path);
	size_t len = (size_t)(strchrnul(p, '/') - p);

	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (strlen(reserved[i]) == len && !memcmp(reserved[i], p, len))
			return true;
	return false;
}

bool rules_is_lock_dir(const char *path)
{
	const char *p = skip_slash(path);

	if (strncmp(p, "priv/lock/", 10))
		return false;
	p += 10;
	return *p && !strchr(p, '/');
}

bool rules_node_name_ok(const char *name, size_t len)
{
	if (len == 0 || name[0] == '-' || name[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

/* "<vmid>.conf" with vmid [1-9][0-9]*, <= UINT32_MAX: the vmid, else 0 */
static uint32_t conf_vmid(const char *s, size_t len)
{
	uint64_t v = 0;
	size_t i;

	if (len < 6 || s[0] < '1' || s[0] > '9')
		return 0;
	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return 0;
	}
	if (len - i != 5 || memcmp(s + i, ".conf", 5))
		return 0;
	return (uint32_t)v;
}

bool rules_guest_config(const char *path, uint32_t *vmid, enum rules_vmtype *type,
                        const char **node, size_t *node_len)
{
	const char *p = skip_slash(path), *n, *d, *b;
	enum rules_vmtype ty = 0;
	uint32_t id;

	if (strncmp(p, "nodes/", 6))
		return false;
	n = p + 6;
	d = strchrnul(n, '/');
	if (!*d || !rules_node_name_ok(n, (size_t)(d - n)))
		return false;
	d++;
	b = strchrnul(d, '/');
	if (!*b)
		return false;
	for (int i = RULES_VM_QEMU; i <= RULES_VM_OPENVZ; i++)
		if (strlen(vmdirs[i]) == (size_t)(b - d) && !memcmp(vmdirs[i], d, (size_t)(b - d)))
			ty = (enum rules_vmtype)i;
	if (!ty)
		return false;
	b++;
	if (strchr(b, '/'))
		return false;
	id = conf_vmid(b, strlen(b));
	if (!id)
		return false;
	if (vmid)
		*vmid = id;
	if (type)
		*type = ty;
	if (node)
		*node = n;
	if (node_len)
		*node_len = (size_t)(d - 1 - n);
	return true;
}

static bool is_hook_script(const char *path)
{
	static const char *const hooks[] = { "mount", "umount",   "start",
		                             "stop",  "premount", "postumount" };
	const char *b = strrchr(path, '/'), *s;

	b = b ? b + 1 : path;
	if (!strncmp(b, "vps.", 4)) {
		s = b + 4;
	} else {
		if (*b < '1' || *b > '9')
			return false;
		s = b;
		while (*s >= '0' && *s <= '9')
			s++;
		if (*s != '.')
			return false;
		s++;
	}
	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++)
		if (!strcmp(s, hooks[i]))
			return true;
	return false;
}

unsigned rules_mode(const char *path, bool is_dir, bool quorate)
{
	unsigned base, mode;
	bool hook = !is_dir && is_hook_script(path);

	if (!*skip_slash(path))
		return 0755; /* the mount root: always, whatever the quorum */
	if (is_dir)
		base = quorate ? 0777 : 0555;
	else
		base = quorate ? 0666 : 0444;
	if (hook)
		base |= 0100;
	if (rules_is_private(path))
		mode = base & 0700;
	else
		mode = base & (is_dir ? 0755 : 0750);
	return mode;
}

/* ---- observed files ---- */

size_t rules_observed_count(void)
{
	return N_OBSERVED;
}

const char *rules_observed_name(size_t i)
{
	return i < N_OBSERVED ? observed[i] : NULL;
}

uint64_t rules_observed_version(const struct rules *r, size_t i)
{
	return i < N_OBSERVED ? r->obs[i] : 0;
}

static void observe(struct rules *r, const char *path)
{
	for (size_t i = 0; i < N_OBSERVED; i++) {
		if (!strcmp(observed[i], path)) {
			r->obs[i]++;
			return;
		}
	}
}

/* ---- VMID list ---- */

const char *rules_vmtype_name(enum rules_vmtype type)
{
	if (type >= RULES_VM_QEMU && type <= RULES_VM_OPENVZ)
		return vmtype_names[type];
	return "?";
}

size_t rules_vm_count(const struct rules *r)
{
	return r->nvms;
}

const struct rules_vm *rules_vm_at(const struct rules *r, size_t i)
{
	return i < r->nvms ? &r->vms[i] : NULL;
}

size_t rules_vm_dups(const struct rules *r)
{
	return r->dups;
}

uint64_t rules_vmlist_version(const struct rules *r)
{
	return r->vmlist_version;
}

/* index of vmid, or of where it would go */
static size_t vm_pos(const struct rules *r, uint32_t vmid)
{
	size_t lo = 0, hi = r->nvms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->vms[mid].vmid < vmid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct rules_vm *rules_vm_find(const struct rules *r, uint32_t vmid)
{
	size_t i = vm_pos(r, vmid);

	return i < r->nvms && r->vms[i].vmid == vmid ? &r->vms[i] : NULL;
}

static void vm_clear(struct rules *r)
{
	for (size_t i = 0; i < r->nvms; i++)
		free((char *)r->vms[i].node);
	r->nvms = 0;
}

static void vm_register(struct rules *r, const char *path, uint64_t version)
{
	uint32_t vmid;
	enum rules_vmtype type;
	const char *node;
	size_t node_len, i;
	struct rules_vm *vm;

	if (!rules_guest_config(path, &vmid, &type, &node, &node_len))
		return;
	i = vm_pos(r, vmid);
	if (i < r->nvms && r->vms[i].vmid == vmid) {
		vm = &r->vms[i];
		free((char *)vm->node);
	} else {
		if (r->nvms == r->capvms) {
			r->capvms = r->capvms ? r->capvms * 2 : 64;
			r->vms = xrealloc(r->vms, r->capvms * sizeof(*r->vms));
		}
		memmove(&r->vms[i + 1], &r->vms[i], (r->nvms - i) * sizeof(*r->vms));
		r->nvms++;
		vm = &r->vms[i];
	}
	vm->vmid = vmid;
	vm->type = type;
	vm->node = xmemdup(node, node_len + 1);
	((char *)vm->node)[node_len] = 0;
	vm->version = version;
	r->vmlist_version++;
}

/* The entry of path's VMID if it is registered for this very file (same
 * node and type), else NULL. */
static struct rules_vm *vm_mine(struct rules *r, const char *path)
{
	uint32_t vmid;
	enum rules_vmtype type;
	const char *node;
	size_t node_len, i;

	if (!rules_guest_config(path, &vmid, &type, &node, &node_len))
		return NULL;
	i = vm_pos(r, vmid);
	if (i >= r->nvms || r->vms[i].vmid != vmid || r->vms[i].type != type ||
	    strlen(r->vms[i].node) != node_len || memcmp(r->vms[i].node, node, node_len))
		return NULL;
	return &r->vms[i];
}

static void vm_refresh(struct rules *r, const char *path, uint64_t version)
{
	struct rules_vm *vm = vm_mine(r, path);

	if (vm) {
		vm->version = version;
		r->vmlist_version++;
	}
}

/* Remove path's VMID if it is registered for this very file. */
static void vm_unregister(struct rules *r, const char *path)
{
	struct rules_vm *vm = vm_mine(r, path);
	size_t i;

	if (!vm)
		return;
	i = (size_t)(vm - r->vms);
	free((char *)vm->node);
	memmove(&r->vms[i], &r->vms[i + 1], (r->nvms - i - 1) * sizeof(*r->vms));
	r->nvms--;
	r->vmlist_version++;
}

struct vm_ent {
	struct rules_vm vm;
	uint64_t seq;
};

static int cmp_vm_ent(const void *a, const void *b)
{
	const struct vm_ent *x = a, *y = b;

	if (x->vm.vmid != y->vm.vmid)
		return x->vm.vmid < y->vm.vmid ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Scan nodes/<N>/{qemu-server,lxc,openvz}/ in name order (types in that
 * order); the first file of a VMID wins, later ones count as dups. */
static void vm_rebuild(struct rules *r)
{
	const struct tree_node *nodes = tree_child(tree_root(r->t), "nodes", 5), *n;
	struct vm_ent *e = NULL;
	size_t ne = 0, cap = 0;

	vm_clear(r);
	r->dups = 0;
	for (n = tree_node_first_child(nodes); n; n = tree_node_next_sibling(n)) {
		if (n->type != TREE_DIR || !rules_node_name_ok(n->name, n->name_len))
			continue;
		for (int ty = RULES_VM_QEMU; ty <= RULES_VM_OPENVZ; ty++) {
			const struct tree_node *d = tree_child(n, vmdirs[ty], strlen(vmdirs[ty]));

			for (const struct tree_node *f = tree_node_first_child(d); f;
			     f = tree_node_next_sibling(f)) {
				uint32_t vmid = conf_vmid(f->name, f->name_len);

				if (f->type != TREE_FILE || !vmid)
					continue;
				if (ne == cap) {
					cap = cap ? cap * 2 : 64;
					e = xrealloc(e, cap * sizeof(*e));
				}
				e[ne].vm.vmid = vmid;
				e[ne].vm.type = (enum rules_vmtype)ty;
				e[ne].vm.node = n->name;
				e[ne].vm.version = f->version;
				e[ne].seq = ne;
				ne++;
			}
		}
	}
	if (ne)
		qsort(e, ne, sizeof(*e), cmp_vm_ent);
	if (ne > r->capvms) {
		r->capvms = ne;
		r->vms = xrealloc(r->vms, r->capvms * sizeof(*r->vms));
	}
	for (size_t i = 0; i < ne; i++) {
		if (r->nvms && r->vms[r->nvms - 1].vmid == e[i].vm.vmid) {
			r->dups++;
			continue;
		}
		r->vms[r->nvms] = e[i].vm;
		r->vms[r->nvms].node = xstrdup(e[i].vm.node);
		r->nvms++;
	}
	free(e);
}

/* EEXIST if path is a guest config whose VMID belongs to another node or
 * type; src: rename source (same VMID allowed, migration), else NULL. */
static int vm_clash(const struct rules *r, const char *path, const char *src)
{
	uint32_t vmid, svmid;
	enum rules_vmtype type;
	const char *node;
	size_t node_len;
	const struct rules_vm *vm;

	if (!rules_guest_config(path, &vmid, &type, &node, &node_len))
		return 0;
	if (src && rules_guest_config(src, &svmid, NULL, NULL, NULL) && svmid == vmid)
		return 0;
	vm = rules_vm_find(r, vmid);
	if (vm &&
	    (vm->type != type || strlen(vm->node) != node_len || memcmp(vm->node, node, node_len)))
		return -EEXIST;
	return 0;
}

/* ---- the state machine ---- */

struct rules *rules_new(struct tree *t)
{
	struct rules *r = xcalloc(1, sizeof(*r));

	if (!t)
		tree_new(&t);
	r->t = t;
	vm_rebuild(r);
	r->vmlist_version++;
	for (size_t i = 0; i < N_OBSERVED; i++)
		r->obs[i]++;
	return r;
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	vm_clear(r);
	free(r->vms);
	tree_free(r->t);
	free(r);
}

void rules_load(struct rules *r, struct tree *t)
{
	if (!t)
		tree_new(&t);
	if (t != r->t)
		tree_free(r->t);
	r->t = t;
	vm_rebuild(r);
	r->vmlist_version++;
	for (size_t i = 0; i < N_OBSERVED; i++)
		r->obs[i]++;
}

const struct tree *rules_tree(const struct rules *r)
{
	return r->t;
}

struct tree *rules_tree_mut(struct rules *r)
{
	return r->t;
}

/* User-level path errors: EACCES for an empty, "." or ".." component,
 * ENAMETOOLONG for long names/paths, EINVAL for NULL. */
static int path_rc(const char *path)
{
	const char *s, *e;
	size_t len;

	if (!path)
		return -EINVAL;
	if (strlen(path) >= CFS_PATH_MAX)
		return -ENAMETOOLONG;
	if (!*path)
		return 0;
	for (s = path;; s = e + 1) {
		e = strchrnul(s, '/');
		len = (size_t)(e - s);
		if (len == 0 || (len == 1 && s[0] == '.') ||
		    (len == 2 && s[0] == '.' && s[1] == '.'))
			return -EACCES;
		if (len > CFS_NAME_MAX)
			return -ENAMETOOLONG;
		if (!*e)
			return 0;
	}
}

/* The parent directory of a canonical non-root path and its last name. */
static int get_parent(const struct tree *t, const char *path, const struct tree_node **dir,
                      const char **name)
{
	const char *slash = strrchr(path, '/'), *s = path;
	const struct tree_node *n = tree_root(t);

	*name = slash ? slash + 1 : path;
	while (slash && s <= slash) {
		const char *e = memchr(s, '/', (size_t)(slash - s) + 1);

		if (n->type != TREE_DIR)
			return -ENOTDIR;
		n = tree_child(n, s, (size_t)(e - s));
		if (!n)
			return -ENOENT;
		s = e + 1;
	}
	if (n->type != TREE_DIR)
		return -ENOTDIR;
	*dir = n;
	return 0;
}

static bool is_lock(const char *path, const struct tree_node *n)
{
	return n && n->type == TREE_DIR && rules_is_lock_dir(path);
}

/* ENOSPC if the tree would exceed a limit with add entries more and
 * bytes changed from old to new. */
static int space(const struct tree *t, size_t add, uint64_t old, uint64_t new)
{
	if (tree_count(t) + add > CFS_INODES_MAX)
		return -ENOSPC;
	if (tree_bytes(t) - old + new > CFS_FS_MAX)
		return -ENOSPC;
	return 0;
}

static int do_create(struct rules *r, const struct op *op, bool apply, enum tree_type type)
{
	const struct tree_node *dir;
	const char *name;
	struct tree_node *n;
	uint64_t v;
	int rc;

	rc = get_parent(r->t, op->path, &dir, &name);
	if (rc)
		return rc;
	if (type == TREE_FILE && (rc = vm_clash(r, op->path, NULL)))
		return rc;
	if (tree_child(dir, name, strlen(name)))
		return -EEXIST;
	rc = space(r->t, 1, 0, 0);
	if (rc || !apply)
		return rc;
	v = tree_next_version(r->t);
	rc = tree_add(r->t, tree_mut(r->t, dir), name, type, v, op->mtime, op->writer, &n);
	if (rc)
		return rc;
	if (type == TREE_FILE)
		vm_register(r, op->path, n->version);
	observe(r, op->path);
	return 0;
}

static int do_write(struct rules *r, const struct op *op, bool apply)
{
	const struct tree_node *n;
	uint64_t end = op->offset + op->len, size;
	uint64_t v;
	int rc;

	rc = tree_resolve(r->t, op->path, &n);
	if (rc)
		return rc;
	if (n->type != TREE_FILE)
		return -EISDIR;
	rc = vm_clash(r, op->path, NULL);
	if (rc)
		return rc;
	size = (op->flags & OP_F_TRUNC) ? end : MAX((uint64_t)n->size, end);
	rc = space(r->t, 0, n->size, size);
	if (rc || !apply)
		return rc;
	v = tree_next_version(r->t);
	rc = tree_write(r->t, tree_mut(r->t, n), op->offset, op->data, op->len,
	                op->flags & OP_F_TRUNC, v, op->mtime, op->writer);
	if (rc)
		return rc;
	vm_register(r, op->path, n->version);
	observe(r, op->path);
	return 0;
}

static int do_put(struct rules *r, const struct op *op, bool apply)
{
	const struct tree_node *dir, *n;
	struct tree_node *m;
	const char *name;
	uint64_t v;
	int rc;

	rc = get_parent(r->t, op->path, &dir, &name);
	if (rc)
		return rc;
	n = tree_child(dir, name, strlen(name));
	if (n && (op->flags & OP_F_EXCL))
		return -EEXIST;
	if (n && n->type != TREE_FILE)
		return -EISDIR;
	rc = vm_clash(r, op->path, NULL);
	if (rc)
		return rc;
	rc = space(r->t, n ? 0 : 1, n ? n->size : 0, op->len);
	if (rc || !apply)
		return rc;
	v = tree_next_version(r->t);
	if (n) {
		m = tree_mut(r->t, n);
	} else {
		rc = tree_add(r->t, tree_mut(r->t, dir), name, TREE_FILE, v, op->mtime, op->writer,
		              &m);
		if (rc)
			return rc;
	}
	rc = tree_write(r->t, m, 0, op->data, op->len, true, v, op->mtime, op->writer);
	if (rc)
		return rc;
	vm_register(r, op->path, m->version);
	observe(r, op->path);
	return 0;
}

static int do_delete(struct rules *r, const struct op *op, bool apply)
{
	const struct tree_node *n;
	bool file;
	int rc;

	rc = tree_resolve(r->t, op->path, &n);
	if (rc)
		return rc;
	if (op->offset && n->version != op->offset)
		return -ESTALE; /* changed since the proposer looked (lock renewed) */
	if (n->type == TREE_DIR && n->nchildren)
		return -ENOTEMPTY;
	if (!apply)
		return 0;
	file = n->type == TREE_FILE;
	tree_next_version(r->t);
	rc = tree_remove(r->t, tree_mut(r->t, n));
	if (rc)
		return rc;
	if (file) {
		vm_unregister(r, op->path);
		if (r->dups)
			vm_rebuild(r); /* a shadowed duplicate may take over */
	}
	observe(r, op->path);
	return 0;
}

static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && path[n] == '/';
}

static int do_rename(struct rules *r, const struct op *op, bool apply)
{
	const struct tree_node *n, *dir, *dst;
	const char *name;
	bool file;
	uint64_t v;
	int rc;

	rc = tree_resolve(r->t, op->path, &n);
	if (rc)
		return rc;
	if (is_lock(op->path, n))
		return -EACCES;
	rc = get_parent(r->t, op->to, &dir, &name);
	if (rc)
		return rc;
	if (!strcmp(op->path, op->to))
		return 0; /* same entry: POSIX says success, nothing changes */
	file = n->type == TREE_FILE;
	if (file && (rc = vm_clash(r, op->to, op->path)))
		return rc;
	if (!file && n->nchildren)
		return -ENOTEMPTY;
	if (below(op->to, op->path))
		return -EINVAL;
	dst = tree_child(dir, name, strlen(name));
	if (dst) {
		if (is_lock(op->to, dst))
			return -EACCES;
		if (dst->type == TREE_DIR && file)
			return -EISDIR;
		if (dst->type == TREE_DIR && dst->nchildren)
			return -ENOTEMPTY;
		if (dst->type == TREE_FILE && !file)
			return -ENOTDIR;
	}
	if (!apply)
		return 0;
	v = tree_next_version(r->t);
	if (dst) {
		bool dfile = dst->type == TREE_FILE;

		rc = tree_remove(r->t, tree_mut(r->t, dst));
		if (rc)
			return rc;
		if (dfile)
			vm_unregister(r, op->to);
	}
	rc = tree_move(r->t, tree_mut(r->t, n), tree_mut(r->t, dir), name, v, op->mtime,
	               op->writer);
	if (rc)
		return rc;
	if (file) {
		vm_unregister(r, op->path);
		vm_register(r, op->to, n->version);
		if (r->dups)
			vm_rebuild(r);
	}
	observe(r, op->path);
	observe(r, op->to);
	return 0;
}

static int do_mtime(struct rules *r, const struct op *op, bool apply)
{
	const struct tree_node *n;
	uint64_t v;
	int rc;

	rc = tree_resolve(r->t, op->path, &n);
	if (rc)
		return rc;
	if (is_lock(op->path, n)) {
		/* mtime 0 = unlock request: refused here; the cluster layer
		 * decides expiry and proposes the OP_DELETE */
		if (op->offset == 0 || op->offset < n->mtime || op->writer != n->writer)
			return -EACCES;
	}
	if (!apply)
		return 0;
	v = tree_next_version(r->t);
	tree_touch(r->t, tree_mut(r->t, n), v, (uint32_t)op->offset, op->writer);
	if (n->type == TREE_FILE)
		vm_refresh(r, op->path, n->version);
	observe(r, op->path);
	return 0;
}

static int run(struct rules *r, const struct op *op, bool apply)
{
	uint64_t v;
	int rc;

	/* EFBIG before anything else, as pmxcfs memdb_pwrite */
	if (op->type == OP_WRITE &&
	    (op->offset > CFS_FILE_MAX || op->offset + op->len > CFS_FILE_MAX))
		return -EFBIG;
	if (op->len > CFS_FILE_MAX)
		return -EFBIG;
	if (op->type == OP_NOOP)
		return op_check(op);
	rc = path_rc(op->path);
	if (!rc && op->type == OP_RENAME)
		rc = path_rc(op->to);
	if (rc)
		return rc;
	rc = op_check(op);
	if (rc)
		return rc;
	if (!*op->path || (op->to && !*op->to))
		return -EACCES; /* the root itself */
	if (rules_is_reserved(op->path) || (op->to && rules_is_reserved(op->to)))
		return -EACCES;
	v = tree_version(r->t);
	switch (op->type) {
	case OP_CREATE:
		rc = do_create(r, op, apply, TREE_FILE);
		break;
	case OP_MKDIR:
		rc = do_create(r, op, apply, TREE_DIR);
		break;
	case OP_WRITE:
		rc = do_write(r, op, apply);
		break;
	case OP_PUT:
		rc = do_put(r, op, apply);
		break;
	case OP_DELETE:
		rc = do_delete(r, op, apply);
		break;
	case OP_RENAME:
		rc = do_rename(r, op, apply);
		break;
	case OP_MTIME:
		rc = do_mtime(r, op, apply);
		break;
	default:
		return -EINVAL;
	}
	/* as pmxcfs: the root carries the global version and the mtime and
	 * writer of the last change */
	if (!rc && tree_version(r->t) != v)
		tree_touch(r->t, tree_mut(r->t, tree_root(r->t)), tree_version(r->t), op->mtime,
		           op->writer);
	return rc;
}

int rules_check(const struct rules *r, const struct op *op)
{
	/* run() does not change anything unless apply is set */
	return run((struct rules *)r, op, false);
}

int rules_apply(struct rules *r, const struct op *op)
{
	return run(r, op, true);
}

int rules_apply_encoded(struct rules *r, const uint8_t *p, size_t n)
{
	struct op op;
	int rc = op_decode(p, n, &op);

	return rc ? rc : rules_apply(r, &op);
}
