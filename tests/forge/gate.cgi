#!/bin/bash
# SPDX-License-Identifier: MIT
#
# gate.cgi - the front door of the test forge (see README.md).
#
# Apache runs this CGI program for every request below the repositories.
# It applies injected faults and redirects, checks the token against
# FORGE/tokens (lines "TOKEN PERM [EXPIRES]") or, when FORGE/introspect.curl
# exists, by introspection at an authorization server, enforces read/write
# permission, logs one line to FORGE/logs/gate.log and then hands the
# request to "git http-backend", streaming its answer.
#
# The forge directory comes from FORGE_GATE_HOME (Apache SetEnv).
#
# Rule for whoever edits this file: the credentials of a request must
# never be printed, logged, exported or passed on as an argument.  Do not
# enable tracing (bash -x) here: it would write them to Apache's error log.

set -u
set +x

home=${FORGE_GATE_HOME:-}
if [ -z "$home" ] || [ ! -d "$home" ]; then
	printf 'Status: 500 Internal Server Error\r\n'
	printf 'Content-Type: text/plain\r\n\r\nforge misconfigured\n'
	exit 0
fi

raw_uri=${REQUEST_URI:-/}
method=${REQUEST_METHOD:-GET}
path=${PATH_INFO:-/}
query=${QUERY_STRING:-}

# What gets logged: one line per request, no white space inside fields.
log_uri=${raw_uri//[[:space:][:cntrl:]]/_}
log_method=${method//[^A-Za-z]/_}
scheme=none
user=-
tokstate=none
perm=
body=

gate_log() {
	printf '%s %s %s scheme=%s user=%s token=%s\n' \
		"$log_method" "$log_uri" "$1" "$scheme" "$user" "$tokstate" \
		>>"$home/logs/gate.log" 2>/dev/null
}

# reply CODE [HEADER...]: answer the request ourselves and log it.
reply() {
	local code=$1 text h
	shift
	case $code in
	200) text=OK ;;
	301) text='Moved Permanently' ;;
	302) text=Found ;;
	307) text='Temporary Redirect' ;;
	400) text='Bad Request' ;;
	401) text=Unauthorized ;;
	403) text=Forbidden ;;
	404) text='Not Found' ;;
	429) text='Too Many Requests' ;;
	500) text='Internal Server Error' ;;
	502) text='Bad Gateway' ;;
	503) text='Service Unavailable' ;;
	*) text=Error ;;
	esac
	printf 'Status: %s %s\r\n' "$code" "$text"
	if [ "$code" = 401 ]; then
		printf 'WWW-Authenticate: Basic realm="Bitbucket.org HTTP"\r\n'
	fi
	for h in "$@"; do
		printf '%s\r\n' "$h"
	done
	printf 'Cache-Control: no-cache\r\n'
	printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
	printf '%s\n' "${body:-$text}"
	gate_log "$code"
}

# introspect: print read or write for an active token in $cred, nothing
# otherwise.  The token goes to curl on stdin, never in argv.
introspect() {
	local resp active scope
	# anything but a plain token is refused unasked
	[[ $cred =~ ^[A-Za-z0-9._~+/=-]{1,4096}$ ]] || return 0
	resp=$(printf 'token=%s&token_type_hint=access_token' \
		"$(printf '%s' "$cred" | sed 's/+/%2B/g; s|/|%2F|g; s/=/%3D/g')" |
		curl -sS --max-time 10 --noproxy '*' -K "$home/introspect.curl" \
			-H 'Accept: application/json' --data-binary @- 2>/dev/null) || return 0
	active=$(printf '%s' "$resp" | jq -r '.active == true' 2>/dev/null) || return 0
	[ "$active" = true ] || return 0
	scope=$(printf '%s' "$resp" | jq -r '.scope // "" | tostring' 2>/dev/null) || return 0
	shopt -s nocasematch
	if [[ $scope == *write* ]]; then
		echo write
	else
		echo read
	fi
	shopt -u nocasematch
}

