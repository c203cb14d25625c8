#!/usr/bin/env bash
# tests/cli/rules.sh - the pmxcfs rules (spec/pmxcfs.md §3-§5, §7.1)
# through the applets, each with its errno message.
# shellcheck source=tests/cli/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

# locks live 2 s here instead of 120 (test-only variable, locks.c)
export CFS_TEST_LOCK_TIMEOUT=2
start_cfsd || exit 1

# --- size limits
head -c 1048576 /dev/zero | tr '\0' 'x' >"$T/1m"
check "a file of exactly 1 MiB" cfs cfs-put /big <"$T/1m"
same "and it reads back whole" 1048576 "$(cfs cfs-cat /big | wc -c)"
{ cat "$T/1m"; echo; } >"$T/1m1"
expect "1 MiB + 1 byte: File too large" 1 "cfs-put: big2: File too large" cfs cfs-put /big2 <"$T/1m1"
check "the oversized file was not created" test -z "$(cfs cfs-ls / | grep -x big2)"
check "rm big" cfs cfs-rm /big

# 128 MiB total: 128 files of 1 MiB fill it exactly, one more byte is ENOSPC
check "mkdir fill" cfs cfs-mkdir /fill
seq 0 127 | xargs -P 8 -I{} sh -c 'exec "$1" cfs-put --root "$2" "/fill/$3" <"$4"' sh "$CFSBOX" "$ROOT" {} "$T/1m" 2>"$T/fill.err" &&
	ok "128 files of 1 MiB (128 MiB) fit" || bad "128 files of 1 MiB fit ($(head -3 "$T/fill.err"))"
expect "one more byte: No space left on device" 1 "cfs-put: one: No space left on device" \
	cfs cfs-put /one < <(printf x)
expect "an empty file still fits (no bytes)" 0 "" cfs cfs-put /zero </dev/null
expect "replacing a 1 MiB file by a smaller one is fine" 0 "" cfs cfs-put /fill/0 < <(printf y)
check "then one more byte fits" cfs cfs-put /one < <(printf x)
seq 1 127 | sed 's|^|/fill/|' | xargs -n 32 "$CFSBOX" cfs-rm --root "$ROOT" &&
	ok "rm the fill files" || bad "rm the fill files"

# --- names reserved in the root, and the root itself
for n in local qemu-server lxc openvz .version .members .vmlist .rrd .clusterlog; do
	expect "put /$n: Permission denied" 1 "cfs-put: $n: Permission denied" cfs cfs-put "/$n" </dev/null
done
expect "mkdir /.members: Permission denied" 1 "cfs-mkdir: .members: Permission denied" cfs cfs-mkdir /.members
expect "rm /local: Permission denied" 1 "Permission denied" cfs cfs-rm /local
expect "rm of the root: Permission denied" 1 "cfs-rm: /: Permission denied" cfs cfs-rm /
expect "mv onto .vmlist: Permission denied" 1 "Permission denied" cfs cfs-mv /one /.vmlist
check "a reserved name below the root is fine" cfs cfs-mkdir -p /nodes/n1/local

# --- VMID uniqueness across nodes/*/{qemu-server,lxc,openvz}
check "mkdirs" cfs cfs-mkdir -p /nodes/a/qemu-server /nodes/a/lxc /nodes/b/qemu-server /nodes/b/lxc /nodes/b/openvz
printf 'memory: 512\n' | cfs cfs-put /nodes/a/qemu-server/100.conf
expect "same VMID on another node: File exists" 1 \
	"cfs-put: nodes/b/qemu-server/100.conf: File exists" cfs cfs-put /nodes/b/qemu-server/100.conf </dev/null
expect "same VMID as a container on another node: File exists" 1 "File exists" \
	cfs cfs-put /nodes/b/lxc/100.conf </dev/null
expect "same VMID as a container on the same node: File exists" 1 "File exists" \
	cfs cfs-put /nodes/a/lxc/100.conf </dev/null
expect "same VMID under openvz: File exists" 1 "File exists" cfs cfs-put /nodes/b/openvz/100.conf </dev/null
expect "rewriting the config in place is fine" 0 "" cfs cfs-put /nodes/a/qemu-server/100.conf < <(printf 'memory: 1024\n')
expect "another VMID on the other node is fine" 0 "" cfs cfs-put /nodes/b/qemu-server/101.conf </dev/null
expect "migration: rename to another node is allowed" 0 "" \
	cfs cfs-mv /nodes/a/qemu-server/100.conf /nodes/b/qemu-server/100.conf
