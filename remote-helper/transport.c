/* SPDX-License-Identifier: MIT */
/*
 * transport.c - libgit2: the repository, ref listing and fetch negotiation.
 *
 * libgit2 drives git's smart protocol, but not its network or its indexer:
 *
 *  - HTTP goes through our own smart subtransport (subtransport.c) on
 *    libcurl, so the token, redirects, TLS, proxies and tracing are ours;
 *  - the pack libgit2 downloads is handed, as it streams in, to
 *    `git index-pack` through an object-database backend that implements
 *    only `writepack` (packsink.c).  index-pack resolves deltas on all
 *    cores, keeps the pack with a .keep file until git has updated its refs,
 *    and vouches for connectivity, exactly as for git's own fetch.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/transport.h>

#include "helper.h"
#include "git-internal.h"

/* The largest ref advertisement read (as for a push: push.c). */
#define ADVERT_MAX ((size_t)256 * 1024 * 1024)

static int libgit2_ready;

/* Initialise libgit2 once per process. */
static int
libgit2_start(void)
{
	if (libgit2_ready)
		return 0;
	if (git_libgit2_init() < 0)
		return err_set(BBS_E_ERROR, "cannot initialise libgit2");
	/*
	 * Objects that git itself wrote are trusted as git trusts them;
	 * re-hashing each one read costs a third of the CPU.
	 */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	libgit2_ready = 1;
	return 0;
}

static int
git_fail(const char *what)
{
	const git_error *e = git_error_last();
	const char *raw = e && e->message ? e->message : "unknown error";
	char *msg;
	int r;

	if (err_code() != 0)
		return err_code();
	/* 1.5: "extensions.objectformat"; 1.9: "unknown object format" */
	if (strstr(raw, "objectformat") != NULL ||
	    strstr(raw, "object format") != NULL)
		return err_set(BBS_E_UNSUPPORTED, "SHA-256 repositories are "
		    "not supported (git-remote-bbs handles SHA-1 only)");
	/* libgit2's message may quote the server ("remote error: ...") */
	msg = text_sanitized(raw, strnlen(raw, 1000));
	if (strstr(msg, "unsupported extension") != NULL)
		r = err_set(BBS_E_UNSUPPORTED, "%s: %s", what, msg);
	else
		r = err_set(BBS_E_ERROR, "%s: %s", what, msg);
	free(msg);
	return r;
}

/* Forward the server's progress messages ("remote: ...") to stderr. */
static int
sideband_cb(const char *str, int len, void *payload)
{
	struct transport *t = payload;

	if (len > 0)
		sideband_write(&t->sideband, str, (size_t)len);
	return 0;
}

static int
transport_cb(git_transport **out, git_remote *owner, void *payload)
{
	struct transport *t = payload;

	return git_transport_smart(out, owner, &t->subtransport_def);
}

static void
transport_callbacks(struct transport *t, git_remote_callbacks *cb)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->sideband_progress = sideband_cb;
	cb->transport = transport_cb;
	cb->payload = t;
}

