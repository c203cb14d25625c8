/* store/tree.h - the in-memory file tree: directories and files with
 * versions, stable inode numbers, and a whole-tree encoding and digest.
 *
 * The tree knows nothing of Proxmox: the policy (names, limits, VMIDs,
 * locks) is store/rules.c, the only code that calls the mutators below.
 *
 * Invariants:
 *  1. The root is a directory with inode 0 and name "".  It always exists.
 *  2. tree_version() is the global version: rules_apply() takes one with
 *     tree_next_version() per successful mutation and stamps it on what
 *     changed (mutators never touch parents; rules.c stamps the root,
 *     which carries the global version, as pmxcfs does).  A new entry's
 *     inode is the version that created it (as in pmxcfs), so inodes are
 *     unique, never reused and never change (a rename keeps the inode).
 *  3. Children of a directory are hashed by name (lookup is O(depth));
 *     listings are in byte-wise (memcmp) name order, so every listing,
 *     tree_encode() and tree_digest() are deterministic.
 *  4. tree_count() (entries, root included) and tree_bytes() (sum of file
 *     sizes) are kept incrementally.
 *  5. Nothing here reads the clock: mtimes and writers come from callers.
 *
 * Encoding (tree_encode, TREE_FORMAT = 1), little-endian, field by field:
 *	Header, TREE_HDR_SIZE = 32 bytes:
 *	off len field
 *	  0   4 magic     TREE_MAGIC ("CFST" read as le32)
 *	  4   2 format    TREE_FORMAT
 *	  6   2 flags     0; unknown bits are -EBADMSG
 *	  8   8 version   tree_version()
 *	 16   4 count     entries, root included, <= CFS_INODES_MAX
 *	 20   8 bytes     sum of file sizes, <= CFS_FS_MAX
 *	 28   4 hdr_crc   crc32c(0, bytes 0..27)
 *	Then count entries in pre-order (a directory, then its children in
 *	name order, each followed by its own subtree), root first:
 *	  0   1 type      TREE_DIR or TREE_FILE (root: TREE_DIR)
 *	  1   1 flags     0
 *	  2   2 name_len  bytes of name, no NUL: root 0, others 1..CFS_NAME_MAX
 *	  4   4 mtime
 *	  8   4 writer
 *	 12   8 version   <= header version
 *	 20   8 inode     root 0; others 1..header version, all distinct
 *	 28   4 size      TREE_FILE: content bytes <= CFS_FILE_MAX;
 *	                  TREE_DIR: number of children
 *	 32   . name      no '/', no NUL, not "." or ".."; strictly greater
 *	                  than the previous sibling's name (memcmp order)
 *	  .   . data      TREE_FILE only: size bytes
 *	Trailer: 4 bytes crc32c(0, every byte before it).
 * The blob is exactly that long; the counts must add up, and every full
 * path must fit CFS_PATH_MAX.
 *
 * Digest (tree_digest): TREE_DIGEST_SIZE = 16 bytes, two XXH64 hashes
 * (seeds 0 and TREE_DIGEST_SEED2, each stored little-endian) over the
 * stream of, for each entry in pre-order: le16 depth, u8 type, le16
 * name_len, name, le32 mtime, le32 size (files: content bytes, dirs:
 * children), file data.  It covers names, structure, types, contents and
 * mtimes, not inodes, versions or writers: two nodes holding the same
 * files compare equal.  Equal tree_encode() blobs are the stronger check
 * (same history).  Not a cryptographic hash: it detects divergence, it
 * does not resist forgery.
 *
 * Errors: 0 or a negative errno:
 *	-EBADMSG  tree_decode(): the blob does not validate (anything above)
 *	-ENOENT -ENOTDIR  tree_resolve()
 *	-ENAMETOOLONG     tree_node_path()
 *	-EEXIST -ENOTDIR -EISDIR -EFBIG -ENOTEMPTY -EBUSY -EINVAL  mutators,
 *	          see each function; a mutator that fails changed nothing
 * Limits (CFS_*_MAX) are not enforced by the mutators; rules.c does that.
 *
 * Ownership: tree_new()/tree_decode() give a tree that tree_free()
 * releases; the tree owns every node, name and content.  Node pointers
 * returned by lookups and iterators are borrowed: valid until that node is
 * deleted or the tree freed.  Iteration order (first_child/next_sibling)
 * is valid until the next change to the tree.  Mutators copy what they
 * are given.
 *
 * Context: single thread.  Lookups and iterators take a const tree but
 * may update the per-directory sorted-order cache inside it.
 */
