#!/usr/bin/env bash
# tests/cli/applets.sh - the client applets against one cfsd in local
# mode: output, options, exit codes, error messages, virtual files, cfs-dump.
# shellcheck source=tests/cli/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

start_cfsd || exit 1

# --- quorum-check, usage, -h
expect "quorum-check says quorate, exit 0" 0 "" cfs quorum-check
same "quorum-check prints quorate" "quorate" "$(cat "$T/out")"
expect "quorum-check -q is silent" 0 "" cfs quorum-check -q
same "quorum-check -q prints nothing" "" "$(cat "$T/out" "$T/err")"
for a in cfs-ls cfs-cat cfs-put cfs-rm cfs-mkdir cfs-mv cfs-dump quorum-check cfsd; do
	expect "$a -h exits 0" 0 "" "$CFSBOX" "$a" -h
	grep -q "^usage: $a" "$T/out" && ok "$a -h prints its usage" || bad "$a -h prints its usage"
	expect "$a with a bad option exits 2" 2 "usage: $a" "$CFSBOX" "$a" --no-such-option
done
expect "cfs-cat without a path is a usage error" 2 "usage:" cfs cfs-cat
expect "cfs-mv with one argument is a usage error" 2 "usage:" cfs cfs-mv a
expect "cfs-put with two paths is a usage error" 2 "usage:" cfs cfs-put a b
expect "quorum-check -w nonsense is a usage error" 2 "usage:" cfs quorum-check -w x

# --- put, cat, ls
check "mkdir -p nodes/n1/qemu-server" cfs cfs-mkdir -p /nodes/n1/qemu-server
check "mkdir -p again is fine" cfs cfs-mkdir -p nodes/n1/qemu-server
printf 'name: web01\nmemory: 2048\n' >"$T/100.conf"
check "put a VM config" cfs cfs-put /nodes/n1/qemu-server/100.conf <"$T/100.conf"
same "cat gives it back" "$(cat "$T/100.conf")" "$(cfs cfs-cat /nodes/n1/qemu-server/100.conf)"
same "leading / optional" "$(cat "$T/100.conf")" "$(cfs cfs-cat nodes/n1/qemu-server/100.conf)"
CFS_ROOT=$ROOT "$CFSBOX" cfs-cat nodes/n1/qemu-server/100.conf >"$T/env.out" 2>&1
same "CFS_ROOT finds the daemon" "$(cat "$T/100.conf")" "$(cat "$T/env.out")"
same "local symlink is followed" "$(cat "$T/100.conf")" "$(cfs cfs-cat /local/qemu-server/100.conf)"
same "qemu-server symlink is followed" "$(cat "$T/100.conf")" "$(cfs cfs-cat qemu-server/100.conf)"
check "put through the symlink" cfs cfs-put /qemu-server/101.conf <"$T/100.conf"
same "it landed in nodes/n1" "$(cat "$T/100.conf")" "$(cfs cfs-cat nodes/n1/qemu-server/101.conf)"
printf 'one\n' | cfs cfs-put /a.txt
printf 'two\n' | cfs cfs-put /a.txt
same "put replaces" "two" "$(cfs cfs-cat /a.txt)"
head -c 0 /dev/null | cfs cfs-put /empty
same "empty file" "0" "$(cfs cfs-cat /empty | wc -c)"
head -c 100000 /dev/urandom >"$T/bin"
cfs cfs-put /bin <"$T/bin"
cfs cfs-cat /bin >"$T/bin.back"
check "binary content survives" cmp "$T/bin" "$T/bin.back"
same "cat of two files concatenates" "twotwo" "$(cfs cfs-cat /a.txt /a.txt | tr -d '\n')"
expect "put -c of an existing file" 1 "cfs-put: a.txt: File exists" cfs cfs-put -c /a.txt </dev/null
expect "put -c of a new file" 0 "" cfs cfs-put -c /b.txt </dev/null
expect "cat of a missing file" 1 "cfs-cat: nope: No such file or directory" cfs cfs-cat /nope
expect "cat goes on after a failure" 1 "" cfs cfs-cat /nope /a.txt
same "... and prints the rest" "two" "$(cat "$T/out")"
expect "cat of a directory" 1 "cfs-cat: nodes: Is a directory" cfs cfs-cat /nodes
expect "ls below a file" 1 "Not a directory" cfs cfs-ls /a.txt/x
expect "path with .." 1 "Invalid argument" cfs cfs-cat /nodes/../a.txt

cfs cfs-ls / >"$T/ls"
same "ls / lists virtual entries then the tree" \
	".clusterlog .debug .members .rrd .version .vmlist local lxc openvz qemu-server a.txt b.txt bin empty nodes" \
	"$(tr '\n' ' ' <"$T/ls" | sed 's/ $//')"
cfs cfs-ls -l /nodes/n1/qemu-server >"$T/ls"
grep -Eq '^-rw-r----- +25 [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} 100.conf$' "$T/ls" &&
	ok "ls -l: mode size mtime name" || bad "ls -l: mode size mtime name ($(head -1 "$T/ls"))"
cfs cfs-ls -l / >"$T/ls"
grep -Eq '^lrwxr-xr-x +8 .* local -> nodes/n1$' "$T/ls" && ok "ls -l shows local as a link" ||
	bad "ls -l shows local as a link ($(grep local "$T/ls"))"
