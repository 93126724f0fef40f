#!/bin/bash
# SPDX-License-Identifier: MIT
#
# oauth.sh - start, stop and steer the tests' OAuth 2.0 authorization
# server (oauth-server.py) that lives in a directory DIR.  See README.md.
#
#   oauth.sh start DIR FORGEDIR [SERVER-FLAGS...]
#   oauth.sh stop DIR
#   oauth.sh status DIR
#   oauth.sh fault DIR NAME [ARG] | oauth.sh fault DIR clear
#   oauth.sh count DIR [GRANT]
#   oauth.sh secret DIR            (the client secret on stdin)
#   oauth.sh secret DIR clear
#
# Environment:
#   OAUTH_PYTHON   the Python 3 interpreter (default: python3)

set -u
set +x

PROG=${0##*/}
OAUTH_SRC=$(cd "$(dirname "$0")" && pwd -P) || exit 1
SERVER=$OAUTH_SRC/oauth-server.py
PYTHON=${OAUTH_PYTHON:-python3}

die() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 1
}

usage() {
	cat >&2 <<EOF
usage: $PROG start DIR FORGEDIR [server flags...]
       $PROG stop DIR
       $PROG status DIR
       $PROG fault DIR NAME [ARG] | clear
       $PROG count DIR [GRANT]
       $PROG secret DIR [clear]     (the secret is read from stdin)
faults: status CODE [ERROR] | slow SECONDS | truncated [close] | malformed |
        oversized | wrong-state | wrong-iss | no-iss | crlf-token |
        hostile-text | hostile-user-code | hostile-verification |
        hostile-metadata | id-token wrong-iss|wrong-aud|expired|malformed|none |
        token-username
EOF
	exit 2
}

# set_dir DIR [create]: make DIR absolute (physical path).
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

