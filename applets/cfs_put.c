/* applets/cfs_put.c - replace a file of the cluster tree with stdin
 * SPDX-License-Identifier: MIT
 *
 * The whole of stdin becomes one PUT: readers see the old or the new
 * content, never a mix, and the file is never half written.  Exit 0 means
 * the new content is on disk (cfsd answers after the journal fsync).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/buf.h"
#include "core/util.h"

static const char usage[] = "usage: cfs-put [-c] [--root DIR] PATH < DATA\n"
                            "\n"
                            "Create or atomically replace PATH in the cluster tree with stdin.\n"
                            "Exit status 1 on failure, 2 on a usage error.\n"
                            "\n"
                            "  -c          create only: fail with 'File exists' if PATH exists\n"
                            "  --root DIR  the daemon's root prefix (default $CFS_ROOT, else /)\n"
                            "  -h          this help\n";

/* read stdin, at most CFS_FILE_MAX + 1 bytes (more is EFBIG anyway) */
static int read_stdin(struct buf *b)
{
	ssize_t n;

	for (;;) {
		buf_reserve(b, 65536);
		n = read(0, b->p + b->len, MIN((size_t)65536, CFS_FILE_MAX + 1 - b->len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		if (b->len > CFS_FILE_MAX)
			return -EFBIG;
	}
}

int cfs_put_main(int argc, char **argv)
{
	static const struct option lo[] = { CFS_CLIENT_LONGOPTS, { NULL, 0, NULL, 0 } };
	char path[CFS_PATH_MAX];
	struct buf data = { 0 };
	struct ipc_conn *c;
	bool excl = false;
	int opt, ret, rc;

	while ((opt = getopt_long(argc, argv, "ch", lo, NULL)) != -1) {
		switch (opt) {
		case 'c':
			excl = true;
			break;
		default:
			if ((ret = cfs_client_opt(opt, usage)) >= 0)
				return ret;
		}
	}
	if (argc - optind != 1)
		return cli_usage(usage);
	if (cfs_client_canon(argv[optind], path) < 0)
		return 1;
	rc = read_stdin(&data);
	if (rc < 0) {
		buf_free(&data);
		if (rc == -EFBIG)
			return cfs_client_err(path, rc) < 0;
		cli_warn("stdin: %s", cfs_strerror(rc));
		return 1;
	}
	if (cfs_client_connect(&c) < 0) {
		buf_free(&data);
		return 1;
	}
	rc = ipc_call_path(c, IPC_OP_PUT, excl ? IPC_F_EXCL : 0, 0, path, NULL, data.p, data.len,
	                   NULL);
	cfs_client_err(path, rc);
	ipc_close(c);
	buf_free(&data);
	return rc < 0;
}
