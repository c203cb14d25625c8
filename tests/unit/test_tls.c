/* tests/unit/test_tls.c - core/tls: handshakes over socket pairs, pinning by
 * fingerprint, CA trust, failures; one test drives both ends from a libev loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "core/cert.h"
#include "core/loop.h"
#include "core/tls.h"
#include "tests/t.h"

struct pki {
	struct buf ca;
	struct buf crt;
	struct buf key;
	char fp[CERT_FP_STRLEN];
};

static struct pki pki1, pki2; /* two clusters */

static void pki_make(struct pki *k, const char *node)
{
	struct cert_key *ca_key, *node_key;
	struct cert_node_req req = { node, NULL, "127.0.0.1", 2, time(NULL) };

	T_EQ_INT(cert_key_new(&ca_key), 0);
	T_EQ_INT(cert_key_new(&node_key), 0);
	T_EQ_INT(cert_ca_create(ca_key, 1, time(NULL), &k->ca), 0);
	T_EQ_INT(cert_node_create(k->ca.p, k->ca.len, ca_key, node_key, &req, &k->crt, NULL), 0);
	T_EQ_INT(cert_key_pem(node_key, &k->key), 0);
	T_EQ_INT(cert_fingerprint(k->crt.p, k->crt.len, k->fp), 0);
	cert_key_free(ca_key);
	cert_key_free(node_key);
}

static void pki_free(struct pki *k)
{
	buf_free(&k->ca);
	buf_free(&k->crt);
	buf_free(&k->key);
}

