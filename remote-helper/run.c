/* SPDX-License-Identifier: MIT */
/*
 * run.c - child processes (git index-pack, git pack-objects, git
 * credential, the browser).
 *
 * Children inherit our environment, from which every secret has already
 * been removed (config_load), and never receive one in argv.  They get
 * nothing else of ours: descriptors above 2 are closed in the child
 * (libcurl's kept-alive connections and its wake-up socketpair among
 * them), signal dispositions are the defaults (we ignore SIGPIPE) and
 * the signal mask is empty.  Every child is started here, with
 * posix_spawn, so no fork runs in a process that holds libcurl state.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

extern char **environ;

#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
#define HAVE_SPAWN_CLOSEFROM 1
#endif
#endif

#ifndef HAVE_SPAWN_CLOSEFROM
/*
 * Without a spawn action that closes descriptors, mark every descriptor
 * above 2 close-on-exec in this process: none of ours is meant to
 * survive an exec.
 */
static void
cloexec_all(void)
{
	long max = sysconf(_SC_OPEN_MAX), fd;
	int fl;

	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		if ((fl = fcntl((int)fd, F_GETFD)) >= 0 &&
		    !(fl & FD_CLOEXEC))
			fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
}
#endif

/* Whether environment entry `e` is named by `edit` ("N" or "N=v"). */
static int
env_names(const char *e, const char *edit)
{
	size_t n = strcspn(edit, "=");

	return strncmp(e, edit, n) == 0 && e[n] == '=';
}

/* environ with the edits of `env` applied (free the array only). */
static char **
env_build(const char *const *env)
{
	size_t n = 0, m = 0, i, j, k = 0;
	char **out;

	while (environ[n] != NULL)
		n++;
	while (env[m] != NULL)
		m++;
	out = xcalloc(n + m + 1, sizeof(*out));
	for (i = 0; i < n; i++) {
		for (j = 0; j < m && !env_names(environ[i], env[j]); j++)
			;
		if (j == m)
			out[k++] = environ[i];
	}
	for (j = 0; j < m; j++)
		if (strchr(env[j], '=') != NULL)
			out[k++] = (char *)env[j];
	out[k] = NULL;
	return out;
}

/* Descriptor `target` of the child: `fd` if > 0, else /dev/null. */
static int
fa_fd(posix_spawn_file_actions_t *fa, int target, int fd, int oflag)
{
	if (fd > 0)
		return posix_spawn_file_actions_adddup2(fa, fd, target);
	return posix_spawn_file_actions_addopen(fa, target, "/dev/null",
	    oflag, 0);
}

static int
fa_build(posix_spawn_file_actions_t *fa, const struct child_opts *o,
    const int in[2], const int out[2])
{
	int r;

	if ((r = fa_fd(fa, 0, o->pipe_in ? in[0] : o->stdin_fd,
	    O_RDONLY)) != 0 ||
	    (r = fa_fd(fa, 1, o->pipe_out ? out[1] : o->stdout_fd,
	    O_WRONLY)) != 0)
		return r;
	if ((o->stderr_null || o->stderr_fd > 0) &&
	    (r = fa_fd(fa, 2, o->stderr_null ? -1 : o->stderr_fd,
	    O_WRONLY)) != 0)
		return r;
#ifdef HAVE_SPAWN_CLOSEFROM
	r = posix_spawn_file_actions_addclosefrom_np(fa, 3);
#else
	cloexec_all();
#endif
	return r;
}

static int
attr_build(posix_spawnattr_t *at, const struct child_opts *o)
{
	sigset_t all, none;
	short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
	int r;

	sigfillset(&all);
	sigemptyset(&none);
	if (o->detach) {
#ifdef POSIX_SPAWN_SETSID
		flags |= POSIX_SPAWN_SETSID;
#else
		flags |= POSIX_SPAWN_SETPGROUP;
#endif
	}
	if ((r = posix_spawnattr_setsigdefault(at, &all)) != 0 ||
	    (r = posix_spawnattr_setsigmask(at, &none)) != 0)
		return r;
	return posix_spawnattr_setflags(at, flags);
}

static void
close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

int
child_spawn(struct child *c, const char *const argv[],
    const struct child_opts *o)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char **envp = o->env != NULL ? env_build(o->env) : environ;
	int r;

	c->pid = -1;
	c->in = c->out = -1;
	if ((o->pipe_in && pipe2(in, O_CLOEXEC) != 0) ||
	    (o->pipe_out && pipe2(out, O_CLOEXEC) != 0))
		r = errno;
	else if ((r = posix_spawn_file_actions_init(&fa)) == 0) {
		if ((r = posix_spawnattr_init(&at)) == 0) {
			if ((r = fa_build(&fa, o, in, out)) == 0 &&
			    (r = attr_build(&at, o)) == 0)
				r = posix_spawnp(&c->pid, argv[0], &fa, &at,
				    (char *const *)argv, envp);
			posix_spawnattr_destroy(&at);
		}
		posix_spawn_file_actions_destroy(&fa);
	}
	if (envp != environ)
		free(envp);
	if (r != 0) {
		close_pair(in);
		close_pair(out);
		c->pid = -1;
		return err_set(BBS_E_ERROR, "cannot run '%s': %s", argv[0],
		    strerror(r));
	}
	if (o->pipe_in) {
		close(in[0]);
		c->in = in[1];
	}
	if (o->pipe_out) {
		close(out[1]);
		c->out = out[0];
	}
	return 0;
}

int
child_start(struct child *c, const char *const argv[], int pipe_in,
    int pipe_out, int stdin_fd, int stdout_fd)
{
	struct child_opts o;

	memset(&o, 0, sizeof(o));
	o.pipe_in = pipe_in;
	o.pipe_out = pipe_out;
	o.stdin_fd = stdin_fd;
	o.stdout_fd = stdout_fd;
	return child_spawn(c, argv, &o);
}

void
child_forget(struct child *c)
{
	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	if (c->pid > 0)
		waitpid(c->pid, NULL, WNOHANG);
	c->pid = -1;
	c->in = c->out = -1;
}

int
child_finish(struct child *c)
{
	int status;
	pid_t r;

	if (c->in >= 0) {
		close(c->in);
		c->in = -1;
	}
	if (c->out >= 0) {
		close(c->out);
		c->out = -1;
	}
	if (c->pid <= 0)
		return -1;
	do {
		r = waitpid(c->pid, &status, 0);
	} while (r < 0 && errno == EINTR);
	c->pid = -1;
	if (r < 0)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

void
child_kill(struct child *c)
{
	if (c->pid > 0)
		kill(c->pid, SIGKILL);
	child_finish(c);
}
