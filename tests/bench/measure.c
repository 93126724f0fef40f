/* SPDX-License-Identifier: MIT */
/*
 * measure.c - run a command, then write "WALL MAXRSS" to a file: the wall
 * time in seconds around fork/exec/wait, and the peak resident set (KiB)
 * of the largest process of its tree (getrusage's ru_maxrss, which GNU
 * time prints as %M).  bench.sh compiles it when GNU time is missing
 * (Debian's minimal roots) or BENCH_MEASURE=measure asks for it.
 *
 *   measure OUTFILE COMMAND [ARG...]
 *
 * Exits as the command did (128 + signal when a signal ended it), 127
 * when it could not be started.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	double start, wall;
	pid_t pid;
	int status;
	FILE *out;

	if (argc < 3) {
		fputs("usage: measure OUTFILE COMMAND [ARG...]\n", stderr);
		return 2;
	}
	start = now();
	pid = fork();
	if (pid < 0) {
		perror("measure: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "measure: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("measure: wait4");
			return 127;
		}
	}
	wall = now() - start;
	if ((out = fopen(argv[1], "w")) == NULL ||
	    fprintf(out, "%.4f %ld\n", wall, ru.ru_maxrss) < 0 ||
	    fclose(out) != 0) {
		perror("measure: cannot write the result");
		return 127;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