same "the config moved" "memory: 1024" "$(cfs cfs-cat /nodes/b/qemu-server/100.conf)"
grep -q '"100": { "node": "b", "type": "qemu"' <(cfs cfs-cat /.vmlist) && ok ".vmlist follows the migration" ||
	bad ".vmlist follows the migration ($(cfs cfs-cat /.vmlist | tr '\n' ' '))"
expect "renaming another file onto a used VMID: File exists" 1 "File exists" \
	cfs cfs-mv /nodes/b/qemu-server/101.conf /nodes/a/lxc/100.conf
check "after delete the VMID is free again" cfs cfs-rm /nodes/b/qemu-server/100.conf
expect "... and can be used on another node" 0 "" cfs cfs-put /nodes/a/lxc/100.conf </dev/null

# --- directories
expect "rm of a non-empty directory: Directory not empty" 1 "cfs-rm: nodes/a: Directory not empty" cfs cfs-rm /nodes/a
expect "mkdir over a file: File exists" 1 "File exists" cfs cfs-mkdir /one
expect "put below a file: Not a directory" 1 "Not a directory" cfs cfs-put /one/x </dev/null
expect "put onto a directory: Is a directory" 1 "Is a directory" cfs cfs-put /nodes </dev/null
expect "put into a missing directory: No such file or directory" 1 "No such file or directory" \
	cfs cfs-put /missing/x </dev/null

# --- locks under priv/lock
check "mkdir -p priv/lock" cfs cfs-mkdir -p /priv/lock
check "acquire a lock by mkdir" cfs cfs-mkdir /priv/lock/storage-local
expect "mkdir of a held lock: File exists" 1 "cfs-mkdir: priv/lock/storage-local: File exists" \
	cfs cfs-mkdir /priv/lock/storage-local
expect "rename of a lock dir: Permission denied" 1 "Permission denied" \
	cfs cfs-mv /priv/lock/storage-local /priv/lock/other
check "mkdir another lock" cfs cfs-mkdir /priv/lock/other
check "mkdir an empty dir" cfs cfs-mkdir /emptyd
expect "rename onto a lock dir: Permission denied" 1 "Permission denied" cfs cfs-mv /emptyd /priv/lock/other
check "release by rmdir" cfs cfs-rm /priv/lock/storage-local
check "acquire again" cfs cfs-mkdir /priv/lock/storage-local

# renew and unlock request by mtime (spec §7.1), with cfs-touch
# unlock_gone NAME: an unlock request for priv/lock/NAME, then up to 2 s
# for the lock to go; 0 if it went
unlock_gone() {
	cfs cfs-touch -m 0 "/priv/lock/$1" 2>/dev/null
	for _ in $(seq 20); do
		cfs cfs-ls /priv/lock | grep -qx "$1" || return 0
		sleep 0.1
	done
	return 1
}
mtime_of() { cfs cfs-ls -l "$(dirname "$1")" | awk -v n="$(basename "$1")" '$NF == n { print $3, $4 }'; }
check "cfs-touch -m sets the mtime" cfs cfs-touch -m 1700000000 /emptyd
same "... as cfs-ls -l shows" "2023-11-14 22:13" "$(TZ=UTC0 mtime_of /emptyd)"
expect "cfs-touch of a missing path" 1 "cfs-touch: nope: No such file or directory" cfs cfs-touch /nope
expect "cfs-touch -m needs a number" 2 "-m x: not a time in seconds since 1970" cfs cfs-touch -m x /emptyd
check "renew a lock (a newer mtime, by its holder)" cfs cfs-touch /priv/lock/other
expect "a lock's mtime cannot go back" 1 "Permission denied" cfs cfs-touch -m 1 /priv/lock/other
expect "unlock request on a fresh lock: refused, as pmxcfs" 1 \
	"cfs-touch: priv/lock/other: Permission denied" cfs cfs-touch -m 0 /priv/lock/other
