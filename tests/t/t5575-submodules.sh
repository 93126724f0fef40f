#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='submodules: bbs:: submodule URLs need protocol.bbs.allow=always; a parallel recursive clone refreshes an expired token once'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
SUPER=bbs::$FORGE_URL/team/super.git

# clone_ok DIR: the superproject and its three submodules checked out.
clone_ok() {
	test "$(cat "$1/README.md")" = "the superproject" &&
	for i in 1 2 3; do
		test "$(cat "$1/lib$i/lib.txt")" = "library $i" || return 1
	done &&
	git -C "$1" submodule status >status &&
	test_line_count = 3 status &&
	! grep -v "^ [0-9a-f]\{40\} lib[123] " status
}

test_expect_success 'set up a superproject with three bbs:: submodules' '
	forge_create_repo team/super.git --empty &&
	for i in 1 2 3; do
		forge_create_repo "team/lib$i.git" --empty &&
		git init -q -b main "lib$i" &&
		commit_file "lib$i" lib.txt "library $i" &&
		git -C "lib$i" push -q "$(forge_repo_dir "team/lib$i.git")" main &&
		forge_fix_perms || return 1
	done &&
	git init -q -b main super &&
	printf "the superproject\n" >super/README.md &&
	: >super/.gitmodules &&
	for i in 1 2 3; do
		git config -f super/.gitmodules "submodule.lib$i.path" "lib$i" &&
		git config -f super/.gitmodules "submodule.lib$i.url" \
			"bbs::$FORGE_URL/team/lib$i.git" &&
		git -C super update-index --add --cacheinfo \
			"160000,$(git -C "lib$i" rev-parse HEAD),lib$i" || return 1
	done &&
	git -C super add README.md .gitmodules &&
	test_tick &&
	git -C super commit -q -m "three submodules" &&
	git -C super push -q "$(forge_repo_dir team/super.git)" main &&
	forge_fix_perms &&
	oauth_configure &&
	BROWSER=$BROWSER_STANDIN git bbs login "$SUPER" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err
'

test_expect_success 'without protocol.bbs.allow git refuses the submodules itself' '
	test_must_fail env -u BROWSER git clone --recurse-submodules \
		"$SUPER" refused 2>err &&
	grep "transport .bbs. not allowed" err &&
	test "$(cat refused/README.md)" = "the superproject" &&
	test_path_is_missing refused/lib1/lib.txt
'

test_expect_success 'git bbs doctor gives the fix' '
	test_might_fail git bbs doctor --offline "$SUPER" >doctor.out 2>&1 &&
	grep "git config --global protocol.bbs.allow always" doctor.out
'

test_expect_success 'protocol.bbs.allow=always, one expired token, --jobs 4: one refresh, four checkouts' '
	git config --global protocol.bbs.allow always &&
	test_when_finished "git config --global --unset protocol.bbs.allow" &&
	expire &&
	before=$(oauth_count refresh_token) &&
	all_before=$(oauth_count) &&
	env -u BROWSER git clone -q --recurse-submodules --jobs 4 \
		"$SUPER" clone 2>err &&
	clone_ok clone &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	test $(($(oauth_count) - all_before)) = 1 &&
	test "$(stored expires_at)" -gt "$(date +%s)"
'

test_expect_success 'git submodule update with an expired token: one refresh' '
	git config --global protocol.bbs.allow always &&
	test_when_finished "git config --global --unset protocol.bbs.allow" &&
	git clone -q "$SUPER" later &&
	expire &&
	before=$(oauth_count) &&
	env -u BROWSER git -C later submodule update --init --jobs 4 2>err &&
	clone_ok later &&
	test $(($(oauth_count) - before)) = 1
'

test_done
