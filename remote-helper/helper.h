/* SPDX-License-Identifier: MIT */
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
	/*
	 * scheme://host[:port], the port only when it is not the scheme's
	 * default: how people, git's documentation and git-lfs (which looks
	 * keys up by their spelling) write the URL of credential.<url>.*
	 */
	char *site;
};

/*
 * Parse what a user or git hands us: "bbs::https://...", "bbs://HOST/PATH"
 * (https implied), or a plain "http(s)://..." URL.  Plain http is refused
 * with BBS_E_INSECURE_URL unless the host is a loopback address; a URL with
 * a password in it is refused with BBS_E_INVALID.
 */
int url_parse(struct remote_url *out, const char *arg);
/*
 * The rules for a user name that picks an account, decoded, wherever it
 * comes from: not empty, no control character, UTF-8 (the store is JSON).
 * 0, or BBS_E_INVALID with the message a URL with that user part gets.
 */
int url_user_check(const char *user);
/*
 * Whether `s` is a bare host[:port] (git's credential "host"): no user
 * part, path, query, escape, space or control character.
 */
int url_hostport_ok(const char *s);
/* Parse a config-key URL pattern (no bbs:: forms, no http refusal). */
int url_parse_pattern(struct remote_url *out, const char *pattern);
void url_release(struct remote_url *u);
/*
 * How well config URL `pattern` matches `u`, as git's urlmatch does: -1 for
 * no match, otherwise larger is more specific (longer path, then user).
 */
int url_match_score(const char *pattern, const struct remote_url *u);

/* credential.c: git's credential protocol (git-credential-bbs) */

struct cred {
	char *protocol;
	char *host;
	char *path;
	char *username;
	char *password;		/* secret */
	char *credential;	/* secret: what git sent with an authtype */
	int cap_authtype;	/* git sent capability[]=authtype (2.46+) */
};

/*
 * Read git's key=value lines up to a blank line or EOF into `c` (unknown
 * keys are ignored, a repeated key replaces).  A trailing CR is dropped; a
 * line with a NUL byte or another CR is BBS_E_PROTOCOL, and then `c` is
 * left empty.
 */
int cred_read(struct cred *c, FILE *in);
void cred_release(struct cred *c);
/*
 * Print the NULL-terminated list of key, value pairs as key=value lines.
 * Nothing is printed when any value has CR or LF (or a key also '='):
 * BBS_E_INVALID.
 */
int cred_write(FILE *out, const char *const *kv);

/* pktline.c */

#define PKT_MAX 65520

enum pkt_type { PKT_DATA, PKT_FLUSH, PKT_DELIM, PKT_END };

/* The length a pkt-line header `hdr` says (4 hex digits), or -1. */
long pkt_length(const char hdr[4]);
/*
 * The server's error text (an ERR packet, side-band 3) as the error:
 * BBS_E_PROTOCOL, "remote error: <text>", at most PKT_ERROR_TEXT bytes
 * of it, control bytes masked.
 */
#define PKT_ERROR_TEXT 1000
int pkt_remote_error(const char *text, size_t len);

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

/* names.c: ref names indexed once, sorted, looked up by bisection */

struct name_entry {
	const char *name;	/* borrowed for the life of the index */
	size_t len;
	size_t pos;		/* where the name came from */
};

struct name_index {
	struct name_entry *v;
	size_t nr, max;
};

/* Room for `max` names; add them, then sort once. */
void name_index_init(struct name_index *ix, size_t max);
void name_index_add(struct name_index *ix, const char *name, size_t len,
    size_t pos);
void name_index_sort(struct name_index *ix);
/* The `nr` C strings `names`, each at its index: init, add and sort. */
void name_index_strings(struct name_index *ix, char *const *names,
    size_t nr);
/*
 * 1 if `name`/`len` is indexed, with *pos (when `pos` is not NULL) that
 * of the first entry of that name; else 0.
 */
int name_index_find(const struct name_index *ix, const char *name,
    size_t len, size_t *pos);
void name_index_release(struct name_index *ix);

/* advert.c: the advertisement libgit2 reads, cut to the refs git wants */

/*
 * Copy the upload-pack advertisement `body`/`len` into `out` with only the
 * refs named in `wanted`: peeled entries and every other ref are left
 * out, the capabilities move to the first ref kept, and every line that
 * is not a ref stays as it was.  `*kept`: the refs kept.
 */
