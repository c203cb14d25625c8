/* tests/unit/test_rules.c - store/rules: every errno of spec §3-§5 and
 * §7.1, VMID list, locks, modes, counters, determinism */
#include <errno.h>
#include <stdlib.h>
#include "core/buf.h"
#include "core/util.h"
#include "store/op.h"
#include "store/rules.h"
#include "store/tree.h"
#include "tests/t.h"

static uint32_t W = 1;    /* writer of the ops below */
static uint32_t M = 1000; /* mtime of the ops below */

/* Apply op; rules_check() must predict the result, and a failed op must
 * change nothing (version and digest). */
static int ap_(struct rules *r, const struct op *op, int line)
{
	uint64_t v = tree_version(rules_tree(r));
	uint8_t d1[TREE_DIGEST_SIZE], d2[TREE_DIGEST_SIZE];
	int chk = rules_check(r, op), rc;
	/* hashing a big tree twice per op would dominate the run time */
	bool small = tree_bytes(rules_tree(r)) < 4096 * 1024 && tree_count(rules_tree(r)) < 4096;

	if (small)
		tree_digest(rules_tree(r), d1);
	rc = rules_apply(r, op);
	if (chk != rc)
		t_fail(__FILE__, line, "rules_check %d != rules_apply %d", chk, rc);
	if (rc || op->type == OP_NOOP) {
		if (small)
			tree_digest(rules_tree(r), d2);
		if (tree_version(rules_tree(r)) != v || (small && memcmp(d1, d2, sizeof(d1))))
			t_fail(__FILE__, line, "failed op changed the tree");
	} else if (tree_version(rules_tree(r)) != v + 1 &&
	           !(op->type == OP_RENAME && !strcmp(op->path, op->to))) {
		t_fail(__FILE__, line, "version %llu, want %llu",
		       (unsigned long long)tree_version(rules_tree(r)), (unsigned long long)v + 1);
	}
	return rc;
}
#define AP(r, ...) ap_((r), &(struct op){ __VA_ARGS__ }, __LINE__)

#define MKDIR(r, p)    AP(r, .type = OP_MKDIR, .writer = W, .mtime = M, .path = (p))
#define CREATE(r, p)   AP(r, .type = OP_CREATE, .writer = W, .mtime = M, .path = (p))
#define DEL(r, p)      AP(r, .type = OP_DELETE, .writer = W, .mtime = M, .path = (p))
#define REN(r, p, t)   AP(r, .type = OP_RENAME, .writer = W, .mtime = M, .path = (p), .to = (t))
#define MTIME(r, p, m) AP(r, .type = OP_MTIME, .writer = W, .mtime = M, .path = (p), .offset = (m))
#define PUT(r, p, s)                                                                              \
	AP(r, .type = OP_PUT, .writer = W, .mtime = M, .path = (p), .data = (const uint8_t *)(s), \
	   .len = (uint32_t)strlen(s))
#define PUTX(r, p, s)                                                                   \
	AP(r, .type = OP_PUT, .flags = OP_F_EXCL, .writer = W, .mtime = M, .path = (p), \
	   .data = (const uint8_t *)(s), .len = (uint32_t)strlen(s))
#define WRITE(r, p, off, s, fl)                                                      \
	AP(r, .type = OP_WRITE, .flags = (fl), .writer = W, .mtime = M, .path = (p), \
	   .offset = (off), .data = (const uint8_t *)(s), .len = (uint32_t)strlen(s))

static const struct tree_node *L(struct rules *r, const char *p)
{
	return tree_lookup(rules_tree(r), p);
}

static struct rules *pve(void)
{
	struct rules *r = rules_new(NULL);

	T_EQ_INT(MKDIR(r, "nodes"), 0);
	T_EQ_INT(MKDIR(r, "nodes/pve1"), 0);
	T_EQ_INT(MKDIR(r, "nodes/pve1/qemu-server"), 0);
	T_EQ_INT(MKDIR(r, "nodes/pve1/lxc"), 0);
	T_EQ_INT(MKDIR(r, "nodes/pve1/priv"), 0);
	T_EQ_INT(MKDIR(r, "nodes/pve2"), 0);
	T_EQ_INT(MKDIR(r, "nodes/pve2/qemu-server"), 0);
	T_EQ_INT(MKDIR(r, "nodes/pve2/lxc"), 0);
	T_EQ_INT(MKDIR(r, "priv"), 0);
	T_EQ_INT(MKDIR(r, "priv/lock"), 0);
	return r;
}

/* check_memdb.c (a): directories */
static void test_memdb_dirs(void)
{
	struct rules *r = rules_new(NULL);

	T_EQ_INT(MKDIR(r, "a"), 0);
	T_EQ_INT(MKDIR(r, "a"), -EEXIST);
	T_EQ_INT(MKDIR(r, "x/y"), -ENOENT);
	T_EQ_INT(DEL(r, "x"), -ENOENT);
	T_EQ_INT(MKDIR(r, "a/b"), 0);
	T_EQ_INT(DEL(r, "a"), -ENOTEMPTY);
	T_EQ_INT(DEL(r, "a/b"), 0);
	T_EQ_INT(DEL(r, "a"), 0);
	T_EQ_INT(DEL(r, "a"), -ENOENT);
	T_EQ_INT(tree_count(rules_tree(r)), 1);
	T_EQ_INT(tree_version(rules_tree(r)), 4);
	rules_free(r);
}

/* check_memdb.c (b): files, partial overwrite 012X45X789 */
static void test_memdb_files(void)
{
	struct rules *r = rules_new(NULL);
	const struct tree_node *n;

	T_EQ_INT(CREATE(r, "f"), 0);
	T_EQ_INT(CREATE(r, "f"), -EEXIST);
	T_EQ_INT(L(r, "f")->inode, 1);
	T_EQ_INT(WRITE(r, "g", 0, "x", 0), -ENOENT);
	T_EQ_INT(WRITE(r, "f", 0, "0123456789", OP_F_TRUNC), 0);
	T_EQ_INT(WRITE(r, "f", 3, "X", 0), 0);
	T_EQ_INT(WRITE(r, "f", 6, "X", 0), 0);
	n = L(r, "f");
	T_EQ_INT(n->size, 10);
	T_EQ_MEM(n->data, "012X45X789", 10);
	T_EQ_INT(n->inode, 1);
	T_EQ_INT(n->version, 4);
	T_EQ_INT(n->mtime, M);
	T_EQ_INT(n->writer, W);
	/* truncate-write: offset 4, no data, trunc */
	T_EQ_INT(WRITE(r, "f", 4, "", OP_F_TRUNC), 0);
	T_EQ_INT(L(r, "f")->size, 4);
	T_EQ_MEM(L(r, "f")->data, "012X", 4);
	/* zero-filling a gap */
	T_EQ_INT(WRITE(r, "f", 6, "ab", 0), 0);
	T_EQ_MEM(L(r, "f")->data, "012X\0\0ab", 8);
	T_EQ_INT(tree_bytes(rules_tree(r)), 8);
	T_EQ_INT(DEL(r, "f"), 0);
	T_EQ_INT(DEL(r, "f"), -ENOENT);
	T_EQ_INT(tree_bytes(rules_tree(r)), 0);
	rules_free(r);
}

