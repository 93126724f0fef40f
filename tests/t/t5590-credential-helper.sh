#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='git-credential-bbs: the same tokens for plain https remotes'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
URL=$FORGE_URL/team/repo.git

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure &&
	git config --global "credential.$FORGE_URL.helper" bbs
'

test_expect_success 'not signed in: the helper stays out of the way and says why' '
	test_must_fail git clone "$URL" c0 2>err &&
	grep "git-credential-bbs: not signed in" err &&
	test_path_is_missing c0
'

test_expect_success 'a plain https clone and push with the signed-in grant' '
	BROWSER=$BROWSER_STANDIN git bbs login "$URL" 2>/dev/null &&
	git clone -q "$URL" work &&
	if test_have_prereq GIT_2_46
	then
		grep "scheme=bearer user=- token=ok" "$(forge_gate_log)"
	else
		grep "scheme=basic user=x-token-auth token=ok" "$(forge_gate_log)"
	fi &&
	commit_file work a.txt one &&
	git -C work push -q origin main &&
	test_grep ! -F -e "$(stored access_token)" work/.git/config "$HOME/.gitconfig"
'

test_expect_success 'an expired token is refreshed by get' '
	expire &&
	before=$(oauth_count refresh_token) &&
	git -C work fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) = 1
'

# oidc-provider revokes the whole grant with an access token: the test
# below spoils the stored copy instead, for both servers.
test_expect_success PYSERVER 'a refused token: erase, then the next get refreshes, no loop' '
	refused_then_refreshed_once work
'

