# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# lib-server.sh - the server management that oauth.sh and oidc.sh share:
# find, start, wait for, stop and report a test server that runs in a
# directory DIR.  Sourced, not run.
#
# The script that sources it sets:
#   PROG         its name, for messages
#   SERVER_WHAT  what to call the server in messages ("the OAuth server")
#   SERVER_ARG   a string that one argument of the server's command line
#                contains (its script's name or path)
#   SERVER_ARG_EXACT
#                1: that argument equals SERVER_ARG; empty: contains it
# and defines usage().  A server is started with "--dir=DIR" as one
# argument: that argument and SERVER_ARG identify its processes.

die() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 1
}

# set_dir DIR [create]: make DIR absolute (physical path), in $DIR.
set_dir() {
	[ -n "$1" ] || usage
	if [ "${2:-}" = create ]; then
		mkdir -p "$1" || die "cannot create '$1'"
	fi
	[ -d "$1" ] || die "no such directory: '$1'"
	DIR=$(cd "$1" && pwd -P) || die "cannot enter '$1'"
	case $DIR in
	*$'\n'*) die "the directory must not contain newlines" ;;
	esac
}

# is_ours PID: PID is a live server of $DIR.
is_ours() {
	local exact=-qzF
	[ -n "${SERVER_ARG_EXACT:-}" ] && exact=-qzxF
	[ -r "/proc/$1/cmdline" ] &&
		grep -qzxF -- "--dir=$DIR" "/proc/$1/cmdline" 2>/dev/null &&
		grep "$exact" -- "$SERVER_ARG" "/proc/$1/cmdline" 2>/dev/null &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# server_pids: the PIDs of the servers of $DIR: the one in DIR/pid, and any
# other (e.g. one whose pid file is gone).
server_pids() {
	local pid files f
	if [ -s "$DIR/pid" ] && read -r pid <"$DIR/pid" &&
		[[ $pid =~ ^[0-9]+$ ]] && is_ours "$pid"; then
		echo "$pid"
	fi
	# grep matches its own arguments: let it finish, then check.
	files=$(grep -lzxF -- "--dir=$DIR" /proc/[0-9]*/cmdline 2>/dev/null)
	for f in $files; do
		pid=${f#/proc/}
		pid=${pid%%/*}
		[ "$pid" != $$ ] && is_ours "$pid" && echo "$pid"
	done
	return 0
}

# wait_gone TENTHS PID...: wait until the processes are gone.
wait_gone() {
	local tries=$1 pid alive
	shift
	while [ "$tries" -gt 0 ]; do
		alive=
		for pid in "$@"; do
			is_ours "$pid" && alive=1
		done
		[ -z "$alive" ] && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

# server_prepare DIR FORGEDIR: set DIR and FORGE (absolute, or empty),
# refuse a second server in DIR, remove the files of the last one.
server_prepare() {
	local pids
	set_dir "${1:-}" create
	FORGE=${2:-}
	if [ -n "$FORGE" ]; then
		[ -d "$FORGE" ] || die "no such forge directory: '$FORGE'"
		FORGE=$(cd "$FORGE" && pwd -P) || die "cannot enter '$FORGE'"
	fi
	pids=$(server_pids)
	[ -z "$pids" ] || die "a server already runs in '$DIR' (pid $pids)"
	rm -f "$DIR/port" "$DIR/url" "$DIR/pid" "$DIR/endpoints"
}

# server_wait PID TENTHS READY: wait until the command READY succeeds,
# then print DIR/port.  Dies (showing the end of DIR/server.log) when PID
# exits first, and kills it when it is not ready in time.
server_wait() {
	local pid=$1 tries=$2 ready=$3 port
	while [ "$tries" -gt 0 ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			tail -n 20 "$DIR/server.log" >&2
			die "$SERVER_WHAT did not start"
		fi
		if "$ready"; then
			read -r port <"$DIR/port"
			echo "$port"
			return 0
		fi
		sleep 0.1
		tries=$((tries - 1))
	done
	kill -KILL "$pid" 2>/dev/null
	die "$SERVER_WHAT did not answer; see $DIR/server.log"
}

# server_stop PIDS: SIGTERM, then SIGKILL after 5 s.
server_stop() {
	[ -n "$1" ] || return 0
	# shellcheck disable=SC2086 # one PID per word
	kill -TERM $1 2>/dev/null
	# shellcheck disable=SC2086
	if ! wait_gone 50 $1; then
		# shellcheck disable=SC2086
		kill -KILL $1 2>/dev/null
		# shellcheck disable=SC2086
		wait_gone 50 $1 || die "$SERVER_WHAT in '$DIR' survived"
	fi
}

# server_kill PIDS: SIGKILL.
server_kill() {
	[ -n "$1" ] || return 0
	# shellcheck disable=SC2086 # one PID per word
	kill -KILL $1 2>/dev/null
	# shellcheck disable=SC2086
	wait_gone 50 $1 || die "$SERVER_WHAT of '$DIR' survived"
}

# cmd_status DIR: "running pid=... url=..." (0) or "stopped" (1).
cmd_status() {
	local pids
	set_dir "${1:-}"
	pids=$(server_pids | sort -u)
	if [ -n "$pids" ]; then
		echo "running pid=$pids url=$(cat "$DIR/url" 2>/dev/null)"
		return 0
	fi
	echo stopped
	return 1
}
