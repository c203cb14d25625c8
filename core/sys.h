/* core/sys.h - the system calls that touch durable state, through one
 * table, so that tests can fail any one of them (SQLite's VFS idea).
 *
 * Every function returns >= 0 on success or -errno; none leaves its
 * reason in errno.  Tests replace entries of `sys` and restore them with
 * sys_reset().
 */
#ifndef CORE_SYS_H
#define CORE_SYS_H

#include <stddef.h>
#include <sys/types.h>

struct sys_table {
	int (*open)(const char *path, int flags, mode_t mode);
	ssize_t (*read)(int fd, void *p, size_t n);
	ssize_t (*pread)(int fd, void *p, size_t n, off_t off);
	ssize_t (*write)(int fd, const void *p, size_t n);
	ssize_t (*pwrite)(int fd, const void *p, size_t n, off_t off);
	int (*fsync)(int fd);
	int (*fdatasync)(int fd);
	int (*ftruncate)(int fd, off_t len);
	int (*close)(int fd);
	int (*rename)(const char *from, const char *to);
	int (*unlink)(const char *path);
};

extern struct sys_table sys;
void sys_reset(void);

/* write all n bytes (retrying short writes and EINTR); 0 or -errno */
int write_all(int fd, const void *p, size_t n);
/* the same at offset off (the file offset does not move) */
int pwrite_all(int fd, const void *p, size_t n, off_t off);
/* fsync a directory so that a rename or create in it is durable */
int fsync_dir(const char *dir);

#endif /* CORE_SYS_H */
