# tests/cli/lib/common.sh - helpers for the applet and daemon tests.
# Sourced by tests/cli/*.sh; run each with CFSBOX=/path/to/cfsbox.
#
# Every script: a fresh temporary directory used as --root, one line per
# check ("ok - ..." or "FAIL - ..."), the summary line "N passed, N
# failed" at the end, exit 0 only if nothing failed.  Only processes the
# script started are killed (by PID), on every exit path.
# shellcheck shell=bash disable=SC2034

set -u
CFSBOX=${CFSBOX:?set CFSBOX to the cfsbox binary}
case $CFSBOX in /*) ;; *) CFSBOX=$PWD/$CFSBOX ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/cfs-cli.XXXXXX")
ROOT=$T/root
mkdir -p "$ROOT"
STATE=$ROOT/var/lib/cfsd
SOCK=$ROOT/run/cfsd/cfsd.sock
PIDS=()
PASS=0
FAIL=0

# Every mount below $T goes, the deepest first: a cfsd killed with -9
# leaves its FUSE mount behind, dead.
unmount_all() {
	awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r | while read -r p; do
		umount -l "$p"
	done
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	unmount_all
	[ -n "${KEEP:-}" ] && echo "kept $T" && return
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() {
	PASS=$((PASS + 1))
	echo "ok - $*"
}

bad() {
	FAIL=$((FAIL + 1))
	echo "FAIL - $*"
}

# check DESC COMMAND...: the command must exit 0
check() {
	local desc=$1
	shift
	if "$@" >"$T/out" 2>"$T/err"; then
		ok "$desc"
	else
		bad "$desc (exit $?: $(head -c 300 "$T/err"))"
	fi
}

# expect DESC STATUS 'MESSAGE' COMMAND...: exit STATUS and stderr
# containing MESSAGE ("" to skip the message check)
expect() {
	local desc=$1 want=$2 msg=$3 rc=0
	shift 3
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" != "$want" ]; then
		bad "$desc (exit $rc, wanted $want: $(head -c 300 "$T/err"))"
	elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$T/err"; then
		bad "$desc (stderr lacks '$msg': $(head -c 300 "$T/err"))"
	else
		ok "$desc"
	fi
}

# same DESC EXPECTED ACTUAL
same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		bad "$1 (wanted '$(printf %s "$2" | head -c 200)', got '$(printf %s "$3" | head -c 200)')"
	fi
}

cfs() { # cfs APPLET ARGS...: run an applet against our root
	local a=$1
	shift
	"$CFSBOX" "$a" --root "$ROOT" "$@"
}

# start_cfsd [ARGS...]: cfsd -f in the background on $ROOT, waits until it
# answers; sets CFSD_PID.  Returns 1 if it did not come up within 10 s.
start_cfsd() {
	"$CFSBOX" cfsd -f --root "$ROOT" --name n1 "$@" 2>>"$T/cfsd.log" &
	CFSD_PID=$!
	PIDS+=("$CFSD_PID")
	"$CFSBOX" quorum-check --root "$ROOT" -q -w 10 && return 0
	echo "cfsd did not start; log:"
	tail -5 "$T/cfsd.log"
	return 1
}

# stop_cfsd [SIGNAL]: signal cfsd (default TERM) and wait; sets CFSD_RC
stop_cfsd() {
	kill -"${1:-TERM}" "$CFSD_PID" 2>/dev/null
	CFSD_RC=0
	wait "$CFSD_PID" 2>/dev/null || CFSD_RC=$?
}

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
	exit $?
}
