/* SPDX-License-Identifier: MIT */
/*
 * migrate.c - `git bbs migrate`: move a repository's https:// remotes of
 * Bitbucket Cloud and of hosts with bbs.<url> configuration to bbs::, and
 * find (and, when asked, remove) the passwords that credential helpers
 * still keep for those hosts.
 *
 * Everything goes through git itself (`git config`, `git credential`), so
 * git's own rules for config files, URL matching and helpers apply.  A
 * password read back from a helper is a secret: it only ever travels on a
 * pipe, back to the same helper's `reject`, and is wiped.
 */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "helper.h"

#define GIT_OUTPUT_MAX ((size_t)1024 * 1024)
#define MIGRATE_MAX_VALUES 256

/*
 * For children that ask credential helpers: nothing may prompt (helpers
 * answer or they do not).  Only their environment is changed: ours stays
 * as it was for whatever runs after (git bbs doctor checks the terminal).
 */
static const char *const no_prompt_env[] = { "GIT_TERMINAL_PROMPT=0",
	"GIT_ASKPASS", "SSH_ASKPASS", NULL };

/* run_quiet, with `env` changing the child's environment (child_opts). */
static int
run_quiet_env(const char *const argv[], const char *input, struct buf *out,
    const char *const *env)
{
	struct child_opts o;
	struct child c;
	char chunk[4096];
	int r, code;
	ssize_t n;

	memset(&o, 0, sizeof(o));
	o.pipe_in = input != NULL;
	o.pipe_out = out != NULL;
	o.stderr_null = 1;
	o.env = env;
	if ((r = child_spawn(&c, argv, &o)) != 0)
		return r;
	if (input != NULL) {
		size_t len = strlen(input), off = 0;

		while (off < len) {
			n = write(c.in, input + off, len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		close(c.in);
		c.in = -1;
	}
	if (out != NULL) {
		while ((n = read(c.out, chunk, sizeof(chunk))) > 0) {
			if ((r = buf_add(out, chunk, (size_t)n)) != 0)
				break;
		}
		secret_wipe(chunk, sizeof(chunk));
		close(c.out);
		c.out = -1;
		if (r != 0) {
			child_kill(&c);
			return r;
		}
	}
	code = child_finish(&c);
	return code;
}

int
run_quiet(const char *const argv[], const char *input, struct buf *out)
{
	return run_quiet_env(argv, input, out, NULL);
}

/*
 * Where the password of a URL of any scheme is, as git would read it
 * ("scheme://user:password@host/..."): *colon at the ':' before it, *at at
 * the '@' after it.  0 when there is none.
 */
static int
url_password_span(const char *v, const char **colon, const char **at)
{
	const char *auth = strstr(v, "://"), *end, *p;

	*colon = *at = NULL;
	if (auth == NULL)
		return 0;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (p = auth; p < end; p++)
		if (*p == '@')
			*at = p;
	if (*at != NULL)
		*colon = memchr(auth, ':', (size_t)(*at - auth));
	return *colon != NULL;
}

void
print_clean(FILE *f, const char *s)
{
	char *shown = text_sanitized(s, strlen(s));

	fputs(shown, f);
	free(shown);
}

void
print_url(FILE *f, const char *url)
{
	const char *colon, *at;
	char *head;

	if (!url_password_span(url, &colon, &at)) {
		print_clean(f, url);
		return;
	}
	head = xstrndup(url, (size_t)(colon - url));
	print_clean(f, head);
	fputs(":***", f);
	print_clean(f, at);
	free(head);
}

/* https URL split into what migrate needs; all fields owned. */
struct https_url {
	char *user;		/* decoded-as-given user part, or NULL */
	int has_password;
	char *hostport;		/* host[:port], lowercased */
	char *host;		/* host without port or brackets */
	char *rest;		/* path and anything after it, from '/' */
};

static void
https_url_release(struct https_url *u)
{
	free(u->user);
	free(u->hostport);
	free(u->host);
	free(u->rest);
	memset(u, 0, sizeof(*u));
}

/* Split "https://[user[:password]@]host[:port][/rest]"; 0 or -1. */
static int
https_url_split(struct https_url *u, const char *s)
{
	const char *auth, *end, *at, *colon;
	size_t i;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(s, "https://", 8) != 0)
		return -1;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return -1;
	auth = s + 8;
	end = auth + strcspn(auth, "/?#");
	at = NULL;
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		u->has_password = colon != NULL;
		u->user = xstrndup(auth, (size_t)((colon ? colon : at) - auth));
		auth = at + 1;
	}
	if (auth == end)
		goto fail;
	u->hostport = xstrndup(auth, (size_t)(end - auth));
	for (i = 0; u->hostport[i] != '\0'; i++)
		u->hostport[i] = (char)tolower((unsigned char)u->hostport[i]);
	if (u->hostport[0] == '[') {
		const char *rb = strchr(u->hostport, ']');

		if (rb == NULL)
			goto fail;
		u->host = xstrndup(u->hostport + 1, (size_t)(rb - u->hostport - 1));
	} else {
		u->host = xstrndup(u->hostport, strcspn(u->hostport, ":"));
	}
	u->rest = xstrdup(*end != '\0' ? end : "/");
	return 0;
fail:
	https_url_release(u);
	return -1;
}

