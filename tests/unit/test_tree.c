/* tests/unit/test_tree.c - store/tree: lookup, order, mutators, encoding,
 * digest, size */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "core/buf.h"
#include "core/crc32c.h"
#include "core/endian.h"
#include "core/util.h"
#include "store/tree.h"
#include "tests/t.h"

static struct tree_node *mut(struct tree *t, const char *path)
{
	const struct tree_node *n = tree_lookup(t, path);

	return n ? tree_mut(t, n) : NULL;
}

/* add path (parent must exist) with the next version */
static int add(struct tree *t, const char *dir, const char *name, enum tree_type type,
               uint32_t mtime)
{
	struct tree_node *d = mut(t, dir);

	if (!d)
		return -ENOENT;
	return tree_add(t, d, name, type, tree_next_version(t), mtime, 1, NULL);
}

static int put(struct tree *t, const char *path, const char *s, uint32_t mtime)
{
	struct tree_node *n = mut(t, path);

	return tree_write(t, n, 0, (const uint8_t *)s, (uint32_t)strlen(s), true,
	                  tree_next_version(t), mtime, 2);
}

static struct tree *sample(void)
{
	struct tree *t;

	tree_new(&t);
	T_EQ_INT(add(t, "", "nodes", TREE_DIR, 10), 0);
	T_EQ_INT(add(t, "nodes", "pve1", TREE_DIR, 11), 0);
	T_EQ_INT(add(t, "nodes/pve1", "qemu-server", TREE_DIR, 12), 0);
	T_EQ_INT(add(t, "nodes/pve1/qemu-server", "100.conf", TREE_FILE, 13), 0);
	T_EQ_INT(put(t, "nodes/pve1/qemu-server/100.conf", "memory: 512\n", 14), 0);
	T_EQ_INT(add(t, "", "storage.cfg", TREE_FILE, 15), 0);
	T_EQ_INT(put(t, "storage.cfg", "dir: local\n", 16), 0);
	T_EQ_INT(add(t, "", "empty", TREE_FILE, 17), 0);
	T_EQ_INT(add(t, "", "priv", TREE_DIR, 18), 0);
	return t;
}

static void test_new_and_lookup(void)
{
	struct tree *t;
	const struct tree_node *n;
	char path[64];

	T_EQ_INT(tree_new(&t), 0);
	T_EQ_INT(tree_count(t), 1);
	T_EQ_INT(tree_bytes(t), 0);
	T_EQ_INT(tree_version(t), 0);
	n = tree_root(t);
	T_ASSERT(n == tree_lookup(t, ""));
	T_EQ_INT(n->type, TREE_DIR);
	T_EQ_INT(n->inode, 0);
	T_EQ_STR(n->name, "");
	T_ASSERT(tree_node_first_child(n) == NULL);
	tree_free(t);

	t = sample();
	T_EQ_INT(tree_count(t), 8);
	T_EQ_INT(tree_bytes(t), 12 + 11);
	T_EQ_INT(tree_version(t), 9);
	n = tree_lookup(t, "nodes/pve1/qemu-server/100.conf");
	T_ASSERT(n && n->type == TREE_FILE && n->size == 12);
	T_EQ_INT(n->inode, 4); /* the version that created it */
	T_EQ_INT(n->version, 5);
	T_EQ_INT(n->mtime, 14);
	T_EQ_INT(n->writer, 2);
	T_EQ_INT(tree_node_path(n, path, sizeof(path)), 0);
	T_EQ_STR(path, "nodes/pve1/qemu-server/100.conf");
	T_EQ_INT(tree_node_path(n, path, 10), -ENAMETOOLONG);
	T_EQ_INT(tree_node_path(tree_root(t), path, 1), 0);
	T_EQ_STR(path, "");
	/* the parent is not changed by a create (pmxcfs) */
	n = tree_lookup(t, "nodes/pve1/qemu-server");
	T_EQ_INT(n->version, 3);
	T_EQ_INT(n->mtime, 12);
	T_ASSERT(tree_lookup(t, "nodes/pve2") == NULL);
	T_ASSERT(tree_lookup(t, "storage.cfg/x") == NULL);
	T_ASSERT(tree_child(tree_root(t), "nodesX", 5) == tree_lookup(t, "nodes"));
	T_EQ_INT(tree_resolve(t, "nodes/pve2/x", &n), -ENOENT);
	T_ASSERT(n == NULL);
	T_EQ_INT(tree_resolve(t, "storage.cfg/x", &n), -ENOTDIR);
	T_EQ_INT(tree_resolve(t, "/nodes//pve1/", &n), 0);
	T_ASSERT(n == tree_lookup(t, "nodes/pve1"));
	tree_free(t);
}

