/* SPDX-License-Identifier: MIT */
/*
 * packsink.c - an object-database backend that only implements
 * `writepack`: the pack libgit2 downloads is streamed into
 * `git index-pack --stdin --fix-thin --keep`.
 *
 * Registered with the highest priority, it is the backend libgit2 asks for
 * a pack writer; every other operation falls through to the normal loose
 * and pack backends.  When a download fails half-way, index-pack is killed
 * and its temporary files are removed; when index-pack fails by itself,
 * its temporary pack is removed; when the fetch fails after a pack was
 * indexed, that pack goes too, unless it was there before: the repository
 * is left as it was.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2/sys/odb_backend.h>

#include "git-internal.h"

#define PACKSINK_PRIORITY 1000
#define PACKSINK_TMP_MAX 4
/* how long index-pack may take to open its temporary pack, in ms */
#define PACKSINK_OPEN_WAIT 5000

struct packsink {
	git_odb_backend parent;
	struct transport *t;
	int active;
	struct child child;
	int started;
	int finished;
	char *lockfile;
	int connected;
	char *tmp[PACKSINK_TMP_MAX];	/* index-pack's temporary files */
	size_t ntmp;
	struct buf packs;	/* "pack-X.pack\n" of those there before */
};

struct packsink_writer {
	git_odb_writepack parent;
	struct packsink *sink;
};

/*
 * Add the temporary files that `pid` (index-pack) holds open to s->tmp.
 * Returns -1 when it holds no descriptor at all (it is gone), else how
 * many of its files are in s->tmp.  Linux (/proc) only: elsewhere -1.
 */
static int
packsink_find_tmpfiles(struct packsink *s, pid_t pid)
{
	char dir[64], fd[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	size_t i;
	ssize_t n;
	int fds = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fds++;
		snprintf(fd, sizeof(fd), "%s/%s", dir, de->d_name);
		n = readlink(fd, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "/objects/pack/tmp_") == NULL ||
		    strstr(target, " (deleted)") != NULL)
			continue;
		for (i = 0; i < s->ntmp; i++)
			if (strcmp(s->tmp[i], target) == 0)
				break;
		if (i == s->ntmp && s->ntmp < PACKSINK_TMP_MAX)
			s->tmp[s->ntmp++] = xstrdup(target);
	}
	closedir(d);
	return fds == 0 ? -1 : (int)s->ntmp;
}

/* Forget the temporary files recorded. */
static void
packsink_forget_tmpfiles(struct packsink *s)
{
	size_t i;

	for (i = 0; i < s->ntmp; i++) {
		free(s->tmp[i]);
		s->tmp[i] = NULL;
	}
	s->ntmp = 0;
}

/* Remove the temporary files recorded (index-pack has stopped). */
static void
packsink_remove_tmpfiles(struct packsink *s)
{
	size_t i;

	for (i = 0; i < s->ntmp; i++)
		if (unlink(s->tmp[i]) == 0)
			trace_printf("fetch: removed partial pack '%s'",
			    s->tmp[i]);
	packsink_forget_tmpfiles(s);
}

static void
packsink_abort(struct packsink *s)
{
	if (s->started && !s->finished) {
		if (s->child.pid > 0) {
			/* what it holds now, index files included */
			packsink_find_tmpfiles(s, s->child.pid);
			kill(s->child.pid, SIGKILL);
		}
		child_kill(&s->child);
		packsink_remove_tmpfiles(s);
		s->finished = 1;
	}
}

/*
 * index-pack opens its temporary pack before it reads anything: wait
 * until it has, so that its name is known even if index-pack then dies
 * by itself on a bad pack (it leaves the file behind).
 */
static void
packsink_wait_tmpfile(struct packsink *s)
{
	struct timespec ts = { 0, 1000 * 1000 };
	int i, r;

	for (i = 0; i < PACKSINK_OPEN_WAIT; i++) {
		if ((r = packsink_find_tmpfiles(s, s->child.pid)) != 0)
			break;
		nanosleep(&ts, NULL);
	}
	if (s->ntmp == 0)
		trace_printf("fetch: index-pack's temporary pack not seen");
}

/* Remember the packs there before this download ("pack-X.pack\n"). */
static void
packsink_list_packs(struct packsink *s)
{
	char *dir = xasprintf("%s/objects/pack", s->t->gitdir);
	struct dirent *de;
	DIR *d;

	buf_reset(&s->packs);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, "pack-", 5) == 0)
				buf_addf(&s->packs, "%s\n", de->d_name);
		closedir(d);
	}
	free(dir);
}

static int
packsink_start(struct packsink *s)
{
	const struct helper_options *o = s->t->opts;
	const char *argv[12];
	char keep[64], *strict = NULL;
	size_t n = 0;
	int r;

	snprintf(keep, sizeof(keep), "--keep=bbs %ld", (long)getpid());
	argv[n++] = "git";
	argv[n++] = "index-pack";
	argv[n++] = "--stdin";
	argv[n++] = "--fix-thin";
	argv[n++] = keep;
	if (o->progress)
		argv[n++] = "-v";
	if (o->check_connectivity)
		argv[n++] = "--check-self-contained-and-connected";
	if (o->fsck_objects) {
		/* fetch.fsck.*, as git's fetch-pack passes them */
		if (o->fsck == NULL)
			argv[n++] = "--strict";
		else if ((r = fsck_types_option(o->fsck, &strict)) != 0)
			return r;
		else
			argv[n++] = strict;
	}
	argv[n] = NULL;
	packsink_list_packs(s);
	r = child_start(&s->child, argv, 1, 1, -1, -1);
	free(strict);
	if (r != 0)
		return r;
	s->started = 1;
	packsink_wait_tmpfile(s);
	trace_printf("fetch: streaming the pack into git index-pack");
	return 0;
}

