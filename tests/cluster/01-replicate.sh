#!/usr/bin/env bash
# 3 nodes, multicast then unicast: a write on each node is read with the
# same bytes on every other node within one second.
. "$(dirname "$0")/lib.sh"

for transport in udp udpu; do
	cluster_up 3 "$transport" || { check "$transport: cluster up" false; cleanup_cluster; continue; }
	check "$transport: all quorate" all_quorate
	for i in 1 2 3; do
		head -c 300 /dev/urandom | base64 >"$T/w$i"
		check "$transport: write on node$i" on "$i" cfs-put "/w$i" <"$T/w$i"
	done
	for i in 1 2 3; do
		for j in 1 2 3; do
			[ "$i" = "$j" ] && continue
			check "$transport: node$j reads node$i's write within 1 s" \
				wait_until 1 same_content "$j" "/w$i" "$T/w$i"
		done
	done
	check "$transport: trees identical" trees_identical
	cleanup_cluster
done
finish