int advert_cut(struct buf *out, const char *body, size_t len,
    const struct name_index *wanted, size_t *kept);

/* refname.c: what a server advertises, checked before git sees it */

/*
 * 1 if `name`/`len` is a ref name git accepts (git check-ref-format's
 * rules: no control bytes, none of " ~^:?*[\", no "..", "@{", "//",
 * component starting with '.' or ending with ".lock", trailing '/' or '.',
 * not "@"), HEAD being the only one-level name, no leading '-' and no C1
 * control (text_char).
 */
int refname_ok(const char *name, size_t len);
/* 1 if `s`/`len` is exactly OID_HEX_LEN lowercase hex digits. */
int oid_hex_ok(const char *s, size_t len);

/*
 * The refs a server advertised, as data (the list functions are in
 * proto.c): nothing in them is checked until
 * proto_list_answer formats them for git.
 */
struct remote_ref {
	char hex[OID_HEX_LEN + 1];
	char *name;
	char *symref;		/* the symref's target, or NULL */
};

struct ref_list {
	struct remote_ref *v;
	size_t nr;
	size_t alloc;		/* entries allocated at v */
};

/* Append a copy of the ref; `hex` is cut at OID_HEX_LEN bytes. */
void ref_list_add(struct ref_list *l, const char *hex, const char *name,
    size_t namelen, const char *symref);
void ref_list_release(struct ref_list *l);

/* run.c */

struct child {
	pid_t pid;
	int in;			/* write end of the child's stdin, or -1 */
	int out;		/* read end of the child's stdout, or -1 */
};

/*
 * Start argv[0] (looked up in PATH).  With `pipe_in` / `pipe_out` the
 * child's stdin / stdout are pipes to us; otherwise stdin is /dev/null (or
 * `stdin_fd` if > 0) and stdout is `stdout_fd` if > 0, else /dev/null.
 * stderr is ours.  Nothing else of ours is inherited (child_spawn).
 */
int child_start(struct child *c, const char *const argv[], int pipe_in,
    int pipe_out, int stdin_fd, int stdout_fd);
/* How child_spawn() starts a child (zero it, then set what differs). */
struct child_opts {
	int pipe_in;		/* stdin is a pipe from us (c->in) */
	int pipe_out;		/* stdout is a pipe to us (c->out) */
	int stdin_fd;		/* else stdin from this descriptor if > 0 */
	int stdout_fd;		/* else stdout to this descriptor if > 0 */
	int stderr_null;	/* stderr to /dev/null instead of ours */
	int stderr_fd;		/* else stderr to this descriptor if > 0 */
	int detach;		/* in a session of its own (not our Ctrl-C) */
	/* changes to our environment: "NAME=value" sets, "NAME" removes */
	const char *const *env;
};
/*
 * Start argv[0] (looked up in PATH) as `o` says; descriptors 0, 1, 2
 * are /dev/null unless `o` says otherwise.  Every child gets only
 * descriptors 0, 1 and 2 (nothing else of ours, whatever libcurl or
 * libgit2 hold open), default signal dispositions and an empty signal
 * mask.
 */
int child_spawn(struct child *c, const char *const argv[],
    const struct child_opts *o);
/* Forget a child we do not wait for; it is reaped if it has exited. */
void child_forget(struct child *c);
/* Wait for the child; returns its exit code, or 128+signal. */
int child_finish(struct child *c);
/* Kill the child (if running) and wait for it. */
void child_kill(struct child *c);

/* config.c */

enum git_auth { GIT_AUTH_BEARER, GIT_AUTH_BASIC };

/* The longest bbs.<url>.loginTimeout: a day, in seconds. */
#define LOGIN_TIMEOUT_MAX 86400L

/* bbs.<url>.* OAuth settings, as configured (NULL when not set). */
struct oauth_settings {
	char *provider;		/* resolved: NULL when nothing is configured */
	struct oauth_endpoints ep;	/* as configured; iss_supported unused */
	char *client_id;
	char *client_secret;	/* secret */
	/* where client_id came from: a setting's name, or CLIENT_BUILTIN */
	const char *client_from;
	char *scopes;
	char *flow;
	char *redirect_uri;
	char *token_store;
	long login_timeout;	/* seconds, 1 to LOGIN_TIMEOUT_MAX */
	long signin_cooldown;	/* seconds; 0: no cooldown */
	char *refresh_seed;	/* secret: BBS_REFRESH_TOKEN */
};

