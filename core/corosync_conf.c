/* core/corosync_conf.c - corosync.conf parser (corosync's grammar), writer
 * (Proxmox's canonical form), settings extraction and editing helpers.
 *
 * The parser follows exec/coroparse.c:parse_section() step by step,
 * including its fgets() line reading (a NUL byte ends the line as strlen()
 * sees it; the rest of that chunk is lost, as in corosync) and its
 * whitespace rules: trailing ' '/'\t' are cut first, a line whose first
 * byte other than ' '/'\t' is '#' is a comment, names and values are
 * trimmed of ' ', '\t' and 0xA0.  The one deliberate difference: a key
 * that trims to nothing is always "Key name can't be empty" (corosync
 * reads one byte before its buffer there, see spec/corosync.md §1.1).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "core/corosync_conf.h"
#include "core/path.h"
#include "core/util.h"

#define DEFAULT_TOKEN             3000
#define DEFAULT_TOKEN_COEFFICIENT 650
#define DEFAULT_RETRANSMITS       4
#define DEFAULT_JOIN              50
#define DEFAULT_MERGE             200
#define DEFAULT_DOWNCHECK         1000
#define DEFAULT_MAX_NET_DELAY     50
#define DEFAULT_TOKEN_WARNING     75
#define HZ                        100
#define MINIMUM_TIMEOUT           ((1000 / HZ) * 3)
#define MINIMUM_TIMEOUT_HOLD      ((int)(MINIMUM_TIMEOUT * 0.8 - (1000 / HZ)))
#define KNET_NODEID_MAX           65536
#define PE                        "parse error in config: "

/* ---------------------------------------------------------------- tree */

static struct corosync_conf_item *item_new(struct corosync_conf_item *parent, const char *name,
                                           const char *value, unsigned line)
{
	struct corosync_conf_item *it = xcalloc(1, sizeof(*it));

	it->name = xstrdup(name);
	it->value = value ? xstrdup(value) : NULL;
	it->line = line;
	it->parent = parent;
	if (parent->last)
		parent->last->next = it;
	else
		parent->child = it;
	parent->last = it;
	return it;
}

static void item_free(struct corosync_conf_item *it)
{
	struct corosync_conf_item *c, *next;

	for (c = it->child; c; c = next) {
		next = c->next;
		item_free(c);
	}
	free(it->name);
	free(it->value);
	free(it);
}

struct corosync_conf *corosync_conf_new(const char *fname)
{
	struct corosync_conf *c = xcalloc(1, sizeof(*c));

	c->fname = xstrdup(fname ? fname : "corosync.conf");
	return c;
}

void corosync_conf_free(struct corosync_conf *c)
{
	struct corosync_conf_item *it, *next;

	if (!c)
		return;
	for (it = c->root.child; it; it = next) {
		next = it->next;
		item_free(it);
	}
	free(c->fname);
	free(c);
}

static bool is_section(const struct corosync_conf_item *it)
{
	return !it->value;
}

static struct corosync_conf_item *find_kind(const struct corosync_conf_item *sect, const char *name,
                                            bool section)
{
	struct corosync_conf_item *it;

	for (it = sect->child; it; it = it->next)
		if (is_section(it) == section && !strcmp(it->name, name))
			return it;
	return NULL;
}

struct corosync_conf_item *corosync_conf_find(const struct corosync_conf_item *sect,
                                              const char *name)
{
	struct corosync_conf_item *it;

	for (it = sect->child; it; it = it->next)
		if (!strcmp(it->name, name))
			return it;
	return NULL;
}

/* value of key name directly in sect, or NULL */
static const char *sect_get(const struct corosync_conf_item *sect, const char *name)
{
	const struct corosync_conf_item *it = sect ? find_kind(sect, name, false) : NULL;

	return it ? it->value : NULL;
}

const char *corosync_conf_get(const struct corosync_conf *c, const char *path)
{
	const struct corosync_conf_item *sect = &c->root;
	char part[COROSYNC_CONF_PATH_MAX];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		size_t n = (size_t)(dot - path);

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		sect = find_kind(sect, part, true);
		if (!sect)
			return NULL;
		path = dot + 1;
	}
	return sect_get(sect, path);
}

struct corosync_conf_item *corosync_conf_section(struct corosync_conf_item *parent,
                                                 const char *name)
{
	struct corosync_conf_item *s = find_kind(parent, name, true);

	return s ? s : item_new(parent, name, NULL, 0);
}

struct corosync_conf_item *corosync_conf_add_section(struct corosync_conf_item *parent,
                                                     const char *name)
{
	return item_new(parent, name, NULL, 0);
}

static struct corosync_conf_item *set_line(struct corosync_conf_item *sect, const char *key,
                                           const char *value, unsigned line)
{
	struct corosync_conf_item *it = find_kind(sect, key, false);

	if (!it)
		return item_new(sect, key, value, line);
	free(it->value);
	it->value = xstrdup(value);
	it->line = line;
	return it;
}

struct corosync_conf_item *corosync_conf_set(struct corosync_conf_item *sect, const char *key,
                                             const char *value)
{
	return set_line(sect, key, value, 0);
}

void corosync_conf_remove(struct corosync_conf_item *it)
{
	struct corosync_conf_item *p = it->parent, **pp, *prev = NULL;

	for (pp = &p->child; *pp != it; pp = &(*pp)->next)
		prev = *pp;
	*pp = it->next;
	if (p->last == it)
		p->last = prev;
	item_free(it);
}

/* ------------------------------------------------------- value checks */

static void fmt(char *dst, size_t size, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *dst, size_t size, const char *f, ...)
{
	va_list ap;

	if (!size)
		return;
	va_start(ap, f);
	vsnprintf(dst, size, f, ap);
	va_end(ap);
}

/* the parser path of a section, as corosync builds it: names joined by
 * '.', without node indexes */
static void sect_path(const struct corosync_conf_item *s, char *dst, size_t size)
{
	const struct corosync_conf_item *chain[COROSYNC_CONF_PATH_MAX];
	size_t n = 0, len = 0;

	dst[0] = '\0';
	for (; s && s->parent; s = s->parent)
		if (n < ARRAY_SIZE(chain))
			chain[n++] = s;
	while (n--) {
		size_t l = strlen(chain[n]->name);

		if (len + l + 2 > size)
			return;
		if (len)
			dst[len++] = '.';
		memcpy(dst + len, chain[n]->name, l + 1);
		len += l;
	}
}

static bool is_top(const struct corosync_conf_item *s, const char *name)
{
	return s && s->parent && !s->parent->parent && is_section(s) && !strcmp(s->name, name);
}

/* index of a nodelist node section among its "node" siblings */
static unsigned node_index(const struct corosync_conf_item *node)
{
	const struct corosync_conf_item *it;
	unsigned i = 0;

	for (it = node->parent->child; it && it != node; it = it->next)
		if (is_section(it) && !strcmp(it->name, "node"))
			i++;
	return i;
}

