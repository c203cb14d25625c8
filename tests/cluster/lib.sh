# tests/cluster/lib.sh - run several real cfsd nodes as separate hosts.
#
# Source it from a scenario script, then:
#
#	cluster_up N [udp|udpu]   N nodes node1..nodeN, a shared authkey and a
#	                          corosync.conf; starts every cfsd and waits for quorum
#	on I APPLET ARGS...       run a cfsbox applet against node I
#	kill_node I / stop_node I / start_node I / restart_node I
#	partition "1 2" "3"       cut the cluster into groups (links between groups drop)
#	heal                      undo every partition
#	wait_until SECS CMD...    poll CMD every 0.1 s until it succeeds (1 if it never does)
#	check NAME CMD...         run CMD, print "ok NAME" or "FAIL NAME", count it
#	trees_identical           every running node shows the same tree digest
#	status_field I KEY        a field of node I's `cfs-status --json`
#	leader_of I               the leader node I knows (its node id)
#	bench_writes I N DIR      N writes of 300 bytes through node I into DIR
#	cleanup_cluster           stop and remove this cluster (another may follow)
#	finish                    print "N passed, N failed"; the EXIT trap cleans up
#
# cluster_up N TRANSPORT nowait: do not wait for quorum.  WRONG_KEY_NODE=I:
# node I gets an authkey of its own.
#
# Hosts.  As root with `ip netns`: one network namespace per node, each with a
# veth into a hub namespace that holds a bridge, addresses 10.251.K.I/24 (K
# unique to the run); nothing is added to the machine's own namespace, and
# everything made is removed on exit.  A partition moves the hub ends of the
# veths of each group onto a bridge of its own, so unicast and multicast
# are cut alike.  Without root: loopback addresses 127.0.K.I and unicast only;
# scenarios that need partitions then exit 77 (skip).
#
# tc netem is not available on every kernel (it is not on the project
# machines), so loss and delay are injected inside cfsd's transport, with
# the test-only environment variables CFS_TEST_LOSS (0..1) and
# CFS_TEST_DELAY_MS, set per node by `start_node` (NODE_ENV[I]).  CFSD_ARGS
# adds options to every cfsd (e.g. -d).
set -u