/* pmxcfs bookkeeping: the root carries the global version and the last
 * op's mtime/writer; parents are not touched; rename sets mtime */
static void test_stamps(void)
{
	struct rules *r = rules_new(NULL);
	const struct tree_node *root = tree_root(rules_tree(r)), *d;

	W = 3;
	M = 500;
	T_EQ_INT(MKDIR(r, "d"), 0);
	d = L(r, "d");
	W = 4;
	M = 600;
	T_EQ_INT(PUT(r, "d/f", "x"), 0);
	T_EQ_INT(root->version, tree_version(rules_tree(r)));
	T_EQ_INT(root->mtime, 600);
	T_EQ_INT(root->writer, 4);
	T_EQ_INT(d->version, 1);
	T_EQ_INT(d->mtime, 500);
	T_EQ_INT(d->writer, 3);
	M = 700;
	T_EQ_INT(REN(r, "d/f", "g"), 0);
	T_EQ_INT(L(r, "g")->mtime, 700);
	T_EQ_INT(L(r, "g")->inode, 2);
	T_EQ_INT(L(r, "g")->version, 3);
	T_EQ_INT(d->version, 1);
	M = 800;
	T_EQ_INT(MTIME(r, "missing", 5), -ENOENT);
	T_EQ_INT(root->mtime, 700); /* a failed op stamps nothing */
	T_EQ_INT(MTIME(r, "g", 5), 0);
	T_EQ_INT(L(r, "g")->mtime, 5);
	T_EQ_INT(root->mtime, 800);
	T_EQ_INT(AP(r, .type = OP_NOOP, .path = "", .mtime = 900), 0);
	T_EQ_INT(root->mtime, 800);
	W = 1;
	M = 1000;
	rules_free(r);
}

/* reload = encode, decode, new rules (the tree is a pure function of it) */
static struct rules *reload(struct rules *r)
{
	struct buf b = { 0 };
	struct tree *t;

	tree_encode(rules_tree(r), &b);
	T_EQ_INT(tree_decode(b.p, b.len, &t), 0);
	buf_free(&b);
	rules_free(r);
	return rules_new(t);
}

/* check_memdb.c loaddb1/loaddb2: moves give children lower inodes than
 * their new parents; the reloaded tree must still know them */
static void test_memdb_loaddb(void)
{
	struct rules *r = rules_new(NULL);

	T_EQ_INT(MKDIR(r, "dir1"), 0);
	T_EQ_INT(CREATE(r, "dir1/file1"), 0);
	T_EQ_INT(CREATE(r, "dir1/file2"), 0);
	T_EQ_INT(MKDIR(r, "dir2"), 0);
	T_EQ_INT(REN(r, "dir1/file1", "dir2/file1"), 0);
	T_EQ_INT(REN(r, "dir1/file2", "dir2/file2"), 0);
	T_EQ_INT(CREATE(r, "dir2/file1"), -EEXIST);
	T_EQ_INT(CREATE(r, "dir2/file2"), -EEXIST);
	r = reload(r);
	T_EQ_INT(CREATE(r, "dir2/file1"), -EEXIST);
	T_EQ_INT(CREATE(r, "dir2/file2"), -EEXIST);
	T_EQ_INT(L(r, "dir2/file1")->inode, 2);
	T_EQ_INT(L(r, "dir2")->inode, 4);
	rules_free(r);

	r = rules_new(NULL);
	T_EQ_INT(MKDIR(r, "dir1"), 0);
	T_EQ_INT(MKDIR(r, "dir1/sd1"), 0);
	T_EQ_INT(CREATE(r, "dir1/file1"), 0);
	T_EQ_INT(CREATE(r, "dir1/file2"), 0);
	T_EQ_INT(MKDIR(r, "dir2"), 0);
	T_EQ_INT(REN(r, "dir1/sd1", "dir2/sd1"), 0);
	T_EQ_INT(REN(r, "dir1/file1", "dir2/sd1/file1"), 0);
	T_EQ_INT(REN(r, "dir1/file2", "dir2/sd1/file2"), 0);
	T_EQ_INT(CREATE(r, "dir2/file3"), 0);
	T_EQ_INT(MKDIR(r, "dir2/sd1"), -EEXIST);
	r = reload(r);
	T_EQ_INT(MKDIR(r, "dir2/sd1"), -EEXIST);
	T_EQ_INT(L(r, "dir2/sd1/file2")->inode, 4);
	T_EQ_INT(tree_count(rules_tree(r)), 7);
	rules_free(r);
}

/* check_memdb.c indextest1: 100 x (create + 32 KiB write).  pmxcfs starts
 * a fresh database at version 1 (version 201, last inode 200); cfsbox
 * starts at 0, so everything is one lower. */
static void test_memdb_index(void)
{
	struct rules *r = rules_new(NULL);
	uint8_t *data = calloc(1, 32 * 1024);
	char name[32];
	uint64_t last = 0;

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "testfile%d", i);
		T_EQ_INT(rules_apply(
		                 r, &(struct op){ .type = OP_CREATE, .path = name, .mtime = 1234 }),
		         0);
		T_EQ_INT(rules_apply(r, &(struct op){ .type = OP_WRITE,
		                                      .path = name,
		                                      .mtime = 1234,
		                                      .data = data,
		                                      .len = 32 * 1024 }),
		         0);
		if (L(r, name)->inode > last)
			last = L(r, name)->inode;
	}
	T_EQ_INT(tree_count(rules_tree(r)), 101);
	T_EQ_INT(tree_version(rules_tree(r)), 200);
	T_EQ_INT(last, 199);
	T_EQ_INT(tree_bytes(rules_tree(r)), 100 * 32 * 1024);
	T_EQ_INT(tree_root(rules_tree(r))->version, 200);
	T_EQ_INT(tree_root(rules_tree(r))->writer, 0);
	T_EQ_INT(tree_root(rules_tree(r))->mtime, 1234);
	free(data);
	rules_free(r);
}

