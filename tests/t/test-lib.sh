# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# test-lib.sh - a small framework for the shell tests in tests/t, modelled
# on git's t/test-lib.sh.  A test script looks like this:
#
#	#!/bin/bash
#	test_description='what this script covers'
#	. "$(dirname "$0")/test-lib.sh"
#
#	test_expect_success 'title' '
#		cmd1 &&
#		cmd2
#	'
#	test_done
#
# The script may be run from any directory, by hand or by automake's TAP
# driver.  Options:
#
#	-v, --verbose	show the output of the tests (on stderr)
#	-x		trace the tests with "set -x" (implies -v).  The trace
#			shows expanded commands and may therefore contain live
#			tokens: use it for debugging only, never in CI logs.
#	-i, --immediate	stop at the first failing test
#	-d, --debug	keep the trash directory even on success
#
# Standard output carries only TAP: "ok"/"not ok" lines, "#" comments and
# the plan.  Everything else written to standard output outside the tests
# goes to standard error instead.
#
# File descriptors: 7 is the TAP stream, 8 the original stderr, 3 and 4 the
# output of the running test.  A daemon started from a test must close them
# (cmd 3>&- 4>&- 7>&- 8>&- &), or a TAP harness waits for it to exit.
#
# Environment read: BBS_BUILD_DIR (else abs_top_builddir) locates the built
# programs; TMPDIR; BBS_TEST_* settings (e.g. BBS_TEST_REQUIRE_SERVERS) are
# kept, every other BBS_* variable is removed.

# ---------------------------------------------------------------------------
# Locations

TEST_DIRECTORY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P) || exit 1
SRCDIR=$(cd "$TEST_DIRECTORY/../.." && pwd -P) || exit 1
if [ -n "${BBS_BUILD_DIR:-}" ]; then
	BUILDDIR=$BBS_BUILD_DIR
elif [ -n "${abs_top_builddir:-}" ]; then
	BUILDDIR=$abs_top_builddir
else
	BUILDDIR=$SRCDIR
fi
BUILDDIR=$(cd "$BUILDDIR" && pwd -P) || exit 1
FORGE=$SRCDIR/tests/forge/forge.sh
this_test=$(basename "$0" .sh)
export TEST_DIRECTORY SRCDIR BUILDDIR FORGE

# ---------------------------------------------------------------------------
# Options

verbose=
trace=
immediate=
debug=
for opt in "$@"; do
	case $opt in
	-v | --verbose) verbose=t ;;
	-x) trace=t verbose=t ;;
	-i | --immediate) immediate=t ;;
	-d | --debug) debug=t ;;
	-h | --help)
		printf '# %s\n' "${test_description:-$this_test}"
		printf '# usage: %s [-v] [-x] [-i] [-d]\n' "$0"
		exit 0
		;;
	*)
		printf 'Bail out! unknown option %s\n' "$opt"
		exit 1
		;;
	esac
done

# fd 7: TAP output (the original standard output); fd 8: the original
# standard error.  Stray output of the script itself goes to stderr.
exec 7>&1 8>&2 1>&2

# ---------------------------------------------------------------------------
# Environment: nothing from the caller's git or bbs setup may leak in.

for var in $(compgen -e); do
	case $var in
	BBS_TEST_*) ;;
	BBS_* | GIT_TRACE* | GIT_SSL_* | GIT_CONFIG_KEY_* | GIT_CONFIG_VALUE_*)
		unset "$var"
		;;
	esac
done
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_COMMON_DIR GIT_NAMESPACE \
	GIT_CONFIG GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT GIT_CONFIG_GLOBAL \
	GIT_CONFIG_SYSTEM GIT_CURL_VERBOSE GIT_REDACT_COOKIES GIT_ASKPASS \
	SSH_ASKPASS GIT_EDITOR GIT_PAGER GIT_PROTOCOL GIT_PROTOCOL_FROM_USER \
	GIT_ALLOW_PROTOCOL GIT_HTTP_USER_AGENT GIT_HTTP_PROXY_AUTHMETHOD \
	GIT_TEMPLATE_DIR GIT_EXEC_PATH GIT_REFLOG_ACTION GIT_QUARANTINE_PATH \
	CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR \
	http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
	no_proxy NO_PROXY EMAIL VISUAL EDITOR PAGER
unset var

