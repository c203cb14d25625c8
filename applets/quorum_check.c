/* applets/quorum_check.c - exit 0 if this node is quorate
 * SPDX-License-Identifier: MIT
 *
 * For scripts and boot ordering: asks the local cfsd for its STATUS.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/buf.h"
#include "core/util.h"

static const char usage[] = "usage: quorum-check [-q] [-w SECONDS] [--root DIR]\n"
                            "\n"
                            "Exit status: 0 this node is quorate, 1 it is not, 2 cfsd is\n"
                            "unreachable or a usage error.\n"
                            "\n"
                            "  -q          quiet: print nothing\n"
                            "  -w SECONDS  wait up to SECONDS for quorum (and for cfsd to answer)\n"
                            "  --root DIR  the daemon's root prefix (default $CFS_ROOT, else /)\n"
                            "  -h          this help\n";

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 0 quorate, 1 not, 2 unreachable; *why gets the transport error */
static int ask(int *why)
{
	struct buf st = { 0 };
	struct ipc_conn *c;
	int rc;

	rc = ipc_connect(cfs_client_sock(), 2000, &c);
	if (rc == 0) {
		rc = ipc_call(c, IPC_OP_CLUSTER, NULL, 0, &st); /* cheap: no tree digest */
		ipc_close(c);
	}
	*why = rc;
	if (rc < 0) {
		buf_free(&st);
		return 2;
	}
	rc = strstr((const char *)st.p, "\"quorate\":1") ? 0 : 1;
	buf_free(&st);
	return rc;
}

int quorum_check_main(int argc, char **argv)
{
	static const struct option lo[] = { CFS_CLIENT_LONGOPTS, { NULL, 0, NULL, 0 } };
	bool quiet = false;
	double wait_sec = 0, deadline;
	char *end;
	int opt, ret, st, why;

	while ((opt = getopt_long(argc, argv, "hqw:", lo, NULL)) != -1) {
		switch (opt) {
		case 'q':
			quiet = true;
			break;
		case 'w':
			wait_sec = strtod(optarg, &end);
			if (*end || end == optarg || wait_sec < 0 || wait_sec > 86400)
				return cli_usage(usage);
			break;
		default:
			if ((ret = cfs_client_opt(opt, usage)) >= 0)
				return ret;
		}
	}
	if (optind != argc)
		return cli_usage(usage);
	deadline = now_sec() + wait_sec;
	while ((st = ask(&why)) != 0 && now_sec() + 0.1 < deadline)
		usleep(100000);
	if (!quiet) {
		if (st == 2)
			cli_warn("cannot reach cfsd at %s: %s", cfs_client_sock(),
			         cfs_strerror(why));
		else
			puts(st == 0 ? "quorate" : "not quorate");
	}
	return st;
}
