/* applets/cfs_client.c - what the client applets share
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/path.h"
#include "core/util.h"

const char *cfs_client_sock(void)
{
	static char sock[CFS_PATH_MAX];

	cli_path(sock, sizeof(sock), IPC_SOCK_SUFFIX);
	return sock;
}

int cfs_client_connect(struct ipc_conn **out)
{
	int rc = ipc_connect(cfs_client_sock(), IPC_TIMEOUT_MS, out);

	if (rc < 0)
		cli_warn("cannot reach cfsd at %s: %s", cfs_client_sock(), cfs_strerror(rc));
	return rc;
}

int cfs_client_canon(const char *user, char *dst)
{
	int rc = path_canon(dst, CFS_PATH_MAX, user);

	if (rc < 0)
		cli_warn("%s: %s", user, cfs_strerror(rc));
	return rc;
}

int cfs_client_err(const char *path, int rc)
{
	if (rc < 0)
		cli_warn("%s: %s", *path ? path : "/", cfs_strerror(rc));
	return rc;
}

int cfs_client_opt(int opt, const char *usage)
{
	switch (opt) {
	case CFS_OPT_ROOT:
		cli_root_set(optarg);
		return -1;
	case 'h':
		fputs(usage, stdout);
		return 0;
	default:
		return cli_usage(usage);
	}
}

int cfs_client_opts(int argc, char **argv, const char *usage)
{
	static const struct option lo[] = { CFS_CLIENT_LONGOPTS, { NULL, 0, NULL, 0 } };
	int opt;

	int st;

	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1)
		if ((st = cfs_client_opt(opt, usage)) >= 0)
			return st;
	return -1;
}

int cfs_client_each(int argc, char **argv, const char *usage,
                    int (*fn)(struct ipc_conn *c, const char *path, void *ctx), void *ctx)
{
	char path[CFS_PATH_MAX];
	struct ipc_conn *c;
	int i, status = 0;

	if (optind == argc)
		return cli_usage(usage);
	if (cfs_client_connect(&c) < 0)
		return 1;
	for (i = optind; i < argc; i++)
		if (cfs_client_canon(argv[i], path) < 0 || fn(c, path, ctx) < 0)
			status = 1;
	ipc_close(c);
	return status;
}
