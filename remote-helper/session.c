/*
 * session.c - OAuth for one remote: which server and client, the stored
 * grant, refresh under the per-grant lock, and sign-in.
 *
 * A grant is stored under "<issuer-or-token-url> <client-id>" and an
 * account name; the user part of the remote URL picks the account.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "helper.h"

#define EXPIRY_MARGIN 60	/* refresh this many seconds early */
#define LOCK_TIMEOUT 120

static const char bb_cloud_authorize[] =
    "https://bitbucket.org/site/oauth2/authorize";
static const char bb_cloud_token[] =
    "https://bitbucket.org/site/oauth2/access_token";

void
session_release(struct session *s)
{
	if (s == NULL)
		return;
	oauth_client_release(&s->oc);
	free(s->key);
	free(s->store_dir);
	free(s->base);
	free(s->cred_index);
	free(s->scope);
	memset(s, 0, sizeof(*s));
}

/* The Data Center base URL: the remote URL up to "/scm/", or its origin. */
static char *
datacenter_base(const struct remote_url *u)
{
	const char *scm = strstr(u->url, "/scm/");

	if (scm != NULL)
		return xstrndup(u->url, (size_t)(scm - u->url));
	return xstrndup(u->url, strlen(u->url) - strlen(u->path));
}

char *
session_store_dir(void)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (state != NULL && state[0] == '/')
		return xasprintf("%s/git-remote-bbs", state);
	if (home != NULL && home[0] == '/')
		return xasprintf("%s/.local/state/git-remote-bbs", home);
	err_set(BBS_E_INVALID, "neither XDG_STATE_HOME nor HOME is set: "
	    "nowhere to keep tokens");
	return NULL;
}

static void
dup_or(char **dst, const char *v, const char *def)
{
	free(*dst);
	*dst = v ? xstrdup(v) : def ? xstrdup(def) : NULL;
}

int
session_init(struct session *s, const struct helper_config *cfg,
    const struct remote_url *u, struct http_client *http)
{
	const struct oauth_settings *o = &cfg->oauth;
	struct oauth_client *c = &s->oc;

	memset(s, 0, sizeof(*s));
	s->url = u;
	s->settings = o;
	c->http = http;
	if (o->provider == NULL)
		return err_set(BBS_E_AUTH_REQUIRED, "no OAuth provider is "
		    "configured for '%s'", u->host);
	c->provider = xstrdup(o->provider);
	if (strcmp(o->provider, "bitbucket-cloud") == 0) {
		dup_or(&c->ep.authorize_url, o->ep.authorize_url,
		    bb_cloud_authorize);
		dup_or(&c->ep.token_url, o->ep.token_url, bb_cloud_token);
		dup_or(&c->scopes, o->scopes, "repository:write account");
		dup_or(&c->ep.userinfo_url, o->ep.userinfo_url,
		    "https://api.bitbucket.org/2.0/user");
	} else if (strcmp(o->provider, "bitbucket-datacenter") == 0) {
		s->base = o->ep.issuer ? xstrdup(o->ep.issuer) : datacenter_base(u);
		c->ep.authorize_url = o->ep.authorize_url ?
		    xstrdup(o->ep.authorize_url) :
		    xasprintf("%s/rest/oauth2/latest/authorize", s->base);
		c->ep.token_url = o->ep.token_url ? xstrdup(o->ep.token_url) :
		    xasprintf("%s/rest/oauth2/latest/token", s->base);
		dup_or(&c->scopes, o->scopes, "REPO_WRITE");
		dup_or(&c->ep.userinfo_url, o->ep.userinfo_url, NULL);
		c->redirect_on_refresh = 1;
	} else {
		dup_or(&c->ep.issuer, o->ep.issuer, NULL);
		dup_or(&c->ep.authorize_url, o->ep.authorize_url, NULL);
		dup_or(&c->ep.token_url, o->ep.token_url, NULL);
		dup_or(&c->ep.userinfo_url, o->ep.userinfo_url, NULL);
		dup_or(&c->scopes, o->scopes, NULL);
	}
	dup_or(&c->ep.device_url, o->ep.device_url, NULL);
	dup_or(&c->ep.revocation_url, o->ep.revocation_url, NULL);
	dup_or(&c->redirect_uri, o->redirect_uri, NULL);
	c->auth = OAUTH_AUTH_BASIC;
	if (o->client_secret != NULL)
		c->client_secret = xstrdup(o->client_secret);
	if (o->client_id == NULL) {
		err_set(BBS_E_AUTH_REQUIRED, "no OAuth client is configured "
		    "for '%s'", u->host);
		err_hint("set bbs.%s.clientId (or BBS_CLIENT_ID) to the "
		    "OAuth consumer key", u->origin);
		return BBS_E_AUTH_REQUIRED;
	}
	c->client_id = xstrdup(o->client_id);
	if (c->ep.issuer == NULL && c->ep.token_url == NULL)
		return err_set(BBS_E_INVALID, "set bbs.<url>.issuer or "
		    "bbs.<url>.tokenUrl for the generic provider");
	s->key = xasprintf("%s %s", c->ep.issuer ? c->ep.issuer :
	    c->ep.token_url, c->client_id);
	if ((s->store_dir = session_store_dir()) == NULL)
		return err_code();
	s->credhelper = o->token_store != NULL &&
	    strcmp(o->token_store, "credential-helper") == 0;
	return 0;
}