# --- 1. credentials (parsed first so that every log line shows them) ----

cred=
auth=${HTTP_AUTHORIZATION:-}
unset HTTP_AUTHORIZATION
shopt -s nocasematch
case $auth in
'')
	;;
'bearer '*)
	scheme=bearer
	cred=${auth#* }
	;;
'basic '*)
	scheme=basic
	pair=$(printf '%s' "${auth#* }" | base64 -d 2>/dev/null)
	if [[ $pair == *:* ]]; then
		user=${pair%%:*}
		cred=${pair#*:}
	else
		user=
	fi
	pair=
	;;
*)
	scheme=other
	;;
esac
shopt -u nocasematch
auth=
# Trim surrounding blanks of the token.
cred=${cred#"${cred%%[! ]*}"}
cred=${cred%"${cred##*[! ]}"}

if [ "$scheme" != none ]; then
	tokstate=bad
fi
if { [ -n "$cred" ] || [ "$user" != - ]; } && [ -f "$home/tokens" ]; then
	now=${EPOCHSECONDS:-$(date +%s)}
	# Lines are "TOKEN PERM [EXPIRES]".  EXPIRES is a Unix time: from then
	# on the token is unknown.  A malformed EXPIRES counts as expired.
	while read -r t p e _; do
		if [ -n "$cred" ] && [ "$t" = "$cred" ]; then
			if [ -z "$e" ] ||
				{ [[ $e =~ ^[0-9]{1,18}$ ]] && [ "$now" -lt "$e" ]; }; then
				perm=$p
			fi
		fi
		# A token sent as the user name is never logged.
		if [ "$t" = "$user" ]; then
			user='(token)'
		fi
	done <"$home/tokens"
	t=
	e=
fi
# A token the file does not know: ask the authorization server named in
# FORGE/introspect.curl (a curl config with its URL and the gate's client
# credentials), by RFC 7662 introspection.  Nothing is cached.
if [ -z "$perm" ] && [ -n "$cred" ] && [ -s "$home/introspect.curl" ]; then
	perm=$(introspect)
fi
cred=
case $perm in
read | write) tokstate=ok ;;
*) perm= ;;
esac
if [ -z "$user" ]; then
	user="''"
fi
user=${user//[^A-Za-z0-9._@+()\'-]/?}
user=${user:0:64}

# --- 2. faults ------------------------------------------------------------

f_drop=
f_status=
f_slow=
if [ -s "$home/faults" ]; then
	while read -r name arg _; do
		case $name in
		drop-pack) f_drop=$arg ;;
		status) f_status=$arg ;;
		slow) f_slow=$arg ;;
		esac
	done <"$home/faults"
fi
if [ -n "$f_slow" ]; then
	sleep "$f_slow"
fi
if [ -n "$f_status" ]; then
	body="injected fault: status $f_status"
	reply "$f_status"
	exit 0
fi

# --- 3. redirects ---------------------------------------------------------

if [ -s "$home/redirects" ]; then
	upath=${raw_uri%%\?*}
	while read -r prefix target _; do
		if [ -n "$prefix" ] && [[ $upath == "$prefix"* ]]; then
			body="moved to $target"
			reply 302 "Location: $target${raw_uri#"$prefix"}"
			exit 0
		fi
	done <"$home/redirects"
fi

# --- 4. authentication and permission -------------------------------------

if [ "$tokstate" != ok ]; then
	body=Unauthorized
	reply 401
	exit 0
fi

push=
case $path in
*/git-receive-pack)
	push=1
	;;
*/info/refs)
	if [[ "&$query&" == *'&service=git-receive-pack&'* ]]; then
		push=1
	fi
	;;
esac
if [ -n "$push" ] && [ "$perm" != write ]; then
	body='Forbidden: this token has no write access to the repository'
	reply 403
	exit 0
