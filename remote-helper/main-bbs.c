/* SPDX-License-Identifier: MIT */
/*
 * main-bbs.c - git-bbs: `git bbs login|logout|status|token|import|callback`.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

static const char usage_text[] =
    "usage: git bbs login [--flow F] [--scopes S] <url>\n"
    "       git bbs logout [<url>]\n"
    "       git bbs status [<url>]\n"
    "       git bbs token <url>\n"
    "       git bbs import <url>      (reads a refresh token on stdin)\n"
    "       git bbs callback <uri>\n"
    "       git bbs callback --register|--unregister [--dry-run] "
    "[--platform P] [<scheme>]\n"
    "       git bbs doctor [--offline] [<url>]\n"
    "       git bbs migrate [--dry-run] [--forget-passwords] [<remote>...]\n"
    "       git bbs --version\n";

static int
ctx_init(struct remote_ctx *c, const char *url)
{
	int r;

	if ((r = remote_ctx_config(c, url)) != 0)
		return r;
	return remote_ctx_session(c);
}

static int
cmd_login(int argc, char **argv)
{
	const char *flow = NULL, *scopes = NULL, *url = NULL;
	char *account = NULL;
	struct remote_ctx c;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--flow") == 0 && i + 1 < argc)
			flow = argv[++i];
		else if (strncmp(argv[i], "--flow=", 7) == 0)
			flow = argv[i] + 7;
		else if (strcmp(argv[i], "--scopes") == 0 && i + 1 < argc)
			scopes = argv[++i];
		else if (strncmp(argv[i], "--scopes=", 9) == 0)
			scopes = argv[i] + 9;
		else if (argv[i][0] == '-' || url != NULL)
			return err_set(BBS_E_USAGE, "git bbs login "
			    "[--flow F] [--scopes S] <url>");
		else
			url = argv[i];
	}
	if (url == NULL)
		return err_set(BBS_E_USAGE, "git bbs login [--flow F] "
		    "[--scopes S] <url>");
	if ((r = ctx_init(&c, url)) == 0) {
		if (scopes != NULL) {
			free(c.s.oc.scopes);
			c.s.oc.scopes = xstrdup(scopes);
		}
		if (flow == NULL)
			flow = c.cfg.oauth.flow;
		r = login_run(&c.s, flow, &account);
		if (r == 0)
			fprintf(stderr, "Signed in to %s as %s.\n", c.url.host,
			    account);
	}
	free(account);
	remote_ctx_release(&c);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * `git bbs logout` without a URL: forget every grant in the store, under
 * its lock.  Each grant's own lock is taken first (in key order), so a
 * refresh under way saves before the grant is forgotten, and one that
 * starts later finds it gone; it cannot put the grant back.  Revoking
 * needs each server's client settings, which only a URL selects, so the
 * message says the tokens were not revoked.
 */
static int
logout_all(void)
{
	struct store st;
	char *dir = NULL, **keys = NULL;
	int *locks = NULL;
	size_t n = 0, nkeys = 0, i;
	int r;

	if ((r = session_store_dir(&dir)) != 0)
		return r;
	if ((r = session_store_open_all(&st)) == 0 && st.nr > 0) {
		keys = xcalloc(st.nr, sizeof(*keys));
		for (i = 0; i < st.nr; i++)
			keys[nkeys++] = xstrdup(st.e[i].key);
		qsort(keys, nkeys, sizeof(*keys), cmp_str);
	}
	store_release(&st);
	locks = xcalloc(nkeys + 1, sizeof(*locks));
	for (i = 0; i < nkeys; i++)
		locks[i] = -1;
	for (i = 0; r == 0 && i < nkeys; i++)
		if (i == 0 || strcmp(keys[i], keys[i - 1]) != 0)
			r = store_lock(dir, keys[i], 120, &locks[i]);
	if (r == 0 && (r = session_store_open_all(&st)) == 0 &&
	    (r = store_forget_all(&st, &n)) == 0) {
		fprintf(stderr, "Forgot %zu sign-in%s. They were not revoked "
		    "at the servers; 'git bbs logout <url>' does that.\n", n,
		    n == 1 ? "" : "s");
		if (st.raw_nr > 0)
			fprintf(stderr, "Kept %zu damaged grant%s in %s as "
			    "%s.\n", st.raw_nr, st.raw_nr == 1 ? "" : "s",
			    st.path, st.raw_nr == 1 ? "it is" : "they are");
	}
	store_release(&st);	/* released or empty: a no-op then */
	for (i = 0; i < nkeys; i++) {
		store_unlock(locks[i]);
		free(keys[i]);
	}
	free(locks);
	free(keys);
	free(dir);
	return r;
}

