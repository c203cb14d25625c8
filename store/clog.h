/* store/clog.h - the cluster log: recent entries from every node.
 *
 * What pmxcfs keeps in its cluster log (spec §9.3) and shows newest
 * first in .clusterlog: entries of (uid, time, priority, pid, node,
 * ident, tag, message).  Every node holds the same set once the entries
 * have travelled (cfsd sends each new entry to every node, and its whole
 * log to a node that comes back); inserting is idempotent, so an entry
 * that arrives twice, or by two ways, is kept once.
 *
 * Entries are kept sorted by (time, node, uid).  An entry is the same as
 * another when (time, node, uid) are; a second insert of it returns
 * -EEXIST and changes nothing.  When the entries' sizes pass CLOG_BYTES
 * (pmxcfs's ring: 131 072 bytes; an entry counts 48 bytes plus its
 * strings with their NULs, as pmxcfs counts), the oldest go.
 *
 * On insert node, ident and tag are cut at CLOG_STR_MAX bytes and their
 * bytes outside 0x20..0x7e, '"' and '\' become '_' (pmxcfs copies them
 * raw into its JSON), and the
 * message is made JSON-safe as pmxcfs does (spec §9.3): '"' -> '\"',
 * control characters and DEL -> '#' and three decimal
 * digits (newline: "#010"), UTF-8 of the Basic Multilingual Plane ->
 * "\uXXXX" (four lower-case hex digits), characters above it dropped,
 * bytes that are not valid UTF-8 -> '?'; a backslash that begins a
 * JSON escape (\" \\ \/ \b \f \n \r \t, \u and four hex digits, a
 * surrogate only as a high-low pair) stays
 * as it is (Perl's log_msg sends "\u00e9" already escaped), any other
 * becomes "\\" (pmxcfs leaves it, and its JSON breaks); the result is
 * cut so that the whole entry stays within CLOG_ENTRY_MAX bytes, never
 * inside an escape.
 *
 * Wire form of a batch of entries (clog_encode / clog_decode), all
 * little-endian, one after the other:
 *	u32 uid, u32 time, u32 pid, u8 pri, u8 node_len, u8 ident_len,
 *	u8 tag_len, u16 msg_len, then node, ident, tag, msg bytes (no NULs)
 * (18 bytes of header).  The message travels in its JSON-safe form.
 * Decoding checks everything: pri <= 7, node not empty, node/ident/tag
 * within CLOG_STR_MAX and of the bytes allowed above, msg_len <=
 * CLOG_ENTRY_MAX,
 * msg JSON-safe (bytes 0x20..0x7e only, a '"' only inside the escape
 * \", a '\' only beginning one of the escapes above);
 * a batch with any bad entry is refused whole.
 *
 * Deterministic: no clock (times are given), no I/O.
 */
#ifndef STORE_CLOG_H
#define STORE_CLOG_H

#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "store/vfiles.h"

#define CLOG_BYTES     131072
#define CLOG_ENTRY_MAX 4096
#define CLOG_STR_MAX   254
#define CLOG_WIRE_HDR  18

struct clog_entry {
	uint32_t uid;  /* a counter of the writing node */
	uint32_t time; /* seconds since 1970 */
	uint32_t pid;
	uint8_t pri; /* syslog priority 0..7 */
	const char *node;
	const char *ident; /* the user ("root@pam") */
	const char *tag;   /* the program ("pvedaemon", "cluster") */
	const char *msg;   /* clog_add: raw; in the log: JSON-safe */
};

struct clog;

struct clog *clog_new(void);
void clog_free(struct clog *c); /* NULL-safe */

/* Insert e, a new entry of this node's (strings copied, msg made
 * JSON-safe).  0, -EEXIST (already there), -EINVAL (pri > 7, node empty
 * or NULL, a NULL string). */
int clog_add(struct clog *c, const struct clog_entry *e);

size_t clog_count(const struct clog *c);

/* The newest entries first, at most max of them, into out[]; the strings
 * are borrowed until the next clog_add() or clog_free().  Returns how
 * many.  For vfiles_clusterlog() (uid, time, pri, tag, pid, node, user =
 * ident, msg). */
size_t clog_newest(const struct clog *c, struct vfiles_log *out, size_t max);

/* The wire form of every entry, oldest first (what a node that comes
 * back is sent), or of one entry. */
void clog_encode_all(const struct clog *c, struct buf *out);
void clog_encode(const struct clog_entry *e, struct buf *out);

/* Decode a batch of n bytes and insert each entry into c (duplicates are
 * skipped, not errors).  Returns the number of entries new to c, or
 * -EBADMSG if the batch does not decode (then nothing was inserted). */
int clog_decode_into(struct clog *c, const uint8_t *p, size_t n);

#endif /* STORE_CLOG_H */
