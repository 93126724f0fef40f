/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the OAuth building blocks: PKCE (RFC 7636 Appendix B),
 * form encoding and query parsing, authorization-response checks, token
 * and metadata JSON, the token store's atomic write and permissions, and
 * the sign-in waits after a signal.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oauth/oauth.h"

static void
test_pkce_vector(void **state)
{
	char c[PKCE_CHALLENGE_LEN + 1], v[PKCE_VERIFIER_LEN + 1];
	char v2[PKCE_VERIFIER_LEN + 1];

	static const unsigned char octets[32] = { 116, 24, 223, 180, 151,
		153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
		77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121 };

	/* RFC 7636 Appendix B: the octets, the verifier, the challenge */
	base64url_encode(v, octets, sizeof(octets));
	assert_string_equal(v, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
	assert_int_equal(pkce_challenge(v, c), 0);
	assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	assert_int_equal(pkce_new(v, c), 0);
	assert_int_equal(strlen(v), 43);
	assert_int_equal(strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
	    "pqrstuvwxyz0123456789-_"), 43);
	assert_int_equal(pkce_new(v2, c), 0);
	assert_string_not_equal(v, v2);
}

static void
test_form_query(void **state)
{
	struct buf b;
	char *v;
	int dup;

	buf_init(&b, 0);
	assert_int_equal(form_add(&b, "grant_type", "authorization_code"), 0);
	assert_int_equal(form_add(&b, "redirect_uri",
	    "http://127.0.0.1:80/cb?x=1&y"), 0);
	assert_string_equal(b.ptr, "grant_type=authorization_code&redirect_uri="
	    "http%3A%2F%2F127.0.0.1%3A80%2Fcb%3Fx%3D1%26y");
	buf_release(&b);
	v = query_get("code=a%2Bb+c&state=s", "code", &dup);
	assert_string_equal(v, "a+b c");
	assert_int_equal(dup, 0);
	free(v);
	v = query_get("state=1&state=2", "state", &dup);
	assert_int_equal(dup, 1);
	free(v);
	assert_null(query_get("code=%zz", "code", NULL));
	assert_null(query_get("code=%00", "code", NULL));
	assert_null(query_get("codex=1", "code", NULL));
}

static void
test_authz_response(void **state)
{
	struct authz_expect x = { "good-state", "https://as.example", 0 };
	char *code;

	err_clear();
	assert_int_equal(authz_response_check("code=c1&state=good-state", &x,
	    &code), 0);
	assert_string_equal(code, "c1");
	free(code);
	assert_int_equal(authz_response_check("code=c1&state=bad", &x, &code),
	    BBS_E_INVALID);
	err_clear();
	assert_int_equal(authz_response_check("code=c1", &x, &code),
	    BBS_E_INVALID);
	err_clear();
	assert_int_equal(authz_response_check(
	    "code=c&state=good-state&state=good-state", &x, &code),
	    BBS_E_INVALID);
	err_clear();
	assert_int_equal(authz_response_check("code=c&state=good-state&"
	    "iss=https%3A%2F%2Fevil.example", &x, &code), BBS_E_OAUTH);
	err_clear();
	assert_int_equal(authz_response_check("code=c&state=good-state&"
	    "iss=https%3A%2F%2Fas.example", &x, &code), 0);
	free(code);
	x.iss_required = 1;
	assert_int_equal(authz_response_check("code=c&state=good-state", &x,
	    &code), BBS_E_OAUTH);
	err_clear();
	assert_int_equal(authz_response_check(
	    "error=access_denied&state=good-state&iss=https%3A%2F%2Fas.example",
	    &x, &code), BBS_E_CANCELLED);
	err_clear();
}

/* A message or hint quotes text from elsewhere: one line, no control byte. */
static void
test_err_text(void **state)
{
	(void)state;
	err_clear();
	assert_int_equal(err_set(BBS_E_ERROR, "not signed in as %s",
	    "a\x1b]0;t\a" "b\x7f"), BBS_E_ERROR);
	assert_string_equal(err_message(), "not signed in as a^[]0;t^Gb^?");
	err_hint("log in as %s", "c\x1b[2J");
	assert_string_equal(err_hint_message(), "log in as c^[[2J");
	err_clear();
	err_set(BBS_E_ERROR, "first line\r\nsecond\x1b");
	assert_string_equal(err_message(), "first line");
	err_clear();
}

/* The redirect's error text is the server's: shown cleaned, never raw. */
static void
test_authz_error_text(void **state)
{
	struct authz_expect x = { "good-state", NULL, 0 };
	char *code = NULL;

	(void)state;
	err_clear();
	assert_int_equal(authz_response_check("state=good-state&"
	    "error=%1b%5d0%3bowned%07%1b%5b2J", &x, &code), BBS_E_OAUTH);
	assert_null(code);
	assert_null(strchr(err_message(), '\x1b'));
	assert_null(strchr(err_message(), '\a'));
	assert_non_null(strstr(err_message(), "refused: ^[]0;owned^G^[[2J"));
	err_clear();
	assert_int_equal(authz_response_check("state=good-state&"
	    "error=access_denied&error_description=no%0Dway%1b%5b2J", &x,
	    &code), BBS_E_CANCELLED);
	assert_null(code);
	assert_string_equal(err_message(), "the sign-in was refused: "
	    "access_denied (no^Mway^[[2J)");
	err_clear();
	/* two errors: not a cancellation, whatever they say */
	assert_int_equal(authz_response_check("state=good-state&"
	    "error=access_denied&error=access_denied", &x, &code),
	    BBS_E_OAUTH);
	assert_null(code);
	err_clear();
}