int
transport_new(struct transport **out, struct conn *conn,
    const struct helper_options *opts)
{
	struct transport *t;
	const char *gitdir = getenv("GIT_DIR");
	int r;

	*out = NULL;
	if ((r = libgit2_start()) != 0)
		return r;
	t = xcalloc(1, sizeof(*t));
	t->conn = conn;
	t->opts = opts;
	sideband_init(&t->sideband, 0);
	buf_init(&t->advert, ADVERT_MAX);
	t->subtransport_def.callback = subtransport_new;
	t->subtransport_def.rpc = 1;
	t->subtransport_def.param = t;
	if (gitdir != NULL && *gitdir != '\0') {
		if (git_repository_open_ext(&t->repo, gitdir,
		    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
			r = git_fail("cannot open the repository");
			transport_free(t);
			return r;
		}
		if (git_repository_config_snapshot(&t->config, t->repo) < 0) {
			r = git_fail("cannot read the repository's config");
			transport_free(t);
			return r;
		}
		t->gitdir = xstrdup(git_repository_path(t->repo));
		if (strlen(t->gitdir) > 1 &&
		    t->gitdir[strlen(t->gitdir) - 1] == '/')
			t->gitdir[strlen(t->gitdir) - 1] = '\0';
	} else if (git_config_open_default(&t->config) < 0) {
		git_error_clear();
		t->config = NULL;
	}
	*out = t;
	return 0;
}

void
transport_free(struct transport *t)
{
	if (t == NULL)
		return;
	if (t->remote != NULL) {
		git_remote_disconnect(t->remote);
		git_remote_free(t->remote);
	}
	git_config_free(t->config);
	git_repository_free(t->repo);
	sideband_release(&t->sideband);
	buf_release(&t->advert);
	free(t->gitdir);
	free(t);
}

struct git_config *
transport_config(struct transport *t)
{
	return t->config;
}

/* Connect for fetching (once): one GET of the ref advertisement. */
static int
transport_connect(struct transport *t)
{
	git_remote_create_options ro;
	git_remote_connect_options co;

	if (t->remote != NULL)
		return 0;
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	git_remote_connect_options_init(&co,
	    GIT_REMOTE_CONNECT_OPTIONS_VERSION);
	if (t->repo != NULL) {
		ro.repository = t->repo;
		ro.name = NULL;
		ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
		    GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
		if (git_remote_create_with_opts(&t->remote, t->conn->url->url,
		    &ro) < 0)
			return git_fail("cannot set up the remote");
	} else if (git_remote_create_detached(&t->remote,
	    t->conn->url->url) < 0)
		return git_fail("cannot set up the remote");
	transport_callbacks(t, &co.callbacks);
	co.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
	t->sideband.show = t->opts->progress;
	if (git_remote_connect_ext(t->remote, GIT_DIRECTION_FETCH, &co) < 0) {
		int r = git_fail("cannot read the remote's refs");

		git_remote_free(t->remote);
		t->remote = NULL;
		return r;
	}
	return 0;
}

/* The refs libgit2 read when it connected (for a second `list`). */
static int
remote_ls_refs(struct transport *t, struct ref_list *out)
{
	const git_remote_head **heads;
	char hex[OID_HEX_LEN + 1];
	size_t i, n;

	if (git_remote_ls(&heads, &n, t->remote) < 0)
		return git_fail("cannot list the remote's refs");
	for (i = 0; i < n; i++) {
		if (strcmp(heads[i]->name, "capabilities^{}") == 0)
			continue;
		git_oid_tostr(hex, sizeof(hex), &heads[i]->oid);
		ref_list_add(out, hex, heads[i]->name, strlen(heads[i]->name),
		    heads[i]->symref_target);
	}
	return 0;
}

/*
 * Point the refs named by each "symref=NAME:TARGET" capability at TARGET;
 * as in libgit2, the last capability for a name wins.  TARGET is checked
 * where the list answer is written (proto_list_answer).
 */
static void
advert_symrefs(struct ref_list *refs, const char *caps)
{
	const char *p = caps, *end, *colon;
	size_t i, len, nlen;

	while (*p != '\0') {
		end = strchr(p, ' ');
		len = end ? (size_t)(end - p) : strlen(p);
		if (len > 7 && memcmp(p, "symref=", 7) == 0 &&
		    (colon = memchr(p + 7, ':', len - 7)) != NULL) {
			nlen = (size_t)(colon - (p + 7));
			for (i = 0; i < refs->nr; i++) {
				if (strlen(refs->v[i].name) != nlen ||
				    memcmp(refs->v[i].name, p + 7, nlen) != 0)
					continue;
				free(refs->v[i].symref);
				refs->v[i].symref = xstrndup(colon + 1,
				    len - (size_t)(colon + 1 - p));
			}
		}
		p += len;
		while (*p == ' ')
			p++;
	}
}

/*
 * The refs for `list`, from one GET of the upload-pack advertisement
 * parsed here: libgit2 1.5 moves its whole 64 KiB read buffer for every
 * pkt-line, which costs more than the download for 100,000 refs.  The
 * body is kept for libgit2's connect when a fetch follows.
 */
int
transport_refs(struct transport *t, struct ref_list *out)
{
	struct http_stream *hs = NULL;
	struct push_adv adv = { 0 };
	int r;

	if (t->remote != NULL)
		return remote_ls_refs(t, out);
	buf_reset(&t->advert);
	t->advert_kept = 0;
	t->advert_off = 0;
	if ((r = conn_get_refs(t->conn, SERVICE_UPLOAD_PACK, &hs)) == 0 &&
	    (r = http_stream_read_all(hs, &t->advert)) == 0)
		r = push_adv_parse(&adv, t->advert.ptr ? t->advert.ptr : "",
		    t->advert.len);
	http_stream_free(hs);
	if (r != 0) {
		push_adv_release(&adv);
		buf_release(&t->advert);
		return r;
	}
	advert_symrefs(&adv.refs, adv.caps);
	*out = adv.refs;
	memset(&adv.refs, 0, sizeof(adv.refs));
	push_adv_release(&adv);
	t->advert_kept = 1;
	return 0;
}

size_t
transport_advert_read(struct transport *t, char *buffer, size_t size)
{
	size_t n = t->advert.len - t->advert_off;

	if (n > size)
		n = size;
	if (n > 0)
		memcpy(buffer, t->advert.ptr + t->advert_off, n);
	t->advert_off += n;
	if (n == 0) {
		buf_release(&t->advert);
		t->advert_kept = 0;
		t->advert_off = 0;
	}
	return n;
}

int
transport_has_object(struct transport *t, const char *hex)
{
	git_odb *odb;
	git_oid oid;
	int found;

	if (t->repo == NULL || oid_from_hex(&oid, hex) < 0 ||
	    git_repository_odb(&odb, t->repo) < 0) {
		git_error_clear();
		return 0;
	}
	found = git_odb_exists(odb, &oid);
	git_odb_free(odb);
	return found;
}

/* One download of `names` with `depth` (0: the full history). */
static int
fetch_download(struct transport *t, char **names, char **oids, size_t nr,
    int depth, char **lockfile, int *connected)
{
	git_fetch_options fo;
	git_strarray specs;
	git_odb *odb = NULL;
	struct packsink *sink = NULL;
	size_t i;
	int r = 0;

	*lockfile = NULL;
	*connected = 0;
	if ((r = transport_connect(t)) != 0)
		return r;
	if (git_repository_odb(&odb, t->repo) < 0)
		return git_fail("cannot open the object database");
	if ((r = packsink_add(&sink, odb, t)) != 0)
		goto out;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	specs.strings = names;
	specs.count = nr;
	transport_callbacks(t, &fo.callbacks);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	fo.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
#ifdef HAVE_LIBGIT2_SHALLOW
	fo.depth = depth;
#else
	if (depth != 0) {
		r = err_set(BBS_E_UNSUPPORTED, "shallow fetches need libgit2 "
		    "1.9 or later");
		goto out;
	}
#endif
	t->sideband.show = t->opts->progress;
	if (git_remote_download(t->remote, &specs, &fo) < 0) {
		r = git_fail("fetch failed");
		goto out;
	}
	if ((r = packsink_result(sink, lockfile, connected)) != 0)
		goto out;
	git_odb_refresh(odb);
	for (i = 0; i < nr; i++) {
		if (!transport_has_object(t, oids[i])) {
			r = err_set(BBS_E_PROTOCOL, "the server did not send "
			    "the objects for '%s'", names[i]);
			goto out;
		}
	}
out:
	packsink_remove(sink);
	git_odb_free(odb);
	if (r != 0 && *lockfile != NULL) {
		unlink(*lockfile);
		free(*lockfile);
		*lockfile = NULL;
	}
	return r;
}

/*
 * --deepen N: libgit2 has only absolute depths, so the depth is N more
 * than the longest first-parent line from the wanted tips down to the
 * shallow boundary, with new tips first fetched onto the history we have.
 */
static int
fetch_deepen(struct transport *t, char **names, char **oids, size_t nr,
    size_t missing, char **lockfile, int *connected)
{
	char *first = NULL;
	int r, depth = 0, c = 0;

	if (missing > 0 && (r = fetch_download(t, names, oids, nr, 0, &first,
	    &c)) != 0)
		return r;
	if ((r = shallow_relative_depth(t, oids, nr, t->opts->depth,
	    &depth)) == 0 && depth > 0)
		r = fetch_download(t, names, oids, nr, depth, lockfile,
		    connected);
	if (r == 0 && *lockfile == NULL) {
		*lockfile = first;	/* nothing more came: keep the first */
		*connected = depth == 0 && c;
		first = NULL;
	}
	if (first != NULL) {
		/* git takes one lock per fetch: the second pack's */
		unlink(first);
		free(first);
	}
	return r;
}

int
transport_fetch(struct transport *t, char **names, char **oids, size_t nr,
    char **lockfile, int *connected)
{
	size_t i, missing = 0;
	int r, r2;

	*lockfile = NULL;
	*connected = 0;
	if (t->repo == NULL)
		return err_set(BBS_E_INVALID, "fetch needs a repository "
		    "(GIT_DIR is not set)");
	for (i = 0; i < nr; i++)
		if (!transport_has_object(t, oids[i]))
			missing++;
	/* deepening wants the tips we already have once more */
	if (missing == 0 && t->opts->depth == 0)
		return 0;
	if ((r = shallow_enter(t)) != 0)
		return r;
	if (t->opts->deepen_relative)
		r = fetch_deepen(t, names, oids, nr, missing, lockfile,
		    connected);
	else
		r = fetch_download(t, names, oids, nr, t->opts->depth,
		    lockfile, connected);
	if ((r2 = shallow_leave(t, r == 0)) != 0 && r == 0) {
		r = r2;
		if (*lockfile != NULL) {
			unlink(*lockfile);
			free(*lockfile);
			*lockfile = NULL;
		}
	}
	return r;
}

int
transport_resolve(struct transport *t, const char *spec,
    char hex[OID_HEX_LEN + 1])
{
	git_object *obj = NULL;
	git_oid oid;

	if (t->repo == NULL)
		return err_set(BBS_E_INVALID, "push needs a repository "
		    "(GIT_DIR is not set)");
	if (strlen(spec) == OID_HEX_LEN && oid_from_hex(&oid, spec) == 0) {
		git_oid_tostr(hex, OID_HEX_LEN + 1, &oid);
		return 0;
	}
	if (git_revparse_single(&obj, t->repo, spec) < 0) {
		git_error_clear();
		return err_set(BBS_E_INVALID, "cannot resolve '%s'", spec);
	}
	git_oid_tostr(hex, OID_HEX_LEN + 1, git_object_id(obj));
	git_object_free(obj);
	return 0;
}

int
transport_is_ancestor(struct transport *t, const char *ancestor,
    const char *tip)
{
	git_oid a, b;
	int r;

	if (oid_from_hex(&a, ancestor) < 0 ||
	    oid_from_hex(&b, tip) < 0) {
		git_error_clear();
		return 0;
	}
	if (git_oid_equal(&a, &b))
		return 1;
	r = git_graph_descendant_of(t->repo, &b, &a);
	if (r < 0)
		git_error_clear();
	return r == 1;
}

int
transport_cli_config(struct git_config **out)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	int r;

	*out = NULL;
	if ((r = libgit2_start()) != 0)
		return r;
	if (git_repository_open_ext(&repo, ".", 0, NULL) == 0) {
		if (git_repository_config_snapshot(&cfg, repo) < 0)
			cfg = NULL;
		git_repository_free(repo);
	}
	if (cfg == NULL) {
		git_config *live = NULL;

		if (git_config_open_default(&live) == 0) {
			if (git_config_snapshot(&cfg, live) < 0)
				cfg = NULL;
			git_config_free(live);
		}
	}
	git_error_clear();
	*out = cfg;
	return 0;
}

