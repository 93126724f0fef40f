/* SPDX-License-Identifier: MIT */
/*
 * push.c - git-receive-pack over our HTTP layer.
 *
 * libgit2 1.5 builds push packs without delta reuse on one thread (3.8x
 * slower than git on a large push), always sends them chunked, and offers
 * no atomic push, push options or dry run.  So the push side speaks the
 * receive-pack protocol itself and lets `git pack-objects` build the pack,
 * as git's own send-pack does.  Like git's http.postBuffer, a pack of up
 * to 1 MiB is sent whole, with a Content-Length, once it is complete (and
 * a kept-alive connection the server closed meanwhile is replaced, since
 * the body can be replayed); a larger one streams while pack-objects
 * writes it, chunked, on a fresh connection.  A pack cut short never
 * updates a ref: receive-pack refuses an incomplete pack.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"

#define ADV_MAX ((size_t)256 * 1024 * 1024)
/* the commands, push options and the first POST_BUFFER of the pack */
#define BODY_MAX (ADV_MAX + POST_BUFFER)
/* a report: 4 MiB, and 1 KiB more for each ref pushed (at most ADV_MAX) */
#define REPORT_MAX ((size_t)4 * 1024 * 1024)
#define REPORT_PER_REF ((size_t)1024)
#define POST_BUFFER ((size_t)1024 * 1024)	/* git's http.postBuffer */

struct push_state {
	struct conn *conn;
	struct transport *t;
	const struct helper_options *opts;
	int have_adv;
	struct push_adv adv;
};

int
push_state_new(struct push_state **out, struct conn *conn,
    struct transport *t, const struct helper_options *opts)
{
	struct push_state *p = xcalloc(1, sizeof(*p));

	p->conn = conn;
	p->t = t;
	p->opts = opts;
	*out = p;
	return 0;
}

void
push_state_free(struct push_state *p)
{
	if (p == NULL)
		return;
	push_adv_release(&p->adv);
	free(p);
}

void
push_adv_release(struct push_adv *a)
{
	ref_list_release(&a->refs);
	free(a->caps);
	a->caps = NULL;
}

/* Parse one advertised "<oid> <name>[\0caps]" line. */
static int
push_adv_line(struct push_adv *a, const char *line, size_t len)
{
	const char *nul;
	size_t namelen;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len < OID_HEX_LEN + 2 || !oid_hex_ok(line, OID_HEX_LEN) ||
	    line[OID_HEX_LEN] != ' ')
		return err_set(BBS_E_PROTOCOL, "malformed ref advertisement "
		    "from the server");
	nul = memchr(line, '\0', len);
	if (nul != NULL && a->caps == NULL)
		a->caps = xstrndup(nul + 1, len - (size_t)(nul + 1 - line));
	namelen = (nul ? (size_t)(nul - line) : len) - OID_HEX_LEN - 1;
	if (namelen == 0)
		return err_set(BBS_E_PROTOCOL, "malformed ref advertisement "
		    "from the server");
	if ((namelen == 15 && memcmp(line + OID_HEX_LEN + 1,
	    "capabilities^{}", 15) == 0) ||
	    (namelen == 5 && memcmp(line + OID_HEX_LEN + 1, ".have", 5) == 0))
		return 0;
	ref_list_add(&a->refs, line, line + OID_HEX_LEN + 1, namelen, NULL);
	return 0;
}

int
push_adv_parse(struct push_adv *a, const char *body, size_t len)
{
	enum pkt_type type;
	const char *payload, *nul;
	size_t plen, off = 0;
	ssize_t n;
	int r, flushes = 0, first = 1;

	while (flushes < 2) {
		n = pkt_parse(body + off, len - off, &type, &payload, &plen);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return err_set(BBS_E_PROTOCOL, "truncated ref "
			    "advertisement from the server");
		off += (size_t)n;
		if (type == PKT_FLUSH) {
			flushes++;
			continue;
		}
		if (type != PKT_DATA)
			return err_set(BBS_E_PROTOCOL, "unexpected packet in "
			    "the ref advertisement");
		if (plen >= 4 && memcmp(payload, "ERR ", 4) == 0)
			return pkt_remote_error(payload + 4, plen - 4);
		if (first) {
			first = 0;
			if (plen >= 10 && memcmp(payload, "# service=", 10) == 0)
				continue;
			flushes++;	/* no preamble: only one flush follows */
		}
		/* the capabilities come with the first ref, after a NUL */
		if (a->caps == NULL && (nul = memchr(payload, '\0', plen)) &&
		    memmem(nul, plen - (size_t)(nul - payload),
		    "object-format=sha256", 20) != NULL)
			return err_set(BBS_E_UNSUPPORTED, "the remote is a "
			    "SHA-256 repository, which is not supported "
			    "(git-remote-bbs handles SHA-1 only)");
		if ((r = push_adv_line(a, payload, plen)) != 0)
			return r;
	}
	if (a->caps == NULL)
		a->caps = xstrdup("");
	return 0;
}

