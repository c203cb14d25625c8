#!/usr/bin/env bash
# 3 nodes; node1 is cut off from nodes 2 and 3 and so read-only.
# `pvecm expected 1` on node1 makes it writable (the documented escape
# hatch); when the others return the cluster settles: no crash, one tree.
. "$(dirname "$0")/lib.sh"

cluster_up 3 udpu || { check "cluster up" false; finish; exit; }
partition "2 3" "1"
check "node1 read-only" wait_until 3 sh -c "! '$CFSBOX' quorum-check -q --root '$(node_root 1)'"
# the membership view needs up to NODE_ALIVE_SEC to drop the others
check "pvecm expected 1 accepted" wait_until 3 on 1 pvecm expected 1
check "node1 writable" wait_until 3 sh -c "echo alone | '$CFSBOX' cfs-put --root '$(node_root 1)' /alone"
echo majority | on 2 cfs-put /majority
heal
check "all quorate after healing" wait_until 15 all_quorate
check "one tree" wait_until 15 trees_identical
for i in 1 2 3; do
	check "node$i alive" kill -0 "${PIDS[$i]}"
done
finish
