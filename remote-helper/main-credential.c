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

#define CRED_LINE_MAX 65536

struct cred {
	char *protocol;
	char *host;
	char *path;
	char *username;
	char *password;		/* secret */
	char *credential;	/* secret: what git sent with an authtype */
	int cap_authtype;	/* git sent capability[]=authtype (2.46+) */
};

static void
cred_release(struct cred *c)
{
	free(c->protocol);
	free(c->host);
	free(c->path);
	free(c->username);
	secret_free(c->password);
	secret_free(c->credential);
	memset(c, 0, sizeof(*c));
}

/* Read git's key=value lines up to a blank line or EOF. */
static int
cred_read(struct cred *c, FILE *in)
{
	struct buf line;
	char **dst;
	char *eq;
	int r;

	buf_init_secret(&line, CRED_LINE_MAX);
	while ((r = proto_read_line(in, &line)) > 0 && line.len > 0) {
		if ((eq = strchr(line.ptr, '=')) == NULL)
			continue;
		*eq = '\0';
		if (strcmp(line.ptr, "capability[]") == 0 &&
		    strcmp(eq + 1, "authtype") == 0)
			c->cap_authtype = 1;
		dst = strcmp(line.ptr, "protocol") == 0 ? &c->protocol :
		    strcmp(line.ptr, "host") == 0 ? &c->host :
		    strcmp(line.ptr, "path") == 0 ? &c->path :
		    strcmp(line.ptr, "username") == 0 ? &c->username :
		    strcmp(line.ptr, "password") == 0 ? &c->password :
		    strcmp(line.ptr, "credential") == 0 ? &c->credential : NULL;
		if (dst != NULL) {
			if (dst == &c->password || dst == &c->credential)
				secret_free(*dst);
			else
				free(*dst);
			*dst = xstrdup(eq + 1);
		}
	}
	buf_release(&line);
	return r < 0 ? r : 0;
}

/*
 * Answer `get` with `tok`, in the protocol of the git that asked: a Bearer
 * credential marked ephemeral when git announced capability[]=authtype
 * (2.46+) and the remote takes Bearer, else username and password.  Both
 * carry password_expiry_utc (2.40+; older gits ignore unknown keys), the
 * time after which we would not hand the token out ourselves, so a caching
 * helper later in the chain drops it then.  A value with a line break is
 * refused rather than written: it would inject protocol lines.
 */
static int
cred_answer(const struct cred *c, const struct remote_ctx *rc,
    const char *tok, FILE *out)
{
	const char *user = rc->cfg.git_username;

	if (strpbrk(tok, "\r\n") != NULL || strpbrk(user, "\r\n") != NULL)
		return err_set(BBS_E_PROTOCOL, "the access token or user name "
		    "contains a line break");
	if (c->cap_authtype && rc->cfg.git_auth == GIT_AUTH_BEARER)
		fprintf(out, "capability[]=authtype\nauthtype=Bearer\n"
		    "credential=%s\nephemeral=1\n", tok);
	else
		fprintf(out, "username=%s\npassword=%s\n", user, tok);
	if (rc->s.use_until > 0)
		fprintf(out, "password_expiry_utc=%lld\n",
		    (long long)rc->s.use_until);
	if (fflush(out) != 0 || ferror(out))
		return err_set(BBS_E_IO, "cannot write the answer to git");
	return 0;
}

int
main(int argc, char **argv)
{
	struct remote_ctx rc;
	struct cred c;
	char *u = NULL, *tok = NULL;
	int r;

	signal(SIGPIPE, SIG_IGN);
	oauth_json_init();
	trace_init(getenv("GIT_TRACE_BBS"));
	memset(&rc, 0, sizeof(rc));
	memset(&c, 0, sizeof(c));
	if (argc != 2) {
		fprintf(stderr, "usage: git-credential-bbs get|store|erase\n");
		return 2;
	}
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
	if ((r = remote_ctx_config(&rc, u)) != 0 ||
	    rc.cfg.oauth.provider == NULL)
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
	if (r != 0) {
		/* say why on stderr; git then tries its other helpers */
		fprintf(stderr, "git-credential-bbs: %s\n", err_message() ?
		    err_message() : "failed");
		if (err_hint_message() != NULL)
			fprintf(stderr, "hint: %s\n", err_hint_message());
	}
	secret_free(tok);
	free(u);
	cred_release(&c);
	remote_ctx_release(&rc);
	trace_close();
	return 0;
}
