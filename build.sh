#!/usr/bin/env bash
# build.sh - build, configure and test cfsbox.  See README, "Building".
#
#   ./build.sh              build ./cfsbox (static, stripped) from .config
#   ./build.sh demo         build, then show a node working in a directory of its own
#   ./build.sh test         build, then run every test; ends with "N passed, N failed"
#   ./build.sh bench        build, then run the benchmarks in tests/bench (prints figures)
#   ./build.sh deps         fetch and build musl-based libev and mbedtls into .deps/
#   ./build.sh defconfig    write .config from the Kconfig defaults (configs/defconfig)
#   ./build.sh config FILE  write .config from a miniconfig (e.g. configs/client_defconfig)
#   ./build.sh menuconfig   edit .config with kconfig-mconf, when installed
#   ./build.sh check        include rules, applet table vs Kconfig, clang-format
#   ./build.sh unit [NAME]  the unit tests (test_NAME*) alone, under ASan and UBSan
#   ./build.sh fuzz [SECS]  build the libFuzzer targets and run each for SECS seconds
#   ./build.sh clean        remove build/ and ./cfsbox (.deps/ is kept)
#
# Environment: JOBS=N (parallel compiles), WERROR=0 (warnings are not
# errors), V=1 (show commands), CFS_SIM_SEEDS (seeds of the consensus
# simulation in `test`), FUZZ_SECS (seconds per fuzz target in `test`).
#
# Third-party code is never committed: `deps` takes the upstream sources of
# libev and mbedtls from Debian source packages through a private apt state
# under .deps/apt (deb-src entries derived from this machine's own apt
# sources), unpacks the upstream tarballs and builds static libraries twice:
# with musl-gcc for the release binary (.deps/musl) and with the host
# compiler for sanitizer and fuzz builds (.deps/host).
set -euo pipefail
cd "$(dirname "$0")"
TOP=$PWD
B=build
D=.deps
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
DEPS_REV=3 # bump when the way deps are built changes

say() { printf '%s\n' "$*" >&2; }
die() {
	say "build.sh: $*"
	exit 1
}
run() {
	[ "${V:-0}" = 1 ] && say "+ $*"
	"$@"
}

# ---------------------------------------------------------------- tools

apt_install() {
	command -v apt-get >/dev/null || die "need $* but there is no apt-get here: install $* by hand"
	say "build.sh: installing $* with apt-get"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$D/apt-install.log" 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$D/apt-install.log" 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$D/apt-install.log" 2>&1 ||
			die "apt-get install $* failed; see $D/apt-install.log"
	fi
}

need_tool() { # need_tool COMMAND PACKAGE
	command -v "$1" >/dev/null && return 0
	[ "$(id -u)" = 0 ] || die "'$1' is missing: install the Debian package '$2' (apt-get install $2)"
	apt_install "$2"
	command -v "$1" >/dev/null || die "'$1' still missing after installing $2"
}

# ---------------------------------------------------------------- Kconfig

