/* net/http.c - HTTP/1.1 for the JSON API: strict bounded parsing, responses,
 * and a blocking TLS client with a deadline; see http.h.
 *
 * The parsers copy the head (at most HTTP_HEAD_MAX bytes) into a buffer
 * of their own and cut it into NUL-terminated strings there; the body is
 * never copied.  Nothing is read past p + n, and every length is checked
 * against its limit before it is used.
 */
#define LOG_TAG "http"
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/http.h"
#include "core/json.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/util.h"

/* ------------------------------------------------------------------ parse */

static bool is_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* field-value and reason-phrase bytes: HTAB, SP, VCHAR, obs-text */
static bool is_vbyte(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Find the end of the head (the blank line).  Returns its length
 * (including CRLFCRLF), -EAGAIN, -EBADMSG (a bare CR or LF) or -E2BIG. */
static ssize_t head_end(const uint8_t *p, size_t n)
{
	size_t i, lim = MIN(n, (size_t)HTTP_HEAD_MAX);

	for (i = 0; i < lim; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			return -EBADMSG;
		if (p[i] == '\r' && i + 1 < n && p[i + 1] != '\n')
			return -EBADMSG;
		if (p[i] == '\n' && i >= 3 && p[i - 2] == '\n')
			return (ssize_t)i + 1;
	}
	return n >= HTTP_HEAD_MAX ? -E2BIG : -EAGAIN;
}

/* Cut the next line (ending in CRLF) off *s; NULL at the end. */
static char *next_line(char **s)
{
	char *line = *s, *cr = strstr(line, "\r\n");

	if (!cr)
		return NULL;
	*cr = 0;
	*s = cr + 2;
	return line;
}

struct head {
	struct http_header *h;
	int n;
	size_t content_length;
	bool has_length;
};

/* Header lines up to the blank line.  0, -EBADMSG or -E2BIG. */
static int parse_headers(char **s, struct head *hd)
{
	char *line, *colon, *v, *end;
	size_t i;

	while ((line = next_line(s)) != NULL && *line) {
		colon = strchr(line, ':');
		if (!colon || colon == line)
			return -EBADMSG; /* also catches obs-fold: a leading SP is no tchar */
		for (i = 0; line + i < colon; i++)
			if (!is_tchar((uint8_t)line[i]))
				return -EBADMSG;
		*colon = 0;
		v = colon + 1;
		for (end = v; *end; end++)
			if (!is_vbyte((uint8_t)*end))
				return -EBADMSG;
		while (*v == ' ' || *v == '\t')
			v++;
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = 0;
		if (hd->n >= HTTP_HEADERS_MAX)
			return -E2BIG;
		hd->h[hd->n].name = line;
		hd->h[hd->n].value = v;
		hd->n++;
		if (!strcasecmp(line, "Transfer-Encoding"))
			return -EBADMSG; /* no chunked bodies */
		if (!strcasecmp(line, "Content-Length")) {
			size_t cl = 0;

			if (hd->has_length || !*v)
				return -EBADMSG;
			for (; *v; v++) {
				if (*v < '0' || *v > '9')
					return -EBADMSG;
				cl = cl * 10 + (size_t)(*v - '0');
				if (cl > HTTP_BODY_MAX)
					return -E2BIG;
			}
			hd->content_length = cl;
			hd->has_length = true;
		}
	}
	return line ? 0 : -EBADMSG;
}

int http_parse_request(const uint8_t *p, size_t n, struct http_req *req, size_t *used)
{
	struct head hd = { req->headers, 0, 0, false };
	char *s, *line, *sp1, *sp2;
	ssize_t hl = head_end(p, n);
	size_t i;
	int rc;

	req->head_len = 0;
	if (hl < 0)
		return (int)hl;
	memcpy(req->head, p, (size_t)hl);
	req->head[hl] = 0;
	if (memchr(req->head, 0, (size_t)hl))
		return -EBADMSG;
	s = req->head;

	/* request-line: METHOD SP target SP HTTP/1.x */
	line = next_line(&s);
	sp1 = strchr(line, ' ');
	if (!sp1 || sp1 == line || sp1 - line >= (ptrdiff_t)sizeof(req->method))
		return -EBADMSG;
	for (i = 0; line + i < sp1; i++)
		if (line[i] < 'A' || line[i] > 'Z')
			return -EBADMSG;
	memcpy(req->method, line, (size_t)(sp1 - line));
	req->method[sp1 - line] = 0;
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp1[1] != '/')
		return -EBADMSG;
	if (sp2 - (sp1 + 1) > HTTP_TARGET_MAX)
		return -E2BIG;
	for (i = 1; sp1 + i < sp2; i++)
		if ((uint8_t)sp1[i] <= 0x20 || (uint8_t)sp1[i] >= 0x7f)
			return -EBADMSG;
	if (!strcmp(sp2 + 1, "HTTP/1.1"))
		req->minor = 1;
	else if (!strcmp(sp2 + 1, "HTTP/1.0"))
		req->minor = 0;
	else
		return -EBADMSG;
	*sp2 = 0;
	req->path = sp1 + 1;
	req->query = "";
	{
		char *q = strchr(sp1 + 1, '?');

		if (q) {
			*q = 0;
			req->query = q + 1;
		}
	}

	req->nheaders = 0;
	rc = parse_headers(&s, &hd);
	req->nheaders = hd.n;
	if (rc)
		return rc;
	req->content_length = hd.content_length;
	req->head_len = (size_t)hl;
	if (n - (size_t)hl < hd.content_length)
		return -EAGAIN;
	req->body = p + hl;
	*used = (size_t)hl + hd.content_length;
	return 0;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
	int i;

	for (i = 0; i < req->nheaders; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode n bytes of s into out (size bytes, NUL-terminated). */
static int url_decode(const char *s, size_t n, char *out, size_t size)
{
	size_t i, o = 0;
	int hi, lo;
	char c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3)
				return -EBADMSG;
			hi = unhex(s[i + 1]);
			lo = unhex(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EBADMSG;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= size)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	if (size == 0)
		return -ENAMETOOLONG;
	out[o] = 0;
	return 0;
}

int http_form_getn(const void *form, size_t n, const char *key, char *out, size_t size)
{
	const char *p = form, *end = p + n, *amp, *eq, *v;
	char k[256];
	int rc;

	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (!amp)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (!eq)
			eq = amp;
		rc = url_decode(p, (size_t)(eq - p), k, sizeof(k));
		if (rc == -EBADMSG)
			return rc;
		if (!rc && !strcmp(k, key)) {
			v = eq < amp ? eq + 1 : amp;
			return url_decode(v, (size_t)(amp - v), out, size);
		}
		if (amp == end)
			break;
		p = amp + 1;
	}
	return -ENOENT;
}

