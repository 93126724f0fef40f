/* SPDX-License-Identifier: MIT */
/*
 * config.c - the settings that apply to one remote URL.
 *
 * The only place that reads git configuration or the environment.  Keys of
 * the form section.<url>.key are matched against the remote URL the way git
 * matches http.<url>.* (git config --get-urlmatch): the most specific URL
 * wins, and among equals the last one read.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2.h>

#include "helper.h"

enum cfg_key {
	K_GITAUTH, K_GITUSERNAME, K_SSLVERIFY, K_SSLCAINFO, K_SSLCAPATH,
	K_PROXY, K_LOWSPEEDTIME, K_TRANSFER_FSCK, K_FETCH_FSCK,
	K_PROVIDER, K_ISSUER, K_AUTHORIZE, K_TOKEN, K_DEVICE, K_REVOCATION,
	K_USERINFO, K_CLIENTID, K_CLIENTSECRET, K_CLIENTSECRETFILE, K_SCOPES,
	K_FLOW, K_REDIRECT, K_TOKENSTORE, K_LOGINTIMEOUT, K_SIGNINCOOLDOWN,
	K_NR
};

static const struct {
	const char *section;
	const char *key;
	int urlmatch;
} cfg_keys[K_NR] = {
	[K_GITAUTH] = { "bbs", "gitauth", 1 },
	[K_GITUSERNAME] = { "bbs", "gitusername", 1 },
	[K_SSLVERIFY] = { "http", "sslverify", 1 },
	[K_SSLCAINFO] = { "http", "sslcainfo", 1 },
	[K_SSLCAPATH] = { "http", "sslcapath", 1 },
	[K_PROXY] = { "http", "proxy", 1 },
	[K_LOWSPEEDTIME] = { "http", "lowspeedtime", 1 },
	[K_TRANSFER_FSCK] = { "transfer", "fsckobjects", 0 },
	[K_FETCH_FSCK] = { "fetch", "fsckobjects", 0 },
	[K_PROVIDER] = { "bbs", "provider", 1 },
	[K_ISSUER] = { "bbs", "issuer", 1 },
	[K_AUTHORIZE] = { "bbs", "authorizeurl", 1 },
	[K_TOKEN] = { "bbs", "tokenurl", 1 },
	[K_DEVICE] = { "bbs", "deviceauthorizationurl", 1 },
	[K_REVOCATION] = { "bbs", "revocationurl", 1 },
	[K_USERINFO] = { "bbs", "userinfourl", 1 },
	[K_CLIENTID] = { "bbs", "clientid", 1 },
	[K_CLIENTSECRET] = { "bbs", "clientsecret", 1 },
	[K_CLIENTSECRETFILE] = { "bbs", "clientsecretfile", 1 },
	[K_SCOPES] = { "bbs", "scopes", 1 },
	[K_FLOW] = { "bbs", "flow", 1 },
	[K_REDIRECT] = { "bbs", "redirecturi", 1 },
	[K_TOKENSTORE] = { "bbs", "tokenstore", 0 },
	[K_LOGINTIMEOUT] = { "bbs", "logintimeout", 1 },
	[K_SIGNINCOOLDOWN] = { "bbs", "signincooldown", 1 },
};

struct cfg_collect {
	const struct remote_url *url;
	char *value[K_NR];
	int score[K_NR];
	struct fsck_types fsck;	/* fetch.fsck.*, in the order read */
};

/* Take value `k` (moving it out of the collector). */
static char *
take(struct cfg_collect *cc, enum cfg_key k)
{
	char *v = cc->value[k];

	cc->value[k] = NULL;
	return v;
}

/* The environment variable if set and not empty, else config value `k`. */
static char *
env_or(struct cfg_collect *cc, const char *env, enum cfg_key k)
{
	const char *v = getenv(env);

	if (v != NULL && *v != '\0')
		return xstrdup(v);
	return take(cc, k);
}

/*
 * Take token variable `name` out of the environment into *out (NULL when
 * unset or empty).  The process's copy is wiped too (/proc/PID/environ is
 * readable).  A value that is not an RFC 6750 b64token is refused: it
 * would become HTTP header text.
 */