#ifndef STORE_TREE_H
#define STORE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

#define TREE_MAGIC        0x54534643u /* "CFST" read as le32 */
#define TREE_FORMAT       1
#define TREE_HDR_SIZE     32
#define TREE_ENT_SIZE     32
#define TREE_DIGEST_SIZE  16
#define TREE_DIGEST_SEED2 0x63667362u /* "cfsb" */

enum tree_type {
	TREE_DIR = 1,
	TREE_FILE = 2,
};

struct tree_node {
	/* readable by everyone */
	char *name;               /* "" for the root; owned */
	struct tree_node *parent; /* NULL for the root */
	enum tree_type type;
	uint32_t mtime;     /* seconds since the epoch, from the op */
	uint32_t writer;    /* node id that created or last changed it */
	uint64_t version;   /* global version when last changed */
	uint64_t inode;     /* stable: the version that created it */
	uint8_t *data;      /* TREE_FILE content; NULL when size is 0 */
	uint32_t size;      /* TREE_FILE: content bytes */
	uint32_t nchildren; /* TREE_DIR: number of children */

	/* private to tree.c */
	uint16_t name_len;
	uint32_t hash;             /* of name */
	struct tree_node *hnext;   /* next in the parent's hash bucket */
	struct tree_node **slots;  /* TREE_DIR: hash buckets */
	uint32_t nslots;           /* power of two, 0 before the first child */
	struct tree_node **sorted; /* TREE_DIR: children in name order */
	bool sorted_ok;            /* sorted[] matches the children */
	bool lent;                 /* data points into a lent mapping */
	uint32_t sorted_idx;       /* own index in parent->sorted */
};

struct tree;

/* An empty tree: just the root (version 0, mtime 0, writer 0). */
int tree_new(struct tree **out);
void tree_free(struct tree *t); /* NULL-safe */

/* Lending, for a fast start: the journal being replayed is mapped
 * read-only, and while a lend is open a tree_write() of a file's whole
 * content from inside that mapping makes the node point there instead of
 * copying.  tree_lend() hands the mapping to the tree (closing the lend
 * open before); the tree munmap()s a mapping once its lend is closed and
 * no node points into it any more (content rewritten, file removed, tree
 * freed).  tree_lend_close() closes the open lend; tree_unlend() copies
 * every lent content into the heap and unmaps all (after a compaction,
 * so that the disk space of the journal it replaced is freed). */
void tree_lend(struct tree *t, const uint8_t *base, size_t len);
void tree_lend_close(struct tree *t);
void tree_unlend(struct tree *t);

const struct tree_node *tree_root(const struct tree *t);

/* The node at a canonical path ("" = root), or NULL.  O(depth).
 * A non-canonical path simply yields NULL or the canonical match of its
 * components (empty components are skipped). */
const struct tree_node *tree_lookup(const struct tree *t, const char *path);

/* Like tree_lookup(), but also reports why it failed: 0 and *out, or
 * -ENOENT (a component is missing) or -ENOTDIR (a non-final component is
 * a file). */
int tree_resolve(const struct tree *t, const char *path, const struct tree_node **out);

/* The child called name (len bytes, no NUL needed) of dir, or NULL. */
const struct tree_node *tree_child(const struct tree_node *dir, const char *name, size_t len);

/* Children in name order: first child of dir (NULL if none or not a dir),
 * then the next sibling of n (NULL after the last). */
