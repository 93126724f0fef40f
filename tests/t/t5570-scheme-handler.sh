#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='the private-use URI scheme registered with xdg-mime, delivered by xdg-open'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

if ! command -v xdg-open >/dev/null || ! command -v xdg-mime >/dev/null; then
	skip_all='xdg-utils is not installed'
	test_done
fi

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/repo.git

test_expect_success 'register the scheme handler as contrib/linux says' '
	mkdir -p "$XDG_DATA_HOME/applications" &&
	install -m 644 "$SRCDIR/contrib/linux/git-bbs-callback.desktop" \
		"$XDG_DATA_HOME/applications/" &&
	xdg-mime default git-bbs-callback.desktop x-scheme-handler/org.git-remote-bbs &&
	test "$(xdg-mime query default x-scheme-handler/org.git-remote-bbs)" = git-bbs-callback.desktop
'

test_expect_success 'a sign-in whose redirect the desktop delivers through xdg-open' '
	forge_create_repo team/repo.git &&
	oauth_configure &&
	git config --global "bbs.$FORGE_URL.redirectUri" org.git-remote-bbs:/callback &&
	# the browser approves, then leaves the redirect to the desktop
	cat >desktop-browser <<-EOF &&
	#!/bin/sh
	BBS_TEST_BROWSER_PRINT="$PWD/location" "$BROWSER_STANDIN" "\$1" &&
	echo delivered-by-xdg-open >"$PWD/xdg.log" &&
	DISPLAY=:99 xdg-open "\$(cat "$PWD/location")"
	EOF
	chmod +x desktop-browser &&
	BROWSER=$PWD/desktop-browser git bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	test_path_is_file xdg.log &&
	grep "^org.git-remote-bbs:/callback?code=" location &&
	git clone -q "$REPO" work
'

test_expect_success 'git bbs callback --register and --unregister, for the current user' '
	git bbs callback --register org.example.bbstest >out &&
	desktop=$XDG_DATA_HOME/applications/git-bbs-org.example.bbstest.desktop &&
	test_path_is_file "$desktop" &&
	grep "^MimeType=x-scheme-handler/org.example.bbstest;$" "$desktop" &&
	exe=$(sed -n "s/^Exec=\(.*\) callback %u$/\1/p" "$desktop") &&
	case $exe in /*/git-bbs) ;; *) false ;; esac &&
	test -x "$exe" &&
	test "$(xdg-mime query default x-scheme-handler/org.example.bbstest)" = \
		git-bbs-org.example.bbstest.desktop &&
	grep "Registered git bbs as the handler of org.example.bbstest: URIs" out &&
	git bbs callback --unregister org.example.bbstest >out &&
	test_path_is_missing "$desktop"
'

test_expect_success 'a sign-in with no handler registered registers one first, then works' '
	rm -f "$XDG_DATA_HOME"/applications/*.desktop "$XDG_CONFIG_HOME/mimeapps.list" \
		"$XDG_DATA_HOME/applications/mimeapps.list" &&
	test -z "$(xdg-mime query default x-scheme-handler/org.git-remote-bbs)" &&
	git bbs logout "$REPO" 2>/dev/null &&
	BROWSER=$PWD/desktop-browser git bbs login "$REPO" 2>err &&
	grep "^Registered git bbs as the handler of org.git-remote-bbs: URIs" err &&
	test "$(grep -c Registered err)" = 1 &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	test "$(xdg-mime query default x-scheme-handler/org.git-remote-bbs)" = \
		git-bbs-org.git-remote-bbs.desktop &&
	git bbs logout "$REPO" 2>/dev/null &&
	BROWSER=$PWD/desktop-browser git bbs login "$REPO" 2>err &&
	! grep Registered err
'

test_expect_success 'what macOS and Windows registration would write' '
	git bbs callback --register --dry-run --platform macos org.example.app >mac &&
	grep "osacompile -o .*/Applications/GitBbsCallback-org.example.app.app" mac &&
	grep "CFBundleURLSchemes = (\"org.example.app\")" mac &&
	grep "lsregister -f" mac &&
	git bbs callback --register --dry-run --platform windows org.example.app >win &&
	grep "^would run: reg add HKCU\\\\Software\\\\Classes\\\\org.example.app /v \"URL Protocol\"" win &&
	grep "shell.open.command /ve /d .*bbs callback" win &&
	test_must_fail git bbs callback --register --platform windows org.example.app 2>err &&
	grep "only on Windows" err
'

test_expect_success 'a scheme that is not private-use is refused' '
	test_must_fail git bbs callback --register https 2>err &&
	grep "is not a private-use URI scheme" err &&
	test_must_fail git bbs callback --register "org.example;rm" 2>err &&
	grep "is not a private-use URI scheme" err
'

test_done
