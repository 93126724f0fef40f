/* SPDX-License-Identifier: MIT */
/*
 * smart-http.c - git's smart HTTP protocol, the HTTP side: URLs, the
 * credential header, redirects and the meaning of status codes.
 *
 * The credential goes only to the origin of the remote URL.  A redirect to
 * the same origin is followed for the ref advertisement (and later
 * requests use the new location, as git does); a redirect anywhere else is
 * refused, so the token never reaches another host.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "helper.h"

#define MAX_REDIRECTS 5

static const char *const service_name[] = {
	[SERVICE_UPLOAD_PACK] = "git-upload-pack",
	[SERVICE_RECEIVE_PACK] = "git-receive-pack",
};

char *
basic_credential(const char *user, const char *token)
{
	size_t plen = strlen(user) + 1 + strlen(token);
	char *plain, *enc;

	if (plen > 64 * 1024)
		return NULL;
	plain = xmalloc(plen + 1);
	snprintf(plain, plen + 1, "%s:%s", user, token);
	enc = xmalloc(4 * ((plen + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)plain,
	    (int)plen);
	secret_free(plain);
	return enc;
}

/* "Authorization: Basic base64(user:token)", or NULL if too long. */
static char *
basic_header(const char *user, const char *token)
{
	char *enc = basic_credential(user, token), *hdr;

	if (enc == NULL)
		return NULL;
	hdr = xasprintf("Authorization: Basic %s", enc);
	secret_free(enc);
	return hdr;
}

int
conn_set_token(struct conn *c, const struct helper_config *cfg,
    const char *token)
{
	secret_free(c->auth_header);
	if (cfg->git_auth == GIT_AUTH_BASIC)
		c->auth_header = basic_header(cfg->git_username, token);
	else
		c->auth_header = xasprintf("Authorization: Bearer %s", token);
	if (c->auth_header == NULL)
		return err_set(BBS_E_INVALID, "access token too long");
	c->have_token = 1;
	return 0;
}

int
conn_init(struct conn *c, const struct remote_url *u,
    const struct helper_config *cfg)
{
	struct http_settings hs;
	size_t len;
	int r;

	memset(c, 0, sizeof(*c));
	memset(&hs, 0, sizeof(hs));
	c->url = u;
	len = strlen(u->url);
	while (len > 0 && u->url[len - 1] == '/')
		len--;
	c->base = xstrndup(u->url, len);
	if (cfg->token != NULL && (r = conn_set_token(c, cfg, cfg->token)) != 0)
		return r;
	hs.user_agent = "git/2.0 (" PACKAGE_NAME "/" PACKAGE_VERSION ")";
	hs.ca_file = cfg->ca_file;
	hs.ca_path = cfg->ca_path;
	hs.ssl_verify = cfg->ssl_verify;
	hs.proxy = cfg->proxy;
	hs.connect_timeout = 30;
	hs.low_speed_time = cfg->low_speed_time;
	if (!cfg->ssl_verify)
		fprintf(stderr, "warning: TLS certificate verification is "
		    "turned off (http.sslVerify=false or GIT_SSL_NO_VERIFY): "
		    "the server's identity is not checked\n");
	if ((r = http_client_new(&c->http, &hs)) != 0)
		return r;
	/* each URL contacted (OAuth endpoints too) gets its own http.* */
	http_client_set_resolver(c->http, config_http_resolve, (void *)cfg);
	return 0;
}

void
conn_release(struct conn *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	free(c->base);
	free(c->login_hint);
	free(c->grant_scope);
	free(c->stepup_hint);
	secret_free(c->auth_header);
	memset(c, 0, sizeof(*c));
}

/* Turn a non-2xx answer into an error with a message and a hint. */
static int
conn_status_error(struct conn *c, enum smart_service svc, long status)
{
	const char *what = svc == SERVICE_RECEIVE_PACK ? "push to" :
	    "read from";

	switch (status) {
	case 401:
		if (c->have_token && c->login_hint != NULL) {
			err_set(BBS_E_AUTH, "the server rejected the access "
			    "token for '%s' (HTTP 401)", c->url->url);
			err_hint("%s", c->login_hint);
		} else if (c->have_token) {
			err_set(BBS_E_AUTH, "the server rejected the access "
			    "token for '%s' (HTTP 401)", c->url->url);
			err_hint("the token may be expired or revoked; set a "
			    "valid one in BBS_ACCESS_TOKEN");
		} else {
			err_set(BBS_E_AUTH, "'%s' requires authentication "
			    "(HTTP 401) and no access token is available",
			    c->url->url);
			err_hint("set BBS_ACCESS_TOKEN to an access token for "
			    "%s", c->url->host);
		}
		return BBS_E_AUTH;
	case 403:
		err_set(BBS_E_FORBIDDEN, "permission denied: the access token "
		    "may not %s '%s' (HTTP 403)", what, c->url->url);
		if (svc == SERVICE_RECEIVE_PACK && c->grant_scope != NULL &&
		    strcasestr(c->grant_scope, "write") == NULL) {
			/* a scope step-up, not a permission problem */
			err_clear();
			err_set(BBS_E_FORBIDDEN, "the sign-in for '%s' has no "
			    "write access (scopes: %s); pushing needs it",
			    c->url->host, c->grant_scope);
			err_hint("%s", c->stepup_hint ? c->stepup_hint :
			    "sign in again with a write scope");
		} else if (svc == SERVICE_RECEIVE_PACK)
			err_hint("a token with write permission is needed to "
			    "push");
		return BBS_E_FORBIDDEN;
	case 404:
		err_set(BBS_E_NOT_FOUND, "repository '%s' not found "
		    "(HTTP 404)", c->url->url);
		err_hint("check the URL, and that the token may see the "
		    "repository");
		return BBS_E_NOT_FOUND;
	default:
		return err_set(BBS_E_HTTP, "unexpected HTTP status %ld from "
		    "'%s'", status, c->url->host);
	}
}

