#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='the hand-off directory without XDG_RUNTIME_DIR: never a name another user can take first'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/repo.git
TMPDIR_NAME=/tmp/git-remote-bbs-$(id -u)

# Another user, played by root, who makes the /tmp name first.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	! test -e "$TMPDIR_NAME"; then
	test_set_prereq OTHER_USER
fi

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure
'

test_expect_success 'without XDG_RUNTIME_DIR the sign-in waits under the state directory' '
	env -u XDG_RUNTIME_DIR BROWSER=$BROWSER_STANDIN \
		git bbs login "$FORGE_URL/team/repo.git" 2>err &&
	test_grep "Signed in" err &&
	test "$(stat -c %a "$XDG_STATE_HOME/git-remote-bbs/run")" = 700 &&
	test "$(stat -c %u "$XDG_STATE_HOME/git-remote-bbs/run")" = "$(id -u)"
'

test_expect_success OTHER_USER 'a /tmp directory another user made first does not stop the sign-in' '
	test_when_finished "rm -rf \"$TMPDIR_NAME\"" &&
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		mkdir -m 777 "$TMPDIR_NAME" &&
	test "$(stat -c %u "$TMPDIR_NAME")" = 65534 &&
	git bbs logout "$FORGE_URL/team/repo.git" 2>/dev/null &&
	env -u XDG_RUNTIME_DIR BROWSER=$BROWSER_STANDIN \
		git bbs login "$FORGE_URL/team/repo.git" 2>err &&
	test_grep "Signed in" err &&
	test -z "$(ls -A "$TMPDIR_NAME")"
'

test_expect_success 'a hand-off with nobody waiting says so' '
	mkdir -m 700 run1 &&
	test_must_fail env XDG_RUNTIME_DIR=$PWD/run1 git bbs callback \
		"org.git-remote-bbs:/callback?code=c0de&state=st4te" 2>err &&
	test_grep "no sign-in is waiting for this response" err
'

test_expect_success 'a hand-off into a directory others may enter is refused' '
	mkdir -m 700 run2 &&
	mkdir -m 777 run2/git-remote-bbs &&
	test_must_fail env XDG_RUNTIME_DIR=$PWD/run2 git bbs callback \
		"org.git-remote-bbs:/callback?code=c0de&state=st4te" 2>err &&
	test_grep "is not a private directory of this user" err &&
	test_grep ! c0de err
'

test_done
