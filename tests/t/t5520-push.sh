#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='push over bbs:: with an access token'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

bbs_setup

test_expect_success 'set up a clone' '
	forge_create_repo team/repo.git &&
	git clone -q "bbs::$FORGE_URL/team/repo.git" work &&
	git -C work log --oneline >log &&
	test_line_count = 1 log
'

test_expect_success 'push a new branch' '
	git -C work checkout -q -b feature &&
	commit_file work f1.txt one &&
	git -C work push origin feature 2>err &&
	grep "\[new branch\] *feature -> feature" err &&
	test "$(server_git team/repo.git rev-parse feature)" = "$(git -C work rev-parse feature)" &&
	server_git team/repo.git fsck --no-progress
'

test_expect_success 'fast-forward push' '
	commit_file work f2.txt two &&
	git -C work push -q origin feature &&
	test "$(server_git team/repo.git rev-parse feature)" = "$(git -C work rev-parse feature)"
'

test_expect_success 'a non-fast-forward push is rejected and changes nothing' '
	before=$(server_git team/repo.git rev-parse feature) &&
	git -C work reset -q --hard HEAD~1 &&
	commit_file work f3.txt three &&
	test_must_fail git -C work push origin feature 2>err &&
	grep "\[rejected\] *feature -> feature (non-fast-forward)" err &&
	test "$(server_git team/repo.git rev-parse feature)" = "$before"
'

test_expect_success 'push --force replaces the branch' '
	git -C work push -q --force origin feature &&
	test "$(server_git team/repo.git rev-parse feature)" = "$(git -C work rev-parse feature)"
'

test_expect_success 'push --force-with-lease with the right and a stale lease' '
	git -C work fetch -q origin &&
	git -C work reset -q --hard HEAD~1 &&
	commit_file work f4.txt four &&
	git -C work push -q --force-with-lease=feature origin feature &&
	test "$(server_git team/repo.git rev-parse feature)" = "$(git -C work rev-parse feature)" &&
	commit_file work f5.txt five &&
	test_must_fail git -C work push --force-with-lease=feature:$(git -C work rev-parse HEAD~3) origin feature 2>err &&
	grep "stale info" err
'

test_expect_success 'push tags, lightweight and annotated' '
	git -C work tag light &&
	git -C work tag -a -m "annotated" v1.0 &&
	git -C work push -q origin light v1.0 &&
	test "$(server_git team/repo.git rev-parse light)" = "$(git -C work rev-parse light)" &&
	test "$(server_git team/repo.git cat-file -t v1.0)" = tag
'

test_expect_success 'push several refs at once' '
	git -C work branch one &&
	git -C work branch two &&
	git -C work push origin one two HEAD:refs/heads/three 2>err &&
	grep -c "\[new branch\]" err >count &&
	test "$(cat count)" = 3 &&
	server_git team/repo.git rev-parse one two three
'

test_expect_success 'push --delete removes branches and tags' '
	git -C work push -q origin --delete one light &&
	test_must_fail server_git team/repo.git rev-parse --verify -q one &&
	test_must_fail server_git team/repo.git rev-parse --verify -q light &&
	server_git team/repo.git rev-parse --verify -q two
'

test_expect_success 'push --dry-run changes nothing on the server' '
	git -C work branch dry &&
	git -C work push --dry-run origin dry 2>err &&
	grep "\[new branch\] *dry -> dry" err &&
	test_must_fail server_git team/repo.git rev-parse --verify -q dry
'

test_expect_success 'a pre-receive hook that declines: the server reason reaches the user' '
	hooks=$(forge_repo_dir team/repo.git)/hooks &&
	printf "#!/bin/sh\necho \"policy: no pushes to blocked\"\nwhile read old new ref; do case \$ref in refs/heads/blocked) exit 1;; esac; done\nexit 0\n" >"$hooks/pre-receive" &&
	chmod +x "$hooks/pre-receive" &&
	forge_fix_perms &&
	git -C work branch blocked &&
	test_must_fail git -C work push origin blocked 2>err &&
	grep "\[remote rejected\] *blocked -> blocked (pre-receive hook declined)" err &&
	grep "^remote: policy: no pushes to blocked" err &&
	test_must_fail server_git team/repo.git rev-parse --verify -q blocked
'

