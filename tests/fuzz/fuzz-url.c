/* SPDX-License-Identifier: MIT */
/*
 * fuzz-url.c - the URL parsers: oauth_url_parse() (endpoints) and
 * url_parse() (remotes, on top of it), and URL matching for config keys.
 *
 * Oracle: no control byte or space in a parsed host, scheme or path; a
 * port in 1-65535; the offset of the path, after a given port, agrees
 * with the input; the loopback verdict agrees with the host as parsed
 * and with the endpoint rule (plain http passes only for loopback, never
 * with a user part); url_parse() accepts plain http only for loopback;
 * a host[:port] that url_hostport_ok() passes is the whole authority.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
clean(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static void
check_endpoint(const char *s)
{
	struct oauth_url u;
	int verdict, r;

	r = oauth_url_parse(&u, s, 0);
	err_clear();
	verdict = oauth_endpoint_check("endpoint", s);
	err_clear();
	if (r != 0) {
		if (verdict == 0)
			abort();	/* the rule passed what does not parse */
		return;
	}
	if (!clean(u.host) || !clean(u.scheme) || !clean(u.path) ||
	    u.host[0] == '\0' || u.port < 1 || u.port > 65535 ||
	    strchr(u.host, '*') != NULL || strchr(u.host, '@') != NULL ||
	    strchr(u.host, '/') != NULL)
		abort();
	/* the rest starts at path_at, after ":digits" when a port is given */
	if (u.path_at > strlen(s) ||
	    (s[u.path_at] != '\0' && strcmp(s + u.path_at, u.path) != 0))
		abort();
	if (u.port_given) {
		size_t i = u.path_at;

		while (i > 0 && isdigit((unsigned char)s[i - 1]))
			i--;
		if (i == u.path_at || i == 0 || s[i - 1] != ':')
			abort();
	}
	if (oauth_url_is_loopback(&u) != http_host_is_loopback(u.host))
		abort();
	if (verdict == 0 && (u.userinfo != NULL ||
	    (strcmp(u.scheme, "https") != 0 && !oauth_url_is_loopback(&u))))
		abort();
	oauth_url_release(&u);
}

static void
check_remote(const char *s)
{
	struct remote_url u;

	if (url_parse(&u, s) == 0) {
		if (!clean(u.host) || !clean(u.url) || !clean(u.origin) ||
		    u.port < 1 || u.port > 65535 || u.path[0] != '/')
			abort();
		if (u.user != NULL && oauth_text_has_control(u.user))
			abort();
		if (strcmp(u.scheme, "http") == 0 &&
		    !http_host_is_loopback(u.host))
			abort();
		(void)url_match_score(s, &u);
		url_release(&u);
	}
	err_clear();
}

/*
 * A credential "host" that url_hostport_ok() accepts makes a URL whose
 * authority is all of it: no user part, a path that is just "/".
 */
static void
check_hostport(const char *s)
{
	struct remote_url u;
	char *url;

	if (!url_hostport_ok(s))
		return;
	if (!clean(s) || strpbrk(s, "@/?#%") != NULL)
		abort();
	url = xasprintf("https://%s/", s);
	if (url_parse(&u, url) != 0 || u.user != NULL ||
	    strcmp(u.path, "/") != 0)
		abort();
	url_release(&u);
	free(url);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 4096)
		return 0;
	s = xstrndup((const char *)data, size);
	check_endpoint(s);
	check_remote(s);
	check_hostport(s);
	free(s);
	return 0;
}
