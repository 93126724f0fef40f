#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='other local users: the loopback listener, the browser'"'"'s argv, what children inherit'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/repo.git
export BROWSER=$BROWSER_STANDIN

# slow_clients PORT N: N local clients that connect to 127.0.0.1:PORT and
# send one byte every 1.5 s, reconnecting whenever they are dropped, until
# killed; their pid in slow.pid.
slow_clients() {
	python3 -c '
import socket, sys, threading, time
port, n = int(sys.argv[1]), int(sys.argv[2])
def client():
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"G")
            while True:
                time.sleep(1.5)
                s.sendall(b"E")
        except OSError:
            time.sleep(0.2)
for _ in range(n):
    threading.Thread(target=client, daemon=True).start()
while True:
    time.sleep(60)
' "$1" "$2" &
	echo $! >slow.pid
}

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure
'

test_expect_success 'slow local clients on the listener do not keep the browser out' '
	port=$(free_port) &&
	git config --global "bbs.$FORGE_URL.redirectUri" "http://127.0.0.1:$port/" &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.redirectUri" &&
	test_when_finished "kill \$(cat slow.pid) 2>/dev/null" &&
	# the clients connect first: the browser answers 2 s after it opens
	cat >late-browser <<-EOF &&
	#!/bin/sh
	while ! test -s "$PWD/slow.pid"; do sleep 0.1; done
	sleep 2
	exec "$BROWSER_STANDIN" "\$1"
	EOF
	chmod +x late-browser &&
	rm -f slow.pid &&
	start=$(ms) &&
	{
		BROWSER=$PWD/late-browser timeout 60 git -c bbs.loginTimeout=20 \
			bbs login "$REPO" 2>err &
	} &&
	login=$! &&
	sleep 0.5 &&
	slow_clients "$port" 3 &&
	wait $login &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	took_less_than "$start" 8000
'

test_expect_success 'loginTimeout bounds the whole wait, slow clients or not' '
	rm -f "$STORE" &&
	port=$(free_port) &&
	git config --global "bbs.$FORGE_URL.redirectUri" "http://127.0.0.1:$port/" &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.redirectUri" &&
	test_when_finished "kill \$(cat slow.pid) 2>/dev/null" &&
	start=$(ms) &&
	{
		BROWSER=true timeout 60 git -c bbs.loginTimeout=5 \
			bbs login "$REPO" 2>err &
	} &&
	login=$! &&
	sleep 0.5 &&
	slow_clients "$port" 2 &&
	test_must_fail wait $login &&
	grep "no sign-in response arrived in time" err &&
	took_less_than "$start" 7500 &&
	test_path_is_missing "$STORE"
'

# idle_handoff_client DIR: a client that connects to every hand-off socket
# in DIR every 0.3 s and never sends anything, until killed; its pid in
# idle.pid.
idle_handoff_client() {
	python3 -c '
import glob, socket, sys, time
held = []
while True:
    for path in glob.glob(sys.argv[1] + "/cb-*"):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            held.append(s)
        except OSError:
            pass
    time.sleep(0.3)
' "$1" &
	echo $! >idle.pid
}

test_expect_success 'loginTimeout bounds the wait for a private-use scheme hand-off too' '
	git config --global "bbs.$FORGE_URL.redirectUri" org.git-remote-bbs:/callback &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.redirectUri" &&
	test_when_finished "kill \$(cat idle.pid) 2>/dev/null" &&
	idle_handoff_client "$XDG_RUNTIME_DIR/git-remote-bbs" &&
	start=$(ms) &&
	test_must_fail env BROWSER=true timeout 60 \
		git -c bbs.loginTimeout=3 bbs login "$REPO" 2>err &&
	grep "no sign-in response arrived in time" err &&
	took_less_than "$start" 6500
'

test_expect_success 'no command line shows the state or the code challenge' '
	rm -f "$STORE" &&
	BBS_TEST_BROWSER_SCAN=$PWD/scan git -c bbs.loginTimeout=30 bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	echo clean >expect &&
	test_cmp expect scan
