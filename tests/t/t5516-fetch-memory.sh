#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='a fetch into a repository with a large pack index keeps the helper small'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

bbs_setup

# Peak RSS means nothing under valgrind: NOT_VALGRIND.

# commits N: a fast-import stream of N commits on main, one branch b<i>
# at each.
commits() {
	python3 -c '
import sys
w = sys.stdout.buffer.write
for i in range(1, int(sys.argv[1]) + 1):
    d = b"%d\n" % i
    w(b"commit refs/heads/main\nmark :%d\n" % i)
    w(b"committer A <a@example.com> %d +0000\ndata 2\nc\n" % (1700000000 + i))
    if i > 1:
        w(b"from :%d\n" % (i - 1))
    w(b"M 100644 inline f.txt\ndata %d\n%s\n" % (len(d), d))
    w(b"reset refs/heads/b%03d\nfrom :%d\n\n" % (i, i))
' "$1"
}

# blobs N: a fast-import stream of N small blobs no commit refers to: in
# the same pack as the commits, a pack index of N entries more, as after
# a clone of a large history.
blobs() {
	python3 -c '
import sys
w = sys.stdout.buffer.write
for i in range(int(sys.argv[1])):
    d = b"blob %d\n" % i
    w(b"blob\ndata %d\n%s\n" % (len(d), d))
' "$1"
}

# one_more REPO N: commit N on main of a served repository.
one_more() {
	printf 'commit refs/heads/main\ncommitter A <a@example.com> %d +0000\ndata 2\nc\nfrom refs/heads/main^0\nM 100644 inline f.txt\ndata <<EOF\n%d\nEOF\n\ndone\n' \
		$((1800000000 + $2)) "$2" |
		server_git "$1" fast-import --quiet &&
	forge_fix_perms
}

# helper_peak DIR: fetch in DIR through bbs; the peak RSS (KiB) of the
# helper and the processes it waited for, from getrusage.
helper_peak() {
	rm -f hwm &&
	PATH=$TRASH_DIRECTORY/mem:$PATH git -C "$1" fetch -q origin &&
	cat hwm
}

test_expect_success 'set up: 300 refs, with and without 200,000 more objects' '
	forge_create_repo team/small.git --empty &&
	forge_create_repo team/large.git --empty &&
	commits 300 | server_git team/small.git fast-import --quiet &&
	{ blobs 200000 && commits 300; } |
		server_git team/large.git fast-import --quiet &&
	test "$(ls "$(forge_repo_dir team/large.git)"/objects/pack/*.idx | wc -l)" = 1 &&
	forge_fix_perms &&
	for r in small large
	do
		git clone -q --no-checkout --no-hardlinks \
			"$(forge_repo_dir team/$r.git)" $r &&
		git -C $r remote set-url origin "bbs::$FORGE_URL/team/$r.git" ||
		return 1
	done &&
	test "$(git -C large count-objects -v | sed -n "s/^in-pack: //p")" -gt 200000 &&
	mkdir mem &&
	cat >mem/git-remote-bbs <<-EOF &&
	#!/bin/sh
	exec python3 -c "
	import resource, subprocess, sys
	code = subprocess.run(sys.argv[2:]).returncode
	peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
	open(sys.argv[1], \"w\").write(\"%d\\\\n\" % peak)
	sys.exit(code)" "$TRASH_DIRECTORY/hwm" "$BUILDDIR/git-remote-bbs" "\$@"
	EOF
	chmod +x mem/git-remote-bbs
'

test_expect_success 'the fetches bring what the server has' '
	for r in small large
	do
		one_more team/$r.git 1 &&
		git -C $r fetch -q origin &&
		test "$(git -C $r rev-parse origin/main)" = \
			"$(server_git team/$r.git rev-parse main)" || return 1
	done
'

# The helper used to read every local ref tip, and libgit2 to walk them,
# in its own process: most of the 5.6 MiB pack index of the large clone
# came into its memory.
test_expect_success NOT_VALGRIND 'the pack index of the local repository stays out of the helper' '
	one_more team/small.git 2 &&
	one_more team/large.git 2 &&
	small=$(helper_peak small) &&
	large=$(helper_peak large) &&
	echo "# peak RSS: small $small KiB, large $large KiB" >&2 &&
	test "$(git -C large rev-parse origin/main)" = \
		"$(server_git team/large.git rev-parse main)" &&
	test $((large - small)) -lt 1536
'

test_expect_success 'the fetch sent the local tips as haves: only the new commit came' '
	one_more team/large.git 3 &&
	git -C large count-objects -v >before &&
	git -C large fetch -q origin &&
	git -C large count-objects -v >after &&
	old=$(sed -n "s/^in-pack: //p" before) &&
	new=$(sed -n "s/^in-pack: //p" after) &&
	test $((new - old)) = 3
'

# The helper empties libgit2's CA store through a directory it makes in
# TMPDIR and removes at once; without one the fetch goes on as before.
# Not under valgrind, which needs a TMPDIR of its own for every program.
test_expect_success NOT_VALGRIND 'the empty CA directory is removed, and not needed' '
	mkdir tmpd &&
	one_more team/small.git 4 &&
	TMPDIR=$TRASH_DIRECTORY/tmpd git -C small fetch -q origin &&
	test -z "$(ls -A tmpd | grep "^bbs-ca-")" &&
	one_more team/small.git 5 &&
	TMPDIR=$TRASH_DIRECTORY/missing git -C small fetch -q origin &&
	test "$(git -C small rev-parse origin/main)" = \
		"$(server_git team/small.git rev-parse main)"
'

test_done