test_expect_success 'an update hook declines one ref; the others land' '
	hooks=$(forge_repo_dir team/repo.git)/hooks &&
	rm -f "$hooks/pre-receive" &&
	printf "#!/bin/sh\ncase \$1 in refs/heads/bad*) exit 1;; esac\nexit 0\n" >"$hooks/update" &&
	chmod +x "$hooks/update" &&
	forge_fix_perms &&
	git -C work branch good1 &&
	git -C work branch bad1 &&
	test_must_fail git -C work push origin good1 bad1 2>err &&
	grep "\[new branch\] *good1 -> good1" err &&
	grep "\[remote rejected\] *bad1 -> bad1 (hook declined)" err &&
	server_git team/repo.git rev-parse --verify -q good1
'

test_expect_success 'push --atomic: one refusal keeps every ref as it was' '
	git -C work branch good2 &&
	git -C work branch bad2 &&
	test_must_fail git -C work push --atomic origin good2 bad2 2>err &&
	grep "bad2 -> bad2" err &&
	test_must_fail server_git team/repo.git rev-parse --verify -q good2 &&
	git -C work push -q --atomic origin good2 &&
	server_git team/repo.git rev-parse --verify -q good2
'

test_expect_success 'push options reach the server hooks, or are refused clearly' '
	hooks=$(forge_repo_dir team/repo.git)/hooks &&
	rm -f "$hooks/update" &&
	test_must_fail git -C work push -o ci.skip origin HEAD:refs/heads/opt 2>err &&
	grep "does not support push options" err &&
	server_git team/repo.git config receive.advertisePushOptions true &&
	printf "#!/bin/sh\necho \"\$GIT_PUSH_OPTION_COUNT \$GIT_PUSH_OPTION_0\" >\"\$GIT_DIR/push-options.out\"\n" >"$hooks/post-receive" &&
	chmod +x "$hooks/post-receive" &&
	forge_fix_perms &&
	git -C work push -q -o ci.skip origin HEAD:refs/heads/opt &&
	echo "1 ci.skip" >expect &&
	test_cmp expect "$(forge_repo_dir team/repo.git)/push-options.out"
'

# git C-quotes a push option or a lease that holds a quote, a backslash,
# a control byte or a byte >= 0x80.
test_expect_success 'quoted push options arrive unquoted' '
	hooks=$(forge_repo_dir team/repo.git)/hooks &&
	cat >"$hooks/post-receive" <<-\EOF &&
	#!/bin/sh
	i=0
	while test $i -lt "$GIT_PUSH_OPTION_COUNT"
	do
		eval "printf \"%s\\n\" \"\$GIT_PUSH_OPTION_$i\""
		i=$((i + 1))
	done >"$GIT_DIR/push-options.out"
	EOF
	chmod +x "$hooks/post-receive" &&
	forge_fix_perms &&
	utf8=$(printf "msg=caf\303\251") &&
	git -C work push -q -o "msg=say \"hi\"" -o "$utf8" -o "back\\slash" \
		origin HEAD:refs/heads/opt2 &&
	printf "%s\n" "msg=say \"hi\"" "$utf8" "back\\slash" >expect &&
	test_cmp expect "$(forge_repo_dir team/repo.git)/push-options.out"
'

test_expect_success 'a lease on a branch whose name git quotes is found' '
	b=$(printf "fix-\303\251") &&
	git -C work checkout -q -b "$b" &&
	commit_file work lease1.txt one &&
	git -C work push -q origin "$b" &&
	git -C work reset -q --hard HEAD~1 &&
	commit_file work lease2.txt two &&
	git -C work push -q --force-with-lease="$b" origin "$b" &&
	test "$(server_git team/repo.git rev-parse "refs/heads/$b")" = \
		"$(git -C work rev-parse HEAD)"
'

test_expect_success 'push progress in git format, silence with --quiet' '
	commit_file work p.txt progress &&
	git -C work push --progress origin HEAD:refs/heads/progress 2>err &&
	tr "\r" "\n" <err >lines &&
	grep "^Writing objects: 100%" lines &&
	commit_file work q.txt quiet &&
	git -C work push --quiet origin HEAD:refs/heads/progress 2>err &&
	test_must_be_empty err
'

test_expect_success 'a read-only token cannot push: permission denied' '
	git -C work branch ro-test &&
	test_must_fail env BBS_ACCESS_TOKEN="$RO_TOKEN" git -C work push origin ro-test 2>err &&
	grep "permission denied" err &&
	test_must_fail server_git team/repo.git rev-parse --verify -q ro-test
