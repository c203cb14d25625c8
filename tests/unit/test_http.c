/* tests/unit/test_http.c - net/http: strict request parsing (every malformed
 * form, truncation and bit flips at every offset), responses, form fields,
 * and the TLS client against the libev server in a forked child. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "core/cert.h"
#include "core/json.h"
#include "core/loop.h"
#include "core/tls.h"
#include "core/util.h"
#include "net/http.h"
#include "tests/t.h"

static int parse(const char *s, struct http_req *req, size_t *used)
{
	size_t n = strlen(s);
	uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees reads past n */
	int rc;

	memcpy(copy, s, n);
	rc = http_parse_request(copy, n, req, used);
	/* body points into the input: check it before it goes */
	if (rc == 0 && req->content_length)
		T_ASSERT(req->body >= copy && req->body + req->content_length <= copy + n);
	free(copy);
	return rc;
}

static struct http_req req; /* 8 KiB: not on the stack */

static void test_parse_valid(void)
{
	size_t used = 0;
	const char *get = "GET /api2/json/cluster/config/join?node=node1&x=%2F HTTP/1.1\r\n"
	                  "Host: 10.0.0.1:8006\r\n"
	                  "Accept:application/json  \r\n"
	                  "X-Empty:\r\n"
	                  "\r\n";
	const char *post = "POST /api2/json/cluster/config/nodes/node2 HTTP/1.0\r\n"
	                   "content-length: 13\r\n"
	                   "Content-Type: application/json\r\n"
	                   "\r\n"
	                   "{\"votes\":1}\r\nGET / HTTP/1.1\r\n\r\n";

	T_EQ_INT(parse(get, &req, &used), 0);
	T_EQ_INT(used, strlen(get));
	T_EQ_STR(req.method, "GET");
	T_EQ_STR(req.path, "/api2/json/cluster/config/join");
	T_EQ_STR(req.query, "node=node1&x=%2F");
	T_EQ_INT(req.minor, 1);
	T_EQ_INT(req.nheaders, 3);
	T_EQ_STR(http_req_header(&req, "host"), "10.0.0.1:8006");
	T_EQ_STR(http_req_header(&req, "ACCEPT"), "application/json");
	T_EQ_STR(http_req_header(&req, "x-empty"), "");
	T_ASSERT(http_req_header(&req, "Content-Length") == NULL);
	T_EQ_INT(req.content_length, 0);

	/* a body, and the bytes of a next request left over */
	T_EQ_INT(parse(post, &req, &used), 0);
	T_EQ_STR(req.method, "POST");
	T_EQ_STR(req.path, "/api2/json/cluster/config/nodes/node2");
	T_EQ_STR(req.query, "");
	T_EQ_INT(req.minor, 0);
	T_EQ_INT(req.content_length, 13);
	T_EQ_INT(used, strlen(post) - strlen("GET / HTTP/1.1\r\n\r\n"));
}

static void test_parse_malformed(void)
{
	static const char *bad[] = {
		"\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\n\r\n", /* leading empty line */
		"get / HTTP/1.1\r\n\r\n",     /* method case */
		"G3T / HTTP/1.1\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n", /* two spaces */
		"GET / HTTP/1.1 \r\n\r\n", /* trailing space */
		"GET /  HTTP/1.1\r\n\r\n",
		"GET\t/ HTTP/1.1\r\n\r\n",
		"GET HTTP/1.1\r\n\r\n",
		"GET x HTTP/1.1\r\n\r\n", /* not origin form */
		"GET http://a/ HTTP/1.1\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n",
		"GET / http/1.1\r\n\r\n",
		"GET / HTTP/1.10\r\n\r\n",
		"GET /\x7f HTTP/1.1\r\n\r\n",
		"GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\n\n", /* bare LF */
		"GET / HTTP/1.1\r\nHost: a\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", /* bare CR */
		"GET / HTTP/1.1\r\nHost a\r\n\r\n",     /* no colon */
		"GET / HTTP/1.1\r\n: a\r\n\r\n",        /* empty name */
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",   /* space before colon */
		"GET / HTTP/1.1\r\nHo(st: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", /* obs-fold */
		"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
		"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx",
		"POST / HTTP/1.1\r\nContent-Length: 1 1\r\n\r\nx",
		"POST / HTTP/1.1\r\nContent-Length: 0x1\r\n\r\nx",
		"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
		"POSTPOSTPOSTPOST / HTTP/1.1\r\n\r\n", /* method of 16 bytes */
	};
	size_t i, used;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = parse(bad[i], &req, &used);
		if (rc != -EBADMSG)
			t_fail(__FILE__, __LINE__, "#%zu: rc %d, want -EBADMSG", i, rc);
	}
	/* a NUL inside the head */
	{
		static const char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";

		T_EQ_INT(http_parse_request((const uint8_t *)nul, sizeof(nul) - 1, &req, &used),
		         -EBADMSG);
	}
	/* a bare LF is refused at once, without waiting for more bytes */
	T_EQ_INT(parse("GET / HTTP/1.1\n", &req, &used), -EBADMSG);
}

