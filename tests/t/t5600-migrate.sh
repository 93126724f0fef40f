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

test_expect_success 'a URL that stays keeps its password and its place; no password reaches argv' '
	git init -q repo2 &&
	git -C repo2 remote add bb "https://bitbucket.org/team/r.git" &&
	git -C repo2 config --add remote.bb.pushurl "https://bitbucket.org/team/r.git" &&
	git -C repo2 config --add remote.bb.pushurl "http://bob:$URL_PASSWORD@example.com/x" &&
	git -C repo2 config --add remote.bb.pushurl "https://carol:$URL_PASSWORD@bitbucket.org/team/(r).git" &&
	(cd repo2 && GIT_TRACE=$TRASH_DIRECTORY/trace git bbs migrate) >out 2>err &&
	git -C repo2 config --get-all remote.bb.pushurl >actual &&
	cat >expect <<-EOF &&
	bbs::https://bitbucket.org/team/r.git
	http://bob:$URL_PASSWORD@example.com/x
	bbs::https://carol@bitbucket.org/team/(r).git
	EOF
	test_cmp expect actual &&
	test "$(git -C repo2 config remote.bb.url)" = "bbs::https://bitbucket.org/team/r.git" &&
	test -s trace &&
	! grep -F -e "$URL_PASSWORD" trace out err
'

test_expect_success 'two URLs of a key that differ only in a password: refused, nothing changed' '
	git init -q repo4 &&
	git -C repo4 remote add bb "https://bob:one@bitbucket.org/team/r.git" &&
	git -C repo4 config --add remote.bb.url "https://bob:two@bitbucket.org/team/r.git" &&
	git -C repo4 remote add other "https://bitbucket.org/team/o.git" &&
	cp repo4/.git/config config.before &&
	(cd repo4 && test_must_fail git bbs migrate) >out 2>err &&
	grep "bb: two URLs of remote.bb.url differ only in a password; remove one first" err &&
	test_cmp config.before repo4/.git/config
'

# A wrapper git whose config writes fail after the first, as when
# migrate is killed or the disk fills between two of them.  git puts its
# exec path first in the PATH of the commands it runs: the wrapper is
# there.
test_expect_success 'a migration stopped after one write leaves every remote with its URLs' '
	real_git=$(command -v git) &&
	mkdir failing &&
	cat >failing/git <<-EOF &&
	#!/bin/sh
	if test "\$1" = config
	then
		case " \$* " in
		*" -z "*|*" --get"*|*" --list "*) ;;
		*)	n=\$(cat "$TRASH_DIRECTORY/writes" 2>/dev/null || echo 0)
			echo \$((n + 1)) >"$TRASH_DIRECTORY/writes"
			test "\$n" -eq 0 || exit 1 ;;
		esac
	fi
	exec "$real_git" "\$@"
	EOF
	chmod +x failing/git &&
	git init -q repo5 &&
	git -C repo5 remote add one "https://bitbucket.org/team/one.git" &&
	git -C repo5 remote add two "https://bitbucket.org/team/two.git" &&
	git -C repo5 config --add remote.two.url "https://bitbucket.org/team/two-b.git" &&
	(cd repo5 && GIT_EXEC_PATH=$TRASH_DIRECTORY/failing test_must_fail git bbs migrate) >out 2>err &&
	grep "git config remote.two.url failed" err &&
	test "$(git -C repo5 config remote.one.url)" = "bbs::https://bitbucket.org/team/one.git" &&
	git -C repo5 config --get-all remote.two.url >actual &&
	printf "%s\n" https://bitbucket.org/team/two.git https://bitbucket.org/team/two-b.git >expect &&
	test_cmp expect actual &&
	rm -f writes &&
	(cd repo5 && git bbs migrate) >out &&
	git -C repo5 config --get-all remote.two.url >actual &&
	printf "%s\n" bbs::https://bitbucket.org/team/two.git bbs::https://bitbucket.org/team/two-b.git >expect &&
	test_cmp expect actual
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

test_expect_success 'bitbucket.org on another port is not Bitbucket Cloud' '
	git init -q repo6 &&
	git -C repo6 remote add cloud "https://bitbucket.org:443/team/c.git" &&
	git -C repo6 remote add other "https://bitbucket.org:8443/team/o.git" &&
	(cd repo6 && git bbs migrate) >out &&
	test "$(git -C repo6 config remote.cloud.url)" = "bbs::https://bitbucket.org:443/team/c.git" &&
	test "$(git -C repo6 config remote.other.url)" = "https://bitbucket.org:8443/team/o.git" &&
	! grep "^other:" out
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
