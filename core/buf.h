/* core/buf.h - owned growable bytes, and a checked reader over borrowed
 * bytes.
 *
 * struct buf owns its memory: zero-initialise it ("struct buf b = { 0 };"),
 * put into it, buf_free() it.  buf_put*() grow in place and abort on OOM.
 *
 * struct rd never reads past its end: a short read sets err to -EBADMSG
 * (the first error sticks) and yields 0/NULL, so a decoder reads every
 * field and tests err once.
 */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include "core/endian.h"

struct buf {
	uint8_t *p; /* owned; NULL until the first put */
	size_t len; /* bytes in use */
	size_t cap; /* bytes allocated */
};

void buf_reserve(struct buf *b, size_t extra); /* room for extra more bytes */
void buf_put(struct buf *b, const void *p, size_t n);
void buf_put_u8(struct buf *b, uint8_t v);
void buf_put_le16(struct buf *b, uint16_t v);
void buf_put_le32(struct buf *b, uint32_t v);
void buf_put_le64(struct buf *b, uint64_t v);
void buf_put_str(struct buf *b, const char *s); /* the bytes, no NUL */
/* printf into the buffer (appends; the buffer stays NUL-terminated past len) */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b); /* len = 0, memory kept */
void buf_free(struct buf *b);  /* back to all zeroes */
/* Take the bytes out: the caller owns the returned pointer, b is empty. */
uint8_t *buf_steal(struct buf *b, size_t *len);

struct rd {
	const uint8_t *p;
	size_t left;
	int err;
};

static inline struct rd rd_init(const void *p, size_t n)
{
	struct rd r = { (const uint8_t *)p, n, 0 };

	return r;
}

static inline const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->err || r->left < n) {
		r->err = -EBADMSG;
		r->left = 0;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static inline uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_take(r, 1);

	return p ? p[0] : 0;
}

static inline uint16_t rd_u16(struct rd *r)
{
	const uint8_t *p = rd_take(r, 2);

	return p ? get_le16(p) : 0;
}

static inline uint32_t rd_u32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);

	return p ? get_le32(p) : 0;
}

static inline uint64_t rd_u64(struct rd *r)
{
	const uint8_t *p = rd_take(r, 8);

	return p ? get_le64(p) : 0;
}

#endif /* CORE_BUF_H */