static void
test_authz_code_bytes(void **state)
{
	struct authz_expect x = { "good-state", NULL, 0 };
	char *code = NULL;

	(void)state;
	err_clear();
	assert_int_equal(authz_response_check("code=a%0Ab&state=good-state",
	    &x, &code), BBS_E_OAUTH);
	assert_null(code);
	err_clear();
	assert_int_equal(authz_response_check("code=a%7Fb&state=good-state",
	    &x, &code), BBS_E_OAUTH);
	assert_null(code);
	err_clear();
	assert_int_equal(authz_response_check("code=a%20b~&state=good-state",
	    &x, &code), 0);
	assert_string_equal(code, "a b~");
	free(code);
}

static void
test_loopback_request(void **state)
{
	const char *q;
	size_t n;

#define REQ(s) s, sizeof(s) - 1
	(void)state;
	assert_int_equal(loopback_request_parse(REQ("GET /cb?code=c&state=s "
	    "HTTP/1.1\r\nHost: x\r\n\r\n"), &q, &n), 1);
	assert_int_equal(n, 14);
	assert_memory_equal(q, "code=c&state=s", 14);
	assert_int_equal(loopback_request_parse(REQ("GET /?a=b HTTP/1.0\n\n"),
	    &q, &n), 1);
	/* incomplete: more bytes may come */
	assert_int_equal(loopback_request_parse(REQ("GET /?a=b HTT"), &q, &n),
	    0);
	assert_int_equal(loopback_request_parse(REQ("GET /?a=b HTTP/1.1\r\n"
	    "Host: x\r\n"), &q, &n), 0);
	/* never one */
	assert_int_equal(loopback_request_parse(REQ("POST /?a=b HTTP/1.1\r\n"
	    "\r\n"), &q, &n), -1);
	assert_int_equal(loopback_request_parse(REQ("GET / HTTP/1.1\r\n\r\n"),
	    &q, &n), -1);
	assert_int_equal(loopback_request_parse(REQ("GET /?a\tb HTTP/1.1\r\n"
	    "\r\n"), &q, &n), -1);
	assert_int_equal(loopback_request_parse(REQ("GET /?a\0b HTTP/1.1\r\n"
	    "\r\n"), &q, &n), -1);
	assert_null(q);
#undef REQ
}

static void
test_token_json(void **state)
{
	struct oauth_token t;
	char *oerr = NULL;
	const char *bad;
	const char *ok = "{\"access_token\":\"AT\",\"token_type\":\"Bearer\","
	    "\"expires_in\":7200,\"refresh_token\":\"RT\",\"scopes\":"
	    "\"repository:write\"}";

	assert_int_equal(oauth_token_parse(&t, 200, ok, strlen(ok), 1000,
	    NULL), 0);
	assert_string_equal(t.access_token, "AT");
	assert_string_equal(t.refresh_token, "RT");
	assert_string_equal(t.scope, "repository:write");
	assert_int_equal(t.expires_at, 8200);
	oauth_token_release(&t);

	err_clear();
	bad = "{\"error\":\"invalid_request\",\"error_description\":"
	    "\"Invalid refresh_token\"}";
	assert_int_equal(oauth_token_parse(&t, 400, bad, strlen(bad), 0,
	    &oerr), BBS_E_OAUTH);
	assert_string_equal(oerr, "invalid_request");
	assert_non_null(strstr(err_message(), "Invalid refresh_token"));
	free(oerr);
	err_clear();
	/* wrong types, missing token, not JSON, truncated, odd token type */
	assert_int_equal(oauth_token_parse(&t, 200, "{\"access_token\":5}",
	    18, 0, NULL), BBS_E_PROTOCOL);
	err_clear();
	assert_int_equal(oauth_token_parse(&t, 200, "{\"expires_in\":5}", 16,
	    0, NULL), BBS_E_PROTOCOL);
	err_clear();
	assert_int_equal(oauth_token_parse(&t, 200, "<html>", 6, 0, NULL),
	    BBS_E_PROTOCOL);
	err_clear();
	assert_int_equal(oauth_token_parse(&t, 200, ok, strlen(ok) / 2, 0,
	    NULL), BBS_E_PROTOCOL);
	err_clear();
	bad = "{\"access_token\":\"x\",\"token_type\":\"mac\"}";
	assert_int_equal(oauth_token_parse(&t, 200, bad, strlen(bad), 0, NULL),
	    BBS_E_PROTOCOL);
	err_clear();
	assert_int_equal(oauth_token_parse(&t, 500, "oops", 4, 0, NULL),
	    BBS_E_HTTP);
	err_clear();
	bad = "{\"access_token\":\"x\",\"access_token\":\"y\"}";
	assert_int_equal(oauth_token_parse(&t, 200, bad, strlen(bad), 0, NULL),
	    BBS_E_PROTOCOL);
	err_clear();
}

static void
test_metadata(void **state)
{
	struct oauth_endpoints e;
	const char *m = "{\"issuer\":\"https://as.example\","
	    "\"authorization_endpoint\":\"https://as.example/a\","
	    "\"token_endpoint\":\"https://as.example/t\","
	    "\"token_endpoint_auth_methods_supported\":[\"client_secret_post\"],"
	    "\"authorization_response_iss_parameter_supported\":true}";

	memset(&e, 0, sizeof(e));
	e.token_url = xstrdup("https://configured/t");
	assert_int_equal(oauth_metadata_parse(&e, "https://as.example", m,
	    strlen(m)), 0);
	assert_string_equal(e.authorize_url, "https://as.example/a");
	assert_string_equal(e.token_url, "https://configured/t");
	assert_int_equal(e.iss_supported, 1);
	assert_int_equal(e.secret_post_only, 1);
	oauth_endpoints_release(&e);
	err_clear();
	assert_int_equal(oauth_metadata_parse(&e, "https://other.example", m,
	    strlen(m)), BBS_E_PROTOCOL);
	oauth_endpoints_release(&e);
	err_clear();
}

