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

# Reading another process's memory needs ptrace rights over it: root's.
[ "$(id -u)" = 0 ] && [ -z "${BBS_TEST_VALGRIND:-}" ] &&
	test_set_prereq MEMSCAN

# memscan PID STRING...: each STRING found in the writable memory of PID,
# with a count, one per line.  Mappings over 1 GiB are a sanitizer's
# shadow memory, not data: skipped.
memscan() {
	python3 - "$@" <<-\PY
	import sys
	pid = int(sys.argv[1])
	needles = [a.encode() for a in sys.argv[2:] if a]
	step = 1 << 24
	with open("/proc/%d/maps" % pid) as maps, \
	     open("/proc/%d/mem" % pid, "rb", 0) as mem:
	    for line in maps:
	        f = line.split()
	        lo, hi = (int(x, 16) for x in f[0].split("-"))
	        if "rw" not in f[1] or hi - lo > 1 << 30:
	            continue
	        where = f[5] if len(f) > 5 else "anonymous"
	        count = dict.fromkeys(needles, 0)
	        for at in range(lo, hi, step):
	            try:
	                mem.seek(at)
	                data = mem.read(min(step + 256, hi - at))
	            except OSError:
	                break
	            for n in needles:
	                i = data.find(n)
	                while 0 <= i < step:
	                    count[n] += 1
	                    i = data.find(n, i + 1)
	        for n in needles:
	            if count[n]:
	                print("%s in %s: %d" % (n.decode()[:12], where, count[n]))
	PY
}

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure &&
	BROWSER=$BROWSER_STANDIN git bbs login "$URL" 2>/dev/null &&
	test_path_is_file "$STORE"
'

# The helper refreshes an expired token before it answers git, then waits
# for git's next command: by then it needs the access token (in the
# request header) and nothing else.  The token response went through
# libcurl, the HTTP stream buffer, a stack buffer and the JSON parser.
test_expect_success MEMSCAN 'after a refresh the helper keeps neither refresh token' '
	old_refresh=$(stored refresh_token) &&
	test -n "$old_refresh" &&
	expire &&
	mkfifo helper.in &&
	{ (echo capabilities && exec sleep 60) >helper.in & } &&
	writer=$! &&
	{ git-remote-bbs origin "$URL" <helper.in >helper.out 2>helper.err & } &&
	pid=$! &&
	test_when_finished "kill $writer $pid" &&
	i=0 &&
	until grep -q "^fetch$" helper.out 2>/dev/null || [ $i -gt 100 ]
	do
		sleep 0.1 && i=$((i + 1)) || return 1
	done &&
	test_grep "^fetch$" helper.out &&
	new_refresh=$(stored refresh_token) &&
	access=$(stored access_token) &&
	test "$new_refresh" != "$old_refresh" &&
	# the scan does see the token the helper needs
	memscan $pid "$access" >found.access &&
	test_grep "^at_.* in .*: [1-9]" found.access &&
	memscan $pid "$new_refresh" "$old_refresh" >found &&
	test_must_be_empty found
'

test_done
