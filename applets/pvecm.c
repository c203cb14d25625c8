/* applets/pvecm.c - the cluster manager, Proxmox-compatible
 * SPDX-License-Identifier: MIT
 *
 * Every subcommand talks to the local cfsd (net/ipc.h): the tree is read
 * and written through it, the cluster view comes from IPC_OP_CLUSTER and
 * mode changes go through IPC_OP_RELOAD / IPC_OP_LEAVE (the daemon
 * re-executes itself).  Messages users know from Proxmox are printed as
 * Proxmox prints them (spec/pmxcfs.md §12, §13), without a prefix.
 *
 * Host paths (<root> is --root DIR, else $CFS_ROOT, else empty):
 *	<root>/etc/corosync/authkey        the cluster key (256 random bytes, 0400)
 *	<root>/etc/corosync/corosync.conf  the host copy of corosync.conf
 *	<root>/var/lib/cfsd-backup/config-<epoch>/  the tree before a join (10 kept)
 * Tree paths: corosync.conf, pve-root-ca.pem, priv/pve-root-ca.key,
 * priv/pve-root-ca.srl, authkey.pub, priv/authkey.key,
 * nodes/<node>/{pve-ssl.key,pve-ssl.pem,qemu-server,lxc,openvz,priv},
 * priv/join-tokens (kept by cfsd).
 *
 * Keys are ECDSA P-256 (core/cert.h), the ticket key pair (authkey.pub,
 * priv/authkey.key) too, where Proxmox uses RSA.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "applets/cluster_lib.h"
#include "core/buf.h"
#include "core/cert.h"
#include "core/corosync_conf.h"
#include "core/crypt.h"
#include "core/json.h"
#include "core/path.h"
#include "core/tls.h"
#include "core/util.h"
#include "net/http.h"
#include "net/ipc.h"
#include "net/quorum.h"

/* cluster operations of the IPC protocol (net/ipc.h lists them once the
 * daemon has them; the numbers are the contract) */
#define PVECM_OP_CLUSTER  IPC_OP_CLUSTER
#define PVECM_OP_EXPECTED IPC_OP_EXPECTED
#define PVECM_OP_TOKEN    IPC_OP_TOKEN
#define PVECM_OP_RELOAD   IPC_OP_RELOAD
#define PVECM_OP_LEAVE    IPC_OP_LEAVE
#define PVECM_RELOAD_JOIN IPC_RELOAD_JOIN
#define PVECM_LEAVE_FORCE IPC_LEAVE_FORCE

#define CONF_MISSING_MSG                                                            \
	"Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this " \
	"node part of a cluster?"
#define NO_QUORUM_MSG   "cluster not ready - no quorum?"
#define BACKUP_KEEP     10
#define JOIN_API_PATH   "/api2/json/cluster/config"
#define HTTP_TIMEOUT_MS 30000
#define VIEW_NODES_MAX  64

static const char usage[] =
        "usage: pvecm COMMAND [ARGS] [OPTIONS] [--root DIR]\n"
        "\n"
        "Proxmox-compatible cluster manager for cfsd.\n"
        "\n"
        "  create NAME [--nodeid N] [--votes N] [--link0 ADDR[,priority=N]] ...\n"
        "                      make this node a one-node cluster NAME\n"
        "  add HOST [--fingerprint FP] [--token TOKEN] [--nodeid N] [--votes N]\n"
        "           [--link0 ADDR] [--force]\n"
        "                      join the cluster HOST belongs to (TLS on port 8006)\n"
        "  addnode NODE [--nodeid N] [--votes N] [--link0 ADDR] [--new_node_ip IP]\n"
        "               [--force]   add NODE to corosync.conf (on a member)\n"
        "  delnode NODE        remove NODE (name or address) from the cluster\n"
        "  leave [--force]     this node leaves the cluster, back to local mode\n"
        "  expected N          set the expected votes (the escape hatch)\n"
        "  nodes               the membership\n"
        "  status              cluster, quorum and membership information\n"
        "  keygen FILE         write a new corosync authkey to FILE\n"
        "  updatecerts [--force]  node key and certificate, base directories\n"
        "  token [--ttl SECONDS]  a single-use join token (default 3600 s)\n"
        "  apiver              the join API version\n"
        "\n"
        "Keys are ECDSA P-256 (CA, node certificates and the ticket key pair\n"
        "authkey.pub/priv/authkey.key), where Proxmox uses RSA.\n"
        "Exit status 0 ok, 1 failed, 2 usage error; status: 2 when not quorate.\n"
        "\n"
        "  --root DIR  the root prefix of every path (default $CFS_ROOT, else /)\n"
        "  -h          help (also after a command)\n";

/* the applet's state */
static struct {
	struct ipc_conn *c;
	char node[CFS_NAME_MAX + 1]; /* this node's name, from cfsd */
} pv;

struct linkarg {
	const char *addr[COROSYNC_CONF_LINKS];
	unsigned prio[COROSYNC_CONF_LINKS];
	char store[COROSYNC_CONF_LINKS][256];
};

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void host_path(char *dst, size_t size, const char *suffix)
{
	cli_path(dst, size, suffix);
}

/* ---------------------------------------------------------------- IPC */

static int connect_cfsd(void)
{
	if (pv.c)
		return 0;
	return cfs_client_connect(&pv.c) < 0 ? -1 : 0;
}

static void disconnect(void)
{
	ipc_close(pv.c);
	pv.c = NULL;
}

static int tree_read(const char *path, struct buf *out)
{
	return ipc_call_path(pv.c, IPC_OP_READ, 0, 0, path, NULL, NULL, 0, out);
}

static bool tree_exists(const char *path)
{
	struct buf b = { 0 };
	int rc = ipc_call_path(pv.c, IPC_OP_STAT, 0, 0, path, NULL, NULL, 0, &b);

	buf_free(&b);
	return rc == 0;
}

static int tree_put(const char *path, const void *p, size_t n)
{
	int rc = ipc_call_path(pv.c, IPC_OP_PUT, 0, 0, path, NULL, p, n, NULL);

	if (rc < 0)
		fail("unable to write '/etc/pve/%s' - %s", path, cfs_strerror(rc));
	return rc;
}

static int tree_mkdir(const char *path)
{
	int rc = ipc_call_path(pv.c, IPC_OP_MKDIR, 0, 0, path, NULL, NULL, 0, NULL);

	if (rc == -EEXIST)
		return 0;
	if (rc < 0)
		fail("unable to create directory '/etc/pve/%s' - %s", path, cfs_strerror(rc));
	return rc;
}

/* This node's name, from cfsd's STATUS. */
static int load_node_name(void)
{
	struct buf b = { 0 };
	struct json_doc *d;
	const char *name;
	int rc;

	rc = ipc_call(pv.c, IPC_OP_STATUS, NULL, 0, &b);
	if (rc == 0)
		rc = json_parse(b.p, b.len, &d);
	buf_free(&b);
	if (rc < 0) {
		fail("cannot get the node name from cfsd: %s", cfs_strerror(rc));
		return rc;
	}
	name = json_get_str(json_root(d), "name");
	if (!name || !*name || strlen(name) > CFS_NAME_MAX) {
		json_doc_free(d);
		fail("cfsd did not say its node name");
		return -EBADMSG;
	}
	strcpy(pv.node, name);
	json_doc_free(d);
	return 0;
}

static int start(bool need_name)
{
	if (connect_cfsd() < 0)
		return -1;
	if (need_name && load_node_name() < 0)
		return -1;
	return 0;
}

/* integer field that may be a number or a boolean */
static int64_t jint(const struct json_val *o, const char *key)
{
	int64_t v = 0;
	bool b;

	if (json_get_i64(o, key, &v))
		return v;
	if (json_get_bool(o, key, &b))
		return b;
	return 0;
}

/* IPC_OP_CLUSTER into *out.  rc; -EOPNOTSUPP from a daemon without
 * cluster support. */
static int cluster_info(struct json_doc **out)
{
	struct buf b = { 0 };
	int rc;

	rc = ipc_call(pv.c, PVECM_OP_CLUSTER, NULL, 0, &b);
	if (rc == 0)
		rc = json_parse(b.p, b.len, out);
	buf_free(&b);
	return rc;
}

