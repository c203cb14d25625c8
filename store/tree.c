/* store/tree.c - the in-memory tree (format and invariants in store/tree.h).
 *
 * Each directory hashes its children by name into a power-of-two bucket
 * array (chained through hnext, grown at load factor 1).  Name order is a
 * cache: a directory's sorted[] array is rebuilt on demand after its
 * children changed, so listings cost O(k log k) once per change instead
 * of O(k) per insert.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "store/tree.h"
#include "core/crc32c.h"
#include "core/util.h"

/* A read-only mapping lent by tree_lend(): refs nodes point into it. */
struct lend {
	const uint8_t *base;
	size_t len;
	size_t refs;
	bool open; /* tree_write() may still make nodes point into it */
};

struct tree {
	struct tree_node *root;
	uint64_t version;   /* global version */
	size_t count;       /* entries, root included */
	size_t bytes;       /* content bytes */
	struct lend *lends; /* nlends of them */
	size_t nlends;
};

/* ---- XXH64, streaming ---- */

#define P64_1 0x9E3779B185EBCA87ull
#define P64_2 0xC2B2AE3D27D4EB4Full
#define P64_3 0x165667B19E3779F9ull
#define P64_4 0x85EBCA77C2B2AE63ull
#define P64_5 0x27D4EB2F165667C5ull

struct xxh {
	uint64_t v[4];
	uint64_t seed;
	uint64_t total;
	uint8_t mem[32];
	size_t memlen;
};

static uint64_t rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static uint64_t xround(uint64_t acc, uint64_t in)
{
	acc += in * P64_2;
	acc = rotl64(acc, 31);
	return acc * P64_1;
}

static uint64_t xmerge(uint64_t acc, uint64_t val)
{
	acc ^= xround(0, val);
	return acc * P64_1 + P64_4;
}

static void xxh_init(struct xxh *x, uint64_t seed)
{
	memset(x, 0, sizeof(*x));
	x->seed = seed;
	x->v[0] = seed + P64_1 + P64_2;
	x->v[1] = seed + P64_2;
	x->v[2] = seed;
	x->v[3] = seed - P64_1;
}

static void xxh_stripe(struct xxh *x, const uint8_t *p)
{
	x->v[0] = xround(x->v[0], get_le64(p));
	x->v[1] = xround(x->v[1], get_le64(p + 8));
	x->v[2] = xround(x->v[2], get_le64(p + 16));
	x->v[3] = xround(x->v[3], get_le64(p + 24));
}

static void xxh_update(struct xxh *x, const void *data, size_t n)
{
	const uint8_t *p = data;

	x->total += n;
	if (x->memlen) {
		size_t k = MIN(n, 32 - x->memlen);

		memcpy(x->mem + x->memlen, p, k);
		x->memlen += k;
		p += k;
		n -= k;
		if (x->memlen < 32)
			return;
		xxh_stripe(x, x->mem);
		x->memlen = 0;
	}
	while (n >= 32) {
		xxh_stripe(x, p);
		p += 32;
		n -= 32;
	}
	memcpy(x->mem, p, n);
	x->memlen = n;
}

static uint64_t xxh_final(const struct xxh *x)
{
	const uint8_t *p = x->mem, *end = x->mem + x->memlen;
	uint64_t h;

	if (x->total >= 32) {
		h = rotl64(x->v[0], 1) + rotl64(x->v[1], 7) + rotl64(x->v[2], 12) +
		    rotl64(x->v[3], 18);
		for (int i = 0; i < 4; i++)
			h = xmerge(h, x->v[i]);
	} else {
		h = x->seed + P64_5;
	}
	h += x->total;
	for (; p + 8 <= end; p += 8) {
		h ^= xround(0, get_le64(p));
		h = rotl64(h, 27) * P64_1 + P64_4;
	}
	if (p + 4 <= end) {
		h ^= (uint64_t)get_le32(p) * P64_1;
		h = rotl64(h, 23) * P64_2 + P64_3;
		p += 4;
	}
	for (; p < end; p++) {
		h ^= *p * P64_5;
		h = rotl64(h, 11) * P64_1;
	}
	h ^= h >> 33;
	h *= P64_2;
	h ^= h >> 29;
	h *= P64_3;
	h ^= h >> 32;
	return h;
}

