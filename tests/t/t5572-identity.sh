#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='which account a grant is kept for: user info, ID token, token response, and servers that name nobody'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/repo.git
HOSTPATH=${FORGE_URL#http://}/team/repo.git
export BROWSER=$BROWSER_STANDIN

# grant ACCOUNT FIELD: FIELD of the stored grant of ACCOUNT ("" if none).
grant() {
	python3 -c '
import json, sys
for g in json.load(open(sys.argv[1]))["grants"]:
    if g.get("account") == sys.argv[2]:
        print(g.get(sys.argv[3], ""))
' "$STORE" "$1" "$2"
}

# accounts: the accounts of the stored grants, one a line, sorted.
accounts() {
	python3 -c '
import json, sys
for a in sorted(g.get("account", "") for g in json.load(open(sys.argv[1]))["grants"]):
    print(a)
' "$STORE"
}

# refusals: how many token requests the server refused with invalid_grant.
refusals() {
	grep -c "result=invalid_grant" "$OAUTH_DIR/oauth.log" || true
}

# as ACCOUNT: the repository URL that selects ACCOUNT.
as() {
	printf 'bbs::http://%s@%s\n' "$1" "$HOSTPATH"
}

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure
'

test_expect_success 'the user-info endpoint names the account' '
	rm -f "$STORE" &&
	GIT_TRACE_BBS=$PWD/trace git bbs login "$REPO" 2>err &&
	grep "^Signed in to 127.0.0.1 as alice\.$" err &&
	echo alice >expect &&
	accounts >actual &&
	test_cmp expect actual &&
	! grep "names the account" trace
'

test_expect_success 'signing in again as the same account replaces its grant' '
	rt=$(grant alice refresh_token) &&
	git bbs login "$REPO" 2>err &&
	grep "^Signed in to 127.0.0.1 as alice\.$" err &&
	echo alice >expect &&
	accounts >actual &&
	test_cmp expect actual &&
	test "$(grant alice refresh_token)" != "$rt" &&
	git ls-remote "$REPO" >out &&
	grep refs/heads/main out
'

# From here on the server has no user-info endpoint.
oauth_start --no-userinfo

test_expect_success 'without user info, the ID token names the account' '
	oauth_configure "git:write openid" &&
	rm -f "$STORE" &&
	GIT_TRACE_BBS=$PWD/trace git bbs login "$REPO" 2>err &&
	grep "^Signed in to 127.0.0.1 as alice\.$" err &&
	grep "oauth: the ID token names the account" trace &&
	echo alice >expect &&
	accounts >actual &&
	test_cmp expect actual &&
	git ls-remote "$REPO" >out &&
	grep refs/heads/main out
'

# An ID token is a JWT: a base64url header that starts "eyJ" and two dots.
# (Any three letters, in any case, may turn up in a random access token.)
test_expect_success 'the ID token is not kept in the store' '
	! grep -q -i "id_token" "$STORE" &&
	! grep -q -E "eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\." "$STORE"
'

for forged in wrong-iss wrong-aud expired malformed; do
	test_expect_success PYSERVER "a forged ID token ($forged) is not trusted" '
		rm -f "$STORE" &&
		oauth_fault id-token $forged &&
		test_when_finished "oauth_fault clear" &&
		GIT_TRACE_BBS=$PWD/trace git bbs login "$REPO" 2>err &&
		grep "oauth: the ID token is not trusted" trace &&
		! grep "as alice" err &&
		grep "^Signed in to 127.0.0.1 as account-1\.$" err &&
		echo account-1 >expect &&
		accounts >actual &&
		test_cmp expect actual
	'
done

test_expect_success PYSERVER 'the ID token says why it is not trusted' '
	rm -f "$STORE" &&
	oauth_fault id-token wrong-aud &&
	test_when_finished "oauth_fault clear" &&
	GIT_TRACE_BBS=$PWD/trace git bbs login "$REPO" 2>err &&
	grep "oauth: the ID token is not trusted: it is for another client" trace &&
	rm -f "$STORE" &&
	oauth_fault id-token expired &&
	GIT_TRACE_BBS=$PWD/trace git bbs login "$REPO" 2>err &&
	grep "oauth: the ID token is not trusted: it has expired" trace
'

test_expect_success PYSERVER 'without user info or ID token, the token response names the account' '
	oauth_configure git:write &&
	rm -f "$STORE" &&
	oauth_fault token-username &&
	test_when_finished "oauth_fault clear" &&
	GIT_TRACE_BBS=$PWD/trace git bbs login "$REPO" 2>err &&
	grep "oauth: the token response names the account" trace &&
	grep "^Signed in to 127.0.0.1 as alice\.$" err
'

test_expect_success OIDC 'a confidential client without user info or ID token: introspection names the account' '
	oauth_configure git:write &&
	rm -f "$STORE" &&
	secret=$(new_token) &&
	oauth_secret "$secret" &&
	test_when_finished "oauth_secret clear" &&
	BBS_CLIENT_SECRET=$secret GIT_TRACE_BBS=$PWD/trace git bbs login "$REPO" 2>err &&
	grep "oauth: introspection names the account" trace &&
	grep "^Signed in to 127.0.0.1 as alice\.$" err &&
	! grep -e "$secret" trace err
'

test_expect_success PYSERVER 'a server that names nobody: the first sign-in is account-1' '
	oauth_configure git:write &&
	rm -f "$STORE" &&
	git bbs login "$REPO" 2>err &&
	grep "^Signed in to 127.0.0.1 as account-1\.$" err &&
	grep "^note: the server did not say who signed in; the grant is kept as .account-1.$" err &&
	git clone -q "$REPO" work &&
	git -C work fetch -q origin
'

test_expect_success PYSERVER 'a second person signing in adds a grant, and replaces none' '
	rt1=$(grant account-1 refresh_token) &&
	at1=$(grant account-1 access_token) &&
	git bbs login "$REPO" 2>err &&
	grep "^Signed in to 127.0.0.1 as account-2\.$" err &&
	grep "^note: 2 accounts are signed in to .127.0.0.1. now; a URL chooses one: http://account-2@$HOSTPATH$" err &&
	printf "account-1\naccount-2\n" >expect &&
	accounts >actual &&
	test_cmp expect actual &&
	test "$(grant account-1 refresh_token)" = "$rt1" &&
	test "$(grant account-1 access_token)" = "$at1" &&
	test "$(grant account-2 refresh_token)" != "$rt1"
'

test_expect_success PYSERVER 'each clones with its own tokens' '
	git clone -q "$(as account-1)" c1 &&
	git clone -q "$(as account-2)" c2 &&
	git bbs token "$(as account-1)" >t1 &&
	git bbs token "$(as account-2)" >t2 &&
	test "$(cat t1)" = "$(grant account-1 access_token)" &&
	test "$(cat t2)" = "$(grant account-2 access_token)" &&
	! test_cmp t1 t2 &&
	# each refreshes its own grant: a shared refresh token would be
	# reused, and the server would revoke the grant
	expire &&
	rt1=$(grant account-1 refresh_token) &&
	rt2=$(grant account-2 refresh_token) &&
	refused=$(refusals) &&
	git -C c1 fetch -q origin &&
	git -C c2 fetch -q origin &&
	test "$(grant account-1 refresh_token)" != "$rt1" &&
	test "$(grant account-2 refresh_token)" != "$rt2" &&
	test "$(refusals)" = "$refused"
'

test_expect_success PYSERVER 'a URL without an account names both and how to choose' '
	test_must_fail env -u BROWSER git ls-remote "$REPO" 2>err &&
	grep "several accounts are signed in to .127.0.0.1. (account-1, account-2)" err &&
	grep "hint: choose one in the URL, e.g. http://ACCOUNT@$HOSTPATH" err
'

test_expect_success PYSERVER 'status shows both; logout needs a choice and forgets only that one' '
	git bbs status "$REPO" >status &&
	grep "account: account-1" status &&
	grep "account: account-2" status &&
	git bbs status "$(as account-2)" >status2 &&
	! grep "account: account-1" status2 &&
	grep "account: account-2" status2 &&
	test_must_fail git bbs logout "$REPO" 2>err &&
	grep "several accounts are signed in" err &&
	printf "account-1\naccount-2\n" >expect &&
	accounts >actual &&
	test_cmp expect actual &&
	git bbs logout "$(as account-1)" 2>err &&
	grep "Signed out of 127.0.0.1 (account-1)" err &&
	echo account-2 >expect &&
	accounts >actual &&
	test_cmp expect actual &&
	git -C c2 fetch -q origin
'

test_expect_success PYSERVER 'a new unnamed sign-in takes the first free name' '
	git bbs login "$REPO" 2>err &&
	grep "^Signed in to 127.0.0.1 as account-1\.$" err &&
	printf "account-1\naccount-2\n" >expect &&
	accounts >actual &&
	test_cmp expect actual
'

test_expect_success PYSERVER 'signing in again for a URL that names an unnamed account replaces only it' '
	rt1=$(grant account-1 refresh_token) &&
	rt2=$(grant account-2 refresh_token) &&
	git bbs login "$(as account-2)" 2>err &&
	grep "^Signed in to 127.0.0.1 as account-2\.$" err &&
	printf "account-1\naccount-2\n" >expect &&
	accounts >actual &&
	test_cmp expect actual &&
	test "$(grant account-1 refresh_token)" = "$rt1" &&
	test "$(grant account-2 refresh_token)" != "$rt2"
'

test_expect_success PYSERVER 'an automatic sign-in renews the unnamed grant it replaces' '
	git bbs logout "$(as account-2)" 2>err &&
	echo account-1 >expect &&
	accounts >actual &&
	test_cmp expect actual &&
	# a refresh token the server does not know: the refresh is refused
	python3 -c "
import json, sys
p = sys.argv[1]; d = json.load(open(p))
for g in d[\"grants\"]:
    g[\"expires_at\"] = 1
    g[\"refresh_token\"] = \"rt_unknown\"
json.dump(d, open(p, \"w\"))
" "$STORE" &&
	chmod 600 "$STORE" &&
	git -C work fetch -q origin 2>err &&
	grep "Signed in to 127.0.0.1 as account-1" err &&
	echo account-1 >expect &&
	accounts >actual &&
	test_cmp expect actual &&
	test "$(grant account-1 refresh_token)" != rt_unknown &&
	git -C work fetch -q origin
'

test_done
