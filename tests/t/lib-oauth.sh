# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Variables of test-lib.sh and lib-forge.sh are used here; variables set
# here are used by the test scripts.
# shellcheck disable=SC2034,SC2154

# lib-oauth.sh - drive the tests' OAuth 2.0 authorization server
# (tests/forge/oauth-server.py, through tests/forge/oauth.sh).  Source it
# after test-lib.sh and lib-forge.sh:
#
#	. "$(dirname "$0")/test-lib.sh"
#	. "$TEST_DIRECTORY/lib-forge.sh"
#	. "$TEST_DIRECTORY/lib-oauth.sh"
#	forge_start
#	oauth_start			# or e.g. oauth_start --mode datacenter
#
# oauth_start runs the server in $TRASH_DIRECTORY/oauth and shares its
# access tokens with the forge in $FORGE_DIR (if one was started).  It
# sets and exports OAUTH_DIR, OAUTH_PORT and OAUTH_URL (the base URL: the
# issuer in standards mode, with the context path in datacenter mode).
# Calling it again restarts the server (new port, empty state; oauth.log
# is kept).  The other functions act on the server in $OAUTH_DIR, so a
# second one is driven with OAUTH_DIR=$dir oauth_fault ...
#
# BROWSER_STANDIN is the browser stand-in: BROWSER=$BROWSER_STANDIN makes a
# program that opens the browser approve (or deny) the consent page.
#
# BBS_TEST_AS picks the server: "py" (the default) is oauth-server.py;
# "oidc" is the strict server, oidc-provider (tests/forge/oidc.sh), whose
# forge checks tokens by introspection.  A script that runs the same tests
# against both sets BBS_TEST_AS=oidc and sources the other script.  With
# the strict server, oauth_start takes --access-ttl and --redirect-uri (and
# ignores what only oauth-server.py has: --mode standards); faults
# other than "slow", the other modes and oauth_secret on a running grant's
# client are oauth-server.py's: tests of them need the prerequisite
# PYSERVER.
# OAUTH_SCOPES is the scope that oauth_configure asks for by default
# (with the strict server also "openid", which its userinfo needs).

BROWSER_STANDIN=$SRCDIR/tests/forge/browser.py
BBS_TEST_AS=${BBS_TEST_AS:-py}
case $BBS_TEST_AS in
py)
	OAUTH=$SRCDIR/tests/forge/oauth.sh
	OAUTH_SCOPES=git:write
	test_set_prereq PYSERVER
	;;
oidc)
	OAUTH=$SRCDIR/tests/forge/oidc.sh
	OAUTH_SCOPES="git:write openid"
	test_set_prereq OIDC
	;;
*)
	bug_ "BBS_TEST_AS must be py or oidc"
	;;
esac
export OAUTH BROWSER_STANDIN BBS_TEST_AS

oauth_check_() {
	local why
	if [ "$BBS_TEST_AS" = oidc ]; then
		if ! why=$("$OAUTH" available 2>&1); then
			forge_skip_or_die_ "${why#*: }"
			return 1
		fi
		return 0
	fi
	if ! command -v "${OAUTH_PYTHON:-python3}" >/dev/null 2>&1; then
		forge_skip_or_die_ "python3 is not installed"
		return 1
	fi
}

# oauth_flags_ FLAGS...: the flags for the server in use, in oauth_flags_v_.
oauth_flags_() {
	oauth_flags_v_=()
	if [ "$BBS_TEST_AS" != oidc ]; then
		oauth_flags_v_=("$@")
		return 0
	fi
	while [ $# -gt 0 ]; do
		case $1 in
		--access-ttl)
			oauth_flags_v_+=("--access-ttl=$2")
			shift
			;;
		--redirect-uri)
			oauth_flags_v_+=("--redirect-uri=$2")
			shift
			;;
		--mode)
			[ "$2" = standards ] || bug_ "the strict server has no mode $2"
			shift
			;;
		--no-userinfo)
			oauth_flags_v_+=("--userinfo=off")
			;;
		*)
			bug_ "the strict server has no flag $1"
			;;
		esac
		shift
	done
}

# oauth_start_dir DIR [SERVER-FLAGS...]: start a server in DIR (stopping
# whatever ran there), stop it at exit; set oauth_port_.
oauth_start_dir() {
	local dir=$1
	shift
	oauth_check_ || return 1
	"$OAUTH" stop "$dir" 2>/dev/null
	test_atexit "\"\$OAUTH\" stop '$dir'"
	oauth_flags_ "$@"
	oauth_port_=$("$OAUTH" start "$dir" "${FORGE_DIR:-}" \
		${oauth_flags_v_[@]+"${oauth_flags_v_[@]}"})
}

# oauth_start [SERVER-FLAGS...]: the server of this script, in
# $TRASH_DIRECTORY/oauth.  Flags: --mode standards|bitbucket-cloud|datacenter,
# --context-path PATH, --access-ttl S, --refresh-ttl S, --code-ttl S,
# --client-id ID, --redirect-uri URI, --device-ttl S,
# --device-interval S, --default-scope S, --username U, --no-userinfo
# (both servers: no user-info endpoint) (see README.md).
oauth_start() {
	oauth_check_ || return 1
	OAUTH_DIR=$TRASH_DIRECTORY/oauth
	if ! oauth_start_dir "$OAUTH_DIR" "$@"; then
		[ -n "$test_running_" ] && return 1
		error "cannot start the OAuth server in $OAUTH_DIR"
	fi
	OAUTH_PORT=$oauth_port_
	OAUTH_URL=$(cat "$OAUTH_DIR/url")
	export OAUTH_DIR OAUTH_PORT OAUTH_URL
}

