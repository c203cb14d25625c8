/* core/corosync_conf.h - corosync.conf: corosync's grammar, Proxmox's
 * writer, and the cluster settings extracted from it.
 *
 * Three layers:
 *
 * 1. A generic tree (struct corosync_conf_item): sections and key/values
 *    in file order, parsed with the grammar of corosync's
 *    exec/coroparse.c (spec/corosync.md §1.1): line based, lines of at
 *    most 510 bytes plus newline ("Line too long"), full-line '#'
 *    comments only, '{' opens a section ("name {" and "name: {"), a key
 *    and its value are split at the first ':' (values keep further ':',
 *    inner spaces, quotes and '#'), '}' alone closes.  Duplicate keys in
 *    one section: the last one wins (the value is replaced in place).
 *    Sections named "node", "interface" and "logger_subsys" are arrays
 *    (one item per block); any other section opened twice under the same
 *    parent is merged into the first one, as corosync's flat key map does
 *    (difference: a second "nodelist" block appends its nodes, where
 *    corosync would restart the node index and mix the two lists).
 *    Errors read "<file>:<line>: <reason>" with corosync's reason texts
 *    (corosync itself prints them after "parser error: ").
 *
 * 2. corosync_conf_write(): the canonical form of Proxmox's
 *    PVE::Corosync::write_conf (spec/pmxcfs.md §11.3): keys and sections
 *    sorted by name (byte order) at every level, two spaces of indent,
 *    "key: value", a blank line after every top-level section; the
 *    nodelist's node entries sorted by name (fallback ring0_addr) and the
 *    totem interfaces by linknumber (fallback ringnumber), compared as
 *    strings, the last of several entries with the same sort key winning
 *    (Perl hash semantics); comments are not kept.
 *
 * 3. struct cluster_conf: the settings cfsbox uses, with corosync's
 *    defaults and its validation messages (spec/corosync.md §1.3-§1.6,
 *    §2.1-§2.2, §7).  Messages that corosync reports from its parser carry
 *    "<file>:<line>: "; totem-level ones carry "parse error in config: "
 *    where corosync prints it.
 *
 * Editing helpers (add/remove a node, bump config_version, build a fresh
 * config as "pvecm create" does) work on the generic tree.
 *
 * Nothing here logs; no global state.  All functions may be called from
 * any context (no I/O except corosync_conf_load()).
 */
#ifndef CORE_COROSYNC_CONF_H
#define CORE_COROSYNC_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

#define COROSYNC_CONF_LINE_MAX     512 /* corosync's fgets() buffer, NUL included */
#define COROSYNC_CONF_PATH_MAX     256 /* ICMAP_KEYNAME_MAXLEN: dotted key path, NUL included */
#define COROSYNC_CONF_LINKS        8   /* knet links 0..7 (ring0_addr..ring7_addr) */
#define COROSYNC_CONF_ERR_MAX      512 /* a buffer of this size holds every message */
#define COROSYNC_CONF_FILE_MAX     (1024 * 1024)
#define COROSYNC_CONF_DEFAULT_PORT 5405

/* corosync_conf_parse() flag: also apply the value checks corosync's
 * parser callback makes (integer ranges of the typed keys, ip_version,
 * crypto_cipher, crypto_hash, interface linknumber <= 7), in file order,
 * so the first error is the one corosync would report. */
#define COROSYNC_CONF_CHECK_VALUES 0x1u

struct corosync_conf_item {
	char *name;                        /* key or section name, never empty */
	char *value;                       /* NULL for a section */
	unsigned line;                     /* source line; 0 when made by code */
	unsigned end_line;                 /* sections: line of the closing '}' */
	struct corosync_conf_item *parent; /* NULL only for the root */
	struct corosync_conf_item *child;  /* first child, in file order */
	struct corosync_conf_item *last;   /* last child */
	struct corosync_conf_item *next;   /* next sibling */
};

struct corosync_conf {
	struct corosync_conf_item root; /* the unnamed top level */
	char *fname;                    /* for messages; owned */
};

/* An empty configuration; fname (may be NULL) names it in messages. */
struct corosync_conf *corosync_conf_new(const char *fname);
void corosync_conf_free(struct corosync_conf *c); /* accepts NULL */

