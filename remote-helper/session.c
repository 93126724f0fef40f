/* SPDX-License-Identifier: MIT */
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
#include <time.h>
#include <unistd.h>

#include "helper.h"

#define EXPIRY_MARGIN_MAX 60	/* refresh at most this many seconds early */
#define LOCK_TIMEOUT 120

void
session_release(struct session *s)
{
	if (s == NULL)
		return;
	oauth_client_release(&s->oc);
	free(s->key);
	free(s->store_dir);
	free(s->base);
	free(s->scope);
	free(s->unusable);
	free(s->picked);
	oauth_token_release(&s->unsaved);
	free(s->unsaved_account);
	secret_free(s->unsaved_spent);
	memset(s, 0, sizeof(*s));
}

int
session_store_dir(char **out)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	*out = NULL;
	if (state != NULL && state[0] == '/')
		*out = xasprintf("%s/git-remote-bbs", state);
	else if (home != NULL && home[0] == '/')
		*out = xasprintf("%s/.local/state/git-remote-bbs", home);
	else
		return err_set(BBS_E_INVALID, "neither XDG_STATE_HOME nor "
		    "HOME is set: nowhere to keep tokens");
	return 0;
}

/* The URL to name in a bbs.<url>.<key> hint: the remote's scheme and host. */
static char *
config_url(const struct remote_url *u)
{
	return xstrndup(u->url, strlen(u->url) - strlen(u->path));
}

/*
 * The host an error names: with its port when that is not the scheme's
 * default, since settings and built-in providers go by the port too.
 */
static char *
config_where(const struct remote_url *u)
{
	char *cu;

	if (u->port == (strcmp(u->scheme, "https") == 0 ? 443 : 80))
		return xstrdup(u->host);
	cu = config_url(u);
	memmove(cu, cu + strlen(u->scheme) + 3,	/* past "://" */
	    strlen(cu + strlen(u->scheme) + 3) + 1);
	return cu;
}

/*
 * A missing setting: the error, with `why` after it when not NULL, and a
 * hint naming the key to set.
 */
static int
not_configured(const struct remote_url *u, const char *what,
    const char *key, const char *values, const char *why)
{
	char *cu = config_url(u), *where = config_where(u);
	int r;

	r = err_set(BBS_E_NOT_CONFIGURED, "no OAuth %s is configured for "
	    "'%s'%s%s", what, where, why ? ": " : "", why ? why : "");
	err_hint("set bbs.%s.%s %s", cu, key, values);
	free(where);
	free(cu);
	return r;
}

/*
 * No provider.  The host of a built-in one, on another port or over
 * plain http, is not that provider's service: the message says so, or
 * bitbucket.org:8443 not being Bitbucket Cloud would be a puzzle.
 */
