#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='clone, fetch, pull and ls-remote over bbs:: with an access token'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

bbs_setup

test_expect_success 'set up the upstream repository' '
	forge_create_repo team/repo.git --empty &&
	git init -q upstream &&
	commit_file upstream a.txt one &&
	commit_file upstream b.txt two &&
	git -C upstream tag -a -m "version 1" v1 &&
	git -C upstream branch topic &&
	upstream_push team/repo.git main topic v1
'

test_expect_success 'clone bbs::http:// checks out the default branch' '
	git clone -q "bbs::$FORGE_URL/team/repo.git" clone &&
	test "$(git -C clone rev-parse HEAD)" = "$(git -C upstream rev-parse main)" &&
	test "$(git -C clone symbolic-ref HEAD)" = refs/heads/main &&
	git -C clone rev-parse origin/topic v1 &&
	test "$(git -C clone cat-file -t v1)" = tag &&
	git -C clone fsck --no-progress &&
	test "$(git -C clone config remote.origin.url)" = "bbs::$FORGE_URL/team/repo.git"
'

test_expect_success 'the clone keeps no .keep file and no temporary pack' '
	! find clone/.git/objects/pack -name "*.keep" | grep . &&
	no_leftover_packs clone
'

test_expect_success 'the token was sent as Bearer on every request' '
	grep "scheme=bearer" "$(forge_gate_log)" >bearer &&
	test_grep ! -v "scheme=bearer.*token=ok" "$(forge_gate_log)"
'

test_expect_success 'ls-remote shows HEAD as a symref and peeled tags' '
	git -C clone ls-remote --symref origin >actual &&
	grep "^ref: refs/heads/main	HEAD$" actual &&
	grep "	refs/tags/v1^{}$" actual &&
	git ls-remote "$(forge_repo_dir team/repo.git)" >native &&
	git -C clone ls-remote origin >ours &&
	test_cmp native ours
'

test_expect_success 'ls-remote works outside a repository' '
	mkdir -p nowhere &&
	(cd nowhere && git ls-remote "bbs::$FORGE_URL/team/repo.git") >actual &&
	grep "refs/heads/topic" actual
'

