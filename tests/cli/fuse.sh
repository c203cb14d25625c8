#!/usr/bin/env bash
# tests/cli/fuse.sh - the tree mounted at <root>/etc/pve (FUSE, local
# mode): what programs see and may do there, pmxcfs's rules through the
# kernel, one change per written file, a dead mount after kill -9.
# shellcheck source=tests/cli/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

M=$ROOT/etc/pve
if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	# without root or /dev/fuse cfsd runs without the mount
	start_cfsd || exit 1
	check "no mount without root or /dev/fuse" sh -c "! grep -q ' $M ' /proc/mounts"
	grep -q "running without the mount" "$T/cfsd.log" && ok "and says so" || bad "and says so"
	finish
fi
writes() { cfs cfs-status --json | sed -n 's/.*"writes":\([0-9]*\).*/\1/p'; }
as_www() { setpriv --reuid=65534 --regid=33 --clear-groups "$@"; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

chmod 755 "$T" "$ROOT" # for the checks as www-data and nobody
start_cfsd || exit 1
check "mounted at <root>/etc/pve, type fuse" grep -q " $M fuse " /proc/mounts
same "cfs-status shows the mount" "mount            $M" "$(cfs cfs-status | grep '^mount')"
same "mount options as pmxcfs" "rw,nosuid,nodev,relatime,user_id=0,group_id=0,default_permissions,allow_other" \
	"$(awk -v m="$M" '$2 == m { print $4 }' /proc/mounts)"
same "local -> nodes/n1 (the 'is it mounted' test of Proxmox)" "nodes/n1" "$(readlink "$M/local")"
same "the local symlink is writable when quorate (mode 0755)" 755 "$(stat -c %a "$M/local")"
same ".members through the mount" "$(cfs cfs-cat /.members)" "$(cat "$M/.members")"
same "virtual files are 0440 root:www-data" "440 root www-data" "$(stat -c '%a %U %G' "$M/.vmlist")"

# --- files and directories
echo hello >"$M/a.txt"
same "a file written through the mount" hello "$(cfs cfs-cat /a.txt)"
same "files are 0640 root:www-data" "640 root www-data 6" "$(stat -c '%a %U %G %s' "$M/a.txt")"
printf 'via ipc\n' | cfs cfs-put /b.txt
same "a file put through IPC, read through the mount" "via ipc" "$(cat "$M/b.txt")"
mkdir -p "$M/nodes/n1/qemu-server" "$M/priv"
same "directories are 0755" 755 "$(stat -c %a "$M/nodes/n1")"
same "priv/ is 0700" 700 "$(stat -c %a "$M/priv")"
echo secret >"$M/priv/key"
same "priv files are 0600" 600 "$(stat -c %a "$M/priv/key")"
same "ls through the local symlink" "qemu-server" "$(ls "$M/local/")"
echo 'name: vm' >"$M/qemu-server/100.conf"
same "a write through the qemu-server symlink lands in nodes/n1" "name: vm" \
	"$(cfs cfs-cat /nodes/n1/qemu-server/100.conf)"
mv "$M/a.txt" "$M/c.txt"
check "rename" test -f "$M/c.txt" -a ! -e "$M/a.txt"
same "rename seen by IPC" hello "$(cfs cfs-cat /c.txt)"
rm "$M/c.txt"
expect "unlink" 1 "No such file or directory" cfs cfs-cat /c.txt
printf 'one\n' >"$M/app" && printf 'two\n' >>"$M/app"
same "append (O_APPEND)" "one two" "$(cfs cfs-cat /app | tr '\n' ' ' | sed 's/ $//')"
mkdir "$M/d" && rmdir "$M/d"
check "mkdir and rmdir" test ! -e "$M/d"
touch -d @1000000 "$M/b.txt"
same "utime sets the mtime" 1000000 "$(stat -c %Y "$M/b.txt")"
truncate -s 3 "$M/b.txt"
same "truncate" "via" "$(cat "$M/b.txt")"
same "readdir" ".clusterlog .debug .members .rrd .version .vmlist app b.txt local lxc nodes openvz priv qemu-server" \
	"$(ls -A "$M" | tr '\n' ' ' | sed 's/ $//')"

# --- one change per written file, readers keep what they opened
w0=$(writes)
dd if=/dev/zero of="$M/b.txt" bs=1 count=100 conv=notrunc status=none
same "100 write() calls, one open: one change" $((w0 + 1)) "$(writes)"
same "... with all the bytes" 100 "$(cfs cfs-cat /b.txt | wc -c)"
w0=$(writes)
echo replaced >"$M/b.txt"
same "a shell's 'echo > file' (open O_TRUNC, dup2, close, write, close): one change" \
	$((w0 + 1)) "$(writes)"
same "... the new content" replaced "$(cfs cfs-cat /b.txt)"
: >"$M/b.txt"
same "': > file' empties it (committed at release)" 0 "$(cat "$M/b.txt" | wc -c)"
printf old >"$M/r.txt"
exec 3<"$M/r.txt"
printf new | cfs cfs-put /r.txt
same "a reader reads the file as it was at its open" old "$(cat <&3)"
exec 3<&-
same "the next open reads the new one" new "$(cat "$M/r.txt")"

# --- several writers and readers at once: every read is one whole version
# (files larger than one FUSE read, 128 KiB, so that a read is several)
a=$(head -c 200000 /dev/zero | tr '\0' a)
b=$(head -c 300000 /dev/zero | tr '\0' b)
printf %s "$a" >"$M/race"
writer() { for _ in $(seq 30); do printf %s "$1" >"$M/race"; done; }
reader() {
	local n=0 v
	for _ in $(seq 60); do
		v=$(cat "$M/race")
		[ "$v" = "$a" ] || [ "$v" = "$b" ] || n=$((n + 1))
	done
	echo "$n"
}
writer "$a" &
w1=$!
writer "$b" &
w2=$!
reader >"$T/r1" &
r1=$!
reader >"$T/r2" &
r2=$!
wait $w1 $w2 $r1 $r2
same "2 writers, 2 readers at once: no read saw a mix or a part" "0 0" "$(cat "$T/r1") $(cat "$T/r2")"
check "cfsd is still there" kill -0 "$CFSD_PID"
same "IPC reads one of the two" 1 "$(v=$(cfs cfs-cat /race); [ "$v" = "$a" ] || [ "$v" = "$b" ] && echo 1)"

# --- pmxcfs's rules and errors, as programs see them
expect "VMID in use elsewhere: File exists" 2 "File exists" sh -c "mkdir -p '$M/nodes/n2/lxc' && : >'$M/nodes/n2/lxc/100.conf'"
expect "mkdir of an existing directory" 1 "File exists" mkdir "$M/priv"
mkdir "$M/full" && : >"$M/full/f"
expect "rmdir of a non-empty directory" 1 "Directory not empty" rmdir "$M/full"
expect "a file over 1 MiB: File too large" 1 "File too large" sh -c "head -c 1048577 /dev/zero >'$M/big'"
expect "chmod to another mode: Operation not permitted" 1 "Operation not permitted" chmod 600 "$M/b.txt"
check "chmod to its own mode is allowed" chmod 640 "$M/b.txt"
expect "chown to another user: Operation not permitted" 1 "Operation not permitted" chown nobody "$M/b.txt"
expect "symlinks of one's own: Function not implemented (as pmxcfs)" 1 "Function not implemented" \
	ln -s b.txt "$M/l"
expect "a name over 255 bytes: File name too long" 1 "File name too long" \
	touch "$M/$(head -c 300 /dev/zero | tr '\0' n)"
expect "a virtual file cannot be removed" 1 "Permission denied" rm -f "$M/.members"
mkdir -p "$M/priv/lock/job"
expect "utime 0 on a lock: Permission denied (an unlock request)" 1 "Permission denied" \
	touch -d @0 "$M/priv/lock/job"
echo 1 >"$M/.debug"
same ".debug switches debug logging" 1 "$(cat "$M/.debug")"
echo 0 >"$M/.debug"

# --- who may do what (default_permissions, the modes above)
check "www-data reads a file" as_www cat "$M/b.txt"
expect "www-data cannot write" 2 "Permission denied" as_www sh -c "echo x >'$M/b.txt'"
expect "www-data cannot read priv/" 1 "Permission denied" as_www cat "$M/priv/key"
expect "others cannot read at all" 1 "Permission denied" as_nobody cat "$M/b.txt"

# --- stop, kill -9, restart
stop_cfsd TERM
check "SIGTERM unmounts" sh -c "! grep -q ' $M ' /proc/mounts"
start_cfsd || exit 1
stop_cfsd KILL
expect "after kill -9 the mount is dead" 2 "Transport endpoint is not connected" ls "$M"
start_cfsd || exit 1
same "the next cfsd replaces the dead mount" "new" "$(cat "$M/r.txt")"
grep -q "the mount of an earlier cfsd is dead: unmounting it" "$T/cfsd.log" && ok "and says so" ||
	bad "and says so"
same "one mount, not two" 1 "$(grep -c " $M " /proc/mounts)"
stop_cfsd TERM
start_cfsd --no-mount || exit 1
check "--no-mount: no mount" sh -c "! grep -q ' $M ' /proc/mounts"
same "cfs-status: no mount" "mount" "$(cfs cfs-status | grep '^mount' | tr -d ' ')"
stop_cfsd TERM
start_cfsd --mount "$T/elsewhere" || exit 1
same "--mount DIR" "new" "$(cat "$T/elsewhere/r.txt")"
stop_cfsd TERM
finish
