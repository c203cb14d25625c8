#!/usr/bin/env bash
# 3 nodes: all restarted at once (kill -9) after a series of writes: the
# tree is intact on every node.
. "$(dirname "$0")/lib.sh"

cluster_up 3 udpu || { check "cluster up" false; finish; exit; }
on 1 cfs-mkdir /r
check "300 writes" bench_writes 1 300 /r
d=$(status_field 1 digest)
for i in 1 2 3; do kill_node "$i"; done
for i in 1 2 3; do start_node "$i"; done
check "quorate after the restart" wait_until 15 all_quorate
check "trees identical" wait_until 10 trees_identical
check "the tree is the one before" test "$(status_field 2 digest)" = "$d"
finish