/* 1 clustered and quorate, 0 not, -errno */
static int quorate(bool *cluster)
{
	struct json_doc *d;
	int rc;

	rc = cluster_info(&d);
	if (rc < 0)
		return rc;
	if (cluster)
		*cluster = jint(json_root(d), "cluster") != 0;
	rc = jint(json_root(d), "quorate") != 0;
	json_doc_free(d);
	return rc;
}

static int need_quorum(void)
{
	int rc = quorate(NULL);

	if (rc == 1)
		return 0;
	if (rc < 0 && rc != -EOPNOTSUPP) {
		fail("cannot get the cluster state from cfsd: %s", cfs_strerror(rc));
		return -1;
	}
	fail(NO_QUORUM_MSG);
	return -1;
}

static int need_cluster_conf(void)
{
	if (tree_exists("corosync.conf"))
		return 0;
	fail(CONF_MISSING_MSG);
	return -1;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* After RELOAD/LEAVE: reconnect until cfsd is back with cluster == want
 * (and quorate when want is true), within secs.  0 or -ETIMEDOUT. */
static int wait_daemon(bool want_cluster, double secs)
{
	double end = now_sec() + secs;
	struct ipc_conn *c;
	bool cl;
	int rc;

	disconnect();
	while (now_sec() < end) {
		usleep(200 * 1000);
		if (ipc_connect(cfs_client_sock(), 1000, &c) < 0)
			continue;
		pv.c = c;
		ipc_set_timeout(c, 2000);
		rc = quorate(&cl);
		if (rc >= 0 && cl == want_cluster && (!want_cluster || rc == 1)) {
			ipc_set_timeout(c, IPC_TIMEOUT_MS);
			return 0;
		}
		disconnect();
	}
	return -ETIMEDOUT;
}

/* ---------------------------------------------------------------- options */

static int parse_u32(const char *opt, const char *arg, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!*arg || *end || errno || v < min || v > max || arg[0] == '-') {
		fprintf(stderr,
		        "400 Parameter verification failed.\n%s: invalid value '%s' (%u..%u)\n",
		        opt, arg, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* "ADDR[,priority=N]" or "address=ADDR[,priority=N]" */
static int parse_link(struct linkarg *l, unsigned i, const char *arg)
{
	char tmp[256], *tok, *save = NULL;
	uint32_t prio;

	if (strlen(arg) >= sizeof(tmp))
		return -EINVAL;
	strcpy(tmp, arg);
	l->store[i][0] = 0;
	for (tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strncmp(tok, "priority=", 9)) {
			if (parse_u32("priority", tok + 9, 0, 255, &prio) < 0)
				return -EINVAL;
			l->prio[i] = prio;
		} else if (!strncmp(tok, "address=", 8)) {
			snprintf(l->store[i], sizeof(l->store[i]), "%s", tok + 8);
		} else if (!strchr(tok, '=')) {
			snprintf(l->store[i], sizeof(l->store[i]), "%s", tok);
		} else {
			fprintf(stderr,
			        "400 Parameter verification failed.\nlink%u: invalid format\n", i);
			return -EINVAL;
		}
	}
	if (!l->store[i][0]) {
		fprintf(stderr, "400 Parameter verification failed.\nlink%u: missing address\n", i);
		return -EINVAL;
	}
	l->addr[i] = l->store[i];
	return 0;
}

enum {
	O_ROOT = CFS_OPT_ROOT,
	O_NODEID = 0x200,
	O_VOTES,
	O_FORCE,
	O_FP,
	O_TOKEN,
	O_TTL,
	O_NEWIP,
	O_APIVER,
	O_SILENT,
	O_TOKCOEF,
	O_LINK0 = 0x300, /* .. O_LINK0 + 7 */
};

#define LINK_OPTS                                                  \
	{ "link0", required_argument, NULL, O_LINK0 },             \
	        { "link1", required_argument, NULL, O_LINK0 + 1 }, \
	        { "link2", required_argument, NULL, O_LINK0 + 2 }, \
	        { "link3", required_argument, NULL, O_LINK0 + 3 }, \
	        { "link4", required_argument, NULL, O_LINK0 + 4 }, \
	        { "link5", required_argument, NULL, O_LINK0 + 5 }, \
	        { "link6", required_argument, NULL, O_LINK0 + 6 }, \
	{                                                          \
		"link7", required_argument, NULL, O_LINK0 + 7      \
	}

struct opts {
	uint32_t nodeid, votes, ttl;
	bool votes_set, force, silent;
	const char *fingerprint, *token, *new_node_ip;
	int64_t token_coefficient;
	struct linkarg links;
};

/* Parse the options of a subcommand; returns -1 on a usage error (already
 * said), 1 after -h (usage printed), 0 ok.  argv[optind..] are the
 * positional arguments. */
static int parse_opts(int argc, char **argv, const char *cmd_usage, struct opts *o)
{
	static const struct option lo[] = { CFS_CLIENT_LONGOPTS,
		                            { "nodeid", required_argument, NULL, O_NODEID },
		                            { "votes", required_argument, NULL, O_VOTES },
		                            { "force", optional_argument, NULL, O_FORCE },
		                            { "fingerprint", required_argument, NULL, O_FP },
		                            { "token", required_argument, NULL, O_TOKEN },
		                            { "ttl", required_argument, NULL, O_TTL },
		                            { "new_node_ip", required_argument, NULL, O_NEWIP },
		                            { "apiversion", required_argument, NULL, O_APIVER },
		                            { "silent", optional_argument, NULL, O_SILENT },
		                            { "token-coefficient", required_argument, NULL,
		                              O_TOKCOEF },
		                            LINK_OPTS,
		                            { NULL, 0, NULL, 0 } };
	uint32_t v;
	int opt;

	memset(o, 0, sizeof(*o));
	o->token_coefficient = -1;
	optind = 1;
	while ((opt = getopt_long_only(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case O_ROOT:
			cli_root_set(optarg);
			break;
		case 'h':
			fputs(cmd_usage, stdout);
			return 1;
		case O_NODEID:
			if (parse_u32("nodeid", optarg, 1, 65535, &o->nodeid) < 0)
				return -1;
			break;
		case O_VOTES:
			if (parse_u32("votes", optarg, 0, 255, &o->votes) < 0)
				return -1;
			o->votes_set = true;
			break;
		case O_FORCE:
			o->force = !optarg || strcmp(optarg, "0");
			break;
		case O_SILENT:
			o->silent = !optarg || strcmp(optarg, "0");
			break;
		case O_FP:
			o->fingerprint = optarg;
			break;
		case O_TOKEN:
			o->token = optarg;
			break;
		case O_TTL:
			if (parse_u32("ttl", optarg, 1, 30 * 86400, &o->ttl) < 0)
				return -1;
			break;
		case O_NEWIP:
			o->new_node_ip = optarg;
			break;
		case O_APIVER:
			if (parse_u32("apiversion", optarg, 0, 1000, &v) < 0)
				return -1;
			break;
		case O_TOKCOEF:
			if (parse_u32("token-coefficient", optarg, 0, UINT32_MAX, &v) < 0)
				return -1;
			o->token_coefficient = v;
			break;
		default:
			if (opt >= O_LINK0 && opt < O_LINK0 + COROSYNC_CONF_LINKS) {
				if (parse_link(&o->links, (unsigned)(opt - O_LINK0), optarg) < 0)
					return -1;
				break;
			}
			fputs(cmd_usage, stderr);
			return -1;
		}
	}
	return 0;
}

#define PARSE_OR_RETURN(argc, argv, u, o, npos)        \
	do {                                           \
		int r_ = parse_opts(argc, argv, u, o); \
		if (r_ != 0)                           \
			return r_ > 0 ? 0 : 2;         \
		if (argc - optind != (npos)) {         \
			fputs(u, stderr);              \
			return 2;                      \
		}                                      \
	} while (0)

/* ---------------------------------------------------------------- addresses */

static bool ip_equal(const char *a, const char *b)
{
	unsigned char x[16], y[16];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && !memcmp(x, y, 4);
	if (inet_pton(AF_INET6, a, x) == 1)
		return inet_pton(AF_INET6, b, y) == 1 && !memcmp(x, y, 16);
	return false;
}

static bool is_ip(const char *a)
{
	unsigned char x[16];

	return inet_pton(AF_INET, a, x) == 1 || inet_pton(AF_INET6, a, x) == 1;
}

/* is ip configured on a local interface? */
static bool ip_is_local(const char *ip)
{
	struct ifaddrs *ifa, *i;
	char s[INET6_ADDRSTRLEN];
	bool found = false;

	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
			          s, sizeof(s));
		else if (i->ifa_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			          &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, s,
			          sizeof(s));
		else
			continue;
		found = ip_equal(s, ip);
	}
	freeifaddrs(ifa);
	return found;
}

static bool is_loopback(const char *ip)
{
	return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1");
}

/* name -> first address as text; 0 or -ENOENT */
static int resolve(const char *name, char *ip, size_t size)
{
	struct addrinfo hints = { 0 }, *res;
	int rc;

	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return -ENOENT;
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, ip, (socklen_t)size, NULL, 0,
	                 NI_NUMERICHOST);
	freeaddrinfo(res);
	return rc ? -ENOENT : 0;
}

