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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/refdb_backend.h>
#include <git2/sys/repository.h>
#include <git2/sys/transport.h>

#include "helper.h"
#include "git-internal.h"

/* The largest ref advertisement read (as for a push: push.c). */
#define ADVERT_MAX ((size_t)256 * 1024 * 1024)

static int libgit2_ready;

/*
 * Empty libgit2's own CA store.  The helper never uses libgit2's TLS
 * streams (HTTP goes through libcurl), yet git_libgit2_init has its
 * mbedTLS stream parse the system's whole CA bundle: 0.6 MiB on Debian
 * 12, more on Debian 13.  Freed here, before libcurl initialises
 * OpenSSL, that heap is reused instead of added to the peak.  An empty
 * directory is the one location both libgit2 1.5 and 1.9 accept as an
 * empty store; a failure only keeps the bundle.
 */
static void
libgit2_drop_ca_store(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	int n;

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	n = snprintf(dir, sizeof(dir), "%s/bbs-ca-XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(dir) || mkdtemp(dir) == NULL)
		return;
	if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, NULL, dir) < 0)
		git_error_clear();
	(void)rmdir(dir);
}

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
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)256 * 1024);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)1024 * 1024);
	libgit2_drop_ca_store();
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
	t->shallow_fd = -1;
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

static void
strings_free(char **v, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		free(v[i]);
	free(v);
}

/* Forget libgit2's connection, and what its advertisement was cut to. */
static void
transport_disconnect(struct transport *t)
{
	if (t->remote != NULL) {
		git_remote_disconnect(t->remote);
		git_remote_free(t->remote);
		t->remote = NULL;
	}
	name_index_release(&t->cut_index);
	strings_free(t->cut_names, t->cut_nr);
	t->cut_names = NULL;
	t->cut_nr = 0;
	strings_free(t->extra_wants, t->extra_nr);
	t->extra_wants = NULL;
	t->extra_nr = 0;
}

void
transport_free(struct transport *t)
{
	if (t == NULL)
		return;
	transport_disconnect(t);
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

		transport_disconnect(t);
		return r;
	}
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, unique copies of the `nr` strings of `v`, in *out; the count. */
static size_t
sorted_unique(char **v, size_t nr, char ***out)
{
	char **sorted = xcalloc(nr ? nr : 1, sizeof(*sorted));
	size_t i, n = 0;

	memcpy(sorted, v, nr * sizeof(*sorted));
	qsort(sorted, nr, sizeof(*sorted), name_cmp);
	for (i = 0; i < nr; i++)
		if (n == 0 || strcmp(sorted[n - 1], sorted[i]) != 0)
			sorted[n++] = sorted[i];
	for (i = 0; i < n; i++)
		sorted[i] = xstrdup(sorted[i]);
	*out = sorted;
	return n;
}

/*
 * For a download without depth: show libgit2 one ref whose object is
 * missing, and want the others' ids through the subtransport.  0 when
 * set up; 1 when no object is missing.
 */
static int
one_ref_wants(struct transport *t, char **names, char **oids, size_t nr,
    char ***shown, size_t *nshown)
{
	char **ids;
	size_t i, first, n, m = 0;

	for (first = 0; first < nr; first++)
		if (!transport_has_object(t, oids[first]))
			break;
	if (first == nr)
		return 1;
	n = sorted_unique(oids, nr, &ids);
	for (i = 0; i < n; i++) {
		if (strcmp(ids[i], oids[first]) == 0 ||
		    transport_has_object(t, ids[i])) {
			free(ids[i]);
			continue;
		}
		ids[m++] = ids[i];
	}
	t->extra_wants = ids;
	t->extra_nr = m;
	*nshown = sorted_unique(names + first, 1, shown);
	return 0;
}

/*
 * Connect for a fetch of `names`.  When `list` has just read the
 * advertisement, libgit2 is shown it cut (advert.c): to one ref when
 * `one_ref`, with the others wanted through the subtransport, else to
 * those names.  A connection cut to other names is made again, uncut
 * (one with other wants ends with its download: fetch_download).
 */
