/* tests/unit/test_journal.c - store/journal.c: round trips, torn and
 * corrupt files, failing system calls, group commit, compaction and the
 * crashes in the middle of it, the directory lock. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/buf.h"
#include "core/log.h"
#include "core/sys.h"
#include "core/util.h"
#include "store/journal.h"
#include "store/snap.h"
#include "tests/t.h"

#define T_OK(call)                                                                        \
	do {                                                                              \
		int t_rc_ = (call);                                                       \
		if (t_rc_ < 0)                                                            \
			t_fail(__FILE__, __LINE__, "%s: %s", #call, cfs_strerror(t_rc_)); \
	} while (0)

#define MAXI 4096

/* ---------------------------------------------------------------- helpers */

struct seen {
	uint16_t type;
	uint64_t index, term;
	char payload[64];
};

/* What the callbacks saw, and the log a consumer rebuilds from it. */
struct coll {
	int nsnap;
	uint64_t snap_index, snap_term;
	uint8_t *snap;
	size_t snap_len;
	struct seen *recs;
	size_t n, cap;
	uint64_t last;   /* log model: last index */
	char *log[MAXI]; /* log model: payload of each index */
	uint64_t log_term[MAXI];
	int bad_order;      /* ENTRY not last + 1 */
	uint32_t voted_for; /* from the last STATE */
	uint64_t state_term;
	int stop_at; /* return -ECANCELED at this record (1-based) */
};

static void coll_free(struct coll *c)
{
	size_t i;

	free(c->snap);
	free(c->recs);
	for (i = 0; i < MAXI; i++)
		free(c->log[i]);
	memset(c, 0, sizeof(*c));
}

static int coll_snapshot(void *ctx, uint64_t index, uint64_t term, const uint8_t *blob, size_t len)
{
	struct coll *c = ctx;
	size_t i;

	c->nsnap++;
	c->snap_index = index;
	c->snap_term = term;
	free(c->snap);
	c->snap = xmemdup(blob, len ? len : 1);
	c->snap_len = len;
	for (i = 0; i < MAXI; i++) {
		free(c->log[i]);
		c->log[i] = NULL;
	}
	c->last = index;
	return 0;
}

static int coll_record(void *ctx, const struct jrec *r)
{
	struct coll *c = ctx;
	struct seen *s;
	uint64_t i;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->recs = xrealloc(c->recs, c->cap * sizeof(*c->recs));
	}
	s = &c->recs[c->n++];
	s->type = r->type;
	s->index = r->index;
	s->term = r->term;
	snprintf(s->payload, sizeof(s->payload), "%.*s", (int)MIN(r->len, 63u),
	         r->p ? (const char *)r->p : "");
	if (c->stop_at && (int)c->n == c->stop_at)
		return -ECANCELED;

	switch (r->type) {
	case JREC_ENTRY:
		if (r->index != c->last + 1 || r->index >= MAXI) {
			c->bad_order++;
			break;
		}
		c->last = r->index;
		free(c->log[r->index]);
		c->log[r->index] = xmalloc(r->len + 1);
		memcpy(c->log[r->index], r->p, r->len);
		c->log[r->index][r->len] = 0;
		c->log_term[r->index] = r->term;
		break;
	case JREC_TRUNC:
		if (r->index > c->last)
			c->bad_order++;
		for (i = r->index + 1; i <= c->last && i < MAXI; i++) {
			free(c->log[i]);
			c->log[i] = NULL;
		}
		c->last = r->index;
		break;
	case JREC_STATE:
		c->state_term = r->term;
		c->voted_for = r->len == 4 ? get_le32(r->p) : 0;
		break;
	}
	return 0;
}

static const struct journal_cb coll_cb = { .snapshot = coll_snapshot, .record = coll_record };

static char *dup_dir(const char *d)
{
	return xstrdup(d);
}

static void entry_text(char *out, size_t size, uint64_t index, int variant)
{
	snprintf(out, size, "entry %llu v%d", (unsigned long long)index, variant);
}

static int append_entry(struct journal *j, uint64_t index, uint64_t term, int variant)
{
	char p[64];
	struct jrec r;

	entry_text(p, sizeof(p), index, variant);
	r = (struct jrec){ JREC_ENTRY, index, term, (const uint8_t *)p, (uint32_t)strlen(p) };
	return journal_append(j, &r);
}

static int append_state(struct journal *j, uint64_t term, uint64_t commit, uint32_t vote)
{
	uint8_t v[4];
	struct jrec r = { JREC_STATE, commit, term, v, 4 };

	put_le32(v, vote);
	return journal_append(j, &r);
}

static int append_trunc(struct journal *j, uint64_t index, uint64_t term)
{
	struct jrec r = { JREC_TRUNC, index, term, NULL, 0 };

	return journal_append(j, &r);
}

/* the log model holds entries lo..hi with the given variant text */
static bool log_has(const struct coll *c, uint64_t lo, uint64_t hi, int variant)
{
	char want[64];
	uint64_t i;

	for (i = lo; i <= hi; i++) {
		entry_text(want, sizeof(want), i, variant);
		if (!c->log[i] || strcmp(c->log[i], want))
			return false;
	}
	return true;
}

static size_t read_file(const char *path, uint8_t **out)
{
	struct stat st;
	size_t n = 0;
	FILE *f;

	*out = NULL;
	if (stat(path, &st) < 0)
		return 0;
	*out = xmalloc((size_t)st.st_size + 1);
	f = fopen(path, "rb");
	if (f) {
		n = fread(*out, 1, (size_t)st.st_size, f);
		fclose(f);
	}
	return n;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	T_ASSERT(f != NULL);
	if (!f)
		return;
	T_EQ_INT(fwrite(p, 1, n, f), n);
	fclose(f);
}

