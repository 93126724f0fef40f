/*
 * config.c - the settings that apply to one remote URL.
 *
 * The only place that reads git configuration or the environment.  Keys of
 * the form section.<url>.key are matched against the remote URL the way git
 * matches http.<url>.* (git config --get-urlmatch): the most specific URL
 * wins, and among equals the last one read.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <git2.h>

#include "helper.h"

enum cfg_key {
	K_GITAUTH, K_GITUSERNAME, K_SSLVERIFY, K_SSLCAINFO, K_SSLCAPATH,
	K_PROXY, K_LOWSPEEDTIME, K_TRANSFER_FSCK, K_FETCH_FSCK, K_NR
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
};

struct cfg_collect {
	const struct remote_url *url;
	char *value[K_NR];
	int score[K_NR];
};

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
			free(cc->value[i]);
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
 * 'name=value', with ' written as '\''.
 */
int
config_parse_parameters(const char *s,
    void (*fn)(const char *name, const char *value, void *payload),
    void *payload)
{
	struct buf word, name;
	int have_name = 0, r = 0;

	buf_init(&word, 64 * 1024);
	buf_init(&name, 64 * 1024);
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
			if (*s == '\\' && s[1] == '\'') {	/* '\'' */
				if ((r = buf_add(&word, "'", 1)) != 0)
					goto out;
				s += 2;
				continue;
			}
			break;
		}
		if (have_name) {
			fn(name.ptr, word.ptr ? word.ptr : "", payload);
			have_name = 0;
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

int
config_load(struct helper_config *out, struct git_config *cfg,
    const struct remote_url *u)
{
	struct cfg_collect cc;
	const char *env;
	size_t i;
	int r = 0, b;

	memset(out, 0, sizeof(*out));
	memset(&cc, 0, sizeof(cc));
	cc.url = u;
	for (i = 0; i < K_NR; i++)
		cc.score[i] = -1;
	out->ssl_verify = 1;
	/* no regex match: libgit2 1.5's pcre2 path leaks its match data */
	if (cfg != NULL && git_config_foreach(cfg, cfg_collect_cb, &cc) < 0) {
		const git_error *ge = git_error_last();

		r = err_set(BBS_E_INVALID, "cannot read git config: %s",
		    ge ? ge->message : "unknown error");
		goto out;
	}
	if ((r = cfg_collect_env(&cc)) != 0)
		goto out;

	out->git_auth = strcmp(u->host, "bitbucket.org") == 0 ?
	    GIT_AUTH_BASIC : GIT_AUTH_BEARER;
	if (cc.value[K_GITAUTH] != NULL) {
		if (strcasecmp(cc.value[K_GITAUTH], "bearer") == 0)
			out->git_auth = GIT_AUTH_BEARER;
		else if (strcasecmp(cc.value[K_GITAUTH], "basic") == 0)
			out->git_auth = GIT_AUTH_BASIC;
		else {
			r = err_set(BBS_E_INVALID, "bad value '%s' for "
			    "'bbs.<url>.gitAuth' (use 'bearer' or 'basic')",
			    cc.value[K_GITAUTH]);
			goto out;
		}
	}
	out->git_username = xstrdup(cc.value[K_GITUSERNAME] ?
	    cc.value[K_GITUSERNAME] : "x-token-auth");
	if (strchr(out->git_username, ':') != NULL) {
		r = err_set(BBS_E_INVALID, "'bbs.<url>.gitUsername' must not "
		    "contain ':'");
		goto out;
	}
	if (cc.value[K_SSLVERIFY] != NULL &&
	    (r = parse_bool("http.sslVerify", cc.value[K_SSLVERIFY],
	    &out->ssl_verify)) != 0)
		goto out;
	if ((env = getenv("GIT_SSL_NO_VERIFY")) != NULL && *env != '\0')
		out->ssl_verify = 0;
	if ((env = getenv("GIT_SSL_CAINFO")) != NULL && *env != '\0')
		out->ca_file = xstrdup(env);
	else if (cc.value[K_SSLCAINFO] != NULL)
		out->ca_file = xstrdup(cc.value[K_SSLCAINFO]);
	if ((env = getenv("GIT_SSL_CAPATH")) != NULL && *env != '\0')
		out->ca_path = xstrdup(env);
	else if (cc.value[K_SSLCAPATH] != NULL)
		out->ca_path = xstrdup(cc.value[K_SSLCAPATH]);
	if (cc.value[K_PROXY] != NULL && cc.value[K_PROXY][0] != '\0')
		out->proxy = xstrdup(cc.value[K_PROXY]);
	if ((env = getenv("GIT_HTTP_LOW_SPEED_TIME")) != NULL)
		out->low_speed_time = strtol(env, NULL, 10);
	else if (cc.value[K_LOWSPEEDTIME] != NULL)
		out->low_speed_time = strtol(cc.value[K_LOWSPEEDTIME], NULL,
		    10);
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

	if ((env = getenv("BBS_ACCESS_TOKEN")) != NULL) {
		if (*env != '\0')
			out->token = xstrdup(env);
		/* wipe the process's copy too: /proc/PID/environ is readable */
		secret_wipe((char *)env, strlen(env));
		unsetenv("BBS_ACCESS_TOKEN");
	}
out:
	for (i = 0; i < K_NR; i++)
		free(cc.value[i]);
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
	memset(c, 0, sizeof(*c));
}
