#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench.sh - compare git-remote-bbs (bbs::http://...) with native git over
# smart HTTP, against the local test forge (tests/forge/forge.sh), on a
# large generated repository.  See README.md.
#
#   tests/bench/bench.sh [--rounds N] [--workdir DIR] [--quick]
#                        [--build DIR] [--refs N] [--tls]
#                        [--only clone|fetch|push|shallow|refs]
#
# This is a benchmark, not a test: it never fails because of a ratio.  It
# exits non-zero only when an operation fails (and says which).
#
# The access token of the run is random and lives only in this script's
# memory and in the environment of the commands it times; it is never
# printed and never written to a file.  Do not add "set -x" here.

set -u
set +x
umask 022

PROG=${0##*/}
BENCH_SRC=$(cd "$(dirname "$0")" && pwd -P) || exit 1
TOP=$(cd "$BENCH_SRC/../.." && pwd -P) || exit 1
FORGE=$TOP/tests/forge/forge.sh
GENREPO=$BENCH_SRC/genrepo.py

ROUNDS=3
WORK=$BENCH_SRC/work
QUICK=
TLS=
BUILD=
ONLY=all
NOOP_RUNS=10            # timed no-op fetches per side and round
INCR_COMMITS=50         # upstream commits per round for the incremental fetch
INCR_BLOB=$((2 * 1024 * 1024))
PUSH_COMMITS=20         # commits of the branch push
REFS=                   # refs of the many-refs repository (default by mode)
REFS_RUNS=3             # timed ls-remote and no-op fetches per side and round
OP_TIMEOUT=${BENCH_OP_TIMEOUT:-3600}

die() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 1
}

usage() {
	cat >&2 <<EOF
usage: $PROG [--rounds N] [--workdir DIR] [--quick] [--build DIR]
             [--refs N] [--tls] [--only clone|fetch|push|shallow|refs]

  --rounds N     rounds per operation, each side once per round (default 3)
  --workdir DIR  cache, forge, logs and results (default tests/bench/work)
  --quick        a small repository (a few thousand objects): a smoke test
  --build DIR    directory holding git-remote-bbs (default: the top of the
                 source tree if it holds one, else \$BBS_BUILD_DIR)
  --refs N       refs in the many-refs repository (default 100000;
                 2000 with --quick)
  --tls          over https instead of http: both sides get GIT_SSL_CAINFO,
                 the system's CA bundle with the forge's certificate added
  --only OP      only the clone, fetch, push, shallow (clone --depth 1)
                 or refs (ls-remote, no-op fetch and clone of many refs)
                 measurements
EOF
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--rounds)
		[ $# -ge 2 ] || usage
		ROUNDS=$2
		shift 2
		;;
	--rounds=*)
		ROUNDS=${1#*=}
		shift
		;;
	--workdir)
		[ $# -ge 2 ] || usage
		WORK=$2
		shift 2
		;;
	--workdir=*)
		WORK=${1#*=}
		shift
		;;
	--quick)
		QUICK=1
		shift
		;;
	--tls)
		TLS=1
		shift
		;;
	--build)
		[ $# -ge 2 ] || usage
		BUILD=$2
		shift 2
		;;
	--build=*)
		BUILD=${1#*=}
		shift
		;;
	--refs)
		[ $# -ge 2 ] || usage
		REFS=$2
		shift 2
		;;
	--refs=*)
		REFS=${1#*=}
		shift
		;;
	--only)
		[ $# -ge 2 ] || usage
		ONLY=$2
		shift 2
		;;
	--only=*)
		ONLY=${1#*=}
		shift
		;;
	-h | --help)
		usage
		;;
	*)
		usage
		;;
	esac
done

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive number"
case $ONLY in
all | clone | fetch | push | shallow | refs) ;;
*) die "--only takes clone, fetch, push, shallow or refs" ;;
esac
if [ -z "$REFS" ]; then
	if [ -n "$QUICK" ]; then
		REFS=2000
	else
		REFS=100000
	fi
fi
[[ $REFS =~ ^[1-9][0-9]{0,6}$ ]] || die "--refs needs a number from 1 to 9999999"
[[ $OP_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "BENCH_OP_TIMEOUT must be a number of seconds"

# --- tools -----------------------------------------------------------------

if [ -z "$BUILD" ]; then
	if [ -x "$TOP/git-remote-bbs" ]; then
		BUILD=$TOP
	elif [ -n "${BBS_BUILD_DIR:-}" ]; then
		BUILD=$BBS_BUILD_DIR
	else
		die "no git-remote-bbs in '$TOP'; use --build DIR or set BBS_BUILD_DIR"
	fi
fi
BUILD=$(cd "$BUILD" 2>/dev/null && pwd -P) || die "no such build directory"
[ -x "$BUILD/git-remote-bbs" ] || die "no git-remote-bbs in '$BUILD'"
PATH=$BUILD:$PATH
export PATH
[ "$(command -v git-remote-bbs)" = "$BUILD/git-remote-bbs" ] ||
	die "git-remote-bbs in PATH is not '$BUILD/git-remote-bbs'"
for t in git python3 timeout; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found"
done
# Peak RSS: GNU time's %M; without it (Debian's minimal roots), the same
# getrusage figure from measure.c, compiled below, which also times the
# command.  BENCH_MEASURE=measure takes it even where GNU time is.
if [ -x /usr/bin/time ] && [ "${BENCH_MEASURE:-}" != measure ]; then
	MEASURE=gnu-time
else
	MEASURE=measure
	command -v "${CC:-cc}" >/dev/null 2>&1 ||
		die "neither GNU time (/usr/bin/time) nor a C compiler for measure.c"
fi
[ -x "$FORGE" ] || [ -f "$FORGE" ] || die "no forge at '$FORGE'"
[ -f "$GENREPO" ] || die "no '$GENREPO'"

# Shallow fetches through bbs need a helper built against libgit2 1.9 or
# later (configure's HAVE_LIBGIT2_SHALLOW); SHALLOW_SKIP says why not.
BBS_LIBGIT2=$("$BUILD/git-remote-bbs" --version 2>/dev/null |
	awk '$1 == "libgit2" { print $2; exit }')
SHALLOW_SKIP=
if [ -f "$BUILD/config.h" ]; then
	grep -q '^#define HAVE_LIBGIT2_SHALLOW 1' "$BUILD/config.h" ||
		SHALLOW_SKIP="git-remote-bbs is built with libgit2 ${BBS_LIBGIT2:-?}; shallow fetches need libgit2 1.9 or later"
else
	case $BBS_LIBGIT2 in
	0.* | 1.[0-8].*) SHALLOW_SKIP="git-remote-bbs runs with libgit2 $BBS_LIBGIT2; shallow fetches need libgit2 1.9 or later" ;;
	'') SHALLOW_SKIP="cannot tell the libgit2 of git-remote-bbs" ;;
	esac
