/* SPDX-License-Identifier: MIT */
/*
 * shallow.c - shallow clones and fetches through libgit2.
 *
 * libgit2 1.7 and later fetch with `deepen <n>` (git_fetch_options.depth),
 * and nothing else of git's shallow family; 1.7.x and 1.8.x lose the
 * shallow roots or break negotiation over HTTP (fixed in 1.9.0), so only a
 * build with 1.9.0 or later offers --depth.  Everything refused fails the
 * fetch itself: git ignores a refusal in the answer to `option depth` and
 * would quietly fetch the whole history.
 *
 * git keeps `shallow` in the common directory; in a linked worktree the
 * helper gets GIT_DIR=.git/worktrees/<id>, where libgit2 reads and writes
 * it instead.  Around a download the file is carried there and back.
 *
 * A download that may change the shallow file (a depth is asked for, or
 * the repository is shallow) keeps a copy to put back when it fails.  So
 * that the copy never undoes another helper's update (git fetch --all
 * --jobs runs one helper per remote), such a download holds an exclusive
 * flock on the common git dir, and every other download a shared one.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "git-internal.h"

/* git's name for each option, for the one line that refuses it */
static const struct {
	const char *option;
	const char *flag;
} shallow_flags[] = {
	{ "depth", "--depth" },
	{ "deepen-relative", "--deepen" },
	{ "update-shallow", "--update-shallow" },
	{ "deepen-since", "--shallow-since" },
	{ "deepen-not", "--shallow-exclude" },
	{ "filter", "--filter" },
	{ "refetch", "--refetch" },
};

static const char *
shallow_flag(const char *name)
{
	size_t i;

	for (i = 0; i < BBS_ARRAY_SIZE(shallow_flags); i++)
		if (strcmp(shallow_flags[i].option, name) == 0)
			return shallow_flags[i].flag;
	return NULL;
}

int
shallow_is_option(const char *name)
{
	return shallow_flag(name) != NULL;
}

/*
 * Refuse a filter.  A `git fetch --filter` refused earlier has left git's
 * remote.<name>.partialclonefilter behind (git writes it before it asks
 * us), and git then asks for the filter on every fetch: say how to undo.
 */
static void
filter_refuse(const struct helper_options *o)
{
	const char *argv[] = { "git", "config", "--get", NULL, NULL };
	char *key = NULL, *name;
	int set = 0;

	fprintf(stderr, "error: bbs: partial clones (--filter) are not "
	    "supported: no libgit2 1.x can fetch them; fetch the full "
	    "history instead\n");
	if (o->remote != NULL) {
		key = xasprintf("remote.%s.partialclonefilter", o->remote);
		argv[3] = key;
		set = run_quiet(argv, NULL, NULL) == 0;
		err_clear();
	}
	if (set) {
		name = text_sanitized(o->remote, strlen(o->remote));
		fprintf(stderr, "hint: this repository asks for a filter on "
		    "every fetch (left by a 'git fetch --filter'); to fetch "
		    "again: git config --unset remote.%s.partialclonefilter "
		    "&& git config --unset remote.%s.promisor\n", name, name);
		free(name);
	}
	free(key);
}

/* Refuse `name` once, in one line on stderr; the fetch then fails. */
static const char *
shallow_refuse(struct helper_options *o, const char *name)
{
	int major = 0, minor = 0, rev = 0;

	if (!o->unsupported_shallow) {
		if (strcmp(name, "deepen-since") == 0 ||
		    strcmp(name, "deepen-not") == 0)
			fprintf(stderr, "error: bbs: %s is not supported: no "
			    "libgit2 1.x can fetch a history cut by date or "
			    "by ref; use --depth\n", shallow_flag(name));
		else if (strcmp(name, "filter") == 0)
			filter_refuse(o);
		else if (strcmp(name, "refetch") == 0)
			fprintf(stderr, "error: bbs: --refetch is not "
			    "supported\n");
		else {
			git_libgit2_version(&major, &minor, &rev);
			fprintf(stderr, "error: bbs: shallow fetches (%s) need "
			    "libgit2 1.9 or later; this git-remote-bbs is "
			    "built with libgit2 %d.%d.%d; fetch the full "
			    "history instead\n", shallow_flag(name), major,
			    minor, rev);
		}
	}
	o->unsupported_shallow = 1;
	return "error not supported";
}

