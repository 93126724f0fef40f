/* SPDX-License-Identifier: MIT */
/*
 * provider.c - what the helper knows about each kind of server: default
 * endpoints, scopes, how git is authenticated, which sign-in flow fits,
 * and the OAuth client a distributor built in.
 *
 * One table entry per provider.  Adding a provider is one entry here and
 * its tests (tests/unit/test-provider.c checks every entry's invariants).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "helper.h"

/*
 * The client built in with ./configure --with-bitbucket-cloud-client-*:
 * a generated header that defines BBS_BITBUCKET_CLOUD_CLIENT_ID and
 * BBS_BITBUCKET_CLOUD_CLIENT_SECRET, or nothing.  The test-only build of
 * the programs names another header (Makefile.am).
 */
#ifndef BBS_EMBEDDED_CLIENT_H
#define BBS_EMBEDDED_CLIENT_H "remote-helper/embedded-client.h"
#endif
#include BBS_EMBEDDED_CLIENT_H

#if defined(BBS_BITBUCKET_CLOUD_CLIENT_ID) && \
    defined(BBS_BITBUCKET_CLOUD_CLIENT_SECRET)
/*
 * A distributor's consumer is a desktop consumer: its one callback URL
 * is the private-use scheme, which `git bbs login` registers with the
 * operating system before it opens the browser.
 */
static const struct provider_client bitbucket_cloud_client = {
	.id = BBS_BITBUCKET_CLOUD_CLIENT_ID,
	.secret = BBS_BITBUCKET_CLOUD_CLIENT_SECRET,
	.redirect_uri = "org.git-remote-bbs:/callback",
};
#define BITBUCKET_CLOUD_CLIENT (&bitbucket_cloud_client)
#else
#define BITBUCKET_CLOUD_CLIENT NULL
#endif

static const struct provider providers[] = {
	{
		.name = "bitbucket-cloud",
		.host = "bitbucket.org",
		.authorize_url = "https://bitbucket.org/site/oauth2/authorize",
		.token_url = "https://bitbucket.org/site/oauth2/access_token",
		.userinfo_url = "https://api.bitbucket.org/2.0/user",
		.default_scopes = "repository:write account",
		.write_scopes = "repository:write account",
		.git_auth = GIT_AUTH_BASIC,
		.git_username = "x-token-auth",
		/* every consumer has a secret: it does not mean CI */
		.secret_means_client_credentials = 0,
		/* answers 403, not 401, when git-lfs sends no credentials */
		.lfs_basic_upfront = 1,
		.client = BITBUCKET_CLOUD_CLIENT,
	},
	{
		.name = "bitbucket-datacenter",
		.base_marker = "/scm/",
		.authorize_url = "/rest/oauth2/latest/authorize",
		.token_url = "/rest/oauth2/latest/token",
		.default_scopes = "REPO_WRITE",
		.write_scopes = "REPO_WRITE",
		.git_auth = GIT_AUTH_BEARER,
		.git_username = "x-token-auth",
		.redirect_on_refresh = 1,
		.secret_means_client_credentials = 1,
	},
	{
		.name = "generic",
		.git_auth = GIT_AUTH_BEARER,
		.git_username = "x-token-auth",
		.needs_issuer_or_token_url = 1,
		.secret_means_client_credentials = 1,
	},
};

size_t
provider_count(void)
{
	return BBS_ARRAY_SIZE(providers);
}

const struct provider *
provider_at(size_t i)
{
	return i < BBS_ARRAY_SIZE(providers) ? &providers[i] : NULL;
}

const struct provider *
provider_by_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < BBS_ARRAY_SIZE(providers); i++)
		if (strcmp(providers[i].name, name) == 0)
			return &providers[i];
	return NULL;
}

const struct provider *
provider_by_host(const char *host)
{
	size_t i;

	if (host == NULL)
		return NULL;
	for (i = 0; i < BBS_ARRAY_SIZE(providers); i++)
		if (providers[i].host != NULL &&
		    strcasecmp(providers[i].host, host) == 0)
			return &providers[i];
	return NULL;
}

/*
 * The host alone does not name the service: another port of the same
 * host is another server (a proxy, a test instance) that must not get
 * the built-in endpoints, client or grants.  Only https on its default
 * port is the provider's own origin.
 */
const struct provider *
provider_by_url(const struct remote_url *u)
{
	if (u == NULL || u->scheme == NULL || strcmp(u->scheme, "https") != 0 ||
	    u->port != 443)
		return NULL;
	return provider_by_host(u->host);
}

const struct provider *
provider_generic(void)
{
	return provider_by_name("generic");
}

char *
provider_names(void)
{
	struct buf b;
	size_t i, n = BBS_ARRAY_SIZE(providers);
	char *out;

	buf_init(&b, 4096);
	for (i = 0; i < n; i++)
		if (buf_addf(&b, "%s%s", i == 0 ? "" : i + 1 == n ? " or " :
		    ", ", providers[i].name) != 0)
			break;
	out = xstrdup(b.ptr != NULL ? b.ptr : "");
	buf_release(&b);
	return out;
}

char *
provider_base(const struct provider *p, const struct remote_url *u)
{
	const char *m = p->base_marker ? strstr(u->url, p->base_marker) : NULL;

	if (m != NULL)
		return xstrndup(u->url, (size_t)(m - u->url));
	return xstrndup(u->url, strlen(u->url) - strlen(u->path));
}

char *
provider_endpoint(const char *tmpl, const char *base)
{
	if (tmpl == NULL)
		return NULL;
	if (tmpl[0] == '/')
		return xasprintf("%s%s", base != NULL ? base : "", tmpl);
	return xstrdup(tmpl);
}
