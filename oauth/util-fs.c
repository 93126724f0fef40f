/* SPDX-License-Identifier: MIT */
/*
 * util-fs.c - directories made as `mkdir -p` makes them.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oauth.h"

/* mkdir `path`, a part of `dir`: fine when it exists. */
static int
mkdir_one(const char *path, mode_t mode, const char *dir)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return err_set(BBS_E_IO, "cannot create '%s': %s", dir,
		    strerror(errno));
	return 0;
}

int
mkdirs(const char *dir, mode_t mode)
{
	char *p = xstrdup(dir), *q;
	int r = 0;

	for (q = p + 1; r == 0 && *q != '\0'; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		r = mkdir_one(p, mode, dir);
		*q = '/';
	}
	if (r == 0)
		r = mkdir_one(p, mode, dir);
	free(p);
	return r;
}
