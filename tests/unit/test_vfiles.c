/* tests/unit/test_vfiles.c - store/vfiles: the exact pmxcfs texts */
#include <errno.h>
#include <stdlib.h>
#include "core/buf.h"
#include "core/util.h"
#include "store/rules.h"
#include "store/vfiles.h"
#include "tests/t.h"

/* the buffer as a C string */
static const char *str(struct buf *b)
{
	buf_put_u8(b, 0);
	b->len--;
	return (const char *)b->p;
}

static int apply(struct rules *r, enum op_type type, const char *path)
{
	struct op op = { .type = type, .path = path, .writer = 1, .mtime = 1 };

	return rules_apply(r, &op);
}

static void test_members(void)
{
	static const struct vfiles_member nodes[] = {
		{ "pve1", 1, true, "10.10.10.11" },
		{ "pve2", 2, true, "10.10.10.12" },
		{ "pve3", 3, false, NULL },
	};
	struct vfiles_cluster cl = { "prod-cluster", 3, true, nodes, 3 };
	struct buf b = { 0 };

	vfiles_members(&b, "pve1", 7, &cl);
	T_EQ_STR(str(&b),
	         "{\n"
	         "\"nodename\": \"pve1\",\n"
	         "\"version\": 7,\n"
	         "\"cluster\": { \"name\": \"prod-cluster\", \"version\": 3, \"nodes\": 3, "
	         "\"quorate\": 1 },\n"
	         "\"nodelist\": {\n"
	         "  \"pve1\": { \"id\": 1, \"online\": 1, \"ip\": \"10.10.10.11\"},\n"
	         "  \"pve2\": { \"id\": 2, \"online\": 1, \"ip\": \"10.10.10.12\"},\n"
	         "  \"pve3\": { \"id\": 3, \"online\": 0}\n"
	         "  }\n"
	         "}\n");
	buf_reset(&b);
	cl.quorate = false;
	cl.n_nodes = 1;
	vfiles_members(&b, "pve1", 8, &cl);
	T_EQ_STR(str(&b),
	         "{\n"
	         "\"nodename\": \"pve1\",\n"
	         "\"version\": 8,\n"
	         "\"cluster\": { \"name\": \"prod-cluster\", \"version\": 3, \"nodes\": 1, "
	         "\"quorate\": 0 },\n"
	         "\"nodelist\": {\n"
	         "  \"pve1\": { \"id\": 1, \"online\": 1, \"ip\": \"10.10.10.11\"}\n"
	         "  }\n"
	         "}\n");
	/* local mode / no node list */
	buf_reset(&b);
	vfiles_members(&b, "pve1", 0, NULL);
	T_EQ_STR(str(&b), "{\n\"nodename\": \"pve1\",\n\"version\": 0\n}\n");
	/* NULL strings print as empty ones rather than crash */
	buf_reset(&b);
	vfiles_members(&b, NULL, 0, NULL);
	T_EQ_STR(str(&b), "{\n\"nodename\": \"\",\n\"version\": 0\n}\n");
	buf_reset(&b);
	cl.n_nodes = 0;
	vfiles_members(&b, "pve1", 0, &cl);
	T_EQ_STR(str(&b), "{\n\"nodename\": \"pve1\",\n\"version\": 0\n}\n");
	buf_free(&b);
}

static void test_vmlist(void)
{
	struct rules *r = rules_new(NULL);
	struct buf b = { 0 }, want = { 0 };

	vfiles_vmlist(&b, r);
	T_EQ_STR(str(&b), "{\n\"version\": 1\n\n}\n"); /* the empty form */
	apply(r, OP_MKDIR, "nodes");
	apply(r, OP_MKDIR, "nodes/pve1");
	apply(r, OP_MKDIR, "nodes/pve2");
	apply(r, OP_MKDIR, "nodes/pve1/qemu-server");
	apply(r, OP_MKDIR, "nodes/pve2/lxc");
	T_EQ_INT(apply(r, OP_CREATE, "nodes/pve2/lxc/101.conf"), 0);
	T_EQ_INT(apply(r, OP_CREATE, "nodes/pve1/qemu-server/100.conf"), 0);
	buf_reset(&b);
	vfiles_vmlist(&b, r);
	buf_printf(&want,
	           "{\n"
	           "\"version\": 3,\n"
	           "\"ids\": {\n"
	           "\"100\": { \"node\": \"pve1\", \"type\": \"qemu\", \"version\": %d },\n"
	           "\"101\": { \"node\": \"pve2\", \"type\": \"lxc\", \"version\": %d }}\n"
	           "\n"
	           "}\n",
	           7, 6);
	T_EQ_STR(str(&b), str(&want));
	rules_free(r);
	buf_free(&b);
	buf_free(&want);
}

