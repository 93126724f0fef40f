#!/bin/bash
# SPDX-License-Identifier: MIT
# Test bodies are single-quoted on purpose and call the functions below.
# shellcheck disable=SC2016,SC2034,SC2317,SC2119
# shellcheck source-path=SCRIPTDIR

test_description='the test framework and the test forge, with native git only'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"

# ---------------------------------------------------------------------------
# test-lib.sh

test_expect_success 'test_must_fail accepts a failure and rejects success' '
	test_must_fail false &&
	test_must_fail sh -c "exit 3" &&
	! test_must_fail true 2>err &&
	grep "command succeeded" err
'

test_expect_success 'test_must_fail rejects a death by signal and a missing command' '
	! test_must_fail sh -c "kill -9 \$\$" 2>err &&
	grep "signal 9" err &&
	! test_must_fail no-such-command-anywhere 2>err &&
	grep "not found" err
'

test_expect_success 'test_might_fail and test_cmp' '
	test_might_fail false &&
	test_might_fail true &&
	printf "a\nb\n" >expect &&
	printf "a\nb\n" >actual &&
	test_cmp expect actual &&
	printf "a\nc\n" >actual &&
	! test_cmp expect actual >diff &&
	grep "^+c" diff
'

test_expect_success 'test_when_finished runs after the test' '
	test_when_finished "rm -f finished-marker" &&
	: >finished-marker &&
	test_path_is_file finished-marker
'

test_expect_success 'the test_when_finished command has run' '
	test_path_is_missing finished-marker
'

test_set_prereq HAVE_IT
test_expect_success HAVE_IT 'a satisfied prerequisite runs the test' '
	test_have_prereq HAVE_IT &&
	! test_have_prereq MISSING_ONE
'

test_expect_success 'the environment is isolated' '
	test "$HOME" = "$TRASH_DIRECTORY" &&
	test "$GIT_TERMINAL_PROMPT" = 0 &&
	test "$GIT_CONFIG_NOSYSTEM" = 1 &&
	test -z "${GIT_SSL_CAINFO:-}" &&
	test -z "${GIT_DIR:-}" &&
	test "$(git config --global init.defaultBranch)" = main &&
	case "$PATH" in "$BUILDDIR":*) ;; *) false ;; esac &&
	test -x "$FORGE"
'

# A script run by the framework itself: its TAP output, exit status and
# trash directory.
write_inner_script() {
	mkdir -p inner inner-tmp &&
	cat >"inner/$1.sh" <<-EOF &&
	#!/bin/bash
# Test bodies are single-quoted on purpose and call the functions below.
# shellcheck disable=SC2016,SC2034,SC2317,SC2119
# shellcheck source-path=SCRIPTDIR
	test_description='inner'
	. "$TEST_DIRECTORY/test-lib.sh"
	test_atexit 'echo ran >"$TRASH_DIRECTORY/inner-atexit-$1"'
	EOF
	cat >>"inner/$1.sh"
}

run_inner_script() {
	(
		cd inner &&
		TMPDIR=$TRASH_DIRECTORY/inner-tmp bash "./$1.sh" >"../$1.out" 2>"../$1.err"
	)
}

test_expect_success 'a failing script reports TAP and keeps its trash' '
	write_inner_script t9990-inner <<-\EOF &&
	test_expect_success "passes" "true"
	test_expect_success "fails" "echo visible-output && false"
	test_expect_success NOPE "skipped" "true"
	test_expect_failure "broken" "false"
	test_done
	EOF
	test_must_fail run_inner_script t9990-inner &&
	grep -v "^#" t9990-inner.out >tap &&
	cat >expect <<-\EOF &&
	ok 1 - passes
	not ok 2 - fails
	ok 3 # skip skipped (missing NOPE)
	not ok 4 - broken # TODO known breakage
	1..4
	EOF
	test_cmp expect tap &&
	grep "^# visible-output" t9990-inner.out &&
	grep "^# trash directory kept: " t9990-inner.out &&
	ls -d inner-tmp/bbs-test.t9990-inner.* &&
	test_path_is_file inner-atexit-t9990-inner
'

