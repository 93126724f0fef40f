/* SPDX-License-Identifier: MIT */
/*
 * loopback.c - receiving the authorization response on 127.0.0.1 or
 * [::1] (RFC 8252 §7.3), and checking any authorization response.
 *
 * For a redirect URI naming "localhost", which a browser may resolve to
 * either address, the listener holds the same port on both, so no other
 * local user can take the one it would leave free.
 *
 * The listener exists only while a sign-in waits.  It serves up to 8
 * connections at once (a new one beyond them drops the oldest), each
 * with one bounded request (8 KiB) and one deadline of its own (4 s,
 * never past the sign-in's), so a local client that connects and sends
 * slowly cannot keep the browser's redirect out.  A response with a
 * wrong state is answered with an error page and the wait goes on; the
 * first valid one ends it.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "oauth.h"

#define REQUEST_MAX 8192
/* Connections served at once; a new one beyond them drops the oldest. */
#define LOOPBACK_CONNS 8
/* How long one connection may take to send its request. */
#define LOOPBACK_CONN_MS 4000
/*
 * What the wait polls: the listeners (127.0.0.1, [::1]), the caller's
 * other descriptor (loopback_wait_fd), the connections.
 */
#define P_EXTRA 2
#define P_CONN 3
#define P_NR (P_CONN + LOOPBACK_CONNS)

int
loopback_listen(struct loopback *l, int port)
{
	return loopback_listen_on(l, 0, port);
}

/*
 * A socket listening on 127.0.0.1:port, or on [::1]:port when `ipv6`
 * (port 0: an ephemeral one), in *fd, with its port in *bound.  Returns
 * 0, or the errno of what failed (nothing left open).
 */
static int
listen_socket(int ipv6, int port, int *fd, int *bound)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int one = 1, e;

	*fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return errno;
	setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	if (ipv6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = htons((uint16_t)port);
		len = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons((uint16_t)port);
		len = sizeof(*sin);
	}
	if (bind(*fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(*fd, 8) != 0 ||
	    getsockname(*fd, (struct sockaddr *)&ss, &len) != 0) {
		e = errno;
		close(*fd);
		*fd = -1;
		return e;
	}
	*bound = ntohs(ipv6 ? sin6->sin6_port : sin->sin_port);
	return 0;
}

static int
listen_error(int ipv6, int port, int e)
{
	return err_set(BBS_E_IO, "cannot listen on %s:%d: %s",
	    ipv6 ? "[::1]" : "127.0.0.1", port, strerror(e));
}

int
loopback_listen_on(struct loopback *l, int ipv6, int port)
{
	int e;

	l->fd = l->fd6 = -1;
	if (port < 0 || port > 65535)
		return err_set(BBS_E_INVALID, "bad port %d", port);
	if ((e = listen_socket(ipv6, port, &l->fd, &l->port)) != 0)
		return listen_error(ipv6, port, e);
	return 0;
}

/* Ephemeral ports tried for one free on both addresses. */
#define LOCALHOST_TRIES 32

int
loopback_listen_localhost(struct loopback *l, int port)
{
	int i, e, port6;

	l->fd = l->fd6 = -1;
	if (port < 0 || port > 65535)
		return err_set(BBS_E_INVALID, "bad port %d", port);
	for (i = 0; i < LOCALHOST_TRIES; i++) {
		if ((e = listen_socket(0, port, &l->fd, &l->port)) != 0)
			return listen_error(0, port, e);
		e = listen_socket(1, l->port, &l->fd6, &port6);
		if (e == 0)
			return 0;
		if (e == EAFNOSUPPORT || e == EADDRNOTAVAIL) {
			/* no IPv6 loopback here: nobody can have [::1] */
			trace_printf("login: no [::1] here (%s); listening on "
			    "127.0.0.1 alone", strerror(e));
			return 0;
		}
		close(l->fd);
		l->fd = -1;
		/* a configured port that another holds on [::1]: not ours */
		if (port != 0 || e != EADDRINUSE)
			return listen_error(1, l->port, e);
	}
	return err_set(BBS_E_IO, "cannot find a port free on both 127.0.0.1 "
	    "and [::1]");
}

void
loopback_close(struct loopback *l)
{
	if (l->fd >= 0)
		close(l->fd);
	if (l->fd6 >= 0)
		close(l->fd6);
	l->fd = l->fd6 = -1;
}

