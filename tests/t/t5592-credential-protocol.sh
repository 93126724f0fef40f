#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='git-credential-bbs: the credential protocol of the git that calls it'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
URL=$FORGE_URL/team/repo.git
HOST=${FORGE_URL#http://}
SOCK=$TRASH_DIRECTORY/cache/sock
test_atexit "git credential-cache --socket='$SOCK' exit 2>/dev/null"

# use_until: when the helper stops handing out the stored token: its
# expiry less the helper's one-minute margin.
use_until() {
	echo $(($(stored expires_at) - 60))
}

# keep_token_for SECONDS: make the stored token one the helper hands out
# for SECONDS more (it stays valid at the server).
keep_token_for() {
	python3 -c 'import json,sys,time; p=sys.argv[1]; d=json.load(open(p)); [g.__setitem__("expires_at", int(time.time()) + 60 + int(sys.argv[2])) for g in d["grants"]]; json.dump(d,open(p,"w"))' "$STORE" "$1" &&
	chmod 600 "$STORE"
}

# chain HELPER...: the credential helpers for the forge, in order
chain() {
	git config --global --unset-all "credential.$FORGE_URL.helper"
	git config --global --add "credential.$FORGE_URL.helper" "" &&
	for h in "$@"; do
		git config --global --add "credential.$FORGE_URL.helper" "$h" ||
			return 1
	done
}

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure &&
	git config --global credential.helper "" &&
	chain bbs &&
	BROWSER=$BROWSER_STANDIN git bbs login "$URL" 2>/dev/null &&
	git clone -q "$URL" work &&
	printf "protocol=http\nhost=%s\npath=team/repo.git\n\n" "$HOST" >req
'

test_expect_success 'get answers with password_expiry_utc: when the helper stops using the token' '
	git-credential-bbs get <req >out &&
	grep "^username=x-token-auth$" out &&
	grep "^password=$(stored access_token)$" out &&
	grep "^password_expiry_utc=$(use_until)$" out &&
	! grep -e "^authtype=" -e "^credential=" -e "^ephemeral=" out
'

test_expect_success 'git credential fill takes the answer, whether or not it knows the expiry' '
	git credential fill <req >out &&
	grep "^username=x-token-auth$" out &&
	grep "^password=$(stored access_token)$" out &&
	if test_have_prereq GIT_2_40
	then
		grep "^password_expiry_utc=$(use_until)$" out
	else
		! grep "^password_expiry_utc=" out
	fi
'

test_expect_success 'fetches with git cache and store after bbs in the chain' '
	chain bbs "cache --socket=$SOCK --timeout=600" \
		"store --file=$TRASH_DIRECTORY/stored" &&
	commit_file work b.txt two &&
	git -C work push -q origin main &&
	git -C work fetch -q origin &&
	if test_have_prereq GIT_2_46
	then
		test_path_is_missing stored &&
		grep "scheme=bearer user=- token=ok" "$(forge_gate_log)"
	else
		grep -e "$(stored access_token)" stored
	fi
'

# git 2.40 to 2.45 cache the Basic answer until its expiry; 2.46+ get an
# ephemeral credential, which the cache does not keep at all.
test_expect_success GIT_2_40 'a caching helper first in the chain drops the token when the helper would (git 2.40+)' '
	git config --global "bbs.$FORGE_URL.gitAuth" basic &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.gitAuth" &&
	{ git credential-cache --socket="$SOCK" exit 2>/dev/null || :; } &&
	chain "cache --socket=$SOCK --timeout=600" bbs &&
	keep_token_for 3 &&
	at=$(stored access_token) &&
	git -C work fetch -q origin &&
	printf "protocol=http\nhost=%s\n\n" "$HOST" |
		git credential-cache --socket="$SOCK" get >cached &&
	if test_have_prereq GIT_2_46
	then
		! grep "^password=" cached
	else
		grep "^password=$at$" cached &&
		grep "^password_expiry_utc=$(use_until)$" cached
	fi &&
	sleep 4 &&
	before=$(oauth_count refresh_token) &&
	git -C work fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	test "$(stored access_token)" != "$at"
'

test_expect_success GIT_2_46 'git 2.46+ announcing authtype gets an ephemeral Bearer credential' '
	printf "capability[]=authtype\nprotocol=http\nhost=%s\n\n" "$HOST" >req2 &&
	git-credential-bbs get <req2 >out &&
	grep "^capability\[\]=authtype$" out &&
	grep "^authtype=Bearer$" out &&
	grep "^credential=$(stored access_token)$" out &&
	grep "^ephemeral=1$" out &&
	grep "^password_expiry_utc=$(use_until)$" out &&
	! grep -e "^username=" -e "^password=" out
'

# fetch_keeps_nothing SCHEME-LINE: a fetch through bbs, then cache and
# store, authenticates as the gate log line says, and neither helper
# keeps the credential.
fetch_keeps_nothing() {
	{ git credential-cache --socket="$SOCK" exit 2>/dev/null || :; } &&
	rm -f stored &&
	chain bbs "cache --socket=$SOCK --timeout=600" \
		"store --file=$TRASH_DIRECTORY/stored" &&
	: >"$(forge_gate_log)" &&
	git -C work fetch -q origin &&
	grep "$1" "$(forge_gate_log)" &&
	test_path_is_missing stored &&
	printf "capability[]=authtype\nprotocol=http\nhost=%s\n\n" "$HOST" |
		git credential-cache --socket="$SOCK" get >cached &&
	! grep -e "^credential=" -e "^password=" cached
}

test_expect_success GIT_2_46 'no helper in the chain keeps the Bearer credential (git 2.46+)' '
	fetch_keeps_nothing "scheme=bearer user=- token=ok" &&
	! grep "scheme=basic" "$(forge_gate_log)"
'

test_expect_success GIT_2_46 'a refused Bearer credential is erased and refreshed once (git 2.46+)' '
	chain bbs &&
	refused_then_refreshed_once work
'

# base64 of x-token-auth:<the stored access token>
basic_of_stored() {
	printf "x-token-auth:%s" "$(stored access_token)" | base64 -w 0
}

test_expect_success 'a remote that takes Basic gets an ephemeral Basic credential when git announces authtype' '
	git config --global "bbs.$FORGE_URL.gitAuth" basic &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.gitAuth" &&
	printf "capability[]=authtype\nprotocol=http\nhost=%s\n\n" "$HOST" >req3 &&
	git-credential-bbs get <req3 >out &&
	grep "^capability\[\]=authtype$" out &&
	grep "^authtype=Basic$" out &&
	grep "^credential=$(basic_of_stored)$" out &&
	grep "^ephemeral=1$" out &&
	! grep -e "^username=" -e "^password=" out
'

test_expect_success 'git-lfs gets username and password, authtype or not' '
	printf "capability[]=authtype\nprotocol=http\nhost=%s\npath=team/repo.git/info/lfs\n\n" "$HOST" >req4 &&
	git-credential-bbs get <req4 >out &&
	grep "^username=x-token-auth$" out &&
	grep "^password=$(stored access_token)$" out &&
	! grep -e "^authtype=" -e "^credential=" out
'

test_expect_success GIT_2_46 'no helper in the chain keeps the Basic credential (git 2.46+)' '
	git config --global "bbs.$FORGE_URL.gitAuth" basic &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.gitAuth" &&
	fetch_keeps_nothing "scheme=basic user=x-token-auth token=ok"
'

test_expect_success GIT_2_46 'a refused Basic credential is erased and refreshed once (git 2.46+)' '
	git config --global "bbs.$FORGE_URL.gitAuth" basic &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.gitAuth" &&
	chain bbs &&
	refused_then_refreshed_once work
'

# CI: BBS_ACCESS_TOKEN is what git-remote-bbs sends; git-lfs, which asks
# this helper, gets the same.  It is never stored, so nothing is erased.
test_expect_success 'with BBS_ACCESS_TOKEN set, that token is the answer' '
	STATIC=static-token-$$ &&
	cp "$STORE" store.before &&
	BBS_ACCESS_TOKEN=$STATIC git-credential-bbs get <req >out &&
	grep "^username=x-token-auth$" out &&
	grep "^password=$STATIC$" out &&
	! grep "^password_expiry_utc=" out &&
	printf "protocol=http\nhost=%s\nusername=x-token-auth\npassword=%s\n\n" "$HOST" "$STATIC" |
		BBS_ACCESS_TOKEN=$STATIC git-credential-bbs erase &&
	test_cmp store.before "$STORE"
'

test_done
