/* applets/cfs_dump.c - write a journal's tree out as plain files, offline
 * SPDX-License-Identifier: MIT
 *
 * The rescue tool: needs no daemon and takes no lock.  Given a state
 * directory (<root>/var/lib/cfsd) it recovers as cfsd would (newest valid
 * snapshot, then every journal generation, stopping at a torn tail
 * without cutting it); given one journal file it replays that file's
 * records.  The tree is then written below OUTDIR: directories 0755,
 * files 0640 (0700/0600 below priv/), mtimes as in the tree.  OUTDIR is
 * created if missing; existing files in it are replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "applets/applets.h"
#include "applets/cli.h"
#include "applets/entry.h"
#include "core/path.h"
#include "core/sys.h"
#include "core/util.h"
#include "store/journal.h"
#include "store/op.h"
#include "store/rules.h"
#include "store/tree.h"

static const char usage[] =
        "usage: cfs-dump STATEDIR|JOURNAL OUTDIR\n"
        "\n"
        "Offline, without cfsd: recover the tree from a state directory (e.g.\n"
        "/var/lib/cfsd) or from one journal file, and write it below OUTDIR as\n"
        "plain files and directories.  Exit status 1 on failure, 2 on a usage\n"
        "error.\n"
        "\n"
        "  -h  this help\n";

/* The log as the journal holds it: entries after the snapshot, with
 * TRUNC records honoured; applied in order at the end (every entry the
 * journal kept, committed or not: what this node would have served). */
struct dump_entry {
	uint64_t index;
	uint8_t *p; /* owned */
	uint32_t len;
};

struct dump {
	struct rules *rules;
	uint64_t applied;
	uint64_t entries;
	uint64_t bad;
	struct dump_entry *log;
	size_t n, cap;
	const char *out;
	size_t files, dirs;
	int status;
};

static void log_cut(struct dump *d, uint64_t last)
{
	while (d->n && d->log[d->n - 1].index > last)
		free(d->log[--d->n].p);
}

static int snapshot_cb(void *ctx, uint64_t index, uint64_t term, const uint8_t *blob, size_t len)
{
	struct dump *d = ctx;
	const uint8_t *tp;
	size_t tl;
	struct tree *t;
	int rc;

	(void)term;
	rc = entry_snapshot_tree(blob, len, &tp, &tl);
	if (rc == 0)
		rc = tree_decode(tp, tl, &t);
	if (rc < 0)
		return rc;
	rules_load(d->rules, t);
	d->applied = index;
	log_cut(d, 0);
	return 0;
}

static int record_cb(void *ctx, const struct jrec *r)
{
	struct dump *d = ctx;

	if (r->type == JREC_TRUNC) {
		log_cut(d, r->index);
		return 0;
	}
	if (r->type != JREC_ENTRY || r->index <= d->applied)
		return 0;
	log_cut(d, r->index - 1); /* an entry rewritten at its index */
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 256;
		d->log = xrealloc(d->log, d->cap * sizeof(*d->log));
	}
	d->log[d->n].index = r->index;
	d->log[d->n].p = xmemdup(r->p, r->len ? r->len : 1);
	d->log[d->n].len = r->len;
	d->n++;
	return 0;
}

/* Apply the collected log; a request that reached the log twice (a
 * retry) is applied once, as cfsd does. */
static void apply_log(struct dump *d)
{
	size_t cap = 16, i, h;
	uint64_t *keys; /* open addressing: (origin, req) hashed; 0 = free */

	while (cap < 2 * d->n)
		cap *= 2;
	keys = xcalloc(cap, 2 * sizeof(uint64_t));
	for (i = 0; i < d->n; i++) {
		const uint8_t *op_p;
		size_t op_len;
		uint32_t origin;
		uint64_t req;
		struct op op;

		if (d->log[i].len == 0)
			continue; /* a leader's no-op */
		d->entries++;
		if (entry_decode(d->log[i].p, d->log[i].len, &origin, &req, &op_p, &op_len) < 0 ||
		    op_decode(op_p, op_len, &op) < 0) {
			d->bad++;
			continue;
		}
		h = (size_t)((req * 0x9e3779b97f4a7c15ull) ^ origin) & (cap - 1);
		while (keys[2 * h] &&
		       (keys[2 * h] != (uint64_t)origin + 1 || keys[2 * h + 1] != req))
			h = (h + 1) & (cap - 1);
		if (keys[2 * h])
			continue; /* a retry that reached the log twice */
		keys[2 * h] = (uint64_t)origin + 1;
		keys[2 * h + 1] = req;
		(void)rules_apply(d->rules, &op);
	}
	free(keys);
	if (d->n)
		d->applied = d->log[d->n - 1].index;
	log_cut(d, 0);
	free(d->log);
}

static int write_node(void *ctx, const struct tree_node *n, unsigned depth)
{
	struct dump *d = ctx;
	char rel[CFS_PATH_MAX], full[CFS_PATH_MAX];
	struct timespec ts[2];
	bool priv;
	int fd, rc;

	(void)depth;
	if (!n->parent)
		return 0; /* the root is OUTDIR */
	if (tree_node_path(n, rel, sizeof(rel)) < 0 ||
	    path_fmt(full, sizeof(full), "%s/%s", d->out, rel) < 0) {
		cli_warn("%s/%s: %s", d->out, n->name, cfs_strerror(-ENAMETOOLONG));
		d->status = 1;
		return 0;
	}
	priv = rules_is_private(rel);
	if (n->type == TREE_DIR) {
		if (mkdir(full, priv ? 0700 : 0755) < 0 && errno != EEXIST) {
			cli_warn("%s: %s", full, strerror(errno));
			d->status = 1;
		}
		d->dirs++;
		return 0;
	}
	fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, priv ? 0600 : 0640);
	if (fd < 0) {
		cli_warn("%s: %s", full, strerror(errno));
		d->status = 1;
		return 0;
	}
	rc = write_all(fd, n->data, n->size);
	ts[0].tv_sec = ts[1].tv_sec = n->mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (rc == 0 && futimens(fd, ts) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		cli_warn("%s: %s", full, cfs_strerror(rc));
		d->status = 1;
	}
	d->files++;
	return 0;
}

int cfs_dump_main(int argc, char **argv)
{
	static const struct journal_cb cb = { .snapshot = snapshot_cb, .record = record_cb };
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' },
		                            { NULL, 0, NULL, 0 } };
	struct dump d = { 0 };
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return cli_usage(usage);
		}
	}
	if (argc - optind != 2)
		return cli_usage(usage);
	d.out = argv[optind + 1];
	d.rules = rules_new(NULL);
	rc = journal_dump(argv[optind], &cb, &d);
	apply_log(&d);
	if (rc < 0) {
		cli_warn("%s: %s", argv[optind], cfs_strerror(rc));
		rules_free(d.rules);
		return 1;
	}
	rc = path_mkdirs(d.out, 0755);
	if (rc < 0) {
		cli_warn("%s: %s", d.out, cfs_strerror(rc));
		rules_free(d.rules);
		return 1;
	}
	tree_walk(rules_tree(d.rules), write_node, &d);
	if (d.bad)
		cli_warn("%s: %llu entries did not decode and were skipped", argv[optind],
		         (unsigned long long)d.bad);
	printf("%s: %zu directories, %zu files, %zu bytes, index %llu\n", d.out, d.dirs, d.files,
	       tree_bytes(rules_tree(d.rules)), (unsigned long long)d.applied);
	rules_free(d.rules);
	return d.status;
}
