#!/usr/bin/env bash
# tests/cluster/12-pvecm-leave.sh - `pvecm leave` on node03 of three: node03
# runs alone in local mode with its files, node01 and node02 show 2 nodes
# and stay quorate; a corosync.conf written by hand with a higher
# config_version reaches every host path, a lower or equal one and one that
# does not parse are refused and change nothing.
# shellcheck disable=SC2317
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pvecm_lib.sh"

pv_up 3
check "create and join 3 nodes" create_join leave 1 2 3
check "3 nodes" wait_until 10 sh -c "'$CFSBOX' pvecm status --root '$(node_root 1)' | grep -q '^Nodes:            3\$'"
echo "shared" >"$T/shared.txt"
on 1 cfs-put shared.txt <"$T/shared.txt"
check "node03 has the shared file" wait_until 5 same_content 3 shared.txt "$T/shared.txt"

# --- corosync.conf as data
V=$(conf_version 1)
on 1 cfs-cat corosync.conf >"$T/cur.conf"
sed "s/config_version: $V\$/config_version: $((V + 1))/" "$T/cur.conf" >"$T/new.conf"
check "a hand-written corosync.conf with a higher version is accepted" on 2 cfs-put corosync.conf <"$T/new.conf"
for i in 1 2 3; do
	check "node0$i host corosync.conf has version $((V + 1))" \
		wait_until 10 sh -c "grep -q 'config_version: $((V + 1))' '$(node_root "$i")/etc/corosync/corosync.conf'"
	check "node0$i host file = the written file" cmp -s "$T/new.conf" "$(node_root "$i")/etc/corosync/corosync.conf"
done
check "the daemon logged the write" grep -q "wrote new corosync config" "$(node_root 3).log"
expect_fail "equal config_version refused" "" on 1 cfs-put corosync.conf <"$T/new.conf"
sed "s/config_version: $((V + 1))/config_version: $V/" "$T/new.conf" >"$T/old.conf"
expect_fail "lower config_version refused" "" on 1 cfs-put corosync.conf <"$T/old.conf"
printf 'totem {\n  version 2\n' >"$T/bad.conf"
expect_fail "a file that does not parse is refused" "" on 1 cfs-put corosync.conf <"$T/bad.conf"
# two nodes added at once: membership changes go one node at a time
awk -v v=$((V + 2)) '
	/config_version:/ { sub(/[0-9]+$/, v) }
	/^nodelist \{/ { print; print "  node {\n    name: x1\n    nodeid: 8\n    quorum_votes: 1\n    ring0_addr: 192.0.2.8\n  }\n  node {\n    name: x2\n    nodeid: 9\n    quorum_votes: 1\n    ring0_addr: 192.0.2.9\n  }"; next }
	{ print }' "$T/new.conf" >"$T/two.conf"
check "the two-node file parses (corosync grammar)" grep -q 'name: x2' "$T/two.conf"
expect_fail "adding two nodes at once is refused" "" on 1 cfs-put corosync.conf <"$T/two.conf"
check "the refusal says one node at a time" grep -q "add or remove one node at a time" "$(node_root 1).log"
check "refusals changed nothing" cmp -s "$T/new.conf" <(on 1 cfs-cat corosync.conf)
check "the refusal is logged with its reason" grep -q "not higher than the current" "$(node_root 1).log"

# --- leave
check "pvecm leave on node03" pv 3 leave
check "node03: local mode, no host corosync files" is_local_mode 3
check "node03 keeps its files" same_content 3 shared.txt "$T/shared.txt"
check "node03 keeps its certificate" on 3 cfs-cat nodes/node03/pve-ssl.pem
echo "alone" | on 3 cfs-put alone.txt
check "node03 writes alone" on 3 cfs-cat alone.txt
for i in 1 2; do
	check "node0$i: 2 nodes, quorate" wait_until 10 sh -c "'$CFSBOX' pvecm status --root '$(node_root "$i")' | grep -q '^Nodes:            2\$' && '$CFSBOX' quorum-check -q --root '$(node_root "$i")'"
	check "node0$i: Expected votes: 2" sh -c "'$CFSBOX' pvecm status --root '$(node_root "$i")' | grep -q '^Expected votes:   2\$'"
	check "node0$i: node03 gone from corosync.conf" wait_until 10 sh -c "! grep -q node03 '$(node_root "$i")/etc/corosync/corosync.conf'"
done
check "node03's write is not in the cluster" sh -c "! '$CFSBOX' cfs-cat alone.txt --root '$(node_root 1)' 2>/dev/null"
echo "still" >"$T/still.txt"
check "the cluster still writes" on 1 cfs-put still.txt <"$T/still.txt"
check "node02 gets it" wait_until 5 same_content 2 still.txt "$T/still.txt"

# leave without quorum: refused, then forced
kill_node 2
check "node01 alone of two: not quorate" wait_until 15 sh -c "! '$CFSBOX' quorum-check -q --root '$(node_root 1)'"
expect_fail "leave without quorum is refused" "cluster not ready - no quorum?" pv 1 leave
check "leave --force without quorum" pv 1 leave --force
check "node01: local mode after a forced leave" is_local_mode 1
check "node01 keeps its files" same_content 1 still.txt "$T/still.txt"

finish
