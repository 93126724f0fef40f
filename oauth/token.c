/* SPDX-License-Identifier: MIT */
/*
 * token.c - OAuth JSON: token, device and metadata answers.
 *
 * The only file that includes jansson.  Types are checked strictly;
 * unknown fields are ignored.  jansson is given an allocator that wipes
 * every block it frees, so secrets parsed here leave no copies behind.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "oauth.h"

/* Size-prefixed blocks, wiped on free. */
static void *
zalloc(size_t size)
{
	size_t *p = malloc(sizeof(size_t) + size);

	if (p == NULL)
		return NULL;
	*p = size;
	return p + 1;
}

static void
zfree(void *ptr)
{
	size_t *p;

	if (ptr == NULL)
		return;
	p = (size_t *)ptr - 1;
	secret_wipe(ptr, *p);
	free(p);
}

void
oauth_json_init(void)
{
	json_set_alloc_funcs(zalloc, zfree);
}

void
oauth_token_release(struct oauth_token *t)
{
	if (t == NULL)
		return;
	secret_free(t->access_token);
	secret_free(t->refresh_token);
	free(t->token_type);
	free(t->scope);
	free(t->redirect_uri);
	free(t->grant);
	secret_free(t->id_token);
	free(t->account);
	memset(t, 0, sizeof(*t));
}

void
oauth_token_copy(struct oauth_token *dst, const struct oauth_token *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->access_token = xstrdup_or_null(src->access_token);
	dst->refresh_token = xstrdup_or_null(src->refresh_token);
	dst->token_type = xstrdup_or_null(src->token_type);
	dst->scope = xstrdup_or_null(src->scope);
	dst->redirect_uri = xstrdup_or_null(src->redirect_uri);
	dst->grant = xstrdup_or_null(src->grant);
	dst->expires_at = src->expires_at;
	dst->lifetime = src->lifetime;
}

static json_t *
json_parse(const char *body, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A string member, or NULL; BBS_E_PROTOCOL if present with another type. */
static int
get_str(json_t *o, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return err_set(BBS_E_PROTOCOL, "the authorization server sent "
		    "a malformed '%s'", key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

int
oauth_token_syntax_ok(const char *s)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-._~+/";
	size_t n, pad;

	if (s == NULL)
		return 0;
	n = strspn(s, alphabet);
	pad = strspn(s + n, "=");
	return n > 0 && s[n + pad] == '\0' && n + pad <= OAUTH_TOKEN_MAX;
}

/*
 * A lifetime in seconds, clamped to [lo, hi]: *out is -1 when absent.  A
 * JSON integer, or (leniently: some servers send them) a finite real, cut
 * to whole seconds, or a string of ASCII digits; anything else is
 * malformed.  Values are clamped before any arithmetic or conversion, so
 * nothing can overflow.
 */
static int
get_lifetime(json_t *o, const char *key, long long lo, long long hi,
    long long *out)
{
	json_t *v = json_object_get(o, key);
	long long n = 0;
	const char *s;

	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_real(v) && isfinite(json_real_value(v))) {
		double d = json_real_value(v);

		n = d < (double)lo ? lo : d > (double)hi ? hi : (long long)d;
	} else if (json_is_string(v) && (s = json_string_value(v))[0] != '\0' &&
	    strspn(s, "0123456789") == strlen(s)) {
		for (; *s != '\0' && n <= hi; s++)
			n = n * 10 + (*s - '0');
	} else
		return err_set(BBS_E_PROTOCOL, "the authorization server sent a "
		    "malformed '%s'", key);
	*out = n < lo ? lo : n > hi ? hi : n;
	return 0;
}

/* A member that only describes the tokens was malformed: go on without. */
static void
descriptive(int r)
{
	if (r == 0)
		return;
	trace_printf("oauth: ignoring it: %s", err_message());
	err_clear();
}

/* The RFC 6749 §5.2 error in `j`, as an error with a message. */
static int
oauth_error_set(json_t *j, long status, char **oauth_error)
{
	char *error = NULL, *desc = NULL;
	int r;

	get_str(j, "error", &error);
	get_str(j, "error_description", &desc);
	err_clear();
	if (error == NULL) {
		r = err_set(BBS_E_HTTP, "the authorization server answered "
		    "HTTP %ld", status);
	} else if (status >= 500) {
		/* a server failure says nothing about the grant */
		char *e = oauth_text_clean(error, 64);

		r = err_set(BBS_E_HTTP, "the authorization server failed "
		    "(HTTP %ld, %s); try again later", status, e);
		free(e);
	} else {
		/* the server's text: short, one line, no control bytes */
		char *e = oauth_text_clean(error, 64);
		char *d = oauth_text_clean(desc, 200);

		r = err_set(BBS_E_OAUTH, "the authorization server refused: "
		    "%s%s%s%s", e, d ? " (" : "", d ? d : "", d ? ")" : "");
		free(e);
		free(d);
	}
	/* callers print it: the code is cleaned as the message is */
	if (oauth_error != NULL)
		*oauth_error = oauth_text_clean(error, 64);
	free(error);
	free(desc);
	return r;
}

static int str_is(json_t *v, const char *want);

/* A name the server gave: a string of 1 to 255 bytes without NUL. */
static char *
name_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 255 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return oauth_text_clean(json_string_value(v), 255);
}

