#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='SIGINT, SIGTERM, SIGHUP and SIGQUIT during an ordinary refresh: a rotated refresh token that arrived is saved first'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

# git bbs with pause points (BBS_TEST_STOP_AT=<step> stops it there)
HOOKED=$(testhooks_program) || error "missing tests/git-bbs-testhooks: run the tests with make check"

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/repo.git

# refused: how many refresh requests the server refused (a reused refresh
# token revokes its grant, so a rotated token that was lost shows here).
refused() {
	grep -c "grant_type=refresh_token .*result=invalid_grant" "$OAUTH_DIR/oauth.log" || true
}

# hooked STEP: run "git bbs token" of the test build in the background,
# stopping itself at STEP, with SIGINT, SIGTERM, SIGHUP and SIGQUIT at
# their defaults (a shell starts background jobs with SIGINT and SIGQUIT
# ignored); pid in $pid.
hooked() {
	BBS_TEST_STOP_AT=$1 python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
signal.signal(signal.SIGHUP, signal.SIG_DFL)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])
' "$HOOKED" token "$REPO" >tok 2>err 3>&- 4>&- 7>&- 8>&- &
	pid=$!
}

# no_sign_in: a git command that must not need a sign-in
no_sign_in() {
	env -u BROWSER GIT_TERMINAL_PROMPT=0 "$@"
}

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure &&
	BROWSER=$BROWSER_STANDIN git clone -q "$REPO" work &&
	store_ok
'

# SIGHUP: the terminal or the ssh session closed; SIGQUIT: Ctrl-\
for sig in TERM INT HUP QUIT; do
	case $sig in
	TERM) status=143 ;; INT) status=130 ;; HUP) status=129 ;; QUIT) status=131 ;;
	esac

	test_expect_success "SIG$sig after the response: the new refresh token is saved, then the signal ends the process" '
		expire &&
		rt=$(stored refresh_token) &&
		hooked after-response &&
		wait_stopped $pid &&
		kill -$sig $pid &&
		kill -CONT $pid &&
		{ wait $pid; echo $? >rc; } &&
		echo $status >expect &&
		test_cmp expect rc &&
		test_must_be_empty tok &&
		store_ok &&
		test "$(stored refresh_token)" != "$rt" &&
		no_sign_in git -C work fetch -q origin &&
		test "$(refused)" = 0 &&
		expire &&
		no_sign_in git -C work fetch -q origin &&
		test "$(refused)" = 0
	'
done

# timing (NOT_VALGRIND): the answer (0.5 s) must come within the grace
# (1 s after the signal), which valgrind's slowness would spoil

test_expect_success NOT_VALGRIND 'SIGTERM while the request is in flight: an answer within a second is saved' '
	expire &&
	rt=$(stored refresh_token) &&
	oauth_fault slow 0.5 &&
	test_when_finished "oauth_fault clear" &&
	hooked before-request &&
	wait_stopped $pid &&
	kill -CONT $pid &&
	sleep 0.2 &&
	kill -TERM $pid &&
	{ wait $pid; echo $? >rc; } &&
	echo 143 >expect &&
	test_cmp expect rc &&
	store_ok &&
	test "$(stored refresh_token)" != "$rt" &&
	oauth_fault clear &&
	no_sign_in git -C work fetch -q origin &&
	test "$(refused)" = 0
'

test_expect_success 'SIGTERM while a slow request is in flight: it ends within a second or two, the store intact' '
	expire &&
	rt=$(stored refresh_token) &&
	oauth_fault slow 6 &&
	test_when_finished "oauth_fault clear" &&
	hooked before-request &&
	wait_stopped $pid &&
	kill -CONT $pid &&
	sleep 0.3 &&
	start=$(ms) &&
	kill -TERM $pid &&
	{ wait $pid; echo $? >rc; } &&
	took_less_than $start 2500 &&
	echo 143 >expect &&
	test_cmp expect rc &&
	store_ok &&
	test "$(stored refresh_token)" = "$rt" &&
	test_must_be_empty tok
'

test_expect_success 'a signal before the request is sent: nothing is sent, the grant is unchanged' '
	oauth_fault clear &&
	BROWSER=$BROWSER_STANDIN git bbs login "$REPO" 2>/dev/null &&
	expire &&
	rt=$(stored refresh_token) &&
	before=$(oauth_count refresh_token) &&
	hooked before-request &&
	wait_stopped $pid &&
	kill -TERM $pid &&
	kill -CONT $pid &&
	{ wait $pid; echo $? >rc; } &&
	echo 143 >expect &&
	test_cmp expect rc &&
	test $(oauth_count refresh_token) = $before &&
	test "$(stored refresh_token)" = "$rt" &&
	no_sign_in git -C work fetch -q origin &&
	test "$(stored refresh_token)" != "$rt"
'

test_done
