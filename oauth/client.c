/* SPDX-License-Identifier: MIT */
/*
 * client.c - requests to the authorization server: discovery, token
 * grants, device authorization, revocation, user info.
 *
 * Token endpoints are https (plain http only for loopback test servers),
 * never follow redirects, and answers are capped at 64 KiB.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "oauth.h"

#define OAUTH_RESPONSE_MAX ((size_t)64 * 1024)
#define OAUTH_TIMEOUT 60	/* seconds for any one request */

void
oauth_client_release(struct oauth_client *c)
{
	if (c == NULL)
		return;
	oauth_endpoints_release(&c->ep);
	free(c->provider);
	free(c->client_id);
	secret_free(c->client_secret);
	free(c->scopes);
	free(c->redirect_uri);
	memset(c, 0, sizeof(*c));
}

static int64_t
client_now(struct oauth_client *c)
{
	return c->now ? c->now() : (int64_t)time(NULL);
}

char *
oauth_text_clean(const char *s, size_t max)
{
	return s != NULL ? text_cleaned(s, max) : NULL;
}

/*
 * One request: GET when `form` is NULL, else a form POST.  The answer
 * (bounded) lands in `resp`.  `bearer` adds an Authorization header.
 */
static int
oauth_request(struct oauth_client *c, const char *url, struct buf *form,
    int client_auth, const char *bearer, long *status, struct buf *resp)
{
	struct http_request req;
	struct http_response hr;
	struct http_stream *hs = NULL;
	const char *hdrs[3];
	char *auth = NULL;
	int r;

	*status = 0;
	if (url == NULL)
		return err_set(BBS_E_INVALID, "no endpoint configured");
	if ((r = oauth_endpoint_check("authorization server", url)) != 0)
		return r;
	memset(&req, 0, sizeof(req));
	req.url = url;
	req.allow_http = 1;	/* oauth_endpoint_check(): loopback only */
	req.body_fd = -1;
	req.timeout = OAUTH_TIMEOUT;
	hdrs[0] = "Accept: application/json";
	hdrs[1] = form ? "Content-Type: application/x-www-form-urlencoded" :
	    NULL;
	hdrs[2] = NULL;
	req.headers = hdrs;
	if (form != NULL) {
		/* a code, refresh token or secret goes; tokens may come back */
		req.method = "POST";
		req.close_after = 1;
		if (client_auth && c->client_secret != NULL &&
		    c->auth == OAUTH_AUTH_BASIC) {
			struct buf up;
			char *plain;

			/* RFC 6749 §2.3.1: both parts form-encoded first */
			buf_init_secret(&up, 64 * 1024);
			url_encode(&up, c->client_id);
			buf_add(&up, ":", 1);
			url_encode(&up, c->client_secret);
			if ((r = buf_error(&up)) != 0) {
				buf_release(&up);
				return r;
			}
			plain = buf_detach(&up);
			auth = xmalloc(strlen(plain) * 2 + 64);
			memcpy(auth, "Authorization: Basic ", 21);
			EVP_EncodeBlock((unsigned char *)auth + 21,
			    (const unsigned char *)plain, (int)strlen(plain));
			secret_free(plain);
		} else if (client_auth) {
			if ((r = form_add(form, "client_id", c->client_id)) != 0)
				return r;
			if (c->client_secret != NULL && (r = form_add(form,
			    "client_secret", c->client_secret)) != 0)
				return r;
		}
		/* a form that failed to build is never sent half-built */
		if ((r = buf_error(form)) != 0) {
			secret_free(auth);
			return r;
		}
		req.body = form->ptr ? form->ptr : "";
		req.body_len = (off_t)form->len;
	} else {
		req.method = "GET";
		if (bearer != NULL)
			auth = xasprintf("Authorization: Bearer %s", bearer);
	}
	req.auth_header = auth;
	r = http_open(&hs, &hr, c->http, &req);
	if (r == 0) {
		*status = hr.status;
		r = http_stream_read_all(hs, resp);
		if (r == BBS_E_TOO_BIG) {
			err_clear();
			r = err_set(BBS_E_PROTOCOL, "the authorization server "
			    "sent an oversized answer");
		}
	}
	http_stream_free(hs);
	http_response_release(&hr);
	secret_free(auth);
	return r;
}