/*
 * What a token answer says of its account, none of it required: an ID
 * token (checked later, by oauth_id_token_name), and a "username" or
 * "sub" member.  Anything malformed is left out, never an error.
 */
static void
token_account(json_t *j, struct oauth_token *out)
{
	json_t *v = json_object_get(j, "id_token");
	const char *s;

	if (json_is_string(v) && (s = json_string_value(v)) != NULL &&
	    json_string_length(v) <= OAUTH_ID_TOKEN_MAX &&
	    strlen(s) == json_string_length(v))
		out->id_token = xstrdup(s);
	if ((out->account = name_member(j, "username")) == NULL)
		out->account = name_member(j, "sub");
}

int
oauth_token_parse(struct oauth_token *out, long status, const char *body,
    size_t len, int64_t now, char **oauth_error)
{
	json_t *j;
	long long expires = -1;
	char *scopes = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (oauth_error != NULL)
		*oauth_error = NULL;
	if ((j = json_parse(body, len)) == NULL) {
		if (status != 200)
			return err_set(BBS_E_HTTP, "the authorization server "
			    "answered HTTP %ld", status);
		return err_set(BBS_E_PROTOCOL, "the authorization server sent "
		    "a malformed token response");
	}
	if (status != 200 || json_object_get(j, "error") != NULL) {
		r = oauth_error_set(j, status, oauth_error);
		goto out;
	}
	if ((r = get_str(j, "access_token", &out->access_token)) != 0 ||
	    (r = get_str(j, "refresh_token", &out->refresh_token)) != 0 ||
	    (r = get_str(j, "token_type", &out->token_type)) != 0)
		goto out;
	/*
	 * What only describes the tokens does not throw them away: by now a
	 * refresh token has been rotated and a code spent.  A malformed
	 * scope is not reported, a malformed lifetime unknown.
	 */
	descriptive(get_str(j, "scope", &out->scope));
	descriptive(get_str(j, "scopes", &scopes));
	descriptive(get_lifetime(j, "expires_in", 1, OAUTH_EXPIRES_MAX,
	    &expires));
	if (out->access_token == NULL || out->access_token[0] == '\0') {
		r = err_set(BBS_E_PROTOCOL, "the authorization server sent no "
		    "access token");
		goto out;
	}
	/* a token goes into an HTTP header: RFC 6750 characters only */
	if (!oauth_token_syntax_ok(out->access_token) ||
	    (out->refresh_token != NULL &&
	    !oauth_token_syntax_ok(out->refresh_token))) {
		r = err_set(BBS_E_PROTOCOL, "the authorization server sent a "
		    "malformed %s token", oauth_token_syntax_ok(
		    out->access_token) ? "refresh" : "access");
		goto out;
	}
	if (out->token_type != NULL &&
	    strcasecmp(out->token_type, "bearer") != 0) {
		char *t = oauth_text_clean(out->token_type, 32);

		r = err_set(BBS_E_PROTOCOL, "unsupported token type '%s'", t);
		free(t);
		goto out;
	}
	if (out->scope == NULL && scopes != NULL) {	/* Bitbucket's name */
		out->scope = scopes;
		scopes = NULL;
	}
	if (expires > 0 && now > INT64_MAX - OAUTH_EXPIRES_MAX) {
		r = err_set(BBS_E_INVALID, "the clock is out of range");
		goto out;
	}
	out->expires_at = expires > 0 ? now + expires : 0;
	out->lifetime = expires > 0 ? expires : 0;
	token_account(j, out);
out:
	free(scopes);
	json_decref(j);
	if (r != 0)
		oauth_token_release(out);
	return r;
}