test_expect_success 'a spoiled stored token: erase, then the next get refreshes, no loop' '
	python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d[\"grants\"][0][\"access_token\"]=\"spoiled\"; json.dump(d,open(p,\"w\"))" "$STORE" &&
	before=$(oauth_count refresh_token) &&
	test_must_fail git -C work fetch origin 2>err &&
	test "$(stored expires_at)" = 1 &&
	git -C work fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	test "$(stored access_token)" != spoiled
'

test_expect_success 'the credential protocol by hand: get answers, store is a no-op' '
	printf "protocol=http\nhost=%s\npath=team/repo.git\n\n" "${FORGE_URL#http://}" >req &&
	git-credential-bbs get <req >out &&
	grep "^username=x-token-auth$" out &&
	grep "^password=$(stored access_token)$" out &&
	printf "protocol=https\nhost=elsewhere.example\n\n" | git-credential-bbs get >out2 &&
	test_must_be_empty out2 &&
	git-credential-bbs store <req >out3 &&
	test_must_be_empty out3
'

# git names the host as it took it from the URL; a value that is not
# host[:port] is nobody's host: no answer, and nothing said.
test_expect_success 'a host that is not host[:port] gets no answer, silently' '
	hp=${FORGE_URL#http://} &&
	for h in "alice@$hp" "x@alice@$hp" "$hp/team" "$hp?x" "$hp#x" \
		"%31$hp" "127.0.0.1:" "127.0.0.1:0x50" "127.0.0.1:65536" \
		"127.0.0.1:0" "[::1" "[::1]x" "[fe80::1%25lo]" ":80" "a b" \
		"$(printf "127.0.0.1\tx")"
	do
		printf "protocol=http\nhost=%s\n\n" "$h" >req-host &&
		git-credential-bbs get <req-host >out 2>err &&
		test_must_be_empty out &&
		test_must_be_empty err || return 1
	done
'

# git passes a user part it found in the host (a URL like
# http://x@alice%40host:port/) on as it is, next to the username.
test_expect_success 'a user part in the host next to a username: no answer, nothing kept' '
	hp=${FORGE_URL#http://} &&
	printf "protocol=http\nhost=alice@%s\nusername=x\n\n" "$hp" >req-at &&
	git-credential-bbs get <req-at >out-at 2>err-at &&
	test_must_be_empty out-at &&
	test_must_be_empty err-at
'

# A seed refresh token redeemed for an account the store cannot name
# would be spent, its successor lost: the name is checked first.
test_expect_success 'a username no URL may carry is refused before the server is asked' '
	hp=${FORGE_URL#http://} &&
	rt=$(stored refresh_token) &&
	before=$(oauth_count refresh_token) &&
	printf "protocol=http\nhost=%s\nusername=\377\n\n" "$hp" >req-utf8 &&
	test_must_fail env BBS_REFRESH_TOKEN="$rt" \
		git-credential-bbs get <req-utf8 >out-user 2>err-user &&
	test_must_be_empty out-user &&
	grep "^error: git-credential-bbs: the user name of the URL is not UTF-8 text$" err-user &&
	printf "protocol=http\nhost=%s\nusername=a\001b\n\n" "$hp" >req-ctl &&
	test_must_fail env BBS_REFRESH_TOKEN="$rt" \
		git-credential-bbs get <req-ctl >out-user 2>err-user &&
	test_must_be_empty out-user &&
	grep "^error: git-credential-bbs: a control character in the user name of the URL$" err-user &&
	printf "protocol=http\nhost=%s\nusername=\n\n" "$hp" >req-empty &&
	test_must_fail git-credential-bbs get <req-empty >out-user 2>err-user &&
	grep "^error: git-credential-bbs: malformed user name in URL$" err-user &&
	test "$(oauth_count refresh_token)" = "$before" &&
	test "$(stored refresh_token)" = "$rt" &&
	test_must_fail git ls-remote "bbs::http://$(printf "\377")@$hp/team/repo.git" 2>err-url &&
	grep "^fatal: bbs: the user name of the URL is not UTF-8 text$" err-url
'

# grant ACCOUNT FIELD: a field of the stored grant of ACCOUNT.
grant() {
	python3 -c '
import json, sys
for g in json.load(open(sys.argv[1]))["grants"]:
    if g.get("account") == sys.argv[2]:
        print(g.get(sys.argv[3], ""))
' "$STORE" "$1" "$2"
}

# git erases with the user name it was answered (x-token-auth), which
# picks no account when there are several: the refused token does.
test_expect_success PYSERVER 'two accounts: the refused token of the one the URL names is erased' '
	hp=${FORGE_URL#http://} &&
	BROWSER=$BROWSER_STANDIN git bbs login "http://bob@$hp/team/repo.git" 2>/dev/null &&
	test -n "$(grant alice access_token)" &&
	git clone -q "http://bob@$hp/team/repo.git" bobwork &&
	python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); [g.__setitem__(\"access_token\", \"spoiled\") for g in d[\"grants\"] if g[\"account\"] == \"bob\"]; json.dump(d,open(p,\"w\"))" "$STORE" &&
	chmod 600 "$STORE" &&
	alice=$(grant alice access_token) &&
	test_must_fail git -C bobwork fetch origin 2>err &&
	test "$(grant bob expires_at)" = 1 &&
	test "$(grant alice access_token)" = "$alice" &&
	git -C bobwork fetch -q origin &&
	test "$(grant bob access_token)" != spoiled
'

# Data Center under a path is known by the path before /scm/: git sends
# it only with useHttpPath, and without it the hint says so.
test_expect_success 'Data Center without a path from git: the hint names useHttpPath' '
	git config --global "bbs.http://localhost:1.provider" bitbucket-datacenter &&
	git config --global "bbs.http://localhost:1.clientId" dc-client &&
	test_when_finished "git config --global --remove-section bbs.http://localhost:1" &&
	printf "protocol=http\nhost=localhost:1\n\n" >dcreq &&
	test_expect_code 1 git-credential-bbs get <dcreq >out 2>err &&
	test_must_be_empty out &&
	grep "not signed in to .localhost." err &&
	grep "hint: git sent no path; .*git config --global credential.http://localhost:1.useHttpPath true" err &&
	printf "protocol=http\nhost=localhost:1\npath=bitbucket/scm/team/r.git\n\n" >dcreq &&
	test_expect_code 1 git-credential-bbs get <dcreq >out 2>err &&
	grep "hint: sign in with: git bbs login http://localhost:1/bitbucket/scm/team/r.git" err
'

test_done