static int
push_fetch_adv(struct push_state *p)
{
	struct http_stream *hs = NULL;
	struct buf body;
	int r;

	if (p->have_adv)
		return 0;
	buf_init(&body, ADV_MAX);
	if ((r = conn_get_refs(p->conn, SERVICE_RECEIVE_PACK, &hs)) != 0 ||
	    (r = http_stream_read_all(hs, &body)) != 0)
		goto out;
	if ((r = push_adv_parse(&p->adv, body.ptr ? body.ptr : "",
	    body.len)) != 0) {
		push_adv_release(&p->adv);
		goto out;
	}
	p->have_adv = 1;
out:
	http_stream_free(hs);
	buf_release(&body);
	return r;
}

int
push_refs(struct push_state *p, const struct ref_list **out)
{
	int r;

	*out = NULL;
	if ((r = push_fetch_adv(p)) != 0)
		return r;
	*out = &p->adv.refs;
	return 0;
}

static int
has_cap(const char *caps, const char *cap)
{
	size_t n = strlen(cap);
	const char *s = caps;

	while ((s = strstr(s, cap)) != NULL) {
		if ((s == caps || s[-1] == ' ') &&
		    (s[n] == '\0' || s[n] == ' ' || s[n] == '='))
			return 1;
		s += n;
	}
	return 0;
}

/* The advertised refs by name. */
static void
adv_index(struct name_index *ix, const struct ref_list *refs)
{
	size_t i;

	name_index_init(ix, refs->nr);
	for (i = 0; i < refs->nr; i++)
		name_index_add(ix, refs->v[i].name, strlen(refs->v[i].name), i);
	name_index_sort(ix);
}

/* The advertised id of `name`, or NULL. */
static const char *
adv_lookup(struct push_state *p, const struct name_index *ix,
    const char *name)
{
	size_t pos;

	if (!name_index_find(ix, name, strlen(name), &pos))
		return NULL;
	return p->adv.refs.v[pos].hex;
}

static void
ref_error(struct push_ref *r, const char *msg)
{
	if (r->error == NULL)
		r->error = xstrdup(msg);
}

/* The leases git gave with `option cas` ("<ref>:<expected id>"), by ref. */
static void
cas_index(struct name_index *ix, const struct helper_options *o)
{
	const char *colon;
	size_t i;

	name_index_init(ix, o->cas_nr);
	for (i = 0; i < o->cas_nr; i++)
		if ((colon = strchr(o->cas[i], ':')) != NULL)
			name_index_add(ix, o->cas[i],
			    (size_t)(colon - o->cas[i]), i);
	name_index_sort(ix);
}

/* The lease git gave for `dst`, or NULL. */
static const char *
cas_lookup(const struct helper_options *o, const struct name_index *ix,
    const char *dst)
{
	size_t pos, n = strlen(dst);

	if (!name_index_find(ix, dst, n, &pos))
		return NULL;
	return o->cas[pos] + n + 1;
}

/*
 * git's rules for an unforced update of an existing ref, for every ref:
 * git passes the updates it marked "fetch first" or "needs force" on to
 * the helper, whose view of the remote may be newer, to decide.
 */
static void
push_check_update(struct push_state *p, struct push_ref *r)
{
	char old_commit[OID_HEX_LEN + 1], new_commit[OID_HEX_LEN + 1];

	if (strncmp(r->dst, "refs/tags/", 10) == 0)
		ref_error(r, "already exists");
	else if (!transport_has_object(p->t, r->old_hex))
		ref_error(r, "fetch first");
	else if (transport_peel_commit(p->t, r->old_hex, old_commit) != 0 ||
	    transport_peel_commit(p->t, r->new_hex, new_commit) != 0)
		ref_error(r, "needs force");
	else if (!transport_is_ancestor(p->t, old_commit, new_commit))
		ref_error(r, "non-fast forward");
}

