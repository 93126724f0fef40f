/*
 * oauth.h - the shared layer of git-remote-bbs: errors, bounded buffers,
 * secret handling, tracing and the libcurl-based HTTP client.
 *
 * Nothing declared here knows about git.  Front ends (the remote helper,
 * git-bbs, the credential helper) include this one header.
 */
#ifndef BBS_OAUTH_H
#define BBS_OAUTH_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BBS_ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define BBS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* util-error.c */

/*
 * Error codes.  0 is success; every expected failure has its own negative
 * code, anything else is BBS_E_ERROR.
 */
enum bbs_error {
	BBS_OK = 0,
	BBS_E_ERROR = -1,
	BBS_E_INVALID = -2,	/* bad input from the user or the caller */
	BBS_E_IO = -3,		/* local I/O */
	BBS_E_PROTOCOL = -4,	/* the peer spoke something we cannot parse */
	BBS_E_HTTP = -5,	/* an unexpected HTTP status */
	BBS_E_AUTH = -6,	/* 401: no valid credentials */
	BBS_E_FORBIDDEN = -7,	/* 403: credentials valid, access denied */
	BBS_E_NOT_FOUND = -8,	/* 404 */
	BBS_E_INSECURE_URL = -9,	/* plain http to a non-loopback host */
	BBS_E_TLS = -10,	/* certificate or handshake failure */
	BBS_E_NETWORK = -11,	/* connect failure, reset, timeout */
	BBS_E_UNSUPPORTED = -12,	/* a feature we do not offer */
	BBS_E_REDIRECT = -13,	/* a redirect we refuse to follow */
	BBS_E_TOO_BIG = -14,	/* a bounded buffer would overflow */
	BBS_E_CANCELLED = -15,
	BBS_E_REPORTED = -16,	/* failed, and the user has been told why */
	BBS_E_OAUTH = -17,	/* the authorization server answered error= */
	BBS_E_AUTH_REQUIRED = -18,	/* nobody is signed in: run git bbs login */
	BBS_E_TIMEOUT = -19
};

/*
 * Record a one-line error message and return `code`.  The first error set
 * wins until err_clear(): callers propagate codes without overwriting the
 * message of the layer that knew what went wrong.
 */
int err_set(int code, const char *fmt, ...) BBS_ATTR_PRINTF(2, 3);
/* Record a hint ("what to do next") for the current error. */
void err_hint(const char *fmt, ...) BBS_ATTR_PRINTF(1, 2);
/* The recorded message, or NULL; borrowed until err_clear(). */
const char *err_message(void);
const char *err_hint_message(void);
int err_code(void);
void err_clear(void);

/* util-mem.c: allocation that never returns NULL (abort on OOM). */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) BBS_ATTR_PRINTF(1, 2);

/* util-secret.c */

/* Overwrite `len` bytes at `p` in a way the compiler cannot elide. */
void secret_wipe(void *p, size_t len);
/* Wipe a NUL-terminated secret string and free it; NULL is a no-op. */
void secret_free(char *s);
/* Constant-time equality of two NUL-terminated strings. */
int secret_equal(const char *a, const char *b);

/* util-buf.c: a growable buffer with a hard maximum size. */
struct buf {
	char *ptr;		/* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max;		/* adding past this fails with BBS_E_TOO_BIG */
	int secret;		/* wipe on reallocation and release */
};

#define BUF_MAX_DEFAULT ((size_t)64 * 1024)

void buf_init(struct buf *b, size_t max);
/* Like buf_init, and the contents are wiped whenever memory is released. */
void buf_init_secret(struct buf *b, size_t max);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) BBS_ATTR_PRINTF(2, 3);
/* Drop the first `n` bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
/* Hand the contents to the caller (never NULL) and re-initialise `b`. */
char *buf_detach(struct buf *b);

/* util-trace.c: GIT_TRACE_BBS */

/*
 * Configure tracing from the value of GIT_TRACE_BBS: unset, empty, "0" or
 * "false" disable it; "1", "2" or "true" trace to stderr; an absolute path
 * appends to that file.  Anything else is ignored with a warning.
 */