'

test_expect_success 'a pack slower to build than the keep-alive timeout still lands' '
	# a "git" that builds packs slowly makes pack-objects outlast the
	# forge keep-alive
	real_git=$(command -v git) &&
	exec_path_copy slowexec &&
	printf "#!/bin/sh\ncase \$1 in pack-objects) sleep 4;; esac\nexec %s \"\$@\"\n" "$real_git" >slowexec/git &&
	chmod +x slowexec/git &&
	git -C work checkout -q -b slow &&
	commit_file work s.txt slow &&
	start=$(date +%s) &&
	GIT_EXEC_PATH=$PWD/slowexec git -C work push origin slow 2>err &&
	test $(($(date +%s) - start)) -ge 4 &&
	grep "\[new branch\] *slow -> slow" err &&
	test "$(server_git team/repo.git rev-parse slow)" = "$(git -C work rev-parse slow)"
'

test_expect_success 'a pack larger than the post buffer streams, even when slow' '
	git -C work checkout -q -b big &&
	dd if=/dev/urandom of=work/big.bin bs=1024 count=3072 2>/dev/null &&
	git -C work add big.bin &&
	git -C work commit -q -m big &&
	GIT_TRACE_BBS=$PWD/trace.big GIT_EXEC_PATH=$PWD/slowexec \
		git -C work push origin big 2>err &&
	grep "streaming the rest" trace.big &&
	grep "Transfer-Encoding: chunked" trace.big &&
	test "$(server_git team/repo.git rev-parse big)" = "$(git -C work rev-parse big)" &&
	server_git team/repo.git cat-file -e big:big.bin
'

# git passes the updates it marks "fetch first" or "needs force" on to the
# helper, which must refuse them as git does, outside refs/heads/ too.
test_expect_success 'notes another clone pushed are not overwritten: fetch first' '
	git clone -q "bbs::$FORGE_URL/team/repo.git" notes-a &&
	git clone -q "bbs::$FORGE_URL/team/repo.git" notes-b &&
	git -C notes-a notes add -m "note from a" HEAD &&
	git -C notes-a push -q origin refs/notes/commits &&
	git -C notes-b notes add -m "note from b" HEAD &&
	test_must_fail git -C notes-b push origin refs/notes/commits 2>err &&
	grep "\[rejected\] *refs/notes/commits -> refs/notes/commits (fetch first)" err &&
	test "$(server_git team/repo.git rev-parse refs/notes/commits)" = \
		"$(git -C notes-a rev-parse refs/notes/commits)" &&
	git -C notes-b push -q --force origin refs/notes/commits &&
	test "$(server_git team/repo.git rev-parse refs/notes/commits)" = \
		"$(git -C notes-b rev-parse refs/notes/commits)"
'

test_expect_success 'a ref to a blob is replaced only with --force: needs force' '
	blob=$(git -C work rev-parse HEAD:big.bin) &&
	server_git team/repo.git update-ref refs/blobs/one "$blob" &&
	forge_fix_perms &&
	test_must_fail git -C work push origin HEAD:refs/blobs/one 2>err &&
	grep "\[rejected\] *HEAD -> refs/blobs/one (needs force)" err &&
	test "$(server_git team/repo.git rev-parse refs/blobs/one)" = "$blob" &&
	git -C work push -q --force origin HEAD:refs/blobs/one &&
	test "$(server_git team/repo.git rev-parse refs/blobs/one)" = \
		"$(git -C work rev-parse HEAD)"
'

# 30,000 tags with long names: a report of about 5 MiB, over the 4 MiB a
# report was once allowed whatever was pushed.
test_expect_success NOT_VALGRIND 'the report of a push of 30,000 refs is read whole' '
	long=$(printf "%0150d" 0) &&
	git -C work rev-parse HEAD >head &&
	awk -v l="$long" -v h="$(cat head)" "BEGIN { for (i = 0; i < 30000; i++) printf \"create refs/tags/t%05d-%s %s\\n\", i, l, h }" |
		git -C work update-ref --stdin &&
	git -C work push -q origin --tags 2>err &&
	test_must_be_empty err &&
	test "$(server_git team/repo.git for-each-ref refs/tags | grep -c "t[0-9]*-$long")" = 30000
'

test_expect_success 'pushes leave no temporary files behind' '
	no_leftover_packs work
'

test_done