export LANG=C LC_ALL=C TZ=UTC
export GIT_CONFIG_NOSYSTEM=1
export GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME='A U Thor' GIT_AUTHOR_EMAIL=author@example.com
export GIT_COMMITTER_NAME='C O Mitter' GIT_COMMITTER_EMAIL=committer@example.com
export GIT_MERGE_VERBOSITY=5
export PATH="$BUILDDIR:$PATH"

# ---------------------------------------------------------------------------
# Trash directory

TRASH_DIRECTORY=$(mktemp -d "${TMPDIR:-/tmp}/bbs-test.$this_test.XXXX") || {
	printf 'Bail out! cannot create a trash directory\n' >&7
	exit 1
}
TRASH_DIRECTORY=$(cd "$TRASH_DIRECTORY" && pwd -P)
# Readable by the web server's user when the forge runs as root.
chmod 755 "$TRASH_DIRECTORY"
export TRASH_DIRECTORY
export HOME=$TRASH_DIRECTORY
export XDG_CONFIG_HOME=$TRASH_DIRECTORY/.config
export XDG_STATE_HOME=$TRASH_DIRECTORY/.local/state
export XDG_CACHE_HOME=$TRASH_DIRECTORY/.cache
export XDG_DATA_HOME=$TRASH_DIRECTORY/.local/share
# The sign-in hand-off sockets live here: one directory per script, so
# scripts running in parallel never share (or count) each other's sockets.
export XDG_RUNTIME_DIR=$TRASH_DIRECTORY/.run
unset XDG_CONFIG_DIRS XDG_DATA_DIRS
GIT_CEILING_DIRECTORIES=$(dirname "$TRASH_DIRECTORY")
export GIT_CEILING_DIRECTORIES
mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME"
mkdir -m 700 "$XDG_RUNTIME_DIR"
TEST_LOG=$TRASH_DIRECTORY/.test-log
: >"$TEST_LOG"
cd "$TRASH_DIRECTORY" || exit 1

# Tests write into the forge's repositories directly (hooks, file://
# pushes); those belong to the web server's user when run as root.
if ! git config --global init.defaultBranch main ||
	! git config --global advice.detachedHead false ||
	! git config --global safe.directory '*'; then
	printf 'Bail out! cannot write the global git configuration\n' >&7
	exit 1
fi

# ---------------------------------------------------------------------------
# State

test_count=0
test_success=0
test_failure=0
test_fixed=0
test_broken=0
test_skipped=0
test_running_=
test_done_called_=
test_atexit_list_=()
test_cleanup_list_=()
test_prereqs_=' '

# ---------------------------------------------------------------------------
# Internals

say_tap_() {
	printf '%s\n' "$*" >&7
}

# Print a file (or stdin) as TAP comment lines.
comment_() {
	sed -e 's/^/# /' "$@" >&7
}

# Run code in the current shell with its output going to fds 3 and 4.
test_eval_() {
	if [ -n "$trace" ]; then
		eval "set -x
$1"
	else
		eval "$1"
	fi
	{
		test_eval_ret_=$?
		set +x
	} 2>/dev/null
	return "$test_eval_ret_"
}

# Open fds 3 (stdout) and 4 (stderr) for a test body: a capture file, or
# the terminal's stderr in verbose mode.
test_open_output_() {
	test_output_=$TRASH_DIRECTORY/.test-output
	if [ -n "$verbose" ]; then
		exec 3>&8 4>&8
	else
		exec 3>"$test_output_" 4>&3
	fi
}

test_close_output_() {
	exec 3>&- 4>&-
	if [ -z "$verbose" ] && [ -f "$test_output_" ]; then
		{
			printf '=== %s %s: %s\n' "$this_test" "$test_count" "$1"
			cat "$test_output_"
		} >>"$TEST_LOG"
	fi
}

# test_run_ BODY: run BODY and the test_when_finished commands; return
# the overall status.
test_run_() {
	local dir=$PWD ret cleanup
	test_running_=t
	test_cleanup_list_=()
	test_eval_ "$1" </dev/null >&3 2>&4
	ret=$?
	for cleanup in "${test_cleanup_list_[@]}"; do
		if ! test_eval_ "$cleanup" </dev/null >&3 2>&4; then
			printf 'test_when_finished command failed: %s\n' "$cleanup" >&4
			[ "$ret" = 0 ] && ret=1
		fi
	done
	test_cleanup_list_=()
	test_running_=
	cd "$dir" || cd "$TRASH_DIRECTORY" || exit 1
	return "$ret"
}

