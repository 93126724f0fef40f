/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for provider.c: lookup, and the invariants every entry of
 * the provider table must keep.  A new provider is checked here by being
 * in the table; its own facts get a test of their own below.
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

#include "helper.h"

/* An endpoint template: an https URL, or a path when a base is known. */
static void
check_endpoint(const struct provider *p, const char *tmpl)
{
	if (tmpl == NULL)
		return;
	if (tmpl[0] == '/')
		assert_non_null(p->base_marker);
	else
		assert_int_equal(strncmp(tmpl, "https://", 8), 0);
	assert_null(strpbrk(tmpl, " \t\r\n\"'"));
}

static void
test_invariants(void **state)
{
	size_t i, j, n = provider_count();

	assert_true(n >= 3);
	assert_null(provider_at(n));
	for (i = 0; i < n; i++) {
		const struct provider *p = provider_at(i);

		assert_non_null(p);
		assert_non_null(p->name);
		assert_true(p->name[0] != '\0');
		assert_ptr_equal(provider_by_name(p->name), p);
		for (j = 0; j < i; j++) {
			const struct provider *q = provider_at(j);

			assert_string_not_equal(q->name, p->name);
			if (p->host != NULL && q->host != NULL)
				assert_string_not_equal(q->host, p->host);
		}
		if (p->host != NULL)
			assert_ptr_equal(provider_by_host(p->host), p);
		check_endpoint(p, p->authorize_url);
		check_endpoint(p, p->token_url);
		check_endpoint(p, p->userinfo_url);
		/* a provider that knows its token endpoint knows its sign-in */
		assert_true((p->token_url == NULL) ==
		    (p->authorize_url == NULL));
		/* without endpoints of its own, one must be configured */
		if (p->token_url == NULL)
			assert_true(p->needs_issuer_or_token_url);
		/* a push must be able to ask for what a clone asks for */
		if (p->default_scopes != NULL)
			assert_non_null(p->write_scopes);
		assert_non_null(p->git_username);
		assert_null(strchr(p->git_username, ':'));
		assert_true(p->git_auth == GIT_AUTH_BASIC ||
		    p->git_auth == GIT_AUTH_BEARER);
		if (p->client != NULL) {
			/* only a provider with fixed endpoints gets one */
			assert_non_null(p->host);
			assert_non_null(p->token_url);
			assert_true(p->client->id[0] != '\0');
			assert_true(p->client->secret[0] != '\0');
			assert_non_null(p->client->redirect_uri);
		}
	}
	assert_non_null(provider_generic());
	assert_null(provider_generic()->host);
}

static void
test_lookup(void **state)
{
	char *names = provider_names();

	assert_string_equal(names,
	    "bitbucket-cloud, bitbucket-datacenter or generic");
	free(names);
	assert_string_equal(provider_by_host("bitbucket.org")->name,
	    "bitbucket-cloud");
	assert_ptr_equal(provider_by_host("BitBucket.org"),
	    provider_by_host("bitbucket.org"));
	assert_null(provider_by_host("bitbucket.org.example"));
	assert_null(provider_by_host("example.org"));
	assert_null(provider_by_host(NULL));
	assert_null(provider_by_name("Bitbucket-Cloud"));
	assert_null(provider_by_name("gitlab"));
	assert_null(provider_by_name(NULL));
}