test_expect_success 'a passing script exits 0 and removes its trash' '
	write_inner_script t9991-inner <<-\EOF &&
	echo stray output must not reach TAP
	test_expect_success "passes" "echo hidden-output"
	test_done
	EOF
	run_inner_script t9991-inner &&
	printf "ok 1 - passes\n# passed all 1 test(s)\n1..1\n" >expect &&
	test_cmp expect t9991-inner.out &&
	grep "stray output" t9991-inner.err &&
	! ls -d inner-tmp/bbs-test.t9991-inner.* &&
	test_path_is_file inner-atexit-t9991-inner
'

test_expect_success 'skip_all skips the whole script' '
	write_inner_script t9992-inner <<-\EOF &&
	skip_all="nothing to do here"
	test_done
	EOF
	run_inner_script t9992-inner &&
	echo "1..0 # SKIP nothing to do here" >expect &&
	test_cmp expect t9992-inner.out
'

# ---------------------------------------------------------------------------
# The forge

forge_start

W=$(new_token)
R=$(new_token)

# Processes (zombies aside) that run the Apache configuration of a forge.
forge_processes() {
	local files f pid
	# grep matches its own arguments: let it finish first.
	files=$(grep -lzxF -- "$1/conf/httpd.conf" /proc/[0-9]*/cmdline 2>/dev/null)
	for f in $files; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[ -d "/proc/$pid" ] || continue
		grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && continue
		echo "$pid"
	done
}

# A credential helper that answers with x-token-auth and a token from a file.
cat >cred-helper <<\EOF
#!/bin/sh
test "$2" = get || exit 0
echo username=x-token-auth
printf 'password=%s\n' "$(cat "$1")"
EOF
chmod +x cred-helper

test_expect_success 'the forge is up' '
	test -n "$FORGE_PORT" &&
	test "$FORGE_URL" = "http://127.0.0.1:$FORGE_PORT" &&
	test "$(cat "$FORGE_DIR/port")" = "$FORGE_PORT" &&
	"$FORGE" status "$FORGE_DIR" &&
	test -n "$(forge_processes "$FORGE_DIR")" &&
	test "$W" != "$R" &&
	case $W in bbs_????????????????????????????????) ;; *) false ;; esac
'

test_expect_success 'create repositories and grant tokens' '
	forge_create_repo team/repo.git --empty &&
	forge_create_repo team/seeded.git &&
	test_path_is_file "$(forge_repo_dir team/repo.git)/HEAD" &&
	test "$(git -C "$(forge_repo_dir team/repo.git)" config http.receivepack)" = true &&
	git -C "$(forge_repo_dir team/seeded.git)" rev-parse --verify main &&
	forge_grant "$W" write &&
	forge_grant "$R" read &&
	test_line_count = 2 "$FORGE_DIR/tokens"
'

test_expect_success 'push with a write token (Bearer)' '
	git init -q work &&
	(
		cd work &&
		echo hello >file &&
		git add file &&
		test_tick &&
		git commit -q -m first &&
		git -c http.extraHeader="Authorization: Bearer $W" \
			push "$FORGE_URL/team/repo.git" main
	) &&
	git -C work rev-parse main >expect &&
	git -C "$(forge_repo_dir team/repo.git)" rev-parse main >actual &&
	test_cmp expect actual
'

test_expect_success 'a push with a chunked request body works' '
	(
		cd work &&
		head -c 3000000 /dev/urandom >big &&
		git add big &&
		test_tick &&
		git commit -q -m big &&
		GIT_TRACE_CURL_NO_DATA=1 GIT_TRACE_CURL="$TRASH_DIRECTORY/push-trace" \
			git -c http.extraHeader="Authorization: Bearer $W" \
			-c http.postBuffer=65536 \
			push "$FORGE_URL/team/repo.git" main
	) &&
	grep -i "Transfer-Encoding: chunked" push-trace &&
	git -C work rev-parse main >expect &&
	git -C "$(forge_repo_dir team/repo.git)" rev-parse main >actual &&
	test_cmp expect actual
'

test_expect_success 'clone with a read token (Bearer)' '
	git -c http.extraHeader="Authorization: Bearer $R" \
		clone -q "$FORGE_URL/team/repo.git" clone-bearer &&
	test_cmp work/file clone-bearer/file &&
	grep "^GET /team/repo.git/info/refs?service=git-upload-pack 200 scheme=bearer user=- token=ok$" "$(forge_gate_log)"