/* RFC 6749 A.11: a code is one or more of %x20-7E. */
static int
code_is_vschar(const char *c)
{
	for (; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return 0;
	return 1;
}

int
authz_response_check(const char *query, const struct authz_expect *x,
    char **code)
{
	char *state, *iss, *error, *c;
	int dup = 0, dup2 = 0, dup3 = 0, r = 0;

	*code = NULL;
	state = query_get(query, "state", &dup);
	if (state == NULL || dup || !secret_equal(state, x->state)) {
		secret_free(state);
		return err_set(BBS_E_INVALID, "an authorization response with "
		    "a wrong or missing state was refused");
	}
	secret_free(state);
	iss = query_get(query, "iss", &dup);
	if (dup || (iss != NULL && x->issuer != NULL &&
	    strcmp(iss, x->issuer) != 0)) {
		r = err_set(BBS_E_OAUTH, "the authorization response came from "
		    "another issuer; sign-in stopped");
		goto out;
	}
	if (iss == NULL && x->iss_required) {
		r = err_set(BBS_E_OAUTH, "the authorization response lacks the "
		    "issuer the server promised (RFC 9207); sign-in stopped");
		goto out;
	}
	if ((error = query_get(query, "error", &dup3)) != NULL || dup3) {
		/* the server's text: short, one line, no control bytes */
		char *desc = query_get(query, "error_description", NULL);
		char *e = oauth_text_clean(error != NULL ? error : "", 64);
		char *d = oauth_text_clean(desc, 200);

		r = err_set(!dup3 && strcmp(error, "access_denied") == 0 ?
		    BBS_E_CANCELLED : BBS_E_OAUTH, "the sign-in was refused: "
		    "%s%s%s%s", e, d ? " (" : "", d ? d : "", d ? ")" : "");
		free(e);
		free(d);
		free(desc);
		free(error);
		goto out;
	}
	c = query_get(query, "code", &dup2);
	if (c == NULL || dup2 || *c == '\0') {
		secret_free(c);
		r = err_set(BBS_E_OAUTH, "the authorization response carries no "
		    "code");
		goto out;
	}
	if (!code_is_vschar(c)) {
		secret_free(c);
		r = err_set(BBS_E_OAUTH, "the authorization response carries a "
		    "malformed code");
		goto out;
	}
	*code = c;
out:
	free(iss);
	return r;
}

static const char page_ok[] =
    "<!doctype html><meta charset=utf-8><title>Signed in</title>"
    "<p>Signed in. You can close this tab and return to the terminal.</p>";
static const char page_bad[] =
    "<!doctype html><meta charset=utf-8><title>Sign-in failed</title>"
    "<p>This sign-in response was not accepted. Return to the terminal.</p>";

static void
reply(int fd, int ok)
{
	char hdr[256];
	const char *body = ok ? page_ok : page_bad;
	int n;

	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %s\r\nContent-Type: "
	    "text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
	    ok ? "200 OK" : "400 Bad Request", strlen(body));
	if (n > 0 && write_fd_all(fd, hdr, (size_t)n) == 0)
		write_fd_all(fd, body, strlen(body));
}

int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether byte `c` may not appear in a request line. */
static int
is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

int
loopback_request_parse(const char *req, size_t len, const char **query,
    size_t *qlen)
{
	const char *eol, *sp, *q;
	size_t i;

	*query = NULL;
	*qlen = 0;
	if (memchr(req, '\0', len) != NULL)
		return -1;
	if ((eol = memchr(req, '\n', len)) == NULL)
		return len >= REQUEST_MAX - 1 ? -1 : 0;
	for (i = 0; req + i < eol; i++)
		if (is_ctl((unsigned char)req[i]) &&
		    !(req[i] == '\r' && req + i + 1 == eol))
			return -1;
	if ((size_t)(eol - req) < 4 || memcmp(req, "GET ", 4) != 0)
		return -1;
	if ((sp = memchr(req + 4, ' ', (size_t)(eol - req - 4))) == NULL ||
	    (size_t)(eol - sp) < 9 || memcmp(sp, " HTTP/1.", 8) != 0)
		return -1;
	/* the head is complete at its empty line */
	if (memmem(eol, len - (size_t)(eol - req), "\n\r\n", 3) == NULL &&
	    memmem(eol, len - (size_t)(eol - req), "\n\n", 2) == NULL)
		return len >= REQUEST_MAX - 1 ? -1 : 0;
	if ((q = memchr(req + 4, '?', (size_t)(sp - req - 4))) == NULL)
		return -1;
	*query = q + 1;
	*qlen = (size_t)(sp - q - 1);
	return 1;
}

/* One connection to the listener, until its own deadline. */
struct lb_conn {
	int fd;			/* -1: a free slot */
	int64_t accepted;
	int64_t deadline;
	size_t len;
	char req[REQUEST_MAX];
};

static void
conn_drop(struct lb_conn *k)
{
	if (k->fd >= 0)
		close(k->fd);
	secret_wipe(k->req, sizeof(k->req));
	k->fd = -1;
	k->len = 0;
}

/* Accept one connection into a free slot, or in place of the oldest. */
static void
conn_accept(int lfd, struct lb_conn *k, int64_t deadline)
{
	int64_t now = monotonic_ms();
	size_t i, slot = 0;
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return;
	for (i = 0; i < LOOPBACK_CONNS; i++) {
		if (k[i].fd < 0) {
			slot = i;
			break;
		}
		if (k[i].accepted < k[slot].accepted)
			slot = i;
	}
	if (k[slot].fd >= 0)
		trace_printf("login: too many connections; dropping the oldest");
	conn_drop(&k[slot]);
	k[slot].fd = fd;
	k[slot].accepted = now;
	k[slot].deadline = now + LOOPBACK_CONN_MS < deadline ?
	    now + LOOPBACK_CONN_MS : deadline;
}