/* Whether `location` is on the same origin as the remote. */
static int
conn_same_origin(struct conn *c, const char *location, char **base_out,
    const char *suffix)
{
	struct remote_url u;
	size_t llen, slen;
	int same;

	*base_out = NULL;
	if (url_parse_pattern(&u, location) != 0) {
		err_clear();
		return 0;
	}
	same = strcmp(u.origin, c->url->origin) == 0;
	llen = strlen(u.url);
	slen = strlen(suffix);
	if (same && llen >= slen && strcmp(u.url + llen - slen, suffix) == 0)
		*base_out = xstrndup(u.url, llen - slen);
	url_release(&u);
	return same;
}

/*
 * Whether a refused request may be sent once more after fixing the
 * credential: a 401 for a token that has not expired (revoked, clock
 * skew) after one refresh; a 403 on push for a grant without a write
 * scope after signing in again with one.  Each happens at most once per
 * process, and never for a body that cannot be replayed.
 */
static int
conn_may_retry(struct conn *c, enum smart_service svc, long status,
    int stream)
{
	if (stream)
		return 0;
	if (status == 401 && c->reauth != NULL && !c->reauthed)
		return 1;
	return status == 403 && svc == SERVICE_RECEIVE_PACK &&
	    c->stepup != NULL && !c->stepped_up && c->grant_scope != NULL &&
	    strcasestr(c->grant_scope, "write") == NULL;
}

static int
conn_retry(struct conn *c, enum smart_service svc, long status)
{
	if (status == 401) {
		c->reauthed = 1;
		trace_printf("http: token refused; refreshing once");
		return c->reauth(c, c->reauth_payload);
	}
	c->stepped_up = 1;
	if (c->stepup(c, c->reauth_payload) != 0) {
		trace_printf("http: no step-up: %s",
		    err_message() ? err_message() : "");
		err_clear();
		return conn_status_error(c, svc, 403);
	}
	return 0;
}

/* One smart-HTTP request: what is sent, and the URL suffix it goes to. */
struct conn_req {
	struct http_request http;
	const char *hdrs[3];
	char *suffix;		/* after c->base */
	char *url;
	char *ctype;
	char *accept;
	int ls;			/* the ref advertisement (GET) */
	int stream;		/* a body that cannot be replayed */
	int fd;			/* the body's file, or -1 */
};

static void
conn_req_init(struct conn_req *q, struct conn *c, enum smart_service svc,
    int ls, const void *mem, int fd, off_t len, int stream)
{
	memset(q, 0, sizeof(*q));
	q->ls = ls;
	q->stream = stream;
	q->fd = fd;
	q->http.allow_http = http_host_is_loopback(c->url->host);
	q->http.body_fd = -1;
	q->http.headers = q->hdrs;
	if (ls) {
		q->suffix = xasprintf("/info/refs?service=%s",
		    service_name[svc]);
		q->http.method = "GET";
		q->hdrs[0] = "Pragma: no-cache";
		return;
	}
	q->suffix = xasprintf("/%s", service_name[svc]);
	q->ctype = xasprintf("Content-Type: application/x-%s-request",
	    service_name[svc]);
	q->accept = xasprintf("Accept: application/x-%s-result",
	    service_name[svc]);
	q->http.method = "POST";
	q->http.body = mem;
	q->http.body_fd = fd;
	q->http.body_len = len;
	q->http.body_stream = stream;
	q->hdrs[0] = q->ctype;
	q->hdrs[1] = q->accept;
}

static void
conn_req_release(struct conn_req *q)
{
	free(q->suffix);
	free(q->url);
	free(q->ctype);
	free(q->accept);
}

/*
 * The redirect policy: a redirect of the ref advertisement to the same
 * origin moves c->base there (returns 0: send again); a redirect to
 * another origin, a malformed one, too many, or one of any other request
 * is an error.
 */
