/* tests/t.c - the unit-test harness, see t.h */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/t.h"

int t_failed_checks;
static int passed, failed;
static const char *prog = "test", *only;
static char tmp_root[256];
static int tmp_seq;

void t_init(int argc, char **argv)
{
	const char *s = strrchr(argv[0], '/');

	prog = s ? s + 1 : argv[0];
	if (argc > 2 && !strcmp(argv[1], "-k"))
		only = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	t_failed_checks++;
	fprintf(stderr, "%s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void t_run(const char *name, void (*fn)(void))
{
	if (only && !strstr(name, only))
		return;
	t_failed_checks = 0;
	fn();
	if (t_failed_checks) {
		failed++;
		printf("FAIL %s %s\n", prog, name);
	} else {
		passed++;
		if (getenv("T_VERBOSE"))
			printf("ok   %s %s\n", prog, name);
	}
}

const char *t_tmpdir(void)
{
	static char dir[300];
	const char *base = getenv("TMPDIR");

	if (!tmp_root[0]) {
		snprintf(tmp_root, sizeof(tmp_root), "%s/cfs-%s-XXXXXX", base ? base : "/tmp",
		         prog);
		if (!mkdtemp(tmp_root)) {
			perror("mkdtemp");
			abort();
		}
	}
	snprintf(dir, sizeof(dir), "%s/%d", tmp_root, ++tmp_seq);
	if (mkdir(dir, 0700) < 0) {
		perror(dir);
		abort();
	}
	return dir;
}

int t_done(void)
{
	if (tmp_root[0] && !getenv("T_KEEP")) {
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
		if (system(cmd) != 0)
			fprintf(stderr, "%s: could not remove %s\n", prog, tmp_root);
	}
	printf("%s: %d passed, %d failed\n", prog, passed, failed);
	return failed ? 1 : 0;
}
