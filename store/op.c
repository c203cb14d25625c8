/* store/op.c - encode, decode and check ops (format in store/op.h). */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include "store/op.h"
#include "core/util.h"

bool op_path_is_canon(const char *path)
{
	size_t comp = 0, total = 0;
	const char *s;

	if (!path)
		return false;
	if (!*path)
		return true;
	for (s = path;; s++) {
		if (*s == '/' || !*s) {
			if (comp == 0)
				return false;
			if (comp == 1 && s[-1] == '.')
				return false;
			if (comp == 2 && s[-1] == '.' && s[-2] == '.')
				return false;
			if (comp > CFS_NAME_MAX)
				return false;
			if (!*s)
				break;
			comp = 0;
		} else {
			comp++;
		}
		if (++total >= CFS_PATH_MAX)
			return false;
	}
	return true;
}

const char *op_type_name(enum op_type type)
{
	static const char *const names[] = {
		[OP_CREATE] = "create", [OP_WRITE] = "write",   [OP_PUT] = "put",
		[OP_MKDIR] = "mkdir",   [OP_DELETE] = "delete", [OP_RENAME] = "rename",
		[OP_MTIME] = "mtime",   [OP_NOOP] = "noop",
	};

	if ((unsigned)type < ARRAY_SIZE(names) && names[type])
		return names[type];
	return "?";
}

static uint32_t allowed_flags(enum op_type type)
{
	switch (type) {
	case OP_WRITE:
		return OP_F_TRUNC;
	case OP_PUT:
		return OP_F_EXCL;
	default:
		return 0;
	}
}

int op_check(const struct op *op)
{
	if (op->type < OP_CREATE || op->type > OP_TYPE_MAX)
		return -EINVAL;
	if (op->len > CFS_FILE_MAX)
		return -EFBIG;
	if (op->flags & ~allowed_flags(op->type))
		return -EINVAL;
	if (!op_path_is_canon(op->path))
		return -EINVAL;
	if (op->type == OP_RENAME) {
		if (!op_path_is_canon(op->to))
			return -EINVAL;
	} else if (op->to) {
		return -EINVAL;
	}
	if (op->len && !op->data)
		return -EINVAL;
	if (op->len && op->type != OP_WRITE && op->type != OP_PUT)
		return -EINVAL;
	if (op->offset && op->type != OP_WRITE && op->type != OP_MTIME && op->type != OP_DELETE)
		return -EINVAL;
	if (op->type == OP_MTIME && op->offset > UINT32_MAX)
		return -EINVAL;
	if (op->type == OP_NOOP && *op->path)
		return -EINVAL;
	return 0;
}

size_t op_encoded_size(const struct op *op)
{
	return OP_HDR_SIZE + strlen(op->path) + 1 + (op->to ? strlen(op->to) + 1 : 0) + op->len;
}

void op_encode(const struct op *op, struct buf *out)
{
	size_t path_len, to_len;

	assert(op_check(op) == 0);
	path_len = strlen(op->path) + 1;
	to_len = op->to ? strlen(op->to) + 1 : 0;
	buf_reserve(out, OP_HDR_SIZE + path_len + to_len + op->len);
	buf_put_u8(out, OP_FORMAT);
	buf_put_u8(out, (uint8_t)op->type);
	buf_put_le16(out, (uint16_t)op->flags);
	buf_put_le32(out, op->writer);
	buf_put_le32(out, op->mtime);
	buf_put_le64(out, op->offset);
	buf_put_le16(out, (uint16_t)path_len);
	buf_put_le16(out, (uint16_t)to_len);
	buf_put_le32(out, op->len);
	buf_put(out, op->path, path_len);
	if (to_len)
		buf_put(out, op->to, to_len);
	if (op->len)
		buf_put(out, op->data, op->len);
}

/* A NUL-terminated string of exactly len bytes (NUL included) at p. */
static const char *take_str(struct rd *r, size_t len)
{
	const uint8_t *p = rd_take(r, len);

	if (!p || len == 0 || memchr(p, 0, len) != p + len - 1) {
		r->err = -EBADMSG;
		return NULL;
	}
	return (const char *)p;
}

int op_decode(const uint8_t *p, size_t n, struct op *op)
{
	struct rd r = rd_init(p, n);
	uint8_t format, type;
	uint16_t path_len, to_len;
	uint32_t data_len;

	memset(op, 0, sizeof(*op));
	format = rd_u8(&r);
	type = rd_u8(&r);
	op->flags = rd_u16(&r);
	op->writer = rd_u32(&r);
	op->mtime = rd_u32(&r);
	op->offset = rd_u64(&r);
	path_len = rd_u16(&r);
	to_len = rd_u16(&r);
	data_len = rd_u32(&r);
	if (r.err || format != OP_FORMAT || type < OP_CREATE || type > OP_TYPE_MAX)
		goto out_bad;
	op->type = (enum op_type)type;
	if (path_len > CFS_PATH_MAX || to_len > CFS_PATH_MAX || data_len > CFS_FILE_MAX)
		goto out_bad;
	if (r.left != (size_t)path_len + to_len + data_len)
		goto out_bad;
	op->path = take_str(&r, path_len);
	if (to_len)
		op->to = take_str(&r, to_len);
	op->len = data_len;
	op->data = data_len ? rd_take(&r, data_len) : NULL;
	if (r.err || r.left)
		goto out_bad;
	if (op_check(op))
		goto out_bad;
	return 0;
out_bad:
	memset(op, 0, sizeof(*op));
	return -EBADMSG;
}