fi

# --- environment: nothing from the caller's git setup ----------------------

unset BBS_ACCESS_TOKEN GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE \
	GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_CONFIG \
	GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT GIT_CONFIG_GLOBAL \
	GIT_CONFIG_SYSTEM GIT_TRACE GIT_TRACE_PACKET GIT_TRACE_CURL \
	GIT_TRACE_PERFORMANCE GIT_TRACE2 GIT_TRACE2_EVENT GIT_TRACE2_PERF \
	GIT_CURL_VERBOSE GIT_TRACE_BBS GIT_ASKPASS SSH_ASKPASS GIT_PROTOCOL \
	GIT_SSL_NO_VERIFY GIT_SSL_CAINFO GIT_SSL_CAPATH GIT_HTTP_LOW_SPEED_TIME \
	GIT_HTTP_LOW_SPEED_LIMIT GIT_NAMESPACE GIT_REDIRECT_STDERR \
	http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 LC_ALL=C
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1

if [ -n "$QUICK" ]; then
	MODE=quick
else
	MODE=full
fi

mkdir -p "$WORK" || die "cannot create '$WORK'"
WORK=$(cd "$WORK" && pwd -P) || die "cannot enter '$WORK'"
# No command finds a repository above the work directory (the default one
# is inside the source tree, perhaps a linked worktree whose main
# repository is not there, as in a chroot).
export GIT_CEILING_DIRECTORIES=$WORK
MEASURE_BIN=
if [ "$MEASURE" = measure ]; then
	MEASURE_BIN=$WORK/measure
	if [ ! -x "$MEASURE_BIN" ] || [ "$BENCH_SRC/measure.c" -nt "$MEASURE_BIN" ]; then
		"${CC:-cc}" -O2 -o "$MEASURE_BIN" "$BENCH_SRC/measure.c" ||
			die "cannot compile measure.c"
	fi
fi
# The forge's Apache children (www-data when root) must reach the forge.
chmod 755 "$WORK" 2>/dev/null

CACHE=$WORK/cache-$MODE/big.git
REFS_CACHE=$WORK/cache-$MODE/refs-$REFS.git
FDIR=$WORK/forge-$MODE
RUN=$WORK/run-$MODE
LOGS=$WORK/logs-$MODE
OPDIR=$RUN/op
# results.md is the full run of everything; other runs get their own name.
SUFFIX=
[ "$MODE" = quick ] && SUFFIX=-quick
[ "$ONLY" != all ] && SUFFIX=$SUFFIX-$ONLY
[ -n "$TLS" ] && SUFFIX=$SUFFIX-tls
# A run with another number of refs than its mode's default, too.
if { [ -n "$QUICK" ] && [ "$REFS" != 2000 ]; } ||
	{ [ -z "$QUICK" ] && [ "$REFS" != 100000 ]; }; then
	SUFFIX=$SUFFIX-refs$REFS
fi
RESULTS=$WORK/results$SUFFIX.md
SAMPLES=$WORK/samples$SUFFIX.tsv

export HOME=$WORK/home
mkdir -p "$HOME" || die "cannot create '$HOME'"
cat >"$HOME/.gitconfig" <<'EOF'
# Written by bench.sh: the same settings for both sides.
[user]
	name = Bench
	email = bench@example.com
[init]
	defaultBranch = main
[safe]
	directory = *
[gc]
	auto = 0
[maintenance]
	auto = false
[advice]
	detachedHead = false
EOF

TOKEN=
FORGE_STARTED=
OP_JOB=
FAILURES=()
T_START=$EPOCHREALTIME
LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)

now() {
	echo "$EPOCHREALTIME"
}

# elapsed START: seconds since START, one decimal.
elapsed() {
	awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }'
}

say() {
	printf '%s\n' "$*"
}

# pipe_ok "${PIPESTATUS[@]}": every command of the pipeline succeeded.
pipe_ok() {
	local st
	for st in "$@"; do
		[ "$st" = 0 ] || return 1
	done
	return 0
}

# Replace the token by a placeholder in a stream.
redact() {
	local l
	while IFS= read -r l || [ -n "$l" ]; do
		if [ -n "$TOKEN" ]; then
			l=${l//"$TOKEN"/"<token>"}
		fi
		printf '%s\n' "$l"
	done
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local pg
	trap - EXIT INT TERM HUP
	# A timed command still running: end its process group (timeout(1)
	# leads it).
	if [ -n "$OP_JOB" ]; then
		if [ -s "$OPDIR/pid" ] && [ ! -e "$OPDIR/rc" ]; then
			read -r pg <"$OPDIR/pid"
			case $pg in
			'' | *[!0-9]*) ;;
			*) kill -TERM -- "-$pg" 2>/dev/null ;;
			esac
		fi
		wait "$OP_JOB" 2>/dev/null
		OP_JOB=
	fi
	if [ -n "$FORGE_STARTED" ]; then
		# The forge keeps granted tokens in its own file: drop ours.
		if [ -n "$TOKEN" ]; then
			printf '%s\n' "$TOKEN" | "$FORGE" revoke "$FDIR" - >/dev/null 2>&1
		fi
		if "$FORGE" stop "$FDIR" >/dev/null 2>&1; then
			# The served copies (the cache stays); the forge's logs stay.
			rm -rf "$FDIR/repos"
		else
			printf '%s: could not stop the forge in %s\n' "$PROG" "$FDIR" >&2
		fi
		FORGE_STARTED=
	fi
	TOKEN=
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- the repository --------------------------------------------------------

