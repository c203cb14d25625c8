#!/usr/bin/env bash
# tests/cli/pvecm.sh - pvecm on one node: the standalone messages, keygen,
# apiver, create (files, certificates, corosync.conf, cfsd going to cluster
# mode by itself), status/nodes layouts, expected, token, addnode/delnode
# on a one-node cluster, updatecerts, leave back to local mode.
# shellcheck disable=SC2317
. "$(dirname "$0")/lib/common.sh"

K=$(($$ % 200 + 20))
IP=127.0.$K.1
CONF_MISSING="Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?"

pv() { "$CFSBOX" pvecm --root "$ROOT" "$@"; }
has() { grep -qF -- "$1" "$2"; }
wait_for() { # wait_for SECS CMD...: poll every 0.1 s
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -le $end ]; do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

start_cfsd || finish

# --- a standalone node
expect "status on a standalone node" 1 "$CONF_MISSING" pv status
expect "nodes on a standalone node" 1 "$CONF_MISSING" pv nodes
expect "expected on a standalone node" 1 "$CONF_MISSING" pv expected 1
expect "expected 0 is not a valid value" 1 "New expected votes value was not valid, try a positive number" pv expected 0
expect "expected abc is not a valid value" 1 "New expected votes value was not valid, try a positive number" pv expected abc
expect "token on a standalone node" 1 "$CONF_MISSING" pv token
expect "delnode on a standalone node" 1 "$CONF_MISSING" pv delnode n2
expect "leave on a standalone node" 1 "$CONF_MISSING" pv leave
same "apiver prints 1" "1" "$(pv apiver)"
expect "unknown command" 2 "unknown command 'pvecm frob'" pv frob
for c in create add addnode delnode leave expected nodes status keygen updatecerts token apiver; do
	check "pvecm $c -h" pv "$c" -h
	has "usage: pvecm $c" "$T/out" || bad "pvecm $c -h prints its usage"
done
check "pvecm -h" pv -h

# --- keygen
check "keygen writes a key" pv keygen "$T/keys/authkey"
same "keygen: 256 bytes, mode 0400" "256 400" "$(stat -c '%s %a' "$T/keys/authkey" 2>&1)"
has "Writing corosync key to $T/keys/authkey." "$T/out" || bad "keygen says where it writes"
expect "keygen refuses an existing file" 1 "key file '$T/keys/authkey' already exists" pv keygen "$T/keys/authkey"
expect "keygen only as root" 1 "Error: Authorization key must be generated as root user." \
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CFSBOX" pvecm keygen "$T/keys/other"

# --- create
expect "create with a bad cluster name" 1 "clustername" pv create "bad_name!" --link0 "$IP"
mkdir -p "$ROOT/etc/corosync"
echo "before the cluster" >"$T/before.txt"
cfs cfs-put before.txt <"$T/before.txt"
check "create lab" pv create lab --link0 "$IP"
same "create prints Proxmox's lines" "Writing corosync config to /etc/pve/corosync.conf
Restart corosync and cluster filesystem" "$(cat "$T/out")"
check "the tree held before create is kept" cmp "$T/before.txt" <(cfs cfs-cat before.txt)
same "authkey: 256 bytes, mode 0400" "256 400" "$(stat -c '%s %a' "$ROOT/etc/corosync/authkey" 2>&1)"
cat >"$T/want.conf" <<EOF
logging {
  debug: off
  to_syslog: yes
}

nodelist {
  node {
    name: n1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: $IP
  }
}

quorum {
  provider: corosync_votequorum
}

