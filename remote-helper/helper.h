/*
 * helper.h - the git-facing side of git-remote-bbs.
 */
#ifndef BBS_HELPER_H
#define BBS_HELPER_H

#include <stdio.h>
#include <sys/types.h>

#include "oauth/oauth.h"

#define OID_HEX_LEN 40
#define ZERO_OID "0000000000000000000000000000000000000000"

/* url.c */

struct remote_url {
	char *scheme;		/* "http" or "https" */
	char *user;		/* account selector, or NULL */
	char *host;		/* lowercase, IPv6 without brackets */
	int port;		/* explicit or the scheme's default */
	char *path;		/* begins with '/', may be just "/" */
	char *url;		/* scheme://host[:port]/path, no user part */
	char *origin;		/* scheme://host:port */
};

/*
 * Parse what a user or git hands us: "bbs::https://...", "bbs://HOST/PATH"
 * (https implied), or a plain "http(s)://..." URL.  Plain http is refused
 * with BBS_E_INSECURE_URL unless the host is a loopback address; a URL with
 * a password in it is refused with BBS_E_INVALID.
 */
int url_parse(struct remote_url *out, const char *arg);
/* Parse a config-key URL pattern (no bbs:: forms, no http refusal). */
int url_parse_pattern(struct remote_url *out, const char *pattern);
void url_release(struct remote_url *u);
/*
 * How well config URL `pattern` matches `u`, as git's urlmatch does: -1 for
 * no match, otherwise larger is more specific (longer path, then user).
 */
int url_match_score(const char *pattern, const struct remote_url *u);

/* pktline.c */

#define PKT_MAX 65520

enum pkt_type { PKT_DATA, PKT_FLUSH, PKT_DELIM, PKT_END };

/*
 * Parse one pkt-line from `data`/`len`.  Returns the bytes consumed (>0),
 * 0 when more input is needed, or a negative error for a malformed line.
 * For PKT_DATA, `*payload`/`*plen` point into `data`.
 */
ssize_t pkt_parse(const char *data, size_t len, enum pkt_type *type,
    const char **payload, size_t *plen);
/* Append `payload` as one pkt-line to `b`. */
int pkt_add(struct buf *b, const char *payload, size_t len);
int pkt_addf(struct buf *b, const char *fmt, ...) BBS_ATTR_PRINTF(2, 3);
int pkt_flush(struct buf *b);

/* run.c */

struct child {
	pid_t pid;
	int in;			/* write end of the child's stdin, or -1 */
	int out;		/* read end of the child's stdout, or -1 */
};

/*
 * Start argv[0] (looked up in PATH).  With `pipe_in` / `pipe_out` the
 * child's stdin / stdout are pipes to us; otherwise stdin is /dev/null (or
 * `stdin_fd` if >= 0) and stdout is `stdout_fd` if >= 0, else /dev/null.
 * stderr is ours.
 */
int child_start(struct child *c, const char *const argv[], int pipe_in,
    int pipe_out, int stdin_fd, int stdout_fd);
/* Wait for the child; returns its exit code, or 128+signal. */
int child_finish(struct child *c);
/* Kill the child (if running) and wait for it. */
void child_kill(struct child *c);

/* config.c */

enum git_auth { GIT_AUTH_BEARER, GIT_AUTH_BASIC };

/* bbs.<url>.* OAuth settings, as configured (NULL when not set). */
struct oauth_settings {
	char *provider;		/* resolved: NULL when nothing is configured */
	struct oauth_endpoints ep;	/* as configured; iss_supported unused */
	char *client_id;
	char *client_secret;	/* secret */
	char *scopes;
	char *flow;
	char *redirect_uri;
	char *token_store;
	long login_timeout;	/* seconds */
	char *refresh_seed;	/* secret: BBS_REFRESH_TOKEN */
};

void oauth_settings_release(struct oauth_settings *o);

struct helper_config {
	enum git_auth git_auth;
	char *git_username;	/* Basic user name */
	char *token;		/* secret: the access token, or NULL */
	int ssl_verify;
	char *ca_file;
	char *ca_path;
	char *proxy;
	long low_speed_time;
	int fsck_objects;
	struct oauth_settings oauth;
};

struct git_config;
/*
 * Resolve the settings that apply to `u` from git config `cfg` (may be
 * NULL) and the environment; the environment wins.  BBS_ACCESS_TOKEN is
 * taken into the struct and removed from the environment, so no child
 * process ever inherits it.
 */
int config_load(struct helper_config *out, struct git_config *cfg,
    const struct remote_url *u);
