#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='configured redirect URIs: port-less loopback, [::1], a port, hosts parsed whole'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/repo.git
export BROWSER=$BROWSER_STANDIN
python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
	2>/dev/null && test_set_prereq IPV6

# login_with URI: sign in with bbs.<url>.redirectUri=URI (bounded wait).
login_with() {
	git config --global "bbs.$FORGE_URL.redirectUri" "$1" &&
	git -c bbs.loginTimeout=20 bbs login "$REPO" 2>err
}

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure
'

test_expect_success 'a port-less loopback URI gets an ephemeral port, its path kept' '
	login_with http://127.0.0.1/callback &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "redirect_uri=http%3A%2F%2F127.0.0.1%3A[0-9][0-9]*%2Fcallback&" err &&
	git ls-remote "$REPO" >out &&
	grep refs/heads/main out
'

test_expect_success IPV6 'http://[::1]/callback: listened on and used' '
	login_with "http://[::1]/callback" &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "redirect_uri=http%3A%2F%2F%5B%3A%3A1%5D%3A[0-9][0-9]*%2Fcallback&" err
'

test_expect_success 'a loopback URI with a port: that port' '
	port=$(free_port) &&
	login_with "http://127.0.0.1:$port/callback" &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "redirect_uri=http%3A%2F%2F127.0.0.1%3A$port%2Fcallback&" err
'

test_expect_success 'a host that only starts like a loopback address is refused at once' '
	start=$(ms) &&
	test_must_fail login_with http://127.0.0.1.evil.example/callback &&
	took_less_than $start 5000 &&
	grep "unusable redirect URI .http://127.0.0.1.evil.example/callback.: http redirects must go to 127.0.0.1, \[::1\] or localhost" err &&
	test_must_fail login_with http://localhost.evil.example/ &&
	grep "unusable redirect URI" err &&
	test_must_fail login_with "http://[::1].evil.example/" &&
	grep "unusable redirect URI" err &&
	test_must_fail login_with https://127.0.0.1/callback &&
	grep "an https address cannot reach this program" err &&
	test_must_fail login_with http://127.0.0.1:99999/ &&
	grep "unusable redirect URI .http://127.0.0.1:99999/.: malformed port in URL" err &&
	test_must_fail login_with http://127.0.0.1@192.0.2.2/callback &&
	grep "unusable redirect URI .http://127.0.0.1@192.0.2.2/callback.: it has user information" err &&
	test_must_fail login_with "http://127.0.0.1/callback#x" &&
	grep "unusable redirect URI .http://127.0.0.1/callback#x.: it has a fragment" err &&
	test_must_fail login_with "http://127.0.0.1/call back" &&
	grep "unusable redirect URI .http://127.0.0.1/call back.: URL contains a space or control character" err &&
	test_must_fail login_with "http://127.0.0.1/$(printf "\033")[2J" &&
	grep "unusable redirect URI .http://127.0.0.1/^\[\[2J.: URL contains a space or control character" err &&
	! grep "$(printf "\033")" err
'

test_expect_success 'localhost works too (not recommended)' '
	login_with http://localhost/callback &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "redirect_uri=http%3A%2F%2Flocalhost%3A[0-9][0-9]*%2Fcallback&" err
'

test_done
