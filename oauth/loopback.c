/*
 * loopback.c - receiving the authorization response on 127.0.0.1
 * (RFC 8252 §7.3), and checking any authorization response.
 *
 * The listener exists only while a sign-in waits.  Each connection gets
 * one bounded request (8 KiB); a response with a wrong state is answered
 * with an error page and the wait goes on; the first valid one ends it.
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

int
loopback_listen(struct loopback *l, int port)
{
	return loopback_listen_on(l, 0, port);
}

int
loopback_listen_on(struct loopback *l, int ipv6, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int one = 1;

	if (port < 0 || port > 65535)
		return err_set(BBS_E_INVALID, "bad port %d", port);
	l->fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
	    0);
	if (l->fd < 0)
		return err_set(BBS_E_IO, "cannot create a socket: %s",
		    strerror(errno));
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
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
	if (bind(l->fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(l->fd, 8) != 0 ||
	    getsockname(l->fd, (struct sockaddr *)&ss, &len) != 0) {
		int e = errno;

		close(l->fd);
		l->fd = -1;
		return err_set(BBS_E_IO, "cannot listen on %s:%d: %s",
		    ipv6 ? "[::1]" : "127.0.0.1", port, strerror(e));
	}
	l->port = ntohs(ipv6 ? sin6->sin6_port : sin->sin_port);
	return 0;
}

void
loopback_close(struct loopback *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

int
authz_response_check(const char *query, const struct authz_expect *x,
    char **code)
{
	char *state, *iss, *error, *c;
	int dup = 0, dup2 = 0, r = 0;

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
	if ((error = query_get(query, "error", NULL)) != NULL) {
		r = err_set(strcmp(error, "access_denied") == 0 ?
		    BBS_E_CANCELLED : BBS_E_OAUTH, "the sign-in was refused: "
		    "%.64s", error);
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

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read one request head from `fd` into `req` (bounded, 2 s). */
static int
read_request(int fd, char *req, size_t size)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t len = 0;
	ssize_t n;

	while (len < size - 1) {
		if (poll(&p, 1, 2000) <= 0)
			return -1;
		n = read(fd, req + len, size - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			return 0;
	}
	return -1;
}

int
loopback_wait(struct loopback *l, const struct authz_expect *x,
    int timeout_ms, char **code)
{
	int64_t deadline = now_ms() + timeout_ms;
	char req[REQUEST_MAX], *q, *end;
	struct pollfd p;
	int fd, r;

	*code = NULL;
	for (;;) {
		int64_t left = deadline - now_ms();

		if (left <= 0)
			return err_set(BBS_E_TIMEOUT, "no sign-in response "
			    "arrived in time");
		p.fd = l->fd;
		p.events = POLLIN;
		r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (r < 0 && errno == EINTR)
			return err_set(BBS_E_CANCELLED, "sign-in interrupted");
		if (r <= 0)
			continue;
		fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		r = BBS_E_INVALID;
		if (read_request(fd, req, sizeof(req)) == 0 &&
		    strncmp(req, "GET ", 4) == 0 &&
		    (q = strchr(req + 4, '?')) != NULL &&
		    (end = strpbrk(q, " \r\n")) != NULL) {
			*end = '\0';
			r = authz_response_check(q + 1, x, code);
		}
		reply(fd, r == 0);
		close(fd);
		secret_wipe(req, sizeof(req));
		if (r == 0)
			return 0;
		if (r != BBS_E_INVALID)
			return r;
		/* a stray or forged request: refuse it and keep waiting */
		if (err_message() != NULL)
			trace_printf("login: %s", err_message());
		err_clear();
	}
}
