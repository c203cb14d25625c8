/* applets/cfsd/cfsd.c - the cluster file system daemon: options, paths,
 * daemonizing, signals, shutdown
 * SPDX-License-Identifier: MIT
 *
 * Cluster mode when <root>/etc/corosync/corosync.conf exists (and -l is
 * not given): the node with --name (default: the short host name) in its
 * nodelist replicates the tree with the others (store_glue.c, node.c).
 * Otherwise local mode (as pmxcfs -l): a standalone node, always quorate.
 * Every path is below the root prefix (--root DIR, else $CFS_ROOT, else /):
 *	<root>/etc/corosync/       corosync.conf and authkey (cluster mode)
 *	<root>/var/lib/cfsd/       journal, snapshots, epoch, the single-instance lock
 *	<root>/run/cfsd/cfsd.sock  the IPC socket
 *	<root>/run/cfsd/cfsd.pid   the pid file
 *
 * Start-up: configuration -> lock + recover (journal_open) -> IPC socket ->
 * pid file -> ready.  Without -f the process forks first; the parent waits
 * until the child is serving (or has failed, having said why on stderr)
 * and exits 0 (or 1).  Once ready the daemon logs to syslog.
 *
 * SIGTERM/SIGINT: stop accepting, commit and answer what is pending,
 * wait for a running compaction, sync, close, remove the socket and the
 * pid file.  SIGHUP is ignored (a configuration change arrives through
 * the tree, or with `pvecm` and IPC_OP_RELOAD, which restarts cfsd in
 * place with execv()).  SIGPIPE is ignored; sockets use MSG_NOSIGNAL.
 */
#define LOG_TAG "main"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "applets/applets.h"
#include "applets/cfsd/cfsd.h"
#include "applets/cfsd/cluster.h"
#include "applets/cli.h"
#include "core/log.h"
#include "core/path.h"
#include "store/tree.h"

#define SPIN_DEFAULT STR(CFG_CFSD_SPIN_US)

static const char usage[] =
        "usage: cfsd [-f] [-d] [-l] [--name NAME] [--root DIR] [--gid GID]\n"
        "            [--write-timeout SECONDS] [--spin-us MICROSECONDS]\n"
        "            [--mount DIR | --no-mount]\n"
        "\n"
        "The cluster file system daemon.  With <root>/etc/corosync/corosync.conf\n"
        "it is a cluster node (the node named NAME in its nodelist) and keeps the\n"
        "tree identical on every node; without it, or with -l, it runs in local\n"
        "mode (as pmxcfs -l: one node, always quorate).  The tree is kept in a\n"
        "journal under <root>/var/lib/cfsd and served on <root>/run/cfsd/cfsd.sock.\n"
        "\n"
        "  -f, --foreground  stay in the foreground, log to stderr\n"
        "  -d, --debug       debug logging\n"
        "  -l, --local       local mode even if a corosync.conf exists\n"
        "  --name NAME       this node's name (default: the short host name)\n"
        "  --root DIR        put every path below DIR (default $CFS_ROOT, else /);\n"
        "                    the owner of DIR gets root's rights on the socket\n"
        "  --gid GID         group (name or number) with read access to non-private\n"
        "                    paths (default www-data)\n"
        "  --write-timeout SECONDS\n"
        "                    a write not committed within this time fails with\n"
        "                    'Connection timed out' (it may still be applied);\n"
        "                    default 5\n"
        "  --spin-us MICROSECONDS\n"
        "                    after a client's change, poll for this long instead of\n"
        "                    sleeping, and ask that idle processors stay awake\n"
        "                    (/dev/cpu_dma_latency): lower latency, processor time\n"
        "                    while a client writes; 0: never; default " SPIN_DEFAULT "\n"
        "  --mount DIR       mount the tree there (default <root>/etc/pve, made if\n"
        "                    missing; a dead mount of an earlier cfsd is replaced)\n"
        "  --no-mount        no FUSE mount (the cfs-* applets work without it)\n"
        "  -h, --help        this help\n";

static struct cfsd cfsd; /* the applet's one state struct */

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Polling.  While the ev_idle watcher is active libev polls with a zero
 * timeout, so the acknowledgement of a follower or the client's next
 * request finds cfsd running instead of on a halted processor (waking one
 * takes 30-70 us on this virtual machine; three-node writes with one
 * client: +13%).  Started by a client's change when no other change of a
 * client is in flight, stopped spin_us later or as soon as there are two:
 * with several clients the loop has work, and a polling process would
 * only take a processor from the others (8 clients: -5% when it did).
 *
 * For the same window cfsd asks the kernel, through PM QoS
 * (/dev/cpu_dma_latency, root only), for a wake-up latency of 0: idle
 * processors then poll in the kernel instead of halting or entering a
 * sleep state, and the follower or client woken on one of them runs at
 * once.  Unlike cfsd's own polling this takes no processor from anybody:
 * the idle loop gives way to any task.  Three nodes on this 2-processor
 * virtual machine, A/B: 1 client 2 790 -> 3 200/s, p50 0.342 -> 0.294 ms;
 * 8 clients 9 220 -> 9 890/s.  Opening the device sets nothing (a request
 * starts at the default, "no limit"); closing it, or exiting, withdraws
 * the request. */