const char *
shallow_option(struct helper_options *o, const char *name, const char *v)
{
	char *end;
	long n;

	if (strcmp(name, "depth") == 0 && strcmp(v, "0") == 0)
		return "ok";
	if ((strcmp(name, "update-shallow") == 0 ||
	    strcmp(name, "deepen-relative") == 0) && strcmp(v, "false") == 0)
		return "ok";
#ifdef HAVE_LIBGIT2_SHALLOW
	if (strcmp(name, "depth") == 0) {
		errno = 0;
		n = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n < 1 ||
		    n > INT_MAX)
			return "error invalid depth";
		o->depth = (int)n;
		return "ok";
	}
	if (strcmp(name, "deepen-relative") == 0 && strcmp(v, "true") == 0) {
		o->deepen_relative = 1;
		return "ok";
	}
	/* libgit2 takes the server's shallow and unshallow lines anyway */
	if (strcmp(name, "update-shallow") == 0 && strcmp(v, "true") == 0)
		return "ok";
#else
	(void)end;
	(void)n;
#endif
	return shallow_refuse(o, name);
}

int
shallow_supported(void)
{
#ifdef HAVE_LIBGIT2_SHALLOW
	return 1;
#else
	return 0;
#endif
}

/* Is the repository a linked worktree (its git dir is not the common one)? */
static int
shallow_linked(struct transport *t, char **common_file, char **own_file)
{
	const char *common = git_repository_commondir(t->repo);
	char *c;
	size_t n;

	*common_file = *own_file = NULL;
	if (common == NULL || t->gitdir == NULL)
		return 0;
	c = xstrdup(common);
	n = strlen(c);
	while (n > 1 && c[n - 1] == '/')
		c[--n] = '\0';
	if (strcmp(c, t->gitdir) == 0) {
		free(c);
		return 0;
	}
	*common_file = xasprintf("%s/shallow", c);
	*own_file = xasprintf("%s/shallow", t->gitdir);
	free(c);
	return 1;
}