static void nb_pair(int sv[2])
{
	T_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* Drive both handshakes until neither wants to go on; results in rs/rc. */
static void pump(struct tls *s, struct tls *c, int *rs, int *rc)
{
	int i;

	*rs = *rc = -EAGAIN;
	for (i = 0; i < 100 && (*rs == -EAGAIN || *rc == -EAGAIN); i++) {
		if (*rc == -EAGAIN)
			*rc = tls_handshake(c);
		if (*rs == -EAGAIN)
			*rs = tls_handshake(s);
	}
}

struct pair {
	int sv[2];
	struct tls_conf *sc;
	struct tls_conf *cc;
	struct tls *s;
	struct tls *c;
	int rs;
	int rc;
};

static void pair_run(struct pair *p, const struct pki *server, const void *ca, size_t ca_len,
                     const char *pin)
{
	memset(p, 0, sizeof(*p));
	nb_pair(p->sv);
	T_EQ_INT(tls_conf_server_new(server->crt.p, server->crt.len, server->key.p, server->key.len,
	                             &p->sc),
	         0);
	T_EQ_INT(tls_conf_client_new(ca, ca_len, pin, &p->cc), 0);
	T_EQ_INT(tls_new(p->sc, p->sv[0], NULL, &p->s), 0);
	T_EQ_INT(tls_new(p->cc, p->sv[1], NULL, &p->c), 0);
	pump(p->s, p->c, &p->rs, &p->rc);
}

static void pair_free(struct pair *p)
{
	tls_free(p->s);
	tls_free(p->c);
	tls_conf_free(p->sc);
	tls_conf_free(p->cc);
	close(p->sv[0]);
	close(p->sv[1]);
}

/* Write all of msg on a, read it on b (both non-blocking, pumped). */
static void transfer(struct tls *a, struct tls *b, const char *msg, size_t n)
{
	char got[70000];
	size_t off = 0, in = 0;
	ssize_t r;
	int i;

	for (i = 0; i < 10000 && in < n; i++) {
		if (off < n) {
			r = tls_write(a, msg + off, n - off);
			if (r > 0)
				off += r;
			else
				T_EQ_INT(r, -EAGAIN);
		}
		r = tls_read(b, got + in, sizeof(got) - in);
		if (r > 0)
			in += r;
		else
			T_EQ_INT(r, -EAGAIN);
	}
	T_EQ_INT(in, n);
	T_ASSERT(!memcmp(got, msg, n));
}

static void test_handshake_pinned(void)
{
	struct pair p;
	char fp[CERT_FP_STRLEN];
	static char big[65536];
	ssize_t r;
	size_t i;

	pair_run(&p, &pki1, NULL, 0, pki1.fp);
	T_EQ_INT(p.rc, 0);
	T_EQ_INT(p.rs, 0);
	T_ASSERT(tls_handshake_done(p.c) && tls_handshake_done(p.s));
	T_EQ_INT(tls_peer_fingerprint(p.c, fp), 0);
	T_EQ_STR(fp, pki1.fp);
	T_EQ_INT(tls_peer_fingerprint(p.s, fp), -ENOENT); /* no client certificates */
	transfer(p.c, p.s, "GET / HTTP/1.1\r\n\r\n", 18);
	transfer(p.s, p.c, "HTTP/1.1 200 OK\r\n\r\n", 19);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	transfer(p.c, p.s, big, sizeof(big)); /* several records */
	/* a clean close: close_notify reads as 0 */
	T_EQ_INT(tls_close_notify(p.c), 0);
	r = tls_read(p.s, fp, sizeof(fp));
	T_EQ_INT(r, 0);
	pair_free(&p);

	/* the pin in lower case, without colons */
	{
		char plain[65];
		int j;

		for (j = 0; j < 32; j++) {
			plain[2 * j] = (char)(pki1.fp[3 * j] | 0x20);
			plain[2 * j + 1] = (char)(pki1.fp[3 * j + 1] | 0x20);
		}
		plain[64] = 0;
		pair_run(&p, &pki1, NULL, 0, plain);
		T_EQ_INT(p.rc, 0);
		T_EQ_INT(p.rs, 0);
		pair_free(&p);
	}
}

static void test_pin_mismatch(void)
{
	struct pair p;
	char buf[16];
	ssize_t r;

	/* the client expects the other cluster's node */
	pair_run(&p, &pki1, NULL, 0, pki2.fp);
	T_EQ_INT(p.rc, -EACCES);
	T_ASSERT(strstr(tls_msg(p.c), "fingerprint mismatch") != NULL);
	T_ASSERT(strstr(tls_msg(p.c), pki1.fp) != NULL);
	T_ASSERT(strstr(tls_msg(p.c), pki2.fp) != NULL);
	/* nothing can be sent any more */
	T_EQ_INT(tls_write(p.c, "secret", 6), -EACCES);
	T_EQ_INT(tls_read(p.c, buf, sizeof(buf)), -EACCES);
	/* the server got the alert (or at least no data) */
	r = tls_read(p.s, buf, sizeof(buf));
	T_ASSERT(r <= 0 && r != -EAGAIN);
	T_ASSERT(p.rs == 0 || p.rs == -EACCES);
	pair_free(&p);
}

static void test_ca_trust(void)
{
	struct pair p;

	pair_run(&p, &pki1, pki1.ca.p, pki1.ca.len, NULL);
	T_EQ_INT(p.rc, 0);
	T_EQ_INT(p.rs, 0);
	transfer(p.c, p.s, "x", 1);
	pair_free(&p);

	/* another cluster's CA */
	pair_run(&p, &pki1, pki2.ca.p, pki2.ca.len, NULL);
	T_EQ_INT(p.rc, -EACCES);
	T_ASSERT(strstr(tls_msg(p.c), "not signed by the cluster CA") != NULL);
	T_ASSERT(p.rs != 0);
	pair_free(&p);

	/* neither CA nor pin: accepted, the fingerprint is there to show */
	pair_run(&p, &pki2, NULL, 0, NULL);
	T_EQ_INT(p.rc, 0);
	{
		char fp[CERT_FP_STRLEN];

		T_EQ_INT(tls_peer_fingerprint(p.c, fp), 0);
		T_EQ_STR(fp, pki2.fp);
	}
	pair_free(&p);
}

static void test_bad_peers(void)
{
	struct tls_conf *sc, *cc;
	struct tls *s, *c;
	int sv[2], rs, i;
	char buf[64];

	T_EQ_INT(tls_conf_server_new(pki1.crt.p, pki1.crt.len, pki1.key.p, pki1.key.len, &sc), 0);
	T_EQ_INT(tls_conf_client_new(NULL, 0, NULL, &cc), 0);

	/* a client that speaks plain HTTP */
	nb_pair(sv);
	T_EQ_INT(tls_new(sc, sv[0], NULL, &s), 0);
	T_EQ_INT(write(sv[1], "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27), 27);
	rs = tls_handshake(s);
	T_ASSERT(rs == -EACCES || rs == -EBADMSG);
	T_ASSERT(tls_msg(s)[0] != 0);
	T_EQ_INT(tls_handshake(s), rs); /* sticky */
	tls_free(s);
	close(sv[0]);
	close(sv[1]);

	/* the client goes away in the middle of the handshake */
	nb_pair(sv);
	T_EQ_INT(tls_new(sc, sv[0], NULL, &s), 0);
	T_EQ_INT(tls_new(cc, sv[1], "node1", &c), 0);
	T_EQ_INT(tls_handshake(c), -EAGAIN); /* ClientHello sent */
	T_ASSERT(!tls_want_write(c));
	tls_free(c);
	close(sv[1]);
	for (i = 0, rs = -EAGAIN; i < 10 && rs == -EAGAIN; i++)
		rs = tls_handshake(s);
	T_ASSERT(rs == -ECONNRESET || rs == -EPIPE);
	tls_free(s);
	close(sv[0]);

	/* the server goes away: the client sees a reset, not a hang */
	nb_pair(sv);
	T_EQ_INT(tls_new(cc, sv[1], NULL, &c), 0);
	T_EQ_INT(tls_handshake(c), -EAGAIN);
	T_EQ_INT(read(sv[0], buf, sizeof(buf)) > 0, 1);
	close(sv[0]);
	T_EQ_INT(tls_handshake(c), -ECONNRESET);
	tls_free(c);
	close(sv[1]);

	tls_conf_free(sc);
	tls_conf_free(cc);
}

static void test_bad_config(void)
{
	struct tls_conf *c = NULL;

	/* the key is not the certificate's */
	T_EQ_INT(tls_conf_server_new(pki1.crt.p, pki1.crt.len, pki2.key.p, pki2.key.len, &c),
	         -EINVAL);
	T_EQ_INT(tls_conf_server_new("junk", 4, pki1.key.p, pki1.key.len, &c), -EINVAL);
	T_EQ_INT(tls_conf_server_new(pki1.crt.p, pki1.crt.len, "junk", 4, &c), -EINVAL);
	T_EQ_INT(tls_conf_client_new(NULL, 0, "AB:CD", &c), -EINVAL);
	T_EQ_INT(tls_conf_client_new("junk", 4, NULL, &c), -EINVAL);
	T_ASSERT(c == NULL);
	/* the server certificate may be followed by its CA */
	{
		struct buf chain = { 0 };

		buf_put(&chain, pki1.crt.p, pki1.crt.len);
		buf_put(&chain, pki1.ca.p, pki1.ca.len);
		T_EQ_INT(tls_conf_server_new(chain.p, chain.len, pki1.key.p, pki1.key.len, &c), 0);
		tls_conf_free(c);
		buf_free(&chain);
	}
	tls_conf_free(NULL);
	tls_free(NULL);
}

/* --- both ends as libev watchers -------------------------------------- */

struct end {
	ev_io io;
	struct tls *t;
	bool server;
	char in[64];
	size_t in_len;
	const char *out;
	size_t out_off;
	int state; /* 0 handshake, 1 write, 2 read, 3 done, -1 failed */
	int err;
};

static void end_arm(struct ev_loop *loop, struct end *e)
{
	ev_io_stop(loop, &e->io);
	if (e->state >= 3 || e->state < 0) {
		int *finished = ev_userdata(loop);

		if (++*finished == 2)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
	ev_io_set(&e->io, e->io.fd, tls_want_write(e->t) ? EV_WRITE : EV_READ);
	ev_io_start(loop, &e->io);
}

static void end_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct end *e = (struct end *)w;
	ssize_t r;

	(void)revents;
	for (;;) {
		if (e->state == 0) {
			r = tls_handshake(e->t);
			if (r == 0)
				e->state = e->server ? 2 : 1;
		} else if (e->state == 1) {
			r = tls_write(e->t, e->out + e->out_off, strlen(e->out) - e->out_off);
			if (r > 0 && (e->out_off += r) == strlen(e->out))
				e->state = e->server ? 3 : 2;
		} else if (e->state == 2) {
			r = tls_read(e->t, e->in + e->in_len, sizeof(e->in) - 1 - e->in_len);
			if (r > 0) {
				e->in_len += r;
				if (memchr(e->in, '\n', e->in_len))
					e->state = e->server ? 1 : 3;
			} else if (r == 0) {
				r = -ECONNRESET;
			}
		} else {
			break;
		}
		if (r < 0 && r != -EAGAIN) {
			e->state = -1;
			e->err = (int)r;
		}
		if (r == -EAGAIN || e->state < 0 || e->state == 3)
			break;
	}
	end_arm(loop, e);
	(void)loop;
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void test_libev_loop(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct tls_conf *sc, *cc;
	struct end s = { 0 }, c = { 0 };
	ev_timer guard;
	int sv[2], finished = 0;

	nb_pair(sv);
	T_EQ_INT(tls_conf_server_new(pki1.crt.p, pki1.crt.len, pki1.key.p, pki1.key.len, &sc), 0);
	T_EQ_INT(tls_conf_client_new(NULL, 0, pki1.fp, &cc), 0);
	T_EQ_INT(tls_new(sc, sv[0], NULL, &s.t), 0);
	T_EQ_INT(tls_new(cc, sv[1], NULL, &c.t), 0);
	s.server = true;
	s.out = "pong\n";
	c.out = "ping\n";
	ev_io_init(&s.io, end_cb, sv[0], EV_READ);
	ev_io_init(&c.io, end_cb, sv[1], EV_WRITE); /* the client speaks first */
	ev_io_start(loop, &s.io);
	ev_io_start(loop, &c.io);
	ev_timer_init(&guard, timeout_cb, 10., 0.);
	ev_timer_start(loop, &guard);
	ev_set_userdata(loop, &finished);
	ev_run(loop, 0);
	T_EQ_INT(finished, 2);
	T_EQ_INT(s.state, 3);
	T_EQ_INT(c.state, 3);
	s.in[s.in_len] = c.in[c.in_len] = 0;
	T_EQ_STR(s.in, "ping\n");
	T_EQ_STR(c.in, "pong\n");
	ev_io_stop(loop, &s.io);
	ev_io_stop(loop, &c.io);
	ev_timer_stop(loop, &guard);
	tls_free(s.t);
	tls_free(c.t);
	tls_conf_free(sc);
	tls_conf_free(cc);
	close(sv[0]);
	close(sv[1]);
	ev_loop_destroy(loop);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	pki_make(&pki1, "node1");
	pki_make(&pki2, "node1");
	T_RUN(test_handshake_pinned);
	T_RUN(test_pin_mismatch);
	T_RUN(test_ca_trust);
	T_RUN(test_bad_peers);
	T_RUN(test_bad_config);
	T_RUN(test_libev_loop);
	pki_free(&pki1);
	pki_free(&pki2);
	return t_done();
}