int http_form_get(const char *form, const char *key, char *out, size_t size)
{
	return http_form_getn(form, strlen(form), key, out, size);
}

int http_parse_response(const uint8_t *p, size_t n, bool eof, int *status, char *reason,
                        size_t reason_size, const uint8_t **body, size_t *body_len)
{
	struct http_header h[HTTP_HEADERS_MAX];
	struct head hd = { h, 0, 0, false };
	char head[HTTP_HEAD_MAX + 1], *s, *line, *r;
	ssize_t hl = head_end(p, n);
	int rc;

	if (hl == -EAGAIN && eof)
		return -EBADMSG;
	if (hl < 0)
		return (int)hl;
	memcpy(head, p, (size_t)hl);
	head[hl] = 0;
	if (memchr(head, 0, (size_t)hl))
		return -EBADMSG;
	s = head;
	line = next_line(&s);
	/* HTTP/1.x SP 3DIGIT [SP reason] */
	if (strncmp(line, "HTTP/1.", 7) || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
	    line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' ||
	    line[11] > '9' || (line[12] && line[12] != ' '))
		return -EBADMSG;
	*status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	r = line[12] ? line + 13 : line + 12;
	for (s = r; *s; s++)
		if (!is_vbyte((uint8_t)*s))
			return -EBADMSG;
	s = line + strlen(line) + 2;
	rc = parse_headers(&s, &hd);
	if (rc)
		return rc;
	if (hd.has_length) {
		if (n - (size_t)hl < hd.content_length)
			return eof ? -EBADMSG : -EAGAIN;
		*body_len = hd.content_length;
	} else {
		if (!eof)
			return n - (size_t)hl > HTTP_BODY_MAX ? -E2BIG : -EAGAIN;
		if (n - (size_t)hl > HTTP_BODY_MAX)
			return -E2BIG;
		*body_len = n - (size_t)hl;
	}
	if (reason_size) {
		snprintf(reason, reason_size, "%s", r);
	}
	*body = p + hl;
	return 0;
}

