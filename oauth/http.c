/* SPDX-License-Identifier: MIT */
/*
 * http.c - the HTTP client, on libcurl's multi interface.
 *
 * The only file that includes curl.  Every request is a stream: http_open()
 * returns once the response headers are in, and the body is then pulled
 * with http_stream_read(), so a pack of any size passes through a buffer of
 * bounded size.  Redirects are never followed: the caller sees the 3xx and
 * decides, which keeps credentials on the origin they were meant for.
 * Connections are kept alive in the multi handle's cache; a kept-alive
 * connection that the server has closed is replaced by libcurl before the
 * request is sent, and request bodies are always rewindable so that retry
 * is possible.  Requests that carry secrets (close_after) have a
 * connection and a multi handle of their own, freed with the stream.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <curl/curl.h>

#include "oauth.h"

/* Received body bytes held at most between two reads. */
#define HTTP_STREAM_BUF_MAX ((size_t)1024 * 1024)

struct http_client {
	CURLM *multi;
	CURLSH *share;
	char *user_agent;
	char *ca_file;
	char *ca_path;
	char *proxy;
	int ssl_verify;
	long connect_timeout;
	long low_speed_time;
	http_settings_fn resolve;
	void *resolve_payload;
};

struct http_stream {
	struct http_client *client;
	CURLM *multi;		/* the client's, or its own (close_after) */
	CURL *easy;
	struct curl_slist *headers;
	struct http_response *resp;
	struct buf data;	/* received and not yet read, from `off` */
	size_t off;
	int paused;
	int headers_done;
	int done;
	CURLcode result;
	int write_err;		/* why http_write_cb refused a delivery */
	int body_fd;
	const char *prefix;	/* body_stream: sent before body_fd */
	size_t prefix_len;
	size_t prefix_off;
	char errbuf[CURL_ERROR_SIZE];
};

static int curl_initialised;

int
http_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

int
http_client_new(struct http_client **out, const struct http_settings *s)
{
	struct http_client *c;

	*out = NULL;
	if (!curl_initialised) {
		/* libcurl's buffers hold tokens: wipe them when freed */
		if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, secret_malloc,
		    secret_mfree, secret_realloc, secret_strdup,
		    secret_calloc) != CURLE_OK)
			return err_set(BBS_E_ERROR, "cannot initialise libcurl");
		curl_initialised = 1;
	}
	c = xcalloc(1, sizeof(*c));
	if ((c->multi = curl_multi_init()) == NULL ||
	    (c->share = curl_share_init()) == NULL) {
		http_client_free(c);
		return err_set(BBS_E_ERROR, "cannot initialise libcurl");
	}
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	c->user_agent = xstrdup(s->user_agent ? s->user_agent :
	    PACKAGE_NAME "/" PACKAGE_VERSION);
	c->ca_file = s->ca_file ? xstrdup(s->ca_file) : NULL;
	c->ca_path = s->ca_path ? xstrdup(s->ca_path) : NULL;
	c->proxy = s->proxy ? xstrdup(s->proxy) : NULL;
	c->ssl_verify = s->ssl_verify;
	c->connect_timeout = s->connect_timeout;
	c->low_speed_time = s->low_speed_time;
	*out = c;
	return 0;
}

void
http_client_set_resolver(struct http_client *c, http_settings_fn fn,
    void *payload)
{
	c->resolve = fn;
	c->resolve_payload = payload;
}

void
http_url_settings_release(struct http_url_settings *s)
{
	if (s == NULL)
		return;
	free(s->ca_file);
	free(s->ca_path);
	free(s->proxy);
	memset(s, 0, sizeof(*s));
}

/* The settings for `url`: the resolver's, or the client's own. */
static int
http_settings_for(struct http_client *c, const char *url,
    struct http_url_settings *out)
{
	memset(out, 0, sizeof(*out));
	if (c->resolve != NULL)
		return c->resolve(c->resolve_payload, url, out);
	out->ssl_verify = c->ssl_verify;
	out->ca_file = c->ca_file ? xstrdup(c->ca_file) : NULL;
	out->ca_path = c->ca_path ? xstrdup(c->ca_path) : NULL;
	out->proxy = c->proxy ? xstrdup(c->proxy) : NULL;
	out->low_speed_time = c->low_speed_time;
	return 0;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	if (c->share != NULL)
		curl_share_cleanup(c->share);
	free(c->user_agent);
	free(c->ca_file);
	free(c->ca_path);
	free(c->proxy);
	free(c);
}

