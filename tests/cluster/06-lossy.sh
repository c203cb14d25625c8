#!/usr/bin/env bash
# 3 nodes with 10% packet loss and 20 ms delay on every datagram sent
# (injected in the transport: CFS_TEST_LOSS, CFS_TEST_DELAY_MS): 1000
# writes succeed and all trees converge.
. "$(dirname "$0")/lib.sh"

for i in 1 2 3; do NODE_ENV[$i]="CFS_TEST_LOSS=0.1 CFS_TEST_DELAY_MS=20"; done
cluster_up 3 udpu || { check "cluster up" false; finish; exit; }
on 2 cfs-mkdir /lossy
check "1000 writes succeed" bench_writes 2 1000 /lossy
check "trees converge" wait_until 20 trees_identical
finish
