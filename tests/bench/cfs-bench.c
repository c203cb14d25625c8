/* tests/bench/cfs-bench.c - write load against a running cfsd over IPC
 * SPDX-License-Identifier: MIT
 *
 *	cfs-bench [--root DIR | --socket PATH] [--ops N] [--size BYTES]
 *	          [--clients C] [--prefix PATH] [--read]
 *
 * C threads, each with its own connection kept open, share N operations:
 * client k writes PREFIX/k/<i> (PUT of SIZE bytes, unique content), one
 * request in flight per client.  With --read, each client reads back one
 * file of its own instead.  With --wait-read PATH it only waits until
 * a READ of PATH is answered (retrying the connection every 0.2 ms) and
 * prints {"answered_ns":<CLOCK_REALTIME ns>} (cold start measurement).
 * With --peer-socket PATH (another node's cfsd), after every write the
 * client polls that node until the new content is there, and adds
 * "visible_p50_ms"/"visible_p99_ms": time from the write's answer to
 * its visibility on the other node.
 * Otherwise prints one JSON line:
 *	{"ops":N,"clients":C,"size":S,"seconds":T,"ops_per_s":R,
 *	 "p50_ms":..,"p99_ms":..,"max_ms":..,"errors":E}
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/buf.h"
#include "core/path.h"
#include "core/util.h"
#include "net/ipc.h"

struct worker {
	pthread_t th;
	int k;
	long ops;
	double *lat_ms; /* ops entries */
	double *vis_ms; /* with --peer-socket: ops entries */
	long errors;
	int first_err;
};

static char sock[4096];
static char prefix[1024] = "bench";
static long size = 300;
static int do_read;
static const char *wait_read;
static char peer[4096];

