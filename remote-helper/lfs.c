/* SPDX-License-Identifier: MIT */
/*
 * lfs.c - let git-lfs reach the server of a bbs:: remote.
 *
 * git-lfs derives its endpoint from the remote URL; for
 * "bbs::https://host/team/repo.git" that is a URL its HTTP client cannot
 * use.  When git-lfs is set up (its filter is configured) the helper
 * writes, into the repository's own config and only where the user has
 * set nothing (an lfsurl other than this one leaves everything as it is):
 *
 *	remote.<name>.lfsurl = https://host/team/repo.git/info/lfs
 *	credential.https://host.helper = ""    (git's other helpers are not
 *	credential.https://host.helper = bbs    asked for this host here)
 *	credential.https://host.useHttpPath = true  (git-credential-bbs then
 *	                                        tells git-lfs's requests apart)
 *	credential.<lfsurl>.username = bob     (the account the remote URL
 *	                                        names: bbs::https://bob@host/...)
 *	lfs.<lfsurl>.access = basic            (Bitbucket Cloud, which
 *	                                        answers 403, not 401, to a
 *	                                        request without credentials)
 *
 * so git-lfs asks git-credential-bbs, which hands it the same tokens.
 * "https://host" carries a port only when it is not the scheme's default,
 * as people write it.  Every value goes through "git config", never a
 * secret.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "git-internal.h"

/* Is `name` set in `cfg` to `value` (1), to something else (0), unset (-1)? */
static int
config_is(git_config *cfg, const char *name, const char *value)
{
	git_config_entry *e = NULL;
	int r = -1;

	if (git_config_get_entry(&e, cfg, name) == 0 && e != NULL)
		r = e->value != NULL && strcmp(e->value, value) == 0;
	git_config_entry_free(e);
	git_error_clear();
	return r;
}

/* Whether `name` is set in `cfg` (any value, even empty). */
static int
config_has(git_config *cfg, const char *name)
{
	return config_is(cfg, name, "") != -1;
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

/* What a "git config --get-urlmatch" prints, at most. */
#define URLMATCH_OUTPUT_MAX ((size_t)1024 * 1024)
/* A value no one sets: see credential_set_for. */
#define PLAIN_STANDIN "bbs: no credential.<url> key matched"

/*
 * Whether credential.<url>.<var> is set (any value, even empty) for a
 * <url> that matches `url` the way git's credential code matches it: a
 * default port is the same as none, a path matches its prefixes, a user
 * part must be the URL's.  "git config --get-urlmatch" knows these rules,
 * but it also counts a plain credential.<var>, e.g. a global
 * credential.helper, as the least specific match, and that one must not
 * count: setting it aside for the host is what the empty helper entry is
 * for.  So a plain one is given on the command line too, with a value of
 * our own: git reads it last, so it wins over every plain entry of the
 * files and loses to every key whose URL matches.
 */
static int
credential_set_for(const char *var, const char *url, int *set)
{
	const char *argv[8];
	char *standin, *name;
	struct buf out;
	int i = 0, r;

	*set = 0;
	standin = xasprintf("credential.%s=%s", var, PLAIN_STANDIN);
	name = xasprintf("credential.%s", var);
	argv[i++] = "git";
	argv[i++] = "-c";
	argv[i++] = standin;
	argv[i++] = "config";
	argv[i++] = "--get-urlmatch";
	argv[i++] = name;
	argv[i++] = url;
	argv[i] = NULL;
	buf_init(&out, URLMATCH_OUTPUT_MAX);
	r = run_quiet(argv, NULL, &out);
	if (r == 0)
		*set = out.ptr == NULL ||
		    strcmp(out.ptr, PLAIN_STANDIN "\n") != 0;
	else if (r == 1)
		r = 0;		/* nothing at all, not even the stand-in */
	else if (r > 0)
		r = err_set(BBS_E_ERROR, "git config --get-urlmatch %s failed "
		    "(exit code %d)", name, r);
	buf_release(&out);
	free(standin);
	free(name);
	return r;
}

/*
 * Earlier versions spelled the keys with the port even when it is the
 * scheme's default, "credential.https://host:443.helper".  git reads that
 * as https://host, but git-lfs looks keys up by their spelling and never
 * saw the useHttpPath there, and the README's "git config --unset-all
 * credential.https://host.helper" does not find them.  Such a section of
 * the repository's own config is renamed to u->site's spelling, once: to
 * git it means the same, so this is safe whoever wrote what is in it.
 */
static int
respell_default_port(git_config *cfg, const struct remote_url *u)
{
	static const char *const vars[] = { "helper", "useHttpPath" };
	const char *argv[7];
	git_config_entry *e;
	char *name, *from, *to;
	size_t i;
	int local = 0, r;

	if (strcmp(u->origin, u->site) == 0)
		return 0;	/* a port of its own: spelled the same */
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]) && !local; i++) {
		e = NULL;
		name = xasprintf("credential.%s.%s", u->origin, vars[i]);
		if (git_config_get_entry(&e, cfg, name) == 0)
			local = e->level == GIT_CONFIG_LEVEL_LOCAL;
		git_config_entry_free(e);
		git_error_clear();
		free(name);
	}
	if (!local)
		return 0;
	from = xasprintf("credential.%s", u->origin);
	to = xasprintf("credential.%s", u->site);
	argv[0] = "git";
	argv[1] = "config";
	argv[2] = "--local";
	argv[3] = "--rename-section";
	argv[4] = from;
	argv[5] = to;
	argv[6] = NULL;
	if ((r = run_quiet(argv, NULL, NULL)) > 0)
		r = err_set(BBS_E_ERROR, "git config --rename-section %s failed "
		    "(exit code %d)", from, r);
	else if (r == 0)
		trace_printf("lfs: renamed %s to %s", from, to);
	free(from);
	free(to);
	return r;
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

