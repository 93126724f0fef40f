/*
 * login.c - the sign-in flows: browser (loopback listener or private-use
 * scheme), paste-back, device authorization and client credentials.
 *
 * Prompts and URLs go to the terminal or stderr, never stdout.  Every
 * wait is bounded; with no browser and no terminal nothing waits at all.
 */
#include "config.h"

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
 * Start the browser on `url`, fully detached: an opener that blocks (or
 * never exits) must not hold us, so we do not wait for it.
 */
static void
open_browser(const char *url)
{
	const char *prog = browser_program();
	pid_t pid;
	int st, fd;

	if (prog == NULL)
		return;
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(prog, prog, url, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
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

/* Read one line from the terminal (bounded). */
static int
tty_read_line(const char *prompt, char **out)
{
	char line[TTY_LINE_MAX];
	FILE *tty;
	int r = 0;

	*out = NULL;
	if ((tty = fopen("/dev/tty", "r+e")) == NULL)
		return err_set(BBS_E_IO, "no terminal to ask on");
	fputs(prompt, tty);
	fflush(tty);
	if (fgets(line, sizeof(line), tty) == NULL)
		r = err_set(BBS_E_CANCELLED, "nothing was entered");
	else {
		line[strcspn(line, "\r\n")] = '\0';
		*out = xstrdup(line);
	}
	secret_wipe(line, sizeof(line));
	fclose(tty);
	return r;
}

/* Split a loopback redirect URI into port and validity. */
static int
loopback_redirect_port(const char *uri, int *port)
{
	const char *p;

	*port = 0;
	if (strncmp(uri, "http://127.0.0.1", 16) == 0)
		p = uri + 16;
	else if (strncmp(uri, "http://localhost", 16) == 0)
		p = uri + 16;
	else if (strncmp(uri, "http://[::1]", 12) == 0)
		return 0;	/* IPv6 listener not offered: treated as scheme */
	else
		return 0;
	if (*p == ':')
		*port = atoi(p + 1);
	return 1;
}

static int
flow_authcode(struct session *s, int paste, struct oauth_token *tok)
{
	struct oauth_client *c = &s->oc;
	struct authz_expect x;
	struct loopback lb = { -1, 0 };
	struct callback_listener cl = { -1, NULL };
	char verifier[PKCE_VERIFIER_LEN + 1], challenge[PKCE_CHALLENGE_LEN + 1];
	char state[48], *redirect = NULL, *url = NULL, *code = NULL;
	char *line = NULL;
	int r, port, loopback = 0;
	long timeout = s->settings->login_timeout;

	if (c->ep.authorize_url == NULL)
		return err_set(BBS_E_UNSUPPORTED, "the server offers no browser "
		    "sign-in (no authorization endpoint)");
	if ((r = pkce_new(verifier, challenge)) != 0 ||
	    (r = random_token(state, sizeof(state), 32)) != 0)
		return r;
	x.state = state;
	x.issuer = c->ep.issuer;
	x.iss_required = c->ep.iss_supported;

	if (paste) {
		redirect = xstrdup(c->redirect_uri ? c->redirect_uri :
		    "http://127.0.0.1/");
	} else if (c->redirect_uri == NULL ||
	    loopback_redirect_port(c->redirect_uri, &port)) {
		loopback = 1;
		if (c->redirect_uri == NULL)
			port = 0;
		if ((r = loopback_listen(&lb, port)) != 0)
			goto out;
		redirect = c->redirect_uri ? xstrdup(c->redirect_uri) :
		    xasprintf("http://127.0.0.1:%d/", lb.port);
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
		if ((r = tty_read_line("Paste that address (or the code): ",
		    &line)) != 0)
			goto out;
		if (strchr(line, '?') != NULL)
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
		    timeout);
		open_browser(url);
		if (loopback)
			r = loopback_wait(&lb, &x, (int)(timeout * 1000), &code);
		else
			r = callback_wait(&cl, &x, (int)(timeout * 1000), &code);
	}
	if (r != 0)
		goto out;
	r = oauth_exchange_code(c, code, verifier, redirect, tok);
	if (r == 0)
		tok->redirect_uri = xstrdup(redirect);
out:
	loopback_close(&lb);
	callback_close(&cl);
	secret_wipe(verifier, sizeof(verifier));
	secret_wipe(state, sizeof(state));
	secret_free(code);
	secret_free(line);
	free(redirect);
	free(url);
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
	int tty = terminal_available();

	if (s->oc.client_secret != NULL &&
	    strcmp(s->oc.provider, "bitbucket-cloud") != 0 &&
	    s->oc.ep.authorize_url == NULL)
		return "client-credentials";
	if (login_browser_available())
		return "browser";
	if (tty)
		return s->oc.ep.device_url ? "device" : "paste";
	if (s->oc.client_secret != NULL &&
	    strcmp(s->oc.provider, "bitbucket-cloud") != 0)
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
	(void)sig;	/* only interrupts the wait: poll() returns EINTR */
}

int
login_run(struct session *s, const char *flow, char **account_out)
{
	struct sigaction sa, old_int, old_term;
	int r;

	*account_out = NULL;
	session_protect_process();
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
		if ((flow = flow_auto(s)) == NULL) {
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
	else if (strcmp(flow, "client-credentials") == 0)
		r = oauth_client_credentials(&s->oc, &tok);
	else
		return err_set(BBS_E_INVALID, "unknown flow '%s' (use auto, "
		    "browser, device, paste or client-credentials)", flow);
	if (r == 0)
		r = session_store_new(s, &tok, account_out);
	oauth_token_release(&tok);
	return r;
}
