#!/usr/bin/env bash
# tests/cluster/10-pvecm-lecture.sh - the lecture, as written: `pvecm create`
# on node01, `pvecm add <IP of node01>` on node02 and node03, `pvecm status`
# and `pvecm nodes` on each; a fourth node joins, is powered off, and
# `pvecm delnode node04` on node01 leaves 3 nodes.  Certificates verify
# against the cluster CA; the host corosync.conf files pass `corosync -t`.
# shellcheck disable=SC2317
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pvecm_lib.sh"

pv_up 4

check "create on node01" pv 1 create lecture
pv 1 status >"$T/st1" 2>&1
check "node01: one-node cluster, quorate" grep -q '^Quorate:          Yes' "$T/st1"
check "node01: link0 fell back to its address" grep -q "ring0_addr: $(node_addr 1)" \
	"$(node_root 1)/etc/corosync/corosync.conf"

echo "node02 alone" >"$T/mine.txt"
on 2 cfs-put mine.txt <"$T/mine.txt"
for i in 2 3; do
	check "add node0$i with token and fingerprint" join "$i" 1
	check "node0$i: waiting for quorum...OK" has "waiting for quorum...OK" "$T/join.$i"
	check "node0$i: success line" has "successfully added node '$(pv_name "$i")' to cluster." "$T/join.$i"
	check "node0$i: backup of the old tree" test -d "$(node_root "$i")/var/lib/cfsd-backup"
done
[ "$FAIL" = 0 ] || cat "$T/join.2" "$T/join.3"
check "node02's old tree is in its backup" sh -c "cmp -s '$T/mine.txt' $(node_root 2)/var/lib/cfsd-backup/config-*/mine.txt"
check "node02's old tree is not in the cluster's" sh -c "! '$CFSBOX' cfs-cat mine.txt --root '$(node_root 2)' 2>/dev/null"

status_ok() { # status_ok I NODES EXPECTED QUORUM
	local f=$T/status.$1
	pv "$1" status >"$f" 2>&1 || return 1
	grep -q "^Nodes:            $2\$" "$f" && grep -q '^Quorate:          Yes$' "$f" &&
		grep -q "^Expected votes:   $3\$" "$f" && grep -q "^Quorum:           $4  \$" "$f" &&
		[ "$(grep -c ' (local)$' "$f")" = 1 ] &&
		grep -q "^0x0000000$1          1 $(node_addr "$1") (local)\$" "$f"
}
nodes_ok() { # nodes_ok I N: `pvecm nodes` on I lists N nodes, itself (local)
	local f=$T/nodes.$1
	pv "$1" nodes >"$f" 2>&1 || return 1
	[ "$(grep -c '^ *[0-9]\+ \+1 node0' "$f")" = "$2" ] &&
		grep -q "^ \{9\}$1 \{10\}1 $(pv_name "$1") (local)\$" "$f" && [ "$(grep -c '(local)' "$f")" = 1 ]
}
for i in 1 2 3; do
	check "node0$i: status shows 3 nodes, Quorate: Yes, Expected votes: 3, Quorum: 2" wait_until 10 status_ok "$i" 3 3 2
	check "node0$i: nodes lists 3 nodes, (local) on itself" nodes_ok "$i" 3
done
cat "$T/status.1"
cat "$T/nodes.2"

# every node: a certificate signed by the cluster CA, the same CA everywhere
on 1 cfs-cat pve-root-ca.pem >"$T/ca.pem"
for i in 1 2 3; do
	on "$i" cfs-cat "nodes/$(pv_name "$i")/pve-ssl.pem" >"$T/n$i.pem"
	check "node0$i certificate verifies against the cluster CA (openssl)" \
		openssl verify -CAfile "$T/ca.pem" "$T/n$i.pem"
	check "node0$i sees the same CA" cmp -s "$T/ca.pem" <(on "$i" cfs-cat pve-root-ca.pem)
	check "node0$i host corosync.conf = the tree's" cmp -s <(on "$i" cfs-cat corosync.conf) \
		"$(node_root "$i")/etc/corosync/corosync.conf"
done
check "corosync.conf version 3 after two joins" test "$(conf_version 1)" = 3

if command -v corosync >/dev/null; then
	for i in 1 2 3; do
		mkdir -p "$T/cc$i"
		cp "$(node_root "$i")/etc/corosync/corosync.conf" "$(node_root "$i")/etc/corosync/authkey" "$T/cc$i/"
		check "node0$i: corosync -t accepts the host corosync.conf" ip netns exec "$(node_ns "$i")" \
			unshare -m sh -c "mount --bind '$T/cc$i' /etc/corosync && corosync -t -c /etc/corosync/corosync.conf"
	done
else
	echo "skip corosync -t: the corosync package is not installed (apt-get install corosync)"
fi

# a file written on one node is on every node
echo "from node02" >"$T/lecture.txt"
on 2 cfs-put lecture.txt <"$T/lecture.txt"
check "a write on node02 is on node03" wait_until 5 same_content 3 lecture.txt "$T/lecture.txt"

# node04 joins, is powered off, and is deleted from node01
check "add node04" join 4 1
check "4 nodes, Expected votes: 4" wait_until 10 status_ok 1 4 4 3
kill_node 4
check "node04 powered off: 3 of 4 still quorate" wait_until 10 sh -c "'$CFSBOX' pvecm status --root '$(node_root 1)' | grep -q '^Nodes:            3\$'"
check "delnode node04 on node01" pv 1 delnode node04
for i in 1 2 3; do
	check "node0$i: Expected votes: 3 after delnode" wait_until 10 sh -c "'$CFSBOX' pvecm status --root '$(node_root "$i")' | grep -q '^Expected votes:   3\$'"
	check "node0$i: nodes lists 3 nodes, (local) on itself" nodes_ok "$i" 3
	check "node0$i: node04 gone from the host corosync.conf" wait_until 10 sh -c "! grep -q node04 '$(node_root "$i")/etc/corosync/corosync.conf'"
done
check "nodes/node04 stays in the tree" on 1 cfs-ls nodes/node04
cat "$T/nodes.1"

finish
