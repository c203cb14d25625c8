#!/usr/bin/env bash
# 3 nodes under a steady write load (clients on all three nodes); the
# leader is killed with kill -9.  Writes resume on the others, and no
# answered write is lost: a recorded history of every operation (at least
# 1000) is checked against every surviving node's tree at the end.
. "$(dirname "$0")/lib.sh"

cluster_up 3 udpu || { check "cluster up" false; finish; exit; }
leader=$(leader_of 1)
check "a leader is known" test -n "$leader"
echo "leader is node$leader"

# writer I COUNT: COUNT writes of unique content through node I, each
# recorded as "ok KEY" or "fail KEY" in $T/hist.I
writer() {
	local i=$1 count=$2 k
	for k in $(seq 1 "$count"); do
		if echo "content-$i-$k" | on "$i" cfs-put "/h/$i-$k" 2>/dev/null; then
			echo "ok $i-$k"
		else
			echo "fail $i-$k"
		fi
	done >"$T/hist.$i"
}
on 1 cfs-mkdir /h
wpids=()
for i in 1 2 3; do
	writer "$i" 400 &
	wpids+=($!)
done
sleep 1.5
t0=$(date +%s%N)
kill_node "$leader"
echo "killed node$leader"
wait "${wpids[@]}" # not a bare wait: the daemons are children too
survivors=$(for i in 1 2 3; do [ "$i" != "$leader" ] && echo "$i"; done)
total=$(cat "$T"/hist.* | wc -l)
acked=$(grep -c '^ok' "$T"/hist.* | awk -F: '{s+=$2} END {print s}')
echo "history: $total operations, $acked answered"
check "history has at least 1000 operations" test "$total" -ge 1000
for i in $survivors; do
	check "writes resumed on node$i" grep -q "^ok $i-400" "$T/hist.$i"
done
check "survivors agree" wait_until 10 trees_identical
lost=0
for i in $survivors; do
	while read -r st key; do
		[ "$st" = ok ] || continue
		got=$(on "$i" cfs-cat "/h/$key" 2>/dev/null) || got=MISSING
		w=${key%%-*}
		[ "$got" = "content-$w-${key#*-}" ] || { lost=$((lost + 1)); echo "node$i: /h/$key: $got"; }
	done < <(cat "$T"/hist.*)
done
check "no answered write lost or changed" test "$lost" = 0
finish
