/*
 * url.c - the URL rules: bbs:: and bbs:// forms, the user part that selects
 * an account, plain http only to loopback, and git-style URL matching for
 * bbs.<url>.* and http.<url>.* configuration.
 */
#include "config.h"

#include <ctype.h>
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
	memset(u, 0, sizeof(*u));
}

static int
valid_host_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*';
}

/*
 * Split scheme://[user@]host[:port][/path] into `u`.  `strict` refuses a
 * password in the user part and empty hosts; patterns may omit the path.
 */
static int
url_split(struct remote_url *u, const char *s)
{
	const char *p, *auth, *auth_end, *host, *host_end, *port = NULL;
	const char *at;
	size_t i;
	long portnum;
	int r;

	memset(u, 0, sizeof(*u));
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return err_set(BBS_E_INVALID,
			    "URL contains a space or control character");
	if ((p = strstr(s, "://")) == NULL || p == s)
		return err_set(BBS_E_INVALID, "'%s' is not a URL", s);
	u->scheme = xstrndup(s, (size_t)(p - s));
	for (i = 0; u->scheme[i]; i++)
		u->scheme[i] = (char)tolower((unsigned char)u->scheme[i]);
	if (strcmp(u->scheme, "http") != 0 && strcmp(u->scheme, "https") != 0) {
		r = err_set(BBS_E_INVALID, "unsupported URL scheme '%s' "
		    "(use https)", u->scheme);
		goto fail;
	}
	auth = p + 3;
	auth_end = auth + strcspn(auth, "/?#");
	/* the user part ends at the last '@' before the path */
	at = NULL;
	for (p = auth; p < auth_end; p++)
		if (*p == '@')
			at = p;
	host = auth;
	if (at != NULL) {
		if (memchr(auth, ':', (size_t)(at - auth)) != NULL) {
			r = err_set(BBS_E_INVALID, "a URL must not carry a "
			    "password or token; remove it from the URL");
			goto fail;
		}
		if (at == auth ||
		    (u->user = percent_decode(auth, (size_t)(at - auth), 0)) ==
		    NULL) {
			r = err_set(BBS_E_INVALID, "malformed user name in "
			    "URL");
			goto fail;
		}
		host = at + 1;
	}
	if (*host == '[') {
		host_end = memchr(host, ']', (size_t)(auth_end - host));
		if (host_end == NULL) {
			r = err_set(BBS_E_INVALID, "malformed IPv6 address "
			    "in URL");
			goto fail;
		}
		u->host = xstrndup(host + 1, (size_t)(host_end - host - 1));
		host_end++;
		if (host_end < auth_end && *host_end == ':')
			port = host_end + 1;
		else if (host_end != auth_end) {
			r = err_set(BBS_E_INVALID, "malformed host in URL");
			goto fail;
		}
		for (i = 0; u->host[i]; i++)
			if (!isxdigit((unsigned char)u->host[i]) &&
			    u->host[i] != ':' && u->host[i] != '.') {
				r = err_set(BBS_E_INVALID, "malformed IPv6 "
				    "address in URL");
				goto fail;
			}
	} else {
		host_end = memchr(host, ':', (size_t)(auth_end - host));
		if (host_end != NULL)
			port = host_end + 1;
		else
			host_end = auth_end;
		u->host = xstrndup(host, (size_t)(host_end - host));
		for (i = 0; u->host[i]; i++) {
			if (!valid_host_char((unsigned char)u->host[i])) {
				r = err_set(BBS_E_INVALID, "malformed host in "
				    "URL");
				goto fail;
			}
			u->host[i] = (char)tolower((unsigned char)u->host[i]);
		}
	}
	if (u->host[0] == '\0') {
		r = err_set(BBS_E_INVALID, "URL has no host");
		goto fail;
	}
	if (port != NULL) {
		char *end;

		if (port == auth_end || !isdigit((unsigned char)*port)) {
			r = err_set(BBS_E_INVALID, "malformed port in URL");
			goto fail;
		}
		portnum = strtol(port, &end, 10);
		if (end != auth_end || portnum < 1 || portnum > 65535) {
			r = err_set(BBS_E_INVALID, "malformed port in URL");
			goto fail;
		}
		u->port = (int)portnum;
	} else
		u->port = strcmp(u->scheme, "https") == 0 ? 443 : 80;
	if (*auth_end == '/')
		u->path = xstrdup(auth_end);
	else {
		if (*auth_end != '\0') {
			r = err_set(BBS_E_INVALID, "malformed URL");
			goto fail;
		}
		u->path = xstrdup("/");
	}
	return 0;
fail:
	url_release(u);
	return r;
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
	r = url_split(out, s);
	free(tmp);
	if (r != 0)
		return r;
	if (strchr(out->host, '*') != NULL) {
		url_release(out);
		return err_set(BBS_E_INVALID, "malformed host in URL");
	}
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

	if ((r = url_split(out, pattern)) != 0)
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
