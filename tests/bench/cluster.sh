#!/usr/bin/env bash
# tests/bench/cluster.sh - the figures of the cluster issue on 3 nodes.
#
#	CFSBOX=./cfsbox bash tests/bench/cluster.sh   (./build.sh bench runs it)
#
# Three cfsd nodes as separate hosts (tests/cluster/lib.sh: network
# namespaces as root, else loopback addresses), unicast, fsync on, and
# prints:
#   - 300-byte writes through the leader: 1, 8 and 64 clients (ops/s, p50, p99);
#     BENCH_ROUNDS=N repeats 1 and 8 clients N times (min/mean/max; p50 median)
#   - the same with 1 client through a follower (forwarded to the leader)
#   - write on one node visible on another: p50/p99 from the write's answer
#   - failover: leader killed -> next successful write, 5 rounds, median
#   - minority read-only after a partition (root only)
#   - idle packets per second per node, over IDLE_SECS (default 10)
# Benchmarks print figures; they are not timed tests.
set -u
CFSBOX=${CFSBOX:-./cfsbox}
case $CFSBOX in /*) ;; *) CFSBOX=$PWD/$CFSBOX ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
BENCH=${CFS_BENCH:-$HERE/cfs-bench}
[ -x "$BENCH" ] || {
	echo "cluster.sh: $BENCH missing (./build.sh bench builds it)"
	exit 1
}
export CFSBOX
. "$HERE/../cluster/lib.sh"
IDLE_SECS=${IDLE_SECS:-10}

sock() { echo "$(node_root "$1")/run/cfsd/cfsd.sock"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }

cluster_up 3 udpu || {
	echo "cluster did not come up"
	exit 1
}
echo "cfsbox cluster bench: 3 nodes ($([ "$USE_NETNS" = 1 ] && echo "network namespaces" || echo loopback)), unicast, $(nproc) CPUs"
L=$(leader_of 1)
F=$((L % 3 + 1))
echo "leader node$L, follower used: node$F"

for c in 1 8 64; do
	ops=$((c == 1 ? 3000 : c == 8 ? 16000 : 32000))
	printf '%-34s %s\n' "writes via leader, $c clients:" \
		"$("$BENCH" --socket "$(sock "$L")" --ops "$ops" --clients "$c" --size 300 --prefix "/b$c")"
done
# BENCH_ROUNDS=N: N more rounds of 1 and 8 clients: ops/s min/mean/max, p50 range and median
# (the machine's own speed moves by about 10% from minute to minute)
if [ "${BENCH_ROUNDS:-0}" -gt 0 ]; then
	for c in 1 8; do
		for r in $(seq "$BENCH_ROUNDS"); do
			# the same files each round: the tree stays far from its limits
			"$BENCH" --socket "$(sock "$L")" --ops $((c == 1 ? 3000 : 16000)) --clients "$c" \
				--size 300 --prefix "/r$c"
		done | sed -E 's/.*"ops_per_s":([0-9]+).*"p50_ms":([0-9.]+).*/\1 \2/' |
			sort -k2,2n | awk -v c="$c" -v n="$BENCH_ROUNDS" '
				{ s += $1; p50[NR] = $2; if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
				END { m = NR % 2 ? p50[(NR + 1) / 2] : (p50[NR / 2] + p50[NR / 2 + 1]) / 2
				      printf "writes via leader, %d clients, %d rounds: ops/s min %d mean %d max %d; p50 ms %.3f..%.3f, median %.3f\n", c, n, lo, s / NR, hi, p50[1], p50[NR], m }'
	done
fi
# through the leader's FUSE mount (root: inside its network namespace,
# reached through /proc/PID/root)
M=/proc/${PIDS[$L]}/root$(node_root "$L")/etc/pve
if [ -L "$M/local" ]; then
	. "$HERE/fuse_shell.sh"
	echo "through the leader's FUSE mount, one shell, 300-byte files: $(fuse_shell "$M")"
fi
printf '%-34s %s\n' "writes via follower, 1 client:" \
	"$("$BENCH" --socket "$(sock "$F")" --ops 2000 --clients 1 --size 300 --prefix /bf)"
printf '%-34s %s\n' "visible on another node:" \
	"$("$BENCH" --socket "$(sock "$L")" --peer-socket "$(sock "$F")" --ops 1000 --clients 1 \
		--size 300 --prefix /bv | head -1)"

# idle packets per node
tx0=()
for i in 1 2 3; do tx0[$i]=$(status_field "$i" tx_packets); done
sleep "$IDLE_SECS"
for i in 1 2 3; do
	tx=$(status_field "$i" tx_packets)
	echo "idle packets sent by node$i: $(awk -v a="${tx0[$i]}" -v b="$tx" -v s="$IDLE_SECS" 'BEGIN { printf "%.1f/s", (b - a) / s }')"
done

# failover: kill the leader, time until a write on a survivor succeeds
times=()
for round in 1 2 3 4 5; do
	L=$(leader_of 1)
	[ -n "$L" ] && [ "$L" != 0 ] || L=$(leader_of 2)
	S=$((L % 3 + 1))
	t0=$(ms_now)
	kill_node "$L"
	until echo "round $round" | on "$S" cfs-put /failover 2>/dev/null; do
		[ $(($(ms_now) - t0)) -lt 10000 ] || {
			echo "failover: no successful write within 10 s"
			break
		}
	done
	t1=$(ms_now)
	times+=($((t1 - t0)))
	start_node "$L"
	wait_until 10 all_quorate
	sleep 1
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
echo "failover (leader killed -> next write), ms: $sorted-> median $(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p) ms"

if [ "$USE_NETNS" = 1 ]; then
	L=$(leader_of 1)
	M=$((L % 3 + 1))
	others=$(for i in 1 2 3; do [ "$i" != "$M" ] && echo -n "$i "; done)
	t0=$(ms_now)
	partition "$others" "$M"
	until ! echo x | on "$M" cfs-put /probe 2>/dev/null; do :; done
	t1=$(ms_now)
	heal
	echo "minority (node$M, a follower) read-only after $((t1 - t0)) ms"
	wait_until 10 all_quorate
	L=$(leader_of 1)
	t0=$(ms_now)
	partition "$(for i in 1 2 3; do [ "$i" != "$L" ] && echo -n "$i "; done)" "$L"
	until ! echo x | on "$L" cfs-put /probe 2>/dev/null; do :; done
	t1=$(ms_now)
	heal
	echo "minority (node$L, the leader) read-only after $((t1 - t0)) ms"
fi
