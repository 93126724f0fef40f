# SPDX-License-Identifier: MIT
# lib-bbs.sh - shared set-up for the git-remote-bbs integration tests.
# Sourced after test-lib.sh and lib-forge.sh.
# shellcheck shell=bash

# Prerequisites.  NOT_VALGRIND: the programs do not run under valgrind
# (BBS_TEST_VALGRIND), for tests of timing, memory or file limits that
# valgrind changes.  MEMSCAN: the test may read the memory of the programs
# it starts (memscan): that needs root's ptrace rights, and under valgrind
# the memory is valgrind's.
if [ -z "${BBS_TEST_VALGRIND:-}" ]; then
	test_set_prereq NOT_VALGRIND
	if [ "$(id -u)" = 0 ]; then
		test_set_prereq MEMSCAN
	fi
fi

# bbs_setup: start the forge, grant a write token ($TOKEN) and a read-only
# token ($RO_TOKEN), and export the write token as BBS_ACCESS_TOKEN.
bbs_setup() {
	forge_start || return 1
	TOKEN=$(new_token) && RO_TOKEN=$(new_token) || return 1
	forge_grant "$TOKEN" write && forge_grant "$RO_TOKEN" read || return 1
	BBS_ACCESS_TOKEN=$TOKEN
	export BBS_ACCESS_TOKEN
}

# upstream_push REPO [git push args...]: push from ./upstream straight into
# the served repository REPO (e.g. team/repo.git), as another user of the
# forge would, then hand the files back to the web server.
upstream_push() {
	local repo=$1
	shift
	git -C upstream push -q "$(forge_repo_dir "$repo")" "$@" &&
		forge_fix_perms
}

# server_git REPO ARGS...: run git in a served repository.
server_git() {
	local repo=$1
	shift
	git -C "$(forge_repo_dir "$repo")" "$@"
}

# commit_file DIR FILE CONTENT: commit one file in a work tree.
commit_file() {
	printf '%s\n' "$3" >"$1/$2" &&
		git -C "$1" add "$2" &&
		test_tick &&
		git -C "$1" commit -q -m "$2: $3"
}

# no_leftover_packs DIR: no temporary or partial pack files in a repository.
no_leftover_packs() {
	! find "$1/.git/objects" -name 'tmp_*' -o -name 'pack_git2_*' \
		-o -name 'bbs-push-*' | grep .
}


# The file token store of the test's HOME.
STORE=$XDG_STATE_HOME/git-remote-bbs/tokens.json

# stored FIELD: a field of the first stored grant.
stored() {
	python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["grants"]; print(g[0].get(sys.argv[2], ""))' "$STORE" "$1"
}

# expire: mark every stored access token expired, as time would.
expire() {
	python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); [g.__setitem__("expires_at", 1) for g in d["grants"]]; json.dump(d,open(p,"w"))' "$STORE" &&
	chmod 600 "$STORE"
}

# ms: milliseconds since the epoch.
ms() {
	date +%s%3N
}

# took_less_than START MS: at most MS milliseconds since START (from ms).
# Under valgrind (BBS_TEST_VALGRIND) every process is slow, so only the
# behaviour is checked there, not the time.
took_less_than() {
	[ -n "${BBS_TEST_VALGRIND:-}" ] || test $(($(ms) - $1)) -lt "$2"
}

# oauth_configure [SCOPES]: point the forge's remotes at the test OAuth
# server (generic provider, discovery from $OAUTH_URL).
oauth_configure() {
	git config --global "bbs.$FORGE_URL.issuer" "$OAUTH_URL" &&
	git config --global "bbs.$FORGE_URL.clientId" bbs-test-client &&
	git config --global "bbs.$FORGE_URL.scopes" "${1:-${OAUTH_SCOPES:-git:write}}"
}

