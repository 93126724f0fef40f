/* SPDX-License-Identifier: MIT */
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
	BBS_E_TIMEOUT = -19,
	BBS_E_NOT_CONFIGURED = -20,	/* no provider, client: a key to set */
	BBS_E_USAGE = -21	/* wrong arguments: the message is the usage */
};

/*
 * Record a one-line error message and return `code`.  The first error set
 * wins until err_clear(): callers propagate codes without overwriting the
 * message of the layer that knew what went wrong.
 */
int err_set(int code, const char *fmt, ...) BBS_ATTR_PRINTF(2, 3);
/*
 * Replace the recorded error with "<fmt ...>: <its message>" and `code`,
 * its hint dropped: for a caller that knows what the failing part was for.
 */
int err_reword(int code, const char *fmt, ...) BBS_ATTR_PRINTF(2, 3);
/* Record a hint ("what to do next") for the current error. */
void err_hint(const char *fmt, ...) BBS_ATTR_PRINTF(1, 2);
/* The recorded message, or NULL; borrowed until err_clear(). */
const char *err_message(void);
const char *err_hint_message(void);
int err_code(void);
void err_clear(void);

/*
 * Exit statuses of the three programs, as git's own (each man page has
 * them under EXIT STATUS): 0 success, 1 an error after which the caller
 * goes on (git-credential-bbs), 128 a fatal error, 129 wrong usage.
 */
#define BBS_EXIT_OK 0
#define BBS_EXIT_ERROR 1
#define BBS_EXIT_FATAL 128
#define BBS_EXIT_USAGE 129

enum err_level { ERR_LEVEL_ERROR, ERR_LEVEL_FATAL };

/*
 * The one error reporter.  For `r` == 0 returns BBS_EXIT_OK and prints
 * nothing.  For BBS_E_USAGE prints "usage: <message>" and returns
 * BBS_EXIT_USAGE.  Otherwise prints "fatal: " or "error: " (by `level`),
 * "<tag>: " when `tag` is not NULL, the recorded message, and then
 * "hint: <hint>" if one was recorded, all on stderr, and returns
 * BBS_EXIT_FATAL or BBS_EXIT_ERROR.  Nothing is printed for
 * BBS_E_REPORTED: the user has been told already.
 */
int err_report(int r, enum err_level level, const char *tag);

/* util-mem.c: allocation that never returns NULL (abort on OOM). */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xstrdup(s), or NULL for NULL. */
char *xstrdup_or_null(const char *s);
char *xasprintf(const char *fmt, ...) BBS_ATTR_PRINTF(1, 2);

/* util-secret.c */

/* Overwrite `len` bytes at `p` in a way the compiler cannot elide. */
void secret_wipe(void *p, size_t len);
/* Wipe a NUL-terminated secret string and free it; NULL is a no-op. */
void secret_free(char *s);
/* Constant-time equality of two NUL-terminated strings. */
int secret_equal(const char *a, const char *b);
/*
 * malloc, calloc, realloc, strdup and free for libraries that copy
 * secrets (libcurl, OpenSSL): every block is wiped when it is freed, and
 * realloc always moves and wipes.  NULL on failure, as the libc ones.
 * Blocks from these must be freed with secret_mfree() and nothing else.
 */
void *secret_malloc(size_t size);
void *secret_calloc(size_t nmemb, size_t size);
void *secret_realloc(void *ptr, size_t size);
char *secret_strdup(const char *s);
void secret_mfree(void *ptr);
/*
 * Make OpenSSL allocate with the functions above; it must run before
 * OpenSSL's first allocation (first thing in main).  0, or BBS_E_ERROR
 * when it was too late.
 */
int secret_openssl_init(void);
/*
 * Give stdin and stdout buffers of our own, before any I/O on them, so
 * that the secrets read or printed through stdio (a credential request,
 * a refresh token, a printed token) can be wiped at exit by
 * secret_stdio_wipe(), which flushes stdout first (and returns
 * BBS_E_IO if that fails).  Neither stream may be used after the wipe.
 */
int secret_stdio_init(void);
int secret_stdio_wipe(void);