/* The first global IPv4 address of a local interface. */
static int first_local_ip(char *ip, size_t size)
{
	struct ifaddrs *ifa, *i;
	int rc = -ENOENT;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, ip,
		          (socklen_t)size);
		if (!is_loopback(ip)) {
			rc = 0;
			break;
		}
	}
	freeifaddrs(ifa);
	return rc;
}

/* The source address the kernel would use towards host. */
static int route_source(const char *host, char *ip, size_t size)
{
	struct addrinfo hints = { 0 }, *res;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, rc = -ENOENT;

	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, "8006", &hints, &res) != 0)
		return -ENOENT;
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, ip, (socklen_t)size, NULL, 0, NI_NUMERICHOST) ==
	            0)
		rc = 0;
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

/* This node's IP: the name's address when it is a usable local one, else
 * the first global IPv4 address of the host. */
static int local_node_ip(char *ip, size_t size)
{
	if (resolve(pv.node, ip, size) == 0 && !is_loopback(ip) && ip_is_local(ip))
		return 0;
	return first_local_ip(ip, size);
}

/* a link address as an IP literal (names are resolved) */
static int link_ip(const char *addr, char *ip, size_t size)
{
	if (is_ip(addr)) {
		snprintf(ip, size, "%s", addr);
		return 0;
	}
	return resolve(addr, ip, size);
}

/* ---------------------------------------------------------------- files */

static int write_authkey(const char *path)
{
	uint8_t key[256];
	char dir[CFS_PATH_MAX], *slash;
	int rc;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		rc = path_mkdirs(dir, 0755);
		if (rc < 0)
			return rc;
	}
	rc = crypt_random(key, sizeof(key));
	if (rc == 0)
		rc = path_write_atomic(path, key, sizeof(key), 0400);
	crypt_wipe(key, sizeof(key));
	return rc;
}

static int write_host_conf(const void *p, size_t n)
{
	char path[CFS_PATH_MAX], dir[CFS_PATH_MAX];
	int rc;

	host_path(dir, sizeof(dir), "/etc/corosync");
	host_path(path, sizeof(path), "/etc/corosync/corosync.conf");
	rc = path_mkdirs(dir, 0755);
	if (rc == 0)
		rc = path_write_atomic(path, p, n, 0644);
	if (rc < 0)
		fail("unable to write '%s' - %s", path, cfs_strerror(rc));
	return rc;
}

static bool host_file_exists(const char *suffix)
{
	char path[CFS_PATH_MAX];

	host_path(path, sizeof(path), suffix);
	return access(path, F_OK) == 0;
}

/* <node>.<first search domain of /etc/resolv.conf>, or <node> */
static void node_fqdn(char *out, size_t size)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512], dom[256] = "";

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "search %255s", dom) == 1 ||
		    sscanf(line, "domain %255s", dom) == 1)
			break;
		dom[0] = 0;
	}
	if (f)
		fclose(f);
	if (dom[0] && strlen(pv.node) + strlen(dom) + 2 <= size)
		snprintf(out, size, "%s.%s", pv.node, dom);
	else
		snprintf(out, size, "%s", pv.node);
}

/* The cluster CA (if missing), the ticket key pair (if missing). */
static int gen_cluster_files(void)
{
	struct cert_key *k = NULL;
	struct buf pem = { 0 }, pub = { 0 };
	uint64_t serial;
	int rc = 0;

	if (tree_mkdir("priv") < 0 || tree_mkdir("nodes") < 0)
		return -1;
	if (!tree_exists("priv/authkey.key")) {
		rc = cert_key_new(&k);
		if (rc == 0)
			rc = cert_key_pem(k, &pem);
		if (rc == 0)
			rc = cluster_lib_pubkey_pem(pem.p, pem.len, &pub);
		if (rc < 0) {
			fail("unable to generate the auth key: %s", cfs_strerror(rc));
			goto out;
		}
		if ((rc = tree_put("priv/authkey.key", pem.p, pem.len)) < 0 ||
		    (rc = tree_put("authkey.pub", pub.p, pub.len)) < 0)
			goto out;
		cert_key_free(k);
		k = NULL;
		crypt_wipe(pem.p, pem.len);
		buf_reset(&pem);
	}
	if (!tree_exists("pve-root-ca.pem")) {
		struct buf ca = { 0 };

		rc = crypt_random(&serial, sizeof(serial));
		serial = (serial >> 2) | 1; /* positive, not 0 */
		if (rc == 0)
			rc = cert_key_new(&k);
		if (rc == 0)
			rc = cert_key_pem(k, &pem);
		if (rc == 0)
			rc = cert_ca_create(k, serial, time(NULL), &ca);
		if (rc < 0) {
			buf_free(&ca);
			fail("unable to generate the cluster CA: %s", cfs_strerror(rc));
			goto out;
		}
		if ((rc = tree_put("priv/pve-root-ca.key", pem.p, pem.len)) == 0 &&
		    (rc = tree_put("priv/pve-root-ca.srl", "0000000000000000\n", 17)) == 0)
			rc = tree_put("pve-root-ca.pem", ca.p, ca.len);
		buf_free(&ca);
	}
out:
	cert_key_free(k);
	if (pem.p)
		crypt_wipe(pem.p, pem.len);
	buf_free(&pem);
	buf_free(&pub);
	return rc;
}

/* mkdir nodes/<node><sub> */
static int mkdir_node(const char *node, const char *sub)
{
	char p[CFS_PATH_MAX];

	if (path_fmt(p, sizeof(p), "nodes/%s%s", node, sub) < 0)
		return fail("node name too long: %s", node) ? -1 : -1;
	return tree_mkdir(p);
}

/* nodes/<node>/... and the base directories of observed files */
static int gen_local_dirs(const char *node)
{
	static const char *const base[] = { "priv",      "firewall", "ha",           "mapping",
		                            "priv/acme", "sdn",      "virtual-guest" };
	size_t i;

	if (tree_mkdir("nodes") < 0 || mkdir_node(node, "") < 0 ||
	    mkdir_node(node, "/qemu-server") < 0 || mkdir_node(node, "/lxc") < 0 ||
	    mkdir_node(node, "/openvz") < 0 || mkdir_node(node, "/priv") < 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(base); i++)
		if (tree_mkdir(base[i]) < 0)
			return -1;
	return 0;
}

/* The node key and certificate signed by the cluster CA: made when
 * missing, when they do not verify against the CA, or with force.
 * *made (may be NULL) says whether a new certificate was written. */
