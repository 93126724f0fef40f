#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='bbs.tokenStore=credential-helper with git store and cache helpers'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
# access tokens live 4 s: refreshed a quarter of that (1 s) early, so a
# use 3.5 s after the last refresh refreshes
oauth_start --access-ttl 4
REPO=bbs::$FORGE_URL/team/repo.git
export BROWSER=$BROWSER_STANDIN

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure &&
	git config --global bbs.tokenStore credential-helper
'

test_expect_success 'git credential-store keeps the grant; the file store stays empty' '
	git config --global credential.helper "store --file=$PWD/creds" &&
	git bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "^bbs://alice:" creds &&
	grep "^bbs://git-remote-bbs:bbs-index-1%20alice@" creds &&
	test_path_is_missing "$XDG_STATE_HOME/git-remote-bbs/tokens.json" &&
	git clone -q "$REPO" work &&
	commit_file work a.txt one &&
	git -C work push -q origin main
'

test_expect_success 'git bbs doctor describes the credential helpers, not the file' '
	git bbs doctor --offline "$REPO" >out 2>&1 &&
	grep "^ok *token store: git.s credential helpers (bbs.tokenStore=credential-helper): .store.$" out &&
	test_grep ! "tokens\.json" out &&
	grep "^ok *sign-in: account .alice." out &&
	test_expect_code 1 git -c credential.helper= bbs doctor --offline "$REPO" >out 2>&1 &&
	grep "^error *token store: bbs.tokenStore is credential-helper, but no credential.helper is set" out &&
	git -c credential.helper="!f() { echo password=hunter2; }; f" bbs doctor --offline "$REPO" >out 2>&1 &&
	grep "^ok *token store: .*: .store., a shell command$" out &&
	test_grep ! hunter2 out &&
	git -c credential.helper=cache bbs doctor --offline "$REPO" >out 2>&1 &&
	grep "^warning *token store: the .cache. helper keeps grants in memory only" out &&
	# nobody has signed in to the file store: an error
	test_expect_code 1 git -c bbs.tokenStore=file bbs doctor --offline "$REPO" >out 2>&1 &&
	grep "^ok *token store: .*tokens\.json (empty" out
'

test_expect_success 'refreshes rotate the refresh token through the helper' '
	before=$(oauth_count refresh_token) &&
	sleep 3.5 &&
	git -C work fetch -q origin &&
	sleep 3.5 &&
	git -C work fetch -q origin &&
	sleep 3.5 &&
	git -C work fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) -ge 3 &&
	git bbs status "$REPO" >status &&
	grep "refresh token: kept" status
'

# The imported grant is saved as account-1 before the server is asked who
# signed in, then filed under that name: nothing is left as account-1.
test_expect_success 'git bbs import files the grant under the server'"'"'s name' '
	rt=$(git bbs token "$REPO" >/dev/null &&
	     sed -n "s/^bbs:\/\/alice:\([^@]*\)@.*/\1/p" creds |
	     python3 -c "import json,sys,urllib.parse as u; print(json.loads(u.unquote(sys.stdin.read().strip()))[\"refresh_token\"])") &&
	test -n "$rt" &&
	printf "%s\n" "$rt" | git bbs import "$REPO" 2>err &&
	grep "^Imported: signed in to 127.0.0.1 as alice" err &&
	test_grep ! "account-1" creds &&
	git bbs status "$REPO" >status &&
	test_grep ! "account-1" status &&
	grep "account: alice" status &&
	git bbs token "$REPO" >tok &&
	test -s tok
'

test_expect_success 'logout revokes and removes the grant from the helper' '
	git bbs logout "$REPO" 2>err &&
	grep "Signed out" err &&
	test_grep ! "^bbs://alice:" creds
'

# A lookup that finds nothing makes git credential say "could not read
# Password ...: terminal prompts disabled": that is for the trace only.
test_expect_success 'what git credential says goes to the trace, not to the user' '
	git config --global credential.helper "store --file=$PWD/creds2" &&
	GIT_TRACE_BBS=$PWD/trace.cred git bbs login "$REPO" 2>err &&
	test_grep "Signed in to 127.0.0.1 as alice" err &&
	test_grep ! "could not read" err &&
	test_grep ! "terminal prompts disabled" err &&
	test_grep "git credential fill: .*terminal prompts disabled" trace.cred
'

# A helper that answers every lookup (a CI secret for any host) is no
# store: its answer is for another user, or is no grant, and never
# becomes an account name that git bbs status would show.
CATCHALL_SECRET=glpat-catchall-$$-2b7d
test_expect_success 'a helper that answers everything is taken as storing nothing' '
	git config --global credential.helper "store --file=$PWD/creds2" &&
	git bbs status >before &&
	grep "account: alice" before &&
	git config --global --add credential.helper "" &&
	git config --global --add credential.helper \
		"!f() { test \"\$1\" = get && echo username=ci-bot && echo password=$CATCHALL_SECRET; }; f" &&
	git bbs status >status 2>err &&
	! grep -F -e "$CATCHALL_SECRET" status err &&
	test_grep ! "account:" status &&
	git config --global --replace-all credential.helper \
		"!f() { test \"\$1\" = get && echo password=$CATCHALL_SECRET; }; f" &&
	git bbs status >status 2>err &&
	! grep -F -e "$CATCHALL_SECRET" status err &&
	test_grep ! "account:" status &&
	test_must_fail git bbs token "$REPO" >out 2>err &&
	! grep -F -e "$CATCHALL_SECRET" out err
'

# Older versions wrote the lists without their mark: still read, and
# marked at the next save.
test_expect_success 'lists written without the mark are read, then marked' '
	git config --global --replace-all credential.helper "store --file=$PWD/creds2" &&
	sed -i "s/^\(bbs:\/\/git-remote-bbs:\)bbs-index-1%20/\1/" creds2 &&
	test_grep ! "bbs-index-1" creds2 &&
	git bbs status "$REPO" >status &&
	grep "account: alice" status &&
	git bbs token "$REPO" >tok &&
	test -s tok &&
	git bbs logout "$REPO" 2>err &&
	test_grep "Signed out" err &&
	git bbs login "$REPO" 2>err &&
	grep "^bbs://git-remote-bbs:bbs-index-1%20alice@" creds2
'

test_expect_success 'git credential-cache keeps the grant too' '
	git config --global credential.helper "cache --socket=$PWD/cache/sock --timeout=600" &&
	test_when_finished "git credential-cache --socket=$PWD/cache/sock exit" &&
	git bbs login "$REPO" 2>err &&
	grep "Signed in" err &&
	git -C work fetch -q origin &&
	git bbs token "$REPO" >tok &&
	test -s tok
'

test_done