void
http_response_release(struct http_response *r)
{
	if (r == NULL)
		return;
	free(r->content_type);
	free(r->location);
	free(r->www_authenticate);
	memset(r, 0, sizeof(*r));
}

/* Store a copy of a header's value (trimmed) in `*dst`. */
static void
header_value(char **dst, const char *v, size_t len)
{
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
	    v[len - 1] == ' '))
		len--;
	free(*dst);
	*dst = xstrndup(v, len);
}

static int
header_is(const char *line, size_t len, const char *name, size_t *vpos)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return 0;
	*vpos = n + 1;
	return 1;
}

static size_t
http_header_cb(char *line, size_t size, size_t nmemb, void *payload)
{
	struct http_stream *s = payload;
	size_t len = size * nmemb, v;
	long code;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new status line: 100 Continue or the final response */
		http_response_release(s->resp);
		return len;
	}
	if (len <= 2 && (line[0] == '\r' || line[0] == '\n')) {
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200) {
			s->resp->status = code;
			s->headers_done = 1;
		}
		return len;
	}
	if (header_is(line, len, "content-type", &v))
		header_value(&s->resp->content_type, line + v, len - v);
	else if (header_is(line, len, "location", &v))
		header_value(&s->resp->location, line + v, len - v);
	else if (header_is(line, len, "www-authenticate", &v) &&
	    s->resp->www_authenticate == NULL)
		header_value(&s->resp->www_authenticate, line + v, len - v);
	else if (header_is(line, len, "date", &v)) {
		char *date = NULL;
		time_t t;

		header_value(&date, line + v, len - v);
		t = curl_getdate(date, NULL);
		s->resp->date = t > 0 ? (int64_t)t : 0;
		free(date);
	}
	return len;
}

static size_t
http_write_cb(char *ptr, size_t size, size_t nmemb, void *payload)
{
	struct http_stream *s = payload;
	size_t len = size * nmemb;

	/*
	 * Hold at most one delivery: while unread data is pending, pause the
	 * transfer; libcurl hands the same bytes back when it is resumed.
	 */
	if (s->data.len > s->off) {
		s->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	buf_reset(&s->data);
	s->off = 0;
	if ((s->write_err = buf_add(&s->data, ptr, len)) != 0)
		return 0;
	s->headers_done = 1;
	return len;
}

static size_t
http_read_cb(char *dst, size_t size, size_t nmemb, void *payload)
{
	struct http_stream *s = payload;
	size_t want = size * nmemb;
	ssize_t n;

	if (s->prefix_off < s->prefix_len) {
		n = (ssize_t)(s->prefix_len - s->prefix_off);
		if ((size_t)n > want)
			n = (ssize_t)want;
		memcpy(dst, s->prefix + s->prefix_off, (size_t)n);
		s->prefix_off += (size_t)n;
		return (size_t)n;
	}
	do {
		n = read(s->body_fd, dst, want);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

static int
http_seek_cb(void *payload, curl_off_t offset, int origin)
{
	struct http_stream *s = payload;

	if (lseek(s->body_fd, (off_t)offset, origin) < 0)
		return CURL_SEEKFUNC_FAIL;
	return CURL_SEEKFUNC_OK;
}

static int
http_debug_cb(CURL *easy, curl_infotype type, char *data, size_t size,
    void *payload)
{
	size_t i, start;

	switch (type) {
	case CURLINFO_TEXT:
		trace_header("curl: ", data, size);
		break;
	case CURLINFO_HEADER_IN:
		trace_header("< ", data, size);
		break;
	case CURLINFO_HEADER_OUT:
		/* one block with every request header: trace line by line */
		for (i = start = 0; i <= size; i++) {
			if (i == size || data[i] == '\n') {
				if (i > start + 1)
					trace_header("> ", data + start,
					    i - start);
				start = i + 1;
			}
		}
		break;
	default:
		break;
	}
	return 0;
}

static int
http_map_error(struct http_stream *s, const char *url)
{
	const char *detail = s->errbuf[0] ? s->errbuf :
	    curl_easy_strerror(s->result);

	trace_printf("http: %s: %s", url, detail);
	switch (s->result) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return err_set(BBS_E_TLS, "TLS failure talking to the server: "
		    "%s", detail);
	case CURLE_WRITE_ERROR:
		return s->write_err ? s->write_err : err_set(BBS_E_ERROR,
		    "cannot buffer the response");
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
		return err_set(BBS_E_IO, "cannot read the request body");
	default:
		return err_set(BBS_E_NETWORK, "network error: %s", detail);
	}
}

static volatile sig_atomic_t http_cancelled;

void
http_cancel(void)
{
	http_cancelled = 1;
}

int
http_was_cancelled(void)
{
	return http_cancelled != 0;
}

/* Run the transfer a little: until something happened or one second. */
static int
http_pump(struct http_stream *s)
{
	CURLM *multi = s->multi;
	CURLMsg *msg;
	int running = 0, left;
	CURLMcode mc;

	if (http_cancelled)
		return err_set(BBS_E_CANCELLED, "interrupted");
	mc = curl_multi_perform(multi, &running);
	if (mc != CURLM_OK)
		return err_set(BBS_E_ERROR, "libcurl: %s",
		    curl_multi_strerror(mc));
	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == s->easy) {
			s->done = 1;
			s->result = msg->data.result;
		}
	}
	if (s->done || s->data.len > s->off || s->paused)
		return 0;
	mc = curl_multi_poll(multi, NULL, 0, 1000, NULL);
	if (mc != CURLM_OK)
		return err_set(BBS_E_ERROR, "libcurl: %s",
		    curl_multi_strerror(mc));
	return 0;
}