static int gen_node_cert(const char *ip, bool force, bool *made)
{
	char kpath[CFS_PATH_MAX], cpath[CFS_PATH_MAX], fqdn[600], ipbuf[INET6_ADDRSTRLEN];
	struct buf ca = { 0 }, cakey = { 0 }, srl = { 0 }, key = { 0 }, cert = { 0 }, out = { 0 };
	struct cert_key *ck = NULL, *nk = NULL;
	struct cert_node_req req;
	const char *why = NULL;
	char srltext[32];
	uint64_t serial;
	int rc;

	if (made)
		*made = false;
	snprintf(kpath, sizeof(kpath), "nodes/%s/pve-ssl.key", pv.node);
	snprintf(cpath, sizeof(cpath), "nodes/%s/pve-ssl.pem", pv.node);
	rc = tree_read("pve-root-ca.pem", &ca);
	if (rc == 0)
		rc = tree_read("priv/pve-root-ca.key", &cakey);
	if (rc < 0) {
		fail("unable to read the cluster CA: %s", cfs_strerror(rc));
		goto out;
	}
	if (!force && tree_read(kpath, &key) == 0 && tree_read(cpath, &cert) == 0 &&
	    cert_verify(ca.p, ca.len, cert.p, cert.len, time(NULL)) == 0 &&
	    cert_key_parse(key.p, key.len, &nk) == 0 && cert_matches_key(cert.p, cert.len, nk)) {
		rc = 0;
		goto out;
	}
	cert_key_free(nk);
	nk = NULL;
	if (link_ip(ip, ipbuf, sizeof(ipbuf)) < 0) {
		rc = fail("unable to resolve node address '%s'", ip) ? -EINVAL : 0;
		goto out;
	}
	rc = cert_key_parse(cakey.p, cakey.len, &ck);
	if (rc < 0) {
		fail("unable to load the cluster CA key: %s", cfs_strerror(rc));
		goto out;
	}
	/* keep a node key that parses, as Proxmox keeps pve-ssl.key */
	buf_reset(&key);
	if (tree_read(kpath, &key) < 0 || cert_key_parse(key.p, key.len, &nk) < 0) {
		rc = cert_key_new(&nk);
		buf_reset(&key);
		if (rc == 0)
			rc = cert_key_pem(nk, &key);
		if (rc == 0)
			rc = tree_put(kpath, key.p, key.len);
		if (rc < 0)
			goto out;
	}
	serial = 0;
	if (tree_read("priv/pve-root-ca.srl", &srl) == 0) {
		snprintf(srltext, sizeof(srltext), "%.*s", (int)MIN(srl.len, sizeof(srltext) - 1),
		         (const char *)srl.p);
		serial = strtoull(srltext, NULL, 16);
	}
	serial++;
	node_fqdn(fqdn, sizeof(fqdn));
	req.node = pv.node;
	req.fqdn = fqdn;
	req.ip = ipbuf;
	req.serial = serial;
	req.now = time(NULL);
	rc = cert_node_create(ca.p, ca.len, ck, nk, &req, &out, &why);
	if (rc < 0) {
		fail("%s", why ? why : cfs_strerror(rc));
		goto out;
	}
	snprintf(srltext, sizeof(srltext), "%016llX\n", (unsigned long long)serial);
	if ((rc = tree_put("priv/pve-root-ca.srl", srltext, strlen(srltext))) < 0 ||
	    (rc = tree_put(cpath, out.p, out.len)) < 0)
		goto out;
	if (made)
		*made = true;
out:
	cert_key_free(ck);
	cert_key_free(nk);
	if (cakey.p)
		crypt_wipe(cakey.p, cakey.len);
	if (key.p)
		crypt_wipe(key.p, key.len);
	buf_free(&ca);
	buf_free(&cakey);
	buf_free(&srl);
	buf_free(&key);
	buf_free(&cert);
	buf_free(&out);
	return rc;
}

/* This node's ring0 address from the tree's corosync.conf; 0 or -errno. */
static int conf_local_addr(char *ip, size_t size)
{
	struct buf b = { 0 };
	struct corosync_conf *c = NULL;
	struct cluster_conf cc;
	const struct cluster_conf_node *n;
	int rc;

	rc = tree_read("corosync.conf", &b);
	if (rc == 0)
		rc = corosync_conf_parse((const char *)b.p, b.len, "corosync.conf", 0, &c, NULL, 0);
	if (rc == 0)
		rc = corosync_conf_cluster(c, &cc, NULL, 0);
	if (rc == 0) {
		n = corosync_conf_local_node(&cc, pv.node);
		if (n && n->addr[0])
			snprintf(ip, size, "%s", n->addr[0]);
		else
			rc = -ENOENT;
		corosync_conf_cluster_free(&cc);
	}
	corosync_conf_free(c);
	buf_free(&b);
	return rc;
}

/* ---------------------------------------------------------------- backup */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static int backup_walk(const char *tree_dir, const char *host_dir)
{
	struct buf list = { 0 }, data = { 0 };
	struct ipc_stat st;
	struct rd r;
	char tp[CFS_PATH_MAX], hp[CFS_PATH_MAX], name[CFS_NAME_MAX + 1];
	int rc;

	rc = ipc_list(pv.c, tree_dir, &list);
	if (rc < 0)
		goto out;
	r = rd_init(list.p, list.len);
	while (r.left && rc == 0) {
		rc = ipc_stat_decode(&r, &st);
		if (rc < 0)
			break;
		if (st.name_len > CFS_NAME_MAX)
			continue;
		memcpy(name, st.name, st.name_len);
		name[st.name_len] = 0;
		if (st.type == IPC_T_LINK || (!*tree_dir && name[0] == '.'))
			continue; /* symlinks and virtual files of the root */
		if (path_fmt(tp, sizeof(tp), "%s%s%s", tree_dir, *tree_dir ? "/" : "", name) < 0 ||
		    path_fmt(hp, sizeof(hp), "%s/%s", host_dir, name) < 0) {
			rc = -ENAMETOOLONG;
			break;
		}
		if (st.type == IPC_T_DIR) {
			if (mkdir(hp, 0700) < 0 && errno != EEXIST)
				rc = -errno;
			else
				rc = backup_walk(tp, hp);
		} else {
			buf_reset(&data);
			rc = tree_read(tp, &data);
			if (rc == 0)
				rc = path_write_atomic(hp, data.p, data.len, 0600);
		}
	}
out:
	buf_free(&list);
	buf_free(&data);
	return rc;
}

static int backup_cmp(const void *a, const void *b)
{
	unsigned long long x = strtoull(*(char *const *)a + 7, NULL, 10);
	unsigned long long y = strtoull(*(char *const *)b + 7, NULL, 10);

	return x < y ? -1 : x > y;
}

/* Copy the tree to <root>/var/lib/cfsd-backup/config-<epoch>/, keep the
 * last BACKUP_KEEP. */
static int backup_tree(void)
{
	char base[CFS_PATH_MAX], dir[CFS_PATH_MAX], old[CFS_PATH_MAX];
	char *names[256];
	size_t n = 0, i;
	struct dirent *e;
	DIR *d;
	int rc;

	host_path(base, sizeof(base), "/var/lib/cfsd-backup");
	if (path_fmt(dir, sizeof(dir), "%s/config-%lld", base, (long long)time(NULL)) < 0)
		return -ENAMETOOLONG;
	rc = path_mkdirs(dir, 0700);
	if (rc == 0)
		rc = backup_walk("", dir);
	if (rc < 0) {
		fail("unable to back up the configuration to '%s': %s", dir, cfs_strerror(rc));
		return rc;
	}
	printf("backup old database to '%s'\n", dir);
	d = opendir(base);
	while (d && (e = readdir(d)) && n < ARRAY_SIZE(names))
		if (!strncmp(e->d_name, "config-", 7))
			names[n++] = xstrdup(e->d_name);
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), backup_cmp);
	for (i = 0; i < n; i++) {
		if (i + BACKUP_KEEP < n && path_fmt(old, sizeof(old), "%s/%s", base, names[i]) == 0)
			nftw(old, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		free(names[i]);
	}
	return 0;
}

/* ---------------------------------------------------------------- create */

static const char create_usage[] =
        "usage: pvecm create NAME [--nodeid N] [--votes N] [--link0 ADDR[,priority=N]] ...\n"
        "                   [--token-coefficient N] [--root DIR]\n"
        "\n"
        "Make this node the first node of the cluster NAME: authkey, cluster CA,\n"
        "node certificate, corosync.conf (config_version 1); cfsd then switches to\n"
        "cluster mode by itself.  Without --link0 the node's address is the one its\n"
        "name resolves to (else its first IPv4 address).\n";

