/* SPDX-License-Identifier: MIT */
/*
 * git-internal.h - what the libgit2-facing files share.  Included only by
 * files that include git2.h.
 */
#ifndef BBS_GIT_INTERNAL_H
#define BBS_GIT_INTERNAL_H

#include <git2.h>
#include <git2/sys/transport.h>
#ifdef HAVE_GIT2_SYS_ERRORS_H
#include <git2/sys/errors.h>	/* git_error_set_str, from libgit2 1.8 */
#endif

#include "helper.h"

/*
 * Parse the 40-digit SHA-1 `hex` into `out`; 0, or libgit2's error code.
 * libgit2 2.0 names the function git_oid_from_string and gives it the
 * object id type, as 1.7 to 1.9 do in builds with SHA-256.
 */
static inline int
oid_from_hex(git_oid *out, const char *hex)
{
#if defined(HAVE_GIT_OID_FROM_STRING)
	return git_oid_from_string(out, hex, GIT_OID_SHA1);
#elif defined(HAVE_GIT_OID_FROMSTR_TYPE)
	return git_oid_fromstr(out, hex, GIT_OID_SHA1);
#else
	return git_oid_fromstr(out, hex);
#endif
}

struct transport {
	struct conn *conn;
	const struct helper_options *opts;
	git_repository *repo;
	git_config *config;
	git_remote *remote;	/* connected for fetching, or NULL */
	char *gitdir;
	struct sideband sideband;	/* the server's messages */
	struct packsink *sink;	/* owned by the repository's odb */
	git_smart_subtransport_definition subtransport_def;
	/*
	 * The upload-pack advertisement that `list` read, replayed (once)
	 * to libgit2's connect instead of a second GET.
	 */
	struct buf advert;
	size_t advert_off;
	int advert_kept;
	/*
	 * When libgit2 was shown the advertisement cut to the refs a fetch
	 * asked for (advert_cut): those names, sorted, and their index;
	 * else NULL.
	 */
	char **cut_names;
	size_t cut_nr;
	struct name_index cut_index;
	/*
	 * Cut to one ref instead, for a download without depth: the ids of
	 * the other refs asked for, unique and missing here, which the
	 * subtransport adds to each request as "want" lines (libgit2 1.5
	 * spends 70,000 instructions reading each advertised ref).  Such a
	 * connection serves one download.
	 */
	char **extra_wants;
	size_t extra_nr;
	/*
	 * During a download: the lock on the common git dir (shallow.c), or
	 * -1; and whether the shallow file was kept to be put back.
	 */
	int shallow_fd;
	int shallow_kept;
};

/* transport.c */
/* "have" pkt-lines for the local ref tips, newest first (at most 256). */
int transport_tip_haves(struct transport *t, struct buf *out);

/*
 * Copy up to `size` bytes of the kept advertisement into `buffer`; 0 at
 * its end, after which it is released.  Only while t->advert_kept.
 */
size_t transport_advert_read(struct transport *t, char *buffer, size_t size);

/*
 * Add the "want" lines of t->extra_wants to the upload-pack request
 * `req`, after its first line (the one with the capabilities).
 */
int transport_add_wants(struct transport *t, struct buf *req);

/* subtransport.c */
int subtransport_new(git_smart_subtransport **out, git_transport *owner,
    void *param);

/* shallow.c */
/*
 * Around a download: in a linked worktree, carry the common directory's
 * shallow file to the worktree's git dir, where libgit2 reads and writes
 * it, and back after a successful fetch (removed when libgit2 removed it).
 * Elsewhere keep a copy of the shallow file, put back after a failed
 * fetch: libgit2 writes the server's shallow lines once the pack is in,
 * before the helper finds that the objects asked for are missing.
 */
int shallow_enter(struct transport *t);
int shallow_leave(struct transport *t, int fetched);
/*
 * After a shallow download into a repository (not a clone, which git
 * checks): every object reachable from the tips `oids` down to the
 * shallow roots is here, or BBS_E_PROTOCOL.  The server's unshallow lines
 * may lift a root whose history it never sends.
 */
int shallow_check_history(struct transport *t, char **oids, size_t nr);
/*
 * The absolute depth for --deepen `deepen` from the local commits `oids`:
 * 0 when the history is complete (nothing to deepen).
 */
int shallow_relative_depth(struct transport *t, char **oids, size_t nr,
    int deepen, int *depth);

/* packsink.c */
struct packsink;
/* Add the index-pack backend to `odb` for one download. */
int packsink_add(struct packsink **out, git_odb *odb, struct transport *t);
/* After a successful download: the .keep file and connectivity verdict. */
int packsink_result(struct packsink *s, char **lockfile, int *connected);
/*
 * The fetch failed after the pack whose .keep is `keepfile` was indexed:
 * remove that pack (not the .keep), unless it was there before.
 */
void packsink_discard(struct packsink *s, const char *keepfile);
/* Disable the backend (it stays registered, passive, until odb is freed). */
void packsink_remove(struct packsink *s);

#endif
