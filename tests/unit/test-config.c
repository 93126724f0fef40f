/* SPDX-License-Identifier: MIT */
/* Unit tests for config.c: `git -c` parameters and URL-matched keys. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

static void
collect(const char *name, const char *value, void *payload)
{
	struct buf *b = payload;

	buf_addf(b, "[%s]=[%s]", name, value ? value : "(null)");
}

static void
parse_ok(const char *in, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	err_clear();
	assert_int_equal(config_parse_parameters(in, collect, &b), 0);
	assert_string_equal(b.ptr ? b.ptr : "", want);
	buf_release(&b);
}

static void
test_parameters(void **state)
{
	struct buf b;

	parse_ok("", "");
	parse_ok("'http.sslverify'='false'", "[http.sslverify]=[false]");
	parse_ok("'a.b'='x' 'c.d'='it'\\''s'", "[a.b]=[x][c.d]=[it's]");
	parse_ok("'old.style=v=w'", "[old.style]=[v=w]");
	/* git -c 'credential.helper=!f() { echo; }; f' */
	parse_ok("'credential.helper'=''\\!'f() { echo; }; f'",
	    "[credential.helper]=[!f() { echo; }; f]");
	parse_ok("'a.b'='x'\\!''\\!''\\'''", "[a.b]=[x!!']");
	parse_ok("'bare.bool'", "[bare.bool]=[(null)]");
	/* what git -c name (no value) passes down: the next word is not it */
	parse_ok("'new.bool'=", "[new.bool]=[(null)]");
	parse_ok("'new.bool'= 'x.y'='z' 'e.f'=''",
	    "[new.bool]=[(null)][x.y]=[z][e.f]=[]");
	parse_ok("'http.https://h/p.proxy'=''", "[http.https://h/p.proxy]=[]");
	buf_init(&b, 0);
	assert_true(config_parse_parameters("'unterminated", collect, &b) < 0);
	err_clear();
	assert_true(config_parse_parameters("noquote", collect, &b) < 0);
	err_clear();
	buf_release(&b);
}

static void
test_load_env(void **state)
{
	struct helper_config c;
	struct remote_url u;

	assert_int_equal(url_parse(&u, "https://bitbucket.org/team/r.git"), 0);
	unsetenv("GIT_SSL_CAINFO");
	unsetenv("GIT_SSL_NO_VERIFY");
	setenv("GIT_CONFIG_PARAMETERS", "'http.sslcainfo'='/ca.pem' "
	    "'bbs.https://bitbucket.org/team.gitauth'='bearer' "
	    "'bbs.https://other.org.gitauth'='basic'", 1);
	setenv("BBS_ACCESS_TOKEN", "secret-value", 1);
	unsetenv("GIT_CONFIG_COUNT");
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_string_equal(c.ca_file, "/ca.pem");
	assert_int_equal(c.git_auth, GIT_AUTH_BEARER);
	assert_string_equal(c.token, "secret-value");
	assert_null(getenv("BBS_ACCESS_TOKEN"));
	config_release(&c);

	/* bitbucket.org defaults to Basic x-token-auth */
	setenv("GIT_CONFIG_PARAMETERS", "", 1);
	setenv("GIT_CONFIG_COUNT", "2", 1);
	setenv("GIT_CONFIG_KEY_0", "http.sslVerify", 1);
	setenv("GIT_CONFIG_VALUE_0", "false", 1);
	setenv("GIT_CONFIG_KEY_1", "bbs.gitUsername", 1);
	setenv("GIT_CONFIG_VALUE_1", "ci-bot", 1);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_int_equal(c.git_auth, GIT_AUTH_BASIC);
	assert_int_equal(c.ssl_verify, 0);
	assert_string_equal(c.git_username, "ci-bot");
	assert_null(c.token);
	config_release(&c);

	/* bitbucket.org on another port: no provider of its own */
	unsetenv("BBS_CLIENT_ID");
	url_release(&u);
	assert_int_equal(url_parse(&u, "https://bitbucket.org:8443/t/r.git"),
	    0);
	setenv("GIT_CONFIG_COUNT", "1", 1);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_null(c.oauth.provider);
	assert_null(c.oauth.client_id);
	assert_int_equal(c.git_auth, GIT_AUTH_BEARER);
	config_release(&c);
	url_release(&u);
	assert_int_equal(url_parse(&u, "https://bitbucket.org/team/r.git"), 0);
	setenv("GIT_CONFIG_COUNT", "2", 1);

	setenv("GIT_CONFIG_VALUE_0", "maybe", 1);
	err_clear();
	assert_int_equal(config_load(&c, NULL, &u), BBS_E_INVALID);
	err_clear();
	config_release(&c);
	setenv("GIT_CONFIG_COUNT", "3", 1);
	assert_int_equal(config_load(&c, NULL, &u), BBS_E_INVALID);
	err_clear();
	config_release(&c);
	unsetenv("GIT_CONFIG_COUNT");
	unsetenv("GIT_CONFIG_PARAMETERS");
	url_release(&u);
}