static void copy_file(const char *src, const char *dst, size_t cut)
{
	uint8_t *p;
	size_t n = read_file(src, &p);

	write_file(dst, p, MIN(n, cut));
	free(p);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static uint64_t fsize(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static const char *pth(const char *dir, const char *name)
{
	static char b[4][CFS_PATH_MAX];
	static int k;

	k = (k + 1) % 4;
	snprintf(b[k], sizeof(b[k]), "%s/%s", dir, name);
	return b[k];
}

/* journal.1 with entries 1..n (term 1 + i/10), fsync'ed; end[i] is the
 * journal size after record i (end[0] after the header). */
static void make_entries(const char *dir, int n, uint64_t *end)
{
	struct coll c = { 0 };
	struct journal *j;
	int i;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	if (!j)
		return;
	if (end)
		end[0] = journal_size(j);
	for (i = 1; i <= n; i++) {
		T_OK(append_entry(j, (uint64_t)i, 1 + (uint64_t)i / 10, 0));
		if (end)
			end[i] = journal_size(j);
	}
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&c);
}

/* ---------------------------------------------------------------- tests */

static void test_first_open_creates_journal(void)
{
	char *dir = dup_dir(t_tmpdir());
	char sub[CFS_PATH_MAX];
	struct coll c = { 0 };
	struct journal *j;

	snprintf(sub, sizeof(sub), "%s/state/dir", dir);
	T_OK(journal_open(sub, &coll_cb, &c, &j));
	T_ASSERT(j != NULL);
	T_ASSERT(exists(pth(sub, "journal.1")));
	T_ASSERT(exists(pth(sub, "lock")));
	T_EQ_INT(fsize(pth(sub, "journal.1")), JOURNAL_HDR_SIZE);
	T_EQ_INT(journal_size(j), JOURNAL_HDR_SIZE);
	T_EQ_INT(journal_gen(j), 1);
	T_EQ_INT(journal_last_index(j), 0);
	T_EQ_INT(journal_snap_size(j), 0);
	T_EQ_INT(c.nsnap, 0);
	/* only the implicit TRUNC to the base */
	T_EQ_INT(c.n, 1);
	T_EQ_INT(c.recs[0].type, JREC_TRUNC);
	T_EQ_INT(c.recs[0].index, 0);
	journal_close(j);
	coll_free(&c);
	free(dir);
}

static void test_roundtrip(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct coll c = { 0 };
	struct journal *j;
	uint8_t big[16];
	struct jrec r;
	uint64_t i;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	for (i = 1; i <= 5; i++)
		T_OK(append_entry(j, i, 2, 0));
	T_OK(append_state(j, 3, 2, 7));
	T_OK(append_trunc(j, 3, 2));
	T_OK(append_entry(j, 4, 3, 1));
	T_OK(append_entry(j, 5, 3, 1));
	T_OK(append_entry(j, 6, 3, 1));
	T_EQ_INT(journal_last_index(j), 6);

	/* rejected without breaking the journal */
	T_EQ_INT(append_entry(j, 8, 3, 0), -EINVAL);
	T_EQ_INT(append_entry(j, 6, 3, 0), -EINVAL);
	T_EQ_INT(append_trunc(j, 7, 3), -EINVAL);
	r = (struct jrec){ 9, 7, 3, NULL, 0 };
	T_EQ_INT(journal_append(j, &r), -EINVAL);
	r = (struct jrec){ JREC_ENTRY, 7, 3, big, JREC_PAYLOAD_MAX + 1 };
	T_EQ_INT(journal_append(j, &r), -EFBIG);
	T_ASSERT(!journal_broken(j));
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&c);

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.n, 11); /* implicit TRUNC + 10 records */
	T_EQ_INT(c.recs[0].type, JREC_TRUNC);
	T_EQ_INT(c.recs[1].type, JREC_ENTRY);
	T_EQ_STR(c.recs[1].payload, "entry 1 v0");
	T_EQ_INT(c.recs[6].type, JREC_STATE);
	T_EQ_INT(c.recs[6].term, 3);
	T_EQ_INT(c.recs[6].index, 2);
	T_EQ_INT(c.recs[7].type, JREC_TRUNC);
	T_EQ_INT(c.recs[7].index, 3);
	T_EQ_INT(c.recs[10].index, 6);
	T_EQ_INT(c.recs[10].term, 3);
	T_EQ_INT(c.voted_for, 7);
	T_EQ_INT(c.bad_order, 0);
	T_EQ_INT(c.last, 6);
	T_ASSERT(log_has(&c, 1, 3, 0));
	T_ASSERT(log_has(&c, 4, 6, 1));
	T_EQ_INT(journal_last_index(j), 6);
	/* the TRUNC is remembered: 7 continues, a TRUNC below 4 works */
	T_OK(append_entry(j, 7, 3, 0));
	T_OK(append_trunc(j, 1, 2));
	T_OK(append_entry(j, 2, 4, 2));
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&c);

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.last, 2);
	T_ASSERT(log_has(&c, 2, 2, 2));
	T_EQ_INT(c.bad_order, 0);
	journal_close(j);
	coll_free(&c);
	free(dir);
}

/* Cut the journal at every length: exactly the complete records come
 * back, the file is cut to them and the cut bytes are in .dropped. */
static void test_cut_at_every_offset(void)
{
	char *src = dup_dir(t_tmpdir());
	uint64_t end[9], cut;
	uint8_t *orig;
	size_t full;

	make_entries(src, 8, end);
	full = read_file(pth(src, "journal.1"), &orig);
	T_EQ_INT(full, end[8]);

	for (cut = 0; cut <= full; cut++) {
		char *dir = dup_dir(t_tmpdir());
		struct coll c = { 0 };
		struct journal *j = NULL;
		uint64_t want = 0;
		uint8_t *drop;
		size_t nd, keep;
		int i;

		for (i = 1; i <= 8; i++)
			want += cut >= end[i];
		/* a torn tail is dropped up to its last non-zero byte; one of
		 * zeros only is free space (preallocation), left in place */
		keep = cut > end[want] ? cut - end[want] : 0;
		while (keep && !orig[end[want] + keep - 1])
			keep--;
		copy_file(pth(src, "journal.1"), pth(dir, "journal.1"), cut);
		T_OK(journal_open(dir, &coll_cb, &c, &j));
		if (!j) {
			free(dir);
			continue;
		}
		T_EQ_INT(c.last, want);
		T_EQ_INT(c.bad_order, 0);
		T_ASSERT(want == 0 || log_has(&c, 1, want, 0));
		T_EQ_INT(journal_last_index(j), want);
		T_EQ_INT(journal_size(j), end[want]);
		nd = read_file(pth(dir, "journal.1.dropped"), &drop);
		if (cut < JOURNAL_HDR_SIZE) {
			/* incomplete header: the file is set aside whole */
			T_EQ_INT(nd, cut);
			T_EQ_INT(exists(pth(dir, "journal.1.dropped")), cut != end[want]);
		} else {
			T_EQ_INT(fsize(pth(dir, "journal.1")), keep ? end[want] : cut);
			T_EQ_INT(nd, keep);
			T_ASSERT(!nd || !memcmp(drop, orig + end[want], nd));
			T_EQ_INT(exists(pth(dir, "journal.1.dropped")), keep != 0);
		}
		free(drop);
		/* appending after the cut continues the log */
		T_OK(append_entry(j, want + 1, 9, 3));
		T_OK(journal_sync(j));
		journal_close(j);
		coll_free(&c);
		T_OK(journal_open(dir, &coll_cb, &c, &j));
		T_EQ_INT(c.last, want + 1);
		T_ASSERT(log_has(&c, want + 1, want + 1, 3));
		journal_close(j);
		coll_free(&c);
		free(dir);
	}
	free(orig);
	free(src);
}

