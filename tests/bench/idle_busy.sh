#!/usr/bin/env bash
# tests/bench/idle_busy.sh - no spurious leader change on a busy machine.
#
#	CFSBOX=./cfsbox IDLE_MIN=10 bash tests/bench/idle_busy.sh
#
# Three idle cfsd nodes (tests/cluster/lib.sh) while two shells spin, one
# per core, for IDLE_MIN minutes (default 10); prints the term and leader
# before and after, and every quorum change the nodes logged meanwhile.
# A benchmark that prints what it saw, not a timed test.
set -u
CFSBOX=${CFSBOX:-./cfsbox}
case $CFSBOX in /*) ;; *) CFSBOX=$PWD/$CFSBOX ;; esac
export CFSBOX
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../cluster/lib.sh"
MIN=${IDLE_MIN:-10}

cluster_up 3 udpu || {
	echo "cluster did not come up"
	exit 1
}
before="term $(status_field 1 term), leader $(leader_of 1)"
lost0=$(cat "$T"/node*.log | grep -c "lost quorum")
stop=$((SECONDS + MIN * 60))
spin() { while [ "$SECONDS" -lt "$stop" ]; do :; done; } # pure CPU, no forks
spin &
s1=$!
spin &
s2=$!
wait "$s1" "$s2"
after="term $(status_field 1 term), leader $(leader_of 1)"
lost=$(($(cat "$T"/node*.log | grep -c "lost quorum") - lost0))
echo "idle $MIN min with both cores spinning: before $before; after $after; quorum lost $lost times"
finish >/dev/null
