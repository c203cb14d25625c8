/* tests/unit/test_udp.c - net/udp with net/msg on one libev loop over
 * loopback: unicast 200 KiB both ways, peer filtering, truncation,
 * multicast (skipped with a message if the kernel will not do it). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "core/crypt.h"
#include "core/loop.h"
#include "core/util.h"
#include "net/msg.h"
#include "net/udp.h"
#include "tests/t.h"

struct ep {
	struct ev_loop *loop;
	uint32_t id;
	struct udp *u;
	struct msg *m;
	uint8_t *got;
	size_t got_len;
	uint32_t got_from;
	unsigned ngot;
	unsigned raw_rx; /* datagrams seen by the raw callback */
	uint32_t raw_from;
};

static int ep_send(void *ctx, uint32_t to, const uint8_t *p, size_t len)
{
	struct ep *e = ctx;

	return to ? udp_send_to(e->u, to, p, len) : udp_send_all(e->u, p, len);
}

static void ep_deliver(void *ctx, uint32_t from, const uint8_t *p, size_t len)
{
	struct ep *e = ctx;

	free(e->got);
	e->got = xmemdup(p, len ? len : 1);
	e->got_len = len;
	e->got_from = from;
	e->ngot++;
}

static void ep_recv(void *ctx, uint32_t from_id, const uint8_t *p, size_t n)
{
	struct ep *e = ctx;

	e->raw_rx++;
	e->raw_from = from_id;
	if (e->m)
		msg_recv(e->m, p, n, ev_now(e->loop));
}

static const struct msg_ops ep_ops = { .send = ep_send, .deliver = ep_deliver };

struct waiter {
	ev_timer tick;
	ev_timer deadline;
	struct ep *eps[2];
	unsigned want[2]; /* stop when eps[i]->ngot >= want[i] */
	bool timed_out;
};

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct waiter *wt = container_of(w, struct waiter, tick);
	int i;

	(void)revents;
	for (i = 0; i < 2; i++)
		if (wt->eps[i] && wt->eps[i]->m)
			msg_tick(wt->eps[i]->m, ev_now(loop));
	for (i = 0; i < 2; i++)
		if (wt->eps[i] &&
		    (wt->eps[i]->m ? wt->eps[i]->ngot : wt->eps[i]->raw_rx) < wt->want[i])
			return;
	ev_break(loop, EVBREAK_ONE);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct waiter *wt = container_of(w, struct waiter, deadline);

	(void)revents;
	wt->timed_out = true;
	ev_break(loop, EVBREAK_ONE);
}

/* Run the loop until every eps[i] got want[i] messages (or raw datagrams
 * when it has no msg), or secs passed.  true if satisfied. */
static bool run_until(struct ev_loop *loop, struct ep *a, unsigned wa, struct ep *b, unsigned wb,
                      double secs)
{
	struct waiter wt = { .eps = { a, b }, .want = { wa, wb } };

	ev_timer_init(&wt.tick, tick_cb, MSG_TICK_SEC, MSG_TICK_SEC);
	ev_timer_init(&wt.deadline, deadline_cb, secs, 0);
	ev_timer_start(loop, &wt.tick);
	ev_timer_start(loop, &wt.deadline);
	ev_run(loop, 0);
	ev_timer_stop(loop, &wt.tick);
	ev_timer_stop(loop, &wt.deadline);
	return !wt.timed_out;
}

static struct crypt_key *test_key(void)
{
	uint8_t authkey[128];
	struct crypt_key *k;

	memset(authkey, 0x42, sizeof(authkey));
	if (crypt_key_new(authkey, sizeof(authkey), "testclu", &k))
		abort();
	return k;
}

static void ep_msg(struct ep *e, struct crypt_key *k)
{
	struct msg_conf c = { .node_id = e->id,
		              .cluster_id = msg_cluster_id("testclu"),
		              .epoch = 1 };

	if (msg_new(&c, k, &ep_ops, e, &e->m))
		abort();
}

static void ep_free(struct ep *e)
{
	msg_free(e->m);
	udp_close(e->u);
	free(e->got);
}