static int
no_provider(const struct remote_url *u)
{
	const struct provider *p = provider_by_host(u->host);
	char *names = provider_names(), *values, *why = NULL;
	int r;

	values = xasprintf("(%s)", names);
	if (p != NULL)
		why = xasprintf("%s is chosen by itself only for https://%s "
		    "on port 443", p->name, p->host);
	r = not_configured(u, "provider", "provider", values, why);
	free(why);
	free(values);
	free(names);
	return r;
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
	const struct provider *p;
	int r;

	memset(s, 0, sizeof(*s));
	s->url = u;
	s->settings = o;
	c->http = http;
	if (o->provider == NULL)
		return no_provider(u);
	if ((p = provider_by_name(o->provider)) == NULL)
		return err_set(BBS_E_INVALID, "unknown provider '%s'",
		    o->provider);
	c->provider = xstrdup(p->name);
	if (p->base_marker != NULL)
		s->base = o->ep.issuer ? xstrdup(o->ep.issuer) :
		    provider_base(p, u);
	else if (p->token_url == NULL)	/* the issuer is for discovery */
		dup_or(&c->ep.issuer, o->ep.issuer, NULL);
	c->ep.authorize_url = o->ep.authorize_url ?
	    xstrdup(o->ep.authorize_url) :
	    provider_endpoint(p->authorize_url, s->base);
	c->ep.token_url = o->ep.token_url ? xstrdup(o->ep.token_url) :
	    provider_endpoint(p->token_url, s->base);
	c->ep.userinfo_url = o->ep.userinfo_url ?
	    xstrdup(o->ep.userinfo_url) :
	    provider_endpoint(p->userinfo_url, s->base);
	dup_or(&c->scopes, o->scopes, p->default_scopes);
	c->redirect_on_refresh = p->redirect_on_refresh;
	dup_or(&c->ep.device_url, o->ep.device_url, NULL);
	dup_or(&c->ep.revocation_url, o->ep.revocation_url, NULL);
	dup_or(&c->redirect_uri, o->redirect_uri, NULL);
	c->auth = OAUTH_AUTH_BASIC;
	if (o->client_secret != NULL)
		c->client_secret = xstrdup(o->client_secret);
	if (o->client_id == NULL)
		return not_configured(u, "client", "clientId",
		    "(or BBS_CLIENT_ID) to the OAuth consumer key", NULL);
	c->client_id = xstrdup(o->client_id);
	if (p->needs_issuer_or_token_url && c->ep.issuer == NULL &&
	    c->ep.token_url == NULL)
		return not_configured(u, "issuer", "issuer", "(or "
		    "bbs.<url>.tokenUrl) for the generic provider", NULL);
	/* configured endpoints: the rule discovered ones follow, no network */
	if ((r = oauth_endpoints_check(&c->ep)) != 0)
		return r;
	s->key = xasprintf("%s %s", c->ep.issuer ? c->ep.issuer :
	    c->ep.token_url, c->client_id);
	if ((r = session_store_dir(&s->store_dir)) != 0)
		return r;
	s->credhelper = o->token_store != NULL &&
	    strcmp(o->token_store, "credential-helper") == 0;
	return 0;
}

void
session_client_from(const struct session *s, char *out, size_t len)
{
	const char *from = s->settings->client_from;
	char *id = oauth_text_clean(s->oc.client_id, 256);

	snprintf(out, len, "%s (id %s)", from ? from : "bbs.<url>.clientId",
	    id ? id : "?");
	free(id);
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

int
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
		free(s->picked);
		s->picked = xstrdup((*out)->account);
		return 0;
	}
	buf_init(&names, 4096);
	for (i = 0; i < st->nr; i++)
		if (strcmp(st->e[i].key, s->key) == 0 &&	/* once each */
		    store_find(st, s->key, st->e[i].account, NULL) == &st->e[i])
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
	return credstore_open(st, s->store_dir, s->key);
}

int
session_default_store(int *credhelper)
{
	struct helper_config cfg;
	struct git_config *gitcfg = NULL;
	struct remote_url u;
	int r;

	*credhelper = 0;
	memset(&u, 0, sizeof(u));
	memset(&cfg, 0, sizeof(cfg));
	/* the settings of no URL in particular: a URL no pattern names */
	if ((r = url_parse(&u, "https://git-remote-bbs.invalid/")) == 0 &&
	    (r = transport_cli_config(&gitcfg)) == 0 &&
	    (r = config_load(&cfg, gitcfg, &u)) == 0)
		*credhelper = cfg.oauth.token_store != NULL &&
		    strcmp(cfg.oauth.token_store, "credential-helper") == 0;
	config_release(&cfg);
	transport_config_free(gitcfg);
	url_release(&u);
	return r;
}

int
session_store_open_all(struct store *st)
{
	char *dir;
	int r, credhelper;

	memset(st, 0, sizeof(*st));
	if ((r = session_store_dir(&dir)) != 0)
		return r;
	if ((r = session_default_store(&credhelper)) == 0)
		r = credhelper ? credstore_open(st, dir, NULL) :
		    store_open(st, dir);
	free(dir);
	return r;
}