#define CLIENT_BUILTIN "built in by the distributor"
void oauth_settings_release(struct oauth_settings *o);

/* provider.c */

/*
 * An OAuth client built into the programs by the distributor (./configure
 * --with-bitbucket-cloud-client-*).  `secret` is a secret: copy it with
 * xstrdup, release the copy with secret_free, never print it.
 */
struct provider_client {
	const char *id;
	const char *secret;
	const char *redirect_uri;	/* its one registered callback */
};

/*
 * What the helper knows about one kind of server.  An endpoint that
 * begins with '/' is relative to the base URL (provider_endpoint); NULL
 * means none is known without configuration or discovery.
 */
struct provider {
	const char *name;		/* bbs.<url>.provider */
	const char *host;		/* chosen by default for this host, or NULL */
	/* the base: the URL up to this marker, else its origin (NULL: none) */
	const char *base_marker;
	const char *authorize_url;
	const char *token_url;
	const char *userinfo_url;	/* names the account after sign-in */
	const char *default_scopes;	/* NULL: the server's default */
	const char *write_scopes;	/* asked for when a push needs them */
	enum git_auth git_auth;		/* default for a host it is chosen by */
	const char *git_username;	/* Basic user name by default */
	int redirect_on_refresh;	/* redirect_uri sent on refresh too */
	int needs_issuer_or_token_url;	/* nothing works without one */
	/* flow=auto may pick client credentials when a secret is set */
	int secret_means_client_credentials;
	/* git-lfs must send credentials before the server asks (403) */
	int lfs_basic_upfront;
	const struct provider_client *client;	/* built in, or NULL */
};

/* Lookup: NULL when no provider has that name. */
const struct provider *provider_by_name(const char *name);
/*
 * The provider chosen by itself for `u`: the one whose host it is, over
 * https on port 443 only; NULL for any other URL.
 */
const struct provider *provider_by_url(const struct remote_url *u);
/* The provider whose host `host` is, on any port: only to say why not. */
const struct provider *provider_by_host(const char *host);
/* The provider of servers nothing else is known about; never NULL. */
const struct provider *provider_generic(void);
/* Entry i of the table, or NULL past its end. */
size_t provider_count(void);
const struct provider *provider_at(size_t i);
/* "a, b or c": the names for an error message (caller frees). */
char *provider_names(void);
/* The base URL of `u` for `p` (caller frees). */
char *provider_base(const struct provider *p, const struct remote_url *u);
/* Endpoint `tmpl` resolved against `base`; NULL for a NULL template. */
char *provider_endpoint(const char *tmpl, const char *base);

/* fsck.c: fetch.fsck.* for git index-pack --strict */
struct fsck_types {
	char *id[64];		/* lowercase message ids, and "skiplist" */
	char *value[64];
	size_t nr;
};

/* Take fetch.fsck.<id> = value; a later setting of an id replaces it. */
void fsck_types_set(struct fsck_types *f, const char *id, const char *value);
/*
 * *out: "--strict" with the settings, as index-pack takes them (caller
 * frees).  An id git 2.39 does not know is skipped with git's warning; a
 * bad severity, or a skip list path index-pack cannot take, is
 * BBS_E_INVALID.
 */
int fsck_types_option(const struct fsck_types *f, char **out);
void fsck_types_release(struct fsck_types *f);

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
	struct fsck_types fsck;	/* fetch.fsck.* */
	struct oauth_settings oauth;
	struct git_config *gitcfg;	/* borrowed: what config_load read */
	const struct remote_url *url;	/* borrowed: the remote it read for */
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
 * An http_settings_fn (payload: the struct helper_config that config_load
 * filled): http.<url>.* resolved for `url` itself, as git config
 * --get-urlmatch does, so each server contacted gets its own TLS and
 * proxy settings, not those of the git remote.
 */
int config_http_resolve(void *payload, const char *url,
    struct http_url_settings *out);
