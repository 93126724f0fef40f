#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='a rotated refresh token survives a full disk and SIGKILL at every step of a refresh'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

# git bbs with pause points (BBS_TEST_STOP_AT=<step> stops it there)
# (built by make check in the build tree, also when BBS_BUILD_DIR points
# at wrappers of the programs)
HOOKED=$(testhooks_program) || error "missing tests/git-bbs-testhooks: run the tests with make check"

oauth_start
URL=bbs::http://127.0.0.1:9/team/repo.git
export BROWSER=$BROWSER_STANDIN
SDIR=$XDG_STATE_HOME/git-remote-bbs

# refused: how many refresh requests the server refused (a reused refresh
# token revokes its grant).
refused() {
	grep -c "grant_type=refresh_token .*result=invalid_grant" "$OAUTH_DIR/oauth.log"
}

# stop_at STEP: start a refresh that stops itself at STEP, wait until it is
# stopped, and kill it with SIGKILL.
stop_at() {
	BBS_TEST_STOP_AT=$1 "$HOOKED" token "$URL" >/dev/null 2>&1 3>&- 4>&- 7>&- 8>&- &
	pid=$! &&
	wait_stopped $pid &&
	kill -9 $pid &&
	{ wait $pid; true; }
}

# an immutable file makes a rename over it fail, even for root
touch immutable-probe &&
	chattr +i immutable-probe 2>/dev/null &&
	chattr -i immutable-probe &&
	test_set_prereq CHATTR

test_expect_success 'set up' '
	git config --global bbs.http://127.0.0.1:9.issuer "$OAUTH_URL" &&
	git config --global bbs.clientId bbs-test-client &&
	git config --global bbs.scopes git:write &&
	git bbs login "$URL" 2>err &&
	store_ok
'

# valgrind writes its own log, which the file-size limit kills:
# NOT_VALGRIND.

test_expect_success NOT_VALGRIND 'no room for the store: the refresh is not attempted, nothing is lost' '
	expire &&
	rt=$(stored refresh_token) &&
	before=$(oauth_count refresh_token) &&
	# output through a pipe: the limit applies to files only
	(ulimit -f 0 && git bbs token "$URL" 2>&1; echo "exit $?") | cat >out &&
	grep "^fatal: cannot reserve room for the token store" out &&
	grep "^hint: the stored grant is unchanged and still good" out &&
	grep "^exit 128$" out &&
	test $(oauth_count refresh_token) = $before &&
	test "$(stored refresh_token)" = "$rt" &&
	store_ok &&
	git bbs token "$URL" >tok &&
	test -s tok &&
	test "$(refused)" = 0 &&
	test "$(stored refresh_token)" != "$rt"
'

test_expect_success NOT_VALGRIND 'no room for the store: git bbs import does not use the refresh token' '
	rt=$(stored refresh_token) &&
	before=$(oauth_count refresh_token) &&
	printf "%s\n" "$rt" |
	(ulimit -f 0 && git bbs import "$URL" 2>&1; echo "exit $?") | cat >out &&
	grep "^fatal: cannot reserve room for the token store" out &&
	grep "^exit 128$" out &&
	test $(oauth_count refresh_token) = $before &&
	test "$(stored refresh_token)" = "$rt" &&
	store_ok &&
	printf "%s\n" "$rt" | git bbs import "$URL" 2>err &&
	grep "^Imported: signed in to 127.0.0.1 as " err &&
	test "$(stored refresh_token)" != "$rt" &&
	test $(($(oauth_count refresh_token) - before)) = 1
'

test_expect_success 'SIGKILL before the request: the old grant, still good' '
	expire &&
	rt=$(stored refresh_token) &&
	stop_at before-request &&
	test "$(stored refresh_token)" = "$rt" &&
	store_ok &&
	git bbs token "$URL" >tok &&
	test "$(refused)" = 0 &&
	# the reservation of the killed process is gone
	! ls -A "$SDIR" | grep "^\.tokens\.json\."
'

# killed_write_adopted STEP: a refresh killed at STEP, after its new grant
# was written to a temporary file: the next command adopts that grant,
# complete (no NUL byte left of the reservation), and nothing is refused.
killed_write_adopted() {
	expire &&
	rt=$(stored refresh_token) &&
	stop_at "$1" &&
	ls -A "$SDIR" | grep "^\.tokens\.json\." &&
	git bbs token "$URL" >tok &&
	store_ok &&
	test "$(stored refresh_token)" != "$rt" &&
	test "$(refused)" = 0 &&
	test "$(wc -c <"$STORE")" = "$(tr -d "\000" <"$STORE" | wc -c)" &&
	! ls -A "$SDIR" | grep "^\.tokens\.json\." &&
	expire &&
	git bbs token "$URL" >tok &&
	test "$(refused)" = 0
}

test_expect_success 'SIGKILL between write and rename: the new grant is adopted' '
	killed_write_adopted before-rename
'

test_expect_success 'SIGKILL between write and truncate: the new grant is adopted, without the reservation'"'"'s tail' '
	killed_write_adopted before-truncate
'