/* Has an earlier grant of st than st->e[i] the token `tok`? */
static int
token_seen(const struct store *st, size_t i, const char *tok)
{
	size_t j;

	for (j = 0; j < i; j++)
		if ((st->e[j].tok.refresh_token != NULL &&
		    secret_equal(st->e[j].tok.refresh_token, tok)) ||
		    (st->e[j].tok.access_token != NULL &&
		    secret_equal(st->e[j].tok.access_token, tok)))
			return 1;
	return 0;
}

/*
 * Revoke at the server every token `st` holds for `account` of this
 * session's key: each copy of a grant a hand-edited store repeats, each
 * token once.  Stops at the first the server does not revoke.
 */
static int
logout_revoke(struct remote_ctx *c, const struct store *st,
    const char *account)
{
	const struct store_entry *e;
	size_t i;
	int r;

	if ((r = session_endpoints(&c->s)) != 0)
		return r;
	for (i = 0; i < st->nr; i++) {
		e = &st->e[i];
		if (strcmp(e->key, c->s.key) != 0 ||
		    strcmp(e->account, account) != 0)
			continue;
		if (e->tok.refresh_token != NULL &&
		    !token_seen(st, i, e->tok.refresh_token) &&
		    (r = oauth_revoke(&c->s.oc, e->tok.refresh_token,
		    "refresh_token")) != 0)
			return r;
		if (e->tok.access_token != NULL &&
		    !token_seen(st, i, e->tok.access_token) &&
		    (r = oauth_revoke(&c->s.oc, e->tok.access_token,
		    "access_token")) != 0)
			return r;
	}
	return 0;
}

static int
cmd_logout(int argc, char **argv)
{
	struct store st;
	struct store_entry *e;
	struct remote_ctx c;
	int r, lock = -1;
	char *account = NULL;

	if (argc == 1)
		return logout_all();
	if (argc != 2)
		return err_set(BBS_E_USAGE, "git bbs logout [<url>]");
	if ((r = ctx_init(&c, argv[1])) != 0) {
		remote_ctx_release(&c);
		return r;
	}
	if ((r = store_lock(c.s.store_dir, c.s.key, 120, &lock)) != 0 ||
	    (r = session_store_open(&c.s, &st)) != 0)
		goto out;
	if ((r = session_pick(&c.s, &st, &e)) == BBS_E_AUTH_REQUIRED) {
		err_clear();
		r = 0;
		fprintf(stderr, "Not signed in to %s%s%s.\n", c.url.host,
		    c.url.user ? " as " : "", c.url.user ? c.url.user : "");
	}
	if (r != 0 || e == NULL) {
		store_release(&st);
		goto out;
	}
	account = xstrdup(e->account);
	/* revoke at the server; an unreachable server does not stop us */
	if (logout_revoke(&c, &st, account) != 0) {
		fprintf(stderr, "warning: the server did not revoke the "
		    "tokens: %s\n", err_message() ? err_message() : "unknown");
		err_clear();
		r = 0;
	} else
		fprintf(stderr, "Revoked the tokens at the server.\n");
	if ((r = store_update(&st, c.s.key, account, NULL, NULL)) == 0)
		fprintf(stderr, "Signed out of %s (%s).\n", c.url.host,
		    account);
	store_release(&st);
out:
	free(account);
	store_unlock(lock);
	remote_ctx_release(&c);
	return r;
}