/* Parse len bytes of text (NUL bytes are handled as corosync's fgets()
 * loop does).  On success *out is a new tree (free it with
 * corosync_conf_free()) and 0 is returned.  On a syntax error (or a value
 * error with COROSYNC_CONF_CHECK_VALUES) returns -EINVAL with the message
 * "<fname>:<line>: <reason>" in err (truncated to errlen; err may be NULL
 * when errlen is 0).  Reasons, as corosync spells them:
 *   Line too long
 *   Missing section name before opening bracket '{'
 *   Extra characters after opening bracket '{'
 *   Start of section makes total cmap path too long
 *   Key name can't be empty
 *   New key makes total cmap path too long
 *   Extra characters before or after closing bracket '}'
 *   Unexpected closing brace
 *   Line is not opening or closing section or key value
 *   Missing closing brace
 * and with COROSYNC_CONF_CHECK_VALUES also
 *   Value of key "<path>" is expected to be integer in range (<min>..<max>), but "<v>" was given
 *   Value of key "<path>" is expected to be unsigned integer, but "<v>" was given
 *   Invalid ip_version type
 *   Invalid cipher type. Should be none, aes256, aes192 or aes128
 *   Invalid hash type. Should be none, md5, sha1, sha256, sha384 or sha512
 *   parse error in config: interface ring number <n> is bigger than allowed maximum 7
 * -EFBIG if len > COROSYNC_CONF_FILE_MAX. */
int corosync_conf_parse(const char *text, size_t len, const char *fname, unsigned flags,
                        struct corosync_conf **out, char *err, size_t errlen);

/* Read and parse a file.  A file that cannot be read gives its -errno and
 * "Can't read file <path>: <strerror>" in err. */
int corosync_conf_load(const char *path, unsigned flags, struct corosync_conf **out, char *err,
                       size_t errlen);

/* Append the canonical text (see above) to out. */
void corosync_conf_write(const struct corosync_conf *c, struct buf *out);

/* --- the generic tree ---------------------------------------------------
 * Returned items are owned by the tree: valid until they (or an ancestor)
 * are removed or the tree is freed. */

/* First child of sect named name (key or section), or NULL. */
struct corosync_conf_item *corosync_conf_find(const struct corosync_conf_item *sect,
                                              const char *name);
/* Value of a dotted path from the root ("totem.cluster_name"); sections
 * on the way are the first of their name.  NULL if absent or a section. */
const char *corosync_conf_get(const struct corosync_conf *c, const char *path);
/* Find the section name under parent, or append a new one. */
struct corosync_conf_item *corosync_conf_section(struct corosync_conf_item *parent,
                                                 const char *name);
/* Append a new section (array entries such as "node"). */
struct corosync_conf_item *corosync_conf_add_section(struct corosync_conf_item *parent,
                                                     const char *name);
/* Set key to value in sect: replaces the value of an existing key, else
 * appends the key.  Returns the key item. */
struct corosync_conf_item *corosync_conf_set(struct corosync_conf_item *sect, const char *key,
                                             const char *value);
/* Unlink it from its parent and free it with everything below it. */
void corosync_conf_remove(struct corosync_conf_item *it);

/* --- extracted settings ------------------------------------------------- */

enum cluster_transport {
	CLUSTER_TRANSPORT_KNET = 0, /* unicast; the V3 default */
	CLUSTER_TRANSPORT_UDP,      /* multicast */
	CLUSTER_TRANSPORT_UDPU,     /* unicast */
};

struct cluster_conf_node {
	const char *name;                      /* name, fallback ring0_addr; may be NULL */
	uint32_t nodeid;                       /* 0 when absent (and not generated) */
	uint32_t votes;                        /* quorum_votes, default 1 */
	const char *addr[COROSYNC_CONF_LINKS]; /* ringN_addr or NULL */
};

/* All strings point into the tree it was extracted from: valid while that
 * tree lives and is not changed.  Only nodes is allocated. */
struct cluster_conf {
	const char *cluster_name; /* NULL when absent */
	uint64_t config_version;  /* 0 when absent */
	enum cluster_transport transport;
	const char *ip_version;     /* as written, else the transport's default */
	char mcastaddr[48];         /* interface 0 mcastaddr, else derived (§1.6), else "" */
	uint32_t mcastport;         /* interface 0 mcastport, default 5405 */
	uint32_t token;             /* totem.token, default 3000 */
	uint32_t token_coefficient; /* default 650 */
	uint32_t token_effective;   /* token + (N-2)*coefficient when N > 2 */
	uint32_t token_retransmit;  /* effective values (spec §2.1) */
	uint32_t hold;
	uint32_t join;
	uint32_t consensus;
	bool secauth;                    /* crypto on: cipher != none */
	const char *crypto_cipher;       /* effective: none, aes256, ... */
	const char *crypto_hash;         /* effective: none, sha256, ... */
	const char *keyfile;             /* default /etc/corosync/authkey */
	const char *link_mode;           /* default passive */
	struct cluster_conf_node *nodes; /* nodelist order; owned */
	size_t n_nodes;
	const char *quorum_provider; /* NULL: no provider (always quorate) */
	uint32_t expected_votes;     /* quorum.expected_votes, else sum of votes */
	bool expected_votes_set;     /* quorum.expected_votes was given */
	uint32_t total_votes;        /* sum of the nodes' votes */
	bool two_node;
	bool wait_for_all; /* two_node implies it unless given as 0 */
};

