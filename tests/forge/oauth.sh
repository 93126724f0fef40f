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
SERVER_WHAT="the OAuth server"
SERVER_ARG=oauth-server.py
SERVER_ARG_EXACT=
# shellcheck source=tests/forge/lib-server.sh
. "$OAUTH_SRC/lib-server.sh" || exit 1

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
        token-username | odd-fields
EOF
	exit 2
}

# ping_ok URL: the server answers (over https, with the certificate it
# was started with, in $TLS_CERT).
ping_ok() {
	local url=$1 code
	if command -v curl >/dev/null 2>&1; then
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			${TLS_CERT:+--cacert "$TLS_CERT"} \
			--noproxy '*' "$url/.oauth-ping" 2>/dev/null) || code=
		[ "$code" = 200 ]
	else
		(: <"/dev/tcp/127.0.0.1/${url##*:}") 2>/dev/null
	fi
}

# ready: the server wrote its port and URL and answers.
ready() {
	[ -s "$DIR/port" ] && [ -s "$DIR/url" ] && ping_ok "$(cat "$DIR/url")"
}

cmd_start() {
	local pid arg
	[ $# -ge 2 ] || usage
	command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
	server_prepare "$1" "$2"
	shift 2
	TLS_CERT=
	for arg; do
		case $arg in --tls-cert=*) TLS_CERT=${arg#*=} ;; esac
	done
	# Close inherited descriptors (a test harness's pipes): the daemon
	# must not keep them open.
	"$PYTHON" "$SERVER" "--dir=$DIR" ${FORGE:+"--forge-dir=$FORGE"} \
		--port 0 "$@" </dev/null >>"$DIR/server.log" 2>&1 \
		3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	pid=$!
	server_wait "$pid" 100 ready
}

cmd_stop() {
	[ $# -eq 1 ] || usage
	if [ -n "$1" ] && [ ! -d "$1" ]; then
		# The directory is gone (a removed trash directory): still find
		# and stop whatever server was started for it.
		DIR=$(realpath -m -- "$1") || die "bad directory '$1'"
		server_kill "$(server_pids | sort -u)"
		return 0
	fi
	set_dir "$1"
	server_stop "$(server_pids | sort -u)"
	rm -f "$DIR/pid"
	return 0
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
	hostile-metadata | token-username | odd-fields)
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
