/* SPDX-License-Identifier: MIT */
/*
 * main-helper.c - git-remote-bbs: the remote helper git runs for bbs::
 * and bbs:// remotes.
 *
 *	git-remote-bbs <remote-name-or-url> [<url>]
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

/* The signed-in grant behind the git requests, when OAuth is in use. */
struct oauth_use {
	struct session s;
	const struct helper_config *cfg;
	char *token;		/* secret: the access token in use */
};

/* A 401 before expiry: refresh once and retry (smart-http.c). */
static int
reauth(struct conn *c, void *payload)
{
	struct oauth_use *o = payload;
	char *tok = NULL;
	int r;

	if ((r = session_token_refused(&o->s, o->token, &tok)) != 0)
		return r;
	r = conn_set_token(c, o->cfg, tok);
	secret_free(o->token);
	o->token = tok;
	return r;
}

/* The scopes to ask for when a push needs write access, or NULL. */
static const char *
write_scopes(const struct oauth_use *o)
{
	const struct provider *p = provider_by_name(o->s.oc.provider);
	const char *conf = o->cfg->oauth.scopes;

	if (conf != NULL && strcasestr(conf, "write") != NULL)
		return conf;
	return p != NULL ? p->write_scopes : NULL;
}

/*
 * A push refused because the grant cannot write: sign in again with a
 * write scope when a browser or terminal can reach the user (login_run
 * fails at once otherwise), then use the new grant.
 */
static int
stepup(struct conn *c, void *payload)
{
	struct oauth_use *o = payload;
	const char *scopes = write_scopes(o);
	char *account = NULL;
	int r;

	if (scopes == NULL)
		return err_set(BBS_E_UNSUPPORTED, "no write scope is known");
	free(o->s.oc.scopes);
	o->s.oc.scopes = xstrdup(scopes);
	fprintf(stderr, "Pushing needs write access: signing in again with "
	    "scopes '%s'.\n", scopes);
	if ((r = login_run(&o->s, o->cfg->oauth.flow, &account)) != 0)
		return r;
	free(account);
	secret_free(o->token);
	o->token = NULL;
	if ((r = session_token(&o->s, &o->token)) != 0 ||
	    (r = conn_set_token(c, o->cfg, o->token)) != 0)
		return r;
	free(c->grant_scope);
	c->grant_scope = o->s.scope ? xstrdup(o->s.scope) : NULL;
	return 0;
}

/*
 * No static token: use the signed-in grant for this remote, refreshed if
 * it expired; with none, sign in when a browser or a terminal can reach
 * the user, and otherwise fail at once with the command that fixes it.
 */
static int
oauth_token_for(struct oauth_use *o, struct conn *conn,
    const struct helper_config *cfg, const struct remote_url *url)
{
	char *account = NULL, *u;
	int r;

	o->cfg = cfg;
	if ((r = session_init(&o->s, cfg, url, conn->http)) != 0)
		return r;
	r = session_token(&o->s, &o->token);
	if (r == BBS_E_AUTH_REQUIRED) {
		trace_printf("oauth: no usable grant (%s); signing in",
		    err_message() ? err_message() : "");
		err_clear();
		r = signin_auto(&o->s, cfg->oauth.flow, &account, &o->token);
		if (r == 0 && account != NULL)
			fprintf(stderr, "Signed in to %s as %s.\n", url->host,
			    account);
		free(account);
	}
	if (r != 0)
		return r;
	if ((r = conn_set_token(conn, cfg, o->token)) != 0)
		return r;
	u = session_login_url(&o->s);
	conn->login_hint = xasprintf("sign in again with: git bbs login %s",
	    u);
	conn->stepup_hint = xasprintf("sign in with a write scope: git bbs "
	    "login --scopes '<scopes with write access>' %s", u);
	free(u);
	conn->grant_scope = o->s.scope ? xstrdup(o->s.scope) : NULL;
	conn->reauth = reauth;
	conn->stepup = stepup;
	conn->reauth_payload = o;
	return 0;
}

static const char usage_text[] =
    "usage: git-remote-bbs <remote> [<url>]\n"
    "git runs this helper for bbs::<url> and bbs:// remotes, for example:\n"
    "  git clone bbs::https://bitbucket.org/team/repo.git\n";

int
main(int argc, char **argv)
{
	struct helper_options opts;
	struct helper_config cfg;
	struct remote_url url;
	struct transport *t = NULL;
	struct conn conn;
	struct oauth_use ou;
	const struct provider *prov;
	const char *arg;
	int r;

	signal(SIGPIPE, SIG_IGN);
	oauth_json_init();
	memset(&opts, 0, sizeof(opts));
	memset(&cfg, 0, sizeof(cfg));
	memset(&conn, 0, sizeof(conn));
	memset(&url, 0, sizeof(url));
	memset(&ou, 0, sizeof(ou));
	opts.progress = 0;
	opts.verbosity = 1;
	trace_init(getenv("GIT_TRACE_BBS"));
	process_harden();	/* before any secret is read */

	if (version_or_help(argc, argv, "git-remote-bbs", usage_text))
		return 0;
	if (argc < 2 || argc > 3) {
		fputs(usage_text, stderr);
		return BBS_EXIT_USAGE;
	}
	arg = argc == 3 ? argv[2] : argv[1];
	/* a name, not the URL git passes for an anonymous remote */
	if (argc == 3 && strstr(argv[1], "://") == NULL &&
	    strchr(argv[1], '\n') == NULL)
		opts.remote = argv[1];
	if ((r = url_parse(&url, arg)) != 0)
		goto out;
	if ((r = transport_new(&t, &conn, &opts)) != 0)
		goto out;
	if ((r = config_load(&cfg, transport_config(t), &url)) != 0 ||
	    (r = config_env_scrub()) != 0)
		goto out;
	opts.fsck_objects = cfg.fsck_objects;
	opts.fsck = &cfg.fsck;
	if ((r = conn_init(&conn, &url, &cfg)) != 0)
		goto out;
	/* git-lfs finds the server through what this writes; never fatal */
	prov = provider_by_name(cfg.oauth.provider);
	if (lfs_configure(opts.remote, &url, transport_config(t),
	    prov != NULL && prov->lfs_basic_upfront) != 0) {
		trace_printf("lfs: %s", err_message() ? err_message() : "failed");
		err_clear();
	}
	if (cfg.token == NULL && cfg.oauth.provider != NULL &&
	    (r = oauth_token_for(&ou, &conn, &cfg, &url)) != 0)
		goto out;
	/* the static token now lives only in the request header */
	secret_free(cfg.token);
	cfg.token = NULL;
	r = proto_run(stdin, stdout, t, &conn, &opts);
out:
	r = err_report(r, ERR_LEVEL_FATAL, "bbs");
	transport_free(t);
	conn_release(&conn);
	session_release(&ou.s);
	secret_free(ou.token);
	config_release(&cfg);
	helper_options_release(&opts);
	url_release(&url);
	trace_close();
	return r;
}
