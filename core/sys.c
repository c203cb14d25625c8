/* core/sys.c - the system-call table used for fault injection */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "core/sys.h"

static int s_open(const char *path, int flags, mode_t mode)
{
	int fd = open(path, flags, mode);

	return fd < 0 ? -errno : fd;
}

static ssize_t s_read(int fd, void *p, size_t n)
{
	ssize_t r = read(fd, p, n);

	return r < 0 ? -errno : r;
}

static ssize_t s_pread(int fd, void *p, size_t n, off_t off)
{
	ssize_t r = pread(fd, p, n, off);

	return r < 0 ? -errno : r;
}

static ssize_t s_write(int fd, const void *p, size_t n)
{
	ssize_t r = write(fd, p, n);

	return r < 0 ? -errno : r;
}

static ssize_t s_pwrite(int fd, const void *p, size_t n, off_t off)
{
	ssize_t r = pwrite(fd, p, n, off);

	return r < 0 ? -errno : r;
}

static int s_fsync(int fd)
{
	return fsync(fd) < 0 ? -errno : 0;
}

static int s_fdatasync(int fd)
{
	return fdatasync(fd) < 0 ? -errno : 0;
}

static int s_ftruncate(int fd, off_t len)
{
	return ftruncate(fd, len) < 0 ? -errno : 0;
}

static int s_close(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

static int s_rename(const char *from, const char *to)
{
	return rename(from, to) < 0 ? -errno : 0;
}

static int s_unlink(const char *path)
{
	return unlink(path) < 0 ? -errno : 0;
}

static const struct sys_table sys_default = {
	s_open,      s_read,      s_pread, s_write,  s_pwrite, s_fsync,
	s_fdatasync, s_ftruncate, s_close, s_rename, s_unlink,
};

struct sys_table sys = {
	s_open,      s_read,      s_pread, s_write,  s_pwrite, s_fsync,
	s_fdatasync, s_ftruncate, s_close, s_rename, s_unlink,
};

void sys_reset(void)
{
	sys = sys_default;
}

/* write() when off < 0, else pwrite() at off, until all n bytes are out */
static int write_loop(int fd, const void *p, size_t n, off_t off)
{
	const char *c = p;

	while (n) {
		ssize_t r = off < 0 ? sys.write(fd, c, n) : sys.pwrite(fd, c, n, off);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO;
		c += r;
		n -= (size_t)r;
		if (off >= 0)
			off += r;
	}
	return 0;
}

int write_all(int fd, const void *p, size_t n)
{
	return write_loop(fd, p, n, -1);
}

int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	return write_loop(fd, p, n, off);
}

int fsync_dir(const char *dir)
{
	int fd = sys.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return fd;
	rc = sys.fsync(fd);
	sys.close(fd);
	return rc;
}