totem {
  cluster_name: lab
  config_version: 1
  interface {
    linknumber: 0
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
}

EOF
check "tree corosync.conf is Proxmox's create_conf output" cmp "$T/want.conf" <(cfs cfs-cat corosync.conf)
check "host corosync.conf is the same" cmp "$T/want.conf" "$ROOT/etc/corosync/corosync.conf"
same "host corosync.conf mode 0644" 644 "$(stat -c %a "$ROOT/etc/corosync/corosync.conf")"
for f in pve-root-ca.pem priv/pve-root-ca.key priv/pve-root-ca.srl authkey.pub priv/authkey.key \
	nodes/n1/pve-ssl.key nodes/n1/pve-ssl.pem; do
	check "create made $f" cfs cfs-cat "$f"
done
for d in nodes/n1/qemu-server nodes/n1/lxc nodes/n1/openvz nodes/n1/priv; do
	check "create made $d/" cfs cfs-ls "$d"
done
cfs cfs-cat pve-root-ca.pem >"$T/ca.pem"
cfs cfs-cat nodes/n1/pve-ssl.pem >"$T/n1.pem"
check "node certificate verifies against the CA (openssl)" openssl verify -CAfile "$T/ca.pem" "$T/n1.pem"
openssl x509 -in "$T/n1.pem" -noout -text >"$T/n1.txt" 2>&1
has "IP Address:$IP" "$T/n1.txt" && has "DNS:n1" "$T/n1.txt" && has "DNS:localhost" "$T/n1.txt" &&
	ok "node certificate SANs" || bad "node certificate SANs: $(grep -A1 Alternative "$T/n1.txt")"
has "Subject: OU = PVE Cluster Node, O = Proxmox Virtual Environment" "$T/n1.txt" &&
	ok "node certificate subject" || bad "node certificate subject"
same "CA serial file" "0000000000000001" "$(cfs cfs-cat priv/pve-root-ca.srl | tr -d '\n')"
cfs cfs-cat authkey.pub >"$T/pub.pem"
check "authkey.pub is a public key (openssl)" openssl pkey -pubin -in "$T/pub.pem" -noout
expect "create again" 1 "cluster config '/etc/pve/corosync.conf' already exists" pv create lab2 --link0 "$IP"

if command -v corosync >/dev/null && command -v unshare >/dev/null && [ "$(id -u)" = 0 ]; then
	mkdir -p "$T/etc-corosync"
	cp "$ROOT/etc/corosync/corosync.conf" "$ROOT/etc/corosync/authkey" "$T/etc-corosync/"
	check "corosync -t accepts the file pvecm create wrote" unshare -n -m sh -c "
		ip link set lo up && ip addr add $IP/32 dev lo &&
		mount --bind '$T/etc-corosync' /etc/corosync &&
		corosync -t -c /etc/corosync/corosync.conf"
else
	echo "skip - corosync -t (corosync not installed or not root)"
fi

# --- a one-node cluster
check "quorate after create" "$CFSBOX" quorum-check --root "$ROOT" -q -w 10
pv status >"$T/status" 2>"$T/err"
rc=$?
same "status exit 0 when quorate" 0 "$rc"
sed -e 's/^Date:  .*/Date:             DATE/' -e 's/^Ring ID:  .*/Ring ID:          RING/' "$T/status" >"$T/status.n"
cat >"$T/want.status" <<EOF
Cluster information
-------------------
Name:             lab
Config Version:   1
Transport:        knet
Secure auth:      on

Quorum information
------------------
Date:             DATE
Quorum provider:  corosync_votequorum
Nodes:            1
Node ID:          0x00000001
Ring ID:          RING
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   1
Highest expected: 1
Total votes:      1
Quorum:           1  
Flags:            Quorate 

Membership information
----------------------
    Nodeid      Votes Name
0x00000001          1 $IP (local)
EOF
check "status layout" diff "$T/want.status" "$T/status.n"
grep -qE '^Ring ID:          1\.[0-9a-f]+$' "$T/status" && ok "Ring ID is <leader>.<term hex>" ||
	bad "Ring ID: $(grep Ring "$T/status")"
cat >"$T/want.nodes" <<EOF

Membership information
----------------------
    Nodeid      Votes Name
         1          1 n1 (local)
EOF
check "nodes layout" diff "$T/want.nodes" <(pv nodes)
expect "expected 2 on a quorate one-vote cluster" 1 "Unable to set expected votes: CS_ERR_INVALID_PARAM" pv expected 2
check "expected 1" pv expected 1

# --- tokens
TOK=$(pv token --ttl 60)
[[ $TOK =~ ^cfsjoin-[A-Za-z0-9_-]{43}$ ]] && ok "token format" || bad "token format: '$TOK'"
cfs cfs-cat priv/join-tokens >"$T/tokens" 2>&1
grep -qE '^[0-9a-f]{64} [0-9]+$' "$T/tokens" && ok "tokens file holds a hash and an expiry" ||
	bad "tokens file: $(head -c 200 "$T/tokens")"
has "$TOK" "$T/tokens" && bad "the token itself is stored" || ok "the token itself is not stored"
exp=$(awk '{print $2}' "$T/tokens" | tail -1)
now=$(date +%s)
[ "$exp" -gt "$now" ] && [ "$exp" -le $((now + 61)) ] && ok "token expiry = now + ttl" || bad "token expiry $exp (now $now)"

# --- add pre-checks on a clustered node
expect "add on a clustered node: pre-checks" 1 "Check if node may join a cluster failed!" pv add 127.0.0.1 --link0 192.0.2.99
for m in "detected the following error(s):" "* authentication key '/etc/corosync/authkey' already exists" \
	"* cluster config '/etc/pve/corosync.conf' already exists" \
	"* corosync is already running, is this node already in a cluster?!" \
	"* local node address: cannot use IP '192.0.2.99', not found on local node!"; do
	has "$m" "$T/err" && ok "pre-check line: $m" || bad "pre-check line missing: $m"
done

# --- addnode / delnode on a one-node cluster
expect "addnode an existing name" 1 "can't add existing node 'n1'" pv addnode n1 --link0 127.0.$K.9
expect "addnode an address in use" 1 "corosync: address '$IP' already used on link ring0_addr by node 'n1'" pv addnode n9 --link0 "$IP"
expect "addnode without an address" 1 "no links and no fallback ip (new_node_ip) given, cannot join cluster" pv addnode n9
check "addnode n2" pv addnode n2 --link0 127.0.$K.2
cfs cfs-cat corosync.conf >"$T/c2"
has "config_version: 2" "$T/c2" && has "name: n2" "$T/c2" && has "nodeid: 2" "$T/c2" &&
	ok "addnode: n2 with nodeid 2, config_version 2" || bad "addnode result: $(cat "$T/c2")"
check "addnode made nodes/n2/qemu-server" cfs cfs-ls nodes/n2/qemu-server
check "host corosync.conf follows the tree" wait_for 10 cmp -s "$T/c2" "$ROOT/etc/corosync/corosync.conf"
# n2 never comes: expected 2, quorum 2, the one node is not quorate
check "not quorate with n2 missing" wait_for 10 sh -c "! '$CFSBOX' quorum-check --root '$ROOT' -q"
pv status >"$T/status" 2>&1
same "status exit 2 when not quorate" 2 "$?"
has "Quorum:           2 Activity blocked" "$T/status" && has "Quorate:          No" "$T/status" &&
	ok "status: Activity blocked" || bad "status when not quorate: $(cat "$T/status")"
expect "delnode without quorum" 1 "cluster not ready - no quorum?" pv delnode n2
check "expected 1 brings quorum back" pv expected 1
check "quorate again" "$CFSBOX" quorum-check --root "$ROOT" -q -w 10
expect "delnode myself" 1 "Cannot delete myself from cluster!" pv delnode n1
expect "delnode myself by address" 1 "Cannot delete myself from cluster!" pv delnode "$IP"
expect "delnode unknown" 1 "Node/IP: n7 is not a known host of the cluster." pv delnode n7
check "delnode n2 by address" pv delnode 127.0.$K.2
cfs cfs-cat corosync.conf >"$T/c3"
has "n2" "$T/c3" && bad "delnode: n2 still there" || ok "delnode: n2 gone"
has "config_version: 3" "$T/c3" && ok "delnode bumps config_version" || bad "delnode version"
check "delnode keeps nodes/n2" cfs cfs-ls nodes/n2

# --- updatecerts
cp "$T/n1.pem" "$T/n1.old"
check "updatecerts (nothing to do)" pv updatecerts
cfs cfs-cat nodes/n1/pve-ssl.pem | cmp -s - "$T/n1.old" && ok "updatecerts keeps a good certificate" ||
	bad "updatecerts replaced a good certificate"
check "updatecerts --force" pv updatecerts --force
has "generated new node certificate" "$T/out" && ok "updatecerts --force says so" || bad "updatecerts --force output"
cfs cfs-cat nodes/n1/pve-ssl.pem >"$T/n1.pem"
cmp -s "$T/n1.pem" "$T/n1.old" && bad "updatecerts --force made a new certificate" || ok "updatecerts --force made a new certificate"
check "the new certificate verifies (openssl)" openssl verify -CAfile "$T/ca.pem" "$T/n1.pem"
same "CA serial advanced" "0000000000000002" "$(cfs cfs-cat priv/pve-root-ca.srl | tr -d '\n')"

# --- leave
check "leave" pv leave
expect "status after leave" 1 "$CONF_MISSING" pv status
[ ! -e "$ROOT/etc/corosync/corosync.conf" ] && [ ! -e "$ROOT/etc/corosync/authkey" ] &&
	ok "leave removed the host corosync.conf and authkey" || bad "leave left host files"
check "leave kept the node certificate" cfs cfs-cat nodes/n1/pve-ssl.pem
check "still serving after leave" "$CFSBOX" quorum-check --root "$ROOT" -q -w 5
echo x | cfs cfs-put leftover && ok "writes work in local mode after leave" || bad "no writes after leave"
check "create again after leave" pv create lab3 --link0 "$IP"
check "quorate after the second create" "$CFSBOX" quorum-check --root "$ROOT" -q -w 10
check "the CA was kept" cmp "$T/ca.pem" <(cfs cfs-cat pve-root-ca.pem)

finish