sleep 0.3
check "... and the lock stays (younger than its lifetime)" test -n "$(cfs cfs-ls /priv/lock | grep -x other)"
sleep 1
cfs cfs-touch /priv/lock/other 2>/dev/null
sleep 1.3
cfs cfs-touch -m 0 /priv/lock/other 2>/dev/null
sleep 0.3
check "renewed 1.3 s ago: an unlock request leaves it" test -n "$(cfs cfs-ls /priv/lock | grep -x other)"
sleep 1
check "unchanged for longer than its lifetime: an unlock request removes it" unlock_gone other
grep -q "lock priv/lock/other expired" "$T/cfsd.log" && ok "the removal is logged" || bad "the removal is logged"
check "the lock can be taken again" cfs cfs-mkdir /priv/lock/other
# a lock that was there when cfsd started counts from the start
check "take a lock, then restart cfsd" cfs cfs-mkdir /priv/lock/old
stop_cfsd TERM
start_cfsd || exit 1
sleep 2.3
check "unchanged since the start for longer than its lifetime: one request removes it" \
	unlock_gone old

# --- modes by path (spec §4.3)
printf 's' | cfs cfs-put /priv/authkey.key
printf 'u' | cfs cfs-put /user.cfg
cfs cfs-ls -l / >"$T/ls"
grep -Eq '^drwx------ .* priv$' "$T/ls" && ok "priv is 0700" || bad "priv is 0700 ($(grep priv "$T/ls"))"
grep -Eq '^-rw-r----- .* user.cfg$' "$T/ls" && ok "user.cfg is 0640" || bad "user.cfg is 0640"
grep -Eq '^-rw------- .* authkey.key$' <(cfs cfs-ls -l /priv) && ok "priv/authkey.key is 0600" ||
	bad "priv/authkey.key is 0600 ($(cfs cfs-ls -l /priv))"
check "mkdir -p nodes/a/priv" cfs cfs-mkdir -p /nodes/a/priv
grep -Eq '^drwx------ .* priv$' <(cfs cfs-ls -l /nodes/a) && ok "nodes/a/priv is 0700" || bad "nodes/a/priv is 0700"

# --- access by credentials: www-data reads non-private paths only, others
# are refused, the owner of --root DIR counts as root
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && getent group www-data >/dev/null; then
	WWW=$(getent group www-data | cut -d: -f3)
	chmod 755 "$T"
	as() { # as UID GID COMMAND...
		local u=$1 g=$2
		shift 2
		setpriv --reuid="$u" --regid="$g" --clear-groups "$@"
	}
	expect "www-data group reads a public file" 0 "" as 65534 "$WWW" "$CFSBOX" cfs-cat --root "$ROOT" /user.cfg
	same "... its content" "u" "$(cat "$T/out")"
	expect "www-data group lists the root" 0 "" as 65534 "$WWW" "$CFSBOX" cfs-ls --root "$ROOT" /
	expect "www-data group reading priv/: Permission denied" 1 "cfs-cat: priv/authkey.key: Permission denied" \
		as 65534 "$WWW" "$CFSBOX" cfs-cat --root "$ROOT" /priv/authkey.key
	expect "www-data group listing nodes/a/priv: Permission denied" 1 "Permission denied" \
		as 65534 "$WWW" "$CFSBOX" cfs-ls --root "$ROOT" /nodes/a/priv
	expect "www-data group writing: Permission denied" 1 "cfs-put: user.cfg: Permission denied" \
		as 65534 "$WWW" "$CFSBOX" cfs-put --root "$ROOT" /user.cfg </dev/null
	expect "another user is refused: Permission denied" 1 "Permission denied" \
		as 65534 65534 "$CFSBOX" cfs-cat --root "$ROOT" /user.cfg
	expect "... quorum-check says unreachable (2)" 2 "" as 65534 65534 "$CFSBOX" quorum-check --root "$ROOT"
	stop_cfsd TERM
	chown 65534 "$ROOT"
	start_cfsd || exit 1
	expect "the owner of --root DIR writes" 0 "" as 65534 65534 "$CFSBOX" cfs-put --root "$ROOT" /owner </dev/null
	chown 0 "$ROOT"
	stop_cfsd TERM
	start_cfsd --gid 4242 || exit 1
	expect "--gid: that group reads" 0 "" as 65534 4242 "$CFSBOX" cfs-cat --root "$ROOT" /user.cfg
	expect "--gid: www-data no longer does" 1 "Permission denied" \
		as 65534 "$WWW" "$CFSBOX" cfs-cat --root "$ROOT" /user.cfg
else
	echo "# not root (or no setpriv/www-data): credential checks skipped"
fi
finish
