#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='bad input and server faults: one clear message, nothing lost'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

bbs_setup

test_expect_success 'set up' '
	forge_create_repo team/repo.git --empty &&
	git init -q upstream &&
	commit_file upstream a.txt one &&
	dd if=/dev/urandom of=upstream/big.bin bs=1024 count=2048 2>/dev/null &&
	git -C upstream add big.bin &&
	git -C upstream commit -q -m big &&
	upstream_push team/repo.git main &&
	git clone -q "bbs::$FORGE_URL/team/repo.git" clone
'

test_expect_success 'no token: 401 names the variable to set' '
	test_must_fail env -u BBS_ACCESS_TOKEN git clone "bbs::$FORGE_URL/team/repo.git" c1 2>err &&
	grep "requires authentication" err &&
	grep "^hint: set BBS_ACCESS_TOKEN" err &&
	test_path_is_missing c1
'

test_expect_success 'a rejected token: 401 says so' '
	test_must_fail env BBS_ACCESS_TOKEN=bbs_not_a_valid_token git clone "bbs::$FORGE_URL/team/repo.git" c2 2>err &&
	grep "rejected the access token" err &&
	test_path_is_missing c2
'

test_expect_success 'a revoked token: fetch fails and changes nothing' '
	T2=$(new_token) &&
	forge_grant "$T2" read &&
	git -C clone rev-parse origin/main >before &&
	commit_file upstream b.txt two &&
	upstream_push team/repo.git main &&
	forge_revoke "$T2" &&
	test_must_fail env BBS_ACCESS_TOKEN=$T2 git -C clone fetch origin 2>err &&
	grep "rejected the access token" err &&
	git -C clone rev-parse origin/main >after &&
	test_cmp before after
'

test_expect_success 'a missing repository: 404' '
	test_must_fail git clone "bbs::$FORGE_URL/team/nope.git" c3 2>err &&
	grep "repository .*team/nope.git. not found" err &&
	test_path_is_missing c3
'

test_expect_success 'HTTP 500 from the server' '
	forge_fault status 500 &&
	test_when_finished "forge_fault clear" &&
	test_must_fail git -C clone fetch origin 2>err &&
	grep "unexpected HTTP status 500" err
'

test_expect_success 'connection dropped in the middle of the pack: repository unchanged' '
	dd if=/dev/urandom of=upstream/big2.bin bs=1024 count=2048 2>/dev/null &&
	git -C upstream add big2.bin &&
	git -C upstream commit -q -m big2 &&
	upstream_push team/repo.git main &&
	forge_fault drop-pack 100000 &&
	test_when_finished "forge_fault clear" &&
	git -C clone for-each-ref >refs-before &&
	ls clone/.git/objects/pack | sort >packs-before &&
	test_must_fail git -C clone fetch origin 2>err &&
	cat err &&
	test_line_count -le 3 err &&
	git -C clone for-each-ref >refs-after &&
	test_cmp refs-before refs-after &&
	ls clone/.git/objects/pack | sort >packs-after &&
	test_cmp packs-before packs-after &&
	no_leftover_packs clone &&
	git -C clone fsck --no-progress
'

test_expect_success 'a clone cut off mid-pack leaves nothing behind' '
	forge_fault drop-pack 100000 &&
	test_when_finished "forge_fault clear" &&
	test_must_fail git clone "bbs::$FORGE_URL/team/repo.git" c4 2>err &&
	test_path_is_missing c4
'

test_expect_success 'the fetch works again once the fault is gone' '
	git -C clone fetch -q origin &&
	test "$(git -C clone rev-parse origin/main)" = "$(git -C upstream rev-parse main)"
'

test_expect_success 'server down: a network error, not a hang' '
	port=$(cat "$FORGE_DIR/port") &&
	test_must_fail git clone "bbs::http://127.0.0.1:1/team/repo.git" c5 2>err &&
	grep "network error" err &&
	test_path_is_missing c5
'

test_expect_success 'plain http to a non-loopback host is refused before any traffic' '
	test_must_fail git clone "bbs::http://example.com/team/repo.git" c6 2>err &&
	grep "refusing plain http to .example.com." err &&
	grep "^hint: use https://example.com/team/repo.git" err &&
	test_must_fail git clone "bbs::http://127.0.0.1.example.com/r.git" c7 2>err &&
	grep "refusing plain http" err
'

test_expect_success 'a URL carrying a password is refused' '
	test_must_fail git clone "bbs::https://user:secret@example.com/r.git" c8 2>err &&
	grep "must not carry a password" err &&
	test_grep ! secret err
'

test_expect_success 'unknown and malformed protocol commands' '
	printf "capabilities\nfrobnicate\n" >in &&
	test_must_fail git-remote-bbs origin "$FORGE_URL/team/repo.git" <in >out 2>err &&
	grep "unknown command .frobnicate." err &&
	test_line_count = 1 err &&
	printf "fetch 1234 refs/heads/main\n\n" >in &&
	test_must_fail git-remote-bbs origin "$FORGE_URL/team/repo.git" <in >out 2>err &&
	grep "malformed fetch command" err &&
	printf "push refs/heads/main\n\n" >in &&
	test_must_fail git-remote-bbs origin "$FORGE_URL/team/repo.git" <in >out 2>err &&
	grep "malformed push command" err
'

test_expect_success 'EOF in the middle of a batch does nothing' '
	oid=$(git -C upstream rev-parse main) &&
	printf "fetch %s refs/heads/main\n" "$oid" >in &&
	: >"$(forge_gate_log)" &&
	test_must_fail env GIT_DIR=clone/.git git-remote-bbs origin "$FORGE_URL/team/repo.git" <in >out 2>err &&
	grep "middle of a fetch batch" err &&
	test_must_be_empty out &&
	test_must_be_empty "$(forge_gate_log)"
'

# usage exits 129, which test_must_fail takes for a signal; t5535 checks it
test_expect_success 'usage' '
	! git-remote-bbs 2>err &&
	grep "usage: git-remote-bbs" err
'

test_done