static void
test_store(void **state)
{
	char dir[] = "/tmp/bbs-unit-store.XXXXXX";
	struct store s;
	struct oauth_token t;
	struct stat st;
	char *path;
	size_t n;
	int fd, fd2;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/state/git-remote-bbs", dir);
	assert_int_equal(store_open(&s, path), 0);
	assert_int_equal(s.nr, 0);
	memset(&t, 0, sizeof(t));
	t.access_token = xstrdup("at1");
	t.refresh_token = xstrdup("rt1");
	t.expires_at = 42;
	assert_int_equal(store_update(&s, "https://as t1", "alice", "generic",
	    &t), 0);
	oauth_token_release(&t);
	store_release(&s);

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(path);
	path = xasprintf("%s/state/git-remote-bbs/tokens.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	path[strlen(path) - strlen("/tokens.json")] = '\0';
	assert_int_equal(store_open(&s, path), 0);
	assert_non_null(store_find(&s, "https://as t1", NULL, &n));
	assert_int_equal(n, 1);
	assert_string_equal(store_find(&s, "https://as t1", "alice",
	    NULL)->tok.refresh_token, "rt1");
	assert_null(store_find(&s, "https://as t1", "bob", NULL));
	assert_int_equal(store_remove(&s, "https://as t1", "alice"), 1);
	assert_int_equal(s.nr, 0);
	store_release(&s);

	/* a store others can read is refused */
	free(path);
	path = xasprintf("%s/state/git-remote-bbs/tokens.json", dir);
	assert_int_equal(chmod(path, 0644), 0);
	path[strlen(path) - strlen("/tokens.json")] = '\0';
	err_clear();
	assert_int_equal(store_open(&s, path), BBS_E_IO);
	assert_non_null(strstr(err_message(), "readable by others"));
	err_clear();
	store_release(&s);

	/* the lock excludes a second holder until released */
	assert_int_equal(store_lock(path, "k", 5, &fd), 0);
	assert_int_equal(store_lock(path, "k", 0, &fd2), BBS_E_TIMEOUT);
	err_clear();
	store_unlock(fd);
	assert_int_equal(store_lock(path, "k", 0, &fd2), 0);
	store_unlock(fd2);
	free(path);
	path = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	free(path);
}

static void
test_token_syntax(void **state)
{
	char *big;

	assert_true(oauth_token_syntax_ok("at_Abc-1.2_3~4+5/6"));
	assert_true(oauth_token_syntax_ok("abc=="));
	assert_false(oauth_token_syntax_ok(NULL));
	assert_false(oauth_token_syntax_ok(""));
	assert_false(oauth_token_syntax_ok("=="));
	assert_false(oauth_token_syntax_ok("a=b"));
	assert_false(oauth_token_syntax_ok("a b"));
	assert_false(oauth_token_syntax_ok("at\r\nX-Injected: 1"));
	assert_false(oauth_token_syntax_ok("at\n"));
	assert_false(oauth_token_syntax_ok("at\x7f"));
	assert_false(oauth_token_syntax_ok("t\xc3\xa9"));
	big = malloc(OAUTH_TOKEN_MAX + 2);
	memset(big, 'a', OAUTH_TOKEN_MAX);
	big[OAUTH_TOKEN_MAX] = '\0';
	assert_true(oauth_token_syntax_ok(big));
	big[OAUTH_TOKEN_MAX] = 'a';
	big[OAUTH_TOKEN_MAX + 1] = '\0';
	assert_false(oauth_token_syntax_ok(big));
	free(big);
}

/* A token answer with `fields` after a valid access token. */
static int
parse_with(struct oauth_token *t, const char *fields, int64_t now)
{
	char *body = xasprintf("{\"access_token\":\"AT\"%s}", fields);
	int r;

	err_clear();
	r = oauth_token_parse(t, 200, body, strlen(body), now, NULL);
	free(body);
	return r;
}

static void
one_line_error(void)
{
	assert_non_null(err_message());
	assert_null(strpbrk(err_message(), "\r\n\x1b"));
	err_clear();
}

static void
test_token_refused_characters(void **state)
{
	struct oauth_token t;
	const char *bad;

	bad = "{\"access_token\":\"at_x\\r\\nX-Injected: 1\"}";
	assert_int_equal(oauth_token_parse(&t, 200, bad, strlen(bad), 0, NULL),
	    BBS_E_PROTOCOL);
	assert_null(t.access_token);
	assert_non_null(strstr(err_message(), "malformed access token"));
	one_line_error();
	assert_int_equal(parse_with(&t, ",\"refresh_token\":\"rt x\"", 0),
	    BBS_E_PROTOCOL);
	assert_non_null(strstr(err_message(), "malformed refresh token"));
	one_line_error();
	bad = "{\"access_token\":\"at\\u0000x\"}";
	assert_int_equal(oauth_token_parse(&t, 200, bad, strlen(bad), 0, NULL),
	    BBS_E_PROTOCOL);
	one_line_error();
}

static void
test_token_lifetimes(void **state)
{
	const int64_t now = 1700000000;
	struct oauth_token t;

	assert_int_equal(parse_with(&t, ",\"expires_in\":9223372036854775807",
	    now), 0);
	assert_int_equal(t.expires_at, now + OAUTH_EXPIRES_MAX);
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t, ",\"expires_in\":-1", now), 0);
	assert_int_equal(t.expires_at, now + 1);
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t, ",\"expires_in\":0", now), 0);
	assert_int_equal(t.expires_at, now + 1);
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t, ",\"expires_in\":-9223372036854775807",
	    now), 0);
	assert_int_equal(t.expires_at, now + 1);
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t, ",\"expires_in\":\"3600\"", now), 0);
	assert_int_equal(t.expires_at, now + 3600);
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t,
	    ",\"expires_in\":\"99999999999999999999999999\"", now), 0);
	assert_int_equal(t.expires_at, now + OAUTH_EXPIRES_MAX);
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t, "", now), 0);
	assert_int_equal(t.expires_at, 0);
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t, ",\"expires_in\":1e400", now),
	    BBS_E_PROTOCOL);
	one_line_error();
	/* a real is cut to whole seconds, and clamped first */
	assert_int_equal(parse_with(&t, ",\"expires_in\":3600.9", now), 0);
	assert_int_equal(t.expires_at, now + 3600);
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t, ",\"expires_in\":1e300", now), 0);
	assert_int_equal(t.expires_at, now + OAUTH_EXPIRES_MAX);
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t, ",\"expires_in\":-1e300", now), 0);
	assert_int_equal(t.expires_at, now + 1);
	oauth_token_release(&t);
	/*
	 * A malformed lifetime or scope does not throw the tokens away (a
	 * refresh token was rotated for them): unknown, not reported.
	 */
	assert_int_equal(parse_with(&t, ",\"refresh_token\":\"RT\","
	    "\"expires_in\":\"-5\",\"scope\":[\"a\"]", now), 0);
	assert_int_equal(t.expires_at, 0);
	assert_null(t.scope);
	assert_string_equal(t.refresh_token, "RT");
	assert_null(err_message());
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t, ",\"expires_in\":\" 36\","
	    "\"scopes\":7,\"scope\":\"s\"", now), 0);
	assert_int_equal(t.expires_at, 0);
	assert_string_equal(t.scope, "s");
	oauth_token_release(&t);
	assert_int_equal(parse_with(&t, ",\"expires_in\":true", now), 0);
	assert_int_equal(t.expires_at, 0);
	oauth_token_release(&t);
	/* the tokens themselves stay checked */
	assert_int_equal(parse_with(&t, ",\"refresh_token\":5", now),
	    BBS_E_PROTOCOL);
	one_line_error();
	assert_int_equal(parse_with(&t, ",\"token_type\":[]", now),
	    BBS_E_PROTOCOL);
	one_line_error();
	/* a clock at the end of time does not overflow either */
	assert_int_equal(parse_with(&t, ",\"expires_in\":60", INT64_MAX),
	    BBS_E_INVALID);
	one_line_error();
}