generate() {
	local stamp t0 tmp
	stamp="genrepo $(sha256sum "$GENREPO" | cut -c1-64) scale=$MODE repack=-adf--window=10-b"
	if [ -f "$CACHE/bench-stamp" ] && [ "$(cat "$CACHE/bench-stamp")" = "$stamp" ]; then
		say "Repository: cached in $CACHE"
		GEN_TIME=cached
		return 0
	fi
	say "Repository: generating ($MODE) in $CACHE ..."
	t0=$(now)
	tmp=$CACHE.tmp
	rm -rf "$tmp" "$CACHE"
	mkdir -p "$(dirname "$CACHE")" || die "cannot create the cache"
	git init -q --bare -b main "$tmp" || die "git init failed"
	python3 "$GENREPO" history --scale "$MODE" |
		git -C "$tmp" fast-import --quiet
	pipe_ok "${PIPESTATUS[@]}" ||
		die "generating the repository failed"
	git -C "$tmp" pack-refs --all &&
		git -C "$tmp" repack -q -a -d -f --window=10 --depth=50 -b ||
		die "repacking the repository failed"
	git -C "$tmp" prune --expire=now || die "prune failed"
	printf '%s\n' "$stamp" >"$tmp/bench-stamp"
	mv "$tmp" "$CACHE" || die "cannot move the repository into place"
	GEN_TIME=$(elapsed "$t0")
	say "Repository: generated in ${GEN_TIME} s"
}

# generate_refs: the many-refs repository, cached in REFS_CACHE: the quick
# history (a small pack, so the refs are what costs) with REFS refs in all.
generate_refs() {
	local stamp t0 tmp have
	stamp="genrepo $(sha256sum "$GENREPO" | cut -c1-64) refs=$REFS"
	if [ -f "$REFS_CACHE/bench-stamp" ] &&
		[ "$(cat "$REFS_CACHE/bench-stamp")" = "$stamp" ]; then
		say "Many-refs repository: cached in $REFS_CACHE"
		return 0
	fi
	say "Many-refs repository: generating ($REFS refs) in $REFS_CACHE ..."
	t0=$(now)
	tmp=$REFS_CACHE.tmp
	rm -rf "$tmp" "$REFS_CACHE"
	mkdir -p "$(dirname "$REFS_CACHE")" || die "cannot create the cache"
	git init -q --bare -b main "$tmp" || die "git init failed"
	python3 "$GENREPO" history --scale quick 2>/dev/null |
		git -C "$tmp" fast-import --quiet
	pipe_ok "${PIPESTATUS[@]}" ||
		die "generating the many-refs repository failed"
	git -C "$tmp" pack-refs --all &&
		git -C "$tmp" repack -q -a -d -b ||
		die "repacking the many-refs repository failed"
	have=$(git -C "$tmp" for-each-ref | wc -l)
	if [ "$REFS" -gt "$have" ]; then
		python3 "$GENREPO" refs --git-dir "$tmp" --count $((REFS - have)) ||
			die "writing the refs failed"
	fi
	printf '%s\n' "$stamp" >"$tmp/bench-stamp"
	mv "$tmp" "$REFS_CACHE" || die "cannot move the repository into place"
	say "Many-refs repository: generated in $(elapsed "$t0") s"
}

repo_stats() {
	local cv
	cv=$(git -C "$CACHE" count-objects -v) || die "count-objects failed"
	R_OBJECTS=$(awk '$1 == "in-pack:" { print $2 }' <<<"$cv")
	R_PACK_MIB=$(awk '$1 == "size-pack:" { printf "%.1f", $2 / 1024 }' <<<"$cv")
	R_COMMITS=$(git -C "$CACHE" rev-list --all --count)
	R_BRANCHES=$(git -C "$CACHE" for-each-ref refs/heads | wc -l)
	R_TAGS=$(git -C "$CACHE" for-each-ref refs/tags | wc -l)
	R_FILES=$(git -C "$CACHE" ls-tree -r main | wc -l)
	R_TREE_MIB=$(git -C "$CACHE" ls-tree -r -l main |
		awk '{ s += $4 } END { printf "%.1f", s / 1048576 }')
}

# --- the forge -------------------------------------------------------------

SERVER=
URL=
# --tls: the CA file both sides get, and the system bundle it starts with
SYSTEM_CA=${BENCH_SYSTEM_CA:-/etc/ssl/certs/ca-certificates.crt}
CA_BUNDLE=
CA_SYSTEM=

