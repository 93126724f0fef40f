#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='the benchmark runs: every operation, a tiny size, over http and https, ratios printed (no figure is checked)'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

# the benchmark starts a forge of its own; skip as the forge tests do
forge_check_ || test_done

BENCH=$SRCDIR/tests/bench/bench.sh

# rows LABEL: the table row of an operation, from the report.
row() {
	grep -F "| $1 (n=" results.md
}

test_expect_success 'bench.sh --quick runs every operation and writes its report' '
	bash "$BENCH" --quick --rounds 1 --refs 300 --build "$BUILDDIR" \
		--workdir "$TRASH_DIRECTORY/work" >out 2>err &&
	cp work/results-quick-refs300.md results.md &&
	test_grep "^# git-remote-bbs benchmark (quick)" results.md &&
	test_grep "Many-refs repository: the quick history with 300 refs" results.md
'

test_expect_success 'each measured operation has both sides and two ratios' '
	for op in "clone (with checkout)" "no-op fetch" \
		"fetch of 50 commits + 2 MiB blob" "push of 20 commits, new branch" \
		"push of all history to an empty repo" "ls-remote, 300 refs" \
		"no-op fetch, 300 refs"
	do
		row "$op" >line &&
		test_line_count = 1 line &&
		grep -E "\| [0-9]+\.[0-9]{2} \| [0-9]+\.[0-9]{2} \|$" line ||
		return 1
	done
'

test_expect_success LIBGIT2_1_9 'the shallow clone is measured (libgit2 1.9+)' '
	row "shallow clone --depth 1 (with checkout)" >line &&
	grep -E "\| [0-9]+\.[0-9]{2} \| [0-9]+\.[0-9]{2} \|$" line
'

test_expect_success !LIBGIT2_1_9 'without libgit2 1.9 the shallow clone is skipped, with the reason' '
	test_grep -E "\| shallow clone --depth 1 \| skipped: git-remote-bbs (is built|runs) with libgit2 [0-9.]+; shallow fetches need libgit2 1.9 or later \|" results.md &&
	test_grep -E "skipped: git-remote-bbs (is built|runs) with libgit2" out
'

test_expect_success 'no token in any output or log, and the forge and clones are gone' '
	test_grep ! "Failed operations" results.md &&
	test_grep ! FAILED err &&
	! grep -rE "[0-9a-f]{48}" out err work/results-quick-refs300.md \
		work/logs-quick &&
	! ls work/run-quick 2>/dev/null &&
	! "$FORGE" status work/forge-quick >/dev/null 2>&1
'

# under valgrind the run above already has the helper's every operation
test_expect_success NOT_VALGRIND 'bench.sh --tls measures the fetches over https, both sides' '
	bash "$BENCH" --quick --rounds 1 --tls --only fetch --build "$BUILDDIR" \
		--workdir "$TRASH_DIRECTORY/work" >out-tls 2>err-tls &&
	cp work/results-quick-fetch-tls.md tls.md &&
	test_grep "^- Server: .*, https://127\.0\.0\.1 (GIT_SSL_CAINFO: " tls.md &&
	for op in "no-op fetch" "fetch of 50 commits + 2 MiB blob"
	do
		grep -F "| $op (n=" tls.md >line &&
		test_line_count = 1 line &&
		grep -E "\(n=([1-9][0-9]*)/\1\)" line &&
		grep -E "\| [0-9]+\.[0-9]{2} \| [0-9]+\.[0-9]{2} \|$" line ||
		return 1
	done &&
	test_grep ! "Failed operations" tls.md &&
	! grep -rE "[0-9a-f]{48}" out-tls err-tls tls.md work/logs-quick &&
	! "$FORGE" status work/forge-quick >/dev/null 2>&1
'

test_done
