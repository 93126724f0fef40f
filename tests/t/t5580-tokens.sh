#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='tokens that never get in the way: one refresh for many, retry, automatic sign-in, accounts'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
command -v script >/dev/null && test_set_prereq TTY
REPO=bbs::$FORGE_URL/team/repo.git

# Processes sharing one expired token.  Under valgrind each takes seconds
# of CPU on two cores, so fewer of them still wait on one lock together.
NPROC=32
if [ -n "${BBS_TEST_VALGRIND:-}" ]; then
	NPROC=8
fi

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure
'

test_expect_success 'no browser and no terminal: fail at once with the login command' '
	start=$(ms) &&
	test_must_fail env -u BROWSER GIT_TERMINAL_PROMPT=0 git clone "$REPO" c0 2>err &&
	took_less_than $start 2000 &&
	grep "no browser or terminal is available" err &&
	grep "^hint: sign in with: git bbs login $FORGE_URL/team/repo.git$" err &&
	test_path_is_missing c0
'

test_expect_success 'the helper signs in through the browser by itself' '
	BROWSER=$BROWSER_STANDIN git clone -q "$REPO" work 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	test_path_is_file "$STORE" &&
	test "$(stored account)" = alice
'

# One clone through the helper; the others copy it locally.
test_expect_success "set up $NPROC clones" '
	git clone -q --no-checkout "$REPO" w1 &&
	for i in $(seq 2 $NPROC); do
		git clone -q --no-checkout w1 "w$i" &&
		git -C "w$i" remote set-url origin "$REPO" || return 1
	done
'

test_expect_success "$NPROC processes, one expired token: exactly one refresh" '
	commit_file work n.txt new &&
	git -C work push -q origin main &&
	expire &&
	before=$(oauth_count refresh_token) &&
	for i in $(seq 1 $NPROC); do
		(git -C "w$i" fetch -q origin 2>"w$i.err"; echo $? >"w$i.rc") &
	done &&
	wait &&
	cat w*.rc | sort -u >rcs &&
	echo 0 >expect &&
	{ test_cmp expect rcs || { cat w*.err; false; }; } &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	for i in $(seq 1 $NPROC); do
		test "$(git -C "w$i" rev-parse origin/main)" = "$(git -C work rev-parse HEAD)" || return 1
	done
'

test_expect_success 'a lock holder killed with SIGKILL does not block the others' '
	expire &&
	before=$(oauth_count refresh_token) &&
	before_all=$(oauth_count) &&
	oauth_fault slow 2 &&
	(GIT_TRACE_BBS=$PWD/killed.trace git -C w1 fetch -q origin >/dev/null 2>&1 &) &&
	# wait until the refresh lock is held, by the helper of that fetch,
	# and its refresh is at the server
	locked= &&
	for i in $(seq 1 100); do
		for f in "$XDG_STATE_HOME"/git-remote-bbs/lock-*; do
			test -e "$f" && ! flock -n "$f" true && locked=$f
		done
		test -n "$locked" && break
		sleep 0.1
	done &&
	test -n "$locked" &&
	wait_for_text killed.trace "POST /token" 100 &&
	sleep 0.3 &&
	pid=$(pgrep -f "git-remote-bbs origin $FORGE_URL/team/repo.git") &&
	test -n "$pid" &&
	kill -9 $pid &&
	killed=$(ms) &&
	oauth_fault clear &&
	start=$(ms) &&
	git -C w2 fetch -q origin &&
	took_less_than $start 5000 &&
	# Past the delay, the server has processed one token request, not the
	# killed one too (a refresh token used twice, or a request whose client
	# has gone answered seconds later, in the next test), and the grant
	# still refreshes.
	while test $(($(ms) - killed)) -lt 3000; do sleep 0.2; done &&
	test $(($(oauth_count) - before_all)) = 1 &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	expire &&
	env -u BROWSER GIT_TERMINAL_PROMPT=0 git -C w3 fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) = 2
'

test_expect_success PYSERVER 'a token revoked before expiry: one refresh, one retry' '
	at=$(stored access_token) &&
	printf "token=%s&token_type_hint=access_token&client_id=bbs-test-client" "$at" >revoke.body &&
	curl -sf --data-binary @revoke.body "$(oauth_endpoint revocation_endpoint)" &&
	before=$(oauth_count refresh_token) &&
	git -C work fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	test "$(stored access_token)" != "$at"
'

