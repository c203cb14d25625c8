/* tests/fuzz/fuzz_corosync_conf.c - libFuzzer target: corosync.conf
 *
 * Parses arbitrary bytes with corosync's grammar (with and without the
 * value checks), writes the tree in Proxmox's canonical form and extracts
 * the cluster settings.  Never crashes, leaks or reads out of bounds, and
 * checks what the writer promises: its output parses again and writing
 * that gives the same bytes (the canonical form is a fixed point), except
 * where corosync's own rules make the text change meaning on a second
 * read (lines over 510 bytes after re-indenting, a value ending in '\r',
 * a name starting with '#' once the 0xA0 before it is trimmed).
 */
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/corosync_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n);

/* true if a second parse of text may legitimately differ */
static bool unstable(const uint8_t *text, size_t len)
{
	size_t i, start = 0, j;

	for (i = 0; i <= len; i++) {
		if (i < len && text[i] != '\n')
			continue;
		if (i - start > COROSYNC_CONF_LINE_MAX - 2)
			return true;
		if (i > start && text[i - 1] == '\r')
			return true;
		for (j = start; j < i && text[j] == ' '; j++)
			;
		if (j < i && text[j] == '#')
			return true;
		start = i + 1;
	}
	return memchr(text, '\r', len) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	char err[COROSYNC_CONF_ERR_MAX];
	struct corosync_conf *c = NULL, *c2 = NULL;
	struct buf w1 = { 0 }, w2 = { 0 };
	struct cluster_conf cc;
	unsigned flags;

	for (flags = 0; flags <= COROSYNC_CONF_CHECK_VALUES; flags++) {
		if (corosync_conf_parse((const char *)p, n, "fuzz", flags, &c, err, sizeof(err)) <
		    0) {
			if (c || !memchr(err, '\0', sizeof(err)))
				abort();
			continue;
		}
		if (corosync_conf_cluster(c, &cc, err, sizeof(err)) == 0) {
			if (cc.n_nodes && !cc.nodes)
				abort();
			corosync_conf_cluster_free(&cc);
		}
		corosync_conf_check_logging(c, err, sizeof(err));
		corosync_conf_scan_version((const char *)p, n);
		buf_reset(&w1);
		corosync_conf_write(c, &w1);
		if (!unstable(w1.p, w1.len)) {
			if (corosync_conf_parse((const char *)w1.p, w1.len, "fuzz", 0, &c2, err,
			                        sizeof(err)) < 0)
				abort();
			buf_reset(&w2);
			corosync_conf_write(c2, &w2);
			if (w1.len != w2.len || memcmp(w1.p, w2.p, w1.len))
				abort();
			corosync_conf_free(c2);
			c2 = NULL;
		}
		corosync_conf_free(c);
		c = NULL;
	}
	buf_free(&w1);
	buf_free(&w2);
	return 0;
}