# The server is started with "--dir=DIR" as one argument: that argument
# identifies its processes.
is_ours() {
	[ -r "/proc/$1/cmdline" ] &&
		grep -qzxF -- "--dir=$DIR" "/proc/$1/cmdline" 2>/dev/null &&
		grep -qzF -- oauth-server.py "/proc/$1/cmdline" 2>/dev/null &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Print the PIDs of the servers of DIR: the one in DIR/pid, and any other
# (e.g. one whose pid file is gone).
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

ping_ok() {
	local url=$1 code
	if command -v curl >/dev/null 2>&1; then
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			--noproxy '*' "$url/.oauth-ping" 2>/dev/null) || code=
		[ "$code" = 200 ]
	else
		(: <"/dev/tcp/127.0.0.1/${url##*:}") 2>/dev/null
	fi
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
	command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
	pids=$(server_pids)
	[ -z "$pids" ] || die "a server already runs in '$DIR' (pid $pids)"
	rm -f "$DIR/port" "$DIR/url" "$DIR/pid" "$DIR/endpoints"
	# Close inherited descriptors (a test harness's pipes): the daemon
	# must not keep them open.
	"$PYTHON" "$SERVER" "--dir=$DIR" ${forge:+"--forge-dir=$forge"} \
		--port 0 "$@" </dev/null >>"$DIR/server.log" 2>&1 \
		3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	pid=$!
	tries=100
	while [ "$tries" -gt 0 ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			tail -n 20 "$DIR/server.log" >&2
			die "the OAuth server did not start"
		fi
		if [ -s "$DIR/port" ] && [ -s "$DIR/url" ] &&
			ping_ok "$(cat "$DIR/url")"; then
			read -r port <"$DIR/port"
			echo "$port"
			return 0
		fi
		sleep 0.1
		tries=$((tries - 1))
	done
	kill -KILL "$pid" 2>/dev/null
	die "the OAuth server did not answer; see $DIR/server.log"
}

cmd_stop() {
	local pids
	[ $# -eq 1 ] || usage
	if [ -n "$1" ] && [ ! -d "$1" ]; then
		# The directory is gone (a removed trash directory): still find
		# and stop whatever server was started for it.
		DIR=$(realpath -m -- "$1") || die "bad directory '$1'"
		pids=$(server_pids | sort -u)
		# shellcheck disable=SC2086 # one PID per word
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
		# shellcheck disable=SC2086
		[ -z "$pids" ] || wait_gone 50 $pids ||
			die "the OAuth server of '$DIR' survived"
		return 0
	fi
	set_dir "$1"
	pids=$(server_pids | sort -u)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086 # one PID per word
		kill -TERM $pids 2>/dev/null
		# shellcheck disable=SC2086
		if ! wait_gone 50 $pids; then
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null
			# shellcheck disable=SC2086
			wait_gone 50 $pids || die "the OAuth server in '$DIR' survived"
		fi
	fi
	rm -f "$DIR/pid"
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

cmd_fault() {
	local name=${2:-} arg=${3:-} extra=${4:-}
	set_dir "${1:-}"
	case $name in
	clear)
		[ $# -eq 2 ] || usage
		rm -f "$DIR/fault"
		return
		;;
	status)
		[[ $arg =~ ^[1-5][0-9][0-9]$ ]] || die "status needs an HTTP status code"
		[[ $extra =~ ^[a-z_]*$ ]] || die "bad error code '$extra'"
		[ $# -le 4 ] || usage
		;;
	slow)
		[[ $arg =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "slow needs a number of seconds"
		[ $# -eq 3 ] || usage
		;;
	truncated)
		case $arg in '' | close) ;; *) usage ;; esac
		[ $# -le 3 ] || usage
		;;
	id-token)
		case $arg in wrong-iss | wrong-aud | expired | malformed | none) ;; *) usage ;; esac
		[ $# -eq 3 ] || usage
		;;
	malformed | oversized | wrong-state | wrong-iss | no-iss | crlf-token | \
	hostile-text | hostile-user-code | hostile-verification | \
	hostile-metadata | token-username)
		[ $# -eq 2 ] || usage
		;;
	*)
		usage
		;;
	esac
	if ! printf '%s\n' "$name${arg:+ $arg}${extra:+ $extra}" >"$DIR/fault.new" ||
		! mv -f "$DIR/fault.new" "$DIR/fault"; then
		die "cannot write '$DIR/fault'"
	fi
}

cmd_count() {
	local grant=${2:-} path url
	set_dir "${1:-}"
	[ $# -le 2 ] || usage
	case $grant in
	device_code) grant=urn:ietf:params:oauth:grant-type:device_code ;;
	esac
	url=$(sed -n 's/^token_endpoint //p' "$DIR/endpoints" 2>/dev/null)
	[ -n "$url" ] || die "no token endpoint known in '$DIR'"
	path=/${url#*://*/}
	if [ ! -f "$DIR/oauth.log" ]; then
		echo 0
		return 0
	fi
	awk -v path="$path" -v grant="grant_type=$grant" '
		$1 == "POST" && $2 == path && (grant == "grant_type=" || $4 == grant) { n++ }
		END { print n + 0 }' "$DIR/oauth.log"
}

cmd_secret() {
	local secret
	set_dir "${1:-}" create
	if [ "${2:-}" = clear ] && [ $# -eq 2 ]; then
		rm -f "$DIR/client-secret"
		return
	fi
	[ $# -eq 1 ] || usage
	secret=
	IFS= read -r secret || [ -n "$secret" ] || die "no secret on stdin"
	secret=${secret%$'\r'}
	[[ $secret =~ ^[!-~]+$ ]] || die "a secret must be printable ASCII without blanks"
	(
		umask 077
		printf '%s\n' "$secret" >"$DIR/client-secret.new" &&
			chmod 600 "$DIR/client-secret.new" &&
			mv -f "$DIR/client-secret.new" "$DIR/client-secret"
	) || die "cannot write '$DIR/client-secret'"
	secret=
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
status) cmd_status "$@" ;;
fault) cmd_fault "$@" ;;
count) cmd_count "$@" ;;
secret) cmd_secret "$@" ;;
*) usage ;;
esac