start_forge() {
	local port
	if [ -f "$FDIR/conf/httpd.conf" ]; then
		# A forge left over by an interrupted run of this script.
		"$FORGE" stop "$FDIR" >/dev/null 2>&1
	fi
	# Nothing left from an earlier run: no repositories, no tokens.
	rm -rf "$FDIR/repos" "$FDIR/tokens"
	mkdir -p "$FDIR" || die "cannot create '$FDIR'"
	port=$("$FORGE" start "$FDIR" ${TLS:+--tls}) || die "the forge did not start"
	FORGE_STARTED=1
	URL=$(cat "$FDIR/url") || die "no forge URL"
	[ -n "$port" ] || die "no forge port"
	if [ -n "$TLS" ]; then
		case $URL in
		https://*) ;;
		*) die "the forge did not start with TLS: '$URL'" ;;
		esac
		[ -s "$FDIR/tls/cert.pem" ] || die "no forge certificate"
		# Both sides load a CA file of the size they load against a real
		# server: the system's bundle with the forge's certificate added.
		CA_BUNDLE=$FDIR/tls/bundle.pem
		CA_SYSTEM=
		if [ -s "$SYSTEM_CA" ]; then
			CA_SYSTEM=$SYSTEM_CA
			cat "$SYSTEM_CA" "$FDIR/tls/cert.pem" >"$CA_BUNDLE"
		else
			cat "$FDIR/tls/cert.pem" >"$CA_BUNDLE"
		fi || die "cannot write '$CA_BUNDLE'"
		export GIT_SSL_CAINFO=$CA_BUNDLE
	fi
	SERVER=$FDIR/repos/team/big.git
	mkdir -p "$FDIR/repos/team" || die "cannot create the team directory"
	cp -a "$CACHE" "$SERVER" || die "cannot copy the repository to the forge"
	rm -f "$SERVER/bench-stamp"
	server_config "$SERVER"
	"$FORGE" fix-perms "$FDIR" || die "fix-perms failed"
	TOKEN=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
	[ ${#TOKEN} = 48 ] || die "cannot read /dev/urandom"
	printf '%s\n' "$TOKEN" | "$FORGE" grant "$FDIR" - write ||
		die "cannot grant the token"
}

# Server-side settings: no automatic gc in the middle of a measurement.
server_config() {
	git -C "$1" config http.receivepack true &&
		git -C "$1" config receive.autogc false &&
		git -C "$1" config gc.auto 0 || die "cannot configure '$1'"
}

fix_perms() {
	"$FORGE" fix-perms "$FDIR" || die "fix-perms failed"
}

url_for() {
	# url_for SIDE REPO-PATH
	if [ "$1" = bbs ]; then
		printf 'bbs::%s/%s\n' "$URL" "$2"
	else
		printf '%s/%s\n' "$URL" "$2"
	fi
}

# --- timing ----------------------------------------------------------------

# Give the command the credentials of one side, in the environment only.
side_env() {
	if [ "$1" = bbs ]; then
		export BBS_ACCESS_TOKEN="$TOKEN"
	else
		export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader
		export GIT_CONFIG_VALUE_0="Authorization: Bearer $TOKEN"
	fi
}

# run_op OP SIDE TAG DIR COMMAND...: run COMMAND in DIR as SIDE (bbs or
# native), time it, and on success append "OP SIDE TAG WALL RSS-KiB" to the
# samples.  Sets LAST_WALL and LAST_RSS.  Returns the command's status;
# stderr goes to a log, with the token masked.
run_op() {
	local op=$1 side=$2 tag=$3 dir=$4 log rc s e tline
	shift 4
	log=$LOGS/$op.$side.$tag.log
	rm -rf "$OPDIR"
	mkdir -p "$OPDIR" || die "cannot create '$OPDIR'"
	# Where this operation's requests start in the forge's access log.
	printf '%s\t%s\t%s\t%s\n' "$op" "$side" "$tag" \
		"$(wc -l <"$FDIR/logs/access.log" 2>/dev/null || echo 0)" >>"$RUN/marks"
	{
		(
			cd "$dir" || exit 1
			side_env "$side"
			s=$EPOCHREALTIME
			if [ "$MEASURE" = gnu-time ]; then
				timeout -k 10 "$OP_TIMEOUT" \
					/usr/bin/time -f '%e %M' -o "$OPDIR/time" "$@" </dev/null &
			else
				timeout -k 10 "$OP_TIMEOUT" \
					"$MEASURE_BIN" "$OPDIR/time" "$@" </dev/null &
			fi
			echo $! >"$OPDIR/pid"
			wait $!
			rc=$?
			e=$EPOCHREALTIME
			printf '%s %s\n' "$s" "$e" >"$OPDIR/wall"
			echo "$rc" >"$OPDIR/rc"
		) 2>&1 >/dev/null | redact >"$log"
	} &
	OP_JOB=$!
	wait "$OP_JOB"
	OP_JOB=
	rc=$(cat "$OPDIR/rc" 2>/dev/null) || rc=
	[ -n "$rc" ] || rc=255
	LAST_WALL=
	LAST_RSS=
	if [ "$rc" = 0 ]; then
		read -r s e <"$OPDIR/wall"
		LAST_WALL=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f", e - s }')
		tline=$(tail -n 1 "$OPDIR/time")
		LAST_RSS=${tline##* }
		if [ "$MEASURE" = measure ]; then
			LAST_WALL=${tline%% *}
		fi
		[[ $LAST_RSS =~ ^[0-9]+$ ]] || LAST_RSS=0
		printf '%s\t%s\t%s\t%s\t%s\n' "$op" "$side" "$tag" "$LAST_WALL" \
			"$LAST_RSS" >>"$SAMPLES"
	fi
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "(timed out after $OP_TIMEOUT s)" >>"$log"
	fi
	return "$rc"
}

# fail OP SIDE TAG WHAT: record a failed operation.
fail() {
	local log=$LOGS/$1.$2.$3.log
	FAILURES+=("$1 ($2, $3): $4")
	printf '  FAILED: %s (%s, %s): %s\n' "$1" "$2" "$3" "$4" >&2
	if [ -s "$log" ]; then
		printf '  --- last lines of %s\n' "$log" >&2
		tail -n 8 "$log" | sed 's/^/  | /' >&2
	fi
}

show() {
	# show OP SIDE TAG
	printf '  %-12s %-6s %-8s %8.3f s %8.1f MiB\n' "$1" "$2" "$3" "$LAST_WALL" \
		"$(awk -v k="$LAST_RSS" 'BEGIN { printf "%.1f", k / 1024 }')"
}

# timed OP SIDE TAG DIR COMMAND...: run_op, then report.
timed() {
	local rc
	run_op "$@"
	rc=$?
	if [ "$rc" = 0 ]; then
		show "$1" "$2" "$3"
		return 0
	fi
	fail "$1" "$2" "$3" "exit status $rc"
	return 1
}

ref_of() {
	# ref_of GITDIR REF
	git --git-dir="$1" rev-parse -q --verify "$2^{object}" 2>/dev/null
}

# --- the operations ----------------------------------------------------------

SIDES=(bbs native)

op_clone() {
	local r side dest want got
	say ""
	say "== clone ($ROUNDS rounds)"
	want=$(ref_of "$SERVER" refs/heads/main)
	for r in $(seq 1 "$ROUNDS"); do
		for side in "${SIDES[@]}"; do
			dest=$RUN/clone-$side
			rm -rf "$dest"
			if timed clone "$side" "r$r" "$RUN" \
				git clone -q "$(url_for "$side" team/big.git)" "$dest"; then
				got=$(ref_of "$dest/.git" HEAD)
				if [ "$got" != "$want" ] ||
					[ -n "$(git -C "$dest" status --porcelain 2>&1)" ]; then
					fail clone "$side" "r$r" "the clone does not match the server"
				fi
			fi
			rm -rf "$dest"
		done
	done
}

# base_clone SIDE: an up-to-date clone for SIDE, made locally (not timed),
# then brought up to date once through SIDE's transport.
base_clone() {
	local side=$1 dest=$RUN/base-$1
	[ -d "$dest/.git" ] && return 0
	git clone -q --no-checkout --no-hardlinks "$SERVER" "$dest" ||
		die "cannot make the base clone for $side"
	git -C "$dest" remote set-url origin "$(url_for "$side" team/big.git)" ||
		die "cannot set the URL of the base clone"
	if ! timed warmup "$side" fetch "$dest" git fetch -q origin; then
		die "the first fetch of $side failed; stopping"
	fi
}

check_tracking() {
	# check_tracking SIDE OP TAG: origin/main of SIDE's clone is the server's.
	local want got
	want=$(ref_of "$SERVER" refs/heads/main)
	got=$(ref_of "$RUN/base-$1/.git" refs/remotes/origin/main)
	if [ "$want" != "$got" ]; then
		fail "$2" "$1" "$3" "origin/main is not the server's main after the fetch"
	fi
}

# upstream_commits SEED: new commits on the server's main, written there
# directly (not through HTTP).
upstream_commits() {
	python3 "$GENREPO" commits --git-dir "$SERVER" --from refs/heads/main \
		--ref refs/heads/main --commits "$INCR_COMMITS" \
		--blob-bytes "$INCR_BLOB" --seed "$1" --time $((1800000000 + $1 * 100000)) |
		git -C "$SERVER" fast-import --quiet
	pipe_ok "${PIPESTATUS[@]}" ||
		die "cannot add commits to the server repository"
	fix_perms
}

op_fetch() {
	local r i side
	say ""
	say "== fetch"
	for side in "${SIDES[@]}"; do
		base_clone "$side"
	done
	say "-- no-op fetch ($NOOP_RUNS x $ROUNDS per side)"
	for r in $(seq 1 "$ROUNDS"); do
		for i in $(seq 1 "$NOOP_RUNS"); do
			for side in "${SIDES[@]}"; do
				run_op fetch-noop "$side" "r$r.$i" "$RUN/base-$side" \
					git fetch -q origin ||
					fail fetch-noop "$side" "r$r.$i" "exit status $?"
			done
		done
		for side in "${SIDES[@]}"; do
			printf '  %-12s %-6s r%-7s median %.3f s\n' fetch-noop "$side" "$r" \
				"$(awk -F '\t' -v s="$side" -v r="r$r." \
					'$1 == "fetch-noop" && $2 == s && index($3, r) == 1 { print $4 }' \
					"$SAMPLES" | median)"
		done
	done
	say "-- incremental fetch ($INCR_COMMITS commits + $((INCR_BLOB / 1048576)) MiB blob per round)"
	for r in $(seq 1 "$ROUNDS"); do
		upstream_commits $((1000 + r))
		for side in "${SIDES[@]}"; do
			if timed fetch-incr "$side" "r$r" "$RUN/base-$side" git fetch -q origin; then
				check_tracking "$side" fetch-incr "r$r"
			fi
		done
	done
}

op_push() {
	local r side n ref clone repo url want got
	say ""
	say "== push"
	for side in "${SIDES[@]}"; do
		base_clone "$side"
	done
	say "-- push of $PUSH_COMMITS new commits on a new branch"
	n=0
	for r in $(seq 1 "$ROUNDS"); do
		for side in "${SIDES[@]}"; do
			n=$((n + 1))
			clone=$RUN/base-$side
			ref=refs/heads/bench/push-$side-$r
			python3 "$GENREPO" commits --git-dir "$clone/.git" \
				--from refs/remotes/origin/main --ref "$ref" \
				--commits "$PUSH_COMMITS" --seed $((5000 + n)) \
				--time $((1900000000 + n * 100000)) |
				git -C "$clone" fast-import --quiet
			pipe_ok "${PIPESTATUS[@]}" ||
				die "cannot make the commits to push"
			if timed push-branch "$side" "r$r" "$clone" \
				git push -q origin "$ref:$ref"; then
				want=$(ref_of "$clone/.git" "$ref")
				got=$(ref_of "$SERVER" "$ref")
				[ "$want" = "$got" ] ||
					fail push-branch "$side" "r$r" "the server does not have the branch"
			fi
			git -C "$SERVER" update-ref -d "$ref" 2>/dev/null
			fix_perms
		done
	done

	say "-- push of the whole history to an empty repository"
	rm -rf "$RUN/src.git"
	cp -a "$CACHE" "$RUN/src.git" || die "cannot copy the repository"
	rm -f "$RUN/src.git/bench-stamp"
	want=$(git -C "$RUN/src.git" for-each-ref --format='%(objectname) %(refname)' \
		refs/heads refs/tags)
	for r in $(seq 1 "$ROUNDS"); do
		for side in "${SIDES[@]}"; do
			repo=team/empty-$side-$r.git
			rm -rf "${FDIR:?}/repos/$repo"
			"$FORGE" create-repo "$FDIR" "$repo" --empty >/dev/null ||
				die "cannot create $repo on the forge"
			server_config "$FDIR/repos/$repo"
			fix_perms
			url=$(url_for "$side" "$repo")
			if timed push-all "$side" "r$r" "$RUN/src.git" \
				git push -q "$url" 'refs/heads/*:refs/heads/*' \
				'refs/tags/*:refs/tags/*'; then
				got=$(git -C "$FDIR/repos/$repo" for-each-ref \
					--format='%(objectname) %(refname)' refs/heads refs/tags)
				[ "$want" = "$got" ] ||
					fail push-all "$side" "r$r" "the refs on the server differ from the source"
				git -C "$FDIR/repos/$repo" fsck --connectivity-only --no-progress \
					>/dev/null 2>&1 ||
					fail push-all "$side" "r$r" "the pushed repository is not connected"
			fi
			rm -rf "${FDIR:?}/repos/$repo"
		done
	done
}

op_shallow() {
	local r side dest want got
	say ""
	say "== shallow clone (--depth 1, $ROUNDS rounds)"
	if [ -n "$SHALLOW_SKIP" ]; then
		say "  skipped: $SHALLOW_SKIP"
		return 0
	fi
	want=$(ref_of "$SERVER" refs/heads/main)
	for r in $(seq 1 "$ROUNDS"); do
		for side in "${SIDES[@]}"; do
			dest=$RUN/shallow-$side
			rm -rf "$dest"
			if timed shallow "$side" "r$r" "$RUN" git clone -q --depth 1 \
				"$(url_for "$side" team/big.git)" "$dest"; then
				got=$(ref_of "$dest/.git" HEAD)
				if [ "$got" != "$want" ] ||
					[ "$(git -C "$dest" rev-list --count HEAD 2>&1)" != 1 ] ||
					[ "$(cat "$dest/.git/shallow" 2>&1)" != "$want" ] ||
					[ -n "$(git -C "$dest" status --porcelain 2>&1)" ]; then
					fail shallow "$side" "r$r" "the clone is not a depth-1 clone of main"
				fi
			fi
			rm -rf "$dest"
		done
	done
}

# serve_refs: the many-refs repository on the forge, as team/refs.git.
serve_refs() {
	REFS_SERVER=$FDIR/repos/team/refs.git
	[ -d "$REFS_SERVER" ] && return 0
	cp -a "$REFS_CACHE" "$REFS_SERVER" || die "cannot copy the many-refs repository"
	rm -f "$REFS_SERVER/bench-stamp"
	server_config "$REFS_SERVER"
	fix_perms
}

# refs_clone SIDE: an up-to-date clone of the many-refs repository for
# SIDE, made locally, then fetched once through SIDE's transport; and one
# ls-remote through it that must list every ref (neither is timed).
refs_clone() {
	local side=$1 dest=$RUN/refs-$1 url
	url=$(url_for "$side" team/refs.git)
	git clone -q --no-checkout --no-hardlinks "$REFS_SERVER" "$dest" ||
		die "cannot make the many-refs clone for $side"
	git -C "$dest" remote set-url origin "$url" ||
		die "cannot set the URL of the many-refs clone"
	(
		side_env "$side"
		git -C "$dest" fetch -q origin
	) 2>&1 | redact >"$LOGS/refs-warmup.$side.log"
	pipe_ok "${PIPESTATUS[@]}" || die "the first many-refs fetch of $side failed"
	(
		cd "$RUN" && side_env "$side" &&
			git ls-remote "$url" >"$RUN/ls-remote-$side"
	) 2>&1 | redact >>"$LOGS/refs-warmup.$side.log"
	pipe_ok "${PIPESTATUS[@]}" || die "the first ls-remote of $side failed"
	[ "$(grep -c -v -e '	HEAD$' -e '\^{}$' "$RUN/ls-remote-$side")" = "$R_REFS" ] ||
		die "ls-remote of $side does not list the $R_REFS refs of the server"
}

op_refs() {
	local r i side dest
	say ""
	serve_refs
	say "== many refs ($R_REFS refs; $REFS_RUNS x $ROUNDS runs per side)"
	for side in "${SIDES[@]}"; do
		refs_clone "$side"
	done
	for r in $(seq 1 "$ROUNDS"); do
		for i in $(seq 1 "$REFS_RUNS"); do
			for side in "${SIDES[@]}"; do
				timed refs-ls "$side" "r$r.$i" "$RUN" \
					git ls-remote "$(url_for "$side" team/refs.git)"
			done
		done
		for i in $(seq 1 "$REFS_RUNS"); do
			for side in "${SIDES[@]}"; do
				timed refs-fetch "$side" "r$r.$i" "$RUN/refs-$side" \
					git fetch -q origin
			done
		done
		# a clone asks for every branch and tag by name
		for side in "${SIDES[@]}"; do
			dest=$RUN/refs-clone-$side
			rm -rf "$dest"
			if timed refs-clone "$side" "r$r" "$RUN" git clone -q --bare \
				"$(url_for "$side" team/refs.git)" "$dest"; then
				[ "$(git --git-dir="$dest" for-each-ref | wc -l)" -ge "$R_REFS" ] ||
					fail refs-clone "$side" "r$r" "the clone lacks refs"
			fi
			rm -rf "$dest"
		done
	done
}

# --- report ------------------------------------------------------------------

median() {
	sort -g | awk '{ a[NR] = $1 }
		END {
			if (NR == 0) exit
			if (NR % 2) printf "%.4f\n", a[(NR + 1) / 2]
			else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2
		}'
}

# sample_median OP SIDE COLUMN: median of a column (4 wall, 5 RSS) of the samples.
sample_median() {
	awk -F '\t' -v o="$1" -v s="$2" -v c="$3" '$1 == o && $2 == s { print $c }' \
		"$SAMPLES" | median
}

count() {
	awk -F '\t' -v o="$1" -v s="$2" '$1 == o && $2 == s { n++ } END { print n + 0 }' \
		"$SAMPLES"
}

fmt_wall() {
	awk -v w="$1" 'BEGIN { if (w < 10) printf "%.3f s", w; else printf "%.2f s", w }'
}

fmt_rss() {
	awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

table_row() {
	# table_row OP LABEL
	local nw nr bw br ncell bcell rw rr
	nw=$(sample_median "$1" native 4)
	nr=$(sample_median "$1" native 5)
	bw=$(sample_median "$1" bbs 4)
	br=$(sample_median "$1" bbs 5)
	if [ -n "$nw" ]; then
		ncell="$(fmt_wall "$nw"), $(fmt_rss "$nr")"
	else
		ncell=FAILED
	fi
	if [ -n "$bw" ]; then
		bcell="$(fmt_wall "$bw"), $(fmt_rss "$br")"
	else
		bcell=FAILED
	fi
	if [ -n "$nw" ] && [ -n "$bw" ]; then
		rw=$(ratio "$bw" "$nw")
		rr=$(ratio "$br" "$nr")
	else
		rw=-
		rr=-
	fi
	printf '| %s | %s | %s | %s | %s |\n' "$2 (n=$(count "$1" native)/$(count "$1" bbs))" \
		"$ncell" "$bcell" "$rw" "$rr"
}

# traffic: per operation, side and run, the number of HTTP requests and the
# bytes the forge sent (response bodies, from its access log), as lines
# "OP SIDE TAG REQUESTS BYTES".
traffic() {
	[ -s "$RUN/marks" ] || return 0
	awk -F '\t' 'NR == FNR { n++; key[n] = $1 "\t" $2 "\t" $3; start[n] = $4; next }
		{ line[FNR] = $0; last = FNR }
		END {
			for (i = 1; i <= n; i++) {
				end = (i < n) ? start[i + 1] : last
				req = 0; bytes = 0
				for (l = start[i] + 1; l <= end; l++) {
					split(line[l], f, " ")
					if (f[7] ~ /^\/\.forge-ping/) continue
					req++
					if (f[10] ~ /^[0-9]+$/) bytes += f[10]
				}
				printf "%s\t%d\t%d\n", key[i], req, bytes
			}
		}' "$RUN/marks" "$FDIR/logs/access.log"
}

# rounds_cell OP SIDE: the wall times of the runs, in order (or min/max).
rounds_cell() {
	awk -F '\t' -v o="$1" -v s="$2" '$1 == o && $2 == s {
			n++; v[n] = $4
			if (n == 1 || $4 < lo) lo = $4
			if (n == 1 || $4 > hi) hi = $4
		}
		END {
			if (n == 0) { printf "-"; exit }
			if (n > 6) { printf "min %.3f, max %.3f", lo, hi; exit }
			for (i = 1; i <= n; i++) printf "%s%.3f", (i > 1 ? ", " : ""), v[i]
		}' "$SAMPLES"
}

# traffic_cell OP SIDE: median requests and MiB sent by the forge per run,
# and the largest download.
traffic_cell() {
	local req mib max
	req=$(awk -F '\t' -v o="$1" -v s="$2" '$1 == o && $2 == s { print $4 }' \
		"$RUN/traffic" | median)
	mib=$(awk -F '\t' -v o="$1" -v s="$2" '$1 == o && $2 == s { print $5 / 1048576 }' \
		"$RUN/traffic" | median)
	max=$(awk -F '\t' -v o="$1" -v s="$2" '$1 == o && $2 == s && $5 > m { m = $5 }
		END { printf "%.2f", m / 1048576 }' "$RUN/traffic")
	if [ -z "$req" ]; then
		printf -- '-'
		return
	fi
	awk -v r="$req" -v m="$mib" -v x="$max" \
		'BEGIN { printf "%g requests, %.2f MiB (max %.2f MiB)", r, m, x }'
}

detail_row() {
	printf '| %s | %s | %s | %s | %s |\n' "$2" "$(rounds_cell "$1" native)" \
		"$(rounds_cell "$1" bbs)" "$(traffic_cell "$1" native)" \
		"$(traffic_cell "$1" bbs)"
}

# ops_rows FUNCTION: FUNCTION OP LABEL for each measured operation.
ops_rows() {
	if [ "$ONLY" = all ] || [ "$ONLY" = clone ]; then
		"$1" clone "clone (with checkout)"
	fi
	if [ "$ONLY" = all ] || [ "$ONLY" = fetch ]; then
		"$1" fetch-noop "no-op fetch"
		"$1" fetch-incr "fetch of $INCR_COMMITS commits + $((INCR_BLOB / 1048576)) MiB blob"
	fi
	if [ "$ONLY" = all ] || [ "$ONLY" = push ]; then
		"$1" push-branch "push of $PUSH_COMMITS commits, new branch"
		"$1" push-all "push of all history to an empty repo"
	fi
	if [ "$ONLY" = all ] || [ "$ONLY" = shallow ]; then
		if [ -n "$SHALLOW_SKIP" ]; then
			printf '| shallow clone --depth 1 | skipped: %s | - | - | - |\n' \
				"$SHALLOW_SKIP"
		else
			"$1" shallow "shallow clone --depth 1 (with checkout)"
		fi
	fi
	if [ "$ONLY" = all ] || [ "$ONLY" = refs ]; then
		"$1" refs-ls "ls-remote, $R_REFS refs"
		"$1" refs-fetch "no-op fetch, $R_REFS refs"
		"$1" refs-clone "clone --bare, $R_REFS refs"
	fi
}

# How the https run's certificates were set up, for the report.
tls_note() {
	[ -n "$TLS" ] || return 0
	local n
	n=$(grep -c 'BEGIN CERTIFICATE' "$CA_BUNDLE" 2>/dev/null)
	if [ -n "$CA_SYSTEM" ]; then
		printf ' (GIT_SSL_CAINFO: %s and the forge'"'"'s self-signed certificate, %s certificates)' \
			"$CA_SYSTEM" "${n:-?}"
	else
		printf ' (GIT_SSL_CAINFO: the forge'"'"'s self-signed certificate alone; no system bundle at %s)' \
			"$SYSTEM_CA"
	fi
}

report() {
	local cpu mem libgit2 libcurl apache curl_bbs curl_native
	cpu=$(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	libgit2=$(pkg-config --modversion libgit2 2>/dev/null)
	libgit2="${libgit2:-?} ($(ldd "$BUILD/git-remote-bbs" 2>/dev/null |
		awk '/libgit2/ { print $1; exit }'))"
	libcurl=$(curl-config --version 2>/dev/null || pkg-config --modversion libcurl 2>/dev/null)
	# which libcurl each side runs (Debian's git takes the GnuTLS one)
	curl_bbs=$(ldd "$BUILD/git-remote-bbs" 2>/dev/null |
		awk '/libcurl/ { print $1; exit }')
	curl_native=$(ldd "$(git --exec-path)/git-remote-http" 2>/dev/null |
		awk '/libcurl/ { print $1; exit }')
	apache=$( (apache2 -v 2>/dev/null || /usr/sbin/apache2 -v 2>/dev/null) |
		awk -F ': ' '/version/ { print $2; exit }')
	cat <<EOF
# git-remote-bbs benchmark ($MODE)

- Machine: $(nproc) CPUs (${cpu:-?}), $mem RAM, Linux $(uname -r)
- git: $(git --version | sed 's/^git version //'); libgit2: $libgit2; libcurl: ${libcurl:-?} (bbs: ${curl_bbs:-?}; native git: ${curl_native:-?})
- Helper: $BUILD/git-remote-bbs, built $(date -u -r "$BUILD/git-remote-bbs" '+%Y-%m-%d %H:%M UTC'); source tree at $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?')
- Server: ${apache:-Apache} + git http-backend behind the CGI token gate (tests/forge), ${URL%%:*}://127.0.0.1$(tls_note), KeepAliveTimeout 2 s
- Repository: $R_OBJECTS objects, pack $R_PACK_MIB MiB (bitmapped), $R_COMMITS commits, $R_BRANCHES branches, $R_TAGS tags; checkout of main: $R_FILES files, $R_TREE_MIB MiB
$( [ -z "$R_REFS" ] || echo "- Many-refs repository: the quick history with $R_REFS refs (60% branches, 40% lightweight tags), packed-refs" )
- Load average (1/5/15 min): $LOAD_START at the start, $(cut -d ' ' -f 1-3 /proc/loadavg) at the end
- Rounds: $ROUNDS (sides alternate bbs, native in each round); generation: $GEN_TIME$( [ "$GEN_TIME" = cached ] || echo ' s'); whole run: $(elapsed "$T_START") s

| operation | native (median wall, peak RSS) | bbs (median wall, peak RSS) | ratio bbs/native wall | ratio RSS |
|---|---|---|---|---|
EOF
	ops_rows table_row
	traffic >"$RUN/traffic"
	cat <<EOF

Per run: wall times in seconds (round order), and what the forge saw
(requests, MiB of response bodies; uploads are not counted).

| operation | native runs (s) | bbs runs (s) | native traffic | bbs traffic |
|---|---|---|---|---|
EOF
	ops_rows detail_row
	cat <<EOF

Wall: median over the rounds (no-op fetch: $NOOP_RUNS runs per side and round).
Peak RSS ($MEASURE): median over the rounds of getrusage's maximum RSS
(GNU time's %M), the maximum RSS of the
largest single process of the client's process tree (git, the remote helper,
index-pack/pack-objects children) - not a sum, and the server is not counted.
n=native/bbs: successful samples.  Native git uses its defaults (protocol v2
for fetch), the token in http.extraHeader; bbs gets it from BBS_ACCESS_TOKEN.
Both sides run with gc.auto=0 and maintenance.auto=false.
EOF
	if [ ${#FAILURES[@]} -gt 0 ]; then
		printf '\nFailed operations:\n'
		printf -- '- %s\n' "${FAILURES[@]}"
	fi
}

# --- main --------------------------------------------------------------------

rm -rf "$RUN" "$LOGS"
mkdir -p "$RUN" "$LOGS" || die "cannot create '$RUN'"
: >"$SAMPLES"
printf '# git-remote-bbs benchmark: %s (%s), %s rounds, helper %s\n' \
	"$MODE" "$ONLY" "$ROUNDS" "$BUILD/git-remote-bbs"

GEN_TIME=
generate
repo_stats
R_REFS=
if [ "$ONLY" = all ] || [ "$ONLY" = refs ]; then
	generate_refs
	R_REFS=$(git -C "$REFS_CACHE" for-each-ref | wc -l)
fi
say "Repository: $R_OBJECTS objects, pack $R_PACK_MIB MiB, $R_COMMITS commits, $R_BRANCHES branches, $R_TAGS tags"
start_forge
say "Forge: $URL ($FDIR)"

case $ONLY in
all)
	op_clone
	op_fetch
	op_push
	op_shallow
	op_refs
	;;
clone) op_clone ;;
fetch) op_fetch ;;
push) op_push ;;
shallow) op_shallow ;;
refs) op_refs ;;
esac

say ""
report | tee "$RESULTS"
say ""
say "Results written to $RESULTS; samples in $SAMPLES; logs in $LOGS"
if [ ${#FAILURES[@]} -gt 0 ]; then
	printf '%s: %d operation(s) failed:\n' "$PROG" "${#FAILURES[@]}" >&2
	printf '  %s\n' "${FAILURES[@]}" >&2
	exit 1
fi
exit 0