enum vtype { V_NONE, V_U8, V_U16, V_U32, V_I32, V_U64 };

struct typed_key {
	const char *sect; /* parser path of the section */
	const char *key;
	enum vtype type;
};

static const struct typed_key typed_keys[] = {
	{ "totem", "version", V_U32 },
	{ "totem", "nodeid", V_U32 },
	{ "totem", "threads", V_U32 },
	{ "totem", "token", V_U32 },
	{ "totem", "token_coefficient", V_U32 },
	{ "totem", "token_retransmit", V_U32 },
	{ "totem", "token_warning", V_U32 },
	{ "totem", "hold", V_U32 },
	{ "totem", "token_retransmits_before_loss_const", V_U32 },
	{ "totem", "join", V_U32 },
	{ "totem", "send_join", V_U32 },
	{ "totem", "consensus", V_U32 },
	{ "totem", "merge", V_U32 },
	{ "totem", "downcheck", V_U32 },
	{ "totem", "fail_recv_const", V_U32 },
	{ "totem", "seqno_unchanged_const", V_U32 },
	{ "totem", "rrp_token_expired_timeout", V_U32 },
	{ "totem", "rrp_problem_count_timeout", V_U32 },
	{ "totem", "rrp_problem_count_threshold", V_U32 },
	{ "totem", "rrp_problem_count_mcast_threshold", V_U32 },
	{ "totem", "rrp_autorecovery_check_timeout", V_U32 },
	{ "totem", "heartbeat_failures_allowed", V_U32 },
	{ "totem", "max_network_delay", V_U32 },
	{ "totem", "window_size", V_U32 },
	{ "totem", "max_messages", V_U32 },
	{ "totem", "miss_count_const", V_U32 },
	{ "totem", "knet_pmtud_interval", V_U32 },
	{ "totem", "knet_mtu", V_U32 },
	{ "totem", "knet_compression_threshold", V_U32 },
	{ "totem", "netmtu", V_U32 },
	{ "totem", "knet_compression_level", V_I32 },
	{ "totem", "config_version", V_U64 },
	{ "totem.interface", "linknumber", V_U8 },
	{ "totem.interface", "mcastport", V_U16 },
	{ "totem.interface", "ttl", V_U8 },
	{ "totem.interface", "knet_link_priority", V_U8 },
	{ "totem.interface", "knet_ping_interval", V_U32 },
	{ "totem.interface", "knet_ping_timeout", V_U32 },
	{ "totem.interface", "knet_ping_precision", V_U32 },
	{ "totem.interface", "knet_pong_count", V_U32 },
	{ "nodelist.node", "nodeid", V_U32 },
	{ "nodelist.node", "quorum_votes", V_U32 },
	{ "quorum", "expected_votes", V_U32 },
	{ "quorum", "votes", V_U32 },
	{ "quorum", "last_man_standing_window", V_U32 },
	{ "quorum", "leaving_timeout", V_U32 },
	{ "quorum", "two_node", V_U8 },
	{ "quorum", "expected_votes_tracking", V_U8 },
	{ "quorum", "allow_downscale", V_U8 },
	{ "quorum", "wait_for_all", V_U8 },
	{ "quorum", "auto_tie_breaker", V_U8 },
	{ "quorum", "last_man_standing", V_U8 },
	{ "quorum.device", "timeout", V_U32 },
	{ "quorum.device", "sync_timeout", V_U32 },
	{ "quorum.device", "votes", V_U32 },
	{ "quorum.device", "master_wins", V_U8 },
};

static void type_range(enum vtype t, long long *min, long long *max)
{
	*min = 0;
	switch (t) {
	case V_U8:
		*max = UINT8_MAX;
		break;
	case V_U16:
		*max = UINT16_MAX;
		break;
	case V_I32:
		*min = INT32_MIN;
		*max = INT32_MAX;
		break;
	default:
		*max = UINT32_MAX;
		break;
	}
}

/* safe_atoq() of coroparse.c: base 10 strtoll, whole string, in range */
static bool parse_typed(const char *s, enum vtype t, long long *out)
{
	long long v, min, max;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || end == s || *end)
		return false;
	type_range(t, &min, &max);
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* str_to_ull() of coroparse.c (strtoull: "-1" wraps, as in corosync) */
static bool parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* corosync's formated_err[384]: longer messages become this */
static void reason_fmt(char *dst, size_t size, const char *f, ...)
        __attribute__((format(printf, 3, 4)));
