/* applets/cfsd/cfsd.h - the daemon's state, shared by its files
 * SPDX-License-Identifier: MIT
 *
 *	cfsd.c        main: options, paths, daemonizing, signals, shutdown
 *	store_glue.c  recovery, group commit, apply, compaction
 *	ipc_ops.c     answers IPC requests (reads, mutations, status)
 *
 * The path of one write (DESIGN §3, single node):
 *	ipc_ops_request()   decode, caller's rights, rules_check() precheck,
 *	store_glue_submit() op_encode(), journal_append() (no fsync), the
 *	                    reply is deferred;
 *	flush_cb()          ev_prepare, once per loop turn: one journal_sync()
 *	                    for everything appended (group commit), then
 *	                    rules_apply() in log order and ipc_reply() with
 *	                    each op's result.
 * Reads are answered from the tree at once, so a client sees its own
 * writes (it has their reply) and never a write that is not durable.
 */
#ifndef APPLETS_CFSD_CFSD_H
#define APPLETS_CFSD_CFSD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/buf.h"
#include "core/loop.h"
#include "core/util.h"
#include "net/ipc.h"
#include "store/journal.h"
#include "store/op.h"
#include "store/rules.h"

/* A client waiting for its op to be durable and applied. */
struct cfsd_wait {
	struct ipc_client *c; /* valid until answered */
	uint32_t id;          /* request id */
	uint64_t index;       /* journal entry index */
	size_t off;           /* op bytes in the batch's ops buffer */
	uint32_t len;
};

/* The ops appended during one loop turn.  Two of them: replies sent while
 * one is applied may start the next (pipelined requests). */
struct cfsd_batch {
	struct cfsd_wait *w;
	size_t n, cap;
	struct buf ops; /* op_encode() bytes of every waiting op */
};

struct cfsd {
	struct ev_loop *loop;
	char name[64];   /* this node's name (--name, else short hostname) */
	uint32_t nodeid; /* 0 in local mode */
	bool foreground;
	bool local;
	char root[CFS_PATH_MAX];      /* --root DIR (absolute) or "" */
	char state_dir[CFS_PATH_MAX]; /* <root>/var/lib/cfsd */
	char run_dir[CFS_PATH_MAX];   /* <root>/run/cfsd */
	char sock[CFS_PATH_MAX];      /* <run_dir>/cfsd.sock */
	char pidfile[CFS_PATH_MAX];   /* <run_dir>/cfsd.pid */
	uid_t root_uid;               /* besides 0: the owner of --root DIR */
	gid_t ro_gid;                 /* read-only group (www-data or --gid) */
	bool has_ro_gid;

	struct rules *rules;     /* owned: the tree and the pmxcfs rules */
	struct journal *journal; /* owned */
	struct ipc_server *ipc;  /* owned */
	uint64_t applied;        /* index of the last entry applied to the tree */
	uint64_t last_term;      /* term of that entry (or of the snapshot) */
	uint64_t term;           /* term of new entries (local mode: >= 1) */
	struct cfsd_batch batch[2];
	unsigned cur;        /* batch new ops go to */
	int broken;          /* 0, or why cfsd became read-only */
	uint64_t starttime;  /* epoch seconds */
	uint64_t replayed;   /* entries applied during recovery */
	uint64_t bad_ops;    /* journal entries that did not decode */
	uint64_t writes;     /* ops journaled since start */
	uint64_t syncs;      /* group commits since start */
	pid_t compact_pid;   /* snapshot writer, 0 if none */
	double compact_next; /* ev_now() before which no new compaction starts */
	bool stopping;

	ev_prepare flush;
	ev_signal sigterm;
	ev_signal sigint;
	ev_signal sighup;
	ev_child compact_w;
};

/* store_glue.c */
/* Recover the tree from the state directory (takes its lock): 0 or
 * -errno (-EBUSY: another cfsd holds it). */
int store_glue_open(struct cfsd *d);
/* Start the group-commit watcher. */
void store_glue_start(struct cfsd *d);
/* Journal op for client c (request id); the reply comes after the next
 * group commit. */
void store_glue_submit(struct cfsd *d, struct ipc_client *c, uint32_t id, const struct op *op);
/* Sync, apply and answer everything waiting (also used at shutdown). */
void store_glue_flush(struct cfsd *d);
/* Shutdown: wait for a running compaction, sync, close. */
void store_glue_close(struct cfsd *d);
/* The compaction threshold for the current tree (see store_glue.c). */
uint64_t store_glue_compact_threshold(const struct cfsd *d);

/* ipc_ops.c */
/* The net/ipc request handler (ctx is the struct cfsd). */
void ipc_ops_request(void *ctx, struct ipc_client *c, const struct ipc_req *req);

#endif /* APPLETS_CFSD_CFSD_H */
