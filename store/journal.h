/* store/journal.h - the append-only journal of the Raft log, its
 * snapshots, crash recovery and compaction.
 *
 * State directory <dir>:
 *	lock              flock()ed exclusively while a journal is open
 *	journal.<gen>     records of generation gen (decimal, from 1)
 *	snap.<gen>        the tree at the base of journal.<gen> (store/snap.h)
 *	<file>.dropped    bytes cut off a torn journal tail, for post-mortems
 *	*.tmp             files being written; never read
 *
 * The journal is Raft-aware but payload-opaque: it checks record types,
 * checksums and index continuity, never what an entry means.
 *
 * Journal file = header, then records back to back.  Little-endian,
 * encoded field by field through core/endian.h.
 *
 * Header, JOURNAL_HDR_SIZE = 40 bytes:
 *	off len field
 *	  0   4 magic       JOURNAL_MAGIC ("CFSJ" read as le32)
 *	  4   2 format      JOURNAL_FORMAT; bumped on any incompatible change
 *	  6   2 flags       0; a reader rejects bits it does not know
 *	  8   8 gen         generation, equal to the one in the file name
 *	 16   8 base_index  index of the last entry before this file (the
 *	                    snapshot index of snap.<gen>; 0 for journal.1)
 *	 24   8 base_term   term of the entry at base_index (0 if none)
 *	 32   4 salt        random per file; seeds every record crc
 *	 36   4 crc         crc32c(0, bytes 0..35)
 *
 * Record, JREC_HDR_SIZE = 28 bytes + payload:
 *	  0   4 len         payload bytes, <= JREC_PAYLOAD_MAX
 *	  4   2 type        enum jrec_type
 *	  6   2 flags       0; unknown bits make the record invalid
 *	  8   8 index       see enum jrec_type
 *	 16   8 term        see enum jrec_type
 *	 24   4 crc         crc32c(seed: salt) of bytes 0..23, then payload
 *	 28 len payload     opaque bytes
 *
 * A record is valid iff it lies wholly inside the file, len and type are
 * in range, flags are 0, the crc matches and its index is continuous:
 * an ENTRY's index is the previous entry's + 1 (the file's base_index + 1
 * for the first, TRUNC index + 1 after a TRUNC); a TRUNC's index lies
 * between base_index and the last entry's index.  STATE records are not
 * part of the index sequence.
 *
 * Recovery (journal_open): load the newest snapshot that validates and
 * whose journal.<gen> exists with the same base (older ones if the newest
 * is torn) and pass it to cb->snapshot; without any snapshot the oldest
 * journal must start at index 0.  Then replay journal generations from the
 * snapshot's generation up, in order, passing every valid record to
 * cb->record.  Each generation starts with an implicit record
 * { JREC_TRUNC, base_index, base_term, NULL, 0 } passed to cb->record
 * (so a consumer drops the entries the next generation holds copies of,
 * and learns the term at the base).  ENTRY records at or below the
 * snapshot index are skipped.  Zero bytes after the last valid record
 * are free space, not damage (see journal_set_prealloc()).  Otherwise, at
 * the first invalid record of the newest generation the file is cut there
 * (the cut bytes up to the last non-zero one are appended to
 * <file>.dropped, then ftruncate + fsync; logged as a warning).  An
 * invalid record in an older generation is data loss, -EBADMSG, unless
 * the valid part of that generation reaches the next generation's
 * base_index (the next generation holds copies of all that follows).
 * A newest journal whose header is incomplete (shorter than the header,
 * or all zero bytes) was left by an interrupted compaction and is treated
 * as absent (renamed to <file>.dropped).  An empty or missing directory
 * gets journal.1 (base 0, term 0), created durably.
 *
 * Compaction (Redis AOF rewrite): journal_compact_start() syncs the
 * current file, writes journal.<gen+1> (base = the snapshot's index and
 * term, then the latest STATE record and copies of the entries after the
 * snapshot index) through a .tmp file, fsync, rename, fsync of the
 * directory, switches appends to it, and forks a child that encodes the
 * tree as it was at fork time (copy-on-write) and writes snap.<gen+1>.
 * The caller reaps the child with waitpid() (SIGCHLD watcher) and passes
 * the status to journal_compact_done(), which on success deletes all
 * older generations.  A crash at any point leaves a recoverable state:
 * without a valid snap.<gen+1>, recovery uses snap.<gen> (or nothing for
 * gen 1), journal.<gen> and journal.<gen+1>.
 *
 * Errors: every int function returns 0 or a negative errno:
 *	-EBADMSG  a file header is damaged, a snapshot or older generation
 *	          needed for recovery is invalid, or generations do not
 *	          continue each other: nothing is replayed safely
 *	-EBUSY    <dir>/lock is held by another open journal (another cfsd)
 *	-EFBIG    the record payload is larger than JREC_PAYLOAD_MAX
 *	-EINVAL   a record with an unknown type, a non-contiguous index, or a
 *	          compaction index/term that is not in the log;
 *	          journal_compact_done() without a compaction started on this
 *	          journal (or after a failed fork)
 *	-EAGAIN   journal_compact_start() while a compaction is running;
 *	          journal_compact_done() when the child failed (nothing was
 *	          deleted; try again later)
 *	-EIO      an earlier write or fsync failed.  The journal is broken
 *	          from then on: appends, syncs and compactions fail with -EIO
 *	          until it is closed and reopened, whatever the disk does
 *	          meanwhile.  A failed fsync is never retried.  (The call that
 *	          failed first returns the system call's own -errno, e.g.
 *	          -ENOSPC; every later one returns -EIO.)
 *	other     -errno from open/read/write/fsync/rename/fork, or any
 *	          negative value returned by a callback (it stops the replay
 *	          and is returned unchanged)
 *
 * Ownership: journal_open() gives the caller a journal that only
 * journal_close() releases.  journal_append() copies what it is given.
 * A record or snapshot blob handed to a callback is borrowed for that call
 * only.  encode() fills a struct buf owned by the child.
 *
 * Context: one thread.  journal_append() never waits for the disk (it
 * write()s into the page cache); journal_sync() does one fdatasync() for
 * everything appended since the last sync (group commit: cfsd calls it
 * once per loop iteration, before acknowledging anything).
 * journal_compact_start() blocks only for writing the (small) new journal
 * generation, never for the snapshot.  No clock is read.  Every system
 * call on durable state goes through core/sys.h.
 */