/* Whether a user part is an e-mail address (Bitbucket refuses those). */
static int
user_is_email(const char *user)
{
	return strchr(user, '@') != NULL || strcasestr(user, "%40") != NULL;
}

/*
 * Whether the URL belongs on bbs::: one that chooses a provider by itself
 * (Bitbucket Cloud, on its own port), or a host with a bbs.<url>.*
 * setting whose <url> git would match to it.  Settings without a <url>
 * (bbs.tokenStore) say nothing about a host.
 */
static int
url_is_ours(const struct buf *bbs_names, const struct https_url *u)
{
	struct remote_url target;
	char *plain;
	size_t off;
	int r, ours = 0;

	plain = xasprintf("https://%s%s", u->hostport, u->rest);
	r = url_parse(&target, plain);
	free(plain);
	if (r != 0) {
		err_clear();
		return 0;
	}
	ours = provider_by_url(&target) != NULL;
	for (off = 0; off < bbs_names->len && !ours;) {
		const char *name = bbs_names->ptr + off;
		const char *dot1 = strchr(name, '.');
		const char *dot2 = strrchr(name, '.');
		char *sub;

		off += strlen(name) + 1;
		if (dot1 == NULL || dot2 == dot1)
			continue;
		sub = xstrndup(dot1 + 1, (size_t)(dot2 - dot1 - 1));
		ours = url_match_score(sub, &target) >= 0;
		free(sub);
	}
	url_release(&target);
	return ours;
}

/* The names of every bbs.* setting, NUL-separated, into `out`. */
static void
read_bbs_names(struct buf *out)
{
	const char *argv[] = { "git", "config", "-z", "--name-only",
	    "--get-regexp", "^bbs\\.", NULL };

	buf_init(out, GIT_OUTPUT_MAX);
	if (run_quiet(argv, NULL, out) != 0)
		buf_reset(out);	/* exit 1: none */
}

/* One remote.<name>.url or .pushurl key and its values, in order. */
struct remote_key {
	char *key;
	char *name;		/* the remote's name */
	char *values[MIGRATE_MAX_VALUES];
	size_t nr;
};

struct migrate {
	int dry_run;
	int forget;
	char **only;		/* remote names given, or NULL for all */
	int nonly;
	struct remote_key *keys;
	size_t nkeys;
	char **hosts;		/* hosts whose remotes moved */
	size_t nhosts;
	int changes;
	struct buf bbs_names;	/* read_bbs_names(), once for the run */
};

static struct remote_key *
key_get(struct migrate *m, const char *key)
{
	const char *dot1 = key + strlen("remote."), *dot2 = strrchr(key, '.');
	struct remote_key *k;
	size_t i;

	for (i = 0; i < m->nkeys; i++)
		if (strcmp(m->keys[i].key, key) == 0)
			return &m->keys[i];
	m->keys = realloc(m->keys, (m->nkeys + 1) * sizeof(*m->keys));
	if (m->keys == NULL)
		abort();
	k = &m->keys[m->nkeys++];
	memset(k, 0, sizeof(*k));
	k->key = xstrdup(key);
	k->name = xstrndup(dot1, (size_t)(dot2 - dot1));
	return k;
}

