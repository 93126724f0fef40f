/* SPDX-License-Identifier: MIT */
/*
 * replay.c - a main() for the fuzz targets built with the normal compiler:
 * feeds every file named on the command line (every file inside a named
 * directory) to LLVMFuzzerTestOneInput once.  `make check` replays the
 * seed corpora with it, so the targets build and run in every pass (ASan,
 * valgrind) without clang.  A target's oracle aborts on a finding; a file
 * that cannot be read is an error too, so an empty run cannot pass.
 * libFuzzer options (-name=value) are accepted and ignored, so the same
 * command line (e.g. "-runs=0 corpus/") replays with either build.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer: run once before any input. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_MAX ((size_t)1 << 20)

/* Run the target over file `path`; 0 on success, -1 if unreadable. */
static int
replay_file(const char *path)
{
	unsigned char *data = NULL;
	struct stat st;
	size_t n = 0;
	FILE *f;
	int r = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: cannot open %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > REPLAY_MAX) {
		fprintf(stderr, "replay: %s is not a file of at most 1 MiB\n",
		    path);
		goto out;
	}
	/* exactly the input's size, so ASan sees a read past its end */
	n = (size_t)st.st_size;
	if ((data = malloc(n ? n : 1)) == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		goto out;
	}
	if (fread(data, 1, n, f) != n) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(data, n);
	r = 0;
out:
	free(data);
	fclose(f);
	return r;
}

/* Run the target over every regular file in `dir`; count them in *nr. */
static int
replay_dir(const char *dir, unsigned long *nr)
{
	struct dirent *de;
	char path[4096];
	DIR *d;
	int r = 0, n;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "replay: cannot open %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			fprintf(stderr, "replay: path too long in %s\n", dir);
			r = -1;
			break;
		}
		r = replay_file(path);
		(*nr)++;
	}
	closedir(d);
	return r;
}

int
main(int argc, char **argv)
{
	unsigned long nr = 0;
	struct stat st;
	int i;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			    strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &nr) != 0 :
		    (nr++, replay_file(argv[i]) != 0))
			return 1;
	}
	if (nr == 0) {
		fprintf(stderr, "usage: %s FILE-OR-DIRECTORY... (no input "
		    "was replayed)\n", argv[0]);
		return 1;
	}
	printf("replayed %lu input(s)\n", nr);
	return 0;
}
