/* net/http.h - the HTTP/1.1 of the small JSON API on the TLS port (8006):
 * a strict, bounded request parser and response writer for the server,
 * and a blocking client with a deadline for pvecm.
 *
 * Requests (RFC 9112, a strict subset):
 *	request-line  METHOD SP target SP "HTTP/1.1" (or "HTTP/1.0") CRLF
 *	              METHOD: 1..15 upper-case letters; target: origin form
 *	              ("/" then visible ASCII), at most HTTP_TARGET_MAX bytes
 *	headers       name ":" OWS value OWS CRLF; name a token; value visible
 *	              ASCII, SP, HTAB or bytes >= 0x80; at most HTTP_HEADERS_MAX
 *	              headers; no obsolete line folding
 *	end of head   CRLF; the head (request line to the blank line) is at
 *	              most HTTP_HEAD_MAX bytes
 *	body          exactly Content-Length bytes (0 when absent), at most
 *	              HTTP_BODY_MAX; Transfer-Encoding is refused (no chunked)
 * Lines end in CRLF; a bare LF or CR is -EBADMSG.  Duplicate
 * Content-Length is -EBADMSG.  Bytes after the body are left for the next
 * request (*used tells how many were consumed).
 *
 * Parse results: 0 a complete request; -EAGAIN not yet complete (read
 * more and call again with all bytes so far); -EBADMSG malformed (answer
 * 400 and close); -E2BIG over a limit (answer 413/431 and close).
 *
 * Responses follow Proxmox's API shape: success
 *	HTTP/1.1 200 OK + {"data": ...}
 * and errors with the message as the reason phrase and in the body:
 *	HTTP/1.1 424 node is not in a cluster, no join info available!
 *	{"data":null,"message":"node is not in a cluster, no join info available!\n"}
 * Every response carries Content-Length and "Connection: close" (one
 * request per connection; keep-alive is not needed by the API).
 */
#ifndef NET_HTTP_H
#define NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/tls.h"

#define HTTP_HEAD_MAX    8192
#define HTTP_BODY_MAX    (1024 * 1024)
#define HTTP_HEADERS_MAX 32
#define HTTP_TARGET_MAX  2048
#define HTTP_PORT        8006

struct http_header {
	const char *name;  /* as sent; compare with strcasecmp */
	const char *value; /* OWS trimmed */
};

struct http_req {
	char method[16];
	const char *path;  /* target up to '?', not decoded, NUL-terminated */
	const char *query; /* after '?', not decoded; "" when none */
	int minor;         /* HTTP/1.<minor> */
	struct http_header headers[HTTP_HEADERS_MAX];
	int nheaders;
	size_t content_length;
	const uint8_t *body;          /* borrowed from the parsed input; content_length bytes */
	size_t head_len;              /* once the head is complete (also on -EAGAIN for the body) */
	char head[HTTP_HEAD_MAX + 1]; /* storage for the strings above */
};

/* Parse one request from the n bytes at p into req.  On 0, *used is the
 * bytes of this request (head + body) and req->body points into p.
 * On -EAGAIN with req->head_len != 0 the head is complete and parsed (the
 * headers can be looked at, e.g. Expect: 100-continue) and only body bytes
 * are missing.  Never reads past p + n.  0, -EAGAIN, -EBADMSG or -E2BIG. */
int http_parse_request(const uint8_t *p, size_t n, struct http_req *req, size_t *used);
/* A header's value, case-insensitive name; NULL when absent.  Lent from req. */
const char *http_req_header(const struct http_req *req, const char *name);
/* Find key in an application/x-www-form-urlencoded string (a query or a
 * form body) and percent-decode its value into out.  0, -ENOENT,
 * -EBADMSG (bad %xx or a decoded NUL), -ENAMETOOLONG (does not fit). */
int http_form_get(const char *form, const char *key, char *out, size_t size);
/* The same over n bytes (a request body, not NUL-terminated). */
int http_form_getn(const void *form, size_t n, const char *key, char *out, size_t size);

