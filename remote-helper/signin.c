/* SPDX-License-Identifier: MIT */
/*
 * signin.c - automatic sign-ins (a git command that finds no usable
 * grant): one per account at a time across processes, and none for a
 * while after one failed.
 *
 * The first process that needs a sign-in takes the account's sign-in
 * lock and runs it; the others wait on that lock (bounded by
 * loginTimeout) and then use the grant it stored.  A sign-in that was
 * declined, timed out or failed leaves a marker file whose age is
 * compared with bbs.<url>.signInCooldown; `git bbs login` ignores the
 * marker and removes it when it succeeds.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "helper.h"

#define SIGNIN_LOCK_SLACK 30	/* seconds beyond loginTimeout */

/* What names the account before the server does: the URL's user. */
static char *
signin_name(const struct session *s)
{
	return xasprintf("sign-in %s %s", s->key,
	    s->url->user ? s->url->user : "");
}

/* The cooldown marker of this account (caller frees). */
static char *
signin_marker(const struct session *s)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[17], *name = signin_name(s);
	size_t i;

	SHA256((const unsigned char *)name, strlen(name), md);
	free(name);
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return xasprintf("%s/signin-failed-%s", s->store_dir, hex);
}

void
signin_cooldown_clear(const struct session *s)
{
	char *m = signin_marker(s);

	if (unlink(m) != 0 && errno != ENOENT)
		trace_printf("login: cannot remove '%s': %s", m,
		    strerror(errno));
	free(m);
}

static void
signin_cooldown_start(const struct session *s)
{
	char *m = signin_marker(s);
	int fd;

	/*
	 * The marker's time is what counts; it holds nothing secret.  Never
	 * through a symbolic link: its name can be worked out by anyone.
	 */
	fd = open(m, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
	    0600);
	if (fd < 0 && errno == ELOOP && unlink(m) == 0)	/* a link put there */
		fd = open(m, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0 || futimens(fd, NULL) != 0)
		trace_printf("login: cannot write '%s': %s", m,
		    strerror(errno));
	if (fd >= 0)
		close(fd);
	free(m);
}

/* 0, or BBS_E_AUTH_REQUIRED with the message while the cooldown lasts. */
static int
signin_cooldown_check(struct session *s)
{
	long cooldown = s->settings->signin_cooldown;
	char *m, *u;
	struct stat st;
	time_t now = time(NULL);
	int r;

	if (cooldown <= 0)
		return 0;
	m = signin_marker(s);
	r = lstat(m, &st);	/* only a file of ours, not what a link names */
	free(m);
	if (r != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    now - st.st_mtime >= cooldown || st.st_mtime > now)
		return 0;
	u = session_login_url(s);
	err_set(BBS_E_AUTH_REQUIRED, "an automatic sign-in to '%s' failed "
	    "%ld seconds ago; none starts again for %ld seconds",
	    s->url->host, (long)(now - st.st_mtime),
	    cooldown - (long)(now - st.st_mtime));
	err_hint("sign in with: git bbs login %s", u);
	free(u);
	return BBS_E_AUTH_REQUIRED;
}

int
signin_auto(struct session *s, const char *flow, char **account_out,
    char **access_token)
{
	char *name;
	int r, lock = -1;

	*account_out = NULL;
	*access_token = NULL;
	if ((r = signin_cooldown_check(s)) != 0)
		return r;
	name = signin_name(s);
	r = store_lock(s->store_dir, name,
	    (int)s->settings->login_timeout + SIGNIN_LOCK_SLACK, &lock);
	free(name);
	if (r != 0)
		return r;
	/* another process may have signed in (or failed) while we waited */
	r = session_token(s, access_token);
	if (r != BBS_E_AUTH_REQUIRED)
		goto out;
	err_clear();
	if ((r = signin_cooldown_check(s)) != 0)
		goto out;
	r = login_run(s, flow, account_out);
	if (r == 0)
		r = session_token(s, access_token);
	else if (r != BBS_E_AUTH_REQUIRED && !http_was_cancelled())
		signin_cooldown_start(s);	/* not "nobody to ask", no signal */
out:
	store_unlock(lock);
	return r;
}