/*
 * Every socket libcurl opens is close-on-exec, so no child we start
 * inherits a connection (child_spawn closes the rest, such as libcurl's
 * own wake-up socketpair).
 */
static curl_socket_t
http_opensocket_cb(void *payload, curlsocktype purpose,
    struct curl_sockaddr *a)
{
	(void)payload;
	(void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* libcurl copies string options, so `u` may be released afterwards. */
static void
http_setopt_common(struct http_stream *s, const struct http_request *req,
    const struct http_url_settings *u)
{
	struct http_client *c = s->client;
	CURL *e = s->easy;
	struct oauth_url pu;
	int loopback = 0;

	if (oauth_url_parse(&pu, req->url, 0) == 0) {
		loopback = oauth_url_is_loopback(&pu);
		oauth_url_release(&pu);
	} else
		err_clear();	/* libcurl refuses it, and says why */
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_SHARE, c->share);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
	    req->allow_http ? "http,https" : "https");
#endif
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, http_opensocket_cb);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, u->ssl_verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, u->ssl_verify ? 2L : 0L);
	if (u->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, u->ca_file);
	if (u->ca_path != NULL)
		curl_easy_setopt(e, CURLOPT_CAPATH, u->ca_path);
	/*
	 * A loopback host is this machine: a proxy (http.proxy or the
	 * *_proxy variables) could only be another party, and plain http
	 * to it, allowed for loopback alone, would hand it the request in
	 * clear text, client credentials and codes included.
	 */
	if (loopback)
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	else if (u->proxy != NULL)
		curl_easy_setopt(e, CURLOPT_PROXY, u->proxy);
	if (c->connect_timeout > 0)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, c->connect_timeout);
	if (u->low_speed_time > 0) {
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, u->low_speed_time);
	}
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	if (trace_enabled()) {
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, http_debug_cb);
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	}
}