static void test_put(void)
{
	struct rules *r = rules_new(NULL);
	uint64_t ino;

	T_EQ_INT(PUTX(r, "p", "hello"), 0);
	T_EQ_INT(PUTX(r, "p", "again"), -EEXIST);
	ino = L(r, "p")->inode;
	T_EQ_INT(PUT(r, "p", "hi"), 0);
	T_EQ_INT(L(r, "p")->size, 2);
	T_EQ_MEM(L(r, "p")->data, "hi", 2);
	T_EQ_INT(L(r, "p")->inode, ino);
	T_EQ_INT(PUT(r, "p", ""), 0);
	T_EQ_INT(L(r, "p")->size, 0);
	T_EQ_INT(MKDIR(r, "d"), 0);
	T_EQ_INT(PUT(r, "d", "x"), -EISDIR);
	T_EQ_INT(PUTX(r, "d", "x"), -EEXIST);
	T_EQ_INT(PUT(r, "d/x/y", "x"), -ENOENT);
	T_EQ_INT(PUT(r, "p/x", "x"), -ENOTDIR);
	T_EQ_INT(PUT(r, "d/new", "abc"), 0);
	T_EQ_INT(L(r, "d/new")->inode, tree_version(rules_tree(r)));
	T_EQ_INT(tree_bytes(rules_tree(r)), 3);
	rules_free(r);
}

static void test_efbig(void)
{
	struct rules *r = rules_new(NULL);
	uint8_t *big = calloc(1, CFS_FILE_MAX + 1);

	T_EQ_INT(CREATE(r, "f"), 0);
	T_EQ_INT(AP(r, .type = OP_WRITE, .path = "f", .offset = CFS_FILE_MAX - 1, .data = big,
	            .len = 1),
	         0);
	T_EQ_INT(L(r, "f")->size, CFS_FILE_MAX);
	T_EQ_INT(
	        AP(r, .type = OP_WRITE, .path = "f", .offset = CFS_FILE_MAX, .data = big, .len = 1),
	        -EFBIG);
	T_EQ_INT(AP(r, .type = OP_WRITE, .path = "f", .offset = CFS_FILE_MAX + 1,
	            .flags = OP_F_TRUNC),
	         -EFBIG); /* truncate beyond */
	T_EQ_INT(AP(r, .type = OP_WRITE, .path = "f", .offset = UINT64_MAX, .data = big, .len = 1),
	         -EFBIG);
	/* checked before anything else: missing file, reserved name, bad path */
	T_EQ_INT(AP(r, .type = OP_WRITE, .path = "nope", .offset = CFS_FILE_MAX, .data = big,
	            .len = 1),
	         -EFBIG);
	T_EQ_INT(AP(r, .type = OP_WRITE, .path = ".version", .offset = CFS_FILE_MAX, .data = big,
	            .len = 1),
	         -EFBIG);
	T_EQ_INT(AP(r, .type = OP_WRITE, .path = "a/../b", .offset = CFS_FILE_MAX, .data = big,
	            .len = 1),
	         -EFBIG);
	T_EQ_INT(AP(r, .type = OP_PUT, .path = "g", .data = big, .len = CFS_FILE_MAX + 1), -EFBIG);
	T_EQ_INT(AP(r, .type = OP_PUT, .path = "g", .data = big, .len = CFS_FILE_MAX), 0);
	T_EQ_INT(tree_bytes(rules_tree(r)), 2 * CFS_FILE_MAX);
	free(big);
	rules_free(r);
}

static void test_enospc_bytes(void)
{
	struct rules *r = rules_new(NULL);
	uint8_t *big = calloc(1, CFS_FILE_MAX);
	char name[16];

	for (int i = 0; i < CFS_FS_MAX / CFS_FILE_MAX; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		T_EQ_INT(AP(r, .type = OP_PUT, .path = name, .data = big, .len = CFS_FILE_MAX), 0);
	}
	T_EQ_INT(tree_bytes(rules_tree(r)), CFS_FS_MAX);
	T_EQ_INT(PUT(r, "one", "x"), -ENOSPC);
	T_EQ_INT(CREATE(r, "empty"), 0); /* no bytes: fine */
	T_EQ_INT(WRITE(r, "empty", 0, "x", 0), -ENOSPC);
	T_EQ_INT(WRITE(r, "f0", CFS_FILE_MAX - 1, "x", 0), 0); /* overwrite: same size */
	/* replacing content with the same amount is fine, shrinking frees */
	T_EQ_INT(AP(r, .type = OP_PUT, .path = "f1", .data = big, .len = CFS_FILE_MAX), 0);
	T_EQ_INT(WRITE(r, "f1", 10, "", OP_F_TRUNC), 0);
	T_EQ_INT(WRITE(r, "empty", 0, "x", 0), 0);
	T_EQ_INT(tree_bytes(rules_tree(r)), CFS_FS_MAX - CFS_FILE_MAX + 11);
	free(big);
	rules_free(r);
}

static void test_enospc_entries(void)
{
	struct rules *r = rules_new(NULL);
	char name[32];
	int i = 0;

	for (int d = 0; tree_count(rules_tree(r)) < CFS_INODES_MAX; d++) {
		snprintf(name, sizeof(name), "d%d", d);
		T_EQ_INT(rules_apply(r, &(struct op){ .type = OP_MKDIR, .path = name }), 0);
		for (int k = 0; k < 1023 && tree_count(rules_tree(r)) < CFS_INODES_MAX; k++) {
			snprintf(name, sizeof(name), "d%d/%d", d, k);
			T_EQ_INT(rules_apply(r, &(struct op){ .type = OP_CREATE, .path = name }),
			         0);
			i++;
		}
	}
	T_EQ_INT(tree_count(rules_tree(r)), CFS_INODES_MAX);
	T_EQ_INT(CREATE(r, "x"), -ENOSPC);
	T_EQ_INT(MKDIR(r, "x"), -ENOSPC);
	T_EQ_INT(PUT(r, "x", ""), -ENOSPC);
	T_EQ_INT(PUT(r, "d0/0", "replace is fine"), 0);
	T_EQ_INT(REN(r, "d0/0", "d0/renamed"), 0);
	T_EQ_INT(DEL(r, "d0/1"), 0);
	T_EQ_INT(CREATE(r, "x"), 0);
	T_EQ_INT(CREATE(r, "y"), -ENOSPC);
	rules_free(r);
}