/*
 * How early to refresh: a quarter of the token's lifetime, at most
 * EXPIRY_MARGIN_MAX, so that a token that lives under a minute is not
 * "expired" on arrival.  With the lifetime unknown, the maximum.
 */
static int64_t
expiry_margin(const struct oauth_token *t)
{
	if (t->lifetime > 0 && t->lifetime / 4 < EXPIRY_MARGIN_MAX)
		return t->lifetime / 4;
	return EXPIRY_MARGIN_MAX;
}

static int
token_fresh(const struct oauth_token *t, int64_t now)
{
	return t->expires_at == 0 || now + expiry_margin(t) < t->expires_at;
}

/* Not past its expiry (1 marks a token the server refused). */
static int
token_alive(const struct oauth_token *t, int64_t now)
{
	return t->expires_at == 0 || now < t->expires_at;
}

/* Remember why the stored grant is unusable, and say it. */
static void
session_unusable(struct session *s, char *why)
{
	free(s->unusable);
	s->unusable = why;
	err_clear();
	err_set(BBS_E_AUTH_REQUIRED, "%s", why);
}

/*
 * Client credentials carry no refresh token (RFC 6749 §4.4.3): run the
 * grant again with the configured secret.  Called under the lock.
 */
static int
session_renew_client_credentials(struct session *s,
    const struct store_entry *e, struct oauth_token *nt)
{
	int r;

	if (s->oc.client_secret == NULL) {
		session_unusable(s, xasprintf("the client-credentials token "
		    "for '%s' has expired and no client secret is configured "
		    "to renew it", s->url->host));
		err_hint("set BBS_CLIENT_SECRET (or bbs.<url>.clientSecret) "
		    "so that it renews itself");
		return BBS_E_AUTH_REQUIRED;
	}
	if ((r = session_endpoints(s)) != 0)
		return r;
	trace_printf("oauth: renewing the client-credentials token");
	if ((r = oauth_client_credentials(&s->oc, nt)) != 0)
		return r;
	nt->grant = xstrdup(e->tok.grant);
	return 0;
}

/* A refused refresh: the grant is dead, and the reason must show. */
static int
session_refresh_refused(struct session *s)
{
	char *u = session_login_url(s);

	/* oauth_refresh() said why: "the sign-in has expired or was ..." */
	session_unusable(s, xstrdup(err_message() ? err_message() :
	    "the sign-in has expired or was revoked"));
	err_hint("sign in again with: git bbs login %s", u);
	free(u);
	return BBS_E_AUTH_REQUIRED;
}

/*
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT during a refresh.  The server may
 * rotate the refresh token the moment it gets the request, so a token
 * answer that arrives is saved before the process goes: a signal is
 * recorded, the request gets REFRESH_GRACE more seconds to answer (a
 * second signal ends it at once), and once the grant is saved (or the
 * request ended) the signal is raised again with the disposition it had,
 * so the exit status is the signal's.  A signal ignored when the refresh
 * starts stays ignored.
 */
#define REFRESH_GRACE 1

static volatile sig_atomic_t refresh_signal;

static void
on_refresh_grace_over(int sig)
{
	(void)sig;
	http_cancel();
}

static void
on_refresh_signal(int sig)
{
	if (refresh_signal != 0)
		http_cancel();	/* asked twice: stop waiting */
	else
		alarm(REFRESH_GRACE);
	refresh_signal = sig;
}

struct signal_hold {
	int held;
	struct sigaction old_int, old_term, old_hup, old_quit, old_alrm;
};

static void
hold_one(int sig, void (*fn)(int), struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaddset(&sa.sa_mask, SIGQUIT);
	sigaddset(&sa.sa_mask, SIGALRM);
	sigaction(sig, NULL, old);
	if (old->sa_handler != SIG_IGN || sig == SIGALRM)
		sigaction(sig, &sa, NULL);
}

