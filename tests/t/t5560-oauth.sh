#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='sign in with OAuth 2.0, then clone and push with the stored tokens'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/repo.git
export BROWSER=$BROWSER_STANDIN

# stored FIELD: a field of the (single) stored grant

test_expect_success 'set up the provider configuration' '
	forge_create_repo team/repo.git &&
	oauth_configure
'

test_expect_success 'without a sign-in the helper says which login to run' '
	test_must_fail env -u BROWSER git clone "$REPO" c0 2>err &&
	grep "not signed in" err &&
	grep "hint: sign in with: git bbs login $FORGE_URL/team/repo.git" err &&
	test_path_is_missing c0
'

test_expect_success 'browser sign-in through the loopback listener' '
	BBS_TEST_BROWSER_LOG=$PWD/browser.log git bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	authz=$(oauth_endpoint authorization_endpoint) &&
	grep "^opened $authz$" browser.log &&
	grep "$authz?response_type=code" err &&
	test "$(stat -c %a "$STORE")" = 600 &&
	test "$(stat -c %a "$(dirname "$STORE")")" = 700 &&
	test "$(stored account)" = alice &&
	grep "code_challenge_method=S256" err
'

test_expect_success 'clone and push with the stored token' '
	git clone -q "$REPO" work &&
	commit_file work a.txt one &&
	git -C work push -q origin main &&
	test "$(server_git team/repo.git rev-parse main)" = "$(git -C work rev-parse main)"
'

test_expect_success 'status shows the grant and no secret' '
	git bbs status "$REPO" >out &&
	grep "account: alice" out &&
	grep "scopes: git:write" out &&
	grep "refresh token: kept" out &&
	grep "access token: valid until" out &&
	test_grep ! -F -e "$(stored access_token)" out &&
	test_grep ! -F -e "$(stored refresh_token)" out
'

test_expect_success 'token prints a valid access token' '
	git bbs token "$REPO" >tok &&
	test "$(cat tok)" = "$(stored access_token)"
'

test_expect_success 'an expired access token is refreshed once, rotated and saved' '
	expire &&
	old_rt=$(stored refresh_token) &&
	before=$(oauth_count refresh_token) &&
	git -C work fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	test "$(stored refresh_token)" != "$old_rt" &&
	test "$(stored expires_at)" -gt "$(date +%s)" &&
	commit_file work b.txt two &&
	git -C work push -q origin main &&
	git -C work fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) = 1
'

test_expect_success PYSERVER 'a faulty token endpoint leaves the stored tokens intact' '
	expire &&
	cp "$STORE" store.before &&
	for fault in "status 500" truncated malformed oversized; do
		oauth_fault $fault &&
		test_must_fail git -C work fetch origin 2>err &&
		cat err &&
		test_line_count -le 3 err &&
		cmp "$STORE" store.before || return 1
	done &&
	grep -i "malformed\|oversized\|HTTP 500" err &&
	oauth_fault clear &&
	git -C work fetch -q origin
'

test_expect_success 'reusing a rotated-away refresh token revokes the grant: sign in again' '
	cp "$STORE" store.current &&
	expire &&
	git -C work fetch -q origin &&
	cp store.current "$STORE" &&
	expire &&
	test_must_fail env -u BROWSER git -C work fetch origin 2>err &&
	grep "the sign-in has expired or was revoked (invalid_grant), and no browser" err &&
	! grep "not signed in" err &&
	grep "hint: sign in again with: git bbs login $FORGE_URL/team/repo.git" err
'

test_expect_success 'sign in again, then log out: revoked at the server and forgotten' '
	git bbs login "$REPO" 2>err &&
	at=$(stored access_token) &&
	git bbs logout "$REPO" 2>err &&
	grep "Revoked the tokens at the server" err &&
	grep "Signed out of 127.0.0.1 (alice)" err &&
	revoke=$(oauth_endpoint revocation_endpoint) &&
	grep "POST /${revoke#*://*/} " "$(oauth_log)" &&
	test_must_fail git -c http.extraHeader="Authorization: Bearer $at" \
		ls-remote "$FORGE_URL/team/repo.git" 2>/dev/null &&
	git bbs status "$REPO" >out &&
	grep "Not signed in" out
