#!/usr/bin/env bash
# tests/cli/daemon.sh - cfsd's life cycle: foreground and daemonized
# start, pid file, single instance, SIGTERM/SIGINT clean shutdown, restart
# with the data, stale socket after kill -9.
# shellcheck source=tests/cli/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

# --- foreground
start_cfsd || exit 1
check "socket exists" test -S "$SOCK"
same "pid file holds cfsd's pid" "$CFSD_PID" "$(cat "$ROOT/run/cfsd/cfsd.pid" 2>/dev/null)"
printf 'keep me\n' | cfs cfs-put /kept
expect "a second cfsd on the same root is refused" 1 "another cfsd is running on this root (pid $CFSD_PID)" \
	"$CFSBOX" cfsd -f --root "$ROOT"
expect "... also when daemonizing" 1 "another cfsd is running" "$CFSBOX" cfsd --root "$ROOT"
same "the first one still serves" "keep me" "$(cfs cfs-cat /kept)"
check "the socket was left alone" test -S "$SOCK"
stop_cfsd TERM
same "SIGTERM: exit status 0" 0 "$CFSD_RC"
check "SIGTERM: socket removed" test ! -e "$SOCK"
check "SIGTERM: pid file removed" test ! -e "$ROOT/run/cfsd/cfsd.pid"
grep -q "received signal 15, shutting down" "$T/cfsd.log" && ok "SIGTERM logged" || bad "SIGTERM logged"

start_cfsd || exit 1
same "restart: data is back" "keep me" "$(cfs cfs-cat /kept)"
stop_cfsd INT
same "SIGINT: exit status 0" 0 "$CFSD_RC"
check "SIGINT: socket removed" test ! -e "$SOCK"

# --- kill -9 leaves a stale socket and pid file; the next start copes
start_cfsd || exit 1
printf 'after\n' | cfs cfs-put /after
stop_cfsd KILL
check "kill -9 leaves the socket" test -S "$SOCK"
expect "clients see a dead daemon" 2 "Connection refused" cfs quorum-check
start_cfsd || exit 1
same "restart after kill -9: data is back" "after" "$(cfs cfs-cat /after)"
stop_cfsd TERM

# --- daemonized: the parent returns once the child serves
expect "cfsd without -f returns 0 when ready" 0 "" "$CFSBOX" cfsd --root "$ROOT" --name n1
DPID=$(cat "$ROOT/run/cfsd/cfsd.pid" 2>/dev/null)
[ -n "$DPID" ] && PIDS+=("$DPID")
check "the daemon answers at once" cfs quorum-check -q
check "the pid file names a live process" kill -0 "$DPID"
same "data is there" "keep me" "$(cfs cfs-cat /kept)"
kill -TERM "$DPID"
for _ in $(seq 100); do
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.05
done
check "daemon exits on SIGTERM" test ! -e "/proc/$DPID"
check "daemon removed its socket" test ! -e "$SOCK"

# --- options
expect "--name must be a node name" 2 "not a valid node name" "$CFSBOX" cfsd -f --root "$ROOT" --name 'a b'
expect "--gid with an unknown group" 1 "no such group" "$CFSBOX" cfsd -f --root "$ROOT" --gid no-such-group-x
expect "--root that does not exist" 1 "No such file or directory" "$CFSBOX" cfsd -f --root "$T/none"
expect "extra arguments are a usage error" 2 "usage: cfsd" "$CFSBOX" cfsd -f --root "$ROOT" extra
start_cfsd --name other || exit 1
same "--name shows in .members" '"nodename": "other",' "$(cfs cfs-cat /.members | sed -n 2p)"
same "and in the local symlink" "local -> nodes/other" "$(cfs cfs-ls -l / | grep -o 'local -> .*')"
stop_cfsd TERM

# --- polling after a change (--spin-us): it happens, and it stops
expect "--spin-us below 0" 2 "--spin-us -1: not a number of microseconds" \
	"$CFSBOX" cfsd -f --root "$ROOT" --spin-us -1
expect "--spin-us not a number" 2 "not a number of microseconds" "$CFSBOX" cfsd -f --root "$ROOT" --spin-us 5x
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$CFSD_PID/stat"; }
# PM QoS: reading /dev/cpu_dma_latency gives the wake-up latency limit in
# force (none: 2000000000 us, unless another process asks for one)
qos() { od -An -td4 /dev/cpu_dma_latency | tr -d ' '; }
qos_fds() { ls -l "/proc/$CFSD_PID/fd" | grep -c cpu_dma_latency; }
[ -w /dev/cpu_dma_latency ] && q0=$(qos)
start_cfsd --spin-us 100000 || exit 1
sleep 0.3
c0=$(cpu_ticks)
cfs cfs-cat /kept >/dev/null
sleep 0.5
c1=$(cpu_ticks)
check "a read does not poll (CPU ticks $c0 -> $c1)" test $((c1 - c0)) -le 2
echo spin | cfs cfs-put /spin
sleep 0.5
c2=$(cpu_ticks)
check "a change polls for 0.1 s (CPU ticks $c1 -> $c2)" test $((c2 - c1)) -ge 4
sleep 0.5
c3=$(cpu_ticks)
check "then the polling stops (CPU ticks $c2 -> $c3)" test $((c3 - c2)) -le 2
# ... and for the same window, a wake-up latency of 0 through PM QoS
if [ -w /dev/cpu_dma_latency ]; then
	check "cfsd holds a PM QoS request" test "$(qos_fds)" = 1
	same "the first window was withdrawn" "$q0" "$(qos)"
	cfs cfs-cat /kept >/dev/null
	same "a read asks for nothing" "$q0" "$(qos)"
	seen=
	for i in 1 2 3 4 5; do # the window is 0.1 s from the request
		echo "$i" | cfs cfs-put /spin
		[ "$(qos)" = 0 ] && seen=0 && break
	done
	same "a change asks for wake-up latency 0" 0 "$seen"
	sleep 0.5
	same "and withdraws it after the window" "$q0" "$(qos)"
else
	echo "note: /dev/cpu_dma_latency not writable here: cfsd polls without it"
fi
stop_cfsd TERM
start_cfsd --spin-us 0 || exit 1
sleep 0.3
c0=$(cpu_ticks)
for i in 1 2 3; do echo "$i" | cfs cfs-put /spin; done
sleep 0.5
c1=$(cpu_ticks)
check "--spin-us 0: no polling (CPU ticks $c0 -> $c1)" test $((c1 - c0)) -le 2
check "--spin-us 0: no PM QoS request" test "$(qos_fds)" = 0
stop_cfsd TERM
finish
