#!/bin/bash
# SPDX-License-Identifier: MIT
#
# forge.sh - a local git forge for the tests: "git http-backend" behind a
# private Apache 2.4 instance on 127.0.0.1, with a CGI gate that checks
# tokens (gate.cgi).  Everything lives in a directory DIR owned by the
# caller.  See README.md for the commands and the rules of the gate.
#
# Environment:
#   FORGE_APACHE             apache2 binary (default: apache2 in PATH, or
#                            /usr/sbin/apache2)
#   FORGE_APACHE_MODULES     module directory (/usr/lib/apache2/modules)
#   FORGE_KEEPALIVE_TIMEOUT  KeepAliveTimeout in seconds (2)
#   FORGE_RUN_USER           user Apache's children run as when started as
#                            root (www-data)

set -u
set +x

PROG=${0##*/}
FORGE_SRC=$(cd "$(dirname "$0")" && pwd -P) || exit 1
MODULES=${FORGE_APACHE_MODULES:-/usr/lib/apache2/modules}
KEEPALIVE=${FORGE_KEEPALIVE_TIMEOUT:-2}
RUN_USER=${FORGE_RUN_USER:-www-data}
APACHE=

die() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 1
}

usage() {
	cat >&2 <<EOF
usage: $PROG start DIR [--tls]
       $PROG stop DIR
       $PROG status DIR
       $PROG create-repo DIR PATH [--empty]
       $PROG fix-perms DIR
       $PROG grant DIR TOKEN|- read|write
       $PROG revoke DIR TOKEN|-
       $PROG redirect DIR URLPATH-PREFIX TARGET-BASE
       $PROG redirect DIR clear
       $PROG fault DIR drop-pack BYTES | status CODE | slow SECONDS
       $PROG fault DIR clear [NAME]
EOF
	exit 2
}

is_root() {
	[ "$(id -u)" = 0 ]
}

find_apache() {
	APACHE=${FORGE_APACHE:-}
	if [ -z "$APACHE" ]; then
		APACHE=$(command -v apache2 2>/dev/null) || APACHE=
	fi
	if [ -z "$APACHE" ] && [ -x /usr/sbin/apache2 ]; then
		APACHE=/usr/sbin/apache2
	fi
	[ -n "$APACHE" ] || return 1
	APACHE=$(readlink -f "$APACHE")
}