static int
writer_append(git_odb_writepack *w, const void *data, size_t size,
    git_indexer_progress *stats)
{
	struct packsink *s = ((struct packsink_writer *)w)->sink;
	int r;

	if (!s->started && (r = packsink_start(s)) != 0) {
		git_error_set_str(GIT_ERROR_NET, err_message());
		return -1;
	}
	if (write_fd_all(s->child.in, data, size) != 0) {
		err_set(BBS_E_IO, "git index-pack stopped reading the pack: %s",
		    strerror(errno));
		git_error_set_str(GIT_ERROR_NET, err_message());
		return -1;
	}
	stats->received_bytes += size;
	return 0;
}

static int
writer_commit(git_odb_writepack *w, git_indexer_progress *stats)
{
	struct packsink *s = ((struct packsink_writer *)w)->sink;
	char out[512], *p;
	size_t len = 0;
	ssize_t n;
	int status;

	if (!s->started)
		return 0;
	close(s->child.in);
	s->child.in = -1;
	while (len < sizeof(out) - 1) {
		n = read(s->child.out, out + len, sizeof(out) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	status = child_finish(&s->child);
	s->finished = 1;
	if (status != 0 && !(status == 1 && s->t->opts->check_connectivity)) {
		/* it leaves its temporary pack behind */
		packsink_remove_tmpfiles(s);
		err_set(BBS_E_ERROR, "git index-pack failed (exit code %d)",
		    status);
		git_error_set_str(GIT_ERROR_NET, err_message());
		return -1;
	}
	packsink_forget_tmpfiles(s);	/* renamed into the pack */
	/* with --check-self-contained-and-connected, 0 vouches for it */
	s->connected = status == 0 && s->t->opts->check_connectivity;
	if (strncmp(out, "keep\t", 5) == 0) {
		p = out + 5;
		p[strcspn(p, "\n")] = '\0';
		s->lockfile = xasprintf("%s/objects/pack/pack-%s.keep",
		    s->t->gitdir, p);
	}
	return 0;
}

static void
writer_free(git_odb_writepack *w)
{
	struct packsink_writer *pw = (struct packsink_writer *)w;

	packsink_abort(pw->sink);
	free(pw);
}

static int
sink_writepack(git_odb_writepack **out, git_odb_backend *b, git_odb *odb,
    git_indexer_progress_cb cb, void *payload)
{
	struct packsink *s = (struct packsink *)b;
	struct packsink_writer *w;

	if (!s->active)
		return GIT_PASSTHROUGH;
	w = xcalloc(1, sizeof(*w));
	w->parent.backend = b;
	w->parent.append = writer_append;
	w->parent.commit = writer_commit;
	w->parent.free = writer_free;
	w->sink = s;
	*out = &w->parent;
	return 0;
}

static void
sink_free(git_odb_backend *b)
{
	struct packsink *s = (struct packsink *)b;

	packsink_abort(s);
	packsink_forget_tmpfiles(s);
	buf_release(&s->packs);
	free(s->lockfile);
	free(s);
}

int
packsink_add(struct packsink **out, git_odb *odb, struct transport *t)
{
	struct packsink *s = t->sink;

	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		git_odb_init_backend(&s->parent, GIT_ODB_BACKEND_VERSION);
		s->parent.writepack = sink_writepack;
		s->parent.free = sink_free;
		s->t = t;
		buf_init(&s->packs, (size_t)64 * 1024 * 1024);
		if (git_odb_add_backend(odb, &s->parent, PACKSINK_PRIORITY) < 0) {
			free(s);
			return err_set(BBS_E_ERROR, "cannot set up the pack "
			    "writer: %s", git_error_last() ?
			    git_error_last()->message : "unknown error");
		}
		t->sink = s;
	}
	s->active = 1;
	s->started = s->finished = 0;
	s->connected = 0;
	packsink_forget_tmpfiles(s);
	free(s->lockfile);
	s->lockfile = NULL;
	s->child.pid = -1;
	s->child.in = s->child.out = -1;
	*out = s;
	return 0;
}

int
packsink_result(struct packsink *s, char **lockfile, int *connected)
{
	*lockfile = s->lockfile;
	s->lockfile = NULL;
	*connected = s->connected;
	return 0;
}

void
packsink_discard(struct packsink *s, const char *keepfile)
{
	static const char *const ext[] = { ".pack", ".idx", ".rev",
		".promisor", ".mtimes", ".bitmap" };
	const char *base = strrchr(keepfile, '/');
	size_t len = strlen(keepfile), i;
	char *name, *path;

	if (base == NULL || len < 5 || strcmp(keepfile + len - 5, ".keep") != 0)
		return;
	base++;
	name = xasprintf("%.*s.pack\n", (int)(strlen(base) - 5), base);
	if (s->packs.ptr != NULL && strstr(s->packs.ptr, name) != NULL) {
		/* the same pack was there before: it is not ours to remove */
		free(name);
		return;
	}
	free(name);
	for (i = 0; i < BBS_ARRAY_SIZE(ext); i++) {
		path = xasprintf("%.*s%s", (int)(len - 5), keepfile, ext[i]);
		if (unlink(path) == 0)
			trace_printf("fetch: removed '%s'", path);
		free(path);
	}
}

void
packsink_remove(struct packsink *s)
{
	if (s == NULL)
		return;
	packsink_abort(s);
	s->active = 0;
}