/* A provider is chosen by its host over https on the default port only. */
static void
test_by_url(void **state)
{
	static const struct {
		const char *url;
		const char *provider;	/* NULL: none */
	} cases[] = {
		{ "https://bitbucket.org/team/r.git", "bitbucket-cloud" },
		{ "https://BitBucket.org:443/team/r.git", "bitbucket-cloud" },
		{ "https://alice@bitbucket.org/team/r.git", "bitbucket-cloud" },
		{ "https://bitbucket.org:8443/team/r.git", NULL },
		{ "https://bitbucket.org:80/team/r.git", NULL },
		{ "https://bitbucket.org.example/team/r.git", NULL },
		{ "https://git.example/team/r.git", NULL },
	};
	struct remote_url u;
	size_t i;

	for (i = 0; i < BBS_ARRAY_SIZE(cases); i++) {
		const struct provider *p;

		assert_int_equal(url_parse(&u, cases[i].url), 0);
		p = provider_by_url(&u);
		if (cases[i].provider == NULL)
			assert_null(p);
		else
			assert_string_equal(p->name, cases[i].provider);
		url_release(&u);
	}
	/* plain http is another scheme, whatever its port */
	assert_int_equal(url_parse_pattern(&u, "http://bitbucket.org:443/"),
	    0);
	assert_null(provider_by_url(&u));
	url_release(&u);
	assert_null(provider_by_url(NULL));
}

/* The facts of SPEC.md's provider table, entry by entry. */
static void
test_bitbucket(void **state)
{
	const struct provider *c = provider_by_name("bitbucket-cloud");
	const struct provider *d = provider_by_name("bitbucket-datacenter");
	struct remote_url u;
	char *base, *ep;

	assert_string_equal(c->token_url,
	    "https://bitbucket.org/site/oauth2/access_token");
	assert_string_equal(c->authorize_url,
	    "https://bitbucket.org/site/oauth2/authorize");
	assert_int_equal(c->git_auth, GIT_AUTH_BASIC);
	assert_string_equal(c->git_username, "x-token-auth");
	assert_false(c->secret_means_client_credentials);
	assert_true(c->lfs_basic_upfront);
	assert_int_equal(d->git_auth, GIT_AUTH_BEARER);
	assert_true(d->redirect_on_refresh);
	assert_null(d->host);

	assert_int_equal(url_parse(&u,
	    "https://dc.example:8443/bitbucket/scm/team/r.git"), 0);
	base = provider_base(d, &u);
	assert_string_equal(base, "https://dc.example:8443/bitbucket");
	ep = provider_endpoint(d->token_url, base);
	assert_string_equal(ep,
	    "https://dc.example:8443/bitbucket/rest/oauth2/latest/token");
	free(ep);
	free(base);
	url_release(&u);
	assert_int_equal(url_parse(&u, "https://dc.example/team/r.git"), 0);
	base = provider_base(d, &u);
	assert_string_equal(base, "https://dc.example");
	free(base);
	url_release(&u);
	assert_null(provider_endpoint(NULL, "https://x"));
}

/* config.c resolves through the table: host, name, unknown names. */
static void
test_config_resolution(void **state)
{
	struct helper_config c;
	struct remote_url u;

	unsetenv("GIT_CONFIG_COUNT");
	unsetenv("BBS_CLIENT_ID");
	unsetenv("BBS_CLIENT_SECRET");
	setenv("GIT_CONFIG_PARAMETERS",
	    "'bbs.https://dc.example.provider'='bitbucket-datacenter' "
	    "'bbs.https://bad.example.provider'='gitlab' "
	    "'bbs.https://bitbucket.org.clientid'='mine'", 1);
	assert_int_equal(url_parse(&u, "https://bitbucket.org/t/r.git"), 0);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_string_equal(c.oauth.provider, "bitbucket-cloud");
	assert_int_equal(c.git_auth, GIT_AUTH_BASIC);
	/* the user's client: never the built-in secret, nor its redirect */
	assert_string_equal(c.oauth.client_id, "mine");
	assert_null(c.oauth.client_secret);
	assert_null(c.oauth.redirect_uri);
	assert_string_equal(c.oauth.client_from, "bbs.<url>.clientId");
	config_release(&c);
	url_release(&u);

	assert_int_equal(url_parse(&u, "https://dc.example/scm/t/r.git"), 0);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_string_equal(c.oauth.provider, "bitbucket-datacenter");
	assert_int_equal(c.git_auth, GIT_AUTH_BEARER);
	assert_null(c.oauth.client_id);
	config_release(&c);
	url_release(&u);

	assert_int_equal(url_parse(&u, "https://bad.example/t/r.git"), 0);
	assert_int_equal(config_load(&c, NULL, &u), BBS_E_INVALID);
	assert_string_equal(err_message(), "unknown provider 'gitlab' (use "
	    "bitbucket-cloud, bitbucket-datacenter or generic)");
	err_clear();
	config_release(&c);
	url_release(&u);
	unsetenv("GIT_CONFIG_PARAMETERS");
}