# set_dir DIR [create]: make DIR absolute (physical path) and set the paths
# derived from it.
set_dir() {
	[ -n "$1" ] || usage
	if [ "${2:-}" = create ]; then
		mkdir -p "$1" || die "cannot create '$1'"
	fi
	[ -d "$1" ] || die "no such forge directory: '$1'"
	DIR=$(cd "$1" && pwd -P) || die "cannot enter '$1'"
	case $DIR in
	*[\"\\$'\n']*) die "forge directory must not contain quotes, backslashes or newlines" ;;
	esac
	CONF=$DIR/conf/httpd.conf
	PIDFILE=$DIR/run/httpd.pid
}

# Print the PID of the running Apache parent of this forge, if any.
live_pid() {
	local pid
	[ -s "$PIDFILE" ] || return 1
	read -r pid <"$PIDFILE" || return 1
	case $pid in
	'' | *[!0-9]*) return 1 ;;
	esac
	[ -r "/proc/$pid/cmdline" ] || return 1
	# Guard against a recycled PID: the process must run our config.
	grep -qzxF -- "$CONF" "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

# Print the PIDs of every process belonging to this forge: Apache
# processes running our config and whatever the gate started (they carry
# FORGE_GATE_HOME=DIR in their environment).
forge_pids() {
	local files f pid
	# grep matches its own arguments: let it finish, then keep only the
	# processes that still exist (and not ourselves).
	files=$(
		grep -lzxF -- "$CONF" /proc/[0-9]*/cmdline 2>/dev/null
		grep -lzxF -- "FORGE_GATE_HOME=$DIR" /proc/[0-9]*/environ 2>/dev/null
	)
	for f in $files; do
		pid=${f#/proc/}
		pid=${pid%%/*}
		if [ "$pid" != $$ ] && [ -d "/proc/$pid" ] &&
			! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
			echo "$pid"
		fi
	done | sort -u
}

# wait_gone SECONDS PID...: wait until the processes are gone.
wait_gone() {
	local tries=$(($1 * 10)) pid alive
	shift
	while [ "$tries" -gt 0 ]; do
		alive=
		for pid in "$@"; do
			if [ -d "/proc/$pid" ] &&
				! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
				alive=1
			fi
		done
		[ -z "$alive" ] && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

free_port() {
	local port
	if command -v python3 >/dev/null 2>&1 &&
		port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' 2>/dev/null) && [ -n "$port" ]; then
		echo "$port"
		return 0
	fi
	# Fallback: probe random ports until nothing answers.
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# Make the forge usable by the user Apache's children run as.
fix_perms() {
	local f
	chmod 755 "$DIR" "$DIR/cgi-bin" "$DIR/htdocs" "$DIR/repos" "$DIR/logs" 2>/dev/null
	chmod 755 "$DIR/cgi-bin/gate" 2>/dev/null
	chmod 755 "$DIR/lib" 2>/dev/null
	chmod 644 "$DIR/lib/lfs.cgi" 2>/dev/null
	[ -e "$DIR/logs/lfs.log" ] || : >"$DIR/logs/lfs.log"
	chmod 644 "$DIR/logs/lfs.log"
	for f in tokens faults redirects; do
		[ -e "$DIR/$f" ] || : >"$DIR/$f"
		chmod 600 "$DIR/$f"
	done
	[ -e "$DIR/logs/gate.log" ] || : >"$DIR/logs/gate.log"
	chmod 644 "$DIR/logs/gate.log"
	chmod -R u+rwX,go+rX "$DIR/repos"
	if is_root; then
		chown -R "$RUN_USER:" "$DIR/repos" "$DIR/home" || return 1
		if [ -d "$DIR/lfs" ]; then
			chown -R "$RUN_USER:" "$DIR/lfs" || return 1
		fi
		chown "$RUN_USER:" "$DIR/tokens" "$DIR/faults" "$DIR/redirects" \
			"$DIR/logs/gate.log" "$DIR/logs/lfs.log" || return 1
	fi
}

# replace_file FILE: move FILE.new over FILE atomically, with the
# permissions the gate needs.
replace_file() {
	chmod 600 "$1.new" || return 1
	if is_root; then
		chown "$RUN_USER:" "$1.new" || return 1
	fi
	mv -f "$1.new" "$1"
}

make_cert() {
	local tls=$DIR/tls
	mkdir -p "$tls" || return 1
	if [ -s "$tls/cert.pem" ] && [ -s "$tls/key.pem" ]; then
		return 0
	fi
	command -v openssl >/dev/null 2>&1 || die "openssl not found"
	(umask 077 && openssl req -x509 -newkey ec \
		-pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj /CN=127.0.0.1 \
		-addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
		-keyout "$tls/key.pem" -out "$tls/cert.pem") \
		>"$tls/openssl.log" 2>&1 || {
		cat "$tls/openssl.log" >&2
		die "cannot create the TLS certificate"
	}
	chmod 644 "$tls/cert.pem"
}

write_conf() {
	local port=$1 tls=$2 mimetypes=/etc/mime.types
	[ -r "$mimetypes" ] || mimetypes=/dev/null
	{
		cat <<EOF
# Generated by forge.sh; rewritten on each start.
ServerRoot "$DIR"
ServerName 127.0.0.1
Listen 127.0.0.1:$port${tls:+ https}
PidFile "$PIDFILE"
DefaultRuntimeDir "$DIR/run"
ErrorLog "$DIR/logs/error.log"
LogLevel warn

LoadModule mpm_prefork_module "$MODULES/mod_mpm_prefork.so"
LoadModule authz_core_module "$MODULES/mod_authz_core.so"
LoadModule alias_module "$MODULES/mod_alias.so"
LoadModule cgi_module "$MODULES/mod_cgi.so"
LoadModule env_module "$MODULES/mod_env.so"
LoadModule setenvif_module "$MODULES/mod_setenvif.so"
LoadModule mime_module "$MODULES/mod_mime.so"
LoadModule headers_module "$MODULES/mod_headers.so"
EOF
		if [ -n "$tls" ]; then
			cat <<EOF
LoadModule ssl_module "$MODULES/mod_ssl.so"
SSLEngine on
SSLCertificateFile "$DIR/tls/cert.pem"
SSLCertificateKeyFile "$DIR/tls/key.pem"
EOF
		fi
		if is_root; then
			cat <<EOF
User $RUN_USER
Group $(id -gn "$RUN_USER")
EOF
		fi
		cat <<EOF

# Large pushes and clones must not be cut: no mod_reqtimeout, a long
# Timeout, no limit on request bodies.  A short keep-alive timeout proves
# that clients reconnect.
Timeout 600
KeepAlive On
KeepAliveTimeout $KEEPALIVE
MaxKeepAliveRequests 100
LimitRequestBody 0
StartServers 2
MinSpareServers 2
MaxSpareServers 10
MaxRequestWorkers 64
MaxConnectionsPerChild 0
HostnameLookups Off
TypesConfig "$mimetypes"

# The access log never records request headers (Authorization).
LogFormat "%h %l %u %t \"%r\" %>s %b %D" forge
CustomLog "$DIR/logs/access.log" forge

<Directory />
	AllowOverride None
	Options None
	Require all denied
</Directory>

# Readiness probe, answered without the gate.
Alias /.forge-ping "$DIR/htdocs/ping"
<Directory "$DIR/htdocs">
	Require all granted
</Directory>

# Everything else goes through the gate.
ScriptAlias / "$DIR/cgi-bin/gate/"
<Directory "$DIR/cgi-bin">
	Options +ExecCGI
	Require all granted
	CGIPassAuth On
</Directory>

SetEnv FORGE_GATE_HOME "$DIR"
SetEnv GIT_CONFIG_GLOBAL "$DIR/conf/gitconfig"
SetEnv GIT_CONFIG_NOSYSTEM 1
SetEnv HOME "$DIR/home"
EOF
	} >"$CONF.new" && mv -f "$CONF.new" "$CONF"
}

# wait_ready URL: poll the readiness probe (bounded, about 10 seconds).
wait_ready() {
	local url=$1 tries=100 code port
	port=${url##*:}
	while [ "$tries" -gt 0 ]; do
		if command -v curl >/dev/null 2>&1; then
			code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
				--noproxy '*' --cacert "$DIR/tls/cert.pem" \
				"$url/.forge-ping" 2>/dev/null) || code=
			[ "$code" = 200 ] && return 0
		elif (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

cmd_start() {
	local tls='' arg port url attempt out pid scheme=http
	set_dir "${1:-}" create
	shift
	for arg in "$@"; do
		case $arg in
		--tls) tls=1 ;;
		*) usage ;;
		esac
	done
	find_apache || die "apache2 not found (install apache2 or set FORGE_APACHE)"
	[ -f "$MODULES/mod_cgi.so" ] || die "no Apache modules in '$MODULES'"
	case $KEEPALIVE in
	'' | *[!0-9]*) die "FORGE_KEEPALIVE_TIMEOUT must be a number of seconds" ;;
	esac
	if pid=$(live_pid); then
		die "forge in '$DIR' is already running (pid $pid)"
	fi

	mkdir -p "$DIR/conf" "$DIR/cgi-bin" "$DIR/htdocs" "$DIR/repos" \
		"$DIR/logs" "$DIR/run" "$DIR/home" "$DIR/lib" "$DIR/lfs" ||
		die "cannot populate '$DIR'"
	if ! cp "$FORGE_SRC/gate.cgi" "$DIR/cgi-bin/gate.new" ||
		! mv -f "$DIR/cgi-bin/gate.new" "$DIR/cgi-bin/gate"; then
		die "cannot install the gate"
	fi
	cp "$FORGE_SRC/lfs.cgi" "$DIR/lib/lfs.cgi" || die "cannot install the LFS server"
	echo ok >"$DIR/htdocs/ping"
	chmod 644 "$DIR/htdocs/ping"
	printf '[safe]\n\tdirectory = *\n' >"$DIR/conf/gitconfig"
	chmod 644 "$DIR/conf/gitconfig"
	if [ -n "$tls" ]; then
		make_cert
		scheme=https
	fi
	fix_perms || die "cannot set permissions in '$DIR'"
	if is_root; then
		if command -v runuser >/dev/null 2>&1 &&
			! runuser -u "$RUN_USER" -- test -x "$DIR/cgi-bin/gate" -a \
				-w "$DIR/logs/gate.log" -a -r "$DIR/tokens" 2>/dev/null; then
			die "user '$RUN_USER' cannot reach '$DIR'; make its parent directories searchable (chmod o+x)"
		fi
	fi

	for attempt in 1 2 3 4 5; do
		port=$(free_port) || die "cannot find a free port"
		url=$scheme://127.0.0.1:$port
		write_conf "$port" "$tls" || die "cannot write '$CONF'"
		if ! out=$("$APACHE" -t -f "$CONF" 2>&1 </dev/null); then
			printf '%s\n' "$out" >&2
			die "bad Apache configuration '$CONF'"
		fi
		# Close any inherited descriptors (e.g. a test harness pipe) so
		# the daemon does not keep them open.
		if "$APACHE" -f "$CONF" -k start </dev/null >"$DIR/logs/start.log" 2>&1 \
			3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; then
			if wait_ready "$url"; then
				echo "$port" >"$DIR/port"
				echo "$url" >"$DIR/url"
				echo "$port"
				return 0
			fi
			cmd_stop_quiet
			die "Apache did not answer on $url; see $DIR/logs/error.log"
		fi
		if grep -qi 'address already in use' "$DIR/logs/start.log" "$DIR/logs/error.log" 2>/dev/null; then
			cmd_stop_quiet
			continue
		fi
		cat "$DIR/logs/start.log" >&2
		tail -n 20 "$DIR/logs/error.log" >&2 2>/dev/null
		cmd_stop_quiet
		die "Apache failed to start"
	done
	die "no free port found after $attempt attempts"
}

# Stop everything of the forge in DIR (already set).
cmd_stop_quiet() {
	local pid pids
	if pid=$(live_pid); then
		if [ -n "$APACHE" ] || find_apache; then
			"$APACHE" -f "$CONF" -k stop </dev/null >/dev/null 2>&1 ||
				kill -TERM "$pid" 2>/dev/null
		else
			kill -TERM "$pid" 2>/dev/null
		fi
		if ! wait_gone 10 "$pid"; then
			kill -KILL "$pid" 2>/dev/null
			wait_gone 5 "$pid"
		fi
	fi
	# Leftovers: orphaned children, CGI processes still running.
	pids=$(forge_pids)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086 # one PID per word
		kill -KILL $pids 2>/dev/null
		# shellcheck disable=SC2086
		wait_gone 5 $pids
	fi
	rm -f "$PIDFILE"
	if pids=$(forge_pids) && [ -n "$pids" ]; then
		return 1
	fi
	return 0
}

cmd_stop() {
	set_dir "${1:-}"
	[ $# -eq 1 ] || usage
	cmd_stop_quiet || die "processes of the forge in '$DIR' survived"
}

cmd_status() {
	local pid
	set_dir "${1:-}"
	if pid=$(live_pid); then
		echo "running pid=$pid url=$(cat "$DIR/url" 2>/dev/null)"
		return 0
	fi
	echo "stopped"
	return 1
}

check_repo_path() {
	case $1 in
	'' | /* | */ | *//* | . | .. | ./* | ../* | */./* | */../* | */. | */..)
		die "bad repository path '$1'"
		;;
	*[[:space:][:cntrl:]]*)
		die "bad repository path '$1'"
		;;
	esac
}

cmd_create_repo() {
	local rel empty='' repo blob tree commit
	set_dir "${1:-}"
	rel=${2:-}
	check_repo_path "$rel"
	case ${3:-} in
	'') ;;
	--empty) empty=1 ;;
	*) usage ;;
	esac
	[ $# -le 3 ] || usage
	repo=$DIR/repos/$rel
	[ -e "$repo" ] && die "'$rel' already exists"
	mkdir -p "$repo" || die "cannot create '$repo'"
	(
		export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$DIR/conf/gitconfig"
		unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY
		git init -q --bare -b main "$repo" &&
			git -C "$repo" config http.receivepack true || exit 1
		[ -n "$empty" ] && exit 0
		# Seed one commit on main, with a fixed identity and date.
		blob=$(printf '# %s\n\nA repository of the test forge.\n' "$rel" |
			git -C "$repo" hash-object -w --stdin) &&
			tree=$(printf '100644 blob %s\tREADME.md\n' "$blob" |
				git -C "$repo" mktree) &&
			commit=$(GIT_AUTHOR_NAME='Forge' GIT_AUTHOR_EMAIL='forge@example.com' \
				GIT_AUTHOR_DATE='1700000000 +0000' \
				GIT_COMMITTER_NAME='Forge' GIT_COMMITTER_EMAIL='forge@example.com' \
				GIT_COMMITTER_DATE='1700000000 +0000' \
				git -C "$repo" commit-tree -m 'Initial commit' "$tree") &&
			git -C "$repo" update-ref refs/heads/main "$commit"
	) || die "cannot create the repository '$rel'"
	fix_perms || die "cannot set permissions in '$DIR'"
}

