/* applets/cfs_cat.c - print files of the cluster tree
 * SPDX-License-Identifier: MIT
 *
 * Asks the local cfsd over its IPC socket and never opens the journal.
 * The virtual files (.version, .members, .vmlist, .clusterlog) are read
 * the same way.
 */
#include <getopt.h>
#include <stdio.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/buf.h"
#include "core/util.h"

static const char usage[] =
        "usage: cfs-cat [--root DIR] PATH...\n"
        "\n"
        "Print files of the cluster tree to stdout (a leading '/' is accepted).\n"
        "Exit status 1 if any PATH failed, 2 on a usage error.\n"
        "\n"
        "  --root DIR  the daemon's root prefix (default $CFS_ROOT, else /)\n"
        "  -h          this help\n";

int cfs_cat_main(int argc, char **argv)
{
	char path[CFS_PATH_MAX];
	struct buf data = { 0 };
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
		if (cfs_client_canon(argv[i], path) < 0) {
			status = 1;
			continue;
		}
		rc = ipc_call_path(c, IPC_OP_READ, 0, 0, path, NULL, NULL, 0, &data);
		if (rc < 0) {
			cfs_client_err(path, rc);
			status = 1;
			continue;
		}
		fwrite(data.p, 1, data.len, stdout);
	}
	buf_free(&data);
	ipc_close(c);
	return status;
}