void trace_init(const char *spec);
int trace_enabled(void);
void trace_printf(const char *fmt, ...) BBS_ATTR_PRINTF(1, 2);
/*
 * Trace one HTTP header or protocol line; the values of Authorization,
 * Proxy-Authorization, Cookie and Set-Cookie headers are replaced by
 * "<redacted>", and control bytes are escaped.
 */
void trace_header(const char *prefix, const char *line, size_t len);
void trace_close(void);

/* http.c: the HTTP client (the only file that includes curl). */

struct http_client;
struct http_stream;

struct http_settings {
	const char *user_agent;
	const char *ca_file;	/* NULL: the system bundle */
	const char *ca_path;
	int ssl_verify;		/* 0 disables peer and host verification */
	const char *proxy;	/* NULL: libcurl's environment handling */
	long connect_timeout;	/* seconds, 0 for the default */
	long low_speed_time;	/* abort when below 1 byte/s this long, 0 off */
};

struct http_request {
	const char *method;	/* "GET" or "POST" */
	const char *url;
	const char *const *headers;	/* NULL-terminated, not secret */
	/*
	 * A secret header line ("Authorization: ...") sent with this request
	 * only.  The client never follows redirects, so it only ever reaches
	 * the origin of `url`.
	 */
	const char *auth_header;
	const void *body;	/* POST body in memory, or */
	int body_fd;		/* a seekable file to send (-1 if none) */
	off_t body_len;
	/*
	 * With body_stream, body_fd is a pipe of unknown length, sent after
	 * the `body_len` bytes at `body`, chunked, on a fresh connection
	 * (a stream cannot be replayed on a kept-alive one that died).
	 */
	int body_stream;
	int allow_http;		/* plain http permitted (loopback only) */
	long timeout;		/* whole request, seconds; 0 for none */
};

struct http_response {
	long status;
	char *content_type;
	char *location;
	char *www_authenticate;
};

int http_client_new(struct http_client **out, const struct http_settings *s);
void http_client_free(struct http_client *c);

/*
 * Start a request and wait until the response headers have arrived.  On
 * success `*out` is a stream to read the body from; `resp` is filled in
 * (release with http_response_release).  Transport failures return
 * BBS_E_NETWORK or BBS_E_TLS with a message; any HTTP status is success
 * here, the caller decides.
 */
int http_open(struct http_stream **out, struct http_response *resp,
    struct http_client *c, const struct http_request *req);
/* Read up to `len` body bytes; `*nread` is 0 at the end of the body. */
int http_stream_read(struct http_stream *s, void *dst, size_t len,
    size_t *nread);
/* Read the whole remaining body into `b` (bounded by b->max). */
int http_stream_read_all(struct http_stream *s, struct buf *b);
void http_stream_free(struct http_stream *s);
void http_response_release(struct http_response *r);

/* Whether `host` (no brackets, no port) is a loopback name or address. */
int http_host_is_loopback(const char *host);

/* pkce.c: randomness, PKCE (RFC 7636), state */

#define PKCE_VERIFIER_LEN 43	/* 32 random bytes, base64url */
#define PKCE_CHALLENGE_LEN 43	/* SHA-256, base64url */

/* Base64url without padding of `len` bytes into `out` (room for 4/3+1). */
void base64url_encode(char *out, const unsigned char *in, size_t len);
/* `nbytes` random bytes as base64url text in `out`; 0 or an error. */
int random_token(char *out, size_t outlen, size_t nbytes);
/* A new verifier and its S256 challenge. */
int pkce_new(char verifier[PKCE_VERIFIER_LEN + 1],
    char challenge[PKCE_CHALLENGE_LEN + 1]);
/* The S256 challenge of `verifier`. */
int pkce_challenge(const char *verifier, char challenge[PKCE_CHALLENGE_LEN + 1]);

/* form.c: application/x-www-form-urlencoded */

/* Append "&key=value" (no '&' first) with both parts percent-encoded. */
int form_add(struct buf *b, const char *key, const char *value);
/* Percent-encode `s` into `b`. */
int url_encode(struct buf *b, const char *s);
/*
 * Decode %XX escapes (and '+' as a space if asked) of `len` bytes; NULL on
 * a malformed escape or an encoded NUL.  The caller frees the result.
 */