test_expect_success 'incremental fetch transfers only the new objects' '
	commit_file upstream c.txt three &&
	upstream_push team/repo.git main &&
	ls clone/.git/objects/pack/*.idx | sort >before &&
	git -C clone fetch -q origin &&
	test "$(git -C clone rev-parse origin/main)" = "$(git -C upstream rev-parse main)" &&
	ls clone/.git/objects/pack/*.idx | sort >after &&
	comm -13 before after >new &&
	test_line_count = 1 new &&
	git -C clone show-index <"$(cat new)" >objects &&
	test_line_count = 3 objects
'

test_expect_success 'a no-op fetch downloads nothing' '
	ls clone/.git/objects/pack | sort >before &&
	: >"$(forge_gate_log)" &&
	git -C clone fetch origin 2>err &&
	ls clone/.git/objects/pack | sort >after &&
	test_cmp before after &&
	test_grep ! POST "$(forge_gate_log)"
'

test_expect_success 'pull merges the new upstream work' '
	commit_file upstream d.txt four &&
	upstream_push team/repo.git main &&
	git -C clone pull -q --ff-only &&
	test_path_is_file clone/d.txt
'

test_expect_success 'a fetch of HEAD alone, and of one branch by name' '
	commit_file upstream h.txt head &&
	upstream_push team/repo.git main &&
	git -C clone fetch -q origin HEAD &&
	test "$(git -C clone rev-parse FETCH_HEAD)" = "$(git -C upstream rev-parse main)" &&
	git -C upstream checkout -q -b only &&
	commit_file upstream only.txt only &&
	git -C upstream checkout -q main &&
	upstream_push team/repo.git only &&
	git -C clone fetch -q origin only:refs/heads/only &&
	test "$(git -C clone rev-parse only)" = "$(git -C upstream rev-parse only)" &&
	git -C clone fsck --connectivity-only --no-progress
'

test_expect_success 'annotated tags on fetched history follow automatically' '
	commit_file upstream e.txt five &&
	git -C upstream tag -a -m "version 2" v2 &&
	upstream_push team/repo.git main v2 &&
	git -C clone fetch -q origin &&
	test "$(git -C clone cat-file -t v2)" = tag &&
	test "$(git -C clone rev-parse v2)" = "$(git -C upstream rev-parse v2)"
'

test_expect_success 'fetch --tags gets tags on history not otherwise fetched' '
	git -C upstream checkout -q -b side &&
	commit_file upstream side.txt side &&
	git -C upstream tag -a -m "side tag" side-tag &&
	git -C upstream checkout -q main &&
	upstream_push team/repo.git side-tag &&
	git -C clone fetch -q origin &&
	test_must_fail git -C clone rev-parse --verify -q side-tag &&
	git -C clone fetch -q --tags origin &&
	test "$(git -C clone rev-parse side-tag)" = "$(git -C upstream rev-parse side-tag)"
'

test_expect_success 'progress in git format when asked, silence with --quiet' '
	git clone --progress "bbs::$FORGE_URL/team/repo.git" progress 2>err &&
	tr "\r" "\n" <err >lines &&
	grep -E "^Receiving objects: 100% \([0-9]+/[0-9]+\)(, .*)?, done\.$" lines &&
	grep "^Resolving deltas: 100%" lines &&
	grep "^remote: Enumerating objects" lines &&
	git clone --quiet "bbs::$FORGE_URL/team/repo.git" quiet 2>err &&
	test_must_be_empty err
'

test_expect_success 'clone of an empty repository' '
	forge_create_repo team/empty.git --empty &&
	git clone "bbs::$FORGE_URL/team/empty.git" empty 2>err &&
	grep "cloned an empty repository" err &&
	commit_file empty first.txt first &&
	git -C empty push -q origin main &&
	test "$(server_git team/empty.git rev-parse main)" = "$(git -C empty rev-parse HEAD)"
'

test_expect_success 'a repository with thousands of refs' '
	forge_create_repo team/many.git --empty &&
	git init -q many-up &&
	commit_file many-up f.txt f &&
	commit=$(git -C many-up rev-parse HEAD) &&
	for i in $(seq 1 3000); do
		echo "create refs/heads/b$i $commit"
	done | git -C many-up update-ref --stdin &&
	git -C many-up push -q "$(forge_repo_dir team/many.git)" "refs/heads/*:refs/heads/*" &&
	forge_fix_perms &&
	git clone -q "bbs::$FORGE_URL/team/many.git" many &&
	git -C many for-each-ref refs/remotes/origin >refs &&
	test_line_count = 3002 refs &&
	git -C many ls-remote origin >remote &&
	test_line_count = 3002 remote
'

test_expect_success 'fetch into a repository configured for a bbs:// remote by hand' '
	git init -q byhand &&
	git -C byhand remote add origin "bbs::$FORGE_URL/team/repo.git" &&
	git -C byhand fetch -q origin &&
	test "$(git -C byhand rev-parse origin/main)" = "$(git -C upstream rev-parse main)"
'

# A tree entry whose mode has a leading zero: git fsck warns about it
# (zeroPaddedFilemode), and --strict makes that an error.
test_expect_success 'set up a repository with a zero-padded file mode' '
	forge_create_repo team/fsck.git --empty &&
	git init -q fsckup &&
	commit_file fsckup a.txt one &&
	sub=$(git -C fsckup rev-parse "HEAD^{tree}") &&
	python3 -c "import sys; sys.stdout.buffer.write(b\"040000 sub\\0\" + bytes.fromhex(sys.argv[1]))" "$sub" |
		git -C fsckup hash-object -t tree -w --literally --stdin >badtree &&
	commit=$(git -C fsckup commit-tree "$(cat badtree)" -p HEAD -m padded) &&
	git -C fsckup update-ref refs/heads/main "$commit" &&
	git -C fsckup push -q "$(forge_repo_dir team/fsck.git)" main &&
	forge_fix_perms
'

test_expect_success 'fetch.fsckObjects: the fetch fails on the object, as in git' '
	test_must_fail git -c transfer.fsckObjects=true clone -q \
		"bbs::$FORGE_URL/team/fsck.git" f1 2>err &&
	test_grep -i "zeroPaddedFilemode" err &&
	test_path_is_missing f1
'

test_expect_success 'fetch.fsck.<msg-id> and fetch.fsck.skipList reach git index-pack' '
	git -c fetch.fsckObjects=true -c fetch.fsck.zeroPaddedFilemode=ignore \
		clone -q "bbs::$FORGE_URL/team/fsck.git" f2 &&
	git -C f2 cat-file -e "$(cat badtree)" &&
	git -c transfer.fsckObjects=true -c fetch.fsck.skipList="$PWD/badtree" \
		clone -q "bbs::$FORGE_URL/team/fsck.git" f3 &&
	git -C f3 cat-file -e "$(cat badtree)"
'

test_expect_success 'fetch.fsck.*: an unknown id is skipped with a warning, a bad severity fails' '
	git -c fetch.fsckObjects=true -c fetch.fsck.noSuchId=ignore \
		-c fetch.fsck.zeroPaddedFilemode=warn -c fetch.fsck.zeroPaddedFilemode=ignore \
		clone -q "bbs::$FORGE_URL/team/fsck.git" f4 2>err &&
	test_grep "warning: Skipping unknown msg id .nosuchid." err &&
	test_must_fail git -c fetch.fsckObjects=true -c fetch.fsck.zeroPaddedFilemode=bogus \
		clone -q "bbs::$FORGE_URL/team/fsck.git" f5 2>err &&
	test_grep "bad value for fetch.fsck.zeropaddedfilemode (error, warn or ignore)" err &&
	test_path_is_missing f5
'

test_expect_success 'a SHA-256 remote is refused clearly' '
	git init -q --bare --object-format=sha256 "$(forge_repo_dir team/sha256.git)" &&
	git -C "$(forge_repo_dir team/sha256.git)" config http.receivepack true &&
	git init -q --object-format=sha256 up256 &&
	commit_file up256 f.txt f &&
	git -C up256 push -q "$(forge_repo_dir team/sha256.git)" main &&
	forge_fix_perms &&
	test_must_fail git clone "bbs::$FORGE_URL/team/sha256.git" c256 2>err &&
	grep "SHA-256 repository, which is not supported (git-remote-bbs handles SHA-1 only)" err &&
	test_path_is_missing c256
'

test_expect_success 'a local SHA-256 repository is refused clearly' '
	git init -q --object-format=sha256 local256 &&
	git -C local256 remote add origin "bbs::$FORGE_URL/team/repo.git" &&
	test_must_fail git -C local256 fetch origin 2>err &&
	grep "SHA-256 repositories are not supported (git-remote-bbs handles SHA-1 only)" err
'

test_done