/*
 * credential.<site>.helper = "" and = bbs, and .useHttpPath = true,
 * each unless git would find one for the LFS endpoint already.
 */
static int
lfs_credential(const struct remote_url *u, const char *endpoint)
{
	char *name;
	int set, r;

	if ((r = credential_set_for("helper", endpoint, &set)) != 0)
		return r;
	name = xasprintf("credential.%s.helper", u->site);
	if (!set && ((r = config_write(name, "", 1)) != 0 ||
	    (r = config_write(name, "bbs", 1)) != 0)) {
		free(name);
		return r;
	}
	free(name);
	/* git-lfs then names the LFS API in the path it asks about */
	if ((r = credential_set_for("useHttpPath", endpoint, &set)) != 0)
		return r;
	name = xasprintf("credential.%s.useHttpPath", u->site);
	if (!set)
		r = config_write(name, "true", 0);
	free(name);
	return r;
}

int
lfs_configure(const char *remote, const struct remote_url *u,
    struct git_config *cfg, int basic_upfront)
{
	char *name = NULL, *endpoint = NULL;
	int r = 0;

	/* only a named remote: git passes the URL itself for anonymous ones */
	if (cfg == NULL || remote == NULL || getenv("GIT_DIR") == NULL)
		return 0;
	if (!config_has(cfg, "filter.lfs.process") &&
	    !config_has(cfg, "filter.lfs.smudge"))
		return 0;
	if ((r = respell_default_port(cfg, u)) != 0)
		return r;
	name = xasprintf("remote.%s.lfsurl", remote);
	endpoint = lfs_endpoint(u);
	/*
	 * Another lfsurl is the user's choice, and stands.  The one written
	 * here (maybe by an older version, without all of what follows) has
	 * the rest completed, each key only where it is unset.
	 */
	switch (config_is(cfg, name, endpoint)) {
	case 0:
		goto out;
	case -1:
		if ((r = config_write(name, endpoint, 0)) != 0)
			goto out;
		break;
	}
	/*
	 * The account the remote URL names (bbs::https://bob@host/...).  The
	 * lfsurl has no user part: git-lfs would put it, with no password,
	 * in a Basic header of its first request.  git fills this user name
	 * in for git-lfs's requests, and git-credential-bbs answers for that
	 * account.
	 */
	if (u->user != NULL) {
		free(name);
		name = xasprintf("credential.%s.username", endpoint);
		if (!config_has(cfg, name) &&
		    (r = config_write(name, u->user, 0)) != 0)
			goto out;
	}
	if ((r = lfs_credential(u, endpoint)) != 0)
		goto out;
	if (basic_upfront) {
		free(name);
		name = xasprintf("lfs.%s.access", endpoint);
		if (!config_has(cfg, name))
			r = config_write(name, "basic", 0);
	}
out:
	free(name);
	free(endpoint);
	return r;
}
