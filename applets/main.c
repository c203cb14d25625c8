/* applets/main.c - the one main(): dispatch by argv[0] or "cfsbox APPLET"
 *
 *	cfsbox --list           the applets in this binary, with a summary
 *	cfsbox --install DIR    a symlink DIR/<applet> -> this binary for each
 *	cfsbox APPLET ARGS...   run APPLET
 *	APPLET ARGS...          (through a symlink) run APPLET
 *
 * Exit status 127 and the list of applets for a name we do not have.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "applets/applets.h"
#include "applets/cli.h"
#include "core/path.h"
#include "core/util.h"

#define MULTICALL_NAME "cfsbox"

static const struct applet applets[] = {
#define APPLET(cname, cmd, fl, sum) { cmd, cname##_main, fl, sum },
#include "applets/applets.def"
#undef APPLET
	{ NULL, NULL, 0, NULL }, /* end; also keeps the table non-empty */
};

static const char usage[] =
        "usage: cfsbox APPLET [ARGS...]   or   APPLET [ARGS...] through a symlink\n"
        "       cfsbox --list             list the applets\n"
        "       cfsbox --install DIR      make a symlink in DIR for every applet\n"
        "\n"
        "cfsbox: a Proxmox-style cluster configuration file system and cluster\n"
        "manager in one binary.  'APPLET -h' shows the options of each applet.\n";

static const struct applet *applet_find(const char *name)
{
	size_t i;

	for (i = 0; applets[i].name; i++)
		if (!strcmp(applets[i].name, name))
			return &applets[i];
	return NULL;
}

/* Flush stdout and make a failed write fail the command: "cfs-cat f >
 * /dev/full" must not exit 0 just because printf() never complained. */
static int finish(int status)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_warn("write error: %s", strerror(errno));
		if (status == 0)
			status = 1;
	}
	return status;
}

static void list(FILE *f)
{
	size_t i;

	for (i = 0; applets[i].name; i++)
		fprintf(f, "  %-14s %s\n", applets[i].name, applets[i].summary);
}

static int install(const char *dir)
{
	char self[PATH_MAX], link[CFS_PATH_MAX];
	ssize_t n;
	size_t i;
	int status = 0;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		cli_warn("cannot find this binary: %s", strerror(errno));
		return 1;
	}
	self[n] = 0;
	for (i = 0; applets[i].name; i++) {
		if (path_fmt(link, sizeof(link), "%s/%s", dir, applets[i].name) < 0) {
			cli_warn("%s/%s: name too long", dir, applets[i].name);
			status = 1;
			continue;
		}
		unlink(link);
		if (symlink(self, link) < 0) {
			cli_warn("%s: %s", link, strerror(errno));
			status = 1;
		}
	}
	return status;
}

int main(int argc, char **argv)
{
	const struct applet *a;
	const char *name;

	if (argc < 1) /* execve() with an empty argv */
		return 127;
	name = strrchr(argv[0], '/');
	name = name ? name + 1 : argv[0];
	cli_name = MULTICALL_NAME;

	a = applet_find(name);
	if (!a && !strcmp(name, MULTICALL_NAME)) {
		if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			fputs(usage, argc < 2 ? stderr : stdout);
			if (argc >= 2)
				list(stdout);
			return finish(argc < 2 ? 2 : 0);
		}
		if (!strcmp(argv[1], "--list")) {
			list(stdout);
			return finish(0);
		}
		if (!strcmp(argv[1], "--install")) {
			if (argc != 3)
				return cli_usage(usage);
			return finish(install(argv[2]));
		}
		argc--; /* "cfsbox cfs-ls /" */
		argv++;
		name = argv[0];
		a = applet_find(name);
	}
	if (!a) {
		fprintf(stderr, "%s: applet not found; this binary has:\n", name);
		list(stderr);
		return 127;
	}
	if ((a->flags & APPLET_ROOT) && geteuid() != 0) {
		fprintf(stderr, "%s: must run as root\n", a->name);
		return 1;
	}
	cli_name = a->name;
	optind = 1;
	return finish(a->main(argc, argv));
}
