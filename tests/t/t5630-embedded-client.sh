#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='a Bitbucket Cloud consumer built in by the distributor (configure --with-bitbucket-cloud-client-*)'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

# The test-only build of the programs (Makefile.am) has the consumer of
# tests/forge/embedded-client.conf built in, as a distributor's build has
# theirs; git finds its git-remote-bbs and git-bbs first in PATH.
EMBEDDED=$BUILDDIR/tests/embedded
test -x "$EMBEDDED/git-bbs" || EMBEDDED=${abs_top_builddir:-$BUILDDIR}/tests/embedded
if ! test -x "$EMBEDDED/git-bbs" || ! test -x "$EMBEDDED/git-remote-bbs"; then
	skip_all='the test-only build tests/embedded/ is not built (make check builds it)'
	test_done
fi
CONF=$SRCDIR/tests/forge/embedded-client.conf
CLIENT_ID=$(sed -n 's/^id=//p' "$CONF")
CLIENT_SECRET=$(sed -n 's/^secret=//p' "$CONF")
PLAIN_BBS=$BUILDDIR/git-bbs
export PATH="$EMBEDDED:$PATH"

forge_start
oauth_start --mode bitbucket-cloud --client-id "$CLIENT_ID" \
	--redirect-uri org.git-remote-bbs:/callback
oauth_secret "$CLIENT_SECRET"
REPO=bbs::$FORGE_URL/team/repo.git
export BROWSER=$BROWSER_STANDIN

# Bitbucket Cloud's endpoints, here at the test server: no clientId, no
# secret, no redirectUri configured.
test_expect_success 'set up' '
	test -n "$CLIENT_ID" &&
	test -n "$CLIENT_SECRET" &&
	test "$(command -v git-bbs)" = "$EMBEDDED/git-bbs" &&
	forge_create_repo team/repo.git &&
	cloud_configure
'

test_expect_success 'status names the built-in client for bitbucket.org, with no setup' '
	git bbs status bbs://bitbucket.org/team/repo >out 2>err &&
	grep "^client: built in by the distributor (id $CLIENT_ID)$" out &&
	grep "Not signed in to bitbucket.org" out &&
	test_grep ! -F -e "$CLIENT_SECRET" out err
'

test_expect_success 'a build without a built-in client still needs one configured' '
	test_must_fail "$PLAIN_BBS" status bbs://bitbucket.org/team/repo >out 2>err &&
	grep "no OAuth client is configured for .bitbucket.org." err &&
	grep "hint: set bbs.https://bitbucket.org.clientId" err
'

test_expect_success 'doctor names the built-in client and its redirect' '
	test_must_fail git bbs doctor --offline bbs://bitbucket.org/team/repo >out 2>err &&
	grep "^ok      provider: bitbucket-cloud" out &&
	grep "^ok      client: built in by the distributor (id $CLIENT_ID)$" out &&
	grep "^ok      redirect URI: org.git-remote-bbs:/callback$" out &&
	grep "^error   sign-in: nobody is signed in to bitbucket.org" out &&
	test_grep ! -F -e "$CLIENT_SECRET" out err
'

test_expect_success 'sign in with the built-in client: its secret, the scheme redirect' '
	GIT_TRACE_BBS=$PWD/trace.login git bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "client_id=$CLIENT_ID" err &&
	grep "redirect_uri=org.git-remote-bbs%3A%2Fcallback" err &&
	grep "^POST .* 200 grant_type=authorization_code client=$CLIENT_ID result=ok$" "$(oauth_log)" &&
	test "$(stored scope)" = "repository:write account" &&
	git bbs status "$REPO" >out &&
	grep "^client: built in by the distributor (id $CLIENT_ID)$" out &&
	grep "account: alice" out
'

test_expect_success 'set up a spying exec path' '
	real_git=$(command -v git) &&
	exec_path_copy spyexec &&
	cat >spyexec/git <<-EOF &&
	#!/bin/sh
	{
		echo "== \$1 argv: \$*"
		env
		echo "== parent argv"
		tr "\\\\0" " " </proc/\$PPID/cmdline
		echo
	} >>"$PWD/spy.out"
	exec "$real_git" "\$@"
	EOF
	chmod +x spyexec/git
'

