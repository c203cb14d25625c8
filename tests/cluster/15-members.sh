#!/usr/bin/env bash
# .members and .version on 3 nodes: the cluster form of pmxcfs (spec §2)
# with every node of the nodelist, online while its cfsd runs, its ring0
# address as ip; the clinfo counter moves when a node goes and comes back.
. "$(dirname "$0")/lib.sh"

members() { on "$1" cfs-cat /.members; }
online() { # online I NAME: 0 or 1, as node I shows NAME
	members "$1" | sed -n "s/.*\"$2\": { \"id\": [0-9]*, \"online\": \([01]\).*/\1/p"
}
mversion() { members "$1" | sed -n 's/^"version": \([0-9]*\),$/\1/p'; }
clinfo() { on "$1" cfs-cat /.version | sed -n 's/^"clinfo": \([0-9]*\),$/\1/p'; }

cluster_up 3 udpu || { check "cluster up" false; finish; exit; }
all_online() {
	local i
	for i in 1 2 3; do [ "$(members "$i" | grep -c '"online": 1')" = 3 ] || return 1; done
}
node3_is() { [ "$(online 1 node3)" = "$1" ]; }
check "every node sees the three online" wait_until 5 all_online
for i in 1 2 3; do
	m=$(members "$i")
	check "node$i: its own name" grep -qx "\"nodename\": \"node$i\"," <<<"$m"
	check "node$i: cluster line" grep -qx \
		"\"cluster\": { \"name\": \"test$K\", \"version\": 1, \"nodes\": 3, \"quorate\": 1 }," <<<"$m"
done
m=$(members 1)
for j in 1 2 3; do
	check "node$j listed with id and ip" grep -qx \
		"  \"node$j\": { \"id\": $j, \"online\": 1, \"ip\": \"$(node_addr "$j")\"}[,]*" <<<"$m"
done
check ".members is JSON" python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["nodelist"]) == 3' <<<"$m"
v0=$(mversion 1)
check ".version clinfo is the same counter ($v0)" test "$v0" = "$(clinfo 1)"
check "unchanged while nothing changes" test "$v0" = "$(mversion 1)"

kill_node 3
check "node3 offline on node1" wait_until 5 node3_is 0
check "node2 still online" test "$(online 1 node2)" = 1
v1=$(mversion 1)
check "the counter moved ($v0 -> $v1)" test "$v1" -gt "$v0"
check "still quorate" grep -q '"quorate": 1 }' <<<"$(members 1)"

start_node 3
check "node3 back online on node1" wait_until 10 node3_is 1
v2=$(mversion 1)
check "and the counter moved again ($v1 -> $v2)" test "$v2" -gt "$v1"
finish