static void reason_fmt(char *dst, size_t size, const char *f, ...)
{
	char tmp[384];
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(tmp, sizeof(tmp), f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		fmt(dst, size, "Can't format parser error message");
	else
		fmt(dst, size, "%s", tmp);
}

/* The checks of coroparse.c:main_config_parser_cb for one key item.
 * false with the reason when the value is refused. */
static bool check_key(const struct corosync_conf_item *it, char *reason, size_t size)
{
	char sp[COROSYNC_CONF_PATH_MAX], kp[COROSYNC_CONF_PATH_MAX + 16];
	const char *v = it->value;
	long long min, max, n;
	uint64_t u;
	size_t i;

	sect_path(it->parent, sp, sizeof(sp));
	if (!strcmp(sp, "totem")) {
		if (!strcmp(it->name, "ip_version") && strcmp(v, "ipv4") && strcmp(v, "ipv6") &&
		    strcmp(v, "ipv6-4") && strcmp(v, "ipv4-6")) {
			fmt(reason, size, "Invalid ip_version type");
			return false;
		}
		if (!strcmp(it->name, "crypto_cipher") && strcmp(v, "none") &&
		    strcmp(v, "aes256") && strcmp(v, "aes192") && strcmp(v, "aes128")) {
			fmt(reason, size,
			    "Invalid cipher type. Should be none, aes256, aes192 or aes128");
			return false;
		}
		if (!strcmp(it->name, "crypto_hash") && strcmp(v, "none") && strcmp(v, "md5") &&
		    strcmp(v, "sha1") && strcmp(v, "sha256") && strcmp(v, "sha384") &&
		    strcmp(v, "sha512")) {
			fmt(reason, size,
			    "Invalid hash type. Should be none, md5, sha1, sha256, sha384 or sha512");
			return false;
		}
	}
	for (i = 0; i < ARRAY_SIZE(typed_keys); i++) {
		const struct typed_key *tk = &typed_keys[i];

		if (strcmp(tk->sect, sp) || strcmp(tk->key, it->name))
			continue;
		if (!strcmp(sp, "nodelist.node"))
			snprintf(kp, sizeof(kp), "nodelist.node.%u.%s", node_index(it->parent),
			         it->name);
		else
			snprintf(kp, sizeof(kp), "%s.%s", sp, it->name);
		if (tk->type == V_U64) {
			if (parse_u64(v, &u))
				return true;
			reason_fmt(
			        reason, size,
			        "Value of key \"%s\" is expected to be unsigned integer, but \"%s\" was given",
			        kp, v);
			return false;
		}
		if (parse_typed(v, tk->type, &n))
			return true;
		type_range(tk->type, &min, &max);
		reason_fmt(
		        reason, size,
		        "Value of key \"%s\" is expected to be integer in range (%lld..%lld), but \"%s\" was given",
		        kp, min, max, v);
		return false;
	}
	return true;
}

/* the check corosync makes when a totem.interface section closes */
static bool check_section_end(const struct corosync_conf_item *s, char *reason, size_t size)
{
	char sp[COROSYNC_CONF_PATH_MAX];
	const char *v;
	long long n;

	sect_path(s, sp, sizeof(sp));
	if (strcmp(sp, "totem.interface"))
		return true;
	v = sect_get(s, "linknumber");
	if (v && parse_typed(v, V_U8, &n) && n >= COROSYNC_CONF_LINKS) {
		fmt(reason, size, PE "interface ring number %lld is bigger than allowed maximum %d",
		    n, COROSYNC_CONF_LINKS - 1);
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------- parser */

struct parser {
	const char *p, *end; /* input not yet read */
	bool eof;            /* the last read hit the end (feof) */
	unsigned line;
	unsigned flags;
	char path[COROSYNC_CONF_PATH_MAX];
	struct corosync_conf *c;
	struct corosync_conf_item *cur; /* open section */
	char reason[COROSYNC_CONF_ERR_MAX];
};

/* fgets(line, COROSYNC_CONF_LINE_MAX, fp) over memory; false = NULL */
static bool read_line(struct parser *ps, char *line)
{
	size_t n = 0;

	if (ps->p == ps->end) {
		ps->eof = true;
		return false;
	}
	while (n < COROSYNC_CONF_LINE_MAX - 1) {
		char ch;

		if (ps->p == ps->end) {
			ps->eof = true;
			break;
		}
		ch = *ps->p++;
		line[n++] = ch;
		if (ch == '\n')
			break;
	}
	line[n] = '\0';
	return true;
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || (unsigned char)ch == 0xA0;
}

/* strchr_rs(): just past byte and the whitespace after it, or NULL */
static char *strchr_rs(char *s, int byte)
{
	char *p = strchr(s, byte);

	if (!p)
		return NULL;
	for (p++; is_ws(*p); p++)
		;
	return p;
}

/* remove_whitespace(): trim, and with colon_brace also trailing ':'/'{' */
static char *trim(char *s, bool colon_brace)
{
	char *end;

	while (is_ws(*s))
		s++;
	end = s + strlen(s);
	while (end > s && (is_ws(end[-1]) || (colon_brace && (end[-1] == ':' || end[-1] == '{'))))
		end--;
	*end = '\0';
	return s;
}

static bool is_array_section(const char *name)
{
	return !strcmp(name, "node") || !strcmp(name, "interface") ||
	       !strcmp(name, "logger_subsys");
}

static bool path_push(struct parser *ps, const char *name)
{
	size_t len = strlen(ps->path);

	if (len + strlen(name) + 1 >= COROSYNC_CONF_PATH_MAX)
		return false;
	if (len)
		ps->path[len++] = '.';
	strcpy(ps->path + len, name);
	return true;
}

/* leave section name: the path was "<parent>.<name>" or "<name>" (names
 * may contain dots, so cut by length) */
static void path_pop(struct parser *ps, const char *name)
{
	size_t len = strlen(ps->path), nl = strlen(name);

	ps->path[len > nl ? len - nl - 1 : 0] = '\0';
}

/* one line; false with ps->reason set on error */
static bool parse_line(struct parser *ps, char *line)
{
	size_t len = strlen(line);
	char *loc, *name, *rest;
	ssize_t i;

	if (len > 0) {
		if (line[len - 1] != '\n' && !ps->eof) {
			fmt(ps->reason, sizeof(ps->reason), "Line too long");
			return false;
		}
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
	}
	for (i = (ssize_t)len - 1; i >= 0 && (line[i] == ' ' || line[i] == '\t'); i--)
		line[i] = '\0';
	for (i = 0; line[i] == ' ' || line[i] == '\t'; i++)
		;
	if (!line[i] || line[i] == '#')
		return true;

	if ((loc = strchr_rs(line, '{'))) {
		struct corosync_conf_item *s;

		loc[-1] = '\0';
		name = trim(line, true);
		rest = trim(loc, false);
		if (!*name) {
			fmt(ps->reason, sizeof(ps->reason),
			    "Missing section name before opening bracket '{'");
			return false;
		}
		if (*rest) {
			fmt(ps->reason, sizeof(ps->reason),
			    "Extra characters after opening bracket '{'");
			return false;
		}
		if (!path_push(ps, name)) {
			fmt(ps->reason, sizeof(ps->reason),
			    "Start of section makes total cmap path too long");
			return false;
		}
		s = is_array_section(name) ? NULL : find_kind(ps->cur, name, true);
		if (!s)
			s = item_new(ps->cur, name, NULL, ps->line);
		ps->cur = s;
		return true;
	}

	if ((loc = strchr_rs(line, ':'))) {
		struct corosync_conf_item *it;

		loc[-1] = '\0';
		name = trim(line, true);
		rest = trim(loc, false);
		if (!*name) {
			fmt(ps->reason, sizeof(ps->reason), "Key name can't be empty");
			return false;
		}
		if (strlen(ps->path) + strlen(name) + 1 >= COROSYNC_CONF_PATH_MAX) {
			fmt(ps->reason, sizeof(ps->reason),
			    "New key makes total cmap path too long");
			return false;
		}
		it = set_line(ps->cur, name, rest, ps->line);
		if ((ps->flags & COROSYNC_CONF_CHECK_VALUES) &&
		    !check_key(it, ps->reason, sizeof(ps->reason)))
			return false;
		return true;
	}

	if (strchr(line, '}')) {
		if (strcmp(trim(line, false), "}")) {
			fmt(ps->reason, sizeof(ps->reason),
			    "Extra characters before or after closing bracket '}'");
			return false;
		}
		if (ps->cur == &ps->c->root) {
			fmt(ps->reason, sizeof(ps->reason), "Unexpected closing brace");
			return false;
		}
		ps->cur->end_line = ps->line;
		if ((ps->flags & COROSYNC_CONF_CHECK_VALUES) &&
		    !check_section_end(ps->cur, ps->reason, sizeof(ps->reason)))
			return false;
		path_pop(ps, ps->cur->name);
		ps->cur = ps->cur->parent;
		return true;
	}

	fmt(ps->reason, sizeof(ps->reason), "Line is not opening or closing section or key value");
	return false;
}

int corosync_conf_parse(const char *text, size_t len, const char *fname, unsigned flags,
                        struct corosync_conf **out, char *err, size_t errlen)
{
	char line[COROSYNC_CONF_LINE_MAX];
	struct parser ps = { 0 };

	*out = NULL;
	if (!fname)
		fname = "corosync.conf";
	if (len > COROSYNC_CONF_FILE_MAX) {
		fmt(err, errlen, "%s: file too large", fname);
		return -EFBIG;
	}
	ps.p = text;
	ps.end = text + len;
	ps.flags = flags;
	ps.c = corosync_conf_new(fname);
	ps.cur = &ps.c->root;
	while (read_line(&ps, line)) {
		ps.line++;
		if (!parse_line(&ps, line))
			goto out_err;
	}
	if (ps.cur != &ps.c->root) {
		fmt(ps.reason, sizeof(ps.reason), "Missing closing brace");
		goto out_err;
	}
	*out = ps.c;
	return 0;

out_err:
	fmt(err, errlen, "%s:%u: %s", fname, ps.line, ps.reason);
	corosync_conf_free(ps.c);
	return -EINVAL;
}

int corosync_conf_load(const char *path, unsigned flags, struct corosync_conf **out, char *err,
                       size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	*out = NULL;
	rc = path_read_file(path, COROSYNC_CONF_FILE_MAX, &text, &len);
	if (rc < 0) {
		fmt(err, errlen, "Can't read file %s: %s", path, cfs_strerror(rc));
		return rc;
	}
	rc = corosync_conf_parse(text, len, path, flags, out, err, errlen);
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- writer */

struct went {
	const struct corosync_conf_item *it;
	const char *key; /* sort key of a nodelist node / totem interface, else NULL */
	size_t idx;      /* file order */
};

static int went_cmp(const void *a, const void *b)
{
	const struct went *x = a, *y = b;
	int r = strcmp(x->it->name, y->it->name);

	if (r)
		return r;
	/* same name: plain entries in file order, then the keyed array
	 * entries by key (a total order, so qsort is well defined) */
	if (!x->key != !y->key)
		return x->key ? 1 : -1;
	if (x->key && (r = strcmp(x->key, y->key)))
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* the Perl hash key of a nodelist node / totem interface entry */
static const char *entry_key(const struct corosync_conf_item *it)
{
	const struct corosync_conf_item *parent = it->parent;
	const char *k = NULL;

	if (!is_section(it))
		return NULL;
	if (is_top(parent, "nodelist") && !strcmp(it->name, "node")) {
		k = sect_get(it, "name");
		if (!k)
			k = sect_get(it, "ring0_addr");
	} else if (is_top(parent, "totem") && !strcmp(it->name, "interface")) {
		k = sect_get(it, "linknumber");
		if (!k)
			k = sect_get(it, "ringnumber");
	} else {
		return NULL;
	}
	return k ? k : "";
}

static void write_sect(const struct corosync_conf_item *s, unsigned depth, struct buf *out)
{
	const struct corosync_conf_item *it;
	struct went *v;
	size_t n = 0, i;

	for (it = s->child; it; it = it->next)
		n++;
	if (!n)
		return;
	v = xcalloc(n, sizeof(*v));
	for (it = s->child, i = 0; it; it = it->next, i++) {
		v[i].it = it;
		v[i].key = entry_key(it);
		v[i].idx = i;
	}
	qsort(v, n, sizeof(*v), went_cmp);
	for (i = 0; i < n; i++) {
		it = v[i].it;
		/* several entries with one key: the last one wins */
		if (v[i].key && i + 1 < n && v[i + 1].key && !strcmp(it->name, v[i + 1].it->name) &&
		    !strcmp(v[i].key, v[i + 1].key))
			continue;
		if (!is_section(it)) {
			buf_printf(out, "%*s%s: %s\n", (int)(2 * depth), "", it->name, it->value);
			continue;
		}
		buf_printf(out, "%*s%s {\n", (int)(2 * depth), "", it->name);
		write_sect(it, depth + 1, out);
		buf_printf(out, "%*s}\n", (int)(2 * depth), "");
		if (!depth && strcmp(it->name, "node") && strcmp(it->name, "interface"))
			buf_put_str(out, "\n");
	}
	free(v);
}

void corosync_conf_write(const struct corosync_conf *c, struct buf *out)
{
	buf_reserve(out, 1);
	write_sect(&c->root, 0, out);
}

/* ------------------------------------------------------------- settings */

void corosync_conf_mcast_addr(const char *cluster_name, unsigned linknumber, bool ipv6, char *dst,
                              size_t size)
{
	uint32_t v = 0;
	uint16_t id;
	const char *p;

	/* int arithmetic of generate_cluster_id(), without the signed overflow */
	for (p = cluster_name; *p; p++)
		v = (v << 1) + (uint32_t)(int32_t)(signed char)*p;
	id = (uint16_t)((v & 0xFFFF) + linknumber);
	if (ipv6)
		fmt(dst, size, "ff15::%x", id);
	else
		fmt(dst, size, "239.192.%d.%d", id >> 8, id % 0xFF);
}

uint64_t corosync_conf_scan_version(const char *text, size_t len)
{
	static const char word[] = "config_version";
	const size_t wl = sizeof(word) - 1;
	size_t i, j;

	for (i = 0; i + wl <= len; i++) {
		uint64_t v = 0;
		bool over = false;

		if (memcmp(text + i, word, wl))
			continue;
		j = i + wl;
		while (j < len && strchr(" \t\n\v\f\r", text[j]) && text[j])
			j++;
		if (j >= len || text[j] != ':')
			continue;
		j++;
		while (j < len && strchr(" \t\n\v\f\r", text[j]) && text[j])
			j++;
		if (j >= len || !isdigit((unsigned char)text[j]))
			continue;
		for (; j < len && isdigit((unsigned char)text[j]); j++) {
			unsigned d = (unsigned)(text[j] - '0');

			if (v > (UINT64_MAX - d) / 10)
				over = true;
			v = v * 10 + d;
		}
		return over ? 0 : v;
	}
	return 0;
}

/* "<file>:<line>: <reason>" for an item read from a file, else the reason */
static void item_err(const struct corosync_conf *c, unsigned line, const char *reason, char *err,
                     size_t errlen)
{
	if (line)
		fmt(err, errlen, "%s:%u: %s", c->fname, line, reason);
	else
		fmt(err, errlen, "%s", reason);
}

/* the parser's value checks over the whole tree, in tree order */
static bool check_tree(const struct corosync_conf *c, const struct corosync_conf_item *s, char *err,
                       size_t errlen)
{
	char reason[COROSYNC_CONF_ERR_MAX];
	const struct corosync_conf_item *it;

	for (it = s->child; it; it = it->next) {
		if (!is_section(it)) {
			if (!check_key(it, reason, sizeof(reason))) {
				item_err(c, it->line, reason, err, errlen);
				return false;
			}
			continue;
		}
		if (!check_tree(c, it, err, errlen))
			return false;
		if (!check_section_end(it, reason, sizeof(reason))) {
			item_err(c, it->end_line, reason, err, errlen);
			return false;
		}
	}
	return true;
}

static uint32_t get_u32(const struct corosync_conf_item *s, const char *key, uint32_t dflt,
                        bool zero_is_default)
{
	const char *v = s ? sect_get(s, key) : NULL;
	long long n;

	if (!v || !parse_typed(v, V_U32, &n) || (zero_is_default && n == 0))
		return dflt;
	return (uint32_t)n;
}

/* ringN_addr: N, or -1 if the key is not of that form */
static int ring_key(const char *key)
{
	unsigned long n;
	char *end;

	if (strncmp(key, "ring", 4) || !isdigit((unsigned char)key[4]))
		return -1;
	n = strtoul(key + 4, &end, 10);
	if (strcmp(end, "_addr") || n > INT_MAX)
		return -1;
	return (int)n;
}

/* the nodeid UDP/UDPU derive from an IPv4 ring0_addr; 0 if not IPv4 */
static uint32_t generated_nodeid(const char *addr)
{
	struct in_addr a;

	if (!addr || inet_pton(AF_INET, addr, &a) != 1)
		return 0;
	return ntohl(a.s_addr);
}

static int read_nodes(const struct corosync_conf *c, struct cluster_conf *cc, char *err,
                      size_t errlen)
{
	const struct corosync_conf_item *nl = find_kind(&c->root, "nodelist", true), *it, *k;
	size_t n = 0;

	if (!nl)
		return 0;
	for (it = nl->child; it; it = it->next)
		if (is_section(it) && !strcmp(it->name, "node"))
			n++;
	cc->nodes = xcalloc(n ? n : 1, sizeof(*cc->nodes));
	for (it = nl->child; it; it = it->next) {
		struct cluster_conf_node *nd;

		if (!is_section(it) || strcmp(it->name, "node"))
			continue;
		nd = &cc->nodes[cc->n_nodes++];
		nd->votes = get_u32(it, "quorum_votes", 1, false);
		nd->nodeid = get_u32(it, "nodeid", 0, false);
		for (k = it->child; k; k = k->next) {
			int r;

			if (is_section(k) || (r = ring_key(k->name)) < 0)
				continue;
			if (r >= COROSYNC_CONF_LINKS) {
				fmt(err, errlen,
				    PE "interface ring number %d is bigger than allowed maximum %d",
				    r, COROSYNC_CONF_LINKS - 1);
				return -EINVAL;
			}
			nd->addr[r] = k->value;
		}
		nd->name = sect_get(it, "name");
		if (!nd->name)
			nd->name = nd->addr[0];
	}
	return 0;
}

static int check_nodes(struct cluster_conf *cc, char *err, size_t errlen)
{
	size_t i, j;
	int l;

	for (i = 0; i < cc->n_nodes; i++) {
		struct cluster_conf_node *nd = &cc->nodes[i];
		const char *a = NULL;

		for (l = 0; l < COROSYNC_CONF_LINKS && !a; l++)
			a = nd->addr[l];
		if (!a)
			continue;
		if (cc->transport == CLUSTER_TRANSPORT_KNET) {
			if (!nd->nodeid) {
				fmt(err, errlen,
				    "Knet requires an explicit nodeid to be specified for address '%s'.",
				    a);
				return -EINVAL;
			}
			if (nd->nodeid >= KNET_NODEID_MAX) {
				fmt(err, errlen,
				    "Knet requires nodeid to be less than %d for address '%s'.",
				    KNET_NODEID_MAX, a);
				return -EINVAL;
			}
		} else if (!nd->nodeid) {
			nd->nodeid = generated_nodeid(nd->addr[0]);
			if (!nd->nodeid) {
				fmt(err, errlen,
				    "An IPV6 network requires that a node ID be specified for address '%s'.",
				    a);
				return -EINVAL;
			}
		}
	}
	for (i = 1; i < cc->n_nodes; i++) {
		for (j = 0; j < i; j++) {
			if (!cc->nodes[i].nodeid || cc->nodes[i].nodeid != cc->nodes[j].nodeid)
				continue;
			fmt(err, errlen, "Nodeid %" PRIu32 " appears twice in corosync.conf",
			    cc->nodes[i].nodeid);
			return -EINVAL;
		}
	}
	return 0;
}

static int read_totem(const struct corosync_conf *c, struct cluster_conf *cc, char *err,
                      size_t errlen)
{
	const struct corosync_conf_item *t = find_kind(&c->root, "totem", true), *it;
	const struct corosync_conf_item *if0 = NULL;
	const char *v, *cipher = "none", *hash = "none", *bind = NULL;
	uint32_t rbl, members = 0, ntimeout;
	bool any_if = false;
	size_t i;

	v = sect_get(t, "transport");
	if (!v || !strcmp(v, "knet")) {
		cc->transport = CLUSTER_TRANSPORT_KNET;
	} else if (!strcmp(v, "udp")) {
		cc->transport = CLUSTER_TRANSPORT_UDP;
	} else if (!strcmp(v, "udpu")) {
		cc->transport = CLUSTER_TRANSPORT_UDPU;
	} else {
		fmt(err, errlen, "Invalid transport type. Should be udpu, udp or knet");
		return -EINVAL;
	}
	if (get_u32(t, "version", 0, false) != 2) {
		fmt(err, errlen, PE "This totem parser can only parse version 2 configurations.");
		return -EINVAL;
	}
	cc->cluster_name = sect_get(t, "cluster_name");
	v = sect_get(t, "config_version");
	if (v)
		parse_u64(v, &cc->config_version);
	cc->ip_version = sect_get(t, "ip_version");
	if (!cc->ip_version)
		cc->ip_version = cc->transport == CLUSTER_TRANSPORT_UDP ? "ipv4" : "ipv6-4";

	/* crypto (totem_get_crypto, V3: only "on" enables) */
	v = sect_get(t, "secauth");
	if (v && !strcmp(v, "on")) {
		cipher = "aes256";
		hash = "sha256";
	}
	if ((v = sect_get(t, "crypto_cipher")))
		cipher = v;
	if ((v = sect_get(t, "crypto_hash")))
		hash = v;
	if (strcmp(cipher, "none") && !strcmp(hash, "none")) {
		fmt(err, errlen, "crypto_cipher requires crypto_hash with value other than none");
		return -EINVAL;
	}
	/* corosync 3 refuses crypto settings with udp/udpu ("only valid for
	 * the Knet transport"); cfsbox's transport encrypts and authenticates
	 * every packet whatever the transport, so multicast with secauth, the
	 * corosync 2 setup of the lecture, is accepted. */
	cc->crypto_cipher = cipher;
	cc->crypto_hash = hash;
	cc->secauth = strcmp(cipher, "none") != 0;
	cc->keyfile = sect_get(t, "keyfile");
	if (!cc->keyfile)
		cc->keyfile = "/etc/corosync/authkey";

	cc->link_mode = sect_get(t, "link_mode");
	if (!cc->link_mode) {
		cc->link_mode = "passive";
	} else if (strcmp(cc->link_mode, "active") && strcmp(cc->link_mode, "passive") &&
	           strcmp(cc->link_mode, "rr")) {
		fmt(err, errlen,
		    PE
		    "The Knet link mode \"%s\" specified is invalid.  It must be active, passive or rr.",
		    cc->link_mode);
		return -EINVAL;
	}

	/* interfaces */
	for (it = t ? t->child : NULL; it; it = it->next) {
		unsigned link;
		const char *ttl;

		if (!is_section(it) || strcmp(it->name, "interface"))
			continue;
		any_if = true;
		link = get_u32(it, "linknumber", 0, false); /* V3: ringnumber is not read */
		if (link == 0 && !if0)
			if0 = it;
		ttl = sect_get(it, "ttl");
		if (ttl && strcmp(ttl, "1") && cc->transport != CLUSTER_TRANSPORT_UDP) {
			fmt(err, errlen,
			    PE "Can only set ttl on multicast transport types for interface %u",
			    link);
			return -EINVAL;
		}
	}
	for (i = 0; i < cc->n_nodes; i++)
		if (cc->nodes[i].addr[0])
			members++;
	if (!any_if && !cc->n_nodes) {
		fmt(err, errlen, PE "No interfaces defined");
		return -EINVAL;
	}

	cc->mcastport = get_u32(if0, "mcastport", COROSYNC_CONF_DEFAULT_PORT, false);
	v = if0 ? sect_get(if0, "mcastaddr") : NULL;
	bind = if0 ? sect_get(if0, "bindnetaddr") : NULL;
	if (!bind && cc->n_nodes)
		bind = cc->nodes[0].addr[0];
	if (v)
		fmt(cc->mcastaddr, sizeof(cc->mcastaddr), "%s", v);
	else if (cc->cluster_name)
		corosync_conf_mcast_addr(cc->cluster_name, 0, bind && strchr(bind, ':'),
		                         cc->mcastaddr, sizeof(cc->mcastaddr));
	else if (cc->transport == CLUSTER_TRANSPORT_UDP) {
		fmt(err, errlen, PE "No multicast address specified for interface 0");
		return -EINVAL;
	}

	/* timing (totem_volatile_config_read / _validate) */
	cc->token = get_u32(t, "token", DEFAULT_TOKEN, true);
	cc->token_coefficient = get_u32(t, "token_coefficient", DEFAULT_TOKEN_COEFFICIENT, false);
	cc->token_effective = cc->token;
	if (members > 2)
		cc->token_effective += (members - 2) * cc->token_coefficient;
	rbl = get_u32(t, "token_retransmits_before_loss_const", DEFAULT_RETRANSMITS, true);
	ntimeout = get_u32(t, "max_network_delay", DEFAULT_MAX_NET_DELAY, true);
	cc->token_retransmit = get_u32(t, "token_retransmit",
	                               (uint32_t)(int)(cc->token_effective / (rbl + 0.2)), true);
	cc->hold =
	        get_u32(t, "hold", (uint32_t)(int)(cc->token_retransmit * 0.8 - (1000 / HZ)), true);
	cc->join = get_u32(t, "join", DEFAULT_JOIN, true);
	cc->consensus =
	        get_u32(t, "consensus", (uint32_t)(int)(float)(1.2 * cc->token_effective), true);
	if ((int)ntimeout < MINIMUM_TIMEOUT) {
		fmt(err, errlen,
		    PE "The max_network_delay parameter (%d ms) may not be less than (%d ms).",
		    (int)ntimeout, MINIMUM_TIMEOUT);
		return -EINVAL;
	}
	if ((int)cc->token_effective < MINIMUM_TIMEOUT) {
		fmt(err, errlen,
		    PE "The token timeout parameter (%d ms) may not be less than (%d ms).",
		    (int)cc->token_effective, MINIMUM_TIMEOUT);
		return -EINVAL;
	}
	if ((int)get_u32(t, "token_warning", DEFAULT_TOKEN_WARNING, false) > 100 ||
	    (int)get_u32(t, "token_warning", DEFAULT_TOKEN_WARNING, false) < 0) {
		fmt(err, errlen,
		    PE "The token warning parameter (%d%%) must be between 0 (disabled) and 100.",
		    (int)get_u32(t, "token_warning", DEFAULT_TOKEN_WARNING, false));
		return -EINVAL;
	}
	if ((int)cc->token_retransmit < MINIMUM_TIMEOUT) {
		if (sect_get(t, "token_retransmit"))
			fmt(err, errlen,
			    PE
			    "The token retransmit timeout parameter (%d ms) may not be less than (%d ms).",
			    (int)cc->token_retransmit, MINIMUM_TIMEOUT);
		else
			fmt(err, errlen,
			    PE
			    "Not appropriate token or token_retransmits_before_loss_const value set");
		return -EINVAL;
	}
	if ((int)cc->hold < MINIMUM_TIMEOUT_HOLD) {
		fmt(err, errlen,
		    PE "The token hold timeout parameter (%d ms) may not be less than (%d ms).",
		    (int)cc->hold, MINIMUM_TIMEOUT_HOLD);
		return -EINVAL;
	}
	if ((int)cc->join < MINIMUM_TIMEOUT) {
		fmt(err, errlen,
		    PE "The join timeout parameter (%d ms) may not be less than (%d ms).",
		    (int)cc->join, MINIMUM_TIMEOUT);
		return -EINVAL;
	}
	if ((int)cc->consensus < MINIMUM_TIMEOUT) {
		fmt(err, errlen,
		    PE "The consensus timeout parameter (%d ms) may not be less than (%d ms).",
		    (int)cc->consensus, MINIMUM_TIMEOUT);
		return -EINVAL;
	}
	if ((int)cc->consensus < (int)cc->join) {
		fmt(err, errlen,
		    PE
		    "The consensus timeout parameter (%d ms) may not be less than join timeout (%d ms).",
		    (int)cc->consensus, (int)cc->join);
		return -EINVAL;
	}
	if ((int)get_u32(t, "merge", DEFAULT_MERGE, true) < MINIMUM_TIMEOUT) {
		fmt(err, errlen,
		    PE "The merge timeout parameter (%d ms) may not be less than (%d ms).",
		    (int)get_u32(t, "merge", DEFAULT_MERGE, true), MINIMUM_TIMEOUT);
		return -EINVAL;
	}
	if ((int)get_u32(t, "downcheck", DEFAULT_DOWNCHECK, true) < MINIMUM_TIMEOUT) {
		fmt(err, errlen,
		    PE "The downcheck timeout parameter (%d ms) may not be less than (%d ms).",
		    (int)get_u32(t, "downcheck", DEFAULT_DOWNCHECK, true), MINIMUM_TIMEOUT);
		return -EINVAL;
	}
	return 0;
}

/* multi-link rules of totem_volatile_config_validate */
static int check_links(struct cluster_conf *cc, char *err, size_t errlen)
{
	size_t count[COROSYNC_CONF_LINKS] = { 0 }, members = 0, i;
	int l, configured = 0;

	for (i = 0; i < cc->n_nodes; i++)
		for (l = 0; l < COROSYNC_CONF_LINKS; l++)
			if (cc->nodes[i].addr[l])
				count[l]++;
	for (l = 0; l < COROSYNC_CONF_LINKS; l++) {
		if (!count[l])
			continue;
		if (!configured++)
			members = count[l];
	}
	if (configured <= 1)
		return 0;
	for (i = 0; i < members && i < cc->n_nodes; i++) {
		const struct cluster_conf_node *nd = &cc->nodes[i];

		if (!nd->name || nd->name == nd->addr[0]) {
			/* name absent (the fallback is ring0_addr) */
			fmt(err, errlen,
			    PE
			    "for a multi-link configuration, all nodes must have a 'name' attribute");
			return -EINVAL;
		}
	}
	for (l = 0; l < COROSYNC_CONF_LINKS; l++) {
		if (count[l] && count[l] != members) {
			fmt(err, errlen, PE "Not all nodes have the same number of links");
			return -EINVAL;
		}
	}
	return 0;
}

static int read_quorum(const struct corosync_conf *c, struct cluster_conf *cc)
{
	const struct corosync_conf_item *q = find_kind(&c->root, "quorum", true);
	const char *v;
	long long n;
	size_t i;

	cc->total_votes = 0;
	for (i = 0; i < cc->n_nodes; i++)
		cc->total_votes += cc->nodes[i].votes;
	cc->quorum_provider = sect_get(q, "provider");
	v = sect_get(q, "expected_votes");
	cc->expected_votes_set = v && parse_typed(v, V_U32, &n);
	cc->expected_votes = cc->expected_votes_set ? (uint32_t)n : cc->total_votes;
	v = sect_get(q, "two_node");
	cc->two_node = v && parse_typed(v, V_U8, &n) && n;
	v = sect_get(q, "wait_for_all");
	if (v && parse_typed(v, V_U8, &n))
		cc->wait_for_all = n != 0;
	else
		cc->wait_for_all = cc->two_node;
	return 0;
}

int corosync_conf_cluster(const struct corosync_conf *c, struct cluster_conf *out, char *err,
                          size_t errlen)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!check_tree(c, &c->root, err, errlen))
		return -EINVAL;
	rc = read_nodes(c, out, err, errlen);
	if (!rc)
		rc = read_totem(c, out, err, errlen);
	if (!rc)
		rc = check_nodes(out, err, errlen);
	if (!rc)
		rc = check_links(out, err, errlen);
	if (!rc)
		rc = read_quorum(c, out);
	if (rc)
		corosync_conf_cluster_free(out);
	return rc;
}

void corosync_conf_cluster_free(struct cluster_conf *cc)
{
	if (!cc)
		return;
	free(cc->nodes);
	cc->nodes = NULL;
	cc->n_nodes = 0;
}

int corosync_conf_check_logging(const struct corosync_conf *c, char *err, size_t errlen)
{
	static const char *const dest[] = { "to_syslog", "to_stderr", "to_logfile" };
	/* the names qb_log_facility2int() knows */
	static const char *const fac[] = { "auth",   "authpriv", "cron",   "daemon", "ftp",
		                           "kern",   "lpr",      "mail",   "news",   "syslog",
		                           "user",   "uucp",     "local0", "local1", "local2",
		                           "local3", "local4",   "local5", "local6", "local7" };
	const struct corosync_conf_item *l = find_kind(&c->root, "logging", true);
	const char *v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dest); i++) {
		v = sect_get(l, dest[i]);
		if (v && strcmp(v, "yes") && strcmp(v, "on") && strcmp(v, "no") &&
		    strcmp(v, "off")) {
			fmt(err, errlen, PE "unknown value for %s.", dest[i]);
			return -EINVAL;
		}
	}
	v = sect_get(l, "syslog_facility");
	if (!v)
		return 0;
	for (i = 0; i < ARRAY_SIZE(fac); i++)
		if (!strcmp(v, fac[i]))
			return 0;
	fmt(err, errlen, PE "unknown syslog facility specified.");
	return -EINVAL;
}

static const struct cluster_conf_node *by_name(const struct cluster_conf *cc, const char *name,
                                               bool short_names)
{
	size_t i, nl = strcspn(name, ".");

	for (i = 0; i < cc->n_nodes; i++) {
		const char *n = cc->nodes[i].name;

		if (!n)
			continue;
		if (!short_names && !strcmp(n, name))
			return &cc->nodes[i];
		if (short_names && strcspn(n, ".") == nl && !strncmp(n, name, nl))
			return &cc->nodes[i];
	}
	return NULL;
}

const struct cluster_conf_node *corosync_conf_local_node(const struct cluster_conf *cc,
                                                         const char *hostname)
{
	const struct cluster_conf_node *nd;
	char h[256];
	char *dot;

	if (!hostname || !*hostname)
		return NULL;
	nd = by_name(cc, hostname, false);
	if (nd)
		return nd;
	fmt(h, sizeof(h), "%s", hostname);
	while ((dot = strrchr(h, '.'))) {
		*dot = '\0';
		nd = by_name(cc, h, false);
		if (nd)
			return nd;
	}
	return by_name(cc, hostname, true);
}

const struct cluster_conf_node *corosync_conf_node_by_id(const struct cluster_conf *cc,
                                                         uint32_t nodeid)
{
	size_t i;

	for (i = 0; i < cc->n_nodes; i++)
		if (cc->nodes[i].nodeid == nodeid)
			return &cc->nodes[i];
	return NULL;
}

/* ------------------------------------------------------------- editing */

struct corosync_conf *corosync_conf_create(const struct corosync_conf_create *p)
{
	struct corosync_conf *c = corosync_conf_new("corosync.conf");
	struct corosync_conf_item *t, *s, *nd;
	char num[32];
	bool any = false;
	int l;

	t = corosync_conf_add_section(&c->root, "totem");
	corosync_conf_set(t, "version", "2");
	corosync_conf_set(t, "secauth", "on");
	if (p->cluster_name)
		corosync_conf_set(t, "cluster_name", p->cluster_name);
	corosync_conf_set(t, "config_version", "0");
	corosync_conf_set(t, "ip_version", "ipv4-6");
	corosync_conf_set(t, "link_mode", "passive");
	for (l = 0; l < COROSYNC_CONF_LINKS; l++)
		any = any || p->addr[l];
	for (l = 0; l < COROSYNC_CONF_LINKS; l++) {
		/* one interface per given link; link 0 when none is given */
		if (any ? !p->addr[l] : l > 0)
			continue;
		s = corosync_conf_add_section(t, "interface");
		snprintf(num, sizeof(num), "%d", l);
		corosync_conf_set(s, "linknumber", num);
		if (p->priority[l]) {
			snprintf(num, sizeof(num), "%u", p->priority[l]);
			corosync_conf_set(s, "knet_link_priority", num);
		}
	}
	if (p->token_coefficient >= 0) {
		snprintf(num, sizeof(num), "%" PRId64, p->token_coefficient);
		corosync_conf_set(t, "token_coefficient", num);
	}

	s = corosync_conf_add_section(&c->root, "nodelist");
	nd = corosync_conf_add_section(s, "node");
	if (p->node_name)
		corosync_conf_set(nd, "name", p->node_name);
	snprintf(num, sizeof(num), "%" PRIu32, p->nodeid ? p->nodeid : 1);
	corosync_conf_set(nd, "nodeid", num);
	snprintf(num, sizeof(num), "%" PRIu32, p->votes ? p->votes : 1);
	corosync_conf_set(nd, "quorum_votes", num);
	for (l = 0; l < COROSYNC_CONF_LINKS; l++) {
		char key[24];

		if (!p->addr[l])
			continue;
		snprintf(key, sizeof(key), "ring%d_addr", l);
		corosync_conf_set(nd, key, p->addr[l]);
	}

	s = corosync_conf_add_section(&c->root, "quorum");
	corosync_conf_set(s, "provider", "corosync_votequorum");
	s = corosync_conf_add_section(&c->root, "logging");
	corosync_conf_set(s, "to_syslog", "yes");
	corosync_conf_set(s, "debug", "off");
	return c;
}

/* the nodelist's name (fallback ring0_addr) of a node section */
static const char *node_key(const struct corosync_conf_item *nd)
{
	const char *k = sect_get(nd, "name");

	return k ? k : sect_get(nd, "ring0_addr");
}

int corosync_conf_add_node(struct corosync_conf *c, const char *name, uint32_t nodeid,
                           uint32_t votes, const char *const addr[COROSYNC_CONF_LINKS],
                           uint32_t *nodeid_out, char *err, size_t errlen)
{
	struct corosync_conf_item *nl, *it, *nd;
	char num[32], key[24];
	int l;

	if (!name || !*name) {
		fmt(err, errlen, "missing node name");
		return -EINVAL;
	}
	nl = corosync_conf_section(&c->root, "nodelist");
	for (it = nl->child; it; it = it->next) {
		const char *k;
		long long id;

		if (!is_section(it) || strcmp(it->name, "node"))
			continue;
		k = node_key(it);
		if (k && !strcmp(k, name)) {
			fmt(err, errlen, "can't add existing node '%s'", name);
			return -EEXIST;
		}
		for (l = 0; addr && l < COROSYNC_CONF_LINKS; l++) {
			const char *a;

			snprintf(key, sizeof(key), "ring%d_addr", l);
			a = sect_get(it, key);
			if (!addr[l] || !a || strcmp(a, addr[l]))
				continue;
			fmt(err, errlen,
			    "corosync: address '%s' already used on link %s by node '%s'", addr[l],
			    key, k ? k : "");
			return -EEXIST;
		}
		if (nodeid && sect_get(it, "nodeid") &&
		    parse_typed(sect_get(it, "nodeid"), V_U32, &id) && id == nodeid) {
			fmt(err, errlen, "corosync: nodeid %" PRIu32 " already used by node '%s'",
			    nodeid, k ? k : "");
			return -EEXIST;
		}
	}
	if (!nodeid) {
		/* the smallest positive id not used */
		for (nodeid = 1;; nodeid++) {
			bool used = false;

			for (it = nl->child; it && !used; it = it->next) {
				long long id;
				const char *v;

				if (!is_section(it) || strcmp(it->name, "node"))
					continue;
				v = sect_get(it, "nodeid");
				used = v && parse_typed(v, V_U32, &id) && id == nodeid;
			}
			if (!used)
				break;
		}
	}
	nd = corosync_conf_add_section(nl, "node");
	corosync_conf_set(nd, "name", name);
	snprintf(num, sizeof(num), "%" PRIu32, nodeid);
	corosync_conf_set(nd, "nodeid", num);
	if (votes) {
		snprintf(num, sizeof(num), "%" PRIu32, votes);
		corosync_conf_set(nd, "quorum_votes", num);
	}
	for (l = 0; addr && l < COROSYNC_CONF_LINKS; l++) {
		if (!addr[l])
			continue;
		snprintf(key, sizeof(key), "ring%d_addr", l);
		corosync_conf_set(nd, key, addr[l]);
	}
	if (nodeid_out)
		*nodeid_out = nodeid;
	return 0;
}

int corosync_conf_remove_node(struct corosync_conf *c, const char *who, char *err, size_t errlen)
{
	struct corosync_conf_item *nl = find_kind(&c->root, "nodelist", true), *it;

	for (it = nl ? nl->child : NULL; it; it = it->next) {
		const char *n, *r0, *r1;

		if (!is_section(it) || strcmp(it->name, "node"))
			continue;
		n = sect_get(it, "name");
		r0 = sect_get(it, "ring0_addr");
		r1 = sect_get(it, "ring1_addr");
		if ((n && !strcmp(n, who)) || (r0 && !strcmp(r0, who)) ||
		    (r1 && !strcmp(r1, who))) {
			corosync_conf_remove(it);
			return 0;
		}
	}
	fmt(err, errlen, "Node/IP: %s is not a known host of the cluster.", who);
	return -ENOENT;
}

int corosync_conf_bump_version(struct corosync_conf *c, uint64_t *version, char *err, size_t errlen)
{
	struct corosync_conf_item *t = find_kind(&c->root, "totem", true), *it;
	char num[32];
	uint64_t v;

	it = t ? find_kind(t, "config_version", false) : NULL;
	if (!it || !parse_u64(it->value, &v) || it->value[0] == '-' || v == UINT64_MAX) {
		fmt(err, errlen, "invalid corosync config: unable to read config version");
		return -EINVAL;
	}
	v++;
	snprintf(num, sizeof(num), "%" PRIu64, v);
	free(it->value);
	it->value = xstrdup(num);
	if (version)
		*version = v;
	return 0;
}