test_expect_success 'clone, refresh and push with the built-in client' '
	export GIT_EXEC_PATH=$PWD/spyexec &&
	test_when_finished "unset GIT_EXEC_PATH" &&
	GIT_TRACE=$PWD/trace.git GIT_TRACE_BBS=$PWD/trace.bbs \
	git clone "$REPO" work >out 2>err &&
	tail -n 1 "$(forge_gate_log)" | grep "scheme=basic user=x-token-auth token=ok" &&
	before=$(oauth_count refresh_token) &&
	expire &&
	GIT_TRACE_BBS=$PWD/trace.bbs git -C work fetch -q origin 2>>err &&
	test "$(oauth_count refresh_token)" = $((before + 1)) &&
	grep "^POST .* 200 grant_type=refresh_token client=$CLIENT_ID result=ok$" "$(oauth_log)" &&
	commit_file work embedded.txt one &&
	GIT_TRACE=$PWD/trace.git GIT_TRACE_BBS=$PWD/trace.bbs \
	git -C work push origin main >>out 2>>err &&
	test "$(server_git team/repo.git rev-parse main)" = "$(git -C work rev-parse main)" &&
	grep "index-pack argv" spy.out &&
	grep "git-remote-bbs" spy.out >/dev/null
'

test_expect_success 'git-credential-bbs refreshes with the built-in client for a plain remote' '
	test "$(command -v git-credential-bbs)" = "$EMBEDDED/git-credential-bbs" &&
	git config --global "credential.$FORGE_URL.helper" bbs &&
	test_when_finished "git config --global --unset credential.$FORGE_URL.helper" &&
	expire &&
	before=$(oauth_count refresh_token) &&
	GIT_TRACE=$PWD/trace.cred git clone -q "$FORGE_URL/team/repo.git" plain 2>>err &&
	test "$(oauth_count refresh_token)" = $((before + 1)) &&
	test "$(git -C plain rev-parse main)" = "$(git -C work rev-parse main)" &&
	test_grep ! -F -e "$CLIENT_SECRET" trace.cred plain/.git/config
'

test_expect_success 'the built-in secret is in no argv, environment, trace, log or config' '
	test_grep ! -F -e "$CLIENT_SECRET" spy.out out err trace.git \
		trace.bbs trace.login "$(oauth_log)" "$(forge_gate_log)" \
		"$HOME/.gitconfig" work/.git/config &&
	test_grep ! -F -e "$CLIENT_SECRET" "$STORE" &&
	test -s trace.login &&
	test -s trace.bbs
'

test_expect_success 'your bbs.<url>.clientId wins, and never gets the built-in secret' '
	git config --global "bbs.$FORGE_URL.clientId" "$CLIENT_ID" &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.clientId" &&
	git bbs status "$REPO" >out &&
	grep "^client: bbs.<url>.clientId (id $CLIENT_ID)$" out &&
	git bbs doctor --offline "$REPO" >out &&
	grep "^ok      redirect URI: http://127.0.0.1:<free port>/ (the default)$" out &&
	# the same id as the built-in one, configured: still no secret
	test_must_fail git -c "bbs.$FORGE_URL.redirectUri=org.git-remote-bbs:/callback" \
		bbs login "$REPO" 2>err &&
	grep "invalid_client" err &&
	grep "^POST .* 401 grant_type=authorization_code client=$CLIENT_ID result=invalid_client$" "$(oauth_log)" &&
	test_grep ! -F -e "$CLIENT_SECRET" err
'

test_expect_success 'BBS_CLIENT_ID wins too, a secret of your own with it' '
	BBS_CLIENT_ID=another-client git bbs status "$REPO" >out &&
	grep "^client: BBS_CLIENT_ID (id another-client)$" out &&
	test_must_fail env BBS_CLIENT_ID=another-client BBS_CLIENT_SECRET=mine \
		git bbs doctor --offline "$REPO" >out 2>err &&
	grep "^ok      client: BBS_CLIENT_ID (id another-client)$" out &&
	grep "^error   sign-in: nobody is signed in" out &&
	test_grep ! -F -e "$CLIENT_SECRET" out err
'