/* Wipe and free a header list that may hold a credential. */
static void
http_headers_free(struct curl_slist *h)
{
	struct curl_slist *p;

	for (p = h; p != NULL; p = p->next)
		secret_wipe(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

int
http_open(struct http_stream **out, struct http_response *resp,
    struct http_client *c, const struct http_request *req)
{
	struct http_url_settings us;
	struct http_stream *s;
	struct curl_slist *h;
	size_t i;
	int r;

	*out = NULL;
	memset(resp, 0, sizeof(*resp));
	if (strncasecmp(req->url, "https://", 8) != 0 &&
	    !(req->allow_http && strncasecmp(req->url, "http://", 7) == 0))
		return err_set(BBS_E_INSECURE_URL,
		    "refusing to send a request over plain http");
	if ((r = http_settings_for(c, req->url, &us)) != 0) {
		http_url_settings_release(&us);
		return r;
	}
	if (!us.ssl_verify && strncasecmp(req->url, "https://", 8) == 0)
		trace_printf("http: TLS verification is off for this URL");

	s = xcalloc(1, sizeof(*s));
	s->client = c;
	s->resp = resp;
	s->body_fd = -1;
	/* token responses pass through: wiped when consumed and freed */
	buf_init_secret(&s->data, HTTP_STREAM_BUF_MAX);
	if ((s->easy = curl_easy_init()) == NULL) {
		free(s);
		http_url_settings_release(&us);
		return err_set(BBS_E_ERROR, "cannot initialise libcurl");
	}
	http_setopt_common(s, req, &us);
	http_url_settings_release(&us);

	/* an empty "Expect:" stops libcurl's 100-continue round trip */
	h = curl_slist_append(NULL, "Expect:");
	if (h != NULL && req->body_stream)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	for (i = 0; h != NULL && req->headers && req->headers[i]; i++)
		h = curl_slist_append(h, req->headers[i]);
	if (h != NULL && req->auth_header != NULL)
		h = curl_slist_append(h, req->auth_header);
	if (h == NULL) {
		http_stream_free(s);
		return err_set(BBS_E_ERROR, "out of memory");
	}
	s->headers = h;
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);

	if (req->timeout > 0)
		curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, req->timeout);
	if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(s->easy, CURLOPT_POST, 1L);
		if (req->body_stream) {
			s->body_fd = req->body_fd;
			s->prefix = req->body;
			s->prefix_len = (size_t)req->body_len;
			curl_easy_setopt(s->easy, CURLOPT_READFUNCTION,
			    http_read_cb);
			curl_easy_setopt(s->easy, CURLOPT_READDATA, s);
			curl_easy_setopt(s->easy, CURLOPT_FRESH_CONNECT, 1L);
		} else if (req->body_fd >= 0) {
			s->body_fd = req->body_fd;
			curl_easy_setopt(s->easy, CURLOPT_READFUNCTION,
			    http_read_cb);
			curl_easy_setopt(s->easy, CURLOPT_READDATA, s);
			curl_easy_setopt(s->easy, CURLOPT_SEEKFUNCTION,
			    http_seek_cb);
			curl_easy_setopt(s->easy, CURLOPT_SEEKDATA, s);
		} else
			curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS,
			    req->body ? req->body : "");
		curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    req->body_stream ? (curl_off_t)-1 :
		    (curl_off_t)req->body_len);
	}

	trace_printf("http: %s %s", req->method, req->url);
	/*
	 * A multi handle of its own, whose cleanup in http_stream_free()
	 * closes and frees the connection: in the client's, it would stay
	 * kept alive, or (libcurl 8.10 and later) kept for its TLS shutdown.
	 */
	s->multi = req->close_after ? curl_multi_init() : c->multi;
	if (s->multi == NULL ||
	    curl_multi_add_handle(s->multi, s->easy) != CURLM_OK) {
		http_stream_free(s);
		return err_set(BBS_E_ERROR, "cannot start the request");
	}
	while (!s->headers_done && !s->done) {
		if ((r = http_pump(s)) != 0) {
			http_stream_free(s);
			return r;
		}
	}
	if (s->done && s->result != CURLE_OK) {
		r = http_map_error(s, req->url);
		http_stream_free(s);
		http_response_release(resp);
		return r;
	}
	if (resp->status == 0)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE,
		    &resp->status);
	trace_printf("http: status %ld", resp->status);
	*out = s;
	return 0;
}

int
http_stream_read(struct http_stream *s, void *dst, size_t len, size_t *nread)
{
	size_t n;
	int r;

	*nread = 0;
	while (s->data.len == s->off) {
		if (s->done) {
			if (s->result != CURLE_OK)
				return http_map_error(s, "response body");
			return 0;
		}
		if (s->paused) {
			s->paused = 0;
			buf_reset(&s->data);
			s->off = 0;
			curl_easy_pause(s->easy, CURLPAUSE_CONT);
			continue;
		}
		if ((r = http_pump(s)) != 0)
			return r;
	}
	n = s->data.len - s->off;
	if (n > len)
		n = len;
	memcpy(dst, s->data.ptr + s->off, n);
	s->off += n;
	*nread = n;
	return 0;
}

int
http_stream_read_all(struct http_stream *s, struct buf *b)
{
	char tmp[16384];
	size_t n;
	int r;

	for (;;) {
		if ((r = http_stream_read(s, tmp, sizeof(tmp), &n)) != 0 ||
		    n == 0 || (r = buf_add(b, tmp, n)) != 0)
			break;
	}
	secret_wipe(tmp, sizeof(tmp));	/* it held a token response */
	return r;
}

void
http_stream_free(struct http_stream *s)
{
	if (s == NULL)
		return;
	if (s->easy != NULL) {
		if (s->multi != NULL)
			curl_multi_remove_handle(s->multi, s->easy);
		curl_easy_cleanup(s->easy);
	}
	if (s->multi != NULL && s->multi != s->client->multi)
		curl_multi_cleanup(s->multi);
	http_headers_free(s->headers);
	buf_release(&s->data);
	free(s);
}

const char *
http_library_version(void)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	return cv != NULL && cv->version != NULL ? cv->version : "unknown";
}