fi

# --- 5. which repository? -------------------------------------------------

root=$home/repos
rel=${path#/}
repo=
acc=
IFS=/ read -r -a parts <<<"$rel"
for c in "${parts[@]}"; do
	case $c in
	'' | . | ..) break ;;
	esac
	acc=${acc:+$acc/}$c
	if [ -f "$root/$acc/HEAD" ] && [ -d "$root/$acc/objects" ]; then
		repo=$acc
		break
	fi
	# Like Bitbucket, accept the repository URL without ".git".
	if [ -f "$root/$acc.git/HEAD" ] && [ -d "$root/$acc.git/objects" ]; then
		repo=$acc.git
		break
	fi
done
if [ -z "$repo" ]; then
	body='Repository not found'
	reply 404
	exit 0
fi
export PATH_INFO="/$repo${rel#"$acc"}"

# --- 6. Git LFS ------------------------------------------------------------

case $path in
*/info/lfs/*)
	gate_log lfs
	export FORGE_LFS_PERM="$perm" FORGE_LFS_REPO="$repo"
	exec "${FORGE_PYTHON:-python3}" "$home/lib/lfs.cgi"
	;;
esac

# --- 7. git http-backend --------------------------------------------------

drop=
if [ -n "$f_drop" ] && [ "$method" = POST ]; then
	case $path in
	*/git-upload-pack) drop=$f_drop ;;
	esac
fi

# Relay http-backend's answer: parse the CGI header block to learn and log
# the status, then copy the body as a stream (or only its first bytes for
# the drop-pack fault).
relay() {
	local line lower status=200 ended='' pid tmp size
	local -a hdrs=()
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [ -z "$line" ]; then
			ended=1
			break
		fi
		lower=${line,,}
		case $lower in
		status:*)
			status=${line#*:}
			status=${status# }
			status=${status%% *}
			;;
		content-length:*)
			if [ -n "$drop" ]; then
				continue
			fi
			;;
		esac
		hdrs+=("$line")
	done
	if [ -z "$ended" ]; then
		body='git http-backend failed'
		reply 500
		exit 0
	fi
	gate_log "$status"
	if [ -z "$drop" ]; then
		if [ "${#hdrs[@]}" -gt 0 ]; then
			printf '%s\r\n' "${hdrs[@]}"
		fi
		printf '\r\n'
		exec cat
	fi
	# drop-pack: keep N+1 bytes aside.  A body of at most N bytes passes
	# whole.  Otherwise send its first N bytes, then kill the Apache child
	# serving this connection, so that the client sees the connection die in
	# the middle of the body (no final chunk).
	tmp=$(mktemp "${TMPDIR:-/tmp}/forge-drop.XXXXXX") || exit 0
	head -c "$((drop + 1))" >"$tmp"
	size=$(wc -c <"$tmp")
	if [ "${#hdrs[@]}" -gt 0 ]; then
		printf '%s\r\n' "${hdrs[@]}"
	fi
	printf '\r\n'
	if [ "$size" -le "$drop" ]; then
		cat "$tmp"
		rm -f "$tmp"
		exit 0
	fi
	head -c "$drop" "$tmp"
	rm -f "$tmp"
	sleep 0.3
	pid=$PPID
	# Only ever kill our own Apache child (prefork runs CGIs directly).
	if grep -qzxF -- "$home/conf/httpd.conf" "/proc/$pid/cmdline" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null
	fi
	exit 0
}

export GIT_PROJECT_ROOT="$root"
export GIT_HTTP_EXPORT_ALL=1
if [ "$scheme" = basic ]; then
	export REMOTE_USER="$user"
else
	export REMOTE_USER="$scheme"
fi
if [ -n "${HTTP_GIT_PROTOCOL:-}" ]; then
	export GIT_PROTOCOL="$HTTP_GIT_PROTOCOL"
fi
git http-backend | relay