static void test_mcast_derive(void)
{
	char s[64];

	/* spec/corosync.md §1.6, verified against corosync */
	T_EQ_INT(udp_mcast_derive("testclu", 0, AF_INET, s, sizeof(s)), 0);
	T_EQ_STR(s, "239.192.55.128");
	T_EQ_INT(udp_mcast_derive("pve-cluster", 0, AF_INET, s, sizeof(s)), 0);
	T_EQ_STR(s, "239.192.91.16");
	T_EQ_INT(udp_mcast_derive("debian", 0, AF_INET, s, sizeof(s)), 0);
	T_EQ_STR(s, "239.192.24.204");
	T_EQ_INT(udp_mcast_derive("mycluster", 0, AF_INET, s, sizeof(s)), 0);
	T_EQ_STR(s, "239.192.221.146");
	T_EQ_INT(udp_mcast_derive("testclu", 0, AF_INET6, s, sizeof(s)), 0);
	T_EQ_STR(s, "ff15::3749");
	T_EQ_INT(udp_mcast_derive("testclu", 1, AF_INET, s, sizeof(s)), 0);
	T_EQ_STR(s, "239.192.55.129");
	T_EQ_INT(udp_mcast_derive("", 0, AF_INET, s, sizeof(s)), -EINVAL);
	T_EQ_INT(udp_mcast_derive("testclu", 0, AF_UNIX, s, sizeof(s)), -EINVAL);
	T_EQ_INT(udp_mcast_derive("testclu", 0, AF_INET, s, 8), -ENAMETOOLONG);
}

static void test_addr_parse(void)
{
	struct udp_addr a;

	T_EQ_INT(udp_addr_parse("10.0.0.1", 5405, &a), 0);
	T_EQ_INT(a.ss.ss_family, AF_INET);
	T_EQ_INT(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 5405);
	T_EQ_INT(udp_addr_parse("fd00::1", 5405, &a), 0);
	T_EQ_INT(a.ss.ss_family, AF_INET6);
	T_EQ_INT(udp_addr_parse("pve1", 5405, &a), -EINVAL); /* numeric only */
	T_EQ_INT(udp_addr_parse("10.0.0.256", 5405, &a), -EINVAL);
	T_EQ_INT(udp_addr_parse("", 5405, &a), -EINVAL);
	T_EQ_INT(udp_addr_parse(NULL, 5405, &a), -EINVAL);
}

static void test_open_errors(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct udp_conf c = { .local_addr = "127.0.0.1" };
	struct udp_peer bad = { .id = 0, .addr = "127.0.0.1", .port = 1 };
	struct udp *u = NULL, *u2 = NULL;

	c.local_addr = "nonsense";
	T_EQ_INT(udp_open(loop, &c, ep_recv, NULL, &u), -EINVAL);
	c.local_addr = "127.0.0.1";
	c.mode = UDP_MCAST;
	c.port = 5405;
	c.group = "10.1.1.1"; /* not multicast */
	T_EQ_INT(udp_open(loop, &c, ep_recv, NULL, &u), -EINVAL);
	c.group = "ff15::1"; /* other family */
	T_EQ_INT(udp_open(loop, &c, ep_recv, NULL, &u), -EINVAL);
	c.mode = UDP_UNICAST;
	c.port = 0;
	c.peers = &bad;
	c.npeers = 1;
	T_EQ_INT(udp_open(loop, &c, ep_recv, NULL, &u), -EINVAL);
	c.npeers = 0;
	c.local_addr = "192.0.2.77"; /* TEST-NET: not ours */
	T_EQ_INT(udp_open(loop, &c, ep_recv, NULL, &u), -EADDRNOTAVAIL);
	c.local_addr = "127.0.0.1";
	T_EQ_INT(udp_open(loop, &c, ep_recv, NULL, &u), 0);
	T_ASSERT(udp_port(u) != 0);
	/* the unicast address is exclusive: a second daemon is refused */
	c.port = udp_port(u);
	T_EQ_INT(udp_open(loop, &c, ep_recv, NULL, &u2), -EADDRINUSE);
	T_ASSERT(u2 == NULL);
	T_EQ_INT(udp_send_to(u, 7, (const uint8_t *)"x", 1), -ENOENT);
	{
		static uint8_t big[UDP_DGRAM_MAX + 1];
		struct udp_peer p = { .id = 7, .addr = "127.0.0.1", .port = 9 };

		T_EQ_INT(udp_send_all(u, big, sizeof(big)), -EINVAL);
		T_EQ_INT(udp_set_peers(u, &p, 1), 0);
		T_EQ_INT(udp_send_to(u, 7, big, sizeof(big)), -EINVAL);
		p.addr = "::1"; /* other family: refused, old list kept */
		T_EQ_INT(udp_set_peers(u, &p, 1), -EINVAL);
		T_EQ_INT(udp_send_to(u, 7, big, 10), 0);
	}
	udp_close(u);
	udp_close(NULL);
	ev_loop_destroy(loop);
}

