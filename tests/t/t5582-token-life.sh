#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='short-lived tokens: refresh margin, one renewal for many processes, client credentials that renew themselves'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

# Tokens that live 8 seconds; 30 under valgrind, where 8 processes started
# together can outlive an 8-second token, and a second refresh is right.
TTL=8
test_have_prereq NOT_VALGRIND || TTL=30

forge_start
oauth_start --access-ttl $TTL
REPO=bbs::$FORGE_URL/team/repo.git

# refused: how many refresh requests the server refused (a reused refresh
# token revokes its grant).
refused() {
	grep -c "grant_type=refresh_token .*result=invalid_grant" "$OAUTH_DIR/oauth.log" || true
}

# parallel N CMD...: run CMD N times at once; every one must succeed.
parallel() {
	local n=$1 i
	shift
	for i in $(seq 1 "$n"); do
		("$@" >"p$i.out" 2>"p$i.err"; echo $? >"p$i.rc") &
	done
	wait
	cat p*.rc | sort -u >rcs &&
	echo 0 >expect &&
	{ test_cmp expect rcs || { cat p*.err; false; }; } &&
	rm -f p*.rc p*.out p*.err
}

# an immutable file makes a rename over it fail, even for root
touch immutable-probe &&
	chattr +i immutable-probe 2>/dev/null &&
	chattr -i immutable-probe &&
	test_set_prereq CHATTR

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure &&
	BROWSER=$BROWSER_STANDIN git bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err
'

test_expect_success 'short tokens: three commands inside the lifetime make at most one refresh' '
	BROWSER=$BROWSER_STANDIN git bbs login "$REPO" 2>/dev/null &&
	before=$(oauth_count refresh_token) &&
	for i in 1 2 3; do
		git ls-remote "$REPO" >out &&
		grep refs/heads/main out || return 1
	done &&
	test $(($(oauth_count refresh_token) - before)) -le 1
'

test_expect_success '8 processes after expiry: exactly one refresh' '
	git ls-remote "$REPO" >/dev/null &&
	expire &&
	before=$(oauth_count refresh_token) &&
	parallel 8 git ls-remote "$REPO" &&
	test $(($(oauth_count refresh_token) - before)) = 1
'

# It waits for the token to expire: not under valgrind.
test_expect_success NOT_VALGRIND '8 processes after the token has really expired: exactly one refresh' '
	git ls-remote "$REPO" >/dev/null &&
	exp=$(stored expires_at) &&
	while [ "$(date +%s)" -le "$exp" ]; do sleep 1; done &&
	before=$(oauth_count refresh_token) &&
	parallel 8 git ls-remote "$REPO" &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	test "$(stored expires_at)" -gt "$(date +%s)"
'

test_expect_success 'client credentials renew themselves: 6 processes, one token request' '
	git bbs logout "$REPO" 2>/dev/null &&
	secret=$(new_token) &&
	oauth_secret "$secret" &&
	test_when_finished "oauth_secret clear" &&
	BBS_CLIENT_SECRET=$secret git bbs login --flow client-credentials "$REPO" 2>err &&
	test -z "$(stored refresh_token)" &&
	at=$(stored access_token) &&
	expire &&
	before=$(oauth_count client_credentials) &&
	BBS_CLIENT_SECRET=$secret parallel 6 env -u BROWSER git ls-remote "$REPO" &&
	test $(($(oauth_count client_credentials) - before)) = 1 &&
	test "$(stored access_token)" != "$at" &&
	test "$(stored expires_at)" -gt "$(date +%s)"
'

test_expect_success 'client credentials without the secret: the reason and the fix' '
	expire &&
	test_must_fail env -u BROWSER -u BBS_CLIENT_SECRET git ls-remote "$REPO" 2>err &&
	grep "client-credentials token for .127.0.0.1. has expired and no client secret is configured" err &&
	grep "hint: sign in again with: git bbs login" err
'

# A save that keeps failing leaves the rotated grant in memory only.  A
# command that outlives its access token refreshes again: with that grant,
# not with the refresh token the server rotated away (which would revoke
# the grant at a server that detects reuse, and fail the command).
test_expect_success CHATTR,NOT_VALGRIND 'a save that keeps failing: a second refresh in the same command uses the rotated grant' '
	rm -f "$STORE" &&
	BROWSER=$BROWSER_STANDIN git bbs login "$REPO" 2>/dev/null &&
	git clone -q "$REPO" life &&
	commit_file life a.txt one &&
	git -C life push -q origin main &&
	expire &&
	rt=$(stored refresh_token) &&
	was_refused=$(refused) &&
	before=$(oauth_count refresh_token) &&
	chattr +i "$STORE" &&
	test_when_finished "chattr -i \"\$STORE\"; forge_fault clear" &&
	# the second request comes after the access token has expired
	forge_fault slow $TTL &&
	git clone -q "$REPO" life2 2>err &&
	grep "^warning: could not save the new tokens" err &&
	test_path_is_file life2/a.txt &&
	test $(($(oauth_count refresh_token) - before)) -ge 2 &&
	test "$(refused)" = "$was_refused" &&
	forge_fault clear &&
	chattr -i "$STORE" &&
	git ls-remote "$REPO" >out &&
	grep refs/heads/main out &&
	test "$(refused)" = "$was_refused"
'

test_done