# oauth_stop: stop the server in $OAUTH_DIR (idempotent).
oauth_stop() {
	[ -n "${OAUTH_DIR:-}" ] || return 0
	"$OAUTH" stop "$OAUTH_DIR"
}

# oauth_fault NAME [ARG] | oauth_fault clear
#   status CODE [ERROR] | slow SECONDS | truncated [close] | malformed |
#   oversized | crlf-token | hostile-text (token endpoint);
#   hostile-user-code | hostile-verification (device authorization);
#   hostile-metadata (the metadata document);
#   wrong-state | wrong-iss | no-iss (the
#   redirect of the consent decision);
#   id-token wrong-iss|wrong-aud|expired|malformed|none | token-username
#   (what a token answer says of its account); odd-fields (a real
#   expires_in, a list for the scope).
oauth_fault() {
	case $BBS_TEST_AS:$1 in
	oidc:slow | oidc:clear) ;;
	oidc:*) bug_ "the strict server has no fault $1" ;;
	esac
	"$OAUTH" fault "$OAUTH_DIR" "$@"
}

# oauth_count [GRANT]: how many token-endpoint requests the server got
# (with grant_type=GRANT; "device_code" stands for the device grant URN).
oauth_count() {
	"$OAUTH" count "$OAUTH_DIR" "$@"
}

# oauth_log: print the path of the server's request log.
oauth_log() {
	printf '%s\n' "$OAUTH_DIR/oauth.log"
}

# oauth_secret SECRET: configure a client secret (kept out of argv of the
# server; goes through stdin).  oauth_secret clear: a public client again.
oauth_secret() {
	if [ "$1" = clear ]; then
		"$OAUTH" secret "$OAUTH_DIR" clear
	else
		printf '%s\n' "$1" | "$OAUTH" secret "$OAUTH_DIR"
	fi
}

# oauth_endpoint NAME: print an endpoint URL of the running server:
# issuer, authorization_endpoint, token_endpoint, revocation_endpoint,
# device_authorization_endpoint, userinfo_endpoint.
oauth_endpoint() {
	sed -n "s/^$1 //p" "$OAUTH_DIR/endpoints"
}

# refused_then_refreshed_once REPO: the server revokes the stored access
# token; a fetch in REPO fails and the erase marks the token expired, and
# the next fetch refreshes it exactly once.
refused_then_refreshed_once() {
	local at before
	at=$(stored access_token) &&
	printf "token=%s&token_type_hint=access_token&client_id=bbs-test-client" "$at" >revoke.body &&
	curl -sf --data-binary @revoke.body "$(oauth_endpoint revocation_endpoint)" &&
	before=$(oauth_count refresh_token) &&
	test_must_fail git -C "$1" fetch origin 2>err &&
	test "$(stored expires_at)" = 1 &&
	git -C "$1" fetch -q origin &&
	test $(($(oauth_count refresh_token) - before)) = 1 &&
	test "$(stored access_token)" != "$at"
}

# oauth_paste_login URL: `git bbs login --flow paste URL` on a terminal
# (script(1)) with no browser: take the authorization address it prints,
# approve it as the browser stand-in does, paste back the address the
# browser lands on, and wait for the program to end.  Its output is left
# in paste.out.  Needs the TTY prerequisite.
oauth_paste_login() {
	rm -f paste.in paste.out paste.pid location &&
	mkfifo paste.in &&
	(env -u BROWSER GIT_TERMINAL_PROMPT=1 script -qfec "git bbs login --flow paste $1" /dev/null <paste.in >paste.out 2>&1 &
	 echo $! >paste.pid) &&
	exec 9>paste.in &&
	wait_for_text paste.out "Paste that address" 100 &&
	url=$(grep -o "http://127.0.0.1:$OAUTH_PORT/[^ ]*authorize?[^ ]*" paste.out | tr -d "\r" | head -n 1) &&
	BBS_TEST_BROWSER_PRINT=$PWD/location "$BROWSER_STANDIN" "$url" &&
	cat location >&9 && echo >&9 &&
	exec 9>&- &&
	wait_for_exit paste.pid 100
}

# oauth_device_approve FILE: once FILE (a device sign-in's output) shows
# the verification address with its user code, approve it as the browser
# stand-in would, on "another device".
oauth_device_approve() {
	local url
	wait_for_text "$1" "user_code=" 100 &&
	url=$(grep -o "http://[^ ]*user_code=[^ ]*" "$1" | tr -d "\r" | head -n 1) &&
	"$BROWSER_STANDIN" "$url"
}

# cloud_configure: Bitbucket Cloud's settings for $FORGE_URL, with its
# endpoints at the running server (for bitbucket.org itself they are built
# in): provider, authorize, token and user-info URLs.  Git's Basic
# x-token-auth comes with the provider, as for bitbucket.org.
cloud_configure() {
	git config --global "bbs.$FORGE_URL.provider" bitbucket-cloud &&
	git config --global "bbs.$FORGE_URL.authorizeUrl" "$(oauth_endpoint authorization_endpoint)" &&
	git config --global "bbs.$FORGE_URL.tokenUrl" "$(oauth_endpoint token_endpoint)" &&
	git config --global "bbs.$FORGE_URL.userinfoUrl" "$(oauth_endpoint userinfo_endpoint)"
}