void
oauth_endpoints_release(struct oauth_endpoints *e)
{
	if (e == NULL)
		return;
	free(e->issuer);
	free(e->authorize_url);
	free(e->token_url);
	free(e->device_url);
	free(e->revocation_url);
	free(e->userinfo_url);
	free(e->introspection_url);
	memset(e, 0, sizeof(*e));
}

/* Set *dst from member `key` unless already set. */
static int
fill(json_t *j, const char *key, char **dst)
{
	char *v;
	int r;

	if ((r = get_str(j, key, &v)) != 0)
		return r;
	if (*dst == NULL)
		*dst = v;
	else
		free(v);
	return 0;
}

int
oauth_metadata_parse(struct oauth_endpoints *e, const char *issuer,
    const char *body, size_t len)
{
	json_t *j = json_parse(body, len), *v;
	char *iss = NULL;
	int r;

	if (j == NULL)
		return err_set(BBS_E_PROTOCOL, "malformed authorization server "
		    "metadata");
	if ((r = get_str(j, "issuer", &iss)) != 0)
		goto out;
	/* RFC 8414 §3.3: the issuer must be the one we asked about */
	if (iss == NULL || strcmp(iss, issuer) != 0) {
		r = err_set(BBS_E_PROTOCOL, "the authorization server metadata "
		    "names another issuer");
		goto out;
	}
	if ((r = fill(j, "authorization_endpoint", &e->authorize_url)) != 0 ||
	    (r = fill(j, "token_endpoint", &e->token_url)) != 0 ||
	    (r = fill(j, "device_authorization_endpoint",
	    &e->device_url)) != 0 ||
	    (r = fill(j, "revocation_endpoint", &e->revocation_url)) != 0 ||
	    (r = fill(j, "userinfo_endpoint", &e->userinfo_url)) != 0 ||
	    (r = fill(j, "introspection_endpoint",
	    &e->introspection_url)) != 0)
		goto out;
	v = json_object_get(j, "authorization_response_iss_parameter_supported");
	e->iss_supported = json_is_true(v);
	v = json_object_get(j, "token_endpoint_auth_methods_supported");
	if (json_is_array(v)) {
		size_t i;
		json_t *m;
		int basic = 0, post = 0;

		json_array_foreach(v, i, m) {
			if (!json_is_string(m))
				continue;
			basic |= strcmp(json_string_value(m),
			    "client_secret_basic") == 0;
			post |= strcmp(json_string_value(m),
			    "client_secret_post") == 0;
		}
		e->secret_post_only = post && !basic;
	}
	if (e->issuer == NULL)
		e->issuer = xstrdup(iss);
out:
	free(iss);
	json_decref(j);
	return r;
}

