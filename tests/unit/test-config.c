/* Unit tests for config.c: `git -c` parameters and URL-matched keys. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parameters),
		cmocka_unit_test(test_load_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