/* util-buf.c: a growable buffer with a hard maximum size. */
struct buf {
	char *ptr;		/* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max;		/* adding past this fails with BBS_E_TOO_BIG */
	int secret;		/* wipe on reallocation and release */
	int err;		/* sticky: the code of the first failed append */
};

#define BUF_MAX_DEFAULT ((size_t)64 * 1024)

void buf_init(struct buf *b, size_t max);
/* Like buf_init, and the contents are wiped whenever memory is released. */
void buf_init_secret(struct buf *b, size_t max);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) BBS_ATTR_PRINTF(2, 3);
/*
 * 0, or the code of the first append that failed: after a failure every
 * append is a no-op returning that code, until buf_release() or
 * buf_detach().  Check it once before using what was built.
 */
int buf_error(const struct buf *b);
/* Drop the first `n` bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
/* Hand the contents to the caller (never NULL) and re-initialise `b`. */
char *buf_detach(struct buf *b);

/* util-text.c: peer text shown on a terminal */

/*
 * Append `len` bytes of `s` to `out` with every control byte shown:
 * C0 controls (below 0x20) and DEL in caret notation ("^[" for ESC, "^?"
 * for DEL), except TAB; C1 controls, U+0080 to U+009F in UTF-8 and any
 * byte 0x80 to 0x9f outside a well-formed UTF-8 character, as cat -v
 * shows them ("M-^[" for CSI).  With TEXT_CRLF in `flags` CR and LF pass
 * too, with TEXT_NO_TAB TAB does not.  No byte is dropped, so the text
 * stays readable; the result is at most TEXT_GROWTH times as long.  0, or
 * BBS_E_TOO_BIG when `out` is full.
 */
#define TEXT_CRLF 1
#define TEXT_NO_TAB 2
#define TEXT_GROWTH 4
int text_sanitize(struct buf *out, const char *s, size_t len, int flags);
/* The same, without CR/LF, as a new string the caller frees. */
char *text_sanitized(const char *s, size_t len);
/*
 * A name or field from a peer as one clean string: every control byte,
 * TAB included, shown as text_sanitize shows it, and at most `max` bytes
 * of the result (neither a replacement nor a UTF-8 character is ever
 * split).  The caller frees.
 */
char *text_cleaned(const char *s, size_t max);
/*
 * The character at `s` (`len` > 0 bytes left): how many bytes it takes (1
 * for ASCII and for a byte outside any well-formed UTF-8 character), with
 * `*c1` set when it is a C1 control as text_sanitize counts them.
 */
size_t text_char(const char *s, size_t len, int *c1);
/*
 * How many of the last bytes of `s`/`len` (0 to 3) start a UTF-8
 * character that the end cuts short: text that arrives in pieces holds
 * them back until the rest comes.
 */
size_t text_partial(const char *s, size_t len);

/* util-fs.c */

/*
 * Create `dir` and each missing parent with `mode` (an existing one is
 * fine, whatever it is: the caller checks what it needs).  0, or
 * BBS_E_IO naming `dir`.
 */
int mkdirs(const char *dir, mode_t mode);

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
	/*
	 * The request or its answer holds secrets (a token request): it
	 * runs on a connection of its own, closed and freed with the stream,
	 * so that the TLS library frees, and the wiping allocator wipes, the
	 * buffer it decrypted the answer in (OpenSSL 3.5 keeps that buffer
	 * for the life of a connection).
	 */
	int close_after;
};

struct http_response {
	long status;
	char *content_type;
	char *location;
	char *www_authenticate;
	int64_t date;		/* the Date header, Unix time; 0 if none */
};

int http_client_new(struct http_client **out, const struct http_settings *s);
void http_client_free(struct http_client *c);

/*
 * The TLS and proxy settings of one URL (git's http.<url>.* resolved for
 * it).  Strings are the resolver's allocations; http.c frees them.
 */
struct http_url_settings {
	int ssl_verify;
	char *ca_file;
	char *ca_path;
	char *proxy;
	long low_speed_time;
};

void http_url_settings_release(struct http_url_settings *s);
/*
 * With a resolver, every request asks it for the settings of the URL it
 * is about to contact (its 0 fills `out`; an error fails the request
 * before anything is sent), instead of using the client's settings for
 * every URL.  `payload` is borrowed and must outlive the client.
 */
