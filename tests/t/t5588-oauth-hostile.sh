#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='a hostile authorization server: tokens, text, URLs and TLS settings'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

# The git host is an internal https server with a self-signed certificate
# that the user turned verification off for, by its URL only.
forge_start --tls
oauth_start
REPO=bbs::$FORGE_URL/team/repo.git
FORGE_PORT=${FORGE_URL##*:}
ESC=$(printf '\033')

# Another https server with a certificate of its own: an impostor of the
# authorization server.  And a plain one that stands in for the network:
# every non-loopback connection is sent to it as a proxy, so a URL that
# slipped through the checks shows in its access log, and nothing ever
# leaves the machine.
forge_start_extra impostor --tls
IMPOSTOR_URL=$FORGE_EXTRA_URL
IMPOSTOR_LOGS=$FORGE_EXTRA_DIR/logs
IMPOSTOR_CA=$FORGE_EXTRA_DIR/tls/cert.pem
forge_start_extra network
NETWORK=$FORGE_EXTRA_URL
NETWORK_LOG=$FORGE_EXTRA_DIR/logs/access.log

# elsewhere ARGS...: run git against the forge under another name
# (localhost), where only the -c settings given apply, with a refresh token
# to seed and the stand-in network as everybody's proxy.
elsewhere() {
	env http_proxy="$NETWORK" https_proxy="$NETWORK" \
		no_proxy=127.0.0.1,localhost BBS_REFRESH_TOKEN=rt_canary_4711 \
		git -c "http.https://localhost:$FORGE_PORT.sslVerify=false" \
		-c bbs.provider=generic -c bbs.clientId=bbs-test-client "$@"
}

# gate_lines: how many requests the git host has seen.
gate_lines() {
	wc -l <"$(forge_gate_log)"
}

test_expect_success 'set up: signed in, a clone' '
	forge_create_repo team/repo.git &&
	git config --global "http.$FORGE_URL.sslVerify" false &&
	oauth_configure &&
	BROWSER=$BROWSER_STANDIN git bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	git clone -q "$REPO" work &&
	touch "$NETWORK_LOG"
'

test_expect_success 'an access token with CR LF in it is refused, never sent' '
	expire &&
	cp "$STORE" store.before &&
	before=$(gate_lines) &&
	oauth_fault crlf-token &&
	test_when_finished "oauth_fault clear" &&
	test_must_fail env -u BROWSER git -C work fetch origin 2>err &&
	grep "authorization server sent a malformed access token" err &&
	! grep X-Injected err &&
	cmp "$STORE" store.before &&
	test "$(gate_lines)" = "$before" &&
	! grep -r X-Injected "$FORGE_DIR/logs"
'

test_expect_success 'BBS_ACCESS_TOKEN with CR LF is refused before any request' '
	before=$(gate_lines) &&
	bad=$(printf "bbs_x\r\nX-Injected: 1") &&
	test_must_fail env BBS_ACCESS_TOKEN="$bad" git ls-remote "$REPO" 2>err &&
	grep "BBS_ACCESS_TOKEN is not a valid token" err &&
	! grep X-Injected err &&
	test "$(gate_lines)" = "$before"
'

test_expect_success 'git bbs import refuses a refresh token with a space' '
	echo "rt_a rt_b" | test_must_fail git bbs import "$REPO" 2>err &&
	grep "that is not a refresh token" err
'

test_expect_success 'a refresh token with CR LF from the server is refused too' '
	python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d[\"grants\"][0][\"refresh_token\"]=\"rt_x\\r\\nX-Injected: 1\"; json.dump(d,open(p,\"w\"))" "$STORE" &&
	chmod 600 "$STORE" &&
	git bbs status "$REPO" >out 2>err &&
	grep "damaged: kept unchanged, not used" out &&
	test_must_fail git bbs token "$REPO" >tok 2>err &&
	test_must_be_empty tok &&
	cp store.before "$STORE"
'

test_expect_success 'an error_description reaches the terminal without its escapes' '
	oauth_fault hostile-text &&
	test_when_finished "oauth_fault clear" &&
	test_must_fail env BROWSER=$BROWSER_STANDIN git bbs login "$REPO" 2>err &&
	test_grep -F "refused: invalid_grant (^[[2J^[[31mgone^Jfatal: injected line)" err &&
	! grep "$ESC" err &&
	! grep "^fatal: injected line" err
'

test_expect_success 'a device user_code with a newline is refused' '
	oauth_fault hostile-user-code &&
	test_when_finished "oauth_fault clear" &&
	test_must_fail env -u BROWSER timeout 30 git bbs login --flow device "$REPO" 2>err &&
	grep "malformed user_code" err &&
	! grep "^fatal: injected line" err
'

test_expect_success 'a device verification_uri over plain http to another host is refused' '
	oauth_fault hostile-verification &&
	test_when_finished "oauth_fault clear" &&
	test_must_fail env -u BROWSER timeout 30 git bbs login --flow device "$REPO" 2>err &&
	grep "refusing plain http to the verification at .127.0.0.1.evil.example." err &&
	! grep "http://127.0.0.1.evil.example" err
'

test_expect_success 'an endpoint with a user part is not loopback: refused, nothing sent' '
	test_must_fail elsewhere -c bbs.tokenUrl=http://localhost:1@192.0.2.2/token \
		ls-remote "bbs::https://localhost:$FORGE_PORT/team/repo.git" 2>err &&
	grep "the token endpoint URL must not carry a user name or password" err &&
	! grep 192.0.2.2 "$NETWORK_LOG"
'

test_expect_success 'http://127.0.0.1.evil.example/ is not loopback: refused, nothing sent' '
	test_must_fail elsewhere -c bbs.tokenUrl=http://127.0.0.1.evil.example/token \
		ls-remote "bbs::https://localhost:$FORGE_PORT/team/repo.git" 2>err &&
	grep "refusing plain http to the token endpoint at .127.0.0.1.evil.example." err &&
	! grep evil.example "$NETWORK_LOG"
'

test_expect_success 'an https endpoint with a password in it is refused, nothing sent' '
	test_must_fail elsewhere -c bbs.revocationUrl=https://user:pw@192.0.2.3/revoke \
		-c bbs.tokenUrl=https://192.0.2.3/token \
		ls-remote "bbs::https://localhost:$FORGE_PORT/team/repo.git" 2>err &&
	grep "the revocation endpoint URL must not carry a user name or password" err &&
	! grep 192.0.2.3 "$NETWORK_LOG"
'

test_expect_success 'discovered endpoints follow the same rule' '
	expire &&
	oauth_fault hostile-metadata &&
	test_when_finished "oauth_fault clear" &&
	test_must_fail env -u BROWSER http_proxy="$NETWORK" no_proxy=127.0.0.1 \
		git -C work fetch origin 2>err &&
	grep "the token endpoint URL must not carry a user name or password" err &&
	! grep 192.0.2.2 "$NETWORK_LOG"
'

test_expect_success 'the git host'"'"'s sslVerify=false is not the token endpoint'"'"'s' '
	test_must_fail elsewhere -c bbs.tokenUrl="$IMPOSTOR_URL/token" \
		ls-remote "bbs::https://localhost:$FORGE_PORT/team/repo.git" 2>err &&
	grep "TLS failure" err &&
	! grep "/token" "$IMPOSTOR_LOGS/access.log" &&
	! grep -r rt_canary_4711 "$IMPOSTOR_LOGS"
'

# Apache writes its access log after it has answered, and the client may
# be gone by then: wait for the line.
test_expect_success 'the token endpoint'"'"'s own http.<url>.sslCAInfo is used' '
	test_might_fail elsewhere -c bbs.tokenUrl="$IMPOSTOR_URL/token" \
		-c "http.$IMPOSTOR_URL.sslCAInfo=$IMPOSTOR_CA" \
		ls-remote "bbs::https://localhost:$FORGE_PORT/team/repo.git" 2>err &&
	! grep "TLS failure" err &&
	wait_for_text "$IMPOSTOR_LOGS/access.log" "POST /token" 50
'

test_expect_success 'git-credential-bbs refuses a NUL byte in its input' '
	printf "protocol=https\nhost=127.0.0.1:%s\0evil\npath=team/repo.git\n\n" "$FORGE_PORT" >req &&
	test_must_fail git-credential-bbs get <req >out 2>err &&
	test_must_be_empty out &&
	grep "NUL byte in the credential request" err
'

test_expect_success 'git-credential-bbs never prints a value with a newline' '
	printf "protocol=https\nhost=127.0.0.1:%s\npath=team/repo.git\n\n" "$FORGE_PORT" >req &&
	git credential-bbs get <req >out &&
	grep -q "^password=$(stored access_token)$" out &&
	test_must_fail git -c "bbs.gitUsername=x
injected=1" credential-bbs get <req >out 2>err &&
	test_must_be_empty out &&
	grep "refusing to answer git with a newline in .username." err
'

test_done