static bool cluster_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > 15)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static int cmd_create(int argc, char **argv)
{
	struct corosync_conf_create p = { 0 };
	struct corosync_conf *conf;
	char ip[INET6_ADDRSTRLEN], path[CFS_PATH_MAX], err[COROSYNC_CONF_ERR_MAX];
	struct buf text = { 0 };
	struct opts o;
	bool cl = false;
	unsigned i;
	int rc;

	PARSE_OR_RETURN(argc, argv, create_usage, &o, 1);
	if (!cluster_name_ok(argv[optind]))
		return fail("400 Parameter verification failed.\nclustername: value does not "
		            "match the regex pattern");
	if (start(true) < 0)
		return 1;
	if (tree_exists("corosync.conf") || (quorate(&cl) >= 0 && cl))
		return fail("cluster config '/etc/pve/corosync.conf' already exists");
	host_path(path, sizeof(path), "/etc/corosync/authkey");
	if (access(path, F_OK) < 0) {
		rc = write_authkey(path);
		if (rc < 0)
			return fail("unable to create '%s': %s", path, cfs_strerror(rc));
	}
	p.cluster_name = argv[optind];
	p.node_name = pv.node;
	p.nodeid = o.nodeid;
	p.votes = o.votes_set ? o.votes : 0;
	if (o.votes_set && o.votes == 0)
		return fail("400 Parameter verification failed.\nvotes: value must have a minimum "
		            "value of 1");
	p.token_coefficient = o.token_coefficient;
	for (i = 0; i < COROSYNC_CONF_LINKS; i++) {
		p.addr[i] = o.links.addr[i];
		p.priority[i] = o.links.prio[i];
	}
	if (!p.addr[0]) {
		for (i = 1; i < COROSYNC_CONF_LINKS && !p.addr[i]; i++)
			;
		if (i == COROSYNC_CONF_LINKS) {
			if (local_node_ip(ip, sizeof(ip)) < 0)
				return fail(
				        "unable to get the IP address of node '%s' - use --link0",
				        pv.node);
			p.addr[0] = ip;
		}
	}
	printf("Writing corosync config to /etc/pve/corosync.conf\n");
	conf = corosync_conf_create(&p);
	rc = corosync_conf_bump_version(conf, NULL, err, sizeof(err));
	if (rc < 0) {
		corosync_conf_free(conf);
		return fail("%s", err);
	}
	corosync_conf_write(conf, &text);
	corosync_conf_free(conf);
	rc = tree_put("corosync.conf", text.p, text.len);
	if (rc == 0)
		rc = write_host_conf(text.p, text.len);
	buf_free(&text);
	if (rc < 0)
		return 1;
	if (gen_local_dirs(pv.node) < 0 || gen_cluster_files() < 0)
		return 1;
	for (i = 0; i < COROSYNC_CONF_LINKS && !p.addr[i]; i++)
		;
	if (gen_node_cert(p.addr[i], false, NULL) < 0)
		return 1;
	printf("Restart corosync and cluster filesystem\n");
	fflush(stdout);
	buf_put_le32(&text, 0);
	rc = ipc_call(pv.c, PVECM_OP_RELOAD, text.p, text.len, NULL);
	buf_free(&text);
	if (rc == -EOPNOTSUPP)
		return fail("cfsd cannot switch to cluster mode by itself: restart it");
	if (rc < 0)
		return fail("cfsd refused to reload: %s", cfs_strerror(rc));
	if (wait_daemon(true, 30) < 0)
		return fail("cfsd did not come back quorate in cluster mode within 30 s");
	return 0;
}

/* ---------------------------------------------------------------- add */

static const char add_usage[] =
        "usage: pvecm add HOST [--fingerprint FP] [--token TOKEN] [--nodeid N] [--votes N]\n"
        "                 [--link0 ADDR] ... [--force] [--root DIR]\n"
        "\n"
        "Join the cluster that HOST (a member) belongs to, over TLS on port 8006.\n"
        "The server certificate must have the SHA-256 fingerprint FP; without\n"
        "--fingerprint it is shown and must be confirmed on a terminal.  TOKEN is\n"
        "a join token from `pvecm token` on a member; without it the root password\n"
        "of HOST is asked for.  This node's tree is replaced by the cluster's (a\n"
        "copy is kept in <root>/var/lib/cfsd-backup/).\n";

static bool vmlist_empty(void)
{
	struct buf b = { 0 };
	struct json_doc *d;
	bool empty = true;

	if (tree_read(".vmlist", &b) == 0 && json_parse(b.p, b.len, &d) == 0) {
		empty = json_len(json_get(json_root(d), "ids")) == 0;
		json_doc_free(d);
	}
	buf_free(&b);
	return empty;
}

static int read_line_tty(const char *prompt, bool echo, char *out, size_t size)
{
	struct termios t, old;
	bool tty = isatty(0);
	size_t n;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tty && !echo && tcgetattr(0, &old) == 0) {
		t = old;
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &t);
	} else {
		tty = false;
	}
	if (!fgets(out, (int)size, stdin))
		out[0] = 0;
	if (tty)
		tcsetattr(0, TCSAFLUSH, &old);
	if (!echo || !isatty(0))
		fputc('\n', stderr); /* the answer's newline was not echoed */
	n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = 0;
	return 0;
}

/* an API error: "<status> <message>" from the body or the reason */
static void api_error_msg(const struct http_result *res, char *out, size_t size)
{
	struct json_doc *d;
	const char *m = NULL;

	if (json_parse(res->body.p, res->body.len, &d) == 0) {
		m = json_get_str(json_root(d), "message");
		if (m)
			snprintf(out, size, "%s", m);
		json_doc_free(d);
	}
	if (!m)
		snprintf(out, size, "%d %s", res->status, res->reason);
	size = strlen(out);
	while (size && out[size - 1] == '\n')
		out[--size] = 0;
}

static int join_failed(const char *msg)
{
	fflush(stdout);
	fprintf(stderr, "An error occurred on the cluster node: %s\n", msg);
	fprintf(stderr, "Cluster join aborted!\n");
	return 1;
}

/* GET join info, settle the fingerprint; fp gets the pinned fingerprint */
static int join_connect(const char *host, struct opts *o, char fp[CERT_FP_STRLEN],
                        struct tls_conf **conf)
{
	struct http_result res = { 0 };
	char msg[512], answer[16];
	uint8_t raw[CERT_FP_SIZE];
	int rc;

	if (o->fingerprint) {
		if (cert_fp_parse(o->fingerprint, raw) < 0)
			return fail(
			        "400 Parameter verification failed.\nfingerprint: invalid format "
			        "- value does not match the regex pattern");
		cert_fp_format(raw, fp);
	}
	rc = tls_conf_client_new(NULL, 0, o->fingerprint ? fp : NULL, conf);
	if (rc < 0)
		return fail("TLS setup failed: %s", cfs_strerror(rc));
	rc = http_request(*conf, host, HTTP_PORT, "GET", JOIN_API_PATH "/join", NULL, 0,
	                  HTTP_TIMEOUT_MS, &res, msg, sizeof(msg));
	if (rc < 0) {
		buf_free(&res.body);
		return fail("%s", msg);
	}
	if (res.status != 200) {
		api_error_msg(&res, msg, sizeof(msg));
		buf_free(&res.body);
		return join_failed(msg);
	}
	buf_free(&res.body);
	if (o->fingerprint)
		return 0;
	snprintf(fp, CERT_FP_STRLEN, "%s", res.fingerprint);
	fflush(stdout);
	fprintf(stderr, "The authenticity of host '%s' can't be established.\n", host);
	fprintf(stderr, "X509 SHA256 key fingerprint is %s.\n", fp);
	if (!isatty(0))
		return fail("refusing to trust it without a terminal to confirm: check it on '%s' "
		            "and pass --fingerprint",
		            host);
	read_line_tty("Are you sure you want to continue connecting (yes/no)? ", true, answer,
	              sizeof(answer));
	if (strcmp(answer, "yes"))
		return fail("host key verification failed");
	tls_conf_free(*conf);
	*conf = NULL;
	rc = tls_conf_client_new(NULL, 0, fp, conf);
	return rc < 0 ? fail("TLS setup failed: %s", cfs_strerror(rc)) : 0;
}