static int
fetch_connect(struct transport *t, char **names, char **oids, size_t nr,
    int one_ref)
{
	struct buf cut;
	char **sorted;
	size_t i, n = 0, kept = 0;

	if (t->remote != NULL && t->cut_names != NULL) {
		for (i = 0; i < nr; i++)
			if (!name_index_find(&t->cut_index, names[i],
			    strlen(names[i]), NULL))
				break;
		if (i < nr)
			transport_disconnect(t);
	}
	if (t->remote != NULL || !t->advert_kept || t->advert_off != 0 ||
	    nr == 0)
		return transport_connect(t);
	if (!one_ref || one_ref_wants(t, names, oids, nr, &sorted, &n) != 0)
		n = sorted_unique(names, nr, &sorted);
	buf_init(&cut, ADVERT_MAX);
	name_index_strings(&t->cut_index, sorted, n);
	if (advert_cut(&cut, t->advert.ptr, t->advert.len, &t->cut_index,
	    &kept) == 0 && kept > 0) {
		buf_release(&t->advert);
		t->advert = cut;
		t->cut_names = sorted;
		t->cut_nr = n;
	} else {
		err_clear();	/* libgit2 gets it whole, as before */
		buf_release(&cut);
		name_index_release(&t->cut_index);
		strings_free(sorted, n);
		strings_free(t->extra_wants, t->extra_nr);
		t->extra_wants = NULL;
		t->extra_nr = 0;
	}
	return transport_connect(t);
}