/* Two nodes on 127.0.0.1, ephemeral ports: a 200 KiB message each way. */
static void test_unicast_200k(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct crypt_key *k = test_key();
	struct ep a = { .loop = loop, .id = 1 }, b = { .loop = loop, .id = 2 };
	struct udp_conf c = { .local_addr = "127.0.0.1", .mode = UDP_UNICAST };
	struct udp_peer pa, pb;
	size_t len = 200 * 1024, i;
	uint8_t *data = xmalloc(len);

	for (i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 31 + (i >> 8));
	T_EQ_INT(udp_open(loop, &c, ep_recv, &a, &a.u), 0);
	T_EQ_INT(udp_open(loop, &c, ep_recv, &b, &b.u), 0);
	pa = (struct udp_peer){ .id = 1, .addr = "127.0.0.1", .port = udp_port(a.u) };
	pb = (struct udp_peer){ .id = 2, .addr = "127.0.0.1", .port = udp_port(b.u) };
	T_EQ_INT(udp_set_peers(a.u, &pb, 1), 0);
	T_EQ_INT(udp_set_peers(b.u, &pa, 1), 0);
	ep_msg(&a, k);
	ep_msg(&b, k);

	T_EQ_INT(msg_send(a.m, 2, data, len, ev_now(loop)), 0);
	T_ASSERT(run_until(loop, &b, 1, NULL, 0, 10.0));
	T_EQ_INT(b.ngot, 1);
	T_EQ_INT(b.got_from, 1);
	T_EQ_INT(b.got_len, len);
	if (b.got_len == len)
		T_EQ_MEM(b.got, data, len);
	T_EQ_INT(b.raw_from, 1); /* udp mapped the source address to the peer id */

	/* the answer, broadcast (one unicast per peer) */
	data[0] ^= 0xff;
	T_EQ_INT(msg_send(b.m, 0, data, len, ev_now(loop)), 0);
	T_ASSERT(run_until(loop, &a, 1, NULL, 0, 10.0));
	T_EQ_INT(a.ngot, 1);
	T_EQ_INT(a.got_len, len);
	if (a.got_len == len)
		T_EQ_MEM(a.got, data, len);
	T_EQ_INT(udp_stats(a.u)->drop_unknown, 0);
	T_EQ_INT(msg_stats(a.m)->drop_auth, 0);

	/* a peer list that includes ourselves and an address the kernel
	 * refuses (broadcast without SO_BROADCAST): one datagram to b, our
	 * own entry skipped, the refusal reported and counted */
	{
		struct udp_peer all[3] = { pa,
			                   pb,
			                   { .id = 3, .addr = "255.255.255.255", .port = 9 } };
		uint64_t tx = udp_stats(a.u)->tx_packets;

		T_EQ_INT(udp_set_peers(a.u, all, 3), 0);
		T_EQ_INT(udp_send_all(a.u, (const uint8_t *)"x", 1), -EACCES);
		T_EQ_INT(udp_stats(a.u)->tx_packets, tx + 1);
		T_EQ_INT(udp_stats(a.u)->tx_errors, 1);
		T_EQ_INT(udp_send_to(a.u, 3, (const uint8_t *)"x", 1), -EACCES);
		T_EQ_INT(udp_set_peers(a.u, &pb, 1), 0);
		run_until(loop, &b, 99, NULL, 0, 0.2); /* let b read the stray "x" */
	}

	/* the largest message: ~3100 datagrams in one burst */
	{
		uint8_t *max = xmalloc(MSG_MAX);

		for (i = 0; i < MSG_MAX; i++)
			max[i] = (uint8_t)(i ^ (i >> 11));
		T_EQ_INT(msg_send(a.m, 2, max, MSG_MAX, ev_now(loop)), 0);
		T_ASSERT(run_until(loop, &b, 2, NULL, 0, 20.0));
		T_EQ_INT(b.ngot, 2);
		T_EQ_INT(b.got_len, MSG_MAX);
		if (b.got_len == MSG_MAX)
			T_EQ_MEM(b.got, max, MSG_MAX);
		free(max);
	}

	free(data);
	ep_free(&a);
	ep_free(&b);
	crypt_key_free(k);
	ev_loop_destroy(loop);
}

/* Datagrams from unlisted addresses and oversize datagrams never reach
 * the callback. */