uint64_t tree_xxh64(const void *p, size_t n, uint64_t seed)
{
	struct xxh x;

	xxh_init(&x, seed);
	xxh_update(&x, p, n);
	return xxh_final(&x);
}

/* ---- nodes and children ---- */

static uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

/* One allocation for the node and its first name (a rename gives it a
 * name of its own). */
static struct tree_node *node_alloc(const char *name, size_t len, enum tree_type type)
{
	struct tree_node *n = xmalloc(sizeof(*n) + len + 1);

	memset(n, 0, sizeof(*n));
	n->name = (char *)(n + 1);
	memcpy(n->name, name, len);
	n->name[len] = 0;
	n->name_len = (uint16_t)len;
	n->hash = name_hash(name, len);
	n->type = type;
	return n;
}

static void name_free(struct tree_node *n)
{
	if (n->name != (char *)(n + 1))
		free(n->name);
}

/* ---- lent content ---- */

static void lend_release(struct tree *t, size_t i)
{
	munmap((void *)t->lends[i].base, t->lends[i].len);
	/* keep the order: the open lend, if any, stays the last */
	memmove(&t->lends[i], &t->lends[i + 1], (--t->nlends - i) * sizeof(*t->lends));
}

void tree_lend(struct tree *t, const uint8_t *base, size_t len)
{
	tree_lend_close(t);
	t->lends = xrealloc(t->lends, (t->nlends + 1) * sizeof(*t->lends));
	t->lends[t->nlends++] = (struct lend){ base, len, 0, true };
}

void tree_lend_close(struct tree *t)
{
	for (size_t i = t->nlends; i-- > 0;) {
		t->lends[i].open = false;
		if (!t->lends[i].refs)
			lend_release(t, i);
	}
}

static struct lend *lend_of(struct tree *t, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < t->nlends; i++) {
		struct lend *l = &t->lends[i];

		if (p >= l->base && len <= l->len && (size_t)(p - l->base) <= l->len - len)
			return l;
	}
	return NULL;
}

/* n no longer points into its lend */
static void lend_put(struct tree *t, struct tree_node *n)
{
	struct lend *l = lend_of(t, n->data, n->size);

	assert(l && l->refs);
	n->lent = false;
	if (!--l->refs && !l->open)
		lend_release(t, (size_t)(l - t->lends));
}

static void data_free(struct tree *t, struct tree_node *n)
{
	if (n->lent)
		lend_put(t, n);
	else
		free(n->data);
	n->data = NULL;
}

/* n's content in the heap, if it was lent */
static void data_own(struct tree *t, struct tree_node *n)
{
	uint8_t *copy;

	if (!n->lent)
		return;
	copy = xmemdup(n->data, n->size);
	lend_put(t, n);
	n->data = copy;
}

static void node_free(struct tree *t, struct tree_node *n)
{
	name_free(n);
	data_free(t, n);
	free(n->slots);
	free(n->sorted);
	free(n);
}

/* Visit every node below n (n included) in no particular order. */
static void subtree_each(struct tree *t, struct tree_node *n,
                         void (*fn)(struct tree *t, struct tree_node *n))
{
	if (n->type == TREE_DIR) {
		for (uint32_t i = 0; i < n->nslots; i++) {
			struct tree_node *c = n->slots[i], *next;

			for (; c; c = next) {
				next = c->hnext;
				subtree_each(t, c, fn);
			}
		}
	}
	fn(t, n);
}

void tree_unlend(struct tree *t)
{
	subtree_each(t, t->root, data_own);
	tree_lend_close(t);
	assert(!t->nlends);
}