static int
device_with(struct oauth_device *d, const char *user_code, const char *uri,
    const char *rest)
{
	char *body = xasprintf("{\"device_code\":\"dc_1\",\"user_code\":\"%s\","
	    "\"verification_uri\":\"%s\"%s}", user_code, uri, rest);
	int r;

	err_clear();
	r = oauth_device_parse(d, 200, body, strlen(body));
	free(body);
	return r;
}

static void
test_device_bounds(void **state)
{
	struct oauth_device d;
	const char *uri = "https://as.example/device";

	assert_int_equal(device_with(&d, "ABCD-EFGH", uri,
	    ",\"expires_in\":9223372036854775807,\"interval\":"
	    "9223372036854775807"), 0);
	assert_int_equal(d.expires_in, OAUTH_DEVICE_EXPIRES_MAX);
	assert_int_equal(d.interval, OAUTH_DEVICE_INTERVAL_MAX);
	oauth_device_release(&d);
	assert_int_equal(device_with(&d, "ABCD-EFGH", uri,
	    ",\"expires_in\":-1,\"interval\":-1"), 0);
	assert_int_equal(d.expires_in, 1);
	assert_int_equal(d.interval, 1);
	oauth_device_release(&d);
	assert_int_equal(device_with(&d, "ABCD-EFGH", uri,
	    ",\"expires_in\":\"600\""), 0);
	assert_int_equal(d.expires_in, 600);
	assert_int_equal(d.interval, 5);
	oauth_device_release(&d);
	assert_int_equal(device_with(&d, "ABCD-EFGH", uri, ""),
	    BBS_E_PROTOCOL);
	one_line_error();
	assert_int_equal(device_with(&d, "ABCD-EFGH", uri,
	    ",\"expires_in\":1e400"), BBS_E_PROTOCOL);
	one_line_error();
}