# exec_path_copy DIR: a copy of git's exec path in DIR (links), with its
# "git" removed; write DIR/git, and GIT_EXEC_PATH=DIR makes every "git"
# the helper runs go through it (git puts its exec path first in PATH).
exec_path_copy() {
	local f
	mkdir "$1" &&
	for f in "$(git --exec-path)"/*; do
		ln -s "$f" "$1/" || return 1
	done &&
	rm "$1/git"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now, for a
# program to listen on later.  It is taken below the kernel's ephemeral
# range, from which the outgoing connections of the tests running beside
# this one take theirs.
free_port() {
	python3 -c '
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(100):
    port = random.randrange(20000, lo) if lo > 21000 else 0
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(s.getsockname()[1])
    break
else:
    raise SystemExit("no free port")
'
}

# wait_for_text FILE TEXT TENTHS: until FILE contains TEXT, at most TENTHS
# tenths of a second; fails if it never does.
wait_for_text() {
	local i
	for i in $(seq 1 "$3"); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_for_exit PIDFILE TENTHS: until that process has ended, at most
# TENTHS tenths of a second; fails if it is still running.
wait_for_exit() {
	local i
	for i in $(seq 1 "$2"); do
		kill -0 "$(cat "$1")" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# wait_for_missing PATH TENTHS: until PATH is gone, at most TENTHS tenths
# of a second; fails if it is still there.
wait_for_missing() {
	local i
	for i in $(seq 1 "$2"); do
		[ -e "$1" ] || [ -L "$1" ] || return 0
		sleep 0.1
	done
	return 1
}

# store_ok: the store ($STORE) is a complete file holding one grant, with both tokens.
store_ok() {
	python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))["grants"]
assert len(g) == 1 and g[0]["access_token"] and g[0]["refresh_token"], g
' "$STORE"
}

# wait_stopped PID: wait (up to 10 s) until PID has stopped itself.
wait_stopped() {
	for i in $(seq 1 100); do
		grep -q "^State:[[:space:]]*T" "/proc/$1/status" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "^State:[[:space:]]*T" "/proc/$1/status"
}

# testhooks_program: print the path of git bbs with pause points
# (tests/git-bbs-testhooks, built by make check in the build tree, also
# when BBS_BUILD_DIR points at wrappers of the programs); fail without it.
testhooks_program() {
	local p=$BUILDDIR/tests/git-bbs-testhooks
	test -x "$p" || p=${abs_top_builddir:-$BUILDDIR}/tests/git-bbs-testhooks
	test -x "$p" && printf '%s\n' "$p"
}

# memscan PID STRING...: each STRING found in the writable memory of PID,
# by its position among the arguments (never the string: it is a secret),
# with the mapping and a count, one per line ("2 in [heap]: 1").  Mappings over 1 GiB are a sanitizer's
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
	                print("%d in %s: %d" % (needles.index(n) + 1, where,
	                                        count[n]))
	PY
}

# scan_after_refresh URL: with the stored grant's access token expired,
# start git-remote-bbs on URL, which refreshes before it answers
# `capabilities` and then waits for git's next command: by then it needs
# the access token (in the request header) and nothing else.  The token
# response went through libcurl, the TLS library on https, the HTTP stream
# buffer, a stack buffer and the JSON parser.  Fails if the helper's
# writable memory holds the old or the new refresh token, or lacks the
# access token (the scan would be blind).  Needs the MEMSCAN prerequisite.
scan_after_refresh() {
	local old_refresh new_refresh access writer pid i=0
	old_refresh=$(stored refresh_token) &&
	test -n "$old_refresh" &&
	expire &&
	rm -f helper.in && mkfifo helper.in &&
	{ (echo capabilities && exec sleep 60) >helper.in & } &&
	writer=$! &&
	{ git-remote-bbs origin "$1" <helper.in >helper.out 2>helper.err & } &&
	pid=$! &&
	test_when_finished "kill $writer $pid" &&
	until grep -q "^fetch$" helper.out 2>/dev/null || [ $i -gt 100 ]
	do
		sleep 0.1 && i=$((i + 1)) || return 1
	done &&
	test_grep "^fetch$" helper.out &&
	new_refresh=$(stored refresh_token) &&
	access=$(stored access_token) &&
	test "$new_refresh" != "$old_refresh" &&
	memscan $pid "$access" >found.access &&
	test_grep "^1 in .*: [1-9]" found.access &&
	memscan $pid "$new_refresh" "$old_refresh" >found &&
	test_must_be_empty found
}