static void test_parse_limits(void)
{
	struct buf b = { 0 };
	size_t used;
	int i;

	/* head: exactly HTTP_HEAD_MAX is fine, one more byte is not */
	buf_put_str(&b, "GET / HTTP/1.1\r\nX: ");
	while (b.len < HTTP_HEAD_MAX - 4)
		buf_put_u8(&b, 'a');
	buf_put_str(&b, "\r\n\r\n");
	T_EQ_INT(b.len, HTTP_HEAD_MAX);
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), 0);
	b.len -= 4;
	buf_put_str(&b, "a\r\n\r\n");
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), -E2BIG);
	/* a head that never ends */
	b.len = HTTP_HEAD_MAX - 4;
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), -EAGAIN);
	buf_put_str(&b, "aaaa");
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), -E2BIG);

	/* headers: HTTP_HEADERS_MAX fine, one more too many */
	buf_reset(&b);
	buf_put_str(&b, "GET / HTTP/1.1\r\n");
	for (i = 0; i < HTTP_HEADERS_MAX; i++)
		buf_printf(&b, "X-%d: %d\r\n", i, i);
	buf_put_str(&b, "\r\n");
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), 0);
	T_EQ_INT(req.nheaders, HTTP_HEADERS_MAX);
	b.len -= 2;
	buf_put_str(&b, "X-Last: 1\r\n\r\n");
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), -E2BIG);

	/* body */
	buf_reset(&b);
	buf_printf(&b, "POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n", HTTP_BODY_MAX);
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), -EAGAIN);
	buf_reset(&b);
	buf_printf(&b, "POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n", HTTP_BODY_MAX + 1);
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), -E2BIG);
	buf_reset(&b);
	buf_put_str(&b, "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n");
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), -E2BIG);

	/* target */
	buf_reset(&b);
	buf_put_str(&b, "GET /");
	for (i = 1; i < HTTP_TARGET_MAX; i++)
		buf_put_u8(&b, 'a');
	buf_put_str(&b, " HTTP/1.1\r\n\r\n");
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), 0);
	buf_reset(&b);
	buf_put_str(&b, "GET /");
	for (i = 0; i < HTTP_TARGET_MAX; i++)
		buf_put_u8(&b, 'a');
	buf_put_str(&b, " HTTP/1.1\r\n\r\n");
	T_EQ_INT(http_parse_request(b.p, b.len, &req, &used), -E2BIG);
	buf_free(&b);
}

