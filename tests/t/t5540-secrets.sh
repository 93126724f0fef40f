#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='the access token never leaks: argv, environment, config, traces, logs'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

bbs_setup

# A copy of git's exec path whose "git" records, for every command the
# helper runs (index-pack, pack-objects), its own argv and environment and
# the argv and environment of the helper that started it.
test_expect_success 'set up a spying exec path' '
	real_git=$(command -v git) &&
	exec_path_copy spyexec &&
	cat >spyexec/git <<-EOF &&
	#!/bin/sh
	case "\$1" in
	index-pack|pack-objects)
		{
			echo "== \$1 argv: \$*"
			env
			echo "== parent argv"
			tr "\\\\0" " " </proc/\$PPID/cmdline
			echo
			echo "== parent environ"
			tr "\\\\0" "\\\\n" </proc/\$PPID/environ
		} >>"$PWD/spy.out"
		;;
	esac
	exec "$real_git" "\$@"
	EOF
	chmod +x spyexec/git &&
	forge_create_repo team/repo.git
'

test_expect_success 'clone, fetch and push with every trace on' '
	export GIT_EXEC_PATH=$PWD/spyexec &&
	test_when_finished "unset GIT_EXEC_PATH" &&
	GIT_TRACE=$PWD/trace.git GIT_TRACE_PACKET=$PWD/trace.packet \
	GIT_TRACE_CURL=$PWD/trace.curl GIT_TRACE_BBS=$PWD/trace.bbs \
	GIT_TRANSPORT_HELPER_DEBUG=1 \
	git clone --progress "bbs::$FORGE_URL/team/repo.git" work >out 2>err &&
	commit_file work a.txt one &&
	GIT_TRACE=$PWD/trace.git GIT_TRACE_BBS=$PWD/trace.bbs \
	git -C work push --progress origin main >>out 2>>err &&
	GIT_TRACE_BBS=$PWD/trace.bbs git -C work fetch origin >>out 2>>err &&
	grep "index-pack argv" spy.out &&
	grep "pack-objects argv" spy.out &&
	grep "parent argv.*" spy.out >/dev/null &&
	grep "git-remote-bbs" spy.out >/dev/null
'

test_expect_success 'the bbs trace redacts the credential header' '
	grep "Authorization: Bearer <redacted>" trace.bbs &&
	grep "http: POST .*/git-receive-pack" trace.bbs
'

test_expect_success 'a failing request does not echo the token' '
	test_must_fail env BBS_ACCESS_TOKEN="${TOKEN}x" GIT_TRACE_BBS=$PWD/trace.bad \
		git clone "bbs::$FORGE_URL/team/repo.git" bad >>out 2>>err &&
	grep "rejected the access token" err
'

test_expect_success 'no trace, output, config, child or log holds the token' '
	test -s trace.git && test -s trace.bbs && test -s spy.out &&
	test_grep ! -r -F -e "$TOKEN" trace.* out err spy.out work/.git/config \
		"$FORGE_DIR/logs" &&
	test_grep ! -r -F -e "$(printf "x-token-auth:%s" "$TOKEN" | base64 -w0)" \
		trace.* out err spy.out "$FORGE_DIR/logs"
'

test_expect_success 'Basic x-token-auth is redacted too, and stays out of the logs' '
	git -C work config bbs.gitAuth basic &&
	GIT_TRACE_BBS=$PWD/trace.basic git -C work fetch origin 2>err &&
	grep "Authorization: Basic <redacted>" trace.basic &&
	grep "scheme=basic user=x-token-auth token=ok" "$(forge_gate_log)" &&
	test_grep ! -r -F -e "$TOKEN" trace.basic err "$FORGE_DIR/logs" work/.git/config &&
	test_grep ! -r -F -e "$(printf "x-token-auth:%s" "$TOKEN" | base64 -w0)" \
		trace.basic err "$FORGE_DIR/logs"
'

# A client secret given with git -c reaches the helper in the environment;
# no child of the helper may inherit it (the other settings it must).
test_expect_success 'a client secret given with git -c reaches no child' '
	export GIT_EXEC_PATH=$PWD/spyexec &&
	test_when_finished "unset GIT_EXEC_PATH" &&
	rm -f spy.out &&
	git -c "bbs.$FORGE_URL.clientSecret=cs-param-secret" \
		-c BBS.ClientSecret=cs-plain-secret -c bbs.keep.this=kept-param \
		-c "bbs.keep.quote=it'"'"'s kept" \
		clone -q "bbs::$FORGE_URL/team/repo.git" cs1 2>err &&
	test_grep "index-pack argv" spy.out &&
	test_grep "GIT_CONFIG_PARAMETERS=.*kept-param" spy.out &&
	test_grep -F "'"'bbs.keep.quote'='it'\\''s kept'"'" spy.out &&
	test_grep ! -i "clientsecret" spy.out &&
	test_grep ! "cs-param-secret" spy.out &&
	test_grep ! "cs-plain-secret" spy.out