/* POST `form` to the token endpoint and parse a token answer. */
static int
token_request(struct oauth_client *c, struct buf *form,
    struct oauth_token *out, char **oauth_error)
{
	struct buf resp;
	long status;
	int r;

	buf_init_secret(&resp, OAUTH_RESPONSE_MAX);
	r = oauth_request(c, c->ep.token_url, form, 1, NULL, &status, &resp);
	if (r == 0)
		r = oauth_token_parse(out, status, resp.ptr ? resp.ptr : "",
		    resp.len, client_now(c), oauth_error);
	buf_release(&resp);
	buf_release(form);
	return r;
}

char *
oauth_authorize_url(struct oauth_client *c, const char *redirect_uri,
    const char *state, const char *challenge)
{
	struct buf q;
	const char *base = c->ep.authorize_url;

	/* it carries the state: the caller frees it with secret_free */
	buf_init_secret(&q, 64 * 1024);
	buf_addstr(&q, base);
	buf_addstr(&q, strchr(base, '?') ? "&" : "?");
	buf_addstr(&q, "response_type=code&client_id=");
	url_encode(&q, c->client_id);
	buf_addstr(&q, "&redirect_uri=");
	url_encode(&q, redirect_uri);
	if (c->scopes != NULL && *c->scopes != '\0') {
		buf_addstr(&q, "&scope=");
		url_encode(&q, c->scopes);
	}
	buf_addstr(&q, "&state=");
	url_encode(&q, state);
	buf_addstr(&q, "&code_challenge=");
	url_encode(&q, challenge);
	buf_addstr(&q, "&code_challenge_method=S256");
	return buf_detach(&q);
}

int
oauth_exchange_code(struct oauth_client *c, const char *code,
    const char *verifier, const char *redirect_uri, struct oauth_token *out)
{
	struct buf form;

	buf_init_secret(&form, 64 * 1024);
	form_add(&form, "grant_type", "authorization_code");
	form_add(&form, "code", code);
	form_add(&form, "redirect_uri", redirect_uri);
	form_add(&form, "code_verifier", verifier);
	return token_request(c, &form, out, NULL);
}

int
oauth_refresh(struct oauth_client *c, const char *refresh_token,
    const char *redirect_uri, struct oauth_token *out)
{
	struct buf form;
	char *oerr = NULL;
	int r;

	buf_init_secret(&form, 64 * 1024);
	form_add(&form, "grant_type", "refresh_token");
	form_add(&form, "refresh_token", refresh_token);
	if (redirect_uri == NULL)
		redirect_uri = c->redirect_uri;
	if (c->redirect_on_refresh && redirect_uri != NULL)
		form_add(&form, "redirect_uri", redirect_uri);
	r = token_request(c, &form, out, &oerr);
	if (r == BBS_E_OAUTH) {
		/* invalid_grant, or Bitbucket's invalid_request: sign in */
		err_clear();
		r = err_set(BBS_E_AUTH_REQUIRED, "the sign-in has expired or "
		    "was revoked (%s)", oerr ? oerr : "refused");
	}
	free(oerr);
	return r;
}

int
oauth_client_credentials(struct oauth_client *c, struct oauth_token *out)
{
	struct buf form;

	if (c->client_secret == NULL)
		return err_set(BBS_E_INVALID, "the client-credentials flow needs "
		    "a client secret (BBS_CLIENT_SECRET or clientSecretFile)");
	buf_init_secret(&form, 64 * 1024);
	form_add(&form, "grant_type", "client_credentials");
	if (c->scopes != NULL && *c->scopes != '\0')
		form_add(&form, "scope", c->scopes);
	return token_request(c, &form, out, NULL);
}

