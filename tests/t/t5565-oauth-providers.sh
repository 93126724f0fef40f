#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='Bitbucket Cloud and Data Center behaviour, and paste-back sign-in'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
command -v script >/dev/null && test_set_prereq TTY
REPO=bbs::$FORGE_URL/team/repo.git
export BROWSER=$BROWSER_STANDIN

test_expect_success 'Bitbucket Cloud: consumer secret required, scopes field, dead refresh' '
	forge_create_repo team/repo.git &&
	oauth_start --mode bitbucket-cloud &&
	secret=$(new_token) &&
	oauth_secret "$secret" &&
	cloud_configure &&
	git config --global "bbs.$FORGE_URL.clientId" bbs-test-client &&
	test_must_fail git bbs login "$REPO" 2>err &&
	grep "invalid_client" err &&
	printf "%s\n" "$secret" >secret.txt &&
	chmod 600 secret.txt &&
	git config --global "bbs.$FORGE_URL.clientSecretFile" "$PWD/secret.txt" &&
	git bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "scope=repository%3Awrite%20account" err &&
	test "$(stored scope)" = "repository:write account" &&
	git clone -q "$REPO" work &&
	tail -n 1 "$(forge_gate_log)" | grep "scheme=basic user=x-token-auth token=ok" &&
	expire && git -C work fetch -q origin &&
	test "$(oauth_count refresh_token)" = 1 &&
	cp "$STORE" store.save &&
	expire && git -C work fetch -q origin &&
	cp store.save "$STORE" && expire &&
	test_must_fail env -u BROWSER GIT_TRACE_BBS=$PWD/trace.dead git -C work fetch origin 2>err &&
	grep "sign-in has expired or was revoked (invalid_request)" trace.dead &&
	grep "the sign-in has expired or was revoked (invalid_request), and no browser" err &&
	grep "hint: sign in again with: git bbs login" err &&
	test_grep ! -F -e "$secret" err "$(oauth_log)" "$HOME/.gitconfig"
'

# Bitbucket Cloud takes Basic x-token-auth whatever the host it is reached
# at: the provider says so, not the host.  To git 2.46+ (authtype) that is
# a pre-encoded Basic credential, never Bearer.
test_expect_success 'Bitbucket Cloud on another host: git-credential-bbs answers Basic' '
	git bbs login "$REPO" 2>/dev/null &&
	printf "protocol=http\nhost=%s\n\n" "${FORGE_URL#http://}" >req-cloud &&
	git-credential-bbs get <req-cloud >out &&
	grep "^username=x-token-auth$" out &&
	grep "^password=$(stored access_token)$" out &&
	printf "capability[]=authtype\nprotocol=http\nhost=%s\n\n" "${FORGE_URL#http://}" >req-cloud2 &&
	git-credential-bbs get <req-cloud2 >out &&
	grep "^authtype=Basic$" out &&
	grep "^credential=$(printf "x-token-auth:%s" "$(stored access_token)" | base64 -w0)$" out &&
	# an explicit gitAuth still wins
	git -c "bbs.$FORGE_URL.gitAuth=bearer" credential-bbs get <req-cloud2 >out &&
	grep "^authtype=Bearer$" out &&
	grep "^credential=$(stored access_token)$" out &&
	git -c "bbs.$FORGE_URL.gitUsername=ci" credential-bbs get <req-cloud >out &&
	grep "^username=ci$" out
'

test_expect_success 'Bitbucket Cloud offers no revocation: logout still forgets' '
	git bbs login "$REPO" 2>/dev/null &&
	git bbs logout "$REPO" 2>err &&
	grep "did not revoke" err &&
	grep "Signed out" err
'

test_expect_success 'Data Center: context path kept, redirect_uri sent on refresh' '
	oauth_secret clear &&
	oauth_stop &&
	git config --global --remove-section "bbs.$FORGE_URL" &&
	oauth_start --mode datacenter --context-path /bitbucket &&
	git config --global "bbs.$FORGE_URL.provider" bitbucket-datacenter &&
	git config --global "bbs.$FORGE_URL.issuer" "$OAUTH_URL" &&
	git config --global "bbs.$FORGE_URL.clientId" bbs-test-client &&
	git config --global "bbs.$FORGE_URL.scopes" REPO_WRITE &&
	git bbs login "$REPO" 2>err &&
	grep "$OAUTH_URL/rest/oauth2/latest/authorize?" err &&
	case "$OAUTH_URL" in */bitbucket) : ;; *) false ;; esac &&
	git -C work fetch -q origin &&
	expire && git -C work fetch -q origin &&
	grep "refresh_token.*result=ok" "$(oauth_log)" &&
	commit_file work dc.txt dc &&
	git -C work push -q origin main
'

test_expect_success TTY 'paste-back: the address pasted at the prompt' '
	oauth_stop &&
	git config --global --remove-section "bbs.$FORGE_URL" &&
	oauth_start &&
	oauth_configure &&
	rm -f "$STORE" &&
	oauth_paste_login "$REPO" &&
	grep "Signed in to 127.0.0.1 as alice" paste.out &&
	git -C work fetch -q origin
'

# Bitbucket Cloud is bitbucket.org over https on port 443; the same host
# on another port is another server, unconfigured like any other.
test_expect_success 'Bitbucket Cloud is chosen for bitbucket.org on port 443 only' '
	printf "protocol=https\nhost=bitbucket.org:8443\n\n" >req-8443 &&
	BBS_CLIENT_ID=cloud-client git-credential-bbs get <req-8443 >out 2>err &&
	test_must_be_empty out &&
	test_must_be_empty err &&
	test_must_fail env -u BROWSER BBS_CLIENT_ID=cloud-client \
		git bbs login https://bitbucket.org:8443/team/repo.git 2>err &&
	grep "^fatal: no OAuth provider is configured for .bitbucket.org:8443.: bitbucket-cloud is chosen by itself only for https://bitbucket.org on port 443$" err &&
	grep "^hint: set bbs.https://bitbucket.org:8443.provider " err &&
	printf "protocol=https\nhost=bitbucket.org:443\n\n" >req-443 &&
	test_must_fail env BBS_CLIENT_ID=cloud-client \
		git-credential-bbs get <req-443 >out 2>err &&
	test_must_be_empty out &&
	grep "^error: git-credential-bbs: not signed in to .bitbucket.org.$" err
'

test_done
