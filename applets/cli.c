/* applets/cli.c - messages for people, and the root prefix */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "applets/cli.h"
#include "core/path.h"

const char *cli_name = "cfsbox";
static const char *root_dir;

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", cli_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int cli_usage(const char *usage)
{
	fputs(usage, stderr);
	return 2;
}

void cli_root_set(const char *dir)
{
	root_dir = dir;
}

const char *cli_root(void)
{
	const char *e;

	if (root_dir)
		return root_dir;
	e = getenv("CFS_ROOT");
	return e ? e : "";
}

void cli_path(char *dst, unsigned long size, const char *suffix)
{
	if (path_fmt(dst, size, "%s%s", cli_root(), suffix) < 0)
		cli_die("path too long: %s%s", cli_root(), suffix);
}
