/* SPDX-License-Identifier: MIT */
/* Unit tests for url.c: URL forms, the loopback rule and URL matching. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "helper.h"

static void
parse_ok(const char *in, const char *url, const char *origin,
    const char *user)
{
	struct remote_url u;

	err_clear();
	assert_int_equal(url_parse(&u, in), 0);
	assert_string_equal(u.url, url);
	assert_string_equal(u.origin, origin);
	if (user == NULL)
		assert_null(u.user);
	else
		assert_string_equal(u.user, user);
	url_release(&u);
}

static void
parse_fails(const char *in, int code)
{
	struct remote_url u;

	err_clear();
	assert_int_equal(url_parse(&u, in), code);
	assert_non_null(err_message());
	assert_null(strchr(err_message(), '\n'));
	err_clear();
}

static void
test_forms(void **state)
{
	parse_ok("bbs::https://bitbucket.org/team/repo.git",
	    "https://bitbucket.org/team/repo.git", "https://bitbucket.org:443",
	    NULL);
	parse_ok("bbs://bitbucket.org/team/repo",
	    "https://bitbucket.org/team/repo", "https://bitbucket.org:443",
	    NULL);
	parse_ok("https://Alice@Bitbucket.ORG/team/repo.git",
	    "https://bitbucket.org/team/repo.git", "https://bitbucket.org:443",
	    "Alice");
	parse_ok("https://a%40b@example.com:8443/x", "https://example.com:8443/x",
	    "https://example.com:8443", "a@b");
	parse_ok("https://example.com", "https://example.com/",
	    "https://example.com:443", NULL);
	parse_ok("https://[::1]:9/r", "https://[::1]:9/r", "https://[::1]:9",
	    NULL);
}

static void
test_loopback_http(void **state)
{
	parse_ok("bbs::http://127.0.0.1:8080/team/repo.git",
	    "http://127.0.0.1:8080/team/repo.git", "http://127.0.0.1:8080",
	    NULL);
	parse_ok("http://127.1.2.3/r", "http://127.1.2.3/r",
	    "http://127.1.2.3:80", NULL);
	parse_ok("http://localhost:1/r", "http://localhost:1/r",
	    "http://localhost:1", NULL);
	parse_ok("http://[::1]:1/r", "http://[::1]:1/r", "http://[::1]:1",
	    NULL);
	parse_fails("http://example.com/r", BBS_E_INSECURE_URL);
	parse_fails("http://127.0.0.1.evil.com/r", BBS_E_INSECURE_URL);
	parse_fails("http://127.0.0.1@evil.com/r", BBS_E_INSECURE_URL);
	parse_fails("http://10.0.0.1/r", BBS_E_INSECURE_URL);
	parse_fails("http://[::2]/r", BBS_E_INSECURE_URL);
	parse_fails("http://0x7f000001/r", BBS_E_INSECURE_URL);
	parse_fails("http://localhost:1@192.0.2.2/r", BBS_E_INVALID);
	parse_fails("http://localhost@192.0.2.2/r", BBS_E_INSECURE_URL);
	parse_fails("http://localhost.evil.example/r", BBS_E_INSECURE_URL);
}

static void
site_is(const char *in, const char *site)
{
	struct remote_url u;

	err_clear();
	assert_int_equal(url_parse(&u, in), 0);
	assert_string_equal(u.site, site);
	url_release(&u);
}

/* the spelling of credential.<url>.* keys: no default port, as git-lfs */
static void
test_site(void **state)
{
	site_is("bbs::https://bitbucket.org/team/repo.git",
	    "https://bitbucket.org");
	site_is("https://Alice@Bitbucket.ORG:443/x", "https://bitbucket.org");
	site_is("https://example.com:8443/x", "https://example.com:8443");
	site_is("http://127.0.0.1:80/r", "http://127.0.0.1");
	site_is("http://127.0.0.1:8080/r", "http://127.0.0.1:8080");
	site_is("http://127.0.0.1:443/r", "http://127.0.0.1:443");
	site_is("https://[::1]/r", "https://[::1]");
	site_is("https://[::1]:9/r", "https://[::1]:9");
}

