/* net/udp.c - the cluster's UDP sockets on the libev loop.
 *
 * Invariants:
 *  1. Watchers are members of struct udp; udp_close() stops them before
 *     closing the descriptors and freeing.
 *  2. Nothing here logs per datagram: drops are counted in u->stats.
 *  3. A datagram reaches the callback only if it fit in UDP_DGRAM_MAX
 *     bytes and, once peers are known, came from a listed peer.
 */
#define LOG_TAG "udp"
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net/udp.h"
#include "core/util.h"

int udp_addr_parse(const char *s, uint16_t port, struct udp_addr *out)
{
	struct addrinfo hints, *res;
	char serv[8];

	if (!s || !*s)
		return -EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%u", (unsigned)port);
	if (getaddrinfo(s, serv, &hints, &res) != 0)
		return -EINVAL;
	if (res->ai_addrlen > sizeof(out->ss) ||
	    (res->ai_family != AF_INET && res->ai_family != AF_INET6)) {
		freeaddrinfo(res);
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int udp_mcast_derive(const char *cluster_name, unsigned linknumber, int family, char *out,
                     size_t outlen)
{
	uint32_t v = 0;
	uint16_t id;
	const char *c;
	int n;

	if (!cluster_name || !*cluster_name)
		return -EINVAL;
	/* corosync totemconfig.c: v = (v << 1) + (signed char)c, in int */
	for (c = cluster_name; *c; c++)
		v = (v << 1) + (uint32_t)(int32_t)(signed char)*c;
	id = (uint16_t)((v & 0xffff) + linknumber);
	if (family == AF_INET)
		n = snprintf(out, outlen, "239.192.%u.%u", (unsigned)(id >> 8),
		             (unsigned)(id % 255));
	else if (family == AF_INET6)
		n = snprintf(out, outlen, "ff15::%x", (unsigned)id);
	else
		return -EINVAL;
	if (n < 0 || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	return 0;
}

static uint16_t addr_port(const struct udp_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* same family, address and port */
static bool addr_equal(const struct udp_addr *a, const struct sockaddr_storage *b)
{
	if (a->ss.ss_family != b->ss_family)
		return false;
	if (b->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (b->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
	}
	return false;
}

static bool addr_is_multicast(const struct udp_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return IN_MULTICAST(ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr));
	return IN6_IS_ADDR_MULTICAST(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

/* The index of the interface that has the IPv6 address of a (0 if none). */
static unsigned ifindex_of(const struct udp_addr *a)
{
	const struct sockaddr_in6 *want = (const void *)&a->ss;
	struct ifaddrs *ifs, *i;
	unsigned idx = 0;

	if (want->sin6_scope_id)
		return want->sin6_scope_id;
	if (getifaddrs(&ifs) < 0)
		return 0;
	for (i = ifs; i && !idx; i = i->ifa_next) {
		const struct sockaddr_in6 *s = (const void *)i->ifa_addr;

		if (s && s->sin6_family == AF_INET6 &&
		    !memcmp(&s->sin6_addr, &want->sin6_addr, sizeof(s->sin6_addr)))
			idx = if_nametoindex(i->ifa_name);
	}
	freeifaddrs(ifs);
	return idx;
}

static int set_opt(int fd, int level, int name, const void *v, socklen_t len)
{
	return setsockopt(fd, level, name, v, len) < 0 ? -errno : 0;
}

/* Room for a burst of fragments (a 4 MiB message is ~3100 datagrams):
 * the FORCE variants work for root beyond net.core.[rw]mem_max; without
 * privileges the kernel caps the plain ones.  Failure is not an error:
 * lost fragments are asked for again. */
static void set_buffers(int fd)
{
	int size = UDP_SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

/* SO_REUSEADDR only on the group socket, which every node on the host
 * binds to group:port; the unicast socket stays exclusive, so a second
 * daemon on the same address fails with -EADDRINUSE instead of silently
 * stealing half of the traffic. */
static int open_socket(const struct udp_addr *bind_to, bool reuse, int *out)
{
	int fd, one = 1, rc = 0;

	fd = socket(bind_to->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (reuse)
		rc = set_opt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!rc && bind_to->ss.ss_family == AF_INET6)
		rc = set_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (!rc)
		set_buffers(fd);
	if (!rc && bind(fd, (const struct sockaddr *)&bind_to->ss, bind_to->len) < 0)
		rc = -errno;
	if (rc) {
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* Sending socket options and the group membership of the receiving one. */
static int mcast_setup(struct udp *u)
{
	int ttl = 1, loop = 1, rc;

	if (u->local.ss.ss_family == AF_INET) {
		struct ip_mreq mr;
		struct in_addr ifaddr = ((const struct sockaddr_in *)&u->local.ss)->sin_addr;

		rc = set_opt(u->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
		if (!rc)
			rc = set_opt(u->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop));
		if (!rc)
			rc = set_opt(u->fd, IPPROTO_IP, IP_MULTICAST_IF, &ifaddr, sizeof(ifaddr));
		if (rc)
			return rc;
		memset(&mr, 0, sizeof(mr));
		mr.imr_multiaddr = ((const struct sockaddr_in *)&u->group.ss)->sin_addr;
		mr.imr_interface = ifaddr;
		return set_opt(u->mfd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr));
	} else {
		struct ipv6_mreq mr;
		unsigned idx = ifindex_of(&u->local);

		rc = set_opt(u->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl));
		if (!rc)
			rc = set_opt(u->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop));
		if (!rc && idx)
			rc = set_opt(u->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx));
		if (rc)
			return rc;
		memset(&mr, 0, sizeof(mr));
		mr.ipv6mr_multiaddr = ((const struct sockaddr_in6 *)&u->group.ss)->sin6_addr;
		mr.ipv6mr_interface = idx;
		return set_opt(u->mfd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr));
	}
}

static void receive(struct udp *u, int fd)
{
	struct sockaddr_storage from;
	socklen_t fromlen;
	ssize_t n;
	uint32_t id;
	size_t i, k;

	for (k = 0; k < UDP_RECV_BATCH; k++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, u->buf, sizeof(u->buf), 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			u->stats.rx_errors++;
			return;
		}
		if ((size_t)n > UDP_DGRAM_MAX) {
			u->stats.drop_trunc++;
			continue;
		}
		if (addr_equal(&u->local, &from)) {
			u->stats.drop_self++;
			continue;
		}
		id = 0;
		if (u->npeers) {
			for (i = 0; i < u->npeers; i++)
				if (addr_equal(&u->peers[i].addr, &from))
					break;
			if (i == u->npeers) {
				u->stats.drop_unknown++;
				continue;
			}
			id = u->peers[i].id;
		}
		u->stats.rx_packets++;
		u->cb(u->ctx, id, u->buf, (size_t)n);
	}
}

static void udp_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp *u = container_of(w, struct udp, io);

	(void)loop;
	(void)revents;
	receive(u, u->fd);
}

static void udp_mread_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp *u = container_of(w, struct udp, mio);

	(void)loop;
	(void)revents;
	receive(u, u->mfd);
}

int udp_set_peers(struct udp *u, const struct udp_peer *peers, size_t n)
{
	struct udp_peer_slot *p;
	size_t i;
	int rc;

	if (n > UDP_PEERS_MAX)
		return -EINVAL;
	p = xcalloc(n ? n : 1, sizeof(*p));
	for (i = 0; i < n; i++) {
		rc = udp_addr_parse(peers[i].addr, peers[i].port ? peers[i].port : udp_port(u),
		                    &p[i].addr);
		if (rc || !peers[i].id || p[i].addr.ss.ss_family != u->local.ss.ss_family) {
			free(p);
			return -EINVAL;
		}
		p[i].id = peers[i].id;
	}
	free(u->peers);
	u->peers = p;
	u->npeers = n;
	return 0;
}

int udp_open(struct ev_loop *loop, const struct udp_conf *conf, udp_recv_fn *cb, void *ctx,
             struct udp **out)
{
	struct udp *u;
	socklen_t len;
	int rc;

	u = xcalloc(1, sizeof(*u));
	u->loop = loop;
	u->fd = u->mfd = -1;
	u->mode = conf->mode;
	u->cb = cb;
	u->ctx = ctx;
	rc = udp_addr_parse(conf->local_addr, conf->port, &u->local);
	if (rc)
		goto out_free;
	if (conf->mode == UDP_MCAST) {
		rc = udp_addr_parse(conf->group, conf->port, &u->group);
		if (rc || u->group.ss.ss_family != u->local.ss.ss_family ||
		    !addr_is_multicast(&u->group) || !conf->port) {
			rc = -EINVAL;
			goto out_free;
		}
	}
	rc = open_socket(&u->local, false, &u->fd);
	if (rc)
		goto out_free;
	len = sizeof(u->local.ss);
	if (getsockname(u->fd, (struct sockaddr *)&u->local.ss, &len) < 0) {
		rc = -errno;
		goto out_close;
	}
	u->local.len = len;
	if (conf->mode == UDP_MCAST) {
		rc = open_socket(&u->group, true, &u->mfd);
		if (rc)
			goto out_close;
		rc = mcast_setup(u);
		if (rc)
			goto out_close;
	}
	rc = udp_set_peers(u, conf->peers, conf->npeers);
	if (rc)
		goto out_close;

	ev_io_init(&u->io, udp_read_cb, u->fd, EV_READ);
	ev_io_start(loop, &u->io);
	if (u->mfd >= 0) {
		ev_io_init(&u->mio, udp_mread_cb, u->mfd, EV_READ);
		ev_io_start(loop, &u->mio);
	}
	*out = u;
	return 0;

out_close:
	if (u->mfd >= 0)
		close(u->mfd);
	close(u->fd);
out_free:
	free(u->peers);
	free(u);
	return rc;
}

void udp_close(struct udp *u)
{
	if (!u)
		return;
	ev_io_stop(u->loop, &u->io);
	if (u->mfd >= 0) {
		ev_io_stop(u->loop, &u->mio);
		close(u->mfd);
	}
	close(u->fd);
	free(u->peers);
	free(u);
}

static int send_one(struct udp *u, const struct udp_addr *to, const uint8_t *p, size_t n)
{
	if (sendto(u->fd, p, n, MSG_NOSIGNAL, (const struct sockaddr *)&to->ss, to->len) < 0) {
		u->stats.tx_errors++;
		return -errno;
	}
	u->stats.tx_packets++;
	return 0;
}

int udp_send_all(struct udp *u, const uint8_t *p, size_t n)
{
	size_t i;
	int rc = 0, r;

	if (n > UDP_DGRAM_MAX)
		return -EINVAL;
	if (u->mode == UDP_MCAST)
		return send_one(u, &u->group, p, n);
	for (i = 0; i < u->npeers; i++) {
		if (addr_equal(&u->local, &u->peers[i].addr.ss))
			continue; /* ourselves, if listed */
		r = send_one(u, &u->peers[i].addr, p, n);
		if (r)
			rc = r;
	}
	return rc;
}

int udp_send_to(struct udp *u, uint32_t id, const uint8_t *p, size_t n)
{
	size_t i;

	if (n > UDP_DGRAM_MAX)
		return -EINVAL;
	for (i = 0; i < u->npeers; i++)
		if (u->peers[i].id == id)
			return send_one(u, &u->peers[i].addr, p, n);
	return -ENOENT;
}

uint16_t udp_port(const struct udp *u)
{
	return addr_port(&u->local);
}

const struct udp_stats *udp_stats(const struct udp *u)
{
	return &u->stats;
}