static void buckets_grow(struct tree_node *dir)
{
	uint32_t nslots = dir->nslots ? dir->nslots * 2 : 8;
	struct tree_node **slots = xcalloc(nslots, sizeof(*slots));

	for (uint32_t i = 0; i < dir->nslots; i++) {
		struct tree_node *c = dir->slots[i], *next;

		for (; c; c = next) {
			next = c->hnext;
			c->hnext = slots[c->hash & (nslots - 1)];
			slots[c->hash & (nslots - 1)] = c;
		}
	}
	free(dir->slots);
	dir->slots = slots;
	dir->nslots = nslots;
}

static void child_link(struct tree_node *dir, struct tree_node *n)
{
	struct tree_node **b;

	if (dir->nchildren + 1 > dir->nslots)
		buckets_grow(dir);
	b = &dir->slots[n->hash & (dir->nslots - 1)];
	n->hnext = *b;
	*b = n;
	n->parent = dir;
	dir->nchildren++;
	dir->sorted_ok = false;
}

static void child_unlink(struct tree_node *n)
{
	struct tree_node *dir = n->parent, **pp;

	pp = &dir->slots[n->hash & (dir->nslots - 1)];
	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	n->hnext = NULL;
	n->parent = NULL;
	dir->nchildren--;
	dir->sorted_ok = false;
}

static const struct tree_node *find_child(const struct tree_node *dir, const char *name, size_t len)
{
	uint32_t h;
	const struct tree_node *c;

	if (dir->type != TREE_DIR || !dir->nslots)
		return NULL;
	h = name_hash(name, len);
	for (c = dir->slots[h & (dir->nslots - 1)]; c; c = c->hnext)
		if (c->hash == h && c->name_len == len && !memcmp(c->name, name, len))
			return c;
	return NULL;
}

const struct tree_node *tree_child(const struct tree_node *dir, const char *name, size_t len)
{
	return find_child(dir, name, len);
}

static int cmp_node(const void *a, const void *b)
{
	const struct tree_node *x = *(struct tree_node *const *)a;
	const struct tree_node *y = *(struct tree_node *const *)b;

	return strcmp(x->name, y->name);
}

/* Rebuild dir's name-order cache.  The tree is logically unchanged, so
 * this is allowed from const accessors (nodes are never const objects). */
static void sort_children(const struct tree_node *cdir)
{
	struct tree_node *dir = (struct tree_node *)cdir;
	uint32_t k = 0;

	if (dir->sorted_ok)
		return;
	free(dir->sorted);
	dir->sorted = NULL;
	if (dir->nchildren) {
		dir->sorted = xmalloc(dir->nchildren * sizeof(*dir->sorted));
		for (uint32_t i = 0; i < dir->nslots; i++)
			for (struct tree_node *c = dir->slots[i]; c; c = c->hnext)
				dir->sorted[k++] = c;
		assert(k == dir->nchildren);
		qsort(dir->sorted, k, sizeof(*dir->sorted), cmp_node);
		for (uint32_t i = 0; i < k; i++)
			dir->sorted[i]->sorted_idx = i;
	}
	dir->sorted_ok = true;
}

const struct tree_node *tree_node_first_child(const struct tree_node *dir)
{
	if (!dir || dir->type != TREE_DIR || !dir->nchildren)
		return NULL;
	sort_children(dir);
	return dir->sorted[0];
}

const struct tree_node *tree_node_next_sibling(const struct tree_node *n)
{
	const struct tree_node *p = n ? n->parent : NULL;

	if (!p)
		return NULL;
	sort_children(p);
	if (n->sorted_idx + 1 >= p->nchildren)
		return NULL;
	return p->sorted[n->sorted_idx + 1];
}

/* ---- the tree ---- */

int tree_new(struct tree **out)
{
	struct tree *t = xcalloc(1, sizeof(*t));

	t->root = node_alloc("", 0, TREE_DIR);
	t->count = 1;
	*out = t;
	return 0;
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	subtree_each(t, t->root, node_free);
	tree_lend_close(t);
	assert(!t->nlends);
	free(t->lends);
	free(t);
}

