#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='errors say what failed, with git'"'"'s prefixes and exit codes'

. "$(dirname "$0")/test-lib.sh"

URL=https://git.example.com/team/repo.git

test_expect_success 'import with no provider names the key to set' '
	echo not-a-real-token >rt &&
	test_expect_code 128 git bbs import "$URL" <rt 2>err &&
	test_grep "^fatal: no OAuth provider is configured for .git.example.com." err &&
	test_grep "^hint: set bbs.https://git.example.com.provider " err &&
	test_grep ! "refused" err &&
	test_line_count = 2 err
'

test_expect_success 'a provider without a client names bbs.<url>.clientId' '
	git config --global bbs.https://git.example.com.provider generic &&
	test_expect_code 128 git bbs import "$URL" <rt 2>err &&
	test_grep "^fatal: no OAuth client is configured for .git.example.com." err &&
	test_grep "^hint: set bbs.https://git.example.com.clientId " err &&
	test_grep ! "refused" err
'

test_expect_success 'a generic client without an issuer names bbs.<url>.issuer' '
	git config --global bbs.https://git.example.com.clientId test-client &&
	test_expect_code 128 git bbs token "$URL" 2>err &&
	test_grep "^fatal: no OAuth issuer is configured" err &&
	test_grep "^hint: set bbs.https://git.example.com.issuer " err
'

test_expect_success 'nobody signed in is its own error, with the login command' '
	git config --global bbs.https://git.example.com.tokenUrl \
		https://git.example.com/oauth/token &&
	test_expect_code 128 git bbs token "$URL" 2>err &&
	test_grep "^fatal: not signed in to .git.example.com." err &&
	test_grep "^hint: sign in with: git bbs login $URL" err
'

test_expect_success 'git bbs: usage errors exit 129, help exits 0' '
	test_expect_code 129 git bbs 2>err &&
	test_grep "^usage: git bbs login" err &&
	test_expect_code 129 git bbs no-such-command 2>err &&
	test_grep "^error: .no-such-command. is not a git bbs command" err &&
	test_expect_code 129 git bbs token 2>err &&
	test_grep "^usage: git bbs token <url>$" err &&
	test_expect_code 129 git bbs login --bogus "$URL" 2>err &&
	test_grep "^usage: git bbs login " err &&
	test_expect_code 129 git bbs logout a b 2>err &&
	test_grep "^usage: git bbs logout" err &&
	test_expect_code 129 git bbs doctor --bogus 2>err &&
	test_grep "^usage: git bbs doctor " err &&
	test_expect_code 129 git bbs doctor a b 2>err &&
	test_grep "^usage: git bbs doctor " err &&
	git bbs -h >out 2>err &&
	test_grep "^usage: git bbs login" out &&
	test_must_be_empty err
'

test_expect_success 'git-remote-bbs: fatal: bbs: and 128; usage 129; -h 0' '
	test_expect_code 128 git-remote-bbs origin "ftp://git.example.com/r" \
		</dev/null 2>err &&
	test_grep "^fatal: bbs: unsupported URL scheme .ftp." err &&
	test_line_count = 1 err &&
	test_expect_code 129 git-remote-bbs 2>err &&
	test_grep "^usage: git-remote-bbs <remote> \[<url>\]" err &&
	test_expect_code 129 git-remote-bbs a b c 2>err &&
	test_grep "^usage: git-remote-bbs" err &&
	git-remote-bbs -h >out 2>err &&
	test_grep "^usage: git-remote-bbs" out &&
	test_must_be_empty err
'

test_expect_success 'git fetch shows the helper error once, with its hint' '
	git init -q repo &&
	test_must_fail git -C repo fetch "bbs::$URL" 2>err &&
	test_grep "^fatal: bbs: not signed in to .git.example.com." err &&
	test_grep "^hint: sign in with: git bbs login $URL" err &&
	grep "^fatal: bbs:" err >fatal &&
	test_line_count = 1 fatal
'

test_expect_success 'git-credential-bbs: error: and 1 when it fails, 129 for usage' '
	printf "protocol=https\nhost=git.example.com\npath=team/repo.git\n\n" >req &&
	test_expect_code 1 git-credential-bbs get <req >out 2>err &&
	test_must_be_empty out &&
	test_grep "^error: git-credential-bbs: not signed in to .git.example.com." err &&
	test_grep "^hint: sign in with: git bbs login" err &&
	test_expect_code 129 git-credential-bbs 2>err &&
	test_grep "^usage: git-credential-bbs get|store|erase$" err &&
	git-credential-bbs frobnicate <req >out 2>err &&
	test_must_be_empty out &&
	test_must_be_empty err
'

test_expect_success 'git-credential-bbs: not ours is silent and succeeds' '
	printf "protocol=https\nhost=elsewhere.example.com\n\n" >other &&
	git-credential-bbs get <other >out 2>err &&
	test_must_be_empty out &&
	test_must_be_empty err &&
	# plain http to a network host is never ours, even a configured one
	printf "protocol=http\nhost=git.example.com\npath=team/repo.git\n\n" >plain &&
	git-credential-bbs get <plain >out 2>err &&
	test_must_be_empty out &&
	test_must_be_empty err
'

test_expect_success 'git-credential-bbs: a user name from git with control bytes is refused, not echoed' '
	printf "protocol=https\nhost=git.example.com\npath=team/repo.git\nusername=\033]0;pwn\007x\n\n" >req-esc &&
	test_expect_code 1 git-credential-bbs get <req-esc >out 2>err &&
	test_must_be_empty out &&
	test_grep "^error: git-credential-bbs: a control character in the user name of the URL$" err &&
	! grep -q "$(printf "\033")" err &&
	! grep -q "$(printf "\007")" err
'

test_done
