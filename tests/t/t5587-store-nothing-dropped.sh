#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='the token stores drop nothing silently: names with spaces, helpers that keep nothing, damaged grants'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

# a display name as a real OpenID server returns it
oauth_start --username "Jane Doe"
URL=bbs::http://127.0.0.1:9/team/repo.git
export BROWSER=$BROWSER_STANDIN

test_expect_success 'set up' '
	git config --global bbs.http://127.0.0.1:9.issuer "$OAUTH_URL" &&
	git config --global bbs.clientId bbs-test-client &&
	git config --global bbs.scopes git:write
'

test_expect_success 'credential-helper store: an account with a space is kept' '
	git config --global bbs.tokenStore credential-helper &&
	git config --global credential.helper "store --file=$PWD/creds" &&
	git bbs login "$URL" 2>err &&
	grep "Signed in to 127.0.0.1 as Jane Doe" err &&
	git bbs token "$URL" >tok &&
	test -s tok &&
	git bbs status "$URL" >status &&
	grep "account: Jane Doe" status &&
	git bbs token "bbs::http://Jane%20Doe@127.0.0.1:9/team/repo.git" >tok2 &&
	test_cmp tok tok2
'

test_expect_success 'credential-helper store: git credential says nothing on our stderr' '
	git bbs logout "$URL" 2>err &&
	GIT_TRACE_BBS=$PWD/trace git bbs login "$URL" 2>err &&
	grep "Signed in" err &&
	! grep -i "could not read\|terminal prompts\|^fatal" err &&
	grep "git credential fill: .*terminal prompts disabled" trace
'

test_expect_success 'credential-helper store: a helper that keeps nothing is an error' '
	git bbs logout "$URL" 2>/dev/null &&
	test_must_fail git -c credential.helper= bbs login "$URL" 2>err &&
	grep "^fatal: the credential helper did not keep the grant" err &&
	! grep "Signed in" err &&
	git config --global --unset bbs.tokenStore
'

# add_damaged_cred FILE ACCOUNT: a damaged grant of ACCOUNT in a git
# credential-store FILE, listed in the index next to the good ones.
add_damaged_cred() {
	python3 -c '
import sys, urllib.parse as up
path, acct = sys.argv[1], sys.argv[2]
out = []
for line in open(path).read().splitlines():
    u = up.urlsplit(line)
    if u.path == "/index":
        host = u.hostname
        pw = up.unquote(u.password) + " " + acct
        line = "bbs://git-remote-bbs:%s@%s/index" % (up.quote(pw, safe=""), host)
        out.append("bbs://%s:%s@%s/grant" % (acct, up.quote("{\"access_token\": 5}", safe=""), host))
    out.append(line)
open(path, "w").write("\n".join(out) + "\n")
' "$1" "$2"
}

test_expect_success 'credential-helper store: a damaged grant is kept, listed, and not overwritten' '
	git config --global bbs.tokenStore credential-helper &&
	git config --global credential.helper "store --file=$PWD/creds2" &&
	test_when_finished "git config --global --unset bbs.tokenStore" &&
	git bbs login "$URL" 2>err &&
	add_damaged_cred creds2 bob &&
	grep "^bbs://bob:" creds2 >expect &&
	git bbs status "$URL" >status &&
	grep "account: Jane Doe" status &&
	grep -A1 "account: bob" status | grep "damaged: kept unchanged" &&
	git bbs login "bbs::http://carol@127.0.0.1:9/team/repo.git" 2>err &&
	grep "Signed in to 127.0.0.1 as carol" err &&
	grep "^bbs://bob:" creds2 >actual &&
	test_cmp expect actual &&
	git bbs status "$URL" >status &&
	grep "account: carol" status &&
	grep "account: bob" status &&
	git bbs token "bbs::http://carol@127.0.0.1:9/team/repo.git" >tok &&
	test -s tok
'

# damaged: a grant whose access token holds a space, one with a string for
# a number, and something that is not a grant at all
cat >damaged.json <<'EOF_JSON'
{"version": 1, "grants": [
 {"key": "https://elsewhere.example/token other-client", "account": "bob",
  "access_token": "not a token", "refresh_token": "rt-bob", "expires_at": 5},
 {"key": "https://third.example/token c3", "account": "carol",
  "access_token": "at-carol", "expires_at": "soon"},
 42
]}
EOF_JSON