static int
env_token(const char *name, char **out)
{
	const char *env = getenv(name);
	int ok;

	*out = NULL;
	if (env == NULL)
		return 0;
	ok = *env == '\0' || oauth_token_syntax_ok(env);
	if (ok && *env != '\0')
		*out = xstrdup(env);
	secret_wipe((char *)env, strlen(env));
	unsetenv(name);
	if (!ok)
		return err_set(BBS_E_INVALID, "%s is not a valid token (only "
		    "letters, digits and -._~+/ then '=' padding)", name);
	return 0;
}

/* Read a secret from a file: first line, at most 4 KiB, private file. */
static int
read_secret_file(const char *path, char **out)
{
	char buf[4097];
	FILE *f;
	size_t n;

	*out = NULL;
	if ((f = fopen(path, "re")) == NULL)
		return err_set(BBS_E_IO, "cannot read the client secret file "
		    "'%s': %s", path, strerror(errno));
	setvbuf(f, NULL, _IONBF, 0);	/* no unwiped stdio copy */
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		secret_wipe(buf, sizeof(buf));
		return err_set(BBS_E_INVALID, "the client secret file '%s' is "
		    "empty", path);
	}
	*out = xstrdup(buf);
	secret_wipe(buf, sizeof(buf));
	return 0;
}

/*
 * The provider: as configured, else the one chosen by the URL (its host
 * over https on port 443), else generic when an issuer or a token
 * endpoint is set.  With no client configured at all (neither an id nor
 * a secret), the provider's built-in client and its redirect are the
 * defaults.
 */
static int
config_provider(struct oauth_settings *o, const struct remote_url *u)
{
	const struct provider *p;
	char *names;
	int r;

	if (o->provider == NULL) {
		if ((p = provider_by_url(u)) != NULL)
			o->provider = xstrdup(p->name);
		else if (o->ep.issuer != NULL || o->ep.token_url != NULL)
			o->provider = xstrdup(provider_generic()->name);
		else
			return 0;
	}
	if ((p = provider_by_name(o->provider)) == NULL) {
		names = provider_names();
		r = err_set(BBS_E_INVALID, "unknown provider '%s' (use %s)",
		    o->provider, names);
		free(names);
		return r;
	}
	if (p->client == NULL || o->client_id != NULL ||
	    o->client_secret != NULL)
		return 0;
	o->client_id = xstrdup(p->client->id);
	o->client_secret = xstrdup(p->client->secret);
	o->client_from = CLIENT_BUILTIN;
	if (o->redirect_uri == NULL && p->client->redirect_uri != NULL)
		o->redirect_uri = xstrdup(p->client->redirect_uri);
	return 0;
}

/*
 * A number of seconds from 1 to `max` for `key`, or `dflt` when `v` is
 * NULL; anything else is refused, so that no later sum or product of it
 * can overflow.
 */
static int
parse_seconds(const char *key, const char *v, long dflt, long max,
    long *out)
{
	char *end;
	long n;

	*out = dflt;
	if (v == NULL)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < 1 || n > max)
		return err_set(BBS_E_INVALID, "bad value '%.20s' for '%s' (use "
		    "1 to %ld seconds)", v, key, max);
	*out = n;
	return 0;
}