/* Endpoints: discover them when only an issuer is known. */
int
session_endpoints(struct session *s)
{
	if (s->discovered || s->oc.ep.issuer == NULL ||
	    (s->oc.ep.token_url != NULL && s->oc.ep.authorize_url != NULL &&
	    s->oc.ep.revocation_url != NULL))
		return 0;
	s->discovered = 1;
	return oauth_discover(&s->oc);
}

/* The URL to give `git bbs login` for this remote (with its account). */
char *
session_login_url(struct session *s)
{
	const char *rest = s->url->url + strlen(s->url->scheme) + 3;

	if (s->url->user != NULL)
		return xasprintf("%s://%s@%s", s->url->scheme, s->url->user,
		    rest);
	return xstrdup(s->url->url);
}

/* Hint at the login command that fixes a missing or dead grant. */
void
session_login_hint(struct session *s)
{
	char *u = session_login_url(s);

	err_hint("sign in with: git bbs login %s", u);
	free(u);
}

/* Pick the account: the URL's user, or the only one stored. */
static int
session_pick(struct session *s, struct store *st, struct store_entry **out)
{
	size_t n, i;
	struct buf names;

	*out = store_find(st, s->key, s->url->user, &n);
	if (n <= 1 || s->url->user != NULL) {
		if (*out == NULL) {
			err_set(BBS_E_AUTH_REQUIRED, "not signed in to '%s'%s%s",
			    s->url->host, s->url->user ? " as " : "",
			    s->url->user ? s->url->user : "");
			session_login_hint(s);
			return BBS_E_AUTH_REQUIRED;
		}
		return 0;
	}
	buf_init(&names, 4096);
	for (i = 0; i < st->nr; i++)
		if (strcmp(st->e[i].key, s->key) == 0)
			buf_addf(&names, "%s%s", names.len ? ", " : "",
			    st->e[i].account);
	err_set(BBS_E_INVALID, "several accounts are signed in to '%s' (%s)",
	    s->url->host, names.ptr);
	err_hint("choose one in the URL, e.g. %s://ACCOUNT@%s",
	    s->url->scheme, s->url->url + strlen(s->url->scheme) + 3);
	buf_release(&names);
	*out = NULL;
	return BBS_E_INVALID;
}

/*
 * The store this session uses: the file, or the user's credential helper
 * (bbs.tokenStore=credential-helper).  Either way `st` holds the grants.
 */
int
session_store_open(struct session *s, struct store *st)
{
	if (!s->credhelper)
		return store_open(st, s->store_dir);
	memset(st, 0, sizeof(*st));
	st->dir = xstrdup(s->store_dir);
	st->path = xstrdup("credential helper");
	free(s->cred_index);
	s->cred_index = credstore_index(s->key);
	return credstore_load(st, s->key);
}

