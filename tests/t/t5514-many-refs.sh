#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='many refs: the list answer, its cost per ref, a fetch after it'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

bbs_setup
GENREPO=$SRCDIR/tests/bench/genrepo.py

# The large repository's refs.  Under valgrind each of the helper's runs
# over 22,000 refs takes half a minute; 6,000 still make an advertisement
# many times the size of every buffer that reads it.
LARGE=22000
if [ -n "${BBS_TEST_VALGRIND:-}" ]; then
	LARGE=6000
fi

# The cost of `list` is measured as instructions under callgrind (exact,
# whatever the machine's load), which cannot run inside the valgrind pass
# or on a sanitizer build (valgrind cannot run those, and their counts are
# not the program's).
if command -v valgrind >/dev/null 2>&1 && [ -z "${BBS_TEST_VALGRIND:-}" ] &&
	! grep -q -a -e __asan_init -e __ubsan_handle "$BUILDDIR/git-remote-bbs"; then
	test_set_prereq CALLGRIND
fi

# many_refs REPO N: a served repository with main and N more refs.
many_refs() {
	forge_create_repo "$1" --empty &&
	upstream_push "$1" main &&
	python3 "$GENREPO" refs --git-dir "$(forge_repo_dir "$1")" --count "$2" &&
	forge_fix_perms
}

# cost CMD...: the instructions git-remote-bbs spends on the git command
# CMD, under callgrind.
cost() {
	rm -f cg.log &&
	PATH=$TRASH_DIRECTORY/cg:$PATH "$@" >/dev/null &&
	sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' cg.log
}

# list_cost REPO: the cost of "git ls-remote" of REPO.
list_cost() {
	cost git ls-remote "bbs::$FORGE_URL/$1"
}

test_expect_success "set up repositories with 2,000 and $LARGE refs" '
	git init -q upstream &&
	commit_file upstream a.txt one &&
	commit_file upstream b.txt two &&
	git -C upstream tag -a -m v1 v1 &&
	forge_create_repo team/small.git --empty &&
	upstream_push team/small.git main v1 &&
	many_refs team/r2k.git 2000 &&
	many_refs team/large.git $LARGE &&
	test "$(server_git team/large.git for-each-ref | wc -l)" = $((LARGE + 1))
'

test_expect_success 'ls-remote lists what the server has, peeled tags and HEAD included' '
	for repo in team/small.git team/large.git
	do
		git ls-remote "bbs::$FORGE_URL/$repo" >bbs &&
		git ls-remote "$(forge_repo_dir "$repo")" >local &&
		test_cmp local bbs || return 1
	done &&
	git ls-remote "bbs::$FORGE_URL/team/small.git" >small &&
	test_grep "refs/tags/v1^{}" small &&
	test_grep "	HEAD$" small
'

test_expect_success 'HEAD is the symref the server names' '
	server_git team/r2k.git symbolic-ref HEAD refs/heads/team5/topic-000005 &&
	git clone -q --no-checkout "bbs::$FORGE_URL/team/r2k.git" c2k &&
	test "$(git -C c2k symbolic-ref HEAD)" = refs/heads/team5/topic-000005 &&
	test "$(git -C c2k rev-parse origin/HEAD)" = \
		"$(server_git team/r2k.git rev-parse refs/heads/team5/topic-000005)" &&
	test "$(git -C c2k for-each-ref refs/remotes/origin | wc -l)" = \
		"$(($(server_git team/r2k.git for-each-ref refs/heads | wc -l) + 1))"
'

test_expect_success 'a fetch after the list asks for the advertisement once' '
	git clone -q "bbs::$FORGE_URL/team/large.git" clarge &&
	commit_file upstream c.txt three &&
	upstream_push team/large.git main &&
	before=$(wc -l <"$(forge_gate_log)") &&
	git -C clarge fetch -q origin &&
	test "$(git -C clarge rev-parse origin/main)" = "$(git -C upstream rev-parse main)" &&
	tail -n +$((before + 1)) "$(forge_gate_log)" >requests &&
	test "$(grep -c "^GET /team/large.git/info/refs" requests)" = 1 &&
	test "$(grep -c "^POST /team/large.git/git-upload-pack" requests)" -ge 1 &&
	git -C clarge fsck --connectivity-only --no-progress