/* --------------------------------------------------------------- responses */

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 424:
		return "Failed Dependency";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	}
	return "";
}

static void response(struct buf *out, int status, const char *reason, const char *type,
                     const void *body, size_t len)
{
	buf_printf(out,
	           "HTTP/1.1 %03d %s\r\n"
	           "Content-Type: %s\r\n"
	           "Content-Length: %zu\r\n"
	           "Cache-Control: max-age=0\r\n"
	           "Connection: close\r\n"
	           "\r\n",
	           status, reason, type ? type : "application/json;charset=UTF-8", len);
	if (len)
		buf_put(out, body, len);
}

void http_response(struct buf *out, int status, const char *content_type, const void *body,
                   size_t len)
{
	response(out, status, http_reason(status), content_type, body, len);
}

void http_response_data(struct buf *out, const char *data_json)
{
	struct buf b = { 0 };

	buf_printf(&b, "{\"data\":%s}", data_json ? data_json : "null");
	response(out, 200, "OK", NULL, b.p, b.len);
	buf_free(&b);
}

void http_response_error(struct buf *out, int status, const char *msg)
{
	struct buf b = { 0 }, m = { 0 };
	char reason[256];
	struct json w;
	size_t i, n;

	/* the reason phrase: one line, no control characters */
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	n = MIN(n, sizeof(reason) - 1);
	for (i = 0; i < n; i++) {
		uint8_t c = (uint8_t)msg[i];

		reason[i] = (char)(c < 0x20 || c == 0x7f ? ' ' : c);
	}
	reason[n] = 0;
	if (!n)
		snprintf(reason, sizeof(reason), "%s", http_reason(status));
	buf_printf(&m, "%s%s", msg, n && msg[strlen(msg) - 1] == '\n' ? "" : "\n");
	json_init(&w, &b);
	json_obj_open(&w);
	json_key(&w, "data");
	json_null(&w);
	json_key(&w, "message");
	json_strn(&w, m.p, m.len);
	json_obj_close(&w);
	response(out, status, reason, NULL, b.p, b.len);
	buf_free(&b);
	buf_free(&m);
}

/* ------------------------------------------------------------------ client */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes.  0 or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { fd, events, 0 };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)MIN(left, (int64_t)INT32_MAX));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_one(const struct addrinfo *ai, int64_t deadline, int *out)
{
	socklen_t len = sizeof(int);
	int fd, rc, err = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto out_ok;
	if (errno != EINPROGRESS) {
		rc = -errno;
		goto out_close;
	}
	rc = wait_fd(fd, POLLOUT, deadline);
	if (rc)
		goto out_close;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (err) {
		rc = -err;
		goto out_close;
	}
out_ok:
	*out = fd;
	return 0;
out_close:
	close(fd);
	return rc;
}

enum step { STEP_HANDSHAKE, STEP_WRITE, STEP_READ };

/* Run a tls step until it is not -EAGAIN, waiting for the socket in
 * between: the step's result, or -ETIMEDOUT. */
static ssize_t tls_wait(struct tls *t, int fd, int64_t deadline, enum step step, void *p, size_t n)
{
	ssize_t r;
	int w;

	for (;;) {
		if (step == STEP_HANDSHAKE)
			r = tls_handshake(t);
		else if (step == STEP_WRITE)
			r = tls_write(t, p, n);
		else
			r = tls_read(t, p, n);
		if (r != -EAGAIN)
			return r;
		w = wait_fd(fd, tls_want_write(t) ? POLLOUT : POLLIN, deadline);
		if (w)
			return w;
	}
}