static int
remote_wanted(const struct migrate *m, const char *name)
{
	int i;

	if (m->only == NULL)
		return 1;
	for (i = 0; i < m->nonly; i++)
		if (strcmp(m->only[i], name) == 0)
			return 1;
	return 0;
}

/* Read every remote.*.url and remote.*.pushurl with git config -z. */
static int
read_remote_urls(struct migrate *m)
{
	/* the repository's own file: the one write_key() rewrites */
	const char *argv[] = { "git", "config", "--local", "-z",
	    "--get-regexp", "^remote\\..*\\.(url|pushurl)$", NULL };
	struct buf out;
	size_t off;
	int r;

	buf_init_secret(&out, GIT_OUTPUT_MAX);	/* URLs may hold passwords */
	r = run_quiet(argv, NULL, &out);
	if (r < 0)
		goto done;
	r = 0;			/* exit 1: no such keys */
	for (off = 0; off < out.len;) {
		char *entry = out.ptr + off, *nl;
		struct remote_key *k;

		off += strlen(entry) + 1;
		if ((nl = strchr(entry, '\n')) == NULL)
			continue;	/* a key without a value */
		*nl = '\0';
		k = key_get(m, entry);
		if (k->nr == MIGRATE_MAX_VALUES) {
			r = err_set(BBS_E_INVALID, "too many values for %s",
			    entry);
			break;
		}
		k->values[k->nr++] = xstrdup(nl + 1);
	}
done:
	secret_wipe(out.ptr, out.len);
	buf_release(&out);
	return r;
}

static void
host_add(struct migrate *m, const char *host)
{
	size_t i;

	for (i = 0; i < m->nhosts; i++)
		if (strcmp(m->hosts[i], host) == 0)
			return;
	m->hosts = realloc(m->hosts, (m->nhosts + 1) * sizeof(*m->hosts));
	if (m->hosts == NULL)
		abort();
	m->hosts[m->nhosts++] = xstrdup(host);
}

/*
 * Work out the new value of one URL: NULL when it stays.  Says what it
 * does on stdout.
 */
static char *
migrate_value(struct migrate *m, const struct remote_key *k, const char *v)
{
	struct https_url u;
	const char *kind = strcmp(k->key + strlen(k->key) - 7, "pushurl") == 0 ?
	    "push URL" : "URL";
	char *nv;
	int email;

	if (https_url_split(&u, v) != 0)
		return NULL;
	if (!url_is_ours(&m->bbs_names, &u)) {
		https_url_release(&u);
		return NULL;
	}
	email = u.user != NULL && user_is_email(u.user);
	nv = xmalloc(strlen(u.hostport) + strlen(u.rest) +
	    (u.user != NULL ? strlen(u.user) : 0) + 32);
	sprintf(nv, "bbs::https://%s%s%s%s",
	    u.user != NULL && !email && u.user[0] != '\0' ? u.user : "",
	    u.user != NULL && !email && u.user[0] != '\0' ? "@" : "",
	    u.hostport, u.rest);
	print_clean(stdout, k->name);
	printf(": %s https://", kind);
	if (u.user != NULL) {
		print_clean(stdout, u.user);
		printf("%s@", u.has_password ? ":***" : "");
	}
	print_clean(stdout, u.hostport);
	print_clean(stdout, u.rest);
	printf(" -> ");
	print_clean(stdout, nv);
	putchar('\n');
	if (email) {
		print_clean(stdout, k->name);
		printf(": dropped the e-mail address ");
		print_clean(stdout, u.user);
		printf(" as user name: Bitbucket refuses e-mail addresses for "
		    "git; the signed-in account is used\n");
	} else if (u.user != NULL && u.user[0] != '\0') {
		print_clean(stdout, k->name);
		printf(": kept ");
		print_clean(stdout, u.user);
		printf(" to choose the signed-in account\n");
	}
	if (u.has_password) {
		print_clean(stdout, k->name);
		printf(": dropped the password that was written in the URL\n");
	}
	host_add(m, u.hostport);
	https_url_release(&u);
	return nv;
}

/*
 * A POSIX extended regular expression, as git config reads a value
 * pattern, that matches `v` whole.  The pattern goes through git's argv,
 * so a password in `v` becomes ".*", and so does any byte outside
 * printable ASCII (git may read the pattern in a UTF-8 locale).
 */