/* git's authentication follows the provider in use, not the host */
static void
test_git_auth_of_provider(void **state)
{
	struct helper_config c;
	struct remote_url u;

	unsetenv("GIT_CONFIG_COUNT");
	unsetenv("BBS_ACCESS_TOKEN");
	unsetenv("BBS_CLIENT_ID");
	assert_int_equal(url_parse(&u, "https://git.example:8443/t/r.git"), 0);
	setenv("GIT_CONFIG_PARAMETERS", "'bbs.https://git.example:8443."
	    "provider'='bitbucket-cloud'", 1);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_int_equal(c.git_auth, GIT_AUTH_BASIC);
	assert_string_equal(c.git_username, "x-token-auth");
	config_release(&c);

	/* explicit settings still win */
	setenv("GIT_CONFIG_PARAMETERS", "'bbs.https://git.example:8443."
	    "provider'='bitbucket-cloud' 'bbs.gitauth'='bearer' "
	    "'bbs.gitusername'='ci'", 1);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_int_equal(c.git_auth, GIT_AUTH_BEARER);
	assert_string_equal(c.git_username, "ci");
	config_release(&c);

	/* no provider at all: generic's defaults */
	unsetenv("GIT_CONFIG_PARAMETERS");
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_null(c.oauth.provider);
	assert_int_equal(c.git_auth, GIT_AUTH_BEARER);
	config_release(&c);
	url_release(&u);

	/* another provider configured for bitbucket.org: its defaults */
	assert_int_equal(url_parse(&u, "https://bitbucket.org/t/r.git"), 0);
	setenv("GIT_CONFIG_PARAMETERS", "'bbs.https://bitbucket.org.provider'="
	    "'generic' 'bbs.https://bitbucket.org.issuer'='https://id.example'",
	    1);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_int_equal(c.git_auth, GIT_AUTH_BEARER);
	config_release(&c);

	/* a bad gitAuth is refused whatever the provider */
	setenv("GIT_CONFIG_PARAMETERS", "'bbs.gitauth'='token'", 1);
	err_clear();
	assert_int_equal(config_load(&c, NULL, &u), BBS_E_INVALID);
	assert_non_null(strstr(err_message(), "gitAuth"));
	err_clear();
	config_release(&c);
	unsetenv("GIT_CONFIG_PARAMETERS");
	url_release(&u);
}

static void
test_token_variables(void **state)
{
	struct helper_config c;
	struct remote_url u;

	assert_int_equal(url_parse(&u, "https://git.example/team/r.git"), 0);
	unsetenv("GIT_CONFIG_PARAMETERS");
	unsetenv("GIT_CONFIG_COUNT");
	unsetenv("BBS_REFRESH_TOKEN");
	setenv("BBS_ACCESS_TOKEN", "at_x\r\nX-Injected: 1", 1);
	err_clear();
	assert_int_equal(config_load(&c, NULL, &u), BBS_E_INVALID);
	assert_non_null(strstr(err_message(), "BBS_ACCESS_TOKEN"));
	assert_null(strpbrk(err_message(), "\r\n"));
	assert_null(getenv("BBS_ACCESS_TOKEN"));
	assert_null(c.token);
	err_clear();
	config_release(&c);

	setenv("BBS_REFRESH_TOKEN", "rt with spaces", 1);
	assert_int_equal(config_load(&c, NULL, &u), BBS_E_INVALID);
	assert_non_null(strstr(err_message(), "BBS_REFRESH_TOKEN"));
	assert_null(getenv("BBS_REFRESH_TOKEN"));
	err_clear();
	config_release(&c);

	setenv("BBS_REFRESH_TOKEN", "rt_good==", 1);
	setenv("BBS_ACCESS_TOKEN", "at_good", 1);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_string_equal(c.oauth.refresh_seed, "rt_good==");
	assert_string_equal(c.token, "at_good");
	config_release(&c);
	url_release(&u);
}

