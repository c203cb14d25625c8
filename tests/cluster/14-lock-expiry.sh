#!/usr/bin/env bash
# 3 nodes; a cluster lock (priv/lock/NAME) whose holder is gone is removed
# by an unlock request (utime 0, cfs-touch -m 0) from another node once it
# has not changed for the lock lifetime (spec/pmxcfs.md §7.1; 120 s, here
# 2 s through the test-only CFS_TEST_LOCK_TIMEOUT).  The request is sent
# from a follower, so it travels to the leader, which decides.
. "$(dirname "$0")/lib.sh"
export CFS_TEST_LOCK_TIMEOUT=2

cluster_up 3 udpu || { check "cluster up" false; finish; exit; }
L=$(leader_of 1)
H=$((L % 3 + 1))  # the holder: a follower
F=$((H % 3 + 1))  # the requester: the other follower (or the leader if H's successor is)
[ "$F" = "$L" ] && F=$((F % 3 + 1))
log "leader node$L, holder node$H, requester node$F"
has_lock() { on "$1" cfs-ls /priv/lock 2>/dev/null | grep -qx storage-x; }

check "mkdir -p priv/lock" on "$H" cfs-mkdir -p /priv/lock
check "node$H takes the lock" on "$H" cfs-mkdir /priv/lock/storage-x
check "node$F sees it" wait_until 2 has_lock "$F"
check "node$F cannot take it: File exists" \
	sh -c "'$CFSBOX' cfs-mkdir --root '$(node_root "$F")' /priv/lock/storage-x 2>&1 | grep -q 'File exists'"
check "node$F cannot renew it (not the holder): Permission denied" \
	sh -c "'$CFSBOX' cfs-touch --root '$(node_root "$F")' /priv/lock/storage-x 2>&1 | grep -q 'Permission denied'"
kill_node "$H"
check "unlock request on a fresh lock: Permission denied" \
	sh -c "'$CFSBOX' cfs-touch --root '$(node_root "$F")' -m 0 /priv/lock/storage-x 2>&1 | grep -q 'Permission denied'"
sleep 0.5
check "... and the lock stays" has_lock "$F"
sleep 2
on "$F" cfs-touch -m 0 /priv/lock/storage-x 2>/dev/null
check "older than its lifetime: gone on node$F" wait_until 3 sh -c "! '$CFSBOX' cfs-ls --root '$(node_root "$F")' /priv/lock | grep -qx storage-x"
check "... and on node$L" wait_until 3 sh -c "! '$CFSBOX' cfs-ls --root '$(node_root "$L")' /priv/lock | grep -qx storage-x"
check "node$F takes the lock" on "$F" cfs-mkdir /priv/lock/storage-x
check "the leader logged the removal" grep -q "lock priv/lock/storage-x expired" "$(node_root "$L").log"
finish