static void
test_device_text(void **state)
{
	struct oauth_device d;
	const char *uri = "https://as.example/device", *e = ",\"expires_in\":60";

	assert_int_equal(device_with(&d, "ABCD\\nInjected: yes", uri, e),
	    BBS_E_PROTOCOL);
	one_line_error();
	assert_int_equal(device_with(&d, "AB\\u001b[2J", uri, e),
	    BBS_E_PROTOCOL);
	one_line_error();
	assert_int_equal(device_with(&d, "ABCD", "http://evil.example/d", e),
	    BBS_E_INSECURE_URL);
	one_line_error();
	assert_int_equal(device_with(&d, "ABCD", "https://as.example/\\u001b",
	    e), BBS_E_INVALID);
	one_line_error();
	assert_int_equal(device_with(&d, "ABCD", "https://as.example/\\u009b2J",
	    e), BBS_E_INVALID);	/* a C1 CSI, as UTF-8 */
	one_line_error();
	assert_int_equal(device_with(&d, "ABCD", uri, ",\"expires_in\":60,"
	    "\"verification_uri_complete\":\"https://as.example/\\u009d0;x\""),
	    BBS_E_INVALID);
	one_line_error();
	assert_int_equal(device_with(&d, "ABCD", "javascript:alert(1)", e),
	    BBS_E_INVALID);
	one_line_error();
	assert_int_equal(device_with(&d, "ABCD", uri, ",\"expires_in\":60,"
	    "\"verification_uri_complete\":\"https://u:p@as.example/\""),
	    BBS_E_INVALID);
	one_line_error();
	assert_int_equal(device_with(&d, "ABCD", "http://127.0.0.1:9/device",
	    e), 0);
	oauth_device_release(&d);
}

static void
test_server_text_cleaned(void **state)
{
	struct oauth_token t;
	const char *bad;
	char *name, *c;

	bad = "{\"error\":\"invalid_grant\\r\\nX\",\"error_description\":"
	    "\"\\u001b[2Jgone\\nfatal: fake\"}";
	assert_int_equal(oauth_token_parse(&t, 400, bad, strlen(bad), 0, NULL),
	    BBS_E_OAUTH);
	assert_non_null(strstr(err_message(), "^[[2Jgone^Jfatal: fake"));
	one_line_error();
	bad = "{\"error\":\"invalid_grant\\u001b[2J\\n\"}";
	assert_int_equal(oauth_token_parse(&t, 400, bad, strlen(bad), 0, &c),
	    BBS_E_OAUTH);
	assert_string_equal(c, "invalid_grant^[[2J^J");
	free(c);
	one_line_error();
	bad = "{\"error\":\"server_error\\u001b]0;x\\u0007\"}";
	assert_int_equal(oauth_token_parse(&t, 503, bad, strlen(bad), 0, NULL),
	    BBS_E_HTTP);
	one_line_error();
	bad = "{\"access_token\":\"x\",\"token_type\":\"m\\u001bac\"}";
	assert_int_equal(oauth_token_parse(&t, 200, bad, strlen(bad), 0, NULL),
	    BBS_E_PROTOCOL);
	one_line_error();
	name = oauth_userinfo_name("{\"username\":\"al\\u001b[31mice\\n\"}",
	    32);
	assert_string_equal(name, "al^[[31mice^J");
	free(name);
	assert_null(oauth_userinfo_name("{\"username\":\"a\\u0000b\"}", 23));
	c = oauth_text_clean("a\x7f\tb\x01", 100);
	assert_string_equal(c, "a^?^Ib^A");
	free(c);
	c = oauth_text_clean("ab\x1b", 3);	/* a caret pair is never split */
	assert_string_equal(c, "ab");
	free(c);
	c = oauth_text_clean("abcdef", 3);
	assert_string_equal(c, "abc");
	free(c);
	assert_null(oauth_text_clean(NULL, 3));
}

/* text_sanitized, the mask of every peer's text, and what it builds on */
static void
sanitized_is(const char *in, const char *want)
{
	char *got = text_sanitized(in, strlen(in));

	assert_string_equal(got, want);
	free(got);
}

