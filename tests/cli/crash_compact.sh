#!/usr/bin/env bash
# tests/cli/crash_compact.sh - kill -9 of cfsd (and of its snapshot
# writer) while a compaction is running, several times; recovery must
# keep every answered write.  20 files of 1 MiB are rewritten in turn, so
# the journal passes the compaction threshold (2 x live + 4 MiB) every
# ~44 writes; the test polls the state directory for snap.*.tmp (the
# snapshot being written) and kills at that moment.
# shellcheck source=tests/cli/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

ROUNDS=${COMPACT_ROUNDS:-3}
FILES=20
head -c 1040000 /dev/zero | tr '\0' 'f' >"$T/filler"
start_cfsd || exit 1
check "mkdir c" cfs cfs-mkdir /c

# put FILE TAG: write tag + filler, log "file rc md5" to $T/log
put() {
	local rc=0 sum
	{
		printf '%s\n' "$2"
		cat "$T/filler"
	} >"$T/content"
	sum=$(md5sum <"$T/content" | cut -c1-32)
	"$CFSBOX" cfs-put --root "$ROOT" "/c/$1" <"$T/content" 2>/dev/null || rc=$?
	echo "$1 $rc $sum" >>"$T/log"
	return "$rc"
}

writer() {
	local i=0
	while :; do
		put $((i % FILES)) "tag $i $RANDOM" || true
		i=$((i + 1))
		[ -e "$T/stop" ] && break
	done
}

# expected content per file: the last answered write, or a later
# unanswered one (it may have been journaled before the kill)
verify() {
	local f bad_files=0 got ok_sums
	for f in $(seq 0 $((FILES - 1))); do
		got=$("$CFSBOX" cfs-cat --root "$ROOT" "/c/$f" 2>/dev/null | md5sum | cut -c1-32)
		ok_sums=$(awk -v f="$f" '$1 == f { if ($2 == 0) s = $3; else s = s " " $3 } END { print s }' "$T/log")
		if [ -z "$ok_sums" ]; then
			continue
		fi
		case " $ok_sums " in
		*" $got "*) ;;
		*) bad_files=$((bad_files + 1)) ;;
		esac
	done
	echo "$bad_files"
}

caught=0
for r in $(seq 1 "$ROUNDS"); do
	rm -f "$T/stop"
	writer &
	WPID=$!
	PIDS+=("$WPID")
	hit=0
	for _ in $(seq 1 20000); do
		if compgen -G "$STATE/snap.*.tmp" >/dev/null; then
			hit=1
			break
		fi
		sleep 0.001
	done
	children=$(pgrep -P "$CFSD_PID" | tr '\n' ' ')
	stop_cfsd KILL
	# shellcheck disable=SC2086
	[ -n "$children" ] && kill -9 $children 2>/dev/null
	touch "$T/stop"
	wait "$WPID"
	if [ $hit = 1 ]; then
		caught=$((caught + 1))
		echo "# round $r: killed while snap.*.tmp was being written (children: ${children:-none})"
	else
		echo "# round $r: no compaction seen, killed anyway"
	fi
	echo "# state dir: $(cd "$STATE" && ls | tr '\n' ' ')"
	start_cfsd || {
		bad "round $r: cfsd restarts after the kill ($(tail -3 "$T/cfsd.log"))"
		finish
	}
	same "round $r: every answered write survived" 0 "$(verify)"
done
[ "$caught" -gt 0 ] && ok "killed during a compaction $caught times" || bad "never caught a compaction running"

# a compaction that completes: older generations go away, data stays
rm -f "$T/stop"
for i in $(seq 1 60); do put $((i % FILES)) "final $i" || true; done
# (until it has settled: the last put may return before cfsd switches
# generations for a compaction and forks its writer).  Generations are
# journal.N; a journal.N.dropped is the torn tail a recovery cut off (a
# kill in the middle of an append, which a loaded machine makes likely),
# kept for inspection, not a generation.
generations() { (cd "$STATE" && ls journal.* | grep -vc '\.dropped$'); }
for _ in $(seq 100); do
	[ -z "$(pgrep -P "$CFSD_PID")" ] && ! compgen -G "$STATE/snap.*.tmp" >/dev/null &&
		[ "$(generations)" = 1 ] && break
	sleep 0.05
done
gens=$(generations)
same "after a finished compaction one journal generation is left" 1 "$gens"
compgen -G "$STATE/snap.*" >/dev/null && ok "a snapshot exists" || bad "a snapshot exists ($(ls "$STATE"))"
stop_cfsd TERM
start_cfsd || exit 1
same "restart from the snapshot: every answered write is there" 0 "$(verify)"
check "cfs-dump reads snapshot + journal" "$CFSBOX" cfs-dump "$STATE" "$T/dump"
same "dump has the $FILES files" "$FILES" "$(ls "$T/dump/c" | wc -l)"
finish
