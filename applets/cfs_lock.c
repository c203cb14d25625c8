/* applets/cfs_lock.c - run a command while holding a cluster lock
 * SPDX-License-Identifier: MIT
 *
 * What Proxmox's cfs_lock does (spec §7.2), as a command: the lock is the
 * directory priv/lock/NAME; mkdir takes it, and while another holder has
 * it (File exists) cfs-lock asks for the removal of a lock left behind
 * (utime 0: granted by the cluster once the lock has not changed for
 * 120 s), says "trying to acquire cfs lock 'NAME' ..." at most once a
 * second, and tries again after min(seconds left, 10) x 100 ms, until
 * the wait (-w, default 10 s) is over.  The command then runs with the
 * lock; unlike Perl's 60 s alarm alone, cfs-lock renews the lock every
 * 30 s while the command runs (a renewal is what HA manager does for its
 * long-lived locks), so that nobody's unlock request takes it away; -t
 * still ends a command that runs too long (default 60 s, as Proxmox; 0:
 * no limit).  Afterwards the lock is removed, whatever the command did.
 * Messages are Proxmox's: "cfs-lock 'NAME' error: got lock request
 * timeout", "... error: no quorum!", "'NAME'-locked command timed out -
 * aborting".
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/path.h"
#include "core/util.h"

#define RENEW_SEC 30

static const char usage[] =
        "usage: cfs-lock [-w SECONDS] [-t SECONDS] [--root DIR] NAME COMMAND [ARG...]\n"
        "\n"
        "Run COMMAND while holding the cluster lock NAME (the directory\n"
        "priv/lock/NAME of the tree, as Proxmox's cfs_lock), then release it.\n"
        "A lock whose holder died is taken over once it is 120 s old.  Exit\n"
        "status: COMMAND's (128 + signal if it was killed), 1 if the lock was\n"
        "not acquired or COMMAND timed out, 2 on a usage error.\n"
        "\n"
        "  -w SECONDS  wait this long for the lock (default 10)\n"
        "  -t SECONDS  end COMMAND (SIGTERM, then SIGKILL 5 s later) after this\n"
        "              long; 0: no limit (default 60)\n"
        "  --root DIR  the daemon's root prefix (default $CFS_ROOT, else /)\n"
        "  -h          this help\n";

/* Proxmox's messages, without the "cfs-lock: " of cli_warn() */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int seconds_arg(const char *opt, const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	if (*end || end == s || !(*out >= 0) || *out > 86400) {
		cli_warn("%s %s: not a number of seconds (0..86400)", opt, s);
		return -1;
	}
	return 0;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* mkdir path until it works or wait runs out: 0, or 1 (reported) */
static int acquire(struct ipc_conn *c, const char *name, const char *path, double wait)
{
	double start = now(), said = 0, slept = 0;
	int rc;

	/* the lock directory's parents: made if missing, errors show below */
	(void)ipc_call_path(c, IPC_OP_MKDIR, 0, 0, "priv", NULL, NULL, 0, NULL);
	(void)ipc_call_path(c, IPC_OP_MKDIR, 0, 0, "priv/lock", NULL, NULL, 0, NULL);
	for (;;) {
		double left = wait - (now() - start), nap;

		rc = ipc_call_path(c, IPC_OP_MKDIR, 0, 0, path, NULL, NULL, 0, NULL);
		if (rc == 0)
			return 0;
		if (rc == -EACCES) {
			say("cfs-lock '%s' error: no quorum!", name);
			return 1;
		}
		if (rc != -EEXIST) {
			say("cfs-lock '%s' error: %s", name, cfs_strerror(rc));
			return 1;
		}
		nap = (left < 10 ? (left > 0 ? left : 0) : 10) * 0.1;
		if (left <= 0 || slept + nap >= wait) {
			say("cfs-lock '%s' error: got lock request timeout", name);
			return 1;
		}
		if (now() - said >= 1) {
			fprintf(stderr, "trying to acquire cfs lock '%s' ...\n", name);
			said = now();
		}
		/* a lock left behind goes once it is old enough (EACCES is the
		 * answer to the request itself, as in pmxcfs) */
		(void)ipc_call_path(c, IPC_OP_MTIME, 0, 0, path, NULL, NULL, 0, NULL);
		sleep_s(nap);
		slept += nap;
	}
}

/* Run argv while holding the lock at path: the exit status. */
static int run(struct ipc_conn *c, const char *name, const char *path, char **argv, double limit)
{
	double start = now(), renewed = start, term_at = 0;
	int st, status = 1;
	pid_t pid, w;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_warn("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		cli_warn("%s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	for (;;) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			cli_warn("waitpid: %s", strerror(errno));
			return 1;
		}
		if (now() - renewed >= RENEW_SEC) {
			int rc = ipc_call_path(c, IPC_OP_MTIME, 0, (uint64_t)time(NULL), path, NULL,
			                       NULL, 0, NULL);

			if (rc < 0)
				cli_warn("cfs-lock '%s': cannot renew the lock: %s", name,
				         cfs_strerror(rc));
			renewed = now();
		}
		if (limit > 0 && !term_at && now() - start >= limit) {
			say("'%s'-locked command timed out - aborting", name);
			kill(pid, SIGTERM);
			term_at = now();
		}
		if (term_at && now() - term_at >= 5)
			kill(pid, SIGKILL);
		sleep_s(0.05);
	}
	if (term_at)
		status = 1;
	else if (WIFEXITED(st))
		status = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		status = 128 + WTERMSIG(st);
	return status;
}

int cfs_lock_main(int argc, char **argv)
{
	static const struct option lo[] = { CFS_CLIENT_LONGOPTS, { NULL, 0, NULL, 0 } };
	char path[CFS_PATH_MAX];
	double wait = 10, limit = 60;
	struct ipc_conn *c;
	const char *name;
	int opt, ret, rc;

	/* "+": options end at NAME; COMMAND's own options are its */
	while ((opt = getopt_long(argc, argv, "+hw:t:", lo, NULL)) != -1) {
		switch (opt) {
		case 'w':
			if (seconds_arg("-w", optarg, &wait) < 0)
				return 2;
			break;
		case 't':
			if (seconds_arg("-t", optarg, &limit) < 0)
				return 2;
			break;
		default:
			if ((ret = cfs_client_opt(opt, usage)) >= 0)
				return ret;
		}
	}
	if (argc - optind < 2)
		return cli_usage(usage);
	name = argv[optind];
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    path_fmt(path, sizeof(path), "priv/lock/%s", name) < 0) {
		cli_warn("%s: not a lock name (one path component)", name);
		return 2;
	}
	if (cfs_client_connect(&c) < 0)
		return 1;
	ret = acquire(c, name, path, wait);
	if (ret == 0) {
		ret = run(c, name, path, argv + optind + 1, limit);
		rc = ipc_call_path(c, IPC_OP_DELETE, 0, 0, path, NULL, NULL, 0, NULL);
		if (rc < 0 && rc != -ENOENT) {
			cli_warn("cfs-lock '%s': cannot release the lock: %s", name,
			         cfs_strerror(rc));
			if (!ret)
				ret = 1;
		}
	}
	ipc_close(c);
	return ret;
}