static void test_eacces_names(void)
{
	struct rules *r = rules_new(NULL);
	static const char *bad[] = {
		"a/./b", "a/../b", ".", "..", "a//b", "/a", "a/", "/", "x/.."
	};
	static const char *res[] = {
		"local",       "qemu-server", "lxc",     "openvz",
		".version",    ".members",    ".vmlist", ".rrd",
		".clusterlog", ".debug",      "local/x", "qemu-server/100.conf"
	};

	T_EQ_INT(MKDIR(r, "a"), 0);
	T_EQ_INT(CREATE(r, "a/f"), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		T_EQ_INT(CREATE(r, bad[i]), -EACCES);
		T_EQ_INT(MKDIR(r, bad[i]), -EACCES);
		T_EQ_INT(WRITE(r, bad[i], 0, "x", 0), -EACCES);
		T_EQ_INT(PUT(r, bad[i], "x"), -EACCES);
		T_EQ_INT(MTIME(r, bad[i], 5), -EACCES);
		T_EQ_INT(DEL(r, bad[i]), -EACCES);
		T_EQ_INT(REN(r, bad[i], "a/g"), -EACCES);
		T_EQ_INT(REN(r, "a/f", bad[i]), -EACCES);
	}
	for (size_t i = 0; i < ARRAY_SIZE(res); i++) {
		T_ASSERT(rules_is_reserved(res[i]));
		T_EQ_INT(CREATE(r, res[i]), -EACCES);
		T_EQ_INT(MKDIR(r, res[i]), -EACCES);
		T_EQ_INT(PUT(r, res[i], "x"), -EACCES);
		T_EQ_INT(WRITE(r, res[i], 0, "x", 0), -EACCES);
		T_EQ_INT(MTIME(r, res[i], 5), -EACCES);
		T_EQ_INT(DEL(r, res[i]), -EACCES);
		T_EQ_INT(REN(r, "a/f", res[i]), -EACCES);
		T_EQ_INT(REN(r, res[i], "a/g"), -EACCES);
	}
	/* reserved only in the root */
	T_ASSERT(!rules_is_reserved("a/local"));
	T_ASSERT(!rules_is_reserved("localx"));
	T_EQ_INT(CREATE(r, "a/local"), 0);
	T_EQ_INT(CREATE(r, ".versions"), 0);
	/* the root itself */
	T_EQ_INT(DEL(r, ""), -EACCES);
	T_EQ_INT(MKDIR(r, ""), -EACCES);
	T_EQ_INT(CREATE(r, ""), -EACCES);
	T_EQ_INT(PUT(r, "", "x"), -EACCES);
	T_EQ_INT(MTIME(r, "", 5), -EACCES);
	T_EQ_INT(REN(r, "", "b"), -EACCES);
	T_EQ_INT(REN(r, "a", ""), -EACCES);
	rules_free(r);
}

static void test_einval_enametoolong(void)
{
	struct rules *r = rules_new(NULL);
	char name[CFS_NAME_MAX + 2];
	char *path = malloc(CFS_PATH_MAX + 1);

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	T_EQ_INT(CREATE(r, name), -ENAMETOOLONG);
	name[CFS_NAME_MAX] = 0;
	T_EQ_INT(CREATE(r, name), 0);
	memset(path, 'p', CFS_PATH_MAX);
	path[CFS_PATH_MAX] = 0;
	T_EQ_INT(CREATE(r, path), -ENAMETOOLONG);
	free(path);
	T_EQ_INT(AP(r, .type = OP_CREATE, .flags = OP_F_TRUNC, .path = "x"), -EINVAL);
	T_EQ_INT(AP(r, .type = OP_MKDIR, .offset = 1, .path = "x"), -EINVAL);
	T_EQ_INT(AP(r, .type = 42, .path = "x"), -EINVAL);
	T_EQ_INT(AP(r, .type = OP_CREATE, .path = NULL), -EINVAL);
	T_EQ_INT(AP(r, .type = OP_RENAME, .path = "x", .to = NULL), -EINVAL);
	T_EQ_INT(AP(r, .type = OP_NOOP, .path = "x"), -EINVAL);
	T_EQ_INT(AP(r, .type = OP_NOOP, .path = ""), 0);
	/* a directory into itself */
	T_EQ_INT(MKDIR(r, "d"), 0);
	T_EQ_INT(REN(r, "d", "d/e"), -EINVAL);
	rules_free(r);
}

static void test_enotdir_eisdir(void)
{
	struct rules *r = rules_new(NULL);

	T_EQ_INT(CREATE(r, "f"), 0);
	T_EQ_INT(MKDIR(r, "d"), 0);
	T_EQ_INT(CREATE(r, "f/x"), -ENOTDIR);
	T_EQ_INT(MKDIR(r, "f/x"), -ENOTDIR);
	T_EQ_INT(MKDIR(r, "f/x/y"), -ENOTDIR);
	T_EQ_INT(DEL(r, "f/x"), -ENOTDIR);
	T_EQ_INT(WRITE(r, "f/x", 0, "", 0), -ENOTDIR);
	T_EQ_INT(MTIME(r, "f/x", 1), -ENOTDIR);
	T_EQ_INT(REN(r, "f/x", "g"), -ENOTDIR);
	T_EQ_INT(REN(r, "d", "f/x"), -ENOTDIR);
	T_EQ_INT(REN(r, "d", "f"), -ENOTDIR); /* dir onto file */
	T_EQ_INT(WRITE(r, "d", 0, "x", 0), -EISDIR);
	T_EQ_INT(PUT(r, "d", "x"), -EISDIR);
	T_EQ_INT(REN(r, "f", "d"), -EISDIR); /* file onto dir */
	rules_free(r);
}

static void test_rename(void)
{
	struct rules *r = rules_new(NULL);
	uint64_t ino, v;

	T_EQ_INT(PUT(r, "a", "A"), 0);
	T_EQ_INT(PUT(r, "b", "B"), 0);
	T_EQ_INT(MKDIR(r, "d"), 0);
	T_EQ_INT(MKDIR(r, "e"), 0);
	T_EQ_INT(MKDIR(r, "full"), 0);
	T_EQ_INT(CREATE(r, "full/x"), 0);
	ino = L(r, "a")->inode;
	T_EQ_INT(REN(r, "missing", "z"), -ENOENT);
	T_EQ_INT(REN(r, "a", "nodir/z"), -ENOENT);
	/* file replaces file: one entry and its bytes go */
	T_EQ_INT(REN(r, "a", "b"), 0);
	T_ASSERT(L(r, "a") == NULL);
	T_EQ_INT(L(r, "b")->inode, ino);
	T_EQ_MEM(L(r, "b")->data, "A", 1);
	T_EQ_INT(L(r, "b")->version, tree_version(rules_tree(r)));
	T_EQ_INT(tree_count(rules_tree(r)), 6);
	T_EQ_INT(tree_bytes(rules_tree(r)), 1);
	/* empty dir replaces empty dir; into a subdirectory */
	T_EQ_INT(REN(r, "d", "e"), 0);
	T_EQ_INT(L(r, "e")->type, TREE_DIR);
	T_EQ_INT(REN(r, "b", "e/b"), 0);
	T_EQ_INT(REN(r, "e", "full"), -ENOTEMPTY); /* source not empty */
	T_EQ_INT(MKDIR(r, "d"), 0);
	T_EQ_INT(REN(r, "d", "full"), -ENOTEMPTY); /* target not empty */
	/* same path: success, nothing changes */
	v = tree_version(rules_tree(r));
	T_EQ_INT(REN(r, "e/b", "e/b"), 0);
	T_EQ_INT(tree_version(rules_tree(r)), v);
	T_EQ_INT(REN(r, "nope", "nope"), -ENOENT);
	rules_free(r);
}