static void
test_text_c1_controls(void **state)
{
	struct buf b;
	char *c, big[64];
	size_t i;
	int c1;

	(void)state;
	/* C1 in UTF-8 (U+009B CSI, U+009D OSC, U+0085 NEL) and as raw bytes */
	sanitized_is("a\xc2\x9b[2Jb", "aM-^[[2Jb");
	sanitized_is("\xc2\x9d" "0;t\xc2\x9c", "M-^]0;tM-^\\");
	sanitized_is("x\xc2\x85y", "xM-^Ey");
	sanitized_is("\x9b" "31m\x80", "M-^[31mM-^@");
	/* well-formed UTF-8 passes, U+00A0 and U+20AC (0x82 inside) too */
	sanitized_is("caf\xc3\xa9 \xe2\x82\xac \xc2\xa0 \xf0\x9f\x98\x80",
	    "caf\xc3\xa9 \xe2\x82\xac \xc2\xa0 \xf0\x9f\x98\x80");
	/* a cut or malformed sequence: its bytes 0x80-0x9f are masked */
	sanitized_is("\xe2\x82", "\xe2M-^B");
	sanitized_is("\xc1\x9b", "\xc1M-^[");		/* overlong */
	sanitized_is("\xe0\x9b\x80", "\xe0M-^[M-^@");	/* overlong */
	sanitized_is("\xed\xa0\x80", "\xed\xa0M-^@");	/* surrogate */
	sanitized_is("\xf4\x90\x80\x80", "\xf4M-^PM-^@M-^@"); /* > U+10FFFF */
	sanitized_is("\xe9t\xe9", "\xe9t\xe9");		/* Latin-1 */
	/* the worst case fits the bound text_sanitized allocates */
	memset(big, 0x9b, sizeof(big));
	buf_init(&b, TEXT_GROWTH * sizeof(big));
	assert_int_equal(text_sanitize(&b, big, sizeof(big), 0), 0);
	assert_int_equal(b.len, TEXT_GROWTH * sizeof(big));
	buf_release(&b);
	/* text_cleaned never splits a replacement or a character */
	c = text_cleaned("ab\xc2\x9b", 5);
	assert_string_equal(c, "ab");
	free(c);
	c = text_cleaned("ab\xe2\x82\xac", 4);
	assert_string_equal(c, "ab");
	free(c);
	c = text_cleaned("ab\xe2\x82\xac", 5);
	assert_string_equal(c, "ab\xe2\x82\xac");
	free(c);
	/* text_char and text_partial */
	assert_int_equal(text_char("\xe2\x82\xac", 3, &c1), 3);
	assert_false(c1);
	assert_int_equal(text_char("\xc2\x9b", 2, &c1), 2);
	assert_true(c1);
	assert_int_equal(text_char("\x82\xac", 2, &c1), 1);
	assert_true(c1);
	assert_int_equal(text_partial("ab\xe2\x82", 4), 2);
	assert_int_equal(text_partial("ab\xe2", 3), 1);
	assert_int_equal(text_partial("ab\xf0\x9f\x98", 5), 3);
	assert_int_equal(text_partial("ab\xe2\x82\xac", 5), 0);
	assert_int_equal(text_partial("a\x82", 2), 0);
	assert_int_equal(text_partial("\xe0\x80", 2), 0);	/* never valid */
	assert_int_equal(text_partial("", 0), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(text_partial("\x82\x82\x82", i), 0);
	/* names with C1 are refused as names with C0 are */
	assert_true(oauth_text_has_control("al\xc2\x9bice"));
	assert_true(oauth_text_has_control("al\x9bice"));
	assert_false(oauth_text_has_control("al\xc3\xa9ice"));
	big[0] = '\0';
	strcat(big, "{\"username\":\"al\\u009b31mice\"}");
	c = oauth_userinfo_name(big, strlen(big));
	assert_string_equal(c, "alM-^[31mice");
	free(c);
}

static void
endpoint_refused(const char *url, int code)
{
	err_clear();
	assert_int_equal(oauth_endpoint_check("token endpoint", url), code);
	one_line_error();
}

static void
test_endpoint_urls(void **state)
{
	struct oauth_url u;

	assert_int_equal(oauth_url_parse(&u, "http://localhost:1@192.0.2.2/t",
	    0), 0);
	assert_string_equal(u.host, "192.0.2.2");
	assert_string_equal(u.userinfo, "localhost:1");
	assert_int_equal(u.port, 80);
	assert_false(u.port_given);
	assert_int_equal(u.path_at, 28);	/* "http://localhost:1@192.0.2.2" */
	assert_false(oauth_url_is_loopback(&u));
	oauth_url_release(&u);
	assert_int_equal(oauth_url_parse(&u, "HTTP://[::1]:8080", 0), 0);
	assert_string_equal(u.scheme, "http");
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 8080);
	assert_true(u.port_given);
	assert_int_equal(u.path_at, 17);	/* "HTTP://[::1]:8080" */
	assert_string_equal(u.path, "/");
	assert_true(oauth_url_is_loopback(&u));
	oauth_url_release(&u);

	endpoint_refused("http://localhost:1@192.0.2.2/", BBS_E_INVALID);
	endpoint_refused("http://127.0.0.1.evil.example/", BBS_E_INSECURE_URL);
	endpoint_refused("http://localhost.evil.example/", BBS_E_INSECURE_URL);
	endpoint_refused("http://localhost./", BBS_E_INSECURE_URL);
	endpoint_refused("http://0x7f000001/", BBS_E_INSECURE_URL);
	endpoint_refused("http://[::2]/", BBS_E_INSECURE_URL);
	endpoint_refused("https://user:pw@as.example/", BBS_E_INVALID);
	endpoint_refused("https://user@as.example/", BBS_E_INVALID);
	endpoint_refused("https://as.example:0/", BBS_E_INVALID);
	assert_int_equal(oauth_endpoint_check("token endpoint",
	    "https://as.example:0/"), BBS_E_INVALID);
	assert_string_equal(err_message(), "the token endpoint URL is unusable: "
	    "malformed port in URL");
	err_clear();
	endpoint_refused("https://as.example:99999999999999999999/",
	    BBS_E_INVALID);
	endpoint_refused("https://*.example/", BBS_E_INVALID);
	endpoint_refused("https://as.example/\r\n", BBS_E_INVALID);
	endpoint_refused("ftp://as.example/", BBS_E_INVALID);
	endpoint_refused("https://[::1/", BBS_E_INVALID);
	endpoint_refused("https:///t", BBS_E_INVALID);
	err_clear();
	assert_int_equal(oauth_endpoint_check("x", "https://as.example/t"), 0);
	assert_int_equal(oauth_endpoint_check("x", "http://LocalHost:9/t"), 0);
	assert_int_equal(oauth_endpoint_check("x", "http://127.9.9.9/t"), 0);
	assert_int_equal(oauth_endpoint_check("x", NULL), 0);
}

static void
test_discovered_endpoints_checked(void **state)
{
	struct oauth_endpoints e;

	memset(&e, 0, sizeof(e));
	e.token_url = xstrdup("https://as.example/token");
	e.revocation_url = xstrdup("http://localhost:1@192.0.2.2/revoke");
	err_clear();
	assert_int_equal(oauth_endpoints_check(&e), BBS_E_INVALID);
	assert_non_null(strstr(err_message(), "revocation endpoint"));
	one_line_error();
	oauth_endpoints_release(&e);
}

static void
test_grant_decode_refuses_bad_token(void **state)
{
	struct store_entry e;

	memset(&e, 0, sizeof(e));
	err_clear();
	assert_int_equal(store_grant_decode("{\"access_token\":\"a\\r\\nX: 1\"}",
	    &e), BBS_E_PROTOCOL);
	one_line_error();
	oauth_token_release(&e.tok);
	free(e.provider);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_grant_decode("{\"access_token\":\"at\","
	    "\"refresh_token\":\"r t\"}", &e), BBS_E_PROTOCOL);
	one_line_error();
	oauth_token_release(&e.tok);
	free(e.provider);
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_grant_decode("{\"access_token\":\"at\","
	    "\"refresh_token\":\"rt\"}", &e), 0);
	oauth_token_release(&e.tok);
	free(e.provider);
}

