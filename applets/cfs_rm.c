/* applets/cfs_rm.c - remove files or empty directories of the cluster tree
 * SPDX-License-Identifier: MIT
 */
#include <getopt.h>
#include <stdio.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/util.h"

static const char usage[] = "usage: cfs-rm [--root DIR] PATH...\n"
                            "\n"
                            "Remove files or empty directories of the cluster tree.\n"
                            "Exit status 1 if any PATH failed, 2 on a usage error.\n"
                            "\n"
                            "  --root DIR  the daemon's root prefix (default $CFS_ROOT, else /)\n"
                            "  -h          this help\n";

int cfs_rm_main(int argc, char **argv)
{
	char path[CFS_PATH_MAX];
	struct ipc_conn *c;
	int i, rc, status = 0;

	rc = cfs_client_opts(argc, argv, usage);
	if (rc >= 0)
		return rc;
	if (optind == argc)
		return cli_usage(usage);
	if (cfs_client_connect(&c) < 0)
		return 1;
	for (i = optind; i < argc; i++) {
		if (cfs_client_canon(argv[i], path) < 0 ||
		    cfs_client_err(path, ipc_call_path(c, IPC_OP_DELETE, 0, 0, path, NULL, NULL, 0,
		                                       NULL)) < 0)
			status = 1;
	}
	ipc_close(c);
	return status;
}