cmd_fix_perms() {
	set_dir "${1:-}"
	[ $# -eq 1 ] || usage
	mkdir -p "$DIR/repos" "$DIR/logs" "$DIR/home" "$DIR/cgi-bin" "$DIR/htdocs"
	fix_perms || die "cannot set permissions in '$DIR'"
}

# read_token ARG: the token is ARG, or the first line of stdin if ARG is -.
read_token() {
	token=$1
	if [ "$token" = - ]; then
		token=
		IFS= read -r token || [ -n "$token" ] || die "no token on stdin"
		token=${token%$'\r'}
	fi
	[[ $token =~ ^[!-~]+$ ]] || die "a token must be printable ASCII without blanks"
}

# edit_tokens [PERM]: drop the line of $token, then add it with PERM.
edit_tokens() {
	local t p e
	(
		flock 9 || exit 1
		{
			if [ -f "$DIR/tokens" ]; then
				while read -r t p e _; do
					if [ -n "$t" ] && [ "$t" != "$token" ]; then
						printf '%s %s%s\n' "$t" "$p" "${e:+ $e}"
					fi
				done <"$DIR/tokens"
			fi
			if [ -n "${1:-}" ]; then
				printf '%s %s\n' "$token" "$1"
			fi
		} >"$DIR/tokens.new" && replace_file "$DIR/tokens"
	) 9>"$DIR/.lock" || die "cannot update '$DIR/tokens'"
}

cmd_grant() {
	local token
	set_dir "${1:-}"
	[ $# -eq 3 ] || usage
	case $3 in
	read | write) ;;
	*) die "permission must be 'read' or 'write'" ;;
	esac
	read_token "$2"
	edit_tokens "$3"
	token=
}