/* From here to signals_release(): a signal waits for the save. */
static void
signals_hold(struct signal_hold *h)
{
	refresh_signal = 0;
	hold_one(SIGALRM, on_refresh_grace_over, &h->old_alrm);
	hold_one(SIGINT, on_refresh_signal, &h->old_int);
	hold_one(SIGTERM, on_refresh_signal, &h->old_term);
	/* a closed terminal or ssh session, and Ctrl-\ */
	hold_one(SIGHUP, on_refresh_signal, &h->old_hup);
	hold_one(SIGQUIT, on_refresh_signal, &h->old_quit);
	h->held = 1;
}

/* Put the dispositions back, and deliver a signal that came meanwhile. */
static void
signals_release(struct signal_hold *h)
{
	int sig;

	if (!h->held)
		return;
	h->held = 0;
	sigaction(SIGINT, &h->old_int, NULL);
	sigaction(SIGTERM, &h->old_term, NULL);
	sigaction(SIGHUP, &h->old_hup, NULL);
	sigaction(SIGQUIT, &h->old_quit, NULL);
	alarm(0);
	sigaction(SIGALRM, &h->old_alrm, NULL);
	if ((sig = refresh_signal) != 0) {
		refresh_signal = 0;
		trace_printf("oauth: the refresh is over; delivering signal %d",
		    sig);
		fflush(NULL);
		raise(sig);
	}
}

/* Whether a signal came since signals_hold(). */
static int
signal_pending(void)
{
	return refresh_signal != 0;
}

#define SAVE_TRIES 3

static void
session_unsaved_forget(struct session *s)
{
	oauth_token_release(&s->unsaved);
	free(s->unsaved_account);
	secret_free(s->unsaved_spent);
	s->unsaved_account = NULL;
	s->unsaved_spent = NULL;
}

/*
 * The rotated grant `nt` of `account` was not saved: the store still has
 * the grant with the refresh token `spent`.  Remember `nt` for the rest
 * of this process (a later refresh or a refused token must not go back
 * to the spent one).
 */
static void
session_unsaved_keep(struct session *s, const char *account,
    const struct oauth_token *nt, const char *spent)
{
	char *keep;

	if (spent == NULL)
		return;
	/* after an earlier failure the store still holds the first one */
	keep = xstrdup(s->unsaved_spent != NULL &&
	    strcmp(s->unsaved_account, account) == 0 ? s->unsaved_spent :
	    spent);
	session_unsaved_forget(s);
	oauth_token_copy(&s->unsaved, nt);
	s->unsaved_account = xstrdup(account);
	s->unsaved_spent = keep;
}

/*
 * After `st` was read: where it still holds the grant whose refresh token
 * this process saw rotated away, put the unsaved one in its place (*ep
 * is found again); once it holds anything else, forget the unsaved one.
 */
static void
session_unsaved_apply(struct session *s, struct store *st,
    struct store_entry **ep)
{
	struct store_entry *e = *ep;
	struct oauth_token copy;
	char *account, *provider;

	if (s->unsaved_account == NULL || e == NULL ||
	    strcmp(e->account, s->unsaved_account) != 0)
		return;
	if (e->tok.refresh_token == NULL ||
	    !secret_equal(e->tok.refresh_token, s->unsaved_spent)) {
		session_unsaved_forget(s);
		return;
	}
	trace_printf("oauth: the store still holds a spent refresh token; "
	    "using the grant that could not be saved");
	oauth_token_copy(&copy, &s->unsaved);
	account = xstrdup(e->account);
	provider = xstrdup_or_null(e->provider);	/* store_put frees e's */
	store_put(st, s->key, account, provider, &copy);
	*ep = store_find(st, s->key, account, NULL);
	free(account);
	free(provider);
}

/*
 * Save the rotated grant `nt` of `account`, which replaces the refresh
 * token `spent` (NULL: none); on failure try again, and in the end keep
 * it in `st` and in the session for this process to use, with a
 * warning: the server has already rotated the old refresh token away.
 */
