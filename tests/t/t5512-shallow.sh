#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='shallow clones and fetches over bbs:: (libgit2 1.9 and later)'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

bbs_setup
URL=bbs::$FORGE_URL/team/repo.git

# commits DIR [REV]: how many commits DIR has from REV (default HEAD)
commits() {
	git -C "$1" rev-list --count "${2:-HEAD}"
}

test_expect_success 'set up an upstream with five commits' '
	forge_create_repo team/repo.git --empty &&
	git init -q upstream &&
	for i in 1 2 3 4 5
	do
		commit_file upstream "f$i.txt" "$i" || return 1
	done &&
	upstream_push team/repo.git main
'

test_expect_success !LIBGIT2_1_9 'without libgit2 1.9 --depth fails, naming the version' '
	test_must_fail git clone --depth 1 "$URL" shallow 2>err &&
	grep "shallow fetches (--depth) need libgit2 1.9 or later; this git-remote-bbs is built with libgit2 [0-9]*\.[0-9]*\.[0-9]*" err >lines &&
	test_line_count = 1 lines &&
	test_path_is_missing shallow &&
	git clone -q "$URL" full &&
	test_must_fail git -C full fetch --depth 1 origin 2>err &&
	grep "need libgit2 1.9 or later" err &&
	test_path_is_missing full/.git/shallow
'

test_expect_success LIBGIT2_1_9 'clone --depth 1 (libgit2 1.9+)' '
	git clone -q --depth 1 "$URL" d1 &&
	test "$(git -C d1 rev-parse HEAD)" = "$(git -C upstream rev-parse main)" &&
	test "$(cat d1/.git/shallow)" = "$(git -C upstream rev-parse main)" &&
	test "$(commits d1)" = 1 &&
	git -C d1 fsck --no-progress &&
	no_leftover_packs d1
'

test_expect_success LIBGIT2_1_9 'clone --depth 3 (libgit2 1.9+)' '
	git clone -q --depth 3 "$URL" d3 &&
	test "$(commits d3)" = 3 &&
	test "$(cat d3/.git/shallow)" = "$(git -C upstream rev-parse main~2)" &&
	git -C d3 fsck --no-progress
'

test_expect_success LIBGIT2_1_9 'fetch into a shallow clone brings the new commits (libgit2 1.9+)' '
	commit_file upstream f6.txt 6 &&
	upstream_push team/repo.git main &&
	git -C d1 fetch -q origin &&
	test "$(git -C d1 rev-parse origin/main)" = "$(git -C upstream rev-parse main)" &&
	test "$(commits d1 origin/main)" = 2 &&
	git -C d1 fsck --no-progress
'

test_expect_success LIBGIT2_1_9 'fetch --depth 2 cuts the fetched history (libgit2 1.9+)' '
	git -C d3 fetch -q --depth 2 origin &&
	test "$(commits d3 origin/main)" -ge 2 &&
	grep "$(git -C upstream rev-parse main~1)" d3/.git/shallow
'

test_expect_success LIBGIT2_1_9 'fetch --deepen 2 goes two commits further back (libgit2 1.9+)' '
	git clone -q --depth 1 "$URL" dp &&
	git -C dp fetch -q --deepen 2 origin &&
	test "$(commits dp origin/main)" = 3 &&
	test "$(cat dp/.git/shallow)" = "$(git -C upstream rev-parse main~2)" &&
	git -C dp fsck --no-progress
'

test_expect_success LIBGIT2_1_9 'fetch --unshallow completes the history (libgit2 1.9+)' '
	git -C dp fetch -q --unshallow origin &&
	test_path_is_missing dp/.git/shallow &&
	test "$(commits dp origin/main)" = 6 &&
	git -C dp fsck --no-progress
'

test_expect_success LIBGIT2_1_9 'push from a shallow clone (libgit2 1.9+)' '
	git clone -q --depth 1 "$URL" pusher &&
	commit_file pusher f7.txt 7 &&
	git -C pusher push -q origin main &&
	test "$(server_git team/repo.git rev-parse main)" = "$(git -C pusher rev-parse HEAD)" &&
	server_git team/repo.git fsck --no-progress &&
	git -C upstream pull -q "$(forge_repo_dir team/repo.git)" main
'

test_expect_success LIBGIT2_1_9 'a linked worktree of a shallow clone fetches into the common shallow file (libgit2 1.9+)' '
	git clone -q --depth 1 "$URL" wt-main &&
	git -C wt-main worktree add -q ../wt-linked &&
	git -C wt-linked fetch -q --deepen 1 origin &&
	test "$(commits wt-main origin/main)" = 2 &&
	test "$(cat wt-main/.git/shallow)" = "$(git -C upstream rev-parse main~1)" &&
	! find wt-main/.git/worktrees -name shallow | grep . &&
	git -C wt-linked fetch -q --unshallow origin &&
	test_path_is_missing wt-main/.git/shallow &&
	! find wt-main/.git/worktrees -name shallow | grep . &&
	git -C wt-main fsck --no-progress