int
session_store_save(struct session *s, struct store *st)
{
	if (!s->credhelper)
		return store_save(st);
	return credstore_save(st, s->key, s->cred_index);
}

static int
token_fresh(const struct oauth_token *t, int64_t now)
{
	return t->expires_at == 0 || now + EXPIRY_MARGIN < t->expires_at;
}

/* Refresh `e` (already re-read under the lock) and save before use. */
static int
session_refresh_locked(struct session *s, struct store *st,
    struct store_entry *e)
{
	struct oauth_token nt;
	char *account;
	int r;

	if (e->tok.refresh_token == NULL) {
		err_set(BBS_E_AUTH_REQUIRED, "the access token for '%s' has "
		    "expired and no refresh token is kept", s->url->host);
		session_login_hint(s);
		return BBS_E_AUTH_REQUIRED;
	}
	if ((r = session_endpoints(s)) != 0)
		return r;
	trace_printf("oauth: refreshing the access token");
	r = oauth_refresh(&s->oc, e->tok.refresh_token, e->tok.redirect_uri,
	    &nt);
	if (r == BBS_E_AUTH_REQUIRED) {
		session_login_hint(s);
		return r;
	}
	if (r != 0)
		return r;
	/* a server that does not rotate keeps the old refresh token */
	if (nt.refresh_token == NULL)
		nt.refresh_token = xstrdup(e->tok.refresh_token);
	if (nt.scope == NULL && e->tok.scope != NULL)
		nt.scope = xstrdup(e->tok.scope);
	if (e->tok.redirect_uri != NULL)
		nt.redirect_uri = xstrdup(e->tok.redirect_uri);
	account = xstrdup(e->account);
	store_put(st, s->key, account, s->oc.provider, &nt);
	free(account);
	return session_store_save(s, st);
}

/*
 * BBS_REFRESH_TOKEN seeds a headless machine: it is used once, and the
 * grant it yields is stored like any other.
 */
static int
session_seed(struct session *s)
{
	struct oauth_token tok;
	char *account = NULL;
	int r;

	if (s->settings->refresh_seed == NULL || s->seeded)
		return BBS_E_AUTH_REQUIRED;
	s->seeded = 1;
	err_clear();
	if ((r = session_endpoints(s)) != 0)
		return r;
	r = oauth_refresh(&s->oc, s->settings->refresh_seed, NULL, &tok);
	if (r == BBS_E_AUTH_REQUIRED) {
		err_clear();
		err_set(BBS_E_AUTH_REQUIRED, "the server refused the refresh "
		    "token in BBS_REFRESH_TOKEN");
		session_login_hint(s);
		return BBS_E_AUTH_REQUIRED;
	}
	if (r != 0)
		return r;
	if (tok.refresh_token == NULL)
		tok.refresh_token = xstrdup(s->settings->refresh_seed);
	r = session_store_new(s, &tok, &account);
	oauth_token_release(&tok);
	free(account);
	return r;
}

int
session_token(struct session *s, char **access_token)
{
	struct store st;
	struct store_entry *e;
	int r, lock = -1;

	*access_token = NULL;
	if ((r = session_store_open(s, &st)) != 0)
		return r;
	if ((r = session_pick(s, &st, &e)) == BBS_E_AUTH_REQUIRED &&
	    s->settings->refresh_seed != NULL && !s->seeded) {
		store_release(&st);
		if ((r = session_seed(s)) != 0)
			return r;
		return session_token(s, access_token);
	}
	if (r != 0)
		goto out;
	if (token_fresh(&e->tok, time(NULL)))
		goto done;
	/*
	 * Expired: one process refreshes, the others wait on the lock and
	 * then find the new token in the store.
	 */
	store_release(&st);
	if ((r = store_lock(s->store_dir, s->key, LOCK_TIMEOUT, &lock)) != 0)
		return r;
	if ((r = session_store_open(s, &st)) != 0 ||
	    (r = session_pick(s, &st, &e)) != 0)
		goto out;
	if (!token_fresh(&e->tok, time(NULL))) {
		if ((r = session_refresh_locked(s, &st, e)) != 0)
			goto out;
		e = store_find(&st, s->key, e->account, NULL);
	}
done:
	*access_token = xstrdup(e->tok.access_token);
	free(s->scope);
	s->scope = e->tok.scope ? xstrdup(e->tok.scope) : NULL;
	s->use_until = e->tok.expires_at == 0 ? 0 :
	    e->tok.expires_at - EXPIRY_MARGIN;
out:
	store_unlock(lock);
	store_release(&st);
	return r;
}