const struct tree_node *tree_root(const struct tree *t)
{
	return t->root;
}

uint64_t tree_version(const struct tree *t)
{
	return t->version;
}

size_t tree_count(const struct tree *t)
{
	return t->count;
}

size_t tree_bytes(const struct tree *t)
{
	return t->bytes;
}

int tree_resolve(const struct tree *t, const char *path, const struct tree_node **out)
{
	const struct tree_node *n = t->root;
	const char *s = path;

	*out = NULL;
	while (*s) {
		const char *e = strchrnul(s, '/');

		if (e != s) {
			if (n->type != TREE_DIR)
				return -ENOTDIR;
			n = find_child(n, s, (size_t)(e - s));
			if (!n)
				return -ENOENT;
		}
		s = *e ? e + 1 : e;
	}
	*out = n;
	return 0;
}

const struct tree_node *tree_lookup(const struct tree *t, const char *path)
{
	const struct tree_node *n;

	return tree_resolve(t, path, &n) ? NULL : n;
}

int tree_node_path(const struct tree_node *n, char *dst, size_t size)
{
	size_t len = 0, pos;
	const struct tree_node *p;

	for (p = n; p->parent; p = p->parent)
		len += p->name_len + (p->parent->parent ? 1 : 0);
	if (len + 1 > size)
		return -ENAMETOOLONG;
	dst[len] = 0;
	pos = len;
	for (p = n; p->parent; p = p->parent) {
		pos -= p->name_len;
		memcpy(dst + pos, p->name, p->name_len);
		if (p->parent->parent)
			dst[--pos] = '/';
	}
	return 0;
}

static int walk_rec(const struct tree_node *n, unsigned depth, tree_walk_fn *fn, void *ctx)
{
	int rc = fn(ctx, n, depth);

	if (rc)
		return rc;
	for (const struct tree_node *c = tree_node_first_child(n); c;
	     c = tree_node_next_sibling(c)) {
		rc = walk_rec(c, depth + 1, fn, ctx);
		if (rc)
			return rc;
	}
	return 0;
}

int tree_walk(const struct tree *t, tree_walk_fn *fn, void *ctx)
{
	return walk_rec(t->root, 0, fn, ctx);
}

/* ---- mutators ---- */

struct tree_node *tree_mut(struct tree *t, const struct tree_node *n)
{
	(void)t;
	return (struct tree_node *)n;
}

uint64_t tree_next_version(struct tree *t)
{
	return ++t->version;
}

int tree_add(struct tree *t, struct tree_node *dir, const char *name, enum tree_type type,
             uint64_t v, uint32_t mtime, uint32_t writer, struct tree_node **out)
{
	size_t len = strlen(name);
	struct tree_node *n;

	assert(len > 0 && len <= CFS_NAME_MAX && !strchr(name, '/'));
	if (dir->type != TREE_DIR)
		return -ENOTDIR;
	if (find_child(dir, name, len))
		return -EEXIST;
	n = node_alloc(name, len, type);
	n->inode = v;
	n->version = v;
	n->mtime = mtime;
	n->writer = writer;
	child_link(dir, n);
	t->count++;
	if (out)
		*out = n;
	return 0;
}

