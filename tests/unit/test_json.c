/* tests/unit/test_json.c - core/json: writer escaping, strict reader, limits */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "tests/t.h"

/* the buffer as a C string (buf_printf keeps a NUL past len; buf_put may not) */
static const char *cstr(struct buf *b)
{
	buf_put_u8(b, 0);
	b->len--;
	return (const char *)b->p;
}

static void test_writer_shapes(void)
{
	struct buf b = { 0 };
	struct json w;

	json_init(&w, &b);
	T_ASSERT(!json_is_complete(&w));
	json_obj_open(&w);
	json_key(&w, "data");
	json_obj_open(&w);
	json_kv_str(&w, "name", "node1");
	json_kv_int(&w, "nodeid", 1);
	json_kv_int(&w, "neg", -9223372036854775807LL - 1);
	json_kv_bool(&w, "quorate", true);
	json_kv_str(&w, "none", NULL);
	json_key(&w, "list");
	json_arr_open(&w);
	json_int(&w, 1);
	json_uint(&w, UINT64_MAX);
	json_bool(&w, false);
	json_null(&w);
	json_arr_open(&w);
	json_arr_close(&w);
	json_obj_open(&w);
	json_obj_close(&w);
	json_raw(&w, "{\"x\":2}");
	json_arr_close(&w);
	json_obj_close(&w);
	json_obj_close(&w);
	T_ASSERT(json_is_complete(&w));
	T_EQ_STR(cstr(&b), "{\"data\":{\"name\":\"node1\",\"nodeid\":1,"
	                   "\"neg\":-9223372036854775808,\"quorate\":true,\"none\":null,"
	                   "\"list\":[1,18446744073709551615,false,null,[],{},{\"x\":2}]}}");
	buf_free(&b);
}

static void test_writer_escaping(void)
{
	struct buf b = { 0 };
	struct json w;
	/* quote, backslash, named controls, other controls, DEL, slash, UTF-8
	 * (2, 3 and 4 bytes), then invalid: lone continuation, overlong,
	 * surrogate, truncated sequence at the end */
	const char in[] = "\"\\\n\r\t\b\f\x01\x1f\x7f/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
	                  "\x80\xc0\xaf\xed\xa0\x80\xe2\x82";

	json_init(&w, &b);
	json_arr_open(&w);
	json_strn(&w, in, sizeof(in) - 1);
	json_strn(&w, "a\0b", 3);
	json_arr_close(&w);
	T_EQ_STR(cstr(&b),
	         "[\"\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\x7f/\xc3\xa9\xe2\x82\xac"
	         "\xf0\x9f\x98\x80\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
	         "\",\"a\\u0000b\"]");
	buf_free(&b);
}