static char *
value_pattern(const char *v)
{
	const char *colon, *at, *p;
	struct buf b;

	if (!url_password_span(v, &colon, &at))
		colon = at = NULL;
	buf_init(&b, 0);
	buf_addstr(&b, "^");
	for (p = v; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (colon != NULL && p > colon && p < at) {
			p = at - 1;
			buf_addstr(&b, ".*");
		} else if (c < 0x20 || c >= 0x7f) {
			while (p[1] != '\0' && ((unsigned char)p[1] < 0x20 ||
			    (unsigned char)p[1] >= 0x7f))
				p++;
			buf_addstr(&b, ".*");
		} else {
			if (strchr("^.[$()|*+?{\\", c) != NULL)
				buf_addstr(&b, "\\");
			buf_add(&b, p, 1);
		}
	}
	buf_addstr(&b, "$");
	return buf_detach(&b);
}

/*
 * Whether `pattern` matches value i of `k` and no other: git config
 * replaces every value a pattern matches.
 */
static int
pattern_is_unique(const char *pattern, const struct remote_key *k, size_t i)
{
	regex_t re;
	size_t j;
	int ok = 1;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return 0;
	for (j = 0; j < k->nr && ok; j++)
		if ((regexec(&re, k->values[j], 0, NULL, 0) == 0) != (j == i))
			ok = 0;
	regfree(&re);
	return ok;
}

/*
 * Write a key's new values, each in place, with one `git config` each:
 * whenever that stops, the remote keeps every URL, old or new.  A key of
 * one value is set whole (git refuses if another value appeared since);
 * in a key of several, each value that moves is found by a pattern.
 */
static int
write_key(const struct remote_key *k, char *const nv[])
{
	const char *set[] = { "git", "config", "--local", k->key, NULL,
	    NULL, NULL };
	char *pattern = NULL;
	size_t i;
	int r;

	for (i = 0; i < k->nr; i++) {
		if (nv[i] == NULL)
			continue;
		set[4] = nv[i];
		if (k->nr > 1)	/* key_check: it matches value i alone */
			set[5] = pattern = value_pattern(k->values[i]);
		r = run_quiet(set, NULL, NULL);
		free(pattern);
		pattern = NULL;
		if (r != 0)
			return r < 0 ? r : err_set(BBS_E_ERROR,
			    "git config %s failed", k->key);
	}
	return 0;
}

/* Whether value `v` of a remote's URL key moves to bbs::. */
static int
value_moves(const struct migrate *m, const char *v)
{
	struct https_url u;
	int r;

	if (https_url_split(&u, v) != 0)
		return 0;
	r = url_is_ours(&m->bbs_names, &u);
	https_url_release(&u);
	return r;
}

/*
 * Before any key is changed: each value that moves out of a key of
 * several must be one that write_key can name alone.
 */
static int
key_check(const struct migrate *m, const struct remote_key *k)
{
	size_t i;
	int unique;

	for (i = 0; k->nr > 1 && i < k->nr; i++) {
		char *pattern;

		if (!value_moves(m, k->values[i]))
			continue;
		pattern = value_pattern(k->values[i]);
		unique = pattern_is_unique(pattern, k, i);
		free(pattern);
		if (!unique)
			return err_set(BBS_E_INVALID, "%s: two URLs of %s "
			    "differ only in a password; remove one first",
			    k->name, k->key);
	}
	return 0;
}

static int
migrate_key(struct migrate *m, const struct remote_key *k)
{
	char *nv[MIGRATE_MAX_VALUES] = { NULL };
	size_t i, moved = 0;
	int r = 0;

	for (i = 0; i < k->nr; i++)
		if ((nv[i] = migrate_value(m, k, k->values[i])) != NULL)
			moved++;
	if (moved == 0)
		goto out;
	m->changes += (int)moved;
	if (!m->dry_run)
		r = write_key(k, nv);
out:
	for (i = 0; i < k->nr; i++)
		free(nv[i]);
	return r;
}

/*
 * The credential helpers git would ask for `host`, as configured values
 * of credential.helper and credential.<url>.helper that git matches to
 * https://host/ (an empty value resets the list, as in git).
 */