/*
 * Read what connection `k` has sent; once its request is complete,
 * answer and close it.  Returns 1 while the request is incomplete, 0 for
 * a valid authorization response (*code set), BBS_E_INVALID for a
 * request that is refused (the wait goes on), another error to end it.
 */
static int
conn_serve(struct lb_conn *k, const struct authz_expect *x, char **code)
{
	const char *q;
	char *query;
	size_t qlen;
	ssize_t n;
	int r;

	n = read(k->fd, k->req + k->len, sizeof(k->req) - 1 - k->len);
	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0) {
		conn_drop(k);
		return BBS_E_INVALID;
	}
	k->len += (size_t)n;
	if ((r = loopback_request_parse(k->req, k->len, &q, &qlen)) == 0)
		return 1;
	if (r < 0)
		r = err_set(BBS_E_INVALID, "a malformed request on the "
		    "sign-in listener was refused");
	else {
		query = xstrndup(q, qlen);
		r = authz_response_check(query, x, code);
		secret_free(query);
	}
	reply(k->fd, r == 0);
	conn_drop(k);
	return r;
}

/* Wait for the listener or a connection, until the nearest deadline. */
static int
conns_poll(struct loopback *l, int extra, struct lb_conn *k,
    struct pollfd *p, int64_t deadline)
{
	int64_t wait = deadline, now = monotonic_ms();
	size_t i;
	int r;

	/* a listener that is not open is -1, which poll() passes over */
	p[0].fd = l->fd;
	p[1].fd = l->fd6;
	p[P_EXTRA].fd = extra;
	for (i = 0; i < LOOPBACK_CONNS; i++)
		p[P_CONN + i].fd = k[i].fd;
	for (i = 0; i < P_NR; i++) {
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	for (i = 0; i < LOOPBACK_CONNS; i++) {
		if (k[i].fd >= 0 && k[i].deadline < wait)
			wait = k[i].deadline;
	}
	/*
	 * A signal's handler sets the flag that http_was_cancelled() reads;
	 * one that lands between two polls is no EINTR, so the flag is read
	 * before each poll, at least every half second.
	 */
	if (http_was_cancelled())
		return err_set(BBS_E_CANCELLED, "sign-in interrupted");
	if (wait > now + 500)
		wait = now + 500;
	r = poll(p, P_NR, wait > now ? (int)(wait - now) : 0);
	if (r < 0 && errno != EINTR)	/* EINTR: the next round sees it */
		return err_set(BBS_E_IO, "cannot wait for the sign-in: %s",
		    strerror(errno));
	now = monotonic_ms();
	for (i = 0; i < LOOPBACK_CONNS; i++)
		if (k[i].fd >= 0 && k[i].deadline <= now) {
			trace_printf("login: a connection to the listener sent "
			    "no request in time; dropped");
			conn_drop(&k[i]);
			p[P_CONN + i].revents = 0;
		}
	return 0;
}

/* One round of the wait: 1 to go on, else as loopback_wait_fd. */
static int
conns_round(struct loopback *l, int extra, struct lb_conn *k,
    const struct authz_expect *x, int64_t deadline, char **code)
{
	struct pollfd p[P_NR];
	size_t i;
	int r;

	if (monotonic_ms() >= deadline)
		return err_set(BBS_E_TIMEOUT, "no sign-in response arrived in "
		    "time");
	if ((r = conns_poll(l, extra, k, p, deadline)) != 0)
		return r;
	if (p[P_EXTRA].revents != 0)
		return LOOPBACK_FD_READY;
	for (i = 0; i < LOOPBACK_CONNS; i++) {
		if (k[i].fd < 0 || p[P_CONN + i].revents == 0)
			continue;
		r = conn_serve(&k[i], x, code);
		if (r == 0 || (r != 1 && r != BBS_E_INVALID))
			return r;
		if (r == BBS_E_INVALID) {
			/* a stray or forged request: refused; keep waiting */
			if (err_message() != NULL)
				trace_printf("login: %s", err_message());
			err_clear();
		}
	}
	if (p[0].revents & POLLIN)
		conn_accept(l->fd, k, deadline);
	if (p[1].revents & POLLIN)
		conn_accept(l->fd6, k, deadline);
	return 1;
}

int
loopback_wait(struct loopback *l, const struct authz_expect *x,
    int64_t timeout_ms, char **code)
{
	return loopback_wait_fd(l, x, timeout_ms, -1, code);
}

int
loopback_wait_fd(struct loopback *l, const struct authz_expect *x,
    int64_t timeout_ms, int fd, char **code)
{
	int64_t deadline = monotonic_ms() + timeout_ms;
	struct lb_conn *k = xcalloc(LOOPBACK_CONNS, sizeof(*k));
	size_t i;
	int r;

	*code = NULL;
	for (i = 0; i < LOOPBACK_CONNS; i++)
		k[i].fd = -1;
	while ((r = conns_round(l, fd, k, x, deadline, code)) == 1)
		;
	for (i = 0; i < LOOPBACK_CONNS; i++)
		conn_drop(&k[i]);
	free(k);
	return r;
}
