#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='https, bbs:// URLs, git TLS settings and redirects'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start --tls
TOKEN=$(new_token)
forge_grant "$TOKEN" write
BBS_ACCESS_TOKEN=$TOKEN
export BBS_ACCESS_TOKEN
CA=$FORGE_DIR/tls/cert.pem
HOSTPORT=${FORGE_URL#https://}

test_expect_success 'set up' '
	forge_create_repo team/repo.git
'

test_expect_success 'an untrusted certificate fails with a TLS error' '
	test_must_fail git clone "bbs://$HOSTPORT/team/repo.git" c1 2>err &&
	grep "TLS failure" err &&
	test_path_is_missing c1
'

test_expect_success 'http.sslCAInfo from git -c: bbs:// means https' '
	git -c http.sslCAInfo="$CA" clone -q "bbs://$HOSTPORT/team/repo.git" c2 &&
	git -C c2 config http.sslCAInfo "$CA" &&
	git -C c2 fetch -q origin &&
	commit_file c2 a.txt one &&
	git -C c2 push -q origin main &&
	test "$(server_git team/repo.git rev-parse main)" = "$(git -C c2 rev-parse main)"
'

test_expect_success 'GIT_SSL_CAINFO, and http.<url>.sslCAInfo matched by URL' '
	GIT_SSL_CAINFO=$CA git ls-remote "bbs::$FORGE_URL/team/repo.git" >out &&
	grep refs/heads/main out &&
	git config --global "http.$FORGE_URL/team.sslCAInfo" "$CA" &&
	test_when_finished "git config --global --unset http.$FORGE_URL/team.sslCAInfo" &&
	git ls-remote "bbs::$FORGE_URL/team/repo.git" >out &&
	grep refs/heads/main out &&
	git config --global "http.$FORGE_URL/other.sslCAInfo" "$CA" &&
	test_when_finished "git config --global --unset http.$FORGE_URL/other.sslCAInfo" &&
	git config --global --unset "http.$FORGE_URL/team.sslCAInfo" &&
	test_must_fail git ls-remote "bbs::$FORGE_URL/team/repo.git" 2>err &&
	grep "TLS failure" err &&
	git config --global "http.$FORGE_URL/team.sslCAInfo" "$CA"
'

test_expect_success 'http.sslVerify=false works with a loud warning' '
	git -c http.sslVerify=false ls-remote "bbs::$FORGE_URL/team/repo.git" >out 2>err &&
	grep refs/heads/main out &&
	grep "warning: TLS certificate verification is turned off" err
'

test_expect_success 'a redirect to the same origin is followed' '
	forge_redirect /team/old.git "$FORGE_URL/team/repo.git" &&
	test_when_finished "forge_redirect clear" &&
	git -c http.sslCAInfo="$CA" clone -q "bbs::$FORGE_URL/team/old.git" c3 &&
	test "$(git -C c3 rev-parse HEAD)" = "$(server_git team/repo.git rev-parse main)"
'

test_expect_success 'a redirect to another port or host never receives the token' '
	forge_start_extra other --tls &&
	forge_redirect /team/moved.git "$FORGE_EXTRA_URL/team/repo.git" &&
	test_when_finished "forge_redirect clear" &&
	test_must_fail git -c http.sslCAInfo="$CA" clone "bbs::$FORGE_URL/team/moved.git" c4 2>err &&
	grep "redirected to another origin .$FORGE_EXTRA_URL.;" err &&
	test_path_is_missing c4 &&
	forge_redirect /team/moved.git "${FORGE_EXTRA_URL/127.0.0.1/localhost}/team/repo.git" &&
	test_must_fail git -c http.sslCAInfo="$CA" clone "bbs::$FORGE_URL/team/moved.git" c4 2>err &&
	grep "redirected to another host .localhost.;" err &&
	test_path_is_missing c4 &&
	test_grep ! -r -F -e "$TOKEN" "$FORGE_EXTRA_DIR/logs" &&
	test_grep ! "token=" "$FORGE_EXTRA_DIR/logs/gate.log"
'

test_expect_success 'a redirect to plain http on the same host names the origin' '
	forge_redirect /team/plain.git "http://$HOSTPORT/team/repo.git" &&
	test_when_finished "forge_redirect clear" &&
	test_must_fail git -c http.sslCAInfo="$CA" clone "bbs::$FORGE_URL/team/plain.git" c5 2>err &&
	grep "redirected to another origin .http://$HOSTPORT.; the access token is not sent there" err &&
	test_path_is_missing c5
'

test_expect_success 'an explicit bbs.<url>.gitAuth=basic sends Basic x-token-auth' '
	git -C c2 config "bbs.$FORGE_URL.gitAuth" basic &&
	git -C c2 fetch -q origin &&
	tail -n 2 "$(forge_gate_log)" >last &&
	grep "scheme=basic user=x-token-auth token=ok" last &&
	git -C c2 config "bbs.$FORGE_URL.gitUsername" ci-bot &&
	git -C c2 fetch -q origin &&
	tail -n 1 "$(forge_gate_log)" | grep "scheme=basic user=ci-bot token=ok" &&
	git -C c2 config "bbs.$FORGE_URL.gitAuth" nonsense &&
	test_must_fail git -C c2 fetch origin 2>err &&
	grep "bad value .nonsense." err
'

test_done