static void test_sorted_order(void)
{
	static const char *names[] = { "b", "a", "ab", "B", "zz", ".x", "aa", "\xc3\xa4", "0" };
	static const char *sorted[] = { ".x", "0", "B", "a", "aa", "ab", "b", "zz", "\xc3\xa4" };
	struct tree *t;
	const struct tree_node *c;
	size_t i = 0;

	tree_new(&t);
	for (i = 0; i < ARRAY_SIZE(names); i++)
		T_EQ_INT(add(t, "", names[i], TREE_FILE, 1), 0);
	i = 0;
	for (c = tree_node_first_child(tree_root(t)); c; c = tree_node_next_sibling(c))
		T_EQ_STR(c->name, sorted[i++]);
	T_EQ_INT(i, ARRAY_SIZE(sorted));
	/* order is refreshed after a change */
	T_EQ_INT(tree_remove(t, mut(t, "aa")), 0);
	T_EQ_INT(add(t, "", "ac", TREE_FILE, 1), 0);
	i = 0;
	for (c = tree_node_first_child(tree_root(t)); c; c = tree_node_next_sibling(c)) {
		T_ASSERT(strcmp(c->name, "aa"));
		if (i == 5)
			T_EQ_STR(c->name, "ac");
		i++;
	}
	T_EQ_INT(i, ARRAY_SIZE(sorted));
	T_ASSERT(tree_node_next_sibling(tree_root(t)) == NULL);
	T_ASSERT(tree_node_first_child(tree_lookup(t, "a")) == NULL);
	tree_free(t);
}

static void test_mutators(void)
{
	struct tree *t = sample();
	struct tree_node *f, *d;
	const struct tree_node *n;
	uint64_t ino;

	/* add errors */
	T_EQ_INT(add(t, "", "nodes", TREE_DIR, 1), -EEXIST);
	T_EQ_INT(add(t, "storage.cfg", "x", TREE_FILE, 1), -ENOTDIR);
	/* write: zero fill, overwrite keeps size, trunc shrinks */
	f = mut(t, "empty");
	T_EQ_INT(tree_write(t, f, 3, (const uint8_t *)"ab", 2, false, tree_next_version(t), 5, 3),
	         0);
	T_EQ_INT(f->size, 5);
	T_EQ_MEM(f->data, "\0\0\0ab", 5);
	T_EQ_INT(tree_bytes(t), 23 + 5);
	T_EQ_INT(tree_write(t, f, 0, (const uint8_t *)"X", 1, false, tree_next_version(t), 6, 3),
	         0);
	T_EQ_INT(f->size, 5);
	T_EQ_MEM(f->data, "X\0\0ab", 5);
	T_EQ_INT(tree_write(t, f, 2, NULL, 0, true, tree_next_version(t), 7, 3), 0);
	T_EQ_INT(f->size, 2);
	T_EQ_INT(tree_bytes(t), 23 + 2);
	T_EQ_INT(tree_write(t, f, 0, NULL, 0, true, tree_next_version(t), 7, 3), 0);
	T_EQ_INT(f->size, 0);
	T_ASSERT(f->data == NULL);
	T_EQ_INT(tree_write(t, f, 4, NULL, 0, true, tree_next_version(t), 7, 3), 0);
	T_EQ_MEM(f->data, "\0\0\0\0", 4);
	T_EQ_INT(tree_write(t, mut(t, "nodes"), 0, NULL, 0, true, 1, 1, 1), -EISDIR);
	T_EQ_INT(tree_write(t, f, 0xffffffffull, (const uint8_t *)"x", 1, false, 1, 1, 1), -EFBIG);
	/* touch */
	tree_touch(t, f, tree_next_version(t), 99, 7);
	T_EQ_INT(f->mtime, 99);
	T_EQ_INT(f->writer, 7);
	T_EQ_INT(f->version, tree_version(t));
	/* remove */
	T_EQ_INT(tree_remove(t, mut(t, "")), -EBUSY);
	T_EQ_INT(tree_remove(t, mut(t, "nodes")), -ENOTEMPTY);
	T_EQ_INT(tree_remove(t, f), 0);
	T_ASSERT(tree_lookup(t, "empty") == NULL);
	T_EQ_INT(tree_count(t), 7);
	T_EQ_INT(tree_bytes(t), 23);
	/* move keeps the inode */
	f = mut(t, "storage.cfg");
	ino = f->inode;
	d = mut(t, "priv");
	T_EQ_INT(tree_move(t, f, d, "s.cfg", tree_next_version(t), 9, 4), 0);
	n = tree_lookup(t, "priv/s.cfg");
	T_ASSERT(n == f);
	T_EQ_INT(n->inode, ino);
	T_EQ_INT(n->version, tree_version(t));
	T_EQ_INT(n->mtime, 9); /* rename sets mtime and writer (pmxcfs) */
	T_EQ_INT(n->writer, 4);
	T_EQ_INT(tree_lookup(t, "priv")->mtime, 18); /* parents unchanged */
	T_ASSERT(tree_lookup(t, "storage.cfg") == NULL);
	T_EQ_INT(tree_move(t, f, mut(t, "nodes"), "pve1", 1, 1, 1), -EEXIST);
	T_EQ_INT(tree_move(t, f, mut(t, "priv/s.cfg"), "x", 1, 1, 1), -ENOTDIR);
	T_EQ_INT(tree_move(t, mut(t, "nodes"), mut(t, "nodes/pve1"), "x", 1, 1, 1), -EINVAL);
	T_EQ_INT(tree_move(t, mut(t, "nodes"), mut(t, "nodes"), "x", 1, 1, 1), -EINVAL);
	T_EQ_INT(tree_move(t, mut(t, ""), mut(t, "priv"), "x", 1, 1, 1), -EBUSY);
	T_EQ_INT(tree_count(t), 7);
	tree_free(t);
}