static int cmd_add(int argc, char **argv)
{
	const char *host;
	char ip[INET6_ADDRSTRLEN] = "", fp[CERT_FP_STRLEN], msg[1024], path[CFS_PATH_MAX];
	char password[256] = "", errors[2048] = "", node_ip[INET6_ADDRSTRLEN];
	struct tls_conf *conf = NULL;
	struct http_result res = { 0 };
	struct buf body = { 0 }, key = { 0 };
	struct json_doc *d = NULL;
	const struct json_val *data, *warn;
	const char *conftext, *keytext;
	struct json w;
	struct opts o;
	bool cl = false, made;
	size_t i;
	int rc, ret = 1;

	PARSE_OR_RETURN(argc, argv, add_usage, &o, 1);
	host = argv[optind];
	if (start(true) < 0)
		return 1;

	/* pre-checks (Setup.pm assert_joinable) */
	if (host_file_exists("/etc/corosync/authkey"))
		strcat(errors, "* authentication key '/etc/corosync/authkey' already exists\n");
	if (tree_exists("corosync.conf"))
		strcat(errors, "* cluster config '/etc/pve/corosync.conf' already exists\n");
	if (!vmlist_empty())
		strcat(errors, "* this host already contains virtual guests\n");
	if (quorate(&cl) >= 0 && cl)
		strcat(errors, "* corosync is already running, is this node already in a "
		               "cluster?!\n");
	for (i = 0; i < COROSYNC_CONF_LINKS; i++) {
		char lip[INET6_ADDRSTRLEN];

		if (!o.links.addr[i])
			continue;
		if (link_ip(o.links.addr[i], lip, sizeof(lip)) < 0 || !ip_is_local(lip)) {
			snprintf(
			        msg, sizeof(msg),
			        "* local node address: cannot use IP '%s', not found on local node!\n",
			        o.links.addr[i]);
			strncat(errors, msg, sizeof(errors) - strlen(errors) - 1);
		}
	}
	if (*errors) {
		fflush(stdout);
		fprintf(stderr, "detected the following error(s):\n%s", errors);
		if (!o.force)
			return fail("Check if node may join a cluster failed!");
		fprintf(stderr, "WARNING : detected error but forced to continue!\n");
	}

	printf("Establishing API connection with host '%s'\n", host);
	fflush(stdout);
	if (join_connect(host, &o, fp, &conf))
		goto out;
	if (!o.token) {
		snprintf(msg, sizeof(msg),
		         "Please enter superuser (root) password for '%s': ", host);
		read_line_tty(msg, false, password, sizeof(password));
	}
	if (!o.links.addr[0]) {
		if (route_source(host, ip, sizeof(ip)) < 0 && local_node_ip(ip, sizeof(ip)) < 0) {
			fail("unable to get the IP address of this node - use --link0");
			goto out;
		}
		printf("No cluster network links passed explicitly, fallback to local node IP '%s'\n",
		       ip);
	}
	printf("Request addition of this node\n");
	fflush(stdout);
	json_init(&w, &body);
	json_obj_open(&w);
	json_kv_int(&w, "apiversion", 1);
	if (o.token)
		json_kv_str(&w, "token", o.token);
	else
		json_kv_str(&w, "password", password);
	if (o.nodeid)
		json_kv_int(&w, "nodeid", o.nodeid);
	if (o.votes_set)
		json_kv_int(&w, "votes", o.votes);
	if (o.force)
		json_kv_int(&w, "force", 1);
	for (i = 0; i < COROSYNC_CONF_LINKS; i++) {
		char k[8];

		if (!o.links.addr[i])
			continue;
		snprintf(k, sizeof(k), "link%zu", i);
		json_kv_str(&w, k, o.links.addr[i]);
	}
	if (!o.links.addr[0])
		json_kv_str(&w, "new_node_ip", ip);
	json_obj_close(&w);
	crypt_wipe(password, sizeof(password));
	snprintf(path, sizeof(path), JOIN_API_PATH "/nodes/%s", pv.node);
	rc = http_request(conf, host, HTTP_PORT, "POST", path, body.p, body.len, HTTP_TIMEOUT_MS,
	                  &res, msg, sizeof(msg));
	crypt_wipe(body.p, body.len);
	if (rc < 0) {
		fail("%s", msg);
		goto out;
	}
	if (res.status != 200) {
		api_error_msg(&res, msg, sizeof(msg));
		join_failed(msg);
		goto out;
	}
	if (json_parse(res.body.p, res.body.len, &d) < 0 ||
	    !(data = json_get(json_root(d), "data")) ||
	    !(conftext = json_get_str(data, "corosync_conf")) ||
	    !(keytext = json_get_str(data, "corosync_authkey")) ||
	    cluster_lib_b64_decode(keytext, strlen(keytext), &key) < 0) {
		join_failed("invalid answer (no corosync_conf or corosync_authkey)");
		goto out;
	}
	warn = json_get(data, "warnings");
	for (i = 0; i < json_len(warn); i++)
		if (json_as_str(json_at(warn, i), NULL))
			printf("cluster: %s\n", json_as_str(json_at(warn, i), NULL));
	printf("Join request OK, finishing setup locally\n");
	fflush(stdout);

	/* finish_join */
	if (backup_tree() < 0)
		goto out;
	host_path(path, sizeof(path), "/etc/corosync");
	path_mkdirs(path, 0755);
	host_path(path, sizeof(path), "/etc/corosync/authkey");
	unlink(path);
	rc = path_write_atomic(path, key.p, key.len, 0400);
	if (rc < 0) {
		fail("unable to write '%s': %s", path, cfs_strerror(rc));
		goto out;
	}
	if (write_host_conf(conftext, strlen(conftext)) < 0)
		goto out;
	printf("stopping pve-cluster service\n");
	fflush(stdout);
	buf_reset(&body);
	buf_put_le32(&body, PVECM_RELOAD_JOIN);
	rc = ipc_call(pv.c, PVECM_OP_RELOAD, body.p, body.len, NULL);
	if (rc < 0) {
		fail("cfsd refused to reload: %s", cfs_strerror(rc));
		/* back to where we were: a standalone node */
		host_path(path, sizeof(path), "/etc/corosync/authkey");
		unlink(path);
		host_path(path, sizeof(path), "/etc/corosync/corosync.conf");
		unlink(path);
		goto out;
	}
	printf("waiting for quorum...");
	fflush(stdout);
	if (wait_daemon(true, 60) < 0) {
		printf("\n");
		fail("timeout waiting for quorum");
		goto out;
	}
	printf("OK\n");
	fflush(stdout);
	/* the tree arrives with the cluster's state: wait for the CA */
	for (i = 0; i < 100 && !tree_exists("pve-root-ca.pem"); i++)
		usleep(100 * 1000);
	if (conf_local_addr(node_ip, sizeof(node_ip)) < 0)
		snprintf(node_ip, sizeof(node_ip), "%s", o.links.addr[0] ? o.links.addr[0] : ip);
	if (gen_local_dirs(pv.node) < 0 || gen_node_cert(node_ip, true, &made) < 0)
		goto out;
	printf("generated new node certificate, restart pveproxy and pvedaemon services\n");
	printf("successfully added node '%s' to cluster.\n", pv.node);
	ret = 0;
out:
	json_doc_free(d);
	buf_free(&res.body);
	buf_free(&body);
	if (key.p)
		crypt_wipe(key.p, key.len);
	buf_free(&key);
	tls_conf_free(conf);
	return ret;
}

/* ---------------------------------------------------------------- addnode, delnode */

static const char addnode_usage[] =
        "usage: pvecm addnode NODE [--nodeid N] [--votes N] [--link0 ADDR] ...\n"
        "                     [--new_node_ip IP] [--force] [--root DIR]\n"
        "\n"
        "Add NODE to the cluster's corosync.conf (run on a member, needs quorum):\n"
        "the lowest free node id unless given, one vote unless given.\n";

