#!/bin/bash
# SPDX-License-Identifier: MIT
# .ci/deb.sh BUILDDIR: build the Debian package in BUILDDIR (make deb: the
# distribution tarball, contrib/debian, dpkg-buildpackage, lintian), install
# it into a fresh Debian root made with debootstrap, and clone and push
# through bbs:: with the installed programs against the local forge running
# outside the root.  Prints "deb: ok" or what failed; exit status 0 or 1.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P)
build=$1
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
work=$(mktemp -d /tmp/bbs-ci-deb.XXXXXX)
root=$work/root
forge=$work/forge
log=$work/log

fail() {
	echo "deb: $*"
	tail -30 "$log" 2>/dev/null
	exit 1
}

cleanup() {
	"$top/tests/forge/forge.sh" stop "$forge" >/dev/null 2>&1
	for m in dev/pts dev sys proc; do
		mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
	done
	rm -rf "$work"
}
trap cleanup EXIT

(cd "$build" && make deb) >"$log" 2>&1 || fail "make deb failed"
deb=$(ls "$build"/deb-build/git-remote-bbs_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no package was built"

debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$log" 2>&1 ||
	fail "debootstrap $suite failed"
for m in proc sys dev dev/pts; do
	mount --bind "/$m" "$root/$m" || fail "cannot mount /$m in the root"
done
cp /etc/resolv.conf "$root/etc/" 2>/dev/null
cp "$deb" "$root/tmp/"
chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
	"apt-get update -qq && apt-get install -y -qq --no-install-recommends /tmp/$(basename "$deb")" \
	>"$log" 2>&1 || fail "the package does not install in a fresh $suite root"

chmod 755 "$work"
"$top/tests/forge/forge.sh" start "$forge" >"$log" 2>&1 || fail "the forge does not start"
"$top/tests/forge/forge.sh" create-repo "$forge" team/deb.git >>"$log" 2>&1 ||
	fail "cannot create the repository"
url=$(cat "$forge/url")
token=bbs_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$token" | "$top/tests/forge/forge.sh" grant "$forge" - write ||
	fail "cannot grant the token"
# the token goes into the root as a file, never into an argv
umask 077
printf '%s\n' "$token" >"$root/tmp/token"
umask 022
unset token

cat >"$root/tmp/clone-push.sh" <<EOS
set -e
export HOME=/tmp/home PATH=/usr/bin:/bin
mkdir -p "\$HOME" && cd "\$HOME"
BBS_ACCESS_TOKEN=\$(cat /tmp/token)
export BBS_ACCESS_TOKEN
test "\$(command -v git-remote-bbs)" = /usr/bin/git-remote-bbs
git-remote-bbs --version | head -1
git -c init.defaultBranch=main clone -q "bbs::$url/team/deb.git" deb
cd deb
git -c user.name=CI -c user.email=ci@example.com commit -q --allow-empty -m "pushed by the installed package"
git push -q origin HEAD:main
git ls-remote origin refs/heads/main
test -f /usr/share/bash-completion/completions/git-bbs
test -f /usr/share/applications/git-bbs-callback.desktop
man -w git-remote-bbs >/dev/null 2>&1 || test -f /usr/share/man/man1/git-remote-bbs.1.gz
EOS
chroot "$root" sh /tmp/clone-push.sh >"$log" 2>&1 ||
	fail "clone and push with the installed programs failed"
[ "$(git -c safe.directory="*" -C "$forge/repos/team/deb.git" log -1 --format=%s main 2>/dev/null)" = \
	"pushed by the installed package" ] || fail "the push did not reach the forge"
echo "deb: ok ($(head -1 "$log"), installed into a fresh $suite root)"