/* Fill the OAuth part of `out` from the collected settings. */
static int
config_oauth(struct helper_config *out, struct cfg_collect *cc,
    const struct remote_url *u)
{
	struct oauth_settings *o = &out->oauth;
	const char *env;
	char *file;
	int r;

	o->provider = take(cc, K_PROVIDER);
	o->ep.issuer = take(cc, K_ISSUER);
	o->ep.authorize_url = take(cc, K_AUTHORIZE);
	o->ep.token_url = take(cc, K_TOKEN);
	o->ep.device_url = take(cc, K_DEVICE);
	o->ep.revocation_url = take(cc, K_REVOCATION);
	o->ep.userinfo_url = take(cc, K_USERINFO);
	if ((env = getenv("BBS_CLIENT_ID")) != NULL && *env != '\0')
		o->client_from = "BBS_CLIENT_ID";
	else if (cc->value[K_CLIENTID] != NULL)
		o->client_from = "bbs.<url>.clientId";
	o->client_id = env_or(cc, "BBS_CLIENT_ID", K_CLIENTID);
	o->scopes = take(cc, K_SCOPES);
	o->flow = env_or(cc, "BBS_FLOW", K_FLOW);
	o->redirect_uri = take(cc, K_REDIRECT);
	o->token_store = env_or(cc, "BBS_TOKEN_STORE", K_TOKENSTORE);
	if ((r = parse_seconds("bbs.<url>.loginTimeout",
	    cc->value[K_LOGINTIMEOUT], 300, LOGIN_TIMEOUT_MAX,
	    &o->login_timeout)) != 0)
		return r;
	o->signin_cooldown = cc->value[K_SIGNINCOOLDOWN] ?
	    strtol(cc->value[K_SIGNINCOOLDOWN], NULL, 10) : 600;
	if (o->signin_cooldown < 0)
		o->signin_cooldown = 600;
	if ((env = getenv("BBS_CLIENT_SECRET")) != NULL && *env != '\0') {
		o->client_secret = xstrdup(env);
		secret_wipe((char *)env, strlen(env));
		unsetenv("BBS_CLIENT_SECRET");
	} else if ((file = take(cc, K_CLIENTSECRETFILE)) != NULL) {
		r = read_secret_file(file, &o->client_secret);
		free(file);
		if (r != 0)
			return r;
	} else
		o->client_secret = take(cc, K_CLIENTSECRET);
	if ((r = env_token("BBS_REFRESH_TOKEN", &o->refresh_seed)) != 0)
		return r;
	if ((r = config_provider(o, u)) != 0)
		return r;
	if (o->token_store != NULL && strcmp(o->token_store, "file") != 0 &&
	    strcmp(o->token_store, "credential-helper") != 0)
		return err_set(BBS_E_INVALID, "unknown token store '%s' (use "
		    "file or credential-helper)", o->token_store);
	return 0;
}


static int
cfg_collect_cb(const git_config_entry *e, void *payload)
{
	struct cfg_collect *cc = payload;
	const char *name = e->name, *dot1, *dot2;
	char *sub = NULL;
	size_t i, slen;
	int score;

	if ((dot1 = strchr(name, '.')) == NULL ||
	    (dot2 = strrchr(name, '.')) == NULL || e->value == NULL)
		return 0;
	/* fetch.fsck.<msg-id>: the subsection is "fsck", as git spells it */
	if (strncasecmp(name, "fetch.", 6) == 0 &&
	    strncmp(name + 6, "fsck.", 5) == 0 && dot2 == name + 10) {
		fsck_types_set(&cc->fsck, dot2 + 1, e->value);
		return 0;
	}
	slen = (size_t)(dot1 - name);
	for (i = 0; i < K_NR; i++) {
		if (strlen(cfg_keys[i].section) != slen ||
		    strncasecmp(name, cfg_keys[i].section, slen) != 0 ||
		    strcasecmp(dot2 + 1, cfg_keys[i].key) != 0)
			continue;
		if (dot2 == dot1)
			score = 0;
		else if (!cfg_keys[i].urlmatch)
			continue;
		else {
			sub = xstrndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));
			score = url_match_score(sub, cc->url);
			free(sub);
			if (score < 0)
				continue;
			score = score * 2 + 1;
		}
		if (score >= cc->score[i]) {
			secret_free(cc->value[i]);	/* may be clientSecret */
			cc->value[i] = xstrdup(e->value);
			cc->score[i] = score;
		}
	}
	return 0;
}

/* Feed one "name=value" setting from the command line to the collector. */
static void
cfg_collect_one(struct cfg_collect *cc, const char *name, const char *value)
{
	git_config_entry e;

	memset(&e, 0, sizeof(e));
	e.name = name;
	e.value = value;
	cfg_collect_cb(&e, cc);
}