typedef int (*http_settings_fn)(void *payload, const char *url,
    struct http_url_settings *out);
void http_client_set_resolver(struct http_client *c, http_settings_fn fn,
    void *payload);

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
/*
 * Make every request of this process fail with BBS_E_CANCELLED within
 * about a second (at its next turn of the transfer loop); safe to call
 * from a signal handler.  http_was_cancelled() tells whether it was.
 * The sign-in waits (loopback_wait, callback_wait, oauth_device_poll)
 * end with BBS_E_CANCELLED too, within half a second.
 */
void http_cancel(void);
int http_was_cancelled(void);

/* url.c: the one http(s) URL parser, and the endpoint rule */

struct oauth_url {
	char *scheme;		/* "http" or "https", lowercase */
	char *userinfo;		/* raw text before the last '@', or NULL */
	char *host;		/* lowercase; IPv6 without brackets */
	int port;		/* explicit, or the scheme's default */
	int port_given;		/* the URL names its port */
	char *path;		/* the rest from '/', '?' or '#'; "/" if empty */
	size_t path_at;		/* offset of the rest; the URL's length if none */
};

#define OAUTH_URL_WILDCARD 1	/* allow '*' in the host (config patterns) */

/*
 * Parse scheme://[userinfo@]host[:port][rest].  Only http and https; no
 * byte <= 0x20 or 0x7f anywhere; the host is [IPv6] (hex digits, ':' and
 * '.') or letters, digits, '-', '.', '_' (and '*' with OAUTH_URL_WILDCARD);
 * ports 1-65535.  0 with `out` filled (release with oauth_url_release), or
 * BBS_E_INVALID with a one-line message and `out` empty.
 */
int oauth_url_parse(struct oauth_url *out, const char *s, int flags);
void oauth_url_release(struct oauth_url *u);
/* Whether the parsed host is 127.0.0.0/8, ::1 or "localhost". */
int oauth_url_is_loopback(const struct oauth_url *u);
/*
 * The rule for every URL of the authorization server (`what` names it in
 * the message): it parses, has no user name or password, and is https or
 * http to a loopback host.  NULL is fine (not configured).  0, or
 * BBS_E_INVALID / BBS_E_INSECURE_URL with a message; nothing is sent.
 */
int oauth_endpoint_check(const char *what, const char *url);
struct oauth_endpoints;
/* oauth_endpoint_check for the issuer and every endpoint set in `e`. */
int oauth_endpoints_check(const struct oauth_endpoints *e);
/* The version of libcurl loaded at run time. */
const char *http_library_version(void);

/* token.c: the version of jansson loaded at run time. */
const char *json_library_version(void);

/* pkce.c: randomness, PKCE (RFC 7636), state */

#define PKCE_VERIFIER_LEN 43	/* 32 random bytes, base64url */
#define PKCE_CHALLENGE_LEN 43	/* SHA-256, base64url */

/* Base64url without padding of `len` bytes into `out` (room for 4/3+1). */
void base64url_encode(char *out, const unsigned char *in, size_t len);
/*
 * Decode `len` bytes of base64url text without padding (RFC 4648 §5) into
 * `out`, which has room for `cap` bytes; *outlen gets the length.  Returns
 * 0, or -1 (nothing recorded, *outlen 0) for a byte outside the alphabet,
 * a length that no byte string encodes to, non-zero unused bits (so each
 * byte string has one text) or an answer longer than `cap`.
 */
int base64url_decode(unsigned char *out, size_t cap, size_t *outlen,
    const char *in, size_t len);
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
	int64_t lifetime;	/* seconds it was issued for, 0 when unknown */
	char *grant;		/* "client_credentials": renewed with the
				 * client secret; NULL otherwise */
	char *redirect_uri;	/* of the sign-in; Data Center wants it back */
	/* what a token response says of its account; never stored */
	char *id_token;		/* secret: an OpenID ID token as sent, or NULL */
	char *account;		/* its "username", else "sub" (cleaned), or NULL */
};

