/* store/clog.c - the cluster log (contract in store/clog.h).
 *
 * An array of entries sorted by (time, node, uid), oldest first; an
 * insert finds its place by binary search and moves the tail up, the
 * budget drops entries from the front.  Each entry's four strings live
 * in one allocation (node, ident, tag, msg, each with its NUL).
 *
 * Readings of the header where it leaves a choice:
 *  - clog_encode() takes an entry as clog_add() does (raw message) and
 *    sends what clog_add() would store: strings cleaned, message made
 *    JSON-safe and cut.  An entry clog_add() refuses with -EINVAL has no
 *    wire form: nothing is appended.
 *  - A '\' followed by 'u' and four hex digits is kept whether the digits
 *    are lower or upper case (both are JSON); the "\uXXXX" we write for
 *    UTF-8 are lower case.
 *  - Decoding takes msg_len up to CLOG_ENTRY_MAX as the header says, even
 *    though the whole entry then counts more than CLOG_ENTRY_MAX (clog_add
 *    cuts the message so that the whole entry fits).
 *  - Same entry: node is compared after cleaning, so "a\"b" and "a_b" are
 *    the same node.
 *  - An entry that is itself among the oldest when its insert passes the
 *    budget goes at once: clog_add() still returns 0 (it was taken, then
 *    aged out); clog_decode_into() counts only the entries of the batch
 *    that are still in the log when it returns.
 *  - Idempotence holds while nothing ages out.  Once entries have gone,
 *    an old small entry may fit again after bigger newer ones went, and a
 *    batch holding it adds it once more; keeping the newest key that went
 *    and refusing anything older would close that, but the header does
 *    not ask for it.
 *  - "\u" and four hex digits are an escape unless they are half of a
 *    surrogate pair without the other half (\ud800 alone): strict JSON
 *    readers (core/json.c, Perl's decode_json) refuse those, so their
 *    backslash is doubled like any other stray one.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "store/clog.h"
#include "core/endian.h"
#include "core/util.h"

#define ENTRY_BASE 48 /* pmxcfs's sizeof(clog_entry_t), counted per entry */

struct centry {
	uint32_t uid;
	uint32_t time;
	uint32_t pid;
	uint8_t pri;
	uint8_t node_len, ident_len, tag_len; /* without the NULs */
	uint16_t msg_len;
	uint64_t batch; /* the clog_decode_into() that inserted it; 0: clog_add() */
	char *node;     /* owns the block of the four strings */
	char *ident;
	char *tag;
	char *msg;
};

struct clog {
	struct centry *e; /* oldest first */
	size_t n, cap;
	size_t bytes;      /* sum of centry_size() */
	uint64_t batches;  /* clog_decode_into() calls so far */
	uint64_t batch;    /* the one running, 0 outside */
	size_t batch_lost; /* entries it inserted that the budget took again */
};

static size_t centry_size(const struct centry *ce)
{
	return ENTRY_BASE + (size_t)ce->node_len + ce->ident_len + ce->tag_len + ce->msg_len + 4;
}

/* Copy the four strings into one block owned by ce->node. */
static void centry_fill(struct centry *ce, const void *node, size_t nl, const void *ident,
                        size_t il, const void *tag, size_t tl, const void *msg, size_t ml)
{
	char *s = xmalloc(nl + il + tl + ml + 4);

	ce->node_len = (uint8_t)nl;
	ce->ident_len = (uint8_t)il;
	ce->tag_len = (uint8_t)tl;
	ce->msg_len = (uint16_t)ml;
	ce->node = s;
	memcpy(s, node, nl);
	s[nl] = 0;
	ce->ident = s += nl + 1;
	memcpy(s, ident, il);
	s[il] = 0;
	ce->tag = s += il + 1;
	memcpy(s, tag, tl);
	s[tl] = 0;
	ce->msg = s += tl + 1;
	memcpy(s, msg, ml);
	s[ml] = 0;
}

/* --- the character rules ---------------------------------------------- */