static int exchange(struct tls *t, int fd, int64_t deadline, const struct buf *req,
                    struct http_result *res, char *msg, size_t msg_size)
{
	struct buf in = { 0 };
	const uint8_t *body;
	size_t off = 0, body_len;
	ssize_t r;
	bool eof = false;
	int rc;

	r = tls_wait(t, fd, deadline, STEP_HANDSHAKE, NULL, 0);
	if (r) {
		rc = (int)r;
		if (rc == -ETIMEDOUT)
			snprintf(msg, msg_size, "TLS handshake timed out");
		else
			snprintf(msg, msg_size, "%s", tls_msg(t));
		return rc;
	}
	tls_peer_fingerprint(t, res->fingerprint);
	while (off < req->len) {
		r = tls_wait(t, fd, deadline, STEP_WRITE, req->p + off, req->len - off);
		if (r < 0) {
			snprintf(msg, msg_size, "sending the request failed: %s",
			         r == -ETIMEDOUT ? "timed out" : tls_msg(t));
			return (int)r;
		}
		off += (size_t)r;
	}
	for (;;) {
		rc = http_parse_response(in.p ? in.p : (const uint8_t *)"", in.len, eof,
		                         &res->status, res->reason, sizeof(res->reason), &body,
		                         &body_len);
		if (rc != -EAGAIN)
			break;
		if (in.len >= HTTP_HEAD_MAX + HTTP_BODY_MAX) {
			rc = -E2BIG;
			break;
		}
		buf_reserve(&in, 16384);
		r = tls_wait(t, fd, deadline, STEP_READ, in.p + in.len,
		             MIN(in.cap - in.len, HTTP_HEAD_MAX + HTTP_BODY_MAX - in.len));
		if (r < 0) {
			rc = (int)r;
			snprintf(msg, msg_size, "reading the response failed: %s",
			         r == -ETIMEDOUT ? "timed out" : tls_msg(t));
			goto out;
		}
		if (r == 0)
			eof = true;
		in.len += (size_t)r;
	}
	if (rc == 0)
		buf_put(&res->body, body, body_len);
	else if (rc == -EBADMSG)
		snprintf(msg, msg_size, "malformed HTTP response from the server");
	else if (rc == -E2BIG)
		snprintf(msg, msg_size, "HTTP response from the server too large");
out:
	buf_free(&in);
	return rc;
}

int http_request(struct tls_conf *conf, const char *host, uint16_t port, const char *method,
                 const char *path, const void *body, size_t len, int timeout_ms,
                 struct http_result *res, char *msg, size_t msg_size)
{
	struct addrinfo hints = { 0 }, *ai = NULL, *a;
	int64_t deadline = now_ms() + timeout_ms;
	char portstr[8], hostport[300];
	unsigned char tmp[16];
	bool literal;
	struct buf req = { 0 };
	struct tls *t = NULL;
	int fd = -1, rc, g;