CFSBOX=${CFSBOX:?set CFSBOX to the cfsbox binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/cfs-cluster.XXXXXX")
RUN_ID=$$
K=$((RUN_ID % 200 + 20))
NS_PREFIX="cfs${RUN_ID}"
HUB="${NS_PREFIX}hub"
NODES=0
TRANSPORT=udpu
USE_NETNS=0
PASS=0
FAIL=0
declare -a PIDS=()
declare -A NODE_ENV=()

log() { printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }

can_netns() {
	[ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns add "${NS_PREFIX}probe" 2>/dev/null &&
		ip netns del "${NS_PREFIX}probe"
}

node_ns() { echo "${NS_PREFIX}n$1"; }
node_addr() {
	if [ "$USE_NETNS" = 1 ]; then echo "10.251.$K.$1"; else echo "127.0.$K.$1"; fi
}
node_root() { echo "$T/node$1"; }

cleanup_cluster() {
	local i
	for i in "${!PIDS[@]}"; do
		[ -n "${PIDS[$i]}" ] && kill -9 "${PIDS[$i]}" 2>/dev/null
	done
	wait 2>/dev/null
	PIDS=()
	if [ "$USE_NETNS" = 1 ]; then
		for i in $(seq 1 "$NODES"); do ip netns del "$(node_ns "$i")" 2>/dev/null; done
		ip netns del "$HUB" 2>/dev/null
	fi
	if [ "$FAIL" != 0 ] || [ -n "${KEEP:-}" ]; then
		for i in $(seq 1 "$NODES"); do
			[ -f "$(node_root "$i").log" ] && { echo "--- node$i log (tail)"; tail -15 "$(node_root "$i").log"; }
		done
	fi
	rm -rf "${T:?}"/node* "$T"/corosync.conf "$T"/authkey
	NODES=0
	K=$((K + 1))
}

cleanup() {
	cleanup_cluster
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

net_up() {
	local i ns
	ip netns add "$HUB"
	ip -n "$HUB" link set lo up
	# a switch, not a firewall: frames crossing the hub's bridges skip
	# iptables (br_netfilter's hooks are per namespace; this one is ours)
	for k in iptables ip6tables arptables; do
		ip netns exec "$HUB" sysctl -qw "net.bridge.bridge-nf-call-$k=0" 2>/dev/null || true
	done
	ip -n "$HUB" link add br0 type bridge
	ip -n "$HUB" link set br0 up
	ip -n "$HUB" link add br1 type bridge
	ip -n "$HUB" link set br1 up
	ip -n "$HUB" link add br2 type bridge
	ip -n "$HUB" link set br2 up
	for i in $(seq 1 "$NODES"); do
		ns=$(node_ns "$i")
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip -n "$HUB" link add "h$i" type veth peer name eth0 netns "$ns"
		ip -n "$HUB" link set "h$i" master br0 up
		ip -n "$ns" addr add "$(node_addr "$i")/24" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add 224.0.0.0/4 dev eth0
	done
}

write_conf() {
	local i
	{
		echo "logging {"
		echo "  debug: off"
		echo "  to_syslog: yes"
		echo "}"
		echo
		echo "nodelist {"
		for i in $(seq 1 "$NODES"); do
			echo "  node {"
			echo "    name: node$i"
			echo "    nodeid: $i"
			echo "    quorum_votes: 1"
			echo "    ring0_addr: $(node_addr "$i")"
			echo "  }"
		done
		echo "}"
		echo
		echo "quorum {"
		echo "  provider: corosync_votequorum"
		echo "}"
		echo
		echo "totem {"
		echo "  cluster_name: test$K"
		echo "  config_version: 1"
		echo "  interface {"
		echo "    linknumber: 0"
		echo "  }"
		echo "  ip_version: ipv4"
		echo "  secauth: on"
		echo "  transport: $TRANSPORT"
		echo "  version: 2"
		echo "}"
		echo
	} >"$T/corosync.conf"
}

# cluster_up N [udp|udpu]
cluster_up() {
	local i
	NODES=$1
	TRANSPORT=${2:-udpu}
	if can_netns; then
		USE_NETNS=1
		net_up
	fi
	head -c 256 /dev/urandom >"$T/authkey"
	write_conf
	for i in $(seq 1 "$NODES"); do
		mkdir -p "$(node_root "$i")/etc/corosync"
		cp "$T/corosync.conf" "$(node_root "$i")/etc/corosync/corosync.conf"
		install -m 0400 "$T/authkey" "$(node_root "$i")/etc/corosync/authkey"
		if [ "${WRONG_KEY_NODE:-0}" = "$i" ]; then
			rm -f "$(node_root "$i")/etc/corosync/authkey"
			head -c 256 /dev/urandom >"$(node_root "$i")/etc/corosync/authkey"
		fi
		start_node "$i"
	done
	[ "${3:-}" = nowait ] && return 0
	wait_until 15 all_quorate || {
		log "cluster did not become quorate"
		return 1
	}
}

all_quorate() {
	local i
	for i in $(seq 1 "$NODES"); do
		[ -n "${PIDS[$i]:-}" ] || continue
		on "$i" quorum-check -q || return 1
	done
}

start_node() {
	local i=$1 root
	root=$(node_root "$i")
	if [ "$USE_NETNS" = 1 ]; then
		env ${NODE_ENV[$i]:-} ip netns exec "$(node_ns "$i")" "$CFSBOX" cfsd -f ${CFSD_ARGS:-} --root "$root" \
			--name "node$i" >>"$root.log" 2>&1 &
	else
		env ${NODE_ENV[$i]:-} "$CFSBOX" cfsd -f ${CFSD_ARGS:-} --root "$root" --name "node$i" >>"$root.log" 2>&1 &
	fi
	PIDS[$i]=$!
	wait_until 10 test -S "$root/run/cfsd/cfsd.sock" || log "node$i: no socket after 10 s"
}

kill_node() {
	[ -n "${PIDS[$1]:-}" ] || return 0
	kill -9 "${PIDS[$1]}" 2>/dev/null
	wait "${PIDS[$1]}" 2>/dev/null
	PIDS[$1]=
}

stop_node() {
	[ -n "${PIDS[$1]:-}" ] || return 0
	kill -TERM "${PIDS[$1]}" 2>/dev/null
	wait "${PIDS[$1]}" 2>/dev/null
	PIDS[$1]=
}

restart_node() {
	stop_node "$1"
	start_node "$1"
}

on() {
	local i=$1
	shift
	"$CFSBOX" "$@" --root "$(node_root "$i")"
}

# partition "1 2" "3 4 5": the hub ends of each group's veths go on a bridge
# of their own (br0, br1, br2)
partition() {
	[ "$USE_NETNS" = 1 ] || {
		log "partitions need network namespaces (root)"
		exit 77
	}
	local g=0 i
	for grp in "$@"; do
		for i in $grp; do ip -n "$HUB" link set "h$i" master "br$g"; done
		g=$((g + 1))
	done
}

heal() {
	local i
	[ "$USE_NETNS" = 1 ] || return 0
	for i in $(seq 1 "$NODES"); do ip -n "$HUB" link set "h$i" master br0; done
}

wait_until() {
	local secs=$1 end
	shift
	end=$(($(date +%s%N) / 1000000 + secs * 1000))
	while [ $(($(date +%s%N) / 1000000)) -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

check() {
	local name=$1
	shift
	if "$@"; then
		PASS=$((PASS + 1))
		echo "ok   $name"
	else
		FAIL=$((FAIL + 1))
		echo "FAIL $name"
	fi
}

status_field() { # status_field I KEY: a field of cfs-status --json
	on "$1" cfs-status --json 2>/dev/null | tr ',{}' '\n\n\n' |
		sed -n "s/^ *\"$2\": *\"\{0,1\}\([^\"]*\)\"\{0,1\} *$/\1/p" | head -1
}

leader_of() {
	status_field "$1" leader
}

trees_identical() {
	local i d first=
	for i in $(seq 1 "$NODES"); do
		[ -n "${PIDS[$i]:-}" ] || continue
		d=$(status_field "$i" digest)
		[ -n "$d" ] || return 1
		if [ -z "$first" ]; then first=$d; elif [ "$d" != "$first" ]; then return 1; fi
	done
	[ -n "$first" ]
}

same_content() { # same_content I PATH FILE
	on "$1" cfs-cat "$2" 2>/dev/null | cmp -s - "$3"
}

bench_writes() { # bench_writes I N DIR: N writes of 300 bytes; fails if any fails
	local i=$1 n=$2 dir=$3 k data
	data=$(head -c 225 /dev/urandom | base64 -w0)
	for k in $(seq 1 "$n"); do
		echo "$data" | on "$i" cfs-put "$dir/$k" || return 1
	done
}

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
}
