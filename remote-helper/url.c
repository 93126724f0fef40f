/* SPDX-License-Identifier: MIT */
/*
 * url.c - the URL rules: bbs:: and bbs:// forms, the user part that selects
 * an account, plain http only to loopback, and git-style URL matching for
 * bbs.<url>.* and http.<url>.* configuration.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "helper.h"

void
url_release(struct remote_url *u)
{
	if (u == NULL)
		return;
	free(u->scheme);
	free(u->user);
	free(u->host);
	free(u->path);
	free(u->url);
	free(u->origin);
	free(u->site);
	memset(u, 0, sizeof(*u));
}

int
url_user_check(const char *user)
{
	if (user[0] == '\0')
		return err_set(BBS_E_INVALID, "malformed user name in URL");
	if (oauth_text_has_control(user))
		return err_set(BBS_E_INVALID, "a control character in the "
		    "user name of the URL");
	/* the account a grant is kept for: JSON holds UTF-8 only */
	if (!oauth_text_is_utf8(user))
		return err_set(BBS_E_INVALID, "the user name of the URL is not "
		    "UTF-8 text");
	return 0;
}

/*
 * Split scheme://[user@]host[:port][/path] into `u` with the one URL parser
 * (oauth_url_parse); a password in the user part is refused, and patterns
 * (`wildcard`) may have '*' in the host.
 */
static int
url_split(struct remote_url *u, const char *s, int wildcard)
{
	struct oauth_url ou;
	int r;

	memset(u, 0, sizeof(*u));
	if ((r = oauth_url_parse(&ou, s, wildcard ? OAUTH_URL_WILDCARD : 0)) !=
	    0) {
		if (strstr(s, "://") == NULL) {
			err_clear();
			r = err_set(BBS_E_INVALID, "'%s' is not a URL", s);
		}
		return r;
	}
	if (ou.path[0] != '/') {
		r = err_set(BBS_E_INVALID, "malformed URL");
		goto out;
	}
	if (ou.userinfo != NULL) {
		if (strchr(ou.userinfo, ':') != NULL) {
			r = err_set(BBS_E_INVALID, "a URL must not carry a "
			    "password or token; remove it from the URL");
			goto out;
		}
		u->user = percent_decode(ou.userinfo, strlen(ou.userinfo), 0);
		if (u->user == NULL) {
			r = err_set(BBS_E_INVALID, "malformed user name in URL");
			goto out;
		}
		if ((r = url_user_check(u->user)) != 0)
			goto out;
	}
	u->scheme = ou.scheme;
	u->host = ou.host;
	u->port = ou.port;
	u->path = ou.path;
	ou.scheme = ou.host = ou.path = NULL;
out:
	oauth_url_release(&ou);
	if (r != 0)
		url_release(u);
	return r;
}

/*
 * Whether `s` is host[:port] and nothing more: a registered name or IPv4
 * address, or an IPv6 address in brackets, and a port of digits.  The
 * parser would read '@' as the end of a user part and '/', '?' or '#' as
 * the end of the authority, so those are refused first; it refuses '%',
 * spaces and control characters in a host itself.
 */
int
url_hostport_ok(const char *s)
{
	struct oauth_url ou;
	char *u;
	int r;

	if (strpbrk(s, "@/?#") != NULL)
		return 0;
	u = xasprintf("https://%s", s);
	r = oauth_url_parse(&ou, u, 0);
	free(u);
	if (r != 0) {
		err_clear();
		return 0;
	}
	oauth_url_release(&ou);
	return 1;
}

static void
url_finish(struct remote_url *u)
{
	int def = strcmp(u->scheme, "https") == 0 ? 443 : 80;
	int v6 = strchr(u->host, ':') != NULL;
	char portbuf[16] = "";

	if (u->port != def)
		snprintf(portbuf, sizeof(portbuf), ":%d", u->port);
	u->url = xasprintf("%s://%s%s%s%s%s", u->scheme, v6 ? "[" : "",
	    u->host, v6 ? "]" : "", portbuf, u->path);
	u->origin = xasprintf("%s://%s%s%s:%d", u->scheme, v6 ? "[" : "",
	    u->host, v6 ? "]" : "", u->port);
	u->site = xasprintf("%s://%s%s%s%s", u->scheme, v6 ? "[" : "",
	    u->host, v6 ? "]" : "", portbuf);
}

int
url_parse(struct remote_url *out, const char *arg)
{
	char *tmp = NULL;
	const char *s = arg;
	int r;

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "bbs::", 5) == 0)
		s += 5;
	if (strncasecmp(s, "bbs://", 6) == 0)
		s = tmp = xasprintf("https://%s", s + 6);
	r = url_split(out, s, 0);
	free(tmp);
	if (r != 0)
		return r;
	if (strcmp(out->scheme, "http") == 0 &&
	    !http_host_is_loopback(out->host)) {
		err_set(BBS_E_INSECURE_URL, "refusing plain http to '%s': "
		    "tokens would cross the network in clear text", out->host);
		err_hint("use https://%s%s", out->host, out->path);
		url_release(out);
		return BBS_E_INSECURE_URL;
	}
	url_finish(out);
	return 0;
}

int
url_parse_pattern(struct remote_url *out, const char *pattern)
{
	int r;

	if ((r = url_split(out, pattern, 1)) != 0)
		return r;
	url_finish(out);
	return 0;
}

/* Host match with git's "*." wildcard for one label. */
static int
host_match(const char *pat, const char *host)
{
	for (;;) {
		size_t pl = strcspn(pat, "."), hl = strcspn(host, ".");

		if (!(pl == 1 && pat[0] == '*') &&
		    (pl != hl || strncmp(pat, host, pl) != 0))
			return 0;
		pat += pl;
		host += hl;
		if (*pat == '\0' || *host == '\0')
			return *pat == *host;
		pat++;
		host++;
	}
}

int
url_match_score(const char *pattern, const struct remote_url *u)
{
	struct remote_url p;
	size_t plen;
	int score = -1;

	if (url_parse_pattern(&p, pattern) != 0) {
		err_clear();
		return -1;
	}
	if (strcmp(p.scheme, u->scheme) != 0 || p.port != u->port ||
	    !host_match(p.host, u->host))
		goto out;
	if (p.user != NULL && (u->user == NULL || strcmp(p.user, u->user)))
		goto out;
	plen = strlen(p.path);
	while (plen > 1 && p.path[plen - 1] == '/')
		plen--;
	if (plen > 1) {
		if (strncmp(p.path, u->path, plen) != 0 ||
		    (u->path[plen] != '\0' && u->path[plen] != '/'))
			goto out;
	} else
		plen = 0;
	score = (int)plen * 2 + (p.user != NULL);
out:
	url_release(&p);
	return score;
}