void config_release(struct helper_config *c);
/*
 * Parse GIT_CONFIG_PARAMETERS (what `git -c` passes down); `fn` gets each
 * name and value (NULL for a bare name).
 */
int config_parse_parameters(const char *s,
    void (*fn)(const char *name, const char *value, void *payload),
    void *payload);

/* smart-http.c: git's smart HTTP protocol, the HTTP side */

enum smart_service { SERVICE_UPLOAD_PACK, SERVICE_RECEIVE_PACK };

struct conn {
	struct http_client *http;
	const struct remote_url *url;
	char *base;		/* repository URL; a same-origin redirect moves it */
	char *auth_header;	/* secret */
	int have_token;
	char *login_hint;	/* what to run when the token is refused */
	char *grant_scope;	/* scopes of the OAuth grant in use */
	char *stepup_hint;	/* how to sign in with write access */
	/* on a 401: get a new token (conn_set_token), once per process */
	int (*reauth)(struct conn *c, void *payload);
	void *reauth_payload;
	int reauthed;
	/* on a 403 push with a read-only grant: sign in with write scope */
	int (*stepup)(struct conn *c, void *payload);
	int stepped_up;
};

int conn_init(struct conn *c, const struct remote_url *u,
    const struct helper_config *cfg);
void conn_release(struct conn *c);
/* Use `token` for the git requests, as cfg->git_auth says. */
int conn_set_token(struct conn *c, const struct helper_config *cfg,
    const char *token);
/* GET info/refs for `svc`, check the answer; body left to read. */
int conn_get_refs(struct conn *c, enum smart_service svc,
    struct http_stream **out);
/* POST to the service; the body is `mem`/`len` or the file `fd`. */
int conn_post(struct conn *c, enum smart_service svc, const void *mem,
    int fd, off_t len, struct http_stream **out);
/* POST `prefix` then everything read from the pipe `fd`, chunked. */
int conn_post_stream(struct conn *c, enum smart_service svc,
    const void *prefix, size_t prefix_len, int fd, struct http_stream **out);

/* transport.c: libgit2 */

struct helper_options {
	int progress;
	int verbosity;
	int followtags;
	int cloning;
	int check_connectivity;
	int dry_run;
	int atomic;
	int fsck_objects;
	int unsupported_shallow;	/* a depth/filter option was given */
	int depth;		/* option depth: 0 full history, INT_MAX unshallow */
	int deepen_relative;	/* option deepen-relative true (--deepen) */
	char **push_options;
	size_t push_options_nr;
	char **cas;		/* "<ref>:<oid>" leases */
	size_t cas_nr;
};

/* shallow.c */
/* Is `name` one of git's shallow or partial fetch options? */
int shallow_is_option(const char *name);
/*
 * Answer "option `name` `v`" of that family: "ok", or an error after one
 * line on stderr, with o->unsupported_shallow set so the fetch fails.
 */
const char *shallow_option(struct helper_options *o, const char *name,
    const char *v);
/* Does this build fetch shallow histories (libgit2 1.9 or later)? */
int shallow_supported(void);

struct transport;

int transport_new(struct transport **out, struct conn *conn,
    const struct helper_options *opts);
void transport_free(struct transport *t);
/* The repository's git config, or the user's if there is no repository. */
struct git_config *transport_config(struct transport *t);
/* Print the remote's refs in `list` format to `out`. */
int transport_list(struct transport *t, FILE *out);
/*
 * Fetch the objects for `names` (want `oids`).  On success, *lockfile is
 * the .keep file to report (or NULL) and *connected tells whether the new
 * pack was verified self-contained and connected.  With opts->depth set
 * (libgit2 1.9 builds) the fetch is shallow and the repository's shallow
 * file is updated, in the common directory of a linked worktree too.
 */
int transport_fetch(struct transport *t, char **names, char **oids,
    size_t nr, char **lockfile, int *connected);
/* Resolve `spec` to a hex object id in the local repository. */
int transport_resolve(struct transport *t, const char *spec,
    char hex[OID_HEX_LEN + 1]);
/* 1 if `hex` names an object we have, 0 if not. */
int transport_has_object(struct transport *t, const char *hex);
/* 1 if `ancestor` is an ancestor of (or equal to) `tip`. */
int transport_is_ancestor(struct transport *t, const char *ancestor,
    const char *tip);
/* git config for a command run by a person: the current repository's,
 * or the user's; *out may be NULL when there is none. */
int transport_cli_config(struct git_config **out);
void transport_config_free(struct git_config *cfg);

/* push.c: git-receive-pack over our HTTP layer */

