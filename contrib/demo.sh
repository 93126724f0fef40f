#!/bin/bash
# SPDX-License-Identifier: MIT
# demo.sh - set everything up on a Debian machine and show the product:
# build git-remote-bbs, start the local test forge (git http-backend
# behind Apache on 127.0.0.1, with token checks) and its OAuth 2.0
# authorization server, then do what a person does: sign in in the
# browser, clone, commit and push through bbs::, look at the sign-in,
# let the short-lived access token expire, fetch (the helper refreshes
# it silently), and sign out, revoking the grant at the server.
# No account needed; nothing leaves 127.0.0.1.
#
#   bash contrib/demo.sh                  (as root, or with the packages installed)
#   bash contrib/demo.sh --static-token   clone and push with a static access token
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
mode=oauth
case ${1:-} in
"") ;;
--static-token) mode=static ;;
*)
	echo "usage: bash contrib/demo.sh [--static-token]" >&2
	exit 2
	;;
esac

packages=(build-essential autoconf automake pkg-config git ca-certificates
	libgit2-dev libcurl4-openssl-dev libjansson-dev libssl-dev
	libcmocka-dev apache2 openssl curl python3 xdg-utils)

missing=()
for p in "${packages[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "demo: missing packages: ${missing[*]}" >&2
		echo "demo: run as root, or: sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
	echo "demo: installing ${missing[*]}"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi

echo "demo: building in $top/build"
(cd "$top" && ./autogen.sh >/dev/null 2>&1)
mkdir -p "$top/build"
(cd "$top/build" && { [ -f Makefile ] || ../configure >/dev/null; } &&
	make -j"$(nproc)" >/dev/null)

work=$(mktemp -d "${TMPDIR:-/tmp}/bbs-demo.XXXX")
chmod 755 "$work"
forge=$work/forge
auth=$work/oauth
cleanup() {
	"$top/tests/forge/oauth.sh" stop "$auth" >/dev/null 2>&1 || true
	"$top/tests/forge/forge.sh" stop "$forge" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

"$top/tests/forge/forge.sh" start "$forge" >/dev/null
"$top/tests/forge/forge.sh" create-repo "$forge" team/demo.git
url=$(cat "$forge/url")
repo=bbs::$url/team/demo.git

# A person of their own: a home, a git identity, and nothing else.
export HOME=$work/home XDG_STATE_HOME=$work/home/.local/state
export XDG_CONFIG_HOME=$work/home/.config XDG_RUNTIME_DIR=$work/run
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
export PATH="$top/build:$PATH"
git config --global user.name Demo
git config --global user.email demo@example.com
git config --global init.defaultBranch main
cd "$work"

# run CMD...: show a command as it is typed, then run it
run() {
	printf '  $ %s\n' "$*"
	"$@"
}

if [ $mode = static ]; then
	token=bbs_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	printf '%s\n' "$token" | "$top/tests/forge/forge.sh" grant "$forge" - write
	echo "demo: forge at $url, repository team/demo.git, a fresh write token"
	export BBS_ACCESS_TOKEN=$token
	unset token
	run git clone -q "$repo" demo
	cd demo
	echo "pushed through git-remote-bbs" >hello.txt
	git add hello.txt
	git commit -q -m "Say hello through bbs::"
	run git push -q origin main
	run git ls-remote --symref origin
	echo "demo: ok - cloned and pushed through bbs:: with an access token"
	exit 0
fi

ttl=4
port=$("$top/tests/forge/oauth.sh" start "$auth" "$forge" --access-ttl $ttl)
issuer=$(cat "$auth/url")
echo "demo: forge at $url (repository team/demo.git), OAuth server at $issuer"
echo "demo: access tokens live $ttl seconds; refresh tokens rotate on every use"

echo "demo: 1. configure the client once (what a README tells a user to do)"
run git config --global "bbs.$url.issuer" "$issuer"
run git config --global "bbs.$url.clientId" bbs-test-client
run git config --global "bbs.$url.scopes" git:write

echo "demo: 2. sign in in the browser (a stand-in approves the consent page)"
export BROWSER=$top/tests/forge/browser.py
run git bbs login "$url/team/demo.git" 2>login.err
grep -E '^Signed in' login.err | sed 's/^/  /'

echo "demo: 3. clone, commit and push: no password, no token in sight"
run git clone -q "$repo" demo
cd demo
echo "pushed through git-remote-bbs" >hello.txt
git add hello.txt
git commit -q -m "Say hello through bbs::"
run git push -q origin main
run git ls-remote origin refs/heads/main

echo "demo: 4. what is stored (never a secret on screen)"
run git bbs status "$url/team/demo.git"
before=$("$top/tests/forge/oauth.sh" count "$auth" refresh_token)

echo "demo: 5. wait $((ttl + 1)) s: the access token expires"
sleep $((ttl + 1))

echo "demo: 6. fetch: the helper refreshes by itself (seen only in GIT_TRACE_BBS)"
run env GIT_TRACE_BBS="$work/trace" git fetch -q origin
after=$("$top/tests/forge/oauth.sh" count "$auth" refresh_token)
grep -i 'refresh' "$work/trace" | head -3 | sed 's/^[^ ]* /  trace: /'
if [ $((after - before)) != 1 ]; then
	echo "demo: expected one refresh at the server, saw $((after - before))" >&2
	exit 1
fi
echo "  the server saw exactly one refresh; the new refresh token replaced the old"

echo "demo: 7. sign out: the grant is revoked at the server, then forgotten"
run git bbs logout "$url/team/demo.git"
echo "demo: 8. with no browser and no terminal, a fetch fails at once and says why"
if env -u BROWSER git fetch -q origin 2>fetch.err </dev/null; then
	echo "demo: a fetch still worked after logout" >&2
	exit 1
fi
sed 's/^/  /' fetch.err
echo "demo: ok - signed in, pushed, refreshed silently, and signed out"
