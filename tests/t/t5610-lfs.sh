#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='Git LFS on a bbs:: remote: real git-lfs against the forge, with the same tokens'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

if ! command -v git-lfs >/dev/null 2>&1; then
	skip_all="git-lfs is not installed"
	test_done
fi

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/lfs.git
LFSURL=$FORGE_URL/team/lfs.git/info/lfs
export BROWSER=$BROWSER_STANDIN

# The forge on the scheme's default port too: a forwarder from port 80 of
# a loopback address of its own (tests running beside this one pick
# others) to the forge.  Listening there needs root's rights (or
# CAP_NET_BIND_SERVICE): without them the tests of DEFAULT_PORT are skipped.
DP=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
python3 -c '
import os, socket, sys, threading

def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s, how in ((b, socket.SHUT_WR), (a, socket.SHUT_RD)):
        try:
            s.shutdown(how)
        except OSError:
            pass

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    listener.bind((sys.argv[1], 80))
except OSError:
    sys.exit(0)
listener.listen(32)
with open(sys.argv[3], "w") as f:
    f.write("ready\n")
while True:
    client = listener.accept()[0]
    forge = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
    for a, b in ((client, forge), (forge, client)):
        threading.Thread(target=pipe, args=(a, b), daemon=True).start()
' "$DP" "$FORGE_PORT" "$TRASH_DIRECTORY/forward.ready" &
forward_pid=$!
test_atexit "kill $forward_pid 2>/dev/null"
for _ in $(seq 100); do
	[ -f "$TRASH_DIRECTORY/forward.ready" ] && break
	kill -0 "$forward_pid" 2>/dev/null || break
	sleep 0.1
done
[ -f "$TRASH_DIRECTORY/forward.ready" ] && test_set_prereq DEFAULT_PORT

# lfs_objects: how many LFS objects the server keeps for team/lfs.git
lfs_objects() {
	find "$FORGE_DIR/lfs/team/lfs.git" -type f -name '[0-9a-f]*' 2>/dev/null |
		wc -l
}

test_expect_success 'set up: git-lfs, a signed-in user, a repository' '
	forge_create_repo team/lfs.git &&
	oauth_configure &&
	git lfs install --skip-repo >/dev/null &&
	git bbs login "$REPO" 2>/dev/null
'

test_expect_success 'a clone points git-lfs at the plain URL, once' '
	git clone -q "$REPO" work &&
	test "$(git -C work config remote.origin.lfsurl)" = "$LFSURL" &&
	git -C work config --get-all "credential.$FORGE_URL.helper" >helpers &&
	printf "\nbbs\n" >expect &&
	test_cmp expect helpers &&
	git -C work lfs env >env &&
	grep "Endpoint=$LFSURL " env &&
	git -C work fetch -q &&
	git -C work config --get-all "credential.$FORGE_URL.helper" >helpers &&
	test_cmp expect helpers
'

test_expect_success 'a push uploads new LFS objects with the signed-in token' '
	git -C work lfs track "*.bin" >/dev/null &&
	head -c 5000 /dev/urandom >work/big.bin &&
	git -C work add .gitattributes big.bin &&
	git -C work commit -q -m "an LFS object" &&
	git -C work push -q origin HEAD:main 2>err &&
	test "$(lfs_objects)" = 1 &&
	grep "^POST /team/lfs.git/info/lfs/objects/batch 200 upload$" "$FORGE_DIR/logs/lfs.log" &&
	grep "^PUT /team/lfs.git/info/lfs/objects/[0-9a-f]* 200 upload$" "$FORGE_DIR/logs/lfs.log"
'

test_expect_success 'a clone through bbs:: smudges the LFS objects' '
	git clone -q "$REPO" clone2 &&
	test_cmp work/big.bin clone2/big.bin &&
	grep "GET /team/lfs.git/info/lfs/objects/[0-9a-f]* 200 download" "$FORGE_DIR/logs/lfs.log"
'

# CI: a static token and nobody signed in; git-lfs asks git-credential-bbs,
# which answers with the same token.
test_expect_success 'with BBS_ACCESS_TOKEN and no sign-in, git-lfs gets the same token' '
	mv "$STORE" store.bak &&
	test_when_finished "mv store.bak \"$STORE\"" &&
	TOKEN=$(new_token) &&
	forge_grant "$TOKEN" write &&
	BBS_ACCESS_TOKEN=$TOKEN git clone -q "$REPO" ci 2>err &&
	test_cmp work/big.bin ci/big.bin &&
	test_path_is_missing "$STORE" &&
	! grep -F -e "$TOKEN" ci/.git/config err
'

# user_helper NAME: a credential helper of the user that notes each call in
# NAME.log and asks git-credential-bbs
user_helper() {
	printf '!f() { echo "$1" >>"%s/%s.log"; git credential-bbs "$@"; }; f' \
		"$TRASH_DIRECTORY" "$1"
}

