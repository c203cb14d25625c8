/* core/json.c - JSON writer and strict reader; see json.h.
 *
 * The reader builds the document in two arrays: values (struct json_val,
 * linked parent -> first child -> next sibling by index) and one arena of
 * decoded strings (keys, strings and number texts, each NUL-terminated).
 * Both grow with the input and are bounded by JSON_VALUES_MAX and the input
 * size, so a hostile input costs at most a few times its size.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"

/* ------------------------------------------------------------------ writer */

void json_init(struct json *w, struct buf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->first[0] = 1;
}

/* Called before every value: the comma, and the checks of the grammar. */
static void before_value(struct json *w)
{
	if (w->depth > 0 && w->is_obj[w->depth]) {
		assert(w->key_done); /* a value in an object needs its key first */
		w->key_done = false;
		return;
	}
	assert(w->depth > 0 || w->first[0]); /* one top-level value only */
	if (!w->first[w->depth])
		buf_put_u8(w->out, ',');
	w->first[w->depth] = 0;
}

/* Valid UTF-8 sequence at p (n bytes left)?  Returns its length or 0. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint32_t c;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0; /* overlong or out of range */
	if (c >= 0xd800 && c <= 0xdfff)
		return 0; /* surrogates are not characters */
	return len;
}

static void put_escaped(struct buf *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, len;

	buf_put_u8(b, '"');
	while (i < n) {
		uint8_t c = p[i];

		if (c == '"' || c == '\\') {
			buf_put_u8(b, '\\');
			buf_put_u8(b, c);
		} else if (c < 0x20) {
			buf_put_u8(b, '\\');
			switch (c) {
			case '\n':
				buf_put_u8(b, 'n');
				break;
			case '\r':
				buf_put_u8(b, 'r');
				break;
			case '\t':
				buf_put_u8(b, 't');
				break;
			case '\b':
				buf_put_u8(b, 'b');
				break;
			case '\f':
				buf_put_u8(b, 'f');
				break;
			default:
				buf_put(b, "u00", 3);
				buf_put_u8(b, hex[c >> 4]);
				buf_put_u8(b, hex[c & 15]);
			}
		} else if (c < 0x80) {
			buf_put_u8(b, c);
		} else if ((len = utf8_len(p + i, n - i)) != 0) {
			buf_put(b, p + i, len);
			i += len;
			continue;
		} else {
			buf_put(b, "\\ufffd", 6);
		}
		i++;
	}
	buf_put_u8(b, '"');
}

static void open_container(struct json *w, bool obj)
{
	before_value(w);
	assert(w->depth < JSON_DEPTH_MAX);
	w->depth++;
	w->first[w->depth] = 1;
	w->is_obj[w->depth] = obj;
	buf_put_u8(w->out, obj ? '{' : '[');
}

static void close_container(struct json *w, bool obj)
{
	assert(w->depth > 0 && w->is_obj[w->depth] == obj && !w->key_done);
	w->depth--;
	buf_put_u8(w->out, obj ? '}' : ']');
}

void json_obj_open(struct json *w)
{
	open_container(w, true);
}

void json_obj_close(struct json *w)
{
	close_container(w, true);
}

void json_arr_open(struct json *w)
{
	open_container(w, false);
}

void json_arr_close(struct json *w)
{
	close_container(w, false);
}

void json_key(struct json *w, const char *k)
{
	assert(w->depth > 0 && w->is_obj[w->depth] && !w->key_done);
	if (!w->first[w->depth])
		buf_put_u8(w->out, ',');
	w->first[w->depth] = 0;
	put_escaped(w->out, (const uint8_t *)k, strlen(k));
	buf_put_u8(w->out, ':');
	w->key_done = true;
}

void json_strn(struct json *w, const void *p, size_t n)
{
	before_value(w);
	put_escaped(w->out, p, n);
}

void json_str(struct json *w, const char *s)
{
	json_strn(w, s, strlen(s));
}

void json_int(struct json *w, int64_t v)
{
	before_value(w);
	buf_printf(w->out, "%" PRId64, v);
}

void json_uint(struct json *w, uint64_t v)
{
	before_value(w);
	buf_printf(w->out, "%" PRIu64, v);
}

void json_bool(struct json *w, bool v)
{
	before_value(w);
	buf_put_str(w->out, v ? "true" : "false");
}

void json_null(struct json *w)
{
	before_value(w);
	buf_put_str(w->out, "null");
}

