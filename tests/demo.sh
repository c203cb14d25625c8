#!/usr/bin/env bash
# tests/demo.sh CFSBOX - show cfsbox working, with no root and no
# configuration, in a directory of its own that is removed at the end.
set -euo pipefail
CFSBOX=${1:?usage: demo.sh CFSBOX}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/cfsbox-demo.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

show() {
	printf '\n$ %s\n' "$*"
	"$@"
}

export CFS_ROOT=$DIR
echo "cfsbox demo: one node in local mode under $DIR (CFS_ROOT)"
"$CFSBOX" cfsd -f --name demo1 2>"$DIR.log" &
PID=$!
for _ in $(seq 100); do
	[ -S "$DIR/run/cfsd/cfsd.sock" ] && break
	sleep 0.05
done
[ -S "$DIR/run/cfsd/cfsd.sock" ] || {
	echo "cfsd did not start:"
	cat "$DIR.log"
	exit 1
}

show "$CFSBOX" quorum-check
show "$CFSBOX" cfs-mkdir -p /nodes/demo1/qemu-server
printf 'name: web01\nmemory: 2048\ncores: 2\n' >"$DIR/100.conf"
show "$CFSBOX" cfs-put /nodes/demo1/qemu-server/100.conf <"$DIR/100.conf"
show "$CFSBOX" cfs-cat /nodes/demo1/qemu-server/100.conf
show "$CFSBOX" cfs-ls -l /nodes/demo1/qemu-server
show "$CFSBOX" cfs-cat /.vmlist
echo
echo "# the same VM id on another node is refused, as in pmxcfs:"
show "$CFSBOX" cfs-mkdir -p /nodes/demo2/qemu-server
show "$CFSBOX" cfs-put /nodes/demo2/qemu-server/100.conf <"$DIR/100.conf" || true
echo
echo "# kill -9 the daemon and start it again: every answered write is there"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
"$CFSBOX" cfsd -f --name demo1 2>>"$DIR.log" &
PID=$!
for _ in $(seq 100); do
	"$CFSBOX" quorum-check -q && break
	sleep 0.05
done
show "$CFSBOX" cfs-ls -R /
if [ -L "$DIR/etc/pve/local" ]; then
	echo
	echo "# as root, cfsd also mounts the tree with FUSE at \$CFS_ROOT/etc/pve, as pmxcfs"
	echo "# does at /etc/pve: plain files for every program, one change per written file"
	show ls -l "$DIR/etc/pve/local/qemu-server/"
	show sh -c "echo 'sockets: 1' >>'$DIR/etc/pve/local/qemu-server/100.conf'"
	show "$CFSBOX" cfs-cat /nodes/demo1/qemu-server/100.conf
fi
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=

echo
echo "# part 2: a 3-node cluster on loopback addresses (no root needed)"
unset CFS_ROOT
NET=127.0.$((RANDOM % 200 + 20))
head -c 256 /dev/urandom >"$DIR/authkey"
{
	printf 'logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n'
	for i in 1 2 3; do
		printf '  node {\n    name: node%s\n    nodeid: %s\n    quorum_votes: 1\n' "$i" "$i"
		printf '    ring0_addr: %s.%s\n  }\n' "$NET" "$i"
	done
	printf '}\n\nquorum {\n  provider: corosync_votequorum\n}\n\n'
	printf 'totem {\n  cluster_name: demo\n  config_version: 1\n  interface {\n'
	printf '    linknumber: 0\n  }\n  ip_version: ipv4\n  secauth: on\n  transport: udpu\n'
	printf '  version: 2\n}\n\n'
} >"$DIR/corosync.conf"
PIDS=()
for i in 1 2 3; do
	mkdir -p "$DIR/node$i/etc/corosync"
	cp "$DIR/corosync.conf" "$DIR/node$i/etc/corosync/"
	install -m 0400 "$DIR/authkey" "$DIR/node$i/etc/corosync/authkey"
	"$CFSBOX" cfsd -f --root "$DIR/node$i" --name "node$i" 2>>"$DIR.log" &
	PIDS[$i]=$!
done
cleanup_cluster() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
trap 'cleanup_cluster; cleanup' EXIT
for i in 1 2 3; do
	"$CFSBOX" quorum-check --root "$DIR/node$i" -q -w 15 || {
		echo "node$i did not become quorate:"
		tail "$DIR.log"
		exit 1
	}
done
show "$CFSBOX" pvecm status --root "$DIR/node1"
echo "written on node1" >"$DIR/msg"
show "$CFSBOX" cfs-put --root "$DIR/node1" /hello <"$DIR/msg"
sleep 0.3 # replication takes well under a millisecond; the process start does not
show "$CFSBOX" cfs-cat --root "$DIR/node2" /hello
show "$CFSBOX" cfs-cat --root "$DIR/node3" /hello
echo
echo "# stop node3: nodes 1 and 2 still have quorum and take writes"
kill "${PIDS[3]}"
wait "${PIDS[3]}" 2>/dev/null
unset 'PIDS[3]'
echo "written on node2 with node3 down" >"$DIR/msg"
show "$CFSBOX" cfs-put --root "$DIR/node2" /hello <"$DIR/msg"
show "$CFSBOX" cfs-cat --root "$DIR/node1" /hello
sleep 1 # a node silent for 0.8 s leaves the membership view
show "$CFSBOX" pvecm nodes --root "$DIR/node1"
cleanup_cluster
PIDS=()
echo
echo "demo done; the directory $DIR is removed now"
rm -f "$DIR.log"