/*
 * Settings given with `git -c` reach us in GIT_CONFIG_PARAMETERS (and
 * GIT_CONFIG_COUNT/KEY_n/VALUE_n), which libgit2 does not read.  The
 * format is a list of single-quoted words, 'name'='value' or the older
 * 'name=value', with ' written as '\''.  A setting without a value
 * (git -c name) is 'name'= followed by a space or the end.
 */
int
config_parse_parameters(const char *s,
    void (*fn)(const char *name, const char *value, void *payload),
    void *payload)
{
	struct buf word, name;
	int have_name = 0, r = 0;

	/* a value may be a client secret */
	buf_init_secret(&word, 64 * 1024);
	buf_init_secret(&name, 64 * 1024);
	while (*s != '\0') {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		if (*s != '\'') {
			r = err_set(BBS_E_INVALID, "malformed "
			    "GIT_CONFIG_PARAMETERS");
			goto out;
		}
		buf_reset(&word);
		for (;;) {
			if (*s != '\'') {
				r = err_set(BBS_E_INVALID, "malformed "
				    "GIT_CONFIG_PARAMETERS");
				goto out;
			}
			s++;
			while (*s != '\0' && *s != '\'')
				if ((r = buf_add(&word, s++, 1)) != 0)
					goto out;
			if (*s != '\'') {
				r = err_set(BBS_E_INVALID, "malformed "
				    "GIT_CONFIG_PARAMETERS");
				goto out;
			}
			s++;
			/* git writes ' as '\'' and ! as '\!' */
			if (*s == '\\' && (s[1] == '\'' || s[1] == '!')) {
				if ((r = buf_add(&word, s + 1, 1)) != 0)
					goto out;
				s += 2;
				continue;
			}
			break;
		}
		if (have_name) {
			fn(name.ptr, word.ptr ? word.ptr : "", payload);
			have_name = 0;
		} else if (*s == '=' && (s[1] == ' ' || s[1] == '\0')) {
			/* 'name'= with nothing after: git -c name (no value) */
			fn(word.ptr ? word.ptr : "", NULL, payload);
			s++;
		} else if (*s == '=') {
			buf_reset(&name);
			if ((r = buf_add(&name, word.ptr ? word.ptr : "",
			    word.len)) != 0)
				goto out;
			have_name = 1;
			s++;
		} else if (word.ptr != NULL && strchr(word.ptr, '=') != NULL) {
			char *eq = strchr(word.ptr, '=');

			*eq = '\0';
			fn(word.ptr, eq + 1, payload);
		} else
			fn(word.ptr ? word.ptr : "", NULL, payload);
	}
out:
	buf_release(&word);
	buf_release(&name);
	return r;
}

static void
cfg_param_cb(const char *name, const char *value, void *payload)
{
	if (value != NULL)
		cfg_collect_one(payload, name, value);
}

/* Apply `git -c` settings, which take precedence over the files. */
static int
cfg_collect_env(struct cfg_collect *cc)
{
	const char *env;
	char key[64], *end;
	long i, n;
	int r;

	if ((env = getenv("GIT_CONFIG_PARAMETERS")) != NULL &&
	    (r = config_parse_parameters(env, cfg_param_cb, cc)) != 0)
		return r;
	if ((env = getenv("GIT_CONFIG_COUNT")) == NULL || *env == '\0')
		return 0;
	n = strtol(env, &end, 10);
	if (*end != '\0' || n < 0 || n > 100000)
		return err_set(BBS_E_INVALID, "bad GIT_CONFIG_COUNT");
	for (i = 0; i < n; i++) {
		const char *k, *v;

		snprintf(key, sizeof(key), "GIT_CONFIG_KEY_%ld", i);
		k = getenv(key);
		snprintf(key, sizeof(key), "GIT_CONFIG_VALUE_%ld", i);
		v = getenv(key);
		if (k == NULL || v == NULL)
			return err_set(BBS_E_INVALID, "missing config "
			    "entry %ld of GIT_CONFIG_COUNT", i);
		cfg_collect_one(cc, k, v);
	}
	return 0;
}