test_failure_details_() {
	printf '%s\n' "$1" | sed -e 's/^/#\t/' >&7
	if [ -z "$verbose" ] && [ -s "$test_output_" ]; then
		say_tap_ '# output:'
		comment_ "$test_output_"
	fi
}

# Is every prerequisite in the comma-separated list satisfied?  Sets
# missing_prereq_ otherwise.
test_check_prereqs_() {
	local list=$1 p
	missing_prereq_=
	local IFS=,
	for p in $list; do
		case $p in
		!*)
			if test_have_prereq "${p#!}"; then
				missing_prereq_=${missing_prereq_:+$missing_prereq_,}$p
			fi
			;;
		*)
			if ! test_have_prereq "$p"; then
				missing_prereq_=${missing_prereq_:+$missing_prereq_,}$p
			fi
			;;
		esac
	done
	[ -z "$missing_prereq_" ]
}

bug_() {
	say_tap_ "Bail out! bug in the test script: $*"
	exit 1
}

# test_chain_lint_ BODY: is BODY one complete && chain?  A failing
# (exit 117) is put in front and the body run in a subshell: a complete
# chain stops at once with status 117; a break lets the commands after it
# run, and the status is theirs.  The trailing echo, inside the eval, also
# catches a here-document that swallows the rest of the body.  As in git,
# BBS_TEST_CHAIN_LINT=0 turns the check off.
test_chain_lint_() {
	local got
	[ "${BBS_TEST_CHAIN_LINT:-1}" != 0 ] || return 0
	got=$(exec 9>&1 >/dev/null 2>&1 </dev/null
		eval "(exit 117) && $1
echo OK-\$? >&9")
	[ "$got" = OK-117 ]
}

# test_expect_ success|failure [PREREQ] TITLE BODY
test_expect_() {
	local kind=$1 prereq='' title body
	shift
	case $# in
	2) ;;
	3)
		prereq=$1
		shift
		;;
	*) bug_ "test_expect_$kind needs 2 or 3 arguments, not $#" ;;
	esac
	[ -z "$test_running_" ] || bug_ "test_expect_$kind inside a test"
	title=$1
	body=$2
	test_count=$((test_count + 1))

	if [ -n "$prereq" ] && ! test_check_prereqs_ "$prereq"; then
		test_skipped=$((test_skipped + 1))
		say_tap_ "ok $test_count # skip $title (missing $missing_prereq_)"
		return 0
	fi

	test_chain_lint_ "$body" ||
		bug_ "broken &&-chain or run-away here-document in '$title'"

	test_open_output_
	if [ -n "$verbose" ]; then
		printf 'expecting %s: %s\n' "$kind" "$title" >&8
	fi
	test_run_ "$body"
	local ret=$?
	test_close_output_ "$title"

	case $kind,$ret in
	success,0)
		test_success=$((test_success + 1))
		say_tap_ "ok $test_count - $title"
		;;
	success,*)
		test_failure=$((test_failure + 1))
		say_tap_ "not ok $test_count - $title"
		test_failure_details_ "$body"
		if [ -n "$immediate" ]; then
			say_tap_ "# stopping at the first failure (-i)"
			test_done
		fi
		;;
	failure,0)
		test_fixed=$((test_fixed + 1))
		say_tap_ "ok $test_count - $title # TODO known breakage vanished"
		;;
	failure,*)
		test_broken=$((test_broken + 1))
		say_tap_ "not ok $test_count - $title # TODO known breakage"
		;;
	esac
	rm -f "$test_output_"
	return 0
}

test_run_atexit_() {
	local cmd list
	list=("${test_atexit_list_[@]}")
	test_atexit_list_=()
	for cmd in "${list[@]}"; do
		if [ -n "$verbose" ]; then
			test_eval_ "$cmd" </dev/null >&8 2>&8
		else
			test_eval_ "$cmd" </dev/null >>"$TEST_LOG" 2>&1
		fi
	done
}

test_exit_trap_() {
	local code=$?
	trap - EXIT
	test_run_atexit_
	if [ -z "$test_done_called_" ]; then
		say_tap_ "Bail out! unexpected exit with status $code"
		if [ -d "$TRASH_DIRECTORY" ]; then
			say_tap_ "# trash directory kept: $TRASH_DIRECTORY"
		fi
		[ "$code" = 0 ] && code=1
	fi
	exit "$code"
}