static void test_locks(void)
{
	struct rules *r = pve();
	const struct tree_node *n;
	uint64_t v;

	W = 1;
	M = 1000;
	T_EQ_INT(MKDIR(r, "priv/lock/file-storage_cfg"), 0);
	W = 2;
	T_EQ_INT(MKDIR(r, "priv/lock/file-storage_cfg"), -EEXIST); /* held */
	n = L(r, "priv/lock/file-storage_cfg");
	T_EQ_INT(n->writer, 1);
	/* renew: other writer refused, same writer with an older mtime refused */
	T_EQ_INT(MTIME(r, "priv/lock/file-storage_cfg", 1010), -EACCES);
	W = 1;
	T_EQ_INT(MTIME(r, "priv/lock/file-storage_cfg", 999), -EACCES);
	T_EQ_INT(MTIME(r, "priv/lock/file-storage_cfg", 1000), 0);
	T_EQ_INT(MTIME(r, "priv/lock/file-storage_cfg", 1030), 0);
	T_EQ_INT(n->mtime, 1030);
	T_EQ_INT(n->version, tree_version(rules_tree(r)));
	/* unlock request (mtime 0): refused, nothing changes (checked by AP) */
	v = n->version;
	T_EQ_INT(MTIME(r, "priv/lock/file-storage_cfg", 0), -EACCES);
	W = 2;
	T_EQ_INT(MTIME(r, "priv/lock/file-storage_cfg", 0), -EACCES);
	T_EQ_INT(n->mtime, 1030);
	T_EQ_INT(n->version, v);
	/* lock dirs cannot be renamed, nor replaced by a rename */
	W = 1;
	T_EQ_INT(REN(r, "priv/lock/file-storage_cfg", "priv/lock/other"), -EACCES);
	T_EQ_INT(REN(r, "priv/lock/file-storage_cfg", "priv/x"), -EACCES);
	T_EQ_INT(MKDIR(r, "priv/empty"), 0);
	T_EQ_INT(REN(r, "priv/empty", "priv/lock/file-storage_cfg"), -EACCES);
	/* a lock's subtree is not a lock; priv/lock itself is not a lock */
	T_EQ_INT(MKDIR(r, "priv/lock/file-storage_cfg/sub"), 0);
	W = 2;
	T_EQ_INT(MTIME(r, "priv/lock/file-storage_cfg/sub", 0), 0);
	T_EQ_INT(MTIME(r, "priv/lock", 0), 0);
	T_EQ_INT(DEL(r, "priv/lock/file-storage_cfg/sub"), 0);
	/* expiry: a delete conditional on the version seen (a renew in
	 * between makes it stale) */
	v = n->version;
	W = 1;
	T_EQ_INT(MTIME(r, "priv/lock/file-storage_cfg", 1040), 0);
	W = 2;
	T_EQ_INT(AP(r, .type = OP_DELETE, .path = "priv/lock/file-storage_cfg", .offset = v),
	         -ESTALE);
	T_EQ_INT(AP(r, .type = OP_DELETE, .path = "priv/lock/nope", .offset = v), -ENOENT);
	T_EQ_INT(AP(r, .type = OP_DELETE, .path = "priv/lock/file-storage_cfg",
	            .offset = n->version),
	         0);
	T_ASSERT(L(r, "priv/lock/file-storage_cfg") == NULL);
	T_EQ_INT(MKDIR(r, "priv/lock/file-storage_cfg"), 0);
	/* release by rmdir; then another node takes it */
	W = 2;
	T_EQ_INT(DEL(r, "priv/lock/file-storage_cfg"), 0);
	T_EQ_INT(MKDIR(r, "priv/lock/file-storage_cfg"), 0);
	T_EQ_INT(L(r, "priv/lock/file-storage_cfg")->writer, 2);
	/* a file below priv/lock is no lock */
	T_EQ_INT(CREATE(r, "priv/lock/f"), 0);
	W = 3;
	T_EQ_INT(MTIME(r, "priv/lock/f", 0), 0);
	T_EQ_INT(REN(r, "priv/lock/f", "priv/lock/g"), 0);
	T_ASSERT(rules_is_lock_dir("priv/lock/x"));
	T_ASSERT(rules_is_lock_dir("/priv/lock/x"));
	T_ASSERT(!rules_is_lock_dir("priv/lock"));
	T_ASSERT(!rules_is_lock_dir("priv/lock/"));
	T_ASSERT(!rules_is_lock_dir("priv/lock/x/y"));
	T_ASSERT(!rules_is_lock_dir("nodes/priv/lock/x"));
	W = 1;
	rules_free(r);
}

static void test_guest_config_names(void)
{
	uint32_t vmid;
	enum rules_vmtype type;
	const char *node;
	size_t nlen;

	T_ASSERT(rules_guest_config("nodes/pve1/qemu-server/100.conf", &vmid, &type, &node, &nlen));
	T_EQ_INT(vmid, 100);
	T_EQ_INT(type, RULES_VM_QEMU);
	T_ASSERT(nlen == 4 && !memcmp(node, "pve1", 4));
	T_ASSERT(rules_guest_config("nodes/a-b/lxc/4294967295.conf", &vmid, &type, NULL, NULL));
	T_EQ_INT(vmid, 4294967295u);
	T_EQ_INT(type, RULES_VM_LXC);
	T_ASSERT(rules_guest_config("/nodes/N0/openvz/1.conf", NULL, &type, NULL, NULL));
	T_EQ_INT(type, RULES_VM_OPENVZ);
	static const char *no[] = {
		"nodes/pve1/qemu-server/0.conf",
		"nodes/pve1/qemu-server/0100.conf",
		"nodes/pve1/qemu-server/100.conf.tmp.42",
		"nodes/pve1/qemu-server/100.conf~",
		"nodes/pve1/qemu-server/4294967296.conf",
		"nodes/pve1/qemu-server/.conf",
		"nodes/pve1/qemu-server/10a.conf",
		"nodes/pve1/qemu-server/100.cfg",
		"nodes/pve.1/qemu-server/100.conf",
		"nodes/-pve/qemu-server/100.conf",
		"nodes/pve-/qemu-server/100.conf",
		"nodes//qemu-server/100.conf",
		"nodes/pve1/qemu/100.conf",
		"nodes/pve1/qemu-server/x/100.conf",
		"node/pve1/qemu-server/100.conf",
		"nodes/pve1/100.conf",
		"nodes/pve1/qemu-server/99999999999.conf",
		"x/nodes/pve1/qemu-server/100.conf",
	};
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		if (rules_guest_config(no[i], NULL, NULL, NULL, NULL))
			t_fail(__FILE__, __LINE__, "guest config: %s", no[i]);
	T_ASSERT(rules_node_name_ok("a", 1));
	T_ASSERT(rules_node_name_ok("Pve-1", 5));
	T_ASSERT(!rules_node_name_ok("", 0));
	T_ASSERT(!rules_node_name_ok("a_b", 3));
	T_ASSERT(!rules_node_name_ok("-a", 2));
	T_ASSERT(!rules_node_name_ok("a-", 2));
	T_EQ_STR(rules_vmtype_name(RULES_VM_QEMU), "qemu");
	T_EQ_STR(rules_vmtype_name(RULES_VM_LXC), "lxc");
	T_EQ_STR(rules_vmtype_name(RULES_VM_OPENVZ), "openvz");
}