static int cmd_addnode(int argc, char **argv)
{
	const char *addr[COROSYNC_CONF_LINKS] = { 0 };
	char err[COROSYNC_CONF_ERR_MAX], p[CFS_PATH_MAX];
	struct buf cur = { 0 }, next = { 0 }, forced = { 0 };
	const char *node;
	struct opts o;
	uint32_t id;
	unsigned i;
	int rc;

	PARSE_OR_RETURN(argc, argv, addnode_usage, &o, 1);
	node = argv[optind];
	if (start(true) < 0 || need_cluster_conf() < 0 || need_quorum() < 0)
		return 1;
	for (i = 0; i < COROSYNC_CONF_LINKS; i++)
		addr[i] = o.links.addr[i];
	if (!addr[0]) {
		if (!o.new_node_ip)
			return fail("no links and no fallback ip (new_node_ip) given, cannot join "
			            "cluster");
		addr[0] = o.new_node_ip;
	}
	rc = tree_read("corosync.conf", &cur);
	if (rc < 0) {
		buf_free(&cur);
		return fail("unable to read '/etc/pve/corosync.conf' - %s", cfs_strerror(rc));
	}
	id = o.nodeid;
	if (o.force) {

		rc = cluster_lib_force_node((const char *)cur.p, cur.len, node, o.nodeid,
		                            o.votes_set ? o.votes : 1, &forced, &id, err,
		                            sizeof(err));
		if (rc < 0) {
			buf_free(&cur);
			buf_free(&forced);
			return fail("%s", err);
		}
		if (rc == 1) {
			fprintf(stderr, "%s\n", err);
			buf_reset(&cur);
			buf_put(&cur, forced.p, forced.len);
		}
	}
	rc = cluster_lib_addnode((const char *)cur.p, cur.len, node, id, o.votes_set ? o.votes : 1,
	                         addr, &next, &id, err, sizeof(err));
	buf_free(&cur);
	if (rc < 0) {
		buf_free(&next);
		return fail("%s", err);
	}
	if (mkdir_node(node, "") < 0 || mkdir_node(node, "/qemu-server") < 0 ||
	    mkdir_node(node, "/lxc") < 0 || mkdir_node(node, "/openvz") < 0 ||
	    mkdir_node(node, "/priv") < 0) {
		buf_free(&next);
		return 1;
	}
	snprintf(p, sizeof(p), "corosync.conf");
	/* --force: the removal of the old entry is a membership step of its own */
	rc = forced.len ? tree_put(p, forced.p, forced.len) : 0;
	if (rc == 0)
		rc = tree_put(p, next.p, next.len);
	buf_free(&forced);
	buf_free(&next);
	return rc < 0;
}

static const char delnode_usage[] = "usage: pvecm delnode NODE [--root DIR]\n"
                                    "\n"
                                    "Remove NODE (its name or a link address) from the "
                                    "cluster (needs quorum).\n"
                                    "Its directory nodes/NODE stays.\n";

static int cmd_delnode(int argc, char **argv)
{
	char err[COROSYNC_CONF_ERR_MAX], name[CFS_NAME_MAX + 1];
	struct buf cur = { 0 }, next = { 0 };
	const char *who;
	struct opts o;
	int rc;

	PARSE_OR_RETURN(argc, argv, delnode_usage, &o, 1);
	who = argv[optind];
	if (start(true) < 0 || need_cluster_conf() < 0)
		return 1;
	if (!strcmp(who, pv.node))
		return fail("Cannot delete myself from cluster!");
	if (need_quorum() < 0)
		return 1;
	rc = tree_read("corosync.conf", &cur);
	if (rc < 0) {
		buf_free(&cur);
		return fail("unable to read '/etc/pve/corosync.conf' - %s", cfs_strerror(rc));
	}
	rc = cluster_lib_delnode((const char *)cur.p, cur.len, who, &next, name, sizeof(name), err,
	                         sizeof(err));
	buf_free(&cur);
	if (rc == 0 && !strcmp(name, pv.node))
		rc = -EINVAL, snprintf(err, sizeof(err), "Cannot delete myself from cluster!");
	if (rc < 0) {
		buf_free(&next);
		return fail("%s", err);
	}
	rc = tree_put("corosync.conf", next.p, next.len);
	buf_free(&next);
	return rc < 0;
}

/* ---------------------------------------------------------------- leave */

static const char leave_usage[] =
        "usage: pvecm leave [--force] [--root DIR]\n"
        "\n"
        "This node leaves the cluster: it is removed from corosync.conf (needs\n"
        "quorum; --force leaves without, the others keep it in their nodelist),\n"
        "its host corosync.conf and authkey are removed, and cfsd goes back to\n"
        "local mode with the files it holds.\n";

static int cmd_leave(int argc, char **argv)
{
	struct buf b = { 0 };
	struct opts o;
	int rc;

	PARSE_OR_RETURN(argc, argv, leave_usage, &o, 0);
	if (start(true) < 0 || need_cluster_conf() < 0)
		return 1;
	if (!o.force && need_quorum() < 0)
		return 1;
	buf_put_le32(&b, o.force ? PVECM_LEAVE_FORCE : 0);
	rc = ipc_call(pv.c, PVECM_OP_LEAVE, b.p, b.len, NULL);
	buf_free(&b);
	if (rc == -EACCES)
		return fail(NO_QUORUM_MSG);
	if (rc < 0)
		return fail("unable to leave the cluster: %s", cfs_strerror(rc));
	if (wait_daemon(false, 30) < 0)
		return fail("cfsd did not come back in local mode within 30 s");
	rc = ipc_call_path(pv.c, IPC_OP_DELETE, 0, 0, "corosync.conf", NULL, NULL, 0, NULL);
	if (rc < 0 && rc != -ENOENT)
		return fail("unable to remove '/etc/pve/corosync.conf' - %s", cfs_strerror(rc));
	printf("node '%s' left the cluster; cfsd runs in local mode\n", pv.node);
	return 0;
}

/* ---------------------------------------------------------------- status, nodes, expected */

static int cmd_view(int argc, char **argv, bool status)
{
	static const char st_usage[] = "usage: pvecm status [--root DIR]\n"
	                               "\n"
	                               "Cluster, quorum and membership information (exit 2 when "
	                               "not quorate).\n";
	static const char nd_usage[] = "usage: pvecm nodes [--root DIR]\n"
	                               "\n"
	                               "The membership: node id, votes, name.\n";
	struct quorum_view_node mem[VIEW_NODES_MAX];
	struct corosync_conf *conf = NULL;
	struct quorum_view v = { 0 };
	struct json_doc *d = NULL;
	const struct json_val *root, *nodes, *n;
	struct buf b = { 0 }, out = { 0 };
	char date[64];
	time_t now = time(NULL);
	size_t i, k;
	struct opts o;
	int rc, ret = 1;

	PARSE_OR_RETURN(argc, argv, status ? st_usage : nd_usage, &o, 0);
	if (start(false) < 0 || need_cluster_conf() < 0)
		return 1;
	rc = cluster_info(&d);
	if (rc < 0 || !jint(json_root(d), "cluster")) {
		fail("Cannot initialize CMAP service");
		goto out;
	}
	if (tree_read("corosync.conf", &b) == 0)
		corosync_conf_parse((const char *)b.p, b.len, "corosync.conf", 0, &conf, NULL, 0);
	if (conf) {
		v.cluster_name = corosync_conf_get(conf, "totem.cluster_name");
		v.config_version = corosync_conf_get(conf, "totem.config_version");
		v.transport = corosync_conf_get(conf, "totem.transport");
		v.secauth = corosync_conf_get(conf, "totem.secauth");
		v.provider = corosync_conf_get(conf, "quorum.provider");
	}
	root = json_root(d);
	ctime_r(&now, date);
	v.date = date;
	v.nodeid = (uint32_t)jint(root, "nodeid");
	v.ring_id = json_get_str(root, "ring_id");
	v.quorate = jint(root, "quorate") != 0;
	v.expected = (uint32_t)jint(root, "expected");
	v.highest_expected = (uint32_t)jint(root, "highest_expected");
	v.total_votes = (uint32_t)jint(root, "total_votes");
	v.quorum = (uint32_t)jint(root, "quorum");
	v.flags = (uint32_t)jint(root, "flags");
	nodes = json_get(root, "nodes");
	for (i = 0, k = 0; i < json_len(nodes) && k < ARRAY_SIZE(mem); i++) {
		n = json_at(nodes, i);
		if (!jint(n, "online"))
			continue;
		mem[k].nodeid = (uint32_t)jint(n, "nodeid");
		mem[k].votes = (uint32_t)jint(n, "votes");
		mem[k].name = json_get_str(n, status ? "addr" : "name");
		if (!mem[k].name)
			mem[k].name = json_get_str(n, "name");
		if (!mem[k].name)
			mem[k].name = "";
		k++;
	}
	/* membership in node id order */
	for (i = 1; i < k; i++) {
		struct quorum_view_node t = mem[i];
		size_t j = i;

		while (j && mem[j - 1].nodeid > t.nodeid) {
			mem[j] = mem[j - 1];
			j--;
		}
		mem[j] = t;
	}
	v.members = mem;
	v.n_members = k;
	if (status) {
		quorum_render_pvecm_status(&v, &out);
		ret = quorum_status_exit(&v);
	} else {
		quorum_render_nodes(&v, &out);
		ret = 0;
	}
	fwrite(out.p, 1, out.len, stdout);
out:
	corosync_conf_free(conf);
	json_doc_free(d);
	buf_free(&b);
	buf_free(&out);
	return ret;
}