'

test_expect_success '--shallow-since, --shallow-exclude and --filter fail in one line and change nothing; the filter git keeps gets its undo' '
	git clone -q "$URL" plain &&
	git -C plain rev-parse --all >refs.before &&
	ls plain/.git/objects/pack >packs.before &&
	commit_file upstream f8.txt 8 &&
	upstream_push team/repo.git main &&
	test_must_fail git -C plain fetch --shallow-since=2000-01-01 origin 2>err &&
	grep "error: bbs: --shallow-since is not supported" err >lines &&
	test_line_count = 1 lines &&
	test_must_fail git -C plain fetch --shallow-exclude=main origin 2>err &&
	grep "error: bbs: --shallow-exclude is not supported" err &&
	test_must_fail git -C plain fetch --filter=blob:none origin 2>err &&
	grep "error: bbs: partial clones (--filter) are not supported" err &&
	# git wrote the filter into the remote before asking: every fetch
	# asks for it from now on, and the hint says how to undo that
	test "$(git -C plain config remote.origin.partialclonefilter)" = blob:none &&
	hint="^hint: this repository asks for a filter on every fetch (left by a .git fetch --filter.); to fetch again: git config --unset remote.origin.partialclonefilter && git config --unset remote.origin.promisor$" &&
	grep "$hint" err &&
	test_must_fail git -C plain fetch origin 2>err &&
	grep "error: bbs: partial clones (--filter) are not supported" err &&
	grep "$hint" err &&
	git -C plain rev-parse --all >refs.after &&
	ls plain/.git/objects/pack >packs.after &&
	test_cmp refs.before refs.after &&
	test_cmp packs.before packs.after &&
	test_path_is_missing plain/.git/shallow &&
	test_must_fail git clone --filter=blob:none "$URL" partial 2>err &&
	grep "partial clones (--filter) are not supported" err &&
	test_path_is_missing partial &&
	git -C plain config --unset remote.origin.partialclonefilter &&
	git -C plain config --unset remote.origin.promisor &&
	git -C plain fetch -q origin &&
	test "$(git -C plain rev-parse origin/main)" = "$(git -C upstream rev-parse main)"
'

# hold_lock DIR MODE: flock DIR (sh or ex) in the background until the
# file "release" appears; "held" says when it is held, holder.pid who.
hold_lock() {
	rm -f held release &&
	python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
fcntl.flock(fd, fcntl.LOCK_SH if sys.argv[2] == "sh" else fcntl.LOCK_EX)
open("held", "w").write("held\n")
while not os.path.exists("release"):
	time.sleep(0.05)
' "$1" "$2" &
	echo $! >holder.pid &&
	wait_for_text held held 100
}

test_expect_success LIBGIT2_1_9 'a fetch that may change the shallow file waits for the fetches under way; the others do not (libgit2 1.9+)' '
	test_when_finished "touch release" &&
	git clone -q "$URL" lk &&
	commit_file upstream f9.txt 9 &&
	upstream_push team/repo.git main &&
	hold_lock lk/.git sh &&
	git -C lk fetch -q origin &&
	kill -0 "$(cat holder.pid)" &&
	commit_file upstream f10.txt 10 &&
	upstream_push team/repo.git main &&
	{ git -C lk fetch --depth 1 origin >out 2>err & } &&
	echo $! >fetch.pid &&
	wait_for_text err "waiting for another fetch into this repository to finish" 300 &&
	kill -0 "$(cat fetch.pid)" &&
	test_path_is_missing lk/.git/shallow &&
	touch release &&
	wait_for_exit fetch.pid 300 &&
	wait "$(cat fetch.pid)" &&
	test "$(cat lk/.git/shallow)" = "$(git -C upstream rev-parse main)" &&
	# a shallow repository: any fetch may change the file
	commit_file upstream f11.txt 11 &&
	upstream_push team/repo.git main &&
	hold_lock lk/.git sh &&
	{ git -C lk fetch -q origin >out 2>err2 & } &&
	echo $! >fetch.pid &&
	wait_for_text err2 "waiting for another fetch" 300 &&
	touch release &&
	wait_for_exit fetch.pid 300 &&
	wait "$(cat fetch.pid)" &&
	test "$(git -C lk rev-parse origin/main)" = "$(git -C upstream rev-parse main)" &&
	git -C lk fsck --no-progress
'

test_done