test_expect_success 'a secret of your own without an id gets no built-in client' '
	test_must_fail env BBS_CLIENT_SECRET=mine git bbs status "$REPO" >out 2>err &&
	grep "no OAuth client is configured" err &&
	test_grep ! -F -e "$CLIENT_ID" out err
'

# The values configure accepts can only become C string literals.
test_expect_success 'embedded-client.sh: the header, and bad files refused without the secret' '
	gen=$SRCDIR/remote-helper/embedded-client.sh &&
	sh "$gen" "$CONF" >header.h &&
	grep "^#define BBS_BITBUCKET_CLOUD_CLIENT_ID \"$CLIENT_ID\"$" header.h &&
	sh "$gen" >none.h &&
	test_grep ! "#define" none.h &&
	printf "id=a\\\"b\\nsecret=s3cret-one\\n" >quote.conf &&
	test_must_fail sh "$gen" quote.conf >out 2>err &&
	test_must_be_empty out &&
	grep "the client id (line 1 of .quote.conf.) contains a character other than" err &&
	printf "id=abc\\nsecret=s3cret\\\\two\\n" >backslash.conf &&
	test_must_fail sh "$gen" backslash.conf 2>err &&
	grep "the client secret (line 2" err &&
	test_grep ! "s3cret" err &&
	printf "id=abc\\nsecret=s3cret-three\\r\\n" >crlf.conf &&
	test_must_fail sh "$gen" crlf.conf 2>err &&
	test_grep ! "s3cret" err &&
	printf "id=abc\\n" >nosecret.conf &&
	test_must_fail sh "$gen" nosecret.conf 2>err &&
	grep "has no secret=SECRET line" err &&
	printf "id=abc\\nsecret=x\\nextra\\n" >extra.conf &&
	test_must_fail sh "$gen" extra.conf 2>err &&
	grep "line 3 of .extra.conf.: expected id=KEY or secret=SECRET" err &&
	test_must_fail sh "$gen" missing.conf 2>err &&
	grep "cannot read .missing.conf." err
'

test -x "$SRCDIR/configure" && test_set_prereq CONFIGURE
test_expect_success CONFIGURE 'configure refuses bad values before it writes anything' '
	mkdir conf && (
		cd conf &&
		nl="
" &&
		test_must_fail "$SRCDIR/configure" \
			--with-bitbucket-cloud-client-id="a${nl}b" \
			--with-bitbucket-cloud-client-secret=s3cret-four >out 2>err &&
		grep "^configure: error: --with-bitbucket-cloud-client-id may contain only" err &&
		test_must_fail "$SRCDIR/configure" \
			--with-bitbucket-cloud-client-id="key\"); system(\"x" \
			--with-bitbucket-cloud-client-secret=s3cret-five >out 2>err &&
		grep "client-id may contain only" err &&
		test_must_fail "$SRCDIR/configure" \
			--with-bitbucket-cloud-client-id=abc \
			--with-bitbucket-cloud-client-secret="s3cret-six\\" >out 2>err &&
		grep "client-secret may contain only" err &&
		test_must_fail "$SRCDIR/configure" \
			--with-bitbucket-cloud-client-id=abc \
			--with-bitbucket-cloud-client-secret=$(printf "%0300d" 7) >out 2>err &&
		grep "longer than 256 characters" err &&
		test_path_is_missing bitbucket-cloud-client.conf &&
		test_must_fail "$SRCDIR/configure" \
			--with-bitbucket-cloud-client-id=abc >out 2>err &&
		grep "needs --with-bitbucket-cloud-client-secret" err &&
		test_must_fail "$SRCDIR/configure" \
			--with-bitbucket-cloud-client-file="$CONF" \
			--with-bitbucket-cloud-client-id=abc \
			--with-bitbucket-cloud-client-secret=x >out 2>err &&
		grep "not both" err &&
		printf "id=a b\\nsecret=x\\n" >space.conf &&
		test_must_fail "$SRCDIR/configure" \
			--with-bitbucket-cloud-client-file=space.conf >out 2>err &&
		grep "contains a character other than" err &&
		test_must_fail "$SRCDIR/configure" \
			--with-bitbucket-cloud-client-file >out 2>err &&
		grep "needs a FILE" err &&
		test_path_is_missing config.h &&
		test_path_is_missing Makefile &&
		test_grep ! "s3cret" err
	)
'

test_done
