#!/bin/bash
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
	test_grep ! -r -F "$TOKEN" trace.* out err spy.out work/.git/config \
		"$FORGE_DIR/logs" &&
	test_grep ! -r -F "$(printf "x-token-auth:%s" "$TOKEN" | base64 -w0)" \
		trace.* out err spy.out "$FORGE_DIR/logs"
'

test_expect_success 'Basic x-token-auth is redacted too, and stays out of the logs' '
	git -C work config bbs.gitAuth basic &&
	GIT_TRACE_BBS=$PWD/trace.basic git -C work fetch origin 2>err &&
	grep "Authorization: Basic <redacted>" trace.basic &&
	grep "scheme=basic user=x-token-auth token=ok" "$(forge_gate_log)" &&
	test_grep ! -r -F "$TOKEN" trace.basic err "$FORGE_DIR/logs" work/.git/config &&
	test_grep ! -r -F "$(printf "x-token-auth:%s" "$TOKEN" | base64 -w0)" \
		trace.basic err "$FORGE_DIR/logs"
'

test_expect_success 'the remote URL in the config never carries a token' '
	git -C work config --get-regexp "^remote\." >remotes &&
	test_grep ! -F "$TOKEN" remotes &&
	grep "bbs::$FORGE_URL/team/repo.git" remotes
'

test_done