static void
session_save_rotated(struct session *s, struct store *st,
    const char *account, struct oauth_token *nt, const char *spent)
{
	struct oauth_token copy;
	int i, r = 0;

	for (i = 0; i < SAVE_TRIES; i++) {
		if (i > 0) {
			trace_printf("store: saving again: %s", err_message());
			sleep(1);
		}
		if ((r = store_update(st, s->key, account, s->oc.provider,
		    nt)) == 0) {
			session_unsaved_forget(s);
			return;
		}
	}
	fprintf(stderr, "warning: could not save the new tokens for '%s': %s\n"
	    "warning: the next command may have to sign in again\n",
	    s->url->host, err_message() ? err_message() : "unknown error");
	err_clear();
	session_unsaved_keep(s, account, nt, spent);
	if (store_find(st, s->key, account, NULL) == NULL ||
	    !secret_equal(store_find(st, s->key, account,
	    NULL)->tok.access_token, nt->access_token)) {
		copy = *nt;
		memset(nt, 0, sizeof(*nt));
		store_put(st, s->key, account, s->oc.provider, &copy);
	}
}

/*
 * Refresh *ep (already re-read under the lock) and save before use; *ep
 * then points at the new grant in `st`.
 */
static int
session_refresh_locked(struct session *s, struct store *st,
    struct store_entry **ep)
{
	struct store_entry *e = *ep;
	struct oauth_token nt;
	char *account, *spent;
	int r;

	if (e->tok.refresh_token == NULL && e->tok.grant != NULL &&
	    strcmp(e->tok.grant, "client_credentials") == 0) {
		if ((r = session_renew_client_credentials(s, e, &nt)) != 0)
			return r;
		goto put;
	}
	if (e->tok.refresh_token == NULL) {
		err_set(BBS_E_AUTH_REQUIRED, "the access token for '%s' has "
		    "expired and no refresh token is kept", s->url->host);
		session_login_hint(s);
		return BBS_E_AUTH_REQUIRED;
	}
	if ((r = session_endpoints(s)) != 0)
		return r;
	/* room for the save first: the server is about to rotate */
	if ((r = store_reserve(st)) != 0)
		return r;
	store_testpoint("before-request");
	if (signal_pending())	/* nothing sent yet: nothing to lose */
		return err_set(BBS_E_CANCELLED, "interrupted");
	trace_printf("oauth: refreshing the access token");
	r = oauth_refresh(&s->oc, e->tok.refresh_token, e->tok.redirect_uri,
	    &nt);
	if (r == BBS_E_AUTH_REQUIRED)
		return session_refresh_refused(s);
	if (r != 0)
		return r;
	store_testpoint("after-response");
	/* a server that does not rotate keeps the old refresh token */
	if (nt.refresh_token == NULL)
		nt.refresh_token = xstrdup(e->tok.refresh_token);
	if (e->tok.redirect_uri != NULL)
		nt.redirect_uri = xstrdup(e->tok.redirect_uri);
put:
	if (nt.scope == NULL && e->tok.scope != NULL)
		nt.scope = xstrdup(e->tok.scope);
	account = xstrdup(e->account);
	spent = xstrdup_or_null(e->tok.refresh_token);
	session_save_rotated(s, st, account, &nt, spent);
	oauth_token_release(&nt);
	secret_free(spent);
	*ep = store_find(st, s->key, account, NULL);
	free(account);
	if (*ep == NULL)
		return err_set(BBS_E_IO, "the token store lost the grant being "
		    "refreshed");
	return 0;
}

/*
 * BBS_REFRESH_TOKEN seeds a headless machine: it is used once, and the
 * grant it yields is stored like any other.  Many processes may start
 * with the same seed (fetch --jobs, submodules): one uses it, under the
 * grant's lock, and the others then find its grant.
 */
