#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='git bbs migrate: https remotes of configured hosts move to bbs::, saved passwords found and removed'

. "$(dirname "$0")/test-lib.sh"

APP_PASSWORD=app-password-$$-7f3a
URL_PASSWORD=hunter2-$$-9c1e

test_expect_success 'set up a repository with several remotes' '
	git init -q repo &&
	git config --global "bbs.https://git.example.com.clientId" example-client &&
	# a setting for no URL in particular makes no host ours
	git config --global bbs.tokenStore file &&
	git -C repo remote add origin "https://jane%40example.com@bitbucket.org/team/repo.git" &&
	git -C repo remote add work "https://alice@git.example.com/team/r.git" &&
	git -C repo remote set-url --push work "https://git.example.com/team/r-push.git" &&
	git -C repo remote add hub "https://github.com/team/x.git" &&
	git -C repo remote add old "https://bob:$URL_PASSWORD@bitbucket.org/team/p.git" &&
	git -C repo remote add done "bbs::https://bitbucket.org/team/done.git" &&
	git config --global credential.helper store &&
	printf "https://jane:%s@bitbucket.org\n" "$APP_PASSWORD" >"$HOME/.git-credentials" &&
	chmod 600 "$HOME/.git-credentials"
'

test_expect_success '--dry-run prints every change and changes nothing' '
	cp repo/.git/config config.before &&
	cp "$HOME/.git-credentials" creds.before &&
	(cd repo && git bbs migrate --dry-run) >out 2>err &&
	test_cmp config.before repo/.git/config &&
	test_cmp creds.before "$HOME/.git-credentials" &&
	grep "^origin: URL https://jane%40example.com@bitbucket.org/team/repo.git -> bbs::https://bitbucket.org/team/repo.git$" out &&
	grep "^origin: dropped the e-mail address jane%40example.com" out &&
	grep "^work: URL https://alice@git.example.com/team/r.git -> bbs::https://alice@git.example.com/team/r.git$" out &&
	grep "^work: kept alice to choose the signed-in account$" out &&
	grep "^work: push URL https://git.example.com/team/r-push.git -> bbs::https://git.example.com/team/r-push.git$" out &&
	grep "^old: URL https://bob:\*\*\*@bitbucket.org/team/p.git -> bbs::https://bob@bitbucket.org/team/p.git$" out &&
	grep "^old: dropped the password" out &&
	grep "keeps a password for jane@bitbucket.org" out &&
	grep "dry run" out &&
	! grep "^hub:" out &&
	! grep "^done:" out
'

test_expect_success 'no password reaches the output' '
	! grep -F -e "$APP_PASSWORD" out err &&
	! grep -F -e "$URL_PASSWORD" out err
'

test_expect_success 'migrate one remote by name' '
	(cd repo && git bbs migrate work) >out &&
	test "$(git -C repo config remote.work.url)" = "bbs::https://alice@git.example.com/team/r.git" &&
	test "$(git -C repo config remote.work.pushurl)" = "bbs::https://git.example.com/team/r-push.git" &&
	test "$(git -C repo config remote.origin.url)" = "https://jane%40example.com@bitbucket.org/team/repo.git" &&
	grep -F "https://jane:$APP_PASSWORD@bitbucket.org" "$HOME/.git-credentials"
'

test_expect_success 'an unknown remote is an error and changes nothing' '
	cp repo/.git/config config.before &&
	(cd repo && test_must_fail git bbs migrate nosuch) 2>err &&
	grep "no such remote: .nosuch." err &&
	test_cmp config.before repo/.git/config
'

test_expect_success '--forget-passwords migrates the rest and removes the saved password' '
	(cd repo && git bbs migrate --forget-passwords) >out 2>err &&
	test "$(git -C repo config remote.origin.url)" = "bbs::https://bitbucket.org/team/repo.git" &&
	test "$(git -C repo config remote.old.url)" = "bbs::https://bob@bitbucket.org/team/p.git" &&
	test "$(git -C repo config remote.hub.url)" = "https://github.com/team/x.git" &&
	test "$(git -C repo config remote.done.url)" = "bbs::https://bitbucket.org/team/done.git" &&
	grep "removed it" out &&
	! grep -F -e "$APP_PASSWORD" "$HOME/.git-credentials" &&
	! grep -F -e "$APP_PASSWORD" out err repo/.git/config &&
	! grep -F -e "$URL_PASSWORD" out err repo/.git/config
'

test_expect_success 'a second run has nothing to do' '
	cp repo/.git/config config.before &&
	(cd repo && git bbs migrate) >out &&
	grep "nothing to migrate" out &&
	test_cmp config.before repo/.git/config
'

test_expect_success 'a URL that stays with a password in it, of any scheme, stops its key; the password never reaches argv' '
	git init -q repo2 &&
	git -C repo2 remote add bb "https://bitbucket.org/team/r.git" &&
	git -C repo2 config --add remote.bb.pushurl "https://bitbucket.org/team/r.git" &&
	git -C repo2 config --add remote.bb.pushurl "http://bob:$URL_PASSWORD@example.com/x" &&
	cp repo2/.git/config config.before &&
	(cd repo2 && GIT_TRACE=$TRASH_DIRECTORY/trace test_must_fail git bbs migrate) >out 2>err &&
	grep "bb: another URL of remote.bb.pushurl has a password in it; remove it first" err &&
	test_cmp config.before repo2/.git/config &&
	test -s trace &&
	! grep -F -e "$URL_PASSWORD" trace out err
'

test_expect_success 'a remote name with escape sequences is shown masked' '
	git init -q repo3 &&
	printf "[remote \"ev\033]0;title\007il\"]\n\turl = https://bob:pw@bitbucket.org/team/r.git\n" >>repo3/.git/config &&
	(cd repo3 && git bbs migrate) >out &&
	! LC_ALL=C grep -q "$(printf "[\033\007]")" out &&
	grep -F "ev^[]0;title^Gil: URL https://bob:***@bitbucket.org/team/r.git -> bbs::https://bob@bitbucket.org/team/r.git" out &&
	grep -F "ev^[]0;title^Gil: kept bob" out &&
	grep -F "ev^[]0;title^Gil: dropped the password" out &&
	test "$(git -C repo3 config "remote.$(printf "ev\033]0;title\007il").url")" = "bbs::https://bob@bitbucket.org/team/r.git"
'

test_expect_success 'wrong arguments: the usage, exit 129' '
	(cd repo && test_expect_code 129 git bbs migrate --bogus) 2>err &&
	grep "^usage: git bbs migrate " err
'

test_expect_success 'outside a repository it says so' '
	mkdir outside &&
	(cd outside && GIT_CEILING_DIRECTORIES=$PWD/.. test_must_fail git bbs migrate) 2>err &&
	grep "not in a git repository" err
'

test_done
