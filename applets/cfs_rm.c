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

static int rm_one(struct ipc_conn *c, const char *path, void *ctx)
{
	(void)ctx;
	return cfs_client_err(path,
	                      ipc_call_path(c, IPC_OP_DELETE, 0, 0, path, NULL, NULL, 0, NULL));
}

int cfs_rm_main(int argc, char **argv)
{
	int rc = cfs_client_opts(argc, argv, usage);

	return rc >= 0 ? rc : cfs_client_each(argc, argv, usage, rm_one, NULL);
}