/* ID tokens: only the checked claims of our issuer and client name anybody. */
static void
test_id_token(void **state)
{
	static const struct {
		const char *what, *jwt, *name;
	} cases[] = {
		{ "good",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJwcmVmZXJyZWR"
		    "fdXNlcm5hbWUiOiJhbGljZSIsImV4cCI6MTgwMDAwMDAwMH0.c2ln",
		    "alice" },
		{ "email",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJleHAiOjE4MDA"
		    "wMDAwMDAsImVtYWlsIjoiYWxAZXhhbXBsZS5jb20ifQ.c2ln",
		    "al@example.com" },
		{ "sub",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJleHAiOjE4MDA"
		    "wMDAwMDB9.c2ln",
		    "u-1" },
		{ "aud array",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOlsiYmJzLXRlc3QtY2xpZW50Il0sInN1YiI6InUtMSIsInByZWZlcnJ"
		    "lZF91c2VybmFtZSI6ImFsaWNlIiwiZXhwIjoxODAwMDAwMDAwfQ.c2ln",
		    "alice" },
		{ "aud array azp",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOlsiYXBpIiwiYmJzLXRlc3QtY2xpZW50Il0sInN1YiI6InUtMSIsInB"
		    "yZWZlcnJlZF91c2VybmFtZSI6ImFsaWNlIiwiZXhwIjoxODAwMDAwMDAwLCJ"
		    "henAiOiJiYnMtdGVzdC1jbGllbnQifQ.c2ln",
		    "alice" },
		{ "aud array no azp",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOlsiYXBpIiwiYmJzLXRlc3QtY2xpZW50Il0sInN1YiI6InUtMSIsInB"
		    "yZWZlcnJlZF91c2VybmFtZSI6ImFsaWNlIiwiZXhwIjoxODAwMDAwMDAwfQ."
		    "c2ln",
		    NULL },
		{ "azp other",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOlsiYXBpIiwiYmJzLXRlc3QtY2xpZW50Il0sInN1YiI6InUtMSIsInB"
		    "yZWZlcnJlZF91c2VybmFtZSI6ImFsaWNlIiwiZXhwIjoxODAwMDAwMDAwLCJ"
		    "henAiOiJhcGkifQ.c2ln",
		    NULL },
		{ "wrong iss",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSI"
		    "sImF1ZCI6ImJicy10ZXN0LWNsaWVudCIsInN1YiI6InUtMSIsInByZWZlcnJ"
		    "lZF91c2VybmFtZSI6ImFsaWNlIiwiZXhwIjoxODAwMDAwMDAwfQ.c2ln",
		    NULL },
		{ "iss prefix",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUuZXZ"
		    "pbCIsImF1ZCI6ImJicy10ZXN0LWNsaWVudCIsInN1YiI6InUtMSIsInByZWZ"
		    "lcnJlZF91c2VybmFtZSI6ImFsaWNlIiwiZXhwIjoxODAwMDAwMDAwfQ.c2ln",
		    NULL },
		{ "iss nul",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGVcdTA"
		    "wMDAiLCJhdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJwcmV"
		    "mZXJyZWRfdXNlcm5hbWUiOiJhbGljZSIsImV4cCI6MTgwMDAwMDAwMH0.c2l"
		    "n",
		    NULL },
		{ "aud nul",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnRcdTAwMDAiLCJzdWIiOiJ1LTEiLCJwcmV"
		    "mZXJyZWRfdXNlcm5hbWUiOiJhbGljZSIsImV4cCI6MTgwMDAwMDAwMH0.c2l"
		    "n",
		    NULL },
		{ "wrong aud",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJvdGhlciIsInN1YiI6InUtMSIsInByZWZlcnJlZF91c2VybmFtZSI"
		    "6ImFsaWNlIiwiZXhwIjoxODAwMDAwMDAwfQ.c2ln",
		    NULL },
		{ "expired",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJwcmVmZXJyZWR"
		    "fdXNlcm5hbWUiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.c2ln",
		    NULL },
		{ "exp string",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJwcmVmZXJyZWR"
		    "fdXNlcm5hbWUiOiJhbGljZSIsImV4cCI6IjE4MDAwMDAwMDAifQ.c2ln",
		    NULL },
		{ "exp real",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJwcmVmZXJyZWR"
		    "fdXNlcm5hbWUiOiJhbGljZSIsImV4cCI6MTgwMDAwMDAwMC4wfQ.c2ln",
		    NULL },
		{ "dup iss",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSI"
		    "sImlzcyI6Imh0dHBzOi8vYXMuZXhhbXBsZSIsImF1ZCI6ImJicy10ZXN0LWN"
		    "saWVudCIsInN1YiI6IngiLCJleHAiOjE4MDAwMDAwMDB9.c2ln",
		    NULL },
		{ "two parts",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJwcmVmZXJyZWR"
		    "fdXNlcm5hbWUiOiJhbGljZSIsImV4cCI6MTgwMDAwMDAwMH0",
		    NULL },
		{ "four parts",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJwcmVmZXJyZWR"
		    "fdXNlcm5hbWUiOiJhbGljZSIsImV4cCI6MTgwMDAwMDAwMH0.c2ln.x",
		    NULL },
		{ "padding",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJwcmVmZXJyZWR"
		    "fdXNlcm5hbWUiOiJhbGljZSIsImV4cCI6MTgwMDAwMDAwMH0=.c2ln",
		    NULL },
		{ "control",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJwcmVmZXJyZWR"
		    "fdXNlcm5hbWUiOiJhXG5iIiwiZXhwIjoxODAwMDAwMDAwfQ.c2ln",
		    "a^Jb" },
		{ "long name falls back",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJzdWIiOiJ1LTEiLCJwcmVmZXJyZWR"
		    "fdXNlcm5hbWUiOiJ4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh"
		    "4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh"
		    "4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh"
		    "4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh"
		    "4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh"
		    "4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4Iiw"
		    "iZXhwIjoxODAwMDAwMDAwfQ.c2ln",
		    "u-1" },
		{ "nobody",
		    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2FzLmV4YW1wbGUiLCJ"
		    "hdWQiOiJiYnMtdGVzdC1jbGllbnQiLCJleHAiOjE4MDAwMDAwMDB9.c2ln",
		    NULL },
	};
	const char *why;
	char *name;
	size_t i;

	(void)state;
	for (i = 0; i < BBS_ARRAY_SIZE(cases); i++) {
		why = NULL;
		name = oauth_id_token_name(cases[i].jwt, "https://as.example",
		    "bbs-test-client", 1700000000, &why);
		if (cases[i].name == NULL) {
			if (name != NULL)
				fail_msg("%s: trusted as '%s'", cases[i].what, name);
			assert_non_null(why);
		} else {
			if (name == NULL)
				fail_msg("%s: not trusted: %s", cases[i].what, why);
			assert_string_equal(name, cases[i].name);
		}
		free(name);
	}
	/* nothing to check against: nobody */
	assert_null(oauth_id_token_name(cases[0].jwt, NULL, "bbs-test-client",
	    1700000000, NULL));
}