void oauth_token_release(struct oauth_token *t);
/* A copy of what the store keeps of `src` (not its ID token or account). */
void oauth_token_copy(struct oauth_token *dst, const struct oauth_token *src);

/* Longest token accepted (Bitbucket's refresh tokens exceed 2,500). */
#define OAUTH_TOKEN_MAX ((size_t)16 * 1024)
/*
 * Whether `s` is an RFC 6750 b64token of at most OAUTH_TOKEN_MAX bytes:
 * 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".  Every
 * token is checked with this wherever it comes from (a token response,
 * the store, the environment, stdin, a credential helper), so no token
 * can add a line to an HTTP header or the credential protocol.
 */
int oauth_token_syntax_ok(const char *s);

/*
 * Bounds of what a server says about lifetimes, in seconds.  Values are
 * clamped into these before any arithmetic; a token's expires_in of 0 or
 * less counts as 1 (expired at once, so it is refreshed), more than ten
 * years as ten years.  The number is a JSON integer or, leniently, a
 * string of digits ("3600"); a real (3600.0, 1e400) is malformed.
 */
#define OAUTH_EXPIRES_MAX ((long long)10 * 366 * 24 * 3600)
#define OAUTH_DEVICE_EXPIRES_MAX 3600LL	/* device codes: one hour at most */
#define OAUTH_DEVICE_INTERVAL_MAX 60LL	/* poll interval in [1, 60], default 5 */
/* Install a zeroing allocator in jansson; call once at start-up. */
void oauth_json_init(void);
/*
 * Parse a token endpoint answer.  On success the access token (and the
 * refresh token, if any) pass oauth_token_syntax_ok() and expires_at is 0
 * (not said) or now + [1, OAUTH_EXPIRES_MAX].  On an RFC 6749 §5.2 error
 * returns BBS_E_OAUTH with the message set (one line, server text
 * cleaned); `*oauth_error` (optional) receives the error code, at most 64
 * bytes, control bytes replaced (caller frees).
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
	char *introspection_url;	/* RFC 7662, discovered */
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
/*
 * Parse a device authorization answer.  On success device_code is a
 * b64token, user_code printable ASCII without spaces (at most 64 bytes),
 * both URIs pass oauth_endpoint_check(), expires_in is in
 * [1, OAUTH_DEVICE_EXPIRES_MAX] and interval in
 * [1, OAUTH_DEVICE_INTERVAL_MAX].
 */
int oauth_device_parse(struct oauth_device *out, long status, const char *body,
    size_t len);
/*
 * The "username" (or "nickname", "name", "sub") of a user-info answer,
 * at most 255 bytes, control bytes replaced (oauth_text_clean); NULL when
 * there is none.
 */
char *oauth_userinfo_name(const char *body, size_t len);
/*
 * Who an RFC 7662 introspection answer names: "username", else "sub",
 * as oauth_userinfo_name cleans them, and only when "active" is true and
 * "client_id", if there, is `client_id`.  NULL otherwise.
 */
char *oauth_introspection_name(const char *body, size_t len,
    const char *client_id);
/* Longest ID token looked at; a longer one is not trusted. */
#define OAUTH_ID_TOKEN_MAX ((size_t)16 * 1024)
/*
 * The account an OpenID ID token names, trusted only as it came from the
 * token endpoint over verified TLS (OpenID Connect Core §3.1.3.7: no
 * signature check then): a JWS compact serialization of at most
 * OAUTH_ID_TOKEN_MAX bytes whose payload is a JSON object with "iss"
 * equal to `issuer`, "aud" equal to or (an array) containing `client_id`
 * (and "azp", if there, equal to it), and an integer "exp" after `now`.
 * The name is "preferred_username", else "email", else "sub": 1 to 255
 * bytes, control bytes replaced.  NULL when the token is malformed, fails
 * a check or names nobody (nothing recorded; *why, if not NULL, gets a
 * static reason for a trace).
 */
char *oauth_id_token_name(const char *jwt, const char *issuer,
    const char *client_id, int64_t now, const char **why);

/* store-file.c: the token store */

struct store_entry {
	char *key;		/* which server and client: "<token-url> <client-id>" */
	char *account;		/* URL user, server name, or "account-N" */
	char *provider;
	struct oauth_token tok;
};

