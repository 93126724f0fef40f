#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='git bbs doctor: one line a check, the fix after each problem, exit 1 on an error, never a secret'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
command -v script >/dev/null && test_set_prereq TTY
URL=$FORGE_URL/team/repo.git
HOSTPORT=${FORGE_URL#http://}
SAVED_PASSWORD=old-app-password-$$-4d2b

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure
'

test_expect_success 'nobody signed in: an error, the login command, exit 1' '
	test_must_fail git bbs doctor "$URL" >out 2>err &&
	grep "^ok      git-remote-bbs: " out &&
	grep "^ok      provider: generic" out &&
	grep "^ok      discovery: $OAUTH_URL answered" out &&
	grep "^ok      token endpoint .*: reachable (HTTP [0-9]*)" out &&
	grep "^ok      clock: within" out &&
	grep "^error   sign-in: nobody is signed in to 127.0.0.1" out &&
	grep "^  fix: git bbs login $URL$" out &&
	grep "^warning submodules: protocol.bbs.allow is not set" out &&
	grep "^  fix: git config --global protocol.bbs.allow always$" out &&
	test_must_be_empty err
'

test_expect_success 'signed in and set up: no error, exit 0, no secret printed' '
	BROWSER=$BROWSER_STANDIN git bbs login "$URL" 2>/dev/null &&
	git config --global protocol.bbs.allow always &&
	git bbs doctor "$URL" >out &&
	grep "^ok      sign-in: account .alice.: access token valid for" out &&
	grep "^ok      submodules: protocol.bbs.allow=always" out &&
	grep "^0 errors" out &&
	! grep -F -e "$(stored access_token)" out &&
	! grep -F -e "$(stored refresh_token)" out
'

test_expect_success '--offline skips the servers' '
	git bbs doctor --offline "$URL" >out &&
	grep "^skipped servers: not contacted (--offline)" out &&
	! grep "token endpoint" out
'

test_expect_success 'a password that a helper still keeps for the host is an error' '
	git config --global credential.helper store &&
	printf "http://jane:%s@%s\n" "$SAVED_PASSWORD" "$HOSTPORT" >"$HOME/.git-credentials" &&
	chmod 600 "$HOME/.git-credentials" &&
	test_must_fail git bbs doctor --offline "$URL" >out 2>err &&
	grep "^credential helper .store. keeps a password for jane@$HOSTPORT$" out &&
	grep "^error   saved passwords: 1 kept for $HOSTPORT" out &&
	grep "^  fix: git bbs migrate --forget-passwords" out &&
	! grep -F -e "$SAVED_PASSWORD" out err &&
	git config --global --unset credential.helper &&
	rm "$HOME/.git-credentials"
'

test_expect_success 'a token store others can read is an error with the chmod' '
	chmod 644 "$STORE" &&
	test_when_finished "chmod 600 \"$STORE\"" &&
	test_must_fail git bbs doctor --offline "$URL" >out &&
	grep "^error   token store: .* is readable by others or not yours (mode 644)" out &&
	grep "^  fix: chmod 600 " out
'

test_expect_success 'an unreachable authorization server is an error' '
	oauth_stop &&
	test_must_fail git bbs doctor "$URL" >out &&
	grep "^error   discovery at $OAUTH_URL: " out &&
	oauth_start &&
	oauth_configure
'

test_expect_success 'a host with no configuration says what to set' '
	test_must_fail git bbs doctor --offline https://git.example.com/x.git >out &&
	grep "^error   configuration: no OAuth provider is configured for .git.example.com." out &&
	grep "^  fix: " out
'

test_expect_success 'in a repository: its bbs:: remotes, and the LFS settings' '
	git init -q repo &&
	git -C repo remote add origin "bbs::$URL" &&
	git -C repo remote add plain https://example.com/x.git &&
	git -C repo config filter.lfs.process "git-lfs filter-process" &&
	(cd repo && test_might_fail git bbs doctor --offline) >out &&
	grep "^origin: bbs::$URL$" out &&
	! grep "^plain:" out &&
	grep "^warning git lfs: remote.origin.lfsurl is not set" out
'

test_expect_success 'a remote URL with a password in it: shown masked, and refused' '
	git init -q pw &&
	git -C pw remote add p "bbs::https://alice:$SAVED_PASSWORD@bitbucket.org/t/r.git" &&
	(cd pw && test_must_fail git bbs doctor --offline) >out 2>err &&
	grep "^p: bbs::https://alice:\*\*\*@bitbucket.org/t/r.git$" out &&
	! grep -F -e "$SAVED_PASSWORD" out err
'

test_expect_success TTY 'each remote is checked with the terminal there: asking the helpers about passwords changes nothing for the next' '
	git init -q two &&
	git -C two remote add a "bbs::$URL" &&
	git -C two remote add b "bbs::$URL" &&
	(cd two && test_might_fail env -u BROWSER -u DISPLAY -u WAYLAND_DISPLAY \
		-u GIT_TERMINAL_PROMPT script -qfec "git bbs doctor --offline" \
		/dev/null) >tty.out 2>&1 &&
	grep "sign-in here: .*a terminal is there" tty.out >lines &&
	test_line_count = 2 lines
'

test_done
