#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='the token store under concurrent use: no lost update, one interface for every command'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

# Two authorization servers, each with its own grant: "git bbs token" needs
# no git server, so the remote URLs name ports where nothing listens.
oauth_start
OA_DIR=$OAUTH_DIR
oauth_start_dir "$TRASH_DIRECTORY/oauth2" || error "cannot start a second OAuth server"
OB_DIR=$TRASH_DIRECTORY/oauth2
OB_URL=$(cat "$OB_DIR/url")
URL_A=bbs::http://127.0.0.1:9/team/a.git
URL_B=bbs::http://localhost:9/team/b.git
export BROWSER=$BROWSER_STANDIN

# grant_field ISSUER FIELD: FIELD of the stored grant of that server.
grant_field() {
	python3 -c '
import json, sys
for g in json.load(open(sys.argv[1]))["grants"]:
    if g["key"].split(" ")[0] == sys.argv[2]:
        print(g.get(sys.argv[3], ""))
' "$STORE" "$1" "$2"
}

# refused DIR: how many refresh requests the server in DIR refused (a
# reused refresh token revokes its grant).
refused() {
	grep -c "grant_type=refresh_token .*result=invalid_grant" "$1/oauth.log"
}

test_expect_success 'set up: one grant at each of two servers' '
	git config --global bbs.http://127.0.0.1:9.issuer "$OAUTH_URL" &&
	git config --global bbs.http://localhost:9.issuer "$OB_URL" &&
	git config --global bbs.clientId bbs-test-client &&
	git config --global bbs.scopes git:write &&
	git bbs login "$URL_A" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	git bbs login "$URL_B" 2>err &&
	grep "Signed in to localhost as alice" err &&
	test -n "$(grant_field "$OAUTH_URL" refresh_token)" &&
	test -n "$(grant_field "$OB_URL" refresh_token)"
'

test_expect_success 'two processes refreshing two grants at once: both rotations kept' '
	expire &&
	ra=$(grant_field "$OAUTH_URL" refresh_token) &&
	rb=$(grant_field "$OB_URL" refresh_token) &&
	oauth_fault slow 2 &&
	OAUTH_DIR=$OB_DIR oauth_fault slow 2 &&
	test_when_finished "oauth_fault clear; OAUTH_DIR=$OB_DIR oauth_fault clear" &&
	{ git bbs token "$URL_A" >tok.a 2>err.a & } &&
	sleep 1 &&
	git bbs token "$URL_B" >tok.b 2>err.b &&
	wait &&
	test -s tok.a &&
	test -s tok.b &&
	oauth_fault clear &&
	OAUTH_DIR=$OB_DIR oauth_fault clear &&
	# the store holds both rotated refresh tokens
	test "$(grant_field "$OAUTH_URL" refresh_token)" != "$ra" &&
	test "$(grant_field "$OB_URL" refresh_token)" != "$rb" &&
	# and both grants still refresh: no server saw a reused token
	expire &&
	git bbs token "$URL_A" >tok.a2 &&
	git bbs token "$URL_B" >tok.b2 &&
	test "$(refused "$OA_DIR")" = 0 &&
	test "$(refused "$OB_DIR")" = 0
'

test_expect_success 'logout without a URL waits for the store lock' '
	test -n "$(grant_field "$OAUTH_URL" access_token)" &&
	{ flock "$XDG_STATE_HOME/git-remote-bbs/lock" sleep 2 & } &&
	sleep 0.5 &&
	start=$(ms) &&
	git bbs logout 2>err &&
	# it waited for the holder (slower runs only wait longer)
	test $(($(ms) - start)) -ge 1000 &&
	wait &&
	grep "Forgot 2 sign-ins" err &&
	git bbs status >status &&
	grep "^Not signed in.$" status
'

test_expect_success 'credential-helper store: status and logout without a URL see every grant' '
	git config --global bbs.tokenStore credential-helper &&
	git config --global credential.helper "store --file=$PWD/creds" &&
	test_when_finished "git config --global --unset bbs.tokenStore" &&
	git bbs login "$URL_A" 2>err &&
	git bbs login "$URL_B" 2>err &&
	git bbs status >status &&
	grep "^$OAUTH_URL bbs-test-client$" status &&
	grep "^$OB_URL bbs-test-client$" status &&
	test $(grep -c "account: alice" status) = 2 &&
	git bbs logout 2>err &&
	grep "Forgot 2 sign-ins" err &&
	! grep "path=grant\|/grant" creds &&
	! grep "^bbs://alice" creds &&
	git bbs status >status &&
	grep "^Not signed in.$" status &&
	test_must_fail git bbs token "$URL_A" 2>err &&
	grep "not signed in" err
'

test_done