static void
print_expiry(int64_t at)
{
	time_t t = (time_t)at;
	struct tm tm;
	char when[64];
	long left = (long)(at - time(NULL));

	if (at == 0) {
		printf("  access token: expiry unknown\n");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	if (left > 0)
		printf("  access token: valid until %s (%ld min)\n", when,
		    left / 60);
	else
		printf("  access token: expired at %s\n", when);
}

/* One grant; what the servers said is cleaned of control bytes. */
static void
status_entry(const struct store_entry *e)
{
	char *key = oauth_text_clean(e->key, 1024);
	char *account = oauth_text_clean(e->account, 256);
	char *provider = oauth_text_clean(e->provider, 64);
	char *scope = oauth_text_clean(e->tok.scope, 1024);

	printf("%s\n  account: %s\n  provider: %s\n  scopes: %s\n", key,
	    account, provider ? provider : "unknown",
	    scope ? scope : "(not reported)");
	free(key);
	free(account);
	free(provider);
	free(scope);
}

/* A grant kept but unreadable: what can be read of its names, cleaned. */
static void
status_damaged(const struct store_raw *e)
{
	char *key = oauth_text_clean(e->key, 1024);
	char *account = oauth_text_clean(e->account, 256);

	printf("%s\n  account: %s\n  damaged: kept unchanged, not used\n",
	    key ? key : "(unreadable)", account ? account : "(unreadable)");
	free(key);
	free(account);
}

static int
cmd_status(int argc, char **argv)
{
	struct store st;
	struct remote_ctx c;
	const char *key = NULL;
	char from[600];
	size_t i, shown = 0;
	int r;

	memset(&c, 0, sizeof(c));
	if (argc > 2)
		return err_set(BBS_E_USAGE, "git bbs status [<url>]");
	if (argc == 2) {
		if ((r = ctx_init(&c, argv[1])) != 0) {
			remote_ctx_release(&c);
			return r;
		}
		key = c.s.key;
		session_client_from(&c.s, from, sizeof(from));
		printf("client: %s\n", from);
	}
	if ((r = key ? session_store_open(&c.s, &st) :
	    session_store_open_all(&st)) == 0) {
		for (i = 0; i < st.nr; i++) {
			struct store_entry *e = &st.e[i];

			if (key != NULL && strcmp(e->key, key) != 0)
				continue;
			if (c.url.user != NULL &&
			    strcmp(e->account, c.url.user) != 0)
				continue;
			status_entry(e);
			print_expiry(e->tok.expires_at);
			printf("  refresh token: %s\n", e->tok.refresh_token ?
			    "kept" : "none");
			shown++;
		}
		for (i = 0; i < st.raw_nr; i++)
			if (key == NULL || (st.raw[i].key != NULL &&
			    strcmp(st.raw[i].key, key) == 0))
				status_damaged(&st.raw[i]);
		if (shown == 0)
			printf("Not signed in%s%s.\n", key ? " to " : "",
			    key ? c.url.host : "");
	}
	store_release(&st);
	remote_ctx_release(&c);
	return r;
}

static int
cmd_token(int argc, char **argv)
{
	struct remote_ctx c;
	char *tok = NULL;
	int r;

	if (argc != 2)
		return err_set(BBS_E_USAGE, "git bbs token <url>");
	if ((r = ctx_init(&c, argv[1])) == 0 &&
	    (r = session_token(&c.s, &tok)) == 0) {
		fputs(tok, stdout);
		fputc('\n', stdout);
		if (fflush(stdout) != 0)
			r = err_set(BBS_E_IO, "cannot write the token");
	}
	secret_free(tok);
	remote_ctx_release(&c);
	return r;
}

static int
cmd_import(int argc, char **argv)
{
	struct remote_ctx c;
	char line[OAUTH_TOKEN_MAX + 3], *account = NULL;
	int r;

	if (argc != 2)
		return err_set(BBS_E_USAGE, "git bbs import <url> "
		    "(refresh token on stdin)");
	if (fgets(line, sizeof(line), stdin) == NULL)
		return err_set(BBS_E_INVALID, "no refresh token on stdin");
	if (strchr(line, '\n') == NULL && strlen(line) > OAUTH_TOKEN_MAX)
		line[0] = '\0';	/* too long: refused below, not cut */
	line[strcspn(line, "\r\n")] = '\0';
	if (!oauth_token_syntax_ok(line)) {
		secret_wipe(line, sizeof(line));
		return err_set(BBS_E_INVALID, "that is not a refresh token "
		    "(only letters, digits and -._~+/ then '=' padding)");
	}
	if ((r = ctx_init(&c, argv[1])) == 0 &&
	    (r = session_import(&c.s, line, 0, &account)) == 0) {
		fprintf(stderr, "Imported: signed in to %s as %s.\n",
		    c.url.host, account);
	} else if (r == BBS_E_AUTH_REQUIRED) {
		err_clear();
		r = err_set(BBS_E_INVALID, "the server refused that refresh "
		    "token");
	}
	secret_wipe(line, sizeof(line));
	free(account);
	remote_ctx_release(&c);
	return r;
}

/* git bbs callback --register|--unregister [--dry-run] [--platform P]
 * [<scheme>] */
static int
cmd_callback_register(int argc, char **argv)
{
	const char *platform = NULL, *scheme = "org.git-remote-bbs";
	int i, unregister = 0, dry_run = 0, named = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--register") == 0)
			unregister = 0;
		else if (strcmp(argv[i], "--unregister") == 0)
			unregister = 1;
		else if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = 1;
		else if (strncmp(argv[i], "--platform=", 11) == 0)
			platform = argv[i] + 11;
		else if (strcmp(argv[i], "--platform") == 0 && i + 1 < argc)
			platform = argv[++i];
		else if (argv[i][0] != '-' && !named) {
			scheme = argv[i];
			named = 1;
		} else
			return err_set(BBS_E_INVALID, "usage: git bbs callback "
			    "--register|--unregister [--dry-run] "
			    "[--platform freedesktop|macos|windows] [<scheme>]");
	}
	return scheme_register(scheme, platform, unregister, dry_run, stdout);
}