static void flip(const char *path, uint64_t off, int bit)
{
	uint8_t *p;
	size_t n = read_file(path, &p);

	if (off < n)
		p[off] ^= (uint8_t)(1u << bit);
	write_file(path, p, n);
	free(p);
}

/* A bit flip anywhere in a record cuts the journal at that record; one in
 * the file header is -EBADMSG. */
static void test_bit_flips(void)
{
	char *src = dup_dir(t_tmpdir());
	uint64_t end[6], off;

	make_entries(src, 5, end);
	for (off = 0; off < end[5]; off++) {
		char *dir = dup_dir(t_tmpdir());
		struct coll c = { 0 };
		struct journal *j = NULL;
		uint64_t rec = 0;
		int rc;

		while (rec < 5 && end[rec + 1] <= off)
			rec++;
		/* rec: records wholly before off */
		copy_file(pth(src, "journal.1"), pth(dir, "journal.1"), SIZE_MAX);
		flip(pth(dir, "journal.1"), off, (int)(off % 8));
		rc = journal_open(dir, &coll_cb, &c, &j);
		if (off < JOURNAL_HDR_SIZE) {
			T_EQ_INT(rc, -EBADMSG);
			T_ASSERT(j == NULL);
			/* nothing was touched */
			T_EQ_INT(fsize(pth(dir, "journal.1")), end[5]);
		} else {
			T_OK(rc);
			T_EQ_INT(c.last, rec);
			T_EQ_INT(fsize(pth(dir, "journal.1")), end[rec]);
			T_EQ_INT(fsize(pth(dir, "journal.1.dropped")), end[5] - end[rec]);
		}
		journal_close(j);
		coll_free(&c);
		free(dir);
	}
	free(src);
}

static int n_fdatasync, n_write;
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_fdatasync)(int);

static int count_fdatasync(int fd)
{
	n_fdatasync++;
	return real_fdatasync(fd);
}

static int fdatasync_eio(int fd)
{
	(void)fd;
	n_fdatasync++;
	return -EIO;
}

static ssize_t write_enospc(int fd, const void *p, size_t n)
{
	(void)fd;
	(void)p;
	(void)n;
	n_write++;
	return -ENOSPC;
}

/* appends: pwrite() at the end of the records */
static ssize_t pwrite_enospc(int fd, const void *p, size_t n, off_t off)
{
	(void)off;
	return write_enospc(fd, p, n);
}

/* the first call writes half the bytes, the next one fails */
static ssize_t pwrite_half(int fd, const void *p, size_t n, off_t off)
{
	if (n_write++ == 0)
		return real_pwrite(fd, p, n / 2, off);
	return -EIO;
}

static void test_write_failure_is_sticky(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct coll c = { 0 };
	struct journal *j;
	uint64_t good;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_OK(append_entry(j, 1, 1, 0));
	T_OK(append_entry(j, 2, 1, 0));
	T_OK(journal_sync(j));
	good = journal_size(j);

	n_write = 0;
	sys.pwrite = pwrite_enospc;
	T_EQ_INT(append_entry(j, 3, 1, 0), -ENOSPC);
	sys_reset();
	T_ASSERT(journal_broken(j));
	T_EQ_INT(append_entry(j, 3, 1, 0), -EIO);
	T_EQ_INT(journal_sync(j), -EIO);
	T_EQ_INT(append_state(j, 2, 1, 1), -EIO);
	T_EQ_INT(journal_compact(j, 1, 1, NULL, NULL), -EIO);
	T_EQ_INT(n_write, 1);
	T_EQ_INT(fsize(pth(dir, "journal.1")), good);
	journal_close(j);
	coll_free(&c);

	/* reopened: healthy again, with what was written before */
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_ASSERT(!journal_broken(j));
	T_EQ_INT(c.last, 2);

	/* a torn write: half a record reaches the file */
	n_write = 0;
	real_pwrite = sys.pwrite;
	sys.pwrite = pwrite_half;
	T_ASSERT(append_entry(j, 3, 1, 0) < 0);
	sys_reset();
	T_ASSERT(journal_broken(j));
	T_ASSERT(fsize(pth(dir, "journal.1")) > good);
	journal_close(j);
	coll_free(&c);

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.last, 2);
	T_EQ_INT(fsize(pth(dir, "journal.1")), good);
	T_ASSERT(exists(pth(dir, "journal.1.dropped")));
	T_OK(append_entry(j, 3, 1, 0));
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&c);
	free(dir);
}

static void test_fdatasync_failure_is_sticky(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct coll c = { 0 };
	struct journal *j;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_OK(append_entry(j, 1, 1, 0));
	n_fdatasync = 0;
	sys.fdatasync = fdatasync_eio;
	T_EQ_INT(journal_sync(j), -EIO);
	sys_reset();
	T_ASSERT(journal_broken(j));

	/* the disk is fine again; the journal is not, and never retries */
	real_fdatasync = sys.fdatasync;
	sys.fdatasync = count_fdatasync;
	T_EQ_INT(journal_sync(j), -EIO);
	T_EQ_INT(append_entry(j, 2, 1, 0), -EIO);
	T_EQ_INT(journal_sync(j), -EIO);
	T_EQ_INT(n_fdatasync, 1);
	sys_reset();
	journal_close(j);
	coll_free(&c);

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_ASSERT(!journal_broken(j));
	T_OK(append_entry(j, c.last + 1, 1, 0));
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&c);
	free(dir);
}

