/* store/vfiles.c - render the virtual files byte for byte as pmxcfs
 * (status.c, logger.c, cfs-plug-link.c; spec/pmxcfs.md §2).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include "store/vfiles.h"
#include "core/path.h"
#include "core/util.h"

/* a NULL string prints as "" (musl's printf would crash on it) */
static const char *S(const char *s)
{
	return s ? s : "";
}

void vfiles_members(struct buf *out, const char *nodename, uint32_t version,
                    const struct vfiles_cluster *cl)
{
	buf_printf(out, "{\n");
	buf_printf(out, "\"nodename\": \"%s\",\n", S(nodename));
	if (!cl || !cl->n_nodes) {
		buf_printf(out, "\"version\": %" PRIu32 "\n", version);
		buf_printf(out, "}\n");
		return;
	}
	buf_printf(out, "\"version\": %" PRIu32 ",\n", version);
	buf_printf(out, "\"cluster\": { ");
	buf_printf(out,
	           "\"name\": \"%s\", \"version\": %" PRIu32 ", \"nodes\": %zu, \"quorate\": %d ",
	           S(cl->name), cl->config_version, cl->n_nodes, cl->quorate ? 1 : 0);
	buf_printf(out, "},\n");
	buf_printf(out, "\"nodelist\": {\n");
	for (size_t i = 0; i < cl->n_nodes; i++) {
		const struct vfiles_member *m = &cl->nodes[i];

		if (i)
			buf_printf(out, ",\n");
		buf_printf(out, "  \"%s\": { \"id\": %" PRIu32 ", \"online\": %d", S(m->name),
		           m->id, m->online ? 1 : 0);
		if (m->ip)
			buf_printf(out, ", \"ip\": \"%s\"", m->ip);
		buf_printf(out, "}");
	}
	buf_printf(out, "\n  }\n");
	buf_printf(out, "}\n");
}

void vfiles_version(struct buf *out, const struct vfiles_version_in *in, const struct rules *r)
{
	buf_printf(out, "{\n");
	buf_printf(out, "\"starttime\": %" PRIu64 ",\n", in->starttime);
	buf_printf(out, "\"clinfo\": %" PRIu32 ",\n", in->clinfo);
	buf_printf(out, "\"vmlist\": %" PRIu64 ",\n", rules_vmlist_version(r));
	for (size_t i = 0; i < rules_observed_count(); i++)
		buf_printf(out, "\"%s\": %" PRIu64 ",\n", rules_observed_name(i),
		           rules_observed_version(r, i));
	buf_printf(out, "\"kvstore\": {\n");
	for (size_t i = 0; i < in->n_kvnodes; i++) {
		const struct vfiles_kvnode *k = &in->kvnodes[i];

		if (i)
			buf_printf(out, ",\n");
		buf_printf(out, "\"%s\": {\n", S(k->node));
		for (size_t j = 0; j < k->n_kv; j++) {
			if (j)
				buf_printf(out, ",\n");
			buf_printf(out, "\"%s\": %" PRIu32, S(k->kv[j].key), k->kv[j].version);
		}
		buf_printf(out, "}\n");
	}
	buf_printf(out, "}\n");
	buf_printf(out, "}\n");
}

void vfiles_vmlist(struct buf *out, const struct rules *r)
{
	size_t n = rules_vm_count(r);

	buf_printf(out, "{\n");
	buf_printf(out, "\"version\": %" PRIu64, rules_vmlist_version(r));
	if (n) {
		buf_printf(out, ",\n\"ids\": {\n");
		for (size_t i = 0; i < n; i++) {
			const struct rules_vm *vm = rules_vm_at(r, i);

			if (i)
				buf_printf(out, ",\n");
			buf_printf(out,
			           "\"%" PRIu32 "\": { \"node\": \"%s\", \"type\": \"%s\", "
			           "\"version\": %" PRIu64 " }",
			           vm->vmid, vm->node, rules_vmtype_name(vm->type), vm->version);
		}
		buf_printf(out, "}");
	}
	buf_printf(out, "\n\n}\n");
}

void vfiles_clusterlog(struct buf *out, const struct vfiles_log *e, size_t n, size_t max)
{
	if (!max)
		max = VFILES_CLOG_MAX;
	if (n > max)
		n = max;
	buf_printf(out, "{\n");
	buf_printf(out, "\"data\": [\n");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_printf(out, ",\n");
		buf_printf(out,
		           "{\"uid\": %" PRIu32 ", \"time\": %" PRIu32 ", \"pri\": %d, "
		           "\"tag\": \"%s\", \"pid\": %" PRIu32 ", \"node\": \"%s\", "
		           "\"user\": \"%s\", \"msg\": \"%s\"}",
		           e[i].uid, e[i].time, e[i].pri, S(e[i].tag), e[i].pid, S(e[i].node),
		           S(e[i].user), S(e[i].msg));
	}
	if (n)
		buf_printf(out, "\n");
	buf_printf(out, "]\n");
	buf_printf(out, "}\n");
}

void vfiles_rrd(struct buf *out, const struct vfiles_rrd *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_printf(out, "%s:%s\n", S(e[i].key), S(e[i].data));
}

void vfiles_debug(struct buf *out, bool on)
{
	buf_put_str(out, on ? "1\n" : "0\n");
}

static const char *const links[] = { "local", "qemu-server", "lxc", "openvz" };
static const char *const funcs[] = { ".version", ".members",    ".vmlist",
	                             ".rrd",     ".clusterlog", ".debug" };

bool vfiles_is_link(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (!strcmp(name, links[i]))
			return true;
	return false;
}

bool vfiles_is_virtual(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(funcs); i++)
		if (!strcmp(name, funcs[i]))
			return true;
	return vfiles_is_link(name);
}

int vfiles_link_target(const char *name, const char *nodename, char *dst, size_t size)
{
	if (!strcmp(name, "local"))
		return path_fmt(dst, size, "nodes/%s", nodename);
	if (!vfiles_is_link(name))
		return -ENOENT;
	return path_fmt(dst, size, "nodes/%s/%s", nodename, name);
}

unsigned vfiles_mode(const char *name, bool quorate)
{
	if (vfiles_is_link(name))
		return quorate ? 0755 : 0555;
	if (!strcmp(name, ".debug"))
		return 0640;
	if (vfiles_is_virtual(name))
		return 0440;
	return 0;
}
