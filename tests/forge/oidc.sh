#!/bin/bash
# SPDX-License-Identifier: MIT
#
# oidc.sh - start, stop and steer the strict authorization server
# (oidc/server.mjs: oidc-provider from npm) that lives in a directory DIR.
# See README.md ("The strict server").  Its files follow oauth.sh's
# (port, url, pid, endpoints, oauth.log, client-secret), so "count" and
# "secret" are oauth.sh's own.
#
#   oidc.sh start DIR FORGEDIR [--access-ttl=S] [--redirect-uri=URI ...]
#   oidc.sh stop DIR
#   oidc.sh status DIR
#   oidc.sh count DIR [GRANT]
#   oidc.sh secret DIR | secret DIR clear
#   oidc.sh available      (exit 0 when node and the npm packages are there)
#
# Environment:
#   OIDC_NODE   the Node.js interpreter (default: node)

set -u
set +x

PROG=${0##*/}
SRC=$(cd "$(dirname "$0")" && pwd -P) || exit 1
SERVER=$SRC/oidc/server.mjs
NODE=${OIDC_NODE:-node}

die() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 1
}

usage() {
	cat >&2 <<EOT
usage: $PROG start DIR FORGEDIR [--access-ttl=S] [--redirect-uri=URI ...]
       $PROG stop DIR
       $PROG status DIR
       $PROG count DIR [GRANT]
       $PROG secret DIR [clear]     (the secret is read from stdin)
       $PROG available
EOT
	exit 2
}

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

# The server runs with "--dir=DIR" as one argument: that identifies it.
is_ours() {
	[ -r "/proc/$1/cmdline" ] &&
		grep -qzxF -- "--dir=$DIR" "/proc/$1/cmdline" 2>/dev/null &&
		grep -qzxF -- "$SERVER" "/proc/$1/cmdline" 2>/dev/null &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

server_pids() {
	local files f pid
	files=$(grep -lzxF -- "--dir=$DIR" /proc/[0-9]*/cmdline 2>/dev/null)
	for f in $files; do
		pid=${f#/proc/}
		pid=${pid%%/*}
		[ "$pid" != $$ ] && is_ours "$pid" && echo "$pid"
	done
	return 0
}

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

cmd_available() {
	command -v "$NODE" >/dev/null 2>&1 || die "node is not installed"
	[ -f "$SRC/oidc/node_modules/oidc-provider/package.json" ] ||
		die "oidc-provider is not installed (cd tests/forge/oidc && npm ci)"
}

cmd_start() {
	local forge pid tries port pids
	set_dir "${1:-}" create
	forge=${2:-}
	[ $# -ge 2 ] || usage
	shift 2
	if [ -n "$forge" ]; then
		[ -d "$forge" ] || die "no such forge directory: '$forge'"
		forge=$(cd "$forge" && pwd -P) || die "cannot enter '$forge'"
	fi
	cmd_available
	pids=$(server_pids)
	[ -z "$pids" ] || die "a server already runs in '$DIR' (pid $pids)"
	rm -f "$DIR/port" "$DIR/url" "$DIR/pid" "$DIR/endpoints"
	"$NODE" --no-warnings "$SERVER" "--dir=$DIR" ${forge:+"--forge-dir=$forge"} "$@" \
		</dev/null >>"$DIR/server.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	pid=$!
	tries=150
	while [ "$tries" -gt 0 ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			tail -n 20 "$DIR/server.log" >&2
			die "the strict server did not start"
		fi
		if [ -s "$DIR/port" ]; then
			read -r port <"$DIR/port"
			echo "$port"
			return 0
		fi
		sleep 0.1
		tries=$((tries - 1))
	done
	kill -KILL "$pid" 2>/dev/null
	die "the strict server did not answer; see $DIR/server.log"
}

cmd_stop() {
	local pids
	[ $# -eq 1 ] || usage
	if [ -n "$1" ] && [ ! -d "$1" ]; then
		DIR=$(realpath -m -- "$1") || die "bad directory '$1'"
	else
		set_dir "$1"
	fi
	pids=$(server_pids | sort -u)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086 # one PID per word
		kill -TERM $pids 2>/dev/null
		# shellcheck disable=SC2086
		if ! wait_gone 50 $pids; then
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null
			# shellcheck disable=SC2086
			wait_gone 50 $pids || die "the strict server in '$DIR' survived"
		fi
	fi
	[ -d "$DIR" ] && rm -f "$DIR/pid"
	return 0
}

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

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
status) cmd_status "$@" ;;
count | secret) exec "$SRC/oauth.sh" "$cmd" "$@" ;;
available) cmd_available ;;
*) usage ;;
esac
