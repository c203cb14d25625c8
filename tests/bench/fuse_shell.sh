# tests/bench/fuse_shell.sh - sourced by bench.sh and cluster.sh.
#
# fuse_shell DIR: a shell writes 2 000 files of 300 bytes into DIR/fuse
# of a FUSE mount (open O_TRUNC, write, close: one change each), then
# reads them back; prints "written N/s (open, write, close), read N/s".
# shellcheck shell=bash
fuse_shell() {
	local m=$1 data t0 t1 t2 i
	data=$(head -c 300 /dev/zero | tr '\0' x)
	mkdir -p "$m/fuse"
	t0=$(date +%s%N)
	for i in $(seq 2000); do printf '%s' "$data" >"$m/fuse/f$((i % 100))"; done
	t1=$(date +%s%N)
	for i in $(seq 2000); do read -r _ <"$m/fuse/f$((i % 100))"; done
	t2=$(date +%s%N)
	echo "written $((2000 * 1000000000 / (t1 - t0)))/s (open, write, close), read $((2000 * 1000000000 / (t2 - t1)))/s"
}
