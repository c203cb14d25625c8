/* applets/cfs_touch.c - set the mtime of entries of the cluster tree
 * SPDX-License-Identifier: MIT
 *
 * The mtime is also how cluster locks are handled (pmxcfs's utime): on a
 * lock directory priv/lock/NAME, a new mtime renews the lock (only its
 * holder's node may, and never backwards), and mtime 0 asks the cluster
 * to remove the lock if it has not changed for 120 s; that call itself
 * fails with "Permission denied", as in pmxcfs.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/util.h"

static const char usage[] =
        "usage: cfs-touch [-m EPOCH] [--root DIR] PATH...\n"
        "\n"
        "Set the modification time of existing files or directories of the\n"
        "cluster tree (they are not created).  On a lock directory below\n"
        "priv/lock/ a new time renews the lock, and -m 0 is an unlock request:\n"
        "the cluster removes the lock if it has not changed for 120 s, and the\n"
        "call itself reports 'Permission denied' (as utime does in pmxcfs).\n"
        "Exit status 1 if any PATH failed, 2 on a usage error.\n"
        "\n"
        "  -m EPOCH    this time (seconds since 1970) instead of now\n"
        "  --root DIR  the daemon's root prefix (default $CFS_ROOT, else /)\n"
        "  -h          this help\n";

static int touch_one(struct ipc_conn *c, const char *path, void *ctx)
{
	return cfs_client_err(path, ipc_call_path(c, IPC_OP_MTIME, 0, *(unsigned long long *)ctx,
	                                          path, NULL, NULL, 0, NULL));
}

int cfs_touch_main(int argc, char **argv)
{
	static const struct option lo[] = { CFS_CLIENT_LONGOPTS, { NULL, 0, NULL, 0 } };
	unsigned long long mtime = (unsigned long long)time(NULL);
	char *end;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "hm:", lo, NULL)) != -1) {
		switch (opt) {
		case 'm':
			errno = 0;
			mtime = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-' ||
			    mtime > 0xffffffffull) {
				cli_warn("-m %s: not a time in seconds since 1970", optarg);
				return 2;
			}
			break;
		default:
			if ((ret = cfs_client_opt(opt, usage)) >= 0)
				return ret;
		}
	}
	return cfs_client_each(argc, argv, usage, touch_one, &mtime);
}
