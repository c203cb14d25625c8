#!/usr/bin/env bash
# tests/cli/entries.sh - the 256 Ki entries limit (CFS_INODES_MAX, root
# included): ENOSPC beyond it.  64 parallel cfs-mkdir processes, each
# making 4096 directories over one connection, so that group commit puts
# many of them into one fsync.
# shellcheck source=tests/cli/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

start_cfsd || exit 1
check "mkdir e" cfs cfs-mkdir /e
# root + e + 262142 = 262144 entries; we ask for 262144 names: 2 must fail
for k in $(seq 0 63); do
	seq "$((k * 4096))" "$((k * 4096 + 4095))" | sed 's|^|/e/|' >"$T/names.$k"
done
t0=$(date +%s.%N)
MK=()
for k in $(seq 0 63); do
	xargs "$CFSBOX" cfs-mkdir --root "$ROOT" <"$T/names.$k" 2>"$T/err.$k" &
	MK+=($!)
	PIDS+=($!)
done
for p in "${MK[@]}"; do
	wait "$p" || true
done
echo "# 262144 mkdirs took $(echo "$(date +%s.%N) - $t0" | bc) s"
nospc=$(cat "$T"/err.* | grep -c 'No space left on device')
other=$(cat "$T"/err.* | grep -vc 'No space left on device')
same "exactly 2 of 262144 mkdirs fail with No space left on device" "2 0" "$nospc $other"
expect "one more entry: No space left on device" 1 "cfs-put: x: No space left on device" cfs cfs-put /x </dev/null
check "rm one entry" cfs cfs-rm /e/0
check "then one fits again" cfs cfs-put /x </dev/null
expect "and the next does not" 1 "No space left on device" cfs cfs-mkdir /y
same "cfs-ls lists all 262141 entries of e (paged LIST)" 262141 "$(cfs cfs-ls /e | wc -l)"
same "cfs-ls -l too" 262141 "$(cfs cfs-ls -l /e | wc -l)"
stop_cfsd TERM
same "clean shutdown" 0 "$CFSD_RC"
start_cfsd || exit 1
expect "the limit holds after a restart (replay)" 1 "No space left on device" cfs cfs-mkdir /y
finish
