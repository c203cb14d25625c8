#!/usr/bin/env bash
# cfs-lock on 3 nodes: clients of different nodes that ask for the same
# lock at once run their commands one at a time (the mkdir of
# priv/lock/NAME is decided by the replicated log), each gets its turn,
# and the lock is free at the end on every node.  (--root comes before
# NAME: what follows NAME is the command.)
. "$(dirname "$0")/lib.sh"

cluster_up 3 udpu || { check "cluster up" false; finish; exit; }
: >"$T/trace"
worker() { # worker NODE: 4 turns, each "start NODE" ... "end NODE" in the trace
	local k
	for k in 1 2 3 4; do
		"$CFSBOX" cfs-lock --root "$(node_root "$1")" -w 30 job sh -c "echo 'start $1' >>'$T/trace'; sleep 0.2; echo 'end $1' >>'$T/trace'" ||
			echo "fail $1" >>"$T/trace"
	done
}
worker 1 &
w1=$!
worker 2 &
w2=$!
worker 3 &
w3=$!
wait $w1 $w2 $w3
check "every turn got the lock (12 turns, no failure)" test "$(grep -c '^start' "$T/trace")" = 12 -a \
	"$(grep -c '^fail' "$T/trace")" = 0
check "never two at once: each start is followed by its own end" awk '
	/^start/ { if (held) exit 1; held = $2 }
	/^end/ { if (held != $2) exit 1; held = "" }
	END { exit held != "" }' "$T/trace"
for i in 1 2 3; do
	check "node$i: the lock is free" wait_until 2 sh -c "[ -z \"\$('$CFSBOX' cfs-ls --root '$(node_root "$i")' /priv/lock)\" ]"
done
finish
