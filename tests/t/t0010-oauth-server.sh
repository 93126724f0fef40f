#!/bin/bash
# SPDX-License-Identifier: MIT
# Test bodies are single-quoted on purpose and call the functions below.
# shellcheck disable=SC2016,SC2034,SC2317,SC2119
# shellcheck source-path=SCRIPTDIR

test_description='the OAuth 2.0 test server and its tokens at the forge, with curl and python3 only'

. "$(dirname "$0")/test-lib.sh"
. "$TEST_DIRECTORY/lib-forge.sh"
. "$TEST_DIRECTORY/lib-oauth.sh"

if ! command -v curl >/dev/null 2>&1; then
	skip_all='curl is not installed'
	test_done
fi

forge_start
forge_create_repo team/repo.git
# The redirect URIs the tests below send, registered.
oauth_start --redirect-uri http://127.0.0.1/callback \
	--redirect-uri http://127.0.0.1/cb --redirect-uri "http://[::1]/cb" \
	--redirect-uri http://localhost/callback \
	--redirect-uri org.example.bbs:/callback \
	--redirect-uri com.example.app:/oauth
# The interpreter itself, not a wrapper script: the helpers run it often.
PYTHON=$(python3 -c 'import sys; print(sys.executable)') || error "no python3"
MAIN_OAUTH_DIR=$OAUTH_DIR

CLIENT=bbs-test-client
REDIRECT=http://127.0.0.1:9/callback
REDIRECT_ENC=http%3A%2F%2F127.0.0.1%3A9%2Fcallback
# RFC 7636, Appendix B.
VERIFIER=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
CHALLENGE=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
PKCE="&code_challenge=$CHALLENGE&code_challenge_method=S256"
SECRET=s3cr3t-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

# Every token, code and secret seen goes into this file: the logs must not
# contain any of them.
SEEN=$TRASH_DIRECTORY/seen
printf '%s\n' "$SECRET" "$VERIFIER" >"$SEEN"

# ---------------------------------------------------------------------------
# Helpers (values stay out of argv: bodies and headers go through files)

