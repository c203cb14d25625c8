/* applets/cfs_mkdir.c - make directories in the cluster tree
 * SPDX-License-Identifier: MIT
 *
 * Under priv/lock/ a mkdir acquires a cluster lock: it fails with "File
 * exists" while another holder has it (without -p).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/buf.h"
#include "core/util.h"

static const char usage[] =
        "usage: cfs-mkdir [-p] [--root DIR] PATH...\n"
        "\n"
        "Make directories in the cluster tree.  Exit status 1 if any PATH\n"
        "failed, 2 on a usage error.\n"
        "\n"
        "  -p          make parents as needed; no error if PATH is a directory\n"
        "  --root DIR  the daemon's root prefix (default $CFS_ROOT, else /)\n"
        "  -h          this help\n";

/* 0 if path is a directory now (made or already there) */
static int mkdir_one(struct ipc_conn *c, const char *path, bool parents)
{
	struct buf st = { 0 };
	struct ipc_stat s;
	struct rd r;
	int rc;

	rc = ipc_call_path(c, IPC_OP_MKDIR, 0, 0, path, NULL, NULL, 0, NULL);
	if (rc != -EEXIST || !parents)
		return rc;
	rc = ipc_call_path(c, IPC_OP_STAT, 0, 0, path, NULL, NULL, 0, &st);
	if (rc == 0) {
		r = rd_init(st.p, st.len);
		rc = ipc_stat_decode(&r, &s);
		if (rc == 0 && s.type != IPC_T_DIR)
			rc = -EEXIST;
	}
	buf_free(&st);
	return rc;
}

static int mkdir_p(struct ipc_conn *c, char *path)
{
	char *slash;
	int rc;

	for (slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = 0;
		rc = mkdir_one(c, path, true);
		*slash = '/';
		if (rc < 0) {
			*slash = 0;
			return cfs_client_err(path, rc);
		}
	}
	return cfs_client_err(path, mkdir_one(c, path, true));
}

int cfs_mkdir_main(int argc, char **argv)
{
	static const struct option lo[] = { CFS_CLIENT_LONGOPTS, { NULL, 0, NULL, 0 } };
	char path[CFS_PATH_MAX];
	struct ipc_conn *c;
	bool parents = false;
	int opt, ret, i, rc, status = 0;

	while ((opt = getopt_long(argc, argv, "hp", lo, NULL)) != -1) {
		switch (opt) {
		case 'p':
			parents = true;
			break;
		default:
			if ((ret = cfs_client_opt(opt, usage)) >= 0)
				return ret;
		}
	}
	if (optind == argc)
		return cli_usage(usage);
	if (cfs_client_connect(&c) < 0)
		return 1;
	for (i = optind; i < argc; i++) {
		if (cfs_client_canon(argv[i], path) < 0) {
			status = 1;
			continue;
		}
		if (!*path) {
			if (!parents)
				status = cfs_client_err(path, -EEXIST) < 0;
			continue;
		}
		if (parents)
			rc = mkdir_p(c, path);
		else
			rc = cfs_client_err(path, mkdir_one(c, path, false));
		if (rc < 0)
			status = 1;
	}
	ipc_close(c);
	return status;
}