static void test_parse_truncation_and_flips(void)
{
	const char *full = "POST /api2/json/cluster/config/join HTTP/1.1\r\n"
	                   "Host: node1:8006\r\n"
	                   "Content-Type: application/json\r\n"
	                   "Content-Length: 27\r\n"
	                   "\r\n"
	                   "{\"fingerprint\":\"AB:CD\",\"x\":1}";
	size_t n = strlen(full), i, used;
	uint8_t *copy;
	int rc, bit;

	T_EQ_INT(n - (strstr(full, "\r\n\r\n") + 4 - full), 27 + 2);
	/* with the declared 27 bytes the request ends 2 bytes early */
	T_EQ_INT(parse(full, &req, &used), 0);
	T_EQ_INT(used, n - 2);
	for (i = 0; i < n - 2; i++) {
		copy = malloc(i ? i : 1);
		memcpy(copy, full, i);
		rc = http_parse_request(copy, i, &req, &used);
		if (rc != -EAGAIN)
			t_fail(__FILE__, __LINE__, "prefix %zu: rc %d", i, rc);
		free(copy);
	}
	/* every bit flipped: a defined result, never a crash or a read past n */
	copy = malloc(n);
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(copy, full, n);
			copy[i] ^= (uint8_t)(1 << bit);
			rc = http_parse_request(copy, n, &req, &used);
			if (rc != 0 && rc != -EAGAIN && rc != -EBADMSG && rc != -E2BIG)
				t_fail(__FILE__, __LINE__, "flip %zu.%d: rc %d", i, bit, rc);
			if (rc == 0)
				T_ASSERT(used <= n);
		}
	}
	free(copy);
}

static void test_form_get(void)
{
	char v[16];

	T_EQ_INT(http_form_get("node=node1&x=%2Fa+b&empty=&flag", "x", v, sizeof(v)), 0);
	T_EQ_STR(v, "/a b");
	T_EQ_INT(http_form_get("node=node1&x=1", "node", v, sizeof(v)), 0);
	T_EQ_STR(v, "node1");
	T_EQ_INT(http_form_get("node=node1&empty=&flag", "empty", v, sizeof(v)), 0);
	T_EQ_STR(v, "");
	T_EQ_INT(http_form_get("node=node1&empty=&flag", "flag", v, sizeof(v)), 0);
	T_EQ_STR(v, "");
	T_EQ_INT(http_form_get("n%6Fde=y", "node", v, sizeof(v)), 0);
	T_EQ_STR(v, "y");
	T_EQ_INT(http_form_get("node=node1", "nod", v, sizeof(v)), -ENOENT);
	T_EQ_INT(http_form_get("", "x", v, sizeof(v)), -ENOENT);
	T_EQ_INT(http_form_get("x=%2", "x", v, sizeof(v)), -EBADMSG);
	T_EQ_INT(http_form_get("x=%zz", "x", v, sizeof(v)), -EBADMSG);
	T_EQ_INT(http_form_get("x=a%00b", "x", v, sizeof(v)), -EBADMSG);
	T_EQ_INT(http_form_get("x=0123456789abcdef", "x", v, sizeof(v)), -ENAMETOOLONG);
	/* a body: only n bytes are looked at */
	T_EQ_INT(http_form_getn("a=1&node=n2&zzz", 12, "node", v, sizeof(v)), 0);
	T_EQ_STR(v, "n2");
	T_EQ_INT(http_form_getn("a=1&node=n2&zzz", 9, "node", v, sizeof(v)), 0);
	T_EQ_STR(v, "");
	T_EQ_INT(http_form_getn("a=1&node=n2&zzz", 12, "zzz", v, sizeof(v)), -ENOENT);
	T_EQ_INT(http_form_getn("a=1&", 4, "", v, sizeof(v)), -ENOENT);
}

