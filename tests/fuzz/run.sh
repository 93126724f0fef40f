#!/bin/bash
# SPDX-License-Identifier: MIT
# run.sh BUILD-DIR [TOTAL-SECONDS [JOBS]]: run every libFuzzer target of a
# tree configured with --enable-fuzz (CC=clang) and built with `make fuzz`,
# each for a bounded time, JOBS (default 2) at a time, within about
# TOTAL-SECONDS (default 420) altogether and at most 60 s per target.
# Each target starts from its seed corpus (copied: the committed seeds are
# never changed) and writes what it finds into BUILD-DIR/fuzz-run/<name>/.
# Prints "PASS: fuzz-<name> ..." or "FAIL: fuzz-<name> ..." per target, and
# fails when any target exits non-zero or leaves a crash, leak, timeout or
# out-of-memory file: a finding is a failure, whatever libFuzzer's status.
set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
	echo "usage: $0 BUILD-DIR [TOTAL-SECONDS [JOBS]]" >&2
	exit 2
fi
build=$(cd "$1" && pwd -P) || exit 2
total=${2:-420}
jobs=${3:-2}
src=$(cd "$(dirname "$0")" && pwd -P) || exit 2
out=$build/fuzz-run

targets=$(cd "$src" && ls fuzz-*.c | sed -e 's/^fuzz-//' -e 's/\.c$//')
n=$(printf '%s\n' $targets | grep -c .)
if [ "$n" = 0 ]; then
	echo "FAIL: no fuzz targets in $src"
	exit 1
fi
secs=$((total * jobs / n))
[ "$secs" -gt 60 ] && secs=60
[ "$secs" -lt 10 ] && secs=10

# run_one NAME: run fuzz-NAME for $secs seconds; status in $out/NAME/rc
run_one() {
	local t=$1 dir=$out/$1
	rm -rf "$dir" && mkdir -p "$dir/corpus" "$dir/artifacts" &&
		cp "$src/corpus/$t"/* "$dir/corpus/" || {
		echo 1 >"$dir/rc"
		return
	}
	"$build/tests/fuzz/fuzz-$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix="$dir/artifacts/" "$dir/corpus" \
		</dev/null >"$dir/log" 2>&1
	echo $? >"$dir/rc"
}

# report NAME: print the verdict for NAME; return 1 on a finding
report() {
	local t=$1 dir=$out/$1 rc found runs
	rc=$(cat "$dir/rc" 2>/dev/null || echo 1)
	found=$(ls "$dir/artifacts" 2>/dev/null)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" 2>/dev/null)
	if [ "$rc" = 0 ] && [ -z "$found" ] && [ -n "$runs" ]; then
		echo "PASS: fuzz-$t ($runs executions in ${secs}s)"
		return 0
	fi
	echo "FAIL: fuzz-$t (exit status $rc${found:+, found: $found})"
	tail -40 "$dir/log" 2>/dev/null | sed -e 's/^/| /'
	for f in $found; do
		echo "| $f (first 256 bytes):"
		head -c 256 "$dir/artifacts/$f" | od -A d -c | sed -e 's/^/| /'
	done
	return 1
}

mkdir -p "$out" || exit 1
echo "fuzzing $n target(s), ${secs}s each, $jobs at a time"
for t in $targets; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	if [ ! -x "$build/tests/fuzz/fuzz-$t" ]; then
		mkdir -p "$out/$t" && echo 127 >"$out/$t/rc" &&
			echo "fuzz-$t is not built (make fuzz)" >"$out/$t/log"
		continue
	fi
	run_one "$t" &
done
wait

failed=0
for t in $targets; do
	report "$t" || failed=$((failed + 1))
done
[ "$failed" = 0 ]
