#!/usr/bin/env bash
# tests/cli/lock.sh - cfs-lock: a command run under a cluster lock
# (priv/lock/NAME), waiting for a holder, taking over a lock left behind
# once it is old enough, Proxmox's messages, the command's exit status.
# shellcheck source=tests/cli/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

export CFS_TEST_LOCK_TIMEOUT=2 # the lock lifetime: 2 s instead of 120 s
lock() { cfs cfs-lock "$@"; }

expect "no command: usage" 2 "usage: cfs-lock" lock name
expect "a name with a slash" 2 "a/b: not a lock name" lock a/b true
expect "-w not a number" 2 "-w x: not a number of seconds" lock -w x name true
expect "no daemon" 1 "cannot reach cfsd" lock name true
start_cfsd --no-mount || exit 1

same "the command runs holding the lock" "job" "$(lock job "$CFSBOX" cfs-ls --root "$ROOT" /priv/lock)"
same "and the lock is gone afterwards" "" "$(cfs cfs-ls /priv/lock 2>&1)"
lock job sh -c 'exit 3'
same "the command's exit status" 3 "$?"
same "the lock is released after a failure too" "" "$(cfs cfs-ls /priv/lock 2>&1)"
expect "a command that does not exist" 127 "nosuchcommand" lock job nosuchcommand
same "options after NAME are the command's" "-w 1" "$(lock job echo -w 1)"

# someone else holds it: wait, then give up with Proxmox's words
lock -w 0 job sleep 1.5 &
holder=$!
PIDS+=("$holder")
wait_held() { for _ in $(seq 50); do [ "$(cfs cfs-ls /priv/lock 2>&1)" = job ] && return 0; sleep 0.05; done; return 1; }
check "the first holder has it" wait_held
expect "a second one waits and gives up" 1 "cfs-lock 'job' error: got lock request timeout" \
	lock -w 0.5 job true
grep -q "trying to acquire cfs lock 'job' ..." "$T/err" && ok "while saying it is trying" ||
	bad "while saying it is trying ($(cat "$T/err"))"
check "a third one waits long enough and gets it" lock -w 5 job true
wait "$holder"
same "the first holder's command ran to its end" 0 "$?"

# a lock left behind (its holder died) is taken over once it is old enough
cfs cfs-mkdir -p /priv/lock/left
t0=$(date +%s%N)
check "a lock left behind is taken over" lock -w 8 left true
t1=$(date +%s%N)
check "... after the lifetime, not before ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -ge 1500
same "... and released" "" "$(cfs cfs-ls /priv/lock 2>&1)"

# too long a command is ended; the lock goes
expect "-t: Proxmox's timeout message" 1 "'slow'-locked command timed out - aborting" lock -t 0.5 slow sleep 5
same "the lock is released" "" "$(cfs cfs-ls /priv/lock 2>&1)"
stop_cfsd TERM
finish
