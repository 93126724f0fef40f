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
#   oidc.sh fault DIR slow SECONDS | fault DIR clear
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
SERVER_WHAT="the strict server"
SERVER_ARG=$SERVER
SERVER_ARG_EXACT=1
# shellcheck source=tests/forge/lib-server.sh
. "$SRC/lib-server.sh" || exit 1

usage() {
	cat >&2 <<EOT
usage: $PROG start DIR FORGEDIR [--access-ttl=S] [--redirect-uri=URI ...]
       $PROG stop DIR
       $PROG status DIR
       $PROG count DIR [GRANT]
       $PROG fault DIR slow SECONDS | clear   (token requests wait first)
       $PROG secret DIR [clear]     (the secret is read from stdin)
       $PROG available
EOT
	exit 2
}

cmd_available() {
	command -v "$NODE" >/dev/null 2>&1 || die "node is not installed"
	[ -f "$SRC/oidc/node_modules/oidc-provider/package.json" ] ||
		die "oidc-provider is not installed (cd tests/forge/oidc && npm ci)"
}

# ready: the server wrote its port (it does so once it listens).
ready() {
	[ -s "$DIR/port" ]
}

cmd_start() {
	local pid
	[ $# -ge 2 ] || usage
	cmd_available
	server_prepare "$1" "$2"
	shift 2
	"$NODE" --no-warnings "$SERVER" "--dir=$DIR" ${FORGE:+"--forge-dir=$FORGE"} "$@" \
		</dev/null >>"$DIR/server.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	pid=$!
	server_wait "$pid" 150 ready
}

cmd_stop() {
	[ $# -eq 1 ] || usage
	if [ -n "$1" ] && [ ! -d "$1" ]; then
		DIR=$(realpath -m -- "$1") || die "bad directory '$1'"
	else
		set_dir "$1"
	fi
	server_stop "$(server_pids | sort -u)"
	[ -d "$DIR" ] && rm -f "$DIR/pid"
	return 0
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
status) cmd_status "$@" ;;
count | secret) exec "$SRC/oauth.sh" "$cmd" "$@" ;;
fault)
	# The one fault oidc-provider can be given without changing it.
	case ${2:-} in slow | clear) ;; *) usage ;; esac
	exec "$SRC/oauth.sh" fault "$@"
	;;
available) cmd_available ;;
*) usage ;;
esac
