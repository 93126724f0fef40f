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
	BBS_E_REPORTED = -16	/* failed, and the user has been told why */
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
	int allow_http;		/* plain http permitted (loopback only) */
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

#endif