static void
test_malformed(void **state)
{
	parse_fails("https://user:secret@example.com/r", BBS_E_INVALID);
	parse_fails("ftp://example.com/r", BBS_E_INVALID);
	parse_fails("example.com/r", BBS_E_INVALID);
	parse_fails("https:///r", BBS_E_INVALID);
	parse_fails("https://exa mple.com/r", BBS_E_INVALID);
	parse_fails("https://example.com:0/r", BBS_E_INVALID);
	parse_fails("https://example.com:65536/r", BBS_E_INVALID);
	parse_fails("https://example.com:12ab/r", BBS_E_INVALID);
	parse_fails("https://[::1/r", BBS_E_INVALID);
	parse_fails("https://ex\x01.com/r", BBS_E_INVALID);
	parse_fails("https://*.example.com/r", BBS_E_INVALID);
	parse_fails("https://%zz@example.com/r", BBS_E_INVALID);
	parse_fails("https://a%0ab@example.com/r", BBS_E_INVALID);
	parse_fails("https://a%1bb@example.com/r", BBS_E_INVALID);
	parse_fails("https://example.com?x", BBS_E_INVALID);
}

/* the user name rules, for a user part and for git's credential username */
static void
test_user_check(void **state)
{
	err_clear();
	assert_int_equal(url_user_check("alice"), 0);
	assert_int_equal(url_user_check("j\xc3\xa4ne@example.com"), 0);
	assert_int_equal(url_user_check("a:b"), 0);
	assert_null(err_message());
	assert_int_equal(url_user_check(""), BBS_E_INVALID);
	assert_string_equal(err_message(), "malformed user name in URL");
	err_clear();
	assert_int_equal(url_user_check("a\tb"), BBS_E_INVALID);
	assert_string_equal(err_message(),
	    "a control character in the user name of the URL");
	err_clear();
	assert_int_equal(url_user_check("a\xc2\x85"), BBS_E_INVALID);
	err_clear();
	assert_int_equal(url_user_check("\xff"), BBS_E_INVALID);
	assert_string_equal(err_message(),
	    "the user name of the URL is not UTF-8 text");
	err_clear();
	/* a URL's user part, decoded, meets the same rules */
	parse_fails("https://%ff@example.com/r", BBS_E_INVALID);
	parse_fails("https://@example.com/r", BBS_E_INVALID);
}

/* git's credential "host": host[:port] and nothing a URL parser reads more in */
static void
test_hostport(void **state)
{
	static const char *const ok[] = {
		"bitbucket.org", "Bitbucket.ORG", "git.example:8443",
		"127.0.0.1:1", "[::1]", "[::1]:65535", "a_b-c.example",
	};
	static const char *const bad[] = {
		"", ":443", "alice@bitbucket.org", "a@b@bitbucket.org",
		"bitbucket.org/team", "bitbucket.org?x", "bitbucket.org#x",
		"%62itbucket.org", "bitbucket.org:", "bitbucket.org:0",
		"bitbucket.org:65536", "bitbucket.org:0x50", "bitbucket.org:1:2",
		"[::1", "[::1]x", "[]", "[fe80::1%25lo]", "bit bucket.org",
		"bitbucket.org\t", "bitbucket.org\r", "bit\x7f.org",
		"bitbucket.org\xc2\x85", "b\xc3\xa4r.example", "*.example",
	};
	size_t i;

	for (i = 0; i < BBS_ARRAY_SIZE(ok); i++)
		assert_true(url_hostport_ok(ok[i]));
	for (i = 0; i < BBS_ARRAY_SIZE(bad); i++) {
		err_clear();
		assert_false(url_hostport_ok(bad[i]));
		/* a refusal is silent: no error left behind */
		assert_null(err_message());
	}
}

static void
test_urlmatch(void **state)
{
	struct remote_url u;

	assert_int_equal(url_parse(&u,
	    "https://alice@bitbucket.org/team/repo.git"), 0);
	assert_int_equal(url_match_score("https://bitbucket.org", &u), 0);
	assert_int_equal(url_match_score("https://bitbucket.org/", &u), 0);
	assert_true(url_match_score("https://bitbucket.org/team", &u) > 0);
	assert_true(url_match_score("https://bitbucket.org/team/", &u) > 0);
	assert_true(url_match_score("https://bitbucket.org/team/repo.git",
	    &u) > url_match_score("https://bitbucket.org/team", &u));
	assert_true(url_match_score("https://alice@bitbucket.org", &u) >
	    url_match_score("https://bitbucket.org", &u));
	assert_int_equal(url_match_score("https://bob@bitbucket.org", &u), -1);
	assert_int_equal(url_match_score("https://bitbucket.org/tea", &u), -1);
	assert_int_equal(url_match_score("http://bitbucket.org", &u), -1);
	assert_int_equal(url_match_score("https://bitbucket.org:8443", &u),
	    -1);
	assert_int_equal(url_match_score("https://*.org", &u), 0);
	assert_int_equal(url_match_score("https://*.bitbucket.org", &u), -1);
	assert_int_equal(url_match_score("not a url", &u), -1);
	url_release(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_loopback_http),
		cmocka_unit_test(test_site),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_user_check),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_urlmatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