static void test_version(void)
{
	struct rules *r = rules_new(NULL);
	static const struct vfiles_kv kv1[] = { { "tasklist", 41 }, { "kv/static-info", 0 } };
	static const struct vfiles_kv kv2[] = { { "tasklist", 17 } };
	static const struct vfiles_kvnode kvn[] = { { "pve1", kv1, 2 }, { "pve2", kv2, 1 } };
	struct vfiles_version_in in = { 1779871231, 7, kvn, 2 };
	struct buf b = { 0 }, want = { 0 };
	struct op op = {
		.type = OP_PUT, .path = "storage.cfg", .data = (const uint8_t *)"x", .len = 1
	};

	T_EQ_INT(rules_apply(r, &op), 0);
	vfiles_version(&b, &in, r);
	buf_printf(&want, "{\n\"starttime\": 1779871231,\n\"clinfo\": 7,\n\"vmlist\": 1,\n");
	for (size_t i = 0; i < rules_observed_count(); i++)
		buf_printf(&want, "\"%s\": %d,\n", rules_observed_name(i),
		           !strcmp(rules_observed_name(i), "storage.cfg") ? 2 : 1);
	buf_printf(&want, "\"kvstore\": {\n"
	                  "\"pve1\": {\n"
	                  "\"tasklist\": 41,\n"
	                  "\"kv/static-info\": 0}\n"
	                  ",\n"
	                  "\"pve2\": {\n"
	                  "\"tasklist\": 17}\n"
	                  "}\n"
	                  "}\n");
	T_EQ_STR(str(&b), str(&want));
	/* the spec's first lines, literally */
	{
		const char *head = "{\n\"starttime\": 1779871231,\n\"clinfo\": 7,\n\"vmlist\": 1,\n"
		                   "\"corosync.conf\": 1,\n\"corosync.conf.new\": 1,\n"
		                   "\"storage.cfg\": 2,\n\"user.cfg\": 1,\n";

		T_ASSERT(!strncmp(str(&b), head, strlen(head)));
	}
	T_ASSERT(strstr(str(&b), "\"mapping/usb.cfg\": 1,\n\"kvstore\": {\n") != NULL);
	/* a local node without keys */
	buf_reset(&b);
	in.n_kvnodes = 1;
	in.kvnodes = &(struct vfiles_kvnode){ "pve1", NULL, 0 };
	vfiles_version(&b, &in, r);
	T_ASSERT(strstr(str(&b),
	                "\"mapping/usb.cfg\": 1,\n\"kvstore\": {\n\"pve1\": {\n}\n}\n}\n") != NULL);
	rules_free(r);
	buf_free(&b);
	buf_free(&want);
}

static void test_clusterlog(void)
{
	static const struct vfiles_log e[] = {
		{ 1042, 1779871502, 6, "pvedaemon", 2231, "pve2", "root@pam",
		  "starting task UPID:pve2:00001A2B:0001F00D:6654A00E:qmstart:100:root@pam:" },
		{ 17, 1779871231, 6, "cluster", 812, "pve1", "root", "starting cluster log" },
	};
	struct vfiles_log many[60];
	struct buf b = { 0 };
	const char *s;
	int n = 0;

	vfiles_clusterlog(&b, NULL, 0, 0);
	T_EQ_STR(str(&b), "{\n\"data\": [\n]\n}\n");
	buf_reset(&b);
	vfiles_clusterlog(&b, e, 2, 0);
	T_EQ_STR(str(&b),
	         "{\n"
	         "\"data\": [\n"
	         "{\"uid\": 1042, \"time\": 1779871502, \"pri\": 6, \"tag\": \"pvedaemon\", "
	         "\"pid\": 2231, \"node\": \"pve2\", \"user\": \"root@pam\", \"msg\": "
	         "\"starting task "
	         "UPID:pve2:00001A2B:0001F00D:6654A00E:qmstart:100:root@pam:\"},\n"
	         "{\"uid\": 17, \"time\": 1779871231, \"pri\": 6, \"tag\": \"cluster\", "
	         "\"pid\": 812, \"node\": \"pve1\", \"user\": \"root\", \"msg\": \"starting "
	         "cluster log\"}\n"
	         "]\n"
	         "}\n");
	/* at most 50 by default, or max */
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = e[1];
	buf_reset(&b);
	vfiles_clusterlog(&b, many, 60, 0);
	for (s = str(&b); (s = strstr(s, "\"uid\"")); s++)
		n++;
	T_EQ_INT(n, 50);
	buf_reset(&b);
	vfiles_clusterlog(&b, many, 60, 3);
	n = 0;
	for (s = str(&b); (s = strstr(s, "\"uid\"")); s++)
		n++;
	T_EQ_INT(n, 3);
	buf_free(&b);
}

