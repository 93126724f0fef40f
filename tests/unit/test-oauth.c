/*
 * Unit tests for the OAuth building blocks: PKCE (RFC 7636 Appendix B),
 * form encoding and query parsing, authorization-response checks, token
 * and metadata JSON, and the token store's atomic write and permissions.
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
	store_put(&s, "https://as t1", "alice", "generic", &t);
	assert_null(t.access_token);
	assert_int_equal(store_save(&s), 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkce_vector),
		cmocka_unit_test(test_form_query),
		cmocka_unit_test(test_authz_response),
		cmocka_unit_test(test_authz_code_bytes),
		cmocka_unit_test(test_loopback_request),
		cmocka_unit_test(test_token_json),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_store),
	};

	oauth_json_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