cmd_revoke() {
	local token
	set_dir "${1:-}"
	[ $# -eq 2 ] || usage
	read_token "$2"
	edit_tokens
	token=
}

# edit_list FILE KEY [VALUE]: in a file of "KEY VALUE" lines, drop KEY, then
# add KEY VALUE if VALUE is given.
edit_list() {
	local file=$1 key=$2 k v
	(
		flock 9 || exit 1
		{
			if [ -f "$file" ]; then
				while read -r k v; do
					if [ -n "$k" ] && [ "$k" != "$key" ]; then
						printf '%s %s\n' "$k" "$v"
					fi
				done <"$file"
			fi
			if [ $# -ge 3 ]; then
				printf '%s %s\n' "$key" "$3"
			fi
		} >"$file.new" && replace_file "$file"
	) 9>"$DIR/.lock" || die "cannot update '$file'"
}

cmd_redirect() {
	set_dir "${1:-}"
	if [ "${2:-}" = clear ] && [ $# -eq 2 ]; then
		: >"$DIR/redirects.new" && replace_file "$DIR/redirects"
		return
	fi
	[ $# -eq 3 ] || usage
	case $2 in
	/*) ;;
	*) die "the prefix must be a URL path starting with /" ;;
	esac
	[[ $2 =~ ^[!-~]+$ ]] || die "bad prefix '$2'"
	[[ $3 =~ ^https?://[!-~]+$ ]] || die "bad target '$3'"
	edit_list "$DIR/redirects" "$2" "$3"
}

cmd_fault() {
	set_dir "${1:-}"
	local name=${2:-} arg=${3:-}
	case $name in
	clear)
		if [ -n "$arg" ]; then
			edit_list "$DIR/faults" "$arg"
		else
			: >"$DIR/faults.new" && replace_file "$DIR/faults"
		fi
		return
		;;
	drop-pack)
		[[ $arg =~ ^[0-9]+$ ]] || die "drop-pack needs a number of bytes"
		;;
	status)
		[[ $arg =~ ^[1-5][0-9][0-9]$ ]] || die "status needs an HTTP status code"
		;;
	slow)
		[[ $arg =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "slow needs a number of seconds"
		;;
	*)
		usage
		;;
	esac
	[ $# -eq 3 ] || usage
	edit_list "$DIR/faults" "$name" "$arg"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
status) cmd_status "$@" ;;
create-repo) cmd_create_repo "$@" ;;
fix-perms) cmd_fix_perms "$@" ;;
grant) cmd_grant "$@" ;;
revoke) cmd_revoke "$@" ;;
redirect) cmd_redirect "$@" ;;
fault) cmd_fault "$@" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