static void test_responses(void)
{
	struct buf b = { 0 };
	const uint8_t *body;
	size_t body_len, i;
	char reason[128];
	int status;
	struct json_doc *d;
	const char *want = "HTTP/1.1 200 OK\r\n"
	                   "Content-Type: application/json;charset=UTF-8\r\n"
	                   "Content-Length: 20\r\n"
	                   "Cache-Control: max-age=0\r\n"
	                   "Connection: close\r\n"
	                   "\r\n"
	                   "{\"data\":{\"a\":\"b\\n\"}}";

	http_response_data(&b, "{\"a\":\"b\\n\"}");
	T_EQ_INT(b.len, strlen(want));
	T_ASSERT(!memcmp(b.p, want, b.len));
	T_EQ_INT(http_parse_response(b.p, b.len, false, &status, reason, sizeof(reason), &body,
	                             &body_len),
	         0);
	T_EQ_INT(status, 200);
	T_EQ_STR(reason, "OK");
	T_EQ_INT(body_len, 20);
	/* every prefix is incomplete, and an error once the stream ended */
	for (i = 0; i < b.len; i++) {
		T_EQ_INT(http_parse_response(b.p, i, false, &status, reason, sizeof(reason), &body,
		                             &body_len),
		         -EAGAIN);
		T_EQ_INT(http_parse_response(b.p, i, true, &status, reason, sizeof(reason), &body,
		                             &body_len),
		         -EBADMSG);
	}

	buf_reset(&b);
	http_response_error(&b, 424, "node is not in a cluster, no join info available!\n");
	T_EQ_INT(http_parse_response(b.p, b.len, false, &status, reason, sizeof(reason), &body,
	                             &body_len),
	         0);
	T_EQ_INT(status, 424);
	T_EQ_STR(reason, "node is not in a cluster, no join info available!");
	T_EQ_INT(json_parse(body, body_len, &d), 0);
	T_EQ_INT(json_type(json_get(json_root(d), "data")), JSON_NULL);
	T_EQ_STR(json_get_str(json_root(d), "message"),
	         "node is not in a cluster, no join info available!\n");
	json_doc_free(d);

	/* a message with line breaks stays one reason line */
	buf_reset(&b);
	http_response_error(&b, 500, "line one\r\nline two");
	T_EQ_INT(http_parse_response(b.p, b.len, false, &status, reason, sizeof(reason), &body,
	                             &body_len),
	         0);
	T_EQ_STR(reason, "line one  line two");

	/* without Content-Length the body runs to the end of the stream */
	T_EQ_INT(http_parse_response((const uint8_t *)"HTTP/1.0 200\r\n\r\nabc", 19, false, &status,
	                             reason, sizeof(reason), &body, &body_len),
	         -EAGAIN);
	T_EQ_INT(http_parse_response((const uint8_t *)"HTTP/1.0 200\r\n\r\nabc", 19, true, &status,
	                             reason, sizeof(reason), &body, &body_len),
	         0);
	T_EQ_INT(body_len, 3);
	T_EQ_STR(reason, "");
	T_EQ_INT(http_parse_response((const uint8_t *)"HTTP/1.1 99 x\r\n\r\n", 17, true, &status,
	                             reason, sizeof(reason), &body, &body_len),
	         -EBADMSG);
	T_EQ_INT(http_parse_response((const uint8_t *)"HTTP/1.1 2000 x\r\n\r\n", 19, true, &status,
	                             reason, sizeof(reason), &body, &body_len),
	         -EBADMSG);
	T_EQ_STR(http_reason(404), "Not Found");
	T_EQ_STR(http_reason(299), "");
	buf_free(&b);
}

/* --- the client against the libev server in a child process ----------- */

struct pki {
	struct buf ca;
	struct buf crt;
	struct buf key;
	char fp[CERT_FP_STRLEN];
};

static struct pki pki1, pki2;

static void pki_make(struct pki *k)
{
	struct cert_key *ca_key, *node_key;
	struct cert_node_req rq = { "node1", NULL, "127.0.0.1", 2, time(NULL) };

	T_EQ_INT(cert_key_new(&ca_key), 0);
	T_EQ_INT(cert_key_new(&node_key), 0);
	T_EQ_INT(cert_ca_create(ca_key, 1, time(NULL), &k->ca), 0);
	T_EQ_INT(cert_node_create(k->ca.p, k->ca.len, ca_key, node_key, &rq, &k->crt, NULL), 0);
	T_EQ_INT(cert_key_pem(node_key, &k->key), 0);
	T_EQ_INT(cert_fingerprint(k->crt.p, k->crt.len, k->fp), 0);
	cert_key_free(ca_key);
	cert_key_free(node_key);
}

struct server_ctx {
	struct ev_loop *loop;
	struct http_conn *held; /* a reply deferred to a timer */
	ev_timer later;
};

static void later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct server_ctx *x = container_of(w, struct server_ctx, later);
	struct buf b = { 0 };

	(void)loop;
	(void)revents;
	http_response_data(&b, "\"late\"");
	http_conn_reply(x->held, b.p, b.len);
	x->held = NULL;
	buf_free(&b);
}