static void test_round_trip(void)
{
	struct buf b = { 0 };
	struct json w;
	struct json_doc *d = NULL;
	const struct json_val *r, *a;
	const char *s;
	size_t len;
	int64_t i;
	bool bo;
	char all[256];
	int c;

	for (c = 1; c < 256; c++)
		all[c - 1] = (char)c;
	json_init(&w, &b);
	json_obj_open(&w);
	json_kv_str(&w, "corosync_conf", "totem {\n  cluster_name: \"x\"\n}\n");
	json_kv_str(&w, "k\"ey", "v\\al");
	json_key(&w, "bytes");
	json_strn(&w, all, 127); /* every ASCII byte */
	json_kv_int(&w, "min", INT64_MIN);
	json_kv_int(&w, "max", INT64_MAX);
	json_kv_bool(&w, "f", false);
	json_key(&w, "warnings");
	json_arr_open(&w);
	json_str(&w, "one");
	json_str(&w, "two");
	json_arr_close(&w);
	json_obj_close(&w);

	T_EQ_INT(json_parse(b.p, b.len, &d), 0);
	r = json_root(d);
	T_EQ_INT(json_type(r), JSON_OBJ);
	T_EQ_INT(json_len(r), 7);
	T_EQ_STR(json_get_str(r, "corosync_conf"), "totem {\n  cluster_name: \"x\"\n}\n");
	T_EQ_STR(json_get_str(r, "k\"ey"), "v\\al");
	s = json_as_str(json_get(r, "bytes"), &len);
	T_EQ_INT(len, 127);
	T_ASSERT(s && !memcmp(s, all, 127));
	T_ASSERT(json_get_i64(r, "min", &i) && i == INT64_MIN);
	T_ASSERT(json_get_i64(r, "max", &i) && i == INT64_MAX);
	T_ASSERT(json_get_bool(r, "f", &bo) && !bo);
	a = json_get(r, "warnings");
	T_EQ_INT(json_len(a), 2);
	T_EQ_STR(json_as_str(json_at(a, 1), NULL), "two");
	T_ASSERT(json_at(a, 2) == NULL);
	T_EQ_STR(json_key_of(json_at(r, 5)), "f");
	/* wrong types and absent keys are NULL/false, and chain */
	T_ASSERT(json_get_str(r, "min") == NULL);
	T_ASSERT(!json_get_i64(r, "corosync_conf", &i));
	T_ASSERT(!json_get_bool(r, "nope", &bo));
	T_ASSERT(json_get_str(json_get(r, "nope"), "x") == NULL);
	T_ASSERT(json_get(a, "x") == NULL);
	json_doc_free(d);
	buf_free(&b);
}

static int parse(const char *s)
{
	struct json_doc *d = NULL;
	int rc = json_parse(s, strlen(s), &d);

	T_ASSERT(rc == 0 ? d != NULL : d == NULL);
	json_doc_free(d);
	return rc;
}

static void test_reader_accepts(void)
{
	static const char *ok[] = {
		"0",
		"-0",
		"1.5e+10",
		"-12.25E-3",
		"true",
		"false",
		"null",
		"\"\"",
		" [ ] ",
		"{}",
		"\t\r\n{ \"a\" : [ 1 , { \"b\" : null } ] }\n",
		"\"\\u00e9\\ud83d\\ude00\\/\"",
		"\"\xc3\xa9\"",
		"[\"a\",\"a\"]",
		"{\"a\":1,\"b\":{\"a\":2}}",
	};
	struct json_doc *d;
	size_t i;
	const char *s;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (parse(ok[i]) != 0)
			t_fail(__FILE__, __LINE__, "refused: %s", ok[i]);
	}
	s = "\"\\u00e9\\ud83d\\ude00\\/\"";
	T_EQ_INT(json_parse(s, strlen(s), &d), 0);
	s = json_as_str(json_root(d), NULL);
	T_EQ_STR(s, "\xc3\xa9\xf0\x9f\x98\x80/");
	json_doc_free(d);
	T_EQ_INT(json_parse("1.5e+10", 7, &d), 0);
	T_EQ_STR(json_num_text(json_root(d)), "1.5e+10");
	json_doc_free(d);
}

static void test_reader_refuses(void)
{
	static const char *bad[] = {
		"",
		" ",
		"[",
		"]",
		"{",
		"[1,]",
		"{\"a\":1,}",
		"{,}",
		"[,1]",
		"{\"a\"}",
		"{\"a\":}",
		"{a:1}",
		"{'a':1}",
		"'a'",
		"01",
		"-",
		"+1",
		"1.",
		".5",
		"1e",
		"1e+",
		"0x10",
		"NaN",
		"Infinity",
		"tru",
		"nul",
		"nulll",
		"True",
		"[1 2]",
		"{\"a\":1 \"b\":2}",
		"1 2",
		"\"abc",
		"\"\\x\"",
		"\"\\u12\"",
		"\"\\u12G4\"",
		"\"\\u0000\"",
		"\"\\ud800\"",
		"\"\\udc00\"",
		"\"\\ud800\\u0041\"",
		"\"a\nb\"",
		"\"\x01\"",
		"\"\x80\"",
		"\"\xc0\xaf\"",
		"\"\xed\xa0\x80\"",
		"\"\xf5\x80\x80\x80\"",
		"\"\xe2\x82\"",
		"/* c */ 1",
		"1 // c",
		"{\"a\":1,\"a\":2}",
		"[1]x",
		"\xef\xbb\xbf[]",
	};
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = parse(bad[i]);
		if (rc != -EBADMSG)
			t_fail(__FILE__, __LINE__, "%s: rc %d, want -EBADMSG", bad[i], rc);
	}
	/* an embedded NUL byte in the input */
	{
		struct json_doc *d = NULL;

		T_EQ_INT(json_parse("[1]\0", 4, &d), -EBADMSG);
		T_EQ_INT(json_parse("\"a\0\"", 4, &d), -EBADMSG);
		T_ASSERT(d == NULL);
	}
}