'

test_expect_success 'clone with a read token (Basic x-token-auth)' '
	printf "%s\n" "$R" >read.token &&
	git -c credential.helper="!\"$TRASH_DIRECTORY/cred-helper\" \"$TRASH_DIRECTORY/read.token\"" \
		clone -q "$FORGE_URL/team/seeded.git" clone-basic &&
	test_path_is_file clone-basic/README.md &&
	grep "^GET /team/seeded.git/info/refs?service=git-upload-pack 401 scheme=none user=- token=none$" "$(forge_gate_log)" &&
	grep "^GET /team/seeded.git/info/refs?service=git-upload-pack 200 scheme=basic user=x-token-auth token=ok$" "$(forge_gate_log)"
'

test_expect_success 'the repository URL may omit .git' '
	git -c http.extraHeader="Authorization: Bearer $R" \
		ls-remote "$FORGE_URL/team/repo" >refs &&
	grep "refs/heads/main" refs
'

test_expect_success 'push with a read token is refused with 403' '
	(
		cd work &&
		test_must_fail git -c http.extraHeader="Authorization: Bearer $R" \
			push "$FORGE_URL/team/repo.git" main:other 2>../push-err
	) &&
	grep "403" push-err &&
	grep "^GET /team/repo.git/info/refs?service=git-receive-pack 403 scheme=bearer" "$(forge_gate_log)"
'

test_expect_success 'no credentials: 401 with a Basic challenge' '
	curl -si "$FORGE_URL/team/repo.git/info/refs?service=git-upload-pack" >resp &&
	head -n 1 resp | grep "^HTTP/1.1 401" &&
	grep -i "^WWW-Authenticate: Basic realm=\"Bitbucket.org HTTP\"" resp &&
	grep "^Unauthorized" resp &&
	test_must_fail git ls-remote "$FORGE_URL/team/repo.git" 2>err
'

test_expect_success 'an unknown token gets 401' '
	curl -s -o /dev/null -w "%{http_code}\n" -H "Authorization: Bearer bbs_unknown" \
		"$FORGE_URL/team/repo.git/info/refs?service=git-upload-pack" >code &&
	echo 401 >expect &&
	test_cmp expect code &&
	grep "401 scheme=bearer user=- token=bad$" "$(forge_gate_log)"
'

test_expect_success 'a missing repository gets 404 (with a valid token)' '
	curl -s -o /dev/null -w "%{http_code}\n" -H "Authorization: Bearer $R" \
		"$FORGE_URL/team/nothing.git/info/refs?service=git-upload-pack" >code &&
	echo 404 >expect &&
	test_cmp expect code
'

test_expect_success 'a revoked token gets 401' '
	forge_grant bbs_temporary read &&
	curl -s -o /dev/null -w "%{http_code}\n" -H "Authorization: Bearer bbs_temporary" \
		"$FORGE_URL/team/repo.git/info/refs?service=git-upload-pack" >code &&
	echo 200 >expect &&
	test_cmp expect code &&
	forge_revoke bbs_temporary &&
	curl -s -o /dev/null -w "%{http_code}\n" -H "Authorization: Bearer bbs_temporary" \
		"$FORGE_URL/team/repo.git/info/refs?service=git-upload-pack" >code &&
	echo 401 >expect &&
	test_cmp expect code &&
	test_line_count = 2 "$FORGE_DIR/tokens"
'

test_expect_success 'a redirect answers 302 with the rest of the path' '
	test_when_finished "forge_redirect clear" &&
	forge_redirect /moved/ "http://127.0.0.1:9/elsewhere/" &&
	curl -si "$FORGE_URL/moved/team/repo.git/info/refs?service=git-upload-pack" >resp &&
	head -n 1 resp | grep "^HTTP/1.1 302" &&
	grep -i "^Location: http://127.0.0.1:9/elsewhere/team/repo.git/info/refs?service=git-upload-pack" resp
'

test_expect_success 'fault: every request answers with a status' '
	test_when_finished "forge_fault clear" &&
	forge_fault status 500 &&
	curl -s -o /dev/null -w "%{http_code}\n" -H "Authorization: Bearer $R" \
		"$FORGE_URL/team/repo.git/info/refs?service=git-upload-pack" >code &&
	echo 500 >expect &&
	test_cmp expect code &&
	test_must_fail git -c http.extraHeader="Authorization: Bearer $R" \
		ls-remote "$FORGE_URL/team/repo.git"
