/* SPDX-License-Identifier: MIT */
/*
 * doctor.c - `git bbs doctor [--offline] [<url>]`: why git is not working,
 * and what to type.
 *
 * One line a check, "ok", "warning", "error" or "skipped", each non-ok
 * line followed by the fix.  Exit status 1 when any check is an error
 * (something that stops git from working), else 0.  Nothing secret is
 * ever printed: tokens, secrets and passwords are only counted or named
 * by where they are kept.  With --offline no network check runs.
 *
 * Without a URL the remotes of the current repository that use bbs:: are
 * checked, each as if it had been named.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "helper.h"

#define CLOCK_SKEW_WARN 30	/* seconds */

enum level { L_OK, L_WARN, L_ERROR, L_SKIP };

struct doctor {
	int offline;
	int errors;
	int warnings;
	int credhelper;		/* the default store: the credential helper */
};

/* One check: LEVEL: TEXT, then "  fix: FIX" for a warning or an error. */
static void BBS_ATTR_PRINTF(4, 5)
check(struct doctor *d, enum level lv, const char *fix, const char *fmt, ...)
{
	static const char *const names[] = { "ok", "warning", "error",
		"skipped" };
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	printf("%-8s", names[lv]);
	print_clean(stdout, text);
	putchar('\n');
	if ((lv == L_WARN || lv == L_ERROR) && fix != NULL) {
		printf("  fix: ");
		print_clean(stdout, fix);
		putchar('\n');
	}
	if (lv == L_ERROR)
		d->errors++;
	else if (lv == L_WARN)
		d->warnings++;
}

/* The full path of `prog` on PATH into `out`; 0 if found. */
static int
find_on_path(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p;

	if (path == NULL)
		return -1;
	for (p = path; *p != '\0';) {
		size_t n = strcspn(p, ":");

		if (n > 0 && (size_t)snprintf(out, len, "%.*s/%s", (int)n, p,
		    prog) < len && access(out, X_OK) == 0)
			return 0;
		p += n;
		if (*p == ':')
			p++;
	}
	return -1;
}

/* First line of a command's output (stderr discarded), or "". */
static void
first_line(const char *const argv[], char *out, size_t len)
{
	struct buf b;

	out[0] = '\0';
	buf_init(&b, BUF_MAX_DEFAULT);
	if (run_quiet(argv, NULL, &b) == 0 && b.ptr != NULL)
		snprintf(out, len, "%.*s", (int)strcspn(b.ptr, "\n"), b.ptr);
	err_clear();
	buf_release(&b);
}

static void
check_programs(struct doctor *d)
{
	static const char *const git_version[] = { "git", "--version", NULL };
	static const char *const lfs_version[] = { "git-lfs", "version",
		NULL };
	char path[4096], gitv[256], lfsv[256];
	int major = 0, minor = 0, rev = 0;
	const char *progs[] = { "git", "git-remote-bbs", "git-credential-bbs" };
	size_t i;

	for (i = 0; i < BBS_ARRAY_SIZE(progs); i++) {
		if (find_on_path(progs[i], path, sizeof(path)) == 0)
			check(d, L_OK, NULL, "%s: %s", progs[i], path);
		else
			check(d, L_ERROR, "install git-remote-bbs (make install, "
			    "or the Debian package) or add its directory to PATH",
			    "%s is not on PATH", progs[i]);
	}
	first_line(git_version, gitv, sizeof(gitv));
	git_libgit2_version(&major, &minor, &rev);
	check(d, L_OK, NULL, "versions: %s; git-remote-bbs %s with libgit2 "
	    "%d.%d.%d, libcurl %s", gitv[0] ? gitv : "git (unknown version)",
	    PACKAGE_VERSION, major, minor, rev, http_library_version());
	if (find_on_path("git-lfs", path, sizeof(path)) == 0) {
		first_line(lfs_version, lfsv, sizeof(lfsv));
		check(d, L_OK, NULL, "git-lfs: %s", lfsv[0] ? lfsv : path);
	} else {
		check(d, L_OK, NULL, "git-lfs: not installed (needed only for "
		    "repositories that use Git LFS)");
	}
}

/* The value of a git config key (first line of git config --get), or "". */
static void
git_config_value(const char *key, const char *urlmatch, char *out,
    size_t len)
{
	const char *plain[] = { "git", "config", "--get", key, NULL };
	const char *match[] = { "git", "config", "--get-urlmatch", key,
	    urlmatch, NULL };

	first_line(urlmatch != NULL ? match : plain, out, len);
}