static int
parse_bool(const char *key, const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0", "" };
	size_t i;

	for (i = 0; i < BBS_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
	}
	for (i = 0; i < BBS_ARRAY_SIZE(no); i++) {
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return err_set(BBS_E_INVALID, "bad boolean value '%s' for '%s'", v,
	    key);
}

/* Free what the collector holds (clientSecret may be among it). */
static void
cfg_collect_release(struct cfg_collect *cc)
{
	size_t i;

	for (i = 0; i < K_NR; i++) {
		secret_free(cc->value[i]);
		cc->value[i] = NULL;
	}
	fsck_types_release(&cc->fsck);
}

/* Collect every setting that applies to `u` from `cfg` and `git -c`. */
static int
cfg_collect_all(struct cfg_collect *cc, struct git_config *cfg,
    const struct remote_url *u)
{
	size_t i;

	memset(cc, 0, sizeof(*cc));
	cc->url = u;
	for (i = 0; i < K_NR; i++)
		cc->score[i] = -1;
	/* no regex match: libgit2 1.5's pcre2 path leaks its match data */
	if (cfg != NULL && git_config_foreach(cfg, cfg_collect_cb, cc) < 0) {
		const git_error *ge = git_error_last();

		return err_set(BBS_E_INVALID, "cannot read git config: %s",
		    ge ? ge->message : "unknown error");
	}
	return cfg_collect_env(cc);
}

/*
 * The http.* settings of the collected URL; the GIT_SSL_* and
 * GIT_HTTP_LOW_SPEED_TIME variables apply to every URL, as in git.
 */
static int
config_http(struct cfg_collect *cc, struct http_url_settings *out)
{
	const char *env;
	int r;

	out->ssl_verify = 1;
	if (cc->value[K_SSLVERIFY] != NULL &&
	    (r = parse_bool("http.sslVerify", cc->value[K_SSLVERIFY],
	    &out->ssl_verify)) != 0)
		return r;
	if ((env = getenv("GIT_SSL_NO_VERIFY")) != NULL && *env != '\0')
		out->ssl_verify = 0;
	if ((env = getenv("GIT_SSL_CAINFO")) != NULL && *env != '\0')
		out->ca_file = xstrdup(env);
	else if (cc->value[K_SSLCAINFO] != NULL)
		out->ca_file = xstrdup(cc->value[K_SSLCAINFO]);
	if ((env = getenv("GIT_SSL_CAPATH")) != NULL && *env != '\0')
		out->ca_path = xstrdup(env);
	else if (cc->value[K_SSLCAPATH] != NULL)
		out->ca_path = xstrdup(cc->value[K_SSLCAPATH]);
	if (cc->value[K_PROXY] != NULL && cc->value[K_PROXY][0] != '\0')
		out->proxy = xstrdup(cc->value[K_PROXY]);
	if ((env = getenv("GIT_HTTP_LOW_SPEED_TIME")) != NULL)
		out->low_speed_time = strtol(env, NULL, 10);
	else if (cc->value[K_LOWSPEEDTIME] != NULL)
		out->low_speed_time = strtol(cc->value[K_LOWSPEEDTIME], NULL,
		    10);
	return 0;
}

/*
 * How git is authenticated: bbs.<url>.gitAuth and .gitUsername, else the
 * defaults of the provider in use, the configured one before the one the
 * URL chooses (config_provider), generic's when there is none.  A
 * Bitbucket Cloud behind a proxy or a test host takes Basic as
 * bitbucket.org does.
 */
static int
config_git_auth(struct helper_config *out, const struct cfg_collect *cc)
{
	const struct provider *prov = provider_by_name(out->oauth.provider);
	const char *v = cc->value[K_GITAUTH];

	if (prov == NULL)
		prov = provider_generic();
	out->git_auth = prov->git_auth;
	if (v != NULL && strcasecmp(v, "bearer") == 0)
		out->git_auth = GIT_AUTH_BEARER;
	else if (v != NULL && strcasecmp(v, "basic") == 0)
		out->git_auth = GIT_AUTH_BASIC;
	else if (v != NULL)
		return err_set(BBS_E_INVALID, "bad value '%s' for "
		    "'bbs.<url>.gitAuth' (use 'bearer' or 'basic')", v);
	out->git_username = xstrdup(cc->value[K_GITUSERNAME] ?
	    cc->value[K_GITUSERNAME] : prov->git_username);
	if (strchr(out->git_username, ':') != NULL)
		return err_set(BBS_E_INVALID, "'bbs.<url>.gitUsername' must "
		    "not contain ':'");
	return 0;
}

int
config_load(struct helper_config *out, struct git_config *cfg,
    const struct remote_url *u)
{
	struct http_url_settings hs;
	struct cfg_collect cc;
	int r = 0, b;

	memset(out, 0, sizeof(*out));
	memset(&hs, 0, sizeof(hs));
	if ((r = cfg_collect_all(&cc, cfg, u)) != 0)
		goto out;
	out->fsck = cc.fsck;
	memset(&cc.fsck, 0, sizeof(cc.fsck));
	if ((r = config_http(&cc, &hs)) != 0)
		goto out;
	out->ssl_verify = hs.ssl_verify;
	out->ca_file = hs.ca_file;
	out->ca_path = hs.ca_path;
	out->proxy = hs.proxy;
	out->low_speed_time = hs.low_speed_time;
	memset(&hs, 0, sizeof(hs));
	out->gitcfg = cfg;
	out->url = u;
	if (cc.value[K_TRANSFER_FSCK] != NULL &&
	    (r = parse_bool("transfer.fsckObjects",
	    cc.value[K_TRANSFER_FSCK], &b)) == 0)
		out->fsck_objects = b;
	if (r == 0 && cc.value[K_FETCH_FSCK] != NULL &&
	    (r = parse_bool("fetch.fsckObjects", cc.value[K_FETCH_FSCK],
	    &b)) == 0)
		out->fsck_objects = b;
	if (r != 0)
		goto out;

	if ((r = config_oauth(out, &cc, u)) != 0 ||
	    (r = config_git_auth(out, &cc)) != 0)
		goto out;
	r = env_token("BBS_ACCESS_TOKEN", &out->token);
out:
	http_url_settings_release(&hs);
	cfg_collect_release(&cc);
	return r;
}

int
config_http_resolve(void *payload, const char *url,
    struct http_url_settings *out)
{
	const struct helper_config *hc = payload;
	struct remote_url u;
	struct cfg_collect cc;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = url_parse_pattern(&u, url)) != 0)
		return r;
	/* the remote's user part selects settings on its own origin too */
	if (u.user == NULL && hc->url != NULL && hc->url->user != NULL &&
	    strcmp(u.scheme, hc->url->scheme) == 0 &&
	    strcmp(u.host, hc->url->host) == 0 && u.port == hc->url->port)
		u.user = xstrdup(hc->url->user);
	if ((r = cfg_collect_all(&cc, hc->gitcfg, &u)) == 0)
		r = config_http(&cc, out);
	cfg_collect_release(&cc);
	url_release(&u);
	if (r != 0)
		http_url_settings_release(out);
	return r;
}

void
config_release(struct helper_config *c)
{
	if (c == NULL)
		return;
	free(c->git_username);
	secret_free(c->token);
	free(c->ca_file);
	free(c->ca_path);
	free(c->proxy);
	fsck_types_release(&c->fsck);
	oauth_settings_release(&c->oauth);
	memset(c, 0, sizeof(*c));
}

void
oauth_settings_release(struct oauth_settings *o)
{
	free(o->provider);
	oauth_endpoints_release(&o->ep);
	free(o->client_id);
	secret_free(o->client_secret);
	free(o->scopes);
	free(o->flow);
	free(o->redirect_uri);
	free(o->token_store);
	secret_free(o->refresh_seed);
	memset(o, 0, sizeof(*o));
}