/* The API the test talks to:
 *	GET  /echo?x=..     {"data":{"x":"<x>","peer":"..."}}
 *	POST /echo          {"data":<the JSON body>}, 400 if it does not parse
 *	GET  /late          answered 200 ms later from a timer
 *	GET  /hang          never answered (the handler keeps it; timeout)
 *	else                404 */
static void handler(void *ctx, struct http_conn *c, const struct http_req *r)
{
	struct server_ctx *x = ctx;
	struct buf b = { 0 }, d = { 0 };
	struct json_doc *doc;
	char v[64];

	if (!strcmp(r->path, "/echo") && !strcmp(r->method, "GET")) {
		struct json w;

		if (http_form_get(r->query, "x", v, sizeof(v)))
			v[0] = 0;
		json_init(&w, &d);
		json_obj_open(&w);
		json_kv_str(&w, "x", v);
		json_kv_str(&w, "peer", http_conn_peer(c));
		json_obj_close(&w);
		buf_put_u8(&d, 0);
		http_response_data(&b, (const char *)d.p);
	} else if (!strcmp(r->path, "/echo") && !strcmp(r->method, "POST")) {
		if (json_parse(r->body, r->content_length, &doc)) {
			http_response_error(&b, 400, "body is not JSON");
		} else {
			buf_put(&d, r->body, r->content_length);
			buf_put_u8(&d, 0);
			http_response_data(&b, (const char *)d.p);
			json_doc_free(doc);
		}
	} else if (!strcmp(r->path, "/late")) {
		x->held = c;
		ev_timer_init(&x->later, later_cb, 0.2, 0.);
		ev_timer_start(x->loop, &x->later);
		return;
	} else if (!strcmp(r->path, "/hang")) {
		x->held = c; /* replied to at exit */
		return;
	} else {
		http_response_error(&b, 404, "no such path");
	}
	http_conn_reply(c, b.p, b.len);
	buf_free(&b);
	buf_free(&d);
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void run_server(int lfd)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct server_ctx x = { loop, NULL, { 0 } };
	struct http_server *srv;
	struct tls_conf *conf;
	ev_signal sig;

	if (tls_conf_server_new(pki1.crt.p, pki1.crt.len, pki1.key.p, pki1.key.len, &conf))
		_exit(3);
	if (http_server_new(loop, lfd, conf, 1000, handler, &x, &srv))
		_exit(4);
	ev_signal_init(&sig, stop_cb, SIGTERM);
	ev_signal_start(loop, &sig);
	ev_run(loop, 0);
	if (x.held)
		http_conn_reply(x.held, "", 0);
	http_server_free(srv);
	tls_conf_free(conf);
	ev_loop_destroy(loop);
	close(lfd);
	_exit(0);
}