void json_raw(struct json *w, const char *text)
{
	before_value(w);
	buf_put_str(w->out, text);
}

void json_kv_str(struct json *w, const char *k, const char *v)
{
	json_key(w, k);
	if (v)
		json_str(w, v);
	else
		json_null(w);
}

void json_kv_int(struct json *w, const char *k, int64_t v)
{
	json_key(w, k);
	json_int(w, v);
}

void json_kv_bool(struct json *w, const char *k, bool v)
{
	json_key(w, k);
	json_bool(w, v);
}

bool json_is_complete(const struct json *w)
{
	return w->depth == 0 && !w->first[0];
}

/* ------------------------------------------------------------------ reader */

#define NONE UINT32_MAX

struct json_val {
	uint8_t type;
	bool b;
	uint32_t key;   /* arena offset of the key (object members), or NONE */
	uint32_t str;   /* arena offset: string value or number text */
	uint32_t len;   /* string length; members of a container */
	uint32_t first; /* first child index, or NONE */
	uint32_t last;  /* last child index (while parsing), or NONE */
	uint32_t next;  /* next sibling index, or NONE */
	/* filled in once parsing is done and the arrays no longer move */
	const char *keyp;
	const char *strp;
	const struct json_val *firstp;
	const struct json_val *nextp;
};

struct json_doc {
	struct json_val *v;
	uint32_t nv;
	uint32_t capv;
	char *arena;
	size_t alen;
	size_t acap;
};

struct parser {
	const uint8_t *p;
	const uint8_t *end;
	struct json_doc *d;
	int err;
};

static uint32_t new_val(struct parser *ps, uint8_t type)
{
	struct json_doc *d = ps->d;
	struct json_val *v;

	if (d->nv >= JSON_VALUES_MAX) {
		ps->err = -E2BIG;
		return NONE;
	}
	if (d->nv == d->capv) {
		d->capv = d->capv ? d->capv * 2 : 16;
		d->v = xrealloc(d->v, d->capv * sizeof(*d->v));
	}
	v = &d->v[d->nv];
	memset(v, 0, sizeof(*v));
	v->type = type;
	v->key = v->str = NONE;
	v->first = v->last = v->next = NONE;
	return d->nv++;
}

static void arena_put(struct json_doc *d, const void *p, size_t n)
{
	if (d->alen + n > d->acap) {
		d->acap = MAX(d->acap * 2, d->alen + n + 64);
		d->arena = xrealloc(d->arena, d->acap);
	}
	memcpy(d->arena + d->alen, p, n);
	d->alen += n;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		uint8_t c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -EBADMSG;
	}
	*out = v;
	return 0;
}

static void put_utf8(struct json_doc *d, uint32_t c)
{
	uint8_t u[4];
	size_t n;

	if (c < 0x80) {
		u[0] = c, n = 1;
	} else if (c < 0x800) {
		u[0] = 0xc0 | c >> 6, u[1] = 0x80 | (c & 0x3f), n = 2;
	} else if (c < 0x10000) {
		u[0] = 0xe0 | c >> 12, u[1] = 0x80 | (c >> 6 & 0x3f), u[2] = 0x80 | (c & 0x3f);
		n = 3;
	} else {
		u[0] = 0xf0 | c >> 18, u[1] = 0x80 | (c >> 12 & 0x3f);
		u[2] = 0x80 | (c >> 6 & 0x3f), u[3] = 0x80 | (c & 0x3f);
		n = 4;
	}
	arena_put(d, u, n);
}

/* A string at ps->p (the opening quote); decoded into the arena.
 * *off = its arena offset, *len its length.  0 or -EBADMSG. */