/* The reason phrase of a status code ("OK", "Not Found", ...); "" if unknown. */
const char *http_reason(int status);
/* Append a whole response: status line (reason: http_reason(status)),
 * Content-Type (NULL: application/json;charset=UTF-8), Content-Length,
 * Connection: close, then the body. */
void http_response(struct buf *out, int status, const char *content_type, const void *body,
                   size_t len);
/* Proxmox API success: 200 and {"data":<data_json>} (data_json is encoded
 * JSON text, e.g. from core/json; NULL writes null). */
void http_response_data(struct buf *out, const char *data_json);
/* Proxmox API error: status, the message as reason phrase (CR/LF and other
 * controls become spaces) and {"data":null,"message":"<msg>\n"}. */
void http_response_error(struct buf *out, int status, const char *msg);

/* Parse a response (client side): the same rules as requests for the
 * head; the body is Content-Length bytes, or everything up to the end of
 * the stream if eof is true and there is no Content-Length.  On 0:
 * *status, the reason phrase into reason (NUL-terminated, truncated to
 * size), *body and *body_len point into p.  0, -EAGAIN, -EBADMSG, -E2BIG. */
int http_parse_response(const uint8_t *p, size_t n, bool eof, int *status, char *reason,
                        size_t reason_size, const uint8_t **body, size_t *body_len);

struct http_result {
	int status;                       /* HTTP status */
	char reason[256];                 /* reason phrase */
	struct buf body;                  /* response body; the caller buf_free()s it */
	char fingerprint[CERT_FP_STRLEN]; /* the server certificate's */
};

/* Blocking client: connect to host:port (host a name or an IPv4/IPv6
 * literal), TLS with conf (see tls_conf_client_new(): CA, pin or
 * neither), send "<method> <path>" with body (JSON, Content-Type
 * application/json; NULL/0 for none), read the whole response.  The
 * whole exchange (DNS excepted) ends within timeout_ms.
 * 0 (any HTTP status; see res->status), -ETIMEDOUT, -EACCES (TLS
 * handshake or pin failed; msg says why), -ECONNREFUSED, -EHOSTUNREACH,
 * ... (connect errors), -ENOENT (host does not resolve), -EBADMSG (bad
 * response), -E2BIG (response too large).  msg (size msg_size) gets a
 * message for the user on every error. */
int http_request(struct tls_conf *conf, const char *host, uint16_t port, const char *method,
                 const char *path, const void *body, size_t len, int timeout_ms,
                 struct http_result *res, char *msg, size_t msg_size);

/* --- server on a libev loop ------------------------------------------- */

/* One connection = one request (Connection: close).  The server accepts
 * on a listening socket the caller owns (non-blocking), runs the TLS
 * handshake, reads and parses one request, calls the handler, writes the
 * reply and closes ("Expect: 100-continue" is answered, so curl does not
 * wait before sending a body).  Malformed requests are answered 400 (or 413/431 over
 * a limit) without calling the handler.  Each connection has a deadline of
 * timeout_ms from accept to the end of the reply; at most HTTP_CONNS_MAX
 * connections are open at once (more are closed at accept).
 *
 * The handler gets the request (valid until the reply) and must call
 * http_conn_reply() exactly once, at once or later from the loop (after a
 * commit, say).  If the connection died meanwhile, the reply is dropped
 * and the connection freed then.  Every pending request must be replied
 * to before http_server_free(). */
#define HTTP_CONNS_MAX 64

struct ev_loop;
struct http_server;
struct http_conn;
typedef void http_handler_fn(void *ctx, struct http_conn *c, const struct http_req *req);

/* 0 (or -errno if the loop cannot take the watcher; it always can). */
int http_server_new(struct ev_loop *loop, int listen_fd, struct tls_conf *conf, int timeout_ms,
                    http_handler_fn *fn, void *ctx, struct http_server **out);
/* Closes every connection; does not close listen_fd.  Accepts NULL. */
void http_server_free(struct http_server *s);
/* The whole response (e.g. from http_response_data()); copied. */
void http_conn_reply(struct http_conn *c, const void *resp, size_t len);
/* The peer's address as text, for logs ("192.0.2.1" / "fd00::1"). */
const char *http_conn_peer(const struct http_conn *c);

#endif /* NET_HTTP_H */
