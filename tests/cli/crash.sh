#!/usr/bin/env bash
# tests/cli/crash.sh - kill -9 during writes: a writer does 2000 cfs-puts
# (unique content each) while cfsd is killed with kill -9 at random
# moments and started again.  Afterwards every write that was answered
# (cfs-put exit 0) must be there with exactly its content, and every write
# that was not answered must be either absent or complete (never torn).
# shellcheck source=tests/cli/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

N=${CRASH_WRITES:-2000}
KILLS=${CRASH_KILLS:-3}
start_cfsd || exit 1
check "mkdir w" cfs cfs-mkdir /w

writer() {
	local i c rc
	for i in $(seq 1 "$N"); do
		c="write $i $RANDOM$RANDOM $(date +%s%N)"
		rc=0
		printf '%s' "$c" | "$CFSBOX" cfs-put --root "$ROOT" "/w/$i" 2>/dev/null || rc=$?
		echo "$i $rc $c"
	done >"$T/writes"
}
writer &
WPID=$!
PIDS+=("$WPID")

killed=0
for k in $(seq 1 "$KILLS"); do
	# a random moment: 0.3 to 2.3 s from now
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.3 + (r % 2000) / 1000 }')"
	kill -0 "$WPID" 2>/dev/null || break
	stop_cfsd KILL
	killed=$((killed + 1))
	done_before=$(wc -l <"$T/writes")
	echo "# kill -9 number $k after $done_before writes"
	start_cfsd || {
		bad "cfsd restarts after kill -9 ($(tail -3 "$T/cfsd.log"))"
		finish
	}
done
wait "$WPID"
same "the writer did all $N puts" "$N" "$(wc -l <"$T/writes")"
[ "$killed" -gt 0 ] && ok "cfsd was killed $killed times during the writes" || bad "cfsd was never killed"

# one more kill -9 right after the last answered write, then check
stop_cfsd KILL
start_cfsd || exit 1
answered=0 lost=0 torn=0 unanswered=0 present=0
while read -r i rc c; do
	got=$("$CFSBOX" cfs-cat --root "$ROOT" "/w/$i" 2>/dev/null)
	st=$?
	if [ "$rc" = 0 ]; then
		answered=$((answered + 1))
		[ "$got" = "$c" ] || {
			lost=$((lost + 1))
			[ $lost -le 5 ] && echo "# answered write $i: wanted '$c', got '$got' (cat exit $st)"
		}
	else
		unanswered=$((unanswered + 1))
		if [ $st = 0 ]; then
			present=$((present + 1))
			[ "$got" = "$c" ] || torn=$((torn + 1))
		fi
	fi
done <"$T/writes"
echo "# $answered answered, $unanswered not answered ($present of them applied anyway)"
[ "$answered" -gt 0 ] && ok "some writes were answered" || bad "no write was answered"
[ "$unanswered" -gt 0 ] && ok "some writes failed while cfsd was down" || echo "# no write hit a dead cfsd"
same "every answered write is there with its content" 0 "$lost"
same "no unanswered write is torn" 0 "$torn"
same "no stray files" "$((answered + present))" "$(cfs cfs-ls /w | wc -l)"
grep -q "torn\|cut" "$T/cfsd.log" && echo "# recovery cut a torn tail at least once"
finish
