#!/usr/bin/env bash
# tests/bench/bench.sh - the figures of issue 2 for one local cfsd.
#
#	CFSBOX=./cfsbox bash tests/bench/bench.sh      (./build.sh bench does this)
#
# Needs tests/bench/cfs-bench (built by ./build.sh bench).  Runs cfsd
# with --root in a fresh temporary directory (BENCH_DIR=/some/dir to put
# it on another file system, e.g. /dev/shm for the CPU path alone) and
# prints:
#   - the cost of one write+fdatasync on that file system (reference)
#   - 300-byte writes through IPC, 1 client and 8 clients: ops/s, p50, p99
#   - bytes written per 300-byte write before compaction: journal growth,
#     and the device-level bytes from /proc/<cfsd>/io (page rewrites and
#     all)
#   - cold start with 20 000 files of ~1.5 KB: cfsd exec to the first
#     answered read
#   - VmRSS of cfsd after that load
#   - the same after the files were rewritten twice (compaction: the
#     start reads a snapshot and the journal written since)
# Benchmarks print figures; they are not timed tests.
set -u
CFSBOX=${CFSBOX:-./cfsbox}
case $CFSBOX in /*) ;; *) CFSBOX=$PWD/$CFSBOX ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=${CFS_BENCH:-$HERE/cfs-bench}
[ -x "$BENCH" ] || {
	echo "bench.sh: $BENCH missing (./build.sh bench builds it)"
	exit 1
}
ONE=${BENCH_OPS_1:-2000}
EIGHT=${BENCH_OPS_8:-16000}
FILES=${BENCH_FILES:-20000}
T=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/cfs-bench.XXXXXX")
ROOT=$T/root
mkdir -p "$ROOT"
PID=
cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

start() {
	"$CFSBOX" cfsd -f --root "$ROOT" --name bench 2>>"$T/cfsd.log" &
	PID=$!
	"$CFSBOX" quorum-check --root "$ROOT" -q -w 10 || {
		echo "cfsd did not start"
		tail "$T/cfsd.log"
		exit 1
	}
}
stop() {
	kill -TERM "$PID"
	wait "$PID" 2>/dev/null
	PID=
}
# bytes of journal records (the files also hold preallocated zeros)
jsize() { "$CFSBOX" cfs-status --root "$ROOT" --json | sed -E 's/.*"journal_bytes":([0-9]+).*/\1/'; }
wbytes() { awk '/^write_bytes/ { print $2 }' "/proc/$PID/io" 2>/dev/null || echo 0; }
wchar() { awk '/^wchar/ { print $2 }' "/proc/$PID/io" 2>/dev/null || echo 0; }
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\1/" <<<"$2"; }

echo "cfsbox bench: $(uname -m), $(nproc) CPUs, $(df -T "$T" | awk 'NR == 2 { print $2 }') at $T"
echo "binary: $CFSBOX ($(stat -c %s "$CFSBOX") bytes)"
python3 - "$T/probe" <<'PY' 2>/dev/null || true
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
t = time.perf_counter()
for _ in range(200):
    os.write(fd, b"x" * 370)
    os.fdatasync(fd)
print("reference: one 370-byte append + fdatasync on this file system: %.3f ms" % ((time.perf_counter() - t) / 200 * 1e3))
PY
rm -f "$T/probe"

start
j0=$(jsize)
w0=$(wbytes)
c0=$(wchar)
r1=$("$BENCH" --root "$ROOT" --ops "$ONE" --size 300 --clients 1 --prefix one)
j1=$(jsize)
w1=$(wbytes)
c1=$(wchar)
echo "300-byte writes, 1 client:  $(field ops_per_s "$r1") ops/s, p50 $(field p50_ms "$r1") ms, p99 $(field p99_ms "$r1") ms   [target >= 3000/s, p50 <= 0.3 ms]"
echo "  $r1"
r8=$("$BENCH" --root "$ROOT" --ops "$EIGHT" --size 300 --clients 8 --prefix eight)
echo "300-byte writes, 8 clients: $(field ops_per_s "$r8") ops/s, p50 $(field p50_ms "$r8") ms, p99 $(field p99_ms "$r8") ms   [target >= 10000/s]"
echo "  $r8"
echo "bytes per 300-byte write before compaction: journal $(((j1 - j0) / ONE)) B   [target <= 600]"
echo "  written by cfsd (/proc/pid/io wchar: journal records, and zeros where it preallocates) $(((c1 - c0) / ONE)) B; device level (write_bytes, 4 KiB page rewrites included) $(((w1 - w0) / ONE)) B"
# through the FUSE mount (root only)
if [ -L "$ROOT/etc/pve/local" ]; then
	. "$HERE/fuse_shell.sh"
	echo "through the FUSE mount, one shell, 300-byte files: $(fuse_shell "$ROOT/etc/pve")"
fi
stop

# cold start: a fresh root with FILES files of ~1.5 KB
rm -rf "$ROOT"
mkdir -p "$ROOT"
start
"$BENCH" --root "$ROOT" --ops "$FILES" --size 1500 --clients 32 --prefix load >"$T/load.json" ||
	echo "load: $(cat "$T/load.json")"
rss_warm=$(awk '/^VmRSS/ { print $2 }' "/proc/$PID/status")
j=$(jsize)
stop
echo "loaded $FILES files of 1500 bytes; journal $j bytes of records; VmRSS of the writing cfsd $rss_warm KiB"
sync
# cold_start WHAT TARGETS: three starts, exec to the first answered read
cold_start() {
	local run t0 t1 r rss
	for run in 1 2 3; do
		t0=$(date +%s%N)
		"$CFSBOX" cfsd -f --root "$ROOT" --name bench 2>>"$T/cfsd.log" &
		PID=$!
		r=$("$BENCH" --root "$ROOT" --wait-read load/0/0)
		t1=$(field answered_ns "$r")
		rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$PID/status")
		echo "cold start $run $1: exec to first answered read $(((t1 - t0) / 1000)) us$2; VmRSS $rss KiB$3"
		stop
	done
}
cold_start "with $FILES files" "   [target <= 50 ms]" "   [target <= 40 MiB]"
grep -o "replayed in [0-9.]* ms" "$T/cfsd.log" | tail -1 | sed 's/^/  cfsd log: /'

# the same files rewritten twice: compaction runs, and a start reads a
# snapshot plus the journal written since
start
for k in 1 2; do
	"$BENCH" --root "$ROOT" --ops "$FILES" --size 1500 --clients 32 --prefix load >"$T/load.json" ||
		echo "rewrite: $(cat "$T/load.json")"
done
for _ in $(seq 50); do
	ls "$ROOT"/var/lib/cfsd/snap.* >/dev/null 2>&1 && break
	sleep 0.1
done
stop
echo "after rewriting them twice: $(cd "$ROOT"/var/lib/cfsd && ls snap.* journal.* | xargs stat -c '%n %s bytes' | paste -sd, | sed 's/,/, /g')"
cold_start "from snapshot + journal" "" ""