static void test_vmid(void)
{
	struct rules *r = pve();
	const struct rules_vm *vm;
	uint64_t vl;

	T_EQ_INT(rules_vm_count(r), 0);
	vl = rules_vmlist_version(r);
	T_EQ_INT(CREATE(r, "nodes/pve1/qemu-server/100.conf"), 0);
	vm = rules_vm_find(r, 100);
	T_ASSERT(vm && vm->type == RULES_VM_QEMU && !strcmp(vm->node, "pve1"));
	T_EQ_INT(vm->version, L(r, "nodes/pve1/qemu-server/100.conf")->version);
	T_EQ_INT(rules_vmlist_version(r), vl + 1);
	/* same VMID on another node or type: EEXIST for every way in */
	T_EQ_INT(CREATE(r, "nodes/pve2/qemu-server/100.conf"), -EEXIST);
	T_EQ_INT(CREATE(r, "nodes/pve1/lxc/100.conf"), -EEXIST);
	T_EQ_INT(PUT(r, "nodes/pve2/qemu-server/100.conf", "x"), -EEXIST);
	T_EQ_INT(PUT(r, "nodes/pve2/lxc/100.conf", "x"), -EEXIST);
	T_EQ_INT(PUT(r, "nodes/pve2/qemu-server/100.conf.tmp.42", "cores: 2\n"), 0);
	T_EQ_INT(
	        REN(r, "nodes/pve2/qemu-server/100.conf.tmp.42", "nodes/pve2/qemu-server/100.conf"),
	        -EEXIST);
	/* same node and type: overwrite, via write, put or the tmp+rename idiom */
	T_EQ_INT(WRITE(r, "nodes/pve1/qemu-server/100.conf", 0, "memory: 512\n", OP_F_TRUNC), 0);
	T_EQ_INT(rules_vm_find(r, 100)->version, tree_version(rules_tree(r)));
	T_EQ_INT(PUT(r, "nodes/pve1/qemu-server/100.conf.tmp.7", "memory: 1024\n"), 0);
	T_EQ_INT(REN(r, "nodes/pve1/qemu-server/100.conf.tmp.7", "nodes/pve1/qemu-server/100.conf"),
	         0);
	T_EQ_INT(rules_vm_find(r, 100)->version, tree_version(rules_tree(r)));
	T_EQ_INT(rules_vm_count(r), 1);
	/* migration: rename of the config itself to another node (and type) */
	T_EQ_INT(REN(r, "nodes/pve1/qemu-server/100.conf", "nodes/pve2/qemu-server/100.conf"), 0);
	vm = rules_vm_find(r, 100);
	T_ASSERT(vm && !strcmp(vm->node, "pve2") && vm->type == RULES_VM_QEMU);
	T_EQ_INT(REN(r, "nodes/pve2/qemu-server/100.conf", "nodes/pve2/lxc/100.conf"), 0);
	T_EQ_INT(rules_vm_find(r, 100)->type, RULES_VM_LXC);
	T_EQ_INT(rules_vm_count(r), 1);
	/* a config of another VMID cannot be renamed onto 100 */
	T_EQ_INT(CREATE(r, "nodes/pve1/qemu-server/101.conf"), 0);
	T_EQ_INT(REN(r, "nodes/pve1/qemu-server/101.conf", "nodes/pve1/qemu-server/100.conf"),
	         -EEXIST);
	/* renaming a config away unregisters it */
	T_EQ_INT(REN(r, "nodes/pve1/qemu-server/101.conf", "nodes/pve1/qemu-server/101.conf.bak"),
	         0);
	T_ASSERT(rules_vm_find(r, 101) == NULL);
	/* mtime refreshes the version; delete unregisters */
	T_EQ_INT(MTIME(r, "nodes/pve2/lxc/100.conf", 5), 0);
	T_EQ_INT(rules_vm_find(r, 100)->version, tree_version(rules_tree(r)));
	vl = rules_vmlist_version(r);
	T_EQ_INT(DEL(r, "nodes/pve2/lxc/100.conf"), 0);
	T_ASSERT(rules_vm_find(r, 100) == NULL);
	T_EQ_INT(rules_vmlist_version(r), vl + 1);
	T_EQ_INT(CREATE(r, "nodes/pve1/qemu-server/100.conf"), 0); /* free again */
	/* non-configs never clash; dirs are not configs */
	T_EQ_INT(CREATE(r, "nodes/pve2/qemu-server/0100.conf"), 0);
	T_EQ_INT(MKDIR(r, "nodes/pve2/qemu-server/100.conf"), 0);
	T_EQ_INT(rules_vm_count(r), 1);
	/* list order is by VMID */
	T_EQ_INT(CREATE(r, "nodes/pve2/lxc/99.conf"), 0);
	T_EQ_INT(CREATE(r, "nodes/pve2/lxc/4294967295.conf"), 0);
	T_EQ_INT(rules_vm_count(r), 3);
	T_EQ_INT(rules_vm_at(r, 0)->vmid, 99);
	T_EQ_INT(rules_vm_at(r, 1)->vmid, 100);
	T_EQ_INT(rules_vm_at(r, 2)->vmid, 4294967295u);
	T_ASSERT(rules_vm_at(r, 3) == NULL);
	rules_free(r);
}