/*
 * Parse GIT_CONFIG_PARAMETERS (what `git -c` passes down); `fn` gets each
 * name and value (NULL for a setting without one: 'name' or 'name'=).
 * Returns 0, or BBS_E_INVALID for malformed text (after `fn` has seen the
 * settings before it), or BBS_E_TOO_BIG for a word over 64 KiB.
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
/* base64 of "user:token" (secret: caller wipes), or NULL if too long. */
char *basic_credential(const char *user, const char *token);
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
	const struct fsck_types *fsck;	/* borrowed: fetch.fsck.* */
	const char *remote;	/* the remote's name, or NULL (git gave a URL) */
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
/*
 * The remote's refs, as libgit2 read them (one GET, on first use), added
 * to `out`; the caller releases it.
 */
int transport_refs(struct transport *t, struct ref_list *out);
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
/*
 * The commit `hex` names, tags peeled, into `out`; -1 if it names no
 * object we have, or one that does not peel to a commit.
 */
int transport_peel_commit(struct transport *t, const char *hex,
    char out[OID_HEX_LEN + 1]);
/* 1 if `ancestor` is an ancestor of (or equal to) `tip`. */
int transport_is_ancestor(struct transport *t, const char *ancestor,
    const char *tip);
/* git config for a command run by a person: the current repository's,
 * or the user's; *out may be NULL when there is none. */
int transport_cli_config(struct git_config **out);
void transport_config_free(struct git_config *cfg);

/* sideband.c: "remote: " messages */

struct sideband {
	struct buf line;	/* the line so far, as received */
	struct buf shown;	/* a piece of it, masked */
	int show;
	FILE *out;		/* stderr unless changed after init */
};

void sideband_init(struct sideband *sb, int show);
/*
 * Show the server's text line by line ("remote: " and the line, ended by
 * its CR or LF), control bytes other than CR, LF and TAB masked
 * (text_sanitize).
 */
void sideband_write(struct sideband *sb, const char *data, size_t len);
/* Print what is left of an unfinished line and free the buffer. */
void sideband_release(struct sideband *sb);

/*
 * Watches the pkt-lines of an upload-pack response for the server's error:
 * an ERR packet, or a packet on side-band 3.  libgit2 1.5 ignores both and
 * then fails with "early EOF" or finds the objects missing.
 */
struct errwatch {
	char hdr[4];		/* the length of the next packet, as read */
	size_t hlen;
	size_t left;		/* bytes of the current packet still to come */
	char text[PKT_ERROR_TEXT];	/* its first bytes, while it may be one */
	size_t tlen;
	int maybe;		/* the current packet may be an error */
	int raw;		/* not pkt-lines (a pack without side-band) */
};

void errwatch_init(struct errwatch *w);
/*
 * Take `len` more bytes of the response: BBS_E_PROTOCOL, "remote error:
 * <text>" with control bytes masked, once an error packet is complete (or
 * its first PKT_ERROR_TEXT bytes are); else 0.
 */
int errwatch_feed(struct errwatch *w, const char *data, size_t len);

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

/*
 * The receive-pack advertisement: the refs (peeled "^{}" entries kept,
 * ".have" and "capabilities^{}" left out) and the capabilities.
 */
struct push_adv {
	struct ref_list refs;
	char *caps;		/* never NULL after a successful parse */
};

/*
 * Parse the body of GET info/refs?service=git-receive-pack, with or
 * without its "# service=" preamble.  Object ids are checked (40 hex),
 * ref names are not (see proto_list_answer).  An ERR packet is the
 * server's error, shown as "remote error: ..." with control bytes
 * masked.  On error `a` may hold part of the list: release it anyway.
 */
int push_adv_parse(struct push_adv *a, const char *body, size_t len);
void push_adv_release(struct push_adv *a);

/* The server's answer to a push, demultiplexed as it arrives. */
struct push_report {
	struct buf raw;		/* not yet demultiplexed */
	struct buf data;	/* band 1: the report-status pkt-lines */
	int sideband;
	struct sideband progress;	/* band 2, shown at once */
	char *unpack_error;	/* the server's "unpack <reason>", masked */
};

/* A report on `nrefs` pushed refs: its size is bounded by their number. */
void push_report_init(struct push_report *rp, int sideband, size_t nrefs);
/*
 * Take `len` more bytes of the response.  Band 2 goes to the progress
 * output at once; band 3 is the server's error (BBS_E_PROTOCOL, control
 * bytes masked); anything else malformed is BBS_E_PROTOCOL.
 */
