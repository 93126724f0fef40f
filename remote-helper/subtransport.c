/* SPDX-License-Identifier: MIT */
/*
 * subtransport.c - a libgit2 smart subtransport on our HTTP layer.
 *
 * libgit2 speaks git's smart protocol in stateless-RPC mode and asks for a
 * stream per request: it writes the request body, then reads the answer.
 * Each stream here is one HTTP request through smart-http.c, except the
 * ref advertisement that `list` has just read: that one is replayed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "git-internal.h"

/* The largest request body libgit2 may build (wants and haves). */
#define REQUEST_MAX ((size_t)64 * 1024 * 1024)

struct sub {
	git_smart_subtransport parent;
	struct transport *t;
};

struct sub_stream {
	git_smart_subtransport_stream parent;
	struct transport *t;
	enum smart_service svc;
	int ls;
	struct buf request;
	struct http_stream *http;
	int sent;
	int replay;		/* reading the transport's kept advertisement */
	struct errwatch errors;	/* the server's error in what it answers */
};

static int
stream_fail(void)
{
	git_error_set_str(GIT_ERROR_NET, err_message() ? err_message() :
	    "HTTP request failed");
	return -1;
}

/*
 * libgit2 1.5 stops negotiating at the first ACK and then says "done"
 * with only that commit as common ground: after a clone, whose remote
 * refs share every old side branch with the server, a fetch of new work
 * on main downloads the history since some old side branch.  The final
 * request is completed here with the tips of the local refs, newest
 * first, as git's own fetch-pack starts its negotiation, so the server
 * leaves out everything the repository already has.
 */
static int
add_tip_haves(struct sub_stream *s)
{
	static const char done[] = "0009done\n";
	size_t dlen = sizeof(done) - 1;
	struct buf haves, tail;
	int r;

	if (s->request.len < dlen ||
	    memcmp(s->request.ptr + s->request.len - dlen, done, dlen) != 0)
		return 0;
	buf_init(&haves, REQUEST_MAX);
	if ((r = transport_tip_haves(s->t, &haves)) != 0 || haves.len == 0) {
		buf_release(&haves);
		return r;
	}
	buf_init(&tail, REQUEST_MAX);
	s->request.len -= dlen;
	if ((r = buf_add(&tail, haves.ptr, haves.len)) == 0 &&
	    (r = buf_add(&tail, done, dlen)) == 0)
		r = buf_add(&s->request, tail.ptr, tail.len);
	buf_release(&haves);
	buf_release(&tail);
	return r;
}

static int
stream_read(git_smart_subtransport_stream *gs, char *buffer, size_t size,
    size_t *nread)
{
	struct sub_stream *s = (struct sub_stream *)gs;
	int r;

	*nread = 0;
	if (!s->sent && s->ls && s->svc == SERVICE_UPLOAD_PACK &&
	    s->t->advert_kept) {
		s->sent = 1;
		s->replay = 1;
	}
	if (s->replay) {
		/* checked when `list` read it (SHA-256 included) */
		*nread = transport_advert_read(s->t, buffer, size);
		return 0;
	}
	if (!s->sent) {
		s->sent = 1;
		if (!s->ls && ((r = transport_add_wants(s->t,
		    &s->request)) != 0 || (r = add_tip_haves(s)) != 0))
			return stream_fail();
		if (s->ls)
			r = conn_get_refs(s->t->conn, s->svc, &s->http);
		else
			r = conn_post(s->t->conn, s->svc, s->request.ptr, -1,
			    (off_t)s->request.len, &s->http);
		if (r != 0)
			return stream_fail();
	}
	if (http_stream_read(s->http, buffer, size, nread) != 0 ||
	    errwatch_feed(&s->errors, buffer, *nread) != 0)
		return stream_fail();
	if (s->ls && *nread > 0) {
		/* we parse SHA-1 ids only: say so, not "bad pkt" */
		if (memmem(buffer, *nread, "object-format=sha256", 20)) {
			err_set(BBS_E_UNSUPPORTED, "the remote is a SHA-256 "
			    "repository, which is not supported (git-remote-bbs "
			    "handles SHA-1 only)");
			return stream_fail();
		}
	}
	return 0;
}

static int
stream_write(git_smart_subtransport_stream *gs, const char *buffer,
    size_t len)
{
	struct sub_stream *s = (struct sub_stream *)gs;

	if (s->ls || s->sent) {
		git_error_set_str(GIT_ERROR_NET, "unexpected write to an "
		    "HTTP response stream");
		return -1;
	}
	if (buf_add(&s->request, buffer, len) != 0)
		return stream_fail();
	return 0;
}

static void
stream_free(git_smart_subtransport_stream *gs)
{
	struct sub_stream *s = (struct sub_stream *)gs;

	http_stream_free(s->http);
	buf_release(&s->request);
	free(s);
}

static int
sub_action(git_smart_subtransport_stream **out, git_smart_subtransport *gst,
    const char *url, git_smart_service_t action)
{
	struct sub *st = (struct sub *)gst;
	struct sub_stream *s;

	*out = NULL;
	s = xcalloc(1, sizeof(*s));
	s->parent.subtransport = gst;
	s->parent.read = stream_read;
	s->parent.write = stream_write;
	s->parent.free = stream_free;
	s->t = st->t;
	buf_init(&s->request, REQUEST_MAX);
	errwatch_init(&s->errors);
	switch (action) {
	case GIT_SERVICE_UPLOADPACK_LS:
		s->svc = SERVICE_UPLOAD_PACK;
		s->ls = 1;
		break;
	case GIT_SERVICE_UPLOADPACK:
		s->svc = SERVICE_UPLOAD_PACK;
		break;
	case GIT_SERVICE_RECEIVEPACK_LS:
		s->svc = SERVICE_RECEIVE_PACK;
		s->ls = 1;
		break;
	default:
		/* pushes never go through libgit2 (see push.c) */
		free(s);
		git_error_set_str(GIT_ERROR_NET, "unsupported service");
		return -1;
	}
	*out = &s->parent;
	return 0;
}

static int
sub_close(git_smart_subtransport *gst)
{
	return 0;
}

static void
sub_free(git_smart_subtransport *gst)
{
	free(gst);
}

int
subtransport_new(git_smart_subtransport **out, git_transport *owner,
    void *param)
{
	struct sub *st = xcalloc(1, sizeof(*st));

	st->parent.action = sub_action;
	st->parent.close = sub_close;
	st->parent.free = sub_free;
	st->t = param;
	*out = &st->parent;
	return 0;
}