static void
check_submodules(struct doctor *d)
{
	char v[64];

	git_config_value("protocol.bbs.allow", NULL, v, sizeof(v));
	if (strcmp(v, "always") == 0)
		check(d, L_OK, NULL, "submodules: protocol.bbs.allow=always");
	else
		check(d, L_WARN, "git config --global protocol.bbs.allow always",
		    "submodules: protocol.bbs.allow is %s%s%s: git refuses "
		    "bbs:: submodule URLs in 'git submodule update' and "
		    "'clone --recurse-submodules'", v[0] ? "'" : "not set",
		    v, v[0] ? "'" : "");
}

/* The store file: location, owner, mode (1: usable). */
static int
check_store_file(struct doctor *d, const char *dir)
{
	char path[4096], fix[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/tokens.json", dir);
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT) {
			check(d, L_OK, NULL, "token store: %s (empty: nobody "
			    "has signed in yet)", path);
			return 1;
		}
		check(d, L_ERROR, "check the permissions of the directory",
		    "token store: cannot read %s: %s", path, strerror(errno));
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		check(d, L_ERROR, "remove it; git bbs login writes a new one",
		    "token store: %s is not a regular file", path);
		return 0;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(fix, sizeof(fix), "chmod 600 '%s' (and make sure you "
		    "own it)", path);
		check(d, L_ERROR, fix, "token store: %s is readable by others "
		    "or not yours (mode %03o); it is refused", path,
		    (unsigned)(st.st_mode & 0777));
		return 0;
	}
	check(d, L_OK, NULL, "token store: %s (mode 600)", path);
	return 1;
}

/*
 * bbs.tokenStore=credential-helper: the helpers `git credential` would
 * ask, as git reads credential.helper (an empty value empties the list).
 */
static void
check_store_credhelper(struct doctor *d)
{
	const char *argv[] = { "git", "config", "-z", "--get-all",
	    "credential.helper", NULL };
	const char *fix = "git config --global credential.helper <helper> "
	    "(e.g. libsecret), or keep grants in the file: git config "
	    "--global --unset bbs.tokenStore";
	struct buf b, list;
	size_t off;
	int cache = 0;

	buf_init(&b, (size_t)64 * 1024);
	buf_init(&list, (size_t)64 * 1024);
	if (run_quiet(argv, NULL, &b) < 0)
		err_clear();
	for (off = 0; b.ptr != NULL && off < b.len;) {
		const char *v = b.ptr + off;

		off += strlen(v) + 1;
		if (*v == '\0') {
			list.len = 0;
			cache = 0;
			continue;
		}
		/* only its name: a shell helper ("!...") may hold a secret */
		if (*v == '!')
			buf_addf(&list, "%sa shell command", list.len ? ", " :
			    "");
		else
			buf_addf(&list, "%s'%.*s'", list.len ? ", " : "",
			    (int)strcspn(v, " \t"), v);
		cache |= strcmp(v, "cache") == 0 ||
		    strncmp(v, "cache ", 6) == 0;
	}
	if (list.len == 0)
		check(d, L_ERROR, fix, "token store: bbs.tokenStore is "
		    "credential-helper, but no credential.helper is set: no "
		    "sign-in can be kept");
	else
		check(d, L_OK, NULL, "token store: git's credential helpers "
		    "(bbs.tokenStore=credential-helper): %s", list.ptr);
	if (cache)
		check(d, L_WARN, fix, "token store: the 'cache' helper keeps "
		    "grants in memory only: once its timeout passes (or the "
		    "machine restarts), every account must sign in again");
	buf_release(&list);
	buf_release(&b);
}

/*
 * The store's lock: a lock held now is held by a live process (the
 * kernel drops the locks of the dead, so a leftover lock file never
 * blocks anyone).
 */
static void
check_store_lock(struct doctor *d, const char *dir)
{
	char path[4096];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/lock", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) >= 0) {
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid()) {
			check(d, L_ERROR, "remove it; the next git command "
			    "makes a new one", "token store lock: %s is not "
			    "a file of yours", path);
		} else if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			flock(fd, LOCK_UN);
			check(d, L_OK, NULL, "token store lock: free");
		} else {
			check(d, L_OK, NULL, "token store lock: held by a "
			    "running git process (a refresh in progress)");
		}
		close(fd);
	}
}

