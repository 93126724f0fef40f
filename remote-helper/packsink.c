/* SPDX-License-Identifier: MIT */
/*
 * packsink.c - an object-database backend that only implements
 * `writepack`: the pack libgit2 downloads is streamed into
 * `git index-pack --stdin --fix-thin --keep`.
 *
 * Registered with the highest priority, it is the backend libgit2 asks for
 * a pack writer; every other operation falls through to the normal loose
 * and pack backends.  When a download fails half-way, index-pack is killed
 * and its temporary files are removed, so the repository is left as it was.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2/sys/odb_backend.h>

#include "git-internal.h"

#define PACKSINK_PRIORITY 1000

struct packsink {
	git_odb_backend parent;
	struct transport *t;
	int active;
	struct child child;
	int started;
	int finished;
	char *lockfile;
	int connected;
};

struct packsink_writer {
	git_odb_writepack parent;
	struct packsink *sink;
};

/* Remember index-pack's temporary files before it is killed. */
static void
packsink_remove_tmpfiles(pid_t pid)
{
	char dir[64], fd[PATH_MAX], target[PATH_MAX];
	char *found[16];
	size_t nfound = 0, i;
	struct dirent *de;
	ssize_t n;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && nfound < BBS_ARRAY_SIZE(found)) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(fd, sizeof(fd), "%s/%s", dir, de->d_name);
		n = readlink(fd, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strstr(target, "/objects/pack/tmp_") != NULL &&
		    strstr(target, " (deleted)") == NULL)
			found[nfound++] = xstrdup(target);
	}
	closedir(d);
	kill(pid, SIGKILL);
	for (i = 0; i < nfound; i++) {
		trace_printf("fetch: removing partial pack '%s'", found[i]);
		unlink(found[i]);
		free(found[i]);
	}
}

static void
packsink_abort(struct packsink *s)
{
	if (s->started && !s->finished) {
		if (s->child.pid > 0)
			packsink_remove_tmpfiles(s->child.pid);
		child_kill(&s->child);
		s->finished = 1;
	}
}

static int
packsink_start(struct packsink *s)
{
	const struct helper_options *o = s->t->opts;
	const char *argv[12];
	char keep[64];
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
	if (o->fsck_objects)
		argv[n++] = "--strict";
	argv[n] = NULL;
	if ((r = child_start(&s->child, argv, 1, 1, -1, -1)) != 0)
		return r;
	s->started = 1;
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
		err_set(BBS_E_ERROR, "git index-pack failed (exit code %d)",
		    status);
		git_error_set_str(GIT_ERROR_NET, err_message());
		return -1;
	}
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
packsink_remove(struct packsink *s)
{
	if (s == NULL)
		return;
	packsink_abort(s);
	s->active = 0;
}