/* Extract and validate.  0, or -EINVAL with corosync's message in err
 * (see spec/corosync.md §7; e.g. "Nodeid 2 appears twice in
 * corosync.conf", "parse error in config: This totem parser can only
 * parse version 2 configurations.").  The value checks of
 * COROSYNC_CONF_CHECK_VALUES are always applied first. */
int corosync_conf_cluster(const struct corosync_conf *c, struct cluster_conf *out, char *err,
                          size_t errlen);
void corosync_conf_cluster_free(struct cluster_conf *cc); /* frees nodes only */

/* The logging section the way corosync's logconfig reads it (its errors
 * make corosync exit with status 7, apart from the totem ones): to_syslog,
 * to_stderr, to_logfile must be yes/on/no/off ("parse error in config:
 * unknown value for <key>."), syslog_facility a syslog facility name
 * ("parse error in config: unknown syslog facility specified.").
 * 0 or -EINVAL with the message in err. */
int corosync_conf_check_logging(const struct corosync_conf *c, char *err, size_t errlen);

/* corosync's message when the local node is not in the nodelist */
#define COROSYNC_CONF_NO_LOCAL_MSG "parse error in config: No valid name found for local host"

/* The local node by host name: exact name (fallback ring0_addr), then the
 * host name with trailing domain labels removed one by one, then short
 * names on both sides.  NULL if none matches. */
const struct cluster_conf_node *corosync_conf_local_node(const struct cluster_conf *cc,
                                                         const char *hostname);
/* Node by nodeid, or NULL. */
const struct cluster_conf_node *corosync_conf_node_by_id(const struct cluster_conf *cc,
                                                         uint32_t nodeid);

/* corosync's multicast address for a cluster name (§1.6):
 * "239.192.<id >> 8>.<id % 255>" or "ff15::<id hex>". */
void corosync_conf_mcast_addr(const char *cluster_name, unsigned linknumber, bool ipv6, char *dst,
                              size_t size);

/* config_version read the way pmxcfs does (regex
 * config_version\s*:\s*(\d+), first match, strtoull): the version, or 0
 * when there is no match or it overflows (pmxcfs then refuses the file). */
uint64_t corosync_conf_scan_version(const char *text, size_t len);

/* --- editing (pvecm) ---------------------------------------------------- */

struct corosync_conf_create {
	const char *cluster_name;
	const char *node_name;
	uint32_t nodeid;                        /* 0: 1 */
	uint32_t votes;                         /* 0: 1 */
	const char *addr[COROSYNC_CONF_LINKS];  /* ringN_addr; a link per address */
	unsigned priority[COROSYNC_CONF_LINKS]; /* knet_link_priority, 0 = not written */
	int64_t token_coefficient;              /* < 0: not written */
};

/* A fresh configuration as PVE::Corosync::create_conf builds it:
 * totem { version 2, secauth on, cluster_name, config_version 0,
 * ip_version ipv4-6, link_mode passive, interface { linknumber N
 * [knet_link_priority P] } per given address (link 0 if none), [token_coefficient] },
 * nodelist { node { name, nodeid, quorum_votes, ringN_addr } },
 * quorum { provider: corosync_votequorum }, logging { debug: off,
 * to_syslog: yes }.  Write it after corosync_conf_bump_version() as
 * atomic_write_conf does (config_version 1).  NULL fields are not written. */
struct corosync_conf *corosync_conf_create(const struct corosync_conf_create *p);

/* Add a node entry to the nodelist (created if missing): name, nodeid
 * (0: the smallest positive id not used), quorum_votes (written only if
 * votes != 0, as pvecm addnode does), ringN_addr for the non-NULL
 * addresses.  *nodeid_out (may be NULL) gets the id.  Errors, with the
 * message in err:
 *   -EEXIST  "can't add existing node '<name>'"
 *            "corosync: address '<a>' already used on link ring<N>_addr by node '<k>'"
 *            "corosync: nodeid <id> already used by node '<k>'"
 *   -EINVAL  no name */
int corosync_conf_add_node(struct corosync_conf *c, const char *name, uint32_t nodeid,
                           uint32_t votes, const char *const addr[COROSYNC_CONF_LINKS],
                           uint32_t *nodeid_out, char *err, size_t errlen);

/* Remove the node whose name, ring0_addr or ring1_addr is who (pvecm
 * delnode).  -ENOENT "Node/IP: <who> is not a known host of the cluster." */
int corosync_conf_remove_node(struct corosync_conf *c, const char *who, char *err, size_t errlen);

/* totem.config_version + 1 (atomic_write_conf).  -EINVAL
 * "invalid corosync config: unable to read config version" when absent or
 * not a number.  *version (may be NULL) gets the new value. */
int corosync_conf_bump_version(struct corosync_conf *c, uint64_t *version, char *err,
                               size_t errlen);

#endif /* CORE_COROSYNC_CONF_H */