/* A byte node, ident and tag may hold (pmxcfs prints them raw in JSON). */
static bool str_byte_ok(uint8_t b)
{
	return b >= 0x20 && b <= 0x7e && b != '"' && b != '\\';
}

static bool str_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!str_byte_ok(p[i]))
			return false;
	return true;
}

/* Cut s at CLOG_STR_MAX bytes into dst, bytes not allowed -> '_'. */
static size_t str_clean(char *dst, const char *s)
{
	size_t n = 0;

	for (; s[n] && n < CLOG_STR_MAX; n++)
		dst[n] = str_byte_ok((uint8_t)s[n]) ? s[n] : '_';
	dst[n] = 0;
	return n;
}

static bool is_hex(uint8_t b)
{
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

static unsigned hex4(const uint8_t *p)
{
	unsigned v = 0;

	for (size_t i = 0; i < 4; i++)
		v = v << 4 | (unsigned)(p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
	return v;
}

/* p[0] is '\': the length of the JSON escape it begins (2, 6, or 12 for
 * a surrogate pair), or 0.  A lone surrogate (\ud800 without its low
 * half, or a low half alone) is not one: strict JSON readers refuse it. */
static size_t escape_len(const uint8_t *p, size_t left)
{
	unsigned v;

	if (left < 2)
		return 0;
	switch (p[1]) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return 2;
	case 'u':
		if (left < 6)
			return 0;
		for (size_t i = 2; i < 6; i++)
			if (!is_hex(p[i]))
				return 0;
		v = hex4(p + 2);
		if (v >= 0xdc00 && v <= 0xdfff)
			return 0; /* a low half alone */
		if (v < 0xd800 || v > 0xdbff)
			return 6;
		if (left < 12 || p[6] != '\\' || p[7] != 'u')
			return 0; /* a high half alone */
		for (size_t i = 8; i < 12; i++)
			if (!is_hex(p[i]))
				return 0;
		v = hex4(p + 8);
		return v >= 0xdc00 && v <= 0xdfff ? 12 : 0;
	default:
		return 0;
	}
}

/* The stored form of a message: printable ASCII, '"' only in \", '\'
 * only beginning an escape. */
static bool msg_ok(const uint8_t *p, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		if (p[i] == '\\') {
			k = escape_len(p + i, n - i);
			if (!k)
				return false;
			i += k;
			continue;
		}
		if (p[i] == '"' || p[i] < 0x20 || p[i] > 0x7e)
			return false;
		i++;
	}
	return true;
}

/* One UTF-8 character of 2..4 bytes at p (p[0] >= 0x80): its length and
 * *cp, or 0 when the bytes are not valid UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF included). */