static void wake_latency(struct cfsd *d, int32_t us)
{
	if (d->qos_fd >= 0 && write(d->qos_fd, &us, sizeof(us)) != sizeof(us)) {
		log_warn("/dev/cpu_dma_latency: %s; polling without it", strerror(errno));
		close(d->qos_fd);
		d->qos_fd = -1;
	}
}

static void spin_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct cfsd *d = container_of(w, struct cfsd, spin);

	(void)revents;
	if (mono_us() >= d->spin_until || d->inflight > 1) {
		ev_idle_stop(loop, w);
		wake_latency(d, -1); /* PM_QOS_DEFAULT_VALUE: no limit */
	}
}

void cfsd_spin(struct cfsd *d)
{
	if (d->spin_us <= 0 || d->inflight > 0)
		return;
	d->spin_until = mono_us() + (uint64_t)d->spin_us;
	if (!ev_is_active(&d->spin)) {
		ev_idle_start(d->loop, &d->spin);
		wake_latency(d, 0);
	}
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct cfsd *d = &cfsd;

	(void)revents;
	log_info("received signal %d, shutting down", w->signum);
	d->stopping = true;
	ipc_server_stop_accepting(d->ipc);
	ev_break(loop, EVBREAK_ALL);
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	log_info("SIGHUP: nothing to reload");
}

static int set_paths(struct cfsd *d)
{
	char real[PATH_MAX];
	const char *root = cli_root();
	struct stat st;

	if (*root) {
		if (!realpath(root, real)) {
			cli_warn("%s: %s", root, strerror(errno));
			return -1;
		}
		if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
			cli_warn("%s: %s", real, strerror(S_ISDIR(st.st_mode) ? errno : ENOTDIR));
			return -1;
		}
		d->root_uid = st.st_uid;
		if (!strcmp(real, "/"))
			real[0] = 0;
	} else {
		real[0] = 0;
		d->root_uid = 0;
	}
	if (path_fmt(d->root, sizeof(d->root), "%s", real) < 0 ||
	    path_fmt(d->state_dir, sizeof(d->state_dir), "%s/var/lib/cfsd", real) < 0 ||
	    path_fmt(d->run_dir, sizeof(d->run_dir), "%s/run/cfsd", real) < 0 ||
	    path_fmt(d->sock, sizeof(d->sock), "%s/cfsd.sock", d->run_dir) < 0 ||
	    path_fmt(d->pidfile, sizeof(d->pidfile), "%s/cfsd.pid", d->run_dir) < 0 ||
	    path_fmt(d->conf_path, sizeof(d->conf_path), "%s/etc/corosync/corosync.conf", real) <
	            0 ||
	    strlen(d->sock) >= 108) {
		cli_warn("%s: root path too long for the socket", real);
		return -1;
	}
	return 0;
}

static int set_gid(struct cfsd *d, const char *arg)
{
	struct group *gr;
	char *end;
	unsigned long v;

	if (!arg) {
		gr = getgrnam("www-data");
		if (gr) {
			d->ro_gid = gr->gr_gid;
			d->has_ro_gid = true;
		}
		return 0;
	}
	v = strtoul(arg, &end, 10);
	if (*arg && !*end) {
		d->ro_gid = (gid_t)v;
		d->has_ro_gid = true;
		return 0;
	}
	gr = getgrnam(arg);
	if (!gr) {
		cli_warn("--gid %s: no such group", arg);
		return -1;
	}
	d->ro_gid = gr->gr_gid;
	d->has_ro_gid = true;
	return 0;
}

static void default_name(struct cfsd *d)
{
	char host[256];
	char *dot;

	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = 0;
	dot = strchr(host, '.');
	if (dot)
		*dot = 0;
	host[sizeof(d->name) - 1] = 0; /* node names are short (LDH labels) */
	strcpy(d->name, host);
}

/* Fork; the parent waits for the child's "ready" byte and exits with
 * 0 (ready) or 1 (the child failed and said why on stderr).  Returns the
 * write end of the pipe in the child. */