static int
session_seed(struct session *s)
{
	int r;

	if (s->settings->refresh_seed == NULL || s->seeded)
		return BBS_E_AUTH_REQUIRED;
	s->seeded = 1;
	err_clear();
	r = session_import(s, s->settings->refresh_seed, 1, NULL);
	if (r == BBS_E_AUTH_REQUIRED) {
		err_clear();
		err_set(BBS_E_AUTH_REQUIRED, "the server refused the refresh "
		    "token in BBS_REFRESH_TOKEN");
		session_login_hint(s);
	}
	return r;
}

int
session_token(struct session *s, char **access_token)
{
	struct store st;
	struct store_entry *e;
	struct signal_hold hold = { 0 };
	char *seen = NULL;
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
	session_unsaved_apply(s, &st, &e);
	if (token_fresh(&e->tok, time(NULL)))
		goto done;
	/*
	 * Expired: one process refreshes, the others wait on the lock and
	 * then find the new token in the store: one that differs from the
	 * token seen before waiting is another process's fresh one, used as
	 * it is (re-testing it against the margin would refresh again).
	 */
	seen = xstrdup(e->tok.access_token);
	store_release(&st);
	if ((r = store_lock(s->store_dir, s->key, LOCK_TIMEOUT, &lock)) != 0) {
		secret_free(seen);
		return r;
	}
	if ((r = session_store_open(s, &st)) != 0 ||
	    (r = session_pick(s, &st, &e)) != 0)
		goto out;
	session_unsaved_apply(s, &st, &e);
	if (!secret_equal(e->tok.access_token, seen) &&
	    token_alive(&e->tok, time(NULL)))
		trace_printf("oauth: another process renewed the token");
	else if (!token_fresh(&e->tok, time(NULL))) {
		signals_hold(&hold);
		if ((r = session_refresh_locked(s, &st, &e)) != 0)
			goto out;
	}
done:
	*access_token = xstrdup(e->tok.access_token);
	free(s->scope);
	s->scope = e->tok.scope ? xstrdup(e->tok.scope) : NULL;
	s->use_until = e->tok.expires_at == 0 ? 0 :
	    e->tok.expires_at - expiry_margin(&e->tok);
out:
	secret_free(seen);
	store_unlock(lock);
	store_release(&st);
	signals_release(&hold);
	return r;
}

int
session_token_refused(struct session *s, const char *refused,
    char **access_token)
{
	struct store st;
	struct store_entry *e;
	struct signal_hold hold = { 0 };
	int r, lock = -1;

	*access_token = NULL;
	if ((r = store_lock(s->store_dir, s->key, LOCK_TIMEOUT, &lock)) != 0)
		return r;
	if ((r = session_store_open(s, &st)) != 0 ||
	    (r = session_pick(s, &st, &e)) != 0)
		goto out;
	session_unsaved_apply(s, &st, &e);
	/* another process may have refreshed already: then use its token */
	if (secret_equal(e->tok.access_token, refused)) {
		signals_hold(&hold);
		if ((r = session_refresh_locked(s, &st, &e)) != 0)
			goto out;
	}
	*access_token = xstrdup(e->tok.access_token);
out:
	store_unlock(lock);
	store_release(&st);
	signals_release(&hold);
	return r;
}

/*
 * The grant of this server and client whose access token is `refused`,
 * whichever account it is: git erases with the user name it was given
 * (x-token-auth), which picks no account when there are several.
 */
static struct store_entry *
grant_with_token(struct session *s, struct store *st, const char *refused)
{
	size_t i;

	for (i = 0; i < st->nr; i++)
		if (strcmp(st->e[i].key, s->key) == 0 &&
		    (s->url->user == NULL ||
		    strcmp(st->e[i].account, s->url->user) == 0) &&
		    st->e[i].tok.access_token != NULL &&
		    secret_equal(st->e[i].tok.access_token, refused))
			return &st->e[i];
	return NULL;
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
	    (e = grant_with_token(s, &st, refused)) != NULL &&
	    e->tok.expires_at != 1) {
		struct oauth_token t = e->tok;
		char *account = xstrdup(e->account);
		char *provider = e->provider ? xstrdup(e->provider) : NULL;

		memset(&e->tok, 0, sizeof(e->tok));
		t.expires_at = 1;
		r = store_update(&st, s->key, account, provider, &t);
		oauth_token_release(&t);
		free(account);
		free(provider);
	}
	if (r == 0)
		err_clear();	/* no grant to mark is not a failure */
	store_release(&st);
	store_unlock(lock);
	return r;
}

