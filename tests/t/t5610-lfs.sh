#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='Git LFS on a bbs:: remote: real git-lfs against the forge, with the same tokens'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

if ! command -v git-lfs >/dev/null 2>&1; then
	skip_all="git-lfs is not installed"
	test_done
fi

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/lfs.git
LFSURL=$FORGE_URL/team/lfs.git/info/lfs
export BROWSER=$BROWSER_STANDIN

# lfs_objects: how many LFS objects the server keeps for team/lfs.git
lfs_objects() {
	find "$FORGE_DIR/lfs/team/lfs.git" -type f -name '[0-9a-f]*' 2>/dev/null |
		wc -l
}

test_expect_success 'set up: git-lfs, a signed-in user, a repository' '
	forge_create_repo team/lfs.git &&
	oauth_configure &&
	git lfs install --skip-repo >/dev/null &&
	git bbs login "$REPO" 2>/dev/null
'

test_expect_success 'a clone points git-lfs at the plain URL, once' '
	git clone -q "$REPO" work &&
	test "$(git -C work config remote.origin.lfsurl)" = "$LFSURL" &&
	git -C work config --get-all "credential.$FORGE_URL.helper" >helpers &&
	printf "\nbbs\n" >expect &&
	test_cmp expect helpers &&
	git -C work lfs env >env &&
	grep "Endpoint=$LFSURL " env &&
	git -C work fetch -q &&
	git -C work config --get-all "credential.$FORGE_URL.helper" >helpers &&
	test_cmp expect helpers
'

test_expect_success 'a push uploads new LFS objects with the signed-in token' '
	git -C work lfs track "*.bin" >/dev/null &&
	head -c 5000 /dev/urandom >work/big.bin &&
	git -C work add .gitattributes big.bin &&
	git -C work commit -q -m "an LFS object" &&
	git -C work push -q origin HEAD:main 2>err &&
	test "$(lfs_objects)" = 1 &&
	grep "^POST /team/lfs.git/info/lfs/objects/batch 200 upload$" "$FORGE_DIR/logs/lfs.log" &&
	grep "^PUT /team/lfs.git/info/lfs/objects/[0-9a-f]* 200 upload$" "$FORGE_DIR/logs/lfs.log"
'

test_expect_success 'a clone through bbs:: smudges the LFS objects' '
	git clone -q "$REPO" clone2 &&
	test_cmp work/big.bin clone2/big.bin &&
	grep "GET /team/lfs.git/info/lfs/objects/[0-9a-f]* 200 download" "$FORGE_DIR/logs/lfs.log"
'

test_expect_success 'a token that expires between the git fetch and the LFS download is refreshed once' '
	GIT_LFS_SKIP_SMUDGE=1 git clone -q "$REPO" clone3 &&
	! test_cmp work/big.bin clone3/big.bin &&
	expire &&
	before=$(oauth_count refresh_token) &&
	git -C clone3 lfs pull 2>err &&
	test_cmp work/big.bin clone3/big.bin &&
	test $(($(oauth_count refresh_token) - before)) = 1
'

test_expect_success 'a refused token: git-lfs erases it, one refresh, one retry' '
	GIT_LFS_SKIP_SMUDGE=1 git clone -q "$REPO" clone5 &&
	python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d[\"grants\"][0][\"access_token\"]=\"spoiled0token0value0000\"; json.dump(d,open(p,\"w\"))" "$STORE" &&
	chmod 600 "$STORE" &&
	before=$(oauth_count refresh_token) &&
	git -C clone5 lfs pull 2>err &&
	test_cmp work/big.bin clone5/big.bin &&
	test $(($(oauth_count refresh_token) - before)) = 1
'

test_expect_success 'no token in any git-lfs or git trace' '
	tok=$(stored access_token) &&
	rt=$(stored refresh_token) &&
	test -n "$tok" &&
	rm -rf clone4 &&
	GIT_TRACE=1 GIT_CURL_VERBOSE=1 GIT_TRANSFER_TRACE=1 \
		git clone "$REPO" clone4 >trace.out 2>trace.err &&
	test_cmp work/big.bin clone4/big.bin &&
	grep "info/lfs" trace.err &&
	! grep -F -e "$tok" trace.out trace.err &&
	! grep -F -e "$rt" trace.out trace.err &&
	! grep -F -e "$tok" clone4/.git/config
'

test_expect_success 'the user'"'"'s own lfsurl is never overwritten' '
	git init -q own &&
	git -C own remote add origin "$REPO" &&
	git -C own config remote.origin.lfsurl https://lfs.example.com/mine &&
	git -C own fetch -q origin &&
	test "$(git -C own config remote.origin.lfsurl)" = https://lfs.example.com/mine &&
	test_must_fail git -C own config "credential.$FORGE_URL.helper"
'

test_expect_success 'a read-only grant pushing LFS objects is refused with a clear message' '
	git bbs logout "$REPO" 2>/dev/null &&
	git bbs login --scopes git:read "$REPO" 2>/dev/null &&
	head -c 3000 /dev/urandom >work/other.bin &&
	git -C work add other.bin &&
	git -C work commit -q -m "another LFS object" &&
	before=$(lfs_objects) &&
	test_must_fail env -u BROWSER git -C work lfs push origin main </dev/null 2>err &&
	test_grep "this token cannot write Git LFS objects of the repository (read-only access)" err &&
	test_grep "^POST /team/lfs.git/info/lfs/objects/batch 403 upload$" "$FORGE_DIR/logs/lfs.log" &&
	test "$(lfs_objects)" = "$before" &&
	test_must_fail env -u BROWSER git -C work push origin HEAD:main </dev/null 2>err &&
	test_grep "has no write access" err &&
	test "$(lfs_objects)" = "$before"
'

test_done