'

test_expect_success 'fault: cleared faults are gone' '
	git -c http.extraHeader="Authorization: Bearer $R" \
		ls-remote "$FORGE_URL/team/repo.git" >refs &&
	grep refs/heads/main refs
'

test_expect_success 'fault: a pack cut after N bytes breaks the clone' '
	test_when_finished "forge_fault clear" &&
	forge_fault drop-pack 2000 &&
	test_must_fail git -c http.extraHeader="Authorization: Bearer $R" \
		clone "$FORGE_URL/team/repo.git" clone-cut 2>err &&
	cat err &&
	grep -E "early EOF|transfer closed|RPC failed|unexpected disconnect" err
'

test_expect_success 'fault: slow answers' '
	test_when_finished "forge_fault clear" &&
	forge_fault slow 1 &&
	start=$(date +%s%N) &&
	curl -s -o /dev/null -H "Authorization: Bearer $R" \
		"$FORGE_URL/team/repo.git/info/refs?service=git-upload-pack" &&
	end=$(date +%s%N) &&
	test $(( (end - start) / 1000000 )) -ge 1000
'

test_expect_success 'logs never contain the tokens' '
	test_line_count -gt 10 "$(forge_gate_log)" &&
	grep "scheme=basic user=x-token-auth token=ok" "$(forge_gate_log)" &&
	test_path_is_file "$FORGE_DIR/logs/access.log" &&
	test_grep ! -r -F -e "$W" -e "$R" "$FORGE_DIR/logs" &&
	test_grep ! -r -i "Authorization" "$FORGE_DIR/logs"
'

test_expect_success 'TLS: a forge with a self-signed certificate' '
	forge_start_extra tls --tls &&
	case $FORGE_EXTRA_URL in https://127.0.0.1:*) ;; *) false ;; esac &&
	test_path_is_file "$FORGE_EXTRA_DIR/tls/cert.pem" &&
	test_path_is_file "$FORGE_EXTRA_DIR/tls/key.pem" &&
	FORGE_DIR=$FORGE_EXTRA_DIR forge_create_repo tls/repo.git &&
	FORGE_DIR=$FORGE_EXTRA_DIR forge_grant "$R" read
'

test_expect_success 'TLS: refused without the CA, accepted with it' '
	test_must_fail curl -s -o /dev/null "$FORGE_EXTRA_URL/tls/repo.git/info/refs" &&
	curl -s -o /dev/null -w "%{http_code}\n" --cacert "$FORGE_EXTRA_DIR/tls/cert.pem" \
		"$FORGE_EXTRA_URL/tls/repo.git/info/refs?service=git-upload-pack" >code &&
	echo 401 >expect &&
	test_cmp expect code &&
	test_must_fail git -c http.extraHeader="Authorization: Bearer $R" \
		clone -q "$FORGE_EXTRA_URL/tls/repo.git" clone-tls-bad &&
	git -c http.sslCAInfo="$FORGE_EXTRA_DIR/tls/cert.pem" \
		-c http.extraHeader="Authorization: Bearer $R" \
		clone -q "$FORGE_EXTRA_URL/tls/repo.git" clone-tls &&
	test_path_is_file clone-tls/README.md
'

test_expect_success 'TLS: stop leaves no process' '
	"$FORGE" stop "$FORGE_EXTRA_DIR" &&
	test -z "$(forge_processes "$FORGE_EXTRA_DIR")"
'

test_expect_success 'forge_stop leaves no process and is idempotent' '
	forge_stop &&
	test_must_fail "$FORGE" status "$FORGE_DIR" &&
	test -z "$(forge_processes "$FORGE_DIR")" &&
	test_path_is_missing "$FORGE_DIR/run/httpd.pid" &&
	forge_stop
'

test_expect_success 'the forge starts again with its repositories' '
	FORGE_PORT=$("$FORGE" start "$FORGE_DIR") &&
	FORGE_URL=$(cat "$FORGE_DIR/url") &&
	git -c http.extraHeader="Authorization: Bearer $R" \
		ls-remote "$FORGE_URL/team/repo.git" >refs &&
	grep refs/heads/main refs
'

test_done
