/* SPDX-License-Identifier: MIT */
/*
 * fuzz-config.c - config_load: the git config file (read by libgit2,
 * matched by our own section.<url>.key rules), GIT_CONFIG_PARAMETERS and
 * GIT_CONFIG_COUNT with its GIT_CONFIG_KEY_<n> / GIT_CONFIG_VALUE_<n>.
 *
 * The input is NUL-separated: the config file's text, then the text of
 * GIT_CONFIG_PARAMETERS, then the text of GIT_CONFIG_COUNT, then pairs of
 * key and value, set as GIT_CONFIG_KEY_0, GIT_CONFIG_VALUE_0, ...  The
 * settings are resolved for one of two remote URLs (the first byte picks).
 *
 * Oracle: a load that succeeds gives a complete, valid configuration (a
 * Basic user name without ':', a known provider and token store, booleans
 * 0 or 1, a positive sign-in timeout), and succeeds only when
 * GIT_CONFIG_COUNT, if it is plain digits, does not count more entries
 * than there are.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PAIRS 8

static char *config_path;
static struct remote_url urls[2];

static void
cleanup(void)
{
	char *dir;

	if (config_path == NULL)
		return;
	unlink(config_path);
	dir = xstrndup(config_path, strrchr(config_path, '/') - config_path);
	rmdir(dir);
	free(dir);
	free(config_path);
	config_path = NULL;
	url_release(&urls[0]);
	url_release(&urls[1]);
}

/* A private HOME whose .gitconfig is the file under test. */
static void
setup(void)
{
	static const char *const unset[] = {
		"BBS_ACCESS_TOKEN", "BBS_REFRESH_TOKEN", "BBS_CLIENT_ID",
		"BBS_CLIENT_SECRET", "BBS_FLOW", "BBS_TOKEN_STORE",
		"GIT_SSL_NO_VERIFY", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH",
		"GIT_HTTP_LOW_SPEED_TIME",
	};
	char tmpl[] = "/tmp/fuzz-config.XXXXXX";
	const char *dir;
	size_t i;

	if (config_path != NULL)
		return;
	if ((dir = mkdtemp(tmpl)) == NULL)
		abort();
	config_path = xasprintf("%s/.gitconfig", dir);
	setenv("HOME", dir, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unsetenv("GIT_CONFIG_GLOBAL");
	unsetenv("GIT_CONFIG_SYSTEM");
	unsetenv("GIT_DIR");
	for (i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
		unsetenv(unset[i]);
	if (chdir(dir) != 0 ||
	    url_parse(&urls[0], "https://git.example.com/team/repo.git") != 0 ||
	    url_parse(&urls[1], "bbs::https://alice@bitbucket.org:443/t/r") != 0)
		abort();
	atexit(cleanup);
}

static void
write_config(const char *text, size_t n)
{
	FILE *f = fopen(config_path, "wb");

	if (f == NULL || fwrite(text, 1, n, f) != n || fclose(f) != 0)
		abort();
}

/* Next NUL-terminated field of the input, or NULL at its end. */
static const char *
field(const char **p, const char *end, size_t *len)
{
	const char *s = *p, *nul;

	if (s >= end)
		return NULL;
	nul = memchr(s, '\0', (size_t)(end - s));
	*len = (nul ? nul : end) - s;
	*p = nul ? nul + 1 : end;
	return s;
}

/*
 * The environment entries this target sets, one slot each: owned here and
 * handed to putenv, so that a new value frees the old one (setenv keeps
 * every value it was ever given, which grows without bound over a
 * campaign).
 */
#define ENV_SLOTS (2 + 2 * MAX_PAIRS)
static char *env_owned[ENV_SLOTS];

static void
unset_env_slot(size_t slot, const char *name)
{
	unsetenv(name);
	free(env_owned[slot]);
	env_owned[slot] = NULL;
}

static void
set_env_field(size_t slot, const char *name, const char *s, size_t n)
{
	char *kv = xasprintf("%s=%.*s", name, (int)n, s);

	if (putenv(kv) != 0)
		abort();
	free(env_owned[slot]);
	env_owned[slot] = kv;
}

/*
 * The number that `s` spells if it is nothing but decimal digits (capped
 * at about 10^10), else -1 ("not plain digits": no claim about it).
 */
static long long
plain_count(const char *s)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v < 1000000000ULL)
			v = v * 10 + (unsigned long long)(*s - '0');
	}
	return (long long)v;
}

static int
one_of(const char *s, const char *a, const char *b, const char *c)
{
	return strcmp(s, a) == 0 || strcmp(s, b) == 0 ||
	    (c != NULL && strcmp(s, c) == 0);
}

static void
check_config(const struct helper_config *c)
{
	const struct oauth_settings *o = &c->oauth;

	if ((c->git_auth != GIT_AUTH_BEARER && c->git_auth != GIT_AUTH_BASIC) ||
	    c->git_username == NULL || strchr(c->git_username, ':') != NULL ||
	    (c->ssl_verify != 0 && c->ssl_verify != 1) ||
	    (c->fsck_objects != 0 && c->fsck_objects != 1) ||
	    o->login_timeout <= 0 || c->token != NULL ||
	    (o->provider != NULL && !one_of(o->provider, "bitbucket-cloud",
	    "bitbucket-datacenter", "generic")) ||
	    (o->token_store != NULL && !one_of(o->token_store, "file",
	    "credential-helper", NULL)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *s;
	struct helper_config c;
	struct git_config *cfg = NULL;
	char name[64], *count = NULL;
	size_t n, pairs = 0;
	int which;

	setup();
	which = size > 0 && (data[0] & 1);
	if ((s = field(&p, end, &n)) == NULL)
		return 0;
	write_config(s, n);
	unset_env_slot(0, "GIT_CONFIG_PARAMETERS");
	unset_env_slot(1, "GIT_CONFIG_COUNT");
	if ((s = field(&p, end, &n)) != NULL)
		set_env_field(0, "GIT_CONFIG_PARAMETERS", s, n);
	if ((s = field(&p, end, &n)) != NULL) {
		set_env_field(1, "GIT_CONFIG_COUNT", s, n);
		count = xstrndup(s, n);
	}
	for (; pairs < MAX_PAIRS; pairs++) {
		snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%zu", pairs);
		unset_env_slot(2 + 2 * pairs, name);
		snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%zu", pairs);
		unset_env_slot(3 + 2 * pairs, name);
	}
	for (pairs = 0; pairs < MAX_PAIRS && (s = field(&p, end, &n)); pairs++) {
		snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%zu", pairs);
		set_env_field(2 + 2 * pairs, name, s, n);
		if ((s = field(&p, end, &n)) == NULL)
			break;
		snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%zu", pairs);
		set_env_field(3 + 2 * pairs, name, s, n);
	}

	if (transport_cli_config(&cfg) != 0)
		abort();
	if (config_load(&c, cfg, &urls[which]) == 0) {
		check_config(&c);
		if (count != NULL && plain_count(count) > (long long)pairs)
			abort();
	}
	err_clear();
	config_release(&c);
	transport_config_free(cfg);
	free(count);
	return 0;
}