static void test_xxh64_vectors(void)
{
	T_EQ_INT(tree_xxh64("", 0, 0), (long long)0xEF46DB3751D8E999ull);
	T_EQ_INT(tree_xxh64("a", 1, 0), (long long)0xD24EC4F1A98C6E5Bull);
	T_EQ_INT(tree_xxh64("abc", 3, 0), (long long)0x44BC2CF5AD770999ull);
	T_EQ_INT(tree_xxh64("Nobody inspects the spammish repetition", 39, 0),
	         (long long)0xFBCEA83C8A378BF1ull);
}

struct stream {
	struct buf b;
};

static int stream_cb(void *ctx, const struct tree_node *n, unsigned depth)
{
	struct buf *b = ctx;

	buf_put_le16(b, (uint16_t)depth);
	buf_put_u8(b, (uint8_t)n->type);
	buf_put_le16(b, n->name_len);
	buf_put(b, n->name, n->name_len);
	buf_put_le32(b, n->mtime);
	buf_put_le32(b, n->type == TREE_FILE ? n->size : n->nchildren);
	if (n->type == TREE_FILE)
		buf_put(b, n->data, n->size);
	return 0;
}

/* The digest is exactly the documented stream hashed with two seeds
 * (this also checks the streaming XXH64 against the one-shot one). */
static void test_digest_stream(void)
{
	struct tree *t = sample();
	struct buf b = { 0 };
	uint8_t d[TREE_DIGEST_SIZE];

	/* a file > 32 bytes so the stripe path of the stream runs */
	T_EQ_INT(add(t, "priv", "big", TREE_FILE, 3), 0);
	T_EQ_INT(put(t, "priv/big", "0123456789012345678901234567890123456789012345", 4), 0);
	tree_walk(t, stream_cb, &b);
	tree_digest(t, d);
	T_EQ_INT(get_le64(d), (long long)tree_xxh64(b.p, b.len, 0));
	T_EQ_INT(get_le64(d + 8), (long long)tree_xxh64(b.p, b.len, TREE_DIGEST_SEED2));
	buf_free(&b);
	tree_free(t);
}

