/*
 * run.c - child processes (git index-pack, git pack-objects).
 *
 * Children inherit our environment, from which every secret has already
 * been removed (config_load), and never receive one in argv.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

extern char **environ;

int
child_start(struct child *c, const char *const argv[], int pipe_in,
    int pipe_out, int stdin_fd, int stdout_fd)
{
	return child_start_ex(c, argv, pipe_in, pipe_out, stdin_fd, stdout_fd,
	    -1, NULL);
}

int
child_start_ex(struct child *c, const char *const argv[], int pipe_in,
    int pipe_out, int stdin_fd, int stdout_fd, int stderr_fd,
    char *const envp[])
{
	posix_spawn_file_actions_t fa;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int r, err;

	c->pid = -1;
	c->in = c->out = -1;
	if ((pipe_in && pipe2(in, O_CLOEXEC) != 0) ||
	    (pipe_out && pipe2(out, O_CLOEXEC) != 0)) {
		err = errno;
		goto fail_errno;
	}
	posix_spawn_file_actions_init(&fa);
	if (pipe_in)
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	else if (stdin_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
		    O_RDONLY, 0);
	if (pipe_out)
		posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	else if (stdout_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
		    O_WRONLY, 0);
	if (stderr_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, stderr_fd, 2);
	r = posix_spawnp(&c->pid, argv[0], &fa, NULL, (char *const *)argv,
	    envp != NULL ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		err = r;
		goto fail_errno;
	}
	if (pipe_in) {
		close(in[0]);
		c->in = in[1];
	}
	if (pipe_out) {
		close(out[1]);
		c->out = out[0];
	}
	return 0;
fail_errno:
	if (in[0] >= 0) {
		close(in[0]);
		close(in[1]);
	}
	if (out[0] >= 0) {
		close(out[0]);
		close(out[1]);
	}
	c->pid = -1;
	return err_set(BBS_E_ERROR, "cannot run '%s': %s", argv[0],
	    strerror(err));
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
