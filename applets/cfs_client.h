/* applets/cfs_client.h - what the client applets share: finding cfsd,
 * path arguments, and error reporting in the words users know.
 * SPDX-License-Identifier: MIT
 */
#ifndef APPLETS_CFS_CLIENT_H
#define APPLETS_CFS_CLIENT_H

#include <stddef.h>
#include "net/ipc.h"

#define CFS_OPT_ROOT 0x100

/* The long options every client applet takes (--root DIR, --help);
 * getopt_long() returns CFS_OPT_ROOT for --root and 'h' for --help. */
#define CFS_CLIENT_LONGOPTS                                \
	{ "root", required_argument, NULL, CFS_OPT_ROOT }, \
	{                                                  \
		"help", no_argument, NULL, 'h'             \
	}

/* The socket path of the daemon for the root in force (--root/CFS_ROOT). */
const char *cfs_client_sock(void);

/* Connect to cfsd; on failure print "cannot reach cfsd at SOCK: reason"
 * and return -errno. */
int cfs_client_connect(struct ipc_conn **out);

/* Canonicalise a user path into dst (CFS_PATH_MAX bytes); on failure
 * print "PATH: reason" and return -errno. */
int cfs_client_canon(const char *user, char *dst);

/* Print "PATH: reason" for rc (0 prints nothing); returns rc. */
int cfs_client_err(const char *path, int rc);

/* One option of those every client applet has, as getopt_long()
 * returned it: --root DIR is taken (returns -1: go on), -h prints usage
 * (returns 0), anything else is a usage error (usage printed, returns 2).
 * For the default: branch of an applet's own option switch. */
int cfs_client_opt(int opt, const char *usage);

/* Parse the options of an applet that takes only -h and --root DIR.
 * Returns -1 to go on (arguments from optind), or the exit status: 0
 * after -h, 2 after a usage error (usage printed). */
int cfs_client_opts(int argc, char **argv, const char *usage);

/* The body of an applet that does one thing to each PATH argument (from
 * optind; none is a usage error): connect, then for each canonical path
 * fn(c, path, ctx), which returns 0 or -errno and has reported it.
 * Returns the exit status: 0, 1 if any PATH failed, 2 usage error. */
int cfs_client_each(int argc, char **argv, const char *usage,
                    int (*fn)(struct ipc_conn *c, const char *path, void *ctx), void *ctx);

#endif /* APPLETS_CFS_CLIENT_H */