static int listen_lo(uint16_t *port)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	T_EQ_INT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	T_EQ_INT(listen(fd, 16), 0);
	T_EQ_INT(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_client_server(void)
{
	struct tls_conf *pinned, *wrong, *ca, *any;
	struct http_result res;
	struct json_doc *d;
	char msg[256];
	uint16_t port, dead_port;
	pid_t pid;
	int lfd, st, dead;

	lfd = listen_lo(&port);
	pid = fork();
	if (pid == 0)
		run_server(lfd);
	close(lfd);

	T_EQ_INT(tls_conf_client_new(NULL, 0, pki1.fp, &pinned), 0);
	T_EQ_INT(tls_conf_client_new(NULL, 0, pki2.fp, &wrong), 0);
	T_EQ_INT(tls_conf_client_new(pki1.ca.p, pki1.ca.len, NULL, &ca), 0);
	T_EQ_INT(tls_conf_client_new(NULL, 0, NULL, &any), 0);

	/* pinned: GET with a query */
	T_EQ_INT(http_request(pinned, "127.0.0.1", port, "GET", "/echo?x=a%20b", NULL, 0, 5000,
	                      &res, msg, sizeof(msg)),
	         0);
	T_EQ_INT(res.status, 200);
	T_EQ_STR(res.fingerprint, pki1.fp);
	T_EQ_INT(json_parse(res.body.p, res.body.len, &d), 0);
	T_EQ_STR(json_get_str(json_get(json_root(d), "data"), "x"), "a b");
	T_EQ_STR(json_get_str(json_get(json_root(d), "data"), "peer"), "127.0.0.1");
	json_doc_free(d);
	buf_free(&res.body);

	/* CA trust: POST a JSON body, get it back */
	T_EQ_INT(http_request(ca, "127.0.0.1", port, "POST", "/echo", "{\"k\":[1,2]}", 11, 5000,
	                      &res, msg, sizeof(msg)),
	         0);
	T_EQ_INT(res.status, 200);
	T_EQ_INT(res.body.len, strlen("{\"data\":{\"k\":[1,2]}}"));
	T_ASSERT(!memcmp(res.body.p, "{\"data\":{\"k\":[1,2]}}", res.body.len));
	buf_free(&res.body);

	/* API errors come back as a status, not as a failure */
	T_EQ_INT(http_request(any, "127.0.0.1", port, "POST", "/echo", "{bad", 4, 5000, &res, msg,
	                      sizeof(msg)),
	         0);
	T_EQ_INT(res.status, 400);
	T_EQ_STR(res.reason, "body is not JSON");
	buf_free(&res.body);
	T_EQ_INT(http_request(any, "127.0.0.1", port, "GET", "/nope", NULL, 0, 5000, &res, msg,
	                      sizeof(msg)),
	         0);
	T_EQ_INT(res.status, 404);
	buf_free(&res.body);

	/* a reply deferred by the handler */
	T_EQ_INT(http_request(pinned, "127.0.0.1", port, "GET", "/late", NULL, 0, 5000, &res, msg,
	                      sizeof(msg)),
	         0);
	T_EQ_INT(res.status, 200);
	T_EQ_INT(res.body.len, 15);
	buf_free(&res.body);

	/* the wrong pin: refused before the request is sent */
	T_EQ_INT(http_request(wrong, "127.0.0.1", port, "GET", "/echo", NULL, 0, 5000, &res, msg,
	                      sizeof(msg)),
	         -EACCES);
	T_ASSERT(strstr(msg, "fingerprint mismatch") != NULL);
	T_ASSERT(strstr(msg, pki1.fp) != NULL);
	T_EQ_INT(res.body.len, 0);

	/* a server that never answers: our deadline */
	{
		struct timespec a, b;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &a);
		T_EQ_INT(http_request(pinned, "127.0.0.1", port, "GET", "/hang", NULL, 0, 300, &res,
		                      msg, sizeof(msg)),
		         -ETIMEDOUT);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		T_ASSERT(ms >= 290 && ms < 2000);
		T_ASSERT(strstr(msg, "timed out") != NULL);
	}
	/* a TCP listener that never speaks TLS: the handshake times out */
	dead = listen_lo(&dead_port);
	T_EQ_INT(http_request(pinned, "127.0.0.1", dead_port, "GET", "/", NULL, 0, 200, &res, msg,
	                      sizeof(msg)),
	         -ETIMEDOUT);
	close(dead);
	/* nobody listens any more on that port */
	T_EQ_INT(http_request(pinned, "127.0.0.1", dead_port, "GET", "/", NULL, 0, 1000, &res, msg,
	                      sizeof(msg)),
	         -ECONNREFUSED);
	T_ASSERT(strstr(msg, "unable to connect to 127.0.0.1:") != NULL);
	T_EQ_INT(http_request(pinned, "no-such-host.invalid", port, "GET", "/", NULL, 0, 1000, &res,
	                      msg, sizeof(msg)),
	         -ENOENT);

	/* a malformed request line: 400 from the server, the handler never sees it */
	T_EQ_INT(http_request(pinned, "127.0.0.1", port, "GET", "/a b", NULL, 0, 5000, &res, msg,
	                      sizeof(msg)),
	         0);
	T_EQ_INT(res.status, 400);
	T_EQ_STR(res.reason, "malformed request");
	buf_free(&res.body);

	/* a client that connects and says nothing is closed at the deadline */
	{
		struct sockaddr_in sa = { 0 };
		struct timeval tv = { 5, 0 };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		char c;

		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons(port);
		T_EQ_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		T_EQ_INT(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
		T_EQ_INT(read(fd, &c, 1), 0); /* EOF after about 1 s, not EAGAIN after 5 */
		close(fd);
	}

	/* a real client (curl with OpenSSL) trusts the chain and the IP SAN,
	 * and gets "100 Continue" at once */
	if (system("curl --version >/dev/null 2>&1") == 0) {
		char dir[512], cmd[2048], out[256] = "";
		struct timespec a, b;
		FILE *f;
		long ms;
		int i;

		snprintf(dir, sizeof(dir), "%s", t_tmpdir());
		snprintf(cmd, sizeof(cmd), "%s/ca.pem", dir);
		f = fopen(cmd, "w");
		fwrite(pki1.ca.p, 1, pki1.ca.len, f);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "%s/body.json", dir);
		f = fopen(cmd, "w");
		fputs("{\"k\":\"", f);
		for (i = 0; i < 3000; i++)
			fputc('a', f);
		fputs("\"}", f);
		fclose(f);
		snprintf(
		        cmd, sizeof(cmd),
		        "curl -sS --max-time 10 --cacert %s/ca.pem 'https://127.0.0.1:%u/echo?x=curl'",
		        dir, port);
		f = popen(cmd, "r");
		T_ASSERT(fgets(out, sizeof(out), f) != NULL);
		T_EQ_INT(pclose(f), 0);
		T_EQ_STR(out, "{\"data\":{\"x\":\"curl\",\"peer\":\"127.0.0.1\"}}");
		clock_gettime(CLOCK_MONOTONIC, &a);
		snprintf(cmd, sizeof(cmd),
		         "curl -sS --max-time 10 --expect100-timeout 5 -H 'Expect: 100-continue' "
		         "-H 'Content-Type: application/json' --data-binary @%s/body.json --cacert "
		         "%s/ca.pem https://127.0.0.1:%u/echo | wc -c",
		         dir, dir, port);
		f = popen(cmd, "r");
		T_ASSERT(fgets(out, sizeof(out), f) != NULL);
		pclose(f);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		T_EQ_INT(atoi(out), 3008 + 9); /* {"data":<body>} */
		T_ASSERT(ms < 3000);
		/* and refuses another cluster's CA */
		snprintf(cmd, sizeof(cmd), "%s/ca.pem", dir);
		f = fopen(cmd, "w");
		fwrite(pki2.ca.p, 1, pki2.ca.len, f);
		fclose(f);
		snprintf(
		        cmd, sizeof(cmd),
		        "curl -s --max-time 10 --cacert %s/ca.pem https://127.0.0.1:%u/echo >/dev/null",
		        dir, port);
		T_ASSERT(system(cmd) != 0);
	} else {
		printf("test_http: curl not installed, interoperability check skipped\n");
	}

	/* after all that, the server still serves */
	T_EQ_INT(http_request(pinned, "127.0.0.1", port, "GET", "/echo?x=1", NULL, 0, 5000, &res,
	                      msg, sizeof(msg)),
	         0);
	T_EQ_INT(res.status, 200);
	buf_free(&res.body);

	kill(pid, SIGTERM);
	T_EQ_INT(waitpid(pid, &st, 0), pid);
	T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	tls_conf_free(pinned);
	tls_conf_free(wrong);
	tls_conf_free(ca);
	tls_conf_free(any);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	pki_make(&pki1);
	pki_make(&pki2);
	T_RUN(test_parse_valid);
	T_RUN(test_parse_malformed);
	T_RUN(test_parse_limits);
	T_RUN(test_parse_truncation_and_flips);
	T_RUN(test_form_get);
	T_RUN(test_responses);
	T_RUN(test_client_server);
	buf_free(&pki1.ca);
	buf_free(&pki1.crt);
	buf_free(&pki1.key);
	buf_free(&pki2.ca);
	buf_free(&pki2.crt);
	buf_free(&pki2.key);
	return t_done();
}
