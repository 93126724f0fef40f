#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='secrets do not stay in memory after use, over https'

# As t5546, with the forge and the OAuth server on https: a token
# response then also passes through the TLS library's buffers, which
# libcurl's and OpenSSL's wiping allocators must cover.

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start --tls
CA=$FORGE_DIR/tls/cert.pem
oauth_start --tls-cert="$CA" --tls-key="$FORGE_DIR/tls/key.pem"
URL=$FORGE_URL/team/repo.git
# the helper trusts the test CA through git's setting; the browser stand-in
# (Python) through OpenSSL's
GIT_SSL_CAINFO=$CA SSL_CERT_FILE=$CA
export GIT_SSL_CAINFO SSL_CERT_FILE

test_expect_success 'set up: sign in over https' '
	case $OAUTH_URL in https://*) ;; *) false ;; esac &&
	forge_create_repo team/repo.git &&
	oauth_configure &&
	BROWSER=$BROWSER_STANDIN git bbs login "$URL" 2>/dev/null &&
	test_path_is_file "$STORE" &&
	git clone -q "bbs::$URL" c &&
	test "$(oauth_count refresh_token)" = 0
'

test_expect_success MEMSCAN 'after a refresh over https the helper keeps neither refresh token' '
	scan_after_refresh "$URL" &&
	test "$(oauth_count refresh_token)" = 1
'

test_done