static void test_digest_covers(void)
{
	struct tree *a = sample(), *b;
	uint8_t da[TREE_DIGEST_SIZE], db[TREE_DIGEST_SIZE];

	tree_digest(a, da);
	/* same content, different history (inodes/versions/writers): equal */
	tree_new(&b);
	T_EQ_INT(add(b, "", "priv", TREE_DIR, 18), 0);
	T_EQ_INT(add(b, "", "empty", TREE_FILE, 17), 0);
	T_EQ_INT(add(b, "", "storage.cfg", TREE_FILE, 15), 0);
	T_EQ_INT(put(b, "storage.cfg", "dir: local\n", 16), 0);
	T_EQ_INT(add(b, "", "nodes", TREE_DIR, 10), 0);
	T_EQ_INT(add(b, "nodes", "pve1", TREE_DIR, 11), 0);
	T_EQ_INT(add(b, "nodes/pve1", "qemu-server", TREE_DIR, 12), 0);
	T_EQ_INT(add(b, "nodes/pve1/qemu-server", "100.conf", TREE_FILE, 1), 0);
	T_EQ_INT(put(b, "nodes/pve1/qemu-server/100.conf", "memory: 512\n", 14), 0);
	tree_digest(b, db);
	T_EQ_MEM(da, db, sizeof(da));
	/* content, mtime, name, type each change it */
	put(b, "storage.cfg", "dir: locaL\n", 16);
	tree_digest(b, db);
	T_ASSERT(memcmp(da, db, sizeof(da)));
	put(b, "storage.cfg", "dir: local\n", 17);
	tree_digest(b, db);
	T_ASSERT(memcmp(da, db, sizeof(da)));
	put(b, "storage.cfg", "dir: local\n", 16);
	tree_digest(b, db);
	T_EQ_MEM(da, db, sizeof(da));
	tree_move(b, mut(b, "empty"), mut(b, ""), "emptz", 1, 17, 1);
	tree_digest(b, db);
	T_ASSERT(memcmp(da, db, sizeof(da)));
	tree_move(b, mut(b, "emptz"), mut(b, ""), "empty", 1, 17, 1);
	tree_digest(b, db);
	T_EQ_MEM(da, db, sizeof(da));
	tree_remove(b, mut(b, "empty"));
	add(b, "", "empty", TREE_DIR, 17);
	tree_digest(b, db);
	T_ASSERT(memcmp(da, db, sizeof(da)));
	tree_free(a);
	tree_free(b);
}

static void test_encode_decode(void)
{
	struct tree *t = sample(), *u;
	struct buf b = { 0 }, c = { 0 };
	uint8_t d1[TREE_DIGEST_SIZE], d2[TREE_DIGEST_SIZE];
	const struct tree_node *n;

	T_EQ_INT(tree_encode(t, &b), 0);
	T_EQ_INT(get_le32(b.p), TREE_MAGIC);
	T_EQ_INT(get_le16(b.p + 4), TREE_FORMAT);
	T_EQ_INT(get_le64(b.p + 8), 9);
	T_EQ_INT(get_le32(b.p + 16), 8);
	T_EQ_INT(get_le64(b.p + 20), 23);
	T_EQ_INT(get_le32(b.p + 28), crc32c(0, b.p, 28));
	T_EQ_INT(get_le32(b.p + b.len - 4), crc32c(0, b.p, b.len - 4));
	T_EQ_INT(b.len, TREE_HDR_SIZE + 8 * TREE_ENT_SIZE + (5 + 4 + 11 + 8 + 11 + 5 + 4) + 23 + 4);
	T_EQ_INT(tree_decode(b.p, b.len, &u), 0);
	T_EQ_INT(tree_count(u), 8);
	T_EQ_INT(tree_bytes(u), 23);
	T_EQ_INT(tree_version(u), 9);
	n = tree_lookup(u, "nodes/pve1/qemu-server/100.conf");
	T_ASSERT(n && n->size == 12 && !memcmp(n->data, "memory: 512\n", 12));
	T_EQ_INT(n->inode, 4);
	T_EQ_INT(n->version, 5);
	T_EQ_INT(n->writer, 2);
	T_EQ_INT(tree_encode(u, &c), 0);
	T_ASSERT(b.len == c.len && !memcmp(b.p, c.p, b.len));
	tree_digest(t, d1);
	tree_digest(u, d2);
	T_EQ_MEM(d1, d2, sizeof(d1));
	/* the decoded tree keeps working: next inode continues the version */
	T_EQ_INT(add(u, "", "new", TREE_FILE, 1), 0);
	T_EQ_INT(tree_lookup(u, "new")->inode, 10);
	/* appending to a non-empty buffer works too */
	buf_reset(&c);
	buf_put_str(&c, "xyz");
	tree_encode(t, &c);
	T_ASSERT(c.len == b.len + 3 && !memcmp(c.p + 3, b.p, b.len));
	tree_free(u);
	tree_free(t);
	buf_free(&b);
	buf_free(&c);
}

static void fix_crcs(uint8_t *p, size_t n)
{
	if (n >= 32)
		put_le32(p + 28, crc32c(0, p, 28));
	if (n >= 4)
		put_le32(p + n - 4, crc32c(0, p, n - 4));
}