# kconfig_table FILE: one line per symbol: NAME TYPE DEFAULT DEPS, where
# DEPS is comma-separated ("-" if none) and DEFAULT is "-" if absent.
kconfig_table() {
	awk '
	function flush() { if (sym != "") print sym, type, (def == "" ? "-" : def), dep; sym = "" }
	/^[ \t]*(#|$)/          { next }
	help && /^\t  /         { next }
	                        { help = 0 }
	$1 == "config"          { flush(); sym = $2; type = ""; def = ""; dep = "-"; next }
	$1 ~ /^(bool|int|string)$/ { type = $1; next }
	$1 == "default"         { def = $2; next }
	$1 == "depends" && $2 == "on" {
		$1 = $2 = ""; gsub(/[ &]+/, ","); dep = substr($0, 2); next }
	$1 == "help"            { help = 1; next }
	$1 ~ /^(menu|endmenu|comment)$/ { flush(); next }
	{ printf "Kconfig:%d: unsupported: %s\n", NR, $0 > "/dev/stderr"; bad = 1 }
	END { flush(); exit bad }' "$1"
}

# resolve_config MINICONFIG: print the full config, defaults filled in and
# dependencies enforced.  A symbol may only depend on symbols above it.
resolve_config() {
	local -A want=() have=()
	local line sym type def deps val d

	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			sym=${line%%=*}
			want[${sym#CONFIG_}]=${line#*=}
			;;
		"# CONFIG_"*" is not set")
			sym=${line#"# CONFIG_"}
			want[${sym%% *}]=n
			;;
		"" | "#"*) ;;
		*)
			say "$1: cannot parse: $line"
			return 1
			;;
		esac
	done <"$1"

	kconfig_table Kconfig >"$B/kconfig.table" || return 1
	while read -r sym type def deps; do
		val=${want[$sym]-$def}
		[ "$val" = - ] && val=n
		for d in ${deps//,/ }; do
			[ "$d" = - ] && continue
			[ -n "${have[$d]+x}" ] || {
				say "Kconfig: $sym depends on unknown or later symbol $d"
				return 1
			}
			[ "${have[$d]}" = y ] && continue
			[ "${want[$sym]-}" = y ] && say "warning: $sym=y needs $d; turned off"
			[ "$type" = bool ] && val=n
		done
		have[$sym]=$val
		echo "CONFIG_$sym=$val"
	done <"$B/kconfig.table"

	for sym in "${!want[@]}"; do
		[ -n "${have[$sym]+x}" ] || {
			say "$1: unknown symbol CONFIG_$sym"
			return 1
		}
	done
}

# .config -> config.h: CFG_X is always defined (0/1 or the value) so code
# can say "if (CFG_X)"; USE_X(...) keeps its argument only when X=y.
gen_config_h() {
	local sym val
	echo "/* generated by build.sh from .config - do not edit */"
	echo "#ifndef CFS_CONFIG_H"
	echo "#define CFS_CONFIG_H"
	while IFS='=' read -r sym val; do
		case $sym in CONFIG_*) ;; *) continue ;; esac
		sym=${sym#CONFIG_}
		case $val in
		y)
			echo "#define CFG_$sym 1"
			echo "#define USE_$sym(...) __VA_ARGS__"
			;;
		n)
			echo "#define CFG_$sym 0"
			echo "#define USE_$sym(...)"
			;;
		*) echo "#define CFG_$sym $val" ;;
		esac
	done <.config
	echo "#endif"
}

cmd_config() {
	mkdir -p "$B"
	local mini=${1:-configs/defconfig}
	[ -f "$mini" ] || die "no such miniconfig: $mini"
	resolve_config "$mini" >"$B/.config.new" || die "configuration failed"
	mv "$B/.config.new" .config
	echo "$mini" >"$B/config.source"
	say "build.sh: wrote .config from $mini"
}

config_h() {
	mkdir -p "$B"
	if [ ! -f .config ] || [ Kconfig -nt .config ]; then
		local src=configs/defconfig
		[ -f "$B/config.source" ] && src=$(cat "$B/config.source")
		cmd_config "$src"
	fi
	gen_config_h >"$B/config.h.new"
	if cmp -s "$B/config.h.new" "$B/config.h"; then
		rm -f "$B/config.h.new"
	else
		mv "$B/config.h.new" "$B/config.h"
	fi
}

cmd_menuconfig() {
	local m
	m=$(command -v kconfig-mconf || command -v mconf || true)
	[ -n "$m" ] || die "menuconfig needs kconfig-mconf: apt-get install kconfig-frontends-nox (or edit .config, then ./build.sh)"
	[ -f .config ] || cmd_config
	KCONFIG_CONFIG=.config "$m" Kconfig
}

# ---------------------------------------------------------------- deps

apt_private() { # apt-get with the private state under .deps/apt
	local a=$TOP/$D/apt
	apt-get -q -o Dir::State="$a" -o Dir::State::Lists="$a/lists" -o Dir::Cache="$a/cache" \
		-o Dir::Etc::SourceList="$a/sources.list" -o Dir::Etc::SourceParts="$a/sources.list.d" \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root "$@"
}