static size_t utf8_get(const uint8_t *p, size_t left, uint32_t *cp)
{
	uint8_t b = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (b >= 0xc2 && b <= 0xdf) {
		len = 2;
		*cp = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		len = 3;
		*cp = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0;
		else if (b == 0xed)
			hi = 0x9f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4;
		*cp = b & 0x07;
		if (b == 0xf0)
			lo = 0x90;
		else if (b == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (left < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	return len;
}

/* The JSON-safe form of raw into dst, at most max bytes (dst holds
 * max + 1); cut between units, never inside one.  Returns its length. */
static size_t msg_make_safe(char *dst, size_t max, const char *raw)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = (const uint8_t *)raw;
	size_t left = strlen(raw), o = 0;

	while (left) {
		char u[12]; /* the unit written for this input (a surrogate pair: 12) */
		size_t in = 1, k = 1;
		uint32_t cp;

		if (*p == '\\' && (k = escape_len(p, left))) {
			memcpy(u, p, k);
			in = k;
		} else if (*p == '\\' || *p == '"') {
			u[0] = '\\';
			u[1] = (char)*p;
			k = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			u[0] = '#';
			u[1] = (char)('0' + *p / 100);
			u[2] = (char)('0' + *p / 10 % 10);
			u[3] = (char)('0' + *p % 10);
			k = 4;
		} else if (*p < 0x80) {
			u[0] = (char)*p;
			k = 1;
		} else if (!(in = utf8_get(p, left, &cp))) {
			u[0] = '?';
			in = k = 1;
		} else if (cp < 0x10000) {
			u[0] = '\\';
			u[1] = 'u';
			for (int i = 0; i < 4; i++)
				u[2 + i] = hex[cp >> (12 - 4 * i) & 0xf];
			k = 6;
		} else {
			k = 0; /* above the BMP: dropped, as pmxcfs does */
		}
		if (o + k > max)
			break;
		memcpy(dst + o, u, k);
		o += k;
		p += in;
		left -= in;
	}
	dst[o] = 0;
	return o;
}

/* What clog_add() stores for e, in *ce; -EINVAL as clog_add(). */
static int centry_make(const struct clog_entry *e, struct centry *ce)
{
	char node[CLOG_STR_MAX + 1], ident[CLOG_STR_MAX + 1], tag[CLOG_STR_MAX + 1];
	char msg[CLOG_ENTRY_MAX];
	size_t nl, il, tl, ml, max;

	if (!e || e->pri > 7 || !e->node || !*e->node || !e->ident || !e->tag || !e->msg)
		return -EINVAL;
	nl = str_clean(node, e->node);
	il = str_clean(ident, e->ident);
	tl = str_clean(tag, e->tag);
	/* at most 48 + 3 * 255 + 1 before the message: max stays > 0 */
	max = CLOG_ENTRY_MAX - ENTRY_BASE - (nl + 1) - (il + 1) - (tl + 1) - 1;
	ml = msg_make_safe(msg, max, e->msg);
	memset(ce, 0, sizeof(*ce));
	ce->uid = e->uid;
	ce->time = e->time;
	ce->pid = e->pid;
	ce->pri = e->pri;
	centry_fill(ce, node, nl, ident, il, tag, tl, msg, ml);
	return 0;
}

/* --- the sorted array ------------------------------------------------- */

static int key_cmp(const struct centry *a, const struct centry *b)
{
	int r;

	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	r = strcmp(a->node, b->node);
	if (r)
		return r;
	if (a->uid != b->uid)
		return a->uid < b->uid ? -1 : 1;
	return 0;
}

/* The first index whose entry is not older than ce; *same if it is ce's. */
static size_t lower_bound(const struct clog *c, const struct centry *ce, bool *same)
{
	size_t lo = 0, hi = c->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (key_cmp(&c->e[mid], ce) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*same = lo < c->n && key_cmp(&c->e[lo], ce) == 0;
	return lo;
}

/* Drop the oldest entries until the budget holds again. */
static void evict(struct clog *c)
{
	size_t k = 0;

	while (c->bytes > CLOG_BYTES && k < c->n) {
		c->bytes -= centry_size(&c->e[k]);
		if (c->batch && c->e[k].batch == c->batch)
			c->batch_lost++;
		free(c->e[k].node);
		k++;
	}
	if (!k)
		return;
	memmove(c->e, c->e + k, (c->n - k) * sizeof(*c->e));
	c->n -= k;
}

/* Insert *ce (its strings are taken either way): 0 or -EEXIST. */
static int insert(struct clog *c, struct centry *ce)
{
	bool same;
	size_t pos = lower_bound(c, ce, &same);

	if (same) {
		free(ce->node);
		return -EEXIST;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->e = xrealloc(c->e, c->cap * sizeof(*c->e));
	}
	memmove(c->e + pos + 1, c->e + pos, (c->n - pos) * sizeof(*c->e));
	c->e[pos] = *ce;
	c->n++;
	c->bytes += centry_size(ce);
	evict(c);
	return 0;
}

/* --- the API ---------------------------------------------------------- */

struct clog *clog_new(void)
{
	return xcalloc(1, sizeof(struct clog));
}

void clog_free(struct clog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].node);
	free(c->e);
	free(c);
}

int clog_add(struct clog *c, const struct clog_entry *e)
{
	struct centry ce;
	int rc = centry_make(e, &ce);

	if (rc)
		return rc;
	return insert(c, &ce);
}

size_t clog_count(const struct clog *c)
{
	return c->n;
}

size_t clog_newest(const struct clog *c, struct vfiles_log *out, size_t max)
{
	size_t n = MIN(max, c->n);

	for (size_t i = 0; i < n; i++) {
		const struct centry *ce = &c->e[c->n - 1 - i];

		out[i] = (struct vfiles_log){
			.uid = ce->uid,
			.time = ce->time,
			.pri = ce->pri,
			.tag = ce->tag,
			.pid = ce->pid,
			.node = ce->node,
			.user = ce->ident,
			.msg = ce->msg,
		};
	}
	return n;
}

static void centry_encode(const struct centry *ce, struct buf *out)
{
	buf_reserve(out, CLOG_WIRE_HDR + (size_t)ce->node_len + ce->ident_len + ce->tag_len +
	                         ce->msg_len);
	buf_put_le32(out, ce->uid);
	buf_put_le32(out, ce->time);
	buf_put_le32(out, ce->pid);
	buf_put_u8(out, ce->pri);
	buf_put_u8(out, ce->node_len);
	buf_put_u8(out, ce->ident_len);
	buf_put_u8(out, ce->tag_len);
	buf_put_le16(out, ce->msg_len);
	buf_put(out, ce->node, ce->node_len);
	buf_put(out, ce->ident, ce->ident_len);
	buf_put(out, ce->tag, ce->tag_len);
	buf_put(out, ce->msg, ce->msg_len);
}

void clog_encode_all(const struct clog *c, struct buf *out)
{
	for (size_t i = 0; i < c->n; i++)
		centry_encode(&c->e[i], out);
}

void clog_encode(const struct clog_entry *e, struct buf *out)
{
	struct centry ce;

	if (centry_make(e, &ce))
		return;
	centry_encode(&ce, out);
	free(ce.node);
}

struct wire {
	uint32_t uid, time, pid;
	uint8_t pri, nl, il, tl;
	uint16_t ml;
	const uint8_t *node, *ident, *tag, *msg;
};

/* One entry off r, checked: 0 or -EBADMSG. */
static int wire_get(struct rd *r, struct wire *w)
{
	w->uid = rd_u32(r);
	w->time = rd_u32(r);
	w->pid = rd_u32(r);
	w->pri = rd_u8(r);
	w->nl = rd_u8(r);
	w->il = rd_u8(r);
	w->tl = rd_u8(r);
	w->ml = rd_u16(r);
	w->node = rd_take(r, w->nl);
	w->ident = rd_take(r, w->il);
	w->tag = rd_take(r, w->tl);
	w->msg = rd_take(r, w->ml);
	if (r->err)
		return -EBADMSG;
	if (w->pri > 7 || !w->nl || w->nl > CLOG_STR_MAX || w->il > CLOG_STR_MAX ||
	    w->tl > CLOG_STR_MAX || w->ml > CLOG_ENTRY_MAX)
		return -EBADMSG;
	if (!str_ok(w->node, w->nl) || !str_ok(w->ident, w->il) || !str_ok(w->tag, w->tl) ||
	    !msg_ok(w->msg, w->ml))
		return -EBADMSG;
	return 0;
}

int clog_decode_into(struct clog *c, const uint8_t *p, size_t n)
{
	struct rd r = rd_init(p, n);
	struct wire w;
	size_t added = 0;

	while (r.left)
		if (wire_get(&r, &w))
			return -EBADMSG;
	c->batch = ++c->batches;
	c->batch_lost = 0;
	r = rd_init(p, n);
	while (r.left) {
		struct centry ce = { 0 };

		wire_get(&r, &w); /* checked above */
		ce.uid = w.uid;
		ce.time = w.time;
		ce.pid = w.pid;
		ce.pri = w.pri;
		ce.batch = c->batch;
		centry_fill(&ce, w.node, w.nl, w.ident, w.il, w.tag, w.tl, w.msg, w.ml);
		if (insert(c, &ce) == 0)
			added++;
	}
	added -= c->batch_lost;
	c->batch = 0;
	return (int)added;
}