static void
test_http_per_url(void **state)
{
	struct http_url_settings hs;
	struct helper_config c;
	struct remote_url u;

	unsetenv("GIT_SSL_CAINFO");
	unsetenv("GIT_SSL_CAPATH");
	unsetenv("GIT_SSL_NO_VERIFY");
	unsetenv("GIT_HTTP_LOW_SPEED_TIME");
	unsetenv("GIT_CONFIG_COUNT");
	setenv("GIT_CONFIG_PARAMETERS",
	    "'http.https://git.example:8443.sslverify'='false' "
	    "'http.https://git.example:8443/team.proxy'='http://127.0.0.1:9' "
	    "'http.https://alice@git.example:8443.sslcainfo'='/alice.pem' "
	    "'http.sslcapath'='/capath' "
	    "'http.https://as.example.sslcainfo'='/as.pem'", 1);
	assert_int_equal(url_parse(&u,
	    "https://alice@git.example:8443/team/r.git"), 0);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_int_equal(c.ssl_verify, 0);
	assert_string_equal(c.proxy, "http://127.0.0.1:9");

	/* the git URL itself, as requested (without the user part) */
	assert_int_equal(config_http_resolve(&c,
	    "https://git.example:8443/team/r.git/info/refs", &hs), 0);
	assert_int_equal(hs.ssl_verify, 0);
	assert_string_equal(hs.proxy, "http://127.0.0.1:9");
	assert_string_equal(hs.ca_file, "/alice.pem");
	assert_string_equal(hs.ca_path, "/capath");
	http_url_settings_release(&hs);

	/* an OAuth endpoint on another origin gets its own settings */
	assert_int_equal(config_http_resolve(&c,
	    "https://git.example:9443/token", &hs), 0);
	assert_int_equal(hs.ssl_verify, 1);
	assert_null(hs.proxy);
	assert_null(hs.ca_file);
	assert_string_equal(hs.ca_path, "/capath");
	http_url_settings_release(&hs);
	assert_int_equal(config_http_resolve(&c,
	    "https://as.example/oauth/token", &hs), 0);
	assert_int_equal(hs.ssl_verify, 1);
	assert_string_equal(hs.ca_file, "/as.pem");
	http_url_settings_release(&hs);

	/* the same origin, another path: no proxy of /team */
	assert_int_equal(config_http_resolve(&c,
	    "https://git.example:8443/oauth/token", &hs), 0);
	assert_int_equal(hs.ssl_verify, 0);
	assert_null(hs.proxy);
	http_url_settings_release(&hs);

	/* GIT_SSL_NO_VERIFY applies to every URL, as in git */
	setenv("GIT_SSL_NO_VERIFY", "1", 1);
	assert_int_equal(config_http_resolve(&c, "https://as.example/t", &hs),
	    0);
	assert_int_equal(hs.ssl_verify, 0);
	http_url_settings_release(&hs);
	unsetenv("GIT_SSL_NO_VERIFY");
	err_clear();
	assert_true(config_http_resolve(&c, "not a url", &hs) < 0);
	err_clear();
	config_release(&c);
	url_release(&u);
	unsetenv("GIT_CONFIG_PARAMETERS");
}

static int
cred_from(struct cred *c, const char *text, size_t len)
{
	FILE *f = fmemopen((void *)text, len, "r");
	int r;

	assert_non_null(f);
	err_clear();
	r = cred_read(c, f);
	fclose(f);
	return r;
}

static void
test_credential_protocol(void **state)
{
	static const char nul[] = "protocol=https\nhost=a\0b\n\n";
	const char *ok = "protocol=https\r\nhost=h:1\r\npassword=p\r\nx=y\n\n"
	    "username=after-the-blank-line\n";
	const char *kv[] = { "username", "u", "password", "a\nusername=evil",
		NULL };
	const char *kv2[] = { "username", "u\r", NULL };
	const char *kv3[] = { "username", "u", "password", "p", NULL };
	char *out = NULL;
	size_t len = 0;
	struct cred c;
	FILE *f;

	assert_int_equal(cred_from(&c, ok, strlen(ok)), 0);
	assert_string_equal(c.protocol, "https");
	assert_string_equal(c.host, "h:1");
	assert_string_equal(c.password, "p");
	assert_null(c.username);
	cred_release(&c);
	assert_int_equal(cred_from(&c, nul, sizeof(nul) - 1), BBS_E_PROTOCOL);
	assert_null(c.protocol);
	err_clear();
	assert_int_equal(cred_from(&c, "username=a\r\r\n", 13), BBS_E_PROTOCOL);
	assert_null(c.username);
	err_clear();

	f = open_memstream(&out, &len);
	assert_int_equal(cred_write(f, kv), BBS_E_INVALID);
	assert_int_equal(cred_write(f, kv2), BBS_E_INVALID);
	err_clear();
	assert_int_equal(cred_write(f, kv3), 0);
	fclose(f);
	assert_string_equal(out, "username=u\npassword=p\n");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parameters),
		cmocka_unit_test(test_load_env),
		cmocka_unit_test(test_git_auth_of_provider),
		cmocka_unit_test(test_token_variables),
		cmocka_unit_test(test_http_per_url),
		cmocka_unit_test(test_credential_protocol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
