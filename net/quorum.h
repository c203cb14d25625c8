/* net/quorum.h - votequorum arithmetic and the quorum tool's text.
 *
 * Pure functions over a node list (spec/corosync.md §4): no I/O, no
 * clock, no globals.  The caller owns a struct quorum_state per node and
 * passes it back on every call; it carries what votequorum keeps between
 * membership changes:
 *
 *   1. quorum never decreases by itself (only quorum_set_expected() may
 *      lower it);
 *   2. this node's expected votes rise to the total votes whenever the
 *      total exceeds them;
 *   3. highest expected = max over members of their expected votes;
 *   4. wait_for_all: not quorate until total votes == expected votes has
 *      been seen once (then satisfied for good);
 *   5. two_node: quorum is 1 while at most two nodes are members.
 *
 *   quorum = max((highest_expected + 2) / 2, (total_votes + 2) / 2)
 *   quorate = !waiting_for_all && total_votes >= quorum
 *
 * The text functions render `corosync-quorumtool -s[iH]`, `pvecm status`
 * (the "Cluster information" header first) and `corosync-quorumtool -l`
 * (`pvecm nodes`) byte for byte (spec/corosync.md §6.1-§6.2,
 * spec/pmxcfs.md §12.5).
 */
#ifndef NET_QUORUM_H
#define NET_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/corosync_conf.h"

/* votequorum info flags (include/corosync/votequorum.h) */
#define QUORUM_F_TWONODE                0x001u
#define QUORUM_F_QUORATE                0x002u
#define QUORUM_F_WAIT_FOR_ALL           0x004u
#define QUORUM_F_LAST_MAN_STANDING      0x008u
#define QUORUM_F_AUTO_TIE_BREAKER       0x010u
#define QUORUM_F_ALLOW_DOWNSCALE        0x020u
#define QUORUM_F_QDEVICE_REGISTERED     0x040u
#define QUORUM_F_QDEVICE_ALIVE          0x080u
#define QUORUM_F_QDEVICE_CAST_VOTE      0x100u
#define QUORUM_F_QDEVICE_MASTER_WINS    0x200u
#define QUORUM_F_QDEVICE_HAS_EXTRA_INFO 0x400u

/* corosync-quorumtool -e: the tool's own message for a bad value */
#define QUORUM_EXPECTED_INVALID_MSG "New expected votes value was not valid, try a positive number"

struct quorum_node {
	uint32_t nodeid;
	uint32_t votes;          /* quorum_votes */
	uint32_t expected_votes; /* what that node announced; 0 = unknown (ignored) */
	bool member;             /* in the current membership */
};

/* Static settings, from struct cluster_conf. */
struct quorum_conf {
	uint32_t expected_votes; /* quorum.expected_votes, else the nodelist's sum */
	bool two_node;
	bool wait_for_all; /* effective: two_node implies it unless disabled */
};

/* The settings of a parsed corosync.conf: expected_votes (quorum.
 * expected_votes, else the nodelist's sum), two_node, wait_for_all. */
void quorum_conf_init(struct quorum_conf *qc, const struct cluster_conf *cc);

/* One node's view; carried between calls.  Fields after "computed" are
 * the outputs of the last quorum_update()/quorum_set_expected(). */
struct quorum_state {
	uint32_t expected; /* this node's expected votes */
	uint32_t quorum;   /* never decreases by itself */
	bool wfa_waiting;  /* wait_for_all not yet satisfied */
	/* computed */
	uint32_t total_votes;      /* votes of the members */
	uint32_t highest_expected; /* max expected over members and us */
	uint32_t members;          /* member count */
	bool quorate;
	uint32_t flags; /* QUORUM_F_* (TWONODE, QUORATE, WAIT_FOR_ALL) */
};

/* Start-up state: expected = conf->expected_votes, quorum 0, waiting for
 * all if conf->wait_for_all.  Not quorate until the first update. */
void quorum_init(struct quorum_state *st, const struct quorum_conf *conf);

/* Recompute after a membership or vote change (recalculate_quorum without
 * decrease).  nodes: every known node, members flagged; this node's own
 * entry is among them with expected_votes 0 (st->expected stands for it;
 * quorum_set_expected() writes N into every member's entry, ours too). */
void quorum_update(struct quorum_state *st, const struct quorum_conf *conf,
                   struct quorum_node *nodes, size_t n);

/* `pvecm expected N` on the daemon side (V3 rule, §4.5): -EINVAL if
 * N < total votes, or if quorate now and the quorum for N would exceed
 * the total votes.  On success every member's expected_votes and st's
 * expected become N and quorum is recomputed with decrease allowed. */
int quorum_set_expected(struct quorum_state *st, const struct quorum_conf *conf,
                        struct quorum_node *nodes, size_t n, uint32_t expected);

/* The quorum that N expected votes would give with total votes T:
 * max((N + 2) / 2, (T + 2) / 2). */
uint32_t quorum_of(uint32_t expected, uint32_t total_votes);

/* The tool's check of the -e argument: a decimal (or 0x hex, strtol base
 * 0) integer 1..INT_MAX with nothing after it.  0 or -EINVAL (print
 * QUORUM_EXPECTED_INVALID_MSG, exit 1). */
int quorum_parse_expected(const char *arg, uint32_t *out);

/* --- text --------------------------------------------------------------- */

struct quorum_view_node {
	uint32_t nodeid;
	uint32_t votes;
	const char *name; /* node name or address */
};

/* Everything the status text shows; strings are borrowed. */
struct quorum_view {
	/* "Cluster information" header of pvecm status: raw totem values,
	 * NULL for corosync's/Perl's defaults (UNKOWN? [sic], -1, knet, off) */
	const char *cluster_name;
	const char *config_version;
	const char *transport;
	const char *secauth;
	/* quorum information */
	const char *date;     /* ctime() text; a newline is added if missing */
	const char *provider; /* NULL: "Not configured" and no votequorum part */
	uint32_t nodeid;      /* this node */
	const char *ring_id;  /* e.g. "1.3c" */
	bool quorate;
	uint32_t expected;
	uint32_t highest_expected;
	uint32_t total_votes;
	uint32_t quorum;
	uint32_t flags;
	const struct quorum_view_node *members; /* in display order */
	size_t n_members;
};

/* corosync-quorumtool -s (hex: -H, node ids as 0x%08x). */
void quorum_render_status(const struct quorum_view *v, bool hex, struct buf *out);
/* pvecm status: the Cluster information header, then -siH.  -i shows the
 * first link address rather than the node name: pass ring0 addresses as
 * the members' names (spec/pmxcfs.md §12.5 sample). */
void quorum_render_pvecm_status(const struct quorum_view *v, struct buf *out);
/* corosync-quorumtool -l = pvecm nodes (leading empty line, decimal ids). */
void quorum_render_nodes(const struct quorum_view *v, struct buf *out);

/* Exit status of corosync-quorumtool -s: 0 quorate, 2 not quorate. */
int quorum_status_exit(const struct quorum_view *v);

#endif /* NET_QUORUM_H */