# json FILE KEY: the value of KEY in the JSON object in FILE ('' if absent).
json() {
	"$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = d.get(sys.argv[2], "")
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# json_ok FILE EXPR: the Python expression EXPR holds for the document d.
json_ok() {
	"$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
if not eval(sys.argv[2]):
    sys.exit("json_ok: %s does not hold for %s" % (sys.argv[2], sys.argv[1]))' "$1" "$2"
}

# s256 VERIFIER: the PKCE S256 challenge.
s256() {
	"$PYTHON" -c 'import base64, hashlib, sys
d = hashlib.sha256(sys.stdin.read().strip().encode("ascii")).digest()
print(base64.urlsafe_b64encode(d).rstrip(b"=").decode())' <<<"$1"
}

# qparam FILE NAME: a query parameter of the URL in FILE.
qparam() {
	"$PYTHON" -c 'import sys, urllib.parse as u
q = u.parse_qs(u.urlsplit(open(sys.argv[1]).read().strip()).query)
print(q.get(sys.argv[2], [""])[0])' "$1" "$2"
}

# post OUT URL [NAME=VALUE...] [-- CURL-ARGS...]: POST a form; the answer
# goes to OUT, its status to OUT.code, its headers to OUT.hdr.
post() {
	local out=$1 url=$2 sep=
	shift 2
	: >"$out.body"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		printf '%s%s' "$sep" "$1" >>"$out.body"
		sep='&'
		shift
	done
	[ "${1:-}" = -- ] && shift
	curl -s -o "$out" -D "$out.hdr" -w '%{http_code}\n' \
		--data-binary @"$out.body" "$@" "$url" >"$out.code"
}

# token OUT [NAME=VALUE...] [-- CURL-ARGS]: POST to the token endpoint.
token() {
	local out=$1
	shift
	post "$out" "$(oauth_endpoint token_endpoint)" "$@"
}

# expect_status OUT CODE
expect_status() {
	if [ "$(cat "$1.code")" != "$2" ]; then
		printf 'expected status %s, got %s:\n' "$2" "$(cat "$1.code")" >&2
		cat "$1" >&2
		return 1
	fi
}

# urlenc STRING: STRING percent-encoded for a query.
urlenc() {
	"$PYTHON" -c "import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=\"\"))" "$1"
}

# expect_error OUT CODE ERROR: an RFC 6749 error answer.
expect_error() {
	expect_status "$1" "$2" || return 1
	if [ "$(json "$1" error)" != "$3" ]; then
		printf 'expected error %s in:\n' "$3" >&2
		cat "$1" >&2
		return 1
	fi
}

# remember OUT: note the tokens of a token answer.
remember() {
	json "$1" access_token >>"$SEEN" &&
		json "$1" refresh_token >>"$SEEN"
}

# basic_header FILE SECRET: an Authorization header for client_secret_basic.
basic_header() {
	printf 'Authorization: Basic %s\n' \
		"$(printf '%s:%s' "$CLIENT" "$2" | base64 -w0)" >"$1"
}

# authorize NAME SCOPE [EXTRA-QUERY]: open the authorization URL with the
# browser stand-in; the redirect is written to NAME.loc.
authorize() {
	local url
	url="$(oauth_endpoint authorization_endpoint)?response_type=code&client_id=$CLIENT"
	url="$url&redirect_uri=$REDIRECT_ENC&state=state-$1&scope=${2// /%20}${3-$PKCE}"
	BBS_TEST_BROWSER_PRINT=$PWD/$1.loc "$BROWSER_STANDIN" "$url" &&
		qparam "$1.loc" code >>"$SEEN"
}

# sign_in NAME [SCOPE [EXTRA-QUERY [-- CURL-ARGS]]]: authorize, exchange the
# code; NAME holds the token answer; set AT and RT.
sign_in() {
	local name=$1 scope=${2:-repository:write} extra=${3-$PKCE} code
	shift 3 2>/dev/null || shift $#
	authorize "$name" "$scope" "$extra" &&
		code=$(qparam "$name.loc" code) &&
		if [ -n "$extra" ]; then
			token "$name" grant_type=authorization_code "client_id=$CLIENT" \
				"code=$code" "redirect_uri=$REDIRECT_ENC" \
				"code_verifier=$VERIFIER" "$@"
		else
			token "$name" grant_type=authorization_code "client_id=$CLIENT" \
				"code=$code" "redirect_uri=$REDIRECT_ENC" "$@"
		fi &&
		expect_status "$name" 200 &&
		remember "$name" &&
		AT=$(json "$name" access_token) &&
		RT=$(json "$name" refresh_token)
}

# refresh OUT RT [NAME=VALUE...] [-- CURL-ARGS]
refresh() {
	local out=$1 rt=$2
	shift 2
	token "$out" grant_type=refresh_token "client_id=$CLIENT" \
		"refresh_token=$rt" "$@"
}

# forge_code TOKEN: the status the forge answers a fetch with TOKEN.
forge_code() {
	printf 'Authorization: Bearer %s\n' "$1" >bearer.hdr &&
		curl -s -o /dev/null -w '%{http_code}\n' -H @bearer.hdr \
			"$FORGE_URL/team/repo.git/info/refs?service=git-upload-pack"
}

# user_code TOKEN: the status of the identity endpoint (answer in user.json).
user_code() {
	printf 'Authorization: Bearer %s\n' "$1" >bearer.hdr &&
		curl -s -o user.json -w '%{http_code}\n' -H @bearer.hdr \
			"$(oauth_endpoint userinfo_endpoint)"
}

# git_with TOKEN GIT-ARGS...: run git with the token in a header, passed in
# the environment rather than in argv.
git_with() {
	local t=$1
	shift
	GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader \
		GIT_CONFIG_VALUE_0="Authorization: Bearer $t" git "$@"
}

# tokens_line TOKEN: the line of TOKEN in the forge's tokens file.
tokens_line() {
	grep -F -e "$1 " "$FORGE_DIR/tokens"
}

# server_pids DIR: live OAuth server processes of DIR.
server_pids() {
	local files f pid
	files=$(grep -lzxF -- "--dir=$1" /proc/[0-9]*/cmdline 2>/dev/null)
	for f in $files; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[ -d "/proc/$pid" ] || continue
		grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && continue
		grep -qzF oauth-server.py "/proc/$pid/cmdline" 2>/dev/null || continue
		echo "$pid"
	done
}

# ---------------------------------------------------------------------------
# The server and the forge

test_expect_success 'the server is up and describes itself in its directory' '
	test -n "$OAUTH_PORT" &&
	test "$OAUTH_URL" = "http://127.0.0.1:$OAUTH_PORT" &&
	test "$(cat "$OAUTH_DIR/port")" = "$OAUTH_PORT" &&
	test "$(cat "$OAUTH_DIR/url")" = "$OAUTH_URL" &&
	test "$(server_pids "$OAUTH_DIR")" = "$(cat "$OAUTH_DIR/pid")" &&
	"$OAUTH" status "$OAUTH_DIR" &&
	test "$(oauth_endpoint token_endpoint)" = "$OAUTH_URL/token" &&
	test "$(oauth_endpoint issuer)" = "$OAUTH_URL" &&
	test -x "$BROWSER_STANDIN"
'

test_expect_success 'the forge honours EXPIRES in its tokens file' '
	live=$(new_token) && dead=$(new_token) && bad=$(new_token) &&
	forever=$(new_token) &&
	forge_grant "$forever" read &&
	now=$(date +%s) &&
	printf "%s read %s\n" "$live" $((now + 600)) "$dead" $((now - 1)) \
		"$bad" soon >>"$FORGE_DIR/tokens" &&
	test "$(forge_code "$forever")" = 200 &&
	test "$(forge_code "$live")" = 200 &&
	test "$(forge_code "$dead")" = 401 &&
	test "$(forge_code "$bad")" = 401 &&
	grep "401 scheme=bearer user=- token=bad$" "$(forge_gate_log)" &&
	printf "%s\n" "$live" "$dead" "$bad" "$forever" >>"$SEEN"
'

test_expect_success 'discovery: RFC 8414 metadata at both well-known places' '
	for wk in oauth-authorization-server openid-configuration; do
		curl -sf -o meta.json "$OAUTH_URL/.well-known/$wk" &&
		U=$OAUTH_URL "$PYTHON" -c "import json, os, sys
d = json.load(open(\"meta.json\"))
u = os.environ[\"U\"]
want = {
    \"issuer\": u,
    \"authorization_endpoint\": u + \"/authorize\",
    \"token_endpoint\": u + \"/token\",
    \"device_authorization_endpoint\": u + \"/device_authorization\",
    \"revocation_endpoint\": u + \"/revoke\",
    \"userinfo_endpoint\": u + \"/user\",
    \"code_challenge_methods_supported\": [\"S256\"],
    \"response_types_supported\": [\"code\"],
    \"authorization_response_iss_parameter_supported\": True,
}
bad = [k for k in want if d.get(k) != want[k]]
if set(d[\"token_endpoint_auth_methods_supported\"]) != {\"none\", \"client_secret_basic\", \"client_secret_post\"}:
    bad.append(\"token_endpoint_auth_methods_supported\")
if not {\"authorization_code\", \"refresh_token\", \"client_credentials\", \"urn:ietf:params:oauth:grant-type:device_code\"} <= set(d[\"grant_types_supported\"]):
    bad.append(\"grant_types_supported\")
sys.exit(\"wrong: %s\" % bad if bad else 0)" || return 1
	done
'

test_expect_success 'authorize: the browser stand-in approves and captures the redirect' '
	BBS_TEST_BROWSER_LOG=$PWD/browser.log authorize first repository:write &&
	case $(cat first.loc) in "$REDIRECT?code=code_"*) ;; *) false ;; esac &&
	test "$(qparam first.loc state)" = state-first &&
	test "$(qparam first.loc iss)" = "$OAUTH_URL" &&
	echo "opened $OAUTH_URL/authorize" >expect &&
	test_cmp expect browser.log
'

test_expect_success 'the PKCE pair of RFC 7636 Appendix B is right' '
	test "$(s256 "$VERIFIER")" = "$CHALLENGE"
'

test_expect_success 'code exchange: a wrong, short or missing verifier is refused' '
	code=$(qparam first.loc code) &&
	token bad1 grant_type=authorization_code "client_id=$CLIENT" "code=$code" \
		"redirect_uri=$REDIRECT_ENC" "code_verifier=${VERIFIER%?}A" &&
	expect_error bad1 400 invalid_grant &&
	token bad2 grant_type=authorization_code "client_id=$CLIENT" "code=$code" \
		"redirect_uri=$REDIRECT_ENC" code_verifier=tooshort &&
	expect_error bad2 400 invalid_grant &&
	token bad3 grant_type=authorization_code "client_id=$CLIENT" "code=$code" \
		"redirect_uri=$REDIRECT_ENC" &&
	expect_error bad3 400 invalid_grant &&
	token bad4 grant_type=authorization_code "client_id=$CLIENT" "code=$code" \
		"redirect_uri=http%3A%2F%2F127.0.0.1%3A10%2Fcallback" "code_verifier=$VERIFIER" &&
	expect_error bad4 400 invalid_grant
'

test_expect_success 'code exchange: the right verifier gets tokens, shared with the forge' '
	code=$(qparam first.loc code) &&
	token first.json grant_type=authorization_code "client_id=$CLIENT" \
		"code=$code" "redirect_uri=$REDIRECT_ENC" "code_verifier=$VERIFIER" &&
	expect_status first.json 200 &&
	remember first.json &&
	json_ok first.json "d[\"token_type\"] == \"bearer\" and d[\"expires_in\"] == 3600" &&
	json_ok first.json "d[\"scope\"] == \"repository:write\"" &&
	json_ok first.json "d[\"access_token\"].startswith(\"at_\") and d[\"refresh_token\"].startswith(\"rt_\")" &&
	grep -i "^Cache-Control: no-store" first.json.hdr &&
	grep -i "^Content-Type: application/json" first.json.hdr &&
	AT=$(json first.json access_token) &&
	now=$(date +%s) &&
	read -r t perm exp <<<"$(tokens_line "$AT")" &&
	test "$perm" = write &&
	test "$exp" -ge $((now + 3590)) && test "$exp" -le $((now + 3601)) &&
	test "$(forge_code "$AT")" = 200
'

test_expect_success 'the tokens file keeps the forge owner and mode' '
	if [ "$(id -u)" = 0 ]; then
		test "$(stat -c "%U %a" "$FORGE_DIR/tokens")" = "www-data 600"
	else
		test "$(stat -c "%a" "$FORGE_DIR/tokens")" = 600
	fi &&
	! ls "$FORGE_DIR"/.tokens-oauth-* 2>/dev/null
'

test_expect_success 'a code is single-use: the second exchange revokes its tokens' '
	code=$(qparam first.loc code) &&
	token again grant_type=authorization_code "client_id=$CLIENT" \
		"code=$code" "redirect_uri=$REDIRECT_ENC" "code_verifier=$VERIFIER" &&
	expect_error again 400 invalid_grant &&
	test "$(forge_code "$AT")" = 401 &&
	! tokens_line "$AT" &&
	refresh gone "$(json first.json refresh_token)" &&
	expect_error gone 400 invalid_grant
'

test_expect_success 'code exchange: redirect_uri repeated and identical, or refused' '
	authorize rep repository:write &&
	code=$(qparam rep.loc code) &&
	token rep0 grant_type=authorization_code "client_id=$CLIENT" \
		"code=$code" "code_verifier=$VERIFIER" &&
	expect_error rep0 400 invalid_grant &&
	for other in http://127.0.0.1/callback http://127.0.0.1:9/callback/ \
		http://127.0.0.1:9/cb; do
		token rep1 grant_type=authorization_code "client_id=$CLIENT" \
			"code=$code" "redirect_uri=$(urlenc "$other")" \
			"code_verifier=$VERIFIER" &&
		expect_error rep1 400 invalid_grant || return 1
	done &&
	token rep2 grant_type=authorization_code "client_id=$CLIENT" \
		"code=$code" "redirect_uri=$REDIRECT_ENC" "code_verifier=$VERIFIER" &&
	expect_status rep2 200 &&
	remember rep2
'

test_expect_success 'the issued token clones and pushes through the forge' '
	sign_in main &&
	git_with "$AT" ls-remote "$FORGE_URL/team/repo.git" >refs &&
	grep refs/heads/main refs &&
	git_with "$AT" clone -q "$FORGE_URL/team/repo.git" work &&
	echo change >>work/README.md &&
	git -C work commit -q -am change &&
	git_with "$AT" -C work push -q origin main &&
	git -C work rev-parse main >expect &&
	git -C "$(forge_repo_dir team/repo.git)" rev-parse main >actual &&
	test_cmp expect actual
'

test_expect_success 'the identity endpoint answers for a live token only' '
	test "$(user_code "$AT")" = 200 &&
	json_ok user.json "d[\"username\"] == \"alice\" and d[\"display_name\"] == \"Alice\"" &&
	json_ok user.json "d[\"uuid\"].startswith(\"{\") and d[\"uuid\"].endswith(\"}\")" &&
	test "$(user_code at_nonsense)" = 401 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "$OAUTH_URL/user")" = 401
'

test_expect_success 'a read-only grant clones but cannot push' '
	sign_in ro repository &&
	json_ok ro "d[\"scope\"] == \"repository\"" &&
	read -r t perm exp <<<"$(tokens_line "$AT")" &&
	test "$perm" = read &&
	git_with "$AT" ls-remote "$FORGE_URL/team/repo.git" &&
	test_must_fail git_with "$AT" -C work push origin main:other 2>err &&
	grep 403 err
'

test_expect_success 'refresh rotates the refresh token' '
	sign_in rot &&
	AT1=$AT RT1=$RT &&
	refresh rot2 "$RT1" &&
	expect_status rot2 200 && remember rot2 &&
	AT2=$(json rot2 access_token) && RT2=$(json rot2 refresh_token) &&
	test "$AT2" != "$AT1" && test "$RT2" != "$RT1" &&
	json_ok rot2 "d[\"scope\"] == \"repository:write\"" &&
	test "$(forge_code "$AT1")" = 200 &&
	test "$(forge_code "$AT2")" = 200 &&
	refresh rot3 "$RT2" &&
	expect_status rot3 200 && remember rot3 &&
	AT3=$(json rot3 access_token) && RT3=$(json rot3 refresh_token) &&
	test "$(forge_code "$AT3")" = 200
'

test_expect_success 'reusing a rotated refresh token revokes the whole grant' '
	refresh reuse "$RT1" &&
	expect_error reuse 400 invalid_grant &&
	test "$(forge_code "$AT1")" = 401 &&
	test "$(forge_code "$AT2")" = 401 &&
	test "$(forge_code "$AT3")" = 401 &&
	test "$(user_code "$AT3")" = 401 &&
	! tokens_line "$AT1" && ! tokens_line "$AT2" && ! tokens_line "$AT3" &&
	refresh dead "$RT3" &&
	expect_error dead 400 invalid_grant &&
	refresh unknown rt_unknown &&
	expect_error unknown 400 invalid_grant
'

test_expect_success 'refresh may narrow the scope, never widen it' '
	sign_in narrow "repository repository:write" &&
	refresh narrow2 "$RT" scope=repository &&
	expect_status narrow2 200 && remember narrow2 &&
	json_ok narrow2 "d[\"scope\"] == \"repository\"" &&
	read -r t perm exp <<<"$(tokens_line "$(json narrow2 access_token)")" &&
	test "$perm" = read &&
	refresh wide "$(json narrow2 refresh_token)" scope=repository:admin &&
	expect_error wide 400 invalid_scope
'

test_expect_success 'revocation (RFC 7009): access token, refresh token, unknown token' '
	sign_in rev &&
	post r1 "$(oauth_endpoint revocation_endpoint)" "client_id=$CLIENT" \
		"token=$AT" token_type_hint=access_token &&
	expect_status r1 200 &&
	test "$(forge_code "$AT")" = 401 &&
	test "$(user_code "$AT")" = 401 &&
	refresh rev2 "$RT" &&
	expect_status rev2 200 && remember rev2 &&
	AT2=$(json rev2 access_token) &&
	test "$(forge_code "$AT2")" = 200 &&
	post r2 "$(oauth_endpoint revocation_endpoint)" "client_id=$CLIENT" \
		"token=$(json rev2 refresh_token)" &&
	expect_status r2 200 &&
	test "$(forge_code "$AT2")" = 401 &&
	! tokens_line "$AT2" &&
	post r3 "$(oauth_endpoint revocation_endpoint)" "client_id=$CLIENT" \
		token=at_never_issued &&
	expect_status r3 200 &&
	post r4 "$(oauth_endpoint revocation_endpoint)" "client_id=$CLIENT" &&
	expect_error r4 400 invalid_request
'

# authz_status QUERY: the status of an authorization request (no redirect
# followed); its Location goes to authz.loc.
authz_status() {
	curl -s -o authz.body -w "%{http_code}\n%{redirect_url}\n" \
		"$OAUTH_URL/authorize?$1" >authz.out &&
		sed -n 1p authz.out &&
		sed -e 1d -e "/^\$/d" authz.out >authz.loc
}

test_expect_success 'authorize: a bad client or redirect_uri gets an error page, no redirect' '
	test "$(authz_status "response_type=code&client_id=nobody&redirect_uri=$REDIRECT_ENC$PKCE")" = 400 &&
	test_must_be_empty authz.loc && grep -i "<html" authz.body &&
	test "$(authz_status "response_type=code&redirect_uri=$REDIRECT_ENC$PKCE")" = 400 &&
	test "$(authz_status "response_type=code&client_id=$CLIENT$PKCE")" = 400 &&
	for bad in https://evil.example/cb http://example.com/cb \
		https://127.0.0.1/cb http://127.0.0.1.evil.example/cb \
		"javascript:alert(1)" http://user@127.0.0.1:5/cb "http://127.0.0.1:5/cb#frag"; do
		enc=$(urlenc "$bad") &&
		test "$(authz_status "response_type=code&client_id=$CLIENT&redirect_uri=$enc$PKCE")" = 400 &&
		test_must_be_empty authz.loc || return 1
	done
'

test_expect_success 'authorize: registered loopback, localhost, [::1] and private-use redirect URIs' '
	for good in http://127.0.0.1:4711/cb http://127.0.0.1/cb "http://[::1]:4711/cb" \
		http://localhost:4711/callback org.example.bbs:/callback com.example.app:/oauth; do
		enc=$(urlenc "$good") &&
		test "$(authz_status "response_type=code&client_id=$CLIENT&redirect_uri=$enc$PKCE")" = 200 ||
		return 1
	done
'

test_expect_success 'authorize: the loopback port is ignored, everything else compared exactly' '
	for good in http://127.0.0.1/callback http://127.0.0.1:9/callback \
		http://127.0.0.1:65535/callback "http://[::1]:1/cb"; do
		enc=$(urlenc "$good") &&
		test "$(authz_status "response_type=code&client_id=$CLIENT&redirect_uri=$enc$PKCE")" = 200 ||
		return 1
	done &&
	for bad in http://127.0.0.1:9/callback/ http://127.0.0.1:9/Callback \
		http://127.0.0.1:9/callbackx http://127.0.0.1:9/callback?x=1 \
		http://127.0.0.1:9/ http://127.0.0.1:9 http://127.0.0.1:9/callback/../callback \
		"http://[::1]:9/callback" "http://[::1]x:9/cb" http://localhost:9/cb \
		http://127.0.0.2:9/callback http://127.0.0.1:/callback \
		https://127.0.0.1/callback org.example.bbs:/callback/x org.example.bbs:/ \
		org.example.other:/callback com.example.app:/oauth2; do
		enc=$(urlenc "$bad") &&
		test "$(authz_status "response_type=code&client_id=$CLIENT&redirect_uri=$enc$PKCE")" = 400 &&
		test_must_be_empty authz.loc &&
		grep "invalid_redirect_uri" "$OAUTH_DIR/oauth.log" >/dev/null || return 1
	done
'

test_expect_success 'authorize: without redirect_uri when several are registered: refused' '
	test "$(authz_status "response_type=code&client_id=$CLIENT$PKCE")" = 400 &&
	test_must_be_empty authz.loc
'

test_expect_success 'authorize: other errors are redirected with state and iss' '
	q="client_id=$CLIENT&redirect_uri=$REDIRECT_ENC&state=s1" &&
	test "$(authz_status "response_type=code&$q&code_challenge=$CHALLENGE&code_challenge_method=plain")" = 302 &&
	test "$(qparam authz.loc error)" = invalid_request &&
	test "$(qparam authz.loc state)" = s1 &&
	test "$(qparam authz.loc iss)" = "$OAUTH_URL" &&
	test "$(authz_status "response_type=code&$q")" = 302 &&
	test "$(qparam authz.loc error)" = invalid_request &&
	test "$(authz_status "response_type=token&$q$PKCE")" = 302 &&
	test "$(qparam authz.loc error)" = unsupported_response_type &&
	test "$(authz_status "response_type=code&$q&code_challenge=short&code_challenge_method=S256")" = 302 &&
	test "$(qparam authz.loc error)" = invalid_request
'

test_expect_success 'authorize: the user denies' '
	BBS_TEST_BROWSER_DECISION=deny authorize denied repository &&
	test "$(qparam denied.loc error)" = access_denied &&
	test "$(qparam denied.loc state)" = state-denied &&
	test "$(qparam denied.loc iss)" = "$OAUTH_URL" &&
	test -z "$(qparam denied.loc code)"
'

test_expect_success 'the browser delivers a loopback redirect to a listener' '
	cat >listener.py <<-\EOF &&
	import http.server, sys
	class H(http.server.BaseHTTPRequestHandler):
	    def do_GET(self):
	        open("listener.got", "w").write(self.path + "\n")
	        body = b"<html><body><p>Signed in, you may close this page.</p></body></html>"
	        self.send_response(200)
	        self.send_header("Content-Length", str(len(body)))
	        self.end_headers()
	        self.wfile.write(body)
	    def log_message(self, *a):
	        pass
	s = http.server.HTTPServer(("127.0.0.1", 0), H)
	s.timeout = 20
	open("listener.port.new", "w").write("%d\n" % s.server_address[1])
	__import__("os").rename("listener.port.new", "listener.port")
	s.handle_request()
	EOF
	{ "$PYTHON" listener.py </dev/null >/dev/null 2>&1 3>&- 4>&- 7>&- 8>&- & } &&
	lpid=$! &&
	for i in $(seq 50); do test -s listener.port && break; sleep 0.1; done &&
	port=$(cat listener.port) &&
	url="$OAUTH_URL/authorize?response_type=code&client_id=$CLIENT&state=lb" &&
	url="$url&redirect_uri=http%3A%2F%2F127.0.0.1%3A$port%2Fcb$PKCE" &&
	"$BROWSER_STANDIN" "$url" 2>browser.err &&
	wait "$lpid" &&
	grep "Signed in" browser.err &&
	grep -q "^/cb?code=code_.*&state=lb&iss=" listener.got &&
	test_grep ! code_ browser.err &&
	sed -e "s/.*code=\(code_[^&]*\).*/\1/" listener.got >>"$SEEN"
'

test_expect_success 'the browser hands a private-use redirect to git bbs callback' '
	mkdir -p fakebin &&
	cat >fakebin/git <<-EOF &&
	#!/bin/sh
	printf "%s\n" "\$@" >"$PWD/callback.args"
	EOF
	chmod +x fakebin/git &&
	url="$OAUTH_URL/authorize?response_type=code&client_id=$CLIENT&state=pu" &&
	url="$url&redirect_uri=org.example.bbs%3A%2Fcallback$PKCE" &&
	PATH=$PWD/fakebin:$PATH "$BROWSER_STANDIN" "$url" 2>browser.err &&
	sed -n 1,2p callback.args >head &&
	printf "bbs\ncallback\n" >expect &&
	test_cmp expect head &&
	sed -n 3p callback.args >loc &&
	case $(cat loc) in "org.example.bbs:/callback?code=code_"*"&state=pu&iss="*) ;; *) false ;; esac &&
	qparam loc code >>"$SEEN"
'

test_expect_success 'the browser refuses hosts other than loopback' '
	test_must_fail "$BROWSER_STANDIN" "http://example.com/authorize" 2>err &&
	grep "refusing" err
'

test_expect_success 'the token endpoint wants a form POST' '
	token json-body grant_type=client_credentials -- -H "Content-Type: application/json" &&
	expect_error json-body 400 invalid_request &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "$OAUTH_URL/token")" = 405 &&
	token nogrant "client_id=$CLIENT" && expect_error nogrant 400 invalid_request &&
	token weird grant_type=password "client_id=$CLIENT" &&
	expect_error weird 400 unsupported_grant_type &&
	token dup grant_type=refresh_token grant_type=refresh_token "client_id=$CLIENT" &&
	expect_error dup 400 invalid_request &&
	token noclient grant_type=refresh_token refresh_token=rt_x &&
	expect_error noclient 401 invalid_client &&
	grep -i "^WWW-Authenticate: Basic" noclient.hdr &&
	token other grant_type=refresh_token client_id=someone refresh_token=rt_x &&
	expect_error other 401 invalid_client
'

test_expect_success 'client_credentials and a client secret (basic and post)' '
	token cc grant_type=client_credentials "client_id=$CLIENT" &&
	expect_error cc 400 unauthorized_client &&
	oauth_secret "$SECRET" &&
	test "$(stat -c %a "$OAUTH_DIR/client-secret")" = 600 &&
	basic_header basic.hdr "$SECRET" &&
	token cc1 grant_type=client_credentials -- -H @basic.hdr &&
	expect_status cc1 200 && remember cc1 &&
	json_ok cc1 "\"refresh_token\" not in d and d[\"scope\"] == \"repository:write\"" &&
	test "$(forge_code "$(json cc1 access_token)")" = 200 &&
	token cc2 grant_type=client_credentials "client_id=$CLIENT" \
		"client_secret=$SECRET" scope=repository &&
	expect_status cc2 200 && remember cc2 &&
	json_ok cc2 "d[\"scope\"] == \"repository\"" &&
	basic_header wrong.hdr "not-$SECRET" &&
	token cc3 grant_type=client_credentials -- -H @wrong.hdr &&
	expect_error cc3 401 invalid_client &&
	token cc4 grant_type=client_credentials "client_secret=$SECRET" -- -H @basic.hdr &&
	expect_error cc4 400 invalid_request &&
	sign_in conf repository:write "$PKCE" -- -H @basic.hdr &&
	authorize pub repository:write &&
	token pub grant_type=authorization_code "client_id=$CLIENT" \
		"code=$(qparam pub.loc code)" "redirect_uri=$REDIRECT_ENC" \
		"code_verifier=$VERIFIER" &&
	expect_error pub 401 invalid_client &&
	oauth_secret clear &&
	token cc5 grant_type=client_credentials "client_id=$CLIENT" &&
	expect_error cc5 400 unauthorized_client
'

# device OUT: start a device authorization.
device() {
	post "$1" "$(oauth_endpoint device_authorization_endpoint)" \
		"client_id=$CLIENT" scope=repository:write &&
		expect_status "$1" 200 &&
		json "$1" device_code >>"$SEEN" &&
		json "$1" user_code >>"$SEEN"
}

# poll OUT DEVICE-ANSWER
poll() {
	token "$1" grant_type=urn:ietf:params:oauth:grant-type:device_code \
		"client_id=$CLIENT" "device_code=$(json "$2" device_code)"
}

test_expect_success 'device flow: pending, slow_down, approve, deny' '
	device da &&
	json_ok da "d[\"verification_uri\"] == \"$OAUTH_URL/device\"" &&
	json_ok da "d[\"verification_uri_complete\"] == \"$OAUTH_URL/device?user_code=\" + d[\"user_code\"]" &&
	json_ok da "d[\"expires_in\"] == 300 and d[\"interval\"] == 1" &&
	json_ok da "__import__(\"re\").fullmatch(\"[A-Z]{4}-[A-Z]{4}\", d[\"user_code\"])" &&
	json_ok da "d[\"device_code\"].startswith(\"dc_\")" &&
	poll p1 da && poll p2 da &&
	expect_error p1 400 authorization_pending &&
	expect_error p2 400 slow_down &&
	json_ok p2 "\"interval is now 6 s\" in d[\"error_description\"]" &&
	device db &&
	"$BROWSER_STANDIN" "$(json db verification_uri_complete)" 2>browser.err &&
	grep "Device connected" browser.err &&
	poll p3 db && expect_status p3 200 && remember p3 &&
	json_ok p3 "d[\"refresh_token\"].startswith(\"rt_\")" &&
	test "$(forge_code "$(json p3 access_token)")" = 200 &&
	device dc &&
	BBS_TEST_BROWSER_DECISION=deny "$BROWSER_STANDIN" "$(json dc verification_uri_complete)" &&
	poll p4 dc && expect_error p4 400 access_denied &&
	device dd &&
	BBS_TEST_BROWSER_USER_CODE=$(json dd user_code) \
		"$BROWSER_STANDIN" "$(json dd verification_uri)" &&
	poll p5 dd && expect_status p5 200 && remember p5 &&
	token p6 grant_type=urn:ietf:params:oauth:grant-type:device_code \
		"client_id=$CLIENT" device_code=dc_unknown &&
	expect_error p6 400 invalid_grant
'

# ---------------------------------------------------------------------------
# Faults

test_expect_success 'fault: status (the code is not consumed)' '
	test_when_finished "oauth_fault clear" &&
	authorize ft repository:write &&
	oauth_fault status 503 &&
	token f1 grant_type=authorization_code "client_id=$CLIENT" \
		"code=$(qparam ft.loc code)" "redirect_uri=$REDIRECT_ENC" \
		"code_verifier=$VERIFIER" &&
	expect_error f1 503 temporarily_unavailable &&
	oauth_fault status 400 invalid_scope &&
	token f2 grant_type=client_credentials && expect_error f2 400 invalid_scope &&
	oauth_fault clear &&
	token f3 grant_type=authorization_code "client_id=$CLIENT" \
		"code=$(qparam ft.loc code)" "redirect_uri=$REDIRECT_ENC" \
		"code_verifier=$VERIFIER" &&
	expect_status f3 200 && remember f3
'

test_expect_success 'fault: slow' '
	test_when_finished "oauth_fault clear" &&
	oauth_fault slow 1 &&
	start=$(date +%s%N) &&
	token s1 grant_type=client_credentials "client_id=$CLIENT" &&
	end=$(date +%s%N) &&
	expect_error s1 400 unauthorized_client &&
	test $(( (end - start) / 1000000 )) -ge 1000
'

test_expect_success 'fault: slow drops a client that hangs up meanwhile, unprocessed' '
	test_when_finished "oauth_fault clear" &&
	sign_in hang &&
	rt=$(json hang refresh_token) &&
	before=$(oauth_count refresh_token) &&
	oauth_fault slow 2 &&
	test_expect_code 28 refresh h1 "$rt" -- --max-time 0.5 &&
	sleep 2.5 &&
	oauth_fault clear &&
	test "$(oauth_count refresh_token)" = "$before" &&
	refresh h2 "$rt" && expect_status h2 200
'

test_expect_success 'fault: truncated, malformed' '
	test_when_finished "oauth_fault clear" &&
	oauth_fault truncated &&
	token t1 grant_type=refresh_token "client_id=$CLIENT" refresh_token=rt_x &&
	expect_status t1 200 &&
	test -s t1 &&
	! "$PYTHON" -c "import json, sys; json.load(open(sys.argv[1]))" t1 &&
	oauth_fault truncated close &&
	test_expect_code 18 curl -s -o t2 --data-binary grant_type=refresh_token \
		"$OAUTH_URL/token" &&
	oauth_fault malformed &&
	token m1 grant_type=refresh_token "client_id=$CLIENT" refresh_token=rt_x &&
	expect_status m1 200 &&
	printf "<html>not json</html>" >expect && test_cmp expect m1 &&
	grep -i "^Content-Type: text/html" m1.hdr
'

test_expect_success 'fault: oversized (70 MiB, streamed)' '
	test_when_finished "oauth_fault clear" &&
	oauth_fault oversized &&
	curl -s -o /dev/null -w "%{http_code} %{size_download}\n" \
		--data-binary grant_type=refresh_token "$OAUTH_URL/token" >size &&
	echo "200 73400320" >expect &&
	test_cmp expect size &&
	test_expect_code 63 curl -s -o /dev/null --max-filesize 100000 \
		--data-binary grant_type=refresh_token "$OAUTH_URL/token" &&
	rss=$(awk "/^VmHWM/ { print \$2 }" "/proc/$(cat "$OAUTH_DIR/pid")/status") &&
	test "$rss" -lt 60000
'

test_expect_success 'fault: wrong-state, wrong-iss, no-iss' '
	test_when_finished "oauth_fault clear" &&
	oauth_fault wrong-state &&
	authorize ws repository &&
	test -n "$(qparam ws.loc state)" &&
	test "$(qparam ws.loc state)" != state-ws &&
	oauth_fault wrong-iss &&
	authorize wi repository &&
	test "$(qparam wi.loc state)" = state-wi &&
	test "$(qparam wi.loc iss)" = https://evil.example &&
	oauth_fault no-iss &&
	authorize ni repository &&
	test "$(qparam ni.loc state)" = state-ni &&
	test_grep ! "iss=" ni.loc &&
	oauth_fault clear &&
	test_path_is_missing "$OAUTH_DIR/fault"
'

# ---------------------------------------------------------------------------
# Expiry, other modes

test_expect_success 'access tokens and device codes expire' '
	oauth_start_dir "$TRASH_DIRECTORY/oauth-ttl" --access-ttl 3 --device-ttl 1 &&
	OAUTH_DIR=$TRASH_DIRECTORY/oauth-ttl &&
	test_when_finished "OAUTH_DIR=$MAIN_OAUTH_DIR" &&
	sign_in ttl &&
	json_ok ttl "d[\"expires_in\"] == 3" &&
	test "$(forge_code "$AT")" = 200 &&
	test "$(user_code "$AT")" = 200 &&
	device dev-ttl &&
	sleep 4 &&
	test "$(forge_code "$AT")" = 401 &&
	test "$(user_code "$AT")" = 401 &&
	poll ttl-p dev-ttl && expect_error ttl-p 400 expired_token &&
	refresh ttl2 "$RT" && expect_status ttl2 200 && remember ttl2 &&
	test "$(forge_code "$(json ttl2 access_token)")" = 200 &&
	"$OAUTH" stop "$OAUTH_DIR"
'

test_expect_success 'bitbucket-cloud mode: paths, a required secret, "scopes"' '
	oauth_start_dir "$TRASH_DIRECTORY/oauth-cloud" --mode bitbucket-cloud &&
	OAUTH_DIR=$TRASH_DIRECTORY/oauth-cloud &&
	test_when_finished "OAUTH_DIR=$MAIN_OAUTH_DIR" &&
	url=$(cat "$OAUTH_DIR/url") &&
	test "$(oauth_endpoint authorization_endpoint)" = "$url/site/oauth2/authorize" &&
	test "$(oauth_endpoint token_endpoint)" = "$url/site/oauth2/access_token" &&
	test -z "$(oauth_endpoint revocation_endpoint)" &&
	for p in /.well-known/oauth-authorization-server /.well-known/openid-configuration; do
		test "$(curl -s -o /dev/null -w "%{http_code}" "$url$p")" = 404 || return 1
	done &&
	for p in /device_authorization /revoke /site/oauth2/revoke; do
		test "$(curl -s -o /dev/null -w "%{http_code}" -d token=x "$url$p")" = 404 || return 1
	done &&
	printf "%s\n" "$SECRET" | "$OAUTH" secret "$OAUTH_DIR" &&
	basic_header basic.hdr "$SECRET" &&
	authorize cloud "repository repository:write" "" &&
	test_grep ! "iss=" cloud.loc &&
	code=$(qparam cloud.loc code) &&
	token cloud0 grant_type=authorization_code "client_id=$CLIENT" \
		"code=$code" "redirect_uri=$REDIRECT_ENC" &&
	expect_error cloud0 401 invalid_client &&
	token cloud1 grant_type=authorization_code "code=$code" \
		"redirect_uri=$REDIRECT_ENC" -- -H @basic.hdr &&
	expect_status cloud1 200 && remember cloud1 &&
	json_ok cloud1 "d[\"scopes\"] == \"repository repository:write\" and \"scope\" not in d" &&
	json_ok cloud1 "d[\"token_type\"] == \"bearer\"" &&
	test "$(forge_code "$(json cloud1 access_token)")" = 200 &&
	token cloud2 grant_type=refresh_token \
		"refresh_token=$(json cloud1 refresh_token)" -- -H @basic.hdr &&
	expect_status cloud2 200 && remember cloud2 &&
	token cloud3 grant_type=refresh_token \
		"refresh_token=$(json cloud1 refresh_token)" -- -H @basic.hdr &&
	expect_error cloud3 400 invalid_request &&
	test "$(json cloud3 error_description)" = "Invalid refresh_token" &&
	test "$(forge_code "$(json cloud2 access_token)")" = 401 &&
	token cloud4 grant_type=refresh_token refresh_token=rt_unknown -- -H @basic.hdr &&
	expect_error cloud4 400 invalid_request &&
	"$OAUTH" stop "$OAUTH_DIR"
'

test_expect_success 'datacenter mode: context path, redirect_uri on refresh' '
	oauth_start_dir "$TRASH_DIRECTORY/oauth-dc" --mode datacenter --context-path /bitbucket &&
	OAUTH_DIR=$TRASH_DIRECTORY/oauth-dc &&
	test_when_finished "OAUTH_DIR=$MAIN_OAUTH_DIR" &&
	url=$(cat "$OAUTH_DIR/url") &&
	case $url in http://127.0.0.1:*/bitbucket) ;; *) false ;; esac &&
	test "$(oauth_endpoint authorization_endpoint)" = "$url/rest/oauth2/latest/authorize" &&
	test "$(oauth_endpoint token_endpoint)" = "$url/rest/oauth2/latest/token" &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "$url/.well-known/oauth-authorization-server")" = 404 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "${url%/bitbucket}/.well-known/oauth-authorization-server")" = 404 &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -d x=y "${url%/bitbucket}/rest/oauth2/latest/token")" = 404 &&
	authorize nopkce REPO_WRITE "" &&
	test "$(qparam nopkce.loc error)" = invalid_request &&
	sign_in dc REPO_WRITE &&
	test_grep ! "iss=" dc.loc &&
	json_ok dc "d[\"scope\"] == \"REPO_WRITE\"" &&
	read -r t perm exp <<<"$(tokens_line "$AT")" &&
	test "$perm" = write &&
	test "$(forge_code "$AT")" = 200 &&
	refresh dc1 "$RT" &&
	expect_error dc1 400 invalid_grant &&
	refresh dc2 "$RT" "redirect_uri=$REDIRECT_ENC" &&
	expect_status dc2 200 && remember dc2 &&
	post dcr "$(oauth_endpoint revocation_endpoint)" "client_id=$CLIENT" \
		"token=$(json dc2 refresh_token)" &&
	expect_status dcr 200 &&
	test "$(forge_code "$AT")" = 401 &&
	test "$(forge_code "$(json dc2 access_token)")" = 401 &&
	"$OAUTH" stop "$OAUTH_DIR"
'

# cloud_authz NAME QUERY: the status of Bitbucket Cloud's authorize
# endpoint (the consent page) for QUERY.
cloud_authz() {
	curl -s -o "$1.body" -w "%{http_code}\n" \
		"$(oauth_endpoint authorization_endpoint)?$2"
}

test_expect_success 'bitbucket-cloud mode: the callback URL is a prefix of redirect_uri' '
	oauth_start_dir "$TRASH_DIRECTORY/oauth-cb" --mode bitbucket-cloud \
		--redirect-uri http://127.0.0.1/bbs &&
	OAUTH_DIR=$TRASH_DIRECTORY/oauth-cb &&
	test_when_finished "OAUTH_DIR=$MAIN_OAUTH_DIR" &&
	for good in http://127.0.0.1/bbs http://127.0.0.1/bbs/cb http://127.0.0.1/bbsx?y=1; do
		test "$(cloud_authz ok "response_type=code&client_id=$CLIENT&redirect_uri=$(urlenc "$good")")" = 200 ||
		return 1
	done &&
	for bad in http://127.0.0.1:9/bbs http://127.0.0.1/bb http://127.0.0.1/ \
		"http://[::1]/bbs" http://localhost/bbs; do
		test "$(cloud_authz no "response_type=code&client_id=$CLIENT&redirect_uri=$(urlenc "$bad")")" = 400 ||
		return 1
	done
'

test_expect_success 'bitbucket-cloud mode: without redirect_uri the callback URL, not repeated' '
	OAUTH_DIR=$TRASH_DIRECTORY/oauth-cb &&
	test_when_finished "OAUTH_DIR=$MAIN_OAUTH_DIR" &&
	printf "%s\n" "$SECRET" | "$OAUTH" secret "$OAUTH_DIR" &&
	basic_header basic.hdr "$SECRET" &&
	url="$(oauth_endpoint authorization_endpoint)?response_type=code&client_id=$CLIENT&state=cb" &&
	BBS_TEST_BROWSER_PRINT=$PWD/cbnone.loc "$BROWSER_STANDIN" "$url" &&
	qparam cbnone.loc code >>"$SEEN" &&
	case $(cat cbnone.loc) in "http://127.0.0.1/bbs?code="*) ;; *) false ;; esac &&
	code=$(qparam cbnone.loc code) &&
	token cbn1 grant_type=authorization_code "code=$code" \
		"redirect_uri=$(urlenc http://127.0.0.1/bbs/x)" -- -H @basic.hdr &&
	expect_error cbn1 400 invalid_grant &&
	token cbn2 grant_type=authorization_code "code=$code" -- -H @basic.hdr &&
	expect_status cbn2 200 && remember cbn2 &&
	"$OAUTH" stop "$OAUTH_DIR"
