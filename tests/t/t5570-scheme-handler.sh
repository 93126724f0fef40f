#!/bin/bash
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
oauth_start --redirect-uri-prefix org.git-remote-bbs:
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

test_done