static void test_rrd_debug(void)
{
	static const struct vfiles_rrd e[] = { { "pve2-node/pve1", "86400::1779871500:0.21" },
		                               { "pve2-storage/pve1/local", "1779871500:1:2" } };
	struct buf b = { 0 };

	vfiles_rrd(&b, e, 2);
	T_EQ_STR(str(&b), "pve2-node/pve1:86400::1779871500:0.21\n"
	                  "pve2-storage/pve1/local:1779871500:1:2\n");
	buf_reset(&b);
	vfiles_rrd(&b, &(struct vfiles_rrd){ "k", NULL }, 1);
	T_EQ_STR(str(&b), "k:\n");
	buf_reset(&b);
	vfiles_rrd(&b, e, 0);
	T_EQ_INT(b.len, 0);
	vfiles_debug(&b, false);
	vfiles_debug(&b, true);
	T_EQ_STR(str(&b), "0\n1\n");
	buf_free(&b);
}

static void test_links_and_modes(void)
{
	char dst[64];

	T_EQ_INT(vfiles_link_target("local", "pve1", dst, sizeof(dst)), 0);
	T_EQ_STR(dst, "nodes/pve1");
	T_EQ_INT(vfiles_link_target("qemu-server", "pve1", dst, sizeof(dst)), 0);
	T_EQ_STR(dst, "nodes/pve1/qemu-server");
	T_EQ_INT(vfiles_link_target("lxc", "pve1", dst, sizeof(dst)), 0);
	T_EQ_STR(dst, "nodes/pve1/lxc");
	T_EQ_INT(vfiles_link_target("openvz", "pve1", dst, sizeof(dst)), 0);
	T_EQ_STR(dst, "nodes/pve1/openvz");
	T_EQ_INT(vfiles_link_target(".version", "pve1", dst, sizeof(dst)), -ENOENT);
	T_EQ_INT(vfiles_link_target("nodes", "pve1", dst, sizeof(dst)), -ENOENT);
	T_EQ_INT(vfiles_link_target("qemu-server", "pve1", dst, 10), -ENAMETOOLONG);
	T_EQ_INT(vfiles_mode("local", true), 0755);
	T_EQ_INT(vfiles_mode("local", false), 0555);
	T_EQ_INT(vfiles_mode("openvz", true), 0755);
	T_EQ_INT(vfiles_mode(".version", true), 0440);
	T_EQ_INT(vfiles_mode(".members", false), 0440);
	T_EQ_INT(vfiles_mode(".vmlist", true), 0440);
	T_EQ_INT(vfiles_mode(".rrd", true), 0440);
	T_EQ_INT(vfiles_mode(".clusterlog", true), 0440);
	T_EQ_INT(vfiles_mode(".debug", true), 0640);
	T_EQ_INT(vfiles_mode(".debug", false), 0640);
	T_EQ_INT(vfiles_mode("storage.cfg", true), 0);
	T_ASSERT(vfiles_is_virtual(".clusterlog"));
	T_ASSERT(vfiles_is_virtual("lxc"));
	T_ASSERT(!vfiles_is_virtual("nodes"));
	T_ASSERT(vfiles_is_link("qemu-server"));
	T_ASSERT(!vfiles_is_link(".vmlist"));
	/* every virtual name is reserved for the tree */
	static const char *v[] = { "local",    "qemu-server", "lxc",  "openvz",      ".version",
		                   ".members", ".vmlist",     ".rrd", ".clusterlog", ".debug" };
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		T_ASSERT(vfiles_is_virtual(v[i]) && rules_is_reserved(v[i]));
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_members);
	T_RUN(test_vmlist);
	T_RUN(test_version);
	T_RUN(test_clusterlog);
	T_RUN(test_rrd_debug);
	T_RUN(test_links_and_modes);
	return t_done();
}
