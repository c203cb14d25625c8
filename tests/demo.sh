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
echo
echo "demo done; the directory $DIR is removed now"
rm -f "$DIR.log"
