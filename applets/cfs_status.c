/* applets/cfs_status.c - show what the local cfsd knows about itself
 *
 * Asks cfsd for its STATUS (net/ipc.h) and prints it: one "key: value"
 * line per field, or the daemon's JSON object with --json.  For people
 * and for tests (tree digest, leader, term, dropped packets).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "applets/applets.h"
#include "applets/cfs_client.h"
#include "applets/cli.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"

static const char usage[] = "usage: cfs-status [--json] [--root DIR]\n"
                            "\n"
                            "Show the state of the local cfsd: node name and id, mode, quorum,\n"
                            "leader and term, log indexes, tree size and digest, transport\n"
                            "counters.\n"
                            "\n"
                            "  --json      print the daemon's JSON object as it is\n"
                            "  --root DIR  the daemon's root prefix (default $CFS_ROOT, else /)\n"
                            "  -h          this help\n";

/* Print a flat JSON object as "key: value" lines. */
static int print_text(const char *p, size_t n)
{
	const struct json_val *root, *m;
	struct json_doc *d;
	bool b;
	size_t i;

	if (json_parse(p, n, &d) < 0)
		return -EBADMSG;
	root = json_root(d);
	for (i = 0; i < json_len(root); i++) {
		m = json_at(root, i);
		switch (json_type(m)) {
		case JSON_STR:
			printf("%-16s %s\n", json_key_of(m), json_as_str(m, NULL));
			break;
		case JSON_NUM:
			printf("%-16s %s\n", json_key_of(m), json_num_text(m));
			break;
		case JSON_BOOL:
			json_as_bool(m, &b);
			printf("%-16s %s\n", json_key_of(m), b ? "yes" : "no");
			break;
		default:
			break;
		}
	}
	json_doc_free(d);
	return 0;
}

int cfs_status_main(int argc, char **argv)
{
	static const struct option lo[] = { CFS_CLIENT_LONGOPTS,
		                            { "json", no_argument, NULL, 'j' },
		                            { NULL, 0, NULL, 0 } };
	struct buf st = { 0 };
	struct ipc_conn *c;
	int opt, ret, rc, json = 0;

	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = 1;
			break;
		default:
			if ((ret = cfs_client_opt(opt, usage)) >= 0)
				return ret;
		}
	}
	if (optind != argc)
		return cli_usage(usage);
	if (cfs_client_connect(&c) < 0)
		return 2;
	rc = ipc_call(c, IPC_OP_STATUS, NULL, 0, &st);
	ipc_close(c);
	if (rc < 0) {
		cli_warn("status: %s", cfs_strerror(rc));
		buf_free(&st);
		return 1;
	}
	if (json)
		printf("%.*s\n", (int)st.len, (const char *)st.p);
	else if (print_text((const char *)st.p, st.len) < 0)
		cli_warn("status: the daemon's answer does not parse");
	buf_free(&st);
	return 0;
}
