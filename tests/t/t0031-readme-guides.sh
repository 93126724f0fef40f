#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='the README and the programs in step: its commands, options and keys exist, and each guide runs against the local forge'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

README=$SRCDIR/README.md
CHECK=$SRCDIR/tests/t/readme-guides.py
GUIDE_LOG=$TRASH_DIRECTORY/guide-commands

# readme_check WHAT ARGS...: run the checker, show its problems, and fail
# when it found any.
readme_check() {
	local rc
	python3 "$CHECK" "$@" >problems 2>&1
	rc=$?
	cat problems
	return $rc
}

# guide CMD ARGS...: run a command a guide of the README shows, and
# record it for the last test (which checks that every git command of
# the guides was run here).
guide() {
	printf '%s\n' "$*" >>"$GUIDE_LOG" &&
	"$@"
}

# guide_ran CMD ARGS...: record a guide command that the test runs in
# another way (under script(1), for a terminal).
guide_ran() {
	printf '%s\n' "$*" >>"$GUIDE_LOG"
}

command -v script >/dev/null && test_set_prereq TTY
command -v git-lfs >/dev/null && test_set_prereq LFS

test_expect_success 'every git bbs command and option the README shows is in the usage text' '
	git-bbs --help >usage &&
	readme_check commands "$README" usage
'

test_expect_success 'every bbs.* key and BBS_* variable the README names is one the programs read' '
	readme_check keys "$README" "$SRCDIR"
'

test_expect_success 'the checks fail on an option, a key or a variable that does not exist' '
	sed "s/git bbs status \[<url>\]/git bbs status --all [<url>]/" "$README" >bad-option.md &&
	test_must_fail readme_check commands bad-option.md usage >out &&
	grep "git bbs status --all: not an option of git bbs status" out &&
	sed "s/git bbs logout \[<url>\]/git bbs signout [<url>]/" "$README" >bad-command.md &&
	test_must_fail readme_check commands bad-command.md usage >out &&
	grep "git bbs signout: not a command" out &&
	sed "s/\`bbs.<url>.scopes\`/\`bbs.<url>.scope\`/" "$README" >bad-key.md &&
	test_must_fail readme_check keys bad-key.md "$SRCDIR" >out &&
	grep "bbs.<url>.scope: no program reads this key" out &&
	sed "s/\`bbs.tokenStore\`/\`bbs.<url>.tokenStore\`/" "$README" >bad-url.md &&
	test_must_fail readme_check keys bad-url.md "$SRCDIR" >out &&
	grep "bbs.<url>.tokenStore: this key takes no URL" out &&
	sed "s/\`BBS_FLOW\`/\`BBS_SIGNIN_FLOW\`/" "$README" >bad-env.md &&
	test_must_fail readme_check keys bad-env.md "$SRCDIR" >out &&
	grep "BBS_SIGNIN_FLOW: neither a program nor a script reads it" out
'

forge_start
oauth_start
URL=$FORGE_URL/team/repo.git
REPO=bbs::$URL
export BROWSER=$BROWSER_STANDIN

test_expect_success 'set up the served repositories' '
	forge_create_repo team/repo.git &&
	forge_create_repo team/lfs.git &&
	forge_create_repo team/sub.git &&
	forge_create_repo team/super.git --empty
'

# Guide "CI": a static token, no sign-in and no configuration.
test_expect_success 'CI with a static token: clone and push' '
	TOKEN=$(new_token) &&
	forge_grant "$TOKEN" write &&
	mkdir ci &&
	(
		cd ci &&
		BBS_ACCESS_TOKEN=$TOKEN guide git clone "$REPO" &&
		commit_file repo ci.txt "from CI" &&
		cd repo &&
		BBS_ACCESS_TOKEN=$TOKEN guide git push origin HEAD:main
	) &&
	test "$(server_git team/repo.git rev-parse main)" = "$(git -C ci/repo rev-parse HEAD)" &&
	test_path_is_missing "$STORE" &&
	! grep -F -e "$TOKEN" ci/repo/.git/config
'

# Guide "A generic OpenID Connect server".
test_expect_success 'generic OIDC server: configure, sign in, clone' '
	guide git config --global "bbs.$FORGE_URL.issuer" "$OAUTH_URL" &&
	guide git config --global "bbs.$FORGE_URL.clientId" bbs-test-client &&
	guide git config --global "bbs.$FORGE_URL.scopes" git:write &&
	guide git config --global "bbs.$FORGE_URL.redirectUri" http://127.0.0.1/callback &&
	guide git bbs login "$URL" 2>err &&
	grep "redirect_uri=http%3A%2F%2F127.0.0.1%3A[0-9][0-9]*%2Fcallback&" err &&
	grep "Signed in to 127.0.0.1" err &&
	mkdir generic &&
	(cd generic && guide git clone "$REPO") &&
	git -C generic/repo log -1 --format=%s >subject &&
	grep "ci.txt" subject