static int parse_string(struct parser *ps, uint32_t *off, uint32_t *len)
{
	struct json_doc *d = ps->d;
	size_t start = d->alen;
	const uint8_t *p = ps->p + 1;
	uint32_t c, lo;
	size_t n;

	while (p < ps->end && *p != '"') {
		if (*p == '\\') {
			if (ps->end - p < 2)
				return -EBADMSG;
			switch (p[1]) {
			case '"':
				arena_put(d, "\"", 1);
				break;
			case '\\':
				arena_put(d, "\\", 1);
				break;
			case '/':
				arena_put(d, "/", 1);
				break;
			case 'b':
				arena_put(d, "\b", 1);
				break;
			case 'f':
				arena_put(d, "\f", 1);
				break;
			case 'n':
				arena_put(d, "\n", 1);
				break;
			case 'r':
				arena_put(d, "\r", 1);
				break;
			case 't':
				arena_put(d, "\t", 1);
				break;
			case 'u':
				if (ps->end - p < 6 || hex4(p + 2, &c))
					return -EBADMSG;
				p += 6;
				if (c == 0 || (c >= 0xdc00 && c <= 0xdfff))
					return -EBADMSG;
				if (c >= 0xd800 && c <= 0xdbff) {
					if (ps->end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
					    hex4(p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
						return -EBADMSG;
					p += 6;
					c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				}
				put_utf8(d, c);
				continue;
			default:
				return -EBADMSG;
			}
			p += 2;
		} else if (*p < 0x20) {
			return -EBADMSG;
		} else {
			n = utf8_len(p, ps->end - p);
			if (!n)
				return -EBADMSG;
			arena_put(d, p, n);
			p += n;
		}
	}
	if (p >= ps->end)
		return -EBADMSG;
	ps->p = p + 1;
	*off = start;
	*len = d->alen - start;
	arena_put(d, "", 1);
	return 0;
}

static int parse_number(struct parser *ps, uint32_t *off)
{
	const uint8_t *p = ps->p, *s = p;

	if (p < ps->end && *p == '-')
		p++;
	if (p >= ps->end)
		return -EBADMSG;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return -EBADMSG;
	}
	if (p < ps->end && *p == '.') {
		p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return -EBADMSG;
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return -EBADMSG;
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	*off = ps->d->alen;
	arena_put(ps->d, s, p - s);
	arena_put(ps->d, "", 1);
	ps->p = p;
	return 0;
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return false;
	ps->p += n;
	return true;
}

static void append_child(struct json_doc *d, uint32_t parent, uint32_t child)
{
	struct json_val *pv = &d->v[parent];

	if (pv->last == NONE)
		pv->first = child;
	else
		d->v[pv->last].next = child;
	pv->last = child;
	pv->len++;
}

static bool has_key(const struct json_doc *d, uint32_t obj, const char *k, uint32_t klen)
{
	uint32_t i;

	for (i = d->v[obj].first; i != NONE; i = d->v[i].next) {
		const char *s = d->arena + d->v[i].key;

		if (strlen(s) == klen && !memcmp(s, k, klen))
			return true;
	}
	return false;
}

static uint32_t parse_value(struct parser *ps, int depth);

static int parse_members(struct parser *ps, uint32_t idx, int depth, bool obj)
{
	uint32_t child, koff = NONE, klen;
	int rc;

	ps->p++; /* '{' or '[' */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
		ps->p++;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (obj) {
			if (ps->d->v[idx].len >= JSON_MEMBERS_MAX)
				return -E2BIG;
			if (ps->p >= ps->end || *ps->p != '"')
				return -EBADMSG;
			rc = parse_string(ps, &koff, &klen);
			if (rc)
				return rc;
			/* Keys are checked after parsing: the arena may move. */
			if (has_key(ps->d, idx, ps->d->arena + koff, klen))
				return -EBADMSG;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return -EBADMSG;
			ps->p++;
		}
		child = parse_value(ps, depth + 1);
		if (child == NONE)
			return ps->err;
		ps->d->v[child].key = koff;
		append_child(ps->d, idx, child);
		skip_ws(ps);
		if (ps->p >= ps->end)
			return -EBADMSG;
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p != (obj ? '}' : ']'))
			return -EBADMSG;
		ps->p++;
		return 0;
	}
}

/* One value at ps->p (after whitespace); its index or NONE with ps->err. */
static uint32_t parse_value(struct parser *ps, int depth)
{
	uint32_t idx = NONE, off, len;
	int rc = 0;

	skip_ws(ps);
	if (ps->p >= ps->end) {
		ps->err = -EBADMSG;
		return NONE;
	}
	switch (*ps->p) {
	case '{':
	case '[':
		if (depth >= JSON_DEPTH_MAX) {
			ps->err = -EBADMSG;
			return NONE;
		}
		idx = new_val(ps, *ps->p == '{' ? JSON_OBJ : JSON_ARR);
		if (idx == NONE)
			return NONE;
		rc = parse_members(ps, idx, depth, ps->d->v[idx].type == JSON_OBJ);
		break;
	case '"':
		idx = new_val(ps, JSON_STR);
		if (idx == NONE)
			return NONE;
		rc = parse_string(ps, &off, &len);
		if (!rc) {
			ps->d->v[idx].str = off;
			ps->d->v[idx].len = len;
		}
		break;
	case 't':
	case 'f':
	case 'n':
		idx = new_val(ps, *ps->p == 'n' ? JSON_NULL : JSON_BOOL);
		if (idx == NONE)
			return NONE;
		if (literal(ps, "true"))
			ps->d->v[idx].b = true;
		else if (!literal(ps, "false") && !literal(ps, "null"))
			rc = -EBADMSG;
		else if ((ps->p[-1] == 'l') != (ps->d->v[idx].type == JSON_NULL))
			rc = -EBADMSG; /* "null" where 'f' started, and so on */
		break;
	default:
		idx = new_val(ps, JSON_NUM);
		if (idx == NONE)
			return NONE;
		rc = parse_number(ps, &off);
		if (!rc)
			ps->d->v[idx].str = off;
	}
	if (rc) {
		ps->err = rc;
		return NONE;
	}
	return idx;
}