/* rebuild on load: same list; duplicates keep the first in name order */
static void test_vm_rebuild(void)
{
	struct rules *r = pve(), *s;
	struct tree *t;
	struct buf b = { 0 };
	uint64_t v;

	T_EQ_INT(PUT(r, "nodes/pve1/qemu-server/100.conf", "a"), 0);
	T_EQ_INT(PUT(r, "nodes/pve2/lxc/200.conf", "b"), 0);
	tree_encode(rules_tree(r), &b);
	T_EQ_INT(tree_decode(b.p, b.len, &t), 0);
	s = rules_new(t);
	T_EQ_INT(rules_vm_count(s), 2);
	T_EQ_INT(rules_vm_find(s, 100)->version, rules_vm_find(r, 100)->version);
	T_EQ_STR(rules_vm_find(s, 200)->node, "pve2");
	T_EQ_INT(rules_vm_dups(s), 0);
	rules_free(s);
	buf_free(&b);

	/* a duplicate made behind the rules' back (tree mutators) */
	t = (struct tree *)rules_tree(r);
	v = tree_next_version(t);
	tree_add(t, tree_mut(t, L(r, "nodes/pve2/qemu-server")), "100.conf", TREE_FILE, v, 1, 1,
	         NULL);
	tree_encode(t, &b);
	T_EQ_INT(tree_decode(b.p, b.len, &t), 0);
	v = rules_vmlist_version(r);
	rules_load(r, t);
	T_EQ_INT(rules_vmlist_version(r), v + 1);
	T_EQ_INT(rules_vm_dups(r), 1);
	T_EQ_STR(rules_vm_find(r, 100)->node, "pve1");
	/* deleting the winner lets the other copy take over */
	T_EQ_INT(DEL(r, "nodes/pve1/qemu-server/100.conf"), 0);
	T_EQ_STR(rules_vm_find(r, 100)->node, "pve2");
	T_EQ_INT(rules_vm_dups(r), 0);
	buf_free(&b);
	rules_free(r);
}

static void test_observed(void)
{
	struct rules *r = rules_new(NULL);
	size_t sc = 99, cc = 99;
	struct tree *t;

	T_EQ_INT(rules_observed_count(), 43);
	T_EQ_STR(rules_observed_name(0), "corosync.conf");
	T_EQ_STR(rules_observed_name(42), "mapping/usb.cfg");
	T_ASSERT(rules_observed_name(43) == NULL);
	for (size_t i = 0; i < rules_observed_count(); i++) {
		T_EQ_INT(rules_observed_version(r, i), 1); /* +1 on load */
		if (!strcmp(rules_observed_name(i), "storage.cfg"))
			sc = i;
		if (!strcmp(rules_observed_name(i), "corosync.conf"))
			cc = i;
	}
	T_EQ_INT(PUT(r, "storage.cfg.tmp.1", "x"), 0);
	T_EQ_INT(rules_observed_version(r, sc), 1);
	T_EQ_INT(REN(r, "storage.cfg.tmp.1", "storage.cfg"), 0);
	T_EQ_INT(rules_observed_version(r, sc), 2);
	T_EQ_INT(WRITE(r, "storage.cfg", 0, "y", 0), 0);
	T_EQ_INT(MTIME(r, "storage.cfg", 7), 0);
	T_EQ_INT(rules_observed_version(r, sc), 4);
	T_EQ_INT(CREATE(r, "storage.cfg"), -EEXIST); /* failures do not count */
	T_EQ_INT(rules_observed_version(r, sc), 4);
	T_EQ_INT(REN(r, "storage.cfg", "corosync.conf"), 0);
	T_EQ_INT(rules_observed_version(r, sc), 5);
	T_EQ_INT(rules_observed_version(r, cc), 2);
	T_EQ_INT(DEL(r, "corosync.conf"), 0);
	T_EQ_INT(rules_observed_version(r, cc), 3);
	tree_new(&t);
	rules_load(r, t);
	T_EQ_INT(rules_observed_version(r, cc), 4);
	T_EQ_INT(rules_observed_version(r, 1), 2);
	rules_free(r);
}