# Derive deb-src entries from the machine's own apt sources: no host name
# is written in this repository.
apt_sources() {
	local a=$D/apt f
	mkdir -p "$a/lists/partial" "$a/cache/archives/partial" "$a/sources.list.d"
	: >"$a/sources.list"
	rm -f "$a/sources.list.d/"*
	if [ -f /etc/apt/sources.list ]; then
		sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' /etc/apt/sources.list >>"$a/sources.list"
	fi
	for f in /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$a/sources.list"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		sed 's/^Types:.*$/Types: deb-src/' "$f" >"$a/sources.list.d/$(basename "$f")"
	done
	[ -s "$a/sources.list" ] || ls "$a/sources.list.d/"*.sources >/dev/null 2>&1 ||
		die "no apt sources found in /etc/apt to derive deb-src entries from"
}

fetch_sources() {
	local s=$D/src
	need_tool apt-get apt
	apt_sources
	say "build.sh: fetching the libev and mbedtls source packages"
	apt_private update >"$D/apt-update.log" 2>&1 || die "apt-get update (deb-src) failed; see $D/apt-update.log"
	rm -rf "$s"
	mkdir -p "$s"
	(cd "$s" && apt_private source --download-only libev mbedtls) >"$D/apt-source.log" 2>&1 ||
		die "apt-get source libev mbedtls failed; see $D/apt-source.log"
	# Unpack each upstream tarball into a directory of a fixed name
	# (mbedtls' tarball has a GitHub-style top directory).
	local p t
	for p in libev mbedtls; do
		t=$(ls "$s/${p}"_*.orig.tar.* 2>/dev/null | head -1)
		[ -n "$t" ] || die "missing the upstream tarball of $p in $s"
		mkdir -p "$s/$p"
		tar xf "$t" -C "$s/$p" --strip-components=1 || die "cannot unpack $t"
	done
	(cd "$s" && ls *.dsc) >"$D/src/versions"
}

