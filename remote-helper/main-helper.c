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

static void
report_error(void)
{
	const char *msg = err_message(), *hint = err_hint_message();

	fprintf(stderr, "fatal: bbs: %s\n", msg ? msg : "unknown error");
	if (hint != NULL)
		fprintf(stderr, "hint: %s\n", hint);
}

/*
 * No static token: use the signed-in grant for this remote, refreshed if
 * it expired.
 */
static int
oauth_token_for(struct conn *conn, struct helper_config *cfg,
    const struct remote_url *url)
{
	struct session s;
	char *tok = NULL, *u;
	int r;

	if ((r = session_init(&s, cfg, url, conn->http)) == 0 &&
	    (r = session_token(&s, &tok)) == 0 &&
	    (r = conn_set_token(conn, cfg, tok)) == 0) {
		u = session_login_url(&s);
		conn->login_hint = xasprintf("sign in again with: git bbs "
		    "login %s", u);
		free(u);
	}
	secret_free(tok);
	session_release(&s);
	return r;
}

int
main(int argc, char **argv)
{
	struct helper_options opts;
	struct helper_config cfg;
	struct remote_url url;
	struct transport *t = NULL;
	struct conn conn;
	const char *arg;
	int r;

	signal(SIGPIPE, SIG_IGN);
	oauth_json_init();
	memset(&opts, 0, sizeof(opts));
	memset(&cfg, 0, sizeof(cfg));
	memset(&conn, 0, sizeof(conn));
	memset(&url, 0, sizeof(url));
	opts.progress = 0;
	opts.verbosity = 1;
	trace_init(getenv("GIT_TRACE_BBS"));

	if (argc < 2 || argc > 3 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: git-remote-bbs <remote> [<url>]\n"
		    "git runs this helper for bbs::<url> and bbs:// remotes, "
		    "for example:\n"
		    "  git clone bbs::https://bitbucket.org/team/repo.git\n");
		return argc == 2 ? 0 : 2;
	}
	arg = argc == 3 ? argv[2] : argv[1];
	if ((r = url_parse(&url, arg)) != 0)
		goto out;
	if ((r = transport_new(&t, &conn, &opts)) != 0)
		goto out;
	if ((r = config_load(&cfg, transport_config(t), &url)) != 0)
		goto out;
	opts.fsck_objects = cfg.fsck_objects;
	if ((r = conn_init(&conn, &url, &cfg)) != 0)
		goto out;
	if (cfg.token == NULL && cfg.oauth.provider != NULL &&
	    (r = oauth_token_for(&conn, &cfg, &url)) != 0)
		goto out;
	config_release(&cfg);
	r = proto_run(stdin, stdout, t, &conn, &opts);
out:
	if (r != 0 && err_code() != BBS_E_REPORTED)
		report_error();
	transport_free(t);
	conn_release(&conn);
	config_release(&cfg);
	helper_options_release(&opts);
	url_release(&url);
	trace_close();
	return r != 0 ? 128 : 0;
}