static void test_group_commit(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct coll c = { 0 };
	struct journal *j;
	uint64_t i;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	n_fdatasync = 0;
	real_fdatasync = sys.fdatasync;
	sys.fdatasync = count_fdatasync;
	for (i = 1; i <= 100; i++)
		T_OK(append_entry(j, i, 1, 0));
	T_EQ_INT(n_fdatasync, 0);
	T_OK(journal_sync(j));
	T_EQ_INT(n_fdatasync, 1);
	T_OK(journal_sync(j)); /* nothing new: no disk flush */
	T_EQ_INT(n_fdatasync, 1);
	T_OK(append_state(j, 2, 100, 3));
	T_OK(journal_sync(j));
	T_EQ_INT(n_fdatasync, 2);
	sys_reset();
	journal_close(j);
	coll_free(&c);

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.last, 100);
	T_ASSERT(log_has(&c, 1, 100, 0));
	journal_close(j);
	coll_free(&c);
	free(dir);
}

static void test_lock(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct journal *a, *b = NULL;

	T_OK(journal_open(dir, NULL, NULL, &a));
	T_EQ_INT(journal_open(dir, NULL, NULL, &b), -EBUSY);
	T_ASSERT(b == NULL);
	journal_close(a);
	T_OK(journal_open(dir, NULL, NULL, &b));
	journal_close(b);
	free(dir);
}

/* encode: "tree@<counter>" then filler; the parent changes the counter
 * after fork, the child must not see it. */
struct tree_stub {
	int counter;
	size_t filler;
	int fail;
};

static int stub_encode(void *ctx, struct buf *out)
{
	struct tree_stub *t = ctx;
	size_t i;

	if (t->fail)
		return -EIO;
	buf_printf(out, "tree@%d", t->counter);
	for (i = 0; i < t->filler; i++)
		buf_put_u8(out, (uint8_t)i);
	return 0;
}

static void fill(struct journal *j, uint64_t from, uint64_t to, int variant)
{
	uint64_t i;

	for (i = from; i <= to; i++)
		T_OK(append_entry(j, i, 1 + i / 100, variant));
}

static void test_compaction(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct tree_stub ts = { 900, 100000, 0 };
	struct coll c = { 0 };
	struct journal *j;
	uint64_t size_before;
	pid_t child;
	int status;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	fill(j, 1, 1000, 0);
	T_OK(append_state(j, 10, 950, 2));
	T_OK(journal_sync(j));
	size_before = journal_size(j);

	T_EQ_INT(journal_compact_start(j, 900, 9, stub_encode, &ts, &child), -EINVAL); /* term */
	T_EQ_INT(journal_compact_start(j, 1001, 11, stub_encode, &ts, &child), -EINVAL);
	T_OK(journal_compact_start(j, 900, 10, stub_encode, &ts, &child));
	T_ASSERT(child > 0);
	ts.counter = 1234; /* after the fork: not in the snapshot */
	T_EQ_INT(journal_gen(j), 2);
	T_EQ_INT(journal_base_index(j), 900);
	T_EQ_INT(journal_last_index(j), 1000);
	T_ASSERT(journal_size(j) < size_before);
	T_EQ_INT(journal_compact_start(j, 900, 10, stub_encode, &ts, &child), -EAGAIN);
	fill(j, 1001, 1050, 0);
	T_OK(journal_sync(j));

	T_EQ_INT(waitpid(child, &status, 0), child);
	T_OK(journal_compact_done(j, status));
	T_EQ_INT(journal_snap_size(j), SNAP_HDR_SIZE + 8 + 100000);
	T_ASSERT(!exists(pth(dir, "journal.1")));
	T_ASSERT(exists(pth(dir, "journal.2")));
	T_ASSERT(exists(pth(dir, "snap.2")));
	T_ASSERT(!exists(pth(dir, "snap.2.tmp")));
	T_ASSERT(!exists(pth(dir, "journal.2.tmp")));
	fill(j, 1051, 1060, 0);
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&c);

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.nsnap, 1);
	T_EQ_INT(c.snap_index, 900);
	T_EQ_INT(c.snap_term, 10);
	T_EQ_INT(c.snap_len, 8 + 100000);
	T_ASSERT(c.snap_len >= 8 && !memcmp(c.snap, "tree@900", 8));
	T_EQ_INT(c.last, 1060);
	T_EQ_INT(c.bad_order, 0);
	T_ASSERT(log_has(&c, 901, 1060, 0));
	T_ASSERT(c.log[900] == NULL);
	T_EQ_INT(c.log_term[1000], 11);
	T_EQ_INT(c.voted_for, 2); /* the STATE was carried over */
	T_EQ_INT(c.state_term, 10);
	/* the first record after the snapshot is the implicit TRUNC */
	T_EQ_INT(c.recs[0].type, JREC_TRUNC);
	T_EQ_INT(c.recs[0].index, 900);
	T_EQ_INT(c.recs[0].term, 10);
	T_EQ_INT(journal_gen(j), 2);
	T_EQ_INT(journal_snap_size(j), SNAP_HDR_SIZE + 8 + 100000);

	/* a second compaction, synchronous, at the last entry */
	T_OK(journal_compact(j, 1060, 11, stub_encode, &ts));
	T_EQ_INT(journal_gen(j), 3);
	T_ASSERT(!exists(pth(dir, "journal.2")));
	T_ASSERT(!exists(pth(dir, "snap.2")));
	T_EQ_INT(journal_size(j), JOURNAL_HDR_SIZE + JREC_HDR_SIZE + 4); /* STATE only */
	fill(j, 1061, 1062, 5);
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&c);

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.snap_index, 1060);
	T_ASSERT(c.snap_len >= 9 && !memcmp(c.snap, "tree@1234", 9));
	T_EQ_INT(c.last, 1062);
	T_ASSERT(log_has(&c, 1061, 1062, 5));
	journal_close(j);
	coll_free(&c);
	free(dir);
}

