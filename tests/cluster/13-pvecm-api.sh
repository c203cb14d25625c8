#!/usr/bin/env bash
# tests/cluster/13-pvecm-api.sh - the JSON API on the TLS port 8006 of every
# member: GET /api2/json/cluster/config/join (nodelist with pve_fp, the
# fingerprints of the node certificates), GET /api2/json/cluster/status,
# apiversion; errors in Proxmox's shape.
# Uses curl -k and jq; the served certificate is compared with openssl.
# shellcheck disable=SC2317
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pvecm_lib.sh"

command -v curl >/dev/null && command -v jq >/dev/null || {
	echo "skip: needs curl and jq"
	exit 77
}
pv_up 3
check "create and join node02" create_join api 1 2
check "node02 listens once it has its certificate" wait_until 10 sh -c \
	"ip netns exec $(node_ns 2) curl -sk --max-time 2 -o /dev/null https://$(node_addr 2):8006/"
check "node03 joins through node02 (a follower: the writes are forwarded)" join 3 2
check "3 nodes" wait_until 10 sh -c "'$CFSBOX' pvecm status --root '$(node_root 1)' | grep -q '^Nodes:            3\$'"

api() { # api I PATH [curl args]: from node I's namespace to node I's listener
	local i=$1 p=$2
	shift 2
	ip netns exec "$(node_ns "$i")" curl -sk --max-time 10 "$@" "https://$(node_addr "$i"):8006$p"
}

for i in 1 2 3; do
	check "node0$i listens on its ring0 address" wait_until 10 sh -c \
		"ip netns exec $(node_ns "$i") curl -sk --max-time 2 -o /dev/null https://$(node_addr "$i"):8006/"
done

# the served certificate is the node certificate of the tree
for i in 1 2 3; do
	served=$(ip netns exec "$(node_ns "$i")" sh -c "openssl s_client -connect $(node_addr "$i"):8006 </dev/null 2>/dev/null" |
		openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//')
	check "node0$i serves its pve-ssl.pem" test "$served" = "$(fp_of "$i")"
done

api 2 /api2/json/cluster/config/join >"$T/join.json"
check "join info: 3 nodes" test "$(jq '.data.nodelist | length' "$T/join.json")" = 3
for i in 1 2 3; do
	check "join info: node0$i's pve_fp is its certificate's" test \
		"$(jq -r ".data.nodelist[] | select(.name == \"$(pv_name "$i")\") | .pve_fp" "$T/join.json")" = "$(fp_of "$i")"
	check "join info: node0$i's pve_addr" test \
		"$(jq -r ".data.nodelist[] | select(.name == \"$(pv_name "$i")\") | .pve_addr" "$T/join.json")" = "$(node_addr "$i")"
done
check "join info: preferred_node is the node asked" test "$(jq -r .data.preferred_node "$T/join.json")" = node02
check "join info: totem.cluster_name" test "$(jq -r .data.totem.cluster_name "$T/join.json")" = api
check "join info: config_digest is the SHA-256 of corosync.conf" test \
	"$(jq -r .data.config_digest "$T/join.json")" = "$(on 1 cfs-cat corosync.conf | sha256sum | cut -d' ' -f1)"

api 3 /api2/json/cluster/status >"$T/status.json"
check "status: a cluster entry, quorate, 3 nodes" test \
	"$(jq -r '.data[] | select(.type == "cluster") | "\(.name) \(.quorate) \(.nodes)"' "$T/status.json")" = "api 1 3"
check "status: 3 node entries online" test "$(jq '[.data[] | select(.type == "node" and .online == 1)] | length' "$T/status.json")" = 3
check "status: local is node03" test "$(jq -r '.data[] | select(.type == "node" and .local == 1) | .name' "$T/status.json")" = node03
check "apiversion is 1" test "$(api 1 /api2/json/cluster/config/apiversion | jq -r .data)" = 1

code=$(api 1 /api2/json/nodes -o /dev/null -w '%{http_code}')
check "an unknown path is 404" test "$code" = 404
code=$(api 1 /api2/json/cluster/config/totem -o /dev/null -w '%{http_code}')
check "an API path not implemented is 501" test "$code" = 501
code=$(api 1 /api2/json/cluster/config/nodes/x -o "$T/err.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}')
check "a join without credentials is 401" test "$code" = 401
check "errors carry a message" test -n "$(jq -r .message "$T/err.json")"
code=$(api 1 /api2/json/cluster/config/nodes/x -o "$T/err.json" -w '%{http_code}' -X POST \
	--data-urlencode 'token=cfsjoin-wrong' --data-urlencode 'new_node_ip=192.0.2.7')
check "a form-encoded join is read (wrong token: 401)" test "$code" = 401
check "the message names the token" grep -q "invalid join token" "$T/err.json"

# node03 is reinstalled (its state is gone) and joins again under its
# name: refused without --force, Proxmox's overwrite with it
stop_node 3
rm -rf "$(node_root 3)"
pv_start 3
V=$(conf_version 1)
not() { ! "$@"; }
check "a reinstalled node03 without --force is refused" not join 3 1
check "the refusal is Proxmox's" has "can't add existing node 'node03'" "$T/join.3"
check "a reinstalled node03 joins again with --force" join 3 1 --force
cat "$T/join.3"
check "the joiner is told" has "cluster: forcing overwrite of configured node 'node03'" "$T/join.3"
check "node03 keeps node id 3" grep -q '^0x00000003          1 '"$(node_addr 3)"' (local)$' <(pv 3 status)
check "config_version: removal and addition, one step each" test "$(conf_version 1)" = $((V + 2))
check "3 nodes, quorate" wait_until 10 sh -c "'$CFSBOX' pvecm status --root '$(node_root 1)' | grep -q '^Nodes:            3\$'"

# kill two nodes: status says not quorate
kill_node 2
kill_node 3
check "status: not quorate, 1 node online" wait_until 10 sh -c \
	"ip netns exec $(node_ns 1) curl -sk https://$(node_addr 1):8006/api2/json/cluster/status | jq -e '([.data[] | select(.type==\"cluster\")][0].quorate == 0) and ([.data[] | select(.type==\"node\" and .online==1)] | length == 1)'"

finish
