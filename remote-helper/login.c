/* SPDX-License-Identifier: MIT */
/*
 * login.c - the sign-in flows: browser (loopback listener or private-use
 * scheme), paste-back, device authorization and client credentials.
 *
 * Prompts and URLs go to the terminal or stderr, never stdout.  Every
 * wait is bounded; with no browser and no terminal nothing waits at all.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

#define TTY_LINE_MAX 8192

/* Whether a person can be asked something on a terminal. */
static int
terminal_available(void)
{
	const char *p = getenv("GIT_TERMINAL_PROMPT");
	int fd;

	if (p != NULL && (strcmp(p, "0") == 0 || strcasecmp(p, "false") == 0))
		return 0;
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		return 0;
	close(fd);
	return 1;
}

/* The program that opens URLs here, or NULL. */
static const char *
browser_program(void)
{
	const char *b = getenv("BROWSER");
	static const char *const openers[] = { "wslview", "explorer.exe",
		"xdg-open" };
	static char found[4096];
	const char *path, *p;
	size_t i;

	if (b != NULL && *b != '\0')
		return b;
#ifdef __APPLE__
	return "open";
#endif
	if (getenv("WSL_DISTRO_NAME") == NULL && getenv("DISPLAY") == NULL &&
	    getenv("WAYLAND_DISPLAY") == NULL)
		return NULL;
	if ((path = getenv("PATH")) == NULL)
		return NULL;
	for (i = 0; i < BBS_ARRAY_SIZE(openers); i++) {
		if (i < 2 && getenv("WSL_DISTRO_NAME") == NULL)
			continue;
		for (p = path; *p;) {
			size_t n = strcspn(p, ":");

			snprintf(found, sizeof(found), "%.*s/%s", (int)n, p,
			    openers[i]);
			if (access(found, X_OK) == 0)
				return found;
			p += n;
			if (*p == ':')
				p++;
		}
	}
	return NULL;
}

int
login_browser_available(void)
{
	return browser_program() != NULL;
}

/*
 * Start the browser on `url`, detached: an opener that blocks (or never
 * exits) must not hold us, so we do not wait for it (child_forget).  It
 * runs in a session of its own, with nothing of ours but the environment.
 */
static void
open_browser(const char *url, struct child *c)
{
	const char *prog = browser_program();
	const char *argv[3];
	struct child_opts o;

	c->pid = c->in = c->out = -1;
	if (prog == NULL)
		return;
	argv[0] = prog;
	argv[1] = url;
	argv[2] = NULL;
	memset(&o, 0, sizeof(o));
	o.stderr_null = 1;
	o.detach = 1;
	if (child_spawn(c, argv, &o) != 0) {
		trace_printf("login: %s", err_message());
		err_clear();
	}
}

/* Append `s` to `b` with HTML's special characters escaped. */
static int
html_escape(struct buf *b, const char *s)
{
	static const char *const ent[] = { "&amp;", "&lt;", "&gt;",
		"&quot;", "&#39;" };
	const char *special = "&<>\"'", *e;
	int r = 0;

	for (; *s != '\0' && r == 0; s++) {
		e = strchr(special, *s);
		r = e != NULL ? buf_addstr(b, ent[e - special]) :
		    buf_add(b, s, 1);
	}
	return r;
}