# oidc-provider revokes the whole grant when an access token is revoked:
# spoil the stored copy instead.
test_expect_success 'a token the forge refuses before expiry: one refresh, one retry' '
	at=$(stored access_token) &&
	python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d[\"grants\"][0][\"access_token\"]=\"spoiled\"; json.dump(d,open(p,\"w\"))" "$STORE" &&
	before=$(oauth_count refresh_token) &&
	git -C work fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	test "$(stored access_token)" != spoiled &&
	test "$(stored access_token)" != "$at"
'

test_expect_success PYSERVER 'a lifetime as a real and the scope as a list: the rotated grant is kept' '
	expire &&
	rt=$(stored refresh_token) &&
	scope=$(stored scope) &&
	oauth_fault odd-fields &&
	test_when_finished "oauth_fault clear" &&
	git -C work fetch -q origin &&
	test "$(stored refresh_token)" != "$rt" &&
	test "$(stored scope)" = "$scope" &&
	now=$(date +%s) &&
	test "$(stored expires_at)" -gt $((now + 60)) &&
	oauth_fault clear &&
	expire &&
	git -C work fetch -q origin &&
	! grep "grant_type=refresh_token .*result=invalid_grant" "$(oauth_log)"
'

test_expect_success 'a second refusal names the command that signs in again' '
	forge_fault status 401 &&
	test_when_finished "forge_fault clear" &&
	test_must_fail git -C work fetch origin 2>err &&
	grep "rejected the access token" err &&
	grep "hint: sign in again with: git bbs login $FORGE_URL/team/repo.git" err
'

test_expect_success 'a read-only grant pushing: 403 says write access is missing' '
	BROWSER=$BROWSER_STANDIN git bbs login --scopes "git:read${OAUTH_SCOPES#git:write}" "$REPO" 2>/dev/null &&
	git -C work fetch -q origin &&
	commit_file work ro.txt ro &&
	test_must_fail git -C work push origin main 2>err &&
	grep "has no write access (scopes: git:read${OAUTH_SCOPES#git:write})" err &&
	grep "hint: sign in with a write scope: git bbs login --scopes" err
'

test_expect_success 'with a browser at hand the push signs in again with write scope' '
	BROWSER=$BROWSER_STANDIN git -C work push origin main 2>err &&
	grep "Pushing needs write access: signing in again with scopes .$OAUTH_SCOPES." err &&
	test "$(server_git team/repo.git rev-parse main)" = "$(git -C work rev-parse main)" &&
	test "$(stored scope)" = "$OAUTH_SCOPES"
'

test_expect_success 'two accounts: the URL chooses, and without a choice the error lists them' '
	rm -f "$STORE" &&
	BROWSER=$BROWSER_STANDIN git bbs login "bbs::http://alice@${FORGE_URL#http://}/team/repo.git" 2>/dev/null &&
	BROWSER=$BROWSER_STANDIN git bbs login "bbs::http://bob@${FORGE_URL#http://}/team/repo.git" 2>/dev/null &&
	test_must_fail env -u BROWSER git ls-remote "$REPO" 2>err &&
	grep "several accounts are signed in to .127.0.0.1. (alice, bob)" err &&
	grep "hint: choose one in the URL" err &&
	git ls-remote "bbs::http://bob@${FORGE_URL#http://}/team/repo.git" >out &&
	grep refs/heads/main out &&
	git bbs status >status &&
	grep "account: alice" status &&
	grep "account: bob" status
'

test_expect_success 'BBS_REFRESH_TOKEN seeds a headless machine once' '
	rm -f "$STORE" &&
	BROWSER=$BROWSER_STANDIN git bbs login "$REPO" 2>/dev/null &&
	rt=$(stored refresh_token) &&
	rm -f "$STORE" &&
	BBS_REFRESH_TOKEN=$rt git -C work fetch -q origin &&
	test "$(stored account)" = alice &&
	test -n "$(stored refresh_token)" &&
	test "$(stored refresh_token)" != "$rt"
'

test_expect_success 'eight processes that start with the same BBS_REFRESH_TOKEN: one uses it, all succeed, the grant lives' '
	rt=$(stored refresh_token) &&
	rm -f "$STORE" &&
	before=$(oauth_count refresh_token) &&
	for i in $(seq 1 8); do
		(BBS_REFRESH_TOKEN=$rt git -C "w$i" fetch -q origin >"s$i.out" 2>"s$i.err"
		 echo $? >"s$i.rc") &
	done &&
	wait &&
	cat s*.rc | sort -u >rcs &&
	echo 0 >expect &&
	{ test_cmp expect rcs || { cat s*.err; false; }; } &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	test "$(stored account)" = alice &&
	expire &&
	env -u BROWSER git -C work fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) = 2
'

test_expect_success 'git bbs logout without a URL during a refresh: the refresh does not bring the grant back' '
	expire &&
	oauth_fault slow 2 &&
	test_when_finished "oauth_fault clear" &&
	{ GIT_TRACE_BBS=$PWD/lo.trace git -C w4 fetch -q origin >/dev/null 2>&1 &
	  echo $! >lo.pid; } &&
	wait_for_text lo.trace "POST /token" 100 &&
	git bbs logout 2>err &&
	grep "^Forgot 1 sign-in" err &&
	wait_for_exit lo.pid 300 &&
	git bbs status >status &&
	grep "^Not signed in" status
'

test_expect_success 'flow=auto with a client secret and nobody to ask: client credentials' '
	rm -f "$STORE" &&
	secret=$(new_token) &&
	oauth_secret "$secret" &&
	test_when_finished "oauth_secret clear" &&
	before=$(oauth_count client_credentials) &&
	env -u BROWSER BBS_CLIENT_SECRET=$secret git -C work fetch -q origin 2>err &&
	test $(($(oauth_count client_credentials) - before)) = 1 &&
	test -z "$(stored refresh_token)"
'

test_expect_success TTY 'flow=auto with only a terminal: the device flow, from the helper' '
	rm -f "$STORE" &&
	(env -u BROWSER GIT_TERMINAL_PROMPT=1 script -qfec "git -C work fetch -q origin" /dev/null </dev/null >dev.out 2>&1 &
	 echo $! >dev.pid) &&
	oauth_device_approve dev.out &&
	wait_for_exit dev.pid 200 &&
	grep "Signed in to 127.0.0.1 as alice" dev.out &&
	test "$(stored account)" = alice
'

test_done
