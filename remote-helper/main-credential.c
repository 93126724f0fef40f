/* SPDX-License-Identifier: MIT */
/*
 * main-credential.c - git-credential-bbs: a git credential helper that
 * answers plain https:// remotes with an OAuth access token from the
 * same store as git-remote-bbs, refreshed the same way.
 *
 *	git config --global credential.https://bitbucket.org.helper bbs
 *
 * get:   username (bbs.<url>.gitUsername, default x-token-auth) and a fresh
 *        access token as the password (to git 2.46+, a credential marked
 *        ephemeral); nothing when not signed in, so git goes on to its
 *        other helpers.  With BBS_ACCESS_TOKEN set, that token, as
 *        git-remote-bbs uses it (git-lfs in CI).
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

#include <openssl/evp.h>

#include "helper.h"

static const char usage_text[] =
    "usage: git-credential-bbs get|store|erase\n"
    "git runs this credential helper for plain https:// remotes, with\n"
    "  git config --global credential.https://bitbucket.org.helper bbs\n"
    "It answers with an OAuth access token of git-remote-bbs's sign-in.\n";

/*
 * The token in what git sends back to erase: a password, a Bearer
 * credential as it is, or a Basic one decoded (caller frees), or NULL.
 */
static char *
refused_token(const struct cred *c, const char *user)
{
	const char *v = c->credential;
	size_t len = v != NULL ? strlen(v) : 0, cap = len / 4 * 3 + 1;
	size_t n = strlen(user), pad = 0;
	unsigned char *raw;
	char *tok = NULL;
	int got;

	if (c->password != NULL)
		return xstrdup(c->password);
	if (v == NULL)
		return NULL;
	raw = xmalloc(cap);
	got = len > 0 && len % 4 == 0 ? EVP_DecodeBlock(raw,
	    (const unsigned char *)v, (int)len) : -1;
	/* EVP_DecodeBlock counts the padding as zero bytes */
	while (got > 0 && pad < 2 && v[len - 1 - pad] == '=')
		pad++;
	if (got > 0 && (size_t)got - pad > n + 1 &&
	    memcmp(raw, user, n) == 0 && raw[n] == ':' &&
	    memchr(raw, '\0', (size_t)got - pad) == NULL)
		tok = xstrndup((char *)raw + n + 1, (size_t)got - pad - n - 1);
	secret_wipe(raw, cap);
	free(raw);
	return tok != NULL ? tok : xstrdup(v);
}

/*
 * Answer `get` with `tok`, in the protocol of the git that asked.  When
 * git announced capability[]=authtype (2.46+), a pre-encoded credential
 * (Bearer, or Basic with the git user name) marked ephemeral: git's store
 * and cache helpers keep only user names and passwords, so none keeps the
 * token.  Else username and password.  Both carry password_expiry_utc
 * (2.40+; older gits ignore unknown keys), the time after which we would
 * not hand the token out ourselves, so a caching helper later in the
 * chain drops it then.  Requests of git-lfs always get username and
 * password.  cred_write refuses a value with a line break: it would
 * inject protocol lines.
 */
static int
cred_answer(const struct cred *c, const struct remote_ctx *rc,
    const char *tok, FILE *out)
{
	char expiry[32], *basic = NULL;
	const char *kv[13];
	size_t n = 0;
	int r;

	/*
	 * git-lfs prints Bearer headers in its GIT_CURL_VERBOSE trace (it
	 * masks Basic ones): its requests, which name the LFS API in the
	 * path (lfs.c sets credential.<site>.useHttpPath), get Basic.
	 */
	int lfs = c->path != NULL && strstr(c->path, "info/lfs") != NULL;

	if (c->cap_authtype && !lfs) {
		kv[n++] = "capability[]";
		kv[n++] = "authtype";
		kv[n++] = "authtype";
		if (rc->cfg.git_auth == GIT_AUTH_BEARER) {
			kv[n++] = "Bearer";
			kv[n++] = "credential";
			kv[n++] = tok;
		} else {
			if ((basic = basic_credential(rc->cfg.git_username,
			    tok)) == NULL)
				return err_set(BBS_E_INVALID, "access token too "
				    "long");
			kv[n++] = "Basic";
			kv[n++] = "credential";
			kv[n++] = basic;
		}
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
	r = cred_write(out, kv);
	secret_free(basic);
	return r;
}
/*
 * A Data Center under a path (https://host/bitbucket/scm/...) is known by
 * the path before /scm/, which git sends only with useHttpPath: without
 * one, "not signed in" says what to set rather than to sign in again.
 */
static void
hint_http_path(const struct cred *c, const struct remote_ctx *rc, int r)
{
	const struct provider *p = provider_by_name(rc->cfg.oauth.provider);
	char *msg;

	if (r != BBS_E_AUTH_REQUIRED || c->path != NULL || p == NULL ||
	    p->base_marker == NULL || rc->cfg.oauth.ep.issuer != NULL ||
	    err_message() == NULL)
		return;
	msg = xstrdup(err_message());
	err_clear();
	err_set(r, "%s", msg);
	err_hint("git sent no path; for a server under a path (before "
	    "/scm/), run: git config --global credential.%s://%s.useHttpPath "
	    "true", c->protocol, c->host);
	free(msg);
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
	/*
	 * The host goes into a URL that is parsed again: a '@' in it would
	 * make what precedes it a user part that picks an account, a '/' or
	 * '?' would end the authority early.  A value that is not a plain
	 * host[:port] names no host we can answer for.
	 */
	if (!url_hostport_ok(c.host))
		goto out;
	/* url_parse() refuses plain http to anything but loopback */
	u = xasprintf("%s://%s/%s", c.protocol, c.host, c.path ? c.path : "");
	if ((r = remote_ctx_config(&rc, u)) == BBS_E_INSECURE_URL) {
		/* plain http to a network host: never ours, say nothing */
		err_clear();
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	if (rc.static_token != NULL) {
		/* BBS_ACCESS_TOKEN, as git-remote-bbs uses it: nothing to erase */
		if (strcmp(argv[1], "get") == 0)
			r = cred_answer(&c, &rc, rc.static_token, stdout);
		goto out;
	}
	if (rc.cfg.oauth.provider == NULL)
		goto out;
	/*
	 * A user name other than the one we answer with (x-token-auth by
	 * default) came from the remote URL: it picks the account, under
	 * the rules of a user part in a bbs:: URL.  Checked before the
	 * session exists: a grant for a name the store cannot keep would
	 * be lost after its refresh token, a seed among them, was spent.
	 */
	if (c.username != NULL &&
	    strcmp(c.username, rc.cfg.git_username) != 0) {
		if ((r = url_user_check(c.username)) != 0)
			goto out;
		free(rc.url.user);
		rc.url.user = xstrdup(c.username);
	}
	if ((r = remote_ctx_session(&rc)) != 0)
		goto out;
	if (strcmp(argv[1], "erase") == 0) {
		/* a credential= answer comes back as credential=, encoded */
		if ((tok = refused_token(&c, rc.cfg.git_username)) != NULL)
			r = session_expire(&rc.s, tok);
		goto out;
	}
	if ((r = session_token(&rc.s, &tok)) == 0)
		r = cred_answer(&c, &rc, tok, stdout);
	hint_http_path(&c, &rc, r);
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