static void test_filtering(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ep a = { .loop = loop, .id = 1 };
	struct udp_conf c = { .local_addr = "127.0.0.1" };
	struct sockaddr_in to, me;
	socklen_t melen = sizeof(me);
	static uint8_t big[UDP_DGRAM_MAX + 1];
	struct udp_peer p;
	int fd;

	T_EQ_INT(udp_open(loop, &c, ep_recv, &a, &a.u), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	T_EQ_INT(bind(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	T_EQ_INT(getsockname(fd, (struct sockaddr *)&me, &melen), 0);
	to.sin_port = htons(udp_port(a.u));

	/* no peers yet: everything goes through, with id 0 */
	T_EQ_INT(sendto(fd, "hi", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2);
	T_ASSERT(run_until(loop, &a, 1, NULL, 0, 5.0));
	T_EQ_INT(a.raw_rx, 1);
	T_EQ_INT(a.raw_from, 0);

	/* peers known, the sender is not one of them */
	p = (struct udp_peer){ .id = 2, .addr = "127.0.0.1", .port = 1 };
	T_EQ_INT(udp_set_peers(a.u, &p, 1), 0);
	T_EQ_INT(sendto(fd, "hi", 2, 0, (struct sockaddr *)&to, sizeof(to)), 2);
	T_ASSERT(!run_until(loop, &a, 2, NULL, 0, 0.3));
	T_EQ_INT(a.raw_rx, 1);
	T_EQ_INT(udp_stats(a.u)->drop_unknown, 1);

	/* listed now: an oversize datagram is dropped, a full-size one is not */
	p = (struct udp_peer){ .id = 9, .addr = "127.0.0.1", .port = ntohs(me.sin_port) };
	T_EQ_INT(udp_set_peers(a.u, &p, 1), 0);
	T_EQ_INT(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to)),
	         (ssize_t)sizeof(big));
	T_EQ_INT(sendto(fd, big, UDP_DGRAM_MAX, 0, (struct sockaddr *)&to, sizeof(to)),
	         UDP_DGRAM_MAX);
	T_ASSERT(run_until(loop, &a, 2, NULL, 0, 5.0));
	T_EQ_INT(a.raw_rx, 2);
	T_EQ_INT(a.raw_from, 9);
	T_EQ_INT(udp_stats(a.u)->drop_trunc, 1);
	T_EQ_INT(udp_stats(a.u)->rx_packets, 2);
	close(fd);
	ep_free(&a);
	ev_loop_destroy(loop);
}

static void test_ipv6_unicast(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct crypt_key *k = test_key();
	struct ep a = { .loop = loop, .id = 1 }, b = { .loop = loop, .id = 2 };
	struct udp_conf c = { .local_addr = "::1" };
	struct udp_peer pa, pb;
	int rc;

	rc = udp_open(loop, &c, ep_recv, &a, &a.u);
	if (rc) {
		printf("test_udp: SKIP test_ipv6_unicast: cannot bind ::1: %s\n", strerror(-rc));
		ev_loop_destroy(loop);
		crypt_key_free(k);
		return;
	}
	T_EQ_INT(udp_open(loop, &c, ep_recv, &b, &b.u), 0);
	pa = (struct udp_peer){ .id = 1, .addr = "::1", .port = udp_port(a.u) };
	pb = (struct udp_peer){ .id = 2, .addr = "::1", .port = udp_port(b.u) };
	T_EQ_INT(udp_set_peers(a.u, &pb, 1), 0);
	T_EQ_INT(udp_set_peers(b.u, &pa, 1), 0);
	ep_msg(&a, k);
	ep_msg(&b, k);
	T_EQ_INT(msg_send(a.m, 0, "over ipv6", 9, ev_now(loop)), 0);
	T_ASSERT(run_until(loop, &b, 1, NULL, 0, 5.0));
	T_EQ_INT(b.ngot, 1);
	T_EQ_INT(b.got_len, 9);
	ep_free(&a);
	ep_free(&b);
	crypt_key_free(k);
	ev_loop_destroy(loop);
}

/* A port that is free right now on 127.0.0.1 and 127.0.0.2. */
static uint16_t free_port(void)
{
	struct sockaddr_in s;
	socklen_t len = sizeof(s);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&s, &len) < 0)
		abort();
	close(fd);
	return ntohs(s.sin_port);
}

/* Two nodes on 127.0.0.1 and 127.0.0.2 sharing a port and a group, as two
 * cfsd on one host would. */