/*
 * A grant that did not decode (a wrong type, a token with a forbidden
 * byte, a missing field): never used, never dropped, written back as it
 * was read.  key and account are NULL when unreadable.
 */
struct store_raw {
	char *key;
	char *account;
	char *text;		/* secret: the grant as read */
};

struct store;

/*
 * Where a store keeps its grants.  load fills s->e and s->raw (both empty
 * on entry); save makes the backing storage hold s for the entry (key,
 * account): written when it is in s, forgotten when not (the file backend
 * writes all of s).  Both run under the store-wide lock.  reserve, if
 * set, makes room for the next save before a token is rotated.
 */
struct store_backend {
	int (*load)(struct store *s);
	int (*save)(struct store *s, const char *key, const char *account);
	int (*reserve)(struct store *s);
	void (*release)(struct store *s);
	int saves_all;		/* a save writes every entry of s */
};

struct store {
	char *dir;		/* the state directory: locks live here */
	char *path;		/* for messages */
	struct store_entry *e;
	size_t nr;
	struct store_raw *raw;
	size_t raw_nr;
	long long generation;	/* of the file read, one more each save; 0: none */
	const struct store_backend *be;
	void *be_data;		/* the backend's own */
};

/*
 * Open the file store in `dir` (created 0700 if missing; a missing file is
 * empty) and read it under the store-wide lock.  A complete temporary
 * file newer than the store, left by a writer that died between write and
 * rename, is adopted first; stale temporary files are removed.
 */
int store_open(struct store *s, const char *dir);
/* Open a store kept by `be` (its state `data` is owned by s from now on). */
int store_open_backend(struct store *s, const char *dir, const char *label,
    const struct store_backend *be, void *data);
/*
 * The read-modify-write of one entry: under the store-wide lock, read the
 * store again, put (tok != NULL; copied, not taken) or remove (tok ==
 * NULL) the entry (key, account), and save.  Afterwards s holds what was
 * read plus the change, even when the save failed.
 */
int store_update(struct store *s, const char *key, const char *account,
    const char *provider, const struct oauth_token *tok);
/*
 * File the grant (key, from) under the account `to` instead, under the
 * store-wide lock and after reading the store again: `to`'s grant, if
 * any, gives way.  The file backend changes both in one save.
 */
int store_move(struct store *s, const char *key, const char *from,
    const char *to);
/*
 * Forget every grant, under the store-wide lock; *n gets how many.  The
 * damaged ones (s->raw) stay as they are.
 */
int store_forget_all(struct store *s, size_t *n);
/*
 * Reserve room for the next save (file backend: a locked temporary file
 * with space for the store and a margin), so that a save after the
 * server rotated a token does not run out of space.  Kept until release.
 */
int store_reserve(struct store *s);
void store_release(struct store *s);
/*
 * First entry for key (and account, if not NULL); *nmatch counts the
 * accounts among them (copies of one account's grant count once).
 */
struct store_entry *store_find(struct store *s, const char *key,
    const char *account, size_t *nmatch);
/* In memory only: add or replace; takes ownership of *tok's contents. */
void store_put(struct store *s, const char *key, const char *account,
    const char *provider, struct oauth_token *tok);
/*
 * In memory only: remove every entry of (key, account), of every account
 * of key when account is NULL; 1 if one was removed.
 */
int store_remove(struct store *s, const char *key, const char *account);
/* Create `dir` (and parents) 0700 if missing; refuse one owned by others. */
int store_mkdir(const char *dir);
/*
 * A pause point for crash tests: in the test build (BBS_TEST_HOOKS),
 * BBS_TEST_STOP_AT=<step> makes the process stop itself (SIGSTOP) there.
 * A no-op otherwise.
 */
void store_testpoint(const char *step);
/* A fault point: in the test build, BBS_TEST_FAIL_AT=<step> makes it 1. */
int store_testfail(const char *step);

