/*
 * token.c - OAuth JSON: token, device and metadata answers.
 *
 * The only file that includes jansson.  Types are checked strictly;
 * unknown fields are ignored.  jansson is given an allocator that wipes
 * every block it frees, so secrets parsed here leave no copies behind.
 */
#include "config.h"

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
	memset(t, 0, sizeof(*t));
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

static int
get_int(json_t *o, const char *key, long long *out)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	char *end;

	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	/* some servers quote numbers */
	if (json_is_string(v)) {
		s = json_string_value(v);
		*out = strtoll(s, &end, 10);
		if (*s != '\0' && *end == '\0')
			return 0;
	}
	return err_set(BBS_E_PROTOCOL, "the authorization server sent a "
	    "malformed '%s'", key);
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
		r = err_set(BBS_E_HTTP, "the authorization server failed "
		    "(HTTP %ld, %.64s); try again later", status, error);
	} else {
		/* the description is the server's text: keep it short, 1 line */
		r = err_set(BBS_E_OAUTH, "the authorization server refused: "
		    "%.64s%s%.200s%s", error, desc ? " (" : "", desc ? desc : "",
		    desc ? ")" : "");
	}
	if (oauth_error != NULL)
		*oauth_error = error;
	else
		free(error);
	free(desc);
	return r;
}

int
oauth_token_parse(struct oauth_token *out, long status, const char *body,
    size_t len, int64_t now, char **oauth_error)
{
	json_t *j;
	long long expires;
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
	    (r = get_str(j, "token_type", &out->token_type)) != 0 ||
	    (r = get_str(j, "scope", &out->scope)) != 0 ||
	    (r = get_str(j, "scopes", &scopes)) != 0 ||
	    (r = get_int(j, "expires_in", &expires)) != 0)
		goto out;
	if (out->access_token == NULL || out->access_token[0] == '\0') {
		r = err_set(BBS_E_PROTOCOL, "the authorization server sent no "
		    "access token");
		goto out;
	}
	if (out->token_type != NULL &&
	    strcasecmp(out->token_type, "bearer") != 0) {
		r = err_set(BBS_E_PROTOCOL, "unsupported token type '%.32s'",
		    out->token_type);
		goto out;
	}
	if (out->scope == NULL && scopes != NULL) {	/* Bitbucket's name */
		out->scope = scopes;
		scopes = NULL;
	}
	out->expires_at = expires > 0 ? now + expires : 0;
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
	    (r = fill(j, "userinfo_endpoint", &e->userinfo_url)) != 0)
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

int
oauth_device_parse(struct oauth_device *out, long status, const char *body,
    size_t len)
{
	json_t *j = json_parse(body, len);
	long long expires, interval;
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
	    (r = get_int(j, "expires_in", &expires)) != 0 ||
	    (r = get_int(j, "interval", &interval)) != 0)
		goto out;
	if (out->device_code == NULL || out->user_code == NULL ||
	    out->verification_uri == NULL || expires <= 0) {
		r = err_set(BBS_E_PROTOCOL, "incomplete device authorization "
		    "response");
		goto out;
	}
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
		    json_string_length(v) < 256)
			name = xstrdup(json_string_value(v));
	}
	json_decref(j);
	return name;
}

const char *
json_library_version(void)
{
	return jansson_version_str();
}