'

test_expect_success 'logout revokes each copy of a grant a hand-edited store repeats' '
	git bbs login "$REPO" 2>err &&
	cp "$STORE" first.json &&
	at1=$(stored access_token) &&
	git bbs login "$REPO" 2>err &&
	at2=$(stored access_token) &&
	test "$at1" != "$at2" &&
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d[\"grants\"]+=json.load(open(sys.argv[2]))[\"grants\"]; json.dump(d,open(sys.argv[1],\"w\"))" "$STORE" first.json &&
	chmod 600 "$STORE" &&
	git -c http.extraHeader="Authorization: Bearer $at1" \
		ls-remote "$FORGE_URL/team/repo.git" >/dev/null &&
	git bbs logout "$REPO" 2>err &&
	grep "Revoked the tokens at the server" err &&
	for at in "$at1" "$at2"
	do
		test_must_fail git -c http.extraHeader="Authorization: Bearer $at" \
			ls-remote "$FORGE_URL/team/repo.git" 2>/dev/null || return 1
	done &&
	git bbs status "$REPO" >out &&
	grep "Not signed in" out
'

test_expect_success 'logout with the server down still forgets, and says so' '
	git bbs login "$REPO" 2>err &&
	oauth_stop &&
	git bbs logout "$REPO" 2>err &&
	grep "warning: the server did not revoke" err &&
	git bbs status "$REPO" >out &&
	grep "Not signed in" out &&
	oauth_start &&
	git config --global "bbs.$FORGE_URL.issuer" "$OAUTH_URL"
'

test_expect_success PYSERVER 'a response with the wrong state is refused; the wait is bounded' '
	oauth_fault wrong-state &&
	test_when_finished "oauth_fault clear" &&
	start=$(date +%s) &&
	test_must_fail git -c bbs.loginTimeout=3 bbs login "$REPO" 2>err &&
	grep "no sign-in response arrived in time" err &&
	test $(($(date +%s) - start)) -lt 20 &&
	{ test_path_is_missing "$STORE" || test_grep ! access_token "$STORE"; }
'

test_expect_success PYSERVER 'a response from the wrong issuer ends the sign-in' '
	oauth_fault wrong-iss &&
	test_when_finished "oauth_fault clear" &&
	test_must_fail git bbs login "$REPO" 2>err &&
	grep "another issuer" err
'

test_expect_success 'private-use URI scheme: the callback hands the response over' '
	git config --global "bbs.$FORGE_URL.redirectUri" "org.git-remote-bbs:/callback" &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.redirectUri" &&
	git bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "redirect_uri=org.git-remote-bbs%3A%2Fcallback" err &&
	git -C work fetch -q origin
'

test_expect_success 'Ctrl-C during the wait: the sign-in stops and cleans up' '
	git config --global "bbs.$FORGE_URL.redirectUri" "org.git-remote-bbs:/callback" &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.redirectUri" &&
	mkdir -m 700 run &&
	(XDG_RUNTIME_DIR=$PWD/run BROWSER=true git bbs login "$REPO" 2>int.err &
	 echo $! >int.pid) &&
	wait_for_text int.err "Waiting up to" 300 &&
	ls "$PWD"/run/git-remote-bbs/cb-* >sockets &&
	test_line_count = 1 sockets &&
	kill -INT $(cat int.pid) &&
	wait_for_exit int.pid 100 &&
	# git may exit before git-bbs has finished (slow under valgrind)
	wait_for_text int.err "sign-in interrupted" 100 &&
	wait_for_missing "$(cat sockets)" 100
'

test_expect_success 'git bbs callback with nobody waiting fails clearly' '
	test_must_fail git bbs callback "org.git-remote-bbs:/callback?code=x&state=nobody" 2>err &&
	grep "no sign-in is waiting" err
'

test_expect_success 'device flow: code on stderr, approved elsewhere' '
	git bbs logout "$REPO" 2>/dev/null &&
	(env -u BROWSER git bbs login --flow device "$REPO" 2>device.err &
	 echo $! >device.pid) &&
	oauth_device_approve device.err &&
	wait_for_exit device.pid 200 &&
	grep "Signed in to 127.0.0.1 as alice" device.err &&
	git -C work fetch -q origin
'

test_expect_success 'client credentials with the secret from the environment' '
	git bbs logout "$REPO" 2>/dev/null &&
	secret=$(new_token) &&
	oauth_secret "$secret" &&
	test_when_finished "oauth_secret clear" &&
	BBS_CLIENT_SECRET=$secret git bbs login --flow client-credentials "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1" err &&
	test -z "$(stored refresh_token)" &&
	git -C work fetch -q origin
'

# fake_proxy: a proxy that records every connection (and the first bytes
# of each) in proxy.log and answers 502; its URL in $PROXY, its pid in
# proxy.pid.
fake_proxy() {
	rm -f proxy.log proxy.port &&
	{ python3 -c '
import os, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open("proxy.port.tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename("proxy.port.tmp", "proxy.port")
while True:
    c, _ = s.accept()
    c.settimeout(2)
    try:
        data = c.recv(4096)
    except OSError:
        data = b""
    with open("proxy.log", "ab") as f:
        f.write(b"connection: " + data.split(b"\r\n")[0] + b"\n")
    try:
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
    except OSError:
        pass
    c.close()
' >/dev/null 2>&1 & } &&
	echo $! >proxy.pid &&
	wait_for_text proxy.port "[0-9]" 100 &&
	PROXY=http://127.0.0.1:$(cat proxy.port)
}

test_expect_success 'no request to a loopback host goes through a proxy' '
	git bbs logout "$REPO" 2>/dev/null &&
	fake_proxy &&
	test_when_finished "kill \$(cat proxy.pid)" &&
	secret=$(new_token) &&
	oauth_secret "$secret" &&
	test_when_finished "oauth_secret clear" &&
	BBS_CLIENT_SECRET=$secret http_proxy=$PROXY HTTP_PROXY=$PROXY \
		https_proxy=$PROXY all_proxy=$PROXY git -c http.proxy=$PROXY \
		bbs login --flow client-credentials "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1" err &&
	http_proxy=$PROXY all_proxy=$PROXY git -c http.proxy=$PROXY \
		-C work fetch -q origin &&
	test_path_is_missing proxy.log
'

test_expect_success 'import a refresh token from stdin' '
	git bbs logout "$REPO" 2>/dev/null &&
	git bbs login "$REPO" 2>/dev/null &&
	rt=$(stored refresh_token) &&
	rm -f "$STORE" &&
	printf "%s\n" "$rt" | git bbs import "$REPO" 2>err &&
	grep "Imported: signed in" err &&
	git -C work fetch -q origin &&
	echo bogus | test_must_fail git bbs import "$REPO" 2>err &&
	grep "refused that refresh token" err
'

test_expect_success 'logout without a URL forgets every sign-in' '
	git bbs status >before &&
	grep "account: alice" before &&
	git bbs logout 2>err &&
	grep "Forgot 1 sign-in. They were not revoked" err &&
	git bbs status >after &&
	grep "Not signed in" after &&
	git bbs login "$REPO" 2>/dev/null
'

test_expect_success 'no token, code or verifier in traces, config or argv' '
	GIT_TRACE_BBS=$PWD/trace git -C work fetch -q origin &&
	at=$(stored access_token) && rt=$(stored refresh_token) &&
	test -s trace &&
	test_grep ! -F -e "$at" -e "$rt" trace work/.git/config "$HOME/.gitconfig" \
		"$FORGE_DIR/logs/gate.log" "$(oauth_log)" err &&
	test_grep ! -r -F --exclude=tokens.json -e "$at" -e "$rt" "$XDG_STATE_HOME"
'

test_done