static int
cmd_callback(int argc, char **argv)
{
	int r;

	if (argc >= 2 && (strcmp(argv[1], "--register") == 0 ||
	    strcmp(argv[1], "--unregister") == 0))
		return cmd_callback_register(argc, argv);
	if (argc != 2)
		return err_set(BBS_E_USAGE, "git bbs callback <uri>");
	r = callback_deliver(argv[1]);
	if (r == 0)
		fprintf(stderr, "Handed the sign-in response to the waiting "
		    "git bbs.\n");
	return r;
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
	{ "login", cmd_login },
	{ "logout", cmd_logout },
	{ "status", cmd_status },
	{ "token", cmd_token },
	{ "import", cmd_import },
	{ "callback", cmd_callback },
	{ "migrate", migrate_run },
	{ "doctor", doctor_run },
};

int
main(int argc, char **argv)
{
	size_t i;
	int r = -1, w;

	signal(SIGPIPE, SIG_IGN);
	oauth_json_init();
	trace_init(getenv("GIT_TRACE_BBS"));
	process_harden();	/* before any secret is read */
	if ((r = secret_stdio_init()) != 0)
		return err_report(r, ERR_LEVEL_FATAL, NULL);
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		version_print(stdout, "git-bbs");
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		/* asked for: stdout and success; no command: 129 */
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? BBS_EXIT_USAGE : BBS_EXIT_OK;
	}
	for (i = 0; i < BBS_ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			r = commands[i].fn(argc - 1, argv + 1);
			break;
		}
	}
	if (i == BBS_ARRAY_SIZE(commands)) {
		fprintf(stderr, "error: '%s' is not a git bbs command\n%s",
		    argv[1], usage_text);
		return BBS_EXIT_USAGE;
	}
	/* a token printed or a refresh token read went through stdio */
	if ((w = secret_stdio_wipe()) != 0 && r == 0)
		r = w;
	/* doctor's verdict is its exit status: 1 when a check is an error */
	if (r == BBS_E_REPORTED && commands[i].fn == doctor_run) {
		trace_close();
		return BBS_EXIT_ERROR;
	}
	r = err_report(r, ERR_LEVEL_FATAL, NULL);
	trace_close();
	return r;
}