'

test_expect_success 'the GIT_CONFIG_COUNT form is scrubbed too' '
	export GIT_EXEC_PATH=$PWD/spyexec &&
	test_when_finished "unset GIT_EXEC_PATH" &&
	rm -f spy.out &&
	env GIT_CONFIG_COUNT=3 \
		GIT_CONFIG_KEY_0="bbs.$FORGE_URL.CLIENTSECRET" \
		GIT_CONFIG_VALUE_0=cs-count-secret \
		GIT_CONFIG_KEY_1=bbs.keep.other GIT_CONFIG_VALUE_1=kept-count \
		GIT_CONFIG_KEY_2=bbs.clientsecret GIT_CONFIG_VALUE_2=cs-count-two \
		git clone -q "bbs::$FORGE_URL/team/repo.git" cs2 2>err &&
	test_grep "index-pack argv" spy.out &&
	test_grep "^GIT_CONFIG_COUNT=1$" spy.out &&
	test_grep "^GIT_CONFIG_KEY_0=bbs.keep.other$" spy.out &&
	test_grep "^GIT_CONFIG_VALUE_0=kept-count$" spy.out &&
	sed -n "/index-pack argv/,/== parent argv/p" spy.out >child.env &&
	test_grep ! -i "clientsecret" child.env &&
	test_grep ! "cs-count-" spy.out
'

# Every program that may hold a secret turns off core dumps and ptrace
# before it reads anything.  Observable from outside: another process of
# the same user can no longer read /proc/PID/environ (or mem), the /proc
# files of a non-dumpable process belong to root, and its core limit is 0.
# As root, the program runs as nobody so that the difference shows.
if [ "$(id -u)" != 0 ]; then
	AS_USER= && test_set_prereq HARDEN_VISIBLE
elif command -v setpriv >/dev/null; then
	AS_USER="setpriv --reuid=65534 --regid=65534 --clear-groups" &&
	test_set_prereq HARDEN_VISIBLE
fi

# check_hardened NAME CMD...: run CMD (as $AS_USER) with its stdin on a
# pipe that stays open, and once it waits there, look at it from outside.
check_hardened() {
	local name=$1 pid writer exe i=0
	shift
	exe=$(readlink -f "$(command -v "$1")") &&
	rm -f "$name.in" && mkfifo "$name.in" &&
	{ sleep 60 >"$name.in" & } &&
	writer=$! &&
	{ $AS_USER "$@" <"$name.in" >"$name.out" 2>"$name.err" & } &&
	pid=$! &&
	# until it runs the program (not the shell or setpriv before it)
	# and is hardened; a program that never hardens times out
	while ! { [ "$(readlink "/proc/$pid/exe")" = "$exe" ] &&
		[ "$(stat -c %u "/proc/$pid/status")" = 0 ]; } &&
		[ $i -lt 100 ]
	do
		sleep 0.1 && i=$((i + 1)) || break
	done
	stat -c %u "/proc/$pid/status" >"$name.owner"
	grep "^Max core file size" "/proc/$pid/limits" >"$name.limits"
	$AS_USER cat "/proc/$pid/environ" >"$name.environ" 2>&1
	echo $? >"$name.environ-status"
	kill "$writer"
	wait "$pid"
	echo 0 >expect.owner &&
	test_cmp expect.owner "$name.owner" &&
	test_grep "^Max core file size  *0  *0 " "$name.limits" &&
	test_grep ! "^0$" "$name.environ-status" &&
	test_grep ! "BBS_HARDEN_PROBE" "$name.environ"
}

test_expect_success HARDEN_VISIBLE,NOT_VALGRIND 'git-credential-bbs reading a request cannot be dumped or traced' '
	BBS_HARDEN_PROBE=1 check_hardened cred git-credential-bbs get
'

test_expect_success HARDEN_VISIBLE,NOT_VALGRIND 'git bbs import reading a refresh token cannot be dumped or traced' '
	BBS_HARDEN_PROBE=1 check_hardened import \
		git-bbs import "$FORGE_URL/team/repo.git" &&
	test_grep "no refresh token on stdin" import.err
'

test_expect_success HARDEN_VISIBLE,NOT_VALGRIND 'git-remote-bbs holding a token cannot be dumped or traced' '
	BBS_HARDEN_PROBE=1 check_hardened helper \
		git-remote-bbs origin "$FORGE_URL/team/repo.git"
'

test_expect_success 'the remote URL in the config never carries a token' '
	git -C work config --get-regexp "^remote\." >remotes &&
	test_grep ! -F -e "$TOKEN" remotes &&
	grep "bbs::$FORGE_URL/team/repo.git" remotes
'

test_done