/* The file: URL of absolute path `path`, percent-encoded (caller frees). */
static char *
file_url(const char *path)
{
	struct buf b;
	int r;

	buf_init(&b, 16384);
	r = buf_addstr(&b, "file://");
	for (; *path != '\0' && r == 0; path++) {
		unsigned char ch = (unsigned char)*path;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("/-._~", ch) != NULL)
			r = buf_add(&b, path, 1);
		else
			r = buf_addf(&b, "%%%02X", ch);
	}
	if (r != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* The page that sends the browser on to `url`, into `b`. */
static int
page_build(struct buf *b, const char *url)
{
	int r;

	if ((r = buf_addstr(b, "<!doctype html><meta charset=utf-8>"
	    "<meta name=referrer content=no-referrer>"
	    "<meta http-equiv=refresh content=\"0;url=")) != 0 ||
	    (r = html_escape(b, url)) != 0 ||
	    (r = buf_addstr(b, "\"><title>Signing in</title>"
	    "<p><a id=next href=\"")) != 0 ||
	    (r = html_escape(b, url)) != 0)
		return r;
	return buf_addstr(b, "\">Continue to sign in</a><script>"
	    "location.replace(document.getElementById(\"next\").href)"
	    "</script>\n");
}

/*
 * Write a private page (0600, in the per-user 0700 hand-off directory)
 * that sends the browser on to `url`, so the authorization URL with its
 * state and code challenge never appears in a command line, which other
 * local users can read.  *path_out: the file, to remove after the wait.
 */
static int
browser_page(const char *url, char **path_out)
{
	char *dir, *path;
	struct buf b;
	int fd, r;

	*path_out = NULL;
	if ((r = callback_dir_create(&dir)) != 0)
		return r;
	path = xasprintf("%s/signin-XXXXXX.html", dir);
	free(dir);
	if ((fd = mkostemps(path, 5, O_CLOEXEC)) < 0) {
		r = err_set(BBS_E_IO, "cannot create '%s': %s", path,
		    strerror(errno));
		free(path);
		return r;
	}
	buf_init_secret(&b, 64 * 1024);
	if ((r = page_build(&b, url)) == 0 &&
	    write_fd_all(fd, b.ptr, b.len) != 0)
		r = err_set(BBS_E_IO, "cannot write '%s': %s", path,
		    strerror(errno));
	if (close(fd) != 0 && r == 0)
		r = err_set(BBS_E_IO, "cannot write '%s': %s", path,
		    strerror(errno));
	buf_release(&b);
	if (r != 0) {
		unlink(path);
		free(path);
		return r;
	}
	*path_out = path;
	return 0;
}

/* Open the browser on `url` through a private page; forget the page. */
static int
browser_start(const char *url, struct child *browser, char **page)
{
	char *furl;
	int r;

	if ((r = browser_page(url, page)) != 0)
		return r;
	if ((furl = file_url(*page)) == NULL)
		return err_set(BBS_E_TOO_BIG, "the sign-in page's path is too "
		    "long");
	open_browser(furl, browser);
	free(furl);
	return 0;
}

/* Remove the page and forget the browser. */
static void
browser_done(struct child *browser, char *page)
{
	if (page != NULL) {
		unlink(page);
		free(page);
	}
	child_forget(browser);
}

/* Tell the person something, on stderr (which git and IDEs show). */
static void
tell(const char *fmt, ...) BBS_ATTR_PRINTF(1, 2);

static void
tell(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/*
 * Ask on the terminal for the paste and read one line (bounded) into
 * *line.  With a listener `lb` (a loopback redirect URI) wait on both
 * until `timeout_ms`: a browser on this machine reaches the listener,
 * and what it accepts ends the wait with *code set and *line NULL.
 */
static int
paste_read(struct loopback *lb, const struct authz_expect *x,
    int64_t timeout_ms, char **line, char **code)
{
	char buf[TTY_LINE_MAX];
	FILE *tty;
	int r = LOOPBACK_FD_READY;

	*line = *code = NULL;
	if ((tty = fopen("/dev/tty", "r+e")) == NULL)
		return err_set(BBS_E_IO, "no terminal to ask on");
	fputs("Paste that address (or the code): ", tty);
	fflush(tty);
	if (lb->fd >= 0)
		r = loopback_wait_fd(lb, x, timeout_ms, fileno(tty), code);
	if (r == 0)
		fputs("\n", tty);	/* the listener got it: end the prompt */
	else if (r == LOOPBACK_FD_READY) {
		if (fgets(buf, sizeof(buf), tty) == NULL)
			r = err_set(BBS_E_CANCELLED, "nothing was entered");
		else {
			buf[strcspn(buf, "\r\n")] = '\0';
			*line = xstrdup(buf);
			r = 0;
		}
	}
	secret_wipe(buf, sizeof(buf));
	fclose(tty);
	return r;
}

/* A configured redirect URI, split as far as the browser flow needs. */
struct redirect {
	int loopback;		/* http to 127.0.0.1, [::1] or localhost */
	int ipv6;		/* [::1]: listen there */
	int localhost;		/* localhost: listen on both addresses */
	int port;		/* 0: none given; an ephemeral one goes in */
	size_t rest;		/* offset of what follows host and port (where
				   an ephemeral port goes) */
};

/*
 * `why` NULL: the URL parser's message says why.  The URI is shown with
 * its control bytes in caret notation: it may be refused for holding some.
 */
static int
bad_redirect(const char *uri, const char *why)
{
	char *shown = text_sanitized(uri, strnlen(uri, 200));

	if (why != NULL)
		err_set(BBS_E_INVALID, "unusable redirect URI '%s': %s", shown,
		    why);
	else
		err_reword(BBS_E_INVALID, "unusable redirect URI '%s'", shown);
	free(shown);
	err_hint("use http://127.0.0.1/PATH, http://[::1]/PATH or a "
	    "private-use scheme such as org.example.app:/callback");
	return BBS_E_INVALID;
}

/*
 * Parse a configured redirect URI: a loopback http URI (r->loopback) or a
 * private-use scheme; anything else is an error.  An http URI goes through
 * the one URL parser, and its host is compared whole (never by prefix).
 */
static int
redirect_parse(const char *uri, struct redirect *r)
{
	struct oauth_url u;
	size_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	n = strspn(uri, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789+.-");
	if (n == 0 || uri[n] != ':' || !isalpha((unsigned char)uri[0]))
		return bad_redirect(uri, "it has no scheme");
	if (n == 5 && strncasecmp(uri, "https", 5) == 0)
		return bad_redirect(uri, "an https address cannot reach this "
		    "program");
	if (n != 4 || strncasecmp(uri, "http", 4) != 0)
		return 0;	/* a private-use scheme */
	if (strncmp(uri + 4, "://", 3) != 0)
		return bad_redirect(uri, "it has no host");
	if (oauth_url_parse(&u, uri, 0) != 0)
		return bad_redirect(uri, NULL);
	if (u.userinfo != NULL)
		rc = bad_redirect(uri, "it has user information");
	else if (strchr(u.path, '#') != NULL)	/* RFC 6749 §3.1.2 */
		rc = bad_redirect(uri, "it has a fragment");
	else if (strcmp(u.host, "127.0.0.1") != 0 &&
	    strcmp(u.host, "::1") != 0 && strcmp(u.host, "localhost") != 0)
		rc = bad_redirect(uri, "http redirects must go to 127.0.0.1, "
		    "[::1] or localhost");
	else {
		r->loopback = 1;
		r->ipv6 = strcmp(u.host, "::1") == 0;
		r->localhost = strcmp(u.host, "localhost") == 0;
		r->port = u.port_given ? u.port : 0;
		r->rest = u.path_at;
		rc = 0;
	}
	oauth_url_release(&u);
	return rc;
}

/*
 * Listen for the loopback redirect and set *redirect to the URI to send:
 * the configured one with an ephemeral port inserted when it names none
 * (the server must ignore the port, RFC 8252 §7.3), or the default.
 */
static int
redirect_listen(const char *configured, const struct redirect *rd,
    struct loopback *lb, char **redirect)
{
	int r;

	/*
	 * localhost may take the browser to 127.0.0.1 or to [::1]: hold
	 * the port on both, or another local user could listen on the
	 * other and be handed the code and the state.
	 */
	r = rd->localhost ? loopback_listen_localhost(lb, rd->port) :
	    loopback_listen_on(lb, rd->ipv6, rd->port);
	if (r != 0)
		return r;
	if (configured == NULL)
		*redirect = xasprintf("http://127.0.0.1:%d/", lb->port);
	else if (rd->port != 0)
		*redirect = xstrdup(configured);
	else
		*redirect = xasprintf("%.*s:%d%s", (int)rd->rest,
		    configured, lb->port, configured + rd->rest);
	return 0;
}

static int
flow_authcode(struct session *s, int paste, struct oauth_token *tok)
{
	struct oauth_client *c = &s->oc;
	struct authz_expect x;
	struct loopback lb = LOOPBACK_INIT;
	struct callback_listener cl = { -1, NULL };
	char verifier[PKCE_VERIFIER_LEN + 1], challenge[PKCE_CHALLENGE_LEN + 1];
	char state[48], *redirect = NULL, *url = NULL, *code = NULL;
	char *line = NULL, *page = NULL;
	struct child browser = { -1, -1, -1 };
	struct redirect rd;
	int r, loopback = 0;
	int64_t timeout_ms = (int64_t)s->settings->login_timeout * 1000;

	if (c->ep.authorize_url == NULL)
		return err_set(BBS_E_UNSUPPORTED, "the server offers no browser "
		    "sign-in (no authorization endpoint)");
	if ((r = pkce_new(verifier, challenge)) != 0 ||
	    (r = random_token(state, sizeof(state), 32)) != 0)
		return r;
	x.state = state;
	x.issuer = c->ep.issuer;
	x.iss_required = c->ep.iss_supported;

	/*
	 * A loopback redirect is listened on in the paste flow too: a port
	 * that nobody holds could be taken by another local user, whom the
	 * browser would then hand the code and the state.
	 */
	if (c->redirect_uri != NULL &&
	    (r = redirect_parse(c->redirect_uri, &rd)) != 0) {
		goto out;
	} else if (c->redirect_uri == NULL || rd.loopback) {
		loopback = 1;
		if (c->redirect_uri == NULL)
			memset(&rd, 0, sizeof(rd));
		if ((r = redirect_listen(c->redirect_uri, &rd, &lb,
		    &redirect)) != 0)
			goto out;
	} else if (paste) {
		redirect = xstrdup(c->redirect_uri);
	} else {
		/* a private-use scheme: the OS runs `git bbs callback` */
		if ((r = scheme_ensure_registered(c->redirect_uri)) != 0 ||
		    (r = callback_listen(&cl, state)) != 0)
			goto out;
		redirect = xstrdup(c->redirect_uri);
	}
	url = oauth_authorize_url(c, redirect, state, challenge);
	if (paste) {
		tell("To sign in, open this address in a browser on any "
		    "device:\n\n  %s\n\nAfter approving, the browser ends on a "
		    "page that may not load; copy its address.\n", url);
		if (loopback)
			tell("(A browser on this machine completes the sign-in "
			    "by itself; waiting up to %ld seconds.)\n",
			    s->settings->login_timeout);
		if ((r = paste_read(&lb, &x, timeout_ms, &line, &code)) != 0)
			goto out;
		if (code != NULL)
			;	/* the listener accepted the response */
		else if (strchr(line, '?') != NULL)
			r = authz_response_check(strchr(line, '?') + 1, &x,
			    &code);
		else if (strncmp(line, "code=", 5) == 0 ||
		    strstr(line, "&state=") != NULL)
			r = authz_response_check(line, &x, &code);
		else if (line[0] != '\0' && strchr(line, ' ') == NULL) {
			code = line;	/* a bare code: PKCE still binds it */
			line = NULL;
		} else
			r = err_set(BBS_E_INVALID, "that is neither an address "
			    "nor a code");
	} else {
		tell("Opening the browser to sign in. If it does not open, "
		    "visit:\n\n  %s\n\nWaiting up to %ld seconds...\n", url,
		    s->settings->login_timeout);
		if (login_browser_available() &&
		    (r = browser_start(url, &browser, &page)) != 0)
			goto out;
		if (loopback)
			r = loopback_wait(&lb, &x, timeout_ms, &code);
		else
			r = callback_wait(&cl, &x, timeout_ms, &code);
	}
	if (r != 0)
		goto out;
	r = oauth_exchange_code(c, code, verifier, redirect, tok);
	if (r == 0)
		tok->redirect_uri = xstrdup(redirect);
out:
	browser_done(&browser, page);
	loopback_close(&lb);
	callback_close(&cl);
	secret_wipe(verifier, sizeof(verifier));
	secret_wipe(state, sizeof(state));
	secret_free(code);
	secret_free(line);
	free(redirect);
	secret_free(url);
	return r;
}

static int
flow_device(struct session *s, struct oauth_token *tok)
{
	struct oauth_device d;
	int r;

	if ((r = oauth_device_start(&s->oc, &d)) != 0)
		return r;
	if (d.verification_uri_complete != NULL)
		tell("To sign in, open\n\n  %s\n\nand check that it shows the "
		    "code %s (it expires in %ld seconds).\n",
		    d.verification_uri_complete, d.user_code, d.expires_in);
	else
		tell("To sign in, open\n\n  %s\n\nand enter the code %s (it "
		    "expires in %ld seconds).\n", d.verification_uri,
		    d.user_code, d.expires_in);
	r = oauth_device_poll(&s->oc, &d, tok);
	oauth_device_release(&d);
	return r;
}

/* SPEC's flow=auto: what can reach a person here decides. */
static const char *
flow_auto(struct session *s)
{
	const struct provider *p = provider_by_name(s->oc.provider);
	int tty = terminal_available(), cc;

	cc = s->oc.client_secret != NULL && p != NULL &&
	    p->secret_means_client_credentials;
	if (cc && s->oc.ep.authorize_url == NULL)
		return "client-credentials";
	if (login_browser_available())
		return "browser";
	if (tty)
		return s->oc.ep.device_url ? "device" : "paste";
	if (cc)
		return "client-credentials";
	return NULL;
}

const char *
login_auto_flow(struct session *s, const char **why)
{
	const char *flow = flow_auto(s);

	if (flow == NULL)
		*why = "no browser can be opened and there is no terminal";
	else if (strcmp(flow, "browser") == 0)
		*why = "a browser can be opened";
	else if (strcmp(flow, "device") == 0)
		*why = "no browser, a terminal, and the server offers the "
		    "device grant";
	else if (strcmp(flow, "paste") == 0)
		*why = "no browser, a terminal, and no device grant at the "
		    "server";
	else
		*why = "a client secret is configured and nobody can be asked";
	return flow;
}

int
login_terminal_available(void)
{
	return terminal_available();
}

static int login_run_flow(struct session *s, const char *flow,
    char **account_out);

static void
on_interrupt(int sig)
{
	(void)sig;	/* the sign-in waits and the requests read the flag */
	http_cancel();
}

int
login_run(struct session *s, const char *flow, char **account_out)
{
	struct sigaction sa, old_int, old_term;
	int r;

	*account_out = NULL;
	/*
	 * Ctrl-C during a sign-in ends the wait, closes the listener and
	 * removes the hand-off socket before the process goes.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	r = login_run_flow(s, flow, account_out);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return r;
}

static int
login_run_flow(struct session *s, const char *flow, char **account_out)
{
	struct oauth_token tok;
	char *u;
	int r;

	memset(&tok, 0, sizeof(tok));
	if ((r = session_endpoints(s)) != 0)
		return r;
	if (flow == NULL || strcmp(flow, "auto") == 0) {
		if ((flow = flow_auto(s)) == NULL && s->unusable != NULL) {
			u = session_login_url(s);
			err_set(BBS_E_AUTH_REQUIRED, "%s, and no browser or "
			    "terminal is available to sign in again",
			    s->unusable);
			err_hint("sign in again with: git bbs login %s", u);
			free(u);
			return BBS_E_AUTH_REQUIRED;
		}
		if (flow == NULL) {
			u = session_login_url(s);
			err_set(BBS_E_AUTH_REQUIRED, "not signed in to '%s', and "
			    "no browser or terminal is available to sign in",
			    s->url->host);
			err_hint("sign in with: git bbs login %s", u);
			free(u);
			return BBS_E_AUTH_REQUIRED;
		}
	}
	trace_printf("login: flow %s", flow);
	if (strcmp(flow, "browser") == 0)
		r = flow_authcode(s, 0, &tok);
	else if (strcmp(flow, "paste") == 0) {
		if (!terminal_available())
			return err_set(BBS_E_INVALID, "the paste flow needs a "
			    "terminal");
		r = flow_authcode(s, 1, &tok);
	} else if (strcmp(flow, "device") == 0)
		r = flow_device(s, &tok);
	else if (strcmp(flow, "client-credentials") == 0) {
		r = oauth_client_credentials(&s->oc, &tok);
		if (r == 0)
			tok.grant = xstrdup("client_credentials");
	}
	else
		return err_set(BBS_E_INVALID, "unknown flow '%s' (use auto, "
		    "browser, device, paste or client-credentials)", flow);
	/* a signal during the last request: keep nothing */
	if (http_was_cancelled()) {
		err_clear();
		r = err_set(BBS_E_CANCELLED, "sign-in interrupted");
	}
	if (r == 0)
		r = session_store_new(s, &tok, account_out);
	if (r == 0)
		signin_cooldown_clear(s);
	oauth_token_release(&tok);
	return r;
}