static int cmd_expected(int argc, char **argv)
{
	static const char u[] = "usage: pvecm expected N [--root DIR]\n"
	                        "\n"
	                        "Tell the cluster to expect N votes (corosync-quorumtool -e N).\n";
	struct buf b = { 0 };
	struct opts o;
	uint32_t n;
	int rc;

	PARSE_OR_RETURN(argc, argv, u, &o, 1);
	if (quorum_parse_expected(argv[optind], &n) < 0)
		return fail(QUORUM_EXPECTED_INVALID_MSG);
	if (start(false) < 0 || need_cluster_conf() < 0)
		return 1;
	buf_put_le32(&b, n);
	rc = ipc_call(pv.c, PVECM_OP_EXPECTED, b.p, b.len, NULL);
	buf_free(&b);
	if (rc == -EINVAL)
		return fail("Unable to set expected votes: CS_ERR_INVALID_PARAM");
	if (rc == -ENOTCONN || rc == -EOPNOTSUPP)
		return fail("Unable to set expected votes: CS_ERR_NOT_EXIST (cfsd runs in local "
		            "mode)");
	if (rc < 0)
		return fail("Unable to set expected votes: %s", cfs_strerror(rc));
	return 0;
}

/* ---------------------------------------------------------------- small ones */

static int cmd_keygen(int argc, char **argv)
{
	static const char u[] = "usage: pvecm keygen FILE\n"
	                        "\n"
	                        "Write a new corosync authkey (256 random bytes, mode 0400) to "
	                        "FILE.\n";
	char dir[CFS_PATH_MAX], *slash;
	struct opts o;
	const char *f;
	int rc;

	PARSE_OR_RETURN(argc, argv, u, &o, 1);
	f = argv[optind];
	if (geteuid() != 0)
		return fail("Error: Authorization key must be generated as root user.");
	if (access(f, F_OK) == 0)
		return fail("key file '%s' already exists", f);
	snprintf(dir, sizeof(dir), "%s", f);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		rc = path_mkdirs(dir, 0755);
		if (rc < 0)
			return fail("unable to create directory '%s' - %s", dir, cfs_strerror(rc));
	}
	printf("Corosync Cluster Engine Authentication key generator.\n");
	printf("Gathering 2048 bits for key from /dev/urandom.\n");
	printf("Writing corosync key to %s.\n", f);
	rc = write_authkey(f);
	if (rc < 0)
		return fail("unable to write '%s' - %s", f, cfs_strerror(rc));
	return 0;
}

static int cmd_updatecerts(int argc, char **argv)
{
	static const char u[] =
	        "usage: pvecm updatecerts [--force] [--silent] [--root DIR]\n"
	        "\n"
	        "Make what is missing: node directories, base directories, the cluster CA\n"
	        "and ticket key pair (standalone), the node key and certificate (a new\n"
	        "certificate with --force, or when it does not verify).  Needs quorum.\n";
	char ip[INET6_ADDRSTRLEN];
	struct opts o;
	bool made;

	PARSE_OR_RETURN(argc, argv, u, &o, 0);
	if (start(true) < 0)
		return 1;
	if (quorate(NULL) == 0) {
		if (o.silent)
			return 0;
		return fail("no quorum - unable to update files");
	}
	if (conf_local_addr(ip, sizeof(ip)) < 0 && local_node_ip(ip, sizeof(ip)) < 0)
		return fail("unable to get the IP address of node '%s'", pv.node);
	if (gen_local_dirs(pv.node) < 0 || gen_cluster_files() < 0 ||
	    gen_node_cert(ip, o.force, &made) < 0)
		return 1;
	if (made && !o.silent)
		printf("generated new node certificate, restart pveproxy and pvedaemon services\n");
	return 0;
}

static int cmd_token(int argc, char **argv)
{
	static const char u[] = "usage: pvecm token [--ttl SECONDS] [--root DIR]\n"
	                        "\n"
	                        "Print a new single-use join token for `pvecm add --token`, valid\n"
	                        "for SECONDS (default 3600).  Run it on a member.\n";
	struct buf b = { 0 }, t = { 0 };
	struct opts o;
	int rc;

	PARSE_OR_RETURN(argc, argv, u, &o, 0);
	if (start(false) < 0 || need_cluster_conf() < 0)
		return 1;
	buf_put_le32(&b, o.ttl);
	rc = ipc_call(pv.c, PVECM_OP_TOKEN, b.p, b.len, &t);
	buf_free(&b);
	if (rc == -EACCES)
		return fail(NO_QUORUM_MSG);
	if (rc < 0) {
		buf_free(&t);
		return fail("unable to create a join token: %s", cfs_strerror(rc));
	}
	printf("%.*s\n", (int)t.len, (const char *)t.p);
	crypt_wipe(t.p, t.len);
	buf_free(&t);
	return 0;
}

static int cmd_apiver(int argc, char **argv)
{
	static const char u[] = "usage: pvecm apiver\n\nPrint the cluster join API version.\n";
	struct opts o;

	PARSE_OR_RETURN(argc, argv, u, &o, 0);
	printf("1\n");
	return 0;
}

/* ---------------------------------------------------------------- main */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "add", cmd_add },         { "addnode", cmd_addnode },
	{ "apiver", cmd_apiver },   { "create", cmd_create },
	{ "delnode", cmd_delnode }, { "expected", cmd_expected },
	{ "keygen", cmd_keygen },   { "leave", cmd_leave },
	{ "token", cmd_token },     { "updatecerts", cmd_updatecerts },
};

static int cmd_status(int argc, char **argv)
{
	return cmd_view(argc, argv, true);
}

static int cmd_nodes(int argc, char **argv)
{
	return cmd_view(argc, argv, false);
}

int pvecm_main(int argc, char **argv)
{
	char **sub;
	const char *cmd = NULL;
	int i, n = 0, rc;
	int (*fn)(int, char **) = NULL;
	size_t k;

	sub = xcalloc((size_t)argc + 1, sizeof(*sub));
	sub[n++] = argv[0];
	for (i = 1; i < argc; i++) {
		if (!cmd && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ||
		             !strcmp(argv[i], "help"))) {
			fputs(usage, stdout);
			free(sub);
			return 0;
		}
		if (!cmd && (!strcmp(argv[i], "--root") || !strcmp(argv[i], "-root")) &&
		    i + 1 < argc) {
			sub[n++] = argv[i++];
			sub[n++] = argv[i];
			continue;
		}
		if (!cmd && argv[i][0] != '-') {
			cmd = argv[i];
			continue;
		}
		sub[n++] = argv[i];
	}
	if (!cmd) {
		free(sub);
		return cli_usage(usage);
	}
	for (k = 0; k < ARRAY_SIZE(cmds); k++)
		if (!strcmp(cmd, cmds[k].name))
			fn = cmds[k].fn;
	if (!strcmp(cmd, "status"))
		fn = cmd_status;
	else if (!strcmp(cmd, "nodes"))
		fn = cmd_nodes;
	if (!fn) {
		fprintf(stderr, "unknown command 'pvecm %s'\n", cmd);
		free(sub);
		return cli_usage(usage);
	}
	rc = fn(n, sub);
	fflush(stdout);
	disconnect();
	free(sub);
	return rc;
}
