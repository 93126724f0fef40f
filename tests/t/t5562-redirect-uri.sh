#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016,SC2034
test_description='configured redirect URIs: port-less loopback, [::1], a port, hosts parsed whole'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"
. "$TEST_DIRECTORY/lib-bbs.sh"

forge_start
oauth_start
REPO=bbs::$FORGE_URL/team/repo.git
export BROWSER=$BROWSER_STANDIN
python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
	2>/dev/null && test_set_prereq IPV6
command -v script >/dev/null && test_set_prereq TTY

# Another local user, for tests of what the listener leaves to others
# (as root: nobody, with a python3 that nobody can run; else this user,
# whom the kernel refuses alike).
AS_OTHER= OTHER_PYTHON=python3
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	for p in python3 /usr/bin/python3; do
		if setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$p" -c "" 2>/dev/null
		then
			AS_OTHER="setpriv --reuid=65534 --regid=65534 --clear-groups"
			OTHER_PYTHON=$p
			break
		fi
	done
fi

# other_bind PORT: as the other user, try to listen on [::1]:PORT,
# 127.0.0.1:PORT and [::]:PORT; print each result.
other_bind() {
	$AS_OTHER $OTHER_PYTHON -c '
import socket, sys
port = int(sys.argv[1])
for fam, addr in ((socket.AF_INET6, "::1"), (socket.AF_INET, "127.0.0.1"),
                  (socket.AF_INET6, "::")):
    s = socket.socket(fam)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((addr, port))
        s.listen(1)
        print("bound", addr)
    except OSError as e:
        print("refused", addr, e.strerror)
    s.close()
' "$1"
}