int push_report_feed(struct push_report *rp, const char *data, size_t len);
/*
 * Apply the report-status to `refs`: sent[i] is 1 for each ref whose
 * command was sent and becomes 2 when its status is read.  A status for a
 * ref not sent, a second status for one ref, a line that is not "unpack",
 * "ok" or "ng" (or holds a LF inside) and a report that does not start
 * with "unpack" are protocol errors; a sent ref without a status gets an
 * error of its own.  An "ng" reason is stored as sent (proto.c masks and
 * quotes it).  When the server could not unpack, rp->unpack_error is its
 * reason with control bytes masked, and each sent ref fails.
 */
int push_report_apply(struct push_report *rp, struct push_ref *refs,
    size_t nr, int *sent);
void push_report_release(struct push_report *rp);

int push_state_new(struct push_state **out, struct conn *conn,
    struct transport *t, const struct helper_options *opts);
void push_state_free(struct push_state *p);
/*
 * `list for-push`: the receive-pack advertisement (fetched on first use);
 * *out is borrowed from `p`.
 */
int push_refs(struct push_state *p, const struct ref_list **out);
/* Run a push batch; every ref gets a status in refs[i].error. */
int push_run(struct push_state *p, struct push_ref *refs, size_t nr);

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
	char *scope;		/* of the grant session_token last returned */
	char *unusable;		/* why the stored grant could not be used */
	char *picked;		/* the account of the grant last picked, or NULL */
	/* when session_token stops returning that token (Unix time), 0: never */
	int64_t use_until;
	/*
	 * A rotated grant of account `unsaved_account` that could not be
	 * saved, and the refresh token the store still holds instead (spent):
	 * while the store holds that one, this process uses `unsaved`.
	 */
	struct oauth_token unsaved;
	char *unsaved_account;
	char *unsaved_spent;
};

/* Resolve provider, endpoints and client; no network. */
int session_init(struct session *s, const struct helper_config *cfg,
    const struct remote_url *u, struct http_client *http);
void session_release(struct session *s);
/*
 * Whose OAuth client the session uses, for people: "built in by the
 * distributor (id ID)", "bbs.<url>.clientId (id ID)" or
 * "BBS_CLIENT_ID (id ID)"; never the secret.  Truncated to `len`.
 */
void session_client_from(const struct session *s, char *out, size_t len);
/* Discover endpoints from the issuer if needed (network). */
int session_endpoints(struct session *s);
/*
 * A usable access token for the remote (caller frees with secret_free):
 * from the store, refreshed under the per-grant lock when expired, the
 * rotated refresh token saved before the new access token is returned.
 */
int session_token(struct session *s, char **access_token);
/*
 * Store a fresh grant; *account_out names the account it was filed as:
 * the URL's user, else who the server says (user info, a trusted ID
 * token, the token response), else the account of the grant this
 * session picked before (a sign-in that renews it), else a new name
 * "account-N" that no grant of this server and client has, so that
 * sign-ins the server names nobody in never replace each other.
 */
int session_store_new(struct session *s, struct oauth_token *tok,
    char **account_out);
/*
 * Use `refresh_token` from elsewhere (BBS_REFRESH_TOKEN, git bbs import)
 * and store the grant it yields, under the grant's lock, with room for
 * the save reserved before the server rotates it, and signals held until
 * it is saved.  With `if_absent`, nothing is done when a grant is there
 * by then (another process used the same token).  *account_out (may be
 * NULL) gets the account stored, NULL when nothing was.  Returns
 * BBS_E_AUTH_REQUIRED when the server refuses the token.
 */
int session_import(struct session *s, const char *refresh_token,
    int if_absent, char **account_out);
/*
 * The server refused `refused`: refresh (once, under the lock) unless
 * another process already replaced it, and return the current token.
 */
int session_token_refused(struct session *s, const char *refused,
    char **access_token);
/* Mark the stored access token `refused` expired (credential erase). */
int session_expire(struct session *s, const char *refused);
/*
 * The grant of `st` a URL chooses: its user's, or the only one of this
 * server and client.  BBS_E_AUTH_REQUIRED when there is none, and
 * BBS_E_INVALID (the message lists the accounts) when the URL names none
 * and there are several.  Sets s->picked.
 */