static int
helpers_for(const char *protocol, const char *host, char ***out,
    size_t *nout)
{
	const char *argv[] = { "git", "config", "-z", "--get-regexp",
	    "^credential\\..*helper$", NULL };
	struct remote_url target;
	struct buf b;
	char url[512];
	size_t off;
	int r;

	*out = NULL;
	*nout = 0;
	snprintf(url, sizeof(url), "%s://%s/", protocol, host);
	if ((r = url_parse(&target, url)) != 0)
		return r;
	buf_init(&b, GIT_OUTPUT_MAX);
	r = run_quiet(argv, NULL, &b);
	if (r < 0)
		goto done;
	r = 0;
	for (off = 0; off < b.len;) {
		char *entry = b.ptr + off, *nl, *key, *sub;
		size_t klen;

		off += strlen(entry) + 1;
		if ((nl = strchr(entry, '\n')) == NULL)
			continue;
		*nl = '\0';
		key = entry;
		klen = strlen(key);
		/* "credential.helper" or "credential.<url>.helper" */
		if (klen > strlen("credential.helper")) {
			sub = xstrndup(key + strlen("credential."),
			    klen - strlen("credential.") - strlen(".helper"));
			r = url_match_score(sub, &target);
			free(sub);
			if (r < 0) {
				r = 0;
				continue;
			}
			r = 0;
		}
		if (nl[1] == '\0') {
			while (*nout > 0)
				free((*out)[--*nout]);
			continue;
		}
		*out = realloc(*out, (*nout + 1) * sizeof(**out));
		if (*out == NULL)
			abort();
		(*out)[(*nout)++] = xstrdup(nl + 1);
	}
done:
	buf_release(&b);
	url_release(&target);
	return r;
}

/* Whether a helper is ours (it keeps OAuth tokens, never passwords). */
static int
helper_is_ours(const char *h)
{
	return strcmp(h, "bbs") == 0 ||
	    strstr(h, "git-credential-bbs") != NULL;
}

/*
 * Ask helper `h` alone what it keeps for https://host; on a password,
 * *cred gets the whole answer (a secret) and 1 is returned; 0 when it
 * keeps nothing.
 */
static int
helper_password(const char *h, const char *protocol, const char *host,
    char **cred)
{
	char opt[1024], input[600];
	const char *argv[] = { "git", "-c", "credential.helper=", "-c", opt,
	    "-c", "core.askPass=", "-c", "credential.interactive=false",
	    "credential", "fill", NULL };
	struct buf out;
	int r;

	*cred = NULL;
	if (snprintf(opt, sizeof(opt), "credential.helper=%s", h) >=
	    (int)sizeof(opt) ||
	    snprintf(input, sizeof(input), "protocol=%s\nhost=%s\n\n",
	    protocol, host) >= (int)sizeof(input))
		return 0;
	buf_init_secret(&out, BUF_MAX_DEFAULT);
	r = run_quiet_env(argv, input, &out, no_prompt_env);
	if (r == 0 && out.ptr != NULL && strstr(out.ptr, "\npassword=") != NULL) {
		*cred = buf_detach(&out);
		return 1;
	}
	buf_release(&out);
	return r < 0 ? r : 0;
}

/* The user name in a `git credential` answer, for messages. */
static char *
cred_username(const char *cred)
{
	const char *p = strstr(cred, "username=");

	if (p == NULL || (p != cred && p[-1] != '\n'))
		return xstrdup("");
	p += strlen("username=");
	return xstrndup(p, strcspn(p, "\n"));
}