int
session_token_refused(struct session *s, const char *refused,
    char **access_token)
{
	struct store st;
	struct store_entry *e;
	int r, lock = -1;

	*access_token = NULL;
	if ((r = store_lock(s->store_dir, s->key, LOCK_TIMEOUT, &lock)) != 0)
		return r;
	if ((r = session_store_open(s, &st)) != 0 ||
	    (r = session_pick(s, &st, &e)) != 0)
		goto out;
	/* another process may have refreshed already: then use its token */
	if (secret_equal(e->tok.access_token, refused)) {
		if ((r = session_refresh_locked(s, &st, e)) != 0)
			goto out;
		e = store_find(&st, s->key, e->account, NULL);
	}
	*access_token = xstrdup(e->tok.access_token);
out:
	store_unlock(lock);
	store_release(&st);
	return r;
}

int
session_expire(struct session *s, const char *refused)
{
	struct store st;
	struct store_entry *e;
	int r, lock = -1;

	if ((r = store_lock(s->store_dir, s->key, LOCK_TIMEOUT, &lock)) != 0)
		return r;
	if ((r = session_store_open(s, &st)) == 0 &&
	    session_pick(s, &st, &e) == 0 &&
	    secret_equal(e->tok.access_token, refused) &&
	    e->tok.expires_at != 1) {
		e->tok.expires_at = 1;
		r = session_store_save(s, &st);
	}
	if (r == 0)
		err_clear();	/* no grant to mark is not a failure */
	store_release(&st);
	store_unlock(lock);
	return r;
}

/* Turn off core dumps and ptrace while a sign-in holds secrets. */
void
session_protect_process(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
#ifdef __linux__
	prctl(PR_SET_DUMPABLE, 0);
#endif
}

/* Store a new grant, naming the account after the server's answer. */
int
session_store_new(struct session *s, struct oauth_token *tok,
    char **account_out)
{
	struct store st;
	char *who;
	const char *account;
	int r, lock = -1;

	who = oauth_whoami(&s->oc, tok->access_token);
	account = s->url->user ? s->url->user : who ? who : "default";
	if ((r = store_lock(s->store_dir, s->key, LOCK_TIMEOUT, &lock)) != 0)
		goto out;
	if ((r = session_store_open(s, &st)) == 0) {
		store_put(&st, s->key, account, s->oc.provider, tok);
		r = session_store_save(s, &st);
	}
	store_release(&st);
	store_unlock(lock);
	if (r == 0 && account_out != NULL)
		*account_out = xstrdup(account);
out:
	free(who);
	return r;
}

int
remote_ctx_config(struct remote_ctx *c, const char *url)
{
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = url_parse(&c->url, url)) != 0 ||
	    (r = transport_cli_config(&c->gitcfg)) != 0 ||
	    (r = config_load(&c->cfg, c->gitcfg, &c->url)) != 0)
		return r;
	/* a static BBS_ACCESS_TOKEN plays no part in OAuth commands */
	secret_free(c->cfg.token);
	c->cfg.token = NULL;
	return conn_init(&c->conn, &c->url, &c->cfg);
}

int
remote_ctx_session(struct remote_ctx *c)
{
	return session_init(&c->s, &c->cfg, &c->url, c->conn.http);
}

void
remote_ctx_release(struct remote_ctx *c)
{
	session_release(&c->s);
	conn_release(&c->conn);
	config_release(&c->cfg);
	url_release(&c->url);
	transport_config_free(c->gitcfg);
}