static int daemonize(void)
{
	int pfd[2];
	pid_t pid;
	char ch;
	ssize_t n;

	if (pipe(pfd) < 0) {
		cli_warn("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		cli_warn("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(pfd[1]);
		do
			n = read(pfd[0], &ch, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 && ch == '1' ? 0 : 1);
	}
	close(pfd[0]);
	setsid();
	return pfd[1];
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

/* The pid file appears atomically (tmp + rename) but is not fsynced: it
 * lives in /run and means nothing after a reboot; the flock on the state
 * directory is what keeps a second cfsd out. */
static int write_pidfile(struct cfsd *d)
{
	char tmp[CFS_PATH_MAX], text[32];
	int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
	int fd, rc = 0;

	if (path_fmt(tmp, sizeof(tmp), "%s.tmp", d->pidfile) < 0)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n)
		rc = -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, d->pidfile) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static void other_pid(struct cfsd *d, char *dst, size_t size)
{
	char *text = NULL;
	size_t len;

	dst[0] = 0;
	if (path_read_file(d->pidfile, 64, &text, &len) == 0) {
		text[strcspn(text, "\n")] = 0;
		snprintf(dst, size, " (pid %s)", text);
	}
	free(text);
}

int cfsd_main(int argc, char **argv)
{
	enum {
		OPT_NAME = 0x100,
		OPT_ROOT,
		OPT_GID,
		OPT_WTIMEOUT,
		OPT_SPIN,
		OPT_MOUNT,
		OPT_NOMOUNT
	};
	static const struct option lo[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "local", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "gid", required_argument, NULL, OPT_GID },
		{ "write-timeout", required_argument, NULL, OPT_WTIMEOUT },
		{ "spin-us", required_argument, NULL, OPT_SPIN },
		{ "mount", required_argument, NULL, OPT_MOUNT },
		{ "no-mount", no_argument, NULL, OPT_NOMOUNT },
		{ NULL, 0, NULL, 0 },
	};
	struct cfsd *d = &cfsd;
	const char *gid_arg = NULL, *mount_arg = CFG_FEATURE_FUSE ? "" : NULL;
	struct ipc_server_cfg icfg;
	struct timespec t0, t1;
	int opt, rc, ready_fd = -1, status = 1;
	char other[64], *end;

	d->spin_us = CFG_CFSD_SPIN_US;
	while ((opt = getopt_long(argc, argv, "fdlh", lo, NULL)) != -1) {
		switch (opt) {
		case 'f':
			d->foreground = true;
			break;
		case 'd':
			log_level = LOG_LVL_DEBUG;
			break;
		case 'l':
			d->local = true;
			break;
		case OPT_NAME:
			if (!*optarg || strlen(optarg) >= sizeof(d->name) ||
			    !rules_node_name_ok(optarg, strlen(optarg))) {
				cli_warn("--name %s: not a valid node name", optarg);
				return 2;
			}
			strcpy(d->name, optarg);
			break;
		case OPT_ROOT:
			cli_root_set(optarg);
			break;
		case OPT_GID:
			gid_arg = optarg;
			break;
		case OPT_WTIMEOUT:
			d->write_timeout = strtod(optarg, &end);
			if (*end || end == optarg || d->write_timeout <= 0 ||
			    d->write_timeout > 3600) {
				cli_warn("--write-timeout %s: not a number of seconds (0..3600)",
				         optarg);
				return 2;
			}
			break;
		case OPT_SPIN:
			d->spin_us = strtol(optarg, &end, 10);
			if (*end || end == optarg || d->spin_us < 0 || d->spin_us > 100000) {
				cli_warn("--spin-us %s: not a number of microseconds (0..100000)",
				         optarg);
				return 2;
			}
			break;
		case OPT_MOUNT:
			if (!CFG_FEATURE_FUSE) {
				cli_warn(
				        "--mount: this cfsbox was built without FUSE (CONFIG_FEATURE_FUSE)");
				return 2;
			}
			if (!*optarg) {
				cli_warn("--mount: an empty path");
				return 2;
			}
			mount_arg = optarg;
			break;
		case OPT_NOMOUNT:
			mount_arg = NULL;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return cli_usage(usage);
		}
	}
	if (optind != argc)
		return cli_usage(usage);
	if (!d->name[0])
		default_name(d);
	if (set_paths(d) < 0 || set_gid(d, gid_arg) < 0)
		return 1;
	if (mount_arg &&
	    (*mount_arg ? path_fmt(d->mnt, sizeof(d->mnt), "%s", mount_arg)
	                : path_fmt(d->mnt, sizeof(d->mnt), "%s/etc/pve", d->root)) < 0) {
		cli_warn("--mount: path too long");
		return 1;
	}
	rc = path_mkdirs(d->run_dir, 0755);
	if (rc < 0) {
		cli_warn("%s: %s", d->run_dir, cfs_strerror(rc));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	if (!d->foreground) {
		ready_fd = daemonize();
		if (ready_fd < 0)
			return 1;
	}
	log_open("cfsd", false);
	d->starttime = (uint64_t)time(NULL);
	d->argv = argv; /* for a restart in place (IPC_OP_RELOAD) */
	d->loop = ev_default_loop(EVFLAG_AUTO);
	if (!d->loop) {
		cli_warn("cannot create the event loop");
		goto out;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = store_glue_open(d);
	if (rc == -EBUSY) {
		other_pid(d, other, sizeof(other));
		cli_warn("%s is locked: another cfsd is running on this root%s", d->state_dir,
		         other);
		goto out_store;
	}
	if (rc == -EINVAL)
		goto out_store; /* the configuration was refused, with a message */
	if (rc < 0) {
		cli_warn("%s: cannot open the journal: %s", d->state_dir, cfs_strerror(rc));
		goto out_store;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	icfg.path = d->sock;
	icfg.root_uid = d->root_uid;
	icfg.ro_gid = d->ro_gid;
	icfg.has_ro_gid = d->has_ro_gid;
	icfg.request = ipc_ops_request;
	icfg.ctx = d;
	rc = ipc_server_new(d->loop, &icfg, &d->ipc);
	if (rc < 0) {
		cli_warn("%s: %s", d->sock, cfs_strerror(rc));
		goto out_store;
	}
	rc = write_pidfile(d);
	if (rc < 0) {
		cli_warn("%s: %s", d->pidfile, cfs_strerror(rc));
		goto out_ipc;
	}
	ev_idle_init(&d->spin, spin_cb);
	d->qos_fd = -1;
	if (d->spin_us > 0) {
		d->qos_fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
		if (d->qos_fd < 0)
			log_debug("/dev/cpu_dma_latency: %s; polling without it", strerror(errno));
	}
	store_glue_start(d);
	clusterlog_start(d);
	cluster_start(d); /* join/API listener, host corosync.conf */
	fuse_ops_start(d);
	ev_signal_init(&d->sigterm, stop_cb, SIGTERM);
	ev_signal_init(&d->sigint, stop_cb, SIGINT);
	ev_signal_init(&d->sighup, hup_cb, SIGHUP);
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
	ev_signal_start(d->loop, &d->sighup);

	if (d->cluster)
		log_info("node %s: cluster '%s', node id %u, %zu nodes, transport %s", d->name,
		         d->cc.cluster_name, d->nodeid, d->cc.n_nodes,
		         d->cc.transport == CLUSTER_TRANSPORT_UDP ? "udp (multicast)" : "unicast");
	log_info("node %s: %s mode, %zu entries, %zu bytes, index %llu (%llu replayed in "
	         "%.1f ms), journal generation %llu, socket %s",
	         d->name, d->cluster ? "cluster" : "local", tree_count(rules_tree(d->rules)),
	         tree_bytes(rules_tree(d->rules)), (unsigned long long)d->applied,
	         (unsigned long long)d->replayed,
	         (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	         (unsigned long long)journal_gen(d->journal), d->sock);
	if (ready_fd >= 0) {
		log_open("cfsd", true);
		detach_stdio();
		(void)!write(ready_fd, "1", 1);
		close(ready_fd);
		ready_fd = -1;
	}

	ev_run(d->loop, 0);
	cluster_shutdown(d);

	store_glue_flush(d); /* answer what was committed before the signal */
	fuse_ops_stop(d);
	clusterlog_stop(d);
	ev_signal_stop(d->loop, &d->sigterm);
	ev_signal_stop(d->loop, &d->sigint);
	ev_signal_stop(d->loop, &d->sighup);
	if (d->qos_fd >= 0)
		close(d->qos_fd);
	status = 0;
	unlink(d->pidfile);
out_ipc:
	ipc_server_free(d->ipc);
	d->ipc = NULL;
out_store:
	store_glue_close(d);
	ev_loop_destroy(d->loop);
out:
	if (status == 0)
		log_info("node %s: stopped", d->name);
	if (ready_fd >= 0)
		close(ready_fd); /* the parent sees EOF and exits 1 */
	if (status == 0 && (d->restart & IPC_RELOAD_JOIN)) {
		/* joining: the tree comes from the cluster (pvecm made a backup) */
		char aside[CFS_PATH_MAX + 64];

		if (path_fmt(aside, sizeof(aside), "%s.replaced-%u", d->state_dir, d->epoch) < 0 ||
		    rename(d->state_dir, aside) < 0) {
			log_err("%s: cannot move it aside to join: %s", d->state_dir,
			        strerror(errno));
			return 1;
		}
		log_info("%s: moved aside to %s to join the cluster", d->state_dir, aside);
	}
	if (status == 0 && d->restart) {
		/* IPC_OP_RELOAD: start again, reading the configuration anew */
		log_info("node %s: restarting in place", d->name);
		execv("/proc/self/exe", d->argv);
		log_err("cannot restart: execv: %s", strerror(errno));
		return 1;
	}
	return status;
}
