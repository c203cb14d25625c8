/* net/udp.h - the cluster's UDP sockets on the libev loop.
 *
 * One struct udp per node.  It binds the node's ring0 address and port
 * (totem.interface.mcastport, 5405) and sends datagrams either
 *	UDP_MCAST    (transport: udp) one packet to the multicast group,
 *	             group:port; a second socket bound to group:port with
 *	             SO_REUSEADDR receives the group (corosync totemudp does
 *	             the same), TTL 1, loopback on so that several nodes on
 *	             one host (different local addresses, same port) hear
 *	             each other; or
 *	UDP_UNICAST  (transport: udpu, knet) one packet per peer.
 * udp_send_to() is always unicast.  IPv4 and IPv6 (numeric addresses).
 *
 * Receiving: a buffer of UDP_DGRAM_MAX + 1 bytes; a datagram that fills
 * it was truncated and is dropped.  Once the peer list is not empty,
 * datagrams from addresses that are not peers are dropped (corosync
 * block_unlisted_ips); datagrams from our own address (multicast
 * loopback) are dropped.  Every drop is counted in struct udp_stats;
 * nothing here logs per packet.
 *
 * The unicast socket is bound without SO_REUSEADDR: a second daemon on
 * the same address and port gets -EADDRINUSE.
 *
 * Peers match by address and port; a peer whose port is 0 in the list
 * gets the local port (the usual case: every node uses 5405).
 *
 * The receive callback gets the datagram (borrowed for the call) and the
 * id of the peer it came from (0 if no peer list is set).  It may call
 * udp_send_*() and udp_set_peers(), but not udp_close().
 */
#ifndef NET_UDP_H
#define NET_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "core/loop.h"

#define UDP_DGRAM_MAX  1400 /* = MSG_DGRAM_MAX */
#define UDP_PORT       5405
#define UDP_PEERS_MAX  1024
#define UDP_RECV_BATCH 64                /* datagrams read per readiness event */
#define UDP_SOCKBUF    (8 * 1024 * 1024) /* SO_RCVBUF/SO_SNDBUF asked for */

enum udp_mode {
	UDP_UNICAST = 0,
	UDP_MCAST = 1,
};

struct udp_peer {
	uint32_t id;      /* node id, != 0 */
	const char *addr; /* numeric IPv4/IPv6 address */
	uint16_t port;    /* 0: the local port */
};

struct udp_conf {
	const char *local_addr; /* numeric, the node's ring0 address */
	uint16_t port;          /* 0: ephemeral (tests; not with UDP_MCAST) */
	enum udp_mode mode;
	const char *group; /* UDP_MCAST: numeric multicast group, same family */
	const struct udp_peer *peers;
	size_t npeers;
};

struct udp_stats {
	uint64_t rx_packets;   /* handed to the callback */
	uint64_t drop_trunc;   /* larger than UDP_DGRAM_MAX */
	uint64_t drop_unknown; /* source not in the peer list */
	uint64_t drop_self;    /* our own datagrams (multicast loopback) */
	uint64_t rx_errors;    /* recvmsg() failures other than EAGAIN */
	uint64_t tx_packets;
	uint64_t tx_errors; /* sendto() failures, datagram dropped */
};

typedef void udp_recv_fn(void *ctx, uint32_t from_id, const uint8_t *p, size_t n);

struct udp_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct udp_peer_slot {
	uint32_t id;
	struct udp_addr addr;
};

/* Fields are private to net/udp.c; the watchers live here (§3.5 rule 5). */
struct udp {
	struct ev_loop *loop;
	int fd;    /* bound to local:port; sends and receives unicast */
	int mfd;   /* UDP_MCAST: bound to group:port, receives the group; else -1 */
	ev_io io;  /* on fd */
	ev_io mio; /* on mfd */
	enum udp_mode mode;
	struct udp_addr local; /* with the bound port */
	struct udp_addr group; /* UDP_MCAST: group:port */
	struct udp_peer_slot *peers;
	size_t npeers;
	udp_recv_fn *cb;
	void *ctx;
	struct udp_stats stats;
	uint8_t buf[UDP_DGRAM_MAX + 1];
};

/* Open the sockets and start the watchers.  0, -EINVAL (bad address,
 * family mismatch, group not multicast, bad peer), or the -errno of
 * socket()/bind()/setsockopt() (-EADDRINUSE, -EADDRNOTAVAIL, -ENODEV
 * when the kernel refuses the multicast join). */
int udp_open(struct ev_loop *loop, const struct udp_conf *conf, udp_recv_fn *cb, void *ctx,
             struct udp **out);
/* Stop the watchers, close the sockets, free.  Accepts NULL. */
void udp_close(struct udp *u);

/* Replace the peer list (membership change).  0 or -EINVAL (bad address,
 * id 0, more than UDP_PEERS_MAX); on error the old list stays. */
int udp_set_peers(struct udp *u, const struct udp_peer *peers, size_t n);

/* Send to every other node: one multicast datagram, or one per peer.
 * 0, or the last -errno of sendto() (the other peers are still tried);
 * -EINVAL if n > UDP_DGRAM_MAX. */
int udp_send_all(struct udp *u, const uint8_t *p, size_t n);
/* Send to one peer by node id.  0, -ENOENT (unknown id), -EINVAL, or
 * the -errno of sendto(). */
int udp_send_to(struct udp *u, uint32_t id, const uint8_t *p, size_t n);

/* The bound local port (useful with port 0). */
uint16_t udp_port(const struct udp *u);
const struct udp_stats *udp_stats(const struct udp *u);

/* Parse a numeric IPv4/IPv6 address with a port.  0 or -EINVAL. */
int udp_addr_parse(const char *s, uint16_t port, struct udp_addr *out);
/* corosync's default multicast group for a cluster name (spec/corosync.md
 * §1.6): "239.192.X.Y" for AF_INET, "ff15::<hex>" for AF_INET6, written
 * into out.  0, -EINVAL (empty name, other family) or -ENAMETOOLONG. */
int udp_mcast_derive(const char *cluster_name, unsigned linknumber, int family, char *out,
                     size_t outlen);

#endif /* NET_UDP_H */
