#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='automatic sign-ins: one for many processes, a cooldown after a failed one'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/repo.git

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure
'

test_expect_success '4 processes with no token: one browser, one code grant, four successes' '
	before=$(oauth_count authorization_code) &&
	for i in 1 2 3 4; do
		(BROWSER=$BROWSER_STANDIN BBS_TEST_BROWSER_DELAY=1 \
		 BBS_TEST_BROWSER_LOG=$PWD/browser.log \
			git ls-remote "$REPO" >"p$i.out" 2>"p$i.err"; echo $? >"p$i.rc") &
	done &&
	wait &&
	cat p*.rc | sort -u >rcs &&
	echo 0 >expect &&
	{ test_cmp expect rcs || { cat p*.err; false; }; } &&
	test_line_count = 1 browser.log &&
	test $(($(oauth_count authorization_code) - before)) = 1 &&
	grep -l "Signed in to 127.0.0.1 as alice" p*.err >signed &&
	test_line_count = 1 signed &&
	for i in 1 2 3 4; do
		grep refs/heads/main "p$i.out" || return 1
	done
'

test_expect_success 'a declined sign-in: no other starts by itself during the cooldown' '
	git bbs logout "$REPO" 2>/dev/null &&
	rm -f browser.log &&
	test_must_fail env BROWSER=$BROWSER_STANDIN BBS_TEST_BROWSER_DECISION=deny \
		BBS_TEST_BROWSER_LOG=$PWD/browser.log git ls-remote "$REPO" 2>err &&
	test_line_count = 1 browser.log &&
	start=$(ms) &&
	test_must_fail env BROWSER=$BROWSER_STANDIN \
		BBS_TEST_BROWSER_LOG=$PWD/browser.log git ls-remote "$REPO" 2>err &&
	took_less_than $start 3000 &&
	test_line_count = 1 browser.log &&
	grep "an automatic sign-in to .127.0.0.1. failed [0-9]* seconds ago" err &&
	grep "hint: sign in with: git bbs login $FORGE_URL/team/repo.git" err
'

test_expect_success 'git bbs login always runs, and ends the cooldown' '
	BROWSER=$BROWSER_STANDIN git bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	git bbs logout "$REPO" 2>/dev/null &&
	BROWSER=$BROWSER_STANDIN git ls-remote "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err
'

test_expect_success 'signInCooldown=0: a failed sign-in does not hold the next back' '
	git bbs logout "$REPO" 2>/dev/null &&
	git config --global "bbs.$FORGE_URL.signInCooldown" 0 &&
	test_must_fail env BROWSER=$BROWSER_STANDIN BBS_TEST_BROWSER_DECISION=deny \
		git ls-remote "$REPO" 2>err &&
	BROWSER=$BROWSER_STANDIN git ls-remote "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err
'

test_expect_success 'the cooldown marker is never written through a symbolic link' '
	git bbs logout "$REPO" 2>/dev/null &&
	test_must_fail env BROWSER=$BROWSER_STANDIN BBS_TEST_BROWSER_DECISION=deny \
		git ls-remote "$REPO" 2>err &&
	marker=$(ls "$XDG_STATE_HOME"/git-remote-bbs/signin-failed-*) &&
	test -f "$marker" &&
	echo precious >victim &&
	rm "$marker" &&
	ln -s "$PWD/victim" "$marker" &&
	test_must_fail env BROWSER=$BROWSER_STANDIN BBS_TEST_BROWSER_DECISION=deny \
		git ls-remote "$REPO" 2>err &&
	echo precious >expect &&
	test_cmp expect victim &&
	rm "$marker"
'

test_expect_success 'a symbolic link in place of the marker holds no sign-in back, and is replaced' '
	git config --global --unset "bbs.$FORGE_URL.signInCooldown" &&
	test_when_finished "git config --global bbs.$FORGE_URL.signInCooldown 0" &&
	echo fresh >fresh &&
	ln -s "$PWD/fresh" "$marker" &&
	BROWSER=$BROWSER_STANDIN git ls-remote "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	git bbs logout "$REPO" 2>/dev/null &&
	ln -sf "$PWD/fresh" "$marker" &&
	test_must_fail env BROWSER=$BROWSER_STANDIN BBS_TEST_BROWSER_DECISION=deny \
		git ls-remote "$REPO" 2>err &&
	test -f "$marker" && ! test -L "$marker" &&
	echo fresh >expect &&
	test_cmp expect fresh &&
	test_must_fail env BROWSER=$BROWSER_STANDIN git ls-remote "$REPO" 2>err &&
	grep "none starts again for" err &&
	rm "$marker"
'

# planting a file of another user needs root
[ "$(id -u)" = 0 ] && test_set_prereq ROOT

test_expect_success ROOT 'a lock file that is not ours is refused, with what to do' '
	for f in "$XDG_STATE_HOME"/git-remote-bbs/lock-*; do
		chown 65534 "$f" || return 1
	done &&
	test_must_fail env BROWSER=$BROWSER_STANDIN git ls-remote "$REPO" 2>err &&
	grep "the lock file .* is not a file of yours; remove it" err &&
	rm -f "$XDG_STATE_HOME"/git-remote-bbs/lock-* &&
	BROWSER=$BROWSER_STANDIN git ls-remote "$REPO" >out 2>err &&
	grep refs/heads/main out
'

test_expect_success 'SIGTERM during a slow token exchange: stops at once, nothing stored' '
	git bbs logout "$REPO" 2>/dev/null &&
	cp "$STORE" store.before &&
	oauth_fault slow 8 &&
	test_when_finished "oauth_fault clear" &&
	(BROWSER=$BROWSER_STANDIN GIT_TRACE_BBS=$PWD/term.trace \
		git bbs login "$REPO" 2>term.err & echo $! >term.pid) &&
	wait_for_text term.trace "POST /token" 100 &&
	sleep 0.3 &&
	start=$(ms) &&
	kill -TERM $(cat term.pid) &&
	wait_for_text term.err "sign-in interrupted" 100 &&
	wait_for_exit term.pid 50 &&
	took_less_than $start 2500 &&
	cmp "$STORE" store.before &&
	ls "$XDG_STATE_HOME/git-remote-bbs" >files &&
	! grep -v -e "^tokens.json$" -e "^lock-" -e "^lock$" files
'

test_expect_success 'a loginTimeout beyond a day is refused, naming the setting' '
	git bbs logout "$REPO" 2>/dev/null &&
	start=$(ms) &&
	test_must_fail env BROWSER=true git -c bbs.loginTimeout=2147484 \
		bbs login "$REPO" 2>err &&
	took_less_than $start 5000 &&
	grep "bad value .2147484. for .bbs.<url>.loginTimeout. (use 1 to 86400 seconds)" err &&
	! grep "no sign-in response arrived in time" err &&
	test_must_fail env BROWSER=true git -c bbs.loginTimeout=-5 \
		bbs login "$REPO" 2>err &&
	grep "bad value .-5. for .bbs.<url>.loginTimeout." err
'

test_expect_success 'the longest loginTimeout waits as long as it says' '
	(BROWSER=true git -c bbs.loginTimeout=86400 bbs login "$REPO" \
		2>long.err & echo $! >long.pid) &&
	test_when_finished "kill \$(cat long.pid) 2>/dev/null; :" &&
	wait_for_text long.err "Waiting up to 86400 seconds" 100 &&
	sleep 2 &&
	kill -0 $(cat long.pid) &&
	kill -TERM $(cat long.pid) &&
	wait_for_exit long.pid 50 &&
	grep "sign-in interrupted" long.err
'

test_done
