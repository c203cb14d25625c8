/* core/path.h - paths: formatting without silent truncation, and the
 * canonical form of a tree path.
 *
 * A tree path is relative to the root of the tree, without a leading or
 * trailing '/', without empty, "." or ".." components: "" is the root,
 * "nodes/pve1/qemu-server/100.conf" a file.
 */
#ifndef CORE_PATH_H
#define CORE_PATH_H

#include <stddef.h>

/* snprintf that fails with -ENAMETOOLONG instead of truncating */
int path_fmt(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Canonicalise a user-given tree path into dst: a leading '/' and
 * repeated or trailing '/' are accepted and removed.  "." and ".."
 * components are -EINVAL; longer than size is -ENAMETOOLONG. */
int path_canon(char *dst, size_t size, const char *src);

/* Read a whole (small) file into a malloc'ed, NUL-terminated buffer.
 * 0 or -errno; -EFBIG if it is larger than max bytes. */
int path_read_file(const char *path, size_t max, char **out, size_t *len);

/* Create or replace path atomically: path.tmp, fsync, rename, fsync the
 * directory.  0 or -errno. */
int path_write_atomic(const char *path, const void *p, size_t n, unsigned mode);

/* mkdir -p; 0 or -errno */
int path_mkdirs(const char *dir, unsigned mode);

#endif /* CORE_PATH_H */
