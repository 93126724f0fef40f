/* SPDX-License-Identifier: MIT */
/*
 * main-credential.c - git-credential-bbs: a git credential helper that
 * answers plain https:// remotes with an OAuth access token from the
 * same store as git-remote-bbs, refreshed the same way.
 *
 *	git config --global credential.https://bitbucket.org.helper bbs
 *
 * get:   username (bbs.<url>.gitUsername, default x-token-auth) and a fresh
 *        access token as the password; nothing when not signed in, so git
 *        goes on to its other helpers.
 * store: nothing to do: the tokens are already ours.
 * erase: git says the token was refused; the stored one is marked expired
 *        so the next get refreshes it.  A refused fresh token is not
 *        refreshed again by the same erase, so there is no loop.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

static const char usage_text[] =
    "usage: git-credential-bbs get|store|erase\n"
    "git runs this credential helper for plain https:// remotes, with\n"
    "  git config --global credential.https://bitbucket.org.helper bbs\n"
    "It answers with an OAuth access token of git-remote-bbs's sign-in.\n";

/*
 * Answer `get` with `tok`, in the protocol of the git that asked: a Bearer
 * credential marked ephemeral when git announced capability[]=authtype
 * (2.46+) and the remote takes Bearer, else username and password.  Both
 * carry password_expiry_utc (2.40+; older gits ignore unknown keys), the
 * time after which we would not hand the token out ourselves, so a caching
 * helper later in the chain drops it then.  Requests of git-lfs always
 * get username and password.  cred_write refuses a value
 * with a line break: it would inject protocol lines.
 */
static int
cred_answer(const struct cred *c, const struct remote_ctx *rc,
    const char *tok, FILE *out)
{
	char expiry[32];
	const char *kv[13];
	size_t n = 0;

	/*
	 * git-lfs prints Bearer headers in its GIT_CURL_VERBOSE trace (it
	 * masks Basic ones): its requests, which name the LFS API in the
	 * path (lfs.c sets credential.<origin>.useHttpPath), get Basic.
	 */
	int lfs = c->path != NULL && strstr(c->path, "info/lfs") != NULL;

	if (c->cap_authtype && rc->cfg.git_auth == GIT_AUTH_BEARER && !lfs) {
		kv[n++] = "capability[]";
		kv[n++] = "authtype";
		kv[n++] = "authtype";
		kv[n++] = "Bearer";
		kv[n++] = "credential";
		kv[n++] = tok;
		kv[n++] = "ephemeral";
		kv[n++] = "1";
	} else {
		kv[n++] = "username";
		kv[n++] = rc->cfg.git_username;
		kv[n++] = "password";
		kv[n++] = tok;
	}
	if (rc->s.use_until > 0) {
		snprintf(expiry, sizeof(expiry), "%lld",
		    (long long)rc->s.use_until);
		kv[n++] = "password_expiry_utc";
		kv[n++] = expiry;
	}
	kv[n] = NULL;
	return cred_write(out, kv);
}
int
main(int argc, char **argv)
{
	struct remote_ctx rc;
	struct cred c;
	char *u = NULL, *tok = NULL;
	int r, w;

	signal(SIGPIPE, SIG_IGN);
	oauth_json_init();
	trace_init(getenv("GIT_TRACE_BBS"));
	process_harden();	/* before any secret is read */
	if ((r = secret_stdio_init()) != 0)
		return err_report(r, ERR_LEVEL_ERROR, "git-credential-bbs");
	memset(&rc, 0, sizeof(rc));
	memset(&c, 0, sizeof(c));
	if (version_or_help(argc, argv, "git-credential-bbs", usage_text))
		return 0;
	if (argc != 2)
		return err_report(err_set(BBS_E_USAGE, "git-credential-bbs "
		    "get|store|erase"), ERR_LEVEL_ERROR, NULL);
	if (strcmp(argv[1], "get") != 0 && strcmp(argv[1], "store") != 0 &&
	    strcmp(argv[1], "erase") != 0)
		return 0;	/* unknown actions are ignored, as git asks */
	if ((r = cred_read(&c, stdin)) != 0 || strcmp(argv[1], "store") == 0)
		goto out;
	if (c.protocol == NULL || c.host == NULL ||
	    (strcmp(c.protocol, "https") != 0 &&
	    strcmp(c.protocol, "http") != 0))
		goto out;	/* not ours: stay silent */
	/* url_parse() refuses plain http to anything but loopback */
	u = xasprintf("%s://%s/%s", c.protocol, c.host, c.path ? c.path : "");
	if ((r = remote_ctx_config(&rc, u)) == BBS_E_INSECURE_URL) {
		/* plain http to a network host: never ours, say nothing */
		err_clear();
		r = 0;
		goto out;
	}
	if (r != 0 || rc.cfg.oauth.provider == NULL)
		goto out;
	/*
	 * A user name other than the one we answer with (x-token-auth by
	 * default) came from the remote URL: it picks the account.
	 */
	if (c.username != NULL &&
	    strcmp(c.username, rc.cfg.git_username) != 0)
		rc.url.user = xstrdup(c.username);
	if ((r = remote_ctx_session(&rc)) != 0)
		goto out;
	if (strcmp(argv[1], "erase") == 0) {
		/* a Bearer answer comes back as credential=, not password= */
		if (c.password != NULL || c.credential != NULL)
			r = session_expire(&rc.s, c.password != NULL ?
			    c.password : c.credential);
		goto out;
	}
	if ((r = session_token(&rc.s, &tok)) == 0)
		r = cred_answer(&c, &rc, tok, stdout);
out:
	/* the request and the answer went through stdio: wipe its buffers */
	if ((w = secret_stdio_wipe()) != 0 && r == 0)
		r = w;
	/* say why on stderr; git then tries its other helpers */
	r = err_report(r, ERR_LEVEL_ERROR, "git-credential-bbs");
	secret_free(tok);
	free(u);
	cred_release(&c);
	remote_ctx_release(&rc);
	trace_close();
	return r;
}