static void test_multicast_loopback(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct crypt_key *k = test_key();
	struct ep a = { .loop = loop, .id = 1 }, b = { .loop = loop, .id = 2 };
	struct udp_conf c = { .mode = UDP_MCAST, .group = "239.192.55.128" };
	struct udp_peer pa = { .id = 1, .addr = "127.0.0.1" },
	                pb = { .id = 2, .addr = "127.0.0.2" };
	size_t len = 50000;
	uint8_t *data = xcalloc(1, len);
	int rc;

	c.port = free_port();
	c.local_addr = "127.0.0.1";
	c.peers = &pb;
	c.npeers = 1;
	rc = udp_open(loop, &c, ep_recv, &a, &a.u);
	if (rc) {
		printf("test_udp: SKIP test_multicast_loopback: the kernel refused the multicast "
		       "socket or join on lo: %s\n",
		       strerror(-rc));
		goto out;
	}
	c.local_addr = "127.0.0.2";
	c.peers = &pa;
	rc = udp_open(loop, &c, ep_recv, &b, &b.u);
	if (rc) {
		printf("test_udp: SKIP test_multicast_loopback: second node: %s\n", strerror(-rc));
		goto out;
	}
	ep_msg(&a, k);
	ep_msg(&b, k);
	T_EQ_INT(msg_send(a.m, 0, "to the group", 12, ev_now(loop)), 0);
	T_EQ_INT(udp_stats(a.u)->tx_packets, 1); /* one datagram for everyone */
	if (!run_until(loop, &b, 1, NULL, 0, 3.0)) {
		printf("test_udp: SKIP test_multicast_loopback: joined, but the kernel does not "
		       "deliver multicast on lo here\n");
		goto out;
	}
	T_EQ_INT(b.ngot, 1);
	T_EQ_INT(b.got_from, 1);
	T_EQ_MEM(b.got, "to the group", 12);
	/* A heard its own datagram through loopback and dropped it */
	T_ASSERT(udp_stats(a.u)->drop_self >= 1);
	T_EQ_INT(a.ngot, 0);
	/* a fragmented message over the group, with NACK repair as needed */
	data[7] = 7;
	T_EQ_INT(msg_send(b.m, 0, data, len, ev_now(loop)), 0);
	T_ASSERT(run_until(loop, &a, 1, NULL, 0, 5.0));
	T_EQ_INT(a.ngot, 1);
	T_EQ_INT(a.got_len, len);
	if (a.got_len == len)
		T_EQ_MEM(a.got, data, len);
out:
	free(data);
	ep_free(&a);
	ep_free(&b);
	crypt_key_free(k);
	ev_loop_destroy(loop);
}

/* IPv6 group on ::1 (interface lo): the join must work; sending needs a
 * route for ff15::/16, which a bare lo usually lacks (then: skip).  When
 * it can send, the datagram loops back and is dropped as our own. */
static void test_multicast_ipv6(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct udp_conf c = { .mode = UDP_MCAST, .group = "ff15::3749", .local_addr = "::1" };
	struct udp_conf cu = { .local_addr = "::1" };
	struct ep a = { .loop = loop, .id = 1 };
	struct udp *probe;
	int rc;

	if (udp_open(loop, &cu, ep_recv, NULL, &probe)) {
		printf("test_udp: SKIP test_multicast_ipv6: no ::1\n");
		goto out;
	}
	c.port = udp_port(probe); /* free a moment ago */
	udp_close(probe);
	rc = udp_open(loop, &c, ep_recv, &a, &a.u);
	if (rc) {
		printf("test_udp: SKIP test_multicast_ipv6: the kernel refused the IPv6 group on "
		       "lo: %s\n",
		       strerror(-rc));
		goto out;
	}
	rc = udp_send_all(a.u, (const uint8_t *)"x", 1);
	if (rc) {
		printf("test_udp: SKIP test_multicast_ipv6 (sending part): joined the group, but "
		       "cannot send to it from ::1: %s\n",
		       strerror(-rc));
		T_EQ_INT(udp_stats(a.u)->tx_errors, 1);
		goto out;
	}
	run_until(loop, &a, 1, NULL, 0, 1.0);
	T_EQ_INT(udp_stats(a.u)->drop_self, 1);
	T_EQ_INT(a.raw_rx, 0);
out:
	ep_free(&a);
	ev_loop_destroy(loop);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_mcast_derive);
	T_RUN(test_addr_parse);
	T_RUN(test_open_errors);
	T_RUN(test_unicast_200k);
	T_RUN(test_filtering);
	T_RUN(test_ipv6_unicast);
	T_RUN(test_multicast_loopback);
	T_RUN(test_multicast_ipv6);
	return t_done();
}
