#!/bin/bash
# SPDX-License-Identifier: MIT
test_description='every fuzz target replays its seed corpus without a finding'

. "$(dirname "$0")/test-lib.sh"

# The fuzz programs sit in the build tree (BBS_BUILD_DIR may point to a
# directory of wrappers); under the valgrind pass they run under valgrind.
FUZZ_BIN=${abs_top_builddir:-$BUILDDIR}/tests/fuzz
replay=()
if [ -n "${BBS_TEST_VALGRIND:-}" ]; then
	replay=(valgrind -q --error-exitcode=99 --leak-check=full
		--errors-for-leak-kinds=definite
		"--suppressions=$SRCDIR/contrib/valgrind.supp")
fi

targets=$(cd "$SRCDIR/tests/fuzz" && ls fuzz-*.c | sed -e 's/^fuzz-//' -e 's/\.c$//')

test_expect_success 'there are fuzz targets, each with a seed corpus' '
	test -n "$targets" &&
	for t in $targets; do
		test_path_is_dir "$SRCDIR/tests/fuzz/corpus/$t" &&
		ls "$SRCDIR/tests/fuzz/corpus/$t" >files &&
		test_line_count -gt 0 files ||
		return 1
	done
'

for t in $targets; do
	test_expect_success "fuzz-$t replays its corpus" '
		test_path_is_file "$FUZZ_BIN/fuzz-$t" &&
		"${replay[@]}" "$FUZZ_BIN/fuzz-$t" -runs=0 \
			"$SRCDIR/tests/fuzz/corpus/$t" </dev/null >out 2>err &&
		cat out err &&
		n=$(ls "$SRCDIR/tests/fuzz/corpus/$t" | wc -l) &&
		test_grep "replayed $n input(s)" out
	'
done

test_expect_success 'the replay driver fails when there is nothing to replay' '
	t=${targets%%[$IFS]*} &&
	mkdir empty &&
	test_must_fail "$FUZZ_BIN/fuzz-$t" empty 2>err &&
	test_grep "no input was replayed" err &&
	test_must_fail "$FUZZ_BIN/fuzz-$t" missing 2>err &&
	test_grep "missing" err
'

test_done