struct push_ref {
	char *src;		/* local spec; NULL or "" for a delete */
	char *dst;
	int force;
	char old_hex[OID_HEX_LEN + 1];
	char new_hex[OID_HEX_LEN + 1];
	char *error;		/* NULL: ok */
};

struct push_state;

int push_state_new(struct push_state **out, struct conn *conn,
    struct transport *t, const struct helper_options *opts);
void push_state_free(struct push_state *p);
/* `list for-push`: fetch and print the receive-pack advertisement. */
int push_list(struct push_state *p, FILE *out);
/* Run a push batch; every ref gets a status in refs[i].error. */
int push_run(struct push_state *p, struct push_ref *refs, size_t nr);

/* sideband.c: "remote: " messages */

struct sideband {
	struct buf line;
	int show;
};

void sideband_init(struct sideband *sb, int show);
void sideband_write(struct sideband *sb, const char *data, size_t len);
/* Print what is left of an unfinished line and free the buffer. */
void sideband_release(struct sideband *sb);

/* session.c: OAuth for one remote */

struct session {
	const struct remote_url *url;
	const struct oauth_settings *settings;
	struct oauth_client oc;
	char *key;		/* the store key of this server and client */
	char *store_dir;
	char *base;		/* Data Center base URL */
	int discovered;
	int seeded;		/* BBS_REFRESH_TOKEN was tried */
	int credhelper;		/* bbs.tokenStore=credential-helper */
	char *cred_index;	/* accounts the credential helper had */
	char *scope;		/* of the grant session_token last returned */
	/* when session_token stops returning that token (Unix time), 0: never */
	int64_t use_until;
};

/* Resolve provider, endpoints and client; no network. */
int session_init(struct session *s, const struct helper_config *cfg,
    const struct remote_url *u, struct http_client *http);
void session_release(struct session *s);
/* Discover endpoints from the issuer if needed (network). */
int session_endpoints(struct session *s);
/*
 * A usable access token for the remote (caller frees with secret_free):
 * from the store, refreshed under the per-grant lock when expired, the
 * rotated refresh token saved before the new access token is returned.
 */
int session_token(struct session *s, char **access_token);
/* Store a fresh grant; *account_out names the account it was filed as. */
int session_store_new(struct session *s, struct oauth_token *tok,
    char **account_out);
/*
 * The server refused `refused`: refresh (once, under the lock) unless
 * another process already replaced it, and return the current token.
 */
int session_token_refused(struct session *s, const char *refused,
    char **access_token);
/* Mark the stored access token `refused` expired (credential erase). */
int session_expire(struct session *s, const char *refused);
char *session_login_url(struct session *s);
/*
 * $XDG_STATE_HOME/git-remote-bbs (or under HOME); NULL, with the error
 * set, if neither is set.
 */
char *session_store_dir(void);
/* Load / save the grants of this session's store (file or helper). */
int session_store_open(struct session *s, struct store *st);
int session_store_save(struct session *s, struct store *st);

/* store-credhelper.c: grants kept by `git credential` */
int credstore_load(struct store *st, const char *key);
int credstore_save(struct store *st, const char *key, const char *old_index);
/* The list of accounts the helper holds for `key` (caller frees). */
char *credstore_index(const char *key);
void session_login_hint(struct session *s);
void session_protect_process(void);

/*
 * What git bbs and git-credential-bbs need for one URL: the URL, its
 * configuration (without a static BBS_ACCESS_TOKEN), an HTTP client, and
 * then the OAuth session.
 */
struct remote_ctx {
	struct remote_url url;
	struct helper_config cfg;
	struct conn conn;
	struct session s;
	struct git_config *gitcfg;
};

int remote_ctx_config(struct remote_ctx *c, const char *url);
int remote_ctx_session(struct remote_ctx *c);
void remote_ctx_release(struct remote_ctx *c);

/* login.c: sign-in flows */

/* Sign in with `flow` ("auto", "browser", "device", "paste",
 * "client-credentials"); stores the grant. */
int login_run(struct session *s, const char *flow, char **account_out);
/* Whether a browser can be opened here. */
int login_browser_available(void);

/* proto.c: the remote-helper protocol */

/* Read one LF-terminated line (without the LF); 1 line, 0 EOF, <0 error. */
int proto_read_line(FILE *in, struct buf *line);
/* Run the protocol on in/out; returns 0 or an error code. */
int proto_run(FILE *in, FILE *out, struct transport *t, struct conn *conn,
    struct helper_options *opts);
void helper_options_release(struct helper_options *o);

#endif
