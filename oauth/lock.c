/* SPDX-License-Identifier: MIT */
/*
 * lock.c - the token store's locks.
 *
 * Two kinds, both flock(2) on a file in the state directory, which the
 * kernel releases when the holder dies, however it dies:
 *   lock-<hash of the key>  one per grant, held around a network refresh so
 *                           that one process refreshes and the others wait;
 *   lock                    the store-wide lock, held for every read and
 *                           read-modify-write of the store, never across a
 *                           network request.
 * A process takes them in that order (per-grant, then store-wide) only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "oauth.h"

static int
lock_path(const char *dir, const char *path, int timeout_sec, int *fd_out)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	time_t deadline = time(NULL) + timeout_sec;
	struct stat st;
	int fd, r;

	*fd_out = -1;
	if ((r = store_mkdir(dir)) != 0)
		return r;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
	    0600);
	if (fd < 0)
		return err_set(BBS_E_IO, "cannot create a lock in '%s': %s",
		    dir, strerror(errno));
	/* one planted by another user could be held by them for ever */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		close(fd);
		return err_set(BBS_E_IO, "the lock file '%s' is not a file of "
		    "yours; remove it", path);
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = errno;
			close(fd);
			return err_set(BBS_E_IO, "cannot lock the token store: "
			    "%s", strerror(r));
		}
		if (time(NULL) >= deadline) {
			close(fd);
			return err_set(BBS_E_TIMEOUT, "another git process has "
			    "held the token lock for %d seconds", timeout_sec);
		}
		nanosleep(&ts, NULL);
	}
	*fd_out = fd;
	return 0;
}

int
store_lock(const char *dir, const char *key, int timeout_sec, int *fd_out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[17], *path;
	size_t i;
	int r;

	SHA256((const unsigned char *)key, strlen(key), md);
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	path = xasprintf("%s/lock-%s", dir, hex);
	r = lock_path(dir, path, timeout_sec, fd_out);
	free(path);
	return r;
}

int
store_lock_all(const char *dir, int timeout_sec, int *fd_out)
{
	char *path = xasprintf("%s/lock", dir);
	int r = lock_path(dir, path, timeout_sec, fd_out);

	free(path);
	return r;
}

void
store_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}