/* The grants of one URL's session: how many, expiry, refresh token. */
static void
check_grants(struct doctor *d, struct remote_ctx *c, const char *url)
{
	struct store st;
	struct store_entry *e;
	char fix[1200];
	size_t i, n = 0;
	int64_t now = time(NULL);
	int r;

	snprintf(fix, sizeof(fix), "git bbs login %s", url);
	if ((r = session_store_open(&c->s, &st)) != 0) {
		check(d, L_ERROR, "fix or remove the store file; then git bbs "
		    "login", "token store: %s", err_message() ?
		    err_message() : "cannot be read");
		err_clear();
		store_release(&st);
		return;
	}
	for (i = 0; i < st.nr; i++) {
		e = &st.e[i];
		if (strcmp(e->key, c->s.key) != 0)
			continue;
		n++;
		if (e->tok.refresh_token == NULL && e->tok.expires_at != 0 &&
		    e->tok.expires_at <= now)
			check(d, L_ERROR, fix, "sign-in: account '%s': the "
			    "access token has expired and no refresh token is "
			    "kept", e->account);
		else if (e->tok.refresh_token == NULL)
			check(d, L_WARN, fix, "sign-in: account '%s': no refresh "
			    "token is kept: a new sign-in is needed when the "
			    "access token expires", e->account);
		else if (e->tok.expires_at != 0 && e->tok.expires_at <= now)
			check(d, L_OK, NULL, "sign-in: account '%s': access "
			    "token expired, a refresh token is kept (the next "
			    "git command refreshes)", e->account);
		else
			check(d, L_OK, NULL, "sign-in: account '%s': access token "
			    "valid for %lld more minutes, refresh token %s",
			    e->account, e->tok.expires_at ?
			    (long long)(e->tok.expires_at - now) / 60 : -1LL,
			    e->tok.refresh_token ? "kept" : "not kept");
	}
	if (n == 0)
		check(d, L_ERROR, fix, "sign-in: nobody is signed in to %s "
		    "with this client", c->url.host);
	store_release(&st);
}

/* Discovery and the token endpoint answer; TLS verified; the clock. */
static void
check_servers(struct doctor *d, struct remote_ctx *c)
{
	struct http_request req;
	struct http_response resp;
	struct http_stream *s = NULL;
	const char *url;
	int r;

	if (d->offline) {
		check(d, L_SKIP, NULL, "servers: not contacted (--offline)");
		return;
	}
	if (c->s.oc.ep.issuer != NULL && !c->s.discovered) {
		if ((r = session_endpoints(&c->s)) != 0) {
			check(d, L_ERROR, "check the issuer URL and the network",
			    "discovery at %s: %s", c->s.oc.ep.issuer,
			    err_message() ? err_message() : "failed");
			err_clear();
			return;
		}
		check(d, L_OK, NULL, "discovery: %s answered",
		    c->s.oc.ep.issuer);
	}
	if ((url = c->s.oc.ep.token_url) == NULL) {
		check(d, L_ERROR, "set bbs.<url>.tokenUrl or bbs.<url>.issuer",
		    "token endpoint: none is known");
		return;
	}
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = "GET";
	req.url = url;
	req.body_fd = -1;
	req.allow_http = 1;	/* http_open refuses it for non-loopback */
	req.timeout = 20;
	r = http_open(&s, &resp, c->conn.http, &req);
	if (r != 0) {
		check(d, L_ERROR, r == BBS_E_TLS ? "install the server's CA "
		    "(http.<url>.sslCAInfo) or fix the clock" :
		    "check the network, the proxy (http.proxy) and the URL",
		    "token endpoint %s: %s", url, err_message() ?
		    err_message() : "unreachable");
		err_clear();
		return;
	}
	check(d, L_OK, NULL, "token endpoint %s: reachable (HTTP %ld)%s", url,
	    resp.status, strncmp(url, "https:", 6) == 0 ?
	    (c->cfg.ssl_verify ? ", TLS verified" : ", TLS NOT verified") : "");
	if (!c->cfg.ssl_verify)
		check(d, L_WARN, "git config --unset http.sslVerify (and "
		    "install the server's CA with http.sslCAInfo)",
		    "TLS verification is off for %s", url);
	if (resp.date != 0) {
		long long skew = (long long)(time(NULL) - resp.date);

		if (skew > CLOCK_SKEW_WARN || skew < -CLOCK_SKEW_WARN)
			check(d, L_WARN, "set the clock (timedatectl "
			    "set-ntp true)", "clock: %lld s off the server's "
			    "(tokens may look expired or valid when they are "
			    "not)", skew);
		else
			check(d, L_OK, NULL, "clock: within %d s of the "
			    "server's", CLOCK_SKEW_WARN);
	}
	http_stream_free(s);
	http_response_release(&resp);
}

