/* core/util.h - small macros, limits and helpers used everywhere.
 *
 * Limits are those of pmxcfs (spec/pmxcfs.md §3); where pmxcfs only
 * advertises a limit, cfsbox enforces it with -ENOSPC.
 */
#ifndef CORE_UTIL_H
#define CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)                   (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define MIN(a, b)                       ((a) < (b) ? (a) : (b))
#define MAX(a, b)                       ((a) > (b) ? (a) : (b))

/* STR(CFG_X): the value of a number macro as a string literal */
#define STR_(x) #x
#define STR(x)  STR_(x)

#define CFS_FILE_MAX   (1024 * 1024)       /* bytes in one file: EFBIG beyond */
#define CFS_FS_MAX     (128 * 1024 * 1024) /* bytes of content in the tree: ENOSPC beyond */
#define CFS_INODES_MAX (256 * 1024)        /* entries in the tree, root included */
#define CFS_PATH_MAX   4096                /* bytes in a path, NUL included */
#define CFS_NAME_MAX   255                 /* bytes in one path component */
#define CFS_KV_MAX     (32 * 1024)         /* bytes in one status value */

/* strerror() for our negative errno convention: cfs_strerror(-ENOENT). */
const char *cfs_strerror(int rc);

/* Allocation that cannot fail: on out of memory they log and abort()
 * (cfsd is crash-only, a restart is a replay). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t n);

#endif /* CORE_UTIL_H */