trap 'test_exit_trap_' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------------------
# Public interface

# test_expect_success [PREREQ] TITLE BODY
test_expect_success() {
	test_expect_ success "$@"
}

# test_expect_failure [PREREQ] TITLE BODY: a known breakage.
test_expect_failure() {
	test_expect_ failure "$@"
}

# test_when_finished CMD: run CMD after the current test, pass or fail.
# Commands run in reverse order of registration.
test_when_finished() {
	[ -n "$test_running_" ] || bug_ "test_when_finished outside a test"
	test_cleanup_list_=("$*" "${test_cleanup_list_[@]}")
}

# test_atexit CMD: run CMD when the script ends, whatever the reason
# (test_done, failure, signal).  Commands run in reverse order.
test_atexit() {
	test_atexit_list_=("$*" "${test_atexit_list_[@]}")
}

test_set_prereq() {
	case $test_prereqs_ in
	*" $1 "*) ;;
	*) test_prereqs_="$test_prereqs_$1 " ;;
	esac
}

test_have_prereq() {
	case $test_prereqs_ in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# test_must_fail CMD...: CMD must exit with a status from 1 to 128, other
# than 127 (command not found).  A death by signal is not a failure we
# expect.
test_must_fail() {
	"$@"
	local code=$?
	if [ "$code" = 0 ]; then
		printf 'test_must_fail: command succeeded: %s\n' "$1" >&2
		return 1
	elif [ "$code" = 127 ]; then
		printf 'test_must_fail: command not found: %s\n' "$1" >&2
		return 1
	elif [ "$code" -gt 128 ]; then
		printf 'test_must_fail: died of signal %s: %s\n' "$((code - 128))" "$1" >&2
		return 1
	fi
	return 0
}

# test_expect_code CODE CMD...: CMD exits with CODE.
test_expect_code() {
	local want=$1
	shift
	"$@"
	local got=$?
	if [ "$got" != "$want" ]; then
		printf 'expected exit code %s, got %s: %s\n' "$want" "$got" "$*" >&2
		return 1
	fi
}

# test_might_fail CMD...: like test_must_fail, but success is fine too.
test_might_fail() {
	"$@"
	local code=$?
	if [ "$code" = 127 ] || [ "$code" -gt 128 ]; then
		printf 'test_might_fail: %s exited with status %s\n' "$1" "$code" >&2
		return 1
	fi
	return 0
}

# test_cmp EXPECTED ACTUAL
test_cmp() {
	[ $# -eq 2 ] || bug_ "test_cmp needs 2 arguments"
	diff -u "$@"
}

# test_grep [!] [GREP-OPTION...] PATTERN FILE...: like grep, but a file
# that cannot be read is a failure in both senses (as in git, so a check
# that something is absent cannot pass because the log was never written),
# and a failed expectation says so.  With !, it names the files that match
# but never prints the pattern or the lines: they may be live secrets.
test_grep() {
	local invert= r
	if [ "${1:-}" = '!' ]; then
		invert=t
		shift
	fi
	[ $# -ge 2 ] || bug_ "test_grep needs a pattern and a file"
	local file=${!#}
	if [ ! -e "$file" ]; then
		printf 'test_grep: no such file: %s\n' "$file" >&2
		return 1
	fi
	if [ -z "$invert" ]; then
		grep "$@"
		r=$?
		[ "$r" = 0 ] && return 0
		[ "$r" = 1 ] && printf 'test_grep: no match for %s in %s\n' \
			"${*:1:$#-1}" "$file" >&2
		[ -f "$file" ] && sed -e 's/^/| /' "$file" >&2
	else
		grep "$@" >/dev/null
		r=$?
		[ "$r" = 1 ] && return 0
		[ "$r" = 0 ] && printf 'test_grep: unexpected match in: %s\n' \
			"$(grep -l "$@" 2>/dev/null | tr '\n' ' ')" >&2
	fi
	[ "$r" -gt 1 ] && printf 'test_grep: grep failed (status %s) on %s\n' \
		"$r" "$file" >&2
	return 1
}

test_path_is_file() {
	[ -f "$1" ] || { printf 'not a file: %s\n' "$1" >&2; return 1; }
}

test_path_is_dir() {
	[ -d "$1" ] || { printf 'not a directory: %s\n' "$1" >&2; return 1; }
}

test_path_is_missing() {
	[ ! -e "$1" ] || { printf 'path exists: %s\n' "$1" >&2; return 1; }
}

# test_must_be_empty FILE: FILE exists and is empty (else show it).
test_must_be_empty() {
	test_path_is_file "$1" || return 1
	if [ -s "$1" ]; then
		printf '%s is not empty, it contains:\n' "$1" >&2
		cat "$1" >&2
		return 1
	fi
}

# test_line_count OP N FILE, e.g. test_line_count = 3 out
test_line_count() {
	[ $# -eq 3 ] || bug_ "test_line_count needs 3 arguments"
	local n op=$1
	n=$(wc -l <"$3")
	if ! test "$n" "$op" "$2"; then
		printf 'test_line_count: %s has %s lines, expected %s %s\n' \
			"$3" "$n" "$1" "$2" >&2
		return 1
	fi
}

# test_tick: advance a fixed clock for commit dates.
test_tick() {
	if [ -z "${test_tick_:-}" ]; then
		test_tick_=1112911993
	else
		test_tick_=$((test_tick_ + 60))
	fi
	GIT_COMMITTER_DATE="$test_tick_ -0700"
	GIT_AUTHOR_DATE="$test_tick_ -0700"
	export GIT_COMMITTER_DATE GIT_AUTHOR_DATE
}

# say MESSAGE: a TAP comment.
say() {
	say_tap_ "# $*"
}

# error MESSAGE: abort the script.
error() {
	say_tap_ "Bail out! $*"
	exit 1
}

# test_done: print the plan and a summary, clean up, exit.
test_done() {
	test_done_called_=t
	if [ -n "${skip_all:-}" ] && [ "$test_count" = 0 ]; then
		say_tap_ "1..0 # SKIP $skip_all"
		test_run_atexit_
		cd / && rm -rf "$TRASH_DIRECTORY"
		exit 0
	fi
	if [ -n "${skip_all:-}" ]; then
		say_tap_ "# skipping the rest: $skip_all"
	fi
	[ "$test_fixed" = 0 ] ||
		say_tap_ "# $test_fixed known breakage(s) vanished; please update the test(s)"
	[ "$test_broken" = 0 ] ||
		say_tap_ "# still have $test_broken known breakage(s)"
	[ "$test_skipped" = 0 ] ||
		say_tap_ "# skipped $test_skipped test(s)"
	if [ "$test_failure" = 0 ]; then
		say_tap_ "# passed all $test_success test(s)"
	else
		say_tap_ "# failed $test_failure among $test_count test(s)"
	fi
	say_tap_ "1..$test_count"
	test_run_atexit_
	if [ "$test_failure" = 0 ] && [ -z "$debug" ]; then
		cd / && rm -rf "$TRASH_DIRECTORY"
		exit 0
	fi
	say_tap_ "# trash directory kept: $TRASH_DIRECTORY"
	[ "$test_failure" = 0 ]
	exit
}

# ---------------------------------------------------------------------------
# Version prerequisites, for what depends on the git installed:
#	GIT_2_40	git sends and keeps password_expiry_utc
#	GIT_2_46	git announces capability[]=authtype
#	LIBGIT2_1_9	the programs fetch shallow histories (libgit2 1.9+)
# A test that needs one names the version in its title; elsewhere it is
# skipped and shown as "ok N # skip TITLE (missing GIT_2_46)".

# version_at_least_ HAVE WANT: compare dotted version numbers.
version_at_least_() {
	local IFS=. i
	local -a have want
	read -r -a have <<<"$1"
	read -r -a want <<<"$2"
	for i in 0 1 2; do
		[ "${have[i]:-0}" -gt "${want[i]:-0}" ] && return 0
		[ "${have[i]:-0}" -lt "${want[i]:-0}" ] && return 1
	done
	return 0
}

test_git_version_=$(git version | sed -n 's/^git version \([0-9][0-9.]*[0-9]\).*/\1/p')
for v in 2.40 2.46; do
	if version_at_least_ "${test_git_version_:-0}" "$v"; then
		test_set_prereq "GIT_${v/./_}"
	fi
done
unset v
if grep -q '^#define HAVE_LIBGIT2_SHALLOW 1' \
	"${abs_top_builddir:-$BUILDDIR}/config.h" 2>/dev/null; then
	test_set_prereq LIBGIT2_1_9
fi