test_expect_success 'the user'"'"'s helper for a URL that git matches to the LFS API is kept' '
	git config --global "credential.$FORGE_URL/team.helper" "$(user_helper mine)" &&
	test_when_finished "git config --global --unset credential.$FORGE_URL/team.helper" &&
	git clone -q "$REPO" mine &&
	test_cmp work/big.bin mine/big.bin &&
	grep "^get$" mine.log &&
	test_must_fail git -C mine config --local --get-all "credential.$FORGE_URL.helper" &&
	test "$(git -C mine config --local "credential.$FORGE_URL.useHttpPath")" = true
'

test_expect_success DEFAULT_PORT 'set up: a sign-in for the forge on port 80' '
	git config --global "bbs.http://$DP.issuer" "$OAUTH_URL" &&
	git config --global "bbs.http://$DP.clientId" bbs-test-client &&
	git config --global "bbs.http://$DP.scopes" "$OAUTH_SCOPES" &&
	git bbs login "bbs::http://$DP/team/lfs.git" 2>/dev/null
'

test_expect_success DEFAULT_PORT 'on the default port the keys have no port, and the user'"'"'s own helper is kept' '
	git config --global "credential.http://$DP.helper" "$(user_helper dp)" &&
	test_when_finished "git config --global --unset credential.http://$DP.helper" &&
	git clone -q "bbs::http://$DP/team/lfs.git" dp1 &&
	test_cmp work/big.bin dp1/big.bin &&
	grep "^get$" dp.log &&
	test "$(git -C dp1 config remote.origin.lfsurl)" = "http://$DP/team/lfs.git/info/lfs" &&
	test_must_fail git -C dp1 config --local --get-all "credential.http://$DP.helper" &&
	test_must_fail git -C dp1 config --local --get-all "credential.http://$DP:80.helper" &&
	git -C dp1 config --local --get-regexp "^credential\." >actual &&
	echo "credential.http://$DP.usehttppath true" >expect &&
	test_cmp expect actual
'

test_expect_success DEFAULT_PORT 'on the default port the README'"'"'s commands undo the settings' '
	git clone -q "bbs::http://$DP/team/lfs.git" dp2 &&
	test_cmp work/big.bin dp2/big.bin &&
	git -C dp2 config --get-all "credential.http://$DP.helper" >helpers &&
	printf "\nbbs\n" >expect &&
	test_cmp expect helpers &&
	git -C dp2 config --unset remote.origin.lfsurl &&
	git -C dp2 config --unset-all "credential.http://$DP.helper" &&
	git -C dp2 config --unset "credential.http://$DP.useHttpPath" &&
	test_must_fail git -C dp2 config --local --get-regexp "^credential\."
'

test_expect_success DEFAULT_PORT 'keys an earlier version spelled with the default port are respelled, once' '
	git -C dp2 config remote.origin.lfsurl "http://$DP/team/lfs.git/info/lfs" &&
	git -C dp2 config --add "credential.http://$DP:80.helper" "" &&
	git -C dp2 config --add "credential.http://$DP:80.helper" bbs &&
	git -C dp2 config "credential.http://$DP:80.useHttpPath" true &&
	git -C dp2 fetch -q &&
	git -C dp2 fetch -q &&
	test_must_fail git -C dp2 config --local --get-all "credential.http://$DP:80.helper" &&
	git -C dp2 config --local --get-all "credential.http://$DP.helper" >helpers &&
	printf "\nbbs\n" >expect &&
	test_cmp expect helpers &&
	test "$(git -C dp2 config --local --get-all "credential.http://$DP.useHttpPath")" = true &&
	rm dp2/big.bin &&
	git -C dp2 checkout -q -- big.bin &&
	test_cmp work/big.bin dp2/big.bin
'

test_expect_success 'a token that expires between the git fetch and the LFS download is refreshed once' '
	GIT_LFS_SKIP_SMUDGE=1 git clone -q "$REPO" clone3 &&
	! test_cmp work/big.bin clone3/big.bin &&
	expire &&
	before=$(oauth_count refresh_token) &&
	git -C clone3 lfs pull 2>err &&
	test_cmp work/big.bin clone3/big.bin &&
	test $(($(oauth_count refresh_token) - before)) = 1
'

test_expect_success 'a refused token: git-lfs erases it, one refresh, one retry' '
	GIT_LFS_SKIP_SMUDGE=1 git clone -q "$REPO" clone5 &&
	python3 -c "import json,sys; p=sys.argv[1]; d=json.load(open(p)); d[\"grants\"][0][\"access_token\"]=\"spoiled0token0value0000\"; json.dump(d,open(p,\"w\"))" "$STORE" &&
	chmod 600 "$STORE" &&
	before=$(oauth_count refresh_token) &&
	git -C clone5 lfs pull 2>err &&
	test_cmp work/big.bin clone5/big.bin &&
	test $(($(oauth_count refresh_token) - before)) = 1