static void test_reader_limits(void)
{
	struct buf b = { 0 };
	struct json_doc *d = NULL;
	int i;

	/* depth: JSON_DEPTH_MAX is accepted, one more is not */
	for (i = 0; i < JSON_DEPTH_MAX; i++)
		buf_put_u8(&b, '[');
	for (i = 0; i < JSON_DEPTH_MAX; i++)
		buf_put_u8(&b, ']');
	T_EQ_INT(json_parse(b.p, b.len, &d), 0);
	json_doc_free(d);
	buf_reset(&b);
	for (i = 0; i <= JSON_DEPTH_MAX; i++)
		buf_put_u8(&b, '[');
	for (i = 0; i <= JSON_DEPTH_MAX; i++)
		buf_put_u8(&b, ']');
	T_EQ_INT(json_parse(b.p, b.len, &d), -EBADMSG);
	/* deep nesting far over the limit does not recurse without bound */
	buf_reset(&b);
	for (i = 0; i < 100000; i++)
		buf_put_u8(&b, '[');
	T_EQ_INT(json_parse(b.p, b.len, &d), -EBADMSG);

	/* size */
	T_EQ_INT(json_parse(b.p, JSON_INPUT_MAX + 1, &d), -E2BIG);

	/* too many values */
	buf_reset(&b);
	buf_put_u8(&b, '[');
	for (i = 0; i < JSON_VALUES_MAX; i++)
		buf_put_str(&b, "0,");
	buf_put_str(&b, "0]");
	T_EQ_INT(json_parse(b.p, b.len, &d), -E2BIG);

	/* too many members in one object */
	buf_reset(&b);
	buf_put_u8(&b, '{');
	for (i = 0; i <= JSON_MEMBERS_MAX; i++)
		buf_printf(&b, "%s\"k%d\":0", i ? "," : "", i);
	buf_put_u8(&b, '}');
	d = NULL;
	T_EQ_INT(json_parse(b.p, b.len, &d), -E2BIG);
	T_ASSERT(d == NULL);
	buf_free(&b);
}

static void test_reader_truncation(void)
{
	const char *doc = "{\"a\":[1,-2.5e3,true,false,null,\"x\\u00e9\\n\"],\"b\":{\"c\":\"d\"}}";
	size_t n = strlen(doc), i;
	struct json_doc *d;
	char *copy;

	for (i = 0; i < n; i++) {
		copy = malloc(i + 1); /* exact size: ASan sees any read past i */
		memcpy(copy, doc, i);
		d = NULL;
		if (json_parse(copy, i, &d) != -EBADMSG)
			t_fail(__FILE__, __LINE__, "prefix of %zu bytes accepted", i);
		free(copy);
	}
	T_EQ_INT(json_parse(doc, n, &d), 0);
	json_doc_free(d);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_writer_shapes);
	T_RUN(test_writer_escaping);
	T_RUN(test_round_trip);
	T_RUN(test_reader_accepts);
	T_RUN(test_reader_refuses);
	T_RUN(test_reader_limits);
	T_RUN(test_reader_truncation);
	return t_done();
}