/* decoded blobs must be valid: re-encoding gives the same bytes */
static void check_decodes_sanely(const uint8_t *p, size_t n, int *ok)
{
	struct tree *u;

	if (tree_decode(p, n, &u) == 0) {
		struct buf c = { 0 };

		tree_encode(u, &c);
		T_ASSERT(c.len == n && !memcmp(c.p, p, n));
		buf_free(&c);
		tree_free(u);
		(*ok)++;
	}
}

static void test_decode_damage(void)
{
	struct tree *t = sample(), *u;
	struct buf b = { 0 };
	int ok = 0;

	tree_encode(t, &b);
	/* truncation at every offset; crc fixed so the structure is what fails */
	for (size_t n = 0; n < b.len; n++) {
		uint8_t *p = xmemdup(b.p, b.len);

		T_EQ_INT(tree_decode(p, n, &u), -EBADMSG);
		fix_crcs(p, n);
		T_EQ_INT(tree_decode(p, n, &u), -EBADMSG);
		free(p);
	}
	/* every single bit flip is caught by the crcs */
	for (size_t bit = 0; bit < b.len * 8; bit++) {
		uint8_t *p = xmemdup(b.p, b.len);

		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		T_EQ_INT(tree_decode(p, b.len, &u), -EBADMSG);
		free(p);
	}
	/* with the crcs recomputed, the structural checks must hold: fail or
	 * decode to a tree that re-encodes to the same bytes */
	for (size_t bit = 0; bit < (b.len - 4) * 8; bit++) {
		uint8_t *p = xmemdup(b.p, b.len);

		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		fix_crcs(p, b.len);
		check_decodes_sanely(p, b.len, &ok);
		free(p);
	}
	for (size_t i = 0; i < b.len - 4; i++) {
		static const uint8_t vals[] = { 0, 1, 2, 0x2f, 0x2e, 0x7f, 0xff };

		for (size_t k = 0; k < ARRAY_SIZE(vals); k++) {
			uint8_t *p = xmemdup(b.p, b.len);

			p[i] = vals[k];
			fix_crcs(p, b.len);
			check_decodes_sanely(p, b.len, &ok);
			free(p);
		}
	}
	T_ASSERT(ok > 0); /* mtimes/writers/data bytes may change freely */
	T_EQ_INT(tree_decode(b.p, b.len, &u), 0);
	tree_free(u);
	buf_free(&b);
	tree_free(t);
}

/* hand-made blobs for the structural rules */
struct ent {
	uint8_t type;
	const char *name;
	uint64_t version, inode;
	uint32_t size; /* files: data bytes ('d'); dirs: children */
};

static int decode_ents(uint64_t version, const struct ent *e, size_t n, uint64_t hbytes)
{
	struct buf b = { 0 };
	struct tree *u;
	int rc;

	buf_put_le32(&b, TREE_MAGIC);
	buf_put_le16(&b, TREE_FORMAT);
	buf_put_le16(&b, 0);
	buf_put_le64(&b, version);
	buf_put_le32(&b, (uint32_t)n);
	buf_put_le64(&b, hbytes);
	buf_put_le32(&b, 0);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(e[i].name);

		buf_put_u8(&b, e[i].type);
		buf_put_u8(&b, 0);
		buf_put_le16(&b, (uint16_t)len);
		buf_put_le32(&b, 1);
		buf_put_le32(&b, 1);
		buf_put_le64(&b, e[i].version);
		buf_put_le64(&b, e[i].inode);
		buf_put_le32(&b, e[i].size);
		buf_put(&b, e[i].name, len);
		if (e[i].type == TREE_FILE)
			for (uint32_t k = 0; k < e[i].size; k++)
				buf_put_u8(&b, 'd');
	}
	buf_put_le32(&b, 0);
	fix_crcs(b.p, b.len);
	rc = tree_decode(b.p, b.len, &u);
	if (rc == 0)
		tree_free(u);
	buf_free(&b);
	return rc;
}

