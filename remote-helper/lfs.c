/* SPDX-License-Identifier: MIT */
/*
 * lfs.c - let git-lfs reach the server of a bbs:: remote.
 *
 * git-lfs derives its endpoint from the remote URL; for
 * "bbs::https://host/team/repo.git" that is a URL its HTTP client cannot
 * use.  When git-lfs is set up (its filter is configured) the helper
 * writes, into the repository's own config and only where the user has
 * set nothing:
 *
 *	remote.<name>.lfsurl = https://host/team/repo.git/info/lfs
 *	credential.https://host.helper = ""    (git's other helpers are not
 *	credential.https://host.helper = bbs    asked for this host here)
 *	credential.https://host.useHttpPath = true  (git-credential-bbs then
 *	                                        tells git-lfs's requests apart)
 *	lfs.<lfsurl>.access = basic            (Bitbucket Cloud, which
 *	                                        answers 403, not 401, to a
 *	                                        request without credentials)
 *
 * so git-lfs asks git-credential-bbs, which hands it the same tokens.
 * Every value goes through "git config", never a secret.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "git-internal.h"

/* Whether `name` is set in `cfg` (any value, even empty). */
static int
config_has(git_config *cfg, const char *name)
{
	git_config_entry *e = NULL;
	int found;

	found = git_config_get_entry(&e, cfg, name) == 0;
	git_config_entry_free(e);
	git_error_clear();
	return found;
}

/* git config [--add] NAME VALUE in the repository git runs us for. */
static int
config_write(const char *name, const char *value, int add)
{
	const char *argv[6];
	struct child c;
	int i = 0, r;

	argv[i++] = "git";
	argv[i++] = "config";
	if (add)
		argv[i++] = "--add";
	argv[i++] = name;
	argv[i++] = value;
	argv[i] = NULL;
	if ((r = child_start(&c, argv, 0, 0, -1, -1)) != 0)
		return r;
	if ((r = child_finish(&c)) != 0)
		return err_set(BBS_E_ERROR, "git config %s failed (exit code %d)",
		    name, r);
	trace_printf("lfs: set %s", name);
	return 0;
}

/* The LFS endpoint git-lfs would derive from the plain URL of `u`. */
static char *
lfs_endpoint(const struct remote_url *u)
{
	size_t len = strlen(u->url);
	char *s = xmalloc(len + sizeof(".git/info/lfs"));
	const char *suffix;

	memcpy(s, u->url, len + 1);
	while (len > 1 && s[len - 1] == '/')
		s[--len] = '\0';
	suffix = len >= 4 && strcmp(s + len - 4, ".git") == 0 ?
	    "/info/lfs" : ".git/info/lfs";
	strcpy(s + len, suffix);
	return s;
}

int
lfs_configure(const char *remote, const struct remote_url *u,
    struct git_config *cfg, int basic_upfront)
{
	char *name = NULL, *endpoint = NULL;
	size_t len;
	int r = 0;

	if (cfg == NULL || remote == NULL || getenv("GIT_DIR") == NULL)
		return 0;
	/* only a named remote (git passes the URL itself for anonymous ones) */
	if (strstr(remote, "://") != NULL || strchr(remote, '\n') != NULL)
		return 0;
	if (!config_has(cfg, "filter.lfs.process") &&
	    !config_has(cfg, "filter.lfs.smudge"))
		return 0;
	len = strlen(remote) + strlen(u->origin) + 64;
	name = xmalloc(len);
	snprintf(name, len, "remote.%s.lfsurl", remote);
	if (config_has(cfg, name))
		goto out;	/* the user's choice stands */
	endpoint = lfs_endpoint(u);
	if ((r = config_write(name, endpoint, 0)) != 0)
		goto out;
	snprintf(name, len, "credential.%s.helper", u->origin);
	if (!config_has(cfg, name) &&
	    ((r = config_write(name, "", 1)) != 0 ||
	    (r = config_write(name, "bbs", 1)) != 0))
		goto out;
	/* git-lfs then names the LFS API in the path it asks about */
	snprintf(name, len, "credential.%s.useHttpPath", u->origin);
	if (!config_has(cfg, name) && (r = config_write(name, "true", 0)) != 0)
		goto out;
	if (basic_upfront) {
		free(name);
		len = strlen(endpoint) + 16;
		name = xmalloc(len);
		snprintf(name, len, "lfs.%s.access", endpoint);
		if (!config_has(cfg, name))
			r = config_write(name, "basic", 0);
	}
out:
	free(name);
	free(endpoint);
	return r;
}
