/* applets/entry.h - the envelopes cfsd puts around ops and trees in its
 * log and snapshots (applets/cfsd/node.h has the layouts), decoded for
 * the offline tools (cfs-dump) without the daemon's code.
 */
#ifndef APPLETS_ENTRY_H
#define APPLETS_ENTRY_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

#define ENTRY_KIND_OP    1
#define ENTRY_HDR_SIZE   13
#define ENTRY_SNAP_MAGIC 0x4e534643u /* "CFSN" */
#define ENTRY_DEDUP_KEEP 4096

/* A log entry: kind, origin node, request id, then the op bytes.
 * 0, or -EBADMSG (not an op entry: a leader's no-op is empty). */
static inline int entry_decode(const uint8_t *p, size_t n, uint32_t *origin, uint64_t *req,
                               const uint8_t **op, size_t *op_len)
{
	if (n < ENTRY_HDR_SIZE || p[0] != ENTRY_KIND_OP)
		return -EBADMSG;
	*origin = get_le32(p + 1);
	*req = get_le64(p + 5);
	*op = p + ENTRY_HDR_SIZE;
	*op_len = n - ENTRY_HDR_SIZE;
	return 0;
}

/* A snapshot: magic, the table of applied requests, then the tree blob.
 * Points *tree at the tree blob.  0 or -EBADMSG. */
static inline int entry_snapshot_tree(const uint8_t *p, size_t n, const uint8_t **tree,
                                      size_t *tree_len)
{
	struct rd r = rd_init(p, n);
	uint32_t cnt, i, c;

	if (rd_u32(&r) != ENTRY_SNAP_MAGIC)
		return -EBADMSG;
	cnt = rd_u32(&r);
	for (i = 0; i < cnt && !r.err; i++) {
		rd_u32(&r);
		c = rd_u32(&r);
		if (c > ENTRY_DEDUP_KEEP || !rd_take(&r, (size_t)c * 8))
			return -EBADMSG;
	}
	if (r.err)
		return -EBADMSG;
	*tree = r.p;
	*tree_len = r.left;
	return 0;
}

#endif /* APPLETS_ENTRY_H */