const struct tree_node *tree_node_first_child(const struct tree_node *dir);
const struct tree_node *tree_node_next_sibling(const struct tree_node *n);

/* The canonical path of n into dst (size bytes): 0 or -ENAMETOOLONG. */
int tree_node_path(const struct tree_node *n, char *dst, size_t size);

/* Visit every node in pre-order, children in name order, root first.
 * fn returns 0 to go on, else the walk stops and returns that value.
 * fn must not change the tree. */
typedef int tree_walk_fn(void *ctx, const struct tree_node *n, unsigned depth);
int tree_walk(const struct tree *t, tree_walk_fn *fn, void *ctx);

uint64_t tree_version(const struct tree *t); /* global version */
size_t tree_count(const struct tree *t);     /* entries, root included */
size_t tree_bytes(const struct tree *t);     /* content bytes */

/* Whole-tree snapshot blob (format above), appended to out. */
int tree_encode(const struct tree *t, struct buf *out);
/* Validate and load a blob: 0 and *out, or -EBADMSG (nothing leaks). */
int tree_decode(const uint8_t *p, size_t n, struct tree **out);
/* The same, where p may lie in the open lend of the tree from (the
 * snapshot being recovered, mapped; from has nothing in it yet): then the
 * new tree takes that lend over and its files point into the mapping.
 * On failure from keeps it. */
int tree_decode_lent(const uint8_t *p, size_t n, struct tree *from, struct tree **out);

/* 16-byte digest of the content (see above).  O(nodes + bytes). */
void tree_digest(const struct tree *t, uint8_t out[TREE_DIGEST_SIZE]);

/* XXH64 of one buffer (exposed for tests and reuse). */
uint64_t tree_xxh64(const void *p, size_t n, uint64_t seed);

/*
 * Mutators: for store/rules.c only.  They check structure, not policy.
 * Each stamps the version v (from tree_next_version(), taken once per
 * op) on what it changes.
 */

/* The version to stamp on the next mutation: tree_version() + 1, and
 * tree_version() becomes that. */
uint64_t tree_next_version(struct tree *t);

/* Make a new empty file or directory called name in dir: inode = version
 * = v.  The parent is not changed (as pmxcfs: the root carries the global
 * version, rules.c stamps it).  -ENOTDIR if dir is not a directory,
 * -EEXIST if the name exists.  *out (may be NULL) borrows it. */
int tree_add(struct tree *t, struct tree_node *dir, const char *name, enum tree_type type,
             uint64_t v, uint32_t mtime, uint32_t writer, struct tree_node **out);

/* Write len bytes at offset into file n (zero-filling a gap); with trunc
 * the size becomes exactly offset + len, else max(size, offset + len).
 * Sets version, mtime and writer.  -EISDIR for a directory, -EFBIG if
 * offset + len exceeds UINT32_MAX. */
int tree_write(struct tree *t, struct tree_node *n, uint64_t offset, const uint8_t *data,
               uint32_t len, bool trunc, uint64_t v, uint32_t mtime, uint32_t writer);

/* Set mtime, writer and version of n. */
void tree_touch(struct tree *t, struct tree_node *n, uint64_t v, uint32_t mtime, uint32_t writer);

/* Delete n (a file or an empty directory); n is freed.  -EBUSY for the
 * root, -ENOTEMPTY for a non-empty dir. */
int tree_remove(struct tree *t, struct tree_node *n);

/* Move n into dir under name, keeping its inode; n gets version v, mtime
 * and writer (as pmxcfs memdb_rename).  The name must be free
 * (-EEXIST), dir a directory (-ENOTDIR), dir not n or below n (-EINVAL),
 * n not the root (-EBUSY). */
int tree_move(struct tree *t, struct tree_node *n, struct tree_node *dir, const char *name,
              uint64_t v, uint32_t mtime, uint32_t writer);

/* Writable view of a node of t (the tree owns it; for rules.c). */
struct tree_node *tree_mut(struct tree *t, const struct tree_node *n);

#endif /* STORE_TREE_H */
