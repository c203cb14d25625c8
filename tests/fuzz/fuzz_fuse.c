/* tests/fuzz/fuzz_fuse.c - libFuzzer target: the FUSE request decoder
 * SPDX-License-Identifier: MIT
 *
 * Feeds arbitrary bytes to fuse_decode() as one request (what one read()
 * of /dev/fuse returns) and checks what a decoded request promises: the
 * header's len is the input's size; every name is NUL-terminated, 1 to
 * FUSE_NAME_MAX bytes without '/', inside the input; a WRITE's data lies
 * inside the input; a BATCH_FORGET's records lie inside the input and
 * fuse_forget_at() reads each of them; nothing else is set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/endian.h"
#include "net/fuse.h"

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n);

static volatile uint64_t sink;

/* [s, s + len) inside the arguments of the request [p, p + n) */
static bool inside(const void *s, size_t len, const uint8_t *p, size_t n)
{
	const uint8_t *b = s;

	return b >= p + 40 && b <= p + n && len <= (size_t)(p + n - b);
}

static void check_name(const char *s, const uint8_t *p, size_t n)
{
	const char *nul;

	if (!inside(s, 1, p, n))
		abort();
	nul = memchr(s, 0, (size_t)(p + n - (const uint8_t *)s));
	if (!nul || nul == s || nul - s > FUSE_NAME_MAX || memchr(s, '/', (size_t)(nul - s)))
		abort();
}

static bool has_name(uint32_t op)
{
	return op == FUSE_OP_LOOKUP || op == FUSE_OP_UNLINK || op == FUSE_OP_RMDIR ||
	       op == FUSE_OP_MKDIR || op == FUSE_OP_CREATE || op == FUSE_OP_RENAME ||
	       op == FUSE_OP_RENAME2;
}

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct fuse_req q;
	struct fuse_forget f;
	uint32_t i;
	int rc;

	rc = fuse_decode(p, n, &q);
	if (rc != 0 && rc != -EINVAL && rc != -EBADMSG && rc != -ENAMETOOLONG)
		abort();
	if (rc)
		return 0;
	if (n < 40 || get_le32(p) != n || q.opcode != get_le32(p + 4) ||
	    q.unique != get_le64(p + 8) || q.node != get_le64(p + 16))
		abort();

	if (has_name(q.opcode))
		check_name(q.name, p, n);
	else if (q.name)
		abort();
	if (q.opcode == FUSE_OP_RENAME || q.opcode == FUSE_OP_RENAME2) {
		check_name(q.newname, p, n);
		if (q.newname <= q.name + strlen(q.name)) /* after the old name's NUL */
			abort();
	} else if (q.newname) {
		abort();
	}

	if (q.opcode == FUSE_OP_WRITE) {
		if (!q.data || q.len != q.size || !inside(q.data, q.len, p, n))
			abort();
		if (q.len)
			sink ^= q.data[0] ^ q.data[q.len - 1];
	} else if (q.data || q.len) {
		abort();
	}

	if (q.opcode == FUSE_OP_BATCH_FORGET) {
		if (!q.forgets || q.count > n / 16 ||
		    !inside(q.forgets, (size_t)q.count * 16, p, n))
			abort();
		for (i = 0; i < q.count; i++) {
			fuse_forget_at(&q, i, &f);
			sink ^= f.node ^ f.nlookup;
		}
	} else if (q.forgets || q.count) {
		abort();
	}
	return 0;
}