static int
conn_redirect(struct conn *c, const struct conn_req *q,
    const struct http_response *resp, int hops)
{
	struct remote_url t;
	char *newbase;

	if (!q->ls || resp->location == NULL)
		return err_set(BBS_E_REDIRECT, "the server answered with an "
		    "unexpected redirect (HTTP %ld)", resp->status);
	if (!conn_same_origin(c, resp->location, &newbase, q->suffix)) {
		if (url_parse_pattern(&t, resp->location) == 0) {
			if (strcmp(t.host, c->url->host) != 0)
				err_set(BBS_E_REDIRECT, "the server redirected "
				    "to another host '%s'; the access token is "
				    "not sent there", t.host);
			else	/* another scheme or port */
				err_set(BBS_E_REDIRECT, "the server redirected "
				    "to another origin '%s'; the access token "
				    "is not sent there", t.origin);
			url_release(&t);
		} else
			err_set(BBS_E_REDIRECT, "the server sent a malformed "
			    "redirect");
		err_hint("if the repository moved, update the remote URL");
		return BBS_E_REDIRECT;
	}
	if (newbase == NULL || hops >= MAX_REDIRECTS) {
		free(newbase);
		return err_set(BBS_E_REDIRECT, "too many or unusable redirects "
		    "from '%s'", c->url->host);
	}
	trace_printf("http: following redirect on the same origin");
	free(c->base);
	c->base = newbase;
	return 0;
}

/* Rewind the body and fix the credential, to send a refused request again. */
static int
conn_resend(struct conn *c, enum smart_service svc, const struct conn_req *q,
    long status)
{
	if (q->fd >= 0 && lseek(q->fd, 0, SEEK_SET) != 0)
		return err_set(BBS_E_IO, "cannot rewind the request");
	return conn_retry(c, svc, status);
}

/* A ref advertisement must say it is one. */
static int
conn_check_advert(struct conn *c, enum smart_service svc,
    const struct http_response *resp)
{
	char *want = xasprintf("application/x-%s-advertisement",
	    service_name[svc]);
	int r = 0;

	if (resp->content_type == NULL ||
	    strncasecmp(resp->content_type, want, strlen(want)) != 0)
		r = err_set(BBS_E_PROTOCOL, "'%s' is not a git repository the "
		    "server offers over smart HTTP", c->url->url);
	free(want);
	return r;
}

/*
 * Send `q` once.  Returns 0 with *out open on a 2xx answer, 1 to send
 * again (a followed redirect, a fixed credential), or an error.
 */
static int
conn_round(struct conn *c, enum smart_service svc, struct conn_req *q,
    int *hops, struct http_stream **out, struct http_response *resp)
{
	long status;
	int r;

	free(q->url);
	q->url = xasprintf("%s%s", c->base, q->suffix);
	q->http.url = q->url;
	q->http.auth_header = c->auth_header;
	if ((r = http_open(out, resp, c->http, &q->http)) != 0)
		return r;
	status = resp->status;
	if (status >= 200 && status < 300)
		return q->ls ? conn_check_advert(c, svc, resp) : 0;
	http_stream_free(*out);
	*out = NULL;
	if (status >= 300 && status < 400)
		r = conn_redirect(c, q, resp, (*hops)++);
	else if (conn_may_retry(c, svc, status, q->stream))
		r = conn_resend(c, svc, q, status);
	else
		r = conn_status_error(c, svc, status);
	http_response_release(resp);
	return r == 0 ? 1 : r;
}

/*
 * One request of the smart protocol: redirects of the ref advertisement
 * followed on the same origin (conn_redirect), a refused credential fixed
 * once (conn_may_retry), any other answer mapped to an error
 * (conn_status_error).
 */
static int
conn_request(struct conn *c, enum smart_service svc, int ls,
    const void *mem, int fd, off_t len, int stream, struct http_stream **out)
{
	struct http_response resp;
	struct conn_req q;
	int r, hops = 0;

	*out = NULL;
	memset(&resp, 0, sizeof(resp));
	conn_req_init(&q, c, svc, ls, mem, fd, len, stream);
	while ((r = conn_round(c, svc, &q, &hops, out, &resp)) == 1)
		;
	if (r != 0) {
		http_stream_free(*out);
		*out = NULL;
	}
	http_response_release(&resp);
	conn_req_release(&q);
	return r;
}

int
conn_get_refs(struct conn *c, enum smart_service svc,
    struct http_stream **out)
{
	return conn_request(c, svc, 1, NULL, -1, 0, 0, out);
}

int
conn_post(struct conn *c, enum smart_service svc, const void *mem, int fd,
    off_t len, struct http_stream **out)
{
	return conn_request(c, svc, 0, mem, fd, len, 0, out);
}

int
conn_post_stream(struct conn *c, enum smart_service svc, const void *prefix,
    size_t prefix_len, int fd, struct http_stream **out)
{
	return conn_request(c, svc, 0, prefix, fd, (off_t)prefix_len, 1, out);
}