static void test_modes(void)
{
	static const struct {
		const char *path;
		bool dir;
		unsigned q, nq;
	} m[] = {
		{ "priv", true, 0700, 0500 },
		{ "priv/authkey.key", false, 0600, 0400 },
		{ "priv/lock/x", true, 0700, 0500 },
		{ "nodes/pve1/priv", true, 0700, 0500 },
		{ "nodes/pve1/priv/x", false, 0600, 0400 },
		{ "/priv/x", false, 0600, 0400 },
		{ "privx", false, 0640, 0440 },
		{ "nodes/pve1/privx", true, 0755, 0555 },
		{ "nodes/priv", true, 0755, 0555 },
		{ "", true, 0755, 0755 }, /* the mount root, always */
		{ "nodes/pve1/openvz/0.mount", false, 0640, 0440 },
		{ "nodes/pve1/openvz/vps.mount", false, 0740, 0540 },
		{ "nodes/pve1/openvz/vpsx.mount", false, 0640, 0440 },
		{ "nodes", true, 0755, 0555 },
		{ "storage.cfg", false, 0640, 0440 },
		{ "nodes/pve1/qemu-server/100.conf", false, 0640, 0440 },
		{ "nodes/pve1/openvz/101.mount", false, 0740, 0540 },
		{ "nodes/pve1/openvz/vps.premount", false, 0740, 0540 },
		{ "101.postumount", false, 0740, 0540 },
		{ "nodes/pve1/openvz/101.start", true, 0755, 0555 },
		{ "nodes/pve1/openvz/101.mountx", false, 0640, 0440 },
		{ "nodes/pve1/openvz/.mount", false, 0640, 0440 },
		{ "nodes/pve1/openvz/vps.conf", false, 0640, 0440 },
		{ "priv/101.stop", false, 0700, 0500 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		unsigned q = rules_mode(m[i].path, m[i].dir, true);
		unsigned nq = rules_mode(m[i].path, m[i].dir, false);

		if (q != m[i].q || nq != m[i].nq)
			t_fail(__FILE__, __LINE__, "%s: %o/%o, want %o/%o", m[i].path, q, nq,
			       m[i].q, m[i].nq);
	}
	T_ASSERT(rules_is_private("priv"));
	T_ASSERT(rules_is_private("nodes/x/priv/y"));
	T_ASSERT(!rules_is_private("nodes/x/y/priv"));
	T_ASSERT(!rules_is_private("nodes/x"));
}

/* ---- determinism ---- */

struct rnd {
	uint64_t s;
};

static uint32_t rnd(struct rnd *g, uint32_t n)
{
	g->s = g->s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(g->s >> 33) % n;
}

static const char *const rpaths[] = {
	"a",
	"b",
	"a/x",
	"a/y",
	"b/x",
	"priv",
	"priv/lock",
	"priv/lock/l1",
	"priv/lock/l2",
	"nodes",
	"nodes/n1",
	"nodes/n2",
	"nodes/n1/qemu-server",
	"nodes/n2/qemu-server",
	"nodes/n2/lxc",
	"nodes/n1/qemu-server/100.conf",
	"nodes/n2/qemu-server/100.conf",
	"nodes/n2/lxc/100.conf",
	"nodes/n1/qemu-server/101.conf",
	"nodes/n2/lxc/101.conf",
	"nodes/n1/qemu-server/100.conf.tmp",
	"storage.cfg",
	"local",
	"a/./x",
};

/* a random but reproducible op; data points into a static buffer */
static void random_op(struct rnd *g, struct op *op)
{
	static const uint8_t data[256] = "the quick brown fox jumps over the lazy dog";

	memset(op, 0, sizeof(*op));
	op->type = (enum op_type)(1 + rnd(g, 8));
	op->writer = 1 + rnd(g, 3);
	op->mtime = 1000 + rnd(g, 100);
	op->path = rpaths[rnd(g, ARRAY_SIZE(rpaths))];
	switch (op->type) {
	case OP_WRITE:
		op->flags = rnd(g, 2) ? OP_F_TRUNC : 0;
		op->offset = rnd(g, 300);
		op->len = rnd(g, 64);
		op->data = data + rnd(g, 64);
		break;
	case OP_PUT:
		op->flags = rnd(g, 4) ? 0 : OP_F_EXCL;
		op->len = rnd(g, 200);
		op->data = data;
		break;
	case OP_RENAME:
		op->to = rpaths[rnd(g, ARRAY_SIZE(rpaths))];
		break;
	case OP_MTIME:
		op->offset = rnd(g, 5) ? 1000 + rnd(g, 100) : 0;
		break;
	case OP_NOOP:
		op->path = "";
		break;
	default:
		break;
	}
}

static void same_state(struct rules *a, struct rules *b, int line)
{
	struct buf x = { 0 }, y = { 0 };
	uint8_t da[TREE_DIGEST_SIZE], db[TREE_DIGEST_SIZE];

	tree_encode(rules_tree(a), &x);
	tree_encode(rules_tree(b), &y);
	tree_digest(rules_tree(a), da);
	tree_digest(rules_tree(b), db);
	if (x.len != y.len || memcmp(x.p, y.p, x.len) || memcmp(da, db, sizeof(da)))
		t_fail(__FILE__, line, "trees differ");
	if (rules_vm_count(a) != rules_vm_count(b)) {
		t_fail(__FILE__, line, "vm lists differ");
	} else {
		for (size_t i = 0; i < rules_vm_count(a); i++) {
			const struct rules_vm *p = rules_vm_at(a, i), *q = rules_vm_at(b, i);

			if (p->vmid != q->vmid || p->type != q->type || p->version != q->version ||
			    strcmp(p->node, q->node))
				t_fail(__FILE__, line, "vm %u differs", p->vmid);
		}
	}
	buf_free(&x);
	buf_free(&y);
}

static void test_apply_encoded(void)
{
	struct rules *r = rules_new(NULL);
	struct op op = { .type = OP_PUT, .path = "f", .data = (const uint8_t *)"abc", .len = 3 };
	struct buf b = { 0 };

	op_encode(&op, &b);
	T_EQ_INT(rules_apply_encoded(r, b.p, b.len), 0);
	T_EQ_MEM(L(r, "f")->data, "abc", 3);
	T_EQ_INT(rules_apply_encoded(r, b.p, b.len - 1), -EBADMSG);
	b.p[0] = 9;
	T_EQ_INT(rules_apply_encoded(r, b.p, b.len), -EBADMSG);
	T_EQ_INT(tree_version(rules_tree(r)), 1);
	buf_reset(&b);
	op = (struct op){ .type = OP_PUT, .flags = OP_F_EXCL, .path = "f" };
	op_encode(&op, &b);
	T_EQ_INT(rules_apply_encoded(r, b.p, b.len), -EEXIST);
	buf_free(&b);
	rules_free(r);
}

static void test_determinism(void)
{
	struct rules *a = rules_new(NULL), *b = rules_new(NULL), *c = NULL;
	struct rnd g = { 42 };
	int ok = 0, results[9] = { 0 };

	for (int i = 0; i < 20000; i++) {
		struct op op;
		struct buf enc = { 0 };
		struct op dec;
		int ra, rb;

		random_op(&g, &op);
		/* b gets the op through its encoding, like a follower */
		if (op_check(&op) == 0) {
			op_encode(&op, &enc);
			T_EQ_INT(op_decode(enc.p, enc.len, &dec), 0);
		} else {
			dec = op;
		}
		ra = ap_(a, &op, __LINE__);
		rb = rules_apply(b, &dec);
		T_EQ_INT(ra, rb);
		if (c)
			T_EQ_INT(rules_apply(c, &dec), ra);
		ok += ra == 0;
		if (op.type < 9)
			results[op.type] += ra == 0;
		buf_free(&enc);
		if (i == 10000) {
			/* c starts from a snapshot of a and must follow it */
			struct buf snap = { 0 };
			struct tree *t;

			same_state(a, b, __LINE__);
			tree_encode(rules_tree(a), &snap);
			T_EQ_INT(tree_decode(snap.p, snap.len, &t), 0);
			c = rules_new(t);
			same_state(a, c, __LINE__);
			buf_free(&snap);
		}
	}
	same_state(a, b, __LINE__);
	same_state(a, c, __LINE__);
	/* the sequence exercised real work of every kind */
	T_ASSERT(ok > 2000);
	for (int k = OP_CREATE; k <= OP_NOOP; k++)
		if (!results[k])
			t_fail(__FILE__, __LINE__, "no %s ever succeeded", op_type_name(k));
	rules_free(a);
	rules_free(b);
	rules_free(c);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_memdb_dirs);
	T_RUN(test_memdb_files);
	T_RUN(test_memdb_loaddb);
	T_RUN(test_memdb_index);
	T_RUN(test_stamps);
	T_RUN(test_put);
	T_RUN(test_efbig);
	T_RUN(test_enospc_bytes);
	T_RUN(test_enospc_entries);
	T_RUN(test_eacces_names);
	T_RUN(test_einval_enametoolong);
	T_RUN(test_enotdir_eisdir);
	T_RUN(test_rename);
	T_RUN(test_locks);
	T_RUN(test_guest_config_names);
	T_RUN(test_vmid);
	T_RUN(test_vm_rebuild);
	T_RUN(test_observed);
	T_RUN(test_modes);
	T_RUN(test_apply_encoded);
	T_RUN(test_determinism);
	return t_done();
}