test_expect_success 'SIGKILL after the rename: the new grant' '
	expire &&
	rt=$(stored refresh_token) &&
	stop_at after-rename &&
	store_ok &&
	test "$(stored refresh_token)" != "$rt" &&
	git bbs token "$URL" >tok &&
	test "$(refused)" = 0 &&
	! ls -A "$SDIR" | grep "^\.tokens\.json\."
'

test_expect_success CHATTR 'a save that keeps failing after the rotation: the new token is used, the next command adopts it' '
	expire &&
	rt=$(stored refresh_token) &&
	at=$(stored access_token) &&
	{ BBS_TEST_STOP_AT=after-response "$HOOKED" token "$URL" >tok 2>err 3>&- 4>&- 7>&- 8>&- & } &&
	pid=$! &&
	wait_stopped $pid &&
	chattr +i "$STORE" &&
	test_when_finished "chattr -i \"\$STORE\"" &&
	kill -CONT $pid &&
	wait $pid &&
	grep "^warning: could not save the new tokens for .127.0.0.1.: cannot replace" err &&
	test -s tok &&
	test "$(cat tok)" != "$at" &&
	chattr -i "$STORE" &&
	test "$(stored refresh_token)" = "$rt" &&
	ls -A "$SDIR" | grep "^\.tokens\.json\." &&
	git bbs token "$URL" >tok2 &&
	test_cmp tok tok2 &&
	test "$(stored refresh_token)" != "$rt" &&
	! ls -A "$SDIR" | grep "^\.tokens\.json\." &&
	expire &&
	git bbs token "$URL" >tok &&
	test "$(refused)" = 0
'

test_expect_success 'a directory sync that fails after the rename: a warning, the new grant kept and used' '
	expire &&
	rt=$(stored refresh_token) &&
	at=$(stored access_token) &&
	BBS_TEST_FAIL_AT=fsync-dir "$HOOKED" token "$URL" >tok 2>err 3>&- 4>&- 7>&- 8>&- &&
	grep "^warning: could not save the new tokens for .127.0.0.1.: cannot make the new token store in .* durable: Input/output error" err &&
	test -s tok &&
	test "$(cat tok)" != "$at" &&
	store_ok &&
	test "$(stored refresh_token)" != "$rt" &&
	! ls -A "$SDIR" | grep "^\.tokens\.json\." &&
	git bbs token "$URL" >tok2 &&
	test_cmp tok tok2 &&
	expire &&
	git bbs token "$URL" >tok &&
	test "$(refused)" = 0
'

# The one window rotation cannot close: the server has rotated, and the
# answer never reaches the disk.  The store still holds the old grant,
# intact; the server refuses it; the message says how to sign in again.
test_expect_success 'SIGKILL after the response: the old grant, intact, and a clear refusal' '
	expire &&
	rt=$(stored refresh_token) &&
	stop_at after-response &&
	store_ok &&
	test "$(stored refresh_token)" = "$rt" &&
	test_must_fail git bbs token "$URL" >tok 2>err &&
	grep "^hint: sign in again with: git bbs login" err &&
	git bbs login "$URL" 2>err &&
	git bbs token "$URL" >tok &&
	store_ok
'

# hang_listener PORT: a server on 127.0.0.1:PORT that takes every
# connection, says so in hang.log, and never answers; its pid in hang.pid.
# Returns once it listens.
hang_listener() {
	python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
with open("hang.log", "a") as f:
    f.write("listening\n")
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    with open("hang.log", "a") as f:
        f.write("accepted\n")
' "$1" &
	echo $! >hang.pid &&
	wait_for_text hang.log listening 100
}

# git bbs import asks the server who signed in with the new access token;
# the rotated grant is saved before that token is used (as account-1 until
# the server has named the account), so a process killed while it waits
# for the answer loses nothing.
test_expect_success 'SIGKILL while git bbs import asks who signed in: the rotated grant is kept' '
	port=$(free_port) &&
	rm -f hang.log &&
	hang_listener $port &&
	test_when_finished "kill \$(cat hang.pid); git config --global --unset bbs.http://127.0.0.1:9.userinfoUrl; true" &&
	git config --global bbs.http://127.0.0.1:9.userinfoUrl "http://127.0.0.1:$port/user" &&
	rt=$(stored refresh_token) &&
	was_refused=$(refused) &&
	# the program itself, not git: SIGKILL of git would leave it running
	{ printf "%s\n" "$rt" | "$HOOKED" import "$URL" >/dev/null 2>&1 3>&- 4>&- 7>&- 8>&- &
	  pid=$!; } &&
	wait_for_text hang.log accepted 100 &&
	kill -9 $pid &&
	{ wait $pid; true; } &&
	python3 -c "import json,sys; print(\" \".join(g[\"account\"] for g in json.load(open(sys.argv[1]))[\"grants\"]))" "$STORE" >accounts &&
	echo "alice account-1" >expect &&
	test_cmp expect accounts &&
	expire &&
	git bbs token bbs::http://account-1@127.0.0.1:9/team/repo.git >tok &&
	test -s tok &&
	test "$(refused)" = "$was_refused" &&
	git bbs logout bbs::http://alice@127.0.0.1:9/team/repo.git 2>err &&
	grep "^Signed out of 127.0.0.1 (alice)" err
'

test_done