int
oauth_device_start(struct oauth_client *c, struct oauth_device *out)
{
	struct buf form, resp;
	long status;
	int r;

	memset(out, 0, sizeof(*out));
	if (c->ep.device_url == NULL)
		return err_set(BBS_E_UNSUPPORTED, "the server offers no device "
		    "sign-in");
	/* client_secret_post puts the secret in the form */
	buf_init_secret(&form, 64 * 1024);
	buf_init_secret(&resp, OAUTH_RESPONSE_MAX);
	if (c->scopes != NULL && *c->scopes != '\0')
		form_add(&form, "scope", c->scopes);
	r = oauth_request(c, c->ep.device_url, &form, 1, NULL, &status, &resp);
	if (r == 0)
		r = oauth_device_parse(out, status, resp.ptr ? resp.ptr : "",
		    resp.len);
	buf_release(&form);
	buf_release(&resp);
	return r;
}

int
oauth_device_poll(struct oauth_client *c, struct oauth_device *d,
    struct oauth_token *out)
{
	int64_t deadline = client_now(c) + d->expires_in;
	long interval = d->interval;
	struct buf form;
	char *oerr;
	int r;

	for (;;) {
		struct timespec ts = { interval, 0 };

		if (client_now(c) + interval > deadline)
			return err_set(BBS_E_TIMEOUT, "the device code expired "
			    "before the sign-in was approved");
		/* a signal's handler sets the flag: before the sleep or in it */
		if (!http_was_cancelled())
			nanosleep(&ts, NULL);
		if (http_was_cancelled())
			return err_set(BBS_E_CANCELLED, "sign-in interrupted");
		buf_init_secret(&form, 64 * 1024);
		form_add(&form, "grant_type",
		    "urn:ietf:params:oauth:grant-type:device_code");
		form_add(&form, "device_code", d->device_code);
		oerr = NULL;
		r = token_request(c, &form, out, &oerr);
		if (r == BBS_E_OAUTH && oerr != NULL) {
			if (strcmp(oerr, "authorization_pending") == 0) {
				free(oerr);
				err_clear();
				continue;
			}
			if (strcmp(oerr, "slow_down") == 0) {
				/* RFC 8628 §3.5, within our bound */
				interval = interval + 5 > OAUTH_DEVICE_INTERVAL_MAX ?
				    OAUTH_DEVICE_INTERVAL_MAX : interval + 5;
				free(oerr);
				err_clear();
				continue;
			}
			err_clear();
			if (strcmp(oerr, "access_denied") == 0)
				r = err_set(BBS_E_CANCELLED, "the sign-in was "
				    "denied");
			else if (strcmp(oerr, "expired_token") == 0)
				r = err_set(BBS_E_TIMEOUT, "the device code "
				    "expired before the sign-in was approved");
			else
				r = err_set(BBS_E_OAUTH, "the authorization "
				    "server refused: %.64s", oerr);
		}
		free(oerr);
		return r;
	}
}

int
oauth_revoke(struct oauth_client *c, const char *token, const char *hint)
{
	struct buf form, resp;
	long status;
	int r;

	if (c->ep.revocation_url == NULL)
		return err_set(BBS_E_UNSUPPORTED, "the server offers no token "
		    "revocation");
	buf_init_secret(&form, 64 * 1024);
	buf_init(&resp, OAUTH_RESPONSE_MAX);
	form_add(&form, "token", token);
	if (hint != NULL)
		form_add(&form, "token_type_hint", hint);
	r = oauth_request(c, c->ep.revocation_url, &form, 1, NULL, &status,
	    &resp);
	if (r == 0 && status != 200)
		r = err_set(BBS_E_HTTP, "revocation answered HTTP %ld", status);
	buf_release(&form);
	buf_release(&resp);
	return r;
}

char *
oauth_whoami(struct oauth_client *c, const char *access_token)
{
	struct buf resp;
	long status;
	char *name = NULL;

	if (c->ep.userinfo_url == NULL)
		return NULL;
	buf_init(&resp, OAUTH_RESPONSE_MAX);
	if (oauth_request(c, c->ep.userinfo_url, NULL, 0, access_token,
	    &status, &resp) == 0 && status == 200 && resp.ptr != NULL)
		name = oauth_userinfo_name(resp.ptr, resp.len);
	err_clear();
	buf_release(&resp);
	return name;
}