'

# Guide "A headless machine over SSH": the device flow.
test_expect_success 'headless: the device flow, approved on another device' '
	git bbs logout "$URL" 2>/dev/null &&
	guide_ran git bbs login --flow device "$URL" &&
	(env -u BROWSER git bbs login --flow device "$URL" 2>device.err &
	 echo $! >device.pid) &&
	oauth_device_approve device.err &&
	wait_for_exit device.pid 200 &&
	grep "Signed in to 127.0.0.1" device.err &&
	git -C generic/repo fetch -q origin
'

# Guide "WSL": with WSL_DISTRO_NAME set the browser is opened with wslview
# (here a stand-in for it: the browser stand-in under that name).
test_expect_success 'WSL: the browser is opened with wslview, only under WSL' '
	git bbs logout "$URL" 2>/dev/null &&
	mkdir wslbin &&
	printf "#!/bin/sh\nexec \"%s\" \"\$@\"\n" "$BROWSER_STANDIN" >wslbin/wslview &&
	chmod +x wslbin/wslview &&
	test_must_fail setsid -w env -u BROWSER -u DISPLAY -u WAYLAND_DISPLAY -u WSL_DISTRO_NAME \
		PATH="$PWD/wslbin:$PATH" git bbs login "$URL" </dev/null 2>err &&
	grep "no browser or terminal" err &&
	env -u BROWSER -u DISPLAY -u WAYLAND_DISPLAY WSL_DISTRO_NAME=Debian \
		PATH="$PWD/wslbin:$PATH" git bbs login "$URL" </dev/null 2>err &&
	grep "Signed in to 127.0.0.1" err
'

# Guide "IDEs": a plain https:// remote with git-credential-bbs.
# A store helper configured before: the empty value keeps the token out
# of it.
test_expect_success 'IDEs: a plain remote with git-credential-bbs as credential helper' '
	git config --global credential.helper "store --file=$PWD/ide-creds" &&
	guide git config --global "credential.$FORGE_URL.helper" "" &&
	guide git config --global --add "credential.$FORGE_URL.helper" bbs &&
	mkdir ide &&
	(cd ide && guide git clone "$URL") &&
	test "$(git -C ide/repo config remote.origin.url)" = "$URL" &&
	git -C ide/repo fetch -q origin &&
	test_path_is_missing ide-creds &&
	! grep -F -e "$(stored access_token)" ide/repo/.git/config "$HOME/.gitconfig" &&
	git config --global --remove-section "credential.$FORGE_URL" &&
	git config --global --unset credential.helper
'

# Guide "CI": the client-credentials grant.
test_expect_success 'CI with client credentials: sign in with the secret from the environment, clone' '
	git bbs logout "$URL" 2>/dev/null &&
	secret=$(new_token) &&
	oauth_secret "$secret" &&
	test_when_finished "oauth_secret clear" &&
	BBS_CLIENT_SECRET=$secret guide git bbs login --flow client-credentials "$URL" 2>err &&
	test -z "$(stored refresh_token)" &&
	mkdir cc &&
	(cd cc && BBS_CLIENT_SECRET=$secret guide git clone "$REPO") &&
	test_grep ! -F -e "$secret" err "$HOME/.gitconfig" cc/repo/.git/config
'

# Guide "CI": a refresh token carried from a desktop to a build machine.
test_expect_success 'CI with an imported refresh token: sign in apart, import on the build machine' '
	git bbs logout "$URL" 2>/dev/null &&
	XDG_STATE_HOME=$HOME/handover guide git bbs login "$URL" 2>err &&
	mkdir -p buildbox &&
	jq -r ".grants[0].refresh_token" "$HOME/handover/git-remote-bbs/tokens.json" |
		XDG_STATE_HOME=$PWD/buildbox guide git bbs import "$URL" 2>err &&
	grep "Imported: signed in" err &&
	guide rm -r "$HOME/handover" &&
	(
		cd ci &&
		rm -rf repo &&
		XDG_STATE_HOME=$PWD/../buildbox guide git clone "$REPO"
	) &&
	test "$(jq ".grants | length" "$STORE")" = 0
'