build_one_flavor() { # build_one_flavor NAME CC
	local name=$1 cc=$2 out ev mb
	out=$D/$name
	ev=$D/src/libev
	mb=$D/src/mbedtls
	rm -rf "$out"
	mkdir -p "$out/include/mbedtls" "$out/lib" "$out/obj/ev" "$out/obj/mbedtls"
	say "build.sh: building libev and mbedtls with $cc ($name)"
	cp "$ev/ev.h" "$out/include/"
	run $cc -O2 -w -fPIC -DEV_STANDALONE=1 -DEV_USE_EPOLL=1 -DEV_USE_POLL=1 -DEV_USE_SELECT=0 \
		-DEV_USE_LINUXAIO=0 -DEV_USE_IOURING=0 -DEV_USE_MONOTONIC=1 -DEV_USE_SIGNALFD=1 \
		-DEV_USE_EVENTFD=1 -DEV_USE_INOTIFY=0 -DEV_USE_FLOOR=1 -c "$ev/ev.c" -o "$out/obj/ev/ev.o"
	ar rcs "$out/lib/libev.a" "$out/obj/ev/ev.o"

	cp "$mb"/include/mbedtls/*.h "$out/include/mbedtls/"
	mkdir -p "$out/include/psa"
	cp "$mb"/include/psa/*.h "$out/include/psa/"
	cp core/mbedtls_config.h "$out/include/mbedtls/cfs_config.h"
	ls "$mb"/library/*.c | xargs -P "$JOBS" -I{} sh -c \
		"$cc -O2 -w -fPIC -ffunction-sections -fdata-sections -I'$out/include' -I'$mb/library' -DMBEDTLS_CONFIG_FILE='<mbedtls/cfs_config.h>' -c {} -o '$out/obj/mbedtls/'\$(basename {} .c).o" ||
		die "mbedtls build failed ($name)"
	ar rcs "$out/lib/libmbedtls.a" "$out"/obj/mbedtls/*.o
	rm -rf "$out/obj"
}

deps_stamp() {
	echo "rev $DEPS_REV"
	cat "$D/src/versions" 2>/dev/null
	sha256sum core/mbedtls_config.h 2>/dev/null | cut -d' ' -f1
}

cmd_deps() {
	mkdir -p "$D"
	[ -f core/mbedtls_config.h ] || die "core/mbedtls_config.h is missing"
	need_tool musl-gcc musl-tools
	if [ "${1:-}" = --refresh ] || [ ! -f "$D/src/libev/ev.c" ] || [ ! -d "$D/src/mbedtls/library" ]; then
		fetch_sources
	fi
	if [ -f "$D/stamp" ] && [ "$(deps_stamp)" = "$(cat "$D/stamp")" ] &&
		[ -f "$D/musl/lib/libmbedtls.a" ] && [ -f "$D/host/lib/libmbedtls.a" ]; then
		return 0
	fi
	build_one_flavor musl musl-gcc
	build_one_flavor host "${HOSTCC:-gcc}"
	deps_stamp >"$D/stamp"
}

# ---------------------------------------------------------------- compile

CWARN="-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wformat=2"

applet_sources() { # the applets/ sources of the configured applets
	local line sym cname f
	local -A cfg=() named=()
	while IFS='=' read -r sym f; do cfg[${sym#CONFIG_}]=$f; done <.config
	while IFS= read -r line; do
		[[ $line =~ ^USE_([A-Z0-9_]+)\(APPLET\(([a-z0-9_]+), ]] || continue
		sym=${BASH_REMATCH[1]}
		cname=${BASH_REMATCH[2]}
		named[$cname]=1
		[ "${cfg[$sym]:-n}" = y ] || continue
		[ -f "applets/$cname.c" ] && echo "applets/$cname.c"
		[ -d "applets/$cname" ] && ls "applets/$cname"/*.c
	done <applets/applets.def
	for f in applets/*.c; do
		cname=$(basename "$f" .c)
		[ -n "${named[$cname]+x}" ] || echo "$f"
	done
}

lib_sources() {
	ls core/*.c net/*.c store/*.c 2>/dev/null
}

# compile FLAVOR CC "CFLAGS" SOURCES... -> prints the object paths
compile() {
	local flavor=$1 cc=$2 cflags=$3
	shift 3
	local odir=$B/obj/$flavor sig newest src obj list=()
	mkdir -p "$odir"
	sig="$cc $cflags $(sha256sum "$B/config.h" | cut -c1-16)"
	if [ "$(cat "$odir/.flags" 2>/dev/null)" != "$sig" ]; then
		rm -rf "$odir"
		mkdir -p "$odir"
		echo "$sig" >"$odir/.flags"
	fi
	# Headers: any change rebuilds everything (the project builds in seconds).
	newest=$(ls -t $(find core net store applets tests -name '*.h') "$B/config.h" | head -1)
	for src in "$@"; do
		obj=$odir/${src%.c}.o
		if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest" -nt "$obj" ]; then
			mkdir -p "$(dirname "$obj")"
			list+=("$src")
		fi
	done
	if [ ${#list[@]} -gt 0 ]; then
		printf '%s\n' "${list[@]}" | xargs -P "$JOBS" -I{} sh -c \
			"[ '${V:-0}' = 1 ] && echo '+ $cc {}' >&2; $cc $cflags -c {} -o '$odir/'\$(echo {} | sed 's/\\.c\$//').o" ||
			die "compile failed ($flavor)"
	fi
	for src in "$@"; do echo "$odir/${src%.c}.o"; done
}

flags_common() {
	local f="-std=c11 -D_GNU_SOURCE -g -fno-strict-aliasing $CWARN -ffunction-sections -fdata-sections -I. -I$B"
	[ "${WERROR:-1}" = 1 ] && f="$f -Werror"
	echo "$f"
}

flags_for() { # flags_for FLAVOR
	local dbg
	dbg=$(grep -q '^CONFIG_DEBUG=y' .config && echo "-O0 -g3" || echo "-Os")
	case $1 in
	musl) echo "$(flags_common) $dbg -I$D/musl/include -DMBEDTLS_CONFIG_FILE='<mbedtls/cfs_config.h>'" ;;
	san) echo "$(flags_common) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -I$D/host/include -DMBEDTLS_CONFIG_FILE='<mbedtls/cfs_config.h>'" ;;
	host) echo "$(flags_common) -O2 -I$D/host/include -DMBEDTLS_CONFIG_FILE='<mbedtls/cfs_config.h>'" ;;
	esac
}

check_layers() {
	local bad=0 f
	for f in core/*.[ch]; do
		[ -f "$f" ] || continue
		if grep -nE '#include "(net|store|applets)/' "$f"; then bad=1; fi
		# mbedtls: crypt.c (primitives), cert.c (X.509), tls.c (TLS sessions)
		case $f in core/crypt.c | core/cert.c | core/tls.c | core/mbedtls_config.h) ;;
		*) if grep -nE '#include [<"](mbedtls|psa)/' "$f"; then bad=1; fi ;;
		esac
	done
	for f in store/*.[ch]; do
		[ -f "$f" ] || continue
		if grep -nE '#include "(net|applets)/|#include "core/loop.h"' "$f"; then bad=1; fi
		if grep -nE '\b(time|clock_gettime|gettimeofday)\(' "$f"; then bad=1; fi
	done
	for f in applets/*.[ch] applets/*/*.[ch]; do
		[ -f "$f" ] || continue
		if grep -nE '#include [<"](mbedtls|psa)/' "$f"; then bad=1; fi
	done
	for f in net/*.[ch]; do
		[ -f "$f" ] || continue
		if grep -nE '#include "(store|applets)/|#include [<"](mbedtls|psa)/' "$f"; then bad=1; fi
	done
	[ $bad = 0 ] || say "build.sh check: the include rules of DESIGN.md §2 are broken above"
	return $bad
}

check_applets() {
	local line sym cname bad=0
	while IFS= read -r line; do
		[[ $line =~ ^USE_([A-Z0-9_]+)\(APPLET\(([a-z0-9_]+),\ \"([a-z0-9-]+)\" ]] || continue
		sym=${BASH_REMATCH[1]}
		cname=${BASH_REMATCH[2]}
		grep -q "^config $sym\$" Kconfig || {
			say "applets.def: $cname has no 'config $sym' in Kconfig"
			bad=1
		}
		grep -q "^CONFIG_$sym=y" .config 2>/dev/null || continue
		[ -f "applets/$cname.c" ] || [ -d "applets/$cname" ] || {
			say "applets.def: no source for $cname (applets/$cname.c or applets/$cname/)"
			bad=1
		}
	done <applets/applets.def
	return $bad
}

cmd_check() {
	local rc=0
	check_layers || rc=1
	check_applets || rc=1
	if command -v clang-format >/dev/null; then
		# shellcheck disable=SC2046
		clang-format --dry-run -Werror $(git ls-files '*.c' '*.h' 2>/dev/null || find core net store applets tests -name '*.[ch]') 2>"$B/format.log" || {
			say "build.sh check: clang-format wants changes:"
			grep -E '^[^ ].*: (error|warning):' "$B/format.log" | cut -d: -f1 | sort -u >&2
			rc=1
		}
	fi
	return $rc
}

cmd_build() {
	config_h
	check_applets || die "the applet table and Kconfig disagree"
	check_layers || die "include rules broken"
	cmd_deps
	local objs
	objs=$(compile musl musl-gcc "$(flags_for musl)" $(lib_sources) $(applet_sources))
	# shellcheck disable=SC2086
	run musl-gcc -static -Wl,--gc-sections -o "$B/cfsbox.unstripped" $objs \
		"$D/musl/lib/libmbedtls.a" "$D/musl/lib/libev.a" -lm || die "link failed"
	strip -o cfsbox.new "$B/cfsbox.unstripped"
	mv cfsbox.new cfsbox
	say "build.sh: cfsbox $(stat -c %s cfsbox) bytes, $(file -b cfsbox | cut -d, -f1-3)"
}

# ---------------------------------------------------------------- tests

# build one test program per tests/unit/test_*.c for FLAVOR into $B/test-FLAVOR/
build_unit() {
	local flavor=$1 cc=$2 ldflags=$3 flags objs t out lib
	flags=$(flags_for "$flavor")
	objs=$(compile "$flavor" "$cc" "$flags" $(lib_sources) tests/t.c)
	lib=$D/host/lib
	[ "$flavor" = musl ] && lib=$D/musl/lib
	mkdir -p "$B/test-$flavor"
	for t in tests/unit/test_*.c; do
		[ -f "$t" ] || continue
		out=$B/test-$flavor/$(basename "$t" .c)
		local tobj extra
		# a test may link sources from outside core/ net/ store/:
		# a line " * link: applets/cfsd/node.c ..." in its header comment
		extra=$(sed -n 's/^ \* link: //p' "$t")
		tobj=$(compile "$flavor" "$cc" "$flags" "$t" $extra)
		# shellcheck disable=SC2086
		run $cc $flags $ldflags -o "$out" $tobj $objs "$lib/libmbedtls.a" "$lib/libev.a" -lm ||
			die "link of $t failed ($flavor)"
	done
}

TOTAL_PASS=0
TOTAL_FAIL=0
FAILED_NAMES=()

count_result() { # count_result NAME RC OUTPUTFILE
	local line p f
	line=$(grep -E '^[^ ]*:? ?[0-9]+ passed, [0-9]+ failed' "$3" | tail -1 || true)
	if [ -n "$line" ]; then
		p=$(sed -E 's/.*\b([0-9]+) passed.*/\1/' <<<"$line")
		f=$(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")
	elif [ "$2" = 0 ]; then
		p=1 f=0
	else
		p=0 f=1
	fi
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then f=1; fi # a crash after the summary still fails
	TOTAL_PASS=$((TOTAL_PASS + p))
	TOTAL_FAIL=$((TOTAL_FAIL + f))
	if [ "$f" != 0 ]; then
		FAILED_NAMES+=("$1")
		say "FAIL $1 (exit $2); last lines:"
		tail -20 "$3" >&2
	else
		say "ok   $1 ($p passed)"
	fi
}

run_suite() { # run_suite NAME TIMEOUT COMMAND...
	local name=$1 secs=$2 rc=0 log
	shift 2
	log=$B/log/${name//\//_}.log
	mkdir -p "$B/log"
	timeout -k 10 "$secs" "$@" >"$log" 2>&1 || rc=$?
	[ $rc = 124 ] && echo "timed out after ${secs}s" >>"$log"
	count_result "$name" "$rc" "$log"
}

unit_san() { # unit_san PREFIX: build the ASan/UBSan unit tests, run test_PREFIX*
	local t
	build_unit san gcc "-fsanitize=address,undefined"
	for t in "$B"/test-san/test_"$1"*; do
		run_suite "unit-asan/$(basename "$t")" 600 env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$t"
	done
}

cmd_test() {
	local t
	cmd_build
	command -v timeout >/dev/null || die "need timeout (coreutils)"
	local clog=$B/log/check.log crc=0
	mkdir -p "$B/log"
	cmd_check >"$clog" 2>&1 || crc=$?
	[ $crc = 0 ] && echo "check: 1 passed, 0 failed" >>"$clog"
	count_result check $crc "$clog"

	say "build.sh: unit tests, host libc with AddressSanitizer and UBSan"
	unit_san ""

	say "build.sh: unit tests, static musl build"
	build_unit musl musl-gcc "-static"
	for t in "$B"/test-musl/test_*; do
		run_suite "unit-musl/$(basename "$t")" 600 "$t"
	done

	if ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
		say "build.sh: fuzz smoke runs"
		fuzz_build && for t in "$B"/fuzz/fuzz_*; do
			run_suite "fuzz/$(basename "$t")" 120 "$t" -max_total_time="${FUZZ_SECS:-5}" \
				-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$B/fuzz/" "$(fuzz_corpus "$t")"
		done
	fi

	say "build.sh: applet and daemon tests against ./cfsbox"
	for t in tests/cli/*.sh; do
		[ -f "$t" ] || continue
		run_suite "cli/$(basename "$t" .sh)" 900 env CFSBOX="$TOP/cfsbox" bash "$t"
	done

	if ls tests/cluster/[0-9]*.sh >/dev/null 2>&1; then
		say "build.sh: cluster tests"
		for t in tests/cluster/[0-9]*.sh; do
			run_suite "cluster/$(basename "$t" .sh)" 900 env CFSBOX="$TOP/cfsbox" bash "$t"
		done
	fi

	echo
	[ ${#FAILED_NAMES[@]} -gt 0 ] && echo "failed: ${FAILED_NAMES[*]}"
	echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
	[ "$TOTAL_FAIL" = 0 ]
}

# ---------------------------------------------------------------- fuzz

fuzz_build() {
	need_tool clang clang
	local flags objs t out lib=$D/host/lib
	if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' |
		clang -x c -fsanitize=fuzzer - -o "$B/fuzzprobe" 2>/dev/null; then
		[ "$(id -u)" = 0 ] && apt_install libclang-rt-14-dev
	fi
	rm -f "$B/fuzzprobe"
	flags="$(flags_common | sed 's/-Werror//') -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -I$D/host/include -DMBEDTLS_CONFIG_FILE='<mbedtls/cfs_config.h>'"
	objs=$(compile fuzz clang "$flags" $(lib_sources))
	mkdir -p "$B/fuzz"
	for t in tests/fuzz/fuzz_*.c; do
		out=$B/fuzz/$(basename "$t" .c)
		local tobj
		tobj=$(compile fuzz clang "$flags" "$t")
		# shellcheck disable=SC2086
		clang $flags -fsanitize=fuzzer -o "$out" $tobj $objs "$lib/libmbedtls.a" "$lib/libev.a" -lm ||
			die "link of $t failed"
	done
}

# fuzz_corpus BINARY: a working corpus directory seeded from
# tests/fixtures/fuzz/<name>/; prints its path
fuzz_corpus() {
	local name corpus
	name=$(basename "$1")
	corpus=$B/fuzz/corpus-$name
	mkdir -p "$corpus"
	if [ -d "tests/fixtures/fuzz/$name" ]; then cp -r "tests/fixtures/fuzz/$name/." "$corpus/"; fi
	echo "$corpus"
}

cmd_fuzz() {
	local secs=${1:-60} t
	config_h
	cmd_deps
	fuzz_build
	for t in "$B"/fuzz/fuzz_*; do
		say "fuzzing $(basename "$t") for ${secs}s"
		"$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			"$(fuzz_corpus "$t")" ||
			die "$(basename "$t") found a crash; the input is in the current directory"
	done
}

# ---------------------------------------------------------------- demo, bench

cmd_demo() {
	cmd_build
	bash tests/demo.sh "$TOP/cfsbox"
}

cmd_bench() {
	cmd_build
	config_h
	mkdir -p "$B"
	if [ -f tests/bench/cfs-bench.c ]; then
		# shellcheck disable=SC2046
		gcc $(flags_for host) -pthread -o tests/bench/cfs-bench tests/bench/cfs-bench.c \
			$(compile host gcc "$(flags_for host)" $(lib_sources)) \
			"$D/host/lib/libmbedtls.a" "$D/host/lib/libev.a" -lm || die "cfs-bench build failed"
	fi
	CFSBOX="$TOP/cfsbox" bash tests/bench/bench.sh "$@"
	echo
	CFSBOX="$TOP/cfsbox" bash tests/bench/cluster.sh
}

# ---------------------------------------------------------------- main

case ${1:-build} in
build) cmd_build ;;
demo) cmd_demo ;;
test) cmd_test ;;
bench)
	shift
	cmd_bench "$@"
	;;
deps)
	shift
	cmd_deps "$@"
	;;
defconfig) cmd_config configs/defconfig ;;
config) cmd_config "${2:-configs/defconfig}" ;;
menuconfig) cmd_menuconfig ;;
unit)
	# developers: the unit tests alone, under ASan/UBSan; ./build.sh unit tree
	cmd_build
	unit_san "${2:-}"
	echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
	[ "$TOTAL_FAIL" = 0 ]
	;;
check)
	config_h
	cmd_check
	;;
fuzz) cmd_fuzz "${2:-60}" ;;
clean) rm -rf "$B" cfsbox ;;
-h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
*) die "unknown command '$1' (try ./build.sh help)" ;;
esac
