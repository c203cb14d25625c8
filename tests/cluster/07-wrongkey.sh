#!/usr/bin/env bash
# 3 nodes, node3 with a wrong authkey: it cannot join (never quorate),
# cannot read the cluster's data nor change anything, and nodes 1 and 2
# count the packets they dropped.
. "$(dirname "$0")/lib.sh"

WRONG_KEY_NODE=3
cluster_up 3 udpu nowait || { check "cluster up" false; finish; exit; }
check "nodes 1 and 2 quorate" wait_until 10 sh -c "'$CFSBOX' quorum-check -q --root '$(node_root 1)' && '$CFSBOX' quorum-check -q --root '$(node_root 2)'"
echo secret | on 1 cfs-put /secret
sleep 1
check "node3 is not quorate" sh -c "! '$CFSBOX' quorum-check -q --root '$(node_root 3)'"
check "node3 cannot read the cluster's data" sh -c "! '$CFSBOX' cfs-cat --root '$(node_root 3)' /secret"
check "node3 cannot write" sh -c "! echo x | '$CFSBOX' cfs-put --root '$(node_root 3)' /evil"
check "node1 has no file from node3" sh -c "! '$CFSBOX' cfs-cat --root '$(node_root 1)' /evil"
d1=$(status_field 1 drops_auth)
echo "node1 dropped $d1 packets that failed authentication"
check "node1 counts dropped packets" test "${d1:-0}" -gt 0
finish