/* Work out the old and new ids of one ref and apply local checks. */
static void
push_prepare_ref(struct push_state *p, struct push_ref *r,
    const struct name_index *adv, const struct name_index *cas,
    int can_delete)
{
	const char *old, *lease;

	old = adv_lookup(p, adv, r->dst);
	memcpy(r->old_hex, old ? old : ZERO_OID, OID_HEX_LEN + 1);
	if (strncmp(r->dst, "refs/", 5) != 0) {
		ref_error(r, "destination is not a full ref name");
		return;
	}
	if (r->src == NULL || r->src[0] == '\0') {
		memcpy(r->new_hex, ZERO_OID, OID_HEX_LEN + 1);
		if (!can_delete)
			ref_error(r, "the server does not allow deleting refs");
		return;
	}
	if (transport_resolve(p->t, r->src, r->new_hex) != 0) {
		ref_error(r, err_message());
		err_clear();
		return;
	}
	if ((lease = cas_lookup(p->opts, cas, r->dst)) != NULL) {
		/* --force-with-lease: git already compared; recheck */
		if (strcmp(lease, r->old_hex) != 0 &&
		    !(*lease == '\0' && old == NULL)) {
			ref_error(r, "stale info");
			return;
		}
		r->force = 1;
	}
	if (strcmp(r->old_hex, r->new_hex) == 0) {
		ref_error(r, "up to date");
		return;
	}
	if (!r->force && old != NULL)
		push_check_update(p, r);
}

/* Work out old and new ids for every ref and apply local checks. */
static void
push_prepare(struct push_state *p, struct push_ref *refs, size_t nr,
    int can_delete)
{
	struct name_index adv, cas;
	size_t i;

	adv_index(&adv, &p->adv.refs);
	cas_index(&cas, p->opts);
	for (i = 0; i < nr; i++)
		push_prepare_ref(p, &refs[i], &adv, &cas, can_delete);
	name_index_release(&adv);
	name_index_release(&cas);
}

/*
 * Start git pack-objects for the commands; the pack comes out of c->out.
 * The objects the server advertised and we have are excluded, as git's
 * send-pack does.
 */
static int
push_pack_start(struct push_state *p, struct push_ref *refs, size_t nr,
    int ofs_delta, struct child *c)
{
	const char *argv[12];
	struct buf in;
	size_t i, n = 0;
	int r = 0;

	argv[n++] = "git";
	argv[n++] = "pack-objects";
	argv[n++] = "--all-progress-implied";
	argv[n++] = "--revs";
	argv[n++] = "--stdout";
	argv[n++] = "--thin";
	if (ofs_delta)
		argv[n++] = "--delta-base-offset";
	argv[n++] = p->opts->progress ? "--progress" : "-q";
	argv[n] = NULL;

	buf_init(&in, ADV_MAX);
	for (i = 0; i < nr && r == 0; i++)
		if (refs[i].error == NULL && strcmp(refs[i].new_hex, ZERO_OID))
			r = buf_addf(&in, "%s\n", refs[i].new_hex);
	for (i = 0; i < p->adv.refs.nr && r == 0; i++)
		if (transport_has_object(p->t, p->adv.refs.v[i].hex))
			r = buf_addf(&in, "^%s\n", p->adv.refs.v[i].hex);
	if (r == 0 && (r = child_start(c, argv, 1, 1, -1, -1)) == 0) {
		/* --revs reads all of stdin before it writes anything */
		if (write_fd_all(c->in, in.ptr, in.len) != 0) {
			child_kill(c);
			r = err_set(BBS_E_IO, "git pack-objects failed");
		} else {
			close(c->in);
			c->in = -1;
		}
	}
	buf_release(&in);
	return r;
}

/*
 * Read the pack into `body` until it ends or `limit` bytes have come;
 * 1 if it ended, 0 if there is more.
 */
