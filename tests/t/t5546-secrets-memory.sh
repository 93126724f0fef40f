#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='secrets do not stay in memory after use'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
URL=$FORGE_URL/team/repo.git

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure &&
	BROWSER=$BROWSER_STANDIN git bbs login "$URL" 2>/dev/null &&
	test_path_is_file "$STORE"
'

test_expect_success MEMSCAN 'after a refresh the helper keeps neither refresh token' '
	scan_after_refresh "$URL"
'

test_done