char *percent_decode(const char *s, size_t len, int plus_is_space);
/*
 * Find parameter `key` in a query string (no leading '?'); returns a new
 * decoded string or NULL.  *dup is set when the key appears more than once.
 */
char *query_get(const char *query, const char *key, int *dup);

/* token.c: the OAuth token and its JSON (the only file with jansson) */

struct oauth_token {
	char *access_token;	/* secret */
	char *refresh_token;	/* secret, or NULL */
	char *token_type;
	char *scope;
	int64_t expires_at;	/* Unix time, 0 when unknown */
	char *redirect_uri;	/* of the sign-in; Data Center wants it back */
};

void oauth_token_release(struct oauth_token *t);
/* Install a zeroing allocator in jansson; call once at start-up. */
void oauth_json_init(void);
/*
 * Parse a token endpoint answer.  On an RFC 6749 §5.2 error returns
 * BBS_E_OAUTH with the message set; `*oauth_error` (optional) receives the
 * error code string (caller frees).
 */
int oauth_token_parse(struct oauth_token *out, long status, const char *body,
    size_t len, int64_t now, char **oauth_error);

/* Authorization server metadata (RFC 8414), by discovery or by hand. */
struct oauth_endpoints {
	char *issuer;
	char *authorize_url;
	char *token_url;
	char *device_url;
	char *revocation_url;
	char *userinfo_url;
	int iss_supported;	/* authorization_response_iss_parameter_supported */
	int secret_post_only;	/* client_secret_post offered, basic not */
};

void oauth_endpoints_release(struct oauth_endpoints *e);
/* Parse metadata JSON; fields already set in `e` are kept. */
int oauth_metadata_parse(struct oauth_endpoints *e, const char *issuer,
    const char *body, size_t len);

/* Device authorization response (RFC 8628 §3.2). */
struct oauth_device {
	char *device_code;	/* secret */
	char *user_code;
	char *verification_uri;
	char *verification_uri_complete;
	long expires_in;
	long interval;
};

void oauth_device_release(struct oauth_device *d);
int oauth_device_parse(struct oauth_device *out, long status, const char *body,
    size_t len);
/* The "username" (or "nickname", "name", "sub") of a user-info answer. */
char *oauth_userinfo_name(const char *body, size_t len);

/* store-file.c: the token store */

struct store_entry {
	char *key;		/* which server and client: "<token-url> <client-id>" */
	char *account;		/* "default" when the server did not say */
	char *provider;
	struct oauth_token tok;
};

struct store {
	char *dir;
	char *path;
	struct store_entry *e;
	size_t nr;
};

/* Load the store in `dir` (created 0700 if missing; a missing file is empty). */
int store_open(struct store *s, const char *dir);
/* Write the store atomically. */
int store_save(struct store *s);
void store_release(struct store *s);
/* First entry for key (and account, if not NULL); *nmatch counts them. */
struct store_entry *store_find(struct store *s, const char *key,
    const char *account, size_t *nmatch);
/* Add or replace; takes ownership of *tok's contents. */
void store_put(struct store *s, const char *key, const char *account,
    const char *provider, struct oauth_token *tok);
/* Remove the first matching entry; 1 if one was removed. */
int store_remove(struct store *s, const char *key, const char *account);
/*
 * One grant (provider and token, not key or account) as compact JSON
 * (caller frees, wiping), and back: decode fills e->provider and e->tok.
 */
char *store_grant_encode(const struct store_entry *e);
int store_grant_decode(const char *text, struct store_entry *e);
/* Take the per-grant refresh lock, waiting up to `timeout_sec`. */
int store_lock(const char *dir, const char *key, int timeout_sec, int *fd_out);
void store_unlock(int fd);

/* util-mem.c */
int write_fd_all(int fd, const void *data, size_t len);

/* client.c: talking to the authorization server */

enum oauth_client_auth { OAUTH_AUTH_BASIC, OAUTH_AUTH_POST };

struct oauth_client {
	struct http_client *http;	/* borrowed */
	struct oauth_endpoints ep;
	char *provider;
	char *client_id;
	char *client_secret;	/* secret, or NULL for a public client */
	enum oauth_client_auth auth;
	char *scopes;
	char *redirect_uri;	/* fixed by configuration, or NULL */
	int redirect_on_refresh;	/* Data Center wants redirect_uri there */
	int64_t (*now)(void);
};