grep -Eq '^drwxr-xr-x .* nodes$' "$T/ls" && ok "ls -l dir mode 0755" || bad "ls -l dir mode 0755"
grep -Eq '^-r--r----- .* \.vmlist$' "$T/ls" && ok "ls -l .vmlist 0440" || bad "ls -l .vmlist 0440"
cfs cfs-ls -R /nodes >"$T/ls"
same "ls -R" "nodes: n1  nodes/n1: qemu-server  nodes/n1/qemu-server: 100.conf 101.conf" \
	"$(tr '\n' ' ' <"$T/ls" | sed 's/ $//')"
cfs cfs-ls --json /nodes/n1/qemu-server >"$T/json"
if command -v python3 >/dev/null; then
	same "ls --json parses, names and sizes" "100.conf:25:file:0640 101.conf:25:file:0640" \
		"$(python3 -c 'import json,sys; print(" ".join("%s:%d:%s:%s" % (e["name"], e["size"], e["type"], e["mode"]) for e in json.load(open(sys.argv[1]))))' "$T/json")"
	cfs cfs-ls -R --json / >"$T/json"
	same "ls -R --json has full paths" "nodes/n1/qemu-server/101.conf" \
		"$(python3 -c 'import json,sys; print([e["path"] for e in json.load(open(sys.argv[1]))][-1])' "$T/json")"
fi
same "ls of a file lists the file" "a.txt" "$(cfs cfs-ls /a.txt)"

# --- virtual files
same ".members in local mode" '{ "nodename": "n1", "version": 0 }' "$(cfs cfs-cat /.members | tr '\n' ' ' | sed 's/ $//')"
cfs cfs-cat /.vmlist >"$T/vmlist"
grep -q '"100": { "node": "n1", "type": "qemu"' "$T/vmlist" && ok ".vmlist lists VM 100" || bad ".vmlist lists VM 100 ($(cat "$T/vmlist"))"
grep -q '"starttime": ' <(cfs cfs-cat /.version) && ok ".version has starttime" || bad ".version has starttime"
same ".debug reads 0" "0" "$(cfs cfs-cat /.debug)"
check "writing 1 to .debug switches debug logging on" cfs cfs-put /.debug < <(printf '1\n')
same ".debug reads 1" "1" "$(cfs cfs-cat /.debug)"
expect "other .debug content: I/O error" 1 "cfs-put: .debug: " cfs cfs-put /.debug < <(printf 'x')
printf '0\n' | cfs cfs-put /.debug
same ".clusterlog: cfsd's start (pmxcfs's first entry)" \
	'"node": "n1", "user": "root", "msg": "starting cluster log"} ] }' \
	"$(cfs cfs-cat /.clusterlog | tr '\n' ' ' | sed 's/ $//; s/.*"pid": [0-9]*, //')"

# --- rm, mkdir, mv
check "rm a file" cfs cfs-rm /b.txt
expect "rm it again" 1 "cfs-rm: b.txt: No such file or directory" cfs cfs-rm /b.txt
check "mkdir" cfs cfs-mkdir /d
expect "mkdir existing" 1 "cfs-mkdir: d: File exists" cfs cfs-mkdir /d
expect "mkdir without parent" 1 "cfs-mkdir: x/y: No such file or directory" cfs cfs-mkdir /x/y
check "mv a file into d" cfs cfs-mv /a.txt /d/a.txt
same "moved" "two" "$(cfs cfs-cat /d/a.txt)"
expect "source gone" 1 "No such file or directory" cfs cfs-cat /a.txt
expect "mv a non-empty directory (never allowed, as pmxcfs)" 1 "cfs-mv: d -> e: Directory not empty" cfs cfs-mv /d /e
expect "rm a non-empty dir" 1 "cfs-rm: d: Directory not empty" cfs cfs-rm /d
check "rm its file" cfs cfs-rm /d/a.txt
check "mv an empty directory" cfs cfs-mv /d /e
expect "old name gone" 1 "No such file or directory" cfs cfs-ls /d
check "rm the empty dir" cfs cfs-rm /e

# --- cfs-dump while the daemon runs (read-only, no lock)
check "cfs-dump of the state dir" "$CFSBOX" cfs-dump "$STATE" "$T/dump"
check "dump holds the VM config" cmp "$T/100.conf" "$T/dump/nodes/n1/qemu-server/100.conf"
check "dump holds the binary file" cmp "$T/bin" "$T/dump/bin"
check "cfs-dump of one journal file" "$CFSBOX" cfs-dump "$STATE/journal.1" "$T/dump2"
check "journal-file dump holds the config" cmp "$T/100.conf" "$T/dump2/nodes/n1/qemu-server/100.conf"
expect "cfs-dump of a missing dir" 1 "cfs-dump:" "$CFSBOX" cfs-dump "$T/nothing" "$T/dump3"

# --- daemon gone
stop_cfsd TERM
expect "quorum-check without cfsd exits 2" 2 "cannot reach cfsd" cfs quorum-check
expect "cfs-cat without cfsd exits 1" 1 "cannot reach cfsd" cfs cfs-cat /a.txt
expect "quorum-check -w 0.5 waits, then exits 2" 2 "" cfs quorum-check -q -w 0.5
finish
