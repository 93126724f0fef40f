#!/bin/bash
# demo.sh - set everything up on a Debian machine and run the main job:
# build git-remote-bbs, start the local test forge (git http-backend
# behind Apache on 127.0.0.1, with token checks), then clone, commit and
# push through bbs:: with an access token.  No account needed.
#
#   bash contrib/demo.sh        (as root, or with the packages installed)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
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
cleanup() {
	"$top/tests/forge/forge.sh" stop "$forge" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

"$top/tests/forge/forge.sh" start "$forge" >/dev/null
"$top/tests/forge/forge.sh" create-repo "$forge" team/demo.git
url=$(cat "$forge/url")
token=bbs_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$token" | "$top/tests/forge/forge.sh" grant "$forge" - write
echo "demo: forge at $url, repository team/demo.git, a fresh write token"

export PATH="$top/build:$PATH" BBS_ACCESS_TOKEN=$token
export GIT_AUTHOR_NAME=Demo GIT_AUTHOR_EMAIL=demo@example.com
export GIT_COMMITTER_NAME=Demo GIT_COMMITTER_EMAIL=demo@example.com
unset token

set -x
cd "$work"
git clone "bbs::$url/team/demo.git" demo
cd demo
echo "pushed through git-remote-bbs" >hello.txt
git add hello.txt
git commit -q -m "Say hello through bbs::"
git push origin main
git ls-remote --symref origin
{ set +x; } 2>/dev/null
echo "demo: ok - cloned and pushed through bbs:: with an access token"