/* journal.1 with 1..1000, compaction at 900 whose snapshot never
 * appears (child fails), then 1001..1050 in journal.2. */
static void make_failed_compaction(const char *dir)
{
	struct tree_stub ts = { 900, 10, 1 };
	struct coll c = { 0 };
	struct journal *j;
	pid_t child;
	int status;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	fill(j, 1, 1000, 0);
	T_OK(journal_compact_start(j, 900, 10, stub_encode, &ts, &child));
	T_EQ_INT(waitpid(child, &status, 0), child);
	T_EQ_INT(journal_compact_done(j, status), -EAGAIN);
	T_ASSERT(exists(pth(dir, "journal.1")));
	T_ASSERT(exists(pth(dir, "journal.2")));
	T_ASSERT(!exists(pth(dir, "snap.2")));
	fill(j, 1001, 1050, 0);
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&c);
}

static void check_full_log(const char *dir, uint64_t last)
{
	struct coll c = { 0 };
	struct journal *j = NULL;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.nsnap, 0);
	T_EQ_INT(c.last, last);
	T_EQ_INT(c.bad_order, 0);
	T_ASSERT(log_has(&c, 1, last, 0));
	journal_close(j);
	coll_free(&c);
}

static void test_crash_during_compaction(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct tree_stub ts = { 900, 1000, 0 };
	struct coll c = { 0 };
	struct journal *j;
	uint64_t n;

	/* snapshot missing: journal.1 + journal.2 */
	make_failed_compaction(dir);
	check_full_log(dir, 1050);
	T_ASSERT(exists(pth(dir, "journal.1")));

	/* a later compaction works and removes everything older */
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(journal_gen(j), 2);
	T_OK(journal_compact(j, 1000, 11, stub_encode, &ts));
	T_ASSERT(!exists(pth(dir, "journal.1")));
	T_ASSERT(!exists(pth(dir, "journal.2")));
	journal_close(j);
	coll_free(&c);
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.snap_index, 1000);
	T_ASSERT(log_has(&c, 1001, 1050, 0));
	journal_close(j);
	coll_free(&c);
	free(dir);

	/* snapshot written but torn, and the old generation not yet
	 * deleted (crash before journal_compact_done) */
	for (n = 0; n < 3; n++) {
		struct journal *k;
		uint8_t *p;
		size_t sn;
		pid_t child;
		int status;

		dir = dup_dir(t_tmpdir());
		ts.fail = 0;
		T_OK(journal_open(dir, &coll_cb, &c, &k));
		fill(k, 1, 1000, 0);
		T_OK(journal_compact_start(k, 900, 10, stub_encode, &ts, &child));
		T_EQ_INT(waitpid(child, &status, 0), child);
		fill(k, 1001, 1050, 0);
		T_OK(journal_sync(k));
		journal_close(k); /* crash: compact_done never ran */
		coll_free(&c);
		T_ASSERT(exists(pth(dir, "snap.2")));
		sn = read_file(pth(dir, "snap.2"), &p);
		if (n == 0)
			write_file(pth(dir, "snap.2"), p, sn / 2); /* torn */
		else if (n == 1)
			write_file(pth(dir, "snap.2"), p, SNAP_HDR_SIZE); /* header only */
		else
			unlink(pth(dir, "snap.2"));
		free(p);
		check_full_log(dir, 1050);
		T_ASSERT(exists(pth(dir, "journal.1")));
		free(dir);
	}

	/* snapshot complete but compact_done never ran: recovery uses it
	 * and removes the redundant generation */
	dir = dup_dir(t_tmpdir());
	{
		pid_t child;
		int status;

		T_OK(journal_open(dir, &coll_cb, &c, &j));
		fill(j, 1, 1000, 0);
		T_OK(journal_compact_start(j, 900, 10, stub_encode, &ts, &child));
		T_EQ_INT(waitpid(child, &status, 0), child);
		journal_close(j);
		coll_free(&c);
	}
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.nsnap, 1);
	T_EQ_INT(c.last, 1000);
	T_ASSERT(log_has(&c, 901, 1000, 0));
	T_ASSERT(!exists(pth(dir, "journal.1")));
	journal_close(j);
	coll_free(&c);
	free(dir);

	/* journal.3 with an incomplete header and stray .tmp files, left
	 * by an interrupted compaction: ignored */
	dir = dup_dir(t_tmpdir());
	make_failed_compaction(dir);
	write_file(pth(dir, "journal.3"), (const uint8_t *)"CFSJ\1", 5);
	write_file(pth(dir, "journal.3.tmp"), (const uint8_t *)"x", 1);
	write_file(pth(dir, "snap.3.tmp"), (const uint8_t *)"x", 1);
	check_full_log(dir, 1050);
	T_ASSERT(!exists(pth(dir, "journal.3")));
	T_ASSERT(exists(pth(dir, "journal.3.dropped")));
	T_ASSERT(!exists(pth(dir, "journal.3.tmp")));
	T_ASSERT(!exists(pth(dir, "snap.3.tmp")));
	free(dir);

	/* all zero header (delayed allocation after a crash): ignored */
	dir = dup_dir(t_tmpdir());
	make_failed_compaction(dir);
	{
		uint8_t z[100] = { 0 };

		write_file(pth(dir, "journal.3"), z, sizeof(z));
	}
	check_full_log(dir, 1050);
	free(dir);
}

static uint64_t rec_off(uint64_t index)
{
	/* make_failed_compaction: entries only, "entry N v0" payloads */
	uint64_t off = JOURNAL_HDR_SIZE, i;
	char p[64];

	for (i = 1; i < index; i++) {
		entry_text(p, sizeof(p), i, 0);
		off += JREC_HDR_SIZE + strlen(p);
	}
	return off;
}

/* Damage in an older generation: fine if the next one covers it,
 * -EBADMSG if entries are lost. */