/* Copy `from` to `to` (replacing it) through a temporary file. */
static int
shallow_copy(const char *from, const char *to)
{
	char *tmp = xasprintf("%s.bbs-%ld", to, (long)getpid());
	FILE *in, *out;
	char buf[8192];
	size_t n;
	int r = 0;

	if ((in = fopen(from, "r")) == NULL) {
		free(tmp);
		if (errno == ENOENT)
			return unlink(to) == 0 || errno == ENOENT ? 0 :
			    err_set(BBS_E_IO, "cannot remove '%s': %s", to,
			    strerror(errno));
		return err_set(BBS_E_IO, "cannot read '%s': %s", from,
		    strerror(errno));
	}
	if ((out = fopen(tmp, "w")) == NULL) {
		r = err_set(BBS_E_IO, "cannot write '%s': %s", tmp,
		    strerror(errno));
		fclose(in);
		free(tmp);
		return r;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			break;
	if (ferror(in) || ferror(out))
		r = err_set(BBS_E_IO, "cannot copy '%s' to '%s'", from, to);
	fclose(in);
	if (fclose(out) != 0 && r == 0)
		r = err_set(BBS_E_IO, "cannot write '%s': %s", tmp,
		    strerror(errno));
	if (r == 0 && rename(tmp, to) != 0)
		r = err_set(BBS_E_IO, "cannot rename '%s' to '%s': %s", tmp,
		    to, strerror(errno));
	if (r != 0)
		unlink(tmp);
	free(tmp);
	return r;
}

/* The shallow file of the git dir, and where its copy is kept. */
static void
shallow_backup_paths(struct transport *t, char **file, char **backup)
{
	*file = xasprintf("%s/shallow", t->gitdir);
	*backup = xasprintf("%s/shallow.bbs-%ld", t->gitdir, (long)getpid());
}

/* Keep a copy of the shallow file (none when there is none). */
static int
shallow_backup(struct transport *t)
{
	char *file, *backup;
	int r;

	if (t->gitdir == NULL)
		return 0;
	shallow_backup_paths(t, &file, &backup);
	r = shallow_copy(file, backup);
	free(file);
	free(backup);
	return r;
}

/* After a fetch: drop the copy, or (failed) put it back. */
static int
shallow_restore(struct transport *t, int fetched)
{
	char *file, *backup;
	int r = 0;

	if (t->gitdir == NULL)
		return 0;
	shallow_backup_paths(t, &file, &backup);
	if (fetched) {
		if (unlink(backup) != 0 && errno != ENOENT)
			r = err_set(BBS_E_IO, "cannot remove '%s': %s", backup,
			    strerror(errno));
	} else if (access(backup, F_OK) == 0) {
		if (rename(backup, file) != 0)
			r = err_set(BBS_E_IO, "cannot rename '%s' to '%s': %s",
			    backup, file, strerror(errno));
	} else if (unlink(file) != 0 && errno != ENOENT) {
		r = err_set(BBS_E_IO, "cannot remove '%s': %s", file,
		    strerror(errno));
	}
	free(file);
	free(backup);
	return r;
}

/*
 * May this download change the shallow file?  A depth asked for, or a
 * shallow repository (the file in the common dir).
 */
static int
shallow_may_change(struct transport *t)
{
	const char *common = git_repository_commondir(t->repo);
	char *path;
	int yes;

	if (t->opts->depth > 0 || t->opts->deepen_relative)
		return 1;
	if (common == NULL)
		return 0;
	path = xasprintf("%s/shallow", common);
	yes = access(path, F_OK) == 0;
	free(path);
	return yes;
}

/* flock the common git dir (exclusive or shared) into t->shallow_fd. */
static int
shallow_lock(struct transport *t, int exclusive)
{
	const char *common = git_repository_commondir(t->repo);
	int op = exclusive ? LOCK_EX : LOCK_SH, fd, r;

	if (common == NULL)
		return 0;
	if ((fd = open(common, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return err_set(BBS_E_IO, "cannot open '%s': %s", common,
		    strerror(errno));
	if ((r = flock(fd, op | LOCK_NB)) != 0 && errno == EWOULDBLOCK) {
		fprintf(stderr, "git-remote-bbs: waiting for another fetch "
		    "into this repository to finish\n");
		while ((r = flock(fd, op)) != 0 && errno == EINTR)
			;
	}
	if (r != 0) {
		/*
		 * A file system that cannot lock a directory (NFS turns an
		 * exclusive flock into a write lock, which a directory opened
		 * for reading cannot take): go on without, as before.
		 */
		trace_printf("fetch: cannot lock '%s': %s", common,
		    strerror(errno));
		close(fd);
		return 0;
	}
	t->shallow_fd = fd;
	return 0;
}

static void
shallow_unlock(struct transport *t)
{
	if (t->shallow_fd >= 0)
		close(t->shallow_fd);	/* drops the flock */
	t->shallow_fd = -1;
}

int
shallow_enter(struct transport *t)
{
	char *common, *own;
	int r;

	t->shallow_kept = shallow_may_change(t);
	if ((r = shallow_lock(t, t->shallow_kept)) != 0)
		return r;
	if (!t->shallow_kept)
		return 0;
	if (!shallow_linked(t, &common, &own))
		return shallow_backup(t);
	r = shallow_copy(common, own);
	free(common);
	free(own);
	return r;
}

/* After a download that may have changed the shallow file. */
static int
shallow_put_back(struct transport *t, int fetched)
{
	char *common, *own;
	int r = 0;

	if (!shallow_linked(t, &common, &own))
		return shallow_restore(t, fetched);
	if (fetched) {
		/* libgit2 removed the file when nothing is shallow any more */
		if (access(own, F_OK) == 0) {
			if (rename(own, common) != 0)
				r = err_set(BBS_E_IO, "cannot rename '%s' to "
				    "'%s': %s", own, common, strerror(errno));
		} else if (unlink(common) != 0 && errno != ENOENT)
			r = err_set(BBS_E_IO, "cannot remove '%s': %s",
			    common, strerror(errno));
	}
	if (unlink(own) != 0 && errno != ENOENT && r == 0)
		r = err_set(BBS_E_IO, "cannot remove '%s': %s", own,
		    strerror(errno));
	free(common);
	free(own);
	return r;
}

int
shallow_leave(struct transport *t, int fetched)
{
	int r = t->shallow_kept ? shallow_put_back(t, fetched) : 0;

	shallow_unlock(t);
	return r;
}

/* Is there a non-empty shallow file in the git dir (after shallow_enter)? */
static int
shallow_has_roots(struct transport *t)
{
	char *path = xasprintf("%s/shallow", t->gitdir);
	FILE *f = fopen(path, "r");
	int c = EOF;

	free(path);
	if (f != NULL) {
		c = fgetc(f);
		fclose(f);
	}
	return c != EOF;
}

/* Commits on the first-parent line from `hex` to the shallow boundary. */
static int
shallow_line_length(git_repository *repo, const char *hex, long *len)
{
	git_revwalk *walk = NULL;
	git_oid oid;
	int r;

	*len = 0;
	if (oid_from_hex(&oid, hex) < 0 || git_revwalk_new(&walk, repo) < 0)
		goto fail;
	git_revwalk_simplify_first_parent(walk);
	if (git_revwalk_push(walk, &oid) < 0)
		goto fail;
	while ((r = git_revwalk_next(&oid, walk)) == 0)
		if (++*len >= INT_MAX)
			break;
	if (r != 0 && r != GIT_ITEROVER)
		goto fail;
	git_revwalk_free(walk);
	return 0;
fail:
	git_revwalk_free(walk);
	r = err_set(BBS_E_ERROR, "cannot walk the history of %s: %s", hex,
	    git_error_last() ? git_error_last()->message : "unknown error");
	git_error_clear();
	return r;
}

int
shallow_relative_depth(struct transport *t, char **oids, size_t nr,
    int deepen, int *depth)
{
	long len, most = 0;
	size_t i;
	int r;
	git_repository *repo = NULL;

	*depth = 0;
	if (!shallow_has_roots(t))
		return 0;	/* a complete history has nothing to deepen */
	/*
	 * libgit2 reads the shallow file when it opens a repository: a fresh
	 * one sees the file shallow_enter carried and the last download wrote.
	 */
	if (git_repository_open_ext(&repo, t->gitdir,
	    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) < 0) {
		r = err_set(BBS_E_ERROR, "cannot open the repository: %s",
		    git_error_last() ? git_error_last()->message :
		    "unknown error");
		git_error_clear();
		return r;
	}
	for (i = 0; i < nr; i++) {
		if ((r = shallow_line_length(repo, oids[i], &len)) != 0) {
			git_repository_free(repo);
			return r;
		}
		if (len > most)
			most = len;
	}
	git_repository_free(repo);
	*depth = most >= INT_MAX - deepen ? INT_MAX : (int)most + deepen;
	return 0;
}

/* What `git rev-list --quiet` may print, at most (nothing). */
#define CHECK_OUTPUT_MAX ((size_t)64 * 1024)

/*
 * As git checks a deepening fetch: `git rev-list --objects` from the tips,
 * with the shallow file the download wrote (in a linked worktree that is
 * the git dir's copy, not the common one git would read).
 */
int
shallow_check_history(struct transport *t, char **oids, size_t nr)
{
	const char *argv[] = { "git", NULL, "--shallow-file", NULL,
	    "rev-list", "--objects", "--quiet", "--stdin", NULL };
	struct buf in, out;
	size_t i;
	int r = 0;

	if (t->opts->cloning || nr == 0)
		return 0;	/* git checks a clone's objects itself */
	buf_init(&in, (size_t)nr * (OID_HEX_LEN + 1) + 1);
	for (i = 0; i < nr && r == 0; i++)
		r = buf_addf(&in, "%s\n", oids[i]);
	if (r != 0) {
		buf_release(&in);
		return r;
	}
	argv[1] = xasprintf("--git-dir=%s", t->gitdir);
	argv[3] = xasprintf("%s/shallow", t->gitdir);
	buf_init(&out, CHECK_OUTPUT_MAX);
	r = run_quiet(argv, in.ptr, &out);
	free((char *)argv[1]);
	free((char *)argv[3]);
	buf_release(&in);
	buf_release(&out);
	if (r > 0)
		return err_set(BBS_E_PROTOCOL, "the server did not send the "
		    "history of the shallow fetch (objects are missing)");
	return r;
}