static void
check_scheme(struct doctor *d, const char *redirect)
{
	char *scheme = scheme_of_redirect(redirect), handler[512], fix[300];
	int r;

	if (scheme == NULL)
		return;
	snprintf(fix, sizeof(fix), "git bbs callback --register %s", scheme);
	r = scheme_handler(scheme, handler, sizeof(handler));
	if (r < 0)
		check(d, L_WARN, "install xdg-utils, or use a loopback redirect",
		    "scheme %s: xdg-mime cannot be run: cannot tell who "
		    "handles it", scheme);
	else if (r > 0)
		check(d, L_OK, NULL, "scheme %s: handled by %s", scheme, handler);
	else
		check(d, L_WARN, fix, "scheme %s: no handler is registered "
		    "(git bbs login registers one before it opens the browser)",
		    scheme);
	free(scheme);
}

static void
check_config(struct doctor *d, struct remote_ctx *c, const char *url)
{
	const struct oauth_settings *o = &c->cfg.oauth;
	const char *flow, *why;
	char fix[1200], from[600];

	session_client_from(&c->s, from, sizeof(from));
	check(d, L_OK, NULL, "provider: %s%s", c->s.oc.provider,
	    o->ep.issuer ? " (issuer configured)" : "");
	check(d, L_OK, NULL, "client: %s", from);
	check(d, L_OK, NULL, "endpoints: authorize %s, token %s%s%s",
	    c->s.oc.ep.authorize_url ? c->s.oc.ep.authorize_url :
	    o->ep.issuer ? "(discovered)" : "(none)",
	    c->s.oc.ep.token_url ? c->s.oc.ep.token_url :
	    o->ep.issuer ? "(discovered)" : "(none)",
	    c->s.oc.ep.device_url ? ", device " : "",
	    c->s.oc.ep.device_url ? c->s.oc.ep.device_url : "");
	flow = login_auto_flow(&c->s, &why);
	snprintf(fix, sizeof(fix), "git bbs login %s (in a terminal, or "
	    "with BROWSER set)", url);
	check(d, flow ? L_OK : L_WARN, fix, "sign-in here: flow %s, flow=auto "
	    "would use %s (%s); a browser %s, a terminal %s",
	    o->flow ? o->flow : "auto", flow ? flow : "nothing", why,
	    login_browser_available() ? "can be opened" : "cannot be opened",
	    login_terminal_available() ? "is there" : "is not");
	check(d, L_OK, NULL, "redirect URI: %s", o->redirect_uri ?
	    o->redirect_uri : "http://127.0.0.1:<free port>/ (the default)");
	check_scheme(d, o->redirect_uri);
}

/* Stale passwords: helpers git would ask for the plain https URL. */
static void
check_passwords(struct doctor *d, const struct remote_url *u)
{
	char host[512];
	int found = 0, r;

	if (u->port == (strcmp(u->scheme, "https") == 0 ? 443 : 80))
		snprintf(host, sizeof(host), "%s", u->host);
	else
		snprintf(host, sizeof(host), "%s:%d", u->host, u->port);
	fflush(stdout);
	r = stale_passwords(u->scheme, host, 0, 0, &found);
	if (r != 0) {
		check(d, L_WARN, NULL, "saved passwords: cannot ask the "
		    "credential helpers: %s", err_message() ? err_message() :
		    "failed");
		err_clear();
	} else if (found > 0) {
		check(d, L_ERROR, "git bbs migrate --forget-passwords (in the "
		    "repository), or: printf 'protocol=https\\nhost=HOST\\n\\n' "
		    "| git credential reject", "saved passwords: %d kept for "
		    "%s (an account or app password from before): git sends it "
		    "for plain https:// remotes and it fails", found, host);
	} else {
		check(d, L_OK, NULL, "saved passwords: none for %s", host);
	}
}

static void
check_lfs(struct doctor *d, const char *remote)
{
	char key[300], v[1024], filter[256];

	git_config_value("filter.lfs.process", NULL, filter, sizeof(filter));
	if (filter[0] == '\0' || remote == NULL)
		return;
	snprintf(key, sizeof(key), "remote.%s.lfsurl", remote);
	git_config_value(key, NULL, v, sizeof(v));
	if (v[0] != '\0')
		check(d, L_OK, NULL, "git lfs: %s = %s", key, v);
	else
		check(d, L_WARN, "git fetch (the helper writes it), or set it "
		    "to the https:// LFS URL", "git lfs: %s is not set: git-lfs "
		    "cannot reach the server of a bbs:: remote", key);
}