static void test_decode_structure(void)
{
#define D(hb, ...)                                       \
	({                                               \
		const struct ent e_[] = { __VA_ARGS__ }; \
		decode_ents(9, e_, ARRAY_SIZE(e_), hb);  \
	})
	T_EQ_INT(D(0, { 1, "", 0, 0, 0 }), 0);
	T_EQ_INT(D(3, { 1, "", 0, 0, 2 }, { 2, "a", 1, 1, 1 }, { 1, "b", 2, 2, 1 },
	           { 2, "c", 3, 3, 2 }),
	         0);
	/* root must be a dir with inode 0 and no name */
	T_EQ_INT(D(0, { 2, "", 0, 0, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "r", 0, 0, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 1, 0 }), -EBADMSG);
	/* bad type */
	T_EQ_INT(D(0, { 3, "", 0, 0, 0 }), -EBADMSG);
	/* names: sorted, unique, no '/', ".", "..", NUL */
	T_EQ_INT(D(0, { 1, "", 0, 0, 2 }, { 2, "b", 1, 1, 0 }, { 2, "a", 2, 2, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 0, 2 }, { 2, "a", 1, 1, 0 }, { 2, "a", 2, 2, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 0, 1 }, { 2, "a/b", 1, 1, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 0, 1 }, { 2, ".", 1, 1, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 0, 1 }, { 1, "..", 1, 1, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 0, 1 }, { 1, "...", 1, 1, 0 }), 0);
	/* a prefix sorts first */
	T_EQ_INT(D(0, { 1, "", 0, 0, 2 }, { 2, "a", 1, 1, 0 }, { 2, "ab", 2, 2, 0 }), 0);
	T_EQ_INT(D(0, { 1, "", 0, 0, 2 }, { 2, "ab", 1, 1, 0 }, { 2, "a", 2, 2, 0 }), -EBADMSG);
	/* inodes: non-zero, <= version, distinct; versions <= version */
	T_EQ_INT(D(0, { 1, "", 0, 0, 1 }, { 2, "a", 1, 0, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 0, 1 }, { 2, "a", 1, 10, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 0, 1 }, { 2, "a", 10, 1, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 0, 2 }, { 2, "a", 1, 3, 0 }, { 2, "b", 1, 3, 0 }), -EBADMSG);
	/* counts: children more/fewer than entries, bytes mismatch */
	T_EQ_INT(D(0, { 1, "", 0, 0, 2 }, { 2, "a", 1, 1, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 0, 1 }, { 2, "a", 1, 1, 0 }, { 2, "b", 2, 2, 0 }), -EBADMSG);
	T_EQ_INT(D(1, { 1, "", 0, 0, 1 }, { 2, "a", 1, 1, 0 }), -EBADMSG);
	T_EQ_INT(D(0, { 1, "", 0, 0, 1 }, { 2, "a", 1, 1, 1 }), -EBADMSG);
	T_EQ_INT(D(CFS_FS_MAX + 1ull, { 1, "", 0, 0, 0 }), -EBADMSG);
#undef D
}

static void test_decode_header(void)
{
	struct tree *t = sample(), *u;
	struct buf b = { 0 };
	uint8_t *p;

	tree_encode(t, &b);
	p = xmemdup(b.p, b.len);
	put_le16(p + 6, 1); /* flags */
	fix_crcs(p, b.len);
	T_EQ_INT(tree_decode(p, b.len, &u), -EBADMSG);
	memcpy(p, b.p, b.len);
	put_le16(p + 4, 2); /* format */
	fix_crcs(p, b.len);
	T_EQ_INT(tree_decode(p, b.len, &u), -EBADMSG);
	memcpy(p, b.p, b.len);
	put_le32(p, 0); /* magic */
	fix_crcs(p, b.len);
	T_EQ_INT(tree_decode(p, b.len, &u), -EBADMSG);
	memcpy(p, b.p, b.len);
	put_le32(p + 16, CFS_INODES_MAX + 1); /* count over the limit */
	fix_crcs(p, b.len);
	T_EQ_INT(tree_decode(p, b.len, &u), -EBADMSG);
	memcpy(p, b.p, b.len);
	put_le32(p + 16, 0xffffffffu); /* count larger than the blob can hold */
	fix_crcs(p, b.len);
	T_EQ_INT(tree_decode(p, b.len, &u), -EBADMSG);
	T_ASSERT(u == NULL);
	free(p);
	buf_free(&b);
	tree_free(t);
}