	memset(res, 0, sizeof(*res));
	msg[0] = 0;
	if (len > HTTP_BODY_MAX) {
		snprintf(msg, msg_size, "request body too large");
		return -E2BIG;
	}
	literal = inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if (strchr(host, ':'))
		snprintf(hostport, sizeof(hostport), "[%s]:%u", host, port);
	else
		snprintf(hostport, sizeof(hostport), "%s:%u", host, port);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (literal ? AI_NUMERICHOST : 0);
	g = getaddrinfo(host, portstr, &hints, &ai);
	if (g) {
		snprintf(msg, msg_size, "unable to resolve host '%s': %s", host, gai_strerror(g));
		return g == EAI_SYSTEM ? -errno : -ENOENT;
	}
	rc = -EHOSTUNREACH;
	for (a = ai; a; a = a->ai_next) {
		rc = connect_one(a, deadline, &fd);
		if (!rc || rc == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(ai);
	if (rc) {
		snprintf(msg, msg_size, "unable to connect to %s - %s", hostport, cfs_strerror(rc));
		return rc;
	}
	rc = tls_new(conf, fd, literal ? NULL : host, &t);
	if (rc) {
		snprintf(msg, msg_size, "TLS setup failed");
		goto out_close;
	}
	buf_printf(&req,
	           "%s %s HTTP/1.1\r\n"
	           "Host: %s\r\n"
	           "User-Agent: cfsbox\r\n"
	           "Accept: application/json\r\n"
	           "Connection: close\r\n",
	           method, path, hostport);
	if (body || strcmp(method, "GET"))
		buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n", len);
	buf_put_str(&req, "\r\n");
	if (len)
		buf_put(&req, body, len);
	rc = exchange(t, fd, deadline, &req, res, msg, msg_size);
	if (rc)
		buf_free(&res->body);
	else
		tls_close_notify(t); /* best effort, the socket is closed next */
	buf_free(&req);
	tls_free(t);
out_close:
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ server */

enum conn_state {
	CONN_READ,    /* handshake, then reading the request */
	CONN_HANDLER, /* the handler has the request; no watcher runs */
	CONN_WRITE,   /* writing the reply */
};

struct http_conn {
	ev_io io;       /* first: the callbacks cast back from it */
	ev_timer timer; /* the deadline of the whole exchange */
	struct http_server *srv;
	struct http_conn *prev;
	struct http_conn *next;
	int fd; /* -1 once closed */
	struct tls *t;
	enum conn_state state;
	struct buf in;
	struct buf out;
	size_t out_off;
	bool continued;    /* "100 Continue" sent (or being sent) */
	bool cont_pending; /* its write returned -EAGAIN: finish it first */
	char peer[INET6_ADDRSTRLEN];
	struct http_req req;
};

struct http_server {
	ev_io io;
	struct ev_loop *loop;
	struct tls_conf *conf;
	double timeout;
	http_handler_fn *fn;
	void *ctx;
	struct http_conn *conns;
	int nconns;
};

static void conn_unlink(struct http_conn *c)
{
	struct http_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else if (s->conns == c)
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* Stop the watchers and close the socket; the struct lives on while the
 * handler holds it. */
static void conn_close(struct http_conn *c)
{
	struct ev_loop *loop = c->srv->loop;

	if (c->fd < 0)
		return;
	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->timer);
	tls_free(c->t);
	c->t = NULL;
	close(c->fd);
	c->fd = -1;
	c->srv->nconns--;
}

static void conn_free(struct http_conn *c)
{
	conn_close(c);
	conn_unlink(c);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

/* Close, and free unless the handler still holds the connection. */
static void conn_end(struct http_conn *c)
{
	if (c->state == CONN_HANDLER)
		conn_close(c);
	else
		conn_free(c);
}

static void conn_arm(struct http_conn *c)
{
	ev_io_stop(c->srv->loop, &c->io);
	ev_io_set(&c->io, c->fd, tls_want_write(c->t) ? EV_WRITE : EV_READ);
	ev_io_start(c->srv->loop, &c->io);
}

static const char cont_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void conn_write(struct http_conn *c)
{
	ssize_t r;

	/* Mbed TLS wants a write that returned -EAGAIN repeated with the same
	 * bytes before anything else is written. */
	while (c->cont_pending) {
		r = tls_write(c->t, cont_line, sizeof(cont_line) - 1);
		if (r == -EAGAIN) {
			conn_arm(c);
			return;
		}
		if (r < 0) {
			conn_free(c);
			return;
		}
		c->cont_pending = false;
	}

	while (c->out_off < c->out.len) {
		r = tls_write(c->t, c->out.p + c->out_off, c->out.len - c->out_off);
		if (r == -EAGAIN) {
			conn_arm(c);
			return;
		}
		if (r < 0) {
			log_debug("%s: reply not sent: %s", c->peer, tls_msg(c->t));
			conn_free(c);
			return;
		}
		c->out_off += (size_t)r;
	}
	tls_close_notify(c->t); /* best effort */
	conn_free(c);
}

void http_conn_reply(struct http_conn *c, const void *resp, size_t len)
{
	assert(c->state == CONN_HANDLER);
	c->state = CONN_WRITE;
	if (c->fd < 0) { /* died while the handler had it */
		conn_free(c);
		return;
	}
	buf_put(&c->out, resp, len);
	conn_write(c);
}

const char *http_conn_peer(const struct http_conn *c)
{
	return c->peer;
}

static void conn_refuse(struct http_conn *c, int rc)
{
	struct buf b = { 0 };

	if (rc == -E2BIG)
		http_response_error(&b, 413, "request too large");
	else
		http_response_error(&b, 400, "malformed request");
	c->state = CONN_HANDLER;
	http_conn_reply(c, b.p, b.len);
	buf_free(&b);
}

/* The head asks for "100 Continue" before the body: best effort (a client
 * that does not get it sends the body after a while anyway). */
static void send_continue(struct http_conn *c)
{
	const char *e;

	if (c->continued || !c->req.head_len || c->req.minor < 1)
		return;
	e = http_req_header(&c->req, "Expect");
	if (!e || strcasecmp(e, "100-continue"))
		return;
	c->continued = true;
	c->cont_pending = tls_write(c->t, cont_line, sizeof(cont_line) - 1) == -EAGAIN;
}

static void conn_read(struct http_conn *c)
{
	size_t used;
	ssize_t r;
	int rc;

	for (;;) {
		if (c->in.len >= HTTP_HEAD_MAX + HTTP_BODY_MAX) {
			conn_refuse(c, -E2BIG);
			return;
		}
		buf_reserve(&c->in, 16384);
		r = tls_read(c->t, c->in.p + c->in.len,
		             MIN(c->in.cap - c->in.len, HTTP_HEAD_MAX + HTTP_BODY_MAX - c->in.len));
		if (r == -EAGAIN) {
			conn_arm(c);
			return;
		}
		if (r <= 0) {
			if (r < 0)
				log_debug("%s: %s", c->peer, tls_msg(c->t));
			conn_free(c);
			return;
		}
		c->in.len += (size_t)r;
		rc = http_parse_request(c->in.p, c->in.len, &c->req, &used);
		if (rc == -EAGAIN) {
			send_continue(c);
			continue;
		}
		if (rc) {
			conn_refuse(c, rc);
			return;
		}
		ev_io_stop(c->srv->loop, &c->io);
		c->state = CONN_HANDLER;
		c->srv->fn(c->srv->ctx, c, &c->req);
		return;
	}
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_conn *c = (struct http_conn *)w;

	(void)loop;
	(void)revents;
	if (c->state == CONN_READ)
		conn_read(c);
	else if (c->state == CONN_WRITE)
		conn_write(c);
}

static void conn_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_conn *c = container_of(w, struct http_conn, timer);

	(void)loop;
	(void)revents;
	log_debug("%s: request timed out", c->peer);
	conn_end(c);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_server *s = (struct http_server *)w;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct http_conn *c;
	int fd;

	(void)revents;
	fd = accept4(s->io.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_every(10, LOG_LVL_WARN, "accept: %s", cfs_strerror(-errno));
		return;
	}
	if (s->nconns >= HTTP_CONNS_MAX) {
		log_every(10, LOG_LVL_WARN, "too many connections, refusing");
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	c->fd = fd;
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer,
		          sizeof(c->peer));
	else if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer,
		          sizeof(c->peer));
	else
		snprintf(c->peer, sizeof(c->peer), "local");
	if (tls_new(s->conf, fd, NULL, &c->t)) {
		close(fd);
		free(c);
		return;
	}
	s->nconns++;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	ev_io_init(&c->io, conn_cb, fd, EV_READ);
	ev_io_start(loop, &c->io);
	ev_timer_init(&c->timer, conn_timeout_cb, s->timeout, 0.);
	ev_timer_start(loop, &c->timer);
}

int http_server_new(struct ev_loop *loop, int listen_fd, struct tls_conf *conf, int timeout_ms,
                    http_handler_fn *fn, void *ctx, struct http_server **out)
{
	struct http_server *s = xcalloc(1, sizeof(*s));

	s->loop = loop;
	s->conf = conf;
	s->timeout = timeout_ms / 1000.;
	s->fn = fn;
	s->ctx = ctx;
	ev_io_init(&s->io, accept_cb, listen_fd, EV_READ);
	ev_io_start(loop, &s->io);
	*out = s;
	return 0;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	ev_io_stop(s->loop, &s->io);
	while (s->conns)
		conn_free(s->conns);
	free(s);
}
