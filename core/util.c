/* core/util.c - allocation that cannot fail, and error strings */
#define LOG_TAG "util"
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "core/util.h"

static void oom(size_t n)
{
	log_err("out of memory allocating %zu bytes", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

char *xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

void *xmemdup(const void *p, size_t n)
{
	void *q = xmalloc(n);

	if (n)
		memcpy(q, p, n);
	return q;
}

const char *cfs_strerror(int rc)
{
	return strerror(rc < 0 ? -rc : rc);
}