int
stale_passwords(const char *protocol, const char *host, int forget, int ask,
    int *found)
{
	char **helpers = NULL, *cred, *user;
	size_t n = 0, i;
	int r;

	*found = 0;
	if ((r = helpers_for(protocol, host, &helpers, &n)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		if (helper_is_ours(helpers[i]))
			continue;
		r = helper_password(helpers[i], protocol, host, &cred);
		if (r <= 0)
			continue;
		r = 0;
		(*found)++;
		user = cred_username(cred);
		printf("credential helper '");
		print_clean(stdout, helpers[i]);
		printf("' keeps a password for ");
		print_clean(stdout, user);
		printf("%s%s\n", user[0] != '\0' ? "@" : "", host);
		if (ask && !forget) {
			char answer[16] = "";

			fprintf(stderr, "Remove it? [y/N] ");
			fflush(stderr);
			if (fgets(answer, sizeof(answer), stdin) != NULL &&
			    (answer[0] == 'y' || answer[0] == 'Y'))
				forget = 2;
		}
		if (forget) {
			char opt[1024];
			const char *argv[] = { "git", "-c", "credential.helper=",
			    "-c", opt, "credential", "reject", NULL };

			snprintf(opt, sizeof(opt), "credential.helper=%s",
			    helpers[i]);
			r = run_quiet_env(argv, cred, NULL, no_prompt_env);
			if (r == 0)
				printf("removed it (git credential reject)\n");
			else if (r > 0)
				r = err_set(BBS_E_ERROR, "git credential reject "
				    "failed for helper '%s'", helpers[i]);
			if (forget == 2)
				forget = 0;
		} else {
			printf("hint: remove it with: git bbs migrate "
			    "--forget-passwords\n");
		}
		free(user);
		secret_free(cred);
	}
	for (i = 0; i < n; i++)
		free(helpers[i]);
	free(helpers);
	return r;
}

static void
migrate_release(struct migrate *m)
{
	size_t i, j;

	for (i = 0; i < m->nkeys; i++) {
		for (j = 0; j < m->keys[i].nr; j++)
			secret_free(m->keys[i].values[j]);	/* may hold a password */
		free(m->keys[i].key);
		free(m->keys[i].name);
	}
	free(m->keys);
	for (i = 0; i < m->nhosts; i++)
		free(m->hosts[i]);
	free(m->hosts);
	buf_release(&m->bbs_names);
}

int
migrate_run(int argc, char **argv)
{
	const char *gitdir[] = { "git", "rev-parse", "--git-dir", NULL };
	struct migrate m;
	size_t i;
	int r, found, total = 0, ask;

	memset(&m, 0, sizeof(m));
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0 ||
		    strcmp(argv[i], "-n") == 0)
			m.dry_run = 1;
		else if (strcmp(argv[i], "--forget-passwords") == 0)
			m.forget = 1;
		else if (argv[i][0] == '-')
			return err_set(BBS_E_USAGE, "git bbs migrate "
			    "[--dry-run] [--forget-passwords] [<remote>...]");
		else
			break;
	}
	if (i < (size_t)argc) {
		m.only = argv + i;
		m.nonly = argc - (int)i;
	}
	if ((r = run_quiet(gitdir, NULL, NULL)) != 0)
		return r < 0 ? r : err_set(BBS_E_INVALID, "not in a git "
		    "repository: run git bbs migrate inside one");
	read_bbs_names(&m.bbs_names);
	if ((r = read_remote_urls(&m)) != 0)
		goto out;
	for (i = 0; i < (size_t)m.nonly; i++) {
		size_t j;

		for (j = 0; j < m.nkeys; j++)
			if (strcmp(m.keys[j].name, m.only[i]) == 0)
				break;
		if (j == m.nkeys) {
			r = err_set(BBS_E_INVALID, "no such remote: '%s'",
			    m.only[i]);
			goto out;
		}
	}
	for (i = 0; i < m.nkeys && r == 0; i++)
		if (remote_wanted(&m, m.keys[i].name))
			r = key_check(&m, &m.keys[i]);
	for (i = 0; i < m.nkeys && r == 0; i++)
		if (remote_wanted(&m, m.keys[i].name))
			r = migrate_key(&m, &m.keys[i]);
	if (r != 0)
		goto out;
	if (m.changes == 0)
		printf("nothing to migrate: no https:// remote of Bitbucket "
		    "Cloud or of a host with bbs.<url> settings\n");
	else if (m.dry_run)
		printf("(dry run: nothing was changed)\n");
	ask = !m.dry_run && isatty(0) && isatty(2) &&
	    getenv("GIT_TERMINAL_PROMPT") == NULL;
	for (i = 0; i < m.nhosts && r == 0; i++) {
		r = stale_passwords("https", m.hosts[i], m.forget && !m.dry_run,
		    ask, &found);
		if (r == 0 && found == 0) {
			printf("no credential helper keeps a password for ");
			print_clean(stdout, m.hosts[i]);
			putchar('\n');
		}
		total += found;
	}
	if (r == 0 && total > 0 && m.dry_run)
		printf("(dry run: no password was removed)\n");
out:
	migrate_release(&m);
	return r;
}