/*
 * Say when the server signed in another account than the URL names
 * (`who` is the server's text: control bytes are shown in caret notation).
 */
static void
warn_other_account(const char *who, const char *want)
{
	char *shown;

	if (strcmp(who, want) == 0)
		return;
	shown = text_sanitized(who, strlen(who));
	fprintf(stderr, "warning: the server signed in '%s', but the URL "
	    "names '%s'; the grant is kept for '%s'\n", shown, want, want);
	free(shown);
}

/* Whether a grant (readable or damaged) of `key` is filed as `account`. */
static int
account_taken(const struct store *st, const char *key, const char *account)
{
	size_t i;

	if (store_find((struct store *)st, key, account, NULL) != NULL)
		return 1;
	for (i = 0; i < st->raw_nr; i++)
		if (st->raw[i].key != NULL && st->raw[i].account != NULL &&
		    strcmp(st->raw[i].key, key) == 0 &&
		    strcmp(st->raw[i].account, account) == 0)
			return 1;
	return 0;
}

/*
 * The account to file a grant under that the server named nobody in:
 * the one this session renews, or the first free "account-N".
 */
static char *
unnamed_account(struct session *s, const struct store *st)
{
	char *name;
	unsigned n;

	if (s->picked != NULL && account_taken(st, s->key, s->picked))
		return xstrdup(s->picked);
	for (n = 1;; n++) {
		name = xasprintf("account-%u", n);
		if (!account_taken(st, s->key, name))
			return name;
		free(name);
	}
}

/* After a new unnamed grant: say that a URL chooses among several. */
static void
note_unnamed(struct session *s, struct store *st, const char *account)
{
	size_t n = 0;

	(void)store_find(st, s->key, NULL, &n);
	fprintf(stderr, "note: the server did not say who signed in; the "
	    "grant is kept as '%s'\n", account);
	if (n > 1)
		fprintf(stderr, "note: %zu accounts are signed in to '%s' now; "
		    "a URL chooses one: %s://%s@%s\n", n, s->url->host,
		    s->url->scheme, account,
		    s->url->url + strlen(s->url->scheme) + 3);
}

/* Who the server says `tok` signs in (its text), or NULL. */
static char *
session_identify(struct session *s, const struct oauth_token *tok)
{
	char *who = oauth_whoami(&s->oc, tok->access_token);

	if (who == NULL)
		who = oauth_token_name(&s->oc, tok);
	if (who == NULL)
		who = oauth_introspect_name(&s->oc, tok->access_token);
	if (who != NULL && s->url->user != NULL)
		warn_other_account(who, s->url->user);
	return who;
}

/*
 * The account a new grant goes under, in `st` (open under the grant's
 * lock): the URL's, else the server's name `who`, else a new
 * "account-N"; *unnamed says which.
 */
static char *
session_new_account(struct session *s, const struct store *st,
    const char *who, int *unnamed)
{
	*unnamed = s->url->user == NULL && who == NULL;
	if (!*unnamed)
		return xstrdup(s->url->user ? s->url->user : who);
	return unnamed_account(s, st);
}