void
transport_config_free(struct git_config *cfg)
{
	git_config_free(cfg);
}

struct tip {
	git_oid oid;
	git_time_t when;
};

static int
tip_cmp(const void *a, const void *b)
{
	const struct tip *x = a, *y = b;

	return x->when < y->when ? 1 : x->when > y->when ? -1 : 0;
}

int
transport_tip_haves(struct transport *t, struct buf *out)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	git_object *obj;
	struct tip *tips = NULL;
	char hex[OID_HEX_LEN + 1];
	size_t n = 0, cap = 0, i, j;
	int r = 0;

	if (t->repo == NULL || git_reference_iterator_new(&it, t->repo) < 0) {
		git_error_clear();
		return 0;
	}
	while (git_reference_next(&ref, it) == 0) {
		if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				tips = xrealloc(tips, cap * sizeof(*tips));
			}
			git_oid_cpy(&tips[n].oid, git_object_id(obj));
			tips[n].when = git_commit_time((git_commit *)obj);
			n++;
			git_object_free(obj);
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	git_error_clear();
	if (n > 1)
		qsort(tips, n, sizeof(*tips), tip_cmp);
	for (i = 0, j = 0; i < n && j < 256 && r == 0; i++) {
		if (i > 0 && git_oid_equal(&tips[i].oid, &tips[i - 1].oid))
			continue;
		git_oid_tostr(hex, sizeof(hex), &tips[i].oid);
		r = pkt_addf(out, "have %s\n", hex);
		j++;
	}
	free(tips);
	return r;
}