int session_pick(struct session *s, struct store *st,
    struct store_entry **out);
char *session_login_url(struct session *s);
/*
 * $XDG_STATE_HOME/git-remote-bbs (or under HOME) in `*out` (caller frees);
 * BBS_E_INVALID with `*out` NULL if neither is set.
 */
int session_store_dir(char **out);
/* Open this session's store (the file, or the credential helper). */
int session_store_open(struct session *s, struct store *st);
/*
 * Open the store named by the configuration that applies to no URL in
 * particular (bbs.tokenStore, BBS_TOKEN_STORE), with every key it holds:
 * for `git bbs status` and `git bbs logout` without a URL.
 */
int session_store_open_all(struct store *st);
/*
 * Does the configuration that applies to no URL in particular keep grants
 * with the credential helper (`*credhelper` 1) or in the file (0)?
 */
int session_default_store(int *credhelper);

/*
 * store-credhelper.c: grants kept by `git credential`.  Open the store of
 * `key`'s grants, or of every key it lists when `key` is NULL.
 */
int credstore_open(struct store *st, const char *dir, const char *key);
void session_login_hint(struct session *s);

/* process.c: a process that holds secrets */

/*
 * Turn off core dumps (RLIMIT_CORE 0) and, on Linux, ptrace and
 * /proc/PID/mem access by other processes of the user (PR_SET_DUMPABLE
 * 0), checking that both took.  A step that fails is traced and warned
 * about on stderr, never fatal: the programs still work, unprotected.
 * Call first thing in main(), before any secret is read.
 */
void process_harden(void);
/* Whether a config key is bbs.clientSecret or bbs.<url>.clientSecret. */
int config_key_is_secret(const char *name);
/*
 * Remove every bbs.[<url>.]clientSecret entry from GIT_CONFIG_PARAMETERS
 * and from the GIT_CONFIG_COUNT / GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n
 * form, in this process's environment, so that no child inherits it;
 * the inherited copies are wiped.  Call after config_load() and before
 * any child is started.  0, or the error of the failing step.
 */
int config_env_scrub(void);

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
	char *static_token;	/* secret: BBS_ACCESS_TOKEN, kept out of cfg */
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
/* Whether a person can be asked on a terminal here. */
int login_terminal_available(void);
/*
 * The flow "auto" would choose for `s` here (no network), or NULL when
 * nothing can sign in; *why says why, in words.
 */
const char *login_auto_flow(struct session *s, const char **why);

/* signin.c: automatic sign-ins */

/*
 * Sign in because a command found no usable grant: unless a failed
 * automatic sign-in of this account is younger than signInCooldown, take
 * the account's sign-in lock; if another process stored a grant
 * meanwhile, use it (*account_out stays NULL), else run login_run().
 * A failure other than "nobody to ask" starts the cooldown.  On success
 * *access_token is the token to use (secret_free).
 */
int signin_auto(struct session *s, const char *flow, char **account_out,
    char **access_token);
/* Forget a failed automatic sign-in (after any successful one). */
void signin_cooldown_clear(const struct session *s);

/* proto.c: the remote-helper protocol */

/* Read one LF-terminated line (without the LF); 1 line, 0 EOF, <0 error. */
int proto_read_line(FILE *in, struct buf *line);
/*
 * Append git's answer to `list` (for_push 0) or `list for-push` for `refs`
 * to `out`, ended by its blank line.  Every name and symref target must
 * pass refname_ok and every id oid_hex_ok.  Peeled "<name>^{}" entries,
 * which are not refs, are kept in a fetch list when <name> passes (git
 * uses them to follow tags) and left out of a push list, as git's own
 * transport does.  On the first ref that fails: BBS_E_PROTOCOL naming
 * `server` and the ref (masked), with `out` as it was.
 */
int proto_list_answer(struct buf *out, const struct ref_list *refs,
    int for_push, const char *server);
/*
 * Append `s`/`len` as git's quote_c_style would: unchanged when no byte
 * needs quoting, else in double quotes with '"', '\\', control bytes and
 * bytes >= 0x80 escaped (\n, \t, ..., \ooo).
 */
