# tests/cluster/pvecm_lib.sh - nodes that start in local mode, for the
# pvecm scenarios (tests/cluster/1*-pvecm-*.sh).  Source lib.sh first.
#
#	pv_up N          N hosts node01..node0N in network namespaces, each cfsd
#	                 in local mode (no corosync.conf); needs root (else 77)
#	pv_start I       start (or restart) cfsd of node I, name node0I
#	pv I ARGS...     run `pvecm ARGS` inside node I's namespace
#	ons I APPLET ... run an applet inside node I's namespace
#	fp_of I          the SHA-256 fingerprint of node I's certificate (openssl)
#	cluster_of I     "cluster" field of node I's IPC_OP_CLUSTER answer (via pvecm status)
#	create_join NAME I...  create NAME on the first node, then join the others
#	                 with a fresh token each and the pinned fingerprint
# shellcheck shell=bash disable=SC2034

pv_name() { printf 'node%02d' "$1"; }

pv_start() {
	local i=$1 root
	root=$(node_root "$i")
	mkdir -p "$root"
	env ${NODE_ENV[$i]:-} ip netns exec "$(node_ns "$i")" "$CFSBOX" cfsd -f --root "$root" \
		--name "$(pv_name "$i")" >>"$root.log" 2>&1 &
	PIDS[$i]=$!
	wait_until 10 test -S "$root/run/cfsd/cfsd.sock" || log "node$i: no socket after 10 s"
}

pv_up() {
	local i
	NODES=$1
	if ! can_netns; then
		echo "skip: the pvecm scenarios need root and ip netns"
		exit 77
	fi
	USE_NETNS=1
	net_up
	for i in $(seq 1 "$NODES"); do pv_start "$i"; done
}

ons() {
	local i=$1
	shift
	ip netns exec "$(node_ns "$i")" "$CFSBOX" "$@" --root "$(node_root "$i")"
}

pv() {
	local i=$1
	shift
	ip netns exec "$(node_ns "$i")" "$CFSBOX" pvecm "$@" --root "$(node_root "$i")"
}

fp_of() {
	on "$1" cfs-cat "nodes/$(pv_name "$1")/pve-ssl.pem" | openssl x509 -noout -fingerprint -sha256 |
		sed 's/.*=//'
}

# join I HOSTNODE [pvecm add options]: join node I to the cluster of node
# HOSTNODE with a new token and the pinned fingerprint; output in $T/join.I
join() {
	local i=$1 h=$2 tok fp
	shift 2
	tok=$(pv "$h" token) || return 1
	fp=$(fp_of "$h")
	pv "$i" add "$(node_addr "$h")" --fingerprint "$fp" --token "$tok" "$@" >"$T/join.$i" 2>&1
}

create_join() {
	local name=$1 first=$2 i
	shift 2
	pv "$first" create "$name" >"$T/create.$first" 2>&1 || {
		cat "$T/create.$first"
		return 1
	}
	for i in "$@"; do
		join "$i" "$first" || {
			cat "$T/join.$i"
			return 1
		}
	done
}

has() { grep -qF -- "$1" "$2"; }

# expect_fail NAME MESSAGE CMD...: CMD must fail with MESSAGE in its output
expect_fail() {
	local name=$1 msg=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>&1 || rc=$?
	if [ "$rc" != 0 ] && has "$msg" "$T/out"; then
		PASS=$((PASS + 1))
		echo "ok   $name"
	else
		FAIL=$((FAIL + 1))
		echo "FAIL $name (exit $rc): $(head -c 400 "$T/out")"
	fi
}

conf_version() { # conf_version I: config_version of node I's host corosync.conf
	sed -n 's/^ *config_version: *//p' "$(node_root "$1")/etc/corosync/corosync.conf" 2>/dev/null
}

is_local_mode() { # node I runs in local mode with no host corosync files
	local r
	r=$(node_root "$1")
	[ ! -e "$r/etc/corosync/corosync.conf" ] && [ ! -e "$r/etc/corosync/authkey" ] &&
		pv "$1" status 2>&1 | grep -q 'does not exist - is this node part of a cluster?'
}