#ifdef BBS_EMBEDDED_CLIENT_H
/*
 * Built with the test client (Makefile.am): it is the default for
 * bitbucket.org when no client is configured, and only then.
 */
static void
test_builtin_client(void **state)
{
	const struct provider_client *pc =
	    provider_by_name("bitbucket-cloud")->client;
	struct helper_config c;
	struct remote_url u;

	assert_non_null(pc);
	unsetenv("GIT_CONFIG_COUNT");
	unsetenv("BBS_CLIENT_ID");
	unsetenv("BBS_CLIENT_SECRET");
	unsetenv("GIT_CONFIG_PARAMETERS");
	assert_int_equal(url_parse(&u, "https://bitbucket.org/t/r.git"), 0);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_string_equal(c.oauth.client_id, pc->id);
	assert_string_equal(c.oauth.client_secret, pc->secret);
	assert_ptr_not_equal(c.oauth.client_secret, pc->secret);	/* a copy */
	assert_string_equal(c.oauth.redirect_uri,
	    "org.git-remote-bbs:/callback");
	assert_string_equal(c.oauth.client_from, CLIENT_BUILTIN);
	config_release(&c);

	/* a redirect of your own is kept */
	setenv("GIT_CONFIG_PARAMETERS", "'bbs.https://bitbucket.org."
	    "redirecturi'='http://127.0.0.1/cb'", 1);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_string_equal(c.oauth.redirect_uri, "http://127.0.0.1/cb");
	assert_string_equal(c.oauth.client_from, CLIENT_BUILTIN);
	config_release(&c);

	/* your id, even the same one: none of the built-in client */
	setenv("GIT_CONFIG_PARAMETERS", "'bbs.https://bitbucket.org."
	    "clientid'='bbs-embedded-test-client'", 1);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_string_equal(c.oauth.client_id, pc->id);
	assert_null(c.oauth.client_secret);
	assert_null(c.oauth.redirect_uri);
	assert_string_equal(c.oauth.client_from, "bbs.<url>.clientId");
	config_release(&c);

	/* a secret of your own without an id: no built-in id for it */
	unsetenv("GIT_CONFIG_PARAMETERS");
	setenv("BBS_CLIENT_SECRET", "mine", 1);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_null(c.oauth.client_id);
	assert_string_equal(c.oauth.client_secret, "mine");
	config_release(&c);
	unsetenv("BBS_CLIENT_SECRET");

	/* another provider gets nothing */
	setenv("GIT_CONFIG_PARAMETERS", "'bbs.https://bitbucket.org."
	    "provider'='generic' 'bbs.https://bitbucket.org.issuer'="
	    "'https://id.example'", 1);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_null(c.oauth.client_id);
	assert_null(c.oauth.client_secret);
	config_release(&c);
	unsetenv("GIT_CONFIG_PARAMETERS");
	url_release(&u);

	/* another port of bitbucket.org is another server: not for it */
	assert_int_equal(url_parse(&u, "https://bitbucket.org:8443/t/r.git"),
	    0);
	assert_int_equal(config_load(&c, NULL, &u), 0);
	assert_null(c.oauth.provider);
	assert_null(c.oauth.client_id);
	assert_null(c.oauth.client_secret);
	config_release(&c);
	url_release(&u);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_by_url),
		cmocka_unit_test(test_bitbucket),
		cmocka_unit_test(test_config_resolution),
#ifdef BBS_EMBEDDED_CLIENT_H
		cmocka_unit_test(test_builtin_client),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
