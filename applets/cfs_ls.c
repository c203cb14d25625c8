/* applets/cfs_ls.c - list a directory of the cluster tree
 * SPDX-License-Identifier: MIT
 *
 * Output:
 *	plain   one name per line
 *	-l      MODE SIZE MTIME NAME, like ls -l: "-rw-r-----  1234
 *	        2026-11-25 21:30 user.cfg", symlinks as "NAME -> TARGET"
 *	-R      every directory below PATH, ls -R style ("DIR:" headers)
 *	--json  one JSON array of {"path","name","type","mode","size",
 *	        "mtime"[,"target"]} objects (with -R: the whole subtree)
 * A file PATH lists just that file.  Symlinks are never followed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/buf.h"
#include "core/path.h"
#include "core/util.h"

static const char usage[] = "usage: cfs-ls [-l] [-R] [--json] [--root DIR] [PATH]\n"
                            "\n"
                            "List a directory of the cluster tree (default: the root).\n"
                            "Exit status 1 on failure, 2 on a usage error.\n"
                            "\n"
                            "  -l          long format: mode, size, mtime, name\n"
                            "  -R          recurse into subdirectories\n"
                            "  --json      print a JSON array of entries\n"
                            "  --root DIR  the daemon's root prefix (default $CFS_ROOT, else /)\n"
                            "  -h          this help\n";

struct ls {
	struct ipc_conn *c;
	bool lng, rec, json;
	bool first; /* json: no comma before the next object; plain: no blank line */
	int status;
};

static void mode_str(const struct ipc_stat *s, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	out[0] = s->type == IPC_T_DIR ? 'd' : s->type == IPC_T_LINK ? 'l' : '-';
	for (i = 0; i < 9; i++)
		out[i + 1] = (s->mode & (0400u >> i)) ? rwx[i] : '-';
	out[10] = 0;
}

static void json_str(const char *p, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void show(struct ls *l, const char *dir, const struct ipc_stat *s)
{
	char mode[11], when[32];
	time_t t = s->mtime;
	struct tm tm;

	mode_str(s, mode);
	if (l->json) {
		fputs(l->first ? "\n  {\"path\": " : ",\n  {\"path\": ", stdout);
		l->first = false;
		if (*dir) {
			char full[CFS_PATH_MAX];

			if (path_fmt(full, sizeof(full), "%s/%.*s", dir, (int)s->name_len,
			             s->name) < 0)
				full[0] = 0;
			json_str(full, strlen(full));
		} else {
			json_str(s->name, s->name_len);
		}
		fputs(", \"name\": ", stdout);
		json_str(s->name, s->name_len);
		printf(", \"type\": \"%s\", \"mode\": \"%04o\", \"size\": %llu, \"mtime\": %u",
		       s->type == IPC_T_DIR    ? "dir"
		       : s->type == IPC_T_LINK ? "link"
		                               : "file",
		       s->mode & 07777, (unsigned long long)s->size, s->mtime);
		if (s->type == IPC_T_LINK) {
			fputs(", \"target\": ", stdout);
			json_str(s->target, s->target_len);
		}
		putchar('}');
		return;
	}
	if (!l->lng) {
		printf("%.*s\n", (int)s->name_len, s->name);
		return;
	}
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	printf("%s %8llu %s %.*s", mode, (unsigned long long)s->size, when, (int)s->name_len,
	       s->name);
	if (s->type == IPC_T_LINK)
		printf(" -> %.*s", (int)s->target_len, s->target);
	putchar('\n');
}

static int list_dir(struct ls *l, const char *dir)
{
	struct buf b = { 0 };
	struct ipc_stat s;
	struct rd r;
	int rc;

	rc = ipc_list(l->c, dir, &b);
	if (rc < 0) {
		cfs_client_err(dir, rc);
		l->status = 1;
		goto out;
	}
	if (l->rec && !l->json) {
		printf("%s%s:\n", l->first ? "" : "\n", *dir ? dir : "/");
		l->first = false;
	}
	r = rd_init(b.p, b.len);
	while (r.left) {
		rc = ipc_stat_decode(&r, &s);
		if (rc < 0) {
			cfs_client_err(dir, rc);
			l->status = 1;
			goto out;
		}
		show(l, dir, &s);
	}
	if (!l->rec)
		goto out;
	/* second pass: descend (the reply buffer stays ours meanwhile) */
	r = rd_init(b.p, b.len);
	while (r.left && ipc_stat_decode(&r, &s) == 0) {
		char sub[CFS_PATH_MAX];

		if (s.type != IPC_T_DIR)
			continue;
		if (path_fmt(sub, sizeof(sub), "%s%s%.*s", dir, *dir ? "/" : "", (int)s.name_len,
		             s.name) < 0) {
			cfs_client_err(dir, -ENAMETOOLONG);
			l->status = 1;
			continue;
		}
		list_dir(l, sub);
	}
out:
	buf_free(&b);
	return rc;
}

int cfs_ls_main(int argc, char **argv)
{
	static const struct option lo[] = { CFS_CLIENT_LONGOPTS,
		                            { "json", no_argument, NULL, 'j' },
		                            { NULL, 0, NULL, 0 } };
	struct ls l = { .first = true };
	char path[CFS_PATH_MAX];
	struct buf b = { 0 };
	struct ipc_stat s;
	struct rd r;
	int opt, ret, rc;

	while ((opt = getopt_long(argc, argv, "hlR", lo, NULL)) != -1) {
		switch (opt) {
		case 'l':
			l.lng = true;
			break;
		case 'R':
			l.rec = true;
			break;
		case 'j':
			l.json = true;
			break;
		default:
			if ((ret = cfs_client_opt(opt, usage)) >= 0)
				return ret;
		}
	}
	if (argc - optind > 1)
		return cli_usage(usage);
	if (cfs_client_canon(optind < argc ? argv[optind] : "/", path) < 0)
		return 1;
	if (cfs_client_connect(&l.c) < 0)
		return 1;
	if (l.json)
		putchar('[');
	rc = ipc_call_path(l.c, IPC_OP_STAT, 0, 0, path, NULL, NULL, 0, &b);
	if (rc < 0) {
		cfs_client_err(path, rc);
		l.status = 1;
	} else {
		r = rd_init(b.p, b.len);
		if (ipc_stat_decode(&r, &s) < 0) {
			cfs_client_err(path, -EBADMSG);
			l.status = 1;
		} else if (s.type == IPC_T_DIR) {
			list_dir(&l, path);
		} else {
			show(&l, "", &s);
		}
	}
	if (l.json)
		fputs(l.first ? "]\n" : "\n]\n", stdout);
	buf_free(&b);
	ipc_close(l.c);
	return l.status;
}