int proto_cquote(struct buf *out, const char *s, size_t len);
/*
 * Append the C-quoted string `s` unquoted, as git's unquote_c_style: `s`
 * is '"', text with \\, \", \a, \b, \f, \n, \r, \t, \v or \ooo (\001 to
 * \377) escapes, and a closing '"' that ends it.  BBS_E_INVALID, and
 * `out` unchanged, for anything else.
 */
int proto_cunquote(struct buf *out, const char *s);
/*
 * Append git's status line for a pushed ref: "ok <dst>" or "error <dst>
 * <reason>", the reason's control bytes masked, then C-quoted when it
 * needs quoting, as git's send-pack does.
 */
int proto_push_status(struct buf *out, const struct push_ref *r);
/* Run the protocol on in/out; returns 0 or an error code. */
int proto_run(FILE *in, FILE *out, struct transport *t, struct conn *conn,
    struct helper_options *opts);
void helper_options_release(struct helper_options *o);

/* migrate.c: git bbs migrate, and the passwords helpers keep */

/*
 * Run argv (a program on PATH, usually "git") with `input` (may be NULL)
 * on its stdin, its stdout into `out` (may be NULL) and its stderr
 * discarded.  Returns the exit code (>= 0), or a negative error.
 */
int run_quiet(const char *const argv[], const char *input, struct buf *out);
/* Print `s` to `f` with control bytes in caret notation (text_sanitized). */
void print_clean(FILE *f, const char *s);
/* A URL as print_clean shows it, with any password in it as "***". */
void print_url(FILE *f, const char *url);

/* git bbs migrate [--dry-run] [--forget-passwords] [<remote>...] */
int migrate_run(int argc, char **argv);
/*
 * Find the passwords that the user's credential helpers (all but ours)
 * keep for PROTOCOL://HOST (host[:port]), print one line for each (never the
 * password), and with `forget` remove them with `git credential reject`
 * (with `ask`, ask on the terminal first).  *found gets how many there
 * were.  Nothing prompts: GIT_TERMINAL_PROMPT=0 is set for the children.
 */
int stale_passwords(const char *protocol, const char *host, int forget,
    int ask, int *found);

/* lfs.c: git-lfs on a bbs:: remote */

/*
 * When git-lfs's filter is configured and the user has set no
 * remote.<remote>.lfsurl, point it at the plain URL of `u` and let
 * git-credential-bbs answer git-lfs for that origin (repository config,
 * through `git config`); with `basic_upfront`, lfs.<url>.access=basic
 * too.  Nothing is done for an anonymous remote (`remote` NULL) or
 * outside a repository.
 */
int lfs_configure(const char *remote, const struct remote_url *u,
    struct git_config *cfg, int basic_upfront);

/* scheme.c: the private-use URI scheme handler of the current user */

/* Whether `s` is a private-use scheme: RFC 3986 syntax, with a dot. */
int scheme_valid(const char *s);
/* The private-use scheme of a redirect URI (lowercase), or NULL. */
char *scheme_of_redirect(const char *uri);
/*
 * freedesktop: the desktop file that handles `scheme` into out; 1 when
 * one is registered, 0 when none is, -1 when xdg-mime cannot be run.
 */
int scheme_handler(const char *scheme, char *out, size_t len);
/*
 * Register (or unregister) `git bbs callback` for `scheme` on `platform`
 * ("freedesktop", "macos", "windows"; NULL for this one), saying on `say`
 * what it wrote; with `dry_run` only what it would write.  Other
 * platforms than this one take only dry runs.
 */
int scheme_register(const char *scheme, const char *platform,
    int unregister, int dry_run, FILE *say);
/* Before a sign-in with a private-use redirect: register the handler
 * when the desktop has none (freedesktop), saying so on stderr. */
int scheme_ensure_registered(const char *redirect_uri);

/* doctor.c: git bbs doctor [--offline] [<url>] */
int doctor_run(int argc, char **argv);

/* version.c: --version and --help */

/* Print PROG's version and the run-time versions of libgit2, libcurl,
 * OpenSSL and jansson to OUT. */
void version_print(FILE *out, const char *prog);
/* When argv is exactly PROG --version or PROG --help (or -h), print the
 * version or USAGE_TEXT on stdout and return 1; otherwise return 0. */
int version_or_help(int argc, char **argv, const char *prog,
    const char *usage_text);

#endif