static void test_older_generation_damage(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct coll c = { 0 };
	struct journal *j = NULL;

	make_failed_compaction(dir);
	flip(pth(dir, "journal.1"), rec_off(950) + 3, 1);
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.last, 1050);
	T_ASSERT(log_has(&c, 1, 1050, 0));
	T_EQ_INT(fsize(pth(dir, "journal.1")), rec_off(1001)); /* not cut */
	journal_close(j);
	coll_free(&c);
	free(dir);

	dir = dup_dir(t_tmpdir());
	make_failed_compaction(dir);
	flip(pth(dir, "journal.1"), rec_off(500) + 30, 0);
	j = NULL;
	T_EQ_INT(journal_open(dir, &coll_cb, &c, &j), -EBADMSG);
	T_ASSERT(j == NULL);
	T_EQ_INT(journal_dump(dir, &coll_cb, &c), -EBADMSG);
	coll_free(&c);
	free(dir);

	/* a damaged header of an older generation */
	dir = dup_dir(t_tmpdir());
	make_failed_compaction(dir);
	flip(pth(dir, "journal.1"), 9, 0);
	T_EQ_INT(journal_open(dir, &coll_cb, &c, &j), -EBADMSG);
	coll_free(&c);
	free(dir);
}

static void test_callback_error_stops(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct coll c = { 0 };
	struct journal *j = NULL;

	make_entries(dir, 10, NULL);
	c.stop_at = 4;
	T_EQ_INT(journal_open(dir, &coll_cb, &c, &j), -ECANCELED);
	T_ASSERT(j == NULL);
	T_EQ_INT(c.n, 4);
	coll_free(&c);
	/* the lock was released */
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.last, 10);
	journal_close(j);
	coll_free(&c);
	free(dir);
}

static void test_dump(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct tree_stub ts = { 7, 3, 0 };
	struct coll c = { 0 };
	struct journal *j;
	uint64_t sz;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	fill(j, 1, 20, 0);
	T_OK(journal_compact(j, 15, 1, stub_encode, &ts));
	fill(j, 21, 25, 0);
	T_OK(append_state(j, 4, 20, 9));
	T_OK(journal_sync(j));
	coll_free(&c);

	/* the daemon still holds the lock: dump does not need it */
	T_OK(journal_dump(dir, &coll_cb, &c));
	T_EQ_INT(c.nsnap, 1);
	T_EQ_INT(c.snap_index, 15);
	T_EQ_INT(c.last, 25);
	T_ASSERT(log_has(&c, 16, 25, 0));
	T_EQ_INT(c.voted_for, 9);
	coll_free(&c);
	journal_close(j);

	/* one file: no snapshot, starts at its base */
	T_OK(journal_dump(pth(dir, "journal.2"), &coll_cb, &c));
	T_EQ_INT(c.nsnap, 0);
	T_EQ_INT(c.recs[0].type, JREC_TRUNC);
	T_EQ_INT(c.recs[0].index, 15);
	T_EQ_INT(c.recs[c.n - 1].type, JREC_STATE);
	coll_free(&c);

	/* a torn tail is read up to the tear and left alone */
	sz = fsize(pth(dir, "journal.2"));
	T_EQ_INT(truncate(pth(dir, "journal.2"), (off_t)sz - 1), 0);
	T_OK(journal_dump(dir, &coll_cb, &c));
	T_EQ_INT(c.last, 25);
	T_EQ_INT(c.voted_for, 0);
	T_EQ_INT(fsize(pth(dir, "journal.2")), sz - 1);
	T_ASSERT(!exists(pth(dir, "journal.2.dropped")));
	coll_free(&c);

	T_EQ_INT(journal_dump(pth(dir, "nothing"), &coll_cb, &c), -ENOENT);
	T_EQ_INT(journal_dump(pth(dir, "snap.2"), &coll_cb, &c), -EBADMSG);
	coll_free(&c);
	{
		char *empty = dup_dir(t_tmpdir());

		T_EQ_INT(journal_dump(empty, &coll_cb, &c), -ENOENT);
		T_ASSERT(!exists(pth(empty, "journal.1"))); /* nothing created */
		free(empty);
	}
	free(dir);
}

/* big records: a payload of JREC_PAYLOAD_MAX bytes survives, larger
 * reads across the replay window */
static void test_large_records(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct coll c = { 0 };
	struct journal *j;
	uint8_t *big = xmalloc(JREC_PAYLOAD_MAX);
	struct jrec r = { JREC_ENTRY, 1, 1, big, JREC_PAYLOAD_MAX };
	int i;

	for (i = 0; i < JREC_PAYLOAD_MAX; i++)
		big[i] = (uint8_t)(i * 7);
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	for (i = 1; i <= 3; i++) {
		r.index = (uint64_t)i;
		T_OK(journal_append(j, &r));
	}
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&c);
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.last, 3);
	T_ASSERT(c.log[3] && !memcmp(c.log[3], big, JREC_PAYLOAD_MAX));
	/* compaction copies a big tail */
	T_OK(journal_compact(j, 1, 1, stub_encode, &(struct tree_stub){ 1, 0, 0 }));
	journal_close(j);
	coll_free(&c);
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.last, 3);
	T_ASSERT(c.log[2] && !memcmp(c.log[2], big, JREC_PAYLOAD_MAX));
	journal_close(j);
	coll_free(&c);
	free(big);
	free(dir);
}

static int n_fsync, fail_fsync_at;
static int (*real_fsync)(int);

static int fsync_nth_fails(int fd)
{
	if (++n_fsync == fail_fsync_at)
		return -EIO;
	return real_fsync(fd);
}

static int rename_fails(const char *from, const char *to)
{
	(void)from;
	(void)to;
	return -EXDEV;
}

static int ftruncate_fails(int fd, off_t len)
{
	(void)fd;
	(void)len;
	return -EIO;
}

/* Compaction failing before the switch leaves the journal on its old
 * generation, healthy and without leftovers; failing after the rename
 * (fsync of the directory) breaks it; every case recovers in full. */