/* base64url: canonical text only, bounded by the room given. */
static void
test_base64url_decode(void **state)
{
	unsigned char out[16];
	size_t n = 99;

	(void)state;
	assert_int_equal(base64url_decode(out, sizeof(out), &n, "aGk", 3), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "hi", 2);
	assert_int_equal(base64url_decode(out, sizeof(out), &n, "", 0), 0);
	assert_int_equal(n, 0);
	assert_int_equal(base64url_decode(out, sizeof(out), &n, "-_8", 3), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	/* unused bits set, a length no string has, padding, '+' and '/' */
	assert_int_equal(base64url_decode(out, sizeof(out), &n, "aGl", 3), -1);
	assert_int_equal(n, 0);
	assert_int_equal(base64url_decode(out, sizeof(out), &n, "aGlsb", 5), -1);
	assert_int_equal(base64url_decode(out, sizeof(out), &n, "aGk=", 4), -1);
	assert_int_equal(base64url_decode(out, sizeof(out), &n, "a+/k", 4), -1);
	/* one byte short of room */
	assert_int_equal(base64url_decode(out, 1, &n, "aGk", 3), -1);
	assert_int_equal(base64url_decode(out, 2, &n, "aGk", 3), 0);
}

/*
 * In a child: a signal handled before a sign-in wait (so that no poll()
 * ever returns EINTR for it) still ends each wait at once.
 */
static int
waits_after_signal(void)
{
	struct authz_expect x = { "state-1", NULL, 0 };
	struct loopback l = LOOPBACK_INIT;
	struct callback_listener cl = { -1, NULL };
	char dir[] = "/tmp/bbs-unit-XXXXXX", *code = NULL;

	if (mkdtemp(dir) == NULL || setenv("XDG_RUNTIME_DIR", dir, 1) != 0)
		return 2;
	http_cancel();
	if (loopback_listen(&l, 0) != 0 ||
	    loopback_wait(&l, &x, 20000, &code) != BBS_E_CANCELLED)
		return 3;
	loopback_close(&l);
	if (callback_listen(&cl, x.state) != 0 ||
	    callback_wait(&cl, &x, 20000, &code) != BBS_E_CANCELLED)
		return 4;
	callback_close(&cl);
	rmdir(dir);	/* callback_close removed the socket */
	return 0;
}

static void
test_wait_after_signal(void **state)
{
	int64_t start = monotonic_ms();
	int status;
	pid_t pid;

	(void)state;
	if ((pid = fork()) == 0)
		_exit(waits_after_signal());
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* both waits were for 20 s: neither ran out */
	assert_true(monotonic_ms() - start < 10000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkce_vector),
		cmocka_unit_test(test_base64url_decode),
		cmocka_unit_test(test_id_token),
		cmocka_unit_test(test_form_query),
		cmocka_unit_test(test_authz_response),
		cmocka_unit_test(test_err_text),
		cmocka_unit_test(test_authz_error_text),
		cmocka_unit_test(test_authz_code_bytes),
		cmocka_unit_test(test_loopback_request),
		cmocka_unit_test(test_token_json),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_token_syntax),
		cmocka_unit_test(test_token_refused_characters),
		cmocka_unit_test(test_token_lifetimes),
		cmocka_unit_test(test_device_bounds),
		cmocka_unit_test(test_device_text),
		cmocka_unit_test(test_server_text_cleaned),
		cmocka_unit_test(test_text_c1_controls),
		cmocka_unit_test(test_endpoint_urls),
		cmocka_unit_test(test_discovered_endpoints_checked),
		cmocka_unit_test(test_grant_decode_refuses_bad_token),
		cmocka_unit_test(test_wait_after_signal),
	};

	oauth_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
