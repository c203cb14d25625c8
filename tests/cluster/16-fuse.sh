#!/usr/bin/env bash
# 3 nodes, each with the tree mounted at <root>/etc/pve inside its own
# network namespace (reached here through /proc/PID/root): what is written
# through one node's mount is read through the others'; a node cut off
# from the other two shows the quorum signal of Proxmox (the write bit of
# `local` goes) and refuses writes through its mount with EACCES; after
# healing it writes again and the trees are one.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] && [ -c /dev/fuse ] || {
	log "FUSE mounts need root and /dev/fuse"
	exit 77
}
mnt() { echo "/proc/${PIDS[$1]}/root$(node_root "$1")/etc/pve"; }
reads() { [ "$(cat "$(mnt "$1")/$2" 2>/dev/null)" = "$3" ]; } # reads I FILE CONTENT
local_mode() { stat -c %a "$(mnt "$1")/local"; }

cluster_up 3 udpu || { check "cluster up" false; finish; exit; }
for i in 1 2 3; do
	check "node$i: mounted" wait_until 5 test -L "$(mnt "$i")/local"
done
echo "written on node1" >"$(mnt 1)/f.txt"
for i in 2 3; do
	check "node$i reads what node1 wrote through its mount" wait_until 2 reads "$i" f.txt "written on node1"
done
mkdir -p "$(mnt 2)/nodes/node2/qemu-server"
echo "name: vm100" >"$(mnt 2)/nodes/node2/qemu-server/100.conf"
check "node1 sees node2's VM config through its mount" wait_until 2 reads 1 nodes/node2/qemu-server/100.conf "name: vm100"
mkdir -p "$(mnt 3)/nodes/node3/lxc"
err=$(cat /dev/null 2>&1 >"$(mnt 3)/nodes/node3/lxc/100.conf")
check "node3: the same VMID on another node is refused (File exists)" grep -q "File exists" <<<"$err"
mv "$(mnt 3)/f.txt" "$(mnt 3)/g.txt"
check "a rename on node3 is seen on node1" wait_until 2 sh -c "[ ! -e '$(mnt 1)/f.txt' ] && [ -e '$(mnt 1)/g.txt' ]"
dd if=/dev/urandom of="$T/blob" bs=1k count=200 status=none
cp "$T/blob" "$(mnt 1)/blob"
check "200 KiB through node1's mount, byte for byte on node3" wait_until 3 sh -c "cmp -s '$T/blob' '$(mnt 3)/blob'"
same_content 2 /blob "$T/blob" && PASS=$((PASS + 1)) && echo "ok   and through IPC on node2" ||
	{ FAIL=$((FAIL + 1)) && echo "FAIL and through IPC on node2"; }

check "quorate: local is 0755" test "$(local_mode 3)" = 755
partition "1 2" "3"
check "node3 cut off: local turns 0555 within 2 s (Proxmox's quorum test)" \
	wait_until 2 sh -c "[ \"\$(stat -c %a '$(mnt 3)/local')\" = 555 ]"
err=$(cat /dev/null 2>&1 >"$(mnt 3)/g.txt")
check "node3: a write through the mount fails with Permission denied" grep -q "Permission denied" <<<"$err"
check "node3: reads go on" reads 3 g.txt "written on node1"
echo "majority" >"$(mnt 1)/m.txt"
check "nodes 1 and 2 keep writing through their mounts" wait_until 2 reads 2 m.txt majority
heal
check "healed: node3 quorate again" wait_until 10 sh -c "[ \"\$(stat -c %a '$(mnt 3)/local')\" = 755 ]"
check "healed: node3 has what was written meanwhile" wait_until 5 reads 3 m.txt majority
echo "after" >"$(mnt 3)/after.txt"
check "healed: node3 writes through its mount" wait_until 2 reads 1 after.txt after
check "one tree" wait_until 10 trees_identical
finish
