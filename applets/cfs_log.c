/* applets/cfs_log.c - write an entry into the cluster log
 * SPDX-License-Identifier: MIT
 *
 * What Proxmox's tools do through pmxcfs's LOG_CLUSTER_MSG (Perl
 * PVE::Cluster::log_msg), for scripts: the entry gets this node's name,
 * the time and cfs-log's pid, goes to every node, and shows in
 * .clusterlog (newest first, 50 entries) on each of them.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/buf.h"
#include "core/util.h"

static const char usage[] =
        "usage: cfs-log [-p PRIORITY] [-t TAG] [-u USER] [--root DIR] MESSAGE...\n"
        "\n"
        "Write MESSAGE (the arguments joined by spaces) into the cluster log,\n"
        "which every node shows in .clusterlog.  Exit status 1 if cfsd refused\n"
        "it, 2 on a usage error.\n"
        "\n"
        "  -p PRIORITY  emerg alert crit err warning notice info debug, or 0..7\n"
        "               (default info)\n"
        "  -t TAG       the program that logs (default cfs-log)\n"
        "  -u USER      who (default <your login>@pam, as Proxmox names users)\n"
        "  --root DIR   the daemon's root prefix (default $CFS_ROOT, else /)\n"
        "  -h           this help\n";

static int priority(const char *s)
{
	static const char *const names[] = { "emerg",   "alert",  "crit", "err",
		                             "warning", "notice", "info", "debug" };
	size_t i;

	if (s[0] >= '0' && s[0] <= '7' && !s[1])
		return s[0] - '0';
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcasecmp(s, names[i]))
			return (int)i;
	return -1;
}

static void put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	buf_put_le16(b, (uint16_t)n);
	buf_put(b, s, n);
}

int cfs_log_main(int argc, char **argv)
{
	static const struct option lo[] = { CFS_CLIENT_LONGOPTS, { NULL, 0, NULL, 0 } };
	const char *tag = "cfs-log", *user = NULL;
	char who[IPC_LOG_STR_MAX + 1];
	struct buf req = { 0 }, msg = { 0 };
	struct ipc_conn *c;
	int opt, ret, pri = 6, i, rc;

	while ((opt = getopt_long(argc, argv, "hp:t:u:", lo, NULL)) != -1) {
		switch (opt) {
		case 'p':
			pri = priority(optarg);
			if (pri < 0) {
				cli_warn("-p %s: not a priority (emerg..debug or 0..7)", optarg);
				return 2;
			}
			break;
		case 't':
			tag = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		default:
			if ((ret = cfs_client_opt(opt, usage)) >= 0)
				return ret;
		}
	}
	if (optind == argc)
		return cli_usage(usage);
	if (!user) {
		struct passwd *pw = getpwuid(getuid());

		snprintf(who, sizeof(who), "%s@pam", pw ? pw->pw_name : "root");
		user = who;
	}
	if (strlen(tag) > IPC_LOG_STR_MAX || strlen(user) > IPC_LOG_STR_MAX) {
		cli_warn("-t/-u: at most %d bytes", IPC_LOG_STR_MAX);
		return 2;
	}
	for (i = optind; i < argc; i++) {
		if (i > optind)
			buf_put_str(&msg, " ");
		buf_put_str(&msg, argv[i]);
	}
	if (msg.len > IPC_LOG_MSG_MAX) {
		cli_warn("the message is longer than %d bytes", IPC_LOG_MSG_MAX);
		buf_free(&msg);
		return 2;
	}
	buf_put_u8(&req, (uint8_t)pri);
	put_str(&req, user);
	put_str(&req, tag);
	buf_put(&req, msg.p, msg.len);
	buf_free(&msg);
	if (cfs_client_connect(&c) < 0) {
		buf_free(&req);
		return 1;
	}
	rc = ipc_call(c, IPC_OP_LOG, req.p, req.len, NULL);
	ipc_close(c);
	buf_free(&req);
	if (rc < 0) {
		cli_warn("cannot log: %s", cfs_strerror(rc));
		return 1;
	}
	return 0;
}
