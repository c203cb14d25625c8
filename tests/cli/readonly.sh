#!/usr/bin/env bash
# tests/cli/readonly.sh - a journal write that fails makes cfsd read-only:
# the op in flight gets "Input/output error", later mutations "Read-only
# file system", reads go on, one log line.  The state directory lives on
# a 3 MiB tmpfs that 1 MiB files fill up (needs root for the mount).
# shellcheck source=tests/cli/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=3m cfs-test "$ROOT" 2>/dev/null; then
	echo "# not root or no tmpfs mount: skipped"
	finish
fi
trap 'cleanup_ro' EXIT
cleanup_ro() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	unmount_all
	rm -rf "$T"
}

start_cfsd || exit 1
printf 'small\n' | cfs cfs-put /small
head -c 1000000 /dev/zero >"$T/1m"
first=
for i in 1 2 3 4 5; do
	if ! cfs cfs-put "/f$i" <"$T/1m" 2>"$T/put.err"; then
		first=$(cat "$T/put.err")
		break
	fi
done
case $first in
*"Input/output error"* | *"I/O error"* | *"No space left on device"*) ok "the write that hit the full disk failed ($first)" ;;
*) bad "the write that hit the full disk failed (got '$first')" ;;
esac
expect "later writes: Read-only file system" 1 "cfs-put: next: Read-only file system" cfs cfs-put /next < <(printf x)
expect "mkdir too: Read-only file system" 1 "Read-only file system" cfs cfs-mkdir /d
same "reads go on" "small" "$(cfs cfs-cat /small)"
check "ls goes on" cfs cfs-ls /
n=$(grep -c "read-only until restarted" "$T/cfsd.log")
same "one log line" 1 "$n"
stop_cfsd TERM
same "clean shutdown even when read-only" 0 "$CFSD_RC"
# room again: a restart recovers every answered write and writes again
mount -o remount,size=64m "$ROOT"
start_cfsd || exit 1
same "restart: the answered small write is there" "small" "$(cfs cfs-cat /small)"
for j in $(seq 1 $((i - 1))); do
	same "restart: answered 1 MB write f$j is there" 1000000 "$(cfs cfs-cat "/f$j" | wc -c)"
done
check "writes work again after the restart" cfs cfs-put /again < <(printf y)
finish
