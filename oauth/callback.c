/* SPDX-License-Identifier: MIT */
/*
 * callback.c - the private-use URI scheme hand-off (RFC 8252 §7.1).
 *
 * The OS runs `git bbs callback <uri>` for the redirect.  The waiting
 * sign-in listens on a Unix socket in a per-user 0700 directory, named
 * after a hash of its `state`; the callback connects to the socket its
 * URI's state names and hands the URI over.  The waiter checks it like
 * any authorization response.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "oauth.h"

#define URI_MAX 8192

/* "/cb-" and 32 hex digits: what socket_path adds to the directory. */
#define SOCKET_NAME_LEN 36

char *
callback_dir(void)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct sockaddr_un sa;
	char *dir = NULL;

	if (run != NULL && run[0] == '/')
		return xasprintf("%s/git-remote-bbs", run);
	/*
	 * Not a fixed name in /tmp, which another user could create first:
	 * under the state directory, unless a socket path there is too long.
	 */
	if (state != NULL && state[0] == '/')
		dir = xasprintf("%s/git-remote-bbs/run", state);
	else if (home != NULL && home[0] == '/')
		dir = xasprintf("%s/.local/state/git-remote-bbs/run", home);
	if (dir != NULL && strlen(dir) + SOCKET_NAME_LEN < sizeof(sa.sun_path))
		return dir;
	free(dir);
	return xasprintf("/tmp/git-remote-bbs-%ld", (long)geteuid());
}

/* Whether `dir` is a directory of this user that nobody else may enter. */
static int
callback_dir_private(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		return err_set(BBS_E_IO, "'%s' is not a private directory of "
		    "this user; refusing to use it", dir);
	return 0;
}

/* Create the hand-off directory and any missing parent, mode 0700. */
static int
callback_mkdir(const char *dir)
{
	int r = mkdirs(dir, 0700);

	return r != 0 ? r : callback_dir_private(dir);
}

int
callback_dir_create(char **out)
{
	char *dir = callback_dir();
	int r;

	*out = NULL;
	if ((r = callback_mkdir(dir)) != 0) {
		free(dir);
		return r;
	}
	*out = dir;
	return 0;
}

static int
socket_path(struct sockaddr_un *sa, const char *dir, const char *state)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[33];
	size_t i;
	int n;

	SHA256((const unsigned char *)state, strlen(state), md);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/cb-%s", dir, hex);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return err_set(BBS_E_INVALID, "the hand-off directory path is "
		    "too long");
	return 0;
}

int
callback_listen(struct callback_listener *cl, const char *state)
{
	struct sockaddr_un sa;
	char *dir;
	int r;

	cl->fd = -1;
	cl->path = NULL;
	if ((r = callback_dir_create(&dir)) != 0)
		return r;
	if ((r = socket_path(&sa, dir, state)) != 0) {
		free(dir);
		return r;
	}
	free(dir);
	cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(sa.sun_path);
	if (cl->fd < 0 || bind(cl->fd, (struct sockaddr *)&sa,
	    sizeof(sa)) != 0 || listen(cl->fd, 4) != 0) {
		r = err_set(BBS_E_IO, "cannot listen for the sign-in callback: "
		    "%s", strerror(errno));
		callback_close(cl);
		return r;
	}
	cl->path = xstrdup(sa.sun_path);
	return 0;
}

void
callback_close(struct callback_listener *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	if (cl->path != NULL) {
		unlink(cl->path);
		free(cl->path);
	}
	cl->fd = -1;
	cl->path = NULL;
}

/*
 * Read one hand-off (a URI and a newline) from `fd` until `deadline`;
 * the NUL-terminated URI lands in `uri`.
 */
static void
handoff_read(int fd, char *uri, size_t size, int64_t deadline)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t len = 0;
	int64_t left;
	ssize_t n;

	while (len < size - 1 && (left = deadline - monotonic_ms()) > 0 &&
	    poll(&p, 1, (int)left) > 0 &&
	    (n = read(fd, uri + len, size - 1 - len)) > 0) {
		len += (size_t)n;
		if (memchr(uri, '\n', len) != NULL)
			break;
	}
	uri[len] = '\0';
	uri[strcspn(uri, "\r\n")] = '\0';
}

int
callback_wait(struct callback_listener *cl, const struct authz_expect *x,
    int64_t timeout_ms, char **code)
{
	int64_t deadline = monotonic_ms() + timeout_ms, left, until;
	struct pollfd p;
	char uri[URI_MAX], *q;
	int fd, r;

	*code = NULL;
	while ((left = deadline - monotonic_ms()) > 0) {
		/* the flag of a signal's handler: also one between two polls */
		if (http_was_cancelled())
			return err_set(BBS_E_CANCELLED, "sign-in interrupted");
		p.fd = cl->fd;
		p.events = POLLIN;
		r = poll(&p, 1, left > 500 ? 500 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err_set(BBS_E_IO, "cannot wait for the sign-in: "
			    "%s", strerror(errno));
		if (r == 0)
			continue;
		if ((fd = accept4(cl->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		/* each hand-off gets 2 s, never past the sign-in's deadline */
		until = monotonic_ms() + 2000;
		handoff_read(fd, uri, sizeof(uri), until < deadline ? until :
		    deadline);
		q = strchr(uri, '?');
		r = q ? authz_response_check(q + 1, x, code) :
		    err_set(BBS_E_INVALID, "a callback without a query");
		write_fd_all(fd, r == 0 ? "ok\n" : "refused\n", r == 0 ? 3 : 8);
		close(fd);
		secret_wipe(uri, sizeof(uri));
		if (r != BBS_E_INVALID)
			return r;
		err_clear();
	}
	return err_set(BBS_E_TIMEOUT, "no sign-in response arrived in time");
}

int
callback_deliver(const char *uri)
{
	struct sockaddr_un sa;
	struct pollfd p;
	struct stat st;
	const char *q = strchr(uri, '?');
	char *state, *dir, ack[16];
	ssize_t n;
	int fd, r = 0, waiting = 1;

	if (q == NULL || (state = query_get(q + 1, "state", NULL)) == NULL)
		return err_set(BBS_E_INVALID, "the callback URI carries no "
		    "state");
	dir = callback_dir();
	if (lstat(dir, &st) != 0 && errno == ENOENT)
		waiting = 0;
	else if ((r = callback_dir_private(dir)) == 0)	/* not theirs */
		r = socket_path(&sa, dir, state);
	free(dir);
	secret_free(state);
	if (r != 0)
		return r;
	fd = waiting ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		err_set(BBS_E_NOT_FOUND, "no sign-in is waiting for this "
		    "response");
		err_hint("start one with 'git bbs login <url>'");
		return BBS_E_NOT_FOUND;
	}
	if (write_fd_all(fd, uri, strlen(uri)) != 0 ||
	    write_fd_all(fd, "\n", 1) != 0) {
		close(fd);
		return err_set(BBS_E_IO, "cannot hand the response over: %s",
		    strerror(errno));
	}
	p.fd = fd;
	p.events = POLLIN;
	n = poll(&p, 1, 5000) > 0 ? read(fd, ack, sizeof(ack) - 1) : -1;
	close(fd);
	if (n < 3 || strncmp(ack, "ok\n", 3) != 0)
		return err_set(BBS_E_OAUTH, "the waiting sign-in refused this "
		    "response");
	return 0;
}