# other_listen ADDR PORT: as the other user, listen on ADDR:PORT in the
# background, writing "ready" and then a line per connection to other.got;
# its pid in other.pid, killed when the test ends.
other_listen() {
	rm -f other.ready other.got &&
	{ $AS_OTHER $OTHER_PYTHON -c "
import socket, sys
s = socket.socket(socket.AF_INET6 if \":\" in sys.argv[1] else socket.AF_INET)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
print(\"ready\", flush=True)
while True:
    c, _ = s.accept()
    print(\"got a connection\", flush=True)
" "$1" "$2" >other.got 2>&1 & } &&
	echo $! >other.pid &&
	wait_for_text other.got ready 100
}

# via_browser HOST: a browser that, while the listener waits, records
# what the other user can bind on its port (in other.out), then approves
# and delivers the redirect to HOST in place of localhost.
via_browser() {
	cat >via-browser <<-EOF &&
	#!/bin/sh
	. "$PWD/other-bind.sh"
	BBS_TEST_BROWSER_PRINT=$PWD/location "$BROWSER_STANDIN" "\$1" || exit 1
	port=\$(sed -n "s|^http://localhost:\([0-9]*\)/.*|\1|p" "$PWD/location")
	other_bind "\$port" >"$PWD/other.out" 2>&1
	sed "s|^http://localhost:|http://$1:|" "$PWD/location" >"$PWD/delivered"
	exec python3 -c "
import sys, urllib.request
o = urllib.request.build_opener(urllib.request.ProxyHandler({}))
print(o.open(open(sys.argv[1]).read().strip()).status)
" "$PWD/delivered"
	EOF
	chmod +x via-browser &&
	{
		echo "AS_OTHER=\"$AS_OTHER\" OTHER_PYTHON=\"$OTHER_PYTHON\"" &&
		declare -f other_bind
	} >other-bind.sh
}

# login_with URI: sign in with bbs.<url>.redirectUri=URI (bounded wait).
login_with() {
	git config --global "bbs.$FORGE_URL.redirectUri" "$1" &&
	git -c bbs.loginTimeout=20 bbs login "$REPO" 2>err
}

test_expect_success 'set up' '
	forge_create_repo team/repo.git &&
	oauth_configure
'

test_expect_success 'a port-less loopback URI gets an ephemeral port, its path kept' '
	login_with http://127.0.0.1/callback &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "redirect_uri=http%3A%2F%2F127.0.0.1%3A[0-9][0-9]*%2Fcallback&" err &&
	git ls-remote "$REPO" >out &&
	grep refs/heads/main out
'

test_expect_success IPV6 'http://[::1]/callback: listened on and used' '
	login_with "http://[::1]/callback" &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "redirect_uri=http%3A%2F%2F%5B%3A%3A1%5D%3A[0-9][0-9]*%2Fcallback&" err
'

test_expect_success 'a loopback URI with a port: that port' '
	port=$(free_port) &&
	login_with "http://127.0.0.1:$port/callback" &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "redirect_uri=http%3A%2F%2F127.0.0.1%3A$port%2Fcallback&" err
'

test_expect_success 'a host that only starts like a loopback address is refused at once' '
	start=$(ms) &&
	test_must_fail login_with http://127.0.0.1.evil.example/callback &&
	took_less_than $start 5000 &&
	grep "unusable redirect URI .http://127.0.0.1.evil.example/callback.: http redirects must go to 127.0.0.1, \[::1\] or localhost" err &&
	test_must_fail login_with http://localhost.evil.example/ &&
	grep "unusable redirect URI" err &&
	test_must_fail login_with "http://[::1].evil.example/" &&
	grep "unusable redirect URI" err &&
	test_must_fail login_with https://127.0.0.1/callback &&
	grep "an https address cannot reach this program" err &&
	test_must_fail login_with http://127.0.0.1:99999/ &&
	grep "unusable redirect URI .http://127.0.0.1:99999/.: malformed port in URL" err &&
	test_must_fail login_with http://127.0.0.1@192.0.2.2/callback &&
	grep "unusable redirect URI .http://127.0.0.1@192.0.2.2/callback.: it has user information" err &&
	test_must_fail login_with "http://127.0.0.1/callback#x" &&
	grep "unusable redirect URI .http://127.0.0.1/callback#x.: it has a fragment" err &&
	test_must_fail login_with "http://127.0.0.1/call back" &&
	grep "unusable redirect URI .http://127.0.0.1/call back.: URL contains a space or control character" err &&
	test_must_fail login_with "http://127.0.0.1/$(printf "\033")[2J" &&
	grep "unusable redirect URI .http://127.0.0.1/^\[\[2J.: URL contains a space or control character" err &&
	! grep "$(printf "\033")" err
'

test_expect_success 'localhost works too (not recommended)' '
	login_with http://localhost/callback &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep "redirect_uri=http%3A%2F%2Flocalhost%3A[0-9][0-9]*%2Fcallback&" err
'

test_expect_success IPV6 'localhost: the port is held on [::1] too; a sign-in through [::1] completes' '
	via_browser "[::1]" &&
	BROWSER=$PWD/via-browser login_with http://localhost/callback &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep -q "^http://\[::1\]:[0-9]*/callback?" delivered &&
	grep "refused ::1 Address already in use" other.out &&
	grep "refused 127.0.0.1 Address already in use" other.out &&
	grep "refused :: Address already in use" other.out &&
	! grep bound other.out
'

test_expect_success IPV6 'localhost with a port: held on both, a sign-in through 127.0.0.1 completes' '
	port=$(free_port) &&
	via_browser 127.0.0.1 &&
	BROWSER=$PWD/via-browser login_with "http://localhost:$port/callback" &&
	grep "Signed in to 127.0.0.1 as alice" err &&
	grep -q "^http://127.0.0.1:$port/callback?" delivered &&
	grep "refused ::1 Address already in use" other.out &&
	! grep bound other.out
'

test_expect_success IPV6 'localhost with a port another user holds on [::1]: refused, nothing sent' '
	port=$(free_port) &&
	test_when_finished "kill \$(cat other.pid) 2>/dev/null; :" &&
	other_listen ::1 "$port" &&
	rm -f browser.log &&
	BBS_TEST_BROWSER_LOG=$PWD/browser.log \
		test_must_fail login_with "http://localhost:$port/callback" &&
	grep "cannot listen on \[::1\]:$port: Address already in use" err &&
	test_path_is_missing browser.log &&
	! grep got other.got
'

# paste_start [GIT-OPTIONS...]: `git bbs login --flow paste` on a terminal
# (script(1)), with no browser, until it asks for the paste; the
# authorization address it shows in $url, its output in paste.out.
paste_start() {
	rm -f paste.in paste.out paste.pid &&
	mkfifo paste.in &&
	(env -u BROWSER GIT_TERMINAL_PROMPT=1 script -qfec \
		"git $* bbs login --flow paste $REPO" /dev/null \
		<paste.in >paste.out 2>&1 & echo $! >paste.pid) &&
	exec 9>paste.in &&
	wait_for_text paste.out "Paste that address" 100 &&
	url=$(grep -o "$(oauth_endpoint authorization_endpoint)?[^ ]*" paste.out |
		tr -d "\r" | head -n 1) &&
	test -n "$url"
}

# paste_stop: end what paste_start started, if it still runs.
paste_stop() {
	exec 9>&-
	kill "$(cat paste.pid 2>/dev/null)" 2>/dev/null
	:
}

test_expect_success TTY 'paste flow, a configured port: held during the wait; a browser here completes it' '
	port=$(free_port) &&
	git config --global "bbs.$FORGE_URL.redirectUri" "http://127.0.0.1:$port/" &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.redirectUri" &&
	test_when_finished paste_stop &&
	paste_start -c bbs.loginTimeout=30 &&
	case "$url" in
	*"redirect_uri=http%3A%2F%2F127.0.0.1%3A$port%2F&"*) ;;
	*) false ;;
	esac &&
	other_bind "$port" >other.out 2>&1 &&
	grep "refused 127.0.0.1 Address already in use" other.out &&
	"$BROWSER_STANDIN" "$url" &&
	wait_for_exit paste.pid 100 &&
	grep "Signed in to 127.0.0.1 as alice" paste.out
'

test_expect_success TTY 'paste flow, no redirect URI: an ephemeral port, held; the paste still works' '
	test_when_finished paste_stop &&
	paste_start -c bbs.loginTimeout=30 &&
	port=$(printf "%s\n" "$url" |
		sed -n "s/.*redirect_uri=http%3A%2F%2F127.0.0.1%3A\([0-9]*\)%2F&.*/\1/p") &&
	test -n "$port" &&
	other_bind "$port" >other.out 2>&1 &&
	grep "refused 127.0.0.1 Address already in use" other.out &&
	BBS_TEST_BROWSER_PRINT=$PWD/location "$BROWSER_STANDIN" "$url" &&
	grep -q "^http://127.0.0.1:$port/?" location &&
	cat location >&9 && echo >&9 &&
	wait_for_exit paste.pid 100 &&
	grep "Signed in to 127.0.0.1 as alice" paste.out
'

test_expect_success TTY 'paste flow, a port another user holds: one line, no address shown' '
	port=$(free_port) &&
	test_when_finished "kill \$(cat other.pid) 2>/dev/null; :" &&
	other_listen 127.0.0.1 "$port" &&
	git config --global "bbs.$FORGE_URL.redirectUri" "http://127.0.0.1:$port/" &&
	test_when_finished "git config --global --unset bbs.$FORGE_URL.redirectUri" &&
	test_must_fail env -u BROWSER GIT_TERMINAL_PROMPT=1 timeout 20 script -qfec \
		"git bbs login --flow paste $REPO" /dev/null </dev/null >out 2>&1 &&
	grep "cannot listen on 127.0.0.1:$port: Address already in use" out &&
	! grep "To sign in" out &&
	! grep got other.got
'

test_done