void
oauth_device_release(struct oauth_device *d)
{
	if (d == NULL)
		return;
	secret_free(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	free(d->verification_uri_complete);
	memset(d, 0, sizeof(*d));
}

/* What is shown to the user must be printable, and the URLs ours to open. */
static int
device_check(const struct oauth_device *d)
{
	size_t i;
	int r;

	for (i = 0; d->user_code[i] != '\0'; i++)
		if ((unsigned char)d->user_code[i] <= 0x20 ||
		    (unsigned char)d->user_code[i] >= 0x7f)
			break;
	if (i == 0 || d->user_code[i] != '\0' || i > 64)
		return err_set(BBS_E_PROTOCOL, "the authorization server sent a "
		    "malformed user_code");
	if (!oauth_token_syntax_ok(d->device_code))
		return err_set(BBS_E_PROTOCOL, "the authorization server sent a "
		    "malformed device_code");
	if ((r = oauth_endpoint_check("verification", d->verification_uri)) !=
	    0 || (r = oauth_endpoint_check("verification",
	    d->verification_uri_complete)) != 0)
		return r;
	return 0;
}

int
oauth_device_parse(struct oauth_device *out, long status, const char *body,
    size_t len)
{
	json_t *j = json_parse(body, len);
	long long expires = -1, interval = -1;
	int r;

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return err_set(BBS_E_PROTOCOL, "malformed device authorization "
		    "response (HTTP %ld)", status);
	if (status != 200 || json_object_get(j, "error") != NULL) {
		r = oauth_error_set(j, status, NULL);
		goto out;
	}
	if ((r = get_str(j, "device_code", &out->device_code)) != 0 ||
	    (r = get_str(j, "user_code", &out->user_code)) != 0 ||
	    (r = get_str(j, "verification_uri", &out->verification_uri)) != 0 ||
	    (r = get_str(j, "verification_uri_complete",
	    &out->verification_uri_complete)) != 0 ||
	    (r = get_lifetime(j, "expires_in", 1, OAUTH_DEVICE_EXPIRES_MAX,
	    &expires)) != 0 ||
	    (r = get_lifetime(j, "interval", 1, OAUTH_DEVICE_INTERVAL_MAX,
	    &interval)) != 0)
		goto out;
	if (out->device_code == NULL || out->user_code == NULL ||
	    out->verification_uri == NULL || expires < 0) {
		r = err_set(BBS_E_PROTOCOL, "incomplete device authorization "
		    "response");
		goto out;
	}
	if ((r = device_check(out)) != 0)
		goto out;
	out->expires_in = (long)expires;
	out->interval = interval > 0 ? (long)interval : 5;
out:
	json_decref(j);
	if (r != 0)
		oauth_device_release(out);
	return r;
}

char *
oauth_userinfo_name(const char *body, size_t len)
{
	static const char *const keys[] = { "username", "nickname",
		"preferred_username", "name", "sub" };
	json_t *j = json_parse(body, len), *v;
	char *name = NULL;
	size_t i;

	if (j == NULL)
		return NULL;
	for (i = 0; i < BBS_ARRAY_SIZE(keys) && name == NULL; i++) {
		v = json_object_get(j, keys[i]);
		if (json_is_string(v) && json_string_length(v) > 0 &&
		    json_string_length(v) < 256 &&
		    strlen(json_string_value(v)) == json_string_length(v))
			name = oauth_text_clean(json_string_value(v), 255);
	}
	json_decref(j);
	return name;
}

char *
oauth_introspection_name(const char *body, size_t len, const char *client_id)
{
	json_t *j = json_parse(body, len), *cid;
	char *name = NULL;

	if (j == NULL)
		return NULL;
	cid = json_object_get(j, "client_id");
	if (json_is_true(json_object_get(j, "active")) &&
	    (cid == NULL || str_is(cid, client_id)) &&
	    (name = name_member(j, "username")) == NULL)
		name = name_member(j, "sub");
	json_decref(j);
	return name;
}

/* Whether `v` is the JSON string `want`, byte for byte (NULs included). */
static int
str_is(json_t *v, const char *want)
{
	return json_is_string(v) && json_string_length(v) == strlen(want) &&
	    memcmp(json_string_value(v), want, strlen(want)) == 0;
}

/* "aud" names `client_id`: the string, or an array holding it. */
static int
aud_ok(json_t *claims, const char *client_id)
{
	json_t *aud = json_object_get(claims, "aud"), *v, *azp;
	size_t i, n = 0;
	int found = 0;

	if (json_is_string(aud))
		return str_is(aud, client_id);
	if (!json_is_array(aud))
		return 0;
	json_array_foreach(aud, i, v) {
		if (!json_is_string(v))
			return 0;
		n++;
		if (str_is(v, client_id))
			found = 1;
	}
	/* Core §3.1.3.7 items 4-5: with several audiences, azp is ours */
	azp = json_object_get(claims, "azp");
	if (found && azp != NULL)
		return str_is(azp, client_id);
	return found && n == 1;
}

/* The JSON object of a JWS compact serialization's payload, or NULL. */
static json_t *
jwt_claims(const char *jwt, const char **why)
{
	const char *p1, *p2;
	unsigned char *raw;
	size_t len = strlen(jwt), n;
	json_t *j = NULL;

	p1 = strchr(jwt, '.');
	p2 = p1 ? strchr(p1 + 1, '.') : NULL;
	if (len > OAUTH_ID_TOKEN_MAX || p1 == NULL || p2 == NULL ||
	    strchr(p2 + 1, '.') != NULL) {
		*why = "not a signed JWT";
		return NULL;
	}
	raw = xmalloc(OAUTH_ID_TOKEN_MAX);
	if (base64url_decode(raw, OAUTH_ID_TOKEN_MAX, &n, p1 + 1,
	    (size_t)(p2 - p1 - 1)) != 0)
		*why = "its payload is not base64url";
	else if ((j = json_parse((const char *)raw, n)) == NULL)
		*why = "its payload is not a JSON object";
	secret_wipe(raw, OAUTH_ID_TOKEN_MAX);
	free(raw);
	return j;
}

char *
oauth_id_token_name(const char *jwt, const char *issuer,
    const char *client_id, int64_t now, const char **why)
{
	const char *dummy;
	json_t *claims, *exp;
	char *name = NULL;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	if (jwt == NULL || issuer == NULL || client_id == NULL) {
		*why = "no ID token or no issuer to check it against";
		return NULL;
	}
	if ((claims = jwt_claims(jwt, why)) == NULL)
		return NULL;
	exp = json_object_get(claims, "exp");
	if (!str_is(json_object_get(claims, "iss"), issuer))
		*why = "it is from another issuer";
	else if (!aud_ok(claims, client_id))
		*why = "it is for another client";
	else if (!json_is_integer(exp) || json_integer_value(exp) <= now)
		*why = "it has expired";
	else if ((name = name_member(claims, "preferred_username")) == NULL &&
	    (name = name_member(claims, "email")) == NULL &&
	    (name = name_member(claims, "sub")) == NULL)
		*why = "it names nobody";
	json_decref(claims);
	return name;
}

/*
 * The token store's JSON: one grant as an object, and the store file
 * {"version": 1, "grants": [...]}.  A grant that does not decode is kept
 * as its raw text, so that a save writes it back unchanged.
 */

/*
 * RFC 6750 b64token:
 * 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 */
static int
grant_token_ok(const char *t)
{
	return t == NULL || oauth_token_syntax_ok(t);
}

/* An optional string member: 0 (*out NULL when absent), -1 if no string. */
static int
grant_str(json_t *g, const char *key, char **out)
{
	json_t *v = json_object_get(g, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = xstrdup(json_string_value(v));
	return 0;
}

static void
grant_entry_clear(struct store_entry *e)
{
	free(e->key);
	free(e->account);
	free(e->provider);
	oauth_token_release(&e->tok);
	memset(e, 0, sizeof(*e));
}

/* Fill `e` from object `g`; `names`: key and account are required too. */
static int
grant_from_json(json_t *g, struct store_entry *e, int names)
{
	json_t *x;

	memset(e, 0, sizeof(*e));
	if (!json_is_object(g) ||
	    (names && (grant_str(g, "key", &e->key) != 0 || e->key == NULL ||
	    grant_str(g, "account", &e->account) != 0)) ||
	    grant_str(g, "provider", &e->provider) != 0 ||
	    grant_str(g, "access_token", &e->tok.access_token) != 0 ||
	    e->tok.access_token == NULL ||
	    grant_str(g, "refresh_token", &e->tok.refresh_token) != 0 ||
	    grant_str(g, "token_type", &e->tok.token_type) != 0 ||
	    grant_str(g, "scope", &e->tok.scope) != 0 ||
	    grant_str(g, "redirect_uri", &e->tok.redirect_uri) != 0 ||
	    grant_str(g, "grant", &e->tok.grant) != 0 ||
	    !grant_token_ok(e->tok.access_token) ||
	    !grant_token_ok(e->tok.refresh_token))
		goto bad;
	x = json_object_get(g, "expires_at");
	if (x != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			goto bad;
		e->tok.expires_at = json_integer_value(x);
	}
	x = json_object_get(g, "lifetime");
	if (x != NULL) {
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			goto bad;
		e->tok.lifetime = json_integer_value(x);
	}
	if (names && e->account == NULL)
		e->account = xstrdup("default");
	return 0;
bad:
	grant_entry_clear(e);
	return -1;
}

/* Set member `key` to `v` unless NULL; -1 if `v` is not UTF-8 text. */
static int
jset(json_t *o, const char *key, const char *v)
{
	json_t *j;

	if (v == NULL)
		return 0;
	/* json_string() takes UTF-8 only: a name from a URL may be Latin-1 */
	if ((j = json_string(v)) == NULL)
		return -1;
	return json_object_set_new(o, key, j);
}

/*
 * `e` as a new object; with `names`, its key and account too.  NULL when
 * a member cannot be kept: a grant read back without its account would
 * be another account's.
 */
static json_t *
grant_to_json(const struct store_entry *e, int names)
{
	json_t *g = json_object();

	if (g == NULL ||
	    (names && (jset(g, "key", e->key) != 0 ||
	    jset(g, "account", e->account) != 0)) ||
	    jset(g, "provider", e->provider) != 0 ||
	    jset(g, "access_token", e->tok.access_token) != 0 ||
	    jset(g, "refresh_token", e->tok.refresh_token) != 0 ||
	    jset(g, "token_type", e->tok.token_type) != 0 ||
	    jset(g, "scope", e->tok.scope) != 0 ||
	    jset(g, "redirect_uri", e->tok.redirect_uri) != 0 ||
	    json_object_set_new(g, "expires_at",
	    json_integer(e->tok.expires_at)) != 0 ||
	    (e->tok.lifetime > 0 && json_object_set_new(g, "lifetime",
	    json_integer(e->tok.lifetime)) != 0) ||
	    jset(g, "grant", e->tok.grant) != 0) {
		json_decref(g);
		return NULL;
	}
	return g;
}

/* The error of a grant that grant_to_json() cannot encode. */
static void
grant_encode_failed(const struct store_entry *e)
{
	char *a = text_sanitized(e->account, strlen(e->account));

	err_set(BBS_E_INVALID, "the grant of '%s' holds a name that is not "
	    "UTF-8 text; the token store cannot keep it", a);
	free(a);
}

/*
 * `j` as text in a buffer of ours (jansson's allocator is not free()),
 * consuming the reference; NULL if it cannot be encoded.  *len_out gets
 * the length, for wiping.
 */
static char *
json_text(json_t *j, size_t flags, size_t *len_out)
{
	size_t len = j != NULL ? json_dumpb(j, NULL, 0, flags) : 0;
	char *text = NULL;

	if (len > 0) {
		text = xmalloc(len + 1);
		if (json_dumpb(j, text, len, flags) != len) {
			secret_wipe(text, len);
			free(text);
			text = NULL;
			len = 0;
		} else
			text[len] = '\0';
	}
	json_decref(j);
	*len_out = len;
	return text;
}

char *
store_grant_encode(const struct store_entry *e)
{
	size_t len;

	return json_text(grant_to_json(e, 0), JSON_COMPACT, &len);
}

int
store_grant_decode(const char *text, struct store_entry *e)
{
	json_error_t je;
	json_t *g = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	int r = g != NULL ? grant_from_json(g, e, 0) : -1;

	json_decref(g);
	if (r != 0)
		return err_set(BBS_E_PROTOCOL, "a stored grant is damaged");
	return 0;
}

int
store_decode(struct store *s, const char *data, size_t len)
{
	json_t *root, *grants, *g;
	json_error_t je;
	struct store_entry e;
	size_t i, n;

	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL || !json_is_object(root) ||
	    !json_is_integer(json_object_get(root, "version")) ||
	    json_integer_value(json_object_get(root, "version")) != 1 ||
	    !json_is_array(grants = json_object_get(root, "grants"))) {
		json_decref(root);
		return err_set(BBS_E_IO, "the token store '%s' is damaged; "
		    "move it away and sign in again", s->path ? s->path : "");
	}
	g = json_object_get(root, "generation");
	s->generation = json_is_integer(g) && json_integer_value(g) > 0 ?
	    (long long)json_integer_value(g) : 0;
	json_array_foreach(grants, i, g) {
		if (grant_from_json(g, &e, 1) == 0) {
			s->e = xrealloc(s->e, (s->nr + 1) * sizeof(*s->e));
			s->e[s->nr++] = e;
			continue;
		}
		s->raw = xrealloc(s->raw, (s->raw_nr + 1) * sizeof(*s->raw));
		memset(&s->raw[s->raw_nr], 0, sizeof(*s->raw));
		s->raw[s->raw_nr].text = json_text(json_incref(g),
		    JSON_COMPACT | JSON_ENCODE_ANY, &n);
		if (json_is_object(g)) {
			grant_str(g, "key", &s->raw[s->raw_nr].key);
			grant_str(g, "account", &s->raw[s->raw_nr].account);
		}
		s->raw_nr++;
	}
	json_decref(root);
	return 0;
}

char *
store_encode(const struct store *s, size_t *len_out)
{
	json_t *root = json_object(), *grants = json_array(), *g;
	json_error_t je;
	char *text;
	size_t i;

	*len_out = 0;
	for (i = 0; i < s->nr; i++) {
		if ((g = grant_to_json(&s->e[i], 1)) == NULL) {
			grant_encode_failed(&s->e[i]);
			json_decref(grants);
			json_decref(root);
			return NULL;
		}
		json_array_append_new(grants, g);
	}
	for (i = 0; i < s->raw_nr; i++) {
		if (s->raw[i].text == NULL)
			continue;
		g = json_loads(s->raw[i].text, JSON_DECODE_ANY, &je);
		if (g == NULL) {
			json_decref(grants);
			json_decref(root);
			err_set(BBS_E_ERROR, "cannot encode the token store");
			return NULL;
		}
		json_array_append_new(grants, g);
	}
	json_object_set_new(root, "version", json_integer(1));
	if (s->generation > 0)
		json_object_set_new(root, "generation",
		    json_integer((json_int_t)s->generation));
	json_object_set_new(root, "grants", grants);
	text = json_text(root, JSON_INDENT(1) | JSON_SORT_KEYS, len_out);
	if (text == NULL)
		err_set(BBS_E_ERROR, "cannot encode the token store");
	return text;
}

const char *
json_library_version(void)
{
	return jansson_version_str();
}