/* 20 000 files of 1.5 KB among 100 000 entries: everything stays O(n) */
static void test_big_tree(void)
{
	struct tree *t, *u;
	struct buf b = { 0 };
	uint8_t data[1536], d1[TREE_DIGEST_SIZE], d2[TREE_DIGEST_SIZE];
	char name[32];
	struct tree_node *dirs[100];
	size_t files = 0;

	memset(data, 'c', sizeof(data));
	tree_new(&t);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "d%03d", i);
		T_EQ_INT(tree_add(t, mut(t, ""), name, TREE_DIR, tree_next_version(t), 1, 1,
		                  &dirs[i]),
		         0);
	}
	for (int i = 0; tree_count(t) < 100000; i++) {
		struct tree_node *n;
		bool file = i % 5 == 0;

		snprintf(name, sizeof(name), "e%06d", i);
		tree_add(t, dirs[i % 100], name, file ? TREE_FILE : TREE_DIR, tree_next_version(t),
		         2, 1, &n);
		if (file) {
			data[0] = (uint8_t)i;
			tree_write(t, n, 0, data, sizeof(data), true, tree_next_version(t), 3, 1);
			files++;
		}
	}
	T_EQ_INT(files, 19980);
	T_EQ_INT(tree_count(t), 100000);
	T_EQ_INT(tree_bytes(t), files * sizeof(data));
	T_ASSERT(tree_lookup(t, "d042/e000042") != NULL);
	T_EQ_INT(tree_encode(t, &b), 0);
	T_EQ_INT(tree_decode(b.p, b.len, &u), 0);
	T_EQ_INT(tree_count(u), 100000);
	tree_digest(t, d1);
	tree_digest(u, d2);
	T_EQ_MEM(d1, d2, sizeof(d1));
	tree_free(u);
	buf_free(&b);
	tree_free(t);
}

/* 100 000 children of one directory: hashing keeps it fast */
static void test_wide_dir(void)
{
	struct tree *t;
	char name[32];
	const struct tree_node *c;
	size_t n = 0;

	tree_new(&t);
	for (int i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "%d", (i * 7919) % 100000);
		T_EQ_INT(tree_add(t, mut(t, ""), name, TREE_FILE, tree_next_version(t), 1, 1, NULL),
		         0);
	}
	T_ASSERT(tree_lookup(t, "99999") != NULL);
	for (c = tree_node_first_child(tree_root(t)); c; c = tree_node_next_sibling(c))
		n++;
	T_EQ_INT(n, 100000);
	T_EQ_STR(tree_node_first_child(tree_root(t))->name, "0");
	for (int i = 0; i < 100000; i += 2) {
		snprintf(name, sizeof(name), "%d", i);
		T_EQ_INT(tree_remove(t, mut(t, name)), 0);
	}
	T_EQ_INT(tree_count(t), 50001);
	T_EQ_STR(tree_node_first_child(tree_root(t))->name, "1");
	tree_free(t);
}

/* A fresh read-only mapping of len bytes starting with the n bytes of
 * src, as the journal lends it. */
static uint8_t *map_copy(const void *src, size_t n, size_t len)
{
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	T_ASSERT(m != MAP_FAILED && n <= len);
	memcpy(m, src, n);
	T_EQ_INT(mprotect(m, len, PROT_READ), 0);
	return m;
}

/* msync() fails with ENOMEM on an address range that is not mapped */
static bool mapped(const void *p, size_t len)
{
	return msync((void *)p, len, MS_ASYNC) == 0;
}

static int write_whole(struct tree *t, const char *path, const uint8_t *p, uint32_t len)
{
	return tree_write(t, mut(t, path), 0, p, len, true, tree_next_version(t), 1, 1);
}

/* Content lent from a mapping stays there until changed; the mapping
 * goes once its lend is closed and nothing points into it. */