'

test_expect_success 'the browser gets a private page that is removed after the sign-in' '
	rm -f "$STORE" &&
	cat >page-browser <<-EOF &&
	#!/bin/sh
	printf "%s\n" "\$1" >"$PWD/opened" &&
	f=\$(printf "%s" "\$1" | sed "s|^file://||") &&
	stat -c %a "\$f" >"$PWD/mode" &&
	stat -c %a "\$(dirname "\$f")" >"$PWD/dirmode" &&
	exec "$BROWSER_STANDIN" "\$1"
	EOF
	chmod +x page-browser &&
	BROWSER=$PWD/page-browser git -c bbs.loginTimeout=30 bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "^file:///" opened &&
	! grep "state\|challenge" opened &&
	echo 600 >expect && test_cmp expect mode &&
	echo 700 >expect && test_cmp expect dirmode &&
	test_path_is_missing "$(sed "s|^file://||" opened)"
'

# The record of every child a program of ours starts: its descriptors
# (other than the one ls reads) and signal dispositions.
cat >record-child <<'EOF'
echo "== $* (parent $(cat /proc/$PPID/comm))"
ls -l /proc/self/fd | awk 'NR > 1 && $NF !~ /^\/proc\// { print "fd", $9 }'
grep -E "^Sig(Ign|Blk)" /proc/self/status
EOF

# check_children LOG: at least one child recorded, each with only
# descriptors 0, 1, 2, nothing ignored and nothing blocked (but signals 32
# and 33, which glibc keeps for itself and no program can reset).
check_children() {
	grep "^== " "$1" &&
	! grep "^fd " "$1" | grep -v "^fd [012]$" &&
	grep "^Sig" "$1" | while read -r name mask; do
		test $((0x$mask & ~0x180000000)) = 0 || echo "$name $mask"
	done >bad-signals &&
	test_must_be_empty bad-signals
}

test_expect_success 'the browser inherits no descriptor and no ignored signal' '
	rm -f "$STORE" &&
	cat >rec-browser <<-EOF &&
	#!/bin/sh
	. "$PWD/record-child" >>"$PWD/browser.rec" 2>&1
	exec "$BROWSER_STANDIN" "\$1"
	EOF
	chmod +x rec-browser &&
	BROWSER=$PWD/rec-browser git -c bbs.loginTimeout=30 bbs login "$REPO" 2>err &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	check_children browser.rec
'

test_expect_success 'pack-objects, index-pack and git credential inherit nothing of ours' '
	real_git=$(command -v git) &&
	exec_path_copy recexec &&
	cat >recexec/git <<-EOF &&
	#!/bin/sh
	case " \$* " in
	*" pack-objects "*|*" index-pack "*|*" credential "*)
		. "$PWD/record-child" >>"$PWD/children.rec" 2>&1 ;;
	esac
	exec "$real_git" "\$@"
	EOF
	chmod +x recexec/git &&
	git clone -q "$REPO" work &&
	commit_file work a.txt one &&
	GIT_EXEC_PATH=$PWD/recexec git -C work push -q origin main &&
	GIT_EXEC_PATH=$PWD/recexec git clone -q "$REPO" work2 &&
	git config --global credential.helper "store --file=$PWD/creds" &&
	GIT_EXEC_PATH=$PWD/recexec git -c bbs.tokenStore=credential-helper \
		bbs login "$REPO" 2>err &&
	grep "^== pack-objects" children.rec &&
	grep "^== index-pack" children.rec &&
	grep "^== -c core.askPass= credential" children.rec &&
	check_children children.rec
'

test_expect_success 'a sign-in for another account than the URL names is reported' '
	oauth_start --username bob &&
	oauth_configure &&
	rm -f "$STORE" &&
	git bbs login "bbs::http://alice@${FORGE_URL#http://}/team/repo.git" 2>err &&
	grep "warning: the server signed in .bob., but the URL names .alice." err
'

test_done