'

test_expect_success 'codes are short-lived: 10 s in datacenter mode, 60 s otherwise' '
	oauth_start_dir "$TRASH_DIRECTORY/oauth-dc10" --mode datacenter &&
	test_when_finished "OAUTH_DIR=$MAIN_OAUTH_DIR" &&
	OAUTH_DIR=$TRASH_DIRECTORY/oauth-dc10 &&
	authorize dcold REPO_WRITE &&
	OAUTH_DIR=$MAIN_OAUTH_DIR authorize stdold repository:write &&
	sleep 11 &&
	token dcold.json grant_type=authorization_code "client_id=$CLIENT" \
		"code=$(qparam dcold.loc code)" "redirect_uri=$REDIRECT_ENC" \
		"code_verifier=$VERIFIER" &&
	expect_error dcold.json 400 invalid_grant &&
	test "$(json dcold.json error_description)" = "code expired" &&
	OAUTH_DIR=$MAIN_OAUTH_DIR &&
	token stdold.json grant_type=authorization_code "client_id=$CLIENT" \
		"code=$(qparam stdold.loc code)" "redirect_uri=$REDIRECT_ENC" \
		"code_verifier=$VERIFIER" &&
	expect_status stdold.json 200 && remember stdold.json &&
	"$OAUTH" stop "$TRASH_DIRECTORY/oauth-dc10"