char *
oauth_token_name(struct oauth_client *c, const struct oauth_token *t)
{
	const char *why = NULL;
	char *name;

	if (t->id_token != NULL) {
		name = oauth_id_token_name(t->id_token, c->ep.issuer,
		    c->client_id, client_now(c), &why);
		if (name != NULL) {
			trace_printf("oauth: the ID token names the account");
			return name;
		}
		trace_printf("oauth: the ID token is not trusted: %s", why);
	}
	if (t->account != NULL) {
		trace_printf("oauth: the token response names the account");
		return xstrdup(t->account);
	}
	return NULL;
}

char *
oauth_introspect_name(struct oauth_client *c, const char *access_token)
{
	struct buf form, resp;
	long status;
	char *name = NULL;

	if (c->ep.introspection_url == NULL || c->client_secret == NULL)
		return NULL;
	buf_init_secret(&form, 64 * 1024);
	buf_init(&resp, OAUTH_RESPONSE_MAX);
	form_add(&form, "token", access_token);
	form_add(&form, "token_type_hint", "access_token");
	if (oauth_request(c, c->ep.introspection_url, &form, 1, NULL, &status,
	    &resp) == 0 && status == 200 && resp.ptr != NULL)
		name = oauth_introspection_name(resp.ptr, resp.len,
		    c->client_id);
	if (name != NULL)
		trace_printf("oauth: introspection names the account");
	err_clear();
	buf_release(&form);
	buf_release(&resp);
	return name;
}

/* Fetch one metadata document; 0 if it was usable. */
static int
discover_at(struct oauth_client *c, const char *url)
{
	struct buf resp;
	long status;
	int r;

	buf_init(&resp, OAUTH_RESPONSE_MAX);
	r = oauth_request(c, url, NULL, 0, NULL, &status, &resp);
	if (r == 0 && status != 200)
		r = err_set(BBS_E_HTTP, "HTTP %ld", status);
	if (r == 0)
		r = oauth_metadata_parse(&c->ep, c->ep.issuer,
		    resp.ptr ? resp.ptr : "", resp.len);
	buf_release(&resp);
	return r;
}

int
oauth_discover(struct oauth_client *c)
{
	const char *iss = c->ep.issuer, *path;
	char *origin, *url;
	size_t ilen;
	int r;

	if (iss == NULL)
		return err_set(BBS_E_INVALID, "no issuer to discover");
	if ((r = oauth_endpoint_check("issuer", iss)) != 0)
		return r;
	ilen = strlen(iss);
	while (ilen > 0 && iss[ilen - 1] == '/')
		ilen--;
	/* RFC 8414 §3.1: the well-known part goes before the issuer's path */
	path = strstr(iss, "://");
	path = path ? strchr(path + 3, '/') : NULL;
	origin = path ? xstrndup(iss, (size_t)(path - iss)) : xstrndup(iss, ilen);
	url = xasprintf("%s/.well-known/oauth-authorization-server%.*s", origin,
	    path ? (int)(ilen - (size_t)(path - iss)) : 0, path ? path : "");
	r = discover_at(c, url);
	free(url);
	if (r != 0) {
		err_clear();
		url = xasprintf("%.*s/.well-known/openid-configuration",
		    (int)ilen, iss);
		r = discover_at(c, url);
		free(url);
	}
	free(origin);
	if (r != 0) {
		const char *why = err_message() ? err_message() : "";
		char *keep = xstrdup(why);

		err_clear();
		r = err_set(BBS_E_PROTOCOL, "discovery at '%s' failed: %s",
		    iss, keep);
		free(keep);
		return r;
	}
	if (c->ep.token_url == NULL)
		return err_set(BBS_E_PROTOCOL, "the metadata of '%s' names no "
		    "token endpoint", iss);
	/* what discovery named is held to the same rule as configuration */
	if ((r = oauth_endpoints_check(&c->ep)) != 0)
		return r;
	/* send the secret the way the server says it takes it */
	if (c->ep.secret_post_only)
		c->auth = OAUTH_AUTH_POST;
	return 0;
}