static void test_compaction_failures(void)
{
	struct tree_stub ts = { 1, 10, 0 };
	int step;

	for (step = 0; step < 4; step++) {
		char *dir = dup_dir(t_tmpdir());
		struct coll c = { 0 };
		struct journal *j;
		int rc;

		T_OK(journal_open(dir, &coll_cb, &c, &j));
		fill(j, 1, 50, 0);
		T_OK(journal_sync(j));
		real_write = sys.write;
		real_fsync = sys.fsync;
		n_write = n_fsync = 0;
		switch (step) {
		case 0: /* writing the new generation */
			sys.write = write_enospc;
			break;
		case 1: /* fsync of the new generation */
			fail_fsync_at = 1;
			sys.fsync = fsync_nth_fails;
			break;
		case 2: /* rename into place */
			sys.rename = rename_fails;
			break;
		case 3: /* fsync of the directory after the rename */
			fail_fsync_at = 2;
			sys.fsync = fsync_nth_fails;
			break;
		}
		rc = journal_compact(j, 40, 1 + 40 / 100, stub_encode, &ts);
		sys_reset();
		T_ASSERT(rc < 0);
		T_ASSERT(!exists(pth(dir, "journal.2.tmp")));
		T_ASSERT(!exists(pth(dir, "snap.2")));
		if (step < 3) {
			T_ASSERT(!journal_broken(j));
			T_EQ_INT(journal_gen(j), 1);
			T_ASSERT(!exists(pth(dir, "journal.2")));
			T_OK(append_entry(j, 51, 1, 0));
			T_OK(journal_sync(j));
			/* and a later attempt works */
			T_OK(journal_compact(j, 51, 1, stub_encode, &ts));
			T_EQ_INT(journal_gen(j), 2);
		} else {
			T_ASSERT(journal_broken(j));
			T_EQ_INT(append_entry(j, 51, 1, 0), -EIO);
		}
		journal_close(j);
		coll_free(&c);

		T_OK(journal_open(dir, &coll_cb, &c, &j));
		if (step < 3) {
			T_EQ_INT(c.snap_index, 51);
			T_EQ_INT(c.last, 51);
		} else {
			/* journal.2 was renamed into place: 1..40 from
			 * journal.1, 41..50 copied into journal.2 */
			T_EQ_INT(c.nsnap, 0);
			T_EQ_INT(c.last, 50);
			T_ASSERT(log_has(&c, 1, 50, 0));
			T_ASSERT(exists(pth(dir, "journal.2")));
		}
		T_EQ_INT(c.bad_order, 0);
		journal_close(j);
		coll_free(&c);
		free(dir);
	}
}

/* A failing snapshot write inside the synchronous compaction keeps the
 * older generations; a failing truncation during recovery fails the
 * open, and the next open cuts. */
static void test_recovery_failures(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct tree_stub ts = { 1, 10, 0 };
	struct coll c = { 0 };
	struct journal *j = NULL;
	uint64_t end[11];

	make_entries(dir, 10, end);
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	real_fsync = sys.fsync;
	n_fsync = 0;
	fail_fsync_at = 3; /* new journal, its directory, then the snapshot */
	sys.fsync = fsync_nth_fails;
	T_EQ_INT(journal_compact(j, 5, 1, stub_encode, &ts), -EAGAIN);
	sys_reset();
	T_ASSERT(!journal_broken(j));
	T_EQ_INT(journal_gen(j), 2);
	T_ASSERT(exists(pth(dir, "journal.1")));
	T_ASSERT(!exists(pth(dir, "snap.2")));
	T_ASSERT(!exists(pth(dir, "snap.2.tmp")));
	T_EQ_INT(append_trunc(j, 4, 1), -EINVAL); /* below the base */
	journal_close(j);
	coll_free(&c);

	/* tear journal.2, then fail the cut */
	T_EQ_INT(truncate(pth(dir, "journal.2"), (off_t)fsize(pth(dir, "journal.2")) - 3), 0);
	sys.ftruncate = ftruncate_fails;
	j = NULL;
	T_EQ_INT(journal_open(dir, &coll_cb, &c, &j), -EIO);
	sys_reset();
	T_ASSERT(j == NULL);
	coll_free(&c);
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.last, 9);
	T_ASSERT(log_has(&c, 1, 9, 0));
	journal_close(j);
	coll_free(&c);
	free(dir);
}

/* A follower installs the leader's snapshot: the durable state becomes
 * "snapshot at (50, 3), empty log after", older generations go, and
 * appends continue at 51. */
static void test_install(void)
{
	const char *dir = t_tmpdir();
	struct coll c = { 0 };
	struct journal *j;
	char p[300];
	uint64_t i;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	for (i = 1; i <= 10; i++)
		T_OK(append_entry(j, i, 1, 0));
	T_OK(append_state(j, 2, 10, 7));
	T_OK(journal_sync(j));
	T_OK(journal_install(j, 50, 3, (const uint8_t *)"the tree", 8));
	T_EQ_INT(journal_last_index(j), 50);
	T_OK(append_entry(j, 51, 3, 1));
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&c);

	snprintf(p, sizeof(p), "%s/journal.1", dir);
	T_ASSERT(!exists(p));
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.nsnap, 1);
	T_EQ_INT(c.snap_index, 50);
	T_EQ_INT(c.snap_term, 3);
	T_EQ_INT(c.snap_len, 8);
	T_ASSERT(c.snap && !memcmp(c.snap, "the tree", 8));
	T_EQ_INT(c.last, 51);
	T_ASSERT(log_has(&c, 51, 51, 1));
	T_EQ_INT(c.voted_for, 7); /* the latest STATE came along */
	T_EQ_INT(c.bad_order, 0);
	journal_close(j);
	coll_free(&c);
}

/* Preallocation: zeros ahead of the records are free space on reopen,
 * whatever lands in them unsynced is cut like any torn tail. */
