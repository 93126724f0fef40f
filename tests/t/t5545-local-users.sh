#!/bin/bash
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

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
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

test_done
