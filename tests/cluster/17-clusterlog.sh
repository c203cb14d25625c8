#!/usr/bin/env bash
# The cluster log on 3 nodes: an entry written on one node shows on every
# node; a node that was down gets what it missed when it is back, and the
# others get its new start; `pvecm expected` is logged.
. "$(dirname "$0")/lib.sh"

msgs() { on "$1" cfs-cat /.clusterlog | python3 -c "
import json, sys
print('|'.join(e['node'] + ':' + e['msg'] for e in json.load(sys.stdin)['data']))"; }
has() { msgs "$1" | tr '|' '\n' | grep -qxF -- "$2"; } # has I NODE:MSG

cluster_up 3 udpu || { check "cluster up" false; finish; exit; }
for i in 1 2 3; do
	for j in 1 2 3; do
		check "node$i has node$j's start" wait_until 5 has "$i" "node$j:starting cluster log"
	done
done
on 1 cfs-log -t test "hello from node1"
for i in 2 3; do
	check "node$i shows node1's entry" wait_until 2 has "$i" "node1:hello from node1"
done
check "the same log on every node" wait_until 2 sh -c "[ \"\$('$CFSBOX' cfs-cat --root '$(node_root 1)' /.clusterlog)\" = \"\$('$CFSBOX' cfs-cat --root '$(node_root 3)' /.clusterlog)\" ]"

kill_node 3
on 1 cfs-log "while node3 was down"
on 2 cfs-log "node2 too"
start_node 3
check "node3, back, has what it missed" wait_until 10 has 3 "node1:while node3 was down"
check "... from node2 too" wait_until 5 has 3 "node2:node2 too"
check "... and its entries from before (kept by the others)" has 3 "node1:hello from node1"
check "the others have node3's new start" wait_until 5 sh -c "[ \"\$('$CFSBOX' cfs-cat --root '$(node_root 1)' /.clusterlog | grep -c '\"node\": \"node3\", \"user\": \"root\", \"msg\": \"starting cluster log\"')\" = 2 ]"

partition "1 2" "3"
check "node3 cut off" wait_until 3 sh -c "! '$CFSBOX' quorum-check -q --root '$(node_root 3)'"
check "pvecm expected 1 on node3" wait_until 3 on 3 pvecm expected 1
check "is in the cluster log" has 3 "node3:expected votes set to 1 (pvecm expected): unsafe until the lost votes return"
heal
check "and reaches the others after healing" wait_until 10 has 1 "node3:expected votes set to 1 (pvecm expected): unsafe until the lost votes return"
finish