# damaged_grants: the damaged grants in the store, one per line, canonical
damaged_grants() {
	python3 -c '
import json, sys
for g in json.load(open(sys.argv[1]))["grants"]:
    if not isinstance(g, dict) or g.get("key", "").startswith(("https://elsewhere", "https://third")):
        print(json.dumps(g, sort_keys=True))
' "$1"
}

test_expect_success 'file store: a save keeps damaged grants as they were' '
	mkdir -p "$(dirname "$STORE")" &&
	cp damaged.json "$STORE" &&
	chmod 600 "$STORE" &&
	damaged_grants damaged.json >expect &&
	test_line_count = 3 expect &&
	git bbs login "$URL" 2>err &&
	grep "Signed in to 127.0.0.1 as Jane Doe" err &&
	damaged_grants "$STORE" >actual &&
	test_cmp expect actual &&
	git bbs token "$URL" >tok &&
	test -s tok &&
	git bbs status >status &&
	test $(grep -c "damaged: kept unchanged, not used" status) = 3 &&
	grep "account: Jane Doe" status
'

test_expect_success 'file store: logout without a URL forgets the good grants, keeps the damaged ones' '
	git bbs logout 2>err &&
	grep "Forgot 1 sign-in" err &&
	grep "Kept 3 damaged grants" err &&
	damaged_grants "$STORE" >actual &&
	test_cmp expect actual &&
	test_must_fail git bbs token "$URL" 2>err &&
	grep "not signed in" err
'

test_expect_success 'file store: a damaged grant is listed with the control bytes of its names in caret notation' '
	cat >"$STORE" <<-\EOF_JSON &&
	{"version": 1, "grants": [
	 {"key": "https://x.example/token c\u001b]0;k\u0007", "account": "a\u001b[2Jb",
	  "access_token": 5}
	]}
	EOF_JSON
	chmod 600 "$STORE" &&
	git bbs status >status &&
	grep "^https://x.example/token c^\[\]0;k^G$" status &&
	grep "^  account: a^\[\[2Jb$" status &&
	grep "damaged: kept unchanged, not used" status &&
	! grep -q "$(printf "\033")" status &&
	! grep -q "$(printf "\007")" status
'

# Something that is not a file where the store or its lock should be
# (a FIFO would block an open for reading until someone writes to it) is
# refused at once, and git bbs doctor names it instead of hanging.
test_expect_success 'file store: a FIFO in place of the store or its lock is refused, not waited on' '
	rm -f "$STORE" &&
	mkfifo -m 600 "$STORE" &&
	test_when_finished "rm -f \"\$STORE\"" &&
	test_expect_code 128 timeout 20 git bbs status 2>err &&
	grep "^fatal: the token store .* is not a file" err &&
	test_expect_code 1 timeout 20 git bbs doctor --offline >out 2>&1 &&
	grep "is not a regular file" out &&
	rm -f "$STORE" &&
	git bbs login "$URL" 2>err &&
	lock=$(dirname "$STORE")/lock &&
	mv "$lock" lock.saved &&
	test_when_finished "rm -f \"\$lock\"; mv lock.saved \"\$lock\"" &&
	mkfifo -m 600 "$lock" &&
	test_expect_code 1 timeout 20 git bbs doctor --offline >out 2>&1 &&
	grep "^error   token store lock: .* is not a file of yours" out &&
	test_expect_code 128 timeout 20 git bbs status 2>err &&
	grep "^fatal: the lock file .* is not a file of yours" err
'

# JSON holds UTF-8 only: an account name that is not UTF-8 (a Latin-1 byte
# in the URL) once went into the file without its account, and so was read
# back as the grant of "default".  Such a URL is refused before a sign-in.
test_expect_success 'an account name that is not UTF-8 is refused before the sign-in, not filed as another account' '
	rm -f "$STORE" &&
	before=$(oauth_count) &&
	test_expect_code 128 git bbs login "bbs::http://al%E9@127.0.0.1:9/team/repo.git" 2>err &&
	grep "^fatal: the user name of the URL is not UTF-8 text" err &&
	test $(oauth_count) = $before &&
	test_path_is_missing "$STORE" &&
	git bbs login "bbs::http://%C3%A9l%C3%A9onore@127.0.0.1:9/team/repo.git" 2>err &&
	git bbs status >status &&
	grep "account: éléonore" status &&
	test_grep ! "account: default" status
'

test_done
