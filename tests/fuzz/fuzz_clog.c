/* tests/fuzz/fuzz_clog.c - libFuzzer target: the cluster-log batch decoder
 * SPDX-License-Identifier: MIT
 *
 * Feeds arbitrary bytes to clog_decode_into() (what a peer can send to
 * cfsd) and checks what a decoded log promises (store/clog.h): entries
 * newest first, pri <= 7, node not empty, node/ident/tag of at most
 * CLOG_STR_MAX allowed bytes, every message JSON-safe; and that the log
 * re-encoded decodes into a fresh log as the same entries, byte for byte.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/util.h"
#include "store/clog.h"

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n);

static bool name_ok(const char *s, bool may_be_empty)
{
	size_t len = strlen(s);

	if (len > CLOG_STR_MAX || (!len && !may_be_empty))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return false;
	return true;
}

static bool hex4(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return false;
	return true;
}

/* printable ASCII, '"' only in \", '\' only beginning a JSON escape */
static bool msg_ok(const char *s)
{
	size_t len = strlen(s);

	if (len > CLOG_ENTRY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\') {
			if (s[i + 1] && strchr("\"\\/bfnrt", s[i + 1])) {
				i++;
			} else if (s[i + 1] == 'u' && hex4(s + i + 2)) {
				i += 5;
			} else {
				return false;
			}
		} else if (s[i] == '"' || s[i] < 0x20 || s[i] > 0x7e) {
			return false;
		}
	}
	return true;
}

/* (time, node, uid) of a strictly before b's: a is older */
static bool older(const struct vfiles_log *a, const struct vfiles_log *b)
{
	int r;

	if (a->time != b->time)
		return a->time < b->time;
	r = strcmp(a->node, b->node);
	if (r)
		return r < 0;
	return a->uid < b->uid;
}

static bool same(const struct vfiles_log *a, const struct vfiles_log *b)
{
	return a->uid == b->uid && a->time == b->time && a->pri == b->pri && a->pid == b->pid &&
	       !strcmp(a->node, b->node) && !strcmp(a->user, b->user) && !strcmp(a->tag, b->tag) &&
	       !strcmp(a->msg, b->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct clog *a = clog_new(), *b;
	struct vfiles_log *la, *lb;
	struct buf wa = { 0 }, wb = { 0 };
	size_t na;
	int rc;

	rc = clog_decode_into(a, p, n);
	if (rc != -EBADMSG && rc < 0)
		abort();
	if (rc < 0) {
		if (clog_count(a))
			abort(); /* refused, yet inserted */
		clog_free(a);
		return 0;
	}
	na = clog_count(a);
	if ((size_t)rc != na)
		abort(); /* a fresh log: every entry kept is new */
	la = xcalloc(na + 1, sizeof(*la));
	lb = xcalloc(na + 1, sizeof(*lb));
	if (clog_newest(a, la, na + 1) != na)
		abort();
	for (size_t i = 0; i < na; i++) {
		if (la[i].pri > 7 || !name_ok(la[i].node, false) || !name_ok(la[i].user, true) ||
		    !name_ok(la[i].tag, true) || !msg_ok(la[i].msg))
			abort();
		if (i && !older(&la[i], &la[i - 1]))
			abort(); /* newest first, no two the same */
	}

	/* the wire form of the log decodes into the same entries */
	clog_encode_all(a, &wa);
	b = clog_new();
	if (clog_decode_into(b, wa.p, wa.len) != (int)na || clog_count(b) != na)
		abort();
	if (clog_newest(b, lb, na + 1) != na)
		abort();
	for (size_t i = 0; i < na; i++)
		if (!same(&la[i], &lb[i]))
			abort();
	clog_encode_all(b, &wb);
	if (wb.len != wa.len || (wa.len && memcmp(wa.p, wb.p, wa.len)))
		abort();
	/* and again: nothing new (when no entry aged out: an entry counts at
	 * most 34 bytes more than its 19-byte-or-more wire form) */
	if (n <= CLOG_BYTES / 3 && (clog_decode_into(a, p, n) != 0 || clog_count(a) != na))
		abort();

	free(la);
	free(lb);
	buf_free(&wa);
	buf_free(&wb);
	clog_free(a);
	clog_free(b);
	return 0;
}
