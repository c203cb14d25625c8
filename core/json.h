/* core/json.h - a small JSON writer into a struct buf, and a strict,
 * bounded JSON reader (RFC 8259) for the join API.
 *
 * Writer.  Commas and key/value separators are placed by the writer; the
 * caller only says what comes next.  Strings are escaped as RFC 8259
 * requires ('"', '\\', control characters; \n \r \t \b \f by name, others
 * as \u00XX); bytes that are not valid UTF-8 are written as \ufffd, so the
 * output is always valid JSON in UTF-8.  Misuse (a value where a key is
 * due, closing what is not open, nesting deeper than JSON_DEPTH_MAX) is a
 * programmer error and asserts.
 *
 *	struct buf b = { 0 };
 *	struct json w;
 *
 *	json_init(&w, &b);
 *	json_obj_open(&w);
 *	json_key(&w, "data");
 *	json_obj_open(&w);
 *	json_kv_str(&w, "name", "node1");
 *	json_kv_int(&w, "nodeid", 1);
 *	json_obj_close(&w);
 *	json_obj_close(&w);         -> {"data":{"name":"node1","nodeid":1}}
 *
 * Reader.  json_parse() builds a read-only document of values from bytes
 * that must be exactly one JSON value with optional whitespace around it.
 * Rejected with -EBADMSG: anything RFC 8259 does not allow (comments,
 * trailing commas, single quotes, leading zeros, "+1", NaN, control
 * characters in strings, bad escapes, lone surrogates, invalid UTF-8),
 * "\u0000" (strings are handed out NUL-terminated), duplicate keys in one
 * object, nesting deeper than JSON_DEPTH_MAX.  Rejected with -E2BIG: input
 * longer than JSON_INPUT_MAX, more than JSON_VALUES_MAX values or an
 * object of more than JSON_MEMBERS_MAX members.
 * Numbers keep their text; json_get_i64() converts integers exactly.
 */
#ifndef CORE_JSON_H
#define CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

#define JSON_DEPTH_MAX   32                /* nested arrays/objects */
#define JSON_INPUT_MAX   (2 * 1024 * 1024) /* bytes given to json_parse() */
#define JSON_VALUES_MAX  (256 * 1024)      /* values in one document */
#define JSON_MEMBERS_MAX 4096 /* members of one object (duplicate keys are looked for) */

/* --- writer ----------------------------------------------------------- */

struct json {
	struct buf *out;                   /* borrowed; appended to */
	int depth;                         /* open containers */
	bool key_done;                     /* a key was written, its value is due */
	uint8_t first[JSON_DEPTH_MAX + 1]; /* nothing written yet at this level */
	uint8_t is_obj[JSON_DEPTH_MAX + 1];
};

void json_init(struct json *w, struct buf *out);
void json_obj_open(struct json *w);
void json_obj_close(struct json *w);
void json_arr_open(struct json *w);
void json_arr_close(struct json *w);
void json_key(struct json *w, const char *k); /* inside an object, before each value */
void json_str(struct json *w, const char *s);
void json_strn(struct json *w, const void *p, size_t n); /* bytes, may hold NUL (\u0000) */
void json_int(struct json *w, int64_t v);
void json_uint(struct json *w, uint64_t v);
void json_bool(struct json *w, bool v);
void json_null(struct json *w);
/* Insert already-encoded JSON text as one value (the caller vouches for it). */
void json_raw(struct json *w, const char *text);
/* key + value in one call */
void json_kv_str(struct json *w, const char *k, const char *v); /* v NULL writes null */
void json_kv_int(struct json *w, const char *k, int64_t v);
void json_kv_bool(struct json *w, const char *k, bool v);
/* true when every container opened has been closed */
bool json_is_complete(const struct json *w);

/* --- reader ----------------------------------------------------------- */

enum json_type {
	JSON_NULL = 1,
	JSON_BOOL,
	JSON_NUM,
	JSON_STR,
	JSON_ARR,
	JSON_OBJ,
};

struct json_doc; /* owns every value and string in it */
struct json_val; /* a value inside a document; opaque */

/* Parse n bytes at p.  0, -EBADMSG or -E2BIG; *out only set on success. */
int json_parse(const void *p, size_t n, struct json_doc **out);
void json_doc_free(struct json_doc *d); /* accepts NULL */

/* Lookups lend pointers valid until json_doc_free().  NULL when absent
 * or when v is NULL or of another type, so they chain:
 *	json_get_str(json_get(json_root(d), "data"), "fingerprint") */
const struct json_val *json_root(const struct json_doc *d);
enum json_type json_type(const struct json_val *v); /* 0 for NULL */
const struct json_val *json_get(const struct json_val *obj, const char *key);
size_t json_len(const struct json_val *v); /* members of an object/array, else 0 */
const struct json_val *json_at(const struct json_val *arr, size_t i); /* object: i-th member */
const char *json_key_of(const struct json_val *member); /* key of an object member, else NULL */
/* The decoded string (NUL-terminated UTF-8); its length in *len if len. */
const char *json_as_str(const struct json_val *v, size_t *len);
/* The text of a number as it appeared in the input. */
const char *json_num_text(const struct json_val *v);
/* Predicates: false when absent or of another type. */
bool json_as_bool(const struct json_val *v, bool *out);
bool json_as_i64(const struct json_val *v, int64_t *out); /* integers in range only */
/* shortcuts on an object member */
const char *json_get_str(const struct json_val *obj, const char *key);
bool json_get_i64(const struct json_val *obj, const char *key, int64_t *out);
bool json_get_bool(const struct json_val *obj, const char *key, bool *out);

#endif /* CORE_JSON_H */
