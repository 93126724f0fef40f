# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Variables of test-lib.sh are used here; variables set here are used by
# the test scripts.
# shellcheck disable=SC2034,SC2154

# lib-forge.sh - drive the test forge (tests/forge/forge.sh) from a test
# script.  Source it after test-lib.sh:
#
#	. "$(dirname "$0")/test-lib.sh"
#	. "$TEST_DIRECTORY/lib-forge.sh"
#	forge_start			# or: forge_start --tls
#
# forge_start sets and exports FORGE_DIR, FORGE_PORT and FORGE_URL.  The
# other functions act on the forge in $FORGE_DIR, so a second forge (see
# forge_start_extra) is driven with e.g. FORGE_DIR=$dir forge_grant ...
#
# Call forge_start at the top level of the script, not inside a test: when
# apache2 is missing the whole script is skipped, unless
# BBS_TEST_REQUIRE_SERVERS=1, which turns that into an error.

# Skip the script, or fail when servers are required.
forge_skip_or_die_() {
	if [ "${BBS_TEST_REQUIRE_SERVERS:-}" = 1 ]; then
		error "$1 (and BBS_TEST_REQUIRE_SERVERS=1)"
	fi
	if [ -n "$test_running_" ] || [ "$test_count" != 0 ]; then
		say "$1"
		return 1
	fi
	skip_all=$1
	test_done
}

forge_check_() {
	if [ -z "${FORGE_APACHE:-}" ] && ! command -v apache2 >/dev/null 2>&1 &&
		! [ -x /usr/sbin/apache2 ]; then
		forge_skip_or_die_ "apache2 is not installed"
		return 1
	fi
	if ! [ -f "${FORGE_APACHE_MODULES:-/usr/lib/apache2/modules}/mod_cgi.so" ]; then
		forge_skip_or_die_ "Apache modules (mod_cgi) not found"
		return 1
	fi
	if ! [ -x "$(git --exec-path)/git-http-backend" ]; then
		forge_skip_or_die_ "git http-backend is not installed"
		return 1
	fi
}

# When the forge runs as root, Apache's children run as www-data and must be
# able to reach the trash directory: make its ancestors searchable.
forge_make_reachable_() {
	local d=$1 mode
	[ "$(id -u)" = 0 ] || return 0
	while [ "$d" != / ] && [ -n "$d" ]; do
		mode=$(stat -c %a "$d") || return 1
		if [ $((8#$mode & 1)) = 0 ]; then
			chmod o+x "$d" || return 1
			say "made $d searchable for the web server"
		fi
		d=$(dirname "$d")
	done
}

# forge_start_dir_ DIR [--tls]: start a forge in DIR, stop it at exit;
# set forge_port_.
forge_start_dir_() {
	local dir=$1
	shift
	forge_make_reachable_ "$TRASH_DIRECTORY" || return 1
	test_atexit "\"\$FORGE\" stop '$dir'"
	forge_port_=$("$FORGE" start "$dir" "$@")
}

# forge_start [--tls]: start the forge of this script in
# $TRASH_DIRECTORY/forge.
forge_start() {
	case ${1:-} in
	'' | --tls) ;;
	*) bug_ "forge_start: unknown option $1" ;;
	esac
	forge_check_ || return 1
	FORGE_DIR=$TRASH_DIRECTORY/forge
	if ! forge_start_dir_ "$FORGE_DIR" "$@"; then
		[ -n "$test_running_" ] && return 1
		error "cannot start the forge in $FORGE_DIR"
	fi
	FORGE_PORT=$forge_port_
	FORGE_URL=$(cat "$FORGE_DIR/url")
	export FORGE_DIR FORGE_PORT FORGE_URL
}

# forge_start_extra NAME [--tls]: start another forge (another origin, e.g.
# a redirect target) in $TRASH_DIRECTORY/forge-NAME; set FORGE_EXTRA_DIR,
# FORGE_EXTRA_PORT and FORGE_EXTRA_URL.
forge_start_extra() {
	local dir=$TRASH_DIRECTORY/forge-$1
	shift
	forge_check_ || return 1
	forge_start_dir_ "$dir" "$@" || return 1
	FORGE_EXTRA_DIR=$dir
	FORGE_EXTRA_PORT=$forge_port_
	FORGE_EXTRA_URL=$(cat "$dir/url")
}

# forge_stop: stop the forge in $FORGE_DIR (idempotent).
forge_stop() {
	[ -n "${FORGE_DIR:-}" ] || return 0
	"$FORGE" stop "$FORGE_DIR"
}

# forge_create_repo PATH [--empty]: a bare repository, e.g. team/repo.git,
# with one commit on main unless --empty.
forge_create_repo() {
	"$FORGE" create-repo "$FORGE_DIR" "$@"
}

# forge_repo_dir PATH: the directory of a served repository.
forge_repo_dir() {
	printf '%s\n' "$FORGE_DIR/repos/$1"
}

# forge_grant TOKEN read|write (the token goes through stdin, not argv).
forge_grant() {
	printf '%s\n' "$1" | "$FORGE" grant "$FORGE_DIR" - "$2"
}

# forge_revoke TOKEN
forge_revoke() {
	printf '%s\n' "$1" | "$FORGE" revoke "$FORGE_DIR" -
}

# forge_fix_perms: after writing into a served repository directly.
forge_fix_perms() {
	"$FORGE" fix-perms "$FORGE_DIR"
}

# forge_redirect URLPATH-PREFIX TARGET-BASE | forge_redirect clear
forge_redirect() {
	"$FORGE" redirect "$FORGE_DIR" "$@"
}

# forge_fault drop-pack BYTES | status CODE | slow SECONDS | clear [NAME]
forge_fault() {
	"$FORGE" fault "$FORGE_DIR" "$@"
}

# forge_gate_log: print the path of the gate's log.
forge_gate_log() {
	printf '%s\n' "$FORGE_DIR/logs/gate.log"
}

# new_token: print a fresh random token.
new_token() {
	local hex
	hex=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n') || return 1
	printf 'bbs_%s\n' "$hex"
}