static int wait_first_read(void)
{
	struct buf rep = { 0 };
	struct ipc_conn *c;
	struct timespec ts;
	long tries;

	for (tries = 0; tries < 100000; tries++) { /* 20 s */
		if (ipc_connect(sock, 1000, &c) == 0) {
			int rc =
			        ipc_call_path(c, IPC_OP_READ, 0, 0, wait_read, NULL, NULL, 0, &rep);

			ipc_close(c);
			if (rc == 0) {
				clock_gettime(CLOCK_REALTIME, &ts);
				printf("{\"answered_ns\":%lld,\"bytes\":%zu}\n",
				       (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, rep.len);
				buf_free(&rep);
				return 0;
			}
		}
		usleep(200);
	}
	buf_free(&rep);
	fprintf(stderr, "cfs-bench: %s: no answer\n", wait_read);
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct buf rep = { 0 };
	char path[CFS_PATH_MAX];
	struct ipc_conn *c, *pc = NULL;
	char *data = malloc((size_t)size + 1);
	double t;
	long i;
	int rc;

	memset(data, 'a' + w->k % 26, (size_t)size);
	rc = ipc_connect(sock, 5000, &c);
	if (rc < 0) {
		w->errors = w->ops;
		w->first_err = rc;
		free(data);
		return NULL;
	}
	if (peer[0] && ipc_connect(peer, 5000, &pc) < 0)
		pc = NULL;
	snprintf(path, sizeof(path), "%s/%d", prefix, w->k);
	rc = ipc_call_path(c, IPC_OP_MKDIR, 0, 0, path, NULL, NULL, 0, NULL);
	if (do_read) {
		snprintf(path, sizeof(path), "%s/%d/r", prefix, w->k);
		ipc_call_path(c, IPC_OP_PUT, 0, 0, path, NULL, data, (size_t)size, NULL);
	}
	for (i = 0; i < w->ops; i++) {
		if (!do_read) {
			snprintf(path, sizeof(path), "%s/%d/%ld", prefix, w->k, i);
			/* unique content: the op number in front */
			memcpy(data, &i, sizeof(i) < (size_t)size ? sizeof(i) : (size_t)size);
		}
		t = now();
		if (do_read)
			rc = ipc_call_path(c, IPC_OP_READ, 0, 0, path, NULL, NULL, 0, &rep);
		else
			rc = ipc_call_path(c, IPC_OP_PUT, 0, 0, path, NULL, data, (size_t)size,
			                   NULL);
		w->lat_ms[i] = (now() - t) * 1e3;
		if (rc == 0 && pc) {
			double t1 = now();

			for (;;) { /* until the peer shows this op's content */
				int prc = ipc_call_path(pc, IPC_OP_READ, 0, 0, path, NULL, NULL, 0,
				                        &rep);

				if (prc == 0 && rep.len >= sizeof(i) &&
				    !memcmp(rep.p, &i, sizeof(i)))
					break;
				if (now() - t1 > 5) {
					rc = -ETIMEDOUT;
					break;
				}
			}
			w->vis_ms[i] = (now() - t1) * 1e3;
		}
		if (rc < 0) {
			if (!w->errors)
				w->first_err = rc;
			w->errors++;
			if (rc == -ECONNRESET || rc == -ETIMEDOUT)
				break;
		}
	}
	ipc_close(c);
	ipc_close(pc);
	buf_free(&rep);
	free(data);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 'z' },
		{ "clients", required_argument, NULL, 'c' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "wait-read", required_argument, NULL, 'w' },
		{ "read", no_argument, NULL, 'R' },
		{ "peer-socket", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	long ops = 10000, i, j, n, errors = 0;
	int clients = 1, opt, first_err = 0;
	struct worker *w;
	double t0, secs, *all;
	const char *root = getenv("CFS_ROOT");

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'r':
			root = optarg;
			break;
		case 's':
			snprintf(sock, sizeof(sock), "%s", optarg);
			break;
		case 'n':
			ops = atol(optarg);
			break;
		case 'z':
			size = atol(optarg);
			break;
		case 'c':
			clients = atoi(optarg);
			break;
		case 'p':
			snprintf(prefix, sizeof(prefix), "%s",
			         optarg[0] == '/' ? optarg + 1 : optarg);
			break;
		case 'R':
			do_read = 1;
			break;
		case 'w':
			wait_read = optarg;
			break;
		case 'P':
			snprintf(peer, sizeof(peer), "%s", optarg);
			break;
		default:
			fprintf(stderr, "usage: cfs-bench [--root DIR | --socket PATH] [--ops N] "
			                "[--size BYTES] [--clients C] [--prefix PATH] [--read]\n");
			return 2;
		}
	}
	if (ops < 1 || clients < 1 || clients > 1024 || size < 1 || size > CFS_FILE_MAX)
		return 2;
	if (!sock[0])
		snprintf(sock, sizeof(sock), "%s%s", root ? root : "", IPC_SOCK_SUFFIX);
	if (wait_read)
		return wait_first_read();
	{
		struct ipc_conn *c;

		if (ipc_connect(sock, 5000, &c) < 0) {
			fprintf(stderr, "cfs-bench: cannot reach %s\n", sock);
			return 1;
		}
		ipc_call_path(c, IPC_OP_MKDIR, 0, 0, prefix, NULL, NULL, 0, NULL);
		ipc_close(c);
	}
	w = calloc((size_t)clients, sizeof(*w));
	for (i = 0; i < clients; i++) {
		w[i].k = (int)i;
		w[i].ops = ops / clients + (i < ops % clients);
		w[i].lat_ms = calloc((size_t)w[i].ops + 1, sizeof(double));
		w[i].vis_ms = calloc((size_t)w[i].ops + 1, sizeof(double));
	}
	t0 = now();
	for (i = 0; i < clients; i++)
		pthread_create(&w[i].th, NULL, run, &w[i]);
	for (i = 0; i < clients; i++)
		pthread_join(w[i].th, NULL);
	secs = now() - t0;
	all = calloc((size_t)ops, sizeof(double));
	for (n = 0, i = 0; i < clients; i++) {
		for (j = 0; j < w[i].ops; j++)
			all[n++] = w[i].lat_ms[j];
		errors += w[i].errors;
		if (!first_err)
			first_err = w[i].first_err;
		free(w[i].lat_ms);
	}
	qsort(all, (size_t)n, sizeof(double), cmp);
	if (peer[0]) {
		double *vis = calloc((size_t)ops, sizeof(double));
		long m = 0;

		for (i = 0; i < clients; i++) {
			for (j = 0; j < w[i].ops; j++)
				vis[m++] = w[i].vis_ms[j];
		}
		qsort(vis, (size_t)m, sizeof(double), cmp);
		printf("{\"visible_p50_ms\":%.3f,\"visible_p99_ms\":%.3f}\n", vis[m / 2],
		       vis[(m * 99) / 100]);
		free(vis);
	}
	for (i = 0; i < clients; i++)
		free(w[i].vis_ms);
	printf("{\"ops\":%ld,\"clients\":%d,\"size\":%ld,\"seconds\":%.3f,\"ops_per_s\":%.0f,"
	       "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%ld%s%s%s}\n",
	       ops, clients, size, secs, ops / secs, all[n / 2], all[(n * 99) / 100], all[n - 1],
	       errors, first_err ? ",\"first_error\":\"" : "",
	       first_err ? strerror(-first_err) : "", first_err ? "\"" : "");
	free(all);
	free(w);
	return errors ? 1 : 0;
}