int tree_write(struct tree *t, struct tree_node *n, uint64_t offset, const uint8_t *data,
               uint32_t len, bool trunc, uint64_t v, uint32_t mtime, uint32_t writer)
{
	struct lend *l = t->nlends ? &t->lends[t->nlends - 1] : NULL;
	uint64_t end = offset + len;
	uint32_t old, size;

	if (n->type != TREE_FILE)
		return -EISDIR;
	if (offset > UINT32_MAX || end > UINT32_MAX)
		return -EFBIG;
	old = n->size;
	size = trunc ? (uint32_t)end : MAX(old, (uint32_t)end);
	if (trunc && !offset && len && l && l->open && lend_of(t, data, len) == l) {
		/* the whole content, from the mapping being replayed */
		data_free(t, n);           /* may release an older lend: l moves */
		n->data = (uint8_t *)data; /* never written through: data_own() first */
		n->lent = true;
		t->lends[t->nlends - 1].refs++;
	} else {
		data_own(t, n);
		if (size != old) {
			if (size) {
				n->data = xrealloc(n->data, size);
			} else {
				free(n->data);
				n->data = NULL;
			}
			if (offset > old)
				memset(n->data + old, 0, offset - old);
		}
		if (len)
			memcpy(n->data + offset, data, len);
	}
	n->size = size;
	t->bytes = t->bytes - old + size;
	n->version = v;
	n->mtime = mtime;
	n->writer = writer;
	return 0;
}

void tree_touch(struct tree *t, struct tree_node *n, uint64_t v, uint32_t mtime, uint32_t writer)
{
	(void)t;
	n->version = v;
	n->mtime = mtime;
	n->writer = writer;
}

int tree_remove(struct tree *t, struct tree_node *n)
{
	struct tree_node *dir = n->parent;

	if (!dir)
		return -EBUSY;
	if (n->type == TREE_DIR && n->nchildren)
		return -ENOTEMPTY;
	child_unlink(n);
	t->count--;
	t->bytes -= n->size;
	node_free(t, n);
	return 0;
}

int tree_move(struct tree *t, struct tree_node *n, struct tree_node *dir, const char *name,
              uint64_t v, uint32_t mtime, uint32_t writer)
{
	size_t len = strlen(name);
	struct tree_node *old = n->parent;

	(void)t;
	assert(len > 0 && len <= CFS_NAME_MAX && !strchr(name, '/'));
	if (!old)
		return -EBUSY;
	if (dir->type != TREE_DIR)
		return -ENOTDIR;
	for (const struct tree_node *p = dir; p; p = p->parent)
		if (p == n)
			return -EINVAL;
	if (find_child(dir, name, len))
		return -EEXIST;
	child_unlink(n);
	name_free(n);
	n->name = xmemdup(name, len + 1);
	n->name_len = (uint16_t)len;
	n->hash = name_hash(name, len);
	child_link(dir, n);
	n->version = v;
	n->mtime = mtime;
	n->writer = writer;
	return 0;
}

/* ---- encoding ---- */

static void put_entry(struct buf *out, const struct tree_node *n)
{
	buf_put_u8(out, (uint8_t)n->type);
	buf_put_u8(out, 0);
	buf_put_le16(out, n->name_len);
	buf_put_le32(out, n->mtime);
	buf_put_le32(out, n->writer);
	buf_put_le64(out, n->version);
	buf_put_le64(out, n->inode);
	buf_put_le32(out, n->type == TREE_FILE ? n->size : n->nchildren);
	buf_put(out, n->name, n->name_len);
	if (n->type == TREE_FILE && n->size)
		buf_put(out, n->data, n->size);
}

static int encode_cb(void *ctx, const struct tree_node *n, unsigned depth)
{
	(void)depth;
	put_entry(ctx, n);
	return 0;
}

int tree_encode(const struct tree *t, struct buf *out)
{
	size_t start = out->len;

	buf_reserve(out, TREE_HDR_SIZE + t->count * TREE_ENT_SIZE + t->bytes + 4);
	buf_put_le32(out, TREE_MAGIC);
	buf_put_le16(out, TREE_FORMAT);
	buf_put_le16(out, 0);
	buf_put_le64(out, t->version);
	buf_put_le32(out, (uint32_t)t->count);
	buf_put_le64(out, t->bytes);
	buf_put_le32(out, crc32c(0, out->p + start, 28));
	tree_walk(t, encode_cb, out);
	buf_put_le32(out, crc32c(0, out->p + start, out->len - start));
	return 0;
}

