#!/usr/bin/env bash
# 3 nodes: partition node3 from nodes 1 and 2.  node3 turns read-only
# (EACCES) within two seconds, nodes 1 and 2 keep writing; after healing
# every tree is the same.  Then 5 nodes, partition 2|3: the same.
. "$(dirname "$0")/lib.sh"

readonly_now() { # readonly_now I: a write on node I fails with Permission denied
	local out
	out=$(echo x | on "$1" cfs-put /probe 2>&1) && return 1
	grep -q "Permission denied" <<<"$out"
}

scenario() { # scenario N "majority" "minority"
	local n=$1 maj=$2 min=$3 i t0 t1
	cluster_up "$n" udpu || { check "$n nodes: cluster up" false; return; }
	for i in $(seq 1 20); do on 1 cfs-put "/before$i" <<<"v$i" >/dev/null; done
	t0=$(date +%s%N)
	partition "$maj" "$min"
	for i in $min; do
		check "$n nodes: node$i read-only within 2 s" wait_until 2 readonly_now "$i"
	done
	t1=$(date +%s%N)
	echo "minority read-only after $(((t1 - t0) / 1000000)) ms"
	for i in $min; do
		check "$n nodes: node$i still reads" on "$i" cfs-cat /before7
	done
	for i in $maj; do
		check "$n nodes: node$i writable in the majority" \
			wait_until 5 sh -c "echo maj$i | '$CFSBOX' cfs-put --root '$(node_root "$i")' /maj$i"
	done
	heal
	check "$n nodes: all quorate after healing" wait_until 10 all_quorate
	check "$n nodes: trees identical after healing" wait_until 10 trees_identical
	for i in $min; do
		check "$n nodes: node$i got the majority's writes" on "$i" cfs-cat "/maj${maj%% *}"
	done
	cleanup_cluster
}

scenario 3 "1 2" "3"
scenario 5 "1 2 3" "4 5"
finish