'

test_expect_success 'codes live --code-ttl seconds when it is given' '
	oauth_start_dir "$TRASH_DIRECTORY/oauth-ct" --code-ttl 1 &&
	test_when_finished "OAUTH_DIR=$MAIN_OAUTH_DIR" &&
	OAUTH_DIR=$TRASH_DIRECTORY/oauth-ct &&
	authorize ct repository:write &&
	sleep 2 &&
	token ct.json grant_type=authorization_code "client_id=$CLIENT" \
		"code=$(qparam ct.loc code)" "redirect_uri=$REDIRECT_ENC" \
		"code_verifier=$VERIFIER" &&
	expect_error ct.json 400 invalid_grant &&
	"$OAUTH" stop "$OAUTH_DIR"
'

# ---------------------------------------------------------------------------
# Logs and the end

test_expect_success 'oauth.sh count counts token-endpoint requests' '
	before=$(oauth_count) &&
	before_rt=$(oauth_count refresh_token) &&
	before_dc=$(oauth_count device_code) &&
	refresh c1 rt_unknown && refresh c2 rt_unknown &&
	token c3 grant_type=client_credentials "client_id=$CLIENT" &&
	test "$(oauth_count)" = $((before + 3)) &&
	test "$(oauth_count refresh_token)" = $((before_rt + 2)) &&
	test "$(oauth_count device_code)" = "$before_dc" &&
	test "$before_dc" -ge 6 &&
	test "$(OAUTH_DIR=$TRASH_DIRECTORY/oauth-cloud oauth_count authorization_code)" = 2
