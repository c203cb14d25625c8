#!/usr/bin/env bash
# tests/cli/clusterlog.sh - the cluster log of one node: cfs-log writes,
# .clusterlog shows pmxcfs's JSON, newest first, at most 50 entries.
# shellcheck source=tests/cli/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

clog() { cfs cfs-cat /.clusterlog; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin)['data']; $1"; }

expect "no message: usage" 2 "usage: cfs-log" cfs cfs-log
expect "a bad priority" 2 "-p loud: not a priority" cfs cfs-log -p loud hello
expect "no daemon" 1 "cannot reach cfsd" cfs cfs-log hello
start_cfsd --no-mount || exit 1
same "a fresh log: the start of cfsd" "root cluster 6 n1 starting cluster log" \
	"$(clog | json 'e=d[0]; print(e["user"], e["tag"], e["pri"], e["node"], e["msg"])')"
cfs cfs-log -p warning -t backup -u admin@pve disk 'almost "full"'
same "an entry: user, tag, priority, node, message" 'admin@pve backup 4 n1 disk almost "full"' \
	"$(clog | json 'e=d[0]; print(e["user"], e["tag"], e["pri"], e["node"], e["msg"])')"
same "newest first" "starting cluster log" "$(clog | json 'print(d[1]["msg"])')"
check "its pid is cfs-log's, its time now" sh -c "clog() { '$CFSBOX' cfs-cat --root '$ROOT' /.clusterlog; }; clog | python3 -c \"
import json, sys, time
e = json.load(sys.stdin)['data'][0]
assert e['pid'] > 1 and abs(e['time'] - time.time()) < 5, e\""
cfs cfs-log "$(printf 'two\nlines\tand \\x')"
same "control characters as #ddd, a stray backslash doubled" 'two#010lines#009and \\x' \
	"$(clog | sed -n 's/.*"msg": "\(two[^"]*\)".*/\1/p')"
cfs cfs-log -u root@pam 'caf\u00e9 ok'
same "an escape as Perl sends it stays" 'café ok' "$(clog | json 'print(d[0]["msg"])')"
same "default user <login>@pam, tag cfs-log, priority info" "root@pam cfs-log 6" \
	"$(clog | json 'e=d[0]; print(e["user"], e["tag"], e["pri"])')"
for i in $(seq 60); do cfs cfs-log "entry $i"; done
same ".clusterlog shows the newest 50" "50 entry 60 entry 11" \
	"$(clog | json 'print(len(d), d[0]["msg"], d[-1]["msg"])')"
same "the uids of one node grow" 1 "$(clog | json 'u=[e["uid"] for e in d]; print(int(u == sorted(u, reverse=True)))')"
chmod 755 "$T" "$ROOT"
expect "the www-data group may read it, not write (Operation not permitted, as pmxcfs)" 1 \
	"Operation not permitted" setpriv --reuid=65534 --regid=33 --clear-groups "$CFSBOX" cfs-log --root "$ROOT" x
check "... and reads it" setpriv --reuid=65534 --regid=33 --clear-groups "$CFSBOX" cfs-cat --root "$ROOT" /.clusterlog
stop_cfsd TERM
start_cfsd --no-mount || exit 1
same "not kept across a restart (as pmxcfs): only the new start" 1 "$(clog | json 'print(len(d))')"
stop_cfsd TERM
finish