int
transport_add_wants(struct transport *t, struct buf *req)
{
	struct buf out;
	enum pkt_type type;
	const char *payload;
	size_t plen, i;
	ssize_t n;
	int r = 0;

	if (t->extra_nr == 0)
		return 0;
	n = pkt_parse(req->ptr ? req->ptr : "", req->len, &type, &payload,
	    &plen);
	if (n <= 0 || type != PKT_DATA || plen < 5 ||
	    memcmp(payload, "want ", 5) != 0)
		return err_set(BBS_E_ERROR, "unexpected upload-pack request "
		    "from libgit2");
	buf_init(&out, req->max);
	buf_add(&out, req->ptr, (size_t)n);
	for (i = 0; i < t->extra_nr && r == 0; i++)
		r = pkt_addf(&out, "want %s\n", t->extra_wants[i]);
	if (r == 0 && (r = buf_add(&out, req->ptr + n, req->len -
	    (size_t)n)) == 0) {
		buf_release(req);
		*req = out;
		return 0;
	}
	buf_release(&out);
	return r;
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
 * where the list answer is written (proto_list_answer).  A ref that is
 * its own target ("symref=HEAD:HEAD") names no branch, and git would
 * chase it: it is listed as the plain ref the server gave.
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
			if (len - (size_t)(colon + 1 - p) == nlen &&
			    memcmp(colon + 1, p + 7, nlen) == 0) {
				trace_printf("list: the server's symref %.*s "
				    "points to itself; listed as a plain ref",
				    (int)nlen, p + 7);
				nlen = (size_t)-1;	/* matches no ref */
			}
			for (i = 0; i < refs->nr && nlen != (size_t)-1; i++) {
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

	if (t->remote != NULL && t->cut_names == NULL)
		return remote_ls_refs(t, out);
	transport_disconnect(t);	/* libgit2 saw only some refs */
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

/*
 * During the download libgit2 sees a ref database without refs.  Its
 * negotiation would otherwise push every local ref into a walk here, in
 * the helper: after a large clone that maps most of the pack index and
 * the commits.  The haves are the local tips, which add_tip_haves
 * (subtransport.c) puts into the final request from transport_tip_haves.
 */
struct norefs_iter {
	git_reference_iterator parent;
};

static int
norefs_next(git_reference **ref, git_reference_iterator *it)
{
	*ref = NULL;
	return GIT_ITEROVER;
}

static int
norefs_next_name(const char **name, git_reference_iterator *it)
{
	*name = NULL;
	return GIT_ITEROVER;
}

static void
norefs_iter_free(git_reference_iterator *it)
{
	free(it);
}

static int
norefs_exists(int *exists, git_refdb_backend *b, const char *name)
{
	*exists = 0;
	return 0;
}

static int
norefs_lookup(git_reference **out, git_refdb_backend *b, const char *name)
{
	*out = NULL;
	git_error_set_str(GIT_ERROR_REFERENCE, "no refs during the download");
	return GIT_ENOTFOUND;
}

static int
norefs_iterator(git_reference_iterator **out, git_refdb_backend *b,
    const char *glob)
{
	struct norefs_iter *it = xcalloc(1, sizeof(*it));

	it->parent.next = norefs_next;
	it->parent.next_name = norefs_next_name;
	it->parent.free = norefs_iter_free;
	*out = &it->parent;
	return 0;
}

static int
norefs_refuse(void)
{
	git_error_set_str(GIT_ERROR_REFERENCE, "refs cannot change during "
	    "the download");
	return -1;
}

static int
norefs_write(git_refdb_backend *b, const git_reference *ref, int force,
    const git_signature *who, const char *message, const git_oid *old,
    const char *old_target)
{
	return norefs_refuse();
}

static int
norefs_rename(git_reference **out, git_refdb_backend *b,
    const char *old_name, const char *new_name, int force,
    const git_signature *who, const char *message)
{
	*out = NULL;
	return norefs_refuse();
}

static int
norefs_del(git_refdb_backend *b, const char *name, const git_oid *old_id,
    const char *old_target)
{
	return norefs_refuse();
}

static int
norefs_has_log(git_refdb_backend *b, const char *name)
{
	return 0;
}

static int
norefs_ensure_log(git_refdb_backend *b, const char *name)
{
	return 0;
}

static void
norefs_free(git_refdb_backend *b)
{
	free(b);
}

static int
norefs_reflog_read(git_reflog **out, git_refdb_backend *b, const char *name)
{
	*out = NULL;
	return norefs_refuse();
}

static int
norefs_reflog_write(git_refdb_backend *b, git_reflog *reflog)
{
	return norefs_refuse();
}

static int
norefs_reflog_rename(git_refdb_backend *b, const char *old_name,
    const char *new_name)
{
	return norefs_refuse();
}

static int
norefs_reflog_delete(git_refdb_backend *b, const char *name)
{
	return norefs_refuse();
}

static git_refdb_backend *
norefs_backend(void)
{
	git_refdb_backend *b = xcalloc(1, sizeof(*b));

	git_refdb_init_backend(b, GIT_REFDB_BACKEND_VERSION);
	b->exists = norefs_exists;
	b->lookup = norefs_lookup;
	b->iterator = norefs_iterator;
	b->write = norefs_write;
	b->rename = norefs_rename;
	b->del = norefs_del;
	b->has_log = norefs_has_log;
	b->ensure_log = norefs_ensure_log;
	b->free = norefs_free;
	b->reflog_read = norefs_reflog_read;
	b->reflog_write = norefs_reflog_write;
	b->reflog_rename = norefs_reflog_rename;
	b->reflog_delete = norefs_reflog_delete;
	return b;
}

/* Give the repository a ref database without refs; *saved: its own. */
static int
refs_hide(struct transport *t, git_refdb **saved)
{
	git_refdb *empty = NULL;
	git_refdb_backend *b;

	*saved = NULL;
	if (git_repository_refdb(saved, t->repo) < 0 ||
	    git_refdb_new(&empty, t->repo) < 0)
		goto fail;
	b = norefs_backend();
	if (git_refdb_set_backend(empty, b) < 0) {
		b->free(b);
		goto fail;
	}
	if (git_repository_set_refdb(t->repo, empty) < 0)
		goto fail;
	git_refdb_free(empty);
	return 0;
fail:
	git_refdb_free(empty);
	git_refdb_free(*saved);
	*saved = NULL;
	return git_fail("cannot set up the download");
}

/* Give the repository its own ref database back. */
static void
refs_restore(struct transport *t, git_refdb *saved)
{
	if (saved == NULL)
		return;
	git_repository_set_refdb(t->repo, saved);
	git_refdb_free(saved);
}

/* One download of `names` with `depth` (0: the full history). */
static int
fetch_download(struct transport *t, char **names, char **oids, size_t nr,
    int depth, char **lockfile, int *connected)
{
	static char every_ref[] = "refs/*:refs/*";
	git_fetch_options fo;
	git_strarray specs;
	char **specv = NULL;
	git_odb *odb = NULL;
	git_refdb *saved = NULL;
	struct packsink *sink = NULL;
	size_t i;
	int r = 0, r2;

	*lockfile = NULL;
	*connected = 0;
	if ((r = fetch_connect(t, names, oids, nr, depth == 0 &&
	    !t->opts->deepen_relative)) != 0)
		return r;
	if (git_repository_odb(&odb, t->repo) < 0)
		return git_fail("cannot open the object database");
	if ((r = packsink_add(&sink, odb, t)) != 0)
		goto out;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	specs.strings = names;
	specs.count = nr;
	if (t->extra_wants != NULL) {
		/* libgit2 sees one ref, the others are wanted for it */
		specv = xcalloc(1, sizeof(*specv));
		specv[0] = strncmp(t->cut_names[0], "refs/", 5) == 0 ?
		    every_ref : t->cut_names[0];
		specs.count = 1;
		specs.strings = specv;
	} else if (t->cut_names != NULL) {
		/* libgit2 sees only these refs: one pattern takes them all */
		specv = xcalloc(nr + 1, sizeof(*specv));
		specv[0] = every_ref;
		specs.count = 1;
		for (i = 0; i < nr; i++)
			if (strncmp(names[i], "refs/", 5) != 0)
				specv[specs.count++] = names[i];	/* HEAD */
		specs.strings = specv;
	}
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
	if ((r = refs_hide(t, &saved)) != 0)
		goto out;
	if (git_remote_download(t->remote, &specs, &fo) < 0)
		r = git_fail("fetch failed");
	refs_restore(t, saved);
	/* also when libgit2 failed after the pack (writing .git/shallow) */
	if ((r2 = packsink_result(sink, lockfile, connected)) != 0 && r == 0)
		r = r2;
	if (r != 0)
		goto out;
	git_odb_refresh(odb);
	for (i = 0; i < nr; i++) {
		if (!transport_has_object(t, oids[i])) {
			r = err_set(BBS_E_PROTOCOL, "the server did not send "
			    "the objects for '%s'", names[i]);
			goto out;
		}
	}
	if (depth > 0 && (r = shallow_check_history(t, oids, nr)) != 0)
		goto out;
out:
	free(specv);
	if (t->extra_wants != NULL)
		transport_disconnect(t);	/* it served its download */
	if (r != 0 && *lockfile != NULL && sink != NULL)
		packsink_discard(sink, *lockfile);
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

/*
 * The commit `hex` names, peeling tags, into `out`: 0, or -1 when it names
 * no object we have or one that is not a commit (as git's
 * lookup_commit_reference_gently).
 */
int
transport_peel_commit(struct transport *t, const char *hex,
    char out[OID_HEX_LEN + 1])
{
	git_object *obj = NULL, *commit = NULL;
	git_oid oid;
	int r = -1;

	if (t->repo == NULL || oid_from_hex(&oid, hex) < 0 ||
	    git_object_lookup(&obj, t->repo, &oid, GIT_OBJECT_ANY) < 0 ||
	    git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		git_error_clear();
		goto out;
	}
	git_oid_tostr(out, OID_HEX_LEN + 1, git_object_id(commit));
	r = 0;
out:
	git_object_free(commit);
	git_object_free(obj);
	return r;
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

/* The output of `git for-each-ref` read for the haves, at most. */
#define TIPS_MAX ((size_t)256 * 1024 * 1024)
/* Haves sent from the local ref tips, as git's fetch-pack starts with. */
#define TIP_HAVES_MAX 256

/*
 * The commit a line "<oid> <type> <peeled oid> <peeled type>" of
 * for-each-ref names (a commit, or a tag of one), copied to `hex`; 0 if
 * none.
 */
static int
tip_line_commit(const char *line, char *hex)
{
	const char *f[4];
	size_t len[4];
	int i;

	for (i = 0; i < 4; i++) {
		f[i] = line;
		line += strcspn(line, " ");
		len[i] = (size_t)(line - f[i]);
		if (*line == ' ')
			line++;
	}
	if (len[1] == 6 && memcmp(f[1], "commit", 6) == 0 &&
	    oid_hex_ok(f[0], len[0])) {
		memcpy(hex, f[0], OID_HEX_LEN);
	} else if (len[3] == 6 && memcmp(f[3], "commit", 6) == 0 &&
	    oid_hex_ok(f[2], len[2])) {
		memcpy(hex, f[2], OID_HEX_LEN);
	} else {
		return 0;
	}
	hex[OID_HEX_LEN] = '\0';
	return 1;
}

/*
 * The local ref tips, newest first, are listed by `git for-each-ref` in
 * a process of its own: reading them here would map most of a large
 * pack's index and its commits into the helper (5 MiB after a clone of
 * 122,000 objects), on top of libgit2, libcurl and OpenSSL.
 */
int
transport_tip_haves(struct transport *t, struct buf *out)
{
	const char *argv[] = { "git", NULL, "for-each-ref",
	    "--sort=-creatordate",
	    "--format=%(objectname) %(objecttype) %(*objectname) "
	    "%(*objecttype)", NULL };
	char hex[OID_HEX_LEN + 1], last[OID_HEX_LEN + 1] = "";
	char *gitdir_arg, *line, *nl;
	struct buf list;
	size_t n = 0;
	int r;

	if (t->gitdir == NULL)
		return 0;
	gitdir_arg = xasprintf("--git-dir=%s", t->gitdir);
	argv[1] = gitdir_arg;
	buf_init(&list, TIPS_MAX);
	r = run_quiet(argv, NULL, &list);
	free(gitdir_arg);
	if (r != 0) {
		buf_release(&list);
		return err_set(r < 0 ? r : BBS_E_ERROR, "cannot list the "
		    "local refs (git for-each-ref failed)");
	}
	for (line = list.ptr; line != NULL && *line != '\0' &&
	    n < TIP_HAVES_MAX && r == 0; line = nl ? nl + 1 : NULL) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (!tip_line_commit(line, hex) || strcmp(hex, last) == 0)
			continue;
		memcpy(last, hex, sizeof(last));
		r = pkt_addf(out, "have %s\n", hex);
		n++;
	}
	buf_release(&list);
	return r;
}