/*
 * token.c: the store's JSON.  One grant (provider and token, not key or
 * account) as compact JSON (caller frees, wiping), and back: decode fills
 * e->provider and e->tok, and refuses a grant whose tokens are not RFC
 * 6750 b64token.  store_decode appends the grants of a store file to s
 * (the ones that do not decode to s->raw); BBS_E_IO if the file is not a
 * store at all.  store_encode is its inverse (caller frees, wiping);
 * NULL with the error set when a grant holds a string that is not UTF-8
 * (store_grant_encode: NULL), rather than a grant without it.
 */
char *store_grant_encode(const struct store_entry *e);
int store_grant_decode(const char *text, struct store_entry *e);
int store_decode(struct store *s, const char *data, size_t len);
char *store_encode(const struct store *s, size_t *len_out);

/* lock.c: the store's locks, flock(2), released when the holder dies */

/* Take the per-grant refresh lock, waiting up to `timeout_sec`. */
int store_lock(const char *dir, const char *key, int timeout_sec, int *fd_out);
/* Take the store-wide lock, held for every read-modify-write. */
int store_lock_all(const char *dir, int timeout_sec, int *fd_out);
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
/*
 * The authorization URL for a code flow; it carries the state, so the
 * caller frees it with secret_free.
 */
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
/*
 * Who the token response `t` names, when the user-info endpoint did not
 * say: its ID token's name if oauth_id_token_name() trusts it (against
 * c->ep.issuer, c->client_id and now), else its "username" or "sub";
 * NULL when neither (caller frees).
 */
char *oauth_token_name(struct oauth_client *c, const struct oauth_token *t);
/*
 * Ask the introspection endpoint (RFC 7662) who `access_token` belongs
 * to; only a confidential client can, so NULL without a client secret or
 * an endpoint, and for any failure (nothing recorded).
 */
char *oauth_introspect_name(struct oauth_client *c, const char *access_token);

/* Whether `s` (NULL is fine) has a byte text_cleaned would mask. */
int oauth_text_has_control(const char *s);
/* Whether `s` is well-formed UTF-8 (what JSON, and so the store, holds). */
int oauth_text_is_utf8(const char *s);
/*
 * Server text made safe for a terminal: text_cleaned (control bytes in
 * caret notation, at most `max` bytes; caller frees); NULL for NULL.
 */
char *oauth_text_clean(const char *s, size_t max);

/* loopback.c: the RFC 8252 §7.3 redirect listener */

struct loopback {
	int fd;			/* 127.0.0.1, or [::1] by loopback_listen_on */
	int fd6;		/* [::1] beside it (localhost), or -1 */
	int port;
};

#define LOOPBACK_INIT { -1, -1, 0 }

/* Listen on 127.0.0.1:port (0 for an ephemeral port). */
int loopback_listen(struct loopback *l, int port);
/* The same on [::1] when `ipv6`, else on 127.0.0.1. */
int loopback_listen_on(struct loopback *l, int ipv6, int port);
/*
 * For "localhost": listen on 127.0.0.1:port and [::1] at the same port
 * (0: an ephemeral one free on both).  Where [::1] exists but that port
 * is taken there, a configured port fails and an ephemeral one is
 * chosen again; where the host has no IPv6 loopback, 127.0.0.1 alone.
 */
int loopback_listen_localhost(struct loopback *l, int port);
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
    int64_t timeout_ms, char **code);
/*
 * loopback_wait that also ends, with LOOPBACK_FD_READY and nothing read,
 * once `fd` (another way the response may come: a terminal) is readable.
 */
#define LOOPBACK_FD_READY 2
int loopback_wait_fd(struct loopback *l, const struct authz_expect *x,
    int64_t timeout_ms, int fd, char **code);

/* callback.c: private-use URI scheme hand-off (RFC 8252 §7.1) */

/*
 * The per-user 0700 directory for hand-off sockets (caller frees):
 * $XDG_RUNTIME_DIR/git-remote-bbs, else $XDG_STATE_HOME (or
 * ~/.local/state) /git-remote-bbs/run, else /tmp/git-remote-bbs-UID.
 */
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
    int64_t timeout_ms, char **code);
/*
 * `git bbs callback <uri>`: deliver `uri` to the sign-in waiting for it,
 * never into a hand-off directory that is not private.
 */
int callback_deliver(const char *uri);

#endif
