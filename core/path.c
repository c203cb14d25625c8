/* core/path.c - path formatting and small whole-file helpers */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/path.h"
#include "core/sys.h"
#include "core/util.h"

int path_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int path_canon(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	while (*src) {
		const char *c;
		size_t n;

		while (*src == '/')
			src++;
		if (!*src)
			break;
		c = strchr(src, '/');
		n = c ? (size_t)(c - src) : strlen(src);
		if ((n == 1 && src[0] == '.') || (n == 2 && src[0] == '.' && src[1] == '.'))
			return -EINVAL;
		if (n > CFS_NAME_MAX)
			return -ENAMETOOLONG;
		if (o + (o ? 1 : 0) + n + 1 > size)
			return -ENAMETOOLONG;
		if (o)
			dst[o++] = '/';
		memcpy(dst + o, src, n);
		o += n;
		src += n;
	}
	if (size == 0)
		return -ENAMETOOLONG;
	dst[o] = 0;
	return 0;
}

int path_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *p;
	size_t n = 0;
	int fd, rc = 0;

	fd = sys.open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	if ((size_t)st.st_size > max) {
		rc = -EFBIG;
		goto out_close;
	}
	p = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		ssize_t r = sys.read(fd, p + n, (size_t)st.st_size - n);

		if (r == -EINTR)
			continue;
		if (r < 0) {
			free(p);
			rc = (int)r;
			goto out_close;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	p[n] = 0;
	*out = p;
	if (len)
		*len = n;
out_close:
	sys.close(fd);
	return rc;
}

int path_write_atomic(const char *path, const void *p, size_t n, unsigned mode)
{
	char tmp[CFS_PATH_MAX], dir[CFS_PATH_MAX];
	char *slash;
	int fd, rc;

	rc = path_fmt(tmp, sizeof(tmp), "%s.tmp", path);
	if (rc < 0)
		return rc;
	rc = path_fmt(dir, sizeof(dir), "%s", path);
	if (rc < 0)
		return rc;
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = 0;
	else
		strcpy(dir, slash ? "/" : ".");

	fd = sys.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return fd;
	fchmod(fd, (mode_t)mode);
	rc = write_all(fd, p, n);
	if (rc == 0)
		rc = sys.fsync(fd);
	sys.close(fd);
	if (rc == 0)
		rc = sys.rename(tmp, path);
	if (rc < 0) {
		sys.unlink(tmp);
		return rc;
	}
	return fsync_dir(dir);
}

int path_mkdirs(const char *dir, unsigned mode)
{
	char p[CFS_PATH_MAX];
	size_t i;
	int rc;

	rc = path_fmt(p, sizeof(p), "%s", dir);
	if (rc < 0)
		return rc;
	for (i = 1; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = 0;
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		p[i] = '/';
	}
	if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