# Guide "Moving off app passwords": doctor finds the saved password,
# migrate moves the remote and removes it, doctor is content.  migrate
# moves https:// remotes only: a second forge, with TLS, serves this one.
test_expect_success 'moving off app passwords: doctor, migrate, doctor' '
	forge_start_extra tls --tls &&
	TLS=$FORGE_EXTRA_URL &&
	HOSTPORT=${TLS#https://} &&
	FORGE_DIR=$FORGE_EXTRA_DIR forge_create_repo team/repo.git &&
	git config --global "bbs.$TLS.issuer" "$OAUTH_URL" &&
	git config --global "bbs.$TLS.clientId" bbs-test-client &&
	git config --global "bbs.$TLS.scopes" git:write &&
	old=app-password-$$-0a1b &&
	git init -q old &&
	git -C old remote add origin "https://jane%40example.com@$HOSTPORT/team/repo.git" &&
	git config --global credential.helper store &&
	printf "https://jane:%s@%s\n" "$old" "$HOSTPORT" >"$HOME/.git-credentials" &&
	chmod 600 "$HOME/.git-credentials" &&
	(
		GIT_SSL_CAINFO=$FORGE_EXTRA_DIR/tls/cert.pem &&
		export GIT_SSL_CAINFO &&
		git bbs login "$TLS/team/repo.git" 2>/dev/null &&
		FORGE_DIR=$FORGE_EXTRA_DIR forge_grant "$(stored access_token)" write &&
		cd old &&
		test_must_fail guide git bbs doctor "$TLS/team/repo.git" >../doctor.out &&
		guide git bbs migrate --dry-run >../dry.out &&
		test "$(git config remote.origin.url)" = "https://jane%40example.com@$HOSTPORT/team/repo.git" &&
		guide git bbs migrate --forget-passwords >../migrate.out &&
		test "$(git config remote.origin.url)" = "bbs::$TLS/team/repo.git" &&
		guide git bbs doctor >../doctor2.out &&
		git fetch -q origin
	) &&
	grep "^error   saved passwords: 1 kept for $HOSTPORT" doctor.out &&
	grep "^origin: URL https://jane%40example.com@$HOSTPORT/team/repo.git -> bbs::$TLS/team/repo.git$" dry.out &&
	grep "^origin: dropped the e-mail address" dry.out &&
	! grep -F -e "$old" "$HOME/.git-credentials" &&
	grep "^0 errors" doctor2.out &&
	test_grep ! -F -e "$old" doctor.out dry.out migrate.out doctor2.out &&
	git config --global --unset credential.helper
'

# Guide "Submodules": bbs:: submodule URLs need protocol.bbs.allow.
test_expect_success 'submodules: refused without protocol.bbs.allow, cloned with it' '
	git init -q super &&
	git -C super -c protocol.bbs.allow=always submodule --quiet add "bbs::$FORGE_URL/team/sub.git" sub &&
	git -C super commit -q -m "a bbs:: submodule" &&
	git -C super push -q "$(forge_repo_dir team/super.git)" HEAD:main &&
	forge_fix_perms &&
	mkdir sm &&
	(cd sm && test_must_fail git clone -q --recurse-submodules "bbs::$FORGE_URL/team/super.git") 2>err &&
	grep "transport .bbs. not allowed" err &&
	rm -rf sm/super &&
	guide git config --global protocol.bbs.allow always &&
	(cd sm && guide git clone --recurse-submodules "bbs::$FORGE_URL/team/super.git") &&
	test_path_is_file sm/super/sub/README* &&
	(cd sm/super && guide git submodule update --init)
'

# Guide "Git LFS": what a bbs:: clone writes, and how to undo it.
test_expect_success LFS 'Git LFS: a clone points git-lfs at the plain URL; the settings can be removed' '
	guide git lfs install >/dev/null &&
	mkdir lfs &&
	(cd lfs && guide git clone "bbs::$FORGE_URL/team/lfs.git") &&
	(cd lfs/lfs && guide git config remote.origin.lfsurl) >lfsurl &&
	echo "$FORGE_URL/team/lfs.git/info/lfs" >expect &&
	test_cmp expect lfsurl &&
	(
		cd lfs/lfs &&
		guide git config --unset remote.origin.lfsurl &&
		guide git config --unset-all "credential.$FORGE_URL.helper" &&
		guide git config --unset "credential.$FORGE_URL.useHttpPath"
	) &&
	test_must_fail git -C lfs/lfs config remote.origin.lfsurl &&
	test_must_fail git -C lfs/lfs config --get-all "credential.$FORGE_URL.helper" &&
	git -C lfs/lfs fetch -q &&
	test "$(git -C lfs/lfs config remote.origin.lfsurl)" = "$FORGE_URL/team/lfs.git/info/lfs"
'

# Guide "Bitbucket Cloud" against the server in Bitbucket Cloud mode (the
# endpoints of bitbucket.org are set by hand here; for bitbucket.org
# itself nothing but the consumer is configured).
test_expect_success 'Bitbucket Cloud: the consumer key and secret file, sign-in, clone, status' '
	git bbs logout 2>/dev/null &&
	git config --global --remove-section "bbs.$FORGE_URL" &&
	oauth_start --mode bitbucket-cloud &&
	secret=$(new_token) &&
	oauth_secret "$secret" &&
	cloud_configure &&
	guide git config --global "bbs.$FORGE_URL.clientId" bbs-test-client &&
	mkdir -p ~/.config/git-bbs &&
	printf "%s\n" "$secret" >~/.config/git-bbs/bitbucket-secret &&
	chmod 600 ~/.config/git-bbs/bitbucket-secret &&
	guide git config --global "bbs.$FORGE_URL.clientSecretFile" ~/.config/git-bbs/bitbucket-secret &&
	guide git bbs login "$URL" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	mkdir cloud &&
	(cd cloud && guide git clone "$REPO") &&
	tail -n 1 "$(forge_gate_log)" | grep "scheme=basic user=x-token-auth token=ok" &&
	guide git bbs status "$URL" >status &&
	grep "alice" status &&
	test_grep ! -F -e "$secret" err status "$HOME/.gitconfig"
'

test_expect_success TTY 'Bitbucket Cloud over SSH: paste-back (no device grant)' '
	git bbs logout "$URL" 2>/dev/null &&
	guide_ran git bbs login --flow paste "$URL" &&
	oauth_paste_login "$URL" &&
	grep "Signed in to 127.0.0.1 as alice" paste.out &&
	git -C cloud/repo fetch -q origin
'

# Guide "Bitbucket Data Center": an incoming link, a fixed loopback port,
# the base URL with its context path.
test_expect_success 'Bitbucket Data Center: provider, client, fixed redirect port, sign-in, clone' '
	git bbs logout 2>/dev/null &&
	git config --global --remove-section "bbs.$FORGE_URL" &&
	oauth_start --mode datacenter --context-path /bitbucket &&
	secret=$(new_token) &&
	oauth_secret "$secret" &&
	forge_create_repo scm/proj/repo.git &&
	DC=$FORGE_URL/scm/proj/repo.git &&
	port=$(free_port) &&
	printf "%s\n" "$secret" >~/.config/git-bbs/dc-secret &&
	chmod 600 ~/.config/git-bbs/dc-secret &&
	guide git config --global "bbs.$FORGE_URL.provider" bitbucket-datacenter &&
	guide git config --global "bbs.$FORGE_URL.issuer" "$OAUTH_URL" &&
	guide git config --global "bbs.$FORGE_URL.clientId" bbs-test-client &&
	guide git config --global "bbs.$FORGE_URL.clientSecretFile" ~/.config/git-bbs/dc-secret &&
	guide git config --global "bbs.$FORGE_URL.redirectUri" "http://127.0.0.1:$port/" &&
	guide git bbs login "$DC" 2>err &&
	grep "redirect_uri=http%3A%2F%2F127.0.0.1%3A$port%2F&" err &&
	grep "$OAUTH_URL/rest/oauth2/latest/authorize?" err &&
	mkdir dc &&
	(cd dc && guide git clone "bbs::$DC") &&
	commit_file dc/repo dc.txt dc &&
	git -C dc/repo push -q origin HEAD:main &&
	test_grep ! -F -e "$secret" err "$HOME/.gitconfig"
'

test_expect_success 'Bitbucket Data Center: the fixed port held by another program fails at once' '
	git bbs logout "$DC" 2>/dev/null &&
	(python3 -c "import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", int(sys.argv[1]))); s.listen(); open(\"held\", \"w\").write(\"ready\\n\"); time.sleep(60)" "$port" &
	 echo $! >holder.pid) &&
	test_when_finished "kill \$(cat holder.pid)" &&
	wait_for_text held ready 50 &&
	test_must_fail git bbs login "$DC" 2>err &&
	grep "cannot listen on 127.0.0.1:$port" err
'

test_expect_success 'every git command of the README guides was run above' '
	readme_check unrun "$README" "$GUIDE_LOG" "$HOME"
'

test_expect_success 'the guide check fails on a guide command that was not run' '
	sed "s/^    git bbs migrate --dry-run$/    git bbs migrate --dry-run --verbose/" "$README" >bad-guide.md &&
	! cmp -s "$README" bad-guide.md &&
	test_must_fail readme_check unrun bad-guide.md "$GUIDE_LOG" "$HOME" >out &&
	grep "not run by the guide tests: git bbs migrate --dry-run --verbose" out
'

test_done