#ifndef STORE_JOURNAL_H
#define STORE_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/buf.h"
#include "core/util.h"

#define JOURNAL_MAGIC    0x4a534643u /* "CFSJ" read as le32 */
#define JOURNAL_FORMAT   1
#define JOURNAL_HDR_SIZE 40
#define JREC_HDR_SIZE    28
#define JREC_PAYLOAD_MAX (CFS_FILE_MAX + 2 * CFS_PATH_MAX + 4096)

enum jrec_type {
	JREC_ENTRY = 1, /* log entry (index, term); payload = entry bytes */
	JREC_STATE = 2, /* term = current term, index = commit index hint,
	                   payload = u32 voted_for (opaque to the journal) */
	JREC_TRUNC = 3, /* the log now ends at index (entries > index are
	                   discarded); term = term of the entry at index */
	JREC_TYPE_END   /* one past the last type; keep last */
};

/* A record.  p points into the caller's (or, in a callback, the
 * journal's) memory and lives exactly as long as that memory. */
struct jrec {
	uint16_t type; /* enum jrec_type */
	uint64_t index;
	uint64_t term;
	const uint8_t *p;
	uint32_t len;
};

/* Replay callbacks: return 0 to go on, or a negative errno to stop the
 * replay with it.  Either may be NULL (records/snapshot ignored). */
struct journal_cb {
	/* the snapshot at (index, term); called at most once, first */
	int (*snapshot)(void *ctx, uint64_t index, uint64_t term, const uint8_t *blob, size_t len);
	/* every valid record in order, with the implicit TRUNCs described
	 * above */
	int (*record)(void *ctx, const struct jrec *r);
	/* optional: the snapshot about to be given to snapshot(), or the
	 * generation whose records follow, is mapped read-only at base, and
	 * the blob or the records' payloads point into it.  Return true
	 * to own the mapping from now on (munmap(base, len) once nothing
	 * points into it), false to leave it to the journal, which unmaps it
	 * after snapshot() or that generation's replay. */
	bool (*mapped)(void *ctx, const uint8_t *base, size_t len);
};