static void finish(struct json_doc *d)
{
	uint32_t i;

	for (i = 0; i < d->nv; i++) {
		struct json_val *v = &d->v[i];

		v->keyp = v->key == NONE ? NULL : d->arena + v->key;
		v->strp = v->str == NONE ? NULL : d->arena + v->str;
		v->firstp = v->first == NONE ? NULL : &d->v[v->first];
		v->nextp = v->next == NONE ? NULL : &d->v[v->next];
	}
}

void json_doc_free(struct json_doc *d)
{
	if (!d)
		return;
	free(d->v);
	free(d->arena);
	free(d);
}

int json_parse(const void *p, size_t n, struct json_doc **out)
{
	struct parser ps = { p, (const uint8_t *)p + n, NULL, 0 };
	uint32_t root;

	if (n > JSON_INPUT_MAX)
		return -E2BIG;
	ps.d = xcalloc(1, sizeof(*ps.d));
	root = parse_value(&ps, 0);
	if (root != NONE) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			ps.err = -EBADMSG;
	}
	if (ps.err) {
		json_doc_free(ps.d);
		return ps.err;
	}
	assert(root == 0);
	finish(ps.d);
	*out = ps.d;
	return 0;
}

const struct json_val *json_root(const struct json_doc *d)
{
	return d ? &d->v[0] : NULL;
}

enum json_type json_type(const struct json_val *v)
{
	return v ? (enum json_type)v->type : 0;
}

const struct json_val *json_get(const struct json_val *obj, const char *key)
{
	const struct json_val *c;

	if (!obj || obj->type != JSON_OBJ)
		return NULL;
	for (c = obj->firstp; c; c = c->nextp)
		if (!strcmp(c->keyp, key))
			return c;
	return NULL;
}

size_t json_len(const struct json_val *v)
{
	return v && (v->type == JSON_OBJ || v->type == JSON_ARR) ? v->len : 0;
}

const struct json_val *json_at(const struct json_val *arr, size_t i)
{
	const struct json_val *c;

	if (!arr || (arr->type != JSON_OBJ && arr->type != JSON_ARR) || i >= arr->len)
		return NULL;
	for (c = arr->firstp; i > 0; i--)
		c = c->nextp;
	return c;
}

const char *json_key_of(const struct json_val *member)
{
	return member ? member->keyp : NULL;
}

const char *json_as_str(const struct json_val *v, size_t *len)
{
	if (!v || v->type != JSON_STR)
		return NULL;
	if (len)
		*len = v->len;
	return v->strp;
}

const char *json_num_text(const struct json_val *v)
{
	return v && v->type == JSON_NUM ? v->strp : NULL;
}

bool json_as_bool(const struct json_val *v, bool *out)
{
	if (!v || v->type != JSON_BOOL)
		return false;
	*out = v->b;
	return true;
}

bool json_as_i64(const struct json_val *v, int64_t *out)
{
	const char *s = json_num_text(v);
	char *end;
	long long x;

	if (!s || strpbrk(s, ".eE"))
		return false;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = x;
	return true;
}

const char *json_get_str(const struct json_val *obj, const char *key)
{
	return json_as_str(json_get(obj, key), NULL);
}

bool json_get_i64(const struct json_val *obj, const char *key, int64_t *out)
{
	return json_as_i64(json_get(obj, key), out);
}

bool json_get_bool(const struct json_val *obj, const char *key, bool *out)
{
	return json_as_bool(json_get(obj, key), out);
}

#undef NONE