'

test_expect_success 'the logs have the documented format and never a secret' '
	sort -u "$SEEN" | grep . >seen.sorted &&
	test_line_count -gt 40 seen.sorted &&
	for d in oauth oauth-ttl oauth-cloud oauth-dc; do
		f=$TRASH_DIRECTORY/$d/oauth.log &&
		test -s "$f" &&
		test_grep ! -v -E "^[A-Z]+ /[^ ]* [0-9]{3} grant_type=[^ ]+ client=[^ ]+ result=[^ ]+$" "$f" &&
		test_grep ! -F "?" "$f" &&
		test_grep ! -F -f seen.sorted "$f" "$TRASH_DIRECTORY/$d/server.log" ||
		return 1
	done &&
	test_grep ! -r -F -f seen.sorted "$FORGE_DIR/logs" &&
	grep "^POST /token 200 grant_type=authorization_code client=bbs-test-client result=ok$" "$(oauth_log)" &&
	grep "^POST /token 400 grant_type=refresh_token client=bbs-test-client result=invalid_grant$" "$(oauth_log)" &&
	grep "^POST /token 401 grant_type=refresh_token client=unknown result=invalid_client$" "$(oauth_log)" &&
	grep "^POST /token 503 grant_type=authorization_code client=bbs-test-client result=fault-status$" "$(oauth_log)"
'

test_expect_success 'stop leaves no process and is idempotent' '
	oauth_stop &&
	test -z "$(server_pids "$OAUTH_DIR")" &&
	test_must_fail "$OAUTH" status "$OAUTH_DIR" &&
	test_path_is_missing "$OAUTH_DIR/pid" &&
	oauth_stop &&
	for d in oauth-ttl oauth-cloud oauth-dc; do
		test -z "$(server_pids "$TRASH_DIRECTORY/$d")" || return 1
	done
'

test_expect_success 'the server starts again' '
	oauth_start &&
	test "$(curl -s -o /dev/null -w "%{http_code}" "$OAUTH_URL/.well-known/oauth-authorization-server")" = 200 &&
	oauth_stop
'

test_done