/* All checks for one URL (remote names it when it came from a remote). */
static void
doctor_url(struct doctor *d, const char *url, const char *remote)
{
	struct remote_ctx c;
	char fix[1200];
	int r;

	printf("\n");
	print_clean(stdout, remote != NULL ? remote : "URL");
	printf(": ");
	print_url(stdout, url);
	printf("\n");
	if ((r = remote_ctx_config(&c, url)) != 0) {
		check(d, L_ERROR, "fix the URL or its configuration",
		    "configuration: %s", err_message() ? err_message() :
		    "cannot be read");
		err_clear();
		remote_ctx_release(&c);
		return;
	}
	if ((r = remote_ctx_session(&c)) != 0) {
		snprintf(fix, sizeof(fix), "%s", err_hint_message() ?
		    err_hint_message() : "set bbs.<url>.clientId and, for a "
		    "server other than Bitbucket Cloud, bbs.<url>.provider or "
		    "bbs.<url>.issuer");
		check(d, L_ERROR, fix, "configuration: %s", err_message() ?
		    err_message() : "incomplete");
		err_clear();
		check_passwords(d, &c.url);
		remote_ctx_release(&c);
		return;
	}
	check_config(d, &c, url);
	if (c.s.credhelper != d->credhelper)
		check(d, L_OK, NULL, "token store: for this URL, %s "
		    "(bbs.<url>.tokenStore)", c.s.credhelper ? "git's "
		    "credential helpers" : "the file");
	check_servers(d, &c);
	check_grants(d, &c, url);
	check_lfs(d, remote);
	check_passwords(d, &c.url);
	remote_ctx_release(&c);
}

/* Every remote of the current repository whose URL uses bbs. */
static int
doctor_remotes(struct doctor *d)
{
	const char *argv[] = { "git", "config", "-z", "--get-regexp",
	    "^remote\\..*\\.url$", NULL };
	struct buf b;
	size_t off;
	int n = 0;

	buf_init_secret(&b, (size_t)1024 * 1024);	/* URLs may hold passwords */
	if (run_quiet(argv, NULL, &b) != 0 || b.ptr == NULL) {
		err_clear();
		buf_release(&b);
		return 0;
	}
	for (off = 0; off < b.len;) {
		char *entry = b.ptr + off, *nl, *name;

		off += strlen(entry) + 1;
		if ((nl = strchr(entry, '\n')) == NULL)
			continue;
		*nl = '\0';
		if (strncmp(nl + 1, "bbs::", 5) != 0 &&
		    strncmp(nl + 1, "bbs://", 6) != 0)
			continue;
		/* remote.<name>.url */
		name = xstrndup(entry + 7, strlen(entry) - 7 - 4);
		doctor_url(d, nl + 1, name);
		free(name);
		n++;
	}
	buf_release(&b);
	return n;
}

int
doctor_run(int argc, char **argv)
{
	struct doctor d;
	const char *url = NULL;
	char *dir;
	int i;

	memset(&d, 0, sizeof(d));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--offline") == 0)
			d.offline = 1;
		else if (argv[i][0] == '-' || url != NULL)
			return err_set(BBS_E_USAGE, "git bbs doctor "
			    "[--offline] [<url>]");
		else
			url = argv[i];
	}
	check_programs(&d);
	check_submodules(&d);
	if (session_store_dir(&dir) == 0) {
		if (session_default_store(&d.credhelper) != 0) {
			check(&d, L_ERROR, "fix the configuration",
			    "token store: %s", err_message() ? err_message() :
			    "the configuration cannot be read");
			err_clear();
		} else if (d.credhelper) {
			check_store_credhelper(&d);
			check_store_lock(&d, dir);
		} else if (check_store_file(&d, dir))
			check_store_lock(&d, dir);
		free(dir);
	} else {
		check(&d, L_ERROR, "set HOME", "token store: %s",
		    err_message() ? err_message() : "no location");
		err_clear();
	}
	if (url != NULL)
		doctor_url(&d, url, NULL);
	else if (doctor_remotes(&d) == 0)
		printf("\nno URL given and no bbs:: remote here: name one, "
		    "e.g. git bbs doctor https://bitbucket.org/team/repo.git\n");
	printf("\n%d error%s, %d warning%s\n", d.errors, d.errors == 1 ? "" :
	    "s", d.warnings, d.warnings == 1 ? "" : "s");
	fflush(stdout);
	return d.errors > 0 ? err_set(BBS_E_REPORTED, "doctor found errors") : 0;
}
