/* applets/cfs_mv.c - rename a file or directory of the cluster tree
 * SPDX-License-Identifier: MIT
 *
 * One replicated rename: the pmxcfs rules decide (a VM config may move
 * between nodes/<a>/qemu-server and nodes/<b>/qemu-server, lock
 * directories may not be renamed, ...).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/util.h"

static const char usage[] =
        "usage: cfs-mv [--root DIR] SRC DST\n"
        "\n"
        "Rename SRC to DST in the cluster tree (DST is the new name, not a\n"
        "directory to move into).  Exit status 1 on failure, 2 on a usage error.\n"
        "\n"
        "  --root DIR  the daemon's root prefix (default $CFS_ROOT, else /)\n"
        "  -h          this help\n";

int cfs_mv_main(int argc, char **argv)
{
	char from[CFS_PATH_MAX], to[CFS_PATH_MAX];
	struct ipc_conn *c;
	int rc;

	rc = cfs_client_opts(argc, argv, usage);
	if (rc >= 0)
		return rc;
	if (argc - optind != 2)
		return cli_usage(usage);
	if (cfs_client_canon(argv[optind], from) < 0 || cfs_client_canon(argv[optind + 1], to) < 0)
		return 1;
	if (!*from || !*to) {
		cli_warn("%s: %s", *from ? to : from, cfs_strerror(-EACCES));
		return 1;
	}
	if (cfs_client_connect(&c) < 0)
		return 1;
	rc = ipc_call_path(c, IPC_OP_RENAME, 0, 0, from, to, NULL, 0, NULL);
	if (rc < 0)
		cli_warn("%s -> %s: %s", from, to, cfs_strerror(rc));
	ipc_close(c);
	return rc < 0;
}
