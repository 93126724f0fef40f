/* SPDX-License-Identifier: MIT */
/*
 * url.c - the one parser for http(s) URLs, and the rule for the URLs of
 * the authorization server: https, or plain http to a loopback host only,
 * and never a user name or password in the URL.
 *
 * The loopback verdict is taken on the host as parsed here, the way
 * libcurl will connect, so "http://localhost:1@192.0.2.2/" is a URL for
 * 192.0.2.2 with the user "localhost", not a loopback one.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "oauth.h"

void
oauth_url_release(struct oauth_url *u)
{
	if (u == NULL)
		return;
	free(u->scheme);
	secret_free(u->userinfo);
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

static int
reg_name_char(int c, int wildcard)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' ||
	    (wildcard && c == '*');
}

/* The host of [s, end): "[v6]" or a registered name or IPv4 address. */
static int
url_host(struct oauth_url *u, const char *s, const char *end, int wildcard,
    const char **port)
{
	const char *h;

	*port = NULL;
	if (*s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));

		if (close == NULL || close == s + 1)
			return err_set(BBS_E_INVALID, "malformed IPv6 address "
			    "in URL");
		for (h = s + 1; h < close; h++)
			if (!isxdigit((unsigned char)*h) && *h != ':' &&
			    *h != '.')
				return err_set(BBS_E_INVALID, "malformed IPv6 "
				    "address in URL");
		if (close + 1 < end && close[1] == ':')
			*port = close + 2;
		else if (close + 1 != end)
			return err_set(BBS_E_INVALID, "malformed host in URL");
		u->host = xstrndup(s + 1, (size_t)(close - s - 1));
	} else {
		const char *colon = memchr(s, ':', (size_t)(end - s));

		if (colon != NULL) {
			*port = colon + 1;
			end = colon;
		}
		for (h = s; h < end; h++)
			if (!reg_name_char((unsigned char)*h, wildcard))
				return err_set(BBS_E_INVALID, "malformed host "
				    "in URL");
		u->host = xstrndup(s, (size_t)(end - s));
	}
	for (h = u->host; *h != '\0'; h++)
		u->host[h - u->host] = (char)tolower((unsigned char)*h);
	if (u->host[0] == '\0')
		return err_set(BBS_E_INVALID, "URL has no host");
	return 0;
}

/* The port in [p, end); `p` NULL means the scheme's default. */
static int
url_port(struct oauth_url *u, const char *p, const char *end)
{
	long n = 0;

	if (p == NULL) {
		u->port = strcmp(u->scheme, "https") == 0 ? 443 : 80;
		return 0;
	}
	if (p == end)
		return err_set(BBS_E_INVALID, "malformed port in URL");
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p) || n > 65535)
			return err_set(BBS_E_INVALID, "malformed port in URL");
		n = n * 10 + (*p - '0');
	}
	if (n < 1 || n > 65535)
		return err_set(BBS_E_INVALID, "malformed port in URL");
	u->port = (int)n;
	return 0;
}

static int
url_scheme(struct oauth_url *u, const char *s, const char **rest)
{
	const char *p = strstr(s, "://");
	size_t i;

	if (p == NULL || p == s)
		return err_set(BBS_E_INVALID, "not a URL");
	u->scheme = xstrndup(s, (size_t)(p - s));
	for (i = 0; u->scheme[i] != '\0'; i++)
		u->scheme[i] = (char)tolower((unsigned char)u->scheme[i]);
	if (strcmp(u->scheme, "http") != 0 && strcmp(u->scheme, "https") != 0)
		return err_set(BBS_E_INVALID, "unsupported URL scheme '%.16s' "
		    "(use https)", u->scheme);
	*rest = p + 3;
	return 0;
}

int
oauth_url_parse(struct oauth_url *out, const char *s, int flags)
{
	const char *auth = NULL, *auth_end, *at = NULL, *host, *port, *p;
	int r;

	memset(out, 0, sizeof(*out));
	/* a URL is printed for the user to open: C1 controls count too */
	if (strchr(s, ' ') != NULL || oauth_text_has_control(s))
		return err_set(BBS_E_INVALID, "URL contains a space or "
		    "control character");
	if ((r = url_scheme(out, s, &auth)) != 0)
		goto fail;
	auth_end = auth + strcspn(auth, "/?#");
	/* the user part ends at the last '@' of the authority */
	for (p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	host = auth;
	if (at != NULL) {
		out->userinfo = xstrndup(auth, (size_t)(at - auth));
		host = at + 1;
	}
	if ((r = url_host(out, host, auth_end,
	    (flags & OAUTH_URL_WILDCARD) != 0, &port)) != 0 ||
	    (r = url_port(out, port, auth_end)) != 0)
		goto fail;
	out->port_given = port != NULL;
	out->path_at = (size_t)(auth_end - s);
	out->path = xstrdup(*auth_end == '\0' ? "/" : auth_end);
	return 0;
fail:
	oauth_url_release(out);
	return r;
}

int
oauth_url_is_loopback(const struct oauth_url *u)
{
	return u->host != NULL && strchr(u->host, '*') == NULL &&
	    http_host_is_loopback(u->host);
}

int
oauth_endpoint_check(const char *what, const char *url)
{
	struct oauth_url u;
	int r;

	if (url == NULL)
		return 0;
	if ((r = oauth_url_parse(&u, url, 0)) != 0)
		return err_reword(r, "the %s URL is unusable", what);
	if (u.userinfo != NULL)
		r = err_set(BBS_E_INVALID, "the %s URL must not carry a user "
		    "name or password", what);
	else if (strcmp(u.scheme, "https") != 0 && !oauth_url_is_loopback(&u))
		r = err_set(BBS_E_INSECURE_URL, "refusing plain http to the "
		    "%s at '%.200s': only loopback may use http", what, u.host);
	oauth_url_release(&u);
	return r;
}

int
oauth_endpoints_check(const struct oauth_endpoints *e)
{
	int r;

	if ((r = oauth_endpoint_check("issuer", e->issuer)) != 0 ||
	    (r = oauth_endpoint_check("authorization endpoint",
	    e->authorize_url)) != 0 ||
	    (r = oauth_endpoint_check("token endpoint", e->token_url)) != 0 ||
	    (r = oauth_endpoint_check("device authorization endpoint",
	    e->device_url)) != 0 ||
	    (r = oauth_endpoint_check("revocation endpoint",
	    e->revocation_url)) != 0 ||
	    (r = oauth_endpoint_check("user-info endpoint",
	    e->userinfo_url)) != 0 ||
	    (r = oauth_endpoint_check("introspection endpoint",
	    e->introspection_url)) != 0)
		return r;
	return 0;
}