static void test_prealloc(void)
{
	char *dir = dup_dir(t_tmpdir());
	struct tree_stub ts = { 3, 10, 0 };
	struct coll c = { 0 };
	struct journal *j;
	uint64_t logical, phys, i;
	uint8_t *p, junk[100];
	size_t n;
	FILE *f;

	T_OK(journal_open(dir, &coll_cb, &c, &j));
	journal_set_prealloc(j, 64 * 1024);
	fill(j, 1, 50, 0);
	T_OK(journal_sync(j));
	logical = journal_size(j);
	phys = fsize(pth(dir, "journal.1"));
	T_ASSERT(phys > logical && phys >= 64 * 1024);
	n = read_file(pth(dir, "journal.1"), &p);
	T_EQ_INT(n, phys);
	for (i = logical; i < phys && !p[i]; i++)
		;
	T_EQ_INT(i, phys); /* zeros after the records */
	free(p);
	journal_close(j);
	coll_free(&c);

	/* reopened: nothing cut, nothing dropped, appends continue */
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	journal_set_prealloc(j, 64 * 1024);
	T_EQ_INT(c.last, 50);
	T_EQ_INT(journal_size(j), logical);
	T_EQ_INT(fsize(pth(dir, "journal.1")), phys);
	T_ASSERT(!exists(pth(dir, "journal.1.dropped")));
	fill(j, 51, 60, 0);
	T_OK(journal_sync(j));
	logical = journal_size(j);
	journal_close(j);
	coll_free(&c);
	T_OK(journal_dump(dir, &coll_cb, &c));
	T_EQ_INT(c.last, 60);
	T_ASSERT(log_has(&c, 1, 60, 0));
	coll_free(&c);

	/* junk in the free space (a torn write): cut, kept in .dropped */
	memset(junk, 0x5a, sizeof(junk));
	f = fopen(pth(dir, "journal.1"), "r+b");
	T_ASSERT(f && fseek(f, (long)logical + 10, SEEK_SET) == 0);
	T_EQ_INT(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.last, 60);
	T_EQ_INT(fsize(pth(dir, "journal.1")), logical);
	n = read_file(pth(dir, "journal.1.dropped"), &p);
	T_EQ_INT(n, 10 + sizeof(junk));
	T_ASSERT(!p[0] && !memcmp(p + 10, junk, sizeof(junk)));
	free(p);

	/* compaction switches to a new generation, preallocated in turn */
	journal_set_prealloc(j, 64 * 1024);
	T_OK(journal_compact(j, 55, 1, stub_encode, &ts));
	fill(j, 61, 70, 0);
	T_OK(journal_sync(j));
	T_ASSERT(fsize(pth(dir, "journal.2")) > journal_size(j));
	journal_close(j);
	coll_free(&c);
	T_OK(journal_open(dir, &coll_cb, &c, &j));
	T_EQ_INT(c.snap_index, 55);
	T_EQ_INT(c.last, 70);
	T_ASSERT(log_has(&c, 56, 70, 0));
	T_ASSERT(!exists(pth(dir, "journal.2.dropped")));
	journal_close(j);
	coll_free(&c);
	free(dir);
}

/* The mapped hook: the snapshot blob and every payload lie in the
 * mapping announced before them; kept mappings stay, the others go. */
struct maps {
	struct coll c;
	const uint8_t *base[8];
	size_t len[8];
	int n;
	bool keep;
	size_t outside; /* payloads or blobs not in the latest mapping */
};

static bool in_latest(const struct maps *m, const uint8_t *p, size_t len)
{
	return m->n && p >= m->base[m->n - 1] && p + len <= m->base[m->n - 1] + m->len[m->n - 1];
}

static bool maps_mapped(void *ctx, const uint8_t *base, size_t len)
{
	struct maps *m = ctx;

	T_ASSERT(m->n < 8);
	m->base[m->n] = base;
	m->len[m->n++] = len;
	return m->keep;
}

static int maps_snapshot(void *ctx, uint64_t index, uint64_t term, const uint8_t *blob, size_t len)
{
	struct maps *m = ctx;

	m->outside += !in_latest(m, blob, len);
	return coll_snapshot(&m->c, index, term, blob, len);
}

static int maps_record(void *ctx, const struct jrec *r)
{
	struct maps *m = ctx;

	if (r->len)
		m->outside += !in_latest(m, r->p, r->len);
	return coll_record(&m->c, r);
}

static void test_mapped(void)
{
	static const struct journal_cb cb = { .snapshot = maps_snapshot,
		                              .record = maps_record,
		                              .mapped = maps_mapped };
	char *dir = dup_dir(t_tmpdir());
	struct tree_stub ts = { 5, 100, 0 };
	struct maps m = { 0 };
	struct journal *j;
	int i;

	T_OK(journal_open(dir, &coll_cb, &m.c, &j));
	fill(j, 1, 30, 0);
	T_OK(journal_compact(j, 20, 1, stub_encode, &ts));
	fill(j, 31, 40, 0);
	T_OK(journal_sync(j));
	journal_close(j);
	coll_free(&m.c);

	/* kept: snapshot.2, then journal.2; both still mapped after */
	m.keep = true;
	T_OK(journal_open(dir, &cb, &m, &j));
	T_EQ_INT(m.n, 2);
	T_EQ_INT(m.outside, 0);
	T_EQ_INT(m.c.nsnap, 1);
	T_ASSERT(!memcmp(m.c.snap, "tree@5", 6));
	T_EQ_INT(m.c.last, 40);
	T_ASSERT(log_has(&m.c, 21, 40, 0));
	for (i = 0; i < m.n; i++) {
		T_EQ_INT(msync((void *)m.base[i], m.len[i], MS_ASYNC), 0);
		T_EQ_INT(munmap((void *)m.base[i], m.len[i]), 0);
	}
	journal_close(j);
	coll_free(&m.c);

	/* declined: the journal unmaps them itself */
	memset(&m, 0, sizeof(m));
	T_OK(journal_open(dir, &cb, &m, &j));
	T_EQ_INT(m.n, 2);
	T_EQ_INT(m.outside, 0);
	for (i = 0; i < m.n; i++)
		T_ASSERT(msync((void *)m.base[i], m.len[i], MS_ASYNC) < 0 && errno == ENOMEM);
	journal_close(j);
	coll_free(&m.c);
	free(dir);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	log_level = getenv("T_LOG") ? LOG_LVL_DEBUG : LOG_LVL_ERR - 1;
	T_RUN(test_first_open_creates_journal);
	T_RUN(test_roundtrip);
	T_RUN(test_cut_at_every_offset);
	T_RUN(test_bit_flips);
	T_RUN(test_write_failure_is_sticky);
	T_RUN(test_fdatasync_failure_is_sticky);
	T_RUN(test_group_commit);
	T_RUN(test_lock);
	T_RUN(test_compaction);
	T_RUN(test_crash_during_compaction);
	T_RUN(test_older_generation_damage);
	T_RUN(test_callback_error_stops);
	T_RUN(test_dump);
	T_RUN(test_large_records);
	T_RUN(test_compaction_failures);
	T_RUN(test_recovery_failures);
	T_RUN(test_install);
	T_RUN(test_mapped);
	T_RUN(test_prealloc);
	return t_done();
}