void oauth_client_release(struct oauth_client *c);
/* RFC 8414 / OpenID discovery from c->ep.issuer; fills unset endpoints. */
int oauth_discover(struct oauth_client *c);
/* The authorization URL for a code flow (caller frees). */
char *oauth_authorize_url(struct oauth_client *c, const char *redirect_uri,
    const char *state, const char *challenge);
int oauth_exchange_code(struct oauth_client *c, const char *code,
    const char *verifier, const char *redirect_uri, struct oauth_token *out);
/*
 * Refresh.  Any refusal means the grant is gone (Bitbucket answers a dead
 * refresh token with invalid_request): BBS_E_AUTH_REQUIRED.
 */
int oauth_refresh(struct oauth_client *c, const char *refresh_token,
    const char *redirect_uri, struct oauth_token *out);
int oauth_client_credentials(struct oauth_client *c, struct oauth_token *out);
int oauth_device_start(struct oauth_client *c, struct oauth_device *out);
/*
 * Poll the token endpoint for a device grant until it is approved, denied
 * or expired (RFC 8628 §3.4-3.5).
 */
int oauth_device_poll(struct oauth_client *c, struct oauth_device *d,
    struct oauth_token *out);
/* RFC 7009 revocation; BBS_E_UNSUPPORTED if the server offers none. */
int oauth_revoke(struct oauth_client *c, const char *token, const char *hint);
/* Ask the user-info endpoint who the token belongs to (NULL if unknown). */
char *oauth_whoami(struct oauth_client *c, const char *access_token);

/* loopback.c: the RFC 8252 §7.3 redirect listener */

struct loopback {
	int fd;
	int port;
};

/* Listen on 127.0.0.1:port (0 for an ephemeral port). */
int loopback_listen(struct loopback *l, int port);
void loopback_close(struct loopback *l);

/* What a valid authorization response must carry. */
struct authz_expect {
	const char *state;
	const char *issuer;	/* NULL: no iss check */
	int iss_required;	/* the server advertised RFC 9207 support */
};

/*
 * Check one authorization response (the query of the redirect URI).
 * Returns 0 with *code set (one or more bytes of %x20-7E, RFC 6749),
 * BBS_E_INVALID for a response to ignore (wrong state), or another error
 * that ends the sign-in (denied, wrong issuer, a malformed code).
 */
int authz_response_check(const char *query, const struct authz_expect *x,
    char **code);
/*
 * Parse the request head `req` (`len` bytes as received, not
 * NUL-terminated) that a browser sent to the listener:
 * "GET <path>?<query> HTTP/1.x" and header lines up to an empty line.
 * Returns 1 with *query / *qlen pointing into `req` when the head is
 * complete and well-formed (the query holds no control byte), 0 when
 * more bytes are needed, -1 when it can never be such a request (a
 * control byte or NUL in the request line, another method, no query, or
 * 8 KiB without an end).
 */
int loopback_request_parse(const char *req, size_t len, const char **query,
    size_t *qlen);
/* Milliseconds on the monotonic clock, for deadlines. */
int64_t monotonic_ms(void);
/*
 * Serve the listener until a valid response arrives or `timeout_ms`
 * passes; responses with a wrong state are refused and the wait goes on.
 */
int loopback_wait(struct loopback *l, const struct authz_expect *x,
    int timeout_ms, char **code);

/* callback.c: private-use URI scheme hand-off (RFC 8252 §7.1) */

/* The per-user 0700 directory for hand-off sockets (caller frees). */
char *callback_dir(void);
/*
 * callback_dir(), created if missing; refused unless it is a directory
 * of this user that nobody else may enter (caller frees *out).
 */
int callback_dir_create(char **out);
struct callback_listener {
	int fd;
	char *path;
};
int callback_listen(struct callback_listener *cl, const char *state);
void callback_close(struct callback_listener *cl);
int callback_wait(struct callback_listener *cl, const struct authz_expect *x,
    int timeout_ms, char **code);
/* `git bbs callback <uri>`: deliver `uri` to the sign-in waiting for it. */
int callback_deliver(const char *uri);

#endif
