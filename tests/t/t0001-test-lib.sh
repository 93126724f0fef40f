#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016
test_description='the test framework itself: chain-lint, test_grep, the runtime directory'

. "$(dirname "$0")/test-lib.sh"

# run_sub NAME BODY: run a one-test script with BODY; its TAP goes to
# NAME.out, its stderr to NAME.err, its status to NAME.rc.
run_sub() {
	cat >"$1.sh" <<-EOF &&
	#!/bin/bash
	test_description='inner'
	. "$TEST_DIRECTORY/test-lib.sh"
	test_expect_success 'inner test' '
	$2
	'
	test_done
	EOF
	{
		TMPDIR=$TRASH_DIRECTORY bash "$1.sh" >"$1.out" 2>"$1.err"
		echo $? >"$1.rc"
	}
}

test_expect_success 'a complete && chain passes chain-lint and runs' '
	run_sub good "echo one >one.out &&
	test -s one.out" &&
	test "$(cat good.rc)" = 0 &&
	test_grep "^ok 1 - inner test" good.out
'

test_expect_success 'chain-lint fails a body with a broken && chain' '
	run_sub broken "false
	true" &&
	test "$(cat broken.rc)" != 0 &&
	test_grep "Bail out! bug in the test script: broken &&-chain" broken.out &&
	test_grep ! "^ok 1" broken.out
'

test_expect_success 'chain-lint catches a here-document that is never closed' '
	run_sub heredoc "cat >x <<-\\EOT &&
	text
	true" &&
	test "$(cat heredoc.rc)" != 0 &&
	test_grep "broken &&-chain or run-away here-document" heredoc.out
'

test_expect_success 'BBS_TEST_CHAIN_LINT=0 turns the check off' '
	BBS_TEST_CHAIN_LINT=0 run_sub nolint "false
	true" &&
	test "$(cat nolint.rc)" = 0 &&
	test_grep "^ok 1 - inner test" nolint.out
'

test_expect_success 'test_grep refuses a missing file, with or without !' '
	echo present >file &&
	test_grep present file &&
	test_must_fail test_grep absent file 2>err &&
	test_must_fail test_grep ! present file 2>err &&
	test_grep ! absent file &&
	test_must_fail test_grep present missing-file 2>err &&
	test_grep "no such file: missing-file" err &&
	test_must_fail test_grep ! anything missing-file 2>err &&
	test_grep "no such file: missing-file" err
'

test_expect_success 'test_grep ! fails on any unreadable file and hides the match' '
	echo secret-value >log &&
	echo clean >other &&
	test_must_fail test_grep ! -F nothing log missing-file other 2>err &&
	test_grep "status 2" err &&
	test_must_fail test_grep ! -F secret-value other log 2>err &&
	test_grep "unexpected match in: log" err &&
	test_grep ! -F secret-value err
'

test_expect_success 'XDG_RUNTIME_DIR is private and inside the trash directory' '
	case $XDG_RUNTIME_DIR in
	"$TRASH_DIRECTORY"/*) ;;
	*) false ;;
	esac &&
	test_path_is_dir "$XDG_RUNTIME_DIR" &&
	test "$(stat -c %a "$XDG_RUNTIME_DIR")" = 700
'

test_done