static void test_lend(void)
{
	static const char text[] = "aaaa:bbbb:cccc:dddd";
	size_t len = 2 * 4096;
	uint8_t *m = map_copy(text, sizeof(text), len), *m2;
	struct tree *t;
	struct tree_node *a, *b, *c;

	tree_new(&t);
	T_EQ_INT(add(t, "", "a", TREE_FILE, 1), 0);
	T_EQ_INT(add(t, "", "b", TREE_FILE, 1), 0);
	T_EQ_INT(add(t, "", "c", TREE_FILE, 1), 0);
	a = mut(t, "a");
	b = mut(t, "b");
	c = mut(t, "c");
	tree_lend(t, m, len);
	T_EQ_INT(write_whole(t, "a", m, 4), 0);
	T_ASSERT(a->data == m && a->lent);
	T_EQ_INT(write_whole(t, "b", m + 5, 4), 0);
	T_ASSERT(b->data == m + 5 && b->lent);
	/* partial writes and content from elsewhere are copied */
	T_EQ_INT(tree_write(t, c, 0, m + 10, 4, false, tree_next_version(t), 1, 1), 0);
	T_ASSERT(!c->lent && c->data != m + 10);
	T_EQ_INT(write_whole(t, "c", (const uint8_t *)"zz", 2), 0);
	T_ASSERT(!c->lent);
	T_EQ_INT(tree_bytes(t), 10);
	/* a write into lent content copies it first, the mapping untouched */
	T_EQ_INT(tree_write(t, a, 2, (const uint8_t *)"XY", 2, false, tree_next_version(t), 1, 1),
	         0);
	T_ASSERT(!a->lent && a->data != m);
	T_EQ_MEM(a->data, "aaXY", 4);
	T_EQ_MEM(m, "aaaa", 4);
	tree_lend_close(t);
	T_ASSERT(mapped(m, len)); /* b still points there */
	T_EQ_INT(tree_remove(t, b), 0);
	T_ASSERT(!mapped(m, len));

	/* a closed lend lends nothing more; a new lend takes over */
	m = map_copy(text, sizeof(text), len);
	m2 = map_copy(text, sizeof(text), len);
	tree_lend(t, m, len);
	T_EQ_INT(write_whole(t, "a", m, 9), 0);
	tree_lend(t, m2, len);
	T_ASSERT(mapped(m, len));
	T_EQ_INT(write_whole(t, "c", m, 4), 0);
	T_ASSERT(!c->lent);
	T_EQ_INT(write_whole(t, "c", m2 + 15, 4), 0);
	T_ASSERT(c->lent && c->data == m2 + 15);
	T_EQ_INT(write_whole(t, "a", m2 + 10, 4), 0); /* from one lend to the other */
	T_ASSERT(!mapped(m, len));
	T_EQ_MEM(a->data, "cccc", 4);
	/* unlend: everything into the heap, every mapping gone */
	tree_unlend(t);
	T_ASSERT(!mapped(m2, len));
	T_ASSERT(!a->lent && !c->lent);
	T_EQ_MEM(a->data, "cccc", 4);
	T_EQ_MEM(c->data, "dddd", 4);
	/* freeing the tree releases what it still holds */
	m = map_copy(text, sizeof(text), len);
	tree_lend(t, m, len);
	T_EQ_INT(write_whole(t, "a", m, 4), 0);
	tree_lend_close(t);
	tree_free(t);
	T_ASSERT(!mapped(m, len));
}

/* A snapshot mapped and lent to an empty tree: the decoded tree takes
 * the lend over; on a damaged snapshot the lender keeps it. */
static void test_decode_lent(void)
{
	struct tree *t = sample(), *e, *u;
	struct buf b = { 0 };
	const struct tree_node *n;
	uint8_t *m, dt[TREE_DIGEST_SIZE], du[TREE_DIGEST_SIZE];
	size_t len;

	T_EQ_INT(tree_encode(t, &b), 0);
	len = b.len;
	m = map_copy(b.p, len, len);
	tree_new(&e);
	tree_lend(e, m, len);
	/* damaged: nothing changes hands */
	T_EQ_INT(tree_decode_lent(m, len - 1, e, &u), -EBADMSG);
	T_ASSERT(mapped(m, len));
	T_EQ_INT(tree_decode_lent(m, len, e, &u), 0);
	n = tree_lookup(u, "storage.cfg");
	T_ASSERT(n && n->lent && n->data > m && n->data < m + len);
	T_EQ_MEM(n->data, "dir: local\n", 11);
	tree_free(e);
	T_ASSERT(mapped(m, len));
	tree_digest(t, dt);
	tree_digest(u, du);
	T_EQ_MEM(dt, du, TREE_DIGEST_SIZE);
	tree_free(u);
	T_ASSERT(!mapped(m, len));
	/* a lender whose lend is in use already: the content is copied */
	m = map_copy(b.p, len, len);
	tree_new(&e);
	T_EQ_INT(add(e, "", "x", TREE_FILE, 1), 0);
	tree_lend(e, m, len);
	T_EQ_INT(write_whole(e, "x", m + 4, 4), 0);
	T_EQ_INT(tree_decode_lent(m, len, e, &u), 0);
	T_ASSERT(!tree_lookup(u, "storage.cfg")->lent);
	tree_free(u);
	T_ASSERT(mapped(m, len));
	tree_free(e);
	T_ASSERT(!mapped(m, len));
	buf_free(&b);
	tree_free(t);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_new_and_lookup);
	T_RUN(test_sorted_order);
	T_RUN(test_mutators);
	T_RUN(test_xxh64_vectors);
	T_RUN(test_digest_stream);
	T_RUN(test_digest_covers);
	T_RUN(test_encode_decode);
	T_RUN(test_decode_damage);
	T_RUN(test_decode_structure);
	T_RUN(test_decode_header);
	T_RUN(test_big_tree);
	T_RUN(test_wide_dir);
	T_RUN(test_lend);
	T_RUN(test_decode_lent);
	return t_done();
}
