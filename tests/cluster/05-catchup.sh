#!/usr/bin/env bash
# 3 nodes; node3 is stopped while 5000 writes happen (1.5 KB each, over
# 100 files: enough for the others to compact their journals and drop the
# log from memory), then started again: it catches up through a snapshot
# and ends with the same tree.
. "$(dirname "$0")/lib.sh"

cluster_up 3 udpu || { check "cluster up" false; finish; exit; }
stop_node 3
on 1 cfs-mkdir /bulk
overwrite() {
	local k data
	data=$(head -c 1100 /dev/urandom | base64 -w0)
	for k in $(seq 1 5000); do
		echo "$k $data" | on 1 cfs-put "/bulk/$((k % 100))" || return 1
	done
}
check "5000 writes with node3 down" overwrite
start_node 3
check "node3 catches up" wait_until 30 trees_identical
check "node3 has the last write" sh -c "'$CFSBOX' cfs-cat --root '$(node_root 3)' /bulk/0 | grep -q '^5000 '"
check "node1 compacted its journal" grep -q "compacted into generation" "$(node_root 1).log"
check "node3 caught up through a snapshot" grep -q "installed a snapshot" "$(node_root 3).log"
finish
