#!/usr/bin/env bash
# tests/cluster/11-pvecm-join-refused.sh - joins that must be refused with a
# clear message and change nothing: wrong fingerprint, wrong token, expired
# token, reused token, duplicate name, duplicate address, no fingerprint
# without a terminal, wrong root password, target without quorum.  Then a
# join with the root password (checked with crypt() against the target's
# shadow file) succeeds.
# shellcheck disable=SC2317,SC2034
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pvecm_lib.sh"

pv_up 4

check "create on node01" pv 1 create refusals
FP=$(fp_of 1)
H=$(node_addr 1)
V0=$(conf_version 1)

unchanged() { # nothing changed on the cluster, joiner I still standalone
	[ "$(conf_version 1)" = "$V0" ] && is_local_mode "$1" &&
		! grep -q "$(pv_name "$1")" "$(node_root 1)/etc/corosync/corosync.conf"
}

TOK=$(pv 1 token)
expect_fail "wrong fingerprint" "fingerprint" \
	pv 2 add "$H" --fingerprint "$(echo "$FP" | sed 's/^../00/')" --token "$TOK"
check "wrong fingerprint: nothing changed" unchanged 2

expect_fail "wrong token" "invalid join token" pv 2 add "$H" --fingerprint "$FP" --token cfsjoin-not-a-token
check "wrong token: Cluster join aborted!" has "Cluster join aborted!" "$T/out"
check "wrong token: nothing changed" unchanged 2

SHORT=$(pv 1 token --ttl 1)
sleep 2
expect_fail "expired token" "join token expired" pv 2 add "$H" --fingerprint "$FP" --token "$SHORT"
check "expired token: nothing changed" unchanged 2

expect_fail "no fingerprint and no terminal" "X509 SHA256 key fingerprint is $FP" \
	pv 2 add "$H" --token "$TOK" </dev/null
check "no fingerprint: nothing changed" unchanged 2

# the target checks the root password against its shadow file: a hash
# its crypt() cannot check is named (the static musl build has no crypt();
# cfsd checks $5$ itself)
mkdir -p "$(node_root 1)/etc"
printf 'root:%s:19000:0:99999:7:::\n' "$(openssl passwd -6 -salt saltsalt right-password)" \
	>"$(node_root 1)/etc/shadow"
expect_fail "an unsupported hash gets a clear message" "does not support '\$6\$' hashes - use a join token" \
	sh -c "echo right-password | ip netns exec $(node_ns 2) '$CFSBOX' pvecm add '$H' --fingerprint '$FP' --root '$(node_root 2)'"
check "unsupported hash: nothing changed" unchanged 2
printf 'root:%s:19000:0:99999:7:::\n' "$(openssl passwd -5 -salt saltsalt right-password)" \
	>"$(node_root 1)/etc/shadow"
expect_fail "wrong root password" "authentication failure" \
	sh -c "echo wrong-password | ip netns exec $(node_ns 2) '$CFSBOX' pvecm add '$H' --fingerprint '$FP' --root '$(node_root 2)'"
check "wrong password: nothing changed" unchanged 2

# a good join, then the same token again
check "join node02 with the token" pv 2 add "$H" --fingerprint "$FP" --token "$TOK"
V0=$(conf_version 1)
expect_fail "reused token" "invalid join token" pv 3 add "$H" --fingerprint "$FP" --token "$TOK"
check "reused token: nothing changed" unchanged 3

# duplicate name: node03's cfsd calls itself node02
stop_node 3
rm -rf "$(node_root 3)"
mkdir -p "$(node_root 3)"
env ip netns exec "$(node_ns 3)" "$CFSBOX" cfsd -f --root "$(node_root 3)" --name node02 \
	>>"$(node_root 3).log" 2>&1 &
PIDS[3]=$!
wait_until 10 test -S "$(node_root 3)/run/cfsd/cfsd.sock"
expect_fail "duplicate name" "can't add existing node 'node02'" \
	pv 3 add "$H" --fingerprint "$FP" --token "$(pv 1 token)"
check "duplicate name: nothing changed" unchanged 3
stop_node 3
rm -rf "$(node_root 3)"
pv_start 3

# duplicate address: node03 claims node01's address (--force skips the local check)
expect_fail "duplicate address" "corosync: address '$H' already used on link ring0_addr by node 'node01'" \
	pv 3 add "$H" --fingerprint "$FP" --token "$(pv 1 token)" --link0 "$H" --force
check "duplicate address: nothing changed" unchanged 3

# a join with the root password works; the backups of old trees: 10 kept
for k in $(seq 1 12); do mkdir -p "$(node_root 3)/var/lib/cfsd-backup/config-$k"; done
check "join node03 with the root password" \
	sh -c "echo right-password | ip netns exec $(node_ns 3) '$CFSBOX' pvecm add '$H' --fingerprint '$FP' --root '$(node_root 3)'"
check "10 backups kept, the oldest removed" sh -c "[ \$(ls '$(node_root 3)/var/lib/cfsd-backup' | wc -l) = 10 ] && [ ! -e '$(node_root 3)/var/lib/cfsd-backup/config-3' ] && [ -e '$(node_root 3)/var/lib/cfsd-backup/config-12' ]"
check "3 nodes after the password join" wait_until 10 sh -c "'$CFSBOX' pvecm status --root '$(node_root 1)' | grep -q '^Nodes:            3\$'"

# target without quorum: node02 and node03 down, node01 alone of 3
TOK=$(pv 1 token)
kill_node 2
kill_node 3
check "node01 loses quorum" wait_until 15 sh -c "! '$CFSBOX' quorum-check -q --root '$(node_root 1)'"
V0=$(conf_version 1)
expect_fail "target without quorum" "cluster not ready - no quorum?" \
	pv 4 add "$H" --fingerprint "$FP" --token "$TOK"
check "no quorum: nothing changed" unchanged 4

finish