struct dframe {
	struct tree_node *dir;
	uint32_t left;    /* children still to read */
	size_t path_len;  /* bytes of the dir's path */
	const char *prev; /* previous sibling's name */
	uint16_t prev_len;
};

static bool name_ok(const uint8_t *s, size_t len)
{
	if (len == 0 || len > CFS_NAME_MAX)
		return false;
	if (memchr(s, 0, len) || memchr(s, '/', len))
		return false;
	if (s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.')))
		return false;
	return true;
}

/* memcmp order with the shorter prefix first: a < b? */
static bool name_less(const char *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, MIN(alen, blen));

	return c < 0 || (c == 0 && alen < blen);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* a node that must not give its lent content back: the lend stays with
 * the tree it came from */
static void lend_forget(struct tree *t, struct tree_node *n)
{
	(void)t;
	if (n->lent) {
		n->data = NULL;
		n->lent = false;
	}
}

/* tree_decode(), with l (when not NULL) lent to the new tree */
static int decode(const uint8_t *p, size_t n, const struct lend *l, struct tree **out)
{
	struct rd r;
	struct tree *t = NULL;
	struct dframe *stack = NULL;
	size_t depth = 0, cap = 0, got = 0, bytes = 0;
	uint64_t version, hbytes, *inodes = NULL;
	uint32_t count;
	int rc = -EBADMSG;

	*out = NULL;
	if (n < TREE_HDR_SIZE + TREE_ENT_SIZE + 4)
		return -EBADMSG;
	if (get_le32(p) != TREE_MAGIC || get_le16(p + 4) != TREE_FORMAT || get_le16(p + 6) ||
	    get_le32(p + 28) != crc32c(0, p, 28) || get_le32(p + n - 4) != crc32c(0, p, n - 4))
		return -EBADMSG;
	version = get_le64(p + 8);
	count = get_le32(p + 16);
	hbytes = get_le64(p + 20);
	if (count < 1 || count > CFS_INODES_MAX || hbytes > CFS_FS_MAX)
		return -EBADMSG;
	/* every entry takes at least TREE_ENT_SIZE bytes: bound before allocating */
	if ((uint64_t)count * TREE_ENT_SIZE > n - TREE_HDR_SIZE - 4)
		return -EBADMSG;
	r = rd_init(p + TREE_HDR_SIZE, n - TREE_HDR_SIZE - 4);
	inodes = xmalloc(count * sizeof(*inodes));
	t = xcalloc(1, sizeof(*t));
	t->version = version;
	if (l) {
		t->lends = xmalloc(sizeof(*t->lends));
		t->lends[0] = *l;
		t->lends[0].refs = 0;
		t->lends[0].open = true;
		t->nlends = 1;
	}

	while (got < count) {
		uint8_t type = rd_u8(&r), flags = rd_u8(&r);
		uint16_t name_len = rd_u16(&r);
		uint32_t mtime = rd_u32(&r), writer = rd_u32(&r);
		uint64_t nver = rd_u64(&r), inode = rd_u64(&r);
		uint32_t size = rd_u32(&r);
		const uint8_t *name = rd_take(&r, name_len);
		struct tree_node *node;
		struct dframe *f = depth ? &stack[depth - 1] : NULL;

		if (r.err || flags || (type != TREE_DIR && type != TREE_FILE) || nver > version)
			goto out_free;
		if (!f) { /* the root */
			if (got || type != TREE_DIR || name_len || inode)
				goto out_free;
			node = node_alloc("", 0, TREE_DIR);
			t->root = node;
		} else {
			size_t plen = f->path_len + (f->path_len ? 1 : 0) + name_len;

			if (!name_ok(name, name_len) || !inode || inode > version ||
			    plen >= CFS_PATH_MAX)
				goto out_free;
			if (f->prev && !name_less(f->prev, f->prev_len, name, name_len))
				goto out_free;
			node = node_alloc((const char *)name, name_len, (enum tree_type)type);
			child_link(f->dir, node);
			f->prev = node->name;
			f->prev_len = name_len;
			f->left--;
		}
		node->mtime = mtime;
		node->writer = writer;
		node->version = nver;
		node->inode = inode;
		inodes[got++] = inode;
		if (type == TREE_FILE) {
			const uint8_t *data;

			if (size > CFS_FILE_MAX)
				goto out_free;
			data = rd_take(&r, size);
			if (!data)
				goto out_free;
			if (size && l) {
				node->data = (uint8_t *)data;
				node->lent = true;
				t->lends[0].refs++;
			} else if (size) {
				node->data = xmemdup(data, size);
			}
			node->size = size;
			bytes += size;
		} else if (size) {
			size_t plen = f ? f->path_len + (f->path_len ? 1 : 0) + name_len : 0;

			if (size > count - got)
				goto out_free;
			if (depth == cap) {
				cap = cap ? cap * 2 : 16;
				stack = xrealloc(stack, cap * sizeof(*stack));
			}
			stack[depth].dir = node;
			stack[depth].left = size;
			stack[depth].path_len = plen; /* f may have moved */
			stack[depth].prev = NULL;
			stack[depth].prev_len = 0;
			depth++;
		}
		while (depth && !stack[depth - 1].left)
			depth--;
		if (!depth && got < count)
			goto out_free; /* entries left but the root is complete */
	}
	if (depth || r.left || bytes != hbytes)
		goto out_free;
	qsort(inodes, count, sizeof(*inodes), cmp_u64);
	for (uint32_t i = 1; i < count; i++)
		if (inodes[i] == inodes[i - 1])
			goto out_free;
	t->count = count;
	t->bytes = bytes;
	*out = t;
	t = NULL;
	rc = 0;
out_free:
	if (t && t->root && l)
		subtree_each(t, t->root, lend_forget);
	if (t && l)
		t->nlends = 0;
	if (t && !t->root) {
		free(t->lends);
		free(t);
	} else {
		tree_free(t);
	}
	free(stack);
	free(inodes);
	return rc;
}

int tree_decode(const uint8_t *p, size_t n, struct tree **out)
{
	return decode(p, n, NULL, out);
}

int tree_decode_lent(const uint8_t *p, size_t n, struct tree *from, struct tree **out)
{
	struct lend *l = from->nlends ? &from->lends[from->nlends - 1] : NULL;
	int rc;

	if (!l || !l->open || l->refs || lend_of(from, p, n) != l)
		return decode(p, n, NULL, out);
	rc = decode(p, n, l, out);
	if (rc == 0) {
		tree_lend_close(*out);
		from->nlends--; /* the new tree has it now */
	}
	return rc;
}

/* ---- digest ---- */

struct digest_ctx {
	struct xxh a, b;
};

static void dg_put(struct digest_ctx *d, const void *p, size_t n)
{
	xxh_update(&d->a, p, n);
	xxh_update(&d->b, p, n);
}

static int digest_cb(void *ctx, const struct tree_node *n, unsigned depth)
{
	struct digest_ctx *d = ctx;
	uint8_t h[13];

	put_le16(h, (uint16_t)depth);
	h[2] = (uint8_t)n->type;
	put_le16(h + 3, n->name_len);
	dg_put(d, h, 5);
	dg_put(d, n->name, n->name_len);
	put_le32(h, n->mtime);
	put_le32(h + 4, n->type == TREE_FILE ? n->size : n->nchildren);
	dg_put(d, h, 8);
	if (n->type == TREE_FILE && n->size)
		dg_put(d, n->data, n->size);
	return 0;
}

void tree_digest(const struct tree *t, uint8_t out[TREE_DIGEST_SIZE])
{
	struct digest_ctx d;

	xxh_init(&d.a, 0);
	xxh_init(&d.b, TREE_DIGEST_SEED2);
	tree_walk(t, digest_cb, &d);
	put_le64(out, xxh_final(&d.a));
	put_le64(out + 8, xxh_final(&d.b));
}