'

test_expect_success "a no-op fetch of $LARGE refs changes nothing" '
	git -C clarge for-each-ref >before &&
	git -C clarge fetch origin 2>err &&
	test_must_be_empty err &&
	git -C clarge for-each-ref >after &&
	test_cmp before after
'

# libgit2 1.5 moves its whole 64 KiB read buffer for every pkt-line it
# parses: about 70,000 instructions per advertised ref, where the list is
# answered in about 5,000.  The difference between the two repositories
# leaves start-up out.
test_expect_success CALLGRIND 'the list answer costs less than 20,000 instructions per ref' '
	mkdir cg &&
	cat >cg/git-remote-bbs <<-EOF &&
	#!/bin/sh
	exec valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		--log-file="$TRASH_DIRECTORY/cg.log" "$BUILDDIR/git-remote-bbs" "\$@"
	EOF
	chmod +x cg/git-remote-bbs &&
	small=$(list_cost team/r2k.git) &&
	large=$(list_cost team/large.git) &&
	test -n "$small" && test -n "$large" &&
	per_ref=$(((large - small) / (LARGE - 2000))) &&
	echo "instructions per ref: $per_ref" &&
	test "$per_ref" -lt 20000
'

# A clone names every branch and tag in its fetch batch.  Matched by name
# against the whole advertisement, by libgit2 or by the batch's own
# duplicate check, each ref cost more the more there were: 6.5 s before
# the first request for 22,000 refs.  Shown all the refs asked for,
# libgit2 1.5 spent about 105,000 instructions reading each; shown one,
# with the others wanted through the subtransport, about 25,000 are left.
test_expect_success CALLGRIND 'a clone costs the same per ref for 2,000 refs as for 6,000' '
	many_refs team/r6k.git 6000 &&
	small=$(cost git clone -q --bare "bbs::$FORGE_URL/team/r2k.git" b2k) &&
	large=$(cost git clone -q --bare "bbs::$FORGE_URL/team/r6k.git" b6k) &&
	test -n "$small" && test -n "$large" &&
	test "$(git -C b6k for-each-ref | wc -l)" = 6001 &&
	per_ref=$(((large - small) / 4000)) &&
	echo "instructions per ref: $per_ref" &&
	test "$per_ref" -lt 60000
'

# push_new_tags REPO N: the cost of pushing N new tags at main from the
# local upstream to REPO, a served repository with main and N more refs.
push_new_tags() {
	local main
	main=$(git -C upstream rev-parse main) &&
	seq -f "create refs/tags/new$2/t%06g $main" "$2" |
		git -C upstream update-ref --stdin &&
	many_refs "$1" "$2" &&
	cost git -C upstream push -q "bbs::$FORGE_URL/$1" \
		"refs/tags/new$2/*:refs/tags/new$2/*" &&
	test "$(server_git "$1" for-each-ref "refs/tags/new$2" | wc -l)" = "$2"
}

# A push matched each ref by name against the whole advertisement, and
# each report line against every pushed ref: 60,000 new tags for a
# repository with 60,000 refs took 10 to 25 s in the helper, and here
# 565,000 instructions a ref.  Now about 100,000, two thirds of them
# zeroing pkt_addf's line buffer.
test_expect_success CALLGRIND 'a push of new tags costs the same per tag for 2,000 as for 6,000' '
	small=$(push_new_tags team/p2k.git 2000) &&
	large=$(push_new_tags team/p6k.git 6000) &&
	test -n "$small" && test -n "$large" &&
	per_ref=$(((large - small) / 4000)) &&
	echo "instructions per ref: $per_ref" &&
	test "$per_ref" -lt 250000
'

test_done