static int
push_pack_read(struct child *c, struct buf *body, size_t limit, int *ended)
{
	char chunk[65536];
	size_t start = body->len;
	ssize_t n;
	int r;

	*ended = 0;
	while (body->len - start < limit) {
		n = read(c->out, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(BBS_E_IO, "cannot read the pack: %s",
			    strerror(errno));
		if (n == 0) {
			*ended = 1;
			return 0;
		}
		if ((r = buf_add(body, chunk, (size_t)n)) != 0)
			return r;
	}
	return 0;
}

void
push_report_init(struct push_report *rp, int sideband, size_t nrefs)
{
	size_t max = REPORT_MAX;

	if (nrefs > (ADV_MAX - REPORT_MAX) / REPORT_PER_REF)
		max = ADV_MAX;
	else
		max += nrefs * REPORT_PER_REF;
	memset(rp, 0, sizeof(*rp));
	buf_init(&rp->raw, max);
	buf_init(&rp->data, max);
	rp->sideband = sideband;
	/* hook output is shown even with --quiet, as git does */
	sideband_init(&rp->progress, 1);
}

void
push_report_release(struct push_report *rp)
{
	buf_release(&rp->raw);
	buf_release(&rp->data);
	sideband_release(&rp->progress);
	free(rp->unpack_error);
	rp->unpack_error = NULL;
}

/* Demultiplex one packet: band 1 is kept, band 2 shown, band 3 fatal. */
static int
report_packet(struct push_report *rp, enum pkt_type type, const char *pl,
    size_t plen)
{
	if (!rp->sideband) {
		if (type == PKT_FLUSH)
			return buf_add(&rp->data, "0000", 4);
		if (type != PKT_DATA)
			return err_set(BBS_E_PROTOCOL, "unexpected packet in "
			    "the push report");
		return pkt_add(&rp->data, pl, plen);
	}
	if (type != PKT_DATA || plen == 0)
		return 0;
	switch (pl[0]) {
	case 1:
		return buf_add(&rp->data, pl + 1, plen - 1);
	case 2:
		sideband_write(&rp->progress, pl + 1, plen - 1);
		return 0;
	case 3:
		return pkt_remote_error(pl + 1, plen - 1);
	default:
		return err_set(BBS_E_PROTOCOL, "bad side-band packet from "
		    "the server");
	}
}

int
push_report_feed(struct push_report *rp, const char *data, size_t len)
{
	enum pkt_type type;
	const char *pl;
	size_t plen;
	ssize_t n;
	int r;

	if ((r = buf_add(&rp->raw, data, len)) != 0)
		return r;
	for (;;) {
		n = pkt_parse(rp->raw.ptr, rp->raw.len, &type, &pl, &plen);
		if (n <= 0)
			return (int)n;
		r = report_packet(rp, type, pl, plen);
		buf_consume(&rp->raw, (size_t)n);
		if (r != 0)
			return r;
	}
}

/* The pushed refs by destination. */
static void
refs_index(struct name_index *ix, const struct push_ref *refs, size_t nr)
{
	size_t i;

	name_index_init(ix, nr);
	for (i = 0; i < nr; i++)
		name_index_add(ix, refs[i].dst, strlen(refs[i].dst), i);
	name_index_sort(ix);
}

/* A protocol error about `what` in the report, with the text masked. */
static int
report_error(const char *what, const char *text, size_t len)
{
	char *msg = text_sanitized(text, len > 200 ? 200 : len);
	int r;

	r = err_set(BBS_E_PROTOCOL, "protocol error: %s in the push report "
	    "from the server: '%s'", what, msg);
	free(msg);
	return r;
}

/* Apply one "ok <ref>" or "ng <ref> [<reason>]" line. */
static int
report_ref_line(const char *pl, size_t plen, struct push_ref *refs,
    const struct name_index *ix, int *sent)
{
	const char *sp = memchr(pl + 3, ' ', plen - 3);
	struct push_ref *r;
	size_t i;
	char *msg;

	if (!name_index_find(ix, pl + 3, sp ? (size_t)(sp - pl - 3) :
	    plen - 3, &i) || !sent[i])
		return report_error("a status for a ref that was not pushed",
		    pl, plen);
	if (sent[i] == 2)
		return report_error("a second status for one ref", pl, plen);
	sent[i] = 2;
	r = &refs[i];
	if (pl[0] == 'n') {
		msg = sp && sp + 1 < pl + plen ?
		    xstrndup(sp + 1, plen - (size_t)(sp + 1 - pl)) :
		    xstrdup("rejected");
		ref_error(r, msg);
		free(msg);
	}
	return 0;
}

/* Read the report's lines; *unpack_ok is whether the pack went in. */
static int
report_lines(struct push_report *rp, struct push_ref *refs,
    const struct name_index *ix, int *sent, int *unpack_ok)
{
	enum pkt_type type;
	const char *pl;
	size_t plen, off = 0;
	ssize_t n;
	int r;
	const char *data = rp->data.ptr != NULL ? rp->data.ptr : "";

	*unpack_ok = -1;
	for (;;) {
		n = pkt_parse(data + off, rp->data.len - off, &type, &pl,
		    &plen);
		if (n < 0)
			return (int)n;
		if (n == 0 || type == PKT_FLUSH)
			break;
		off += (size_t)n;
		if (type != PKT_DATA)
			return err_set(BBS_E_PROTOCOL, "unexpected packet in "
			    "the push report");
		if (plen > 0 && pl[plen - 1] == '\n')
			plen--;
		if (memchr(pl, '\n', plen) != NULL || memchr(pl, '\0', plen))
			return report_error("a malformed line", pl, plen);
		if (*unpack_ok == -1) {
			if (plen < 7 || memcmp(pl, "unpack ", 7) != 0)
				return report_error("no unpack status first",
				    pl, plen);
			*unpack_ok = plen == 9 && memcmp(pl + 7, "ok", 2) == 0;
			if (!*unpack_ok && rp->unpack_error == NULL)
				rp->unpack_error = text_sanitized(pl + 7,
				    plen - 7 > 1000 ? 1000 : plen - 7);
			continue;
		}
		if (plen < 4 || (memcmp(pl, "ok ", 3) && memcmp(pl, "ng ", 3)))
			return report_error("an unknown line", pl, plen);
		if ((r = report_ref_line(pl, plen, refs, ix, sent)) != 0)
			return r;
	}
	if (*unpack_ok == -1)
		return err_set(BBS_E_PROTOCOL, "the server sent no push report");
	return 0;
}

int
push_report_apply(struct push_report *rp, struct push_ref *refs, size_t nr,
    int *sent)
{
	struct name_index ix;
	size_t i;
	int unpack_ok, r;

	refs_index(&ix, refs, nr);
	r = report_lines(rp, refs, &ix, sent, &unpack_ok);
	name_index_release(&ix);
	if (r != 0)
		return r;
	for (i = 0; i < nr; i++) {
		if (!sent[i])
			continue;
		if (!unpack_ok)
			ref_error(&refs[i], "unpacker error");
		else if (sent[i] != 2)
			ref_error(&refs[i], "no status reported by the server");
	}
	return 0;
}

/*
 * The commands for every ref without an error (the first with our
 * capabilities), then the push options; sent[i] marks the refs sent.
 * *ncmd is the number of commands, *need_pack whether one creates or
 * updates a ref.
 */
static int
push_commands(struct push_state *p, struct push_ref *refs, size_t nr,
    int *sent, struct buf *cmd, size_t *ncmd, int *need_pack)
{
	int sideband = has_cap(p->adv.caps, "side-band-64k"), r;
	size_t i;

	*ncmd = 0;
	*need_pack = 0;
	for (i = 0; i < nr; i++) {
		if (refs[i].error != NULL)
			continue;
		if (*ncmd == 0)
			r = pkt_addf(cmd, "%s %s %s%c%s%s%s%s%s agent=%s/%s",
			    refs[i].old_hex, refs[i].new_hex, refs[i].dst, 0,
			    "report-status",
			    sideband ? " side-band-64k" : "",
			    !p->opts->progress && has_cap(p->adv.caps,
			    "quiet") ? " quiet" : "",
			    p->opts->atomic ? " atomic" : "",
			    p->opts->push_options_nr ? " push-options" : "",
			    PACKAGE_NAME, PACKAGE_VERSION);
		else
			r = pkt_addf(cmd, "%s %s %s", refs[i].old_hex,
			    refs[i].new_hex, refs[i].dst);
		if (r != 0)
			return r;
		sent[i] = 1;
		(*ncmd)++;
		if (strcmp(refs[i].new_hex, ZERO_OID) != 0)
			*need_pack = 1;
	}
	if (*ncmd == 0)
		return 0;
	if ((r = pkt_flush(cmd)) != 0)
		return r;
	if (p->opts->push_options_nr == 0)
		return 0;
	for (i = 0; i < p->opts->push_options_nr; i++)
		if ((r = pkt_addf(cmd, "%s", p->opts->push_options[i])) != 0)
			return r;
	return pkt_flush(cmd);
}

static int
pack_finish(struct child *pack)
{
	int status = child_finish(pack);

	if (status != 0)
		return err_set(BBS_E_ERROR, "git pack-objects failed (exit "
		    "code %d)", status);
	return 0;
}

/*
 * POST the commands in `cmd` and, with `need_pack`, the pack.  As git's
 * http.postBuffer: a pack that fits in POST_BUFFER goes out whole with a
 * Content-Length, only once it is complete (a failed pack-objects sends
 * nothing); a larger one streams, chunked, while pack-objects writes it.
 */
static int
push_post(struct push_state *p, struct push_ref *refs, size_t nr,
    struct buf *cmd, int need_pack, struct http_stream **hs)
{
	struct child pack = { -1, -1, -1 };
	int r, ended = 1;

	if (need_pack) {
		if ((r = push_pack_start(p, refs, nr,
		    has_cap(p->adv.caps, "ofs-delta"), &pack)) != 0 ||
		    (r = push_pack_read(&pack, cmd, POST_BUFFER,
		    &ended)) != 0)
			goto out;
		if (ended && (r = pack_finish(&pack)) != 0)
			goto out;
	}
	trace_printf("push: sending %zu bytes%s", cmd->len,
	    ended ? "" : " and streaming the rest");
	if (ended)
		r = conn_post(p->conn, SERVICE_RECEIVE_PACK, cmd->ptr, -1,
		    (off_t)cmd->len, hs);
	else
		r = conn_post_stream(p->conn, SERVICE_RECEIVE_PACK, cmd->ptr,
		    cmd->len, pack.out, hs);
	/* the whole pack was sent: pack-objects must have succeeded */
	if (r == 0 && !ended)
		r = pack_finish(&pack);
out:
	if (pack.pid > 0)
		child_kill(&pack);
	return r;
}

/* Read the server's answer and apply its report to the refs. */
static int
push_read_report(struct push_state *p, struct http_stream *hs,
    struct push_ref *refs, size_t nr, int *sent)
{
	struct push_report rp;
	char chunk[16384];
	size_t n;
	int r;

	push_report_init(&rp, has_cap(p->adv.caps, "side-band-64k"), nr);
	for (;;) {
		if ((r = http_stream_read(hs, chunk, sizeof(chunk), &n)) != 0)
			goto out;
		if (n == 0)
			break;
		if ((r = push_report_feed(&rp, chunk, n)) != 0)
			goto out;
	}
	r = push_report_apply(&rp, refs, nr, sent);
	/* as git's send-pack shows it; each ref fails "unpacker error" */
	if (rp.unpack_error != NULL)
		fprintf(stderr, "error: remote unpack failed: %s\n",
		    rp.unpack_error);
out:
	push_report_release(&rp);
	return r;
}

static int
push_send(struct push_state *p, struct push_ref *refs, size_t nr, int *sent)
{
	struct http_stream *hs = NULL;
	struct buf cmd;
	size_t ncmd;
	int r, need_pack;

	buf_init(&cmd, BODY_MAX);
	if ((r = push_commands(p, refs, nr, sent, &cmd, &ncmd,
	    &need_pack)) != 0 || ncmd == 0)
		goto out;
	if ((r = push_post(p, refs, nr, &cmd, need_pack, &hs)) != 0)
		goto out;
	r = push_read_report(p, hs, refs, nr, sent);
out:
	http_stream_free(hs);
	buf_release(&cmd);
	return r;
}

int
push_run(struct push_state *p, struct push_ref *refs, size_t nr)
{
	int *sent = NULL, r;
	size_t i, bad = 0;

	if ((r = push_fetch_adv(p)) != 0)
		return r;
	push_prepare(p, refs, nr, has_cap(p->adv.caps, "delete-refs"));
	for (i = 0; i < nr; i++)
		if (refs[i].error != NULL)
			bad++;
	if (p->opts->atomic && !has_cap(p->adv.caps, "atomic")) {
		for (i = 0; i < nr; i++)
			ref_error(&refs[i], "the receiving end does not "
			    "support --atomic push");
		return 0;
	}
	if (p->opts->push_options_nr > 0 &&
	    !has_cap(p->adv.caps, "push-options")) {
		for (i = 0; i < nr; i++)
			ref_error(&refs[i], "the receiving end does not "
			    "support push options");
		return 0;
	}
	if (p->opts->atomic && bad > 0) {
		for (i = 0; i < nr; i++)
			ref_error(&refs[i], "atomic push failed");
		return 0;
	}
	if (p->opts->dry_run)
		return 0;
	sent = xcalloc(nr ? nr : 1, sizeof(*sent));
	r = push_send(p, refs, nr, sent);
	free(sent);
	return r;
}
