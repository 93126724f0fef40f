#!/bin/bash
# SPDX-License-Identifier: MIT
# .ci/debian13.sh - build the tree and run the whole test suite inside a
# Debian 13 (trixie) root: libgit2 1.9, git 2.47, OpenSSL 3.5.
#
# The root is made with debootstrap from the mirror the machine's apt uses
# and kept in $BBS_CI_CACHE (default /var/cache/bbs-ci) for later runs; a
# root is reused only when it was finished (its stamp names the package
# list).  The tree is bind-mounted at the same path inside, and the build
# goes to build-ci-debian13 in it.  Everything mounted is unmounted on exit,
# whatever happens.
#
# With arguments, runs them inside the root (in the tree) instead of the
# suite, e.g. .ci/debian13.sh sh -c 'cd build-ci-debian13 && make check'.
#
# Needs root.  Prints the suite's counts as "debian13: N passed, N failed,
# N skipped" and, as its last line, "N passed, N failed, N skipped" for the
# caller to add up.  Exits non-zero when anything failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd -P) || exit 1
cache=${BBS_CI_CACHE:-/var/cache/bbs-ci}
suite=trixie
root=$cache/$suite
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] 2>/dev/null || jobs=2
build=$top/build-ci-debian13

# What the build and the tests need, as in .ci/run, plus node for the
# OAuth provider tests.
packages=(build-essential autoconf automake pkg-config git ca-certificates
	libgit2-dev libcurl4-openssl-dev libjansson-dev libssl-dev
	libcmocka-dev apache2 openssl curl python3 xdg-utils valgrind
	nodejs git-lfs jq)

mounted=()

say() {
	printf '%s\n' "$*" >&2
}

fail() {
	say "debian13: $*"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}

# unmount_all: undo every mount made, innermost first
unmount_all() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" 2>/dev/null ||
			umount -l "${mounted[i]}" 2>/dev/null ||
			say "debian13: cannot unmount ${mounted[i]}"
	done
	mounted=()
}
trap unmount_all EXIT
trap 'exit 130' INT TERM HUP

# bind SRC DIR: bind-mount SRC on DIR inside the root being prepared
bind() {
	mkdir -p "$2" && mount --bind "$1" "$2" || return 1
	mounted+=("$2")
}

# mount_root DIR: the kernel file systems and the tree, inside DIR
mount_root() {
	local d=$1
	bind /proc "$d/proc" && bind /sys "$d/sys" && bind /dev "$d/dev" &&
		bind /dev/pts "$d/dev/pts" && bind /dev/shm "$d/dev/shm" &&
		bind "$top" "$d$top"
}

# busy DIR: is anything still mounted at or under DIR?
busy() {
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 {f = 1} END {exit !f}' \
		/proc/self/mounts
}

# stamp: what a finished root records; a root with another stamp is remade
stamp() {
	printf '%s %s\n' "$suite" "${packages[*]}"
}

# mirror: the first URIs: (or deb line) of the machine's apt sources
mirror() {
	local m
	m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources \
		2>/dev/null)
	[ -n "$m" ] || m=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list \
		2>/dev/null)
	printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# make_root: debootstrap a new root next to the cached one, install the