/* Serialise the tree into out (called in the forked child, or in the
 * caller for journal_compact()).  0 or -errno. */
typedef int journal_encode_fn(void *ctx, struct buf *out);

struct journal;

/* Lock <dir>/lock, recover as described above (creating <dir> and
 * journal.1 on first use) and open the newest generation for appending. */
int journal_open(const char *dir, const struct journal_cb *cb, void *ctx, struct journal **out);

/* Write one record at the end of the current generation (no fsync).
 * ENTRY: index must be journal_last_index() + 1; TRUNC: index between
 * journal_base_index() and journal_last_index(); STATE: any. */
int journal_append(struct journal *j, const struct jrec *r);

/* Start writing what was appended to the disk, without waiting: the
 * journal_sync() that follows has less to wait for. */
void journal_writeback(struct journal *j);

/* One fdatasync() for everything appended since the last sync; returns 0
 * at once if nothing was appended. */
int journal_sync(struct journal *j);

/* Keep bytes zeros written ahead of the records of the current
 * generation (0, the default: none): a record then lands in space the
 * file already has, so its fdatasync() commits no file size or extent
 * change, only the data (ext4: no journal commit; about 15% off each sync
 * on the project machine).  The zeros are written once per `bytes` of
 * records, so every byte of the journal is written twice, zero then
 * record (at the device, where each sync writes whole 4 KiB pages, that
 * is about 6% more); on a full disk appends go on without them. */
void journal_set_prealloc(struct journal *j, uint64_t bytes);

/* true once a write or sync has failed (sticky, until journal_close) */
bool journal_broken(const struct journal *j);

uint64_t journal_size(const struct journal *j);       /* bytes in the current generation */
uint64_t journal_snap_size(const struct journal *j);  /* bytes of the newest snapshot, 0 if none */
uint64_t journal_gen(const struct journal *j);        /* current generation */
uint64_t journal_base_index(const struct journal *j); /* base_index of the current generation */
uint64_t journal_last_index(const struct journal *j); /* index of the last entry (or the base) */

/* Start compaction at (index, term), an entry of the log (or the base):
 * see above.  On success *child (untouched on errors) is the pid of the
 * snapshot writer; the caller must
 * waitpid() it and call journal_compact_done().  On an error before the
 * switch the journal stays on the old generation; if fork() fails after
 * the switch, -errno is returned and the new generation stays in use
 * (without snapshot; recovery copes). */
int journal_compact_start(struct journal *j, uint64_t index, uint64_t term,
                          journal_encode_fn *encode, void *ctx, pid_t *child);

/* After waitpid() of the child: wait_status as waitpid() gave it.  (A
 * journal closed without this call is like a crash: recovery copes.)  On
 * success (exit status 0) delete every older journal and snapshot and
 * fsync the directory; on failure keep them and return -EAGAIN. */
int journal_compact_done(struct journal *j, int wait_status);

/* Compaction without fork, for tests and offline tools: like
 * journal_compact_start() + journal_compact_done(), with encode() and the
 * snapshot write done in the calling process. */
int journal_compact(struct journal *j, uint64_t index, uint64_t term, journal_encode_fn *encode,
                    void *ctx);

/* A follower received a snapshot from the leader: make "snapshot at
 * (index, term), an empty log after it" the durable state (snap.<gen+1>
 * with blob, then journal.<gen+1> based at index holding the latest STATE
 * record), switch appends to it and delete older generations.  A running
 * compaction is waited for first.  0 or -errno (-EIO once broken). */
int journal_install(struct journal *j, uint64_t index, uint64_t term, const uint8_t *blob,
                    size_t len);

/* Release everything (NULL-safe).  Does not sync: call journal_sync()
 * first if the last appends must be durable. */
void journal_close(struct journal *j);

/* Offline, read-only recovery for cfs-dump: path is a state directory
 * (recovered as journal_open() would, but without the lock, without
 * creating, cutting or renaming anything: replay stops at the first
 * invalid record of the newest generation) or a single journal file
 * (its records from its base, no snapshot).  0 or -errno as above;
 * -ENOENT if the directory holds no journal. */
int journal_dump(const char *path, const struct journal_cb *cb, void *ctx);

#endif /* STORE_JOURNAL_H */