int
session_store_new(struct session *s, struct oauth_token *tok,
    char **account_out)
{
	struct store st;
	char *who, *account = NULL;
	int r, lock = -1, unnamed = 0;

	who = session_identify(s, tok);
	if ((r = store_lock(s->store_dir, s->key, LOCK_TIMEOUT, &lock)) != 0)
		goto out;
	if ((r = session_store_open(s, &st)) == 0) {
		account = session_new_account(s, &st, who, &unnamed);
		r = store_update(&st, s->key, account, s->oc.provider, tok);
	}
	if (r == 0 && unnamed)
		note_unnamed(s, &st, account);
	store_release(&st);
	store_unlock(lock);
	if (r == 0 && account_out != NULL) {
		*account_out = account;
		account = NULL;
	}
out:
	free(account);
	free(who);
	return r;
}

/* What session_identify() reads of a token: `dst` gets copies. */
static void
identity_copy(struct oauth_token *dst, const struct oauth_token *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->access_token = xstrdup(src->access_token);
	dst->id_token = xstrdup_or_null(src->id_token);
	dst->account = xstrdup_or_null(src->account);
}

/*
 * The imported grant, saved as *account (a name of ours), goes under the
 * server's name `who`; if that fails it stays where it is, and says so.
 */
static void
session_import_rename(struct session *s, struct store *st, char **account,
    const char *who)
{
	if (store_move(st, s->key, *account, who) != 0) {
		fprintf(stderr, "warning: the grant is kept as '%s', not as "
		    "'%s': %s\n", *account, who, err_message() ?
		    err_message() : "unknown error");
		err_clear();
		return;
	}
	free(*account);
	*account = xstrdup(who);
}

int
session_import(struct session *s, const char *refresh_token, int if_absent,
    char **account_out)
{
	struct oauth_token tok, id;
	struct store st;
	struct store_entry *e;
	struct signal_hold hold = { 0 };
	char *who = NULL, *account = NULL;
	int r, lock = -1, unnamed = 0, opened = 0;

	if (account_out != NULL)
		*account_out = NULL;
	memset(&tok, 0, sizeof(tok));
	memset(&id, 0, sizeof(id));
	if ((r = session_endpoints(s)) != 0)
		return r;
	if ((r = store_lock(s->store_dir, s->key, LOCK_TIMEOUT, &lock)) != 0)
		return r;
	if ((r = session_store_open(s, &st)) != 0)
		goto out;
	opened = 1;
	if (if_absent && session_pick(s, &st, &e) != BBS_E_AUTH_REQUIRED) {
		/* a grant is there now: another process used the seed */
		trace_printf("oauth: another process used the refresh token");
		err_clear();
		goto out;
	}
	err_clear();
	/* room for the save first: the server is about to rotate */
	if ((r = store_reserve(&st)) != 0)
		goto out;
	signals_hold(&hold);
	if ((r = oauth_refresh(&s->oc, refresh_token, NULL, &tok)) != 0)
		goto out;
	/* a server that does not rotate keeps the refresh token given */
	if (tok.refresh_token == NULL)
		tok.refresh_token = xstrdup(refresh_token);
	/*
	 * Saved before its access token is used: under the URL's account,
	 * or a free name of ours until the server says whose it is.
	 */
	account = session_new_account(s, &st, NULL, &unnamed);
	identity_copy(&id, &tok);
	session_save_rotated(s, &st, account, &tok, NULL);
	who = session_identify(s, &id);
	if (unnamed && who != NULL)
		session_import_rename(s, &st, &account, who);
	else if (unnamed)
		note_unnamed(s, &st, account);
	if (account_out != NULL) {
		*account_out = account;
		account = NULL;
	}
out:
	oauth_token_release(&tok);
	oauth_token_release(&id);
	if (opened)
		store_release(&st);
	store_unlock(lock);
	signals_release(&hold);
	free(account);
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
	    (r = config_load(&c->cfg, c->gitcfg, &c->url)) != 0 ||
	    (r = config_env_scrub()) != 0)
		return r;
	/*
	 * A static BBS_ACCESS_TOKEN plays no part in OAuth commands; only
	 * git-credential-bbs answers with it (git-lfs in CI).
	 */
	c->static_token = c->cfg.token;
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
	secret_free(c->static_token);
	c->static_token = NULL;
}
