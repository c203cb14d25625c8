/* tests/fuzz/fuzz_http.c - arbitrary bytes through the HTTP parsers of
 * net/http and the JSON reader of core/json that reads their bodies.
 * Must never crash, leak or read out of bounds, and results must obey the
 * documented contract (0/-EAGAIN/-EBADMSG/-E2BIG; on 0, used <= size).
 *
 * Input: byte 0 selects the parser (mod 3), the rest is the input:
 *	0  http_parse_request, every prefix length of a sample of cuts too,
 *	   then json_parse of the body
 *	1  http_parse_response (stream open and at its end), json_parse of
 *	   the body
 *	2  http_form_get with the keys the join API reads
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "net/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_req req;
static volatile size_t sink;

static void check(int rc)
{
	if (rc != 0 && rc != -EAGAIN && rc != -EBADMSG && rc != -E2BIG)
		abort();
}

static void body_json(const uint8_t *p, size_t n)
{
	struct json_doc *d = NULL;
	int rc = json_parse(p, n, &d);

	if (rc == 0) {
		const struct json_val *r = json_root(d);

		sink += json_len(r);
		if (json_get_str(r, "fingerprint"))
			sink++;
		json_doc_free(d);
	} else if (rc != -EBADMSG && rc != -E2BIG) {
		abort();
	}
}

static void request(const uint8_t *p, size_t n)
{
	size_t used = 0, cut;
	int rc = http_parse_request(p, n, &req, &used);

	check(rc);
	if (rc == 0) {
		if (used > n || req.body + req.content_length > p + n)
			abort();
		sink += strlen(req.path) + strlen(req.query) + (size_t)req.nheaders;
		body_json(req.body, req.content_length);
	}
	/* a few shorter views of the same bytes: a prefix of a complete
	 * request is never complete unless it still holds all of it */
	for (cut = n / 2; cut < n; cut += (n - cut + 1) / 2) {
		size_t u2;
		int r2 = http_parse_request(p, cut, &req, &u2);

		check(r2);
		if (r2 == 0 && (rc != 0 || u2 != used))
			abort();
	}
}

static void response(const uint8_t *p, size_t n)
{
	const uint8_t *body;
	size_t len;
	char reason[64];
	int status, rc, eof;

	for (eof = 0; eof < 2; eof++) {
		rc = http_parse_response(p, n, eof, &status, reason, sizeof(reason), &body, &len);
		check(rc);
		if (rc == 0) {
			if (status < 100 || status > 599 || body + len > p + n || body < p)
				abort();
			body_json(body, len);
		}
	}
}

static void form(const uint8_t *p, size_t n)
{
	static const char *keys[] = { "node", "x", "fingerprint", "" };
	char *s = malloc(n + 1), v[64];
	size_t i;

	memcpy(s, p, n);
	s[n] = 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int rc = http_form_get(s, keys[i], v, sizeof(v));

		if (rc == 0)
			sink += strlen(v);
		else if (rc != -ENOENT && rc != -EBADMSG && rc != -ENAMETOOLONG)
			abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* an exact copy, so that ASan sees any read past the end */
	copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		request(copy, size - 1);
		break;
	case 1:
		response(copy, size - 1);
		break;
	default:
		form(copy, size - 1);
	}
	free(copy);
	return 0;
}