'

test_expect_success 'no token in any git-lfs or git trace' '
	tok=$(stored access_token) &&
	rt=$(stored refresh_token) &&
	test -n "$tok" &&
	rm -rf clone4 &&
	GIT_TRACE=1 GIT_CURL_VERBOSE=1 GIT_TRANSFER_TRACE=1 \
		git clone "$REPO" clone4 >trace.out 2>trace.err &&
	test_cmp work/big.bin clone4/big.bin &&
	grep "info/lfs" trace.err &&
	! grep -F -e "$tok" trace.out trace.err &&
	! grep -F -e "$rt" trace.out trace.err &&
	! grep -F -e "$tok" clone4/.git/config
'

test_expect_success 'the user'"'"'s own lfsurl is never overwritten' '
	git init -q own &&
	git -C own remote add origin "$REPO" &&
	git -C own config remote.origin.lfsurl https://lfs.example.com/mine &&
	git -C own fetch -q origin &&
	test "$(git -C own config remote.origin.lfsurl)" = https://lfs.example.com/mine &&
	test_must_fail git -C own config "credential.$FORGE_URL.helper"
'

test_expect_success 'a read-only grant pushing LFS objects is refused with a clear message' '
	git bbs logout "$REPO" 2>/dev/null &&
	git bbs login --scopes git:read "$REPO" 2>/dev/null &&
	head -c 3000 /dev/urandom >work/other.bin &&
	git -C work add other.bin &&
	git -C work commit -q -m "another LFS object" &&
	before=$(lfs_objects) &&
	test_must_fail env -u BROWSER git -C work lfs push origin main </dev/null 2>err &&
	test_grep "this token cannot write Git LFS objects of the repository (read-only access)" err &&
	test_grep "^POST /team/lfs.git/info/lfs/objects/batch 403 upload$" "$FORGE_DIR/logs/lfs.log" &&
	test "$(lfs_objects)" = "$before" &&
	test_must_fail env -u BROWSER git -C work push origin HEAD:main </dev/null 2>err &&
	test_grep "has no write access" err &&
	test "$(lfs_objects)" = "$before"
'

# Two accounts from here on: alice (read-only since the test above) and
# bob, who may write.  The account the URL names is git-lfs's too: the
# upload works with bob's token only, which goes with the user name
# x-token-auth; bob never appears as a Basic user name, not even with an
# empty password.
test_expect_success 'the account the URL names is the one git-lfs uses' '
	BOBREPO="bbs::http://bob@${FORGE_URL#http://}/team/lfs.git" &&
	git bbs login "$BOBREPO" 2>/dev/null &&
	: >"$FORGE_DIR/logs/gate.log" &&
	git clone -q "$BOBREPO" bobwork &&
	test_cmp work/big.bin bobwork/big.bin &&
	test "$(git -C bobwork config remote.origin.lfsurl)" = "$LFSURL" &&
	test "$(git -C bobwork config "credential.$LFSURL.username")" = bob &&
	head -c 4000 /dev/urandom >bobwork/bob.bin &&
	git -C bobwork add bob.bin &&
	git -C bobwork commit -q -m "an LFS object of bob" &&
	before=$(lfs_objects) &&
	git -C bobwork push -q origin HEAD:main &&
	test "$(lfs_objects)" = $((before + 1)) &&
	grep " /team/lfs.git/info/lfs/" "$FORGE_DIR/logs/gate.log" >lfsreqs &&
	grep "^PUT .* scheme=basic user=x-token-auth " lfsreqs &&
	! grep "user=bob" "$FORGE_DIR/logs/gate.log" &&
	! grep -F -e "$(stored access_token)" bobwork/.git/config
'

test_expect_success 'an lfsurl written before the account key was: the account is added, another lfsurl left alone' '
	git -C bobwork config --unset "credential.$LFSURL.username" &&
	git -C bobwork fetch -q origin &&
	test "$(git -C bobwork config "credential.$LFSURL.username")" = bob &&
	git -C bobwork config --unset "credential.$LFSURL.username" &&
	git -C bobwork config remote.origin.lfsurl "$LFSURL/" &&
	git -C bobwork fetch -q origin &&
	test_must_fail git -C bobwork config "credential.$LFSURL.username" &&
	test_must_fail git -C bobwork config "credential.$LFSURL/.username" &&
	test "$(git -C bobwork config remote.origin.lfsurl)" = "$LFSURL/" &&
	git -C bobwork config remote.origin.lfsurl "$LFSURL" &&
	git -C bobwork fetch -q origin &&
	test "$(git -C bobwork config "credential.$LFSURL.username")" = bob
'

test_done