# packages and move it in place only when all of it worked
make_root() {
	local new=$root.new m log=$cache/$suite.log
	m=$(mirror)
	if [ -d "$new" ]; then
		busy "$new" && fail "$new is still mounted; unmount it first"
		rm -rf "$new"
	fi
	mkdir -p "$cache" || fail "cannot create $cache"
	say "debian13: debootstrap $suite from $m"
	debootstrap --variant=minbase "$suite" "$new" "$m" >"$log" 2>&1 || {
		tail -20 "$log" >&2
		fail "debootstrap failed"
	}
	cat >"$new/etc/apt/sources.list" <<EOF
deb $m $suite main
deb $m $suite-updates main
deb ${m%/debian}/debian-security $suite-security main
EOF
	# no service may start inside: the root shares the machine's network
	printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d" &&
		chmod +x "$new/usr/sbin/policy-rc.d" || fail "cannot write policy-rc.d"
	mount_root "$new" || fail "cannot mount into $new"
	say "debian13: installing ${#packages[@]} packages"
	chroot "$new" env DEBIAN_FRONTEND=noninteractive LC_ALL=C \
		sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"' \
		apt "${packages[@]}" >>"$log" 2>&1 || {
		tail -20 "$log" >&2
		fail "installing the packages failed"
	}
	chroot "$new" apt-get clean >/dev/null 2>&1
	unmount_all
	busy "$new" && fail "$new is still mounted"
	stamp >"$new/.bbs-ci-stamp"
	if [ -d "$root" ]; then
		busy "$root" && fail "$root is still mounted; unmount it first"
		rm -rf "$root"
	fi
	mv "$new" "$root" || fail "cannot move $new to $root"
}

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, mount, chroot)"
command -v debootstrap >/dev/null ||
	fail "debootstrap not found; install it with: apt-get install debootstrap"

start=$SECONDS
if [ -f "$root/.bbs-ci-stamp" ] && [ "$(cat "$root/.bbs-ci-stamp")" = "$(stamp)" ]; then
	say "debian13: reusing the root in $root"
else
	make_root
fi
say "debian13: root ready after $((SECONDS - start)) s"

# A run killed outright leaves its mounts: undo them before anything else,
# then start from an empty /tmp (kept trash directories of failed tests).
awk -v d="$root" 'index($2, d "/") == 1 {print $2}' /proc/self/mounts |
	sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
busy "$root" && fail "$root is still mounted; unmount it first"
find "$root/tmp" -xdev -mindepth 1 -delete 2>/dev/null

mount_root "$root" || fail "cannot mount into $root"
chroot "$root" sh -c 'git --version; pkg-config --modversion libgit2' >&2

if [ $# -gt 0 ]; then
	chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		TERM=dumb LANG=C.UTF-8 sh -c 'cd "$1" && shift && exec "$@"' \
		sh "$top" "$@"
	exit
fi

# The tree is bootstrapped here, outside (as .ci/run does first); inside,
# make must not find Makefile.in or configure older than their sources.
if [ ! -x "$top/configure" ] || [ "$top/configure.ac" -nt "$top/configure" ] ||
	[ "$top/Makefile.am" -nt "$top/Makefile.in" ]; then
	(cd "$top" && ./autogen.sh) >"$cache/autogen.log" 2>&1 || {
		cat "$cache/autogen.log" >&2
		fail "autogen.sh failed"
	}
fi

rm -rf "$build" && mkdir -p "$build" || fail "cannot create $build"
# configure and make run inside; the logs are read here by the same path.
chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	TERM=dumb LANG=C.UTF-8 sh -c '
	cd "$1" &&
	"$2/configure" --enable-werror >configure.log 2>&1 &&
	make -j"$3" >build.log 2>&1 || exit 125
	make -j"$3" check >check.log 2>&1
' sh "$build" "$top" "$jobs"
r=$?
if [ $r = 125 ]; then
	tail -n 40 "$build/configure.log" "$build/build.log" >&2
	fail "the build failed"
fi

p=$(awk '/^# (PASS|XFAIL):/ {n += $3} END {print n + 0}' "$build/check.log")
f=$(awk '/^# (FAIL|XPASS|ERROR):/ {n += $3} END {print n + 0}' "$build/check.log")
s=$(awk '/^# SKIP:/ {n += $3} END {print n + 0}' "$build/check.log")
if [ $r != 0 ] && [ "$f" = 0 ]; then
	f=1	# make check failed without a failing test: count it
fi
if [ "$f" != 0 ]; then
	grep -E '^(FAIL|ERROR|XPASS)' "$build/check.log" >&2
	[ -f "$build/test-suite.log" ] && sed -n '1,200p' "$build/test-suite.log" >&2
fi
say "debian13: whole pass took $((SECONDS - start)) s"
printf 'debian13: %d passed, %d failed, %d skipped\n' "$p" "$f" "$s" >&2
printf '%d passed, %d failed, %d skipped\n' "$p" "$f" "$s"
[ "$f" = 0 ]
